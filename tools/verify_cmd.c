/* `vitrum verify IMAGE --bundle B [--pcr N] [--eventlog FILE] [--tcti T]`
 * (docs/TRANSPARENCY.md, "Host image verification"): the TPM's engine
 * checks that IMAGE is a release its owner trusts (VerifyBundle with the
 * image's SHA-256); only then is IMAGE measured into PCR N in every active
 * bank and recorded in a TCG PC Client crypto-agile event log. */
#define _GNU_SOURCE
#include "verify_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tss2/tss2_sys.h>

#include "common/hex.h"
#include "crypto/vt_crypto.h"
#include "eventlog.h"
#include "fw_host.h"
#include "tlog_io.h"

#define DEFAULT_PCR 9u
#define MAX_BUNDLE (1u << 20)

static const char usage_verify[] =
    "Usage: vitrum verify IMAGE --bundle BUNDLE [--pcr N] [--eventlog FILE] [--tcti TCTI]\n"
    "\n"
    "Ask the TPM whether IMAGE is a release its owner trusts: the TPM's engine\n"
    "verifies BUNDLE (signed by an enrolled release key, logged, witnessed as\n"
    "the owner's policy asks, SVN not below the floor; vitrum owner) for an\n"
    "image with IMAGE's SHA-256.  Only then is IMAGE measured: PCR N is\n"
    "extended in every active bank with IMAGE's digest in that bank's hash,\n"
    "and an EV_IPL event (TCG PC Client crypto-agile format, tpm2_eventlog\n"
    "reads it) describing the release is appended to the event log.\n"
    "A refused image extends nothing and logs nothing.\n"
    "\n"
    "Options:\n"
    "  --bundle FILE   the release bundle (vitrum log prove --bundle); its\n"
    "                  payload section, if any, is not sent to the TPM\n"
    "  --pcr N         the PCR to extend (default 9; 0..16 or 23)\n"
    "  --eventlog FILE the event log to append to (created with its Spec ID\n"
    "                  header if missing; an existing one must be for the same\n"
    "                  banks)\n"
    "  --tcti TCTI     the TPM (default: $TPM2TOOLS_TCTI, else\n"
    "                  mssim:host=127.0.0.1,port=2321)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 verified and measured, 1 refused or failed (one line says\n"
    "why), 2 usage error.\n";

/* The banks PCR pcr is allocated in (TPM2_GetCapability(TPM_CAP_PCRS)). */
static int active_banks(TSS2_SYS_CONTEXT *sys, uint32_t pcr, vt_evlog_spec *spec, char *err,
                        size_t errlen)
{
    TPMS_CAPABILITY_DATA cap;
    TPMI_YES_NO more;
    TSS2_RC rc;
    uint32_t i;

    rc = Tss2_Sys_GetCapability(sys, NULL, TPM2_CAP_PCRS, 0, 1, &more, &cap, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "TPM2_GetCapability(PCRS) failed: 0x%x", rc);
        return -1;
    }
    spec->nalgs = 0;
    for (i = 0; i < cap.data.assignedPCR.count && i < TPM2_NUM_PCR_BANKS; i++) {
        const TPMS_PCR_SELECTION *s = &cap.data.assignedPCR.pcrSelections[i];
        size_t sz = vt_hash_size(s->hash);
        if (pcr / 8 >= s->sizeofSelect || !(s->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
            continue;
        if (sz == 0) {
            snprintf(err, errlen, "PCR bank 0x%04x is active but this tool cannot hash with it",
                     s->hash);
            return -1;
        }
        if (spec->nalgs == VT_EVLOG_MAX_ALGS)
            break;
        spec->algs[spec->nalgs].alg = s->hash;
        spec->algs[spec->nalgs].size = (uint16_t)sz;
        spec->nalgs++;
    }
    if (spec->nalgs == 0) {
        snprintf(err, errlen, "PCR %u is not allocated in any bank", pcr);
        return -1;
    }
    return 0;
}

static int pcr_extend(TSS2_SYS_CONTEXT *sys, uint32_t pcr, const vt_evlog_spec *spec,
                      uint8_t digests[][VT_MAX_DIGEST], char *err, size_t errlen)
{
    TSS2L_SYS_AUTH_COMMAND auth = { .count = 1, .auths = { { .sessionHandle = TPM2_RS_PW } } };
    TPML_DIGEST_VALUES v = { .count = (uint32_t)spec->nalgs };
    TSS2_RC rc;

    for (size_t i = 0; i < spec->nalgs; i++) {
        v.digests[i].hashAlg = spec->algs[i].alg;
        memcpy(&v.digests[i].digest, digests[i], spec->algs[i].size);
    }
    rc = Tss2_Sys_PCR_Extend(sys, pcr, &auth, &v, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "TPM2_PCR_Extend(%u) failed: 0x%x", pcr, rc);
        return -1;
    }
    return 0;
}

int vt_verify_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "bundle", required_argument, NULL, 'b' }, { "pcr", required_argument, NULL, 'p' },
        { "eventlog", required_argument, NULL, 'e' }, { "tcti", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 }
    };
    const char *bundle_path = NULL, *evlog_path = NULL, *tcti_conf = NULL, *image;
    uint32_t pcr = DEFAULT_PCR;
    uint8_t *bundle = NULL, sha256[32], digests[VT_EVLOG_MAX_ALGS][VT_MAX_DIGEST];
    const uint8_t *dig_ptr[VT_EVLOG_MAX_ALGS];
    size_t bundle_len = 0, i, sys_size;
    char err[640] = "", hex[65], data[512];
    TSS2_TCTI_CONTEXT *tcti = NULL;
    TSS2_SYS_CONTEXT *sys = NULL;
    TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
    vt_evlog_file log = { .fd = -1, .dir_fd = -1 };
    vt_evlog_spec spec;
    vt_fw_info info;
    struct stat st;
    void *map = MAP_FAILED;
    int c, fd = -1, rc = 1, data_len;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bundle_path = optarg; break;
        case 'e': evlog_path = optarg; break;
        case 'T': tcti_conf = optarg; break;
        case 'p': {
            char *end;
            unsigned long v;
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || (v > 16 && v != 23)) {
                fprintf(stderr, "vitrum verify: --pcr must be 0..16 or 23 (PCRs 17..22 belong to D-RTM)\n");
                return 2;
            }
            pcr = (uint32_t)v;
            break;
        }
        case 'h': fputs(usage_verify, stdout); return 0;
        default: fputs(usage_verify, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !bundle_path) {
        fputs(usage_verify, stderr);
        return 2;
    }
    image = argv[optind];
    if (vt_crypto_init() != 0) {
        fprintf(stderr, "vitrum: the crypto library could not be initialised\n");
        return 1;
    }

    /* the image, mapped once: the digests sent and extended are of the same
     * bytes */
    fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "vitrum verify: %s: %s\n", image, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "vitrum verify: %s: not a regular file\n", image);
        goto out;
    }
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            fprintf(stderr, "vitrum verify: %s: %s\n", image, strerror(errno));
            goto out;
        }
    }
    if (vt_hash(TPM2_ALG_SHA256, map == MAP_FAILED ? "" : map, (size_t)st.st_size, sha256) != 32) {
        fprintf(stderr, "vitrum verify: SHA-256 failed\n");
        goto out;
    }
    if (vt_io_read(bundle_path, &bundle, &bundle_len, MAX_BUNDLE) != 0)
        goto out;

    if (vt_fw_tcti_open(tcti_conf, &tcti, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum verify: %s\n", err);
        goto out;
    }
    switch (vt_fw_verify_tcti(tcti, bundle, bundle_len, sha256, &info, err, sizeof(err))) {
    case VT_FW_OK: break;
    case VT_FW_REFUSED:
        fprintf(stderr, "vitrum verify: refused: %s; %s not measured\n", err, image);
        goto out;
    default:
        fprintf(stderr, "vitrum verify: %s\n", err);
        goto out;
    }

    sys_size = Tss2_Sys_GetContextSize(0);
    sys = calloc(1, sys_size);
    if (!sys || Tss2_Sys_Initialize(sys, sys_size, tcti, &abi) != TSS2_RC_SUCCESS) {
        fprintf(stderr, "vitrum verify: cannot initialise the TPM connection\n");
        goto out;
    }
    if (active_banks(sys, pcr, &spec, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum verify: %s\n", err);
        goto out;
    }
    for (i = 0; i < spec.nalgs; i++) {
        if (vt_hash(spec.algs[i].alg, map == MAP_FAILED ? "" : map, (size_t)st.st_size,
                    digests[i]) != spec.algs[i].size) {
            fprintf(stderr, "vitrum verify: hashing with 0x%04x failed\n", spec.algs[i].alg);
            goto out;
        }
        dig_ptr[i] = digests[i];
    }
    /* the log is checked (and locked) before the PCR changes */
    if (evlog_path && vt_evlog_open(&log, evlog_path, &spec, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum verify: %s\n", err);
        goto out;
    }
    vt_hex_encode(sha256, 32, hex);
    {
        const char *base = strrchr(image, '/');
        char idx[24] = "none";
        if (info.log_index != UINT64_MAX)
            snprintf(idx, sizeof(idx), "%llu", (unsigned long long)info.log_index);
        /* EV_IPL event data: one NUL-terminated line of ASCII */
        data_len = snprintf(data, sizeof(data),
                            "vitrum-image/v1 name=%s version=%s svn=%llu log-index=%s sha256=%s file=%.100s",
                            info.name, info.version, (unsigned long long)info.svn, idx, hex,
                            base ? base + 1 : image);
        if (data_len < 0 || (size_t)data_len >= sizeof(data))
            data_len = (int)sizeof(data) - 1;
        for (i = 0; i < (size_t)data_len; i++)
            if ((unsigned char)data[i] < 0x20 || (unsigned char)data[i] > 0x7e)
                data[i] = '?';
        /* no NUL: the event data is the text alone */
    }
    if (pcr_extend(sys, pcr, &spec, digests, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum verify: %s\n", err);
        goto out;
    }
    if (evlog_path && vt_evlog_write(&log, &spec, pcr, VT_EV_IPL, dig_ptr, data,
                                     (uint32_t)data_len, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum verify: PCR %u was extended but the event log was not written: %s\n",
                pcr, err);
        goto out;
    }
    printf("verified %s %s svn %llu (sha256 %s)\n", info.name, info.version,
           (unsigned long long)info.svn, hex);
    printf("extended PCR %u in %zu bank%s", pcr, spec.nalgs, spec.nalgs == 1 ? "" : "s");
    if (evlog_path)
        printf("; event %zu of %s", log.nevents, evlog_path);
    printf("\n");
    rc = 0;
out:
    vt_evlog_close(&log);
    if (sys) {
        Tss2_Sys_Finalize(sys);
        free(sys);
    }
    vt_fw_tcti_close(tcti);
    free(bundle);
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    if (fd >= 0)
        close(fd);
    return rc;
}
