#!/usr/bin/env bash
# Checks the deployment examples in this directory, from a clone:
#
#   bash docs/examples/check.sh
#
# - the systemd units: systemd-analyze verify, and an exposure of at most 2.0
#   on systemd-analyze security (skipped where systemd-analyze is missing:
#   apt-get install systemd); the sysusers.d file with systemd-sysusers;
# - the Containerfile: runs its go build line here, checks that the binary is
#   static, and runs it as user 65532 in a root that holds nothing else, as
#   the image would (chroot as root, else unshare -r; no container builder
#   needed, and none can fetch the Go base image without a registry);
# - the Kubernetes examples (the sweep's CronJob, the server's Deployment):
#   decoded strictly into the upstream API types
#   (k8s.io/api, in the module of its own under k8scheck/), with the checks
#   its comments promise.
#
# It prints one line per check and exits non-zero on the first failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { printf 'ok    %s\n' "$*"; }
skip() { printf 'skip  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }

# The binary the units run, built as go install would.
(cd "$repo" && go build -o "$tmp/notevault" ./cmd/notevault)

# --- systemd -----------------------------------------------------------------
units=(notevault-sweep.service notevault-daemon.service notevault-sweep.timer notevault-serve.service)
if command -v systemd-analyze >/dev/null; then
	# verify wants ExecStart= to exist: point it at the binary just built.
	mkdir "$tmp/units"
	for u in "${units[@]}"; do
		sed "s|/usr/local/bin/notevault|$tmp/notevault|g" "$here/$u" >"$tmp/units/$u"
	done
	(cd "$tmp/units" && systemd-analyze verify --man=no "${units[@]}") ||
		fail "systemd-analyze verify ${units[*]}"
	ok "systemd-analyze verify ${units[*]}"
	for u in notevault-sweep.service notevault-daemon.service notevault-serve.service; do
		# --threshold is ten times the exposure: 20 is 2.0.
		score=$(systemd-analyze security --offline=true --threshold=20 --no-pager "$here/$u" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p') ||
			fail "systemd-analyze security $u: exposure ${score:-?} is above 2.0"
		ok "systemd-analyze security $u: exposure $score (at most 2.0)"
	done
else
	skip "systemd units: no systemd-analyze here (apt-get install systemd)"
fi
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/sysroot/etc"
	systemd-sysusers --root="$tmp/sysroot" "$here/notevault-sysusers.conf" >/dev/null 2>&1 ||
		fail "systemd-sysusers notevault-sysusers.conf"
	grep -q '^notevault:' "$tmp/sysroot/etc/passwd" || fail "notevault-sysusers.conf makes no notevault user"
	ok "systemd-sysusers notevault-sysusers.conf makes the notevault user"
else
	skip "sysusers.d file: no systemd-sysusers here"
fi

# --- Containerfile -----------------------------------------------------------
cf="$here/Containerfile"
want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$repo/go.mod")
grep -q "^FROM docker.io/library/golang:$want-" "$cf" ||
	fail "Containerfile: its Go image is not go.mod's Go $want"
ok "Containerfile builds with go.mod's Go $want"
build=$(sed -n 's/^RUN \(.*go build .*-o \/out\/notevault .*\)$/\1/p' "$cf")
[ -n "$build" ] || fail "Containerfile: no RUN ... go build ... -o /out/notevault line"
mkdir "$tmp/out"
(cd "$repo" && eval "${build//\/out\//$tmp/out/}") || fail "Containerfile's build: $build"
bin="$tmp/out/notevault"
if command -v readelf >/dev/null; then
	if readelf -lW "$bin" | grep -q INTERP; then fail "the Containerfile's binary is dynamically linked"; fi
	if readelf -dW "$bin" 2>/dev/null | grep -q NEEDED; then fail "the Containerfile's binary needs shared libraries"; fi
	ok "the Containerfile's binary is static (no INTERP, no NEEDED: readelf)"
else
	skip "static check: no readelf here (apt-get install binutils)"
fi
grep -q '^USER 65532:65532$' "$cf" || fail "Containerfile: the image does not run as user 65532"
grep -q '^FROM scratch$' "$cf" || fail "Containerfile: the image is not built FROM scratch"
# The image's root: the binary, and the two volumes' mount points.
root="$tmp/root"
mkdir -p "$root/data" "$root/state"
cp "$bin" "$root/notevault"
# Nothing of this environment goes in: the image sets these two, no more.
inroot() {
	env -i NOTEVAULT_DIR=/data/vault NOTEVAULT_STATE_DIR=/state "$(command -v "$1")" "${@:2}"
}
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
	chown 65532:65532 "$root/data" "$root/state"
	run() { inroot chroot --userspec=65532:65532 "$root" /notevault "$@"; }
	how="chroot, as user 65532"
elif command -v unshare >/dev/null && unshare -r true 2>/dev/null; then
	run() { inroot unshare -r --root="$root" /notevault "$@"; }
	how="unshare -r (root of a user namespace; run as root to check user 65532)"
else
	run() { return 1; }
	how=""
fi
if [ -n "$how" ]; then
	run init --if-missing 2>"$tmp/err" || fail "init in the empty root: $(cat "$tmp/err")"
	run init --if-missing 2>"$tmp/err" || fail "a second init --if-missing: $(cat "$tmp/err")"
	run retention sweep >"$tmp/out.txt" 2>"$tmp/err" || fail "retention sweep in the empty root: $(cat "$tmp/err")"
	run audit verify >"$tmp/out.txt" 2>"$tmp/err" || fail "audit verify in the empty root: $(cat "$tmp/err")"
	[ "$(ls -A "$root")" = "$(printf 'data\nnotevault\nstate')" ] || fail "the run wrote outside its volumes: $(ls -A "$root")"
	ok "the binary runs in a root holding nothing else ($how): init --if-missing twice, retention sweep, audit verify"
else
	skip "empty-root run: neither root with chroot nor unshare -r here"
fi

# --- Kubernetes --------------------------------------------------------------
(cd "$here/k8scheck" && go test -count=1 . >/dev/null) || fail "k8scheck's own test"
for m in cronjob.yaml serve.yaml; do
	(cd "$here/k8scheck" && go run . "../$m" ../Containerfile) || fail "$m"
	ok "$m decoded strictly into k8s.io/api types and checked"
done
