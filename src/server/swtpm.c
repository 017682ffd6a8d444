/* The swtpm socket protocol server (server/swtpm.h, docs/SWTPM.md).
 *
 * One thread, one poll loop, like swtpm: at most one control connection and
 * one data connection at a time (a second client waits in the listen
 * backlog).  A control message is what one recv() brings, as swtpm reads
 * it; only HASH_DATA and SET_STATEBLOB, whose payload may be large, read on
 * until their length is complete (with a time limit).  Data-channel bytes
 * are buffered until a whole TPM command (its header's size) is there, so a
 * client may write in any pieces and may vanish mid-command. */
#define _GNU_SOURCE
#include "server/swtpm.h"

#include <errno.h>
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

typedef struct {
    vt_engine *e;
    const vt_swtpm_cfg *cfg;
    bool running;
    bool established;
    uint8_t locality;
    uint32_t bufsize;
    int ctrl, data; /* connections, -1 when none */
    uint8_t din[VT_MAX_COMMAND_SIZE];
    size_t din_len;
    uint8_t *pending_vol; /* a volatile state set by SET_STATEBLOB, for the next INIT */
    size_t pending_vol_len;
    bool shutdown;
} sw;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

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
    if (s->cfg->log_fd < 0 || level > s->cfg->log_level)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (s->cfg->log_fd == STDERR_FILENO) {
        /* the level=N filter above chose the line: not vt_log's level again */
        vt_log(level <= 1 ? VT_LOG_ERROR : VT_LOG_INFO, "swtpm: %s", line); /* "vitrum: swtpm: ..." */
        return;
    }
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (dprintf(s->cfg->log_fd, "vitrum swtpm: %.*s", n, line) < 0) {
        /* nowhere else to report it */
    }
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p1 = { .fd = fd, .events = POLLOUT };
            if (poll(&p1, 1, IO_TIMEOUT_MS) <= 0)
                return false;
            continue;
        }
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Read exactly n more bytes (the rest of a long control message). */
static bool recv_rest(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        struct pollfd p1 = { .fd = fd, .events = POLLIN };
        ssize_t r;
        int pr = poll(&p1, 1, IO_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return false;
        r = recv(fd, p, n, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
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
    put32(b, rc);
    return send_all(s->ctrl, b, 4);
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
    st = vt_engine_new_ex(&mp, &s->cfg->engine_cfg, &probe);
    if (st != VT_OK) {
        logf_(s, 1, "SET_STATEBLOB permanent refused: %s", vt_status_str(st));
        return VT_SW_FAIL;
    }
    vt_engine_free(probe);
    if (vt_store_commit(s->cfg->store, p, n) != 0) {
        logf_(s, 1, "SET_STATEBLOB permanent: %s", s->cfg->store->err);
        return VT_SW_FAIL;
    }
    vt_platform_posix(&plat, s->cfg->store);
    st = vt_engine_new_ex(&plat, &s->cfg->engine_cfg, &fresh);
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
    if (vt_sw_blob_unwrap((uint8_t)type, buf, len, s->cfg->migration_key,
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
    if (n == 0 || !(*len = vt_sw_blob_wrap((uint8_t)type, payload, n, s->cfg->migration_key, out, cap))) {
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
    if (n == 0 || !(len = vt_sw_blob_wrap(VT_SW_BLOB_VOLATILE, payload, n, s->cfg->volatile_key, out + 4, cap)))
        goto done;
    put32(out, (uint32_t)len);
    if (pwrite(s->cfg->volatile_fd, out, 4 + len, 0) == (ssize_t)(4 + len) && fdatasync(s->cfg->volatile_fd) == 0)
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
    if (s->cfg->volatile_fd < 0 || pread(s->cfg->volatile_fd, hdr, 4, 0) != 4)
        return 1;
    n = get32(hdr);
    if (n == 0)
        return 1;
    if (n > BLOB_MAX || !(buf = malloc(n)))
        return -1;
    if (pread(s->cfg->volatile_fd, buf, n, 4) != (ssize_t)n ||
        vt_sw_blob_unwrap(VT_SW_BLOB_VOLATILE, buf, n, s->cfg->volatile_key, s->cfg->volatile_key != NULL,
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
    if (s->cfg->volatile_fd >= 0 && pwrite(s->cfg->volatile_fd, zero, 4, 0) == 4)
        (void)fdatasync(s->cfg->volatile_fd);
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
    cmd = get32(buf);
    buf += 4;
    n -= 4;
    logf_(s, 5, "control command %u (%zu bytes)", cmd, n);
    switch (cmd) {
    case VT_SW_GET_CAPABILITY:
        put32(r, 0);
        put32(r + 4, CAPS);
        return send_all(s->ctrl, r, 8);
    case VT_SW_INIT:
        if (n < 4)
            return false;
        return reply_rc(s, do_init(s, get32(buf)));
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
        r[4] = s->established ? 1 : 0;
        return send_all(s->ctrl, r, 8);
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
            vt_engine_hash_start(s->e);
            s->established = true; /* TIS: a D-RTM sequence sets tpmEstablished */
        } else if (cmd == VT_SW_HASH_END) {
            vt_engine_hash_end(s->e);
        } else if (cmd == VT_SW_STORE_VOLATILE) {
            return reply_rc(s, s->cfg->volatile_fd >= 0 ? store_volatile(s) : VT_SW_FAIL);
        }
        /* CANCEL: commands run to completion before the next control
         * message is read, so there is never one to cancel. */
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_HASH_DATA: {
        uint32_t len;
        if (n < 4)
            return false;
        len = get32(buf);
        if (len > 4096u)
            return false;
        if (n < 4u + len && !recv_rest(s->ctrl, buf + n, 4u + len - n))
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
        s->established = false;
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_GET_STATEBLOB: {
        uint32_t type, offset;
        size_t len;
        uint8_t *blob, hdr[16];
        bool ok;
        if (n < 12)
            return false;
        type = get32(buf + 4);
        offset = get32(buf + 8);
        blob = get_blob(s, type, &len, &rc);
        if (!blob)
            return reply_rc(s, rc);
        if (offset > len)
            offset = (uint32_t)len;
        put32(hdr, 0);
        put32(hdr + 4, s->cfg->migration_key && type != VT_SW_BLOB_SAVESTATE ? VT_SW_STATE_FLAG_ENCRYPTED : 0);
        put32(hdr + 8, (uint32_t)len);
        put32(hdr + 12, (uint32_t)(len - offset));
        ok = send_all(s->ctrl, hdr, 16) && send_all(s->ctrl, blob + offset, len - offset);
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
        flags = get32(buf);
        type = get32(buf + 4);
        len = get32(buf + 8);
        if (len > BLOB_MAX) {
            (void)reply_rc(s, VT_SW_BAD_PARAMETER);
            return false;
        }
        if (!(blob = malloc(len ? len : 1)))
            return false;
        have = n - 12 < len ? n - 12 : len;
        memcpy(blob, buf + 12, have);
        if (have < len && !recv_rest(s->ctrl, blob + have, len - have)) {
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
        put32(r, 0);
        put32(r + 4, (s->cfg->store && s->cfg->store->key ? VT_SW_CONFIG_FILE_KEY : 0) |
                         (s->cfg->migration_key ? VT_SW_CONFIG_MIGRATION_KEY : 0));
        return send_all(s->ctrl, r, 8);
    case VT_SW_SET_DATAFD:
        if (*fd < 0)
            return reply_rc(s, VT_SW_IOERROR);
        close_fd(&s->data);
        s->data = *fd;
        *fd = -1;
        s->din_len = 0;
        return reply_rc(s, VT_SW_SUCCESS);
    case VT_SW_SET_BUFFERSIZE: {
        uint32_t want;
        if (n < 4)
            return reply_rc(s, VT_SW_BAD_PARAMETER);
        want = get32(buf);
        if (want != 0 && s->running)
            return reply_rc(s, VT_SW_BAD_ORDINAL);
        if (want != 0)
            s->bufsize = want < BUF_MIN ? BUF_MIN : want > BUF_MAX ? BUF_MAX : want;
        put32(r, 0);
        put32(r + 4, s->bufsize);
        put32(r + 8, BUF_MIN);
        put32(r + 12, BUF_MAX);
        return send_all(s->ctrl, r, 16);
    }
    case VT_SW_GET_INFO: {
        char json[512];
        uint8_t out[12 + sizeof(json)];
        uint64_t flags;
        uint32_t offset;
        size_t len;
        if (n < 16)
            return reply_rc(s, VT_SW_BAD_PARAMETER);
        flags = (uint64_t)get32(buf) << 32 | get32(buf + 4);
        offset = get32(buf + 8);
        len = info_json(flags, json, sizeof(json));
        if (offset > len)
            offset = (uint32_t)len;
        put32(out, 0);
        put32(out + 4, (uint32_t)len);
        put32(out + 8, (uint32_t)(len - offset));
        memcpy(out + 12, json + offset, len - offset);
        return send_all(s->ctrl, out, 12 + len - offset);
    }
    default:
        return reply_rc(s, VT_SW_BAD_ORDINAL);
    }
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
    int fd = -1;
    bool keep;

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
        close_fd(&s->ctrl);
        return;
    }
    keep = ctrl_message(s, buf, (size_t)n, &fd);
    close_fd(&fd);
    if (!keep)
        close_fd(&s->ctrl);
}

static const uint8_t rsp_failure[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01 }; /* TPM_RC_FAILURE */
static const uint8_t rsp_size[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x42 };    /* TPM_RC_COMMAND_SIZE */

/* Returns false when the data connection must close. */
static bool data_readable(sw *s)
{
    static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    ssize_t n = recv(s->data, s->din + s->din_len, sizeof(s->din) - s->din_len, MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (n <= 0)
        return false;
    s->din_len += (size_t)n;
    while (s->din_len >= 10) {
        uint32_t size = get32(s->din + 2);
        if (size < 10 || size > s->bufsize) {
            /* the stream cannot be resynchronised: answer and hang up */
            (void)send_all(s->data, rsp_size, sizeof(rsp_size));
            return false;
        }
        if (s->din_len < size)
            break;
        if (!s->running) {
            logf_(s, 20, "TPM command 0x%03x before INIT: TPM_RC_FAILURE", get32(s->din + 6));
            if (!send_all(s->data, rsp_failure, sizeof(rsp_failure)))
                return false;
        } else {
            size_t rlen;
            vt_engine_set_client(s->e, 0);
            rlen = vt_engine_execute(s->e, s->locality, s->din, size, rsp, sizeof(rsp));
            logf_(s, 20, "TPM command 0x%03x at locality %u: rc 0x%03x", get32(s->din + 6), s->locality,
                  get32(rsp + 6));
            if (!send_all(s->data, rsp, rlen))
                return false;
        }
        memmove(s->din, s->din + size, s->din_len - size);
        s->din_len -= size;
    }
    return true;
}

int vt_serve_swtpm(vt_engine **e, const vt_swtpm_cfg *cfg)
{
    sw s;
    sigset_t mask;
    int sfd, result = -1;

    memset(&s, 0, sizeof(s));
    s.e = *e;
    s.cfg = cfg;
    s.running = cfg->running;
    s.bufsize = BUF_MAX;
    s.ctrl = cfg->ctrl_client_fd;
    s.data = -1;
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
        struct pollfd pfd[5];
        int np = 0, i_sig, i_cl = -1, i_dl = -1, i_c = -1, i_d = -1;

        pfd[np] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        i_sig = np++;
        if (s.ctrl < 0 && cfg->ctrl_fd >= 0) {
            pfd[np] = (struct pollfd){ .fd = cfg->ctrl_fd, .events = POLLIN };
            i_cl = np++;
        }
        if (s.data < 0 && cfg->data_fd >= 0) {
            pfd[np] = (struct pollfd){ .fd = cfg->data_fd, .events = POLLIN };
            i_dl = np++;
        }
        if (s.ctrl >= 0) {
            pfd[np] = (struct pollfd){ .fd = s.ctrl, .events = POLLIN };
            i_c = np++;
        }
        if (s.data >= 0) {
            pfd[np] = (struct pollfd){ .fd = s.data, .events = POLLIN };
            i_d = np++;
        }
        if (poll(pfd, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[i_sig].revents) {
            struct signalfd_siginfo si = { 0 };
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGHUP &&
                si.ssi_signo != SIGPIPE) {
                result = (int)si.ssi_signo;
                break;
            }
            if (si.ssi_signo == SIGHUP)
                vt_log_reopen(); /* logrotate moved the log file away */
        }
        if (i_cl >= 0 && pfd[i_cl].revents)
            s.ctrl = accept4(cfg->ctrl_fd, NULL, NULL, SOCK_CLOEXEC);
        if (i_dl >= 0 && pfd[i_dl].revents) {
            s.data = accept4(cfg->data_fd, NULL, NULL, SOCK_CLOEXEC);
            s.din_len = 0;
        }
        if (i_c >= 0 && pfd[i_c].revents) {
            ctrl_readable(&s);
            if (s.shutdown) {
                result = 0;
                break;
            }
        }
        if (i_d >= 0 && s.data == pfd[i_d].fd && pfd[i_d].revents) {
            if (!data_readable(&s)) {
                close_fd(&s.data);
                s.din_len = 0;
                if (cfg->terminate) {
                    result = 0;
                    break;
                }
            }
        }
    }
    close_fd(&s.ctrl);
    close_fd(&s.data);
    close(sfd);
    if (s.pending_vol) {
        vt_seal_wipe(s.pending_vol, s.pending_vol_len);
        free(s.pending_vol);
    }
    *e = s.e;
    return result;
}
