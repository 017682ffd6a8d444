/* The state directory: A/B slots survive a torn write, damage in both
 * slots is refused, and the lock keeps a second user out. */
#define _GNU_SOURCE
#include "helpers.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(newest_valid_slot_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(both_slots_damaged_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(unexplainable_damage_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(second_user_is_locked_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
