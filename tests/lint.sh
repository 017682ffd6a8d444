#!/bin/bash
# Static checks as TAP: cppcheck finds nothing, and clang builds the tree
# with -Wall -Wextra -Werror as gcc does.
cd "$(dirname "$0")/.."
n=0
fail=0
tap() { n=$((n + 1)); if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

if command -v cppcheck >/dev/null; then
    out=$(cppcheck --quiet --enable=warning,style,performance,portability --std=c11 \
        -Iinclude -Isrc --suppress=missingIncludeSystem --error-exitcode=1 src tools 2>&1)
    if [ $? -eq 0 ] && [ -z "$out" ]; then tap ok "cppcheck clean"; else tap bad "cppcheck clean"; echo "$out" | sed 's/^/# /'; fi
else
    echo "ok $((n += 1)) - cppcheck clean # SKIP cppcheck not installed"
fi

if command -v clang >/dev/null; then
    out=$(make -s BUILD=build/clang CC=clang build/clang/vitrum 2>&1)
    if [ $? -eq 0 ]; then tap ok "clang -Werror build"; else tap bad "clang -Werror build"; echo "$out" | sed 's/^/# /'; fi
else
    echo "ok $((n += 1)) - clang -Werror build # SKIP clang not installed"
fi
echo "1..$n"
exit $fail
