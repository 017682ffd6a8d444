/* TPM Resume keeps the hierarchy enables that TPM Reset and TPM Restart
 * set (Part 3 §9.3.1): Shutdown(STATE) with shEnable/ehEnable/phEnableNV
 * CLEAR, a power cycle, Startup(STATE): they stay CLEAR and phEnable is SET;
 * Startup(CLEAR) instead sets them all. */
#include "helpers.h"
#include "engine/engine_internal.h"

#define TPM_RH_OWNER 0x40000001u
#define TPM_RH_ENDORSEMENT 0x4000000Bu
#define TPM_RH_PLATFORM 0x4000000Cu
#define TPM_RH_PLATFORM_NV 0x4000000Du
#define TPM_PT_STARTUP_CLEAR 0x00000201u
#define TPM_RC_HIERARCHY 0x085u

static uint8_t rsp[VT_MAX_RESPONSE_SIZE];

static uint32_t su_cmd(vt_engine *e, uint32_t cc, uint16_t su)
{
    frame f;
    f_cmd(&f, 0x8001, cc);
    f_u16(&f, su);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static uint32_t hierarchy_control(vt_engine *e, uint32_t auth, uint32_t enable, uint8_t state)
{
    frame f;
    f_cmd(&f, 0x8002, 0x121);
    f_u32(&f, auth);
    f_pw_session(&f, "");
    f_u32(&f, enable);
    f_u8(&f, state);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

/* TPMA_STARTUP_CLEAR from GetCapability(TPM_PROPERTIES, TPM_PT_STARTUP_CLEAR). */
static uint32_t startup_clear(vt_engine *e)
{
    frame f;
    size_t n;
    f_cmd(&f, 0x8001, 0x17A);
    f_u32(&f, 6); /* TPM_CAP_TPM_PROPERTIES */
    f_u32(&f, TPM_PT_STARTUP_CLEAR);
    f_u32(&f, 1);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, &n), 0);
    /* moreData(1) capability(4) count(4) property(4) value(4) */
    assert_int_equal(n, 10 + 1 + 4 + 4 + 8);
    assert_int_equal(be32_at(rsp + 10 + 9), TPM_PT_STARTUP_CLEAR);
    return be32_at(rsp + 10 + 13);
}

/* CreatePrimary of a small keyed-hash object under `h`: its response code. */
static uint32_t create_primary(vt_engine *e, uint32_t h)
{
    frame f;
    f_cmd(&f, 0x8002, 0x131);
    f_u32(&f, h);
    f_pw_session(&f, "");
    f_u16(&f, 4); /* inSensitive: empty userAuth, empty data */
    f_u16(&f, 0);
    f_u16(&f, 0);
    f_u16(&f, 16); /* inPublic: KEYEDHASH, SHA256, sign|userWithAuth|fixed*, no policy, HMAC-SHA256, no unique */
    f_u16(&f, 0x0008);
    f_u16(&f, 0x000B);
    f_u32(&f, 0x00040072);
    f_u16(&f, 0);
    f_u16(&f, 0x0005);
    f_u16(&f, 0x000B);
    f_u16(&f, 0);
    f_u16(&f, 0); /* outsideInfo */
    f_u32(&f, 0); /* creationPCR */
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static void power_cycle(vt_engine *e)
{
    vt_engine_power_off(e);
    vt_engine_power_on(e);
}

static void resume_keeps_enables(void **state)
{
    test_platform t = { 0 };
    vt_engine *e = started_engine(&t);
    uint32_t a;

    (void)state;
    assert_int_equal(startup_clear(e) & 0xF, 0xF); /* all enabled */
    assert_int_equal(hierarchy_control(e, TPM_RH_PLATFORM, TPM_RH_OWNER, 0), 0);
    assert_int_equal(hierarchy_control(e, TPM_RH_PLATFORM, TPM_RH_ENDORSEMENT, 0), 0);
    assert_int_equal(hierarchy_control(e, TPM_RH_PLATFORM, TPM_RH_PLATFORM_NV, 0), 0);
    assert_int_equal(startup_clear(e) & 0xF, 0x1);

    assert_int_equal(su_cmd(e, 0x145, 1), 0); /* Shutdown(STATE) */
    power_cycle(e);
    assert_int_equal(su_cmd(e, 0x144, 1), 0); /* Startup(STATE): TPM Resume */
    a = startup_clear(e);
    assert_int_equal(a & 0x1, 0x1);  /* phEnable SET by any Startup */
    assert_int_equal(a & 0xE, 0);    /* shEnable, ehEnable, phEnableNV kept CLEAR */
    assert_int_equal(create_primary(e, TPM_RH_OWNER) & 0xFFF, TPM_RC_HIERARCHY + 0x100);
    assert_int_equal(create_primary(e, TPM_RH_ENDORSEMENT) & 0xFFF, TPM_RC_HIERARCHY + 0x100);

    /* TPM Restart: Shutdown(STATE) + Startup(CLEAR) enables them again. */
    assert_int_equal(su_cmd(e, 0x145, 1), 0);
    power_cycle(e);
    assert_int_equal(su_cmd(e, 0x144, 0), 0);
    assert_int_equal(startup_clear(e) & 0xF, 0xF);
    assert_int_equal(create_primary(e, TPM_RH_OWNER), 0);
    vt_engine_free(e);
}

static void resume_with_enables_set(void **state)
{
    test_platform t = { 0 };
    vt_engine *e = started_engine(&t);

    (void)state;
    /* Only shEnable cleared: the others come back SET. */
    assert_int_equal(hierarchy_control(e, TPM_RH_PLATFORM, TPM_RH_OWNER, 0), 0);
    assert_int_equal(su_cmd(e, 0x145, 1), 0);
    power_cycle(e);
    assert_int_equal(su_cmd(e, 0x144, 1), 0);
    assert_int_equal(startup_clear(e) & 0xF, 0xD);
    /* TPM Reset (Shutdown(CLEAR) + Startup(CLEAR)) sets shEnable. */
    assert_int_equal(su_cmd(e, 0x145, 0), 0);
    power_cycle(e);
    assert_int_equal(su_cmd(e, 0x144, 0), 0);
    assert_int_equal(startup_clear(e) & 0xF, 0xF);
    vt_engine_free(e);
}

/* platformAuth and platformPolicy: TPM Resume keeps them (saved in the
 * durable state at Shutdown(STATE)), TPM Restart empties them (Part 1
 * §10.3). */
static void resume_keeps_platform_auth(void **state)
{
    test_platform t = { 0 };
    vt_engine *e = started_engine(&t);
    static const uint8_t pw[5] = { 'p', 'l', 'a', 't', 'w' };

    (void)state;
    memcpy(e->v.platform_auth, pw, sizeof(pw));
    e->v.platform_auth_len = sizeof(pw);
    e->v.platform_policy.alg = TPM2_ALG_SHA256;
    e->v.platform_policy.len = 32;
    memset(e->v.platform_policy.digest, 0xA5, 32);

    assert_int_equal(su_cmd(e, 0x145, 1), 0); /* Shutdown(STATE) */
    power_cycle(e);
    assert_int_equal(e->v.platform_auth_len, 0); /* volatile: gone at power-off */
    assert_int_equal(su_cmd(e, 0x144, 1), 0); /* Startup(STATE): TPM Resume */
    assert_int_equal(e->v.platform_auth_len, sizeof(pw));
    assert_memory_equal(e->v.platform_auth, pw, sizeof(pw));
    assert_int_equal(e->v.platform_policy.alg, TPM2_ALG_SHA256);
    assert_int_equal(e->v.platform_policy.len, 32);
    assert_int_equal(e->v.platform_policy.digest[31], 0xA5);

    /* TPM Restart: Shutdown(STATE) + Startup(CLEAR) */
    assert_int_equal(su_cmd(e, 0x145, 1), 0);
    power_cycle(e);
    assert_int_equal(su_cmd(e, 0x144, 0), 0);
    assert_int_equal(e->v.platform_auth_len, 0);
    assert_int_equal(e->v.platform_policy.alg, TPM2_ALG_NULL);
    assert_int_equal(e->v.platform_policy.len, 0);
    vt_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_keeps_enables),
        cmocka_unit_test(resume_with_enables_set),
        cmocka_unit_test(resume_keeps_platform_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
