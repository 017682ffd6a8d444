/* Release manifests and bundles (docs/TRANSPARENCY.md) and the whole
 * release check the engine and `vitrum release verify` share. */
#include <string.h>

#include "tlog/tlog.h"
#include "crypto/vt_crypto.h"
#include "common/be.h"

static const char manifest_head[] = "vitrum-release/v1";

/* "key value": value after "key " (exactly one space). */
static bool field(const char *l, size_t n, const char *key, const char **v, size_t *vn)
{
    size_t k = strlen(key);
    if (n <= k + 1 || memcmp(l, key, k) != 0 || l[k] != ' ')
        return false;
    *v = l + k + 1;
    *vn = n - k - 1;
    return true;
}

static bool chars_ok(const char *s, size_t n, size_t max, char lo, bool name)
{
    size_t i;
    if (n == 0 || n > max)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (name) {
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                return false;
        } else if (c < lo || c > '~') {
            return false;
        }
    }
    /* no leading/trailing space in free text */
    return s[0] != ' ' && s[n - 1] != ' ';
}

vt_tlog_rc vt_manifest_parse(vt_manifest *m, const char *text, size_t len)
{
    const char *l, *v;
    size_t n, vn, pos = 0, i;

    memset(m, 0, sizeof(*m));
    if (len == 0 || text[len - 1] != '\n')
        return VT_TLOG_EFORMAT;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || n != sizeof(manifest_head) - 1 ||
        memcmp(l, manifest_head, n) != 0)
        return VT_TLOG_EFORMAT;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || !field(l, n, "name", &v, &vn) ||
        !chars_ok(v, vn, VT_MANIFEST_FIELD_MAX, 0, true))
        return VT_TLOG_EFORMAT;
    m->name = v;
    m->name_len = vn;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || !field(l, n, "version", &v, &vn) ||
        !chars_ok(v, vn, VT_MANIFEST_FIELD_MAX, '!', false))
        return VT_TLOG_EFORMAT;
    m->version = v;
    m->version_len = vn;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || !field(l, n, "svn", &v, &vn) ||
        vt_parse_u64(v, vn, &m->svn) != 0)
        return VT_TLOG_EFORMAT;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || !field(l, n, "size", &v, &vn) ||
        vt_parse_u64(v, vn, &m->size) != 0)
        return VT_TLOG_EFORMAT;
    if (!vt_tlog_next_line(text, len, &pos, &l, &n) || !field(l, n, "sha256", &v, &vn) || vn != 64)
        return VT_TLOG_EFORMAT;
    for (i = 0; i < 64; i++) /* canonical: lowercase only */
        if (v[i] >= 'A' && v[i] <= 'F')
            return VT_TLOG_EFORMAT;
    if (vt_hex_decode(v, vn, m->sha256, 32) != 0)
        return VT_TLOG_EFORMAT;
    while (vt_tlog_next_line(text, len, &pos, &l, &n)) {
        if (m->nbuild == VT_MANIFEST_MAX_BUILD || !field(l, n, "build", &v, &vn) ||
            !chars_ok(v, vn, VT_MANIFEST_BUILD_MAX, ' ', false))
            return VT_TLOG_EFORMAT;
        m->build[m->nbuild] = v;
        m->build_len[m->nbuild] = vn;
        m->nbuild++;
    }
    return pos == len ? VT_TLOG_OK : VT_TLOG_EFORMAT;
}

vt_tlog_rc vt_bundle_parse(vt_bundle *b, const uint8_t *buf, size_t len)
{
    size_t pos = VT_BUNDLE_MAGIC_LEN;
    unsigned seen = 0;

    memset(b, 0, sizeof(*b));
    if (len < VT_BUNDLE_MAGIC_LEN || memcmp(buf, VT_BUNDLE_MAGIC, VT_BUNDLE_MAGIC_LEN) != 0)
        return VT_TLOG_EFORMAT;
    while (pos < len) {
        uint8_t type;
        size_t n;
        const uint8_t *v;
        if (len - pos < 5)
            return VT_TLOG_EFORMAT;
        type = buf[pos];
        n = vt_get_be32(buf + pos + 1);
        pos += 5;
        if (n > len - pos)
            return VT_TLOG_EFORMAT; /* truncated */
        v = buf + pos;
        pos += n;
        if (type < VT_BUNDLE_MANIFEST || type > VT_BUNDLE_INCLUSION || (seen & (1u << type)))
            return VT_TLOG_EFORMAT; /* unknown or repeated section */
        if (type != VT_BUNDLE_MANIFEST && !(seen & (1u << VT_BUNDLE_MANIFEST)))
            return VT_TLOG_EFORMAT; /* the manifest comes first */
        seen |= 1u << type;
        switch (type) {
        case VT_BUNDLE_MANIFEST:
            if (n == 0 || n > VT_BUNDLE_MAX_NOTE)
                return VT_TLOG_EFORMAT;
            b->manifest = v;
            b->manifest_len = n;
            break;
        case VT_BUNDLE_PAYLOAD:
            b->payload = v;
            b->payload_len = n;
            break;
        case VT_BUNDLE_CHECKPOINT:
            if (n == 0 || n > VT_BUNDLE_MAX_NOTE)
                return VT_TLOG_EFORMAT;
            b->checkpoint = v;
            b->checkpoint_len = n;
            break;
        default: /* VT_BUNDLE_INCLUSION */
            if (n < 8 || (n - 8) % VT_TLOG_HASH_SIZE != 0 ||
                (n - 8) / VT_TLOG_HASH_SIZE > 64)
                return VT_TLOG_EFORMAT;
            b->have_inclusion = true;
            b->leaf_index = vt_get_be64(v);
            b->proof = v + 8;
            b->proof_n = (n - 8) / VT_TLOG_HASH_SIZE;
            break;
        }
    }
    return b->manifest ? VT_TLOG_OK : VT_TLOG_EFORMAT;
}

static vt_tlog_rc check_log(const vt_bundle *b, const vt_note_key *log_key)
{
    vt_note note;
    vt_checkpoint cp;
    vt_tlog_hash leaf, proof[64];
    vt_tlog_rc rc;
    size_t i;

    if (!b->checkpoint || !b->have_inclusion)
        return VT_TLOG_EPROOF;
    if (log_key->type != VT_NOTE_TYPE_ED25519)
        return VT_TLOG_ENOKEY;
    rc = vt_note_parse(&note, (const char *)b->checkpoint, b->checkpoint_len);
    if (rc != VT_TLOG_OK)
        return rc;
    rc = vt_note_verify(&note, log_key, 1, NULL, NULL);
    if (rc != VT_TLOG_OK)
        return rc;
    rc = vt_checkpoint_parse(&cp, note.text, note.text_len);
    if (rc != VT_TLOG_OK)
        return rc;
    for (i = 0; i < b->proof_n; i++)
        memcpy(proof[i].h, b->proof + i * VT_TLOG_HASH_SIZE, VT_TLOG_HASH_SIZE);
    vt_tlog_leaf_hash(b->manifest, b->manifest_len, &leaf);
    rc = vt_tlog_verify_inclusion(&leaf, b->leaf_index, cp.size, proof, b->proof_n, &cp.root);
    return rc == VT_TLOG_ERANGE ? VT_TLOG_EPROOF : rc;
}

vt_tlog_rc vt_release_verify(const uint8_t *bundle, size_t len, const vt_release_policy *p,
                             vt_manifest *m)
{
    vt_bundle b;
    vt_note note;
    vt_tlog_rc rc;
    size_t i;

    rc = vt_bundle_parse(&b, bundle, len);
    if (rc != VT_TLOG_OK)
        return rc;
    for (i = 0; i < p->nrelease; i++)
        if (p->release_keys[i].type != VT_NOTE_TYPE_ED25519)
            return VT_TLOG_ENOKEY;
    rc = vt_note_parse(&note, (const char *)b.manifest, b.manifest_len);
    if (rc != VT_TLOG_OK)
        return rc;
    rc = vt_note_verify(&note, p->release_keys, p->nrelease, NULL, NULL);
    if (rc != VT_TLOG_OK)
        return rc;
    rc = vt_manifest_parse(m, note.text, note.text_len);
    if (rc != VT_TLOG_OK)
        return rc;
    if (!p->manifest_only) {
        const uint8_t *payload = b.payload ? b.payload : p->payload;
        size_t payload_len = b.payload ? b.payload_len : p->payload_len;
        uint8_t digest[VT_MAX_DIGEST];
        if (!payload)
            return VT_TLOG_EDIGEST; /* nothing to check the manifest against */
        if (payload_len != m->size)
            return VT_TLOG_EDIGEST;
        vt_crypto_init();
        if (vt_hash(TPM2_ALG_SHA256, payload, payload_len, digest) != 32)
            return VT_TLOG_ECRYPTO;
        if (!vt_ct_equal(digest, m->sha256, 32))
            return VT_TLOG_EDIGEST;
    }
    if (p->log_key)
        return check_log(&b, p->log_key);
    return VT_TLOG_OK;
}
