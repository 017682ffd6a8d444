/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * engine_session_bench: the session ops of bench/session_bench.c, run in one
 * process against the engine itself (include/vitrum/engine.h) through a
 * TCTI that calls vt_engine_execute.  ESAPI still does the client's salting,
 * HMACs and parameter encryption, so the engine sees exactly the byte
 * streams tpm2-tools send; only the time inside vt_engine_execute is
 * counted (CLOCK_THREAD_CPUTIME_ID around each call), which leaves out the
 * client, the socket and the server's framing.  For profiling:
 *
 *   valgrind --tool=callgrind --toggle-collect=vt_engine_execute \
 *       build/bench/engine_session_bench unseal_hmacenc 2000
 *   perf record -g build/bench/engine_session_bench unseal_hmacenc 200000
 *
 * usage: engine_session_bench OP [COUNT [WARMUP]]
 * env: ENGINE_BENCH_GAP_US=N sleeps N µs before each command (an idle
 *      server), ENGINE_BENCH_TRASH_KB=N then writes N KiB of other memory
 *      (cold caches); both show what a command costs when it is not in a
 *      tight loop.  ENGINE_BENCH_TARGET=libtpms runs the ops on libtpms
 *      (swtpm's engine) instead, when built with libtpms-dev.
 * ops: salted_rsa salted_ecc getrandom getrandom_enc unseal_pw unseal_hmacenc
 *      policypcr_unseal, or "all"
 * prints: op=OP count=N engine_us_per_op=... p10_us=... median_us=... p99_us=... cmds_per_op=...
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tcti.h>

#include "vitrum/engine.h"

#ifdef WITH_LIBTPMS
#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>
#endif

/* ---- platform: memory store, xorshift entropy (a benchmark, not a TPM) ---- */

static uint8_t store[1u << 20];
static size_t store_len;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static int p_entropy(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        buf[i] = (uint8_t)rng;
    }
    return 0;
}

static uint64_t p_now(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long p_load(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    if (store_len > cap)
        return -1;
    memcpy(buf, store, store_len);
    return (long)store_len;
}

static int p_commit(void *ctx, const uint8_t *blob, size_t len)
{
    (void)ctx;
    if (len > sizeof(store))
        return -1;
    memcpy(store, blob, len);
    store_len = len;
    return 0;
}

/* ---- an in-process TCTI ---- */

typedef struct {
    TSS2_TCTI_CONTEXT_COMMON_V2 common;
    vt_engine *e;
    uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    size_t rsp_len;
    uint64_t ns;       /* thread CPU time spent in vt_engine_execute */
    uint64_t commands; /* commands executed */
} eng_tcti;

static eng_tcti tcti;

static uint64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ENGINE_BENCH_GAP_US=N: sleep N µs before each command, as a server idles
 * between a slow client's commands.  ENGINE_BENCH_TRASH_KB=N: then write N KiB
 * of other memory, as the rest of a busy machine would, so the command runs
 * on cold caches. */
static long gap_us, trash_kb;
static volatile uint8_t *trash;

static void before_command(void)
{
    if (gap_us > 0) {
        struct timespec ts = {gap_us / 1000000, (gap_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    for (long i = 0; trash && i < trash_kb * 1024; i += 64)
        trash[i]++;
}

/* ENGINE_BENCH_TARGET=libtpms (a build with libtpms-dev): the same ops on
 * libtpms, swtpm's engine, called in process the same way — the engines
 * compared without either server's I/O.  Its NV files go to a temporary
 * directory, unsynced, as swtpm writes them. */
static int use_libtpms;
#ifdef WITH_LIBTPMS
static const char *libtpms_dir;
#endif

static TSS2_RC t_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    eng_tcti *t = (eng_tcti *)ctx;
    uint64_t a;
    before_command();
    a = thread_ns();
#ifdef WITH_LIBTPMS
    if (use_libtpms) {
        static unsigned char *rbuf;
        static uint32_t rcap;
        uint32_t rlen = 0;
        static uint8_t cbuf[VT_MAX_COMMAND_SIZE];
        if (size > sizeof(cbuf))
            return TSS2_TCTI_RC_BAD_VALUE;
        memcpy(cbuf, cmd, size); /* TPMLIB_Process takes a non-const buffer */
        if (TPMLIB_Process(&rbuf, &rlen, &rcap, cbuf, (uint32_t)size) != TPM_SUCCESS ||
            rlen > sizeof(t->rsp))
            return TSS2_TCTI_RC_IO_ERROR;
        memcpy(t->rsp, rbuf, rlen);
        t->rsp_len = rlen;
    } else
#endif
        t->rsp_len = vt_engine_execute(t->e, 0, cmd, size, t->rsp, sizeof(t->rsp));
    t->ns += thread_ns() - a;
    t->commands++;
    return TSS2_RC_SUCCESS;
}

static TSS2_RC t_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
    eng_tcti *t = (eng_tcti *)ctx;
    (void)timeout;
    if (!rsp) {
        *size = t->rsp_len;
        return TSS2_RC_SUCCESS;
    }
    if (*size < t->rsp_len)
        return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    memcpy(rsp, t->rsp, t->rsp_len);
    *size = t->rsp_len;
    return TSS2_RC_SUCCESS;
}

static void t_finalize(TSS2_TCTI_CONTEXT *ctx) { (void)ctx; }
static TSS2_RC t_cancel(TSS2_TCTI_CONTEXT *ctx) { (void)ctx; return TSS2_TCTI_RC_NOT_IMPLEMENTED; }
static TSS2_RC t_poll(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
    (void)ctx;
    (void)h;
    (void)n;
    return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}
static TSS2_RC t_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t l) { (void)ctx; (void)l; return TSS2_RC_SUCCESS; }
static TSS2_RC t_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *h, uint8_t s)
{
    (void)ctx;
    (void)h;
    (void)s;
    return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

/* ---- the ops (as in session_bench.c) ---- */

static ESYS_CONTEXT *esys;

#define CHECK(what, expr)                                                                         \
    do {                                                                                          \
        TSS2_RC rc_ = (expr);                                                                     \
        if (rc_ != TSS2_RC_SUCCESS) {                                                             \
            fprintf(stderr, "engine_session_bench: error: %s: %s\n", what, Tss2_RC_Decode(rc_)); \
            return -1;                                                                            \
        }                                                                                         \
    } while (0)

static int primary(int rsa, ESYS_TR *out)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC pub = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPMT_SYM_DEF_OBJECT sym = { TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };

    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                      TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                      TPMA_OBJECT_USERWITHAUTH;
    if (rsa) {
        pub.publicArea.type = TPM2_ALG_RSA;
        pub.publicArea.parameters.rsaDetail.symmetric = sym;
        pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.publicArea.parameters.rsaDetail.keyBits = 2048;
    } else {
        pub.publicArea.type = TPM2_ALG_ECC;
        pub.publicArea.parameters.eccDetail.symmetric = sym;
        pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    }
    CHECK("CreatePrimary", Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                              &sens, &pub, &outside, &pcrs, out, NULL, NULL, NULL, NULL));
    return 0;
}

static int hmac_session(ESYS_TR salt_key, TPMA_SESSION extra, ESYS_TR *out)
{
    TPMT_SYM_DEF sym = { TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };
    CHECK("StartAuthSession", Esys_StartAuthSession(esys, salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                    ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
                                                    out));
    CHECK("TRSess_SetAttributes", Esys_TRSess_SetAttributes(esys, *out, TPMA_SESSION_CONTINUESESSION | extra, 0xff));
    return 0;
}

static const TPML_PCR_SELECTION pcr0 = { 1, { { TPM2_ALG_SHA256, 3, { 1, 0, 0 } } } };

static int pcr_policy(TPM2B_DIGEST *out)
{
    TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
    TPM2B_DIGEST empty = { 0 }, *d = NULL;
    ESYS_TR trial;
    CHECK("StartAuthSession(trial)", Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                           ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
                                                           &none, TPM2_ALG_SHA256, &trial));
    CHECK("PolicyPCR(trial)", Esys_PolicyPCR(esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pcr0));
    CHECK("PolicyGetDigest", Esys_PolicyGetDigest(esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d));
    *out = *d;
    Esys_Free(d);
    CHECK("FlushContext(trial)", Esys_FlushContext(esys, trial));
    return 0;
}

static int sealed(ESYS_TR parent, const TPM2B_DIGEST *pol, ESYS_TR *out)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC pub = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *opub = NULL;

    sens.sensitive.data.size = 32;
    memset(sens.sensitive.data.buffer, 0x5a, 32);
    pub.publicArea.type = TPM2_ALG_KEYEDHASH;
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
    pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
    if (pol) {
        pub.publicArea.authPolicy = *pol;
    } else {
        pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
        sens.sensitive.userAuth.size = 2;
        memcpy(sens.sensitive.userAuth.buffer, "pw", 2);
    }
    CHECK("Create(sealed)", Esys_Create(esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &pub,
                                        &outside, &pcrs, &priv, &opub, NULL, NULL, NULL));
    CHECK("Load(sealed)", Esys_Load(esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, opub, out));
    Esys_Free(priv);
    Esys_Free(opub);
    if (!pol) {
        TPM2B_AUTH a = { 2, { 'p', 'w' } };
        CHECK("TR_SetAuth", Esys_TR_SetAuth(esys, *out, &a));
    }
    return 0;
}

typedef struct {
    const char *op;
    ESYS_TR key, obj, ses;
} bench_state;

static int unseal_check(ESYS_TR obj, ESYS_TR ses)
{
    TPM2B_SENSITIVE_DATA *d = NULL;
    CHECK("Unseal", Esys_Unseal(esys, obj, ses, ESYS_TR_NONE, ESYS_TR_NONE, &d));
    int ok = d->size == 32 && d->buffer[0] == 0x5a && d->buffer[31] == 0x5a;
    Esys_Free(d);
    if (!ok) {
        fprintf(stderr, "engine_session_bench: error: Unseal returned the wrong secret\n");
        return -1;
    }
    return 0;
}

static int setup(bench_state *s)
{
    const char *op = s->op;
    s->key = s->obj = s->ses = ESYS_TR_NONE;
    if (!strcmp(op, "getrandom"))
        return 0;
    if (!strcmp(op, "salted_rsa"))
        return primary(1, &s->key);
    if (primary(0, &s->key))
        return -1;
    if (!strcmp(op, "salted_ecc"))
        return 0;
    if (!strcmp(op, "getrandom_enc"))
        return hmac_session(s->key, TPMA_SESSION_ENCRYPT, &s->ses);
    if (!strcmp(op, "unseal_pw"))
        return sealed(s->key, NULL, &s->obj);
    if (!strcmp(op, "unseal_hmacenc"))
        return sealed(s->key, NULL, &s->obj) || hmac_session(s->key, TPMA_SESSION_ENCRYPT, &s->ses);
    if (!strcmp(op, "policypcr_unseal")) {
        TPM2B_DIGEST pol;
        TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
        if (pcr_policy(&pol) || sealed(s->key, &pol, &s->obj))
            return -1;
        CHECK("StartAuthSession(policy)", Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                                ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
                                                                &none, TPM2_ALG_SHA256, &s->ses));
        return 0;
    }
    fprintf(stderr, "engine_session_bench: error: unknown op %s\n", op);
    return -1;
}

static int once(bench_state *s)
{
    const char *op = s->op;
    if (!strcmp(op, "salted_rsa") || !strcmp(op, "salted_ecc")) {
        ESYS_TR ses;
        if (hmac_session(s->key, 0, &ses))
            return -1;
        CHECK("FlushContext(session)", Esys_FlushContext(esys, ses));
        return 0;
    }
    if (!strcmp(op, "getrandom_enc") || !strcmp(op, "getrandom")) {
        TPM2B_DIGEST *r = NULL;
        CHECK("GetRandom", Esys_GetRandom(esys, s->ses, ESYS_TR_NONE, ESYS_TR_NONE, 32, &r));
        int ok = r->size == 32;
        Esys_Free(r);
        return ok ? 0 : -1;
    }
    if (!strcmp(op, "unseal_pw"))
        return unseal_check(s->obj, ESYS_TR_PASSWORD);
    if (!strcmp(op, "unseal_hmacenc"))
        return unseal_check(s->obj, s->ses);
    TPM2B_DIGEST empty = { 0 };
    CHECK("PolicyPCR", Esys_PolicyPCR(esys, s->ses, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pcr0));
    return unseal_check(s->obj, s->ses);
}

static void teardown(bench_state *s)
{
    if (s->ses != ESYS_TR_NONE)
        (void)Esys_FlushContext(esys, s->ses);
    if (s->obj != ESYS_TR_NONE)
        (void)Esys_FlushContext(esys, s->obj);
    if (s->key != ESYS_TR_NONE)
        (void)Esys_FlushContext(esys, s->key);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_op(const char *op, long count, long warmup)
{
    bench_state s = { .op = op };
    uint64_t *lat = calloc((size_t)count, sizeof *lat);
    int status = -1;

    if (!lat || setup(&s) != 0)
        goto out;
    for (long i = 0; i < warmup; i++)
        if (once(&s) != 0)
            goto out;
    uint64_t ns0 = tcti.ns, c0 = tcti.commands;
    for (long i = 0; i < count; i++) {
        uint64_t a = tcti.ns;
        if (once(&s) != 0)
            goto out;
        lat[i] = tcti.ns - a;
    }
    qsort(lat, (size_t)count, sizeof *lat, cmp_u64);
    printf("op=%s count=%ld engine_us_per_op=%.2f p10_us=%.2f median_us=%.2f p99_us=%.2f cmds_per_op=%.1f\n", op,
           count, (double)(tcti.ns - ns0) / 1000.0 / (double)count, (double)lat[count / 10] / 1000.0,
           (double)lat[count / 2] / 1000.0,
           (double)lat[(size_t)((double)count * 0.99)] / 1000.0,
           (double)(tcti.commands - c0) / (double)count);
    status = 0;
out:
    teardown(&s);
    free(lat);
    return status;
}

int main(int argc, char **argv)
{
    static const char *all[] = { "salted_rsa", "salted_ecc", "getrandom", "getrandom_enc", "unseal_pw",
                                 "unseal_hmacenc", "policypcr_unseal" };
    vt_platform p = { NULL, p_entropy, p_now, p_load, p_commit, NULL, NULL };
    long count, warmup;
    int status = 0;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: engine_session_bench OP|all [COUNT [WARMUP]]\n");
        return 2;
    }
    count = argc > 2 ? atol(argv[2]) : 2000;
    if (getenv("ENGINE_BENCH_GAP_US"))
        gap_us = atol(getenv("ENGINE_BENCH_GAP_US"));
    if (getenv("ENGINE_BENCH_TRASH_KB"))
        trash_kb = atol(getenv("ENGINE_BENCH_TRASH_KB"));
    if (trash_kb > 0 && !(trash = calloc((size_t)trash_kb, 1024)))
        return 1;
    warmup = argc > 3 ? atol(argv[3]) : 20;
    if (count < 1 || warmup < 0) {
        fprintf(stderr, "engine_session_bench: error: bad count/warmup\n");
        return 2;
    }
    if (getenv("ENGINE_BENCH_TARGET") && !strcmp(getenv("ENGINE_BENCH_TARGET"), "libtpms")) {
#ifdef WITH_LIBTPMS
        static char dir[] = "/tmp/engine_bench_libtpms.XXXXXX";
        /* libtpms's TPM 2.0 keeps its NV in ./NVChip when no callbacks are
         * registered: run in the temporary directory */
        if (!mkdtemp(dir) || setenv("TPM_PATH", dir, 1) != 0 || chdir(dir) != 0 ||
            TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) != TPM_SUCCESS || TPMLIB_MainInit() != TPM_SUCCESS) {
            fprintf(stderr, "engine_session_bench: error: libtpms init\n");
            return 1;
        }
        use_libtpms = 1;
        libtpms_dir = dir;
#else
        fprintf(stderr, "engine_session_bench: error: built without libtpms (apt-get install libtpms-dev, rebuild)\n");
        return 2;
#endif
    } else if (vt_engine_new(&p, &tcti.e) != VT_OK) {
        fprintf(stderr, "engine_session_bench: error: vt_engine_new\n");
        return 1;
    } else {
        vt_engine_power_on(tcti.e);
    }
    tcti.common.v1.magic = 0x5654454e47494e45ull; /* any value: ESAPI does not check it */
    tcti.common.v1.version = 2;
    tcti.common.v1.transmit = t_transmit;
    tcti.common.v1.receive = t_receive;
    tcti.common.v1.finalize = t_finalize;
    tcti.common.v1.cancel = t_cancel;
    tcti.common.v1.getPollHandles = t_poll;
    tcti.common.v1.setLocality = t_locality;
    tcti.common.makeSticky = t_sticky;
    if (Esys_Initialize(&esys, (TSS2_TCTI_CONTEXT *)&tcti, NULL) != TSS2_RC_SUCCESS ||
        Esys_Startup(esys, TPM2_SU_CLEAR) != TSS2_RC_SUCCESS) {
        fprintf(stderr, "engine_session_bench: error: Esys_Initialize/Startup\n");
        return 1;
    }
    if (!strcmp(argv[1], "all")) {
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            status |= run_op(all[i], !strncmp(all[i], "salted", 6) ? (count + 4) / 5 : count, warmup);
    } else {
        status = run_op(argv[1], count, warmup);
    }
    Esys_Finalize(&esys);
    if (use_libtpms) {
#ifdef WITH_LIBTPMS
        TPMLIB_Terminate();
        unlink("NVChip");
        if (chdir("/") != 0 || rmdir(libtpms_dir) != 0)
            fprintf(stderr, "engine_session_bench: note: %s left behind\n", libtpms_dir);
#endif
    } else {
        vt_engine_free(tcti.e);
    }
    return status ? 1 : 0;
}
