#include "engine/auth.h"

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
    case TPM2_HT_POLICY_SESSION:
        /* No session is loaded yet: the sessions room is not built. */
        return (TPM2_RC)(TPM2_RC_REFERENCE_S0 + (n - 1));
    default:
        return vt_in_rc_at(area, TPM2_RC_VALUE, n);
    }
}

TPM2_RC vt_entity_lookup(vt_engine *e, TPM2_HANDLE h, vt_entity_auth *out)
{
    vt_sequence *seq;

    memset(out, 0, sizeof(*out));
    if (h < VT_PCR_COUNT) {
        /* PCR authValue is empty: no PCR is in an auth group. */
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
    seq = vt_sequence_find(e, h);
    if (seq) {
        out->auth = seq->auth;
        out->auth_len = seq->auth_len;
        return TPM2_RC_SUCCESS;
    }
    return TPM2_RC_HANDLE;
}

TPM2_RC vt_auth_check(vt_cmd *c, vt_auth_session *s, unsigned n, TPM2_HANDLE h, bool authorizes)
{
    vt_entity_auth ent;
    size_t plen;
    bool ok;

    if (s->kind != VT_SES_PASSWORD)
        return (TPM2_RC)(TPM2_RC_REFERENCE_S0 + (n - 1));
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

    plen = vt_auth_trim(s->hmac, s->hmac_len);
    /* CT: the comparison reads every byte of the longer value; only whether
     * the lengths differ is not hidden, and both are trimmed the same way. */
    {
        uint8_t a[VT_MAX_DIGEST] = { 0 }, b[VT_MAX_DIGEST] = { 0 };
        memcpy(a, s->hmac, plen);
        memcpy(b, ent.auth, ent.auth_len);
        ok = vt_ct_equal(a, b, VT_MAX_DIGEST) && plen == ent.auth_len;
        vt_wipe(a, sizeof(a));
        vt_wipe(b, sizeof(b));
    }
    if (!ok)
        return VT_RC_S(ent.da_protected ? TPM2_RC_AUTH_FAIL : TPM2_RC_BAD_AUTH, n);
    return TPM2_RC_SUCCESS;
}

void vt_auth_response(vt_cmd *c, const vt_auth_session *s, vt_out *o)
{
    (void)c;
    /* Password session: empty nonce, continueSession set, empty HMAC
     * (Part 1 §19.6.?). */
    vt_out_u16(o, 0);
    vt_out_u8(o, (uint8_t)(s->kind == VT_SES_PASSWORD ? TPMA_SESSION_CONTINUESESSION
                                                      : (s->attrs & TPMA_SESSION_CONTINUESESSION)));
    vt_out_u16(o, 0);
}
