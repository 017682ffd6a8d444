/* `vitrum log`: an append-only Merkle tree of release manifests
 * (RFC 6962 hashing), signed checkpoints (c2sp.org/tlog-checkpoint),
 * proofs, and static tiles (c2sp.org/tlog-tiles).  Layout and crash
 * safety: docs/TRANSPARENCY.md, "The log directory". */
#define _GNU_SOURCE
#include "log_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlog/tlog.h"
#include "tlog_io.h"
#include "common/be.h"

#define MAX_BUNDLE ((1ull << 32) + 65536)

static const char usage_log[] =
    "Usage: vitrum log init DIR --origin ORIGIN [--key KEY]\n"
    "       vitrum log add DIR BUNDLE... [--key VKEY]\n"
    "       vitrum log add DIR --batch FILE [BUNDLE...] [--key VKEY]\n"
    "       vitrum log checkpoint DIR\n"
    "       vitrum log prove DIR --index I [--size N]\n"
    "       vitrum log prove DIR --consistency OLD NEW\n"
    "       vitrum log prove DIR --bundle IN --out OUT\n"
    "       vitrum log verify CHECKPOINT --key VKEY [--proof FILE (--bundle B | --old CP)]\n"
    "       vitrum log tiles DIR OUTDIR\n"
    "\n"
    "init        create the log DIR for ORIGIN (its checkpoint origin line), signing\n"
    "            with KEY (a signer key file), or a new key named ORIGIN\n"
    "add         append the manifest of each BUNDLE (checked against VKEY if\n"
    "            given); prints each entry's index once it is durable; --batch\n"
    "            also reads bundle paths, one a line, from FILE (- for stdin):\n"
    "            the whole call is one durable commit\n"
    "checkpoint  sign and print a checkpoint of the whole tree (DIR/checkpoint)\n"
    "prove       print an inclusion proof of entry I in the tree of size N\n"
    "            (default: the whole tree), or a consistency proof between two\n"
    "            tree sizes; --bundle writes OUT, the bundle with the latest\n"
    "            checkpoint and the inclusion proof of its manifest added\n"
    "verify      check a checkpoint's signature by VKEY, and with --proof an\n"
    "            inclusion proof of B's manifest or a consistency proof from the\n"
    "            older checkpoint CP\n"
    "tiles       write the tree as C2SP tlog-tiles static files under OUTDIR\n"
    "            (tile/L/N, tile/entries/N, checkpoint) for the latest checkpoint\n"
    "\n"
    "Exit status: 0 done/verified, 1 refused or failed (with the reason),\n"
    "2 usage error.\n";

typedef struct {
    const char *dir;
    char origin[VT_NOTE_NAME_MAX + 256];
    int lock_fd;
    uint64_t size, data_end;
    vt_tlog_hash *leaves; /* the first `size` leaf hashes, when loaded */
    /* The hash store (store_open): `leaves` (level 0) and `nodes` (the
     * interior nodes in vt_tlog_node_pos order), read with pread. */
    int leaves_fd, nodes_fd;
    vt_tlog_hash *mem_nodes; /* a log without a complete `nodes` file, opened
                                read-only: its nodes computed in memory */
} vt_log;

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int read_small(const char *dir, const char *name, char *out, size_t cap)
{
    char path[4096];
    uint8_t *buf;
    size_t len;
    path_of(path, sizeof(path), dir, name);
    if (vt_io_read(path, &buf, &len, cap - 1) != 0)
        return -1;
    memcpy(out, buf, len + 1);
    free(buf);
    return 0;
}

static int read_tree(vt_log *l)
{
    char t[256];
    unsigned long long size, end;
    if (read_small(l->dir, "tree", t, sizeof(t)) != 0)
        return -1;
    if (sscanf(t, "vitrum-log-tree/v1\nsize %llu\ndata %llu\n", &size, &end) != 2) {
        fprintf(stderr, "vitrum: %s/tree: damaged\n", l->dir);
        return -1;
    }
    l->size = size;
    l->data_end = end;
    return 0;
}

static int write_tree(const vt_log *l, uint64_t size, uint64_t end)
{
    char t[256], path[4096];
    int n = snprintf(t, sizeof(t), "vitrum-log-tree/v1\nsize %llu\ndata %llu\n",
                     (unsigned long long)size, (unsigned long long)end);
    path_of(path, sizeof(path), l->dir, "tree");
    return vt_io_write_atomic(path, t, (size_t)n, 0644);
}

/* Open the log: origin, lock (exclusive for writers), committed size. */
static int log_open(vt_log *l, const char *dir, bool exclusive)
{
    char cfg[1024], path[4096], *o, *e;
    memset(l, 0, sizeof(*l));
    l->dir = dir;
    l->lock_fd = -1;
    l->leaves_fd = -1;
    l->nodes_fd = -1;
    if (read_small(dir, "config", cfg, sizeof(cfg)) != 0)
        return -1;
    if (strncmp(cfg, "vitrum-log/v1\norigin ", 21) != 0 || !(e = strchr(cfg + 21, '\n'))) {
        fprintf(stderr, "vitrum: %s/config: not a vitrum log\n", dir);
        return -1;
    }
    o = cfg + 21;
    *e = 0;
    snprintf(l->origin, sizeof(l->origin), "%s", o);
    path_of(path, sizeof(path), dir, "lock");
    l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->lock_fd < 0 || flock(l->lock_fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return read_tree(l);
}

static void log_close(vt_log *l)
{
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    if (l->leaves_fd >= 0)
        close(l->leaves_fd);
    if (l->nodes_fd >= 0)
        close(l->nodes_fd);
    free(l->leaves);
    free(l->mem_nodes);
    l->leaves = NULL;
    l->mem_nodes = NULL;
    l->leaves_fd = l->nodes_fd = -1;
}

static int load_leaves(vt_log *l)
{
    char path[4096];
    size_t want = (size_t)l->size * VT_TLOG_HASH_SIZE, got = 0;
    int fd;
    path_of(path, sizeof(path), l->dir, "leaves");
    l->leaves = malloc(want ? want : 1);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (!l->leaves || fd < 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (got < want) {
        ssize_t r = pread(fd, (uint8_t *)l->leaves + got, want - got, (off_t)got);
        if (r <= 0) {
            fprintf(stderr, "vitrum: %s: shorter than the committed tree (%llu entries)\n",
                    path, (unsigned long long)l->size);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

/* ---- the hash store: O(log size) reads per root or proof ---- */

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* vt_tlog_node_fn over the committed tree: leaves from `leaves`, interior
 * nodes from `nodes` (or mem_nodes). */
static int get_node(void *ctx, unsigned level, uint64_t index, vt_tlog_hash *out)
{
    const vt_log *l = ctx;
    uint64_t pos;
    if (level >= 63 || index >= (l->size >> level))
        return -1; /* not a complete node of the committed tree */
    if (level == 0)
        return pread_all(l->leaves_fd, out->h, 32, index * VT_TLOG_HASH_SIZE);
    pos = vt_tlog_node_pos(level, index);
    if (l->mem_nodes) {
        *out = l->mem_nodes[pos];
        return 0;
    }
    return pread_all(l->nodes_fd, out->h, 32, pos * VT_TLOG_HASH_SIZE);
}

/* Append leaf n (hash h) to a tree of n leaves whose frontier fr[L] holds
 * node (L, (n >> L) - 1) for every bit L set in n; the interior nodes it
 * completes go to out (at most 64), lowest first, as vt_tlog_node_pos
 * orders them.  Returns their number. */
static unsigned frontier_append(vt_tlog_hash fr[64], uint64_t n, const vt_tlog_hash *h,
                                vt_tlog_hash *out)
{
    vt_tlog_hash cur = *h;
    unsigned lv;
    for (lv = 0; (n >> lv) & 1; lv++) {
        vt_tlog_node_hash(&fr[lv], &cur, &cur);
        out[lv] = cur;
    }
    fr[lv] = cur;
    return lv;
}

/* All interior nodes of the first l->size leaves (loaded), malloc'd. */
static vt_tlog_hash *build_nodes(const vt_log *l)
{
    uint64_t count = vt_tlog_node_count(l->size), pos = 0, i;
    vt_tlog_hash fr[64], *nodes = malloc((count ? count : 1) * sizeof(*nodes));
    if (!nodes)
        return NULL;
    for (i = 0; i < l->size; i++)
        pos += frontier_append(fr, i, &l->leaves[i], nodes + pos);
    return nodes;
}

/* Open the hash store of the committed tree.  `nodes` is derived from
 * `leaves`: a writer truncates what an interrupted add left after the
 * committed end, and (re)builds a missing or short file (a log made before
 * the file existed); a reader computes the nodes in memory instead. */
static int store_open(vt_log *l, bool writer)
{
    char path[4096];
    uint64_t want = vt_tlog_node_count(l->size) * VT_TLOG_HASH_SIZE;
    struct stat st;

    path_of(path, sizeof(path), l->dir, "leaves");
    l->leaves_fd = open(path, (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (l->leaves_fd < 0 || fstat(l->leaves_fd, &st) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if ((uint64_t)st.st_size < l->size * VT_TLOG_HASH_SIZE) {
        fprintf(stderr, "vitrum: %s: shorter than the committed tree (%llu entries)\n", path,
                (unsigned long long)l->size);
        return -1;
    }
    path_of(path, sizeof(path), l->dir, "nodes");
    l->nodes_fd = open(path, writer ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0644);
    if (l->nodes_fd >= 0 && fstat(l->nodes_fd, &st) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (l->nodes_fd >= 0 && (uint64_t)st.st_size >= want)
        return writer && ftruncate(l->nodes_fd, (off_t)want) != 0 ? -1 : 0;
    if (writer && l->nodes_fd < 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* Missing or short: rebuild from the leaves. */
    if (load_leaves(l) != 0 || !(l->mem_nodes = build_nodes(l)))
        return -1;
    if (writer) {
        if (ftruncate(l->nodes_fd, 0) != 0 ||
            vt_io_write_all(l->nodes_fd, l->mem_nodes, (size_t)want) != 0 ||
            fdatasync(l->nodes_fd) != 0) {
            fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
            return -1;
        }
        free(l->mem_nodes);
        l->mem_nodes = NULL;
    }
    free(l->leaves);
    l->leaves = NULL;
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = { { "origin", required_argument, NULL, 'o' },
                                          { "key", required_argument, NULL, 'k' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *origin = NULL, *key = NULL, *dir;
    char path[4096], text[1024], vk[512];
    vt_signer s;
    vt_log l;
    int c, fd;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': origin = optarg; break;
        case 'k': key = optarg; break;
        case 'h': fputs(usage_log, stdout); return 0;
        default: fputs(usage_log, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !origin) {
        fputs(usage_log, stderr);
        return 2;
    }
    dir = argv[optind];
    if (!*origin || strchr(origin, '\n') || strlen(origin) > 255) {
        fprintf(stderr, "vitrum: --origin must be one non-empty line\n");
        return 2;
    }
    if (key ? vt_signer_load(&s, key) != 0
            : vt_signer_generate(&s, origin, VT_NOTE_TYPE_ED25519) != 0)
        return 1;
    if (s.key.type != VT_NOTE_TYPE_ED25519) {
        fprintf(stderr, "vitrum: %s: a log key must be an Ed25519 (type 1) key\n", key);
        vt_signer_wipe(&s);
        return 1;
    }
    if (mkdir(dir, 0755) != 0) {
        fprintf(stderr, "vitrum: %s: %s (a new log needs a new directory)\n", dir,
                strerror(errno));
        vt_signer_wipe(&s);
        return 1;
    }
    path_of(path, sizeof(path), dir, "log.key");
    if (vt_signer_save(&s, path) != 0) {
        vt_signer_wipe(&s);
        return 1;
    }
    vt_note_key_format(&s.key, vk, sizeof(vk));
    vt_signer_wipe(&s);
    strcat(vk, "\n");
    path_of(path, sizeof(path), dir, "log.pub");
    if (vt_io_write_atomic(path, vk, strlen(vk), 0644) != 0)
        return 1;
    path_of(path, sizeof(path), dir, "data");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || fsync(fd) != 0)
        return 1;
    close(fd);
    path_of(path, sizeof(path), dir, "leaves");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || fsync(fd) != 0)
        return 1;
    close(fd);
    memset(&l, 0, sizeof(l));
    l.dir = dir;
    if (write_tree(&l, 0, 0) != 0)
        return 1;
    /* The config last: a directory without it is not a log. */
    snprintf(text, sizeof(text), "vitrum-log/v1\norigin %s\n", origin);
    path_of(path, sizeof(path), dir, "config");
    if (vt_io_write_atomic(path, text, strlen(text), 0644) != 0)
        return 1;
    fputs(vk, stdout);
    return 0;
}

/* The signed manifest note of a bundle file: *buf is the malloc'd file,
 * *note points into it. */
static int bundle_manifest(const char *path, const vt_note_key *key, uint8_t **buf,
                           const uint8_t **note, size_t *len)
{
    size_t blen;
    vt_bundle b;
    vt_note n;
    vt_manifest m;
    vt_tlog_rc rc;

    if (vt_io_read(path, buf, &blen, MAX_BUNDLE) != 0)
        return -1;
    rc = vt_bundle_parse(&b, *buf, blen);
    if (rc == VT_TLOG_OK)
        rc = vt_note_parse(&n, (const char *)b.manifest, b.manifest_len);
    if (rc == VT_TLOG_OK)
        rc = vt_manifest_parse(&m, n.text, n.text_len);
    if (rc == VT_TLOG_OK && key)
        rc = vt_note_verify(&n, key, 1, NULL, NULL);
    if (rc != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: %s: refused: %s\n", path,
                rc == VT_TLOG_EFORMAT ? "not a bundle with a valid manifest"
                                      : vt_tlog_strerror(rc));
        free(*buf);
        *buf = NULL;
        return -1;
    }
    *note = b.manifest;
    *len = b.manifest_len;
    return 0;
}

static int open_at_end(const char *dir, const char *name, uint64_t end)
{
    char path[4096];
    int fd;
    path_of(path, sizeof(path), dir, name);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    /* Drop what an interrupted add left after the committed end. */
    if (fd < 0 || ftruncate(fd, (off_t)end) != 0 || lseek(fd, (off_t)end, SEEK_SET) < 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* An append buffer in front of a file descriptor. */
typedef struct {
    int fd;
    uint8_t *b;
    size_t n, cap;
    uint64_t off; /* file offset of b[0] */
} wbuf;

static int pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, (const uint8_t *)p + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int wb_flush(wbuf *w)
{
    if (w->n && pwrite_all(w->fd, w->b, w->n, w->off) != 0)
        return -1;
    w->off += w->n;
    w->n = 0;
    return 0;
}

static int wb_put(wbuf *w, const void *p, size_t len)
{
    if (w->n + len > w->cap && wb_flush(w) != 0)
        return -1;
    if (len > w->cap) { /* larger than the buffer: write through */
        if (pwrite_all(w->fd, p, len, w->off) != 0)
            return -1;
        w->off += len;
        return 0;
    }
    memcpy(w->b + w->n, p, len);
    w->n += len;
    return 0;
}

/* A writer's append session: the three files at their committed ends and
 * the frontier of the committed tree. */
typedef struct {
    vt_log *l;
    wbuf data, leaves, nodes;
    uint64_t size, end; /* uncommitted size and data length */
    vt_tlog_hash fr[64];
} appender;

#define WBUF_CAP (1u << 20)

static int app_open(appender *a, vt_log *l)
{
    unsigned lv;
    memset(a, 0, sizeof(*a));
    a->l = l;
    a->data.fd = -1;
    if (store_open(l, true) != 0)
        return -1;
    a->data.fd = open_at_end(l->dir, "data", l->data_end);
    if (a->data.fd < 0 || ftruncate(l->leaves_fd, (off_t)(l->size * VT_TLOG_HASH_SIZE)) != 0)
        return -1;
    a->data.off = l->data_end;
    a->leaves.fd = l->leaves_fd;
    a->leaves.off = l->size * VT_TLOG_HASH_SIZE;
    a->nodes.fd = l->nodes_fd;
    a->nodes.off = vt_tlog_node_count(l->size) * VT_TLOG_HASH_SIZE;
    a->data.cap = a->leaves.cap = a->nodes.cap = WBUF_CAP;
    a->data.b = malloc(WBUF_CAP);
    a->leaves.b = malloc(WBUF_CAP);
    a->nodes.b = malloc(WBUF_CAP);
    if (!a->data.b || !a->leaves.b || !a->nodes.b)
        return -1;
    a->size = l->size;
    a->end = l->data_end;
    for (lv = 0; lv < 63; lv++)
        if (((l->size >> lv) & 1) && get_node(l, lv, (l->size >> lv) - 1, &a->fr[lv]) != 0) {
            fprintf(stderr, "vitrum: %s/nodes: damaged\n", l->dir);
            return -1;
        }
    return 0;
}

static void app_close(appender *a)
{
    if (a->data.fd >= 0)
        close(a->data.fd);
    free(a->data.b);
    free(a->leaves.b);
    free(a->nodes.b);
}

static int app_add(appender *a, const uint8_t *note, size_t len)
{
    vt_tlog_hash h, made[64];
    uint8_t hdr[4];
    unsigned k;
    vt_tlog_leaf_hash(note, len, &h);
    k = frontier_append(a->fr, a->size, &h, made);
    vt_put_be32(hdr, (uint32_t)len);
    if (wb_put(&a->data, hdr, 4) != 0 || wb_put(&a->data, note, len) != 0 ||
        wb_put(&a->leaves, h.h, 32) != 0 || wb_put(&a->nodes, made, k * sizeof(made[0])) != 0) {
        fprintf(stderr, "vitrum: %s: write failed: %s\n", a->l->dir, strerror(errno));
        return -1;
    }
    a->size++;
    a->end += 4 + len;
    return 0;
}

/* Durable order: the entries, leaf hashes and nodes, then the tree file
 * that commits them (written to a temporary file, fsync, rename, fsync of
 * the directory). */
static int app_commit(appender *a)
{
    if (wb_flush(&a->data) != 0 || wb_flush(&a->leaves) != 0 || wb_flush(&a->nodes) != 0 ||
        fdatasync(a->data.fd) != 0 || fdatasync(a->leaves.fd) != 0 ||
        fdatasync(a->nodes.fd) != 0 || write_tree(a->l, a->size, a->end) != 0) {
        fprintf(stderr, "vitrum: %s: could not commit: %s\n", a->l->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Strip the line end of a batch line; false for an empty line. */
static bool batch_line(char *line, ssize_t n)
{
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    return n > 0;
}

static int add_bundle(appender *a, const char *path, const vt_note_key *key)
{
    const uint8_t *note;
    uint8_t *buf;
    size_t len;
    int rc;
    if (bundle_manifest(path, key, &buf, &note, &len) != 0)
        return -1;
    rc = app_add(a, note, len);
    free(buf);
    return rc;
}

static int cmd_add(int argc, char **argv)
{
    static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
                                          { "batch", required_argument, NULL, 'b' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    vt_note_key key;
    bool have_key = false;
    const char *batch = NULL;
    FILE *bf = NULL;
    char *line = NULL;
    size_t linecap = 0;
    appender a;
    vt_log l;
    int c, rc = 1, i;
    uint64_t first;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (vt_vkey_load(&key, optarg) != 0)
                return 2;
            have_key = true;
            break;
        case 'b': batch = optarg; break;
        case 'h': fputs(usage_log, stdout); return 0;
        default: fputs(usage_log, stderr); return 2;
        }
    }
    if (optind + 1 > argc || (!batch && optind + 2 > argc)) {
        fputs(usage_log, stderr);
        return 2;
    }
    if (batch) {
        bf = strcmp(batch, "-") ? fopen(batch, "re") : stdin;
        if (!bf) {
            fprintf(stderr, "vitrum: %s: %s\n", batch, strerror(errno));
            return 1;
        }
    }
    memset(&a, 0, sizeof(a));
    a.data.fd = -1;
    if (log_open(&l, argv[optind], true) != 0 || app_open(&a, &l) != 0)
        goto done;
    first = l.size;
    /* The bundles named as operands, then those listed in the batch file,
     * all committed together. */
    for (i = optind + 1; i < argc; i++)
        if (add_bundle(&a, argv[i], have_key ? &key : NULL) != 0)
            goto done;
    while (bf) {
        ssize_t n = getline(&line, &linecap, bf);
        if (n < 0)
            break;
        if (batch_line(line, n) && add_bundle(&a, line, have_key ? &key : NULL) != 0)
            goto done;
    }
    if (bf && ferror(bf)) {
        fprintf(stderr, "vitrum: %s: read error\n", batch);
        goto done;
    }
    if (a.size == first) {
        fprintf(stderr, "vitrum: %s: no bundle to add\n", batch ? batch : argv[optind]);
        goto done;
    }
    if (app_commit(&a) != 0)
        goto done;
    /* Only now that the batch is durable. */
    for (; first < a.size; first++)
        printf("index %llu\n", (unsigned long long)first);
    rc = 0;
done:
    free(line);
    if (bf && bf != stdin)
        fclose(bf);
    app_close(&a);
    log_close(&l);
    return rc;
}

/* The checkpoint of the current tree, signed; malloc'd note. */
static int make_checkpoint(vt_log *l, char **note, size_t *len)
{
    char path[4096], text[1024], b64[64];
    vt_tlog_hash root;
    vt_signer s;
    int n, rc;

    if (vt_tlog_root_nodes(get_node, l, l->size, &root) != VT_TLOG_OK)
        return -1;
    vt_b64_encode(root.h, 32, b64, sizeof(b64));
    n = snprintf(text, sizeof(text), "%s\n%llu\n%s\n", l->origin,
                 (unsigned long long)l->size, b64);
    path_of(path, sizeof(path), l->dir, "log.key");
    if (vt_signer_load(&s, path) != 0)
        return -1;
    rc = vt_note_sign(text, (size_t)n, &s, 1, 0, note, len);
    vt_signer_wipe(&s);
    return rc;
}

static int cmd_checkpoint(int argc, char **argv)
{
    char *note = NULL;
    size_t len;
    vt_log l;
    int rc = 1;

    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage_log, argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    if (log_open(&l, argv[1], true) == 0 && store_open(&l, true) == 0 &&
        make_checkpoint(&l, &note, &len) == 0) {
        char path[4096];
        path_of(path, sizeof(path), l.dir, "checkpoint");
        if (vt_io_write_atomic(path, note, len, 0644) == 0) {
            fwrite(note, 1, len, stdout);
            rc = 0;
        }
    }
    free(note);
    log_close(&l);
    return rc;
}

/* Read and verify a checkpoint note file with key; fills c (pointing into
 * *buf, which the caller frees). */
static int load_checkpoint(const char *path, const vt_note_key *key, uint8_t **buf,
                           size_t *len, vt_checkpoint *c)
{
    vt_note n;
    vt_tlog_rc rc;
    if (vt_io_read(path, buf, len, VT_BUNDLE_MAX_NOTE) != 0)
        return -1;
    rc = vt_note_parse(&n, (const char *)*buf, *len);
    if (rc == VT_TLOG_OK && key)
        rc = vt_note_verify(&n, key, 1, NULL, NULL);
    if (rc == VT_TLOG_OK)
        rc = vt_checkpoint_parse(c, n.text, n.text_len);
    if (rc != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: %s: refused: %s\n", path,
                rc == VT_TLOG_EFORMAT ? "not a checkpoint note" : vt_tlog_strerror(rc));
        free(*buf);
        *buf = NULL;
        return -1;
    }
    return 0;
}

static int prove_bundle(vt_log *l, const char *in, const char *out)
{
    char path[4096];
    uint8_t *buf = NULL, *cp = NULL, *res = NULL;
    size_t blen, cplen, n, pos, i;
    vt_bundle b;
    vt_checkpoint c;
    vt_tlog_hash leaf, proof[64];
    uint64_t idx;
    int rc = 1;

    path_of(path, sizeof(path), l->dir, "checkpoint");
    if (load_checkpoint(path, NULL, &cp, &cplen, &c) != 0)
        return 1;
    if (c.size > l->size) {
        fprintf(stderr, "vitrum: %s: checkpoint larger than the tree\n", path);
        goto done;
    }
    if (vt_io_read(in, &buf, &blen, MAX_BUNDLE) != 0)
        goto done;
    if (vt_bundle_parse(&b, buf, blen) != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: %s: not a bundle\n", in);
        goto done;
    }
    vt_tlog_leaf_hash(b.manifest, b.manifest_len, &leaf);
    /* The first entry with this leaf hash: a scan of `leaves` in chunks. */
    for (idx = 0; idx < c.size;) {
        vt_tlog_hash chunk[4096];
        size_t k, w = c.size - idx < 4096 ? (size_t)(c.size - idx) : 4096;
        if (pread_all(l->leaves_fd, chunk, w * sizeof(chunk[0]), idx * VT_TLOG_HASH_SIZE) != 0)
            goto done;
        for (k = 0; k < w && memcmp(chunk[k].h, leaf.h, 32); k++)
            ;
        idx += k;
        if (k < w)
            break;
    }
    if (idx == c.size) {
        fprintf(stderr, "vitrum: %s: its manifest is not in the log's latest checkpoint "
                        "(vitrum log add, then vitrum log checkpoint)\n", in);
        goto done;
    }
    if (vt_tlog_prove_inclusion_nodes(get_node, l, idx, c.size, proof, 64, &n) != VT_TLOG_OK)
        goto done;
    res = malloc(blen + cplen + 32 + 8 + n * 32);
    if (!res)
        goto done;
    pos = VT_BUNDLE_MAGIC_LEN;
    memcpy(res, VT_BUNDLE_MAGIC, pos);
    res[pos] = VT_BUNDLE_MANIFEST;
    vt_put_be32(res + pos + 1, (uint32_t)b.manifest_len);
    memcpy(res + pos + 5, b.manifest, b.manifest_len);
    pos += 5 + b.manifest_len;
    if (b.payload) {
        res[pos] = VT_BUNDLE_PAYLOAD;
        vt_put_be32(res + pos + 1, (uint32_t)b.payload_len);
        memcpy(res + pos + 5, b.payload, b.payload_len);
        pos += 5 + b.payload_len;
    }
    res[pos] = VT_BUNDLE_CHECKPOINT;
    vt_put_be32(res + pos + 1, (uint32_t)cplen);
    memcpy(res + pos + 5, cp, cplen);
    pos += 5 + cplen;
    res[pos] = VT_BUNDLE_INCLUSION;
    vt_put_be32(res + pos + 1, (uint32_t)(8 + n * 32));
    vt_put_be64(res + pos + 5, idx);
    for (i = 0; i < n; i++)
        memcpy(res + pos + 13 + 32 * i, proof[i].h, 32);
    pos += 13 + n * 32;
    if (vt_io_write_atomic(out, res, pos, 0644) == 0) {
        printf("index %llu in checkpoint of size %llu\n", (unsigned long long)idx,
               (unsigned long long)c.size);
        rc = 0;
    }
done:
    free(res);
    free(buf);
    free(cp);
    return rc;
}

static int cmd_prove(int argc, char **argv)
{
    static const struct option opts[] = { { "index", required_argument, NULL, 'i' },
                                          { "size", required_argument, NULL, 's' },
                                          { "consistency", required_argument, NULL, 'c' },
                                          { "bundle", required_argument, NULL, 'b' },
                                          { "out", required_argument, NULL, 'o' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *index = NULL, *size = NULL, *old = NULL, *bundle = NULL, *out = NULL, *neu;
    vt_proof_file p;
    vt_tlog_rc trc;
    vt_log l;
    char *text;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': index = optarg; break;
        case 's': size = optarg; break;
        case 'c': old = optarg; break;
        case 'b': bundle = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage_log, stdout); return 0;
        default: fputs(usage_log, stderr); return 2;
        }
    }
    /* --consistency OLD NEW: NEW is the second operand. */
    if (optind >= argc || (!index + !old + !bundle) != 2 || (bundle && !out) ||
        (old && optind + 2 != argc) || (!old && optind + 1 != argc)) {
        fputs(usage_log, stderr);
        return 2;
    }
    memset(&p, 0, sizeof(p));
    if (log_open(&l, argv[optind], false) != 0 || store_open(&l, false) != 0)
        goto done;
    if (bundle) {
        rc = prove_bundle(&l, bundle, out);
        goto done;
    }
    p.b = l.size;
    if (old) {
        neu = argv[optind + 1];
        p.consistency = true;
        if (vt_parse_u64(old, strlen(old), &p.a) != 0 ||
            vt_parse_u64(neu, strlen(neu), &p.b) != 0) {
            rc = 2;
            fputs(usage_log, stderr);
            goto done;
        }
    } else if (vt_parse_u64(index, strlen(index), &p.a) != 0 ||
               (size && vt_parse_u64(size, strlen(size), &p.b) != 0)) {
        rc = 2;
        fputs(usage_log, stderr);
        goto done;
    }
    if (p.b > l.size || (p.consistency ? p.a > p.b : p.a >= p.b)) {
        fprintf(stderr, "vitrum: %s: out of range (the tree has %llu entries)\n", l.dir,
                (unsigned long long)l.size);
        goto done;
    }
    trc = p.consistency
              ? vt_tlog_prove_consistency_nodes(get_node, &l, p.a, p.b, p.hash,
                                                VT_TLOG_MAX_PROOF, &p.n)
              : vt_tlog_prove_inclusion_nodes(get_node, &l, p.a, p.b, p.hash,
                                              VT_TLOG_MAX_PROOF, &p.n);
    if (trc != VT_TLOG_OK || !(text = vt_proof_format(&p))) {
        fprintf(stderr, "vitrum: %s: %s\n", l.dir, vt_tlog_strerror(trc));
        goto done;
    }
    fputs(text, stdout);
    free(text);
    rc = 0;
done:
    log_close(&l);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
                                          { "proof", required_argument, NULL, 'p' },
                                          { "bundle", required_argument, NULL, 'b' },
                                          { "old", required_argument, NULL, 'o' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *proof = NULL, *bundle = NULL, *old = NULL;
    vt_note_key key;
    bool have_key = false;
    uint8_t *cp = NULL, *ocp = NULL, *pf = NULL, *note = NULL;
    size_t cplen, ocplen, pflen, nlen;
    vt_checkpoint c, oc;
    vt_proof_file p;
    vt_tlog_rc trc;
    int ch, rc = 1;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'k':
            if (vt_vkey_load(&key, optarg) != 0)
                return 2;
            have_key = true;
            break;
        case 'p': proof = optarg; break;
        case 'b': bundle = optarg; break;
        case 'o': old = optarg; break;
        case 'h': fputs(usage_log, stdout); return 0;
        default: fputs(usage_log, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !have_key || (proof && !bundle == !old) || (!proof && (bundle || old))) {
        fputs(usage_log, stderr);
        return 2;
    }
    if (load_checkpoint(argv[optind], &key, &cp, &cplen, &c) != 0)
        return 1;
    if (!proof) {
        printf("checkpoint %.*s size %llu verified\n", (int)c.origin_len, c.origin,
               (unsigned long long)c.size);
        free(cp);
        return 0;
    }
    if (vt_io_read(proof, &pf, &pflen, 1u << 20) != 0)
        goto done;
    if (vt_proof_parse(&p, (char *)pf, pflen) != 0) {
        fprintf(stderr, "vitrum: %s: not a proof file\n", proof);
        goto done;
    }
    if (bundle) {
        vt_tlog_hash leaf;
        if (p.consistency || p.b != c.size) {
            fprintf(stderr, "vitrum: %s: not an inclusion proof for a tree of size %llu\n",
                    proof, (unsigned long long)c.size);
            goto done;
        }
        const uint8_t *mnote;
        if (bundle_manifest(bundle, NULL, &note, &mnote, &nlen) != 0)
            goto done;
        vt_tlog_leaf_hash(mnote, nlen, &leaf);
        trc = vt_tlog_verify_inclusion(&leaf, p.a, p.b, p.hash, p.n, &c.root);
        if (trc != VT_TLOG_OK) {
            fprintf(stderr, "vitrum: refused: %s is not entry %llu of the checkpoint: %s\n",
                    bundle, (unsigned long long)p.a, vt_tlog_strerror(trc));
            goto done;
        }
        printf("entry %llu in checkpoint %.*s size %llu verified\n", (unsigned long long)p.a,
               (int)c.origin_len, c.origin, (unsigned long long)c.size);
    } else {
        if (load_checkpoint(old, &key, &ocp, &ocplen, &oc) != 0)
            goto done;
        if (!p.consistency || p.a != oc.size || p.b != c.size) {
            fprintf(stderr, "vitrum: %s: not a consistency proof from %llu to %llu\n", proof,
                    (unsigned long long)oc.size, (unsigned long long)c.size);
            goto done;
        }
        trc = vt_tlog_verify_consistency(oc.size, c.size, &oc.root, &c.root, p.hash, p.n);
        if (trc != VT_TLOG_OK) {
            fprintf(stderr, "vitrum: refused: the checkpoints are not consistent: %s\n",
                    vt_tlog_strerror(trc));
            goto done;
        }
        printf("consistent: size %llu -> %llu verified\n", (unsigned long long)oc.size,
               (unsigned long long)c.size);
    }
    rc = 0;
done:
    free(cp);
    free(ocp);
    free(pf);
    free(note);
    return rc;
}

/* ---- tiles (c2sp.org/tlog-tiles) ---- */

static int mkdirs_for(char *path)
{
    char *s;
    for (s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    return 0;
}

/* "<out>/tile/<level>/<N>[.p/<W>]"; level < 0 is "entries". */
static void tile_path(char *out, size_t cap, const char *dir, int level, uint64_t n,
                      unsigned width)
{
    char groups[64], tmp[64];
    size_t len;
    snprintf(groups, sizeof(groups), "%03u", (unsigned)(n % 1000));
    for (n /= 1000; n; n /= 1000) {
        snprintf(tmp, sizeof(tmp), "x%03u/%s", (unsigned)(n % 1000), groups);
        memcpy(groups, tmp, sizeof(groups));
    }
    if (level < 0)
        len = (size_t)snprintf(out, cap, "%s/tile/entries/%s", dir, groups);
    else
        len = (size_t)snprintf(out, cap, "%s/tile/%d/%s", dir, level, groups);
    if (width)
        snprintf(out + len, cap - len, ".p/%u", width);
}

static int write_tile(const char *path_in, const void *data, size_t len, bool full)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", path_in);
    if (full && access(path, F_OK) == 0)
        return 0; /* full tiles are immutable */
    if (mkdirs_for(path) != 0)
        return -1;
    /* Made durable all at once (syncfs) before the checkpoint is written. */
    return vt_io_write_replace(path, data, len, 0644);
}

static int cmd_tiles(int argc, char **argv)
{
    char path[4096];
    uint8_t *cp = NULL, *data = NULL, *bundle = NULL;
    size_t cplen, dlen, i, pos;
    vt_tlog_hash *row = NULL;
    vt_checkpoint c;
    vt_log l;
    uint64_t count, t, e;
    int level, rc = 1;

    if (argc != 3) {
        fputs(usage_log, stderr);
        return 2;
    }
    if (log_open(&l, argv[1], false) != 0 || load_leaves(&l) != 0)
        goto done;
    path_of(path, sizeof(path), l.dir, "checkpoint");
    if (load_checkpoint(path, NULL, &cp, &cplen, &c) != 0)
        goto done;
    if (c.size > l.size)
        goto done;
    if (mkdir(argv[2], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "vitrum: %s: %s\n", argv[2], strerror(errno));
        goto done;
    }
    /* Hash tiles: level L holds the hashes at height 8L. */
    count = c.size;
    row = malloc((count ? count : 1) * sizeof(*row));
    if (!row)
        goto done;
    memcpy(row, l.leaves, count * sizeof(*row));
    for (level = 0; count > 0; level++) {
        int h;
        for (t = 0; t < (count + 255) / 256; t++) {
            uint64_t left = count - t * 256;
            unsigned w = left >= 256 ? 256u : (unsigned)left;
            tile_path(path, sizeof(path), argv[2], level, t, w == 256 ? 0 : w);
            if (write_tile(path, row + t * 256, w * sizeof(*row), w == 256) != 0)
                goto done;
        }
        for (h = 0; h < 8; h++) {
            for (i = 0; i < count / 2; i++)
                vt_tlog_node_hash(&row[2 * i], &row[2 * i + 1], &row[i]);
            count /= 2;
        }
    }
    /* Entry bundles: big-endian uint16 length-prefixed entries. */
    path_of(path, sizeof(path), l.dir, "data");
    if (vt_io_read(path, &data, &dlen, SIZE_MAX / 2) != 0)
        goto done;
    if (dlen > l.data_end) /* what an interrupted add left */
        dlen = (size_t)l.data_end;
    bundle = malloc(256 * (2 + 65535));
    if (!bundle)
        goto done;
    pos = 0;
    for (t = 0; t < (c.size + 255) / 256; t++) {
        size_t blen = 0;
        uint64_t left = c.size - t * 256;
        unsigned w = left >= 256 ? 256u : (unsigned)left;
        for (e = 0; e < w; e++) {
            uint32_t n;
            if (dlen - pos < 4 || (n = vt_get_be32(data + pos)) > dlen - pos - 4 || n > 65535) {
                fprintf(stderr, "vitrum: %s/data: damaged\n", l.dir);
                goto done;
            }
            vt_put_be16(bundle + blen, (uint16_t)n);
            memcpy(bundle + blen + 2, data + pos + 4, n);
            blen += 2 + n;
            pos += 4 + n;
        }
        tile_path(path, sizeof(path), argv[2], -1, t, w == 256 ? 0 : w);
        if (write_tile(path, bundle, blen, w == 256) != 0)
            goto done;
    }
    /* The checkpoint last, so every tile it needs is there, on disk. */
    {
        int dfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || syncfs(dfd) != 0) {
            fprintf(stderr, "vitrum: %s: %s\n", argv[2], strerror(errno));
            if (dfd >= 0)
                close(dfd);
            goto done;
        }
        close(dfd);
    }
    path_of(path, sizeof(path), argv[2], "checkpoint");
    if (vt_io_write_atomic(path, cp, cplen, 0644) != 0)
        goto done;
    printf("tiles for size %llu in %s\n", (unsigned long long)c.size, argv[2]);
    rc = 0;
done:
    free(row);
    free(cp);
    free(data);
    free(bundle);
    log_close(&l);
    return rc;
}

int vt_log_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_log, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "init"))
        return cmd_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "add"))
        return cmd_add(argc - 1, argv + 1);
    if (!strcmp(argv[1], "checkpoint"))
        return cmd_checkpoint(argc - 1, argv + 1);
    if (!strcmp(argv[1], "prove"))
        return cmd_prove(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify"))
        return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tiles"))
        return cmd_tiles(argc - 1, argv + 1);
    fprintf(stderr, "vitrum: log: unknown command '%s' (see vitrum log --help)\n", argv[1]);
    return 2;
}
