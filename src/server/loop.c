#define _GNU_SOURCE
#include "server/server.h"
#include "server/mssim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64

typedef struct {
    int fd;
    vt_mssim_conn m;
    uint8_t out[VT_MSSIM_OUT_MAX];
    size_t out_len, out_off;
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
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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

static void conn_close(conn **slot)
{
    close((*slot)->fd);
    free(*slot);
    *slot = NULL;
}

/* Write what is pending; true when all of it went out. */
static bool conn_flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        if (n <= 0) {
            c->m.close = true;
            return false;
        }
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    return true;
}

/* Run every complete request that is buffered, as long as replies drain. */
static void conn_process(conn *c, vt_engine *e)
{
    while (c->out_len == 0 && !c->m.stop) {
        size_t n = 0;
        if (!vt_mssim_step(&c->m, e, c->out, &n))
            break;
        c->out_len = n;
        c->out_off = 0;
        if (!conn_flush(c))
            break;
    }
}

static void conn_read(conn *c, vt_engine *e)
{
    size_t room = sizeof(c->m.in) - c->m.in_len;
    ssize_t n;
    int one = 1;

    if (room == 0) { /* cannot happen: every frame fits; refuse anyway */
        c->m.close = true;
        return;
    }
    n = recv(c->fd, c->m.in + c->m.in_len, room, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        c->m.close = true;
        return;
    }
    c->m.in_len += (size_t)n;
    conn_process(c, e);
    /* tcti-mssim sends the frame header and the command in two writes
     * without TCP_NODELAY, so its second write waits for our ACK of the
     * first.  When a frame is incomplete, ACK at once instead of after the
     * delayed-ACK timer (tens of ms per command). */
    if (c->m.in_len > 0)
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void accept_one(int lfd, bool platform, conn **conns)
{
    int fd, one = 1, i;

    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    conns[i]->fd = fd;
    vt_mssim_init(&conns[i]->m, platform);
}

int vt_serve_mssim(vt_engine *e, int cmd_fd, int plat_fd)
{
    conn *conns[MAX_CONNS] = { 0 };
    struct pollfd pfd[3 + MAX_CONNS];
    int map[3 + MAX_CONNS];
    sigset_t mask;
    int sfd, result = -1, i;
    bool stop = false;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
        return -1;
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);

    while (!stop) {
        int n = 0;
        pfd[n] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        map[n++] = -1;
        pfd[n] = (struct pollfd){ .fd = cmd_fd, .events = POLLIN };
        map[n++] = -2;
        pfd[n] = (struct pollfd){ .fd = plat_fd, .events = POLLIN };
        map[n++] = -3;
        for (i = 0; i < MAX_CONNS; i++) {
            if (!conns[i])
                continue;
            pfd[n] = (struct pollfd){ .fd = conns[i]->fd,
                                      .events = (short)(conns[i]->out_len ? POLLOUT : POLLIN) };
            map[n++] = i;
        }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < n && !stop; i++) {
            if (!pfd[i].revents)
                continue;
            if (map[i] == -1) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGHUP) {
                    result = (int)si.ssi_signo;
                    stop = true;
                }
            } else if (map[i] == -2 || map[i] == -3) {
                accept_one(pfd[i].fd, map[i] == -3, conns);
            } else {
                conn *c = conns[map[i]];
                if (pfd[i].revents & POLLOUT) {
                    if (conn_flush(c))
                        conn_process(c, e);
                } else {
                    conn_read(c, e);
                }
                if (c->m.stop && c->out_len == 0) {
                    result = 0;
                    stop = true;
                }
                if (c->m.close || (pfd[i].revents & (POLLERR | POLLNVAL)))
                    conn_close(&conns[map[i]]);
            }
        }
    }
    for (i = 0; i < MAX_CONNS; i++)
        if (conns[i])
            conn_close(&conns[i]);
    close(sfd);
    return result;
}
