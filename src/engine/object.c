/* Objects: slots, names, attribute checks, protection and tickets
 * (TPM 2.0 Part 1 §23–§27; see object.h for the shape). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"

#define TICKET_HASH TPM2_ALG_SHA256

/* ---- lookup and lifetime ---- */

vt_object *vt_object_find(vt_engine *e, TPM2_HANDLE h)
{
    unsigned i;

    if ((h >> 24) == TPM2_HT_TRANSIENT) {
        for (i = 0; i < VT_MAX_OBJECTS; i++)
            if (e->v.objects[i].used && e->v.objects[i].handle == h)
                return &e->v.objects[i];
    } else if ((h >> 24) == TPM2_HT_PERSISTENT) {
        for (i = 0; i < VT_MAX_PERSISTENT; i++)
            if (e->p.persistent[i].used && e->p.persistent[i].handle == h)
                return &e->p.persistent[i];
    }
    return NULL;
}

static bool transient_handle_taken(vt_engine *e, TPM2_HANDLE h)
{
    return vt_object_find(e, h) != NULL || vt_sequence_find(e, h) != NULL;
}

size_t vt_handle_name(TPM2_HANDLE h, uint8_t *out)
{
    out[0] = (uint8_t)(h >> 24);
    out[1] = (uint8_t)(h >> 16);
    out[2] = (uint8_t)(h >> 8);
    out[3] = (uint8_t)h;
    return 4;
}

size_t vt_public_name(const TPMT_PUBLIC *pub, uint8_t *name)
{
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0, n;

    if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return 0;
    n = vt_hash(pub->nameAlg, buf, off, name + 2);
    if (n == 0)
        return 0;
    name[0] = (uint8_t)(pub->nameAlg >> 8);
    name[1] = (uint8_t)pub->nameAlg;
    return n + 2;
}

size_t vt_qualified_name(TPM2_ALG_ID name_alg, const uint8_t *parent_qn, size_t pqn_len,
                         const uint8_t *name, size_t name_len, uint8_t *out)
{
    vt_buf parts[2] = { { parent_qn, pqn_len }, { name, name_len } };
    size_t n = vt_hash_parts(name_alg, parts, 2, out + 2);

    if (n == 0)
        return 0;
    out[0] = (uint8_t)(name_alg >> 8);
    out[1] = (uint8_t)name_alg;
    return n + 2;
}

TPM2_RC vt_object_load(vt_engine *e, const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens,
                       TPMI_RH_HIERARCHY hierarchy, const uint8_t *parent_qname,
                       uint16_t parent_qname_len, vt_object **out)
{
    vt_object *o = NULL;
    unsigned i;
    size_t n;

    for (i = 0; i < VT_MAX_OBJECTS; i++)
        if (!e->v.objects[i].used) {
            o = &e->v.objects[i];
            break;
        }
    if (!o)
        return TPM2_RC_OBJECT_MEMORY;
    memset(o, 0, sizeof(*o));
    o->pub = *pub;
    if (sens) {
        o->sens = *sens;
        o->has_sensitive = true;
    }
    o->hierarchy = hierarchy;
    n = vt_public_name(pub, o->name);
    if (n == 0)
        return TPM2_RC_HASH;
    o->name_len = (uint16_t)n;
    n = vt_qualified_name(pub->nameAlg, parent_qname, parent_qname_len, o->name, o->name_len,
                          o->qname);
    if (n == 0)
        return TPM2_RC_HASH;
    o->qname_len = (uint16_t)n;
    do
        o->handle = 0x80000000u + (e->v.next_handle++ & 0x00FFFFFFu);
    while (transient_handle_taken(e, o->handle));
    o->used = true;
    *out = o;
    return TPM2_RC_SUCCESS;
}

void vt_object_flush(vt_engine *e, vt_object *o)
{
    (void)e;
    if (!o)
        return;
    vt_key_free(o->key);
    vt_wipe(o, sizeof(*o));
}

void vt_object_flush_all(vt_engine *e, bool all, TPMI_RH_HIERARCHY h)
{
    unsigned i;

    for (i = 0; i < VT_MAX_OBJECTS; i++)
        if (e->v.objects[i].used && (all || e->v.objects[i].hierarchy == h))
            vt_object_flush(e, &e->v.objects[i]);
}

void vt_engine_set_client(vt_engine *e, uint32_t client)
{
    e->client = client;
}

void vt_engine_claim(vt_engine *e, TPM2_HANDLE h)
{
    vt_object *o;
    vt_sequence *sq;
    vt_session *ss;

    if ((o = vt_object_find(e, h)) != NULL && (h >> 24) == TPM2_HT_TRANSIENT)
        o->owner = e->client;
    else if ((sq = vt_sequence_find(e, h)) != NULL)
        sq->owner = e->client;
    else if ((ss = vt_session_find(e, h)) != NULL)
        ss->owner = e->client;
}

void vt_engine_client_gone(vt_engine *e, uint32_t client)
{
    unsigned i;

    if (client == 0)
        return;
    /* A context-saved session belongs to whoever holds its blob: only
     * loaded ones go. */
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++)
        if (e->v.sessions[i].used && !e->v.sessions[i].saved && e->v.sessions[i].owner == client)
            vt_session_free(&e->v.sessions[i]);
    for (i = 0; i < VT_MAX_OBJECTS; i++)
        if (e->v.objects[i].used && e->v.objects[i].owner == client)
            vt_object_flush(e, &e->v.objects[i]);
    for (i = 0; i < VT_MAX_SEQUENCES; i++)
        if (e->v.seq[i].kind != VT_SEQ_FREE && e->v.seq[i].owner == client) {
            vt_wipe(&e->v.seq[i], sizeof(e->v.seq[i]));
            e->v.seq[i].kind = VT_SEQ_FREE;
        }
    if (e->client == client)
        e->client = 0;
}

unsigned vt_objects_loaded(const vt_engine *e)
{
    unsigned i, n = 0;

    for (i = 0; i < VT_MAX_OBJECTS; i++)
        n += e->v.objects[i].used;
    return n;
}

unsigned vt_objects_persistent(const vt_engine *e)
{
    unsigned i, n = 0;

    for (i = 0; i < VT_MAX_PERSISTENT; i++)
        n += e->p.persistent[i].used;
    return n;
}

vt_key *vt_object_key(vt_object *o)
{
    const TPMT_PUBLIC *p = &o->pub;
    bool priv = o->has_sensitive;

    if (o->key)
        return o->key;
    if (p->type == TPM2_ALG_RSA) {
        o->key = vt_key_rsa(p->unique.rsa.buffer, p->unique.rsa.size, p->parameters.rsaDetail.exponent,
                            o->sens.sensitive.rsa.buffer, priv ? o->sens.sensitive.rsa.size : 0);
    } else if (p->type == TPM2_ALG_ECC) {
        o->key = vt_key_ecc(p->parameters.eccDetail.curveID, p->unique.ecc.x.buffer, p->unique.ecc.x.size,
                            p->unique.ecc.y.buffer, p->unique.ecc.y.size, o->sens.sensitive.ecc.buffer,
                            priv ? o->sens.sensitive.ecc.size : 0);
    }
    return o->key;
}

/* ---- checks ---- */

bool vt_object_is_storage_parent(const vt_object *o)
{
    TPMA_OBJECT a = o->pub.objectAttributes;

    if (!o->has_sensitive || o->external)
        return false;
    if ((a & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT)) !=
        (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT))
        return false;
    switch (o->pub.type) {
    case TPM2_ALG_RSA: return o->pub.parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_NULL;
    case TPM2_ALG_ECC: return o->pub.parameters.eccDetail.symmetric.algorithm != TPM2_ALG_NULL;
    case TPM2_ALG_SYMCIPHER: return true;
    default: return false;
    }
}

static bool hash_ok(TPM2_ALG_ID h)
{
    return vt_hash_size(h) != 0;
}

/* A symmetric definition for a storage key or parameter protection:
 * AES-128/192/256 in CFB (Part 1 §27.? : a parent's symmetric mode is CFB). */
static TPM2_RC check_sym_object(const TPMT_SYM_DEF_OBJECT *s, bool storage)
{
    if (s->algorithm == TPM2_ALG_NULL)
        return storage ? TPM2_RC_SYMMETRIC : TPM2_RC_SUCCESS;
    if (!storage)
        return TPM2_RC_SYMMETRIC;
    if (s->algorithm != TPM2_ALG_AES)
        return TPM2_RC_SYMMETRIC;
    if (s->keyBits.aes != 128 && s->keyBits.aes != 192 && s->keyBits.aes != 256)
        return TPM2_RC_VALUE; /* TPMI_*_KEY_BITS: #TPM_RC_VALUE (Part 2) */
    if (s->mode.aes != TPM2_ALG_CFB)
        return TPM2_RC_MODE;
    return TPM2_RC_SUCCESS;
}

static TPM2_RC check_rsa(const TPMT_PUBLIC *pub, TPMA_OBJECT a)
{
    const TPMS_RSA_PARMS *r = &pub->parameters.rsaDetail;
    bool restricted = a & TPMA_OBJECT_RESTRICTED, sign = a & TPMA_OBJECT_SIGN_ENCRYPT,
         decrypt = a & TPMA_OBJECT_DECRYPT;

    if (r->keyBits != 1024 && r->keyBits != 2048 && r->keyBits != 3072 && r->keyBits != 4096)
        return TPM2_RC_VALUE; /* TPMI_*_KEY_BITS: #TPM_RC_VALUE (Part 2) */
    if (r->exponent != 0 && (r->exponent < 3 || !(r->exponent & 1)))
        return TPM2_RC_VALUE;
    RETURN_IF_ERROR(check_sym_object(&r->symmetric, restricted && decrypt));
    switch (r->scheme.scheme) {
    case TPM2_ALG_NULL:
        if (restricted && sign)
            return TPM2_RC_SCHEME;
        return TPM2_RC_SUCCESS;
    case TPM2_ALG_RSASSA: case TPM2_ALG_RSAPSS:
        if (!sign || decrypt)
            return TPM2_RC_SCHEME;
        break;
    case TPM2_ALG_RSAES:
        if (!decrypt || sign || restricted)
            return TPM2_RC_SCHEME;
        return TPM2_RC_SUCCESS;
    case TPM2_ALG_OAEP:
        if (!decrypt || sign || restricted)
            return TPM2_RC_SCHEME;
        break;
    default:
        return TPM2_RC_SCHEME;
    }
    return hash_ok(r->scheme.details.anySig.hashAlg) ? TPM2_RC_SUCCESS : TPM2_RC_HASH;
}

static TPM2_RC check_ecc(const TPMT_PUBLIC *pub, TPMA_OBJECT a)
{
    const TPMS_ECC_PARMS *p = &pub->parameters.eccDetail;
    bool restricted = a & TPMA_OBJECT_RESTRICTED, sign = a & TPMA_OBJECT_SIGN_ENCRYPT,
         decrypt = a & TPMA_OBJECT_DECRYPT;

    if (vt_ecc_size(p->curveID) == 0)
        return TPM2_RC_CURVE;
    if (p->kdf.scheme != TPM2_ALG_NULL)
        return TPM2_RC_KDF;
    RETURN_IF_ERROR(check_sym_object(&p->symmetric, restricted && decrypt));
    switch (p->scheme.scheme) {
    case TPM2_ALG_NULL:
        if (restricted && sign)
            return TPM2_RC_SCHEME;
        return TPM2_RC_SUCCESS;
    case TPM2_ALG_ECDSA:
        if (!sign || decrypt)
            return TPM2_RC_SCHEME;
        break;
    case TPM2_ALG_ECDH:
        if (!decrypt || sign || restricted)
            return TPM2_RC_SCHEME;
        break;
    default:
        return TPM2_RC_SCHEME;
    }
    return hash_ok(p->scheme.details.anySig.hashAlg) ? TPM2_RC_SUCCESS : TPM2_RC_HASH;
}

static TPM2_RC check_keyedhash(const TPMT_PUBLIC *pub, TPMA_OBJECT a)
{
    const TPMT_KEYEDHASH_SCHEME *s = &pub->parameters.keyedHashDetail.scheme;
    bool restricted = a & TPMA_OBJECT_RESTRICTED, sign = a & TPMA_OBJECT_SIGN_ENCRYPT,
         decrypt = a & TPMA_OBJECT_DECRYPT;

    switch (s->scheme) {
    case TPM2_ALG_NULL:
        /* Sealed data (neither sign nor decrypt), or an unrestricted HMAC
         * key whose scheme comes with each command. */
        if (restricted)
            return TPM2_RC_SCHEME;
        if (sign && decrypt)
            return TPM2_RC_ATTRIBUTES;
        return TPM2_RC_SUCCESS;
    case TPM2_ALG_HMAC:
        if (!sign || decrypt)
            return TPM2_RC_SCHEME;
        return hash_ok(s->details.hmac.hashAlg) ? TPM2_RC_SUCCESS : TPM2_RC_HASH;
    case TPM2_ALG_XOR:
        if (sign || !decrypt)
            return TPM2_RC_SCHEME;
        if (!hash_ok(s->details.exclusiveOr.hashAlg))
            return TPM2_RC_HASH;
        return s->details.exclusiveOr.kdf == TPM2_ALG_KDF1_SP800_108 ? TPM2_RC_SUCCESS : TPM2_RC_KDF;
    default:
        return TPM2_RC_SCHEME;
    }
}

static TPM2_RC check_symcipher(const TPMT_PUBLIC *pub, TPMA_OBJECT a)
{
    const TPMT_SYM_DEF_OBJECT *s = &pub->parameters.symDetail.sym;
    bool restricted = a & TPMA_OBJECT_RESTRICTED;

    if (s->algorithm != TPM2_ALG_AES)
        return TPM2_RC_SYMMETRIC;
    if (s->keyBits.aes != 128 && s->keyBits.aes != 192 && s->keyBits.aes != 256)
        return TPM2_RC_VALUE; /* TPMI_*_KEY_BITS: #TPM_RC_VALUE (Part 2) */
    switch (s->mode.aes) {
    case TPM2_ALG_CFB: case TPM2_ALG_NULL: return TPM2_RC_SUCCESS;
    case TPM2_ALG_CTR: case TPM2_ALG_OFB: case TPM2_ALG_CBC: case TPM2_ALG_ECB:
        /* A storage (restricted) symmetric key protects in CFB only; NULL
         * lets the use decide, and protection is always CFB. */
        return restricted ? TPM2_RC_MODE : TPM2_RC_SUCCESS;
    default:
        return TPM2_RC_MODE;
    }
}

TPM2_RC vt_public_check(const TPMT_PUBLIC *pub, const vt_object *parent, bool primary)
{
    TPMA_OBJECT a = pub->objectAttributes;
    bool restricted = a & TPMA_OBJECT_RESTRICTED, sign = a & TPMA_OBJECT_SIGN_ENCRYPT,
         decrypt = a & TPMA_OBJECT_DECRYPT;
    size_t hlen;

    (void)primary;
    if (pub->type != TPM2_ALG_RSA && pub->type != TPM2_ALG_ECC && pub->type != TPM2_ALG_KEYEDHASH &&
        pub->type != TPM2_ALG_SYMCIPHER)
        return TPM2_RC_TYPE;
    hlen = vt_hash_size(pub->nameAlg);
    if (hlen == 0)
        return TPM2_RC_HASH;
    /* Reserved bits (Part 2 §8.3.2). */
    if (a & (0x1u | 0x8u | 0x100u | 0x200u | 0x1000u | 0x2000u | 0x4000u | 0x8000u | 0xFFF00000u))
        return TPM2_RC_RESERVED_BITS;
    if (pub->authPolicy.size != 0 && pub->authPolicy.size != hlen)
        return TPM2_RC_SIZE;
    /* Part 1 §27.? : fixedTPM needs fixedParent; a child of a parent that
     * can leave this TPM cannot be fixedTPM. */
    if ((a & TPMA_OBJECT_FIXEDTPM) && !(a & TPMA_OBJECT_FIXEDPARENT))
        return TPM2_RC_ATTRIBUTES;
    if (parent) {
        TPMA_OBJECT pa = parent->pub.objectAttributes;
        if ((a & TPMA_OBJECT_FIXEDTPM) && !(pa & TPMA_OBJECT_FIXEDTPM))
            return TPM2_RC_ATTRIBUTES;
        /* A child that cannot leave its parent is as fixed as the parent
         * (Part 1 §27.?): fixedParent SET means fixedTPM equals the
         * parent's. */
        if ((a & TPMA_OBJECT_FIXEDPARENT) && !(a & TPMA_OBJECT_FIXEDTPM) && (pa & TPMA_OBJECT_FIXEDTPM))
            return TPM2_RC_ATTRIBUTES;
        /* encryptedDuplication is inherited by children that can move
         * with their parent (Part 1 §23.?). */
        if ((pa & TPMA_OBJECT_ENCRYPTEDDUPLICATION) && (a & TPMA_OBJECT_FIXEDPARENT) &&
            !(a & TPMA_OBJECT_ENCRYPTEDDUPLICATION))
            return TPM2_RC_ATTRIBUTES;
    }
    if ((a & TPMA_OBJECT_ENCRYPTEDDUPLICATION) && (a & TPMA_OBJECT_FIXEDTPM))
        return TPM2_RC_ATTRIBUTES;
    /* A restricted key is either a signing key or a decryption key. */
    if (restricted && sign == decrypt)
        return TPM2_RC_ATTRIBUTES;
    switch (pub->type) {
    case TPM2_ALG_RSA:
        if (!sign && !decrypt)
            return TPM2_RC_ATTRIBUTES;
        return check_rsa(pub, a);
    case TPM2_ALG_ECC:
        if (!sign && !decrypt)
            return TPM2_RC_ATTRIBUTES;
        return check_ecc(pub, a);
    case TPM2_ALG_KEYEDHASH:
        return check_keyedhash(pub, a);
    default:
        if (!sign && !decrypt)
            return TPM2_RC_ATTRIBUTES;
        return check_symcipher(pub, a);
    }
}

/* Left-pad a big-endian number to n octets; false when it is longer
 * (after its leading zeros). */
static bool pad_be(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
    while (len > n && *in == 0) {
        in++;
        len--;
    }
    if (len > n)
        return false;
    memset(out, 0, n - len);
    memcpy(out + n - len, in, len);
    return true;
}

/* Does `s` belong with `pub` (Part 1 §23.?: the binding a Load checks)?
 * Errors are bare codes; TPM_RC_BINDING when the public and private parts
 * are well formed but not a pair. */
TPM2_RC vt_sensitive_check(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *s)
{
    size_t hlen = vt_hash_size(pub->nameAlg);
    TPMA_OBJECT a = pub->objectAttributes;

    if (s->sensitiveType != pub->type)
        return TPM2_RC_TYPE;
    if (s->authValue.size > hlen)
        return TPM2_RC_SIZE;
    if (s->seedValue.size > hlen)
        return TPM2_RC_KEY_SIZE;
    switch (pub->type) {
    case TPM2_ALG_RSA: {
        const TPMS_RSA_PARMS *r = &pub->parameters.rsaDetail;
        vt_key *k;
        if (pub->unique.rsa.size != r->keyBits / 8u)
            return TPM2_RC_KEY;
        if (s->sensitive.rsa.size != r->keyBits / 16u)
            return TPM2_RC_KEY_SIZE;
        /* The prime must divide the modulus. */
        k = vt_key_rsa(pub->unique.rsa.buffer, pub->unique.rsa.size, r->exponent,
                       s->sensitive.rsa.buffer, s->sensitive.rsa.size);
        if (!k)
            return TPM2_RC_BINDING;
        vt_key_free(k);
        break;
    }
    case TPM2_ALG_ECC: {
        TPM2_ECC_CURVE curve = pub->parameters.eccDetail.curveID;
        size_t cs = vt_ecc_size(curve);
        uint8_t x[66], y[66], qx[66], qy[66];
        bool ok;
        if (cs == 0 || cs > sizeof(x))
            return TPM2_RC_CURVE;
        if (!pad_be(pub->unique.ecc.x.buffer, pub->unique.ecc.x.size, x, cs) ||
            !pad_be(pub->unique.ecc.y.buffer, pub->unique.ecc.y.size, y, cs))
            return TPM2_RC_KEY;
        if (s->sensitive.ecc.size == 0 || s->sensitive.ecc.size > cs)
            return TPM2_RC_KEY_SIZE;
        /* d * G must be the public point; d out of range fails here too. */
        if (vt_ecc_mul(curve, s->sensitive.ecc.buffer, s->sensitive.ecc.size, NULL, 0, NULL, 0, qx,
                       qy) != 0)
            return TPM2_RC_BINDING;
        ok = vt_ct_equal(qx, x, cs) && vt_ct_equal(qy, y, cs);
        vt_wipe(qx, sizeof(qx));
        vt_wipe(qy, sizeof(qy));
        if (!ok)
            return TPM2_RC_BINDING;
        break;
    }
    case TPM2_ALG_KEYEDHASH:
    case TPM2_ALG_SYMCIPHER: {
        /* unique = H_nameAlg(seedValue || sensitive) (Part 1 §27.?:
         * the obfuscation value keeps a low-entropy secret from being
         * guessed from the public area). */
        const TPM2B_DIGEST *u = pub->type == TPM2_ALG_KEYEDHASH ? &pub->unique.keyedHash
                                                                : &pub->unique.sym;
        const uint8_t *data;
        size_t dlen;
        uint8_t d[VT_MAX_DIGEST];
        if (pub->type == TPM2_ALG_KEYEDHASH) {
            if (s->sensitive.bits.size > VT_MAX_SEALED)
                return TPM2_RC_SIZE;
            data = s->sensitive.bits.buffer;
            dlen = s->sensitive.bits.size;
        } else {
            if (s->sensitive.sym.size != pub->parameters.symDetail.sym.keyBits.sym / 8u)
                return TPM2_RC_KEY_SIZE;
            data = s->sensitive.sym.buffer;
            dlen = s->sensitive.sym.size;
        }
        {
            vt_buf parts[2] = { { s->seedValue.buffer, s->seedValue.size }, { data, dlen } };
            if (vt_hash_parts(pub->nameAlg, parts, 2, d) != hlen)
                return TPM2_RC_FAILURE;
        }
        if (u->size != hlen || !vt_ct_equal(d, u->buffer, hlen))
            return TPM2_RC_BINDING;
        break;
    }
    default:
        return TPM2_RC_TYPE;
    }
    /* A storage or derivation parent needs a full seed for its children. */
    if ((a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT) && s->seedValue.size != hlen)
        return TPM2_RC_KEY_SIZE;
    return TPM2_RC_SUCCESS;
}

/* ---- protection ---- */

static size_t sym_key_bytes(const TPMT_SYM_DEF_OBJECT *sym)
{
    if (!sym || sym->algorithm == TPM2_ALG_NULL)
        return 0;
    return sym->keyBits.aes / 8u;
}

TPM2_RC vt_outer_wrap(TPM2_ALG_ID name_alg, const TPMT_SYM_DEF_OBJECT *sym,
                      const uint8_t *seed, size_t seed_len, const uint8_t *name,
                      size_t name_len, const uint8_t *plain, size_t plain_len, uint8_t *out,
                      size_t *out_len)
{
    size_t hlen = vt_hash_size(name_alg), kb = sym_key_bytes(sym);
    uint8_t hkey[VT_MAX_DIGEST], skey[32];
    uint8_t *enc;
    TPM2_RC rc = TPM2_RC_SUCCESS;

    if (hlen == 0)
        return TPM2_RC_HASH;
    if (*out_len < 2 + hlen + plain_len)
        return TPM2_RC_SIZE;
    enc = out + 2 + hlen;
    if (kb) {
        uint8_t iv[16] = { 0 };
        /* symKey = KDFa(nameAlg, seed, "STORAGE", name, -, bits), IV zero
         * (Part 1 §22.3.? : each wrap has a fresh seed or a fresh name). */
        if (vt_kdfa(name_alg, seed, seed_len, "STORAGE", name, name_len, NULL, 0,
                    (uint32_t)(kb * 8), skey) != 0 ||
            vt_aes_crypt(TPM2_ALG_CFB, true, skey, kb, iv, plain, plain_len, enc) != 0)
            rc = TPM2_RC_FAILURE;
    } else {
        memmove(enc, plain, plain_len);
    }
    if (rc == TPM2_RC_SUCCESS) {
        vt_buf parts[2] = { { enc, plain_len }, { name, name_len } };
        if (vt_kdfa(name_alg, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0,
                    (uint32_t)(hlen * 8), hkey) != 0 ||
            vt_hmac_parts(name_alg, hkey, hlen, parts, 2, out + 2) != hlen)
            rc = TPM2_RC_FAILURE;
    }
    out[0] = (uint8_t)(hlen >> 8);
    out[1] = (uint8_t)hlen;
    *out_len = 2 + hlen + plain_len;
    vt_wipe(hkey, sizeof(hkey));
    vt_wipe(skey, sizeof(skey));
    return rc;
}

TPM2_RC vt_outer_unwrap(TPM2_ALG_ID name_alg, const TPMT_SYM_DEF_OBJECT *sym,
                        const uint8_t *seed, size_t seed_len, const uint8_t *name,
                        size_t name_len, const uint8_t *blob, size_t blob_len, uint8_t *plain,
                        size_t *plain_len)
{
    size_t hlen = vt_hash_size(name_alg), kb = sym_key_bytes(sym), dlen, elen;
    uint8_t hkey[VT_MAX_DIGEST], mac[VT_MAX_DIGEST];
    const uint8_t *enc;
    bool ok;

    if (hlen == 0)
        return TPM2_RC_HASH;
    if (blob_len < 2)
        return TPM2_RC_INTEGRITY;
    dlen = (size_t)blob[0] << 8 | blob[1];
    if (dlen > sizeof(TPMU_HA))
        return TPM2_RC_SIZE;
    /* Part 1 §22.? : an integrity value of the wrong size fails the check. */
    if (dlen != hlen || blob_len < 2 + dlen)
        return TPM2_RC_INTEGRITY;
    enc = blob + 2 + dlen;
    elen = blob_len - 2 - dlen;
    if (elen > *plain_len)
        return TPM2_RC_SIZE;
    {
        vt_buf parts[2] = { { enc, elen }, { name, name_len } };
        if (vt_kdfa(name_alg, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0,
                    (uint32_t)(hlen * 8), hkey) != 0 ||
            vt_hmac_parts(name_alg, hkey, hlen, parts, 2, mac) != hlen) {
            vt_wipe(hkey, sizeof(hkey));
            return TPM2_RC_FAILURE;
        }
    }
    vt_wipe(hkey, sizeof(hkey));
    /* CT: compare every octet. */
    ok = vt_ct_equal(mac, blob + 2, hlen);
    if (!ok)
        return TPM2_RC_INTEGRITY;
    if (kb) {
        uint8_t skey[32], iv[16] = { 0 };
        if (vt_kdfa(name_alg, seed, seed_len, "STORAGE", name, name_len, NULL, 0,
                    (uint32_t)(kb * 8), skey) != 0 ||
            vt_aes_crypt(TPM2_ALG_CFB, false, skey, kb, iv, enc, elen, plain) != 0) {
            vt_wipe(skey, sizeof(skey));
            return TPM2_RC_FAILURE;
        }
        vt_wipe(skey, sizeof(skey));
    } else {
        memmove(plain, enc, elen);
    }
    *plain_len = elen;
    return TPM2_RC_SUCCESS;
}

static const TPMT_SYM_DEF_OBJECT *parent_sym(const vt_object *parent)
{
    switch (parent->pub.type) {
    case TPM2_ALG_RSA: return &parent->pub.parameters.rsaDetail.symmetric;
    case TPM2_ALG_ECC: return &parent->pub.parameters.eccDetail.symmetric;
    case TPM2_ALG_SYMCIPHER: return &parent->pub.parameters.symDetail.sym;
    default: return NULL;
    }
}

TPM2_RC vt_sensitive_wrap(const vt_object *parent, const TPMT_SENSITIVE *sens,
                          const uint8_t *name, size_t name_len, TPM2B_PRIVATE *out)
{
    uint8_t plain[sizeof(TPM2B_SENSITIVE)];
    size_t off = 2, n = sizeof(out->buffer);
    TPM2_RC rc;

    /* The plaintext is a TPM2B_SENSITIVE: a size, then the structure. */
    if (Tss2_MU_TPMT_SENSITIVE_Marshal(sens, plain, sizeof(plain), &off) != TSS2_RC_SUCCESS)
        return TPM2_RC_FAILURE;
    plain[0] = (uint8_t)((off - 2) >> 8);
    plain[1] = (uint8_t)(off - 2);
    rc = vt_outer_wrap(parent->pub.nameAlg, parent_sym(parent), parent->sens.seedValue.buffer,
                       parent->sens.seedValue.size, name, name_len, plain, off, out->buffer, &n);
    vt_wipe(plain, sizeof(plain));
    out->size = (uint16_t)n;
    return rc;
}

TPM2_RC vt_sensitive_unwrap(const vt_object *parent, const TPM2B_PRIVATE *in,
                            const uint8_t *name, size_t name_len, TPMT_SENSITIVE *out)
{
    uint8_t plain[sizeof(TPM2B_PRIVATE)];
    size_t n = sizeof(plain), off = 0;
    TPM2B_SENSITIVE s2b;
    TPM2_RC rc;

    rc = vt_outer_unwrap(parent->pub.nameAlg, parent_sym(parent), parent->sens.seedValue.buffer,
                         parent->sens.seedValue.size, name, name_len, in->buffer, in->size, plain,
                         &n);
    if (rc != TPM2_RC_SUCCESS)
        return rc;
    memset(&s2b, 0, sizeof(s2b));
    /* The decrypted octets passed the HMAC, but a blob made by someone who
     * knew the seed is still parsed as hostile. */
    if (Tss2_MU_TPM2B_SENSITIVE_Unmarshal(plain, n, &off, &s2b) != TSS2_RC_SUCCESS || off != n ||
        s2b.size == 0)
        rc = TPM2_RC_INTEGRITY;
    else
        *out = s2b.sensitiveArea;
    vt_wipe(plain, sizeof(plain));
    vt_wipe(&s2b, sizeof(s2b));
    return rc;
}

/* ---- tickets ---- */

static size_t ticket_hmac(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                          const vt_buf *parts, size_t nparts, uint8_t *mac)
{
    uint8_t t[2] = { (uint8_t)(tag >> 8), (uint8_t)tag };
    vt_buf all[8];
    const uint8_t *proof = vt_hierarchy_proof(e, hierarchy);
    size_t i;

    if (!proof || nparts > 7)
        return 0;
    all[0] = (vt_buf){ t, 2 };
    for (i = 0; i < nparts; i++)
        all[i + 1] = parts[i];
    return vt_hmac_parts(TICKET_HASH, proof, VT_SEED_SIZE, all, nparts + 1, mac);
}

TPM2_RC vt_ticket_make(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                       const vt_buf *parts, size_t nparts, TPM2B_DIGEST *digest)
{
    memset(digest, 0, sizeof(*digest));
    if (hierarchy == TPM2_RH_NULL)
        return TPM2_RC_SUCCESS;
    return vt_ticket_hmac(e, tag, hierarchy, parts, nparts, digest);
}

TPM2_RC vt_ticket_hmac(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                       const vt_buf *parts, size_t nparts, TPM2B_DIGEST *digest)
{
    size_t n;

    memset(digest, 0, sizeof(*digest));
    n = ticket_hmac(e, tag, hierarchy, parts, nparts, digest->buffer);
    if (n == 0)
        return TPM2_RC_FAILURE;
    digest->size = (uint16_t)n;
    return TPM2_RC_SUCCESS;
}

bool vt_ticket_check(vt_engine *e, TPM2_ST tag, TPMI_RH_HIERARCHY hierarchy,
                     const vt_buf *parts, size_t nparts, const TPM2B_DIGEST *digest)
{
    uint8_t mac[VT_MAX_DIGEST];
    size_t n;

    /* A NULL ticket (empty digest) never checks; a null-hierarchy ticket
     * is an HMAC under the null proof like any other. */
    n = ticket_hmac(e, tag, hierarchy, parts, nparts, mac);
    return n != 0 && digest->size == n && vt_ct_equal(mac, digest->buffer, n);
}
