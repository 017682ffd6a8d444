/* swtpm state blobs: framing, integrity, migration-key encryption
 * (docs/SWTPM.md "State blobs").
 *
 *   0  "VTSW"            4  u16 format (1)   6  u8 type   7  u8 flags (bit 0: encrypted)
 *   8  u32 payload length n                  12 12-byte nonce (zero when plain)
 *   24 n bytes: the payload, or its AES-256-GCM ciphertext
 *   24+n  plain: HMAC-SHA256 with an all-zero key over bytes 0..24+n (a
 *         checksum against damage, not against forgery); encrypted: the
 *         16-byte GCM tag (AAD: bytes 0..24).
 * The encryption key is HMAC-SHA256(migration key, "vitrum swtpm blob key"). */
#include "server/swtpm.h"
#include "common/be.h"

#include <stdio.h>
#include <string.h>

#include "store/seal.h"

#define HDR 24u

static int blob_key(const uint8_t *mk, uint8_t out[32])
{
    return vt_seal_hmac(mk, "vitrum swtpm blob key", NULL, 0, out);
}

size_t vt_sw_blob_wrap(uint8_t type, const uint8_t *payload, size_t len, const uint8_t *key,
                       uint8_t *out, size_t cap)
{
    static const uint8_t zero[32];
    uint8_t k[32];

    if (len > 0xFFFFFFFFu - VT_SW_BLOB_OVERHEAD || cap < len + VT_SW_BLOB_OVERHEAD)
        return 0;
    memset(out, 0, HDR);
    memcpy(out, VT_SW_BLOB_MAGIC, 4);
    out[5] = VT_SW_BLOB_FORMAT;
    out[6] = type;
    out[7] = key ? 1 : 0;
    vt_put_be32(out + 8, (uint32_t)len);
    if (!key) {
        memmove(out + HDR, payload, len);
        if (vt_seal_hmac(zero, "vitrum swtpm blob", out, HDR + len, out + HDR + len) != 0)
            return 0;
        return HDR + len + 32u;
    }
    if (vt_seal_random(out + 12, VT_SEAL_NONCE_SIZE) != 0 || blob_key(key, k) != 0)
        return 0;
    if (vt_seal(k, out + 12, out, HDR, payload, len, out + HDR, out + HDR + len) != 0) {
        vt_seal_wipe(k, sizeof(k));
        return 0;
    }
    vt_seal_wipe(k, sizeof(k));
    return HDR + len + VT_SEAL_TAG_SIZE;
}

int vt_sw_blob_unwrap(uint8_t type, uint8_t *buf, size_t len, const uint8_t *key, bool want_encrypted,
                      uint8_t **payload, size_t *plen, char *err, size_t errlen)
{
    static const uint8_t zero[32];
    size_t n;
    bool enc;

    if (len < HDR || memcmp(buf, VT_SW_BLOB_MAGIC, 4) != 0) {
        snprintf(err, errlen, "not a vitrum state blob");
        return -1;
    }
    if (buf[4] != 0 || buf[5] != VT_SW_BLOB_FORMAT) {
        snprintf(err, errlen, "state blob format %u is not supported", (unsigned)buf[4] << 8 | buf[5]);
        return -1;
    }
    if (buf[6] != type) {
        snprintf(err, errlen, "state blob of type %u offered as type %u", buf[6], type);
        return -1;
    }
    if (buf[7] > 1) {
        snprintf(err, errlen, "state blob has unknown flags");
        return -1;
    }
    enc = buf[7] == 1;
    n = vt_get_be32(buf + 8);
    if (len != HDR + n + (enc ? VT_SEAL_TAG_SIZE : 32u)) {
        snprintf(err, errlen, "state blob length does not match its header");
        return -1;
    }
    if (enc != want_encrypted) {
        snprintf(err, errlen, "state blob is %sencrypted but was sent as %sencrypted", enc ? "" : "not ",
                 want_encrypted ? "" : "not ");
        return -1;
    }
    if (enc && !key) {
        snprintf(err, errlen, "state blob is encrypted and no migration key was given");
        return -1;
    }
    if (!enc && key) {
        snprintf(err, errlen, "a migration key is set: plain state blobs are refused");
        return -1;
    }
    if (!enc) {
        uint8_t mac[32];
        if (vt_seal_hmac(zero, "vitrum swtpm blob", buf, HDR + n, mac) != 0 ||
            memcmp(mac, buf + HDR + n, 32) != 0) {
            snprintf(err, errlen, "state blob is damaged (checksum mismatch)");
            return -1;
        }
    } else {
        uint8_t k[32];
        int rc;
        if (blob_key(key, k) != 0) {
            snprintf(err, errlen, "cannot derive the blob key");
            return -1;
        }
        rc = vt_unseal(k, buf + 12, buf, HDR, buf + HDR, n, buf + HDR, buf + HDR + n);
        vt_seal_wipe(k, sizeof(k));
        if (rc != 0) {
            snprintf(err, errlen, "state blob fails authentication (wrong migration key or damaged)");
            return -1;
        }
    }
    *payload = buf + HDR;
    *plen = n;
    return 0;
}
