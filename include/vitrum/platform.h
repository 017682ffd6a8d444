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
} vt_platform;

#endif
