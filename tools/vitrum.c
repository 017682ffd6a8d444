/* The `vitrum` command. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vitrum/engine.h"
#include "vitrum/version.h"
#include "platform/platform_posix.h"
#include "server/sandbox.h"
#include "server/server.h"
#include "store/store.h"
#include "state_cmd.h"
#include "config.h"
#include "server/log.h"
#include "server/notify.h"
#include "status.h"
#include "manufacture.h"
#include "release_cmd.h"
#include "log_cmd.h"
#include "witness_cmd.h"
#include "owner_cmd.h"
#include "swtpm_cli.h"
#include "server/instances.h"
#include "update_cmd.h"
#include "verify_cmd.h"
#include "launcher.h"


#if defined(__SANITIZE_ADDRESS__) || defined(VT_COVERAGE_BUILD)
#define VT_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define VT_SANITIZER_BUILD 1
#endif
#endif
#ifndef VT_SANITIZER_BUILD
#define VT_SANITIZER_BUILD 0
#endif

#define DEFAULT_PORT 2321
#define DEFAULT_LISTEN "127.0.0.1"

static const char usage_main[] =
    "Usage: vitrum <command> [options]\n"
    "\n"
    "vitrum is a glass-box TPM 2.0: open code, keys held by the machine's owner.\n"
    "\n"
    "Commands:\n"
    "  serve      run a TPM 2.0 server (mssim protocol) in the foreground\n"
    "             (--key SPEC: the state directory is encrypted with that key)\n"
    "  state      check, export or import a state directory (vitrum state --help)\n"
    "  manufacture  create the endorsement keys' certificates (EK certificates)\n"
    "             in the TPM's NV, signed by the owner's CA or a local one\n"
    "  status     show what a running server is: version, PCR banks, objects,\n"
    "             NV, dictionary-attack lockout, uptime (vitrum status --help)\n"
    "  release    make release keys, sign and verify release bundles\n"
    "             (vitrum release --help)\n"
    "  log        keep a transparency log of releases: add, checkpoint, prove,\n"
    "             static tiles (vitrum log --help)\n"
    "  witness    cosign a log's checkpoints that are consistent with the last\n"
    "             one seen (vitrum witness --help)\n"
    "  owner      the release keys, policy and SVN floors the TPM trusts for\n"
    "             firmware (vitrum owner --help)\n"
    "  update     stage a release of vitrum, verified by the TPM, in an update\n"
    "             slot that the next vitrum serve runs (vitrum update --help)\n"
    "  verify     verify an image with the TPM, then measure it into a PCR and\n"
    "             a TCG event log (vitrum verify --help)\n"
    "  selftest   run the engine's known-answer tests (exit status 0 or 1)\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help (also: vitrum <command> --help)\n"
    "  -V, --version  show the version\n";

static const char usage_serve[] =
    "Usage: vitrum serve [--state DIR] [--port N] [--listen ADDR] [--startup clear|state|none]\n"
    "                    [--key SPEC] [--nv-size SIZE] [--keep-loaded] [--no-sandbox]\n"
    "                    [--manufacture [--ca-key FILE --ca-cert FILE]]\n"
    "                    [--config FILE] [--log stderr|syslog|FILE] [--log-level LEVEL]\n"
    "       vitrum serve --instances DIR [--key SPEC] [--nv-size SIZE] [--no-sandbox] [--log ...]\n"
    "\n"
    "Serve a TPM 2.0 in the foreground with the mssim protocol (the TPM 2.0\n"
    "reference simulator's): TPM commands on ADDR:N, platform signals (power,\n"
    "NV, cancel, physical presence) on ADDR:N+1.  Clients connect with the\n"
    "tpm2-tss TCTI string  mssim:host=ADDR,port=N.\n"
    "\n"
    "Options:\n"
    "  --state DIR      the TPM's state directory, created if missing.  Default:\n"
    "                   $VITRUM_STATE, else /var/lib/vitrum for root, else\n"
    "                   $XDG_STATE_HOME/vitrum (~/.local/state/vitrum).\n"
    "                   A new directory holds a new TPM with fresh seeds.\n"
    "  --port N         command port (default 2321); the platform port is N+1\n"
    "  --listen ADDR    IP address to listen on (default 127.0.0.1)\n"
    "  --startup MODE   what the server does at start, like firmware would:\n"
    "                   clear (default) powers on and runs TPM2_Startup(CLEAR);\n"
    "                   state runs TPM2_Startup(STATE) (resume after\n"
    "                   TPM2_Shutdown(STATE)); none powers on and waits for the\n"
    "                   client's TPM2_Startup, as a TPM after _TPM_Init.\n"
    "  --nv-size SIZE   user NV for NV index data (default 64K, at most 8M);\n"
    "                   a TPM's indices must fit what it is started with\n"
    "  --key SPEC       encrypt and authenticate the state at rest (AES-256-GCM)\n"
    "                   with the owner's key: SPEC is FILE (32 raw bytes, 64 hex\n"
    "                   characters, or else a passphrase, stretched with scrypt),\n"
    "                   fd:N (read from descriptor N) or env:NAME (hex or a\n"
    "                   passphrase; the variable is unset after reading).  A new\n"
    "                   directory is sealed with it; an existing one must have\n"
    "                   been.  A wrong key or a modified, truncated, replayed or\n"
    "                   foreign state file is refused with a one-line error.\n"
    "  --manufacture    on start, provision the EK certificates that are missing\n"
    "                   (as vitrum manufacture, which see), with the CA of\n"
    "                   --ca-key FILE --ca-cert FILE or the local one\n"
    "  --keep-loaded    keep the objects, sequences and sessions a connection\n"
    "                   loaded when it closes (by default they are flushed, as\n"
    "                   /dev/tpmrm0 does: tpm2-tools never flushes them itself)\n"
    "  --instances DIR  serve one vTPM per subdirectory DIR/NAME (its state\n"
    "                   directory) with the swtpm protocol, for QEMU/libvirt:\n"
    "                   control socket DIR/NAME.ctrl, data socket DIR/NAME.data;\n"
    "                   opened when a client connects, released when idle;\n"
    "                   SIGHUP rescans DIR (--port, --listen, --state, --startup,\n"
    "                   --keep-loaded and --manufacture do not apply)\n"
    "  --no-sandbox     do not enter the seccomp sandbox (for debugging); core\n"
    "                   dumps stay disabled\n"
    "                   (--keep-loaded, --no-sandbox and --manufacture also take\n"
    "                   =yes or =no, to override the configuration file)\n"
    "  --config FILE    read settings from FILE (default: $VITRUM_CONFIG, else\n"
    "                   /etc/vitrum/vitrum.conf if it exists; none: no file).\n"
    "                   Each line is 'option = value' for any option above\n"
    "                   (vitrum.conf(5)); options on the command line win.  A\n"
    "                   bad line stops the start with FILE:LINE: reason, exit 2\n"
    "  --log TARGET     where the log goes: stderr (default; under systemd the\n"
    "                   journal reads it), syslog, or an absolute FILE path\n"
    "                   (appended; SIGHUP reopens it, for logrotate)\n"
    "  --log-level L    error, warn, info (default) or debug\n"
    "  -h, --help       show this help\n"
    "\n"
    "After start-up the server keeps secrets out of core dumps and swap and\n"
    "runs under a seccomp allow-list of the system calls serving needs.\n"
    "Every state change is on disk (fsync'd) before its response is sent.\n"
    "SIGTERM or SIGINT stops the server cleanly with its state saved; SIGHUP\n"
    "reopens the log file.  Under systemd (Type=notify) it reports READY=1 once\n"
    "it listens.  It logs one line per event, never a secret, and exits\n"
    "non-zero with a one-line error when the port is taken or the state\n"
    "directory is unusable.\n";

/* "65536", "64K", "64KiB", "1M": a size in octets.  0 or -1. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        v <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        v <<= 20, end++;
    if (*end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Send TPM2_Startup(su) as the platform firmware would.  Returns the TPM
 * response code. */
static uint32_t firmware_startup(vt_engine *e, uint16_t su)
{
    uint8_t cmd[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, (uint8_t)(su >> 8), (uint8_t)su };
    uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    size_t n = vt_engine_execute(e, 0, cmd, sizeof(cmd), rsp, sizeof(rsp));
    if (n < 10)
        return 0x101;
    return (uint32_t)rsp[6] << 24 | (uint32_t)rsp[7] << 16 | (uint32_t)rsp[8] << 8 | rsp[9];
}

static const char usage_manufacture[] =
    "Usage: vitrum manufacture [--state DIR] [--key SPEC] [--nv-size SIZE]\n"
    "                          [--ca-key FILE --ca-cert FILE] [--rsa] [--ecc] [--force]\n"
    "\n"
    "Provision the TPM in DIR as its manufacturer would: derive its default\n"
    "endorsement keys (TCG EK Credential Profile templates L-1, RSA 2048, and\n"
    "L-2, ECC NIST P-256: the keys tpm2_createek makes), certify each with an\n"
    "X.509 EK certificate and store it, write-locked, in the standard NV index\n"
    "(0x01C00002 RSA, 0x01C0000A ECC), where tpm2_getekcertificate finds it.\n"
    "The TPM runs in this process: DIR must not be in use by a server.\n"
    "\n"
    "Options:\n"
    "  --state DIR      the TPM's state directory (as for vitrum serve; created\n"
    "                   with a new TPM if missing)\n"
    "  --key SPEC       the state directory's key (as for vitrum serve)\n"
    "  --nv-size SIZE   the user NV the TPM is served with (as for vitrum serve)\n"
    "  --ca-key FILE    the owner's CA private key (PEM, not encrypted) ...\n"
    "  --ca-cert FILE   ... and its CA certificate (PEM or DER).  Without them, a\n"
    "                   local CA is used: DIR/ek-ca.pem with its key\n"
    "                   DIR/ek-ca-key.pem (mode 0600), created at first use and\n"
    "                   printed (path, SHA-256 fingerprint, PEM) so that it can\n"
    "                   be given to verifiers (openssl verify -CAfile ek-ca.pem)\n"
    "  --rsa, --ecc     only this EK (default: both)\n"
    "  --force          replace EK certificates that are already there (else\n"
    "                   they are refused and left as they are)\n"
    "  -h, --help       show this help\n"
    "\n"
    "No key is built into vitrum.  The exit status is 0 on success, 1 when the\n"
    "TPM or a file refuses (with the reason), 2 on a usage error.\n";

static int cmd_manufacture(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' },
        { "key", required_argument, NULL, 'k' },
        { "nv-size", required_argument, NULL, 'V' },
        { "ca-key", required_argument, NULL, 'K' },
        { "ca-cert", required_argument, NULL, 'C' },
        { "rsa", no_argument, NULL, 'r' },
        { "ecc", no_argument, NULL, 'e' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    vt_engine_config cfg = { .nv_size = VT_NV_SIZE_DEFAULT };
    vt_mfg_opts mfg = { 0 };
    char state[4096] = "";
    const char *key = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': snprintf(state, sizeof(state), "%s", optarg); break;
        case 'k': key = optarg; break;
        case 'V':
            if (parse_size(optarg, &cfg.nv_size) != 0 || cfg.nv_size < 1024 || cfg.nv_size > VT_NV_SIZE_LIMIT) {
                fprintf(stderr, "vitrum: --nv-size must be from 1K to %uM (e.g. 64K, 1M)\n",
                        VT_NV_SIZE_LIMIT >> 20);
                return 2;
            }
            break;
        case 'K': mfg.ca_key = optarg; break;
        case 'C': mfg.ca_cert = optarg; break;
        case 'r': mfg.rsa = true; break;
        case 'e': mfg.ecc = true; break;
        case 'f': mfg.force = true; break;
        case 'h': fputs(usage_manufacture, stdout); return 0;
        default: fputs(usage_manufacture, stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vitrum: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!mfg.ca_key != !mfg.ca_cert) {
        fprintf(stderr, "vitrum: --ca-key and --ca-cert go together\n");
        return 2;
    }
    if (!*state)
        vt_default_state_dir(state, sizeof(state));
    return vt_manufacture(state, key, &cfg, &mfg);
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' },
        { "port", required_argument, NULL, 'p' },
        { "listen", required_argument, NULL, 'l' },
        { "startup", required_argument, NULL, 'S' },
        { "no-sandbox", optional_argument, NULL, 'N' },
        { "keep-loaded", optional_argument, NULL, 'L' },
        { "key", required_argument, NULL, 'k' },
        { "nv-size", required_argument, NULL, 'V' },
        { "manufacture", optional_argument, NULL, 'M' },
        { "ca-key", required_argument, NULL, 'K' },
        { "ca-cert", required_argument, NULL, 'C' },
        { "config", required_argument, NULL, 'c' },
        { "log", required_argument, NULL, 'g' },
        { "log-level", required_argument, NULL, 'G' },
        { "instances", required_argument, NULL, 'I' },
        { VT_LAUNCHER_OPTION, required_argument, NULL, 'F' }, /* internal: launcher.h */
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool sandbox = true, manufacture = false, keep_loaded = false;
    const char *instances = NULL;
    const char *fw_bundle = NULL;
    int serve_argc = argc;
    char **serve_argv = argv;
    const char *log_target = NULL;
    vt_log_level log_level = VT_LOG_INFO;
    vt_mfg_opts mfg = { .if_absent = true };
    vt_engine_config cfg = { .nv_size = VT_NV_SIZE_DEFAULT };
    char state[4096] = "", err[512];
    const char *listen_addr = DEFAULT_LISTEN, *startup = "clear", *key = NULL;
    long port = DEFAULT_PORT;
    int c, cmd_fd, plat_fd, sig;
    vt_store store;
    vt_platform plat;
    vt_engine *e;
    vt_status st;

    /* The configuration file's settings go in front of the command line's,
     * which therefore win (vitrum.conf(5)). */
    if ((c = vt_config_merge(argc, argv, &argc, &argv)) != 0)
        return c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': snprintf(state, sizeof(state), "%s", optarg); break;
        case 'p': {
            char *end;
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || *end || port < 1 || port > 65534) {
                fprintf(stderr, "vitrum: --port must be a number from 1 to 65534\n");
                return 2;
            }
            break;
        }
        case 'l': listen_addr = optarg; break;
        case 'S':
            if (strcmp(optarg, "clear") && strcmp(optarg, "state") && strcmp(optarg, "none")) {
                fprintf(stderr, "vitrum: --startup must be clear, state or none\n");
                return 2;
            }
            startup = optarg;
            break;
        case 'N':
        case 'L':
        case 'M': {
            int on = optarg ? vt_config_bool(optarg) : 1;
            if (on < 0) {
                fprintf(stderr, "vitrum: --%s takes =yes or =no\n",
                        c == 'N' ? "no-sandbox" : c == 'L' ? "keep-loaded" : "manufacture");
                return 2;
            }
            if (c == 'N')
                sandbox = !on;
            else if (c == 'L')
                keep_loaded = on;
            else
                manufacture = on;
            break;
        }
        case 'c': break; /* read by vt_config_merge */
        case 'g':
            if (!vt_log_target_ok(optarg)) {
                fprintf(stderr, "vitrum: --log must be stderr, syslog or an absolute file path\n");
                return 2;
            }
            log_target = optarg;
            break;
        case 'G':
            if (vt_log_parse_level(optarg, &log_level) != 0) {
                fprintf(stderr, "vitrum: --log-level must be error, warn, info or debug\n");
                return 2;
            }
            break;
        case 'k': key = optarg; break;
        case 'V':
            if (parse_size(optarg, &cfg.nv_size) != 0 || cfg.nv_size < 1024 || cfg.nv_size > VT_NV_SIZE_LIMIT) {
                fprintf(stderr, "vitrum: --nv-size must be from 1K to %uM (e.g. 64K, 1M)\n",
                        VT_NV_SIZE_LIMIT >> 20);
                return 2;
            }
            break;
        case 'K': mfg.ca_key = optarg; break;
        case 'C': mfg.ca_cert = optarg; break;
        case 'F': fw_bundle = optarg; break;
        case 'I': instances = optarg; break;
        case 'h': fputs(usage_serve, stdout); return 0;
        default: fputs(usage_serve, stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vitrum: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (instances && manufacture) {
        fprintf(stderr, "vitrum: --manufacture does not go with --instances (vitrum manufacture --state DIR/NAME)\n");
        return 2;
    }
    if ((mfg.ca_key || mfg.ca_cert) && !manufacture) {
        fprintf(stderr, "vitrum: --ca-key and --ca-cert go with --manufacture\n");
        return 2;
    }
    if (!mfg.ca_key != !mfg.ca_cert) {
        fprintf(stderr, "vitrum: --ca-key and --ca-cert go together\n");
        return 2;
    }
    if (!*state)
        vt_default_state_dir(state, sizeof(state));

    if (vt_log_open(log_target, log_level, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum: %s\n", err);
        return 1;
    }
    if (*vt_config_path())
        vt_log(VT_LOG_DEBUG, "configuration file %s", vt_config_path());
    if (instances) {
        /* many vTPMs, swtpm protocol (server/instances.h) */
        vt_instances_cfg icfg = { .dir = instances, .key = key, .engine_cfg = cfg,
                                  .sandbox = sandbox && !VT_SANITIZER_BUILD,
                                  .log_level = log_level == VT_LOG_DEBUG ? 20 : 1 };
        c = vt_instances_serve(&icfg);
        vt_log_close();
        return c;
    }
    if (vt_notify_init() < 0)
        vt_log(VT_LOG_WARN, "NOTIFY_SOCKET is not usable; systemd will not hear that the server is ready");
    /* an update staged in DIR/slots: verified, self-tested and exec'd (no
     * return), or the reason it is not is logged */
    vt_launcher_run(state, key, &cfg, fw_bundle, serve_argc, serve_argv);
    if (vt_store_open(&store, state) != 0 || (key && vt_store_set_key(&store, key) != 0)) {
        vt_log(VT_LOG_ERROR, "%s", store.err);
        vt_store_close(&store);
        return 1;
    }
    cmd_fd = vt_listen_tcp(listen_addr, (uint16_t)port, err, sizeof(err));
    if (cmd_fd < 0) {
        vt_log(VT_LOG_ERROR, "%s", err);
        return 1;
    }
    plat_fd = vt_listen_tcp(listen_addr, (uint16_t)(port + 1), err, sizeof(err));
    if (plat_fd < 0) {
        vt_log(VT_LOG_ERROR, "%s", err);
        return 1;
    }
    vt_platform_posix(&plat, &store);
    st = vt_engine_new_ex(&plat, &cfg, &e);
    if (st != VT_OK) {
        vt_log(VT_LOG_ERROR, "cannot start the TPM in %s: %s%s%s", state, vt_status_str(st),
               store.err[0] ? ": " : "", store.err);
        return 1;
    }
    if (store.warn[0])
        vt_log(VT_LOG_WARN, "%s", store.warn);
    vt_engine_power_on(e);
    if (strcmp(startup, "none") != 0) {
        uint16_t su = strcmp(startup, "state") == 0 ? 0x0001 : 0x0000;
        uint32_t rc = firmware_startup(e, su);
        if (rc != 0)
            vt_log(VT_LOG_WARN, "TPM2_Startup(%s) failed with 0x%03x; waiting for the client's TPM2_Startup",
                   su ? "STATE" : "CLEAR", rc);
    }
    if (manufacture) {
        /* Before the sandbox: it may write the local CA's files.  A
         * started TPM stays started; one waiting for its TPM2_Startup is
         * started, provisioned, shut down and powered on again. */
        char id[2 * VT_TPM_ID_SIZE + 1] = "";
        vt_engine_info info;
        vt_engine_get_info(e, &info);
        if (store.have_id)
            vt_hex_encode(store.id, VT_TPM_ID_SIZE, id);
        if (vt_manufacture_engine(e, state, store.have_id ? id : NULL, &mfg, stderr) != 0) {
            vt_log(VT_LOG_ERROR, "--manufacture failed");
            vt_engine_free(e);
            return 1;
        }
        if (!info.started)
            vt_engine_power_on(e);
    }
    if (fw_bundle && vt_launcher_set_firmware(e, fw_bundle) != 0) {
        vt_engine_free(e);
        return 1;
    }
    {
        const void *secret;
        size_t secret_len;
        vt_engine_secret_memory(e, &secret, &secret_len);
        if (vt_harden_process(secret, secret_len, err, sizeof(err)) != 0 || err[0])
            vt_log(VT_LOG_WARN, "%s", err);
    }
#if VT_SANITIZER_BUILD
    /* The sanitizers' and gcov's runtimes need system calls serving does
     * not (gcov writes its .gcda files at exit). */
    sandbox = false;
#endif
    if (sandbox && vt_sandbox_enter(err, sizeof(err)) != 0) {
        vt_log(VT_LOG_ERROR, "cannot enter the sandbox: %s (--no-sandbox to run without)", err);
        vt_engine_free(e);
        return 1;
    }
    vt_log(VT_LOG_INFO, "serving TPM 2.0 (vitrum %s) on %s:%ld (platform %ld), state %s%s; "
                        "export TPM2TOOLS_TCTI=mssim:host=%s,port=%ld",
           VITRUM_VERSION, listen_addr, port, port + 1, state, sandbox ? "" : ", no sandbox", listen_addr, port);

    sig = vt_serve_mssim(e, cmd_fd, plat_fd, keep_loaded);
    vt_notify("STOPPING=1");
    st = vt_engine_save(e);
    if (sig > 0)
        /* not strsignal(): it may load locale files, which the sandbox forbids */
        vt_log(st == VT_OK ? VT_LOG_INFO : VT_LOG_ERROR, "stopped by %s, state %s",
               sig == SIGINT ? "SIGINT" : "SIGTERM", st == VT_OK ? "saved" : "NOT saved");
    else if (sig == 0)
        vt_log(st == VT_OK ? VT_LOG_INFO : VT_LOG_ERROR, "stopped by the mssim STOP command, state %s",
               st == VT_OK ? "saved" : "NOT saved");
    else
        vt_log(VT_LOG_ERROR, "server loop failed, state %s", st == VT_OK ? "saved" : "NOT saved");
    vt_engine_free(e);
    close(cmd_fd);
    close(plat_fd);
    vt_store_close(&store);
    vt_log_close();
    return (st == VT_OK && sig >= 0) ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* libtss2-mu logs every malformed structure to stderr; a hostile client
     * must not be able to fill the log that way. */
    setenv("TSS2_LOG", "all+none", 0);
    {
        /* installed or symlinked as `swtpm`: behave as `vitrum swtpm` */
        const char *base = strrchr(argv[0], '/');
        if (!strcmp(base ? base + 1 : argv[0], "swtpm"))
            return vt_swtpm_main(argc, argv);
    }
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("vitrum %s\n", VITRUM_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "state"))
        return vt_state_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "manufacture"))
        return cmd_manufacture(argc - 1, argv + 1);
    if (!strcmp(argv[1], "status"))
        return vt_status_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "release"))
        return vt_release_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "log"))
        return vt_log_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "witness"))
        return vt_witness_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "owner"))
        return vt_owner_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "swtpm"))
        return vt_swtpm_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "update"))
        return vt_update_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify"))
        return vt_verify_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "selftest"))
        return vt_selftest_main(argc - 1, argv + 1);
    fprintf(stderr, "vitrum: unknown command '%s' (see vitrum --help)\n", argv[1]);
    return 2;
}
