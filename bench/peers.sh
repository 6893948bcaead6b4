#!/usr/bin/env bash
# bench/peers.sh: notevault side by side with what people use instead, in
# one go, every round alternating the three so that drift cancels:
#
#   notevault           this repository's CLI, post-quantum keys
#   pass                Debian's pass: gpg with its agent, a git store
#   age folder          a passage-style folder of .age files committed to git
#                       (age CLI, the same post-quantum keys as notevault)
#
# Each adds, shows and lists the same 1 KiB note for the same two readers
# (mentor and mentee). Then each deletes 1,000 of 10,000 notes by expiry:
# notevault's retention sweep; for the folders, find -delete on the files
# past their age plus the git commit.
#
#   bench/peers.sh [--runs N] [--keep]
#
#   --runs N    rounds of add/show/list (default 20)
#   --keep      keep the temporary directory
#
# Needs: go, python3, git, gpg and pass (apt-get install -y pass).
set -euo pipefail

runs=20
keep=0
while (($#)); do
	case "$1" in
	--runs) runs="${2:?--runs needs a number}"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
done
[[ "$runs" =~ ^[0-9]+$ ]] || { echo "--runs takes a number" >&2; exit 2; }
for tool in python3 git gpg pass; do
	command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install -y pass git gnupg python3)" >&2; exit 1; }
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/notevault-peers.XXXXXX")"
cleanup() {
	gpgconf --kill gpg-agent >/dev/null 2>&1 || true
	if ((keep)); then echo "kept $tmp" >&2; else rm -rf -- "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go="$(go env GOROOT)/bin/go"
echo "building notevault and age..." >&2
mkdir -p "$tmp/bin"
(cd "$root" && "$go" build -o "$tmp/bin/notevault" ./cmd/notevault && "$go" build -o "$tmp/bin/age" filippo.io/age/cmd/age)
export PATH="$tmp/bin:$PATH"
cd "$tmp"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.org
git config --global init.defaultBranch main >/dev/null 2>&1 || true

# A 1 KiB note.
python3 -c 'import sys; sys.stdout.write(("0123456789abcdef" * 64)[:1023] + "\n")' >note.txt

# --- notevault: mentor and mentee with post-quantum keys; an agreement whose
# summaries expire after two minutes, so that a real sweep has notes due.
export NOTEVAULT_DIR="$tmp/vault"
unset NOTEVAULT_IDENTITY
notevault init >/dev/null 2>&1
for who in alice bob carol; do notevault identity new --out "$who.key" >/dev/null 2>&1; done
notevault participant add alice --role mentor --key "$(notevault identity public -i alice.key)" >/dev/null 2>&1
notevault participant add bob --role mentee --key "$(notevault identity public -i bob.key)" >/dev/null 2>&1
notevault participant add carol --role supervisor --key "$(notevault identity public -i carol.key)" >/dev/null 2>&1
sed 's/^retention: .*/retention: {session: 365d, reflection: 90d, summary: 2m}/' "$root/testdata/agreement.yaml" >agreement.yaml
agr="$(notevault agreement create --file agreement.yaml 2>/dev/null)"
notevault agreement accept "$agr" -i alice.key >/dev/null 2>&1
notevault agreement accept "$agr" -i bob.key >/dev/null 2>&1
nvnote="$(notevault note add --agreement "$agr" --kind session --title bench --file note.txt -i alice.key 2>/dev/null)"

# The same two readers' age recipients, from the identity files.
recipient() { sed -n 's/^# public key: //p' "$1" | head -n1; }
r1="$(recipient alice.key)"
r2="$(recipient bob.key)"

# --- pass: two gpg keys without passphrase, the agent, a git store.
export GNUPGHOME="$tmp/gnupg" PASSWORD_STORE_DIR="$tmp/pass"
mkdir -m 700 "$GNUPGHOME"
for who in mentor mentee; do
	gpg --batch --quiet --passphrase '' --quick-gen-key "$who@example.org" default default never 2>/dev/null
done
pass init mentor@example.org mentee@example.org >/dev/null
pass git init >/dev/null
pass insert -m -f notes/first <note.txt >/dev/null

# --- age folder: passage's layout (one .age file per note) in git.
mkdir -p agestore/notes
git -C agestore init -q
age -e -r "$r1" -r "$r2" -o agestore/notes/first.age note.txt
git -C agestore add -A && git -C agestore commit -qm "Add notes/first"

# Sanity: each shows the note.
notevault note show "$nvnote" -i bob.key 2>/dev/null | cmp -s - note.txt || { echo "notevault note show did not print the note" >&2; exit 1; }
pass show notes/first | cmp -s - note.txt || { echo "pass show did not print the note" >&2; exit 1; }
age -d -i bob.key agestore/notes/first.age | cmp -s - note.txt || { echo "age -d did not print the note" >&2; exit 1; }

# Add, show, list, alternated round by round.
cat >ops.txt <<OPS
add	notevault	notevault note add --agreement $agr --kind session --title bench --file note.txt -i alice.key
add	pass	pass insert -m -f notes/n{i} < note.txt
add	age folder	age -e -r $r1 -r $r2 -o agestore/notes/n{i}.age note.txt && git -C agestore add notes/n{i}.age && git -C agestore commit -qm 'Add notes/n{i}'
show	notevault	notevault note show $nvnote -i bob.key
show	pass	pass show notes/first
show	age folder	age -d -i bob.key agestore/notes/first.age
list	notevault	notevault note list -i bob.key
list	pass	pass ls
list	age folder	find agestore/notes -name '*.age'
OPS
echo "measuring add, show and list, $runs rounds..." >&2
python3 - "$runs" ops.txt >times.tsv <<'PY'
import resource, subprocess, sys, time
runs, ops = int(sys.argv[1]), [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
for i in range(runs):
    # Rotate who goes first within each operation, round by round.
    for op in ("add", "show", "list"):
        group = [o for o in ops if o[0] == op]
        group = group[i % len(group):] + group[:i % len(group)]
        for _, tool, cmd in group:
            t, r = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd.replace("{i}", str(i)), shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r2 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = r2.ru_utime + r2.ru_stime - r.ru_utime - r.ru_stime
            print(f"{op}\t{tool}\t{time.perf_counter() - t:.6f}\t{cpu:.6f}")
PY

# Delete 1,000 of 10,000 by expiry. notevault: 1,000 summaries that expire
# after two minutes and 9,000 sessions, imported; the sweep once they are due.
echo "filling: 10,000 notes each..." >&2
python3 - >summaries.jsonl <<'PY'
import json
body = ("0123456789abcdef" * 64)[:1023] + "\n"
for i in range(1000): print(json.dumps({"title": f"due {i}", "body": body}))
PY
python3 - >sessions.jsonl <<'PY'
import json
body = ("0123456789abcdef" * 64)[:1023] + "\n"
for i in range(9000): print(json.dumps({"title": f"kept {i}", "body": body}))
PY
notevault note import --agreement "$agr" --kind summary summaries.jsonl -i alice.key >/dev/null 2>&1
due_at=$(($(date +%s) + 125))
notevault note import --agreement "$agr" --kind session sessions.jsonl -i alice.key >/dev/null 2>&1
# The folders: the encrypted file copied (the content does not change what
# deleting costs), 1,000 of them dated 200 days back, all committed.
for store in "$PASSWORD_STORE_DIR" agestore; do
	ext=gpg
	[[ $store == agestore ]] && ext=age
	src="$(ls "$store"/notes/*."$ext" | head -n1)"
	mkdir -p "$store/bulk"
	python3 - "$src" "$store/bulk" "$ext" <<'PY'
import os, shutil, sys, time
src, dst, ext = sys.argv[1:]
old = time.time() - 200 * 86400
for i in range(10000):
    p = os.path.join(dst, f"n{i:05d}.{ext}")
    shutil.copyfile(src, p)
    if i < 1000:
        os.utime(p, (old, old))
PY
	git -C "$store" add -A && git -C "$store" commit -qm "Add 10,000 notes"
done
now=$(date +%s)
((now < due_at)) && { echo "waiting $((due_at - now)) s for the summaries to expire..." >&2; sleep $((due_at - now)); }

sweep_time() { # label, command
	python3 - "$1" "$2" >>times.tsv <<'PY'
import resource, subprocess, sys, time
t, r = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
subprocess.run(["bash", "-c", sys.argv[2]], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r2 = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"expire\t{sys.argv[1]}\t{time.perf_counter() - t:.6f}\t{r2.ru_utime + r2.ru_stime - r.ru_utime - r.ru_stime:.6f}")
PY
}
sweep_time "pass" "cd '$PASSWORD_STORE_DIR' && find bulk -name '*.gpg' -mtime +180 -delete && git add -A && git commit -qm 'Expire 1,000 notes'"
sweep_time "notevault" "notevault retention sweep"
sweep_time "age folder" "cd agestore && find bulk -name '*.age' -mtime +180 -delete && git add -A && git commit -qm 'Expire 1,000 notes'"
left_nv=$(notevault note list --agreement "$agr" --kind summary 2>/dev/null | tail -n +2 | wc -l)
left_pass=$(find "$PASSWORD_STORE_DIR/bulk" -name '*.gpg' | wc -l)
left_age=$(find agestore/bulk -name '*.age' | wc -l)
recover_pass=$(git -C "$PASSWORD_STORE_DIR" show HEAD~1:bulk/n00000.gpg | gpg --batch --quiet -d 2>/dev/null | cmp -s - note.txt && echo yes || echo no)
recover_age=$(git -C agestore show HEAD~1:bulk/n00000.age | age -d -i bob.key 2>/dev/null | cmp -s - note.txt && echo yes || echo no)

python3 - times.tsv "$runs" <<PY
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
tools = ["notevault", "pass", "age folder"]
ops = ["add", "show", "list", "expire"]
print(f"\nnotevault vs pass vs a passage-style age folder; 1 KiB note, two readers, post-quantum keys where the tool has them")
print(f"add/show/list: median and slowest of {sys.argv[2]} alternated rounds; expire: one run, 1,000 of 10,000 notes")
for col, what in ((2, "wall time"), (3, "CPU time of the processes run (user + system; gpg-agent, a daemon, not counted)")):
    t = {(o, k): [float(r[col]) for r in rows if r[0] == o and r[1] == k] for o in ops for k in tools}
    print(f"\n{what}\n")
    print(f"| operation | {' | '.join(tools)} | fastest |")
    print("|---|" + "---|" * (len(tools) + 1))
    for o in ops:
        cells, meds = [], {}
        for k in tools:
            v = t[(o, k)]
            if not v:
                cells.append("-"); continue
            meds[k] = statistics.median(v)
            cells.append(f"{meds[k]*1000:.1f} ms" + (f" (max {max(v)*1000:.0f})" if len(v) > 1 else ""))
        print(f"| {o} | {' | '.join(cells)} | {min(meds, key=meds.get)} |")
print(f"""
after expiry: notevault keeps {$left_nv} summaries; pass keeps {$left_pass} and the age folder {$left_age} of 10,000 bulk files.
content of an expired note recoverable from git history: pass {"$recover_pass"!r}, age folder {"$recover_age"!r}; notevault: no,
its shred keys are destroyed (see docs/design.md). The folders' find -delete also leaves the bytes on disk until overwritten.""")
PY
