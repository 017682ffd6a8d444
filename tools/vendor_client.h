/* Host side of vitrum's vendor commands (docs/VENDOR-COMMANDS.md): each
 * function marshals one command, sends it over a TSS2_TCTI_CONTEXT, and
 * unmarshals the response.  Owner and platform authorization are password
 * sessions (TPM_RS_PW).
 *
 * Every call returns a TSS2_RC: 0 on success; a TPM response code (layer
 * 0: TPM_RC_..., or one of VT_RC_* in vitrum/vendor.h) when the TPM
 * refused; a TCTI error (TSS2_TCTI_RC_LAYER) when the transport failed; or
 * VT_VC_EFORMAT when the response could not be parsed.  vt_vc_strerror
 * says why in one line. */
#ifndef VT_VENDOR_CLIENT_H
#define VT_VENDOR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tcti.h>

#include "vitrum/vendor.h"

/* A response that does not parse (TSS2_MU layer, TSS2_BASE_RC_MALFORMED_RESPONSE). */
#define VT_VC_EFORMAT ((TSS2_RC)0x00090016u)

/* Connect with a TCTI string ("mssim:host=H,port=N", "swtpm:...",
 * "device:/dev/tpmrm0"); NULL or "" takes $TPM2TOOLS_TCTI, else
 * mssim:host=127.0.0.1,port=2321.  0 on success; on failure -1 with a
 * message in err. */
int vt_vc_connect(const char *tcti, TSS2_TCTI_CONTEXT **out, char *err, size_t errlen);
void vt_vc_disconnect(TSS2_TCTI_CONTEXT *t);

/* A password for a hierarchy (owner, platform): the octets of an
 * authValue.  NULL/0: the empty password. */
typedef struct {
    const uint8_t *pw;
    size_t len;
} vt_vc_auth;

/* Parse a tpm2-tools style auth string: "str:TEXT", "hex:HEX", "file:PATH"
 * ("-" = stdin) or TEXT.  buf holds at least 64 octets.  0 on success. */
int vt_vc_auth_parse(const char *s, uint8_t *buf, size_t cap, vt_vc_auth *out, char *err,
                     size_t errlen);

/* ---- trust store ---- */

/* role: VT_TRUST_RELEASE, VT_TRUST_LOG, VT_TRUST_WITNESS; vkey: a verifier
 * key string "name+hex8+base64(type||pub)" (release and log keys type
 * 0x01, witness keys type 0x04). */
TSS2_RC vt_vc_trust_add(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, uint8_t role, const char *vkey);
TSS2_RC vt_vc_trust_remove(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, uint8_t role, const char *vkey);
/* require_log: bundles must carry a checkpoint and an inclusion proof;
 * quorum: that many enrolled witnesses must cosign the checkpoint (needs
 * require_log). */
TSS2_RC vt_vc_trust_policy(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, bool require_log,
                           uint8_t quorum);

/* What a release is (VerifyBundle's answer; the running firmware). */
typedef struct {
    char name[VT_TRUST_NAME_MAX + 1];
    char version[VT_TRUST_NAME_MAX + 1];
    uint64_t svn;
    uint64_t size;     /* payload octets (0 for the running firmware) */
    uint8_t sha256[32];
    uint64_t log_index; /* VT_TRUST_NO_LOG when not checked against a log */
    uint64_t tree_size; /* of the checkpoint (0: none) */
    unsigned cosignatures; /* enrolled witnesses that cosigned */
} vt_vc_release;

typedef struct {
    bool require_log;
    unsigned quorum;
    unsigned nkeys;
    struct {
        uint8_t role;
        char vkey[VT_TRUST_VKEY_MAX];
    } keys[3 * VT_TRUST_MAX_KEYS];
    unsigned nfloors;
    struct {
        char name[VT_TRUST_NAME_MAX + 1];
        uint64_t svn;
    } floors[VT_TRUST_MAX_FLOORS];
    /* FloorLower: how many times, and the last one. */
    uint32_t lowered;
    char last_name[VT_TRUST_NAME_MAX + 1];
    uint64_t last_old, last_new, last_clock; /* clock: TPM Clock, ms */
    bool fw_set; /* vt_engine_set_firmware was called: fw is the running image */
    vt_vc_release fw;
} vt_vc_trust_info;

TSS2_RC vt_vc_trust_read(TSS2_TCTI_CONTEXT *t, vt_vc_trust_info *out);

/* ---- bundles ---- */

/* VerifyBundle: `bundle` may be a whole bundle file; its payload section
 * (type 2) is left out before sending (sections 1, 3, 4 must fit in one
 * command: VT_VC_BUNDLE_MAX octets).  payload_sha256: SHA-256 of the
 * payload the caller holds.  On success *out is the verified release. */
#define VT_VC_BUNDLE_MAX 4000u
TSS2_RC vt_vc_verify_bundle(TSS2_TCTI_CONTEXT *t, const uint8_t *bundle, size_t len,
                            const uint8_t payload_sha256[32], vt_vc_release *out);

/* The bundle without its payload section, into out; returns the length,
 * 0 when it is malformed or does not fit. */
size_t vt_vc_bundle_strip(const uint8_t *bundle, size_t len, uint8_t *out, size_t cap);

/* FloorLower: set the floor for release `name` to svn (lower than now; 0
 * removes it).  Needs the owner's and the platform's authorization.
 * *old_svn (may be NULL) gets the floor it had. */
TSS2_RC vt_vc_floor_lower(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, vt_vc_auth platform,
                          const char *name, uint64_t svn, uint64_t *old_svn);

/* One line saying why: "not signed by an enrolled release key", ...  cc is
 * the command that got rc (the same code means different things). */
const char *vt_vc_strerror(TSS2_RC rc, uint32_t cc);

#endif
