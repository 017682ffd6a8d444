/* The release trust store, VerifyBundle, SVN floors and the firmware
 * identity (src/engine/trust.c, cmd_vendor.c; docs/VENDOR-COMMANDS.md):
 * each vendor command's parse errors, each refusal with no state change,
 * the floor only rises (and FloorLower needs both authorizations), state
 * format 6 round trip and format 5 load, the firmware NV index and
 * TPM_PT_FIRMWARE_VERSION.  Bundles are made here with the host tools'
 * signing code (tools/tlog_io.c). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helpers.h"
#include "engine/engine_internal.h"
#include "vitrum/vendor.h"
#include "tlog/tlog.h"
#include "../../tools/tlog_io.h"

static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
static test_platform tp;

/* ---- keys and bundles ---- */

static vt_signer rel1, rel2, logk, log2k, wit1, wit2;
static char vk_rel1[256], vk_rel2[256], vk_log[256], vk_log2[256], vk_wit1[256], vk_wit2[256];

static void key(vt_signer *s, const char *name, uint8_t type, char *vk)
{
    assert_int_equal(vt_signer_generate(s, name, type), 0);
    assert_true(vt_note_key_format(&s->key, vk, 256) > 0);
}

static int setup_keys(void **state)
{
    (void)state;
    key(&rel1, "rel.example/r1", VT_NOTE_TYPE_ED25519, vk_rel1);
    key(&rel2, "rel.example/r2", VT_NOTE_TYPE_ED25519, vk_rel2);
    key(&logk, "log.example/l", VT_NOTE_TYPE_ED25519, vk_log);
    key(&log2k, "log.example/other", VT_NOTE_TYPE_ED25519, vk_log2);
    key(&wit1, "wit.example/w1", VT_NOTE_TYPE_COSIG_V1, vk_wit1);
    key(&wit2, "wit.example/w2", VT_NOTE_TYPE_COSIG_V1, vk_wit2);
    return 0;
}

static const uint8_t payload[] = "the firmware image";
static uint8_t payload_sha[32];

/* A signed manifest note (malloc'd). */
static char *manifest(const char *version, uint64_t svn, const vt_signer *s, size_t ns, size_t *len)
{
    char text[512], hex[65], *note = NULL;
    unsigned i;
    vt_hash(TPM2_ALG_SHA256, payload, sizeof(payload), payload_sha);
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", payload_sha[i]);
    snprintf(text, sizeof(text), "vitrum-release/v1\nname vitrum\nversion %s\nsvn %llu\nsize %zu\nsha256 %s\n",
             version, (unsigned long long)svn, sizeof(payload), hex);
    if (ns == 0) { /* no signature at all */
        note = malloc(strlen(text) + 2);
        snprintf(note, strlen(text) + 2, "%s\n", text);
        *len = strlen(note);
        return note;
    }
    assert_int_equal(vt_note_sign(text, strlen(text), s, ns, 0, &note, len), 0);
    return note;
}

/* The log: leaves[0] is the manifest, three others. */
static vt_tlog_hash leaves[4];
static int get_leaf(void *ctx, uint64_t i, vt_tlog_hash *out)
{
    (void)ctx;
    *out = leaves[i];
    return 0;
}

typedef struct {
    bool checkpoint, proof;
    const vt_signer *log_signer;
    const vt_signer *cosigners[2];
    size_t ncosig;
    bool forge_proof;
} log_opts;

static size_t section(uint8_t *out, uint8_t type, const void *v, size_t n)
{
    out[0] = type;
    out[1] = (uint8_t)(n >> 24);
    out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    memcpy(out + 5, v, n);
    return 5 + n;
}

/* A bundle of sections 1, 3, 4 into out; returns its length. */
static size_t make_bundle(uint8_t *out, const char *note, size_t note_len, const log_opts *o)
{
    size_t n = 8, i;
    memcpy(out, "VTBUNDL1", 8);
    n += section(out + n, 1, note, note_len);
    if (!o)
        return n;
    vt_tlog_leaf_hash(note, note_len, &leaves[0]);
    for (i = 1; i < 4; i++)
        vt_tlog_leaf_hash(&i, sizeof(i), &leaves[i]);
    if (o->checkpoint) {
        vt_tlog_hash root;
        char text[256], b64[64], *cp = NULL, *cosigned = NULL;
        size_t cplen, j;
        assert_int_equal(vt_tlog_root(get_leaf, NULL, 4, &root), VT_TLOG_OK);
        vt_b64_encode(root.h, 32, b64, sizeof(b64));
        snprintf(text, sizeof(text), "log.example/l\n4\n%s\n", b64);
        assert_int_equal(vt_note_sign(text, strlen(text), o->log_signer, 1, 0, &cp, &cplen), 0);
        for (j = 0; j < o->ncosig; j++) {
            vt_note parsed;
            assert_int_equal(vt_note_parse(&parsed, cp, cplen), VT_TLOG_OK);
            assert_int_equal(vt_note_cosign(cp, cplen, &parsed, o->cosigners[j], 1700000000u + j,
                                            &cosigned, &cplen), 0);
            free(cp);
            cp = cosigned;
        }
        n += section(out + n, 3, cp, cplen);
        free(cp);
    }
    if (o->proof) {
        vt_tlog_hash proof[8];
        uint8_t v[8 + 8 * 32];
        size_t np = 0;
        assert_int_equal(vt_tlog_prove_inclusion(get_leaf, NULL, 0, 4, proof, 8, &np), VT_TLOG_OK);
        memset(v, 0, 8); /* index 0 */
        for (i = 0; i < np; i++)
            memcpy(v + 8 + 32 * i, proof[i].h, 32);
        if (o->forge_proof)
            v[8 + 5] ^= 1;
        n += section(out + n, 4, v, 8 + 32 * np);
    }
    return n;
}

/* ---- commands ---- */

static vt_engine *fresh(void)
{
    memset(&tp, 0, sizeof(tp));
    return started_engine(&tp);
}

static uint32_t trust_key(vt_engine *e, uint32_t cc, uint32_t h, const char *pw, uint8_t role,
                          const char *vk)
{
    frame f;
    f_cmd(&f, 0x8002, cc);
    f_u32(&f, h);
    f_pw_session(&f, pw);
    f_u8(&f, role);
    f_2b(&f, vk, (uint16_t)strlen(vk));
    f_done(&f);
    return run(e, &f, rsp, NULL);
}
#define ADD(e, role, vk) trust_key(e, VT_CC_TRUST_ADD, TPM2_RH_OWNER, "", role, vk)
#define REMOVE(e, role, vk) trust_key(e, VT_CC_TRUST_REMOVE, TPM2_RH_OWNER, "", role, vk)

static uint32_t policy(vt_engine *e, uint8_t log, uint8_t quorum)
{
    frame f;
    f_cmd(&f, 0x8002, VT_CC_TRUST_POLICY);
    f_u32(&f, TPM2_RH_OWNER);
    f_pw_session(&f, "");
    f_u8(&f, log);
    f_u8(&f, quorum);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

/* TrustRead's parameters into buf (returns the length). */
static size_t trust_read(vt_engine *e, uint8_t *buf)
{
    frame f;
    size_t n;
    f_cmd(&f, 0x8001, VT_CC_TRUST_READ);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, &n), 0);
    memcpy(buf, rsp + 10, n - 10);
    return n - 10;
}

static uint32_t verify(vt_engine *e, const uint8_t *b, size_t len, const uint8_t *digest, uint16_t dlen)
{
    frame f;
    f_cmd(&f, 0x8001, VT_CC_VERIFY_BUNDLE);
    f_2b(&f, b, (uint16_t)len);
    f_2b(&f, digest, dlen);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static uint32_t floor_lower(vt_engine *e, const char *opw, const char *ppw, const char *name, uint64_t svn)
{
    frame f;
    uint32_t len;
    f_cmd(&f, 0x8002, VT_CC_FLOOR_LOWER);
    f_u32(&f, TPM2_RH_OWNER);
    f_u32(&f, TPM2_RH_PLATFORM);
    len = (uint32_t)(18 + strlen(opw) + strlen(ppw));
    f_u32(&f, len);
    f_u32(&f, 0x40000009);
    f_u16(&f, 0);
    f_u8(&f, 1);
    f_2b(&f, opw, (uint16_t)strlen(opw));
    f_u32(&f, 0x40000009);
    f_u16(&f, 0);
    f_u8(&f, 1);
    f_2b(&f, ppw, (uint16_t)strlen(ppw));
    f_2b(&f, name, (uint16_t)strlen(name));
    f_u32(&f, (uint32_t)(svn >> 32));
    f_u32(&f, (uint32_t)svn);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static uint8_t snap_a[1u << 17], snap_b[1u << 17];
static size_t snapshot(vt_engine *e, uint8_t *buf)
{
    size_t n = vt_engine_snapshot(e, buf, 1u << 17);
    assert_true(n > 0);
    return n;
}
#define ASSERT_UNCHANGED(e, n0)                                                                \
    do {                                                                                       \
        size_t n1_ = snapshot(e, snap_b);                                                      \
        assert_int_equal(n0, n1_);                                                             \
        assert_memory_equal(snap_a, snap_b, n1_);                                              \
    } while (0)

/* ---- tests ---- */

static void test_add_parse_errors(void **state)
{
    vt_engine *e = fresh();
    char big[300];
    size_t n0;
    frame f;
    (void)state;

    n0 = snapshot(e, snap_a);
    assert_int_equal(ADD(e, 0, vk_rel1), VT_RC_P(TPM2_RC_VALUE, 1));
    assert_int_equal(ADD(e, 4, vk_rel1), VT_RC_P(TPM2_RC_VALUE, 1));
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, "not a key"), VT_RC_P(TPM2_RC_VALUE, 2));
    /* one changed character of the key: its ID no longer matches */
    {
        char bad[256];
        strcpy(bad, vk_rel1);
        bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
        assert_int_equal(ADD(e, VT_TRUST_RELEASE, bad), VT_RC_P(TPM2_RC_VALUE, 2));
    }
    /* the type must be the role's */
    assert_int_equal(ADD(e, VT_TRUST_WITNESS, vk_rel1), VT_RC_P(TPM2_RC_TYPE, 2));
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk_wit1), VT_RC_P(TPM2_RC_TYPE, 2));
    assert_int_equal(ADD(e, VT_TRUST_LOG, vk_wit1), VT_RC_P(TPM2_RC_TYPE, 2));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, big), VT_RC_P(TPM2_RC_SIZE, 2));
    /* a key name longer than the store keeps */
    {
        vt_signer s;
        char vk[256], name[80];
        memset(name, 'n', 70);
        name[70] = '\0';
        key(&s, name, VT_NOTE_TYPE_ED25519, vk);
        assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk), VT_RC_P(TPM2_RC_SIZE, 2));
    }
    /* the platform is not the owner */
    assert_int_equal(trust_key(e, VT_CC_TRUST_ADD, TPM2_RH_PLATFORM, "", 1, vk_rel1), VT_RC_H(TPM2_RC_VALUE, 1));
    assert_int_equal(trust_key(e, VT_CC_TRUST_ADD, TPM2_RH_ENDORSEMENT, "", 1, vk_rel1),
                     VT_RC_H(TPM2_RC_VALUE, 1));
    /* no authorization at all; a byte too many; a short parameter */
    f_cmd(&f, 0x8001, VT_CC_TRUST_ADD);
    f_u32(&f, TPM2_RH_OWNER);
    f_u8(&f, 1);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), TPM2_RC_AUTH_MISSING);
    f_cmd(&f, 0x8002, VT_CC_TRUST_ADD);
    f_u32(&f, TPM2_RH_OWNER);
    f_pw_session(&f, "");
    f_u8(&f, 1);
    f_2b(&f, vk_rel1, (uint16_t)strlen(vk_rel1));
    f_u8(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), TPM2_RC_SIZE);
    f_cmd(&f, 0x8002, VT_CC_TRUST_ADD);
    f_u32(&f, TPM2_RH_OWNER);
    f_pw_session(&f, "");
    f_u8(&f, 1);
    f_u16(&f, 100);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), VT_RC_P(TPM2_RC_INSUFFICIENT, 2));
    ASSERT_UNCHANGED(e, n0);
    vt_engine_free(e);
}

static void test_add_remove_full(void **state)
{
    vt_engine *e = fresh();
    uint8_t buf[4096];
    size_t n, n0;
    unsigned i;
    vt_signer s[9];
    char vk[9][256];
    (void)state;

    for (i = 0; i < 9; i++) {
        char name[32];
        snprintf(name, sizeof(name), "k%u", i);
        key(&s[i], name, VT_NOTE_TYPE_ED25519, vk[i]);
    }
    for (i = 0; i < 8; i++)
        assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk[i]), 0);
    n0 = snapshot(e, snap_a);
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk[8]), TPM2_RC_NV_SPACE);
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk[3]), TPM2_RC_NV_DEFINED);
    assert_int_equal(REMOVE(e, VT_TRUST_LOG, vk[3]), VT_RC_P(TPM2_RC_HANDLE, 2)); /* other role */
    assert_int_equal(REMOVE(e, VT_TRUST_RELEASE, vk_rel1), VT_RC_P(TPM2_RC_HANDLE, 2));
    ASSERT_UNCHANGED(e, n0);
    /* the same key may serve as release and log key */
    assert_int_equal(ADD(e, VT_TRUST_LOG, vk[3]), 0);
    assert_int_equal(REMOVE(e, VT_TRUST_RELEASE, vk[3]), 0);
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk[8]), 0);
    n = trust_read(e, buf);
    assert_int_equal(buf[0], 0);  /* no log */
    assert_int_equal(buf[1], 0);  /* no quorum */
    assert_int_equal(buf[2], 9);  /* 8 release + 1 log */
    assert_true(n > 9 * 60);
    /* TrustRead has no parameters */
    {
        frame f;
        f_cmd(&f, 0x8001, VT_CC_TRUST_READ);
        f_u8(&f, 0);
        f_done(&f);
        assert_int_equal(run(e, &f, rsp, NULL), TPM2_RC_SIZE);
    }
    vt_engine_free(e);
}

static void test_policy_errors(void **state)
{
    vt_engine *e = fresh();
    size_t n0;
    (void)state;

    n0 = snapshot(e, snap_a);
    assert_int_equal(policy(e, 2, 0), VT_RC_P(TPM2_RC_VALUE, 1));
    assert_int_equal(policy(e, 1, 9), VT_RC_P(TPM2_RC_VALUE, 2));
    assert_int_equal(policy(e, 0, 1), VT_RC_P(TPM2_RC_VALUE, 2)); /* a quorum needs the log */
    ASSERT_UNCHANGED(e, n0);
    assert_int_equal(policy(e, 1, 2), 0);
    vt_engine_free(e);
}

/* Wrong owner password: TPM_RC_AUTH_FAIL, the store unchanged. */
static void test_owner_auth(void **state)
{
    vt_engine *e = fresh();
    uint8_t before[4096], after[4096];
    size_t nb, na;
    frame f;
    (void)state;

    /* set ownerAuth (HierarchyChangeAuth) */
    f_cmd(&f, 0x8002, 0x129);
    f_u32(&f, TPM2_RH_OWNER);
    f_pw_session(&f, "");
    f_2b(&f, "secret", 6);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    nb = trust_read(e, before);
    /* ownerAuth is not DA-protected (Part 1 §19.8): TPM_RC_BAD_AUTH */
    assert_int_equal(trust_key(e, VT_CC_TRUST_ADD, TPM2_RH_OWNER, "wrong", 1, vk_rel1),
                     VT_RC_S(TPM2_RC_BAD_AUTH, 1));
    assert_int_equal(trust_key(e, VT_CC_TRUST_ADD, TPM2_RH_OWNER, "", 1, vk_rel1),
                     VT_RC_S(TPM2_RC_BAD_AUTH, 1));
    na = trust_read(e, after);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, na);
    assert_int_equal(trust_key(e, VT_CC_TRUST_ADD, TPM2_RH_OWNER, "secret", 1, vk_rel1), 0);
    na = trust_read(e, after);
    assert_int_equal(after[2], 1);
    vt_engine_free(e);
}

/* Enrol release, log and two witnesses; log required, quorum q. */
static void enrol(vt_engine *e, uint8_t log, uint8_t q)
{
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk_rel1), 0);
    assert_int_equal(ADD(e, VT_TRUST_LOG, vk_log), 0);
    assert_int_equal(ADD(e, VT_TRUST_WITNESS, vk_wit1), 0);
    assert_int_equal(ADD(e, VT_TRUST_WITNESS, vk_wit2), 0);
    assert_int_equal(policy(e, log, q), 0);
}

static uint8_t bundle_buf[8192];

static void test_verify_refusals(void **state)
{
    vt_engine *e = fresh();
    size_t mlen, blen, n0;
    char *m = manifest("1.2.3", 5, &rel1, 1, &mlen);
    log_opts good = { true, true, &logk, { &wit1, &wit2 }, 2, false };
    log_opts o;
    uint8_t d[32];
    (void)state;

    /* a fresh TPM trusts nothing */
    blen = make_bundle(bundle_buf, m, mlen, &good);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_NOT_TRUSTED);
    enrol(e, 1, 2);
    n0 = snapshot(e, snap_a);

    /* the good bundle, and what VerifyBundle says of it */
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), 0);
    {
        const uint8_t *p = rsp + 10;
        assert_int_equal(p[0] << 8 | p[1], 6);
        assert_memory_equal(p + 2, "vitrum", 6);
        p += 8;
        assert_int_equal(p[0] << 8 | p[1], 5);
        assert_memory_equal(p + 2, "1.2.3", 5);
        p += 7;
        assert_int_equal(be32_at(p + 4), 5); /* svn */
        assert_int_equal(be32_at(p + 12), sizeof(payload));
        p += 16;
        assert_int_equal(p[1], 32);
        assert_memory_equal(p + 2, payload_sha, 32);
        p += 34;
        assert_int_equal(be32_at(p + 4), 0); /* log index */
        assert_int_equal(be32_at(p + 12), 4); /* tree size */
        assert_int_equal(p[16], 2);           /* cosignatures */
    }

    /* parse errors */
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 31), VT_RC_P(TPM2_RC_SIZE, 2));
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 0), VT_RC_P(TPM2_RC_SIZE, 2));
    {
        size_t cut;
        for (cut = 0; cut < blen; cut += 37)
            assert_int_equal(verify(e, bundle_buf, cut, payload_sha, 32), VT_RC_P(TPM2_RC_VALUE, 1));
    }
    /* a changed manifest byte: the enrolled key's signature fails */
    {
        char *x = malloc(mlen);
        memcpy(x, m, mlen);
        x[strstr(x, "svn 5") - x + 4] = '9';
        blen = make_bundle(bundle_buf, x, mlen, &good);
        assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_BAD_SIGNATURE);
        free(x);
    }
    /* unsigned; signed by a key not enrolled */
    {
        size_t ul;
        char *u = manifest("1.2.3", 5, NULL, 0, &ul);
        blen = make_bundle(bundle_buf, u, ul, &good);
        assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_NOT_TRUSTED);
        free(u);
        u = manifest("1.2.3", 5, &rel2, 1, &ul);
        blen = make_bundle(bundle_buf, u, ul, &good);
        assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_NOT_TRUSTED);
        free(u);
    }
    /* not in the log */
    blen = make_bundle(bundle_buf, m, mlen, NULL);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_NOT_LOGGED);
    o = good;
    o.proof = false;
    blen = make_bundle(bundle_buf, m, mlen, &o);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_NOT_LOGGED);
    /* a checkpoint of another log */
    o = good;
    o.log_signer = &log2k;
    blen = make_bundle(bundle_buf, m, mlen, &o);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_LOG_KEY);
    /* a forged inclusion proof */
    o = good;
    o.forge_proof = true;
    blen = make_bundle(bundle_buf, m, mlen, &o);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_PROOF);
    /* too few cosignatures */
    o = good;
    o.ncosig = 1;
    blen = make_bundle(bundle_buf, m, mlen, &o);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_QUORUM);
    o.ncosig = 0;
    blen = make_bundle(bundle_buf, m, mlen, &o);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_QUORUM);
    /* the payload differs */
    blen = make_bundle(bundle_buf, m, mlen, &good);
    memcpy(d, payload_sha, 32);
    d[7] ^= 1;
    assert_int_equal(verify(e, bundle_buf, blen, d, 32), VT_RC_DIGEST);
    ASSERT_UNCHANGED(e, n0);

    /* a removed key is refused */
    assert_int_equal(REMOVE(e, VT_TRUST_RELEASE, vk_rel1), 0);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_NOT_TRUSTED);
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk_rel1), 0);
    /* a removed witness drops below the quorum */
    assert_int_equal(REMOVE(e, VT_TRUST_WITNESS, vk_wit2), 0);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_QUORUM);
    /* no log required: the bare manifest verifies */
    assert_int_equal(policy(e, 0, 0), 0);
    blen = make_bundle(bundle_buf, m, mlen, NULL);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), 0);
    free(m);
    vt_engine_free(e);
}

static uint64_t floor_in_read(vt_engine *e, uint32_t *lowered)
{
    uint8_t buf[4096];
    size_t n = trust_read(e, buf), off = 2, i;
    uint64_t svn = 0;
    unsigned nk = buf[off++], nf;
    (void)n;
    for (i = 0; i < nk; i++) {
        off += 1;
        off += 2 + (size_t)(buf[off] << 8 | buf[off + 1]);
    }
    nf = buf[off++];
    for (i = 0; i < nf; i++) {
        size_t l = (size_t)(buf[off] << 8 | buf[off + 1]);
        if (l == 6 && !memcmp(buf + off + 2, "vitrum", 6))
            svn = (uint64_t)be32_at(buf + off + 2 + l) << 32 | be32_at(buf + off + 2 + l + 4);
        off += 2 + l + 8;
    }
    *lowered = be32_at(buf + off);
    return svn;
}

static int set_fw(vt_engine *e, const char *version, uint64_t svn)
{
    size_t mlen, blen;
    char *m = manifest(version, svn, &rel1, 1, &mlen);
    char err[200];
    int rc;
    blen = make_bundle(bundle_buf, m, mlen, NULL);
    rc = vt_engine_set_firmware(e, bundle_buf, blen, payload_sha, err, sizeof(err));
    free(m);
    return rc;
}

static void test_floor(void **state)
{
    vt_engine *e = fresh();
    uint32_t lowered;
    size_t n0, mlen, blen;
    char *m3;
    (void)state;

    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk_rel1), 0);
    /* nothing but a booted build raises the floor */
    assert_int_equal(floor_in_read(e, &lowered), 0);
    assert_int_equal(set_fw(e, "1.0.5", 5), 0);
    assert_int_equal(floor_in_read(e, &lowered), 5);
    n0 = snapshot(e, snap_a);
    assert_int_equal(set_fw(e, "1.0.3", 3), -1); /* below: refused, nothing changes */
    ASSERT_UNCHANGED(e, n0);
    m3 = manifest("1.0.3", 3, &rel1, 1, &mlen);
    blen = make_bundle(bundle_buf, m3, mlen, NULL);
    assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), VT_RC_ROLLBACK);
    assert_int_equal(set_fw(e, "1.0.7", 7), 0);
    assert_int_equal(floor_in_read(e, &lowered), 7);
    assert_int_equal(set_fw(e, "1.0.6", 6), -1);
    assert_int_equal(set_fw(e, "1.0.7", 7), 0); /* the same SVN again */
    assert_int_equal(floor_in_read(e, &lowered), 7);
    /* a wrong digest is refused by set_firmware too */
    {
        size_t ml;
        char *m = manifest("1.0.8", 8, &rel1, 1, &ml);
        char err[200];
        uint8_t d[32];
        memcpy(d, payload_sha, 32);
        d[0] ^= 1;
        blen = make_bundle(bundle_buf, m, ml, NULL);
        assert_int_equal(vt_engine_set_firmware(e, bundle_buf, blen, d, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "SHA-256"));
        free(m);
    }
    assert_int_equal(floor_in_read(e, &lowered), 7);

    /* FloorLower: owner and platform, only down, recorded */
    n0 = snapshot(e, snap_a);
    assert_int_equal(floor_lower(e, "", "", "vitrum", 7), VT_RC_P(TPM2_RC_VALUE, 2));
    assert_int_equal(floor_lower(e, "", "", "vitrum", 9), VT_RC_P(TPM2_RC_VALUE, 2));
    assert_int_equal(floor_lower(e, "", "", "other", 1), VT_RC_P(TPM2_RC_HANDLE, 1));
    assert_int_equal(floor_lower(e, "", "", "bad name", 1), VT_RC_P(TPM2_RC_VALUE, 1));
    ASSERT_UNCHANGED(e, n0);
    assert_int_equal(floor_lower(e, "", "wrong", "vitrum", 2), VT_RC_S(TPM2_RC_BAD_AUTH, 2));
    assert_int_equal(floor_lower(e, "wrong", "", "vitrum", 2), VT_RC_S(TPM2_RC_BAD_AUTH, 1));
    assert_int_equal(floor_in_read(e, &lowered), 7);
    assert_int_equal(lowered, 0);
    assert_int_equal(floor_lower(e, "", "", "vitrum", 2), 0);
    assert_int_equal(be32_at(rsp + 14 + 4), 7); /* the old floor */
    assert_int_equal(floor_in_read(e, &lowered), 2);
    assert_int_equal(lowered, 1);
    assert_int_equal(verify(e, bundle_buf, make_bundle(bundle_buf, m3, mlen, NULL), payload_sha, 32), 0);
    /* to 0: the name has no floor any more */
    assert_int_equal(floor_lower(e, "", "", "vitrum", 0), 0);
    assert_int_equal(floor_in_read(e, &lowered), 0);
    assert_int_equal(lowered, 2);
    assert_int_equal(floor_lower(e, "", "", "vitrum", 0), VT_RC_P(TPM2_RC_HANDLE, 1));
    free(m3);
    vt_engine_free(e);
}

static uint32_t getcap_prop(vt_engine *e, uint32_t prop)
{
    frame f;
    f_cmd(&f, 0x8001, 0x17A);
    f_u32(&f, TPM2_CAP_TPM_PROPERTIES);
    f_u32(&f, prop);
    f_u32(&f, 1);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    assert_int_equal(be32_at(rsp + 10 + 1 + 4 + 4), prop);
    return be32_at(rsp + 10 + 1 + 4 + 4 + 4);
}

static uint32_t nv_read_public(vt_engine *e, uint32_t h)
{
    frame f;
    f_cmd(&f, 0x8001, 0x169);
    f_u32(&f, h);
    f_done(&f);
    return run(e, &f, rsp, NULL);
}

static void test_firmware_identity(void **state)
{
    vt_engine *e = fresh();
    vt_platform p;
    frame f;
    size_t n;
    (void)state;

    assert_int_equal(getcap_prop(e, TPM2_PT_FIRMWARE_VERSION_1), 0x00000001);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), VT_RC_H(TPM2_RC_HANDLE, 1));
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk_rel1), 0);
    assert_int_equal(set_fw(e, "v2.7.19-rc1", 12), 0);
    assert_int_equal(getcap_prop(e, TPM2_PT_FIRMWARE_VERSION_1), 0x00020007);
    assert_int_equal(getcap_prop(e, TPM2_PT_FIRMWARE_VERSION_2), 19);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), 0);
    /* NV_Read with the index's empty authValue */
    f_cmd(&f, 0x8002, 0x14E);
    f_u32(&f, VT_FW_NV_INDEX);
    f_u32(&f, VT_FW_NV_INDEX);
    f_pw_session(&f, "");
    f_u16(&f, VT_FW_NV_SIZE);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, &n), 0);
    assert_int_equal(rsp[14] << 8 | rsp[15], VT_FW_NV_SIZE);
    assert_memory_equal(rsp + 16, payload_sha, 32);
    assert_int_equal(be32_at(rsp + 16 + 36), 12);
    assert_int_equal(be32_at(rsp + 16 + 40), 0xFFFFFFFF); /* not logged */
    assert_memory_equal(rsp + 16 + 48, "vitrum", 7);
    assert_memory_equal(rsp + 16 + 48 + 64, "v2.7.19-rc1", 12);
    /* nobody writes or undefines it */
    f_cmd(&f, 0x8002, 0x137);
    f_u32(&f, TPM2_RH_OWNER);
    f_u32(&f, VT_FW_NV_INDEX);
    f_pw_session(&f, "");
    f_2b(&f, "x", 1);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_not_equal(run(e, &f, rsp, NULL), 0);
    f_cmd(&f, 0x8002, 0x137);
    f_u32(&f, TPM2_RH_PLATFORM);
    f_u32(&f, VT_FW_NV_INDEX);
    f_pw_session(&f, "");
    f_2b(&f, "x", 1);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_not_equal(run(e, &f, rsp, NULL), 0);
    f_cmd(&f, 0x8002, 0x137);
    f_u32(&f, VT_FW_NV_INDEX);
    f_u32(&f, VT_FW_NV_INDEX);
    f_pw_session(&f, "");
    f_2b(&f, "x", 1);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_not_equal(run(e, &f, rsp, NULL), 0);
    f_cmd(&f, 0x8002, 0x122); /* NV_UndefineSpace */
    f_u32(&f, TPM2_RH_PLATFORM);
    f_u32(&f, VT_FW_NV_INDEX);
    f_pw_session(&f, "");
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), VT_RC_H(TPM2_RC_ATTRIBUTES, 2));
    f_cmd(&f, 0x8002, 0x122);
    f_u32(&f, TPM2_RH_OWNER);
    f_u32(&f, VT_FW_NV_INDEX);
    f_pw_session(&f, "");
    f_done(&f);
    assert_int_not_equal(run(e, &f, rsp, NULL), 0);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), 0);

    /* a new run without set_firmware: the compiled-in identity, no index;
     * the floor and the store stay */
    vt_engine_free(e);
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new(&p, &e), VT_OK);
    vt_engine_power_on(e);
    f_cmd(&f, 0x8001, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    assert_int_equal(getcap_prop(e, TPM2_PT_FIRMWARE_VERSION_1), 0x00000001);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), VT_RC_H(TPM2_RC_HANDLE, 1));
    {
        uint32_t lowered;
        assert_int_equal(floor_in_read(e, &lowered), 12);
    }
    vt_engine_free(e);
}

/* A new engine on the same store, started. */
static vt_engine *reload(vt_engine *e)
{
    vt_platform p;
    frame f;
    vt_engine_free(e);
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new(&p, &e), VT_OK);
    vt_engine_power_on(e);
    f_cmd(&f, 0x8001, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    return e;
}

/* A client's index at the firmware handle is not the engine's: it stays
 * across a reload, and vt_engine_set_firmware replaces it. */
static void test_fw_index_client(void **state)
{
    vt_engine *e = fresh();
    frame f;
    size_t n;
    (void)state;

    f_cmd(&f, 0x8002, 0x12A); /* NV_DefineSpace(owner) */
    f_u32(&f, TPM2_RH_OWNER);
    f_pw_session(&f, "");
    f_u16(&f, 0);                 /* auth */
    f_u16(&f, 4 + 2 + 4 + 2 + 2); /* TPM2B_NV_PUBLIC */
    f_u32(&f, VT_FW_NV_INDEX);
    f_u16(&f, TPM2_ALG_SHA256);
    f_u32(&f, TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD);
    f_u16(&f, 0);
    f_u16(&f, 8);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    e = reload(e);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), 0);
    assert_int_equal(ADD(e, VT_TRUST_RELEASE, vk_rel1), 0);
    assert_int_equal(set_fw(e, "1.0.0", 1), 0);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), 0);
    /* TPM2B_NV_PUBLIC: size, index, nameAlg, attributes */
    assert_int_equal(be32_at(rsp + 10 + 2 + 4 + 2) & TPMA_NV_OWNERWRITE, 0);
    assert_true(be32_at(rsp + 10 + 2 + 4 + 2) & TPMA_NV_PLATFORMCREATE);
    n = (size_t)(rsp[10 + 2 + 4 + 2 + 4 + 2] << 8 | rsp[10 + 2 + 4 + 2 + 4 + 3]);
    assert_int_equal(n, VT_FW_NV_SIZE);
    e = reload(e);
    assert_int_equal(nv_read_public(e, VT_FW_NV_INDEX), VT_RC_H(TPM2_RC_HANDLE, 1));
    vt_engine_free(e);
}

static void test_state_v6_v5(void **state)
{
    vt_engine *e = fresh();
    static uint8_t blob[1u << 17];
    uint8_t a[4096], b[4096];
    size_t na, nb, n, v5;
    vt_platform p;
    frame f;
    (void)state;

    enrol(e, 1, 1);
    assert_int_equal(set_fw(e, "1.0.0", 4), -1); /* the bundle has no checkpoint */
    assert_int_equal(policy(e, 0, 0), 0);
    assert_int_equal(set_fw(e, "1.0.0", 4), 0);
    assert_int_equal(policy(e, 1, 2), 0);
    assert_int_equal(floor_lower(e, "", "", "vitrum", 3), 0);
    na = trust_read(e, a);
    /* round trip through the store: a new engine reads the same store */
    vt_engine_free(e);
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new(&p, &e), VT_OK);
    vt_engine_power_on(e);
    f_cmd(&f, 0x8001, 0x144);
    f_u16(&f, 0);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    nb = trust_read(e, b);
    /* the firmware identity is not stored: compare all before it */
    assert_int_equal(na, nb + 6 + 5 + 32); /* name, version, digest */
    assert_memory_equal(a, b, nb - (1 + 2 + 2 + 8 + 2 + 8));
    /* a corrupt store entry is refused: a key of the wrong type for its role */
    n = vt_state_marshal(&e->p, blob, sizeof(blob));
    assert_int_equal(blob[4 + 7], 7);
    assert_int_equal(vt_state_unmarshal(&e->p, blob, n), VT_OK);
    /* version 5: the same state without the trust walk loads with an empty
     * store (the version 7 part is the last, 152 octets: the saved
     * platformAuth and platformPolicy; before it the version 6 part: an
     * empty store's walk is 46 octets, then the three saved hierarchy
     * enables and tpmEstablished, 4; so cut the state of a fresh engine) */
    vt_engine_free(e);
    e = fresh();
    n = vt_state_marshal(&e->p, blob, sizeof(blob));
    v5 = n - 32 - 152 - 50;
    blob[4 + 7] = 5;
    assert_int_equal(vt_hash(TPM2_ALG_SHA256, blob, v5, blob + v5), 32);
    memset(&e->p.trust, 0x5A, sizeof(e->p.trust));
    assert_int_equal(vt_state_unmarshal(&e->p, blob, v5 + 32), VT_OK);
    assert_int_equal(e->p.trust.nkeys[0], 0);
    assert_false(e->p.trust.require_log);
    assert_int_equal(e->p.trust.floors[0].name[0], 0);
    /* and a version 5 store starts an engine */
    memcpy(tp.store, blob, v5 + 32);
    tp.store_len = v5 + 32;
    vt_engine_free(e);
    p = tp_platform(&tp);
    assert_int_equal(vt_engine_new(&p, &e), VT_OK);
    vt_engine_free(e);
    /* a current (version 7) blob cut short is corrupt */
    e = fresh();
    n = vt_state_marshal(&e->p, blob, sizeof(blob));
    assert_int_equal(vt_hash(TPM2_ALG_SHA256, blob, n - 32 - 8, blob + n - 32 - 8), 32);
    assert_int_equal(vt_state_unmarshal(&e->p, blob, n - 8), VT_ERR_STATE_CORRUPT);
    vt_engine_free(e);
}

/* TPM2_Clear: the keys and the policy are owner data and go; the floors stay. */
static void test_clear(void **state)
{
    vt_engine *e = fresh();
    uint8_t buf[4096];
    uint32_t lowered;
    frame f;
    (void)state;

    enrol(e, 0, 0);
    assert_int_equal(set_fw(e, "1.0.0", 9), 0);
    f_cmd(&f, 0x8002, 0x126);
    f_u32(&f, TPM2_RH_PLATFORM);
    f_pw_session(&f, "");
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    trust_read(e, buf);
    assert_int_equal(buf[2], 0);
    assert_int_equal(floor_in_read(e, &lowered), 9);
    vt_engine_free(e);
}

/* GetCapability(TPM_CAP_COMMANDS) lists the vendor commands with TPMA_CC.V. */
static void test_getcap_commands(void **state)
{
    vt_engine *e = fresh();
    frame f;
    uint32_t i, count;
    (void)state;

    f_cmd(&f, 0x8001, 0x17A);
    f_u32(&f, TPM2_CAP_COMMANDS);
    f_u32(&f, VT_CC_VENDOR);
    f_u32(&f, 64);
    f_done(&f);
    assert_int_equal(run(e, &f, rsp, NULL), 0);
    count = be32_at(rsp + 10 + 1 + 4);
    assert_int_equal(count, 6);
    for (i = 0; i < count; i++) {
        uint32_t a = be32_at(rsp + 10 + 1 + 4 + 4 + 4 * i);
        assert_true(a & TPMA_CC_V);
        assert_int_equal(a & TPMA_CC_COMMANDINDEX_MASK, i + 1);
    }
    assert_int_equal(getcap_prop(e, TPM2_PT_VENDOR_COMMANDS), 6);
    assert_int_equal(getcap_prop(e, TPM2_PT_TOTAL_COMMANDS) - getcap_prop(e, TPM2_PT_LIBRARY_COMMANDS), 6);
    vt_engine_free(e);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Not a check: the median time of a full VerifyBundle (release key, log,
 * two cosignatures) through vt_engine_execute, for docs/PERFORMANCE.md. */
static void test_verify_time(void **state)
{
    enum { N = 301 };
    vt_engine *e = fresh();
    size_t mlen, blen, i;
    char *m = manifest("1.2.3", 5, &rel1, 1, &mlen);
    log_opts good = { true, true, &logk, { &wit1, &wit2 }, 2, false };
    static uint64_t ns[N], cpu[N];
    (void)state;

    enrol(e, 1, 2);
    blen = make_bundle(bundle_buf, m, mlen, &good);
    for (i = 0; i < N; i++) {
        struct timespec a, b, ca, cb;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(verify(e, bundle_buf, blen, payload_sha, 32), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
        ns[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)(b.tv_nsec - a.tv_nsec);
        cpu[i] = (uint64_t)(cb.tv_sec - ca.tv_sec) * 1000000000u + (uint64_t)(cb.tv_nsec - ca.tv_nsec);
    }
    qsort(ns, N, sizeof(ns[0]), cmp_u64);
    qsort(cpu, N, sizeof(cpu[0]), cmp_u64);
    printf("# VerifyBundle (%zu-octet bundle, release key + log + 2 cosignatures): median %.1f us "
           "(p10 %.1f, p90 %.1f), CPU median %.1f us, over %d calls\n",
           blen, ns[N / 2] / 1000.0, ns[N / 10] / 1000.0, ns[N * 9 / 10] / 1000.0, cpu[N / 2] / 1000.0, N);
    free(m);
    vt_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_parse_errors),
        cmocka_unit_test(test_add_remove_full),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_owner_auth),
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_firmware_identity),
        cmocka_unit_test(test_fw_index_client),
        cmocka_unit_test(test_state_v6_v5),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_getcap_commands),
        cmocka_unit_test(test_verify_time),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
