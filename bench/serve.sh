#!/usr/bin/env bash
# bench/serve.sh: a note add and a note show against notevault serve on
# loopback, beside the same commands on a vault directory, with hyperfine.
#
#   bench/serve.sh [--runs N] [--keep]
#
# It starts a throwaway PostgreSQL cluster (initdb and pg_ctl from the
# postgresql package; as the postgres user when run as root) with its
# durable defaults (fsync and synchronous_commit on), a `notevault serve`
# on it, and a directory vault with the same participants and agreement.
# Each command is one whole process, as a user runs it. Post-quantum keys,
# a 1 KiB note to two readers.
# Needs: go, hyperfine, python3, postgresql (apt-get install -y postgresql hyperfine).
set -euo pipefail

runs=20
keep=0
while (($#)); do
	case "$1" in
	--runs) runs="${2:?--runs needs a number}"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
done
[[ "$runs" =~ ^[0-9]+$ ]] || { echo "--runs takes a number" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install -y hyperfine)" >&2; exit 1; }
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[[ -x "$pgbin/initdb" ]] || { echo "PostgreSQL not found (apt-get install -y postgresql)" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/notevault-serve-bench.XXXXXX")"
chmod 755 "$tmp"
pgdata="$tmp/pg"
as_pg=()
if ((EUID == 0)); then as_pg=(runuser -u postgres --); mkdir -p "$pgdata" && chown postgres: "$pgdata"; fi
server_pid=""
cleanup() {
	[[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
	if ((keep)); then echo "kept $tmp" >&2; else rm -rf -- "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go="$(go env GOROOT)/bin/go"
echo "building notevault..." >&2
(cd "$root" && "$go" build -o "$tmp/notevault" ./cmd/notevault)
nv="$tmp/notevault"

echo "starting PostgreSQL..." >&2
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -o "-k $pgdata -c listen_addresses=''" -l "$pgdata/log" -w start >/dev/null
db="host=$pgdata user=postgres dbname=postgres sslmode=disable"

cd "$tmp"
unset NOTEVAULT_IDENTITY
export NOTEVAULT_STATE_DIR="$tmp/state"
for who in admin alice bob carol; do "$nv" identity new --out "$who.key" >"$who.pub"; done
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$nv" serve --db "$db" --listen "127.0.0.1:$port" --admin "$(cat admin.pub)" --state "$tmp/server" 2>"$tmp/serve.log" &
server_pid=$!
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null && break; sleep 0.1; done
for who in alice bob carol; do "$nv" --vault "$url" enrol --key-file "$who.pub" -i admin.key 2>/dev/null; done

agreement_file="$root/testdata/agreement.yaml"
python3 -c 'import sys; sys.stdout.write(("0123456789abcdef" * 64))' >note.txt
setup() { # vault -> "agreement note"
	local v="$1" a n
	[[ "$v" == http* ]] || "$nv" --vault "$v" init >/dev/null 2>&1
	"$nv" --vault "$v" participant add alice --role mentor --key-file alice.pub -i alice.key >/dev/null 2>&1
	"$nv" --vault "$v" participant add bob --role mentee --key-file bob.pub -i alice.key >/dev/null 2>&1
	"$nv" --vault "$v" participant add carol --role supervisor --key-file carol.pub -i alice.key >/dev/null 2>&1
	a="$("$nv" --vault "$v" agreement create --file "$agreement_file" -i alice.key 2>/dev/null)"
	"$nv" --vault "$v" agreement accept "$a" -i alice.key >/dev/null 2>&1
	"$nv" --vault "$v" agreement accept "$a" -i bob.key >/dev/null 2>&1
	n="$("$nv" --vault "$v" note add --agreement "$a" --kind session --title bench --file note.txt -i alice.key 2>/dev/null)"
	echo "$a $n"
}
local_ids="$(setup "$tmp/vault")"
server_ids="$(setup "$url")"
read -r la ln <<<"$local_ids"
read -r ra rn <<<"$server_ids"
"$nv" --vault "$url" note show "$rn" -i bob.key | grep -q 0123456789abcdef || { echo "the server's note does not read back" >&2; exit 1; }

shell_opt=()
if hyperfine --help 2>/dev/null | grep -q -- '--shell'; then shell_opt=(--shell=none); fi
export NOTEVAULT_MAINTENANCE=off
hyperfine "${shell_opt[@]}" --style basic --warmup 2 --runs "$runs" --export-json "$tmp/r.json" \
	-n "add, directory" "$nv --vault $tmp/vault note add --agreement $la --kind session --title bench --file note.txt -i alice.key" \
	-n "add, server" "$nv --vault $url note add --agreement $ra --kind session --title bench --file note.txt -i alice.key" \
	-n "show, directory" "$nv --vault $tmp/vault note show $ln -i bob.key" \
	-n "show, server" "$nv --vault $url note show $rn -i bob.key" >&2
python3 - "$tmp/r.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print("== medians (mean), one process per command")
for k, x in r.items():
    print(f"  {k:18s} {x['median']*1000:7.1f} ms ({x['mean']*1000:.1f} ms)")
for op in ("add", "show"):
    print(f"  {op}: server / directory  {r[op+', server']['median'] / r[op+', directory']['median']:.2f}x")
PY
