/* The TPM's random number generator: HMAC_DRBG with SHA-256
 * (NIST SP 800-90A §10.1.2), seeded and periodically reseeded from the
 * platform's entropy source.  TPM2_StirRandom mixes caller data in. */
#include <string.h>

#include "engine/engine_internal.h"

#define RESEED_INTERVAL 1024u

static void drbg_update(vt_drbg *d, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    static const uint8_t zero = 0x00, one = 0x01;
    vt_buf parts[4] = { { d->v, 32 }, { &zero, 1 }, { a, alen }, { b, blen } };

    vt_hmac_parts(TPM2_ALG_SHA256, d->k, 32, parts, 4, d->k);
    vt_hmac_parts(TPM2_ALG_SHA256, d->k, 32, parts, 1, d->v);
    if (alen + blen == 0)
        return;
    parts[1].p = &one;
    vt_hmac_parts(TPM2_ALG_SHA256, d->k, 32, parts, 4, d->k);
    vt_hmac_parts(TPM2_ALG_SHA256, d->k, 32, parts, 1, d->v);
}

void vt_drbg_seed(vt_engine *e, const uint8_t *extra, size_t extra_len)
{
    uint8_t seed[48];
    vt_drbg *d = &e->drbg;

    if (e->plat.entropy(e->plat.ctx, seed, sizeof(seed)) != 0) {
        /* Without entropy the TPM must not pretend: failure mode. */
        e->v.failed = true;
        return;
    }
    if (d->requests == 0 && !d->k[0] && !d->v[0]) {
        memset(d->k, 0x00, 32);
        memset(d->v, 0x01, 32);
    }
    drbg_update(d, seed, sizeof(seed), extra, extra_len);
    d->requests = 1;
    vt_wipe(seed, sizeof(seed));
}

void vt_drbg_stir(vt_engine *e, const uint8_t *data, size_t len)
{
    drbg_update(&e->drbg, data, len, NULL, 0);
}

TPM2_RC vt_random(vt_engine *e, uint8_t *out, size_t len)
{
    vt_drbg *d = &e->drbg;
    vt_buf v = { d->v, 32 };

    if (d->requests >= RESEED_INTERVAL)
        vt_drbg_seed(e, NULL, 0);
    if (e->v.failed)
        return TPM2_RC_FAILURE;
    while (len > 0) {
        size_t n = len < 32 ? len : 32;
        vt_hmac_parts(TPM2_ALG_SHA256, d->k, 32, &v, 1, d->v);
        memcpy(out, d->v, n);
        out += n;
        len -= n;
    }
    drbg_update(d, NULL, 0, NULL, 0);
    d->requests++;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_random_nonce(vt_engine *e, uint8_t *out, size_t len)
{
    vt_drbg *d = &e->drbg;
    size_t cap = sizeof(d->nonce_pool);

    if (len > cap)
        return vt_random(e, out, len);
    if (d->nonce_left < len) {
        RETURN_IF_ERROR(vt_random(e, d->nonce_pool, cap));
        d->nonce_left = cap;
    }
    /* taken from the end; what is handed out is wiped from the pool */
    d->nonce_left -= len;
    memcpy(out, d->nonce_pool + d->nonce_left, len);
    vt_wipe(d->nonce_pool + d->nonce_left, len);
    return TPM2_RC_SUCCESS;
}
