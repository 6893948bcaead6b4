package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An import shows a progress bar when stderr is a terminal, and prints
// nothing but its summary there otherwise (the control).
func TestImportProgressOnTerminal(t *testing.T) {
	v := newVaultEnv(t)
	var lines strings.Builder
	for i := range 300 {
		fmt.Fprintf(&lines, "{\"title\": \"t%d\", \"body\": \"b%d\\n\"}\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(v.dir, "notes.jsonl"), []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"note", "import", "--agreement", v.agr, "--kind", "session", "notes.jsonl", "-i", "alice.key"}

	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command("notevault", args...)
	cmd.Dir, cmd.Env = v.dir, v.env
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var term bytes.Buffer
	if _, err := io.Copy(&term, master); err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("import on a terminal: %v\n%s", err, term.String())
	}
	if got := strings.Count(stdout.String(), "\n"); got != 300 {
		t.Errorf("printed %d ids, want 300", got)
	}
	if !strings.Contains(term.String(), "importing") || !strings.Contains(term.String(), "300/300") {
		t.Errorf("no progress bar on the terminal: %q", term.String())
	}

	// Piped: the summary alone (every item was imported by the run above).
	c := exec.Command("notevault", args...)
	c.Dir, c.Env = v.dir, v.env
	var errOut bytes.Buffer
	c.Stderr = &errOut
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errOut.String(), "importing") || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("piped stderr: %q", errOut.String())
	}
}
