/* Big-endian integers in byte buffers: the TPM's wire order, and the
 * order of every integer vitrum stores.  One copy for every room. */
#ifndef VT_BE_H
#define VT_BE_H

#include <stdint.h>

static inline uint64_t vt_get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void vt_put_be(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static inline uint32_t vt_get_be32(const uint8_t *p) { return (uint32_t)vt_get_be(p, 4); }
static inline uint64_t vt_get_be64(const uint8_t *p) { return vt_get_be(p, 8); }
static inline void vt_put_be16(uint8_t *p, uint16_t v) { vt_put_be(p, v, 2); }
static inline void vt_put_be32(uint8_t *p, uint32_t v) { vt_put_be(p, v, 4); }
static inline void vt_put_be64(uint8_t *p, uint64_t v) { vt_put_be(p, v, 8); }

#endif
