#define _GNU_SOURCE
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_FILE "tpm-state"
#define STATE_TMP "tpm-state.tmp"
#define LOCK_FILE "lock"

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

int vt_store_open(vt_store *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    s->dir_fd = s->lock_fd = -1;
    if (strlen(dir) >= sizeof(s->dir)) {
        snprintf(s->err, sizeof(s->err), "state directory path too long");
        return -1;
    }
    strcpy(s->dir, dir);
    if (mkdir_p(dir) != 0) {
        snprintf(s->err, sizeof(s->err), "cannot create state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        snprintf(s->err, sizeof(s->err), "cannot open state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    s->lock_fd = openat(s->dir_fd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(s->err, sizeof(s->err), "cannot write in state directory %s: %s", dir, strerror(errno));
        vt_store_close(s);
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(s->err, sizeof(s->err), "state directory %s is in use by another vitrum", dir);
        vt_store_close(s);
        return -1;
    }
    return 0;
}

void vt_store_close(vt_store *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    s->lock_fd = s->dir_fd = -1;
}

long vt_store_load(vt_store *s, uint8_t *buf, size_t cap)
{
    int fd = openat(s->dir_fd, STATE_FILE, O_RDONLY | O_CLOEXEC);
    size_t total = 0;
    struct stat st;

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(s->err, sizeof(s->err), "cannot open %s/%s: %s", s->dir, STATE_FILE, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || (size_t)st.st_size > cap || st.st_size == 0) {
        snprintf(s->err, sizeof(s->err), "%s/%s has an impossible size", s->dir, STATE_FILE);
        close(fd);
        return -1;
    }
    while (total < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + total, (size_t)st.st_size - total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(s->err, sizeof(s->err), "cannot read %s/%s", s->dir, STATE_FILE);
            close(fd);
            return -1;
        }
        total += (size_t)n;
    }
    close(fd);
    return (long)total;
}

int vt_store_commit(vt_store *s, const uint8_t *blob, size_t len)
{
    int fd = openat(s->dir_fd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t done = 0;

    if (fd < 0)
        goto fail;
    while (done < len) {
        ssize_t n = write(fd, blob + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            goto fail;
        }
        done += (size_t)n;
    }
    /* Data first, then the name: rename is atomic, the directory fsync
     * makes the new name durable. */
    if (fdatasync(fd) != 0) {
        close(fd);
        goto fail;
    }
    close(fd);
    if (renameat(s->dir_fd, STATE_TMP, s->dir_fd, STATE_FILE) != 0)
        goto fail;
    if (fsync(s->dir_fd) != 0)
        goto fail;
    return 0;
fail:
    snprintf(s->err, sizeof(s->err), "cannot write state in %s: %s", s->dir, strerror(errno));
    return -1;
}
