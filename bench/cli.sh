#!/usr/bin/env bash
# bench/cli.sh: times the notevault CLI against the real age CLI with hyperfine.
#
#   bench/cli.sh [--runs N] [--fill N] [--classic] [--keep]
#
#   --runs N    hyperfine runs per command (default 20)
#   --fill N    after the first measurement, add N notes by N separate
#               `notevault note add` processes, then measure again
#               (the 10,000-note target: --fill 10000)
#   --classic   use classic X25519 identities instead of post-quantum ones
#   --keep      keep the temporary directory
#
# Compared, per process (start-up, open, policy, crypto, audit, close):
#   notevault note add  vs  age -e -r MENTOR -r MENTEE -o /dev/null note.txt
#   notevault note show vs  age -d -i ID note.age
# Needs: go, hyperfine (apt-get install -y hyperfine), python3.
set -euo pipefail

runs=20
fill=0
pq=1
keep=0
while (($#)); do
	case "$1" in
	--runs) runs="${2:?--runs needs a number}"; shift 2 ;;
	--fill) fill="${2:?--fill needs a number}"; shift 2 ;;
	--classic) pq=0; shift ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
done
[[ "$runs" =~ ^[0-9]+$ && "$fill" =~ ^[0-9]+$ ]] || { echo "--runs and --fill take numbers" >&2; exit 2; }

command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install -y hyperfine)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/notevault-cli-bench.XXXXXX")"
cleanup() {
	if ((keep)); then echo "kept $tmp" >&2; else rm -rf -- "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go="$(go env GOROOT)/bin/go"
echo "building notevault and age..." >&2
(cd "$root" && "$go" build -o "$tmp/bin/notevault" ./cmd/notevault) ||
	{ echo "cannot build ./cmd/notevault" >&2; exit 1; }
(cd "$root" && "$go" build -o "$tmp/bin/age" filippo.io/age/cmd/age) ||
	{ echo "cannot build filippo.io/age/cmd/age" >&2; exit 1; }
nv="$tmp/bin/notevault"
age="$tmp/bin/age"

export NOTEVAULT_DIR="$tmp/vault"
unset NOTEVAULT_IDENTITY
cd "$tmp"

"$nv" init >/dev/null
declare -A key
for who in alice bob carol; do
	if ((pq)); then
		key[$who]="$("$nv" identity new --out "$tmp/$who.key")"
	else
		# The CLI makes post-quantum keys; a classic age key file is a
		# valid identity file too.
		[[ -x "$tmp/bin/age-keygen" ]] || (cd "$root" && "$go" build -o "$tmp/bin/age-keygen" filippo.io/age/cmd/age-keygen)
		"$tmp/bin/age-keygen" -o "$tmp/$who.key" 2>/dev/null
		key[$who]="$("$nv" identity public -i "$tmp/$who.key")"
	fi
done
"$nv" participant add alice --role mentor --key "${key[alice]}" >/dev/null
"$nv" participant add bob --role mentee --key "${key[bob]}" >/dev/null
"$nv" participant add carol --role supervisor --key "${key[carol]}" >/dev/null

agreement_file="$root/testdata/agreement.yaml"
[[ -f "$agreement_file" ]] || agreement_file="$root/vault/agreement/testdata/alice-bob.yaml"
agreement="$("$nv" agreement create --file "$agreement_file")"
"$nv" agreement accept "$agreement" -i "$tmp/alice.key" >/dev/null
"$nv" agreement accept "$agreement" -i "$tmp/bob.key" >/dev/null

# A 1 KiB note body.
python3 -c 'import sys; sys.stdout.write(("0123456789abcdef" * 64))' >"$tmp/note.txt"
note="$("$nv" note add --agreement "$agreement" --kind session --title bench --file "$tmp/note.txt" -i "$tmp/alice.key")"

# The age recipients of mentor and mentee, from their identity files.
recipient() { sed -n 's/^# public key: //p' "$1" | head -n1; }
r1="$(recipient "$tmp/alice.key")"
r2="$(recipient "$tmp/bob.key")"
[[ -n "$r1" && -n "$r2" ]] || { echo "no '# public key:' line in the identity files" >&2; exit 1; }
"$age" -e -r "$r1" -r "$r2" -o "$tmp/note.age" "$tmp/note.txt"

# Sanity: both paths print the body.
"$nv" note show "$note" -i "$tmp/bob.key" | grep -q 0123456789abcdef || { echo "note show did not print the body" >&2; exit 1; }
"$age" -d -i "$tmp/bob.key" "$tmp/note.age" | cmp -s - "$tmp/note.txt" || { echo "age -d did not round-trip" >&2; exit 1; }

shell_opt=()
if hyperfine --help 2>/dev/null | grep -q -- '--shell'; then shell_opt=(--shell=none); fi

measure() { # label
	local label="$1" json="$tmp/$1.json"
	hyperfine "${shell_opt[@]}" --style basic --warmup 2 --runs "$runs" --export-json "$json" \
		-n "notevault note add" "$nv note add --agreement $agreement --kind session --title bench --file $tmp/note.txt -i $tmp/alice.key" \
		-n "age -e (2 recipients)" "$age -e -r $r1 -r $r2 -o /dev/null $tmp/note.txt" \
		-n "notevault note show" "$nv note show $note -i $tmp/bob.key" \
		-n "age -d" "$age -d -i $tmp/bob.key $tmp/note.age" >&2
	python3 - "$json" "$label" <<'PY'
import json, sys
res = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
label = sys.argv[2]
ms = lambda s: f"{s * 1000:8.2f} ms"
print(f"\n== {label} (medians)")
for k, v in res.items():
    print(f"  {k:24s} {ms(v)}")
print(f"  add  / age -e   {res['notevault note add'] / res['age -e (2 recipients)']:6.1f}x")
print(f"  show / age -d   {res['notevault note show'] / res['age -d']:6.1f}x")
PY
}

keys=$([[ $pq == 1 ]] && echo post-quantum || echo classic)
measure "1 note, $keys keys"

if ((fill > 0)); then
	echo "adding $fill notes, one process each..." >&2
	start=$(date +%s)
	for ((i = 1; i <= fill; i++)); do
		"$nv" note add --agreement "$agreement" --kind session --title "fill $i" --file "$tmp/note.txt" -i "$tmp/alice.key" >/dev/null
		if ((i % 1000 == 0)); then echo "  $i/$fill ($(($(date +%s) - start))s)" >&2; fi
	done
	echo "filled in $(($(date +%s) - start))s; vault size: $(du -sh "$NOTEVAULT_DIR" | cut -f1)" >&2
	measure "after --fill $fill, $keys keys"
fi
