/* `vitrum witness`: a witness cosigns a log's checkpoint
 * (c2sp.org/tlog-cosignature, timestamped Ed25519, key type 0x04) only when
 * it verifies with the log's key and is consistent with the last checkpoint
 * it cosigned for that origin; it refuses a smaller tree (rollback) and a
 * different tree of the same or a larger size (fork).  The last cosigned
 * (size, root) per origin is stored durably before the cosignature is
 * released. */
#define _GNU_SOURCE
#include "witness_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlog/tlog.h"
#include "tlog_io.h"
#include "crypto/vt_crypto.h"

static const char usage_witness[] =
    "Usage: vitrum witness init DIR --name NAME\n"
    "       vitrum witness cosign DIR --log-key VKEY CHECKPOINT [--proof FILE]\n"
    "                             [--out FILE]\n"
    "\n"
    "init    create the witness DIR with a new cosignature key named NAME\n"
    "        (DIR/witness.key; DIR/witness.pub, also printed, is what log\n"
    "        clients and TPM owners trust)\n"
    "cosign  cosign CHECKPOINT (a signed note) if it is signed by the log key\n"
    "        VKEY and consistent with the last checkpoint this witness cosigned\n"
    "        for its origin: same size and root, or a larger tree with a\n"
    "        consistency proof FILE (vitrum log prove --consistency OLD NEW).\n"
    "        Prints (or writes to FILE) the checkpoint with the cosignature\n"
    "        added.  A rollback (smaller tree) or a fork is refused.\n"
    "\n"
    "Exit status: 0 cosigned, 1 refused or failed (with the reason), 2 usage\n"
    "error.\n";

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = { { "name", required_argument, NULL, 'n' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *name = NULL, *dir;
    char path[4096], vk[512];
    vt_signer s;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'h': fputs(usage_witness, stdout); return 0;
        default: fputs(usage_witness, stderr); return 2;
        }
    }
    if (optind + 1 != argc || !name) {
        fputs(usage_witness, stderr);
        return 2;
    }
    dir = argv[optind];
    if (vt_signer_generate(&s, name, VT_NOTE_TYPE_COSIG_V1) != 0)
        return 1;
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "vitrum: %s: %s (a new witness needs a new directory)\n", dir,
                strerror(errno));
        vt_signer_wipe(&s);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/state", dir);
    if (mkdir(path, 0700) != 0) {
        vt_signer_wipe(&s);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/witness.key", dir);
    if (vt_signer_save(&s, path) != 0) {
        vt_signer_wipe(&s);
        return 1;
    }
    vt_note_key_format(&s.key, vk, sizeof(vk));
    vt_signer_wipe(&s);
    strcat(vk, "\n");
    snprintf(path, sizeof(path), "%s/witness.pub", dir);
    if (vt_io_write_atomic(path, vk, strlen(vk), 0644) != 0)
        return 1;
    fputs(vk, stdout);
    return 0;
}

/* DIR/state/<hex of SHA-256(origin)>: "size N\nroot B64\n". */
static void state_path(char *out, size_t cap, const char *dir, const vt_checkpoint *c)
{
    uint8_t d[VT_MAX_DIGEST];
    char hex[65];
    vt_crypto_init();
    vt_hash(TPM2_ALG_SHA256, c->origin, c->origin_len, d);
    vt_hex_encode(d, 32, hex);
    snprintf(out, cap, "%s/state/%s", dir, hex);
}

static int cmd_cosign(int argc, char **argv)
{
    static const struct option opts[] = { { "log-key", required_argument, NULL, 'l' },
                                          { "proof", required_argument, NULL, 'p' },
                                          { "out", required_argument, NULL, 'o' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *proof = NULL, *out = NULL, *dir, *cp_path;
    char path[4096], spath[4096], state[256], b64[64], *res = NULL;
    uint8_t *buf = NULL, *pf = NULL;
    size_t len, pflen, reslen;
    vt_note_key log_key;
    bool have_key = false, have_old = false;
    vt_note note;
    vt_checkpoint c;
    vt_tlog_hash old_root;
    unsigned long long old_size = 0;
    vt_signer s;
    vt_tlog_rc trc;
    int ch, lock_fd = -1, rc = 1, n;

    memset(&s, 0, sizeof(s));
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (vt_vkey_load(&log_key, optarg) != 0)
                return 2;
            have_key = true;
            break;
        case 'p': proof = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage_witness, stdout); return 0;
        default: fputs(usage_witness, stderr); return 2;
        }
    }
    if (optind + 2 != argc || !have_key) {
        fputs(usage_witness, stderr);
        return 2;
    }
    dir = argv[optind];
    cp_path = argv[optind + 1];
    if (log_key.type != VT_NOTE_TYPE_ED25519) {
        fprintf(stderr, "vitrum: the log key must be an Ed25519 (type 1) key\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/lock", dir);
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        fprintf(stderr, "vitrum: %s: %s\n", path, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof(path), "%s/witness.key", dir);
    if (vt_signer_load(&s, path) != 0)
        goto done;
    if (vt_io_read(cp_path, &buf, &len, VT_BUNDLE_MAX_NOTE) != 0)
        goto done;
    trc = vt_note_parse(&note, (const char *)buf, len);
    if (trc == VT_TLOG_OK)
        trc = vt_note_verify(&note, &log_key, 1, NULL, NULL);
    if (trc == VT_TLOG_OK)
        trc = vt_checkpoint_parse(&c, note.text, note.text_len);
    if (trc != VT_TLOG_OK) {
        fprintf(stderr, "vitrum: %s: refused: %s\n", cp_path,
                trc == VT_TLOG_EFORMAT ? "not a checkpoint note" : vt_tlog_strerror(trc));
        goto done;
    }
    state_path(spath, sizeof(spath), dir, &c);
    if (access(spath, F_OK) == 0) {
        uint8_t *sb;
        size_t sl;
        char root_b64[64];
        if (vt_io_read(spath, &sb, &sl, 255) != 0)
            goto done;
        n = sscanf((char *)sb, "size %llu\nroot %63s\n", &old_size, root_b64);
        free(sb);
        if (n != 2 || vt_b64_decode(root_b64, strlen(root_b64), old_root.h, 32) != 32) {
            fprintf(stderr, "vitrum: %s: damaged witness state\n", spath);
            goto done;
        }
        have_old = true;
    }
    if (have_old) {
        if (c.size < old_size) {
            fprintf(stderr, "vitrum: refused: rollback: %s has size %llu, but this witness "
                            "already cosigned size %llu for %.*s\n",
                    cp_path, (unsigned long long)c.size, old_size, (int)c.origin_len, c.origin);
            goto done;
        }
        if (c.size == old_size) {
            if (memcmp(c.root.h, old_root.h, 32) != 0) {
                fprintf(stderr, "vitrum: refused: fork: %s has size %llu with another root "
                                "than the checkpoint this witness cosigned\n",
                        cp_path, old_size);
                goto done;
            }
        } else {
            vt_proof_file p;
            if (!proof) {
                fprintf(stderr, "vitrum: refused: %s grows the tree from %llu to %llu: give "
                                "--proof (vitrum log prove DIR --consistency %llu %llu)\n",
                        cp_path, old_size, (unsigned long long)c.size, old_size,
                        (unsigned long long)c.size);
                goto done;
            }
            if (vt_io_read(proof, &pf, &pflen, 1u << 20) != 0)
                goto done;
            if (vt_proof_parse(&p, (char *)pf, pflen) != 0 || !p.consistency ||
                p.a != old_size || p.b != c.size) {
                fprintf(stderr, "vitrum: refused: %s is not a consistency proof from %llu "
                                "to %llu\n", proof, old_size, (unsigned long long)c.size);
                goto done;
            }
            trc = vt_tlog_verify_consistency(old_size, c.size, &old_root, &c.root, p.hash, p.n);
            if (trc != VT_TLOG_OK) {
                fprintf(stderr, "vitrum: refused: fork: %s is not consistent with the "
                                "checkpoint of size %llu this witness cosigned (%s)\n",
                        cp_path, old_size, vt_tlog_strerror(trc));
                goto done;
            }
        }
    }
    /* Durable first: never release a cosignature the state does not
     * remember. */
    vt_b64_encode(c.root.h, 32, b64, sizeof(b64));
    n = snprintf(state, sizeof(state), "size %llu\nroot %s\n", (unsigned long long)c.size, b64);
    if (vt_io_write_atomic(spath, state, (size_t)n, 0600) != 0)
        goto done;
    if (vt_note_cosign((const char *)buf, len, &note, &s, (uint64_t)time(NULL), &res,
                       &reslen) != 0) {
        fprintf(stderr, "vitrum: cosigning failed\n");
        goto done;
    }
    if (out) {
        if (vt_io_write_atomic(out, res, reslen, 0644) != 0)
            goto done;
    } else {
        fwrite(res, 1, reslen, stdout);
    }
    rc = 0;
done:
    vt_signer_wipe(&s);
    if (lock_fd >= 0)
        close(lock_fd);
    free(buf);
    free(pf);
    free(res);
    return rc;
}

int vt_witness_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_witness, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "init"))
        return cmd_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cosign"))
        return cmd_cosign(argc - 1, argv + 1);
    fprintf(stderr, "vitrum: witness: unknown command '%s' (see vitrum witness --help)\n",
            argv[1]);
    return 2;
}
