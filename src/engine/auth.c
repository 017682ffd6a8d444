#include "engine/auth.h"
#include "engine/object.h"

#include <string.h>

size_t vt_auth_trim(const uint8_t *v, size_t len)
{
    while (len > 0 && v[len - 1] == 0)
        len--;
    return len;
}

TPM2_RC vt_auth_parse_session(vt_in *area, unsigned n, vt_auth_session *s)
{
    uint8_t attrs;

    memset(s, 0, sizeof(*s));
    /* Each field of session n reports as session n (TPM_RC_S + n). */
    area->index = n - 1;
    RETURN_IF_ERROR(vt_in_u32(area, &s->handle));
    area->index = n - 1;
    RETURN_IF_ERROR(vt_in_2b(area, &s->nonce, &s->nonce_len, VT_MAX_DIGEST));
    area->index = n - 1;
    RETURN_IF_ERROR(vt_in_u8(area, &attrs));
    area->index = n - 1;
    RETURN_IF_ERROR(vt_in_2b(area, &s->hmac, &s->hmac_len, VT_MAX_DIGEST));
    area->index = n;
    s->attrs = attrs;

    /* TPMA_SESSION bits 3 and 4 are reserved (Part 2 §8.4). */
    if (attrs & 0x18)
        return vt_in_rc_at(area, TPM2_RC_RESERVED_BITS, n);
    switch (s->handle >> 24) {
    case TPM2_HT_PERMANENT:
        if (s->handle != TPM2_RS_PW)
            return vt_in_rc_at(area, TPM2_RC_VALUE, n);
        s->kind = VT_SES_PASSWORD;
        return TPM2_RC_SUCCESS;
    case TPM2_HT_HMAC_SESSION:
        s->kind = VT_SES_HMAC;
        return TPM2_RC_SUCCESS;
    case TPM2_HT_POLICY_SESSION:
        s->kind = VT_SES_POLICY;
        return TPM2_RC_SUCCESS;
    default:
        return vt_in_rc_at(area, TPM2_RC_VALUE, n);
    }
}

TPM2_RC vt_entity_lookup(vt_engine *e, TPM2_HANDLE h, vt_entity_auth *out)
{
    static const uint8_t empty[1];
    vt_sequence *seq;

    memset(out, 0, sizeof(*out));
    out->auth = empty; /* never NULL, so callers may copy 0 bytes from it */
    if (h < VT_PCR_COUNT || h == TPM2_RH_NULL) {
        /* PCR authValue is empty: no PCR is in an auth group.  TPM_RH_NULL
         * (PCR+ handles) has an empty authValue too. */
        return TPM2_RC_SUCCESS;
    }
    switch (h) {
    case TPM2_RH_OWNER:
        out->auth = e->p.owner_auth;
        out->auth_len = e->p.owner_auth_len;
        return TPM2_RC_SUCCESS;
    case TPM2_RH_ENDORSEMENT:
        out->auth = e->p.endorsement_auth;
        out->auth_len = e->p.endorsement_auth_len;
        return TPM2_RC_SUCCESS;
    case TPM2_RH_PLATFORM:
        out->auth = e->v.platform_auth;
        out->auth_len = e->v.platform_auth_len;
        return TPM2_RC_SUCCESS;
    case TPM2_RH_LOCKOUT:
        out->auth = e->p.lockout_auth;
        out->auth_len = e->p.lockout_auth_len;
        out->da_protected = true;
        return TPM2_RC_SUCCESS;
    default:
        break;
    }
    {
        const vt_object *o = vt_object_find(e, h);
        if (o) {
            out->auth = o->sens.authValue.buffer;
            out->auth_len = o->sens.authValue.size;
            out->da_protected = !(o->pub.objectAttributes & TPMA_OBJECT_NODA);
            return TPM2_RC_SUCCESS;
        }
    }
    seq = vt_sequence_find(e, h);
    if (seq) {
        out->auth = seq->auth;
        out->auth_len = seq->auth_len;
        return TPM2_RC_SUCCESS;
    }
    if ((h >> 24) == TPM2_HT_NV_INDEX) {
        vt_nv_index *ix = vt_nv_find(&e->p.nv, h);
        if (!ix)
            return TPM2_RC_HANDLE;
        out->auth = ix->auth;
        out->auth_len = ix->auth_len;
        out->da_protected = !(ix->pub.attributes & TPMA_NV_NO_DA);
        return TPM2_RC_SUCCESS;
    }
    return TPM2_RC_HANDLE;
}

/* cpHash = H(commandCode || Name1 .. Namen || parameters) (Part 1 §18.7). */
size_t vt_auth_cp_hash(vt_cmd *c, TPM2_ALG_ID alg, uint8_t *out)
{
    uint8_t cc[4] = { (uint8_t)(c->cc >> 24), (uint8_t)(c->cc >> 16), (uint8_t)(c->cc >> 8), (uint8_t)c->cc };
    uint8_t names[VT_MAX_HANDLES][VT_MAX_NAME];
    vt_buf parts[2 + VT_MAX_HANDLES];
    unsigned i, n = 0;

    parts[n++] = (vt_buf){ cc, 4 };
    for (i = 0; i < c->n_handles; i++)
        parts[n++] = (vt_buf){ names[i], vt_entity_name(c->e, c->handles[i], names[i]) };
    parts[n++] = (vt_buf){ c->in.buf, c->in.len };
    return vt_hash_parts(alg, parts, n, out);
}

/* An HMAC or policy session (Part 1 §19.6).  HMAC key: sessionKey ||
 * authValue, where a session bound to the very entity it authorizes leaves
 * the authValue out (it is already in sessionKey). */
/* Which kinds of authorization an object accepts in this command's role
 * (Part 1 §19.7.?, TPMA_OBJECT userWithAuth / adminWithPolicy): the USER
 * role takes a password or HMAC only with userWithAuth; the ADMIN role only
 * a policy when adminWithPolicy is SET; the DUP role only ever a policy. */
static TPM2_RC object_auth_allowed(vt_cmd *c, TPM2_HANDLE h, unsigned n, bool policy)
{
    const vt_object *o = vt_object_find(c->e, h);
    const vt_cmd_def *d = c->def;
    TPMA_OBJECT a;

    if (!o || !d || policy)
        return TPM2_RC_SUCCESS;
    a = o->pub.objectAttributes;
    if (n == 1 && (d->flags & VT_CMD_DUP1))
        return TPM2_RC_AUTH_TYPE; /* DUP: a policy session or nothing */
    if (n == 1 && (d->flags & VT_CMD_ADMIN1))
        return (a & TPMA_OBJECT_ADMINWITHPOLICY) ? TPM2_RC_AUTH_TYPE : TPM2_RC_SUCCESS;
    return (a & TPMA_OBJECT_USERWITHAUTH) ? TPM2_RC_SUCCESS : TPM2_RC_AUTH_UNAVAILABLE;
}

/* The authPolicy of the entity at h: an object's or an NV index's, a
 * hierarchy's (SetPrimaryPolicy: owner, endorsement, lockout, platform);
 * PCRs and sequences have none (empty). */
static void entity_policy(vt_engine *e, TPM2_HANDLE h, const uint8_t **pol, size_t *len)
{
    const vt_object *o;
    vt_nv_index *ix;

    *pol = NULL;
    *len = 0;
    {
        const vt_hier_policy *hp = vt_hierarchy_policy(e, h);
        if (hp) {
            *pol = hp->digest;
            *len = hp->len;
            return;
        }
    }
    if ((h >> 24) == TPM2_HT_NV_INDEX && (ix = vt_nv_find(&e->p.nv, h)) != NULL) {
        *pol = ix->pub.authPolicy.buffer;
        *len = ix->pub.authPolicy.size;
        return;
    }
    o = vt_object_find(e, h);
    if (o) {
        *pol = o->pub.authPolicy.buffer;
        *len = o->pub.authPolicy.size;
    }
}

/* Is policy session ss satisfied for this command and entity h (Part 1
 * §19.7.?, Part 3 §23 "policy assertions")?  The HMAC or password is
 * checked afterwards like for any session. */
static TPM2_RC check_policy(vt_cmd *c, const vt_session *ss, unsigned n, TPM2_HANDLE h)
{
    vt_engine *e = c->e;
    size_t hlen = vt_hash_size(ss->auth_hash), pol_len;
    const uint8_t *pol;

    /* A trial session only computes a digest; it never authorizes. */
    if (ss->type == TPM2_SE_TRIAL)
        return VT_RC_S(TPM2_RC_ATTRIBUTES, n);
    entity_policy(e, h, &pol, &pol_len);
    if (pol_len == 0)
        return TPM2_RC_AUTH_UNAVAILABLE;
    if (ss->timeout != 0 && vt_time_now(e) > ss->timeout)
        return VT_RC_S(TPM2_RC_EXPIRED, n);
    if (ss->pcr_counter_set && ss->pcr_counter != e->v.pcr_update_counter)
        return TPM2_RC_PCR_CHANGED; /* a format-zero code: no session number */
    /* Not secret: authPolicy is in the public area. */
    if (pol_len != hlen || memcmp(pol, ss->policy_digest, hlen) != 0)
        return VT_RC_S(TPM2_RC_POLICY_FAIL, n);
    if (ss->policy_cc != 0 && ss->policy_cc != c->cc)
        return VT_RC_S(TPM2_RC_POLICY_CC, n);
    /* The ADMIN and DUP roles need a policy that names the command
     * (PolicyCommandCode), not just any policy of the object. */
    if (n == 1 && c->def && (c->def->flags & (VT_CMD_ADMIN1 | VT_CMD_DUP1)) && ss->policy_cc != c->cc)
        return VT_RC_S(TPM2_RC_POLICY_FAIL, n);
    if (ss->cp_hash_len) {
        uint8_t cp[VT_MAX_DIGEST];
        if (vt_auth_cp_hash(c, ss->auth_hash, cp) != hlen)
            return TPM2_RC_FAILURE;
        if (ss->cp_hash_len != hlen || memcmp(cp, ss->cp_hash, hlen) != 0)
            return VT_RC_S(TPM2_RC_POLICY_FAIL, n);
    }
    /* nameHash, template, locality, physical presence, nvWritten
     * (cmd_policy.c). */
    return vt_policy_check_deferred(c, ss, n, h);
}

/* A password check against `auth`: both trimmed of trailing zeros. */
static bool password_equal(const uint8_t *pw, size_t pw_len, const uint8_t *auth, size_t auth_len)
{
    uint8_t a[VT_MAX_DIGEST] = { 0 }, b[VT_MAX_DIGEST] = { 0 };
    size_t plen = vt_auth_trim(pw, pw_len);
    bool ok;

    if (auth_len > VT_MAX_DIGEST)
        return false;
    /* CT: the comparison reads every byte of the longer value; only whether
     * the lengths differ is not hidden, and both are trimmed the same way. */
    memcpy(a, pw, plen);
    memcpy(b, auth, auth_len);
    ok = vt_ct_equal(a, b, VT_MAX_DIGEST) && plen == vt_auth_trim(auth, auth_len);
    vt_wipe(a, sizeof(a));
    vt_wipe(b, sizeof(b));
    return ok;
}

/* Is the session bound to h: started with h as bind, and h's Name and
 * authValue still those it had then (Part 1 §19.6.?)? */
static bool is_bound(vt_engine *e, const vt_session *ss, TPM2_HANDLE h)
{
    uint8_t id[32];

    if (!ss->bound || ss->bind_handle != h)
        return false;
    vt_session_bind_id(e, h, id);
    return vt_ct_equal(id, ss->bind_id, sizeof(id));
}

/* The command HMAC (Part 1 §19.6.5): HMAC(key, cpHash || nonceCaller ||
 * nonceTPM || [nonceTPMdecrypt] || [nonceTPMencrypt] || attributes). */
static bool check_hmac(vt_cmd *c, const vt_auth_session *s, const vt_session *ss)
{
    size_t hlen = vt_hash_size(ss->auth_hash);
    uint8_t cp[VT_MAX_DIGEST], mac[VT_MAX_DIGEST], attrs = (uint8_t)s->attrs;
    bool ok;

    if (vt_auth_cp_hash(c, ss->auth_hash, cp) != hlen)
        return false;
    {
        vt_buf parts[6] = { { cp, hlen }, { s->nonce, s->nonce_len }, { ss->nonce_tpm, ss->nonce_tpm_len },
                            { s->nonce_dec, s->nonce_dec_len }, { s->nonce_enc, s->nonce_enc_len },
                            { &attrs, 1 } };
        if (vt_hmac_parts(ss->auth_hash, s->key, s->key_len, parts, 6, mac) != hlen)
            return false;
    }
    /* CT: vt_ct_equal reads all hlen octets. */
    ok = s->hmac_len == hlen && vt_ct_equal(mac, s->hmac, hlen);
    vt_wipe(mac, sizeof(mac));
    return ok;
}

static TPM2_RC check_session(vt_cmd *c, vt_auth_session *s, unsigned n, TPM2_HANDLE h, bool authorizes)
{
    vt_session *ss = vt_session_find(c->e, s->handle);
    vt_nv_index *nv = NULL;
    vt_entity_auth ent;
    size_t hlen;
    TPM2_RC fail;
    bool ok, policy, da_checked;

    /* Not loaded (never started, flushed, or context-saved): the resource
     * manager's warning. */
    if (!ss || ss->saved || (s->kind == VT_SES_HMAC) != (ss->type == TPM2_SE_HMAC))
        return (TPM2_RC)(TPM2_RC_REFERENCE_S0 + (n - 1));
    s->ses = ss;
    policy = ss->type != TPM2_SE_HMAC;
    hlen = vt_hash_size(ss->auth_hash);
    /* nonceCaller: 16 octets up to the digest size; a PolicyPassword
     * session computes no HMAC, and tpm2-tss sends it an empty one. */
    if ((s->nonce_len < 16 && !(policy && ss->password_needed && s->nonce_len == 0)) || s->nonce_len > hlen)
        return VT_RC_S(TPM2_RC_SIZE, n);
    /* Parameter encryption needs a symmetric algorithm (Part 1 §21). */
    if ((s->attrs & (TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT)) && ss->symmetric.algorithm == TPM2_ALG_NULL)
        return VT_RC_S(TPM2_RC_SYMMETRIC, n);
    /* auditExclusive and auditReset only go with audit (Part 2 §8.4). */
    if ((s->attrs & (TPMA_SESSION_AUDITEXCLUSIVE | TPMA_SESSION_AUDITRESET)) && !(s->attrs & TPMA_SESSION_AUDIT))
        return VT_RC_S(TPM2_RC_ATTRIBUTES, n);
    /* auditExclusive: the session must be the exclusive audit session at
     * the start of the command; one that starts auditing now (first use,
     * or auditReset) becomes it before the check (swtpm agrees). */
    if ((s->attrs & TPMA_SESSION_AUDITEXCLUSIVE) && c->e->v.exclusive_audit != ss->handle && ss->is_audit &&
        !(s->attrs & TPMA_SESSION_AUDITRESET))
        return TPM2_RC_EXCLUSIVE;
    if (!authorizes) {
        /* A session beyond the authorizations audits or encrypts, or has
         * no business here (Part 1 §18.?).  Its HMAC key is sessionKey
         * alone. */
        if (!(s->attrs & (TPMA_SESSION_AUDIT | TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT)))
            return VT_RC_S(TPM2_RC_ATTRIBUTES, n);
        memcpy(s->key, ss->session_key, ss->session_key_len);
        s->key_len = ss->session_key_len;
        memcpy(s->pkey, ss->session_key, ss->session_key_len);
        s->pkey_len = ss->session_key_len;
        if (s->key_len == 0 && s->hmac_len == 0) {
            s->empty_hmac = true;
            return TPM2_RC_SUCCESS;
        }
        return check_hmac(c, s, ss) ? TPM2_RC_SUCCESS : VT_RC_S(TPM2_RC_BAD_AUTH, n);
    }
    if ((h >> 24) == TPM2_HT_NV_INDEX && (nv = vt_nv_find(&c->e->p.nv, h)) != NULL)
        RETURN_IF_ERROR(vt_nv_auth_allowed(c, nv, n, policy));
    RETURN_IF_ERROR(object_auth_allowed(c, h, n, policy));
    if (policy)
        RETURN_IF_ERROR(check_policy(c, ss, n, h));
    if (vt_entity_lookup(c->e, h, &ent) != TPM2_RC_SUCCESS)
        return VT_RC_H(TPM2_RC_HANDLE, n);
    fail = VT_RC_S(ent.da_protected ? TPM2_RC_AUTH_FAIL : TPM2_RC_BAD_AUTH, n);
    /* Dictionary attack (da.c): TPM_RC_LOCKOUT before the value is tried.
     * A policy session that checks no authValue is exempt. */
    da_checked = !policy || ss->password_needed || ss->auth_value_needed;
    if (da_checked)
        RETURN_IF_ERROR(vt_da_check(c->e, h, ent.da_protected));
    s->authorized = true;
    if (ent.auth_len > VT_MAX_DIGEST)
        return TPM2_RC_FAILURE;
    memcpy(s->pkey, ss->session_key, ss->session_key_len);
    memcpy(s->pkey + ss->session_key_len, ent.auth, ent.auth_len);
    s->pkey_len = ss->session_key_len + ent.auth_len;

    if (policy && ss->password_needed) {
        /* PolicyPassword: the hmac field carries the authValue in the clear
         * and the response HMAC is empty (Part 3 §23.18). */
        s->empty_hmac = true;
        ok = password_equal(s->hmac, s->hmac_len, ent.auth, ent.auth_len);
    } else {
        /* HMAC key: sessionKey || authValue.  An HMAC session bound to the
         * very entity it authorizes leaves the authValue out (it is already
         * in sessionKey); a policy session includes it only after
         * PolicyAuthValue (Part 1 §19.6.?). */
        bool with_auth = policy ? ss->auth_value_needed : !is_bound(c->e, ss, h);
        memcpy(s->key, ss->session_key, ss->session_key_len);
        s->key_len = ss->session_key_len;
        if (with_auth) {
            memcpy(s->key + s->key_len, ent.auth, ent.auth_len);
            s->key_len += ent.auth_len;
        }
        s->with_auth = with_auth;
        s->auth_handle = h;
        if (s->key_len == 0 && s->hmac_len == 0) {
            /* Nothing to key an HMAC with: the caller may send none, and
             * gets none back. */
            s->empty_hmac = true;
            ok = true;
        } else {
            ok = check_hmac(c, s, ss);
        }
    }
    /* PIN indices count authValue uses, not policy uses. */
    if (nv && !policy)
        return vt_da_result(c->e, h, vt_nv_auth_result(c->e, nv, ok, fail));
    if (da_checked)
        return vt_da_result(c->e, h, ok ? TPM2_RC_SUCCESS : fail);
    return ok ? TPM2_RC_SUCCESS : fail;
}

TPM2_RC vt_auth_check(vt_cmd *c, vt_auth_session *s, unsigned n, TPM2_HANDLE h, bool authorizes)
{
    vt_nv_index *nv = NULL;
    vt_entity_auth ent;
    bool ok;

    if (s->kind != VT_SES_PASSWORD)
        return check_session(c, s, n, h, authorizes);
    /* A password session only authorizes; it cannot audit or encrypt
     * (Part 1 §19.6.?). */
    if (!authorizes)
        return VT_RC_S(TPM2_RC_VALUE, n);
    if (s->attrs & (TPMA_SESSION_AUDIT | TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT |
                    TPMA_SESSION_AUDITEXCLUSIVE | TPMA_SESSION_AUDITRESET))
        return VT_RC_S(TPM2_RC_ATTRIBUTES, n);
    if (s->nonce_len != 0)
        return VT_RC_S(TPM2_RC_NONCE, n);
    if (vt_entity_lookup(c->e, h, &ent) != TPM2_RC_SUCCESS)
        return VT_RC_H(TPM2_RC_HANDLE, n);
    if ((h >> 24) == TPM2_HT_NV_INDEX && (nv = vt_nv_find(&c->e->p.nv, h)) != NULL)
        RETURN_IF_ERROR(vt_nv_auth_allowed(c, nv, n, false));
    RETURN_IF_ERROR(object_auth_allowed(c, h, n, false));
    RETURN_IF_ERROR(vt_da_check(c->e, h, ent.da_protected));

    ok = password_equal(s->hmac, s->hmac_len, ent.auth, ent.auth_len);
    if (nv)
        return vt_da_result(c->e, h, vt_nv_auth_result(c->e, nv, ok,
                                 VT_RC_S(ent.da_protected ? TPM2_RC_AUTH_FAIL : TPM2_RC_BAD_AUTH, n)));
    if (!ok)
        return vt_da_result(c->e, h, VT_RC_S(ent.da_protected ? TPM2_RC_AUTH_FAIL : TPM2_RC_BAD_AUTH, n));
    return TPM2_RC_SUCCESS;
}

vt_session *vt_auth_live(vt_cmd *c, vt_auth_session *s)
{
    vt_session *ss = s->ses;

    (void)c;
    if (s->kind == VT_SES_PASSWORD || !ss || !ss->used || ss->saved || ss->handle != s->handle)
        return NULL;
    return ss;
}

TPM2_RC vt_auth_new_nonce(vt_cmd *c, vt_auth_session *s)
{
    vt_session *ss = vt_auth_live(c, s);

    if (!ss)
        return TPM2_RC_SUCCESS;
    RETURN_IF_ERROR(vt_random_nonce(c->e, ss->nonce_tpm, ss->nonce_tpm_len));
    ss->start_time = vt_time_now(c->e);
    return TPM2_RC_SUCCESS;
}

size_t vt_auth_rp_hash(vt_cmd *c, TPM2_ALG_ID alg, uint8_t *out)
{
    uint8_t hdr[8] = { 0, 0, 0, 0, (uint8_t)(c->cc >> 24), (uint8_t)(c->cc >> 16), (uint8_t)(c->cc >> 8),
                       (uint8_t)c->cc };
    vt_buf parts[2] = { { hdr, 8 }, { c->out.buf, c->out.off } };
    return vt_hash_parts(alg, parts, 2, out);
}

void vt_auth_response(vt_cmd *c, vt_auth_session *s, bool exclusive, vt_out *o)
{
    vt_session *ss = vt_auth_live(c, s);
    uint8_t rp[VT_MAX_DIGEST], mac[VT_MAX_DIGEST], attrs;
    size_t hlen;

    if (!ss) {
        /* Password session: empty nonce, continueSession set, empty HMAC
         * (Part 1 §19.6.?). */
        vt_out_u16(o, 0);
        vt_out_u8(o, TPMA_SESSION_CONTINUESESSION);
        vt_out_u16(o, 0);
        return;
    }
    /* rpHash = H(responseCode || commandCode || parameters); the TPM's new
     * nonce (vt_auth_new_nonce) is the newer one (Part 1 §18.8, §19.6.5). */
    hlen = vt_hash_size(ss->auth_hash);
    attrs = (uint8_t)(s->attrs & (TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_AUDIT |
                                  TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT));
    /* auditExclusive in a response: the session is the exclusive audit
     * session (Part 2 §8.4). */
    if (exclusive && (s->attrs & TPMA_SESSION_AUDIT))
        attrs |= TPMA_SESSION_AUDITEXCLUSIVE;
    vt_auth_rp_hash(c, ss->auth_hash, rp);
    /* The response is keyed with the authValue the entity has now: a
     * command that changed it (NV_ChangeAuth) answers under the new one,
     * as the caller expects (Part 1 §19.6.?); one that deleted the entity
     * keeps the key it was authorized with. */
    if (s->with_auth) {
        vt_entity_auth ent;
        if (vt_entity_lookup(c->e, s->auth_handle, &ent) == TPM2_RC_SUCCESS) {
            s->key_len = ss->session_key_len;
            memcpy(s->key + s->key_len, ent.auth, ent.auth_len);
            s->key_len += ent.auth_len;
        }
    }
    {
        vt_buf parts[4] = { { rp, hlen }, { ss->nonce_tpm, ss->nonce_tpm_len },
                            { s->nonce, s->nonce_len }, { &attrs, 1 } };
        vt_hmac_parts(ss->auth_hash, s->key, s->key_len, parts, 4, mac);
    }
    vt_out_2b(o, ss->nonce_tpm, ss->nonce_tpm_len);
    vt_out_u8(o, attrs);
    vt_out_2b(o, mac, s->empty_hmac ? 0 : (uint16_t)hlen);
    vt_wipe(s->key, sizeof(s->key));
    vt_wipe(s->pkey, sizeof(s->pkey));
    vt_wipe(mac, sizeof(mac));
    if (!(s->attrs & TPMA_SESSION_CONTINUESESSION)) {
        if (c->e->v.exclusive_audit == ss->handle)
            c->e->v.exclusive_audit = 0;
        vt_session_free(ss);
    } else if (ss->type != TPM2_SE_HMAC && s->authorized) {
        /* A policy session that authorized a command starts over: the
         * next use needs its policy again (Part 1 §19.7.?). */
        vt_session_policy_reset(ss);
    }
}
