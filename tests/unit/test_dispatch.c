/* The dispatcher's error paths: each malformed command gets the response
 * code TPM 2.0 Part 3 §5 gives it, with the right handle, parameter or
 * session number. */
#include "helpers.h"

#include <openssl/evp.h>

#define ST_NO 0x8001
#define ST_S 0x8002

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

static uint32_t exec_raw(const uint8_t *b, size_t n)
{
    size_t len = vt_engine_execute(E, 0, b, n, rsp, sizeof(rsp));
    assert_int_equal(len, 10);
    return be32_at(rsp + 6);
}

static void short_header(void **state)
{
    static const uint8_t b[5] = { 0x80, 0x01, 0, 0, 0 };
    (void)state;
    assert_int_equal(exec_raw(b, 5), 0x142); /* TPM_RC_COMMAND_SIZE */
    assert_int_equal(exec_raw(b, 0), 0x142);
}

static void size_field_mismatch(void **state)
{
    frame f;
    (void)state;
    f_cmd(&f, ST_NO, 0x17B);
    f_u16(&f, 8);
    f_done(&f);
    f.b[5]++; /* larger than the bytes */
    assert_int_equal(exec_raw(f.b, f.n), 0x142);
    f.b[5] -= 2; /* smaller than the bytes */
    assert_int_equal(exec_raw(f.b, f.n), 0x142);
}

static void oversized_command(void **state)
{
    static uint8_t big[VT_MAX_COMMAND_SIZE + 1];
    (void)state;
    big[0] = 0x80;
    big[1] = 0x01;
    big[2] = (uint8_t)(sizeof(big) >> 24);
    big[3] = (uint8_t)(sizeof(big) >> 16);
    big[4] = (uint8_t)(sizeof(big) >> 8);
    big[5] = (uint8_t)sizeof(big);
    big[8] = 0x01;
    big[9] = 0x7B;
    assert_int_equal(exec_raw(big, sizeof(big)), 0x142);
}

static void unknown_tag(void **state)
{
    frame f;
    (void)state;
    f_cmd(&f, 0x00C1, 0x17B); /* a TPM 1.2 request tag */
    f_u16(&f, 8);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x01E); /* TPM_RC_BAD_TAG */
    /* answered with TPM_ST_RSP_COMMAND so TPM 1.2 software understands */
    assert_int_equal(rsp[0] << 8 | rsp[1], 0x00C4);
}

static void unknown_command(void **state)
{
    frame f;
    (void)state;
    f_cmd(&f, ST_NO, 0x1FF);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x143); /* TPM_RC_COMMAND_CODE */
    f_cmd(&f, ST_NO, 0x20000FFF); /* vendor range, not implemented */
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x143);
}

static void initialize_rules(void **state)
{
    frame f;
    (void)state;
    /* A second Startup is refused. */
    f_cmd(&f, ST_NO, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x100); /* TPM_RC_INITIALIZE */
    /* After _TPM_Init only Startup is accepted. */
    vt_engine_reset(E);
    f_cmd(&f, ST_NO, 0x17B);
    f_u16(&f, 8);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x100);
    /* Startup(STATE) with no Shutdown(STATE) before: TPM_RC_VALUE + P1. */
    f_cmd(&f, ST_NO, 0x144);
    f_u16(&f, 1);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1C4);
    /* Bad startup type. */
    f_cmd(&f, ST_NO, 0x144);
    f_u16(&f, 7);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1C4);
}

static void missing_handle(void **state)
{
    frame f;
    (void)state;
    f_cmd(&f, ST_S, 0x182); /* PCR_Extend with only two handle bytes */
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x19A); /* TPM_RC_INSUFFICIENT + H1 */
}

static void wrong_handle_type(void **state)
{
    frame f;
    (void)state;
    f_cmd(&f, ST_S, 0x182);
    f_u32(&f, 0x40000001); /* owner is not a PCR */
    f_pw_session(&f, "");
    f_u32(&f, 0);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x184); /* TPM_RC_VALUE + H1 */
    f_cmd(&f, ST_S, 0x182);
    f_u32(&f, 24); /* PCR 24 does not exist */
    f_pw_session(&f, "");
    f_u32(&f, 0);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x184);
    f_cmd(&f, ST_S, 0x15C); /* SequenceUpdate on a handle that is not loaded */
    f_u32(&f, 0x80000005);
    f_pw_session(&f, "");
    f_u16(&f, 0);
    f_done(&f);
    /* A transient handle that is not loaded: TPM_RC_REFERENCE_H0 (a
     * warning, Part 3 §5.6), as a resource manager expects. */
    assert_int_equal(exec_raw(f.b, f.n), 0x910);
    f_cmd(&f, ST_S, 0x15C); /* ... and a persistent one that does not exist */
    f_u32(&f, 0x81000005);
    f_pw_session(&f, "");
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x18B); /* TPM_RC_HANDLE + H1 */
}

static void extend_cmd(frame *f, uint16_t tag)
{
    f_cmd(f, tag, 0x182);
    f_u32(f, 16);
}

static void extend_params(frame *f)
{
    static const uint8_t d[32];
    f_u32(f, 1);
    f_u16(f, 0x000B);
    f_bytes(f, d, 32);
    f_done(f);
}

static void malformed_auth_area(void **state)
{
    frame f;
    (void)state;
    /* No sessions for a command that needs authorization. */
    extend_cmd(&f, ST_NO);
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x125); /* TPM_RC_AUTH_MISSING */
    /* authorizationSize below the smallest session. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 8);
    f_u32(&f, 0x40000009);
    f_u16(&f, 0);
    f_u8(&f, 1);
    f_u8(&f, 0);
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x144); /* TPM_RC_AUTHSIZE */
    /* authorizationSize beyond the command. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 4000);
    f_u32(&f, 0x40000009);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x144);
    /* A session whose fields overrun authorizationSize. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 9);
    f_u32(&f, 0x40000009);
    f_u16(&f, 0);
    f_u8(&f, 1);
    f_u16(&f, 4); /* hmac of 4 bytes that are not in the area */
    f_bytes(&f, "abcd", 4);
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x99A); /* TPM_RC_INSUFFICIENT + S1 */
    /* Reserved session attribute bits. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 9);
    f_u32(&f, 0x40000009);
    f_u16(&f, 0);
    f_u8(&f, 0x09);
    f_u16(&f, 0);
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x9A1); /* TPM_RC_RESERVED_BITS + S1 */
    /* Four sessions. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 36);
    for (int i = 0; i < 4; i++) {
        f_u32(&f, 0x40000009);
        f_u16(&f, 0);
        f_u8(&f, 1);
        f_u16(&f, 0);
    }
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x144);
    /* A session handle that is not loaded. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 9);
    f_u32(&f, 0x02000042);
    f_u16(&f, 0);
    f_u8(&f, 1);
    f_u16(&f, 0);
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x918); /* TPM_RC_REFERENCE_S0 */
    /* Not a session handle at all. */
    extend_cmd(&f, ST_S);
    f_u32(&f, 9);
    f_u32(&f, 0x81000000);
    f_u16(&f, 0);
    f_u8(&f, 1);
    f_u16(&f, 0);
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x984); /* TPM_RC_VALUE + S1 */
    /* Wrong password (the PCR's authValue is empty). */
    extend_cmd(&f, ST_S);
    f_pw_session(&f, "guess");
    extend_params(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x9A2); /* TPM_RC_BAD_AUTH + S1 */
    /* Sessions on a command that allows none. */
    f_cmd(&f, ST_S, 0x165);
    f_pw_session(&f, "");
    f_u32(&f, 0x80000000);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x145); /* TPM_RC_AUTH_CONTEXT */
}

static void oversized_parameters(void **state)
{
    frame f;
    static uint8_t data[2000];
    (void)state;
    /* A trailing byte after the parameters. */
    f_cmd(&f, ST_NO, 0x17B);
    f_u16(&f, 8);
    f_u8(&f, 0);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x095); /* TPM_RC_SIZE */
    /* A TPM2B larger than its type allows. */
    f_cmd(&f, ST_NO, 0x17D);
    f_2b(&f, data, 1025);
    f_u16(&f, 0x000B);
    f_u32(&f, 0x40000007);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1D5); /* TPM_RC_SIZE + P1 */
    /* A TPM2B whose size runs past the command. */
    f_cmd(&f, ST_NO, 0x17D);
    f_u16(&f, 100);
    f_bytes(&f, data, 10);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1DA); /* TPM_RC_INSUFFICIENT + P1 */
    /* Bad hash algorithm in parameter 2, bad hierarchy in parameter 3. */
    f_cmd(&f, ST_NO, 0x17D);
    f_2b(&f, data, 3);
    f_u16(&f, 0x0099);
    f_u32(&f, 0x40000007);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x2C3); /* TPM_RC_HASH + P2 */
    f_cmd(&f, ST_NO, 0x17D);
    f_2b(&f, data, 3);
    f_u16(&f, 0x000B);
    f_u32(&f, 0x40000009);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x3C4); /* TPM_RC_VALUE + P3 */
    /* A missing parameter. */
    f_cmd(&f, ST_NO, 0x17B);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1DA);
    /* Too many digests for PCR_Extend. */
    extend_cmd(&f, ST_S);
    f_pw_session(&f, "");
    f_u32(&f, 5);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1D5);
    /* An unimplemented hash in PCR_Extend. */
    extend_cmd(&f, ST_S);
    f_pw_session(&f, "");
    f_u32(&f, 1);
    f_u16(&f, 0x0012); /* SM3 */
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x1C3); /* TPM_RC_HASH + P1 */
}

static void pcr_extend_known_answer(void **state)
{
    frame f;
    uint8_t d[32], expect[32], buf[64];
    size_t n;
    unsigned int len;
    (void)state;
    memset(d, 0xAB, sizeof(d));
    extend_cmd(&f, ST_S);
    f_pw_session(&f, "");
    f_u32(&f, 1);
    f_u16(&f, 0x000B);
    f_bytes(&f, d, 32);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, &n), 0);
    /* Independent computation: SHA-256(0^32 || d). */
    memset(buf, 0, 32);
    memcpy(buf + 32, d, 32);
    EVP_Digest(buf, 64, expect, &len, EVP_sha256(), NULL);
    /* PCR_Read sha256 PCR 16 */
    f_cmd(&f, ST_NO, 0x17E);
    f_u32(&f, 1);
    f_u16(&f, 0x000B);
    f_u8(&f, 3);
    f_u8(&f, 0);
    f_u8(&f, 0);
    f_u8(&f, 1);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, &n), 0);
    /* header 10, counter 4, selection 4+2+1+3, digests count 4, size 2 */
    assert_int_equal(n, 10 + 4 + 10 + 4 + 2 + 32);
    assert_memory_equal(rsp + n - 32, expect, 32);
}

static void get_random_caps_size(void **state)
{
    frame f;
    size_t n;
    (void)state;
    f_cmd(&f, ST_NO, 0x17B);
    f_u16(&f, 1000);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, &n), 0);
    assert_int_equal(rsp[10] << 8 | rsp[11], 64);
    assert_int_equal(n, 12 + 64);
}

static void command_table_sorted(void **state)
{
    frame f;
    size_t n;
    uint32_t count, i, prev = 0;
    (void)state;
    /* GetCapability(COMMANDS) lists them in order with no duplicates. */
    f_cmd(&f, ST_NO, 0x17A);
    f_u32(&f, 2);
    f_u32(&f, 0);
    f_u32(&f, 256);
    f_done(&f);
    assert_int_equal(run(E, &f, rsp, &n), 0);
    count = be32_at(rsp + 15);
    assert_true(count > 20);
    for (i = 0; i < count; i++) {
        /* commandIndex, and the vendor commands (TPMA_CC.V) after the rest */
        uint32_t cc = be32_at(rsp + 19 + 4 * i) & 0x2000FFFFu;
        assert_true(cc > prev);
        prev = cc;
    }
}

static void failed_commit_is_reported(void **state)
{
    frame f;
    (void)state;
    tp.fail_commit = true;
    f_cmd(&f, ST_S, 0x128); /* ClockSet must be durable */
    f_u32(&f, 0x40000001);
    f_pw_session(&f, "");
    f_u32(&f, 0);
    f_u32(&f, 0x7FFFFFFF);
    f_done(&f);
    assert_int_equal(exec_raw(f.b, f.n), 0x923); /* TPM_RC_NV_UNAVAILABLE */
    tp.fail_commit = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(short_header, setup, teardown),
        cmocka_unit_test_setup_teardown(size_field_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_command, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(initialize_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_handle_type, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_auth_area, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(pcr_extend_known_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(get_random_caps_size, setup, teardown),
        cmocka_unit_test_setup_teardown(command_table_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_commit_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
