/* Shared pieces of the libFuzzer targets: a deterministic in-memory platform
 * (reset for every input, so an input always replays the same way), helpers
 * to build TPM command frames, and the response invariants every target
 * checks.  A violated invariant calls fz_fail(), which aborts so libFuzzer
 * records the input as a crash. */
#ifndef VT_FUZZ_COMMON_H
#define VT_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrum/engine.h"

/* UBSan checks are built recoverable (so a known report can be suppressed
 * by FUZZ_UBSAN_SUPP while a fix is pending) but every report still halts,
 * even when the binary is run without UBSAN_OPTIONS. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

/* libtss2-mu logs every unmarshalling failure to stderr; the fuzzer feeds
 * it millions.  Silence it unless the caller asked for logging. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("TSS2_LOG", "all+none", 0);
    return 0;
}

/* ---------------------------------------------------------------- platform */

typedef struct {
    uint8_t store[65536];
    size_t store_len;
    bool has_state;
    bool fail_commit;  /* state_commit fails (a broken disk) */
    bool fail_load;    /* state_load fails */
    bool fail_entropy; /* entropy fails */
    unsigned commits;
    uint64_t now_ms;
    uint64_t rng;
    /* when set, state_load returns these bytes instead of the store */
    const uint8_t *load_override;
    size_t load_override_len;
} fz_platform;

static inline int fz_entropy(void *ctx, uint8_t *buf, size_t len)
{
    fz_platform *t = ctx;
    size_t i;
    if (t->fail_entropy)
        return -1;
    for (i = 0; i < len; i++) {
        t->rng ^= t->rng << 13;
        t->rng ^= t->rng >> 7;
        t->rng ^= t->rng << 17;
        buf[i] = (uint8_t)(t->rng >> 11);
    }
    return 0;
}

static inline uint64_t fz_now(void *ctx)
{
    return ((fz_platform *)ctx)->now_ms;
}

static inline long fz_load(void *ctx, uint8_t *buf, size_t cap)
{
    fz_platform *t = ctx;
    const uint8_t *src = t->store;
    size_t n = t->store_len;

    if (t->fail_load)
        return -1;
    if (t->load_override) {
        src = t->load_override;
        n = t->load_override_len;
    } else if (!t->has_state) {
        return 0;
    }
    if (n > cap)
        return -1;
    memcpy(buf, src, n);
    return (long)n;
}

static inline int fz_commit(void *ctx, const uint8_t *blob, size_t len)
{
    fz_platform *t = ctx;
    if (t->fail_commit || len > sizeof(t->store))
        return -1;
    memcpy(t->store, blob, len);
    t->store_len = len;
    t->has_state = true;
    t->commits++;
    return 0;
}

static inline void fz_platform_reset(fz_platform *t)
{
    t->store_len = 0;
    t->has_state = false;
    t->fail_commit = t->fail_load = t->fail_entropy = false;
    t->commits = 0;
    t->now_ms = 1000;
    t->rng = 0x9E3779B97F4A7C15ull;
    t->load_override = NULL;
    t->load_override_len = 0;
}

static inline vt_platform fz_vt_platform(fz_platform *t)
{
    vt_platform p = { t, fz_entropy, fz_now, fz_load, fz_commit };
    return p;
}

/* ---------------------------------------------------------------- bytes */

static inline uint16_t fz_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t fz_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void fz_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void fz_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A frame under construction; writes past the end are dropped and marked. */
typedef struct {
    uint8_t b[VT_MAX_COMMAND_SIZE + 512];
    size_t n;
    bool overflow;
} fz_frame;

static inline void fz_bytes(fz_frame *f, const void *p, size_t n)
{
    if (f->overflow || sizeof(f->b) - f->n < n) {
        f->overflow = true;
        return;
    }
    if (n)
        memcpy(f->b + f->n, p, n);
    f->n += n;
}

static inline void fz_u8(fz_frame *f, uint8_t v) { fz_bytes(f, &v, 1); }
static inline void fz_u16(fz_frame *f, uint16_t v)
{
    uint8_t b[2];
    fz_put16(b, v);
    fz_bytes(f, b, 2);
}
static inline void fz_u32(fz_frame *f, uint32_t v)
{
    uint8_t b[4];
    fz_put32(b, v);
    fz_bytes(f, b, 4);
}

/* ---------------------------------------------------------------- failure */

#define fz_fail(...)                                              \
    do {                                                          \
        fprintf(stderr, "\n==fuzz invariant violated== %s:%d: ",  \
                __FILE__, __LINE__);                              \
        fprintf(stderr, __VA_ARGS__);                             \
        fprintf(stderr, "\n");                                    \
        abort();                                                  \
    } while (0)

#define FZ_ST_RSP_COMMAND 0x00C4u
#define FZ_ST_NO_SESSIONS 0x8001u
#define FZ_ST_SESSIONS 0x8002u
#define FZ_RC_BAD_TAG 0x01Eu

/* Invariants of every response from vt_engine_execute (engine.h):
 *  - at least a 10-byte header, at most VT_MAX_RESPONSE_SIZE;
 *  - the header's size field equals the returned length;
 *  - success: the tag is the command's tag (Part 1 §18.?: a response has a
 *    session area exactly when the command had one);
 *  - failure: a bare 10-byte header, tag TPM_ST_NO_SESSIONS (or
 *    TPM_ST_RSP_COMMAND with TPM_RC_BAD_TAG).
 * Returns the response code. */
static inline uint32_t fz_check_response(const uint8_t *cmd, size_t cmd_len,
                                         const uint8_t *rsp, size_t rsp_len)
{
    uint16_t tag;
    uint32_t size, rc;

    if (rsp_len < 10)
        fz_fail("response shorter than a header: %zu bytes", rsp_len);
    if (rsp_len > VT_MAX_RESPONSE_SIZE)
        fz_fail("response of %zu bytes exceeds VT_MAX_RESPONSE_SIZE", rsp_len);
    tag = fz_be16(rsp);
    size = fz_be32(rsp + 2);
    rc = fz_be32(rsp + 6);
    if (size != rsp_len)
        fz_fail("response size field %u != returned length %zu", size, rsp_len);
    if (rc == 0) {
        uint16_t ctag;
        if (cmd_len < 10)
            fz_fail("success for a %zu-byte command", cmd_len);
        ctag = fz_be16(cmd);
        if (tag != ctag)
            fz_fail("success response tag 0x%04x != command tag 0x%04x", tag, ctag);
        if (tag == FZ_ST_SESSIONS && rsp_len < 14)
            fz_fail("session response without parameterSize (%zu bytes)", rsp_len);
    } else {
        if (rsp_len != 10)
            fz_fail("error 0x%x response has %zu bytes, not 10", rc, rsp_len);
        if (rc == FZ_RC_BAD_TAG) {
            if (tag != FZ_ST_RSP_COMMAND)
                fz_fail("TPM_RC_BAD_TAG with tag 0x%04x", tag);
        } else if (tag != FZ_ST_NO_SESSIONS) {
            fz_fail("error 0x%x with tag 0x%04x", rc, tag);
        }
    }
    return rc;
}

/* Run one command and check the invariants; returns the response code. */
static inline uint32_t fz_exec(vt_engine *e, uint8_t locality, const uint8_t *cmd,
                               size_t cmd_len, uint8_t *rsp, size_t *rsp_len)
{
    size_t n = vt_engine_execute(e, locality, cmd, cmd_len, rsp, VT_MAX_RESPONSE_SIZE);
    uint32_t rc = fz_check_response(cmd, cmd_len, rsp, n);
    if (rsp_len)
        *rsp_len = n;
    return rc;
}

/* TPM2_Startup(su) on a powered engine. */
static inline uint32_t fz_startup(vt_engine *e, uint16_t su, uint8_t *rsp)
{
    uint8_t cmd[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44 };
    fz_put16(cmd + 10, su);
    return fz_exec(e, 0, cmd, sizeof(cmd), rsp, NULL);
}

#endif
