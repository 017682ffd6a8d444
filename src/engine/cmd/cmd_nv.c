/* NV commands (TPM 2.0 Part 3 §31).
 *
 * The dispatcher has already checked the handles (the index exists, owner
 * or platform is enabled) and the authorization of handle 1 — including
 * whether the index accepts its own authValue for this command (nv.c).
 * Each action checks that the authority chosen for handle 1 may read or
 * write the index (OWNERREAD, PPWRITE …), then the index type, then ranges.
 *
 * NV_Certify is not here: it needs a signing key and none can be loaded
 * yet, so it stays TPM_RC_COMMAND_CODE. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/auth.h"
#include "common/be.h"

static vt_nv_index *index_at(vt_cmd *c, unsigned i)
{
    return vt_nv_find(&c->e->p.nv, c->handles[i]);
}

static uint8_t *data_of(vt_cmd *c, const vt_nv_index *ix)
{
    return c->e->p.nv.pool + ix->offset;
}

/* Did handle 1 come from an authority the index accepts for this access?
 * `own`, `pp`, `idx`: the owner, platform and index attributes that allow
 * it (Part 3 §31.?: TPM_RC_NV_AUTHORIZATION otherwise). */
static TPM2_RC check_authority(vt_cmd *c, const vt_nv_index *ix, TPMA_NV own, TPMA_NV pp, TPMA_NV idx)
{
    TPM2_HANDLE h = c->handles[0];
    TPMA_NV a = ix->pub.attributes;

    if (h == TPM2_RH_OWNER)
        return (a & own) ? TPM2_RC_SUCCESS : TPM2_RC_NV_AUTHORIZATION;
    if (h == TPM2_RH_PLATFORM)
        return (a & pp) ? TPM2_RC_SUCCESS : TPM2_RC_NV_AUTHORIZATION;
    /* The index itself (another index cannot authorize this one). */
    if (h == ix->pub.nvIndex && (a & idx))
        return TPM2_RC_SUCCESS;
    return TPM2_RC_NV_AUTHORIZATION;
}

TPM2_RC read_authority(vt_cmd *c, const vt_nv_index *ix)
{
    return check_authority(c, ix, TPMA_NV_OWNERREAD, TPMA_NV_PPREAD,
                           TPMA_NV_AUTHREAD | TPMA_NV_POLICYREAD);
}

static TPM2_RC write_authority(vt_cmd *c, const vt_nv_index *ix)
{
    return check_authority(c, ix, TPMA_NV_OWNERWRITE, TPMA_NV_PPWRITE,
                           TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE);
}

static TPM2_RC write_access(vt_cmd *c, const vt_nv_index *ix)
{
    if (ix->pub.attributes & TPMA_NV_WRITELOCKED)
        return TPM2_RC_NV_LOCKED;
    return write_authority(c, ix);
}

/* Would the authorization this write used also let it read the index now?
 * Through the index itself only an authValue (AUTHWRITE without
 * POLICYWRITE) is known to open AUTHREAD too. */
static bool writer_may_read(vt_cmd *c, const vt_nv_index *ix)
{
    TPMA_NV a = ix->pub.attributes;

    if ((a & TPMA_NV_READLOCKED) || read_authority(c, ix) != TPM2_RC_SUCCESS)
        return false;
    if (c->handles[0] == ix->pub.nvIndex)
        return (a & TPMA_NV_AUTHREAD) && !(a & TPMA_NV_POLICYWRITE);
    return true;
}

/* The index must be of type `t` (each type has its own write command). */
static TPM2_RC check_type(const vt_nv_index *ix, TPM2_NT t)
{
    return vt_nv_type(ix->pub.attributes) == t ? TPM2_RC_SUCCESS : VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
}

static void set_auth(vt_nv_index *ix, const uint8_t *auth, uint16_t len)
{
    len = (uint16_t)vt_auth_trim(auth, len);
    vt_wipe(ix->auth, sizeof(ix->auth));
    memcpy(ix->auth, auth, len);
    ix->auth_len = len;
}

/* ---- TPM2_NV_DefineSpace (Part 3 §31.3) ---- */

static TPM2_RC check_public(vt_cmd *c, const TPMS_NV_PUBLIC *pub, uint16_t auth_len)
{
    TPM2_HANDLE by = c->handles[0];
    TPMA_NV a = pub->attributes;
    TPM2_NT t = vt_nv_type(a);
    size_t hlen;

    if ((pub->nvIndex >> 24) != TPM2_HT_NV_INDEX)
        return VT_RC_P(TPM2_RC_VALUE, 2);
    hlen = vt_hash_size(pub->nameAlg);
    if (hlen == 0)
        return VT_RC_P(TPM2_RC_HASH, 2);
    /* authValue and authPolicy are at most / exactly a nameAlg digest. */
    if (auth_len > hlen)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    if (pub->authPolicy.size != 0 && pub->authPolicy.size != hlen)
        return VT_RC_P(TPM2_RC_SIZE, 2);
    if (a & (TPMA_NV_RESERVED1_MASK | TPMA_NV_RESERVED2_MASK))
        return VT_RC_P(TPM2_RC_RESERVED_BITS, 2);
    /* Each type fixes its size: counters, bit fields and PIN indices hold
     * 8 octets, an extend index one nameAlg digest. */
    switch (t) {
    case TPM2_NT_ORDINARY:
        if (pub->dataSize > VT_NV_INDEX_MAX)
            return VT_RC_P(TPM2_RC_SIZE, 2);
        break;
    case TPM2_NT_COUNTER:
    case TPM2_NT_BITS:
    case TPM2_NT_PIN_FAIL:
    case TPM2_NT_PIN_PASS:
        if (pub->dataSize != 8)
            return VT_RC_P(TPM2_RC_SIZE, 2);
        break;
    case TPM2_NT_EXTEND:
        if (pub->dataSize != hlen)
            return VT_RC_P(TPM2_RC_SIZE, 2);
        break;
    default:
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    }
    /* PLATFORMCREATE records who defined the index: it must be SET for
     * platformAuth and CLEAR for ownerAuth (Part 2 §13.4). */
    if (!!(a & TPMA_NV_PLATFORMCREATE) != (by == TPM2_RH_PLATFORM))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    /* State bits are the TPM's to set. */
    if (a & (TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED | TPMA_NV_READLOCKED))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    /* There must be some way to read and some way to write. */
    if (!(a & (TPMA_NV_PPREAD | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_POLICYREAD)) ||
        !(a & (TPMA_NV_PPWRITE | TPMA_NV_OWNERWRITE | TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE)))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    /* A counter never loses its value (Part 2 §13.4, CLEAR_STCLEAR). */
    if (t == TPM2_NT_COUNTER && (a & TPMA_NV_CLEAR_STCLEAR))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    /* PIN indices: failures are counted by the index, not by DA, and
     * the PIN holder must not be able to rewrite pinCount or lock the
     * index (Part 3 §31.3: NO_DA for PIN Fail; no AUTHWRITE, GLOBALLOCK
     * or WRITEDEFINE for either PIN type). */
    if (t == TPM2_NT_PIN_FAIL && !(a & TPMA_NV_NO_DA))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    if ((t == TPM2_NT_PIN_FAIL || t == TPM2_NT_PIN_PASS) &&
        (a & (TPMA_NV_AUTHWRITE | TPMA_NV_GLOBALLOCK | TPMA_NV_WRITEDEFINE)))
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    /* POLICY_DELETE indices go with NV_UndefineSpaceSpecial, which needs
     * platformAuth: only the platform may define them. */
    if ((a & TPMA_NV_POLICY_DELETE) && by != TPM2_RH_PLATFORM)
        return VT_RC_P(TPM2_RC_ATTRIBUTES, 2);
    return TPM2_RC_SUCCESS;
}

/* This index, and at most the counter high-water mark, is all the action
 * changed: the commit can be one journal record. */
static void changed_index(vt_cmd *c, const vt_nv_index *ix)
{
    c->state_changed = true;
    c->nv_only = (unsigned)(ix - c->e->p.nv.index) + 1;
}

TPM2_RC vt_cmd_nv_define_space(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_nv_state *nv = &e->p.nv;
    const uint8_t *auth;
    uint16_t auth_len;
    TPM2B_NV_PUBLIC info;
    vt_nv_index *ix = NULL;
    uint32_t used;
    unsigned i;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &auth, &auth_len, sizeof(TPMU_HA)));
    memset(&info, 0, sizeof(info));
    RETURN_IF_ERROR(VT_IN(&c->in, TPM2B_NV_PUBLIC, &info));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (info.size == 0)
        return VT_RC_P(TPM2_RC_SIZE, 2);
    if (c->handles[0] == TPM2_RH_PLATFORM && !e->v.ph_enable_nv)
        return VT_RC_H(TPM2_RC_HIERARCHY, 1);
    RETURN_IF_ERROR(check_public(c, &info.nvPublic, auth_len));

    if (vt_nv_find(nv, info.nvPublic.nvIndex))
        return TPM2_RC_NV_DEFINED;
    for (i = 0; i < VT_NV_MAX_INDICES && !ix; i++)
        if (!nv->index[i].used)
            ix = &nv->index[i];
    used = vt_nv_used(nv);
    if (!ix || nv->pool_size - used < info.nvPublic.dataSize)
        return TPM2_RC_NV_SPACE;

    memset(ix, 0, sizeof(*ix));
    ix->pub = info.nvPublic;
    set_auth(ix, auth, auth_len);
    ix->offset = used;
    /* Never-written data reads as erased flash would. */
    memset(nv->pool + used, 0xFF, ix->pub.dataSize);
    ix->used = true;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* ---- undefining ---- */

/* Remove ix and close up the pool behind it; a counter leaves its value in
 * the high-water mark (a new counter never starts lower). */
void vt_nv_remove_index(vt_nv_state *nv, vt_nv_index *ix)
{
    uint32_t off = ix->offset, size = ix->pub.dataSize, used = vt_nv_used(nv);
    unsigned i;

    if (vt_nv_type(ix->pub.attributes) == TPM2_NT_COUNTER && (ix->pub.attributes & TPMA_NV_WRITTEN)) {
        uint64_t v = vt_get_be64(nv->pool + off);
        if (v > nv->max_counter)
            nv->max_counter = v;
    }
    memmove(nv->pool + off, nv->pool + off + size, used - off - size);
    vt_wipe(nv->pool + used - size, size);
    vt_wipe(ix, sizeof(*ix));
    ix->used = false;
    for (i = 0; i < VT_NV_MAX_INDICES; i++)
        if (nv->index[i].used && nv->index[i].offset > off)
            nv->index[i].offset -= size;
}

/* TPM2_NV_UndefineSpace (Part 3 §31.4). */
TPM2_RC vt_cmd_nv_undefine_space(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);
    TPMA_NV a;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    a = ix->pub.attributes;
    if (a & TPMA_NV_POLICY_DELETE)
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
    /* A platform index cannot be undefined with ownerAuth; platformAuth
     * may undefine any index (Part 3 §31.4). */
    if ((a & TPMA_NV_PLATFORMCREATE) && c->handles[0] != TPM2_RH_PLATFORM)
        return TPM2_RC_NV_AUTHORIZATION;
    vt_nv_remove_index(&c->e->p.nv, ix);
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_NV_UndefineSpaceSpecial (Part 3 §31.5).  The dispatcher lets only
 * a policy session authorize the index (ADMIN role); none can be satisfied
 * until the policy commands exist, so this is not reached through a
 * client yet. */
TPM2_RC vt_cmd_nv_undefine_space_special(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 0);

    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!(ix->pub.attributes & TPMA_NV_POLICY_DELETE))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    vt_nv_remove_index(&c->e->p.nv, ix);
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_NV_ReadPublic (Part 3 §31.6) ---- */

TPM2_RC vt_cmd_nv_read_public(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 0);
    TPM2B_NV_PUBLIC pub;
    uint8_t name[VT_MAX_NAME];
    size_t n;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    n = vt_nv_name(ix, name);
    if (n == 0)
        return TPM2_RC_FAILURE;
    pub.size = 0; /* MU computes it */
    pub.nvPublic = ix->pub;
    VT_OUT(&c->out, TPM2B_NV_PUBLIC, &pub);
    vt_out_2b(&c->out, name, (uint16_t)n);
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_NV_Read (Part 3 §31.13) ---- */

TPM2_RC vt_cmd_nv_read(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);
    uint16_t size, offset;

    RETURN_IF_ERROR(vt_in_u16(&c->in, &size));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &offset));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (ix->pub.attributes & TPMA_NV_READLOCKED)
        return TPM2_RC_NV_LOCKED;
    RETURN_IF_ERROR(read_authority(c, ix));
    if (!(ix->pub.attributes & TPMA_NV_WRITTEN))
        return TPM2_RC_NV_UNINITIALIZED;
    if ((uint32_t)offset + size > ix->pub.dataSize)
        return TPM2_RC_NV_RANGE;
    /* One read returns at most TPM_PT_NV_BUFFER_MAX octets. */
    if (size > VT_NV_BUFFER_MAX)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    vt_out_2b(&c->out, data_of(c, ix) + offset, size);
    return TPM2_RC_SUCCESS;
}

/* ---- writes (Part 3 §31.7–31.10) ---- */

TPM2_RC vt_cmd_nv_write(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);
    const uint8_t *data;
    uint16_t size, offset;
    TPM2_NT t;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &size, VT_NV_BUFFER_MAX));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &offset));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(write_access(c, ix));
    /* Counters, bit fields and extend indices have their own commands. */
    t = vt_nv_type(ix->pub.attributes);
    if (t == TPM2_NT_COUNTER || t == TPM2_NT_BITS || t == TPM2_NT_EXTEND)
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
    if ((uint32_t)offset + size > ix->pub.dataSize)
        return TPM2_RC_NV_RANGE;
    /* WRITEALL: only the whole index at once. */
    if ((ix->pub.attributes & TPMA_NV_WRITEALL) && size != ix->pub.dataSize)
        return TPM2_RC_NV_RANGE;
    /* The bytes the index already holds: nothing changes, so nothing is
     * committed (no flush, no flash wear), as swtpm does.  Only for a writer
     * that may read the index too, or the answer's speed would tell it
     * whether its guess equals the secret contents. */
    if ((ix->pub.attributes & TPMA_NV_WRITTEN) && writer_may_read(c, ix) &&
        !memcmp(data_of(c, ix) + offset, data, size))
        return TPM2_RC_SUCCESS;
    memcpy(data_of(c, ix) + offset, data, size);
    ix->pub.attributes |= TPMA_NV_WRITTEN;
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_nv_increment(vt_cmd *c)
{
    vt_nv_state *nv = &c->e->p.nv;
    vt_nv_index *ix = index_at(c, 1);
    uint64_t v;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(write_access(c, ix));
    RETURN_IF_ERROR(check_type(ix, TPM2_NT_COUNTER));
    /* A counter's first value is the highest any counter of this TPM has
     * ever had, so no counter value is ever seen twice (Part 1 §37.?). */
    v = (ix->pub.attributes & TPMA_NV_WRITTEN) ? vt_get_be64(data_of(c, ix)) : nv->max_counter;
    if (v == UINT64_MAX)
        return TPM2_RC_NV_RANGE; /* never wraps round */
    v++;
    vt_put_be64(data_of(c, ix), v);
    if (v > nv->max_counter)
        nv->max_counter = v;
    ix->pub.attributes |= TPMA_NV_WRITTEN;
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_nv_extend(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);
    const uint8_t *data;
    uint16_t size;
    uint8_t old[VT_MAX_DIGEST] = { 0 }, out[VT_MAX_DIGEST];
    size_t hlen;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &size, VT_NV_BUFFER_MAX));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(write_access(c, ix));
    RETURN_IF_ERROR(check_type(ix, TPM2_NT_EXTEND));
    /* new = H_nameAlg(old || data); an unwritten index counts as zeros. */
    hlen = ix->pub.dataSize;
    if (ix->pub.attributes & TPMA_NV_WRITTEN)
        memcpy(old, data_of(c, ix), hlen);
    {
        vt_buf parts[2] = { { old, hlen }, { data, size } };
        if (vt_hash_parts(ix->pub.nameAlg, parts, 2, out) != hlen)
            return TPM2_RC_FAILURE;
    }
    memcpy(data_of(c, ix), out, hlen);
    ix->pub.attributes |= TPMA_NV_WRITTEN;
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_nv_set_bits(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);
    uint64_t bits, v;

    RETURN_IF_ERROR(vt_in_u64(&c->in, &bits));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(write_access(c, ix));
    RETURN_IF_ERROR(check_type(ix, TPM2_NT_BITS));
    v = (ix->pub.attributes & TPMA_NV_WRITTEN) ? vt_get_be64(data_of(c, ix)) : 0;
    vt_put_be64(data_of(c, ix), v | bits);
    ix->pub.attributes |= TPMA_NV_WRITTEN;
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}

/* ---- locks (Part 3 §31.11, §31.12, §31.14) ---- */

TPM2_RC vt_cmd_nv_write_lock(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);

    RETURN_IF_ERROR(vt_in_end(&c->in));
    /* Locking a locked index again is no error. */
    RETURN_IF_ERROR(write_authority(c, ix));
    if (!(ix->pub.attributes & (TPMA_NV_WRITEDEFINE | TPMA_NV_WRITE_STCLEAR)))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
    ix->pub.attributes |= TPMA_NV_WRITELOCKED;
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_nv_read_lock(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 1);

    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(read_authority(c, ix));
    if (!(ix->pub.attributes & TPMA_NV_READ_STCLEAR))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 2);
    ix->pub.attributes |= TPMA_NV_READLOCKED;
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_nv_global_write_lock(vt_cmd *c)
{
    vt_nv_state *nv = &c->e->p.nv;
    unsigned i;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    /* Every index defined with GLOBALLOCK is write-locked until the next
     * TPM Reset or Restart (permanently for a written WRITEDEFINE index);
     * an index defined later is not (Part 3 §31.14). */
    for (i = 0; i < VT_NV_MAX_INDICES; i++)
        if (nv->index[i].used && (nv->index[i].pub.attributes & TPMA_NV_GLOBALLOCK))
            nv->index[i].pub.attributes |= TPMA_NV_WRITELOCKED;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* ---- TPM2_NV_ChangeAuth (Part 3 §31.15) ----
 * ADMIN role: the dispatcher accepts only a policy session for it, and no
 * policy can be satisfied until the policy commands exist. */
TPM2_RC vt_cmd_nv_change_auth(vt_cmd *c)
{
    vt_nv_index *ix = index_at(c, 0);
    const uint8_t *auth;
    uint16_t len;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &auth, &len, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (len > vt_hash_size(ix->pub.nameAlg))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    set_auth(ix, auth, len);
    changed_index(c, ix);
    return TPM2_RC_SUCCESS;
}
