/* Parameter encryption (param_crypt.c, Part 1 §21): the session symmetric
 * checks, and AES-CFB / XOR against an independent computation (KDFa with
 * OpenSSL's HMAC, AES-CFB with EVP). */
#include "helpers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine/param_crypt.h"

/* KDFa with SHA-256, computed here (SP 800-108 counter mode). */
static void kdfa_ref(const uint8_t *key, size_t klen, const char *label, const uint8_t *u, size_t ul,
                     const uint8_t *v, size_t vl, uint32_t bits, uint8_t *out)
{
    size_t want = (bits + 7) / 8, done = 0;
    uint32_t i = 1;
    while (done < want) {
        uint8_t buf[512], mac[32];
        unsigned ml = 0;
        size_t n = 0, take;
        buf[n++] = (uint8_t)(i >> 24);
        buf[n++] = (uint8_t)(i >> 16);
        buf[n++] = (uint8_t)(i >> 8);
        buf[n++] = (uint8_t)i;
        memcpy(buf + n, label, strlen(label) + 1);
        n += strlen(label) + 1;
        memcpy(buf + n, u, ul);
        n += ul;
        memcpy(buf + n, v, vl);
        n += vl;
        buf[n++] = (uint8_t)(bits >> 24);
        buf[n++] = (uint8_t)(bits >> 16);
        buf[n++] = (uint8_t)(bits >> 8);
        buf[n++] = (uint8_t)bits;
        HMAC(EVP_sha256(), key, (int)klen, buf, n, mac, &ml);
        take = want - done < 32 ? want - done : 32;
        memcpy(out + done, mac, take);
        done += take;
        i++;
    }
}

static const uint8_t key[] = "session-key-and-auth-value";
static const uint8_t newer[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t older[32] = { 0xA0, 0xA1, 0xA2, 0xA3, 0xA4 };

static void sym_checks(void **state)
{
    TPMT_SYM_DEF s;
    (void)state;
    memset(&s, 0, sizeof(s));
    s.algorithm = TPM2_ALG_NULL;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_SUCCESS);
    s.algorithm = TPM2_ALG_AES;
    s.keyBits.aes = 128;
    s.mode.aes = TPM2_ALG_CFB;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_SUCCESS);
    s.mode.aes = TPM2_ALG_CBC;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_MODE);
    s.mode.aes = TPM2_ALG_CFB;
    s.keyBits.aes = 100;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_SYMMETRIC);
    s.algorithm = TPM2_ALG_XOR;
    s.keyBits.exclusiveOr = TPM2_ALG_SHA256;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_SUCCESS);
    s.keyBits.exclusiveOr = TPM2_ALG_NULL;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_HASH);
    s.algorithm = TPM2_ALG_SM4;
    assert_int_equal(vt_param_sym_check(&s), TPM2_RC_SYMMETRIC);
}

static void xor_matches_kdfa_mask(void **state)
{
    TPMT_SYM_DEF s = { .algorithm = TPM2_ALG_XOR, .keyBits.exclusiveOr = TPM2_ALG_SHA256 };
    uint8_t data[77], orig[77], mask[77];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(data); i++)
        orig[i] = data[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(vt_param_crypt(TPM2_ALG_SHA256, &s, true, key, sizeof(key) - 1, newer, sizeof(newer),
                                    older, sizeof(older), data, sizeof(data)), 0);
    kdfa_ref(key, sizeof(key) - 1, "XOR", newer, sizeof(newer), older, sizeof(older), 8 * sizeof(data), mask);
    for (i = 0; i < sizeof(data); i++)
        assert_int_equal(data[i], orig[i] ^ mask[i]);
    /* XOR is its own inverse */
    assert_int_equal(vt_param_crypt(TPM2_ALG_SHA256, &s, false, key, sizeof(key) - 1, newer, sizeof(newer),
                                    older, sizeof(older), data, sizeof(data)), 0);
    assert_memory_equal(data, orig, sizeof(data));
}

static void cfb_matches_openssl(void **state)
{
    TPMT_SYM_DEF s = { .algorithm = TPM2_ALG_AES };
    unsigned bits[] = { 128, 256 };
    size_t b;
    (void)state;
    s.mode.aes = TPM2_ALG_CFB;
    for (b = 0; b < 2; b++) {
        uint8_t data[50], orig[50], k[48], want[50];
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int l1 = 0, l2 = 0;
        size_t i;
        s.keyBits.aes = (uint16_t)bits[b];
        for (i = 0; i < sizeof(data); i++)
            orig[i] = data[i] = (uint8_t)(i ^ 0x5a);
        kdfa_ref(key, sizeof(key) - 1, "CFB", newer, sizeof(newer), older, sizeof(older), bits[b] + 128, k);
        assert_non_null(ctx);
        assert_int_equal(EVP_EncryptInit_ex(ctx, bits[b] == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128(),
                                            NULL, k, k + bits[b] / 8), 1);
        assert_int_equal(EVP_EncryptUpdate(ctx, want, &l1, orig, (int)sizeof(orig)), 1);
        assert_int_equal(EVP_EncryptFinal_ex(ctx, want + l1, &l2), 1);
        EVP_CIPHER_CTX_free(ctx);
        assert_int_equal(vt_param_crypt(TPM2_ALG_SHA256, &s, true, key, sizeof(key) - 1, newer, sizeof(newer),
                                        older, sizeof(older), data, sizeof(data)), 0);
        assert_memory_equal(data, want, sizeof(data));
        assert_int_equal(vt_param_crypt(TPM2_ALG_SHA256, &s, false, key, sizeof(key) - 1, newer,
                                        sizeof(newer), older, sizeof(older), data, sizeof(data)), 0);
        assert_memory_equal(data, orig, sizeof(data));
    }
    /* not a parameter-encryption symmetric: refused */
    s.mode.aes = TPM2_ALG_CBC;
    {
        uint8_t d[16] = { 0 };
        assert_int_equal(vt_param_crypt(TPM2_ALG_SHA256, &s, true, key, 4, newer, 16, older, 16, d, 16), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sym_checks),
        cmocka_unit_test(xor_matches_kdfa_mask),
        cmocka_unit_test(cfb_matches_openssl),
    };
    if (vt_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
