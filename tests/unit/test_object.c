/* The object room (object.c, cmd/cmd_object.c, persistent objects in
 * state.c): the outer wrapper and sensitive wrap/unwrap called directly,
 * then CreatePrimary, Create, Load, ReadPublic, FlushContext, ContextSave,
 * ContextLoad, EvictControl, Unseal and ObjectChangeAuth as raw commands
 * through the dispatcher, with their error codes (TPM 2.0 Part 3 §12,
 * §28).  ECC P-256 keys throughout (fast); one RSA-2048 primary checks that
 * the primary cache never changes what a template derives to. */
#include "helpers.h"

#include "engine/engine_internal.h"
#include "engine/object.h"

#define ST_NO 0x8001
#define ST_S 0x8002
#define OWNER TPM2_RH_OWNER
#define ENDORSE TPM2_RH_ENDORSEMENT
#define PLATFORM TPM2_RH_PLATFORM
#define RHNULL TPM2_RH_NULL

static test_platform tp;
static vt_engine *E;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
static size_t rsp_len;

/* ---------------------------------------------------------------- engine */

static uint32_t startup(uint16_t su)
{
    frame f;
    f_cmd(&f, ST_NO, TPM2_CC_Startup);
    f_u16(&f, su);
    f_done(&f);
    return run(E, &f, rsp, &rsp_len);
}

static uint32_t shutdown_(uint16_t su)
{
    frame f;
    f_cmd(&f, ST_NO, TPM2_CC_Shutdown);
    f_u16(&f, su);
    f_done(&f);
    return run(E, &f, rsp, &rsp_len);
}

/* A power cycle of the same process: _TPM_Init then Startup(su). */
static void power_cycle(uint16_t su)
{
    vt_engine_power_off(E);
    vt_engine_power_on(E);
    assert_int_equal(startup(su), 0);
}

/* A new process on the same store: the engine is rebuilt from the saved
 * state, then Startup(su). */
static void reopen(uint16_t su)
{
    vt_platform p = tp_platform(&tp);
    vt_engine_free(E);
    E = NULL;
    assert_int_equal(vt_engine_new(&p, &E), VT_OK);
    vt_engine_power_on(E);
    assert_int_equal(startup(su), 0);
}

static int setup(void **state)
{
    (void)state;
    memset(&tp, 0, sizeof(tp));
    E = started_engine(&tp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_engine_free(E);
    E = NULL;
    return 0;
}

/* --------------------------------------------------------------- commands */

#define MU(fr, TYPE, ptr) \
    assert_int_equal(Tss2_MU_##TYPE##_Marshal((ptr), (fr)->b, sizeof((fr)->b), &(fr)->n), 0)

/* Send command cc with handles h[0..nh-1], a password session with `pw`
 * for the first n_auth handles (pw NULL: no sessions), and the parameter
 * octets of `p`.  The response stays in rsp. */
static uint32_t cmd(uint32_t cc, const uint32_t *h, unsigned nh, unsigned n_auth, const char *pw,
                    const frame *p)
{
    frame f;
    unsigned i;

    f_cmd(&f, pw ? ST_S : ST_NO, cc);
    for (i = 0; i < nh; i++)
        f_u32(&f, h[i]);
    if (pw) {
        uint16_t n = (uint16_t)strlen(pw);
        f_u32(&f, n_auth * (9u + n));
        for (i = 0; i < n_auth; i++) {
            f_u32(&f, TPM2_RS_PW);
            f_u16(&f, 0);
            f_u8(&f, 0x01);
            f_2b(&f, pw, n);
        }
    }
    if (p)
        f_bytes(&f, p->b, p->n);
    f_done(&f);
    return run(E, &f, rsp, &rsp_len);
}

/* Offset of the response parameters; their end goes to rsp_end (the
 * session area follows them in a TPM_ST_SESSIONS response). */
static size_t rsp_end;
static size_t rsp_params(bool handle)
{
    size_t off = 10 + (handle ? 4u : 0u);
    rsp_end = rsp_len;
    if (rsp[0] == 0x80 && rsp[1] == 0x02) {
        rsp_end = off + 4 + be32_at(rsp + off);
        assert_true(rsp_end <= rsp_len);
        off += 4;
    }
    return off;
}

static uint32_t rsp_handle(void) { return be32_at(rsp + 10); }

/* ---- templates ---- */

#define BASE_ATTRS                                                                       \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

static const TPMT_SYM_DEF_OBJECT aes128cfb = { TPM2_ALG_AES, { .aes = 128 }, { .aes = TPM2_ALG_CFB } };

static TPMT_PUBLIC storage_tmpl(void)
{
    TPMT_PUBLIC t;
    memset(&t, 0, sizeof(t));
    t.type = TPM2_ALG_ECC;
    t.nameAlg = TPM2_ALG_SHA256;
    t.objectAttributes = BASE_ATTRS | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    t.parameters.eccDetail.symmetric = aes128cfb;
    t.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    t.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    t.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    return t;
}

static TPMT_PUBLIC sign_tmpl(void)
{
    TPMT_PUBLIC t = storage_tmpl();
    t.objectAttributes = BASE_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT;
    t.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    t.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    return t;
}

static TPMT_PUBLIC rsa_storage_tmpl(void)
{
    TPMT_PUBLIC t;
    memset(&t, 0, sizeof(t));
    t.type = TPM2_ALG_RSA;
    t.nameAlg = TPM2_ALG_SHA256;
    t.objectAttributes = BASE_ATTRS | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    t.parameters.rsaDetail.symmetric = aes128cfb;
    t.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    t.parameters.rsaDetail.keyBits = 2048;
    return t;
}

/* Sealed data: no sign, no decrypt, not restricted, data from the caller. */
static TPMT_PUBLIC seal_tmpl(TPMA_OBJECT attrs)
{
    TPMT_PUBLIC t;
    memset(&t, 0, sizeof(t));
    t.type = TPM2_ALG_KEYEDHASH;
    t.nameAlg = TPM2_ALG_SHA256;
    t.objectAttributes = attrs;
    t.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
    return t;
}
#define SEAL_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

/* The parameters of CreatePrimary / Create. */
static void create_params(frame *p, const TPMT_PUBLIC *t, const char *auth, const void *data,
                          uint16_t dlen)
{
    TPM2B_SENSITIVE_CREATE sc;
    TPM2B_PUBLIC pub;
    TPML_PCR_SELECTION pcrs;

    memset(&sc, 0, sizeof(sc));
    memset(&pcrs, 0, sizeof(pcrs));
    if (auth) {
        sc.sensitive.userAuth.size = (uint16_t)strlen(auth);
        memcpy(sc.sensitive.userAuth.buffer, auth, strlen(auth));
    }
    if (data) {
        sc.sensitive.data.size = dlen;
        memcpy(sc.sensitive.data.buffer, data, dlen);
    }
    pub.size = 0;
    pub.publicArea = *t;
    p->n = 0;
    MU(p, TPM2B_SENSITIVE_CREATE, &sc);
    MU(p, TPM2B_PUBLIC, &pub);
    f_u16(p, 0); /* outsideInfo */
    f_u32(p, 0); /* creationPCR: none */
}

/* The i-th TPM2B_NAME-like 2B after the public area of a CreatePrimary
 * response, etc.  Helpers to unmarshal response fields: */
static void rsp_public(size_t *off, TPM2B_PUBLIC *pub)
{
    memset(pub, 0, sizeof(*pub));
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(rsp, rsp_len, off, pub), 0);
}

static void rsp_name(size_t *off, TPM2B_NAME *n)
{
    memset(n, 0, sizeof(*n));
    assert_int_equal(Tss2_MU_TPM2B_NAME_Unmarshal(rsp, rsp_len, off, n), 0);
}

static void skip_creation(size_t *off)
{
    TPM2B_CREATION_DATA cd;
    TPM2B_DIGEST d;
    TPMT_TK_CREATION tk;
    assert_int_equal(Tss2_MU_TPM2B_CREATION_DATA_Unmarshal(rsp, rsp_len, off, &cd), 0);
    assert_int_equal(Tss2_MU_TPM2B_DIGEST_Unmarshal(rsp, rsp_len, off, &d), 0);
    assert_int_equal(Tss2_MU_TPMT_TK_CREATION_Unmarshal(rsp, rsp_len, off, &tk), 0);
}

typedef struct {
    uint32_t handle;
    TPM2B_PUBLIC pub;
    TPM2B_NAME name;
    TPM2B_PRIVATE priv; /* Create only */
} obj;

static uint32_t create_primary_rc(uint32_t hier, const TPMT_PUBLIC *t, obj *o)
{
    frame p;
    uint32_t rc;
    size_t off;

    create_params(&p, t, NULL, NULL, 0);
    rc = cmd(TPM2_CC_CreatePrimary, &hier, 1, 1, "", &p);
    if (rc != 0 || !o)
        return rc;
    memset(o, 0, sizeof(*o));
    o->handle = rsp_handle();
    off = rsp_params(true);
    rsp_public(&off, &o->pub);
    skip_creation(&off);
    rsp_name(&off, &o->name);
    assert_int_equal(off, rsp_end);
    return rc;
}

static obj primary(uint32_t hier, const TPMT_PUBLIC *t)
{
    obj o;
    assert_int_equal(create_primary_rc(hier, t, &o), 0);
    return o;
}

static uint32_t create_rc(uint32_t parent, const TPMT_PUBLIC *t, const char *auth, const void *data,
                          uint16_t dlen, obj *o)
{
    frame p;
    uint32_t rc;
    size_t off;

    create_params(&p, t, auth, data, dlen);
    rc = cmd(TPM2_CC_Create, &parent, 1, 1, "", &p);
    if (rc != 0 || !o)
        return rc;
    memset(o, 0, sizeof(*o));
    off = rsp_params(false);
    assert_int_equal(Tss2_MU_TPM2B_PRIVATE_Unmarshal(rsp, rsp_len, &off, &o->priv), 0);
    rsp_public(&off, &o->pub);
    skip_creation(&off);
    assert_int_equal(off, rsp_end);
    return rc;
}

static obj create(uint32_t parent, const TPMT_PUBLIC *t, const char *auth, const void *data, uint16_t dlen)
{
    obj o;
    assert_int_equal(create_rc(parent, t, auth, data, dlen, &o), 0);
    return o;
}

static uint32_t load_raw(uint32_t parent, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, obj *o)
{
    frame p;
    uint32_t rc;
    size_t off;
    TPM2B_PUBLIC pb = *pub;

    p.n = 0;
    pb.size = 0;
    MU(&p, TPM2B_PRIVATE, priv);
    MU(&p, TPM2B_PUBLIC, &pb);
    rc = cmd(TPM2_CC_Load, &parent, 1, 1, "", &p);
    if (rc == 0 && o) {
        o->handle = rsp_handle();
        off = rsp_params(true);
        rsp_name(&off, &o->name);
        assert_int_equal(off, rsp_end);
    }
    return rc;
}

/* Load `o` (made by create) under parent; fills o->handle and o->name. */
static uint32_t load_rc(uint32_t parent, obj *o) { return load_raw(parent, &o->priv, &o->pub, o); }

static uint32_t flush(uint32_t h)
{
    frame p;
    p.n = 0;
    f_u32(&p, h);
    return cmd(TPM2_CC_FlushContext, NULL, 0, 0, NULL, &p);
}

/* ReadPublic: rc, and the public area, Name and Qualified Name. */
static uint32_t read_public(uint32_t h, TPM2B_PUBLIC *pub, TPM2B_NAME *name, TPM2B_NAME *qn)
{
    uint32_t rc = cmd(TPM2_CC_ReadPublic, &h, 1, 0, NULL, NULL);
    size_t off;
    TPM2B_PUBLIC p2;
    TPM2B_NAME n2, q2;

    if (rc != 0)
        return rc;
    off = rsp_params(false);
    rsp_public(&off, pub ? pub : &p2);
    rsp_name(&off, name ? name : &n2);
    rsp_name(&off, qn ? qn : &q2);
    assert_int_equal(off, rsp_end);
    return rc;
}

static void assert_same_public(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
    uint8_t x[sizeof(TPMT_PUBLIC)], y[sizeof(TPMT_PUBLIC)];
    size_t nx = 0, ny = 0;
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&a->publicArea, x, sizeof(x), &nx), 0);
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&b->publicArea, y, sizeof(y), &ny), 0);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
}

static bool same_ecc_point(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
    const TPMS_ECC_POINT *p = &a->publicArea.unique.ecc, *q = &b->publicArea.unique.ecc;
    return p->x.size == q->x.size && memcmp(p->x.buffer, q->x.buffer, p->x.size) == 0 &&
           p->y.size == q->y.size && memcmp(p->y.buffer, q->y.buffer, p->y.size) == 0;
}

static uint32_t context_save(uint32_t h, TPMS_CONTEXT *ctx)
{
    uint32_t rc = cmd(TPM2_CC_ContextSave, &h, 1, 0, NULL, NULL);
    size_t off;
    if (rc != 0)
        return rc;
    off = rsp_params(false);
    memset(ctx, 0, sizeof(*ctx));
    assert_int_equal(Tss2_MU_TPMS_CONTEXT_Unmarshal(rsp, rsp_len, &off, ctx), 0);
    assert_int_equal(off, rsp_end);
    return rc;
}

static uint32_t context_load(const TPMS_CONTEXT *ctx, uint32_t *h)
{
    frame p;
    uint32_t rc;
    p.n = 0;
    MU(&p, TPMS_CONTEXT, ctx);
    rc = cmd(TPM2_CC_ContextLoad, NULL, 0, 0, NULL, &p);
    if (rc == 0 && h)
        *h = rsp_handle();
    return rc;
}

static uint32_t evict(uint32_t auth, uint32_t h, uint32_t persistent)
{
    frame p;
    uint32_t hs[2] = { auth, h };
    p.n = 0;
    f_u32(&p, persistent);
    return cmd(TPM2_CC_EvictControl, hs, 2, 1, "", &p);
}

/* Unseal with password pw: rc; the data in out/out_len on success. */
static uint32_t unseal(uint32_t h, const char *pw, uint8_t *out, size_t *out_len)
{
    uint32_t rc = cmd(TPM2_CC_Unseal, &h, 1, 1, pw, NULL);
    size_t off;
    TPM2B_SENSITIVE_DATA d;
    if (rc != 0)
        return rc;
    off = rsp_params(false);
    assert_int_equal(Tss2_MU_TPM2B_SENSITIVE_DATA_Unmarshal(rsp, rsp_len, &off, &d), 0);
    assert_int_equal(off, rsp_end);
    if (out) {
        memcpy(out, d.buffer, d.size);
        *out_len = d.size;
    }
    return rc;
}

static uint32_t change_auth(uint32_t h, uint32_t parent, const char *pw, const char *new_auth,
                            TPM2B_PRIVATE *out)
{
    frame p;
    uint32_t hs[2] = { h, parent }, rc;
    size_t off;
    p.n = 0;
    f_2b(&p, new_auth, (uint16_t)strlen(new_auth));
    rc = cmd(TPM2_CC_ObjectChangeAuth, hs, 2, 1, pw, &p);
    if (rc != 0)
        return rc;
    off = rsp_params(false);
    assert_int_equal(Tss2_MU_TPM2B_PRIVATE_Unmarshal(rsp, rsp_len, &off, out), 0);
    assert_int_equal(off, rsp_end);
    return rc;
}

/* ================================================== the outer wrapper */

static const uint8_t SEED[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void test_name(uint8_t name[34])
{
    unsigned i;
    name[0] = 0x00;
    name[1] = 0x0B;
    for (i = 0; i < 32; i++)
        name[2 + i] = (uint8_t)(0xC0 + i);
}

static TPM2_RC unwrap(const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *seed, const uint8_t *name,
                      size_t nlen, const uint8_t *blob, size_t blen, uint8_t *plain, size_t *plen)
{
    *plen = 512;
    return vt_outer_unwrap(TPM2_ALG_SHA256, sym, seed, 32, name, nlen, blob, blen, plain, plen);
}

static void outer_wrap_round_trip_and_tamper(void **state)
{
    uint8_t name[34], plain[100], blob[512], out[512], bad[512], seed2[32];
    size_t blen = sizeof(blob), olen, i, bit;
    static const TPMT_SYM_DEF_OBJECT symnull = { TPM2_ALG_NULL, { 0 }, { 0 } };

    (void)state;
    test_name(name);
    for (i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i * 7 + 1);

    assert_int_equal(vt_outer_wrap(TPM2_ALG_SHA256, &aes128cfb, SEED, 32, name, 34, plain,
                                   sizeof(plain), blob, &blen), 0);
    assert_int_equal(blen, 2 + 32 + sizeof(plain));
    assert_int_equal(blob[0], 0);
    assert_int_equal(blob[1], 32);
    /* encrypted: the plaintext does not show */
    assert_memory_not_equal(blob + 34, plain, sizeof(plain));
    assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, blob, blen, out, &olen), 0);
    assert_int_equal(olen, sizeof(plain));
    assert_memory_equal(out, plain, sizeof(plain));

    /* every single flipped bit, anywhere in the blob (a flip that makes
     * the integrity size larger than any digest: TPM_RC_SIZE, below) */
    for (bit = 0; bit < blen * 8; bit++) {
        size_t dl;
        memcpy(bad, blob, blen);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        dl = (size_t)bad[0] << 8 | bad[1];
        assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, bad, blen, out, &olen),
                         dl > sizeof(TPMU_HA) ? TPM2_RC_SIZE : TPM2_RC_INTEGRITY);
    }
    /* a wrong name: one bit, another algorithm, shorter */
    for (i = 0; i < 34; i++) {
        uint8_t n2[34];
        memcpy(n2, name, 34);
        n2[i] ^= 0x01;
        assert_int_equal(unwrap(&aes128cfb, SEED, n2, 34, blob, blen, out, &olen), TPM2_RC_INTEGRITY);
    }
    assert_int_equal(unwrap(&aes128cfb, SEED, name, 33, blob, blen, out, &olen), TPM2_RC_INTEGRITY);
    assert_int_equal(unwrap(&aes128cfb, SEED, name, 0, blob, blen, out, &olen), TPM2_RC_INTEGRITY);
    /* a wrong seed */
    memcpy(seed2, SEED, 32);
    seed2[31] ^= 0x80;
    assert_int_equal(unwrap(&aes128cfb, seed2, name, 34, blob, blen, out, &olen), TPM2_RC_INTEGRITY);
    /* truncated at every length, and one octet too many */
    for (i = 0; i < blen; i++)
        assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, blob, i, out, &olen), TPM2_RC_INTEGRITY);
    memcpy(bad, blob, blen);
    bad[blen] = 0;
    assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, bad, blen + 1, out, &olen), TPM2_RC_INTEGRITY);
    /* a wrong integrity size: a SHA-1-sized and a SHA-384-sized digest
     * field... (within TPMU_HA: the check fails, as on swtpm) */
    {
        static const uint16_t sizes[] = { 0, 20, 31, 33, 48, 64 };
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            memcpy(bad, blob, blen);
            bad[0] = (uint8_t)(sizes[i] >> 8);
            bad[1] = (uint8_t)sizes[i];
            assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, bad, blen, out, &olen),
                             TPM2_RC_INTEGRITY);
        }
    }
    /* ...and one larger than any digest: the TPM2B_DIGEST does not even
     * unmarshal (TPM_RC_SIZE, what swtpm answers to Load) */
    {
        static const uint16_t sizes[] = { 65, 0x4020, 0xFFFF };
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            memcpy(bad, blob, blen);
            bad[0] = (uint8_t)(sizes[i] >> 8);
            bad[1] = (uint8_t)sizes[i];
            assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, bad, blen, out, &olen), TPM2_RC_SIZE);
        }
    }
    /* the same blob under another symmetric key size decrypts differently
     * but the HMAC still holds (integrity does not cover the cipher): the
     * sensitive unwrap must then refuse the garbage (below) */
    /* an output room too small is a size error, never an overflow */
    olen = sizeof(plain) - 1;
    assert_int_equal(vt_outer_unwrap(TPM2_ALG_SHA256, &aes128cfb, SEED, 32, name, 34, blob, blen, out, &olen),
                     TPM2_RC_SIZE);
    olen = 2 + 32 + sizeof(plain) - 1;
    assert_int_equal(vt_outer_wrap(TPM2_ALG_SHA256, &aes128cfb, SEED, 32, name, 34, plain, sizeof(plain), bad,
                                   &olen),
                     TPM2_RC_SIZE);
    /* an unknown nameAlg */
    olen = sizeof(out);
    assert_int_equal(vt_outer_unwrap(0x0099, &aes128cfb, SEED, 32, name, 34, blob, blen, out, &olen),
                     TPM2_RC_HASH);

    /* integrity only (sym NULL): the plaintext is carried as it is */
    blen = sizeof(blob);
    assert_int_equal(vt_outer_wrap(TPM2_ALG_SHA256, &symnull, SEED, 32, name, 34, plain, sizeof(plain),
                                   blob, &blen), 0);
    assert_memory_equal(blob + 34, plain, sizeof(plain));
    assert_int_equal(unwrap(&symnull, SEED, name, 34, blob, blen, out, &olen), 0);
    assert_memory_equal(out, plain, sizeof(plain));
    blob[40] ^= 1;
    assert_int_equal(unwrap(&symnull, SEED, name, 34, blob, blen, out, &olen), TPM2_RC_INTEGRITY);

    /* SHA-384 nameAlg: a 48-octet integrity value */
    blen = sizeof(blob);
    assert_int_equal(vt_outer_wrap(TPM2_ALG_SHA384, &aes128cfb, SEED, 32, name, 34, plain, sizeof(plain),
                                   blob, &blen), 0);
    assert_int_equal(blob[1], 48);
    olen = sizeof(out);
    assert_int_equal(vt_outer_unwrap(TPM2_ALG_SHA384, &aes128cfb, SEED, 32, name, 34, blob, blen, out, &olen), 0);
    assert_memory_equal(out, plain, sizeof(plain));
    /* ...which a SHA-256 parent refuses (integrity size 48, not 32) */
    assert_int_equal(unwrap(&aes128cfb, SEED, name, 34, blob, blen, out, &olen), TPM2_RC_INTEGRITY);
}

/* A storage parent as vt_sensitive_wrap needs it (nothing loaded). */
static void fake_parent(vt_object *p, const TPMT_SYM_DEF_OBJECT *sym)
{
    memset(p, 0, sizeof(*p));
    p->used = true;
    p->has_sensitive = true;
    p->pub = storage_tmpl();
    p->pub.parameters.eccDetail.symmetric = *sym;
    p->sens.sensitiveType = TPM2_ALG_ECC;
    p->sens.seedValue.size = 32;
    memcpy(p->sens.seedValue.buffer, SEED, 32);
}

static void sensitive_wrap_refuses_garbage(void **state)
{
    static const TPMT_SYM_DEF_OBJECT aes256cfb = { TPM2_ALG_AES, { .aes = 256 }, { .aes = TPM2_ALG_CFB } };
    vt_object parent;
    TPMT_SENSITIVE s, back;
    TPM2B_PRIVATE priv;
    uint8_t name[34], plain[256], blob[512];
    size_t blen, i;

    (void)state;
    test_name(name);
    fake_parent(&parent, &aes128cfb);
    memset(&s, 0, sizeof(s));
    s.sensitiveType = TPM2_ALG_KEYEDHASH;
    s.authValue.size = 4;
    memcpy(s.authValue.buffer, "pass", 4);
    s.seedValue.size = 32;
    memset(s.seedValue.buffer, 0x42, 32);
    s.sensitive.bits.size = 6;
    memcpy(s.sensitive.bits.buffer, "secret", 6);

    /* round trip */
    assert_int_equal(vt_sensitive_wrap(&parent, &s, name, 34, &priv), 0);
    memset(&back, 0xEE, sizeof(back));
    assert_int_equal(vt_sensitive_unwrap(&parent, &priv, name, 34, &back), 0);
    assert_int_equal(back.sensitiveType, TPM2_ALG_KEYEDHASH);
    assert_int_equal(back.authValue.size, 4);
    assert_memory_equal(back.authValue.buffer, "pass", 4);
    assert_int_equal(back.sensitive.bits.size, 6);
    assert_memory_equal(back.sensitive.bits.buffer, "secret", 6);
    /* another name, another parent seed, a cut blob */
    name[5] ^= 1;
    assert_int_equal(vt_sensitive_unwrap(&parent, &priv, name, 34, &back), TPM2_RC_INTEGRITY);
    name[5] ^= 1;
    parent.sens.seedValue.buffer[0] ^= 1;
    assert_int_equal(vt_sensitive_unwrap(&parent, &priv, name, 34, &back), TPM2_RC_INTEGRITY);
    parent.sens.seedValue.buffer[0] ^= 1;
    priv.size--;
    assert_int_equal(vt_sensitive_unwrap(&parent, &priv, name, 34, &back), TPM2_RC_INTEGRITY);
    priv.size++;

    /* The HMAC is right but what it protects is not a TPM2B_SENSITIVE:
     * made with the parent's own seed, so only the parser stands between
     * the octets and the object. */
    {
        struct {
            size_t len;
            uint8_t fill;
            int kind; /* 0 fill, 1 size too big, 2 valid + trailing octet, 3 size 0 */
        } cases[] = { { 0, 0, 0 }, { 1, 0, 0 }, { 64, 0xFF, 0 }, { 64, 0x00, 0 }, { 40, 0, 1 },
                      { 0, 0, 2 }, { 2, 0, 3 } };
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            size_t n = cases[i].len;
            memset(plain, cases[i].fill, sizeof(plain));
            if (cases[i].kind == 1) {
                plain[0] = 0x00;
                plain[1] = 0xF0; /* claims 240 octets, 38 follow */
            } else if (cases[i].kind == 2) {
                size_t off = 2;
                assert_int_equal(Tss2_MU_TPMT_SENSITIVE_Marshal(&s, plain, sizeof(plain), &off), 0);
                plain[0] = (uint8_t)((off - 2) >> 8);
                plain[1] = (uint8_t)(off - 2);
                plain[off] = 0x00;
                n = off + 1;
            } else if (cases[i].kind == 3) {
                plain[0] = plain[1] = 0; /* an empty TPM2B_SENSITIVE */
            }
            blen = sizeof(blob);
            assert_int_equal(vt_outer_wrap(parent.pub.nameAlg, &aes128cfb, SEED, 32, name, 34, plain, n,
                                           blob, &blen), 0);
            assert_true(blen <= sizeof(priv.buffer));
            priv.size = (uint16_t)blen;
            memcpy(priv.buffer, blob, blen);
            if (vt_sensitive_unwrap(&parent, &priv, name, 34, &back) == 0)
                fail_msg("garbage case %u (%zu octets) unwrapped", (unsigned)i, n);
        }
    }
    /* a parent with another symmetric key (same seed and name): the HMAC
     * holds, the decryption gives garbage, the parse refuses it */
    assert_int_equal(vt_sensitive_wrap(&parent, &s, name, 34, &priv), 0);
    fake_parent(&parent, &aes256cfb);
    assert_int_not_equal(vt_sensitive_unwrap(&parent, &priv, name, 34, &back), 0);
}

/* ============================================== vt_public_check rules */

static void public_check_rules(void **state)
{
    TPMT_PUBLIC t;
    vt_object parent;

    (void)state;
    t = storage_tmpl();
    assert_int_equal(vt_public_check(&t, NULL, true), 0);
    t = sign_tmpl();
    assert_int_equal(vt_public_check(&t, NULL, false), 0);
    t = rsa_storage_tmpl();
    assert_int_equal(vt_public_check(&t, NULL, true), 0);
    t = seal_tmpl(SEAL_ATTRS);
    assert_int_equal(vt_public_check(&t, NULL, false), 0);

    /* fixedTPM without fixedParent */
    t = sign_tmpl();
    t.objectAttributes &= ~TPMA_OBJECT_FIXEDPARENT;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_ATTRIBUTES);
    /* restricted with both sign and decrypt, and with neither */
    t = storage_tmpl();
    t.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_ATTRIBUTES);
    t = storage_tmpl();
    t.objectAttributes &= ~TPMA_OBJECT_DECRYPT;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_ATTRIBUTES);
    /* a storage key without a symmetric algorithm */
    t = storage_tmpl();
    t.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_SYMMETRIC);
    t = rsa_storage_tmpl();
    t.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_SYMMETRIC);
    /* ...and a signing key with one */
    t = sign_tmpl();
    t.parameters.eccDetail.symmetric = aes128cfb;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_SYMMETRIC);
    /* bad RSA key sizes: TPMI_RSA_KEY_BITS is an interface type whose
     * bad values are TPM_RC_VALUE (Part 2, TPMI_RSA_KEY_BITS table; swtpm
     * agrees), not TPM_RC_KEY_SIZE */
    t = rsa_storage_tmpl();
    t.parameters.rsaDetail.keyBits = 1000;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_VALUE);
    t.parameters.rsaDetail.keyBits = 0;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_VALUE);
    t.parameters.rsaDetail.keyBits = 8192;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_VALUE);
    /* storage symmetric key size: TPMI_AES_KEY_BITS, the same */
    t = storage_tmpl();
    t.parameters.eccDetail.symmetric.keyBits.aes = 64;
    assert_int_equal(vt_public_check(&t, NULL, true), TPM2_RC_VALUE);
    /* unknown curve */
    t = sign_tmpl();
    t.parameters.eccDetail.curveID = 0x0099;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_CURVE);
    /* unknown type, unknown nameAlg, reserved attribute bits */
    t = sign_tmpl();
    t.type = 0x0099;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_TYPE);
    t = sign_tmpl();
    t.nameAlg = TPM2_ALG_NULL;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_HASH);
    t = sign_tmpl();
    t.objectAttributes |= 0x8u;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_RESERVED_BITS);
    /* authPolicy neither empty nor a nameAlg digest */
    t = sign_tmpl();
    t.authPolicy.size = 20;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_SIZE);
    /* a restricted signing key needs a scheme */
    t = sign_tmpl();
    t.objectAttributes |= TPMA_OBJECT_RESTRICTED;
    t.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    assert_int_equal(vt_public_check(&t, NULL, false), TPM2_RC_SCHEME);
    /* a fixedTPM child of a parent that is not fixedTPM */
    fake_parent(&parent, &aes128cfb);
    parent.pub.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
    t = sign_tmpl();
    assert_int_equal(vt_public_check(&t, &parent, false), TPM2_RC_ATTRIBUTES);
    t.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
    assert_int_equal(vt_public_check(&t, &parent, false), 0);
    /* a sealed object that is restricted */
    t = seal_tmpl(SEAL_ATTRS | TPMA_OBJECT_RESTRICTED);
    assert_int_not_equal(vt_public_check(&t, NULL, false), 0);
}

/* The same rules through the commands: the code comes with P2 (inPublic),
 * and the data/sensitiveDataOrigin rule of Part 3 §12.1. */
static void template_errors_through_commands(void **state)
{
    TPMT_PUBLIC t;
    obj prim;
    static const uint8_t data[8] = "12345678";

    (void)state;
    t = sign_tmpl();
    t.objectAttributes &= ~TPMA_OBJECT_FIXEDPARENT;
    assert_int_equal(create_primary_rc(OWNER, &t, NULL), VT_RC_P(TPM2_RC_ATTRIBUTES, 2));
    t = storage_tmpl();
    t.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
    assert_int_equal(create_primary_rc(OWNER, &t, NULL), VT_RC_P(TPM2_RC_ATTRIBUTES, 2));
    t = storage_tmpl();
    t.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    assert_int_equal(create_primary_rc(OWNER, &t, NULL), VT_RC_P(TPM2_RC_SYMMETRIC, 2));
    t = rsa_storage_tmpl();
    t.parameters.rsaDetail.keyBits = 1000;
    assert_int_equal(create_primary_rc(OWNER, &t, NULL), VT_RC_P(TPM2_RC_VALUE, 2));
    t = sign_tmpl();
    t.parameters.eccDetail.curveID = 0x0099;
    assert_int_equal(create_primary_rc(OWNER, &t, NULL), VT_RC_P(TPM2_RC_CURVE, 2));


    /* sensitiveDataOrigin SET and data given (sealed data), CLEAR and no
     * data (the TPM would seal nothing), data for an asymmetric key */
    t = storage_tmpl();
    prim = primary(OWNER, &t);
    t = seal_tmpl(SEAL_ATTRS | TPMA_OBJECT_SENSITIVEDATAORIGIN);
    assert_int_equal(create_rc(prim.handle, &t, NULL, data, sizeof(data), NULL),
                     VT_RC_P(TPM2_RC_ATTRIBUTES, 2));
    t = seal_tmpl(SEAL_ATTRS);
    assert_int_equal(create_rc(prim.handle, &t, NULL, data, sizeof(data), NULL), 0); /* control */
    t = sign_tmpl();
    t.objectAttributes &= ~TPMA_OBJECT_SENSITIVEDATAORIGIN;
    assert_int_equal(create_rc(prim.handle, &t, NULL, data, sizeof(data), NULL),
                     VT_RC_P(TPM2_RC_ATTRIBUTES, 2));
    /* a userAuth longer than the nameAlg digest: SIZE on inSensitive */
    t = sign_tmpl();
    assert_int_equal(create_rc(prim.handle, &t, "0123456789abcdef0123456789abcdefX", NULL, 0, NULL),
                     VT_RC_P(TPM2_RC_SIZE, 1));
    /* Create under a key that is not a storage parent */
    {
        obj k;
        t = sign_tmpl();
        k = create(prim.handle, &t, NULL, NULL, 0);
        assert_int_equal(load_rc(prim.handle, &k), 0);
        t = seal_tmpl(SEAL_ATTRS);
        assert_int_equal(create_rc(k.handle, &t, NULL, data, sizeof(data), NULL), VT_RC_H(TPM2_RC_TYPE, 1));
    }
}

/* ============================================================ primaries */

static void primaries_are_deterministic(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), tu = storage_tmpl();
    obj a, b, c, en, nu, x;
    TPM2B_NAME qn;

    (void)state;
    a = primary(OWNER, &t);
    b = primary(OWNER, &t);
    assert_int_not_equal(a.handle, b.handle);
    assert_same_public(&a.pub, &b.pub);
    assert_int_equal(a.name.size, 34);
    assert_memory_equal(a.name.name, b.name.name, 34);
    /* the Name is nameAlg || SHA-256(public area) */
    {
        uint8_t buf[sizeof(TPMT_PUBLIC)], d[32];
        size_t n = 0;
        assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&a.pub.publicArea, buf, sizeof(buf), &n), 0);
        assert_int_equal(vt_hash(TPM2_ALG_SHA256, buf, n, d), 32);
        assert_int_equal(a.name.name[0], 0x00);
        assert_int_equal(a.name.name[1], 0x0B);
        assert_memory_equal(a.name.name + 2, d, 32);
    }
    /* ReadPublic agrees; a primary's QN is H(handle || Name) */
    assert_int_equal(read_public(a.handle, NULL, &x.name, &qn), 0);
    assert_memory_equal(x.name.name, a.name.name, 34);
    {
        uint8_t owner[4] = { 0x40, 0, 0, 0x01 }, q[34];
        assert_int_equal(vt_qualified_name(TPM2_ALG_SHA256, owner, 4, a.name.name, 34, q), 34);
        assert_int_equal(qn.size, 34);
        assert_memory_equal(qn.name, q, 34);
    }
    /* different unique → a different key */
    tu.unique.ecc.x.size = 3;
    memcpy(tu.unique.ecc.x.buffer, "abc", 3);
    c = primary(OWNER, &tu);
    assert_false(same_ecc_point(&a.pub, &c.pub));
    /* another hierarchy → another key */
    en = primary(ENDORSE, &t);
    nu = primary(RHNULL, &t);
    assert_false(same_ecc_point(&a.pub, &en.pub));
    assert_false(same_ecc_point(&a.pub, &nu.pub));
    assert_false(same_ecc_point(&en.pub, &nu.pub));

    /* TPM Restart (Shutdown(STATE), Startup(CLEAR)): every hierarchy keeps
     * its seed, the null one included (Part 1 §14.5: a new null seed at
     * TPM Reset only) */
    assert_int_equal(shutdown_(TPM2_SU_STATE), 0);
    power_cycle(TPM2_SU_CLEAR);
    x = primary(OWNER, &t);
    assert_true(same_ecc_point(&a.pub, &x.pub));
    x = primary(RHNULL, &t);
    assert_true(same_ecc_point(&nu.pub, &x.pub));
    flush(x.handle);

    /* TPM Reset (power cycle, Startup(CLEAR)): owner and endorsement the
     * same, null new */
    power_cycle(TPM2_SU_CLEAR);
    x = primary(OWNER, &t);
    assert_true(same_ecc_point(&a.pub, &x.pub));
    assert_memory_equal(x.name.name, a.name.name, 34);
    x = primary(ENDORSE, &t);
    assert_true(same_ecc_point(&en.pub, &x.pub));
    x = primary(RHNULL, &t);
    assert_false(same_ecc_point(&nu.pub, &x.pub));
    nu = x;

    /* a new process from the saved state */
    reopen(TPM2_SU_CLEAR);
    x = primary(OWNER, &t);
    assert_true(same_ecc_point(&a.pub, &x.pub));
    x = primary(OWNER, &tu);
    assert_true(same_ecc_point(&c.pub, &x.pub));
    x = primary(ENDORSE, &t);
    assert_true(same_ecc_point(&en.pub, &x.pub));
    x = primary(RHNULL, &t);
    assert_false(same_ecc_point(&nu.pub, &x.pub));
}

/* RSA: the first derivation fills the primary cache; the same template
 * in a new engine (empty cache) must derive the very same modulus. */
static void rsa_primary_cache_is_deterministic(void **state)
{
    TPMT_PUBLIC t = rsa_storage_tmpl();
    obj a, b, c;

    (void)state;
    a = primary(OWNER, &t);
    assert_int_equal(a.pub.publicArea.unique.rsa.size, 256);
    b = primary(OWNER, &t); /* from the cache */
    assert_same_public(&a.pub, &b.pub);
    flush(a.handle);
    flush(b.handle);
    /* a different template is not served from the cache */
    t.unique.rsa.size = 1;
    t.unique.rsa.buffer[0] = 'x';
    c = primary(OWNER, &t);
    assert_memory_not_equal(a.pub.publicArea.unique.rsa.buffer, c.pub.publicArea.unique.rsa.buffer, 256);
    flush(c.handle);
    reopen(TPM2_SU_CLEAR); /* empty cache */
    t = rsa_storage_tmpl();
    b = primary(OWNER, &t);
    assert_same_public(&a.pub, &b.pub);
    /* the key works as a parent: the private half matches the modulus */
    {
        TPMT_PUBLIC s = seal_tmpl(SEAL_ATTRS);
        obj d = create(b.handle, &s, "", "rsa", 3);
        uint8_t out[16];
        size_t n;
        assert_int_equal(load_rc(b.handle, &d), 0);
        assert_int_equal(unseal(d.handle, "", out, &n), 0);
        assert_int_equal(n, 3);
        assert_memory_equal(out, "rsa", 3);
    }
}

/* ======================================================= Create + Load */

static void create_load_round_trip(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), t2 = storage_tmpl(), k = sign_tmpl(), s = seal_tmpl(SEAL_ATTRS);
    obj p, other, key, sealed, x;
    TPM2B_PUBLIC pub;
    TPM2B_NAME name, qn;
    uint8_t out[64];
    size_t n;

    (void)state;
    p = primary(OWNER, &t);
    t2.unique.ecc.x.size = 1;
    t2.unique.ecc.x.buffer[0] = 1;
    other = primary(OWNER, &t2);

    key = create(p.handle, &k, "", NULL, 0);
    assert_int_equal(load_rc(p.handle, &key), 0);
    assert_int_equal(read_public(key.handle, &pub, &name, &qn), 0);
    assert_same_public(&pub, &key.pub);
    assert_int_equal(name.size, key.name.size);
    assert_memory_equal(name.name, key.name.name, name.size);
    /* QN = H(parent QN || Name) */
    {
        TPM2B_NAME pqn;
        uint8_t q[34];
        assert_int_equal(read_public(p.handle, NULL, NULL, &pqn), 0);
        assert_int_equal(vt_qualified_name(TPM2_ALG_SHA256, pqn.name, pqn.size, name.name, name.size, q), 34);
        assert_memory_equal(qn.name, q, 34);
    }
    /* two Creates of one template give two different keys */
    x = create(p.handle, &k, "k", NULL, 0);
    assert_false(same_ecc_point(&x.pub, &key.pub));

    sealed = create(p.handle, &s, "pw", "the secret", 10);
    assert_int_equal(load_rc(p.handle, &sealed), 0);
    assert_int_equal(unseal(sealed.handle, "pw", out, &n), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "the secret", 10);

    /* under the wrong parent */
    assert_int_equal(load_rc(other.handle, &sealed), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    /* a modified public area: attributes, unique, authPolicy */
    {
        TPM2B_PUBLIC mod = sealed.pub;
        mod.publicArea.objectAttributes &= ~TPMA_OBJECT_NODA;
        assert_int_equal(load_raw(p.handle, &sealed.priv, &mod, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
        mod = sealed.pub;
        mod.publicArea.unique.keyedHash.buffer[0] ^= 1;
        assert_int_equal(load_raw(p.handle, &sealed.priv, &mod, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
        mod = sealed.pub;
        mod.publicArea.authPolicy.size = 32;
        assert_int_equal(load_raw(p.handle, &sealed.priv, &mod, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
        mod = key.pub;
        mod.publicArea.unique.ecc.y.buffer[5] ^= 0x10;
        assert_int_equal(load_raw(p.handle, &key.priv, &mod, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    }
    /* a modified private area: every octet, one at a time */
    {
        TPM2B_PRIVATE bad;
        unsigned i;
        for (i = 0; i < sealed.priv.size; i++) {
            bad = sealed.priv;
            bad.buffer[i] ^= 0x01;
            /* octet 0 makes the integrity size 0x0120: no digest is that
             * long, TPM_RC_SIZE (swtpm answers the same) */
            assert_int_equal(load_raw(p.handle, &bad, &sealed.pub, NULL),
                             VT_RC_P(i == 0 ? TPM2_RC_SIZE : TPM2_RC_INTEGRITY, 1));
        }
        bad = sealed.priv;
        bad.size = 2 + 32; /* the HMAC and nothing it protects */
        assert_int_equal(load_raw(p.handle, &bad, &sealed.pub, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
        bad.size = 0;
        assert_int_not_equal(load_raw(p.handle, &bad, &sealed.pub, NULL), 0);
        /* the private part of another object with this public area */
        assert_int_equal(load_raw(p.handle, &key.priv, &sealed.pub, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    }
    /* Load under something that is not a storage parent */
    assert_int_equal(load_rc(key.handle, &sealed), VT_RC_H(TPM2_RC_TYPE, 1));
    /* Load under a handle that is not loaded */
    assert_int_equal(load_raw(0x80FFFFF0u, &sealed.priv, &sealed.pub, NULL), TPM2_RC_REFERENCE_H0);
    /* the same private loads twice (two slots) */
    x = sealed;
    assert_int_equal(load_rc(p.handle, &x), 0);
    assert_int_not_equal(x.handle, sealed.handle);
}

static void slots_fill_and_flush_frees(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), s = seal_tmpl(SEAL_ATTRS);
    obj p, d;
    uint32_t h[VT_MAX_OBJECTS];
    unsigned i, loaded = 1;

    (void)state;
    p = primary(OWNER, &t);
    d = create(p.handle, &s, "", "x", 1);
    for (i = 0; i + 1 < VT_MAX_OBJECTS; i++) {
        assert_int_equal(load_rc(p.handle, &d), 0);
        h[i] = d.handle;
        loaded++;
    }
    assert_int_equal(loaded, VT_MAX_OBJECTS);
    assert_int_equal(load_rc(p.handle, &d), TPM2_RC_OBJECT_MEMORY);
    assert_int_equal(create_primary_rc(OWNER, &t, NULL), TPM2_RC_OBJECT_MEMORY);
    /* FlushContext frees one slot; the flushed handle is gone */
    assert_int_equal(flush(h[3]), 0);
    assert_int_equal(read_public(h[3], NULL, NULL, NULL), TPM2_RC_REFERENCE_H0);
    assert_int_equal(unseal(h[3], "", NULL, NULL), TPM2_RC_REFERENCE_H0);
    assert_int_equal(flush(h[3]), VT_RC_P(TPM2_RC_HANDLE, 1));
    assert_int_equal(load_rc(p.handle, &d), 0);
    assert_int_equal(load_rc(p.handle, &d), TPM2_RC_OBJECT_MEMORY);
    /* the others still work */
    assert_int_equal(unseal(h[0], "", NULL, NULL), 0);
    /* flushing the parent leaves the children loaded and usable */
    assert_int_equal(flush(p.handle), 0);
    assert_int_equal(unseal(h[1], "", NULL, NULL), 0);
    /* FlushContext of a persistent handle, of a permanent one */
    assert_int_equal(flush(0x81000000u), VT_RC_P(TPM2_RC_VALUE, 1));
    assert_int_equal(flush(OWNER), VT_RC_P(TPM2_RC_VALUE, 1));
}

/* ============================================ ContextSave / ContextLoad */

static void context_round_trip_and_tamper(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), s = seal_tmpl(SEAL_ATTRS);
    obj p, d;
    TPMS_CONTEXT ctx, bad;
    TPM2B_NAME n1, q1, n2, q2;
    uint32_t h;
    uint8_t out[32];
    size_t n;
    unsigned i;

    (void)state;
    p = primary(OWNER, &t);
    d = create(p.handle, &s, "pw", "ctx data", 8);
    assert_int_equal(load_rc(p.handle, &d), 0);
    assert_int_equal(read_public(d.handle, NULL, &n1, &q1), 0);
    assert_int_equal(context_save(d.handle, &ctx), 0);
    assert_int_equal(ctx.hierarchy, OWNER);
    assert_int_equal(flush(d.handle), 0);
    /* the blob does not carry the secret in the clear */
    for (i = 0; i + 8 <= ctx.contextBlob.size; i++)
        assert_memory_not_equal(ctx.contextBlob.buffer + i, "ctx data", 8);
    assert_int_equal(context_load(&ctx, &h), 0);
    assert_int_equal(read_public(h, NULL, &n2, &q2), 0);
    assert_memory_equal(n1.name, n2.name, n1.size);
    assert_int_equal(q1.size, q2.size);
    assert_memory_equal(q1.name, q2.name, q1.size);
    assert_int_equal(unseal(h, "pw", out, &n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "ctx data", 8);
    /* a context loads again (the object was not flushed in between) */
    {
        uint32_t h2;
        assert_int_equal(context_load(&ctx, &h2), 0);
        assert_int_not_equal(h2, h);
        assert_int_equal(flush(h2), 0);
    }
    assert_int_equal(flush(h), 0);
    /* a primary round-trips too, and still works as a parent */
    {
        TPMS_CONTEXT pc;
        uint32_t ph;
        obj d2 = d;
        assert_int_equal(context_save(p.handle, &pc), 0);
        assert_int_equal(flush(p.handle), 0);
        assert_int_equal(context_load(&pc, &ph), 0);
        assert_int_equal(load_rc(ph, &d2), 0);
        assert_int_equal(unseal(d2.handle, "pw", NULL, NULL), 0);
        assert_int_equal(flush(d2.handle), 0);
        assert_int_equal(flush(ph), 0);
    }

    /* one octet changed anywhere past the integrity size field */
    for (i = 2; i < ctx.contextBlob.size; i++) {
        bad = ctx;
        bad.contextBlob.buffer[i] ^= 0x04;
        assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    }
    /* the clear fields are covered too */
    bad = ctx;
    bad.sequence ^= 1;
    assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    bad = ctx;
    bad.hierarchy = ENDORSE;
    assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    bad = ctx;
    bad.hierarchy = RHNULL;
    assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    /* truncated, or grown */
    bad = ctx;
    bad.contextBlob.size--;
    assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    bad = ctx;
    bad.contextBlob.buffer[bad.contextBlob.size++] = 0;
    assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    for (i = 0; i < 34; i++) {
        bad = ctx;
        bad.contextBlob.size = (uint16_t)i;
        assert_int_not_equal(context_load(&bad, NULL), 0);
    }
    /* a hierarchy that is not one */
    bad = ctx;
    bad.hierarchy = TPM2_RH_LOCKOUT; /* TPMI_RH_HIERARCHY+: TPM_RC_VALUE */
    assert_int_equal(context_load(&bad, NULL), VT_RC_P(TPM2_RC_VALUE, 1));
    /* nothing was loaded by all that */
    assert_int_equal(vt_objects_loaded(E), 0);
    /* the good one still loads */
    assert_int_equal(context_load(&ctx, &h), 0);
    /* ContextSave of a persistent handle: TPMI_DH_SAVED does not take it */
    assert_int_equal(context_save(0x81000001u, &bad), VT_RC_H(TPM2_RC_VALUE, 1));
}

static void context_lifetimes(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), s = seal_tmpl(SEAL_ATTRS),
                sc = seal_tmpl(SEAL_ATTRS | TPMA_OBJECT_STCLEAR);
    obj po, pn, d, dc;
    TPMS_CONTEXT c_owner, c_null, c_stclear, c_prim_null;
    uint32_t h;

    (void)state;
    po = primary(OWNER, &t);
    pn = primary(RHNULL, &t);
    d = create(pn.handle, &s, "", "n", 1);
    assert_int_equal(load_rc(pn.handle, &d), 0);
    assert_int_equal(context_save(d.handle, &c_null), 0);
    assert_int_equal(c_null.hierarchy, RHNULL);
    assert_int_equal(context_save(pn.handle, &c_prim_null), 0);
    d = create(po.handle, &s, "", "o", 1);
    assert_int_equal(load_rc(po.handle, &d), 0);
    assert_int_equal(context_save(d.handle, &c_owner), 0);
    dc = create(po.handle, &sc, "", "c", 1);
    assert_int_equal(load_rc(po.handle, &dc), 0);
    assert_int_equal(context_save(dc.handle, &c_stclear), 0);
    assert_int_equal(flush(dc.handle), 0);
    assert_int_equal(flush(d.handle), 0);

    /* TPM Resume (Shutdown(STATE), Startup(STATE)): every context loads,
     * the stClear one too (Part 2 §8.3.3.2 stClear: only Startup(CLEAR)
     * invalidates it) */
    assert_int_equal(shutdown_(TPM2_SU_STATE), 0);
    power_cycle(TPM2_SU_STATE);
    assert_int_equal(context_load(&c_owner, &h), 0);
    assert_int_equal(flush(h), 0);
    assert_int_equal(context_load(&c_null, &h), 0);
    assert_int_equal(flush(h), 0);
    assert_int_equal(context_load(&c_stclear, &h), 0);
    assert_int_equal(flush(h), 0);

    /* TPM Restart (Shutdown(STATE), Startup(CLEAR)): the stClear context
     * is dead, the others live */
    assert_int_equal(shutdown_(TPM2_SU_STATE), 0);
    power_cycle(TPM2_SU_CLEAR);
    assert_int_equal(context_load(&c_stclear, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    assert_int_equal(context_load(&c_owner, &h), 0);
    assert_int_equal(flush(h), 0);
    assert_int_equal(context_load(&c_null, &h), 0);
    assert_int_equal(flush(h), 0);

    /* TPM Reset (power cycle, Startup(CLEAR)): no saved object context
     * outlives it (Part 1 §30; swtpm agrees), the owner's included */
    power_cycle(TPM2_SU_CLEAR);
    assert_int_equal(context_load(&c_owner, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    assert_int_equal(context_load(&c_null, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    assert_int_equal(context_load(&c_prim_null, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    assert_int_equal(context_load(&c_stclear, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));

    /* a new process from the saved state: the same */
    reopen(TPM2_SU_CLEAR);
    assert_int_equal(context_load(&c_owner, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    assert_int_equal(context_load(&c_null, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
    assert_int_equal(context_load(&c_stclear, NULL), VT_RC_P(TPM2_RC_INTEGRITY, 1));
}

/* ========================================================= EvictControl */

static void evict_control(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), s = seal_tmpl(SEAL_ATTRS);
    obj p, d, nul, x;
    TPM2B_PUBLIC pub;
    TPM2B_NAME name, qn, qn0;
    unsigned i, n;

    (void)state;
    p = primary(OWNER, &t);
    d = create(p.handle, &s, "", "persisted", 9);
    assert_int_equal(read_public(p.handle, NULL, NULL, &qn0), 0);

    /* the handle is in the platform's range */
    assert_int_equal(evict(OWNER, p.handle, 0x81800000u), VT_RC_P(TPM2_RC_RANGE, 1));
    assert_int_equal(evict(OWNER, p.handle, 0x81FFFFFFu), VT_RC_P(TPM2_RC_RANGE, 1));
    /* not a persistent handle at all */
    assert_int_equal(evict(OWNER, p.handle, 0x80000001u), VT_RC_P(TPM2_RC_VALUE, 1));
    assert_int_equal(evict(OWNER, p.handle, 0x01000001u), VT_RC_P(TPM2_RC_VALUE, 1));
    /* a null-hierarchy object, an stClear one cannot be persisted:
     * TPM_RC_ATTRIBUTES on objectHandle (as swtpm answers) */
    nul = primary(RHNULL, &t);
    assert_int_equal(evict(OWNER, nul.handle, 0x81000009u), VT_RC_H(TPM2_RC_ATTRIBUTES, 2));
    flush(nul.handle);
    {
        TPMT_PUBLIC sc = seal_tmpl(SEAL_ATTRS | TPMA_OBJECT_STCLEAR);
        obj st = create(p.handle, &sc, "", "s", 1);
        assert_int_equal(load_rc(p.handle, &st), 0);
        assert_int_equal(evict(OWNER, st.handle, 0x81000009u), VT_RC_H(TPM2_RC_ATTRIBUTES, 2));
        flush(st.handle);
    }
    /* the platform cannot persist an owner object */
    assert_int_equal(evict(PLATFORM, p.handle, 0x81800001u), VT_RC_H(TPM2_RC_HIERARCHY, 2));

    assert_int_equal(vt_objects_persistent(E), 0);
    tp.commits = 0;
    assert_int_equal(evict(OWNER, p.handle, 0x81000001u), 0);
    assert_true(tp.commits >= 1); /* durable before the answer */
    assert_int_equal(vt_objects_persistent(E), 1);
    assert_int_equal(read_public(0x81000001u, &pub, &name, &qn), 0);
    assert_same_public(&pub, &p.pub);
    assert_memory_equal(name.name, p.name.name, 34);
    assert_memory_equal(qn.name, qn0.name, 34);
    /* the transient object is still there */
    assert_int_equal(read_public(p.handle, NULL, NULL, NULL), 0);
    /* the handle is taken, by any object */
    assert_int_equal(evict(OWNER, p.handle, 0x81000001u), TPM2_RC_NV_DEFINED);
    x = primary(ENDORSE, &t);
    assert_int_equal(evict(OWNER, x.handle, 0x81000001u), TPM2_RC_NV_DEFINED);
    flush(x.handle);
    /* evict with a handle that is not the object's: TPM_RC_HANDLE on
     * objectHandle (as swtpm answers) */
    assert_int_equal(evict(OWNER, 0x81000001u, 0x81000002u), VT_RC_H(TPM2_RC_HANDLE, 2));
    /* a persistent handle is not a context to save */
    assert_int_equal(cmd(TPM2_CC_ContextSave, (uint32_t[]){ 0x81000001u }, 1, 0, NULL, NULL),
                     VT_RC_H(TPM2_RC_VALUE, 1));

    /* the persistent parent works as a parent */
    assert_int_equal(load_rc(0x81000001u, &d), 0);
    assert_int_equal(unseal(d.handle, "", NULL, NULL), 0);

    /* a new process from the store: still there, still the same key */
    reopen(TPM2_SU_CLEAR);
    assert_int_equal(vt_objects_persistent(E), 1);
    assert_int_equal(vt_objects_loaded(E), 0);
    assert_int_equal(read_public(0x81000001u, &pub, &name, &qn), 0);
    assert_same_public(&pub, &p.pub);
    assert_memory_equal(name.name, p.name.name, 34);
    assert_memory_equal(qn.name, qn0.name, 34);
    {
        uint8_t out[16];
        size_t len;
        obj d2 = d;
        assert_int_equal(load_rc(0x81000001u, &d2), 0);
        assert_int_equal(unseal(d2.handle, "", out, &len), 0);
        assert_int_equal(len, 9);
        assert_memory_equal(out, "persisted", 9);
    }

    /* evict */
    assert_int_equal(evict(OWNER, 0x81000001u, 0x81000001u), 0);
    assert_int_equal(vt_objects_persistent(E), 0);
    assert_int_equal(read_public(0x81000001u, NULL, NULL, NULL), VT_RC_H(TPM2_RC_HANDLE, 1));
    assert_int_equal(evict(OWNER, 0x81000001u, 0x81000001u), VT_RC_H(TPM2_RC_HANDLE, 2));
    reopen(TPM2_SU_CLEAR);
    assert_int_equal(read_public(0x81000001u, NULL, NULL, NULL), VT_RC_H(TPM2_RC_HANDLE, 1));

    /* full */
    p = primary(OWNER, &t);
    for (n = 0; n < VT_MAX_PERSISTENT; n++)
        assert_int_equal(evict(OWNER, p.handle, 0x81000100u + n), 0);
    assert_int_equal(evict(OWNER, p.handle, 0x81000100u + n), TPM2_RC_NV_SPACE);
    assert_int_equal(vt_objects_persistent(E), VT_MAX_PERSISTENT);
    reopen(TPM2_SU_CLEAR);
    assert_int_equal(vt_objects_persistent(E), VT_MAX_PERSISTENT);
    for (i = 0; i < VT_MAX_PERSISTENT; i++)
        assert_int_equal(read_public(0x81000100u + i, NULL, NULL, NULL), 0);
    /* evicting one makes room */
    assert_int_equal(evict(OWNER, 0x81000105u, 0x81000105u), 0);
    p = primary(OWNER, &t);
    assert_int_equal(evict(OWNER, p.handle, 0x81000200u), 0);
    assert_int_equal(evict(OWNER, p.handle, 0x81000201u), TPM2_RC_NV_SPACE);

    /* the platform persists a platform object in its range, and the owner
     * may not evict it */
    for (i = 0; i < 2; i++)
        assert_int_equal(evict(OWNER, 0x81000100u + i, 0x81000100u + i), 0);
    x = primary(PLATFORM, &t);
    /* ...in its range only */
    assert_int_equal(evict(PLATFORM, x.handle, 0x81000400u), VT_RC_P(TPM2_RC_RANGE, 1));
    assert_int_equal(evict(PLATFORM, x.handle, 0x81800001u), 0);
    /* the owner may not touch it: the hierarchy is checked before the
     * range (swtpm's order) */
    assert_int_equal(evict(OWNER, 0x81800001u, 0x81800001u), VT_RC_H(TPM2_RC_HIERARCHY, 2));
    assert_int_equal(evict(OWNER, x.handle, 0x81000300u), VT_RC_H(TPM2_RC_HIERARCHY, 2));
    assert_int_equal(evict(PLATFORM, 0x81800001u, 0x81800001u), 0);
    /* the platform may evict any persistent object, an owner's too
     * (Part 3 §28.5) */
    assert_int_equal(evict(PLATFORM, 0x81000107u, 0x81000107u), 0);
    assert_int_equal(read_public(0x81000107u, NULL, NULL, NULL), VT_RC_H(TPM2_RC_HANDLE, 1));
}

/* ============================================= Unseal, ObjectChangeAuth */

static void unseal_and_change_auth(void **state)
{
    TPMT_PUBLIC t = storage_tmpl(), t2 = storage_tmpl(), s = seal_tmpl(SEAL_ATTRS), k = sign_tmpl();
    obj p, other, sealed, key, hm, nouser, admin;
    TPM2B_PRIVATE np;
    uint8_t out[32];
    size_t n;

    (void)state;
    p = primary(OWNER, &t);
    t2.unique.ecc.x.size = 1;
    t2.unique.ecc.x.buffer[0] = 2;
    other = primary(OWNER, &t2);
    sealed = create(p.handle, &s, "old", "data", 4);
    assert_int_equal(load_rc(p.handle, &sealed), 0);
    key = create(p.handle, &k, "", NULL, 0);
    assert_int_equal(load_rc(p.handle, &key), 0);

    /* Unseal of what is not sealed data */
    assert_int_equal(unseal(key.handle, "", NULL, NULL), VT_RC_H(TPM2_RC_TYPE, 1));
    assert_int_equal(unseal(p.handle, "", NULL, NULL), VT_RC_H(TPM2_RC_TYPE, 1));
    {
        TPMT_PUBLIC h = seal_tmpl(SEAL_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT);
        h.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
        h.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
        h.objectAttributes |= TPMA_OBJECT_SENSITIVEDATAORIGIN;
        hm = create(p.handle, &h, "", NULL, 0);
        assert_int_equal(load_rc(p.handle, &hm), 0);
        assert_int_equal(unseal(hm.handle, "", NULL, NULL), VT_RC_H(TPM2_RC_ATTRIBUTES, 1));
    }
    /* the wrong password (noDA: BAD_AUTH on session 1) */
    assert_int_equal(unseal(sealed.handle, "wrong", NULL, NULL), VT_RC_S(TPM2_RC_BAD_AUTH, 1));

    /* userWithAuth CLEAR: no password in the USER role */
    {
        TPMT_PUBLIC u = seal_tmpl(SEAL_ATTRS & ~TPMA_OBJECT_USERWITHAUTH);
        nouser = create(p.handle, &u, "", "u", 1);
        assert_int_equal(load_rc(p.handle, &nouser), 0);
        assert_int_equal(unseal(nouser.handle, "", NULL, NULL), TPM2_RC_AUTH_UNAVAILABLE);
    }

    /* ObjectChangeAuth: the wrong parent, not a parent, too long */
    assert_int_equal(change_auth(sealed.handle, other.handle, "old", "new", &np), VT_RC_H(TPM2_RC_TYPE, 2));
    assert_int_equal(change_auth(sealed.handle, key.handle, "old", "new", &np), VT_RC_H(TPM2_RC_TYPE, 2));
    assert_int_equal(change_auth(sealed.handle, p.handle, "old", "0123456789abcdef0123456789abcdefX", &np),
                     VT_RC_P(TPM2_RC_SIZE, 1));
    /* ...with the wrong password */
    assert_int_equal(change_auth(sealed.handle, p.handle, "bad", "new", &np), VT_RC_S(TPM2_RC_BAD_AUTH, 1));
    /* the control: a new private with the new authValue */
    assert_int_equal(change_auth(sealed.handle, p.handle, "old", "new", &np), 0);
    assert_int_not_equal(np.size, 0);
    /* the loaded object keeps its old authValue */
    assert_int_equal(unseal(sealed.handle, "old", NULL, NULL), 0);
    {
        TPM2B_PRIVATE oldp = sealed.priv;
        sealed.priv = np;
        assert_int_equal(load_rc(p.handle, &sealed), 0);
        assert_int_equal(unseal(sealed.handle, "new", out, &n), 0);
        assert_int_equal(n, 4);
        assert_memory_equal(out, "data", 4);
        assert_int_equal(unseal(sealed.handle, "old", NULL, NULL), VT_RC_S(TPM2_RC_BAD_AUTH, 1));
        /* the new private does not load under another parent */
        assert_int_equal(load_rc(other.handle, &sealed), VT_RC_P(TPM2_RC_INTEGRITY, 1));
        sealed.priv = oldp;
    }
    /* ObjectChangeAuth of a primary: its parent is a hierarchy, never an
     * object */
    assert_int_equal(change_auth(p.handle, other.handle, "", "x", &np), VT_RC_H(TPM2_RC_TYPE, 2));

    /* adminWithPolicy SET: ObjectChangeAuth (ADMIN role) takes no
     * password; userWithAuth does not matter there */
    {
        TPMT_PUBLIC a = seal_tmpl(SEAL_ATTRS | TPMA_OBJECT_ADMINWITHPOLICY);
        a.authPolicy.size = 32; /* a policy no session can satisfy */
        memset(a.authPolicy.buffer, 0xAB, 32);
        admin = create(p.handle, &a, "pw", "a", 1);
        assert_int_equal(load_rc(p.handle, &admin), 0);
        /* a policy session is required: a password is the wrong kind of
         * session, TPM_RC_AUTH_TYPE (swtpm), not AUTH_UNAVAILABLE */
        assert_int_equal(change_auth(admin.handle, p.handle, "pw", "new", &np), TPM2_RC_AUTH_TYPE);
        /* the USER role still takes the password */
        assert_int_equal(unseal(admin.handle, "pw", NULL, NULL), 0);
        /* and adminWithPolicy CLEAR with userWithAuth CLEAR: ADMIN role
         * takes the password */
        assert_int_equal(change_auth(nouser.handle, p.handle, "", "new", &np), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outer_wrap_round_trip_and_tamper),
        cmocka_unit_test(sensitive_wrap_refuses_garbage),
        cmocka_unit_test(public_check_rules),
        cmocka_unit_test_setup_teardown(template_errors_through_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(primaries_are_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(rsa_primary_cache_is_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(create_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(slots_fill_and_flush_frees, setup, teardown),
        cmocka_unit_test_setup_teardown(context_round_trip_and_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(context_lifetimes, setup, teardown),
        cmocka_unit_test_setup_teardown(evict_control, setup, teardown),
        cmocka_unit_test_setup_teardown(unseal_and_change_auth, setup, teardown),
    };
    assert_int_equal(vt_crypto_init(), 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
