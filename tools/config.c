/* vitrum.conf: parse, check, and merge into the serve command line. */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vitrum/engine.h"
#include "server/log.h"

#define LINE_LEN 4096
#define MAX_SETTINGS 64

typedef enum { K_PATH, K_SECRET_SPEC, K_PORT, K_LISTEN, K_STARTUP, K_SIZE, K_BOOL, K_LOG_LEVEL, K_LOG } key_kind;

static const struct {
    const char *name;
    key_kind kind;
} keys[] = {
    { "state", K_PATH },        { "port", K_PORT },         { "listen", K_LISTEN },
    { "startup", K_STARTUP },   { "key", K_SECRET_SPEC },   { "nv-size", K_SIZE },
    { "keep-loaded", K_BOOL },  { "no-sandbox", K_BOOL },   { "manufacture", K_BOOL },
    { "ca-key", K_PATH },       { "ca-cert", K_PATH },      { "log", K_LOG },
    { "log-level", K_LOG_LEVEL }, { "instances", K_PATH },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char config_path[PATH_MAX];
/* The merged command line lives as long as the process (optarg points
 * into it); kept here so that it stays reachable. */
static char **merged_argv;
static int merged_argc;

const char *vt_config_path(void)
{
    return config_path;
}

int vt_config_bool(const char *s)
{
    if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1"))
        return 1;
    if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0"))
        return 0;
    return -1;
}

int vt_config_parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'K' || *end == 'k') {
        if (v > (ULLONG_MAX >> 10))
            return -1;
        v <<= 10, end++;
    } else if (*end == 'M' || *end == 'm') {
        if (v > (ULLONG_MAX >> 20))
            return -1;
        v <<= 20, end++;
    }
    if (*end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Check one value.  NULL if good, else the reason (static text). */
static const char *check_value(key_kind kind, const char *v)
{
    switch (kind) {
    case K_PATH:
        return NULL; /* non-empty is checked by the caller; the file is opened later */
    case K_SECRET_SPEC:
        return NULL;
    case K_PORT: {
        char *end;
        long p;
        errno = 0;
        p = strtol(v, &end, 10);
        return (errno || *end || end == v || p < 1 || p > 65534) ? "must be a number from 1 to 65534" : NULL;
    }
    case K_LISTEN: {
        unsigned char buf[16];
        if (!strcmp(v, "localhost") || inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
            return NULL;
        return "must be an IPv4 or IPv6 address (or localhost)";
    }
    case K_STARTUP:
        return (strcmp(v, "clear") && strcmp(v, "state") && strcmp(v, "none")) ? "must be clear, state or none"
                                                                               : NULL;
    case K_SIZE: {
        size_t n;
        if (vt_config_parse_size(v, &n) != 0 || n < 1024 || n > VT_NV_SIZE_LIMIT)
            return "must be a size from 1K to 8M (e.g. 64K, 1M)";
        return NULL;
    }
    case K_BOOL:
        return vt_config_bool(v) < 0 ? "must be yes or no (or true/false, on/off, 1/0)" : NULL;
    case K_LOG_LEVEL: {
        vt_log_level l;
        return vt_log_parse_level(v, &l) != 0 ? "must be error, warn, info or debug" : NULL;
    }
    case K_LOG:
        return vt_log_target_ok(v) ? NULL : "must be stderr, syslog or an absolute file path";
    }
    return "unknown kind";
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* Where --config is in argv: its value, or NULL.  "--config FILE",
 * "--config=FILE" and unambiguous abbreviations ("--conf") as getopt_long
 * takes them.  Scanning stops at "--". */
static const char *config_arg(int argc, char **argv, int *bad)
{
    const char *found = NULL;
    int i;

    *bad = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        size_t n;
        if (!strcmp(a, "--"))
            break;
        if (strncmp(a, "--", 2) != 0)
            continue;
        a += 2;
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        if (n < 2 || strncmp(a, "config", n) != 0)
            continue;
        if (eq)
            found = eq + 1;
        else if (i + 1 < argc)
            found = argv[++i];
        else
            *bad = 1;
    }
    return found;
}

typedef struct {
    const char *key;
    char *value;
    unsigned line;
} setting;

static int fail(const char *file, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%u: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* Parse path into set[]; returns 0 or 2 (reported). */
static int parse_file(const char *path, setting *set, size_t *nset)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    FILE *f = fopen(path, "re");
    int rc = 0;

    *nset = 0;
    if (!f) {
        fprintf(stderr, "vitrum: cannot read the configuration file %s: %s\n", path, strerror(errno));
        return 2;
    }
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        char *p, *eq, *k, *v;
        size_t i, j;

        lineno++;
        if (len > LINE_LEN) {
            rc = fail(path, lineno, "line longer than %d octets", LINE_LEN);
            break;
        }
        if (memchr(line, '\0', (size_t)len) != NULL) {
            rc = fail(path, lineno, "NUL octet in the line");
            break;
        }
        p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        eq = strchr(p, '=');
        if (!eq) {
            rc = fail(path, lineno, "expected 'key = value'");
            break;
        }
        *eq = '\0';
        k = trim(p);
        v = trim(eq + 1);
        for (i = 0; i < NKEYS; i++)
            if (!strcmp(k, keys[i].name))
                break;
        if (*k == '\0') {
            rc = fail(path, lineno, "expected 'key = value'");
        } else if (!strcmp(k, "config")) {
            rc = fail(path, lineno, "'%s' cannot be set in a configuration file", k);
        } else if (i == NKEYS) {
            rc = fail(path, lineno, "unknown key '%s' (see vitrum.conf(5))", k);
        } else if (*v == '\0') {
            rc = fail(path, lineno, "%s: empty value", k);
        } else {
            const char *why = check_value(keys[i].kind, v);
            for (j = 0; j < *nset; j++)
                if (!strcmp(set[j].key, keys[i].name))
                    break;
            if (j < *nset) {
                rc = fail(path, lineno, "%s: set twice (first on line %u)", k, set[j].line);
            } else if (why && keys[i].kind == K_SECRET_SPEC) {
                rc = fail(path, lineno, "%s: %s", k, why); /* the value is not repeated */
            } else if (why) {
                rc = fail(path, lineno, "%s: %s, not '%s'", k, why, v);
            } else if (*nset == MAX_SETTINGS) {
                rc = fail(path, lineno, "too many settings");
            } else {
                set[*nset].key = keys[i].name;
                set[*nset].value = strdup(v);
                set[*nset].line = lineno;
                if (!set[*nset].value) {
                    rc = fail(path, lineno, "out of memory");
                    break;
                }
                (*nset)++;
            }
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "vitrum: cannot read the configuration file %s: %s\n", path, strerror(errno));
        rc = 2;
    }
    free(line);
    fclose(f);
    return rc;
}

void vt_config_free(int argc, char **argv)
{
    int i;
    if (!argv)
        return;
    if (argv == merged_argv)
        merged_argv = NULL, merged_argc = 0;
    for (i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

int vt_config_merge(int argc, char **argv, int *out_argc, char ***out_argv)
{
    setting set[MAX_SETTINGS];
    size_t nset = 0, i;
    const char *path, *env = getenv("VITRUM_CONFIG");
    char **nv;
    int bad, n = 0, k;

    config_path[0] = '\0';
    path = config_arg(argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "vitrum: --config needs a file name\n");
        return 2;
    }
    if (!path && env && *env)
        path = env;
    if (!path && access(VT_CONFIG_DEFAULT, F_OK) == 0)
        path = VT_CONFIG_DEFAULT;
    if (path && strcmp(path, "none") != 0) {
        snprintf(config_path, sizeof(config_path), "%s", path);
        int rc = parse_file(path, set, &nset);
        if (rc != 0) {
            for (i = 0; i < nset; i++)
                free(set[i].value);
            return rc;
        }
    }
    nv = calloc((size_t)argc + nset + 1, sizeof(char *));
    if (!nv)
        return 2;
    nv[n++] = strdup(argv[0]);
    for (i = 0; i < nset; i++) {
        size_t len = strlen(set[i].key) + strlen(set[i].value) + 4;
        char *s = malloc(len);
        if (s)
            snprintf(s, len, "--%s=%s", set[i].key, set[i].value);
        nv[n++] = s;
        free(set[i].value);
    }
    for (k = 1; k < argc; k++)
        nv[n++] = strdup(argv[k]);
    for (k = 0; k < n; k++)
        if (!nv[k]) {
            vt_config_free(n, nv);
            fprintf(stderr, "vitrum: out of memory\n");
            return 2;
        }
    vt_config_free(merged_argc, merged_argv);
    merged_argc = n;
    merged_argv = nv;
    *out_argc = n;
    *out_argv = nv;
    return 0;
}

/* The state directory when none is given: $VITRUM_STATE, /var/lib/vitrum
 * for root, else the XDG state directory. */
void vt_default_state_dir(char *buf, size_t len)
{
    const char *env = getenv("VITRUM_STATE");
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");

    if (env && *env)
        snprintf(buf, len, "%s", env);
    else if (geteuid() == 0)
        snprintf(buf, len, "/var/lib/vitrum");
    else if (xdg && *xdg)
        snprintf(buf, len, "%s/vitrum", xdg);
    else
        snprintf(buf, len, "%s/.local/state/vitrum", home ? home : ".");
}
