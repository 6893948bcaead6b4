#!/usr/bin/env bash
# bench/tail.sh: the tail of everyday commands. Times N successive
# `notevault note add` runs (each one process, the vault growing by one note
# per run) against `age -e` to the same two post-quantum recipients, then N
# successive `notevault note show` runs (each appends a read-log record)
# against `age -d`, and prints mean, median, p99 and max of each with the
# ratios the targets are stated in (issue 11: mean within 6x of age, p99
# within 10x).
#
#   bench/tail.sh [--runs N] [--age-runs M] [--keep]
#
#   --runs N      notevault runs per command (default 3000)
#   --age-runs M  age runs per command (default 300: age's spread is tiny)
#   --keep        keep the temporary directory
#
# Needs: go, hyperfine (apt-get install -y hyperfine), python3.
set -euo pipefail

runs=3000
age_runs=300
keep=0
while (($#)); do
	case "$1" in
	--runs) runs="${2:?--runs needs a number}"; shift 2 ;;
	--age-runs) age_runs="${2:?--age-runs needs a number}"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
done
[[ "$runs" =~ ^[0-9]+$ && "$age_runs" =~ ^[0-9]+$ ]] || { echo "--runs and --age-runs take numbers" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install -y hyperfine)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/notevault-tail-bench.XXXXXX")"
cleanup() {
	if ((keep)); then echo "kept $tmp" >&2; else rm -rf -- "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go="$(go env GOROOT)/bin/go"
echo "building notevault and age..." >&2
(cd "$root" && "$go" build -o "$tmp/bin/notevault" ./cmd/notevault) || { echo "cannot build ./cmd/notevault" >&2; exit 1; }
(cd "$root" && "$go" build -o "$tmp/bin/age" filippo.io/age/cmd/age) || { echo "cannot build filippo.io/age/cmd/age" >&2; exit 1; }
nv="$tmp/bin/notevault"
age="$tmp/bin/age"

export NOTEVAULT_DIR="$tmp/vault"
unset NOTEVAULT_IDENTITY
cd "$tmp"
"$nv" init >/dev/null
declare -A key
for who in alice bob carol; do
	key[$who]="$("$nv" identity new --out "$tmp/$who.key")"
done
"$nv" participant add alice --role mentor --key "${key[alice]}" >/dev/null
"$nv" participant add bob --role mentee --key "${key[bob]}" >/dev/null
"$nv" participant add carol --role supervisor --key "${key[carol]}" >/dev/null
agreement="$("$nv" agreement create --file "$root/vault/agreement/testdata/alice-bob.yaml")"
"$nv" agreement accept "$agreement" -i "$tmp/alice.key" >/dev/null
"$nv" agreement accept "$agreement" -i "$tmp/bob.key" >/dev/null

python3 -c 'import sys; sys.stdout.write(("0123456789abcdef" * 64))' >"$tmp/note.txt"
note="$("$nv" note add --agreement "$agreement" --kind session --title bench --file "$tmp/note.txt" -i "$tmp/alice.key")"
recipient() { sed -n 's/^# public key: //p' "$1" | head -n1; }
r1="$(recipient "$tmp/alice.key")"
r2="$(recipient "$tmp/bob.key")"
"$age" -e -r "$r1" -r "$r2" -o "$tmp/note.age" "$tmp/note.txt"
"$nv" note show "$note" -i "$tmp/bob.key" | grep -q 0123456789abcdef || { echo "note show did not print the body" >&2; exit 1; }

shell_opt=()
if hyperfine --help 2>/dev/null | grep -q -- '--shell'; then shell_opt=(--shell=none); fi
hf() { # json runs name command
	hyperfine "${shell_opt[@]}" --style none --runs "$2" --export-json "$1" -n "$3" "$4" >/dev/null
}

echo "timing $runs note add runs..." >&2
hf "$tmp/add.json" "$runs" "notevault note add" \
	"$nv note add --agreement $agreement --kind session --title bench --file $tmp/note.txt -i $tmp/alice.key"
hf "$tmp/age-e.json" "$age_runs" "age -e (2 recipients)" "$age -e -r $r1 -r $r2 -o /dev/null $tmp/note.txt"
echo "timing $runs note show runs..." >&2
hf "$tmp/show.json" "$runs" "notevault note show" "$nv note show $note -i $tmp/bob.key"
hf "$tmp/age-d.json" "$age_runs" "age -d" "$age -d -i $tmp/bob.key $tmp/note.age"

python3 - "$tmp" <<'PY'
import json, sys, statistics
d = sys.argv[1]
def load(n):
    r = json.load(open(f"{d}/{n}.json"))["results"][0]
    t = sorted(r["times"])
    p99 = t[min(len(t) - 1, int(round(0.99 * len(t))) - 1)]
    return r["command"], len(t), statistics.mean(t), statistics.median(t), p99, t[-1], sum(x > 0.1 for x in t)
ms = lambda s: f"{s * 1000:8.1f}"
rows = {n: load(n) for n in ["add", "age-e", "show", "age-d"]}
print(f"{'command':24s} {'runs':>5s} {'mean ms':>8s} {'median':>8s} {'p99':>8s} {'max':>8s} {'>100ms':>6s}")
for n, (c, k, mean, med, p99, mx, slow) in rows.items():
    print(f"{c:24s} {k:5d} {ms(mean)} {ms(med)} {ms(p99)} {ms(mx)} {slow:6d}")
for a, b in [("add", "age-e"), ("show", "age-d")]:
    A, B = rows[a], rows[b]
    print(f"{A[0]} / {B[0]}: mean {A[2] / B[2]:.1f}x, p99 {A[4] / B[4]:.1f}x, max {A[5] / B[5]:.1f}x")
PY
echo "vault size after the runs: $(du -sh "$NOTEVAULT_DIR" | cut -f1); level-0 tables: $(ls "$NOTEVAULT_DIR/db"/*.sst 2>/dev/null | wc -l) .sst files" >&2
