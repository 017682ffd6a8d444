/* The owner's trust store for firmware releases, the anti-rollback floor
 * and the running firmware's identity (docs/VENDOR-COMMANDS.md,
 * docs/TRANSPARENCY.md).
 *
 * The store (keys, policy) and the floors live in vt_persistent (state
 * format 6).  TPM2_Clear empties the keys and the policy (owner data); the
 * floors and the FloorLower record stay.  The firmware identity is set by
 * the host before it serves (vt_engine_set_firmware) and lives only in
 * memory, plus a read-only NV index the engine writes. */
#ifndef VT_TRUST_H
#define VT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vitrum/vendor.h"
#include "tlog/tlog.h"
#include "engine/state.h"

typedef struct {
    char name[VT_TRUST_NAME_MAX + 1]; /* NUL terminated; "" = unused */
    uint64_t svn;
} vt_trust_floor;

typedef struct {
    /* keys[role - 1]: release, log, witness */
    vt_note_key keys[3][VT_TRUST_MAX_KEYS];
    uint8_t nkeys[3];
    bool require_log;
    uint8_t quorum;
    vt_trust_floor floors[VT_TRUST_MAX_FLOORS];
    /* FloorLower: count, and the last one (Clock ms). */
    uint32_t lowered;
    char last_name[VT_TRUST_NAME_MAX + 1];
    uint64_t last_old, last_new, last_clock;
} vt_trust_state;

/* The firmware the host booted (vt_engine_set_firmware). */
typedef struct {
    bool set;
    char name[VT_TRUST_NAME_MAX + 1];
    char version[VT_TRUST_NAME_MAX + 1];
    uint64_t svn;
    uint8_t sha256[32];
    uint64_t log_index; /* VT_TRUST_NO_LOG: not logged */
} vt_fw_identity;

/* A verified release (VerifyBundle's answer). */
typedef struct {
    vt_manifest m;
    uint64_t log_index; /* VT_TRUST_NO_LOG when the log was not checked */
    uint64_t tree_size;
    unsigned cosignatures;
} vt_trust_verdict;

struct vt_engine;

/* The whole check, as VerifyBundle and vt_engine_set_firmware run it:
 * TPM_RC_SUCCESS, TPM_RC_VALUE + RC_P + RC_1 (malformed bundle) or one of
 * VT_RC_* (vitrum/vendor.h).  Changes nothing.  digest: SHA-256 of the
 * payload. */
uint32_t vt_trust_verify(const vt_trust_state *t, const uint8_t *bundle, size_t len,
                         const uint8_t digest[32], vt_trust_verdict *out);

/* The floor for a release name (0 when none). */
uint64_t vt_trust_floor_of(const vt_trust_state *t, const char *name, size_t len);

/* TPM2_Clear: forget the keys and the policy (the floors stay). */
void vt_trust_clear(vt_trust_state *t);

/* State format 6: the trust store and the floors.  On reading, every key
 * is checked again (name rules, type for its role, key ID). */
void vt_trust_walk(vt_walker *w, vt_trust_state *t);

/* firmwareVersion of TPMS_ATTEST and TPM_PT_FIRMWARE_VERSION_1 (high 32
 * bits) / _2 (low 32): the compiled-in version, or after
 * vt_engine_set_firmware the running release's SVN. */
uint64_t vt_firmware_version(const struct vt_engine *e);

/* The firmware NV index is the engine's: no client may write it.  Called
 * after the state is loaded: forget the index a previous run wrote (the
 * identity is set again by each run; an index a client defined at that
 * handle stays until vt_engine_set_firmware replaces it).  True when one
 * was removed. */
bool vt_trust_drop_fw_index(struct vt_engine *e);

#endif
