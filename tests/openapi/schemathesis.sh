#!/usr/bin/env bash
# Property-based API testing against openapi.yaml (issue #8): schemathesis
# (PyPI, pinned in requirements.txt, installed into a venv under the build
# dir) generates requests for every operation, valid and invalid, and checks
# each answer: no 5xx, a status code, content type, headers and body the
# schema allows. Then ember must still be alive: no request, however odd,
# may end it.
#
# Usage: tests/openapi/schemathesis.sh BUILD   (tests/run.sh runs it once,
# against the first build). Prints the PLAN/PASS/FAIL/SKIP protocol.
#
# Ember runs chrooted in a scratch directory: generated bodies name files
# (log_path, metrics_path, snapshot paths, serial_out_path, ...) that ember
# creates, and as root they would land anywhere on this machine. That needs
# a static ember (the default build); a dynamic one (STATIC=0, sanitizer
# builds) skips with the reason.
# Environment: EMBER_SCHEMATHESIS_SEED (default 1: the same cases every run;
# any other value explores others), EMBER_SCHEMATHESIS_EXAMPLES (per
# operation and phase, default 25).
set -u
cd "$(dirname "$0")/../.."
b=${1:-build}
venv=$b/venv-schemathesis
cases="no_server_error_schema_conformant ember_survives"
echo "PLAN: schemathesis 2 $cases"
skip_all() { for c in $cases; do echo "SKIP: schemathesis/$c: $1"; done; exit 0; }
fail_all() { for c in $cases; do echo "FAIL: schemathesis/$c: $1"; done; exit 0; }

[ -x "$b/ember" ] || fail_all "no $b/ember"
file -b "$b/ember" | grep -q 'statically linked' || skip_all "$b/ember is not a static build (chroot needs one)"
command -v socat >/dev/null || fail_all "socat missing (make deps)"
if [ ! -x "$venv/bin/schemathesis" ]; then
	rm -rf "$venv"
	{ python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
		-r tests/openapi/requirements.txt; } >"$b/venv-schemathesis.log" 2>&1 ||
		fail_all "pip install of schemathesis failed: $(tail -n 3 "$b/venv-schemathesis.log" | tr '\n' ' ')"
fi

W=$(mktemp -d /tmp/ember-schemathesis.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/root"
cp "$b/ember" "$W/root/ember"
chroot "$W/root" /ember --api-sock /api.sock >"$W/out" 2>"$W/err" &
vmm=$!
pids+=("$vmm")
for _ in $(seq 100); do [ -S "$W/root/api.sock" ] && break; sleep 0.05; done
[ -S "$W/root/api.sock" ] || fail_all "ember's API socket never appeared: $(tail -c 300 "$W/err")"

# schemathesis speaks TCP; socat carries each connection to the Unix socket.
port=""
for p in $(shuf -i 20000-60000 -n 20); do
	socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$W/root/api.sock" 2>/dev/null &
	pids+=("$!")
	sleep 0.2
	if kill -0 "${pids[-1]}" 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail_all "no free TCP port for the socat relay"

(cd "$W" && "$OLDPWD/$venv/bin/schemathesis" run "$OLDPWD/openapi.yaml" -u "http://127.0.0.1:$port" \
	--checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
	--seed "${EMBER_SCHEMATHESIS_SEED:-1}" -n "${EMBER_SCHEMATHESIS_EXAMPLES:-25}" -w 1 \
	--no-color) >"$W/st.log" 2>&1
rc=$?
summary=$(grep -E '^ *[0-9]+ generated' "$W/st.log" | tr -s ' ' | head -n 1)
if [ $rc = 0 ]; then
	echo "PASS: schemathesis/no_server_error_schema_conformant"
	echo "schemathesis: ${summary:-no summary} (seed ${EMBER_SCHEMATHESIS_SEED:-1})"
else
	echo "FAIL: schemathesis/no_server_error_schema_conformant: exit $rc, ${summary:-no summary}"
	sed -n '/FAILURES/,$p' "$W/st.log" | head -n 80 | sed 's/^/    /'
fi
if kill -0 "$vmm" 2>/dev/null; then
	echo "PASS: schemathesis/ember_survives"
else
	wait "$vmm"
	echo "FAIL: schemathesis/ember_survives: ember exited with $? during the run: $(tail -c 300 "$W/err" | tr '\n' ' ')"
fi
