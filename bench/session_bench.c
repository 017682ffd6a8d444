/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * session_bench: session and policy operations through tpm2-tss ESAPI, the
 * way real software (tpm2-tools, FAPI, systemd) drives a TPM: ESAPI does the
 * salting, the HMACs and the parameter encryption on the client side, so
 * both servers get exactly the same byte streams.
 *
 * usage: session_bench TCTI_CONF OP COUNT WARMUP LABEL [SERVER_PID]
 * ops:
 *   salted_rsa        StartAuthSession(HMAC, salted with an RSA-2048 primary, AES-128-CFB) + FlushContext
 *   salted_ecc        the same salted with an ECC P-256 primary
 *   getrandom         GetRandom(32), no session (the probe, and a baseline)
 *   getrandom_enc     GetRandom(32) with a salted HMAC session, encrypt (response) on
 *   unseal_pw         Unseal of a sealed object, password authorization
 *   unseal_hmacenc    Unseal of the same, salted HMAC session with encrypt on
 *   policypcr_unseal  PolicyPCR(sha256:0) + Unseal of an object sealed to PCR 0
 * prints: label=... proto=esys op=OP count=N ops_s=... median_us=... p99_us=...
 *         [srv_cpu_us_per_op=...]
 *
 * Through ESAPI the client's own crypto (OpenSSL 3 HMACs, KDFs, AES for
 * every command of a session) costs about as much as a whole command of
 * either server, so latency ratios say little about the servers; with
 * SERVER_PID the server's CPU time over the timed loop (/proc/PID/schedstat,
 * ns) divided by COUNT is printed too: what the TPM itself spent per op.
 *
 * Setup (primaries, objects, the long-lived session) is not timed.  At most
 * three objects are loaded at once (swtpm's limit) and everything made is
 * flushed at the end, since swtpm keeps objects across connections.
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

static ESYS_CONTEXT *esys;

/* CPU time (ns) all threads of the process have run, from
 * /proc/PID/task/TID/schedstat (vitrum serves a connection on its own
 * thread, which lives as long as the connection); 0 if unknown. */
static uint64_t cpu_ns(long pid)
{
    char path[96];
    uint64_t sum = 0;
    struct dirent *d;
    DIR *dir;

    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    dir = opendir(path);
    if (!dir)
        return 0;
    while ((d = readdir(dir)) != NULL) {
        unsigned long long ns = 0;
        FILE *f;
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/schedstat", pid, d->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fscanf(f, "%llu", &ns) == 1)
            sum += (uint64_t)ns;
        fclose(f);
    }
    closedir(dir);
    return sum;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *s, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)s[k - 1];
}

#define CHECK(what, expr)                                                                  \
    do {                                                                                   \
        TSS2_RC rc_ = (expr);                                                              \
        if (rc_ != TSS2_RC_SUCCESS) {                                                      \
            fprintf(stderr, "session_bench: error: %s: %s\n", what, Tss2_RC_Decode(rc_)); \
            return -1;                                                                     \
        }                                                                                  \
    } while (0)

/* Transient objects and sessions left by an aborted run (swtpm keeps
 * them): flush them so the 3 slots are free. */
static void flush_leftovers(void)
{
    static const TPM2_HANDLE kinds[] = { TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST,
                                         TPM2_ACTIVE_SESSION_FIRST };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                               kinds[k], 64, NULL, &cap) != TSS2_RC_SUCCESS)
            continue;
        for (UINT32 i = 0; i < cap->data.handles.count; i++) {
            ESYS_TR tr;
            if (Esys_TR_FromTPMPublic(esys, cap->data.handles.handle[i], ESYS_TR_NONE, ESYS_TR_NONE,
                                      ESYS_TR_NONE, &tr) == TSS2_RC_SUCCESS)
                (void)Esys_FlushContext(esys, tr);
        }
        Esys_Free(cap);
    }
}

static int primary(int rsa, ESYS_TR *out)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC pub = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };

    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                                      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;
    if (rsa) {
        pub.publicArea.type = TPM2_ALG_RSA;
        pub.publicArea.parameters.rsaDetail.symmetric =
            (TPMT_SYM_DEF_OBJECT){ TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };
        pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.publicArea.parameters.rsaDetail.keyBits = 2048;
    } else {
        pub.publicArea.type = TPM2_ALG_ECC;
        pub.publicArea.parameters.eccDetail.symmetric =
            (TPMT_SYM_DEF_OBJECT){ TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };
        pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    }
    CHECK("CreatePrimary", Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                              ESYS_TR_NONE, &sens, &pub, &outside, &pcrs, out, NULL,
                                              NULL, NULL, NULL));
    return 0;
}

static int hmac_session(ESYS_TR salt_key, TPMA_SESSION extra, ESYS_TR *out)
{
    TPMT_SYM_DEF sym = { TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };
    CHECK("StartAuthSession", Esys_StartAuthSession(esys, salt_key, ESYS_TR_NONE, ESYS_TR_NONE,
                                                    ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC,
                                                    &sym, TPM2_ALG_SHA256, out));
    CHECK("TRSess_SetAttributes",
          Esys_TRSess_SetAttributes(esys, *out, TPMA_SESSION_CONTINUESESSION | extra, 0xff));
    return 0;
}

static const TPML_PCR_SELECTION pcr0 = { 1, { { TPM2_ALG_SHA256, 3, { 1, 0, 0 } } } };

/* The policy digest of PolicyPCR(sha256:0) at the PCRs' current values,
 * from a trial session. */
static int pcr_policy(TPM2B_DIGEST *out)
{
    TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
    TPM2B_DIGEST empty = { 0 }, *d = NULL;
    ESYS_TR trial;
    CHECK("StartAuthSession(trial)", Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                           ESYS_TR_NONE, ESYS_TR_NONE, NULL,
                                                           TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256,
                                                           &trial));
    CHECK("PolicyPCR(trial)",
          Esys_PolicyPCR(esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &pcr0));
    CHECK("PolicyGetDigest", Esys_PolicyGetDigest(esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d));
    *out = *d;
    Esys_Free(d);
    CHECK("FlushContext(trial)", Esys_FlushContext(esys, trial));
    return 0;
}

/* A sealed 32-byte secret under `parent`, authValue "pw" or policy `pol`. */
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
    CHECK("Create(sealed)", Esys_Create(esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                                        &pub, &outside, &pcrs, &priv, &opub, NULL, NULL, NULL));
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
    /* Decrypted by ESAPI when the session encrypts: the secret must be
     * the one sealed, or the measurement is of a broken path. */
    int ok = d->size == 32 && d->buffer[0] == 0x5a && d->buffer[31] == 0x5a;
    Esys_Free(d);
    if (!ok) {
        fprintf(stderr, "session_bench: error: Unseal returned the wrong secret\n");
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
        CHECK("StartAuthSession(policy)", Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE,
                                                                ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                                                NULL, TPM2_SE_POLICY, &none,
                                                                TPM2_ALG_SHA256, &s->ses));
        return 0;
    }
    fprintf(stderr, "session_bench: error: unknown op %s\n", op);
    return -1;
}

/* SESSION_BENCH_PACE_US=N: the client spins N µs before each op, so that a
 * fast op (unseal_pw) reaches the server at the pace of a slow one (an
 * ESAPI session op costs the client ~2 ms).
 *
 * SESSION_BENCH_IDLE_US=N: stricter; before every command it sends, the
 * client spins until N µs have passed since the server's last answer
 * arrived, so the server idles exactly N µs before each command of every op
 * (however long ESAPI's own crypto took) and server CPU compares only the
 * work of the commands: a host's idle vCPU gets colder the longer it idles.
 * This is done in a TCTI that wraps the real one. */
static uint64_t pace_ns, idle_ns;

static uint64_t now_ns(void);

static void pace(void)
{
    uint64_t until;
    if (!pace_ns)
        return;
    until = now_ns() + pace_ns;
    while (now_ns() < until)
        ;
}

typedef struct {
    TSS2_TCTI_CONTEXT_COMMON_V2 common;
    TSS2_TCTI_CONTEXT *inner;
    uint64_t last_answer;
} idle_tcti;

static TSS2_RC i_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    idle_tcti *t = (idle_tcti *)ctx;
    while (t->last_answer && now_ns() - t->last_answer < idle_ns)
        ;
    return Tss2_Tcti_Transmit(t->inner, size, cmd);
}

static TSS2_RC i_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
    idle_tcti *t = (idle_tcti *)ctx;
    TSS2_RC rc = Tss2_Tcti_Receive(t->inner, size, rsp, timeout);
    if (rsp && rc == TSS2_RC_SUCCESS)
        t->last_answer = now_ns();
    return rc;
}

static void i_finalize(TSS2_TCTI_CONTEXT *ctx) { (void)ctx; }
static TSS2_RC i_cancel(TSS2_TCTI_CONTEXT *ctx) { return Tss2_Tcti_Cancel(((idle_tcti *)ctx)->inner); }
static TSS2_RC i_get_poll_handles(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
    return Tss2_Tcti_GetPollHandles(((idle_tcti *)ctx)->inner, h, n);
}
static TSS2_RC i_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t l)
{
    return Tss2_Tcti_SetLocality(((idle_tcti *)ctx)->inner, l);
}
static TSS2_RC i_make_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *h, uint8_t sticky)
{
    return Tss2_Tcti_MakeSticky(((idle_tcti *)ctx)->inner, h, sticky);
}

static idle_tcti idle_wrap;

static TSS2_TCTI_CONTEXT *wrap_idle(TSS2_TCTI_CONTEXT *inner)
{
    TSS2_TCTI_CONTEXT_COMMON_V2 *c = &idle_wrap.common;
    c->v1.magic = 0x1d1e5e551d1e5eull;
    c->v1.version = 2;
    c->v1.transmit = i_transmit;
    c->v1.receive = i_receive;
    c->v1.finalize = i_finalize;
    c->v1.cancel = i_cancel;
    c->v1.getPollHandles = i_get_poll_handles;
    c->v1.setLocality = i_set_locality;
    c->makeSticky = i_make_sticky;
    idle_wrap.inner = inner;
    return (TSS2_TCTI_CONTEXT *)&idle_wrap;
}

static int once(bench_state *s)
{
    const char *op = s->op;
    pace();
    if (!strcmp(op, "salted_rsa") || !strcmp(op, "salted_ecc")) {
        ESYS_TR ses;
        if (hmac_session(s->key, 0, &ses))
            return -1;
        CHECK("FlushContext(session)", Esys_FlushContext(esys, ses));
        return 0;
    }
    if (!strcmp(op, "getrandom_enc") || !strcmp(op, "getrandom")) {
        TPM2B_DIGEST *r = NULL;
        CHECK("GetRandom", Esys_GetRandom(esys, s->ses == ESYS_TR_NONE ? ESYS_TR_NONE : s->ses, ESYS_TR_NONE, ESYS_TR_NONE, 32, &r));
        int ok = r->size == 32;
        Esys_Free(r);
        return ok ? 0 : -1;
    }
    if (!strcmp(op, "unseal_pw"))
        return unseal_check(s->obj, ESYS_TR_PASSWORD);
    if (!strcmp(op, "unseal_hmacenc"))
        return unseal_check(s->obj, s->ses);
    /* policypcr_unseal: the session continues, and starts its policy over
     * after authorizing the Unseal. */
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

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: session_bench TCTI_CONF OP COUNT WARMUP LABEL [SERVER_PID]\n");
        return 2;
    }
    const char *conf = argv[1];
    bench_state s = { .op = argv[2] };
    long count = atol(argv[3]), warmup = atol(argv[4]);
    const char *label = argv[5];
    long server_pid = argc > 6 ? atol(argv[6]) : 0;
    if (getenv("SESSION_BENCH_PACE_US"))
        pace_ns = (uint64_t)atol(getenv("SESSION_BENCH_PACE_US")) * 1000u;
    if (getenv("SESSION_BENCH_IDLE_US"))
        idle_ns = (uint64_t)atol(getenv("SESSION_BENCH_IDLE_US")) * 1000u;
    if (count < 1 || warmup < 0) {
        fprintf(stderr, "session_bench: error: bad count/warmup\n");
        return 2;
    }

    TSS2_TCTI_CONTEXT *tcti = NULL;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &tcti);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "session_bench: error: TCTI '%s': %s\n", conf, Tss2_RC_Decode(rc));
        return 1;
    }
    rc = Esys_Initialize(&esys, idle_ns ? wrap_idle(tcti) : tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "session_bench: error: Esys_Initialize: %s\n", Tss2_RC_Decode(rc));
        return 1;
    }
    rc = Esys_Startup(esys, TPM2_SU_CLEAR);
    if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
        fprintf(stderr, "session_bench: error: Esys_Startup: %s\n", Tss2_RC_Decode(rc));
        return 1;
    }
    flush_leftovers();
    if (setup(&s) != 0) {
        teardown(&s);
        return 1;
    }

    uint64_t *lat = calloc((size_t)count, sizeof *lat);
    int status = 1;
    if (!lat)
        goto out;
    for (long i = 0; i < warmup; i++)
        if (once(&s) != 0)
            goto out;
    uint64_t c0 = cpu_ns(server_pid), t0 = now_ns();
    for (long i = 0; i < count; i++) {
        uint64_t a = now_ns();
        if (once(&s) != 0)
            goto out;
        lat[i] = now_ns() - a;
    }
    uint64_t t1 = now_ns(), c1 = cpu_ns(server_pid);
    qsort(lat, (size_t)count, sizeof *lat, cmp_u64);
    printf("label=%s proto=esys op=%s count=%ld ops_s=%.1f median_us=%.2f p99_us=%.2f", label, s.op,
           count, (double)count * 1e9 / (double)(t1 - t0), pct(lat, (size_t)count, 0.5) / 1000.0,
           pct(lat, (size_t)count, 0.99) / 1000.0);
    if (c0 && c1 >= c0)
        printf(" srv_cpu_us_per_op=%.2f", (double)(c1 - c0) / 1000.0 / (double)count);
    printf("\n");
    status = 0;
out:
    free(lat);
    teardown(&s);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);
    return status;
}
