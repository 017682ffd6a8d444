/* The vitrum engine: a TPM 2.0 as a pure function of (state, command).
 *
 * The engine performs no I/O.  The caller owns the engine's memory
 * (vt_engine_size() bytes, see vt_engine_new for a convenience allocator),
 * delivers command bytes and platform signals, and sends the response bytes.
 * One engine is one TPM; engines share nothing, so one process may host many. */
#ifndef VITRUM_ENGINE_H
#define VITRUM_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "vitrum/platform.h"

/* Largest command or response the engine accepts or produces
 * (TPM_PT_MAX_COMMAND_SIZE / TPM_PT_MAX_RESPONSE_SIZE). */
#define VT_MAX_COMMAND_SIZE 4096u
#define VT_MAX_RESPONSE_SIZE 4096u

typedef struct vt_engine vt_engine;

/* Results of the lifecycle calls (not TPM response codes). */
typedef enum {
    VT_OK = 0,
    VT_ERR_STATE_CORRUPT = -1, /* stored state failed its integrity check */
    VT_ERR_STATE_VERSION = -2, /* stored state has an unknown format version */
    VT_ERR_STORE = -3,         /* the platform store failed to read or write */
    VT_ERR_ENTROPY = -4,       /* no entropy to create seeds */
    VT_ERR_CRYPTO = -5,        /* the crypto library could not be initialised */
    VT_ERR_CONFIG = -6,        /* a vt_engine_config value is out of range */
} vt_status;

const char *vt_status_str(vt_status s);

/* Allocate and initialise an engine: loads the state through the platform
 * store, or manufactures a fresh TPM (new seeds) when there is none and
 * commits it.  The TPM starts powered off. */
vt_status vt_engine_new(const vt_platform *platform, vt_engine **out);

/* The largest user NV a TPM may have (vt_engine_config.nv_size). */
#define VT_NV_SIZE_LIMIT (8u * 1024u * 1024u)
/* The default: 64 KiB of user NV. */
#define VT_NV_SIZE_DEFAULT (64u * 1024u)

/* What a TPM is built with.  Zero fields take the default. */
typedef struct {
    /* Octets of user NV for NV index data (default 64 KiB, at most 8 MiB).
     * A state whose indices do not fit is refused as corrupt. */
    size_t nv_size;
} vt_engine_config;

/* vt_engine_new with a configuration (cfg may be NULL: all defaults). */
vt_status vt_engine_new_ex(const vt_platform *platform, const vt_engine_config *cfg, vt_engine **out);
void vt_engine_free(vt_engine *e);

/* Execute one command at `locality` (0..4).  Always writes a complete
 * response (at least a 10-byte header) into rsp and returns its length;
 * rsp_cap must be at least VT_MAX_RESPONSE_SIZE. */
size_t vt_engine_execute(vt_engine *e, uint8_t locality,
                         const uint8_t *cmd, size_t cmd_len,
                         uint8_t *rsp, size_t rsp_cap);

/* Resource ownership, as the kernel's /dev/tpmrm0 does it: commands run on
 * behalf of `client` (set before vt_engine_execute; 0 = nobody), and
 * vt_engine_client_gone flushes the transient objects, sequences and loaded
 * (not context-saved) sessions that client loaded and did not flush.  Tools such as tpm2-tools, which leave
 * their objects loaded when they exit, then cannot fill the TPM's slots. */
void vt_engine_set_client(vt_engine *e, uint32_t client);
void vt_engine_client_gone(vt_engine *e, uint32_t client);

/* Platform signals (mssim platform port, swtpm control channel). */
void vt_engine_power_on(vt_engine *e);  /* _TPM_Init if it was off */
void vt_engine_power_off(vt_engine *e); /* volatile state is lost */
bool vt_engine_is_powered(const vt_engine *e);
void vt_engine_reset(vt_engine *e);     /* power off + power on */
void vt_engine_set_physical_presence(vt_engine *e, bool asserted);
void vt_engine_set_cancel(vt_engine *e, bool asserted);
void vt_engine_set_nv_available(vt_engine *e, bool available);
/* _TPM_Hash_Start / _TPM_Hash_Data / _TPM_Hash_End (D-RTM, locality 4). */
void vt_engine_hash_start(vt_engine *e);
void vt_engine_hash_data(vt_engine *e, const uint8_t *data, size_t len);
void vt_engine_hash_end(vt_engine *e);
/* The TPM established flag (PC Client PTP TPM_ACCESS.tpmEstablishment):
 * set durably by vt_engine_hash_start, cleared by
 * vt_engine_reset_established (the host checks the locality is 3 or 4).
 * reset returns VT_OK or VT_ERR_STORE. */
bool vt_engine_tpm_established(const vt_engine *e);
vt_status vt_engine_reset_established(vt_engine *e);

/* Save what an orderly stop of the process must keep (the Clock).  Called by
 * the server on SIGTERM/SIGINT.  Returns VT_OK or VT_ERR_STORE. */
vt_status vt_engine_save(vt_engine *e);

/* The engine's own memory, which holds its seeds, proofs and authValues:
 * for the host to lock (mlock) and keep out of core dumps. */
void vt_engine_secret_memory(const vt_engine *e, const void **p, size_t *len);

/* The whole persistent state as one blob, the same bytes the store keeps
 * (for export and migration).  Returns its length, or 0 if cap is too
 * small. */
size_t vt_engine_snapshot(vt_engine *e, uint8_t *buf, size_t cap);

/* What a person or a tool may want to know about a TPM; nothing secret. */
typedef struct {
    unsigned state_version; /* engine state format (docs/FORMAT.md) */
    uint64_t clock;         /* ms */
    uint32_t reset_count, restart_count;
    bool clock_safe;
    uint8_t pcr_banks;         /* bit 0 SHA-1, 1 SHA-256, 2 SHA-384, 3 SHA-512 */
    uint8_t pcr_banks_pending; /* after the next TPM Reset */
    unsigned nv_indices;
    size_t nv_used, nv_size;   /* octets of user NV */
    bool started;
} vt_engine_info;

void vt_engine_get_info(vt_engine *e, vt_engine_info *out);

/* Host only (no TPM command reaches it), before serving: verify the
 * running image's release bundle with the owner's trust store exactly as
 * the VerifyBundle vendor command does (docs/VENDOR-COMMANDS.md), check
 * that image_sha256 is the manifest's digest, raise the release's SVN floor
 * to its SVN (durably), and make it the firmware identity the TPM reports
 * (TPM_PT_FIRMWARE_VERSION_1/2, firmwareVersion in attestations, the
 * read-only NV index VT_FW_NV_INDEX).  0 on success; -1 with a one-line
 * reason in err, and nothing changed.  Without a call the identity is the
 * compiled-in version. */
int vt_engine_set_firmware(vt_engine *e, const uint8_t *bundle, size_t len,
                           const uint8_t image_sha256[32], char *err, size_t errlen);

/* Number of commands executed since the engine was created. */
uint64_t vt_engine_commands_served(const vt_engine *e);

#endif
