/* `vitrum manufacture`: endorsement keys and EK certificates.
 *
 * What a TPM vendor's factory does, done by the machine's owner: derive the
 * default endorsement keys, certify them, and store the certificates where
 * every client looks for them.  The engine runs in-process and is driven
 * only through real TPM commands (vt_engine_execute), exactly as a factory
 * drives a chip:
 *
 *   Startup(CLEAR)
 *   CreatePrimary(TPM_RH_ENDORSEMENT, EK template)   -> the EK public key
 *   NV_DefineSpace(TPM_RH_PLATFORM, EK cert index)    platformAuth, empty
 *   NV_Write(TPM_RH_PLATFORM, ...) in chunks          the DER certificate
 *   NV_WriteLock(TPM_RH_PLATFORM, ...)
 *   NV_Read(index, index)                              read back, compare
 *   Shutdown(CLEAR)
 *
 * Templates and indices: TCG EK Credential Profile for TPM Family 2.0
 * (version 2.x), Annex B "EK Templates" (L-1: RSA 2048, L-2: ECC NIST
 * P-256, both in the "Low Range" so tpm2_createek and Windows find them)
 * and §2.2.1 "EK Credential NV Indices" (0x01C00002 RSA 2048, 0x01C0000A
 * ECC P-256).  The certificate follows §3.2 of the same profile as far as
 * OpenSSL makes it reasonable.
 *
 * The CA is the owner's (--ca-key/--ca-cert) or a local one made here and
 * kept in the state directory; never a key in this code. */
#define _GNU_SOURCE
#include "manufacture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "common/be.h"
#include "platform/platform_posix.h"
#include "store/store.h"

/* EK Credential Profile §2.2.1.4, "Low Range". */
#define EK_CERT_INDEX_RSA 0x01C00002u
#define EK_CERT_INDEX_ECC 0x01C0000Au

/* EK Credential Profile §2.2.1 (EK certificate NV indices, their attributes): the
 * platform writes it (PPWRITE) and locks it for good (WRITEDEFINE);
 * platform, owner and anyone with the (empty) index auth may read it, with
 * no dictionary-attack consequence; it was made by the platform. */
#define EK_CERT_NV_ATTRS                                                                      \
    (TPMA_NV_PPWRITE | TPMA_NV_WRITEDEFINE | TPMA_NV_PPREAD | TPMA_NV_OWNERREAD |             \
     TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | TPMA_NV_PLATFORMCREATE)

/* TCG OIDs (TCG EK Credential Profile §3.2, TCG "OID registry"). */
#define OID_TPM_MANUFACTURER "2.23.133.2.1"
#define OID_TPM_MODEL "2.23.133.2.2"
#define OID_TPM_VERSION "2.23.133.2.3"
#define OID_EK_CERTIFICATE "2.23.133.8.1" /* tcg-kp-EKCertificate */

#define LOCAL_CA_KEY "ek-ca-key.pem"
#define LOCAL_CA_CERT "ek-ca.pem"

typedef struct {
    const char *name;
    const char *tmpl;  /* EK Credential Profile template */
    bool ecc;
    TPM2_HANDLE index;
} ek_kind;

static const ek_kind ek_kinds[2] = {
    { "RSA 2048", "L-1", false, EK_CERT_INDEX_RSA },
    { "ECC NIST P-256", "L-2", true, EK_CERT_INDEX_ECC },
};

/* What the TPM says about itself, for the certificate. */
typedef struct {
    uint32_t manufacturer;
    char model[17];
    uint32_t fw1;
    uint32_t family, level, revision;
    uint32_t nv_buffer_max, nv_index_max;
} tpm_ident;

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} ek_ca;

static void ossl_error(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";

    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "vitrum: %s%s%s\n", what, buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

/* ================================================= commands to the engine */

typedef struct {
    uint8_t b[VT_MAX_COMMAND_SIZE];
    size_t n;
    bool overflow;
} cmd_buf;

typedef struct {
    uint8_t b[VT_MAX_RESPONSE_SIZE];
    size_t n;
    TPM2_HANDLE handle; /* the response handle, when the command has one */
    size_t p, end;      /* the response parameters: b[p..end) */
} rsp_buf;

static void put(cmd_buf *c, const void *p, size_t len)
{
    if (c->overflow || len > sizeof(c->b) - c->n) {
        c->overflow = true;
        return;
    }
    memcpy(c->b + c->n, p, len);
    c->n += len;
}

static void put_u8(cmd_buf *c, uint8_t v) { put(c, &v, 1); }

static void put_u16(cmd_buf *c, uint16_t v)
{
    uint8_t b[2];
    vt_put_be16(b, v);
    put(c, b, 2);
}

static void put_u32(cmd_buf *c, uint32_t v)
{
    uint8_t b[4];
    vt_put_be32(b, v);
    put(c, b, 4);
}

static void cmd_begin(cmd_buf *c, TPM2_ST tag, TPM2_CC cc)
{
    c->n = 0;
    c->overflow = false;
    put_u16(c, tag);
    put_u32(c, 0); /* commandSize, set by run() */
    put_u32(c, cc);
}

/* One password session with an empty password (Part 1 §19.8.4): how the
 * platform firmware authorizes with platformAuth after Startup(CLEAR), and
 * how an index with an empty authValue is read. */
static void cmd_empty_password(cmd_buf *c)
{
    put_u32(c, 9); /* authorizationSize */
    put_u32(c, TPM2_RS_PW);
    put_u16(c, 0); /* nonce */
    put_u8(c, 0);  /* sessionAttributes */
    put_u16(c, 0); /* hmac: the password */
}

/* Execute the command; TPM_RC_SUCCESS with r->p..r->end the response
 * parameters, or the TPM's response code (TPM_RC_FAILURE for a response
 * this code cannot parse). */
static TPM2_RC run(vt_engine *e, cmd_buf *c, bool rsp_handle, rsp_buf *r)
{
    TPM2_RC rc;
    size_t off = 10;

    if (c->overflow)
        return TPM2_RC_FAILURE;
    vt_put_be32(c->b + 2, (uint32_t)c->n);
    r->n = vt_engine_execute(e, 0, c->b, c->n, r->b, sizeof(r->b));
    if (r->n < 10 || r->n > sizeof(r->b) || vt_get_be32(r->b + 2) != r->n)
        return TPM2_RC_FAILURE;
    rc = vt_get_be32(r->b + 6);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    if (rsp_handle) {
        if (r->n < off + 4)
            return TPM2_RC_FAILURE;
        r->handle = vt_get_be32(r->b + off);
        off += 4;
    }
    r->end = r->n;
    if (vt_get_be(r->b, 2) == TPM2_ST_SESSIONS) {
        uint32_t psize;
        if (r->n < off + 4)
            return TPM2_RC_FAILURE;
        psize = vt_get_be32(r->b + off);
        off += 4;
        if (psize > r->n - off)
            return TPM2_RC_FAILURE;
        r->end = off + psize;
    }
    r->p = off;
    return TPM2_RC_SUCCESS;
}

/* Is rc the format-one code `base` with whatever handle, session or
 * parameter number (Part 2 §6.6.3)? */
static bool rc_is(TPM2_RC rc, TPM2_RC base)
{
    if (rc & TPM2_RC_FMT1)
        return (rc & 0xBFu) == (base & 0xBFu);
    return rc == base;
}

static void tpm_error(const char *what, TPM2_RC rc)
{
    fprintf(stderr, "vitrum: %s failed: TPM response code 0x%03x\n", what, rc);
}

static TPM2_RC tpm_startup_shutdown(vt_engine *e, TPM2_CC cc, TPM2_SU su)
{
    cmd_buf c;
    rsp_buf r;

    cmd_begin(&c, TPM2_ST_NO_SESSIONS, cc);
    put_u16(&c, su);
    return run(e, &c, false, &r);
}

/* One TPM_PT property (Part 3 §30.2 GetCapability, TPM_CAP_TPM_PROPERTIES). */
static TPM2_RC tpm_property(vt_engine *e, TPM2_PT prop, uint32_t *v)
{
    cmd_buf c;
    rsp_buf r;
    uint8_t more;
    TPMS_CAPABILITY_DATA cap;
    TPM2_RC rc;

    cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_GetCapability);
    put_u32(&c, TPM2_CAP_TPM_PROPERTIES);
    put_u32(&c, prop);
    put_u32(&c, 1);
    rc = run(e, &c, false, &r);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    memset(&cap, 0, sizeof(cap));
    if (Tss2_MU_UINT8_Unmarshal(r.b, r.end, &r.p, &more) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPMS_CAPABILITY_DATA_Unmarshal(r.b, r.end, &r.p, &cap) != TSS2_RC_SUCCESS ||
        cap.capability != TPM2_CAP_TPM_PROPERTIES || cap.data.tpmProperties.count < 1 ||
        cap.data.tpmProperties.tpmProperty[0].property != prop)
        return TPM2_RC_FAILURE;
    *v = cap.data.tpmProperties.tpmProperty[0].value;
    return TPM2_RC_SUCCESS;
}

static TPM2_RC tpm_create_primary(vt_engine *e, TPMI_RH_HIERARCHY hierarchy, const TPMT_PUBLIC *tmpl,
                                  TPM2_HANDLE *h, TPM2B_PUBLIC *out)
{
    cmd_buf c;
    rsp_buf r;
    TPM2B_PUBLIC in;
    size_t off;
    TPM2_RC rc;

    memset(&in, 0, sizeof(in));
    in.publicArea = *tmpl;
    cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_CreatePrimary);
    put_u32(&c, hierarchy);
    cmd_empty_password(&c);
    /* inSensitive: no userAuth, no data */
    put_u16(&c, 4);
    put_u16(&c, 0);
    put_u16(&c, 0);
    off = c.n;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&in, c.b, sizeof(c.b), &off) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    c.n = off;
    put_u16(&c, 0); /* outsideInfo */
    put_u32(&c, 0); /* creationPCR: no banks */
    rc = run(e, &c, true, &r);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    *h = r.handle;
    memset(out, 0, sizeof(*out));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(r.b, r.end, &r.p, out) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    return TPM2_RC_SUCCESS;
}

static TPM2_RC tpm_flush(vt_engine *e, TPM2_HANDLE h)
{
    cmd_buf c;
    rsp_buf r;

    cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_FlushContext);
    put_u32(&c, h);
    return run(e, &c, false, &r);
}

static TPM2_RC tpm_nv_read_public(vt_engine *e, TPM2_HANDLE index, TPMS_NV_PUBLIC *pub)
{
    cmd_buf c;
    rsp_buf r;
    TPM2B_NV_PUBLIC p;
    TPM2_RC rc;

    cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_NV_ReadPublic);
    put_u32(&c, index);
    rc = run(e, &c, false, &r);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    memset(&p, 0, sizeof(p));
    if (Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(r.b, r.end, &r.p, &p) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    *pub = p.nvPublic;
    return TPM2_RC_SUCCESS;
}

/* NV_UndefineSpace / NV_WriteLock: (TPM_RH_PLATFORM, index), no parameters. */
static TPM2_RC tpm_nv_platform_op(vt_engine *e, TPM2_CC cc, TPM2_HANDLE index)
{
    cmd_buf c;
    rsp_buf r;

    cmd_begin(&c, TPM2_ST_SESSIONS, cc);
    put_u32(&c, TPM2_RH_PLATFORM);
    put_u32(&c, index);
    cmd_empty_password(&c);
    return run(e, &c, false, &r);
}

static TPM2_RC tpm_nv_define(vt_engine *e, TPM2_HANDLE index, uint16_t size)
{
    cmd_buf c;
    rsp_buf r;
    TPM2B_NV_PUBLIC p;
    size_t off;

    memset(&p, 0, sizeof(p));
    p.nvPublic.nvIndex = index;
    p.nvPublic.nameAlg = TPM2_ALG_SHA256;
    p.nvPublic.attributes = EK_CERT_NV_ATTRS;
    p.nvPublic.dataSize = size;
    cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_DefineSpace);
    put_u32(&c, TPM2_RH_PLATFORM);
    cmd_empty_password(&c);
    put_u16(&c, 0); /* auth: empty */
    off = c.n;
    if (Tss2_MU_TPM2B_NV_PUBLIC_Marshal(&p, c.b, sizeof(c.b), &off) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    c.n = off;
    return run(e, &c, false, &r);
}

static TPM2_RC tpm_nv_write(vt_engine *e, TPM2_HANDLE index, const uint8_t *data, uint16_t len,
                            uint16_t offset)
{
    cmd_buf c;
    rsp_buf r;

    cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_Write);
    put_u32(&c, TPM2_RH_PLATFORM);
    put_u32(&c, index);
    cmd_empty_password(&c);
    put_u16(&c, len);
    put(&c, data, len);
    put_u16(&c, offset);
    return run(e, &c, false, &r);
}

/* Read with the index's own (empty) authValue, as any client may
 * (AUTHREAD): how tpm2_getekcertificate will find it. */
static TPM2_RC tpm_nv_read(vt_engine *e, TPM2_HANDLE index, uint8_t *buf, uint16_t len, uint16_t offset)
{
    cmd_buf c;
    rsp_buf r;
    uint16_t got;
    TPM2_RC rc;

    cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_Read);
    put_u32(&c, index);
    put_u32(&c, index);
    cmd_empty_password(&c);
    put_u16(&c, len);
    put_u16(&c, offset);
    rc = run(e, &c, false, &r);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    if (r.end - r.p < 2)
        return TPM2_RC_FAILURE;
    got = (uint16_t)vt_get_be(r.b + r.p, 2);
    if (got != len || r.end - r.p - 2 < len)
        return TPM2_RC_FAILURE;
    memcpy(buf, r.b + r.p + 2, len);
    return TPM2_RC_SUCCESS;
}

/* ======================================================== the EK templates */

/* The EK's authPolicy, "PolicyA" of the EK Credential Profile (§B.3.2):
 * TPM2_PolicySecret(TPM_RH_ENDORSEMENT) with an empty policyRef, from a
 * zero digest, in SHA-256.  Part 3 §23.4 (PolicySecret):
 *   d1 = H(0^32 || TPM_CC_PolicySecret || Name(TPM_RH_ENDORSEMENT))
 *   d2 = H(d1 || policyRef)
 * (= 837197674484b3f8...331469aa, the value the profile lists). */
static void ek_policy(uint8_t out[32])
{
    uint8_t buf[32 + 4 + 4], d1[32];

    memset(buf, 0, sizeof(buf));
    vt_put_be32(buf + 32, TPM2_CC_PolicySecret);
    vt_put_be32(buf + 36, TPM2_RH_ENDORSEMENT); /* a permanent handle's Name is the handle */
    EVP_Digest(buf, sizeof(buf), d1, NULL, EVP_sha256(), NULL);
    EVP_Digest(d1, sizeof(d1), out, NULL, EVP_sha256(), NULL);
}

/* EK Credential Profile Annex B, templates L-1 (RSA 2048) and L-2 (ECC NIST
 * P-256): a restricted decryption (storage) key with AES-128-CFB, no
 * scheme, SHA-256 names, usable only through PolicyA (userWithAuth CLEAR,
 * adminWithPolicy SET), and a unique field of zeros the size of the key
 * (256 octets for RSA; 32 for each of x and y for ECC). */
static void ek_template(bool ecc, TPMT_PUBLIC *t)
{
    TPMT_SYM_DEF_OBJECT sym;

    memset(t, 0, sizeof(*t));
    memset(&sym, 0, sizeof(sym));
    sym.algorithm = TPM2_ALG_AES;
    sym.keyBits.aes = 128;
    sym.mode.aes = TPM2_ALG_CFB;
    t->nameAlg = TPM2_ALG_SHA256;
    t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                          TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    t->authPolicy.size = 32;
    ek_policy(t->authPolicy.buffer);
    if (!ecc) {
        t->type = TPM2_ALG_RSA;
        t->parameters.rsaDetail.symmetric = sym;
        t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        t->parameters.rsaDetail.keyBits = 2048;
        t->parameters.rsaDetail.exponent = 0; /* the default, 2^16 + 1 */
        t->unique.rsa.size = 256;
    } else {
        t->type = TPM2_ALG_ECC;
        t->parameters.eccDetail.symmetric = sym;
        t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        t->unique.ecc.x.size = 32;
        t->unique.ecc.y.size = 32;
    }
}

/* The EK's public area as an OpenSSL key, after checking it is the kind
 * the template asked for. */
static EVP_PKEY *ek_public_key(const TPMT_PUBLIC *pub, bool ecc)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    BIGNUM *n = NULL, *ex = NULL;
    uint8_t point[1 + 2 * 32];
    bool ok = false;

    if (!bld)
        goto out;
    if (!ecc) {
        if (pub->type != TPM2_ALG_RSA || pub->parameters.rsaDetail.keyBits != 2048 ||
            pub->unique.rsa.size != 256) {
            fprintf(stderr, "vitrum: the TPM returned an EK that is not RSA 2048\n");
            goto out;
        }
        n = BN_bin2bn(pub->unique.rsa.buffer, pub->unique.rsa.size, NULL);
        ex = BN_new();
        if (!n || !ex ||
            !BN_set_word(ex, pub->parameters.rsaDetail.exponent ? pub->parameters.rsaDetail.exponent : 65537) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ex))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    } else {
        const TPMS_ECC_POINT *q = &pub->unique.ecc;
        if (pub->type != TPM2_ALG_ECC || pub->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
            q->x.size == 0 || q->x.size > 32 || q->y.size == 0 || q->y.size > 32) {
            fprintf(stderr, "vitrum: the TPM returned an EK that is not ECC NIST P-256\n");
            goto out;
        }
        /* Uncompressed point, each coordinate left-padded to 32 octets. */
        memset(point, 0, sizeof(point));
        point[0] = 0x04;
        memcpy(point + 1 + 32 - q->x.size, q->x.buffer, q->x.size);
        memcpy(point + 1 + 64 - q->y.size, q->y.buffer, q->y.size);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        ossl_error("cannot use the EK public key");
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(ex);
    return pk;
}

/* ========================================================= certificates */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ex;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return -1;
    ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

/* A random positive serial number of 16 octets (RFC 5280 §4.1.2.2: at most
 * 20, unique per issuer). */
static int set_random_serial(X509 *cert)
{
    uint8_t b[16];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x40); /* positive, and 16 octets long */
    bn = BN_bin2bn(b, sizeof(b), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

/* notBefore now, notAfter 99991231235959Z: "no well-defined expiration
 * date" (RFC 5280 §4.1.2.5), as a TPM's EK does not expire. */
static int set_validity(X509 *cert)
{
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !ASN1_TIME_set_string(X509_getm_notAfter(cert), "99991231235959Z"))
        return -1;
    return 0;
}

/* Sign with SHA-256, or with the key's own digest when it has a fixed one
 * (Ed25519). */
static int sign_cert(X509 *cert, EVP_PKEY *key)
{
    int nid = NID_undef;
    const EVP_MD *md = EVP_sha256();

    if (EVP_PKEY_get_default_digest_nid(key, &nid) == 2 && nid == NID_undef)
        md = NULL;
    return X509_sign(cert, key, md) > 0 ? 0 : -1;
}

/* subjectAltName: one directoryName with the TPM's manufacturer, model and
 * version (EK Credential Profile §3.2.9; each a UTF8String RDN). */
static int add_tpm_san(X509 *cert, const tpm_ident *id)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    X509_NAME *dn = X509_NAME_new();
    char manuf[16], version[16];
    const char *oid[3] = { OID_TPM_MANUFACTURER, OID_TPM_MODEL, OID_TPM_VERSION };
    const char *val[3];
    int i, rc = -1;

    snprintf(manuf, sizeof(manuf), "id:%08X", id->manufacturer);
    snprintf(version, sizeof(version), "id:%08X", id->fw1);
    val[0] = manuf;
    val[1] = id->model[0] ? id->model : "unknown";
    val[2] = version;
    if (!gens || !gn || !dn)
        goto out;
    for (i = 0; i < 3; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(oid[i], 1);
        int ok = o && X509_NAME_add_entry_by_OBJ(dn, o, V_ASN1_UTF8STRING, (const unsigned char *)val[i], -1, -1, 0);
        ASN1_OBJECT_free(o);
        if (!ok)
            goto out;
    }
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
    dn = NULL;
    if (!sk_GENERAL_NAME_push(gens, gn))
        goto out;
    gn = NULL;
    /* Critical: the subject is empty (RFC 5280 §4.2.1.6). */
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 1, X509V3_ADD_DEFAULT) != 1)
        goto out;
    rc = 0;
out:
    X509_NAME_free(dn);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    return rc;
}

/* DER, definite short lengths only (every part here is < 128 octets). */
static size_t der_tlv(uint8_t *out, uint8_t tag, const uint8_t *v, size_t len)
{
    out[0] = tag;
    out[1] = (uint8_t)len;
    memmove(out + 2, v, len);
    return 2 + len;
}

static size_t der_uint(uint8_t *out, uint32_t v)
{
    uint8_t b[5];
    size_t n = 0, i;

    b[0] = 0;
    for (i = 0; i < 4; i++)
        b[1 + i] = (uint8_t)(v >> (24 - 8 * i));
    /* minimal: drop leading zeros while the next octet's top bit is clear */
    while (n < 4 && b[n] == 0 && !(b[n + 1] & 0x80))
        n++;
    return der_tlv(out, 0x02, b + n, 5 - n);
}

/* subjectDirectoryAttributes with tcg-at-tpmSpecification (2.23.133.2.16):
 * SEQUENCE { family UTF8String, level INTEGER, revision INTEGER } (EK
 * Credential Profile §3.2.10). */
static int add_tpm_spec(X509 *cert, const tpm_ident *id)
{
    static const uint8_t oid_spec[] = { 0x67, 0x81, 0x05, 0x02, 0x10 }; /* 2.23.133.2.16 */
    uint8_t spec[64], set[64], attr[96], seq[128];
    char fam[5];
    size_t n = 0, i;
    ASN1_OCTET_STRING *os = NULL;
    X509_EXTENSION *ex = NULL;
    int rc = -1;

    /* TPM_PT_FAMILY_INDICATOR is 4 ASCII octets, "2.0\0" */
    for (i = 0; i < 4; i++)
        fam[i] = (char)(id->family >> (24 - 8 * i));
    fam[4] = 0;
    n += der_tlv(spec + n, 0x0C, (const uint8_t *)fam, strlen(fam));
    n += der_uint(spec + n, id->level);
    n += der_uint(spec + n, id->revision);
    n = der_tlv(set, 0x30, spec, n);          /* TPMSpecification */
    n = der_tlv(spec, 0x31, set, n);          /* SET OF AttributeValue */
    i = der_tlv(attr, 0x06, oid_spec, sizeof(oid_spec));
    memcpy(attr + i, spec, n);
    n = der_tlv(seq, 0x30, attr, i + n);      /* Attribute */
    n = der_tlv(attr, 0x30, seq, n);          /* SEQUENCE OF Attribute */
    os = ASN1_OCTET_STRING_new();
    if (!os || !ASN1_OCTET_STRING_set(os, attr, (int)n))
        goto out;
    ex = X509_EXTENSION_create_by_NID(NULL, NID_subject_directory_attributes, 0, os);
    if (!ex || !X509_add_ext(cert, ex, -1))
        goto out;
    rc = 0;
out:
    X509_EXTENSION_free(ex);
    ASN1_OCTET_STRING_free(os);
    return rc;
}

/* The EK certificate (EK Credential Profile §3.2): v3, random serial,
 * issuer the CA's subject, empty subject with a critical subjectAltName
 * naming the TPM, the EK as subjectPublicKeyInfo, keyUsage
 * keyEncipherment (RSA) / keyAgreement (ECC), basicConstraints CA:FALSE,
 * extendedKeyUsage tcg-kp-EKCertificate, the TPM specification, signed by
 * the CA with SHA-256. */
static X509 *ek_cert_make(EVP_PKEY *ek, bool ecc, const tpm_ident *id, const ek_ca *ca)
{
    X509 *cert = X509_new();

    if (!cert || !X509_set_version(cert, X509_VERSION_3) || set_random_serial(cert) != 0 ||
        !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) || set_validity(cert) != 0 ||
        !X509_set_pubkey(cert, ek) ||
        add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(cert, ca->cert, NID_key_usage, ecc ? "critical,keyAgreement" : "critical,keyEncipherment") != 0 ||
        add_ext(cert, ca->cert, NID_ext_key_usage, OID_EK_CERTIFICATE) != 0 ||
        add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid") != 0 ||
        add_tpm_san(cert, id) != 0 || add_tpm_spec(cert, id) != 0 || sign_cert(cert, ca->key) != 0) {
        ossl_error("cannot make the EK certificate");
        X509_free(cert);
        return NULL;
    }
    /* The CA's public key must accept what its private key signed. */
    if (X509_verify(cert, X509_get0_pubkey(ca->cert)) != 1) {
        ossl_error("the EK certificate does not verify with the CA certificate's key");
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* ================================================================ the CA */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static void ca_free(ek_ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    ca->key = NULL;
    ca->cert = NULL;
}

/* Load a CA: a PEM private key (not encrypted) and its certificate (PEM or
 * DER), which must be a CA certificate for that key. */
static int ca_load(ek_ca *ca, const char *key_path, const char *cert_path)
{
    FILE *f;

    f = fopen(key_path, "re");
    if (!f) {
        fprintf(stderr, "vitrum: cannot open the CA key %s: %s\n", key_path, strerror(errno));
        return -1;
    }
    ca->key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!ca->key) {
        ossl_error("cannot read the CA key (a PEM private key, not encrypted)");
        return -1;
    }
    f = fopen(cert_path, "re");
    if (!f) {
        fprintf(stderr, "vitrum: cannot open the CA certificate %s: %s\n", cert_path, strerror(errno));
        return -1;
    }
    ca->cert = PEM_read_X509(f, NULL, no_passphrase, NULL);
    if (!ca->cert) {
        rewind(f);
        ERR_clear_error();
        ca->cert = d2i_X509_fp(f, NULL);
    }
    fclose(f);
    if (!ca->cert) {
        ossl_error("cannot read the CA certificate (PEM or DER X.509)");
        return -1;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        fprintf(stderr, "vitrum: the CA key %s does not belong to the certificate %s\n", key_path, cert_path);
        return -1;
    }
    if (X509_check_ca(ca->cert) < 1) {
        fprintf(stderr, "vitrum: %s is not a CA certificate (it needs basicConstraints CA:TRUE and, "
                        "with keyUsage, keyCertSign)\n", cert_path);
        return -1;
    }
    return 0;
}

/* Write a PEM file atomically: dir/name.tmp, fsync, rename, fsync dir. */
static int write_pem(const char *dir, const char *name, mode_t mode, EVP_PKEY *key, X509 *cert)
{
    char path[4200], tmp[4210];
    FILE *f;
    int fd, ok, dfd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 || fchmod(fd, mode) != 0) {
        fprintf(stderr, "vitrum: cannot create %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    ok = ok && fflush(f) == 0 && fsync(fd) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "vitrum: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* A new local CA: ECDSA P-256, self-signed, CA:TRUE with pathlen 0, only
 * for signing certificates.  tpm_id names it so two TPMs' CAs differ. */
static int ca_create(ek_ca *ca, const char *tpm_id)
{
    X509_NAME *name;
    char cn[80];

    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ca->cert = X509_new();
    name = ca->cert ? X509_get_subject_name(ca->cert) : NULL;
    snprintf(cn, sizeof(cn), "vitrum local EK CA%s%.32s", tpm_id ? " " : "", tpm_id ? tpm_id : "");
    if (!ca->key || !name ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"vitrum", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_version(ca->cert, X509_VERSION_3) || set_random_serial(ca->cert) != 0 ||
        !X509_set_issuer_name(ca->cert, name) || set_validity(ca->cert) != 0 ||
        !X509_set_pubkey(ca->cert, ca->key) ||
        add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
        add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(ca->cert, ca->cert, NID_authority_key_identifier, "keyid:always") != 0 ||
        sign_cert(ca->cert, ca->key) != 0) {
        ossl_error("cannot create the local EK CA");
        return -1;
    }
    return 0;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static void print_fingerprint(FILE *out, const char *label, X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    if (!X509_digest(cert, EVP_sha256(), md, &len))
        return;
    fprintf(out, "%sSHA-256 fingerprint ", label);
    for (i = 0; i < len; i++)
        fprintf(out, "%s%02X", i ? ":" : "", md[i]);
    fputc('\n', out);
}

/* The owner's CA, or the local one in the state directory (made now if
 * there is none).  Says which on `out`. */
static int ca_get(ek_ca *ca, const vt_mfg_opts *o, const char *dir, const char *tpm_id, FILE *out)
{
    char kp[4200], cp[4200];
    bool have_key, have_cert;

    if (o->ca_key) {
        char *subj;
        if (ca_load(ca, o->ca_key, o->ca_cert) != 0)
            return -1;
        subj = X509_NAME_oneline(X509_get_subject_name(ca->cert), NULL, 0);
        fprintf(out, "EK CA: %s (%s)\n", o->ca_cert, subj ? subj : "?");
        OPENSSL_free(subj);
        print_fingerprint(out, "  ", ca->cert);
        return 0;
    }
    snprintf(kp, sizeof(kp), "%s/%s", dir, LOCAL_CA_KEY);
    snprintf(cp, sizeof(cp), "%s/%s", dir, LOCAL_CA_CERT);
    have_key = file_exists(dir, LOCAL_CA_KEY);
    have_cert = file_exists(dir, LOCAL_CA_CERT);
    if (have_key != have_cert) {
        fprintf(stderr, "vitrum: the local EK CA in %s is incomplete (%s without %s); "
                        "remove it to make a new one, or give --ca-key/--ca-cert\n",
                dir, have_key ? LOCAL_CA_KEY : LOCAL_CA_CERT, have_key ? LOCAL_CA_CERT : LOCAL_CA_KEY);
        return -1;
    }
    if (have_key) {
        if (ca_load(ca, kp, cp) != 0)
            return -1;
        fprintf(out, "EK CA: the local CA %s (key %s)\n", cp, kp);
    } else {
        /* The key first: a crash between the two leaves a key alone,
         * which is refused above rather than silently replaced. */
        if (ca_create(ca, tpm_id) != 0 || write_pem(dir, LOCAL_CA_KEY, 0600, ca->key, NULL) != 0 ||
            write_pem(dir, LOCAL_CA_CERT, 0644, NULL, ca->cert) != 0)
            return -1;
        fprintf(out, "EK CA: created the local CA %s (key %s, mode 0600)\n", cp, kp);
    }
    print_fingerprint(out, "  ", ca->cert);
    PEM_write_X509(out, ca->cert);
    return 0;
}

/* ============================================================ provisioning */

static int tpm_identity(vt_engine *e, tpm_ident *id)
{
    uint32_t vs[4];
    TPM2_RC rc;
    unsigned i, j, n = 0;

    memset(id, 0, sizeof(*id));
    if ((rc = tpm_property(e, TPM2_PT_MANUFACTURER, &id->manufacturer)) != 0 ||
        (rc = tpm_property(e, TPM2_PT_FIRMWARE_VERSION_1, &id->fw1)) != 0 ||
        (rc = tpm_property(e, TPM2_PT_FAMILY_INDICATOR, &id->family)) != 0 ||
        (rc = tpm_property(e, TPM2_PT_LEVEL, &id->level)) != 0 ||
        (rc = tpm_property(e, TPM2_PT_REVISION, &id->revision)) != 0 ||
        (rc = tpm_property(e, TPM2_PT_NV_BUFFER_MAX, &id->nv_buffer_max)) != 0 ||
        (rc = tpm_property(e, TPM2_PT_NV_INDEX_MAX, &id->nv_index_max)) != 0) {
        tpm_error("TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)", rc);
        return -1;
    }
    for (i = 0; i < 4; i++)
        if ((rc = tpm_property(e, TPM2_PT_VENDOR_STRING_1 + i, &vs[i])) != 0) {
            tpm_error("TPM2_GetCapability(TPM_PT_VENDOR_STRING)", rc);
            return -1;
        }
    /* The model: the vendor strings' printable octets, up to the first NUL. */
    for (i = 0; i < 4 && (n == 4 * i); i++)
        for (j = 0; j < 4; j++) {
            char ch = (char)(vs[i] >> (24 - 8 * j));
            if (ch < 0x21 || ch > 0x7e)
                break;
            id->model[n++] = ch;
        }
    id->model[n] = 0;
    if (id->nv_buffer_max == 0 || id->nv_buffer_max > 1024)
        id->nv_buffer_max = 1024;
    return 0;
}

static void print_ek_line(FILE *out, const ek_kind *k, X509 *cert, int der_len, EVP_PKEY *ek)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *serial = bn ? BN_bn2hex(bn) : NULL;
    unsigned char *spki = NULL, md[32];
    int n = i2d_PUBKEY(ek, &spki);

    fprintf(out, "EK certificate %s (template %s): NV index 0x%08X, %d octets, serial %s\n", k->name,
            k->tmpl, k->index, der_len, serial ? serial : "?");
    if (n > 0 && EVP_Digest(spki, (size_t)n, md, NULL, EVP_sha256(), NULL)) {
        int i;
        fprintf(out, "  EK public key SHA-256 ");
        for (i = 0; i < 32; i++)
            fprintf(out, "%02x", md[i]);
        fputc('\n', out);
    }
    OPENSSL_free(spki);
    OPENSSL_free(serial);
    BN_free(bn);
}

/* Certify the EK of kind k and store the certificate in its index
 * (replacing what is there when `replace`). */
static int provision_one(vt_engine *e, const ek_kind *k, bool replace, const tpm_ident *id, const ek_ca *ca,
                         FILE *out)
{
    TPMT_PUBLIC tmpl;
    TPM2B_PUBLIC pub;
    TPM2_HANDLE h = 0;
    EVP_PKEY *ek = NULL;
    X509 *cert = NULL;
    unsigned char *der = NULL;
    uint8_t back[1024];
    int len = 0, rc = -1;
    TPM2_RC r;
    char what[96];
    uint16_t off, n;

    ek_template(k->ecc, &tmpl);
    r = tpm_create_primary(e, TPM2_RH_ENDORSEMENT, &tmpl, &h, &pub);
    if (r != TPM2_RC_SUCCESS) {
        snprintf(what, sizeof(what), "TPM2_CreatePrimary(TPM_RH_ENDORSEMENT, EK template %s)", k->tmpl);
        tpm_error(what, r);
        if (rc_is(r, TPM2_RC_BAD_AUTH) || rc_is(r, TPM2_RC_AUTH_FAIL))
            fprintf(stderr, "vitrum: the endorsement hierarchy has an authorization value; "
                            "manufacture needs it empty\n");
        goto out;
    }
    r = tpm_flush(e, h);
    if (r != TPM2_RC_SUCCESS) {
        tpm_error("TPM2_FlushContext(EK)", r);
        goto out;
    }
    ek = ek_public_key(&pub.publicArea, k->ecc);
    if (!ek || !(cert = ek_cert_make(ek, k->ecc, id, ca)))
        goto out;
    len = i2d_X509(cert, &der);
    if (len <= 0 || (uint32_t)len > id->nv_index_max || len > 0xFFFF) {
        fprintf(stderr, "vitrum: the %s EK certificate (%d octets) does not fit an NV index (at most %u)\n",
                k->name, len, id->nv_index_max);
        goto out;
    }
    if (replace) {
        r = tpm_nv_platform_op(e, TPM2_CC_NV_UndefineSpace, k->index);
        if (r != TPM2_RC_SUCCESS) {
            snprintf(what, sizeof(what), "TPM2_NV_UndefineSpace(TPM_RH_PLATFORM, 0x%08X)", k->index);
            tpm_error(what, r);
            goto out;
        }
    }
    r = tpm_nv_define(e, k->index, (uint16_t)len);
    if (r != TPM2_RC_SUCCESS) {
        snprintf(what, sizeof(what), "TPM2_NV_DefineSpace(TPM_RH_PLATFORM, 0x%08X)", k->index);
        tpm_error(what, r);
        goto out;
    }
    for (off = 0; off < (uint16_t)len; off = (uint16_t)(off + n)) {
        n = (uint16_t)((uint32_t)len - off < id->nv_buffer_max ? (uint32_t)len - off : id->nv_buffer_max);
        r = tpm_nv_write(e, k->index, der + off, n, off);
        if (r != TPM2_RC_SUCCESS) {
            snprintf(what, sizeof(what), "TPM2_NV_Write(TPM_RH_PLATFORM, 0x%08X, offset %u)", k->index, off);
            tpm_error(what, r);
            goto out;
        }
    }
    r = tpm_nv_platform_op(e, TPM2_CC_NV_WriteLock, k->index);
    if (r != TPM2_RC_SUCCESS) {
        snprintf(what, sizeof(what), "TPM2_NV_WriteLock(TPM_RH_PLATFORM, 0x%08X)", k->index);
        tpm_error(what, r);
        goto out;
    }
    /* Read it back as a client will. */
    for (off = 0; off < (uint16_t)len; off = (uint16_t)(off + n)) {
        n = (uint16_t)((uint32_t)len - off < id->nv_buffer_max ? (uint32_t)len - off : id->nv_buffer_max);
        if (n > sizeof(back))
            n = sizeof(back);
        r = tpm_nv_read(e, k->index, back, n, off);
        if (r != TPM2_RC_SUCCESS || memcmp(back, der + off, n) != 0) {
            snprintf(what, sizeof(what), "reading back NV index 0x%08X", k->index);
            tpm_error(what, r ? r : TPM2_RC_FAILURE);
            goto out;
        }
    }
    print_ek_line(out, k, cert, len, ek);
    rc = 0;
out:
    OPENSSL_free(der);
    X509_free(cert);
    EVP_PKEY_free(ek);
    return rc;
}

int vt_manufacture_engine(vt_engine *e, const char *state_dir, const char *tpm_id, const vt_mfg_opts *o,
                          FILE *out)
{
    vt_engine_info info;
    bool own_start, want[2], present[2], any = false, refuse = false;
    TPMS_NV_PUBLIC nvpub;
    tpm_ident id;
    ek_ca ca = { NULL, NULL };
    TPM2_RC r;
    int i, rc = 1;

    if (!o->ca_key != !o->ca_cert) {
        fprintf(stderr, "vitrum: --ca-key and --ca-cert go together\n");
        return 1;
    }
    want[0] = o->rsa || !o->ecc;
    want[1] = o->ecc || !o->rsa;

    vt_engine_get_info(e, &info);
    own_start = !info.started;
    if (own_start) {
        vt_engine_power_on(e);
        r = tpm_startup_shutdown(e, TPM2_CC_Startup, TPM2_SU_CLEAR);
        if (r != TPM2_RC_SUCCESS) {
            tpm_error("TPM2_Startup(CLEAR)", r);
            vt_engine_power_off(e);
            return 1;
        }
    }
    /* Which indices are there?  Decide everything before changing anything. */
    for (i = 0; i < 2; i++) {
        present[i] = false;
        if (!want[i])
            continue;
        r = tpm_nv_read_public(e, ek_kinds[i].index, &nvpub);
        if (r == TPM2_RC_SUCCESS) {
            present[i] = true;
        } else if (!rc_is(r, TPM2_RC_HANDLE)) {
            tpm_error("TPM2_NV_ReadPublic", r);
            goto out;
        }
        if (present[i] && !o->force) {
            if (o->if_absent) {
                want[i] = false;
                continue;
            }
            fprintf(stderr, "vitrum: NV index 0x%08X already holds an EK certificate (%s); "
                            "--force replaces it\n", ek_kinds[i].index, ek_kinds[i].name);
            refuse = true;
        }
        any = any || want[i];
    }
    if (refuse)
        goto out;
    if (!any) {
        rc = 0;
        goto out;
    }
    if (tpm_identity(e, &id) != 0 || ca_get(&ca, o, state_dir, tpm_id, out) != 0)
        goto out;
    for (i = 0; i < 2; i++)
        if (want[i] && provision_one(e, &ek_kinds[i], present[i], &id, &ca, out) != 0)
            goto out;
    rc = 0;
out:
    ca_free(&ca);
    if (own_start) {
        r = tpm_startup_shutdown(e, TPM2_CC_Shutdown, TPM2_SU_CLEAR);
        if (r != TPM2_RC_SUCCESS) {
            tpm_error("TPM2_Shutdown(CLEAR)", r);
            rc = 1;
        }
        vt_engine_power_off(e);
    }
    fflush(out);
    return rc;
}

int vt_manufacture(const char *state_dir, const char *key, const vt_engine_config *cfg, const vt_mfg_opts *o)
{
    vt_store store;
    vt_platform plat;
    vt_engine *e = NULL;
    vt_status st;
    char id[2 * VT_TPM_ID_SIZE + 1] = "";
    int rc;

    if (!o->ca_key != !o->ca_cert) {
        fprintf(stderr, "vitrum: --ca-key and --ca-cert go together\n");
        return 2;
    }
    if (vt_store_open(&store, state_dir) != 0 || (key && vt_store_set_key(&store, key) != 0)) {
        fprintf(stderr, "vitrum: %s\n", store.err);
        vt_store_close(&store);
        return 1;
    }
    vt_platform_posix(&plat, &store);
    st = vt_engine_new_ex(&plat, cfg, &e);
    if (st != VT_OK) {
        fprintf(stderr, "vitrum: cannot start the TPM in %s: %s%s%s\n", state_dir, vt_status_str(st),
                store.err[0] ? ": " : "", store.err);
        vt_store_close(&store);
        return 1;
    }
    if (store.warn[0])
        fprintf(stderr, "vitrum: warning: %s\n", store.warn);
    if (store.have_id)
        vt_hex_encode(store.id, VT_TPM_ID_SIZE, id);
    rc = vt_manufacture_engine(e, state_dir, store.have_id ? id : NULL, o, stdout);
    if (vt_engine_save(e) != VT_OK) {
        fprintf(stderr, "vitrum: cannot save the TPM state in %s\n", state_dir);
        rc = 1;
    }
    vt_engine_free(e);
    vt_store_close(&store);
    return rc;
}
