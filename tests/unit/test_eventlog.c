/* The TCG PC Client crypto-agile event log writer and parser
 * (tools/eventlog.c, used by `vitrum verify`): the header event's bytes,
 * round trips, every truncation (a cut last event is dropped, a cut header
 * refused), damaged digest counts and algorithms, and appends to files. */
#define _GNU_SOURCE
#include "helpers.h"
#include "../../tools/eventlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const vt_evlog_spec two = { 2, { { 0x0004, 20 }, { 0x000B, 32 } } };

static size_t make_log(uint8_t *buf, size_t cap, size_t nevents, size_t *ends)
{
    uint8_t d1[20], d2[32];
    const uint8_t *d[2] = { d1, d2 };
    size_t n = vt_evlog_header(&two, buf, cap), i;

    assert_true(n > 0);
    for (i = 0; i < nevents; i++) {
        char text[32];
        size_t m;
        memset(d1, (int)i + 1, sizeof(d1));
        memset(d2, (int)i + 0x41, sizeof(d2));
        snprintf(text, sizeof(text), "event %zu", i);
        m = vt_evlog_event2(&two, 9, VT_EV_IPL, d, text, (uint32_t)strlen(text), buf + n, cap - n);
        assert_true(m > 0);
        n += m;
        if (ends)
            ends[i] = n;
    }
    return n;
}

static void header_bytes(void **state)
{
    uint8_t buf[256];
    size_t n = vt_evlog_header(&two, buf, sizeof(buf));
    (void)state;
    /* PFP §10.2.1: 4 + 4 + 20 + 4 + 37 (signature 16, class 4, versions 4,
     * count 4, 2 x 4 algorithm sizes, vendorInfoSize 1) */
    assert_int_equal(n, 32 + 37);
    assert_int_equal(buf[4], 3); /* EV_NO_ACTION */
    assert_int_equal(buf[28], 37);
    assert_memory_equal(buf + 32, "Spec ID Event03\0", 16);
    assert_int_equal(buf[32 + 21], 2); /* specVersionMajor */
    assert_int_equal(buf[32 + 23], 2); /* uintnSize: 64 bits */
    assert_int_equal(buf[32 + 24], 2); /* two algorithms */
    assert_int_equal(buf[32 + 28], 0x04); /* SHA-1, little-endian */
    assert_int_equal(buf[32 + 30], 20);
    assert_int_equal(buf[32 + 32], 0x0B); /* SHA-256 */
    assert_int_equal(buf[32 + 34], 32);
    assert_int_equal(vt_evlog_header(&two, buf, n - 1), 0); /* too small */
}

static void round_trip_and_truncations(void **state)
{
    static uint8_t buf[4096];
    size_t ends[3], n = make_log(buf, sizeof(buf), 3, ends), cut, whole, nev;
    size_t hdr = 32 + 37;
    vt_evlog_spec got;
    char err[256];
    (void)state;

    assert_int_equal(vt_evlog_parse(buf, n, &got, &whole, &nev, err, sizeof(err)), 0);
    assert_int_equal(whole, n);
    assert_int_equal(nev, 3);
    assert_int_equal(got.nalgs, 2);
    assert_int_equal(got.algs[1].alg, 0x000B);
    for (cut = 0; cut < n; cut++) {
        int rc = vt_evlog_parse(buf, cut, &got, &whole, &nev, err, sizeof(err));
        if (cut < hdr) {
            assert_int_equal(rc, -1); /* no whole header: not a log */
            continue;
        }
        assert_int_equal(rc, 0);
        /* every whole event is kept, the cut one is not */
        size_t want = hdr, k = 0;
        while (k < 3 && ends[k] <= cut)
            want = ends[k++];
        assert_int_equal(whole, want);
        assert_int_equal(nev, k);
    }
}

static void damage(void **state)
{
    static uint8_t buf[4096], bad[4096];
    size_t n = make_log(buf, sizeof(buf), 2, NULL), whole, nev, hdr = 32 + 37;
    vt_evlog_spec got;
    char err[256];
    (void)state;

    memcpy(bad, buf, n);
    bad[hdr + 8] = 3; /* digest count 3 where the header says 2 */
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[hdr + 12] = 0x0C; /* first digest SHA-384 instead of SHA-1 */
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[32] = 'X'; /* signature */
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[4] = 1; /* first event not EV_NO_ACTION */
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[32 + 24] = 9; /* more algorithms than the event holds */
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[32 + 30] = 0; /* digest size 0 */
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
    /* an event data size larger than the limit is damage, not a cut */
    memcpy(bad, buf, n);
    {
        size_t sz = hdr + 12 + 22 + 34;
        bad[sz] = 0xff, bad[sz + 1] = 0xff, bad[sz + 2] = 0xff, bad[sz + 3] = 0x7f;
    }
    assert_int_equal(vt_evlog_parse(bad, n, &got, &whole, &nev, err, sizeof(err)), -1);
}

static void file_appends(void **state)
{
    char dir[] = "/tmp/vt-evlog-XXXXXX", path[64];
    uint8_t d1[20] = { 1 }, d2[32] = { 2 };
    const uint8_t *d[2] = { d1, d2 };
    static const vt_evlog_spec other = { 1, { { 0x000C, 48 } } };
    static uint8_t buf[4096];
    vt_evlog_file f;
    vt_evlog_spec got;
    char err[256];
    size_t whole, nev;
    FILE *fp;
    long len;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    /* opened and closed without an event: no file is left */
    assert_int_equal(vt_evlog_open(&f, path, &two, err, sizeof(err)), 0);
    vt_evlog_close(&f);
    assert_int_equal(access(path, F_OK), -1);
    /* two appends */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vt_evlog_open(&f, path, &two, err, sizeof(err)), 0);
        assert_int_equal(vt_evlog_write(&f, &two, 9, VT_EV_IPL, d, "x", 1, err, sizeof(err)), 0);
        assert_int_equal(f.nevents, (size_t)i + 1);
        vt_evlog_close(&f);
    }
    fp = fopen(path, "rb");
    assert_non_null(fp);
    len = (long)fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    assert_int_equal(vt_evlog_parse(buf, (size_t)len, &got, &whole, &nev, err, sizeof(err)), 0);
    assert_int_equal(nev, 2);
    assert_int_equal(whole, (size_t)len);
    /* a log for other banks is refused and left alone */
    assert_int_equal(vt_evlog_open(&f, path, &other, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "other PCR banks"));
    /* a cut last event is dropped by the next append */
    assert_int_equal(truncate(path, len - 5), 0);
    assert_int_equal(vt_evlog_open(&f, path, &two, err, sizeof(err)), 0);
    assert_int_equal(f.nevents, 1);
    assert_int_equal(vt_evlog_write(&f, &two, 9, VT_EV_IPL, d, "yz", 2, err, sizeof(err)), 0);
    vt_evlog_close(&f);
    fp = fopen(path, "rb");
    len = (long)fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    assert_int_equal(vt_evlog_parse(buf, (size_t)len, &got, &whole, &nev, err, sizeof(err)), 0);
    assert_int_equal(nev, 2);
    assert_int_equal(whole, (size_t)len);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_bytes),
        cmocka_unit_test(round_trip_and_truncations),
        cmocka_unit_test(damage),
        cmocka_unit_test(file_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
