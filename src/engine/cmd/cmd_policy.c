/* Policy commands: PolicySigned, PolicySecret, PolicyTicket, PolicyOR,
 * PolicyPCR, PolicyLocality, PolicyNV, PolicyCounterTimer,
 * PolicyCommandCode, PolicyPhysicalPresence, PolicyCpHash, PolicyNameHash,
 * PolicyDuplicationSelect, PolicyAuthorize, PolicyAuthValue, PolicyPassword,
 * PolicyGetDigest, PolicyNvWritten, PolicyTemplate, PolicyAuthorizeNV and
 * PolicyRestart (TPM 2.0 Part 3 §23; policy sessions in Part 1 §19.7).
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

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* The HMAC of a TPMT_TK_AUTH (Part 2 §10.7.5):
 *   HMAC(proof, tag || timeout || epoch || cpHashA || policyRef || authName)
 * where epoch = resetCount || restartCount: Time starts again at every
 * Startup, so a ticket's timeout means nothing after one (the spec's
 * "expiresOnReset"); binding the counts retires every ticket then.  make:
 * compute into *digest; else compare with it (TPM_RC_TICKET if different). */
static TPM2_RC auth_ticket(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy, const uint8_t tbuf[8],
                           const uint8_t *cp, size_t cp_len, const uint8_t *ref, size_t ref_len,
                           const uint8_t *name, size_t name_len, TPM2B_DIGEST *digest, bool check)
{
    uint8_t epoch[8];
    vt_buf parts[5];

    put_be32(epoch, e->p.reset_count);
    put_be32(epoch + 4, e->p.restart_count);
    parts[0] = (vt_buf){ tbuf, 8 };
    parts[1] = (vt_buf){ epoch, 8 };
    parts[2] = (vt_buf){ cp, cp_len };
    parts[3] = (vt_buf){ ref, ref_len };
    parts[4] = (vt_buf){ name, name_len };
    if (check)
        return vt_ticket_check(e, tag, hierarchy, parts, 5, digest) ? TPM2_RC_SUCCESS : TPM2_RC_TICKET;
    return vt_ticket_make(e, tag, hierarchy, parts, 5, digest);
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

/* The checks PolicySigned shares with PolicySecret and PolicyTicket
 * (Part 3 §23.2): nonceTPM (if given) is the session's; a non-zero
 * expiration needs nonceTPM and counts from when nonceTPM was made;
 * cpHashA has the session's digest size and agrees with one already set.
 * p_nonce/p_cp/p_exp: the parameter numbers; p_nonce 0: no nonceTPM
 * parameter (PolicyTicket, whose timeout is given as *timeout). */
static TPM2_RC auth_param_checks(vt_engine *e, const vt_session *s, const uint8_t *nonce, size_t nonce_len,
                                 int32_t expiration, const uint8_t *cp, size_t cp_len, unsigned p_nonce,
                                 unsigned p_cp, unsigned p_exp, uint64_t *timeout)
{
    size_t hlen = vt_hash_size(s->auth_hash);

    if (p_nonce != 0) {
        *timeout = 0;
        if (nonce_len != 0 &&
            (nonce_len != s->nonce_tpm_len || memcmp(nonce, s->nonce_tpm, nonce_len) != 0))
            return VT_RC_P(TPM2_RC_NONCE, p_nonce);
        if (expiration != 0) {
            uint64_t secs = expiration < 0 ? (uint64_t)(-(int64_t)expiration) : (uint64_t)expiration;
            /* Without nonceTPM it counts from now (as TPMs of Part 3
             * 1.38 and later do; tpm2-tools relies on it). */
            *timeout = (nonce_len != 0 ? s->start_time : vt_time_now(e)) + secs * 1000u;
        }
    }
    if (*timeout != 0 && vt_time_now(e) > *timeout)
        return VT_RC_P(TPM2_RC_EXPIRED, p_exp);
    if (cp_len != 0 && cp_len != hlen)
        return VT_RC_P(TPM2_RC_SIZE, p_cp);
    if (cp_len != 0 && s->cp_hash_len != 0 && memcmp(cp, s->cp_hash, cp_len) != 0)
        return TPM2_RC_CPHASH;
    /* A cpHash and a nameHash or templateHash exclude each other. */
    if (cp_len != 0 && (s->name_hash_len != 0 || s->template_hash_len != 0))
        return TPM2_RC_CPHASH;
    return TPM2_RC_SUCCESS;
}

/* Remember cpHashA and the earliest timeout (policy sessions only). */
static void record_cp_timeout(vt_session *s, const uint8_t *cp, size_t cp_len, uint64_t timeout)
{
    if (s->type != TPM2_SE_POLICY)
        return;
    if (cp_len != 0) {
        memcpy(s->cp_hash, cp, cp_len);
        s->cp_hash_len = (uint16_t)cp_len;
    }
    if (timeout != 0 && (s->timeout == 0 || timeout < s->timeout))
        s->timeout = timeout;
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
    RETURN_IF_ERROR(auth_param_checks(e, s, nonce, nonce_len, expiration, cp, cp_len, 1, 2, 4, &timeout));

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
    record_cp_timeout(s, cp, cp_len, timeout);

    memset(&ticket, 0, sizeof(ticket));
    ticket.tag = TPM2_ST_AUTH_SECRET;
    ticket.hierarchy = TPM2_RH_NULL;
    if (expiration < 0) {
        uint8_t tbuf[8];
        put_be64(tbuf, timeout);
        ticket.hierarchy = entity_hierarchy(e, auth);
        RETURN_IF_ERROR(auth_ticket(e, TPM2_ST_AUTH_SECRET, ticket.hierarchy, tbuf, cp, cp_len, ref, ref_len,
                                    name, name_len, &ticket.digest, false));
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

/* ---- the remaining assertions (Part 3 §23.3, §23.5, §23.8–§23.10,
 * §23.12–§23.16, §23.20–§23.22) ---- */

/* PolicyUpdate() of Part 3 §23.2.3:
 *   policyDigest' = H(H(policyDigest || cc || name) || policyRef). */
static TPM2_RC policy_update_ref(vt_session *s, TPM2_CC cc, const uint8_t *name, size_t name_len,
                                 const uint8_t *ref, size_t ref_len)
{
    size_t hlen = vt_hash_size(s->auth_hash);
    vt_buf n1 = { name, name_len };

    RETURN_IF_ERROR(policy_update(s, cc, &n1, 1));
    {
        vt_buf parts[2] = { { s->policy_digest, hlen }, { ref, ref_len } };
        if (vt_hash_parts(s->auth_hash, parts, 2, s->policy_digest) != hlen)
            return TPM2_RC_FAILURE;
    }
    return TPM2_RC_SUCCESS;
}

/* Is `sig` a genuine signature of `digest` by `key` (Part 1 §?
 * CryptValidateSignature)?  TPM_RC_SIGNATURE if not; TPM_RC_SCHEME for a
 * scheme the key cannot make (or not the key's own scheme); TPM_RC_HANDLE
 * for an HMAC key without its sensitive part; TPM_RC_KEY when the key
 * cannot be used. */
static TPM2_RC verify_signature(vt_object *key, const uint8_t *digest, size_t dlen, const TPMT_SIGNATURE *sig)
{
    const TPMT_PUBLIC *p = &key->pub;
    TPM2_ALG_ID key_scheme = TPM2_ALG_NULL, key_hash = TPM2_ALG_NULL;

    switch (p->type) {
    case TPM2_ALG_RSA:
        key_scheme = p->parameters.rsaDetail.scheme.scheme;
        key_hash = p->parameters.rsaDetail.scheme.details.anySig.hashAlg;
        break;
    case TPM2_ALG_ECC:
        key_scheme = p->parameters.eccDetail.scheme.scheme;
        key_hash = p->parameters.eccDetail.scheme.details.anySig.hashAlg;
        break;
    case TPM2_ALG_KEYEDHASH:
        key_scheme = p->parameters.keyedHashDetail.scheme.scheme;
        key_hash = p->parameters.keyedHashDetail.scheme.details.hmac.hashAlg;
        break;
    default:
        return TPM2_RC_KEY;
    }
    /* A key with a scheme of its own signs only with it. */
    if (key_scheme != TPM2_ALG_NULL &&
        (key_scheme != sig->sigAlg || key_hash != sig->signature.any.hashAlg))
        return TPM2_RC_SCHEME;
    return vt_signature_check(key, digest, dlen, sig);
}

/* TPM2_PolicySigned (Part 3 §23.3): authObject signed
 *   aHash = H_sigHash(nonceTPM || expiration || cpHashA || policyRef);
 *   policyDigest' = H(H(policyDigest || TPM_CC_PolicySigned || authName) || policyRef).
 * A trial session checks neither the parameters nor the signature.  A
 * negative expiration returns a TPM_ST_AUTH_SIGNED ticket for PolicyTicket. */
TPM2_RC vt_cmd_policy_signed(vt_cmd *c)
{
    vt_engine *e = c->e;
    const uint8_t *nonce, *cp, *ref;
    uint16_t nonce_len, cp_len, ref_len;
    uint32_t exp_u;
    int32_t expiration;
    uint64_t timeout = 0;
    TPMT_SIGNATURE sig;
    TPMT_TK_AUTH ticket;
    vt_object *key;
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 1, &s));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &nonce, &nonce_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &cp, &cp_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &ref, &ref_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &exp_u));
    memset(&sig, 0, sizeof(sig));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_SIGNATURE, &sig));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    expiration = (int32_t)exp_u;
    /* A sequence object cannot sign. */
    key = vt_object_find(e, c->handles[0]);
    if (!key)
        return VT_RC_H(TPM2_RC_KEY, 1);

    if (s->type == TPM2_SE_POLICY) {
        uint8_t ahash[VT_MAX_DIGEST], eb[4];
        TPM2_ALG_ID halg = sig.signature.any.hashAlg;
        size_t alen = vt_hash_size(halg);
        TPM2_RC rc;

        RETURN_IF_ERROR(auth_param_checks(e, s, nonce, nonce_len, expiration, cp, cp_len, 1, 2, 4, &timeout));
        if (!(key->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
            return VT_RC_H(TPM2_RC_KEY, 1);
        if (alen == 0)
            return VT_RC_P(TPM2_RC_SCHEME, 5);
        put_be32(eb, exp_u);
        {
            vt_buf parts[4] = { { nonce, nonce_len }, { eb, 4 }, { cp, cp_len }, { ref, ref_len } };
            if (vt_hash_parts(halg, parts, 4, ahash) != alen)
                return TPM2_RC_FAILURE;
        }
        rc = verify_signature(key, ahash, alen, &sig);
        if (rc == TPM2_RC_HANDLE || rc == TPM2_RC_KEY)
            return VT_RC_H(rc, 1);
        if (rc != TPM2_RC_SUCCESS)
            return VT_RC_P(rc, 5);
    }

    RETURN_IF_ERROR(policy_update_ref(s, TPM2_CC_PolicySigned, key->name, key->name_len, ref, ref_len));
    record_cp_timeout(s, cp, cp_len, timeout);

    memset(&ticket, 0, sizeof(ticket));
    ticket.tag = TPM2_ST_AUTH_SIGNED;
    ticket.hierarchy = TPM2_RH_NULL;
    if (expiration < 0 && s->type == TPM2_SE_POLICY) {
        uint8_t tbuf[8];
        put_be64(tbuf, timeout);
        ticket.hierarchy = key->hierarchy;
        RETURN_IF_ERROR(auth_ticket(e, TPM2_ST_AUTH_SIGNED, ticket.hierarchy, tbuf, cp, cp_len, ref, ref_len,
                                    key->name, key->name_len, &ticket.digest, false));
        vt_out_2b(&c->out, tbuf, 8);
    } else {
        vt_out_u16(&c->out, 0);
    }
    VT_OUT(&c->out, TPMT_TK_AUTH, &ticket);
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyTicket (Part 3 §23.5): a ticket from PolicySigned or
 * PolicySecret stands in for the signature or the authorization, until its
 * timeout; the digest is that of the assertion it came from.  Policy
 * sessions only. */
TPM2_RC vt_cmd_policy_ticket(vt_cmd *c)
{
    vt_engine *e = c->e;
    const uint8_t *tb, *cp, *ref, *name;
    uint16_t tb_len, cp_len, ref_len, name_len;
    uint64_t timeout;
    TPMT_TK_AUTH ticket;
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &tb, &tb_len, 8));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &cp, &cp_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &ref, &ref_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &name, &name_len, sizeof(TPMU_NAME)));
    memset(&ticket, 0, sizeof(ticket));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_TK_AUTH, &ticket));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    /* A ticket stands for a check made in a policy session; a trial
     * session has no use for one (as the reference TPMs answer). */
    if (s->type != TPM2_SE_POLICY)
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    /* Only tickets with a timeout are made (negative expiration). */
    if (tb_len != 8)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    if (ticket.tag != TPM2_ST_AUTH_SIGNED && ticket.tag != TPM2_ST_AUTH_SECRET)
        return VT_RC_P(TPM2_RC_TAG, 5);
    timeout = ((uint64_t)((uint32_t)tb[0] << 24 | (uint32_t)tb[1] << 16 | (uint32_t)tb[2] << 8 | tb[3]) << 32) |
              ((uint32_t)tb[4] << 24 | (uint32_t)tb[5] << 16 | (uint32_t)tb[6] << 8 | tb[7]);
    if (timeout == 0)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    RETURN_IF_ERROR(auth_param_checks(e, s, NULL, 0, 0, cp, cp_len, 0, 2, 1, &timeout));
    if (ticket.hierarchy == TPM2_RH_NULL ||
        auth_ticket(e, ticket.tag, ticket.hierarchy, tb, cp, cp_len, ref, ref_len, name, name_len,
                    &ticket.digest, true) != TPM2_RC_SUCCESS)
        return VT_RC_P(TPM2_RC_TICKET, 5);
    RETURN_IF_ERROR(policy_update_ref(s, ticket.tag == TPM2_ST_AUTH_SECRET ? TPM2_CC_PolicySecret
                                                                          : TPM2_CC_PolicySigned,
                                      name, name_len, ref, ref_len));
    record_cp_timeout(s, cp, cp_len, timeout);
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyAuthorize (Part 3 §23.16): the policy so far is one the
 * holder of keySign approved (a TPM_ST_VERIFIED ticket from
 * VerifySignature over aHash = H_keySign.nameAlg(approvedPolicy ||
 * policyRef)); then
 *   policyDigest' = H(H(0...0 || TPM_CC_PolicyAuthorize || keySign) || policyRef).
 * A trial session checks nothing. */
TPM2_RC vt_cmd_policy_authorize(vt_cmd *c)
{
    const uint8_t *approved, *ref, *ks;
    uint16_t approved_len, ref_len, ks_len;
    TPMT_TK_VERIFIED tk;
    vt_session *s;
    size_t hlen;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &approved, &approved_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &ref, &ref_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &ks, &ks_len, sizeof(TPMU_NAME)));
    memset(&tk, 0, sizeof(tk));
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_TK_VERIFIED, &tk));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    hlen = vt_hash_size(s->auth_hash);

    if (s->type == TPM2_SE_POLICY) {
        TPM2_ALG_ID alg = ks_len >= 2 ? (TPM2_ALG_ID)(ks[0] << 8 | ks[1]) : TPM2_ALG_NULL;
        size_t alen = vt_hash_size(alg);
        uint8_t ahash[VT_MAX_DIGEST];

        if (alen == 0)
            return VT_RC_P(TPM2_RC_HASH, 3);
        if (ks_len != 2 + alen)
            return VT_RC_P(TPM2_RC_SIZE, 3);
        if (approved_len != hlen || memcmp(approved, s->policy_digest, hlen) != 0)
            return VT_RC_P(TPM2_RC_VALUE, 1);
        if (tk.tag != TPM2_ST_VERIFIED)
            return VT_RC_P(TPM2_RC_TAG, 4);
        {
            vt_buf parts[2] = { { approved, approved_len }, { ref, ref_len } };
            if (vt_hash_parts(alg, parts, 2, ahash) != alen)
                return TPM2_RC_FAILURE;
        }
        {
            /* The NULL ticket of a null-hierarchy key (empty digest)
             * never checks. */
            vt_buf parts[2] = { { ahash, alen }, { ks, ks_len } };
            if (!vt_ticket_check(c->e, TPM2_ST_VERIFIED, tk.hierarchy, parts, 2, &tk.digest))
                return VT_RC_P(TPM2_RC_VALUE, 4);
        }
    }
    memset(s->policy_digest, 0, sizeof(s->policy_digest));
    return policy_update_ref(s, TPM2_CC_PolicyAuthorize, ks, ks_len, ref, ref_len);
}

/* The NV checks of PolicyNV and PolicyAuthorizeNV (Part 3 §23.9, §23.22):
 * the index is read with the authorization of handle 1 (NV_Read's rules). */
static TPM2_RC nv_read_checks(vt_cmd *c, const vt_nv_index *ix)
{
    if (ix->pub.attributes & TPMA_NV_READLOCKED)
        return TPM2_RC_NV_LOCKED;
    RETURN_IF_ERROR(read_authority(c, ix));
    if (!(ix->pub.attributes & TPMA_NV_WRITTEN))
        return TPM2_RC_NV_UNINITIALIZED;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyAuthorizeNV (Part 3 §23.22): the NV index holds a TPMT_HA
 * with the approved policy; it must equal the policy so far.  Then
 *   policyDigest' = H(0...0 || TPM_CC_PolicyAuthorizeNV || nvIndex Name). */
TPM2_RC vt_cmd_policy_authorize_nv(vt_cmd *c)
{
    vt_engine *e = c->e;
    uint8_t name[VT_MAX_NAME];
    size_t name_len;
    vt_nv_index *ix;
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 2, &s));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    ix = vt_nv_find(&e->p.nv, c->handles[1]);
    if (!ix)
        return VT_RC_H(TPM2_RC_HANDLE, 2);
    if (s->type == TPM2_SE_POLICY) {
        const uint8_t *d = e->p.nv.pool + ix->offset;
        size_t hlen = vt_hash_size(s->auth_hash);
        TPM2_NT t = vt_nv_type(ix->pub.attributes);

        RETURN_IF_ERROR(nv_read_checks(c, ix));
        /* Only an ordinary index holds a policy. */
        if (t != TPM2_NT_ORDINARY)
            return VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
        if (ix->pub.dataSize < 2 + hlen || (TPM2_ALG_ID)(d[0] << 8 | d[1]) != s->auth_hash ||
            memcmp(d + 2, s->policy_digest, hlen) != 0)
            return TPM2_RC_VALUE;
    }
    name_len = vt_entity_name(e, c->handles[1], name);
    memset(s->policy_digest, 0, sizeof(s->policy_digest));
    {
        vt_buf p = { name, name_len };
        return policy_update(s, TPM2_CC_PolicyAuthorizeNV, &p, 1);
    }
}

/* TPM_EO (Part 2 §6.8): does `a` (the TPM's value) compare to operandB `b`
 * as `op` says?  Both are n octets, big-endian; signed ones two's
 * complement.  Not secret: the values are public or the caller's. */
static bool eo_compare(const uint8_t *a, const uint8_t *b, size_t n, uint16_t op)
{
    int u = memcmp(a, b, n), sg = u;
    size_t i;

    if (n > 0 && ((a[0] ^ b[0]) & 0x80))
        sg = (a[0] & 0x80) ? -1 : 1; /* the negative one is smaller */
    switch (op) {
    case TPM2_EO_EQ: return u == 0;
    case TPM2_EO_NEQ: return u != 0;
    case TPM2_EO_SIGNED_GT: return sg > 0;
    case TPM2_EO_UNSIGNED_GT: return u > 0;
    case TPM2_EO_SIGNED_LT: return sg < 0;
    case TPM2_EO_UNSIGNED_LT: return u < 0;
    case TPM2_EO_SIGNED_GE: return sg >= 0;
    case TPM2_EO_UNSIGNED_GE: return u >= 0;
    case TPM2_EO_SIGNED_LE: return sg <= 0;
    case TPM2_EO_UNSIGNED_LE: return u <= 0;
    case TPM2_EO_BITSET:
        for (i = 0; i < n; i++)
            if ((a[i] & b[i]) != b[i])
                return false;
        return true;
    case TPM2_EO_BITCLEAR:
        for (i = 0; i < n; i++)
            if ((a[i] & b[i]) != 0)
                return false;
        return true;
    default:
        return false;
    }
}

/* operandB, offset and operation of PolicyNV / PolicyCounterTimer, and
 *   args = H(operandB || offset || operation). */
typedef struct {
    const uint8_t *b;
    uint16_t b_len, offset, op;
    uint8_t args[VT_MAX_DIGEST];
    size_t args_len;
} eo_params;

static TPM2_RC read_eo_params(vt_cmd *c, const vt_session *s, eo_params *p)
{
    uint8_t tail[4];

    RETURN_IF_ERROR(vt_in_2b(&c->in, &p->b, &p->b_len, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &p->offset));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &p->op));
    if (p->op > TPM2_EO_BITCLEAR)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    tail[0] = (uint8_t)(p->offset >> 8);
    tail[1] = (uint8_t)p->offset;
    tail[2] = (uint8_t)(p->op >> 8);
    tail[3] = (uint8_t)p->op;
    {
        vt_buf parts[2] = { { p->b, p->b_len }, { tail, 4 } };
        p->args_len = vt_hash_parts(s->auth_hash, parts, 2, p->args);
    }
    return p->args_len == vt_hash_size(s->auth_hash) ? TPM2_RC_SUCCESS : TPM2_RC_FAILURE;
}

/* TPM2_PolicyNV (Part 3 §23.9): NV data at offset compared with operandB;
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyNV || args || nvIndex Name). */
TPM2_RC vt_cmd_policy_nv(vt_cmd *c)
{
    vt_engine *e = c->e;
    uint8_t name[VT_MAX_NAME];
    size_t name_len;
    vt_nv_index *ix;
    vt_session *s;
    eo_params p;

    RETURN_IF_ERROR(policy_session(c, 2, &s));
    RETURN_IF_ERROR(read_eo_params(c, s, &p));
    ix = vt_nv_find(&e->p.nv, c->handles[1]);
    if (!ix)
        return VT_RC_H(TPM2_RC_HANDLE, 2);
    if (s->type == TPM2_SE_POLICY) {
        RETURN_IF_ERROR(nv_read_checks(c, ix));
        if ((uint32_t)p.offset + p.b_len > ix->pub.dataSize)
            return TPM2_RC_NV_RANGE;
        if (!eo_compare(e->p.nv.pool + ix->offset + p.offset, p.b, p.b_len, p.op))
            return TPM2_RC_POLICY;
    }
    name_len = vt_entity_name(e, c->handles[1], name);
    {
        vt_buf parts[2] = { { p.args, p.args_len }, { name, name_len } };
        return policy_update(s, TPM2_CC_PolicyNV, parts, 2);
    }
}

/* TPM2_PolicyCounterTimer (Part 3 §23.10): like PolicyNV against the
 * marshalled TPMS_TIME_INFO (time, clock, resetCount, restartCount, safe);
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyCounterTimer || args). */
TPM2_RC vt_cmd_policy_counter_timer(vt_cmd *c)
{
    vt_session *s;
    eo_params p;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(read_eo_params(c, s, &p));
    if (s->type == TPM2_SE_POLICY) {
        TPMS_TIME_INFO ti;
        uint8_t buf[sizeof(TPMS_TIME_INFO) + 8];
        size_t n = 0;

        memset(&ti, 0, sizeof(ti));
        ti.time = vt_time_now(c->e);
        vt_clock_info(c->e, &ti.clockInfo);
        if (Tss2_MU_TPMS_TIME_INFO_Marshal(&ti, buf, sizeof(buf), &n) != TSS2_RC_SUCCESS)
            return TPM2_RC_FAILURE;
        if ((size_t)p.offset + p.b_len > n)
            return VT_RC_P(TPM2_RC_RANGE, 2);
        if (!eo_compare(buf + p.offset, p.b, p.b_len, p.op))
            return TPM2_RC_POLICY;
    }
    {
        vt_buf part = { p.args, p.args_len };
        return policy_update(s, TPM2_CC_PolicyCounterTimer, &part, 1);
    }
}

/* TPM2_PolicyLocality (Part 3 §23.8): localities 0-4 as a bit field
 * (several assertions narrow it to their intersection), or one extended
 * locality (32-255), which cannot be combined with another;
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyLocality || locality). */
TPM2_RC vt_cmd_policy_locality(vt_cmd *c)
{
    vt_session *s;
    uint8_t loc, now;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_u8(&c->in, &loc));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (loc == 0)
        return VT_RC_P(TPM2_RC_RANGE, 1);
    now = loc;
    if (s->locality != 0) {
        if (loc < 32) {
            if (s->locality >= 32 || (s->locality & loc) == 0)
                return VT_RC_P(TPM2_RC_RANGE, 1);
            now = (uint8_t)(s->locality & loc);
        } else if (s->locality != loc) {
            return VT_RC_P(TPM2_RC_RANGE, 1);
        }
    }
    {
        vt_buf part = { &loc, 1 };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyLocality, &part, 1));
    }
    s->locality = now;
    return TPM2_RC_SUCCESS;
}

/* A digest-sized parameter (cpHashA, nameHash, templateHash) into `dst`;
 * TPM_RC_SIZE (parameter 1) when it is not the session's digest size. */
static TPM2_RC read_session_digest(vt_cmd *c, const vt_session *s, const uint8_t **d)
{
    uint16_t len;

    RETURN_IF_ERROR(vt_in_2b(&c->in, d, &len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (len != vt_hash_size(s->auth_hash))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyCpHash (Part 3 §23.13): the command must have this cpHash;
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyCpHash || cpHashA). */
TPM2_RC vt_cmd_policy_cp_hash(vt_cmd *c)
{
    const uint8_t *cp;
    vt_session *s;
    size_t hlen;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(read_session_digest(c, s, &cp));
    hlen = vt_hash_size(s->auth_hash);
    if ((s->cp_hash_len != 0 && memcmp(s->cp_hash, cp, hlen) != 0) || s->name_hash_len != 0 ||
        s->template_hash_len != 0)
        return TPM2_RC_CPHASH;
    {
        vt_buf part = { cp, hlen };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyCpHash, &part, 1));
    }
    memcpy(s->cp_hash, cp, hlen);
    s->cp_hash_len = (uint16_t)hlen;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyNameHash (Part 3 §23.14): the command's handles must have
 * these Names: nameHash = H(Name1 || Name2 ...);
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyNameHash || nameHash). */
TPM2_RC vt_cmd_policy_name_hash(vt_cmd *c)
{
    const uint8_t *nh;
    vt_session *s;
    size_t hlen;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(read_session_digest(c, s, &nh));
    hlen = vt_hash_size(s->auth_hash);
    if (s->cp_hash_len != 0 || s->name_hash_len != 0 || s->template_hash_len != 0)
        return TPM2_RC_CPHASH;
    {
        vt_buf part = { nh, hlen };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyNameHash, &part, 1));
    }
    memcpy(s->name_hash, nh, hlen);
    s->name_hash_len = (uint16_t)hlen;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyDuplicationSelect (Part 3 §23.15): Duplicate, of this object
 * (nameHash = H(objectName || newParentName)) to this new parent;
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyDuplicationSelect ||
 *                     [objectName ||] newParentName || includeObject). */
TPM2_RC vt_cmd_policy_duplication_select(vt_cmd *c)
{
    const uint8_t *on, *pn;
    uint16_t on_len, pn_len;
    uint8_t inc;
    vt_session *s;
    size_t hlen;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &on, &on_len, sizeof(TPMU_NAME)));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &pn, &pn_len, sizeof(TPMU_NAME)));
    RETURN_IF_ERROR(vt_in_u8(&c->in, &inc));
    if (inc > TPM2_YES)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    hlen = vt_hash_size(s->auth_hash);
    if (s->cp_hash_len != 0 || s->name_hash_len != 0 || s->template_hash_len != 0)
        return TPM2_RC_CPHASH;
    if (s->policy_cc != 0 && s->policy_cc != TPM2_CC_Duplicate)
        return TPM2_RC_COMMAND_CODE;
    {
        vt_buf parts[2] = { { on, on_len }, { pn, pn_len } };
        if (vt_hash_parts(s->auth_hash, parts, 2, s->name_hash) != hlen)
            return TPM2_RC_FAILURE;
    }
    {
        vt_buf parts[3] = { { on, on_len }, { pn, pn_len }, { &inc, 1 } };
        RETURN_IF_ERROR(inc ? policy_update(s, TPM2_CC_PolicyDuplicationSelect, parts, 3)
                            : policy_update(s, TPM2_CC_PolicyDuplicationSelect, parts + 1, 2));
    }
    s->name_hash_len = (uint16_t)hlen;
    s->policy_cc = TPM2_CC_Duplicate;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyPhysicalPresence (Part 3 §23.12): the command needs physical
 * presence asserted; policyDigest' = H(policyDigest || TPM_CC_PolicyPhysicalPresence). */
TPM2_RC vt_cmd_policy_physical_presence(vt_cmd *c)
{
    vt_session *s;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyPhysicalPresence, NULL, 0));
    s->pp_needed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyNvWritten (Part 3 §23.20): the authorized NV index must (not)
 * be written; policyDigest' = H(policyDigest || TPM_CC_PolicyNvWritten || writtenSet). */
TPM2_RC vt_cmd_policy_nv_written(vt_cmd *c)
{
    vt_session *s;
    uint8_t ws;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(vt_in_u8(&c->in, &ws));
    if (ws > TPM2_YES)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (s->nv_written != 0 && s->nv_written != ws + 1u)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    {
        vt_buf part = { &ws, 1 };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyNvWritten, &part, 1));
    }
    s->nv_written = (uint8_t)(ws + 1u);
    return TPM2_RC_SUCCESS;
}

/* TPM2_PolicyTemplate (Part 3 §23.21): Create, CreatePrimary or
 * CreateLoaded of an object whose template (inPublic) hashes to
 * templateHash; policyDigest' = H(policyDigest || TPM_CC_PolicyTemplate || templateHash). */
TPM2_RC vt_cmd_policy_template(vt_cmd *c)
{
    const uint8_t *th;
    vt_session *s;
    size_t hlen;

    RETURN_IF_ERROR(policy_session(c, 0, &s));
    RETURN_IF_ERROR(read_session_digest(c, s, &th));
    hlen = vt_hash_size(s->auth_hash);
    if (s->cp_hash_len != 0 || s->name_hash_len != 0)
        return TPM2_RC_CPHASH;
    if (s->template_hash_len != 0 && memcmp(s->template_hash, th, hlen) != 0)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    {
        vt_buf part = { th, hlen };
        RETURN_IF_ERROR(policy_update(s, TPM2_CC_PolicyTemplate, &part, 1));
    }
    memcpy(s->template_hash, th, hlen);
    s->template_hash_len = (uint16_t)hlen;
    return TPM2_RC_SUCCESS;
}

/* ---- at authorization time ---- */

/* The template hash of a Create, CreatePrimary or CreateLoaded: H over the
 * inPublic parameter's contents (Part 3 §23.21); it follows inSensitive
 * (a TPM2B).  0 when the command is not one of them or is malformed
 * (its own unmarshal then reports that). */
static size_t template_hash(const vt_cmd *c, TPM2_ALG_ID alg, uint8_t *out)
{
    const uint8_t *p = c->in.buf;
    size_t len = c->in.len, off, n;

    if (c->cc != TPM2_CC_Create && c->cc != TPM2_CC_CreatePrimary && c->cc != TPM2_CC_CreateLoaded)
        return 0;
    if (len < 2)
        return 0;
    off = 2 + ((size_t)p[0] << 8 | p[1]);
    if (off + 2 > len)
        return 0;
    n = (size_t)p[off] << 8 | p[off + 1];
    off += 2;
    if (n > len - off)
        return 0;
    {
        vt_buf part = { p + off, n };
        return vt_hash_parts(alg, &part, 1, out);
    }
}

TPM2_RC vt_policy_check_deferred(vt_cmd *c, const vt_session *ss, unsigned n, TPM2_HANDLE h)
{
    vt_engine *e = c->e;
    size_t hlen = vt_hash_size(ss->auth_hash);
    uint8_t d[VT_MAX_DIGEST];

    /* PolicyLocality: localities 0-4 are bits of TPMA_LOCALITY, an
     * extended locality is the value itself (Part 2 §8.5). */
    if (ss->locality != 0) {
        bool ok = ss->locality < 32 ? (c->locality < 5 && (ss->locality & (1u << c->locality)) != 0)
                                    : c->locality == ss->locality;
        if (!ok)
            return TPM2_RC_LOCALITY;
    }
    if (ss->pp_needed && !e->physical_presence)
        return VT_RC_S(TPM2_RC_PP, n);
    if (ss->nv_written != 0) {
        const vt_nv_index *ix = (h >> 24) == TPM2_HT_NV_INDEX ? vt_nv_find(&e->p.nv, h) : NULL;
        if (!ix || ((ix->pub.attributes & TPMA_NV_WRITTEN) != 0) != (ss->nv_written == 2))
            return VT_RC_S(TPM2_RC_POLICY_FAIL, n);
    }
    if (ss->name_hash_len != 0) {
        /* nameHash = H(Name of every handle of the command). */
        uint8_t names[VT_MAX_HANDLES][VT_MAX_NAME];
        vt_buf parts[VT_MAX_HANDLES];
        unsigned i;
        for (i = 0; i < c->n_handles && i < VT_MAX_HANDLES; i++) {
            size_t nl = vt_entity_name(e, c->handles[i], names[i]);
            parts[i] = (vt_buf){ names[i], nl };
        }
        if (vt_hash_parts(ss->auth_hash, parts, i, d) != hlen)
            return TPM2_RC_FAILURE;
        if (ss->name_hash_len != hlen || memcmp(d, ss->name_hash, hlen) != 0)
            return VT_RC_S(TPM2_RC_POLICY_FAIL, n);
    }
    if (ss->template_hash_len != 0) {
        if (template_hash(c, ss->auth_hash, d) != hlen || ss->template_hash_len != hlen ||
            memcmp(d, ss->template_hash, hlen) != 0)
            return VT_RC_S(TPM2_RC_POLICY_FAIL, n);
    }
    return TPM2_RC_SUCCESS;
}
