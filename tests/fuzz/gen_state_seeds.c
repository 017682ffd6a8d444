/* Write real state blobs into the fuzz_state seed corpus.
 *
 *   gen_state_seeds DIR
 *
 * Each file is the fuzz_state input format: one flags byte, then a blob the
 * engine committed itself (fresh manufacture, after Shutdown(STATE), with a
 * pending PCR allocation and a set Clock). */
#include <errno.h>
#include <stdio.h>

#include "fuzz_common.h"

static fz_platform plat;
static uint8_t rsp[VT_MAX_RESPONSE_SIZE];

static int write_seed(const char *dir, const char *name, uint8_t flags)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "gen_state_seeds: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fputc(flags, f);
    fwrite(plat.store, 1, plat.store_len, f);
    if (fclose(f) != 0)
        return -1;
    return 0;
}

static void run(vt_engine *e, const uint8_t *cmd, size_t n)
{
    uint32_t rc = fz_exec(e, 0, cmd, n, rsp, NULL);
    if (rc != 0)
        fprintf(stderr, "gen_state_seeds: command 0x%x: rc 0x%x\n", fz_be32(cmd + 6), rc);
}

int main(int argc, char **argv)
{
    static const uint8_t pcr_extend0[] = {
        0x80, 0x02, 0, 0, 0, 0x41, 0, 0, 0x01, 0x82, 0, 0, 0, 0,
        0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 1, 0, 0,
        0, 0, 0, 1, 0, 0x0B,
        0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
    };
    static const uint8_t shutdown_state[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x45, 0, 1 };
    /* PCR_Allocate(platform, pw): SHA-256 and SHA-384 all PCRs, SHA-1 none */
    static const uint8_t pcr_allocate[] = {
        0x80, 0x02, 0, 0, 0, 0x31, 0, 0, 0x01, 0x2B, 0x40, 0, 0, 0x0C,
        0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 1, 0, 0,
        0, 0, 0, 3, 0, 0x04, 3, 0, 0, 0, 0, 0x0B, 3, 0xFF, 0xFF, 0xFF, 0, 0x0C, 3, 0xFF, 0xFF, 0xFF,
    };
    /* ClockSet(owner, pw, 100000000 ms) */
    static const uint8_t clock_set[] = {
        0x80, 0x02, 0, 0, 0, 0x23, 0, 0, 0x01, 0x28, 0x40, 0, 0, 0x01,
        0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 1, 0, 0,
        0, 0, 0, 0, 0x05, 0xF5, 0xE1, 0x00,
    };
    vt_platform p;
    vt_engine *e = NULL;
    vt_status st;
    int bad = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: gen_state_seeds DIR\n");
        return 2;
    }
    fz_platform_reset(&plat);
    p = fz_vt_platform(&plat);
    st = vt_engine_new(&p, &e);
    if (st != VT_OK) {
        fprintf(stderr, "gen_state_seeds: vt_engine_new: %s\n", vt_status_str(st));
        return 1;
    }
    bad |= write_seed(argv[1], "state-fresh", 0x00);
    bad |= write_seed(argv[1], "state-fresh-fixup", 0x01);

    vt_engine_power_on(e);
    fz_startup(e, 0x0000, rsp);
    run(e, pcr_extend0, sizeof(pcr_extend0));
    run(e, shutdown_state, sizeof(shutdown_state));
    bad |= write_seed(argv[1], "state-shutdown-state", 0x02);
    bad |= write_seed(argv[1], "state-shutdown-state-fixup", 0x03);

    vt_engine_reset(e);
    fz_startup(e, 0x0001, rsp);
    run(e, pcr_allocate, sizeof(pcr_allocate));
    run(e, clock_set, sizeof(clock_set));
    if (vt_engine_save(e) != VT_OK)
        bad = 1;
    bad |= write_seed(argv[1], "state-allocate-clockset", 0x00);
    bad |= write_seed(argv[1], "state-allocate-clockset-fixup", 0x03);
    vt_engine_free(e);
    return bad ? 1 : 0;
}
