/* Policy sessions: digests checked against an independent SHA-256
 * (OpenSSL), the conditions a policy records (trial sessions, PolicySecret
 * nonce and expiration), and ContextSave/ContextLoad of sessions with its
 * anti-replay rule. */
#include "helpers.h"

#include <openssl/evp.h>

static test_platform tp;
static vt_engine *E;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
static size_t rsp_n;

static int setup(void **state)
{
    (void)state;
    memset(&tp, 0, sizeof(tp));
    E = started_engine(&tp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_engine_free(E);
    return 0;
}

static void sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    unsigned int len;
    EVP_Digest(d, n, out, &len, EVP_sha256(), NULL);
}

/* StartAuthSession: type 1 policy, 3 trial; SHA-256, unbound, unsalted.
 * The handle is returned; nonceTPM copied to nonce (32 octets). */
static uint32_t start(uint8_t type, uint8_t nonce[32])
{
    static const uint8_t nc[16] = { 7 };
    frame f;
    f_cmd(&f, 0x8001, 0x176);
    f_u32(&f, 0x40000007);
    f_u32(&f, 0x40000007);
    f_2b(&f, nc, 16);
    f_u16(&f, 0);
    f_u8(&f, type);
    f_u16(&f, 0x0010);
    f_u16(&f, 0x000B);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0);
    if (nonce)
        memcpy(nonce, rsp + 16, 32);
    return be32_at(rsp + 10);
}

static uint32_t one_handle(uint32_t cc, uint32_t h, const uint8_t *params, size_t n)
{
    frame f;
    f_cmd(&f, 0x8001, cc);
    f_u32(&f, h);
    f_bytes(&f, params, n);
    f_done(&f);
    return run(E, &f, rsp, &rsp_n);
}

static void get_digest(uint32_t h, uint8_t out[32])
{
    assert_int_equal(one_handle(0x189, h, NULL, 0), 0);
    assert_int_equal(rsp[10] << 8 | rsp[11], 32);
    memcpy(out, rsp + 12, 32);
}

static uint32_t command_code(uint32_t h, uint32_t code)
{
    uint8_t p[4] = { (uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8), (uint8_t)code };
    return one_handle(0x16C, h, p, 4);
}

/* PCR_Extend(16) authorized by session h with an empty HMAC. */
static uint32_t extend_with(uint32_t h)
{
    static const uint8_t nc[16] = { 9 };
    frame f;
    f_cmd(&f, 0x8002, 0x182);
    f_u32(&f, 16);
    f_u32(&f, 4 + 2 + 16 + 1 + 2);
    f_u32(&f, h);
    f_2b(&f, nc, 16);
    f_u8(&f, 1);
    f_u16(&f, 0);
    f_u32(&f, 1);
    f_u16(&f, 0x000B);
    for (int i = 0; i < 32; i++)
        f_u8(&f, 0);
    f_done(&f);
    return run(E, &f, rsp, NULL);
}

static void digests_follow_the_spec(void **state)
{
    uint8_t got[32], buf[128], want[32];
    uint32_t h;
    (void)state;
    h = start(3, NULL);
    get_digest(h, got);
    memset(want, 0, 32);
    assert_memory_equal(got, want, 32);
    assert_int_equal(command_code(h, 0x15E), 0);
    memset(buf, 0, 32);
    memcpy(buf + 32, "\x00\x00\x01\x6c\x00\x00\x01\x5e", 8);
    sha256(buf, 40, want);
    get_digest(h, got);
    assert_memory_equal(got, want, 32);
    /* the same code again is fine, another one is not */
    assert_int_equal(command_code(h, 0x15E), 0);
    assert_int_equal(command_code(h, 0x15D), 0x1C4); /* TPM_RC_VALUE + P1 */
    /* PolicyAuthValue and PolicyPassword extend with the same code */
    assert_int_equal(one_handle(0x180, h, NULL, 0), 0); /* PolicyRestart */
    assert_int_equal(one_handle(0x18C, h, NULL, 0), 0); /* PolicyPassword */
    memset(buf, 0, 32);
    memcpy(buf + 32, "\x00\x00\x01\x6b", 4);
    sha256(buf, 36, want);
    get_digest(h, got);
    assert_memory_equal(got, want, 32);
    /* PolicyOR: 2..8 digests */
    {
        uint8_t p[4 + 2 * 34];
        memset(p, 0, sizeof(p));
        p[3] = 1;
        p[5] = 32;
        assert_int_equal(one_handle(0x171, h, p, 4 + 34), 0x1D5); /* TPM_RC_SIZE + P1 */
        p[3] = 2;
        p[4 + 34 + 1] = 32;
        memcpy(p + 6, want, 32);
        assert_int_equal(one_handle(0x171, h, p, sizeof(p)), 0);
        memset(buf, 0, 32);
        memcpy(buf + 32, "\x00\x00\x01\x71", 4);
        memcpy(buf + 36, want, 32);
        memset(buf + 68, 0, 32);
        sha256(buf, 100, want);
        get_digest(h, got);
        assert_memory_equal(got, want, 32);
    }
}

static void trial_never_authorizes_and_pcrs_have_no_policy(void **state)
{
    uint32_t t, p;
    (void)state;
    t = start(3, NULL);
    assert_int_equal(extend_with(t), 0x982); /* TPM_RC_ATTRIBUTES + S1 */
    p = start(1, NULL);
    assert_int_equal(extend_with(p), 0x12F); /* TPM_RC_AUTH_UNAVAILABLE */
    /* a policy command on an HMAC session handle that is not loaded: the
     * resource manager's warning (dispatch.c), TPM_RC_REFERENCE_H0 */
    assert_int_equal(one_handle(0x189, 0x02000000u | (t & 0xFFFFFFu), NULL, 0), 0x910);
}

static uint32_t policy_secret(uint32_t h, const uint8_t *nonce, uint16_t nonce_len, uint32_t expiration)
{
    frame f;
    f_cmd(&f, 0x8002, 0x151);
    f_u32(&f, 0x40000001); /* owner, empty authValue */
    f_u32(&f, h);
    f_pw_session(&f, "");
    f_2b(&f, nonce, nonce_len);
    f_u16(&f, 0);
    f_u16(&f, 0);
    f_u32(&f, expiration);
    f_done(&f);
    return run(E, &f, rsp, &rsp_n);
}

static void policy_secret_nonce_and_expiration(void **state)
{
    uint8_t nonce[32], bad[32], got[32], buf[64], inner[32], want[32];
    uint32_t h;
    (void)state;
    h = start(1, nonce);
    memset(bad, 0xEE, sizeof(bad));
    assert_int_equal(policy_secret(h, bad, 32, 0), 0x1CF);      /* TPM_RC_NONCE + P1 */
    /* expiration without nonceTPM counts from now (Part 3 1.38+); the
     * PolicySecret of h that failed (bad nonce) left its digest alone */
    {
        uint32_t h2 = start(1, NULL);
        uint8_t zero[32] = { 0 };
        assert_int_equal(policy_secret(h2, bad, 0, 10), 0);
        assert_int_equal(rsp[14] << 8 | rsp[15], 0); /* no timeout returned */
        get_digest(h, got);
        assert_memory_equal(got, zero, 32);
    }
    assert_int_equal(policy_secret(h, nonce, 32, 10), 0);       /* 10 s from the nonce */
    /* null ticket, no timeout */
    assert_int_equal(be32_at(rsp + 10), 2 + 2 + 4 + 2);
    assert_int_equal(rsp[14] << 8 | rsp[15], 0);
    /* digest = H(H(0 || 0x151 || 0x40000001) || "") */
    memset(buf, 0, 32);
    memcpy(buf + 32, "\x00\x00\x01\x51\x40\x00\x00\x01", 8);
    sha256(buf, 40, inner);
    sha256(inner, 32, want);
    get_digest(h, got);
    assert_memory_equal(got, want, 32);
    /* 11 s later the same nonce is too old */
    tp.now_ms += 11000;
    assert_int_equal(policy_secret(h, nonce, 32, 10), 0x4E3); /* TPM_RC_EXPIRED + P4 */
    /* a negative expiration returns the timeout and a real ticket */
    assert_int_equal(policy_secret(h, nonce, 32, (uint32_t)-20), 0);
    assert_int_equal(rsp[14] << 8 | rsp[15], 8);
    assert_int_equal(rsp[24] << 8 | rsp[25], 0x8023);   /* TPM_ST_AUTH_SECRET */
    assert_int_equal(be32_at(rsp + 26), 0x40000001);    /* the owner's ticket */
    assert_int_equal(rsp[30] << 8 | rsp[31], 32);
}

static void session_context_loads_once(void **state)
{
    uint8_t ctx[1024], want[32], got[32];
    size_t ctx_n;
    uint32_t h;
    frame f;
    (void)state;
    h = start(1, NULL);
    assert_int_equal(command_code(h, 0x15E), 0);
    get_digest(h, want);
    assert_int_equal(one_handle(0x162, h, NULL, 0), 0); /* ContextSave */
    ctx_n = rsp_n - 10;
    memcpy(ctx, rsp + 10, ctx_n);
    assert_int_equal(be32_at(ctx + 8), h);          /* savedHandle */
    assert_int_equal(be32_at(ctx + 12), 0x40000007); /* hierarchy NULL */
    /* out of TPM memory now, but still active */
    assert_int_equal(one_handle(0x189, h, NULL, 0), 0x910); /* TPM_RC_REFERENCE_H0 */
    assert_int_equal(one_handle(0x162, h, NULL, 0), 0x910);
    /* a tampered blob */
    ctx[ctx_n - 1] ^= 1;
    f_cmd(&f, 0x8001, 0x161);
    f_bytes(&f, ctx, ctx_n);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0x1DF); /* TPM_RC_INTEGRITY + P1 */
    ctx[ctx_n - 1] ^= 1;
    f_cmd(&f, 0x8001, 0x161);
    f_bytes(&f, ctx, ctx_n);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0);
    assert_int_equal(be32_at(rsp + 10), h);
    get_digest(h, got);
    assert_memory_equal(got, want, 32); /* the policy state came back */
    assert_int_equal(run(E, &f, rsp, NULL), 0x1CB); /* loaded once: TPM_RC_HANDLE + P1 */
    /* save again, flush the saved session: its context is dead */
    assert_int_equal(one_handle(0x162, h, NULL, 0), 0);
    ctx_n = rsp_n - 10;
    memcpy(ctx, rsp + 10, ctx_n);
    f_cmd(&f, 0x8001, 0x165);
    f_u32(&f, h);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0);
    f_cmd(&f, 0x8001, 0x161);
    f_bytes(&f, ctx, ctx_n);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0x1CB);
}

static uint32_t u8_param(uint32_t cc, uint32_t h, uint8_t v)
{
    return one_handle(cc, h, &v, 1);
}

static uint32_t digest_param(uint32_t cc, uint32_t h, uint8_t fill, uint16_t len)
{
    uint8_t p[2 + 64];
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memset(p + 2, fill, len);
    return one_handle(cc, h, p, 2u + len);
}

/* PolicyLocality, PolicyNvWritten, PolicyCpHash, PolicyNameHash,
 * PolicyTemplate, PolicyPhysicalPresence: digests and the rules on
 * combining them. */
static void deferred_assertions(void **state)
{
    uint8_t got[32], buf[128], want[32];
    uint32_t h;
    (void)state;
    h = start(3, NULL);
    assert_int_equal(u8_param(0x16F, h, 0), 0x1CD);      /* locality 0: TPM_RC_RANGE + P1 */
    assert_int_equal(u8_param(0x16F, h, 0x03), 0);      /* localities 0 and 1 */
    memset(buf, 0, 32);
    memcpy(buf + 32, "\x00\x00\x01\x6f\x03", 5);
    sha256(buf, 37, want);
    get_digest(h, got);
    assert_memory_equal(got, want, 32);
    assert_int_equal(u8_param(0x16F, h, 0x04), 0x1CD);   /* no common locality */
    assert_int_equal(u8_param(0x16F, h, 0x40), 0x1CD);   /* extended after 0-4 */
    assert_int_equal(u8_param(0x16F, h, 0x02), 0);       /* narrows to 1 */
    get_digest(h, got);
    /* a failed one changed nothing: digest = H(prev || 0x16f || 02) */
    memcpy(buf, want, 32);
    memcpy(buf + 32, "\x00\x00\x01\x6f\x02", 5);
    sha256(buf, 37, want);
    assert_memory_equal(got, want, 32);

    assert_int_equal(u8_param(0x18F, h, 2), 0x1C4);      /* writtenSet 2: TPM_RC_VALUE + P1 */
    assert_int_equal(u8_param(0x18F, h, 1), 0);
    assert_int_equal(u8_param(0x18F, h, 1), 0);          /* the same again is fine */
    assert_int_equal(u8_param(0x18F, h, 0), 0x1C4);      /* the opposite is not */

    assert_int_equal(digest_param(0x16E, h, 1, 20), 0x1D5); /* cpHash of a wrong size: SIZE + P1 */
    assert_int_equal(digest_param(0x16E, h, 1, 32), 0);
    assert_int_equal(digest_param(0x16E, h, 1, 32), 0);     /* the same cpHash again */
    assert_int_equal(digest_param(0x16E, h, 2, 32), 0x151); /* another: TPM_RC_CPHASH */
    assert_int_equal(digest_param(0x170, h, 1, 32), 0x151); /* nameHash after cpHash */
    assert_int_equal(digest_param(0x190, h, 1, 32), 0x151); /* templateHash after cpHash */

    /* PolicyPhysicalPresence: H(0 || 0x187) */
    assert_int_equal(one_handle(0x180, h, NULL, 0), 0); /* PolicyRestart */
    assert_int_equal(one_handle(0x187, h, NULL, 0), 0);
    memset(buf, 0, 32);
    memcpy(buf + 32, "\x00\x00\x01\x87", 4);
    sha256(buf, 36, want);
    get_digest(h, got);
    assert_memory_equal(got, want, 32);
    /* PolicyTemplate, then the same template, then another */
    assert_int_equal(digest_param(0x190, h, 7, 32), 0);
    assert_int_equal(digest_param(0x190, h, 7, 32), 0);
    assert_int_equal(digest_param(0x190, h, 8, 32), 0x1C4);
    assert_int_equal(digest_param(0x16E, h, 1, 32), 0x151); /* cpHash after templateHash */
}

/* PolicyCounterTimer and PolicyTicket parameter rules. */
static void counter_timer_and_ticket(void **state)
{
    uint8_t p[64];
    uint32_t h, t;
    (void)state;
    h = start(1, NULL);
    /* operandB 8 octets at offset 8 (clock) < 2^63: holds */
    memset(p, 0, sizeof(p));
    p[1] = 8;
    p[2] = 0x7f;
    p[11] = 8;  /* offset */
    p[13] = 5;  /* TPM_EO_UNSIGNED_LT */
    assert_int_equal(one_handle(0x16D, h, p, 14), 0);
    p[13] = 3;  /* UNSIGNED_GT: fails */
    assert_int_equal(one_handle(0x16D, h, p, 14), 0x126); /* TPM_RC_POLICY */
    p[13] = 0x0C; /* no such operation */
    assert_int_equal(one_handle(0x16D, h, p, 14), 0x3C4); /* TPM_RC_VALUE + P3 */
    p[13] = 5;
    p[11] = 20;  /* 20 + 8 > 25 octets of TPMS_TIME_INFO */
    assert_int_equal(one_handle(0x16D, h, p, 14), 0x2CD); /* TPM_RC_RANGE + P2 */
    /* safe (offset 24, 1 octet) = YES */
    memset(p, 0, sizeof(p));
    p[1] = 1;
    p[2] = 1;
    p[4] = 24;
    assert_int_equal(one_handle(0x16D, h, p, 7), 0);

    /* PolicyTicket: timeout 8 octets, cpHashA, policyRef, authName, ticket */
    memset(p, 0, sizeof(p));
    p[1] = 8;
    p[9] = 1;           /* timeout 1 */
    /* cpHashA, policyRef, authName empty: p[10..15] = 0 */
    p[16] = 0x80;       /* TPM_ST_AUTH_SIGNED */
    p[17] = 0x25;
    p[18] = 0x40;       /* owner */
    p[21] = 0x01;
    p[23] = 32;         /* a 32-octet digest of zeros */
    assert_int_equal(one_handle(0x172, h, p, 24 + 32), 0x5E0); /* TPM_RC_TICKET + P5 */
    p[17] = 0x24;       /* TPM_ST_AUTH_SECRET - 1: not an auth ticket */
    assert_int_equal(one_handle(0x172, h, p, 24 + 32), 0x5D7); /* TPM_RC_TAG + P5 */
    p[17] = 0x25;
    p[1] = 4;           /* a 4-octet timeout */
    memmove(p + 6, p + 10, 24 + 32 - 10);
    assert_int_equal(one_handle(0x172, h, p, 20 + 32), 0x1D5); /* TPM_RC_SIZE + P1 */
    t = start(3, NULL);
    assert_int_equal(one_handle(0x172, t, p, 20 + 32), 0x182); /* trial: TPM_RC_ATTRIBUTES + H1 */
}

/* The new policy state travels in the session context. */
static void context_keeps_deferred_state(void **state)
{
    uint8_t ctx[1024];
    size_t ctx_n;
    uint32_t h;
    frame f;
    (void)state;
    h = start(1, NULL);
    assert_int_equal(u8_param(0x16F, h, 0x01), 0);
    assert_int_equal(u8_param(0x18F, h, 1), 0);
    assert_int_equal(digest_param(0x170, h, 3, 32), 0);
    assert_int_equal(one_handle(0x187, h, NULL, 0), 0);
    assert_int_equal(one_handle(0x162, h, NULL, 0), 0); /* ContextSave */
    ctx_n = rsp_n - 10;
    memcpy(ctx, rsp + 10, ctx_n);
    f_cmd(&f, 0x8001, 0x161);
    f_bytes(&f, ctx, ctx_n);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0);
    assert_int_equal(u8_param(0x16F, h, 0x02), 0x1CD);      /* locality 0 came back */
    assert_int_equal(u8_param(0x18F, h, 0), 0x1C4);         /* writtenSet YES came back */
    assert_int_equal(digest_param(0x16E, h, 3, 32), 0x151); /* nameHash came back */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(digests_follow_the_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(trial_never_authorizes_and_pcrs_have_no_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(policy_secret_nonce_and_expiration, setup, teardown),
        cmocka_unit_test_setup_teardown(session_context_loads_once, setup, teardown),
        cmocka_unit_test_setup_teardown(deferred_assertions, setup, teardown),
        cmocka_unit_test_setup_teardown(counter_timer_and_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(context_keeps_deferred_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
