#!/usr/bin/env bash
# bench/stream.sh: a large note through the notevault CLI against the age CLI
# doing the same encryption and decryption of the same file.
#
#   bench/stream.sh [--size MIB] [--runs N] [--keep]
#
#   --size MIB  the note's size in MiB (default 1024: the 1 GiB target)
#   --runs N    hyperfine runs per command (default 3)
#   --keep      keep the temporary directory
#
# Compared, per process, post-quantum keys, a session note to two readers:
#   notevault note add --file big.bin  vs  age -e -r MENTOR -r MENTEE -o big.age big.bin
#   notevault note show NOTE > out     vs  age -d -i ID -o out big.age
# Wall time from hyperfine (median), peak RSS from /usr/bin/time -v.
# Each note add stores another copy: the temporary directory needs about
# (runs + 4) x size of free space. It is on $TMPDIR (default /tmp).
# Needs: go, hyperfine, /usr/bin/time (GNU time), python3.
set -euo pipefail

size=1024
runs=3
keep=0
while (($#)); do
	case "$1" in
	--size) size="${2:?--size needs a number}"; shift 2 ;;
	--runs) runs="${2:?--runs needs a number}"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
done
[[ "$size" =~ ^[0-9]+$ && "$runs" =~ ^[0-9]+$ ]] || { echo "--size and --runs take numbers" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install -y hyperfine)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/notevault-stream-bench.XXXXXX")"
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
"$nv" init >/dev/null 2>&1
declare -A key
for who in alice bob carol; do
	key[$who]="$("$nv" identity new --out "$tmp/$who.key" 2>/dev/null)"
done
"$nv" participant add alice --role mentor --key "${key[alice]}" >/dev/null 2>&1
"$nv" participant add bob --role mentee --key "${key[bob]}" >/dev/null 2>&1
"$nv" participant add carol --role supervisor --key "${key[carol]}" >/dev/null 2>&1
agreement_file="$root/testdata/agreement.yaml"
[[ -f "$agreement_file" ]] || agreement_file="$root/vault/agreement/testdata/alice-bob.yaml"
agreement="$("$nv" agreement create --file "$agreement_file" 2>/dev/null)"
"$nv" agreement accept "$agreement" -i "$tmp/alice.key" >/dev/null 2>&1
"$nv" agreement accept "$agreement" -i "$tmp/bob.key" >/dev/null 2>&1

echo "writing a ${size} MiB file of random bytes..." >&2
head -c "$((size * 1024 * 1024))" /dev/urandom >"$tmp/big.bin"

recipient() { sed -n 's/^# public key: //p' "$1" | head -n1; }
r1="$(recipient "$tmp/alice.key")"
r2="$(recipient "$tmp/bob.key")"
add="$nv note add --agreement $agreement --kind session --title recording --file $tmp/big.bin -i $tmp/alice.key"
age_e="$age -e -r $r1 -r $r2 -o $tmp/big.age $tmp/big.bin"

# One of each, timed for peak RSS; the note and the age file they leave are
# what the show and decrypt runs read.
peak() { # label command...
	local label="$1"; shift
	/usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/$label.time"
	sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$tmp/$label.time"
}
declare -A rss
rss[add]="$(peak add $add)"
note="$(cat "$tmp/out")"
rss[age_e]="$(peak age_e $age_e)"
/usr/bin/time -v "$nv" note show "$note" -i "$tmp/bob.key" >"$tmp/shown.bin" 2>"$tmp/show.time"
rss[show]="$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$tmp/show.time")"
cmp -s "$tmp/shown.bin" "$tmp/big.bin" || { echo "note show did not print the file" >&2; exit 1; }
rss[age_d]="$(peak age_d "$age" -d -i "$tmp/bob.key" -o "$tmp/decrypted.bin" "$tmp/big.age")"
cmp -s "$tmp/decrypted.bin" "$tmp/big.bin" || { echo "age -d did not round-trip" >&2; exit 1; }
rm -f "$tmp/shown.bin" "$tmp/decrypted.bin"

shell_opt=()
if hyperfine --help 2>/dev/null | grep -q -- '--shell'; then shell_opt=(--shell=none); fi
hyperfine "${shell_opt[@]}" --style basic --runs "$runs" --export-json "$tmp/times.json" \
	-n "notevault note add" "$add" \
	-n "age -e (2 recipients)" "$age_e" >&2
hyperfine --style basic --runs "$runs" --export-json "$tmp/times2.json" \
	-n "notevault note show" "$nv note show $note -i $tmp/bob.key > $tmp/shown.bin" \
	-n "age -d" "$age -d -i $tmp/bob.key -o $tmp/decrypted.bin $tmp/big.age" >&2

python3 - "$tmp/times.json" "$tmp/times2.json" "$size" "${rss[add]}" "${rss[age_e]}" "${rss[show]}" "${rss[age_d]}" <<'PY'
import json, sys
med = {}
for f in sys.argv[1:3]:
    med.update({r["command"]: r["median"] for r in json.load(open(f))["results"]})
size = sys.argv[3]
rss = [int(x) / 1024 for x in sys.argv[4:8]]
print(f"\n== a {size} MiB note, post-quantum keys, two readers (median wall time; peak RSS)")
rows = [("notevault note add", rss[0]), ("age -e (2 recipients)", rss[1]), ("notevault note show", rss[2]), ("age -d", rss[3])]
for name, r in rows:
    print(f"  {name:24s} {med[name]:8.2f} s   {r:7.1f} MiB")
print(f"  add  / age -e   {med['notevault note add'] / med['age -e (2 recipients)']:5.2f}x   (target: within 2x, peak RSS < 100 MiB)")
print(f"  show / age -d   {med['notevault note show'] / med['age -d']:5.2f}x")
PY
