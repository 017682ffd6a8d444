#!/bin/bash
# Fuzz smoke test for `make check`: builds the libFuzzer targets, replays the
# committed corpus and every regression input, then fuzzes each target for
# FUZZ_SMOKE_SECONDS (default 20).  Prints TAP: two lines per target
#   ok N - fuzz_engine: corpus + regressions replay (K inputs)
#   ok N - fuzz_engine: 20 s of fuzzing (E execs, cov C)
# and "# " lines with the sanitizer report when one fails.  New inputs and
# crash artifacts go under $BUILD/fuzz/smoke/, never into tests/fuzz/.
#
# Environment: BUILD (build), FUZZ_CC (clang), FUZZ_SMOKE_SECONDS (20),
# FUZZ_TARGETS ("fuzz_engine fuzz_mssim fuzz_state fuzz_tlog"), FUZZ_UBSAN_SUPP
# (a UBSan suppressions file; empty by default), MAKE (make).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_CC=${FUZZ_CC:-clang}
SECS=${FUZZ_SMOKE_SECONDS:-20}
TARGETS=${FUZZ_TARGETS:-fuzz_engine fuzz_mssim fuzz_state fuzz_tlog}
MAKE=${MAKE:-make}
OUT="$BUILD/fuzz/smoke"
N=0
FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
comment() { sed -e 's/^/# /' | head -n "${1:-40}"; }
all_not_ok() { # reason
    local t
    for t in $TARGETS; do
        not_ok "$t: corpus + regressions replay # $1"
        not_ok "$t: $SECS s of fuzzing # $1"
    done
    echo "1..$N"
    exit 1
}
# The interesting part of a libFuzzer log: the report, not the banner.
report() {
    grep -E 'runtime error|ERROR:|SUMMARY|invariant violated|^    #[0-9]+ .* in |Test unit written|artifact_prefix|Running: ' "$1" |
        grep -vE 'in (fuzzer::|__sanitizer|__asan|__ubsan|abort|raise|__libc|_start|main )' | comment 40
}

mkdir -p "$OUT"
if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
    all_not_ok "$FUZZ_CC not found (apt-get install clang libclang-rt-14-dev)"
fi
probe="$OUT/probe"
if ! printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' |
    "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -x c -o "$probe" - >"$OUT/probe.log" 2>&1; then
    comment 10 <"$OUT/probe.log"
    all_not_ok "$FUZZ_CC cannot link -fsanitize=fuzzer (libclang-rt-*-dev missing?)"
fi

if ! $MAKE -s BUILD="$BUILD" FUZZ_CC="$FUZZ_CC" FUZZ_TARGETS="$TARGETS" fuzz-build >"$OUT/build.log" 2>&1; then
    grep -E 'error|Error' "$OUT/build.log" | comment 30
    all_not_ok "build of the fuzz targets failed"
fi

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1${FUZZ_UBSAN_SUPP:+:suppressions=$(realpath "$FUZZ_UBSAN_SUPP")}"

for t in $TARGETS; do
    bin="$BUILD/fuzz/$t"
    corpus="tests/fuzz/corpus/$t"
    regr="tests/fuzz/regressions/$t"
    mkdir -p "$OUT/$t.art"
    dirs=()
    count=0
    for d in "$corpus" "$regr"; do
        if [ -d "$d" ]; then
            dirs+=("$d")
            count=$((count + $(find "$d" -type f | wc -l)))
        fi
    done

    # 1. replay: every committed input once, each in its own process
    # invocation batch (libFuzzer stops at the first crash and names it).
    log="$OUT/$t.replay.log"
    files=()
    for d in "${dirs[@]}"; do
        while IFS= read -r f; do files+=("$f"); done < <(find "$d" -type f | sort)
    done
    if [ ${#files[@]} -eq 0 ]; then
        not_ok "$t: corpus + regressions replay # no inputs in $corpus"
    elif timeout 300 "$bin" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$OUT/$t.art/" \
        "${files[@]}" >"$log" 2>&1; then
        ok "$t: corpus + regressions replay ($count inputs)"
    else
        not_ok "$t: corpus + regressions replay ($count inputs)"
        report "$log"
        # name the failing input: the last "Running:" line before the report
        grep -E '^Running: ' "$log" | tail -1 | comment 1
    fi

    # 2. a short fuzzing run from the committed corpus; new units go to a
    # scratch directory (libFuzzer writes only to the first directory).
    log="$OUT/$t.fuzz.log"
    work="$OUT/$t.work"
    rm -rf "$work"
    mkdir -p "$work"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    if timeout $((SECS + 120)) "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}" -artifact_prefix="$OUT/$t.art/" "$work" "${dirs[@]}" \
        >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
        ok "$t: $SECS s of fuzzing (${execs:-?} execs, cov ${cov:-?})"
    else
        not_ok "$t: $SECS s of fuzzing"
        report "$log"
        ls "$OUT/$t.art/" 2>/dev/null | sed "s|^|crash input: $OUT/$t.art/|" | comment 5
    fi
done
echo "1..$N"
[ "$FAILED" -eq 0 ]
