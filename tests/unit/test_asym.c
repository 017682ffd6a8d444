/* vt_asym.h: RSA, ECC, AES, KDFe over OpenSSL.  Every result that can be
 * checked independently is checked with plain OpenSSL calls in this file
 * (never through vt_*): signatures are verified, ciphertexts decrypted and
 * cipher streams compared against EVP one-shots.
 *
 * VT_ASYM_BENCH=1 also prints the time per RSA-2048 and ECDSA P-256 sign. */
#include "helpers.h"
#include "crypto/vt_asym.h"
#include "crypto/vt_crypto.h"
#include "crypto/aes_ni.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- a deterministic octet stream: SHA-256(seed || counter) ---- */
typedef struct {
    uint32_t seed, counter;
    uint8_t block[32];
    size_t used;
    size_t drawn; /* octets handed out */
} stream;

static int stream_rng(void *ctx, uint8_t *out, size_t len)
{
    stream *s = ctx;
    while (len--) {
        if (s->used == 0 || s->used == sizeof(s->block)) {
            uint8_t in[8];
            unsigned int n;
            in[0] = (uint8_t)(s->seed >> 24), in[1] = (uint8_t)(s->seed >> 16);
            in[2] = (uint8_t)(s->seed >> 8), in[3] = (uint8_t)s->seed;
            in[4] = (uint8_t)(s->counter >> 24), in[5] = (uint8_t)(s->counter >> 16);
            in[6] = (uint8_t)(s->counter >> 8), in[7] = (uint8_t)s->counter;
            s->counter++;
            if (EVP_Digest(in, sizeof(in), s->block, &n, EVP_sha256(), NULL) != 1)
                return -1;
            s->used = 0;
        }
        *out++ = s->block[s->used++];
        s->drawn++;
    }
    return 0;
}

static int failing_rng(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx, (void)out, (void)len;
    return -1;
}

static stream seeded(uint32_t seed)
{
    stream s;
    memset(&s, 0, sizeof(s));
    s.seed = seed;
    return s;
}

static size_t md_len(TPM2_ALG_ID h)
{
    return vt_hash_size(h);
}

static const EVP_MD *evp_md(TPM2_ALG_ID h)
{
    switch (h) {
    case TPM2_ALG_SHA1: return EVP_sha1();
    case TPM2_ALG_SHA256: return EVP_sha256();
    case TPM2_ALG_SHA384: return EVP_sha384();
    default: return EVP_sha512();
    }
}

static void fill(uint8_t *b, size_t n, uint8_t v)
{
    size_t i;
    for (i = 0; i < n; i++)
        b[i] = (uint8_t)(v + i * 7);
}

/* ---- RSA keys shared by the tests (generation is slow) ---- */
typedef struct {
    unsigned bits;
    uint8_t n[512], p[256];
    vt_key *priv, *pub;
    EVP_PKEY *ossl_pub; /* built here from (n, e) without vt_* */
} rsa_fixture;

static rsa_fixture r1024 = { .bits = 1024 }, r2048 = { .bits = 2048 };

static EVP_PKEY *ossl_rsa_pub(const uint8_t *n, size_t n_len)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *e = BN_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    OSSL_PARAM *prm;
    EVP_PKEY *pk = NULL;

    assert_non_null(bld);
    assert_true(BN_set_word(e, 65537));
    assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn));
    assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
    prm = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, prm), 1);
    OSSL_PARAM_free(prm);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(e);
    return pk;
}

static int rsa_setup(void **state)
{
    rsa_fixture *f[2] = { &r1024, &r2048 };
    int i;

    (void)state;
    if (vt_crypto_init() != 0)
        return -1;
    for (i = 0; i < 2; i++) {
        stream s = seeded(100 + (uint32_t)i);
        if (vt_rsa_generate(f[i]->bits, 0, stream_rng, &s, f[i]->n, f[i]->p) != 0)
            return -1;
        f[i]->priv = vt_key_rsa(f[i]->n, f[i]->bits / 8, 0, f[i]->p, f[i]->bits / 16);
        f[i]->pub = vt_key_rsa(f[i]->n, f[i]->bits / 8, 65537, NULL, 0);
        f[i]->ossl_pub = ossl_rsa_pub(f[i]->n, f[i]->bits / 8);
        if (!f[i]->priv || !f[i]->pub || !f[i]->ossl_pub)
            return -1;
    }
    return 0;
}

static int rsa_teardown(void **state)
{
    rsa_fixture *f[2] = { &r1024, &r2048 };
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        vt_key_free(f[i]->priv);
        vt_key_free(f[i]->pub);
        EVP_PKEY_free(f[i]->ossl_pub);
    }
    return 0;
}

/* n = p * q with p, q prime (checked by OpenSSL), n exactly `bits` long */
static void check_rsa_numbers(unsigned bits, const uint8_t *n, const uint8_t *p)
{
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *bn_n = BN_bin2bn(n, (int)bits / 8, NULL), *bp = BN_bin2bn(p, (int)bits / 16, NULL);
    BIGNUM *q = BN_new(), *rem = BN_new();

    assert_int_equal(BN_num_bits(bn_n), (int)bits);
    assert_int_equal(BN_num_bits(bp), (int)bits / 2);
    assert_true(BN_div(q, rem, bn_n, bp, bn));
    assert_true(BN_is_zero(rem));
    assert_int_equal(BN_num_bits(q), (int)bits / 2);
    assert_int_equal(BN_check_prime(bp, bn, NULL), 1);
    assert_int_equal(BN_check_prime(q, bn, NULL), 1);
    assert_int_not_equal(BN_cmp(bp, q), 0);
    BN_free(bn_n);
    BN_free(bp);
    BN_free(q);
    BN_free(rem);
    BN_CTX_free(bn);
}

static void rsa_generation_is_deterministic(void **state)
{
    static const unsigned sizes[] = { 1024, 2048, 3072 };
    uint8_t n1[512], p1[256], n2[512], p2[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned bits = sizes[i];
        stream a = seeded(7), b = seeded(7), c = seeded(8);
        assert_int_equal(vt_rsa_generate(bits, 0, stream_rng, &a, n1, p1), 0);
        assert_int_equal(vt_rsa_generate(bits, 65537, stream_rng, &b, n2, p2), 0);
        assert_memory_equal(n1, n2, bits / 8);
        assert_memory_equal(p1, p2, bits / 16);
        assert_int_equal(a.drawn, b.drawn);
        check_rsa_numbers(bits, n1, p1);
        assert_int_equal(vt_rsa_generate(bits, 0, stream_rng, &c, n2, p2), 0);
        assert_memory_not_equal(n1, n2, bits / 8);
        check_rsa_numbers(bits, n2, p2);
    }
    /* the shared fixtures too */
    check_rsa_numbers(1024, r1024.n, r1024.p);
    check_rsa_numbers(2048, r2048.n, r2048.p);
}

static void rsa_generation_rejects(void **state)
{
    uint8_t n[512], p[256];
    stream s = seeded(1);

    (void)state;
    assert_int_equal(vt_rsa_generate(1000, 0, stream_rng, &s, n, p), -1);
    assert_int_equal(vt_rsa_generate(512, 0, stream_rng, &s, n, p), -1);
    assert_int_equal(vt_rsa_generate(2048, 4, stream_rng, &s, n, p), -1); /* even e */
    assert_int_equal(vt_rsa_generate(2048, 1, stream_rng, &s, n, p), -1);
    assert_int_equal(vt_rsa_generate(2048, 0, failing_rng, NULL, n, p), -1);
}

static void rsa_generation_other_exponent(void **state)
{
    uint8_t n[128], p[64], digest[32], sig[128];
    size_t sig_len = sizeof(sig);
    stream s = seeded(3);
    vt_key *k;

    (void)state;
    assert_int_equal(vt_rsa_generate(1024, 3, stream_rng, &s, n, p), 0);
    check_rsa_numbers(1024, n, p);
    k = vt_key_rsa(n, 128, 3, p, 64);
    assert_non_null(k);
    fill(digest, 32, 1);
    assert_int_equal(vt_rsa_sign(k, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig, &sig_len), 0);
    assert_int_equal(vt_rsa_verify(k, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig, sig_len), 0);
    vt_key_free(k);
}

static int ossl_verify(EVP_PKEY *pk, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, int salt,
                       const uint8_t *digest, const uint8_t *sig, size_t sig_len);

/* the largest size: every internal buffer at its limit */
static void rsa_4096(void **state)
{
    static uint8_t n[512], p[256], digest[64], sig[512], ct[512], pt[512], msg[512];
    size_t sl = sizeof(sig), cl = sizeof(ct), pl = sizeof(pt);
    stream s = seeded(4096);
    EVP_PKEY *opk;
    vt_key *k;

    (void)state;
    assert_int_equal(vt_rsa_generate(4096, 0, stream_rng, &s, n, p), 0);
    check_rsa_numbers(4096, n, p);
    k = vt_key_rsa(n, 512, 0, p, 256);
    assert_non_null(k);
    opk = ossl_rsa_pub(n, 512);
    fill(digest, 64, 0x44);
    assert_int_equal(vt_rsa_sign(k, TPM2_ALG_RSAPSS, TPM2_ALG_SHA512, digest, 64, sig, &sl), 0);
    assert_int_equal(sl, 512);
    assert_int_equal(ossl_verify(opk, TPM2_ALG_RSAPSS, TPM2_ALG_SHA512, 64, digest, sig, sl), 1);
    fill(msg, sizeof(msg), 0x21);
    assert_int_equal(vt_rsa_encrypt(k, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, msg + 1, 511, ct, &cl),
                     0);
    assert_int_equal(vt_rsa_decrypt(k, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, ct, cl, pt, &pl), 0);
    assert_int_equal(pl, 512);
    assert_int_equal(pt[0], 0);
    assert_memory_equal(pt + 1, msg + 1, 511);
    vt_key_free(k);
    EVP_PKEY_free(opk);
}

static void rsa_key_rejects_bad_numbers(void **state)
{
    uint8_t p[128], n[256];

    (void)state;
    memcpy(n, r2048.n, 256);
    memcpy(p, r2048.p, 128);
    p[127] ^= 2; /* no longer a factor */
    assert_null(vt_key_rsa(n, 256, 0, p, 128));
    memset(p, 0, sizeof(p));
    assert_null(vt_key_rsa(n, 256, 0, p, 128)); /* 0 */
    p[127] = 1;
    assert_null(vt_key_rsa(n, 256, 0, p, 128)); /* 1 */
    assert_null(vt_key_rsa(n, 256, 0, n, 256)); /* n itself */
    assert_null(vt_key_rsa(n, 256, 4, r2048.p, 128)); /* even e */
    n[255] ^= 1;                                       /* even n */
    assert_null(vt_key_rsa(n, 256, 0, NULL, 0));
    assert_null(vt_key_rsa(r2048.n, 64, 0, NULL, 0)); /* too short */
    assert_null(vt_key_rsa(r2048.n, 0, 0, NULL, 0));
}

static void rsa_key_from_either_prime(void **state)
{
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *bn_n = BN_bin2bn(r2048.n, 256, NULL), *bp = BN_bin2bn(r2048.p, 128, NULL);
    BIGNUM *q = BN_new();
    uint8_t qb[128], digest[32], sig[256];
    size_t sig_len = sizeof(sig);
    vt_key *k;

    (void)state;
    assert_true(BN_div(q, NULL, bn_n, bp, bn));
    assert_int_equal(BN_bn2binpad(q, qb, 128), 128);
    k = vt_key_rsa(r2048.n, 256, 0, qb, 128);
    assert_non_null(k);
    fill(digest, 32, 9);
    assert_int_equal(vt_rsa_sign(k, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig, &sig_len), 0);
    assert_int_equal(vt_rsa_verify(r2048.pub, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig,
                                   sig_len),
                     0);
    vt_key_free(k);
    BN_free(bn_n);
    BN_free(bp);
    BN_free(q);
    BN_CTX_free(bn);
}

/* OpenSSL's own verify of a vt signature; for PSS the salt length must be
 * exactly `salt` (Part 1 B.7: the digest length). */
static int ossl_verify(EVP_PKEY *pk, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, int salt,
                       const uint8_t *digest, const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    int rc;

    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    if (scheme == TPM2_ALG_RSAPSS) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt), 1);
    } else if (scheme == TPM2_ALG_RSASSA) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    }
    if (scheme != TPM2_ALG_ECDSA)
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, evp_md(hash)), 1);
    rc = EVP_PKEY_verify(ctx, sig, sig_len, digest, md_len(hash));
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static void rsa_sign_verify_all(void **state)
{
    static const TPM2_ALG_ID schemes[] = { TPM2_ALG_RSASSA, TPM2_ALG_RSAPSS };
    static const TPM2_ALG_ID hashes[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                          TPM2_ALG_SHA512 };
    rsa_fixture *f[2] = { &r1024, &r2048 };
    uint8_t digest[64], sig[256], sig2[256];
    size_t fi, si, hi;
    int round;

    (void)state;
    for (fi = 0; fi < 2; fi++)
        for (si = 0; si < 2; si++)
            for (hi = 0; hi < 4; hi++)
                /* twice, and interleaved with another scheme: the cached
                 * contexts must be set up again when the scheme changes */
                for (round = 0; round < 2; round++) {
                    TPM2_ALG_ID sch = schemes[si], h = hashes[hi];
                    size_t dl = md_len(h), sl = sizeof(sig), sl2 = sizeof(sig2);
                    size_t em = f[fi]->bits / 8;
                    int salt = (int)dl;
                    if (em < 2 * dl + 2)
                        salt = (int)(em - dl - 2); /* 1024-bit key with SHA-512 */
                    fill(digest, dl, (uint8_t)(fi * 16 + si * 4 + hi + round));
                    assert_int_equal(vt_rsa_sign(f[fi]->priv, sch, h, digest, dl, sig, &sl), 0);
                    assert_int_equal(sl, f[fi]->bits / 8);
                    assert_int_equal(vt_rsa_verify(f[fi]->pub, sch, h, digest, dl, sig, sl), 0);
                    assert_int_equal(vt_rsa_verify(f[fi]->priv, sch, h, digest, dl, sig, sl), 0);
                    assert_int_equal(ossl_verify(f[fi]->ossl_pub, sch, h, salt, digest, sig, sl), 1);
                    /* the other scheme in between */
                    assert_int_equal(vt_rsa_sign(f[fi]->priv, schemes[1 - si], h, digest, dl, sig2,
                                                 &sl2),
                                     0);
                    assert_int_equal(vt_rsa_verify(f[fi]->pub, sch, h, digest, dl, sig2, sl2), 1);
                    /* tampering */
                    sig[sl / 2] ^= 0x40;
                    assert_int_equal(vt_rsa_verify(f[fi]->pub, sch, h, digest, dl, sig, sl), 1);
                    sig[sl / 2] ^= 0x40;
                    digest[0] ^= 1;
                    assert_int_equal(vt_rsa_verify(f[fi]->pub, sch, h, digest, dl, sig, sl), 1);
                    digest[0] ^= 1;
                    /* wrong sizes are "not valid" */
                    assert_int_equal(vt_rsa_verify(f[fi]->pub, sch, h, digest, dl, sig, sl - 1), 1);
                    assert_int_equal(vt_rsa_verify(f[fi]->pub, sch, h, digest, dl - 1, sig, sl), 1);
                }
}

static void rsa_sign_rejects(void **state)
{
    uint8_t digest[32] = { 0 }, sig[256];
    size_t sl = 255;

    (void)state;
    /* room too small, public key, wrong digest size, unknown scheme/hash */
    assert_int_equal(vt_rsa_sign(r2048.priv, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig, &sl),
                     -1);
    sl = sizeof(sig);
    assert_int_equal(vt_rsa_sign(r2048.pub, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig, &sl),
                     -1);
    assert_int_equal(vt_rsa_sign(r2048.priv, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 31, sig, &sl),
                     -1);
    assert_int_equal(vt_rsa_sign(r2048.priv, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, digest, 32, sig, &sl),
                     -1);
    assert_int_equal(vt_rsa_sign(r2048.priv, TPM2_ALG_RSASSA, TPM2_ALG_SM3_256, digest, 32, sig, &sl),
                     -1);
    assert_int_equal(vt_rsa_verify(r2048.pub, TPM2_ALG_NULL, TPM2_ALG_SHA256, digest, 32, sig, 256),
                     -1);
    /* after all that, signing still works */
    assert_int_equal(vt_rsa_sign(r2048.priv, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig, &sl),
                     0);
}

/* PSS verify accepts any salt length: signatures made by OpenSSL with salt
 * 0 and with the maximum. */
static void rsa_pss_verify_any_salt(void **state)
{
    static const int salts[] = { 0, 20, RSA_PSS_SALTLEN_MAX };
    uint8_t digest[32], sig[256];
    EVP_PKEY *pk = NULL;
    BIGNUM *bn_n = BN_bin2bn(r2048.n, 256, NULL), *bp = BN_bin2bn(r2048.p, 128, NULL);
    size_t i;

    (void)state;
    /* a private EVP_PKEY built from n, p without vt_*: q, d, CRT by hand */
    {
        BN_CTX *bn = BN_CTX_new();
        BIGNUM *q = BN_new(), *e = BN_new(), *phi = BN_new(), *pm = BN_new(), *qm = BN_new();
        BIGNUM *d = BN_new();
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *prm;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        assert_true(BN_div(q, NULL, bn_n, bp, bn) && BN_set_word(e, 65537));
        assert_true(BN_sub(pm, bp, BN_value_one()) && BN_sub(qm, q, BN_value_one()));
        assert_true(BN_mul(phi, pm, qm, bn) && BN_mod_inverse(d, e, phi, bn));
        assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n));
        assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
        assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d));
        prm = OSSL_PARAM_BLD_to_param(bld);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, prm), 1);
        OSSL_PARAM_free(prm);
        OSSL_PARAM_BLD_free(bld);
        EVP_PKEY_CTX_free(ctx);
        BN_free(q), BN_free(e), BN_free(phi), BN_free(pm), BN_free(qm), BN_clear_free(d);
        BN_CTX_free(bn);
    }
    fill(digest, 32, 0x5A);
    for (i = 0; i < sizeof(salts) / sizeof(salts[0]); i++) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
        size_t sl = sizeof(sig);
        assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salts[i]), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
        assert_int_equal(EVP_PKEY_sign(ctx, sig, &sl, digest, 32), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(vt_rsa_verify(r2048.pub, TPM2_ALG_RSAPSS, TPM2_ALG_SHA256, digest, 32, sig,
                                       sl),
                         0);
        /* and OpenSSL's RSASSA signature is not a PSS one */
    }
    EVP_PKEY_free(pk);
    BN_free(bn_n);
    BN_free(bp);
}

/* OpenSSL encrypts, vt decrypts */
static size_t ossl_encrypt(EVP_PKEY *pk, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const char *label,
                           const uint8_t *in, size_t in_len, uint8_t *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    size_t ol = 512;

    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    if (scheme == TPM2_ALG_OAEP) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, evp_md(hash)), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, evp_md(hash)), 1);
        if (label) {
            size_t ll = strlen(label) + 1; /* the TPM's label includes its zero */
            void *l = OPENSSL_memdup(label, ll);
            assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)ll), 1);
        }
    } else {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    }
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &ol, in, in_len), 1);
    EVP_PKEY_CTX_free(ctx);
    return ol;
}

static void rsa_encrypt_decrypt(void **state)
{
    static const TPM2_ALG_ID hashes[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                          TPM2_ALG_SHA512 };
    static const char label[] = "DUPLICATE";
    const uint8_t *lb = (const uint8_t *)label;
    uint8_t msg[256], ct[256], pt[256];
    size_t hi, cl, pl;

    (void)state;
    fill(msg, sizeof(msg), 3);
    for (hi = 0; hi < 4; hi++) {
        TPM2_ALG_ID h = hashes[hi];
        size_t max = 256 - 2 * md_len(h) - 2;
        /* round trip with and without label, longest message */
        cl = sizeof(ct), pl = sizeof(pt);
        assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_OAEP, h, lb, sizeof(label), msg, max, ct,
                                        &cl),
                         0);
        assert_int_equal(cl, 256);
        assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_OAEP, h, lb, sizeof(label), ct, cl, pt,
                                        &pl),
                         0);
        assert_int_equal(pl, max);
        assert_memory_equal(pt, msg, max);
        /* wrong label, no label: padding error */
        pl = sizeof(pt);
        assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_OAEP, h, lb, sizeof(label) - 1, ct, cl,
                                        pt, &pl),
                         -2);
        pl = sizeof(pt);
        assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_OAEP, h, NULL, 0, ct, cl, pt, &pl), -2);
        /* no label; then decrypt with no label (the label must not stick) */
        cl = sizeof(ct), pl = sizeof(pt);
        assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_OAEP, h, NULL, 0, msg, 16, ct, &cl), 0);
        assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_OAEP, h, NULL, 0, ct, cl, pt, &pl), 0);
        assert_int_equal(pl, 16);
        assert_memory_equal(pt, msg, 16);
        /* too long */
        cl = sizeof(ct);
        assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_OAEP, h, NULL, 0, msg, max + 1, ct, &cl),
                         -2);
        /* OpenSSL encrypts with the TPM's label */
        cl = ossl_encrypt(r2048.ossl_pub, TPM2_ALG_OAEP, h, label, msg, 32, ct);
        pl = sizeof(pt);
        assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_OAEP, h, lb, sizeof(label), ct, cl, pt,
                                        &pl),
                         0);
        assert_int_equal(pl, 32);
        assert_memory_equal(pt, msg, 32);
    }
    /* RSAES */
    cl = sizeof(ct), pl = sizeof(pt);
    assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, 0, msg, 245, ct,
                                    &cl),
                     0);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, 0, ct, cl, pt,
                                    &pl),
                     0);
    assert_int_equal(pl, 245);
    assert_memory_equal(pt, msg, 245);
    cl = sizeof(ct);
    assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, 0, msg, 246, ct,
                                    &cl),
                     -2);
    cl = ossl_encrypt(r2048.ossl_pub, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, msg, 100, ct);
    pl = sizeof(pt);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, 0, ct, cl, pt,
                                    &pl),
                     0);
    assert_int_equal(pl, 100);
    assert_memory_equal(pt, msg, 100);
    /* an OAEP ciphertext is bad RSAES padding, and the other way round */
    cl = ossl_encrypt(r2048.ossl_pub, TPM2_ALG_OAEP, TPM2_ALG_SHA256, NULL, msg, 20, ct);
    pl = sizeof(pt);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, 0, ct, cl, pt,
                                    &pl),
                     -2);
    /* plaintext larger than the room */
    cl = ossl_encrypt(r2048.ossl_pub, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, msg, 100, ct);
    pl = 99;
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_RSAES, TPM2_ALG_NULL, NULL, 0, ct, cl, pt,
                                    &pl),
                     -1);
}

static void rsa_raw(void **state)
{
    uint8_t msg[256], ct[256], pt[256], big[256];
    size_t cl = sizeof(ct), pl = sizeof(pt);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *m = BN_bin2bn((const uint8_t *)"\x12\x34\x56", 3, NULL), *c = BN_new(), *e = BN_new();
    BIGNUM *n = BN_bin2bn(r2048.n, 256, NULL);
    uint8_t expect[256];

    (void)state;
    /* a short input is a number: left-padded */
    memcpy(msg, "\x12\x34\x56", 3);
    assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, msg, 3, ct,
                                    &cl),
                     0);
    assert_int_equal(cl, 256);
    /* m^e mod n by hand */
    assert_true(BN_set_word(e, 65537) && BN_mod_exp(c, m, e, n, bn));
    assert_int_equal(BN_bn2binpad(c, expect, 256), 256);
    assert_memory_equal(ct, expect, 256);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, ct, cl, pt,
                                    &pl),
                     0);
    assert_int_equal(pl, 256);
    memset(expect, 0, 256);
    memcpy(expect + 253, "\x12\x34\x56", 3);
    assert_memory_equal(pt, expect, 256);
    /* values >= n: -2 both ways */
    memcpy(big, r2048.n, 256);
    cl = sizeof(ct);
    assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, big, 256, ct,
                                    &cl),
                     -2);
    pl = sizeof(pt);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, big, 256, pt,
                                    &pl),
                     -2);
    memset(big, 0xFF, 256);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_OAEP, TPM2_ALG_SHA256, NULL, 0, big, 256,
                                    pt, &pl),
                     -2);
    /* longer than the modulus, room too small, public key decrypt */
    assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, msg, 257, ct,
                                    &cl),
                     -2);
    cl = 255;
    assert_int_equal(vt_rsa_encrypt(r2048.pub, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, msg, 3, ct,
                                    &cl),
                     -1);
    pl = sizeof(pt);
    assert_int_equal(vt_rsa_decrypt(r2048.pub, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, ct, 256, pt,
                                    &pl),
                     -1);
    assert_int_equal(vt_rsa_decrypt(r2048.priv, TPM2_ALG_NULL, TPM2_ALG_NULL, NULL, 0, ct, 257, pt,
                                    &pl),
                     -1);
    BN_free(m), BN_free(c), BN_free(e), BN_free(n);
    BN_CTX_free(bn);
}

/* ---- ECC ---- */
static const TPM2_ECC_CURVE curves[] = { TPM2_ECC_NIST_P256, TPM2_ECC_NIST_P384,
                                         TPM2_ECC_NIST_P521 };

static const char *curve_name(TPM2_ECC_CURVE c)
{
    return c == TPM2_ECC_NIST_P256 ? "P-256" : c == TPM2_ECC_NIST_P384 ? "P-384" : "P-521";
}

static void ecc_generation_is_deterministic(void **state)
{
    uint8_t d1[66], d2[66], d3[66];
    size_t i;

    (void)state;
    assert_int_equal(vt_ecc_size(TPM2_ECC_NIST_P256), 32);
    assert_int_equal(vt_ecc_size(TPM2_ECC_NIST_P384), 48);
    assert_int_equal(vt_ecc_size(TPM2_ECC_NIST_P521), 66);
    assert_int_equal(vt_ecc_size(TPM2_ECC_BN_P256), 0);
    for (i = 0; i < 3; i++) {
        size_t sz = vt_ecc_size(curves[i]);
        stream a = seeded(5), b = seeded(5), c = seeded(6);
        assert_int_equal(vt_ecc_generate(curves[i], stream_rng, &a, d1), 0);
        assert_int_equal(vt_ecc_generate(curves[i], stream_rng, &b, d2), 0);
        assert_int_equal(vt_ecc_generate(curves[i], stream_rng, &c, d3), 0);
        assert_memory_equal(d1, d2, sz);
        assert_memory_not_equal(d1, d3, sz);
        assert_int_equal(a.drawn, sz + 8); /* as documented */
    }
    /* P-521: the top octet holds one bit */
    {
        stream s = seeded(77);
        int j;
        for (j = 0; j < 20; j++) {
            assert_int_equal(vt_ecc_generate(TPM2_ECC_NIST_P521, stream_rng, &s, d1), 0);
            assert_true(d1[0] <= 1);
        }
    }
    assert_int_equal(vt_ecc_generate(TPM2_ECC_BN_P256, stream_rng, NULL, d1), -1);
    assert_int_equal(vt_ecc_generate(TPM2_ECC_NIST_P256, failing_rng, NULL, d1), -1);
}

/* d = (c mod (n-1)) + 1 from size+8 octets, checked with plain BN */
static void ecc_generation_matches_rule(void **state)
{
    uint8_t d[32], raw[40], expect[32];
    stream a = seeded(9), b = seeded(9);
    BN_CTX *bn = BN_CTX_new();
    EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *c, *nm1 = BN_dup(EC_GROUP_get0_order(grp));

    (void)state;
    assert_int_equal(vt_ecc_generate(TPM2_ECC_NIST_P256, stream_rng, &a, d), 0);
    assert_int_equal(stream_rng(&b, raw, 40), 0);
    c = BN_bin2bn(raw, 40, NULL);
    assert_true(BN_sub_word(nm1, 1) && BN_mod(c, c, nm1, bn) && BN_add_word(c, 1));
    assert_int_equal(BN_bn2binpad(c, expect, 32), 32);
    assert_memory_equal(d, expect, 32);
    BN_free(c), BN_free(nm1);
    EC_GROUP_free(grp);
    BN_CTX_free(bn);
}

static void ecc_key(TPM2_ECC_CURVE curve, uint32_t seed, uint8_t *d, uint8_t *x, uint8_t *y)
{
    stream s = seeded(seed);
    size_t sz = vt_ecc_size(curve);
    assert_int_equal(vt_ecc_generate(curve, stream_rng, &s, d), 0);
    assert_int_equal(vt_ecc_mul(curve, d, sz, NULL, 0, NULL, 0, x, y), 0);
    assert_true(vt_ecc_point_valid(curve, x, sz, y, sz));
}

static EVP_PKEY *ossl_ec_pub(TPM2_ECC_CURVE curve, const uint8_t *x, const uint8_t *y)
{
    size_t sz = vt_ecc_size(curve);
    uint8_t pub[133];
    OSSL_PARAM prm[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;

    pub[0] = 4;
    memcpy(pub + 1, x, sz);
    memcpy(pub + 1 + sz, y, sz);
    prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve_name(curve), 0);
    prm[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * sz);
    prm[2] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, prm), 1);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* OpenSSL verifies (r, s), DER-encoded here */
static int ossl_ecdsa_verify(EVP_PKEY *pk, const uint8_t *digest, size_t dl, const uint8_t *r,
                             const uint8_t *s, size_t sz)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    unsigned char *der = NULL;
    int len, rc;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);

    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(r, (int)sz, NULL), BN_bin2bn(s, (int)sz, NULL)), 1);
    len = i2d_ECDSA_SIG(sig, &der);
    assert_true(len > 0);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    rc = EVP_PKEY_verify(ctx, der, (size_t)len, digest, dl);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static void ecdsa_sign_verify_all(void **state)
{
    static const TPM2_ALG_ID hashes[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                          TPM2_ALG_SHA512 };
    uint8_t d[66], x[66], y[66], r[66], s[66], digest[64], r2[66], s2[66];
    size_t ci, hi;

    (void)state;
    for (ci = 0; ci < 3; ci++) {
        TPM2_ECC_CURVE cv = curves[ci];
        size_t sz = vt_ecc_size(cv);
        vt_key *priv, *pub;
        EVP_PKEY *opk;
        ecc_key(cv, 40 + (uint32_t)ci, d, x, y);
        priv = vt_key_ecc(cv, x, sz, y, sz, d, sz);
        pub = vt_key_ecc(cv, x, sz, y, sz, NULL, 0);
        assert_non_null(priv);
        assert_non_null(pub);
        opk = ossl_ec_pub(cv, x, y);
        for (hi = 0; hi < 4; hi++) {
            size_t dl = md_len(hashes[hi]);
            fill(digest, dl, (uint8_t)(ci * 8 + hi));
            assert_int_equal(vt_ecdsa_sign(priv, digest, dl, r, s), 0);
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r, sz, s, sz), 0);
            assert_int_equal(vt_ecdsa_verify(priv, digest, dl, r, sz, s, sz), 0);
            assert_int_equal(ossl_ecdsa_verify(opk, digest, dl, r, s, sz), 1);
            /* a second signature differs (fresh nonce) and verifies */
            assert_int_equal(vt_ecdsa_sign(priv, digest, dl, r2, s2), 0);
            assert_memory_not_equal(r, r2, sz);
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r2, sz, s2, sz), 0);
            /* tampering */
            digest[1] ^= 4;
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r, sz, s, sz), 1);
            digest[1] ^= 4;
            s[sz - 1] ^= 1;
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r, sz, s, sz), 1);
            s[sz - 1] ^= 1;
            /* r = 0, s = 0, r far too long */
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r, 0, s, sz), 1);
            memset(r2, 0, sz);
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r2, sz, s, sz), 1);
            memset(r2, 0xFF, sizeof(r2));
            assert_int_equal(vt_ecdsa_verify(pub, digest, dl, r2, sizeof(r2), s, sz), 1);
        }
        /* leading zeros stripped: r given with an extra zero octet */
        fill(digest, 32, 0x33);
        assert_int_equal(vt_ecdsa_sign(priv, digest, 32, r + 1, s), 0);
        r[0] = 0;
        assert_int_equal(vt_ecdsa_verify(pub, digest, 32, r, sz + 1, s, sz), 0);
        /* a public key cannot sign */
        assert_int_equal(vt_ecdsa_sign(pub, digest, 32, r, s), -1);
        vt_key_free(priv);
        vt_key_free(pub);
        EVP_PKEY_free(opk);
    }
    /* an RSA key is not an ECDSA key and the other way round */
    assert_int_equal(vt_ecdsa_sign(r2048.priv, digest, 32, r, s), -1);
}

static void ecdh_agreement(void **state)
{
    uint8_t d1[66], x1[66], y1[66], d2[66], x2[66], y2[66];
    uint8_t ax[66], ay[66], bx[66], by[66];
    size_t ci;

    (void)state;
    for (ci = 0; ci < 3; ci++) {
        TPM2_ECC_CURVE cv = curves[ci];
        size_t sz = vt_ecc_size(cv);
        ecc_key(cv, 1, d1, x1, y1);
        ecc_key(cv, 2, d2, x2, y2);
        assert_int_equal(vt_ecc_mul(cv, d1, sz, x2, sz, y2, sz, ax, ay), 0);
        assert_int_equal(vt_ecc_mul(cv, d2, sz, x1, sz, y1, sz, bx, by), 0);
        assert_memory_equal(ax, bx, sz);
        assert_memory_equal(ay, by, sz);
        assert_memory_not_equal(ax, x1, sz);
        /* OpenSSL's ECDH gives the same x */
        {
            EVP_PKEY *pub = ossl_ec_pub(cv, x2, y2), *prv = NULL;
            EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
            uint8_t pubo[133], z[66];
            size_t zl = sizeof(z);
            BIGNUM *bd = BN_bin2bn(d1, (int)sz, NULL);
            OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
            OSSL_PARAM *prm;
            pubo[0] = 4;
            memcpy(pubo + 1, x1, sz);
            memcpy(pubo + 1 + sz, y1, sz);
            assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                                        curve_name(cv), 0));
            assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pubo,
                                                         1 + 2 * sz));
            assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd));
            prm = OSSL_PARAM_BLD_to_param(bld);
            assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
            assert_int_equal(EVP_PKEY_fromdata(ctx, &prv, EVP_PKEY_KEYPAIR, prm), 1);
            EVP_PKEY_CTX_free(ctx);
            ctx = EVP_PKEY_CTX_new(prv, NULL);
            assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
            assert_int_equal(EVP_PKEY_derive_set_peer(ctx, pub), 1);
            assert_int_equal(EVP_PKEY_derive(ctx, z, &zl), 1);
            assert_int_equal(zl, sz);
            assert_memory_equal(z, ax, sz);
            EVP_PKEY_CTX_free(ctx);
            EVP_PKEY_free(pub);
            EVP_PKEY_free(prv);
            OSSL_PARAM_free(prm);
            OSSL_PARAM_BLD_free(bld);
            BN_free(bd);
        }
        /* short scalar (leading zeros stripped): 1*G == G, 2*P == P+P */
        {
            static const uint8_t one = 1, two = 2;
            TPMS_ALGORITHM_DETAIL_ECC prm;
            uint8_t gx[66], gy[66], px2[66], py2[66];
            assert_int_equal(vt_ecc_parameters(cv, &prm), 0);
            assert_int_equal(vt_ecc_mul(cv, &one, 1, NULL, 0, NULL, 0, gx, gy), 0);
            assert_memory_equal(gx, prm.gX.buffer, sz);
            assert_memory_equal(gy, prm.gY.buffer, sz);
            assert_int_equal(vt_ecc_mul(cv, &two, 1, NULL, 0, NULL, 0, px2, py2), 0);
            assert_int_equal(vt_ecc_mul(cv, &two, 1, gx, sz, gy, sz, ax, ay), 0);
            assert_memory_equal(ax, px2, sz);
            assert_memory_equal(ay, py2, sz);
            /* n * G is the point at infinity; 0 * G too */
            assert_int_equal(vt_ecc_mul(cv, prm.n.buffer, prm.n.size, NULL, 0, NULL, 0, ax, ay), -1);
            assert_int_equal(vt_ecc_mul(cv, d1, 0, NULL, 0, NULL, 0, ax, ay), -1);
        }
    }
}

static void invalid_points_rejected(void **state)
{
    uint8_t d[66], x[66], y[66], rx[66], ry[66], bad[66], xp[67];
    size_t ci;

    (void)state;
    for (ci = 0; ci < 3; ci++) {
        TPM2_ECC_CURVE cv = curves[ci];
        size_t sz = vt_ecc_size(cv);
        TPMS_ALGORITHM_DETAIL_ECC prm;
        BIGNUM *bx, *bp;
        vt_key *k;
        ecc_key(cv, 11, d, x, y);
        memcpy(bad, y, sz);
        bad[sz - 1] ^= 1; /* (x, y') is not on the curve */
        assert_false(vt_ecc_point_valid(cv, x, sz, bad, sz));
        assert_null(vt_key_ecc(cv, x, sz, bad, sz, NULL, 0));
        assert_null(vt_key_ecc(cv, x, sz, bad, sz, d, sz));
        assert_int_equal(vt_ecc_mul(cv, d, sz, x, sz, bad, sz, rx, ry), -1);
        /* (0, 0) and the empty point */
        memset(bad, 0, sizeof(bad));
        assert_false(vt_ecc_point_valid(cv, bad, sz, bad, sz));
        assert_false(vt_ecc_point_valid(cv, bad, 0, bad, 0));
        /* x + p: the same point modulo p, but not a field element */
        assert_int_equal(vt_ecc_parameters(cv, &prm), 0);
        bx = BN_bin2bn(x, (int)sz, NULL);
        bp = BN_bin2bn(prm.p.buffer, prm.p.size, NULL);
        assert_true(BN_add(bx, bx, bp));
        assert_true(BN_bn2binpad(bx, xp, (int)sz + 1) > 0);
        assert_false(vt_ecc_point_valid(cv, xp, sz + 1, y, sz));
        assert_null(vt_key_ecc(cv, xp, sz + 1, y, sz, NULL, 0));
        BN_free(bx), BN_free(bp);
        /* the point is fine on its own, and with leading zeros */
        assert_true(vt_ecc_point_valid(cv, x, sz, y, sz));
        xp[0] = 0;
        memcpy(xp + 1, x, sz);
        assert_true(vt_ecc_point_valid(cv, xp, sz + 1, y, sz));
        /* the private part of another key: binding */
        k = vt_key_ecc(cv, x, sz, y, sz, d, sz);
        assert_non_null(k);
        vt_key_free(k);
        d[sz - 1] ^= 1;
        assert_null(vt_key_ecc(cv, x, sz, y, sz, d, sz));
        memset(d, 0, sz);
        assert_null(vt_key_ecc(cv, x, sz, y, sz, d, sz));
        assert_null(vt_key_ecc(cv, x, sz, y, sz, prm.n.buffer, prm.n.size)); /* d = n */
    }
    /* a curve that is not implemented */
    assert_false(vt_ecc_point_valid(TPM2_ECC_BN_P256, x, 32, y, 32));
    assert_null(vt_key_ecc(TPM2_ECC_SM2_P256, x, 32, y, 32, NULL, 0));
    /* a point of P-256 is not on P-384 */
    ecc_key(TPM2_ECC_NIST_P256, 3, d, x, y);
    assert_false(vt_ecc_point_valid(TPM2_ECC_NIST_P384, x, 32, y, 32));
}

static void ecc_parameters_p256(void **state)
{
    /* SEC 2 / FIPS 186-4 D.1.2.3 */
    static const char p[] = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
    static const char a[] = "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc";
    static const char b[] = "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b";
    static const char gx[] = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
    static const char n[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    TPMS_ALGORITHM_DETAIL_ECC prm;
    const struct { const char *hex; const TPM2B_ECC_PARAMETER *v; } want[] = {
        { p, &prm.p }, { a, &prm.a }, { b, &prm.b }, { gx, &prm.gX }, { n, &prm.n },
    };
    size_t i, j;

    (void)state;
    assert_int_equal(vt_ecc_parameters(TPM2_ECC_NIST_P256, &prm), 0);
    assert_int_equal(prm.curveID, TPM2_ECC_NIST_P256);
    assert_int_equal(prm.keySize, 256);
    assert_int_equal(prm.kdf.scheme, TPM2_ALG_NULL);
    assert_int_equal(prm.sign.scheme, TPM2_ALG_NULL);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(want[i].v->size, 32);
        for (j = 0; j < 32; j++) {
            unsigned byte;
            assert_int_equal(sscanf(want[i].hex + 2 * j, "%2x", &byte), 1);
            assert_int_equal(want[i].v->buffer[j], byte);
        }
    }
    assert_int_equal(prm.gY.size, 32);
    assert_int_equal(prm.h.size, 1);
    assert_int_equal(prm.h.buffer[0], 1);
    assert_int_equal(vt_ecc_parameters(TPM2_ECC_NIST_P384, &prm), 0);
    assert_int_equal(prm.keySize, 384);
    assert_int_equal(prm.p.size, 48);
    assert_int_equal(vt_ecc_parameters(TPM2_ECC_NIST_P521, &prm), 0);
    assert_int_equal(prm.keySize, 521);
    assert_int_equal(prm.n.size, 66);
    assert_int_equal(prm.p.buffer[0], 0x01);
    assert_int_equal(vt_ecc_parameters(TPM2_ECC_BN_P256, &prm), -1);
}

/* ---- AES ---- */
static const EVP_CIPHER *evp_aes(TPM2_ALG_ID mode, size_t kb)
{
    static const char *m[] = { "CFB", "CTR", "OFB", "CBC", "ECB" };
    char name[32];
    int i = mode == TPM2_ALG_CFB ? 0 : mode == TPM2_ALG_CTR ? 1 : mode == TPM2_ALG_OFB ? 2
          : mode == TPM2_ALG_CBC ? 3 : 4;
    snprintf(name, sizeof(name), "AES-%zu-%s", kb * 8, m[i]);
    return EVP_get_cipherbyname(name);
}

static void ossl_aes(TPM2_ALG_ID mode, bool enc, const uint8_t *key, size_t kb, const uint8_t *iv,
                     const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0;
    assert_int_equal(EVP_CipherInit_ex(c, evp_aes(mode, kb), NULL, key, iv, enc ? 1 : 0), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_CipherUpdate(c, out, &ol, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(c, out + ol, &fl), 1);
    assert_int_equal((size_t)(ol + fl), len);
    EVP_CIPHER_CTX_free(c);
}

/* One-shot digests and HMACs run on libcrypto's low-level SHA contexts and
 * keep keyed states between calls (crypto_openssl.c): every hash, key
 * lengths around the block size (longer keys are hashed first), messages
 * in several parts, keys repeated and alternated through the kept slots,
 * and out aliasing the key — against EVP_Digest and EVP_Q_mac. */
static void digests_and_hmacs_match_openssl(void **state)
{
    static const TPM2_ALG_ID algs[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512 };
    static const char *names[] = { "SHA1", "SHA256", "SHA384", "SHA512" };
    uint8_t keys[6][200], msg[300], out[VT_MAX_DIGEST], ref[VT_MAX_DIGEST], alias[200];
    size_t key_len[6];
    unsigned round;

    (void)state;
    assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
    for (unsigned k = 0; k < 6; k++) {
        assert_int_equal(RAND_bytes(keys[k], sizeof(keys[k])), 1);
        key_len[k] = (size_t[]){ 0, 20, 64, 65, 128, 200 }[k];
    }
    for (round = 0; round < 400; round++) {
        unsigned a = round % 4, k = (round / 4) % 6;
        size_t hl = vt_hash_size(algs[a]), ml = (round * 37u) % sizeof(msg), cut = ml / 3;
        vt_buf parts[3] = { { msg, cut }, { msg + cut, 0 }, { msg + cut, ml - cut } };
        unsigned int rl = 0;
        size_t outl = 0;

        assert_int_equal(vt_hash_parts(algs[a], parts, 3, out), hl);
        assert_int_equal(EVP_Digest(msg, ml, ref, &rl, EVP_get_digestbyname(names[a]), NULL), 1);
        assert_memory_equal(out, ref, hl);

        assert_int_equal(vt_hmac_parts(algs[a], keys[k], key_len[k], parts, 3, out), hl);
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, names[a], NULL, keys[k], key_len[k], msg, ml, ref,
                                  sizeof(ref), &outl));
        assert_int_equal(outl, hl);
        assert_memory_equal(out, ref, hl);
        /* out over the key itself, as the DRBG update does */
        memcpy(alias, keys[k], key_len[k]);
        assert_int_equal(vt_hmac_parts(algs[a], alias, key_len[k], parts, 3, alias), hl);
        assert_memory_equal(alias, ref, hl);
        if (round % 50 == 49)
            vt_crypto_forget();
    }
}

/* CFB has its own AES-NI code (aes_ni.c): random keys of every size, IVs
 * and lengths, encrypt and decrypt, in place or not, against OpenSSL's EVP
 * — the output and the IV it hands back (ivOut). */
static void aes_cfb_random_matches_openssl(void **state)
{
    static const size_t kbs[] = { 16, 24, 32 };
    uint8_t key[32], iv0[16], iv[16], in[80], out[80], ref[80], ref_iv[16];
    unsigned round;

    (void)state;
    if (!vt_aes_ni_usable())
        print_message("note: no AES-NI here, vt_aes_crypt CFB runs on EVP\n");
    for (round = 0; round < 600; round++) {
        size_t kb = kbs[round % 3], len;
        bool enc = (round / 3) % 2 == 0, inplace = (round / 6) % 2 == 0;
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int ol = 0;
        uint8_t rl;

        assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
        assert_int_equal(RAND_bytes(iv0, sizeof(iv0)), 1);
        assert_int_equal(RAND_bytes(in, sizeof(in)), 1);
        assert_int_equal(RAND_bytes(&rl, 1), 1);
        len = 1 + rl % sizeof(in);
        assert_non_null(c);
        assert_int_equal(EVP_CipherInit_ex(c, evp_aes(TPM2_ALG_CFB, kb), NULL, key, iv0, enc ? 1 : 0), 1);
        assert_int_equal(EVP_CipherUpdate(c, ref, &ol, in, (int)len), 1);
        assert_int_equal((size_t)ol, len);
        assert_int_equal(EVP_CIPHER_CTX_get_updated_iv(c, ref_iv, 16), 1);
        EVP_CIPHER_CTX_free(c);

        memcpy(iv, iv0, 16);
        if (inplace) {
            memcpy(out, in, len);
            assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, enc, key, kb, iv, out, len, out), 0);
        } else {
            assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, enc, key, kb, iv, in, len, out), 0);
        }
        assert_memory_equal(out, ref, len);
        assert_memory_equal(iv, ref_iv, 16);
    }
    /* SP 800-38A F.3.13, CFB128-AES128.Encrypt, block 1 */
    {
        static const uint8_t k[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                       0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };
        static const uint8_t p[16] = { 0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
                                       0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a };
        static const uint8_t want[16] = { 0x3b, 0x3f, 0xd9, 0x2e, 0xb7, 0x2d, 0xad, 0x20,
                                          0x33, 0x34, 0x49, 0xf8, 0xe8, 0x3c, 0xfb, 0x4a };
        for (unsigned i = 0; i < 16; i++)
            iv[i] = (uint8_t)i;
        assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, k, 16, iv, p, 16, out), 0);
        assert_memory_equal(out, want, 16);
    }
}

static void aes_modes_match_openssl(void **state)
{
    static const TPM2_ALG_ID modes[] = { TPM2_ALG_CFB, TPM2_ALG_CTR, TPM2_ALG_OFB, TPM2_ALG_CBC,
                                         TPM2_ALG_ECB };
    static const size_t kbs[] = { 16, 24, 32 };
    uint8_t key[32], iv0[16], iv[16], pt[100], ct[100], ref[100], back[100];
    size_t mi, ki;

    (void)state;
    fill(key, sizeof(key), 0x10);
    fill(iv0, sizeof(iv0), 0xA0);
    fill(pt, sizeof(pt), 0x01);
    for (mi = 0; mi < 5; mi++)
        for (ki = 0; ki < 3; ki++) {
            TPM2_ALG_ID m = modes[mi];
            bool block = m == TPM2_ALG_CBC || m == TPM2_ALG_ECB;
            size_t len = block ? 96 : 100, first = 48;
            /* one call */
            ossl_aes(m, true, key, kbs[ki], iv0, pt, len, ref);
            memcpy(iv, iv0, 16);
            assert_int_equal(vt_aes_crypt(m, true, key, kbs[ki], iv, pt, len, ct), 0);
            assert_memory_equal(ct, ref, len);
            /* two calls chained through iv (first part whole blocks) */
            memcpy(iv, iv0, 16);
            assert_int_equal(vt_aes_crypt(m, true, key, kbs[ki], iv, pt, first, ct), 0);
            if (m != TPM2_ALG_ECB)
                assert_memory_not_equal(iv, iv0, 16);
            assert_int_equal(vt_aes_crypt(m, true, key, kbs[ki], iv, pt + first, len - first,
                                          ct + first),
                             0);
            assert_memory_equal(ct, ref, len);
            /* decrypt, chained too, and against OpenSSL */
            memcpy(iv, iv0, 16);
            assert_int_equal(vt_aes_crypt(m, false, key, kbs[ki], iv, ref, first, back), 0);
            assert_int_equal(vt_aes_crypt(m, false, key, kbs[ki], iv, ref + first, len - first,
                                          back + first),
                             0);
            assert_memory_equal(back, pt, len);
            ossl_aes(m, false, key, kbs[ki], iv0, ref, len, back);
            assert_memory_equal(back, pt, len);
            /* in place */
            memcpy(back, pt, len);
            memcpy(iv, iv0, 16);
            assert_int_equal(vt_aes_crypt(m, true, key, kbs[ki], iv, back, len, back), 0);
            assert_memory_equal(back, ref, len);
            if (block) {
                memcpy(iv, iv0, 16);
                assert_int_equal(vt_aes_crypt(m, true, key, kbs[ki], iv, pt, 17, ct), -2);
            }
        }
    /* ivOut after whole blocks: CBC is the last ciphertext block, CFB too */
    memcpy(iv, iv0, 16);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_CBC, true, key, 16, iv, pt, 32, ct), 0);
    assert_memory_equal(iv, ct + 16, 16);
    memcpy(iv, iv0, 16);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, key, 16, iv, pt, 32, ct), 0);
    assert_memory_equal(iv, ct + 16, 16);
    /* a CFB partial block: the ciphertext octets lead the chaining value */
    memcpy(iv, iv0, 16);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, key, 16, iv, pt, 21, ct), 0);
    assert_memory_equal(iv, ct + 16, 5);
    /* a final partial block, AES-128: ciphertext and ivOut as swtpm (libtpms)
     * answers TPM2_EncryptDecrypt for the same key, iv and 21 octets */
    {
        static const struct { TPM2_ALG_ID mode; const char *ct, *iv; } tpm[] = {
            { TPM2_ALG_CFB, "71543d71df36dfbe92338560d0cd29fbe9fb41975f",
              "e9fb41975fd937a252617f4ad529e8c1" },
            { TPM2_ALG_OFB, "71543d71df36dfbe92338560d0cd29fb4905548164",
              "387d2b07e99e2bade073d6cf9b802d76" },
            { TPM2_ALG_CTR, "71543d71df36dfbe92338560d0cd29fb34dead18d6",
              "a0a7aeb5bcc3cad1d8dfe6edf4fb020b" },
        };
        size_t t, j;
        for (t = 0; t < 3; t++) {
            memcpy(iv, iv0, 16);
            assert_int_equal(vt_aes_crypt(tpm[t].mode, true, key, 16, iv, pt, 21, ct), 0);
            for (j = 0; j < 21; j++) {
                unsigned b;
                assert_int_equal(sscanf(tpm[t].ct + 2 * j, "%2x", &b), 1);
                assert_int_equal(ct[j], b);
            }
            for (j = 0; j < 16; j++) {
                unsigned b;
                assert_int_equal(sscanf(tpm[t].iv + 2 * j, "%2x", &b), 1);
                assert_int_equal(iv[j], b);
            }
        }
    }
    /* bad arguments */
    assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, key, 20, iv, pt, 16, ct), -1);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_XOR, true, key, 16, iv, pt, 16, ct), -1);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, key, 16, NULL, pt, 16, ct), -1);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_ECB, true, key, 16, NULL, pt, 16, ct), 0);
    memcpy(iv, iv0, 16);
    assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, key, 16, iv, pt, 0, ct), 0);
    assert_memory_equal(iv, iv0, 16);
}

/* ---- KDFe ---- */
static void kdfe_known_value(void **state)
{
    /* SHA-256([1]32 || Z || "SECRET\0" || u || v) || SHA-256([2]32 || ...),
     * first 48 octets; computed with Python's hashlib */
    static const char expect_hex[] = "5a9b54ae27669a1b95797d44f48a56bc2ea7e45f16c7c8555b0bd6ee0b6a7098"
                                     "cbe93ad6ac2c84f479e5952003c9d98a";
    uint8_t z[32], u[33], v[32], out[48], expect[48], block[64];
    size_t i;

    (void)state;
    for (i = 0; i < 32; i++)
        z[i] = (uint8_t)i;
    u[0] = 4;
    memset(u + 1, 0x11, 32);
    memset(v, 0x22, 32);
    for (i = 0; i < 48; i++) {
        unsigned b;
        assert_int_equal(sscanf(expect_hex + 2 * i, "%2x", &b), 1);
        expect[i] = (uint8_t)b;
    }
    assert_int_equal(vt_kdfe(TPM2_ALG_SHA256, z, 32, "SECRET", u, 33, v, 32, 384, out), 0);
    assert_memory_equal(out, expect, 48);
    /* one block by hand with EVP */
    {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        unsigned int n;
        static const uint8_t one[4] = { 0, 0, 0, 1 };
        assert_int_equal(EVP_DigestInit_ex(m, EVP_sha384(), NULL), 1);
        EVP_DigestUpdate(m, one, 4);
        EVP_DigestUpdate(m, z, 32);
        EVP_DigestUpdate(m, "IDENTITY", 9);
        EVP_DigestUpdate(m, u, 33);
        EVP_DigestUpdate(m, v, 32);
        assert_int_equal(EVP_DigestFinal_ex(m, block, &n), 1);
        EVP_MD_CTX_free(m);
        assert_int_equal(vt_kdfe(TPM2_ALG_SHA384, z, 32, "IDENTITY", u, 33, v, 32, 256, out), 0);
        assert_memory_equal(out, block, 32);
    }
    /* odd bit counts clear the unused high bits */
    assert_int_equal(vt_kdfe(TPM2_ALG_SHA256, z, 32, "SECRET", u, 33, v, 32, 12, out), 0);
    assert_int_equal(out[0], expect[0] & 0x0F);
    assert_int_equal(out[1], expect[1]);
    assert_int_equal(vt_kdfe(TPM2_ALG_NULL, z, 32, "SECRET", u, 33, v, 32, 256, out), -1);
}

/* ---- timing (VT_ASYM_BENCH=1) ---- */
static double now_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(void **state)
{
    uint8_t digest[32], sig[256], d[32], x[32], y[32], r[32], s[32], key[16], iv[16], buf[256];
    size_t sl;
    double t0, t_rsa, t_ec, t_aes;
    int i, n_rsa = 2000, n_ec = 20000, n_aes = 100000;
    vt_key *k;

    (void)state;
    if (!getenv("VT_ASYM_BENCH"))
        skip();
    fill(digest, 32, 1);
    t0 = now_cpu();
    for (i = 0; i < n_rsa; i++) {
        sl = sizeof(sig);
        assert_int_equal(vt_rsa_sign(r2048.priv, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, digest, 32, sig,
                                     &sl),
                         0);
    }
    t_rsa = (now_cpu() - t0) / n_rsa;
    ecc_key(TPM2_ECC_NIST_P256, 1, d, x, y);
    k = vt_key_ecc(TPM2_ECC_NIST_P256, x, 32, y, 32, d, 32);
    t0 = now_cpu();
    for (i = 0; i < n_ec; i++)
        assert_int_equal(vt_ecdsa_sign(k, digest, 32, r, s), 0);
    t_ec = (now_cpu() - t0) / n_ec;
    vt_key_free(k);
    fill(key, 16, 3);
    t0 = now_cpu();
    for (i = 0; i < n_aes; i++) {
        memset(iv, 0, 16);
        assert_int_equal(vt_aes_crypt(TPM2_ALG_CFB, true, key, 16, iv, buf, 64, buf), 0);
    }
    t_aes = (now_cpu() - t0) / n_aes;
    printf("# vt_rsa_sign RSA-2048 RSASSA: %.1f us/sign\n", t_rsa * 1e6);
    printf("# vt_ecdsa_sign P-256:         %.1f us/sign\n", t_ec * 1e6);
    printf("# vt_aes_crypt CFB-128 64 B:   %.2f us/call\n", t_aes * 1e6);
    {
        /* and for comparison, RSA generation */
        uint8_t n[256], p[128];
        stream st = seeded(1234);
        t0 = now_cpu();
        assert_int_equal(vt_rsa_generate(2048, 0, stream_rng, &st, n, p), 0);
        printf("# vt_rsa_generate 2048:        %.1f ms\n", (now_cpu() - t0) * 1e3);
        st = seeded(4321);
        t0 = now_cpu();
        assert_int_equal(vt_rsa_generate(4096, 0, stream_rng, &st, buf, buf), 0);
        printf("# vt_rsa_generate 4096:        %.1f ms\n", (now_cpu() - t0) * 1e3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_generation_is_deterministic),
        cmocka_unit_test(rsa_generation_rejects),
        cmocka_unit_test(rsa_generation_other_exponent),
        cmocka_unit_test(rsa_4096),
        cmocka_unit_test(rsa_key_rejects_bad_numbers),
        cmocka_unit_test(rsa_key_from_either_prime),
        cmocka_unit_test(rsa_sign_verify_all),
        cmocka_unit_test(rsa_sign_rejects),
        cmocka_unit_test(rsa_pss_verify_any_salt),
        cmocka_unit_test(rsa_encrypt_decrypt),
        cmocka_unit_test(rsa_raw),
        cmocka_unit_test(ecc_generation_is_deterministic),
        cmocka_unit_test(ecc_generation_matches_rule),
        cmocka_unit_test(ecdsa_sign_verify_all),
        cmocka_unit_test(ecdh_agreement),
        cmocka_unit_test(invalid_points_rejected),
        cmocka_unit_test(ecc_parameters_p256),
        cmocka_unit_test(aes_modes_match_openssl),
        cmocka_unit_test(aes_cfb_random_matches_openssl),
        cmocka_unit_test(digests_and_hmacs_match_openssl),
        cmocka_unit_test(kdfe_known_value),
        cmocka_unit_test(bench),
    };
    return cmocka_run_group_tests(tests, rsa_setup, rsa_teardown);
}
