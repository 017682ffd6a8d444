/* vt_ct_equal must read every byte whatever the first difference: a
 * comparison that stops early leaks, through timing, how much of a guessed
 * authValue or HMAC was right.  The test puts the end of the compared range
 * on a page that cannot be read: a constant-time comparison faults there even
 * when the very first byte differs; a short-circuiting one returns early. */
#define _GNU_SOURCE
#include "helpers.h"
#include "crypto/vt_crypto.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jump;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(jump, 1);
}

/* Does vt_ct_equal(a, b, n) touch the byte just past a's readable page? */
static bool reads_to_the_end(size_t n, size_t first_difference)
{
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t b[256];
    struct sigaction sa, old;
    volatile bool faulted = false;
    uint8_t *a;

    assert_true(m != MAP_FAILED);
    assert_true(n <= sizeof(b));
    /* a's last byte is the first byte of the guard page */
    a = m + page - (n - 1);
    memset(a, 0x11, n - 1);
    memset(b, 0x11, n);
    b[first_difference] ^= 0xFF;
    assert_int_equal(mprotect(m + page, (size_t)page, PROT_NONE), 0);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, &old);
    if (sigsetjmp(jump, 1) == 0)
        (void)vt_ct_equal(a, b, n);
    else
        faulted = true;
    sigaction(SIGSEGV, &old, NULL);
    munmap(m, (size_t)page * 2);
    return faulted;
}

static void does_not_stop_at_the_first_difference(void **state)
{
    (void)state;
    assert_true(reads_to_the_end(32, 0));
    assert_true(reads_to_the_end(64, 0));
    assert_true(reads_to_the_end(64, 31));
    assert_true(reads_to_the_end(20, 1));
}

static void answers_correctly(void **state)
{
    uint8_t x[64], y[64];
    (void)state;
    memset(x, 7, sizeof(x));
    memset(y, 7, sizeof(y));
    assert_true(vt_ct_equal(x, y, 64));
    y[63] = 8;
    assert_false(vt_ct_equal(x, y, 64));
    assert_true(vt_ct_equal(x, y, 63));
    assert_true(vt_ct_equal(x, y, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(does_not_stop_at_the_first_difference),
        cmocka_unit_test(answers_correctly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
