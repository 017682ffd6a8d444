/* `vitrum manufacture`: endorsement keys and their certificates.
 *
 * Provisions, as a TPM manufacturer would, an EK certificate for the
 * default EK of each kind (TCG EK Credential Profile templates L-1, RSA
 * 2048, and L-2, ECC NIST P-256) in the standard NV indices 0x01C00002 and
 * 0x01C0000A, signed by the owner's CA or by a local CA kept in the state
 * directory.  No key is baked into vitrum. */
#ifndef VT_MANUFACTURE_H
#define VT_MANUFACTURE_H

#include <stdbool.h>
#include <stdio.h>

#include "vitrum/engine.h"

typedef struct {
    /* The owner's CA, PEM files (both or neither).  Neither: the local CA
     * in the state directory, created at first use. */
    const char *ca_key, *ca_cert;
    bool rsa, ecc;  /* which EKs; neither set means both */
    bool force;     /* replace EK certificates that are already there */
    bool if_absent; /* provision what is missing, keep the rest quietly */
} vt_mfg_opts;

/* Provision on an engine the caller holds (vitrum serve --manufacture).  A
 * started engine is used as it is and left started; one that is not is
 * powered on, started (CLEAR), and shut down (CLEAR) and powered off at the
 * end.  state_dir holds the local CA; tpm_id names it (may be NULL).
 * Progress goes to `out`, errors to stderr.  Returns 0, or 1 after
 * printing why. */
int vt_manufacture_engine(vt_engine *e, const char *state_dir, const char *tpm_id,
                          const vt_mfg_opts *o, FILE *out);

/* `vitrum manufacture`: open the state directory (it must not be in use:
 * the store's lock refuses a running server), run the engine in-process on
 * it and provision.  key: the state key SPEC or NULL.  Returns the exit
 * status. */
int vt_manufacture(const char *state_dir, const char *key, const vt_engine_config *cfg,
                   const vt_mfg_opts *o);

#endif
