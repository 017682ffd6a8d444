/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vitrum bench client.
 *
 * Opens ONE persistent TCP connection to a TPM server and sends raw TPM 2.0
 * command frames, timing each round trip.  Three framings:
 *
 *   --proto mssim   Microsoft simulator protocol (what vitrum speaks and what
 *                   tpm2-tss's mssim TCTI uses): command port + platform port.
 *   --proto raw     raw TPM frames (swtpm --server type=tcp data channel).
 *   --proto echo    the floor: a loopback ping-pong against bench/echo_server
 *                   with exactly the request/response sizes of the real frames.
 *
 * Output: one line of key=value pairs per run (see bench/README.md).
 *
 * Other modes:
 *   --startup-probe -- CMD ARGS...   exec CMD, retry connect + Startup +
 *                   GetRandom until answered, print startup_ms, stop CMD.
 *   --free-port     print a port P such that P and P+1 are free on 127.0.0.1.
 *
 * Frames are built by hand (big-endian helpers); the constants come from
 * tpm2-tss's tss2_tpm2_types.h (header only, nothing to link).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_tpm2_types.h>

#define MAX_FRAME 8192
#define IO_TIMEOUT_S 10

/* mssim protocol command codes (TPM simulator "TcpServer" protocol). */
enum {
    MS_SIGNAL_POWER_ON = 1,
    MS_SEND_COMMAND = 8,
    MS_SIGNAL_NV_ON = 11,
    MS_SESSION_END = 20,
};

enum proto { P_MSSIM, P_RAW, P_ECHO };

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- frames */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void put8(struct buf *b, uint8_t v)
{
    if (b->len + 1 > b->cap)
        die("frame too large");
    b->p[b->len++] = v;
}
static void put16(struct buf *b, uint16_t v)
{
    put8(b, (uint8_t)(v >> 8));
    put8(b, (uint8_t)v);
}
static void put32(struct buf *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b, (uint16_t)v);
}
static void putbytes(struct buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap)
        die("frame too large");
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void putfill(struct buf *b, uint8_t v, size_t n)
{
    if (b->len + n > b->cap)
        die("frame too large");
    memset(b->p + b->len, v, n);
    b->len += n;
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void set32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Command header; the size is patched by cmd_end(). */
static void cmd_begin(struct buf *b, uint16_t tag, uint32_t cc)
{
    b->len = 0;
    put16(b, tag);
    put32(b, 0);
    put32(b, cc);
}
static size_t cmd_end(struct buf *b)
{
    set32(b->p + 2, (uint32_t)b->len);
    return b->len;
}

/* Authorization area with one password session (TPM_RS_PW, empty auth). */
static void put_pw_session(struct buf *b)
{
    put32(b, 4 + 2 + 1 + 2);            /* authorizationSize */
    put32(b, TPM2_RS_PW);               /* sessionHandle */
    put16(b, 0);                        /* nonceCaller: empty */
    put8(b, TPMA_SESSION_CONTINUESESSION);
    put16(b, 0);                        /* hmac (password): empty */
}

/* ------------------------------------------------------------ op table
 *
 * To add an operation: write a build_xxx() that fills the command frame,
 * optionally a setup_xxx() that runs once on the connection before the
 * warm-up (e.g. CreatePrimary to get a key handle, stored in ctx), and add
 * a row to OPS[] with the exact response size (used by --proto echo and
 * checked against the real server).
 */
struct conn;
struct opctx {
    uint32_t handle[4];                 /* handles created by setup, if any */
};
struct op {
    const char *name;
    size_t (*build)(struct buf *b, const struct opctx *ctx);
    size_t rsp_len;                     /* exact TPM response size, bytes */
    int (*setup)(struct conn *c, struct opctx *ctx);   /* may be NULL */
    const char *desc;
};

static size_t build_startup(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_NO_SESSIONS, TPM2_CC_Startup);
    put16(b, TPM2_SU_CLEAR);
    return cmd_end(b);
}

static size_t build_getrandom(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_NO_SESSIONS, TPM2_CC_GetRandom);
    put16(b, 32);                       /* bytesRequested */
    return cmd_end(b);
}

static size_t build_pcrextend(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_PCR_Extend);
    put32(b, 16);                       /* pcrHandle: PCR 16 */
    put_pw_session(b);
    put32(b, 1);                        /* TPML_DIGEST_VALUES.count */
    put16(b, TPM2_ALG_SHA256);
    putfill(b, 0xA5, TPM2_SHA256_DIGEST_SIZE);
    return cmd_end(b);
}

static size_t build_pcrread(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_NO_SESSIONS, TPM2_CC_PCR_Read);
    put32(b, 1);                        /* TPML_PCR_SELECTION.count */
    put16(b, TPM2_ALG_SHA256);
    put8(b, 3);                         /* sizeofSelect */
    put8(b, 0x00);
    put8(b, 0x00);
    put8(b, 0x01);                      /* PCR 16 */
    return cmd_end(b);
}

static size_t build_hash1k(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_NO_SESSIONS, TPM2_CC_Hash);
    put16(b, 1024);                     /* TPM2B_MAX_BUFFER */
    putfill(b, 0x5A, 1024);
    put16(b, TPM2_ALG_SHA256);
    put32(b, TPM2_RH_NULL);
    return cmd_end(b);
}

/* ---- NV operations (issue "NV storage").  The setup defines the index
 * once per connection (an index left by an earlier run is fine) and writes
 * it, so reads see a written index. */
#define NV_BENCH_ORDINARY 0x01500020u
#define NV_BENCH_LARGE 0x01500021u
#define NV_BENCH_COUNTER 0x01500022u
#define TPMA_NV_AUTHWRITE_ 0x00000004u
#define TPMA_NV_AUTHREAD_ 0x00040000u
#define TPMA_NV_NO_DA_ 0x02000000u
#define TPMA_NV_COUNTER_ 0x00000010u       /* TPM_NT_COUNTER in bits 4..7 */

static size_t transact(struct conn *c, const uint8_t *cmd, size_t cmd_len,
                       size_t echo_rsp_len, uint8_t *rsp, size_t rsp_cap);
static uint32_t rsp_rc(const uint8_t *rsp, size_t n);

static size_t build_nv_define(struct buf *b, uint32_t index, uint32_t attrs, uint16_t size)
{
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_NV_DefineSpace);
    put32(b, TPM2_RH_OWNER);
    put_pw_session(b);
    put16(b, 0);                        /* auth: empty */
    put16(b, 4 + 2 + 4 + 2 + 2);        /* TPM2B_NV_PUBLIC.size */
    put32(b, index);
    put16(b, TPM2_ALG_SHA256);
    put32(b, attrs);
    put16(b, 0);                        /* authPolicy: empty */
    put16(b, size);
    return cmd_end(b);
}

static size_t build_nv_write_at(struct buf *b, uint32_t index, uint16_t len, uint16_t offset)
{
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_NV_Write);
    put32(b, index);                    /* authHandle: the index itself */
    put32(b, index);
    put_pw_session(b);
    put16(b, len);
    putfill(b, 0xC3, len);
    put16(b, offset);
    return cmd_end(b);
}

static int nv_setup_one(struct conn *c, uint32_t index, uint32_t attrs, uint16_t size)
{
    uint8_t cmd[2048], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    size_t n = build_nv_define(&b, index, attrs, size);
    uint32_t rc = rsp_rc(rsp, transact(c, cmd, n, 0, rsp, sizeof rsp));
    if (rc != 0 && rc != 0x14C) {       /* TPM_RC_NV_DEFINED: left by a run */
        fprintf(stderr, "bench: NV_DefineSpace(0x%08x) rc=0x%03x\n", index, rc);
        return -1;
    }
    if (attrs & TPMA_NV_COUNTER_) {
        cmd_begin(&b, TPM2_ST_SESSIONS, TPM2_CC_NV_Increment);
        put32(&b, index);
        put32(&b, index);
        put_pw_session(&b);
        n = cmd_end(&b);
    } else {
        n = build_nv_write_at(&b, index, size > 1024 ? 1024 : size, 0);
    }
    rc = rsp_rc(rsp, transact(c, cmd, n, 0, rsp, sizeof rsp));
    if (rc != 0) {
        fprintf(stderr, "bench: first write of 0x%08x rc=0x%03x\n", index, rc);
        return -1;
    }
    return 0;
}

static int setup_nv_ordinary(struct conn *c, struct opctx *ctx)
{
    (void)ctx;
    return nv_setup_one(c, NV_BENCH_ORDINARY, TPMA_NV_AUTHWRITE_ | TPMA_NV_AUTHREAD_ | TPMA_NV_NO_DA_, 64);
}

static int setup_nv_large(struct conn *c, struct opctx *ctx)
{
    (void)ctx;
    return nv_setup_one(c, NV_BENCH_LARGE, TPMA_NV_AUTHWRITE_ | TPMA_NV_AUTHREAD_ | TPMA_NV_NO_DA_, 2048);
}

static int setup_nv_counter(struct conn *c, struct opctx *ctx)
{
    (void)ctx;
    return nv_setup_one(c, NV_BENCH_COUNTER,
                        TPMA_NV_COUNTER_ | TPMA_NV_AUTHWRITE_ | TPMA_NV_AUTHREAD_ | TPMA_NV_NO_DA_, 8);
}

static size_t build_nvwrite64(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    return build_nv_write_at(b, NV_BENCH_ORDINARY, 64, 0);
}

/* 1 KiB (TPM_PT_NV_BUFFER_MAX, the most one command carries on either
 * server) into the second half of a 2 KiB index. */
static size_t build_nvwrite1k(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    return build_nv_write_at(b, NV_BENCH_LARGE, 1024, 1024);
}

static size_t build_nvincrement(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_NV_Increment);
    put32(b, NV_BENCH_COUNTER);
    put32(b, NV_BENCH_COUNTER);
    put_pw_session(b);
    return cmd_end(b);
}

static size_t build_nvread64(struct buf *b, const struct opctx *ctx)
{
    (void)ctx;
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_NV_Read);
    put32(b, NV_BENCH_ORDINARY);
    put32(b, NV_BENCH_ORDINARY);
    put_pw_session(b);
    put16(b, 64);                       /* size */
    put16(b, 0);                        /* offset */
    return cmd_end(b);
}

static const struct op OPS[] = {
    /* hdr + TPM2B_DIGEST(2+32) */
    { "getrandom", build_getrandom, 10 + 2 + 32, NULL,
      "TPM2_GetRandom(32), no sessions" },
    /* hdr + parameterSize(4) + auth response(nonce 2, attrs 1, hmac 2) */
    { "pcrextend", build_pcrextend, 10 + 4 + 5, NULL,
      "TPM2_PCR_Extend(PCR16, sha256), password session" },
    /* hdr + updateCounter(4) + TPML_PCR_SELECTION(4+2+1+3)
     *     + TPML_DIGEST(4 + 2+32) */
    { "pcrread", build_pcrread, 10 + 4 + 10 + 38, NULL,
      "TPM2_PCR_Read(sha256: PCR16)" },
    /* hdr + TPM2B_DIGEST(2+32) + TPMT_TK_HASHCHECK(2+4+2, empty digest) */
    { "hash1k", build_hash1k, 10 + 34 + 8, NULL,
      "TPM2_Hash(1024 bytes, sha256, TPM_RH_NULL)" },
    /* hdr + parameterSize(4) + auth response(5) */
    { "nvwrite64", build_nvwrite64, 10 + 4 + 5, setup_nv_ordinary,
      "TPM2_NV_Write(64 bytes at 0 of a 64-byte index), password session" },
    { "nvwrite1k", build_nvwrite1k, 10 + 4 + 5, setup_nv_large,
      "TPM2_NV_Write(1024 bytes at 1024 of a 2 KiB index), password session" },
    { "nvincrement", build_nvincrement, 10 + 4 + 5, setup_nv_counter,
      "TPM2_NV_Increment(counter index), password session" },
    /* hdr + parameterSize(4) + TPM2B(2+64) + auth response(5) */
    { "nvread64", build_nvread64, 10 + 4 + 66 + 5, setup_nv_ordinary,
      "TPM2_NV_Read(64 bytes), password session" },
};
#define NOPS (sizeof OPS / sizeof OPS[0])

static const struct op *find_op(const char *name)
{
    for (size_t i = 0; i < NOPS; i++)
        if (strcmp(OPS[i].name, name) == 0)
            return &OPS[i];
    return NULL;
}

/* ----------------------------------------------------------- transport */

struct conn {
    enum proto proto;
    enum proto echo_as;                 /* sizes the echo floor mimics */
    int fd;                             /* command / data socket */
    int plat_fd;                        /* mssim platform socket, or -1 */
    uint8_t rbuf[MAX_FRAME + 64];
    size_t rpos, rlen;
    uint8_t wbuf[MAX_FRAME + 64];
};

static int tcp_connect(const char *host, int port, int quiet)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, portstr, &hints, &res);
    if (e != 0)
        die("getaddrinfo(%s): %s", host, gai_strerror(e));
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    int saved = errno;
    freeaddrinfo(res);
    if (fd < 0) {
        if (quiet)
            return -1;
        die("connect %s:%d: %s", host, port, strerror(saved));
    }
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("TCP_NODELAY: %s", strerror(errno));
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("send: %s", errno == EAGAIN ? "timed out" : strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Buffered exact read: one recv() usually brings the whole response. */
static void recv_exact(struct conn *c, uint8_t *dst, size_t n)
{
    while (n > 0) {
        if (c->rpos == c->rlen) {
            ssize_t r = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                die("recv: %s", errno == EAGAIN ? "timed out" : strerror(errno));
            if (r == 0)
                die("server closed the connection");
            c->rpos = 0;
            c->rlen = (size_t)r;
        }
        size_t k = c->rlen - c->rpos;
        if (k > n)
            k = n;
        memcpy(dst, c->rbuf + c->rpos, k);
        c->rpos += k;
        dst += k;
        n -= k;
    }
}

static uint32_t recv_u32_fd(int fd)
{
    uint8_t b[4];
    size_t got = 0;
    while (got < 4) {
        ssize_t r = recv(fd, b + got, 4 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("platform port: %s", r == 0 ? "closed" : strerror(errno));
        got += (size_t)r;
    }
    return get32(b);
}

static void platform_signal(int fd, uint32_t sig, const char *name)
{
    uint8_t b[4];
    set32(b, sig);
    send_all(fd, b, 4);
    uint32_t rc = recv_u32_fd(fd);
    if (rc != 0)
        die("platform %s answered %u (expected 0)", name, rc);
}

/*
 * One round trip.  cmd/cmd_len is the real TPM command; for echo, only its
 * size matters.  Returns the response length; the response is in rsp.
 */
static size_t transact(struct conn *c, const uint8_t *cmd, size_t cmd_len,
                       size_t echo_rsp_len, uint8_t *rsp, size_t rsp_cap)
{
    struct buf w = { c->wbuf, 0, sizeof c->wbuf };
    switch (c->proto) {
    case P_MSSIM: {
        put32(&w, MS_SEND_COMMAND);
        put8(&w, 0);                    /* locality */
        put32(&w, (uint32_t)cmd_len);
        putbytes(&w, cmd, cmd_len);
        send_all(c->fd, w.p, w.len);    /* one write */
        uint8_t h[4];
        recv_exact(c, h, 4);
        size_t n = get32(h);
        if (n < 10 || n > rsp_cap)
            die("mssim: bad response length %zu", n);
        recv_exact(c, rsp, n);
        recv_exact(c, h, 4);
        if (get32(h) != 0)
            die("mssim: bad trailing ack 0x%08x", get32(h));
        return n;
    }
    case P_RAW: {
        send_all(c->fd, cmd, cmd_len);
        recv_exact(c, rsp, 10);
        size_t n = get32(rsp + 2);
        if (n < 10 || n > rsp_cap)
            die("raw: bad response size %zu in header", n);
        recv_exact(c, rsp + 10, n - 10);
        return n;
    }
    case P_ECHO: {
        /* Same number of bytes on the wire as the framing we mimic. */
        size_t req = cmd_len, resp = echo_rsp_len;
        if (c->echo_as == P_MSSIM) {
            req += 4 + 1 + 4;
            resp += 4 + 4;
        }
        if (req < 8)
            req = 8;
        if (resp > rsp_cap)
            die("echo: response too large");
        put32(&w, (uint32_t)req);       /* total request length */
        put32(&w, (uint32_t)resp);      /* response length wanted */
        putfill(&w, 0, req - 8);
        send_all(c->fd, w.p, w.len);
        recv_exact(c, rsp, resp);
        return resp;
    }
    }
    return 0;
}

static uint32_t rsp_rc(const uint8_t *rsp, size_t n)
{
    if (n < 10)
        die("short response (%zu bytes)", n);
    return get32(rsp + 6);
}

static void conn_open(struct conn *c, const char *host, int port)
{
    c->fd = tcp_connect(host, port, 0);
    c->plat_fd = -1;
    c->rpos = c->rlen = 0;
    if (c->proto == P_MSSIM) {
        c->plat_fd = tcp_connect(host, port + 1, 0);
        platform_signal(c->plat_fd, MS_SIGNAL_POWER_ON, "POWER_ON");
        platform_signal(c->plat_fd, MS_SIGNAL_NV_ON, "NV_ON");
    }
}

static void conn_close(struct conn *c)
{
    if (c->proto == P_MSSIM) {
        uint8_t b[4];
        set32(b, MS_SESSION_END);
        (void)send(c->fd, b, 4, MSG_NOSIGNAL);
        if (c->plat_fd >= 0) {
            (void)send(c->plat_fd, b, 4, MSG_NOSIGNAL);
            close(c->plat_fd);
        }
    }
    close(c->fd);
}

/* Startup(CLEAR); TPM_RC_INITIALIZE means "already started": fine. */
static void tpm_startup(struct conn *c)
{
    if (c->proto == P_ECHO)
        return;
    uint8_t cmd[64], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    size_t n = build_startup(&b, NULL);
    size_t r = transact(c, cmd, n, 10, rsp, sizeof rsp);
    uint32_t rc = rsp_rc(rsp, r);
    if (rc != TPM2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE)
        die("TPM2_Startup(CLEAR) failed: rc=0x%03x", rc);
}

/* ------------------------------------------------------ server CPU usage */

struct cpu_sample {
    int ok;
    uint64_t ticks;                     /* utime+stime, clock ticks */
    uint64_t sched_ns;                  /* sum of per-thread on-CPU time */
};

static void cpu_sample(pid_t pid, struct cpu_sample *s)
{
    memset(s, 0, sizeof *s);
    if (pid <= 0)
        return;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');       /* comm may contain spaces */
    if (!p)
        return;
    /* after ")": field 3 state ... field 14 utime, 15 stime */
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return;
    s->ticks = ut + st;
    s->ok = 1;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sp[300];
        snprintf(sp, sizeof sp, "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
        FILE *g = fopen(sp, "r");
        if (!g)
            continue;
        unsigned long long ns = 0;
        if (fscanf(g, "%llu", &ns) == 1)
            s->sched_ns += ns;
        fclose(g);
    }
    closedir(d);
}

/* ----------------------------------------------------------------- main */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *sorted, size_t n, double q)
{
    /* nearest-rank percentile */
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)sorted[k - 1];
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: bench --proto mssim|raw|echo --op OP [--host H] [--port P]\n"
        "             [--count N] [--warmup N] [--server-pid PID] [--echo-as mssim|raw]\n"
        "             [--label NAME]\n"
        "       bench --startup-probe --proto mssim|raw [--host H] --port P\n"
        "             [--timeout-ms MS] -- CMD ARGS...\n"
        "       bench --proto mssim|raw --port P --define-nv N   (define N written 64-byte indices)\n"
        "       bench --free-port\n"
        "       bench --list-ops\n");
}

static int free_port(void)
{
    srand((unsigned)(now_ns() ^ (uint64_t)getpid()));
    for (int tries = 0; tries < 200; tries++) {
        int p = 20000 + (rand() % 20000) * 2;
        int fds[2] = { -1, -1 }, ok = 1;
        for (int i = 0; i < 2 && ok; i++) {
            fds[i] = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in sa = { .sin_family = AF_INET,
                                      .sin_port = htons((uint16_t)(p + i)),
                                      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0)
                ok = 0;
        }
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (ok) {
            printf("%d\n", p);
            return 0;
        }
    }
    die("no free port pair found");
}

static enum proto parse_proto(const char *s)
{
    if (!strcmp(s, "mssim"))
        return P_MSSIM;
    if (!strcmp(s, "raw"))
        return P_RAW;
    if (!strcmp(s, "echo"))
        return P_ECHO;
    die("unknown --proto '%s' (mssim, raw, echo)", s);
}

static long parse_num(const char *s, const char *flag)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0)
        die("bad number for %s: '%s'", flag, s);
    return v;
}

/* exec argv, poll until a GetRandom is answered, print the time, stop it. */
static int startup_probe(enum proto proto, const char *host, int port,
                         long timeout_ms, char **argv)
{
    if (proto == P_ECHO)
        die("--startup-probe needs --proto mssim or raw");
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    double deadline = t0 + (double)timeout_ms / 1000.0;
    int fd = -1, pfd = -1;
    int cport = port, pport = port + 1;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        die("out of memory");
    c->proto = proto;
    int status;
    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            die("server exited during start-up (status 0x%x)", status);
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            die("server not answering after %ld ms", timeout_ms);
        }
        if (proto == P_MSSIM && pfd < 0)
            pfd = tcp_connect(host, pport, 1);
        if ((proto != P_MSSIM || pfd >= 0) && fd < 0)
            fd = tcp_connect(host, cport, 1);
        if (fd >= 0)
            break;
        usleep(500);
    }
    c->fd = fd;
    c->plat_fd = pfd;
    if (proto == P_MSSIM) {
        platform_signal(pfd, MS_SIGNAL_POWER_ON, "POWER_ON");
        platform_signal(pfd, MS_SIGNAL_NV_ON, "NV_ON");
    }
    tpm_startup(c);
    uint8_t cmd[64], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    size_t n = build_getrandom(&b, NULL);
    size_t r = transact(c, cmd, n, 0, rsp, sizeof rsp);
    uint32_t rc = rsp_rc(rsp, r);
    double t1 = now_s();
    if (rc != 0)
        die("start-up probe: GetRandom rc=0x%03x", rc);
    conn_close(c);
    free(c);
    printf("startup_ms=%.2f\n", (t1 - t0) * 1000.0);
    fflush(stdout);
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) {             /* up to 3 s to exit */
        if (waitpid(pid, &status, WNOHANG) == pid)
            return 0;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *opname = "getrandom", *label = NULL;
    int port = -1, probe = 0;
    long define_nv = 0;
    long count = 2000, warmup = 200, timeout_ms = 10000;
    pid_t srv_pid = 0;
    enum proto proto = P_MSSIM, echo_as = P_MSSIM;
    int have_proto = 0;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED() do { if (!v) die("%s needs a value", a); i++; } while (0)
        if (!strcmp(a, "--proto")) { NEED(); proto = parse_proto(v); have_proto = 1; }
        else if (!strcmp(a, "--op")) { NEED(); opname = v; }
        else if (!strcmp(a, "--host")) { NEED(); host = v; }
        else if (!strcmp(a, "--port")) { NEED(); port = (int)parse_num(v, a); }
        else if (!strcmp(a, "--count")) { NEED(); count = parse_num(v, a); }
        else if (!strcmp(a, "--warmup")) { NEED(); warmup = parse_num(v, a); }
        else if (!strcmp(a, "--server-pid")) { NEED(); srv_pid = (pid_t)parse_num(v, a); }
        else if (!strcmp(a, "--label")) { NEED(); label = v; }
        else if (!strcmp(a, "--timeout-ms")) { NEED(); timeout_ms = parse_num(v, a); }
        else if (!strcmp(a, "--echo-as")) {
            NEED();
            echo_as = parse_proto(v);
            if (echo_as == P_ECHO)
                die("--echo-as takes mssim or raw");
        }
        else if (!strcmp(a, "--startup-probe")) probe = 1;
        else if (!strcmp(a, "--define-nv")) { NEED(); define_nv = parse_num(v, a); }
        else if (!strcmp(a, "--free-port")) return free_port();
        else if (!strcmp(a, "--list-ops")) {
            for (size_t k = 0; k < NOPS; k++)
                printf("%-10s %s\n", OPS[k].name, OPS[k].desc);
            return 0;
        }
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--")) { i++; break; }
        else { usage(stderr); die("unknown argument '%s'", a); }
#undef NEED
    }
    if (!have_proto)
        die("--proto is required (mssim, raw or echo)");
    if (port <= 0 || port > 65534)
        die("--port is required");

    if (probe) {
        if (i >= argc)
            die("--startup-probe needs '-- CMD ARGS...'");
        return startup_probe(proto, host, port, timeout_ms, argv + i);
    }
    if (i < argc)
        die("unexpected argument '%s'", argv[i]);

    if (define_nv > 0) {
        /* For the on-disk size comparison: N written 64-byte indices. */
        struct conn *dc = calloc(1, sizeof *dc);
        if (!dc)
            die("out of memory");
        dc->proto = proto;
        conn_open(dc, host, port);
        tpm_startup(dc);
        for (long k = 0; k < define_nv; k++)
            if (nv_setup_one(dc, 0x01600000u + (uint32_t)k,
                             TPMA_NV_AUTHWRITE_ | TPMA_NV_AUTHREAD_ | TPMA_NV_NO_DA_, 64) != 0)
                die("--define-nv: index %ld failed", k);
        conn_close(dc);
        free(dc);
        printf("defined=%ld\n", define_nv);
        return 0;
    }

    const struct op *op = find_op(opname);
    if (!op)
        die("unknown --op '%s' (try --list-ops)", opname);
    if (count < 1)
        die("--count must be >= 1");

    struct conn *c = calloc(1, sizeof *c);
    uint64_t *lat = calloc((size_t)count, sizeof *lat);
    uint8_t *cmd = malloc(MAX_FRAME), *rsp = malloc(MAX_FRAME);
    if (!c || !lat || !cmd || !rsp)
        die("out of memory");
    c->proto = proto;
    c->echo_as = echo_as;
    conn_open(c, host, port);
    tpm_startup(c);

    struct opctx ctx = { { 0 } };
    if (op->setup && proto != P_ECHO && op->setup(c, &ctx) != 0)
        die("%s: setup failed", op->name);

    struct buf b = { cmd, 0, MAX_FRAME };
    size_t cmd_len = op->build(&b, &ctx);
    int size_warned = 0;

    for (long k = 0; k < warmup; k++) {
        size_t r = transact(c, cmd, cmd_len, op->rsp_len, rsp, MAX_FRAME);
        if (proto != P_ECHO) {
            uint32_t rc = rsp_rc(rsp, r);
            if (rc != 0)
                die("%s: response rc=0x%03x (warm-up request %ld)", op->name, rc, k);
            if (r != op->rsp_len && !size_warned++)
                fprintf(stderr, "bench: warning: %s response is %zu bytes, "
                        "table says %zu (echo floor sizes are off)\n",
                        op->name, r, op->rsp_len);
        }
    }

    struct cpu_sample s0, s1;
    cpu_sample(srv_pid, &s0);
    double t0 = now_s();
    for (long k = 0; k < count; k++) {
        uint64_t a = now_ns();
        size_t r = transact(c, cmd, cmd_len, op->rsp_len, rsp, MAX_FRAME);
        uint64_t z = now_ns();
        lat[k] = z - a;
        if (proto != P_ECHO) {
            uint32_t rc = rsp_rc(rsp, r);
            if (rc != 0)
                die("%s: response rc=0x%03x (request %ld)", op->name, rc, k);
            if (r != op->rsp_len && !size_warned++)
                fprintf(stderr, "bench: warning: %s response is %zu bytes, "
                        "table says %zu (echo floor sizes are off)\n",
                        op->name, r, op->rsp_len);
        }
    }
    double t1 = now_s();
    cpu_sample(srv_pid, &s1);
    conn_close(c);

    qsort(lat, (size_t)count, sizeof *lat, cmp_u64);
    double sum = 0;
    for (long k = 0; k < count; k++)
        sum += (double)lat[k];
    static const char *pname[] = { "mssim", "raw", "echo" };
    printf("label=%s proto=%s op=%s count=%ld ops_s=%.1f median_us=%.2f "
           "p99_us=%.2f mean_us=%.2f min_us=%.2f",
           label ? label : pname[proto], pname[proto], op->name, count,
           (double)count / (t1 - t0), pct(lat, (size_t)count, 0.50) / 1000.0,
           pct(lat, (size_t)count, 0.99) / 1000.0, sum / (double)count / 1000.0,
           (double)lat[0] / 1000.0);
    if (srv_pid > 0 && s0.ok && s1.ok) {
        long tck = sysconf(_SC_CLK_TCK);
        printf(" srv_cpu_us_per_op=%.2f srv_cpu_tick_us_per_op=%.2f",
               (double)(s1.sched_ns - s0.sched_ns) / 1000.0 / (double)count,
               (double)(s1.ticks - s0.ticks) * 1e6 / (double)tck / (double)count);
    }
    putchar('\n');
    free(c);
    free(lat);
    free(cmd);
    free(rsp);
    return 0;
}
