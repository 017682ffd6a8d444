/* Asymmetric and symmetric primitives over OpenSSL 3: RSA, ECC (NIST
 * P-256/384/521), AES modes, KDFe.
 *
 * Numbers are big-endian octet strings, as in TPM2B buffers.  A vt_key is an
 * opaque ready-to-use key (an EVP_PKEY and whatever contexts make repeated
 * use cheap); the object room builds one when an object is loaded and frees
 * it when the object goes, so a Sign costs one OpenSSL signature and little
 * else.  Nothing here knows about TPM commands; algorithms are named by their
 * TPM2_ALG_ID / TPM2_ECC_CURVE.
 *
 * Results: 0 success, -1 failure (bad input or OpenSSL error) unless a
 * function says otherwise. */
#ifndef VT_ASYM_H
#define VT_ASYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

typedef struct vt_key vt_key;

/* A source of octets: the engine's DRBG for ordinary keys, a KDFa stream
 * for primary keys (so they are deterministic).  Returns 0 or -1. */
typedef int (*vt_rng_fn)(void *ctx, uint8_t *out, size_t len);

void vt_key_free(vt_key *k);

/* ---- RSA ---- */

/* Generate an RSA key of `bits` (1024, 2048, 3072, 4096) with public
 * exponent `exponent` (0 means 65537) from octets drawn from rng only:
 * the same rng stream gives the same key.  Writes the modulus (bits/8
 * octets) to n and one prime (bits/16 octets) to p. */
int vt_rsa_generate(unsigned bits, uint32_t exponent, vt_rng_fn rng, void *rng_ctx,
                    uint8_t *n, uint8_t *p);
/* A key from modulus, exponent (0 = 65537) and, when p_len > 0, one prime
 * factor of n (either one).  NULL when the numbers are not a key (p does
 * not divide n, sizes wrong).
 * [crypto] n must be odd and 1017..4096 bits long (leading zero octets are
 * fine); e odd and >= 3; no primality test is made on p. */
vt_key *vt_key_rsa(const uint8_t *n, size_t n_len, uint32_t exponent,
                   const uint8_t *p, size_t p_len);
/* scheme: TPM2_ALG_RSASSA or TPM2_ALG_RSAPSS (PSS salt length = digest
 * length, as TPM 2.0 Part 1 Annex B.7 asks); hash names the digest.
 * *sig_len: in the room, out the length (always the modulus size).
 * [crypto] digest_len must be the hash's size.  When the modulus is too
 * small for salt = hLen (RSA-1024 with SHA-512) the salt is the largest
 * that fits (emLen - hLen - 2). */
int vt_rsa_sign(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *digest,
                size_t digest_len, uint8_t *sig, size_t *sig_len);
/* 0 valid, 1 not valid, -1 error.  PSS accepts any salt length.
 * [crypto] a signature that is not the modulus size, or a digest that is
 * not the hash's size, is "not valid" (1). */
int vt_rsa_verify(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *digest,
                  size_t digest_len, const uint8_t *sig, size_t sig_len);
/* scheme: TPM2_ALG_OAEP (hash for OAEP and MGF1, label as given: the
 * caller adds the TPM's terminating zero), TPM2_ALG_RSAES (PKCS#1 v1.5) or
 * TPM2_ALG_NULL (raw RSA: in must be < n, left-padded to the modulus size
 * on output).  *out_len: in the room, out the length.  Decrypt returns -2
 * when the padding does not check (the TPM answers TPM_RC_VALUE).
 * [crypto] -2 also when: (encrypt) the message is longer than the scheme
 * allows (OAEP k-2hLen-2, RSAES k-11, raw k) or a raw message is not below
 * n; (decrypt) the ciphertext is not below n.  A ciphertext shorter than the
 * modulus is taken as a number (left-padded); longer is -1.  -1 also when
 * the plaintext does not fit *out_len. */
int vt_rsa_encrypt(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *label,
                   size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t *out_len);
int vt_rsa_decrypt(vt_key *k, TPM2_ALG_ID scheme, TPM2_ALG_ID hash, const uint8_t *label,
                   size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t *out_len);

/* ---- ECC ---- */

/* Octets of one coordinate / of the order: 32, 48, 66 for NIST P-256,
 * P-384, P-521; 0 for a curve that is not implemented. */
size_t vt_ecc_size(TPM2_ECC_CURVE curve);
/* A private scalar d in [1, n-1] from rng (deterministic for a given
 * stream), written as vt_ecc_size(curve) octets.
 * [crypto] draws vt_ecc_size(curve) + 8 octets c and returns
 * d = (c mod (n-1)) + 1 (FIPS 186-4 B.4.1, extra random bits). */
int vt_ecc_generate(TPM2_ECC_CURVE curve, vt_rng_fn rng, void *rng_ctx, uint8_t *d);
/* R = d * P, or d * G when px is NULL.  d and the coordinates are
 * vt_ecc_size(curve) octets (inputs may be shorter: leading zeros
 * stripped).  -1 when P is not on the curve or R is the point at infinity. */
int vt_ecc_mul(TPM2_ECC_CURVE curve, const uint8_t *d, size_t d_len, const uint8_t *px,
               size_t px_len, const uint8_t *py, size_t py_len, uint8_t *rx, uint8_t *ry);
bool vt_ecc_point_valid(TPM2_ECC_CURVE curve, const uint8_t *x, size_t x_len,
                        const uint8_t *y, size_t y_len);
/* A key from its public point and, when d_len > 0, its private scalar.
 * NULL when the point is not on the curve.
 * [crypto] also NULL when d is not in [1, n-1] or d*G is not the point
 * (a private part that does not belong: TPM_RC_BINDING). */
vt_key *vt_key_ecc(TPM2_ECC_CURVE curve, const uint8_t *x, size_t x_len, const uint8_t *y,
                   size_t y_len, const uint8_t *d, size_t d_len);
/* ECDSA: r and s are written as vt_ecc_size octets each.  The digest is
 * used as ECDSA says (truncated to the order's length). */
int vt_ecdsa_sign(vt_key *k, const uint8_t *digest, size_t digest_len, uint8_t *r, uint8_t *s);
/* 0 valid, 1 not valid, -1 error. */
int vt_ecdsa_verify(vt_key *k, const uint8_t *digest, size_t digest_len, const uint8_t *r,
                    size_t r_len, const uint8_t *s, size_t s_len);
/* The curve's parameters for TPM2_ECC_Parameters (Part 2 §11.2.5.?):
 * keySize, p, a, b, gX, gY, n, h; kdf and sign schemes TPM2_ALG_NULL. */
int vt_ecc_parameters(TPM2_ECC_CURVE curve, TPMS_ALGORITHM_DETAIL_ECC *out);

/* ---- AES ---- */

/* mode: TPM2_ALG_CFB, CTR, OFB, CBC, ECB.  key_bytes 16, 24 or 32.  iv (16
 * octets, ignored for ECB) is updated to the chaining value that continues
 * the operation (Part 3 TPM2_EncryptDecrypt ivOut).  CBC and ECB take whole
 * blocks only: -2 when len is not a multiple of 16. */
int vt_aes_crypt(TPM2_ALG_ID mode, bool encrypt, const uint8_t *key, size_t key_bytes,
                 uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out);

/* ---- KDFe (Part 1 §11.4.10.3, SP 800-56A concatenation KDF) ----
 * out = first bits/8 octets of H(counter || Z || label || 00 || u || v) ...
 * The label's terminating zero octet is part of it, as in vt_kdfa. */
int vt_kdfe(TPM2_ALG_ID hash, const uint8_t *z, size_t z_len, const char *label,
            const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len, uint32_t bits,
            uint8_t *out);

#endif
