/* Start-up and shut-down (Part 1 §12.2), the stored state, and the store's
 * refusal of damaged state. */
#include "helpers.h"

static uint8_t rsp[VT_MAX_RESPONSE_SIZE];

static uint32_t startup(vt_engine *e, uint16_t su)
{
    frame f;
    f_cmd(&f, 0x8001, 0x144);
    f_u16(&f, su);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static uint32_t shutdown_(vt_engine *e, uint16_t su)
{
    frame f;
    f_cmd(&f, 0x8001, 0x145);
    f_u16(&f, su);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static void extend(vt_engine *e, uint32_t pcr, uint8_t fill)
{
    frame f;
    uint8_t d[32];
    memset(d, fill, sizeof(d));
    f_cmd(&f, 0x8002, 0x182);
    f_u32(&f, pcr);
    f_pw_session(&f, "");
    f_u32(&f, 1);
    f_u16(&f, 0x000B);
    f_bytes(&f, d, 32);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
}

/* sha256 value of one PCR */
static void read_pcr(vt_engine *e, uint32_t pcr, uint8_t out[32])
{
    frame f;
    size_t n;
    f_cmd(&f, 0x8001, 0x17E);
    f_u32(&f, 1);
    f_u16(&f, 0x000B);
    f_u8(&f, 3);
    f_u8(&f, (uint8_t)(pcr < 8 ? 1u << pcr : 0));
    f_u8(&f, (uint8_t)(pcr >= 8 && pcr < 16 ? 1u << (pcr - 8) : 0));
    f_u8(&f, (uint8_t)(pcr >= 16 ? 1u << (pcr - 16) : 0));
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, &n), 0);
    memcpy(out, rsp + n - 32, 32);
}

static void read_counts(vt_engine *e, uint32_t *reset, uint32_t *restart)
{
    frame f;
    size_t n;
    f_cmd(&f, 0x8001, 0x181);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, &n), 0);
    /* time(8) clock(8) resetCount(4) restartCount(4) safe(1) */
    *reset = be32_at(rsp + 10 + 16);
    *restart = be32_at(rsp + 10 + 20);
}

static vt_engine *reopen(test_platform *t, vt_engine *e)
{
    vt_platform p = tp_platform(t);
    vt_engine *n = NULL;
    vt_engine_free(e);
    assert_int_equal(vt_engine_new(&p, &n), VT_OK);
    vt_engine_power_on(n);
    return n;
}

static void resume_keeps_saved_pcrs(void **state)
{
    static test_platform t;
    vt_engine *e;
    uint8_t zero[32] = { 0 }, v5[32], v16[32], now[32];
    uint32_t reset, restart;
    (void)state;
    memset(&t, 0, sizeof(t));
    e = started_engine(&t);
    extend(e, 5, 0xAA);
    extend(e, 16, 0xBB);
    read_pcr(e, 5, v5);
    read_pcr(e, 16, v16);
    assert_int_equal(shutdown_(e, 1), 0);
    e = reopen(&t, e); /* power cycle: a new process on the same store */
    assert_int_equal(startup(e, 1), 0);
    read_pcr(e, 5, now);
    assert_memory_equal(now, v5, 32);    /* PCR 0-15 are saved */
    read_pcr(e, 16, now);
    assert_memory_equal(now, zero, 32);  /* PCR 16 is not */
    read_counts(e, &reset, &restart);
    assert_int_equal(reset, 1);
    assert_int_equal(restart, 1);
    /* the saved state is used once: the next Startup(STATE) is refused */
    e = reopen(&t, e);
    assert_int_equal(startup(e, 1), 0x1C4);
    assert_int_equal(startup(e, 0), 0);
    read_pcr(e, 5, now);
    assert_memory_equal(now, zero, 32);
    read_counts(e, &reset, &restart);
    assert_int_equal(reset, 2);
    assert_int_equal(restart, 0);
    vt_engine_free(e);
}

static void restart_resets_pcrs(void **state)
{
    static test_platform t;
    vt_engine *e;
    uint8_t zero[32] = { 0 }, now[32];
    uint32_t reset, restart;
    (void)state;
    memset(&t, 0, sizeof(t));
    e = started_engine(&t);
    extend(e, 5, 0xAA);
    assert_int_equal(shutdown_(e, 1), 0);
    e = reopen(&t, e);
    assert_int_equal(startup(e, 0), 0); /* TPM Restart */
    read_pcr(e, 5, now);
    assert_memory_equal(now, zero, 32);
    read_counts(e, &reset, &restart);
    assert_int_equal(reset, 1);
    assert_int_equal(restart, 1);
    vt_engine_free(e);
}

static void drtm_pcrs_start_at_ones(void **state)
{
    static test_platform t;
    vt_engine *e;
    uint8_t ones[32], now[32];
    (void)state;
    memset(&t, 0, sizeof(t));
    memset(ones, 0xFF, sizeof(ones));
    e = started_engine(&t);
    read_pcr(e, 17, now);
    assert_memory_equal(now, ones, 32);
    vt_engine_hash_start(e);
    vt_engine_hash_data(e, (const uint8_t *)"abc", 3);
    vt_engine_hash_end(e);
    read_pcr(e, 17, now);
    assert_memory_not_equal(now, ones, 32);
    vt_engine_free(e);
}

static void damaged_state_is_refused(void **state)
{
    static test_platform t;
    vt_engine *e;
    vt_platform p;
    (void)state;
    memset(&t, 0, sizeof(t));
    e = started_engine(&t);
    vt_engine_free(e);
    p = tp_platform(&t);
    t.store[40] ^= 0x01;
    assert_int_equal(vt_engine_new(&p, &e), VT_ERR_STATE_CORRUPT);
    t.store[40] ^= 0x01;
    t.store_len -= 1;
    assert_int_equal(vt_engine_new(&p, &e), VT_ERR_STATE_CORRUPT);
    t.store_len += 1;
    assert_int_equal(vt_engine_new(&p, &e), VT_OK);
    vt_engine_free(e);
}

static void clock_survives_and_never_runs_back(void **state)
{
    static test_platform t;
    vt_engine *e;
    frame f;
    size_t n;
    uint64_t c1, c2;
    (void)state;
    memset(&t, 0, sizeof(t));
    e = started_engine(&t);
    t.now_ms += 1000;
    f_cmd(&f, 0x8001, 0x181);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, &n), 0);
    c1 = (uint64_t)be32_at(rsp + 18) << 32 | be32_at(rsp + 22);
    /* a crash: no orderly save; the monotonic clock of the new process
     * starts from zero again */
    {
        vt_platform p = tp_platform(&t);
        vt_engine *n2 = NULL;
        t.now_ms = 0;
        assert_int_equal(vt_engine_new(&p, &n2), VT_OK);
        vt_engine_power_on(n2);
        assert_int_equal(startup(n2, 0), 0);
        assert_int_equal(run(n2, &f, rsp, &n), 0);
        c2 = (uint64_t)be32_at(rsp + 18) << 32 | be32_at(rsp + 22);
        assert_true(c2 >= c1);
        vt_engine_free(n2);
    }
    vt_engine_free(e); /* the crashed engine: freeing does not save */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_keeps_saved_pcrs),
        cmocka_unit_test(restart_resets_pcrs),
        cmocka_unit_test(drtm_pcrs_start_at_ones),
        cmocka_unit_test(damaged_state_is_refused),
        cmocka_unit_test(clock_survives_and_never_runs_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
