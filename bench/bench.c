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

#include <tss2/tss2_mu.h>
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
struct clk;
struct opctx {
    uint32_t handle[4];                 /* handles created by setup, if any;
                                           flushed after the run */
    uint8_t ref[1024];                  /* primary ops: first outPublic */
    size_t ref_len;
    uint64_t seq;                       /* *new primary ops: unique value */
};
struct echo_step {
    uint16_t cmd, rsp;                  /* TPM command / response bytes */
};
struct op {
    const char *name;
    size_t (*build)(struct buf *b, const struct opctx *ctx);
    size_t rsp_len;                     /* exact TPM response size, bytes */
    int (*setup)(struct conn *c, struct opctx *ctx);   /* may be NULL */
    const char *desc;
    /* Multi-command ops: one iteration, timing only the commands that are
     * the operation (clk_on/clk_off around them) and not the housekeeping
     * (FlushContext of what it made).  NULL: send build()'s frame. */
    void (*iter)(struct conn *c, struct opctx *ctx, struct clk *k);
    /* For iter ops, the timed commands' sizes as the floor mimics them
     * (measured on swtpm 0.7.1; blob sizes differ a little by server). */
    struct echo_step echo[3];
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

/* ---- key operations (issue "keys").  Commands are marshalled with
 * libtss2-mu so the templates and structures are exactly the TSS's; only
 * the header, handles and the password session use the helpers above.
 * Every response code is checked (die on anything but TPM_RC_SUCCESS).
 * Setup flushes any transient object an aborted earlier run left behind
 * (swtpm has 3 object slots and keeps them across connections) and makes
 * the keys the op needs; they are flushed after the run. */

struct cpu_sample {
    int ok;
    uint64_t ticks;                     /* utime+stime, clock ticks */
    uint64_t sched_ns;                  /* sum of per-thread on-CPU time */
};
static void cpu_sample(pid_t pid, struct cpu_sample *s);

/* The clock of one iteration of an iter op: wall time and (when the
 * server pid is known) server CPU time, summed over the timed commands. */
struct clk {
    pid_t pid;                          /* server, or 0: no CPU sampling */
    uint64_t a, wall_ns;
    uint64_t cpu_ns, cpu_ticks;
    int cpu_ok;
    struct cpu_sample s0;
    unsigned step;                      /* timed commands so far */
    struct echo_step seen[3];           /* their sizes, for the floor table */
};

static void clk_on(struct clk *k)
{
    if (k->pid > 0)
        cpu_sample(k->pid, &k->s0);
    k->a = now_ns();
}

static void clk_off(struct clk *k)
{
    k->wall_ns += now_ns() - k->a;
    if (k->pid > 0) {
        struct cpu_sample s1;
        cpu_sample(k->pid, &s1);
        if (k->s0.ok && s1.ok) {
            k->cpu_ns += s1.sched_ns - k->s0.sched_ns;
            k->cpu_ticks += s1.ticks - k->s0.ticks;
        } else {
            k->cpu_ok = 0;
        }
    }
}

static void mu_ok(TSS2_RC rc, const char *what)
{
    if (rc != TSS2_RC_SUCCESS)
        die("marshalling %s: 0x%x", what, rc);
}
/* Marshal VAL (a pointer) with Tss2_MU_<TYPE>_Marshal into buf B. */
#define MU_PUT(TYPE, B, VAL) \
    mu_ok(Tss2_MU_##TYPE##_Marshal((VAL), (B)->p, (B)->cap, &(B)->len), #TYPE)

enum key_kind { K_ECC_STORAGE, K_RSA_STORAGE, K_ECC_SIGN, K_RSA_SIGN, K_ECC_AK, K_HMAC };

/* Object templates (TPM 2.0 Part 2, 12.2.4 TPMT_PUBLIC).  Storage keys are
 * the usual SRK shape (restricted decrypt, AES-128-CFB); signing keys are
 * unrestricted with a fixed scheme; the AK is a restricted ECDSA key. */
static void key_template(TPM2B_PUBLIC *p, enum key_kind kind)
{
    memset(p, 0, sizeof *p);
    TPMT_PUBLIC *t = &p->publicArea;
    t->nameAlg = TPM2_ALG_SHA256;
    t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_NODA;
    switch (kind) {
    case K_ECC_STORAGE:
    case K_ECC_SIGN:
    case K_ECC_AK:
        t->type = TPM2_ALG_ECC;
        t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        if (kind == K_ECC_STORAGE) {
            t->objectAttributes |= TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
            t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
            t->parameters.eccDetail.symmetric.keyBits.aes = 128;
            t->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
            t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        } else {
            t->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
            if (kind == K_ECC_AK)
                t->objectAttributes |= TPMA_OBJECT_RESTRICTED;
            t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
            t->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
            t->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
        }
        break;
    case K_RSA_STORAGE:
    case K_RSA_SIGN:
        t->type = TPM2_ALG_RSA;
        t->parameters.rsaDetail.keyBits = 2048;
        t->parameters.rsaDetail.exponent = 0;          /* 65537 */
        if (kind == K_RSA_STORAGE) {
            t->objectAttributes |= TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
            t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
            t->parameters.rsaDetail.symmetric.keyBits.aes = 128;
            t->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
            t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        } else {
            t->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
            t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
            t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
            t->parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
        }
        break;
    case K_HMAC:
        t->type = TPM2_ALG_KEYEDHASH;
        t->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
        t->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
        t->parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
        break;
    }
}

static const char *key_name(enum key_kind kind)
{
    static const char *const n[] = { "ECC P-256 storage", "RSA-2048 storage", "ECC P-256 signing",
                                     "RSA-2048 signing", "ECC P-256 restricted signing", "HMAC" };
    return n[kind];
}

/* CreatePrimary (owner) or Create (under PARENT): empty auth, no data,
 * no outsideInfo, no creation PCRs. */
static size_t build_create_cmd_u(struct buf *b, uint32_t cc, uint32_t parent,
                                 enum key_kind kind, const uint64_t *unique);
static size_t build_create_cmd(struct buf *b, uint32_t cc, uint32_t parent, enum key_kind kind)
{
    return build_create_cmd_u(b, cc, parent, kind, NULL);
}

/* UNIQUE (may be NULL): 8 bytes put in the template's unique field, which
 * makes a new primary key (Part 1, 26.3: unique is input to the KDF). */
static size_t build_create_cmd_u(struct buf *b, uint32_t cc, uint32_t parent,
                                 enum key_kind kind, const uint64_t *unique)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC pub;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    memset(&sens, 0, sizeof sens);
    memset(&outside, 0, sizeof outside);
    memset(&pcrs, 0, sizeof pcrs);
    key_template(&pub, kind);
    if (unique) {
        TPMT_PUBLIC *t = &pub.publicArea;
        if (t->type == TPM2_ALG_RSA) {
            t->unique.rsa.size = 8;
            memcpy(t->unique.rsa.buffer, unique, 8);
        } else if (t->type == TPM2_ALG_ECC) {
            t->unique.ecc.x.size = 8;
            memcpy(t->unique.ecc.x.buffer, unique, 8);
        } else {
            die("unique: not for this key type");
        }
    }
    cmd_begin(b, TPM2_ST_SESSIONS, cc);
    put32(b, parent);
    put_pw_session(b);
    MU_PUT(TPM2B_SENSITIVE_CREATE, b, &sens);
    MU_PUT(TPM2B_PUBLIC, b, &pub);
    MU_PUT(TPM2B_DATA, b, &outside);
    MU_PUT(TPML_PCR_SELECTION, b, &pcrs);
    return cmd_end(b);
}

static int g_dump;                      /* --dump: hex of timed responses */

static void dump_hex(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "bench: %s (%zu bytes):", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", p[i]);
    fputc('\n', stderr);
}

/* Send, die unless rc == 0.  Returns the response length. */
static size_t xact_ok(struct conn *c, const struct buf *cmd, uint8_t *rsp, size_t cap,
                      const char *what)
{
    size_t n = transact(c, cmd->p, cmd->len, 0, rsp, cap);
    uint32_t rc = rsp_rc(rsp, n);
    if (rc != TPM2_RC_SUCCESS)
        die("%s: rc=0x%03x", what, rc);
    return n;
}

/* The same, timed (clock running only around the round trip). */
static size_t xact_timed(struct conn *c, struct clk *k, const struct buf *cmd,
                         uint8_t *rsp, size_t cap, const char *what)
{
    clk_on(k);
    size_t n = transact(c, cmd->p, cmd->len, 0, rsp, cap);
    clk_off(k);
    if (k->step < sizeof k->seen / sizeof k->seen[0]) {
        k->seen[k->step].cmd = (uint16_t)cmd->len;
        k->seen[k->step].rsp = (uint16_t)n;
    }
    k->step++;
    if (g_dump) {
        dump_hex("command", cmd->p, cmd->len);
        dump_hex("response", rsp, n);
    }
    uint32_t rc = rsp_rc(rsp, n);
    if (rc != TPM2_RC_SUCCESS)
        die("%s: rc=0x%03x", what, rc);
    return n;
}

/* Offset of the response parameters after NH handles (Part 1, 18.8:
 * parameterSize precedes them when the tag is TPM_ST_SESSIONS). */
static size_t rsp_params(const uint8_t *rsp, size_t n, unsigned nh, const char *what)
{
    size_t off = 10 + 4 * (size_t)nh;
    if (rsp[0] == 0x80 && rsp[1] == 0x02) {
        if (n < off + 4)
            die("%s: short response (%zu bytes)", what, n);
        size_t ps = get32(rsp + off);
        off += 4;
        if (ps > n - off)
            die("%s: parameterSize %zu beyond the response", what, ps);
    }
    if (n < off)
        die("%s: short response (%zu bytes)", what, n);
    return off;
}

static uint32_t rsp_handle(const uint8_t *rsp, size_t n, const char *what)
{
    if (n < 14)
        die("%s: no handle in the response (%zu bytes)", what, n);
    return get32(rsp + 10);
}

static void flush_handle(struct conn *c, uint32_t h)
{
    uint8_t cmd[32], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    cmd_begin(&b, TPM2_ST_NO_SESSIONS, TPM2_CC_FlushContext);
    put32(&b, h);
    cmd_end(&b);
    char what[48];
    snprintf(what, sizeof what, "FlushContext(0x%08x)", h);
    xact_ok(c, &b, rsp, sizeof rsp, what);
}

/* Flush every loaded transient object (leftovers of an aborted run). */
static void flush_transients(struct conn *c)
{
    uint8_t cmd[64], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    cmd_begin(&b, TPM2_ST_NO_SESSIONS, TPM2_CC_GetCapability);
    put32(&b, TPM2_CAP_HANDLES);
    put32(&b, TPM2_TRANSIENT_FIRST);
    put32(&b, 64);
    cmd_end(&b);
    size_t n = xact_ok(c, &b, rsp, sizeof rsp, "GetCapability(HANDLES, transient)");
    TPMS_CAPABILITY_DATA cap;
    memset(&cap, 0, sizeof cap);
    size_t off = 11;                    /* header + moreData */
    mu_ok(Tss2_MU_TPMS_CAPABILITY_DATA_Unmarshal(rsp, n, &off, &cap),
          "GetCapability response");
    if (cap.capability != TPM2_CAP_HANDLES)
        die("GetCapability: capability 0x%x in the answer", cap.capability);
    for (uint32_t i = 0; i < cap.data.handles.count; i++)
        flush_handle(c, cap.data.handles.handle[i]);
    if (cap.data.handles.count > 0)
        fprintf(stderr, "bench: flushed %u transient object(s) left by an earlier run\n",
                cap.data.handles.count);
}

static uint32_t create_primary(struct conn *c, enum key_kind kind)
{
    uint8_t cmd[1024], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    build_create_cmd(&b, TPM2_CC_CreatePrimary, TPM2_RH_OWNER, kind);
    char what[80];
    snprintf(what, sizeof what, "setup: CreatePrimary(%s)", key_name(kind));
    return rsp_handle(rsp, xact_ok(c, &b, rsp, sizeof rsp, what), what);
}

/* Create a KIND child of PARENT and Load it; K (may be NULL) times the
 * Create and the Load round trips.  Returns the loaded handle. */
static uint32_t create_load(struct conn *c, struct clk *k, uint32_t parent, enum key_kind kind)
{
    uint8_t cmd[2048], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    build_create_cmd(&b, TPM2_CC_Create, parent, kind);
    size_t n = k ? xact_timed(c, k, &b, rsp, sizeof rsp, "Create")
                 : xact_ok(c, &b, rsp, sizeof rsp, "setup: Create");
    size_t off = rsp_params(rsp, n, 0, "Create");
    TPM2B_PRIVATE priv;
    TPM2B_PUBLIC pub;
    memset(&priv, 0, sizeof priv);
    memset(&pub, 0, sizeof pub);        /* the MU insists on size 0 */
    mu_ok(Tss2_MU_TPM2B_PRIVATE_Unmarshal(rsp, n, &off, &priv), "Create outPrivate");
    mu_ok(Tss2_MU_TPM2B_PUBLIC_Unmarshal(rsp, n, &off, &pub), "Create outPublic");
    cmd_begin(&b, TPM2_ST_SESSIONS, TPM2_CC_Load);
    put32(&b, parent);
    put_pw_session(&b);
    MU_PUT(TPM2B_PRIVATE, &b, &priv);
    MU_PUT(TPM2B_PUBLIC, &b, &pub);
    cmd_end(&b);
    n = k ? xact_timed(c, k, &b, rsp, sizeof rsp, "Load")
          : xact_ok(c, &b, rsp, sizeof rsp, "setup: Load");
    return rsp_handle(rsp, n, "Load");
}

/* A loaded KIND child of a fresh ECC storage primary (the primary is
 * flushed again: the child stays usable, and swtpm's 3 slots stay free). */
static uint32_t make_child(struct conn *c, enum key_kind kind)
{
    uint32_t parent = create_primary(c, K_ECC_STORAGE);
    uint32_t h = create_load(c, NULL, parent, kind);
    flush_handle(c, parent);
    return h;
}

static int setup_clean(struct conn *c, struct opctx *ctx)
{
    (void)ctx;
    flush_transients(c);
    return 0;
}
/* Start the unique values somewhere no earlier run went (a server may
 * cache primary keys by template for its lifetime). */
static int setup_fresh(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->seq = now_ns() ^ ((uint64_t)getpid() << 40);
    return 0;
}
static int setup_parent(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->handle[0] = create_primary(c, K_ECC_STORAGE);
    return 0;
}
static int setup_sign_ecc(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->handle[0] = create_primary(c, K_ECC_SIGN);
    return 0;
}
static int setup_sign_rsa(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->handle[0] = create_primary(c, K_RSA_SIGN);
    return 0;
}
static int setup_hmac(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->handle[0] = create_primary(c, K_HMAC);
    return 0;
}
static int setup_context(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->handle[0] = make_child(c, K_ECC_SIGN);
    return 0;
}
static int setup_quote(struct conn *c, struct opctx *ctx)
{
    flush_transients(c);
    ctx->handle[0] = make_child(c, K_ECC_AK);
    return 0;
}

/* CreatePrimary (timed), FlushContext of the new primary (not timed).
 * The same template under the same seed must give the same key (Part 1,
 * 26.3): every outPublic is compared with the first one, so a server that
 * answers with something else than the derived key is caught. */
static void createprimary_iter(struct conn *c, struct opctx *ctx, struct clk *k,
                               enum key_kind kind, const char *what)
{
    uint8_t cmd[1024], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    build_create_cmd(&b, TPM2_CC_CreatePrimary, TPM2_RH_OWNER, kind);
    size_t n = xact_timed(c, k, &b, rsp, sizeof rsp, what);
    uint32_t h = rsp_handle(rsp, n, what);
    size_t off = rsp_params(rsp, n, 1, what);
    if (n - off < 2 || n - off - 2 < ((size_t)rsp[off] << 8 | rsp[off + 1]))
        die("%s: outPublic beyond the response", what);
    size_t len = 2 + ((size_t)rsp[off] << 8 | rsp[off + 1]);
    if (len > sizeof ctx->ref)
        die("%s: outPublic of %zu bytes", what, len);
    if (ctx->ref_len == 0) {
        memcpy(ctx->ref, rsp + off, len);
        ctx->ref_len = len;
    } else if (len != ctx->ref_len || memcmp(ctx->ref, rsp + off, len) != 0) {
        die("%s: a different key for the same template and seed", what);
    }
    flush_handle(c, h);
}
static void iter_createprimary_ecc(struct conn *c, struct opctx *ctx, struct clk *k)
{
    createprimary_iter(c, ctx, k, K_ECC_STORAGE, "CreatePrimary(ECC P-256)");
}
static void iter_createprimary_rsa(struct conn *c, struct opctx *ctx, struct clk *k)
{
    createprimary_iter(c, ctx, k, K_RSA_STORAGE, "CreatePrimary(RSA-2048)");
}

/* CreatePrimary with a unique field never used before: a new derivation
 * every time, whatever the server caches (timed), FlushContext (not). */
static void freshprimary_iter(struct conn *c, struct opctx *ctx, struct clk *k,
                              enum key_kind kind, const char *what)
{
    uint8_t cmd[1024], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    uint64_t u = ctx->seq++;
    build_create_cmd_u(&b, TPM2_CC_CreatePrimary, TPM2_RH_OWNER, kind, &u);
    size_t n = xact_timed(c, k, &b, rsp, sizeof rsp, what);
    flush_handle(c, rsp_handle(rsp, n, what));
}
static void iter_freshprimary_ecc(struct conn *c, struct opctx *ctx, struct clk *k)
{
    freshprimary_iter(c, ctx, k, K_ECC_STORAGE, "CreatePrimary(ECC P-256, new unique)");
}
static void iter_freshprimary_rsa(struct conn *c, struct opctx *ctx, struct clk *k)
{
    freshprimary_iter(c, ctx, k, K_RSA_STORAGE, "CreatePrimary(RSA-2048, new unique)");
}

/* Create + Load of an ECC signing child (timed), FlushContext (not). */
static void iter_createload(struct conn *c, struct opctx *ctx, struct clk *k)
{
    flush_handle(c, create_load(c, k, ctx->handle[0], K_ECC_SIGN));
}

/* ContextSave + ContextLoad (timed), FlushContext of the copy (not). */
static void iter_context(struct conn *c, struct opctx *ctx, struct clk *k)
{
    uint8_t cmd[MAX_FRAME], rsp[MAX_FRAME];
    struct buf b = { cmd, 0, sizeof cmd };
    cmd_begin(&b, TPM2_ST_NO_SESSIONS, TPM2_CC_ContextSave);
    put32(&b, ctx->handle[0]);
    cmd_end(&b);
    size_t n = xact_timed(c, k, &b, rsp, sizeof rsp, "ContextSave");
    TPMS_CONTEXT saved;
    memset(&saved, 0, sizeof saved);
    size_t off = 10;
    mu_ok(Tss2_MU_TPMS_CONTEXT_Unmarshal(rsp, n, &off, &saved), "ContextSave response");
    if (off != n)
        die("ContextSave: %zu trailing bytes in the response", n - off);
    cmd_begin(&b, TPM2_ST_NO_SESSIONS, TPM2_CC_ContextLoad);
    MU_PUT(TPMS_CONTEXT, &b, &saved);
    cmd_end(&b);
    n = xact_timed(c, k, &b, rsp, sizeof rsp, "ContextLoad");
    uint32_t h = rsp_handle(rsp, n, "ContextLoad");
    if (h == ctx->handle[0])
        die("ContextLoad returned the original handle 0x%08x", h);
    flush_handle(c, h);
}

static const uint8_t SIGN_DIGEST[32] = {
    0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c,
    0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c, 0x3c,
};

/* Sign a SHA-256-sized digest with the key's own scheme, NULL ticket
 * (allowed for an unrestricted key, Part 3, 20.2.1). */
static size_t build_sign(struct buf *b, uint32_t key, uint16_t scheme)
{
    TPM2B_DIGEST dig;
    TPMT_SIG_SCHEME sch;
    TPMT_TK_HASHCHECK tk;
    memset(&dig, 0, sizeof dig);
    memset(&sch, 0, sizeof sch);
    memset(&tk, 0, sizeof tk);
    dig.size = sizeof SIGN_DIGEST;
    memcpy(dig.buffer, SIGN_DIGEST, sizeof SIGN_DIGEST);
    sch.scheme = scheme;
    sch.details.any.hashAlg = TPM2_ALG_SHA256;
    tk.tag = TPM2_ST_HASHCHECK;
    tk.hierarchy = TPM2_RH_NULL;
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_Sign);
    put32(b, key);
    put_pw_session(b);
    MU_PUT(TPM2B_DIGEST, b, &dig);
    MU_PUT(TPMT_SIG_SCHEME, b, &sch);
    MU_PUT(TPMT_TK_HASHCHECK, b, &tk);
    return cmd_end(b);
}
static size_t build_signecc(struct buf *b, const struct opctx *ctx)
{
    return build_sign(b, ctx->handle[0], TPM2_ALG_ECDSA);
}
static size_t build_signrsa(struct buf *b, const struct opctx *ctx)
{
    return build_sign(b, ctx->handle[0], TPM2_ALG_RSASSA);
}

static size_t build_hmac(struct buf *b, uint32_t key, uint16_t len)
{
    TPM2B_MAX_BUFFER data;
    memset(&data, 0, sizeof data);
    data.size = len;
    memset(data.buffer, 0x6b, len);
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_HMAC);
    put32(b, key);
    put_pw_session(b);
    MU_PUT(TPM2B_MAX_BUFFER, b, &data);
    put16(b, TPM2_ALG_SHA256);          /* hashAlg: the key's own */
    return cmd_end(b);
}
static size_t build_hmac64(struct buf *b, const struct opctx *ctx)
{
    return build_hmac(b, ctx->handle[0], 64);
}
static size_t build_hmac1k(struct buf *b, const struct opctx *ctx)
{
    return build_hmac(b, ctx->handle[0], 1024);
}

/* Quote of sha256 PCRs 0-7 with the AK's scheme (inScheme NULL) and a
 * 16-byte qualifying nonce. */
static size_t build_quote(struct buf *b, const struct opctx *ctx)
{
    TPM2B_DATA nonce;
    TPMT_SIG_SCHEME sch;
    TPML_PCR_SELECTION sel;
    memset(&nonce, 0, sizeof nonce);
    memset(&sch, 0, sizeof sch);
    memset(&sel, 0, sizeof sel);
    nonce.size = 16;
    memset(nonce.buffer, 0x4e, 16);
    sch.scheme = TPM2_ALG_NULL;
    sel.count = 1;
    sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel.pcrSelections[0].sizeofSelect = 3;
    sel.pcrSelections[0].pcrSelect[0] = 0xff;          /* PCRs 0-7 */
    cmd_begin(b, TPM2_ST_SESSIONS, TPM2_CC_Quote);
    put32(b, ctx->handle[0]);
    put_pw_session(b);
    MU_PUT(TPM2B_DATA, b, &nonce);
    MU_PUT(TPMT_SIG_SCHEME, b, &sch);
    MU_PUT(TPML_PCR_SELECTION, b, &sel);
    return cmd_end(b);
}

/* Sizes (command, response) of the timed commands of the iter ops as the
 * floor mimics them: swtpm 0.7.1's, printed by `bench ... sizes=`. */
#define ECHO_CP_ECC 67, 314
#define ECHO_CP_RSA 67, 506
#define ECHO_CP_ECC_U 75, 314
#define ECHO_CP_RSA_U 75, 506
#define ECHO_CREATE 65, 460
#define ECHO_LOAD 245, 59
#define ECHO_CTXSAVE 14, 434
#define ECHO_CTXLOAD 434, 14

#define OP(n, b, r, s, d) { .name = (n), .build = (b), .rsp_len = (r), .setup = (s), .desc = (d) }
static const struct op OPS[] = {
    /* hdr + TPM2B_DIGEST(2+32) */
    OP("getrandom", build_getrandom, 10 + 2 + 32, NULL,
       "TPM2_GetRandom(32), no sessions"),
    /* hdr + parameterSize(4) + auth response(nonce 2, attrs 1, hmac 2) */
    OP("pcrextend", build_pcrextend, 10 + 4 + 5, NULL,
       "TPM2_PCR_Extend(PCR16, sha256), password session"),
    /* hdr + updateCounter(4) + TPML_PCR_SELECTION(4+2+1+3)
     *     + TPML_DIGEST(4 + 2+32) */
    OP("pcrread", build_pcrread, 10 + 4 + 10 + 38, NULL,
       "TPM2_PCR_Read(sha256: PCR16)"),
    /* hdr + TPM2B_DIGEST(2+32) + TPMT_TK_HASHCHECK(2+4+2, empty digest) */
    OP("hash1k", build_hash1k, 10 + 34 + 8, NULL,
       "TPM2_Hash(1024 bytes, sha256, TPM_RH_NULL)"),
    /* hdr + parameterSize(4) + auth response(5) */
    OP("nvwrite64", build_nvwrite64, 10 + 4 + 5, setup_nv_ordinary,
       "TPM2_NV_Write(64 bytes at 0 of a 64-byte index), password session"),
    OP("nvwrite1k", build_nvwrite1k, 10 + 4 + 5, setup_nv_large,
       "TPM2_NV_Write(1024 bytes at 1024 of a 2 KiB index), password session"),
    OP("nvincrement", build_nvincrement, 10 + 4 + 5, setup_nv_counter,
       "TPM2_NV_Increment(counter index), password session"),
    /* hdr + parameterSize(4) + TPM2B(2+64) + auth response(5) */
    OP("nvread64", build_nvread64, 10 + 4 + 66 + 5, setup_nv_ordinary,
       "TPM2_NV_Read(64 bytes), password session"),
    /* ---- keys.  Multi-command ops time only the listed commands. */
    { .name = "primaryecc", .setup = setup_clean, .iter = iter_createprimary_ecc,
      .echo = { { ECHO_CP_ECC } },
      .desc = "TPM2_CreatePrimary(owner, ECC P-256 storage key), then FlushContext (not timed)" },
    { .name = "primaryrsa", .setup = setup_clean, .iter = iter_createprimary_rsa,
      .echo = { { ECHO_CP_RSA } },
      .desc = "TPM2_CreatePrimary(owner, RSA-2048 storage key, same template each time), "
              "then FlushContext (not timed)" },
    { .name = "primaryeccnew", .setup = setup_fresh, .iter = iter_freshprimary_ecc,
      .echo = { { ECHO_CP_ECC_U } },
      .desc = "TPM2_CreatePrimary(owner, ECC P-256 storage key, a new unique value each "
              "time: no server-side cache can answer), then FlushContext (not timed)" },
    { .name = "primaryrsanew", .setup = setup_fresh, .iter = iter_freshprimary_rsa,
      .echo = { { ECHO_CP_RSA_U } },
      .desc = "TPM2_CreatePrimary(owner, RSA-2048 storage key, a new unique value each "
              "time), then FlushContext (not timed)" },
    { .name = "createload", .setup = setup_parent, .iter = iter_createload,
      .echo = { { ECHO_CREATE }, { ECHO_LOAD } },
      .desc = "TPM2_Create + TPM2_Load of an ECC P-256 signing key under an ECC P-256 "
              "primary, then FlushContext (not timed)" },
    /* hdr + parameterSize(4) + TPMT_SIGNATURE(2+2 + r 2+32 + s 2+32) + auth(5) */
    OP("signecc", build_signecc, 10 + 4 + 72 + 5, setup_sign_ecc,
       "TPM2_Sign(ECDSA P-256, SHA-256 digest, unrestricted key, NULL ticket)"),
    /* hdr + parameterSize(4) + TPMT_SIGNATURE(2+2 + 2+256) + auth(5) */
    OP("signrsa", build_signrsa, 10 + 4 + 262 + 5, setup_sign_rsa,
       "TPM2_Sign(RSASSA RSA-2048, SHA-256 digest, unrestricted key, NULL ticket)"),
    /* hdr + parameterSize(4) + TPM2B_DIGEST(2+32) + auth(5) */
    OP("hmac64", build_hmac64, 10 + 4 + 34 + 5, setup_hmac,
       "TPM2_HMAC(64 bytes, keyedhash HMAC-SHA256 key)"),
    OP("hmac1k", build_hmac1k, 10 + 4 + 34 + 5, setup_hmac,
       "TPM2_HMAC(1024 bytes, keyedhash HMAC-SHA256 key)"),
    { .name = "context", .setup = setup_context, .iter = iter_context,
      .echo = { { ECHO_CTXSAVE }, { ECHO_CTXLOAD } },
      .desc = "TPM2_ContextSave + TPM2_ContextLoad of a loaded ECC P-256 key, "
              "then FlushContext of the copy (not timed)" },
    /* hdr + parameterSize(4) + TPM2B_ATTEST(2 + magic 4, type 2, signer 2+34,
     * extraData 2+16, clockInfo 17, firmware 8, PCR selection 10, digest
     * 2+32) + TPMT_SIGNATURE(72) + auth(5) */
    OP("quote", build_quote, 10 + 4 + 2 + 129 + 72 + 5, setup_quote,
       "TPM2_Quote(ECC P-256 restricted signing key, sha256 PCRs 0-7, 16-byte nonce)"),
};
#undef OP
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

/* One iteration of an iter op.  Against the echo floor: one ping-pong
 * per timed command with the sizes from the table. */
static void iter_once(struct conn *c, const struct op *op, struct opctx *ctx, struct clk *k,
                      uint8_t *cmd, uint8_t *rsp, int *size_warned)
{
    if (c->proto != P_ECHO) {
        op->iter(c, ctx, k);
        for (unsigned q = 0; q < k->step && q < 3; q++)
            if ((k->seen[q].cmd != op->echo[q].cmd || k->seen[q].rsp != op->echo[q].rsp) &&
                !(*size_warned)++)
                fprintf(stderr, "bench: warning: %s command %u is %u/%u bytes, the floor "
                        "table says %u/%u\n", op->name, q + 1, k->seen[q].cmd,
                        k->seen[q].rsp, op->echo[q].cmd, op->echo[q].rsp);
        return;
    }
    for (unsigned q = 0; q < 3 && op->echo[q].cmd != 0; q++) {
        memset(cmd, 0, op->echo[q].cmd);
        clk_on(k);
        transact(c, cmd, op->echo[q].cmd, op->echo[q].rsp, rsp, MAX_FRAME);
        clk_off(k);
    }
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
        else if (!strcmp(a, "--dump")) g_dump = 1;
        else if (!strcmp(a, "--define-nv")) { NEED(); define_nv = parse_num(v, a); }
        else if (!strcmp(a, "--free-port")) return free_port();
        else if (!strcmp(a, "--list-ops")) {
            for (size_t k = 0; k < NOPS; k++)
                printf("%-14s %s\n", OPS[k].name, OPS[k].desc);
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

    struct opctx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (op->setup && proto != P_ECHO && op->setup(c, &ctx) != 0)
        die("%s: setup failed", op->name);

    struct buf b = { cmd, 0, MAX_FRAME };
    size_t cmd_len = op->iter ? 0 : op->build(&b, &ctx);
    int size_warned = 0;
    struct clk k;

    for (long w = 0; w < warmup; w++) {
        if (op->iter) {
            memset(&k, 0, sizeof k);
            iter_once(c, op, &ctx, &k, cmd, rsp, &size_warned);
            continue;
        }
        size_t r = transact(c, cmd, cmd_len, op->rsp_len, rsp, MAX_FRAME);
        if (proto != P_ECHO) {
            uint32_t rc = rsp_rc(rsp, r);
            if (rc != 0)
                die("%s: response rc=0x%03x (warm-up request %ld)", op->name, rc, w);
            if (r != op->rsp_len && !size_warned++)
                fprintf(stderr, "bench: warning: %s response is %zu bytes, "
                        "table says %zu (echo floor sizes are off)\n",
                        op->name, r, op->rsp_len);
        }
    }

    struct cpu_sample s0, s1;
    uint64_t cpu_ns = 0, cpu_ticks = 0, timed_ns = 0;
    int cpu_ok = srv_pid > 0;
    cpu_sample(srv_pid, &s0);
    double t0 = now_s();
    for (long n = 0; n < count; n++) {
        if (op->iter) {
            /* Server CPU sampled around the timed commands only. */
            memset(&k, 0, sizeof k);
            k.pid = srv_pid;
            k.cpu_ok = 1;
            iter_once(c, op, &ctx, &k, cmd, rsp, &size_warned);
            lat[n] = k.wall_ns;
            timed_ns += k.wall_ns;
            cpu_ns += k.cpu_ns;
            cpu_ticks += k.cpu_ticks;
            cpu_ok = cpu_ok && k.cpu_ok;
            continue;
        }
        uint64_t a = now_ns();
        size_t r = transact(c, cmd, cmd_len, op->rsp_len, rsp, MAX_FRAME);
        uint64_t z = now_ns();
        lat[n] = z - a;
        if (proto != P_ECHO) {
            uint32_t rc = rsp_rc(rsp, r);
            if (rc != 0)
                die("%s: response rc=0x%03x (request %ld)", op->name, rc, n);
            if (r != op->rsp_len && !size_warned++)
                fprintf(stderr, "bench: warning: %s response is %zu bytes, "
                        "table says %zu (echo floor sizes are off)\n",
                        op->name, r, op->rsp_len);
        }
    }
    double t1 = now_s();
    cpu_sample(srv_pid, &s1);
    if (!op->iter) {
        cpu_ok = cpu_ok && s0.ok && s1.ok;
        cpu_ns = s1.sched_ns - s0.sched_ns;
        cpu_ticks = s1.ticks - s0.ticks;
    }
    /* Flush what setup made, so the next run finds the slots free. */
    if (proto != P_ECHO)
        for (size_t h = 0; h < sizeof ctx.handle / sizeof ctx.handle[0]; h++)
            if (ctx.handle[h] != 0)
                flush_handle(c, ctx.handle[h]);
    conn_close(c);

    qsort(lat, (size_t)count, sizeof *lat, cmp_u64);
    double sum = 0;
    for (long n = 0; n < count; n++)
        sum += (double)lat[n];
    /* iter ops: ops/s = 1 / mean timed latency (housekeeping excluded). */
    double secs = op->iter ? (double)timed_ns * 1e-9 : t1 - t0;
    static const char *pname[] = { "mssim", "raw", "echo" };
    printf("label=%s proto=%s op=%s count=%ld ops_s=%.1f median_us=%.2f "
           "p99_us=%.2f mean_us=%.2f min_us=%.2f",
           label ? label : pname[proto], pname[proto], op->name, count,
           (double)count / secs, pct(lat, (size_t)count, 0.50) / 1000.0,
           pct(lat, (size_t)count, 0.99) / 1000.0, sum / (double)count / 1000.0,
           (double)lat[0] / 1000.0);
    if (cpu_ok) {
        long tck = sysconf(_SC_CLK_TCK);
        printf(" srv_cpu_us_per_op=%.2f srv_cpu_tick_us_per_op=%.2f",
               (double)cpu_ns / 1000.0 / (double)count,
               (double)cpu_ticks * 1e6 / (double)tck / (double)count);
    }
    if (op->iter && proto != P_ECHO) {
        printf(" sizes=");
        for (unsigned q = 0; q < k.step && q < 3; q++)
            printf("%s%u/%u", q ? "," : "", k.seen[q].cmd, k.seen[q].rsp);
    }
    putchar('\n');
    free(c);
    free(lat);
    free(cmd);
    free(rsp);
    return 0;
}
