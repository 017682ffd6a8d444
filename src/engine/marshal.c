#include "engine/marshal.h"
#include "vitrum/engine.h"

#include <string.h>

void vt_in_init(vt_in *in, const uint8_t *buf, size_t len, vt_area area)
{
    in->buf = buf;
    in->len = len;
    in->off = 0;
    in->area = area;
    in->index = 0;
    in->ended = false;
}

TPM2_RC vt_in_rc_at(const vt_in *in, TPM2_RC rc, unsigned index)
{
    /* Only format-one codes carry an index (Part 2 §6.6.2, bit 7 set). */
    if (!(rc & TPM2_RC_FMT1) || index == 0 || index > 15)
        return rc;
    switch (in->area) {
    case VT_AREA_HANDLE: return VT_RC_H(rc, index);
    case VT_AREA_SESSION: return VT_RC_S(rc, index);
    default: return VT_RC_P(rc, index);
    }
}

TPM2_RC vt_in_rc(const vt_in *in, TPM2_RC rc)
{
    return vt_in_rc_at(in, rc, in->index);
}

size_t vt_in_left(const vt_in *in)
{
    return in->len - in->off;
}

/* Map a libtss2-mu failure to the TPM's unmarshal error (Part 2 §6.6.3). */
static TPM2_RC mu_to_rc(TSS2_RC r)
{
    switch (r) {
    case TSS2_RC_SUCCESS: return TPM2_RC_SUCCESS;
    case TSS2_MU_RC_INSUFFICIENT_BUFFER: return TPM2_RC_INSUFFICIENT;
    case TSS2_MU_RC_BAD_SIZE: return TPM2_RC_SIZE;
    case TSS2_MU_RC_BAD_VALUE: return TPM2_RC_VALUE;
    default: return TPM2_RC_VALUE;
    }
}

TPM2_RC vt_in_mu(vt_in *in, vt_mu_unmarshal_fn fn, void *out)
{
    size_t off = in->off;
    TSS2_RC r;

    in->index++;
    r = fn(in->buf, in->len, &off, out);
    if (r == TSS2_MU_RC_INSUFFICIENT_BUFFER) {
        /* libtss2-mu says "insufficient" both when the command ends early
         * and when a TPM2B's size is larger than its buffer.  The TPM says
         * TPM_RC_INSUFFICIENT for the first, TPM_RC_SIZE for the second
         * (Part 2 §6.6.3): replay the read on the rest of the command padded
         * with zeros to tell them apart (error path only). */
        size_t rest = in->len - in->off, poff = 0;
        if (rest <= VT_MAX_COMMAND_SIZE) {
            uint8_t pad[2 * VT_MAX_COMMAND_SIZE];
            memset(pad, 0, sizeof(pad));
            memcpy(pad, in->buf + in->off, rest);
            if (fn(pad, sizeof(pad), &poff, out) == TSS2_MU_RC_INSUFFICIENT_BUFFER)
                return vt_in_rc(in, TPM2_RC_SIZE);
        }
    }
    if (r != TSS2_RC_SUCCESS)
        return vt_in_rc(in, mu_to_rc(r));
    in->off = off;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_in_u8(vt_in *in, uint8_t *v) { return VT_IN(in, UINT8, v); }
TPM2_RC vt_in_u16(vt_in *in, uint16_t *v) { return VT_IN(in, UINT16, v); }
TPM2_RC vt_in_u32(vt_in *in, uint32_t *v) { return VT_IN(in, UINT32, v); }
TPM2_RC vt_in_u64(vt_in *in, uint64_t *v) { return VT_IN(in, UINT64, v); }
TPM2_RC vt_in_i8(vt_in *in, int8_t *v) { return VT_IN(in, INT8, v); }

TPM2_RC vt_in_2b(vt_in *in, const uint8_t **data, uint16_t *size, size_t cap)
{
    uint16_t n;

    in->index++;
    if (in->len - in->off < 2)
        return vt_in_rc(in, TPM2_RC_INSUFFICIENT);
    n = (uint16_t)((in->buf[in->off] << 8) | in->buf[in->off + 1]);
    if (n > cap)
        return vt_in_rc(in, TPM2_RC_SIZE);
    if (in->len - in->off - 2 < n)
        return vt_in_rc(in, TPM2_RC_INSUFFICIENT);
    *data = in->buf + in->off + 2;
    *size = n;
    in->off += 2u + n;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_in_end(vt_in *in)
{
    if (in->off != in->len)
        return TPM2_RC_SIZE;
    in->ended = true;
    return TPM2_RC_SUCCESS;
}

void vt_out_init(vt_out *o, uint8_t *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->off = 0;
    o->overflow = false;
}

size_t vt_out_room(const vt_out *o)
{
    return o->overflow ? 0 : o->cap - o->off;
}

void vt_out_bytes(vt_out *o, const void *p, size_t n)
{
    if (o->overflow || o->cap - o->off < n) {
        o->overflow = true;
        return;
    }
    if (n)
        memcpy(o->buf + o->off, p, n);
    o->off += n;
}

void vt_out_u8(vt_out *o, uint8_t v) { vt_out_bytes(o, &v, 1); }

void vt_out_u16(vt_out *o, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    vt_out_bytes(o, b, 2);
}

void vt_out_u32(vt_out *o, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    vt_out_bytes(o, b, 4);
}

void vt_out_u64(vt_out *o, uint64_t v)
{
    vt_out_u32(o, (uint32_t)(v >> 32));
    vt_out_u32(o, (uint32_t)v);
}

void vt_out_2b(vt_out *o, const void *p, uint16_t n)
{
    vt_out_u16(o, n);
    vt_out_bytes(o, p, n);
}

void vt_out_mu(vt_out *o, vt_mu_marshal_fn fn, const void *src)
{
    size_t off = o->off;
    if (o->overflow)
        return;
    if (fn(src, o->buf, o->cap, &off) != TSS2_RC_SUCCESS) {
        o->overflow = true;
        return;
    }
    o->off = off;
}
