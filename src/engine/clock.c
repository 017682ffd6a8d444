/* Clock and Time (TPM 2.0 Part 1 §36).
 *
 * Time counts milliseconds since _TPM_Init.  Clock counts milliseconds the
 * TPM has been running over its whole life: it is stored in the state, never
 * goes backwards, and can be advanced (TPM2_ClockSet) or have its rate
 * trimmed (TPM2_ClockRateAdjust). */
#include "engine/engine_internal.h"

uint64_t vt_clock_now(vt_engine *e)
{
    uint64_t mono = e->plat.monotonic_ms(e->plat.ctx);
    uint64_t elapsed = mono > e->clock_mono ? mono - e->clock_mono : 0;
    int64_t adj = (int64_t)elapsed * e->v.clock_rate_ppm / 1000000;
    return e->clock_base + (uint64_t)((int64_t)elapsed + adj);
}

uint64_t vt_time_now(vt_engine *e)
{
    uint64_t mono = e->plat.monotonic_ms(e->plat.ctx);
    return mono > e->v.time_origin ? mono - e->v.time_origin : 0;
}

/* Fold the elapsed time into clock_base (before a rate change or a set). */
static void rebase(vt_engine *e)
{
    e->clock_base = vt_clock_now(e);
    e->clock_mono = e->plat.monotonic_ms(e->plat.ctx);
}

void vt_clock_power_on(vt_engine *e)
{
    /* The rate adjustment is volatile: fold it in before it is cleared. */
    rebase(e);
    e->v.clock_rate_ppm = 0;
}

TPM2_RC vt_clock_maybe_save(vt_engine *e)
{
    uint64_t now = vt_clock_now(e);
    if (now < e->p.clock + VT_CLOCK_SAVE_INTERVAL_MS)
        return TPM2_RC_SUCCESS;
    e->p.clock = now;
    return vt_state_commit(e);
}

void vt_clock_info(vt_engine *e, TPMS_CLOCK_INFO *ci)
{
    ci->clock = vt_clock_now(e);
    ci->resetCount = e->p.reset_count;
    ci->restartCount = e->p.restart_count;
    ci->safe = e->p.clock_safe ? TPM2_YES : TPM2_NO;
}

TPM2_RC vt_cmd_read_clock(vt_cmd *c)
{
    TPMS_TIME_INFO ti;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    ti.time = vt_time_now(c->e);
    vt_clock_info(c->e, &ti.clockInfo);
    VT_OUT(&c->out, TPMS_TIME_INFO, &ti);
    return TPM2_RC_SUCCESS;
}

/* Part 3 §29.2: Clock may only be advanced, and not into the top range
 * that is reserved to detect wrap. */
TPM2_RC vt_cmd_clock_set(vt_cmd *c)
{
    uint64_t new_time;

    RETURN_IF_ERROR(vt_in_u64(&c->in, &new_time));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (new_time > 0xFFFF000000000000ull || new_time < vt_clock_now(c->e))
        return VT_RC_P(TPM2_RC_VALUE, 1);
    c->e->clock_base = new_time;
    c->e->clock_mono = c->e->plat.monotonic_ms(c->e->plat.ctx);
    c->e->p.clock = new_time;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* Part 3 §29.3.  The size of each step is ours to choose (Part 1 §36.?):
 * coarse 1%, medium 0.1%, fine 0.01%, accumulating, within ±15%. */
TPM2_RC vt_cmd_clock_rate_adjust(vt_cmd *c)
{
    int8_t adj;
    int32_t step, rate;

    RETURN_IF_ERROR(vt_in_i8(&c->in, &adj));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    switch (adj) {
    case TPM2_CLOCK_COARSE_SLOWER: step = -10000; break;
    case TPM2_CLOCK_MEDIUM_SLOWER: step = -1000; break;
    case TPM2_CLOCK_FINE_SLOWER: step = -100; break;
    case TPM2_CLOCK_NO_CHANGE: step = 0; break;
    case TPM2_CLOCK_FINE_FASTER: step = 100; break;
    case TPM2_CLOCK_MEDIUM_FASTER: step = 1000; break;
    case TPM2_CLOCK_COARSE_FASTER: step = 10000; break;
    default: return VT_RC_P(TPM2_RC_VALUE, 1);
    }
    rebase(c->e);
    rate = c->e->v.clock_rate_ppm + step;
    if (rate > 150000)
        rate = 150000;
    if (rate < -150000)
        rate = -150000;
    c->e->v.clock_rate_ppm = rate;
    return TPM2_RC_SUCCESS;
}
