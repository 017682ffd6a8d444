/* Merkle trees of RFC 6962 §2.1 (= RFC 9162 §2.1 with SHA-256): hashing,
 * proof generation (§2.1.1, §2.1.2 of RFC 6962) and verification (RFC 9162
 * §2.1.3.2 inclusion, §2.1.4.2 consistency). */
#include <string.h>

#include "tlog/tlog.h"
#include "crypto/vt_crypto.h"

void vt_tlog_leaf_hash(const void *data, size_t len, vt_tlog_hash *out)
{
    static const uint8_t prefix = 0x00;
    vt_buf parts[2] = { { &prefix, 1 }, { data, len } };
    vt_crypto_init();
    vt_hash_parts(TPM2_ALG_SHA256, parts, 2, out->h);
}

void vt_tlog_node_hash(const vt_tlog_hash *l, const vt_tlog_hash *r, vt_tlog_hash *out)
{
    static const uint8_t prefix = 0x01;
    vt_tlog_hash tmp = { { 0 } };
    vt_buf parts[3] = { { &prefix, 1 }, { l->h, 32 }, { r->h, 32 } };
    vt_crypto_init();
    vt_hash_parts(TPM2_ALG_SHA256, parts, 3, tmp.h);
    *out = tmp; /* out may alias l or r */
}

static bool hash_eq(const vt_tlog_hash *a, const vt_tlog_hash *b)
{
    return vt_ct_equal(a->h, b->h, VT_TLOG_HASH_SIZE);
}

vt_tlog_rc vt_tlog_verify_inclusion(const vt_tlog_hash *leaf, uint64_t index, uint64_t size,
                                    const vt_tlog_hash *proof, size_t n,
                                    const vt_tlog_hash *root)
{
    uint64_t fn, sn;
    vt_tlog_hash r;
    size_t i;

    if (index >= size)
        return VT_TLOG_ERANGE;
    fn = index;
    sn = size - 1;
    r = *leaf;
    for (i = 0; i < n; i++) {
        if (sn == 0)
            return VT_TLOG_EPROOF; /* proof too long */
        if ((fn & 1) || fn == sn) {
            vt_tlog_node_hash(&proof[i], &r, &r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            vt_tlog_node_hash(&r, &proof[i], &r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !hash_eq(&r, root))
        return VT_TLOG_EPROOF;
    return VT_TLOG_OK;
}

vt_tlog_rc vt_tlog_verify_consistency(uint64_t size1, uint64_t size2,
                                      const vt_tlog_hash *root1, const vt_tlog_hash *root2,
                                      const vt_tlog_hash *proof, size_t n)
{
    uint64_t fn, sn;
    vt_tlog_hash fr, sr;
    size_t i = 0;

    if (size1 > size2)
        return VT_TLOG_ERANGE;
    if (size1 == size2) /* the same tree: nothing to prove */
        return n == 0 && hash_eq(root1, root2) ? VT_TLOG_OK : VT_TLOG_EPROOF;
    if (size1 == 0) /* the empty tree is a prefix of every tree */
        return n == 0 ? VT_TLOG_OK : VT_TLOG_EPROOF;
    if (n == 0)
        return VT_TLOG_EPROOF;
    /* Step 2: when size1 is a power of 2, the proof starts (implicitly) with
     * root1. */
    if ((size1 & (size1 - 1)) == 0) {
        fr = *root1;
    } else {
        fr = proof[0];
        i = 1;
    }
    sr = fr;
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < n; i++) {
        if (sn == 0)
            return VT_TLOG_EPROOF;
        if ((fn & 1) || fn == sn) {
            vt_tlog_node_hash(&proof[i], &fr, &fr);
            vt_tlog_node_hash(&proof[i], &sr, &sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            vt_tlog_node_hash(&sr, &proof[i], &sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !hash_eq(&fr, root1) || !hash_eq(&sr, root2))
        return VT_TLOG_EPROOF;
    return VT_TLOG_OK;
}

/* ---- generation ---- */

/* The largest power of two smaller than n (n >= 2). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k) /* k * 2 < n without overflow */
        k <<= 1;
    return k;
}

/* MTH(D[start : start + n]), n >= 1; recursion depth <= 64. */
static int mth(vt_tlog_leaf_fn get, void *ctx, uint64_t start, uint64_t n, vt_tlog_hash *out)
{
    vt_tlog_hash l, r;
    uint64_t k;

    if (n == 1)
        return get(ctx, start, out);
    k = split(n);
    if (mth(get, ctx, start, k, &l) != 0 || mth(get, ctx, start + k, n - k, &r) != 0)
        return -1;
    vt_tlog_node_hash(&l, &r, out);
    return 0;
}

vt_tlog_rc vt_tlog_root(vt_tlog_leaf_fn get, void *ctx, uint64_t size, vt_tlog_hash *root)
{
    if (size == 0) { /* MTH({}) = SHA-256() */
        vt_crypto_init();
        vt_hash(TPM2_ALG_SHA256, "", 0, root->h);
        return VT_TLOG_OK;
    }
    return mth(get, ctx, 0, size, root) == 0 ? VT_TLOG_OK : VT_TLOG_ECRYPTO;
}

/* ---- generation from stored interior nodes ---- */

static unsigned log2_exact(uint64_t n) /* n a power of two */
{
    unsigned l = 0;
    while (n > 1) {
        n >>= 1;
        l++;
    }
    return l;
}

/* MTH(D[start : start + n]) where start is a multiple of the largest power
 * of two <= n (true of every range the RFC 6962 recursion visits): the left
 * part is a complete subtree, the right part recurses (depth <= 64). */
static int mth_nodes(vt_tlog_node_fn get, void *ctx, uint64_t start, uint64_t n,
                     vt_tlog_hash *out)
{
    vt_tlog_hash l, r;
    uint64_t k;
    unsigned lv;

    if ((n & (n - 1)) == 0) {
        lv = log2_exact(n);
        return get(ctx, lv, start >> lv, out);
    }
    k = split(n);
    lv = log2_exact(k);
    if (get(ctx, lv, start >> lv, &l) != 0 || mth_nodes(get, ctx, start + k, n - k, &r) != 0)
        return -1;
    vt_tlog_node_hash(&l, &r, out);
    return 0;
}

/* The proof recursion of RFC 6962 §2.1.1-2.1.2 over either source of
 * hashes: the leaf hashes (leaf set; O(size) per proof) or the stored
 * interior nodes (node set; O(log size)). */
typedef struct {
    vt_tlog_leaf_fn leaf;
    vt_tlog_node_fn node;
    void *ctx;
    vt_tlog_hash *out;
    size_t cap, n;
} proof_acc;

static int push_mth(proof_acc *a, uint64_t start, uint64_t n)
{
    int rc;
    if (a->n >= a->cap)
        return -1;
    rc = a->node ? mth_nodes(a->node, a->ctx, start, n, &a->out[a->n])
                 : mth(a->leaf, a->ctx, start, n, &a->out[a->n]);
    if (rc != 0)
        return -1;
    a->n++;
    return 0;
}

/* PATH(m, D[start : start + n]) (RFC 6962 §2.1.1).  The ranges keep the
 * alignment mth_nodes needs: a left part starts where its parent does, a
 * right part at a multiple of the parent's split. */
static int path(proof_acc *a, uint64_t m, uint64_t start, uint64_t n)
{
    uint64_t k;
    if (n == 1)
        return 0;
    k = split(n);
    if (m < k)
        return path(a, m, start, k) == 0 ? push_mth(a, start + k, n - k) : -1;
    return path(a, m - k, start + k, n - k) == 0 ? push_mth(a, start, k) : -1;
}

/* SUBPROOF(m, D[start : start + n], b) (RFC 6962 §2.1.2). */
static int subproof(proof_acc *a, uint64_t m, uint64_t start, uint64_t n, bool b)
{
    uint64_t k;
    if (m == n)
        return b ? 0 : push_mth(a, start, n);
    k = split(n);
    if (m <= k)
        return subproof(a, m, start, k, b) == 0 ? push_mth(a, start + k, n - k) : -1;
    return subproof(a, m - k, start + k, n - k, false) == 0 ? push_mth(a, start, k) : -1;
}

vt_tlog_rc vt_tlog_prove_inclusion(vt_tlog_leaf_fn get, void *ctx, uint64_t index,
                                   uint64_t size, vt_tlog_hash *proof, size_t cap, size_t *n)
{
    proof_acc a = { get, NULL, ctx, proof, cap, 0 };
    if (index >= size)
        return VT_TLOG_ERANGE;
    if (path(&a, index, 0, size) != 0)
        return VT_TLOG_ESPACE;
    *n = a.n;
    return VT_TLOG_OK;
}

vt_tlog_rc vt_tlog_prove_consistency(vt_tlog_leaf_fn get, void *ctx, uint64_t size1,
                                     uint64_t size2, vt_tlog_hash *proof, size_t cap,
                                     size_t *n)
{
    proof_acc a = { get, NULL, ctx, proof, cap, 0 };
    if (size1 > size2)
        return VT_TLOG_ERANGE;
    *n = 0;
    if (size1 == 0 || size1 == size2)
        return VT_TLOG_OK;
    if (subproof(&a, size1, 0, size2, true) != 0)
        return VT_TLOG_ESPACE;
    *n = a.n;
    return VT_TLOG_OK;
}

vt_tlog_rc vt_tlog_root_nodes(vt_tlog_node_fn get, void *ctx, uint64_t size, vt_tlog_hash *root)
{
    if (size == 0) {
        vt_crypto_init();
        vt_hash(TPM2_ALG_SHA256, "", 0, root->h);
        return VT_TLOG_OK;
    }
    return mth_nodes(get, ctx, 0, size, root) == 0 ? VT_TLOG_OK : VT_TLOG_ECRYPTO;
}

vt_tlog_rc vt_tlog_prove_inclusion_nodes(vt_tlog_node_fn get, void *ctx, uint64_t index,
                                         uint64_t size, vt_tlog_hash *proof, size_t cap,
                                         size_t *n)
{
    proof_acc a = { NULL, get, ctx, proof, cap, 0 };
    if (index >= size)
        return VT_TLOG_ERANGE;
    if (path(&a, index, 0, size) != 0)
        return a.n >= a.cap ? VT_TLOG_ESPACE : VT_TLOG_ECRYPTO;
    *n = a.n;
    return VT_TLOG_OK;
}

vt_tlog_rc vt_tlog_prove_consistency_nodes(vt_tlog_node_fn get, void *ctx, uint64_t size1,
                                           uint64_t size2, vt_tlog_hash *proof, size_t cap,
                                           size_t *n)
{
    proof_acc a = { NULL, get, ctx, proof, cap, 0 };
    if (size1 > size2)
        return VT_TLOG_ERANGE;
    *n = 0;
    if (size1 == 0 || size1 == size2)
        return VT_TLOG_OK;
    if (subproof(&a, size1, 0, size2, true) != 0)
        return a.n >= a.cap ? VT_TLOG_ESPACE : VT_TLOG_ECRYPTO;
    *n = a.n;
    return VT_TLOG_OK;
}

static uint64_t popcount64(uint64_t v)
{
    uint64_t c = 0;
    for (; v; v &= v - 1)
        c++;
    return c;
}

uint64_t vt_tlog_node_count(uint64_t size)
{
    /* sum over heights h >= 1 of floor(size / 2^h) */
    return size - popcount64(size);
}

uint64_t vt_tlog_node_pos(unsigned level, uint64_t index)
{
    /* Node (level, index) completes with leaf m = ((index + 1) << level) - 1;
     * before it come the nodes of the trees of size m and the nodes of
     * heights 1 .. level - 1 completed by the same leaf. */
    uint64_t m = ((index + 1) << level) - 1;
    return vt_tlog_node_count(m) + level - 1;
}
