/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcti_bench: time N Esys_GetRandom(32) calls through a real tpm2-tss TCTI
 * ("mssim:host=...,port=P" or "swtpm:host=...,port=P"), the path tpm2-tools
 * and every ESAPI program takes.  tcti-mssim sends the mssim header and the
 * command in separate writes without TCP_NODELAY, so a server that does not
 * defeat the Nagle / delayed-ACK interaction shows ~40 ms round trips here
 * while bench.c (one write, TCP_NODELAY) looks fine.
 *
 * usage: tcti_bench TCTI_CONF [COUNT [WARMUP [LABEL]]]
 * prints: label=... proto=tcti op=esys_getrandom count=N ops_s=... median_us=... p99_us=...
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

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

static int getrandom_once(ESYS_CONTEXT *esys)
{
    TPM2B_DIGEST *rnd = NULL;
    TSS2_RC rc = Esys_GetRandom(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 32, &rnd);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "tcti_bench: error: Esys_GetRandom: %s\n", Tss2_RC_Decode(rc));
        return -1;
    }
    Esys_Free(rnd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: tcti_bench TCTI_CONF [COUNT [WARMUP [LABEL]]]\n");
        return 2;
    }
    const char *conf = argv[1];
    long count = argc > 2 ? atol(argv[2]) : 200;
    long warmup = argc > 3 ? atol(argv[3]) : 10;
    const char *label = argc > 4 ? argv[4] : conf;
    if (count < 1 || warmup < 0) {
        fprintf(stderr, "tcti_bench: error: bad count/warmup\n");
        return 2;
    }

    TSS2_TCTI_CONTEXT *tcti = NULL;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &tcti);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "tcti_bench: error: TCTI '%s': %s\n", conf, Tss2_RC_Decode(rc));
        return 1;
    }
    ESYS_CONTEXT *esys = NULL;
    rc = Esys_Initialize(&esys, tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        fprintf(stderr, "tcti_bench: error: Esys_Initialize: %s\n", Tss2_RC_Decode(rc));
        return 1;
    }
    rc = Esys_Startup(esys, TPM2_SU_CLEAR);
    if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
        fprintf(stderr, "tcti_bench: error: Esys_Startup: %s\n", Tss2_RC_Decode(rc));
        return 1;
    }

    for (long i = 0; i < warmup; i++)
        if (getrandom_once(esys) != 0)
            return 1;

    uint64_t *lat = calloc((size_t)count, sizeof *lat);
    if (!lat)
        return 1;
    uint64_t t0 = now_ns();
    for (long i = 0; i < count; i++) {
        uint64_t a = now_ns();
        if (getrandom_once(esys) != 0)
            return 1;
        lat[i] = now_ns() - a;
    }
    uint64_t t1 = now_ns();
    qsort(lat, (size_t)count, sizeof *lat, cmp_u64);
    printf("label=%s proto=tcti op=esys_getrandom count=%ld ops_s=%.1f "
           "median_us=%.2f p99_us=%.2f\n",
           label, count, (double)count * 1e9 / (double)(t1 - t0),
           pct(lat, (size_t)count, 0.5) / 1000.0, pct(lat, (size_t)count, 0.99) / 1000.0);
    free(lat);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);
    return 0;
}
