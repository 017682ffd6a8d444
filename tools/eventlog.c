/* TCG PC Client crypto-agile event log writer and checker (eventlog.h). */
#define _GNU_SOURCE
#include "eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest log this tool reads back (a real boot log is tens of KiB). */
#define MAX_LOG (64u << 20)
/* TCG_EfiSpecIdEvent signature, with its NUL (PFP §10.2.1.1). */
static const char spec_sig[16] = "Spec ID Event03";

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

size_t vt_evlog_header(const vt_evlog_spec *spec, uint8_t *out, size_t cap)
{
    /* TCG_EfiSpecIdEvent: signature[16], platformClass(4) = 0 (client),
     * specVersionMinor = 0, specVersionMajor = 2, specErrata = 2,
     * uintnSize = 2 (UINTN is 64 bits), numberOfAlgorithms(4),
     * digestSizes[] (algorithmId(2), digestSize(2)), vendorInfoSize(1) = 0. */
    size_t data_len = 16 + 4 + 4 + 4 + 4 * spec->nalgs + 1, n = 4 + 4 + 20 + 4 + data_len, i;
    uint8_t *d;

    if (cap < n || spec->nalgs == 0 || spec->nalgs > VT_EVLOG_MAX_ALGS)
        return 0;
    memset(out, 0, n);
    le32(out, 0);                /* PCRIndex */
    le32(out + 4, VT_EV_NO_ACTION); /* EventType */
    /* Digest: 20 zero bytes */
    le32(out + 28, (uint32_t)data_len);
    d = out + 32;
    memcpy(d, spec_sig, 16);
    le32(d + 16, 0);
    d[20] = 0, d[21] = 2, d[22] = 2, d[23] = 2;
    le32(d + 24, (uint32_t)spec->nalgs);
    for (i = 0; i < spec->nalgs; i++) {
        le16(d + 28 + 4 * i, spec->algs[i].alg);
        le16(d + 30 + 4 * i, spec->algs[i].size);
    }
    d[28 + 4 * spec->nalgs] = 0; /* vendorInfoSize */
    return n;
}

size_t vt_evlog_event2(const vt_evlog_spec *spec, uint32_t pcr, uint32_t type,
                       const uint8_t *const digests[], const void *data, uint32_t data_len,
                       uint8_t *out, size_t cap)
{
    size_t n = 4 + 4 + 4, i;

    for (i = 0; i < spec->nalgs; i++)
        n += 2 + spec->algs[i].size;
    n += 4 + (size_t)data_len;
    if (cap < n || spec->nalgs == 0)
        return 0;
    le32(out, pcr);
    le32(out + 4, type);
    le32(out + 8, (uint32_t)spec->nalgs);
    n = 12;
    for (i = 0; i < spec->nalgs; i++) {
        le16(out + n, spec->algs[i].alg);
        memcpy(out + n + 2, digests[i], spec->algs[i].size);
        n += 2 + spec->algs[i].size;
    }
    le32(out + n, data_len);
    if (data_len)
        memcpy(out + n + 4, data, data_len);
    return n + 4 + data_len;
}

int vt_evlog_parse(const uint8_t *buf, size_t len, vt_evlog_spec *spec, size_t *whole,
                   size_t *nevents, char *err, size_t errlen)
{
    size_t off, dlen, i, nalgs, count = 0;
    const uint8_t *d;

    /* the header event */
    if (len < 32) {
        snprintf(err, errlen, "not a TCG event log (shorter than its first event)");
        return -1;
    }
    dlen = get_le32(buf + 28);
    if (get_le32(buf) != 0 || get_le32(buf + 4) != VT_EV_NO_ACTION || dlen < 29 ||
        dlen > len - 32) {
        snprintf(err, errlen, "not a crypto-agile TCG event log (no Spec ID event first)");
        return -1;
    }
    d = buf + 32;
    if (memcmp(d, spec_sig, 16) != 0) {
        snprintf(err, errlen, "not a crypto-agile TCG event log (no \"Spec ID Event03\" signature)");
        return -1;
    }
    nalgs = get_le32(d + 24);
    if (nalgs == 0 || nalgs > VT_EVLOG_MAX_ALGS || 28 + 4 * nalgs + 1 > dlen ||
        28 + 4 * nalgs + 1 + d[28 + 4 * nalgs] != dlen) {
        snprintf(err, errlen, "malformed Spec ID event (algorithm list)");
        return -1;
    }
    spec->nalgs = nalgs;
    for (i = 0; i < nalgs; i++) {
        spec->algs[i].alg = get_le16(d + 28 + 4 * i);
        spec->algs[i].size = get_le16(d + 30 + 4 * i);
        if (spec->algs[i].size == 0 || spec->algs[i].size > 64) {
            snprintf(err, errlen, "malformed Spec ID event (digest size %u)", spec->algs[i].size);
            return -1;
        }
    }
    off = 32 + dlen;
    /* TCG_PCR_EVENT2s */
    for (;;) {
        size_t p = off;
        bool cut = false;

        if (p == len)
            break;
        if (len - p < 12) {
            cut = true;
        } else {
            uint32_t cnt = get_le32(buf + p + 8);
            p += 12;
            if (cnt != nalgs) {
                snprintf(err, errlen, "event %zu carries %u digests, the log's header says %zu",
                         count, cnt, nalgs);
                return -1;
            }
            for (i = 0; i < nalgs && !cut; i++) {
                if (len - p < 2) {
                    cut = true;
                    break;
                }
                if (get_le16(buf + p) != spec->algs[i].alg) {
                    snprintf(err, errlen, "event %zu: digest %zu is not of the header's algorithm",
                             count, i);
                    return -1;
                }
                p += 2;
                if (len - p < spec->algs[i].size)
                    cut = true;
                else
                    p += spec->algs[i].size;
            }
            if (!cut) {
                if (len - p < 4) {
                    cut = true;
                } else {
                    uint32_t el = get_le32(buf + p);
                    p += 4;
                    if (el > VT_EVLOG_MAX_EVENT_DATA) {
                        snprintf(err, errlen, "event %zu: event data of %u bytes", count, el);
                        return -1;
                    }
                    if (len - p < el)
                        cut = true;
                    else
                        p += el;
                }
            }
        }
        if (cut)
            break; /* an event cut short at the very end: a crash while appending */
        off = p;
        count++;
    }
    *whole = off;
    *nevents = count;
    return 0;
}

static int read_fd(int fd, uint8_t **out, size_t *len, char *err, size_t errlen, const char *path)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;

    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_LOG) {
        snprintf(err, errlen, "%s: not a regular file of at most %u MiB", path, MAX_LOG >> 20);
        return -1;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "%s: %s", path, r < 0 ? strerror(errno) : "changed while read");
            free(buf);
            return -1;
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = got;
    return 0;
}

static int same_spec(const vt_evlog_spec *a, const vt_evlog_spec *b)
{
    if (a->nalgs != b->nalgs)
        return 0;
    for (size_t i = 0; i < a->nalgs; i++)
        if (a->algs[i].alg != b->algs[i].alg || a->algs[i].size != b->algs[i].size)
            return 0;
    return 1;
}

int vt_evlog_open(vt_evlog_file *f, const char *path, const vt_evlog_spec *spec, char *err,
                  size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    uint8_t *buf = NULL;
    size_t len = 0;
    vt_evlog_spec have;

    memset(f, 0, sizeof(*f));
    f->fd = f->dir_fd = -1;
    if (strlen(path) >= sizeof(f->path)) {
        snprintf(err, errlen, "event log path too long");
        return -1;
    }
    strcpy(f->path, path);
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    f->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dir_fd < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    f->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (f->fd < 0 && errno == ENOENT) {
        f->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        f->created = 1;
    }
    if (f->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        vt_evlog_close(f);
        return -1;
    }
    /* one writer at a time */
    if (flock(f->fd, LOCK_EX) != 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
        vt_evlog_close(f);
        return -1;
    }
    if (read_fd(f->fd, &buf, &len, err, errlen, path) != 0) {
        vt_evlog_close(f);
        return -1;
    }
    if (len == 0) {
        f->end = 0;
    } else {
        if (vt_evlog_parse(buf, len, &have, &f->end, &f->nevents, err, errlen) != 0) {
            char why[400];
            snprintf(why, sizeof(why), "%s", err);
            snprintf(err, errlen, "%s: %s; not appending to it", path, why);
            free(buf);
            vt_evlog_close(f);
            return -1;
        }
        if (!same_spec(&have, spec)) {
            snprintf(err, errlen, "%s was made for other PCR banks than the TPM's active ones; "
                                  "not appending to it", path);
            free(buf);
            vt_evlog_close(f);
            return -1;
        }
    }
    free(buf);
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n, size_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w, off += (size_t)w;
    }
    return 0;
}

int vt_evlog_write(vt_evlog_file *f, const vt_evlog_spec *spec, uint32_t pcr, uint32_t type,
                   const uint8_t *const digests[], const void *data, uint32_t data_len,
                   char *err, size_t errlen)
{
    size_t cap = 64 + 4 * VT_EVLOG_MAX_ALGS + 12 + VT_EVLOG_MAX_ALGS * 66 + 4 + (size_t)data_len;
    size_t n = 0, m;
    uint8_t *buf;
    bool fresh = f->end == 0;

    if (data_len > VT_EVLOG_MAX_EVENT_DATA) {
        snprintf(err, errlen, "event data too long");
        return -1;
    }
    buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (fresh && !(n = vt_evlog_header(spec, buf, cap))) {
        snprintf(err, errlen, "cannot make the event log header");
        free(buf);
        return -1;
    }
    m = vt_evlog_event2(spec, pcr, type, digests, data, data_len, buf + n, cap - n);
    if (!m) {
        snprintf(err, errlen, "cannot make the event");
        free(buf);
        return -1;
    }
    n += m;
    /* drop what an interrupted append left after the last whole event */
    if (ftruncate(f->fd, (off_t)f->end) != 0 || write_all(f->fd, buf, n, f->end) != 0 ||
        fsync(f->fd) != 0 || (f->created && fsync(f->dir_fd) != 0)) {
        snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
        free(buf);
        return -1;
    }
    free(buf);
    f->end += n;
    f->nevents++;
    f->created = 0; /* it holds an event: keep it */
    return 0;
}

void vt_evlog_close(vt_evlog_file *f)
{
    if (f->fd >= 0) {
        if (f->created)
            unlink(f->path);
        close(f->fd);
    }
    if (f->dir_fd >= 0)
        close(f->dir_fd);
    f->fd = f->dir_fd = -1;
}
