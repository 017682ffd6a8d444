/* A main() for the fuzz targets without libFuzzer: runs every file named
 * (or found in a named directory) through LLVMFuzzerTestOneInput once.
 * Used to measure the coverage the corpus reaches with gcc --coverage. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static long run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    fclose(f);
    return 1;
}

int main(int argc, char **argv)
{
    long count = 0;
    int i;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            char path[4096];
            while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                count += run_file(path);
            }
            if (d)
                closedir(d);
        } else {
            count += run_file(argv[i]);
        }
    }
    fprintf(stderr, "replayed %ld inputs\n", count);
    return 0;
}
