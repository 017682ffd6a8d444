/* libFuzzer target: sequences of TPM commands against a fresh engine.
 *
 * Every input runs on a new engine over a deterministic in-memory platform,
 * after _TPM_Init and TPM2_Startup(CLEAR), so sessions, hash sequences and
 * PCR state built by one command are seen by the next.
 *
 * Input format (tests/fuzz/README.md has the details):
 *
 *   u8 flags                 bit0: structure-aware records allowed
 *                            bit1: HMAC sessions: the harness tracks sessions
 *                                  from StartAuthSession and computes HMACs
 *   then records, each:
 *   u8 ctl                   bits0-2 locality (5..7 passed as is)
 *                            bit3    raw: patch the header size field
 *                            bit4    structure-aware (needs flags bit0)
 *                            bits5-7 platform event before the command
 *   u16 len, len bytes       (big-endian; truncated at the end of input)
 *
 *   A raw record is the command.  A structure-aware record is
 *     u8 sel, u32 commandCode, the command's handles, its parameters
 *   and the harness builds the header and an authorization area with one
 *   session per authorized handle (password with empty auth, or a tracked
 *   HMAC session), so the fuzzer reaches the command actions.
 *
 * Platform events: 0 none, 1 Clock +5 s, 2 power cycle + Startup(CLEAR),
 * 3 power cycle only, 4 toggle NV available, 5 toggle store failure,
 * 6 D-RTM sequence hashing the record's bytes (the command is not sent),
 * 7 orderly stop and restart of the process: vt_engine_save, free, and a new
 * engine from the stored state (which must load), then power on.
 *
 * Invariants (abort on violation): fz_check_response for every response;
 * for structure-aware commands that succeed, the response session area has
 * exactly one entry per command session, and a tracked HMAC session's
 * response HMAC verifies; a state the engine committed always loads. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "engine/engine_internal.h"

#define MAX_RECORDS 64
#define MAX_TRACKED 8

#define CC_STARTUP 0x144u
#define CC_FLUSH_CONTEXT 0x165u
#define CC_START_AUTH_SESSION 0x176u
#define RS_PW 0x40000009u
#define RH_NULL 0x40000007u

typedef struct {
    uint32_t handle;
    uint16_t hash;
    uint8_t nonce_tpm[64];
    size_t nonce_tpm_len;
    uint8_t key[64]; /* sessionKey */
    size_t key_len;
    bool bound;
    uint32_t bind;
} tracked_session;

static fz_platform plat;
static tracked_session tracked[MAX_TRACKED];
static unsigned n_tracked;
static uint32_t nonce_counter;
static int verbose = -1; /* FUZZ_VERBOSE=1: print every command's result */

/* ------------------------------------------------------------ crypto (own) */

static const EVP_MD *md_of(uint16_t alg)
{
    switch (alg) {
    case 0x0004: return EVP_sha1();
    case 0x000B: return EVP_sha256();
    case 0x000C: return EVP_sha384();
    case 0x000D: return EVP_sha512();
    default: return NULL;
    }
}

static size_t md_hmac(uint16_t alg, const uint8_t *key, size_t key_len,
                      const uint8_t *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    static const uint8_t zero = 0;
    const EVP_MD *md = md_of(alg);
    if (!md)
        return 0;
    if (!HMAC(md, key_len ? key : &zero, (int)key_len, data, len, out, &n))
        return 0;
    return n;
}

static size_t md_hash(uint16_t alg, const uint8_t *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    const EVP_MD *md = md_of(alg);
    if (!md || !EVP_Digest(data, len, out, &n, md, NULL))
        return 0;
    return n;
}

/* KDFa (Part 1 §11.4.10.2), written from the spec for the harness. */
static void kdfa(uint16_t alg, const uint8_t *key, size_t key_len, const char *label,
                 const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len,
                 size_t bytes, uint8_t *out)
{
    uint8_t buf[4 + 16 + 64 + 64 + 4], block[64];
    size_t done = 0, llen = strlen(label) + 1;
    uint32_t i = 1;

    while (done < bytes) {
        size_t n = 0, m;
        fz_put32(buf, i++);
        n = 4;
        memcpy(buf + n, label, llen);
        n += llen;
        memcpy(buf + n, u, u_len);
        n += u_len;
        memcpy(buf + n, v, v_len);
        n += v_len;
        fz_put32(buf + n, (uint32_t)(bytes * 8));
        n += 4;
        m = md_hmac(alg, key, key_len, buf, n, block);
        if (m == 0)
            return;
        if (m > bytes - done)
            m = bytes - done;
        memcpy(out + done, block, m);
        done += m;
    }
}

/* ------------------------------------------------------------ tracking */


static void track_drop(uint32_t h)
{
    unsigned i;
    for (i = 0; i < n_tracked; i++)
        if (tracked[i].handle == h) {
            tracked[i] = tracked[--n_tracked];
            return;
        }
}

/* After a successful StartAuthSession: remember the session. */
static void track_start_auth_session(const uint8_t *cmd, size_t len, const uint8_t *rsp, size_t rlen)
{
    size_t off = 10;
    uint32_t bind;
    const uint8_t *nonce_caller;
    uint16_t nc_len, salt_len, sym, hash, tpm_nonce_len;
    tracked_session *t;
    const EVP_MD *md;

    if (len < off + 8)
        return;
    bind = fz_be32(cmd + off + 4);
    off += 8;
    if (fz_be16(cmd) == FZ_ST_SESSIONS) {
        if (len < off + 4)
            return;
        off += 4 + (size_t)fz_be32(cmd + off);
    }
    if (len < off + 2)
        return;
    nc_len = fz_be16(cmd + off);
    nonce_caller = cmd + off + 2;
    off += 2u + nc_len;
    if (len < off + 2)
        return;
    salt_len = fz_be16(cmd + off);
    off += 2u + salt_len + 1u; /* salt, sessionType */
    if (len < off + 2)
        return;
    sym = fz_be16(cmd + off);
    off += 2;
    if (sym != 0x0010) /* TPM_ALG_NULL; anything else is refused today */
        off += 4;
    if (len < off + 2)
        return;
    hash = fz_be16(cmd + off);
    md = md_of(hash);
    /* response: header, handle, [parameterSize], nonceTPM */
    off = 14 + (fz_be16(rsp) == FZ_ST_SESSIONS ? 4 : 0);
    if (!md || rlen < off + 2)
        return;
    tpm_nonce_len = fz_be16(rsp + off);
    if (tpm_nonce_len > 64 || rlen < off + 2 + tpm_nonce_len)
        return;
    if (n_tracked == MAX_TRACKED)
        n_tracked--; /* forget the newest-but-one; stays bounded */
    t = &tracked[n_tracked++];
    memset(t, 0, sizeof(*t));
    t->handle = fz_be32(rsp + 10);
    t->hash = hash;
    t->nonce_tpm_len = tpm_nonce_len;
    memcpy(t->nonce_tpm, rsp + off + 2, tpm_nonce_len);
    if (bind != RH_NULL) {
        /* sessionKey = KDFa(authHash, bind.authValue || salt, "ATH",
         * nonceTPM, nonceCaller, bits); every authValue is empty here. */
        t->key_len = (size_t)EVP_MD_get_size(md);
        kdfa(hash, NULL, 0, "ATH", t->nonce_tpm, t->nonce_tpm_len, nonce_caller, nc_len,
             t->key_len, t->key);
        t->bound = true;
        t->bind = bind;
    }
}

/* ------------------------------------------------------------ building */

typedef struct {
    bool hmac;
    tracked_session *t;
    uint8_t nonce[64];
    size_t nonce_len;
    uint8_t attrs;
} built_session;

/* The Name of a handle as the engine sees it: sequence objects (transient
 * handles) have an empty Name, everything else implemented is its handle. */
static size_t handle_name(uint32_t h, uint8_t out[4])
{
    if ((h >> 24) == 0x80)
        return 0;
    fz_put32(out, h);
    return 4;
}

/* Build a command from a structure-aware record into f.  Returns the number
 * of sessions put in the authorization area (0 for TPM_ST_NO_SESSIONS). */
static unsigned build_command(const uint8_t *d, size_t n, bool use_hmac, fz_frame *f,
                              built_session *ses, const vt_cmd_def **def_out)
{
    uint8_t sel;
    uint32_t cc;
    const vt_cmd_def *def;
    unsigned n_handles = 0, n_auth = 0, n_ses = 0, i;
    const uint8_t *handles, *params;
    size_t hbytes, plen, auth_size_at;
    bool sessions;

    f->n = 0;
    f->overflow = false;
    *def_out = NULL;
    if (n < 5) {
        fz_bytes(f, d, n);
        return 0;
    }
    sel = d[0];
    cc = fz_be32(d + 1);
    def = vt_command_find(cc);
    *def_out = def;
    if (def) {
        n_handles = def->n_handles;
        n_auth = def->n_auth;
    }
    d += 5;
    n -= 5;
    hbytes = 4u * n_handles;
    if (hbytes > n)
        hbytes = n;
    handles = d;
    params = d + hbytes;
    plen = n - hbytes;

    sessions = n_auth > 0 || (sel & 0x20);
    if (sel & 0x10)
        sessions = false;
    n_ses = sessions ? (n_auth ? n_auth : 1) + ((sel & 0x08) ? 1 : 0) : 0;
    if (n_ses > 3)
        n_ses = 3;

    fz_u16(f, sessions ? FZ_ST_SESSIONS : FZ_ST_NO_SESSIONS);
    fz_u32(f, 0);
    fz_u32(f, cc);
    fz_bytes(f, handles, hbytes);
    if (sessions) {
        uint8_t cp[64];
        size_t cp_len = 0;
        auth_size_at = f->n;
        fz_u32(f, 0);
        for (i = 0; i < n_ses; i++) {
            built_session *s = &ses[i];
            uint32_t h = i < hbytes / 4 ? fz_be32(handles + 4 * i) : RH_NULL;
            memset(s, 0, sizeof(*s));
            s->attrs = (sel & 0x04) ? 0 : 0x01; /* continueSession */
            if (sel & 0x40)
                s->attrs |= 0x20; /* decrypt */
            if (sel & 0x80)
                s->attrs |= 0x80; /* audit */
            /* sel bits0-1: 0 password; 1 HMAC everywhere; 2 HMAC in the
             * first slot only; 3 HMAC in the second slot only. */
            s->hmac = use_hmac && n_tracked > 0 &&
                      ((sel & 3) == 1 || ((sel & 3) == 2 && i == 0) || ((sel & 3) == 3 && i == 1));
            if (!s->hmac) {
                fz_u32(f, RS_PW);
                fz_u16(f, 0);
                fz_u8(f, s->attrs);
                fz_u16(f, 0);
                continue;
            }
            s->t = &tracked[(i + nonce_counter) % n_tracked];
            s->nonce_len = s->t->nonce_tpm_len < 16 ? 16 : s->t->nonce_tpm_len;
            {
                size_t k;
                for (k = 0; k < s->nonce_len; k++)
                    s->nonce[k] = (uint8_t)(nonce_counter * 31u + k);
                nonce_counter++;
            }
            {
                /* cpHash = H(cc || Names || parameters), in this session's
                 * hash algorithm */
                uint8_t buf[4 + 3 * 4 + VT_MAX_COMMAND_SIZE];
                size_t bn = 0, k;
                fz_put32(buf, cc);
                bn = 4;
                for (k = 0; k < hbytes / 4; k++)
                    bn += handle_name(fz_be32(handles + 4 * k), buf + bn);
                if (plen > VT_MAX_COMMAND_SIZE)
                    plen = VT_MAX_COMMAND_SIZE;
                memcpy(buf + bn, params, plen);
                bn += plen;
                cp_len = md_hash(s->t->hash, buf, bn, cp);
            }
            {
                uint8_t key[128], mac[64], buf[64 * 3 + 1];
                size_t kl = s->t->key_len, bn = 0, ml;
                memcpy(key, s->t->key, kl);
                /* key = sessionKey || authValue, the authValue left out
                 * when bound to this very entity; every authValue here is
                 * empty, so both are just sessionKey. */
                (void)h;
                memcpy(buf + bn, cp, cp_len);
                bn += cp_len;
                memcpy(buf + bn, s->nonce, s->nonce_len);
                bn += s->nonce_len;
                memcpy(buf + bn, s->t->nonce_tpm, s->t->nonce_tpm_len);
                bn += s->t->nonce_tpm_len;
                buf[bn++] = s->attrs;
                ml = md_hmac(s->t->hash, key, kl, buf, bn, mac);
                fz_u32(f, s->t->handle);
                fz_u16(f, (uint16_t)s->nonce_len);
                fz_bytes(f, s->nonce, s->nonce_len);
                fz_u8(f, s->attrs);
                fz_u16(f, (uint16_t)ml);
                fz_bytes(f, mac, ml);
            }
        }
        if (!f->overflow)
            fz_put32(f->b + auth_size_at, (uint32_t)(f->n - auth_size_at - 4));
    }
    fz_bytes(f, params, plen);
    if (!f->overflow)
        fz_put32(f->b + 2, (uint32_t)f->n);
    return n_ses;
}

/* A successful response to a structure-aware command: check its session
 * area and move the tracked sessions' nonces on. */
static void check_session_response(const fz_frame *f, const vt_cmd_def *def, built_session *ses,
                                   unsigned n_ses, const uint8_t *rsp, size_t rlen)
{
    size_t off = 10 + 4u * (def ? def->n_rsp_handles : 0), param_off;
    uint32_t psize;
    unsigned i;

    if (rlen < off + 4)
        fz_fail("session response of %zu bytes has no parameterSize", rlen);
    psize = fz_be32(rsp + off);
    off += 4;
    param_off = off;
    if (psize > rlen - off)
        fz_fail("parameterSize %u runs past the response (%zu bytes)", psize, rlen);
    off += psize;
    for (i = 0; i < n_ses; i++) {
        uint16_t nl, hl;
        const uint8_t *nonce, *mac;
        uint8_t attrs;
        if (rlen - off < 2)
            fz_fail("response session %u missing", i + 1);
        nl = fz_be16(rsp + off);
        if (rlen - off < 2u + nl + 1u + 2u)
            fz_fail("response session %u truncated", i + 1);
        nonce = rsp + off + 2;
        attrs = rsp[off + 2 + nl];
        hl = fz_be16(rsp + off + 2 + nl + 1);
        if (rlen - off < 2u + nl + 1u + 2u + hl)
            fz_fail("response session %u hmac truncated", i + 1);
        mac = rsp + off + 2 + nl + 1 + 2;
        off += 2u + nl + 1u + 2u + hl;
        if (!ses[i].hmac) {
            if (nl != 0 || hl != 0)
                fz_fail("password session %u answered with nonce %u / hmac %u", i + 1, nl, hl);
            continue;
        }
        {
            /* rpHash = H(rc || cc || parameters);
             * HMAC(key, rpHash || nonceTPM || nonceCaller || attrs) */
            tracked_session *t = ses[i].t;
            uint8_t buf[8 + VT_MAX_RESPONSE_SIZE], rp[64], mb[64 * 3 + 1], m[64];
            size_t rpl, bn = 0, ml;
            fz_put32(buf, 0);
            memcpy(buf + 4, f->b + 6, 4);
            memcpy(buf + 8, rsp + param_off, psize);
            rpl = md_hash(t->hash, buf, 8 + psize, rp);
            if (nl > 64)
                fz_fail("response nonce of %u bytes", nl);
            memcpy(mb, rp, rpl);
            bn = rpl;
            memcpy(mb + bn, nonce, nl);
            bn += nl;
            memcpy(mb + bn, ses[i].nonce, ses[i].nonce_len);
            bn += ses[i].nonce_len;
            mb[bn++] = attrs;
            ml = md_hmac(t->hash, t->key, t->key_len, mb, bn, m);
            if (hl != ml || memcmp(m, mac, ml) != 0)
                fz_fail("response HMAC of session %u does not verify", i + 1);
            memcpy(t->nonce_tpm, nonce, nl);
            t->nonce_tpm_len = nl;
        }
    }
    if (off != rlen)
        fz_fail("%zu bytes after the response session area", rlen - off);
    /* sessions used without continueSession are gone */
    for (i = 0; i < n_ses; i++)
        if (ses[i].hmac && !(ses[i].attrs & 0x01) && ses[i].t) {
            uint32_t h = ses[i].t->handle;
            unsigned k;
            for (k = i + 1; k < n_ses; k++)
                if (ses[k].t && ses[k].t->handle == h)
                    ses[k].t = NULL;
            track_drop(h);
        }
}

/* ------------------------------------------------------------ RSA cache */

/* RSA key generation (a prime search) costs ~0.1-1 s under ASan and runs in
 * nearly every input that reaches the key commands, while the inputs create
 * the same few keys again and again.  The target is linked with
 * -Wl,--wrap=vt_rsa_generate (fuzz.mk) and remembers the keys it made by the
 * random stream they were made from: on a hit it draws exactly the same
 * octets in the same chunks from the caller's rng (so the engine's DRBG and
 * everything after stay as they would be) and returns the remembered key.
 * The first draw (pbits/8 octets) picks the entry; the rest is checked.  On
 * a miss the real generator runs on a tee of the rng that serves the octets
 * already drawn first.  Inputs replay identically with and without the
 * cache. */
#include "crypto/vt_asym.h"

int __real_vt_rsa_generate(unsigned bits, uint32_t exponent, vt_rng_fn rng, void *rng_ctx,
                           uint8_t *n, uint8_t *p);
int __wrap_vt_rsa_generate(unsigned bits, uint32_t exponent, vt_rng_fn rng, void *rng_ctx,
                           uint8_t *n, uint8_t *p);

#define RSA_CACHE 64
#define RSA_DRAWS 256
#define RSA_STREAM (RSA_DRAWS * 256)

typedef struct {
    unsigned bits;
    uint32_t exponent;
    unsigned n_draws;
    uint16_t draw_len[RSA_DRAWS];
    size_t stream_len;
    uint8_t *stream; /* every octet drawn, in order */
    uint8_t n[512], p[256];
} rsa_entry;

static rsa_entry rsa_cache[RSA_CACHE];
static unsigned rsa_cached;

typedef struct {
    vt_rng_fn rng;
    void *ctx;
    const uint8_t *pre; /* served first */
    size_t pre_len, pre_off;
    rsa_entry *rec;     /* recording, or NULL when it overflowed */
} rsa_tee;

static int tee_rng(void *c, uint8_t *out, size_t len)
{
    rsa_tee *t = c;
    size_t k = 0;
    if (t->pre_off < t->pre_len) {
        k = t->pre_len - t->pre_off < len ? t->pre_len - t->pre_off : len;
        memcpy(out, t->pre + t->pre_off, k);
        t->pre_off += k;
    }
    if (k < len && t->rng(t->ctx, out + k, len - k) != 0)
        return -1;
    if (t->rec) {
        if (t->rec->n_draws == RSA_DRAWS || t->rec->stream_len + len > RSA_STREAM) {
            t->rec = NULL;
        } else {
            t->rec->draw_len[t->rec->n_draws++] = (uint16_t)len;
            memcpy(t->rec->stream + t->rec->stream_len, out, len);
            t->rec->stream_len += len;
        }
    }
    return 0;
}

int __wrap_vt_rsa_generate(unsigned bits, uint32_t exponent, vt_rng_fn rng, void *rng_ctx,
                           uint8_t *n, uint8_t *p)
{
    static uint8_t drawn[RSA_STREAM];
    static rsa_entry scratch;
    static uint8_t scratch_stream[RSA_STREAM];
    size_t first = bits / 16, got = 0;
    unsigned i, d = 0;
    rsa_entry *hit = NULL;
    rsa_tee tee;
    int rc;

    if (!rng || !n || !p || bits > 4096 || bits < 16 || first > 256)
        return __real_vt_rsa_generate(bits, exponent, rng, rng_ctx, n, p);
    if (rng(rng_ctx, drawn, first) != 0)
        return -1;
    got = first;
    for (i = 0; i < rsa_cached; i++) {
        rsa_entry *c = &rsa_cache[i];
        if (c->bits == bits && c->exponent == exponent && c->n_draws > 0 &&
            c->draw_len[0] == first && memcmp(c->stream, drawn, first) == 0) {
            hit = c;
            break;
        }
    }
    if (hit) {
        /* draw the rest in the same chunks; a difference is a miss */
        bool same = true;
        for (d = 1; d < hit->n_draws; d++) {
            if (rng(rng_ctx, drawn + got, hit->draw_len[d]) != 0)
                return -1;
            same = memcmp(drawn + got, hit->stream + got, hit->draw_len[d]) == 0;
            got += hit->draw_len[d];
            if (!same)
                break;
        }
        if (same) {
            memcpy(n, hit->n, bits / 8);
            memcpy(p, hit->p, bits / 16);
            return 0;
        }
    }
    memset(&scratch, 0, sizeof(scratch));
    scratch.stream = scratch_stream;
    tee = (rsa_tee){ rng, rng_ctx, drawn, got, 0, &scratch };
    rc = __real_vt_rsa_generate(bits, exponent, tee_rng, &tee, n, p);
    /* a key made after a partial hit drew octets in other chunks: not kept */
    if (rc == 0 && tee.rec && !hit && rsa_cached < RSA_CACHE) {
        rsa_entry *c = &rsa_cache[rsa_cached];
        uint8_t *buf = malloc(scratch.stream_len);
        if (buf) {
            *c = scratch;
            c->bits = bits;
            c->exponent = exponent;
            c->stream = buf;
            memcpy(buf, scratch_stream, scratch.stream_len);
            memcpy(c->n, n, bits / 8);
            memcpy(c->p, p, bits / 16);
            rsa_cached++;
        }
    }
    return rc;
}

/* ------------------------------------------------------------ engine */

static vt_engine *fresh_engine(void)
{
    vt_platform p = fz_vt_platform(&plat);
    vt_engine *e = NULL;
    uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    vt_status st;

    st = vt_engine_new(&p, &e);
    if (st != VT_OK)
        fz_fail("vt_engine_new on an empty store: %s", vt_status_str(st));
    vt_engine_power_on(e);
    if (fz_startup(e, 0x0000, rsp) != 0)
        fz_fail("Startup(CLEAR) on a fresh engine failed");
    return e;
}

/* Process stop and start: what a restarted daemon does. */
static vt_engine *restart_engine(vt_engine *e)
{
    vt_platform p = fz_vt_platform(&plat);
    vt_status st;
    bool committed_ok;

    committed_ok = vt_engine_save(e) == VT_OK;
    vt_engine_free(e);
    e = NULL;
    if (plat.fail_commit)
        plat.fail_commit = false;
    st = vt_engine_new(&p, &e);
    if (st != VT_OK)
        fz_fail("a state the engine committed does not load: %s (save %s)", vt_status_str(st),
                committed_ok ? "ok" : "failed");
    vt_engine_power_on(e);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    static fz_frame f;
    static built_session ses[3];
    vt_engine *e;
    uint8_t flags;
    size_t off = 1;
    unsigned records = 0;
    bool nv_on = true;

    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (size < 1)
        return 0;
    flags = data[0];
    fz_platform_reset(&plat);
    n_tracked = 0;
    nonce_counter = 0;
    e = fresh_engine();

    while (off + 3 <= size && records++ < MAX_RECORDS) {
        uint8_t ctl = data[off];
        size_t len = fz_be16(data + off + 1);
        const uint8_t *d = data + off + 3;
        uint8_t locality = ctl & 7;
        const vt_cmd_def *def = NULL;
        unsigned n_ses = 0;
        bool structured = (flags & 1) && (ctl & 0x10);
        uint32_t rc;
        size_t rlen;

        off += 3;
        if (len > size - off)
            len = size - off;
        off += len;

        plat.now_ms += 7; /* time passes between commands */
        switch (ctl >> 5) {
        case 1:
            plat.now_ms += 5000;
            break;
        case 2:
            vt_engine_reset(e);
            n_tracked = 0;
            (void)fz_startup(e, 0x0000, rsp);
            break;
        case 3:
            vt_engine_reset(e);
            n_tracked = 0;
            break;
        case 4:
            nv_on = !nv_on;
            vt_engine_set_nv_available(e, nv_on);
            break;
        case 5:
            plat.fail_commit = !plat.fail_commit;
            break;
        case 6:
            vt_engine_hash_start(e);
            vt_engine_hash_data(e, d, len);
            vt_engine_hash_end(e);
            continue;
        case 7:
            e = restart_engine(e);
            nv_on = true;
            n_tracked = 0;
            break;
        default:
            break;
        }

        if (structured) {
            n_ses = build_command(d, len, (flags & 2) != 0, &f, ses, &def);
            if (f.overflow)
                continue;
        } else {
            /* a raw record may be up to 65535 octets; the frame holds
             * VT_MAX_COMMAND_SIZE + 512, enough to send an oversized one */
            if (len > sizeof(f.b))
                len = sizeof(f.b);
            f.n = len;
            f.overflow = false;
            memcpy(f.b, d, len);
            if ((ctl & 0x08) && len >= 6)
                fz_put32(f.b + 2, (uint32_t)len);
        }

        rc = fz_exec(e, locality, f.b, f.n, rsp, &rlen);
        if (verbose)
            fprintf(stderr, "  #%u ctl 0x%02x cc 0x%x len %zu -> rc 0x%x (%zu bytes)\n", records,
                    ctl, f.n >= 10 ? fz_be32(f.b + 6) : 0, f.n, rc, rlen);
        if (rc != 0)
            continue;
        {
            uint32_t cc = fz_be32(f.b + 6);
            if (structured && fz_be16(f.b) == FZ_ST_SESSIONS)
                check_session_response(&f, def, ses, n_ses, rsp, rlen);
            if (flags & 2) {
                if (cc == CC_START_AUTH_SESSION)
                    track_start_auth_session(f.b, f.n, rsp, rlen);
                else if (cc == CC_FLUSH_CONTEXT && f.n >= 14)
                    track_drop(fz_be32(f.b + 10));
                else if (cc == CC_STARTUP)
                    n_tracked = 0;
            }
        }
    }

    vt_engine_free(e);
    return 0;
}
