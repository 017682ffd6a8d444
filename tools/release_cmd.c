/* `vitrum release keygen|sign|verify` (docs/TRANSPARENCY.md). */
#define _GNU_SOURCE
#include "release_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlog/tlog.h"
#include "tlog_io.h"
#include "crypto/vt_crypto.h"
#include "common/be.h"

#define MAX_KEYS 8
#define MAX_PAYLOAD ((1ull << 32) - 1)

static const char usage_release[] =
    "Usage: vitrum release keygen NAME --out DIR [--cosigner]\n"
    "       vitrum release sign PAYLOAD --name N --version V --svn S --key KEY...\n"
    "                           --out BUNDLE [--build TEXT]... [--detached]\n"
    "       vitrum release verify BUNDLE --key VKEY... [--payload FILE] [--log-key VKEY]\n"
    "\n"
    "keygen  make an Ed25519 key pair named NAME: DIR/NAME.key (private, mode\n"
    "        0600) and DIR/NAME.pub (the verifier key, also printed).\n"
    "        --cosigner makes a witness cosignature key (type 0x04).\n"
    "sign    write BUNDLE: a manifest (name, version, security version number,\n"
    "        payload size and SHA-256, build lines) signed by every KEY, and the\n"
    "        payload (unless --detached)\n"
    "verify  check BUNDLE: signed by at least one VKEY (and no VKEY signature\n"
    "        fails), the payload matches the manifest; with --log-key, the bundle\n"
    "        carries a checkpoint signed by that log and an inclusion proof of\n"
    "        its manifest (vitrum log prove --bundle).  Prints the manifest.\n"
    "\n"
    "Exit status: 0 done/verified, 1 refused or failed (with the reason),\n"
    "2 usage error.  Formats: docs/TRANSPARENCY.md.\n";

static int keygen(int argc, char **argv)
{
    static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
                                          { "cosigner", no_argument, NULL, 'c' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *out = NULL;
    uint8_t type = VT_NOTE_TYPE_ED25519;
    vt_signer s;
    char base[256], path[4096], vk[512];
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'c': type = VT_NOTE_TYPE_COSIG_V1; break;
        case 'h': fputs(usage_release, stdout); return 0;
        default: fputs(usage_release, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !out) {
        fputs(usage_release, stderr);
        return 2;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "vitrum: %s: %s\n", out, strerror(errno));
        return 1;
    }
    if (vt_signer_generate(&s, argv[optind], type) != 0)
        return 1;
    vt_key_file_base(argv[optind], base, sizeof(base));
    snprintf(path, sizeof(path), "%s/%s.key", out, base);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "vitrum: %s exists; not overwriting a key\n", path);
        vt_signer_wipe(&s);
        return 1;
    }
    if (vt_signer_save(&s, path) != 0) {
        vt_signer_wipe(&s);
        return 1;
    }
    vt_note_key_format(&s.key, vk, sizeof(vk));
    vt_signer_wipe(&s);
    strcat(vk, "\n");
    snprintf(path, sizeof(path), "%s/%s.pub", out, base);
    if (vt_io_write_atomic(path, vk, strlen(vk), 0644) != 0)
        return 1;
    fputs(vk, stdout);
    return 0;
}

static size_t put_section(uint8_t *out, uint8_t type, const void *v, size_t n)
{
    out[0] = type;
    vt_put_be32(out + 1, (uint32_t)n);
    if (n)
        memcpy(out + 5, v, n);
    return 5 + n;
}

static int sign(int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },  { "version", required_argument, NULL, 'v' },
        { "svn", required_argument, NULL, 's' },   { "key", required_argument, NULL, 'k' },
        { "out", required_argument, NULL, 'o' },   { "build", required_argument, NULL, 'b' },
        { "detached", no_argument, NULL, 'd' },    { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *name = NULL, *version = NULL, *svn = NULL, *out = NULL;
    const char *keys[MAX_KEYS], *builds[VT_MANIFEST_MAX_BUILD];
    size_t nkeys = 0, nbuild = 0, i, plen, text_len, note_len, blen;
    vt_signer signers[MAX_KEYS];
    bool detached = false;
    uint8_t *payload = NULL, digest[VT_MAX_DIGEST], *bundle;
    char text[VT_NOTE_TEXT_MAX], hex[65], *note = NULL;
    uint64_t svn_v;
    vt_manifest m;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'v': version = optarg; break;
        case 's': svn = optarg; break;
        case 'o': out = optarg; break;
        case 'd': detached = true; break;
        case 'k':
            if (nkeys == MAX_KEYS) {
                fprintf(stderr, "vitrum: at most %d --key\n", MAX_KEYS);
                return 2;
            }
            keys[nkeys++] = optarg;
            break;
        case 'b':
            if (nbuild == VT_MANIFEST_MAX_BUILD) {
                fprintf(stderr, "vitrum: at most %u --build\n", VT_MANIFEST_MAX_BUILD);
                return 2;
            }
            builds[nbuild++] = optarg;
            break;
        case 'h': fputs(usage_release, stdout); return 0;
        default: fputs(usage_release, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !name || !version || !svn || !out || !nkeys) {
        fputs(usage_release, stderr);
        return 2;
    }
    if (vt_parse_u64(svn, strlen(svn), &svn_v) != 0) {
        fprintf(stderr, "vitrum: --svn: '%s' is not a decimal number below 2^64\n", svn);
        return 2;
    }
    if (vt_io_read(argv[optind], &payload, &plen, MAX_PAYLOAD) != 0)
        return 1;
    vt_crypto_init();
    vt_hash(TPM2_ALG_SHA256, payload, plen, digest);
    vt_hex_encode(digest, 32, hex);
    text_len = (size_t)snprintf(text, sizeof(text),
                                "vitrum-release/v1\nname %s\nversion %s\nsvn %llu\nsize %zu\n"
                                "sha256 %s\n", name, version, (unsigned long long)svn_v, plen,
                                hex);
    for (i = 0; i < nbuild && text_len < sizeof(text); i++)
        text_len += (size_t)snprintf(text + text_len, sizeof(text) - text_len, "build %s\n",
                                     builds[i]);
    if (text_len >= sizeof(text) || vt_manifest_parse(&m, text, text_len) != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: the manifest is not valid: name is [A-Za-z0-9._-]{1,%u}, "
                        "version printable without spaces (at most %u), build lines "
                        "printable (at most %u)\n",
                VT_MANIFEST_FIELD_MAX, VT_MANIFEST_FIELD_MAX, VT_MANIFEST_BUILD_MAX);
        free(payload);
        return 2;
    }
    for (i = 0; i < nkeys; i++)
        if (vt_signer_load(&signers[i], keys[i]) != 0 ||
            signers[i].key.type != VT_NOTE_TYPE_ED25519) {
            if (signers[i].key.type != VT_NOTE_TYPE_ED25519)
                fprintf(stderr, "vitrum: %s: a release key must be an Ed25519 (type 1) key\n",
                        keys[i]);
            nkeys = i + 1;
            goto done;
        }
    if (vt_note_sign(text, text_len, signers, nkeys, 0, &note, &note_len) != 0 ||
        note_len > VT_BUNDLE_MAX_NOTE) {
        fprintf(stderr, "vitrum: signing failed\n");
        goto done;
    }
    bundle = malloc(VT_BUNDLE_MAGIC_LEN + 10 + note_len + (detached ? 0 : plen));
    if (!bundle)
        goto done;
    memcpy(bundle, VT_BUNDLE_MAGIC, VT_BUNDLE_MAGIC_LEN);
    blen = VT_BUNDLE_MAGIC_LEN + put_section(bundle + VT_BUNDLE_MAGIC_LEN, VT_BUNDLE_MANIFEST,
                                             note, note_len);
    if (!detached)
        blen += put_section(bundle + blen, VT_BUNDLE_PAYLOAD, payload, plen);
    rc = vt_io_write_atomic(out, bundle, blen, 0644) == 0 ? 0 : 1;
    free(bundle);
    if (rc == 0)
        printf("%s %s svn %llu sha256 %s signed by %zu key(s)\n", name, version,
               (unsigned long long)svn_v, hex, nkeys);
done:
    for (i = 0; i < nkeys; i++)
        vt_signer_wipe(&signers[i]);
    free(note);
    free(payload);
    return rc;
}

static int verify(int argc, char **argv)
{
    static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
                                          { "payload", required_argument, NULL, 'p' },
                                          { "log-key", required_argument, NULL, 'l' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    vt_note_key keys[MAX_KEYS], log_key;
    const char *payload_path = NULL;
    bool have_log = false;
    size_t nkeys = 0, blen, plen = 0, i;
    uint8_t *bundle = NULL, *payload = NULL;
    vt_release_policy p;
    vt_manifest m;
    vt_tlog_rc trc;
    char hex[65];
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (nkeys == MAX_KEYS) {
                fprintf(stderr, "vitrum: at most %d --key\n", MAX_KEYS);
                return 2;
            }
            if (vt_vkey_load(&keys[nkeys], optarg) != 0)
                return 2;
            if (keys[nkeys].type != VT_NOTE_TYPE_ED25519) {
                fprintf(stderr, "vitrum: %s: a release key must be an Ed25519 (type 1) key\n",
                        optarg);
                return 2;
            }
            nkeys++;
            break;
        case 'p': payload_path = optarg; break;
        case 'l':
            if (vt_vkey_load(&log_key, optarg) != 0)
                return 2;
            have_log = true;
            break;
        case 'h': fputs(usage_release, stdout); return 0;
        default: fputs(usage_release, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !nkeys) {
        fputs(usage_release, stderr);
        return 2;
    }
    if (vt_io_read(argv[optind], &bundle, &blen, MAX_PAYLOAD + 65536) != 0)
        return 1;
    if (payload_path && vt_io_read(payload_path, &payload, &plen, MAX_PAYLOAD) != 0) {
        free(bundle);
        return 1;
    }
    memset(&p, 0, sizeof(p));
    p.release_keys = keys;
    p.nrelease = nkeys;
    p.log_key = have_log ? &log_key : NULL;
    p.payload = payload;
    p.payload_len = plen;
    trc = vt_release_verify(bundle, blen, &p, &m);
    if (trc != VT_TLOG_OK) {
        const char *what = trc == VT_TLOG_EFORMAT ? "malformed or truncated bundle"
                                                  : vt_tlog_strerror(trc);
        if (trc == VT_TLOG_EPROOF)
            what = "no valid log inclusion proof (checkpoint + proof) for its manifest";
        if (trc == VT_TLOG_EDIGEST && !payload) {
            vt_bundle b;
            if (vt_bundle_parse(&b, bundle, blen) == VT_TLOG_OK && !b.payload)
                what = "the bundle has no payload (detached): give --payload FILE";
        }
        fprintf(stderr, "vitrum: %s: refused: %s\n", argv[optind], what);
        free(bundle);
        free(payload);
        return 1;
    }
    vt_hex_encode(m.sha256, 32, hex);
    printf("verified: %.*s %.*s svn %llu size %llu sha256 %s\n", (int)m.name_len, m.name,
           (int)m.version_len, m.version, (unsigned long long)m.svn,
           (unsigned long long)m.size, hex);
    for (i = 0; i < m.nbuild; i++)
        printf("build %.*s\n", (int)m.build_len[i], m.build[i]);
    if (have_log)
        printf("logged in %.*s\n", (int)log_key.name_len, log_key.name);
    free(bundle);
    free(payload);
    return 0;
}

int vt_release_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_release, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "keygen"))
        return keygen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sign"))
        return sign(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify"))
        return verify(argc - 1, argv + 1);
    fprintf(stderr, "vitrum: release: unknown command '%s' (see vitrum release --help)\n",
            argv[1]);
    return 2;
}
