/* TPM2_GetCapability and TPM2_TestParms (TPM 2.0 Part 3 §30, §10.?).
 *
 * Every value here is what this TPM actually implements: the algorithm list
 * is the crypto room's, the command list is the command table, the PCR list
 * is the live allocation.  Each list starts at the requested property and
 * says moreData when it had to stop. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "vitrum/version.h"

/* ---- algorithms ---- */

typedef struct {
    TPM2_ALG_ID alg;
    TPMA_ALGORITHM attrs;
} alg_entry;

/* Sorted by algorithm ID (a unit test checks it). */
static const alg_entry algs[] = {
    { TPM2_ALG_RSA, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_OBJECT },
    { TPM2_ALG_SHA1, TPMA_ALGORITHM_HASH },
    { TPM2_ALG_HMAC, TPMA_ALGORITHM_HASH | TPMA_ALGORITHM_SIGNING },
    { TPM2_ALG_AES, TPMA_ALGORITHM_SYMMETRIC },
    { TPM2_ALG_MGF1, TPMA_ALGORITHM_HASH | TPMA_ALGORITHM_METHOD },
    { TPM2_ALG_KEYEDHASH, TPMA_ALGORITHM_HASH | TPMA_ALGORITHM_OBJECT },
    { TPM2_ALG_XOR, TPMA_ALGORITHM_SYMMETRIC | TPMA_ALGORITHM_HASH },
    { TPM2_ALG_SHA256, TPMA_ALGORITHM_HASH },
    { TPM2_ALG_SHA384, TPMA_ALGORITHM_HASH },
    { TPM2_ALG_SHA512, TPMA_ALGORITHM_HASH },
    { TPM2_ALG_RSASSA, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_SIGNING },
    { TPM2_ALG_RSAES, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
    { TPM2_ALG_RSAPSS, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_SIGNING },
    { TPM2_ALG_OAEP, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
    { TPM2_ALG_ECDSA, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_SIGNING },
    { TPM2_ALG_ECDH, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_METHOD },
    { TPM2_ALG_KDF1_SP800_56A, TPMA_ALGORITHM_HASH | TPMA_ALGORITHM_METHOD },
    { TPM2_ALG_KDF1_SP800_108, TPMA_ALGORITHM_HASH | TPMA_ALGORITHM_METHOD },
    { TPM2_ALG_ECC, TPMA_ALGORITHM_ASYMMETRIC | TPMA_ALGORITHM_OBJECT },
    { TPM2_ALG_SYMCIPHER, TPMA_ALGORITHM_OBJECT },
    { TPM2_ALG_CTR, TPMA_ALGORITHM_SYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
    { TPM2_ALG_OFB, TPMA_ALGORITHM_SYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
    { TPM2_ALG_CBC, TPMA_ALGORITHM_SYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
    { TPM2_ALG_CFB, TPMA_ALGORITHM_SYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
    { TPM2_ALG_ECB, TPMA_ALGORITHM_SYMMETRIC | TPMA_ALGORITHM_ENCRYPTING },
};

bool vt_alg_implemented(TPM2_ALG_ID a)
{
    size_t i;
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algs[i].alg == a)
            return true;
    return false;
}

/* A bounded list writer: count first, then items; stops at `max` and
 * reports whether more would have followed. */
typedef struct {
    vt_out *o;
    size_t count_off;
    uint32_t count, max;
    bool more;
} list_writer;

static void list_begin(list_writer *l, vt_out *o, uint32_t max)
{
    l->o = o;
    l->count = 0;
    l->max = max;
    l->more = false;
    l->count_off = o->off;
    vt_out_u32(o, 0);
}

/* True when an item may be written; false (and `more`) once full. */
static bool list_take(list_writer *l)
{
    if (l->count >= l->max) {
        l->more = true;
        return false;
    }
    l->count++;
    return true;
}

static void list_end(list_writer *l)
{
    if (l->o->overflow)
        return;
    l->o->buf[l->count_off] = (uint8_t)(l->count >> 24);
    l->o->buf[l->count_off + 1] = (uint8_t)(l->count >> 16);
    l->o->buf[l->count_off + 2] = (uint8_t)(l->count >> 8);
    l->o->buf[l->count_off + 3] = (uint8_t)l->count;
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static bool cap_algs(vt_out *o, uint32_t first, uint32_t n)
{
    list_writer l;
    size_t i;
    list_begin(&l, o, min_u32(n, TPM2_MAX_CAP_ALGS));
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (algs[i].alg < first)
            continue;
        if (!list_take(&l))
            break;
        vt_out_u16(o, algs[i].alg);
        vt_out_u32(o, algs[i].attrs);
    }
    list_end(&l);
    return l.more;
}

static bool cap_commands(vt_out *o, uint32_t first, uint32_t n)
{
    list_writer l;
    size_t i;
    list_begin(&l, o, min_u32(n, TPM2_MAX_CAP_CC));
    for (i = 0; i < vt_command_count; i++) {
        if (vt_commands[i].cc < first)
            continue;
        if (!list_take(&l))
            break;
        vt_out_u32(o, vt_command_attributes(&vt_commands[i]));
    }
    list_end(&l);
    return l.more;
}

/* The vendor commands (TPMA_CC.V) in the table: docs/VENDOR-COMMANDS.md. */
static size_t vendor_commands(void)
{
    size_t i, n = 0;
    for (i = 0; i < vt_command_count; i++)
        n += (vt_commands[i].cc & TPMA_CC_V) != 0;
    return n;
}

/* No command needs physical presence. */
static bool cap_empty_cc_list(vt_out *o)
{
    vt_out_u32(o, 0);
    return false;
}

/* The audited command codes (cmd_audit.c), ascending. */
static bool cap_audit_commands(vt_engine *e, vt_out *o, uint32_t first, uint32_t n)
{
    TPM2_CC cc[TPM2_MAX_CAP_CC];
    list_writer l;
    bool more;
    size_t i, k = vt_audit_list(e, first, cc, min_u32(n, TPM2_MAX_CAP_CC), &more);

    list_begin(&l, o, (uint32_t)k);
    for (i = 0; i < k; i++) {
        if (!list_take(&l))
            break;
        vt_out_u32(o, cc[i]);
    }
    list_end(&l);
    return more || l.more;
}

static const TPM2_HANDLE permanent_handles[] = {
    TPM2_RH_OWNER, TPM2_RH_NULL, TPM2_RS_PW, TPM2_RH_LOCKOUT,
    TPM2_RH_ENDORSEMENT, TPM2_RH_PLATFORM, TPM2_RH_PLATFORM_NV,
};

/* Keep in *best the smallest used handle at or above `from`. */
static void take_min(bool used, uint32_t h, uint32_t from, uint32_t *best, bool *found)
{
    if (used && h >= from && (!*found || h < *best)) {
        *best = h;
        *found = true;
    }
}

static bool cap_handles(vt_engine *e, vt_out *o, uint32_t first, uint32_t n)
{
    list_writer l;
    uint32_t h;
    size_t i;

    list_begin(&l, o, min_u32(n, TPM2_MAX_CAP_HANDLES));
    switch (first >> 24) {
    case TPM2_HT_PCR:
        for (h = first; h < VT_PCR_COUNT; h++) {
            if (!list_take(&l))
                break;
            vt_out_u32(o, h);
        }
        break;
    case TPM2_HT_PERMANENT:
        for (i = 0; i < sizeof(permanent_handles) / sizeof(permanent_handles[0]); i++) {
            if (permanent_handles[i] < first)
                continue;
            if (!list_take(&l))
                break;
            vt_out_u32(o, permanent_handles[i]);
        }
        break;
    case TPM2_HT_TRANSIENT: {
        /* Loaded transient objects and sequences in handle order. */
        uint32_t last = first;
        for (;;) {
            uint32_t best = 0;
            bool found = false;
            for (i = 0; i < VT_MAX_SEQUENCES; i++)
                take_min(e->v.seq[i].kind != VT_SEQ_FREE, e->v.seq[i].handle, last, &best, &found);
            for (i = 0; i < VT_MAX_OBJECTS; i++)
                take_min(e->v.objects[i].used, e->v.objects[i].handle, last, &best, &found);
            if (!found || !list_take(&l))
                break;
            vt_out_u32(o, best);
            last = best + 1;
        }
        break;
    }
    case TPM2_HT_HMAC_SESSION:   /* == TPM2_HT_LOADED_SESSION: sessions in TPM memory */
    case TPM2_HT_POLICY_SESSION: /* == TPM2_HT_SAVED_SESSION: context-saved sessions */
    {
        /* Both kinds share the low 24 bits of their handles (session.c):
         * list in that order, from the low bits of `first`. */
        bool want_saved = (first >> 24) == TPM2_HT_SAVED_SESSION;
        for (h = first;;) {
            uint32_t best = 0;
            bool found = false;
            for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++) {
                const vt_session *s = &e->v.sessions[i];
                uint32_t sh = s->handle & 0x00FFFFFFu;
                if (s->used && s->saved == want_saved && sh >= (h & 0x00FFFFFFu) &&
                    (!found || sh < (best & 0x00FFFFFFu))) {
                    best = s->handle;
                    found = true;
                }
            }
            if (!found || !list_take(&l))
                break;
            vt_out_u32(o, best);
            if ((best & 0x00FFFFFFu) == 0x00FFFFFFu)
                break;
            h = (first & 0xFF000000u) | ((best & 0x00FFFFFFu) + 1);
        }
        break;
    }
    case TPM2_HT_NV_INDEX: {
        /* Defined indices in handle order. */
        TPM2_HANDLE next = first;
        while (vt_nv_next_handle(&e->p.nv, next, &h)) {
            if (!list_take(&l))
                break;
            vt_out_u32(o, h);
            if (h == TPM2_NV_INDEX_LAST)
                break;
            next = h + 1;
        }
        break;
    }
    case TPM2_HT_PERSISTENT: {
        /* Persistent objects in handle order. */
        uint32_t last = first;
        for (;;) {
            uint32_t best = 0;
            bool found = false;
            for (i = 0; i < VT_MAX_PERSISTENT; i++)
                take_min(e->p.persistent[i].used, e->p.persistent[i].handle, last, &best, &found);
            if (!found || !list_take(&l))
                break;
            vt_out_u32(o, best);
            if (best == 0x81FFFFFFu)
                break;
            last = best + 1;
        }
        break;
    }
    default:
        l.count = 0;
        break;
    }
    list_end(&l);
    return l.more;
}

static bool cap_pcrs(vt_engine *e, vt_out *o)
{
    unsigned b;
    /* Every implemented bank, with the PCRs allocated in it (Part 3 §30.2). */
    vt_out_u32(o, VT_BANK_COUNT);
    for (b = 0; b < VT_BANK_COUNT; b++) {
        uint8_t on = (e->p.pcr_banks & (1u << b)) ? 0xFF : 0x00;
        vt_out_u16(o, vt_bank_alg[b]);
        vt_out_u8(o, VT_PCR_SELECT_MIN);
        vt_out_u8(o, on);
        vt_out_u8(o, on);
        vt_out_u8(o, on);
    }
    return false;
}

/* ---- TPM properties ---- */

static uint32_t str4(const char *s)
{
    return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | (uint32_t)s[3];
}

/* Returns false when `pt` is not a property this TPM reports. */
static bool property(vt_engine *e, TPM2_PT pt, uint32_t *v)
{
    switch (pt) {
    case TPM2_PT_FAMILY_INDICATOR: *v = str4("2.0\0"); return true;
    case TPM2_PT_LEVEL: *v = 0; return true;
    case TPM2_PT_REVISION: *v = 159; return true; /* Library spec 1.59 */
    case TPM2_PT_DAY_OF_YEAR: *v = 312; return true;
    case TPM2_PT_YEAR: *v = 2019; return true;
    case TPM2_PT_MANUFACTURER: *v = str4("VTRM"); return true;
    case TPM2_PT_VENDOR_STRING_1: *v = str4("vitr"); return true;
    case TPM2_PT_VENDOR_STRING_2: *v = str4("um\0\0"); return true;
    case TPM2_PT_VENDOR_STRING_3: *v = 0; return true;
    case TPM2_PT_VENDOR_STRING_4: *v = 0; return true;
    case TPM2_PT_VENDOR_TPM_TYPE: *v = 1; return true;
    /* The running release once the host set it (trust.c). */
    case TPM2_PT_FIRMWARE_VERSION_1: *v = (uint32_t)(vt_firmware_version(e) >> 32); return true;
    case TPM2_PT_FIRMWARE_VERSION_2: *v = (uint32_t)vt_firmware_version(e); return true;
    case TPM2_PT_INPUT_BUFFER: *v = TPM2_MAX_DIGEST_BUFFER; return true;
    case TPM2_PT_HR_TRANSIENT_MIN: *v = VT_MAX_OBJECTS; return true;
    case TPM2_PT_HR_PERSISTENT_MIN: *v = VT_MAX_PERSISTENT; return true;
    case TPM2_PT_HR_LOADED_MIN: *v = VT_MAX_LOADED_SESSIONS; return true;
    case TPM2_PT_ACTIVE_SESSIONS_MAX: *v = VT_MAX_ACTIVE_SESSIONS; return true;
    case TPM2_PT_PCR_COUNT: *v = VT_PCR_COUNT; return true;
    case TPM2_PT_PCR_SELECT_MIN: *v = VT_PCR_SELECT_MIN; return true;
    case TPM2_PT_CONTEXT_GAP_MAX: *v = 0xFFFF; return true;
    case TPM2_PT_NV_COUNTERS_MAX: *v = 0; return true; /* no separate limit: they share the pool */
    case TPM2_PT_NV_INDEX_MAX: *v = VT_NV_INDEX_MAX; return true;
    case TPM2_PT_MEMORY: *v = TPMA_MEMORY_SHAREDRAM | TPMA_MEMORY_SHAREDNV; return true;
    case TPM2_PT_CLOCK_UPDATE: *v = VT_CLOCK_SAVE_INTERVAL_MS; return true;
    case TPM2_PT_CONTEXT_HASH: *v = TPM2_ALG_SHA256; return true;
    case TPM2_PT_CONTEXT_SYM: *v = TPM2_ALG_AES; return true;
    case TPM2_PT_CONTEXT_SYM_SIZE: *v = 256; return true;
    case TPM2_PT_ORDERLY_COUNT: *v = 0; return true;
    case TPM2_PT_MAX_COMMAND_SIZE: *v = VT_MAX_COMMAND_SIZE; return true;
    case TPM2_PT_MAX_RESPONSE_SIZE: *v = VT_MAX_RESPONSE_SIZE; return true;
    case TPM2_PT_MAX_DIGEST: *v = VT_MAX_DIGEST; return true;
    case TPM2_PT_MAX_OBJECT_CONTEXT: *v = TPM2_MAX_CONTEXT_SIZE; return true;
    case TPM2_PT_MAX_SESSION_CONTEXT: *v = 34 + 512; return true; /* contextBlob: HMAC + state (session.c) */
    case TPM2_PT_PS_FAMILY_INDICATOR: *v = TPM2_PS_PC; return true;
    case TPM2_PT_PS_LEVEL: *v = 0; return true;
    case TPM2_PT_PS_REVISION: *v = 105; return true; /* PC Client PTP 1.05 */
    case TPM2_PT_PS_DAY_OF_YEAR: *v = 0; return true;
    case TPM2_PT_PS_YEAR: *v = 0; return true;
    case TPM2_PT_SPLIT_MAX: *v = 0; return true;
    case TPM2_PT_TOTAL_COMMANDS: *v = (uint32_t)vt_command_count; return true;
    case TPM2_PT_LIBRARY_COMMANDS: *v = (uint32_t)(vt_command_count - vendor_commands()); return true;
    case TPM2_PT_VENDOR_COMMANDS: *v = (uint32_t)vendor_commands(); return true;
    case TPM2_PT_NV_BUFFER_MAX: *v = VT_NV_BUFFER_MAX; return true;
    case TPM2_PT_MODES: *v = 0; return true;
    case TPM2_PT_MAX_CAP_BUFFER: *v = TPM2_MAX_CAP_BUFFER; return true;

    case TPM2_PT_PERMANENT:
        *v = (e->p.owner_auth_len ? TPMA_PERMANENT_OWNERAUTHSET : 0) |
             (e->p.endorsement_auth_len ? TPMA_PERMANENT_ENDORSEMENTAUTHSET : 0) |
             (e->p.lockout_auth_len ? TPMA_PERMANENT_LOCKOUTAUTHSET : 0) |
             (e->p.disable_clear ? TPMA_PERMANENT_DISABLECLEAR : 0) |
             (vt_da_in_lockout(e) ? TPMA_PERMANENT_INLOCKOUT : 0) |
             TPMA_PERMANENT_TPMGENERATEDEPS;
        return true;
    case TPM2_PT_STARTUP_CLEAR:
        *v = (e->v.ph_enable ? TPMA_STARTUP_CLEAR_PHENABLE : 0) |
             (e->v.sh_enable ? TPMA_STARTUP_CLEAR_SHENABLE : 0) |
             (e->v.eh_enable ? TPMA_STARTUP_CLEAR_EHENABLE : 0) |
             (e->v.ph_enable_nv ? TPMA_STARTUP_CLEAR_PHENABLENV : 0) |
             (e->v.orderly ? TPMA_STARTUP_CLEAR_ORDERLY : 0);
        return true;
    case TPM2_PT_HR_NV_INDEX: *v = vt_nv_count(&e->p.nv, false); return true;
    case TPM2_PT_HR_LOADED: *v = vt_sessions_loaded(e); return true;
    case TPM2_PT_HR_LOADED_AVAIL: *v = VT_MAX_LOADED_SESSIONS - vt_sessions_loaded(e); return true;
    case TPM2_PT_HR_ACTIVE: *v = vt_sessions_active(e); return true;
    case TPM2_PT_HR_ACTIVE_AVAIL: *v = VT_MAX_ACTIVE_SESSIONS - vt_sessions_active(e); return true;
    case TPM2_PT_HR_TRANSIENT_AVAIL: *v = VT_MAX_OBJECTS - vt_objects_loaded(e); return true;
    case TPM2_PT_HR_PERSISTENT: *v = vt_objects_persistent(e); return true;
    case TPM2_PT_HR_PERSISTENT_AVAIL: *v = VT_MAX_PERSISTENT - vt_objects_persistent(e); return true;
    case TPM2_PT_NV_COUNTERS: *v = vt_nv_count(&e->p.nv, true); return true;
    case TPM2_PT_NV_COUNTERS_AVAIL: {
        /* A counter needs a table entry and 8 octets of pool. */
        uint32_t slots = VT_NV_MAX_INDICES - vt_nv_count(&e->p.nv, false);
        uint32_t room = (e->p.nv.pool_size - vt_nv_used(&e->p.nv)) / 8;
        *v = min_u32(slots, room);
        return true;
    }
    case TPM2_PT_ALGORITHM_SET: *v = 0; return true;
    case TPM2_PT_LOADED_CURVES: *v = 3; return true;
    /* dictionary attack (da.c): failures forgiven so far are taken off */
    case TPM2_PT_LOCKOUT_COUNTER: vt_da_update(e); *v = e->p.da.failed_tries; return true;
    case TPM2_PT_MAX_AUTH_FAIL: vt_da_update(e); *v = e->p.da.max_tries; return true;
    case TPM2_PT_LOCKOUT_INTERVAL: vt_da_update(e); *v = e->p.da.recovery_time; return true;
    case TPM2_PT_LOCKOUT_RECOVERY: vt_da_update(e); *v = e->p.da.lockout_recovery; return true;
    case TPM2_PT_NV_WRITE_RECOVERY: *v = 0; return true;
    case TPM2_PT_AUDIT_COUNTER_0: *v = (uint32_t)(e->p.audit_counter >> 32); return true;
    case TPM2_PT_AUDIT_COUNTER_1: *v = (uint32_t)e->p.audit_counter; return true;
    default: return false;
    }
}

static bool cap_properties(vt_engine *e, vt_out *o, uint32_t first, uint32_t n)
{
    list_writer l;
    uint32_t pt, v;

    list_begin(&l, o, min_u32(n, TPM2_MAX_TPM_PROPERTIES));
    for (pt = first < TPM2_PT_FIXED ? TPM2_PT_FIXED : first; pt <= TPM2_PT_AUDIT_COUNTER_1; pt++) {
        if (!property(e, pt, &v)) {
            if (pt > TPM2_PT_MAX_CAP_BUFFER && pt < TPM2_PT_VAR)
                pt = TPM2_PT_VAR - 1; /* skip the gap between the groups */
            continue;
        }
        if (!list_take(&l))
            break;
        vt_out_u32(o, pt);
        vt_out_u32(o, v);
    }
    list_end(&l);
    return l.more;
}

/* TPM_PT_PCR tags (Part 2 §6.14) as locality-bitmap queries. */
static bool pcr_has(TPM2_PT_PCR tag, unsigned pcr)
{
    switch (tag) {
    case TPM2_PT_PCR_SAVE: return vt_pcr_is_saved(pcr);
    case TPM2_PT_PCR_EXTEND_L0: return vt_pcr_can_extend(pcr, 0);
    case TPM2_PT_PCR_RESET_L0: return vt_pcr_can_reset(pcr, 0);
    case TPM2_PT_PCR_EXTEND_L1: return vt_pcr_can_extend(pcr, 1);
    case TPM2_PT_PCR_RESET_L1: return vt_pcr_can_reset(pcr, 1);
    case TPM2_PT_PCR_EXTEND_L2: return vt_pcr_can_extend(pcr, 2);
    case TPM2_PT_PCR_RESET_L2: return vt_pcr_can_reset(pcr, 2);
    case TPM2_PT_PCR_EXTEND_L3: return vt_pcr_can_extend(pcr, 3);
    case TPM2_PT_PCR_RESET_L3: return vt_pcr_can_reset(pcr, 3);
    case TPM2_PT_PCR_EXTEND_L4: return vt_pcr_can_extend(pcr, 4);
    case TPM2_PT_PCR_RESET_L4: return vt_pcr_can_reset(pcr, 4);
    case TPM2_PT_PCR_NO_INCREMENT: return vt_pcr_no_increment(pcr);
    case TPM2_PT_PCR_DRTM_RESET: return pcr >= 17 && pcr <= 22;
    default: return false; /* POLICY, AUTH: no PCR groups */
    }
}

static bool cap_pcr_properties(vt_out *o, uint32_t first, uint32_t n)
{
    static const TPM2_PT_PCR tags[] = {
        TPM2_PT_PCR_SAVE, TPM2_PT_PCR_EXTEND_L0, TPM2_PT_PCR_RESET_L0, TPM2_PT_PCR_EXTEND_L1,
        TPM2_PT_PCR_RESET_L1, TPM2_PT_PCR_EXTEND_L2, TPM2_PT_PCR_RESET_L2, TPM2_PT_PCR_EXTEND_L3,
        TPM2_PT_PCR_RESET_L3, TPM2_PT_PCR_EXTEND_L4, TPM2_PT_PCR_RESET_L4, TPM2_PT_PCR_NO_INCREMENT,
        TPM2_PT_PCR_DRTM_RESET, TPM2_PT_PCR_POLICY, TPM2_PT_PCR_AUTH,
    };
    list_writer l;
    size_t i;
    unsigned pcr;

    list_begin(&l, o, min_u32(n, TPM2_MAX_PCR_PROPERTIES));
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        uint8_t sel[VT_PCR_SELECT_MIN] = { 0 };
        if (tags[i] < first)
            continue;
        if (!list_take(&l))
            break;
        for (pcr = 0; pcr < VT_PCR_COUNT; pcr++)
            if (pcr_has(tags[i], pcr))
                sel[pcr / 8] |= (uint8_t)(1u << (pcr % 8));
        vt_out_u32(o, tags[i]);
        vt_out_u8(o, VT_PCR_SELECT_MIN);
        vt_out_bytes(o, sel, sizeof(sel));
    }
    list_end(&l);
    return l.more;
}

static bool cap_curves(vt_out *o, uint32_t first, uint32_t n)
{
    static const TPM2_ECC_CURVE curves[] = { TPM2_ECC_NIST_P256, TPM2_ECC_NIST_P384, TPM2_ECC_NIST_P521 };
    list_writer l;
    size_t i;

    list_begin(&l, o, min_u32(n, TPM2_MAX_ECC_CURVES));
    for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (curves[i] < first)
            continue;
        if (!list_take(&l))
            break;
        vt_out_u16(o, curves[i]);
    }
    list_end(&l);
    return l.more;
}

/* Hierarchy policies: none is set yet, so each is TPM_ALG_NULL. */
static bool cap_auth_policies(vt_out *o, uint32_t first, uint32_t n)
{
    static const TPM2_HANDLE h[] = { TPM2_RH_OWNER, TPM2_RH_LOCKOUT, TPM2_RH_ENDORSEMENT, TPM2_RH_PLATFORM };
    list_writer l;
    size_t i;

    list_begin(&l, o, min_u32(n, TPM2_MAX_TAGGED_POLICIES));
    for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        if (h[i] < first)
            continue;
        if (!list_take(&l))
            break;
        vt_out_u32(o, h[i]);
        vt_out_u16(o, TPM2_ALG_NULL);
    }
    list_end(&l);
    return l.more;
}

TPM2_RC vt_cmd_get_capability(vt_cmd *c)
{
    uint32_t cap, prop, count;
    size_t more_off;
    bool more;
    vt_out *o = &c->out;

    RETURN_IF_ERROR(vt_in_u32(&c->in, &cap));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &prop));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &count));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (cap > TPM2_CAP_LAST)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    if (cap == TPM2_CAP_HANDLES) {
        switch (prop >> 24) {
        case TPM2_HT_PCR: case TPM2_HT_NV_INDEX: case TPM2_HT_HMAC_SESSION:
        case TPM2_HT_POLICY_SESSION: case TPM2_HT_PERMANENT: case TPM2_HT_TRANSIENT:
        case TPM2_HT_PERSISTENT:
            break;
        default:
            return VT_RC_P(TPM2_RC_HANDLE, 2);
        }
    }

    more_off = o->off;
    vt_out_u8(o, TPM2_NO);
    vt_out_u32(o, cap);
    switch (cap) {
    case TPM2_CAP_ALGS: more = cap_algs(o, prop, count); break;
    case TPM2_CAP_HANDLES: more = cap_handles(c->e, o, prop, count); break;
    case TPM2_CAP_COMMANDS: more = cap_commands(o, prop, count); break;
    case TPM2_CAP_PP_COMMANDS: more = cap_empty_cc_list(o); break;
    case TPM2_CAP_AUDIT_COMMANDS: more = cap_audit_commands(c->e, o, prop, count); break;
    case TPM2_CAP_PCRS: more = cap_pcrs(c->e, o); break;
    case TPM2_CAP_TPM_PROPERTIES: more = cap_properties(c->e, o, prop, count); break;
    case TPM2_CAP_PCR_PROPERTIES: more = cap_pcr_properties(o, prop, count); break;
    case TPM2_CAP_ECC_CURVES: more = cap_curves(o, prop, count); break;
    case TPM2_CAP_AUTH_POLICIES: more = cap_auth_policies(o, prop, count); break;
    default: vt_out_u32(o, 0); more = false; break; /* TPM2_CAP_ACT: none */
    }
    if (!o->overflow && more)
        o->buf[more_off] = TPM2_YES;
    return TPM2_RC_SUCCESS;
}

/* TPM2_TestParms: would these public parameters be accepted? */
static TPM2_RC test_sym(const TPMT_SYM_DEF_OBJECT *d, bool cipher)
{
    if (d->algorithm == TPM2_ALG_NULL && !cipher)
        return TPM2_RC_SUCCESS;
    if (d->algorithm != TPM2_ALG_AES)
        return TPM2_RC_SYMMETRIC;
    if (d->keyBits.aes != 128 && d->keyBits.aes != 192 && d->keyBits.aes != 256)
        return TPM2_RC_KEY_SIZE;
    switch (d->mode.aes) {
    case TPM2_ALG_CFB: return TPM2_RC_SUCCESS;
    case TPM2_ALG_NULL: case TPM2_ALG_CTR: case TPM2_ALG_OFB: case TPM2_ALG_CBC: case TPM2_ALG_ECB:
        return cipher ? TPM2_RC_SUCCESS : TPM2_RC_MODE;
    default: return TPM2_RC_MODE;
    }
}

static TPM2_RC test_scheme_hash(TPM2_ALG_ID h)
{
    return vt_hash_size(h) ? TPM2_RC_SUCCESS : TPM2_RC_HASH;
}

/* TPM2_TestParms (Part 3 §10.?): are these parameters ones this TPM can
 * make an object with?  Attribute combinations are Create's business. */
static TPM2_RC test_parms(const TPMT_PUBLIC_PARMS *p)
{
    switch (p->type) {
    case TPM2_ALG_RSA: {
        const TPMS_RSA_PARMS *r = &p->parameters.rsaDetail;
        if (r->keyBits != 1024 && r->keyBits != 2048 && r->keyBits != 3072 && r->keyBits != 4096)
            return TPM2_RC_KEY_SIZE;
        if (r->exponent != 0 && (r->exponent < 3 || !(r->exponent & 1)))
            return TPM2_RC_VALUE;
        RETURN_IF_ERROR(test_sym(&r->symmetric, false));
        switch (r->scheme.scheme) {
        case TPM2_ALG_NULL: case TPM2_ALG_RSAES: return TPM2_RC_SUCCESS;
        case TPM2_ALG_RSASSA: case TPM2_ALG_RSAPSS: case TPM2_ALG_OAEP:
            return test_scheme_hash(r->scheme.details.anySig.hashAlg);
        default: return TPM2_RC_SCHEME;
        }
    }
    case TPM2_ALG_ECC: {
        const TPMS_ECC_PARMS *ep = &p->parameters.eccDetail;
        if (ep->curveID != TPM2_ECC_NIST_P256 && ep->curveID != TPM2_ECC_NIST_P384 &&
            ep->curveID != TPM2_ECC_NIST_P521)
            return TPM2_RC_CURVE;
        if (ep->kdf.scheme != TPM2_ALG_NULL)
            return TPM2_RC_KDF;
        RETURN_IF_ERROR(test_sym(&ep->symmetric, false));
        switch (ep->scheme.scheme) {
        case TPM2_ALG_NULL: return TPM2_RC_SUCCESS;
        case TPM2_ALG_ECDSA: case TPM2_ALG_ECDH:
            return test_scheme_hash(ep->scheme.details.anySig.hashAlg);
        default: return TPM2_RC_SCHEME;
        }
    }
    case TPM2_ALG_SYMCIPHER:
        return test_sym(&p->parameters.symDetail.sym, true);
    default: {
        const TPMT_KEYEDHASH_SCHEME *s = &p->parameters.keyedHashDetail.scheme;
        switch (s->scheme) {
        case TPM2_ALG_NULL:
            return TPM2_RC_SUCCESS;
        case TPM2_ALG_HMAC:
            return test_scheme_hash(s->details.hmac.hashAlg);
        case TPM2_ALG_XOR:
            RETURN_IF_ERROR(test_scheme_hash(s->details.exclusiveOr.hashAlg));
            return s->details.exclusiveOr.kdf == TPM2_ALG_KDF1_SP800_108 ? TPM2_RC_SUCCESS : TPM2_RC_KDF;
        default:
            return TPM2_RC_SCHEME;
        }
    }
    }
}

TPM2_RC vt_cmd_test_parms(vt_cmd *c)
{
    TPMT_PUBLIC_PARMS parms;
    uint16_t type;
    TPM2_RC rc;

    /* Check the type first: MU cannot unmarshal a union it doesn't know. */
    if (vt_in_left(&c->in) < 2)
        return VT_RC_P(TPM2_RC_INSUFFICIENT, 1);
    type = (uint16_t)(c->in.buf[c->in.off] << 8 | c->in.buf[c->in.off + 1]);
    if (type != TPM2_ALG_KEYEDHASH && type != TPM2_ALG_RSA && type != TPM2_ALG_ECC &&
        type != TPM2_ALG_SYMCIPHER)
        return VT_RC_P(TPM2_RC_TYPE, 1);
    RETURN_IF_ERROR(VT_IN(&c->in, TPMT_PUBLIC_PARMS, &parms));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    rc = test_parms(&parms);
    return rc == TPM2_RC_SUCCESS ? rc : VT_RC_P(rc, 1);
}
