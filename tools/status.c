/* `vitrum status`: ask a running TPM what it is, with TPM commands only
 * (TPM2_GetCapability, TPM2_ReadClock, TPM2_NV_ReadPublic), and print it
 * for a person.  Works with any TPM 2.0 a TCTI string names: vitrum or
 * swtpm over mssim or the swtpm protocol, or a kernel device. */
#define _GNU_SOURCE
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "vitrum/version.h"

#define TIMEOUT_MS 10000
#define MSSIM_SEND_COMMAND 8u /* the simulator's TPM_SEND_COMMAND */
#define RSP_MAX 4096

static const char usage_status[] =
    "Usage: vitrum status [--port N | --tcti TCTI] [--state DIR]\n"
    "\n"
    "Ask a running TPM 2.0 what it is and print it for a person: vendor and\n"
    "firmware version, specification level, whether it is started, PCR banks,\n"
    "loaded and persistent objects, sessions, NV indices and the octets they\n"
    "hold, the dictionary-attack counter and lockout state, and how long it has\n"
    "been up.  Only TPM commands are used (TPM2_GetCapability, TPM2_ReadClock,\n"
    "TPM2_NV_ReadPublic), so it works with vitrum, swtpm or a hardware TPM;\n"
    "what no TPM command reports (free NV space, the number of commands\n"
    "served) is said to be unavailable, not guessed.\n"
    "\n"
    "Options:\n"
    "  --port N       a vitrum serve (mssim protocol) on 127.0.0.1 port N\n"
    "  --tcti TCTI    mssim:host=H,port=N | swtpm:host=H,port=N | device:PATH\n"
    "                 (default: $TPM2TOOLS_TCTI, else mssim:host=127.0.0.1,port=2321)\n"
    "  --state DIR    also report the server's state directory: its size and\n"
    "                 whether it is encrypted (read from the slot headers,\n"
    "                 docs/FORMAT.md; nothing is changed or locked)\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0 when the TPM answered, 1 when it could not be reached or\n"
    "refused, 2 on a usage error.\n";

typedef enum { T_MSSIM, T_SWTPM, T_DEVICE } tcti_kind;

typedef struct {
    tcti_kind kind;
    char host[256];
    char port[16];
    char path[256];
    int fd;
} tpm_conn;

/* "mssim:host=H,port=N", "swtpm:port=N", "device:/dev/tpmrm0", "mssim". */
static int parse_tcti(const char *s, tpm_conn *t, char *err, size_t errlen)
{
    const char *conf = strchr(s, ':');
    size_t nlen = conf ? (size_t)(conf - s) : strlen(s);

    memset(t, 0, sizeof(*t));
    t->fd = -1;
    snprintf(t->host, sizeof(t->host), "127.0.0.1");
    if (nlen == 5 && !strncmp(s, "mssim", 5)) {
        t->kind = T_MSSIM;
        snprintf(t->port, sizeof(t->port), "2321");
    } else if (nlen == 5 && !strncmp(s, "swtpm", 5)) {
        t->kind = T_SWTPM;
        snprintf(t->port, sizeof(t->port), "2321");
    } else if (nlen == 6 && !strncmp(s, "device", 6)) {
        t->kind = T_DEVICE;
        snprintf(t->path, sizeof(t->path), "%s", conf && conf[1] ? conf + 1 : "/dev/tpmrm0");
        return 0;
    } else {
        snprintf(err, errlen, "unsupported TCTI '%.*s' (mssim, swtpm or device)", (int)nlen, s);
        return -1;
    }
    if (!conf)
        return 0;
    for (conf++; *conf;) {
        const char *end = strchr(conf, ',');
        size_t len = end ? (size_t)(end - conf) : strlen(conf);
        if (len > 5 && !strncmp(conf, "host=", 5) && len - 5 < sizeof(t->host))
            snprintf(t->host, sizeof(t->host), "%.*s", (int)(len - 5), conf + 5);
        else if (len > 5 && !strncmp(conf, "port=", 5) && len - 5 < sizeof(t->port))
            snprintf(t->port, sizeof(t->port), "%.*s", (int)(len - 5), conf + 5);
        else if (len > 0) {
            snprintf(err, errlen, "bad TCTI option '%.*s' (host=H,port=N)", (int)len, conf);
            return -1;
        }
        conf += len + (end != NULL);
    }
    return 0;
}

static int tpm_open(tpm_conn *t, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int rc, one = 1;

    if (t->kind == T_DEVICE) {
        t->fd = open(t->path, O_RDWR | O_CLOEXEC);
        if (t->fd < 0) {
            snprintf(err, errlen, "cannot open %s: %s", t->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    rc = getaddrinfo(t->host, t->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s port %s: %s", t->host, t->port, gai_strerror(rc));
        return -1;
    }
    errno = ECONNREFUSED;
    for (ai = res; ai; ai = ai->ai_next) {
        t->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (t->fd < 0)
            continue;
        if (connect(t->fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        rc = errno;
        close(t->fd);
        t->fd = -1;
        errno = rc;
    }
    freeaddrinfo(res);
    if (t->fd < 0) {
        snprintf(err, errlen, "cannot connect to %s port %s: %s (is vitrum serve running?)", t->host, t->port,
                 strerror(errno));
        return -1;
    }
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t r;
        if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
            return -1;
        r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Send one command, receive its response.  Returns the response length, or
 * -1 when the transport failed. */
static ssize_t transact(tpm_conn *t, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
    uint8_t hdr[9];
    uint32_t n;

    if (t->kind == T_DEVICE) {
        ssize_t r;
        if (write_all(t->fd, cmd, len) != 0)
            return -1;
        r = read(t->fd, rsp, cap);
        return r < 10 ? -1 : r;
    }
    if (t->kind == T_MSSIM) {
        /* mssim framing: TPM_SEND_COMMAND, locality, size, command; the
         * answer is size, response, then a 32-bit zero. */
        put32(hdr, MSSIM_SEND_COMMAND);
        hdr[4] = 0;
        put32(hdr + 5, (uint32_t)len);
        if (write_all(t->fd, hdr, 9) != 0 || write_all(t->fd, cmd, len) != 0)
            return -1;
        if (read_all(t->fd, hdr, 4) != 0)
            return -1;
        n = be32(hdr);
    } else {
        if (write_all(t->fd, cmd, len) != 0 || read_all(t->fd, rsp, 10) != 0)
            return -1;
        n = be32(rsp + 2);
        if (n < 10 || n > cap || read_all(t->fd, rsp + 10, n - 10) != 0)
            return -1;
        return (ssize_t)n;
    }
    if (n < 10 || n > cap || read_all(t->fd, rsp, n) != 0)
        return -1;
    if (read_all(t->fd, hdr, 4) != 0) /* the acknowledgement */
        return -1;
    return (ssize_t)n;
}

/* A command with no sessions: tag, size, code, then params.  Returns the
 * response code (or 0xFFFFFFFF on a transport failure); the response's
 * parameters are rsp[10 .. *rlen). */
static uint32_t tpm_cmd(tpm_conn *t, uint32_t code, const uint8_t *params, size_t plen, uint8_t *rsp, size_t *rlen)
{
    uint8_t cmd[64];
    ssize_t n;

    if (plen > sizeof(cmd) - 10)
        return 0xFFFFFFFFu;
    cmd[0] = 0x80, cmd[1] = 0x01; /* TPM_ST_NO_SESSIONS */
    put32(cmd + 2, (uint32_t)(10 + plen));
    put32(cmd + 6, code);
    if (plen)
        memcpy(cmd + 10, params, plen);
    n = transact(t, cmd, 10 + plen, rsp, RSP_MAX);
    if (n < 0)
        return 0xFFFFFFFFu;
    *rlen = (size_t)n;
    return be32(rsp + 6);
}

static uint32_t get_cap(tpm_conn *t, uint32_t cap, uint32_t prop, uint32_t count, TPMS_CAPABILITY_DATA *out,
                        bool *more)
{
    uint8_t p[12], rsp[RSP_MAX];
    size_t rlen = 0, off = 11;
    uint32_t rc;

    put32(p, cap), put32(p + 4, prop), put32(p + 8, count);
    rc = tpm_cmd(t, TPM2_CC_GetCapability, p, sizeof(p), rsp, &rlen);
    if (rc != 0)
        return rc;
    if (rlen < 11)
        return 0xFFFFFFFEu;
    *more = rsp[10] != 0;
    memset(out, 0, sizeof(*out));
    if (Tss2_MU_TPMS_CAPABILITY_DATA_Unmarshal(rsp, rlen, &off, out) != TSS2_RC_SUCCESS)
        return 0xFFFFFFFEu;
    return 0;
}

/* Every TPM property from first to the end of its group (PT_FIXED or
 * PT_VAR); props[pt - base] is set, have[] says which were reported. */
#define PT_GROUP 256
static uint32_t get_props(tpm_conn *t, uint32_t base, uint32_t *props, bool *have)
{
    uint32_t next = base, i;
    bool more = true;

    memset(have, 0, PT_GROUP * sizeof(bool));
    while (more && next < base + PT_GROUP) {
        TPMS_CAPABILITY_DATA d;
        uint32_t rc = get_cap(t, TPM2_CAP_TPM_PROPERTIES, next, PT_GROUP, &d, &more);
        if (rc != 0)
            return rc;
        if (d.data.tpmProperties.count == 0)
            break;
        for (i = 0; i < d.data.tpmProperties.count; i++) {
            uint32_t pt = d.data.tpmProperties.tpmProperty[i].property;
            if (pt >= base && pt < base + PT_GROUP) {
                props[pt - base] = d.data.tpmProperties.tpmProperty[i].value;
                have[pt - base] = true;
            }
            next = pt + 1;
        }
    }
    return 0;
}

/* Handles in [first, first + 2^24) */
static uint32_t get_handles(tpm_conn *t, uint32_t first, uint32_t *out, size_t cap, size_t *n)
{
    uint32_t next = first, i;
    bool more = true;

    *n = 0;
    while (more) {
        TPMS_CAPABILITY_DATA d;
        uint32_t rc = get_cap(t, TPM2_CAP_HANDLES, next, 64, &d, &more);
        if (rc != 0)
            return rc;
        if (d.data.handles.count == 0)
            break;
        for (i = 0; i < d.data.handles.count; i++) {
            uint32_t h = d.data.handles.handle[i];
            if ((h & 0xFF000000u) != (first & 0xFF000000u))
                return 0;
            if (*n < cap)
                out[*n] = h;
            (*n)++;
            next = h + 1;
        }
    }
    return 0;
}

static void str4(uint32_t v, char *out)
{
    int i, n = 0;
    for (i = 0; i < 4; i++) {
        char c = (char)(v >> (24 - 8 * i));
        if (c >= 0x20 && c < 0x7f)
            out[n++] = c;
    }
    out[n] = '\0';
}

static const char *alg_name(TPM2_ALG_ID a)
{
    switch (a) {
    case TPM2_ALG_SHA1: return "sha1";
    case TPM2_ALG_SHA256: return "sha256";
    case TPM2_ALG_SHA384: return "sha384";
    case TPM2_ALG_SHA512: return "sha512";
    case TPM2_ALG_SM3_256: return "sm3_256";
    case TPM2_ALG_SHA3_256: return "sha3_256";
    case TPM2_ALG_SHA3_384: return "sha3_384";
    case TPM2_ALG_SHA3_512: return "sha3_512";
    default: return NULL;
    }
}

static void print_duration(uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s >= 86400)
        printf("%llu d %llu h %llu min", (unsigned long long)(s / 86400), (unsigned long long)(s % 86400 / 3600),
               (unsigned long long)(s % 3600 / 60));
    else if (s >= 3600)
        printf("%llu h %llu min %llu s", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60),
               (unsigned long long)(s % 60));
    else if (s >= 60)
        printf("%llu min %llu s", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    else
        printf("%llu.%01llu s", (unsigned long long)s, (unsigned long long)(ms % 1000 / 100));
}

#define P(pt) (have[(pt) & 0xFF] ? props[(pt) & 0xFF] : 0)
#define HAVE(pt) (have[(pt) & 0xFF])

static int report(tpm_conn *t, const char *tcti)
{
    uint32_t props[PT_GROUP], vprops[PT_GROUP], rc, handles[256];
    bool have[PT_GROUP], vhave[PT_GROUP], more;
    char mf[5], vs[17], s4[5];
    size_t n, i;
    TPMS_CAPABILITY_DATA d;
    uint8_t rsp[RSP_MAX];
    size_t rlen = 0;
    int k;

    rc = get_props(t, TPM2_PT_FIXED, props, have);
    if (rc == 0xFFFFFFFFu) {
        fprintf(stderr, "vitrum status: no answer from %s\n", tcti);
        return 1;
    }
    if (rc == TPM2_RC_INITIALIZE) {
        printf("Server          %s\nState           powered on, waiting for TPM2_Startup (tpm2_startup -c)\n", tcti);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "vitrum status: TPM2_GetCapability failed with 0x%03x\n", rc);
        return 1;
    }
    rc = get_props(t, TPM2_PT_VAR, vprops, vhave);
    if (rc != 0) {
        fprintf(stderr, "vitrum status: TPM2_GetCapability failed with 0x%03x\n", rc);
        return 1;
    }

    printf("Server          %s\n", tcti);
    str4(P(TPM2_PT_MANUFACTURER), mf);
    vs[0] = '\0';
    for (k = 0; k < 4; k++) {
        str4(P(TPM2_PT_VENDOR_STRING_1 + (uint32_t)k), s4);
        strcat(vs, s4);
    }
    printf("TPM             %s (manufacturer %s), ", vs[0] ? vs : "?", mf[0] ? mf : "?");
    if (!strcmp(mf, "VTRM"))
        printf("firmware %u.%u.%u", P(TPM2_PT_FIRMWARE_VERSION_1) >> 16, P(TPM2_PT_FIRMWARE_VERSION_1) & 0xFFFF,
               P(TPM2_PT_FIRMWARE_VERSION_2));
    else
        printf("firmware 0x%08x.0x%08x", P(TPM2_PT_FIRMWARE_VERSION_1), P(TPM2_PT_FIRMWARE_VERSION_2));
    printf("; this vitrum tool %s\n", VITRUM_VERSION);
    str4(P(TPM2_PT_FAMILY_INDICATOR), s4);
    printf("Specification   TPM %s, level %u, revision %u.%02u, %u day %u\n", s4, P(TPM2_PT_LEVEL),
           P(TPM2_PT_REVISION) / 100, P(TPM2_PT_REVISION) % 100, P(TPM2_PT_YEAR), P(TPM2_PT_DAY_OF_YEAR));

    /* PCR banks: TPM2_CAP_PCRS lists each bank with the PCRs allocated */
    rc = get_cap(t, TPM2_CAP_PCRS, 0, 1, &d, &more);
    printf("PCR banks       ");
    if (rc != 0) {
        printf("(TPM2_GetCapability failed with 0x%03x)\n", rc);
    } else {
        for (i = 0, k = 0; i < d.data.assignedPCR.count; i++) {
            const TPMS_PCR_SELECTION *sel = &d.data.assignedPCR.pcrSelections[i];
            const char *name = alg_name(sel->hash);
            unsigned cnt = 0;
            size_t j;
            for (j = 0; j < sel->sizeofSelect && j < sizeof(sel->pcrSelect); j++)
                cnt += (unsigned)__builtin_popcount(sel->pcrSelect[j]);
            if (!cnt)
                continue;
            if (name)
                printf("%s%s (%u PCRs)", k++ ? ", " : "", name, cnt);
            else
                printf("%salg 0x%04x (%u PCRs)", k++ ? ", " : "", sel->hash, cnt);
        }
        printf("%s\n", k ? "" : "none allocated");
    }

    /* objects */
    rc = get_handles(t, 0x80000000u /* TPM_HT_TRANSIENT */, handles, 256, &n);
    printf("Objects         ");
    if (rc == 0)
        printf("%zu loaded", n);
    if (vhave[TPM2_PT_HR_TRANSIENT_AVAIL & 0xFF])
        printf(" (room for %u more)", vprops[TPM2_PT_HR_TRANSIENT_AVAIL & 0xFF]);
    rc = get_handles(t, 0x81000000u /* TPM_HT_PERSISTENT */, handles, 256, &n);
    if (rc == 0) {
        printf(", %zu persistent", n);
        for (i = 0; i < n && i < 8; i++)
            printf("%s0x%08x", i ? " " : ": ", handles[i]);
        if (n > 8)
            printf(" ...");
    }
    if (vhave[TPM2_PT_HR_PERSISTENT_AVAIL & 0xFF])
        printf(" (room for %u more)", vprops[TPM2_PT_HR_PERSISTENT_AVAIL & 0xFF]);
    printf("\n");
    printf("Sessions        %u loaded, %u saved (room for %u more)\n", vprops[TPM2_PT_HR_LOADED & 0xFF],
           vprops[TPM2_PT_HR_ACTIVE & 0xFF] >= vprops[TPM2_PT_HR_LOADED & 0xFF]
               ? vprops[TPM2_PT_HR_ACTIVE & 0xFF] - vprops[TPM2_PT_HR_LOADED & 0xFF]
               : 0,
           vprops[TPM2_PT_HR_ACTIVE_AVAIL & 0xFF]);

    /* NV: the indices, and the octets their data take (TPM2_NV_ReadPublic) */
    rc = get_handles(t, 0x01000000u /* TPM_HT_NV_INDEX */, handles, 256, &n);
    printf("NV              ");
    if (rc != 0) {
        printf("(TPM2_GetCapability failed with 0x%03x)\n", rc);
    } else {
        unsigned long long octets = 0;
        size_t counted = 0;
        for (i = 0; i < n && i < 256; i++) {
            uint8_t h[4];
            size_t off = 10;
            TPM2B_NV_PUBLIC pub;
            put32(h, handles[i]);
            if (tpm_cmd(t, TPM2_CC_NV_ReadPublic, h, 4, rsp, &rlen) != 0)
                continue;
            memset(&pub, 0, sizeof(pub));
            if (Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(rsp, rlen, &off, &pub) != TSS2_RC_SUCCESS)
                continue;
            octets += pub.nvPublic.dataSize;
            counted++;
        }
        printf("%zu indices holding %llu octets of data", n, octets);
        if (counted != n)
            printf(" (%zu not readable)", n - counted);
        printf(", %u counters", vprops[TPM2_PT_NV_COUNTERS & 0xFF]);
        if (vhave[TPM2_PT_NV_COUNTERS_AVAIL & 0xFF])
            printf(" (room for %u more)", vprops[TPM2_PT_NV_COUNTERS_AVAIL & 0xFF]);
        printf("; free NV space: not reported by TPM commands\n");
    }

    /* dictionary attack protection: Part 2 TPMA_PERMANENT, TPM_PT_LOCKOUT_* */
    printf("Lockout         %u failed authorizations of %u allowed; %s; one forgiven every %u s, "
           "lockout auth retry after %u s\n",
           vprops[TPM2_PT_LOCKOUT_COUNTER & 0xFF], vprops[TPM2_PT_MAX_AUTH_FAIL & 0xFF],
           (vprops[TPM2_PT_PERMANENT & 0xFF] & TPMA_PERMANENT_INLOCKOUT) ? "IN LOCKOUT" : "not in lockout",
           vprops[TPM2_PT_LOCKOUT_INTERVAL & 0xFF], vprops[TPM2_PT_LOCKOUT_RECOVERY & 0xFF]);
    {
        uint32_t perm = vprops[TPM2_PT_PERMANENT & 0xFF], sc = vprops[TPM2_PT_STARTUP_CLEAR & 0xFF];
        printf("Hierarchies     owner auth %s, endorsement auth %s, lockout auth %s; "
               "platform %s, owner %s, endorsement %s\n",
               (perm & TPMA_PERMANENT_OWNERAUTHSET) ? "set" : "empty",
               (perm & TPMA_PERMANENT_ENDORSEMENTAUTHSET) ? "set" : "empty",
               (perm & TPMA_PERMANENT_LOCKOUTAUTHSET) ? "set" : "empty",
               (sc & TPMA_STARTUP_CLEAR_PHENABLE) ? "enabled" : "disabled",
               (sc & TPMA_STARTUP_CLEAR_SHENABLE) ? "enabled" : "disabled",
               (sc & TPMA_STARTUP_CLEAR_EHENABLE) ? "enabled" : "disabled");
    }

    /* uptime: TPMS_TIME_INFO (Part 2 10.11.6) */
    rc = tpm_cmd(t, TPM2_CC_ReadClock, NULL, 0, rsp, &rlen);
    printf("Uptime          ");
    if (rc == 0) {
        size_t off = 10;
        TPMS_TIME_INFO ti;
        memset(&ti, 0, sizeof(ti));
        if (Tss2_MU_TPMS_TIME_INFO_Unmarshal(rsp, rlen, &off, &ti) == TSS2_RC_SUCCESS) {
            print_duration(ti.time);
            printf(" since power-on; clock %llu ms, %u resets, %u restarts, %s\n",
                   (unsigned long long)ti.clockInfo.clock, ti.clockInfo.resetCount, ti.clockInfo.restartCount,
                   ti.clockInfo.safe ? "safe" : "not safe (clock may have gone back)");
        } else {
            printf("(malformed TPM2_ReadClock response)\n");
        }
    } else {
        printf("(TPM2_ReadClock failed with 0x%03x)\n", rc);
    }
    printf("Commands served not available: no TPM command reports it\n");
    return 0;
}

/* The state directory as the files show it: its size, and the flags byte
 * of the slot headers (docs/FORMAT.md: magic "VTSB", flags at offset 6,
 * bit 0 encrypted, bit 1 key from a passphrase). */
static void report_state(const char *dir)
{
    unsigned long long total = 0;
    unsigned files = 0;
    int flags = -1, i;
    struct dirent *de;
    DIR *d = opendir(dir);

    printf("State directory ");
    if (!d) {
        printf("%s: %s\n", dir, strerror(errno));
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            total += (unsigned long long)st.st_size;
            files++;
        }
    }
    closedir(d);
    for (i = 0; i < 2 && flags < 0; i++) {
        char path[4096];
        unsigned char hdr[7];
        int fd;
        snprintf(path, sizeof(path), "%s/state.%d", dir, i);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && !memcmp(hdr, "VTSB", 4))
            flags = hdr[6];
        close(fd);
    }
    printf("%s, %llu octets in %u files, ", dir, total, files);
    if (flags < 0)
        printf("no readable state slot\n");
    else if (flags & 1)
        printf("encrypted (AES-256-GCM, %s)\n", (flags & 2) ? "key from a passphrase" : "raw key");
    else
        printf("not encrypted (SHA-256 integrity only)\n");
}

int vt_status_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "tcti", required_argument, NULL, 'T' },
        { "state", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char tcti[300] = "", err[512];
    const char *state = NULL;
    const char *env = getenv("TPM2TOOLS_TCTI");
    tpm_conn t;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "hT:", opts, NULL)) != -1) {
        switch (c) {
        case 'p': {
            char *end;
            long port;
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || port < 1 || port > 65535) {
                fprintf(stderr, "vitrum: --port must be a number from 1 to 65534\n");
                return 2;
            }
            snprintf(tcti, sizeof(tcti), "mssim:host=127.0.0.1,port=%ld", port);
            break;
        }
        case 'T': snprintf(tcti, sizeof(tcti), "%s", optarg); break;
        case 's': state = optarg; break;
        case 'h': fputs(usage_status, stdout); return 0;
        default: fputs(usage_status, stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vitrum: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!tcti[0])
        snprintf(tcti, sizeof(tcti), "%s", env && *env ? env : "mssim:host=127.0.0.1,port=2321");
    if (parse_tcti(tcti, &t, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum: %s\n", err);
        return 2;
    }
    if (tpm_open(&t, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum status: %s\n", err);
        return 1;
    }
    rc = report(&t, tcti);
    close(t.fd);
    if (rc == 0) {
        if (state)
            report_state(state);
        else
            printf("State directory not reported by TPM commands (--state DIR)\n");
    }
    return rc;
}
