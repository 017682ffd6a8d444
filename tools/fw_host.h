/* Host-side helpers shared by `vitrum update`, `vitrum verify` and the
 * launcher (docs/TRANSPARENCY.md, "Update slots" and "Host image
 * verification"): reaching a TPM through a TCTI, asking the engine whether
 * a release bundle verifies, the slots directory. */
#ifndef VT_FW_HOST_H
#define VT_FW_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tcti.h>

#include "vitrum/engine.h"

/* What the engine said about a bundle that verified. */
typedef struct {
    char name[65];
    char version[65];
    uint64_t svn;
    uint64_t log_index;
    uint8_t sha256[32];
} vt_fw_info;

/* Results of the verify calls. */
enum { VT_FW_OK = 0, VT_FW_REFUSED = 1, VT_FW_ERROR = -1, VT_FW_BUSY = -2 };

/* The TCTI string: conf, else $TPM2TOOLS_TCTI, else
 * mssim:host=127.0.0.1,port=2321. */
const char *vt_fw_tcti_conf(const char *conf);
/* Open a TCTI (libtss2-tctildr).  0, or -1 with err set. */
int vt_fw_tcti_open(const char *conf, TSS2_TCTI_CONTEXT **out, char *err, size_t errlen);
void vt_fw_tcti_close(TSS2_TCTI_CONTEXT *t);

/* VerifyBundle (docs/VENDOR-COMMANDS.md) through the TPM behind t, for an
 * image whose SHA-256 is sha256.  VT_FW_OK with *info, VT_FW_REFUSED with
 * the reason in err (the engine's TPM_RC turned into words), VT_FW_ERROR
 * when the TPM could not be asked. */
int vt_fw_verify_tcti(TSS2_TCTI_CONTEXT *t, const uint8_t *bundle, size_t len,
                      const uint8_t sha256[32], vt_fw_info *info, char *err, size_t errlen);

/* The same check by an engine run in this process on the state directory
 * dir (key: its --key SPEC or NULL), which must not be in use
 * (VT_FW_BUSY when a server holds it).  Nothing it does is kept: the
 * engine's state changes are discarded.  As vt_engine_set_firmware checks:
 * the trust store and the SVN floor. */
int vt_fw_verify_local(const char *dir, const char *key, const vt_engine_config *cfg,
                       const uint8_t *bundle, size_t len, const uint8_t sha256[32],
                       vt_fw_info *info, char *err, size_t errlen);

/* SHA-256 of a file, or of an open descriptor (read from offset 0).
 * 0, or -1 with err set. */
int vt_fw_sha256_file(const char *path, uint8_t out[32], char *err, size_t errlen);
int vt_fw_sha256_fd(int fd, uint8_t out[32], char *err, size_t errlen);

/* The manifest fields of a bundle, read without verifying anything (for
 * messages and `update status`). 0, or -1 when it does not parse. */
int vt_fw_bundle_peek(const uint8_t *bundle, size_t len, vt_fw_info *info);

/* The bundle without its payload section (sections 1, 3 and 4, in their
 * order): what the engine is given.  Returns the length written to out
 * (at most len bytes), or 0 when the bundle is malformed. */
size_t vt_fw_bundle_strip(const uint8_t *bundle, size_t len, uint8_t *out);

/* ---- slots: DIR/slots/{a,b}/{vitrum,bundle} and DIR/slots/state ----
 * state: "vitrum-slots/v1\ncurrent X\nnext X\nprevious X\n", X = a, b or -
 * (docs/TRANSPARENCY.md). */
typedef struct {
    char current, next, previous; /* 'a', 'b' or 0 */
} vt_slots;

/* Read DIR/slots/state (all 0 when missing).  0, or -1 with err set when
 * it exists and does not parse. */
int vt_slots_read(const char *dir, vt_slots *s, char *err, size_t errlen);
/* Take DIR/slots/lock (flock, exclusive; DIR/slots is created): one
 * writer of the slots at a time.  The descriptor (close it to unlock), or
 * -1 with err set. */
int vt_slots_lock(const char *dir, char *err, size_t errlen);
/* Replace DIR/slots/state durably. 0 or -1 with err set. */
int vt_slots_write(const char *dir, const vt_slots *s, char *err, size_t errlen);

#endif
