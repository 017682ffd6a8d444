/* The swtpm socket protocol (what QEMU's tpm-emulator backend and libvirt
 * speak): raw TPM commands on a data channel (TCP, UNIX socket, or a socket
 * handed over with SET_DATAFD), and the control channel of swtpm's
 * tpm_ioctl.h (man swtpm_ioctls(3)) over TCP or a UNIX socket: a u32 BE
 * command code and its request fields, answered with a u32 BE result code
 * (TPM 1.2 style codes, as swtpm) and the response fields.  docs/SWTPM.md. */
#ifndef VT_SWTPM_H
#define VT_SWTPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vitrum/engine.h"
#include "store/store.h"

/* control commands (tpm_ioctl.h CMD_*) */
enum {
    VT_SW_GET_CAPABILITY = 1, VT_SW_INIT, VT_SW_SHUTDOWN, VT_SW_GET_TPMESTABLISHED,
    VT_SW_SET_LOCALITY, VT_SW_HASH_START, VT_SW_HASH_DATA, VT_SW_HASH_END,
    VT_SW_CANCEL_TPM_CMD, VT_SW_STORE_VOLATILE, VT_SW_RESET_TPMESTABLISHED,
    VT_SW_GET_STATEBLOB, VT_SW_SET_STATEBLOB, VT_SW_STOP, VT_SW_GET_CONFIG,
    VT_SW_SET_DATAFD, VT_SW_SET_BUFFERSIZE, VT_SW_GET_INFO,
};

/* result codes (TPM 1.2 TPM_RESULT values, as swtpm answers) */
#define VT_SW_SUCCESS 0u
#define VT_SW_BAD_PARAMETER 3u
#define VT_SW_FAIL 9u
#define VT_SW_BAD_ORDINAL 10u /* also: not allowed in the TPM's present state */
#define VT_SW_IOERROR 31u
#define VT_SW_BAD_LOCALITY 61u
#define VT_SW_RETRY 2048u

#define VT_SW_BLOB_PERMANENT 1u
#define VT_SW_BLOB_VOLATILE 2u
#define VT_SW_BLOB_SAVESTATE 3u
#define VT_SW_STATE_FLAG_DECRYPTED 1u /* request: ignored (vitrum never hands out at-rest encryption) */
#define VT_SW_STATE_FLAG_ENCRYPTED 2u /* the blob is encrypted with the migration key */

#define VT_SW_CONFIG_FILE_KEY 1u
#define VT_SW_CONFIG_MIGRATION_KEY 2u

/* State blobs (swtpm_blob.c): a type, a payload, and either a checksum or
 * AES-256-GCM with the migration key (docs/SWTPM.md). */
#define VT_SW_BLOB_MAGIC "VTSW"
#define VT_SW_BLOB_FORMAT 1u
/* Room the wrapping adds to a payload. */
#define VT_SW_BLOB_OVERHEAD (12u + 12u + 32u)
/* Wrap payload as a blob of `type` into out (cap >= len + overhead);
 * key: 32 bytes, or NULL for a plain blob.  Returns its length or 0. */
size_t vt_sw_blob_wrap(uint8_t type, const uint8_t *payload, size_t len, const uint8_t *key,
                       uint8_t *out, size_t cap);
/* Check and open a blob in place: 0 and the payload and its length (inside buf; a
 * decrypted payload replaces its ciphertext), or -1 with err set.
 * want_encrypted: the sender's PTM_STATE_FLAG_ENCRYPTED. */
int vt_sw_blob_unwrap(uint8_t type, uint8_t *buf, size_t len, const uint8_t *key, bool want_encrypted,
                      uint8_t **payload, size_t *plen, char *err, size_t errlen);

typedef struct {
    int ctrl_fd;          /* listening control socket, or -1 */
    int ctrl_client_fd;   /* an already connected control channel (clientfd=), or -1 */
    int data_fd;          /* listening data socket, or -1 (then SET_DATAFD) */
    bool running;         /* the TPM is initialised at start (not-need-init) */
    bool terminate;       /* exit when the data client goes */
    vt_store *store;      /* to replace the durable state (SET_STATEBLOB permanent) */
    vt_engine_config engine_cfg;
    const uint8_t *migration_key; /* 32 bytes, or NULL */
    int volatile_fd;      /* the STORE_VOLATILE file, or -1 */
    const uint8_t *volatile_key;  /* its key (the state key's), or NULL */
    int log_fd;           /* -1: no log */
    int log_level;
    const char *log_path; /* --log file=: reopened onto log_fd on SIGHUP, or NULL */
    const char *name;     /* the instance's name in log lines, or NULL */
} vt_swtpm_cfg;

/* Serve until SHUTDOWN, --terminate, or SIGTERM/SIGINT.  *e may be
 * replaced (a new permanent state).  Returns 0 (SHUTDOWN or terminate),
 * the signal number, or -1 on a fatal error. */
int vt_serve_swtpm(vt_engine **e, const vt_swtpm_cfg *cfg);

/* ---- the serving loop, shared by `vitrum swtpm` (one TPM) and `vitrum
 * serve --instances` (many, server/instances.c) ---- */

/* Output not yet taken by a slow reader: the connection is not read again
 * until it is gone (back-pressure, so one client never blocks the loop). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} vt_sw_out;

/* One TPM served with the swtpm protocol.  The host sets cfg (and e, or
 * leaves it NULL until its open callback runs) and host_data; the rest is
 * the protocol's, kept by swtpm.c. */
typedef struct vt_sw_inst {
    vt_swtpm_cfg cfg;
    vt_engine *e;         /* NULL while the host has it released */
    void *host_data;
    bool running, shutdown;
    bool vm_session;      /* the data channel came with SET_DATAFD (QEMU) */
    uint8_t locality;
    uint32_t bufsize;
    int ctrl, data;       /* connections, -1 when none */
    uint8_t *din;         /* data-channel input (VT_MAX_COMMAND_SIZE), while connected */
    size_t din_len;
    uint8_t *cin;         /* a long control message (HASH_DATA, SET_STATEBLOB) still arriving */
    size_t cin_len, cin_need;
    uint64_t cin_deadline; /* CLOCK_MONOTONIC ms */
    vt_sw_out out_ctrl, out_data;
    uint8_t *pending_vol; /* a volatile state set by SET_STATEBLOB, for the next INIT */
    size_t pending_vol_len;
} vt_sw_inst;

/* Make in ready to serve: no connections, protocol state reset.  cfg.ctrl_client_fd
 * becomes the control connection and cfg.running the initial state. */
void vt_sw_inst_init(vt_sw_inst *in);
/* Close its connections and forget its session (not the engine). */
void vt_sw_inst_end_session(vt_sw_inst *in);

typedef struct vt_sw_host {
    vt_sw_inst **inst;    /* the instances; the callbacks may change the list */
    size_t n;
    /* false (one TPM, as swtpm): SHUTDOWN, or the data client leaving with
     * cfg.terminate, ends the loop.  true: SHUTDOWN ends that instance's
     * session only, and an instance left idle is handed to release. */
    bool multi;
    /* A connection to an instance whose e is NULL arrived: open it.  0, or
     * -1 (the connection is refused). */
    int (*open)(struct vt_sw_host *h, vt_sw_inst *in);
    /* multi: in has no connection and is stopped (never INIT'ed, STOP,
     * SHUTDOWN) with no volatile state waiting for INIT, or its VM is gone
     * (SET_DATAFD session over): save and free its engine (e = NULL). */
    void (*release)(struct vt_sw_host *h, vt_sw_inst *in);
    void (*hangup)(struct vt_sw_host *h); /* SIGHUP, after the log is reopened */
    void (*tidy)(struct vt_sw_host *h);   /* after each round of events */
    void *ctx;
} vt_sw_host;

/* Serve every instance from one poll loop until SIGTERM/SIGINT (the signal
 * number) or, not multi, SHUTDOWN/terminate (0); -1 on a fatal error. */
int vt_sw_host_run(vt_sw_host *h);

#endif
