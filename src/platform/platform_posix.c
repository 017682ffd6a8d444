#define _GNU_SOURCE
#include "platform/platform_posix.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

int vt_posix_entropy(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
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

uint64_t vt_posix_monotonic_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long posix_state_load(void *ctx, uint8_t *buf, size_t cap)
{
    return vt_store_load((vt_store *)ctx, buf, cap);
}

static int posix_state_commit(void *ctx, const uint8_t *blob, size_t len)
{
    return vt_store_commit((vt_store *)ctx, blob, len);
}

static int posix_state_append(void *ctx, const uint8_t *rec, size_t len)
{
    return vt_store_append((vt_store *)ctx, rec, len);
}

static long posix_state_replay(void *ctx, int (*apply)(void *actx, const uint8_t *rec, size_t len), void *actx)
{
    return vt_store_replay((vt_store *)ctx, apply, actx);
}

void vt_platform_posix(vt_platform *p, vt_store *store)
{
    p->ctx = store;
    p->entropy = vt_posix_entropy;
    p->monotonic_ms = vt_posix_monotonic_ms;
    p->state_load = posix_state_load;
    p->state_commit = posix_state_commit;
    p->state_append = posix_state_append;
    p->state_replay = posix_state_replay;
}
