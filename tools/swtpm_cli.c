/* `vitrum swtpm socket ...`: the command line of swtpm 0.7's socket
 * interface, as libvirt and QEMU users write it (docs/SWTPM.md).  Options
 * vitrum does not implement are refused with a message, never ignored. */
#define _GNU_SOURCE
#include "swtpm_cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vitrum/engine.h"
#include "vitrum/version.h"
#include "platform/platform_posix.h"
#include "server/notify.h"
#include "server/sandbox.h"
#include "server/server.h"
#include "server/swtpm.h"
#include "store/seal.h"
#include "store/store.h"

static const char usage[] =
    "Usage: vitrum swtpm socket --tpm2 [options]      (also: swtpm socket ..., via a symlink)\n"
    "\n"
    "Serve a TPM 2.0 with swtpm's socket protocol, for QEMU (-tpmdev emulator)\n"
    "and libvirt.  Options as swtpm 0.7:\n"
    "  --tpm2                          required: vitrum is a TPM 2.0\n"
    "  --ctrl type=unixio,path=P[,mode=0NNN] | type=tcp,port=N[,bindaddr=A] | type=unixio,fd=N|clientfd=N\n"
    "  --server type=tcp,port=N[,bindaddr=A] | type=unixio,path=P[,mode=0NNN] | fd=N\n"
    "  --tpmstate dir=D[,mode=0NNN]    state directory (default $TPM_PATH); vitrum's state\n"
    "                                  files are always 0600\n"
    "  --flags [not-need-init][,startup-clear|startup-state|startup-none]\n"
    "  --log file=F|fd=N[,level=N][,truncate]\n"
    "  --pid file=F|fd=N\n"
    "  --key file=F|fd=N|pwdfile=F|pwdfd=N[,format=hex|binary][,mode=...][,remove]\n"
    "                                  encrypt the state at rest (vitrum: AES-256-GCM)\n"
    "  --migration-key (same forms)    encrypt state blobs (AES-256-GCM)\n"
    "  -t, --terminate                 exit when the data client disconnects\n"
    "  -d, --daemon                    run in the background\n"
    "  --print-capabilities            the features, as JSON\n"
    "Any other swtpm option is refused.\n";

static int refuse(const char *what)
{
    fprintf(stderr, "vitrum swtpm: %s is not supported by vitrum; refusing to start\n", what);
    return 2;
}

/* Split "k=v,k=v" into at most 16 pairs (in place). */
typedef struct {
    char *k[16], *v[16];
    int n;
} kv;

static int kv_parse(char *s, kv *out, const char *opt)
{
    char *save = NULL, *tok;
    out->n = 0;
    for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (out->n == 16) {
            fprintf(stderr, "vitrum swtpm: too many parameters in %s\n", opt);
            return -1;
        }
        if (eq)
            *eq = 0;
        out->k[out->n] = tok;
        out->v[out->n] = eq ? eq + 1 : NULL;
        out->n++;
    }
    return 0;
}

static int parse_port(const char *v, long *port)
{
    char *end;
    errno = 0;
    *port = v ? strtol(v, &end, 10) : -1;
    if (!v || errno || *end || *port < 1 || *port > 65535) {
        fprintf(stderr, "vitrum swtpm: port must be a number from 1 to 65535\n");
        return -1;
    }
    return 0;
}

static int parse_fd(const char *v, int *fd)
{
    char *end;
    long l;
    errno = 0;
    l = v ? strtol(v, &end, 10) : -1;
    if (!v || errno || *end || l < 0 || l > 65535) {
        fprintf(stderr, "vitrum swtpm: fd must be a descriptor number\n");
        return -1;
    }
    *fd = (int)l;
    return 0;
}

static int parse_mode(const char *v, mode_t *mode)
{
    char *end;
    long l;
    errno = 0;
    l = v ? strtol(v, &end, 8) : -1;
    if (!v || v[0] != '0' || errno || *end || l < 0 || l > 0777) {
        fprintf(stderr, "vitrum swtpm: mode must be an octal number starting with 0\n");
        return -1;
    }
    *mode = (mode_t)l;
    return 0;
}

typedef struct {
    bool set, is_unix, client;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const char *bindaddr;
    long port;
    int fd;
    mode_t mode;
} chan;

static int parse_chan(char *arg, chan *c, const char *opt, bool ctrl)
{
    kv p;
    int i;
    memset(c, 0, sizeof(*c));
    c->set = true;
    c->fd = -1;
    c->port = -1;
    c->mode = 0770;
    c->bindaddr = "127.0.0.1";
    c->is_unix = false;
    if (kv_parse(arg, &p, opt) != 0)
        return -1;
    for (i = 0; i < p.n; i++) {
        const char *k = p.k[i], *v = p.v[i];
        if (!strcmp(k, "type") && v && !strcmp(v, "unixio"))
            c->is_unix = true;
        else if (!strcmp(k, "type") && v && !strcmp(v, "tcp"))
            c->is_unix = false;
        else if (!strcmp(k, "path") && v) {
            if (strlen(v) >= sizeof(c->path)) {
                fprintf(stderr, "vitrum swtpm: %s path is too long\n", opt);
                return -1;
            }
            snprintf(c->path, sizeof(c->path), "%s", v);
        } else if (!strcmp(k, "port")) {
            if (parse_port(v, &c->port) != 0)
                return -1;
        } else if (!strcmp(k, "bindaddr") && v)
            c->bindaddr = v;
        else if (!strcmp(k, "fd")) {
            if (parse_fd(v, &c->fd) != 0)
                return -1;
        } else if (ctrl && !strcmp(k, "clientfd")) {
            if (parse_fd(v, &c->fd) != 0)
                return -1;
            c->client = true;
        } else if (!strcmp(k, "mode")) {
            if (parse_mode(v, &c->mode) != 0)
                return -1;
        } else {
            char what[128];
            snprintf(what, sizeof(what), "%s parameter '%s'", opt, k);
            refuse(what);
            return -1;
        }
    }
    if (c->fd < 0 && (c->is_unix ? !c->path[0] : c->port < 0)) {
        fprintf(stderr, "vitrum swtpm: %s needs %s\n", opt, c->is_unix ? "path= or fd=" : "port= or fd=");
        return -1;
    }
    return 0;
}

static int listen_chan(const chan *c, const char *what)
{
    int fd;
    if (c->fd >= 0)
        return c->fd;
    if (!c->is_unix) {
        char err[512];
        fd = vt_listen_tcp(c->bindaddr, (uint16_t)c->port, err, sizeof(err));
        if (fd < 0)
            fprintf(stderr, "vitrum swtpm: %s: %s\n", what, err);
        return fd;
    }
    {
        struct sockaddr_un a;
        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        memcpy(a.sun_path, c->path, strlen(c->path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        (void)unlink(c->path); /* a socket left by an earlier run */
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || chmod(c->path, c->mode) != 0 ||
            listen(fd, 4) != 0) {
            fprintf(stderr, "vitrum swtpm: %s: cannot listen on %s: %s\n", what, c->path, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }
}

/* --key / --migration-key → a seal.h SPEC, written to spec. */
static int key_spec(char *arg, const char *opt, char *spec, size_t cap, bool *passphrase, char *remove_path,
                    size_t rcap)
{
    kv p;
    int i, fd;
    bool remove = false;
    char path[4096] = "";
    *passphrase = false;
    spec[0] = 0;
    remove_path[0] = 0;
    if (kv_parse(arg, &p, opt) != 0)
        return -1;
    for (i = 0; i < p.n; i++) {
        const char *k = p.k[i], *v = p.v[i];
        if ((!strcmp(k, "file") || !strcmp(k, "pwdfile")) && v) {
            snprintf(spec, cap, "%s%s", (!strncmp(v, "fd:", 3) || !strncmp(v, "env:", 4)) ? "file:" : "", v);
            snprintf(path, sizeof(path), "%s", v);
            *passphrase = k[0] == 'p';
        } else if (!strcmp(k, "fd") || !strcmp(k, "pwdfd")) {
            if (parse_fd(v, &fd) != 0)
                return -1;
            snprintf(spec, cap, "fd:%d", fd);
            *passphrase = k[0] == 'p';
        } else if (!strcmp(k, "format") && v && (!strcmp(v, "hex") || !strcmp(v, "binary"))) {
            /* vitrum tells a raw, hex or passphrase key by its content */
        } else if (!strcmp(k, "mode") && v && (!strcmp(v, "aes-cbc") || !strcmp(v, "aes-256-cbc"))) {
            fprintf(stderr, "vitrum swtpm: note: %s mode=%s: vitrum uses AES-256-GCM\n", opt, v);
        } else if (!strcmp(k, "pdf") && v && (!strcmp(v, "pbkdf2") || !strcmp(v, "sha512"))) {
            fprintf(stderr, "vitrum swtpm: note: %s pdf=%s: vitrum derives passphrase keys with scrypt\n", opt, v);
        } else if (!strcmp(k, "remove") && (!v || !strcmp(v, "true") || !strcmp(v, "false"))) {
            remove = !v || !strcmp(v, "true"); /* delete the key file once read */
        } else {
            char what[128];
            snprintf(what, sizeof(what), "%s parameter '%s'", opt, k);
            refuse(what);
            return -1;
        }
    }
    if (!spec[0]) {
        fprintf(stderr, "vitrum swtpm: %s needs file=, fd=, pwdfile= or pwdfd=\n", opt);
        return -1;
    }
    if (remove)
        snprintf(remove_path, rcap, "%s", path);
    return 0;
}

/* The migration key: 32 bytes from a raw or hex key, or scrypt of a
 * passphrase with a fixed salt (both hosts must derive the same key). */
static int migration_key(const char *spec, uint8_t out[32])
{
    vt_key_material *m = NULL;
    vt_seal_key *k = NULL;
    vt_kdf_params kp;
    char err[256];
    int rc = -1;

    if (vt_key_material_read(spec, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum swtpm: --migration-key: %s\n", err);
        return -1;
    }
    if (vt_kdf_params_new(&kp) != 0)
        goto out;
    memset(kp.salt, 0, sizeof(kp.salt));
    memcpy(kp.salt, "vitrum-migration", 16);
    if (vt_seal_key_new(m, m->passphrase ? &kp : NULL, &k, err, sizeof(err)) != 0) {
        fprintf(stderr, "vitrum swtpm: --migration-key: %s\n", err);
        goto out;
    }
    memcpy(out, k->master, 32);
    rc = 0;
out:
    vt_seal_key_free(k);
    vt_key_material_free(m);
    return rc;
}

static uint32_t startup(vt_engine *e, uint16_t su)
{
    uint8_t cmd[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, (uint8_t)(su >> 8), (uint8_t)su };
    uint8_t rsp[VT_MAX_RESPONSE_SIZE];
    size_t n = vt_engine_execute(e, 0, cmd, sizeof(cmd), rsp, sizeof(rsp));
    return n >= 10 ? (uint32_t)rsp[6] << 24 | (uint32_t)rsp[7] << 16 | (uint32_t)rsp[8] << 8 | rsp[9] : 0x101;
}

int vt_swtpm_main(int argc, char **argv)
{
    enum { O_TPM2 = 256, O_CTRL, O_SERVER, O_STATE, O_LOG, O_PID, O_FLAGS, O_KEY, O_MKEY, O_CAPS, O_VERSION };
    static const struct option opts[] = {
        { "tpm2", no_argument, NULL, O_TPM2 },
        { "ctrl", required_argument, NULL, O_CTRL },
        { "server", required_argument, NULL, O_SERVER },
        { "tpmstate", required_argument, NULL, O_STATE },
        { "log", required_argument, NULL, O_LOG },
        { "pid", required_argument, NULL, O_PID },
        { "flags", required_argument, NULL, O_FLAGS },
        { "key", required_argument, NULL, O_KEY },
        { "migration-key", required_argument, NULL, O_MKEY },
        { "terminate", no_argument, NULL, 't' },
        { "daemon", no_argument, NULL, 'd' },
        { "print-capabilities", no_argument, NULL, O_CAPS },
        { "version", no_argument, NULL, O_VERSION },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool tpm2 = false, terminate = false, daemonize = false, need_init = true, pass = false;
    const char *su = NULL;
    chan ctrl = { 0 }, server = { 0 };
    char state[4096] = "", log_file[4096] = "", pid_file[4096] = "", key[4200] = "", mkey_spec[4200] = "";
    char key_rm[4096] = "", mkey_rm[4096] = "";
    bool log_trunc = false;
    int log_fd = -1, log_level = 1, pid_fd = -1, c, ctrl_fd = -1, data_fd = -1, vol_fd, result;
    uint8_t mkey[32];
    bool have_mkey = false;
    vt_store store;
    vt_platform plat;
    vt_engine *e;
    vt_status st;
    vt_swtpm_cfg cfg;

    if (argc < 2 || strcmp(argv[1], "socket") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            fputs(usage, stdout);
            return 0;
        }
        fprintf(stderr, "vitrum swtpm: only the 'socket' interface is supported (chardev, cuse: no)\n%s", usage);
        return 2;
    }
    argc--;
    argv++;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":tdh", opts, NULL)) != -1) {
        switch (c) {
        case O_TPM2: tpm2 = true; break;
        case O_CTRL:
            if (parse_chan(optarg, &ctrl, "--ctrl", true) != 0)
                return 2;
            break;
        case O_SERVER:
            if (parse_chan(optarg, &server, "--server", false) != 0)
                return 2;
            break;
        case O_STATE: {
            kv p;
            int i;
            mode_t m;
            if (kv_parse(optarg, &p, "--tpmstate") != 0)
                return 2;
            for (i = 0; i < p.n; i++) {
                if (!strcmp(p.k[i], "dir") && p.v[i])
                    snprintf(state, sizeof(state), "%s", p.v[i]);
                else if (!strcmp(p.k[i], "mode")) {
                    if (parse_mode(p.v[i], &m) != 0)
                        return 2;
                } else {
                    char what[128];
                    snprintf(what, sizeof(what), "--tpmstate parameter '%s'", p.k[i]);
                    return refuse(what);
                }
            }
            break;
        }
        case O_LOG: {
            kv p;
            int i;
            if (kv_parse(optarg, &p, "--log") != 0)
                return 2;
            for (i = 0; i < p.n; i++) {
                if (!strcmp(p.k[i], "file") && p.v[i])
                    snprintf(log_file, sizeof(log_file), "%s", p.v[i]);
                else if (!strcmp(p.k[i], "fd")) {
                    if (parse_fd(p.v[i], &log_fd) != 0)
                        return 2;
                } else if (!strcmp(p.k[i], "level") && p.v[i])
                    log_level = atoi(p.v[i]);
                else if (!strcmp(p.k[i], "truncate"))
                    log_trunc = true;
                else {
                    char what[128];
                    snprintf(what, sizeof(what), "--log parameter '%s'", p.k[i]);
                    return refuse(what);
                }
            }
            break;
        }
        case O_PID: {
            kv p;
            int i;
            if (kv_parse(optarg, &p, "--pid") != 0)
                return 2;
            for (i = 0; i < p.n; i++) {
                if (!strcmp(p.k[i], "file") && p.v[i])
                    snprintf(pid_file, sizeof(pid_file), "%s", p.v[i]);
                else if (!strcmp(p.k[i], "fd")) {
                    if (parse_fd(p.v[i], &pid_fd) != 0)
                        return 2;
                } else {
                    char what[128];
                    snprintf(what, sizeof(what), "--pid parameter '%s'", p.k[i]);
                    return refuse(what);
                }
            }
            break;
        }
        case O_FLAGS: {
            kv p;
            int i;
            if (kv_parse(optarg, &p, "--flags") != 0)
                return 2;
            for (i = 0; i < p.n; i++) {
                if (!strcmp(p.k[i], "not-need-init"))
                    need_init = false;
                else if (!strcmp(p.k[i], "startup-clear") || !strcmp(p.k[i], "startup-state")) {
                    su = p.k[i];
                    need_init = false;
                } else if (!strcmp(p.k[i], "startup-none"))
                    su = NULL;
                else {
                    char what[128];
                    snprintf(what, sizeof(what), "--flags '%s'", p.k[i]);
                    return refuse(what);
                }
            }
            break;
        }
        case O_KEY:
            if (key_spec(optarg, "--key", key, sizeof(key), &pass, key_rm, sizeof(key_rm)) != 0)
                return 2;
            break;
        case O_MKEY:
            if (key_spec(optarg, "--migration-key", mkey_spec, sizeof(mkey_spec), &pass, mkey_rm,
                         sizeof(mkey_rm)) != 0)
                return 2;
            break;
        case 't': terminate = true; break;
        case 'd': daemonize = true; break;
        case O_CAPS:
            printf("{ \"type\": \"swtpm\", \"features\": [ \"tpm-2.0\", \"cmdarg-key-fd\", \"cmdarg-pwd-fd\", "
                   "\"flags-opt-startup\" ], \"version\": \"%s\" }\n", VITRUM_VERSION);
            return 0;
        case O_VERSION:
            printf("vitrum %s (swtpm 0.7 compatible socket interface)\n", VITRUM_VERSION);
            return 0;
        case 'h': fputs(usage, stdout); return 0;
        case ':':
            fprintf(stderr, "vitrum swtpm: option %s needs a value\n", argv[optind - 1]);
            return 2;
        default: {
            char what[160];
            snprintf(what, sizeof(what), "option '%s'", argv[optind - 1]);
            return refuse(what);
        }
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vitrum swtpm: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!tpm2) {
        fprintf(stderr, "vitrum swtpm: vitrum is a TPM 2.0: --tpm2 is required (TPM 1.2 is not supported)\n");
        return 2;
    }
    if (!ctrl.set && !server.set) {
        fprintf(stderr, "vitrum swtpm: give --server and/or --ctrl\n");
        return 2;
    }
    if (!ctrl.set && need_init) {
        fprintf(stderr, "vitrum swtpm: without --ctrl nobody can send INIT: add --flags not-need-init\n");
        return 2;
    }
    if (!state[0] && getenv("TPM_PATH"))
        snprintf(state, sizeof(state), "%s", getenv("TPM_PATH"));
    if (!state[0]) {
        fprintf(stderr, "vitrum swtpm: --tpmstate dir=DIR (or TPM_PATH) is required\n");
        return 2;
    }
    if (log_file[0]) {
        log_fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (log_trunc ? O_TRUNC : 0), 0600);
        if (log_fd < 0) {
            fprintf(stderr, "vitrum swtpm: cannot open the log %s: %s\n", log_file, strerror(errno));
            return 1;
        }
    } else if (log_fd < 0) {
        log_fd = daemonize ? -1 : 2;
    }
    if (mkey_spec[0]) {
        if (migration_key(mkey_spec, mkey) != 0)
            return 1;
        have_mkey = true;
        if (mkey_rm[0])
            (void)unlink(mkey_rm);
    }
    if (vt_store_open(&store, state) != 0 || (key[0] && vt_store_set_key(&store, key) != 0)) {
        fprintf(stderr, "vitrum swtpm: %s\n", store.err);
        vt_store_close(&store);
        return 1;
    }
    if (key_rm[0])
        (void)unlink(key_rm);
    if (ctrl.set) {
        if (ctrl.client)
            ctrl_fd = -1;
        else if ((ctrl_fd = listen_chan(&ctrl, "--ctrl")) < 0)
            return 1;
    }
    if (server.set && (data_fd = listen_chan(&server, "--server")) < 0)
        return 1;
    vt_platform_posix(&plat, &store);
    memset(&cfg, 0, sizeof(cfg));
    cfg.engine_cfg.nv_size = VT_NV_SIZE_DEFAULT;
    st = vt_engine_new_ex(&plat, &cfg.engine_cfg, &e);
    if (st != VT_OK) {
        fprintf(stderr, "vitrum swtpm: cannot start the TPM in %s: %s%s%s\n", state, vt_status_str(st),
                store.err[0] ? ": " : "", store.err);
        return 1;
    }
    {
        char vpath[4200];
        snprintf(vpath, sizeof(vpath), "%s/vitrum-volatile", state);
        vol_fd = open(vpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (vol_fd < 0)
            fprintf(stderr, "vitrum swtpm: warning: %s: %s (STORE_VOLATILE will fail)\n", vpath, strerror(errno));
    }
    if (!need_init) {
        vt_engine_power_on(e);
        if (su) {
            uint32_t rc = startup(e, strcmp(su, "startup-state") == 0 ? 1 : 0);
            if (rc != 0)
                fprintf(stderr, "vitrum swtpm: TPM2_Startup failed with 0x%03x\n", rc);
        }
    }
    if (daemonize && daemon(1, 0) != 0) {
        fprintf(stderr, "vitrum swtpm: cannot become a daemon: %s\n", strerror(errno));
        return 1;
    }
    if (pid_file[0] || pid_fd >= 0) {
        char line[32];
        int fd = pid_fd >= 0 ? pid_fd : open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
        if (fd < 0 || write(fd, line, (size_t)n) != n) {
            fprintf(stderr, "vitrum swtpm: cannot write the pid file: %s\n", strerror(errno));
            return 1;
        }
        close(fd);
    }
    {
        const void *secret;
        size_t secret_len;
        char err[512];
        vt_engine_secret_memory(e, &secret, &secret_len);
        /* Under systemd (Type=notify): the socket READY=1 goes to is
         * opened before the process is hardened. */
        if (vt_notify_init() < 0 && log_fd >= 0)
            dprintf(log_fd, "vitrum swtpm: warning: NOTIFY_SOCKET is set but unusable\n");
        if (vt_harden_process(secret, secret_len, err, sizeof(err)) != 0 || err[0])
            if (log_fd >= 0)
                dprintf(log_fd, "vitrum swtpm: warning: %s\n", err);
    }
    cfg.ctrl_fd = ctrl_fd;
    cfg.ctrl_client_fd = ctrl.client ? ctrl.fd : -1;
    cfg.data_fd = data_fd;
    cfg.running = !need_init;
    cfg.terminate = terminate;
    cfg.store = &store;
    cfg.migration_key = have_mkey ? mkey : NULL;
    cfg.volatile_fd = vol_fd;
    cfg.volatile_key = store.key ? store.key->enc : NULL;
    cfg.log_fd = log_fd;
    cfg.log_level = log_level;
    cfg.log_path = log_file[0] ? log_file : NULL;
    if (log_fd >= 0)
        dprintf(log_fd, "vitrum %s: swtpm socket interface, state %s\n", VITRUM_VERSION, state);
    result = vt_serve_swtpm(&e, &cfg);
    st = vt_engine_save(e);
    if (log_fd >= 0)
        dprintf(log_fd, "vitrum swtpm: stopped (%s), state %s\n",
                result == 0 ? "shutdown" : result > 0 ? "signal" : "error", st == VT_OK ? "saved" : "NOT saved");
    vt_engine_free(e);
    vt_seal_wipe(mkey, sizeof(mkey));
    if (ctrl.is_unix && ctrl.path[0] && ctrl.fd < 0)
        (void)unlink(ctrl.path);
    if (server.is_unix && server.path[0] && server.fd < 0)
        (void)unlink(server.path);
    if (pid_file[0])
        (void)unlink(pid_file);
    vt_store_close(&store);
    return (st == VT_OK && result >= 0) ? 0 : 1;
}
