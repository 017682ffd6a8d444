/* Authorization sessions: TPM2_StartAuthSession and the session table
 * (TPM 2.0 Part 1 §19, Part 3 §11.1). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "engine/auth.h"

vt_session *vt_session_find(vt_engine *e, TPM2_HANDLE h)
{
    unsigned i;
    for (i = 0; i < VT_MAX_LOADED_SESSIONS; i++)
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
    for (i = 0; i < VT_MAX_LOADED_SESSIONS; i++)
        n += e->v.sessions[i].used;
    return n;
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
 * so a flushed handle is not soon reused. */
static TPM2_HANDLE new_session_handle(vt_engine *e, TPM2_SE type)
{
    uint32_t top = (type == TPM2_SE_HMAC ? TPM2_HT_HMAC_SESSION : TPM2_HT_POLICY_SESSION);
    for (;;) {
        TPM2_HANDLE h = (top << 24) | (e->v.next_session++ & 0x00FFFFFFu);
        if (!vt_session_find(e, h))
            return h;
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
    size_t hlen;
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
    /* Salting needs a loaded decryption key; none can be loaded yet. */
    if (tpm_key != TPM2_RH_NULL)
        return VT_RC_H(TPM2_RC_HANDLE, 1);
    if (salt_len != 0)
        return VT_RC_P(TPM2_RC_VALUE, 2);
    /* Parameter encryption is not built yet: only TPM_ALG_NULL. */
    if (sym.algorithm != TPM2_ALG_NULL)
        return VT_RC_P(TPM2_RC_SYMMETRIC, 4);

    for (i = 0; i < VT_MAX_LOADED_SESSIONS && !s; i++)
        if (!e->v.sessions[i].used)
            s = &e->v.sessions[i];
    if (!s)
        return TPM2_RC_SESSION_MEMORY;

    memset(s, 0, sizeof(*s));
    s->type = (TPM2_SE)type16;
    s->auth_hash = auth_hash;
    s->symmetric = sym;
    s->nonce_tpm_len = (uint16_t)hlen;
    RETURN_IF_ERROR(vt_random(e, s->nonce_tpm, hlen));

    if (bind != TPM2_RH_NULL) {
        /* sessionKey = KDFa(authHash, bind.authValue || salt, "ATH",
         * nonceTPM, nonceCaller, digest bits) — Part 1 §19.6.8. */
        vt_entity_auth ent;
        if (vt_entity_lookup(e, bind, &ent) != TPM2_RC_SUCCESS)
            return VT_RC_H(TPM2_RC_HANDLE, 2);
        if (vt_kdfa(auth_hash, ent.auth, ent.auth_len, "ATH", s->nonce_tpm, hlen,
                    nonce_caller, nonce_len, (uint32_t)(8 * hlen), s->session_key) != 0)
            return TPM2_RC_FAILURE;
        s->session_key_len = (uint16_t)hlen;
        s->bound = true;
        s->bind_handle = bind;
    }
    s->handle = new_session_handle(e, s->type);
    s->used = true;
    c->rsp_handle = s->handle;
    vt_out_2b(&c->out, s->nonce_tpm, s->nonce_tpm_len);
    return TPM2_RC_SUCCESS;
}
