/* Test helpers: a deterministic platform (memory store, seeded entropy,
 * settable clock) and builders for raw TPM command frames. */
#ifndef VT_TEST_HELPERS_H
#define VT_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vitrum/engine.h"

typedef struct {
    uint8_t store[65536];
    size_t store_len;
    int commits;
    bool fail_commit;
    uint64_t now_ms;
    uint64_t rng;
} test_platform;

static inline int tp_entropy(void *ctx, uint8_t *buf, size_t len)
{
    test_platform *t = ctx;
    size_t i;
    for (i = 0; i < len; i++) {
        t->rng ^= t->rng << 13;
        t->rng ^= t->rng >> 7;
        t->rng ^= t->rng << 17;
        buf[i] = (uint8_t)t->rng;
    }
    return 0;
}

static inline uint64_t tp_now(void *ctx) { return ((test_platform *)ctx)->now_ms; }

static inline long tp_load(void *ctx, uint8_t *buf, size_t cap)
{
    test_platform *t = ctx;
    if (t->store_len > cap)
        return -1;
    memcpy(buf, t->store, t->store_len);
    return (long)t->store_len;
}

static inline int tp_commit(void *ctx, const uint8_t *blob, size_t len)
{
    test_platform *t = ctx;
    if (t->fail_commit || len > sizeof(t->store))
        return -1;
    memcpy(t->store, blob, len);
    t->store_len = len;
    t->commits++;
    return 0;
}

static inline vt_platform tp_platform(test_platform *t)
{
    vt_platform p = { t, tp_entropy, tp_now, tp_load, tp_commit };
    if (!t->rng)
        t->rng = 0x9E3779B97F4A7C15ull;
    return p;
}

/* A frame builder. */
typedef struct {
    uint8_t b[8192];
    size_t n;
} frame;

static inline void f_u8(frame *f, uint8_t v) { f->b[f->n++] = v; }
static inline void f_u16(frame *f, uint16_t v) { f_u8(f, (uint8_t)(v >> 8)); f_u8(f, (uint8_t)v); }
static inline void f_u32(frame *f, uint32_t v) { f_u16(f, (uint16_t)(v >> 16)); f_u16(f, (uint16_t)v); }
static inline void f_bytes(frame *f, const void *p, size_t n) { if (n) memcpy(f->b + f->n, p, n); f->n += n; }
static inline void f_2b(frame *f, const void *p, uint16_t n) { f_u16(f, n); f_bytes(f, p, n); }

/* Start a command: tag, size placeholder, code. */
static inline void f_cmd(frame *f, uint16_t tag, uint32_t cc)
{
    f->n = 0;
    f_u16(f, tag);
    f_u32(f, 0);
    f_u32(f, cc);
}

/* Patch the size field with the frame's length. */
static inline void f_done(frame *f)
{
    f->b[2] = (uint8_t)(f->n >> 24);
    f->b[3] = (uint8_t)(f->n >> 16);
    f->b[4] = (uint8_t)(f->n >> 8);
    f->b[5] = (uint8_t)f->n;
}

/* One password session (TPM_RS_PW) with the given password. */
static inline void f_pw_session(frame *f, const char *pw)
{
    uint16_t n = (uint16_t)strlen(pw);
    f_u32(f, 9u + n);
    f_u32(f, 0x40000009);
    f_u16(f, 0);
    f_u8(f, 0x01);
    f_2b(f, pw, n);
}

static inline uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Execute and return the response code; the response is left in rsp. */
static inline uint32_t run(vt_engine *e, const frame *f, uint8_t *rsp, size_t *rsp_len)
{
    size_t n = vt_engine_execute(e, 0, f->b, f->n, rsp, VT_MAX_RESPONSE_SIZE);
    assert_true(n >= 10);
    assert_int_equal(be32_at(rsp + 2), n);
    if (rsp_len)
        *rsp_len = n;
    return be32_at(rsp + 6);
}

/* A started engine on a fresh test platform. */
static inline vt_engine *started_engine(test_platform *t)
{
    vt_platform p = tp_platform(t);
    vt_engine *e = NULL;
    frame f;
    uint8_t rsp[VT_MAX_RESPONSE_SIZE];

    assert_int_equal(vt_engine_new(&p, &e), VT_OK);
    vt_engine_power_on(e);
    f_cmd(&f, 0x8001, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    return e;
}

#endif
