/* Host side of vitrum's vendor commands (vendor_client.h,
 * docs/VENDOR-COMMANDS.md): raw command bytes over a TCTI, with password
 * sessions for the owner and the platform. */
#define _GNU_SOURCE
#include "vendor_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_tpm2_types.h>

#include "common/be.h"
#include "common/hex.h"

#define CMD_MAX 4096u
#define DEFAULT_TCTI "mssim:host=127.0.0.1,port=2321"

int vt_vc_connect(const char *tcti, TSS2_TCTI_CONTEXT **out, char *err, size_t errlen)
{
    const char *env = getenv("TPM2TOOLS_TCTI");
    TSS2_RC rc;

    *out = NULL;
    if (!tcti || !*tcti)
        tcti = env && *env ? env : DEFAULT_TCTI;
    rc = Tss2_TctiLdr_Initialize(tcti, out);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "cannot reach the TPM at %s (TCTI error 0x%x)", tcti, (unsigned)rc);
        *out = NULL;
        return -1;
    }
    return 0;
}

void vt_vc_disconnect(TSS2_TCTI_CONTEXT *t)
{
    if (t)
        Tss2_TctiLdr_Finalize(&t);
}

int vt_vc_auth_parse(const char *s, uint8_t *buf, size_t cap, vt_vc_auth *out, char *err,
                     size_t errlen)
{
    size_t n = 0;

    if (cap > 64)
        cap = 64; /* an authValue is at most the largest digest */
    out->pw = buf;
    out->len = 0;
    if (!strncmp(s, "hex:", 4)) {
        const char *h = s + 4;
        size_t hl = strlen(h);
        if (hl % 2 || hl / 2 > cap) {
            snprintf(err, errlen, "bad hex password (at most %zu octets)", cap);
            return -1;
        }
        if (vt_hex_decode(h, hl, buf, hl / 2) != 0) {
            snprintf(err, errlen, "bad hex password");
            return -1;
        }
        n = hl / 2;
    } else if (!strncmp(s, "file:", 5)) {
        const char *path = s + 5;
        FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        uint8_t tmp[66];
        if (!f) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            return -1;
        }
        n = fread(tmp, 1, sizeof(tmp), f);
        if (f != stdin)
            fclose(f);
        if (n > cap) {
            snprintf(err, errlen, "password in %s is longer than %zu octets", path, cap);
            return -1;
        }
        memcpy(buf, tmp, n);
    } else {
        const char *p = !strncmp(s, "str:", 4) ? s + 4 : s;
        n = strlen(p);
        if (n > cap) {
            snprintf(err, errlen, "password longer than %zu octets", cap);
            return -1;
        }
        memcpy(buf, p, n);
    }
    out->len = n;
    return 0;
}

/* ---- command building ---- */

typedef struct {
    uint8_t b[CMD_MAX];
    size_t n;
    bool over;
} cbuf;

static void put(cbuf *c, const void *p, size_t n)
{
    if (c->over || CMD_MAX - c->n < n) {
        c->over = true;
        return;
    }
    memcpy(c->b + c->n, p, n);
    c->n += n;
}
static void put8(cbuf *c, uint8_t v) { put(c, &v, 1); }
static void put16(cbuf *c, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(c, x, 2);
}
static void put32(cbuf *c, uint32_t v)
{
    uint8_t x[4];
    vt_put_be32(x, v);
    put(c, x, 4);
}
static void put64(cbuf *c, uint64_t v)
{
    uint8_t x[8];
    vt_put_be64(x, v);
    put(c, x, 8);
}
static void put2b(cbuf *c, const void *p, size_t n)
{
    if (n > 0xFFFF) {
        c->over = true;
        return;
    }
    put16(c, (uint16_t)n);
    put(c, p, n);
}

/* Header, handles and (with nauth > 0) one password session per handle. */
static void begin(cbuf *c, uint32_t cc, const uint32_t *handles, unsigned nh,
                  const vt_vc_auth *auth, unsigned nauth)
{
    unsigned i;
    memset(c, 0, sizeof(*c));
    put16(c, nauth ? TPM2_ST_SESSIONS : TPM2_ST_NO_SESSIONS);
    put32(c, 0); /* size, set in finish */
    put32(c, cc);
    for (i = 0; i < nh; i++)
        put32(c, handles[i]);
    if (nauth) {
        size_t len = 0;
        for (i = 0; i < nauth; i++)
            len += 4 + 2 + 1 + 2 + auth[i].len;
        put32(c, (uint32_t)len);
        for (i = 0; i < nauth; i++) {
            put32(c, TPM2_RS_PW);
            put16(c, 0);                       /* nonceCaller */
            put8(c, TPMA_SESSION_CONTINUESESSION);
            put2b(c, auth[i].pw, auth[i].len); /* the password */
        }
    }
}

/* Response cursor over the parameter area. */
typedef struct {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} rcur;

static const uint8_t *get(rcur *r, size_t n)
{
    const uint8_t *p;
    if (r->bad || r->n - r->off < n) {
        r->bad = true;
        return NULL;
    }
    p = r->p + r->off;
    r->off += n;
    return p;
}
static uint8_t get8(rcur *r)
{
    const uint8_t *p = get(r, 1);
    return p ? p[0] : 0;
}
static uint16_t get16(rcur *r)
{
    const uint8_t *p = get(r, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}
static uint32_t get32(rcur *r)
{
    const uint8_t *p = get(r, 4);
    return p ? vt_get_be32(p) : 0;
}
static uint64_t get64(rcur *r)
{
    const uint8_t *p = get(r, 8);
    return p ? vt_get_be64(p) : 0;
}
/* A TPM2B into a NUL-terminated string of cap octets (with the NUL). */
static void get_str(rcur *r, char *s, size_t cap)
{
    uint16_t n = get16(r);
    const uint8_t *p = get(r, n);
    if (!p || n >= cap) {
        r->bad = true;
        s[0] = '\0';
        return;
    }
    memcpy(s, p, n);
    s[n] = '\0';
}

/* Send, receive; on success *r covers the response parameters. */
static TSS2_RC transact(TSS2_TCTI_CONTEXT *t, cbuf *c, uint8_t *rsp, size_t cap, rcur *r)
{
    size_t len = cap;
    TSS2_RC rc;
    uint16_t tag;
    uint32_t size, trc;

    if (c->over)
        return TSS2_MU_RC_BAD_SIZE;
    vt_put_be32(c->b + 2, (uint32_t)c->n);
    rc = Tss2_Tcti_Transmit(t, c->n, c->b);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    rc = Tss2_Tcti_Receive(t, &len, rsp, TSS2_TCTI_TIMEOUT_BLOCK);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    if (len < 10)
        return VT_VC_EFORMAT;
    tag = (uint16_t)(rsp[0] << 8 | rsp[1]);
    size = vt_get_be32(rsp + 2);
    trc = vt_get_be32(rsp + 6);
    if (size != len)
        return VT_VC_EFORMAT;
    if (trc != TPM2_RC_SUCCESS)
        return trc;
    memset(r, 0, sizeof(*r));
    if (tag == TPM2_ST_SESSIONS) {
        uint32_t psize;
        if (len < 14)
            return VT_VC_EFORMAT;
        psize = vt_get_be32(rsp + 10);
        if (psize > len - 14)
            return VT_VC_EFORMAT;
        r->p = rsp + 14;
        r->n = psize;
    } else if (tag == TPM2_ST_NO_SESSIONS) {
        r->p = rsp + 10;
        r->n = len - 10;
    } else {
        return VT_VC_EFORMAT;
    }
    return TSS2_RC_SUCCESS;
}

static TSS2_RC done(const rcur *r)
{
    return r->bad || r->off != r->n ? VT_VC_EFORMAT : TSS2_RC_SUCCESS;
}

/* ---- the commands ---- */

static TSS2_RC trust_key(TSS2_TCTI_CONTEXT *t, uint32_t cc, vt_vc_auth owner, uint8_t role,
                         const char *vkey)
{
    const uint32_t h = TPM2_RH_OWNER;
    size_t n = strlen(vkey);
    uint8_t rsp[CMD_MAX];
    cbuf c;
    rcur r;
    TSS2_RC rc;

    while (n && (vkey[n - 1] == '\n' || vkey[n - 1] == '\r'))
        n--;
    begin(&c, cc, &h, 1, &owner, 1);
    put8(&c, role);
    put2b(&c, vkey, n);
    rc = transact(t, &c, rsp, sizeof(rsp), &r);
    return rc ? rc : done(&r);
}

TSS2_RC vt_vc_trust_add(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, uint8_t role, const char *vkey)
{
    return trust_key(t, VT_CC_TRUST_ADD, owner, role, vkey);
}

TSS2_RC vt_vc_trust_remove(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, uint8_t role, const char *vkey)
{
    return trust_key(t, VT_CC_TRUST_REMOVE, owner, role, vkey);
}

TSS2_RC vt_vc_trust_policy(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, bool require_log,
                           uint8_t quorum)
{
    const uint32_t h = TPM2_RH_OWNER;
    uint8_t rsp[CMD_MAX];
    cbuf c;
    rcur r;
    TSS2_RC rc;

    begin(&c, VT_CC_TRUST_POLICY, &h, 1, &owner, 1);
    put8(&c, require_log ? 1 : 0);
    put8(&c, quorum);
    rc = transact(t, &c, rsp, sizeof(rsp), &r);
    return rc ? rc : done(&r);
}

TSS2_RC vt_vc_trust_read(TSS2_TCTI_CONTEXT *t, vt_vc_trust_info *out)
{
    uint8_t rsp[CMD_MAX];
    cbuf c;
    rcur r;
    TSS2_RC rc;
    unsigned i, n;

    memset(out, 0, sizeof(*out));
    begin(&c, VT_CC_TRUST_READ, NULL, 0, NULL, 0);
    rc = transact(t, &c, rsp, sizeof(rsp), &r);
    if (rc)
        return rc;
    out->require_log = get8(&r) == 1;
    out->quorum = get8(&r);
    n = get8(&r);
    if (n > 3 * VT_TRUST_MAX_KEYS)
        return VT_VC_EFORMAT;
    for (i = 0; i < n; i++) {
        out->keys[i].role = get8(&r);
        get_str(&r, out->keys[i].vkey, sizeof(out->keys[i].vkey));
    }
    out->nkeys = n;
    n = get8(&r);
    if (n > VT_TRUST_MAX_FLOORS)
        return VT_VC_EFORMAT;
    for (i = 0; i < n; i++) {
        get_str(&r, out->floors[i].name, sizeof(out->floors[i].name));
        out->floors[i].svn = get64(&r);
    }
    out->nfloors = n;
    out->lowered = get32(&r);
    get_str(&r, out->last_name, sizeof(out->last_name));
    out->last_old = get64(&r);
    out->last_new = get64(&r);
    out->last_clock = get64(&r);
    out->fw_set = get8(&r) == 1;
    get_str(&r, out->fw.name, sizeof(out->fw.name));
    get_str(&r, out->fw.version, sizeof(out->fw.version));
    out->fw.svn = get64(&r);
    {
        uint16_t dn = get16(&r);
        const uint8_t *d = get(&r, dn);
        if (d && dn == 32)
            memcpy(out->fw.sha256, d, 32);
        else if (dn != 0)
            r.bad = true;
    }
    out->fw.log_index = get64(&r);
    return done(&r);
}

size_t vt_vc_bundle_strip(const uint8_t *bundle, size_t len, uint8_t *out, size_t cap)
{
    size_t pos = 8, o = 8;

    if (len < 8 || memcmp(bundle, "VTBUNDL1", 8) != 0 || cap < 8)
        return 0;
    memcpy(out, bundle, 8);
    while (pos < len) {
        size_t n;
        if (len - pos < 5)
            return 0;
        n = vt_get_be32(bundle + pos + 1);
        if (n > len - pos - 5)
            return 0;
        if (bundle[pos] != 2) { /* everything but the payload */
            if (cap - o < n + 5)
                return 0;
            memcpy(out + o, bundle + pos, n + 5);
            o += n + 5;
        }
        pos += n + 5;
    }
    return o;
}

TSS2_RC vt_vc_verify_bundle(TSS2_TCTI_CONTEXT *t, const uint8_t *bundle, size_t len,
                            const uint8_t payload_sha256[32], vt_vc_release *out)
{
    static uint8_t stripped[CMD_MAX];
    uint8_t rsp[CMD_MAX];
    size_t n = vt_vc_bundle_strip(bundle, len, stripped, VT_VC_BUNDLE_MAX);
    cbuf c;
    rcur r;
    TSS2_RC rc;

    memset(out, 0, sizeof(*out));
    begin(&c, VT_CC_VERIFY_BUNDLE, NULL, 0, NULL, 0);
    /* A bundle that does not parse here is sent as it is: the TPM says
     * why (malformed, or too large for one command). */
    if (n)
        put2b(&c, stripped, n);
    else
        put2b(&c, bundle, len);
    put2b(&c, payload_sha256, 32);
    rc = transact(t, &c, rsp, sizeof(rsp), &r);
    if (rc)
        return rc;
    get_str(&r, out->name, sizeof(out->name));
    get_str(&r, out->version, sizeof(out->version));
    out->svn = get64(&r);
    out->size = get64(&r);
    {
        uint16_t dn = get16(&r);
        const uint8_t *d = get(&r, dn);
        if (d && dn == 32)
            memcpy(out->sha256, d, 32);
        else
            r.bad = true;
    }
    out->log_index = get64(&r);
    out->tree_size = get64(&r);
    out->cosignatures = get8(&r);
    return done(&r);
}

TSS2_RC vt_vc_floor_lower(TSS2_TCTI_CONTEXT *t, vt_vc_auth owner, vt_vc_auth platform,
                          const char *name, uint64_t svn, uint64_t *old_svn)
{
    const uint32_t h[2] = { TPM2_RH_OWNER, TPM2_RH_PLATFORM };
    const vt_vc_auth a[2] = { owner, platform };
    uint8_t rsp[CMD_MAX];
    cbuf c;
    rcur r;
    TSS2_RC rc;
    uint64_t old;

    begin(&c, VT_CC_FLOOR_LOWER, h, 2, a, 2);
    put2b(&c, name, strlen(name));
    put64(&c, svn);
    rc = transact(t, &c, rsp, sizeof(rsp), &r);
    if (rc)
        return rc;
    old = get64(&r);
    (void)get32(&r);
    if (old_svn)
        *old_svn = old;
    return done(&r);
}

const char *vt_vc_strerror(TSS2_RC rc, uint32_t cc)
{
    static char buf[96];
    uint32_t base = rc & ~(TPM2_RC_N_MASK | TPM2_RC_P); /* without the number */
    unsigned num = (rc & TPM2_RC_FMT1) ? (rc & TPM2_RC_N_MASK) >> 8 : 0;
    bool is_param = (rc & TPM2_RC_FMT1) && (rc & TPM2_RC_P);

    switch (rc) {
    case TSS2_RC_SUCCESS: return "ok";
    case VT_VC_EFORMAT: return "the TPM's response does not parse";
    case TSS2_MU_RC_BAD_SIZE: return "the request is larger than one TPM command (a bundle's sections 1, 3 and 4 must fit 4000 octets)";
    case VT_RC_BAD_SIGNATURE: return "refused: a signature by an enrolled key does not verify";
    case VT_RC_NOT_TRUSTED: return "refused: not signed by an enrolled release key";
    case VT_RC_NOT_LOGGED: return "refused: not in the log (the policy requires a checkpoint and an inclusion proof)";
    case VT_RC_LOG_KEY: return "refused: the checkpoint is not signed by an enrolled log key";
    case VT_RC_PROOF: return "refused: the inclusion proof does not verify against the checkpoint";
    case VT_RC_QUORUM: return "refused: too few enrolled witnesses cosigned the checkpoint";
    case VT_RC_ROLLBACK: return "refused: the SVN is below the floor for this release";
    case VT_RC_DIGEST: return "refused: the payload's SHA-256 differs from the manifest";
    case TPM2_RC_NV_DEFINED: return "the key is already enrolled";
    case TPM2_RC_NV_SPACE: return "the trust store has no room for another key of this role";
    case TPM2_RC_COMMAND_CODE: return "this TPM does not implement vitrum's vendor commands";
    case TPM2_RC_LOCKOUT: return "the TPM is in dictionary-attack lockout";
    default: break;
    }
    if ((rc & 0xFFFF0000u) != 0) {
        snprintf(buf, sizeof(buf), "transport error 0x%08x", (unsigned)rc);
        return buf;
    }
    if ((rc & TPM2_RC_FMT1) && base == TPM2_RC_AUTH_FAIL)
        return "authorization failed (wrong password)";
    if ((rc & TPM2_RC_FMT1) && base == TPM2_RC_BAD_AUTH)
        return "authorization failed (wrong password)";
    if (cc == VT_CC_VERIFY_BUNDLE && is_param && num == 1 && base == TPM2_RC_VALUE)
        return "refused: malformed or truncated bundle";
    if (cc == VT_CC_VERIFY_BUNDLE && is_param && num == 1 && base == TPM2_RC_SIZE)
        return "refused: the bundle is larger than one command allows";
    if (cc == VT_CC_VERIFY_BUNDLE && is_param && num == 2)
        return "the payload digest must be 32 octets (SHA-256)";
    if ((cc == VT_CC_TRUST_ADD || cc == VT_CC_TRUST_REMOVE) && is_param && num == 2) {
        if (base == TPM2_RC_TYPE)
            return "wrong key type for this role (release and log keys are Ed25519, witness keys cosignature/v1)";
        if (base == TPM2_RC_HANDLE)
            return "no such key is enrolled in this role";
        if (base == TPM2_RC_SIZE)
            return "key name longer than 64 octets";
        return "malformed verifier key";
    }
    if (cc == VT_CC_FLOOR_LOWER && is_param && num == 1)
        return base == TPM2_RC_HANDLE ? "no floor for that release name" : "bad release name";
    if (cc == VT_CC_FLOOR_LOWER && is_param && num == 2)
        return "the new SVN is not below the floor";
    if (cc == VT_CC_TRUST_POLICY && is_param)
        return "bad policy (a witness quorum needs the log; at most 8)";
    if ((rc & TPM2_RC_FMT1) && !is_param && base == TPM2_RC_VALUE)
        return "these keys are the owner's: use the owner hierarchy";
    if ((rc & TPM2_RC_FMT1) && base == TPM2_RC_HIERARCHY)
        return "the hierarchy is disabled";
    snprintf(buf, sizeof(buf), "the TPM refused with 0x%03x", (unsigned)rc);
    return buf;
}
