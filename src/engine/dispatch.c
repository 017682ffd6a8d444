/* The path of one command: header → command table → handles →
 * authorization → parameters → action → response (DESIGN.md §1).
 *
 * Every check here follows TPM 2.0 Part 3 §5 (command processing) and
 * Part 1 §18 (the authorization area).  Nothing in this file allocates. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/auth.h"
#include "engine/object.h"
#include "engine/param_crypt.h"
#include "common/be.h"

#define HEADER_SIZE 10u
/* Room kept at the end of the response for the session area: per session a
 * nonce (2 + 64), attributes (1) and an HMAC (2 + 64). */
#define SESSION_RSP_ROOM (2u + 64u + 1u + 2u + 64u)

static size_t error_response(uint8_t *rsp, TPM2_ST tag, TPM2_RC rc)
{
    vt_put_be16(rsp, tag);
    vt_put_be32(rsp + 2, HEADER_SIZE);
    vt_put_be32(rsp + 6, rc);
    return HEADER_SIZE;
}

/* Is `h` a valid handle of `kind`?  Returns TPM_RC_SUCCESS, TPM_RC_VALUE
 * (wrong type for the interface type, Part 2 §9) or TPM_RC_HANDLE / 
 * TPM_RC_HIERARCHY (right type, but nothing there / disabled). */
static TPM2_RC check_handle(vt_engine *e, vt_handle_kind kind, TPM2_HANDLE h)
{
    switch (kind) {
    case VT_H_PCR_NULL:
        if (h == TPM2_RH_NULL)
            return TPM2_RC_SUCCESS;
        /* fall through */
    case VT_H_PCR:
        return h < VT_PCR_COUNT ? TPM2_RC_SUCCESS : TPM2_RC_VALUE;
    case VT_H_PLATFORM:
        if (h != TPM2_RH_PLATFORM)
            return TPM2_RC_VALUE;
        return vt_hierarchy_enabled(e, h) ? TPM2_RC_SUCCESS : TPM2_RC_HIERARCHY;
    case VT_H_PROVISION:
        if (h != TPM2_RH_OWNER && h != TPM2_RH_PLATFORM)
            return TPM2_RC_VALUE;
        return vt_hierarchy_enabled(e, h) ? TPM2_RC_SUCCESS : TPM2_RC_HIERARCHY;
    case VT_H_OBJECT: {
        const vt_object *o;
        if ((h >> 24) != TPM2_HT_TRANSIENT && (h >> 24) != TPM2_HT_PERSISTENT)
            return TPM2_RC_VALUE;
        if (vt_sequence_find(e, h))
            return TPM2_RC_SUCCESS;
        o = vt_object_find(e, h);
        /* Part 3 §5.6.?: a transient handle that is not loaded is a
         * warning the resource manager acts on (TPM_RC_REFERENCE_H0+n). */
        if (!o)
            return (h >> 24) == TPM2_HT_TRANSIENT ? TPM2_RC_REFERENCE_H0 : TPM2_RC_HANDLE;
        /* A persistent object of a disabled hierarchy is out of reach
         * (Part 1 §14.?; its transient objects were flushed). */
        return vt_hierarchy_enabled(e, o->hierarchy) ? TPM2_RC_SUCCESS : TPM2_RC_HIERARCHY;
    }
    case VT_H_HIERARCHY_NULL:
        if (h != TPM2_RH_OWNER && h != TPM2_RH_ENDORSEMENT && h != TPM2_RH_PLATFORM && h != TPM2_RH_NULL)
            return TPM2_RC_VALUE;
        return vt_hierarchy_enabled(e, h) ? TPM2_RC_SUCCESS : TPM2_RC_HIERARCHY;
    case VT_H_ENDORSEMENT:
        if (h != TPM2_RH_ENDORSEMENT)
            return TPM2_RC_VALUE;
        return vt_hierarchy_enabled(e, h) ? TPM2_RC_SUCCESS : TPM2_RC_HIERARCHY;
    case VT_H_PARENT:
        if ((h >> 24) == TPM2_HT_PERMANENT)
            return check_handle(e, VT_H_HIERARCHY_NULL, h);
        return check_handle(e, VT_H_OBJECT, h);
    case VT_H_SAVED:
        /* TPMI_DH_SAVED: a transient object or a session; never a
         * persistent object (Part 2 §9.?). */
        if ((h >> 24) == TPM2_HT_TRANSIENT)
            return check_handle(e, VT_H_OBJECT, h);
        if ((h >> 24) == TPM2_HT_HMAC_SESSION || (h >> 24) == TPM2_HT_POLICY_SESSION)
            /* Not loaded: the resource manager's warning, like a
             * transient object; the kernel's /dev/tpmrm0 forgets the
             * session on REFERENCE_H0 and fails the command on anything
             * else. */
            return vt_session_find(e, h) ? TPM2_RC_SUCCESS : TPM2_RC_REFERENCE_H0;
        return TPM2_RC_VALUE;
    case VT_H_HMAC_SESSION: {
        const vt_session *s;
        if ((h >> 24) != TPM2_HT_HMAC_SESSION)
            return TPM2_RC_VALUE;
        s = vt_session_find(e, h);
        return s && !s->saved ? TPM2_RC_SUCCESS : TPM2_RC_REFERENCE_H0;
    }
    case VT_H_OBJECT_NULL:
        if (h == TPM2_RH_NULL)
            return TPM2_RC_SUCCESS;
        return check_handle(e, VT_H_OBJECT, h);
    case VT_H_NV_AUTH:
        if (h == TPM2_RH_OWNER || h == TPM2_RH_PLATFORM)
            return vt_hierarchy_enabled(e, h) ? TPM2_RC_SUCCESS : TPM2_RC_HIERARCHY;
        /* fall through */
    case VT_H_NV_INDEX: {
        const vt_nv_index *ix;
        if ((h >> 24) != TPM2_HT_NV_INDEX)
            return TPM2_RC_VALUE;
        ix = vt_nv_find(&e->p.nv, h);
        if (!ix)
            return TPM2_RC_HANDLE;
        /* A platform index is out of reach while phEnableNV is CLEAR
         * (Part 1 §14.?). */
        if ((ix->pub.attributes & TPMA_NV_PLATFORMCREATE) && !e->v.ph_enable_nv)
            return TPM2_RC_HANDLE;
        /* ... and an owner index while shEnable is CLEAR. */
        if (!(ix->pub.attributes & TPMA_NV_PLATFORMCREATE) && !e->v.sh_enable)
            return TPM2_RC_HANDLE;
        return TPM2_RC_SUCCESS;
    }
    case VT_H_ENTITY_NULL: {
        vt_entity_auth ent;
        if (h == TPM2_RH_NULL)
            return TPM2_RC_SUCCESS;
        switch (h >> 24) {
        case TPM2_HT_PCR: case TPM2_HT_PERMANENT: case TPM2_HT_TRANSIENT:
        case TPM2_HT_PERSISTENT: case TPM2_HT_NV_INDEX:
            break;
        default:
            return TPM2_RC_VALUE;
        }
        return vt_entity_lookup(e, h, &ent);
    }
    default:
        return vt_hierarchy_check_handle(e, kind, h); /* VT_H_HIERARCHY ... VT_H_LOCKOUT */
    }
}

/* Which sessions of this command decrypt, encrypt and audit (index, or
 * -1). */
typedef struct {
    int dec, enc, audit;
} vt_roles;

/* Parse and check the authorization area (Part 1 §18.6–18.8, Part 3 §5.4). */
static TPM2_RC process_sessions(vt_cmd *c, const vt_cmd_def *d, vt_in *cur,
                                vt_auth_session *ses, unsigned *n_ses, vt_roles *r)
{
    uint32_t auth_size;
    vt_in area;
    unsigned i;

    *n_ses = 0;
    r->dec = r->enc = r->audit = -1;
    if (c->tag == TPM2_ST_NO_SESSIONS)
        return d->n_auth ? TPM2_RC_AUTH_MISSING : TPM2_RC_SUCCESS;
    if (d->flags & VT_CMD_NO_SESSIONS)
        return TPM2_RC_AUTH_CONTEXT;
    if (vt_in_left(cur) < 4)
        return TPM2_RC_AUTHSIZE;
    auth_size = vt_get_be32(cur->buf + cur->off);
    cur->off += 4;
    /* The smallest session is 9 octets: handle, nonce size, attributes,
     * hmac size. */
    if (auth_size < 9 || auth_size > vt_in_left(cur))
        return TPM2_RC_AUTHSIZE;
    vt_in_init(&area, cur->buf + cur->off, auth_size, VT_AREA_SESSION);
    cur->off += auth_size;
    /* The parameters follow; HMAC checks hash them (cpHash). */
    vt_in_init(&c->in, cur->buf + cur->off, vt_in_left(cur), VT_AREA_PARAM);

    while (vt_in_left(&area) > 0) {
        vt_auth_session *s;
        if (*n_ses == VT_MAX_SESSIONS)
            return TPM2_RC_AUTHSIZE;
        s = &ses[(*n_ses)++];
        RETURN_IF_ERROR(vt_auth_parse_session(&area, *n_ses, s));
    }
    /* A session may appear once per command; only TPM_RS_PW may repeat
     * (Part 1 §18.?): two uses would race for one nonceTPM. */
    for (i = 1; i < *n_ses; i++) {
        unsigned j;
        if (ses[i].kind == VT_SES_PASSWORD)
            continue;
        for (j = 0; j < i; j++)
            if (ses[j].handle == ses[i].handle)
                return VT_RC_S(TPM2_RC_HANDLE, i + 1);
    }
    if (*n_ses < d->n_auth)
        return TPM2_RC_AUTH_MISSING;
    /* One session at most decrypts, one encrypts, one audits; decrypt and
     * encrypt only where the first parameter is a TPM2B (Part 1 §21.1,
     * Part 3 §5.?). */
    for (i = 0; i < *n_ses; i++) {
        TPMA_SESSION a = ses[i].attrs;
        if (ses[i].kind == VT_SES_PASSWORD)
            continue;
        if (a & TPMA_SESSION_DECRYPT) {
            if (r->dec >= 0 || !(d->flags & VT_CMD_DEC2B))
                return VT_RC_S(TPM2_RC_ATTRIBUTES, i + 1);
            r->dec = (int)i;
        }
        if (a & TPMA_SESSION_ENCRYPT) {
            if (r->enc >= 0 || !(d->flags & VT_CMD_ENC2B))
                return VT_RC_S(TPM2_RC_ATTRIBUTES, i + 1);
            r->enc = (int)i;
        }
        if (a & TPMA_SESSION_AUDIT) {
            if (r->audit >= 0)
                return VT_RC_S(TPM2_RC_ATTRIBUTES, i + 1);
            r->audit = (int)i;
        }
    }
    /* The first session's HMAC covers the nonceTPM of a later decrypt and
     * encrypt session, once if one session does both (Part 1 §19.6.5). */
    if (*n_ses > 1) {
        const vt_session *ds = r->dec > 0 ? vt_session_find(c->e, ses[r->dec].handle) : NULL;
        const vt_session *es = r->enc > 0 ? vt_session_find(c->e, ses[r->enc].handle) : NULL;
        if (ds && !ds->saved && r->dec != r->enc) {
            ses[0].nonce_dec = ds->nonce_tpm;
            ses[0].nonce_dec_len = ds->nonce_tpm_len;
        }
        if (es && !es->saved) {
            ses[0].nonce_enc = es->nonce_tpm;
            ses[0].nonce_enc_len = es->nonce_tpm_len;
        }
    }
    for (i = 0; i < *n_ses; i++)
        RETURN_IF_ERROR(vt_auth_check(c, &ses[i], i + 1,
                                      i < d->n_auth ? c->handles[i] : TPM2_RH_NULL,
                                      i < d->n_auth));
    return TPM2_RC_SUCCESS;
}

/* Decrypt the first parameter (a TPM2B) in `buf`, a copy of the
 * parameter area (Part 1 §21).  nonceNewer = nonceCaller.  A size past the
 * parameters is the decrypt session's TPM_RC_SIZE (swtpm agrees). */
static TPM2_RC decrypt_param(vt_auth_session *s, unsigned n_ses, uint8_t *buf, size_t len)
{
    const vt_session *ss = s->ses;
    size_t n;

    if (len < 2)
        return VT_RC_S(TPM2_RC_SIZE, n_ses);
    n = ((size_t)buf[0] << 8) | buf[1];
    if (n > len - 2)
        return VT_RC_S(TPM2_RC_SIZE, n_ses);
    if (vt_param_crypt(ss->auth_hash, &ss->symmetric, false, s->pkey, s->pkey_len, s->nonce, s->nonce_len,
                       ss->nonce_tpm, ss->nonce_tpm_len, buf + 2, n) != 0)
        return TPM2_RC_FAILURE;
    return TPM2_RC_SUCCESS;
}

/* Encrypt the first response parameter with the session's new nonceTPM. */
static TPM2_RC encrypt_param(vt_cmd *c, vt_auth_session *s)
{
    const vt_session *ss = vt_auth_live(c, s);
    size_t n;

    if (!ss || c->out.off < 2)
        return TPM2_RC_SUCCESS;
    n = ((size_t)c->out.buf[0] << 8) | c->out.buf[1];
    if (n > c->out.off - 2)
        return TPM2_RC_FAILURE;
    if (vt_param_crypt(ss->auth_hash, &ss->symmetric, true, s->pkey, s->pkey_len, ss->nonce_tpm,
                       ss->nonce_tpm_len, s->nonce, s->nonce_len, c->out.buf + 2, n) != 0)
        return TPM2_RC_FAILURE;
    return TPM2_RC_SUCCESS;
}

static TPM2_RC execute(vt_cmd *c, const uint8_t *cmd, size_t len, uint8_t *rsp,
                       size_t cap, size_t *rsp_len)
{
    vt_engine *e = c->e;
    const vt_cmd_def *d;
    vt_auth_session ses[VT_MAX_SESSIONS];
    unsigned n_ses = 0, i;
    vt_roles roles;
    vt_in cur;
    size_t param_off, room;
    uint32_t size;
    /* audit: cpHash of the command as sent, for command and session audit */
    uint8_t cmd_cp[VT_MAX_DIGEST], ses_cp[VT_MAX_DIGEST];
    size_t cmd_cp_len = 0, ses_cp_len = 0;
    TPM2_ALG_ID audit_alg = 0;
    uint8_t plain[VT_MAX_COMMAND_SIZE];
    size_t plain_len = 0;

    if (!e->powered)
        return TPM2_RC_FAILURE;
    /* Part 3 §5.2: tag, then size, then command code. */
    if (len < HEADER_SIZE)
        return TPM2_RC_COMMAND_SIZE;
    c->tag = (TPM2_ST)((cmd[0] << 8) | cmd[1]);
    if (c->tag != TPM2_ST_NO_SESSIONS && c->tag != TPM2_ST_SESSIONS)
        return TPM2_RC_BAD_TAG;
    size = vt_get_be32(cmd + 2);
    if (size != len || size > VT_MAX_COMMAND_SIZE)
        return TPM2_RC_COMMAND_SIZE;
    c->cc = vt_get_be32(cmd + 6);
    d = vt_command_find(c->cc);
    if (!d)
        return TPM2_RC_COMMAND_CODE;
    c->def = d;
    /* Failure mode: only GetTestResult and GetCapability (Part 1 §9.?). */
    if (e->v.failed && c->cc != TPM2_CC_GetTestResult && c->cc != TPM2_CC_GetCapability)
        return TPM2_RC_FAILURE;
    if (!e->v.started != (c->cc == TPM2_CC_Startup))
        return TPM2_RC_INITIALIZE;

    vt_in_init(&cur, cmd + HEADER_SIZE, len - HEADER_SIZE, VT_AREA_HANDLE);
    c->n_handles = d->n_handles;
    for (i = 0; i < d->n_handles; i++) {
        TPM2_RC rc;
        RETURN_IF_ERROR(vt_in_u32(&cur, &c->handles[i]));
        rc = check_handle(e, (vt_handle_kind)d->kind[i], c->handles[i]);
        if (rc == TPM2_RC_REFERENCE_H0)
            return TPM2_RC_REFERENCE_H0 + i; /* a warning: no H decoration */
        if (rc != TPM2_RC_SUCCESS)
            return vt_in_rc(&cur, rc);
    }

    RETURN_IF_ERROR(process_sessions(c, d, &cur, ses, &n_ses, &roles));

    vt_in_init(&c->in, cur.buf + cur.off, vt_in_left(&cur), VT_AREA_PARAM);
    /* Audit digests take the command as the caller sent it: its cpHash
     * is computed before decryption and before the action changes any
     * Name (Part 1 §?). */
    if (vt_audit_is_audited(e, c->cc)) {
        audit_alg = vt_audit_alg(e);
        cmd_cp_len = vt_auth_cp_hash(c, audit_alg, cmd_cp);
    }
    if (roles.audit >= 0)
        ses_cp_len = vt_auth_cp_hash(c, ses[roles.audit].ses->auth_hash, ses_cp);
    if (roles.dec >= 0) {
        plain_len = vt_in_left(&c->in);
        memcpy(plain, c->in.buf, plain_len);
        TPM2_RC drc = decrypt_param(&ses[roles.dec], (unsigned)roles.dec + 1, plain, plain_len);
        if (drc != TPM2_RC_SUCCESS) {
            vt_wipe(plain, plain_len);
            return drc;
        }
        vt_in_init(&c->in, plain, plain_len, VT_AREA_PARAM);
    }
    param_off = HEADER_SIZE + 4u * d->n_rsp_handles + (c->tag == TPM2_ST_SESSIONS ? 4u : 0u);
    room = cap - param_off - n_ses * SESSION_RSP_ROOM;
    vt_out_init(&c->out, rsp + param_off, room);

    {
        TPM2_RC arc = d->action(c);
        /* the decrypted parameters are the secret part; the rest of
         * the buffer was never written */
        vt_wipe(plain, plain_len);
        if (arc != TPM2_RC_SUCCESS)
            return arc;
    }

    /* An action must have checked that it consumed every parameter byte
     * before acting; one that did not is a bug, not a client error. */
    if (!c->in.ended || c->out.overflow)
        return TPM2_RC_FAILURE;
    /* The first audited command after the digest was cleared moves the
     * audit counter: it is committed with the command. */
    if (cmd_cp_len && vt_audit_begin(e)) {
        c->state_changed = true;
        c->nv_only = 0;
    }
    if (c->state_changed)
        RETURN_IF_ERROR(c->nv_only ? vt_state_commit_nv(e, c->nv_only - 1) : vt_state_commit(e));

    /* What a command loads belongs to the client that sent it
     * (vt_engine_client_gone). */
    if (d->n_rsp_handles)
        vt_engine_claim(e, c->rsp_handle);

    /* Response sessions: new nonces, then the encrypted parameter, then
     * the audit digests and HMACs over it (Part 1 §18.8, §21). */
    for (i = 0; i < n_ses; i++)
        RETURN_IF_ERROR(vt_auth_new_nonce(c, &ses[i]));
    if (roles.enc >= 0)
        RETURN_IF_ERROR(encrypt_param(c, &ses[roles.enc]));
    if (cmd_cp_len) {
        uint8_t rp[VT_MAX_DIGEST];
        if (vt_auth_rp_hash(c, audit_alg, rp) == cmd_cp_len)
            vt_audit_command(e, audit_alg, cmd_cp, rp, cmd_cp_len);
    }
    if (roles.audit >= 0) {
        vt_auth_session *as = &ses[roles.audit];
        vt_session *ss = vt_auth_live(c, as);
        uint8_t rp[VT_MAX_DIGEST];
        if (ss && vt_auth_rp_hash(c, ss->auth_hash, rp) == ses_cp_len) {
            vt_audit_session(e, ss, (as->attrs & TPMA_SESSION_AUDITRESET) != 0, ses_cp, rp, ses_cp_len);
            c->audit_session = ss->handle;
        }
    }

    /* Response: header, handles, [parameterSize], parameters, [sessions]. */
    {
        size_t off = HEADER_SIZE;
        if (d->n_rsp_handles) {
            vt_put_be32(rsp + off, c->rsp_handle);
            off += 4;
        }
        if (c->tag == TPM2_ST_SESSIONS) {
            vt_put_be32(rsp + off, (uint32_t)c->out.off);
            off += 4;
        }
        off += c->out.off;
        if (c->tag == TPM2_ST_SESSIONS) {
            vt_out so;
            vt_out_init(&so, rsp + off, cap - off);
            for (i = 0; i < n_ses; i++)
                vt_auth_response(c, &ses[i], ses[i].handle == e->v.exclusive_audit, &so);
            if (so.overflow)
                return TPM2_RC_FAILURE;
            off += so.off;
        }
        vt_put_be16(rsp, c->tag);
        vt_put_be32(rsp + 2, (uint32_t)off);
        vt_put_be32(rsp + 6, TPM2_RC_SUCCESS);
        *rsp_len = off;
    }
    return TPM2_RC_SUCCESS;
}

size_t vt_engine_execute(vt_engine *e, uint8_t locality, const uint8_t *cmd,
                         size_t cmd_len, uint8_t *rsp, size_t rsp_cap)
{
    vt_cmd c;
    size_t rsp_len = 0;
    TPM2_RC rc;

    if (rsp_cap < VT_MAX_RESPONSE_SIZE)
        return 0;
    e->commands++;
    memset(&c, 0, sizeof(c));
    c.e = e;
    c.locality = locality > 4 ? 4 : locality;
    rc = execute(&c, cmd, cmd_len, rsp, VT_MAX_RESPONSE_SIZE, &rsp_len);
    /* A command not audited by the exclusive audit session ends its
     * exclusivity (Part 1 §?, "exclusive audit"). */
    if (e->v.exclusive_audit && c.audit_session != e->v.exclusive_audit)
        e->v.exclusive_audit = 0;
    /* Keep the stored Clock close enough that a crash never makes it run
     * backwards; failure here does not change the command's result. */
    if (e->powered)
        (void)vt_clock_maybe_save(e);
    /* A counted authorization failure is durable before the response
     * says so (da.c). */
    if (e->powered) {
        TPM2_RC da_rc = vt_da_commit(e);
        if (rc != TPM2_RC_SUCCESS && da_rc != TPM2_RC_SUCCESS)
            rc = da_rc;
    }
    /* The HMAC key states the command's crypto kept (session keys, the
     * DRBG key) end with it. */
    vt_crypto_forget();
    if (rc == TPM2_RC_SUCCESS)
        return rsp_len;
    /* Part 1 §18.? : a bad tag is answered with TPM_ST_RSP_COMMAND so that
     * TPM 1.2 software understands the reply. */
    return error_response(rsp, rc == TPM2_RC_BAD_TAG ? TPM2_ST_RSP_COMMAND : TPM2_ST_NO_SESSIONS, rc);
}
