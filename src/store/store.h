/* The state directory: one TPM's durable state on a POSIX file system.
 *
 * Two slot files, state.0 and state.1, each holding one framed copy of the
 * state with a sequence number and a SHA-256 over the frame.  A commit
 * overwrites the older slot and fdatasyncs it: one flush per commit, and a
 * crash at any byte leaves the other slot intact, so the loader finds the
 * old or the new state, never a mix (docs/FORMAT.md).  A lock file keeps two
 * servers off one directory. */
#ifndef VT_STORE_H
#define VT_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char dir[4096];
    int dir_fd;
    int lock_fd;
    int slot_fd[2];
    uint64_t seq;   /* sequence number of the newest valid slot */
    int newest;     /* its index, -1 when there is none */
    char err[512];  /* last error, one line for the user */
} vt_store;

/* Open (creating if needed, mode 0700) and lock the directory.  0 or -1
 * with store->err set. */
int vt_store_open(vt_store *s, const char *dir);
void vt_store_close(vt_store *s);
/* Copy the newest valid state blob into buf: its length, 0 if there is no
 * state yet, -1 (err set) if slots exist but none is valid. */
long vt_store_load(vt_store *s, uint8_t *buf, size_t cap);
/* Make blob the durable state.  0 or -1 with store->err set. */
int vt_store_commit(vt_store *s, const uint8_t *blob, size_t len);

#endif
