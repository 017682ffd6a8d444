/* NV indices: table, pool, stored form and the authorization rules that
 * belong to the index rather than to one command (see nv.h). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/auth.h"
#include "common/be.h"

vt_nv_index *vt_nv_find(vt_nv_state *nv, TPM2_HANDLE h)
{
    unsigned i;
    for (i = 0; i < VT_NV_MAX_INDICES; i++)
        if (nv->index[i].used && nv->index[i].pub.nvIndex == h)
            return &nv->index[i];
    return NULL;
}

uint32_t vt_nv_used(const vt_nv_state *nv)
{
    uint32_t end = 0;
    unsigned i;
    for (i = 0; i < VT_NV_MAX_INDICES; i++) {
        const vt_nv_index *ix = &nv->index[i];
        if (ix->used && ix->offset + ix->pub.dataSize > end)
            end = ix->offset + ix->pub.dataSize;
    }
    return end;
}

unsigned vt_nv_count(const vt_nv_state *nv, bool counters_only)
{
    unsigned i, n = 0;
    for (i = 0; i < VT_NV_MAX_INDICES; i++)
        if (nv->index[i].used &&
            (!counters_only || vt_nv_type(nv->index[i].pub.attributes) == TPM2_NT_COUNTER))
            n++;
    return n;
}

bool vt_nv_next_handle(const vt_nv_state *nv, TPM2_HANDLE h, TPM2_HANDLE *out)
{
    bool found = false;
    unsigned i;
    for (i = 0; i < VT_NV_MAX_INDICES; i++) {
        TPM2_HANDLE x = nv->index[i].pub.nvIndex;
        if (nv->index[i].used && x >= h && (!found || x < *out)) {
            *out = x;
            found = true;
        }
    }
    return found;
}

size_t vt_nv_name(const vt_nv_index *ix, uint8_t *out)
{
    uint8_t pub[sizeof(TPMS_NV_PUBLIC)];
    size_t off = 0, n;

    if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(&ix->pub, pub, sizeof(pub), &off) != TSS2_RC_SUCCESS)
        return 0;
    n = vt_hash(ix->pub.nameAlg, pub, off, out + 2);
    if (n == 0)
        return 0;
    out[0] = (uint8_t)(ix->pub.nameAlg >> 8);
    out[1] = (uint8_t)ix->pub.nameAlg;
    return 2 + n;
}

void vt_nv_startup(vt_nv_state *nv, bool clear)
{
    unsigned i;

    if (!clear)
        return; /* TPM Resume: locks and WRITTEN stay as they were */
    for (i = 0; i < VT_NV_MAX_INDICES; i++) {
        TPMA_NV *a = &nv->index[i].pub.attributes;
        if (!nv->index[i].used)
            continue;
        *a &= ~TPMA_NV_READLOCKED;
        /* A WriteLock of a WRITEDEFINE index is permanent once the index
         * is written; every other write lock (WRITE_STCLEAR, the global
         * lock) lasts until the next TPM Reset or Restart (Part 2 §13.4). */
        if (!((*a & TPMA_NV_WRITEDEFINE) && (*a & TPMA_NV_WRITTEN)))
            *a &= ~TPMA_NV_WRITELOCKED;
        if (*a & TPMA_NV_CLEAR_STCLEAR)
            *a &= ~TPMA_NV_WRITTEN;
    }
}

/* ---- stored form ---- */

void vt_nv_index_walk(vt_walker *w, vt_nv_index *ix, uint8_t *pool, uint32_t pool_size)
{
    uint16_t policy_len;

    vt_w_bool(w, &ix->used);
    if (!ix->used) {
        if (!w->writing)
            memset(ix, 0, sizeof(*ix));
        return;
    }
    vt_w_u32(w, &ix->pub.nvIndex);
    vt_w_u16(w, &ix->pub.nameAlg);
    vt_w_u32(w, &ix->pub.attributes);
    policy_len = ix->pub.authPolicy.size;
    vt_w_auth(w, ix->pub.authPolicy.buffer, &policy_len);
    ix->pub.authPolicy.size = policy_len;
    vt_w_u16(w, &ix->pub.dataSize);
    vt_w_auth(w, ix->auth, &ix->auth_len);
    vt_w_u32(w, &ix->offset);
    if (w->bad)
        return;
    if (!w->writing) {
        size_t hlen = vt_hash_size(ix->pub.nameAlg);
        if ((ix->pub.nvIndex >> 24) != TPM2_HT_NV_INDEX || hlen == 0 ||
            ix->pub.dataSize > VT_NV_INDEX_MAX || ix->auth_len > hlen ||
            (policy_len != 0 && policy_len != hlen) ||
            (ix->pub.attributes & (TPMA_NV_RESERVED1_MASK | TPMA_NV_RESERVED2_MASK)) ||
            ix->offset > pool_size || pool_size - ix->offset < ix->pub.dataSize) {
            w->bad = true;
            return;
        }
    }
    if (ix->pub.dataSize)
        vt_w_bytes(w, pool + ix->offset, ix->pub.dataSize);
}

bool vt_nv_check_loaded(const vt_nv_state *nv)
{
    unsigned i, j;
    for (i = 0; i < VT_NV_MAX_INDICES; i++) {
        const vt_nv_index *a = &nv->index[i];
        if (!a->used)
            continue;
        for (j = i + 1; j < VT_NV_MAX_INDICES; j++) {
            const vt_nv_index *b = &nv->index[j];
            if (!b->used)
                continue;
            if (a->pub.nvIndex == b->pub.nvIndex)
                return false;
            if (a->pub.dataSize && b->pub.dataSize &&
                a->offset < b->offset + b->pub.dataSize && b->offset < a->offset + a->pub.dataSize)
                return false;
        }
    }
    return true;
}

/* ---- authorization with the index's own authValue / authPolicy ---- */

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_pin(TPMA_NV a)
{
    TPM2_NT t = vt_nv_type(a);
    return t == TPM2_NT_PIN_FAIL || t == TPM2_NT_PIN_PASS;
}

TPM2_RC vt_nv_auth_allowed(vt_cmd *c, vt_nv_index *ix, unsigned n, bool policy)
{
    const vt_cmd_def *d = c->def;
    TPMA_NV a = ix->pub.attributes;
    TPMA_NV need;

    if (!d || n == 0 || n > VT_MAX_HANDLES)
        return TPM2_RC_SUCCESS;
    /* ADMIN role (NV_ChangeAuth, NV_UndefineSpaceSpecial): only a policy
     * session may authorize it for an NV index (Part 1 §19.2.?). */
    if ((d->flags & VT_CMD_ADMIN1) && n == 1)
        return policy ? TPM2_RC_SUCCESS : TPM2_RC_AUTH_TYPE;
    if (d->kind[n - 1] != VT_H_NV_AUTH)
        return TPM2_RC_SUCCESS;
    /* USER role of an NV read or write command: the index says which
     * kinds of authorization it accepts. */
    if (d->flags & VT_CMD_NV_READ)
        need = policy ? TPMA_NV_POLICYREAD : TPMA_NV_AUTHREAD;
    else
        need = policy ? TPMA_NV_POLICYWRITE : TPMA_NV_AUTHWRITE;
    if (!(a & need))
        return TPM2_RC_AUTH_UNAVAILABLE;
    /* A PIN index's authValue is usable only once written and while
     * pinCount < pinLimit (Part 1 §37.?, "PIN Pass" and "PIN Fail"). */
    if (!policy && is_pin(a)) {
        const uint8_t *p = c->e->p.nv.pool + ix->offset;
        if (!(a & TPMA_NV_WRITTEN) || get_be32(p) >= get_be32(p + 4))
            return TPM2_RC_AUTH_UNAVAILABLE;
        /* Every try of a PIN changes NV: without NV there is no try. */
        if (!c->e->nv_available)
            return TPM2_RC_NV_UNAVAILABLE;
    }
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_nv_auth_result(vt_engine *e, vt_nv_index *ix, bool ok, TPM2_RC fail_rc)
{
    TPM2_NT t = vt_nv_type(ix->pub.attributes);
    uint8_t *p = e->p.nv.pool + ix->offset;
    uint32_t count = get_be32(p);
    TPM2_RC rc;

    if (t != TPM2_NT_PIN_FAIL && t != TPM2_NT_PIN_PASS)
        return ok ? TPM2_RC_SUCCESS : fail_rc;
    if (t == TPM2_NT_PIN_FAIL) {
        /* Failures count, a success starts again from zero. */
        if (ok && count == 0)
            return TPM2_RC_SUCCESS;
        vt_put_be32(p, ok ? 0 : count + 1);
    } else {
        if (!ok)
            return fail_rc; /* PIN Pass: a failure is not counted */
        vt_put_be32(p, count + 1);
    }
    rc = vt_state_commit(e);
    if (rc != TPM2_RC_SUCCESS) {
        /* A success that could not be counted is no success. */
        if (ok)
            vt_put_be32(p, count);
        return rc;
    }
    return ok ? TPM2_RC_SUCCESS : fail_rc;
}
