package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// Before the editor opens, note add asks the vault whether the note could
// be written: a wrong agreement id, a kind the policy refuses or a bad tag is
// reported at once, and nobody types a note that cannot be stored. The
// control is the same run with arguments that are fine: the editor runs and
// the note is written.
func TestNoteAddEditorChecksFirst(t *testing.T) {
	v := newVaultEnv(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a pattern for the one error line
	}{
		{"unknown agreement", []string{"--agreement", "a-nosuchagreement", "--kind", "session", "-i", "alice.key"},
			exitNotFound, `^notevault: error: .*a-nosuchagreement.*not found\n$`},
		{"denied by the policy", []string{"--agreement", v.agr, "--kind", "summary", "-i", "bob.key"},
			exitDenied, `^notevault: error: denied: only the mentor of agreement a-\w+ \(alice\) writes summaries; bob is its mentee\n$`},
		{"not a participant", []string{"--agreement", v.agr, "--kind", "session", "-i", "carol.key"},
			exitDenied, `^notevault: error: denied: only the mentor \(alice\) and the mentee \(bob\) of agreement a-\w+ write notes; `},
		{"bad tag", []string{"--agreement", v.agr, "--kind", "session", "--tag", "a,b", "-i", "alice.key"},
			exitFailure, `^notevault: error: tag "a,b" must be non-empty, one line and contain no comma\n$`},
		{"control", []string{"--agreement", v.agr, "--kind", "session", "-i", "alice.key"}, 0, `^notevault: wrote session note `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := filepath.Join(v.dir, "ran")
			os.Remove(ran)
			v.editor(t, "touch OUT/ran\nprintf 'typed in vain\\n' > \"$1\"\n")
			code, stdout, stderr := v.startNoteAddArgs(t, true, tc.args...).wait(t)
			if code != tc.code || !regexp.MustCompile(tc.stderr).MatchString(stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %s", code, stderr, tc.code, tc.stderr)
			}
			_, err := os.Stat(ran)
			if tc.code == 0 {
				if err != nil || !strings.HasPrefix(stdout, "n-") {
					t.Fatalf("control: the editor ran: %v, stdout %q", err == nil, stdout)
				}
				return
			}
			if err == nil {
				t.Error("the editor ran")
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(v.dir, "run", "notevault-kept")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refusal before the editor kept something: %v", err)
	}
}

// keptRE picks the kept file and the retry command out of note add's error.
var keptRE = regexp.MustCompile(`^notevault: error: note not written: (.*); what you typed is kept in (\S+), which only you can read\n` +
	`notevault: hint: when the cause is fixed, (.*) writes it \(and then removes the file\)\n$`)

// The vault becomes busy while the user types: the write fails after the
// editor closed, and what was typed is kept in a 0600 file in a private
// directory, named in the error with the command that writes it. The next
// editor run does not sweep it away; the command, pasted as printed, writes
// the note with its title and tag and removes the file.
func TestNoteAddEditorKeepsTextWhenWriteFails(t *testing.T) {
	v := newVaultEnv(t)
	const typed = "Typed with care.\nSecond line.\n"
	v.editor(t, `
echo "$1" > OUT/path
touch OUT/ready
while [ ! -e OUT/go ]; do sleep 0.05; done
printf 'Typed with care.\nSecond line.\n' > "$1"
`)
	p := v.startNoteAddArgs(t, true, "--agreement", v.agr, "--kind", "session", "--title", "It's late", "--tag", "x y", "-i", "alice.key")
	waitForFile(t, filepath.Join(v.dir, "ready"))
	// Another process takes the vault while the editor is open.
	lock, err := os.OpenFile(filepath.Join(v.dir, "vault", "lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("the editor is open and the vault is still held: %v", err)
	}
	if err := os.WriteFile(filepath.Join(v.dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := p.wait(t)
	syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	m := keptRE.FindStringSubmatch(stderr)
	if code != exitFailure || stdout != "" || m == nil {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	cause, kept, retry := m[1], m[2], m[3]
	if cause != "vault is busy: another notevault command is using it; try again in a moment" {
		t.Errorf("cause %q", cause)
	}
	keptDir := filepath.Join(v.dir, "run", "notevault-kept")
	if filepath.Dir(kept) != keptDir || !regexp.MustCompile(`^note-\d{8}T\d{6}Z-\d+\.txt$`).MatchString(filepath.Base(kept)) {
		t.Errorf("kept in %s, want %s/note-TIME-N.txt", kept, keptDir)
	}
	if got := readTrim(t, kept); got+"\n" != typed {
		t.Errorf("kept %q, want %q", got, typed)
	}
	for path, want := range map[string]os.FileMode{kept: 0o600, keptDir: 0o700 | os.ModeDir} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want mode %v", path, fi, err, want)
		}
	}
	wantRetry := "notevault note add --agreement " + v.agr + ` --kind session --title 'It'\''s late' --tag 'x y' --file ` + kept + " -i alice.key"
	if retry != wantRetry {
		t.Errorf("retry command\n%s\nwant\n%s", retry, wantRetry)
	}
	assertGone(t, filepath.Dir(readTrim(t, filepath.Join(v.dir, "path"))))
	if n := v.notes(t); n != "[]" {
		t.Fatalf("a note was written: %s", n)
	}

	// The next editor run sweeps what dead runs left, not the kept text.
	v.editor(t, "printf 'another note\\n' > \"$1\"\n")
	if code, _, stderr := v.startNoteAdd(t, true).wait(t); code != 0 {
		t.Fatalf("next run: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("the next editor run removed the kept text: %v", err)
	}

	// The printed command, pasted into a shell, writes the note.
	cmd := exec.Command("/bin/sh", "-c", retry)
	cmd.Dir, cmd.Env = v.dir, v.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", retry, err, errb.String())
	}
	if !strings.Contains(errb.String(), "notevault: removed the kept text "+kept+"\n") {
		t.Errorf("retry stderr %q", errb.String())
	}
	assertGone(t, kept)
	id := strings.TrimSpace(out.String())
	show := v.nv(t, "note", "show", "--json", id, "-i", "bob.key")
	for _, want := range []string{`"title": "It's late"`, `"x y"`, `"body": "Typed with care.\nSecond line.\n"`} {
		if !strings.Contains(show, want) {
			t.Errorf("note show --json lacks %s:\n%s", want, show)
		}
	}
}

// When even keeping the text fails (here the kept directory's name is taken
// by a file), the text is written back to the terminal it was typed on, and
// the error says so. The vault was moved away while the editor ran.
func TestNoteAddEditorPrintsTextItCannotKeep(t *testing.T) {
	v := newVaultEnv(t)
	if err := os.WriteFile(filepath.Join(v.dir, "run", "notevault-kept"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	v.editor(t, `
mv OUT/vault OUT/vault.away
printf 'Words worth keeping.\n' > "$1"
`)
	p := v.startNoteAddArgs(t, true, "--agreement", v.agr, "--kind", "session", "-i", "alice.key")
	screen := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, p.master) // until EIO: every holder of the terminal is gone
		screen <- strings.ReplaceAll(b.String(), "\r\n", "\n")
	}()
	code, stdout, stderr := p.wait(t)
	want := regexp.MustCompile(`^notevault: error: note not written: \S+/vault: no vault here \(run notevault init first\); ` +
		`what you typed could not be kept \(the editor directory \S+/notevault-kept is not a directory; refusing to use it\), so it is printed on the terminal above\n` +
		`notevault: hint: run notevault init \(or give --vault DIR\)\n$`)
	if code != exitFailure || stdout != "" || !want.MatchString(stderr) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := <-screen; !strings.Contains(got, "----- the note you typed, not written -----\nWords worth keeping.\n----- end of the note -----\n") {
		t.Errorf("the terminal showed %q", got)
	}
}
