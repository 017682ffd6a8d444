#define _GNU_SOURCE
#include "store/store.h"
#include "store/journal_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "common/be.h"

#define LOCK_FILE "lock"
#define SLOT_MAGIC "VTSB"
#define KDF_FILE "kdf"
#define SLOT_MAGIC "VTSB"
#define SLOT_VERSION 2u
#define V1_HDR_SIZE 20u     /* slot format 1: magic, version, 0, seq, len */
#define HDR_SIZE 72u        /* slot format 2, docs/FORMAT.md */
#define HDR_CHECKED 56u     /* the header bytes its check value covers */
#define HDR_CHECK_SIZE 16u
#define DIGEST_SIZE 32u
#define MAX_BLOB (1u << 24)
#define MAX_FRAME (HDR_SIZE + MAX_BLOB + DIGEST_SIZE)
#define FLAG_ENCRYPTED 0x01u
#define FLAG_PASSPHRASE 0x02u

static const char *slot_name[2] = { "state.0", "state.1" };

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

int vt_store_open(vt_store *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    s->dir_fd = s->lock_fd = s->slot_fd[0] = s->slot_fd[1] = s->journal_fd = -1;
    s->newest = -1;
    if (strlen(dir) >= sizeof(s->dir)) {
        snprintf(s->err, sizeof(s->err), "state directory path too long");
        return -1;
    }
    strcpy(s->dir, dir);
    if (mkdir_p(dir) != 0) {
        snprintf(s->err, sizeof(s->err), "cannot create state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        snprintf(s->err, sizeof(s->err), "cannot open state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    s->lock_fd = openat(s->dir_fd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(s->err, sizeof(s->err), "cannot write in state directory %s: %s", dir, strerror(errno));
        vt_store_close(s);
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(s->err, sizeof(s->err), "state directory %s is in use by another vitrum", dir);
        vt_store_close(s);
        return -1;
    }
    /* Keep the slots open: commits after the sandbox is entered cannot
     * open files. */
    for (int i = 0; i < 2; i++) {
        s->slot_fd[i] = openat(s->dir_fd, slot_name[i], O_RDWR | O_CLOEXEC);
        if (s->slot_fd[i] < 0 && errno != ENOENT) {
            snprintf(s->err, sizeof(s->err), "cannot open %s/%s: %s", dir, slot_name[i], strerror(errno));
            vt_store_close(s);
            return -1;
        }
    }
    if (vt_journal_open(s) != 0) {
        vt_store_close(s);
        return -1;
    }
    return 0;
}

void vt_store_close(vt_store *s)
{
    int i;
    vt_seal_key_free(s->key);
    s->key = NULL;
    for (i = 0; i < 2; i++)
        if (s->slot_fd[i] >= 0)
            close(s->slot_fd[i]);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    if (s->journal_fd >= 0)
        close(s->journal_fd);
    s->lock_fd = s->dir_fd = s->slot_fd[0] = s->slot_fd[1] = s->journal_fd = -1;
}

const char *vt_slot_status_str(vt_slot_status st)
{
    switch (st) {
    case VT_SLOT_MISSING: return "missing";
    case VT_SLOT_OK: return "valid";
    case VT_SLOT_SHORT: return "truncated (shorter than a slot header)";
    case VT_SLOT_FOREIGN: return "not vitrum state";
    case VT_SLOT_VERSION: return "of an unknown slot format version";
    case VT_SLOT_HEADER_BAD: return "modified (its header fails its check)";
    case VT_SLOT_TRUNCATED: return "truncated";
    case VT_SLOT_BODY_BAD: return "damaged or modified (fails authentication)";
    case VT_SLOT_UNREAD: return "not opened";
    }
    return "?";
}

int vt_store_set_key(vt_store *s, const char *spec)
{
    vt_key_material *m = NULL;
    uint8_t rec[VT_KDF_RECORD_SIZE];
    int rc = -1;

    if (vt_key_material_read(spec, &m, s->err, sizeof(s->err)) != 0)
        return -1;
    s->kdf_pending = false;
    if (m->passphrase) {
        int fd = openat(s->dir_fd, KDF_FILE, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, rec, sizeof(rec));
            close(fd);
            if (n != (ssize_t)sizeof(rec) || vt_kdf_params_decode(&s->kdf, rec) != 0) {
                snprintf(s->err, sizeof(s->err), "%s/%s (the passphrase's salt and scrypt parameters) is damaged",
                         s->dir, KDF_FILE);
                goto out;
            }
        } else if (errno == ENOENT) {
            if (vt_kdf_params_new(&s->kdf) != 0) {
                snprintf(s->err, sizeof(s->err), "no entropy for the passphrase's salt");
                goto out;
            }
            s->kdf_pending = true; /* written with the first state, if this is a new TPM */
        } else {
            snprintf(s->err, sizeof(s->err), "cannot read %s/%s: %s", s->dir, KDF_FILE, strerror(errno));
            goto out;
        }
    }
    vt_seal_key_free(s->key);
    s->key = NULL;
    rc = vt_seal_key_new(m, m->passphrase ? &s->kdf : NULL, &s->key, s->err, sizeof(s->err));
out:
    vt_key_material_free(m);
    return rc;
}

void vt_store_set_id(vt_store *s, const uint8_t id[VT_TPM_ID_SIZE])
{
    memcpy(s->id, id, VT_TPM_ID_SIZE);
    s->have_id = true;
}

/* The header's check value: keyed when sealed, a plain digest otherwise. */
static int header_check(const vt_store *s, bool encrypted, const uint8_t *hdr, uint8_t out[HDR_CHECK_SIZE])
{
    uint8_t full[32];
    if (encrypted) {
        if (!s->key || vt_seal_hmac(s->key->mac, "vitrum slot header", hdr, HDR_CHECKED, full) != 0)
            return -1;
    } else if (!EVP_Digest(hdr, HDR_CHECKED, full, NULL, EVP_sha256(), NULL)) {
        return -1;
    }
    memcpy(out, full, HDR_CHECK_SIZE);
    return 0;
}

/* Read a whole slot file into *frame (malloc'd; NULL if missing). */
static int read_frame(vt_store *s, int i, uint8_t **frame, size_t *size, bool *missing)
{
    int fd = openat(s->dir_fd, slot_name[i], O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t total = 0;

    *frame = NULL;
    *size = 0;
    *missing = fd < 0 && errno == ENOENT;
    if (fd < 0) {
        if (!*missing)
            snprintf(s->err, sizeof(s->err), "cannot read %s/%s: %s", s->dir, slot_name[i], strerror(errno));
        return *missing ? 0 : -1;
    }
    if (fstat(fd, &st) != 0 || st.st_size < 0) {
        snprintf(s->err, sizeof(s->err), "cannot read %s/%s: %s", s->dir, slot_name[i], strerror(errno));
        close(fd);
        return -1;
    }
    /* A larger file is not a slot; reading its head is enough to say so. */
    *size = (size_t)st.st_size > MAX_FRAME ? MAX_FRAME : (size_t)st.st_size;
    *frame = malloc(*size ? *size : 1);
    if (!*frame) {
        snprintf(s->err, sizeof(s->err), "out of memory reading %s/%s", s->dir, slot_name[i]);
        close(fd);
        return -1;
    }
    while (total < *size) {
        ssize_t n = read(fd, *frame + total, *size - total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    close(fd);
    *size = total;
    return 0;
}

/* Classify one slot from its header: fills info, leaves status OK when the
 * header is intact and the payload remains to be checked. */
static void parse_header(const vt_store *s, const uint8_t *f, size_t size, vt_slot_info *info)
{
    uint8_t check[HDR_CHECK_SIZE];

    info->file_size = size;
    if (size < 6) {
        info->status = memcmp(f, SLOT_MAGIC, size < 4 ? size : 4) == 0 ? VT_SLOT_SHORT : VT_SLOT_FOREIGN;
        return;
    }
    if (memcmp(f, SLOT_MAGIC, 4) != 0) {
        info->status = VT_SLOT_FOREIGN;
        return;
    }
    info->version = (unsigned)vt_get_be(f + 4, 2);
    if (info->version == 1) {
        /* Before encryption at rest: plain, no TPM id; read for upgrade. */
        if (size < V1_HDR_SIZE) {
            info->status = VT_SLOT_SHORT;
            return;
        }
        info->seq = vt_get_be(f + 8, 8);
        info->len = (uint32_t)vt_get_be(f + 16, 4);
        info->status = V1_HDR_SIZE + (uint64_t)info->len + DIGEST_SIZE > size ? VT_SLOT_TRUNCATED : VT_SLOT_OK;
        return;
    }
    if (info->version != SLOT_VERSION) {
        info->status = VT_SLOT_VERSION;
        return;
    }
    if (size < HDR_SIZE) {
        info->status = VT_SLOT_SHORT;
        return;
    }
    info->encrypted = (f[6] & FLAG_ENCRYPTED) != 0;
    info->passphrase = (f[6] & FLAG_PASSPHRASE) != 0;
    memcpy(info->id, f + 8, VT_TPM_ID_SIZE);
    info->seq = vt_get_be(f + 24, 8);
    info->len = (uint32_t)vt_get_be(f + 32, 4);
    if ((f[6] & ~(FLAG_ENCRYPTED | FLAG_PASSPHRASE)) || f[7] != 0 ||
        (info->passphrase && !info->encrypted)) {
        info->status = VT_SLOT_HEADER_BAD;
        return;
    }
    if (info->encrypted) {
        uint8_t kc[VT_SEAL_CHECK_SIZE];
        if (!s->key) {
            info->status = VT_SLOT_UNREAD;
            return;
        }
        info->key_matches = vt_seal_key_check(s->key, info->id, VT_TPM_ID_SIZE, kc) == 0 &&
                            CRYPTO_memcmp(kc, f + 48, VT_SEAL_CHECK_SIZE) == 0;
        if (!info->key_matches) {
            info->status = VT_SLOT_UNREAD;
            return;
        }
    }
    if (header_check(s, info->encrypted, f, check) != 0 ||
        CRYPTO_memcmp(check, f + HDR_CHECKED, HDR_CHECK_SIZE) != 0) {
        info->status = VT_SLOT_HEADER_BAD;
        return;
    }
    if (info->len > MAX_BLOB ||
        HDR_SIZE + (uint64_t)info->len + (info->encrypted ? VT_SEAL_TAG_SIZE : DIGEST_SIZE) > size) {
        info->status = VT_SLOT_TRUNCATED;
        return;
    }
    info->status = VT_SLOT_OK;
}

/* Check the payload of a slot whose header is intact; on success the blob
 * is in out (info->len bytes). */
static void check_body(const vt_store *s, const uint8_t *f, vt_slot_info *info, uint8_t *out)
{
    uint8_t digest[DIGEST_SIZE];

    if (info->version == 1) {
        if (!EVP_Digest(f, V1_HDR_SIZE + info->len, digest, NULL, EVP_sha256(), NULL) ||
            CRYPTO_memcmp(digest, f + V1_HDR_SIZE + info->len, DIGEST_SIZE) != 0)
            info->status = VT_SLOT_BODY_BAD;
        else
            memcpy(out, f + V1_HDR_SIZE, info->len);
        return;
    }
    if (info->encrypted) {
        if (vt_unseal(s->key->enc, f + 36, f, HDR_SIZE, f + HDR_SIZE, info->len, out,
                      f + HDR_SIZE + info->len) != 0)
            info->status = VT_SLOT_BODY_BAD;
        return;
    }
    if (!EVP_Digest(f, HDR_SIZE + info->len, digest, NULL, EVP_sha256(), NULL) ||
        CRYPTO_memcmp(digest, f + HDR_SIZE + info->len, DIGEST_SIZE) != 0)
        info->status = VT_SLOT_BODY_BAD;
    else
        memcpy(out, f + HDR_SIZE, info->len);
}

/* Could slot d, found damaged next to the valid slot v, be what an
 * interrupted commit leaves?  A commit rewrites the older slot from offset 0
 * with sequence v+1 and never shrinks a file; its header (one sector) lands
 * whole or not at all. */
static bool interrupted_commit(const vt_slot_info *d, const vt_slot_info *v)
{
    switch (d->status) {
    case VT_SLOT_MISSING:
    case VT_SLOT_SHORT:
        return v->seq == 1; /* the very first commit creates state.1 after state.0 */
    case VT_SLOT_TRUNCATED: /* a growing frame cut short: its header is new */
        return d->seq == v->seq + 1;
    case VT_SLOT_BODY_BAD: /* new header and old body, or (power loss) the reverse */
        return d->seq == v->seq + 1 || d->seq + 1 == v->seq;
    default:
        return false;
    }
}

static int refuse(vt_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(vt_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return -1;
}

/* The rules that do not depend on which slot is newer.  0 or -1 (err). */
static int check_pair(vt_store *s, const vt_slot_info *in)
{
    bool hdr[2], any_enc = false, any_plain = false, any_pass = false, any_raw = false;
    int i, opened = 0, with_key = 0;

    for (i = 0; i < 2; i++) {
        /* a header we could read (intact or not yet checked) */
        hdr[i] = in[i].status == VT_SLOT_OK || in[i].status == VT_SLOT_TRUNCATED ||
                 in[i].status == VT_SLOT_BODY_BAD || in[i].status == VT_SLOT_UNREAD;
        if (!hdr[i])
            continue;
        opened++;
        any_enc |= in[i].encrypted;
        any_plain |= !in[i].encrypted;
        any_pass |= in[i].encrypted && in[i].passphrase;
        any_raw |= in[i].encrypted && !in[i].passphrase;
        with_key += in[i].key_matches;
    }
    if (opened == 2 && in[0].version == SLOT_VERSION && in[1].version == SLOT_VERSION &&
        memcmp(in[0].id, in[1].id, VT_TPM_ID_SIZE) != 0) {
        char a[2 * VT_TPM_ID_SIZE + 1], b[2 * VT_TPM_ID_SIZE + 1];
        vt_hex_encode(in[0].id, VT_TPM_ID_SIZE, a);
        vt_hex_encode(in[1].id, VT_TPM_ID_SIZE, b);
        return refuse(s, "state.0 and state.1 in %s belong to different TPMs (ids %s and %s): "
                         "a slot was copied from another TPM", s->dir, a, b);
    }
    if (any_enc && any_plain)
        return refuse(s, "state.0 and state.1 in %s disagree on encryption: a slot was replaced", s->dir);
    if (any_enc && !s->key)
        return refuse(s, "the state in %s is encrypted: give its key with --key", s->dir);
    if (any_plain && s->key)
        return refuse(s, "the state in %s is not encrypted, but a key was given "
                         "(drop --key, or export it and import it with a key)", s->dir);
    if (any_pass && any_raw)
        return refuse(s, "state.0 and state.1 in %s disagree on the kind of key: a slot was replaced", s->dir);
    if (any_enc && with_key == 0) {
        if (any_pass && !s->key->from_passphrase)
            return refuse(s, "the state in %s was sealed with a passphrase, but the key given is a raw key", s->dir);
        if (any_raw && s->key->from_passphrase)
            return refuse(s, "the state in %s was sealed with a raw key, but the key given is a passphrase", s->dir);
        if (s->kdf_pending)
            return refuse(s, "%s/%s (the passphrase's salt) is missing: the state cannot be opened", s->dir, KDF_FILE);
        return refuse(s, "wrong key for the state in %s (it opens neither state.0 nor state.1%s)", s->dir,
                      any_pass ? ", or the kdf file was changed" : "");
    }
    if (any_enc && with_key != opened)
        return refuse(s, "state.%d in %s was sealed with a different key than state.%d: a slot was replaced",
                      in[0].key_matches ? 1 : 0, s->dir, in[0].key_matches ? 0 : 1);
    return 0;
}

long vt_store_load(vt_store *s, uint8_t *buf, size_t cap)
{
    uint8_t *frame[2] = { NULL, NULL }, *blob[2] = { NULL, NULL };
    vt_slot_info *in = s->slot;
    size_t size[2];
    bool missing[2];
    long result = -1;
    int i, best = -1, other;

    s->warn[0] = '\0';
    memset(in, 0, sizeof(s->slot));
    for (i = 0; i < 2; i++) {
        if (read_frame(s, i, &frame[i], &size[i], &missing[i]) != 0)
            goto out;
        in[i].status = VT_SLOT_MISSING;
        if (!missing[i])
            parse_header(s, frame[i], size[i], &in[i]);
    }
    if (missing[0] && missing[1]) {
        result = 0; /* a new TPM */
        goto out;
    }
    if (check_pair(s, in) != 0)
        goto out;
    for (i = 0; i < 2; i++) {
        if (in[i].status != VT_SLOT_OK)
            continue;
        blob[i] = malloc(in[i].len ? in[i].len : 1);
        if (!blob[i]) {
            refuse(s, "out of memory loading the state");
            goto out;
        }
        check_body(s, frame[i], &in[i], blob[i]);
        if (in[i].status == VT_SLOT_OK && (best < 0 || in[i].seq > in[best].seq))
            best = i;
    }
    if (best < 0) {
        refuse(s, "no valid state in %s: state.0 is %s, state.1 is %s", s->dir,
               vt_slot_status_str(in[0].status), vt_slot_status_str(in[1].status));
        goto out;
    }
    other = 1 - best;
    if (in[other].status == VT_SLOT_OK) {
        if (in[best].seq != in[other].seq + 1) {
            refuse(s, "state.0 (sequence %llu) and state.1 (sequence %llu) in %s are not a pair: "
                      "an older or copied slot was put back (replay)", (unsigned long long)in[0].seq,
                   (unsigned long long)in[1].seq, s->dir);
            goto out;
        }
    } else if (interrupted_commit(&in[other], &in[best])) {
        snprintf(s->warn, sizeof(s->warn), "state.%d in %s is %s, as an interrupted commit leaves it; "
                                           "continuing from state.%d (sequence %llu)",
                 other, s->dir, vt_slot_status_str(in[other].status), best, (unsigned long long)in[best].seq);
    } else {
        refuse(s, "state.%d in %s is %s, which a crash cannot explain next to state.%d (sequence %llu): "
                  "refusing to fall back", other, s->dir, vt_slot_status_str(in[other].status), best,
               (unsigned long long)in[best].seq);
        goto out;
    }
    if (in[best].len > cap) {
        refuse(s, "the state in %s is larger than the engine accepts", s->dir);
        goto out;
    }
    memcpy(buf, blob[best], in[best].len);
    s->newest = best;
    s->seq = in[best].seq;
    if (in[best].version == SLOT_VERSION) {
        memcpy(s->id, in[best].id, VT_TPM_ID_SIZE);
        s->have_id = true;
    }
    result = (long)in[best].len;
out:
    for (i = 0; i < 2; i++) {
        if (blob[i])
            vt_seal_wipe(blob[i], in[i].len);
        free(blob[i]);
        if (frame[i])
            vt_seal_wipe(frame[i], size[i]);
        free(frame[i]);
    }
    return result;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

/* Write the passphrase's salt and parameters before the first state. */
static int write_kdf(vt_store *s)
{
    uint8_t rec[VT_KDF_RECORD_SIZE];
    int fd = openat(s->dir_fd, KDF_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    vt_kdf_params_encode(&s->kdf, rec);
    if (write_all(fd, rec, sizeof(rec)) != 0 || fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    s->kdf_pending = false;
    return fsync(s->dir_fd);
}

static int write_slot(vt_store *s, int slot, const uint8_t *blob, size_t len)
{
    size_t trailer = s->key ? VT_SEAL_TAG_SIZE : DIGEST_SIZE, total = HDR_SIZE + len + trailer;
    uint8_t *f;
    bool created = false;
    int rc = -1;

    if (len > MAX_BLOB) {
        snprintf(s->err, sizeof(s->err), "state too large");
        return -1;
    }
    f = calloc(1, total);
    if (!f) {
        snprintf(s->err, sizeof(s->err), "out of memory writing the state");
        return -1;
    }
    memcpy(f, SLOT_MAGIC, 4);
    vt_put_be(f + 4, SLOT_VERSION, 2);
    f[6] = (uint8_t)(s->key ? FLAG_ENCRYPTED | (s->key->from_passphrase ? FLAG_PASSPHRASE : 0) : 0);
    memcpy(f + 8, s->id, VT_TPM_ID_SIZE);
    vt_put_be(f + 24, s->seq + 1, 8);
    vt_put_be(f + 32, len, 4);
    if (s->key) {
        /* A random nonce: sequence numbers repeat after a restored backup. */
        if (vt_seal_random(f + 36, VT_SEAL_NONCE_SIZE) != 0 ||
            vt_seal_key_check(s->key, s->id, VT_TPM_ID_SIZE, f + 48) != 0 ||
            header_check(s, true, f, f + HDR_CHECKED) != 0 ||
            vt_seal(s->key->enc, f + 36, f, HDR_SIZE, blob, len, f + HDR_SIZE, f + HDR_SIZE + len) != 0) {
            snprintf(s->err, sizeof(s->err), "cannot seal the state");
            goto out;
        }
    } else {
        memcpy(f + HDR_SIZE, blob, len);
        if (header_check(s, false, f, f + HDR_CHECKED) != 0 ||
            !EVP_Digest(f, HDR_SIZE + len, f + HDR_SIZE + len, NULL, EVP_sha256(), NULL)) {
            snprintf(s->err, sizeof(s->err), "cannot hash the state");
            goto out;
        }
    }

    if (s->slot_fd[slot] < 0) {
        s->slot_fd[slot] = openat(s->dir_fd, slot_name[slot], O_RDWR | O_CLOEXEC);
        if (s->slot_fd[slot] < 0 && errno == ENOENT) {
            s->slot_fd[slot] = openat(s->dir_fd, slot_name[slot], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            created = true;
        }
        if (s->slot_fd[slot] < 0)
            goto fail;
    }
    /* One write from offset 0 (header first), one flush: the other slot
     * still holds the previous state if we stop before it completes. */
    if (write_all(s->slot_fd[slot], f, total) != 0 || fdatasync(s->slot_fd[slot]) != 0)
        goto fail;
    if (created && fsync(s->dir_fd) != 0)
        goto fail;
    s->seq++;
    s->newest = slot;
    rc = 0;
    goto out;
fail:
    snprintf(s->err, sizeof(s->err), "cannot write state in %s: %s", s->dir, strerror(errno));
out:
    vt_seal_wipe(f, total);
    free(f);
    return rc;
}

int vt_store_commit(vt_store *s, const uint8_t *blob, size_t len)
{
    /* A new TPM (or one upgraded from slot format 1) gets its id now. */
    if (!s->have_id) {
        if (vt_seal_random(s->id, VT_TPM_ID_SIZE) != 0) {
            snprintf(s->err, sizeof(s->err), "no entropy for the TPM id");
            return -1;
        }
        s->have_id = true;
    }
    if (s->newest < 0) {
        if (s->kdf_pending && write_kdf(s) != 0) {
            snprintf(s->err, sizeof(s->err), "cannot write %s/%s: %s", s->dir, KDF_FILE, strerror(errno));
            return -1;
        }
        /* The first state goes into both slots, so both files exist (and
         * stay open) from then on. */
        if (write_slot(s, 0, blob, len) != 0)
            return -1;
        return write_slot(s, 1, blob, len);
    }
    if (write_slot(s, 1 - s->newest, blob, len) != 0)
        return -1;
    /* The snapshot holds everything the journal did.  The records left in
     * the file name the older slot: the loader skips them, and new ones
     * are written over them (no write, no second flush here). */
    return vt_journal_reset(s);
}
