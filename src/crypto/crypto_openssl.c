/* OpenSSL 3 implementation of vt_crypto.h. */
#include "crypto/vt_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <string.h>

struct vt_hash_ctx {
    EVP_MD_CTX *md;
    TPM2_ALG_ID alg;
};

/* Fetched once; the one-shot contexts are reused by every call so the
 * command path neither allocates nor looks algorithms up by name.  The
 * engine is single-threaded per process (one poll loop), which is what
 * makes sharing them safe. */
static struct {
    bool ready;
    EVP_MD *sha1, *sha256, *sha384, *sha512;
    EVP_MAC *hmac;
    EVP_MD_CTX *md_ctx;
    EVP_MAC_CTX *mac_ctx[4]; /* per hash, digest parameter already set */
} g;

static int hash_index(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1: return 0;
    case TPM2_ALG_SHA256: return 1;
    case TPM2_ALG_SHA384: return 2;
    case TPM2_ALG_SHA512: return 3;
    default: return -1;
    }
}

int vt_crypto_init(void)
{
    static const char *names[4] = { "SHA1", "SHA256", "SHA384", "SHA512" };
    static const uint8_t dummy_key[1];
    int i;

    if (g.ready)
        return 0;
    /* vitrum needs nothing from openssl.cnf; not reading it saves start-up
     * time and keeps a system-wide configuration out of the TPM. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    g.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    g.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g.sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    g.sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    g.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g.md_ctx = EVP_MD_CTX_new();
    if (!g.sha1 || !g.sha256 || !g.sha384 || !g.sha512 || !g.hmac || !g.md_ctx)
        return -1;
    for (i = 0; i < 4; i++) {
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)names[i], 0);
        params[1] = OSSL_PARAM_construct_end();
        g.mac_ctx[i] = EVP_MAC_CTX_new(g.hmac);
        if (!g.mac_ctx[i] || EVP_MAC_init(g.mac_ctx[i], dummy_key, 1, params) != 1)
            return -1;
    }
    g.ready = true;
    return 0;
}

static const EVP_MD *md_of(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1: return g.sha1;
    case TPM2_ALG_SHA256: return g.sha256;
    case TPM2_ALG_SHA384: return g.sha384;
    case TPM2_ALG_SHA512: return g.sha512;
    default: return NULL;
    }
}

size_t vt_hash_size(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1: return 20;
    case TPM2_ALG_SHA256: return 32;
    case TPM2_ALG_SHA384: return 48;
    case TPM2_ALG_SHA512: return 64;
    default: return 0;
    }
}

size_t vt_hash_block_size(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
    case TPM2_ALG_SHA256: return 64;
    case TPM2_ALG_SHA384:
    case TPM2_ALG_SHA512: return 128;
    default: return 0;
    }
}

vt_hash_ctx *vt_hash_ctx_new(void)
{
    vt_hash_ctx *h = OPENSSL_zalloc(sizeof(*h));
    if (!h)
        return NULL;
    h->md = EVP_MD_CTX_new();
    if (!h->md) {
        OPENSSL_free(h);
        return NULL;
    }
    return h;
}

void vt_hash_ctx_free(vt_hash_ctx *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    OPENSSL_free(h);
}

int vt_hash_start(vt_hash_ctx *h, TPM2_ALG_ID alg)
{
    const EVP_MD *md = md_of(alg);
    if (!md || EVP_DigestInit_ex(h->md, md, NULL) != 1)
        return -1;
    h->alg = alg;
    return 0;
}

int vt_hash_update(vt_hash_ctx *h, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    return EVP_DigestUpdate(h->md, data, len) == 1 ? 0 : -1;
}

size_t vt_hash_finish(vt_hash_ctx *h, uint8_t *out)
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->md, out, &n) != 1)
        return 0;
    return n;
}

int vt_hash_copy(vt_hash_ctx *dst, const vt_hash_ctx *src)
{
    if (EVP_MD_CTX_copy_ex(dst->md, src->md) != 1)
        return -1;
    dst->alg = src->alg;
    return 0;
}

size_t vt_hash_parts(TPM2_ALG_ID alg, const vt_buf *parts, size_t nparts, uint8_t *out)
{
    const EVP_MD *md = md_of(alg);
    unsigned int n = 0;
    size_t i;

    if (!md || EVP_DigestInit_ex2(g.md_ctx, md, NULL) != 1)
        return 0;
    for (i = 0; i < nparts; i++)
        if (parts[i].n && EVP_DigestUpdate(g.md_ctx, parts[i].p, parts[i].n) != 1)
            return 0;
    if (EVP_DigestFinal_ex(g.md_ctx, out, &n) != 1)
        return 0;
    return n;
}

size_t vt_hash(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out)
{
    vt_buf b = { data, len };
    return vt_hash_parts(alg, &b, 1, out);
}

size_t vt_hmac_parts(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len,
                     const vt_buf *parts, size_t nparts, uint8_t *out)
{
    static const uint8_t empty_key[1] = { 0 };
    int idx = hash_index(alg);
    EVP_MAC_CTX *c;
    size_t n = 0, i;

    if (idx < 0)
        return 0;
    c = g.mac_ctx[idx];
    /* An empty HMAC key is legal in the TPM (empty authValue); OpenSSL wants
     * a non-NULL pointer.  HMAC pads a key shorter than the block with
     * zeros, so an empty key and one zero octet are the same key. */
    if (EVP_MAC_init(c, key_len ? key : empty_key, key_len ? key_len : 1, NULL) != 1)
        return 0;
    for (i = 0; i < nparts; i++)
        if (parts[i].n && EVP_MAC_update(c, parts[i].p, parts[i].n) != 1)
            return 0;
    if (EVP_MAC_final(c, out, &n, VT_MAX_DIGEST) != 1)
        return 0;
    return n;
}

bool vt_ct_equal(const void *a, const void *b, size_t n)
{
    /* CT: CRYPTO_memcmp reads every byte, whatever the first difference. */
    return CRYPTO_memcmp(a, b, n) == 0;
}

void vt_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

int vt_kdfa(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len, const char *label,
            const uint8_t *ctx_u, size_t u_len, const uint8_t *ctx_v, size_t v_len,
            uint32_t bits, uint8_t *out)
{
    size_t want = (bits + 7) / 8, done = 0, hlen = vt_hash_size(alg);
    uint32_t counter = 0;
    uint8_t ctr[4], len_be[4], block[VT_MAX_DIGEST];

    if (hlen == 0)
        return -1;
    len_be[0] = (uint8_t)(bits >> 24);
    len_be[1] = (uint8_t)(bits >> 16);
    len_be[2] = (uint8_t)(bits >> 8);
    len_be[3] = (uint8_t)bits;
    while (done < want) {
        /* K(i) = HMAC(key, [i]32 || Label || 00 || Context U || Context V || [L]32);
         * the label's terminating zero octet is part of it. */
        vt_buf parts[5];
        size_t n;
        counter++;
        ctr[0] = (uint8_t)(counter >> 24);
        ctr[1] = (uint8_t)(counter >> 16);
        ctr[2] = (uint8_t)(counter >> 8);
        ctr[3] = (uint8_t)counter;
        parts[0] = (vt_buf){ ctr, 4 };
        parts[1] = (vt_buf){ label, strlen(label) + 1 };
        parts[2] = (vt_buf){ ctx_u, u_len };
        parts[3] = (vt_buf){ ctx_v, v_len };
        parts[4] = (vt_buf){ len_be, 4 };
        if (vt_hmac_parts(alg, key, key_len, parts, 5, block) != hlen)
            return -1;
        n = want - done < hlen ? want - done : hlen;
        memcpy(out + done, block, n);
        done += n;
    }
    /* Part 1 §11.4.10.2: unused high-order bits of the first octet are 0. */
    if (bits % 8)
        out[0] &= (uint8_t)((1u << (bits % 8)) - 1);
    vt_wipe(block, sizeof(block));
    return 0;
}
