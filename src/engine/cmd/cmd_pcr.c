/* PCR commands (TPM 2.0 Part 3 §22). */
#include <string.h>

#include "engine/engine_internal.h"

/* TPML_DIGEST_VALUES as one parameter: a count of at most HASH_COUNT
 * (TPM_RC_SIZE), each an implemented hash (TPM_RC_HASH) and its digest. */
static TPM2_RC read_digest_values(vt_in *in, TPML_DIGEST_VALUES *dv)
{
    unsigned i;
    TPM2_RC rc = VT_IN(in, UINT32, &dv->count);

    if (rc != TPM2_RC_SUCCESS)
        return rc;
    if (dv->count > VT_BANK_COUNT)
        return vt_in_rc(in, TPM2_RC_SIZE);
    for (i = 0; i < dv->count; i++) {
        size_t n;
        uint16_t alg;
        in->index--; /* every field reports as the same parameter */
        RETURN_IF_ERROR(vt_in_u16(in, &alg));
        n = vt_hash_size(alg);
        if (n == 0)
            return vt_in_rc(in, TPM2_RC_HASH);
        if (vt_in_left(in) < n)
            return vt_in_rc(in, TPM2_RC_INSUFFICIENT);
        dv->digests[i].hashAlg = alg;
        memcpy(&dv->digests[i].digest, in->buf + in->off, n);
        in->off += n;
    }
    return TPM2_RC_SUCCESS;
}

static TPM2_RC check_locality_extend(vt_cmd *c, TPM2_HANDLE pcr)
{
    if (pcr != TPM2_RH_NULL && !vt_pcr_can_extend(pcr, c->locality))
        return TPM2_RC_LOCALITY;
    return TPM2_RC_SUCCESS;
}

static void count_update(vt_engine *e, unsigned pcr)
{
    if (!vt_pcr_no_increment(pcr))
        e->v.pcr_update_counter++;
}

TPM2_RC vt_cmd_pcr_extend(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2_HANDLE pcr = c->handles[0];
    TPML_DIGEST_VALUES dv;
    unsigned i;

    RETURN_IF_ERROR(read_digest_values(&c->in, &dv));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(check_locality_extend(c, pcr));
    if (pcr == TPM2_RH_NULL)
        return TPM2_RC_SUCCESS;
    for (i = 0; i < dv.count; i++) {
        int b = vt_bank_of(dv.digests[i].hashAlg);
        /* A digest for a bank that is not allocated is ignored. */
        if (b >= 0 && (e->p.pcr_banks & (1u << b)))
            vt_pcr_extend(e, pcr, b, (const uint8_t *)&dv.digests[i].digest);
    }
    count_update(e, pcr);
    return TPM2_RC_SUCCESS;
}

/* Digest `data` with every implemented hash; extend the allocated banks of
 * `pcr` (unless TPM_RH_NULL); return the digests (Part 3 §22.3). */
static void event_digests(vt_cmd *c, TPM2_HANDLE pcr, const uint8_t digests[VT_BANK_COUNT][VT_MAX_DIGEST])
{
    vt_engine *e = c->e;
    unsigned b;

    vt_out_u32(&c->out, VT_BANK_COUNT);
    for (b = 0; b < VT_BANK_COUNT; b++) {
        vt_out_u16(&c->out, vt_bank_alg[b]);
        vt_out_bytes(&c->out, digests[b], vt_hash_size(vt_bank_alg[b]));
        if (pcr != TPM2_RH_NULL && (e->p.pcr_banks & (1u << b)))
            vt_pcr_extend(e, pcr, (int)b, digests[b]);
    }
    if (pcr != TPM2_RH_NULL)
        count_update(e, pcr);
}

TPM2_RC vt_cmd_pcr_event(vt_cmd *c)
{
    TPM2_HANDLE pcr = c->handles[0];
    const uint8_t *data;
    uint16_t n;
    uint8_t d[VT_BANK_COUNT][VT_MAX_DIGEST];
    unsigned b;

    /* TPM2B_EVENT: at most 1024 octets. */
    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, 1024));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(check_locality_extend(c, pcr));
    for (b = 0; b < VT_BANK_COUNT; b++)
        if (vt_hash(vt_bank_alg[b], data, n, d[b]) == 0)
            return TPM2_RC_FAILURE;
    event_digests(c, pcr, (const uint8_t(*)[VT_MAX_DIGEST])d);
    return TPM2_RC_SUCCESS;
}

/* Used by EventSequenceComplete, which ends the same way. */
void vt_pcr_event_finish(vt_cmd *c, TPM2_HANDLE pcr, const uint8_t digests[VT_BANK_COUNT][VT_MAX_DIGEST]);
void vt_pcr_event_finish(vt_cmd *c, TPM2_HANDLE pcr, const uint8_t digests[VT_BANK_COUNT][VT_MAX_DIGEST])
{
    event_digests(c, pcr, digests);
}

TPM2_RC vt_cmd_pcr_read(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPML_PCR_SELECTION in, out;
    TPML_DIGEST values = { .count = 0 };
    unsigned i, pcr;

    RETURN_IF_ERROR(VT_IN(&c->in, TPML_PCR_SELECTION, &in));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    {
        TPM2_RC rc = vt_pcr_check_selection(&in);
        if (rc != TPM2_RC_SUCCESS)
            return VT_RC_P(rc, 1);
    }
    /* Part 3 §22.4: walk the selections in order, PCRs in ascending order,
     * until TPML_DIGEST is full (8); the output selection says exactly
     * which values were returned. */
    out = in;
    for (i = 0; i < in.count; i++) {
        TPMS_PCR_SELECTION *s = &out.pcrSelections[i];
        int b = vt_bank_of(s->hash);
        memset(s->pcrSelect, 0, sizeof(s->pcrSelect));
        if (b < 0 || !(e->p.pcr_banks & (1u << b)))
            continue;
        for (pcr = 0; pcr < VT_PCR_COUNT && pcr < 8u * s->sizeofSelect; pcr++) {
            if (!(in.pcrSelections[i].pcrSelect[pcr / 8] & (1u << (pcr % 8))))
                continue;
            if (values.count == 8)
                break;
            values.digests[values.count].size = (uint16_t)vt_hash_size(s->hash);
            memcpy(values.digests[values.count].buffer, e->v.pcr[b][pcr], values.digests[values.count].size);
            values.count++;
            s->pcrSelect[pcr / 8] |= (uint8_t)(1u << (pcr % 8));
        }
    }
    vt_out_u32(&c->out, e->v.pcr_update_counter);
    VT_OUT(&c->out, TPML_PCR_SELECTION, &out);
    VT_OUT(&c->out, TPML_DIGEST, &values);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_pcr_reset(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2_HANDLE pcr = c->handles[0];
    unsigned b;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!vt_pcr_can_reset(pcr, c->locality))
        return TPM2_RC_LOCALITY;
    for (b = 0; b < VT_BANK_COUNT; b++)
        memset(e->v.pcr[b][pcr], 0, VT_MAX_DIGEST);
    count_update(e, pcr);
    return TPM2_RC_SUCCESS;
}

/* Part 3 §22.5.  This TPM allocates whole banks: a bank is either all 24
 * PCRs or none.  The new allocation takes effect at the next TPM Reset. */
TPM2_RC vt_cmd_pcr_allocate(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPML_PCR_SELECTION sel;
    uint8_t banks = e->p.pcr_banks_pending;
    uint32_t needed = 0, available = 0;
    unsigned i, b;

    RETURN_IF_ERROR(VT_IN(&c->in, TPML_PCR_SELECTION, &sel));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    {
        TPM2_RC rc = vt_pcr_check_selection(&sel);
        if (rc != TPM2_RC_SUCCESS)
            return VT_RC_P(rc, 1);
    }
    for (i = 0; i < sel.count; i++) {
        const TPMS_PCR_SELECTION *s = &sel.pcrSelections[i];
        unsigned set = 0, pcr;
        int bank = vt_bank_of(s->hash);
        if (bank < 0)
            return VT_RC_P(TPM2_RC_HASH, 1);
        for (pcr = 0; pcr < 8u * s->sizeofSelect; pcr++)
            if (s->pcrSelect[pcr / 8] & (1u << (pcr % 8))) {
                if (pcr >= VT_PCR_COUNT)
                    return VT_RC_P(TPM2_RC_VALUE, 1);
                set++;
            }
        if (set != 0 && set != VT_PCR_COUNT)
            return VT_RC_P(TPM2_RC_VALUE, 1);
        if (set)
            banks |= (uint8_t)(1u << bank);
        else
            banks &= (uint8_t)~(1u << bank);
    }
    for (b = 0; b < VT_BANK_COUNT; b++) {
        uint32_t sz = (uint32_t)(VT_PCR_COUNT * vt_hash_size(vt_bank_alg[b]));
        available += sz;
        if (banks & (1u << b))
            needed += sz;
    }
    /* At least one bank must remain, or nothing could be measured. */
    vt_out_u8(&c->out, banks ? TPM2_YES : TPM2_NO);
    vt_out_u32(&c->out, VT_PCR_COUNT);
    vt_out_u32(&c->out, needed);
    vt_out_u32(&c->out, available);
    if (banks) {
        e->p.pcr_banks_pending = banks;
        c->state_changed = true;
    }
    return TPM2_RC_SUCCESS;
}
