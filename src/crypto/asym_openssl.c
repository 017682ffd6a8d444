/* OpenSSL 3 implementation of vt_asym.h: RSA, ECC (NIST P-256/384/521),
 * AES modes, KDFe.
 *
 * Like crypto_openssl.c, the tables here (EC groups, digests, ciphers and one
 * cipher context per AES mode and key size) are made once and shared: the
 * engine runs one command at a time per process.  The one-time set-up itself
 * goes through pthread_once.
 *
 * Secrets: private numbers are held in BN_secure_new() BIGNUMs flagged
 * constant-time and freed with BN_clear_free; octet buffers that held secrets
 * are wiped with vt_wipe before they go out of scope. */
#include "crypto/aes_ni.h"
#include "crypto/vt_asym.h"

#include "crypto/vt_crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define RSA_MAX_BYTES 512u /* 4096-bit modulus */
#define ECC_MAX_BYTES 66u  /* P-521 coordinate */
#define N_CURVES 3
#define N_SMALL_PRIMES 1800 /* odd primes used to sieve RSA prime candidates */

struct vt_key {
    EVP_PKEY *pkey;
    bool rsa;      /* else ECC */
    bool priv;     /* private part present */
    int curve;     /* index in curves[] (ECC) */
    size_t size;   /* modulus octets (RSA) or coordinate octets (ECC) */
    int bits;      /* modulus bits (RSA) */
    /* One context per operation kind, made on first use.  sign/verify keep
     * the scheme and hash they were last set up for: a repeated Sign with the
     * same scheme goes straight to EVP_PKEY_sign. */
    EVP_PKEY_CTX *sign, *verify, *crypt;
    TPM2_ALG_ID sign_scheme, sign_hash, verify_scheme, verify_hash;
};

typedef struct {
    TPM2_ECC_CURVE id;
    int nid;
    const char *name; /* OSSL_PKEY_PARAM_GROUP_NAME */
    size_t size;
    uint16_t bits;
    EC_GROUP *group;
    BIGNUM *p, *a, *b; /* curve equation, for range checks and Parameters */
} curve_info;

static struct {
    bool ok;
    curve_info curves[N_CURVES];
    EVP_MD *md[4];                  /* SHA1, SHA256, SHA384, SHA512 */
    EVP_CIPHER *aes[5][3];          /* [mode][key size] */
    pthread_key_t aes_key;          /* frees a thread's aes_tls when it ends */
    uint16_t small_primes[N_SMALL_PRIMES];
} g;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* AES contexts, made on a thread's first use and reused by it: engines run
 * on several threads at once, so a context is never shared. */
typedef struct {
    EVP_CIPHER_CTX *ctx[5][3]; /* [mode][key size] */
} aes_tls;

static _Thread_local aes_tls *aes_t;

static void aes_tls_free(void *p)
{
    aes_tls *t = p;
    int i, j;

    if (!t)
        return;
    for (i = 0; i < 5; i++)
        for (j = 0; j < 3; j++)
            EVP_CIPHER_CTX_free(t->ctx[i][j]);
    OPENSSL_free(t);
}

static void init_once(void)
{
    static const struct {
        TPM2_ECC_CURVE id;
        int nid;
        const char *name;
        size_t size;
        uint16_t bits;
    } cv[N_CURVES] = {
        { TPM2_ECC_NIST_P256, NID_X9_62_prime256v1, SN_X9_62_prime256v1, 32, 256 },
        { TPM2_ECC_NIST_P384, NID_secp384r1, SN_secp384r1, 48, 384 },
        { TPM2_ECC_NIST_P521, NID_secp521r1, SN_secp521r1, 66, 521 },
    };
    static const char *mds[4] = { "SHA1", "SHA256", "SHA384", "SHA512" };
    static const char *modes[5] = { "CFB", "CTR", "OFB", "CBC", "ECB" };
    static const unsigned key_bits[3] = { 128, 192, 256 };
    unsigned cand, n = 0;
    int i, j;

    for (i = 0; i < N_CURVES; i++) {
        curve_info *c = &g.curves[i];
        c->id = cv[i].id;
        c->nid = cv[i].nid;
        c->name = cv[i].name;
        c->size = cv[i].size;
        c->bits = cv[i].bits;
        c->group = EC_GROUP_new_by_curve_name(c->nid);
        c->p = BN_new();
        c->a = BN_new();
        c->b = BN_new();
        if (!c->group || !c->p || !c->a || !c->b ||
            EC_GROUP_get_curve(c->group, c->p, c->a, c->b, NULL) != 1)
            return;
    }
    for (i = 0; i < 4; i++)
        if (!(g.md[i] = EVP_MD_fetch(NULL, mds[i], NULL)))
            return;
    for (i = 0; i < 5; i++) {
        for (j = 0; j < 3; j++) {
            char name[32];
            snprintf(name, sizeof(name), "AES-%u-%s", key_bits[j], modes[i]);
            if (!(g.aes[i][j] = EVP_CIPHER_fetch(NULL, name, NULL)))
                return;
        }
    }
    if (pthread_key_create(&g.aes_key, aes_tls_free) != 0)
        return;
    /* odd primes by trial division against the ones found so far */
    for (cand = 3; n < N_SMALL_PRIMES; cand += 2) {
        unsigned k;
        bool prime = true;
        for (k = 0; k < n && (unsigned)g.small_primes[k] * g.small_primes[k] <= cand; k++)
            if (cand % g.small_primes[k] == 0) {
                prime = false;
                break;
            }
        if (prime)
            g.small_primes[n++] = (uint16_t)cand;
    }
    g.ok = true;
}

static bool ready(void)
{
    return pthread_once(&g_once, init_once) == 0 && g.ok;
}

static const EVP_MD *md_of(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1: return g.md[0];
    case TPM2_ALG_SHA256: return g.md[1];
    case TPM2_ALG_SHA384: return g.md[2];
    case TPM2_ALG_SHA512: return g.md[3];
    default: return NULL;
    }
}

static const curve_info *curve_of(TPM2_ECC_CURVE id)
{
    int i;

    if (!ready())
        return NULL;
    for (i = 0; i < N_CURVES; i++)
        if (g.curves[i].id == id)
            return &g.curves[i];
    return NULL;
}

/* Failures leave entries on OpenSSL's per-thread error queue; a hostile
 * client can cause many, so every failing path drops them. */
static int fail(int rc)
{
    ERR_clear_error();
    return rc;
}

static BIGNUM *bn_secret(const uint8_t *b, size_t len)
{
    BIGNUM *x = BN_secure_new();

    if (!x)
        return NULL;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    if (len > INT32_MAX || !BN_bin2bn(b, (int)len, x)) {
        BN_clear_free(x);
        return NULL;
    }
    return x;
}

static BIGNUM *bn_public(const uint8_t *b, size_t len)
{
    return len > INT32_MAX ? NULL : BN_bin2bn(b, (int)len, NULL);
}

void vt_key_free(vt_key *k)
{
    if (!k)
        return;
    EVP_PKEY_CTX_free(k->sign);
    EVP_PKEY_CTX_free(k->verify);
    EVP_PKEY_CTX_free(k->crypt);
    EVP_PKEY_free(k->pkey);
    OPENSSL_free(k);
}

static vt_key *key_new(EVP_PKEY *pkey)
{
    vt_key *k = OPENSSL_zalloc(sizeof(*k));

    if (!k) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k->pkey = pkey;
    return k;
}

/* EVP_PKEY from an OSSL_PARAM_BLD; frees the builder. */
static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
    OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    EVP_PKEY *pkey = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clears the secure block the private numbers were in */
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* ======================================================================
 * RSA
 * ====================================================================== */

static bool rsa_size_ok(unsigned bits)
{
    return bits == 1024 || bits == 2048 || bits == 3072 || bits == 4096;
}

/* Miller-Rabin (FIPS 186-5 B.3.1) of an odd w > 3: a first round with base
 * 2 throws out nearly every composite at the cost of one exponentiation,
 * then `rounds` random bases.  OpenSSL's BN_check_prime does 64 rounds;
 * FIPS 186-5 Table B.1 asks for 5 (1024-bit p and q, error 2^-112) or 4
 * (1536 and 2048 bits, 2^-128 and 2^-144) for primes generated this way.
 * w is a secret: the exponentiation runs in constant time.  1 probably
 * prime, 0 composite, -1 error. */
static int miller_rabin(const BIGNUM *w, int rounds, BN_CTX *bn)
{
    BN_MONT_CTX *mont = BN_MONT_CTX_new();
    BIGNUM *w1, *m, *b, *z, *range;
    int a, i, j, rc = -1;

    BN_CTX_start(bn);
    w1 = BN_CTX_get(bn);
    m = BN_CTX_get(bn);
    b = BN_CTX_get(bn);
    z = BN_CTX_get(bn);
    range = BN_CTX_get(bn);
    if (!range || !mont || !BN_MONT_CTX_set(mont, w, bn) || !BN_copy(w1, w) ||
        !BN_sub_word(w1, 1) || !BN_copy(range, w) || !BN_sub_word(range, 3))
        goto out;
    for (a = 1; !BN_is_bit_set(w1, a); a++) /* w - 1 = 2^a * m, m odd */
        ;
    if (!BN_rshift(m, w1, a))
        goto out;
    BN_set_flags(m, BN_FLG_CONSTTIME);
    for (i = 0; i <= rounds; i++) {
        if (i == 0) {
            if (!BN_set_word(b, 2))
                goto out;
        } else if (!BN_priv_rand_range_ex(b, range, 0, bn) || !BN_add_word(b, 2)) {
            goto out; /* b in [2, w - 2] */
        }
        if (!BN_mod_exp_mont_consttime(z, b, m, w, bn, mont))
            goto out;
        if (BN_is_one(z) || !BN_cmp(z, w1))
            continue;
        for (j = 1; j < a; j++) {
            if (!BN_mod_sqr(z, z, w, bn))
                goto out;
            if (!BN_cmp(z, w1) || BN_is_one(z))
                break;
        }
        if (j == a || BN_cmp(z, w1)) { /* never w - 1, or 1 before it */
            rc = 0;
            goto out;
        }
    }
    rc = 1;
out:
    BN_CTX_end(bn);
    BN_MONT_CTX_free(mont);
    return rc;
}

/* A prime of pbits bits with gcd(p-1, e) = 1, deterministic in the rng
 * stream: draw pbits/8 octets, set the top two bits (so that p*q has
 * exactly 2*pbits bits, and p >= sqrt(2)*2^(pbits-1) as FIPS 186-4 B.3.1
 * asks) and the low bit, then search upward in steps of 2.  Candidates are
 * sieved by the small primes (their residues are computed once per draw and
 * advanced by the step), survivors go to miller_rabin.  When the search
 * walks out of pbits bits or too far, a new candidate is drawn. */
static int rsa_prime(unsigned pbits, const BIGNUM *e, vt_rng_fn rng, void *rng_ctx, BIGNUM *p,
                     BN_CTX *bn)
{
    static const unsigned max_step = 1u << 20; /* ~1500 times the mean prime gap */
    uint8_t buf[RSA_MAX_BYTES / 2];
    uint16_t res[N_SMALL_PRIMES];
    size_t len = pbits / 8;
    BIGNUM *base = BN_secure_new(), *pm1 = BN_secure_new(), *gcd = BN_new();
    int rc = -1, draws, i;

    if (!base || !pm1 || !gcd)
        goto out;
    for (draws = 0; draws < 64 && rc != 0; draws++) {
        unsigned delta;
        if (rng(rng_ctx, buf, len) != 0)
            goto out;
        buf[0] |= 0xC0;
        buf[len - 1] |= 1;
        if (!BN_bin2bn(buf, (int)len, base))
            goto out;
        for (i = 0; i < N_SMALL_PRIMES; i++) {
            BN_ULONG r = BN_mod_word(base, g.small_primes[i]);
            if (r == (BN_ULONG)-1)
                goto out;
            res[i] = (uint16_t)r;
        }
        for (delta = 0; delta < max_step; delta += 2) {
            bool sieved = false;
            for (i = 0; i < N_SMALL_PRIMES; i++)
                if ((res[i] + delta) % g.small_primes[i] == 0) {
                    sieved = true;
                    break;
                }
            if (sieved)
                continue;
            if (!BN_copy(p, base) || !BN_add_word(p, delta))
                goto out;
            if ((unsigned)BN_num_bits(p) != pbits)
                break; /* walked past 2^pbits: draw again */
            int prime = miller_rabin(p, pbits <= 512 ? 8 : pbits <= 1024 ? 5 : 4, bn);
            if (prime < 0)
                goto out;
            if (prime == 0)
                continue;
            if (!BN_copy(pm1, p) || !BN_sub_word(pm1, 1) || !BN_gcd(gcd, pm1, e, bn))
                goto out;
            if (BN_is_one(gcd)) {
                rc = 0;
                break;
            }
        }
    }
out:
    vt_wipe(buf, sizeof(buf));
    vt_wipe(res, sizeof(res));
    BN_clear_free(base);
    BN_clear_free(pm1);
    BN_free(gcd);
    return rc;
}

int vt_rsa_generate(unsigned bits, uint32_t exponent, vt_rng_fn rng, void *rng_ctx,
                    uint8_t *n, uint8_t *p)
{
    uint32_t ev = exponent ? exponent : 65537u;
    unsigned pbits = bits / 2;
    BN_CTX *bn = NULL;
    BIGNUM *e = NULL, *bp = NULL, *bq = NULL, *bn_n = NULL, *diff = NULL;
    int rc = -1, tries;

    if (!ready() || !rsa_size_ok(bits) || !rng || !n || !p || ev < 3 || !(ev & 1))
        return -1;
    bn = BN_CTX_secure_new();
    e = BN_new();
    bp = BN_secure_new();
    bq = BN_secure_new();
    bn_n = BN_new();
    diff = BN_secure_new();
    if (!bn || !e || !bp || !bq || !bn_n || !diff || !BN_set_word(e, ev))
        goto out;
    BN_set_flags(bp, BN_FLG_CONSTTIME);
    BN_set_flags(bq, BN_FLG_CONSTTIME);
    if (rsa_prime(pbits, e, rng, rng_ctx, bp, bn) != 0)
        goto out;
    /* FIPS 186-4 B.3.3 step 5.4: |p - q| > 2^(nlen/2 - 100); q is drawn again
     * (deterministically, from the same stream) until it holds. */
    for (tries = 0; tries < 8; tries++) {
        if (rsa_prime(pbits, e, rng, rng_ctx, bq, bn) != 0 || !BN_sub(diff, bp, bq))
            goto out;
        BN_set_negative(diff, 0);
        if (BN_num_bits(diff) > (int)pbits - 100)
            break;
    }
    if (tries == 8 || !BN_mul(bn_n, bp, bq, bn) || BN_num_bits(bn_n) != (int)bits ||
        BN_bn2binpad(bn_n, n, (int)(bits / 8)) < 0 || BN_bn2binpad(bp, p, (int)pbits / 8) < 0)
        goto out;
    rc = 0;
out:
    BN_CTX_free(bn);
    BN_free(e);
    BN_clear_free(bp);
    BN_clear_free(bq);
    BN_free(bn_n);
    BN_clear_free(diff);
    return rc == 0 ? 0 : fail(-1);
}

/* CRT numbers from n, e and one factor; NULL-safe on every path. */
static EVP_PKEY *rsa_private(const BIGNUM *n, const BIGNUM *e, const uint8_t *pb, size_t p_len)
{
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *p = bn_secret(pb, p_len), *q = BN_secure_new(), *rem = BN_secure_new();
    BIGNUM *pm1 = BN_secure_new(), *qm1 = BN_secure_new(), *phi = BN_secure_new();
    BIGNUM *d = BN_secure_new(), *dp = BN_secure_new();
    BIGNUM *dq = BN_secure_new(), *qinv = BN_secure_new();
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (!bn || !p || !q || !rem || !pm1 || !qm1 || !phi || !d || !dp || !dq || !qinv)
        goto out;
    BN_set_flags(q, BN_FLG_CONSTTIME);
    BN_set_flags(d, BN_FLG_CONSTTIME);
    BN_set_flags(phi, BN_FLG_CONSTTIME);
    /* p must be a proper factor: 1 < p < n and p | n */
    if (BN_is_zero(p) || BN_is_one(p) || BN_cmp(p, n) >= 0 || !BN_div(q, rem, n, p, bn) ||
        !BN_is_zero(rem) || BN_is_one(q))
        goto out;
    /* d = e^-1 mod (p-1)(q-1): a multiple of lcm(p-1, q-1), so e*d = 1 mod
     * lambda as RFC 8017 §3.2 asks, and dP, dQ are the same; it saves the
     * (constant-time, slow) gcd that the lcm needs. */
    if (!BN_sub(pm1, p, BN_value_one()) || !BN_sub(qm1, q, BN_value_one()) ||
        !BN_mul(phi, pm1, qm1, bn) || !BN_mod_inverse(d, e, phi, bn) ||
        !BN_mod(dp, d, pm1, bn) || !BN_mod(dq, d, qm1, bn) || !BN_mod_inverse(qinv, q, p, bn))
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv))
        goto out;
    pkey = pkey_from("RSA", bld, EVP_PKEY_KEYPAIR);
    bld = NULL;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_CTX_free(bn);
    BN_clear_free(p);
    BN_clear_free(q);
    BN_clear_free(rem);
    BN_clear_free(pm1);
    BN_clear_free(qm1);
    BN_clear_free(phi);
    BN_clear_free(d);
    BN_clear_free(dp);
    BN_clear_free(dq);
    BN_clear_free(qinv);
    return pkey;
}

vt_key *vt_key_rsa(const uint8_t *n, size_t n_len, uint32_t exponent,
                   const uint8_t *p, size_t p_len)
{
    uint32_t ev = exponent ? exponent : 65537u;
    BIGNUM *bn_n = NULL, *e = NULL;
    EVP_PKEY *pkey = NULL;
    vt_key *k = NULL;
    int bits;

    if (!ready() || !n || n_len > RSA_MAX_BYTES || (p_len && !p) || p_len > RSA_MAX_BYTES ||
        ev < 3 || !(ev & 1))
        return NULL;
    bn_n = bn_public(n, n_len);
    e = BN_new();
    if (!bn_n || !e || !BN_set_word(e, ev))
        goto out;
    /* 1024..4096-bit moduli (the TPM's keyBits), odd */
    bits = BN_num_bits(bn_n);
    if (bits < 1017 || bits > 4096 || !BN_is_odd(bn_n))
        goto out;
    if (p_len) {
        pkey = rsa_private(bn_n, e, p, p_len);
    } else {
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
            OSSL_PARAM_BLD_free(bld);
            goto out;
        }
        pkey = pkey_from("RSA", bld, EVP_PKEY_PUBLIC_KEY);
    }
    if (!pkey || !(k = key_new(pkey)))
        goto out;
    k->rsa = true;
    k->priv = p_len > 0;
    k->bits = bits;
    k->size = ((size_t)bits + 7) / 8;
out:
    BN_free(bn_n);
    BN_free(e);
    if (!k)
        ERR_clear_error();
    return k;
}

static EVP_PKEY_CTX *key_ctx(vt_key *k, EVP_PKEY_CTX **slot)
{
    if (!*slot)
        *slot = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    return *slot;
}

/* PSS salt when signing: the digest length (Part 1 Annex B.7), or the
 * largest that fits when the modulus is too small for that (RFC 8017
 * §9.1.1: emLen >= hLen + sLen + 2, emLen = ceil((modBits - 1) / 8)). */
static int pss_salt(const vt_key *k, size_t hlen)
{
    size_t em_len = ((size_t)k->bits - 1 + 7) / 8;

    if (em_len < 2 * hlen + 2)
        return em_len >= hlen + 2 ? (int)(em_len - hlen - 2) : -1;
    return (int)hlen;
}

/* Set an RSA signature context up for (scheme, hash). */
static int rsa_sig_setup(vt_key *k, EVP_PKEY_CTX *ctx, bool sign, TPM2_ALG_ID scheme,
                         const EVP_MD *md)
{
    if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1)
        return -1;
    if (scheme == TPM2_ALG_RSASSA) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
            return -1;
    } else {
        int salt = sign ? pss_salt(k, (size_t)EVP_MD_get_size(md)) : RSA_PSS_SALTLEN_AUTO;
        if (salt < 0 && sign)
            return -1;
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt) != 1)
            return -1;
    }
    return EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 ? 0 : -1;
}

int vt_rsa_sign(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *digest,
                size_t digest_len, uint8_t *sig, size_t *sig_len)
{
    const EVP_MD *md = md_of(hash);
    EVP_PKEY_CTX *ctx;
    size_t len;

    if (!k || !k->rsa || !k->priv || !md || !digest || !sig || !sig_len ||
        (scheme != TPM2_ALG_RSASSA && scheme != TPM2_ALG_RSAPSS) ||
        digest_len != (size_t)EVP_MD_get_size(md) || *sig_len < k->size)
        return -1;
    if (!(ctx = key_ctx(k, &k->sign)))
        return fail(-1);
    if (k->sign_scheme != scheme || k->sign_hash != hash) {
        k->sign_scheme = TPM2_ALG_ERROR;
        if (rsa_sig_setup(k, ctx, true, scheme, md) != 0)
            return fail(-1);
        k->sign_scheme = scheme;
        k->sign_hash = hash;
    }
    len = *sig_len;
    if (EVP_PKEY_sign(ctx, sig, &len, digest, digest_len) != 1 || len != k->size)
        return fail(-1);
    *sig_len = len;
    return 0;
}

int vt_rsa_verify(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *digest,
                  size_t digest_len, const uint8_t *sig, size_t sig_len)
{
    const EVP_MD *md = md_of(hash);
    EVP_PKEY_CTX *ctx;

    if (!k || !k->rsa || !md || !digest || !sig ||
        (scheme != TPM2_ALG_RSASSA && scheme != TPM2_ALG_RSAPSS))
        return -1;
    if (digest_len != (size_t)EVP_MD_get_size(md) || sig_len != k->size)
        return 1;
    if (!(ctx = key_ctx(k, &k->verify)))
        return fail(-1);
    if (k->verify_scheme != scheme || k->verify_hash != hash) {
        k->verify_scheme = TPM2_ALG_ERROR;
        if (rsa_sig_setup(k, ctx, false, scheme, md) != 0)
            return fail(-1);
        k->verify_scheme = scheme;
        k->verify_hash = hash;
    }
    if (EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len) == 1)
        return 0;
    return fail(1);
}

/* Set the (shared) encrypt/decrypt context up for one call. */
static EVP_PKEY_CTX *rsa_crypt_setup(vt_key *k, bool enc, TPM2_ALG_ID scheme, TPM2_ALG_ID hash,
                                     const uint8_t *label, size_t label_len)
{
    EVP_PKEY_CTX *ctx = key_ctx(k, &k->crypt);
    const EVP_MD *md;

    if (!ctx || (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1)
        return NULL;
    switch (scheme) {
    case TPM2_ALG_OAEP:
        if (!(md = md_of(hash)) || (label_len && !label) ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1)
            return NULL;
        if (label_len) {
            /* the provider keeps its own copy of the label */
            OSSL_PARAM prm[2];
            prm[0] = OSSL_PARAM_construct_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL,
                                                       (void *)label, label_len);
            prm[1] = OSSL_PARAM_construct_end();
            if (EVP_PKEY_CTX_set_params(ctx, prm) != 1)
                return NULL;
        }
        return ctx;
    case TPM2_ALG_RSAES:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 ? ctx : NULL;
    case TPM2_ALG_NULL:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 ? ctx : NULL;
    default:
        return NULL;
    }
}

/* Raw RSA input: left-padded to the modulus size into buf; false when the
 * value is not below n. */
static bool rsa_raw_input(const vt_key *k, const uint8_t *in, size_t in_len, uint8_t *buf)
{
    uint8_t nb[RSA_MAX_BYTES];
    BIGNUM *n = NULL;
    bool ok;

    memset(buf, 0, k->size - in_len);
    if (in_len)
        memcpy(buf + k->size - in_len, in, in_len);
    if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        BN_bn2binpad(n, nb, (int)k->size) < 0) {
        BN_free(n);
        return false;
    }
    ok = memcmp(buf, nb, k->size) < 0; /* equal-length big-endian: memcmp orders them */
    BN_free(n);
    return ok;
}

int vt_rsa_encrypt(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *label,
                   size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t *out_len)
{
    uint8_t raw[RSA_MAX_BYTES];
    EVP_PKEY_CTX *ctx;
    size_t len, hlen, max;

    if (!k || !k->rsa || (in_len && !in) || !out || !out_len || *out_len < k->size)
        return -1;
    /* the message limits of RFC 8017 §7.1.1 / §7.2.1: -2 (TPM_RC_VALUE) */
    switch (scheme) {
    case TPM2_ALG_OAEP:
        hlen = vt_hash_size(hash);
        if (!md_of(hash) || hlen == 0)
            return -1;
        max = k->size >= 2 * hlen + 2 ? k->size - 2 * hlen - 2 : 0;
        break;
    case TPM2_ALG_RSAES: max = k->size - 11; break;
    case TPM2_ALG_NULL: max = k->size; break;
    default: return -1;
    }
    if (in_len > max)
        return -2;
    if (!in)
        in = raw; /* an empty message: OpenSSL wants a pointer all the same */
    if (scheme == TPM2_ALG_NULL) {
        if (!rsa_raw_input(k, in, in_len, raw))
            return fail(-2);
        in = raw;
        in_len = k->size;
    }
    if (!(ctx = rsa_crypt_setup(k, true, scheme, hash, label, label_len)))
        return fail(-1);
    len = *out_len;
    if (EVP_PKEY_encrypt(ctx, out, &len, in, in_len) != 1 || len != k->size)
        return fail(-1);
    *out_len = len;
    return 0;
}

int vt_rsa_decrypt(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *label,
                   size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t *out_len)
{
    uint8_t buf[RSA_MAX_BYTES], tmp[RSA_MAX_BYTES];
    EVP_PKEY_CTX *ctx;
    size_t len = sizeof(tmp);
    int rc = -1;

    if (!k || !k->rsa || !k->priv || !in || !out || !out_len || in_len == 0 || in_len > k->size)
        return -1;
    /* a short ciphertext is a number with leading zeros stripped */
    if (!rsa_raw_input(k, in, in_len, buf))
        return fail(-2); /* ciphertext not below n: TPM_RC_VALUE */
    if (!(ctx = rsa_crypt_setup(k, false, scheme, hash, label, label_len)))
        return fail(-1);
    /* OpenSSL's padding checks run in constant time; one answer, -2, for
     * every way the padding can be wrong. */
    if (EVP_PKEY_decrypt(ctx, tmp, &len, buf, k->size) != 1) {
        rc = fail(-2);
    } else if (len <= *out_len) {
        memcpy(out, tmp, len);
        *out_len = len;
        rc = 0;
    }
    vt_wipe(tmp, sizeof(tmp));
    return rc;
}

/* ======================================================================
 * ECC
 * ====================================================================== */

size_t vt_ecc_size(TPM2_ECC_CURVE curve)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256: return 32;
    case TPM2_ECC_NIST_P384: return 48;
    case TPM2_ECC_NIST_P521: return 66;
    default: return 0;
    }
}

/* The affine point (x, y) into pt, when 0 <= x, y < p and it is on the
 * curve (cofactor 1: every such point is in the group of order n). */
static bool point_load(const curve_info *c, const uint8_t *x, size_t x_len, const uint8_t *y,
                       size_t y_len, EC_POINT *pt, BN_CTX *bn)
{
    BIGNUM *bx, *by;
    bool ok = false;

    if ((x_len && !x) || (y_len && !y) || x_len > 2 * ECC_MAX_BYTES || y_len > 2 * ECC_MAX_BYTES)
        return false;
    BN_CTX_start(bn);
    bx = BN_CTX_get(bn);
    by = BN_CTX_get(bn);
    if (by && BN_bin2bn(x, (int)x_len, bx) && BN_bin2bn(y, (int)y_len, by) &&
        BN_cmp(bx, c->p) < 0 && BN_cmp(by, c->p) < 0 &&
        EC_POINT_set_affine_coordinates(c->group, pt, bx, by, bn) == 1 &&
        EC_POINT_is_on_curve(c->group, pt, bn) == 1)
        ok = true;
    BN_CTX_end(bn);
    return ok;
}

static int point_store(const curve_info *c, const EC_POINT *pt, uint8_t *x, uint8_t *y, BN_CTX *bn)
{
    BIGNUM *bx, *by;
    int rc = -1;

    if (EC_POINT_is_at_infinity(c->group, pt))
        return -1;
    BN_CTX_start(bn);
    bx = BN_CTX_get(bn);
    by = BN_CTX_get(bn);
    if (by && EC_POINT_get_affine_coordinates(c->group, pt, bx, by, bn) == 1 &&
        BN_bn2binpad(bx, x, (int)c->size) >= 0 && BN_bn2binpad(by, y, (int)c->size) >= 0)
        rc = 0;
    BN_CTX_end(bn);
    return rc;
}

/* d = (c mod (n - 1)) + 1 with c of size+8 octets from rng: FIPS 186-4
 * B.4.1 (key pair generation using extra random bits; 64 extra bits make
 * the bias negligible).  Deterministic in the stream. */
int vt_ecc_generate(TPM2_ECC_CURVE curve, vt_rng_fn rng, void *rng_ctx, uint8_t *d)
{
    const curve_info *c = curve_of(curve);
    uint8_t buf[ECC_MAX_BYTES + 8];
    BN_CTX *bn;
    BIGNUM *x, *nm1;
    int rc = -1;

    if (!c || !rng || !d)
        return -1;
    if (rng(rng_ctx, buf, c->size + 8) != 0) {
        vt_wipe(buf, sizeof(buf));
        return -1;
    }
    bn = BN_CTX_secure_new();
    x = bn_secret(buf, c->size + 8);
    nm1 = BN_dup(EC_GROUP_get0_order(c->group));
    if (bn && x && nm1 && BN_sub_word(nm1, 1) && BN_mod(x, x, nm1, bn) && BN_add_word(x, 1) &&
        BN_bn2binpad(x, d, (int)c->size) >= 0)
        rc = 0;
    vt_wipe(buf, sizeof(buf));
    BN_clear_free(x);
    BN_free(nm1);
    BN_CTX_free(bn);
    return rc == 0 ? 0 : fail(-1);
}

int vt_ecc_mul(TPM2_ECC_CURVE curve, const uint8_t *d, size_t d_len, const uint8_t *px,
               size_t px_len, const uint8_t *py, size_t py_len, uint8_t *rx, uint8_t *ry)
{
    const curve_info *c = curve_of(curve);
    BN_CTX *bn = NULL;
    BIGNUM *k = NULL;
    EC_POINT *pt = NULL, *r = NULL;
    int rc = -1;

    if (!c || (d_len && !d) || d_len > 2 * ECC_MAX_BYTES || !rx || !ry || (px && !py))
        return -1;
    bn = BN_CTX_secure_new();
    k = bn_secret(d, d_len);
    r = EC_POINT_new(c->group);
    if (!bn || !k || !r)
        goto out;
    /* the group has order n (cofactor 1): reduce, and 0 gives infinity */
    if (BN_cmp(k, EC_GROUP_get0_order(c->group)) >= 0 &&
        !BN_mod(k, k, EC_GROUP_get0_order(c->group), bn))
        goto out;
    if (BN_is_zero(k))
        goto out;
    if (px) {
        if (!(pt = EC_POINT_new(c->group)) || !point_load(c, px, px_len, py, py_len, pt, bn) ||
            EC_POINT_mul(c->group, r, NULL, pt, k, bn) != 1)
            goto out;
    } else if (EC_POINT_mul(c->group, r, k, NULL, NULL, bn) != 1) {
        goto out;
    }
    rc = point_store(c, r, rx, ry, bn);
out:
    EC_POINT_clear_free(r);
    EC_POINT_free(pt);
    BN_clear_free(k);
    BN_CTX_free(bn);
    return rc == 0 ? 0 : fail(-1);
}

bool vt_ecc_point_valid(TPM2_ECC_CURVE curve, const uint8_t *x, size_t x_len,
                        const uint8_t *y, size_t y_len)
{
    const curve_info *c = curve_of(curve);
    BN_CTX *bn;
    EC_POINT *pt;
    bool ok = false;

    if (!c)
        return false;
    bn = BN_CTX_new();
    pt = EC_POINT_new(c->group);
    if (bn && pt)
        ok = point_load(c, x, x_len, y, y_len, pt, bn);
    EC_POINT_free(pt);
    BN_CTX_free(bn);
    if (!ok)
        ERR_clear_error();
    return ok;
}

/* Also NULL when d is given but not in [1, n-1] or d*G is not (x, y): a
 * private part that does not belong to the public one (TPM_RC_BINDING). */
vt_key *vt_key_ecc(TPM2_ECC_CURVE curve, const uint8_t *x, size_t x_len, const uint8_t *y,
                   size_t y_len, const uint8_t *d, size_t d_len)
{
    const curve_info *c = curve_of(curve);
    uint8_t pub[1 + 2 * ECC_MAX_BYTES];
    BN_CTX *bn = NULL;
    BIGNUM *bd = NULL;
    EC_POINT *q = NULL, *dg = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;
    vt_key *k = NULL;

    if (!c || (d_len && !d) || d_len > 2 * ECC_MAX_BYTES)
        return NULL;
    bn = BN_CTX_secure_new();
    q = EC_POINT_new(c->group);
    if (!bn || !q || !point_load(c, x, x_len, y, y_len, q, bn))
        goto out;
    if (d_len) {
        if (!(bd = bn_secret(d, d_len)) || BN_is_zero(bd) ||
            BN_cmp(bd, EC_GROUP_get0_order(c->group)) >= 0 || !(dg = EC_POINT_new(c->group)) ||
            EC_POINT_mul(c->group, dg, bd, NULL, NULL, bn) != 1 ||
            EC_POINT_cmp(c->group, dg, q, bn) != 0)
            goto out;
    }
    if (EC_POINT_point2oct(c->group, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), bn) !=
        1 + 2 * c->size)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->name, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c->size) ||
        (bd && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd)))
        goto out;
    pkey = pkey_from("EC", bld, d_len ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    bld = NULL;
    if (!pkey || !(k = key_new(pkey)))
        goto out;
    k->curve = (int)(c - g.curves);
    k->size = c->size;
    k->priv = d_len > 0;
out:
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(q);
    EC_POINT_clear_free(dg);
    BN_clear_free(bd);
    BN_CTX_free(bn);
    if (!k)
        ERR_clear_error();
    return k;
}

int vt_ecdsa_sign(vt_key *k, const uint8_t *digest, size_t digest_len, uint8_t *r, uint8_t *s)
{
    uint8_t der[2 * ECC_MAX_BYTES + 16];
    const unsigned char *pp = der;
    size_t der_len = sizeof(der);
    ECDSA_SIG *es;
    const BIGNUM *br, *bs;
    int rc = -1;

    if (!k || k->rsa || !k->priv || (digest_len && !digest) || !r || !s)
        return -1;
    if (!k->sign) {
        /* ECDSA takes the digest as it is (no md set: any length, truncated
         * to the order's bit length as ECDSA says), so one init serves. */
        if (!key_ctx(k, &k->sign) || EVP_PKEY_sign_init(k->sign) != 1) {
            EVP_PKEY_CTX_free(k->sign);
            k->sign = NULL;
            return fail(-1);
        }
    }
    if (!digest)
        digest = der; /* digest_len is 0 */
    if (EVP_PKEY_sign(k->sign, der, &der_len, digest, digest_len) != 1 || der_len > LONG_MAX ||
        !(es = d2i_ECDSA_SIG(NULL, &pp, (long)der_len)))
        return fail(-1);
    ECDSA_SIG_get0(es, &br, &bs);
    if (BN_bn2binpad(br, r, (int)k->size) >= 0 && BN_bn2binpad(bs, s, (int)k->size) >= 0)
        rc = 0;
    ECDSA_SIG_free(es);
    return rc == 0 ? 0 : fail(-1);
}

int vt_ecdsa_verify(vt_key *k, const uint8_t *digest, size_t digest_len, const uint8_t *r,
                    size_t r_len, const uint8_t *s, size_t s_len)
{
    uint8_t der[2 * ECC_MAX_BYTES + 16];
    unsigned char *pp = der;
    ECDSA_SIG *es = NULL;
    BIGNUM *br = NULL, *bs = NULL;
    int der_len, rc = -1;

    if (!k || k->rsa || (digest_len && !digest) || (r_len && !r) || (s_len && !s))
        return -1;
    /* r and s are in [1, n-1]: longer than the order's octets cannot be */
    while (r_len && *r == 0)
        r++, r_len--;
    while (s_len && *s == 0)
        s++, s_len--;
    if (r_len == 0 || s_len == 0 || r_len > k->size || s_len > k->size)
        return 1;
    if (!k->verify && (!key_ctx(k, &k->verify) || EVP_PKEY_verify_init(k->verify) != 1)) {
        EVP_PKEY_CTX_free(k->verify);
        k->verify = NULL;
        return fail(-1);
    }
    es = ECDSA_SIG_new();
    br = BN_bin2bn(r, (int)r_len, NULL);
    bs = BN_bin2bn(s, (int)s_len, NULL);
    if (!es || !br || !bs || ECDSA_SIG_set0(es, br, bs) != 1)
        goto out;
    br = bs = NULL; /* owned by es */
    if (i2d_ECDSA_SIG(es, NULL) > (int)sizeof(der) || (der_len = i2d_ECDSA_SIG(es, &pp)) <= 0)
        goto out;
    rc = EVP_PKEY_verify(k->verify, der, (size_t)der_len, digest ? digest : der, digest_len) == 1
             ? 0
             : 1;
out:
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(es);
    if (rc != 0)
        ERR_clear_error();
    return rc;
}

static int param_out(TPM2B_ECC_PARAMETER *out, const BIGNUM *v, size_t size)
{
    if (size > sizeof(out->buffer) || BN_bn2binpad(v, out->buffer, (int)size) < 0)
        return -1;
    out->size = (UINT16)size;
    return 0;
}

/* Part 2 §11.2.5.? TPMS_ALGORITHM_DETAIL_ECC: every number at the curve's
 * size except the cofactor, given in one octet (1 for these curves). */
int vt_ecc_parameters(TPM2_ECC_CURVE curve, TPMS_ALGORITHM_DETAIL_ECC *out)
{
    const curve_info *c = curve_of(curve);
    BN_CTX *bn;
    BIGNUM *gx, *gy;
    int rc = -1;

    if (!c || !out)
        return -1;
    memset(out, 0, sizeof(*out));
    out->curveID = c->id;
    out->keySize = c->bits;
    out->kdf.scheme = TPM2_ALG_NULL;
    out->sign.scheme = TPM2_ALG_NULL;
    if (!(bn = BN_CTX_new()))
        return fail(-1);
    BN_CTX_start(bn);
    gx = BN_CTX_get(bn);
    gy = BN_CTX_get(bn);
    if (gy &&
        EC_POINT_get_affine_coordinates(c->group, EC_GROUP_get0_generator(c->group), gx, gy, bn) ==
            1 &&
        param_out(&out->p, c->p, c->size) == 0 && param_out(&out->a, c->a, c->size) == 0 &&
        param_out(&out->b, c->b, c->size) == 0 && param_out(&out->gX, gx, c->size) == 0 &&
        param_out(&out->gY, gy, c->size) == 0 &&
        param_out(&out->n, EC_GROUP_get0_order(c->group), c->size) == 0 &&
        param_out(&out->h, EC_GROUP_get0_cofactor(c->group),
                  (size_t)BN_num_bytes(EC_GROUP_get0_cofactor(c->group))) == 0)
        rc = 0;
    BN_CTX_end(bn);
    BN_CTX_free(bn);
    return rc == 0 ? 0 : fail(-1);
}

/* ======================================================================
 * AES
 * ====================================================================== */

static int aes_mode_index(TPM2_ALG_ID mode)
{
    switch (mode) {
    case TPM2_ALG_CFB: return 0;
    case TPM2_ALG_CTR: return 1;
    case TPM2_ALG_OFB: return 2;
    case TPM2_ALG_CBC: return 3;
    case TPM2_ALG_ECB: return 4;
    default: return -1;
    }
}

/* Chaining values match the TPM's (Part 3 TPM2_EncryptDecrypt ivOut): each
 * call starts on a block boundary with iv; after a final partial block the
 * iv is OpenSSL's running value, which is what the TPM hands on too: CFB the
 * last ciphertext octets over the rest of the last encrypted register, OFB
 * the last register, CTR the counter after the last block used. */
int vt_aes_crypt(TPM2_ALG_ID mode, bool encrypt, const uint8_t *key, size_t key_bytes,
                 uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
    int mi = aes_mode_index(mode), ki, outl = 0;
    EVP_CIPHER_CTX *ctx;

    if (mi < 0 || !key || (key_bytes != 16 && key_bytes != 24 && key_bytes != 32) ||
        (mode != TPM2_ALG_ECB && !iv) || (len && (!in || !out)) || len > INT32_MAX)
        return -1;
    if ((mode == TPM2_ALG_CBC || mode == TPM2_ALG_ECB) && len % 16)
        return -2;
    if (len == 0)
        return 0;
    if (mode == TPM2_ALG_CFB && vt_aes_ni_usable())
        return vt_aes_ni_cfb(encrypt, key, key_bytes, iv, in, len, out);
    if (!ready())
        return -1;
    ki = (int)key_bytes / 8 - 2;
    if (!aes_t) {
        aes_tls *t = OPENSSL_zalloc(sizeof(*t));
        if (!t || pthread_setspecific(g.aes_key, t) != 0) {
            OPENSSL_free(t);
            return fail(-1);
        }
        aes_t = t;
    }
    if (!(ctx = aes_t->ctx[mi][ki])) {
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx || EVP_CipherInit_ex2(ctx, g.aes[mi][ki], NULL, NULL, 1, NULL) != 1) {
            EVP_CIPHER_CTX_free(ctx);
            return fail(-1);
        }
        aes_t->ctx[mi][ki] = ctx;
    }
    /* cipher NULL: the context (and its provider state) is kept, only the
     * key schedule and the iv are set again */
    if (EVP_CipherInit_ex2(ctx, NULL, key, mode == TPM2_ALG_ECB ? NULL : iv, encrypt ? 1 : 0,
                           NULL) != 1 ||
        ((mode == TPM2_ALG_CBC || mode == TPM2_ALG_ECB) &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) ||
        EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len ||
        (mode != TPM2_ALG_ECB && EVP_CIPHER_CTX_get_updated_iv(ctx, iv, 16) != 1))
        return fail(-1);
    return 0;
}

/* ======================================================================
 * KDFe
 * ====================================================================== */

/* Part 1 §11.4.10.3: K(i) = H([i]32 || Z || Use || PartyUInfo || PartyVInfo),
 * i from 1, concatenated and cut to bits; Use is the label with its
 * terminating zero octet (as in vt_kdfa).  Unused high bits of the first
 * octet are cleared as KDFa does. */
int vt_kdfe(TPM2_ALG_ID hash, const uint8_t *z, size_t z_len, const char *label,
            const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len, uint32_t bits,
            uint8_t *out)
{
    size_t want = ((size_t)bits + 7) / 8, done = 0, hlen = vt_hash_size(hash);
    uint8_t ctr[4], block[VT_MAX_DIGEST];
    uint32_t counter = 0;

    if (vt_crypto_init() != 0 || hlen == 0 || !label || !out || (z_len && !z) ||
        (u_len && !u) || (v_len && !v))
        return -1;
    while (done < want) {
        vt_buf parts[5];
        size_t n;
        counter++;
        ctr[0] = (uint8_t)(counter >> 24);
        ctr[1] = (uint8_t)(counter >> 16);
        ctr[2] = (uint8_t)(counter >> 8);
        ctr[3] = (uint8_t)counter;
        parts[0] = (vt_buf){ ctr, 4 };
        parts[1] = (vt_buf){ z, z_len };
        parts[2] = (vt_buf){ label, strlen(label) + 1 };
        parts[3] = (vt_buf){ u, u_len };
        parts[4] = (vt_buf){ v, v_len };
        if (vt_hash_parts(hash, parts, 5, block) != hlen) {
            vt_wipe(block, sizeof(block));
            return -1;
        }
        n = want - done < hlen ? want - done : hlen;
        memcpy(out + done, block, n);
        done += n;
    }
    if (bits % 8)
        out[0] &= (uint8_t)((1u << (bits % 8)) - 1);
    vt_wipe(block, sizeof(block));
    return 0;
}
