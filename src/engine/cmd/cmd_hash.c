/* Hashing and hash/event sequences (TPM 2.0 Part 3 §15.4, §17). */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "engine/auth.h"

#define TPM_GENERATED_VALUE 0xff544347u
#define HMAC_IPAD 0x36u
#define HMAC_OPAD 0x5Cu

void vt_pcr_event_finish(vt_cmd *c, TPM2_HANDLE pcr, const uint8_t digests[VT_BANK_COUNT][VT_MAX_DIGEST]);

/* TPMI_RH_HIERARCHY+ as parameter `n` (Part 2 §9.?): owner, endorsement,
 * platform or null, and enabled. */
static TPM2_RC read_hierarchy(vt_cmd *c, TPMI_RH_HIERARCHY *h)
{
    RETURN_IF_ERROR(vt_in_u32(&c->in, h));
    if (*h != TPM2_RH_OWNER && *h != TPM2_RH_ENDORSEMENT && *h != TPM2_RH_PLATFORM &&
        *h != TPM2_RH_NULL)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    return TPM2_RC_SUCCESS;
}

/* TPMT_TK_HASHCHECK (Part 1 §16.? / Part 2 §10.7.?): a null ticket for the
 * Null hierarchy or for data that starts with TPM_GENERATED_VALUE (which a
 * restricted key must never sign), else
 * HMAC(proof, TPM_ST_HASHCHECK || digest). */
static TPM2_RC write_hashcheck(vt_cmd *c, TPMI_RH_HIERARCHY h, bool generated,
                               const uint8_t *digest, size_t dlen)
{
    TPM2B_DIGEST mac;
    vt_buf part = { digest, dlen };

    if (generated)
        h = TPM2_RH_NULL;
    /* One implementation of tickets: object.c (a NULL ticket for
     * TPM_RH_NULL). */
    RETURN_IF_ERROR(vt_ticket_make(c->e, TPM2_ST_HASHCHECK, h, &part, 1, &mac));
    vt_out_u16(&c->out, TPM2_ST_HASHCHECK);
    vt_out_u32(&c->out, h);
    vt_out_2b(&c->out, mac.buffer, mac.size);
    return TPM2_RC_SUCCESS;
}

static bool starts_generated(const uint8_t *p, size_t n)
{
    return n >= 4 && ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) ==
                         TPM_GENERATED_VALUE;
}

TPM2_RC vt_cmd_hash(vt_cmd *c)
{
    const uint8_t *data;
    uint16_t n;
    uint16_t alg;
    TPMI_RH_HIERARCHY h;
    uint8_t d[VT_MAX_DIGEST];
    size_t dlen;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &alg));
    if (vt_hash_size(alg) == 0)
        return vt_in_rc(&c->in, TPM2_RC_HASH);
    RETURN_IF_ERROR(read_hierarchy(c, &h));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!vt_hierarchy_enabled(c->e, h))
        return VT_RC_P(TPM2_RC_HIERARCHY, 3);
    dlen = vt_hash(alg, data, n, d);
    if (dlen == 0)
        return TPM2_RC_FAILURE;
    vt_out_2b(&c->out, d, (uint16_t)dlen);
    return write_hashcheck(c, h, starts_generated(data, n), d, dlen);
}

/* ---- sequence objects ---- */

vt_sequence *vt_sequence_find(vt_engine *e, TPM2_HANDLE h)
{
    unsigned i;
    for (i = 0; i < VT_MAX_SEQUENCES; i++)
        if (e->v.seq[i].kind != VT_SEQ_FREE && e->v.seq[i].handle == h)
            return &e->v.seq[i];
    return NULL;
}

static unsigned slot_of(vt_engine *e, const vt_sequence *s)
{
    return (unsigned)(s - e->v.seq);
}

static void sequence_free(vt_sequence *s)
{
    vt_wipe(s, sizeof(*s));
    s->kind = VT_SEQ_FREE;
}

/* Transient handles are handed out in order; skip ones still in use. */
static TPM2_HANDLE new_transient_handle(vt_engine *e)
{
    for (;;) {
        /* 0x80000000 spelled out: tss2's TPM2_TRANSIENT_FIRST shifts a
         * signed int into its sign bit. */
        TPM2_HANDLE h = 0x80000000u + (e->v.next_handle++ & 0x00FFFFFFu);
        if (!vt_sequence_find(e, h) && !vt_object_find(e, h))
            return h;
    }
}

TPM2_RC vt_cmd_hash_sequence_start(vt_cmd *c)
{
    vt_engine *e = c->e;
    const uint8_t *auth;
    uint16_t auth_len, alg;
    vt_sequence *s = NULL;
    unsigned i;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &auth, &auth_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &alg));
    if (alg != TPM2_ALG_NULL && vt_hash_size(alg) == 0)
        return vt_in_rc(&c->in, TPM2_RC_HASH);
    RETURN_IF_ERROR(vt_in_end(&c->in));

    for (i = 0; i < VT_MAX_SEQUENCES && !s; i++)
        if (e->v.seq[i].kind == VT_SEQ_FREE)
            s = &e->v.seq[i];
    if (!s)
        return TPM2_RC_OBJECT_MEMORY;

    memset(s, 0, sizeof(*s));
    s->alg = alg;
    s->auth_len = (uint16_t)vt_auth_trim(auth, auth_len);
    memcpy(s->auth, auth, s->auth_len);
    i = slot_of(e, s);
    if (alg == TPM2_ALG_NULL) {
        unsigned b;
        /* An event sequence hashes with every implemented algorithm. */
        for (b = 0; b < VT_BANK_COUNT; b++)
            if (vt_hash_start(e->seq_ctx[i][b], vt_bank_alg[b]))
                return TPM2_RC_FAILURE;
        s->kind = VT_SEQ_EVENT;
    } else {
        if (vt_hash_start(e->seq_ctx[i][0], alg))
            return TPM2_RC_FAILURE;
        s->kind = VT_SEQ_HASH;
    }
    s->handle = new_transient_handle(e);
    c->rsp_handle = s->handle;
    return TPM2_RC_SUCCESS;
}

static void sequence_feed(vt_engine *e, vt_sequence *s, const uint8_t *data, size_t n)
{
    unsigned i = slot_of(e, s), b;

    /* Remember the first four octets for the TPM_GENERATED_VALUE rule. */
    while (s->first_len < 4 && n > 0 && s->first_len < sizeof(s->first4)) {
        s->first4[s->first_len++] = *data;
        vt_hash_update(e->seq_ctx[i][0], data, 1);
        if (s->kind == VT_SEQ_EVENT)
            for (b = 1; b < VT_BANK_COUNT; b++)
                vt_hash_update(e->seq_ctx[i][b], data, 1);
        data++;
        n--;
    }
    if (s->kind == VT_SEQ_EVENT)
        for (b = 0; b < VT_BANK_COUNT; b++)
            vt_hash_update(e->seq_ctx[i][b], data, n);
    else
        vt_hash_update(e->seq_ctx[i][0], data, n);
}

/* HMAC (RFC 2104) over a sequence: the inner hash runs in the sequence's
 * context, started with K0 ^ ipad; the outer one is
 * H(K0 ^ opad || inner).  s->hmac_key holds K0's meaningful octets (the
 * key, or its digest when longer than a block). */
static size_t hmac_outer(const vt_sequence *s, const uint8_t *inner, size_t inner_len,
                         uint8_t *out)
{
    uint8_t pad[128];
    size_t bs = vt_hash_block_size(s->alg), i, n;
    vt_buf parts[2];

    if (bs == 0 || bs > sizeof(pad))
        return 0;
    memset(pad, 0, sizeof(pad));
    memcpy(pad, s->hmac_key, s->hmac_key_len);
    for (i = 0; i < bs; i++)
        pad[i] ^= HMAC_OPAD;
    parts[0] = (vt_buf){ pad, bs };
    parts[1] = (vt_buf){ inner, inner_len };
    n = vt_hash_parts(s->alg, parts, 2, out);
    vt_wipe(pad, sizeof(pad));
    return n;
}

TPM2_RC vt_cmd_sequence_update(vt_cmd *c)
{
    vt_sequence *s = vt_sequence_find(c->e, c->handles[0]);
    const uint8_t *data;
    uint16_t n;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!s)
        return VT_RC_H(TPM2_RC_MODE, 1);
    sequence_feed(c->e, s, data, n);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_sequence_complete(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_sequence *s = vt_sequence_find(e, c->handles[0]);
    const uint8_t *data;
    uint16_t n;
    TPMI_RH_HIERARCHY h;
    uint8_t d[VT_MAX_DIGEST];
    size_t dlen;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(read_hierarchy(c, &h));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!s || (s->kind != VT_SEQ_HASH && s->kind != VT_SEQ_HMAC))
        return VT_RC_H(TPM2_RC_MODE, 1);
    if (!vt_hierarchy_enabled(e, h))
        return VT_RC_P(TPM2_RC_HIERARCHY, 2);
    sequence_feed(e, s, data, n);
    dlen = vt_hash_finish(e->seq_ctx[slot_of(e, s)][0], d);
    if (dlen == 0)
        return TPM2_RC_FAILURE;
    if (s->kind == VT_SEQ_HMAC) {
        /* An HMAC sequence gives the HMAC and a NULL ticket (Part 3
         * §17.5): nothing proves the TPM hashed the data. */
        dlen = hmac_outer(s, d, dlen, d);
        if (dlen == 0)
            return TPM2_RC_FAILURE;
        h = TPM2_RH_NULL;
    }
    vt_out_2b(&c->out, d, (uint16_t)dlen);
    RETURN_IF_ERROR(write_hashcheck(c, h, starts_generated(s->first4, s->first_len), d, dlen));
    vt_wipe(d, sizeof(d));
    sequence_free(s);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_event_sequence_complete(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2_HANDLE pcr = c->handles[0];
    vt_sequence *s = vt_sequence_find(e, c->handles[1]);
    const uint8_t *data;
    uint16_t n;
    uint8_t d[VT_BANK_COUNT][VT_MAX_DIGEST];
    unsigned b, i;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!s || s->kind != VT_SEQ_EVENT)
        return VT_RC_H(TPM2_RC_MODE, 2);
    if (pcr != TPM2_RH_NULL && !vt_pcr_can_extend(pcr, c->locality))
        return TPM2_RC_LOCALITY;
    sequence_feed(e, s, data, n);
    i = slot_of(e, s);
    for (b = 0; b < VT_BANK_COUNT; b++)
        if (vt_hash_finish(e->seq_ctx[i][b], d[b]) == 0)
            return TPM2_RC_FAILURE;
    vt_pcr_event_finish(c, pcr, (const uint8_t(*)[VT_MAX_DIGEST])d);
    sequence_free(s);
    return TPM2_RC_SUCCESS;
}

/* TPM2_FlushContext (Part 3 §28.4): the handle is a parameter. */
TPM2_RC vt_cmd_flush_context(vt_cmd *c)
{
    TPM2_HANDLE h;

    RETURN_IF_ERROR(vt_in_u32(&c->in, &h));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    switch (h >> 24) {
    case TPM2_HT_TRANSIENT: {
        vt_object *o = vt_object_find(c->e, h);
        if (o) {
            vt_object_flush(c->e, o);
            return TPM2_RC_SUCCESS;
        }
        vt_sequence *s = vt_sequence_find(c->e, h);
        if (!s)
            return VT_RC_P(TPM2_RC_HANDLE, 1);
        sequence_free(s);
        return TPM2_RC_SUCCESS;
    }
    case TPM2_HT_HMAC_SESSION:
    case TPM2_HT_POLICY_SESSION: {
        vt_session *ss = vt_session_find(c->e, h);
        if (!ss)
            return VT_RC_P(TPM2_RC_HANDLE, 1);
        vt_session_free(ss);
        return TPM2_RC_SUCCESS;
    }
    default:
        return VT_RC_P(TPM2_RC_VALUE, 1);
    }
}

/* ---- HMAC with a keyed-hash key (Part 3 §15.5 TPM2_HMAC, §17.2
 * TPM2_HMAC_Start) ---- */

/* The key at handle 1 must be an unrestricted keyed-hash signing key; the
 * hash is the key's scheme hash when it has one (then `req` must be NULL or
 * the same), else `req`.  TPM_RC_VALUE + parameter `alg_param` when that
 * leaves no hash. */
static TPM2_RC hmac_key(vt_cmd *c, uint16_t req, unsigned alg_param, vt_object **out,
                        TPM2_ALG_ID *alg)
{
    vt_object *o = vt_object_find(c->e, c->handles[0]);
    const TPMT_KEYEDHASH_SCHEME *ks;

    if (!o || o->pub.type != TPM2_ALG_KEYEDHASH)
        return VT_RC_H(TPM2_RC_TYPE, 1);
    if (o->pub.objectAttributes & TPMA_OBJECT_RESTRICTED)
        return VT_RC_H(TPM2_RC_ATTRIBUTES, 1);
    if (!(o->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) || !o->has_sensitive)
        return VT_RC_H(TPM2_RC_KEY, 1);
    ks = &o->pub.parameters.keyedHashDetail.scheme;
    if (ks->scheme == TPM2_ALG_NULL)
        *alg = req;
    else if (ks->scheme == TPM2_ALG_HMAC)
        *alg = (req == TPM2_ALG_NULL || req == ks->details.hmac.hashAlg) ? ks->details.hmac.hashAlg
                                                                         : TPM2_ALG_NULL;
    else
        return VT_RC_H(TPM2_RC_KEY, 1);
    if (*alg == TPM2_ALG_NULL || vt_hash_size(*alg) == 0)
        return VT_RC_P(TPM2_RC_VALUE, alg_param);
    *out = o;
    return TPM2_RC_SUCCESS;
}

/* TPMI_ALG_HASH+: an implemented hash or NULL, else TPM_RC_HASH. */
static TPM2_RC read_hash_plus(vt_in *in, uint16_t *alg)
{
    RETURN_IF_ERROR(vt_in_u16(in, alg));
    if (*alg != TPM2_ALG_NULL && vt_hash_size(*alg) == 0)
        return vt_in_rc(in, TPM2_RC_HASH);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_hmac(vt_cmd *c)
{
    const uint8_t *data;
    uint16_t n, req;
    TPM2_ALG_ID alg;
    vt_object *o;
    uint8_t mac[VT_MAX_DIGEST];
    vt_buf part;
    size_t len;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &data, &n, TPM2_MAX_DIGEST_BUFFER));
    RETURN_IF_ERROR(read_hash_plus(&c->in, &req));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(hmac_key(c, req, 2, &o, &alg));
    part = (vt_buf){ data, n };
    len = vt_hmac_parts(alg, o->sens.sensitive.bits.buffer, o->sens.sensitive.bits.size, &part, 1,
                        mac);
    if (len == 0)
        return TPM2_RC_FAILURE;
    vt_out_2b(&c->out, mac, (uint16_t)len);
    vt_wipe(mac, sizeof(mac));
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_hmac_start(vt_cmd *c)
{
    vt_engine *e = c->e;
    const uint8_t *auth;
    uint16_t auth_len, req;
    TPM2_ALG_ID alg;
    vt_object *o;
    vt_sequence *s = NULL;
    const TPM2B_SENSITIVE_DATA *key;
    uint8_t pad[128];
    size_t bs, i;
    unsigned slot;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &auth, &auth_len, VT_MAX_DIGEST));
    RETURN_IF_ERROR(read_hash_plus(&c->in, &req));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(hmac_key(c, req, 2, &o, &alg));
    bs = vt_hash_block_size(alg);
    if (bs == 0 || bs > sizeof(pad) || bs > sizeof(s->hmac_key))
        return VT_RC_P(TPM2_RC_VALUE, 2);

    for (slot = 0; slot < VT_MAX_SEQUENCES && !s; slot++)
        if (e->v.seq[slot].kind == VT_SEQ_FREE)
            s = &e->v.seq[slot];
    if (!s)
        return TPM2_RC_OBJECT_MEMORY;
    memset(s, 0, sizeof(*s));
    slot = slot_of(e, s);
    s->alg = alg;
    s->auth_len = (uint16_t)vt_auth_trim(auth, auth_len);
    memcpy(s->auth, auth, s->auth_len);
    /* K0 (RFC 2104 §2): the key, or its digest when longer than a block. */
    key = &o->sens.sensitive.bits;
    if (key->size > bs) {
        s->hmac_key_len = (uint16_t)vt_hash(alg, key->buffer, key->size, s->hmac_key);
        if (s->hmac_key_len == 0) {
            sequence_free(s);
            return TPM2_RC_FAILURE;
        }
    } else {
        memcpy(s->hmac_key, key->buffer, key->size);
        s->hmac_key_len = key->size;
    }
    memset(pad, 0, sizeof(pad));
    memcpy(pad, s->hmac_key, s->hmac_key_len);
    for (i = 0; i < bs; i++)
        pad[i] ^= HMAC_IPAD;
    if (vt_hash_start(e->seq_ctx[slot][0], alg) || vt_hash_update(e->seq_ctx[slot][0], pad, bs)) {
        vt_wipe(pad, sizeof(pad));
        sequence_free(s);
        return TPM2_RC_FAILURE;
    }
    vt_wipe(pad, sizeof(pad));
    s->kind = VT_SEQ_HMAC;
    s->handle = new_transient_handle(e);
    c->rsp_handle = s->handle;
    return TPM2_RC_SUCCESS;
}
