/* libFuzzer target: the state loader.  vt_engine_new reads its state blob
 * through the platform's state_load, which here returns the fuzz input.
 * It must return an error or a working engine, never crash.
 *
 * Input format:
 *   u8 flags   bit0: recompute the blob's trailing SHA-256 so the fuzzer gets
 *                    past the integrity check into the field parser
 *              bit1: first Startup is Startup(STATE) (falls back to CLEAR)
 *              bit2: the store fails commits while vt_engine_new runs
 *              bit3: journal records follow the blob (then the blob is
 *                    prefixed by its u16 length, and each record by its
 *                    u16 length): vt_engine_new replays them as it would
 *                    the store's journal
 *   the rest   the state blob
 *
 * Invariants: on error no engine is returned; an empty store whose commit
 * fails gives no engine (a TPM with seeds that are not durable); a loaded
 * engine answers
 * commands (fz_check_response); after those commands the state the engine
 * committed loads again. */
#include <openssl/evp.h>

#include "fuzz_common.h"

static fz_platform plat;
static uint8_t blob[65536];

/* A password-authorized PCR_Extend of PCR 16 (SHA-256). */
static const uint8_t pcr_extend16[] = {
    0x80, 0x02, 0, 0, 0, 0x41, 0, 0, 0x01, 0x82, 0, 0, 0, 16,
    0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 1, 0, 0,
    0, 0, 0, 1, 0, 0x0B,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
/* PCR_Read of PCRs 0-23 in SHA-1, SHA-256, SHA-384, SHA-512. */
static const uint8_t pcr_read_all[] = {
    0x80, 0x01, 0, 0, 0, 0x26, 0, 0, 0x01, 0x7E, 0, 0, 0, 4,
    0, 0x04, 3, 0xFF, 0xFF, 0xFF, 0, 0x0B, 3, 0xFF, 0xFF, 0xFF,
    0, 0x0C, 3, 0xFF, 0xFF, 0xFF, 0, 0x0D, 3, 0xFF, 0xFF, 0xFF,
};
/* GetCapability(TPM_PROPERTIES, TPM_PT_FIXED, 64), (PCRS), (TPM_PROPERTIES,
 * PT_VAR) */
static const uint8_t getcap_fixed[] = {
    0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7A, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 0, 64,
};
static const uint8_t getcap_var[] = {
    0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7A, 0, 0, 0, 6, 0, 0, 2, 0, 0, 0, 0, 64,
};
static const uint8_t getcap_pcrs[] = {
    0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7A, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1,
};
static const uint8_t read_clock[] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x81 };
static const uint8_t get_random[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7B, 0, 32 };
static const uint8_t shutdown_state[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x45, 0, 1 };

#define RUN(e, cmd) (void)fz_exec((e), 0, (cmd), sizeof(cmd), rsp, NULL)

/* The journal region of the input, for fz_replay. */
static const uint8_t *journal;
static size_t journal_len;

static long fz_replay(void *ctx, int (*apply)(void *actx, const uint8_t *rec, size_t len), void *actx)
{
    size_t off = 0;
    long count = 0;
    (void)ctx;
    while (journal_len - off >= 2) {
        size_t n = (size_t)journal[off] << 8 | journal[off + 1];
        if (n > journal_len - off - 2)
            break; /* a torn last record, as the store would drop it */
        if (apply(actx, journal + off + 2, n) != 0)
            return -1;
        off += 2 + n;
        count++;
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    vt_platform p;
    vt_engine *e = (vt_engine *)(uintptr_t)1;
    vt_status st;
    uint8_t flags;
    size_t n;

    if (size < 1 || size - 1 > sizeof(blob))
        return 0;
    flags = data[0];
    n = size - 1;
    journal = NULL;
    journal_len = 0;
    if (flags & 8) {
        if (size < 3)
            return 0;
        n = (size_t)data[1] << 8 | data[2];
        if (n > size - 3)
            return 0;
        journal = data + 3 + n;
        journal_len = size - 3 - n;
        memcpy(blob, data + 3, n);
    } else {
        memcpy(blob, data + 1, n);
    }
    if ((flags & 1) && n >= 32) {
        unsigned int dl = 0;
        if (!EVP_Digest(blob, n - 32, blob + n - 32, &dl, EVP_sha256(), NULL))
            return 0;
    }

    fz_platform_reset(&plat);
    plat.load_override = blob;
    plat.load_override_len = n;
    plat.fail_commit = (flags & 4) != 0;
    p = fz_vt_platform(&plat);
    if (flags & 8)
        p.state_replay = fz_replay;

    st = vt_engine_new(&p, &e);
    if (st != VT_OK) {
        if (e != NULL)
            fz_fail("vt_engine_new failed (%s) but returned an engine", vt_status_str(st));
        if (n == 0 && !(flags & 4))
            fz_fail("an empty store must manufacture a TPM, got %s", vt_status_str(st));
        return 0;
    }
    if (e == NULL)
        fz_fail("vt_engine_new returned VT_OK without an engine");
    /* A new TPM (empty store) must be committed before it is used; an
     * existing state is committed later, by TPM2_Startup. */
    if ((flags & 4) && n == 0)
        fz_fail("vt_engine_new made a new TPM although the store refused the commit");
    plat.fail_commit = false;

    /* From here on the store holds what the engine committed. */
    plat.load_override = NULL;
    vt_engine_power_on(e);
    if (!(flags & 2) || fz_startup(e, 0x0001, rsp) != 0)
        (void)fz_startup(e, 0x0000, rsp);
    RUN(e, getcap_fixed);
    RUN(e, getcap_var);
    RUN(e, getcap_pcrs);
    RUN(e, pcr_read_all);
    RUN(e, read_clock);
    RUN(e, get_random);
    RUN(e, pcr_extend16);
    RUN(e, shutdown_state);
    vt_engine_reset(e);
    (void)fz_startup(e, 0x0001, rsp);
    RUN(e, pcr_read_all);
    RUN(e, read_clock);
    vt_engine_free(e);

    /* What the engine committed must load (it holds the journal too). */
    p.state_replay = NULL;
    e = NULL;
    st = vt_engine_new(&p, &e);
    if (st != VT_OK)
        fz_fail("the engine's own committed state does not load: %s", vt_status_str(st));
    vt_engine_power_on(e);
    (void)fz_startup(e, 0x0001, rsp);
    RUN(e, pcr_read_all);
    vt_engine_free(e);
    return 0;
}
