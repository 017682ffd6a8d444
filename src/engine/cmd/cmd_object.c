/* Object commands: CreatePrimary, Create, CreateLoaded, Load, LoadExternal,
 * ReadPublic, ObjectChangeAuth, Unseal, EvictControl, ContextSave,
 * ContextLoad (TPM 2.0 Part 3 §12, §28.2–§28.5). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

/* ---- sources of key material ---- */

/* Primary objects are derived (Part 1 §26.?): every octet of their secrets
 * comes from this stream, an SP 800-108 counter-mode HMAC-SHA256 keyed by
 * the hierarchy's primary seed with the template digest as context, so the
 * same seed and template give the same object. */
typedef struct {
    const uint8_t *seed;
    uint8_t ctx[64]; /* H(template) || H(sensitive data) */
    uint32_t counter;
    uint8_t block[32];
    size_t left;
} primary_stream;

static int primary_rng(void *p, uint8_t *out, size_t len)
{
    primary_stream *s = p;

    while (len) {
        size_t n;
        if (s->left == 0) {
            uint8_t ctr[4] = { (uint8_t)(s->counter >> 24), (uint8_t)(s->counter >> 16),
                               (uint8_t)(s->counter >> 8), (uint8_t)s->counter };
            static const char label[] = "vitrum primary object";
            vt_buf parts[3] = { { ctr, 4 }, { label, sizeof(label) }, { s->ctx, sizeof(s->ctx) } };
            s->counter++;
            if (vt_hmac_parts(TPM2_ALG_SHA256, s->seed, VT_SEED_SIZE, parts, 3, s->block) != 32)
                return -1;
            s->left = 32;
        }
        n = len < s->left ? len : s->left;
        memcpy(out, s->block + 32 - s->left, n);
        s->left -= n;
        out += n;
        len -= n;
    }
    return 0;
}

static int drbg_rng(void *e, uint8_t *out, size_t len)
{
    return vt_random(e, out, len) == TPM2_RC_SUCCESS ? 0 : -1;
}

static const uint8_t *hierarchy_seed(vt_engine *e, TPMI_RH_HIERARCHY h)
{
    switch (h) {
    case TPM2_RH_OWNER: return e->p.sps;
    case TPM2_RH_ENDORSEMENT: return e->p.eps;
    case TPM2_RH_PLATFORM: return e->p.pps;
    default: return e->v.null_seed;
    }
}

/* ---- making an object ---- */

/* unique of a symmetric or keyed-hash object: H(seedValue || key) —
 * the seedValue obfuscates the key (Part 1 §27.?). */
static void sym_unique(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *s, TPM2B_DIGEST *u)
{
    const uint8_t *key = pub->type == TPM2_ALG_SYMCIPHER ? s->sensitive.sym.buffer : s->sensitive.bits.buffer;
    size_t klen = pub->type == TPM2_ALG_SYMCIPHER ? s->sensitive.sym.size : s->sensitive.bits.size;
    vt_buf parts[2] = { { s->seedValue.buffer, s->seedValue.size }, { key, klen } };

    u->size = (uint16_t)vt_hash_parts(pub->nameAlg, parts, 2, u->buffer);
}

/* Fill in the sensitive area and the public unique field of a new object
 * from `rng` (Part 1 §27, Part 3 §12.1).  Errors carry P1 (inSensitive) or
 * P2 (inPublic). */
static TPM2_RC make_object(vt_engine *e, TPMT_PUBLIC *pub, const TPMS_SENSITIVE_CREATE *sc,
                           vt_rng_fn rng, void *rng_ctx, const uint8_t *cache_id,
                           TPMT_SENSITIVE *s)
{
    TPMA_OBJECT a = pub->objectAttributes;
    size_t hlen = vt_hash_size(pub->nameAlg);
    bool data_given = sc->data.size != 0;

    memset(s, 0, sizeof(*s));
    s->sensitiveType = pub->type;
    if (sc->userAuth.size > hlen)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    s->authValue.size = sc->userAuth.size;
    memcpy(s->authValue.buffer, sc->userAuth.buffer, sc->userAuth.size);
    /* sensitiveDataOrigin says who made the secret: the TPM (SET) or the
     * caller (CLEAR, data given) — Part 3 §12.1.1. */
    if (data_given == !!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    /* A seed: children's protection for a parent, the obfuscation value
     * of a symmetric or keyed-hash object. */
    if (((a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT)) ||
        pub->type == TPM2_ALG_SYMCIPHER || pub->type == TPM2_ALG_KEYEDHASH) {
        s->seedValue.size = (uint16_t)hlen;
        if (rng(rng_ctx, s->seedValue.buffer, hlen) != 0)
            return TPM2_RC_FAILURE;
    }
    switch (pub->type) {
    case TPM2_ALG_RSA: {
        unsigned bits = pub->parameters.rsaDetail.keyBits;
        vt_primary_cache *pc = NULL;
        if (data_given)
            return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
        if (cache_id)
            for (unsigned i = 0; i < VT_PRIMARY_CACHE; i++)
                if (e->pcache[i].used && vt_ct_equal(e->pcache[i].id, cache_id, 32)) {
                    pc = &e->pcache[i];
                    break;
                }
        if (pc && pc->n_len == bits / 8) {
            memcpy(pub->unique.rsa.buffer, pc->n, pc->n_len);
            memcpy(s->sensitive.rsa.buffer, pc->p, pc->p_len);
        } else {
            if (vt_rsa_generate(bits, pub->parameters.rsaDetail.exponent, rng, rng_ctx,
                                pub->unique.rsa.buffer, s->sensitive.rsa.buffer) != 0)
                return TPM2_RC_FAILURE;
            if (cache_id) {
                pc = &e->pcache[e->pcache_next++ % VT_PRIMARY_CACHE];
                pc->used = true;
                memcpy(pc->id, cache_id, 32);
                pc->n_len = (uint16_t)(bits / 8);
                pc->p_len = (uint16_t)(bits / 16);
                memcpy(pc->n, pub->unique.rsa.buffer, pc->n_len);
                memcpy(pc->p, s->sensitive.rsa.buffer, pc->p_len);
            }
        }
        pub->unique.rsa.size = (uint16_t)(bits / 8);
        s->sensitive.rsa.size = (uint16_t)(bits / 16);
        return TPM2_RC_SUCCESS;
    }
    case TPM2_ALG_ECC: {
        TPM2_ECC_CURVE curve = pub->parameters.eccDetail.curveID;
        size_t n = vt_ecc_size(curve);
        if (data_given)
            return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
        if (vt_ecc_generate(curve, rng, rng_ctx, s->sensitive.ecc.buffer) != 0 ||
            vt_ecc_mul(curve, s->sensitive.ecc.buffer, n, NULL, 0, NULL, 0, pub->unique.ecc.x.buffer,
                       pub->unique.ecc.y.buffer) != 0)
            return TPM2_RC_FAILURE;
        s->sensitive.ecc.size = (uint16_t)n;
        pub->unique.ecc.x.size = pub->unique.ecc.y.size = (uint16_t)n;
        return TPM2_RC_SUCCESS;
    }
    case TPM2_ALG_SYMCIPHER: {
        size_t kb = pub->parameters.symDetail.sym.keyBits.aes / 8u;
        if (data_given) {
            if (sc->data.size != kb)
                return VT_RC_P(TPM2_RC_KEY_SIZE, 1);
            memcpy(s->sensitive.sym.buffer, sc->data.buffer, kb);
        } else if (rng(rng_ctx, s->sensitive.sym.buffer, kb) != 0) {
            return TPM2_RC_FAILURE;
        }
        s->sensitive.sym.size = (uint16_t)kb;
        sym_unique(pub, s, &pub->unique.sym);
        return TPM2_RC_SUCCESS;
    }
    default: { /* KEYEDHASH */
        const TPMT_KEYEDHASH_SCHEME *ks = &pub->parameters.keyedHashDetail.scheme;
        if (data_given) {
            /* Sealed data: at most 128 octets (MAX_SYM_DATA of the
             * reference profile); an HMAC key: at most a hash block. */
            size_t max = VT_MAX_SEALED;
            if (ks->scheme == TPM2_ALG_HMAC)
                max = vt_hash_block_size(ks->details.hmac.hashAlg);
            if (sc->data.size > max)
                return VT_RC_P(TPM2_RC_SIZE, 1);
            memcpy(s->sensitive.bits.buffer, sc->data.buffer, sc->data.size);
            s->sensitive.bits.size = sc->data.size;
        } else {
            /* The TPM makes the key: as long as the scheme's digest (or the
             * nameAlg's when the scheme comes later). */
            TPM2_ALG_ID h = ks->scheme == TPM2_ALG_HMAC ? ks->details.hmac.hashAlg
                            : ks->scheme == TPM2_ALG_XOR ? ks->details.exclusiveOr.hashAlg
                                                         : pub->nameAlg;
            size_t n = vt_hash_size(h);
            if (!(a & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT)))
                return VT_RC_P(TPM2_RC_ATTRIBUTES, 2); /* sealing nothing */
            if (rng(rng_ctx, s->sensitive.bits.buffer, n) != 0)
                return TPM2_RC_FAILURE;
            s->sensitive.bits.size = (uint16_t)n;
        }
        sym_unique(pub, s, &pub->unique.keyedHash);
        return TPM2_RC_SUCCESS;
    }
    }
}

/* ---- creation data and ticket (Part 1 §27.?, Part 2 §15.1) ---- */

typedef struct {
    TPM2B_CREATION_DATA data;
    TPM2B_DIGEST hash;
    TPMT_TK_CREATION ticket;
} creation_out;

static TPM2_RC make_creation(vt_cmd *c, const vt_object *o, const TPML_PCR_SELECTION *pcrs,
                             const TPM2B_DATA *outside, TPM2_ALG_ID parent_alg,
                             const uint8_t *parent_name, size_t pn_len, const uint8_t *parent_qn,
                             size_t pqn_len, creation_out *out)
{
    TPMS_CREATION_DATA *cd = &out->data.creationData;
    uint8_t buf[sizeof(TPMS_CREATION_DATA)];
    size_t off = 0, n;

    memset(out, 0, sizeof(*out));
    cd->pcrSelect = *pcrs;
    n = vt_pcr_digest(c->e, pcrs, o->pub.nameAlg, cd->pcrDigest.buffer);
    if (n == 0)
        return TPM2_RC_FAILURE;
    cd->pcrDigest.size = (uint16_t)n;
    cd->locality = (TPMA_LOCALITY)(1u << c->locality);
    cd->parentNameAlg = parent_alg;
    memcpy(cd->parentName.name, parent_name, pn_len);
    cd->parentName.size = (uint16_t)pn_len;
    memcpy(cd->parentQualifiedName.name, parent_qn, pqn_len);
    cd->parentQualifiedName.size = (uint16_t)pqn_len;
    cd->outsideInfo = *outside;
    if (Tss2_MU_TPMS_CREATION_DATA_Marshal(cd, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    out->data.size = (uint16_t)off;
    n = vt_hash(o->pub.nameAlg, buf, off, out->hash.buffer);
    if (n == 0)
        return TPM2_RC_FAILURE;
    out->hash.size = (uint16_t)n;
    out->ticket.tag = TPM2_ST_CREATION;
    out->ticket.hierarchy = o->hierarchy;
    {
        vt_buf parts[2] = { { o->name, o->name_len }, { out->hash.buffer, out->hash.size } };
        return vt_ticket_hmac(c->e, TPM2_ST_CREATION, o->hierarchy, parts, 2, &out->ticket.digest);
    }
}

static void out_public(vt_out *o, const TPMT_PUBLIC *pub)
{
    TPM2B_PUBLIC p2 = { .size = 0, .publicArea = *pub };
    VT_OUT(o, TPM2B_PUBLIC, &p2);
}

static void out_creation(vt_out *o, const creation_out *cr)
{
    VT_OUT(o, TPM2B_CREATION_DATA, &cr->data);
    vt_out_2b(o, cr->hash.buffer, cr->hash.size);
    VT_OUT(o, TPMT_TK_CREATION, &cr->ticket);
}

/* The parameters every create command shares. */
typedef struct {
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC pub;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
} create_in;

static TPM2_RC read_create_in(vt_cmd *c, create_in *in, bool with_creation)
{
    memset(in, 0, sizeof(*in));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_SENSITIVE_CREATE, &in->sens));
    /* An empty inPublic is not a template (Part 3 §12.1). */
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PUBLIC, &in->pub));
    if (in->pub.size == 0)
        return vt_in_rc(&c->in, TPM2_RC_SIZE);
    if (with_creation) {
        RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_DATA, &in->outside));
        RETURN_IF_ERROR(VT_IN(&c->in, TPML_PCR_SELECTION, &in->pcrs));
        if (vt_pcr_check_selection(&in->pcrs) != TPM2_RC_SUCCESS)
            return VT_RC_P(TPM2_RC_VALUE, 4);
    }
    return vt_in_end(&c->in);
}

/* Derive the primary of `hierarchy` for this template. */
static TPM2_RC derive_primary(vt_cmd *c, TPMI_RH_HIERARCHY hierarchy, create_in *in,
                              TPMT_SENSITIVE *sens)
{
    uint8_t tbuf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    primary_stream ps;
    uint8_t id[32];
    TPM2_RC rc;

    memset(&ps, 0, sizeof(ps));
    ps.seed = hierarchy_seed(c->e, hierarchy);
    /* The template as sent (its unique field included: callers vary it to
     * get different primaries, Part 1 §26.?) and the caller's data. */
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&in->pub.publicArea, tbuf, sizeof(tbuf), &off) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    if (vt_hash(TPM2_ALG_SHA256, tbuf, off, ps.ctx) != 32 ||
        vt_hash(TPM2_ALG_SHA256, in->sens.sensitive.data.buffer, in->sens.sensitive.data.size,
                ps.ctx + 32) != 32)
        return TPM2_RC_FAILURE;
    {
        vt_buf parts[2] = { { ps.seed, VT_SEED_SIZE }, { ps.ctx, sizeof(ps.ctx) } };
        if (vt_hash_parts(TPM2_ALG_SHA256, parts, 2, id) != 32)
            return TPM2_RC_FAILURE;
    }
    rc = make_object(c->e, &in->pub.publicArea, &in->sens.sensitive, primary_rng, &ps, id, sens);
    vt_wipe(&ps, sizeof(ps));
    return rc;
}

/* Load a new primary and write the response fields common to
 * CreatePrimary and CreateLoaded. */
static TPM2_RC create_primary(vt_cmd *c, TPMI_RH_HIERARCHY hierarchy, create_in *in,
                              vt_object **out)
{
    TPMT_SENSITIVE sens;
    TPM2_RC rc;

    rc = vt_public_check(&in->pub.publicArea, NULL, true);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);
    rc = derive_primary(c, hierarchy, in, &sens);
    if (rc == TPM2_RC_SUCCESS) {
        uint8_t hname[4];
        vt_handle_name(hierarchy, hname);
        rc = vt_object_load(c->e, &in->pub.publicArea, &sens, hierarchy, hname, 4, out);
    }
    vt_wipe(&sens, sizeof(sens));
    if (rc == TPM2_RC_SUCCESS)
        (*out)->is_primary = true;
    return rc;
}

TPM2_RC vt_cmd_create_primary(vt_cmd *c)
{
    TPMI_RH_HIERARCHY h = c->handles[0];
    create_in in;
    creation_out cr;
    vt_object *o;
    uint8_t hname[4];
    TPM2_RC rc;

    RETURN_IF_ERROR(read_create_in(c, &in, true));
    RETURN_IF_ERROR(create_primary(c, h, &in, &o));
    vt_handle_name(h, hname);
    /* A primary's parent is its hierarchy: Name and QN are the handle. */
    rc = make_creation(c, o, &in.pcrs, &in.outside, TPM2_ALG_NULL, hname, 4, hname, 4, &cr);
    vt_wipe(&in, sizeof(in));
    if (rc != TPM2_RC_SUCCESS) {
        vt_object_flush(c->e, o);
        return rc;
    }
    c->rsp_handle = o->handle;
    out_public(&c->out, &o->pub);
    out_creation(&c->out, &cr);
    vt_out_2b(&c->out, o->name, o->name_len);
    return TPM2_RC_SUCCESS;
}

/* An ordinary object under a loaded storage parent. */
static TPM2_RC create_child(vt_cmd *c, vt_object *parent, create_in *in, TPMT_SENSITIVE *sens,
                            uint8_t *name, size_t *name_len)
{
    TPM2_RC rc;

    if (!vt_object_is_storage_parent(parent))
        return VT_RC_H(TPM2_RC_TYPE, 1);
    rc = vt_public_check(&in->pub.publicArea, parent, false);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);
    RETURN_IF_ERROR(make_object(c->e, &in->pub.publicArea, &in->sens.sensitive, drbg_rng, c->e, NULL,
                                sens));
    *name_len = vt_public_name(&in->pub.publicArea, name);
    return *name_len ? TPM2_RC_SUCCESS : TPM2_RC_FAILURE;
}

TPM2_RC vt_cmd_create(vt_cmd *c)
{
    vt_object *parent = vt_object_find(c->e, c->handles[0]);
    create_in in;
    creation_out cr;
    TPMT_SENSITIVE sens;
    TPM2B_PRIVATE priv;
    vt_object tmp;
    uint8_t name[VT_MAX_NAME];
    size_t nlen = 0;
    TPM2_RC rc;

    if (!parent)
        return VT_RC_H(TPM2_RC_TYPE, 1); /* a sequence object */
    RETURN_IF_ERROR(read_create_in(c, &in, true));
    rc = create_child(c, parent, &in, &sens, name, &nlen);
    if (rc == TPM2_RC_SUCCESS)
        rc = vt_sensitive_wrap(parent, &sens, name, nlen, &priv);
    vt_wipe(&sens, sizeof(sens));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    /* Creation data names the object as Load will. */
    memset(&tmp, 0, sizeof(tmp));
    tmp.pub = in.pub.publicArea;
    tmp.hierarchy = parent->hierarchy;
    memcpy(tmp.name, name, nlen);
    tmp.name_len = (uint16_t)nlen;
    rc = make_creation(c, &tmp, &in.pcrs, &in.outside, parent->pub.nameAlg, parent->name, parent->name_len,
                       parent->qname, parent->qname_len, &cr);
    vt_wipe(&in, sizeof(in));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    VT_OUT(&c->out, TPM2B_PRIVATE, &priv);
    out_public(&c->out, &tmp.pub);
    out_creation(&c->out, &cr);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_create_loaded(vt_cmd *c)
{
    TPM2_HANDLE ph = c->handles[0];
    create_in in;
    vt_object *o;
    TPM2_RC rc;

    /* inPublic is a TPM2B_TEMPLATE: for ordinary and primary objects it
     * holds a TPMT_PUBLIC (derived objects are not implemented: a
     * derivation parent is refused below with TPM_RC_TYPE). */
    memset(&in, 0, sizeof(in));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_SENSITIVE_CREATE, &in.sens));
    {
        const uint8_t *t;
        uint16_t tn;
        size_t off = 0;
        RETURN_IF_ERROR(vt_in_2b(&c->in, &t, &tn, sizeof(TPMT_PUBLIC)));
        if (tn == 0 || Tss2_MU_TPMT_PUBLIC_Unmarshal(t, tn, &off, &in.pub.publicArea) != TSS2_RC_SUCCESS)
            return vt_in_rc(&c->in, TPM2_RC_SIZE);
        if (off != tn)
            return vt_in_rc(&c->in, TPM2_RC_SIZE);
        in.pub.size = tn;
    }
    RETURN_IF_ERROR(vt_in_end(&c->in));

    if ((ph >> 24) == TPM2_HT_PERMANENT) {
        RETURN_IF_ERROR(create_primary(c, ph, &in, &o));
        vt_wipe(&in, sizeof(in));
        c->rsp_handle = o->handle;
        vt_out_u16(&c->out, 0); /* a primary has no outPrivate */
    } else {
        vt_object *parent = vt_object_find(c->e, ph);
        TPMT_SENSITIVE sens;
        TPM2B_PRIVATE priv;
        uint8_t name[VT_MAX_NAME];
        size_t nlen = 0;
        if (!parent)
            return VT_RC_H(TPM2_RC_TYPE, 1);
        rc = create_child(c, parent, &in, &sens, name, &nlen);
        if (rc == TPM2_RC_SUCCESS)
            rc = vt_sensitive_wrap(parent, &sens, name, nlen, &priv);
        if (rc == TPM2_RC_SUCCESS)
            rc = vt_object_load(c->e, &in.pub.publicArea, &sens, parent->hierarchy, parent->qname,
                                parent->qname_len, &o);
        vt_wipe(&sens, sizeof(sens));
        vt_wipe(&in, sizeof(in));
        if (rc != TPM2_RC_SUCCESS)
            return rc;
        c->rsp_handle = o->handle;
        VT_OUT(&c->out, TPM2B_PRIVATE, &priv);
    }
    out_public(&c->out, &o->pub);
    vt_out_2b(&c->out, o->name, o->name_len);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_load(vt_cmd *c)
{
    vt_object *parent = vt_object_find(c->e, c->handles[0]), *o;
    TPM2B_PRIVATE priv;
    TPM2B_PUBLIC pub;
    TPMT_SENSITIVE sens;
    uint8_t name[VT_MAX_NAME];
    size_t nlen;
    TPM2_RC rc;

    memset(&priv, 0, sizeof(priv));
    memset(&pub, 0, sizeof(pub));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PRIVATE, &priv));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PUBLIC, &pub));
    if (pub.size == 0)
        return vt_in_rc(&c->in, TPM2_RC_SIZE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!parent || !vt_object_is_storage_parent(parent))
        return VT_RC_H(TPM2_RC_TYPE, 1);
    rc = vt_public_check(&pub.publicArea, parent, false);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);
    nlen = vt_public_name(&pub.publicArea, name);
    if (nlen == 0)
        return VT_RC_P(TPM2_RC_HASH, 2);
    /* The HMAC covers the Name, so a public area that is not the one the
     * private part was made with fails here (Part 1 §23.?). */
    rc = vt_sensitive_unwrap(parent, &priv, name, nlen, &sens);
    if (rc != TPM2_RC_SUCCESS)
        return rc == TPM2_RC_INTEGRITY || rc == TPM2_RC_SIZE ? VT_RC_P(rc, 1) : rc;
    if (sens.sensitiveType != pub.publicArea.type ||
        sens.authValue.size > vt_hash_size(pub.publicArea.nameAlg)) {
        vt_wipe(&sens, sizeof(sens));
        return VT_RC_P(TPM2_RC_TYPE, 1);
    }
    rc = vt_object_load(c->e, &pub.publicArea, &sens, parent->hierarchy, parent->qname, parent->qname_len, &o);
    vt_wipe(&sens, sizeof(sens));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    c->rsp_handle = o->handle;
    vt_out_2b(&c->out, o->name, o->name_len);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_load_external(vt_cmd *c)
{
    TPM2B_SENSITIVE sens;
    TPM2B_PUBLIC pub;
    TPMI_RH_HIERARCHY h;
    vt_object *o;
    uint8_t hname[4];
    TPMA_OBJECT a;
    TPM2_RC rc;

    memset(&sens, 0, sizeof(sens));
    memset(&pub, 0, sizeof(pub));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_SENSITIVE, &sens));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_PUBLIC, &pub));
    if (pub.size == 0)
        return vt_in_rc(&c->in, TPM2_RC_SIZE);
    RETURN_IF_ERROR(vt_in_u32(&c->in, &h));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (h != TPM2_RH_OWNER && h != TPM2_RH_ENDORSEMENT && h != TPM2_RH_PLATFORM && h != TPM2_RH_NULL)
        return VT_RC_P(TPM2_RC_VALUE, 3);
    if (!vt_hierarchy_enabled(c->e, h))
        return VT_RC_P(TPM2_RC_HIERARCHY, 3);
    a = pub.publicArea.objectAttributes;
    rc = vt_public_check(&pub.publicArea, NULL, false);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);
    if (sens.size) {
        /* Part 3 §12.3: an outside key with its private part lives in the
         * null hierarchy and cannot claim to be fixed to this TPM. */
        if (h != TPM2_RH_NULL) {
            vt_wipe(&sens, sizeof(sens));
            return VT_RC_P(TPM2_RC_HIERARCHY, 3);
        }
        if (a & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT)) {
            vt_wipe(&sens, sizeof(sens));
            return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
        }
    }
    vt_handle_name(h, hname);
    rc = vt_object_load(c->e, &pub.publicArea, sens.size ? &sens.sensitiveArea : NULL, h, hname, 4, &o);
    vt_wipe(&sens, sizeof(sens));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    o->external = true;
    /* Any mismatch is TPM_RC_BINDING here, whatever part of it fails. */
    if (o->has_sensitive && vt_sensitive_check(&o->pub, &o->sens) != TPM2_RC_SUCCESS) {
        vt_object_flush(c->e, o);
        return VT_RC_P(TPM2_RC_BINDING, 1);
    }
    if (!o->has_sensitive && (o->pub.type == TPM2_ALG_RSA || o->pub.type == TPM2_ALG_ECC) &&
        vt_object_key(o) == NULL) {
        /* A public point not on its curve, a modulus of the wrong size. */
        vt_object_flush(c->e, o);
        return VT_RC_P(o->pub.type == TPM2_ALG_ECC ? TPM2_RC_ECC_POINT : TPM2_RC_KEY, 2);
    }
    c->rsp_handle = o->handle;
    vt_out_2b(&c->out, o->name, o->name_len);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_read_public(vt_cmd *c)
{
    vt_object *o = vt_object_find(c->e, c->handles[0]);

    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!o)
        return TPM2_RC_SEQUENCE;
    out_public(&c->out, &o->pub);
    vt_out_2b(&c->out, o->name, o->name_len);
    vt_out_2b(&c->out, o->qname, o->qname_len);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_object_change_auth(vt_cmd *c)
{
    vt_object *o = vt_object_find(c->e, c->handles[0]);
    vt_object *parent = vt_object_find(c->e, c->handles[1]);
    const uint8_t *auth;
    uint16_t alen;
    uint8_t qn[VT_MAX_NAME];
    TPMT_SENSITIVE sens;
    TPM2B_PRIVATE priv;
    size_t n;
    TPM2_RC rc;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &auth, &alen, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!o || !o->has_sensitive)
        return VT_RC_H(TPM2_RC_TYPE, 1);
    /* Part 3 §12.7: parentHandle must be the object's parent — its QN
     * hashed with the object's Name gives the object's QN. */
    if (!parent || !vt_object_is_storage_parent(parent))
        return VT_RC_H(TPM2_RC_TYPE, 2);
    n = vt_qualified_name(o->pub.nameAlg, parent->qname, parent->qname_len, o->name, o->name_len, qn);
    if (n != o->qname_len || memcmp(qn, o->qname, n) != 0)
        return VT_RC_H(TPM2_RC_TYPE, 2);
    if (alen > vt_hash_size(o->pub.nameAlg))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    sens = o->sens;
    memset(sens.authValue.buffer, 0, sizeof(sens.authValue.buffer));
    memcpy(sens.authValue.buffer, auth, alen);
    sens.authValue.size = alen;
    rc = vt_sensitive_wrap(parent, &sens, o->name, o->name_len, &priv);
    vt_wipe(&sens, sizeof(sens));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    VT_OUT(&c->out, TPM2B_PRIVATE, &priv);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_unseal(vt_cmd *c)
{
    vt_object *o = vt_object_find(c->e, c->handles[0]);
    TPMA_OBJECT a;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!o || o->pub.type != TPM2_ALG_KEYEDHASH || !o->has_sensitive)
        return VT_RC_H(TPM2_RC_TYPE, 1);
    /* Part 3 §12.7: only a data object (no sign, no decrypt, not
     * restricted) can be unsealed. */
    a = o->pub.objectAttributes;
    if (a & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_RESTRICTED))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    vt_out_2b(&c->out, o->sens.sensitive.bits.buffer, o->sens.sensitive.bits.size);
    return TPM2_RC_SUCCESS;
}

/* ---- EvictControl (Part 3 §28.5) ---- */

TPM2_RC vt_cmd_evict_control(vt_cmd *c)
{
    TPM2_HANDLE auth = c->handles[0], ph;
    vt_object *o = vt_object_find(c->e, c->handles[1]);
    bool platform_range;
    unsigned i;

    RETURN_IF_ERROR(vt_in_u32(&c->in, &ph));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!o)
        return VT_RC_H(TPM2_RC_HANDLE, 2);
    if ((ph >> 24) != TPM2_HT_PERSISTENT)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    /* 0x81800000–0x81FFFFFF belong to the platform, the rest to the owner
     * (TCG PC Client handle ranges). */
    platform_range = ph >= 0x81800000u;
    if ((o->handle >> 24) == TPM2_HT_PERSISTENT) {
        /* Evict: the handle given twice.  The platform may evict an
         * owner's object (Part 3 §28.5). */
        if (o->handle != ph)
            return VT_RC_H(TPM2_RC_HANDLE, 2);
        if (auth == TPM2_RH_OWNER && o->hierarchy == TPM2_RH_PLATFORM)
            return VT_RC_H(TPM2_RC_HIERARCHY, 2);
        if (auth == TPM2_RH_OWNER && platform_range)
            return VT_RC_P(TPM2_RC_RANGE, 1);
        if (!c->e->nv_available)
            return TPM2_RC_NV_UNAVAILABLE;
        vt_object_flush(c->e, o);
        c->state_changed = true;
        return TPM2_RC_SUCCESS;
    }
    if (o->hierarchy == TPM2_RH_NULL || o->external || !o->has_sensitive ||
        (o->pub.objectAttributes & TPMA_OBJECT_STCLEAR))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
    if (auth == TPM2_RH_OWNER ? o->hierarchy == TPM2_RH_PLATFORM : o->hierarchy != TPM2_RH_PLATFORM)
        return VT_RC_H(TPM2_RC_HIERARCHY, 2);
    if ((auth == TPM2_RH_OWNER) == platform_range)
        return VT_RC_P(TPM2_RC_RANGE, 1);
    if (vt_object_find(c->e, ph))
        return TPM2_RC_NV_DEFINED;
    if (!c->e->nv_available)
        return TPM2_RC_NV_UNAVAILABLE;
    for (i = 0; i < VT_MAX_PERSISTENT; i++)
        if (!c->e->p.persistent[i].used) {
            vt_object *p = &c->e->p.persistent[i];
            *p = *o;
            p->key = NULL; /* built again on first use */
            p->handle = ph;
            c->state_changed = true;
            return TPM2_RC_SUCCESS;
        }
    return TPM2_RC_NV_SPACE;
}

/* ---- ContextSave / ContextLoad (Part 1 §30, Part 3 §28.2–§28.3) ----
 *
 * contextBlob = TPM2B_DIGEST integrity || AES-256-CFB(plain), with keys
 * from KDFa(SHA-256, proof of the object's hierarchy, "CONTEXT", sequence,
 * savedHandle): a new proof (Clear, and the null hierarchy at every TPM
 * Reset) invalidates old contexts.  integrity = HMAC(hmacKey, sequence ||
 * savedHandle || hierarchy || resetValue || encrypted), resetValue from
 * context_reset_value().  The format is in docs/FORMAT.md. */

#define CTX_OBJECT_HANDLE 0x80000000u
#define CTX_MAGIC 0x56544358u /* "VTCX" */

static TPM2_RC context_keys(vt_engine *e, TPMI_RH_HIERARCHY h, uint64_t seq, uint32_t handle,
                            uint8_t *enc_key, uint8_t *iv, uint8_t *hmac_key)
{
    const uint8_t *proof = vt_hierarchy_proof(e, h);
    uint8_t u[8], v[4], k[32 + 16 + 32];
    unsigned i;

    if (!proof)
        return TPM2_RC_HIERARCHY;
    for (i = 0; i < 8; i++)
        u[i] = (uint8_t)(seq >> (56 - 8 * i));
    v[0] = (uint8_t)(handle >> 24);
    v[1] = (uint8_t)(handle >> 16);
    v[2] = (uint8_t)(handle >> 8);
    v[3] = (uint8_t)handle;
    if (vt_kdfa(TPM2_ALG_SHA256, proof, VT_SEED_SIZE, "CONTEXT", u, 8, v, 4, sizeof(k) * 8, k) != 0)
        return TPM2_RC_FAILURE;
    memcpy(enc_key, k, 32);
    memcpy(iv, k + 32, 16);
    memcpy(hmac_key, k + 48, 32);
    vt_wipe(k, sizeof(k));
    return TPM2_RC_SUCCESS;
}

/* What ties a context to this boot: no object context outlives a TPM
 * Reset (Part 1 §30.?), and an stClear object's none outlives a
 * Startup(CLEAR) — a TPM Restart too, but not a Resume (Part 2 §8.3.3.2). */
static uint32_t context_reset_value(vt_engine *e, const TPMT_PUBLIC *pub)
{
    if (pub->objectAttributes & TPMA_OBJECT_STCLEAR)
        return e->p.clear_count;
    return e->p.reset_count;
}

static size_t context_mac(const uint8_t *hmac_key, uint64_t seq, uint32_t handle, uint32_t hierarchy,
                          uint32_t clear_count, const uint8_t *enc, size_t elen, uint8_t *mac)
{
    uint8_t hdr[20];
    unsigned i;

    for (i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(seq >> (56 - 8 * i));
    for (i = 0; i < 4; i++) {
        hdr[8 + i] = (uint8_t)(handle >> (24 - 8 * i));
        hdr[12 + i] = (uint8_t)(hierarchy >> (24 - 8 * i));
        hdr[16 + i] = (uint8_t)(clear_count >> (24 - 8 * i));
    }
    {
        vt_buf parts[2] = { { hdr, sizeof(hdr) }, { enc, elen } };
        return vt_hmac_parts(TPM2_ALG_SHA256, hmac_key, 32, parts, 2, mac);
    }
}

TPM2_RC vt_cmd_context_save(vt_cmd *c)
{
    vt_object *o = vt_object_find(c->e, c->handles[0]);
    uint8_t plain[TPM2_MAX_CONTEXT_SIZE], ek[32], iv[16], hk[32];
    TPMS_CONTEXT ctx;
    size_t off = 0;
    uint8_t flags;
    TPM2_RC rc;

    if ((c->handles[0] >> 24) == TPM2_HT_HMAC_SESSION || (c->handles[0] >> 24) == TPM2_HT_POLICY_SESSION)
        return vt_session_context_save(c);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!o || (o->handle >> 24) != TPM2_HT_TRANSIENT)
        return VT_RC_H(TPM2_RC_HANDLE, 1); /* sequences and sessions: not yet */
    flags = (uint8_t)((o->has_sensitive ? 1u : 0u) | (o->external ? 2u : 0u) | (o->is_primary ? 4u : 0u));
    {
        TPM2B_PUBLIC p2 = { .size = 0, .publicArea = o->pub };
        TPM2B_SENSITIVE s2 = { .size = 0, .sensitiveArea = o->sens };
        TPM2B_NAME qn = { .size = o->qname_len };
        memcpy(qn.name, o->qname, o->qname_len);
        if (Tss2_MU_UINT32_Marshal(CTX_MAGIC, plain, sizeof(plain), &off) != TSS2_RC_SUCCESS ||
            Tss2_MU_UINT8_Marshal(flags, plain, sizeof(plain), &off) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_PUBLIC_Marshal(&p2, plain, sizeof(plain), &off) != TSS2_RC_SUCCESS ||
            (o->has_sensitive ? Tss2_MU_TPM2B_SENSITIVE_Marshal(&s2, plain, sizeof(plain), &off)
                              : Tss2_MU_UINT16_Marshal(0, plain, sizeof(plain), &off)) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_NAME_Marshal(&qn, plain, sizeof(plain), &off) != TSS2_RC_SUCCESS) {
            vt_wipe(&s2, sizeof(s2));
            vt_wipe(plain, sizeof(plain));
            return TPM2_RC_FAILURE;
        }
        vt_wipe(&s2, sizeof(s2));
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.sequence = ++c->e->v.context_seq;
    ctx.savedHandle = CTX_OBJECT_HANDLE;
    ctx.hierarchy = o->hierarchy;
    rc = context_keys(c->e, o->hierarchy, ctx.sequence, ctx.savedHandle, ek, iv, hk);
    if (rc == TPM2_RC_SUCCESS && 2 + 32 + off > sizeof(ctx.contextBlob.buffer))
        rc = TPM2_RC_FAILURE;
    if (rc == TPM2_RC_SUCCESS &&
        vt_aes_crypt(TPM2_ALG_CFB, true, ek, 32, iv, plain, off, ctx.contextBlob.buffer + 34) != 0)
        rc = TPM2_RC_FAILURE;
    if (rc == TPM2_RC_SUCCESS) {
        size_t n = context_mac(hk, ctx.sequence, ctx.savedHandle, ctx.hierarchy, context_reset_value(c->e, &o->pub),
                        ctx.contextBlob.buffer + 34, off, ctx.contextBlob.buffer + 2);
        if (n != 32)
            rc = TPM2_RC_FAILURE;
        ctx.contextBlob.buffer[0] = 0;
        ctx.contextBlob.buffer[1] = 32;
        ctx.contextBlob.size = (uint16_t)(34 + off);
    }
    vt_wipe(plain, sizeof(plain));
    vt_wipe(ek, sizeof(ek));
    vt_wipe(hk, sizeof(hk));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    VT_OUT(&c->out, TPMS_CONTEXT, &ctx);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_context_load(vt_cmd *c)
{
    TPMS_CONTEXT ctx;
    uint8_t plain[TPM2_MAX_CONTEXT_SIZE], ek[32], iv[16], hk[32], mac[32];
    TPM2B_PUBLIC p2;
    TPM2B_SENSITIVE s2;
    TPM2B_NAME qn;
    size_t elen, off = 0;
    uint32_t magic = 0;
    uint8_t flags = 0;
    vt_object *o;
    TPM2_RC rc;
    bool ok;

    memset(&ctx, 0, sizeof(ctx));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMS_CONTEXT, &ctx));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if ((ctx.savedHandle >> 24) == TPM2_HT_HMAC_SESSION || (ctx.savedHandle >> 24) == TPM2_HT_POLICY_SESSION)
        return vt_session_context_load(c, &ctx);
    if (ctx.savedHandle != CTX_OBJECT_HANDLE)
        return VT_RC_P(TPM2_RC_HANDLE, 1);
    if (ctx.hierarchy != TPM2_RH_OWNER && ctx.hierarchy != TPM2_RH_ENDORSEMENT &&
        ctx.hierarchy != TPM2_RH_PLATFORM && ctx.hierarchy != TPM2_RH_NULL)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    if (!vt_hierarchy_enabled(c->e, ctx.hierarchy))
        return VT_RC_P(TPM2_RC_HIERARCHY, 1);
    if (ctx.contextBlob.size < 34 || ctx.contextBlob.buffer[0] != 0 || ctx.contextBlob.buffer[1] != 32)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    elen = ctx.contextBlob.size - 34u;
    RETURN_IF_ERROR(context_keys(c->e, ctx.hierarchy, ctx.sequence, ctx.savedHandle, ek, iv, hk));
    if (vt_aes_crypt(TPM2_ALG_CFB, false, ek, 32, iv, ctx.contextBlob.buffer + 34, elen, plain) != 0) {
        rc = TPM2_RC_FAILURE;
        goto out;
    }
    memset(&p2, 0, sizeof(p2));
    memset(&s2, 0, sizeof(s2));
    memset(&qn, 0, sizeof(qn));
    /* The stClear count is part of the MAC, so the public area is needed
     * first; a forged blob fails the MAC whatever it decrypts to. */
    if (Tss2_MU_UINT32_Unmarshal(plain, elen, &off, &magic) != TSS2_RC_SUCCESS || magic != CTX_MAGIC ||
        Tss2_MU_UINT8_Unmarshal(plain, elen, &off, &flags) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(plain, elen, &off, &p2) != TSS2_RC_SUCCESS ||
        ((flags & 1) ? Tss2_MU_TPM2B_SENSITIVE_Unmarshal(plain, elen, &off, &s2)
                     : Tss2_MU_UINT16_Unmarshal(plain, elen, &off, &s2.size)) != TSS2_RC_SUCCESS ||
        (!(flags & 1) && s2.size != 0) ||
        Tss2_MU_TPM2B_NAME_Unmarshal(plain, elen, &off, &qn) != TSS2_RC_SUCCESS || off != elen) {
        rc = VT_RC_P(TPM2_RC_INTEGRITY, 1);
        goto out;
    }
    if (context_mac(hk, ctx.sequence, ctx.savedHandle, ctx.hierarchy, context_reset_value(c->e, &p2.publicArea),
                    ctx.contextBlob.buffer + 34, elen, mac) != 32) {
        rc = TPM2_RC_FAILURE;
        goto out;
    }
    ok = vt_ct_equal(mac, ctx.contextBlob.buffer + 2, 32);
    if (!ok) {
        rc = VT_RC_P(TPM2_RC_INTEGRITY, 1);
        goto out;
    }
    rc = vt_object_load(c->e, &p2.publicArea, (flags & 1) ? &s2.sensitiveArea : NULL, ctx.hierarchy, NULL,
                        0, &o);
    if (rc == TPM2_RC_SUCCESS) {
        /* The saved Qualified Name (its parent may be long gone). */
        memcpy(o->qname, qn.name, qn.size);
        o->qname_len = qn.size;
        o->external = flags & 2;
        o->is_primary = flags & 4;
        c->rsp_handle = o->handle;
    }
out:
    vt_wipe(plain, sizeof(plain));
    vt_wipe(&s2, sizeof(s2));
    vt_wipe(ek, sizeof(ek));
    vt_wipe(hk, sizeof(hk));
    return rc;
}
