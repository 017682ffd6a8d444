# shellcheck shell=bash
# tests/integration/keys/common.sh - helpers for the test_keys_*.sh scripts.
# Sourced after lib.sh.
#
# tpm2-tools keep every object they create or load from a context file
# loaded when they exit (no resource manager between them and the TPM), and
# a TPM has only a few transient slots (swtpm: 3).  So every tool wrapper
# below flushes all transient objects after the tool ran, unless
# VTK_AUTOFLUSH=0.  Context files (-c x.ctx) are saved contexts and stay
# usable after the flush.  Some tools (tpm2_ecdhzgen, tools that fail
# half-way) also leave their HMAC session loaded, so loaded sessions are
# flushed too; sessions saved to a file (tpm2_startauthsession -S) are
# saved contexts and are not touched.

VTK_FLUSH_PY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/flush.py"
export VTK_FLUSH_PY VT_PYTHON VT_TARGET VT_PORT VTK_AUTOFLUSH
# flush every transient object and loaded session (one connection)
vtk_flush() {
	local proto=mssim
	if [ "$VT_TARGET" = swtpm ]; then proto=raw; fi
	[ -n "${VT_PORT:-}" ] || return 1
	timeout -k 2 "$VT_CMD_TIMEOUT" "$VT_PYTHON" "$VTK_FLUSH_PY" --proto $proto --port "$VT_PORT" >/dev/null 2>&1
}
export -f vtk_flush
for vtk__t in $(compgen -c tpm2_ | sort -u); do
	vtk__p=$(type -P "$vtk__t") || continue
	case "$vtk__t" in
	tpm2_flushcontext | tpm2_getcap | tpm2_startauthsession | tpm2_policy* | tpm2_sessionconfig)
		continue
		;;
	esac
	eval "$vtk__t() { local vtk_rc; timeout -k 2 \"\$VT_CMD_TIMEOUT\" '$vtk__p' \"\$@\"; vtk_rc=\$?
		if [ \"\${VTK_AUTOFLUSH:-1}\" = 1 ]; then vtk_flush; fi
		return \$vtk_rc; }"
	export -f "${vtk__t?}"
done
unset vtk__t vtk__p

T=${VT_TMP:-}

hexof() { xxd -p "$1" | tr -d '\n'; }

# A field of tpm2_readpublic's YAML, plain ("bits: 2048") or nested
# ("type:" / "  value: rsa"): pubfield CTX FIELD
pubfield() {
	tpm2_readpublic -c "$1" 2>/dev/null | awk -v f="$2" '
		want && /^ +value:/ { sub(/^ +value: */, ""); print; exit }
		{ k = $1; sub(/:$/, "", k) }
		k == f { v = $0; sub(/^[^:]*: */, "", v); if (v != "") { print v; exit } want = 1 }'
}

# The TPM2B_PUBLIC of a loaded object / context file as hex: pubhex CTX
pubhex() {
	rm -f "$T/pubhex.bin"
	tpm2_readpublic -c "$1" -o "$T/pubhex.bin" >/dev/null 2>&1 || return 1
	hexof "$T/pubhex.bin"
}

# Number of loaded transient objects
n_transient() {
	tpm2_getcap handles-transient 2>/dev/null | grep -c '0x80'
}

# Flush everything: transient objects, loaded and saved sessions
flush_all() {
	tpm2_flushcontext -t >/dev/null 2>&1
	tpm2_flushcontext -l >/dev/null 2>&1
	tpm2_flushcontext -s >/dev/null 2>&1
}

# the response code (e.g. 0x2c4) tpm2-tools reported in the last output
last_rc() {
	vt_last_output | grep -oiE '\(0x[0-9a-f]+\)' | head -1 | tr -d '()'
}
