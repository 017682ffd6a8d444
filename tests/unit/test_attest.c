/* Attestation (TPM 2.0 Part 3 §18, §31.16): the TPMS_ATTEST header and its
 * obfuscation rule (Part 3 §18.1), the marshalled form, and Quote /
 * Certify / CertifyCreation / GetTime through the engine with a real
 * signing key, signatures checked with OpenSSL. */
#include "helpers.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "vitrum/version.h"

#define ST_NO 0x8001
#define ST_S 0x8002
#define RH_NULL 0x40000007u
#define ENDORSEMENT 0x4000000Bu
#define OWNER 0x40000001u
#define FW ((uint64_t)VITRUM_FW_VERSION_1 << 32 | VITRUM_FW_VERSION_2)

static test_platform tp;
static vt_engine *E;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
static size_t rsp_len;

static int setup(void **state)
{
    (void)state;
    memset(&tp, 0, sizeof(tp));
    tp.now_ms = 1000;
    E = started_engine(&tp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_engine_free(E);
    return 0;
}

static uint32_t exec(frame *f)
{
    f_done(f);
    return run(E, f, rsp, &rsp_len);
}

static vt_object fake_key(TPMI_RH_HIERARCHY h, uint8_t tag)
{
    vt_object o;
    memset(&o, 0, sizeof(o));
    o.used = true;
    o.hierarchy = h;
    o.has_sensitive = true;
    o.pub.type = TPM2_ALG_ECC;
    o.pub.nameAlg = TPM2_ALG_SHA256;
    o.pub.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT;
    o.qname_len = 34;
    o.qname[0] = 0x00;
    o.qname[1] = 0x0B;
    memset(o.qname + 2, tag, 32);
    return o;
}

/* ---- the header ---- */

static void header_null_key(void **state)
{
    TPM2B_DATA extra = { .size = 3, .buffer = { 'a', 'b', 'c' } };
    TPMS_ATTEST a, b;
    uint8_t obf[16], qn[4] = { 0x40, 0x00, 0x00, 0x07 };
    uint64_t fw;
    (void)state;

    vt_attest_header(E, TPM2_ST_ATTEST_QUOTE, NULL, &extra, &a);
    assert_int_equal(a.magic, 0xff544347u);
    assert_int_equal(a.type, TPM2_ST_ATTEST_QUOTE);
    /* the Name of TPM_RH_NULL */
    assert_int_equal(a.qualifiedSigner.size, 4);
    assert_memory_equal(a.qualifiedSigner.name, qn, 4);
    assert_int_equal(a.extraData.size, 3);
    assert_memory_equal(a.extraData.buffer, "abc", 3);
    assert_int_equal(a.clockInfo.clock, vt_clock_now(E));
    assert_int_equal(a.clockInfo.safe, E->p.clock_safe ? 1 : 0);
    /* A NULL key is not in the endorsement or platform hierarchy: the
     * counts and the version are offset by KDFa(SHA-256, shProof,
     * "OBFUSCATE", QN, -, 128): 64 bits, 32, 32. */
    assert_int_equal(vt_kdfa(TPM2_ALG_SHA256, E->p.sh_proof, VT_SEED_SIZE, "OBFUSCATE", qn, 4, NULL,
                             0, 128, obf),
                     0);
    fw = 0;
    for (int i = 0; i < 8; i++)
        fw = fw << 8 | obf[i];
    assert_true(a.firmwareVersion == FW + fw);
    assert_int_equal(a.clockInfo.resetCount, (uint32_t)(E->p.reset_count + be32_at(obf + 8)));
    assert_int_equal(a.clockInfo.restartCount, (uint32_t)(E->p.restart_count + be32_at(obf + 12)));
    assert_true(a.firmwareVersion != FW);
    /* stable: the same key always gets the same offsets */
    vt_attest_header(E, TPM2_ST_ATTEST_TIME, NULL, NULL, &b);
    assert_true(b.firmwareVersion == a.firmwareVersion);
    assert_int_equal(b.clockInfo.resetCount, a.clockInfo.resetCount);
    assert_int_equal(b.extraData.size, 0);
}

static void header_hierarchies(void **state)
{
    vt_object ek = fake_key(TPM2_RH_ENDORSEMENT, 1), pk = fake_key(TPM2_RH_PLATFORM, 2);
    vt_object ok1 = fake_key(TPM2_RH_OWNER, 3), ok2 = fake_key(TPM2_RH_OWNER, 4);
    vt_object nk = fake_key(TPM2_RH_NULL, 5);
    TPMS_ATTEST a, b, n;
    (void)state;

    /* endorsement and platform keys: in the clear */
    vt_attest_header(E, TPM2_ST_ATTEST_CERTIFY, &ek, NULL, &a);
    assert_true(a.firmwareVersion == FW);
    assert_int_equal(a.clockInfo.resetCount, E->p.reset_count);
    assert_int_equal(a.clockInfo.restartCount, E->p.restart_count);
    assert_int_equal(a.qualifiedSigner.size, 34);
    assert_memory_equal(a.qualifiedSigner.name, ek.qname, 34);
    vt_attest_header(E, TPM2_ST_ATTEST_CERTIFY, &pk, NULL, &a);
    assert_true(a.firmwareVersion == FW);
    /* owner and null keys: obfuscated, differently for each key */
    vt_attest_header(E, TPM2_ST_ATTEST_CERTIFY, &ok1, NULL, &a);
    vt_attest_header(E, TPM2_ST_ATTEST_CERTIFY, &ok2, NULL, &b);
    vt_attest_header(E, TPM2_ST_ATTEST_CERTIFY, &nk, NULL, &n);
    assert_true(a.firmwareVersion != FW && b.firmwareVersion != FW && n.firmwareVersion != FW);
    assert_true(a.firmwareVersion != b.firmwareVersion);
    assert_true(a.clockInfo.resetCount != b.clockInfo.resetCount ||
                a.clockInfo.restartCount != b.clockInfo.restartCount);
}

static void sign_null_key_and_marshal(void **state)
{
    TPMS_ATTEST a, back;
    TPM2B_ATTEST out;
    TPMT_SIGNATURE sig;
    TPMT_SIG_SCHEME none = { .scheme = TPM2_ALG_NULL };
    size_t off = 0;
    vt_object enc = fake_key(TPM2_RH_OWNER, 9);
    (void)state;

    vt_attest_header(E, TPM2_ST_ATTEST_CERTIFY, NULL, NULL, &a);
    a.attested.certify.name.size = 4;
    memcpy(a.attested.certify.name.name, "\x40\x00\x00\x01", 4);
    a.attested.certify.qualifiedName = a.attested.certify.name;
    memset(&sig, 0x55, sizeof(sig));
    assert_int_equal(vt_attest_sign(E, NULL, &none, &a, &out, &sig), TPM2_RC_SUCCESS);
    assert_int_equal(sig.sigAlg, TPM2_ALG_NULL);
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(out.attestationData, out.size, &off, &back), 0);
    assert_int_equal(off, out.size);
    assert_int_equal(back.magic, 0xff544347u);
    assert_int_equal(back.type, TPM2_ST_ATTEST_CERTIFY);
    assert_true(back.firmwareVersion == a.firmwareVersion);
    assert_int_equal(back.attested.certify.name.size, 4);
    /* the data starts with TPM_GENERATED_VALUE */
    assert_int_equal(be32_at(out.attestationData), 0xff544347u);

    /* a key without sign: TPM_RC_KEY, nothing signed */
    enc.pub.objectAttributes = TPMA_OBJECT_DECRYPT;
    assert_int_equal(vt_attest_sign(E, &enc, &none, &a, &out, &sig), TPM2_RC_KEY);
}

/* TPM_ST_ATTEST_NV_DIGEST (0x801C) is not in tpm2-tss 3.2: check its wire
 * form by hand (Part 2 §10.12.?: indexName, then nvDigest). */
static void nv_digest_wire_form(void **state)
{
    TPMS_ATTEST a;
    TPM2B_ATTEST out;
    TPMT_SIGNATURE sig;
    size_t hdr;
    const uint8_t *p;
    (void)state;

    vt_attest_header(E, (TPMI_ST_ATTEST)0x801C, NULL, NULL, &a);
    a.attested.nv.indexName.size = 4;
    memcpy(a.attested.nv.indexName.name, "\x01\x00\x00\x10", 4);
    a.attested.nv.nvContents.size = 32;
    memset(a.attested.nv.nvContents.buffer, 0xAB, 32);
    assert_int_equal(vt_attest_sign(E, NULL, NULL, &a, &out, &sig), TPM2_RC_SUCCESS);
    /* magic 4, type 2, QN 2+4, extra 2+0, clockInfo 17, fw 8 */
    hdr = 4 + 2 + 6 + 2 + 17 + 8;
    assert_int_equal(out.size, hdr + 2 + 4 + 2 + 32);
    p = out.attestationData;
    assert_int_equal(p[4] << 8 | p[5], 0x801C);
    assert_int_equal(p[hdr] << 8 | p[hdr + 1], 4);
    assert_memory_equal(p + hdr + 2, "\x01\x00\x00\x10", 4);
    assert_int_equal(p[hdr + 6] << 8 | p[hdr + 7], 32);
    assert_int_equal(p[hdr + 8], 0xAB);
}

/* ---- through the engine, with a real key ---- */

typedef struct {
    TPM2_HANDLE h;
    TPM2B_PUBLIC pub;
    TPM2B_DIGEST creation_hash;
    TPMT_TK_CREATION ticket;
    TPM2B_NAME name;
} primary;

/* CreatePrimary: a restricted ECDSA-SHA256 P-256 signing key. */
static uint32_t create_primary(TPM2_HANDLE hier, primary *out)
{
    frame f;
    TPM2B_PUBLIC t;
    uint8_t buf[1024];
    size_t n = 0, off;
    uint32_t rc;

    memset(&t, 0, sizeof(t));
    t.publicArea.type = TPM2_ALG_ECC;
    t.publicArea.nameAlg = TPM2_ALG_SHA256;
    t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    t.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    t.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    t.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    t.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&t, buf, sizeof(buf), &n), 0);

    f_cmd(&f, ST_S, TPM2_CC_CreatePrimary);
    f_u32(&f, hier);
    f_pw_session(&f, "");
    f_u16(&f, 4); /* TPM2B_SENSITIVE_CREATE: empty auth, empty data */
    f_u16(&f, 0);
    f_u16(&f, 0);
    f_bytes(&f, buf, n);
    f_u16(&f, 0); /* outsideInfo */
    f_u32(&f, 0); /* creationPCR */
    rc = exec(&f);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    out->h = be32_at(rsp + 10);
    off = 18;
    {
        TPM2B_CREATION_DATA cd;
        memset(&cd, 0, sizeof(cd));
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(rsp, rsp_len, &off, &out->pub), 0);
        assert_int_equal(Tss2_MU_TPM2B_CREATION_DATA_Unmarshal(rsp, rsp_len, &off, &cd), 0);
        assert_int_equal(Tss2_MU_TPM2B_DIGEST_Unmarshal(rsp, rsp_len, &off, &out->creation_hash), 0);
        assert_int_equal(Tss2_MU_TPMT_TK_CREATION_Unmarshal(rsp, rsp_len, &off, &out->ticket), 0);
        assert_int_equal(Tss2_MU_TPM2B_NAME_Unmarshal(rsp, rsp_len, &off, &out->name), 0);
    }
    return 0;
}

/* Verify an ECDSA signature over `data` with the key's public point. */
static bool ecdsa_ok(const TPM2B_PUBLIC *pub, const uint8_t *data, size_t len, const TPMT_SIGNATURE *sig)
{
    uint8_t point[65], der[80];
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t dl = 0;
    bool ok;

    point[0] = 4;
    memcpy(point + 1, pub->publicArea.unique.ecc.x.buffer, 32);
    memcpy(point + 33, pub->publicArea.unique.ecc.y.buffer, 32);
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, 65);
    params = OSSL_PARAM_BLD_to_param(b);
    assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
    assert_int_equal(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    /* DER SEQUENCE { INTEGER r, INTEGER s } with 0x00 pads */
    {
        const TPM2B_ECC_PARAMETER *rs[2] = { &sig->signature.ecdsa.signatureR,
                                             &sig->signature.ecdsa.signatureS };
        size_t o = 2;
        for (int i = 0; i < 2; i++) {
            const uint8_t *v = rs[i]->buffer;
            size_t vl = rs[i]->size;
            while (vl > 1 && v[0] == 0) {
                v++;
                vl--;
            }
            der[o++] = 2;
            der[o++] = (uint8_t)(vl + (v[0] & 0x80 ? 1 : 0));
            if (v[0] & 0x80)
                der[o++] = 0;
            memcpy(der + o, v, vl);
            o += vl;
        }
        der[0] = 0x30;
        der[1] = (uint8_t)(o - 2);
        dl = o;
    }
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
         EVP_DigestVerify(md, der, dl, data, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    return ok;
}

/* Parse the TPM2B_ATTEST and TPMT_SIGNATURE of a response with sessions. */
static void parse_attest(TPM2B_ATTEST *a, TPMS_ATTEST *att, TPMT_SIGNATURE *sig)
{
    size_t off = 14, o2 = 0;
    memset(a, 0, sizeof(*a));
    memset(att, 0, sizeof(*att));
    assert_int_equal(Tss2_MU_TPM2B_ATTEST_Unmarshal(rsp, rsp_len, &off, a), 0);
    assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(rsp, rsp_len, &off, sig), 0);
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(a->attestationData, a->size, &o2, att), 0);
    assert_int_equal(o2, a->size);
}

static void f_null_scheme(frame *f) { f_u16(f, TPM2_ALG_NULL); }

static uint32_t quote(TPM2_HANDLE key, uint16_t qd_len, uint16_t scheme_alg, uint16_t bank)
{
    frame f;
    uint8_t qd[80];
    memset(qd, 0x11, sizeof(qd));
    f_cmd(&f, ST_S, TPM2_CC_Quote);
    f_u32(&f, key);
    f_pw_session(&f, "");
    f_2b(&f, qd, qd_len);
    f_u16(&f, scheme_alg);
    if (scheme_alg != TPM2_ALG_NULL)
        f_u16(&f, TPM2_ALG_SHA256);
    f_u32(&f, 1);
    f_u16(&f, bank);
    f_u8(&f, 3);
    f_u8(&f, 0x03); /* PCR 0, 1 */
    f_u8(&f, 0x00);
    f_u8(&f, 0x80); /* PCR 23 */
    return exec(&f);
}

static void quote_with_a_key(void **state)
{
    primary k;
    TPM2B_ATTEST a;
    TPMS_ATTEST att;
    TPMT_SIGNATURE sig;
    uint8_t cat[3 * 32], d[32];
    int b = vt_bank_of(TPM2_ALG_SHA256);
    (void)state;

    assert_int_equal(create_primary(ENDORSEMENT, &k), 0);
    assert_int_equal(quote(k.h, 20, TPM2_ALG_NULL, TPM2_ALG_SHA256), 0);
    parse_attest(&a, &att, &sig);
    assert_int_equal(att.type, TPM2_ST_ATTEST_QUOTE);
    assert_int_equal(att.extraData.size, 20);
    assert_true(att.firmwareVersion == FW); /* endorsement key: in the clear */
    assert_int_equal(att.attested.quote.pcrSelect.count, 1);
    assert_int_equal(att.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0], 0x03);
    assert_int_equal(att.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[2], 0x80);
    /* pcrDigest = SHA-256(PCR0 || PCR1 || PCR23) */
    memcpy(cat, E->v.pcr[b][0], 32);
    memcpy(cat + 32, E->v.pcr[b][1], 32);
    memcpy(cat + 64, E->v.pcr[b][23], 32);
    assert_int_equal(EVP_Digest(cat, sizeof(cat), d, NULL, EVP_sha256(), NULL), 1);
    assert_int_equal(att.attested.quote.pcrDigest.size, 32);
    assert_memory_equal(att.attested.quote.pcrDigest.buffer, d, 32);
    assert_int_equal(sig.sigAlg, TPM2_ALG_ECDSA);
    assert_true(ecdsa_ok(&k.pub, a.attestationData, a.size, &sig));
    /* a changed byte does not verify (the check can fail) */
    a.attestationData[a.size - 1] ^= 1;
    assert_false(ecdsa_ok(&k.pub, a.attestationData, a.size, &sig));

    /* an unallocated bank (SHA-512) is dropped from the selection */
    assert_int_equal(quote(k.h, 0, TPM2_ALG_NULL, TPM2_ALG_SHA512), 0);
    parse_attest(&a, &att, &sig);
    assert_int_equal(att.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0], 0);
    assert_int_equal(EVP_Digest(NULL, 0, d, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(att.attested.quote.pcrDigest.buffer, d, 32);

    /* errors: qualifyingData over TPM2B_DATA's 66 octets; a scheme the
     * restricted key does not have */
    assert_int_equal(quote(k.h, 67, TPM2_ALG_NULL, TPM2_ALG_SHA256), TPM2_RC_SIZE + TPM2_RC_P + TPM2_RC_1);
    assert_int_equal(quote(k.h, 0, TPM2_ALG_RSASSA, TPM2_ALG_SHA256), TPM2_RC_SCHEME + TPM2_RC_P + TPM2_RC_2);
}

static void certify_creation_ticket(void **state)
{
    primary k;
    frame f;
    TPM2B_ATTEST a;
    TPMS_ATTEST att;
    TPMT_SIGNATURE sig;
    (void)state;

    assert_int_equal(create_primary(OWNER, &k), 0);
    for (int bad = 0; bad < 3; bad++) {
        f_cmd(&f, ST_S, TPM2_CC_CertifyCreation);
        f_u32(&f, k.h);
        f_u32(&f, k.h);
        f_pw_session(&f, "");
        f_u16(&f, 0);
        f_2b(&f, k.creation_hash.buffer, k.creation_hash.size);
        if (bad == 1)
            f.b[f.n - 1] ^= 1; /* another creation hash */
        f_null_scheme(&f);
        f_u16(&f, bad == 2 ? TPM2_ST_HASHCHECK : k.ticket.tag);
        f_u32(&f, k.ticket.hierarchy);
        f_2b(&f, k.ticket.digest.buffer, k.ticket.digest.size);
        if (bad == 0) {
            assert_int_equal(exec(&f), 0);
            parse_attest(&a, &att, &sig);
            assert_int_equal(att.type, TPM2_ST_ATTEST_CREATION);
            assert_int_equal(att.attested.creation.objectName.size, k.name.size);
            assert_memory_equal(att.attested.creation.objectName.name, k.name.name, k.name.size);
            assert_memory_equal(att.attested.creation.creationHash.buffer, k.creation_hash.buffer,
                                k.creation_hash.size);
            assert_true(att.firmwareVersion != FW); /* owner key: obfuscated */
            assert_true(ecdsa_ok(&k.pub, a.attestationData, a.size, &sig));
        } else if (bad == 1) {
            assert_int_equal(exec(&f), TPM2_RC_TICKET + TPM2_RC_P + TPM2_RC_4);
        } else {
            assert_int_equal(exec(&f), TPM2_RC_TAG + TPM2_RC_P + TPM2_RC_4);
        }
    }
}

static void certify_and_gettime(void **state)
{
    primary k;
    frame f;
    TPM2B_ATTEST a;
    TPMS_ATTEST att;
    TPMT_SIGNATURE sig;
    uint32_t rc;
    (void)state;

    assert_int_equal(create_primary(ENDORSEMENT, &k), 0);
    /* Certify the key with itself */
    f_cmd(&f, ST_S, TPM2_CC_Certify);
    f_u32(&f, k.h);
    f_u32(&f, k.h);
    f_u32(&f, 18);
    f_u32(&f, 0x40000009); f_u16(&f, 0); f_u8(&f, 1); f_u16(&f, 0);
    f_u32(&f, 0x40000009); f_u16(&f, 0); f_u8(&f, 1); f_u16(&f, 0);
    f_2b(&f, "nonce", 5);
    f_null_scheme(&f);
    assert_int_equal(exec(&f), 0);
    parse_attest(&a, &att, &sig);
    assert_int_equal(att.type, TPM2_ST_ATTEST_CERTIFY);
    assert_int_equal(att.attested.certify.name.size, k.name.size);
    assert_memory_equal(att.attested.certify.name.name, k.name.name, k.name.size);
    assert_memory_equal(att.qualifiedSigner.name, att.attested.certify.qualifiedName.name,
                        att.qualifiedSigner.size);
    assert_true(ecdsa_ok(&k.pub, a.attestationData, a.size, &sig));

    /* GetTime with a NULL signing key: unsigned, header obfuscated, the
     * attested part in the clear */
    f_cmd(&f, ST_S, TPM2_CC_GetTime);
    f_u32(&f, ENDORSEMENT);
    f_u32(&f, RH_NULL);
    f_u32(&f, 18);
    f_u32(&f, 0x40000009); f_u16(&f, 0); f_u8(&f, 1); f_u16(&f, 0);
    f_u32(&f, 0x40000009); f_u16(&f, 0); f_u8(&f, 1); f_u16(&f, 0);
    f_u16(&f, 0);
    f_null_scheme(&f);
    rc = exec(&f);
    assert_int_equal(rc, 0);
    parse_attest(&a, &att, &sig);
    assert_int_equal(sig.sigAlg, TPM2_ALG_NULL);
    assert_int_equal(att.type, TPM2_ST_ATTEST_TIME);
    assert_int_equal(att.qualifiedSigner.size, 4);
    assert_true(att.attested.time.firmwareVersion == FW);
    assert_true(att.firmwareVersion != FW);
    assert_int_equal(att.attested.time.time.clockInfo.resetCount, E->p.reset_count);
    assert_int_equal(att.attested.time.time.clockInfo.clock, att.clockInfo.clock);
    assert_int_equal(att.attested.time.time.time, vt_time_now(E));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(header_null_key, setup, teardown),
        cmocka_unit_test_setup_teardown(header_hierarchies, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_null_key_and_marshal, setup, teardown),
        cmocka_unit_test_setup_teardown(nv_digest_wire_form, setup, teardown),
        cmocka_unit_test_setup_teardown(quote_with_a_key, setup, teardown),
        cmocka_unit_test_setup_teardown(certify_creation_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(certify_and_gettime, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
