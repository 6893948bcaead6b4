package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// These tests run notevault as its own process, as a user would: in a new
// session whose controlling terminal is a pseudo-terminal, so that stdin is a
// terminal and note add takes the $EDITOR path, and so that the terminal can
// send Ctrl-C and hang up. They are Linux-only for the pseudo-terminal ioctls.

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), req, uintptr(arg)); errno != 0 {
			t.Fatalf("ioctl %#x: %v", req, errno)
		}
	}
	var unlock int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	return m, s
}

// vaultEnv is a vault with alice (mentor) and bob (mentee) who accepted an
// agreement, and the environment to run notevault on it.
type vaultEnv struct {
	dir string   // holds vault/, alice.key, ..., run/ ($XDG_RUNTIME_DIR)
	env []string // for every notevault process
	agr string   // the agreement id
}

func (v *vaultEnv) root() string { return filepath.Join(v.dir, "run", "notevault-edit") }

// nv runs notevault with stdin not a terminal and returns its stdout.
func (v *vaultEnv) nv(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("notevault", args...)
	cmd.Dir, cmd.Env = v.dir, v.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("notevault %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// notes is what note list --json says: "[]" when no note was written.
func (v *vaultEnv) notes(t *testing.T) string {
	t.Helper()
	return v.nv(t, "note", "list", "--json")
}

func newVaultEnv(t *testing.T) *vaultEnv {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	v := &vaultEnv{dir: dir}
	// Under -race every process sleeps a second before it exits, to catch
	// late races; a dozen processes per test make that the whole run time.
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		switch k, val, _ := strings.Cut(kv, "="); k {
		case "NOTEVAULT_DIR", "NOTEVAULT_IDENTITY", "NOTEVAULT_PASSPHRASE_FILE", "XDG_DATA_HOME",
			"XDG_RUNTIME_DIR", "HOME", "VISUAL", "EDITOR":
		case "GORACE":
			gorace = val + " " + gorace
		default:
			v.env = append(v.env, kv)
		}
	}
	v.env = append(v.env, "NOTEVAULT_DIR="+filepath.Join(dir, "vault"), "HOME="+dir, "GORACE="+gorace,
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"), "EDITOR="+filepath.Join(dir, "editor.sh"))
	agreement := `name: Alice mentors Bob
mentor: alice
mentee: bob
supervisors: [carol]
purpose: Land a data-science role within 6 months
cadence: biweekly 30-minute video calls
boundaries: [no personal financial advice]
success_criteria:
  - ship a portfolio project by 2027-03-01
review: quarterly
confidentiality:
  readers: {session: [mentor, mentee], reflection: [author], summary: [author, mentee]}
  exceptions: [risk-of-harm]
retention: {session: 365d, reflection: 90d, summary: 180d}
`
	if err := os.WriteFile(filepath.Join(dir, "agreement.yaml"), []byte(agreement), 0o600); err != nil {
		t.Fatal(err)
	}
	v.nv(t, "init")
	for _, p := range [][2]string{{"alice", "mentor"}, {"bob", "mentee"}, {"carol", "supervisor"}} {
		key := v.nv(t, "identity", "new", "--out", p[0]+".key")
		v.nv(t, "participant", "add", p[0], "--role", p[1], "--key", key)
	}
	v.agr = v.nv(t, "agreement", "create", "--file", "agreement.yaml")
	v.nv(t, "agreement", "accept", v.agr, "-i", "alice.key")
	v.nv(t, "agreement", "accept", v.agr, "-i", "bob.key")
	return v
}

// editor installs the fake $EDITOR; OUT in script stands for v.dir.
func (v *vaultEnv) editor(t *testing.T, script string) {
	t.Helper()
	script = "#!/bin/sh\n" + strings.ReplaceAll(script, "OUT", v.dir)
	if err := os.WriteFile(filepath.Join(v.dir, "editor.sh"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
}

// How a sleeping fake editor takes SIGTERM.
type onTERM int

const (
	dieOnTERM  onTERM = iota // the default action
	recordTERM               // note it in OUT/term, then exit 0 as vim does
	ignoreTERM               // carry on sleeping
)

// sleepingEditor records the file and its own pid, writes a body that a
// successful run would store, says it is ready and sleeps like a user who is
// still typing. It sleeps longer than wait waits, so that an editor nobody
// stops fails the test. The test's cleanup kills it if it is still there.
func (v *vaultEnv) sleepingEditor(t *testing.T, term onTERM) {
	t.Helper()
	trap, sleep := "", "exec sleep 120\n"
	switch term {
	case recordTERM:
		// The sleep runs in the background so that the shell can run the
		// trap at once rather than after the sleep.
		trap = "trap 'echo TERM > OUT/term; [ -z \"$!\" ] || kill $!; exit 0' TERM\n"
		sleep = "sleep 120 &\nwait\n"
	case ignoreTERM:
		trap = "trap '' TERM\n"
	}
	// The trap is set before the test is told it may send signals.
	v.editor(t, `
echo "$1" > OUT/path
echo $$ > OUT/pid
printf 'plaintext that must not be stored\n' > "$1"
`+trap+`touch OUT/ready
`+sleep)
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(v.dir, "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && !pidGone(pid, 0) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// noteAdd is a running notevault note add with a pseudo-terminal as stdin.
type noteAdd struct {
	cmd            *exec.Cmd
	master         *os.File
	stdout, stderr string // files
	done           chan struct{}
}

// With ownSession it leads a session of its own with the terminal as its
// controlling terminal, so that it and its editor are the terminal's
// foreground process group and get Ctrl-C and hang-ups from it. Without, it
// stays in the test's session, like a command started from a shell that
// lives on after it.
func (v *vaultEnv) startNoteAdd(t *testing.T, ownSession bool) *noteAdd {
	t.Helper()
	return v.startNoteAddArgs(t, ownSession, "--agreement", v.agr, "--kind", "session", "-i", "alice.key")
}

// startNoteAddArgs is startNoteAdd with the arguments after note add.
func (v *vaultEnv) startNoteAddArgs(t *testing.T, ownSession bool, args ...string) *noteAdd {
	t.Helper()
	master, slave := openPTY(t)
	defer slave.Close()
	p := &noteAdd{master: master, stdout: filepath.Join(t.TempDir(), "stdout"), stderr: filepath.Join(t.TempDir(), "stderr"), done: make(chan struct{})}
	t.Cleanup(func() { master.Close() })
	// Files rather than pipes: an editor that outlived notevault would hold
	// a pipe open and make Wait hang instead of failing the test.
	stdout, err := os.Create(p.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	p.cmd = exec.Command("notevault", append([]string{"note", "add"}, args...)...)
	p.cmd.Dir, p.cmd.Env = v.dir, v.env
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, stdout, stderr
	if ownSession {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for notevault to exit and returns its exit code, stdout and
// stderr.
func (p *noteAdd) wait(t *testing.T) (int, string, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second): // well under the sleeping editor's 120 s
		t.Fatal("notevault did not exit")
	}
	out, _ := os.ReadFile(p.stdout)
	errb, _ := os.ReadFile(p.stderr)
	return p.cmd.ProcessState.ExitCode(), string(out), string(errb)
}

// pidGone reports whether pid has exited, waiting up to d. A zombie counts as
// gone: an orphan is reaped by init, which in a container may never happen.
func pidGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		// pid (comm) STATE ...
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (v *vaultEnv) editorPid(t *testing.T) int {
	t.Helper()
	pid, err := strconv.Atoi(readTrim(t, filepath.Join(v.dir, "pid")))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// SIGINT, SIGTERM or SIGHUP to notevault, Ctrl-C on its terminal or the
// terminal hanging up, while the editor runs: no note, the editor stopped,
// the file gone, exit 1 with one sentence. The control subtest is the same
// run without a signal, which does store the note, so the empty note list in
// the others means the signal stopped it.
func TestNoteAddEditorInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		term      onTERM
		interrupt func(t *testing.T, p *noteAdd)
	}{
		// A signal for notevault alone: notevault asks the editor to quit
		// with SIGTERM, which lets a real editor restore the terminal.
		{name: "SIGINT", term: recordTERM, interrupt: signalTo(syscall.SIGINT)},
		{name: "SIGTERM", term: recordTERM, interrupt: signalTo(syscall.SIGTERM)},
		{name: "SIGHUP", term: recordTERM, interrupt: signalTo(syscall.SIGHUP)},
		// The terminal signals notevault and the editor alike (same process
		// group); the sleeping editor dies of it by itself.
		{name: "ctrl-c on the terminal", interrupt: func(t *testing.T, p *noteAdd) {
			if _, err := p.master.Write([]byte{3}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "terminal hangs up", interrupt: func(t *testing.T, p *noteAdd) { p.master.Close() }},
		// An editor deaf to SIGTERM is killed editorGrace later.
		{name: "SIGTERM, editor ignores it", term: ignoreTERM, interrupt: signalTo(syscall.SIGTERM)},
		{name: "control: no signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVaultEnv(t)
			if tc.interrupt == nil {
				v.editor(t, `
echo "$1" > OUT/path
printf 'the editor saved this\n' > "$1"
`)
			} else {
				v.sleepingEditor(t, tc.term)
			}
			p := v.startNoteAdd(t, true)
			if tc.interrupt != nil {
				waitForFile(t, filepath.Join(v.dir, "ready"))
				tc.interrupt(t, p)
			}
			code, stdout, stderr := p.wait(t)
			path := readTrim(t, filepath.Join(v.dir, "path"))
			assertGone(t, path)
			assertGone(t, filepath.Dir(path))
			if tc.interrupt == nil {
				if code != 0 || !strings.HasPrefix(stdout, "n-") {
					t.Fatalf("control: exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
				if n := v.notes(t); !strings.Contains(n, strings.TrimSpace(stdout)) {
					t.Fatalf("control: the note is not listed: %s", n)
				}
				return
			}
			if code != exitFailure || stdout != "" || stderr != "notevault: error: note not written: interrupted\n" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, the interrupted sentence", code, stdout, stderr)
			}
			// notevault waited for its editor, so there is no process left
			// (not even a zombie) to find.
			if pid := v.editorPid(t); !pidGone(pid, 0) {
				t.Errorf("the editor (pid %d) outlived notevault", pid)
			}
			if n := v.notes(t); n != "[]" {
				t.Errorf("a note was written: %s", n)
			}
			if _, err := os.Stat(filepath.Join(v.dir, "term")); tc.term == recordTERM && err != nil {
				t.Errorf("the editor was not sent SIGTERM: %v", err)
			}
		})
	}
}

func signalTo(sig syscall.Signal) func(*testing.T, *noteAdd) {
	return func(t *testing.T, p *noteAdd) {
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
}

// kill -9 cannot be caught: the run directory stays behind, but the editor
// is told to quit (parent-death signal), and the next run wipes the file
// before its editor opens, then stores its own note. notevault does not lead
// a session here: if it did, its death would hang up the terminal and send
// the editor SIGHUP anyway, and the test could not tell that the
// parent-death signal works.
func TestNoteAddEditorAfterKill9(t *testing.T) {
	v := newVaultEnv(t)
	v.sleepingEditor(t, dieOnTERM)
	p := v.startNoteAdd(t, false)
	waitForFile(t, filepath.Join(v.dir, "ready"))
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := p.wait(t); code != -1 {
		t.Fatalf("exit code %d, want death by signal", code)
	}
	if pid := v.editorPid(t); !pidGone(pid, 10*time.Second) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the editor (pid %d) kept running after notevault was killed", pid)
	}
	stale := readTrim(t, filepath.Join(v.dir, "path"))
	if b, err := os.ReadFile(stale); err != nil || len(b) == 0 {
		// Without this, the check below that the next run removed it
		// would prove nothing.
		t.Fatalf("the killed run left no file to clean up: %q, %v", b, err)
	}

	v.editor(t, `
if [ -e `+stale+` ] || [ -e `+filepath.Dir(stale)+` ]; then echo present; else echo absent; fi > OUT/stale
printf 'the second try\n' > "$1"
`)
	code, stdout, stderr := v.startNoteAdd(t, true).wait(t)
	if code != 0 {
		t.Fatalf("second run: exit %d, stderr %q", code, stderr)
	}
	if got := readTrim(t, filepath.Join(v.dir, "stale")); got != "absent" {
		t.Errorf("the killed run's file was %s while the next editor ran", got)
	}
	assertGone(t, filepath.Dir(stale))
	if ents, err := os.ReadDir(v.root()); err != nil || len(ents) != 0 {
		t.Errorf("%s holds %v (%v), want nothing", v.root(), ents, err)
	}
	id := strings.TrimSpace(stdout)
	if got := v.nv(t, "note", "show", id, "-i", "bob.key"); got != "the second try" {
		t.Errorf("stored body %q", got)
	}
}

// An editor that leaves the file empty writes no note.
func TestNoteAddEditorEmptyBody(t *testing.T) {
	v := newVaultEnv(t)
	v.editor(t, "echo \"$1\" > OUT/path\n")
	code, stdout, stderr := v.startNoteAdd(t, true).wait(t)
	if code != exitFailure || stdout != "" || stderr != "notevault: error: the note body is empty; nothing was written\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	assertGone(t, filepath.Dir(readTrim(t, filepath.Join(v.dir, "path"))))
	if n := v.notes(t); n != "[]" {
		t.Errorf("a note was written: %s", n)
	}
}
