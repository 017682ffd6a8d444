/* The volatile state of a running TPM as one blob, for the swtpm protocol's
 * volatile state blob (migration, snapshots) and its STORE_VOLATILE.
 *
 * What a blob carries: whether the TPM was started, the PCRs, the null
 * hierarchy's seed and proof, hierarchy enables, platformAuth, Time, the
 * transient objects, and the loaded and context-saved sessions.  What it
 * does not carry: hash, HMAC and event sequences in progress and an open
 * _TPM_Hash_Start (their digest contexts live in the crypto library; they
 * are dropped, so their handles answer TPM_RC_HANDLE after a restore), the
 * RNG state (a restored TPM reseeds from its own entropy, so two copies never
 * share a random stream).  The blob is bound to the engine's build layout:
 * another vitrum version refuses it (VT_ERR_STATE_VERSION).  docs/SWTPM.md. */
#ifndef VITRUM_ENGINE_VOLATILE_H
#define VITRUM_ENGINE_VOLATILE_H

#include <stddef.h>
#include <stdint.h>

#include "vitrum/engine.h"

/* Room a blob may need (an upper bound). */
size_t vt_engine_volatile_max(void);

/* Write the volatile state of a powered engine into buf.  Returns its
 * length, or 0 if the engine is off or cap is too small. */
size_t vt_engine_volatile_save(vt_engine *e, uint8_t *buf, size_t cap);

/* Check a blob without applying it: VT_OK, VT_ERR_STATE_VERSION (another
 * format or build) or VT_ERR_STATE_CORRUPT. */
vt_status vt_engine_volatile_check(const uint8_t *buf, size_t len);

/* Power the engine on (as _TPM_Init) with the volatile state in buf.  On any
 * error the engine is left as it was and the error returned. */
vt_status vt_engine_volatile_restore(vt_engine *e, const uint8_t *buf, size_t len);

#endif
