/* The crypto room: one narrow interface over OpenSSL 3 libcrypto.
 *
 * Digests are fetched once per process (vt_crypto_init) and reused; the
 * contexts the calls work in belong to the calling thread, so engines may
 * run on several threads at once.  Nothing here knows about TPM commands;
 * algorithms are named by their TPM2_ALG_ID. */
#ifndef VT_CRYPTO_H
#define VT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#define VT_MAX_DIGEST 64u

int vt_crypto_init(void); /* 0 on success; idempotent */

/* Digest size of a hash algorithm, 0 when it is not implemented. */
size_t vt_hash_size(TPM2_ALG_ID alg);
/* Internal block size (for HMAC and KDFs), 0 when not implemented. */
size_t vt_hash_block_size(TPM2_ALG_ID alg);

/* A reusable hash context.  Allocated once (engine creation), never on the
 * command path. */
typedef struct vt_hash_ctx vt_hash_ctx;
vt_hash_ctx *vt_hash_ctx_new(void);
void vt_hash_ctx_free(vt_hash_ctx *h);
int vt_hash_start(vt_hash_ctx *h, TPM2_ALG_ID alg);
int vt_hash_update(vt_hash_ctx *h, const void *data, size_t len);
/* Writes the digest to out (VT_MAX_DIGEST bytes room); returns its size or 0. */
size_t vt_hash_finish(vt_hash_ctx *h, uint8_t *out);
/* Copy the running state of src into dst (both started). */
int vt_hash_copy(vt_hash_ctx *dst, const vt_hash_ctx *src);

/* One-shot digest of the concatenation of n parts; returns size or 0. */
typedef struct { const void *p; size_t n; } vt_buf;
size_t vt_hash_parts(TPM2_ALG_ID alg, const vt_buf *parts, size_t nparts, uint8_t *out);
size_t vt_hash(TPM2_ALG_ID alg, const void *data, size_t len, uint8_t *out);

/* One-shot HMAC over the concatenation of n parts; returns size or 0.  The
 * thread keeps the keyed states of its last few keys, so repeating a key
 * (a session's HMAC key, KDFa blocks) skips the key schedule; out may
 * alias the key or a part. */
size_t vt_hmac_parts(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len,
                     const vt_buf *parts, size_t nparts, uint8_t *out);

/* Wipe this thread's kept HMAC key states (the engine calls it after every
 * command, so no key outlives the command that used it). */
void vt_crypto_forget(void);

/* CT: compares all n bytes whatever their content; returns true iff equal. */
bool vt_ct_equal(const void *a, const void *b, size_t n);
/* Wipe a secret so the compiler cannot elide the store. */
void vt_wipe(void *p, size_t n);



/* KDFa (TPM 2.0 Part 1 §11.4.10.2): SP 800-108 counter-mode KDF with HMAC.
 * Writes bits/8 (rounded up) octets to out; returns 0 or -1. */
int vt_kdfa(TPM2_ALG_ID alg, const uint8_t *key, size_t key_len, const char *label,
            const uint8_t *ctx_u, size_t u_len, const uint8_t *ctx_v, size_t v_len,
            uint32_t bits, uint8_t *out);
#endif
