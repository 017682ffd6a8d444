#!/bin/bash
# The man pages (man/*.scd, turned into roff by scdoc at build time): each
# renders with groff -ww (all warnings) and man -l without a warning, and
# says what the program really does: every long option the --help of its
# command lists appears in its page.
. "$(dirname "$0")/lib.sh"

# Packaging does not depend on the binary under test: once per run, not
# again in the ASan pass of tests/run.sh.
if [ -n "${VT_ASAN_BUILD:-}" ] && [ "$VITRUM_BIN" -ef "$VT_ASAN_BUILD/vitrum" ]; then
	vt_skip "$(basename "$0" .sh)" "runs once, with the plain build"
	vt_done
fi

BUILD=${BUILD:-build}
MANDIR="$VT_ROOT/$BUILD/man"
if ! command -v scdoc >/dev/null; then
	vt_not_ok "scdoc is installed" "apt-get install scdoc (scripts/bootstrap.sh build)"
	vt_done
fi
vt__mktmp
if ! make -C "$VT_ROOT" --no-print-directory -s BUILD="$BUILD" man >"$VT_TMP/make.out" 2>&1; then
	vt_not_ok "make man" "$(head -5 "$VT_TMP/make.out")"
	vt_done
fi
vt_ok "make man"

expected="vitrum.1 vitrum-serve.8 vitrum-state.1 vitrum-manufacture.8 vitrum.conf.5 vitrum-status.1
	vitrum-swtpm.8 vitrum-release.1 vitrum-log.1 vitrum-witness.1 vitrum-owner.1
	vitrum-update.1 vitrum-verify.1"
for p in $expected; do
	vt_check_true "man page $p is built" [ -s "$MANDIR/$p" ]
done
for src in "$VT_ROOT"/man/*.scd; do
	p=$(basename "$src" .scd)
	page="$MANDIR/$p"
	err=$(groff -ww -man -Tutf8 "$page" 2>&1 >/dev/null)
	vt_check_true "groff -ww -man renders $p without a warning" [ -z "$err" ] || vt_note "$err"
	err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	vt_check_true "man -l renders $p without a warning" [ -z "$err" ] || vt_note "$err"
	vt_check_true "$p has NAME, SYNOPSIS and SEE ALSO" \
		bash -c 'out=$(MANWIDTH=80 man -l "$1" 2>/dev/null); for s in NAME SYNOPSIS "SEE ALSO"; do grep -q "^$s" <<<"$out" || exit 1; done' _ "$page"
done

# every --option of a command's --help is documented in its page
check_options() { # check_options PAGE HELP-COMMAND...
	local page=$1 missing="" o text
	shift
	# a word hyphenated at the end of a line is joined again
	text=$(MANWIDTH=200 man -l "$MANDIR/$page" 2>/dev/null | sed -e ':a' -e '/‐$/{N;s/‐\n *//;ba' -e '}' -e 's/‐/-/g')
	for o in $("$@" 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "$o" <<<"$text" || missing="$missing $o"
	done
	vt_check_true "$page documents every option of '$*' (missing:${missing:- none})" [ -z "$missing" ]
}
check_options vitrum-serve.8 "$VITRUM_BIN" serve --help
check_options vitrum-manufacture.8 "$VITRUM_BIN" manufacture --help
check_options vitrum-state.1 "$VITRUM_BIN" state --help
check_options vitrum-status.1 "$VITRUM_BIN" status --help
check_options vitrum-swtpm.8 "$VITRUM_BIN" swtpm --help
check_options vitrum-release.1 "$VITRUM_BIN" release --help
check_options vitrum-log.1 "$VITRUM_BIN" log --help
check_options vitrum-witness.1 "$VITRUM_BIN" witness --help
check_options vitrum-owner.1 "$VITRUM_BIN" owner --help
check_options vitrum-update.1 "$VITRUM_BIN" update --help
check_options vitrum-verify.1 "$VITRUM_BIN" verify --help
# vitrum(1) points at every page of a command
for p in $expected; do
	case $p in vitrum.1 | vitrum.conf.5) continue ;; esac
	n=${p%.*} s=${p##*.}
	vt_check_true "vitrum(1) SEE ALSO names $n($s)" \
		bash -c 'MANWIDTH=200 man -l "$1" 2>/dev/null | sed -n "/^SEE ALSO/,\$p" | sed "s/‐/-/g" | grep -qF "$2($3)"' _ "$MANDIR/vitrum.1" "$n" "$s"
done
# make install installs $(MAN_PAGES) (packaging/install.mk), each in its section
pages=$(make -C "$VT_ROOT" --no-print-directory -s BUILD="$BUILD" \
	--eval 'vt-print-man-pages: ; @echo $(MAN_PAGES)' vt-print-man-pages 2>&1)
for p in $expected; do
	vt_check_true "make install installs $p" grep -qwF -- "$BUILD/man/$p" <<<"$pages"
done
# every command of vitrum --help has its line in vitrum(1)
cmds=$("$VITRUM_BIN" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
text=$(MANWIDTH=200 man -l "$MANDIR/vitrum.1" 2>/dev/null)
missing=""
for c in $cmds; do grep -qE "^ {7}$c( |$)" <<<"$text" || missing="$missing $c"; done
vt_check_true "vitrum(1) lists every command of vitrum --help (missing:${missing:- none})" [ -z "$missing" ]
# every key of vitrum.conf(5) is a serve option, and the other way round
keys=$(MANWIDTH=200 man -l "$MANDIR/vitrum.conf.5" 2>/dev/null | grep -E '^ {7}[a-z][a-z-]* = ' |
	grep -oE '(^ {7}|, )[a-z][a-z-]* = ' | sed -E 's/^( +|, )//; s/ = $//' | sort -u)
missing=""
for o in $("$VITRUM_BIN" serve --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	case "$o" in --help | --config) continue ;; esac
	grep -qx -- "${o#--}" <<<"$keys" || missing="$missing ${o#--}"
done
vt_check_true "vitrum.conf(5) has a key for every serve option (missing:${missing:- none})" [ -z "$missing" ]

vt_done
