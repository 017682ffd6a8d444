/* libFuzzer target: the mssim framing (src/server/mssim.c) with a real
 * engine behind it, fed arbitrary bytes in arbitrary chunks, the way
 * src/server/loop.c feeds it from recv().
 *
 * Input format:
 *   u8 mode      bit0: a single connection on the platform port (else the
 *                      command port)
 *                bit1: two connections, command and platform port, on one
 *                      engine; each chunk's top bit picks the connection
 *                bit2: the engine starts powered off
 *                bit3: TPM2_Startup(CLEAR) already done
 *   u8 n         (n & 31) chunk sizes follow; 0: everything at once
 *   n bytes      chunk v: top bit = connection (two-connection mode),
 *                v & 0x7f == 0x7f: as much as fits, else (v & 0x7f) + 1
 *   the rest     the byte stream, cut into chunks cycling through the table
 *
 * Invariants: every reply fits VT_MSSIM_OUT_MAX; a command reply is
 * u32 n, a response that passes fz_check_response, u32 0; a connection
 * that is neither closed nor stopped never has a full buffer it cannot make
 * progress on (loop.c would have to drop it). */
#include "fuzz_common.h"
#include "server/mssim.h"

static fz_platform plat;

typedef struct {
    vt_mssim_conn m;
    bool dead;
} conn;

static void check_reply(const conn *c, uint32_t code, const uint8_t *cmd_head, size_t cmd_len,
                        const uint8_t *out, size_t out_len)
{
    if (out_len == 0 || out_len > VT_MSSIM_OUT_MAX)
        fz_fail("mssim reply of %zu bytes", out_len);
    if (!c->m.platform && code == VT_MSSIM_SEND_COMMAND) {
        uint32_t n;
        if (out_len < 8)
            fz_fail("command reply of %zu bytes", out_len);
        n = fz_be32(out);
        if (out_len != 8u + n)
            fz_fail("command reply length %zu != 8 + %u", out_len, n);
        if (fz_be32(out + 4 + n) != 0)
            fz_fail("command reply does not end in u32 0");
        if (cmd_head)
            (void)fz_check_response(cmd_head, cmd_len, out + 4, n);
        else if (n != 10 || fz_be32(out + 4 + 2) != 10)
            fz_fail("oversized command answered with %u bytes", n);
    } else if (code == VT_MSSIM_REMOTE_HANDSHAKE && !c->m.platform) {
        if (out_len != 12)
            fz_fail("handshake reply of %zu bytes", out_len);
    } else if (out_len != 4 || fz_be32(out) != 0) {
        fz_fail("signal 0x%x answered with %zu bytes", code, out_len);
    }
}

/* Deliver bytes, run every complete request, as loop.c does. */
static size_t deliver(conn *c, vt_engine *e, const uint8_t *p, size_t n, bool *stop)
{
    static uint8_t out[VT_MSSIM_OUT_MAX];
    size_t room, out_len;

    if (c->dead)
        return n; /* the server closed it: bytes go nowhere */
    room = sizeof(c->m.in) - c->m.in_len;
    if (n > room)
        n = room;
    memcpy(c->m.in + c->m.in_len, p, n);
    c->m.in_len += n;
    for (;;) {
        uint8_t head[10];
        size_t cmd_len = 0;
        const uint8_t *cmd_head = NULL;
        uint32_t code = c->m.in_len >= 4 ? fz_be32(c->m.in) : 0xFFFFFFFFu;

        if (c->m.discard)
            code = 0xFFFFFFFFu; /* still skipping; no request in front */
        if (code == VT_MSSIM_SEND_COMMAND && c->m.in_len >= 9) {
            cmd_len = fz_be32(c->m.in + 5);
            if (cmd_len <= VT_MAX_COMMAND_SIZE) {
                memset(head, 0, sizeof(head));
                memcpy(head, c->m.in + 9,
                       c->m.in_len - 9 < sizeof(head) ? c->m.in_len - 9 : sizeof(head));
                cmd_head = head;
            }
        }
        out_len = 12345;
        if (!vt_mssim_step(&c->m, e, out, &out_len))
            break;
        if (code == 0xFFFFFFFFu) {
            /* the discard finished and a request behind it was handled:
             * we did not see its code, only check the size bound */
            if (out_len == 0 || out_len > VT_MSSIM_OUT_MAX)
                fz_fail("mssim reply of %zu bytes", out_len);
        } else {
            check_reply(c, code, cmd_head, cmd_len, out, out_len);
        }
        if (c->m.stop) {
            *stop = true;
            break;
        }
    }
    if (c->m.close) {
        c->dead = true;
    } else if (c->m.in_len >= sizeof(c->m.in)) {
        fz_fail("connection stalled with a full buffer (%zu bytes)", c->m.in_len);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static conn conns[2];
    uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    vt_platform p;
    vt_engine *e = NULL;
    uint8_t mode;
    const uint8_t *chunks;
    unsigned n_chunks, k = 0;
    size_t off;
    bool two, stop = false;

    if (size < 2)
        return 0;
    mode = data[0];
    n_chunks = data[1] & 31u;
    if (size < 2u + n_chunks)
        return 0;
    chunks = data + 2;
    off = 2u + n_chunks;
    two = (mode & 2) != 0;

    fz_platform_reset(&plat);
    p = fz_vt_platform(&plat);
    if (vt_engine_new(&p, &e) != VT_OK)
        fz_fail("vt_engine_new on an empty store failed");
    if (!(mode & 4)) {
        vt_engine_power_on(e);
        if ((mode & 8) && fz_startup(e, 0x0000, rsp) != 0)
            fz_fail("Startup(CLEAR) failed");
    }
    vt_mssim_init(&conns[0].m, two ? false : (mode & 1) != 0);
    conns[0].dead = false;
    vt_mssim_init(&conns[1].m, true);
    conns[1].dead = false;

    while (off < size && !stop) {
        size_t want = size - off, took;
        conn *c = &conns[0];
        if (n_chunks) {
            uint8_t v = chunks[k++ % n_chunks];
            if ((v & 0x7f) != 0x7f && want > (size_t)(v & 0x7f) + 1)
                want = (size_t)(v & 0x7f) + 1;
            if (two && (v & 0x80))
                c = &conns[1];
        }
        took = deliver(c, e, data + off, want, &stop);
        if (took == 0) {
            /* the buffer is full: can only happen for a dead connection */
            took = want;
        }
        off += took;
        plat.now_ms += 3;
        if (conns[0].dead && (!two || conns[1].dead))
            break;
    }
    vt_engine_free(e);
    return 0;
}
