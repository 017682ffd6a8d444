#define _GNU_SOURCE
#include "server/sandbox.h"

#include <errno.h>
#include <stdbool.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdint.h>
#include <unistd.h>

int vt_harden_process(const void *p, size_t len, char *warn, size_t warn_len)
{
    struct rlimit none = { 0, 0 };
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t span = (size_t)((uintptr_t)p + len - start);

    warn[0] = '\0';
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
        snprintf(warn, warn_len, "cannot disable core dumps: %s", strerror(errno));
        return -1;
    }
    /* Seeds and proofs live in the engine: keep them out of swap and of
     * any dump.  Only that region is locked, not every library page (which
     * mlockall would fault in: megabytes of RSS for nothing).  Not fatal
     * where RLIMIT_MEMLOCK is small (an unprivileged user). */
    madvise((void *)start, span, MADV_DONTDUMP);
    if (mlock((const void *)start, span) != 0)
        snprintf(warn, warn_len, "secrets not locked in memory (mlock: %s)", strerror(errno));
    return 0;
}

/* What serving needs once the sockets and state files are open: I/O on
 * open descriptors, durable writes to the open slot files, threads for
 * connections, memory, time, entropy, and a way to exit or abort. */
static const int allowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
    SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(accept4), SCMP_SYS(setsockopt),
    SCMP_SYS(shutdown), SCMP_SYS(close), SCMP_SYS(fdatasync), SCMP_SYS(fsync),
    SCMP_SYS(fstat), SCMP_SYS(newfstatat),
    SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
    SCMP_SYS(futex), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
    SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mremap),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(getrandom),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
    SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill),
    SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
    SCMP_SYS(signalfd4), SCMP_SYS(eventfd2), /* the serving loop sets these up */
};

/* serve --instances: opening state directories lazily, rescanning DIR */
static const int allowed_instances[] = {
    SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(flock),
    SCMP_SYS(getdents64), SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(statx),
    SCMP_SYS(socket), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(umask),
    SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(mlock), SCMP_SYS(mlock2), SCMP_SYS(munlock),
};

static int enter(bool instances, char *err, size_t err_len)
{
    scmp_filter_ctx ctx;
    size_t i;
    int rc;

    /* A forbidden call kills the whole process: a TPM that was steered
     * into an unexpected system call must not go on answering. */
    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        snprintf(err, err_len, "seccomp_init failed");
        return -1;
    }
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
        if (rc < 0) {
            snprintf(err, err_len, "seccomp_rule_add: %s", strerror(-rc));
            seccomp_release(ctx);
            return -1;
        }
    }
    for (i = 0; instances && i < sizeof(allowed_instances) / sizeof(allowed_instances[0]); i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_instances[i], 0);
        if (rc < 0) {
            snprintf(err, err_len, "seccomp_rule_add: %s", strerror(-rc));
            seccomp_release(ctx);
            return -1;
        }
    }
    rc = seccomp_load(ctx); /* also sets no_new_privs */
    seccomp_release(ctx);
    if (rc < 0) {
        snprintf(err, err_len, "seccomp_load: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

int vt_sandbox_enter(char *err, size_t err_len)
{
    return enter(false, err, err_len);
}

int vt_sandbox_enter_instances(char *err, size_t err_len)
{
    return enter(true, err, err_len);
}
