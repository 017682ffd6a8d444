/* The daemon's logger (see log.h). */
#define _GNU_SOURCE
#include "server/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024
#define REOPEN_MSG "\x01"

enum sink { SINK_STDERR, SINK_JOURNAL, SINK_SYSLOG, SINK_FILE };

static vt_log_level log_level = VT_LOG_INFO;
static enum sink log_sink = SINK_STDERR;
static atomic_int log_fd = -1; /* syslog socket, or the file helper's socket */

/* syslog(3) priorities, facility daemon (RFC 5424 section 6.2.1). */
static const int prio[] = { 3, 4, 6, 7 };
static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int vt_log_parse_level(const char *s, vt_log_level *out)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    int i;
    for (i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (vt_log_level)i;
            return 0;
        }
    if (strcmp(s, "warning") == 0) {
        *out = VT_LOG_WARN;
        return 0;
    }
    return -1;
}

int vt_log_target_ok(const char *s)
{
    return strcmp(s, "stderr") == 0 || strcmp(s, "syslog") == 0 || (s[0] == '/' && s[1] != '\0');
}

int vt_log_enabled(vt_log_level level)
{
    return level <= log_level;
}

/* Does JOURNAL_STREAM ("DEV:INODE") name our standard error?  Then the
 * journal reads it and understands "<N>" priority prefixes. */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* The file helper: a separate process, outside the sandbox, that holds the
 * log file open and writes what the daemon sends it, one message a line.
 * It only ever opens the one path it was given. */
static void file_helper(int sock, int fd, const char *path)
{
    char buf[LINE_MAX_LEN + 64];

    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN); /* it goes when the daemon has said its last word */
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "vitrum-log", 0, 0, 0);
    for (;;) {
        ssize_t n = recv(sock, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (n == 1 && buf[0] == REOPEN_MSG[0]) {
            int nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
            if (nfd >= 0) {
                close(fd);
                fd = nfd;
            }
            continue;
        }
        if (write(fd, buf, (size_t)n) < 0)
            continue; /* nowhere to report it */
    }
    _exit(0);
}

static int open_file(const char *path, char *err, size_t errlen)
{
    int sv[2], fd;
    pid_t pid;

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the log file %s: %s", path, strerror(errno));
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        close(fd);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fd);
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        file_helper(sv[1], fd, path);
    }
    close(fd);
    close(sv[1]);
    atomic_store(&log_fd, sv[0]);
    return 0;
}

static int open_syslog(char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "cannot reach syslog at /dev/log: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    atomic_store(&log_fd, fd);
    return 0;
}

int vt_log_open(const char *target, vt_log_level level, char *err, size_t errlen)
{
    err[0] = '\0';
    /* Read the time zone now: gmtime_r and localtime_r load it on first
     * use, and the sandbox forbids opening it later. */
    tzset();
    vt_log_close();
    log_level = level;
    log_sink = stderr_is_journal() ? SINK_JOURNAL : SINK_STDERR;
    if (!target || strcmp(target, "stderr") == 0)
        return 0;
    if (strcmp(target, "syslog") == 0) {
        if (open_syslog(err, errlen) != 0)
            return -1;
        log_sink = SINK_SYSLOG;
        return 0;
    }
    if (!vt_log_target_ok(target)) {
        snprintf(err, errlen, "log target must be stderr, syslog or an absolute file path");
        return -1;
    }
    if (open_file(target, err, errlen) != 0)
        return -1;
    log_sink = SINK_FILE;
    return 0;
}

void vt_log_reopen(void)
{
    int fd = atomic_load(&log_fd);
    if (log_sink == SINK_FILE && fd >= 0)
        (void)send(fd, REOPEN_MSG, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void vt_log_close(void)
{
    int fd = atomic_exchange(&log_fd, -1);
    if (fd >= 0)
        close(fd);
    log_sink = SINK_STDERR;
}

static void write_stderr(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

void vt_log(vt_log_level level, const char *fmt, ...)
{
    char msg[LINE_MAX_LEN], line[LINE_MAX_LEN + 64];
    size_t i, n = 0, cap = sizeof(line);
    int fd, r;
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    r = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    if ((size_t)r >= sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    for (i = 0; msg[i]; i++) /* one event, one line */
        if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
            msg[i] = '?';

    fd = atomic_load(&log_fd);
    switch (log_sink) {
    case SINK_JOURNAL:
        n = (size_t)snprintf(line, cap, "<%d>%s\n", prio[level], msg);
        break;
    case SINK_SYSLOG: {
        time_t now = time(NULL);
        struct tm tm;
        char ts[32] = "";
        /* not strftime(): it calls tzset(), which opens the zone file */
        if (localtime_r(&now, &tm) && tm.tm_mon >= 0 && tm.tm_mon < 12)
            snprintf(ts, sizeof(ts), "%s %2d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
        /* RFC 3164 section 4.1: <PRI>TIMESTAMP TAG: MSG; facility daemon (3) */
        n = (size_t)snprintf(line, cap, "<%d>%s vitrum[%ld]: %s%s", 3 * 8 + prio[level], ts, (long)getpid(),
                             tag[level], msg);
        break;
    }
    case SINK_FILE: {
        time_t now = time(NULL);
        struct tm tm;
        char ts[32] = "";
        if (gmtime_r(&now, &tm))
            snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
        n = (size_t)snprintf(line, cap, "%s vitrum[%ld]: %s%s\n", ts, (long)getpid(), tag[level], msg);
        break;
    }
    case SINK_STDERR:
    default:
        n = (size_t)snprintf(line, cap, "vitrum: %s%s\n", level == VT_LOG_ERROR ? "" : tag[level], msg);
        break;
    }
    if (n >= cap)
        n = cap - 1;
    if ((log_sink == SINK_SYSLOG || log_sink == SINK_FILE) && fd >= 0) {
        if (send(fd, line, n, MSG_NOSIGNAL) >= 0)
            return;
        /* syslog or the helper went away: say it where someone may see it */
        n = (size_t)snprintf(line, cap, "vitrum: %s%s\n", level == VT_LOG_ERROR ? "" : tag[level], msg);
        if (n >= cap)
            n = cap - 1;
    }
    write_stderr(line, n);
}
