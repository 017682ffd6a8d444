/* The POSIX platform: getrandom(2) entropy, CLOCK_MONOTONIC, the file store. */
#ifndef VT_PLATFORM_POSIX_H
#define VT_PLATFORM_POSIX_H

#include "vitrum/platform.h"
#include "store/store.h"

void vt_platform_posix(vt_platform *p, vt_store *store);

#endif
