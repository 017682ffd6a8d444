/* Hierarchies: their proofs and enables (TPM 2.0 Part 1 §14). */
#include "engine/engine_internal.h"

const uint8_t *vt_hierarchy_proof(vt_engine *e, TPMI_RH_HIERARCHY h)
{
    switch (h) {
    case TPM2_RH_OWNER: return e->p.sh_proof;
    case TPM2_RH_ENDORSEMENT: return e->p.eh_proof;
    case TPM2_RH_PLATFORM: return e->p.ph_proof;
    case TPM2_RH_NULL: return e->v.null_proof;
    default: return NULL;
    }
}

bool vt_hierarchy_enabled(const vt_engine *e, TPMI_RH_HIERARCHY h)
{
    switch (h) {
    case TPM2_RH_OWNER: return e->v.sh_enable;
    case TPM2_RH_ENDORSEMENT: return e->v.eh_enable;
    case TPM2_RH_PLATFORM: return e->v.ph_enable;
    case TPM2_RH_NULL: return true;
    default: return false;
    }
}

vt_hier_policy *vt_hierarchy_policy(vt_engine *e, TPM2_HANDLE h)
{
    switch (h) {
    case TPM2_RH_OWNER: return &e->p.owner_policy;
    case TPM2_RH_ENDORSEMENT: return &e->p.endorsement_policy;
    case TPM2_RH_LOCKOUT: return &e->p.lockout_policy;
    case TPM2_RH_PLATFORM: return &e->v.platform_policy;
    default: return NULL;
    }
}

/* The permanent-handle interface types of Part 2 §9 that the hierarchy
 * commands take.  A hierarchy handle of a disabled hierarchy is
 * TPM_RC_HIERARCHY (Part 3 §5.6.?); lockout is always there. */
TPM2_RC vt_hierarchy_check_handle(vt_engine *e, int kind, TPM2_HANDLE h)
{
    bool ok;

    switch (kind) {
    case VT_H_HIERARCHY:
        ok = h == TPM2_RH_OWNER || h == TPM2_RH_ENDORSEMENT || h == TPM2_RH_PLATFORM;
        break;
    case VT_H_HIERARCHY_AUTH:
        ok = h == TPM2_RH_OWNER || h == TPM2_RH_ENDORSEMENT || h == TPM2_RH_PLATFORM ||
             h == TPM2_RH_LOCKOUT;
        break;
    case VT_H_CLEAR:
        ok = h == TPM2_RH_LOCKOUT || h == TPM2_RH_PLATFORM;
        break;
    case VT_H_LOCKOUT:
        ok = h == TPM2_RH_LOCKOUT;
        break;
    default:
        return TPM2_RC_VALUE;
    }
    if (!ok)
        return TPM2_RC_VALUE;
    if (h != TPM2_RH_LOCKOUT && !vt_hierarchy_enabled(e, h))
        return TPM2_RC_HIERARCHY;
    return TPM2_RC_SUCCESS;
}

void vt_hier_policy_clear(vt_hier_policy *pol)
{
    vt_wipe(pol, sizeof(*pol));
    pol->alg = TPM2_ALG_NULL;
}
