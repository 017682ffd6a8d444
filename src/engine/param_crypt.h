/* Parameter encryption (TPM 2.0 Part 1 §21): the first TPM2B parameter of
 * a command (session attribute decrypt) or of a response (encrypt),
 * protected with the session's symmetric algorithm:
 *
 *   AES-CFB  key || iv = KDFa(authHash, sessionValue, "CFB", nonceNewer,
 *                             nonceOlder, keyBits + 128)   (§21.3)
 *   XOR      data ^= KDFa(authHash, sessionValue, "XOR", nonceNewer,
 *                         nonceOlder, 8 * size)             (§21.2)
 *
 * For a command nonceNewer is nonceCaller and nonceOlder the session's
 * nonceTPM; for a response nonceNewer is the new nonceTPM.  Only the data
 * octets of the TPM2B are changed, never its size. */
#ifndef VT_PARAM_CRYPT_H
#define VT_PARAM_CRYPT_H

#include "engine/engine_internal.h"

/* Is `sym` acceptable as a session's symmetric (Part 3 §11.1)?  Bare codes:
 * TPM_RC_SYMMETRIC (algorithm not AES, XOR or NULL; key size), TPM_RC_MODE
 * (a block cipher not in CFB mode), TPM_RC_HASH (XOR with a bad hash). */
TPM2_RC vt_param_sym_check(const TPMT_SYM_DEF *sym);

/* Encrypt (the TPM's response) or decrypt (a command) `len` octets of
 * `data` in place.  `value` is sessionValue.  0 or -1. */
int vt_param_crypt(TPM2_ALG_ID auth_hash, const TPMT_SYM_DEF *sym, bool encrypt,
                   const uint8_t *value, size_t value_len, const uint8_t *newer, size_t newer_len,
                   const uint8_t *older, size_t older_len, uint8_t *data, size_t len);

#endif
