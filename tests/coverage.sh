#!/bin/bash
# tests/coverage.sh OBJDIR SRCDIR... : line coverage per file and in total,
# from the .gcda files under OBJDIR (gcc --coverage builds).
objdir=$1; shift
total=0; covered=0
printf '%-44s %8s %8s\n' file lines covered
for dir in "$@"; do
    for src in "$dir"/*.c; do
        out=$(gcov -n -o "$objdir/$dir" "$src" 2>/dev/null | awk -v f="$src" '
            $0 ~ "^File .*" f "'"'"'$" { hit = 1; next }
            hit && /^Lines executed:/ { sub("Lines executed:", ""); sub("%", ""); print $1, $3; exit }')
        [ -n "$out" ] || { printf '%-44s %8s %8s\n' "$src" "-" "not run"; continue; }
        pct=${out% *}; n=${out#* }
        c=$(awk -v p="$pct" -v n="$n" 'BEGIN { printf "%d", p * n / 100 + 0.5 }')
        total=$((total + n)); covered=$((covered + c))
        printf '%-44s %8d %7.1f%%\n' "$src" "$n" "$pct"
    done
done
awk -v c=$covered -v t=$total 'BEGIN { printf "%-44s %8d %7.1f%%\n", "TOTAL", t, (t ? 100 * c / t : 0) }'
