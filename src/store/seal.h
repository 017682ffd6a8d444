/* Sealing state at rest: owner keys, the passphrase KDF, AES-256-GCM.
 *
 * A key SPEC names where the owner's key comes from:
 *   FILE      a file holding 32 raw bytes, or 64 hex characters, or
 *             otherwise a passphrase ("file:FILE" if the name starts with
 *             "fd:" or "env:")
 *   fd:N      the same, read from inherited descriptor N (closed after)
 *   env:NAME  an environment variable: 64 hex characters or a passphrase;
 *             wiped and unset after reading
 * A trailing newline is not part of a hex key or passphrase.  A file of
 * exactly 32 bytes is a raw key.  A passphrase goes through scrypt with a
 * salt and parameters stored next to what it protects.
 *
 * Key material lives in pages that are locked (mlock, when the limit allows)
 * and kept out of core dumps, and is wiped when freed.  Nothing here prints
 * or logs a key. */
#ifndef VT_SEAL_H
#define VT_SEAL_H

#include "common/hex.h" /* vt_hex_encode: key ids in messages */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_SEAL_KEY_SIZE 32u
#define VT_SEAL_NONCE_SIZE 12u
#define VT_SEAL_TAG_SIZE 16u
#define VT_SEAL_SALT_SIZE 16u
#define VT_SEAL_CHECK_SIZE 8u
#define VT_SEAL_MAX_PASSPHRASE 1024u

/* What a SPEC gave: a raw 32-byte key or a passphrase. */
typedef struct {
    bool passphrase;
    size_t len;
    uint8_t bytes[VT_SEAL_MAX_PASSPHRASE];
} vt_key_material;

/* scrypt parameters, recorded with the salt (docs/FORMAT.md). */
typedef struct {
    uint8_t log2_n;
    uint32_t r, p;
    uint8_t salt[VT_SEAL_SALT_SIZE];
} vt_kdf_params;

/* A ready key: the owner's 32-byte key and the subkeys derived from it. */
typedef struct {
    bool from_passphrase;
    uint8_t master[VT_SEAL_KEY_SIZE];
    uint8_t enc[VT_SEAL_KEY_SIZE]; /* AES-256-GCM */
    uint8_t mac[VT_SEAL_KEY_SIZE]; /* HMAC-SHA256 over slot headers */
} vt_seal_key;

/* Memory for secrets: page-aligned, locked if possible, not dumped, zeroed.
 * vt_secure_free wipes it.  NULL on failure. */
void *vt_secure_alloc(size_t len);
void vt_secure_free(void *p, size_t len);
void vt_seal_wipe(void *p, size_t len);

/* Read SPEC.  0 and *out (free with vt_key_material_free), or -1 with err
 * set (the error names the spec's source, never its content). */
int vt_key_material_read(const char *spec, vt_key_material **out, char *err, size_t err_len);
void vt_key_material_free(vt_key_material *m);

/* Fill buf with strong random bytes (getrandom).  0 or -1. */
int vt_seal_random(uint8_t *buf, size_t len);

/* Default scrypt parameters with a fresh random salt.  0 or -1. */
int vt_kdf_params_new(vt_kdf_params *kp);
/* Are these parameters within what vitrum accepts on reading? */
bool vt_kdf_params_sane(const vt_kdf_params *kp);
/* KDF file/record: 64 bytes, "VTKD" .. SHA-256 (docs/FORMAT.md). */
#define VT_KDF_RECORD_SIZE 64u
void vt_kdf_params_encode(const vt_kdf_params *kp, uint8_t out[VT_KDF_RECORD_SIZE]);
int vt_kdf_params_decode(vt_kdf_params *kp, const uint8_t in[VT_KDF_RECORD_SIZE]);

/* Make a key from material: a raw key is used as is, a passphrase goes
 * through scrypt with kp (which must then be given).  0 and *out (free with
 * vt_seal_key_free), or -1 with err set. */
int vt_seal_key_new(const vt_key_material *m, const vt_kdf_params *kp, vt_seal_key **out,
                    char *err, size_t err_len);
void vt_seal_key_free(vt_seal_key *k);

/* HMAC-SHA256(key, label || data).  0 or -1. */
int vt_seal_hmac(const uint8_t key[VT_SEAL_KEY_SIZE], const char *label, const uint8_t *data,
                 size_t len, uint8_t out[32]);
/* The key check value stored with sealed data: HMAC(master, "vitrum key
 * check" || id), truncated; tells a wrong key from damaged data. */
int vt_seal_key_check(const vt_seal_key *k, const uint8_t *id, size_t id_len,
                      uint8_t out[VT_SEAL_CHECK_SIZE]);

/* AES-256-GCM.  vt_seal writes len bytes of ciphertext to out and the tag;
 * vt_unseal writes the plaintext only if the tag verifies (else out is
 * wiped) and returns 0, or -1.  in and out may be the same buffer. */
int vt_seal(const uint8_t key[VT_SEAL_KEY_SIZE], const uint8_t nonce[VT_SEAL_NONCE_SIZE],
            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
            uint8_t tag[VT_SEAL_TAG_SIZE]);
int vt_unseal(const uint8_t key[VT_SEAL_KEY_SIZE], const uint8_t nonce[VT_SEAL_NONCE_SIZE],
              const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
              const uint8_t tag[VT_SEAL_TAG_SIZE]);


#endif
