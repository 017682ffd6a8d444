/* Signed notes (c2sp.org/signed-note), Ed25519 and cosignature v1 keys
 * (c2sp.org/tlog-cosignature), and checkpoints (c2sp.org/tlog-checkpoint). */
#include <string.h>

#include "tlog/tlog.h"
#include "crypto/vt_crypto.h"
#include "common/be.h"

static const char em_dash_space[] = "\xe2\x80\x94 "; /* U+2014, U+0020 */
#define DASH_LEN 4u

/* Valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF)
 * with no ASCII control character (below U+0020) but '\n'. */
static bool text_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        uint32_t cp;
        size_t n, k;
        if (c < 0x80) {
            if (c < 0x20 && c != '\n')
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Unicode White_Space code points encoded in two or three bytes. */
static bool unicode_space_at(const uint8_t *p, size_t left)
{
    if (left >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
        return true;
    if (left >= 3 && p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
        return true;
    if (left >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
        (p[2] <= 0x8a || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return true;
    if (left >= 3 && p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
        return true;
    if (left >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
        return true;
    return false;
}

bool vt_note_name_ok(const char *name, size_t len)
{
    const uint8_t *p = (const uint8_t *)name;
    size_t i;
    if (len == 0 || len > VT_NOTE_NAME_MAX || !text_ok(p, len))
        return false;
    for (i = 0; i < len; i++)
        if (p[i] == ' ' || p[i] == '+' || p[i] == '\n' || unicode_space_at(p + i, len - i))
            return false;
    return true;
}

vt_tlog_rc vt_note_parse(vt_note *n, const char *buf, size_t len)
{
    const uint8_t *p = (const uint8_t *)buf;
    size_t sep = 0, i;
    bool found = false;

    memset(n, 0, sizeof(*n));
    if (len < 2 || p[len - 1] != '\n' || !text_ok(p, len))
        return VT_TLOG_EFORMAT;
    /* The text ends at the last empty line. */
    for (i = len - 1; i >= 1; i--)
        if (p[i] == '\n' && p[i - 1] == '\n') {
            sep = i - 1;
            found = true;
            break;
        }
    if (!found || sep == 0)
        return VT_TLOG_EFORMAT;
    n->text = buf;
    n->text_len = sep + 1;
    i = sep + 2;
    if (i >= len)
        return VT_TLOG_EFORMAT; /* no signature line */
    while (i < len) {
        const char *line = buf + i, *name, *sp, *end;
        vt_note_sig *s;
        size_t b64_len;
        end = memchr(line, '\n', len - i);
        if (!end) /* cannot happen: the note ends in '\n' */
            return VT_TLOG_EFORMAT;
        if (n->nsigs == VT_NOTE_MAX_SIGS)
            return VT_TLOG_EFORMAT;
        s = &n->sigs[n->nsigs];
        if ((size_t)(end - line) < DASH_LEN || memcmp(line, em_dash_space, DASH_LEN) != 0)
            return VT_TLOG_EFORMAT;
        name = line + DASH_LEN;
        sp = memchr(name, ' ', (size_t)(end - name));
        if (!sp || !vt_note_name_ok(name, (size_t)(sp - name)))
            return VT_TLOG_EFORMAT;
        s->name = name;
        s->name_len = (size_t)(sp - name);
        b64_len = (size_t)(end - sp - 1);
        if (b64_len < 8)
            return VT_TLOG_EFORMAT; /* 4 + at least 1 byte */
        if (b64_len <= (4 + VT_NOTE_MAX_SIGLEN + 2) / 3 * 4) {
            uint8_t raw[4 + VT_NOTE_MAX_SIGLEN + 2];
            long got = vt_b64_decode(sp + 1, b64_len, raw, sizeof(raw));
            if (got < 5)
                return VT_TLOG_EFORMAT;
            s->key_id = vt_get_be32(raw);
            if ((size_t)got - 4 <= VT_NOTE_MAX_SIGLEN) {
                memcpy(s->sig, raw + 4, (size_t)got - 4);
                s->sig_len = (size_t)got - 4;
            }
        } else {
            /* A long (e.g. post-quantum) signature: keep its key ID only;
             * it cannot belong to a key type vitrum knows. */
            uint8_t head[6];
            long got = vt_b64_decode(sp + 1, 8, head, sizeof(head));
            if (got != 6 || (b64_len % 4) != 0)
                return VT_TLOG_EFORMAT;
            s->key_id = vt_get_be32(head);
        }
        n->nsigs++;
        i = (size_t)(end - buf) + 1;
    }
    return VT_TLOG_OK;
}

vt_tlog_rc vt_note_key_init(vt_note_key *k, const char *name, size_t name_len, uint8_t type,
                            const uint8_t pub[32])
{
    static const uint8_t nl = '\n';
    uint8_t d[VT_MAX_DIGEST];
    vt_buf parts[4] = { { name, name_len }, { &nl, 1 }, { &type, 1 }, { pub, 32 } };

    memset(k, 0, sizeof(*k));
    if (!vt_note_name_ok(name, name_len) ||
        (type != VT_NOTE_TYPE_ED25519 && type != VT_NOTE_TYPE_COSIG_V1))
        return VT_TLOG_EFORMAT;
    vt_crypto_init();
    if (vt_hash_parts(TPM2_ALG_SHA256, parts, 4, d) != 32)
        return VT_TLOG_ECRYPTO;
    memcpy(k->name, name, name_len);
    k->name_len = name_len;
    k->type = type;
    memcpy(k->pub, pub, 32);
    k->key_id = vt_get_be32(d);
    return VT_TLOG_OK;
}

vt_tlog_rc vt_note_key_parse(vt_note_key *k, const char *s, size_t len)
{
    const char *p1, *p2;
    uint8_t id[4], raw[40];
    long got;
    vt_tlog_rc rc;

    /* Tolerate one trailing newline (a key read from a file). */
    if (len && s[len - 1] == '\n')
        len--;
    p1 = memchr(s, '+', len);
    if (!p1)
        return VT_TLOG_EFORMAT;
    p2 = memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - s));
    if (!p2 || vt_hex_decode(p1 + 1, (size_t)(p2 - p1 - 1), id, 4) != 0)
        return VT_TLOG_EFORMAT;
    got = vt_b64_decode(p2 + 1, len - (size_t)(p2 + 1 - s), raw, sizeof(raw));
    if (got != 33)
        return VT_TLOG_EFORMAT;
    rc = vt_note_key_init(k, s, (size_t)(p1 - s), raw[0], raw + 1);
    if (rc != VT_TLOG_OK)
        return rc;
    if (k->key_id != vt_get_be32(id))
        return VT_TLOG_EFORMAT;
    return VT_TLOG_OK;
}

size_t vt_note_key_format(const vt_note_key *k, char *out, size_t cap)
{
    uint8_t raw[33], id[4];
    char hex[9], b64[48];
    size_t need;

    raw[0] = k->type;
    memcpy(raw + 1, k->pub, 32);
    vt_put_be32(id, k->key_id);
    vt_hex_encode(id, 4, hex);
    vt_b64_encode(raw, sizeof(raw), b64, sizeof(b64));
    need = k->name_len + 1 + 8 + 1 + strlen(b64);
    if (cap < need + 1)
        return 0;
    memcpy(out, k->name, k->name_len);
    out[k->name_len] = '+';
    memcpy(out + k->name_len + 1, hex, 8);
    out[k->name_len + 9] = '+';
    memcpy(out + k->name_len + 10, b64, strlen(b64) + 1);
    return need;
}

size_t vt_cosig_message(uint64_t t, const char *text, size_t text_len, uint8_t *out, size_t cap)
{
    static const char head[] = "cosignature/v1\ntime ";
    char num[21];
    size_t nd = 0, i, n;
    uint64_t v = t;

    do {
        num[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    n = sizeof(head) - 1 + nd + 1 + text_len;
    if (n > cap)
        return 0;
    memcpy(out, head, sizeof(head) - 1);
    for (i = 0; i < nd; i++)
        out[sizeof(head) - 1 + i] = (uint8_t)num[nd - 1 - i];
    out[sizeof(head) - 1 + nd] = '\n';
    memcpy(out + sizeof(head) + nd, text, text_len);
    return n;
}

static vt_tlog_rc verify_one(const vt_note *n, const vt_note_sig *s, const vt_note_key *k,
                             uint64_t *t)
{
    if (k->type == VT_NOTE_TYPE_ED25519) {
        if (s->sig_len != 64)
            return VT_TLOG_ESIG;
        return vt_ed25519_verify(k->pub, s->sig, n->text, n->text_len) == 0 ? VT_TLOG_OK
                                                                             : VT_TLOG_ESIG;
    }
    if (k->type == VT_NOTE_TYPE_COSIG_V1) {
        /* timestamped_signature: u64 timestamp || Ed25519 signature over
         * "cosignature/v1\ntime <t>\n" || text (c2sp.org/tlog-cosignature). */
        uint8_t msg[VT_NOTE_TEXT_MAX + 64];
        size_t mlen;
        uint64_t ts;
        if (s->sig_len != 72)
            return VT_TLOG_ESIG;
        ts = vt_get_be64(s->sig);
        if (ts > (UINT64_MAX >> 1))
            return VT_TLOG_ESIG;
        mlen = vt_cosig_message(ts, n->text, n->text_len, msg, sizeof(msg));
        if (mlen == 0)
            return VT_TLOG_EFORMAT; /* text longer than any checkpoint vitrum accepts */
        if (vt_ed25519_verify(k->pub, s->sig + 8, msg, mlen) != 0)
            return VT_TLOG_ESIG;
        *t = ts;
        return VT_TLOG_OK;
    }
    return VT_TLOG_ESIG;
}

vt_tlog_rc vt_note_verify(const vt_note *n, const vt_note_key *keys, size_t nkeys,
                          uint32_t *verified, uint64_t *cosig_time)
{
    uint32_t mask = 0;
    size_t i, j;

    if (nkeys > 32)
        return VT_TLOG_ERANGE;
    for (i = 0; i < n->nsigs; i++) {
        const vt_note_sig *s = &n->sigs[i];
        for (j = 0; j < nkeys; j++) {
            uint64_t t = 0;
            vt_tlog_rc rc;
            if (s->key_id != keys[j].key_id || s->name_len != keys[j].name_len ||
                memcmp(s->name, keys[j].name, s->name_len) != 0)
                continue;
            rc = verify_one(n, s, &keys[j], &t);
            if (rc != VT_TLOG_OK)
                return rc;
            mask |= 1u << j;
            if (cosig_time)
                cosig_time[j] = t;
        }
    }
    if (verified)
        *verified = mask;
    return mask ? VT_TLOG_OK : VT_TLOG_ENOKEY;
}

size_t vt_note_sig_line(const vt_note_key *k, const uint8_t *sig, size_t sig_len, char *out,
                        size_t cap)
{
    uint8_t raw[4 + VT_NOTE_MAX_SIGLEN];
    char b64[(4 + VT_NOTE_MAX_SIGLEN + 2) / 3 * 4 + 1];
    size_t blen, need;

    if (sig_len > VT_NOTE_MAX_SIGLEN)
        return 0;
    vt_put_be32(raw, k->key_id);
    memcpy(raw + 4, sig, sig_len);
    blen = vt_b64_encode(raw, 4 + sig_len, b64, sizeof(b64));
    need = DASH_LEN + k->name_len + 1 + blen + 1;
    if (cap < need + 1)
        return 0;
    memcpy(out, em_dash_space, DASH_LEN);
    memcpy(out + DASH_LEN, k->name, k->name_len);
    out[DASH_LEN + k->name_len] = ' ';
    memcpy(out + DASH_LEN + k->name_len + 1, b64, blen);
    out[need - 1] = '\n';
    out[need] = '\0';
    return need;
}

/* ---- checkpoints ---- */

/* The next line of text[*pos..len), without its '\n'. */
bool vt_tlog_next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *end;
    if (*pos >= len)
        return false;
    end = memchr(text + *pos, '\n', len - *pos);
    if (!end)
        return false;
    *line = text + *pos;
    *n = (size_t)(end - *line);
    *pos = (size_t)(end - text) + 1;
    return true;
}

vt_tlog_rc vt_checkpoint_parse(vt_checkpoint *c, const char *text, size_t len)
{
    const char *l;
    size_t n, pos = 0;

    memset(c, 0, sizeof(*c));
    if (len == 0 || text[len - 1] != '\n' || !text_ok((const uint8_t *)text, len))
        return VT_TLOG_EFORMAT;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || n == 0)
        return VT_TLOG_EFORMAT;
    c->origin = l;
    c->origin_len = n;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || vt_parse_u64(l, n, &c->size) != 0)
        return VT_TLOG_EFORMAT;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || vt_b64_decode(l, n, c->root.h, 32) != 32)
        return VT_TLOG_EFORMAT;
    c->ext = text + pos;
    c->ext_len = len - pos;
    while (vt_tlog_next_line(text, len, &pos, &l, &n))
        if (n == 0) /* extension lines are non-empty */
            return VT_TLOG_EFORMAT;
    return VT_TLOG_OK;
}
