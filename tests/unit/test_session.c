/* HMAC sessions: StartAuthSession and HMAC authorization checked against an
 * independent computation of cpHash / rpHash and the HMACs (OpenSSL). */
#include "helpers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

static test_platform tp;
static vt_engine *E;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];

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

typedef struct {
    uint32_t handle;
    uint8_t nonce_tpm[32];
} session;

static uint32_t start_session(session *s, const uint8_t nonce_caller[16], uint32_t bind)
{
    frame f;
    size_t n;
    uint32_t rc;
    f_cmd(&f, 0x8001, 0x176);
    f_u32(&f, 0x40000007); /* tpmKey NULL */
    f_u32(&f, bind);
    f_2b(&f, nonce_caller, 16);
    f_u16(&f, 0);          /* no salt */
    f_u8(&f, 0x00);        /* HMAC session */
    f_u16(&f, 0x0010);     /* symmetric NULL */
    f_u16(&f, 0x000B);     /* SHA-256 */
    f_done(&f);
    rc = run(E, &f, rsp, &n);
    if (rc)
        return rc;
    s->handle = be32_at(rsp + 10);
    assert_int_equal(rsp[14] << 8 | rsp[15], 32);
    memcpy(s->nonce_tpm, rsp + 16, 32);
    return 0;
}

/* PCR_Extend(16) authorized by session s with the given HMAC key. */
static uint32_t extend_with(session *s, const uint8_t *key, size_t key_len, uint8_t attrs, bool corrupt)
{
    static const uint8_t digest[32] = { 1, 2, 3 };
    uint8_t params[4 + 2 + 32], cp[32], mac[32], nonce[16], buf[256];
    uint8_t cc_name[8] = { 0, 0, 0x01, 0x82, 0, 0, 0, 16 };
    unsigned int len;
    size_t n, off = 0;
    frame f;
    uint32_t rc;

    memset(nonce, 0x5A, sizeof(nonce));
    params[0] = 0; params[1] = 0; params[2] = 0; params[3] = 1;
    params[4] = 0; params[5] = 0x0B;
    memcpy(params + 6, digest, 32);
    /* cpHash = SHA256(cc || name(PCR16) || params) */
    memcpy(buf, cc_name, 8);
    memcpy(buf + 8, params, sizeof(params));
    EVP_Digest(buf, 8 + sizeof(params), cp, &len, EVP_sha256(), NULL);
    /* HMAC(key, cpHash || nonceCaller || nonceTPM || attrs) */
    memcpy(buf, cp, 32); off = 32;
    memcpy(buf + off, nonce, 16); off += 16;
    memcpy(buf + off, s->nonce_tpm, 32); off += 32;
    buf[off++] = attrs;
    HMAC(EVP_sha256(), key_len ? key : (const uint8_t *)"", (int)key_len, buf, off, mac, &len);
    if (corrupt)
        mac[0] ^= 1;

    f_cmd(&f, 0x8002, 0x182);
    f_u32(&f, 16);
    f_u32(&f, 4 + 2 + 16 + 1 + 2 + 32);
    f_u32(&f, s->handle);
    f_2b(&f, nonce, 16);
    f_u8(&f, attrs);
    f_2b(&f, mac, 32);
    f_bytes(&f, params, sizeof(params));
    f_done(&f);
    rc = run(E, &f, rsp, &n);
    if (rc)
        return rc;
    /* Check the response HMAC: rpHash = SHA256(rc || cc || params(empty)). */
    {
        uint8_t rp_in[8] = { 0, 0, 0, 0, 0, 0, 0x01, 0x82 }, rp[32], expect[32];
        const uint8_t *sess = rsp + 10 + 4; /* after parameterSize (0) */
        assert_int_equal(be32_at(rsp + 10), 0);
        assert_int_equal(sess[0] << 8 | sess[1], 32);
        memcpy(s->nonce_tpm, sess + 2, 32);
        EVP_Digest(rp_in, 8, rp, &len, EVP_sha256(), NULL);
        off = 0;
        memcpy(buf, rp, 32); off = 32;
        memcpy(buf + off, s->nonce_tpm, 32); off += 32;
        memcpy(buf + off, nonce, 16); off += 16;
        buf[off++] = sess[34];
        HMAC(EVP_sha256(), key_len ? key : (const uint8_t *)"", (int)key_len, buf, off, expect, &len);
        assert_int_equal(sess[35] << 8 | sess[36], 32);
        assert_memory_equal(sess + 37, expect, 32);
    }
    return 0;
}

static void unbound_session_authorizes_and_rolls_nonces(void **state)
{
    uint8_t nc[16] = { 9 };
    session s;
    (void)state;
    assert_int_equal(start_session(&s, nc, 0x40000007), 0);
    assert_int_equal(s.handle >> 24, 0x02);
    /* empty sessionKey, empty PCR authValue: the HMAC key is empty */
    assert_int_equal(extend_with(&s, NULL, 0, 0x01, false), 0);
    assert_int_equal(extend_with(&s, NULL, 0, 0x01, false), 0); /* new nonceTPM used */
    /* continueSession clear: the session is flushed after this use */
    assert_int_equal(extend_with(&s, NULL, 0, 0x00, false), 0);
    assert_int_equal(extend_with(&s, NULL, 0, 0x01, false), 0x918); /* TPM_RC_REFERENCE_S0 */
}

static void bad_hmac_is_refused(void **state)
{
    uint8_t nc[16] = { 9 };
    session s;
    (void)state;
    assert_int_equal(start_session(&s, nc, 0x40000007), 0);
    assert_int_equal(extend_with(&s, NULL, 0, 0x01, true), 0x9A2); /* TPM_RC_BAD_AUTH + S1 */
    /* the session survives and the right HMAC still works */
    assert_int_equal(extend_with(&s, NULL, 0, 0x01, false), 0);
}

static void nonce_caller_size_rules(void **state)
{
    frame f;
    uint8_t nc[65] = { 0 };
    (void)state;
    f_cmd(&f, 0x8001, 0x176);
    f_u32(&f, 0x40000007);
    f_u32(&f, 0x40000007);
    f_2b(&f, nc, 8); /* below 16 */
    f_u16(&f, 0);
    f_u8(&f, 0);
    f_u16(&f, 0x0010);
    f_u16(&f, 0x000B);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0x1D5); /* TPM_RC_SIZE + P1 */
    f_cmd(&f, 0x8001, 0x176);
    f_u32(&f, 0x40000007);
    f_u32(&f, 0x40000007);
    f_2b(&f, nc, 16);
    f_u16(&f, 0);
    f_u8(&f, 7); /* not a session type */
    f_u16(&f, 0x0010);
    f_u16(&f, 0x000B);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0x3C4); /* TPM_RC_VALUE + P3 */
}

static void session_table_fills_up(void **state)
{
    uint8_t nc[16] = { 1 };
    session s;
    int i;
    (void)state;
    for (i = 0; i < 8; i++)
        assert_int_equal(start_session(&s, nc, 0x40000007), 0);
    assert_int_equal(start_session(&s, nc, 0x40000007), 0x903); /* TPM_RC_SESSION_MEMORY */
    /* FlushContext frees one */
    {
        frame f;
        f_cmd(&f, 0x8001, 0x165);
        f_u32(&f, s.handle);
        f_done(&f);
        assert_int_equal(run(E, &f, rsp, NULL), 0);
        f_cmd(&f, 0x8001, 0x165);
        f_u32(&f, s.handle);
        f_done(&f);
        assert_int_equal(run(E, &f, rsp, NULL), 0x1CB); /* TPM_RC_HANDLE + P1 */
    }
}

/* The same session twice in one authorization area is refused: both uses
 * would answer with their own new nonceTPM (found by fuzz_engine). */
static void same_session_twice_is_refused(void **state)
{
    uint8_t nc[16] = { 3 }, mac[32] = { 0 };
    session s;
    frame f;
    int k;
    uint32_t seq;
    (void)state;
    f_cmd(&f, 0x8001, 0x186); /* HashSequenceStart: an event sequence */
    f_u16(&f, 0);
    f_u16(&f, 0x0010);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0);
    seq = be32_at(rsp + 10);
    assert_int_equal(start_session(&s, nc, 0x40000007), 0);
    f_cmd(&f, 0x8002, 0x185); /* EventSequenceComplete: two auth handles */
    f_u32(&f, 16);
    f_u32(&f, seq);
    f_u32(&f, 2 * (4 + 2 + 16 + 1 + 2 + 32));
    for (k = 0; k < 2; k++) {
        f_u32(&f, s.handle);
        f_2b(&f, nc, 16);
        f_u8(&f, 1);
        f_2b(&f, mac, 32);
    }
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, NULL), 0xA8B); /* TPM_RC_HANDLE + S2 */
}

/* nonceTPM values come from a pool drawn ahead from the DRBG
 * (vt_random_nonce): across several refills no nonce repeats, none is
 * zero, and none is a slice of another. */
static void nonces_never_repeat(void **state)
{
    static const uint8_t zero[32];
    uint8_t seen[40][32], nc[16] = { 7 };
    unsigned i, j;

    (void)state;
    for (i = 0; i < 40; i++) {
        session s;
        frame f;
        size_t n;
        assert_int_equal(start_session(&s, nc, 0x40000007), 0);
        memcpy(seen[i], s.nonce_tpm, 32);
        assert_memory_not_equal(seen[i], zero, 32);
        for (j = 0; j < i; j++) {
            assert_memory_not_equal(seen[i], seen[j], 32);
            assert_memory_not_equal(seen[i], seen[j] + 16, 16);
        }
        f_cmd(&f, 0x8001, 0x165); /* FlushContext */
        f_u32(&f, s.handle);
        f_done(&f);
        assert_int_equal(run(E, &f, rsp, &n), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unbound_session_authorizes_and_rolls_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_hmac_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(nonce_caller_size_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(session_table_fills_up, setup, teardown),
        cmocka_unit_test_setup_teardown(same_session_twice_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(nonces_never_repeat, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
