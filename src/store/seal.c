#define _GNU_SOURCE
#include "store/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include "common/be.h"

/* scrypt N = 2^15, r = 8, p = 1: 32 MiB and a fraction of a second, once
 * per start.  Stored with the salt, so they can be raised later. */
#define KDF_LOG2_N 15u
#define KDF_R 8u
#define KDF_P 1u
#define KDF_MAX_MEM (1024ull * 1024 * 1024)
#define KDF_MAGIC "VTKD"
#define KDF_VERSION 1u

void vt_seal_wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

/* A header in front of each allocation records its mapped size. */
void *vt_secure_alloc(size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t span = ((len + 16 + (size_t)page - 1) / (size_t)page) * (size_t)page;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    /* Not fatal: an unprivileged user may have a tiny RLIMIT_MEMLOCK. */
    (void)mlock(p, span);
    (void)madvise(p, span, MADV_DONTDUMP);
    memcpy(p, &span, sizeof(span));
    return p + 16;
}

void vt_secure_free(void *ptr, size_t len)
{
    uint8_t *p = ptr;
    size_t span;

    if (!p)
        return;
    vt_seal_wipe(p, len);
    p -= 16;
    memcpy(&span, p, sizeof(span));
    vt_seal_wipe(p, span);
    munmap(p, span); /* also unlocks; munlock is not in the sandbox's list */
}

/* Turn what a source held into material: 32 raw bytes (files and
 * descriptors only), 64 hex characters, or a passphrase. */
static int classify(vt_key_material *m, size_t len, bool raw_ok, const char *what, char *err,
                    size_t err_len)
{
    if (raw_ok && len == VT_SEAL_KEY_SIZE) {
        m->passphrase = false;
        m->len = len;
        return 0;
    }
    if (len > 0 && m->bytes[len - 1] == '\n')
        len--;
    if (len > 0 && m->bytes[len - 1] == '\r')
        len--;
    if (len == 2 * VT_SEAL_KEY_SIZE) {
        bool hex = true;
        size_t i;
        for (i = 0; i < len; i++)
            hex = hex && vt_hex_digit(m->bytes[i]) >= 0;
        if (hex) {
            (void)vt_hex_decode((const char *)m->bytes, len, m->bytes, VT_SEAL_KEY_SIZE);
            vt_seal_wipe(m->bytes + VT_SEAL_KEY_SIZE, sizeof(m->bytes) - VT_SEAL_KEY_SIZE);
            m->passphrase = false;
            m->len = VT_SEAL_KEY_SIZE;
            return 0;
        }
    }
    if (len == 0) {
        snprintf(err, err_len, "the key from %s is empty", what);
        return -1;
    }
    vt_seal_wipe(m->bytes + len, sizeof(m->bytes) - len);
    m->passphrase = true;
    m->len = len;
    return 0;
}

static int read_fd(int fd, vt_key_material *m, size_t *len, const char *what, char *err, size_t err_len)
{
    *len = 0;
    for (;;) {
        ssize_t n;
        if (*len == sizeof(m->bytes)) {
            snprintf(err, err_len, "the key from %s is longer than %u bytes", what, VT_SEAL_MAX_PASSPHRASE - 1);
            return -1;
        }
        n = read(fd, m->bytes + *len, sizeof(m->bytes) - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_len, "cannot read the key from %s: %s", what, strerror(errno));
            return -1;
        }
        if (n == 0)
            return 0;
        *len += (size_t)n;
    }
}

int vt_key_material_read(const char *spec, vt_key_material **out, char *err, size_t err_len)
{
    vt_key_material *m;
    char what[300];
    size_t len = 0;
    int rc = -1;

    *out = NULL;
    m = vt_secure_alloc(sizeof(*m));
    if (!m) {
        snprintf(err, err_len, "out of memory for the key");
        return -1;
    }
    if (!strncmp(spec, "env:", 4)) {
        char *v = getenv(spec + 4);
        snprintf(what, sizeof(what), "environment variable %s", spec + 4);
        if (!spec[4] || !v) {
            snprintf(err, err_len, "the key's %s is not set", what);
        } else if ((len = strlen(v)) >= sizeof(m->bytes)) {
            snprintf(err, err_len, "the key from %s is longer than %u bytes", what, VT_SEAL_MAX_PASSPHRASE - 1);
        } else {
            memcpy(m->bytes, v, len);
            rc = classify(m, len, false, what, err, err_len);
        }
        /* wipe the value in place (also what /proc/PID/environ shows) */
        if (v) {
            vt_seal_wipe(v, strlen(v));
            unsetenv(spec + 4);
        }
    } else if (!strncmp(spec, "fd:", 3)) {
        char *end;
        long fd;
        errno = 0;
        fd = strtol(spec + 3, &end, 10);
        snprintf(what, sizeof(what), "descriptor %s", spec + 3);
        if (errno || end == spec + 3 || *end || fd < 0 || fd > 65535) {
            snprintf(err, err_len, "bad key spec '%s': fd: needs a descriptor number", spec);
        } else if (read_fd((int)fd, m, &len, what, err, err_len) == 0) {
            rc = classify(m, len, true, what, err, err_len);
        }
        if (end != spec + 3 && !*end && fd >= 0 && fd <= 65535)
            close((int)fd);
    } else {
        const char *path = !strncmp(spec, "file:", 5) ? spec + 5 : spec;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(what, sizeof(what), "%s", path);
        if (fd < 0) {
            snprintf(err, err_len, "cannot open key file %s: %s", path, strerror(errno));
        } else {
            if (read_fd(fd, m, &len, what, err, err_len) == 0)
                rc = classify(m, len, true, what, err, err_len);
            close(fd);
        }
    }
    if (rc != 0) {
        vt_secure_free(m, sizeof(*m));
        return -1;
    }
    *out = m;
    return 0;
}

void vt_key_material_free(vt_key_material *m)
{
    vt_secure_free(m, sizeof(*m));
}

int vt_seal_random(uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int vt_kdf_params_new(vt_kdf_params *kp)
{
    kp->log2_n = KDF_LOG2_N;
    kp->r = KDF_R;
    kp->p = KDF_P;
    return vt_seal_random(kp->salt, sizeof(kp->salt));
}

bool vt_kdf_params_sane(const vt_kdf_params *kp)
{
    return kp->log2_n >= 10 && kp->log2_n <= 24 && kp->r >= 1 && kp->r <= 32 && kp->p >= 1 &&
           kp->p <= 16 && ((uint64_t)128 * kp->r << kp->log2_n) <= KDF_MAX_MEM / 2;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* "VTKD" | u16 version | u8 log2 N | u8 0 | u32 r | u32 p | salt[16] |
 * SHA-256 of the 32 bytes before. */
void vt_kdf_params_encode(const vt_kdf_params *kp, uint8_t out[VT_KDF_RECORD_SIZE])
{
    memset(out, 0, VT_KDF_RECORD_SIZE);
    memcpy(out, KDF_MAGIC, 4);
    out[4] = 0;
    out[5] = KDF_VERSION;
    out[6] = kp->log2_n;
    vt_put_be32(out + 8, kp->r);
    vt_put_be32(out + 12, kp->p);
    memcpy(out + 16, kp->salt, VT_SEAL_SALT_SIZE);
    EVP_Digest(out, 32, out + 32, NULL, EVP_sha256(), NULL);
}

int vt_kdf_params_decode(vt_kdf_params *kp, const uint8_t in[VT_KDF_RECORD_SIZE])
{
    uint8_t d[32];
    if (memcmp(in, KDF_MAGIC, 4) != 0 || in[4] != 0 || in[5] != KDF_VERSION ||
        !EVP_Digest(in, 32, d, NULL, EVP_sha256(), NULL) || CRYPTO_memcmp(d, in + 32, 32) != 0)
        return -1;
    kp->log2_n = in[6];
    kp->r = get32(in + 8);
    kp->p = get32(in + 12);
    memcpy(kp->salt, in + 16, VT_SEAL_SALT_SIZE);
    return vt_kdf_params_sane(kp) ? 0 : -1;
}

static int scrypt(const vt_key_material *m, const vt_kdf_params *kp, uint8_t out[VT_SEAL_KEY_SIZE])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << kp->log2_n, maxmem = KDF_MAX_MEM;
    uint32_t r = kp->r, p = kp->p;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)m->bytes, m->len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)kp->salt, sizeof(kp->salt)),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_KDF_derive(ctx, out, VT_SEAL_KEY_SIZE, params) == 1;

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

int vt_seal_hmac(const uint8_t key[VT_SEAL_KEY_SIZE], const char *label, const uint8_t *data,
                 size_t len, uint8_t out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t n = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, VT_SEAL_KEY_SIZE, params) &&
             EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label)) &&
             (len == 0 || EVP_MAC_update(ctx, data, len)) && EVP_MAC_final(ctx, out, &n, 32) && n == 32;

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

int vt_seal_key_new(const vt_key_material *m, const vt_kdf_params *kp, vt_seal_key **out,
                    char *err, size_t err_len)
{
    vt_seal_key *k = vt_secure_alloc(sizeof(*k));

    *out = NULL;
    if (!k) {
        snprintf(err, err_len, "out of memory for the key");
        return -1;
    }
    k->from_passphrase = m->passphrase;
    if (m->passphrase) {
        if (!kp || scrypt(m, kp, k->master) != 0) {
            snprintf(err, err_len, "cannot derive the key from the passphrase (scrypt failed)");
            vt_secure_free(k, sizeof(*k));
            return -1;
        }
    } else {
        memcpy(k->master, m->bytes, VT_SEAL_KEY_SIZE);
    }
    /* One key per purpose, so the GCM key never meets HMAC. */
    if (vt_seal_hmac(k->master, "vitrum state encryption key", NULL, 0, k->enc) != 0 ||
        vt_seal_hmac(k->master, "vitrum state header key", NULL, 0, k->mac) != 0) {
        snprintf(err, err_len, "cannot derive keys (HMAC-SHA256 unavailable)");
        vt_secure_free(k, sizeof(*k));
        return -1;
    }
    *out = k;
    return 0;
}

void vt_seal_key_free(vt_seal_key *k)
{
    vt_secure_free(k, sizeof(*k));
}

int vt_seal_key_check(const vt_seal_key *k, const uint8_t *id, size_t id_len, uint8_t out[VT_SEAL_CHECK_SIZE])
{
    uint8_t full[32];
    if (vt_seal_hmac(k->master, "vitrum key check", id, id_len, full) != 0)
        return -1;
    memcpy(out, full, VT_SEAL_CHECK_SIZE);
    vt_seal_wipe(full, sizeof(full));
    return 0;
}

static int gcm(bool enc, const uint8_t key[VT_SEAL_KEY_SIZE], const uint8_t nonce[VT_SEAL_NONCE_SIZE],
               const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    static EVP_CIPHER *aes_gcm; /* fetched once, before any sandbox */
    EVP_CIPHER_CTX *ctx;
    int n, ok;

    if (len > INT32_MAX || aad_len > INT32_MAX)
        return -1;
    if (!aes_gcm)
        aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    ctx = aes_gcm ? EVP_CIPHER_CTX_new() : NULL;
    if (!ctx)
        return -1;
    ok = EVP_CipherInit_ex2(ctx, aes_gcm, key, nonce, enc ? 1 : 0, NULL) == 1 &&
         (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
         (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, VT_SEAL_TAG_SIZE, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, VT_SEAL_TAG_SIZE, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int vt_seal(const uint8_t key[VT_SEAL_KEY_SIZE], const uint8_t nonce[VT_SEAL_NONCE_SIZE],
            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
            uint8_t tag[VT_SEAL_TAG_SIZE])
{
    return gcm(true, key, nonce, aad, aad_len, in, len, out, tag);
}

int vt_unseal(const uint8_t key[VT_SEAL_KEY_SIZE], const uint8_t nonce[VT_SEAL_NONCE_SIZE],
              const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
              const uint8_t tag[VT_SEAL_TAG_SIZE])
{
    uint8_t t[VT_SEAL_TAG_SIZE];
    memcpy(t, tag, sizeof(t));
    if (gcm(false, key, nonce, aad, aad_len, in, len, out, t) != 0) {
        vt_seal_wipe(out, len);
        return -1;
    }
    return 0;
}
