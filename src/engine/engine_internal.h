/* The engine's state and the interfaces between its rooms.
 *
 * State is in named structs: `vt_persistent` is what survives a power cycle
 * (committed through the platform store before a response reports success);
 * `vt_volatile` is lost at power off, except what Shutdown(STATE) copies into
 * vt_persistent.saved. */
#ifndef VT_ENGINE_INTERNAL_H
#define VT_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "vitrum/engine.h"
#include "crypto/vt_crypto.h"
#include "engine/marshal.h"
#include "engine/nv.h"
#include "crypto/vt_asym.h"
#include "engine/trust.h"

#define VT_PCR_COUNT 24u
#define VT_PCR_SELECT_MIN 3u /* octets to select VT_PCR_COUNT PCRs */
#define VT_BANK_COUNT 4u     /* SHA-1, SHA-256, SHA-384, SHA-512 */
#define VT_SEED_SIZE 64u     /* primary seeds and proofs */
#define VT_MAX_SEQUENCES 3u  /* transient slots for hash sequences */
#define VT_MAX_SESSIONS 3u   /* sessions in one command (Part 1 §18.?) */
#define VT_MAX_HANDLES 3u
#define VT_MAX_NAME (2u + VT_MAX_DIGEST) /* nameAlg || digest */
/* Clock is committed whenever it has run this far past its stored value, so
 * after a crash the TPM resumes at stored + interval and Clock never goes
 * backwards (Part 1 §36.? lets a TPM update Clock in NV periodically). */
#define VT_CLOCK_SAVE_INTERVAL_MS 4096u
#define VT_DEFAULT_BANKS 0x3u /* SHA-1 and SHA-256 allocated out of the box */

/* Bank index <-> algorithm. */
extern const TPM2_ALG_ID vt_bank_alg[VT_BANK_COUNT];
int vt_bank_of(TPM2_ALG_ID alg); /* -1 when no such bank */

#define VT_MAX_OBJECTS 8u     /* transient object slots (TPM_PT_HR_TRANSIENT_MIN >= 3) */
#define VT_MAX_PERSISTENT 16u /* persistent objects (EvictControl) */
#define VT_PRIMARY_CACHE 8u   /* derived primary keys remembered (RSA prime search is slow) */

typedef struct vt_object {
    bool used;
    TPM2_HANDLE handle;
    TPMI_RH_HIERARCHY hierarchy; /* TPM_RH_OWNER / ENDORSEMENT / PLATFORM / NULL */
    bool has_sensitive;          /* false: LoadExternal of a public area only */
    bool external;               /* LoadExternal: not created by this TPM */
    bool is_primary;
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE sens; /* authValue, seedValue, and the private key or data */
    uint8_t name[VT_MAX_NAME];
    uint16_t name_len;
    uint8_t qname[VT_MAX_NAME]; /* Qualified Name (Part 1 §16.?) */
    uint16_t qname_len;
    vt_key *key; /* built by vt_object_key(); freed with the object */
    uint32_t owner; /* the client that loaded it (vt_engine_set_client) */
} vt_object;

/* A hierarchy's authPolicy (TPM2_SetPrimaryPolicy): alg TPM_ALG_NULL and
 * len 0 when there is none. */
typedef struct {
    TPM2_ALG_ID alg;
    uint16_t len;
    uint8_t digest[VT_MAX_DIGEST];
} vt_hier_policy;

/* What Shutdown(STATE) preserves for Startup(STATE) (Part 1 §12.2.2). */
typedef struct {
    bool valid;
    uint8_t pcr[VT_BANK_COUNT][VT_PCR_COUNT][VT_MAX_DIGEST];
    uint32_t pcr_update_counter;
    uint8_t null_seed[VT_SEED_SIZE];
    uint8_t null_proof[VT_SEED_SIZE];
    /* shEnable, ehEnable, phEnableNV CLEAR at Shutdown(STATE): TPM Resume
     * keeps them (Part 3 §9.3.1).  Stored as "disabled" so that a state
     * without them resumes with the hierarchies enabled. */
    bool sh_disabled, eh_disabled, ph_nv_disabled;
    /* platformAuth and platformPolicy: TPM Resume keeps them, TPM Reset
     * and TPM Restart set them empty (Part 1 §10.3, Part 3 §9.3.1), so
     * the value platform firmware set at boot still guards the platform
     * hierarchy after a suspend, when no firmware runs to set it again. */
    uint8_t platform_auth[VT_MAX_DIGEST];
    uint16_t platform_auth_len;
    vt_hier_policy platform_policy;
} vt_saved_state;

/* Dictionary-attack protection (Part 1 §19.8, da.c). */
typedef struct {
    uint32_t failed_tries;     /* TPM_PT_LOCKOUT_COUNTER */
    uint32_t max_tries;        /* TPM_PT_MAX_AUTH_FAIL */
    uint32_t recovery_time;    /* TPM_PT_LOCKOUT_INTERVAL, s; 0: no self-healing */
    uint32_t lockout_recovery; /* TPM_PT_LOCKOUT_RECOVERY, s; 0: until TPM Reset */
    bool lockout_locked;       /* lockoutAuth failed: refused until lockoutRecovery */
    bool used;                 /* a DA-protected authorization was tried since Startup */
    bool initialized;          /* false: a new TPM, the defaults apply (da.c) */
} vt_da_state;

typedef struct {
    uint8_t eps[VT_SEED_SIZE], sps[VT_SEED_SIZE], pps[VT_SEED_SIZE];
    uint8_t eh_proof[VT_SEED_SIZE], sh_proof[VT_SEED_SIZE], ph_proof[VT_SEED_SIZE];
    uint8_t pcr_banks;         /* bitmask of allocated banks, in effect */
    uint8_t pcr_banks_pending; /* takes effect at the next TPM Reset */
    uint64_t clock;            /* stored Clock, ms */
    uint32_t reset_count, restart_count;
    uint32_t clear_count; /* Startup(CLEAR)s: TPM Reset and TPM Restart, not Resume */
    bool clock_safe;
    bool stopped_cleanly; /* Clock was stored at the last stop */
    /* TPM_ACCESS.tpmEstablishment (PC Client PTP): set by _TPM_Hash_Start,
     * cleared only from locality 3 or 4, kept across power cycles. */
    bool tpm_established;
    uint16_t last_shutdown; /* TPM2_SU_CLEAR, TPM2_SU_STATE, or 0xFFFF: none */
    /* Hierarchy authorization values (trailing zeros removed, Part 1 §19.?) */
    uint8_t owner_auth[VT_MAX_DIGEST], endorsement_auth[VT_MAX_DIGEST], lockout_auth[VT_MAX_DIGEST];
    uint16_t owner_auth_len, endorsement_auth_len, lockout_auth_len;
    /* Hierarchy authPolicies (SetPrimaryPolicy; platformPolicy is volatile),
     * whether TPM2_Clear is disabled, dictionary-attack state (da.c). */
    vt_hier_policy owner_policy, endorsement_policy, lockout_policy;
    bool disable_clear;
    vt_da_state da;
    /* Command audit (Part 3 §21): kept across TPM Resets. */
    TPM2_ALG_ID audit_alg;  /* 0: none yet (SHA-256 is used) */
    uint8_t audit_cc[32];   /* bit (cc - 0x100): the command is audited */
    uint64_t audit_counter; /* digests started since manufacture */
    vt_saved_state saved;
    vt_nv_state nv; /* NV indices (nv.h); the data pool is allocated once */
    vt_object persistent[VT_MAX_PERSISTENT]; /* EvictControl'd objects */
    vt_trust_state trust; /* release trust store and SVN floors (trust.h, format 6) */
} vt_persistent;

#define VT_SU_NONE 0xFFFFu

typedef enum { VT_SEQ_FREE = 0, VT_SEQ_HASH, VT_SEQ_EVENT, VT_SEQ_HMAC } vt_seq_kind;

typedef struct {
    vt_seq_kind kind;
    TPM2_HANDLE handle;
    uint32_t owner; /* the client that started it */
    TPM2_ALG_ID alg;             /* VT_SEQ_HASH, VT_SEQ_HMAC */
    uint8_t auth[VT_MAX_DIGEST]; /* sequence authValue */
    uint16_t auth_len;
    uint8_t first4[4];
    uint8_t first_len;
    /* VT_SEQ_HMAC: the key's HMAC key (ipad/opad are applied by the
     * sequence code) */
    uint8_t hmac_key[128];
    uint16_t hmac_key_len;
    /* hash contexts: engine->seq_ctx[slot][bank] (preallocated) */
} vt_sequence;

#define VT_MAX_LOADED_SESSIONS 8u  /* sessions in TPM memory at once */
#define VT_MAX_ACTIVE_SESSIONS 64u /* loaded + context-saved (TPM_PT_ACTIVE_SESSIONS_MAX) */

/* An authorization session (Part 1 §19).  Unsalted and salted, bound and
 * unbound; the policy digest belongs to policy and trial sessions. */
typedef struct {
    bool used;
    TPM2_HANDLE handle;
    TPM2_SE type;
    TPM2_ALG_ID auth_hash;
    uint8_t nonce_tpm[VT_MAX_DIGEST];
    uint16_t nonce_tpm_len;
    uint8_t session_key[VT_MAX_DIGEST];
    uint16_t session_key_len;
    bool bound;
    TPM2_HANDLE bind_handle; /* the entity whose authValue is in the key */
    /* SHA-256(Name || authValue) of the bind entity when the session
     * started: the session counts as bound to an entity only while both
     * are unchanged (Part 1 §19.6.?; NV_Write changes an index's Name). */
    uint8_t bind_id[32];
    TPMT_SYM_DEF symmetric;
    uint8_t policy_digest[VT_MAX_DIGEST];
    /* Policy state (Part 1 §19.7, Part 3 §23): reset by PolicyRestart and
     * whenever the session authorizes a command and continues. */
    TPM2_CC policy_cc;          /* PolicyCommandCode; 0: not set */
    bool auth_value_needed;     /* PolicyAuthValue: HMAC key includes authValue */
    bool password_needed;       /* PolicyPassword: hmac field is the authValue */
    bool pcr_counter_set;       /* PolicyPCR ran: pcrUpdateCounter must not move */
    uint32_t pcr_counter;
    uint8_t cp_hash[VT_MAX_DIGEST]; /* PolicySecret cpHashA; size 0: not set */
    uint16_t cp_hash_len;
    uint64_t start_time;        /* Time (ms) when nonceTPM was made */
    uint64_t timeout;           /* Time (ms) the policy expires; 0: never */
    /* Deferred conditions of PolicyNameHash / PolicyDuplicationSelect,
     * PolicyTemplate, PolicyLocality, PolicyPhysicalPresence and
     * PolicyNvWritten (Part 3 §23), checked when the session authorizes. */
    uint8_t name_hash[VT_MAX_DIGEST]; /* size 0: not set */
    uint16_t name_hash_len;
    uint8_t template_hash[VT_MAX_DIGEST]; /* size 0: not set */
    uint16_t template_hash_len;
    uint8_t locality;           /* TPMA_LOCALITY (or an extended locality >= 32); 0: any */
    bool pp_needed;             /* PolicyPhysicalPresence */
    uint8_t nv_written;         /* PolicyNvWritten: 0 not set, 1 must be CLEAR, 2 SET */
    /* ContextSave'd (Part 1 §30): the slot is the contextArray entry, only
     * handle and saved_seq are kept; the rest is in the client's blob. */
    bool saved;
    uint64_t saved_seq;
    uint32_t owner; /* the client that started or loaded it (vt_engine_set_client) */
    /* Session audit (Part 1 §19.?): set the first time the session audits
     * a command; the digest is H(digest || cpHash || rpHash) with authHash. */
    bool is_audit;
    uint8_t audit_digest[VT_MAX_DIGEST];
} vt_session;

typedef struct {
    bool started; /* TPM2_Startup has succeeded since _TPM_Init */
    bool orderly;  /* that Startup followed a TPM2_Shutdown (TPMA_STARTUP_CLEAR) */
    bool selftest_done;
    uint8_t startup_locality;
    uint8_t pcr[VT_BANK_COUNT][VT_PCR_COUNT][VT_MAX_DIGEST];
    uint32_t pcr_update_counter;
    uint8_t null_seed[VT_SEED_SIZE];
    uint8_t null_proof[VT_SEED_SIZE];
    bool ph_enable, sh_enable, eh_enable, ph_enable_nv;
    uint8_t platform_auth[VT_MAX_DIGEST]; /* platformAuth: kept only by TPM Resume */
    uint16_t platform_auth_len;
    uint64_t time_origin;  /* monotonic ms at _TPM_Init: Time = now - origin */
    int32_t clock_rate_ppm; /* ClockRateAdjust, parts per million */
    bool failed;           /* failure mode after a failed self-test */
    uint32_t next_handle;  /* next transient handle to hand out */
    vt_sequence seq[VT_MAX_SEQUENCES];
    vt_session sessions[VT_MAX_ACTIVE_SESSIONS]; /* loaded and saved */
    uint32_t next_session;
    bool drtm_active;      /* between _TPM_Hash_Start and _TPM_Hash_End */
    vt_object objects[VT_MAX_OBJECTS]; /* transient objects */
    uint64_t context_seq;  /* ContextSave sequence number (Part 1 §30.?) */
    /* Audit (Part 1 §?, Part 3 §21).  The exclusive audit session, or 0. */
    TPM2_HANDLE exclusive_audit;
    /* Command audit digest (the list, auditAlg and the counter are in
     * vt_persistent). */
    uint8_t audit_digest[VT_MAX_DIGEST]; /* zeros when cleared */
    bool audit_digest_set;          /* a command was audited since it was cleared */
    vt_hier_policy platform_policy; /* like platformAuth: kept only by TPM Resume */
    /* Dictionary attack (da.c): Time (ms) from which the next failure is
     * forgiven, and from which lockoutRecovery runs; the Startup rules
     * have been applied; a change waits to be committed. */
    uint64_t da_heal_mark, da_lockout_mark;
    bool da_started;
    bool da_pending;
} vt_volatile;

/* The deterministic RNG (HMAC_DRBG with SHA-256, SP 800-90A §10.1.2). */
typedef struct {
    uint8_t k[32], v[32];
    uint32_t requests;
    /* nonceTPM values drawn ahead in one request (vt_random_nonce): a
     * session command needs a new nonce in every response, and one
     * 256-octet request costs a third of eight 32-octet ones */
    uint8_t nonce_pool[256];
    size_t nonce_left; /* unused octets at the end of nonce_pool */
} vt_drbg;

/* A derived RSA primary, remembered so that re-creating the same primary
 * (tpm2-tools does it on almost every call) skips the prime search.  `id`
 * is a digest of the seed and the derivation context: a new seed (Clear,
 * Startup CLEAR for the null hierarchy) simply never matches again. */
typedef struct {
    bool used;
    uint8_t id[32];
    uint16_t n_len, p_len;
    uint8_t n[TPM2_MAX_RSA_KEY_BYTES];
    uint8_t p[TPM2_MAX_RSA_KEY_BYTES / 2];
} vt_primary_cache;

struct vt_engine {
    vt_platform plat;
    bool powered;
    bool physical_presence;
    bool cancel;
    bool nv_available;
    uint64_t commands;
    vt_persistent p;
    vt_volatile v;
    vt_drbg drbg;
    /* Clock runs while the process lives, across simulated power cycles:
     * Clock = clock_base + (monotonic - clock_mono) adjusted by the rate. */
    uint64_t clock_base;
    uint64_t clock_mono;
    /* Preallocated so the command path never allocates. */
    vt_hash_ctx *seq_ctx[VT_MAX_SEQUENCES][VT_BANK_COUNT];
    vt_hash_ctx *drtm_ctx[VT_BANK_COUNT];
    size_t journal_bytes; /* appended since the last full commit */
    uint8_t *blob; /* marshalled state, blob_cap octets (room for a full NV pool) */
    size_t blob_cap;
    size_t mem_size; /* the engine, its NV pool and blob: one allocation */
    vt_primary_cache pcache[VT_PRIMARY_CACHE];
    unsigned pcache_next;
    uint32_t client; /* on whose behalf commands run now */
    vt_fw_identity fw; /* the running firmware (vt_engine_set_firmware, trust.h) */
};

/* ---- the command context handed to every action ---- */

struct vt_cmd_def;

typedef struct vt_cmd {
    vt_engine *e;
    const struct vt_cmd_def *def; /* the command table row */
    TPM2_CC cc;
    TPM2_ST tag;
    uint8_t locality;
    uint32_t handles[VT_MAX_HANDLES];
    unsigned n_handles;
    vt_in in;     /* the parameter area */
    vt_out out;   /* the response parameter area */
    uint32_t rsp_handle; /* when the command returns one */
    bool state_changed;  /* the action changed vt_persistent: commit it */
    /* 1 + the slot of the one NV index the action changed, when that index
     * (and the counter high-water mark) is all that changed: the commit is
     * then a journal record of that index, not the whole state. */
    unsigned nv_only;
    TPM2_HANDLE audit_session; /* the session that audited it (dispatch.c) */
} vt_cmd;

typedef TPM2_RC (*vt_action)(vt_cmd *c);

/* ---- rooms ---- */

/* state.c: marshal / load / commit the persistent state */
size_t vt_state_marshal(const vt_persistent *p, uint8_t *buf, size_t cap);
vt_status vt_state_unmarshal(vt_persistent *p, const uint8_t *buf, size_t len);
TPM2_RC vt_state_commit(vt_engine *e);
/* Commit a change confined to NV index `slot` (journal record, or a full
 * commit when there is no journal or it has grown large). */
TPM2_RC vt_state_commit_nv(vt_engine *e, unsigned slot);
/* Replay the platform's journal after a load.  VT_OK or why not. */
vt_status vt_state_replay(vt_engine *e);
unsigned vt_state_version(void);

/* random.c */
void vt_drbg_seed(vt_engine *e, const uint8_t *extra, size_t extra_len);
TPM2_RC vt_random(vt_engine *e, uint8_t *out, size_t len);
/* A nonceTPM (public once sent): from the pool, refilled as needed. */
TPM2_RC vt_random_nonce(vt_engine *e, uint8_t *out, size_t len);
void vt_drbg_stir(vt_engine *e, const uint8_t *data, size_t len);

/* clock.c */
uint64_t vt_clock_now(vt_engine *e);
uint64_t vt_time_now(vt_engine *e);
void vt_clock_power_on(vt_engine *e);
TPM2_RC vt_clock_maybe_save(vt_engine *e); /* commit if it ran far enough */
void vt_clock_info(vt_engine *e, TPMS_CLOCK_INFO *ci);

/* pcr.c */
void vt_pcr_init_all(vt_engine *e, bool restore_saved);
bool vt_pcr_can_extend(unsigned pcr, uint8_t locality);
bool vt_pcr_can_reset(unsigned pcr, uint8_t locality);
bool vt_pcr_is_saved(unsigned pcr);
bool vt_pcr_no_increment(unsigned pcr);
void vt_pcr_extend(vt_engine *e, unsigned pcr, int bank, const uint8_t *digest);
TPM2_RC vt_pcr_check_selection(const TPML_PCR_SELECTION *sel);
void vt_pcr_drtm_start(vt_engine *e);
void vt_pcr_drtm_end(vt_engine *e);
/* H(selected PCR values in selection order) with alg; size or 0. */
size_t vt_pcr_digest(vt_engine *e, const TPML_PCR_SELECTION *sel, TPM2_ALG_ID alg, uint8_t *out);

/* cmd_capability.c: the one list of implemented algorithms */
bool vt_alg_implemented(TPM2_ALG_ID alg);

/* hierarchy.c */
const uint8_t *vt_hierarchy_proof(vt_engine *e, TPMI_RH_HIERARCHY h);
bool vt_hierarchy_enabled(const vt_engine *e, TPMI_RH_HIERARCHY h);
/* The authPolicy of a permanent handle (owner, endorsement, lockout,
 * platform); NULL for any other handle. */
vt_hier_policy *vt_hierarchy_policy(vt_engine *e, TPM2_HANDLE h);
/* No policy: TPM_ALG_NULL, empty digest (wiped). */
void vt_hier_policy_clear(vt_hier_policy *pol);
/* check_handle (dispatch.c) for the hierarchy handle kinds
 * (VT_H_HIERARCHY ... VT_H_LOCKOUT); TPM_RC_VALUE for any other kind. */
TPM2_RC vt_hierarchy_check_handle(vt_engine *e, int kind, TPM2_HANDLE h);

/* da.c: dictionary-attack protection (Part 1 §19.8).
 * vt_da_check: before the authValue of entity h is checked: TPM_RC_LOCKOUT
 * when a DA-protected h may not be tried now (bare code, no session
 * number).  vt_da_result: after the check; rc is its result: an
 * authorization failure (TPM_RC_AUTH_FAIL, any session number) of h is
 * counted.  Returns rc.  vt_da_commit: make a counted failure durable
 * before the error response goes out (vt_engine_execute calls it on every
 * error); TPM_RC_SUCCESS or why the commit failed. */
TPM2_RC vt_da_check(vt_engine *e, TPM2_HANDLE h, bool da_protected);
TPM2_RC vt_da_result(vt_engine *e, TPM2_HANDLE h, TPM2_RC rc);
TPM2_RC vt_da_commit(vt_engine *e);
/* Apply the Startup rules (once per Startup; called lazily by the other
 * vt_da_ functions, and safe to call from TPM2_Startup). */
void vt_da_startup(vt_engine *e);
/* Self-healing: forgive failures recoveryTime has passed for, re-enable
 * lockoutAuth after lockoutRecovery.  Changes only memory. */
void vt_da_update(vt_engine *e);
bool vt_da_in_lockout(vt_engine *e);
/* Defaults at manufacture (and for a state written before they existed). */
void vt_da_defaults(vt_da_state *da);

/* sequences (cmd_hash.c) and transient objects */
vt_sequence *vt_sequence_find(vt_engine *e, TPM2_HANDLE h);

/* authorization values of entities (auth.c) */
typedef struct {
    const uint8_t *auth;
    size_t auth_len;
    bool da_protected;
} vt_entity_auth;
TPM2_RC vt_entity_lookup(vt_engine *e, TPM2_HANDLE h, vt_entity_auth *out);

/* ---- the command table ---- */

/* Handle kinds the dispatcher validates (Part 2 interface types). */
typedef enum {
    VT_H_NONE = 0,
    VT_H_PCR,        /* TPMI_DH_PCR (no TPM_RH_NULL) */
    VT_H_PCR_NULL,   /* TPMI_DH_PCR+ */
    VT_H_PLATFORM,   /* TPMI_RH_PLATFORM */
    VT_H_PROVISION,  /* TPMI_RH_PROVISION: owner or platform */
    VT_H_OBJECT,     /* TPMI_DH_OBJECT: transient (or persistent) object */
    VT_H_OBJECT_NULL, /* TPMI_DH_OBJECT+ (StartAuthSession tpmKey) */
    VT_H_ENTITY_NULL, /* TPMI_DH_ENTITY+ (StartAuthSession bind) */
    VT_H_NV_INDEX,    /* TPMI_RH_NV_INDEX: a defined NV index */
    VT_H_NV_AUTH,     /* TPMI_RH_NV_AUTH: owner, platform or a defined NV index */
    VT_H_HIERARCHY_NULL, /* TPMI_RH_HIERARCHY+: owner, endorsement, platform, null */
    VT_H_PARENT,      /* TPMI_DH_PARENT+: an object or a hierarchy (CreateLoaded) */
    VT_H_SAVED,       /* TPMI_DH_SAVED: object, sequence or session (ContextSave) */
    VT_H_ENDORSEMENT, /* TPMI_RH_ENDORSEMENT */
    /* hierarchy.c checks these (vt_hierarchy_check_handle) */
    VT_H_HIERARCHY,      /* TPMI_RH_HIERARCHY: owner, endorsement, platform */
    VT_H_HIERARCHY_AUTH, /* TPMI_RH_HIERARCHY_AUTH / _POLICY: + lockout */
    VT_H_CLEAR,          /* TPMI_RH_CLEAR: lockout or platform */
    VT_H_LOCKOUT,        /* TPMI_RH_LOCKOUT */
    VT_H_HMAC_SESSION,   /* TPMI_SH_HMAC: a loaded HMAC session (dispatch.c) */
} vt_handle_kind;

#define VT_CMD_NO_SESSIONS 0x01u /* tag must be TPM_ST_NO_SESSIONS */
#define VT_CMD_NV          0x02u /* TPMA_CC nv: may write NV */
#define VT_CMD_FLUSHED     0x04u /* TPMA_CC flushed */
#define VT_CMD_EXTENSIVE   0x08u /* TPMA_CC extensive */
#define VT_CMD_DUP1        0x10u /* handle 1 is authorized in the DUP role */
#define VT_CMD_ADMIN1      0x40u /* handle 1 is authorized in the ADMIN role */
#define VT_CMD_NV_READ     0x80u /* an NV index authorizing handle 1 is read (else written) */
/* Parameter encryption (Part 1 §21): the first command parameter / the
 * first response parameter is a TPM2B, so a decrypt / encrypt session may
 * protect it (else such a session gets TPM_RC_ATTRIBUTES). */
#define VT_CMD_DEC2B       0x100u
#define VT_CMD_ENC2B       0x200u

typedef struct vt_cmd_def {
    TPM2_CC cc;
    const char *name;
    uint8_t n_handles;
    uint8_t n_auth; /* the first n_auth handles need authorization */
    uint8_t n_rsp_handles;
    uint16_t flags;
    uint8_t kind[VT_MAX_HANDLES];
    vt_action action;
} vt_cmd_def;

extern const vt_cmd_def vt_commands[];
extern const size_t vt_command_count;
const vt_cmd_def *vt_command_find(TPM2_CC cc);
TPMA_CC vt_command_attributes(const vt_cmd_def *d);

/* ---- actions (src/engine/cmd/) ---- */
TPM2_RC vt_cmd_startup(vt_cmd *c);
TPM2_RC vt_cmd_shutdown(vt_cmd *c);
TPM2_RC vt_cmd_selftest(vt_cmd *c);
TPM2_RC vt_cmd_incremental_selftest(vt_cmd *c);
TPM2_RC vt_cmd_get_test_result(vt_cmd *c);
TPM2_RC vt_cmd_get_capability(vt_cmd *c);
TPM2_RC vt_cmd_test_parms(vt_cmd *c);
TPM2_RC vt_cmd_get_random(vt_cmd *c);
TPM2_RC vt_cmd_stir_random(vt_cmd *c);
TPM2_RC vt_cmd_pcr_read(vt_cmd *c);
TPM2_RC vt_cmd_pcr_extend(vt_cmd *c);
TPM2_RC vt_cmd_pcr_event(vt_cmd *c);
TPM2_RC vt_cmd_pcr_reset(vt_cmd *c);
TPM2_RC vt_cmd_pcr_allocate(vt_cmd *c);
TPM2_RC vt_cmd_hash(vt_cmd *c);
TPM2_RC vt_cmd_hash_sequence_start(vt_cmd *c);
TPM2_RC vt_cmd_sequence_update(vt_cmd *c);
TPM2_RC vt_cmd_sequence_complete(vt_cmd *c);
TPM2_RC vt_cmd_event_sequence_complete(vt_cmd *c);
TPM2_RC vt_cmd_read_clock(vt_cmd *c);
TPM2_RC vt_cmd_clock_set(vt_cmd *c);
TPM2_RC vt_cmd_clock_rate_adjust(vt_cmd *c);
TPM2_RC vt_cmd_flush_context(vt_cmd *c);
TPM2_RC vt_cmd_start_auth_session(vt_cmd *c);
TPM2_RC vt_cmd_nv_define_space(vt_cmd *c);
TPM2_RC vt_cmd_nv_undefine_space(vt_cmd *c);
TPM2_RC vt_cmd_nv_undefine_space_special(vt_cmd *c);
TPM2_RC vt_cmd_nv_read_public(vt_cmd *c);
TPM2_RC vt_cmd_nv_read(vt_cmd *c);
TPM2_RC vt_cmd_nv_write(vt_cmd *c);
TPM2_RC vt_cmd_nv_increment(vt_cmd *c);
TPM2_RC vt_cmd_nv_extend(vt_cmd *c);
TPM2_RC vt_cmd_nv_set_bits(vt_cmd *c);
TPM2_RC vt_cmd_nv_write_lock(vt_cmd *c);
TPM2_RC vt_cmd_nv_read_lock(vt_cmd *c);
TPM2_RC vt_cmd_nv_global_write_lock(vt_cmd *c);
TPM2_RC vt_cmd_nv_change_auth(vt_cmd *c);
/* objects (cmd_object.c) */
TPM2_RC vt_cmd_create_primary(vt_cmd *c);
TPM2_RC vt_cmd_create(vt_cmd *c);
TPM2_RC vt_cmd_create_loaded(vt_cmd *c);
TPM2_RC vt_cmd_load(vt_cmd *c);
TPM2_RC vt_cmd_load_external(vt_cmd *c);
TPM2_RC vt_cmd_read_public(vt_cmd *c);
TPM2_RC vt_cmd_object_change_auth(vt_cmd *c);
TPM2_RC vt_cmd_unseal(vt_cmd *c);
TPM2_RC vt_cmd_evict_control(vt_cmd *c);
TPM2_RC vt_cmd_context_save(vt_cmd *c);
TPM2_RC vt_cmd_context_load(vt_cmd *c);
/* signing, asymmetric and symmetric crypto (cmd_sign.c, cmd_crypt.c) */
TPM2_RC vt_cmd_sign(vt_cmd *c);
TPM2_RC vt_cmd_verify_signature(vt_cmd *c);
TPM2_RC vt_cmd_rsa_encrypt(vt_cmd *c);
TPM2_RC vt_cmd_rsa_decrypt(vt_cmd *c);
TPM2_RC vt_cmd_ecdh_keygen(vt_cmd *c);
TPM2_RC vt_cmd_ecdh_zgen(vt_cmd *c);
TPM2_RC vt_cmd_ecc_parameters(vt_cmd *c);
TPM2_RC vt_cmd_encrypt_decrypt(vt_cmd *c);
TPM2_RC vt_cmd_encrypt_decrypt2(vt_cmd *c);
TPM2_RC vt_cmd_hmac(vt_cmd *c);
TPM2_RC vt_cmd_hmac_start(vt_cmd *c);
/* attestation (cmd_attest.c) */
TPM2_RC vt_cmd_quote(vt_cmd *c);
TPM2_RC vt_cmd_certify(vt_cmd *c);
TPM2_RC vt_cmd_certify_creation(vt_cmd *c);
TPM2_RC vt_cmd_get_time(vt_cmd *c);
TPM2_RC vt_cmd_nv_certify(vt_cmd *c);
/* duplication and credentials (cmd_dup.c) */
TPM2_RC vt_cmd_duplicate(vt_cmd *c);
TPM2_RC vt_cmd_import(vt_cmd *c);
TPM2_RC vt_cmd_rewrap(vt_cmd *c);
TPM2_RC vt_cmd_make_credential(vt_cmd *c);
TPM2_RC vt_cmd_activate_credential(vt_cmd *c);

/* vendor commands (cmd_vendor.c, docs/VENDOR-COMMANDS.md) */
TPM2_RC vt_cmd_trust_add(vt_cmd *c);
TPM2_RC vt_cmd_trust_remove(vt_cmd *c);
TPM2_RC vt_cmd_trust_policy(vt_cmd *c);
TPM2_RC vt_cmd_trust_read(vt_cmd *c);
TPM2_RC vt_cmd_verify_bundle(vt_cmd *c);
TPM2_RC vt_cmd_floor_lower(vt_cmd *c);

/* audit (cmd_audit.c, Part 3 §21) */
TPM2_RC vt_cmd_set_command_code_audit_status(vt_cmd *c);
TPM2_RC vt_cmd_get_command_audit_digest(vt_cmd *c);
TPM2_RC vt_cmd_get_session_audit_digest(vt_cmd *c);
bool vt_audit_is_audited(const vt_engine *e, TPM2_CC cc);
TPM2_ALG_ID vt_audit_alg(const vt_engine *e);
/* Extend the command audit digest / a session's audit digest with cpHash
 * and rpHash (len octets each, the digest's size). */
void vt_audit_command(vt_engine *e, TPM2_ALG_ID alg, const uint8_t *cp, const uint8_t *rp, size_t len);
/* Before an audited command's state commit: a digest that starts now
 * counts in the audit counter, which must be on disk with the command.
 * True when that changed the persistent state. */
bool vt_audit_begin(vt_engine *e);
void vt_audit_session(vt_engine *e, vt_session *s, bool reset, const uint8_t *cp, const uint8_t *rp,
                      size_t len);
/* The audited commands from `from` on, ascending (GetCapability). */
size_t vt_audit_list(const vt_engine *e, TPM2_CC from, TPM2_CC *out, size_t max, bool *more);

/* policy sessions (cmd_policy.c, Part 3 §23) */
TPM2_RC vt_cmd_policy_secret(vt_cmd *c);
TPM2_RC vt_cmd_policy_or(vt_cmd *c);
TPM2_RC vt_cmd_policy_command_code(vt_cmd *c);
TPM2_RC vt_cmd_policy_pcr(vt_cmd *c);
TPM2_RC vt_cmd_policy_restart(vt_cmd *c);
TPM2_RC vt_cmd_policy_auth_value(vt_cmd *c);
TPM2_RC vt_cmd_policy_password(vt_cmd *c);
TPM2_RC vt_cmd_policy_get_digest(vt_cmd *c);

/* hierarchies and dictionary attack (cmd_hierarchy.c, Part 3 §24–25) */
TPM2_RC vt_cmd_hierarchy_control(vt_cmd *c);
TPM2_RC vt_cmd_change_eps(vt_cmd *c);
TPM2_RC vt_cmd_change_pps(vt_cmd *c);
TPM2_RC vt_cmd_clear(vt_cmd *c);
TPM2_RC vt_cmd_clear_control(vt_cmd *c);
TPM2_RC vt_cmd_hierarchy_change_auth(vt_cmd *c);
TPM2_RC vt_cmd_set_primary_policy(vt_cmd *c);
TPM2_RC vt_cmd_da_lock_reset(vt_cmd *c);
TPM2_RC vt_cmd_da_parameters(vt_cmd *c);
TPM2_RC vt_cmd_policy_signed(vt_cmd *c);
TPM2_RC vt_cmd_policy_ticket(vt_cmd *c);
TPM2_RC vt_cmd_policy_authorize(vt_cmd *c);
TPM2_RC vt_cmd_policy_authorize_nv(vt_cmd *c);
TPM2_RC vt_cmd_policy_nv(vt_cmd *c);
TPM2_RC vt_cmd_policy_counter_timer(vt_cmd *c);
TPM2_RC vt_cmd_policy_locality(vt_cmd *c);
TPM2_RC vt_cmd_policy_cp_hash(vt_cmd *c);
TPM2_RC vt_cmd_policy_name_hash(vt_cmd *c);
TPM2_RC vt_cmd_policy_duplication_select(vt_cmd *c);
TPM2_RC vt_cmd_policy_physical_presence(vt_cmd *c);
TPM2_RC vt_cmd_policy_nv_written(vt_cmd *c);
TPM2_RC vt_cmd_policy_template(vt_cmd *c);
/* The deferred conditions of policy session ss (PolicyNameHash,
 * PolicyDuplicationSelect, PolicyTemplate, PolicyLocality,
 * PolicyPhysicalPresence, PolicyNvWritten) for command c authorizing
 * handle h with session number n; auth.c's check_policy calls it. */
TPM2_RC vt_policy_check_deferred(vt_cmd *c, const vt_session *ss, unsigned n, TPM2_HANDLE h);

/* object.c: what the current client (vt_engine_set_client) loads is its
 * own, and goes when it does. */
void vt_engine_claim(vt_engine *e, TPM2_HANDLE h);

/* session.c.  vt_session_find finds a loaded or a context-saved session
 * (FlushContext takes either); s->saved tells them apart. */
vt_session *vt_session_find(vt_engine *e, TPM2_HANDLE h);
void vt_session_free(vt_session *s);
unsigned vt_sessions_loaded(const vt_engine *e);
unsigned vt_sessions_active(const vt_engine *e); /* loaded + saved */
/* Forget a policy session's policy state (PolicyRestart, and after it
 * authorized a command and continues). */
void vt_session_policy_reset(vt_session *s);
/* bind_id of the entity at h: SHA-256(Name || authValue trimmed). */
void vt_session_bind_id(vt_engine *e, TPM2_HANDLE h, uint8_t id[32]);
/* ContextSave / ContextLoad of a session (Part 1 §30), called by
 * cmd_object.c for session handles. */
TPM2_RC vt_session_context_save(vt_cmd *c);
TPM2_RC vt_session_context_load(vt_cmd *c, const TPMS_CONTEXT *ctx);
/* The Name of an entity for cpHash (Part 1 §16): the handle for PCRs,
 * permanent handles and sessions; empty for sequence objects; nameAlg ||
 * H(public area) for NV indices.  `out` holds VT_MAX_NAME octets. */
size_t vt_entity_name(vt_engine *e, TPM2_HANDLE h, uint8_t *out);

#endif
