package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeEditor writes a /bin/sh script to dir and returns its path. In the
// script, OUT stands for dir, where it leaves what it saw.
func fakeEditor(t *testing.T, dir, script string) string {
	t.Helper()
	p := filepath.Join(dir, "editor.sh")
	script = "#!/bin/sh\n" + strings.ReplaceAll(script, "OUT", dir)
	if err := os.WriteFile(p, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// lsModes parses `ls -lnd` output into path -> "mode uid", e.g.
// "drwx------ 1000" (ls, not stat -c, so that it reads the same on BSDs).
func lsModes(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || len(f[0]) < 10 {
			t.Fatalf("unexpected ls line %q", line)
		}
		m[f[len(f)-1]] = f[0][:10] + " " + f[2]
	}
	return m
}

func assertGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there (%v)", path, err)
	}
}

// The editor sees a 0600 file in a 0700 run directory in the 0700
// notevault-edit directory under $XDG_RUNTIME_DIR, all ours; afterwards the
// run directory is gone. The old code (os.CreateTemp in /dev/shm) fails the
// path check; a directory made with the umask's 0755 fails the mode check.
func TestEditBodyKeepsTheFilePrivate(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	editor := fakeEditor(t, out, `
echo "$1" > OUT/path
ls -lnd "$1" "$(dirname "$1")" "$(dirname "$(dirname "$1")")" > OUT/modes
printf 'written in the editor\n' > "$1"
`)
	body, err := editBody(context.Background(), testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "written in the editor\n" {
		t.Errorf("body = %q", body)
	}
	path := readTrim(t, filepath.Join(out, "path"))
	root := filepath.Join(run, "notevault-edit")
	session := filepath.Dir(path)
	if filepath.Base(path) != "note.txt" || filepath.Dir(session) != root ||
		!strings.HasPrefix(filepath.Base(session), strconv.Itoa(os.Getpid())+"-") {
		t.Fatalf("editor opened %s, want %s/PID-*/note.txt", path, root)
	}
	uid := strconv.Itoa(os.Getuid())
	modes := lsModes(t, readTrim(t, filepath.Join(out, "modes")))
	for p, want := range map[string]string{
		path:    "-rw------- " + uid,
		session: "drwx------ " + uid,
		root:    "drwx------ " + uid,
	} {
		if modes[p] != want {
			t.Errorf("while the editor ran, %s was %q, want %q", p, modes[p], want)
		}
	}
	assertGone(t, session)
	if ents, err := os.ReadDir(root); err != nil || len(ents) != 0 {
		t.Errorf("%s holds %v (%v), want nothing", root, ents, err)
	}
}

// Without $XDG_RUNTIME_DIR the file goes to a per-user directory in the real
// /dev/shm.
func TestEditBodyFallsBackToDevShm(t *testing.T) {
	if !isDir(shmDir) {
		t.Skip("this system has no /dev/shm")
	}
	out := t.TempDir()
	editor := fakeEditor(t, out, `
echo "$1" > OUT/path
printf 'in shm\n' > "$1"
`)
	body, err := editBody(context.Background(), testEnv(map[string]string{"EDITOR": editor}))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "in shm\n" {
		t.Errorf("body = %q", body)
	}
	path := readTrim(t, filepath.Join(out, "path"))
	root := filepath.Join(shmDir, "notevault-edit-"+strconv.Itoa(os.Getuid()))
	if filepath.Dir(filepath.Dir(path)) != root {
		t.Fatalf("editor opened %s, want a file under %s", path, root)
	}
	assertGone(t, filepath.Dir(path))
}

func TestEditRootChoosesMemory(t *testing.T) {
	uid := os.Getuid()
	run, shm := t.TempDir(), t.TempDir()
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name string
		xdg  string
		want string
	}{
		{"xdg runtime dir", run, filepath.Join(run, "notevault-edit")},
		{"no xdg runtime dir", "", filepath.Join(shm, fmt.Sprintf("notevault-edit-%d", uid))},
		{"xdg runtime dir missing", filepath.Join(run, "missing"), filepath.Join(shm, fmt.Sprintf("notevault-edit-%d", uid))},
		{"xdg runtime dir relative", "run", filepath.Join(shm, fmt.Sprintf("notevault-edit-%d", uid))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := editRoot(env(map[string]string{"XDG_RUNTIME_DIR": tc.xdg}), shm, uid)
			if err != nil || got != tc.want {
				t.Fatalf("editRoot = %q, %v; want %q", got, err, tc.want)
			}
			if fi, err := os.Lstat(got); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("%s: %v, %v; want a 0700 directory", got, fi, err)
			}
		})
	}
}

// With neither $XDG_RUNTIME_DIR nor /dev/shm there is no fallback to a
// disk-backed temporary directory: a refusal and a hint. The control is the
// same call with the shm directory present.
func TestEditRootRefusesWithoutMemory(t *testing.T) {
	tmp := t.TempDir()
	noShm := filepath.Join(tmp, "no-shm")
	getenv := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return filepath.Join(tmp, "no-runtime-dir")
		}
		return ""
	}
	_, err := editRoot(getenv, noShm, os.Getuid())
	var buf bytes.Buffer
	if code := reportError(&buf, err); code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	want := "notevault: error: nowhere in memory to keep the note while you edit it (no $XDG_RUNTIME_DIR directory, no " + noShm + "); refusing to put plaintext on disk\n" +
		"notevault: hint: give the body with --file or on stdin\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("refusing still created %v", ents)
	}

	if err := os.Mkdir(noShm, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := editRoot(getenv, noShm, os.Getuid()); err != nil {
		t.Fatalf("control: with a shm directory, editRoot failed: %v", err)
	}
}

// A notevault-edit that someone else could have made or could read is
// refused, and left as it is; the editor never runs.
func TestEditBodyRefusesUnsafeDirectory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
		err   string // "" for the control
		hint  string
	}{
		{
			// The target is ours and 0700: only the symlink rule refuses it.
			name: "symlink to a private directory",
			setup: func(t *testing.T, root string) {
				if err := os.Symlink(t.TempDir(), root); err != nil {
					t.Fatal(err)
				}
			},
			err:  "the editor directory ROOT is a symbolic link; refusing to use it",
			hint: "someone may have planted it: remove it, or give the body with --file or on stdin",
		},
		{
			name: "mode 0755",
			setup: func(t *testing.T, root string) {
				if err := os.Mkdir(root, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(root, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			err:  "the editor directory ROOT has mode 0755, not 0700; refusing to use it",
			hint: "if it is yours, chmod 700 ROOT; or give the body with --file or on stdin",
		},
		{
			name: "a file",
			setup: func(t *testing.T, root string) {
				if err := os.WriteFile(root, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			err:  "the editor directory ROOT is not a directory; refusing to use it",
			hint: "remove it, or give the body with --file or on stdin",
		},
		{
			// Control: the same directory, private, is used.
			name: "private directory",
			setup: func(t *testing.T, root string) {
				if err := os.Mkdir(root, 0o700); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, out := t.TempDir(), t.TempDir()
			root := filepath.Join(run, "notevault-edit")
			tc.setup(t, root)
			before, err := os.Lstat(root)
			if err != nil {
				t.Fatal(err)
			}
			editor := fakeEditor(t, out, "touch OUT/ran\nprintf 'body\\n' > \"$1\"\n")
			_, err = editBody(context.Background(), testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
			_, ranErr := os.Stat(filepath.Join(out, "ran"))
			if tc.err == "" {
				if err != nil || ranErr != nil {
					t.Fatalf("control: editBody = %v, editor ran: %v", err, ranErr == nil)
				}
				return
			}
			var buf bytes.Buffer
			reportError(&buf, err)
			want := "notevault: error: " + strings.ReplaceAll(tc.err, "ROOT", root) + "\n" +
				"notevault: hint: " + strings.ReplaceAll(tc.hint, "ROOT", root) + "\n"
			if buf.String() != want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
			}
			if ranErr == nil {
				t.Error("the editor ran")
			}
			after, err := os.Lstat(root)
			if err != nil || after.Mode() != before.Mode() {
				t.Errorf("%s changed from %v to %v (%v)", root, before.Mode(), after.Mode(), err)
			}
		})
	}
}

// Someone else's directory is refused; editRoot takes the uid so that this
// needs no second account. The control is the same directory and our uid.
func TestEditRootRefusesAnotherOwner(t *testing.T) {
	run := t.TempDir()
	getenv := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return run
		}
		return ""
	}
	root := filepath.Join(run, "notevault-edit")
	if _, err := editRoot(getenv, "/nonexistent", os.Getuid()); err != nil {
		t.Fatalf("control: %v", err)
	}
	other := os.Getuid() + 1
	_, err := editRoot(getenv, "/nonexistent", other)
	want := fmt.Sprintf("the editor directory %s belongs to uid %d, not to you (uid %d); refusing to use it", root, os.Getuid(), other)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

// What a killed run left (its run directory, with an editor's swap file) is
// overwritten and removed before the next editor opens; so is a stray file.
// The run directory of a live notevault, whose flock the test holds, is not
// touched: that is the control showing the sweep tells the two apart rather
// than emptying the directory.
func TestEditBodySweepsStaleRuns(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	root := filepath.Join(run, "notevault-edit")
	stale := filepath.Join(root, fmt.Sprintf("%d-stale", deadPid(t)))
	live := filepath.Join(root, fmt.Sprintf("%d-live", os.Getpid()))
	stray := filepath.Join(root, "stray.txt")
	for _, d := range []string{root, stale, live} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(stale, "note.txt"):      "stale plaintext",
		filepath.Join(stale, ".note.txt.swp"): "swap plaintext",
		filepath.Join(live, "note.txt"):       "live plaintext",
		stray:                                 "stray plaintext",
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Keep the stale note open: after the unlink its contents are still
	// readable here, and must be zeros.
	held, err := os.Open(filepath.Join(stale, "note.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	lock, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	editor := fakeEditor(t, out, `
for p in `+stale+` `+stray+` `+live+`/note.txt; do
	if [ -e "$p" ]; then echo "present $p"; else echo "absent $p"; fi
done > OUT/seen
printf 'new note\n' > "$1"
`)
	body, err := editBody(context.Background(), testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
	if err != nil || string(body) != "new note\n" {
		t.Fatalf("editBody = %q, %v", body, err)
	}
	want := "absent " + stale + "\nabsent " + stray + "\npresent " + live + "/note.txt"
	if got := readTrim(t, filepath.Join(out, "seen")); got != want {
		t.Errorf("while the editor ran:\n%s\nwant\n%s", got, want)
	}
	b := make([]byte, 64)
	n, _ := held.ReadAt(b, 0)
	if !bytes.Equal(b[:n], make([]byte, len("stale plaintext"))) {
		t.Errorf("the stale note was unlinked without being overwritten: %q", b[:n])
	}
	assertGone(t, stale)
	assertGone(t, stray)
	if got := readTrim(t, filepath.Join(live, "note.txt")); got != "live plaintext" {
		t.Errorf("the live run's note is now %q", got)
	}
}

// An editor that fails writes no note and leaves nothing behind.
func TestEditBodyEditorFails(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	editor := fakeEditor(t, out, `
echo "$1" > OUT/path
printf 'half a note\n' > "$1"
exit 3
`)
	_, err := editBody(context.Background(), testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
	want := fmt.Sprintf("note not written: the editor %q failed: exit status 3", editor)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	assertGone(t, filepath.Dir(readTrim(t, filepath.Join(out, "path"))))
}

// Editors that save by renaming a new file over the old one, and leave
// their own files beside it, are read by path and cleaned up entirely.
func TestEditBodyRenamingEditorAndLeftovers(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	editor := fakeEditor(t, out, `
echo "$1" > OUT/path
printf 'saved by rename\n' > "$1.new"
mv "$1.new" "$1"
printf 'swap copy\n' > "$(dirname "$1")/.note.txt.swp"
printf 'backup copy\n' > "$1~"
`)
	body, err := editBody(context.Background(), testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
	if err != nil || string(body) != "saved by rename\n" {
		t.Fatalf("editBody = %q, %v", body, err)
	}
	assertGone(t, filepath.Dir(readTrim(t, filepath.Join(out, "path"))))
}

// Cancelling (what SIGINT, SIGTERM and SIGHUP do) while the editor runs stops
// the editor, waits for it and removes the file. The signals themselves are
// sent to a real notevault process in editor_linux_test.go.
func TestEditBodyCancelStopsTheEditor(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	editor := fakeEditor(t, out, `
echo "$1" > OUT/path
echo $$ > OUT/pid
printf 'must not be kept\n' > "$1"
touch OUT/ready
exec sleep 60
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitForFile(t, filepath.Join(out, "ready"))
		cancel()
	}()
	start := time.Now()
	body, err := editBody(ctx, testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
	if !errors.Is(err, errInterrupted) || body != nil {
		t.Fatalf("editBody = %q, %v; want %v", body, err, errInterrupted)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("editBody took %v: it waited for the editor to finish instead of stopping it", d)
	}
	pid, err := strconv.Atoi(readTrim(t, filepath.Join(out, "pid")))
	if err != nil {
		t.Fatal(err)
	}
	// editBody waited for the editor, so it is reaped: no such process.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the editor (pid %d) is still running: %v", pid, err)
	}
	assertGone(t, filepath.Dir(readTrim(t, filepath.Join(out, "path"))))
}

// A signal that came before the editor could start: no editor, no file.
func TestEditBodyAlreadyInterrupted(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	editor := fakeEditor(t, out, "touch OUT/ran\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := editBody(ctx, testEnv(map[string]string{"XDG_RUNTIME_DIR": run, "EDITOR": editor}))
	if !errors.Is(err, errInterrupted) {
		t.Fatalf("err = %v, want %v", err, errInterrupted)
	}
	if _, err := os.Stat(filepath.Join(out, "ran")); err == nil {
		t.Error("the editor ran")
	}
	if ents, _ := os.ReadDir(filepath.Join(run, "notevault-edit")); len(ents) != 0 {
		t.Errorf("left %v behind", ents)
	}
}

// waitForFile polls for path, failing the test after 30 seconds.
func waitForFile(t *testing.T, path string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s did not appear", path)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
