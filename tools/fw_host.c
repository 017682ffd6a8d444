/* Host-side helpers for `vitrum update`, `vitrum verify` and the launcher
 * (fw_host.h). */
#define _GNU_SOURCE
#include "fw_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <tss2/tss2_tctildr.h>

#include "platform/platform_posix.h"
#include "store/store.h"
#include "tlog/tlog.h"
#include "tlog_io.h"
#include "vendor_client.h"

#define DEFAULT_TCTI "mssim:host=127.0.0.1,port=2321"

const char *vt_fw_tcti_conf(const char *conf)
{
    const char *env = getenv("TPM2TOOLS_TCTI");

    if (conf && *conf)
        return conf;
    return env && *env ? env : DEFAULT_TCTI;
}

int vt_fw_tcti_open(const char *conf, TSS2_TCTI_CONTEXT **out, char *err, size_t errlen)
{
    TSS2_RC rc;

    conf = vt_fw_tcti_conf(conf);
    *out = NULL;
    rc = Tss2_TctiLdr_Initialize(conf, out);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "cannot reach the TPM at %s (TCTI error 0x%x)", conf, rc);
        *out = NULL;
        return -1;
    }
    return 0;
}

void vt_fw_tcti_close(TSS2_TCTI_CONTEXT *t)
{
    if (t)
        Tss2_TctiLdr_Finalize(&t);
}

int vt_fw_sha256_fd(int fd, uint8_t out[32], char *err, size_t errlen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    static uint8_t buf[1 << 16];
    off_t off = 0;
    unsigned int n = 0;
    int rc = -1;

    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        snprintf(err, errlen, "SHA-256 not available");
        goto out;
    }
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof(buf), off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "read: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (!EVP_DigestUpdate(c, buf, (size_t)r)) {
            snprintf(err, errlen, "SHA-256 failed");
            goto out;
        }
        off += r;
    }
    if (!EVP_DigestFinal_ex(c, out, &n) || n != 32) {
        snprintf(err, errlen, "SHA-256 failed");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(c);
    return rc;
}

int vt_fw_sha256_file(const char *path, uint8_t out[32], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
    char why[256];

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    rc = vt_fw_sha256_fd(fd, out, why, sizeof(why));
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    close(fd);
    return rc;
}

static void copy_field(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

int vt_fw_bundle_peek(const uint8_t *bundle, size_t len, vt_fw_info *info)
{
    vt_bundle b;
    vt_note note;
    vt_manifest m;

    memset(info, 0, sizeof(*info));
    if (vt_bundle_parse(&b, bundle, len) != VT_TLOG_OK ||
        vt_note_parse(&note, (const char *)b.manifest, b.manifest_len) != VT_TLOG_OK ||
        vt_manifest_parse(&m, note.text, note.text_len) != VT_TLOG_OK)
        return -1;
    copy_field(info->name, sizeof(info->name), m.name, m.name_len);
    copy_field(info->version, sizeof(info->version), m.version, m.version_len);
    info->svn = m.svn;
    info->log_index = b.have_inclusion ? b.leaf_index : UINT64_MAX;
    memcpy(info->sha256, m.sha256, 32);
    return 0;
}

size_t vt_fw_bundle_strip(const uint8_t *bundle, size_t len, uint8_t *out)
{
    vt_bundle b;
    size_t off = VT_BUNDLE_MAGIC_LEN, n = VT_BUNDLE_MAGIC_LEN;

    if (vt_bundle_parse(&b, bundle, len) != VT_TLOG_OK)
        return 0; /* also checks every length below */
    memcpy(out, bundle, VT_BUNDLE_MAGIC_LEN);
    while (off < len) {
        size_t sl = 5 + ((size_t)bundle[off + 1] << 24 | (size_t)bundle[off + 2] << 16 |
                         (size_t)bundle[off + 3] << 8 | bundle[off + 4]);
        if (bundle[off] != VT_BUNDLE_PAYLOAD) {
            memmove(out + n, bundle + off, sl);
            n += sl;
        }
        off += sl;
    }
    return n;
}

/* ---- the engine's verdict ---- */

int vt_fw_verify_tcti(TSS2_TCTI_CONTEXT *t, const uint8_t *bundle, size_t len,
                      const uint8_t sha256[32], vt_fw_info *info, char *err, size_t errlen)
{
    vt_vc_release r;
    TSS2_RC rc;

    if (vt_fw_bundle_peek(bundle, len, info) != 0) {
        snprintf(err, errlen, "malformed or truncated bundle");
        return VT_FW_REFUSED;
    }
    memset(&r, 0, sizeof(r));
    rc = vt_vc_verify_bundle(t, bundle, len, sha256, &r);
    if (rc == TSS2_RC_SUCCESS) {
        copy_field(info->name, sizeof(info->name), r.name, strlen(r.name));
        copy_field(info->version, sizeof(info->version), r.version, strlen(r.version));
        info->svn = r.svn;
        info->log_index = r.log_index;
        memcpy(info->sha256, r.sha256, 32);
        return VT_FW_OK;
    }
    /* The engine's verdicts (docs/VENDOR-COMMANDS.md): its vendor codes,
     * and TPM_RC_VALUE on parameter 1 for a bundle that does not parse. */
    if ((rc >= VT_RC_BAD_SIGNATURE && rc <= VT_RC_FLOORS_FULL) ||
        (rc & ~0xf00u) == (TPM2_RC_VALUE | TPM2_RC_P) || rc == TPM2_RC_VALUE) {
        const char *why = vt_vc_strerror(rc, VT_CC_VERIFY_BUNDLE);
        if (!strncmp(why, "refused: ", 9))
            why += 9;
        snprintf(err, errlen, "%s (TPM_RC 0x%03x)", why, rc);
        return VT_FW_REFUSED;
    }
    if (rc == TPM2_RC_COMMAND_CODE)
        snprintf(err, errlen, "the TPM has no VerifyBundle vendor command (not a vitrum with a "
                              "trust store)");
    else
        snprintf(err, errlen, "VerifyBundle failed: %s (0x%x)", vt_vc_strerror(rc, VT_CC_VERIFY_BUNDLE), rc);
    return VT_FW_ERROR;
}

/* The engine on the state directory, with its commits discarded: the
 * launcher and `update apply` ask it exactly what the server's engine will
 * be asked, without changing the TPM (not even its Clock). */
static int discard_commit(void *ctx, const uint8_t *blob, size_t len)
{
    (void)ctx, (void)blob, (void)len;
    return 0;
}

static int discard_append(void *ctx, const uint8_t *rec, size_t len)
{
    (void)ctx, (void)rec, (void)len;
    return 0;
}

int vt_fw_verify_local(const char *dir, const char *key, const vt_engine_config *cfg,
                       const uint8_t *bundle, size_t len, const uint8_t sha256[32],
                       vt_fw_info *info, char *err, size_t errlen)
{
    vt_store store;
    vt_platform plat;
    vt_engine *e = NULL;
    vt_status st;
    char why[512] = "";
    int rc;

    struct stat sb;

    /* vt_store_open would make a missing directory: a new, empty TPM */
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "no TPM state directory %s", dir);
        return VT_FW_ERROR;
    }
    if (vt_store_open(&store, dir) != 0) {
        snprintf(err, errlen, "%s", store.err);
        return strstr(store.err, "in use") ? VT_FW_BUSY : VT_FW_ERROR;
    }
    if (key && vt_store_set_key(&store, key) != 0) {
        snprintf(err, errlen, "%s", store.err);
        vt_store_close(&store);
        return VT_FW_ERROR;
    }
    vt_platform_posix(&plat, &store);
    plat.state_commit = discard_commit;
    if (plat.state_append)
        plat.state_append = discard_append;
    st = vt_engine_new_ex(&plat, cfg, &e);
    if (st != VT_OK) {
        snprintf(err, errlen, "cannot load the TPM in %s: %s%s%s", dir, vt_status_str(st),
                 store.err[0] ? ": " : "", store.err);
        vt_store_close(&store);
        return VT_FW_ERROR;
    }
    rc = vt_engine_set_firmware(e, bundle, len, sha256, why, sizeof(why));
    vt_engine_free(e);
    vt_store_close(&store);
    if (rc != 0) {
        snprintf(err, errlen, "%s", why[0] ? why : "refused by the engine");
        return VT_FW_REFUSED;
    }
    if (vt_fw_bundle_peek(bundle, len, info) != 0) {
        snprintf(err, errlen, "malformed or truncated bundle");
        return VT_FW_REFUSED;
    }
    return VT_FW_OK;
}

/* ---- slots ---- */

static int slots_dir(const char *dir, char *out, size_t cap, char *err, size_t errlen)
{
    if ((size_t)snprintf(out, cap, "%s/slots", dir) >= cap) {
        snprintf(err, errlen, "state directory path too long");
        return -1;
    }
    return 0;
}

int vt_slots_lock(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    int fd;

    if (slots_dir(dir, path, sizeof(path), err, errlen) != 0)
        return -1;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    strcat(path, "/lock");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int slot_value(const char *line, const char *key, char *out)
{
    size_t k = strlen(key);

    if (strncmp(line, key, k) != 0 || line[k] != ' ' || !line[k + 1] || line[k + 2] != '\n')
        return -1;
    switch (line[k + 1]) {
    case 'a': case 'b': *out = line[k + 1]; return 0;
    case '-': *out = 0; return 0;
    default: return -1;
    }
}

int vt_slots_read(const char *dir, vt_slots *s, char *err, size_t errlen)
{
    char path[4200], text[256];
    ssize_t n;
    int fd;
    const char *p;

    memset(s, 0, sizeof(*s));
    if (slots_dir(dir, path, sizeof(path), err, errlen) != 0)
        return -1;
    strcat(path, "/state");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    text[n] = 0;
    p = text;
    if (strncmp(p, "vitrum-slots/v1\n", 16) != 0)
        goto bad;
    p += 16;
    if (slot_value(p, "current", &s->current) != 0)
        goto bad;
    p = strchr(p, '\n') + 1;
    if (slot_value(p, "next", &s->next) != 0)
        goto bad;
    p = strchr(p, '\n') + 1;
    if (slot_value(p, "previous", &s->previous) != 0)
        goto bad;
    p = strchr(p, '\n') + 1;
    if (*p)
        goto bad;
    return 0;
bad:
    memset(s, 0, sizeof(*s));
    snprintf(err, errlen, "%s: not a vitrum slots file", path);
    return -1;
}

int vt_slots_write(const char *dir, const vt_slots *s, char *err, size_t errlen)
{
    char path[4200], text[128];
    int n;

    if (slots_dir(dir, path, sizeof(path), err, errlen) != 0)
        return -1;
    strcat(path, "/state");
    n = snprintf(text, sizeof(text), "vitrum-slots/v1\ncurrent %c\nnext %c\nprevious %c\n",
                 s->current ? s->current : '-', s->next ? s->next : '-',
                 s->previous ? s->previous : '-');
    if (vt_io_write_atomic(path, text, (size_t)n, 0600) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}
