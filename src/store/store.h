/* The state directory: one TPM's durable state on a POSIX file system.
 *
 * The state is one blob written with write-to-temporary, fsync, rename,
 * fsync of the directory: after a crash at any byte the old or the new blob
 * is found, never a mix.  A lock file keeps two servers off one directory. */
#ifndef VT_STORE_H
#define VT_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char dir[4096];
    int dir_fd;
    int lock_fd;
    char err[256]; /* last error, one line for the user */
} vt_store;

/* Open (creating if needed, mode 0700) and lock the directory.  0 or -1
 * with store->err set. */
int vt_store_open(vt_store *s, const char *dir);
void vt_store_close(vt_store *s);
/* Copy the state blob into buf: its length, 0 if none yet, -1 on error. */
long vt_store_load(vt_store *s, uint8_t *buf, size_t cap);
/* Make blob the durable state.  0 or -1 with store->err set. */
int vt_store_commit(vt_store *s, const uint8_t *blob, size_t len);

#endif
