/* The durability floor: one small pwrite + fdatasync of a file in DIR, the
 * least any server that makes each acknowledged change durable must pay.
 *   fsync_floor DIR COUNT  ->  one key=value line like bench's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char path[4096], buf[64] = { 1 };
    long count, i;
    uint64_t *lat, t0, t1;
    int fd;

    if (argc != 3 || (count = atol(argv[2])) < 1) {
        fprintf(stderr, "usage: fsync_floor DIR COUNT\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/fsync-floor", argv[1]);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    lat = calloc((size_t)count, sizeof(*lat));
    if (fd < 0 || !lat || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || fsync(fd) != 0) {
        perror("fsync_floor");
        return 1;
    }
    t0 = now_ns();
    for (i = 0; i < count; i++) {
        uint64_t a = now_ns();
        buf[0] = (char)i;
        if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || fdatasync(fd) != 0) {
            perror("fsync_floor");
            return 1;
        }
        lat[i] = now_ns() - a;
    }
    t1 = now_ns();
    qsort(lat, (size_t)count, sizeof(*lat), cmp);
    printf("label=fsync op=fsync count=%ld ops_s=%.1f median_us=%.2f p99_us=%.2f\n", count,
           (double)count * 1e9 / (double)(t1 - t0), (double)lat[count / 2] / 1000.0,
           (double)lat[(size_t)((double)count * 0.99)] / 1000.0);
    close(fd);
    unlink(path);
    free(lat);
    return 0;
}
