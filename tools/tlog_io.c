/* Host-side helpers for the transparency tools (tools/tlog_io.h). */
#define _GNU_SOURCE
#include "tlog_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/be.h"
#include "crypto/vt_crypto.h"

int vt_io_read(const char *path, uint8_t **buf, size_t *len, size_t max)
{
    struct stat st;
    uint8_t *p;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        fprintf(stderr, "vitrum: %s: not a regular file of at most %zu bytes\n", path, max);
        close(fd);
        return -1;
    }
    p = malloc((size_t)st.st_size + 1);
    if (!p) {
        close(fd);
        return -1;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            fprintf(stderr, "vitrum: %s: short read\n", path);
            free(p);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    p[got] = 0;
    *buf = p;
    *len = got;
    return 0;
}

int vt_io_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int vt_io_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int vt_io_write_replace(const char *path, const void *data, size_t len, int mode)
{
    char tmp[4096];
    int fd;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || vt_io_write_all(fd, data, len) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int vt_io_write_atomic(const char *path, const void *data, size_t len, int mode)
{
    char tmp[4096], dir[4096];
    const char *slash = strrchr(path, '/');
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash > path ? slash - path : 1), path);
    else
        snprintf(dir, sizeof(dir), ".");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "vitrum: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    if (vt_io_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return vt_io_fsync_dir(dir);
}

int vt_signer_generate(vt_signer *s, const char *name, uint8_t type)
{
    uint8_t pub[32];
    memset(s, 0, sizeof(*s));
    if (getrandom(s->seed, 32, 0) != 32 || vt_ed25519_public(s->seed, pub) != 0)
        return -1;
    if (vt_note_key_init(&s->key, name, strlen(name), type, pub) != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: '%s' is not a valid key name (non-empty, at most %u bytes, "
                        "no spaces, no '+')\n", name, VT_NOTE_NAME_MAX);
        return -1;
    }
    return 0;
}

static const char priv_prefix[] = "PRIVATE+KEY+";

int vt_signer_load(vt_signer *s, const char *path)
{
    uint8_t *buf, raw[40], pub[32], id[4];
    size_t len;
    char *p1, *p2, *end;
    long got;
    int rc = -1;

    memset(s, 0, sizeof(*s));
    if (vt_io_read(path, &buf, &len, 4096) != 0)
        return -1;
    end = memchr(buf, '\n', len);
    if (end)
        len = (size_t)((uint8_t *)end - buf);
    if (len < sizeof(priv_prefix) || memcmp(buf, priv_prefix, sizeof(priv_prefix) - 1) != 0)
        goto bad;
    p1 = memchr(buf + 12, '+', len - 12);
    if (!p1)
        goto bad;
    p2 = memchr(p1 + 1, '+', len - (size_t)((uint8_t *)p1 + 1 - buf));
    if (!p2 || vt_hex_decode(p1 + 1, (size_t)(p2 - p1 - 1), id, 4) != 0)
        goto bad;
    got = vt_b64_decode(p2 + 1, len - (size_t)((uint8_t *)p2 + 1 - buf), raw, sizeof(raw));
    if (got != 33 || vt_ed25519_public(raw + 1, pub) != 0)
        goto bad;
    if (vt_note_key_init(&s->key, (char *)buf + 12, (size_t)(p1 - (char *)buf - 12), raw[0],
                         pub) != VT_TLOG_OK ||
        s->key.key_id != vt_get_be32(id))
        goto bad;
    memcpy(s->seed, raw + 1, 32);
    rc = 0;
bad:
    if (rc)
        fprintf(stderr, "vitrum: %s: not a signer key (PRIVATE+KEY+name+id+key)\n", path);
    vt_wipe(raw, sizeof(raw));
    vt_wipe(buf, len);
    free(buf);
    return rc;
}

int vt_signer_save(const vt_signer *s, const char *path)
{
    uint8_t raw[33], id[4];
    char b64[64], hex[9], text[512];
    int n, rc;

    raw[0] = s->key.type;
    memcpy(raw + 1, s->seed, 32);
    vt_b64_encode(raw, 33, b64, sizeof(b64));
    vt_put_be32(id, s->key.key_id);
    vt_hex_encode(id, 4, hex);
    n = snprintf(text, sizeof(text), "%s%.*s+%s+%s\n", priv_prefix, (int)s->key.name_len,
                 s->key.name, hex, b64);
    rc = vt_io_write_atomic(path, text, (size_t)n, 0600);
    vt_wipe(raw, sizeof(raw));
    vt_wipe(b64, sizeof(b64));
    vt_wipe(text, sizeof(text));
    return rc;
}

void vt_signer_wipe(vt_signer *s)
{
    vt_wipe(s, sizeof(*s));
}

int vt_vkey_load(vt_note_key *k, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
        uint8_t *buf;
        size_t len;
        int rc;
        if (vt_io_read(arg, &buf, &len, 4096) != 0)
            return -1;
        rc = vt_note_key_parse(k, (char *)buf, len) == VT_TLOG_OK ? 0 : -1;
        free(buf);
        if (rc)
            fprintf(stderr, "vitrum: %s: not a verifier key (name+id+key)\n", arg);
        return rc;
    }
    if (vt_note_key_parse(k, arg, strlen(arg)) != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: '%s': neither a verifier key file nor a verifier key\n", arg);
        return -1;
    }
    return 0;
}

static int sig_line(const vt_signer *s, const char *text, size_t text_len, uint64_t t,
                    char *line, size_t cap)
{
    uint8_t sig[72];
    size_t slen = 64;
    if (s->key.type == VT_NOTE_TYPE_COSIG_V1) {
        uint8_t msg[VT_NOTE_TEXT_MAX + 64];
        size_t mlen = vt_cosig_message(t, text, text_len, msg, sizeof(msg));
        if (mlen == 0 || vt_ed25519_sign(s->seed, msg, mlen, sig + 8) != 0)
            return -1;
        vt_put_be64(sig, t);
        slen = 72;
    } else if (vt_ed25519_sign(s->seed, text, text_len, sig) != 0) {
        return -1;
    }
    return vt_note_sig_line(&s->key, sig, slen, line, cap) ? 0 : -1;
}

int vt_note_sign(const char *text, size_t text_len, const vt_signer *signers, size_t n,
                 uint64_t t, char **out, size_t *out_len)
{
    size_t i, len = text_len + 1, cap = text_len + 1 + n * 512 + 1;
    char *p = malloc(cap);
    if (!p)
        return -1;
    memcpy(p, text, text_len);
    p[text_len] = '\n';
    for (i = 0; i < n; i++) {
        if (sig_line(&signers[i], text, text_len, t, p + len, cap - len) != 0) {
            free(p);
            return -1;
        }
        len += strlen(p + len);
    }
    *out = p;
    *out_len = len;
    return 0;
}

int vt_note_cosign(const char *note, size_t note_len, const vt_note *parsed,
                   const vt_signer *s, uint64_t t, char **out, size_t *out_len)
{
    char *p = malloc(note_len + 512);
    if (!p)
        return -1;
    memcpy(p, note, note_len);
    if (sig_line(s, parsed->text, parsed->text_len, t, p + note_len, 512) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    *out_len = note_len + strlen(p + note_len);
    return 0;
}

static bool take_line(const char *text, size_t len, size_t *pos, const char **l, size_t *n)
{
    const char *e;
    if (*pos >= len)
        return false;
    e = memchr(text + *pos, '\n', len - *pos);
    if (!e)
        return false;
    *l = text + *pos;
    *n = (size_t)(e - *l);
    *pos = (size_t)(e - text) + 1;
    return true;
}

int vt_proof_parse(vt_proof_file *p, const char *text, size_t len)
{
    const char *l, *sp;
    size_t n, pos = 0;

    memset(p, 0, sizeof(*p));
    if (!take_line(text, len, &pos, &l, &n) || n != 15 || memcmp(l, "vitrum-proof/v1", 15) != 0)
        return -1;
    if (!take_line(text, len, &pos, &l, &n))
        return -1;
    if (n > 10 && !memcmp(l, "inclusion ", 10)) {
        l += 10;
        n -= 10;
    } else if (n > 12 && !memcmp(l, "consistency ", 12)) {
        p->consistency = true;
        l += 12;
        n -= 12;
    } else {
        return -1;
    }
    sp = memchr(l, ' ', n);
    if (!sp || vt_parse_u64(l, (size_t)(sp - l), &p->a) != 0 ||
        vt_parse_u64(sp + 1, n - (size_t)(sp + 1 - l), &p->b) != 0)
        return -1;
    while (take_line(text, len, &pos, &l, &n)) {
        if (p->n == VT_TLOG_MAX_PROOF || vt_b64_decode(l, n, p->hash[p->n].h, 32) != 32)
            return -1;
        p->n++;
    }
    return pos == len ? 0 : -1;
}

char *vt_proof_format(const vt_proof_file *p)
{
    size_t cap = 64 + p->n * 46, len, i;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    len = (size_t)snprintf(out, cap, "vitrum-proof/v1\n%s %llu %llu\n",
                           p->consistency ? "consistency" : "inclusion",
                           (unsigned long long)p->a, (unsigned long long)p->b);
    for (i = 0; i < p->n; i++) {
        len += vt_b64_encode(p->hash[i].h, 32, out + len, cap - len);
        out[len++] = '\n';
    }
    out[len] = 0;
    return out;
}

void vt_key_file_base(const char *name, char *out, size_t cap)
{
    size_t i;
    for (i = 0; name[i] && i + 1 < cap; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
}
