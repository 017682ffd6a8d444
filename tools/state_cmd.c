/* `vitrum state check|export|import` (docs/FORMAT.md, "Export container").
 *
 * All three read a state directory only through the store, and let the
 * engine validate the state blob (vt_engine_new on a platform whose commits
 * go nowhere), so a check never changes a byte of what it checks. */
#define _GNU_SOURCE
#include "state_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "vitrum/engine.h"
#include "store/seal.h"
#include "store/store.h"
#include "common/be.h"

#define BLOB_CAP (1u << 24)
#define EX_MAGIC "VTEX"
#define EX_VERSION 1u
#define EX_HDR_SIZE 120u
#define EX_PLAIN 0u
#define EX_RAW_KEY 1u
#define EX_PASSPHRASE 2u
#define DIGEST_SIZE 32u

static const char usage_state[] =
    "Usage: vitrum state check DIR [--key SPEC]\n"
    "       vitrum state export DIR FILE [--key SPEC] [--export-key SPEC]\n"
    "       vitrum state import FILE DIR [--key SPEC] [--export-key SPEC]\n"
    "\n"
    "check   verify both slots of the state directory DIR and the state in them,\n"
    "        and print a summary; changes nothing\n"
    "export  write the TPM in DIR to FILE, one portable file: sealed with the\n"
    "        export key if given, else with the state key, else plain with a\n"
    "        SHA-256 (for backups and moving a TPM to another machine)\n"
    "import  create the state directory DIR (which must be missing or empty)\n"
    "        from FILE; the TPM keeps its id, seeds and state.  The new\n"
    "        directory is sealed with --key if given\n"
    "\n"
    "Options:\n"
    "  --key SPEC         the state directory's key (as for vitrum serve)\n"
    "  --export-key SPEC  the key of the export file, if not the state key\n"
    "\n"
    "SPEC is FILE (32 raw bytes, 64 hex characters or a passphrase), fd:N or\n"
    "env:NAME.  The exit status is 0 on success, 1 when the state or file is\n"
    "refused (with a one-line reason), 2 on a usage error.\n";

/* ---- a platform that reads one blob and writes nothing ---- */

typedef struct {
    const uint8_t *blob;
    size_t len;
    vt_store *store; /* its journal is replayed over blob; may be NULL */
} ro_ctx;

static long ro_replay(void *ctx, int (*apply)(void *actx, const uint8_t *rec, size_t len), void *actx)
{
    ro_ctx *r = ctx;
    return r->store ? vt_store_replay(r->store, apply, actx) : 0;
}

static int ro_entropy(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return vt_seal_random(buf, len);
}

static uint64_t ro_monotonic_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long ro_load(void *ctx, uint8_t *buf, size_t cap)
{
    ro_ctx *r = ctx;
    if (r->len > cap)
        return -1;
    memcpy(buf, r->blob, r->len);
    return (long)r->len;
}

static int ro_commit(void *ctx, const uint8_t *blob, size_t len)
{
    (void)ctx;
    (void)blob;
    (void)len;
    return -1;
}

/* Does the engine accept this blob?  VT_OK or why not; with info, what it
 * says about itself.  The engine is made with the largest NV, so a state
 * from a TPM with any --nv-size loads. */
static vt_status engine_validate(const uint8_t *blob, size_t len, vt_store *store, vt_engine_info *info)
{
    ro_ctx r = { blob, len, store };
    vt_platform p = { &r, ro_entropy, ro_monotonic_ms, ro_load, ro_commit, NULL, ro_replay };
    vt_engine_config cfg = { .nv_size = VT_NV_SIZE_LIMIT };
    vt_engine *e = NULL;
    vt_status st;

    if (len == 0)
        return VT_ERR_STATE_CORRUPT;
    st = vt_engine_new_ex(&p, &cfg, &e);
    if (st == VT_OK) {
        if (info)
            vt_engine_get_info(e, info);
        vt_engine_free(e);
    }
    return st;
}

/* ---- state directory access ---- */

static bool dir_exists(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Open DIR with its key and load its blob into *blob (malloc'd).  Returns
 * the blob length, or -1 after printing why. */
static long load_dir(vt_store *s, const char *dir, const char *key, uint8_t **blob)
{
    long n;

    *blob = NULL;
    if (!dir_exists(dir)) {
        fprintf(stderr, "vitrum: no state directory %s\n", dir);
        return -1;
    }
    if (vt_store_open(s, dir) != 0) {
        fprintf(stderr, "vitrum: %s\n", s->err);
        return -1;
    }
    if (key && vt_store_set_key(s, key) != 0) {
        fprintf(stderr, "vitrum: %s\n", s->err);
        return -1;
    }
    *blob = malloc(BLOB_CAP);
    if (!*blob) {
        fprintf(stderr, "vitrum: out of memory\n");
        return -1;
    }
    n = vt_store_load(s, *blob, BLOB_CAP);
    if (n < 0) {
        fprintf(stderr, "vitrum: %s\n", s->err);
        return -1;
    }
    if (n == 0) {
        fprintf(stderr, "vitrum: %s holds no TPM state\n", dir);
        return -1;
    }
    return n;
}

static void free_blob(uint8_t *blob)
{
    if (blob)
        vt_seal_wipe(blob, BLOB_CAP);
    free(blob);
}

/* ---- check ---- */

static void print_engine_info(const vt_engine_info *in)
{
    static const char *bank[4] = { "sha1", "sha256", "sha384", "sha512" };
    unsigned i;

    printf("  clock %llu ms (%s), reset count %u, restart count %u\n", (unsigned long long)in->clock,
           in->clock_safe ? "safe" : "not safe", in->reset_count, in->restart_count);
    printf("  PCR banks:");
    for (i = 0; i < 4; i++)
        if (in->pcr_banks & (1u << i))
            printf(" %s", bank[i]);
    if (in->pcr_banks_pending != in->pcr_banks) {
        printf(" (after the next TPM Reset:");
        for (i = 0; i < 4; i++)
            if (in->pcr_banks_pending & (1u << i))
                printf(" %s", bank[i]);
        printf(")");
    }
    printf("\n  NV: %u indices, %zu of %zu octets used\n", in->nv_indices, in->nv_used, in->nv_size);
}

static int state_check(const char *dir, const char *key)
{
    vt_store s;
    uint8_t *blob;
    char id[2 * VT_TPM_ID_SIZE + 1];
    long n = load_dir(&s, dir, key, &blob);
    vt_status st;
    vt_engine_info info;
    int i, rc = 1;

    if (n < 0)
        goto out;
    st = engine_validate(blob, (size_t)n, &s, &info);
    if (st != VT_OK) {
        fprintf(stderr, "vitrum: the state in %s is refused by the engine: %s\n", dir, vt_status_str(st));
        goto out;
    }
    vt_hex_encode(s.id, VT_TPM_ID_SIZE, id);
    printf("%s: valid TPM state\n", dir);
    printf("  TPM id %s\n", s.have_id ? id : "(none yet: slot format 1)");
    if (s.key && s.key->from_passphrase)
        printf("  encrypted: AES-256-GCM, key from a passphrase (scrypt N=2^%u r=%u p=%u)\n",
               s.kdf.log2_n, s.kdf.r, s.kdf.p);
    else
        printf("  %s\n", s.key ? "encrypted: AES-256-GCM, raw key" : "not encrypted (SHA-256 integrity only)");
    for (i = 0; i < 2; i++) {
        const vt_slot_info *si = &s.slot[i];
        if (si->status == VT_SLOT_MISSING) {
            printf("  state.%d: missing\n", i);
            continue;
        }
        printf("  state.%d: %s, slot format %u, sequence %llu, %llu bytes%s\n", i,
               vt_slot_status_str(si->status), si->version, (unsigned long long)si->seq,
               (unsigned long long)si->file_size, i == s.newest ? " (newest)" : "");
    }
    printf("  engine state: format %u, %ld bytes, accepted by the engine\n", (unsigned)vt_get_be(blob + 4, 8), n);
    print_engine_info(&info);
    if (s.warn[0])
        printf("  warning: %s\n", s.warn);
    rc = 0;
out:
    free_blob(blob);
    vt_store_close(&s);
    return rc;
}

/* ---- export container ---- */

/* A key for the export file from SPEC; a passphrase uses kp (new salt when
 * sealing, the file's when opening). */
static vt_seal_key *export_key(const char *spec, vt_kdf_params *kp, bool fresh_salt, bool *passphrase)
{
    vt_key_material *m;
    vt_seal_key *k = NULL;
    char err[512];

    if (vt_key_material_read(spec, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum: %s\n", err);
        return NULL;
    }
    *passphrase = m->passphrase;
    if (m->passphrase && fresh_salt && vt_kdf_params_new(kp) != 0) {
        fprintf(stderr, "vitrum: no entropy\n");
    } else if (vt_seal_key_new(m, m->passphrase ? kp : NULL, &k, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum: %s\n", err);
        k = NULL;
    }
    vt_key_material_free(m);
    return k;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t done = 0;

    if (fd < 0) {
        fprintf(stderr, "vitrum: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (done != n || fsync(fd) != 0) {
        fprintf(stderr, "vitrum: cannot write %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

static int state_export(const char *dir, const char *file, const char *key, const char *ekey)
{
    vt_store s;
    uint8_t *blob = NULL, *out = NULL, *snap = NULL;
    long n = load_dir(&s, dir, key, &blob);
    const char *spec = ekey ? ekey : key;
    vt_seal_key *k = NULL;
    vt_kdf_params kp;
    bool pass = false;
    size_t len, total = 0;
    vt_status st;
    int rc = 1;

    memset(&kp, 0, sizeof(kp));
    if (n < 0)
        goto out;
    st = engine_validate(blob, (size_t)n, &s, NULL);
    if (st != VT_OK) {
        fprintf(stderr, "vitrum: the state in %s is refused by the engine: %s\n", dir, vt_status_str(st));
        goto out;
    }
    /* The engine's own snapshot: the full state as it holds it, the
     * journal replayed. */
    {
        ro_ctx r = { blob, (size_t)n, &s };
        vt_platform p = { &r, ro_entropy, ro_monotonic_ms, ro_load, ro_commit, NULL, ro_replay };
        vt_engine_config cfg = { .nv_size = VT_NV_SIZE_LIMIT };
        vt_engine *e = NULL;
        snap = malloc(BLOB_CAP);
        if (!snap || vt_engine_new_ex(&p, &cfg, &e) != VT_OK) {
            fprintf(stderr, "vitrum: cannot load the TPM in %s\n", dir);
            goto out;
        }
        len = vt_engine_snapshot(e, snap, BLOB_CAP);
        vt_engine_free(e);
        if (len == 0) {
            fprintf(stderr, "vitrum: cannot snapshot the TPM in %s\n", dir);
            goto out;
        }
    }
    if (spec && !(k = export_key(spec, &kp, true, &pass)))
        goto out;
    total = EX_HDR_SIZE + len + (k ? VT_SEAL_TAG_SIZE : DIGEST_SIZE);
    out = calloc(1, total);
    if (!out) {
        fprintf(stderr, "vitrum: out of memory\n");
        goto out;
    }
    memcpy(out, EX_MAGIC, 4);
    vt_put_be(out + 4, EX_VERSION, 2);
    out[6] = (uint8_t)(!k ? EX_PLAIN : pass ? EX_PASSPHRASE : EX_RAW_KEY);
    memcpy(out + 8, s.id, VT_TPM_ID_SIZE);
    vt_put_be(out + 24, s.seq, 8);
    vt_put_be(out + 32, len, 4);
    if (k) {
        if (pass)
            vt_kdf_params_encode(&kp, out + 56);
        if (vt_seal_random(out + 36, VT_SEAL_NONCE_SIZE) != 0 ||
            vt_seal_key_check(k, out + 8, VT_TPM_ID_SIZE, out + 48) != 0 ||
            vt_seal(k->enc, out + 36, out, EX_HDR_SIZE, snap, len, out + EX_HDR_SIZE, out + EX_HDR_SIZE + len) != 0) {
            fprintf(stderr, "vitrum: cannot seal the export\n");
            goto out;
        }
    } else {
        memcpy(out + EX_HDR_SIZE, snap, len);
        EVP_Digest(out, EX_HDR_SIZE + len, out + EX_HDR_SIZE + len, NULL, EVP_sha256(), NULL);
    }
    if (write_file(file, out, total) != 0)
        goto out;
    printf("exported the TPM in %s to %s (%s)\n", dir, file,
           !k ? "not encrypted, SHA-256" : pass ? "AES-256-GCM, passphrase" : "AES-256-GCM, raw key");
    rc = 0;
out:
    if (out)
        vt_seal_wipe(out, total);
    free(out);
    free_blob(snap);
    free_blob(blob);
    vt_seal_key_free(k);
    vt_store_close(&s);
    return rc;
}

/* Read and open an export file: the blob into *blob, the TPM id into id. */
static long open_export(const char *file, const char *spec, uint8_t **blob, uint8_t id[VT_TPM_ID_SIZE])
{
    uint8_t *f = NULL, d[DIGEST_SIZE], kc[VT_SEAL_CHECK_SIZE];
    size_t size = 0, len, cap = EX_HDR_SIZE + BLOB_CAP + DIGEST_SIZE;
    vt_seal_key *k = NULL;
    vt_kdf_params kp;
    bool pass = false;
    long rc = -1;
    unsigned prot;
    int fd = open(file, O_RDONLY | O_CLOEXEC);

    *blob = NULL;
    if (fd < 0) {
        fprintf(stderr, "vitrum: cannot open %s: %s\n", file, strerror(errno));
        return -1;
    }
    f = malloc(cap);
    if (!f) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, f + size, cap - size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size += (size_t)r;
    }
    close(fd);
    if (size < EX_HDR_SIZE || memcmp(f, EX_MAGIC, 4) != 0) {
        fprintf(stderr, "vitrum: %s is not a vitrum export\n", file);
        goto out;
    }
    if (vt_get_be(f + 4, 2) != EX_VERSION) {
        fprintf(stderr, "vitrum: %s has export format version %u, this vitrum reads %u\n", file,
                (unsigned)vt_get_be(f + 4, 2), EX_VERSION);
        goto out;
    }
    prot = f[6];
    len = (size_t)vt_get_be(f + 32, 4);
    if (prot > EX_PASSPHRASE || f[7] != 0 || len > BLOB_CAP ||
        EX_HDR_SIZE + len + (prot ? VT_SEAL_TAG_SIZE : DIGEST_SIZE) != size) {
        fprintf(stderr, "vitrum: %s is truncated or damaged\n", file);
        goto out;
    }
    *blob = malloc(len ? len : 1);
    if (!*blob)
        goto out;
    if (prot == EX_PLAIN) {
        EVP_Digest(f, EX_HDR_SIZE + len, d, NULL, EVP_sha256(), NULL);
        if (CRYPTO_memcmp(d, f + EX_HDR_SIZE + len, DIGEST_SIZE) != 0) {
            fprintf(stderr, "vitrum: %s is damaged or modified (SHA-256 mismatch)\n", file);
            goto out;
        }
        memcpy(*blob, f + EX_HDR_SIZE, len);
    } else {
        if (!spec) {
            fprintf(stderr, "vitrum: %s is encrypted: give its key with --export-key (or --key)\n", file);
            goto out;
        }
        if (prot == EX_PASSPHRASE && vt_kdf_params_decode(&kp, f + 56) != 0) {
            fprintf(stderr, "vitrum: %s is damaged (its passphrase parameters)\n", file);
            goto out;
        }
        if (!(k = export_key(spec, &kp, false, &pass)))
            goto out;
        if (pass != (prot == EX_PASSPHRASE)) {
            fprintf(stderr, "vitrum: %s was sealed with a %s, but the key given is a %s\n", file,
                    prot == EX_PASSPHRASE ? "passphrase" : "raw key", pass ? "passphrase" : "raw key");
            goto out;
        }
        if (vt_seal_key_check(k, f + 8, VT_TPM_ID_SIZE, kc) != 0 || CRYPTO_memcmp(kc, f + 48, sizeof(kc)) != 0) {
            fprintf(stderr, "vitrum: wrong key for the export %s\n", file);
            goto out;
        }
        if (vt_unseal(k->enc, f + 36, f, EX_HDR_SIZE, f + EX_HDR_SIZE, len, *blob, f + EX_HDR_SIZE + len) != 0) {
            fprintf(stderr, "vitrum: %s is damaged or modified (authentication failed)\n", file);
            goto out;
        }
    }
    memcpy(id, f + 8, VT_TPM_ID_SIZE);
    rc = (long)len;
out:
    if (rc < 0) {
        free(*blob);
        *blob = NULL;
    }
    vt_seal_key_free(k);
    vt_seal_wipe(f, size);
    free(f);
    return rc;
}

/* Missing, or an empty directory. */
static int dir_usable_for_import(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return errno == ENOENT ? 0 : -1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n == 0 ? 0 : -1;
}

static int state_import(const char *file, const char *dir, const char *key, const char *ekey)
{
    uint8_t *blob = NULL, id[VT_TPM_ID_SIZE];
    long n;
    vt_store s;
    vt_status st;
    char hex[2 * VT_TPM_ID_SIZE + 1];
    int rc = 1;

    s.dir_fd = s.lock_fd = s.slot_fd[0] = s.slot_fd[1] = s.journal_fd = -1;
    s.key = NULL;
    if (dir_usable_for_import(dir) != 0) {
        fprintf(stderr, "vitrum: %s is not empty (import creates a new state directory)\n", dir);
        return 1;
    }
    n = open_export(file, ekey ? ekey : key, &blob, id);
    if (n < 0)
        return 1;
    st = engine_validate(blob, (size_t)n, NULL, NULL);
    if (st != VT_OK) {
        fprintf(stderr, "vitrum: the state in %s is refused by the engine: %s\n", file, vt_status_str(st));
        goto out;
    }
    if (vt_store_open(&s, dir) != 0 || (key && vt_store_set_key(&s, key) != 0)) {
        fprintf(stderr, "vitrum: %s\n", s.err);
        goto out;
    }
    vt_store_set_id(&s, id);
    if (vt_store_commit(&s, blob, (size_t)n) != 0) {
        fprintf(stderr, "vitrum: %s\n", s.err);
        goto out;
    }
    vt_hex_encode(id, VT_TPM_ID_SIZE, hex);
    printf("imported TPM %s from %s into %s (%s)\n", hex, file, dir, key ? "encrypted" : "not encrypted");
    rc = 0;
out:
    if (blob)
        vt_seal_wipe(blob, (size_t)(n > 0 ? n : 0));
    free(blob);
    vt_store_close(&s);
    return rc;
}

int vt_state_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "export-key", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *key = NULL, *ekey = NULL, *sub;
    int c, npos;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_state, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    sub = argv[1];
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 'e': ekey = optarg; break;
        case 'h': fputs(usage_state, stdout); return 0;
        default: fputs(usage_state, stderr); return 2;
        }
    }
    npos = argc - 1 - optind;
    argv += 1 + optind;
    if (!strcmp(sub, "check") && npos == 1 && !ekey)
        return state_check(argv[0], key);
    if (!strcmp(sub, "export") && npos == 2)
        return state_export(argv[0], argv[1], key, ekey);
    if (!strcmp(sub, "import") && npos == 2)
        return state_import(argv[0], argv[1], key, ekey);
    fprintf(stderr, "vitrum: usage: vitrum state check|export|import ... (see vitrum state --help)\n");
    return 2;
}
