#include <string.h>

#include "engine/param_crypt.h"

#define AES_BLOCK 16u

TPM2_RC vt_param_sym_check(const TPMT_SYM_DEF *sym)
{
    switch (sym->algorithm) {
    case TPM2_ALG_NULL:
        return TPM2_RC_SUCCESS;
    case TPM2_ALG_XOR:
        /* keyBits.exclusiveOr is the hash of the mask (Part 2 §11.1.?). */
        return vt_hash_size(sym->keyBits.exclusiveOr) ? TPM2_RC_SUCCESS : TPM2_RC_HASH;
    case TPM2_ALG_AES:
        if (sym->keyBits.aes != 128 && sym->keyBits.aes != 192 && sym->keyBits.aes != 256)
            return TPM2_RC_SYMMETRIC;
        /* Parameter encryption is CFB only (Part 1 §21.3). */
        return sym->mode.aes == TPM2_ALG_CFB ? TPM2_RC_SUCCESS : TPM2_RC_MODE;
    default:
        return TPM2_RC_SYMMETRIC;
    }
}

static int xor_crypt(TPM2_ALG_ID hash, const uint8_t *value, size_t value_len, const uint8_t *newer,
                     size_t newer_len, const uint8_t *older, size_t older_len, uint8_t *data, size_t len)
{
    uint8_t mask[VT_MAX_COMMAND_SIZE];
    int r;

    if (len > sizeof(mask))
        return -1;
    r = vt_kdfa(hash, value, value_len, "XOR", newer, newer_len, older, older_len, (uint32_t)(8 * len), mask);
    if (r == 0) {
        size_t i;
        for (i = 0; i < len; i++)
            data[i] ^= mask[i];
    }
    vt_wipe(mask, len);
    return r;
}

int vt_param_crypt(TPM2_ALG_ID auth_hash, const TPMT_SYM_DEF *sym, bool encrypt,
                   const uint8_t *value, size_t value_len, const uint8_t *newer, size_t newer_len,
                   const uint8_t *older, size_t older_len, uint8_t *data, size_t len)
{
    uint8_t k[32 + AES_BLOCK];
    size_t kb;
    int r;

    if (len == 0)
        return 0;
    if (sym->algorithm == TPM2_ALG_XOR)
        return xor_crypt(auth_hash, value, value_len, newer, newer_len, older, older_len, data, len);
    if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB)
        return -1;
    kb = sym->keyBits.aes / 8u;
    if (kb != 16 && kb != 24 && kb != 32)
        return -1;
    if (vt_kdfa(auth_hash, value, value_len, "CFB", newer, newer_len, older, older_len,
                (uint32_t)(8 * (kb + AES_BLOCK)), k) != 0)
        return -1;
    r = vt_aes_crypt(TPM2_ALG_CFB, encrypt, k, kb, k + kb, data, len, data) == 0 ? 0 : -1;
    vt_wipe(k, sizeof(k));
    return r;
}
