/* Secret sharing, duplication wrappers and credentials (object_secret.c,
 * cmd/cmd_dup.c).  The actions are called directly (Duplicate needs a policy
 * session the dispatcher would ask for); the wire formats are checked
 * against independent OpenSSL computations: OAEP with the "DUPLICATE\0"
 * label, ECDH + KDFe, the inner wrapper's AES-CFB and integrity digest. */
#include "helpers.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

/* Does `needle` occur in the n octets at p? */
static const void *find(const uint8_t *p, size_t n, const char *needle, size_t len)
{
    size_t i;
    for (i = 0; i + len <= n; i++)
        if (memcmp(p + i, needle, len) == 0)
            return p + i;
    return NULL;
}

static test_platform tp;
static vt_engine *E;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
static size_t rsp_len;

/* Keys made once: an RSA-2048 and a P-256 storage key. */
static uint8_t rsa_n[256], rsa_p[128];
static uint8_t ecc_d[32], ecc_x[32], ecc_y[32];

static uint64_t rng_state = 0x1234567887654321ull;
static int xs_rng(void *ctx, uint8_t *out, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        out[i] = (uint8_t)(rng_state >> 11);
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(vt_crypto_init(), 0);
    assert_int_equal(vt_rsa_generate(2048, 0, xs_rng, NULL, rsa_n, rsa_p), 0);
    assert_int_equal(vt_ecc_generate(TPM2_ECC_NIST_P256, xs_rng, NULL, ecc_d), 0);
    assert_int_equal(vt_ecc_mul(TPM2_ECC_NIST_P256, ecc_d, 32, NULL, 0, NULL, 0, ecc_x, ecc_y), 0);
    return 0;
}

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

/* ---- objects ---- */

static const TPMT_SYM_DEF_OBJECT aes128cfb = { TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };

static TPMA_OBJECT storage_attrs(void)
{
    return TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
           TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
}

static vt_object *load(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens)
{
    vt_object *o = NULL;
    static const uint8_t owner[4] = { 0x40, 0, 0, 1 };
    assert_int_equal(vt_object_load(E, pub, sens, TPM2_RH_OWNER, owner, 4, &o), 0);
    return o;
}

/* The RSA storage key; public only when `priv` is false (a new parent
 * loaded with LoadExternal). */
static vt_object *rsa_parent(bool priv)
{
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE s;
    memset(&pub, 0, sizeof(pub));
    memset(&s, 0, sizeof(s));
    pub.type = TPM2_ALG_RSA;
    pub.nameAlg = TPM2_ALG_SHA256;
    pub.objectAttributes = storage_attrs();
    pub.parameters.rsaDetail.symmetric = aes128cfb;
    pub.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    pub.parameters.rsaDetail.keyBits = 2048;
    pub.unique.rsa.size = 256;
    memcpy(pub.unique.rsa.buffer, rsa_n, 256);
    s.sensitiveType = TPM2_ALG_RSA;
    s.seedValue.size = 32;
    memset(s.seedValue.buffer, 0x5A, 32);
    s.sensitive.rsa.size = 128;
    memcpy(s.sensitive.rsa.buffer, rsa_p, 128);
    return load(&pub, priv ? &s : NULL);
}

static vt_object *ecc_parent(bool priv)
{
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE s;
    memset(&pub, 0, sizeof(pub));
    memset(&s, 0, sizeof(s));
    pub.type = TPM2_ALG_ECC;
    pub.nameAlg = TPM2_ALG_SHA256;
    pub.objectAttributes = storage_attrs();
    pub.parameters.eccDetail.symmetric = aes128cfb;
    pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    pub.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    pub.unique.ecc.x.size = 32;
    memcpy(pub.unique.ecc.x.buffer, ecc_x, 32);
    pub.unique.ecc.y.size = 32;
    memcpy(pub.unique.ecc.y.buffer, ecc_y, 32);
    s.sensitiveType = TPM2_ALG_ECC;
    s.seedValue.size = 32;
    memset(s.seedValue.buffer, 0xA5, 32);
    s.sensitive.ecc.size = 32;
    memcpy(s.sensitive.ecc.buffer, ecc_d, 32);
    return load(&pub, priv ? &s : NULL);
}

/* A duplicable sealed-data object: unique = SHA-256(seed || data). */
static vt_object *sealed(TPMA_OBJECT extra, const char *data)
{
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE s;
    memset(&pub, 0, sizeof(pub));
    memset(&s, 0, sizeof(s));
    pub.type = TPM2_ALG_KEYEDHASH;
    pub.nameAlg = TPM2_ALG_SHA256;
    pub.objectAttributes = TPMA_OBJECT_USERWITHAUTH | extra;
    pub.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
    s.sensitiveType = TPM2_ALG_KEYEDHASH;
    s.authValue.size = 3;
    memcpy(s.authValue.buffer, "abc", 3);
    s.seedValue.size = 32;
    memset(s.seedValue.buffer, 0x33, 32);
    s.sensitive.bits.size = (uint16_t)strlen(data);
    memcpy(s.sensitive.bits.buffer, data, strlen(data));
    {
        vt_buf parts[2] = { { s.seedValue.buffer, 32 }, { data, strlen(data) } };
        pub.unique.keyedHash.size = (uint16_t)vt_hash_parts(TPM2_ALG_SHA256, parts, 2,
                                                             pub.unique.keyedHash.buffer);
    }
    return load(&pub, &s);
}

/* ---- calling an action directly ---- */

static uint32_t call(vt_action fn, uint32_t h1, uint32_t h2, const frame *params)
{
    vt_cmd c;
    TPM2_RC rc;
    memset(&c, 0, sizeof(c));
    c.e = E;
    c.handles[0] = h1;
    c.handles[1] = h2;
    c.n_handles = 2;
    vt_in_init(&c.in, params->b, params->n, VT_AREA_PARAM);
    vt_out_init(&c.out, rsp, sizeof(rsp));
    rc = fn(&c);
    assert_false(c.out.overflow);
    rsp_len = c.out.off;
    return rc;
}

/* The n-th TPM2B of the response (0-based): its data and size. */
static const uint8_t *rsp_2b(unsigned idx, uint16_t *size)
{
    size_t off = 0;
    unsigned i;
    for (i = 0;; i++) {
        uint16_t n;
        assert_true(off + 2 <= rsp_len);
        n = (uint16_t)(rsp[off] << 8 | rsp[off + 1]);
        assert_true(off + 2 + n <= rsp_len);
        if (i == idx) {
            *size = n;
            return rsp + off + 2;
        }
        off += 2u + n;
    }
}

static void f_sym(frame *f, bool aes)
{
    if (aes) {
        f_u16(f, TPM2_ALG_AES);
        f_u16(f, 128);
        f_u16(f, TPM2_ALG_CFB);
    } else {
        f_u16(f, TPM2_ALG_NULL);
    }
}

static void f_public(frame *f, const TPMT_PUBLIC *pub)
{
    size_t off = 0;
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off), 0);
    f_2b(f, buf, (uint16_t)off);
}

/* ---- secret sharing against OpenSSL ---- */

static EVP_PKEY *openssl_rsa_public(void)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(rsa_n, 256, NULL), *e = BN_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    BN_set_word(e, 65537);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
    params = OSSL_PARAM_BLD_to_param(b);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

static size_t openssl_oaep(const char *label, size_t label_len, const uint8_t *in, size_t n,
                           uint8_t *out)
{
    EVP_PKEY *pk = openssl_rsa_public();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    size_t out_len = 512;
    void *l = OPENSSL_memdup(label, label_len);
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)label_len), 1);
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &out_len, in, n), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return out_len;
}

static void test_secret_rsa(void **state)
{
    vt_object *k = rsa_parent(true);
    TPM2B_ENCRYPTED_SECRET sec;
    uint8_t seed[VT_MAX_DIGEST], seed2[VT_MAX_DIGEST], want[32];
    size_t len = 0, len2 = 0;
    (void)state;

    /* make → recover */
    assert_int_equal(vt_secret_make(E, k, "DUPLICATE", seed, &len, &sec), 0);
    assert_int_equal(len, 32);
    assert_int_equal(sec.size, 256);
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), 0);
    assert_int_equal(len2, 32);
    assert_memory_equal(seed, seed2, 32);
    /* The label is part of OAEP: another label does not decrypt. */
    assert_int_equal(vt_secret_recover(k, "IDENTITY", &sec, seed2, &len2), TPM2_RC_VALUE);

    /* OpenSSL encrypts with label "DUPLICATE" and its zero octet, OAEP
     * SHA-256 (the key's nameAlg): the TPM recovers the seed. */
    memset(want, 0xC3, sizeof(want));
    sec.size = (uint16_t)openssl_oaep("DUPLICATE", 10, want, 32, sec.secret);
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), 0);
    assert_int_equal(len2, 32);
    assert_memory_equal(seed2, want, 32);
    /* Without the terminating zero the label differs. */
    sec.size = (uint16_t)openssl_oaep("DUPLICATE", 9, want, 32, sec.secret);
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), TPM2_RC_VALUE);
    /* Tampered, too long, empty. */
    sec.size = (uint16_t)openssl_oaep("DUPLICATE", 10, want, 32, sec.secret);
    sec.secret[100] ^= 1;
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), TPM2_RC_VALUE);
    sec.size = 257;
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), TPM2_RC_VALUE);
    sec.size = 0;
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), TPM2_RC_VALUE);
    /* A seed longer than the nameAlg digest is refused. */
    sec.size = (uint16_t)openssl_oaep("DUPLICATE", 10, want, 20, sec.secret);
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), 0);
    assert_int_equal(len2, 20);
    {
        uint8_t big[48] = { 0 };
        sec.size = (uint16_t)openssl_oaep("DUPLICATE", 10, big, 48, sec.secret);
        assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), TPM2_RC_VALUE);
    }
}

/* Z = d * P with OpenSSL's EC_POINT API (not vt_ecc_mul). */
static void openssl_ecdh(const uint8_t *d, const uint8_t *px, const uint8_t *py, uint8_t *zx)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *p = EC_POINT_new(g), *r = EC_POINT_new(g);
    BIGNUM *bd = BN_bin2bn(d, 32, NULL), *x = BN_bin2bn(px, 32, NULL), *y = BN_bin2bn(py, 32, NULL);
    BIGNUM *rx = BN_new(), *ry = BN_new();
    assert_int_equal(EC_POINT_set_affine_coordinates(g, p, x, y, NULL), 1);
    assert_int_equal(EC_POINT_mul(g, r, NULL, p, bd, NULL), 1);
    assert_int_equal(EC_POINT_get_affine_coordinates(g, r, rx, ry, NULL), 1);
    assert_int_equal(BN_bn2binpad(rx, zx, 32), 32);
    BN_free(bd); BN_free(x); BN_free(y); BN_free(rx); BN_free(ry);
    EC_POINT_free(p); EC_POINT_free(r);
    EC_GROUP_free(g);
}

static void test_secret_ecc(void **state)
{
    vt_object *k = ecc_parent(true);
    TPM2B_ENCRYPTED_SECRET sec, bad;
    uint8_t seed[VT_MAX_DIGEST], seed2[VT_MAX_DIGEST], z[32], want[32];
    size_t len = 0, len2 = 0;
    static const uint8_t ctr[4] = { 0, 0, 0, 1 };
    (void)state;

    assert_int_equal(vt_secret_make(E, k, "IDENTITY", seed, &len, &sec), 0);
    assert_int_equal(len, 32);
    /* A marshalled TPMS_ECC_POINT of two 32-octet coordinates. */
    assert_int_equal(sec.size, 2 + 32 + 2 + 32);
    assert_int_equal(sec.secret[0] << 8 | sec.secret[1], 32);
    assert_int_equal(sec.secret[34] << 8 | sec.secret[35], 32);
    /* seed = SHA-256(00000001 || Z.x || "IDENTITY\0" || Qe.x || Qs.x),
     * Z = d * Qe, computed here with OpenSSL. */
    openssl_ecdh(ecc_d, sec.secret + 2, sec.secret + 36, z);
    {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        unsigned int n = 0;
        EVP_DigestInit_ex(m, EVP_sha256(), NULL);
        EVP_DigestUpdate(m, ctr, 4);
        EVP_DigestUpdate(m, z, 32);
        EVP_DigestUpdate(m, "IDENTITY", 9);
        EVP_DigestUpdate(m, sec.secret + 2, 32);
        EVP_DigestUpdate(m, ecc_x, 32);
        EVP_DigestFinal_ex(m, want, &n);
        EVP_MD_CTX_free(m);
        assert_int_equal(n, 32);
    }
    assert_memory_equal(seed, want, 32);
    assert_int_equal(vt_secret_recover(k, "IDENTITY", &sec, seed2, &len2), 0);
    assert_int_equal(len2, 32);
    assert_memory_equal(seed2, want, 32);
    /* Another label, another seed. */
    assert_int_equal(vt_secret_recover(k, "DUPLICATE", &sec, seed2, &len2), 0);
    assert_memory_not_equal(seed2, want, 32);

    /* A point off the curve, a short secret, trailing octets. */
    bad = sec;
    bad.secret[40] ^= 1;
    assert_int_equal(vt_secret_recover(k, "IDENTITY", &bad, seed2, &len2), TPM2_RC_ECC_POINT);
    bad = sec;
    bad.size = 50;
    assert_int_equal(vt_secret_recover(k, "IDENTITY", &bad, seed2, &len2), TPM2_RC_INSUFFICIENT);
    bad = sec;
    bad.size = 69;
    assert_int_equal(vt_secret_recover(k, "IDENTITY", &bad, seed2, &len2), TPM2_RC_SIZE);
    bad.size = 0;
    assert_int_equal(vt_secret_recover(k, "IDENTITY", &bad, seed2, &len2), TPM2_RC_INSUFFICIENT);
}

/* A new parent whose point is not on the curve cannot get a secret. */
static void test_secret_bad_public(void **state)
{
    vt_object *k = ecc_parent(false);
    TPM2B_ENCRYPTED_SECRET sec;
    uint8_t seed[VT_MAX_DIGEST];
    size_t len;
    (void)state;
    k->pub.unique.ecc.y.buffer[5] ^= 0x10;
    assert_int_equal(vt_secret_make(E, k, "DUPLICATE", seed, &len, &sec), TPM2_RC_KEY);
}

/* ---- Duplicate ---- */

static void test_duplicate_inner_only(void **state)
{
    vt_object *o = sealed(0, "top secret");
    frame f = { .n = 0 };
    uint8_t key[16], plain[1024], digest[32];
    const uint8_t *dup;
    uint16_t n, klen;
    int outl = 0;
    EVP_CIPHER_CTX *cx;
    static const uint8_t iv[16] = { 0 };
    (void)state;

    memset(key, 0x42, sizeof(key));
    f_2b(&f, key, 16);
    f_sym(&f, true);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, TPM2_RH_NULL, &f), 0);
    (void)rsp_2b(0, &klen);
    assert_int_equal(klen, 0); /* the caller's key is not echoed */
    (void)rsp_2b(2, &n);
    assert_int_equal(n, 0); /* no outer wrapper: no seed */
    dup = rsp_2b(1, &n);
    /* AES-128-CFB, IV zero (OpenSSL) */
    cx = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex(cx, EVP_aes_128_cfb128(), NULL, key, iv), 1);
    assert_int_equal(EVP_DecryptUpdate(cx, plain, &outl, dup, n), 1);
    EVP_CIPHER_CTX_free(cx);
    assert_int_equal(outl, n);
    /* TPM2B_DIGEST(SHA-256(TPM2B_SENSITIVE || Name)) || TPM2B_SENSITIVE */
    assert_int_equal(plain[0] << 8 | plain[1], 32);
    {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_DigestInit_ex(m, EVP_sha256(), NULL);
        EVP_DigestUpdate(m, plain + 34, (size_t)n - 34);
        EVP_DigestUpdate(m, o->name, o->name_len);
        EVP_DigestFinal_ex(m, digest, NULL);
        EVP_MD_CTX_free(m);
    }
    assert_memory_equal(plain + 2, digest, 32);
    assert_int_equal((plain[34] << 8 | plain[35]) + 36, n);
    assert_non_null(find(plain + 36, (size_t)n - 36, "top secret", 10));

    /* Import of the inner-only blob (no seed): fine with the same public
     * area; with another one (another Name) the inner digest fails. */
    {
        vt_object *parent = rsa_parent(true);
        TPMT_PUBLIC other = o->pub;
        uint8_t blob[1024];
        memcpy(blob, dup, n);
        f.n = 0;
        f_2b(&f, key, 16);
        f_public(&f, &o->pub);
        f_2b(&f, blob, n);
        f_u16(&f, 0);
        f_sym(&f, true);
        assert_int_equal(call(vt_cmd_import, parent->handle, 0, &f), 0);
        other.objectAttributes |= TPMA_OBJECT_NODA;
        f.n = 0;
        f_2b(&f, key, 16);
        f_public(&f, &other);
        f_2b(&f, blob, n);
        f_u16(&f, 0);
        f_sym(&f, true);
        assert_int_equal(call(vt_cmd_import, parent->handle, 0, &f), VT_RC_P(TPM2_RC_INTEGRITY, 3));
    }

    /* The TPM makes the key when the caller gives none, and returns it. */
    f.n = 0;
    f_u16(&f, 0);
    f_sym(&f, true);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, TPM2_RH_NULL, &f), 0);
    (void)rsp_2b(0, &klen);
    assert_int_equal(klen, 16);

    /* Neither wrapper: the TPM2B_SENSITIVE in the clear. */
    f.n = 0;
    f_u16(&f, 0);
    f_sym(&f, false);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, TPM2_RH_NULL, &f), 0);
    dup = rsp_2b(1, &n);
    assert_int_equal((dup[0] << 8 | dup[1]) + 2, n);
    assert_non_null(find(dup, n, "top secret", 10));
}

static void test_duplicate_errors(void **state)
{
    vt_object *fixed = sealed(TPMA_OBJECT_FIXEDPARENT, "x");
    vt_object *enc = sealed(TPMA_OBJECT_ENCRYPTEDDUPLICATION, "y");
    vt_object *o = sealed(0, "z");
    vt_object *np = rsa_parent(false);
    frame f = { .n = 0 };
    uint8_t key[32] = { 0 };
    (void)state;

    f_u16(&f, 0);
    f_sym(&f, false);
    assert_int_equal(call(vt_cmd_duplicate, fixed->handle, np->handle, &f),
                     VT_RC_H(TPM2_RC_ATTRIBUTES, 1));
    /* encryptedDuplication: inner wrapper and a new parent required */
    assert_int_equal(call(vt_cmd_duplicate, enc->handle, np->handle, &f),
                     VT_RC_P(TPM2_RC_SYMMETRIC, 2));
    f.n = 0;
    f_u16(&f, 0);
    f_sym(&f, true);
    assert_int_equal(call(vt_cmd_duplicate, enc->handle, TPM2_RH_NULL, &f),
                     VT_RC_H(TPM2_RC_HIERARCHY, 2));
    assert_int_equal(call(vt_cmd_duplicate, enc->handle, np->handle, &f), 0);
    /* the new parent must be a storage key */
    assert_int_equal(call(vt_cmd_duplicate, o->handle, o->handle, &f), VT_RC_H(TPM2_RC_TYPE, 2));
    /* key size must match the algorithm; no key without an algorithm */
    f.n = 0;
    f_2b(&f, key, 32);
    f_sym(&f, true);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), VT_RC_P(TPM2_RC_SIZE, 1));
    f.n = 0;
    f_2b(&f, key, 16);
    f_sym(&f, false);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), VT_RC_P(TPM2_RC_SIZE, 1));
    /* a cipher that is not implemented, a bad key size, a bad mode */
    f.n = 0;
    f_u16(&f, 0);
    f_u16(&f, TPM2_ALG_CAMELLIA);
    f_u16(&f, 128);
    f_u16(&f, TPM2_ALG_CFB);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), VT_RC_P(TPM2_RC_SYMMETRIC, 2));
    f.n = 0;
    f_u16(&f, 0);
    f_u16(&f, 0x7777);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), VT_RC_P(TPM2_RC_SYMMETRIC, 2));
    f.n = 0;
    f_u16(&f, 0);
    f_u16(&f, TPM2_ALG_AES);
    f_u16(&f, 100);
    f_u16(&f, TPM2_ALG_CFB);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), VT_RC_P(TPM2_RC_KEY_SIZE, 2));
    /* truncated and trailing parameters */
    f.n = 0;
    f_u16(&f, 4);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), VT_RC_P(TPM2_RC_INSUFFICIENT, 1));
    f.n = 0;
    f_u16(&f, 0);
    f_sym(&f, false);
    f_u8(&f, 0);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), TPM2_RC_SIZE);
}

/* Duplicate (outer + inner) to a public-only new parent, Import under the
 * same key with its private part: the object comes back whole. */
static void dup_import(vt_object *np, vt_object *parent)
{
    vt_object *o = sealed(0, "moving data");
    frame f = { .n = 0 };
    uint8_t key[16], dup[2048], seed[1024];
    uint16_t dup_len, seed_len, n;
    const uint8_t *p;
    TPM2B_PRIVATE priv;
    TPMT_SENSITIVE s;

    memset(key, 0x17, sizeof(key));
    f_2b(&f, key, 16);
    f_sym(&f, true);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np->handle, &f), 0);
    p = rsp_2b(1, &dup_len);
    memcpy(dup, p, dup_len);
    p = rsp_2b(2, &seed_len);
    assert_true(seed_len > 0);
    memcpy(seed, p, seed_len);

    f.n = 0;
    f_2b(&f, key, 16);
    f_public(&f, &o->pub);
    f_2b(&f, dup, dup_len);
    f_2b(&f, seed, seed_len);
    f_sym(&f, true);
    assert_int_equal(call(vt_cmd_import, parent->handle, 0, &f), 0);
    p = rsp_2b(0, &n);
    priv.size = n;
    memcpy(priv.buffer, p, n);
    /* The new private blob loads under the parent. */
    assert_int_equal(vt_sensitive_unwrap(parent, &priv, o->name, o->name_len, &s), 0);
    assert_int_equal(s.sensitive.bits.size, 11);
    assert_memory_equal(s.sensitive.bits.buffer, "moving data", 11);
    assert_memory_equal(s.authValue.buffer, "abc", 3);

    /* Wrong inner key: the inner integrity fails. */
    {
        size_t key_at = 2;
        uint32_t rc;
        f.b[key_at] ^= 1;
        /* innerIntegrity decrypts to noise: its size field is almost
         * always too large for a TPM2B_DIGEST (TPM_RC_SIZE), else the
         * digest does not match (TPM_RC_INTEGRITY). */
        rc = call(vt_cmd_import, parent->handle, 0, &f);
        assert_true(rc == VT_RC_P(TPM2_RC_SIZE, 3) || rc == VT_RC_P(TPM2_RC_INTEGRITY, 3));
        f.b[key_at] ^= 1;
    }
    /* A flipped bit in the duplicate: the outer HMAC fails. */
    {
        size_t dup_at = 2 + 16 + 2 + 0;
        uint16_t pub_len = (uint16_t)(f.b[18] << 8 | f.b[19]);
        dup_at = 18 + 2 + pub_len + 2 + 40;
        f.b[dup_at] ^= 0x80;
        assert_int_equal(call(vt_cmd_import, parent->handle, 0, &f), VT_RC_P(TPM2_RC_INTEGRITY, 3));
        f.b[dup_at] ^= 0x80;
    }
    /* Another public area (other attributes): another Name, the HMAC fails. */
    {
        TPMT_PUBLIC other = o->pub;
        frame g = { .n = 0 };
        other.objectAttributes |= TPMA_OBJECT_NODA;
        f_2b(&g, key, 16);
        f_public(&g, &other);
        f_2b(&g, dup, dup_len);
        f_2b(&g, seed, seed_len);
        f_sym(&g, true);
        assert_int_equal(call(vt_cmd_import, parent->handle, 0, &g), VT_RC_P(TPM2_RC_INTEGRITY, 3));
    }
    /* The inner wrapper cannot be skipped. */
    {
        frame g = { .n = 0 };
        f_u16(&g, 0);
        f_public(&g, &o->pub);
        f_2b(&g, dup, dup_len);
        f_2b(&g, seed, seed_len);
        f_sym(&g, false);
        assert_int_not_equal(call(vt_cmd_import, parent->handle, 0, &g), 0);
    }
}

static void test_duplicate_import_rsa(void **state)
{
    (void)state;
    dup_import(rsa_parent(false), rsa_parent(true));
}

static void test_duplicate_import_ecc(void **state)
{
    (void)state;
    dup_import(ecc_parent(false), ecc_parent(true));
}

/* ---- Import without wrappers: the binding checks ---- */

static uint32_t import_clear(vt_object *parent, const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *s)
{
    frame f = { .n = 0 };
    uint8_t buf[sizeof(TPM2B_SENSITIVE)];
    size_t off = 2;
    assert_int_equal(Tss2_MU_TPMT_SENSITIVE_Marshal(s, buf, sizeof(buf), &off), 0);
    buf[0] = (uint8_t)((off - 2) >> 8);
    buf[1] = (uint8_t)(off - 2);
    f_u16(&f, 0);
    f_public(&f, pub);
    f_2b(&f, buf, (uint16_t)off);
    f_u16(&f, 0);
    f_sym(&f, false);
    return call(vt_cmd_import, parent->handle, 0, &f);
}

static void test_import_binding(void **state)
{
    vt_object *parent = rsa_parent(true), *o = sealed(0, "bound");
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE s;
    (void)state;

    assert_int_equal(import_clear(parent, &o->pub, &o->sens), 0);
    /* keyedhash: unique must be H(seed || data) */
    s = o->sens;
    s.sensitive.bits.buffer[0] ^= 1;
    assert_int_equal(import_clear(parent, &o->pub, &s), VT_RC_P(TPM2_RC_BINDING, 3));
    s = o->sens;
    s.sensitiveType = TPM2_ALG_SYMCIPHER;
    assert_int_not_equal(import_clear(parent, &o->pub, &s), 0);

    /* ECC: d * G must be the public point */
    {
        TPMT_SENSITIVE es;
        memset(&pub, 0, sizeof(pub));
        memset(&es, 0, sizeof(es));
        pub.type = TPM2_ALG_ECC;
        pub.nameAlg = TPM2_ALG_SHA256;
        pub.objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
        pub.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        pub.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        pub.unique.ecc.x.size = 32;
        memcpy(pub.unique.ecc.x.buffer, ecc_x, 32);
        pub.unique.ecc.y.size = 32;
        memcpy(pub.unique.ecc.y.buffer, ecc_y, 32);
        es.sensitiveType = TPM2_ALG_ECC;
        es.sensitive.ecc.size = 32;
        memcpy(es.sensitive.ecc.buffer, ecc_d, 32);
        assert_int_equal(import_clear(parent, &pub, &es), 0);
        es.sensitive.ecc.buffer[31] ^= 1;
        assert_int_equal(import_clear(parent, &pub, &es), VT_RC_P(TPM2_RC_BINDING, 3));
    }
    /* RSA: the prime must divide the modulus */
    {
        TPMT_SENSITIVE rs;
        memset(&pub, 0, sizeof(pub));
        memset(&rs, 0, sizeof(rs));
        pub.type = TPM2_ALG_RSA;
        pub.nameAlg = TPM2_ALG_SHA256;
        pub.objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
        pub.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        pub.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.parameters.rsaDetail.keyBits = 2048;
        pub.unique.rsa.size = 256;
        memcpy(pub.unique.rsa.buffer, rsa_n, 256);
        rs.sensitiveType = TPM2_ALG_RSA;
        rs.sensitive.rsa.size = 128;
        memcpy(rs.sensitive.rsa.buffer, rsa_p, 128);
        assert_int_equal(import_clear(parent, &pub, &rs), 0);
        rs.sensitive.rsa.buffer[127] ^= 2;
        assert_int_equal(import_clear(parent, &pub, &rs), VT_RC_P(TPM2_RC_BINDING, 3));
    }
    /* fixedParent objects cannot be imported; the parent must be a storage key */
    pub = o->pub;
    pub.objectAttributes |= TPMA_OBJECT_FIXEDPARENT;
    assert_int_equal(import_clear(parent, &pub, &o->sens), VT_RC_P(TPM2_RC_ATTRIBUTES, 2));
    assert_int_equal(import_clear(o, &o->pub, &o->sens), VT_RC_H(TPM2_RC_TYPE, 1));
    /* encryptedDuplication needs both wrappers */
    pub = o->pub;
    pub.objectAttributes |= TPMA_OBJECT_ENCRYPTEDDUPLICATION;
    assert_int_equal(import_clear(parent, &pub, &o->sens), VT_RC_P(TPM2_RC_SYMMETRIC, 5));
}

static void test_import_bad_seed(void **state)
{
    vt_object *parent = rsa_parent(true), *o = sealed(0, "s");
    frame f = { .n = 0 };
    uint8_t junk[256];
    (void)state;
    memset(junk, 0x11, sizeof(junk));
    f_u16(&f, 0);
    f_public(&f, &o->pub);
    f_2b(&f, "abcd", 4);
    f_2b(&f, junk, 256);
    f_sym(&f, false);
    assert_int_equal(call(vt_cmd_import, parent->handle, 0, &f), VT_RC_P(TPM2_RC_VALUE, 4));
}

/* ---- Rewrap ---- */

static void test_rewrap(void **state)
{
    vt_object *o = sealed(0, "rewrapped");
    vt_object *np1 = rsa_parent(false), *p1 = rsa_parent(true);
    vt_object *np2 = ecc_parent(false), *p2 = ecc_parent(true);
    frame f = { .n = 0 };
    uint8_t dup[2048], seed[1024];
    uint16_t dup_len, seed_len, n;
    const uint8_t *p;
    TPM2B_PRIVATE priv;
    TPMT_SENSITIVE s;
    (void)state;

    f_u16(&f, 0);
    f_sym(&f, false);
    assert_int_equal(call(vt_cmd_duplicate, o->handle, np1->handle, &f), 0);
    p = rsp_2b(1, &dup_len);
    memcpy(dup, p, dup_len);
    p = rsp_2b(2, &seed_len);
    memcpy(seed, p, seed_len);

    /* RSA parent → ECC parent */
    f.n = 0;
    f_2b(&f, dup, dup_len);
    f_2b(&f, o->name, o->name_len);
    f_2b(&f, seed, seed_len);
    assert_int_equal(call(vt_cmd_rewrap, p1->handle, np2->handle, &f), 0);
    p = rsp_2b(0, &dup_len);
    memcpy(dup, p, dup_len);
    p = rsp_2b(1, &seed_len);
    memcpy(seed, p, seed_len);
    assert_int_equal(seed_len, 68);

    f.n = 0;
    f_u16(&f, 0);
    f_public(&f, &o->pub);
    f_2b(&f, dup, dup_len);
    f_2b(&f, seed, seed_len);
    f_sym(&f, false);
    assert_int_equal(call(vt_cmd_import, p2->handle, 0, &f), 0);
    p = rsp_2b(0, &n);
    priv.size = n;
    memcpy(priv.buffer, p, n);
    assert_int_equal(vt_sensitive_unwrap(p2, &priv, o->name, o->name_len, &s), 0);
    assert_memory_equal(s.sensitive.bits.buffer, "rewrapped", 9);

    /* The wrong name fails the outer HMAC; the old parent must hold its
     * private key; the new parent must be a storage key. */
    f.n = 0;
    f_2b(&f, dup, dup_len);
    f_2b(&f, p1->name, p1->name_len);
    f_2b(&f, seed, seed_len);
    assert_int_equal(call(vt_cmd_rewrap, p2->handle, TPM2_RH_NULL, &f), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    f.n = 0;
    f_2b(&f, dup, dup_len);
    f_2b(&f, o->name, o->name_len);
    f_2b(&f, seed, seed_len);
    assert_int_equal(call(vt_cmd_rewrap, np2->handle, TPM2_RH_NULL, &f), VT_RC_H(TPM2_RC_TYPE, 1));
    assert_int_equal(call(vt_cmd_rewrap, p2->handle, o->handle, &f), VT_RC_H(TPM2_RC_TYPE, 2));
    /* Outer wrapper off only (new parent NULL): the clear TPM2B_SENSITIVE. */
    assert_int_equal(call(vt_cmd_rewrap, p2->handle, TPM2_RH_NULL, &f), 0);
    p = rsp_2b(0, &n);
    assert_int_equal((p[0] << 8 | p[1]) + 2, n);
    assert_non_null(find(p, n, "rewrapped", 9));
    (void)rsp_2b(1, &n);
    assert_int_equal(n, 0);
}

/* ---- credentials ---- */

static void credential_round_trip(vt_object *ek_pub, vt_object *ek)
{
    vt_object *ak = sealed(0, "the AK stands in");
    vt_object *other = sealed(0, "another object");
    frame f = { .n = 0 };
    uint8_t cred[32], blob[512], secret[600];
    uint16_t blob_len, secret_len, n;
    const uint8_t *p;

    memset(cred, 0x77, sizeof(cred));
    f_2b(&f, cred, 32);
    f_2b(&f, ak->name, ak->name_len);
    assert_int_equal(call(vt_cmd_make_credential, ek_pub->handle, 0, &f), 0);
    p = rsp_2b(0, &blob_len);
    memcpy(blob, p, blob_len);
    /* integrityHMAC (2 + 32) || encrypted TPM2B_DIGEST (2 + 32) */
    assert_int_equal(blob_len, 2 + 32 + 2 + 32);
    p = rsp_2b(1, &secret_len);
    memcpy(secret, p, secret_len);

    f.n = 0;
    f_2b(&f, blob, blob_len);
    f_2b(&f, secret, secret_len);
    assert_int_equal(call(vt_cmd_activate_credential, ak->handle, ek->handle, &f), 0);
    p = rsp_2b(0, &n);
    assert_int_equal(n, 32);
    assert_memory_equal(p, cred, 32);

    /* For another object's Name the HMAC fails. */
    assert_int_equal(call(vt_cmd_activate_credential, other->handle, ek->handle, &f),
                     VT_RC_P(TPM2_RC_INTEGRITY, 1));
    /* A flipped bit in the blob. */
    f.b[2 + 40] ^= 4;
    assert_int_equal(call(vt_cmd_activate_credential, ak->handle, ek->handle, &f),
                     VT_RC_P(TPM2_RC_INTEGRITY, 1));
    f.b[2 + 40] ^= 4;
    /* A public-only key cannot activate. */
    assert_int_equal(call(vt_cmd_activate_credential, ak->handle, ek_pub->handle, &f),
                     VT_RC_H(TPM2_RC_KEY, 2));
    /* The activating key must be a restricted decryption key. */
    assert_int_equal(call(vt_cmd_activate_credential, ak->handle, other->handle, &f),
                     VT_RC_H(TPM2_RC_TYPE, 2));
}

static void test_credential_rsa(void **state)
{
    (void)state;
    credential_round_trip(rsa_parent(false), rsa_parent(true));
}

static void test_credential_ecc(void **state)
{
    (void)state;
    credential_round_trip(ecc_parent(false), ecc_parent(true));
}

static void test_credential_errors(void **state)
{
    vt_object *ek = rsa_parent(false), *o = sealed(0, "n");
    frame f = { .n = 0 };
    uint8_t cred[33] = { 0 };
    (void)state;

    f_2b(&f, cred, 33);
    f_2b(&f, o->name, o->name_len);
    assert_int_equal(call(vt_cmd_make_credential, ek->handle, 0, &f), VT_RC_P(TPM2_RC_SIZE, 1));
    f.n = 0;
    f_2b(&f, cred, 32);
    f_2b(&f, o->name, o->name_len);
    assert_int_equal(call(vt_cmd_make_credential, o->handle, 0, &f), VT_RC_H(TPM2_RC_TYPE, 1));
    /* an unrestricted key has no symmetric algorithm for the blob */
    ek->pub.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
    assert_int_equal(call(vt_cmd_make_credential, ek->handle, 0, &f), VT_RC_H(TPM2_RC_TYPE, 1));
    /* bad secret for ActivateCredential */
    {
        vt_object *k = rsa_parent(true);
        uint8_t junk[256];
        memset(junk, 9, sizeof(junk));
        f.n = 0;
        f_2b(&f, junk, 68);
        f_2b(&f, junk, 256);
        assert_int_equal(call(vt_cmd_activate_credential, o->handle, k->handle, &f),
                         VT_RC_P(TPM2_RC_VALUE, 2));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_secret_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_ecc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_bad_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_inner_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_import_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_import_ecc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_bad_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_ecc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
