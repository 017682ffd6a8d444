/* Secret sharing with a key: the seed of an outer wrapper (Duplicate,
 * Import, Rewrap, MakeCredential, ActivateCredential) and the salt of a
 * salted session.
 *
 *   RSA (Part 1 Annex B.10.3): seed = nameAlg-sized random octets,
 *       secret = RSAES-OAEP(key, seed) with OAEP hash = the key's nameAlg
 *       (or the hash of its OAEP scheme) and label = `label` including its
 *       terminating zero octet.
 *   ECC (Part 1 Annex C.6.4): an ephemeral pair (de, Qe) on the key's curve,
 *       Z = de * Qs, seed = KDFe(nameAlg, Z.x, label, Qe.x, Qs.x, digest
 *       bits), secret = the marshalled TPMS_ECC_POINT Qe.
 *
 * Seeds are at most VT_MAX_DIGEST octets: `seed` must have that room (the
 * incoming *seed_len is not read). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

#define MAX_ECC_BYTES 66u /* P-521 */

/* The engine's DRBG as a vt_rng_fn for ephemeral ECC keys. */
static int engine_rng(void *ctx, uint8_t *out, size_t len)
{
    return vt_random((vt_engine *)ctx, out, len) == TPM2_RC_SUCCESS ? 0 : -1;
}

/* The OAEP hash of an RSA key for secret sharing: the key's nameAlg when
 * its scheme is NULL, the scheme's hash when it is OAEP.  0 otherwise (an
 * RSAES or signing key cannot share a secret: TPM_RC_SCHEME). */
static TPM2_ALG_ID oaep_hash(const vt_object *key)
{
    const TPMT_RSA_SCHEME *s = &key->pub.parameters.rsaDetail.scheme;

    if (s->scheme == TPM2_ALG_NULL)
        return key->pub.nameAlg;
    if (s->scheme == TPM2_ALG_OAEP)
        return s->details.oaep.hashAlg;
    return 0;
}

static TPM2_RC rsa_make(vt_engine *e, vt_object *key, const char *label, uint8_t *seed,
                        size_t *seed_len, TPM2B_ENCRYPTED_SECRET *secret)
{
    TPM2_ALG_ID hash = oaep_hash(key);
    size_t slen = vt_hash_size(key->pub.nameAlg), hlen = vt_hash_size(hash);
    size_t klen = key->pub.unique.rsa.size, out_len = sizeof(secret->secret);
    vt_key *k;

    if (hash == 0)
        return TPM2_RC_SCHEME;
    if (slen == 0 || hlen == 0)
        return TPM2_RC_HASH;
    /* OAEP carries at most k - 2 hLen - 2 octets (RFC 8017 §7.1.1); a
     * modulus too small for the digest is TPM_RC_HASH (Part 3 §13.1). */
    if (klen < 2 * hlen + 2 + slen)
        return TPM2_RC_HASH;
    k = vt_object_key(key);
    if (!k)
        return TPM2_RC_KEY;
    RETURN_IF_ERROR(vt_random(e, seed, slen));
    if (vt_rsa_encrypt(k, TPM2_ALG_OAEP, hash, (const uint8_t *)label, strlen(label) + 1, seed, slen,
                       secret->secret, &out_len) != 0 ||
        out_len > sizeof(secret->secret)) {
        vt_wipe(seed, slen);
        return TPM2_RC_KEY;
    }
    secret->size = (uint16_t)out_len;
    *seed_len = slen;
    return TPM2_RC_SUCCESS;
}

static TPM2_RC rsa_recover(vt_object *key, const char *label, const TPM2B_ENCRYPTED_SECRET *secret,
                           uint8_t *seed, size_t *seed_len)
{
    TPM2_ALG_ID hash = oaep_hash(key);
    uint8_t out[sizeof(secret->secret)];
    size_t out_len = sizeof(out);
    vt_key *k;
    int r;

    if (hash == 0 || vt_hash_size(hash) == 0)
        return TPM2_RC_SCHEME;
    if (!key->has_sensitive)
        return TPM2_RC_KEY;
    k = vt_object_key(key);
    if (!k)
        return TPM2_RC_KEY;
    /* Larger than the modulus: not something this key encrypted. */
    if (secret->size == 0 || secret->size > key->pub.unique.rsa.size)
        return TPM2_RC_VALUE;
    r = vt_rsa_decrypt(k, TPM2_ALG_OAEP, hash, (const uint8_t *)label, strlen(label) + 1,
                       secret->secret, secret->size, out, &out_len);
    /* The recovered seed is at most one digest (Part 1 Annex B.10.3). */
    if (r != 0 || out_len > VT_MAX_DIGEST || out_len > vt_hash_size(key->pub.nameAlg)) {
        vt_wipe(out, sizeof(out));
        return TPM2_RC_VALUE;
    }
    memcpy(seed, out, out_len);
    *seed_len = out_len;
    vt_wipe(out, sizeof(out));
    return TPM2_RC_SUCCESS;
}

static TPM2_RC ecc_make(vt_engine *e, vt_object *key, const char *label, uint8_t *seed,
                        size_t *seed_len, TPM2B_ENCRYPTED_SECRET *secret)
{
    const TPMS_ECC_POINT *qs = &key->pub.unique.ecc;
    TPM2_ECC_CURVE curve = key->pub.parameters.eccDetail.curveID;
    size_t cs = vt_ecc_size(curve), hlen = vt_hash_size(key->pub.nameAlg), off = 0;
    uint8_t d[MAX_ECC_BYTES], zx[MAX_ECC_BYTES], zy[MAX_ECC_BYTES];
    TPMS_ECC_POINT qe;
    TPM2_RC rc = TPM2_RC_SUCCESS;

    if (cs == 0 || cs > MAX_ECC_BYTES)
        return TPM2_RC_CURVE;
    if (hlen == 0)
        return TPM2_RC_HASH;
    /* The key's point is checked before it is used (Part 3 §12.6
     * TPM_RC_KEY: a unique field not on the curve). */
    if (!vt_ecc_point_valid(curve, qs->x.buffer, qs->x.size, qs->y.buffer, qs->y.size))
        return TPM2_RC_KEY;
    memset(&qe, 0, sizeof(qe));
    if (vt_ecc_generate(curve, engine_rng, e, d) != 0 ||
        vt_ecc_mul(curve, d, cs, NULL, 0, NULL, 0, qe.x.buffer, qe.y.buffer) != 0)
        rc = TPM2_RC_FAILURE;
    else if (vt_ecc_mul(curve, d, cs, qs->x.buffer, qs->x.size, qs->y.buffer, qs->y.size, zx, zy) != 0)
        rc = TPM2_RC_KEY;
    if (rc == TPM2_RC_SUCCESS) {
        qe.x.size = (uint16_t)cs;
        qe.y.size = (uint16_t)cs;
        /* seed = KDFe(nameAlg, Z.x, label, Qe.x, Qs.x, digest bits). */
        if (vt_kdfe(key->pub.nameAlg, zx, cs, label, qe.x.buffer, cs, qs->x.buffer, qs->x.size,
                    (uint32_t)(hlen * 8), seed) != 0 ||
            Tss2_MU_TPMS_ECC_POINT_Marshal(&qe, secret->secret, sizeof(secret->secret), &off) !=
                TSS2_RC_SUCCESS)
            rc = TPM2_RC_FAILURE;
    }
    vt_wipe(d, sizeof(d));
    vt_wipe(zx, sizeof(zx));
    vt_wipe(zy, sizeof(zy));
    if (rc != TPM2_RC_SUCCESS) {
        vt_wipe(seed, hlen);
        return rc;
    }
    secret->size = (uint16_t)off;
    *seed_len = hlen;
    return TPM2_RC_SUCCESS;
}

static TPM2_RC ecc_recover(vt_object *key, const char *label, const TPM2B_ENCRYPTED_SECRET *secret,
                           uint8_t *seed, size_t *seed_len)
{
    TPM2_ECC_CURVE curve = key->pub.parameters.eccDetail.curveID;
    const TPM2B_ECC_PARAMETER *d = &key->sens.sensitive.ecc;
    size_t cs = vt_ecc_size(curve), hlen = vt_hash_size(key->pub.nameAlg), off = 0;
    uint8_t zx[MAX_ECC_BYTES], zy[MAX_ECC_BYTES];
    TPMS_ECC_POINT qe;
    int r;

    if (cs == 0 || cs > MAX_ECC_BYTES)
        return TPM2_RC_CURVE;
    if (hlen == 0)
        return TPM2_RC_HASH;
    if (!key->has_sensitive)
        return TPM2_RC_KEY;
    /* The secret is a marshalled TPMS_ECC_POINT and nothing else
     * (Part 1 Annex C.6.4). */
    memset(&qe, 0, sizeof(qe));
    if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(secret->secret, secret->size, &off, &qe) != TSS2_RC_SUCCESS)
        return TPM2_RC_INSUFFICIENT;
    if (off != secret->size)
        return TPM2_RC_SIZE;
    if (!vt_ecc_point_valid(curve, qe.x.buffer, qe.x.size, qe.y.buffer, qe.y.size))
        return TPM2_RC_ECC_POINT;
    r = vt_ecc_mul(curve, d->buffer, d->size, qe.x.buffer, qe.x.size, qe.y.buffer, qe.y.size, zx, zy);
    if (r != 0) {
        vt_wipe(zx, sizeof(zx));
        vt_wipe(zy, sizeof(zy));
        return TPM2_RC_NO_RESULT;
    }
    r = vt_kdfe(key->pub.nameAlg, zx, cs, label, qe.x.buffer, qe.x.size, key->pub.unique.ecc.x.buffer,
                key->pub.unique.ecc.x.size, (uint32_t)(hlen * 8), seed);
    vt_wipe(zx, sizeof(zx));
    vt_wipe(zy, sizeof(zy));
    if (r != 0)
        return TPM2_RC_FAILURE;
    *seed_len = hlen;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_secret_make(vt_engine *e, vt_object *key, const char *label, uint8_t *seed,
                       size_t *seed_len, TPM2B_ENCRYPTED_SECRET *secret)
{
    switch (key->pub.type) {
    case TPM2_ALG_RSA: return rsa_make(e, key, label, seed, seed_len, secret);
    case TPM2_ALG_ECC: return ecc_make(e, key, label, seed, seed_len, secret);
    default: return TPM2_RC_KEY;
    }
}

TPM2_RC vt_secret_recover(vt_object *key, const char *label, const TPM2B_ENCRYPTED_SECRET *secret,
                          uint8_t *seed, size_t *seed_len)
{
    switch (key->pub.type) {
    case TPM2_ALG_RSA: return rsa_recover(key, label, secret, seed, seed_len);
    case TPM2_ALG_ECC: return ecc_recover(key, label, secret, seed, seed_len);
    default: return TPM2_RC_KEY;
    }
}
