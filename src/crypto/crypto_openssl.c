/* OpenSSL 3 implementation of vt_crypto.h.
 *
 * One-shot digests and HMACs — what a session hashes per command: cpHash,
 * rpHash, the command and response HMACs, KDFa, the DRBG — run on
 * libcrypto's low-level SHA contexts instead of EVP.  They are the same
 * assembly (SHA-NI where the CPU has it), but a plain struct that is
 * copied by assignment, with no provider dispatch, locks or allocation: for
 * the one- to three-block messages of a session that dispatch cost more
 * than the compressions, and far more on the cold caches a TPM command
 * usually runs on (docs/PERFORMANCE.md, sessions).  Those functions are
 * deprecated in OpenSSL 3 but present in every 3.x build that keeps the
 * 3.0 API (Debian's does).  Streaming hashes (vt_hash_ctx: sequences, PCR
 * banks) stay on EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto/vt_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

struct vt_hash_ctx {
    EVP_MD_CTX *md;
    TPM2_ALG_ID alg;
};

/* The digests are fetched once per process (pthread_once) and only read
 * afterwards.  Everything that is written on the command path — the scratch
 * digest context and the keyed HMAC states — belongs to the calling thread
 * (tls below): the server runs engines on several threads, the fuzzers and
 * the tlog tools hash outside any engine, and none of them may share a
 * context. */
static struct {
    int status; /* 0 ready, -1 failed */
    EVP_MD *sha1, *sha256, *sha384, *sha512;
} g = { -1, NULL, NULL, NULL, NULL };

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* A low-level digest state of any of the four hashes. */
typedef union {
    SHA_CTX sha1;
    SHA256_CTX sha256;
    SHA512_CTX sha512; /* also SHA-384 */
} raw_md;

static bool raw_init(raw_md *c, TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1: return SHA1_Init(&c->sha1) == 1;
    case TPM2_ALG_SHA256: return SHA256_Init(&c->sha256) == 1;
    case TPM2_ALG_SHA384: return SHA384_Init(&c->sha512) == 1;
    case TPM2_ALG_SHA512: return SHA512_Init(&c->sha512) == 1;
    default: return false;
    }
}

static void raw_update(raw_md *c, TPM2_ALG_ID alg, const void *p, size_t n)
{
    if (n == 0)
        return;
    switch (alg) {
    case TPM2_ALG_SHA1: SHA1_Update(&c->sha1, p, n); break;
    case TPM2_ALG_SHA256: SHA256_Update(&c->sha256, p, n); break;
    default: SHA512_Update(&c->sha512, p, n); break; /* SHA-384 too */
    }
}

static void raw_final(raw_md *c, TPM2_ALG_ID alg, uint8_t *out)
{
    switch (alg) {
    case TPM2_ALG_SHA1: SHA1_Final(out, &c->sha1); break;
    case TPM2_ALG_SHA256: SHA256_Final(out, &c->sha256); break;
    case TPM2_ALG_SHA384: SHA384_Final(out, &c->sha512); break;
    default: SHA512_Final(out, &c->sha512); break;
    }
}

/* HMAC (RFC 2104) on the digest: a key is absorbed into an inner (key ^
 * ipad) and an outer (key ^ opad) digest state once, and every HMAC under
 * it starts from copies of the two.  A command uses the same key several
 * times (the session HMAC key for the command HMAC, KDFa and the response
 * HMAC; the DRBG key twice), so the thread keeps the states of the last
 * few keys, and vt_crypto_forget() wipes them after each command. */
#define HMAC_SLOTS 4
#define HMAC_KEY_MAX 128u /* longer keys are hashed first, as HMAC does */

typedef struct {
    bool used;
    TPM2_ALG_ID alg;
    uint32_t last; /* use stamp, for replacing the least recently used */
    size_t key_len;
    uint8_t key[HMAC_KEY_MAX];
    raw_md inner, outer;
} hmac_slot;

typedef struct {
    uint32_t clock;
    hmac_slot slot[HMAC_SLOTS];
} crypto_tls;

static pthread_key_t tls_key;
static _Thread_local crypto_tls *tls;

static void tls_free(void *p)
{
    crypto_tls *t = p;

    if (t)
        OPENSSL_clear_free(t, sizeof(*t)); /* wipes any kept key state */
}

static void init_once(void)
{
    /* vitrum needs nothing from openssl.cnf; not reading it saves start-up
     * time and keeps a system-wide configuration out of the TPM. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    g.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    g.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g.sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    g.sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    if (!g.sha1 || !g.sha256 || !g.sha384 || !g.sha512 || pthread_key_create(&tls_key, tls_free) != 0)
        return;
    g.status = 0;
}

int vt_crypto_init(void)
{
    if (pthread_once(&g_once, init_once) != 0)
        return -1;
    return g.status;
}

/* This thread's scratch state, made on its first use (freed when the
 * thread ends); NULL when out of memory. */
static crypto_tls *tls_get(void)
{
    crypto_tls *t = tls;

    if (t)
        return t;
    if (vt_crypto_init() != 0)
        return NULL;
    t = OPENSSL_zalloc(sizeof(*t));
    if (!t)
        return NULL;
    if (pthread_setspecific(tls_key, t) != 0) {
        tls_free(t);
        return NULL;
    }
    tls = t;
    return t;
}

void vt_crypto_forget(void)
{
    crypto_tls *t = tls;
    unsigned i;

    if (!t)
        return;
    for (i = 0; i < HMAC_SLOTS; i++) {
        hmac_slot *s = &t->slot[i];
        if (!s->used)
            continue;
        vt_wipe(s, sizeof(*s)); /* the key and both digest states */
    }
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
    raw_md c;
    size_t i;

    if (!raw_init(&c, alg))
        return 0;
    for (i = 0; i < nparts; i++)
        raw_update(&c, alg, parts[i].p, parts[i].n);
    raw_final(&c, alg, out);
    vt_wipe(&c, sizeof(c)); /* what was hashed may be secret */
    return vt_hash_size(alg);
}

size_t vt_hash(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out)
{
    vt_buf b = { data, len };
    return vt_hash_parts(alg, &b, 1, out);
}

/* The slot with the inner and outer states of `key` under alg: found, or
 * made in the least recently used slot.  NULL on a library failure. */
static hmac_slot *hmac_slot_for(crypto_tls *t, TPM2_ALG_ID alg, const uint8_t *key, size_t key_len)
{
    size_t bs = vt_hash_block_size(alg), i;
    uint8_t hashed[VT_MAX_DIGEST], pad[HMAC_KEY_MAX];
    hmac_slot *s = NULL;
    unsigned j;

    /* RFC 2104: a key longer than the block is replaced by its digest
     * (which gives the same HMAC, so the digest is what is kept). */
    if (key_len > bs) {
        vt_buf kb = { key, key_len };
        key_len = vt_hash_parts(alg, &kb, 1, hashed);
        if (key_len == 0)
            return NULL;
        key = hashed;
    }
    t->clock++;
    for (j = 0; j < HMAC_SLOTS; j++) {
        hmac_slot *c = &t->slot[j];
        /* CT: which slot holds the key is not secret; the comparison reads
         * all key_len octets. */
        if (c->used && c->alg == alg && c->key_len == key_len && vt_ct_equal(c->key, key, key_len)) {
            c->last = t->clock;
            vt_wipe(hashed, sizeof(hashed));
            return c;
        }
        if (!s || !c->used || (s->used && c->last < s->last))
            s = c;
    }
    memset(pad, 0, bs);
    if (key_len)
        memcpy(pad, key, key_len);
    for (i = 0; i < bs; i++)
        pad[i] ^= 0x36;
    s->used = raw_init(&s->inner, alg);
    raw_update(&s->inner, alg, pad, bs);
    for (i = 0; i < bs; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    s->used = s->used && raw_init(&s->outer, alg);
    raw_update(&s->outer, alg, pad, bs);
    vt_wipe(pad, sizeof(pad));
    if (s->used) {
        s->alg = alg;
        s->key_len = key_len;
        if (key_len)
            memcpy(s->key, key, key_len);
        s->last = t->clock;
    }
    vt_wipe(hashed, sizeof(hashed));
    return s->used ? s : NULL;
}

size_t vt_hmac_parts(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len,
                     const vt_buf *parts, size_t nparts, uint8_t *out)
{
    size_t n = vt_hash_size(alg), i;
    crypto_tls *t = tls_get();
    uint8_t inner[VT_MAX_DIGEST];
    hmac_slot *s;
    raw_md w;

    if (!n || !t || (key_len && !key) || !(s = hmac_slot_for(t, alg, key, key_len)))
        return 0;
    /* H(key ^ opad || H(key ^ ipad || text)); out may be one of the
     * parts or the key (the DRBG updates in place): it is written last. */
    w = s->inner;
    for (i = 0; i < nparts; i++)
        raw_update(&w, alg, parts[i].p, parts[i].n);
    raw_final(&w, alg, inner);
    w = s->outer;
    raw_update(&w, alg, inner, n);
    raw_final(&w, alg, out);
    vt_wipe(inner, sizeof(inner));
    vt_wipe(&w, sizeof(w));
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
