/* Sealing state at rest: AES-256-GCM round trip, every flipped byte and a
 * wrong key refused, and the key SPEC forms (raw, hex, passphrase; file,
 * fd:, env:). */
#define _GNU_SOURCE
#include "helpers.h"
#include "store/seal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t nonce[12] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };
static const uint8_t aad[8] = "VTSBhead";

static void round_trip(void **state)
{
    uint8_t pt[100], ct[100], out[100], tag[16];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(pt); i++)
        pt[i] = (uint8_t)i;
    assert_int_equal(vt_seal(key, nonce, aad, sizeof(aad), pt, sizeof(pt), ct, tag), 0);
    assert_memory_not_equal(pt, ct, sizeof(pt));
    assert_int_equal(vt_unseal(key, nonce, aad, sizeof(aad), ct, sizeof(ct), out, tag), 0);
    assert_memory_equal(pt, out, sizeof(pt));
    /* in place */
    memcpy(out, pt, sizeof(pt));
    assert_int_equal(vt_seal(key, nonce, aad, sizeof(aad), out, sizeof(out), out, tag), 0);
    assert_memory_equal(out, ct, sizeof(ct));
}

/* Every byte of aad | nonce | ciphertext | tag, flipped, fails. */
static void every_flip_fails(void **state)
{
    uint8_t pt[24] = "a small state blob .....";
    uint8_t buf[sizeof(aad) + sizeof(nonce) + sizeof(pt) + 16], out[sizeof(pt)];
    uint8_t *a = buf, *n = buf + sizeof(aad), *c = n + sizeof(nonce), *t = c + sizeof(pt);
    size_t i;
    int bit;
    (void)state;
    memcpy(a, aad, sizeof(aad));
    memcpy(n, nonce, sizeof(nonce));
    assert_int_equal(vt_seal(key, n, a, sizeof(aad), pt, sizeof(pt), c, t), 0);
    for (i = 0; i < sizeof(buf); i++) {
        for (bit = 0; bit < 8; bit += 7) {
            buf[i] ^= (uint8_t)(1u << bit);
            memset(out, 0x55, sizeof(out));
            assert_int_equal(vt_unseal(key, n, a, sizeof(aad), c, sizeof(pt), out, t), -1);
            /* nothing of the plaintext is released on failure */
            assert_memory_not_equal(out, pt, sizeof(pt));
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(vt_unseal(key, n, a, sizeof(aad), c, sizeof(pt), out, t), 0);
    assert_memory_equal(out, pt, sizeof(pt));
}

static void wrong_key_fails(void **state)
{
    uint8_t pt[16] = "0123456789abcdef", ct[16], out[16], tag[16], other[32];
    (void)state;
    memcpy(other, key, sizeof(other));
    other[31] ^= 1;
    assert_int_equal(vt_seal(key, nonce, aad, sizeof(aad), pt, sizeof(pt), ct, tag), 0);
    assert_int_equal(vt_unseal(other, nonce, aad, sizeof(aad), ct, sizeof(ct), out, tag), -1);
}

static char path[64];

static int setup_file(void **state)
{
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/vt-seal-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown_file(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void put_file(const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static vt_key_material *read_ok(const char *spec)
{
    vt_key_material *m = NULL;
    char err[512] = "";
    assert_int_equal(vt_key_material_read(spec, &m, err, sizeof(err)), 0);
    assert_non_null(m);
    return m;
}

static void read_fails(const char *spec, const char *why)
{
    vt_key_material *m = NULL;
    char err[512] = "";
    assert_int_equal(vt_key_material_read(spec, &m, err, sizeof(err)), -1);
    assert_null(m);
    assert_non_null(strstr(err, why));
}

static void spec_file_forms(void **state)
{
    static const char hex[] = "0102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F20\n";
    vt_key_material *m;
    (void)state;

    put_file(key, sizeof(key)); /* 32 raw bytes */
    m = read_ok(path);
    assert_false(m->passphrase);
    assert_int_equal(m->len, 32);
    assert_memory_equal(m->bytes, key, 32);
    vt_key_material_free(m);

    put_file(hex, strlen(hex)); /* 64 hex characters and a newline */
    m = read_ok(path);
    assert_false(m->passphrase);
    assert_memory_equal(m->bytes, key, 32);
    vt_key_material_free(m);

    put_file("correct horse battery\n", 22); /* a passphrase, newline dropped */
    m = read_ok(path);
    assert_true(m->passphrase);
    assert_int_equal(m->len, 21);
    assert_memory_equal(m->bytes, "correct horse battery", 21);
    vt_key_material_free(m);

    /* 63 hex digits are a passphrase, not a key */
    put_file(hex, 63);
    m = read_ok(path);
    assert_true(m->passphrase);
    vt_key_material_free(m);

    put_file("\n", 1);
    read_fails(path, "empty");
    read_fails("/nonexistent/key", "cannot open key file /nonexistent/key");
}

static void spec_fd_and_env(void **state)
{
    vt_key_material *m;
    char spec[32];
    int fds[2];
    (void)state;

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], key, sizeof(key)), (ssize_t)sizeof(key));
    close(fds[1]);
    snprintf(spec, sizeof(spec), "fd:%d", fds[0]);
    m = read_ok(spec);
    assert_false(m->passphrase);
    assert_memory_equal(m->bytes, key, 32);
    vt_key_material_free(m);
    assert_int_equal(fcntl(fds[0], F_GETFD), -1); /* closed after reading */
    read_fails("fd:x", "fd: needs a descriptor number");

    setenv("VT_TEST_KEY", "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 1);
    m = read_ok("env:VT_TEST_KEY");
    assert_false(m->passphrase);
    assert_memory_equal(m->bytes, key, 32);
    vt_key_material_free(m);
    assert_null(getenv("VT_TEST_KEY")); /* unset after reading */

    setenv("VT_TEST_KEY", "a passphrase", 1);
    m = read_ok("env:VT_TEST_KEY");
    assert_true(m->passphrase);
    assert_int_equal(m->len, 12);
    vt_key_material_free(m);
    read_fails("env:VT_TEST_KEY", "is not set");
}

static void passphrase_kdf(void **state)
{
    vt_key_material *m;
    vt_kdf_params kp, kp2;
    vt_seal_key *a, *b, *c;
    uint8_t rec[VT_KDF_RECORD_SIZE], ca[8], cb[8];
    char err[512];
    (void)state;

    setenv("VT_TEST_KEY", "a passphrase", 1);
    m = read_ok("env:VT_TEST_KEY");
    assert_int_equal(vt_kdf_params_new(&kp), 0);
    kp.log2_n = 10; /* quick for the test */
    vt_kdf_params_encode(&kp, rec);
    assert_int_equal(vt_kdf_params_decode(&kp2, rec), 0);
    assert_memory_equal(&kp2.salt, &kp.salt, sizeof(kp.salt));
    rec[20] ^= 1;
    assert_int_equal(vt_kdf_params_decode(&kp2, rec), -1);

    assert_int_equal(vt_seal_key_new(m, &kp, &a, err, sizeof(err)), 0);
    assert_int_equal(vt_seal_key_new(m, &kp, &b, err, sizeof(err)), 0);
    assert_true(a->from_passphrase);
    assert_memory_equal(a->master, b->master, 32); /* deterministic */
    kp.salt[0] ^= 1;
    assert_int_equal(vt_seal_key_new(m, &kp, &c, err, sizeof(err)), 0);
    assert_memory_not_equal(a->master, c->master, 32); /* salted */
    assert_memory_not_equal(a->enc, a->mac, 32);
    assert_int_equal(vt_seal_key_check(a, (const uint8_t *)"id", 2, ca), 0);
    assert_int_equal(vt_seal_key_check(c, (const uint8_t *)"id", 2, cb), 0);
    assert_memory_not_equal(ca, cb, 8);
    vt_seal_key_free(a);
    vt_seal_key_free(b);
    vt_seal_key_free(c);
    /* a passphrase needs parameters */
    assert_int_equal(vt_seal_key_new(m, NULL, &a, err, sizeof(err)), -1);
    vt_key_material_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(every_flip_fails),
        cmocka_unit_test(wrong_key_fails),
        cmocka_unit_test_setup_teardown(spec_file_forms, setup_file, teardown_file),
        cmocka_unit_test(spec_fd_and_env),
        cmocka_unit_test(passphrase_kdf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
