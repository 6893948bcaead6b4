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
// and returns what the terminal received (the terminal turns \n into \r\n)
// and the exit code.
func (v *vaultEnv) runOnTerminal(t *testing.T, args ...string) (string, int) {
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
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), code
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

	got, code := v.runOnTerminal(t, "note", "show", id, "-i", "bob.key")
	want := `clear \x1b[2J screen, \x1b]52;c;Y3VybA==\x07 clipboard` + "\ttab\n"
	if code != 0 || got != want {
		t.Errorf("on a terminal: exit %d, printed %q, want %q", code, got, want)
	}
	if piped := v.nv(t, "note", "show", id, "-i", "bob.key"); piped != strings.TrimSpace(body) {
		t.Errorf("piped: %q, want %q", piped, body)
	}
}
