/* Objects: keys and sealed data (TPM 2.0 Part 1 §23–§27, §29–§30).
 *
 * A loaded object lives in a transient slot (handle 0x80xxxxxx) or, after
 * EvictControl, in the persistent state (0x81xxxxxx).  Either way it is one
 * vt_object: its public area and sensitive area unmarshalled, its Name and
 * Qualified Name, and the ready crypto key built the first time it is used.
 *
 * Protection (Part 1 §23.3, "Protected Storage"): an object's sensitive area
 * leaves the TPM only as a TPM2B_PRIVATE wrapped under its parent's
 * seedValue: outerHMAC || CFB-encrypted TPM2B_SENSITIVE, with
 *   symKey  = KDFa(parent nameAlg, seed, "STORAGE", name, -, parent sym bits)
 *   hmacKey = KDFa(parent nameAlg, seed, "INTEGRITY", -, -, digest bits)
 *   outerHMAC = HMAC(hmacKey, encSensitive || name).
 * Duplication (Import/Duplicate/Rewrap) and credentials use the same outer
 * wrapper with a seed shared through the new parent's public key. */
#ifndef VT_OBJECT_H
#define VT_OBJECT_H

#include "engine/engine_internal.h"

/* Sealed data: at most MAX_SYM_DATA octets (the reference profile's 128). */
#define VT_MAX_SEALED 128u

/* vt_object and the slot counts are in engine_internal.h (the engine
 * holds the slots). */

/* ---- lookup and lifetime ---- */

/* The loaded transient or persistent object at `h`, or NULL. */
vt_object *vt_object_find(vt_engine *e, TPM2_HANDLE h);
/* Load (pub, sens) into a free transient slot: computes Name and Qualified
 * Name (parent_qname is the parent's, or the hierarchy handle for a
 * primary).  sens NULL: public only.  TPM_RC_OBJECT_MEMORY when full. */
TPM2_RC vt_object_load(vt_engine *e, const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens,
                       TPMI_RH_HIERARCHY hierarchy, const uint8_t *parent_qname,
                       uint16_t parent_qname_len, vt_object **out);
void vt_object_flush(vt_engine *e, vt_object *o);
/* Flush every transient object of a hierarchy (or all with TPM_RH_NULL and
 * all=true); used at Startup and when a hierarchy is disabled/cleared. */
void vt_object_flush_all(vt_engine *e, bool all, TPMI_RH_HIERARCHY h);
unsigned vt_objects_loaded(const vt_engine *e);
unsigned vt_objects_persistent(const vt_engine *e);
/* The crypto key of an asymmetric object, built on first use; NULL for a
 * symmetric/keyedhash object or a key OpenSSL refuses. */
vt_key *vt_object_key(vt_object *o);

/* ---- names ---- */

/* Name = nameAlg || H(marshalled public area).  Returns its length or 0. */
size_t vt_public_name(const TPMT_PUBLIC *pub, uint8_t *name);
/* Qualified Name = nameAlg || H(parent QN || Name). */
size_t vt_qualified_name(TPM2_ALG_ID name_alg, const uint8_t *parent_qn, size_t pqn_len,
                         const uint8_t *name, size_t name_len, uint8_t *out);
/* The Name of a permanent handle (4 octets, big-endian). */
size_t vt_handle_name(TPM2_HANDLE h, uint8_t *out);

/* ---- checks ---- */

/* Is `pub` an acceptable template/public area (Part 3 §12.1 TPM2_Create and
 * Part 1 §27 object attributes)?  parent NULL for a primary or an external
 * object.  Returns the bare RC (TPM_RC_ATTRIBUTES, _SCHEME, _SYMMETRIC,
 * _KEY_SIZE, _HASH, _KDF, _TYPE, _VALUE …) without a parameter number. */
TPM2_RC vt_public_check(const TPMT_PUBLIC *pub, const vt_object *parent, bool primary);
/* Does the sensitive area `s` belong with `pub` (the binding Import and
 * LoadExternal check)?  Bare codes: TPM_RC_TYPE, _SIZE, _KEY_SIZE, _KEY,
 * _CURVE, or TPM_RC_BINDING when both are well formed but not a pair. */
TPM2_RC vt_sensitive_check(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *s);
/* A storage parent: restricted decrypt key with a symmetric algorithm. */
bool vt_object_is_storage_parent(const vt_object *o);

/* ---- protection ---- */

/* The outer wrapper (Part 1 §23.3.2): seal `plain` (a marshalled
 * TPM2B_SENSITIVE, or any octets) under `seed` for the object named `name`.
 * `out` gets TPM2B_DIGEST(outerHMAC) || encrypted plain; *out_len in the room,
 * out the length.  sym may be TPM2_ALG_NULL (integrity only). */
TPM2_RC vt_outer_wrap(TPM2_ALG_ID name_alg, const TPMT_SYM_DEF_OBJECT *sym,
                      const uint8_t *seed, size_t seed_len, const uint8_t *name,
                      size_t name_len, const uint8_t *plain, size_t plain_len, uint8_t *out,
                      size_t *out_len);
/* The reverse: TPM_RC_INTEGRITY when the HMAC does not check (or the blob is
 * too short), TPM_RC_SIZE when it is malformed. */
TPM2_RC vt_outer_unwrap(TPM2_ALG_ID name_alg, const TPMT_SYM_DEF_OBJECT *sym,
                        const uint8_t *seed, size_t seed_len, const uint8_t *name,
                        size_t name_len, const uint8_t *blob, size_t blob_len, uint8_t *plain,
                        size_t *plain_len);
/* Wrap / unwrap an object's sensitive area under its storage parent
 * (TPM2B_PRIVATE as Create returns it, Load takes it). */
TPM2_RC vt_sensitive_wrap(const vt_object *parent, const TPMT_SENSITIVE *sens,
                          const uint8_t *name, size_t name_len, TPM2B_PRIVATE *out);
TPM2_RC vt_sensitive_unwrap(const vt_object *parent, const TPM2B_PRIVATE *in,
                            const uint8_t *name, size_t name_len, TPMT_SENSITIVE *out);

/* ---- secret sharing with a key (Part 1 Annex B.10 / C.6): the seed of an
 * outer wrapper, for Duplicate/Import/MakeCredential/ActivateCredential and
 * salted sessions.  `label` is "DUPLICATE", "IDENTITY" or "SECRET". ---- */

/* Make a fresh seed for `key` (its nameAlg sized) and the encrypted form
 * the key's owner can recover (RSA-OAEP with label, or ECDH + KDFe).
 * `seed` has room for VT_MAX_DIGEST octets; *seed_len is output only.
 * Errors: TPM_RC_KEY, _HASH (modulus too small for OAEP with nameAlg),
 * _SCHEME (an RSA key whose scheme is neither NULL nor OAEP), _CURVE. */
TPM2_RC vt_secret_make(vt_engine *e, vt_object *key, const char *label, uint8_t *seed,
                       size_t *seed_len, TPM2B_ENCRYPTED_SECRET *secret);
/* Recover it with the private key: TPM_RC_VALUE / _ECC_POINT / _SCHEME /
 * _INSUFFICIENT / _SIZE / _NO_RESULT / _KEY on failure (the caller adds the
 * parameter number). */
TPM2_RC vt_secret_recover(vt_object *key, const char *label, const TPM2B_ENCRYPTED_SECRET *secret,
                          uint8_t *seed, size_t *seed_len);

/* ---- tickets (Part 2 §10.7): HMAC under the hierarchy proof ---- */

/* digest = HMAC(proof(hierarchy), tag || parts...) with the context
 * integrity hash; a NULL ticket (hierarchy TPM_RH_NULL, empty digest) when
 * the hierarchy is TPM_RH_NULL. */
TPM2_RC vt_ticket_make(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                       const vt_buf *parts, size_t nparts, TPM2B_DIGEST *digest);
/* The same HMAC for any hierarchy, TPM_RH_NULL included (creation
 * tickets are real under the null proof). */
TPM2_RC vt_ticket_hmac(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                       const vt_buf *parts, size_t nparts, TPM2B_DIGEST *digest);
/* Check a ticket the client brought back: true when its HMAC matches. */
bool vt_ticket_check(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                     const vt_buf *parts, size_t nparts, const TPM2B_DIGEST *digest);

/* ---- attestation helpers ---- */

/* Fill the common part of TPMS_ATTEST (magic, type, qualifiedSigner,
 * extraData, clockInfo, firmwareVersion; Part 2 §10.12.12), obfuscating
 * resetCount/restartCount for keys outside the endorsement and platform
 * hierarchies (Part 3 §18.1).  sign_key NULL: a NULL signing key. */
void vt_attest_header(vt_engine *e, TPMI_ST_ATTEST type, const vt_object *sign_key,
                      const TPM2B_DATA *extra, TPMS_ATTEST *out);
/* Marshal `att` into TPM2B_ATTEST and sign it with sign_key under
 * `scheme` (the scheme parameter; TPM_ALG_NULL means the key's), writing the
 * TPMT_SIGNATURE.  A NULL sign_key gives a TPM_ALG_NULL signature.  The
 * caller adds the parameter number to errors: TPM_RC_KEY (not a signing
 * key), TPM_RC_SCHEME, TPM_RC_ATTRIBUTES (restricted key and a foreign
 * scheme). */
TPM2_RC vt_attest_sign(vt_engine *e, vt_object *sign_key, const TPMT_SIG_SCHEME *scheme,
                       const TPMS_ATTEST *att, TPM2B_ATTEST *out, TPMT_SIGNATURE *sig);

/* ---- signing (cmd_sign.c) ---- */

/* The scheme a signing operation uses: the key's when it has one (then the
 * requested one must be NULL or the same), else the requested one.
 * TPM_RC_SCHEME when neither or they differ, TPM_RC_KEY when the key cannot
 * sign. */
TPM2_RC vt_sign_scheme(const vt_object *key, const TPMT_SIG_SCHEME *req, TPMT_SIG_SCHEME *out);
/* Sign `digest` with `key` under `scheme` (from vt_sign_scheme). */
TPM2_RC vt_sign_digest(vt_engine *e, vt_object *key, const TPMT_SIG_SCHEME *scheme,
                       const uint8_t *digest, size_t digest_len, TPMT_SIGNATURE *sig);

/* Is `sig` a genuine signature of `digest` by `key` (Part 3 §20.1)?
 * TPM_RC_SIGNATURE if not, TPM_RC_SCHEME for a scheme the key cannot make,
 * TPM_RC_HANDLE for an HMAC key without its secret (cmd_sign.c). */
TPM2_RC vt_signature_check(vt_object *key, const uint8_t *digest, size_t dlen, const TPMT_SIGNATURE *sig);

#endif
