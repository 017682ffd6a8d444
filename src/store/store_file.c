#define _GNU_SOURCE
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define LOCK_FILE "lock"
#define SLOT_MAGIC "VTSB"
#define SLOT_VERSION 1u
#define HDR_SIZE (4u + 2u + 2u + 8u + 4u)
#define DIGEST_SIZE 32u
#define MAX_BLOB (1u << 24)

static const char *slot_name[2] = { "state.0", "state.1" };

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

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
    s->dir_fd = s->lock_fd = s->slot_fd[0] = s->slot_fd[1] = -1;
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
    return 0;
}

void vt_store_close(vt_store *s)
{
    int i;
    for (i = 0; i < 2; i++)
        if (s->slot_fd[i] >= 0)
            close(s->slot_fd[i]);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    s->lock_fd = s->dir_fd = s->slot_fd[0] = s->slot_fd[1] = -1;
}

/* Read and check one slot.  Returns its blob length and sequence number, 0
 * if the slot file does not exist, -1 if it exists but is not valid. */
static long read_slot(vt_store *s, int i, uint8_t *buf, size_t cap, uint64_t *seq, bool *exists)
{
    int fd = openat(s->dir_fd, slot_name[i], O_RDONLY | O_CLOEXEC);
    uint8_t *frame = NULL, digest[DIGEST_SIZE];
    struct stat st;
    size_t total = 0, len;
    long result = -1;

    *exists = fd >= 0 || errno != ENOENT;
    if (fd < 0)
        return *exists ? -1 : 0;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)(HDR_SIZE + DIGEST_SIZE) ||
        st.st_size > (off_t)(HDR_SIZE + MAX_BLOB + DIGEST_SIZE))
        goto out;
    frame = malloc((size_t)st.st_size);
    if (!frame)
        goto out;
    while (total < (size_t)st.st_size) {
        ssize_t n = read(fd, frame + total, (size_t)st.st_size - total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        total += (size_t)n;
    }
    if (memcmp(frame, SLOT_MAGIC, 4) != 0 || get_be(frame + 4, 2) != SLOT_VERSION)
        goto out;
    len = (size_t)get_be(frame + 16, 4);
    /* The file may be longer than its frame (an older, larger commit). */
    if (len > MAX_BLOB || HDR_SIZE + len + DIGEST_SIZE > total)
        goto out;
    if (!EVP_Digest(frame, HDR_SIZE + len, digest, NULL, EVP_sha256(), NULL) ||
        memcmp(digest, frame + HDR_SIZE + len, DIGEST_SIZE) != 0)
        goto out;
    if (len > cap)
        goto out;
    *seq = get_be(frame + 8, 8);
    memcpy(buf, frame + HDR_SIZE, len);
    result = (long)len;
out:
    free(frame);
    close(fd);
    return result;
}

long vt_store_load(vt_store *s, uint8_t *buf, size_t cap)
{
    uint64_t seq[2] = { 0, 0 };
    long len[2];
    bool exists[2];
    int i, best = -1;

    for (i = 0; i < 2; i++) {
        /* Read each slot into buf in turn; re-read the winner at the end. */
        len[i] = read_slot(s, i, buf, cap, &seq[i], &exists[i]);
        if (len[i] > 0 && (best < 0 || seq[i] > seq[best]))
            best = i;
    }
    if (best < 0) {
        if (exists[0] || exists[1]) {
            snprintf(s->err, sizeof(s->err),
                     "no valid state in %s (state.0 and state.1 are damaged or not vitrum state)", s->dir);
            return -1;
        }
        return 0; /* a new TPM */
    }
    if (read_slot(s, best, buf, cap, &seq[best], &exists[best]) != len[best])
        return -1;
    s->newest = best;
    s->seq = seq[best];
    return len[best];
}

static int write_slot(vt_store *s, int slot, const uint8_t *blob, size_t len)
{
    uint8_t hdr[HDR_SIZE], digest[DIGEST_SIZE];
    EVP_MD_CTX *md;
    struct part {
        const void *p;
        size_t n;
    } parts[3];
    size_t off = 0;
    int i;
    bool created = false;

    if (len > MAX_BLOB) {
        snprintf(s->err, sizeof(s->err), "state too large");
        return -1;
    }
    memcpy(hdr, SLOT_MAGIC, 4);
    put_be(hdr + 4, SLOT_VERSION, 2);
    put_be(hdr + 6, 0, 2);
    put_be(hdr + 8, s->seq + 1, 8);
    put_be(hdr + 16, len, 4);
    md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) || !EVP_DigestUpdate(md, hdr, sizeof(hdr)) ||
        !EVP_DigestUpdate(md, blob, len) || !EVP_DigestFinal_ex(md, digest, NULL)) {
        EVP_MD_CTX_free(md);
        snprintf(s->err, sizeof(s->err), "cannot hash state");
        return -1;
    }
    EVP_MD_CTX_free(md);

    if (s->slot_fd[slot] < 0) {
        s->slot_fd[slot] = openat(s->dir_fd, slot_name[slot], O_RDWR | O_CLOEXEC);
        if (s->slot_fd[slot] < 0 && errno == ENOENT) {
            s->slot_fd[slot] = openat(s->dir_fd, slot_name[slot], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            created = true;
        }
        if (s->slot_fd[slot] < 0)
            goto fail;
    }
    parts[0] = (struct part){ hdr, sizeof(hdr) };
    parts[1] = (struct part){ blob, len };
    parts[2] = (struct part){ digest, sizeof(digest) };
    for (i = 0; i < 3; i++) {
        size_t done = 0;
        while (done < parts[i].n) {
            ssize_t n = pwrite(s->slot_fd[slot], (const uint8_t *)parts[i].p + done, parts[i].n - done,
                               (off_t)(off + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto fail;
            done += (size_t)n;
        }
        off += parts[i].n;
    }
    /* One flush makes the slot durable; the other slot still holds the
     * previous state if we crash before it completes. */
    if (fdatasync(s->slot_fd[slot]) != 0)
        goto fail;
    if (created && fsync(s->dir_fd) != 0)
        goto fail;
    s->seq++;
    s->newest = slot;
    return 0;
fail:
    snprintf(s->err, sizeof(s->err), "cannot write state in %s: %s", s->dir, strerror(errno));
    return -1;
}

int vt_store_commit(vt_store *s, const uint8_t *blob, size_t len)
{
    if (s->newest < 0) {
        /* The first state goes into both slots, so both files exist (and
         * stay open) from then on. */
        if (write_slot(s, 0, blob, len) != 0)
            return -1;
        return write_slot(s, 1, blob, len);
    }
    return write_slot(s, 1 - s->newest, blob, len);
}
