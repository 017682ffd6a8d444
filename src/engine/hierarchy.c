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
