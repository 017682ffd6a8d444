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
    /* sessionValue for parameter encryption (Part 1 §21): sessionKey ||
     * the authorized entity's authValue, even when the session is bound to
     * it; sessionKey alone for a session that authorizes nothing. */
    uint8_t pkey[2 * VT_MAX_DIGEST];
    size_t pkey_len;
    bool authorized; /* it authorized a handle (not only audit / encryption) */
    /* Set by the dispatcher for the first session only: the nonceTPM of a
     * later decrypt / encrypt session, which its command HMAC includes
     * (Part 1 §19.6.5). */
    const uint8_t *nonce_dec, *nonce_enc;
    uint16_t nonce_dec_len, nonce_enc_len;
} vt_auth_session;

/* Read session number `n` (1-based) from the authorization area. */
TPM2_RC vt_auth_parse_session(vt_in *area, unsigned n, vt_auth_session *s);
/* Check session number n; when `authorizes` it authorizes handle `h`. */
TPM2_RC vt_auth_check(vt_cmd *c, vt_auth_session *s, unsigned n, TPM2_HANDLE h, bool authorizes);
/* A fresh nonceTPM for the response (before response encryption, which
 * uses it).  Nothing for a password session. */
TPM2_RC vt_auth_new_nonce(vt_cmd *c, vt_auth_session *s);
/* Append this session's part of the response authorization area.
 * `exclusive`: the session is the exclusive audit session. */
void vt_auth_response(vt_cmd *c, vt_auth_session *s, bool exclusive, vt_out *o);
/* cpHash = H(commandCode || Names || parameters as sent) with alg. */
size_t vt_auth_cp_hash(vt_cmd *c, TPM2_ALG_ID alg, uint8_t *out);
/* rpHash = H(TPM_RC_SUCCESS || commandCode || response parameters). */
size_t vt_auth_rp_hash(vt_cmd *c, TPM2_ALG_ID alg, uint8_t *out);
/* The loaded session behind s, or NULL (the action may have saved or
 * flushed it). */
vt_session *vt_auth_live(vt_cmd *c, vt_auth_session *s);

/* Length of v without its trailing zero octets (Part 1 §19.6.? : authValues
 * are compared with trailing zeros removed). */
size_t vt_auth_trim(const uint8_t *v, size_t len);

#endif
