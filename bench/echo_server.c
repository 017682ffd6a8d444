/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * echo_server: the loopback floor for bench/bench.c --proto echo.
 *
 * Each request is: uint32 BE total request length L (>= 8), uint32 BE
 * response length N, then L-8 filler bytes.  The server reads the whole
 * request and answers with N bytes in one write.  TCP_NODELAY on, one
 * connection at a time (the bench uses one persistent connection), no
 * work besides the copy: this is what any TCP TPM server costs at least.
 *
 * usage: echo_server [--listen 127.0.0.1] --port P
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXBUF 65536

static uint8_t rbuf[MAXBUF], wbuf[MAXBUF];
static size_t rpos, rlen;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 1 = ok, 0 = peer closed / error */
static int recv_exact(int fd, uint8_t *dst, size_t n)
{
    while (n > 0) {
        if (rpos == rlen) {
            ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return 0;
            rpos = 0;
            rlen = (size_t)r;
        }
        size_t k = rlen - rpos;
        if (k > n)
            k = n;
        if (dst) {
            memcpy(dst, rbuf + rpos, k);
            dst += k;
        }
        rpos += k;
        n -= k;
    }
    return 1;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static void serve(int fd)
{
    uint8_t h[8];
    rpos = rlen = 0;
    while (recv_exact(fd, h, 8)) {
        uint32_t req = get32(h), rsp = get32(h + 4);
        if (req < 8 || rsp > MAXBUF) {
            fprintf(stderr, "echo_server: bad request (%u, %u)\n", req, rsp);
            return;
        }
        if (!recv_exact(fd, NULL, req - 8))
            return;
        if (!send_all(fd, wbuf, rsp))
            return;
    }
}

int main(int argc, char **argv)
{
    const char *listen_addr = "127.0.0.1";
    int port = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen_addr = argv[++i];
        else {
            fprintf(stderr, "usage: echo_server [--listen ADDR] --port P\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "echo_server: --port is required\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(wbuf, 0x80, sizeof wbuf);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "echo_server: bad address %s\n", listen_addr);
        return 2;
    }
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0) {
        fprintf(stderr, "echo_server: bind %s:%d: %s\n", listen_addr, port, strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("echo_server: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(fd);
        close(fd);
    }
}
