/* Audit (TPM 2.0 Part 1 §? "Audit", Part 3 §21).
 *
 * Command audit: the commands in the audit list extend, after they succeed,
 *   commandAuditDigest := H_auditAlg(digest || cpHash || rpHash)
 * with cpHash and rpHash taken with auditAlg.  The digest starts from zeros
 * after it was cleared (by GetCommandAuditDigest or a new auditAlg), and the
 * audit counter counts such starts.  TPM2_SetCommandCodeAuditStatus is
 * always audited.
 *
 * Session audit: a session with the audit attribute extends its own digest
 *   sessionDigest := H_authHash(digest || cpHash || rpHash)
 * from zeros the first time it audits and after auditReset; that also makes
 * it the exclusive audit session, which it stays while every command is
 * audited by it (dispatch.c clears it otherwise).
 *
 * The audit list, auditAlg and the counter are persistent; the
 * specification keeps them across TPM Reset (see the TODO there). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

#define CC_BASE 0x100u

bool vt_audit_is_audited(const vt_engine *e, TPM2_CC cc)
{
    if (cc == TPM2_CC_SetCommandCodeAuditStatus)
        return true;
    if (cc < CC_BASE || cc >= CC_BASE + 8u * sizeof(e->p.audit_cc))
        return false;
    return (e->p.audit_cc[(cc - CC_BASE) / 8] >> ((cc - CC_BASE) % 8)) & 1u;
}

TPM2_ALG_ID vt_audit_alg(const vt_engine *e)
{
    return e->p.audit_alg ? e->p.audit_alg : TPM2_ALG_SHA256;
}

void vt_audit_command(vt_engine *e, TPM2_ALG_ID alg, const uint8_t *cp, const uint8_t *rp, size_t len)
{
    vt_buf parts[3] = { { e->v.audit_digest, len }, { cp, len }, { rp, len } };

    (void)vt_audit_begin(e); /* the dispatcher has done it already */
    vt_hash_parts(alg, parts, 3, e->v.audit_digest);
}

bool vt_audit_begin(vt_engine *e)
{
    if (e->v.audit_digest_set)
        return false;
    memset(e->v.audit_digest, 0, sizeof(e->v.audit_digest));
    e->p.audit_counter++;
    e->v.audit_digest_set = true;
    return true;
}

void vt_audit_session(vt_engine *e, vt_session *s, bool reset, const uint8_t *cp, const uint8_t *rp,
                      size_t len)
{
    vt_buf parts[3] = { { s->audit_digest, len }, { cp, len }, { rp, len } };

    if (!s->is_audit || reset) {
        memset(s->audit_digest, 0, sizeof(s->audit_digest));
        s->is_audit = true;
        e->v.exclusive_audit = s->handle;
    }
    vt_hash_parts(s->auth_hash, parts, 3, s->audit_digest);
}

size_t vt_audit_list(const vt_engine *e, TPM2_CC from, TPM2_CC *out, size_t max, bool *more)
{
    size_t i, n = 0;

    *more = false;
    for (i = 0; i < vt_command_count; i++) {
        TPM2_CC cc = vt_commands[i].cc;
        if (cc < from || !vt_audit_is_audited(e, cc))
            continue;
        if (n == max) {
            *more = true;
            break;
        }
        out[n++] = cc;
    }
    return n;
}

/* ---- TPM2_SetCommandCodeAuditStatus (Part 3 §21.2) ---- */
TPM2_RC vt_cmd_set_command_code_audit_status(vt_cmd *c)
{
    vt_engine *e = c->e;
    uint16_t alg;
    TPML_CC set, clr;
    uint32_t i;

    memset(&set, 0, sizeof(set));
    memset(&clr, 0, sizeof(clr));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &alg));
    if (alg != TPM2_ALG_NULL && vt_hash_size(alg) == 0)
        return vt_in_rc(&c->in, TPM2_RC_HASH);
    RETURN_IF_ERROR(VT_IN(&c->in, TPML_CC, &set));
    RETURN_IF_ERROR(VT_IN(&c->in, TPML_CC, &clr));
    RETURN_IF_ERROR(vt_in_end(&c->in));

    if (alg != TPM2_ALG_NULL && alg != vt_audit_alg(e)) {
        /* A new algorithm, and nothing else in the same command. */
        if (set.count || clr.count)
            return VT_RC_P(TPM2_RC_VALUE, 1);
        e->p.audit_alg = alg;
        e->v.audit_digest_set = false;
        c->state_changed = true;
        return TPM2_RC_SUCCESS;
    }
    /* Codes the TPM does not implement are ignored. */
    for (i = 0; i < set.count; i++) {
        TPM2_CC cc = set.commandCodes[i];
        if (vt_command_find(cc) && cc >= CC_BASE && cc < CC_BASE + 8u * sizeof(e->p.audit_cc))
            e->p.audit_cc[(cc - CC_BASE) / 8] |= (uint8_t)(1u << ((cc - CC_BASE) % 8));
    }
    for (i = 0; i < clr.count; i++) {
        TPM2_CC cc = clr.commandCodes[i];
        if (cc >= CC_BASE && cc < CC_BASE + 8u * sizeof(e->p.audit_cc))
            e->p.audit_cc[(cc - CC_BASE) / 8] &= (uint8_t)~(1u << ((cc - CC_BASE) % 8));
    }
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* ---- signing the attestation (as Quote does) ---- */

static TPM2_RC at_param(TPM2_RC rc, unsigned n)
{
    if (rc == TPM2_RC_SUCCESS || !(rc & TPM2_RC_FMT1) || (rc & (TPM2_RC_N_MASK | TPM2_RC_P)))
        return rc;
    return VT_RC_P(rc, n);
}

/* signHandle is handle 2 and inScheme parameter 2 in both commands. */
static TPM2_RC read_common(vt_cmd *c, TPM2B_DATA *qd, vt_object **key, TPMT_SIG_SCHEME *scheme)
{
    const uint8_t *p;
    uint16_t n;
    TPMT_SIG_SCHEME req;
    TPM2_HANDLE h = c->handles[1];
    TPM2_RC rc;

    memset(qd, 0, sizeof(*qd));
    memset(&req, 0, sizeof(req));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &p, &n, sizeof(qd->buffer)));
    memcpy(qd->buffer, p, n);
    qd->size = n;
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIG_SCHEME, &req));
    RETURN_IF_ERROR(vt_in_end(&c->in));

    memset(scheme, 0, sizeof(*scheme));
    scheme->scheme = TPM2_ALG_NULL;
    scheme->details.any.hashAlg = TPM2_ALG_NULL;
    *key = NULL;
    if (h == TPM2_RH_NULL)
        return TPM2_RC_SUCCESS;
    *key = vt_object_find(c->e, h);
    if (!*key)
        return VT_RC_H(TPM2_RC_HANDLE, 2);
    if (!((*key)->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) || !(*key)->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, 2);
    rc = vt_sign_scheme(*key, &req, scheme);
    if (rc == TPM2_RC_KEY)
        return VT_RC_H(rc, 2);
    return at_param(rc, 2);
}

static TPM2_RC finish(vt_cmd *c, vt_object *key, const TPMT_SIG_SCHEME *scheme, const TPMS_ATTEST *att)
{
    TPM2B_ATTEST out;
    TPMT_SIGNATURE sig;
    TPM2_RC rc = vt_attest_sign(c->e, key, scheme, att, &out, &sig);

    if (rc == TPM2_RC_KEY)
        return VT_RC_H(rc, 2);
    RETURN_IF_ERROR(at_param(rc, 2));
    VT_OUT(&c->out, TPM2B_ATTEST, &out);
    VT_OUT(&c->out, TPMT_SIGNATURE, &sig);
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_GetCommandAuditDigest (Part 3 §21.4) ----
 * privacyHandle (endorsement), signHandle.  commandDigest is the digest of
 * the audited command codes in ascending order; the audit digest is
 * cleared once it was reported. */
TPM2_RC vt_cmd_get_command_audit_digest(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME scheme;
    TPMS_ATTEST att;
    vt_object *key;
    TPM2_ALG_ID alg = vt_audit_alg(e);
    size_t hlen = vt_hash_size(alg);
    TPMS_COMMAND_AUDIT_INFO *ai;

    RETURN_IF_ERROR(read_common(c, &qd, &key, &scheme));
    vt_attest_header(e, TPM2_ST_ATTEST_COMMAND_AUDIT, key, &qd, &att);
    ai = &att.attested.commandAudit;
    ai->auditCounter = e->p.audit_counter;
    ai->digestAlg = alg;
    ai->auditDigest.size = (uint16_t)hlen;
    if (e->v.audit_digest_set)
        memcpy(ai->auditDigest.buffer, e->v.audit_digest, hlen);
    else
        memset(ai->auditDigest.buffer, 0, hlen);
    /* commandDigest: H(each audited TPM_CC, big-endian, ascending). */
    {
        uint8_t list[4 * 128];
        size_t n = 0, i;
        for (i = 0; i < vt_command_count && n + 4 <= sizeof(list); i++) {
            TPM2_CC cc = vt_commands[i].cc;
            if (!vt_audit_is_audited(e, cc))
                continue;
            list[n++] = (uint8_t)(cc >> 24);
            list[n++] = (uint8_t)(cc >> 16);
            list[n++] = (uint8_t)(cc >> 8);
            list[n++] = (uint8_t)cc;
        }
        if (vt_hash(alg, list, n, ai->commandDigest.buffer) != hlen)
            return TPM2_RC_FAILURE;
        ai->commandDigest.size = (uint16_t)hlen;
    }
    RETURN_IF_ERROR(finish(c, key, &scheme, &att));
    e->v.audit_digest_set = false;
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_GetSessionAuditDigest (Part 3 §21.3) ----
 * privacyAdminHandle (endorsement), signHandle, sessionHandle (an HMAC
 * session that has audited; not authorized). */
TPM2_RC vt_cmd_get_session_audit_digest(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME scheme;
    TPMS_ATTEST att;
    vt_object *key;
    vt_session *s;
    size_t hlen;

    RETURN_IF_ERROR(read_common(c, &qd, &key, &scheme));
    s = vt_session_find(e, c->handles[2]);
    if (!s || s->saved)
        return TPM2_RC_REFERENCE_H0 + 2;
    if (!s->is_audit)
        return VT_RC_H(TPM2_RC_TYPE, 3);
    hlen = vt_hash_size(s->auth_hash);
    vt_attest_header(e, TPM2_ST_ATTEST_SESSION_AUDIT, key, &qd, &att);
    att.attested.sessionAudit.exclusiveSession = e->v.exclusive_audit == s->handle ? TPM2_YES : TPM2_NO;
    att.attested.sessionAudit.sessionDigest.size = (uint16_t)hlen;
    memcpy(att.attested.sessionAudit.sessionDigest.buffer, s->audit_digest, hlen);
    return finish(c, key, &scheme, &att);
}
