/* An mssim server over the fuzz_engine harness's deterministic platform that
 * records every TPM command it executes as a fuzz_engine input.
 *
 *   record_engine PORT OUTFILE        (platform port: PORT+1)
 *
 * The engine is built exactly as fuzz_engine builds it for each input (same
 * fz_platform, _TPM_Init, Startup(CLEAR), the clock advancing 7 ms before
 * each command), so replaying OUTFILE in fuzz_engine re-creates the same
 * responses: context blobs, handles, nonces and session HMACs of the recorded
 * tpm2-tools run stay valid, and every recorded command reaches its action.
 * OUTFILE is rewritten after every command (flags 0x03, raw records with
 * ctl = locality), at most 64 records (the harness's limit).  Each command's
 * response code goes to stderr.  Runs until killed.  Plain build (no
 * sanitizers): tests/fuzz/record_key_corpus.sh builds and drives it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "engine/engine_internal.h"
#include "server/mssim.h"

#define MAX_RECORDS 64u
#define MAX_CONN 8

static fz_platform plat;
static uint8_t rec[1 + MAX_RECORDS * (3 + VT_MAX_COMMAND_SIZE)];
static size_t rec_len = 1;
static unsigned n_rec;
static const char *out_path;

/* Rewritten whole after every command, atomically (the driver may kill the
 * server at any moment). */
static void save(void)
{
    char tmp[4096];
    FILE *f;
    snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
    f = fopen(tmp, "wb");
    if (!f || fwrite(rec, 1, rec_len, f) != rec_len || fclose(f) != 0 || rename(tmp, out_path) != 0) {
        perror(out_path);
        exit(1);
    }
}

static void record(uint8_t locality, const uint8_t *cmd, size_t n)
{
    if (n_rec == MAX_RECORDS) {
        fprintf(stderr, "record_engine: more than %u commands, not recorded\n", MAX_RECORDS);
        return;
    }
    rec[rec_len++] = locality & 7;
    fz_put16(rec + rec_len, (uint16_t)n);
    rec_len += 2;
    memcpy(rec + rec_len, cmd, n);
    rec_len += n;
    n_rec++;
    save();
}

static int listen_on(uint16_t port)
{
    struct sockaddr_in a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
        perror("listen");
        exit(1);
    }
    return fd;
}

typedef struct {
    int fd;
    vt_mssim_conn m;
} conn;

/* What a resource manager does for tpm2-tools (which leaves every object it
 * ContextLoads in the TPM): remember the transient objects and sessions the
 * engine hands out, and flush those left when the client disconnects.  The
 * flushes are recorded like any command, so the replay stays identical. */
#define MAX_LIVE 64
static uint32_t live[MAX_LIVE];
static unsigned n_live;

static void live_drop(uint32_t h)
{
    unsigned i;
    for (i = 0; i < n_live; i++)
        if (live[i] == h) {
            live[i] = live[--n_live];
            return;
        }
}

static void track(const uint8_t *cmd, size_t n, const uint8_t *rsp, size_t rlen)
{
    uint32_t cc, h;
    if (n < 10 || rlen < 10 || fz_be32(rsp + 6) != 0)
        return;
    cc = fz_be32(cmd + 6);
    if ((cc == 0x165 || cc == 0x13E || cc == 0x185) && n >= 14) {
        /* FlushContext (parameter), SequenceComplete, EventSequenceComplete */
        live_drop(fz_be32(cmd + 10 + (cc == 0x185 ? 4 : 0)));
        return;
    }
    if (fz_be16(cmd) == FZ_ST_SESSIONS) {
        /* sessions used without continueSession are gone */
        const vt_cmd_def *def = vt_command_find(cc);
        size_t off = 10 + 4u * (def ? def->n_handles : 0), end;
        if (n >= off + 4) {
            end = off + 4 + fz_be32(cmd + off);
            off += 4;
            while (end <= n && off + 7 <= end) {
                uint32_t sh = fz_be32(cmd + off);
                size_t nl = fz_be16(cmd + off + 4), hl;
                if (off + 6 + nl + 3 > end)
                    break;
                hl = fz_be16(cmd + off + 6 + nl + 1);
                if (!(cmd[off + 6 + nl] & 1))
                    live_drop(sh);
                off += 6 + nl + 1 + 2 + hl;
            }
        }
    }
    if (rlen < 14)
        return;
    switch (cc) {
    case 0x131: case 0x157: case 0x15B: case 0x161: case 0x167: case 0x176:
    case 0x186: case 0x191:
        h = fz_be32(rsp + 10);
        if ((h >> 24 == 0x80 || h >> 24 == 0x02 || h >> 24 == 0x03) && n_live < MAX_LIVE)
            live[n_live++] = h;
        break;
    default:
        break;
    }
}

static void exec_recorded(vt_engine *e, uint8_t locality, const uint8_t *cmd, size_t n, uint8_t *rsp)
{
    size_t rlen;
    record(locality, cmd, n);
    plat.now_ms += 7; /* as fuzz_engine does */
    rlen = vt_engine_execute(e, locality, cmd, n, rsp, VT_MAX_RESPONSE_SIZE);
    track(cmd, n, rsp, rlen);
    fprintf(stderr, "record_engine: #%u cc 0x%x -> rc 0x%x (flush)\n", n_rec, fz_be32(cmd + 6),
            fz_be32(rsp + 6));
}

static void flush_live(vt_engine *e, uint8_t *rsp)
{
    while (n_live > 0) {
        uint8_t cmd[14] = { 0x80, 0x01, 0, 0, 0, 14, 0, 0, 0x01, 0x65 };
        fz_put32(cmd + 10, live[--n_live]);
        exec_recorded(e, 0, cmd, sizeof(cmd), rsp);
    }
}

int main(int argc, char **argv)
{
    static conn conns[MAX_CONN];
    static uint8_t out[VT_MSSIM_OUT_MAX], rsp[VT_MAX_RESPONSE_SIZE];
    vt_platform p;
    vt_engine *e = NULL;
    int lfd[2];
    unsigned i;

    if (argc != 3) {
        fprintf(stderr, "usage: record_engine PORT OUTFILE\n");
        return 2;
    }
    out_path = argv[2];
    setenv("TSS2_LOG", "all+none", 0);
    fz_platform_reset(&plat);
    p = fz_vt_platform(&plat);
    if (vt_engine_new(&p, &e) != VT_OK)
        return 1;
    vt_engine_power_on(e);
    if (fz_startup(e, 0x0000, rsp) != 0)
        return 1;
    rec[0] = 0x03;
    save();
    lfd[0] = listen_on((uint16_t)atoi(argv[1]));
    lfd[1] = listen_on((uint16_t)(atoi(argv[1]) + 1));
    for (i = 0; i < MAX_CONN; i++)
        conns[i].fd = -1;

    for (;;) {
        struct pollfd pf[2 + MAX_CONN];
        unsigned np = 0, k;
        pf[np++] = (struct pollfd){ lfd[0], POLLIN, 0 };
        pf[np++] = (struct pollfd){ lfd[1], POLLIN, 0 };
        for (i = 0; i < MAX_CONN; i++)
            pf[np++] = (struct pollfd){ conns[i].fd, POLLIN, 0 };
        if (poll(pf, np, -1) < 0)
            continue;
        for (k = 0; k < 2; k++)
            if (pf[k].revents & POLLIN) {
                int fd = accept(lfd[k], NULL, NULL);
                for (i = 0; i < MAX_CONN && conns[i].fd >= 0; i++)
                    ;
                if (fd < 0 || i == MAX_CONN) {
                    if (fd >= 0)
                        close(fd);
                    continue;
                }
                conns[i].fd = fd;
                vt_mssim_init(&conns[i].m, k == 1);
            }
        for (i = 0; i < MAX_CONN; i++) {
            conn *c = &conns[i];
            ssize_t r;
            size_t olen;
            if (c->fd < 0 || !(pf[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = recv(c->fd, c->m.in + c->m.in_len, sizeof(c->m.in) - c->m.in_len, 0);
            if (r <= 0) {
                if (!c->m.platform)
                    flush_live(e, rsp);
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->m.in_len += (size_t)r;
            for (;;) {
                bool is_cmd = false;
                uint32_t cc = 0;
                static uint8_t cmd_copy[VT_MAX_COMMAND_SIZE];
                size_t cmd_n = 0;
                if (!c->m.platform && c->m.in_len >= 9 && fz_be32(c->m.in) == VT_MSSIM_SEND_COMMAND) {
                    size_t n = fz_be32(c->m.in + 5);
                    if (c->m.in_len >= 9 + n && n <= VT_MAX_COMMAND_SIZE) {
                        record(c->m.in[4], c->m.in + 9, n);
                        plat.now_ms += 7; /* as fuzz_engine does */
                        is_cmd = true;
                        cc = n >= 10 ? fz_be32(c->m.in + 9 + 6) : 0;
                        memcpy(cmd_copy, c->m.in + 9, n);
                        cmd_n = n;
                    }
                }
                if (!vt_mssim_step(&c->m, e, out, &olen))
                    break;
                if (is_cmd && olen >= 14)
                    track(cmd_copy, cmd_n, out + 4, olen - 8);
                if (is_cmd && olen >= 14)
                    fprintf(stderr, "record_engine: #%u cc 0x%x -> rc 0x%x\n", n_rec, cc,
                            fz_be32(out + 10));
                if (olen && send(c->fd, out, olen, MSG_NOSIGNAL) != (ssize_t)olen)
                    break;
            }
            if (c->m.close) {
                if (!c->m.platform)
                    flush_live(e, rsp);
                close(c->fd);
                c->fd = -1;
            }
        }
    }
}
