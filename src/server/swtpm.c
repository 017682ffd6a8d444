/* The swtpm socket protocol server (server/swtpm.h, docs/SWTPM.md).
 *
 * One thread, one poll loop, like swtpm, serving one TPM (`vitrum swtpm`)
 * or many (`vitrum serve --instances`, instances.c), each a vt_sw_inst: at
 * most one control connection and one data connection per TPM at a time (a
 * second client waits in the listen backlog).  A control message is what
 * one recv() brings, as swtpm reads it; only HASH_DATA and SET_STATEBLOB,
 * whose payload may be large, are gathered until their length is complete
 * (with a time limit).  Data-channel bytes are buffered until a whole TPM
 * command (its header's size) is there, so a client may write in any
 * pieces and may vanish mid-command; answers a client does not read are
 * kept and the connection is not read meanwhile.  Nothing one connection
 * does makes the loop wait, so no TPM holds up another. */
#define _GNU_SOURCE
#include "server/swtpm.h"
#include "common/be.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vitrum/engine_volatile.h"
#include "vitrum/version.h"
#include "platform/platform_posix.h"
#include "server/log.h"
#include "server/notify.h"

#define CTRL_MAX (4u + 4u + 4096u)      /* the largest fixed request: HASH_DATA */
#define BLOB_MAX (64u * 1024u * 1024u)  /* a SET_STATEBLOB larger than this is refused */
#define IO_TIMEOUT_MS 10000             /* for the rest of a long control message */
#define BUF_MIN 2808u                   /* what swtpm 0.7 reports; commands of this size always fit */
#define BUF_MAX VT_MAX_COMMAND_SIZE

/* capabilities we implement: INIT .. GET_INFO (bits 0..14) */
#define CAPS 0x7FFFu

typedef vt_sw_inst sw;

static void logf_(const sw *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(const sw *s, int level, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    int n;

    /* swtpm's levels (--log level=N): 1 errors, 5 control commands, 20 TPM
     * commands.  On standard error the line goes through vt_log (the
     * daemon's logger: syslog priority for the journal, SIGHUP reopen); a
     * file or descriptor given with --log file=/fd= gets it directly. */
    if (s->cfg.log_fd < 0 || level > s->cfg.log_level)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (s->cfg.log_fd == STDERR_FILENO) {
        /* the level=N filter above chose the line: not vt_log's level again */
        if (s->cfg.name) /* "vitrum: instance NAME: ..." */
            vt_log(level <= 1 ? VT_LOG_ERROR : VT_LOG_INFO, "instance %s: %s", s->cfg.name, line);
        else /* "vitrum: swtpm: ..." */
            vt_log(level <= 1 ? VT_LOG_ERROR : VT_LOG_INFO, "swtpm: %s", line);
        return;
    }
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (dprintf(s->cfg.log_fd, "vitrum swtpm: %.*s", n, line) < 0) {
        /* nowhere else to report it */
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void out_free(vt_sw_out *o)
{
    if (o->p)
        vt_seal_wipe(o->p, o->cap); /* state blobs pass through here */
    free(o->p);
    memset(o, 0, sizeof(*o));
}

/* Send p[0..n) as far as the socket takes it now: the number of bytes sent,
 * or -1 when the connection is broken. */
static ssize_t send_some(int fd, const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(fd, p + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return (ssize_t)done;
}

/* The socket is writable again: send what was kept.  false: broken. */
static bool out_write(int fd, vt_sw_out *o)
{
    ssize_t w = send_some(fd, o->p, o->len);
    if (w < 0)
        return false;
    memmove(o->p, o->p + w, o->len - (size_t)w);
    o->len -= (size_t)w;
    if (o->len == 0)
        out_free(o);
    return true;
}

/* Send an answer; what the socket does not take now is kept in o, and the
 * loop then polls for POLLOUT and stops reading the connection until it is
 * gone.  false: the connection is broken, or its client leaves too much
 * unread. */
static bool send_out(int fd, vt_sw_out *o, const uint8_t *p, size_t n)
{
    if (o->len == 0) {
        ssize_t w = send_some(fd, p, n);
        if (w < 0)
            return false;
        p += w;
        n -= (size_t)w;
        if (n == 0)
            return true;
    }
    if (o->len + n > BLOB_MAX + 4096u)
        return false;
    if (o->len + n > o->cap) {
        /* not realloc: the old buffer may hold a state blob, wiped here */
        size_t cap = o->len + n < 4096u ? 4096u : o->len + n;
        size_t len = o->len;
        uint8_t *q = malloc(cap);
        if (!q)
            return false;
        if (len)
            memcpy(q, o->p, len);
        out_free(o);
        o->p = q;
        o->cap = cap;
        o->len = len;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return true;
}

static bool send_ctrl(sw *s, const uint8_t *p, size_t n)
{
    return send_out(s->ctrl, &s->out_ctrl, p, n);
}

static bool send_data(sw *s, const uint8_t *p, size_t n)
{
    return send_out(s->data, &s->out_data, p, n);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static bool reply_rc(sw *s, uint32_t rc)
{
    uint8_t b[4];
    vt_put_be32(b, rc);
    return send_ctrl(s, b, 4);
}

/* ---- the memory platform: checks a permanent state before it replaces ours ---- */

typedef struct {
    const uint8_t *blob;
    size_t len;
} mem_store;

static long mem_load(void *ctx, uint8_t *buf, size_t cap)
{
    mem_store *m = ctx;
    if (m->len > cap)
        return -1;
    memcpy(buf, m->blob, m->len);
    return (long)m->len;
}

static int mem_commit(void *ctx, const uint8_t *blob, size_t len)
{
    (void)ctx;
    (void)blob;
    (void)len;
    return 0;
}

/* ---- state blobs ---- */

static uint32_t set_permanent(sw *s, const uint8_t *p, size_t n)
{
    mem_store m = { p, n };
    vt_platform mp = { .ctx = &m, .entropy = vt_posix_entropy, .monotonic_ms = vt_posix_monotonic_ms,
                       .state_load = mem_load, .state_commit = mem_commit };
    vt_platform plat;
    vt_engine *probe = NULL, *fresh = NULL;
    vt_status st;

    if (n == 0) {
        logf_(s, 1, "SET_STATEBLOB permanent: empty state refused");
        return VT_SW_FAIL;
    }
    st = vt_engine_new_ex(&mp, &s->cfg.engine_cfg, &probe);
    if (st != VT_OK) {
        logf_(s, 1, "SET_STATEBLOB permanent refused: %s", vt_status_str(st));
        return VT_SW_FAIL;
    }
    vt_engine_free(probe);
    if (vt_store_commit(s->cfg.store, p, n) != 0) {
        logf_(s, 1, "SET_STATEBLOB permanent: %s", s->cfg.store->err);
        return VT_SW_FAIL;
    }
    vt_platform_posix(&plat, s->cfg.store);
    st = vt_engine_new_ex(&plat, &s->cfg.engine_cfg, &fresh);
    if (st != VT_OK) {
        logf_(s, 0, "SET_STATEBLOB permanent: cannot load the committed state: %s", vt_status_str(st));
        return VT_SW_FAIL;
    }
    vt_engine_free(s->e);
    s->e = fresh;
    /* a new permanent state makes an older pending volatile state stale */
    free(s->pending_vol);
    s->pending_vol = NULL;
    s->pending_vol_len = 0;
    return VT_SW_SUCCESS;
}

static uint32_t set_blob(sw *s, uint32_t flags, uint32_t type, uint8_t *buf, size_t len)
{
    uint8_t *p;
    size_t n;
    char err[256];

    if (type < VT_SW_BLOB_PERMANENT || type > VT_SW_BLOB_SAVESTATE)
        return VT_SW_BAD_PARAMETER;
    if (s->running)
        return VT_SW_BAD_ORDINAL;
    if (type == VT_SW_BLOB_SAVESTATE && len == 0)
        return VT_SW_SUCCESS; /* vitrum keeps Shutdown(STATE) data in the permanent state */
    if (vt_sw_blob_unwrap((uint8_t)type, buf, len, s->cfg.migration_key,
                          (flags & VT_SW_STATE_FLAG_ENCRYPTED) != 0, &p, &n, err, sizeof(err)) != 0) {
        logf_(s, 1, "SET_STATEBLOB type %u refused: %s", type, err);
        return VT_SW_FAIL;
    }
    switch (type) {
    case VT_SW_BLOB_PERMANENT:
        return set_permanent(s, p, n);
    case VT_SW_BLOB_VOLATILE: {
        vt_status st;
        uint8_t *copy;
        if (n == 0) { /* the source was not running: nothing to resume */
            free(s->pending_vol);
            s->pending_vol = NULL;
            s->pending_vol_len = 0;
            return VT_SW_SUCCESS;
        }
        st = vt_engine_volatile_check(p, n);
        if (st != VT_OK) {
            logf_(s, 1, "SET_STATEBLOB volatile refused: %s", vt_status_str(st));
            return VT_SW_FAIL;
        }
        if (!(copy = malloc(n)))
            return VT_SW_FAIL;
        memcpy(copy, p, n);
        if (s->pending_vol) {
            vt_seal_wipe(s->pending_vol, s->pending_vol_len);
            free(s->pending_vol);
        }
        s->pending_vol = copy;
        s->pending_vol_len = n;
        return VT_SW_SUCCESS;
    }
    default:
        if (n != 0) {
            logf_(s, 1, "SET_STATEBLOB savestate refused: vitrum's savestate blob is empty");
            return VT_SW_FAIL;
        }
        return VT_SW_SUCCESS;
    }
}

/* The blob for GET_STATEBLOB: malloc'd, *len set; NULL with *rc on error. */
static uint8_t *get_blob(sw *s, uint32_t type, size_t *len, uint32_t *rc)
{
    size_t cap, n = 0;
    uint8_t *payload, *out;
    const void *mem;
    size_t memlen;

    *len = 0;
    if (type < VT_SW_BLOB_PERMANENT || type > VT_SW_BLOB_SAVESTATE) {
        *rc = VT_SW_BAD_PARAMETER;
        return NULL;
    }
    if (!s->running) {
        *rc = VT_SW_BAD_ORDINAL;
        return NULL;
    }
    if (type == VT_SW_BLOB_SAVESTATE) { /* empty: see set_blob */
        *rc = VT_SW_SUCCESS;
        return calloc(1, 1);
    }
    vt_engine_secret_memory(s->e, &mem, &memlen);
    cap = memlen + vt_engine_volatile_max() + VT_SW_BLOB_OVERHEAD;
    payload = malloc(cap);
    out = malloc(cap);
    if (!payload || !out) {
        free(payload);
        free(out);
        *rc = VT_SW_FAIL;
        return NULL;
    }
    if (type == VT_SW_BLOB_PERMANENT)
        n = vt_engine_snapshot(s->e, payload, cap);
    else
        n = vt_engine_volatile_save(s->e, payload, cap);
    if (n == 0 || !(*len = vt_sw_blob_wrap((uint8_t)type, payload, n, s->cfg.migration_key, out, cap))) {
        vt_seal_wipe(payload, cap);
        free(payload);
        free(out);
        *rc = VT_SW_FAIL;
        return NULL;
    }
    vt_seal_wipe(payload, cap);
    free(payload);
    *rc = VT_SW_SUCCESS;
    return out;
}

/* ---- the STORE_VOLATILE file: a volatile blob at offset 0, u32 length first ---- */

static uint32_t store_volatile(sw *s)
{
    size_t cap = vt_engine_volatile_max() + VT_SW_BLOB_OVERHEAD, n, len;
    uint8_t *payload = malloc(cap), *out = malloc(4 + cap);
    uint32_t rc = VT_SW_FAIL;

    if (!payload || !out)
        goto done;
    n = vt_engine_volatile_save(s->e, payload, cap);
    if (n == 0 || !(len = vt_sw_blob_wrap(VT_SW_BLOB_VOLATILE, payload, n, s->cfg.volatile_key, out + 4, cap)))
        goto done;
    vt_put_be32(out, (uint32_t)len);
    if (pwrite(s->cfg.volatile_fd, out, 4 + len, 0) == (ssize_t)(4 + len) && fdatasync(s->cfg.volatile_fd) == 0)
        rc = VT_SW_SUCCESS;
    else
        logf_(s, 0, "STORE_VOLATILE: cannot write the volatile state file: %s", strerror(errno));
done:
    if (payload)
        vt_seal_wipe(payload, cap);
    free(payload);
    if (out)
        vt_seal_wipe(out, 4 + cap);
    free(out);
    return rc;
}

/* The stored volatile state, if there is a valid one: 0 and *blob (the
 * engine payload, malloc'd), 1 when there is none, -1 when it is damaged. */
static int load_volatile_file(sw *s, uint8_t **blob, size_t *len)
{
    uint8_t hdr[4], *buf, *p;
    size_t n, plen;
    char err[256];

    *blob = NULL;
    if (s->cfg.volatile_fd < 0 || pread(s->cfg.volatile_fd, hdr, 4, 0) != 4)
        return 1;
    n = vt_get_be32(hdr);
    if (n == 0)
        return 1;
    if (n > BLOB_MAX || !(buf = malloc(n)))
        return -1;
    if (pread(s->cfg.volatile_fd, buf, n, 4) != (ssize_t)n ||
        vt_sw_blob_unwrap(VT_SW_BLOB_VOLATILE, buf, n, s->cfg.volatile_key, s->cfg.volatile_key != NULL,
                          &p, &plen, err, sizeof(err)) != 0) {
        free(buf);
        return -1;
    }
    memmove(buf, p, plen);
    *blob = buf;
    *len = plen;
    return 0;
}

static void forget_volatile_file(sw *s)
{
    static const uint8_t zero[4];
    if (s->cfg.volatile_fd >= 0 && pwrite(s->cfg.volatile_fd, zero, 4, 0) == 4)
        (void)fdatasync(s->cfg.volatile_fd);
}

static uint32_t do_init(sw *s, uint32_t flags)
{
    uint8_t *file = NULL;
    size_t file_len = 0;
    vt_status st = VT_OK;
    int fr;

    if (s->running)
        vt_engine_power_off(s->e);
    s->running = false;
    s->locality = 0;
    if (s->pending_vol) {
        st = vt_engine_volatile_restore(s->e, s->pending_vol, s->pending_vol_len);
        vt_seal_wipe(s->pending_vol, s->pending_vol_len);
        free(s->pending_vol);
        s->pending_vol = NULL;
        s->pending_vol_len = 0;
    } else if ((fr = load_volatile_file(s, &file, &file_len)) == 0) {
        st = vt_engine_volatile_restore(s->e, file, file_len);
        vt_seal_wipe(file, file_len);
        free(file);
    } else {
        if (fr < 0)
            logf_(s, 0, "INIT: the stored volatile state is damaged; starting without it");
        vt_engine_power_on(s->e);
    }
    if (flags & 1u) /* PTM_INIT_FLAG_DELETE_VOLATILE */
        forget_volatile_file(s);
    if (st != VT_OK) {
        logf_(s, 0, "INIT: volatile state refused: %s", vt_status_str(st));
        vt_engine_power_off(s->e);
        return VT_SW_FAIL;
    }
    s->running = true;
    return VT_SW_SUCCESS;
}

static size_t info_json(uint64_t flags, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "{");
    bool first = true;
#define ADD(...)                                                            \
    do {                                                                    \
        n += (size_t)snprintf(out + n, cap - n, "%s", first ? "" : ",");   \
        n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);               \
        first = false;                                                      \
    } while (0)
    if (flags & 1u) /* TPMLIB_INFO_TPMSPECIFICATION */
        ADD("\"TPMSpecification\":{\"family\":\"2.0\",\"level\":0,\"revision\":159}");
    if (flags & 2u) /* TPMLIB_INFO_TPMATTRIBUTES */
        ADD("\"TPMAttributes\":{\"manufacturer\":\"id:5654524D\",\"version\":\"id:%s\",\"model\":\"vitrum\"}",
            VITRUM_VERSION);
    if (flags & 4u) /* TPMLIB_INFO_TPMFEATURES */
        ADD("\"TPMFeatures\":{\"RSAKeySizes\":[1024,2048,3072,4096]}");
#undef ADD
    n += (size_t)snprintf(out + n, cap - n, "}");
    return n + 1; /* with its NUL, as swtpm counts it */
}

/* Handle one control message (buf, n bytes; fd: a descriptor that came
 * with it, or -1).  Returns false when the connection must close. */
static bool ctrl_message(sw *s, uint8_t *buf, size_t n, int *fd)
{
    uint32_t cmd, rc;
    uint8_t r[16];

    if (n < 4)
        return false;
    cmd = vt_get_be32(buf);
    buf += 4;
    n -= 4;
    logf_(s, 5, "control command %u (%zu bytes)", cmd, n);
    switch (cmd) {
    case VT_SW_GET_CAPABILITY:
        vt_put_be32(r, 0);
        vt_put_be32(r + 4, CAPS);
        return send_ctrl(s, r, 8);
    case VT_SW_INIT:
        if (n < 4)
            return false;
        return reply_rc(s, do_init(s, vt_get_be32(buf)));
    case VT_SW_SHUTDOWN:
        if (s->running)
            vt_engine_power_off(s->e);
        s->running = false;
        s->shutdown = true;
        (void)reply_rc(s, VT_SW_SUCCESS);
        return false;
    case VT_SW_GET_TPMESTABLISHED:
        if (!s->running)
            return reply_rc(s, VT_SW_BAD_ORDINAL);
        memset(r, 0, 8);
        r[4] = vt_engine_tpm_established(s->e) ? 1 : 0;
        return send_ctrl(s, r, 8);
    case VT_SW_SET_LOCALITY:
        if (n < 1)
            return false;
        if (buf[0] > 4)
            return reply_rc(s, VT_SW_BAD_LOCALITY);
        s->locality = buf[0];
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_HASH_START:
    case VT_SW_HASH_END:
    case VT_SW_CANCEL_TPM_CMD:
    case VT_SW_STORE_VOLATILE:
        if (!s->running)
            return reply_rc(s, VT_SW_BAD_ORDINAL);
        if (cmd == VT_SW_HASH_START) {
            vt_engine_hash_start(s->e); /* sets tpmEstablished, durably */
        } else if (cmd == VT_SW_HASH_END) {
            vt_engine_hash_end(s->e);
        } else if (cmd == VT_SW_STORE_VOLATILE) {
            return reply_rc(s, s->cfg.volatile_fd >= 0 ? store_volatile(s) : VT_SW_FAIL);
        }
        /* CANCEL: commands run to completion before the next control
         * message is read, so there is never one to cancel. */
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_HASH_DATA: {
        uint32_t len;
        if (n < 4)
            return false;
        len = vt_get_be32(buf);
        if (len > 4096u)
            return false;
        if (n < 4u + len) /* ctrl_readable waits for the whole message */
            return false;
        if (!s->running)
            return reply_rc(s, VT_SW_BAD_ORDINAL);
        vt_engine_hash_data(s->e, buf + 4, len);
        return reply_rc(s, VT_SW_SUCCESS);
    }
    case VT_SW_RESET_TPMESTABLISHED:
        if (n < 1)
            return false;
        if (!s->running)
            return reply_rc(s, VT_SW_BAD_ORDINAL);
        /* TIS: only localities 3 and 4 may reset the flag */
        if (buf[0] < 3 || buf[0] > 4)
            return reply_rc(s, VT_SW_BAD_LOCALITY);
        return reply_rc(s, vt_engine_reset_established(s->e) == VT_OK ? VT_SW_SUCCESS : VT_SW_FAIL);
    case VT_SW_GET_STATEBLOB: {
        uint32_t type, offset;
        size_t len;
        uint8_t *blob, hdr[16];
        bool ok;
        if (n < 12)
            return false;
        type = vt_get_be32(buf + 4);
        offset = vt_get_be32(buf + 8);
        blob = get_blob(s, type, &len, &rc);
        if (!blob)
            return reply_rc(s, rc);
        if (offset > len)
            offset = (uint32_t)len;
        vt_put_be32(hdr, 0);
        vt_put_be32(hdr + 4, s->cfg.migration_key && type != VT_SW_BLOB_SAVESTATE ? VT_SW_STATE_FLAG_ENCRYPTED : 0);
        vt_put_be32(hdr + 8, (uint32_t)len);
        vt_put_be32(hdr + 12, (uint32_t)(len - offset));
        ok = send_ctrl(s, hdr, 16) && send_ctrl(s, blob + offset, len - offset);
        vt_seal_wipe(blob, len);
        free(blob);
        return ok;
    }
    case VT_SW_SET_STATEBLOB: {
        uint32_t flags, type, len;
        uint8_t *blob;
        size_t have;
        if (n < 12)
            return false;
        flags = vt_get_be32(buf);
        type = vt_get_be32(buf + 4);
        len = vt_get_be32(buf + 8);
        if (len > BLOB_MAX) {
            (void)reply_rc(s, VT_SW_BAD_PARAMETER);
            return false;
        }
        if (!(blob = malloc(len ? len : 1)))
            return false;
        have = n - 12 < len ? n - 12 : len;
        memcpy(blob, buf + 12, have);
        if (have < len) { /* ctrl_readable waits for the whole message */
            free(blob);
            return false;
        }
        rc = set_blob(s, flags, type, blob, len);
        vt_seal_wipe(blob, len);
        free(blob);
        return reply_rc(s, rc);
    }
    case VT_SW_STOP:
        if (s->running)
            vt_engine_power_off(s->e);
        s->running = false;
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_GET_CONFIG:
        vt_put_be32(r, 0);
        vt_put_be32(r + 4, (s->cfg.store && s->cfg.store->key ? VT_SW_CONFIG_FILE_KEY : 0) |
                         (s->cfg.migration_key ? VT_SW_CONFIG_MIGRATION_KEY : 0));
        return send_ctrl(s, r, 8);
    case VT_SW_SET_DATAFD:
        if (*fd < 0)
            return reply_rc(s, VT_SW_IOERROR);
        if (!s->din && !(s->din = malloc(VT_MAX_COMMAND_SIZE)))
            return reply_rc(s, VT_SW_FAIL);
        close_fd(&s->data);
        out_free(&s->out_data);
        s->data = *fd;
        *fd = -1;
        s->din_len = 0;
        s->vm_session = true;
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_SET_BUFFERSIZE: {
        uint32_t want;
        if (n < 4)
            return reply_rc(s, VT_SW_BAD_PARAMETER);
        want = vt_get_be32(buf);
        if (want != 0 && s->running)
            return reply_rc(s, VT_SW_BAD_ORDINAL);
        if (want != 0)
            s->bufsize = want < BUF_MIN ? BUF_MIN : want > BUF_MAX ? BUF_MAX : want;
        vt_put_be32(r, 0);
        vt_put_be32(r + 4, s->bufsize);
        vt_put_be32(r + 8, BUF_MIN);
        vt_put_be32(r + 12, BUF_MAX);
        return send_ctrl(s, r, 16);
    }
    case VT_SW_GET_INFO: {
        char json[512];
        uint8_t out[12 + sizeof(json)];
        uint64_t flags;
        uint32_t offset;
        size_t len;
        if (n < 16)
            return reply_rc(s, VT_SW_BAD_PARAMETER);
        flags = (uint64_t)vt_get_be32(buf) << 32 | vt_get_be32(buf + 4);
        offset = vt_get_be32(buf + 8);
        len = info_json(flags, json, sizeof(json));
        if (offset > len)
            offset = (uint32_t)len;
        vt_put_be32(out, 0);
        vt_put_be32(out + 4, (uint32_t)len);
        vt_put_be32(out + 8, (uint32_t)(len - offset));
        memcpy(out + 12, json + offset, len - offset);
        return send_ctrl(s, out, 12 + len - offset);
    }
    default:
        return reply_rc(s, VT_SW_BAD_ORDINAL);
    }
}

static void drop_cin(sw *s)
{
    if (s->cin) {
        vt_seal_wipe(s->cin, s->cin_need);
        free(s->cin);
    }
    s->cin = NULL;
    s->cin_len = s->cin_need = 0;
}

static void close_ctrl(sw *s)
{
    close_fd(&s->ctrl);
    out_free(&s->out_ctrl);
    drop_cin(s);
}

static void close_data(sw *s)
{
    close_fd(&s->data);
    out_free(&s->out_data);
    free(s->din);
    s->din = NULL;
    s->din_len = 0;
}

/* The whole length of a control message whose first n bytes are in buf,
 * when it is one of the two that may come in pieces (HASH_DATA,
 * SET_STATEBLOB) and its length field is acceptable; else 0 (the message is
 * what this one recv() brought, as swtpm reads it). */
static size_t long_message(const uint8_t *buf, size_t n)
{
    uint32_t len;
    if (n >= 8 && vt_get_be32(buf) == VT_SW_HASH_DATA) {
        len = vt_get_be32(buf + 4);
        return len <= 4096u ? 8u + len : 0;
    }
    if (n >= 16 && vt_get_be32(buf) == VT_SW_SET_STATEBLOB) {
        len = vt_get_be32(buf + 12);
        return len <= BLOB_MAX ? 16u + (size_t)len : 0;
    }
    return 0;
}

static void ctrl_readable(sw *s)
{
    static uint8_t buf[CTRL_MAX];
    union {
        char b[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                         .msg_controllen = sizeof(cbuf.b) };
    struct cmsghdr *cm;
    ssize_t n;
    size_t need;
    int fd = -1;
    bool keep;

    if (s->cin) { /* the rest of a long message: buffered, so others are served meanwhile */
        iov.iov_base = s->cin + s->cin_len;
        iov.iov_len = s->cin_need - s->cin_len;
    }
    n = recvmsg(s->ctrl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t k, cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (k = 0; k < cnt; k++) {
                int f;
                memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
                if (fd < 0)
                    fd = f;
                else
                    close(f); /* one descriptor is all a message may bring */
            }
        }
    }
    if (n <= 0) {
        close_fd(&fd);
        close_ctrl(s);
        return;
    }
    if (s->cin) {
        close_fd(&fd); /* only SET_DATAFD brings one */
        s->cin_len += (size_t)n;
        if (s->cin_len < s->cin_need)
            return;
        keep = ctrl_message(s, s->cin, s->cin_need, &fd);
        drop_cin(s);
    } else if ((need = long_message(buf, (size_t)n)) > (size_t)n) {
        close_fd(&fd);
        if (!(s->cin = malloc(need))) {
            close_ctrl(s);
            return;
        }
        memcpy(s->cin, buf, (size_t)n);
        s->cin_len = (size_t)n;
        s->cin_need = need;
        s->cin_deadline = now_ms() + IO_TIMEOUT_MS;
        return;
    } else {
        keep = ctrl_message(s, buf, (size_t)n, &fd);
    }
    close_fd(&fd);
    if (!keep)
        close_ctrl(s);
}

static const uint8_t rsp_failure[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01 }; /* TPM_RC_FAILURE */
static const uint8_t rsp_size[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x42 };    /* TPM_RC_COMMAND_SIZE */

/* Execute the whole commands that are buffered, as long as their answers
 * are taken.  Returns false when the data connection must close. */
static bool data_run(sw *s)
{
    static uint8_t rsp[VT_MAX_RESPONSE_SIZE];

    while (s->din_len >= 10 && s->out_data.len == 0) {
        uint32_t size = vt_get_be32(s->din + 2);
        if (size < 10 || size > s->bufsize) {
            /* the stream cannot be resynchronised: answer and hang up */
            (void)send_data(s, rsp_size, sizeof(rsp_size));
            return false;
        }
        if (s->din_len < size)
            break;
        if (!s->running || !s->e) {
            logf_(s, 20, "TPM command 0x%03x before INIT: TPM_RC_FAILURE", vt_get_be32(s->din + 6));
            if (!send_data(s, rsp_failure, sizeof(rsp_failure)))
                return false;
        } else {
            size_t rlen;
            vt_engine_set_client(s->e, 0);
            rlen = vt_engine_execute(s->e, s->locality, s->din, size, rsp, sizeof(rsp));
            logf_(s, 20, "TPM command 0x%03x at locality %u: rc 0x%03x", vt_get_be32(s->din + 6), s->locality,
                  vt_get_be32(rsp + 6));
            if (!send_data(s, rsp, rlen))
                return false;
        }
        memmove(s->din, s->din + size, s->din_len - size);
        s->din_len -= size;
    }
    return true;
}

/* Returns false when the data connection must close. */
static bool data_readable(sw *s)
{
    ssize_t n = recv(s->data, s->din + s->din_len, VT_MAX_COMMAND_SIZE - s->din_len, MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (n <= 0)
        return false;
    s->din_len += (size_t)n;
    return data_run(s);
}

void vt_sw_inst_init(vt_sw_inst *in)
{
    in->running = in->cfg.running;
    in->shutdown = false;
    in->vm_session = false;
    in->locality = 0;
    in->bufsize = BUF_MAX;
    in->ctrl = in->cfg.ctrl_client_fd;
    in->data = -1;
    in->din = NULL;
    in->din_len = 0;
    in->cin = NULL;
    in->cin_len = in->cin_need = 0;
    memset(&in->out_ctrl, 0, sizeof(in->out_ctrl));
    memset(&in->out_data, 0, sizeof(in->out_data));
    in->pending_vol = NULL;
    in->pending_vol_len = 0;
}

void vt_sw_inst_end_session(vt_sw_inst *in)
{
    if (in->ctrl >= 0 && in->out_ctrl.len)
        (void)out_write(in->ctrl, &in->out_ctrl); /* SHUTDOWN's answer */
    close_ctrl(in);
    close_data(in);
    if (in->pending_vol) {
        vt_seal_wipe(in->pending_vol, in->pending_vol_len);
        free(in->pending_vol);
    }
    in->pending_vol = NULL;
    in->pending_vol_len = 0;
    in->running = false;
    in->shutdown = false;
    in->vm_session = false;
    in->locality = 0;
    in->bufsize = BUF_MAX;
}

enum { P_SIG, P_LCTRL, P_LDATA, P_CTRL, P_DATA };

typedef struct {
    size_t inst;
    int kind;
} poll_ref;

/* A new connection for in: open its engine first if the host released it. */
static int accept_for(vt_sw_host *h, sw *s, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    if (!s->e && (!h->open || h->open(h, s) != 0 || !s->e)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* SIGHUP: --log file= is opened again by name onto the same descriptor,
 * so the lines after a logrotate go to the new file.  If the file cannot
 * be opened the old one is kept. */
static void reopen_log(sw *s)
{
    int fd;

    if (!s->cfg.log_path || s->cfg.log_fd < 0)
        return;
    fd = open(s->cfg.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (fd != s->cfg.log_fd) {
        (void)dup3(fd, s->cfg.log_fd, O_CLOEXEC);
        close(fd);
    }
}

int vt_sw_host_run(vt_sw_host *h)
{
    sigset_t mask;
    struct pollfd *pfd = NULL;
    poll_ref *ref = NULL;
    size_t cap = 0;
    int sfd, result = -1;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
        return -1;
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0)
        return -1;

    vt_notify_ready(); /* systemd Type=notify: the sockets are listening */
    for (;;) {
        size_t np = 0, i, k;
        int timeout = -1;
        bool hup = false;
        uint64_t now;

        if (cap < 1 + 4 * h->n) {
            size_t want = 1 + 4 * h->n + 16;
            struct pollfd *np_ = realloc(pfd, want * sizeof(*pfd));
            poll_ref *nr = np_ ? realloc(ref, want * sizeof(*ref)) : NULL;
            if (np_)
                pfd = np_;
            if (!nr)
                break;
            ref = nr;
            cap = want;
        }
        pfd[np] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        ref[np++] = (poll_ref){ 0, P_SIG };
        now = now_ms();
        for (i = 0; i < h->n; i++) {
            sw *s = h->inst[i];
            if (s->ctrl < 0 && s->cfg.ctrl_fd >= 0) {
                pfd[np] = (struct pollfd){ .fd = s->cfg.ctrl_fd, .events = POLLIN };
                ref[np++] = (poll_ref){ i, P_LCTRL };
            }
            if (s->data < 0 && s->cfg.data_fd >= 0) {
                pfd[np] = (struct pollfd){ .fd = s->cfg.data_fd, .events = POLLIN };
                ref[np++] = (poll_ref){ i, P_LDATA };
            }
            if (s->ctrl >= 0) {
                pfd[np] = (struct pollfd){ .fd = s->ctrl, .events = s->out_ctrl.len ? POLLOUT : POLLIN };
                ref[np++] = (poll_ref){ i, P_CTRL };
            }
            if (s->data >= 0) {
                pfd[np] = (struct pollfd){ .fd = s->data, .events = s->out_data.len ? POLLOUT : POLLIN };
                ref[np++] = (poll_ref){ i, P_DATA };
            }
            if (s->cin) {
                int left = s->cin_deadline > now ? (int)(s->cin_deadline - now) : 0;
                if (timeout < 0 || left < timeout)
                    timeout = left;
            }
        }
        if (poll(pfd, (nfds_t)np, timeout) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si = { 0 };
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGHUP &&
                si.ssi_signo != SIGPIPE) {
                result = (int)si.ssi_signo;
                break;
            }
            if (si.ssi_signo == SIGHUP) {
                /* logrotate moved the log file away */
                vt_log_reopen();
                for (k = 0; k < h->n; k++)
                    reopen_log(h->inst[k]);
                hup = true;
            }
        }
        for (k = 1; k < np; k++) {
            sw *s = h->inst[ref[k].inst];
            if (!pfd[k].revents)
                continue;
            switch (ref[k].kind) {
            case P_LCTRL:
                if (s->ctrl < 0)
                    s->ctrl = accept_for(h, s, s->cfg.ctrl_fd);
                break;
            case P_LDATA:
                if (s->data >= 0)
                    break;
                if (!s->din && !(s->din = malloc(VT_MAX_COMMAND_SIZE)))
                    break;
                s->data = accept_for(h, s, s->cfg.data_fd);
                s->din_len = 0;
                if (s->data < 0)
                    close_data(s);
                break;
            case P_CTRL:
                if (s->ctrl != pfd[k].fd)
                    break;
                if (s->out_ctrl.len) {
                    if (!out_write(s->ctrl, &s->out_ctrl))
                        close_ctrl(s);
                    break;
                }
                ctrl_readable(s);
                if (s->shutdown) {
                    if (!h->multi) {
                        result = 0;
                        goto out;
                    }
                    /* this TPM's session ends, not the process */
                    vt_sw_inst_end_session(s);
                }
                break;
            case P_DATA:
                if (s->data != pfd[k].fd)
                    break;
                if (s->out_data.len) {
                    /* the answer is taken: go on with what was pipelined */
                    if (out_write(s->data, &s->out_data) && (s->out_data.len || data_run(s)))
                        break;
                } else if (data_readable(s)) {
                    break;
                }
                close_data(s);
                if (s->cfg.terminate && !h->multi) {
                    result = 0;
                    goto out;
                }
                break;
            default:
                break;
            }
        }
        now = now_ms();
        for (i = 0; i < h->n; i++) {
            sw *s = h->inst[i];
            if (s->cin && now >= s->cin_deadline) {
                logf_(s, 1, "control message not completed in %d ms: connection closed", IO_TIMEOUT_MS);
                close_ctrl(s);
            }
            /* idle: nobody connected, and the TPM off with nothing set for
             * its next INIT, or its VM gone */
            if (h->multi && h->release && s->e && s->ctrl < 0 && s->data < 0 &&
                (s->vm_session || (!s->running && !s->pending_vol))) {
                vt_sw_inst_end_session(s);
                h->release(h, s);
            }
        }
        if (hup && h->hangup)
            h->hangup(h);
        if (h->tidy)
            h->tidy(h);
    }
out:
    free(pfd);
    free(ref);
    close(sfd);
    return result;
}

int vt_serve_swtpm(vt_engine **e, const vt_swtpm_cfg *cfg)
{
    vt_sw_inst in, *list[1] = { &in };
    vt_sw_host h = { .inst = list, .n = 1 };
    int result;

    memset(&in, 0, sizeof(in));
    in.cfg = *cfg;
    in.e = *e;
    vt_sw_inst_init(&in);
    result = vt_sw_host_run(&h);
    vt_sw_inst_end_session(&in);
    *e = in.e;
    return result;
}
