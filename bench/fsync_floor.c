/* The durability floor: one small pwrite + fdatasync of a file in DIR, the
 * least any server that makes each acknowledged change durable must pay.
 *   fsync_floor DIR COUNT  ->  one key=value line like bench's.
 *
 * The file is written in place at offset 0 (its size never changes, so the
 * flush is data only: no allocation, no size update), as vitrum's journal
 * is.
 *
 *   fsync_floor --serve [--listen ADDR] --port P DIR
 * is the same floor behind the loopback: echo_server's protocol (bench
 * --proto echo; request = u32 BE length L, u32 BE response length N, L-8
 * filler bytes; answer = N bytes in one send), with one 64-byte pwrite +
 * fdatasync of DIR/fsync-echo between reading a request and answering it.
 * It is what any TCP server costs that makes each request durable before
 * answering it, with no other work: the network floor plus the disk floor,
 * including the wake-ups the two add together. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A 64-byte file in DIR, written and flushed once: later writes overwrite
 * it in place. */
static int open_floor_file(const char *dir, const char *name, char *path, size_t cap)
{
    char buf[64] = { 1 };
    int fd;

    snprintf(path, cap, "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || fsync(fd) != 0)
        return -1;
    return fd;
}

static int durable_write(int fd, unsigned i)
{
    char buf[64] = { 0 };
    buf[0] = (char)i;
    return pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) && fdatasync(fd) == 0 ? 0 : -1;
}

/* ---- durable echo server ---- */

#define MAXBUF 65536
static uint8_t rbuf[MAXBUF], wbuf[MAXBUF];
static size_t rpos, rlen;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int recv_exact(int fd, uint8_t *dst, size_t n)
{
    while (n > 0) {
        size_t k;
        if (rpos == rlen) {
            ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return 0;
            rpos = 0;
            rlen = (size_t)r;
        }
        k = rlen - rpos < n ? rlen - rpos : n;
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

static int serve(const char *listen_addr, int port, const char *dir)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    char path[4096];
    int one = 1, ls, df;
    unsigned i = 0;

    signal(SIGPIPE, SIG_IGN);
    memset(wbuf, 0x80, sizeof wbuf);
    df = open_floor_file(dir, "fsync-echo", path, sizeof(path));
    if (df < 0) {
        perror("fsync_floor: state file");
        return 1;
    }
    ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "fsync_floor: bad address %s\n", listen_addr);
        return 2;
    }
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0) {
        fprintf(stderr, "fsync_floor: bind %s:%d: %s\n", listen_addr, port, strerror(errno));
        return 1;
    }
    for (;;) {
        uint8_t h[8];
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("fsync_floor: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        rpos = rlen = 0;
        while (recv_exact(fd, h, 8)) {
            uint32_t req = get32(h), rsp = get32(h + 4);
            if (req < 8 || rsp > MAXBUF) {
                fprintf(stderr, "fsync_floor: bad request (%u, %u)\n", req, rsp);
                break;
            }
            if (!recv_exact(fd, NULL, req - 8))
                break;
            if (durable_write(df, i++) != 0) {
                perror("fsync_floor: write");
                return 1;
            }
            if (!send_all(fd, wbuf, rsp))
                break;
        }
        close(fd);
    }
}

int main(int argc, char **argv)
{
    char path[4096];
    long count, i;
    uint64_t *lat, t0, t1;
    int fd;

    if (argc > 1 && !strcmp(argv[1], "--serve")) {
        const char *listen_addr = "127.0.0.1", *dir = NULL;
        int port = -1, bad = 0;
        for (int a = 2; a < argc && !bad; a++) {
            if (!strcmp(argv[a], "--port") && a + 1 < argc)
                port = atoi(argv[++a]);
            else if (!strcmp(argv[a], "--listen") && a + 1 < argc)
                listen_addr = argv[++a];
            else if (!dir && argv[a][0] != '-')
                dir = argv[a];
            else
                bad = 1;
        }
        if (bad || !dir || port <= 0 || port > 65535) {
            fprintf(stderr, "usage: fsync_floor --serve [--listen ADDR] --port P DIR\n");
            return 2;
        }
        return serve(listen_addr, port, dir);
    }
    if (argc != 3 || (count = atol(argv[2])) < 1) {
        fprintf(stderr, "usage: fsync_floor DIR COUNT\n"
                        "       fsync_floor --serve [--listen ADDR] --port P DIR\n");
        return 2;
    }
    fd = open_floor_file(argv[1], "fsync-floor", path, sizeof(path));
    lat = calloc((size_t)count, sizeof(*lat));
    if (fd < 0 || !lat) {
        perror("fsync_floor");
        return 1;
    }
    t0 = now_ns();
    for (i = 0; i < count; i++) {
        uint64_t a = now_ns();
        if (durable_write(fd, (unsigned)i) != 0) {
            perror("fsync_floor");
            return 1;
        }
        lat[i] = now_ns() - a;
    }
    t1 = now_ns();
    qsort(lat, (size_t)count, sizeof(*lat), cmp);
    printf("label=fsync op=fsync count=%ld ops_s=%.1f median_us=%.2f p99_us=%.2f\n", count,
           (double)count * 1e9 / (double)(t1 - t0), (double)lat[count / 2] / 1000.0,
           (double)lat[(size_t)((double)count * 0.99)] / 1000.0);
    close(fd);
    unlink(path);
    free(lat);
    return 0;
}
