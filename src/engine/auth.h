/* The authorization area: parsing sessions and checking authorization.
 *
 * Password sessions (TPM_RS_PW), HMAC sessions and policy sessions
 * (Part 1 §19.6, §19.7): a policy session authorizes when its policyDigest
 * equals the entity's authPolicy and the conditions its policy commands
 * recorded hold for this command. */
#ifndef VT_AUTH_H
#define VT_AUTH_H

#include "engine/engine_internal.h"

typedef enum { VT_SES_PASSWORD = 1, VT_SES_HMAC, VT_SES_POLICY } vt_session_kind;

typedef struct {
    TPM2_HANDLE handle;
    vt_session_kind kind;
    const uint8_t *nonce;
    uint16_t nonce_len;
    TPMA_SESSION attrs;
    const uint8_t *hmac; /* for a password session: the password */
    uint16_t hmac_len;
    /* filled in by vt_auth_check for HMAC and policy sessions */
    vt_session *ses;
    uint8_t key[2 * VT_MAX_DIGEST]; /* sessionKey || authValue */
    size_t key_len;
    /* The key includes the authValue of `auth_handle`: the response HMAC
     * takes its value after the command (NV_ChangeAuth changes it). */
    bool with_auth;
    TPM2_HANDLE auth_handle;
    /* The response carries an empty HMAC: PolicyPassword, or an empty
     * key and an empty command HMAC (Part 1 §19.6.?). */
    bool empty_hmac;
} vt_auth_session;

/* Read session number `n` (1-based) from the authorization area. */
TPM2_RC vt_auth_parse_session(vt_in *area, unsigned n, vt_auth_session *s);
/* Check session number n; when `authorizes` it authorizes handle `h`. */
TPM2_RC vt_auth_check(vt_cmd *c, vt_auth_session *s, unsigned n, TPM2_HANDLE h, bool authorizes);
/* Append this session's part of the response authorization area. */
void vt_auth_response(vt_cmd *c, vt_auth_session *s, vt_out *o);

/* Length of v without its trailing zero octets (Part 1 §19.6.? : authValues
 * are compared with trailing zeros removed). */
size_t vt_auth_trim(const uint8_t *v, size_t len);

#endif
