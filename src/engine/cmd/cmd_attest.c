/* Attestation: Quote, Certify, CertifyCreation, GetTime (TPM 2.0 Part 3
 * §18) and NV_Certify (Part 3 §31.16).
 *
 * Every command builds one TPMS_ATTEST (Part 2 §10.12.12): a common header
 * (magic, type, the signer's Qualified Name, the caller's qualifyingData,
 * Clock, firmware version) and the command's own part, then signs the
 * marshalled structure with the key at signHandle.  A restricted signing key
 * may sign it: the data starts with TPM_GENERATED_VALUE, which is exactly
 * what TPM2_Sign refuses to let such a key sign from outside.
 *
 * signHandle may be TPM_RH_NULL: the structure is returned with a
 * TPM_ALG_NULL signature (Part 3 §18.1), so a caller can inspect it. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "common/be.h"
#include "vitrum/version.h"

#define TPM_GENERATED_VALUE 0xff544347u
/* Part 2 §6.9: the tag of TPMS_NV_DIGEST_CERTIFY_INFO.  tpm2-tss 3.2 knows
 * neither the tag nor the union member, so the structure is marshalled here
 * (see marshal_attest). */
#ifndef TPM2_ST_ATTEST_NV_DIGEST
#define TPM2_ST_ATTEST_NV_DIGEST ((TPMI_ST_ATTEST)0x801C)
#endif
/* The context integrity hash (TPM_PT_CONTEXT_HASH): obfuscation for a NULL
 * signing key, which has no nameAlg of its own. */
#define NULL_KEY_HASH TPM2_ALG_SHA256

/* The firmware version GetCapability reports as TPM_PT_FIRMWARE_VERSION_1
 * (high 32 bits) and _2 (low 32 bits): the running release once the host
 * set it (trust.c, vt_engine_set_firmware). */
#define firmware_version(e) vt_firmware_version(e)

/* A format-one code without a number gets parameter n; anything else (a
 * warning, TPM_RC_FAILURE, a code that already has its number) passes. */
static TPM2_RC at_param(TPM2_RC rc, unsigned n)
{
    if (rc == TPM2_RC_SUCCESS || !(rc & TPM2_RC_FMT1) || (rc & (TPM2_RC_N_MASK | TPM2_RC_P)))
        return rc;
    return VT_RC_P(rc, n);
}

/* ---- the common part ---- */

void vt_attest_header(vt_engine *e, TPMI_ST_ATTEST type, const vt_object *sign_key,
                      const TPM2B_DATA *extra, TPMS_ATTEST *out)
{
    TPMI_RH_HIERARCHY h = sign_key ? sign_key->hierarchy : TPM2_RH_NULL;

    memset(out, 0, sizeof(*out));
    out->magic = TPM_GENERATED_VALUE;
    out->type = type;
    /* The signer's Qualified Name; for TPM_RH_NULL the Name of the handle
     * (4 octets), as for any permanent handle (Part 1 §16). */
    if (sign_key) {
        out->qualifiedSigner.size = sign_key->qname_len;
        memcpy(out->qualifiedSigner.name, sign_key->qname, sign_key->qname_len);
    } else {
        out->qualifiedSigner.size = (uint16_t)vt_handle_name(TPM2_RH_NULL, out->qualifiedSigner.name);
    }
    if (extra && extra->size <= sizeof(out->extraData.buffer))
        out->extraData = *extra;
    vt_clock_info(e, &out->clockInfo);
    out->firmwareVersion = firmware_version(e);

    /* Part 3 §18.1: resetCount, restartCount and firmwareVersion would let
     * attestations by different keys be correlated, so unless the key is in
     * the endorsement or platform hierarchy they are offset by
     *   obfuscation = KDFa(signHandle->nameAlg, shProof, "OBFUSCATE",
     *                      signHandle->QN, -, 128)
     * 64 bits added to firmwareVersion, then 32 to each count (mod 2^n).
     * The values stay the same for one key, differ between keys. */
    if (h != TPM2_RH_ENDORSEMENT && h != TPM2_RH_PLATFORM) {
        uint8_t obf[16];
        TPM2_ALG_ID alg = sign_key ? sign_key->pub.nameAlg : NULL_KEY_HASH;
        if (vt_kdfa(alg, e->p.sh_proof, VT_SEED_SIZE, "OBFUSCATE", out->qualifiedSigner.name,
                    out->qualifiedSigner.size, NULL, 0, 128, obf) != 0) {
            /* A nameAlg the KDF cannot use cannot be loaded; never leak the
             * plain values if it happens anyway. */
            memset(obf, 0xA5, sizeof(obf));
        }
        out->firmwareVersion += vt_get_be64(obf);
        out->clockInfo.resetCount += vt_get_be32(obf + 8);
        out->clockInfo.restartCount += vt_get_be32(obf + 12);
        vt_wipe(obf, sizeof(obf));
    }
}

/* TPMS_ATTEST on the wire.  TPM_ST_ATTEST_NV_DIGEST is written by hand:
 * its TPMS_NV_DIGEST_CERTIFY_INFO (indexName, nvDigest) travels in
 * attested.nv with the digest in nvContents (offset unused), which has the
 * same wire form as the TPM2B_DIGEST it stands for. */
static TPM2_RC marshal_attest(const TPMS_ATTEST *att, TPM2B_ATTEST *out)
{
    uint8_t *b = out->attestationData;
    size_t cap = sizeof(out->attestationData), off = 0;
    TSS2_RC r;

    out->size = 0;
    if (att->type != TPM2_ST_ATTEST_NV_DIGEST) {
        r = Tss2_MU_TPMS_ATTEST_Marshal(att, b, cap, &off);
    } else {
        TPMS_NV_DIGEST_CERTIFY_INFO d;
        if (att->attested.nv.nvContents.size > sizeof(d.nvDigest.buffer))
            return TPM2_RC_FAILURE;
        memset(&d, 0, sizeof(d));
        d.indexName = att->attested.nv.indexName;
        d.nvDigest.size = att->attested.nv.nvContents.size;
        memcpy(d.nvDigest.buffer, att->attested.nv.nvContents.buffer, d.nvDigest.size);
        r = Tss2_MU_UINT32_Marshal(att->magic, b, cap, &off);
        if (r == TSS2_RC_SUCCESS)
            r = Tss2_MU_UINT16_Marshal(att->type, b, cap, &off);
        if (r == TSS2_RC_SUCCESS)
            r = Tss2_MU_TPM2B_NAME_Marshal(&att->qualifiedSigner, b, cap, &off);
        if (r == TSS2_RC_SUCCESS)
            r = Tss2_MU_TPM2B_DATA_Marshal(&att->extraData, b, cap, &off);
        if (r == TSS2_RC_SUCCESS)
            r = Tss2_MU_TPMS_CLOCK_INFO_Marshal(&att->clockInfo, b, cap, &off);
        if (r == TSS2_RC_SUCCESS)
            r = Tss2_MU_UINT64_Marshal(att->firmwareVersion, b, cap, &off);
        if (r == TSS2_RC_SUCCESS)
            r = Tss2_MU_TPMS_NV_DIGEST_CERTIFY_INFO_Marshal(&d, b, cap, &off);
    }
    if (r != TSS2_RC_SUCCESS || off > UINT16_MAX)
        return TPM2_RC_FAILURE;
    out->size = (uint16_t)off;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_attest_sign(vt_engine *e, vt_object *sign_key, const TPMT_SIG_SCHEME *scheme,
                       const TPMS_ATTEST *att, TPM2B_ATTEST *out, TPMT_SIGNATURE *sig)
{
    TPMT_SIG_SCHEME s;
    uint8_t digest[VT_MAX_DIGEST];
    size_t n;
    TPM2_RC rc;

    memset(sig, 0, sizeof(*sig));
    sig->sigAlg = TPM2_ALG_NULL;
    if (sign_key) {
        /* Part 3 §18.1: TPM_RC_KEY unless the key has sign SET. */
        if (!(sign_key->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) || !sign_key->has_sensitive)
            return TPM2_RC_KEY;
        RETURN_IF_ERROR(vt_sign_scheme(sign_key, scheme, &s));
    }
    RETURN_IF_ERROR(marshal_attest(att, out));
    if (!sign_key)
        return TPM2_RC_SUCCESS;
    /* The digest of the marshalled TPMS_ATTEST (the octets of
     * TPM2B_ATTEST.attestationData) with the scheme's hash. */
    n = vt_hash(s.details.any.hashAlg, out->attestationData, out->size, digest);
    if (n == 0)
        return TPM2_RC_SCHEME;
    rc = vt_sign_digest(e, sign_key, &s, digest, n, sig);
    if (rc != TPM2_RC_SUCCESS) {
        memset(sig, 0, sizeof(*sig));
        sig->sigAlg = TPM2_ALG_NULL;
    }
    return rc;
}

/* ---- helpers shared by the commands ---- */

/* The signing key at handle number `hn` (NULL for TPM_RH_NULL) and the
 * scheme it will sign with, chosen from the inScheme parameter (number
 * `sp`).  Part 3 §18.1: TPM_RC_KEY (on the handle) for a key without sign,
 * TPM_RC_SCHEME (on inScheme) when no scheme fits.  A NULL key signs with
 * TPM_ALG_NULL whatever inScheme asks. */
static TPM2_RC signer(vt_cmd *c, unsigned hn, unsigned sp, const TPMT_SIG_SCHEME *req,
                      vt_object **key, TPMT_SIG_SCHEME *scheme)
{
    TPM2_HANDLE h = c->handles[hn - 1];
    TPM2_RC rc;

    memset(scheme, 0, sizeof(*scheme));
    scheme->scheme = TPM2_ALG_NULL;
    scheme->details.any.hashAlg = TPM2_ALG_NULL;
    *key = NULL;
    if (h == TPM2_RH_NULL)
        return TPM2_RC_SUCCESS;
    *key = vt_object_find(c->e, h);
    if (!*key)
        return VT_RC_H(TPM2_RC_HANDLE, hn);
    if (!((*key)->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) || !(*key)->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, hn);
    rc = vt_sign_scheme(*key, req, scheme);
    if (rc == TPM2_RC_KEY)
        return VT_RC_H(rc, hn);
    return at_param(rc, sp);
}

/* Sign `att` and write the response: TPM2B_ATTEST, TPMT_SIGNATURE. */
static TPM2_RC finish(vt_cmd *c, vt_object *key, unsigned hn, const TPMT_SIG_SCHEME *scheme,
                      unsigned sp, const TPMS_ATTEST *att)
{
    TPM2B_ATTEST out;
    TPMT_SIGNATURE sig;
    TPM2_RC rc = vt_attest_sign(c->e, key, scheme, att, &out, &sig);

    if (rc == TPM2_RC_KEY)
        return VT_RC_H(rc, hn);
    RETURN_IF_ERROR(at_param(rc, sp));
    VT_OUT(&c->out, TPM2B_ATTEST, &out);
    VT_OUT(&c->out, TPMT_SIGNATURE, &sig);
    return TPM2_RC_SUCCESS;
}

/* A TPM2B parameter into its structure: TPM_RC_SIZE (with the parameter
 * number) when it is longer than the structure's buffer, as for qualifyingData
 * over sizeof(TPMT_HA). */
static TPM2_RC read_2b(vt_cmd *c, uint8_t *buf, uint16_t *size, size_t cap)
{
    const uint8_t *p;
    uint16_t n;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &p, &n, cap));
    memcpy(buf, p, n);
    *size = n;
    return TPM2_RC_SUCCESS;
}

/* The loaded object at handle number `hn`. */
static TPM2_RC object_at(vt_cmd *c, unsigned hn, vt_object **o)
{
    *o = vt_object_find(c->e, c->handles[hn - 1]);
    return *o ? TPM2_RC_SUCCESS : VT_RC_H(TPM2_RC_HANDLE, hn);
}

/* ---- TPM2_Quote (Part 3 §18.4) ---- */

/* pcrDigest = H_alg(the selected PCR values, in selection order, each
 * selection's PCRs in ascending order) — what tpm2_checkquote recomputes
 * from a PCR_Read.  Banks that are not allocated and PCRs this TPM does not
 * have are dropped from the selection, which is returned as quoted. */
static TPM2_RC quote_pcrs(vt_engine *e, TPML_PCR_SELECTION *sel, TPM2_ALG_ID alg,
                          TPM2B_DIGEST *digest)
{
    vt_buf parts[TPM2_NUM_PCR_BANKS * VT_PCR_COUNT];
    size_t np = 0, n;
    unsigned i, pcr;

    for (i = 0; i < sel->count && i < TPM2_NUM_PCR_BANKS; i++) {
        TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
        int b = vt_bank_of(s->hash);
        uint8_t want[sizeof(s->pcrSelect)];

        memcpy(want, s->pcrSelect, sizeof(want));
        memset(s->pcrSelect, 0, sizeof(s->pcrSelect));
        if (b < 0 || !(e->p.pcr_banks & (1u << b)))
            continue;
        for (pcr = 0; pcr < VT_PCR_COUNT && pcr < 8u * s->sizeofSelect; pcr++) {
            if (!(want[pcr / 8] & (1u << (pcr % 8))))
                continue;
            s->pcrSelect[pcr / 8] |= (uint8_t)(1u << (pcr % 8));
            parts[np].p = e->v.pcr[b][pcr];
            parts[np].n = vt_hash_size(s->hash);
            np++;
        }
    }
    n = vt_hash_parts(alg, parts, np, digest->buffer);
    if (n == 0)
        return TPM2_RC_FAILURE;
    digest->size = (uint16_t)n;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_quote(vt_cmd *c)
{
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME req, scheme;
    TPML_PCR_SELECTION sel;
    TPMS_ATTEST att;
    vt_object *key;
    TPM2_RC rc;

    memset(&qd, 0, sizeof(qd));
    memset(&req, 0, sizeof(req));
    memset(&sel, 0, sizeof(sel));
    RETURN_IF_ERROR(read_2b(c, qd.buffer, &qd.size, sizeof(qd.buffer)));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIG_SCHEME, &req));
    RETURN_IF_ERROR(VT_IN(&c->in, TPML_PCR_SELECTION, &sel));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    rc = vt_pcr_check_selection(&sel);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 3);
    RETURN_IF_ERROR(signer(c, 1, 2, &req, &key, &scheme));
    /* The PCRs are hashed with the signing scheme's hash: no scheme (and so
     * a NULL signHandle) is TPM_RC_SCHEME (Part 3 §18.4.1; swtpm agrees). */
    if (scheme.scheme == TPM2_ALG_NULL || vt_hash_size(scheme.details.any.hashAlg) == 0)
        return VT_RC_P(TPM2_RC_SCHEME, 2);

    vt_attest_header(c->e, TPM2_ST_ATTEST_QUOTE, key, &qd, &att);
    att.attested.quote.pcrSelect = sel;
    RETURN_IF_ERROR(quote_pcrs(c->e, &att.attested.quote.pcrSelect, scheme.details.any.hashAlg,
                               &att.attested.quote.pcrDigest));
    return finish(c, key, 1, &scheme, 2, &att);
}

/* ---- TPM2_Certify (Part 3 §18.2) ----
 * objectHandle (ADMIN role, checked by the dispatcher), signHandle. */
TPM2_RC vt_cmd_certify(vt_cmd *c)
{
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME req, scheme;
    TPMS_ATTEST att;
    vt_object *obj, *key;

    memset(&qd, 0, sizeof(qd));
    memset(&req, 0, sizeof(req));
    RETURN_IF_ERROR(read_2b(c, qd.buffer, &qd.size, sizeof(qd.buffer)));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIG_SCHEME, &req));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(object_at(c, 1, &obj));
    RETURN_IF_ERROR(signer(c, 2, 2, &req, &key, &scheme));

    vt_attest_header(c->e, TPM2_ST_ATTEST_CERTIFY, key, &qd, &att);
    att.attested.certify.name.size = obj->name_len;
    memcpy(att.attested.certify.name.name, obj->name, obj->name_len);
    att.attested.certify.qualifiedName.size = obj->qname_len;
    memcpy(att.attested.certify.qualifiedName.name, obj->qname, obj->qname_len);
    return finish(c, key, 2, &scheme, 2, &att);
}

/* ---- TPM2_CertifyCreation (Part 3 §18.3) ----
 * signHandle, objectHandle (no authorization).  The creation ticket proves
 * this TPM made the object with creation data hashing to creationHash:
 * HMAC(proof of the object's hierarchy, TPM_ST_CREATION || Name ||
 * creationHash) (Part 2 §10.7.3). */
TPM2_RC vt_cmd_certify_creation(vt_cmd *c)
{
    TPM2B_DATA qd;
    TPM2B_DIGEST hash;
    TPMT_SIG_SCHEME req, scheme;
    TPMT_TK_CREATION tk;
    TPMS_ATTEST att;
    vt_object *obj, *key;

    memset(&qd, 0, sizeof(qd));
    memset(&hash, 0, sizeof(hash));
    memset(&req, 0, sizeof(req));
    memset(&tk, 0, sizeof(tk));
    RETURN_IF_ERROR(read_2b(c, qd.buffer, &qd.size, sizeof(qd.buffer)));
    RETURN_IF_ERROR(read_2b(c, hash.buffer, &hash.size, sizeof(hash.buffer)));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIG_SCHEME, &req));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_TK_CREATION, &tk));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    /* TPMT_TK_CREATION: the tag must be TPM_ST_CREATION, the hierarchy a
     * TPMI_RH_HIERARCHY+ (Part 2 §10.7.3). */
    if (tk.tag != TPM2_ST_CREATION)
        return VT_RC_P(TPM2_RC_TAG, 4);
    if (tk.hierarchy != TPM2_RH_OWNER && tk.hierarchy != TPM2_RH_ENDORSEMENT &&
        tk.hierarchy != TPM2_RH_PLATFORM && tk.hierarchy != TPM2_RH_NULL)
        return VT_RC_P(TPM2_RC_VALUE, 4);
    RETURN_IF_ERROR(object_at(c, 2, &obj));
    RETURN_IF_ERROR(signer(c, 1, 3, &req, &key, &scheme));
    {
        vt_buf parts[2] = { { obj->name, obj->name_len }, { hash.buffer, hash.size } };
        /* A ticket made for another hierarchy, an empty (NULL) ticket and
         * one whose HMAC does not check all fail alike. */
        if (tk.hierarchy != obj->hierarchy || tk.digest.size == 0 ||
            !vt_ticket_check(c->e, TPM2_ST_CREATION, obj->hierarchy, parts, 2, &tk.digest))
            return VT_RC_P(TPM2_RC_TICKET, 4);
    }

    vt_attest_header(c->e, TPM2_ST_ATTEST_CREATION, key, &qd, &att);
    att.attested.creation.objectName.size = obj->name_len;
    memcpy(att.attested.creation.objectName.name, obj->name, obj->name_len);
    att.attested.creation.creationHash = hash;
    return finish(c, key, 1, &scheme, 3, &att);
}

/* ---- TPM2_GetTime (Part 3 §18.7) ----
 * privacyAdminHandle (endorsement), signHandle.  The privacy administrator
 * has agreed to show them: the attested part carries Clock, the counts and
 * the firmware version in the clear (the header's copies stay obfuscated). */
TPM2_RC vt_cmd_get_time(vt_cmd *c)
{
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME req, scheme;
    TPMS_ATTEST att;
    vt_object *key;

    memset(&qd, 0, sizeof(qd));
    memset(&req, 0, sizeof(req));
    RETURN_IF_ERROR(read_2b(c, qd.buffer, &qd.size, sizeof(qd.buffer)));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIG_SCHEME, &req));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(signer(c, 2, 2, &req, &key, &scheme));

    vt_attest_header(c->e, TPM2_ST_ATTEST_TIME, key, &qd, &att);
    att.attested.time.time.time = vt_time_now(c->e);
    vt_clock_info(c->e, &att.attested.time.time.clockInfo);
    /* One reading of Clock in both places. */
    att.attested.time.time.clockInfo.clock = att.clockInfo.clock;
    att.attested.time.firmwareVersion = firmware_version(c->e);
    return finish(c, key, 2, &scheme, 2, &att);
}

/* ---- TPM2_NV_Certify (Part 3 §31.16) ----
 * signHandle, authHandle (owner, platform or the index: read
 * authorization), nvIndex. */
TPM2_RC vt_cmd_nv_certify(vt_cmd *c)
{
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME req, scheme;
    uint16_t size, offset;
    TPMS_ATTEST att;
    vt_object *key;
    vt_nv_index *ix;
    const uint8_t *data;
    uint8_t name[VT_MAX_NAME];
    size_t name_len;

    memset(&qd, 0, sizeof(qd));
    memset(&req, 0, sizeof(req));
    RETURN_IF_ERROR(read_2b(c, qd.buffer, &qd.size, sizeof(qd.buffer)));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIG_SCHEME, &req));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &size));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &offset));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    ix = vt_nv_find(&c->e->p.nv, c->handles[2]);
    if (!ix)
        return VT_RC_H(TPM2_RC_HANDLE, 3);
    RETURN_IF_ERROR(signer(c, 1, 2, &req, &key, &scheme));
    /* The read rules of TPM2_NV_Read (Part 3 §31.13), with authHandle the
     * second handle here. */
    if (ix->pub.attributes & TPMA_NV_READLOCKED)
        return TPM2_RC_NV_LOCKED;
    {
        vt_cmd as_read = *c;
        as_read.handles[0] = c->handles[1];
        as_read.handles[1] = c->handles[2];
        RETURN_IF_ERROR(read_authority(&as_read, ix));
    }
    if (!(ix->pub.attributes & TPMA_NV_WRITTEN))
        return TPM2_RC_NV_UNINITIALIZED;
    if ((uint32_t)offset + size > ix->pub.dataSize)
        return TPM2_RC_NV_RANGE;
    if (size > VT_NV_BUFFER_MAX)
        return VT_RC_P(TPM2_RC_VALUE, 3);
    name_len = vt_nv_name(ix, name);
    if (name_len == 0)
        return TPM2_RC_FAILURE;
    data = c->e->p.nv.pool + ix->offset;

    if (size == 0 && offset == 0) {
        /* Part 3 §31.16.1: certify the digest of the whole index, with the
         * signing scheme's hash (none for a NULL signHandle: an empty
         * digest). */
        vt_attest_header(c->e, TPM2_ST_ATTEST_NV_DIGEST, key, &qd, &att);
        if (key) {
            size_t n = vt_hash(scheme.details.any.hashAlg, data, ix->pub.dataSize,
                               att.attested.nv.nvContents.buffer);
            if (n == 0)
                return VT_RC_P(TPM2_RC_SCHEME, 2);
            att.attested.nv.nvContents.size = (uint16_t)n;
        }
    } else {
        vt_attest_header(c->e, TPM2_ST_ATTEST_NV, key, &qd, &att);
        att.attested.nv.offset = offset;
        att.attested.nv.nvContents.size = size;
        memcpy(att.attested.nv.nvContents.buffer, data + offset, size);
    }
    att.attested.nv.indexName.size = (uint16_t)name_len;
    memcpy(att.attested.nv.indexName.name, name, name_len);
    return finish(c, key, 1, &scheme, 2, &att);
}
