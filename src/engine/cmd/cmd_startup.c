/* Start-up, shut-down and self-test (TPM 2.0 Part 3 §9 and §10). */
#include <string.h>

#include "engine/engine_internal.h"

/* Part 1 §12.2: which kind of start-up this is. */
typedef enum { TPM_RESET, TPM_RESTART, TPM_RESUME } startup_kind;

TPM2_RC vt_cmd_startup(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_persistent *p = &e->p;
    uint16_t su;
    startup_kind kind;

    RETURN_IF_ERROR(vt_in_u16(&c->in, &su));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (su != TPM2_SU_CLEAR && su != TPM2_SU_STATE)
        return VT_RC_P(TPM2_RC_VALUE, 1);

    if (su == TPM2_SU_STATE) {
        /* Resume needs the state saved by Shutdown(STATE), and the PCR
         * allocation it was saved under (Part 3 §9.3). */
        if (p->last_shutdown != TPM2_SU_STATE || !p->saved.valid ||
            p->pcr_banks != p->pcr_banks_pending)
            return VT_RC_P(TPM2_RC_VALUE, 1);
        kind = TPM_RESUME;
    } else {
        kind = p->last_shutdown == TPM2_SU_STATE && p->saved.valid ? TPM_RESTART : TPM_RESET;
    }

    e->v.startup_locality = c->locality;
    e->v.orderly = p->last_shutdown != VT_SU_NONE;
    switch (kind) {
    case TPM_RESET:
        p->clear_count++;
        p->reset_count++;
        p->restart_count = 0;
        p->pcr_banks = p->pcr_banks_pending;
        /* The Null hierarchy gets a new seed and proof on every TPM Reset
         * (Part 1 §14.5). */
        if (e->plat.entropy(e->plat.ctx, e->v.null_seed, VT_SEED_SIZE) ||
            e->plat.entropy(e->plat.ctx, e->v.null_proof, VT_SEED_SIZE))
            return TPM2_RC_FAILURE;
        vt_pcr_init_all(e, false);
        e->v.pcr_update_counter = 0;
        break;
    case TPM_RESTART:
    case TPM_RESUME:
        if (kind == TPM_RESTART)
            p->clear_count++;
        p->restart_count++;
        /* PCRs are reset in a Restart anyway, so a pending allocation can
         * take effect (Resume refused it above). */
        p->pcr_banks = p->pcr_banks_pending;
        memcpy(e->v.null_seed, p->saved.null_seed, VT_SEED_SIZE);
        memcpy(e->v.null_proof, p->saved.null_proof, VT_SEED_SIZE);
        vt_pcr_init_all(e, kind == TPM_RESUME);
        e->v.pcr_update_counter = kind == TPM_RESUME ? p->saved.pcr_update_counter : 0;
        break;
    }
    /* NV locks and CLEAR_STCLEAR data go at TPM Reset and TPM Restart,
     * and survive TPM Resume (Part 2 §13.4). */
    vt_nv_startup(&p->nv, kind != TPM_RESUME);
    /* phEnable is SET by any Startup; shEnable, ehEnable and phEnableNV
     * are SET by TPM Reset and TPM Restart and kept by TPM Resume
     * (Part 3 §9.3.1). */
    e->v.ph_enable = e->v.sh_enable = e->v.eh_enable = e->v.ph_enable_nv = true;
    /* platformAuth and platformPolicy: empty after TPM Reset and TPM
     * Restart, kept by TPM Resume (Part 1 §10.3). */
    e->v.platform_auth_len = 0;
    vt_hier_policy_clear(&e->v.platform_policy);
    if (kind == TPM_RESUME) {
        e->v.sh_enable = !p->saved.sh_disabled;
        e->v.eh_enable = !p->saved.eh_disabled;
        e->v.ph_enable_nv = !p->saved.ph_nv_disabled;
        memcpy(e->v.platform_auth, p->saved.platform_auth, sizeof(e->v.platform_auth));
        e->v.platform_auth_len = p->saved.platform_auth_len;
        e->v.platform_policy = p->saved.platform_policy;
    }
    /* The saved state is used once; a later power loss is disorderly. */
    p->last_shutdown = VT_SU_NONE;
    vt_wipe(&p->saved, sizeof(p->saved));
    p->saved.valid = false;

    e->v.started = true;
    /* DA bookkeeping of this Startup: a non-orderly one after DA was in
     * use counts one failure (Part 1 §19.8.?) */
    vt_da_startup(e);
    e->v.next_handle = 0;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_shutdown(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_persistent *p = &e->p;
    uint16_t su;

    RETURN_IF_ERROR(vt_in_u16(&c->in, &su));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (su != TPM2_SU_CLEAR && su != TPM2_SU_STATE)
        return VT_RC_P(TPM2_RC_VALUE, 1);

    /* Part 3 §9.4: after PCR_Allocate only a CLEAR start-up is possible. */
    if (su == TPM2_SU_STATE && p->pcr_banks_pending != p->pcr_banks)
        return VT_RC_P(TPM2_RC_TYPE, 1);
    if (su == TPM2_SU_STATE) {
        memcpy(p->saved.pcr, e->v.pcr, sizeof(p->saved.pcr));
        p->saved.pcr_update_counter = e->v.pcr_update_counter;
        memcpy(p->saved.null_seed, e->v.null_seed, VT_SEED_SIZE);
        memcpy(p->saved.null_proof, e->v.null_proof, VT_SEED_SIZE);
        p->saved.sh_disabled = !e->v.sh_enable;
        p->saved.eh_disabled = !e->v.eh_enable;
        p->saved.ph_nv_disabled = !e->v.ph_enable_nv;
        memcpy(p->saved.platform_auth, e->v.platform_auth, sizeof(p->saved.platform_auth));
        p->saved.platform_auth_len = e->v.platform_auth_len;
        p->saved.platform_policy = e->v.platform_policy;
        p->saved.valid = true;
    } else {
        vt_wipe(&p->saved, sizeof(p->saved));
        p->saved.valid = false;
    }
    p->last_shutdown = su;
    p->clock = vt_clock_now(e);
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* Known-answer tests of every implemented hash and of HMAC: "abc" digests
 * from FIPS 180-4 examples, HMAC from RFC 4231 test case 2. */
static bool run_self_tests(void)
{
    static const uint8_t sha1_abc[20] = {
        0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
        0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d };
    static const uint8_t sha256_abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
    static const uint8_t sha384_abc_head[8] = { 0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b };
    static const uint8_t sha512_abc_head[8] = { 0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba };
    static const uint8_t hmac_tc2[32] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
        0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43 };
    static const char msg[] = "what do ya want for nothing?";
    uint8_t d[VT_MAX_DIGEST];
    vt_buf part = { msg, sizeof(msg) - 1 };

    if (vt_hash(TPM2_ALG_SHA1, "abc", 3, d) != 20 || memcmp(d, sha1_abc, 20))
        return false;
    if (vt_hash(TPM2_ALG_SHA256, "abc", 3, d) != 32 || memcmp(d, sha256_abc, 32))
        return false;
    if (vt_hash(TPM2_ALG_SHA384, "abc", 3, d) != 48 || memcmp(d, sha384_abc_head, 8))
        return false;
    if (vt_hash(TPM2_ALG_SHA512, "abc", 3, d) != 64 || memcmp(d, sha512_abc_head, 8))
        return false;
    if (vt_hmac_parts(TPM2_ALG_SHA256, (const uint8_t *)"Jefe", 4, &part, 1, d) != 32 ||
        memcmp(d, hmac_tc2, 32))
        return false;
    return true;
}

static TPM2_RC self_test(vt_engine *e)
{
    if (!run_self_tests()) {
        e->v.failed = true;
        return TPM2_RC_FAILURE;
    }
    e->v.selftest_done = true;
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_selftest(vt_cmd *c)
{
    uint8_t full;

    RETURN_IF_ERROR(vt_in_u8(&c->in, &full));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (full != TPM2_YES && full != TPM2_NO)
        return VT_RC_P(TPM2_RC_VALUE, 1);
    return self_test(c->e);
}

/* Every implemented algorithm is tested at once, so the to-do list that
 * comes back is always empty.  Asking for an algorithm this TPM does not
 * implement is TPM_RC_VALUE (Part 3 §10.3). */
TPM2_RC vt_cmd_incremental_selftest(vt_cmd *c)
{
    TPML_ALG to_test;
    TPML_ALG todo = { .count = 0 };
    unsigned i;

    RETURN_IF_ERROR(VT_IN(&c->in, TPML_ALG, &to_test));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    for (i = 0; i < to_test.count; i++)
        if (!vt_alg_implemented(to_test.algorithms[i]))
            return VT_RC_P(TPM2_RC_VALUE, 1);
    if (!c->e->v.selftest_done)
        RETURN_IF_ERROR(self_test(c->e));
    VT_OUT(&c->out, TPML_ALG, &todo);
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_cmd_get_test_result(vt_cmd *c)
{
    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_out_u16(&c->out, 0); /* outData: nothing vendor-specific to say */
    vt_out_u32(&c->out, c->e->v.failed ? TPM2_RC_FAILURE : TPM2_RC_SUCCESS);
    return TPM2_RC_SUCCESS;
}
