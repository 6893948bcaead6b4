#!/usr/bin/env bash
# bench/import.sh: times `notevault note import` of N one-KiB notes to two
# readers (mentor and mentee) with post-quantum keys, in one process, and
# an interrupted import resumed.
#
#   bench/import.sh [--notes N] [--keep]
#
#   --notes N   notes to import (default 10000)
#   --keep      keep the temporary directory
#
# Prints wall time, notes per second, CPU time (user + system: on a shared
# machine it measures the work, where wall time measures the neighbours too)
# and peak RSS, from /usr/bin/time. Then imports the same notes into a new
# vault, stops it with SIGINT part way, runs it again and checks that the
# vault holds each note once.
# Needs: go, python3, /usr/bin/time (GNU time).
set -euo pipefail

notes=10000
keep=0
while (($#)); do
	case "$1" in
	--notes) notes="${2:?--notes needs a number}"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
done
[[ "$notes" =~ ^[0-9]+$ ]] || { echo "--notes takes a number" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/notevault-import-bench.XXXXXX")"
cleanup() { if ((keep)); then echo "kept $tmp" >&2; else rm -rf -- "$tmp"; fi; }
trap cleanup EXIT

go="$(go env GOROOT)/bin/go"
(cd "$root" && "$go" build -o "$tmp/notevault" ./cmd/notevault)
nv="$tmp/notevault"
unset NOTEVAULT_IDENTITY

setup() { # prints the agreement id of a new vault at $NOTEVAULT_DIR
	"$nv" init >/dev/null 2>&1
	local who
	for who in alice bob carol; do
		[[ -f "$tmp/$who.key" ]] || "$nv" identity new --out "$tmp/$who.key" >/dev/null 2>&1
	done
	"$nv" participant add alice --role mentor --key "$("$nv" identity public -i "$tmp/alice.key")" >/dev/null 2>&1
	"$nv" participant add bob --role mentee --key "$("$nv" identity public -i "$tmp/bob.key")" >/dev/null 2>&1
	"$nv" participant add carol --role supervisor --key "$("$nv" identity public -i "$tmp/carol.key")" >/dev/null 2>&1
	local f="$root/testdata/agreement.yaml"
	[[ -f "$f" ]] || f="$root/vault/agreement/testdata/alice-bob.yaml"
	local agr
	agr="$("$nv" agreement create --file "$f" 2>/dev/null)"
	"$nv" agreement accept "$agr" -i "$tmp/alice.key" >/dev/null 2>&1
	"$nv" agreement accept "$agr" -i "$tmp/bob.key" >/dev/null 2>&1
	echo "$agr"
}

python3 - "$notes" >"$tmp/notes.jsonl" <<'PY'
import json, sys
body = ("0123456789abcdef" * 64)[:1023] + "\n"
for i in range(int(sys.argv[1])):
    print(json.dumps({"title": f"note {i}", "tags": ["bench"], "body": body[:-len(str(i)) - 1] + str(i) + "\n"}))
PY

export NOTEVAULT_DIR="$tmp/vault"
agr="$(setup)"
/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
	"$nv" note import --agreement "$agr" --kind session "$tmp/notes.jsonl" -i "$tmp/alice.key" >"$tmp/ids" 2>"$tmp/err" ||
	{ cat "$tmp/err" >&2; exit 1; }
read -r wall user sys rss <"$tmp/time"
count=$(wc -l <"$tmp/ids")
python3 - "$notes" "$wall" "$user" "$sys" "$rss" "$count" <<'PY'
import sys
n, wall, user, sys_, rss, count = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6])
print(f"import of {n} one-KiB notes, post-quantum keys, 2 readers, one process")
print(f"  wall      {wall:8.2f} s   {n / wall:8.0f} notes/s")
print(f"  cpu       {user + sys_:8.2f} s   {n / (user + sys_):8.0f} notes per cpu-second ({user:.2f} user, {sys_:.2f} sys)")
print(f"  peak RSS  {rss / 1024:8.1f} MiB")
assert count == n, f"{count} ids printed for {n} notes"
PY

# Interrupted and resumed.
export NOTEVAULT_DIR="$tmp/vault2"
agr="$(setup)"
"$nv" note import --agreement "$agr" --kind session "$tmp/notes.jsonl" -i "$tmp/alice.key" >/dev/null 2>"$tmp/err1" &
pid=$!
sleep 2
kill -INT "$pid" 2>/dev/null || true
wait "$pid" && first=done || first=interrupted
written=$("$nv" note list --agreement "$agr" | tail -n +2 | wc -l)
"$nv" note import --agreement "$agr" --kind session "$tmp/notes.jsonl" -i "$tmp/alice.key" >/dev/null 2>"$tmp/err2"
total=$("$nv" note list --agreement "$agr" | tail -n +2 | wc -l)
echo "resume: first run $first with $written notes written ($(tail -n1 "$tmp/err1")); after the second run $total notes for $notes items"
[[ "$total" == "$notes" ]] || { echo "resume wrote duplicates or lost notes" >&2; exit 1; }
