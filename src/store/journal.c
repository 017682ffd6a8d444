/* The journal: small durable changes appended after the newest slot.
 *
 * Record frame (docs/FORMAT.md):
 *   0  4  magic "VTJ1"
 *   4  1  flags (1: encrypted)
 *   5  3  reserved, 0
 *   8 16  TPM id
 *  24  8  sequence number of the slot this record follows
 *  32  4  record number after that slot, from 1
 *  36  4  payload length n
 *  40 12  nonce (encrypted) or zeros
 *  52  n  payload (AES-256-GCM ciphertext, or plain)
 *  52+n   16-byte GCM tag over header (AAD) and payload, or SHA-256 of
 *         bytes 0 .. 52+n-1
 * Records are appended in order and each is flushed before its command is
 * answered, so only the last record can be torn by a crash.  The file is
 * preallocated with zeros and every append writes 52 zero octets after its
 * record: appends overwrite in place (no size change for fdatasync to
 * flush), and a zero header marks the end.  A snapshot writes nothing
 * here: the records it leaves behind name the slot before it, so the loader
 * stops at them and new records go over them from offset 0.  Every
 * acknowledged change is thus one pwrite and one fdatasync. */
#define _GNU_SOURCE
#include "store/journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include "common/be.h"

#define JOURNAL_FILE "journal"
#define J_MAGIC "VTJ1"
#define J_HDR 52u
#define J_DIGEST 32u
#define J_MAX_RECORD (64u << 10)
#define J_SIZE (64u << 10) /* preallocated; when full the engine snapshots */

int vt_journal_open(vt_store *s)
{
    struct stat st;
    bool created = false;

    s->journal_fd = openat(s->dir_fd, JOURNAL_FILE, O_RDWR | O_CLOEXEC);
    if (s->journal_fd < 0 && errno == ENOENT) {
        s->journal_fd = openat(s->dir_fd, JOURNAL_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        created = true;
    }
    if (s->journal_fd < 0 || fstat(s->journal_fd, &st) != 0) {
        snprintf(s->err, sizeof(s->err), "cannot open %s/%s: %s", s->dir, JOURNAL_FILE, strerror(errno));
        return -1;
    }
    if ((uint64_t)st.st_size < J_SIZE) {
        /* Real zeros, not a hole or unwritten extents: an append must not
         * need the file system to allocate. */
        static const uint8_t zeros[65536];
        uint64_t off = (uint64_t)st.st_size;
        while (off < J_SIZE) {
            size_t n = J_SIZE - off < sizeof(zeros) ? (size_t)(J_SIZE - off) : sizeof(zeros);
            ssize_t w = pwrite(s->journal_fd, zeros, n, (off_t)off);
            if (w <= 0) {
                snprintf(s->err, sizeof(s->err), "cannot prepare %s/%s: %s", s->dir, JOURNAL_FILE,
                         strerror(errno));
                return -1;
            }
            off += (uint64_t)w;
        }
        if (fsync(s->journal_fd) != 0 || (created && fsync(s->dir_fd) != 0)) {
            snprintf(s->err, sizeof(s->err), "cannot prepare %s/%s: %s", s->dir, JOURNAL_FILE, strerror(errno));
            return -1;
        }
    }
    s->journal_end = 0;
    s->journal_n = 0;
    return 0;
}

int vt_journal_reset(vt_store *s)
{
    /* Nothing to write: the records in the file name the slot before the
     * new snapshot, so the loader stops at the first of them (it only
     * replays records whose slot number is the newest slot's), and the next
     * append starts again at offset 0 with the zero header after it.  A
     * snapshot therefore costs its own flush and no second one here. */
    s->journal_end = 0;
    s->journal_n = 0;
    return 0;
}

int vt_store_append(vt_store *s, const uint8_t *rec, size_t len)
{
    size_t trailer = s->key ? VT_SEAL_TAG_SIZE : J_DIGEST, total = J_HDR + len + trailer, done = 0;
    size_t wlen = total + J_HDR; /* the record, then a zero header: the end */
    uint8_t *f;
    int rc = -1;

    if (s->newest < 0 || !s->have_id) {
        snprintf(s->err, sizeof(s->err), "journal record without a state to follow");
        return -1;
    }
    if (len > J_MAX_RECORD || s->journal_end + wlen > J_SIZE)
        return 1; /* no room: the caller commits the whole state instead */
    f = calloc(1, wlen);
    if (!f) {
        snprintf(s->err, sizeof(s->err), "out of memory writing the journal");
        return -1;
    }
    memcpy(f, J_MAGIC, 4);
    f[4] = s->key ? 1 : 0;
    memcpy(f + 8, s->id, VT_TPM_ID_SIZE);
    vt_put_be(f + 24, s->seq, 8);
    vt_put_be(f + 32, s->journal_n + 1, 4);
    vt_put_be(f + 36, len, 4);
    if (s->key) {
        if (vt_seal_random(f + 40, VT_SEAL_NONCE_SIZE) != 0 ||
            vt_seal(s->key->enc, f + 40, f, J_HDR, rec, len, f + J_HDR, f + J_HDR + len) != 0) {
            snprintf(s->err, sizeof(s->err), "cannot seal a journal record");
            goto out;
        }
    } else {
        memcpy(f + J_HDR, rec, len);
        if (!EVP_Digest(f, J_HDR + len, f + J_HDR + len, NULL, EVP_sha256(), NULL)) {
            snprintf(s->err, sizeof(s->err), "cannot hash a journal record");
            goto out;
        }
    }
    while (done < wlen) {
        ssize_t n = pwrite(s->journal_fd, f + done, wlen - done, (off_t)(s->journal_end + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t)n;
    }
    if (fdatasync(s->journal_fd) != 0)
        goto fail;
    s->journal_end += total;
    s->journal_n++;
    rc = 0;
    goto out;
fail:
    snprintf(s->err, sizeof(s->err), "cannot write %s/%s: %s", s->dir, JOURNAL_FILE, strerror(errno));
out:
    vt_seal_wipe(f, wlen);
    free(f);
    return rc;
}

/* Is there a valid-looking record n+1 (right magic, base and number) right
 * after a record that failed?  Then the failure is damage, not a crash. */
static bool followed_by_record(const vt_store *s, const uint8_t *file, size_t size, size_t off)
{
    const uint8_t *h = file + off;
    return off <= size && size - off >= J_HDR && memcmp(h, J_MAGIC, 4) == 0 &&
           vt_get_be(h + 24, 8) == s->seq && vt_get_be(h + 32, 4) == (uint64_t)s->journal_n + 2;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

long vt_store_replay(vt_store *s, int (*apply)(void *ctx, const uint8_t *rec, size_t len), void *ctx)
{
    struct stat st;
    uint8_t *file = NULL, *payload = NULL;
    size_t size, off = 0;
    long count = 0, result = -1;

    s->journal_n = 0;
    s->journal_end = 0;
    if (fstat(s->journal_fd, &st) != 0) {
        snprintf(s->err, sizeof(s->err), "cannot read %s/%s: %s", s->dir, JOURNAL_FILE, strerror(errno));
        return -1;
    }
    size = (size_t)st.st_size;
    if (size > 4 * J_SIZE) {
        snprintf(s->err, sizeof(s->err), "%s/%s is impossibly large", s->dir, JOURNAL_FILE);
        return -1;
    }
    if (size && (!(file = malloc(size)) || !(payload = malloc(J_MAX_RECORD)))) {
        snprintf(s->err, sizeof(s->err), "out of memory reading the journal");
        goto out;
    }
    while (off < size) {
        ssize_t n = pread(s->journal_fd, file + off, size - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(s->err, sizeof(s->err), "cannot read %s/%s", s->dir, JOURNAL_FILE);
            goto out;
        }
        off += (size_t)n;
    }

    for (off = 0; off < size;) {
        const uint8_t *h = file + off;
        size_t len, trailer, total;
        bool encrypted, ok;

        if (size - off < J_HDR || all_zero(h, J_HDR))
            break; /* the end */
        if (memcmp(h, J_MAGIC, 4) != 0) {
            /* Only a torn append can leave a header that is neither a
             * record nor the zero end, and it is the last thing written. */
            break;
        }
        /* Records from before the newest slot (a crash between writing it
         * and marking the journal empty) are already in it. */
        if (vt_get_be(h + 24, 8) != s->seq)
            break;
        encrypted = h[4] & 1;
        len = (size_t)vt_get_be(h + 36, 4);
        trailer = encrypted ? VT_SEAL_TAG_SIZE : J_DIGEST;
        total = J_HDR + len + trailer;
        if (len > J_MAX_RECORD || total > size - off)
            break; /* a length no append wrote: torn */
        if (encrypted != (s->key != NULL)) {
            snprintf(s->err, sizeof(s->err), "%s/%s: a record is %s but the state is %s", s->dir, JOURNAL_FILE,
                     encrypted ? "encrypted" : "not encrypted", s->key ? "encrypted" : "not");
            goto out;
        }
        if (memcmp(h + 8, s->id, VT_TPM_ID_SIZE) != 0 || vt_get_be(h + 32, 4) != (uint64_t)s->journal_n + 1) {
            snprintf(s->err, sizeof(s->err), "%s/%s holds a record of another TPM or out of order", s->dir,
                     JOURNAL_FILE);
            goto out;
        }
        if (encrypted) {
            ok = vt_unseal(s->key->enc, h + 40, h, J_HDR, h + J_HDR, len, payload, h + J_HDR + len) == 0;
        } else {
            uint8_t d[J_DIGEST];
            ok = EVP_Digest(h, J_HDR + len, d, NULL, EVP_sha256(), NULL) &&
                 memcmp(d, h + J_HDR + len, J_DIGEST) == 0;
            memcpy(payload, h + J_HDR, len);
        }
        if (!ok) {
            /* A torn last append fails its check; one with a good record
             * after it was damaged later. */
            if (!followed_by_record(s, file, size, off + total))
                break;
            snprintf(s->err, sizeof(s->err), "%s/%s is damaged or modified (record %u fails %s)", s->dir,
                     JOURNAL_FILE, s->journal_n + 1, encrypted ? "authentication" : "its checksum");
            goto out;
        }
        if (apply(ctx, payload, len) != 0) {
            snprintf(s->err, sizeof(s->err), "%s/%s: record %u is refused by the engine", s->dir, JOURNAL_FILE,
                     s->journal_n + 1);
            goto out;
        }
        s->journal_n++;
        count++;
        off += total;
    }
    /* New records go after the last good one, over whatever follows it. */
    s->journal_end = off;
    result = count;
out:
    if (payload)
        vt_seal_wipe(payload, J_MAX_RECORD);
    free(payload);
    free(file);
    return result;
}
