/* Many vTPMs in one process (server/instances.h, docs/SWTPM.md).
 *
 * The protocol and the poll loop are swtpm.c's (vt_sw_host_run); this file
 * finds the instances (the subdirectories of DIR), makes their sockets, and
 * opens an instance's state and engine when a client connects and releases
 * them when the loop finds the instance idle.  Each instance has its own
 * store (its own lock, slot files, journal and key), its own engine and its
 * own connections: nothing is shared between two of them but the process's
 * code and its crypto library. */
#define _GNU_SOURCE
#include "server/instances.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vitrum/version.h"
#include "platform/platform_posix.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/sandbox.h"
#include "server/swtpm.h"
#include "store/seal.h"
#include "store/store.h"

/* The owner key reaches each instance's store through this variable, which
 * vt_store_set_key reads and unsets at once ("env:" key SPEC): the key SPEC
 * itself (fd:N, env:NAME) can be read only once, at start. */
#define KEY_ENV "VITRUM_INSTANCE_KEY_"

typedef struct {
    char name[VT_INSTANCE_NAME_MAX + 1];
    char sock_path[2][sizeof(((struct sockaddr_un *)0)->sun_path)]; /* .ctrl, .data */
    ino_t sock_ino[2];
    bool seen, removed;
    int dir_fd;      /* DIR/NAME, opened without following a link, while open */
    vt_store *store; /* while open */
    vt_sw_inst in;
} instance;

typedef struct {
    const vt_instances_cfg *cfg;
    char dir[4096];
    int dir_fd;
    vt_key_material *key;
    vt_sw_inst **list;
    size_t n, cap;
    size_t open_count;
    size_t save_failed; /* instances whose state could not be saved on release */
    bool proc_fd;       /* /proc/self/fd/N reaches an open directory */
    bool mlock_warned;
} host;

bool vt_instance_name_ok(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > VT_INSTANCE_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return !(n > 5 && (!strcmp(name + n - 5, ".ctrl") || !strcmp(name + n - 5, ".data")));
}

/* ---- opening and releasing an instance ---- */

/* Log a store error, naming DIR/NAME where the store knows its directory
 * as /proc/self/fd/N. */
static void log_store_err(const host *H, const instance *x, const char *path)
{
    const char *err = x->store->err, *at = strstr(err, path);
    if (at)
        vt_log(VT_LOG_ERROR, "instance %s: %.*s%s/%s%s", x->name, (int)(at - err), err, H->dir, x->name,
               at + strlen(path));
    else
        vt_log(VT_LOG_ERROR, "instance %s: %s", x->name, err);
}

static int set_key(host *H, instance *x)
{
    char val[2 * VT_SEAL_MAX_PASSPHRASE + 1];
    int rc;

    if (H->key->passphrase) {
        memcpy(val, H->key->bytes, H->key->len);
        val[H->key->len] = '\0';
    } else {
        vt_hex_encode(H->key->bytes, H->key->len, val);
    }
    rc = setenv(KEY_ENV, val, 1);
    vt_seal_wipe(val, sizeof(val));
    if (rc != 0) {
        snprintf(x->store->err, sizeof(x->store->err), "cannot hand the key to the store");
        return -1;
    }
    return vt_store_set_key(x->store, "env:" KEY_ENV); /* reads, wipes and unsets it */
}

static void close_state(instance *x)
{
    if (x->in.cfg.volatile_fd >= 0)
        close(x->in.cfg.volatile_fd);
    x->in.cfg.volatile_fd = -1;
    x->in.cfg.volatile_key = NULL;
    x->in.cfg.store = NULL;
    if (x->store) {
        vt_store_close(x->store);
        free(x->store);
    }
    x->store = NULL;
    if (x->dir_fd >= 0)
        close(x->dir_fd);
    x->dir_fd = -1;
}

static int inst_open(vt_sw_host *h, vt_sw_inst *in)
{
    host *H = h->ctx;
    instance *x = in->host_data;
    char path[sizeof(H->dir) + VT_INSTANCE_NAME_MAX + 2];
    struct stat want, got;
    vt_platform plat;
    vt_status st;

    if (x->removed)
        return -1;
    /* The directory itself, never what a link put in its place points to;
     * the store then reaches it through this descriptor. */
    x->dir_fd = openat(H->dir_fd, x->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (x->dir_fd < 0) {
        vt_log(VT_LOG_ERROR, "instance %s: cannot open %s/%s: %s", x->name, H->dir, x->name,
               errno == ELOOP || errno == ENOTDIR ? "not a directory (a symbolic link is not served)"
                                                   : strerror(errno));
        return -1;
    }
    if (H->proc_fd)
        snprintf(path, sizeof(path), "/proc/self/fd/%d", x->dir_fd);
    else /* no /proc: by name, and checked to be the same directory below */
        snprintf(path, sizeof(path), "%s/%s", H->dir, x->name);
    x->store = calloc(1, sizeof(*x->store));
    if (!x->store) {
        close_state(x);
        return -1;
    }
    if (vt_store_open(x->store, path) != 0 || (H->key && set_key(H, x) != 0)) {
        log_store_err(H, x, path);
        close_state(x);
        return -1;
    }
    if (fstat(x->dir_fd, &want) != 0 || fstat(x->store->dir_fd, &got) != 0 || want.st_dev != got.st_dev ||
        want.st_ino != got.st_ino) {
        vt_log(VT_LOG_ERROR, "instance %s: %s/%s changed while it was opened; not served", x->name, H->dir, x->name);
        close_state(x);
        return -1;
    }
    vt_platform_posix(&plat, x->store);
    st = vt_engine_new_ex(&plat, &H->cfg->engine_cfg, &in->e);
    if (st != VT_OK) {
        vt_log(VT_LOG_ERROR, "instance %s: cannot start the TPM in %s/%s: %s", x->name, H->dir, x->name,
               vt_status_str(st));
        if (x->store->err[0])
            log_store_err(H, x, path);
        in->e = NULL;
        close_state(x);
        return -1;
    }
    if (x->store->warn[0])
        vt_log(VT_LOG_WARN, "instance %s: %s", x->name, x->store->warn);
    in->cfg.store = x->store;
    in->cfg.volatile_key = x->store->key ? x->store->key->enc : NULL;
    in->cfg.volatile_fd = openat(x->dir_fd, "vitrum-volatile", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in->cfg.volatile_fd < 0)
        vt_log(VT_LOG_WARN, "instance %s: %s/%s/vitrum-volatile: %s (STORE_VOLATILE will fail)", x->name, H->dir,
               x->name, strerror(errno));
    {
        /* its seeds and proofs: out of dumps and, where the limit allows, of swap */
        const void *p;
        size_t len;
        vt_engine_secret_memory(in->e, &p, &len);
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = (uintptr_t)p & ~(page - 1);
        (void)madvise((void *)start, len + ((uintptr_t)p - start), MADV_DONTDUMP);
        if (mlock(p, len) != 0 && !H->mlock_warned) {
            H->mlock_warned = true;
            vt_log(VT_LOG_WARN, "instance %s: secrets not locked in memory (mlock: %s; RLIMIT_MEMLOCK "
                                "should allow %zu KiB per open instance)", x->name, strerror(errno), len / 1024 + 4);
        }
    }
    H->open_count++;
    vt_log(VT_LOG_INFO, "instance %s: opened (%zu open)", x->name, H->open_count);
    return 0;
}

static void inst_release(vt_sw_host *h, vt_sw_inst *in)
{
    host *H = h->ctx;
    instance *x = in->host_data;
    vt_status st;

    if (!in->e)
        return;
    st = vt_engine_save(in->e);
    vt_engine_free(in->e);
    in->e = NULL;
    close_state(x);
    H->open_count--;
    if (st != VT_OK)
        H->save_failed++;
    vt_log(st == VT_OK ? VT_LOG_INFO : VT_LOG_ERROR, "instance %s: released, state %s (%zu open)", x->name,
           st == VT_OK ? "saved" : "NOT saved", H->open_count);
}

/* ---- finding instances and making their sockets ---- */

static int listen_at(host *H, instance *x, int which)
{
    static const char *const suffix[2] = { "ctrl", "data" };
    struct sockaddr_un a;
    struct stat st;
    char rel[VT_INSTANCE_NAME_MAX + 8];
    mode_t old;
    int fd, n;

    snprintf(rel, sizeof(rel), "%s.%s", x->name, suffix[which]);
    n = snprintf(x->sock_path[which], sizeof(x->sock_path[which]), "%s/%s", H->dir, rel);
    if (n < 0 || (size_t)n >= sizeof(x->sock_path[which])) {
        vt_log(VT_LOG_WARN, "instance %s: not served: %s/%s is too long for a socket path", x->name, H->dir, rel);
        x->sock_path[which][0] = '\0';
        return -1;
    }
    if (fstatat(H->dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            vt_log(VT_LOG_WARN, "instance %s: not served: %s exists and is not a socket", x->name,
                   x->sock_path[which]);
            x->sock_path[which][0] = '\0';
            return -1;
        }
        (void)unlinkat(H->dir_fd, rel, 0); /* left by an earlier run (DIR is locked: not another server's) */
    }
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, x->sock_path[which], strlen(x->sock_path[which]));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        vt_log(VT_LOG_ERROR, "instance %s: socket: %s", x->name, strerror(errno));
        x->sock_path[which][0] = '\0';
        return -1;
    }
    old = umask(0117); /* srw-rw----: the owner and its group (e.g. the VMs' user) */
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
        vt_log(VT_LOG_ERROR, "instance %s: cannot listen on %s: %s", x->name, x->sock_path[which], strerror(errno));
        umask(old);
        close(fd);
        x->sock_path[which][0] = '\0';
        return -1;
    }
    umask(old);
    x->sock_ino[which] = fstatat(H->dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
    return fd;
}

static void unlink_socket(host *H, instance *x, int which)
{
    struct stat st;
    const char *rel;

    if (!x->sock_path[which][0])
        return;
    rel = x->sock_path[which] + strlen(H->dir) + 1;
    /* only our own socket, not what replaced it */
    if (fstatat(H->dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == x->sock_ino[which])
        (void)unlinkat(H->dir_fd, rel, 0);
    x->sock_path[which][0] = '\0';
}

static void inst_free(host *H, instance *x)
{
    vt_sw_host h = { .ctx = H };

    /* as `vitrum swtpm` on SIGTERM: the state saved as it is */
    vt_sw_inst_end_session(&x->in);
    inst_release(&h, &x->in);
    close_state(x);
    if (x->in.cfg.ctrl_fd >= 0)
        close(x->in.cfg.ctrl_fd);
    if (x->in.cfg.data_fd >= 0)
        close(x->in.cfg.data_fd);
    unlink_socket(H, x, 0);
    unlink_socket(H, x, 1);
    free(x);
}

static instance *inst_new(host *H, const char *name)
{
    instance *x = calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->dir_fd = -1;
    x->in.cfg.ctrl_client_fd = -1;
    x->in.cfg.volatile_fd = -1;
    x->in.cfg.engine_cfg = H->cfg->engine_cfg;
    x->in.cfg.log_fd = STDERR_FILENO; /* through vt_log, with the instance's name */
    x->in.cfg.log_level = H->cfg->log_level;
    x->in.cfg.name = x->name;
    x->in.host_data = x;
    x->in.cfg.ctrl_fd = listen_at(H, x, 0);
    x->in.cfg.data_fd = x->in.cfg.ctrl_fd >= 0 ? listen_at(H, x, 1) : -1;
    if (x->in.cfg.data_fd < 0) {
        if (x->in.cfg.ctrl_fd >= 0)
            close(x->in.cfg.ctrl_fd);
        unlink_socket(H, x, 0);
        free(x);
        return NULL;
    }
    vt_sw_inst_init(&x->in);
    return x;
}

static instance *find(host *H, const char *name)
{
    size_t i;
    for (i = 0; i < H->n; i++) {
        instance *x = H->list[i]->host_data;
        if (!strcmp(x->name, name))
            return x;
    }
    return NULL;
}

/* (Re)read DIR: new subdirectories get an instance, vanished ones are
 * marked removed (closed by tidy once idle). */
static void scan(host *H)
{
    DIR *d;
    struct dirent *de;
    size_t i;
    int fd = openat(H->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || !(d = fdopendir(fd))) {
        vt_log(VT_LOG_ERROR, "cannot read %s: %s", H->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    for (i = 0; i < H->n; i++)
        ((instance *)H->list[i]->host_data)->seen = false;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        instance *x;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(H->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            vt_log(VT_LOG_WARN, "%s/%s is a symbolic link: not served (an instance is a directory of its own)",
                   H->dir, de->d_name);
            continue;
        }
        if (!S_ISDIR(st.st_mode))
            continue; /* the sockets, and whatever else lives there */
        if (!vt_instance_name_ok(de->d_name)) {
            char shown[VT_INSTANCE_NAME_MAX + 4];
            size_t k;
            /* the name as far as it is harmless in a log line */
            for (k = 0; k < VT_INSTANCE_NAME_MAX && de->d_name[k]; k++)
                shown[k] = de->d_name[k] > 0x20 && de->d_name[k] < 0x7f ? de->d_name[k] : '?';
            memcpy(shown + k, k < strlen(de->d_name) ? "..." : "", k < strlen(de->d_name) ? 4 : 1);
            vt_log(VT_LOG_WARN, "%s/%s: not served: an instance's name is [A-Za-z0-9][A-Za-z0-9._-]*, at most %u "
                                "characters, not ending in .ctrl or .data", H->dir, shown, VT_INSTANCE_NAME_MAX);
            continue;
        }
        if ((x = find(H, de->d_name)) != NULL) {
            x->seen = true;
            if (x->removed) {
                x->removed = false; /* back before it was closed */
                vt_log(VT_LOG_INFO, "instance %s: back", x->name);
            }
            continue;
        }
        if (H->n == H->cap) {
            size_t cap = H->cap ? 2 * H->cap : 16;
            vt_sw_inst **l = realloc(H->list, cap * sizeof(*l));
            if (!l)
                break;
            H->list = l;
            H->cap = cap;
        }
        if ((x = inst_new(H, de->d_name)) == NULL)
            continue;
        x->seen = true;
        H->list[H->n++] = &x->in;
        vt_log(VT_LOG_DEBUG, "instance %s: %s", x->name, x->sock_path[0]);
    }
    closedir(d);
    for (i = 0; i < H->n; i++) {
        instance *x = H->list[i]->host_data;
        if (!x->seen && !x->removed) {
            x->removed = true;
            vt_log(VT_LOG_INFO, "instance %s: its directory is gone; closed once idle", x->name);
        }
    }
}

static void inst_hangup(vt_sw_host *h)
{
    host *H = h->ctx;
    scan(H);
    h->inst = H->list;
    h->n = H->n;
}

/* Close removed instances that nobody uses any more. */
static void inst_tidy(vt_sw_host *h)
{
    host *H = h->ctx;
    size_t i, j = 0;

    for (i = 0; i < H->n; i++) {
        instance *x = H->list[i]->host_data;
        if (x->removed && x->in.ctrl < 0 && x->in.data < 0) {
            vt_log(VT_LOG_INFO, "instance %s: closed", x->name);
            inst_free(H, x);
            continue;
        }
        H->list[j++] = H->list[i];
    }
    H->n = j;
    h->inst = H->list;
    h->n = H->n;
}

/* ---- the memory platform: warms the crypto library up before the sandbox ---- */

static long warm_load(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    return 0; /* no state: a new TPM */
}

static int warm_commit(void *ctx, const uint8_t *blob, size_t len)
{
    (void)ctx;
    (void)blob;
    (void)len;
    return 0;
}

int vt_instances_serve(const vt_instances_cfg *cfg)
{
    host *H;
    vt_sw_host h = { 0 };
    char err[512];
    size_t n, i;
    int result, status = 0;

    /* Engines are large blocks: have each mapped on its own, so that a
     * released instance's memory goes back to the system at once. */
    (void)mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    if (!(H = calloc(1, sizeof(*H))))
        return 1;
    H->cfg = cfg;
    H->dir_fd = -1;
    n = strlen(cfg->dir);
    while (n > 1 && cfg->dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(H->dir)) {
        vt_log(VT_LOG_ERROR, "--instances: bad directory name");
        free(H);
        return 1;
    }
    memcpy(H->dir, cfg->dir, n);
    if (mkdir(H->dir, 0700) != 0 && errno != EEXIST) {
        vt_log(VT_LOG_ERROR, "cannot create %s: %s", H->dir, strerror(errno));
        free(H);
        return 1;
    }
    H->dir_fd = open(H->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (H->dir_fd < 0) {
        vt_log(VT_LOG_ERROR, "cannot open %s: %s", H->dir, strerror(errno));
        free(H);
        return 1;
    }
    if (flock(H->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        vt_log(VT_LOG_ERROR, "%s is in use by another vitrum serve --instances", H->dir);
        close(H->dir_fd);
        free(H);
        return 1;
    }
    if (cfg->key) {
        if (vt_key_material_read(cfg->key, &H->key, err, sizeof(err)) != 0) {
            vt_log(VT_LOG_ERROR, "--key: %s", err);
            close(H->dir_fd);
            free(H);
            return 1;
        }
        if (H->key->passphrase && memchr(H->key->bytes, '\0', H->key->len)) {
            vt_log(VT_LOG_ERROR, "--key: a passphrase with a NUL character cannot be used with --instances");
            vt_key_material_free(H->key);
            close(H->dir_fd);
            free(H);
            return 1;
        }
    }
    {
        /* The crypto library loads what it needs (providers, algorithms)
         * now, outside the sandbox, in a throw-away TPM in memory. */
        vt_platform mp = { .entropy = vt_posix_entropy, .monotonic_ms = vt_posix_monotonic_ms,
                           .state_load = warm_load, .state_commit = warm_commit };
        vt_engine *e = NULL;
        vt_status st = vt_engine_new_ex(&mp, &cfg->engine_cfg, &e);
        if (st != VT_OK) {
            vt_log(VT_LOG_ERROR, "cannot start a TPM: %s", vt_status_str(st));
            status = 1;
            goto out;
        }
        vt_engine_free(e);
    }
    {
        /* Is /proc there, for the store to reach a directory through the
         * descriptor opened with O_NOFOLLOW? */
        char p[64];
        struct stat a, b;
        snprintf(p, sizeof(p), "/proc/self/fd/%d", H->dir_fd);
        H->proc_fd = stat(p, &a) == 0 && fstat(H->dir_fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    }
    if (vt_notify_init() < 0)
        vt_log(VT_LOG_WARN, "NOTIFY_SOCKET is not usable; systemd will not hear that the server is ready");
    scan(H);
    if (vt_harden_process(H, sizeof(*H), err, sizeof(err)) != 0 || err[0])
        vt_log(VT_LOG_WARN, "%s", err);
    if (cfg->sandbox && vt_sandbox_enter_instances(err, sizeof(err)) != 0) {
        vt_log(VT_LOG_ERROR, "cannot enter the sandbox: %s (--no-sandbox to run without)", err);
        status = 1;
        goto out;
    }
    vt_log(VT_LOG_INFO, "serving %zu vTPMs (vitrum %s, swtpm protocol) from %s: DIR/NAME.ctrl, DIR/NAME.data%s",
           H->n, VITRUM_VERSION, H->dir, cfg->sandbox ? "" : ", no sandbox");

    h.inst = H->list;
    h.n = H->n;
    h.multi = true;
    h.open = inst_open;
    h.release = inst_release;
    h.hangup = inst_hangup;
    h.tidy = inst_tidy;
    h.ctx = H;
    result = vt_sw_host_run(&h);
    vt_notify("STOPPING=1");
    if (result < 0) {
        vt_log(VT_LOG_ERROR, "server loop failed");
        status = 1;
    } else {
        vt_log(VT_LOG_INFO, "stopped by %s; saving %zu open instances", result == SIGINT ? "SIGINT" : "SIGTERM",
               H->open_count);
    }
out:
    for (i = 0; i < H->n; i++)
        inst_free(H, H->list[i]->host_data);
    if (H->save_failed)
        status = 1;
    free(H->list);
    if (H->key)
        vt_key_material_free(H->key);
    close(H->dir_fd);
    free(H);
    return status;
}
