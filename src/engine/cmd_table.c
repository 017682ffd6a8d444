/* The command table: every command this TPM implements, with its handles,
 * authorization roles and TPMA_CC attributes (TPM 2.0 Part 3, each
 * command's "Command" table).  Sorted by command code: GetCapability walks
 * it in order. */
#include "engine/engine_internal.h"

#define H(...) { __VA_ARGS__ }

const vt_cmd_def vt_commands[] = {
    /* cc, name, handles, auth, rsp handles, flags, handle kinds, action */
    /* VT_CMD_ADMIN1 / DUP1: handle 1 is authorized in the ADMIN / DUP role */
    /* Policy commands take their session as VT_H_SAVED (any session or
     * transient handle) and check for a loaded policy session themselves. */
    { TPM2_CC_NV_UndefineSpaceSpecial, "NV_UndefineSpaceSpecial", 2, 2, 0, VT_CMD_NV | VT_CMD_ADMIN1,
      H(VT_H_NV_INDEX, VT_H_PLATFORM), vt_cmd_nv_undefine_space_special },
    { TPM2_CC_EvictControl, "EvictControl", 2, 1, 0, VT_CMD_NV, H(VT_H_PROVISION, VT_H_OBJECT), vt_cmd_evict_control },
    { TPM2_CC_HierarchyControl, "HierarchyControl", 1, 1, 0, VT_CMD_NV | VT_CMD_EXTENSIVE, H(VT_H_HIERARCHY),
      vt_cmd_hierarchy_control },
    { TPM2_CC_NV_UndefineSpace, "NV_UndefineSpace", 2, 1, 0, VT_CMD_NV, H(VT_H_PROVISION, VT_H_NV_INDEX),
      vt_cmd_nv_undefine_space },
    { TPM2_CC_ChangeEPS, "ChangeEPS", 1, 1, 0, VT_CMD_NV | VT_CMD_EXTENSIVE, H(VT_H_PLATFORM), vt_cmd_change_eps },
    { TPM2_CC_ChangePPS, "ChangePPS", 1, 1, 0, VT_CMD_NV | VT_CMD_EXTENSIVE, H(VT_H_PLATFORM), vt_cmd_change_pps },
    { TPM2_CC_Clear, "Clear", 1, 1, 0, VT_CMD_NV | VT_CMD_EXTENSIVE, H(VT_H_CLEAR), vt_cmd_clear },
    { TPM2_CC_ClearControl, "ClearControl", 1, 1, 0, VT_CMD_NV, H(VT_H_CLEAR), vt_cmd_clear_control },
    { TPM2_CC_ClockSet, "ClockSet", 1, 1, 0, VT_CMD_NV, H(VT_H_PROVISION), vt_cmd_clock_set },
    { TPM2_CC_HierarchyChangeAuth, "HierarchyChangeAuth", 1, 1, 0, VT_CMD_NV | VT_CMD_DEC2B, H(VT_H_HIERARCHY_AUTH),
      vt_cmd_hierarchy_change_auth },
    { TPM2_CC_NV_DefineSpace, "NV_DefineSpace", 1, 1, 0, VT_CMD_NV | VT_CMD_DEC2B, H(VT_H_PROVISION), vt_cmd_nv_define_space },
    { TPM2_CC_PCR_Allocate, "PCR_Allocate", 1, 1, 0, VT_CMD_NV, H(VT_H_PLATFORM), vt_cmd_pcr_allocate },
    { TPM2_CC_SetPrimaryPolicy, "SetPrimaryPolicy", 1, 1, 0, VT_CMD_NV | VT_CMD_DEC2B, H(VT_H_HIERARCHY_AUTH),
      vt_cmd_set_primary_policy },
    { TPM2_CC_ClockRateAdjust, "ClockRateAdjust", 1, 1, 0, 0, H(VT_H_PROVISION), vt_cmd_clock_rate_adjust },
    { TPM2_CC_CreatePrimary, "CreatePrimary", 1, 1, 1, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_HIERARCHY_NULL), vt_cmd_create_primary },
    { TPM2_CC_NV_GlobalWriteLock, "NV_GlobalWriteLock", 1, 1, 0, VT_CMD_NV, H(VT_H_PROVISION),
      vt_cmd_nv_global_write_lock },
    { TPM2_CC_GetCommandAuditDigest, "GetCommandAuditDigest", 2, 2, 0, VT_CMD_DEC2B | VT_CMD_ENC2B,
      H(VT_H_ENDORSEMENT, VT_H_OBJECT_NULL), vt_cmd_get_command_audit_digest },
    { TPM2_CC_NV_Increment, "NV_Increment", 2, 1, 0, VT_CMD_NV, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_increment },
    { TPM2_CC_NV_SetBits, "NV_SetBits", 2, 1, 0, VT_CMD_NV, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_set_bits },
    { TPM2_CC_NV_Extend, "NV_Extend", 2, 1, 0, VT_CMD_NV | VT_CMD_DEC2B, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_extend },
    { TPM2_CC_NV_Write, "NV_Write", 2, 1, 0, VT_CMD_NV | VT_CMD_DEC2B, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_write },
    { TPM2_CC_NV_WriteLock, "NV_WriteLock", 2, 1, 0, VT_CMD_NV, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_write_lock },
    { TPM2_CC_DictionaryAttackLockReset, "DictionaryAttackLockReset", 1, 1, 0, VT_CMD_NV, H(VT_H_LOCKOUT),
      vt_cmd_da_lock_reset },
    { TPM2_CC_DictionaryAttackParameters, "DictionaryAttackParameters", 1, 1, 0, VT_CMD_NV, H(VT_H_LOCKOUT),
      vt_cmd_da_parameters },
    { TPM2_CC_NV_ChangeAuth, "NV_ChangeAuth", 1, 1, 0, VT_CMD_NV | VT_CMD_ADMIN1 | VT_CMD_DEC2B, H(VT_H_NV_INDEX),
      vt_cmd_nv_change_auth },
    { TPM2_CC_PCR_Event, "PCR_Event", 1, 1, 0, VT_CMD_DEC2B, H(VT_H_PCR_NULL), vt_cmd_pcr_event },
    { TPM2_CC_PCR_Reset, "PCR_Reset", 1, 1, 0, 0, H(VT_H_PCR), vt_cmd_pcr_reset },
    { TPM2_CC_SequenceComplete, "SequenceComplete", 1, 1, 0, VT_CMD_FLUSHED | VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_sequence_complete },
    { TPM2_CC_SetCommandCodeAuditStatus, "SetCommandCodeAuditStatus", 1, 1, 0, VT_CMD_NV, H(VT_H_PROVISION),
      vt_cmd_set_command_code_audit_status },
    { TPM2_CC_IncrementalSelfTest, "IncrementalSelfTest", 0, 0, 0, VT_CMD_EXTENSIVE, H(0), vt_cmd_incremental_selftest },
    { TPM2_CC_SelfTest, "SelfTest", 0, 0, 0, VT_CMD_EXTENSIVE, H(0), vt_cmd_selftest },
    { TPM2_CC_Startup, "Startup", 0, 0, 0, VT_CMD_NV | VT_CMD_NO_SESSIONS, H(0), vt_cmd_startup },
    { TPM2_CC_Shutdown, "Shutdown", 0, 0, 0, VT_CMD_NV, H(0), vt_cmd_shutdown },
    { TPM2_CC_StirRandom, "StirRandom", 0, 0, 0, VT_CMD_DEC2B, H(0), vt_cmd_stir_random },
    { TPM2_CC_ActivateCredential, "ActivateCredential", 2, 2, 0, VT_CMD_ADMIN1 | VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT, VT_H_OBJECT),
      vt_cmd_activate_credential },
    { TPM2_CC_Certify, "Certify", 2, 2, 0, VT_CMD_ADMIN1 | VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT, VT_H_OBJECT_NULL), vt_cmd_certify },
    { TPM2_CC_PolicyNV, "PolicyNV", 3, 1, 0, VT_CMD_NV_READ | VT_CMD_DEC2B, H(VT_H_NV_AUTH, VT_H_NV_INDEX, VT_H_SAVED), vt_cmd_policy_nv },
    { TPM2_CC_CertifyCreation, "CertifyCreation", 2, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT_NULL, VT_H_OBJECT),
      vt_cmd_certify_creation },
    { TPM2_CC_Duplicate, "Duplicate", 2, 1, 0, VT_CMD_DUP1 | VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT, VT_H_OBJECT_NULL), vt_cmd_duplicate },
    { TPM2_CC_GetTime, "GetTime", 2, 2, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_ENDORSEMENT, VT_H_OBJECT_NULL), vt_cmd_get_time },
    { TPM2_CC_GetSessionAuditDigest, "GetSessionAuditDigest", 3, 2, 0, VT_CMD_DEC2B | VT_CMD_ENC2B,
      H(VT_H_ENDORSEMENT, VT_H_OBJECT_NULL, VT_H_HMAC_SESSION), vt_cmd_get_session_audit_digest },
    { TPM2_CC_NV_Read, "NV_Read", 2, 1, 0, VT_CMD_NV_READ | VT_CMD_ENC2B, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_read },
    { TPM2_CC_NV_ReadLock, "NV_ReadLock", 2, 1, 0, VT_CMD_NV | VT_CMD_NV_READ, H(VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_read_lock },
    { TPM2_CC_ObjectChangeAuth, "ObjectChangeAuth", 2, 1, 0, VT_CMD_ADMIN1 | VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT, VT_H_OBJECT),
      vt_cmd_object_change_auth },
    { TPM2_CC_PolicySecret, "PolicySecret", 2, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_ENTITY_NULL, VT_H_SAVED), vt_cmd_policy_secret },
    { TPM2_CC_Rewrap, "Rewrap", 2, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT_NULL, VT_H_OBJECT_NULL), vt_cmd_rewrap },
    { TPM2_CC_Create, "Create", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_create },
    { TPM2_CC_ECDH_ZGen, "ECDH_ZGen", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_ecdh_zgen },
    { TPM2_CC_HMAC, "HMAC", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_hmac },
    { TPM2_CC_Import, "Import", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_import },
    { TPM2_CC_Load, "Load", 1, 1, 1, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_load },
    { TPM2_CC_Quote, "Quote", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT_NULL), vt_cmd_quote },
    { TPM2_CC_RSA_Decrypt, "RSA_Decrypt", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_rsa_decrypt },
    { TPM2_CC_HMAC_Start, "HMAC_Start", 1, 1, 1, VT_CMD_DEC2B, H(VT_H_OBJECT), vt_cmd_hmac_start },
    { TPM2_CC_SequenceUpdate, "SequenceUpdate", 1, 1, 0, VT_CMD_DEC2B, H(VT_H_OBJECT), vt_cmd_sequence_update },
    { TPM2_CC_Sign, "Sign", 1, 1, 0, VT_CMD_DEC2B, H(VT_H_OBJECT), vt_cmd_sign },
    { TPM2_CC_Unseal, "Unseal", 1, 1, 0, VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_unseal },
    { TPM2_CC_PolicySigned, "PolicySigned", 2, 0, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT, VT_H_SAVED), vt_cmd_policy_signed },
    { TPM2_CC_ContextLoad, "ContextLoad", 0, 0, 1, 0, H(0), vt_cmd_context_load },
    { TPM2_CC_ContextSave, "ContextSave", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_context_save },
    { TPM2_CC_ECDH_KeyGen, "ECDH_KeyGen", 1, 0, 0, VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_ecdh_keygen },
    { TPM2_CC_EncryptDecrypt, "EncryptDecrypt", 1, 1, 0, VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_encrypt_decrypt },
    { TPM2_CC_FlushContext, "FlushContext", 0, 0, 0, VT_CMD_NO_SESSIONS, H(0), vt_cmd_flush_context },
    { TPM2_CC_LoadExternal, "LoadExternal", 0, 0, 1, VT_CMD_DEC2B | VT_CMD_ENC2B, H(0), vt_cmd_load_external },
    { TPM2_CC_MakeCredential, "MakeCredential", 1, 0, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_make_credential },
    { TPM2_CC_NV_ReadPublic, "NV_ReadPublic", 1, 0, 0, VT_CMD_ENC2B, H(VT_H_NV_INDEX), vt_cmd_nv_read_public },
    { TPM2_CC_PolicyAuthorize, "PolicyAuthorize", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_authorize },
    { TPM2_CC_PolicyAuthValue, "PolicyAuthValue", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_auth_value },
    { TPM2_CC_PolicyCommandCode, "PolicyCommandCode", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_command_code },
    { TPM2_CC_PolicyCounterTimer, "PolicyCounterTimer", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_counter_timer },
    { TPM2_CC_PolicyCpHash, "PolicyCpHash", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_cp_hash },
    { TPM2_CC_PolicyLocality, "PolicyLocality", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_locality },
    { TPM2_CC_PolicyNameHash, "PolicyNameHash", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_name_hash },
    { TPM2_CC_PolicyOR, "PolicyOR", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_or },
    { TPM2_CC_PolicyTicket, "PolicyTicket", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_ticket },
    { TPM2_CC_ReadPublic, "ReadPublic", 1, 0, 0, VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_read_public },
    { TPM2_CC_RSA_Encrypt, "RSA_Encrypt", 1, 0, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_rsa_encrypt },
    { TPM2_CC_StartAuthSession, "StartAuthSession", 2, 0, 1, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT_NULL, VT_H_ENTITY_NULL),
      vt_cmd_start_auth_session },
    { TPM2_CC_VerifySignature, "VerifySignature", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_OBJECT), vt_cmd_verify_signature },
    { TPM2_CC_ECC_Parameters, "ECC_Parameters", 0, 0, 0, 0, H(0), vt_cmd_ecc_parameters },
    { TPM2_CC_GetCapability, "GetCapability", 0, 0, 0, 0, H(0), vt_cmd_get_capability },
    { TPM2_CC_GetRandom, "GetRandom", 0, 0, 0, VT_CMD_ENC2B, H(0), vt_cmd_get_random },
    { TPM2_CC_GetTestResult, "GetTestResult", 0, 0, 0, VT_CMD_ENC2B, H(0), vt_cmd_get_test_result },
    { TPM2_CC_Hash, "Hash", 0, 0, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(0), vt_cmd_hash },
    { TPM2_CC_PCR_Read, "PCR_Read", 0, 0, 0, 0, H(0), vt_cmd_pcr_read },
    { TPM2_CC_PolicyPCR, "PolicyPCR", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_pcr },
    { TPM2_CC_PolicyRestart, "PolicyRestart", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_restart },
    { TPM2_CC_ReadClock, "ReadClock", 0, 0, 0, 0, H(0), vt_cmd_read_clock },
    { TPM2_CC_PCR_Extend, "PCR_Extend", 1, 1, 0, 0, H(VT_H_PCR_NULL), vt_cmd_pcr_extend },
    { TPM2_CC_NV_Certify, "NV_Certify", 3, 2, 0, VT_CMD_NV_READ | VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT_NULL, VT_H_NV_AUTH, VT_H_NV_INDEX), vt_cmd_nv_certify },
    { TPM2_CC_EventSequenceComplete, "EventSequenceComplete", 2, 2, 0, VT_CMD_FLUSHED | VT_CMD_DEC2B,
      H(VT_H_PCR_NULL, VT_H_OBJECT), vt_cmd_event_sequence_complete },
    { TPM2_CC_HashSequenceStart, "HashSequenceStart", 0, 0, 1, VT_CMD_DEC2B, H(0), vt_cmd_hash_sequence_start },
    { TPM2_CC_PolicyPhysicalPresence, "PolicyPhysicalPresence", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_physical_presence },
    { TPM2_CC_PolicyDuplicationSelect, "PolicyDuplicationSelect", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_duplication_select },
    { TPM2_CC_PolicyGetDigest, "PolicyGetDigest", 1, 0, 0, VT_CMD_ENC2B, H(VT_H_SAVED), vt_cmd_policy_get_digest },
    { TPM2_CC_TestParms, "TestParms", 0, 0, 0, 0, H(0), vt_cmd_test_parms },
    { TPM2_CC_PolicyPassword, "PolicyPassword", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_password },
    { TPM2_CC_PolicyNvWritten, "PolicyNvWritten", 1, 0, 0, 0, H(VT_H_SAVED), vt_cmd_policy_nv_written },
    { TPM2_CC_PolicyTemplate, "PolicyTemplate", 1, 0, 0, VT_CMD_DEC2B, H(VT_H_SAVED), vt_cmd_policy_template },
    { TPM2_CC_CreateLoaded, "CreateLoaded", 1, 1, 1, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_PARENT), vt_cmd_create_loaded },
    { TPM2_CC_PolicyAuthorizeNV, "PolicyAuthorizeNV", 3, 1, 0, VT_CMD_NV_READ, H(VT_H_NV_AUTH, VT_H_NV_INDEX, VT_H_SAVED), vt_cmd_policy_authorize_nv },
    { TPM2_CC_EncryptDecrypt2, "EncryptDecrypt2", 1, 1, 0, VT_CMD_DEC2B | VT_CMD_ENC2B, H(VT_H_OBJECT), vt_cmd_encrypt_decrypt2 },
    /* vitrum's vendor commands (TPMA_CC.V; docs/VENDOR-COMMANDS.md).  The
     * owner commands take TPMI_RH_PROVISION and refuse the platform. */
    { VT_CC_TRUST_ADD, "Vendor_TrustAdd", 1, 1, 0, VT_CMD_NV, H(VT_H_PROVISION), vt_cmd_trust_add },
    { VT_CC_TRUST_REMOVE, "Vendor_TrustRemove", 1, 1, 0, VT_CMD_NV, H(VT_H_PROVISION), vt_cmd_trust_remove },
    { VT_CC_TRUST_POLICY, "Vendor_TrustPolicy", 1, 1, 0, VT_CMD_NV, H(VT_H_PROVISION), vt_cmd_trust_policy },
    { VT_CC_TRUST_READ, "Vendor_TrustRead", 0, 0, 0, 0, H(0), vt_cmd_trust_read },
    { VT_CC_VERIFY_BUNDLE, "Vendor_VerifyBundle", 0, 0, 0, 0, H(0), vt_cmd_verify_bundle },
    { VT_CC_FLOOR_LOWER, "Vendor_FloorLower", 2, 2, 0, VT_CMD_NV, H(VT_H_PROVISION, VT_H_PLATFORM),
      vt_cmd_floor_lower },
};

const size_t vt_command_count = sizeof(vt_commands) / sizeof(vt_commands[0]);

const vt_cmd_def *vt_command_find(TPM2_CC cc)
{
    size_t lo = 0, hi = vt_command_count;
    /* Binary search: the table is sorted (a unit test checks it). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vt_commands[mid].cc == cc)
            return &vt_commands[mid];
        if (vt_commands[mid].cc < cc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* TPMA_CC, Part 2 §8.9. */
TPMA_CC vt_command_attributes(const vt_cmd_def *d)
{
    TPMA_CC a = d->cc & TPMA_CC_COMMANDINDEX_MASK;
    if (d->flags & VT_CMD_NV)
        a |= TPMA_CC_NV;
    if (d->flags & VT_CMD_EXTENSIVE)
        a |= TPMA_CC_EXTENSIVE;
    if (d->flags & VT_CMD_FLUSHED)
        a |= TPMA_CC_FLUSHED;
    a |= ((TPMA_CC)d->n_handles << TPMA_CC_CHANDLES_SHIFT) & TPMA_CC_CHANDLES_MASK;
    if (d->n_rsp_handles)
        a |= TPMA_CC_RHANDLE;
    if (d->cc & TPMA_CC_V) /* a vendor command (Part 2 §8.9, TPMA_CC.V) */
        a |= TPMA_CC_V;
    return a;
}
