/* Engine lifecycle: creation (load or manufacture), power signals, save. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "engine/nv.h"

const char *vt_status_str(vt_status s)
{
    switch (s) {
    case VT_OK: return "ok";
    case VT_ERR_STATE_CORRUPT: return "stored state failed its integrity check";
    case VT_ERR_STATE_VERSION: return "stored state has an unknown format version";
    case VT_ERR_STORE: return "the state store could not be read or written";
    case VT_ERR_ENTROPY: return "no entropy available";
    case VT_ERR_CRYPTO: return "the crypto library could not be initialised";
    case VT_ERR_CONFIG: return "an engine configuration value is out of range";
    }
    return "unknown error";
}

/* First start: a new TPM with fresh seeds and proofs (Part 1 §14.3). */
static vt_status manufacture(vt_engine *e)
{
    vt_persistent *p = &e->p;
    vt_nv_state nv = p->nv; /* the pool belongs to the engine */

    memset(p, 0, sizeof(*p));
    p->nv.pool = nv.pool;
    p->nv.pool_size = nv.pool_size;
    if (e->plat.entropy(e->plat.ctx, p->eps, sizeof(p->eps)) ||
        e->plat.entropy(e->plat.ctx, p->sps, sizeof(p->sps)) ||
        e->plat.entropy(e->plat.ctx, p->pps, sizeof(p->pps)) ||
        e->plat.entropy(e->plat.ctx, p->eh_proof, sizeof(p->eh_proof)) ||
        e->plat.entropy(e->plat.ctx, p->sh_proof, sizeof(p->sh_proof)) ||
        e->plat.entropy(e->plat.ctx, p->ph_proof, sizeof(p->ph_proof)))
        return VT_ERR_ENTROPY;
    p->pcr_banks = VT_DEFAULT_BANKS;
    p->pcr_banks_pending = VT_DEFAULT_BANKS;
    p->clock_safe = true;
    p->stopped_cleanly = true;
    p->last_shutdown = VT_SU_NONE;
    return VT_OK;
}

vt_status vt_engine_new(const vt_platform *platform, vt_engine **out)
{
    return vt_engine_new_ex(platform, NULL, out);
}

vt_status vt_engine_new_ex(const vt_platform *platform, const vt_engine_config *cfg, vt_engine **out)
{
    vt_engine *e;
    long n;
    vt_status st;
    unsigned i, b;
    size_t nv_size = cfg && cfg->nv_size ? cfg->nv_size : VT_NV_DEFAULT_SIZE;

    *out = NULL;
    if (nv_size > VT_NV_MAX_SIZE)
        return VT_ERR_CONFIG;
    if (vt_crypto_init() != 0)
        return VT_ERR_CRYPTO;
    {
        /* All the memory the engine will ever use, in one block (so the
         * host can lock it and keep it out of core dumps): the engine, the
         * NV pool, and room to marshal the whole state (each index costs
         * at most 256 octets of framing besides its data). */
        size_t blob_cap = sizeof(vt_persistent) + 1024 + nv_size + 256u * VT_NV_MAX_INDICES;
        size_t total = sizeof(*e) + nv_size + blob_cap;
        e = calloc(1, total);
        if (!e)
            return VT_ERR_CRYPTO;
        e->mem_size = total;
        e->p.nv.pool = (uint8_t *)(e + 1);
        e->p.nv.pool_size = (uint32_t)nv_size;
        e->blob = e->p.nv.pool + nv_size;
        e->blob_cap = blob_cap;
    }
    e->plat = *platform;
    e->nv_available = true;
    for (i = 0; i < VT_MAX_SEQUENCES; i++)
        for (b = 0; b < VT_BANK_COUNT; b++)
            if (!(e->seq_ctx[i][b] = vt_hash_ctx_new()))
                goto fail_crypto;
    for (b = 0; b < VT_BANK_COUNT; b++)
        if (!(e->drtm_ctx[b] = vt_hash_ctx_new()))
            goto fail_crypto;

    n = e->plat.state_load(e->plat.ctx, e->blob, e->blob_cap);
    if (n < 0) {
        st = VT_ERR_STORE;
        goto fail;
    }
    if (n == 0) {
        st = manufacture(e);
    } else {
        st = vt_state_unmarshal(&e->p, e->blob, (size_t)n);
        if (st == VT_OK)
            st = vt_state_replay(e);
    }
    if (st != VT_OK)
        goto fail;

    /* Clock recovery: after a crash, every Clock value ever reported is at
     * most stored + VT_CLOCK_SAVE_INTERVAL_MS, so resume from there. */
    if (!e->p.stopped_cleanly)
        e->p.clock += VT_CLOCK_SAVE_INTERVAL_MS;
    e->p.stopped_cleanly = false;
    e->clock_base = e->p.clock;
    e->clock_mono = e->plat.monotonic_ms(e->plat.ctx);
    /* A new TPM is committed at once: its seeds exist from now on.  An
     * existing one is committed by the TPM2_Startup that must come before
     * any command can report Clock, which writes stopped_cleanly = false. */
    if (n == 0 && vt_state_commit(e) != TPM2_RC_SUCCESS) {
        st = VT_ERR_STORE;
        goto fail;
    }
    vt_drbg_seed(e, NULL, 0);
    *out = e;
    return VT_OK;

fail_crypto:
    st = VT_ERR_CRYPTO;
fail:
    vt_engine_free(e);
    return st;
}

void vt_engine_free(vt_engine *e)
{
    unsigned i, b;

    if (!e)
        return;
    for (i = 0; i < VT_MAX_SEQUENCES; i++)
        for (b = 0; b < VT_BANK_COUNT; b++)
            vt_hash_ctx_free(e->seq_ctx[i][b]);
    for (b = 0; b < VT_BANK_COUNT; b++)
        vt_hash_ctx_free(e->drtm_ctx[b]);
    vt_object_flush_all(e, true, TPM2_RH_NULL);
    for (i = 0; i < VT_MAX_PERSISTENT; i++)
        vt_key_free(e->p.persistent[i].key);
    vt_wipe(e, e->mem_size);
    free(e);
}

void vt_engine_power_on(vt_engine *e)
{
    if (e->powered)
        return;
    /* _TPM_Init: volatile state is gone; the TPM waits for TPM2_Startup. */
    vt_clock_power_on(e);
    vt_object_flush_all(e, true, TPM2_RH_NULL);
    memset(&e->v, 0, sizeof(e->v));
    e->v.time_origin = e->plat.monotonic_ms(e->plat.ctx);
    e->powered = true;
}

void vt_engine_power_off(vt_engine *e)
{
    if (!e->powered)
        return;
    /* Store Clock; the process keeps running, so this is no clean stop. */
    e->p.clock = vt_clock_now(e);
    (void)vt_state_commit(e);
    vt_clock_power_on(e);
    vt_object_flush_all(e, true, TPM2_RH_NULL);
    vt_wipe(&e->v, sizeof(e->v));
    e->powered = false;
}

bool vt_engine_is_powered(const vt_engine *e)
{
    return e->powered;
}

void vt_engine_reset(vt_engine *e)
{
    vt_engine_power_off(e);
    vt_engine_power_on(e);
}

void vt_engine_set_physical_presence(vt_engine *e, bool asserted) { e->physical_presence = asserted; }
void vt_engine_set_cancel(vt_engine *e, bool asserted) { e->cancel = asserted; }
void vt_engine_set_nv_available(vt_engine *e, bool available) { e->nv_available = available; }

void vt_engine_hash_start(vt_engine *e)
{
    if (!e->powered)
        return;
    vt_pcr_drtm_start(e);
    if (!e->p.tpm_established) {
        e->p.tpm_established = true;
        /* a failed commit leaves it set in memory; the next commit keeps it */
        (void)vt_state_commit(e);
    }
}

bool vt_engine_tpm_established(const vt_engine *e) { return e->p.tpm_established; }

vt_status vt_engine_reset_established(vt_engine *e)
{
    if (!e->p.tpm_established)
        return VT_OK;
    e->p.tpm_established = false;
    if (vt_state_commit(e) != TPM2_RC_SUCCESS) {
        e->p.tpm_established = true;
        return VT_ERR_STORE;
    }
    return VT_OK;
}

void vt_engine_hash_data(vt_engine *e, const uint8_t *data, size_t len)
{
    unsigned b;
    if (!e->powered || !e->v.drtm_active)
        return;
    for (b = 0; b < VT_BANK_COUNT; b++)
        vt_hash_update(e->drtm_ctx[b], data, len);
}

void vt_engine_hash_end(vt_engine *e)
{
    if (e->powered && e->v.drtm_active)
        vt_pcr_drtm_end(e);
}

vt_status vt_engine_save(vt_engine *e)
{
    e->p.clock = vt_clock_now(e);
    e->p.stopped_cleanly = true;
    return vt_state_commit(e) == TPM2_RC_SUCCESS ? VT_OK : VT_ERR_STORE;
}

uint64_t vt_engine_commands_served(const vt_engine *e)
{
    return e->commands;
}

void vt_engine_secret_memory(const vt_engine *e, const void **p, size_t *len)
{
    *p = e;
    *len = e->mem_size;
}

size_t vt_engine_snapshot(vt_engine *e, uint8_t *buf, size_t cap)
{
    return vt_state_marshal(&e->p, buf, cap);
}

void vt_engine_get_info(vt_engine *e, vt_engine_info *out)
{
    memset(out, 0, sizeof(*out));
    out->state_version = vt_state_version();
    out->clock = vt_clock_now(e);
    out->reset_count = e->p.reset_count;
    out->restart_count = e->p.restart_count;
    out->clock_safe = e->p.clock_safe;
    out->pcr_banks = e->p.pcr_banks;
    out->pcr_banks_pending = e->p.pcr_banks_pending;
    out->nv_indices = vt_nv_count(&e->p.nv, false);
    out->nv_used = vt_nv_used(&e->p.nv);
    out->nv_size = e->p.nv.pool_size;
    out->started = e->powered && e->v.started;
}
