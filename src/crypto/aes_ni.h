/* AES-CFB on the AES-NI instructions, for the CPUs that have them.
 *
 * Parameter encryption runs AES-CFB over a few dozen octets under a new key
 * on every command of an encrypting session; through EVP that meant a
 * provider key schedule and dispatch that cost more than the cipher, most
 * of all on the cold caches a TPM command usually meets.  This is the whole
 * cipher in a few hundred instructions.  AES-NI runs in constant time, and
 * the key expansion takes SubWord from AESKEYGENASSIST rather than from an
 * S-box table, so nothing here indexes memory by key or data. */
#ifndef VT_AES_NI_H
#define VT_AES_NI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when this CPU has AES-NI (and this build knows the instructions). */
bool vt_aes_ni_usable(void);

/* AES-CFB128 (full-block feedback, SP 800-38A §6.3), key_bytes 16, 24 or
 * 32; in and out may be the same buffer.  iv is updated as OpenSSL's CFB
 * leaves it: the last ciphertext block, or after a partial last block the
 * keystream block with its first octets replaced by that partial
 * ciphertext.  Returns 0, or -1 for a bad key size. */
int vt_aes_ni_cfb(bool encrypt, const uint8_t *key, size_t key_bytes, uint8_t iv[16],
                  const uint8_t *in, size_t len, uint8_t *out);

#endif
