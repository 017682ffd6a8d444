/* The volatile state as a blob (include/vitrum/engine_volatile.h).
 *
 * Layout (docs/SWTPM.md, "volatile payload"): "VTVS", u32 format 1, u32
 * layout fingerprint, u32 body length, u64 Time (ms), then the body: the
 * engine's vt_volatile as it is in memory, with pointers cleared, client
 * owners cleared and sequences dropped.  Integers in the header are
 * big-endian; the body is host order, which the fingerprint covers (with
 * every size and offset the body depends on), so only the same build
 * layout reads it.  Everything in the body that sizes a buffer is checked
 * before the body is used, as every other byte from outside. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "vitrum/engine_volatile.h"
#include "common/be.h"
#include "engine/engine_internal.h"
#include "engine/object.h"
#include "engine/param_crypt.h"

#define VOL_MAGIC "VTVS"
#define VOL_FORMAT 1u
#define VOL_HEADER 24u

static uint32_t layout_fingerprint(void)
{
    const uint32_t v[] = {
        0x01020304u, /* byte order, hashed as its bytes below */
        (uint32_t)sizeof(vt_volatile), (uint32_t)sizeof(vt_object), (uint32_t)sizeof(vt_session),
        (uint32_t)sizeof(vt_sequence), (uint32_t)sizeof(TPMT_PUBLIC), (uint32_t)sizeof(TPMT_SENSITIVE),
        (uint32_t)sizeof(TPMT_SYM_DEF), (uint32_t)offsetof(vt_volatile, pcr),
        (uint32_t)offsetof(vt_volatile, null_seed), (uint32_t)offsetof(vt_volatile, platform_auth),
        (uint32_t)offsetof(vt_volatile, time_origin), (uint32_t)offsetof(vt_volatile, seq),
        (uint32_t)offsetof(vt_volatile, sessions), (uint32_t)offsetof(vt_volatile, objects),
        (uint32_t)offsetof(vt_volatile, context_seq), (uint32_t)offsetof(vt_object, pub),
        (uint32_t)offsetof(vt_object, sens), (uint32_t)offsetof(vt_object, name),
        (uint32_t)offsetof(vt_object, key), (uint32_t)offsetof(vt_object, owner),
        (uint32_t)offsetof(vt_session, policy_digest), (uint32_t)offsetof(vt_session, cp_hash),
        (uint32_t)offsetof(vt_session, saved_seq), (uint32_t)offsetof(vt_session, owner),
        VT_BANK_COUNT, VT_PCR_COUNT, VT_MAX_DIGEST, VT_SEED_SIZE, VT_MAX_OBJECTS,
        VT_MAX_ACTIVE_SESSIONS, VT_MAX_SEQUENCES, VT_MAX_NAME,
    };
    const uint8_t *b = (const uint8_t *)v;
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;
    for (i = 0; i < sizeof(v); i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

size_t vt_engine_volatile_max(void)
{
    return VOL_HEADER + sizeof(vt_volatile);
}

size_t vt_engine_volatile_save(vt_engine *e, uint8_t *buf, size_t cap)
{
    uint64_t t;
    unsigned i;

    if (!e->powered || cap < vt_engine_volatile_max())
        return 0;
    t = vt_time_now(e);
    memcpy(buf, VOL_MAGIC, 4);
    vt_put_be32(buf + 4, VOL_FORMAT);
    vt_put_be32(buf + 8, layout_fingerprint());
    vt_put_be32(buf + 12, (uint32_t)sizeof(vt_volatile));
    vt_put_be32(buf + 16, (uint32_t)(t >> 32));
    vt_put_be32(buf + 20, (uint32_t)t);
    /* buf may not be aligned for vt_volatile: copy bytes, then clear
     * fields in the copy by their offsets. */
    memcpy(buf + VOL_HEADER, &e->v, sizeof(vt_volatile));
    for (i = 0; i < VT_MAX_OBJECTS; i++) {
        uint8_t *o = buf + VOL_HEADER + offsetof(vt_volatile, objects) + i * sizeof(vt_object);
        vt_key *const no_key = NULL;
        memcpy(o + offsetof(vt_object, key), &no_key, sizeof(no_key));
        memset(o + offsetof(vt_object, owner), 0, sizeof(uint32_t));
    }
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++) {
        uint8_t *s = buf + VOL_HEADER + offsetof(vt_volatile, sessions) + i * sizeof(vt_session);
        memset(s + offsetof(vt_session, owner), 0, sizeof(uint32_t));
    }
    /* Sequences and an open D-RTM sequence keep their digests in crypto
     * library contexts: they do not travel. */
    memset(buf + VOL_HEADER + offsetof(vt_volatile, seq), 0, sizeof(e->v.seq));
    memset(buf + VOL_HEADER + offsetof(vt_volatile, drtm_active), 0, sizeof(bool));
    return vt_engine_volatile_max();
}

static bool len_ok(uint16_t len, size_t cap) { return len <= cap; }

/* Whoever adds a length or an index to vt_volatile, vt_object or vt_session
 * adds its check here: the body is copied as it is.
 *
 * Is every length in v within its buffer, every object's public area
 * well-formed and matching its Name, every sensitive area matching its
 * public area? */
static bool body_sane(vt_volatile *v)
{
    unsigned i, loaded = 0;
    uint8_t scratch[sizeof(TPMT_PUBLIC) + sizeof(TPMT_SENSITIVE)];
    uint8_t name[VT_MAX_NAME];

    if (v->startup_locality > 4 || !len_ok(v->platform_auth_len, VT_MAX_DIGEST) ||
        !len_ok(v->platform_policy.len, VT_MAX_DIGEST))
        return false;
    if (v->started && !v->selftest_done && v->failed)
        return false;
    for (i = 0; i < VT_MAX_OBJECTS; i++) {
        vt_object *o = &v->objects[i];
        size_t off = 0, n;
        if (!o->used)
            continue;
        if ((o->handle >> 24) != TPM2_HT_TRANSIENT || o->name_len > VT_MAX_NAME ||
            o->qname_len > VT_MAX_NAME)
            return false;
        if (o->hierarchy != TPM2_RH_OWNER && o->hierarchy != TPM2_RH_ENDORSEMENT &&
            o->hierarchy != TPM2_RH_PLATFORM && o->hierarchy != TPM2_RH_NULL)
            return false;
        if (Tss2_MU_TPMT_PUBLIC_Marshal(&o->pub, scratch, sizeof(scratch), &off) != TSS2_RC_SUCCESS)
            return false;
        n = vt_public_name(&o->pub, name);
        if (n == 0 || n != o->name_len || memcmp(name, o->name, n) != 0)
            return false;
        if (o->has_sensitive) {
            off = 0;
            if (Tss2_MU_TPMT_SENSITIVE_Marshal(&o->sens, scratch, sizeof(scratch), &off) != TSS2_RC_SUCCESS ||
                vt_sensitive_check(&o->pub, &o->sens) != TPM2_RC_SUCCESS)
                return false;
        }
    }
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++) {
        vt_session *s = &v->sessions[i];
        if (!s->used)
            continue;
        if (!s->saved)
            loaded++;
        if (!len_ok(s->nonce_tpm_len, VT_MAX_DIGEST) || !len_ok(s->session_key_len, VT_MAX_DIGEST) ||
            !len_ok(s->cp_hash_len, VT_MAX_DIGEST) || !len_ok(s->name_hash_len, VT_MAX_DIGEST) ||
            !len_ok(s->template_hash_len, VT_MAX_DIGEST))
            return false;
        if ((s->handle >> 24) != TPM2_HT_HMAC_SESSION && (s->handle >> 24) != TPM2_HT_POLICY_SESSION)
            return false;
        if (s->nv_written > 2)
            return false;
        if (s->saved)
            continue; /* ContextLoad fills in the rest from the client's blob */
        if (vt_hash_size(s->auth_hash) == 0)
            return false;
        if (s->type != TPM2_SE_HMAC && s->type != TPM2_SE_POLICY && s->type != TPM2_SE_TRIAL)
            return false;
        /* what StartAuthSession accepts */
        if (vt_param_sym_check(&s->symmetric) != TPM2_RC_SUCCESS)
            return false;
    }
    return loaded <= VT_MAX_LOADED_SESSIONS;
}

/* Parse and check buf into a fresh vt_volatile (heap; wipe and free). */
static vt_status parse(const uint8_t *buf, size_t len, vt_volatile **out, uint64_t *time_ms)
{
    vt_volatile *v;

    *out = NULL;
    if (len < VOL_HEADER || memcmp(buf, VOL_MAGIC, 4) != 0)
        return VT_ERR_STATE_CORRUPT;
    if (vt_get_be32(buf + 4) != VOL_FORMAT || vt_get_be32(buf + 8) != layout_fingerprint() ||
        vt_get_be32(buf + 12) != sizeof(vt_volatile))
        return VT_ERR_STATE_VERSION;
    if (len != VOL_HEADER + sizeof(vt_volatile))
        return VT_ERR_STATE_CORRUPT;
    v = calloc(1, sizeof(*v));
    if (!v)
        return VT_ERR_STORE;
    memcpy(v, buf + VOL_HEADER, sizeof(*v));
    {
        unsigned i;
        for (i = 0; i < VT_MAX_OBJECTS; i++)
            v->objects[i].key = NULL; /* whatever the bytes said */
    }
    if (!body_sane(v)) {
        vt_wipe(v, sizeof(*v));
        free(v);
        return VT_ERR_STATE_CORRUPT;
    }
    *time_ms = (uint64_t)vt_get_be32(buf + 16) << 32 | vt_get_be32(buf + 20);
    *out = v;
    return VT_OK;
}

vt_status vt_engine_volatile_check(const uint8_t *buf, size_t len)
{
    vt_volatile *v;
    uint64_t t;
    vt_status st = parse(buf, len, &v, &t);
    if (v) {
        vt_wipe(v, sizeof(*v));
        free(v);
    }
    return st;
}

vt_status vt_engine_volatile_restore(vt_engine *e, const uint8_t *buf, size_t len)
{
    vt_volatile *v;
    uint64_t t, mono;
    unsigned i;
    vt_status st = parse(buf, len, &v, &t);

    if (st != VT_OK)
        return st;
    vt_engine_power_off(e);
    vt_engine_power_on(e); /* _TPM_Init: Clock continues, nothing loaded */
    memcpy(&e->v, v, sizeof(*v));
    vt_wipe(v, sizeof(*v));
    free(v);
    for (i = 0; i < VT_MAX_OBJECTS; i++) {
        e->v.objects[i].key = NULL;
        e->v.objects[i].owner = 0;
    }
    for (i = 0; i < VT_MAX_ACTIVE_SESSIONS; i++)
        e->v.sessions[i].owner = 0;
    memset(e->v.seq, 0, sizeof(e->v.seq));
    e->v.drtm_active = false;
    mono = e->plat.monotonic_ms(e->plat.ctx);
    e->v.time_origin = mono >= t ? mono - t : 0;
    /* A restored copy must not continue its source's random stream. */
    vt_drbg_seed(e, buf, len);
    return VT_OK;
}
