/* Lowercase hex, shared by the state store (key files, TPM ids) and the
 * transparency code (manifest digests, key ids).  Header-only: both the
 * engine and the host tools use it. */
#ifndef VT_COMMON_HEX_H
#define VT_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
static inline int vt_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode exactly 2*n hex characters into n bytes: 0, or -1 (wrong length or
 * a non-hex character).  `out` may be `s` itself: byte i is written after
 * characters 2i and 2i+1 were read. */
static inline int vt_hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
    size_t i;
    if (len != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = vt_hex_digit((unsigned char)s[2 * i]), lo = vt_hex_digit((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* n bytes as 2n lowercase hex characters and a NUL (2n+1 bytes). */
static inline void vt_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

#endif
