/* NV indices: every command's error paths, the attribute rules of
 * NV_DefineSpace, PIN indices, counters, locks across Startup, capacity,
 * Names and the stored state (TPM 2.0 Part 1 §37, Part 2 §13, Part 3 §31). */
#include "helpers.h"

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "engine/engine_internal.h"

#define ST_NO 0x8001
#define ST_S 0x8002
#define OWNER 0x40000001u
#define PLATFORM 0x4000000Cu
#define ENDORSEMENT 0x4000000Bu
#define SHA1 0x0004
#define SHA256 0x000B

#define OWNER_RW (TPMA_NV_OWNERREAD | TPMA_NV_OWNERWRITE)
#define NT(t) ((TPMA_NV)(t) << TPMA_NV_TPM2_NT_SHIFT)

static test_platform tp;
static vt_engine *E;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
static size_t rsp_len;

static vt_engine *new_engine(size_t nv_size)
{
    vt_platform p = tp_platform(&tp);
    vt_engine_config cfg = { .nv_size = nv_size };
    vt_engine *e = NULL;
    frame f;

    assert_int_equal(vt_engine_new_ex(&p, &cfg, &e), VT_OK);
    vt_engine_power_on(e);
    f_cmd(&f, ST_NO, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    return e;
}

static int setup(void **state)
{
    (void)state;
    memset(&tp, 0, sizeof(tp));
    E = new_engine(4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_engine_free(E);
    return 0;
}

static uint32_t exec(frame *f)
{
    f_done(f);
    return run(E, f, rsp, &rsp_len);
}

/* ---- command builders (password sessions) ---- */

static uint32_t define_full(uint32_t by, const char *auth, uint32_t ix, uint16_t alg, TPMA_NV a,
                            uint16_t policy_len, uint16_t size)
{
    frame f;
    static const uint8_t zeros[64];
    uint16_t alen = (uint16_t)strlen(auth);
    f_cmd(&f, ST_S, 0x12A);
    f_u32(&f, by);
    f_pw_session(&f, "");
    f_2b(&f, auth, alen);
    f_u16(&f, (uint16_t)(4 + 2 + 4 + 2 + policy_len + 2));
    f_u32(&f, ix);
    f_u16(&f, alg);
    f_u32(&f, a);
    f_2b(&f, zeros, policy_len);
    f_u16(&f, size);
    return exec(&f);
}

static uint32_t define(uint32_t ix, TPMA_NV a, uint16_t size)
{
    return define_full(OWNER, "", ix, SHA256, a, 0, size);
}

static uint32_t undefine(uint32_t by, uint32_t ix)
{
    frame f;
    f_cmd(&f, ST_S, 0x122);
    f_u32(&f, by);
    f_u32(&f, ix);
    f_pw_session(&f, "");
    return exec(&f);
}

static uint32_t nv_write(uint32_t by, const char *pw, uint32_t ix, const void *d, uint16_t n, uint16_t off)
{
    frame f;
    f_cmd(&f, ST_S, 0x137);
    f_u32(&f, by);
    f_u32(&f, ix);
    f_pw_session(&f, pw);
    f_2b(&f, d, n);
    f_u16(&f, off);
    return exec(&f);
}

/* NV_Read; the data is at rsp + 16 (header, parameterSize, size). */
static uint32_t nv_read(uint32_t by, const char *pw, uint32_t ix, uint16_t n, uint16_t off)
{
    frame f;
    f_cmd(&f, ST_S, 0x14E);
    f_u32(&f, by);
    f_u32(&f, ix);
    f_pw_session(&f, pw);
    f_u16(&f, n);
    f_u16(&f, off);
    return exec(&f);
}

static const uint8_t *rdata(void) { return rsp + 16; }

static uint64_t read_u64(uint32_t ix)
{
    uint64_t v = 0;
    unsigned i;
    assert_int_equal(nv_read(OWNER, "", ix, 8, 0), 0);
    for (i = 0; i < 8; i++)
        v = (v << 8) | rdata()[i];
    return v;
}

/* A two-handle command with no parameters but `extra` (NV_Increment,
 * NV_WriteLock, NV_ReadLock, NV_Extend, NV_SetBits). */
static uint32_t nv_cmd(uint32_t cc, uint32_t by, const char *pw, uint32_t ix, const void *extra, size_t n)
{
    frame f;
    f_cmd(&f, ST_S, cc);
    f_u32(&f, by);
    f_u32(&f, ix);
    f_pw_session(&f, pw);
    if (n)
        f_bytes(&f, extra, n);
    return exec(&f);
}

static uint32_t increment(uint32_t ix) { return nv_cmd(0x134, OWNER, "", ix, NULL, 0); }

static uint32_t set_bits(uint32_t ix, uint64_t bits)
{
    uint8_t b[8];
    unsigned i;
    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(bits >> (56 - 8 * i));
    return nv_cmd(0x135, OWNER, "", ix, b, 8);
}

static uint32_t extend(uint32_t ix, const void *d, uint16_t n)
{
    uint8_t b[1100];
    b[0] = (uint8_t)(n >> 8);
    b[1] = (uint8_t)n;
    memcpy(b + 2, d, n);
    return nv_cmd(0x136, OWNER, "", ix, b, 2u + n);
}

static uint32_t write_lock(uint32_t by, uint32_t ix) { return nv_cmd(0x138, by, "", ix, NULL, 0); }
static uint32_t read_lock(uint32_t by, uint32_t ix) { return nv_cmd(0x14F, by, "", ix, NULL, 0); }

static uint32_t global_lock(void)
{
    frame f;
    f_cmd(&f, ST_S, 0x132);
    f_u32(&f, OWNER);
    f_pw_session(&f, "");
    return exec(&f);
}

static uint32_t read_public(uint32_t ix)
{
    frame f;
    f_cmd(&f, ST_NO, 0x169);
    f_u32(&f, ix);
    return exec(&f);
}

static void startup(uint16_t su)
{
    frame f;
    f_cmd(&f, ST_NO, 0x144);
    f_u16(&f, su);
    assert_int_equal(exec(&f), 0);
}

static void shutdown(uint16_t su)
{
    frame f;
    f_cmd(&f, ST_NO, 0x145);
    f_u16(&f, su);
    assert_int_equal(exec(&f), 0);
}

/* ---- NV_DefineSpace ---- */

static void define_attribute_rules(void **state)
{
    (void)state;
    /* handle range, nameAlg, sizes */
    assert_int_equal(define(0x02000001, OWNER_RW, 8), 0x2C4);       /* VALUE + P2 */
    assert_int_equal(define_full(OWNER, "", 0x01000001, 0x0010, OWNER_RW, 0, 8), 0x2C3); /* HASH + P2 */
    assert_int_equal(define_full(OWNER, "123456789012345678901", 0x01000001, SHA1, OWNER_RW, 0, 8),
                     0x1D5); /* authValue longer than a SHA-1 digest: SIZE + P1 */
    assert_int_equal(define_full(OWNER, "", 0x01000001, SHA256, OWNER_RW, 20, 8), 0x2D5);
    assert_int_equal(define(0x01000001, OWNER_RW, 2049), 0x2D5);
    assert_int_equal(define(0x01000001, OWNER_RW | 0x00100000, 8), 0x2E1); /* RESERVED_BITS + P2 */
    assert_int_equal(define(0x01000001, OWNER_RW | 0x00000100, 8), 0x2E1);
    /* type and its size */
    assert_int_equal(define(0x01000001, OWNER_RW | NT(3), 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_COUNTER), 7), 0x2D5);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_BITS), 9), 0x2D5);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_PIN_PASS), 4), 0x2D5);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_EXTEND), 20), 0x2D5);
    /* who defines it */
    assert_int_equal(define(0x01000001, OWNER_RW | TPMA_NV_PLATFORMCREATE, 8), 0x182);
    assert_int_equal(define_full(PLATFORM, "", 0x01000001, SHA256, TPMA_NV_PPREAD | TPMA_NV_PPWRITE, 0, 8),
                     0x182);
    /* state bits, read and write methods */
    assert_int_equal(define(0x01000001, OWNER_RW | TPMA_NV_WRITTEN, 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | TPMA_NV_WRITELOCKED, 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | TPMA_NV_READLOCKED, 8), 0x2C2);
    assert_int_equal(define(0x01000001, TPMA_NV_OWNERREAD, 8), 0x2C2);
    assert_int_equal(define(0x01000001, TPMA_NV_OWNERWRITE, 8), 0x2C2);
    /* per-type rules */
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_COUNTER) | TPMA_NV_CLEAR_STCLEAR, 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_PIN_FAIL), 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_PIN_PASS) | TPMA_NV_AUTHWRITE, 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_PIN_PASS) | TPMA_NV_GLOBALLOCK, 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_PIN_FAIL) | TPMA_NV_NO_DA |
                                            TPMA_NV_WRITEDEFINE, 8), 0x2C2);
    assert_int_equal(define(0x01000001, OWNER_RW | TPMA_NV_POLICY_DELETE, 8), 0x2C2);
    /* and what is allowed */
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(define(0x01000002, OWNER_RW | NT(TPM2_NT_BITS) | TPMA_NV_CLEAR_STCLEAR, 8), 0);
    assert_int_equal(define(0x01000003, OWNER_RW | NT(TPM2_NT_EXTEND), 32), 0);
    assert_int_equal(define(0x01000004, OWNER_RW | NT(TPM2_NT_PIN_FAIL) | TPMA_NV_NO_DA, 8), 0);
    assert_int_equal(define(0x01000005, OWNER_RW | NT(TPM2_NT_PIN_PASS), 8), 0);
    assert_int_equal(define(0x01000006, OWNER_RW, 0), 0);
    assert_int_equal(define_full(OWNER, "", 0x01000007, SHA1, OWNER_RW | NT(TPM2_NT_EXTEND), 20, 20), 0);
    assert_int_equal(define_full(PLATFORM, "", 0x01000008, SHA256,
                                 TPMA_NV_PPREAD | TPMA_NV_PPWRITE | TPMA_NV_PLATFORMCREATE |
                                     TPMA_NV_POLICY_DELETE, 32, 8), 0);
    /* already there */
    assert_int_equal(define(0x01000001, OWNER_RW, 8), 0x14C);
}

static void define_malformed(void **state)
{
    frame f;
    (void)state;
    /* publicInfo of size 0 */
    f_cmd(&f, ST_S, 0x12A);
    f_u32(&f, OWNER);
    f_pw_session(&f, "");
    f_u16(&f, 0);
    f_u16(&f, 0);
    assert_int_not_equal(exec(&f), 0);
    /* trailing bytes */
    f_cmd(&f, ST_S, 0x12A);
    f_u32(&f, OWNER);
    f_pw_session(&f, "");
    f_u16(&f, 0);
    f_u16(&f, 14);
    f_u32(&f, 0x01000001);
    f_u16(&f, SHA256);
    f_u32(&f, OWNER_RW);
    f_u16(&f, 0);
    f_u16(&f, 8);
    f_u8(&f, 0);
    assert_int_equal(exec(&f), 0x095); /* TPM_RC_SIZE */
    /* endorsement cannot define */
    assert_int_equal(define_full(ENDORSEMENT, "", 0x01000001, SHA256, OWNER_RW, 0, 8), 0x184);
}

static void capacity_is_enforced(void **state)
{
    unsigned i;
    (void)state;
    /* 4096 octets of NV in this engine */
    assert_int_equal(define(0x01000001, OWNER_RW, 2048), 0);
    assert_int_equal(define(0x01000002, OWNER_RW, 2040), 0);
    assert_int_equal(define(0x01000003, OWNER_RW, 9), 0x14B); /* TPM_RC_NV_SPACE */
    assert_int_equal(define(0x01000003, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(define(0x01000004, OWNER_RW, 1), 0x14B);
    /* freeing one index makes room and keeps the others' data */
    assert_int_equal(increment(0x01000003), 0);
    assert_int_equal(undefine(OWNER, 0x01000001), 0);
    assert_int_equal(read_u64(0x01000003), 1);
    assert_int_equal(define(0x01000004, OWNER_RW, 2048), 0);
    assert_int_equal(read_u64(0x01000003), 1);
    /* the table has 128 entries */
    for (i = 5; i < 200; i++) {
        uint32_t rc = define(0x01000000 + i, OWNER_RW, 0);
        if (rc) {
            assert_int_equal(rc, 0x14B);
            break;
        }
    }
    assert_int_equal(i, 5 + VT_NV_MAX_INDICES - 3); /* 3 were defined */
}

/* ---- handles and authorization ---- */

static void handle_checks(void **state)
{
    (void)state;
    assert_int_equal(define(0x01000001, OWNER_RW, 8), 0);
    assert_int_equal(nv_read(OWNER, "", 0x02000001, 1, 0), 0x284);  /* VALUE + H2 */
    assert_int_equal(nv_read(OWNER, "", 0x01000009, 1, 0), 0x28B);  /* HANDLE + H2 */
    assert_int_equal(nv_read(ENDORSEMENT, "", 0x01000001, 1, 0), 0x184); /* VALUE + H1 */
    assert_int_equal(nv_read(0x01000009, "", 0x01000001, 1, 0), 0x18B); /* HANDLE + H1 */
    assert_int_equal(read_public(0x01000009), 0x18B);
    assert_int_equal(undefine(OWNER, 0x01000009), 0x28B);
    /* another index cannot authorize this one */
    assert_int_equal(define_full(OWNER, "x", 0x01000002, SHA256, OWNER_RW | TPMA_NV_AUTHREAD, 0, 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "abcdefgh", 8, 0), 0);
    assert_int_equal(nv_read(0x01000002, "x", 0x01000001, 1, 0), 0x149);
    /* wrong owner password */
    assert_int_equal(nv_read(OWNER, "bad", 0x01000001, 1, 0), 0x9A2);
}

static void authority_rules(void **state)
{
    (void)state;
    assert_int_equal(define_full(OWNER, "pw", 0x01000001, SHA256,
                                 TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD, 0, 8), 0);
    /* owner may write but not read; the index may read but not write */
    assert_int_equal(nv_write(0x01000001, "pw", 0x01000001, "abcdefgh", 8, 0), 0x12F); /* AUTH_UNAVAILABLE */
    assert_int_equal(nv_write(PLATFORM, "", 0x01000001, "abcdefgh", 8, 0), 0x149);     /* NV_AUTHORIZATION */
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "abcdefgh", 8, 0), 0);
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 8, 0), 0x149);
    assert_int_equal(nv_read(PLATFORM, "", 0x01000001, 8, 0), 0x149);
    assert_int_equal(nv_read(0x01000001, "pw", 0x01000001, 8, 0), 0);
    assert_memory_equal(rdata(), "abcdefgh", 8);
    /* trailing zeros of an authValue do not count */
    assert_int_equal(nv_read(0x01000001, "pw\0", 0x01000001, 8, 0), 0);
    /* wrong index password: DA-protected unless NO_DA */
    assert_int_equal(nv_read(0x01000001, "pX", 0x01000001, 8, 0), 0x98E);
    assert_int_equal(define_full(OWNER, "pw", 0x01000002, SHA256,
                                 OWNER_RW | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA, 0, 8), 0);
    assert_int_equal(nv_read(0x01000002, "pX", 0x01000002, 8, 0), 0x9A2);
    /* a platform index: owner may neither undefine nor write it */
    assert_int_equal(define_full(PLATFORM, "", 0x01000003, SHA256,
                                 TPMA_NV_PPREAD | TPMA_NV_PPWRITE | TPMA_NV_PLATFORMCREATE, 0, 8), 0);
    assert_int_equal(undefine(OWNER, 0x01000003), 0x149);
    assert_int_equal(undefine(PLATFORM, 0x01000003), 0);
    /* platform may undefine an owner index */
    assert_int_equal(undefine(PLATFORM, 0x01000002), 0);
}

static void admin_role_needs_policy(void **state)
{
    frame f;
    (void)state;
    assert_int_equal(define_full(PLATFORM, "", 0x01000001, SHA256,
                                 TPMA_NV_PPREAD | TPMA_NV_PPWRITE | TPMA_NV_PLATFORMCREATE |
                                     TPMA_NV_POLICY_DELETE, 32, 8), 0);
    /* NV_UndefineSpace refuses a POLICY_DELETE index */
    assert_int_equal(undefine(PLATFORM, 0x01000001), 0x282);
    /* NV_UndefineSpaceSpecial with a password for the index: AUTH_TYPE */
    f_cmd(&f, ST_S, 0x11F);
    f_u32(&f, 0x01000001);
    f_u32(&f, PLATFORM);
    f_u32(&f, 18);
    f_u32(&f, 0x40000009); f_u16(&f, 0); f_u8(&f, 1); f_u16(&f, 0);
    f_u32(&f, 0x40000009); f_u16(&f, 0); f_u8(&f, 1); f_u16(&f, 0);
    assert_int_equal(exec(&f), 0x124);
    /* NV_ChangeAuth with a password: AUTH_TYPE */
    f_cmd(&f, ST_S, 0x13B);
    f_u32(&f, 0x01000001);
    f_pw_session(&f, "");
    f_2b(&f, "new", 3);
    assert_int_equal(exec(&f), 0x124);
}

/* The actions behind the ADMIN role, called directly: no policy session
 * can reach them through the dispatcher yet. */
static uint32_t call_action(vt_action act, uint32_t h1, uint32_t h2, const uint8_t *params, size_t n)
{
    vt_cmd c;
    uint8_t out[256];
    memset(&c, 0, sizeof(c));
    c.e = E;
    c.handles[0] = h1;
    c.handles[1] = h2;
    c.n_handles = 2;
    vt_in_init(&c.in, params, n, VT_AREA_PARAM);
    vt_out_init(&c.out, out, sizeof(out));
    return act(&c);
}

static void admin_actions(void **state)
{
    static const uint8_t newauth[] = { 0, 3, 'n', 'e', 'w' };
    uint8_t toolong[2 + 21] = { 0, 21 };
    (void)state;
    assert_int_equal(define_full(OWNER, "old", 0x01000001, SHA1, OWNER_RW | TPMA_NV_AUTHREAD, 0, 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "abcdefgh", 8, 0), 0);
    assert_int_equal(call_action(vt_cmd_nv_change_auth, 0x01000001, 0, toolong, sizeof(toolong)), 0x1D5);
    assert_int_equal(call_action(vt_cmd_nv_change_auth, 0x01000001, 0, newauth, sizeof(newauth)), 0);
    assert_int_equal(nv_read(0x01000001, "old", 0x01000001, 8, 0), 0x98E);
    assert_int_equal(nv_read(0x01000001, "new", 0x01000001, 8, 0), 0);
    /* UndefineSpaceSpecial: only POLICY_DELETE indices */
    assert_int_equal(call_action(vt_cmd_nv_undefine_space_special, 0x01000001, PLATFORM, NULL, 0), 0x182);
    assert_int_equal(define_full(PLATFORM, "", 0x01000002, SHA256,
                                 TPMA_NV_PPREAD | TPMA_NV_PPWRITE | TPMA_NV_PLATFORMCREATE |
                                     TPMA_NV_POLICY_DELETE, 32, 8), 0);
    assert_int_equal(call_action(vt_cmd_nv_undefine_space_special, 0x01000002, PLATFORM, NULL, 0), 0);
    assert_int_equal(read_public(0x01000002), 0x18B);
}

/* ---- read / write ---- */

static void read_write_ranges(void **state)
{
    static uint8_t big[1100];
    (void)state;
    assert_int_equal(define(0x01000001, OWNER_RW, 2048), 0);
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 1, 0), 0x14A); /* NV_UNINITIALIZED */
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "abc", 3, 2046), 0x146); /* NV_RANGE */
    assert_int_equal(nv_write(OWNER, "", 0x01000001, big, 1025, 0), 0x1D5);  /* SIZE + P1 */
    memset(big, 0x5A, sizeof(big));
    assert_int_equal(nv_write(OWNER, "", 0x01000001, big, 1024, 1024), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "abc", 3, 2045), 0);
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 1025, 0), 0x1C4); /* VALUE + P1 */
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 4, 2045), 0x146);
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 3, 2045), 0);
    assert_memory_equal(rdata(), "abc", 3);
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 1024, 1021), 0);
    assert_int_equal(rdata()[2], 0xFF); /* never written */
    assert_int_equal(rdata()[3], 0x5A);
    assert_int_equal(nv_read(OWNER, "", 0x01000001, 0, 2048), 0);
    /* WRITEALL */
    assert_int_equal(define(0x01000002, OWNER_RW | TPMA_NV_WRITEALL, 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, "abcd", 4, 0), 0x146);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, "abcdefgh", 8, 0), 0);
    /* the type commands only work on their type */
    assert_int_equal(increment(0x01000002), 0x282);
    assert_int_equal(set_bits(0x01000002, 1), 0x282);
    assert_int_equal(extend(0x01000002, "x", 1), 0x282);
    assert_int_equal(define(0x01000003, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000003, "abcdefgh", 8, 0), 0x282);
    /* trailing parameter bytes */
    assert_int_equal(nv_cmd(0x134, OWNER, "", 0x01000003, "x", 1), 0x095);
    /* rewriting the same bytes commits nothing when the writer may read... */
    {
        int before = tp.commits;
        assert_int_equal(nv_write(OWNER, "", 0x01000002, "abcdefgh", 8, 0), 0);
        assert_int_equal(tp.commits, before);
        assert_int_equal(nv_write(OWNER, "", 0x01000002, "abcdefgX", 8, 0), 0);
        assert_int_equal(tp.commits, before + 1);
        assert_int_equal(nv_read(OWNER, "", 0x01000002, 8, 0), 0);
        assert_memory_equal(rdata(), "abcdefgX", 8);
    }
    /* ...and is committed as any write when it may not (write-only owner) */
    assert_int_equal(define(0x01000004, TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD, 4), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000004, "wxyz", 4, 0), 0);
    {
        int before = tp.commits;
        assert_int_equal(nv_write(OWNER, "", 0x01000004, "wxyz", 4, 0), 0);
        assert_int_equal(tp.commits, before + 1);
    }
}

static void counters_never_go_back(void **state)
{
    (void)state;
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(increment(0x01000001), 0);
    assert_int_equal(increment(0x01000001), 0);
    assert_int_equal(increment(0x01000001), 0);
    assert_int_equal(read_u64(0x01000001), 3);
    /* a new counter starts above the highest value any counter had */
    assert_int_equal(define(0x01000002, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(increment(0x01000002), 0);
    assert_int_equal(read_u64(0x01000002), 4);
    assert_int_equal(undefine(OWNER, 0x01000001), 0);
    assert_int_equal(undefine(OWNER, 0x01000002), 0);
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(increment(0x01000001), 0);
    assert_int_equal(read_u64(0x01000001), 5);
    /* every increment is committed before its response */
    {
        int before = tp.commits;
        assert_int_equal(increment(0x01000001), 0);
        assert_int_equal(tp.commits, before + 1);
        tp.fail_commit = true;
        assert_int_equal(increment(0x01000001), 0x923); /* TPM_RC_NV_UNAVAILABLE */
        tp.fail_commit = false;
    }
}

static void bits_and_extend(void **state)
{
    static const uint8_t zeros[32];
    uint8_t want[32], buf[64];
    unsigned int n;
    (void)state;
    assert_int_equal(define(0x01000001, OWNER_RW | NT(TPM2_NT_BITS), 8), 0);
    assert_int_equal(set_bits(0x01000001, 0), 0);
    assert_int_equal(read_u64(0x01000001), 0);
    assert_int_equal(set_bits(0x01000001, 0x11), 0);
    assert_int_equal(set_bits(0x01000001, 0x8000000000000001ull), 0);
    assert_true(read_u64(0x01000001) == 0x8000000000000011ull);

    assert_int_equal(define(0x01000002, OWNER_RW | NT(TPM2_NT_EXTEND), 32), 0);
    assert_int_equal(extend(0x01000002, "abc", 3), 0);
    memcpy(buf, zeros, 32);
    memcpy(buf + 32, "abc", 3);
    assert_true(EVP_Digest(buf, 35, want, &n, EVP_sha256(), NULL));
    assert_int_equal(nv_read(OWNER, "", 0x01000002, 32, 0), 0);
    assert_memory_equal(rdata(), want, 32);
    {
        static uint8_t big[1025];
        uint8_t b[1027] = { 0x04, 0x01 };
        memcpy(b + 2, big, sizeof(big));
        assert_int_equal(nv_cmd(0x136, OWNER, "", 0x01000002, b, sizeof(b)), 0x1D5);
    }
}

static void pin_indices(void **state)
{
    static const uint8_t limit2[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
    (void)state;
    /* PIN Fail */
    assert_int_equal(define_full(OWNER, "1234", 0x01000001, SHA256,
                                 OWNER_RW | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | NT(TPM2_NT_PIN_FAIL), 0, 8), 0);
    assert_int_equal(nv_read(0x01000001, "1234", 0x01000001, 8, 0), 0x12F); /* not written */
    assert_int_equal(nv_write(OWNER, "", 0x01000001, limit2, 8, 0), 0);
    assert_int_equal(nv_read(0x01000001, "0000", 0x01000001, 8, 0), 0x9A2);
    assert_true(read_u64(0x01000001) == 0x0000000100000002ull);
    assert_int_equal(nv_read(0x01000001, "1234", 0x01000001, 8, 0), 0);
    assert_true(read_u64(0x01000001) == 0x0000000000000002ull);
    assert_int_equal(nv_read(0x01000001, "0000", 0x01000001, 8, 0), 0x9A2);
    assert_int_equal(nv_read(0x01000001, "0000", 0x01000001, 8, 0), 0x9A2);
    assert_int_equal(nv_read(0x01000001, "1234", 0x01000001, 8, 0), 0x12F); /* at the limit */
    assert_true(read_u64(0x01000001) == 0x0000000200000002ull);
    /* a failure is counted even when the command would fail anyway */
    assert_int_equal(nv_write(OWNER, "", 0x01000001, limit2, 8, 0), 0);
    assert_int_equal(nv_read(0x01000001, "0000", 0x01000001, 9, 0), 0x9A2);
    assert_true(read_u64(0x01000001) == 0x0000000100000002ull);
    /* no NV, no try */
    vt_engine_set_nv_available(E, false);
    assert_int_equal(nv_read(0x01000001, "0000", 0x01000001, 8, 0), 0x923);
    vt_engine_set_nv_available(E, true);

    /* PIN Pass */
    assert_int_equal(define_full(OWNER, "1234", 0x01000002, SHA256,
                                 OWNER_RW | TPMA_NV_AUTHREAD | NT(TPM2_NT_PIN_PASS), 0, 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, limit2, 8, 0), 0);
    assert_int_equal(nv_read(0x01000002, "1234", 0x01000002, 8, 0), 0);
    assert_memory_equal(rdata(), "\0\0\0\1\0\0\0\2", 8);
    assert_int_equal(nv_read(0x01000002, "0000", 0x01000002, 8, 0), 0x98E); /* not counted */
    assert_int_equal(nv_read(0x01000002, "1234", 0x01000002, 8, 9), 0x146); /* counted */
    assert_int_equal(nv_read(0x01000002, "1234", 0x01000002, 8, 0), 0x12F);
    assert_true(read_u64(0x01000002) == 0x0000000200000002ull);
}

/* ---- locks and Startup ---- */

static void locks_and_startup(void **state)
{
    (void)state;
    assert_int_equal(define(0x01000001, OWNER_RW | TPMA_NV_WRITE_STCLEAR, 8), 0);
    assert_int_equal(define(0x01000002, OWNER_RW | TPMA_NV_WRITEDEFINE, 8), 0);
    assert_int_equal(define(0x01000003, OWNER_RW | TPMA_NV_WRITEDEFINE, 8), 0);
    assert_int_equal(define(0x01000004, OWNER_RW | TPMA_NV_READ_STCLEAR, 8), 0);
    assert_int_equal(define(0x01000005, OWNER_RW | TPMA_NV_GLOBALLOCK, 8), 0);
    assert_int_equal(define(0x01000006, OWNER_RW | TPMA_NV_CLEAR_STCLEAR, 8), 0);
    assert_int_equal(define(0x01000007, OWNER_RW, 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, "abcdefgh", 8, 0), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000004, "abcdefgh", 8, 0), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000006, "abcdefgh", 8, 0), 0);

    assert_int_equal(write_lock(OWNER, 0x01000007), 0x282);
    assert_int_equal(read_lock(OWNER, 0x01000007), 0x282);
    assert_int_equal(write_lock(PLATFORM, 0x01000001), 0x149);
    assert_int_equal(read_lock(PLATFORM, 0x01000004), 0x149);
    assert_int_equal(write_lock(OWNER, 0x01000001), 0);
    assert_int_equal(write_lock(OWNER, 0x01000001), 0);
    assert_int_equal(write_lock(OWNER, 0x01000002), 0);
    assert_int_equal(write_lock(OWNER, 0x01000003), 0);
    assert_int_equal(read_lock(OWNER, 0x01000004), 0);
    assert_int_equal(global_lock(), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "x", 1, 0), 0x148);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, "x", 1, 0), 0x148);
    assert_int_equal(nv_write(OWNER, "", 0x01000003, "x", 1, 0), 0x148);
    assert_int_equal(nv_read(OWNER, "", 0x01000004, 1, 0), 0x148);
    assert_int_equal(nv_write(OWNER, "", 0x01000005, "x", 1, 0), 0x148);
    assert_int_equal(nv_write(OWNER, "", 0x01000007, "x", 1, 0), 0);

    /* TPM Resume: everything stays */
    shutdown(1);
    vt_engine_reset(E);
    startup(1);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "x", 1, 0), 0x148);
    assert_int_equal(nv_read(OWNER, "", 0x01000004, 1, 0), 0x148);
    assert_int_equal(nv_write(OWNER, "", 0x01000005, "x", 1, 0), 0x148);
    assert_int_equal(nv_read(OWNER, "", 0x01000006, 1, 0), 0);

    /* TPM Restart: STCLEAR locks, the global lock and CLEAR_STCLEAR go */
    shutdown(1);
    vt_engine_reset(E);
    startup(0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "x", 1, 0), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, "x", 1, 0), 0x148); /* written WRITEDEFINE */
    assert_int_equal(nv_write(OWNER, "", 0x01000003, "x", 1, 0), 0);     /* never written */
    assert_int_equal(nv_read(OWNER, "", 0x01000004, 1, 0), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000005, "x", 1, 0), 0);
    assert_int_equal(nv_read(OWNER, "", 0x01000006, 1, 0), 0x14A);

    /* TPM Reset likewise */
    assert_int_equal(write_lock(OWNER, 0x01000001), 0);
    vt_engine_reset(E);
    startup(0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "x", 1, 0), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000002, "x", 1, 0), 0x148);
}

/* ---- Names, public area, capabilities ---- */

static void name_is_hash_of_public(void **state)
{
    TPMS_NV_PUBLIC pub = { 0 };
    uint8_t m[128], want[34];
    size_t off = 0, pub_len;
    unsigned int n;
    (void)state;
    assert_int_equal(define_full(OWNER, "pw", 0x01000001, SHA256, OWNER_RW | TPMA_NV_AUTHREAD, 32, 16), 0);
    assert_int_equal(read_public(0x01000001), 0);
    /* parameters: TPM2B_NV_PUBLIC, then TPM2B_NAME */
    pub_len = (size_t)(rsp[10] << 8 | rsp[11]);
    assert_int_equal(pub_len, 4 + 2 + 4 + 2 + 32 + 2);
    assert_int_equal(Tss2_MU_TPMS_NV_PUBLIC_Unmarshal(rsp + 12, pub_len, &off, &pub), 0);
    assert_int_equal(pub.nvIndex, 0x01000001);
    assert_int_equal(pub.dataSize, 16);
    assert_int_equal(rsp[12 + pub_len] << 8 | rsp[13 + pub_len], 34);
    want[0] = 0;
    want[1] = 0x0B;
    assert_true(EVP_Digest(rsp + 12, pub_len, want + 2, &n, EVP_sha256(), NULL));
    assert_memory_equal(rsp + 14 + pub_len, want, 34);
    /* the Name changes when the index is first written */
    memcpy(m, want, 34);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "a", 1, 0), 0);
    assert_int_equal(read_public(0x01000001), 0);
    assert_memory_not_equal(rsp + 14 + pub_len, m, 34);
    off = 0;
    assert_int_equal(Tss2_MU_TPMS_NV_PUBLIC_Unmarshal(rsp + 12, pub_len, &off, &pub), 0);
    assert_true(pub.attributes & TPMA_NV_WRITTEN);
}

static uint32_t get_u32_prop(uint32_t cap, uint32_t prop, unsigned index)
{
    frame f;
    f_cmd(&f, ST_NO, 0x17A);
    f_u32(&f, cap);
    f_u32(&f, prop);
    f_u32(&f, 64);
    assert_int_equal(exec(&f), 0);
    /* more(1) cap(4) count(4) then items */
    if (cap == TPM2_CAP_HANDLES)
        return be32_at(rsp + 19 + 4 * index);
    return be32_at(rsp + 19 + 8 * index + 4);
}

static void capabilities(void **state)
{
    frame f;
    (void)state;
    assert_int_equal(define(0x01000009, OWNER_RW, 8), 0);
    assert_int_equal(define(0x01000002, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(define(0x01000005, OWNER_RW, 8), 0);
    f_cmd(&f, ST_NO, 0x17A);
    f_u32(&f, TPM2_CAP_HANDLES);
    f_u32(&f, 0x01000000);
    f_u32(&f, 64);
    assert_int_equal(exec(&f), 0);
    assert_int_equal(be32_at(rsp + 15), 3);
    assert_int_equal(get_u32_prop(TPM2_CAP_HANDLES, 0x01000000, 0), 0x01000002);
    assert_int_equal(get_u32_prop(TPM2_CAP_HANDLES, 0x01000000, 1), 0x01000005);
    assert_int_equal(get_u32_prop(TPM2_CAP_HANDLES, 0x01000000, 2), 0x01000009);
    assert_int_equal(get_u32_prop(TPM2_CAP_HANDLES, 0x01000006, 0), 0x01000009);
    assert_int_equal(get_u32_prop(TPM2_CAP_TPM_PROPERTIES, TPM2_PT_HR_NV_INDEX, 0), 3);
    assert_int_equal(get_u32_prop(TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_COUNTERS, 0), 1);
    assert_int_equal(get_u32_prop(TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_COUNTERS_AVAIL, 0), VT_NV_MAX_INDICES - 3); /* table entries are the limit */
    assert_int_equal(get_u32_prop(TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_INDEX_MAX, 0), 2048);
    assert_int_equal(get_u32_prop(TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 0), 1024);
}

/* ---- stored state ---- */

static void state_survives_and_v1_is_refused(void **state)
{
    vt_platform p;
    vt_engine *n = NULL;
    vt_engine_config small = { .nv_size = 1024 };
    (void)state;
    assert_int_equal(define(0x01000001, OWNER_RW, 100), 0);
    assert_int_equal(define(0x01000002, OWNER_RW | NT(TPM2_NT_COUNTER), 8), 0);
    assert_int_equal(define_full(OWNER, "pw", 0x01000003, SHA256, OWNER_RW | TPMA_NV_AUTHREAD, 0, 8), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000001, "persist", 7, 90), 0);
    assert_int_equal(increment(0x01000002), 0);
    assert_int_equal(undefine(OWNER, 0x01000001), 0);
    assert_int_equal(nv_write(OWNER, "", 0x01000003, "abcdefgh", 8, 0), 0);
    assert_int_equal(vt_engine_save(E), VT_OK);
    vt_engine_free(E);

    E = new_engine(4096);
    assert_int_equal(read_u64(0x01000002), 1);
    assert_int_equal(nv_read(0x01000003, "pw", 0x01000003, 8, 0), 0);
    assert_memory_equal(rdata(), "abcdefgh", 8);
    assert_int_equal(read_public(0x01000001), 0x18B);

    /* a state whose NV does not fit a smaller pool is refused */
    assert_int_equal(define(0x01000004, OWNER_RW, 2000), 0);
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new_ex(&p, &small, &n), VT_ERR_STATE_CORRUPT);
    assert_null(n);
    small.nv_size = VT_NV_MAX_SIZE + 1;
    assert_int_equal(vt_engine_new_ex(&p, &small, &n), VT_ERR_CONFIG);

    /* a version 1 state (before NV) is refused, not mis-read */
    {
        static uint8_t blob[4 + 8 + 64 + 32];
        unsigned int dl;
        memset(blob, 0, sizeof(blob));
        memcpy(blob, "VTST", 4);
        blob[11] = 1;
        assert_true(EVP_Digest(blob, sizeof(blob) - 32, blob + sizeof(blob) - 32, &dl, EVP_sha256(), NULL));
        memcpy(tp.store, blob, sizeof(blob));
        tp.store_len = sizeof(blob);
        assert_int_equal(vt_engine_new(&p, &n), VT_ERR_STATE_VERSION);
        assert_null(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(define_attribute_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(define_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(capacity_is_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(handle_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(authority_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_role_needs_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(read_write_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_never_go_back, setup, teardown),
        cmocka_unit_test_setup_teardown(bits_and_extend, setup, teardown),
        cmocka_unit_test_setup_teardown(pin_indices, setup, teardown),
        cmocka_unit_test_setup_teardown(locks_and_startup, setup, teardown),
        cmocka_unit_test_setup_teardown(name_is_hash_of_public, setup, teardown),
        cmocka_unit_test_setup_teardown(capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(state_survives_and_v1_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
