package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// runOnTerminal runs notevault with args in v, its stdout a pseudo-terminal,
// and returns what the terminal received (the terminal turns \n into \r\n),
// stderr and the exit code.
func (v *vaultEnv) runOnTerminal(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command("notevault", args...)
	cmd.Dir, cmd.Env = v.dir, v.env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = slave, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	// Reading the master fails with EIO once the child closed the terminal.
	if _, err := io.Copy(&out, master); err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), stderr.String(), code
}

// A note body with escape sequences is shown on a terminal with them
// escaped; piped, the same command passes the body on byte for byte (the
// control, which also shows the body really holds them).
func TestNoteShowToTerminal(t *testing.T) {
	v := newVaultEnv(t)
	body := "clear \x1b[2J screen, \x1b]52;c;Y3VybA==\x07 clipboard\ttab\n"
	if err := os.WriteFile(filepath.Join(v.dir, "body.txt"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	id := v.nv(t, "note", "add", "--agreement", v.agr, "--kind", "session", "--file", "body.txt", "-i", "alice.key")

	got, _, code := v.runOnTerminal(t, "note", "show", id, "-i", "bob.key")
	want := `clear \x1b[2J screen, \x1b]52;c;Y3VybA==\x07 clipboard` + "\ttab\n"
	if code != 0 || got != want {
		t.Errorf("on a terminal: exit %d, printed %q, want %q", code, got, want)
	}
	if piped := v.nv(t, "note", "show", id, "-i", "bob.key"); piped != strings.TrimSpace(body) {
		t.Errorf("piped: %q, want %q", piped, body)
	}
}

// identity new --out - on a terminal writes the identity, as age-keygen
// does, after a warning; the same to a pipe has no warning (the control).
func TestIdentityNewToTerminalWarns(t *testing.T) {
	v := newVaultEnv(t)
	const warning = "notevault: warning: writing the secret key to the terminal, whose scrollback keeps it; redirect --out - to a file or a secret store instead\n"
	out, stderr, code := v.runOnTerminal(t, "identity", "new", "--out", "-")
	if code != 0 || !strings.Contains(out, "\nAGE-SECRET-KEY-PQ-1") || !strings.HasPrefix(stderr, warning) {
		t.Errorf("on a terminal: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	cmd := exec.Command("notevault", "identity", "new", "--out", "-")
	cmd.Dir, cmd.Env = v.dir, v.env
	var pipeErr bytes.Buffer
	cmd.Stderr = &pipeErr
	if out, err := cmd.Output(); err != nil || !bytes.Contains(out, []byte("\nAGE-SECRET-KEY-PQ-1")) || strings.Contains(pipeErr.String(), "warning") {
		t.Errorf("piped: %v, stdout %q, stderr %q", err, out, pipeErr.String())
	}
	if _, err := os.Lstat(filepath.Join(v.dir, "-")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file named - was created (%v)", err)
	}
}

// note export --out - refuses to put binary on a terminal, before the export
// (so nothing is audited as exported); piped, it exports (the control).
func TestNoteExportRefusesTerminal(t *testing.T) {
	v := newVaultEnv(t)
	if err := os.WriteFile(filepath.Join(v.dir, "body.txt"), []byte("exported\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := v.nv(t, "note", "add", "--agreement", v.agr, "--kind", "session", "--file", "body.txt", "-i", "alice.key")
	out, stderr, code := v.runOnTerminal(t, "note", "export", id, "--out", "-", "-i", "bob.key")
	want := "notevault: error: refusing to write a binary age file to the terminal\n" +
		"notevault: hint: redirect it (--out - > F.age) or pipe it (--out - | age -d -i YOUR-IDENTITY)\n"
	if code != exitFailure || out != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and\n%s", code, out, stderr, want)
	}
	if log := v.nv(t, "audit", "log"); strings.Contains(log, "note.export") {
		t.Errorf("the refused export was audited:\n%s", log)
	}
	if age := v.nv(t, "note", "export", id, "--out", "-", "-i", "bob.key"); !strings.HasPrefix(age, "age-encryption.org/v1\n") {
		t.Errorf("piped export printed %q", age)
	}
}
