/* Duplication and credentials (TPM 2.0 Part 3 §12.5–12.6, §13.1–13.3;
 * Part 1 §23.3, §24).
 *
 * A duplicate is an object's TPM2B_SENSITIVE under up to two wrappers:
 *   inner (Part 1 §23.3.2.3), a symmetric key the caller holds:
 *       innerIntegrity = H_nameAlg(TPM2B_SENSITIVE || Name)
 *       encSensitive   = CFB(key, IV 0, TPM2B_DIGEST(innerIntegrity) || TPM2B_SENSITIVE)
 *   outer (Part 1 §23.3.2.2), a seed shared with the new parent's public
 *       key (object_secret.c, label "DUPLICATE") and vt_outer_wrap under the
 *       new parent's nameAlg and symmetric definition.
 * A credential (Part 1 §24) is the same outer wrapper over a marshalled
 * TPM2B_DIGEST, keyed by a seed shared with label "IDENTITY" and bound to
 * the Name of the object the credential is for. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "common/be.h"

/* ---- helpers ---- */

/* The symmetric definition of an asymmetric key (its protection of
 * children and of outer wrappers), NULL for other types. */
static const TPMT_SYM_DEF_OBJECT *asym_sym(const vt_object *o)
{
    if (o->pub.type == TPM2_ALG_RSA || o->pub.type == TPM2_ALG_ECC)
        return &o->pub.parameters.asymDetail.symmetric;
    return NULL;
}

/* A key that can receive a duplicate: an asymmetric restricted decryption
 * key with a symmetric algorithm.  Unlike a parent for Create/Load it may
 * be public only (the new parent usually lives in another TPM and was
 * loaded with LoadExternal). */
static bool is_new_parent(const vt_object *o)
{
    TPMA_OBJECT a = o->pub.objectAttributes;
    const TPMT_SYM_DEF_OBJECT *sym = asym_sym(o);

    return sym && sym->algorithm != TPM2_ALG_NULL &&
           (a & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT)) ==
               (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT);
}

static vt_object *object_at(vt_cmd *c, unsigned i)
{
    if (c->handles[i] == TPM2_RH_NULL)
        return NULL;
    return vt_object_find(c->e, c->handles[i]);
}

/* Read a TPMT_SYM_DEF_OBJECT+ parameter: TPM_ALG_NULL or AES-128/192/256
 * (the one block cipher implemented) with a symmetric mode.  Wrappers are
 * always CFB (Part 1 §23.3.2.3); the mode is checked for validity only. */
static TPM2_RC read_sym(vt_in *in, TPMT_SYM_DEF_OBJECT *sym)
{
    size_t at = in->off;
    TPM2_RC rc;

    memset(sym, 0, sizeof(*sym));
    rc = VT_IN(in, TPMT_SYM_DEF_OBJECT, sym);
    if (rc != TPM2_RC_SUCCESS) {
        /* An algorithm MU does not know: TPMI_ALG_SYM_OBJECT says
         * TPM_RC_SYMMETRIC (Part 2 §9.?). */
        if (in->len - at >= 2) {
            uint16_t alg = (uint16_t)vt_get_be(in->buf + at, 2);
            if (alg != TPM2_ALG_NULL && alg != TPM2_ALG_AES)
                return vt_in_rc(in, TPM2_RC_SYMMETRIC);
        }
        return rc;
    }
    if (sym->algorithm == TPM2_ALG_NULL)
        return TPM2_RC_SUCCESS;
    if (sym->algorithm != TPM2_ALG_AES)
        return vt_in_rc(in, TPM2_RC_SYMMETRIC);
    if (sym->keyBits.aes != 128 && sym->keyBits.aes != 192 && sym->keyBits.aes != 256)
        return vt_in_rc(in, TPM2_RC_KEY_SIZE);
    switch (sym->mode.aes) {
    case TPM2_ALG_CFB: case TPM2_ALG_CTR: case TPM2_ALG_OFB: case TPM2_ALG_CBC: case TPM2_ALG_ECB:
    case TPM2_ALG_NULL:
        return TPM2_RC_SUCCESS;
    default:
        return vt_in_rc(in, TPM2_RC_MODE);
    }
}

static size_t sym_bytes(const TPMT_SYM_DEF_OBJECT *sym)
{
    return sym->algorithm == TPM2_ALG_NULL ? 0 : sym->keyBits.aes / 8u;
}

/* TPM2B_SENSITIVE: the size, then TPMT_SENSITIVE.  0 on failure. */
static size_t marshal_sensitive(const TPMT_SENSITIVE *s, uint8_t *out, size_t cap)
{
    size_t off = 2;

    if (Tss2_MU_TPMT_SENSITIVE_Marshal(s, out, cap, &off) != TSS2_RC_SUCCESS)
        return 0;
    vt_put_be16(out, (uint16_t)(off - 2));
    return off;
}

/* H_nameAlg(TPM2B_SENSITIVE || Name): the inner integrity value. */
static size_t inner_digest(TPM2_ALG_ID name_alg, const uint8_t *sens, size_t sens_len,
                           const uint8_t *name, size_t name_len, uint8_t *out)
{
    vt_buf parts[2] = { { sens, sens_len }, { name, name_len } };
    return vt_hash_parts(name_alg, parts, 2, out);
}

/* The inner wrapper.  out gets sens_len + 2 + digest octets. */
static TPM2_RC inner_wrap(TPM2_ALG_ID name_alg, const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *key,
                          const uint8_t *sens, size_t sens_len, const uint8_t *name,
                          size_t name_len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t iv[16] = { 0 };
    size_t hlen = vt_hash_size(name_alg), n = 2 + hlen + sens_len;

    if (hlen == 0)
        return TPM2_RC_HASH;
    if (n > cap)
        return TPM2_RC_SIZE;
    vt_put_be16(out, (uint16_t)hlen);
    if (inner_digest(name_alg, sens, sens_len, name, name_len, out + 2) != hlen)
        return TPM2_RC_FAILURE;
    memcpy(out + 2 + hlen, sens, sens_len);
    if (vt_aes_crypt(TPM2_ALG_CFB, true, key, sym_bytes(sym), iv, out, n, out) != 0)
        return TPM2_RC_FAILURE;
    *out_len = n;
    return TPM2_RC_SUCCESS;
}

/* Remove the inner wrapper in place: buf (len octets) becomes the
 * TPM2B_SENSITIVE at *sens.  TPM_RC_INTEGRITY when the digest does not
 * match (CT compare). */
static TPM2_RC inner_unwrap(TPM2_ALG_ID name_alg, const TPMT_SYM_DEF_OBJECT *sym,
                            const uint8_t *key, const uint8_t *name, size_t name_len,
                            uint8_t *buf, size_t len, const uint8_t **sens, size_t *sens_len)
{
    uint8_t iv[16] = { 0 }, digest[VT_MAX_DIGEST];
    size_t hlen = vt_hash_size(name_alg), dlen;
    bool ok;

    if (hlen == 0)
        return TPM2_RC_HASH;
    if (vt_aes_crypt(TPM2_ALG_CFB, false, key, sym_bytes(sym), iv, buf, len, buf) != 0)
        return TPM2_RC_FAILURE;
    if (len < 2)
        return TPM2_RC_INSUFFICIENT;
    /* innerIntegrity is a TPM2B_DIGEST: one too large for that type does
     * not unmarshal (TPM_RC_SIZE), one of another size fails the check. */
    dlen = (size_t)vt_get_be(buf, 2);
    if (dlen > sizeof(TPMU_HA))
        return TPM2_RC_SIZE;
    if (len < 2 + dlen)
        return TPM2_RC_INSUFFICIENT;
    if (dlen != hlen)
        return TPM2_RC_INTEGRITY;
    if (inner_digest(name_alg, buf + 2 + hlen, len - 2 - hlen, name, name_len, digest) != hlen)
        return TPM2_RC_FAILURE;
    /* CT: compares all hlen octets. */
    ok = vt_ct_equal(digest, buf + 2, hlen);
    vt_wipe(digest, sizeof(digest));
    if (!ok)
        return TPM2_RC_INTEGRITY;
    *sens = buf + 2 + hlen;
    *sens_len = len - 2 - hlen;
    return TPM2_RC_SUCCESS;
}

/* Add the parameter or handle number to a bare error code. */
static TPM2_RC at_p(TPM2_RC rc, unsigned n)
{
    return (rc & TPM2_RC_FMT1) ? VT_RC_P(rc, n) : rc;
}

static TPM2_RC at_h(TPM2_RC rc, unsigned n)
{
    return (rc & TPM2_RC_FMT1) ? VT_RC_H(rc, n) : rc;
}

/* ---- TPM2_Duplicate (Part 3 §13.1) ---- */

TPM2_RC vt_cmd_duplicate(vt_cmd *c)
{
    vt_object *obj = object_at(c, 0), *np;
    const uint8_t *key_in;
    uint16_t key_in_len;
    TPMT_SYM_DEF_OBJECT sym;
    uint8_t sens[sizeof(TPM2B_SENSITIVE)], inner[sizeof(TPM2B_PRIVATE)], key[32];
    size_t sens_len, inner_len = 0, kb, dup_len;
    bool gen_key = false;
    TPM2B_PRIVATE dup;
    TPM2B_ENCRYPTED_SECRET out_seed;
    TPMA_OBJECT a;
    TPM2_RC rc;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &key_in, &key_in_len, sizeof(TPMU_HA) + 2));
    RETURN_IF_ERROR(read_sym(&c->in, &sym));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!obj)
        return VT_RC_H(TPM2_RC_HANDLE, 1);
    np = object_at(c, 1);
    if (c->handles[1] != TPM2_RH_NULL && !np)
        return VT_RC_H(TPM2_RC_HANDLE, 2);
    a = obj->pub.objectAttributes;

    /* fixedTPM implies fixedParent: either keeps the object where it is. */
    if (a & (TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_FIXEDTPM))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    /* A public-only object (LoadExternal) has nothing to duplicate. */
    if (!obj->has_sensitive)
        return VT_RC_H(TPM2_RC_TYPE, 1);
    if (np && !is_new_parent(np))
        return VT_RC_H(TPM2_RC_TYPE, 2);
    /* encryptedDuplication: both wrappers are required (Part 1 §23.?). */
    if (a & TPMA_OBJECT_ENCRYPTEDDUPLICATION) {
        if (sym.algorithm == TPM2_ALG_NULL)
            return VT_RC_P(TPM2_RC_SYMMETRIC, 2);
        if (!np)
            return VT_RC_H(TPM2_RC_HIERARCHY, 2);
    }
    kb = sym_bytes(&sym);
    if (kb == 0 && key_in_len != 0)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    if (kb != 0 && key_in_len != 0 && key_in_len != kb)
        return VT_RC_P(TPM2_RC_SIZE, 1);

    sens_len = marshal_sensitive(&obj->sens, sens, sizeof(sens));
    if (sens_len == 0)
        return TPM2_RC_FAILURE;
    rc = TPM2_RC_SUCCESS;
    if (kb) {
        gen_key = key_in_len == 0;
        if (gen_key)
            rc = vt_random(c->e, key, kb);
        else
            memcpy(key, key_in, kb);
        if (rc == TPM2_RC_SUCCESS)
            rc = inner_wrap(obj->pub.nameAlg, &sym, key, sens, sens_len, obj->name, obj->name_len,
                            inner, sizeof(inner), &inner_len);
    } else {
        memcpy(inner, sens, sens_len);
        inner_len = sens_len;
    }
    vt_wipe(sens, sizeof(sens));

    memset(&out_seed, 0, sizeof(out_seed));
    memset(&dup, 0, sizeof(dup));
    dup_len = sizeof(dup.buffer);
    if (rc == TPM2_RC_SUCCESS && np) {
        uint8_t seed[VT_MAX_DIGEST];
        size_t seed_len = 0;
        rc = vt_secret_make(c->e, np, "DUPLICATE", seed, &seed_len, &out_seed);
        if (rc == TPM2_RC_SUCCESS)
            rc = vt_outer_wrap(np->pub.nameAlg, asym_sym(np), seed, seed_len, obj->name,
                               obj->name_len, inner, inner_len, dup.buffer, &dup_len);
        else
            rc = at_h(rc, 2);
        vt_wipe(seed, sizeof(seed));
    } else if (rc == TPM2_RC_SUCCESS) {
        memcpy(dup.buffer, inner, inner_len);
        dup_len = inner_len;
    }
    vt_wipe(inner, sizeof(inner));
    if (rc != TPM2_RC_SUCCESS) {
        vt_wipe(key, sizeof(key));
        vt_wipe(&dup, sizeof(dup));
        return rc;
    }
    dup.size = (uint16_t)dup_len;
    /* encryptionKeyOut: the key the TPM chose, else empty. */
    vt_out_2b(&c->out, key, gen_key ? (uint16_t)kb : 0);
    vt_out_2b(&c->out, dup.buffer, dup.size);
    vt_out_2b(&c->out, out_seed.secret, out_seed.size);
    vt_wipe(key, sizeof(key));
    vt_wipe(&dup, sizeof(dup));
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_Rewrap (Part 3 §13.2) ---- */

TPM2_RC vt_cmd_rewrap(vt_cmd *c)
{
    vt_object *op = object_at(c, 0), *np = object_at(c, 1);
    TPM2B_PRIVATE in_dup, out_dup;
    TPM2B_NAME name;
    TPM2B_ENCRYPTED_SECRET in_seed, out_seed;
    uint8_t plain[sizeof(TPM2B_PRIVATE)], seed[VT_MAX_DIGEST];
    size_t plain_len = sizeof(plain), seed_len = 0, out_len;
    TPM2_RC rc = TPM2_RC_SUCCESS;

    memset(&in_dup, 0, sizeof(in_dup));
    memset(&name, 0, sizeof(name));
    memset(&in_seed, 0, sizeof(in_seed));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PRIVATE, &in_dup));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_NAME, &name));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_ENCRYPTED_SECRET, &in_seed));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (c->handles[0] != TPM2_RH_NULL && !op)
        return VT_RC_H(TPM2_RC_HANDLE, 1);
    if (c->handles[1] != TPM2_RH_NULL && !np)
        return VT_RC_H(TPM2_RC_HANDLE, 2);

    if (op) {
        /* Only a parent that holds its private key can take the outer
         * wrapper off. */
        if (!is_new_parent(op) || !op->has_sensitive)
            return VT_RC_H(TPM2_RC_TYPE, 1);
        if (in_seed.size == 0)
            return VT_RC_P(TPM2_RC_SIZE, 3);
        rc = vt_secret_recover(op, "DUPLICATE", &in_seed, seed, &seed_len);
        if (rc != TPM2_RC_SUCCESS)
            return at_p(rc, 3);
        rc = vt_outer_unwrap(op->pub.nameAlg, asym_sym(op), seed, seed_len, name.name, name.size,
                             in_dup.buffer, in_dup.size, plain, &plain_len);
        vt_wipe(seed, sizeof(seed));
        if (rc != TPM2_RC_SUCCESS)
            return at_p(rc, 1);
    } else {
        memcpy(plain, in_dup.buffer, in_dup.size);
        plain_len = in_dup.size;
    }

    memset(&out_dup, 0, sizeof(out_dup));
    memset(&out_seed, 0, sizeof(out_seed));
    if (np) {
        if (!is_new_parent(np)) {
            rc = VT_RC_H(TPM2_RC_TYPE, 2);
        } else {
            rc = at_h(vt_secret_make(c->e, np, "DUPLICATE", seed, &seed_len, &out_seed), 2);
            if (rc == TPM2_RC_SUCCESS) {
                /* TPM_RC_SIZE: inDuplicate leaves no room for the wrapper. */
                out_len = sizeof(out_dup.buffer);
                rc = at_p(vt_outer_wrap(np->pub.nameAlg, asym_sym(np), seed, seed_len, name.name,
                                        name.size, plain, plain_len, out_dup.buffer, &out_len),
                          1);
                out_dup.size = (uint16_t)out_len;
            }
            vt_wipe(seed, sizeof(seed));
        }
    } else {
        memcpy(out_dup.buffer, plain, plain_len);
        out_dup.size = (uint16_t)plain_len;
    }
    vt_wipe(plain, sizeof(plain));
    if (rc == TPM2_RC_SUCCESS) {
        vt_out_2b(&c->out, out_dup.buffer, out_dup.size);
        vt_out_2b(&c->out, out_seed.secret, out_seed.size);
    }
    vt_wipe(&out_dup, sizeof(out_dup));
    return rc;
}

/* ---- TPM2_Import (Part 3 §13.3) ---- */

/* Take the wrappers off `dup` (outer when seed_len > 0, inner when sym is
 * not NULL) and unmarshal the sensitive area.  Bare error codes. */
static TPM2_RC unwrap_duplicate(const vt_object *parent, const TPMT_PUBLIC *pub, const uint8_t *name,
                                size_t name_len, const TPM2B_PRIVATE *dup, const uint8_t *seed,
                                size_t seed_len, const TPMT_SYM_DEF_OBJECT *sym,
                                const uint8_t *key, TPMT_SENSITIVE *out)
{
    uint8_t buf[sizeof(TPM2B_PRIVATE)];
    size_t len = sizeof(buf), sens_len, off = 0;
    const uint8_t *sens;
    TPM2B_SENSITIVE s2b;
    TPM2_RC rc;

    if (seed_len) {
        RETURN_IF_ERROR(vt_outer_unwrap(parent->pub.nameAlg, asym_sym(parent), seed, seed_len, name,
                                        name_len, dup->buffer, dup->size, buf, &len));
    } else {
        memcpy(buf, dup->buffer, dup->size);
        len = dup->size;
    }
    if (sym->algorithm != TPM2_ALG_NULL) {
        rc = inner_unwrap(pub->nameAlg, sym, key, name, name_len, buf, len, &sens, &sens_len);
        if (rc != TPM2_RC_SUCCESS) {
            vt_wipe(buf, sizeof(buf));
            return rc;
        }
    } else {
        sens = buf;
        sens_len = len;
    }
    memset(&s2b, 0, sizeof(s2b));
    rc = TPM2_RC_SUCCESS;
    if (Tss2_MU_TPM2B_SENSITIVE_Unmarshal(sens, sens_len, &off, &s2b) != TSS2_RC_SUCCESS)
        rc = TPM2_RC_INSUFFICIENT;
    else if (off != sens_len)
        rc = TPM2_RC_SIZE;
    else
        *out = s2b.sensitiveArea;
    vt_wipe(&s2b, sizeof(s2b));
    vt_wipe(buf, sizeof(buf));
    return rc;
}

TPM2_RC vt_cmd_import(vt_cmd *c)
{
    vt_object *parent = object_at(c, 0);
    const uint8_t *key;
    uint16_t key_len;
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE dup, out;
    TPM2B_ENCRYPTED_SECRET in_seed;
    TPMT_SYM_DEF_OBJECT sym;
    TPMT_SENSITIVE sens;
    uint8_t name[VT_MAX_NAME], seed[VT_MAX_DIGEST];
    size_t name_len, seed_len = 0;
    TPMA_OBJECT a;
    TPM2_RC rc;

    memset(&pub, 0, sizeof(pub));
    memset(&dup, 0, sizeof(dup));
    memset(&in_seed, 0, sizeof(in_seed));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &key, &key_len, sizeof(TPMU_HA) + 2));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PUBLIC, &pub));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PRIVATE, &dup));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_ENCRYPTED_SECRET, &in_seed));
    RETURN_IF_ERROR(read_sym(&c->in, &sym));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!parent)
        return VT_RC_H(TPM2_RC_HANDLE, 1);
    if (pub.size == 0)
        return VT_RC_P(TPM2_RC_SIZE, 2);
    a = pub.publicArea.objectAttributes;

    /* encryptionKey goes with symmetricAlg. */
    if (key_len != sym_bytes(&sym))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    /* Only an object that may change parents can be imported. */
    if (a & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    if (!vt_object_is_storage_parent(parent))
        return VT_RC_H(TPM2_RC_TYPE, 1);
    if (a & TPMA_OBJECT_ENCRYPTEDDUPLICATION) {
        if (sym.algorithm == TPM2_ALG_NULL)
            return VT_RC_P(TPM2_RC_SYMMETRIC, 5);
        if (in_seed.size == 0)
            return VT_RC_P(TPM2_RC_ATTRIBUTES, 4);
    }
    rc = vt_public_check(&pub.publicArea, parent, false);
    if (rc != TPM2_RC_SUCCESS)
        return at_p(rc, 2);
    name_len = vt_public_name(&pub.publicArea, name);
    if (name_len == 0)
        return VT_RC_P(TPM2_RC_HASH, 2);

    if (in_seed.size != 0) {
        /* An outer wrapper needs an asymmetric parent to share its seed. */
        if (!asym_sym(parent))
            return VT_RC_H(TPM2_RC_KEY, 1);
        rc = vt_secret_recover(parent, "DUPLICATE", &in_seed, seed, &seed_len);
        if (rc != TPM2_RC_SUCCESS)
            return at_p(rc, 4);
    }
    memset(&sens, 0, sizeof(sens));
    rc = unwrap_duplicate(parent, &pub.publicArea, name, name_len, &dup, seed, seed_len, &sym, key,
                          &sens);
    vt_wipe(seed, sizeof(seed));
    if (rc == TPM2_RC_SUCCESS)
        rc = vt_sensitive_check(&pub.publicArea, &sens);
    if (rc == TPM2_RC_SUCCESS) {
        memset(&out, 0, sizeof(out));
        rc = vt_sensitive_wrap(parent, &sens, name, name_len, &out);
        if (rc == TPM2_RC_SUCCESS)
            vt_out_2b(&c->out, out.buffer, out.size);
        vt_wipe(&out, sizeof(out));
    } else {
        /* The unique field is the public half of a broken binding. */
        rc = at_p(rc, rc == TPM2_RC_KEY ? 2 : 3);
    }
    vt_wipe(&sens, sizeof(sens));
    vt_wipe(&dup, sizeof(dup));
    return rc;
}

/* ---- TPM2_MakeCredential (Part 3 §12.6) ---- */

TPM2_RC vt_cmd_make_credential(vt_cmd *c)
{
    vt_object *k = object_at(c, 0);
    TPM2B_DIGEST cred;
    TPM2B_NAME obj_name;
    TPM2B_ID_OBJECT blob;
    TPM2B_ENCRYPTED_SECRET secret;
    uint8_t plain[sizeof(TPM2B_DIGEST)], seed[VT_MAX_DIGEST];
    size_t plain_len = 0, seed_len = 0, blob_len;
    TPMA_OBJECT a;
    TPM2_RC rc;

    memset(&cred, 0, sizeof(cred));
    memset(&obj_name, 0, sizeof(obj_name));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_DIGEST, &cred));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_NAME, &obj_name));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!k)
        return VT_RC_H(TPM2_RC_HANDLE, 1);
    a = k->pub.objectAttributes;
    /* An asymmetric restricted decryption key: restricted, so it has the
     * symmetric algorithm that encrypts the credential (an EK). */
    if (!asym_sym(k) || !(a & TPMA_OBJECT_DECRYPT) || !(a & TPMA_OBJECT_RESTRICTED))
        return VT_RC_H(TPM2_RC_TYPE, 1);
    if (cred.size > vt_hash_size(k->pub.nameAlg))
        return VT_RC_P(TPM2_RC_SIZE, 1);

    if (Tss2_MU_TPM2B_DIGEST_Marshal(&cred, plain, sizeof(plain), &plain_len) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    memset(&secret, 0, sizeof(secret));
    memset(&blob, 0, sizeof(blob));
    rc = vt_secret_make(c->e, k, "IDENTITY", seed, &seed_len, &secret);
    if (rc != TPM2_RC_SUCCESS) {
        vt_wipe(plain, sizeof(plain));
        return at_h(rc, 1);
    }
    blob_len = sizeof(blob.credential);
    rc = vt_outer_wrap(k->pub.nameAlg, asym_sym(k), seed, seed_len, obj_name.name, obj_name.size,
                       plain, plain_len, blob.credential, &blob_len);
    vt_wipe(seed, sizeof(seed));
    vt_wipe(plain, sizeof(plain));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    vt_out_2b(&c->out, blob.credential, (uint16_t)blob_len);
    vt_out_2b(&c->out, secret.secret, secret.size);
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_ActivateCredential (Part 3 §12.5) ---- */

TPM2_RC vt_cmd_activate_credential(vt_cmd *c)
{
    vt_object *act = object_at(c, 0), *k = object_at(c, 1);
    TPM2B_ID_OBJECT blob;
    TPM2B_ENCRYPTED_SECRET secret;
    TPM2B_DIGEST cert;
    uint8_t plain[sizeof(blob.credential)], seed[VT_MAX_DIGEST];
    size_t plain_len = sizeof(plain), seed_len = 0, off = 0;
    TPMA_OBJECT a;
    TPM2_RC rc;

    memset(&blob, 0, sizeof(blob));
    memset(&secret, 0, sizeof(secret));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_ID_OBJECT, &blob));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_ENCRYPTED_SECRET, &secret));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!act)
        return VT_RC_H(TPM2_RC_HANDLE, 1);
    if (!k)
        return VT_RC_H(TPM2_RC_HANDLE, 2);
    a = k->pub.objectAttributes;
    /* An asymmetric restricted decryption key, else TPM_RC_TYPE (what
     * the reference implementation answers for either failure). */
    if (!asym_sym(k) || !(a & TPMA_OBJECT_DECRYPT) || !(a & TPMA_OBJECT_RESTRICTED))
        return VT_RC_H(TPM2_RC_TYPE, 2);
    if (!k->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, 2);

    rc = vt_secret_recover(k, "IDENTITY", &secret, seed, &seed_len);
    if (rc != TPM2_RC_SUCCESS)
        return at_p(rc, 2);
    rc = vt_outer_unwrap(k->pub.nameAlg, asym_sym(k), seed, seed_len, act->name, act->name_len,
                         blob.credential, blob.size, plain, &plain_len);
    vt_wipe(seed, sizeof(seed));
    if (rc != TPM2_RC_SUCCESS)
        return at_p(rc, 1);
    memset(&cert, 0, sizeof(cert));
    if (Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, plain_len, &off, &cert) != TSS2_RC_SUCCESS ||
        off != plain_len || cert.size > vt_hash_size(k->pub.nameAlg))
        rc = VT_RC_P(TPM2_RC_SIZE, 1);
    vt_wipe(plain, sizeof(plain));
    if (rc == TPM2_RC_SUCCESS)
        vt_out_2b(&c->out, cert.buffer, cert.size);
    vt_wipe(&cert, sizeof(cert));
    return rc;
}
