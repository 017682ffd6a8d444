/* The platform interface: everything the engine needs from the outside world.
 *
 * The engine never opens a file, reads a clock or asks the kernel for entropy
 * itself.  A port of vitrum to silicon re-implements this struct; tests and
 * fuzzers plug in deterministic versions.  Every callback receives `ctx`. */
#ifndef VITRUM_PLATFORM_H
#define VITRUM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

typedef struct vt_platform {
    void *ctx;

    /* Fill buf with len bytes from a cryptographically strong source.
     * Returns 0 on success, -1 on failure (the engine then fails the command
     * with TPM_RC_FAILURE rather than use weak randomness). */
    int (*entropy)(void *ctx, uint8_t *buf, size_t len);

    /* Milliseconds from an arbitrary origin that never goes backwards while
     * the process runs (CLOCK_MONOTONIC on POSIX).  The engine turns it into
     * the TPM's Clock and Time. */
    uint64_t (*monotonic_ms)(void *ctx);

    /* Durable state.  state_load copies the last committed state blob into
     * buf (at most cap bytes) and returns its length, 0 when there is no state
     * yet (first start), or -1 on error.  state_commit makes `blob` the new
     * state durably (fsync'd, atomic: after a crash the old or the new blob
     * is seen, never a mix) and returns 0, or -1 when it could not. */
    long (*state_load)(void *ctx, uint8_t *buf, size_t cap);
    int (*state_commit)(void *ctx, const uint8_t *blob, size_t len);

    /* Optional journal (both NULL: every change is a full state_commit).
     * state_append makes one record durable after the last commit, in
     * order, and returns 0, -1 on failure, or 1 when there is no room for
     * it (the engine then commits the whole state); state_replay hands apply() every record appended since the
     * blob state_load returned, in order, and returns their number or -1.
     * A change to one NV index goes to the journal, so a write to a large
     * index does not rewrite the whole state. */
    int (*state_append)(void *ctx, const uint8_t *rec, size_t len);
    long (*state_replay)(void *ctx, int (*apply)(void *actx, const uint8_t *rec, size_t len), void *actx);
} vt_platform;

#endif
