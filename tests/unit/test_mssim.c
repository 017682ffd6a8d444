/* The mssim framing: partial frames, platform signals, oversized commands,
 * the handshake and session end — without sockets. */
#include "helpers.h"
#include "server/mssim.h"

static test_platform tp;
static vt_engine *E;
static vt_mssim_conn C;
static uint8_t out[VT_MSSIM_OUT_MAX];

static int setup(void **state)
{
    vt_platform p;
    (void)state;
    memset(&tp, 0, sizeof(tp));
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new(&p, &E), VT_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_engine_free(E);
    return 0;
}

static void feed(const uint8_t *b, size_t n)
{
    memcpy(C.in + C.in_len, b, n);
    C.in_len += n;
}

static void feed_u32(uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    feed(b, 4);
}

static void platform_signals_are_acked(void **state)
{
    size_t n;
    (void)state;
    vt_mssim_init(&C, true);
    assert_false(vt_engine_is_powered(E));
    feed_u32(1); /* POWER_ON */
    feed_u32(11); /* NV_ON */
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_int_equal(n, 4);
    assert_int_equal(be32_at(out), 0);
    assert_true(vt_engine_is_powered(E));
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_false(vt_mssim_step(&C, E, out, &n)); /* nothing buffered */
    feed_u32(99); /* unknown signal: the connection is closed */
    assert_false(vt_mssim_step(&C, E, out, &n));
    assert_true(C.close);
}

static void command_in_pieces(void **state)
{
    uint8_t frame_[9 + 12] = { 0, 0, 0, 8, 0, 0, 0, 0, 12,
                               0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
    size_t n, i;
    (void)state;
    vt_engine_power_on(E);
    vt_mssim_init(&C, false);
    for (i = 0; i < sizeof(frame_) - 1; i++) {
        feed(frame_ + i, 1);
        assert_false(vt_mssim_step(&C, E, out, &n));
    }
    feed(frame_ + i, 1);
    assert_true(vt_mssim_step(&C, E, out, &n));
    /* u32 size, 10-byte response, u32 0 */
    assert_int_equal(n, 4 + 10 + 4);
    assert_int_equal(be32_at(out), 10);
    assert_int_equal(be32_at(out + 4 + 6), 0); /* Startup succeeded */
    assert_int_equal(be32_at(out + 14), 0);
    assert_int_equal(C.in_len, 0);
}

static void oversized_command_is_answered_and_skipped(void **state)
{
    static uint8_t junk[5000];
    size_t n;
    (void)state;
    vt_engine_power_on(E);
    vt_mssim_init(&C, false);
    feed_u32(8);
    feed((const uint8_t *)"\0", 1);
    feed_u32(sizeof(junk));
    feed(junk, 1000);
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_int_equal(be32_at(out + 4 + 6), 0x142); /* TPM_RC_COMMAND_SIZE */
    /* the rest of the oversized command is skipped as it arrives */
    C.in_len = 0;
    feed(junk, 4000);
    assert_false(vt_mssim_step(&C, E, out, &n));
    assert_int_equal(C.discard, 0);
    feed_u32(15); /* a handshake after it is understood */
    feed_u32(1);
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_int_equal(n, 12);
    assert_int_equal(be32_at(out), 1);
}

static void session_end_and_stop(void **state)
{
    size_t n;
    (void)state;
    vt_mssim_init(&C, false);
    feed_u32(20);
    assert_false(vt_mssim_step(&C, E, out, &n));
    assert_true(C.close);
    vt_mssim_init(&C, true);
    feed_u32(21);
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_true(C.stop);
}

static void hash_data_signal(void **state)
{
    size_t n;
    (void)state;
    vt_engine_power_on(E);
    vt_mssim_init(&C, true);
    feed_u32(5);
    feed_u32(6);
    feed_u32(3);
    feed((const uint8_t *)"abc", 3);
    feed_u32(7);
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_true(vt_mssim_step(&C, E, out, &n));
    assert_int_equal(C.in_len, 0);
    /* a HASH_DATA size that cannot fit closes the connection */
    feed_u32(6);
    feed_u32(0xFFFFFFFF);
    assert_false(vt_mssim_step(&C, E, out, &n));
    assert_true(C.close);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(platform_signals_are_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(command_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_command_is_answered_and_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(session_end_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(hash_data_signal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
