/* `vitrum owner`: enrol and remove the keys the TPM trusts for firmware
 * releases, set the policy, show the store, check a bundle, and lower an
 * SVN floor, through vitrum's vendor commands (docs/VENDOR-COMMANDS.md) on
 * a running TPM. */
#define _GNU_SOURCE
#include "owner_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendor_client.h"
#include "tlog_io.h"
#include "crypto/vt_crypto.h"

static const char usage_owner[] =
    "Usage: vitrum owner add (--release | --log | --witness) VKEY [options]\n"
    "       vitrum owner remove (--release | --log | --witness) VKEY [options]\n"
    "       vitrum owner policy [--log yes|no] [--witnesses K] [options]\n"
    "       vitrum owner show [--tcti TCTI]\n"
    "       vitrum owner check BUNDLE [--payload FILE | --digest HEX] [--tcti TCTI]\n"
    "       vitrum owner floor-lower NAME SVN [--platform-auth AUTH] [options]\n"
    "\n"
    "The TPM's owner decides which firmware releases it accepts: release keys\n"
    "(sign manifests), log keys (sign the transparency log's checkpoints),\n"
    "witness keys (cosign checkpoints) and a policy.  A fresh TPM trusts\n"
    "nothing.  Changes need the owner's authorization; lowering a release's\n"
    "anti-rollback floor also needs the platform's.\n"
    "\n"
    "add          enrol VKEY (a verifier key string or a file holding one) as\n"
    "             a release, log or witness key (at most 8 of each)\n"
    "remove       remove an enrolled key\n"
    "policy       --log yes: bundles must carry a checkpoint signed by an\n"
    "             enrolled log key and an inclusion proof; --witnesses K: K\n"
    "             enrolled witnesses must cosign it (needs --log yes).  An\n"
    "             option left out keeps its value\n"
    "show         print the keys, the policy, the SVN floors, the last floor\n"
    "             lowering and the running firmware\n"
    "check        verify BUNDLE with the TPM's trust store (VerifyBundle),\n"
    "             changing nothing: its payload, or FILE, or the SHA-256 HEX\n"
    "             is checked against the manifest\n"
    "floor-lower  lower the SVN floor of release NAME to SVN (0 removes it);\n"
    "             recorded in the TPM (see show)\n"
    "\n"
    "Options:\n"
    "  -P, --auth AUTH       the owner's authorization: str:TEXT, hex:HEX,\n"
    "                        file:PATH or TEXT, as tpm2-tools (default: empty)\n"
    "  --platform-auth AUTH  the platform's authorization, same forms\n"
    "  --tcti TCTI           the TPM (default: $TPM2TOOLS_TCTI, else\n"
    "                        mssim:host=127.0.0.1,port=2321)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 done or verified, 1 refused or failed (one line says why),\n"
    "2 usage error.\n";

static const char *role_name(unsigned r)
{
    return r == VT_TRUST_RELEASE ? "release" : r == VT_TRUST_LOG ? "log" : r == VT_TRUST_WITNESS ? "witness" : "?";
}

static int fail(const char *what, TSS2_RC rc, uint32_t cc)
{
    if ((rc & 0xFFFF0000u) == 0 && rc != VT_VC_EFORMAT)
        fprintf(stderr, "vitrum owner %s: %s (TPM_RC 0x%03x)\n", what, vt_vc_strerror(rc, cc),
                (unsigned)rc);
    else
        fprintf(stderr, "vitrum owner %s: %s\n", what, vt_vc_strerror(rc, cc));
    return 1;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void print_release(const vt_vc_release *r)
{
    char h[65];
    hex(r->sha256, 32, h);
    printf("name %s\nversion %s\nsvn %" PRIu64 "\n", r->name, r->version, r->svn);
    if (r->size)
        printf("size %" PRIu64 "\n", r->size);
    printf("sha256 %s\n", h);
    if (r->log_index == VT_TRUST_NO_LOG)
        printf("log not checked\n");
    else
        printf("log index %" PRIu64 " of %" PRIu64 ", %u witness cosignature%s\n", r->log_index,
               r->tree_size, r->cosignatures, r->cosignatures == 1 ? "" : "s");
}

static int cmd_show(TSS2_TCTI_CONTEXT *t)
{
    vt_vc_trust_info info;
    TSS2_RC rc = vt_vc_trust_read(t, &info);
    unsigned i;

    if (rc)
        return fail("show", rc, VT_CC_TRUST_READ);
    printf("policy: release key%s%s", info.require_log ? ", log inclusion" : "",
           info.quorum ? "" : "\n");
    if (info.quorum)
        printf(", %u witness cosignature%s\n", info.quorum, info.quorum == 1 ? "" : "s");
    for (i = 0; i < info.nkeys; i++)
        printf("%s %s\n", role_name(info.keys[i].role), info.keys[i].vkey);
    if (!info.nkeys)
        printf("no key enrolled: nothing verifies\n");
    for (i = 0; i < info.nfloors; i++)
        printf("floor %s %" PRIu64 "\n", info.floors[i].name, info.floors[i].svn);
    printf("floor lowered %u time%s", info.lowered, info.lowered == 1 ? "" : "s");
    if (info.lowered)
        printf(", last: %s %" PRIu64 " -> %" PRIu64 " at TPM clock %" PRIu64 " ms", info.last_name,
               info.last_old, info.last_new, info.last_clock);
    printf("\n");
    if (info.fw_set) {
        char h[65];
        hex(info.fw.sha256, 32, h);
        printf("firmware %s %s svn %" PRIu64 " sha256 %s", info.fw.name, info.fw.version,
               info.fw.svn, h);
        if (info.fw.log_index != VT_TRUST_NO_LOG)
            printf(" log index %" PRIu64, info.fw.log_index);
        printf("\n");
    } else {
        printf("firmware: not set (the compiled-in version)\n");
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int cmd_check(TSS2_TCTI_CONTEXT *t, const char *bundle_path, const char *payload,
                     const char *digest_hex)
{
    uint8_t *b = NULL, *p = NULL, digest[32];
    size_t blen, plen;
    vt_bundle parsed;
    vt_vc_release rel;
    TSS2_RC rc;

    if (vt_io_read(bundle_path, &b, &blen, 64u << 20) != 0)
        return 1;
    if (digest_hex) {
        if (strlen(digest_hex) != 64 || vt_hex_decode(digest_hex, 64, digest, 32) != 0) {
            fprintf(stderr, "vitrum owner check: --digest takes 64 hex digits\n");
            free(b);
            return 2;
        }
    } else if (payload) {
        if (vt_io_read(payload, &p, &plen, SIZE_MAX / 2) != 0) {
            free(b);
            return 1;
        }
        vt_crypto_init();
        vt_hash(TPM2_ALG_SHA256, p, plen, digest);
        free(p);
    } else if (vt_bundle_parse(&parsed, b, blen) == VT_TLOG_OK && parsed.payload) {
        vt_crypto_init();
        vt_hash(TPM2_ALG_SHA256, parsed.payload, parsed.payload_len, digest);
    } else {
        fprintf(stderr, "vitrum owner check: the bundle has no payload: give --payload FILE or --digest HEX\n");
        free(b);
        return 2;
    }
    rc = vt_vc_verify_bundle(t, b, blen, digest, &rel);
    free(b);
    if (rc)
        return fail("check", rc, VT_CC_VERIFY_BUNDLE);
    printf("verified\n");
    print_release(&rel);
    return 0;
}

int vt_owner_main(int argc, char **argv)
{
    enum { O_TCTI = 1000, O_PLATFORM, O_RELEASE, O_LOG_ROLE, O_WITNESS, O_LOG, O_WITNESSES,
           O_PAYLOAD, O_DIGEST };
    static const struct option opts[] = {
        { "auth", required_argument, NULL, 'P' },
        { "platform-auth", required_argument, NULL, O_PLATFORM },
        { "tcti", required_argument, NULL, O_TCTI },
        { "release", no_argument, NULL, O_RELEASE },
        { "witness", no_argument, NULL, O_WITNESS },
        { "log", optional_argument, NULL, O_LOG },
        { "witnesses", required_argument, NULL, O_WITNESSES },
        { "payload", required_argument, NULL, O_PAYLOAD },
        { "digest", required_argument, NULL, O_DIGEST },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *sub, *tcti = NULL, *owner_s = "", *platform_s = "", *payload = NULL,
                     *digest = NULL, *log_arg = NULL;
    bool log_flag = false;
    long witnesses = -1;
    unsigned role = 0;
    uint8_t obuf[64], pbuf[64];
    vt_vc_auth owner, platform;
    char err[300];
    TSS2_TCTI_CONTEXT *t = NULL;
    int c, rc = 1, nargs;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_owner, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    sub = argv[1];
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P': owner_s = optarg; break;
        case O_PLATFORM: platform_s = optarg; break;
        case O_TCTI: tcti = optarg; break;
        case O_RELEASE: role = VT_TRUST_RELEASE; break;
        case O_WITNESS: role = VT_TRUST_WITNESS; break;
        case O_LOG:
            /* `add --log VKEY` is a role; `policy --log yes|no` a setting. */
            if (optarg)
                log_arg = optarg;
            else
                log_flag = true;
            break;
        case O_WITNESSES: {
            char *end;
            witnesses = strtol(optarg, &end, 10);
            if (*end || witnesses < 0 || witnesses > (long)VT_TRUST_MAX_KEYS) {
                fprintf(stderr, "vitrum owner: --witnesses takes 0..%u\n", VT_TRUST_MAX_KEYS);
                return 2;
            }
            break;
        }
        case O_PAYLOAD: payload = optarg; break;
        case O_DIGEST: digest = optarg; break;
        case 'h': fputs(usage_owner, stdout); return 0;
        default: fputs(usage_owner, stderr); return 2;
        }
    }
    nargs = argc - optind;
    if (vt_vc_auth_parse(owner_s, obuf, sizeof(obuf), &owner, err, sizeof(err)) != 0 ||
        vt_vc_auth_parse(platform_s, pbuf, sizeof(pbuf), &platform, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum owner: %s\n", err);
        return 2;
    }

    if (!strcmp(sub, "add") || !strcmp(sub, "remove")) {
        vt_note_key k;
        char vk[VT_TRUST_VKEY_MAX];
        const char *vkey_arg;
        bool add = !strcmp(sub, "add");
        /* getopt took "--log" without "=": the key is an operand. */
        if (log_flag)
            role = VT_TRUST_LOG;
        if (log_arg) { /* --log=VKEY */
            role = VT_TRUST_LOG;
            vkey_arg = log_arg;
            if (nargs != 0)
                role = 0;
        } else {
            vkey_arg = nargs == 1 ? argv[optind] : NULL;
        }
        if (!role || !vkey_arg) {
            fprintf(stderr, "vitrum owner %s: give one of --release, --log, --witness and a VKEY\n", sub);
            return 2;
        }
        if (vt_vkey_load(&k, vkey_arg) != 0)
            return 1;
        if (vt_note_key_format(&k, vk, sizeof(vk)) == 0) {
            fprintf(stderr, "vitrum owner %s: key name too long\n", sub);
            return 1;
        }
        if (vt_vc_connect(tcti, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum owner: %s\n", err);
            return 1;
        }
        {
            TSS2_RC r = add ? vt_vc_trust_add(t, owner, (uint8_t)role, vk)
                            : vt_vc_trust_remove(t, owner, (uint8_t)role, vk);
            if (r)
                rc = fail(sub, r, add ? VT_CC_TRUST_ADD : VT_CC_TRUST_REMOVE);
            else {
                printf("%s %s key %s\n", add ? "enrolled" : "removed", role_name(role), vk);
                rc = 0;
            }
        }
    } else if (!strcmp(sub, "policy")) {
        vt_vc_trust_info info;
        TSS2_RC r;
        bool require_log;
        if (log_flag && nargs == 1) { /* --log yes */
            log_arg = argv[optind];
            nargs = 0;
            log_flag = false;
        }
        if (nargs != 0 || log_flag || role) {
            fputs(usage_owner, stderr);
            return 2;
        }
        if (log_arg && strcmp(log_arg, "yes") && strcmp(log_arg, "no")) {
            fprintf(stderr, "vitrum owner policy: --log takes yes or no\n");
            return 2;
        }
        if (vt_vc_connect(tcti, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum owner: %s\n", err);
            return 1;
        }
        r = vt_vc_trust_read(t, &info);
        if (r) {
            rc = fail("policy", r, VT_CC_TRUST_READ);
            goto out;
        }
        require_log = log_arg ? !strcmp(log_arg, "yes") : info.require_log;
        if (witnesses < 0)
            witnesses = require_log ? (long)info.quorum : 0;
        r = vt_vc_trust_policy(t, owner, require_log, (uint8_t)witnesses);
        if (r)
            rc = fail("policy", r, VT_CC_TRUST_POLICY);
        else {
            printf("policy: release key%s, %ld witness cosignature%s\n",
                   require_log ? ", log inclusion" : "", witnesses, witnesses == 1 ? "" : "s");
            rc = 0;
        }
    } else if (!strcmp(sub, "show")) {
        if (nargs != 0) {
            fputs(usage_owner, stderr);
            return 2;
        }
        if (vt_vc_connect(tcti, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum owner: %s\n", err);
            return 1;
        }
        rc = cmd_show(t);
    } else if (!strcmp(sub, "check")) {
        if (nargs != 1 || (payload && digest)) {
            fputs(usage_owner, stderr);
            return 2;
        }
        if (vt_vc_connect(tcti, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum owner: %s\n", err);
            return 1;
        }
        rc = cmd_check(t, argv[optind], payload, digest);
    } else if (!strcmp(sub, "floor-lower")) {
        uint64_t svn, old = 0;
        TSS2_RC r;
        if (nargs != 2 || parse_u64(argv[optind + 1], &svn) != 0) {
            fputs(usage_owner, stderr);
            return 2;
        }
        if (vt_vc_connect(tcti, &t, err, sizeof(err)) != 0) {
            fprintf(stderr, "vitrum owner: %s\n", err);
            return 1;
        }
        r = vt_vc_floor_lower(t, owner, platform, argv[optind], svn, &old);
        if (r)
            rc = fail("floor-lower", r, VT_CC_FLOOR_LOWER);
        else {
            printf("floor of %s lowered from %" PRIu64 " to %" PRIu64 "\n", argv[optind], old, svn);
            rc = 0;
        }
    } else {
        fprintf(stderr, "vitrum owner: unknown subcommand '%s'\n", sub);
        fputs(usage_owner, stderr);
        return 2;
    }
out:
    vt_vc_disconnect(t);
    return rc;
}
