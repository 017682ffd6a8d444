/* Dictionary-attack protection (TPM 2.0 Part 1 §19.8, Part 3 §25).
 *
 * Every failed authorization of a DA-protected entity adds one to
 * failedTries; while failedTries >= maxTries the TPM is in lockout and
 * refuses DA-protected authorizations with TPM_RC_LOCKOUT.  Every
 * recoveryTime seconds of Time without a new failure one failure is
 * forgiven; recoveryTime 0 turns DA protection off (no failure is counted,
 * Part 3 §25.3: "a value of zero indicates that DA protection is
 * disabled").  lockoutAuth has its own rule: one failure locks it for
 * lockoutRecovery seconds, or until the next TPM Reset when that is 0.
 *
 * failedTries is durable: a counted failure is committed before the error
 * response goes out (vt_da_commit, called by vt_engine_execute), and the
 * first DA-protected authorization after a Startup records "DA in use"
 * before its value is checked, so a power cut between a check and its
 * commit is still counted: the next Startup after a non-orderly shutdown
 * adds one failure (Part 1 §19.8.?, "non-orderly shutdown").
 *
 * Time (vt_time_now) restarts at _TPM_Init, so a power cycle restarts the
 * recovery timers; the counts themselves survive it. */
#include "engine/engine_internal.h"

/* Manufacture defaults (the values swtpm and the PC Client profile use). */
#define DA_MAX_TRIES 3u
#define DA_RECOVERY_TIME 1000u     /* s */
#define DA_LOCKOUT_RECOVERY 1000u  /* s */

void vt_da_defaults(vt_da_state *da)
{
    da->failed_tries = 0;
    da->max_tries = DA_MAX_TRIES;
    da->recovery_time = DA_RECOVERY_TIME;
    da->lockout_recovery = DA_LOCKOUT_RECOVERY;
    da->lockout_locked = false;
    da->used = false;
    da->initialized = true;
}

/* A new TPM's state is all zeros; its DA parameters are the defaults. */
static void da_init(vt_engine *e)
{
    if (!e->p.da.initialized)
        vt_da_defaults(&e->p.da);
}

void vt_da_startup(vt_engine *e)
{
    vt_da_state *da = &e->p.da;

    if (!e->v.started || e->v.da_started)
        return;
    da_init(e);
    e->v.da_started = true;
    /* The timers run in Time, which started at _TPM_Init. */
    e->v.da_heal_mark = 0;
    e->v.da_lockout_mark = 0;
    /* lockoutRecovery 0: lockoutAuth comes back at TPM Reset (restartCount
     * is 0 after exactly that kind of Startup). */
    if (da->lockout_recovery == 0 && e->p.restart_count == 0 && da->lockout_locked) {
        da->lockout_locked = false;
        e->v.da_pending = true;
    }
    /* A DA-protected authorization was tried and the TPM then lost power
     * without an orderly shutdown: its outcome may not have been recorded,
     * so count it as a failure. */
    if (!e->v.orderly && da->used && da->recovery_time != 0 && da->failed_tries < da->max_tries) {
        da->failed_tries++;
        e->v.da_pending = true;
    }
    if (da->used) {
        da->used = false;
        e->v.da_pending = true;
    }
}

void vt_da_update(vt_engine *e)
{
    vt_da_state *da = &e->p.da;
    uint64_t now;

    da_init(e);
    vt_da_startup(e);
    if (!e->v.started)
        return;
    now = vt_time_now(e);
    if (da->recovery_time != 0 && da->failed_tries > 0) {
        uint64_t step = (uint64_t)da->recovery_time * 1000u;
        uint64_t n = now > e->v.da_heal_mark ? (now - e->v.da_heal_mark) / step : 0;
        if (n >= da->failed_tries) {
            da->failed_tries = 0;
            e->v.da_heal_mark = now;
        } else if (n > 0) {
            da->failed_tries -= (uint32_t)n;
            e->v.da_heal_mark += n * step;
        }
    } else {
        e->v.da_heal_mark = now;
    }
    if (da->lockout_locked && da->lockout_recovery != 0 &&
        now - e->v.da_lockout_mark >= (uint64_t)da->lockout_recovery * 1000u)
        da->lockout_locked = false;
}

bool vt_da_in_lockout(vt_engine *e)
{
    vt_da_update(e);
    /* With recoveryTime 0 nothing is counted, so nothing locks out. */
    return e->p.da.recovery_time != 0 && e->p.da.failed_tries >= e->p.da.max_tries;
}

TPM2_RC vt_da_check(vt_engine *e, TPM2_HANDLE h, bool da_protected)
{
    vt_da_state *da = &e->p.da;

    if (!da_protected)
        return TPM2_RC_SUCCESS;
    vt_da_update(e);
    if (h == TPM2_RH_LOCKOUT ? da->lockout_locked : vt_da_in_lockout(e))
        return TPM2_RC_LOCKOUT;
    if (!da->used && (h == TPM2_RH_LOCKOUT || da->recovery_time != 0)) {
        /* Recorded before the value is checked (see the top of the file);
         * if it cannot be recorded the value is not checked. */
        da->used = true;
        if (vt_state_commit(e) != TPM2_RC_SUCCESS) {
            da->used = false;
            return TPM2_RC_NV_UNAVAILABLE;
        }
    }
    return TPM2_RC_SUCCESS;
}

TPM2_RC vt_da_result(vt_engine *e, TPM2_HANDLE h, TPM2_RC rc)
{
    vt_da_state *da = &e->p.da;

    /* TPM_RC_AUTH_FAIL is only ever returned for a DA-protected entity
     * (auth.c); strip the session number. */
    if (!(rc & TPM2_RC_FMT1) || (rc & 0x3Fu) != (TPM2_RC_AUTH_FAIL & 0x3Fu))
        return rc;
    vt_da_update(e);
    if (h == TPM2_RH_LOCKOUT) {
        da->lockout_locked = true;
        e->v.da_lockout_mark = vt_time_now(e);
        e->v.da_pending = true;
    } else if (da->recovery_time != 0) {
        if (da->failed_tries < UINT32_MAX)
            da->failed_tries++;
        /* The next failure is forgiven recoveryTime after this one. */
        e->v.da_heal_mark = vt_time_now(e);
        e->v.da_pending = true;
    }
    return rc;
}

TPM2_RC vt_da_commit(vt_engine *e)
{
    if (!e->v.da_pending)
        return TPM2_RC_SUCCESS;
    e->v.da_pending = false;
    return vt_state_commit(e);
}
