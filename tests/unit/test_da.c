/* Dictionary-attack protection (da.c; TPM 2.0 Part 1 §19.8, Part 3 §25)
 * with a settable clock: counting, lockout, self-healing per recoveryTime,
 * lockoutAuth and lockoutRecovery, recoveryTime 0, durability of a failure
 * (committed before the answer; counted once more after a non-orderly
 * shutdown) and the answer when it cannot be made durable. */
#include "helpers.h"

#include "engine/engine_internal.h"

#define ST_NO 0x8001
#define ST_S 0x8002
#define OWNER 0x40000001u
#define LOCKOUT 0x4000000Au
#define NV_IX 0x01000010u
#define RC_AUTH_FAIL_S1 0x98Eu
#define RC_LOCKOUT 0x921u
#define RC_NV_UNAVAILABLE 0x923u
#define RC_NV_UNINITIALIZED 0x14Au

static test_platform tp;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];

/* DictionaryAttackParameters(maxTries, recoveryTime, lockoutRecovery). */
static uint32_t da_params(vt_engine *e, const char *pw, uint32_t max, uint32_t rec, uint32_t lrec)
{
    frame f;
    f_cmd(&f, ST_S, 0x13A);
    f_u32(&f, LOCKOUT);
    f_pw_session(&f, pw);
    f_u32(&f, max);
    f_u32(&f, rec);
    f_u32(&f, lrec);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static uint32_t da_reset(vt_engine *e, const char *pw)
{
    frame f;
    f_cmd(&f, ST_S, 0x139);
    f_u32(&f, LOCKOUT);
    f_pw_session(&f, pw);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

/* An ordinary (DA-protected) NV index with authValue "pw", never written:
 * NV_Read with the right password answers TPM_RC_NV_UNINITIALIZED. */
static void define_index(vt_engine *e)
{
    frame f;
    f_cmd(&f, ST_S, 0x12A);
    f_u32(&f, OWNER);
    f_pw_session(&f, "");
    f_2b(&f, "pw", 2);
    f_u16(&f, 14);
    f_u32(&f, NV_IX);
    f_u16(&f, 0x000B);
    f_u32(&f, TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE);
    f_u16(&f, 0);
    f_u16(&f, 8);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
}

static uint32_t nv_read(vt_engine *e, const char *pw)
{
    frame f;
    f_cmd(&f, ST_S, 0x14E);
    f_u32(&f, NV_IX);
    f_u32(&f, NV_IX);
    f_pw_session(&f, pw);
    f_u16(&f, 8);
    f_u16(&f, 0);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static uint32_t failed_tries(vt_engine *e)
{
    vt_da_update(e);
    return e->p.da.failed_tries;
}

static vt_engine *fresh(void)
{
    memset(&tp, 0, sizeof(tp));
    tp.now_ms = 1000;
    return started_engine(&tp);
}

static void test_defaults(void **state)
{
    vt_engine *e = fresh();
    (void)state;
    vt_da_update(e);
    assert_int_equal(e->p.da.max_tries, 3);
    assert_int_equal(e->p.da.recovery_time, 1000);
    assert_int_equal(e->p.da.lockout_recovery, 1000);
    assert_int_equal(e->p.da.failed_tries, 0);
    vt_engine_free(e);
}

static void test_count_lockout_heal(void **state)
{
    vt_engine *e = fresh();
    unsigned i;
    (void)state;

    assert_int_equal(da_params(e, "", 3, 10, 5), 0);
    define_index(e);
    assert_int_equal(nv_read(e, "pw"), RC_NV_UNINITIALIZED);
    for (i = 1; i <= 3; i++) {
        assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
        assert_int_equal(failed_tries(e), i);
        tp.now_ms += 1000;
    }
    assert_true(vt_da_in_lockout(e));
    /* in lockout: right and wrong answers alike, nothing counted */
    assert_int_equal(nv_read(e, "pw"), RC_LOCKOUT);
    assert_int_equal(nv_read(e, "bad"), RC_LOCKOUT);
    assert_int_equal(failed_tries(e), 3);
    /* new parameters leave failedTries and its timer alone */
    assert_int_equal(da_params(e, "", 3, 10, 5), 0);
    assert_int_equal(failed_tries(e), 3);
    /* 10 s after the last failure (1 s has passed): one is forgiven */
    tp.now_ms += 8999;
    assert_int_equal(failed_tries(e), 3);
    tp.now_ms += 1;
    assert_int_equal(failed_tries(e), 2);
    assert_false(vt_da_in_lockout(e));
    assert_int_equal(nv_read(e, "pw"), RC_NV_UNINITIALIZED);
    /* two more periods: all forgiven, and no further */
    tp.now_ms += 20000;
    assert_int_equal(failed_tries(e), 0);
    tp.now_ms += 100000;
    assert_int_equal(failed_tries(e), 0);
    /* a new failure restarts the period */
    assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
    tp.now_ms += 9999;
    assert_int_equal(failed_tries(e), 1);
    tp.now_ms += 1;
    assert_int_equal(failed_tries(e), 0);
    vt_engine_free(e);
}

static void test_lockout_auth(void **state)
{
    vt_engine *e = fresh();
    (void)state;

    assert_int_equal(da_params(e, "", 3, 10, 5), 0);
    define_index(e);
    assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
    assert_int_equal(da_reset(e, "bad"), RC_AUTH_FAIL_S1);
    /* a lockoutAuth failure locks lockoutAuth, not the others */
    assert_int_equal(failed_tries(e), 1);
    assert_int_equal(da_reset(e, ""), RC_LOCKOUT);
    assert_int_equal(nv_read(e, "pw"), RC_NV_UNINITIALIZED);
    tp.now_ms += 4999;
    assert_int_equal(da_reset(e, ""), RC_LOCKOUT);
    tp.now_ms += 1;
    assert_int_equal(da_reset(e, ""), 0);
    assert_int_equal(failed_tries(e), 0);
    /* lockoutRecovery 0: locked until the next TPM Reset */
    assert_int_equal(da_params(e, "", 3, 10, 0), 0);
    assert_int_equal(da_reset(e, "bad"), RC_AUTH_FAIL_S1);
    tp.now_ms += 1000000;
    assert_int_equal(da_reset(e, ""), RC_LOCKOUT);
    {
        frame f;
        vt_engine_reset(e);
        f_cmd(&f, ST_NO, 0x144);
        f_u16(&f, 0);
        f_done(&f);
        assert_int_equal(run(e, &f, rsp, NULL), 0);
    }
    assert_int_equal(da_reset(e, ""), 0);
    vt_engine_free(e);
}

static void test_recovery_zero(void **state)
{
    vt_engine *e = fresh();
    unsigned i;
    (void)state;

    /* recoveryTime 0: DA protection off (Part 3 §25.3) */
    assert_int_equal(da_params(e, "", 1, 0, 5), 0);
    define_index(e);
    for (i = 0; i < 5; i++)
        assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
    assert_int_equal(failed_tries(e), 0);
    assert_int_equal(nv_read(e, "pw"), RC_NV_UNINITIALIZED);
    vt_engine_free(e);
}

static void test_durable(void **state)
{
    vt_engine *e = fresh(), *e2 = NULL;
    vt_platform p;
    frame f;
    int commits;
    (void)state;

    assert_int_equal(da_params(e, "", 3, 10, 5), 0);
    define_index(e);
    assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
    commits = tp.commits;
    assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
    assert_int_equal(tp.commits, commits + 1); /* committed before the answer */
    /* "power loss" now: a new engine on the stored state; its Startup
     * after no Shutdown counts one more failure, DA having been used */
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new(&p, &e2), VT_OK);
    vt_engine_power_on(e2);
    f_cmd(&f, ST_NO, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e2, &f, rsp, NULL), 0);
    assert_int_equal(failed_tries(e2), 3);
    assert_int_equal(nv_read(e2, "pw"), RC_LOCKOUT);
    vt_engine_free(e2);
    vt_engine_free(e);
}

static void test_commit_fails(void **state)
{
    vt_engine *e = fresh();
    (void)state;

    define_index(e);
    /* "DA in use" (first DA-protected authorization since Startup) cannot
     * be recorded: the value is not even tried */
    tp.fail_commit = true;
    assert_int_equal(nv_read(e, "pw"), RC_NV_UNAVAILABLE);
    tp.fail_commit = false;
    assert_int_equal(nv_read(e, "bad"), RC_AUTH_FAIL_S1);
    /* the failure cannot be made durable: its answer says so, not AUTH_FAIL */
    tp.fail_commit = true;
    assert_int_equal(nv_read(e, "bad"), RC_NV_UNAVAILABLE);
    tp.fail_commit = false;
    vt_engine_free(e);
}

/* A version 4 state (no policies, disableClear, DA fields, command audit:
 * they are the last 324 octets of a version 5 walk) loads with the
 * defaults. */
static void test_state_v4(void **state)
{
    vt_engine *e = fresh();
    static uint8_t blob[1u << 20];
    size_t n, v4;
    (void)state;

    assert_int_equal(da_params(e, "", 7, 11, 13), 0);
    e->p.disable_clear = true;
    n = vt_state_marshal(&e->p, blob, sizeof(blob));
    assert_true(n > 300);
    assert_int_equal(blob[4 + 7], 7); /* u16 version, stored as 64 bits */
    /* the same state read back: the fields are kept */
    assert_int_equal(vt_state_unmarshal(&e->p, blob, n), VT_OK);
    assert_int_equal(e->p.da.max_tries, 7);
    assert_true(e->p.disable_clear);
    /* cut to version 4 */
    /* without the version 7 part (the saved platformAuth, 8 + 64 octets,
     * and platformPolicy, 8 + 8 + 64: integers take 8), the version 6 part (an empty trust
     * store: 46 octets, the three saved hierarchy enables and
     * tpmEstablished: 4) and the version 5 part */
    v4 = n - 32 - 152 - 50 - (3 * (8 + 8 + 64) + 1 + 4 * 8 + 3 + 8 + 32 + 8);
    blob[4 + 7] = 4;
    assert_int_equal(vt_hash(TPM2_ALG_SHA256, blob, v4, blob + v4), 32);
    assert_int_equal(vt_state_unmarshal(&e->p, blob, v4 + 32), VT_OK);
    assert_int_equal(e->p.da.max_tries, 3);
    assert_int_equal(e->p.da.recovery_time, 1000);
    assert_false(e->p.disable_clear);
    assert_int_equal(e->p.owner_policy.len, 0);
    /* version 3 is refused */
    blob[4 + 7] = 3;
    assert_int_equal(vt_hash(TPM2_ALG_SHA256, blob, v4, blob + v4), 32);
    assert_int_equal(vt_state_unmarshal(&e->p, blob, v4 + 32), VT_ERR_STATE_VERSION);
    vt_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_count_lockout_heal),
        cmocka_unit_test(test_lockout_auth),
        cmocka_unit_test(test_recovery_zero),
        cmocka_unit_test(test_durable),
        cmocka_unit_test(test_commit_fails),
        cmocka_unit_test(test_state_v4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
