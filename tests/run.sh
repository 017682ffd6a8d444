#!/bin/bash
# Run every test: cmocka unit tests and the integration scripts.  Each
# prints TAP lines ("ok N - name" / "not ok N - name"); this counts them and
# ends with "N passed, N failed".  Exit status is non-zero on any failure.
#   tests/run.sh [FILTER]   run only tests whose name (as printed, e.g.
#                           unit/test_dispatch, integration/test_pcr,
#                           asan/..., fuzz/smoke) contains FILTER
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FILTER=${1:-}
export CMOCKA_MESSAGE_OUTPUT=TAP
passed=0
failed=0
failed_names=()
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

RUN_ENV=()
run_one() {
    local name=$1; shift
    case "$name" in *"$FILTER"*) ;; *) return 0 ;; esac
    local log="$log_dir/$(basename "$name").log"
    local start=$SECONDS
    env "${RUN_ENV[@]}" timeout "${VT_TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
    local status=$?
    local p f
    p=$(grep -cE '^ok [0-9]+' "$log")
    # TAP: "not ok N # SKIP reason" is a skipped test, not a failure
    f=$(grep -E '^not ok [0-9]+' "$log" | grep -cv '# SKIP')
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        # the program failed without saying which test: count it as one
        f=1
        echo "not ok - $name exited with status $status" >>"$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    printf '%-44s %4d passed %3d failed  (%ds)\n' "$name" "$p" "$f" $((SECONDS - start))
    if [ "$f" -ne 0 ]; then
        failed_names+=("$name")
        grep -E '^not ok|^# ' "$log" | head -40 | sed 's/^/    /'
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/test_*.sh; do
    [ -x "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" "$t"
done

# The same unit and integration tests again against the ASan + UBSan build
# (make check builds it; VT_ASAN_BUILD names its directory).  Any sanitizer
# report fails the run.
if [ -n "${VT_ASAN_BUILD:-}" ] && [ -x "$VT_ASAN_BUILD/vitrum" ]; then
    reports=$(cd "$VT_ASAN_BUILD" && pwd)/reports
    rm -rf "$reports"
    mkdir -p "$reports"
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1:log_path=$reports/asan:log_exe_name=1"
    export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:log_exe_name=1"
    for t in "$VT_ASAN_BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
            run_one "asan/unit/$(basename "$t")" "$t"
    done
    for t in tests/integration/test_*.sh; do
        [ -x "$t" ] || continue
            RUN_ENV=("VITRUM_BIN=$(cd "$VT_ASAN_BUILD" && pwd)/vitrum")
        run_one "asan/integration/$(basename "$t" .sh)" "$t"
        RUN_ENV=()
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS
    if [ -n "$(ls -A "$reports" 2>/dev/null)" ]; then
        failed=$((failed + 1))
        failed_names+=("sanitizer-reports")
        echo "not ok - sanitizer reports in $reports:"
        for r in "$reports"/*; do sed -n '1,40p' "$r" | sed 's/^/    # /'; done
    else
        passed=$((passed + 1))
        echo "ok - no sanitizer reports"
    fi
fi

for t in tests/lint.sh tests/fuzz/smoke.sh; do
    [ -x "$t" ] || continue
    run_one "$(basename "$(dirname "$t")")/$(basename "$t" .sh)" "$t"
done

if [ ${#failed_names[@]} -ne 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
