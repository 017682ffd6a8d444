/* vitrum's vendor commands (TPMA_CC.V set): the owner's trust store for
 * firmware releases, bundle verification and lowering an SVN floor.  Wire
 * layouts, authorization and every response code: docs/VENDOR-COMMANDS.md.
 *
 * TrustAdd, TrustRemove and TrustPolicy take TPM_RH_OWNER (the table's
 * handle kind is TPMI_RH_PROVISION, so the dispatcher checks the hierarchy
 * and its authorization; platform is refused here, before any change).
 * FloorLower takes the owner and the platform, both authorized: platformAuth
 * stands in for physical presence.  TrustRead and VerifyBundle need no
 * authorization and change nothing. */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/trust.h"

static TPM2_RC owner_only(const vt_cmd *c)
{
    return c->handles[0] == TPM2_RH_OWNER ? TPM2_RC_SUCCESS : VT_RC_H(TPM2_RC_VALUE, 1);
}

/* Parameters 1 and 2 of TrustAdd / TrustRemove: role, verifier key. */
static TPM2_RC read_role_key(vt_cmd *c, uint8_t *role, vt_note_key *k)
{
    const uint8_t *s;
    uint16_t n;

    RETURN_IF_ERROR(vt_in_u8(&c->in, role));
    if (*role < VT_TRUST_RELEASE || *role > VT_TRUST_WITNESS)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_2b(&c->in, &s, &n, VT_TRUST_VKEY_MAX));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(owner_only(c));
    if (vt_note_key_parse(k, (const char *)s, n) != VT_TLOG_OK)
        return VT_RC_P(TPM2_RC_VALUE, 2);
    if (k->name_len > VT_TRUST_NAME_MAX)
        return VT_RC_P(TPM2_RC_SIZE, 2);
    /* Release and log keys sign notes (type 0x01); witnesses cosign
     * (type 0x04, c2sp.org/tlog-cosignature). */
    if (k->type != (*role == VT_TRUST_WITNESS ? VT_NOTE_TYPE_COSIG_V1 : VT_NOTE_TYPE_ED25519))
        return VT_RC_P(TPM2_RC_TYPE, 2);
    return TPM2_RC_SUCCESS;
}

static int key_find(const vt_trust_state *t, unsigned r, const vt_note_key *k)
{
    unsigned i;
    for (i = 0; i < t->nkeys[r]; i++) {
        const vt_note_key *x = &t->keys[r][i];
        if (x->key_id == k->key_id && x->name_len == k->name_len &&
            memcmp(x->name, k->name, k->name_len) == 0 && memcmp(x->pub, k->pub, 32) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- TrustAdd: owner; role (UINT8), key (TPM2B, a verifier key string) ---- */
TPM2_RC vt_cmd_trust_add(vt_cmd *c)
{
    vt_trust_state *t = &c->e->p.trust;
    vt_note_key k;
    uint8_t role;
    unsigned r;

    RETURN_IF_ERROR(read_role_key(c, &role, &k));
    r = role - 1u;
    if (key_find(t, r, &k) >= 0)
        return TPM2_RC_NV_DEFINED;
    if (t->nkeys[r] == VT_TRUST_MAX_KEYS)
        return TPM2_RC_NV_SPACE;
    t->keys[r][t->nkeys[r]++] = k;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* ---- TrustRemove: owner; role (UINT8), key (TPM2B) ---- */
TPM2_RC vt_cmd_trust_remove(vt_cmd *c)
{
    vt_trust_state *t = &c->e->p.trust;
    vt_note_key k;
    uint8_t role;
    unsigned r, i;
    int at;

    RETURN_IF_ERROR(read_role_key(c, &role, &k));
    r = role - 1u;
    at = key_find(t, r, &k);
    if (at < 0)
        return VT_RC_P(TPM2_RC_HANDLE, 2);
    for (i = (unsigned)at; i + 1 < t->nkeys[r]; i++)
        t->keys[r][i] = t->keys[r][i + 1];
    t->nkeys[r]--;
    memset(&t->keys[r][t->nkeys[r]], 0, sizeof(t->keys[r][0]));
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* ---- TrustPolicy: owner; requireLog (TPMI_YES_NO), quorum (UINT8) ---- */
TPM2_RC vt_cmd_trust_policy(vt_cmd *c)
{
    vt_trust_state *t = &c->e->p.trust;
    uint8_t log, quorum;

    RETURN_IF_ERROR(vt_in_u8(&c->in, &log));
    if (log > 1)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_u8(&c->in, &quorum));
    /* Witnesses cosign checkpoints: a quorum needs the log. */
    if (quorum > VT_TRUST_MAX_KEYS || (quorum && !log))
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(owner_only(c));
    t->require_log = log == 1;
    t->quorum = quorum;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

static void out_str(vt_out *o, const char *s)
{
    vt_out_2b(o, s, (uint16_t)strlen(s));
}

/* ---- TrustRead: no parameters ---- */
TPM2_RC vt_cmd_trust_read(vt_cmd *c)
{
    const vt_trust_state *t = &c->e->p.trust;
    const vt_fw_identity *fw = &c->e->fw;
    vt_out *o = &c->out;
    unsigned r, i;
    uint8_t n = 0;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_out_u8(o, t->require_log ? 1 : 0);
    vt_out_u8(o, t->quorum);
    for (r = 0; r < 3; r++)
        n = (uint8_t)(n + t->nkeys[r]);
    vt_out_u8(o, n);
    for (r = 0; r < 3; r++)
        for (i = 0; i < t->nkeys[r]; i++) {
            char vk[VT_TRUST_VKEY_MAX];
            size_t len = vt_note_key_format(&t->keys[r][i], vk, sizeof(vk));
            vt_out_u8(o, (uint8_t)(r + 1));
            vt_out_2b(o, vk, (uint16_t)len);
        }
    n = 0;
    for (i = 0; i < VT_TRUST_MAX_FLOORS; i++)
        n = (uint8_t)(n + (t->floors[i].name[0] != '\0'));
    vt_out_u8(o, n);
    for (i = 0; i < VT_TRUST_MAX_FLOORS; i++)
        if (t->floors[i].name[0]) {
            out_str(o, t->floors[i].name);
            vt_out_u64(o, t->floors[i].svn);
        }
    vt_out_u32(o, t->lowered);
    out_str(o, t->last_name);
    vt_out_u64(o, t->last_old);
    vt_out_u64(o, t->last_new);
    vt_out_u64(o, t->last_clock);
    vt_out_u8(o, fw->set ? 1 : 0);
    out_str(o, fw->name);
    out_str(o, fw->version);
    vt_out_u64(o, fw->svn);
    vt_out_2b(o, fw->sha256, fw->set ? 32 : 0);
    vt_out_u64(o, fw->set ? fw->log_index : VT_TRUST_NO_LOG);
    return TPM2_RC_SUCCESS;
}

/* ---- VerifyBundle: bundle (TPM2B: sections 1, 3, 4), payloadDigest
 * (TPM2B, SHA-256) ---- */
TPM2_RC vt_cmd_verify_bundle(vt_cmd *c)
{
    const uint8_t *bundle, *digest;
    uint16_t blen, dlen;
    vt_trust_verdict v;
    vt_out *o = &c->out;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &bundle, &blen, VT_MAX_COMMAND_SIZE));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &digest, &dlen, 32));
    if (dlen != 32)
        return vt_in_rc(&c->in, TPM2_RC_SIZE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(vt_trust_verify(&c->e->p.trust, bundle, blen, digest, &v));
    vt_out_2b(o, v.m.name, (uint16_t)v.m.name_len);
    vt_out_2b(o, v.m.version, (uint16_t)v.m.version_len);
    vt_out_u64(o, v.m.svn);
    vt_out_u64(o, v.m.size);
    vt_out_2b(o, v.m.sha256, 32);
    vt_out_u64(o, v.log_index);
    vt_out_u64(o, v.tree_size);
    vt_out_u8(o, (uint8_t)v.cosignatures);
    return TPM2_RC_SUCCESS;
}

/* ---- FloorLower: owner, platform; name (TPM2B), svn (UINT64) ---- */
static bool name_ok(const uint8_t *s, size_t n)
{
    size_t i;
    if (n == 0 || n > VT_TRUST_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

TPM2_RC vt_cmd_floor_lower(vt_cmd *c)
{
    vt_trust_state *t = &c->e->p.trust;
    const uint8_t *name;
    uint16_t n;
    uint64_t svn, old;
    vt_trust_floor *f = NULL;
    unsigned i;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &name, &n, VT_TRUST_NAME_MAX));
    if (!name_ok(name, n))
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_u64(&c->in, &svn));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(owner_only(c));
    for (i = 0; i < VT_TRUST_MAX_FLOORS && !f; i++)
        if (strlen(t->floors[i].name) == n && memcmp(t->floors[i].name, name, n) == 0)
            f = &t->floors[i];
    if (!f)
        return VT_RC_P(TPM2_RC_HANDLE, 1); /* no floor for that release */
    old = f->svn;
    if (svn >= old)
        return VT_RC_P(TPM2_RC_VALUE, 2); /* not a lowering */
    t->lowered++;
    memcpy(t->last_name, f->name, sizeof(t->last_name));
    t->last_old = old;
    t->last_new = svn;
    t->last_clock = vt_clock_now(c->e);
    if (svn == 0)
        memset(f, 0, sizeof(*f));
    else
        f->svn = svn;
    c->state_changed = true;
    vt_out_u64(&c->out, old);
    vt_out_u32(&c->out, t->lowered);
    return TPM2_RC_SUCCESS;
}
