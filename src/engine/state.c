/* The persistent state as one versioned blob.
 *
 * Layout (docs/FORMAT.md): "VTST" | u16 version | fields in a fixed order,
 * big-endian | SHA-256 of everything before it.  One function lists the
 * fields and is run by both the writer and the reader, so the two cannot
 * drift apart.  The platform store makes the blob durable and atomic. */
#include <string.h>

#include "engine/engine_internal.h"

#define STATE_MAGIC "VTST"
/* 2: NV indices (the table, the counter high-water mark, each index's data).
 * 3: persistent objects (EvictControl).
 * 4: clearCount (stClear object contexts live until the next Startup(CLEAR)).
 * 5: hierarchy policies, disableClear, dictionary-attack state, command
 *    audit.  A version
 *    4 state is read with their defaults (they are appended at the end).
 * 6: the release trust store, SVN floors and the FloorLower record
 *    (trust.c), appended; a version 4 or 5 state is read with an empty
 *    store and no floors.
 * An older state is refused with VT_ERR_STATE_VERSION, never mis-read. */
#define STATE_VERSION 7u
#define STATE_VERSION_MIN 4u

#include "engine/state.h"
#include "engine/nv.h"
#include "engine/object.h"


void vt_w_bytes(vt_walker *w, void *p, size_t n)
{
    if (n == 0)
        return; /* p may be NULL for an empty field; memcpy(NULL, ., 0) is UB */
    if (w->bad || w->cap - w->off < n) {
        w->bad = true;
        return;
    }
    if (w->writing)
        memcpy(w->buf + w->off, p, n);
    else
        memcpy(p, w->buf + w->off, n);
    w->off += n;
}

void vt_w_u64(vt_walker *w, uint64_t *v)
{
    uint8_t b[8];
    unsigned i;
    if (w->writing)
        for (i = 0; i < 8; i++)
            b[i] = (uint8_t)(*v >> (56 - 8 * i));
    vt_w_bytes(w, b, 8);
    if (!w->writing && !w->bad)
        for (*v = 0, i = 0; i < 8; i++)
            *v = (*v << 8) | b[i];
}

void vt_w_u32(vt_walker *w, uint32_t *v)
{
    uint64_t x = *v;
    vt_w_u64(w, &x);
    if (!w->writing && x > UINT32_MAX)
        w->bad = true;
    *v = (uint32_t)x;
}

void vt_w_u16(vt_walker *w, uint16_t *v)
{
    uint64_t x = *v;
    vt_w_u64(w, &x);
    if (!w->writing && x > UINT16_MAX)
        w->bad = true;
    *v = (uint16_t)x;
}

void vt_w_u8(vt_walker *w, uint8_t *v)
{
    vt_w_bytes(w, v, 1);
}

void vt_w_bool(vt_walker *w, bool *v)
{
    uint8_t x = *v ? 1 : 0;
    vt_w_u8(w, &x);
    if (!w->writing && x > 1)
        w->bad = true;
    *v = x == 1;
}

/* A length-prefixed auth value; the length must fit the buffer. */
void vt_w_auth(vt_walker *w, uint8_t *buf, uint16_t *len)
{
    vt_w_u16(w, len);
    if (*len > VT_MAX_DIGEST) {
        w->bad = true;
        return;
    }
    vt_w_bytes(w, buf, VT_MAX_DIGEST);
}

/* A persistent object: used, handle, hierarchy, flags, then TPM2B_PUBLIC
 * and TPM2B_SENSITIVE as the TPM marshals them (length-prefixed as one
 * run), then the Qualified Name.  The Name is computed again on reading. */
static void walk_object(vt_walker *w, vt_object *o)
{
    uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_SENSITIVE)];
    uint16_t len = 0;
    size_t off = 0;

    vt_w_bool(w, &o->used);
    if (!o->used)
        return;
    vt_w_u32(w, &o->handle);
    vt_w_u32(w, &o->hierarchy);
    vt_w_bool(w, &o->is_primary);
    if (w->writing) {
        TPM2B_PUBLIC p2 = { .size = 0, .publicArea = o->pub };
        TPM2B_SENSITIVE s2 = { .size = 0, .sensitiveArea = o->sens };
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p2, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_SENSITIVE_Marshal(&s2, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
            w->bad = true;
        vt_wipe(&s2, sizeof(s2));
        len = (uint16_t)off;
    }
    vt_w_u16(w, &len);
    if (len > sizeof(buf)) {
        w->bad = true;
        return;
    }
    vt_w_bytes(w, buf, len);
    vt_w_u16(w, &o->qname_len);
    if (o->qname_len > VT_MAX_NAME) {
        w->bad = true;
        return;
    }
    vt_w_bytes(w, o->qname, VT_MAX_NAME);
    if (!w->writing && !w->bad) {
        TPM2B_PUBLIC p2;
        TPM2B_SENSITIVE s2;
        memset(&p2, 0, sizeof(p2));
        memset(&s2, 0, sizeof(s2));
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &p2) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_SENSITIVE_Unmarshal(buf, len, &off, &s2) != TSS2_RC_SUCCESS || off != len ||
            (o->handle >> 24) != TPM2_HT_PERSISTENT ||
            (o->hierarchy != TPM2_RH_OWNER && o->hierarchy != TPM2_RH_ENDORSEMENT &&
             o->hierarchy != TPM2_RH_PLATFORM)) {
            w->bad = true;
        } else {
            o->pub = p2.publicArea;
            o->sens = s2.sensitiveArea;
            o->has_sensitive = true;
            o->key = NULL;
            o->name_len = (uint16_t)vt_public_name(&o->pub, o->name);
            if (o->name_len == 0)
                w->bad = true;
        }
        vt_wipe(&s2, sizeof(s2));
    }
    vt_wipe(buf, sizeof(buf));
}

/* A hierarchy authPolicy: alg, length, VT_MAX_DIGEST octets.  On reading
 * a length of 0 is no policy (alg TPM_ALG_NULL); any other length must be
 * the digest size of alg. */
static void walk_policy(vt_walker *w, vt_hier_policy *pol)
{
    vt_w_u16(w, &pol->alg);
    vt_w_u16(w, &pol->len);
    vt_w_bytes(w, pol->digest, VT_MAX_DIGEST);
    if (w->writing || w->bad)
        return;
    if (pol->len == 0)
        pol->alg = TPM2_ALG_NULL;
    else if (vt_hash_size(pol->alg) != pol->len)
        w->bad = true;
}

/* Version 5: hierarchy policies, disableClear, the DA state, command
 * audit (auditAlg, the audited commands, the audit counter). */
static void walk_v5(vt_walker *w, vt_persistent *p)
{
    walk_policy(w, &p->owner_policy);
    walk_policy(w, &p->endorsement_policy);
    walk_policy(w, &p->lockout_policy);
    vt_w_bool(w, &p->disable_clear);
    vt_w_u32(w, &p->da.failed_tries);
    vt_w_u32(w, &p->da.max_tries);
    vt_w_u32(w, &p->da.recovery_time);
    vt_w_u32(w, &p->da.lockout_recovery);
    vt_w_bool(w, &p->da.lockout_locked);
    vt_w_bool(w, &p->da.used);
    vt_w_bool(w, &p->da.initialized);
    vt_w_u16(w, &p->audit_alg);
    vt_w_bytes(w, p->audit_cc, sizeof(p->audit_cc));
    vt_w_u64(w, &p->audit_counter);
    if (!w->writing && p->audit_alg != 0 && vt_hash_size(p->audit_alg) == 0)
        w->bad = true;
}

static void walk(vt_walker *w, vt_persistent *p)
{
    vt_w_bytes(w, p->eps, VT_SEED_SIZE);
    vt_w_bytes(w, p->sps, VT_SEED_SIZE);
    vt_w_bytes(w, p->pps, VT_SEED_SIZE);
    vt_w_bytes(w, p->eh_proof, VT_SEED_SIZE);
    vt_w_bytes(w, p->sh_proof, VT_SEED_SIZE);
    vt_w_bytes(w, p->ph_proof, VT_SEED_SIZE);
    vt_w_u8(w, &p->pcr_banks);
    vt_w_u8(w, &p->pcr_banks_pending);
    vt_w_u64(w, &p->clock);
    vt_w_u32(w, &p->reset_count);
    vt_w_u32(w, &p->restart_count);
    vt_w_u32(w, &p->clear_count);
    vt_w_bool(w, &p->clock_safe);
    vt_w_bool(w, &p->stopped_cleanly);
    vt_w_u16(w, &p->last_shutdown);
    vt_w_auth(w, p->owner_auth, &p->owner_auth_len);
    vt_w_auth(w, p->endorsement_auth, &p->endorsement_auth_len);
    vt_w_auth(w, p->lockout_auth, &p->lockout_auth_len);
    vt_w_bool(w, &p->saved.valid);
    vt_w_bytes(w, p->saved.pcr, sizeof(p->saved.pcr));
    vt_w_u32(w, &p->saved.pcr_update_counter);
    vt_w_bytes(w, p->saved.null_seed, VT_SEED_SIZE);
    vt_w_bytes(w, p->saved.null_proof, VT_SEED_SIZE);
    vt_w_u64(w, &p->nv.max_counter);
    {
        unsigned i;
        for (i = 0; i < VT_NV_MAX_INDICES; i++)
            vt_nv_index_walk(w, &p->nv.index[i], p->nv.pool, p->nv.pool_size);
        for (i = 0; i < VT_MAX_PERSISTENT; i++)
            walk_object(w, &p->persistent[i]);
    }
    if (w->writing || w->version >= 5) {
        walk_v5(w, p);
    } else {
        p->owner_policy.alg = p->endorsement_policy.alg = p->lockout_policy.alg = TPM2_ALG_NULL;
        vt_da_defaults(&p->da);
        p->audit_alg = 0;
        memset(p->audit_cc, 0, sizeof(p->audit_cc));
        p->audit_counter = 0;
    }
    if (w->writing || w->version >= 6) {
        vt_trust_walk(w, &p->trust);
        /* the hierarchy enables Shutdown(STATE) saved for TPM Resume */
        vt_w_bool(w, &p->saved.sh_disabled);
        vt_w_bool(w, &p->saved.eh_disabled);
        vt_w_bool(w, &p->saved.ph_nv_disabled);
        vt_w_bool(w, &p->tpm_established);
    } else {
        memset(&p->trust, 0, sizeof(p->trust));
        p->saved.sh_disabled = p->saved.eh_disabled = p->saved.ph_nv_disabled = false;
        p->tpm_established = false;
    }
    if (w->writing || w->version >= 7) {
        /* platformAuth and platformPolicy saved for TPM Resume */
        vt_w_auth(w, p->saved.platform_auth, &p->saved.platform_auth_len);
        walk_policy(w, &p->saved.platform_policy);
    } else {
        p->saved.platform_auth_len = 0;
        vt_hier_policy_clear(&p->saved.platform_policy);
    }

    if (!w->writing) {
        if (!w->bad && !vt_nv_check_loaded(&p->nv))
            w->bad = true;
        const uint8_t all = (1u << VT_BANK_COUNT) - 1;
        if ((p->pcr_banks & ~all) || (p->pcr_banks_pending & ~all))
            w->bad = true;
        if (p->last_shutdown != TPM2_SU_CLEAR && p->last_shutdown != TPM2_SU_STATE &&
            p->last_shutdown != VT_SU_NONE)
            w->bad = true;
    }
}

size_t vt_state_marshal(const vt_persistent *p, uint8_t *buf, size_t cap)
{
    vt_walker w = { .writing = true, .buf = buf, .cap = cap };
    uint16_t version = STATE_VERSION;
    size_t n;

    vt_w_bytes(&w, (void *)STATE_MAGIC, 4);
    vt_w_u16(&w, &version);
    walk(&w, (vt_persistent *)p);
    if (w.bad || w.cap - w.off < 32)
        return 0;
    n = vt_hash(TPM2_ALG_SHA256, buf, w.off, buf + w.off);
    if (n != 32)
        return 0;
    return w.off + 32;
}

vt_status vt_state_unmarshal(vt_persistent *p, const uint8_t *buf, size_t len)
{
    vt_walker w = { .writing = false, .buf = (uint8_t *)buf, .cap = len };
    uint8_t magic[4], digest[VT_MAX_DIGEST];
    uint16_t version = 0;
    vt_persistent tmp;

    if (len < 4 + 8 + 32)
        return VT_ERR_STATE_CORRUPT;
    if (vt_hash(TPM2_ALG_SHA256, buf, len - 32, digest) != 32 ||
        !vt_ct_equal(digest, buf + len - 32, 32))
        return VT_ERR_STATE_CORRUPT;
    w.cap = len - 32;
    vt_w_bytes(&w, magic, 4);
    if (memcmp(magic, STATE_MAGIC, 4) != 0)
        return VT_ERR_STATE_CORRUPT;
    vt_w_u16(&w, &version);
    if (version < STATE_VERSION_MIN || version > STATE_VERSION)
        return VT_ERR_STATE_VERSION;
    w.version = version;
    memset(&tmp, 0, sizeof(tmp));
    /* NV data is read straight into the engine's pool (a failed load
     * leaves it undefined: the caller discards the engine). */
    tmp.nv.pool = p->nv.pool;
    tmp.nv.pool_size = p->nv.pool_size;
    walk(&w, &tmp);
    if (w.bad || w.off != w.cap) {
        vt_wipe(&tmp, sizeof(tmp));
        return VT_ERR_STATE_CORRUPT;
    }
    *p = tmp;
    vt_wipe(&tmp, sizeof(tmp));
    return VT_OK;
}

TPM2_RC vt_state_commit(vt_engine *e)
{
    size_t n = vt_state_marshal(&e->p, e->blob, e->blob_cap);

    if (n == 0)
        return TPM2_RC_FAILURE;
    if (!e->nv_available)
        return TPM2_RC_NV_UNAVAILABLE;
    if (e->plat.state_commit(e->plat.ctx, e->blob, n) != 0)
        return TPM2_RC_NV_UNAVAILABLE;
    e->journal_bytes = 0;
    return TPM2_RC_SUCCESS;
}

/* ---- journal records (docs/FORMAT.md) ----
 * type 1, NV index: u8 1 | u64 slot | u64 counter high-water mark | the
 * index as vt_nv_index_walk stores it.  Only changes that leave the NV
 * layout alone are journalled (define and undefine move other indices'
 * data and take a full commit). */
#define REC_NV_INDEX 1u
/* Past this many journal bytes the next change is a full commit, which
 * empties the journal: loading replays at most this much. */
#define JOURNAL_LIMIT (32u * 1024u)

static void walk_nv_record(vt_walker *w, vt_persistent *p, uint64_t *slot)
{
    uint8_t type = REC_NV_INDEX;
    vt_w_u8(w, &type);
    if (type != REC_NV_INDEX)
        w->bad = true;
    vt_w_u64(w, slot);
    if (*slot >= VT_NV_MAX_INDICES) {
        w->bad = true;
        return;
    }
    vt_w_u64(w, &p->nv.max_counter);
    vt_nv_index_walk(w, &p->nv.index[*slot], p->nv.pool, p->nv.pool_size);
}

TPM2_RC vt_state_commit_nv(vt_engine *e, unsigned slot)
{
    vt_walker w = { .writing = true, .buf = e->blob, .cap = e->blob_cap };
    uint64_t s = slot;

    if (!e->plat.state_append || e->journal_bytes >= JOURNAL_LIMIT)
        return vt_state_commit(e);
    if (!e->nv_available)
        return TPM2_RC_NV_UNAVAILABLE;
    walk_nv_record(&w, &e->p, &s);
    if (w.bad)
        return TPM2_RC_FAILURE;
    switch (e->plat.state_append(e->plat.ctx, e->blob, w.off)) {
    case 0:
        e->journal_bytes += w.off;
        return TPM2_RC_SUCCESS;
    case 1:
        return vt_state_commit(e); /* the journal is full: snapshot */
    default:
        return TPM2_RC_NV_UNAVAILABLE;
    }
}

static int apply_record(void *ctx, const uint8_t *rec, size_t len)
{
    vt_engine *e = ctx;
    vt_walker w = { .writing = false, .buf = (uint8_t *)rec, .cap = len };
    uint64_t slot = 0;

    walk_nv_record(&w, &e->p, &slot);
    if (w.bad || w.off != len)
        return -1;
    e->journal_bytes += len;
    return 0;
}

vt_status vt_state_replay(vt_engine *e)
{
    if (e->plat.state_replay) {
        if (e->plat.state_replay(e->plat.ctx, apply_record, e) < 0)
            return VT_ERR_STATE_CORRUPT;
        /* The indices replayed must still fit together in the pool. */
        if (!vt_nv_check_loaded(&e->p.nv))
            return VT_ERR_STATE_CORRUPT;
    }
    /* The firmware identity index a previous run wrote is not this run's
     * (trust.c: each run sets it again); it goes, with a full commit so
     * that no later journal record is laid over a pool that still has it. */
    if (vt_trust_drop_fw_index(e) && vt_state_commit(e) != TPM2_RC_SUCCESS)
        return VT_ERR_STORE;
    return VT_OK;
}

unsigned vt_state_version(void)
{
    return STATE_VERSION;
}
