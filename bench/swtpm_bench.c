/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * swtpm_bench: the swtpm-protocol client of bench/swtpm.sh (vitrum issue #7,
 * QEMU vTPM).  It speaks what QEMU's `-tpmdev emulator` backend speaks: the
 * control channel of swtpm's tpm_ioctl.h (u32 big-endian command codes,
 * SET_DATAFD with the data descriptor in SCM_RIGHTS, INIT) and raw TPM 2.0
 * frames on the data channel.  The throughput of single TPM commands is
 * measured by bench/bench.c --proto raw (the same client as bench/run.sh);
 * this tool covers what bench.c cannot:
 *
 *   swtpm_bench startup --ctrl PATH [--timeout-ms MS] -- CMD ARGS...
 *       Start CMD (a server whose control channel is the UNIX socket PATH
 *       and which has no data socket, as libvirt starts swtpm), then, as
 *       QEMU does: connect the control socket (retrying until it exists),
 *       SET_DATAFD (one end of a socketpair), INIT, TPM2_Startup(CLEAR),
 *       then TPM2_GetRandom(32).  Prints
 *           startup_ms=T1 getrandom_ms=T2 server_cpu_ms=C
 *       (from just before fork to the Startup answer, and to the GetRandom
 *       answer), having sent SHUTDOWN on the control channel and waited for
 *       CMD to exit (SIGKILL after 5 s), so the state is saved for a next
 *       start; C is the CPU time (user + system, wait4) CMD used in its
 *       whole life: start, the two commands, SHUTDOWN.
 *
 *   swtpm_bench hold [--timeout-ms MS] EP...
 *       EP is CTRLPATH (data through SET_DATAFD) or CTRLPATH,DATAPATH (data
 *       on that UNIX socket).  For each EP: connect (retrying), INIT,
 *       TPM2_Startup(CLEAR) (TPM_RC_INITIALIZE accepted), TPM2_GetRandom(32)
 *       answered.  Prints "ready n=N" and keeps every connection open (an
 *       idle VM keeps its vTPM connections) until stdin reaches EOF.
 *
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 * Constants: TPM 2.0 Part 2 (TPM_ST_NO_SESSIONS 0x8001, TPM_CC_Startup
 * 0x144, TPM_CC_GetRandom 0x17b, TPM_SU_CLEAR 0, TPM_RC_INITIALIZE 0x100);
 * control codes from swtpm's man page / tpm_ioctl.h (INIT 2, SHUTDOWN 3,
 * SET_DATAFD 16).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    SW_INIT = 2,
    SW_SHUTDOWN = 3,
    SW_SET_DATAFD = 16,
};

#define TPM_ST_NO_SESSIONS 0x8001u
#define TPM_CC_STARTUP 0x144u
#define TPM_CC_GETRANDOM 0x17bu
#define TPM_RC_INITIALIZE 0x100u
#define MAX_FRAME 4096

static long g_timeout_ms = 10000;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("swtpm_bench: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Write all of buf (no SIGPIPE). */
static void write_all(int fd, const void *buf, size_t n, const char *what)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("%s: send: %s", what, w < 0 ? strerror(errno) : "short write");
        p += w;
        n -= (size_t)w;
    }
}

/* Read exactly n bytes within g_timeout_ms. */
static void read_all(int fd, void *buf, size_t n, const char *what)
{
    uint8_t *p = buf;
    double deadline = now_ms() + (double)g_timeout_ms;
    while (n > 0) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            die("%s: no answer within %ld ms", what, g_timeout_ms);
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            die("%s: poll: %s", what, strerror(errno));
        if (pr == 0)
            continue;
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("%s: read: %s", what, r < 0 ? strerror(errno) : "connection closed");
        p += r;
        n -= (size_t)r;
    }
}

/* Connect to the UNIX socket path; -1 while it is not there yet. */
static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        die("socket path too long: %s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED || e == EAGAIN)
            return -1;
        die("connect %s: %s", path, strerror(e));
    }
    return fd;
}

/* Connect with retries until the deadline; child (if > 0) must stay up. */
static int unix_connect_wait(const char *path, double deadline, pid_t child)
{
    for (;;) {
        int fd = unix_connect(path);
        if (fd >= 0)
            return fd;
        if (child > 0) {
            int st;
            if (waitpid(child, &st, WNOHANG) == child)
                die("server exited during start-up (status 0x%x)", st);
        }
        if (now_ms() > deadline)
            die("%s: not accepting connections after %ld ms", path, g_timeout_ms);
        usleep(200);
    }
}

/* One control command with a u32 result as the whole answer we read. */
static uint32_t ctrl_cmd(int cfd, uint32_t code, const uint8_t *req, size_t reqlen,
                         const char *what)
{
    uint8_t msg[64];
    if (reqlen + 4 > sizeof msg)
        die("control request too long");
    put32(msg, code);
    if (reqlen)
        memcpy(msg + 4, req, reqlen);
    write_all(cfd, msg, 4 + reqlen, what);
    uint8_t res[4];
    read_all(cfd, res, 4, what);
    return get32(res);
}

/* SET_DATAFD: hand over one end of a socketpair; returns our end. */
static int set_datafd(int cfd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair: %s", strerror(errno));
    uint8_t code[4];
    put32(code, SW_SET_DATAFD);
    struct iovec iov = { .iov_base = code, .iov_len = sizeof code };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
    ssize_t w;
    do
        w = sendmsg(cfd, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)sizeof code)
        die("SET_DATAFD: sendmsg: %s", w < 0 ? strerror(errno) : "short write");
    close(sv[1]);
    uint8_t res[4];
    read_all(cfd, res, 4, "SET_DATAFD");
    if (get32(res) != 0)
        die("SET_DATAFD: result %u", get32(res));
    return sv[0];
}

static void ctrl_init(int cfd)
{
    uint8_t flags[4];
    put32(flags, 0);
    uint32_t r = ctrl_cmd(cfd, SW_INIT, flags, sizeof flags, "INIT");
    if (r != 0)
        die("INIT: result %u", r);
}

/* Send one TPM command, read the whole response; returns its response code. */
static uint32_t tpm_cmd(int dfd, const uint8_t *cmd, size_t n, const char *what)
{
    uint8_t rsp[MAX_FRAME];
    write_all(dfd, cmd, n, what);
    read_all(dfd, rsp, 10, what);
    uint32_t size = get32(rsp + 2);
    if (size < 10 || size > sizeof rsp)
        die("%s: response size %u", what, size);
    read_all(dfd, rsp + 10, size - 10, what);
    return get32(rsp + 6);
}

static uint32_t tpm_startup_clear(int dfd)
{
    uint8_t c[12];
    c[0] = (uint8_t)(TPM_ST_NO_SESSIONS >> 8);
    c[1] = (uint8_t)TPM_ST_NO_SESSIONS;
    put32(c + 2, sizeof c);
    put32(c + 6, TPM_CC_STARTUP);
    c[10] = 0;          /* TPM_SU_CLEAR */
    c[11] = 0;
    return tpm_cmd(dfd, c, sizeof c, "TPM2_Startup");
}

static uint32_t tpm_getrandom(int dfd)
{
    uint8_t c[12];
    c[0] = (uint8_t)(TPM_ST_NO_SESSIONS >> 8);
    c[1] = (uint8_t)TPM_ST_NO_SESSIONS;
    put32(c + 2, sizeof c);
    put32(c + 6, TPM_CC_GETRANDOM);
    c[10] = 0;
    c[11] = 32;
    return tpm_cmd(dfd, c, sizeof c, "TPM2_GetRandom");
}

/* Wait up to ms for pid to exit (then SIGKILL it); returns the CPU time
 * (user + system) it used in its whole life, in ms. */
static double reap(pid_t pid, int ms)
{
    int st;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (int i = 0; i < ms / 10; i++) {
        if (wait4(pid, &st, WNOHANG, &ru) == pid)
            goto done;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    wait4(pid, &st, 0, &ru);
done:
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

static int do_startup(const char *ctrl, char **argv)
{
    if (unlink(ctrl) != 0 && errno != ENOENT)
        die("unlink %s: %s", ctrl, strerror(errno));
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "swtpm_bench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int cfd = unix_connect_wait(ctrl, t0 + (double)g_timeout_ms, pid);
    int dfd = set_datafd(cfd);
    ctrl_init(cfd);
    uint32_t rc = tpm_startup_clear(dfd);
    double t1 = now_ms();
    if (rc != 0) {
        kill(pid, SIGKILL);
        reap(pid, 0);
        die("TPM2_Startup(CLEAR): rc 0x%03x", rc);
    }
    rc = tpm_getrandom(dfd);
    double t2 = now_ms();
    if (rc != 0) {
        kill(pid, SIGKILL);
        reap(pid, 0);
        die("TPM2_GetRandom: rc 0x%03x", rc);
    }
    /* SHUTDOWN: the server saves its state and exits. */
    uint32_t r = ctrl_cmd(cfd, SW_SHUTDOWN, NULL, 0, "SHUTDOWN");
    close(dfd);
    close(cfd);
    double cpu = reap(pid, 5000);
    if (r != 0)
        die("SHUTDOWN: result %u", r);
    printf("startup_ms=%.3f getrandom_ms=%.3f server_cpu_ms=%.3f\n", t1 - t0, t2 - t0, cpu);
    return 0;
}

static int do_hold(int n, char **eps)
{
    int *fds = calloc((size_t)n * 2, sizeof *fds);
    if (!fds)
        die("out of memory");
    double deadline = now_ms() + (double)g_timeout_ms;
    for (int i = 0; i < n; i++) {
        char *ep = strdup(eps[i]);
        if (!ep)
            die("out of memory");
        char *comma = strchr(ep, ',');
        if (comma)
            *comma++ = 0;
        int cfd = unix_connect_wait(ep, deadline, 0), dfd;
        if (comma) {
            ctrl_init(cfd);
            dfd = unix_connect_wait(comma, deadline, 0);
        } else {
            dfd = set_datafd(cfd);
            ctrl_init(cfd);
        }
        uint32_t rc = tpm_startup_clear(dfd);
        if (rc != 0 && rc != TPM_RC_INITIALIZE)
            die("%s: TPM2_Startup(CLEAR): rc 0x%03x", ep, rc);
        rc = tpm_getrandom(dfd);
        if (rc != 0)
            die("%s: TPM2_GetRandom: rc 0x%03x", ep, rc);
        fds[2 * i] = cfd;
        fds[2 * i + 1] = dfd;
        free(ep);
    }
    printf("ready n=%d\n", n);
    fflush(stdout);
    char buf[256];
    while (read(0, buf, sizeof buf) > 0)
        ;
    for (int i = 0; i < 2 * n; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: swtpm_bench startup --ctrl PATH [--timeout-ms MS] -- CMD ARGS...\n"
          "       swtpm_bench hold [--timeout-ms MS] CTRLPATH[,DATAPATH]...\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[1], *ctrl = NULL;
    int i = 2;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--ctrl") && i + 1 < argc)
            ctrl = argv[++i];
        else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
            char *end;
            g_timeout_ms = strtol(argv[++i], &end, 10);
            if (*end || g_timeout_ms <= 0)
                die("bad --timeout-ms");
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-')
            die("unknown option %s", argv[i]);
        else
            break;
    }
    if (!strcmp(mode, "startup")) {
        if (!ctrl || i >= argc) {
            usage(stderr);
            return 2;
        }
        return do_startup(ctrl, argv + i);
    }
    if (!strcmp(mode, "hold")) {
        if (i >= argc) {
            usage(stderr);
            return 2;
        }
        return do_hold(argc - i, argv + i);
    }
    usage(stderr);
    return 2;
}
