/* Signing and signature checks: TPM2_Sign (Part 3 §20.2),
 * TPM2_VerifySignature (Part 3 §20.1), and the scheme selection and signing
 * helpers the attestation commands share (object.h). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

/* ---- reading schemes and signatures ---- */

/* TPMI_ALG_SIG_SCHEME (Part 2 §11.2.1.?): the signing schemes this TPM
 * knows the shape of.  ECDAA carries a count after the hash. */
static bool is_sig_scheme(TPM2_ALG_ID a)
{
    switch (a) {
    case TPM2_ALG_RSASSA: case TPM2_ALG_RSAPSS: case TPM2_ALG_ECDSA: case TPM2_ALG_ECDAA:
    case TPM2_ALG_SM2: case TPM2_ALG_ECSCHNORR: case TPM2_ALG_HMAC:
        return true;
    default:
        return false;
    }
}

/* The signing schemes this TPM can compute (ECDAA, SM2 and ECSchnorr are
 * not implemented). */
static bool scheme_implemented(TPM2_ALG_ID a)
{
    return a == TPM2_ALG_RSASSA || a == TPM2_ALG_RSAPSS || a == TPM2_ALG_ECDSA ||
           a == TPM2_ALG_HMAC;
}

/* TPMT_SIG_SCHEME+ as one parameter.  An unknown selector is not an
 * unmarshal failure here: it is returned in ->scheme (with nothing else
 * read) so the caller answers TPM_RC_SCHEME, as the TPM's own unmarshal of
 * TPMI_ALG_SIG_SCHEME does, rather than the generic TPM_RC_VALUE. */
static TSS2_RC sig_scheme_unmarshal(const uint8_t *buf, size_t len, size_t *off, void *out)
{
    TPMT_SIG_SCHEME *s = out;
    size_t o = *off;
    TSS2_RC r;

    memset(s, 0, sizeof(*s));
    r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &s->scheme);
    if (r == TSS2_RC_SUCCESS && is_sig_scheme(s->scheme))
        r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &s->details.any.hashAlg);
    if (r == TSS2_RC_SUCCESS && s->scheme == TPM2_ALG_ECDAA)
        r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &s->details.ecdaa.count);
    if (r == TSS2_RC_SUCCESS)
        *off = o;
    return r;
}

/* Read inScheme: TPM_RC_SCHEME for an unknown scheme, TPM_RC_HASH for a
 * hash that is not implemented (TPMI_ALG_HASH has no NULL here). */
static TPM2_RC read_sig_scheme(vt_in *in, TPMT_SIG_SCHEME *s)
{
    RETURN_IF_ERROR(vt_in_mu(in, sig_scheme_unmarshal, s));
    if (s->scheme == TPM2_ALG_NULL)
        return TPM2_RC_SUCCESS;
    if (!is_sig_scheme(s->scheme))
        return vt_in_rc(in, TPM2_RC_SCHEME);
    if (vt_hash_size(s->details.any.hashAlg) == 0)
        return vt_in_rc(in, TPM2_RC_HASH);
    return TPM2_RC_SUCCESS;
}

/* TPMT_SIGNATURE as one parameter, same rule for an unknown sigAlg. */
static TSS2_RC signature_unmarshal(const uint8_t *buf, size_t len, size_t *off, void *out)
{
    TPMT_SIGNATURE *s = out;
    size_t o = *off;
    TSS2_RC r;

    memset(s, 0, sizeof(*s));
    r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &s->sigAlg);
    if (r != TSS2_RC_SUCCESS)
        return r;
    if (is_sig_scheme(s->sigAlg) || s->sigAlg == TPM2_ALG_NULL) {
        o = *off;
        r = Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &o, s);
    }
    if (r == TSS2_RC_SUCCESS)
        *off = o;
    return r;
}

/* ---- scheme selection and signing (object.h) ---- */

/* The key's own signing scheme as a TPMT_SIG_SCHEME.  false when the key
 * type cannot sign. */
static bool key_scheme(const vt_object *key, TPMT_SIG_SCHEME *ks)
{
    const TPMT_PUBLIC *p = &key->pub;

    memset(ks, 0, sizeof(*ks));
    switch (p->type) {
    case TPM2_ALG_RSA:
        ks->scheme = p->parameters.rsaDetail.scheme.scheme;
        ks->details.any.hashAlg = p->parameters.rsaDetail.scheme.details.anySig.hashAlg;
        return true;
    case TPM2_ALG_ECC:
        ks->scheme = p->parameters.eccDetail.scheme.scheme;
        ks->details.any.hashAlg = p->parameters.eccDetail.scheme.details.anySig.hashAlg;
        if (ks->scheme == TPM2_ALG_ECDAA)
            ks->details.ecdaa.count = p->parameters.eccDetail.scheme.details.ecdaa.count;
        return true;
    case TPM2_ALG_KEYEDHASH:
        ks->scheme = p->parameters.keyedHashDetail.scheme.scheme;
        if (ks->scheme == TPM2_ALG_HMAC)
            ks->details.any.hashAlg = p->parameters.keyedHashDetail.scheme.details.hmac.hashAlg;
        return true;
    default:
        return false;
    }
}

/* Can a key of `type` sign with `scheme` (Part 1 §?: RSA keys use RSASSA
 * or RSAPSS, ECC keys the ECC schemes, keyed-hash keys HMAC)? */
static bool scheme_fits_type(TPM2_ALG_ID type, TPM2_ALG_ID scheme)
{
    switch (type) {
    case TPM2_ALG_RSA:
        return scheme == TPM2_ALG_RSASSA || scheme == TPM2_ALG_RSAPSS;
    case TPM2_ALG_ECC:
        return scheme == TPM2_ALG_ECDSA || scheme == TPM2_ALG_ECDAA || scheme == TPM2_ALG_SM2 ||
               scheme == TPM2_ALG_ECSCHNORR;
    case TPM2_ALG_KEYEDHASH:
        return scheme == TPM2_ALG_HMAC;
    default:
        return false;
    }
}

TPM2_RC vt_sign_scheme(const vt_object *key, const TPMT_SIG_SCHEME *req, TPMT_SIG_SCHEME *out)
{
    TPMT_SIG_SCHEME ks;
    TPMT_SIG_SCHEME none;

    if (!req) {
        memset(&none, 0, sizeof(none));
        none.scheme = TPM2_ALG_NULL;
        req = &none;
    }
    if (!(key->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) || !key_scheme(key, &ks))
        return TPM2_RC_KEY;
    /* A keyed-hash key with the XOR scheme is a data-encryption key. */
    if (key->pub.type == TPM2_ALG_KEYEDHASH && ks.scheme != TPM2_ALG_HMAC &&
        ks.scheme != TPM2_ALG_NULL)
        return TPM2_RC_KEY;
    if (ks.scheme == TPM2_ALG_NULL) {
        /* The key leaves the choice to the caller (Part 1 §?: the
         * requested scheme must suit the key type). */
        if (req->scheme == TPM2_ALG_NULL || !scheme_fits_type(key->pub.type, req->scheme))
            return TPM2_RC_SCHEME;
        *out = *req;
    } else {
        /* The key fixes the scheme: the request is NULL or the same scheme
         * with the same hash. */
        if (req->scheme != TPM2_ALG_NULL &&
            (req->scheme != ks.scheme || req->details.any.hashAlg != ks.details.any.hashAlg))
            return TPM2_RC_SCHEME;
        *out = ks;
    }
    if (!scheme_implemented(out->scheme) || vt_hash_size(out->details.any.hashAlg) == 0)
        return TPM2_RC_SCHEME;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_sign_digest(vt_engine *e, vt_object *key, const TPMT_SIG_SCHEME *scheme,
                       const uint8_t *digest, size_t digest_len, TPMT_SIGNATURE *sig)
{
    TPM2_ALG_ID hash = scheme->details.any.hashAlg;
    vt_key *k;

    (void)e; /* ECDSA nonces come from OpenSSL's DRBG */
    memset(sig, 0, sizeof(*sig));
    if (!key->has_sensitive)
        return TPM2_RC_KEY;
    sig->sigAlg = scheme->scheme;
    switch (scheme->scheme) {
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS: {
        size_t n = sizeof(sig->signature.rsassa.sig.buffer);
        k = vt_object_key(key);
        if (!k || key->pub.type != TPM2_ALG_RSA)
            return TPM2_RC_KEY;
        sig->signature.rsassa.hash = hash;
        /* A PSS salt of the digest's length may not fit a small modulus:
         * the value cannot be signed with this key. */
        if (vt_rsa_sign(k, scheme->scheme, hash, digest, digest_len,
                        sig->signature.rsassa.sig.buffer, &n) != 0)
            return TPM2_RC_VALUE;
        sig->signature.rsassa.sig.size = (uint16_t)n;
        return TPM2_RC_SUCCESS;
    }
    case TPM2_ALG_ECDSA: {
        size_t n = vt_ecc_size(key->pub.parameters.eccDetail.curveID);
        k = vt_object_key(key);
        if (!k || key->pub.type != TPM2_ALG_ECC || n == 0 ||
            n > sizeof(sig->signature.ecdsa.signatureR.buffer))
            return TPM2_RC_KEY;
        sig->signature.ecdsa.hash = hash;
        if (vt_ecdsa_sign(k, digest, digest_len, sig->signature.ecdsa.signatureR.buffer,
                          sig->signature.ecdsa.signatureS.buffer) != 0)
            return TPM2_RC_FAILURE;
        sig->signature.ecdsa.signatureR.size = (uint16_t)n;
        sig->signature.ecdsa.signatureS.size = (uint16_t)n;
        return TPM2_RC_SUCCESS;
    }
    case TPM2_ALG_HMAC: {
        const TPM2B_SENSITIVE_DATA *bits = &key->sens.sensitive.bits;
        vt_buf part = { digest, digest_len };
        if (key->pub.type != TPM2_ALG_KEYEDHASH)
            return TPM2_RC_KEY;
        sig->signature.hmac.hashAlg = hash;
        if (vt_hmac_parts(hash, bits->buffer, bits->size, &part, 1,
                          (uint8_t *)&sig->signature.hmac.digest) == 0)
            return TPM2_RC_FAILURE;
        return TPM2_RC_SUCCESS;
    }
    default:
        return TPM2_RC_SCHEME;
    }
}

/* ---- checking a signature (Part 3 §20.1; Part 1 §? CryptValidateSignature) ---- */

/* TPM_RC_SUCCESS when `sig` is a genuine signature of `digest` by `key`,
 * TPM_RC_SIGNATURE when it is not, TPM_RC_SCHEME when the signature's
 * scheme is not one the key can make, TPM_RC_HANDLE for an HMAC key whose
 * secret is not loaded. */
TPM2_RC vt_signature_check(vt_object *key, const uint8_t *digest, size_t dlen, const TPMT_SIGNATURE *sig)
{
    vt_key *k;
    int r;

    if (!scheme_fits_type(key->pub.type, sig->sigAlg) || !scheme_implemented(sig->sigAlg))
        return TPM2_RC_SCHEME;
    switch (sig->sigAlg) {
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS:
        k = vt_object_key(key);
        if (!k)
            return TPM2_RC_KEY;
        /* The signature is as long as the modulus. */
        if (sig->signature.rsassa.sig.size != key->pub.unique.rsa.size ||
            vt_hash_size(sig->signature.rsassa.hash) != dlen)
            return TPM2_RC_SIGNATURE;
        r = vt_rsa_verify(k, sig->sigAlg, sig->signature.rsassa.hash, digest, dlen,
                          sig->signature.rsassa.sig.buffer, sig->signature.rsassa.sig.size);
        return r == 0 ? TPM2_RC_SUCCESS : TPM2_RC_SIGNATURE;
    case TPM2_ALG_ECDSA: {
        size_t n = vt_ecc_size(key->pub.parameters.eccDetail.curveID);
        k = vt_object_key(key);
        if (!k)
            return TPM2_RC_KEY;
        if (sig->signature.ecdsa.signatureR.size == 0 || sig->signature.ecdsa.signatureS.size == 0 ||
            sig->signature.ecdsa.signatureR.size > n || sig->signature.ecdsa.signatureS.size > n)
            return TPM2_RC_SIGNATURE;
        r = vt_ecdsa_verify(k, digest, dlen, sig->signature.ecdsa.signatureR.buffer,
                            sig->signature.ecdsa.signatureR.size,
                            sig->signature.ecdsa.signatureS.buffer,
                            sig->signature.ecdsa.signatureS.size);
        return r == 0 ? TPM2_RC_SUCCESS : TPM2_RC_SIGNATURE;
    }
    case TPM2_ALG_HMAC: {
        const TPMT_KEYEDHASH_SCHEME *ks = &key->pub.parameters.keyedHashDetail.scheme;
        const TPM2B_SENSITIVE_DATA *bits = &key->sens.sensitive.bits;
        TPM2_ALG_ID hash = sig->signature.hmac.hashAlg;
        uint8_t mac[VT_MAX_DIGEST];
        vt_buf part = { digest, dlen };
        size_t n;
        bool ok;

        if (!key->has_sensitive)
            return TPM2_RC_HANDLE;
        if (ks->scheme == TPM2_ALG_HMAC && ks->details.hmac.hashAlg != hash)
            return TPM2_RC_SCHEME;
        n = vt_hmac_parts(hash, bits->buffer, bits->size, &part, 1, mac);
        if (n == 0)
            return TPM2_RC_SCHEME;
        /* CT: compares the whole MAC. */
        ok = vt_ct_equal(mac, &sig->signature.hmac.digest, n);
        vt_wipe(mac, sizeof(mac));
        return ok ? TPM2_RC_SUCCESS : TPM2_RC_SIGNATURE;
    }
    default:
        return TPM2_RC_SCHEME;
    }
}

/* The object named by handle 1.  The dispatcher has checked the handle is
 * an object or a sequence; a sequence cannot sign. */
static TPM2_RC object_of(vt_cmd *c, vt_object **o)
{
    *o = vt_object_find(c->e, c->handles[0]);
    return *o ? TPM2_RC_SUCCESS : VT_RC_H(TPM2_RC_KEY, 1);
}

static bool valid_ticket_hierarchy(TPMI_RH_HIERARCHY h)
{
    return h == TPM2_RH_OWNER || h == TPM2_RH_ENDORSEMENT || h == TPM2_RH_PLATFORM ||
           h == TPM2_RH_NULL;
}

/* TPM2_Sign: digest, inScheme, validation -> signature. */
TPM2_RC vt_cmd_sign(vt_cmd *c)
{
    const uint8_t *digest;
    uint16_t dlen;
    TPMT_SIG_SCHEME req, scheme;
    TPMT_TK_HASHCHECK tk;
    TPMT_SIGNATURE sig;
    vt_object *key;
    TPM2_RC rc;
    size_t hsize;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &digest, &dlen, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(read_sig_scheme(&c->in, &req));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_TK_HASHCHECK, &tk));
    if (tk.tag != TPM2_ST_HASHCHECK)
        return vt_in_rc(&c->in, TPM2_RC_TAG);
    if (!valid_ticket_hierarchy(tk.hierarchy))
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));

    RETURN_IF_ERROR(object_of(c, &key));
    if (!(key->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
        (key->pub.type != TPM2_ALG_RSA && key->pub.type != TPM2_ALG_ECC &&
         key->pub.type != TPM2_ALG_KEYEDHASH))
        return VT_RC_H(TPM2_RC_KEY, 1);
    /* A key meant for X.509 certificates signs only through
     * TPM2_CertifyX509 (Part 2 §8.3.3.1, x509sign). */
    if (key->pub.objectAttributes & TPMA_OBJECT_X509SIGN)
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    rc = vt_sign_scheme(key, &req, &scheme);
    if (rc == TPM2_RC_KEY)
        return VT_RC_H(TPM2_RC_KEY, 1);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);
    hsize = vt_hash_size(scheme.details.any.hashAlg);

    /* A restricted key signs only digests the TPM computed itself, vouched
     * for by a hash-check ticket (Part 1 §?, Part 3 §20.2); any ticket
     * given is checked.  The ticket binds the digest, so a digest of the
     * wrong length for the scheme cannot match one. */
    if (tk.digest.size != 0 || (key->pub.objectAttributes & TPMA_OBJECT_RESTRICTED)) {
        vt_buf part = { digest, dlen };
        if (dlen != hsize || !vt_ticket_check(c->e, TPM2_ST_HASHCHECK, tk.hierarchy, &part, 1,
                                              &tk.digest))
            return VT_RC_P(TPM2_RC_TICKET, 3);
    } else if (dlen != hsize) {
        return VT_RC_P(TPM2_RC_SIZE, 1);
    }

    rc = vt_sign_digest(c->e, key, &scheme, digest, dlen, &sig);
    if (rc == TPM2_RC_KEY)
        return VT_RC_H(TPM2_RC_KEY, 1);
    if (rc == TPM2_RC_VALUE)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    VT_OUT(&c->out, TPMT_SIGNATURE, &sig);
    return TPM2_RC_SUCCESS;
}

/* TPM2_VerifySignature: digest, signature -> TPMT_TK_VERIFIED. */
TPM2_RC vt_cmd_verify_signature(vt_cmd *c)
{
    const uint8_t *digest;
    uint16_t dlen;
    TPMT_SIGNATURE sig;
    TPMT_TK_VERIFIED tk;
    vt_object *key;
    TPM2_RC rc;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &digest, &dlen, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(vt_in_mu(&c->in, signature_unmarshal, &sig));
    if (sig.sigAlg != TPM2_ALG_NULL && !is_sig_scheme(sig.sigAlg))
        return vt_in_rc(&c->in, TPM2_RC_SCHEME);
    if (sig.sigAlg != TPM2_ALG_NULL && vt_hash_size(sig.signature.any.hashAlg) == 0)
        return vt_in_rc(&c->in, TPM2_RC_HASH);
    RETURN_IF_ERROR(vt_in_end(&c->in));

    RETURN_IF_ERROR(object_of(c, &key));
    if (!(key->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    rc = vt_signature_check(key, digest, dlen, &sig);
    if (rc == TPM2_RC_HANDLE || rc == TPM2_RC_KEY)
        return VT_RC_H(rc, 1);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);

    /* The ticket: HMAC(proof, TPM_ST_VERIFIED || digest || keyName), or a
     * NULL ticket for a key in the null hierarchy (Part 2 §10.7.4). */
    memset(&tk, 0, sizeof(tk));
    tk.tag = TPM2_ST_VERIFIED;
    tk.hierarchy = key->hierarchy;
    if (key->pub.nameAlg == TPM2_ALG_NULL)
        tk.hierarchy = TPM2_RH_NULL;
    {
        vt_buf parts[2] = { { digest, dlen }, { key->name, key->name_len } };
        RETURN_IF_ERROR(vt_ticket_make(c->e, TPM2_ST_VERIFIED, tk.hierarchy, parts, 2, &tk.digest));
    }
    VT_OUT(&c->out, TPMT_TK_VERIFIED, &tk);
    return TPM2_RC_SUCCESS;
}
