/* The owner's trust store, bundle verification, SVN floors and the
 * firmware identity (trust.h, docs/VENDOR-COMMANDS.md). */
#include <stdio.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/trust.h"
#include "engine/nv.h"
#include "vitrum/version.h"
#include "common/be.h"

/* ---- verification ---- */

/* A manifest without any signature line is "not signed", not malformed:
 * the text alone (possibly followed by the blank line) parses as a
 * manifest. */
static bool unsigned_manifest(const uint8_t *p, size_t len)
{
    vt_manifest m;
    if (len >= 2 && p[len - 1] == '\n' && p[len - 2] == '\n')
        len--;
    return vt_manifest_parse(&m, (const char *)p, len) == VT_TLOG_OK;
}

static uint32_t popcount32(uint32_t x)
{
    uint32_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* The checkpoint: signed by an enrolled log key, the manifest included in
 * its tree (RFC 9162 §2.1.3.2), and cosigned by enough witnesses. */
static uint32_t check_log(const vt_trust_state *t, const vt_bundle *b, vt_trust_verdict *out)
{
    vt_note note;
    vt_checkpoint cp;
    vt_tlog_hash leaf, proof[64];
    vt_tlog_rc rc;
    uint32_t mask = 0;
    size_t i;

    if (!b->checkpoint || !b->have_inclusion)
        return VT_RC_NOT_LOGGED;
    if (vt_note_parse(&note, (const char *)b->checkpoint, b->checkpoint_len) != VT_TLOG_OK)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    rc = vt_note_verify(&note, t->keys[VT_TRUST_LOG - 1], t->nkeys[VT_TRUST_LOG - 1], NULL, NULL);
    if (rc == VT_TLOG_ECRYPTO)
        return TPM2_RC_FAILURE;
    if (rc != VT_TLOG_OK)
        return VT_RC_LOG_KEY;
    if (vt_checkpoint_parse(&cp, note.text, note.text_len) != VT_TLOG_OK)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    for (i = 0; i < b->proof_n; i++)
        memcpy(proof[i].h, b->proof + i * VT_TLOG_HASH_SIZE, VT_TLOG_HASH_SIZE);
    vt_tlog_leaf_hash(b->manifest, b->manifest_len, &leaf);
    if (vt_tlog_verify_inclusion(&leaf, b->leaf_index, cp.size, proof, b->proof_n, &cp.root) !=
        VT_TLOG_OK)
        return VT_RC_PROOF;
    if (t->nkeys[VT_TRUST_WITNESS - 1]) {
        rc = vt_note_verify(&note, t->keys[VT_TRUST_WITNESS - 1], t->nkeys[VT_TRUST_WITNESS - 1],
                            &mask, NULL);
        if (rc == VT_TLOG_ESIG)
            return VT_RC_BAD_SIGNATURE; /* a forged cosignature of an enrolled witness */
        if (rc != VT_TLOG_OK && rc != VT_TLOG_ENOKEY)
            return TPM2_RC_FAILURE;
    }
    out->cosignatures = popcount32(mask);
    if (out->cosignatures < t->quorum)
        return VT_RC_QUORUM;
    out->log_index = b->leaf_index;
    out->tree_size = cp.size;
    return TPM2_RC_SUCCESS;
}

uint32_t vt_trust_verify(const vt_trust_state *t, const uint8_t *bundle, size_t len,
                         const uint8_t digest[32], vt_trust_verdict *out)
{
    vt_release_policy pol;
    vt_bundle b;
    vt_tlog_rc rc;

    memset(out, 0, sizeof(*out));
    out->log_index = VT_TRUST_NO_LOG;
    if (vt_bundle_parse(&b, bundle, len) != VT_TLOG_OK)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    memset(&pol, 0, sizeof(pol));
    pol.release_keys = t->keys[VT_TRUST_RELEASE - 1];
    pol.nrelease = t->nkeys[VT_TRUST_RELEASE - 1];
    pol.manifest_only = true; /* the digest is compared below */
    rc = vt_release_verify(bundle, len, &pol, &out->m);
    switch (rc) {
    case VT_TLOG_OK:
        break;
    case VT_TLOG_ESIG:
        return VT_RC_BAD_SIGNATURE;
    case VT_TLOG_ENOKEY:
        return VT_RC_NOT_TRUSTED;
    case VT_TLOG_EFORMAT:
        return unsigned_manifest(b.manifest, b.manifest_len) ? VT_RC_NOT_TRUSTED
                                                              : VT_RC_P(TPM2_RC_VALUE, 1);
    default:
        return TPM2_RC_FAILURE;
    }
    if (out->m.name_len > VT_TRUST_NAME_MAX || out->m.version_len > VT_TRUST_NAME_MAX)
        return VT_RC_P(TPM2_RC_VALUE, 1); /* the manifest format already bounds them */
    if (t->require_log)
        RETURN_IF_ERROR(check_log(t, &b, out));
    if (out->m.svn < vt_trust_floor_of(t, out->m.name, out->m.name_len))
        return VT_RC_ROLLBACK;
    /* Not secret, but compared like everything else of its kind. */
    if (!vt_ct_equal(digest, out->m.sha256, 32))
        return VT_RC_DIGEST;
    return TPM2_RC_SUCCESS;
}

/* ---- floors ---- */

static vt_trust_floor *floor_find(vt_trust_state *t, const char *name, size_t len)
{
    unsigned i;
    for (i = 0; i < VT_TRUST_MAX_FLOORS; i++)
        if (t->floors[i].name[0] && strlen(t->floors[i].name) == len &&
            memcmp(t->floors[i].name, name, len) == 0)
            return &t->floors[i];
    return NULL;
}

uint64_t vt_trust_floor_of(const vt_trust_state *t, const char *name, size_t len)
{
    const vt_trust_floor *f = floor_find((vt_trust_state *)t, name, len);
    return f ? f->svn : 0;
}

void vt_trust_clear(vt_trust_state *t)
{
    memset(t->keys, 0, sizeof(t->keys));
    memset(t->nkeys, 0, sizeof(t->nkeys));
    t->require_log = false;
    t->quorum = 0;
}

/* ---- state format 6 ---- */

/* A release name as the manifest allows it: [A-Za-z0-9._-]{1,64}. */
static bool release_name_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > VT_TRUST_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* A NUL-terminated string of at most VT_TRUST_NAME_MAX octets: u16 length,
 * the octets. */
static void walk_name(vt_walker *w, char *s, bool allow_empty)
{
    uint16_t len = (uint16_t)(w->writing ? strlen(s) : 0);
    vt_w_u16(w, &len);
    if (w->bad || len > VT_TRUST_NAME_MAX || (!allow_empty && len == 0)) {
        w->bad = true;
        return;
    }
    vt_w_bytes(w, s, len);
    if (!w->writing)
        s[len] = '\0';
}

void vt_trust_walk(vt_walker *w, vt_trust_state *t)
{
    unsigned r, i;

    for (r = 0; r < 3; r++) {
        vt_w_u8(w, &t->nkeys[r]);
        if (t->nkeys[r] > VT_TRUST_MAX_KEYS) {
            w->bad = true;
            return;
        }
        for (i = 0; i < t->nkeys[r]; i++) {
            vt_note_key *k = &t->keys[r][i];
            char name[VT_TRUST_NAME_MAX + 1];
            uint8_t type = k->type, pub[32];
            if (w->writing) {
                memcpy(name, k->name, k->name_len);
                name[k->name_len] = '\0';
                memcpy(pub, k->pub, 32);
            }
            walk_name(w, name, false);
            vt_w_u8(w, &type);
            vt_w_bytes(w, pub, 32);
            if (w->writing || w->bad)
                continue;
            /* The key ID is computed again; the type must be the role's. */
            if (vt_note_key_init(k, name, strlen(name), type, pub) != VT_TLOG_OK ||
                type != (r == VT_TRUST_WITNESS - 1 ? VT_NOTE_TYPE_COSIG_V1 : VT_NOTE_TYPE_ED25519))
                w->bad = true;
        }
    }
    vt_w_bool(w, &t->require_log);
    vt_w_u8(w, &t->quorum);
    if (t->quorum > VT_TRUST_MAX_KEYS || (t->quorum && !t->require_log))
        w->bad = true;
    {
        uint8_t n = 0;
        if (w->writing)
            for (i = 0; i < VT_TRUST_MAX_FLOORS; i++)
                n += t->floors[i].name[0] != '\0';
        vt_w_u8(w, &n);
        if (n > VT_TRUST_MAX_FLOORS) {
            w->bad = true;
            return;
        }
        for (i = 0, r = 0; r < n && i < VT_TRUST_MAX_FLOORS; i++) {
            vt_trust_floor *f = &t->floors[i];
            if (w->writing && !f->name[0])
                continue;
            walk_name(w, f->name, false);
            vt_w_u64(w, &f->svn);
            if (!w->writing && !w->bad &&
                (!release_name_ok(f->name, strlen(f->name)) ||
                 floor_find(t, f->name, strlen(f->name)) != f)) /* a name once */
                w->bad = true;
            r++;
        }
    }
    vt_w_u32(w, &t->lowered);
    walk_name(w, t->last_name, true);
    vt_w_u64(w, &t->last_old);
    vt_w_u64(w, &t->last_new);
    vt_w_u64(w, &t->last_clock);
}

/* ---- the firmware identity ---- */

/* "[v]MAJOR.MINOR[.PATCH]..." as TPM_PT_FIRMWARE_VERSION_1 = MAJOR << 16 |
 * MINOR, _2 = PATCH (the compiled-in encoding, vitrum/version.h); any
 * other version string reports the SVN (high, low 32 bits). */
static bool parse_num(const char **p, const char *end, uint32_t max, uint32_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    if (s == end || *s < '0' || *s > '9')
        return false;
    while (s < end && *s >= '0' && *s <= '9') {
        x = x * 10 + (uint64_t)(*s - '0');
        if (x > max)
            return false;
        s++;
    }
    *p = s;
    *v = (uint32_t)x;
    return true;
}

static uint64_t version_number(const vt_fw_identity *fw)
{
    const char *p = fw->version, *end = fw->version + strlen(fw->version);
    uint32_t maj, min, patch = 0;

    if (p < end && (*p == 'v' || *p == 'V'))
        p++;
    if (!parse_num(&p, end, 0xFFFF, &maj) || p == end || *p != '.')
        return fw->svn;
    p++;
    if (!parse_num(&p, end, 0xFFFF, &min))
        return fw->svn;
    if (p < end && *p == '.') {
        p++;
        if (!parse_num(&p, end, UINT32_MAX, &patch))
            return fw->svn;
    }
    return ((uint64_t)(maj << 16 | min) << 32) | patch;
}

uint64_t vt_firmware_version(const vt_engine *e)
{
    if (e->fw.set)
        return version_number(&e->fw);
    return ((uint64_t)VITRUM_FW_VERSION_1 << 32) | VITRUM_FW_VERSION_2;
}

/* The index: an ordinary index nobody can write (no write attribute;
 * written and write-locked for good by WRITEDEFINE), nobody can undefine
 * (platform-created with POLICY_DELETE and an empty authPolicy, which no
 * policy session satisfies; ownerAuth cannot undefine a platform index),
 * readable with ownerAuth, platformAuth or its empty authValue. */
#define FW_NV_ATTRS                                                                             \
    (TPMA_NV_PLATFORMCREATE | TPMA_NV_POLICY_DELETE | TPMA_NV_NO_DA | TPMA_NV_WRITTEN |          \
     TPMA_NV_WRITELOCKED | TPMA_NV_WRITEDEFINE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD |          \
     TPMA_NV_PPREAD)

/* The engine's own index at VT_FW_NV_INDEX (a client's index there, which
 * DefineSpace only allows with some write attribute, is not). */
static vt_nv_index *fw_index(vt_engine *e)
{
    vt_nv_index *ix = vt_nv_find(&e->p.nv, VT_FW_NV_INDEX);
    if (!ix || (ix->pub.attributes & ~(TPMA_NV)TPMA_NV_TPM2_NT_MASK) != FW_NV_ATTRS)
        return NULL;
    return ix;
}

bool vt_trust_drop_fw_index(vt_engine *e)
{
    vt_nv_index *ix = fw_index(e);
    if (!ix)
        return false;
    vt_nv_remove_index(&e->p.nv, ix);
    return true;
}

static int fw_index_write(vt_engine *e)
{
    vt_nv_state *nv = &e->p.nv;
    vt_nv_index *ix = NULL;
    uint8_t *d;
    unsigned i;
    uint32_t used;

    /* Whoever defined it, it is redefined: the handle is the engine's. */
    ix = vt_nv_find(nv, VT_FW_NV_INDEX);
    if (ix)
        vt_nv_remove_index(nv, ix);
    ix = NULL;
    for (i = 0; i < VT_NV_MAX_INDICES && !ix; i++)
        if (!nv->index[i].used)
            ix = &nv->index[i];
    used = vt_nv_used(nv);
    if (!ix || nv->pool_size - used < VT_FW_NV_SIZE)
        return -1;
    memset(ix, 0, sizeof(*ix));
    ix->pub.nvIndex = VT_FW_NV_INDEX;
    ix->pub.nameAlg = TPM2_ALG_SHA256;
    ix->pub.attributes = FW_NV_ATTRS | ((TPMA_NV)TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT);
    ix->pub.dataSize = VT_FW_NV_SIZE;
    ix->offset = used;
    ix->used = true;
    d = nv->pool + used;
    memset(d, 0, VT_FW_NV_SIZE);
    memcpy(d, e->fw.sha256, 32);
    vt_put_be64(d + 32, e->fw.svn);
    vt_put_be64(d + 40, e->fw.log_index);
    memcpy(d + 48, e->fw.name, strlen(e->fw.name));
    memcpy(d + 48 + VT_TRUST_NAME_MAX, e->fw.version, strlen(e->fw.version));
    return 0;
}

static const char *verdict_str(uint32_t rc)
{
    switch (rc) {
    case VT_RC_BAD_SIGNATURE: return "a signature by an enrolled key does not verify";
    case VT_RC_NOT_TRUSTED: return "the manifest is not signed by an enrolled release key";
    case VT_RC_NOT_LOGGED: return "the policy requires the log and the bundle has no checkpoint or inclusion proof";
    case VT_RC_LOG_KEY: return "the checkpoint is not signed by an enrolled log key";
    case VT_RC_PROOF: return "the inclusion proof does not lead to the checkpoint";
    case VT_RC_QUORUM: return "too few enrolled witnesses cosigned the checkpoint";
    case VT_RC_ROLLBACK: return "the SVN is below the floor for this release";
    case VT_RC_DIGEST: return "the image's SHA-256 is not the manifest's";
    case VT_RC_FLOORS_FULL: return "no room for another release name's floor";
    case VT_RC_P(TPM2_RC_VALUE, 1): return "malformed or truncated bundle";
    default: return "internal failure";
    }
}

int vt_engine_set_firmware(vt_engine *e, const uint8_t *bundle, size_t len,
                           const uint8_t image_sha256[32], char *err, size_t errlen)
{
    vt_trust_verdict v;
    vt_trust_state saved = e->p.trust;
    uint32_t rc;

    rc = vt_trust_verify(&e->p.trust, bundle, len, image_sha256, &v);
    if (rc == TPM2_RC_SUCCESS) {
        vt_trust_floor *f = floor_find(&e->p.trust, v.m.name, v.m.name_len);
        unsigned i;
        for (i = 0; !f && i < VT_TRUST_MAX_FLOORS; i++)
            if (!e->p.trust.floors[i].name[0]) {
                f = &e->p.trust.floors[i];
                memcpy(f->name, v.m.name, v.m.name_len);
                f->name[v.m.name_len] = '\0';
                f->svn = 0;
            }
        if (!f)
            rc = VT_RC_FLOORS_FULL;
        else if (v.m.svn > f->svn)
            f->svn = v.m.svn; /* the floor rises when a build is booted */
    }
    if (rc != TPM2_RC_SUCCESS) {
        e->p.trust = saved;
        if (err && errlen)
            snprintf(err, errlen, "refused (0x%03x): %s", (unsigned)rc, verdict_str(rc));
        return -1;
    }
    memset(&e->fw, 0, sizeof(e->fw));
    e->fw.set = true;
    memcpy(e->fw.name, v.m.name, v.m.name_len);
    memcpy(e->fw.version, v.m.version, v.m.version_len);
    e->fw.svn = v.m.svn;
    memcpy(e->fw.sha256, v.m.sha256, 32);
    e->fw.log_index = v.log_index;
    if (fw_index_write(e) != 0) {
        e->p.trust = saved;
        memset(&e->fw, 0, sizeof(e->fw));
        if (err && errlen)
            snprintf(err, errlen, "no room in NV for the firmware identity index");
        return -1;
    }
    if (vt_state_commit(e) != TPM2_RC_SUCCESS) {
        e->p.trust = saved;
        memset(&e->fw, 0, sizeof(e->fw));
        (void)vt_trust_drop_fw_index(e);
        if (err && errlen)
            snprintf(err, errlen, "the state could not be committed");
        return -1;
    }
    return 0;
}
