/* Ed25519 (RFC 8032) through OpenSSL EVP: one-shot, no pre-hash. */
#include <openssl/evp.h>

#include "tlog/tlog.h"

int vt_ed25519_verify(const uint8_t pub[32], const uint8_t sig[64], const void *msg, size_t len)
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = 0;

    if (pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1)
        ok = EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

int vt_ed25519_public(const uint8_t seed[32], uint8_t pub[32])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    size_t n = 32;
    int ok = pk && EVP_PKEY_get_raw_public_key(pk, pub, &n) == 1 && n == 32;
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

int vt_ed25519_sign(const uint8_t seed[32], const void *msg, size_t len, uint8_t sig[64])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 64;
    int ok = 0;

    if (pk && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1)
        ok = EVP_DigestSign(ctx, sig, &n, msg, len) == 1 && n == 64;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}
