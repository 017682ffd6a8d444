/* Platform Configuration Registers: banks, attributes and the D-RTM
 * sequence.  The attributes follow the TCG PC Client Platform TPM Profile
 * (PTP) PCR table: which localities may extend and reset each PCR, which
 * PCRs Shutdown(STATE) preserves, and their reset values. */
#include <string.h>

#include "engine/engine_internal.h"

const TPM2_ALG_ID vt_bank_alg[VT_BANK_COUNT] = {
    TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512,
};

int vt_bank_of(TPM2_ALG_ID alg)
{
    unsigned b;
    for (b = 0; b < VT_BANK_COUNT; b++)
        if (vt_bank_alg[b] == alg)
            return (int)b;
    return -1;
}

/* Locality bitmaps (bit n = locality n) per PCR. */
typedef struct {
    uint8_t extend;
    uint8_t reset;
    bool saved; /* preserved by Shutdown(STATE) / Startup(STATE) */
} pcr_attr;

static pcr_attr attr_of(unsigned pcr)
{
    static const pcr_attr drtm[6] = {
        { 0x1C, 0x10, false }, /* 17: extend 2-4, reset 4 */
        { 0x1C, 0x10, false }, /* 18 */
        { 0x0C, 0x10, false }, /* 19: extend 2-3 */
        { 0x0E, 0x14, false }, /* 20: extend 1-3, reset 2 and 4 */
        { 0x04, 0x04, false }, /* 21: locality 2 only */
        { 0x04, 0x04, false }, /* 22 */
    };
    if (pcr < 16)
        return (pcr_attr){ 0x1F, 0x00, true };
    if (pcr == 16 || pcr == 23) /* debug and application PCRs */
        return (pcr_attr){ 0x1F, 0x0F, false };
    return drtm[pcr - 17];
}

bool vt_pcr_can_extend(unsigned pcr, uint8_t locality) { return attr_of(pcr).extend & (1u << locality); }
bool vt_pcr_can_reset(unsigned pcr, uint8_t locality) { return attr_of(pcr).reset & (1u << locality); }
bool vt_pcr_is_saved(unsigned pcr) { return attr_of(pcr).saved; }
/* PCR 16 and 23 change often (debug, applications); by the PTP their
 * changes do not bump pcrUpdateCounter. */
bool vt_pcr_no_increment(unsigned pcr) { return pcr == 16 || pcr == 23; }

/* Reset value at Startup: PCRs 17-22 hold all ones until a D-RTM event;
 * PCR 0 records a locality-3 Startup in its last octet (PTP). */
static void pcr_startup_value(vt_engine *e, unsigned pcr, int bank, uint8_t *out)
{
    size_t n = vt_hash_size(vt_bank_alg[bank]);
    memset(out, (pcr >= 17 && pcr <= 22) ? 0xFF : 0x00, VT_MAX_DIGEST);
    if (pcr == 0 && e->v.startup_locality == 3)
        out[n - 1] = 3;
    if (n < VT_MAX_DIGEST)
        memset(out + n, 0, VT_MAX_DIGEST - n);
}

void vt_pcr_init_all(vt_engine *e, bool restore_saved)
{
    unsigned b, i;
    for (b = 0; b < VT_BANK_COUNT; b++)
        for (i = 0; i < VT_PCR_COUNT; i++) {
            if (restore_saved && vt_pcr_is_saved(i))
                memcpy(e->v.pcr[b][i], e->p.saved.pcr[b][i], VT_MAX_DIGEST);
            else
                pcr_startup_value(e, i, (int)b, e->v.pcr[b][i]);
        }
}

void vt_pcr_extend(vt_engine *e, unsigned pcr, int bank, const uint8_t *digest)
{
    TPM2_ALG_ID alg = vt_bank_alg[bank];
    size_t n = vt_hash_size(alg);
    vt_buf parts[2] = { { e->v.pcr[bank][pcr], n }, { digest, n } };
    vt_hash_parts(alg, parts, 2, e->v.pcr[bank][pcr]);
}

/* TPMS_PCR_SELECTION.sizeofSelect must lie in [PCR_SELECT_MIN,
 * PCR_SELECT_MAX] (Part 2 §10.6.2). */
TPM2_RC vt_pcr_check_selection(const TPML_PCR_SELECTION *sel)
{
    unsigned i;
    for (i = 0; i < sel->count; i++) {
        if (vt_hash_size(sel->pcrSelections[i].hash) == 0)
            return TPM2_RC_HASH;
        if (sel->pcrSelections[i].sizeofSelect < VT_PCR_SELECT_MIN ||
            sel->pcrSelections[i].sizeofSelect > TPM2_PCR_SELECT_MAX)
            return TPM2_RC_VALUE;
    }
    return TPM2_RC_SUCCESS;
}

/* _TPM_Hash_Start (Part 1 §34.?): PCR 17-22 are reset to zero and a hash
 * of the D-RTM code begins. */
void vt_pcr_drtm_start(vt_engine *e)
{
    unsigned b, i;
    for (b = 0; b < VT_BANK_COUNT; b++) {
        for (i = 17; i <= 22; i++)
            memset(e->v.pcr[b][i], 0, VT_MAX_DIGEST);
        vt_hash_start(e->drtm_ctx[b], vt_bank_alg[b]);
    }
    e->v.drtm_active = true;
}

/* _TPM_Hash_End: PCR 17 = H(0…0 || H(data)) in every allocated bank. */
void vt_pcr_drtm_end(vt_engine *e)
{
    unsigned b;
    uint8_t d[VT_MAX_DIGEST];
    for (b = 0; b < VT_BANK_COUNT; b++) {
        vt_hash_finish(e->drtm_ctx[b], d);
        if (e->p.pcr_banks & (1u << b))
            vt_pcr_extend(e, 17, (int)b, d);
    }
    e->v.drtm_active = false;
    e->v.pcr_update_counter++;
}

/* H(the selected PCR values, in selection order) — the pcrDigest of
 * creation data and of quotes (Part 1 §17.? , Part 3 §18.4).  Selections
 * of banks that are not allocated contribute nothing.  Returns the size or 0. */
size_t vt_pcr_digest(vt_engine *e, const TPML_PCR_SELECTION *sel, TPM2_ALG_ID alg, uint8_t *out)
{
    uint8_t buf[VT_BANK_COUNT * VT_PCR_COUNT * VT_MAX_DIGEST];
    size_t off = 0;
    uint32_t s;
    unsigned i;

    for (s = 0; s < sel->count && s < TPM2_NUM_PCR_BANKS; s++) {
        const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[s];
        int bank = vt_bank_of(ps->hash);
        size_t n = vt_hash_size(ps->hash);
        if (bank < 0 || !(e->p.pcr_banks & (1u << bank)))
            continue;
        for (i = 0; i < VT_PCR_COUNT && i / 8 < ps->sizeofSelect; i++)
            if ((ps->pcrSelect[i / 8] >> (i % 8)) & 1) {
                if (off + n > sizeof(buf))
                    return 0;
                memcpy(buf + off, e->v.pcr[bank][i], n);
                off += n;
            }
    }
    return vt_hash(alg, buf, off, out);
}
