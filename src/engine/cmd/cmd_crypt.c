/* Asymmetric and symmetric encryption commands: TPM2_RSA_Encrypt (Part 3
 * §14.2), TPM2_RSA_Decrypt (§14.3), TPM2_ECDH_KeyGen (§14.4),
 * TPM2_ECDH_ZGen (§14.5), TPM2_ECC_Parameters (§14.7),
 * TPM2_EncryptDecrypt (§15.2) and TPM2_EncryptDecrypt2 (§15.3). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

/* TPM2B_DATA holds a TPMT_HA (Part 2 §10.4.3). */
#define MAX_LABEL ((size_t)sizeof(TPMT_HA))
#define AES_BLOCK 16u

/* The object named by handle 1.  The dispatcher has checked the handle is
 * an object or a sequence; a sequence is no key. */
static TPM2_RC object_of(vt_cmd *c, vt_object **o)
{
    *o = vt_object_find(c->e, c->handles[0]);
    return *o ? TPM2_RC_SUCCESS : VT_RC_H(TPM2_RC_KEY, 1);
}

/* ---- RSA ---- */

/* TPMT_RSA_DECRYPT as one parameter.  An unknown scheme is left in
 * ->scheme (nothing more read) for the caller to refuse. */
static TSS2_RC rsa_decrypt_unmarshal(const uint8_t *buf, size_t len, size_t *off, void *out)
{
    TPMT_RSA_DECRYPT *s = out;
    size_t o = *off;
    TSS2_RC r;

    memset(s, 0, sizeof(*s));
    r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &s->scheme);
    if (r == TSS2_RC_SUCCESS && s->scheme == TPM2_ALG_OAEP)
        r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &s->details.oaep.hashAlg);
    if (r == TSS2_RC_SUCCESS)
        *off = o;
    return r;
}

/* inScheme: TPMI_ALG_RSA_DECRYPT+ is RSAES, OAEP or NULL (TPM_RC_VALUE
 * otherwise); OAEP needs an implemented hash. */
static TPM2_RC read_rsa_scheme(vt_in *in, TPMT_RSA_DECRYPT *s)
{
    RETURN_IF_ERROR(vt_in_mu(in, rsa_decrypt_unmarshal, s));
    if (s->scheme != TPM2_ALG_NULL && s->scheme != TPM2_ALG_RSAES && s->scheme != TPM2_ALG_OAEP)
        return vt_in_rc(in, TPM2_RC_VALUE);
    if (s->scheme == TPM2_ALG_OAEP && vt_hash_size(s->details.oaep.hashAlg) == 0)
        return vt_in_rc(in, TPM2_RC_HASH);
    return TPM2_RC_SUCCESS;
}

/* The scheme an RSA encryption uses: the key's when it has one (then the
 * request must be NULL or the same), else the request, which may be NULL
 * too (raw RSA).  false when they differ. */
static bool rsa_select_scheme(const vt_object *key, const TPMT_RSA_DECRYPT *req,
                              TPMT_RSA_DECRYPT *out)
{
    const TPMT_RSA_SCHEME *ks = &key->pub.parameters.rsaDetail.scheme;

    if (ks->scheme == TPM2_ALG_NULL) {
        *out = *req;
        return true;
    }
    memset(out, 0, sizeof(*out));
    out->scheme = ks->scheme;
    if (ks->scheme == TPM2_ALG_OAEP)
        out->details.oaep.hashAlg = ks->details.oaep.hashAlg;
    if (req->scheme == TPM2_ALG_NULL)
        return out->scheme == TPM2_ALG_RSAES || out->scheme == TPM2_ALG_OAEP;
    return req->scheme == out->scheme &&
           (req->scheme != TPM2_ALG_OAEP || req->details.oaep.hashAlg == out->details.oaep.hashAlg);
}

/* The OAEP label is a NUL-terminated string (Part 1 Annex B.4): an empty
 * label, or one whose last octet is zero.  Part 3 §14.2/§14.3 answer any
 * other label with TPM_RC_VALUE (swtpm does the same: it does not append
 * the zero). */
static bool label_ok(const uint8_t *label, uint16_t n)
{
    return n == 0 || label[n - 1] == 0;
}

TPM2_RC vt_cmd_rsa_encrypt(vt_cmd *c)
{
    const uint8_t *msg, *label;
    uint16_t mlen, llen;
    TPMT_RSA_DECRYPT req, scheme;
    uint8_t out[TPM2_MAX_RSA_KEY_BYTES];
    size_t olen = sizeof(out);
    vt_object *key;
    vt_key *k;
    int r;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &msg, &mlen, TPM2_MAX_RSA_KEY_BYTES));
    RETURN_IF_ERROR(read_rsa_scheme(&c->in, &req));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &label, &llen, MAX_LABEL));
    RETURN_IF_ERROR(vt_in_end(&c->in));

    RETURN_IF_ERROR(object_of(c, &key));
    if (key->pub.type != TPM2_ALG_RSA)
        return VT_RC_H(TPM2_RC_KEY, 1);
    if (!(key->pub.objectAttributes & TPMA_OBJECT_DECRYPT))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    if (!label_ok(label, llen))
        return VT_RC_P(TPM2_RC_VALUE, 3);
    if (!rsa_select_scheme(key, &req, &scheme))
        return VT_RC_P(TPM2_RC_SCHEME, 2);
    k = vt_object_key(key);
    if (!k)
        return VT_RC_H(TPM2_RC_KEY, 1);
    /* Fails when the message is too long for the padding, or (raw RSA) not
     * below the modulus. */
    r = vt_rsa_encrypt(k, scheme.scheme, scheme.details.oaep.hashAlg, label, llen, msg, mlen, out,
                       &olen);
    if (r != 0)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    vt_out_2b(&c->out, out, (uint16_t)olen);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_rsa_decrypt(vt_cmd *c)
{
    const uint8_t *ct, *label;
    uint16_t clen, llen;
    TPMT_RSA_DECRYPT req, scheme;
    uint8_t out[TPM2_MAX_RSA_KEY_BYTES];
    size_t olen = sizeof(out);
    vt_object *key;
    vt_key *k;
    int r;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &ct, &clen, TPM2_MAX_RSA_KEY_BYTES));
    RETURN_IF_ERROR(read_rsa_scheme(&c->in, &req));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &label, &llen, MAX_LABEL));
    RETURN_IF_ERROR(vt_in_end(&c->in));

    RETURN_IF_ERROR(object_of(c, &key));
    if (key->pub.type != TPM2_ALG_RSA || !key->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, 1);
    /* Only an unrestricted decryption key: a restricted one decrypts only
     * structures the TPM made (Part 3 §14.3). */
    if ((key->pub.objectAttributes & TPMA_OBJECT_RESTRICTED) ||
        !(key->pub.objectAttributes & TPMA_OBJECT_DECRYPT))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    if (!label_ok(label, llen))
        return VT_RC_P(TPM2_RC_VALUE, 3);
    if (!rsa_select_scheme(key, &req, &scheme))
        return VT_RC_P(TPM2_RC_SCHEME, 2);
    if (clen != key->pub.unique.rsa.size)
        return VT_RC_P(TPM2_RC_SIZE, 1);
    k = vt_object_key(key);
    if (!k)
        return VT_RC_H(TPM2_RC_KEY, 1);
    /* -2: the padding does not check; -1: the value is not below the
     * modulus.  Either way TPM_RC_VALUE, and nothing said about which. */
    r = vt_rsa_decrypt(k, scheme.scheme, scheme.details.oaep.hashAlg, label, llen, ct, clen, out,
                       &olen);
    if (r != 0) {
        vt_wipe(out, sizeof(out));
        return VT_RC_P(TPM2_RC_VALUE, 1);
    }
    vt_out_2b(&c->out, out, (uint16_t)olen);
    vt_wipe(out, sizeof(out));
    return TPM2_RC_SUCCESS;
}

/* ---- ECC ---- */

/* TPM2B_ECC_POINT: the size must be that of the point it holds, and not 0
 * (Part 2 §11.2.5.3). */
static TSS2_RC ecc_point_unmarshal(const uint8_t *buf, size_t len, size_t *off, void *out)
{
    TPM2B_ECC_POINT *p = out;
    size_t o = *off, start;
    TSS2_RC r;

    memset(p, 0, sizeof(*p));
    r = Tss2_MU_UINT16_Unmarshal(buf, len, &o, &p->size);
    if (r != TSS2_RC_SUCCESS)
        return r;
    if (p->size == 0)
        return TSS2_MU_RC_BAD_SIZE;
    if (len - o < p->size)
        return TSS2_MU_RC_INSUFFICIENT_BUFFER;
    start = o;
    r = Tss2_MU_TPMS_ECC_POINT_Unmarshal(buf, start + p->size, &o, &p->point);
    if (r == TSS2_MU_RC_INSUFFICIENT_BUFFER)
        return TSS2_MU_RC_BAD_SIZE; /* the size and the contents disagree */
    if (r != TSS2_RC_SUCCESS)
        return r;
    if (o - start != p->size)
        return TSS2_MU_RC_BAD_SIZE;
    *off = o;
    return TSS2_RC_SUCCESS;
}

static void out_ecc_point(vt_out *o, const uint8_t *x, const uint8_t *y, size_t n)
{
    vt_out_u16(o, (uint16_t)(4u + 2u * n));
    vt_out_2b(o, x, (uint16_t)n);
    vt_out_2b(o, y, (uint16_t)n);
}

static int drbg_octets(void *ctx, uint8_t *out, size_t len)
{
    return vt_random((vt_engine *)ctx, out, len) == TPM2_RC_SUCCESS ? 0 : -1;
}

TPM2_RC vt_cmd_ecdh_keygen(vt_cmd *c)
{
    vt_object *key;
    TPM2_ECC_CURVE curve;
    const TPMS_ECC_POINT *q;
    uint8_t d[TPM2_MAX_ECC_KEY_BYTES];
    uint8_t zx[TPM2_MAX_ECC_KEY_BYTES], zy[TPM2_MAX_ECC_KEY_BYTES];
    uint8_t px[TPM2_MAX_ECC_KEY_BYTES], py[TPM2_MAX_ECC_KEY_BYTES];
    size_t n;
    int r;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(object_of(c, &key));
    if (key->pub.type != TPM2_ALG_ECC)
        return VT_RC_H(TPM2_RC_KEY, 1);
    curve = key->pub.parameters.eccDetail.curveID;
    n = vt_ecc_size(curve);
    if (n == 0 || n > sizeof(d))
        return VT_RC_H(TPM2_RC_KEY, 1);
    q = &key->pub.unique.ecc;
    /* An ephemeral key (d, P = dG) and Z = d * Q(key). */
    if (vt_ecc_generate(curve, drbg_octets, c->e, d) != 0)
        return TPM2_RC_FAILURE;
    r = vt_ecc_mul(curve, d, n, NULL, 0, NULL, 0, px, py);
    if (r == 0)
        r = vt_ecc_mul(curve, d, n, q->x.buffer, q->x.size, q->y.buffer, q->y.size, zx, zy);
    vt_wipe(d, sizeof(d));
    if (r != 0) {
        vt_wipe(zx, sizeof(zx));
        /* The key's public point is not on its curve. */
        return VT_RC_H(TPM2_RC_KEY, 1);
    }
    out_ecc_point(&c->out, zx, zy, n);
    out_ecc_point(&c->out, px, py, n);
    vt_wipe(zx, sizeof(zx));
    vt_wipe(zy, sizeof(zy));
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_ecdh_zgen(vt_cmd *c)
{
    TPM2B_ECC_POINT in;
    vt_object *key;
    TPM2_ECC_CURVE curve;
    const TPM2B_ECC_PARAMETER *d;
    uint8_t zx[TPM2_MAX_ECC_KEY_BYTES], zy[TPM2_MAX_ECC_KEY_BYTES];
    size_t n;
    TPM2_ALG_ID scheme;

    RETURN_IF_ERROR(vt_in_mu(&c->in, ecc_point_unmarshal, &in));
    RETURN_IF_ERROR(vt_in_end(&c->in));

    RETURN_IF_ERROR(object_of(c, &key));
    if (key->pub.type != TPM2_ALG_ECC || !key->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, 1);
    if ((key->pub.objectAttributes & TPMA_OBJECT_RESTRICTED) ||
        !(key->pub.objectAttributes & TPMA_OBJECT_DECRYPT))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    scheme = key->pub.parameters.eccDetail.scheme.scheme;
    if (scheme != TPM2_ALG_NULL && scheme != TPM2_ALG_ECDH)
        return VT_RC_H(TPM2_RC_SCHEME, 1);
    curve = key->pub.parameters.eccDetail.curveID;
    n = vt_ecc_size(curve);
    if (n == 0 || n > sizeof(zx))
        return VT_RC_H(TPM2_RC_KEY, 1);
    if (!vt_ecc_point_valid(curve, in.point.x.buffer, in.point.x.size, in.point.y.buffer,
                            in.point.y.size))
        return VT_RC_P(TPM2_RC_ECC_POINT, 1);
    d = &key->sens.sensitive.ecc;
    if (vt_ecc_mul(curve, d->buffer, d->size, in.point.x.buffer, in.point.x.size,
                   in.point.y.buffer, in.point.y.size, zx, zy) != 0)
        return TPM2_RC_NO_RESULT; /* the product is the point at infinity */
    out_ecc_point(&c->out, zx, zy, n);
    vt_wipe(zx, sizeof(zx));
    vt_wipe(zy, sizeof(zy));
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_ecc_parameters(vt_cmd *c)
{
    uint16_t curve;
    TPMS_ALGORITHM_DETAIL_ECC det;

    RETURN_IF_ERROR(vt_in_u16(&c->in, &curve));
    /* TPMI_ECC_CURVE: an implemented curve, else TPM_RC_CURVE. */
    if (vt_ecc_size(curve) == 0)
        return vt_in_rc(&c->in, TPM2_RC_CURVE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    memset(&det, 0, sizeof(det));
    if (vt_ecc_parameters(curve, &det) != 0)
        return VT_RC_P(TPM2_RC_CURVE, 1);
    VT_OUT(&c->out, TPMS_ALGORITHM_DETAIL_ECC, &det);
    return TPM2_RC_SUCCESS;
}

/* ---- symmetric encryption ---- */

/* Parameter numbers of EncryptDecrypt's mode, ivIn and inData, which
 * EncryptDecrypt2 reorders (its data comes first so that it can be
 * parameter-encrypted). */
typedef struct {
    unsigned mode, iv, data;
} crypt_params;

static bool is_cipher_mode(TPM2_ALG_ID m)
{
    return m == TPM2_ALG_CTR || m == TPM2_ALG_OFB || m == TPM2_ALG_CBC || m == TPM2_ALG_CFB ||
           m == TPM2_ALG_ECB;
}

static TPM2_RC read_yes_no(vt_in *in, uint8_t *v)
{
    RETURN_IF_ERROR(vt_in_u8(in, v));
    return *v > 1 ? vt_in_rc(in, TPM2_RC_VALUE) : TPM2_RC_SUCCESS;
}

/* TPMI_ALG_CIPHER_MODE+: a block cipher mode or NULL, else TPM_RC_MODE. */
static TPM2_RC read_mode(vt_in *in, uint16_t *m)
{
    RETURN_IF_ERROR(vt_in_u16(in, m));
    return (*m != TPM2_ALG_NULL && !is_cipher_mode(*m)) ? vt_in_rc(in, TPM2_RC_MODE)
                                                          : TPM2_RC_SUCCESS;
}

/* The action shared by both commands (Part 3 §15.2.?/§15.3). */
static TPM2_RC encrypt_decrypt(vt_cmd *c, const crypt_params *pn, uint8_t decrypt, uint16_t mode,
                               const uint8_t *iv, uint16_t iv_len, const uint8_t *data,
                               uint16_t len)
{
    vt_object *key;
    const TPMT_SYM_DEF_OBJECT *sym;
    TPMA_OBJECT a;
    uint8_t ivbuf[AES_BLOCK];
    uint8_t out[TPM2_MAX_DIGEST_BUFFER];
    size_t kbytes;
    int r;

    RETURN_IF_ERROR(object_of(c, &key));
    if (key->pub.type != TPM2_ALG_SYMCIPHER || !key->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, 1);
    a = key->pub.objectAttributes;
    /* Unrestricted, and decrypt SET to decrypt or sign SET (here: encrypt)
     * to encrypt. */
    if ((a & TPMA_OBJECT_RESTRICTED) ||
        !(a & (decrypt ? TPMA_OBJECT_DECRYPT : TPMA_OBJECT_SIGN_ENCRYPT)))
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    sym = &key->pub.parameters.symDetail.sym;
    if (sym->algorithm != TPM2_ALG_AES)
        return VT_RC_H(TPM2_RC_KEY, 1);
    /* The key's mode wins; a NULL key mode takes the command's, which then
     * may not be NULL. */
    if (sym->mode.sym == TPM2_ALG_NULL) {
        if (mode == TPM2_ALG_NULL)
            return VT_RC_P(TPM2_RC_MODE, pn->mode);
    } else if (!is_cipher_mode(sym->mode.sym)) {
        return VT_RC_H(TPM2_RC_MODE, 1);
    } else if (mode != TPM2_ALG_NULL && mode != sym->mode.sym) {
        return VT_RC_P(TPM2_RC_MODE, pn->mode);
    } else {
        mode = sym->mode.sym;
    }
    /* ECB takes no IV; every other mode one block. */
    if (iv_len != (mode == TPM2_ALG_ECB ? 0u : AES_BLOCK))
        return VT_RC_P(TPM2_RC_SIZE, pn->iv);
    if ((mode == TPM2_ALG_CBC || mode == TPM2_ALG_ECB) && len % AES_BLOCK != 0)
        return VT_RC_P(TPM2_RC_SIZE, pn->data);
    kbytes = sym->keyBits.aes / 8u;
    if (key->sens.sensitive.sym.size != kbytes)
        return VT_RC_H(TPM2_RC_KEY, 1);

    memset(ivbuf, 0, sizeof(ivbuf));
    memcpy(ivbuf, iv, iv_len);
    r = vt_aes_crypt(mode, !decrypt, key->sens.sensitive.sym.buffer, kbytes, ivbuf, data, len, out);
    if (r == -2)
        return VT_RC_P(TPM2_RC_SIZE, pn->data);
    if (r != 0)
        return TPM2_RC_FAILURE;
    vt_out_2b(&c->out, out, len);
    vt_out_2b(&c->out, ivbuf, iv_len);
    vt_wipe(out, sizeof(out));
    return TPM2_RC_SUCCESS;
}

/* TPM2_EncryptDecrypt: decrypt, mode, ivIn, inData. */
TPM2_RC vt_cmd_encrypt_decrypt(vt_cmd *c)
{
    static const crypt_params pn = { 2, 3, 4 };
    uint8_t decrypt;
    uint16_t mode, iv_len, len;
    const uint8_t *iv, *data;

    RETURN_IF_ERROR(read_yes_no(&c->in, &decrypt));
    RETURN_IF_ERROR(read_mode(&c->in, &mode));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &iv, &iv_len, TPM2_MAX_SYM_BLOCK_SIZE));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &len, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    return encrypt_decrypt(c, &pn, decrypt, mode, iv, iv_len, data, len);
}

/* TPM2_EncryptDecrypt2: inData, decrypt, mode, ivIn. */
TPM2_RC vt_cmd_encrypt_decrypt2(vt_cmd *c)
{
    static const crypt_params pn = { 3, 4, 1 };
    uint8_t decrypt;
    uint16_t mode, iv_len, len;
    const uint8_t *iv, *data;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &len, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(read_yes_no(&c->in, &decrypt));
    RETURN_IF_ERROR(read_mode(&c->in, &mode));
    RETURN_IF_ERROR(vt_in_2b(&c->in, &iv, &iv_len, TPM2_MAX_SYM_BLOCK_SIZE));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    return encrypt_decrypt(c, &pn, decrypt, mode, iv, iv_len, data, len);
}
