/* Text encodings of the transparency formats: base64 (RFC 4648 §4, with
 * padding; only the canonical encoding is accepted, so one value has one
 * text), hex, canonical decimal, and error strings. */
#include <string.h>

#include "tlog/tlog.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long vt_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t i, n = 0, pad = 0;

    if (len % 4 != 0)
        return -1;
    if (len >= 1 && s[len - 1] == '=')
        pad++;
    if (len >= 2 && s[len - 2] == '=')
        pad++;
    if (len / 4 * 3 - pad > cap)
        return -1;
    for (i = 0; i < len; i += 4) {
        int v[4], k;
        bool last = i + 4 == len;
        for (k = 0; k < 4; k++) {
            if (last && s[i + k] == '=' && k >= 4 - (int)pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64_value(s[i + k]);
            if (v[k] < 0)
                return -1;
        }
        out[n++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (last && pad == 2) {
            if (v[1] & 0x0f) /* non-canonical: bits after the data */
                return -1;
            break;
        }
        out[n++] = (uint8_t)((v[1] & 0x0f) << 4 | v[2] >> 2);
        if (last && pad == 1) {
            if (v[2] & 0x03)
                return -1;
            break;
        }
        out[n++] = (uint8_t)((v[2] & 0x03) << 6 | v[3]);
    }
    return (long)n;
}

size_t vt_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    size_t i, n = 0, need = (len + 2) / 3 * 4 + 1;

    if (cap < need)
        return 0;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[n++] = b64_alphabet[v >> 18];
        out[n++] = b64_alphabet[(v >> 12) & 63];
        out[n++] = b64_alphabet[(v >> 6) & 63];
        out[n++] = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[n++] = b64_alphabet[v >> 18];
        out[n++] = b64_alphabet[(v >> 12) & 63];
        out[n++] = '=';
        out[n++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[n++] = b64_alphabet[v >> 18];
        out[n++] = b64_alphabet[(v >> 12) & 63];
        out[n++] = b64_alphabet[(v >> 6) & 63];
        out[n++] = '=';
    }
    out[n] = '\0';
    return n;
}

int vt_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

const char *vt_tlog_strerror(vt_tlog_rc rc)
{
    switch (rc) {
    case VT_TLOG_OK: return "ok";
    case VT_TLOG_EFORMAT: return "malformed";
    case VT_TLOG_EPROOF: return "proof does not verify";
    case VT_TLOG_ESIG: return "signature by a known key does not verify";
    case VT_TLOG_ENOKEY: return "not signed by any trusted key";
    case VT_TLOG_ERANGE: return "index or tree size out of range";
    case VT_TLOG_EDIGEST: return "payload size or SHA-256 differs from the manifest";
    case VT_TLOG_ECRYPTO: return "crypto library failure";
    case VT_TLOG_ESPACE: return "output does not fit";
    }
    return "unknown error";
}
