/* Transparency log benchmark driver (bench/tlog.sh, docs/PERFORMANCE.md
 * "transparency log"):
 *
 *   tlog_bench gen DIR K
 *       K distinct signed release bundles DIR/b/0 .. DIR/b/K-1 (no fsync:
 *       input for the append benchmark), release key DIR/rel.key, .pub.
 *   tlog_bench prove LOGDIR N
 *       N inclusion proofs of random entries and N consistency proofs from
 *       a random older size to the whole tree, each a complete in-process
 *       `vitrum log prove` (vt_log_main: open, lock, O(log n) reads,
 *       format); prints the median and p99 in microseconds.
 *   tlog_bench verify BUNDLE RELPUB LOGPUB N
 *       BUNDLE is the output of `vitrum log prove --bundle` (manifest,
 *       payload, checkpoint, inclusion proof).  Three type-0x04 witnesses
 *       cosign its checkpoint; the bundle is rebuilt with the cosigned
 *       checkpoint, then N timed runs of vt_release_verify (release key +
 *       log key; as the engine's VerifyBundle, payload digest only, and with
 *       the payload) and of vt_note_verify of the cosigned checkpoint with
 *       the three witness keys (quorum counting input).  Medians in µs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlog/tlog.h"
#include "tlog_io.h"
#include "log_cmd.h"
#include "common/be.h"
#include "crypto/vt_crypto.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t n)
{
    qsort(t, n, sizeof(*t), cmp_d);
    printf("%s median_us %.1f p99_us %.1f n %zu\n", what, t[n / 2], t[(n * 99) / 100], n);
}

static uint64_t rnd64(void)
{
    static uint64_t s = 0x9e3779b97f4a7c15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

static int write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "we");
    if (!f || fwrite(p, 1, len, f) != len) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

static size_t put_section(uint8_t *out, uint8_t type, const void *v, size_t len)
{
    out[0] = type;
    vt_put_be32(out + 1, (uint32_t)len);
    memcpy(out + 5, v, len);
    return 5 + len;
}

static int cmd_gen(const char *dir, unsigned long k)
{
    char path[4096], text[1024], vk[512];
    vt_signer s;
    unsigned long i;

    snprintf(path, sizeof(path), "%s/b", dir);
    if ((mkdir(dir, 0755) != 0 && access(dir, W_OK) != 0) || mkdir(path, 0755) != 0) {
        perror(path);
        return 1;
    }
    if (vt_signer_generate(&s, "bench.example/release", VT_NOTE_TYPE_ED25519) != 0)
        return 1;
    snprintf(path, sizeof(path), "%s/rel.key", dir);
    if (vt_signer_save(&s, path) != 0)
        return 1;
    vt_note_key_format(&s.key, vk, sizeof(vk));
    strcat(vk, "\n");
    snprintf(path, sizeof(path), "%s/rel.pub", dir);
    if (write_file(path, vk, strlen(vk)) != 0)
        return 1;
    for (i = 0; i < k; i++) {
        uint8_t payload[64], digest[32], bundle[4096];
        char hex[65], *note;
        size_t nlen, plen, pos;
        int tl;
        plen = (size_t)snprintf((char *)payload, sizeof(payload), "bench payload %lu\n", i);
        vt_hash(TPM2_ALG_SHA256, payload, plen, digest);
        vt_hex_encode(digest, 32, hex);
        tl = snprintf(text, sizeof(text),
                      "vitrum-release/v1\nname bench\nversion 1.%lu\nsvn %lu\nsize %zu\n"
                      "sha256 %s\nbuild bench/tlog_bench.c\n",
                      i, i, plen, hex);
        if (vt_note_sign(text, (size_t)tl, &s, 1, 0, &note, &nlen) != 0)
            return 1;
        memcpy(bundle, VT_BUNDLE_MAGIC, VT_BUNDLE_MAGIC_LEN);
        pos = VT_BUNDLE_MAGIC_LEN;
        pos += put_section(bundle + pos, VT_BUNDLE_MANIFEST, note, nlen);
        pos += put_section(bundle + pos, VT_BUNDLE_PAYLOAD, payload, plen);
        free(note);
        snprintf(path, sizeof(path), "%s/b/%lu", dir, i);
        if (write_file(path, bundle, pos) != 0)
            return 1;
    }
    vt_signer_wipe(&s);
    return 0;
}

/* Run `vitrum log ARGS` in-process with stdout discarded; its time in µs. */
static double log_call(int argc, char **argv)
{
    double t0 = now_us();
    int rc;
    optind = 0; /* a fresh getopt scan */
    rc = vt_log_main(argc, argv);
    fflush(stdout);
    if (rc != 0) {
        fprintf(stderr, "tlog_bench: vitrum log %s failed (%d)\n", argv[1], rc);
        exit(1);
    }
    return now_us() - t0;
}

static uint64_t tree_size(const char *dir)
{
    char path[4096], buf[256];
    unsigned long long size = 0, end;
    FILE *f;
    snprintf(path, sizeof(path), "%s/tree", dir);
    f = fopen(path, "re");
    if (!f || fread(buf, 1, sizeof(buf) - 1, f) == 0) {
        perror(path);
        exit(1);
    }
    fclose(f);
    buf[sizeof(buf) - 1] = 0;
    if (sscanf(buf, "vitrum-log-tree/v1\nsize %llu\ndata %llu\n", &size, &end) != 2)
        exit(1);
    return size;
}

static int cmd_prove(char *dir, unsigned long n)
{
    uint64_t size = tree_size(dir);
    double *ti = calloc(n, sizeof(double)), *tc = calloc(n, sizeof(double));
    int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    unsigned long i;
    char a[32], b[32];

    if (!ti || !tc || saved < 0 || null < 0 || size < 2)
        return 1;
    fflush(stdout);
    dup2(null, STDOUT_FILENO);
    for (i = 0; i < n; i++) {
        char *iv[] = { "log", "prove", dir, "--index", a, NULL };
        char *cv[] = { "log", "prove", dir, "--consistency", a, b, NULL };
        snprintf(a, sizeof(a), "%llu", (unsigned long long)(rnd64() % size));
        ti[i] = log_call(5, iv);
        snprintf(a, sizeof(a), "%llu", (unsigned long long)(1 + rnd64() % (size - 1)));
        snprintf(b, sizeof(b), "%llu", (unsigned long long)size);
        tc[i] = log_call(6, cv);
    }
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    printf("tree_size %llu\n", (unsigned long long)size);
    report("prove_inclusion", ti, n);
    report("prove_consistency", tc, n);
    free(ti);
    free(tc);
    return 0;
}

static int cmd_verify(const char *bpath, const char *relpub, const char *logpub, unsigned long n)
{
    uint8_t *buf, *nb;
    size_t blen, pos, i, cplen;
    char *cp = NULL, *next;
    vt_note_key rel, logk, wk[3];
    vt_signer w[3];
    vt_bundle b;
    vt_note note;
    vt_manifest m;
    vt_release_policy p;
    double *t = calloc(n, sizeof(double));
    unsigned long r;
    uint32_t verified;
    uint64_t times[3];

    if (!t || vt_io_read(bpath, &buf, &blen, 1u << 26) != 0 || vt_vkey_load(&rel, relpub) != 0 ||
        vt_vkey_load(&logk, logpub) != 0 || vt_bundle_parse(&b, buf, blen) != VT_TLOG_OK ||
        !b.checkpoint || !b.have_inclusion) {
        fprintf(stderr, "tlog_bench: %s: need a bundle from vitrum log prove --bundle\n", bpath);
        exit(1);
    }
    /* three witnesses cosign the checkpoint */
    cplen = b.checkpoint_len;
    cp = malloc(cplen);
    if (!cp)
        exit(1);
    memcpy(cp, b.checkpoint, cplen);
    for (i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "bench.example/witness%zu", i);
        if (vt_signer_generate(&w[i], name, VT_NOTE_TYPE_COSIG_V1) != 0 ||
            vt_note_parse(&note, cp, cplen) != VT_TLOG_OK ||
            vt_note_cosign(cp, cplen, &note, &w[i], (uint64_t)time(NULL), &next, &cplen) != 0)
            exit(1);
        free(cp);
        cp = next;
        wk[i] = w[i].key;
    }
    /* the bundle again, with the cosigned checkpoint */
    nb = malloc(blen + cplen + 64);
    if (!nb)
        exit(1);
    memcpy(nb, VT_BUNDLE_MAGIC, VT_BUNDLE_MAGIC_LEN);
    pos = VT_BUNDLE_MAGIC_LEN;
    pos += put_section(nb + pos, VT_BUNDLE_MANIFEST, b.manifest, b.manifest_len);
    pos += put_section(nb + pos, VT_BUNDLE_PAYLOAD, b.payload, b.payload_len);
    pos += put_section(nb + pos, VT_BUNDLE_CHECKPOINT, cp, cplen);
    nb[pos] = VT_BUNDLE_INCLUSION;
    vt_put_be32(nb + pos + 1, (uint32_t)(8 + 32 * b.proof_n));
    vt_put_be64(nb + pos + 5, b.leaf_index);
    memcpy(nb + pos + 13, b.proof, 32 * b.proof_n);
    pos += 13 + 32 * b.proof_n;

    memset(&p, 0, sizeof(p));
    p.release_keys = &rel;
    p.nrelease = 1;
    p.log_key = &logk;
    printf("proof_hashes %zu leaf_index %llu checkpoint_sigs 4\n", b.proof_n,
           (unsigned long long)b.leaf_index);
    /* as VerifyBundle: the payload is not in the command (its digest is
     * compared by the caller) */
    p.manifest_only = true;
    for (r = 0; r < n; r++) {
        double t0 = now_us();
        vt_tlog_rc rc = vt_release_verify(nb, pos, &p, &m);
        t[r] = now_us() - t0;
        if (rc != VT_TLOG_OK) {
            fprintf(stderr, "tlog_bench: vt_release_verify: %s\n", vt_tlog_strerror(rc));
            exit(1);
        }
    }
    report("release_verify_manifest_only", t, n);
    p.manifest_only = false;
    for (r = 0; r < n; r++) {
        double t0 = now_us();
        vt_tlog_rc rc = vt_release_verify(nb, pos, &p, &m);
        t[r] = now_us() - t0;
        if (rc != VT_TLOG_OK)
            exit(1);
    }
    report("release_verify_with_payload", t, n);
    for (r = 0; r < n; r++) {
        double t0 = now_us();
        vt_tlog_rc rc = vt_note_parse(&note, cp, cplen);
        if (rc == VT_TLOG_OK)
            rc = vt_note_verify(&note, wk, 3, &verified, times);
        t[r] = now_us() - t0;
        if (rc != VT_TLOG_OK || verified != 7) {
            fprintf(stderr, "tlog_bench: cosignatures: %s\n", vt_tlog_strerror(rc));
            exit(1);
        }
    }
    report("cosigned_checkpoint_verify_3_witnesses", t, n);
    /* the whole check a TPM does: bundle + quorum */
    p.manifest_only = true;
    for (r = 0; r < n; r++) {
        double t0 = now_us();
        vt_tlog_rc rc = vt_release_verify(nb, pos, &p, &m);
        if (rc == VT_TLOG_OK)
            rc = vt_note_parse(&note, cp, cplen);
        if (rc == VT_TLOG_OK)
            rc = vt_note_verify(&note, wk, 3, &verified, times);
        t[r] = now_us() - t0;
        if (rc != VT_TLOG_OK)
            exit(1);
    }
    report("bundle_plus_quorum", t, n);
    for (i = 0; i < 3; i++)
        vt_signer_wipe(&w[i]);
    free(t);
    free(cp);
    free(nb);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp(argv[1], "gen"))
        return cmd_gen(argv[2], strtoul(argv[3], NULL, 10));
    if (argc == 4 && !strcmp(argv[1], "prove"))
        return cmd_prove(argv[2], strtoul(argv[3], NULL, 10));
    if (argc == 6 && !strcmp(argv[1], "verify"))
        return cmd_verify(argv[2], argv[3], argv[4], strtoul(argv[5], NULL, 10));
    fprintf(stderr, "usage: tlog_bench gen DIR K | prove LOGDIR N | "
                    "verify BUNDLE RELPUB LOGPUB N\n");
    return 2;
}
