/* The update launcher and `vitrum selftest` (launcher.h;
 * docs/TRANSPARENCY.md, "Update slots").
 *
 * The slot binary is copied into a sealed memfd (no write, grow, shrink or
 * further seal), hashed there, verified by the engine, self-tested and
 * exec'd from there: the bytes that verified are the bytes that run, even
 * if the slot file changes meanwhile. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fw_host.h"
#include "platform/platform_posix.h"
#include "server/log.h"
#include "tlog/tlog.h"
#include "tlog_io.h"

#define MAX_IMAGE (256u << 20)
#define MAX_BUNDLE (1u << 20)
#define SELFTEST_TIMEOUT_S 60
/* Set in the environment of what the launcher execs: a second guard
 * against a launch loop, besides --firmware-bundle. */
#define LAUNCHED_ENV "VITRUM_LAUNCHED"

extern char **environ;

/* ---- vitrum selftest ---- */

typedef struct {
    uint8_t *blob;
    size_t len;
} mem_store;

static long mem_load(void *ctx, uint8_t *buf, size_t cap)
{
    mem_store *m = ctx;
    if (m->len > cap)
        return -1;
    if (m->len)
        memcpy(buf, m->blob, m->len);
    return (long)m->len;
}

static int mem_commit(void *ctx, const uint8_t *blob, size_t len)
{
    mem_store *m = ctx;
    uint8_t *p = realloc(m->blob, len ? len : 1);
    if (!p)
        return -1;
    memcpy(p, blob, len);
    m->blob = p;
    m->len = len;
    return 0;
}

static int mem_entropy(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return vt_posix_entropy(NULL, buf, len);
}

static uint64_t mem_now(void *ctx)
{
    (void)ctx;
    return vt_posix_monotonic_ms(NULL);
}

static uint32_t run(vt_engine *e, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t *rlen)
{
    *rlen = vt_engine_execute(e, 0, cmd, n, rsp, VT_MAX_RESPONSE_SIZE);
    if (*rlen < 10)
        return 0x101;
    return (uint32_t)rsp[6] << 24 | (uint32_t)rsp[7] << 16 | (uint32_t)rsp[8] << 8 | rsp[9];
}

static int engine_kats(char *why, size_t cap)
{
    /* TPM2_Startup(CLEAR), TPM2_SelfTest(fullTest = YES), TPM2_GetTestResult
     * (TPM 2.0 Part 3 §9.3, §10.2, §10.4) */
    static const uint8_t startup[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
    static const uint8_t selftest[] = { 0x80, 0x01, 0, 0, 0, 11, 0, 0, 0x01, 0x43, 1 };
    static const uint8_t result[] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x7c };
    static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    mem_store m = { NULL, 0 };
    vt_platform p = { &m, mem_entropy, mem_now, mem_load, mem_commit, NULL, NULL };
    vt_engine *e = NULL;
    size_t n;
    uint32_t rc;
    int ok = -1;

    if (vt_engine_new(&p, &e) != VT_OK) {
        snprintf(why, cap, "the engine does not start");
        goto out;
    }
    vt_engine_power_on(e);
    if ((rc = run(e, startup, sizeof(startup), rsp, &n)) != 0) {
        snprintf(why, cap, "TPM2_Startup: 0x%03x", rc);
        goto out;
    }
    if ((rc = run(e, selftest, sizeof(selftest), rsp, &n)) != 0) {
        snprintf(why, cap, "TPM2_SelfTest: 0x%03x", rc);
        goto out;
    }
    /* response: header, outData (TPM2B, 2 + n), testResult (4) */
    if ((rc = run(e, result, sizeof(result), rsp, &n)) != 0 || n < 16) {
        snprintf(why, cap, "TPM2_GetTestResult: 0x%03x", rc);
        goto out;
    }
    {
        size_t d = (size_t)rsp[10] << 8 | rsp[11];
        if (12 + d + 4 > n || rsp[12 + d] | rsp[13 + d] | rsp[14 + d] | rsp[15 + d]) {
            snprintf(why, cap, "TPM2_GetTestResult reports a failure");
            goto out;
        }
    }
    ok = 0;
out:
    vt_engine_free(e);
    free(m.blob);
    return ok;
}

static int tlog_kats(char *why, size_t cap)
{
    /* RFC 6962 §2.1: the hash of an empty leaf is SHA-256(0x00) */
    static const uint8_t empty_leaf[32] = {
        0x6e, 0x34, 0x0b, 0x9c, 0xff, 0xb3, 0x7a, 0x98, 0x9c, 0xa5, 0x44, 0xe6, 0xbb, 0x78, 0x0a, 0x2c,
        0x78, 0x90, 0x1d, 0x3f, 0xb3, 0x37, 0x38, 0x76, 0x85, 0x11, 0xa3, 0x06, 0x17, 0xaf, 0xa0, 0x1d };
    static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t pub[32], sig[64];
    vt_tlog_hash h;

    vt_tlog_leaf_hash("", 0, &h);
    if (memcmp(h.h, empty_leaf, 32) != 0) {
        snprintf(why, cap, "Merkle leaf hash");
        return -1;
    }
    if (vt_ed25519_public(seed, pub) != 0 || vt_ed25519_sign(seed, "vitrum", 6, sig) != 0 ||
        vt_ed25519_verify(pub, sig, "vitrum", 6) != 0 || vt_ed25519_verify(pub, sig, "vitrun", 6) == 0) {
        snprintf(why, cap, "Ed25519 sign/verify");
        return -1;
    }
    return 0;
}

int vt_selftest_main(int argc, char **argv)
{
    char why[256] = "";

    (void)argv;
    if (argc > 1) {
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            printf("Usage: vitrum selftest\n\nRun the engine's known-answer tests (TPM2_SelfTest on an\n"
                   "in-memory TPM) and the release verifier's.  Exit status 0 when all\n"
                   "pass, 1 otherwise.  The launcher runs it before it runs an update.\n");
            return 0;
        }
        fprintf(stderr, "vitrum selftest: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (engine_kats(why, sizeof(why)) != 0 || tlog_kats(why, sizeof(why)) != 0) {
        fprintf(stderr, "vitrum selftest: FAILED: %s\n", why);
        return 1;
    }
    printf("vitrum selftest: ok\n");
    return 0;
}

/* ---- the launcher ---- */

/* Copy path into a sealed memfd.  The fd, or -1 with err set. */
static int sealed_copy(const char *path, const char *label, char *err, size_t errlen)
{
    int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), fd = -1;
    static uint8_t buf[1 << 16];
    struct stat st;
    size_t total = 0;

    if (in < 0 || fstat(in, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_IMAGE) {
        snprintf(err, errlen, "%s: not a regular file of at most %u MiB", path, MAX_IMAGE >> 20);
        goto fail;
    }
    fd = (int)syscall(SYS_memfd_create, label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        goto fail;
    }
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (total > MAX_IMAGE || vt_io_write_all(fd, buf, (size_t)r) != 0) {
            snprintf(err, errlen, "%s: cannot copy", path);
            goto fail;
        }
    }
    if (fchmod(fd, 0500) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        snprintf(err, errlen, "cannot seal the copy of %s: %s", path, strerror(errno));
        goto fail;
    }
    close(in);
    return fd;
fail:
    if (in >= 0)
        close(in);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Run `IMAGE selftest` from the sealed fd.  0 when it exits 0. */
static int run_selftest(int fd, char *err, size_t errlen)
{
    int status, i;
    pid_t pid = fork();

    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char *args[] = { (char *)"vitrum", (char *)"selftest", NULL };
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        setenv(LAUNCHED_ENV, "1", 1);
        syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
        _exit(127);
    }
    for (i = 0; i < SELFTEST_TIMEOUT_S * 10; i++) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
            if (WIFEXITED(status))
                snprintf(err, errlen, "its selftest exited with %d", WEXITSTATUS(status));
            else
                snprintf(err, errlen, "its selftest was killed by signal %d", WTERMSIG(status));
            return -1;
        }
        if (w < 0 && errno != EINTR) {
            snprintf(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    snprintf(err, errlen, "its selftest did not finish in %d s", SELFTEST_TIMEOUT_S);
    return -1;
}

/* Verify slot s: *fd gets the sealed image on success (0).  1: the slot
 * is refused for good (the engine said no, its selftest failed, its files
 * are missing); -1: it could not be checked now (the engine's state could
 * not be loaded); -2: the state directory is in use. */
static int try_slot(const char *state, const char *key, const vt_engine_config *cfg, char s,
                    int *fd, vt_fw_info *info, char *err, size_t errlen)
{
    char path[4200], label[32], why[512];
    uint8_t sha[32], *bundle = NULL;
    size_t blen = 0;
    int rc;

    snprintf(label, sizeof(label), "vitrum-slot-%c", s);
    snprintf(path, sizeof(path), "%s/slots/%c/vitrum", state, s);
    *fd = sealed_copy(path, label, err, errlen);
    if (*fd < 0)
        return 1;
    if (vt_fw_sha256_fd(*fd, sha, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/slots/%c/bundle", state, s);
    if (vt_io_read(path, &bundle, &blen, MAX_BUNDLE) != 0) {
        snprintf(err, errlen, "cannot read %s", path);
        goto fail;
    }
    rc = vt_fw_verify_local(state, key, cfg, bundle, blen, sha, info, why, sizeof(why));
    free(bundle);
    if (rc == VT_FW_BUSY || rc == VT_FW_ERROR) {
        snprintf(err, errlen, "not verified: %s", why);
        close(*fd);
        *fd = -1;
        return rc == VT_FW_BUSY ? -2 : -1;
    }
    if (rc != VT_FW_OK) {
        if (rc == VT_FW_REFUSED)
            snprintf(err, errlen, "the engine %s", why); /* "refused (0x...): reason" */
        else
            snprintf(err, errlen, "not verified: %s", why);
        goto fail;
    }
    if (run_selftest(*fd, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "verified, but %s", why);
        goto fail;
    }
    return 0;
fail:
    close(*fd);
    *fd = -1;
    return 1;
}

void vt_launcher_run(const char *state, const char *key, const vt_engine_config *cfg,
                     const char *fw_bundle, int argc, char **argv)
{
    char err[1024], cand[3], bundle_opt[4300], *saved_key = NULL;
    const char *env_name = NULL;
    vt_slots slots, before;
    vt_fw_info info;
    int i, n = 0, fd = -1, lock;
    char **args;

    if (fw_bundle || getenv(LAUNCHED_ENV))
        return; /* this is the slot binary: never launch again */
    if (vt_slots_read(state, &slots, err, sizeof(err)) != 0) {
        vt_log(VT_LOG_ERROR, "update slots: %s; serving the installed build", err);
        return;
    }
    if (!slots.next && !slots.current && !slots.previous)
        return;
    if (key && !strncmp(key, "fd:", 3)) {
        vt_log(VT_LOG_ERROR, "update slots need --key FILE or env:NAME (a key read from a descriptor "
                             "cannot be read again by the slot's build); serving the installed build");
        return;
    }
    if (key && !strncmp(key, "env:", 4)) {
        /* vt_store_set_key unsets the variable; the slot's build reads it again */
        const char *v = getenv(key + 4);
        env_name = key + 4;
        if (v && !(saved_key = strdup(v)))
            return;
    }
    lock = vt_slots_lock(state, err, sizeof(err));
    if (lock < 0) {
        vt_log(VT_LOG_ERROR, "update slots: %s; serving the installed build", err);
        free(saved_key);
        return;
    }
    before = slots;
    if (slots.next)
        cand[n++] = slots.next;
    if (slots.current && slots.current != slots.next)
        cand[n++] = slots.current;
    if (slots.previous && slots.previous != slots.next && slots.previous != slots.current)
        cand[n++] = slots.previous;
    for (i = 0; i < n; i++) {
        const char *role = cand[i] == slots.next ? "next" : cand[i] == slots.current ? "current" : "previous";
        if (saved_key)
            setenv(env_name, saved_key, 1);
        int r = try_slot(state, key, cfg, cand[i], &fd, &info, err, sizeof(err));
        if (r == 0)
            break;
        if (r == -2) {
            /* another vitrum serves DIR: this one will not start anyway */
            vt_log(VT_LOG_ERROR, "update slot %c (%s) not checked: %s", cand[i], role, err);
            i = n;
            break;
        }
        if (i + 1 < n)
            vt_log(VT_LOG_ERROR, "update slot %c (%s) not run: %s; falling back to slot %c", cand[i],
                   role, err, cand[i + 1]);
        else
            vt_log(VT_LOG_ERROR, "update slot %c (%s) not run: %s; falling back to the installed build",
                   cand[i], role, err);
        if (cand[i] == slots.next && r == 1)
            slots.next = 0; /* refused for good: not tried again */
    }
    if (fd >= 0 && cand[i] == slots.next) {
        /* booting the staged build: it becomes current, the old one previous */
        slots.previous = slots.current;
        slots.current = slots.next;
        slots.next = 0;
    }
    if (memcmp(&slots, &before, sizeof(slots)) != 0 && vt_slots_write(state, &slots, err, sizeof(err)) != 0)
        vt_log(VT_LOG_WARN, "update slots: %s", err);
    close(lock);
    if (saved_key) {
        /* for the slot's build, or for this one when it serves after all */
        setenv(env_name, saved_key, 1);
        free(saved_key);
    }
    if (fd < 0)
        return;
    snprintf(bundle_opt, sizeof(bundle_opt), "--%s=%s/slots/%c/bundle", VT_LAUNCHER_OPTION, state, cand[i]);
    args = calloc((size_t)argc + 3, sizeof(*args));
    if (!args)
        return;
    args[0] = (char *)"vitrum";
    for (int k = 0; k < argc; k++)
        args[k + 1] = argv[k];
    args[argc + 1] = bundle_opt;
    vt_log(VT_LOG_INFO, "running update slot %c: %s %s (svn %llu), verified and self-tested", cand[i],
           info.name, info.version, (unsigned long long)info.svn);
    setenv(LAUNCHED_ENV, "1", 1);
    syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
    vt_log(VT_LOG_ERROR, "cannot run update slot %c: %s; serving the installed build", cand[i], strerror(errno));
    unsetenv(LAUNCHED_ENV);
    free(args);
    close(fd);
}

/* The slot process could not take its identity (which the launcher's check
 * said it would): stop naming its slot current, so that the next start
 * (systemd restarts the service) falls back instead of failing again. */
static void demote_slot(const char *bundle_path)
{
    size_t n = strlen(bundle_path);
    char state[4096], err[512];
    vt_slots sl;
    char x;
    int lock;

    /* ".../slots/X/bundle", as the launcher makes it */
    if (!getenv(LAUNCHED_ENV) || n < 15 || strcmp(bundle_path + n - 7, "/bundle") != 0 ||
        strncmp(bundle_path + n - 15, "/slots/", 7) != 0 || n - 15 >= sizeof(state))
        return;
    x = bundle_path[n - 8];
    if (x != 'a' && x != 'b')
        return;
    memcpy(state, bundle_path, n - 15);
    state[n - 15] = 0;
    lock = vt_slots_lock(state, err, sizeof(err));
    if (lock < 0)
        return;
    if (vt_slots_read(state, &sl, err, sizeof(err)) == 0 && sl.current == x) {
        sl.current = sl.previous != x ? sl.previous : 0;
        sl.previous = 0;
        if (vt_slots_write(state, &sl, err, sizeof(err)) == 0)
            vt_log(VT_LOG_ERROR, "update slot %c is no longer current; the next start runs %s", x,
                   sl.current == 'a' ? "slot a" : sl.current == 'b' ? "slot b" : "the installed build");
    }
    close(lock);
}

int vt_launcher_set_firmware(vt_engine *e, const char *path)
{
    uint8_t sha[32], *bundle = NULL;
    size_t blen = 0;
    char err[512] = "";
    vt_fw_info info;
    int rc;

    if (vt_fw_sha256_file("/proc/self/exe", sha, err, sizeof(err)) != 0) {
        vt_log(VT_LOG_ERROR, "cannot hash the running image: %s; not serving", err);
        demote_slot(path);
        return -1;
    }
    if (vt_io_read(path, &bundle, &blen, MAX_BUNDLE) != 0) {
        vt_log(VT_LOG_ERROR, "cannot read the firmware bundle %s; not serving", path);
        demote_slot(path);
        return -1;
    }
    rc = vt_engine_set_firmware(e, bundle, blen, sha, err, sizeof(err));
    if (rc != 0) {
        vt_log(VT_LOG_ERROR, "this build is not the release of %s: %s; not serving", path,
               err[0] ? err : "refused by the engine");
        free(bundle);
        demote_slot(path);
        return -1;
    }
    if (vt_fw_bundle_peek(bundle, blen, &info) == 0)
        vt_log(VT_LOG_INFO, "firmware identity: %s %s, svn %llu", info.name, info.version,
               (unsigned long long)info.svn);
    free(bundle);
    return 0;
}
