#!/bin/bash
# Run every test: cmocka unit tests and the integration scripts.  Each
# prints TAP lines ("ok N - name" / "not ok N - name"); this counts them and
# ends with "N passed, N failed".  Exit status is non-zero on any failure.
#   tests/run.sh [FILTER]   run only tests whose file name contains FILTER
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

run_one() {
    local name=$1; shift
    local log="$log_dir/$(basename "$name").log"
    local start=$SECONDS
    timeout 600 "$@" >"$log" 2>&1
    local status=$?
    local p f
    p=$(grep -cE '^ok [0-9]+' "$log")
    f=$(grep -cE '^not ok [0-9]+' "$log")
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
    case "$t" in *"$FILTER"*) ;; *) continue ;; esac
    run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/test_*.sh; do
    [ -x "$t" ] || continue
    case "$t" in *"$FILTER"*) ;; *) continue ;; esac
    run_one "integration/$(basename "$t" .sh)" "$t"
done

for t in tests/lint.sh tests/fuzz/smoke.sh; do
    [ -x "$t" ] || continue
    case "$t" in *"$FILTER"*) ;; *) continue ;; esac
    run_one "$(basename "$(dirname "$t")")/$(basename "$t" .sh)" "$t"
done

if [ ${#failed_names[@]} -ne 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
