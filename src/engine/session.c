/* Authorization sessions: TPM2_StartAuthSession and the session table
 * (TPM 2.0 Part 1 §19, Part 3 §11.1). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "engine/auth.h"
#include "engine/param_crypt.h"

vt_session *vt_session_find(vt_engine *e, TPM2_HANDLE h)
{
    unsigned i;
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++)
        if (e->v.sessions[i].used && e->v.sessions[i].handle == h)
            return &e->v.sessions[i];
    return NULL;
}

void vt_session_free(vt_session *s)
{
    vt_wipe(s, sizeof(*s));
    s->used = false;
}

unsigned vt_sessions_loaded(const vt_engine *e)
{
    unsigned i, n = 0;
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++)
        n += e->v.sessions[i].used && !e->v.sessions[i].saved;
    return n;
}

unsigned vt_sessions_active(const vt_engine *e)
{
    unsigned i, n = 0;
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++)
        n += e->v.sessions[i].used;
    return n;
}

void vt_session_policy_reset(vt_session *s)
{
    memset(s->policy_digest, 0, sizeof(s->policy_digest));
    s->policy_cc = 0;
    s->auth_value_needed = false;
    s->password_needed = false;
    s->pcr_counter_set = false;
    s->pcr_counter = 0;
    memset(s->cp_hash, 0, sizeof(s->cp_hash));
    s->cp_hash_len = 0;
    s->timeout = 0;
    memset(s->name_hash, 0, sizeof(s->name_hash));
    s->name_hash_len = 0;
    memset(s->template_hash, 0, sizeof(s->template_hash));
    s->template_hash_len = 0;
    s->locality = 0;
    s->pp_needed = false;
    s->nv_written = 0;
}

void vt_session_bind_id(vt_engine *e, TPM2_HANDLE h, uint8_t id[32])
{
    uint8_t name[VT_MAX_NAME];
    vt_entity_auth ent;
    size_t nlen = vt_entity_name(e, h, name);
    vt_buf parts[2] = { { name, nlen }, { "", 0 } };

    if (vt_entity_lookup(e, h, &ent) == TPM2_RC_SUCCESS)
        parts[1] = (vt_buf){ ent.auth, vt_auth_trim(ent.auth, ent.auth_len) };
    vt_hash_parts(TPM2_ALG_SHA256, parts, 2, id);
}

size_t vt_entity_name(vt_engine *e, TPM2_HANDLE h, uint8_t *out)
{
    vt_nv_index *ix;

    /* An NV index: nameAlg || H(TPMS_NV_PUBLIC), which changes with its
     * attributes (WRITTEN, the locks) — Part 1 §16. */
    if ((h >> 24) == TPM2_HT_NV_INDEX && (ix = vt_nv_find(&e->p.nv, h)) != NULL) {
        size_t n = vt_nv_name(ix, out);
        if (n)
            return n;
    }
    {
        const vt_object *o = vt_object_find(e, h);
        if (o) {
            memcpy(out, o->name, o->name_len);
            return o->name_len;
        }
    }
    /* A sequence object has no public area: its Name is the Empty Buffer
     * (Part 1 §32.4.?). */
    if (vt_sequence_find(e, h))
        return 0;
    out[0] = (uint8_t)(h >> 24);
    out[1] = (uint8_t)(h >> 16);
    out[2] = (uint8_t)(h >> 8);
    out[3] = (uint8_t)h;
    return 4;
}

/* Session handles carry their type in the top octet and a counter below,
 * so a flushed handle is not soon reused.  HMAC and policy sessions share
 * the counter: no two active sessions have the same low 24 bits, so
 * GetCapability can list both kinds in one order. */
static TPM2_HANDLE new_session_handle(vt_engine *e, TPM2_SE type)
{
    uint32_t top = (type == TPM2_SE_HMAC ? TPM2_HT_HMAC_SESSION : TPM2_HT_POLICY_SESSION);
    for (;;) {
        uint32_t low = e->v.next_session++ & 0x00FFFFFFu;
        unsigned i;
        bool taken = false;
        for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++)
            taken |= e->v.sessions[i].used && (e->v.sessions[i].handle & 0x00FFFFFFu) == low;
        if (!taken)
            return (top << 24) | low;
    }
}

TPM2_RC vt_cmd_start_auth_session(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2_HANDLE tpm_key = c->handles[0], bind = c->handles[1];
    const uint8_t *nonce_caller, *salt;
    uint16_t nonce_len, salt_len, type16;
    uint8_t type;
    TPMT_SYM_DEF sym;
    uint16_t auth_hash;
    vt_session *s = NULL;
    uint8_t seed[VT_MAX_DIGEST];
    size_t hlen, seed_len = 0;
    unsigned i;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &nonce_caller, &nonce_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &salt, &salt_len, sizeof(TPMU_ENCRYPTED_SECRET)));
    RETURN_IF_ERROR(vt_in_u8(&c->in, &type));
    if (type != TPM2_SE_HMAC && type != TPM2_SE_POLICY && type != TPM2_SE_TRIAL)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SYM_DEF, &sym));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &auth_hash));
    hlen = vt_hash_size(auth_hash);
    if (hlen == 0)
        return vt_in_rc(&c->in, TPM2_RC_HASH);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    type16 = type;

    /* nonceCaller: at least 16 octets and at most the digest size of
     * authHash (Part 3 §11.1). */
    if (nonce_len < 16 || nonce_len > hlen)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    /* The symmetric of parameter encryption: AES in CFB mode, XOR, or
     * none. */
    {
        TPM2_RC src = vt_param_sym_check(&sym);
        if (src != TPM2_RC_SUCCESS)
            return VT_RC_P(src, 4);
    }
    if (tpm_key == TPM2_RH_NULL) {
        if (salt_len != 0)
            return VT_RC_P(TPM2_RC_VALUE, 2);
    } else {
        /* A salted session (Part 1 §19.6.?): the salt comes encrypted to a
         * loaded decrypt key, RSA-OAEP or ECDH with the label "SECRET". */
        vt_object *key = vt_object_find(e, tpm_key);
        TPM2B_ENCRYPTED_SECRET es;
        TPM2_RC rrc;
        if (!key || !key->has_sensitive)
            return VT_RC_H(TPM2_RC_HANDLE, 1);
        if (key->pub.type != TPM2_ALG_RSA && key->pub.type != TPM2_ALG_ECC)
            return VT_RC_H(TPM2_RC_KEY, 1);
        if (!(key->pub.objectAttributes & TPMA_OBJECT_DECRYPT))
            return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
        if (salt_len == 0)
            return VT_RC_P(TPM2_RC_VALUE, 2);
        es.size = salt_len;
        memcpy(es.secret, salt, salt_len);
        rrc = vt_secret_recover(key, "SECRET", &es, seed, &seed_len);
        /* A secret that is not a marshalled point is TPM_RC_VALUE here
         * (swtpm agrees). */
        if (rrc == TPM2_RC_INSUFFICIENT || rrc == TPM2_RC_SIZE)
            rrc = TPM2_RC_VALUE;
        if (rrc != TPM2_RC_SUCCESS)
            return (rrc & TPM2_RC_FMT1) ? VT_RC_P(rrc, 2) : rrc;
    }

    /* Room in TPM memory, then a free contextArray entry (Part 3 §11.1). */
    if (vt_sessions_loaded(e) >= VT_MAX_LOADED_SESSIONS) {
        vt_wipe(seed, sizeof(seed));
        return TPM2_RC_SESSION_MEMORY;
    }
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS && !s; i++)
        if (!e->v.sessions[i].used)
            s = &e->v.sessions[i];
    if (!s) {
        vt_wipe(seed, sizeof(seed));
        return TPM2_RC_SESSION_HANDLES;
    }

    memset(s, 0, sizeof(*s));
    s->type = (TPM2_SE)type16;
    s->auth_hash = auth_hash;
    s->symmetric = sym;
    s->nonce_tpm_len = (uint16_t)hlen;
    if (vt_random_nonce(e, s->nonce_tpm, hlen) != TPM2_RC_SUCCESS) {
        vt_wipe(seed, sizeof(seed));
        return TPM2_RC_FAILURE;
    }
    s->start_time = vt_time_now(e);

    if (bind != TPM2_RH_NULL || seed_len) {
        /* sessionKey = KDFa(authHash, bind.authValue || salt, "ATH",
         * nonceTPM, nonceCaller, digest bits) — Part 1 §19.6.8. */
        uint8_t kin[VT_MAX_DIGEST + VT_MAX_DIGEST];
        size_t kin_len = 0;
        int kr;
        if (bind != TPM2_RH_NULL) {
            vt_entity_auth ent;
            if (vt_entity_lookup(e, bind, &ent) != TPM2_RC_SUCCESS || ent.auth_len > VT_MAX_DIGEST) {
                vt_wipe(seed, sizeof(seed));
                return VT_RC_H(TPM2_RC_HANDLE, 2);
            }
            /* trailing zeros of an authValue never count (Part 1 §19.6.?) */
            kin_len = vt_auth_trim(ent.auth, ent.auth_len);
            memcpy(kin, ent.auth, kin_len);
            s->bound = true;
            s->bind_handle = bind;
            vt_session_bind_id(e, bind, s->bind_id);
        }
        memcpy(kin + kin_len, seed, seed_len);
        kin_len += seed_len;
        kr = vt_kdfa(auth_hash, kin, kin_len, "ATH", s->nonce_tpm, hlen, nonce_caller, nonce_len,
                     (uint32_t)(8 * hlen), s->session_key);
        vt_wipe(kin, sizeof(kin));
        vt_wipe(seed, sizeof(seed));
        if (kr != 0)
            return TPM2_RC_FAILURE;
        s->session_key_len = (uint16_t)hlen;
    }
    s->handle = new_session_handle(e, s->type);
    s->used = true;
    c->rsp_handle = s->handle;
    vt_out_2b(&c->out, s->nonce_tpm, s->nonce_tpm_len);
    return TPM2_RC_SUCCESS;
}

/* ---- ContextSave / ContextLoad of sessions (Part 1 §30, Part 3 §28) ----
 *
 * The session leaves TPM memory; its slot stays taken as the contextArray
 * entry (handle and the context's sequence number), so the session is still
 * active, its handle is not reused, and exactly the last saved context of
 * it loads, once: a replayed or older blob finds no matching entry
 * (TPM_RC_HANDLE).  The blob is protected like an object context:
 *   keys  = KDFa(SHA-256, nullProof, "CONTEXT", sequence, savedHandle)
 *   blob  = TPM2B_DIGEST(HMAC) || AES-256-CFB(session state)
 *   HMAC  = HMAC-SHA256(hmacKey, sequence || savedHandle || hierarchy || enc)
 * with hierarchy TPM_RH_NULL.  A new null proof (TPM Reset) kills old blobs;
 * the table itself is volatile, so saved sessions end at any power cycle. */

#define SES_CTX_MAGIC 0x56545353u /* "VTSS" */
/* magic, type, authHash, 3 nonce-sized 2Bs, digest, bind, sym, policy state */
#define SES_CTX_PLAIN_MAX 640u

static TPM2_RC ses_ctx_keys(vt_engine *e, uint64_t seq, uint32_t handle, uint8_t *ek, uint8_t *iv,
                            uint8_t *hk)
{
    const uint8_t *proof = vt_hierarchy_proof(e, TPM2_RH_NULL);
    uint8_t u[8], v[4], k[32 + 16 + 32];
    unsigned i;

    if (!proof)
        return TPM2_RC_FAILURE;
    for (i = 0; i < 8; i++)
        u[i] = (uint8_t)(seq >> (56 - 8 * i));
    for (i = 0; i < 4; i++)
        v[i] = (uint8_t)(handle >> (24 - 8 * i));
    if (vt_kdfa(TPM2_ALG_SHA256, proof, VT_SEED_SIZE, "CONTEXT", u, 8, v, 4, sizeof(k) * 8, k) != 0)
        return TPM2_RC_FAILURE;
    memcpy(ek, k, 32);
    memcpy(iv, k + 32, 16);
    memcpy(hk, k + 48, 32);
    vt_wipe(k, sizeof(k));
    return TPM2_RC_SUCCESS;
}

static size_t ses_ctx_mac(const uint8_t *hk, const TPMS_CONTEXT *ctx, const uint8_t *enc, size_t elen,
                          uint8_t *mac)
{
    uint8_t hdr[16];
    unsigned i;

    for (i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(ctx->sequence >> (56 - 8 * i));
    for (i = 0; i < 4; i++) {
        hdr[8 + i] = (uint8_t)(ctx->savedHandle >> (24 - 8 * i));
        hdr[12 + i] = (uint8_t)(ctx->hierarchy >> (24 - 8 * i));
    }
    {
        vt_buf parts[2] = { { hdr, sizeof(hdr) }, { enc, elen } };
        return vt_hmac_parts(TPM2_ALG_SHA256, hk, 32, parts, 2, mac);
    }
}

static void ses_marshal(const vt_session *s, vt_out *o)
{
    uint8_t flags = (uint8_t)((s->bound ? 1u : 0u) | (s->auth_value_needed ? 2u : 0u) |
                              (s->password_needed ? 4u : 0u) | (s->pcr_counter_set ? 8u : 0u));
    vt_out_u32(o, SES_CTX_MAGIC);
    vt_out_u8(o, (uint8_t)s->type);
    vt_out_u16(o, s->auth_hash);
    vt_out_2b(o, s->nonce_tpm, s->nonce_tpm_len);
    vt_out_2b(o, s->session_key, s->session_key_len);
    vt_out_u32(o, s->bind_handle);
    VT_OUT(o, TPMT_SYM_DEF, &s->symmetric);
    vt_out_bytes(o, s->policy_digest, VT_MAX_DIGEST);
    vt_out_u32(o, s->policy_cc);
    vt_out_u8(o, flags);
    vt_out_u32(o, s->pcr_counter);
    vt_out_2b(o, s->cp_hash, s->cp_hash_len);
    vt_out_u64(o, s->start_time);
    vt_out_u64(o, s->timeout);
    /* session audit: the digest, present once the session audited */
    vt_out_2b(o, s->audit_digest, s->is_audit ? (uint16_t)vt_hash_size(s->auth_hash) : 0);
    vt_out_bytes(o, s->bind_id, sizeof(s->bind_id));
    vt_out_2b(o, s->name_hash, s->name_hash_len);
    vt_out_2b(o, s->template_hash, s->template_hash_len);
    vt_out_u8(o, s->locality);
    vt_out_u8(o, s->pp_needed ? 1u : 0u);
    vt_out_u8(o, s->nv_written);
}

/* The reverse; false when the plain text is not a session state (which,
 * behind a good HMAC, means a bug, not an attack). */
static bool ses_unmarshal(const uint8_t *p, size_t len, vt_session *s)
{
    vt_in in;
    const uint8_t *d;
    uint16_t n, alg;
    uint32_t magic, u;
    uint8_t type, flags;

    vt_in_init(&in, p, len, VT_AREA_PARAM);
    if (vt_in_u32(&in, &magic) || magic != SES_CTX_MAGIC || vt_in_u8(&in, &type) ||
        (type != TPM2_SE_HMAC && type != TPM2_SE_POLICY && type != TPM2_SE_TRIAL) ||
        vt_in_u16(&in, &alg) || vt_hash_size(alg) == 0)
        return false;
    s->type = (TPM2_SE)type;
    s->auth_hash = alg;
    if (vt_in_2b(&in, &d, &n, VT_MAX_DIGEST) || n != vt_hash_size(alg))
        return false;
    memcpy(s->nonce_tpm, d, n);
    s->nonce_tpm_len = n;
    if (vt_in_2b(&in, &d, &n, VT_MAX_DIGEST))
        return false;
    memcpy(s->session_key, d, n);
    s->session_key_len = n;
    if (vt_in_u32(&in, &s->bind_handle) || VT_IN(&in, TPMT_SYM_DEF, &s->symmetric) ||
        vt_in_left(&in) < VT_MAX_DIGEST)
        return false;
    memcpy(s->policy_digest, in.buf + in.off, VT_MAX_DIGEST);
    in.off += VT_MAX_DIGEST;
    if (vt_in_u32(&in, &u) || vt_in_u8(&in, &flags) || vt_in_u32(&in, &s->pcr_counter))
        return false;
    s->policy_cc = u;
    s->bound = flags & 1;
    s->auth_value_needed = (flags & 2) != 0;
    s->password_needed = (flags & 4) != 0;
    s->pcr_counter_set = (flags & 8) != 0;
    if (vt_in_2b(&in, &d, &n, VT_MAX_DIGEST))
        return false;
    memcpy(s->cp_hash, d, n);
    s->cp_hash_len = n;
    if (vt_in_u64(&in, &s->start_time) || vt_in_u64(&in, &s->timeout))
        return false;
    if (vt_in_2b(&in, &d, &n, VT_MAX_DIGEST) || (n != 0 && n != vt_hash_size(alg)))
        return false;
    memcpy(s->audit_digest, d, n);
    s->is_audit = n != 0;
    if (vt_in_left(&in) < sizeof(s->bind_id))
        return false;
    memcpy(s->bind_id, in.buf + in.off, sizeof(s->bind_id));
    in.off += sizeof(s->bind_id);
    if (vt_in_2b(&in, &d, &n, VT_MAX_DIGEST))
        return false;
    memcpy(s->name_hash, d, n);
    s->name_hash_len = n;
    if (vt_in_2b(&in, &d, &n, VT_MAX_DIGEST))
        return false;
    memcpy(s->template_hash, d, n);
    s->template_hash_len = n;
    if (vt_in_u8(&in, &s->locality) || vt_in_u8(&in, &flags) || flags > 1 ||
        vt_in_u8(&in, &s->nv_written) || s->nv_written > 2)
        return false;
    s->pp_needed = flags != 0;
    return vt_in_end(&in) == TPM2_RC_SUCCESS;
}

TPM2_RC vt_session_context_save(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_session *s = vt_session_find(e, c->handles[0]);
    uint8_t plain[SES_CTX_PLAIN_MAX], ek[32], iv[16], hk[32];
    TPMS_CONTEXT ctx;
    vt_out o;
    TPM2_RC rc;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    /* A session that is not in TPM memory (never was, or already saved):
     * the resource manager's warning (Part 3 §28.2). */
    if (!s || s->saved)
        return TPM2_RC_REFERENCE_H0;
    vt_out_init(&o, plain, sizeof(plain));
    ses_marshal(s, &o);
    if (o.overflow)
        return TPM2_RC_FAILURE;
    memset(&ctx, 0, sizeof(ctx));
    ctx.sequence = ++e->v.context_seq;
    ctx.savedHandle = s->handle;
    ctx.hierarchy = TPM2_RH_NULL;
    rc = ses_ctx_keys(e, ctx.sequence, ctx.savedHandle, ek, iv, hk);
    if (rc == TPM2_RC_SUCCESS &&
        vt_aes_crypt(TPM2_ALG_CFB, true, ek, 32, iv, plain, o.off, ctx.contextBlob.buffer + 34) != 0)
        rc = TPM2_RC_FAILURE;
    if (rc == TPM2_RC_SUCCESS &&
        ses_ctx_mac(hk, &ctx, ctx.contextBlob.buffer + 34, o.off, ctx.contextBlob.buffer + 2) != 32)
        rc = TPM2_RC_FAILURE;
    vt_wipe(plain, sizeof(plain));
    vt_wipe(ek, sizeof(ek));
    vt_wipe(hk, sizeof(hk));
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    ctx.contextBlob.buffer[0] = 0;
    ctx.contextBlob.buffer[1] = 32;
    ctx.contextBlob.size = (uint16_t)(34 + o.off);
    VT_OUT(&c->out, TPMS_CONTEXT, &ctx);
    /* Keep only the contextArray entry. */
    {
        TPM2_HANDLE h = s->handle;
        vt_wipe(s, sizeof(*s));
        s->used = true;
        s->handle = h;
        s->saved = true;
        s->saved_seq = ctx.sequence;
    }
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_session_context_load(vt_cmd *c, const TPMS_CONTEXT *ctx)
{
    vt_engine *e = c->e;
    uint8_t plain[SES_CTX_PLAIN_MAX], ek[32], iv[16], hk[32], mac[32];
    vt_session *slot, tmp;
    size_t elen;
    TPM2_RC rc = TPM2_RC_SUCCESS;

    if (ctx->contextBlob.size < 34 || ctx->contextBlob.buffer[0] != 0 || ctx->contextBlob.buffer[1] != 32 ||
        ctx->contextBlob.size - 34u > sizeof(plain))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    elen = ctx->contextBlob.size - 34u;
    RETURN_IF_ERROR(ses_ctx_keys(e, ctx->sequence, ctx->savedHandle, ek, iv, hk));
    /* CT: vt_ct_equal reads all 32 octets. */
    if (ses_ctx_mac(hk, ctx, ctx->contextBlob.buffer + 34, elen, mac) != 32)
        rc = TPM2_RC_FAILURE;
    else if (!vt_ct_equal(mac, ctx->contextBlob.buffer + 2, 32) || ctx->hierarchy != TPM2_RH_NULL)
        rc = VT_RC_P(TPM2_RC_INTEGRITY, 1);
    /* Anti-replay (Part 1 §30.5): only the context last saved of an active
     * session matches its contextArray entry. */
    slot = vt_session_find(e, ctx->savedHandle);
    if (rc == TPM2_RC_SUCCESS && (!slot || !slot->saved || slot->saved_seq != ctx->sequence))
        rc = VT_RC_P(TPM2_RC_HANDLE, 1);
    if (rc == TPM2_RC_SUCCESS && vt_sessions_loaded(e) >= VT_MAX_LOADED_SESSIONS)
        rc = TPM2_RC_SESSION_MEMORY;
    if (rc == TPM2_RC_SUCCESS &&
        vt_aes_crypt(TPM2_ALG_CFB, false, ek, 32, iv, ctx->contextBlob.buffer + 34, elen, plain) != 0)
        rc = TPM2_RC_FAILURE;
    memset(&tmp, 0, sizeof(tmp));
    if (rc == TPM2_RC_SUCCESS &&
        (!ses_unmarshal(plain, elen, &tmp) ||
         (ctx->savedHandle >> 24) != (tmp.type == TPM2_SE_HMAC ? TPM2_HT_HMAC_SESSION : TPM2_HT_POLICY_SESSION)))
        rc = VT_RC_P(TPM2_RC_INTEGRITY, 1);
    if (rc == TPM2_RC_SUCCESS) {
        tmp.used = true;
        tmp.handle = ctx->savedHandle;
        *slot = tmp;
        c->rsp_handle = slot->handle;
    }
    vt_wipe(&tmp, sizeof(tmp));
    vt_wipe(plain, sizeof(plain));
    vt_wipe(ek, sizeof(ek));
    vt_wipe(hk, sizeof(hk));
    return rc;
}
