#include "server/mssim.h"

#include <string.h>
#include "common/be.h"

void vt_mssim_init(vt_mssim_conn *c, bool platform)
{
    memset(c, 0, sizeof(*c));
    c->platform = platform;
}

static void consume(vt_mssim_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* A TPM error response for a command too large to buffer. */
static size_t size_error(uint8_t *out)
{
    static const uint8_t rsp[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x42 };
    vt_put_be32(out, sizeof(rsp));
    memcpy(out + 4, rsp, sizeof(rsp));
    vt_put_be32(out + 4 + sizeof(rsp), 0);
    return 4 + sizeof(rsp) + 4;
}

static bool send_command(vt_mssim_conn *c, vt_engine *e, uint8_t *out, size_t *out_len)
{
    uint8_t locality;
    uint32_t size;
    size_t n;

    if (c->in_len < 9)
        return false;
    locality = c->in[4];
    size = vt_get_be32(c->in + 5);
    if (size > VT_MAX_COMMAND_SIZE) {
        /* Answer now, then skip the command's bytes as they arrive. */
        c->discard = size;
        consume(c, 9);
        n = c->in_len < c->discard ? c->in_len : c->discard;
        consume(c, n);
        c->discard -= n;
        *out_len = size_error(out);
        return true;
    }
    if (c->in_len < 9u + size)
        return false;
    n = vt_engine_execute(e, locality, c->in + 9, size, out + 4, VT_MAX_RESPONSE_SIZE);
    vt_put_be32(out, (uint32_t)n);
    vt_put_be32(out + 4 + n, 0);
    *out_len = 4 + n + 4;
    consume(c, 9u + size);
    return true;
}

static bool ack(uint8_t *out, size_t *out_len)
{
    vt_put_be32(out, 0);
    *out_len = 4;
    return true;
}

static bool platform_signal(vt_mssim_conn *c, vt_engine *e, uint32_t code, uint8_t *out, size_t *out_len)
{
    switch (code) {
    case VT_MSSIM_POWER_ON: vt_engine_power_on(e); break;
    case VT_MSSIM_POWER_OFF: vt_engine_power_off(e); break;
    case VT_MSSIM_PP_ON: vt_engine_set_physical_presence(e, true); break;
    case VT_MSSIM_PP_OFF: vt_engine_set_physical_presence(e, false); break;
    case VT_MSSIM_HASH_START: vt_engine_hash_start(e); break;
    case VT_MSSIM_HASH_END: vt_engine_hash_end(e); break;
    case VT_MSSIM_CANCEL_ON: vt_engine_set_cancel(e, true); break;
    case VT_MSSIM_CANCEL_OFF: vt_engine_set_cancel(e, false); break;
    case VT_MSSIM_NV_ON: vt_engine_set_nv_available(e, true); break;
    case VT_MSSIM_NV_OFF: vt_engine_set_nv_available(e, false); break;
    case VT_MSSIM_KEY_CACHE_ON:
    case VT_MSSIM_KEY_CACHE_OFF: break; /* no key cache to switch */
    case VT_MSSIM_RESET:
    case VT_MSSIM_RESTART: vt_engine_reset(e); break;
    case VT_MSSIM_HASH_DATA: {
        uint32_t size;
        if (c->in_len < 8)
            return false;
        size = vt_get_be32(c->in + 4);
        if (size > sizeof(c->in) - 8) {
            c->close = true;
            return false;
        }
        if (c->in_len < 8u + size)
            return false;
        vt_engine_hash_data(e, c->in + 8, size);
        consume(c, 8u + size);
        return ack(out, out_len);
    }
    default:
        c->close = true;
        return false;
    }
    consume(c, 4);
    return ack(out, out_len);
}

bool vt_mssim_step(vt_mssim_conn *c, vt_engine *e, uint8_t *out, size_t *out_len)
{
    uint32_t code;

    *out_len = 0;
    if (c->close)
        return false;
    if (c->discard) {
        size_t n = c->in_len < c->discard ? c->in_len : c->discard;
        consume(c, n);
        c->discard -= n;
        if (c->discard)
            return false;
    }
    if (c->in_len < 4)
        return false;
    code = vt_get_be32(c->in);
    switch (code) {
    case VT_MSSIM_SESSION_END:
        c->close = true;
        return false;
    case VT_MSSIM_STOP:
        consume(c, 4);
        c->stop = true;
        return ack(out, out_len);
    default:
        break;
    }
    if (c->platform)
        return platform_signal(c, e, code, out, out_len);
    switch (code) {
    case VT_MSSIM_SEND_COMMAND:
        return send_command(c, e, out, out_len);
    case VT_MSSIM_REMOTE_HANDSHAKE:
        if (c->in_len < 8)
            return false;
        consume(c, 8);
        /* Server version 1; flags: powered, platform available. */
        vt_put_be32(out, 1);
        vt_put_be32(out + 4, vt_engine_is_powered(e) ? 0x3u : 0x2u);
        vt_put_be32(out + 8, 0);
        *out_len = 12;
        return true;
    default:
        /* Signals are also accepted on the command port, as the reference
         * simulator does. */
        return platform_signal(c, e, code, out, out_len);
    }
}
