/* Between store_file.c and journal.c. */
#ifndef VT_JOURNAL_INT_H
#define VT_JOURNAL_INT_H
#include "store/store.h"
int vt_journal_open(vt_store *s);
int vt_journal_reset(vt_store *s);
#endif
