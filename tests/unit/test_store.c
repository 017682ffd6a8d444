/* The state directory: A/B slots survive a torn write, damage in both
 * slots is refused, and the lock keeps a second user out. */
#define _GNU_SOURCE
#include "helpers.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vt-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void flip_byte(const char *name, long off)
{
    char path[300];
    uint8_t b;
    int fd;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void newest_valid_slot_wins(void **state)
{
    vt_store s;
    uint8_t buf[64];
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 0); /* new */
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"first", 5), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"second", 6), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"third!", 6), 0);
    vt_store_close(&s);

    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "third!", 6);
    vt_store_close(&s);

    /* a torn write of the newest slot's payload (the first commit fills
     * both slots, so "third!" is in state.1) falls back to the previous
     * state, never a mix, and says so */
    flip_byte("state.1", 74);
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "second", 6);
    assert_non_null(strstr(s.warn, "state.1"));
    /* and the next commit goes over the damaged slot */
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"fourth", 6), 0);
    vt_store_close(&s);
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "fourth", 6);
    vt_store_close(&s);
}

static void both_slots_damaged_is_refused(void **state)
{
    vt_store s;
    uint8_t buf[64];
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"one", 3), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"two", 3), 0);
    vt_store_close(&s);
    flip_byte("state.0", 73);
    flip_byte("state.1", 73);
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), -1);
    assert_non_null(strstr(s.err, "no valid state"));
    vt_store_close(&s);
}

/* Damage a crash cannot explain is refused even when the other slot is
 * fine: a modified header, an older slot put back. */
static void unexplainable_damage_is_refused(void **state)
{
    vt_store s;
    uint8_t buf[64];
    char cmd[700];
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"one", 3), 0);
    vt_store_close(&s);
    snprintf(cmd, sizeof(cmd), "cp %s/state.0 %s/old.0", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 3);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"two", 3), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"six", 3), 0);
    vt_store_close(&s);

    flip_byte("state.0", 30); /* the sequence number */
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), -1);
    assert_non_null(strstr(s.err, "modified"));
    vt_store_close(&s);
    flip_byte("state.0", 30);

    snprintf(cmd, sizeof(cmd), "cp %s/old.0 %s/state.0", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), -1);
    assert_non_null(strstr(s.err, "replay"));
    vt_store_close(&s);
}

static void second_user_is_locked_out(void **state)
{
    vt_store a, b;
    (void)state;
    assert_int_equal(vt_store_open(&a, dir), 0);
    assert_int_equal(vt_store_open(&b, dir), -1);
    assert_non_null(strstr(b.err, "in use"));
    vt_store_close(&a);
    assert_int_equal(vt_store_open(&b, dir), 0);
    vt_store_close(&b);
}

/* ---- the journal ---- */

typedef struct {
    int n;
    char seen[8][16];
} replayed;

static int collect(void *ctx, const uint8_t *rec, size_t len)
{
    replayed *r = ctx;
    if (r->n == 8 || len >= 16)
        return -1;
    memcpy(r->seen[r->n], rec, len);
    r->seen[r->n][len] = 0;
    r->n++;
    return 0;
}

static long reopen_and_replay(vt_store *s, replayed *r)
{
    uint8_t buf[64];
    memset(r, 0, sizeof(*r));
    assert_int_equal(vt_store_open(s, dir), 0);
    assert_true(vt_store_load(s, buf, sizeof(buf)) > 0);
    return vt_store_replay(s, collect, r);
}

static void journal_records_follow_the_newest_slot(void **state)
{
    vt_store s;
    replayed r;
    uint8_t buf[64];
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"x", 1), -1); /* nothing to follow */
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base", 4), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"one", 3), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"two", 3), 0);
    vt_store_close(&s);

    assert_int_equal(reopen_and_replay(&s, &r), 2);
    assert_string_equal(r.seen[0], "one");
    assert_string_equal(r.seen[1], "two");
    /* appending after a replay continues the sequence */
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"three", 5), 0);
    vt_store_close(&s);
    assert_int_equal(reopen_and_replay(&s, &r), 3);
    /* a snapshot empties the journal */
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base2", 5), 0);
    vt_store_close(&s);
    assert_int_equal(reopen_and_replay(&s, &r), 0);
    vt_store_close(&s);
}

static long file_size(const char *name)
{
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

static void torn_last_record_is_dropped_damage_before_is_refused(void **state)
{
    vt_store s;
    replayed r;
    long one;
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base", 4), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"one", 3), 0);
    one = (long)s.journal_end;
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"two", 3), 0);
    vt_store_close(&s);
    /* the journal is preallocated: appends never change its size */
    assert_int_equal(file_size("journal"), 64 << 10);

    /* a crash in the middle of appending "two" (never acknowledged):
     * its bytes are wrong and nothing follows it */
    flip_byte("journal", one + 53);
    assert_int_equal(reopen_and_replay(&s, &r), 1);
    assert_string_equal(r.seen[0], "one");
    /* the next append goes over the torn record */
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"two'", 4), 0);
    vt_store_close(&s);
    assert_int_equal(reopen_and_replay(&s, &r), 2);
    assert_string_equal(r.seen[1], "two'");
    vt_store_close(&s);

    /* a flipped byte in the first record, with a good record after it: no
     * crash explains that */
    flip_byte("journal", 53);
    assert_int_equal(reopen_and_replay(&s, &r), -1);
    assert_non_null(strstr(s.err, "damaged"));
    vt_store_close(&s);
}

/* A snapshot writes nothing to the journal: the records left there name
 * the slot before it, so they are skipped, new records go over them, and
 * if the snapshot itself is torn the loader falls back to the previous
 * slot and still finds every record that followed it. */
static void snapshot_leaves_old_records_behind(void **state)
{
    vt_store s;
    replayed r;
    long end;
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base", 4), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"long-one", 8), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"long-two", 8), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"long-three", 10), 0);
    end = (long)s.journal_end;
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"snap", 4), 0);
    assert_int_equal((long)s.journal_end, 0);
    vt_store_close(&s);
    /* the old records are still in the file, and not replayed */
    assert_int_equal(reopen_and_replay(&s, &r), 0);
    assert_int_equal((long)s.journal_end, 0);
    /* a shorter record goes over them; what follows it is not replayed */
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"new", 3), 0);
    assert_true((long)s.journal_end < end);
    vt_store_close(&s);
    assert_int_equal(reopen_and_replay(&s, &r), 1);
    assert_string_equal(r.seen[0], "new");
    vt_store_close(&s);
    /* a new record torn over the old ones (a crash while appending it) is
     * dropped, not mistaken for damage */
    flip_byte("journal", 60);
    assert_int_equal(reopen_and_replay(&s, &r), 0);
    vt_store_close(&s);
}

static void torn_snapshot_falls_back_with_its_records(void **state)
{
    vt_store s;
    replayed r;
    uint8_t buf[64];
    (void)state;
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base", 4), 0); /* both slots */
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base2", 5), 0); /* state.0, seq 3 */
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"one", 3), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"two", 3), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"snap!", 5), 0); /* state.1, seq 4 */
    vt_store_close(&s);
    /* the snapshot's payload cut short by a crash: state.0 and its records */
    flip_byte("state.1", 74);
    memset(&r, 0, sizeof(r));
    assert_int_equal(vt_store_open(&s, dir), 0);
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "base2", 5);
    assert_non_null(strstr(s.warn, "state.1"));
    assert_int_equal(vt_store_replay(&s, collect, &r), 2);
    assert_string_equal(r.seen[0], "one");
    assert_string_equal(r.seen[1], "two");
    vt_store_close(&s);
}

static char *read_file(const char *name, long *len)
{
    char path[300];
    FILE *f;
    char *buf;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    *len = file_size(name);
    f = fopen(path, "rb");
    assert_non_null(f);
    buf = malloc((size_t)*len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return buf;
}

static void open_with_key(vt_store *s, char hexdigit)
{
    char hex[65];
    memset(hex, hexdigit, 64);
    hex[64] = 0;
    assert_int_equal(setenv("VT_TEST_STORE_KEY", hex, 1), 0);
    assert_int_equal(vt_store_open(s, dir), 0);
    assert_int_equal(vt_store_set_key(s, "env:VT_TEST_STORE_KEY"), 0);
}

/* Tampering with a sealed journal: a flipped bit in a record that has a
 * record after it, or a record moved out of order, is refused and the
 * files are left as they were; a wrong key opens nothing. */
static void sealed_journal_tampering_is_refused(void **state)
{
    vt_store s;
    replayed r;
    uint8_t buf[64];
    long one, len0, len1, lenj0, lenj1;
    char *s0, *s1, *j0, *j1, *j2;
    (void)state;
    open_with_key(&s, 'a');
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 0);
    assert_int_equal(vt_store_commit(&s, (const uint8_t *)"base", 4), 0);
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"one", 3), 0);
    one = (long)s.journal_end;
    assert_int_equal(vt_store_append(&s, (const uint8_t *)"two", 3), 0);
    vt_store_close(&s);

    open_with_key(&s, 'a');
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 4);
    memset(&r, 0, sizeof(r));
    assert_int_equal(vt_store_replay(&s, collect, &r), 2);
    assert_string_equal(r.seen[1], "two");
    vt_store_close(&s);

    s0 = read_file("state.0", &len0);
    s1 = read_file("state.1", &len1);
    j0 = read_file("journal", &lenj0);
    /* a bit flipped in record 1's ciphertext */
    flip_byte("journal", 52);
    j1 = read_file("journal", &lenj1);
    open_with_key(&s, 'a');
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 4);
    memset(&r, 0, sizeof(r));
    assert_int_equal(vt_store_replay(&s, collect, &r), -1);
    assert_non_null(strstr(s.err, "authentication"));
    vt_store_close(&s);
    j2 = read_file("journal", &lenj1);
    assert_memory_equal(j1, j2, (size_t)lenj0); /* left as it was */
    free(j1);
    free(j2);
    flip_byte("journal", 52);

    /* record 2's header renumbered (its tag covers the header) */
    flip_byte("journal", one + 35);
    open_with_key(&s, 'a');
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), 4);
    memset(&r, 0, sizeof(r));
    assert_int_equal(vt_store_replay(&s, collect, &r), -1);
    assert_non_null(strstr(s.err, "out of order"));
    vt_store_close(&s);
    flip_byte("journal", one + 35);

    /* a wrong key: refused before the journal is read */
    open_with_key(&s, 'b');
    assert_int_equal(vt_store_load(&s, buf, sizeof(buf)), -1);
    assert_non_null(strstr(s.err, "wrong key"));
    vt_store_close(&s);
    {
        long l;
        char *a = read_file("state.0", &l), *b = read_file("state.1", &l), *j = read_file("journal", &l);
        assert_memory_equal(a, s0, (size_t)len0);
        assert_memory_equal(b, s1, (size_t)len1);
        assert_memory_equal(j, j0, (size_t)lenj0);
        free(a);
        free(b);
        free(j);
    }
    free(s0);
    free(s1);
    free(j0);
    unsetenv("VT_TEST_STORE_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(newest_valid_slot_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(both_slots_damaged_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(unexplainable_damage_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(second_user_is_locked_out, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_records_follow_the_newest_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_last_record_is_dropped_damage_before_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_leaves_old_records_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_snapshot_falls_back_with_its_records, setup, teardown),
        cmocka_unit_test_setup_teardown(sealed_journal_tampering_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
