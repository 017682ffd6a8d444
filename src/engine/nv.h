/* NV indices: the index table, the data pool and the attribute rules
 * (TPM 2.0 Part 1 §37, Part 2 §13, Part 3 §31).
 *
 * The table and the high-water mark of NV counters live in vt_persistent;
 * each index's data lives in one pool of user NV (vt_engine_config.nv_size
 * octets, allocated when the engine is created), packed: an undefined
 * index's bytes are closed up, so free space is always at the end.  A
 * state change is made durable by the dispatcher (c->state_changed) before
 * the response, so a counter never goes backwards. */
#ifndef VT_NV_H
#define VT_NV_H

#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "crypto/vt_crypto.h"
#include "engine/state.h"

#define VT_NV_MAX_INDICES 128u          /* entries in the index table */
#define VT_NV_DEFAULT_SIZE VT_NV_SIZE_DEFAULT /* user NV octets when none is configured */
#define VT_NV_MAX_SIZE VT_NV_SIZE_LIMIT
#define VT_NV_INDEX_MAX 2048u  /* TPM_PT_NV_INDEX_MAX: largest dataSize */
#define VT_NV_BUFFER_MAX 1024u /* TPM_PT_NV_BUFFER_MAX: largest read or write */

typedef struct {
    bool used;
    TPMS_NV_PUBLIC pub; /* .attributes carries WRITTEN, WRITELOCKED, READLOCKED */
    uint8_t auth[VT_MAX_DIGEST]; /* authValue, trailing zeros removed */
    uint16_t auth_len;
    uint32_t offset; /* of the data in the pool */
} vt_nv_index;

/* The NV part of vt_persistent. */
typedef struct {
    vt_nv_index index[VT_NV_MAX_INDICES];
    /* The highest value any NV counter of this TPM has ever had: a new
     * counter starts from here (Part 1 §37.?, "NV counters"). */
    uint64_t max_counter;
    uint8_t *pool;      /* not stored itself: the walk stores each index's data */
    uint32_t pool_size; /* octets of user NV */
} vt_nv_state;

struct vt_engine;
struct vt_cmd;

static inline TPM2_NT vt_nv_type(TPMA_NV a)
{
    return (TPM2_NT)((a & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT);
}

vt_nv_index *vt_nv_find(vt_nv_state *nv, TPM2_HANDLE h);
/* Octets of the pool in use (end of the last index's data). */
uint32_t vt_nv_used(const vt_nv_state *nv);
unsigned vt_nv_count(const vt_nv_state *nv, bool counters_only);
/* The first defined index handle >= h, in handle order; false if none. */
bool vt_nv_next_handle(const vt_nv_state *nv, TPM2_HANDLE h, TPM2_HANDLE *out);

/* Name = nameAlg || H_nameAlg(marshalled TPMS_NV_PUBLIC) (Part 1 §16).
 * `out` holds 2 + VT_MAX_DIGEST octets; returns the length, 0 on error. */
size_t vt_nv_name(const vt_nv_index *ix, uint8_t *out);

/* Startup hook (Part 2 §13.4, TPMA_NV): at TPM Reset and TPM Restart
 * (clear == true) READLOCKED is cleared, WRITELOCKED is cleared unless the
 * index is WRITEDEFINE and written, and WRITTEN is cleared for
 * CLEAR_STCLEAR indices.  TPM Resume changes nothing. */
void vt_nv_startup(vt_nv_state *nv, bool clear);

/* The stored form of one index (public area, authValue, data): called
 * once per table entry from the state walk, and usable on its own for a
 * per-index journal record. */
void vt_nv_index_walk(vt_walker *w, vt_nv_index *ix, uint8_t *pool, uint32_t pool_size);
/* After loading: no two indices share a handle or overlap in the pool. */
bool vt_nv_check_loaded(const vt_nv_state *nv);

/* Authorization with an NV index's authValue or authPolicy, for session
 * number n of command c (`policy`: a policy session).  Returns
 * TPM_RC_AUTH_TYPE when the role needs a policy session, TPM_RC_AUTH_UNAVAILABLE
 * when the attributes do not allow this kind of authorization (Part 1 §19.?,
 * AUTHREAD/AUTHWRITE/POLICYREAD/POLICYWRITE), or for a PIN index that is
 * not written or whose pinCount has reached pinLimit (Part 1 §37.?). */
TPM2_RC vt_nv_auth_allowed(struct vt_cmd *c, vt_nv_index *ix, unsigned n, bool policy);
/* The outcome of an authValue check of index ix: a PIN Fail index counts a
 * failure and is reset by a success, a PIN Pass index counts a success.
 * The change is committed at once (it must survive whatever the command
 * does next).  Returns the authorization's own result or a commit error. */
TPM2_RC vt_nv_auth_result(struct vt_engine *e, vt_nv_index *ix, bool ok, TPM2_RC fail_rc);
/* cmd_nv.c: may the authority at c->handles[0] (owner, platform or the
 * index itself) read ix (OWNERREAD, PPREAD, AUTHREAD/POLICYREAD)?
 * TPM_RC_NV_AUTHORIZATION if not.  Also used by NV_Certify (cmd_attest.c). */
TPM2_RC read_authority(struct vt_cmd *c, const vt_nv_index *ix);

/* Remove ix and close up the pool behind it; a counter leaves its value in
 * the high-water mark (cmd_nv.c). */
void vt_nv_remove_index(vt_nv_state *nv, vt_nv_index *ix);

#endif
