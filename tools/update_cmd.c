/* `vitrum update apply|status` (docs/TRANSPARENCY.md, "Update slots"):
 * stage a release of vitrum, verified by the TPM's engine, in the inactive
 * slot of the state directory; the launcher runs it at the next start of
 * `vitrum serve`. */
#define _GNU_SOURCE
#include "update_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "crypto/vt_crypto.h"
#include "config.h"
#include "fw_host.h"
#include "tlog/tlog.h"
#include "tlog_io.h"

#define MAX_BUNDLE (256u << 20)

static const char usage_update[] =
    "Usage: vitrum update apply BUNDLE [--state DIR] [--key SPEC] [--tcti TCTI]\n"
    "       vitrum update status [--state DIR]\n"
    "\n"
    "apply   stage the vitrum build in BUNDLE (its payload: a vitrum binary)\n"
    "        for the TPM in DIR.  The TPM's engine verifies the bundle first\n"
    "        (enrolled release key, log inclusion and witnesses as the owner's\n"
    "        policy asks, SVN not below the floor: vitrum owner).  The build\n"
    "        then goes into the inactive slot, DIR/slots/a or b, written\n"
    "        durably, and is marked next: the next `vitrum serve` on DIR\n"
    "        verifies it again, runs its selftest and serves with it, or\n"
    "        falls back to the current build.\n"
    "status  show the slots: which is current, next and previous, with the\n"
    "        release each holds, and whether its binary still matches.\n"
    "\n"
    "Options:\n"
    "  --state DIR   the TPM's state directory (default as for vitrum serve:\n"
    "                $VITRUM_STATE, /var/lib/vitrum for root, else\n"
    "                $XDG_STATE_HOME/vitrum)\n"
    "  --key SPEC    the state directory's key (as for vitrum serve), for the\n"
    "                engine run in this process when no server holds DIR\n"
    "  --tcti TCTI   ask the server at TCTI (mssim:host=H,port=N) to verify.\n"
    "                Default: an engine in this process on DIR; when a server\n"
    "                holds DIR, the server at $TPM2TOOLS_TCTI, else\n"
    "                mssim:host=127.0.0.1,port=2321\n"
    "  -h, --help    show this help\n"
    "\n"
    "Exit status: 0 staged (or shown), 1 refused or failed (one line says\n"
    "why), 2 usage error.\n";

static int write_slot(const char *state, char slot, const vt_bundle *b, const uint8_t *bundle,
                      size_t blen, char *err, size_t errlen)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/slots/%c", state, slot);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/slots/%c/vitrum", state, slot);
    if (vt_io_write_atomic(path, b->payload, b->payload_len, 0755) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/slots/%c/bundle", state, slot);
    if (vt_io_write_atomic(path, bundle, blen, 0644) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/slots", state);
    if (vt_io_fsync_dir(path) != 0) {
        snprintf(err, errlen, "cannot fsync %s", path);
        return -1;
    }
    return 0;
}

static int apply(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' }, { "key", required_argument, NULL, 'k' },
        { "tcti", required_argument, NULL, 'T' },  { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    char state[4096] = "", err[1024] = "", via[400] = "", hex[65];
    const char *key = NULL, *tcti_conf = NULL;
    vt_engine_config cfg = { .nv_size = VT_NV_SIZE_LIMIT };
    uint8_t *bundle = NULL, *stripped = NULL, sha[32];
    size_t blen = 0, slen = 0;
    vt_bundle b;
    vt_fw_info info;
    vt_slots slots;
    char target;
    int c, rc = 1, vr = VT_FW_ERROR, lock = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': snprintf(state, sizeof(state), "%s", optarg); break;
        case 'k': key = optarg; break;
        case 'T': tcti_conf = optarg; break;
        case 'h': fputs(usage_update, stdout); return 0;
        default: fputs(usage_update, stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        fputs(usage_update, stderr);
        return 2;
    }
    if (!*state)
        vt_default_state_dir(state, sizeof(state));
    if (vt_io_read(argv[optind], &bundle, &blen, MAX_BUNDLE) != 0)
        return 1;
    if (vt_crypto_init() != 0) {
        fprintf(stderr, "vitrum: the crypto library could not be initialised\n");
        goto out;
    }
    if (vt_bundle_parse(&b, bundle, blen) != VT_TLOG_OK) {
        fprintf(stderr, "vitrum update: refused: malformed or truncated bundle\n");
        goto out;
    }
    if (!b.payload) {
        fprintf(stderr, "vitrum update: refused: the bundle has no payload (made with --detached); "
                        "an update needs the build itself\n");
        goto out;
    }
    if (vt_hash(TPM2_ALG_SHA256, b.payload, b.payload_len, sha) != 32) {
        fprintf(stderr, "vitrum update: SHA-256 failed\n");
        goto out;
    }
    /* the slot keeps (and the engine gets) the bundle without its payload */
    if (!(stripped = malloc(blen)) || !(slen = vt_fw_bundle_strip(bundle, blen, stripped))) {
        fprintf(stderr, "vitrum update: refused: malformed or truncated bundle\n");
        goto out;
    }
    if (!tcti_conf) {
        vr = vt_fw_verify_local(state, key, &cfg, stripped, slen, sha, &info, err, sizeof(err));
        snprintf(via, sizeof(via), "the engine on %s", state);
    }
    if (tcti_conf || vr == VT_FW_BUSY) {
        TSS2_TCTI_CONTEXT *t = NULL;
        snprintf(via, sizeof(via), "the server at %s", vt_fw_tcti_conf(tcti_conf));
        if (vt_fw_tcti_open(tcti_conf, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum update: %s\n", err);
            goto out;
        }
        vr = vt_fw_verify_tcti(t, stripped, slen, sha, &info, err, sizeof(err));
        vt_fw_tcti_close(t);
    }
    if (vr == VT_FW_REFUSED) {
        fprintf(stderr, "vitrum update: refused: %s\n", err);
        goto out;
    }
    if (vr != VT_FW_OK) {
        fprintf(stderr, "vitrum update: %s\n", err);
        goto out;
    }

    lock = vt_slots_lock(state, err, sizeof(err));
    if (lock < 0 || vt_slots_read(state, &slots, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum update: %s\n", err);
        goto out;
    }
    /* the inactive slot: never the one the server runs now */
    target = slots.current == 'a' ? 'b' : 'a';
    if (slots.next == target || slots.previous == target) {
        /* the state stops naming the slot before its files change */
        if (slots.next == target)
            slots.next = 0;
        if (slots.previous == target)
            slots.previous = 0;
        if (vt_slots_write(state, &slots, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum update: %s\n", err);
            goto out;
        }
    }
    if (write_slot(state, target, &b, stripped, slen, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum update: %s\n", err);
        goto out;
    }
    slots.next = target;
    if (vt_slots_write(state, &slots, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum update: %s\n", err);
        goto out;
    }
    vt_hex_encode(sha, 32, hex);
    printf("verified by %s: %s %s, svn %llu, sha256 %s\n", via, info.name, info.version,
           (unsigned long long)info.svn, hex);
    printf("staged in slot %c (%s/slots/%c); it runs at the next start of vitrum serve\n", target,
           state, target);
    rc = 0;
out:
    if (lock >= 0)
        close(lock);
    free(bundle);
    free(stripped);
    return rc;
}

static void show_slot(const char *state, const char *role, char s)
{
    char path[4200], err[512];
    uint8_t *bundle = NULL, sha[32];
    size_t blen = 0;
    vt_fw_info info;

    if (!s) {
        printf("%-9s -\n", role);
        return;
    }
    snprintf(path, sizeof(path), "%s/slots/%c/bundle", state, s);
    if (vt_io_read(path, &bundle, &blen, MAX_BUNDLE) != 0 || vt_fw_bundle_peek(bundle, blen, &info) != 0) {
        printf("%-9s %c  (no readable bundle)\n", role, s);
        free(bundle);
        return;
    }
    free(bundle);
    snprintf(path, sizeof(path), "%s/slots/%c/vitrum", state, s);
    printf("%-9s %c  %s %s svn %llu, log index ", role, s, info.name, info.version,
           (unsigned long long)info.svn);
    if (info.log_index == UINT64_MAX)
        printf("none");
    else
        printf("%llu", (unsigned long long)info.log_index);
    if (vt_fw_sha256_file(path, sha, err, sizeof(err)) != 0)
        printf(", binary: %s\n", err);
    else
        printf(", binary %s\n", memcmp(sha, info.sha256, 32) ? "DIFFERS from the release" : "matches");
}

static int status(int argc, char **argv)
{
    static const struct option opts[] = { { "state", required_argument, NULL, 's' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    char state[4096] = "", err[512];
    vt_slots slots;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': snprintf(state, sizeof(state), "%s", optarg); break;
        case 'h': fputs(usage_update, stdout); return 0;
        default: fputs(usage_update, stderr); return 2;
        }
    }
    if (optind != argc) {
        fputs(usage_update, stderr);
        return 2;
    }
    if (!*state)
        vt_default_state_dir(state, sizeof(state));
    if (vt_slots_read(state, &slots, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum update: %s\n", err);
        return 1;
    }
    printf("state     %s\n", state);
    show_slot(state, "current", slots.current);
    show_slot(state, "next", slots.next);
    show_slot(state, "previous", slots.previous);
    if (!slots.current && !slots.next && !slots.previous)
        printf("(no update staged: vitrum serve runs the installed build)\n");
    return 0;
}

int vt_update_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_update, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_update, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "apply"))
        return apply(argc - 1, argv + 1);
    if (!strcmp(argv[1], "status"))
        return status(argc - 1, argv + 1);
    fprintf(stderr, "vitrum update: unknown command '%s' (apply or status)\n", argv[1]);
    return 2;
}
