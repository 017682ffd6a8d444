/* Policy commands: PolicySecret, PolicyOR, PolicyCommandCode, PolicyPCR,
 * PolicyRestart, PolicyAuthValue, PolicyPassword, PolicyGetDigest
 * (TPM 2.0 Part 3 §23; policy sessions in Part 1 §19.7).
 *
 * Each assertion extends the session's policyDigest the way the spec says,
 *   policyDigest' = H_authHash(policyDigest || TPM_CC_PolicyX || ...),
 * so that a trial session (or tpm2_createpolicy) computes the same digest
 * that an object's authPolicy holds.  A policy session also records the
 * conditions an assertion implies for the command it will authorize
 * (command code, PCR counter, cpHash, timeout, authValue or password);
 * auth.c checks them.  A trial session checks nothing it cannot know and
 * never authorizes. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

/* The policy (or trial) session at handle number idx+1 (TPMI_SH_POLICY). */
static TPM2_RC policy_session(vt_cmd *c, unsigned idx, vt_session **out)
{
    TPM2_HANDLE h = c->handles[idx];
    vt_session *s;

    if ((h >> 24) != TPM2_HT_POLICY_SESSION)
        return VT_RC_H(TPM2_RC_VALUE, idx + 1);
    s = vt_session_find(c->e, h);
    if (!s || s->saved)
        return (TPM2_RC)(TPM2_RC_REFERENCE_H0 + idx);
    *out = s;
    return TPM2_RC_SUCCESS;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* policyDigest = H(policyDigest || cc || parts...). */
static TPM2_RC policy_update(vt_session *s, TPM2_CC cc, const vt_buf *more, size_t n_more)
{
    size_t hlen = vt_hash_size(s->auth_hash), i;
    uint8_t ccb[4];
    vt_buf parts[2 + 4];

    if (n_more > 4)
        return TPM2_RC_FAILURE;
    put_be32(ccb, cc);
    parts[0] = (vt_buf){ s->policy_digest, hlen };
    parts[1] = (vt_buf){ ccb, 4 };
    for (i = 0; i < n_more; i++)
        parts[2 + i] = more[i];
    return vt_hash_parts(s->auth_hash, parts, 2 + n_more, s->policy_digest) == hlen ? TPM2_RC_SUCCESS
                                                                                  : TPM2_RC_FAILURE;
}

/* The hierarchy a ticket about entity h belongs to. */
static TPMI_RH_HIERARCHY entity_hierarchy(vt_engine *e, TPM2_HANDLE h)
{
    const vt_object *o;
    const vt_nv_index *ix;

    switch (h) {
    case TPM2_RH_ENDORSEMENT:
    case TPM2_RH_PLATFORM:
        return h;
    default:
        break;
    }
    if ((o = vt_object_find(e, h)) != NULL)
        return o->hierarchy;
    if ((h >> 24) == TPM2_HT_NV_INDEX && (ix = vt_nv_find(&e->p.nv, h)) != NULL)
        return (ix->pub.attributes & TPMA_NV_PLATFORMCREATE) ? TPM2_RH_PLATFORM : TPM2_RH_OWNER;
    return TPM2_RH_OWNER;
}

/* TPM2_PolicySecret (Part 3 §23.4): authHandle was authorized by the
 * authorization area like any USER-role handle (dispatch + auth.c);
 *   policyDigest' = H(H(policyDigest || TPM_CC_PolicySecret || authName) || policyRef).
 * expiration != 0 needs nonceTPM and limits the session to |expiration|
 * seconds from when nonceTPM was made; a negative one also returns a
 * TPM_ST_AUTH_SECRET ticket (for PolicyTicket). */
TPM2_RC vt_cmd_policy_secret(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2_HANDLE auth = c->handles[0];
    const uint8_t *nonce, *cp, *ref;
    uint16_t nonce_len, cp_len, ref_len;
    uint32_t exp_u;
    int32_t expiration;
    uint64_t timeout = 0;
    uint8_t name[VT_MAX_NAME];
    size_t name_len, hlen;
    vt_session *s;
    TPMT_TK_AUTH ticket;

    /* TPMI_DH_ENTITY has no TPM_RH_NULL (the table's handle kind does). */
    if (auth == TPM2_RH_NULL)
        return VT_RC_H(TPM2_RC_VALUE, 1);
    RETURN_IF_ERROR(policy_session(c, 1, &s));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &nonce, &nonce_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &cp, &cp_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &ref, &ref_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &exp_u));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    expiration = (int32_t)exp_u;
    hlen = vt_hash_size(s->auth_hash);

    /* Part 3 §23.2 (the checks common to PolicySigned/Secret/Ticket). */
    if (nonce_len != 0 &&
        (nonce_len != s->nonce_tpm_len || memcmp(nonce, s->nonce_tpm, nonce_len) != 0))
        return VT_RC_P(TPM2_RC_NONCE, 1);
    if (expiration != 0 && nonce_len == 0)
        return VT_RC_P(TPM2_RC_EXPIRED, 4);
    if (cp_len != 0 && cp_len != hlen)
        return VT_RC_P(TPM2_RC_SIZE, 2);
    if (cp_len != 0 && s->cp_hash_len != 0 && memcmp(cp, s->cp_hash, cp_len) != 0)
        return TPM2_RC_CPHASH;
    if (expiration != 0) {
        uint64_t secs = expiration < 0 ? (uint64_t)(-(int64_t)expiration) : (uint64_t)expiration;
        timeout = s->start_time + secs * 1000u;
        if (vt_time_now(e) > timeout)
            return VT_RC_P(TPM2_RC_EXPIRED, 4);
    }

    name_len = vt_entity_name(e, auth, name);
    {
        vt_buf n1 = { name, name_len };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicySecret, &n1, 1));
    }
    {
        vt_buf parts[2] = { { s->policy_digest, hlen }, { ref, ref_len } };
        if (vt_hash_parts(s->auth_hash, parts, 2, s->policy_digest) != hlen)
            return TPM2_RC_FAILURE;
    }
    if (s->type == TPM2_SE_POLICY) {
        if (cp_len != 0) {
            memcpy(s->cp_hash, cp, cp_len);
            s->cp_hash_len = cp_len;
        }
        if (timeout != 0 && (s->timeout == 0 || timeout < s->timeout))
            s->timeout = timeout;
    }

    memset(&ticket, 0, sizeof(ticket));
    ticket.tag = TPM2_ST_AUTH_SECRET;
    ticket.hierarchy = TPM2_RH_NULL;
    if (expiration < 0) {
        uint8_t tbuf[8];
        /* ticket = HMAC(proof, TPM_ST_AUTH_SECRET || timeout || cpHashA ||
         * policyRef || authName) (Part 2 §10.7.5). */
        for (unsigned i = 0; i < 8; i++)
            tbuf[i] = (uint8_t)(timeout >> (56 - 8 * i));
        ticket.hierarchy = entity_hierarchy(e, auth);
        {
            vt_buf parts[4] = { { tbuf, 8 }, { cp, cp_len }, { ref, ref_len }, { name, name_len } };
            RETURN_IF_ERROR(vt_ticket_make(e, TPM2_ST_AUTH_SECRET, ticket.hierarchy, parts, 4,
                                           &ticket.digest));
        }
        vt_out_2b(&c->out, tbuf, 8);
    } else {
        vt_out_u16(&c->out, 0); /* no timeout */
    }
    VT_OUT(&c->out, TPMT_TK_AUTH, &ticket);
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyOR (Part 3 §23.6): the current digest must be one of the
 * list (2 to 8 entries; not checked in a trial session), then
 *   policyDigest' = H(0...0 || TPM_CC_PolicyOR || digests concatenated). */
TPM2_RC vt_cmd_policy_or(vt_cmd *c)
{
    TPML_DIGEST list;
    vt_session *s;
    vt_buf parts[8];
    size_t hlen;
    uint32_t i;
    bool found = false;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    memset(&list, 0, sizeof(list));
    /* pHashList is a TPML_DIGEST of 2 to 8 entries: a count outside that
     * is TPM_RC_SIZE (libtss2-mu would say VALUE for more than 8). */
    if (vt_in_left(&c->in) >= 4) {
        const uint8_t *p = c->in.buf + c->in.off;
        uint32_t count = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        if (count < 2 || count > 8)
            return VT_RC_P(TPM2_RC_SIZE, 1);
    }
    RETURN_IF_ERROR(VT_IN(&c->in, TPML_DIGEST, &list));
    if (list.count < 2 || list.count > 8)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    hlen = vt_hash_size(s->auth_hash);
    for (i = 0; i < list.count; i++) {
        found |= list.digests[i].size == hlen && memcmp(list.digests[i].buffer, s->policy_digest, hlen) == 0;
        parts[i] = (vt_buf){ list.digests[i].buffer, list.digests[i].size };
    }
    if (s->type == TPM2_SE_POLICY && !found)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    memset(s->policy_digest, 0, sizeof(s->policy_digest));
    {
        uint8_t ccb[4];
        vt_buf all[2 + 8];
        put_be32(ccb, TPM2_CC_PolicyOR);
        all[0] = (vt_buf){ s->policy_digest, hlen };
        all[1] = (vt_buf){ ccb, 4 };
        for (i = 0; i < list.count; i++)
            all[2 + i] = parts[i];
        if (vt_hash_parts(s->auth_hash, all, 2 + list.count, s->policy_digest) != hlen)
            return TPM2_RC_FAILURE;
    }
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyCommandCode (Part 3 §23.11). */
TPM2_RC vt_cmd_policy_command_code(vt_cmd *c)
{
    vt_session *s;
    uint32_t code;
    uint8_t cb[4];

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &code));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (s->policy_cc != 0 && s->policy_cc != code)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    if (!vt_command_find(code))
        return VT_RC_P(TPM2_RC_POLICY_CC, 1);
    put_be32(cb, code);
    {
        vt_buf p = { cb, 4 };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyCommandCode, &p, 1));
    }
    s->policy_cc = code;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyPCR (Part 3 §23.7):
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyPCR || pcrs || digestTPM)
 * with digestTPM = H_authHash(selected PCR values, in selection order).  A
 * policy session checks a given pcrDigest against the PCRs and remembers
 * pcrUpdateCounter; a trial session takes a given pcrDigest as it is. */
TPM2_RC vt_cmd_policy_pcr(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPML_PCR_SELECTION sel;
    const uint8_t *want;
    uint16_t want_len;
    uint8_t now[VT_MAX_DIGEST], pcrs[sizeof(TPML_PCR_SELECTION)];
    size_t hlen, plen = 0;
    vt_session *s;
    TPM2_RC rc;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &want, &want_len, VT_MAX_DIGEST));
    memset(&sel, 0, sizeof(sel));
    RETURN_IF_ERROR(VT_IN(&c->in, TPML_PCR_SELECTION, &sel));
    rc = vt_pcr_check_selection(&sel);
    if (rc != TPM2_RC_SUCCESS)
        return VT_RC_P(rc, 2);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    hlen = vt_hash_size(s->auth_hash);

    if (s->type == TPM2_SE_TRIAL && want_len != 0) {
        memcpy(now, want, want_len);
        hlen = want_len;
    } else {
        if (vt_pcr_digest(e, &sel, s->auth_hash, now) != hlen)
            return TPM2_RC_FAILURE;
        if (want_len != 0 && (want_len != hlen || memcmp(want, now, hlen) != 0))
            return VT_RC_P(TPM2_RC_VALUE, 1);
    }
    if (s->type == TPM2_SE_POLICY && s->pcr_counter_set && s->pcr_counter != e->v.pcr_update_counter)
        return TPM2_RC_PCR_CHANGED;
    if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, pcrs, sizeof(pcrs), &plen) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    {
        vt_buf p[2] = { { pcrs, plen }, { now, hlen } };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyPCR, p, 2));
    }
    if (s->type == TPM2_SE_POLICY) {
        s->pcr_counter_set = true;
        s->pcr_counter = e->v.pcr_update_counter;
    }
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyRestart (Part 3 §11.2): the policy starts again; nonceTPM
 * and the session itself stay. */
TPM2_RC vt_cmd_policy_restart(vt_cmd *c)
{
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_session_policy_reset(s);
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyAuthValue (Part 3 §23.17): the authorizing HMAC includes
 * the entity's authValue. */
TPM2_RC vt_cmd_policy_auth_value(vt_cmd *c)
{
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyAuthValue, NULL, 0));
    s->auth_value_needed = true;
    s->password_needed = false;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyPassword (Part 3 §23.18): the same digest as PolicyAuthValue
 * (TPM_CC_PolicyAuthValue, on purpose: the policy does not say how the
 * authValue is shown), but the hmac field carries it in the clear. */
TPM2_RC vt_cmd_policy_password(vt_cmd *c)
{
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyAuthValue, NULL, 0));
    s->password_needed = true;
    s->auth_value_needed = false;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyGetDigest (Part 3 §23.19). */
TPM2_RC vt_cmd_policy_get_digest(vt_cmd *c)
{
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_out_2b(&c->out, s->policy_digest, (uint16_t)vt_hash_size(s->auth_hash));
    return TPM2_RC_SUCCESS;
}
