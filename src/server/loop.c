/* The serving loop.
 *
 * The main thread accepts connections and waits for signals; each
 * connection gets a thread doing blocking I/O, so one request costs one
 * recv and one send, as a plain echo server would.  TPM commands run one at
 * a time under a single lock — one security core — while the I/O of other
 * connections goes on; a client that stops reading blocks only itself. */
#define _GNU_SOURCE
#include "server/server.h"
#include "server/mssim.h"
#include "server/log.h"
#include "server/notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64
#define CONN_STACK (256u * 1024u)

typedef struct {
    vt_engine *engine;
    pthread_mutex_t core; /* serialises every engine call */
    int wake_fd;          /* eventfd: a connection ended or asked to stop */
    atomic_bool stop_requested;
    uint32_t next_client; /* connection ids for vt_engine_set_client */
    bool keep_loaded;     /* no ids: nothing is flushed on disconnect */
} server;

typedef struct {
    server *srv;
    int fd;
    pthread_t thread;
    uint32_t id; /* the engine's client id: what it loads is flushed when it goes */
    atomic_bool done;
    vt_mssim_conn m;
    uint8_t out[VT_MSSIM_OUT_MAX];
} conn;

int vt_listen_tcp(const char *addr, uint16_t port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (strcmp(addr, "localhost") == 0)
        addr = "127.0.0.1";
    if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        sl = sizeof(*a);
    } else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        sl = sizeof(*a);
    } else {
        snprintf(err, errlen, "not an IP address: %s", addr);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%u: %s", addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void wake(server *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->wake_fd, &one, sizeof(one));
    (void)r;
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    server *s = c->srv;
    int one = 1;

    while (!c->m.close && !c->m.stop) {
        size_t room = sizeof(c->m.in) - c->m.in_len;
        ssize_t n;

        if (room == 0) /* cannot happen: every frame fits; refuse anyway */
            break;
        n = recv(c->fd, c->m.in + c->m.in_len, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        c->m.in_len += (size_t)n;
        for (;;) {
            size_t out_len = 0;
            bool did;
            pthread_mutex_lock(&s->core);
            vt_engine_set_client(s->engine, c->id);
            did = !atomic_load(&s->stop_requested) && vt_mssim_step(&c->m, s->engine, c->out, &out_len);
            pthread_mutex_unlock(&s->core);
            if (!did)
                break;
            if (!send_all(c->fd, c->out, out_len)) {
                c->m.close = true;
                break;
            }
            if (c->m.stop) {
                atomic_store(&s->stop_requested, true);
                break;
            }
        }
        /* tcti-mssim sends the frame header and the command in two writes
         * without TCP_NODELAY, so its second write waits for our ACK of
         * the first.  When a frame is incomplete, ACK at once instead of
         * after the delayed-ACK timer (tens of ms per command). */
        if (c->m.in_len > 0)
            setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    /* What this client loaded and left behind goes with it. */
    pthread_mutex_lock(&s->core);
    vt_engine_client_gone(s->engine, c->id);
    pthread_mutex_unlock(&s->core);
    atomic_store(&c->done, true);
    wake(s);
    return NULL;
}

static void accept_one(server *s, int lfd, bool platform, conn **conns)
{
    pthread_attr_t attr;
    int fd, one = 1, i;

    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (i = 0; i < MAX_CONNS; i++)
        if (!conns[i])
            break;
    if (i == MAX_CONNS || !(conns[i] = calloc(1, sizeof(conn)))) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conns[i]->srv = s;
    conns[i]->fd = fd;
    if (!s->keep_loaded && ++s->next_client == 0)
        ++s->next_client;
    conns[i]->id = s->keep_loaded ? 0 : s->next_client;
    vt_mssim_init(&conns[i]->m, platform);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CONN_STACK);
    if (pthread_create(&conns[i]->thread, &attr, conn_main, conns[i]) != 0) {
        close(fd);
        free(conns[i]);
        conns[i] = NULL;
    }
    pthread_attr_destroy(&attr);
}

static void reap(conn **conns, bool all)
{
    int i;
    for (i = 0; i < MAX_CONNS; i++) {
        if (!conns[i])
            continue;
        if (all)
            shutdown(conns[i]->fd, SHUT_RDWR); /* unblocks its recv */
        if (all || atomic_load(&conns[i]->done)) {
            pthread_join(conns[i]->thread, NULL);
            close(conns[i]->fd);
            free(conns[i]);
            conns[i] = NULL;
        }
    }
}

int vt_serve_mssim(vt_engine *e, int cmd_fd, int plat_fd, bool keep_loaded)
{
    conn *conns[MAX_CONNS] = { 0 };
    server s;
    sigset_t mask;
    int sfd, result = -1;

    memset(&s, 0, sizeof(s));
    s.engine = e;
    s.keep_loaded = keep_loaded;
    pthread_mutex_init(&s.core, NULL);
    atomic_init(&s.stop_requested, false);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGPIPE);
    /* Blocked in every thread (they inherit the mask); read via signalfd. */
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
        return -1;
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sfd < 0 || s.wake_fd < 0)
        return -1;

    vt_notify_ready(); /* systemd Type=notify: the sockets are listening */
    for (;;) {
        struct pollfd pfd[4] = {
            { .fd = sfd, .events = POLLIN },
            { .fd = s.wake_fd, .events = POLLIN },
            { .fd = cmd_fd, .events = POLLIN },
            { .fd = plat_fd, .events = POLLIN },
        };
        if (poll(pfd, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si = { 0 };
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGHUP &&
                si.ssi_signo != SIGPIPE) {
                result = (int)si.ssi_signo;
                break;
            }
            if (si.ssi_signo == SIGHUP)
                vt_log_reopen(); /* logrotate moved the log file away */
        }
        if (pfd[1].revents) {
            uint64_t v;
            ssize_t r = read(s.wake_fd, &v, sizeof(v));
            (void)r;
            reap(conns, false);
            if (atomic_load(&s.stop_requested)) {
                result = 0;
                break;
            }
        }
        if (pfd[2].revents)
            accept_one(&s, cmd_fd, false, conns);
        if (pfd[3].revents)
            accept_one(&s, plat_fd, true, conns);
    }
    atomic_store(&s.stop_requested, true);
    reap(conns, true);
    close(sfd);
    close(s.wake_fd);
    pthread_mutex_destroy(&s.core);
    return result;
}
