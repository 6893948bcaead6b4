package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/notevault/notevault/retention"
	"github.com/notevault/notevault/vault"
)

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRetentionDaemonSIGTERM runs the daemon in this process and sends the
// process SIGTERM, which the daemon catches: it must stop and return nil.
func TestRetentionDaemonSIGTERM(t *testing.T) {
	if _, err := exec.LookPath("true"); err != nil {
		t.Skip("no POSIX userland")
	}
	dir := filepath.Join(t.TempDir(), "vault")
	if err := vault.Init(dir); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	state := filepath.Join(t.TempDir(), "state")
	getenv := func(key string) string {
		if key == "NOTEVAULT_STATE_DIR" {
			return state
		}
		return ""
	}
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: getenv, now: time.Now}
	done := make(chan error, 1)
	go func() {
		done <- execute(context.Background(), []string{"--vault", dir, "retention", "daemon", "--every", "1h"}, e)
	}()
	// The first sweep is logged after the signal handler is installed.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "sweep done") {
		if time.Now().After(deadline) {
			t.Fatalf("no sweep within 20s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if code := exitCode(err); code != exitOK {
			t.Fatalf("daemon exit code %d (%v), want 0", code, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("daemon did not stop on SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=stopping") {
		t.Errorf("stderr lacks msg=stopping:\n%s", stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}

// The crontab example quotes the line a sweep prints; it must be the line
// sweepLine prints for the summary it describes.
func TestCrontabQuotesSweepLine(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "crontab"))
	if err != nil {
		t.Fatal(err)
	}
	var quoted string
	for _, line := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(strings.TrimPrefix(line, "#")); strings.HasPrefix(s, "swept:") {
			quoted = s
		}
	}
	if quoted == "" {
		t.Fatal("docs/examples/crontab quotes no sweep line (# swept: ...)")
	}
	sum := &retention.Summary{
		Destroyed:   make([]vault.Receipt, 2),
		GrantsEnded: []string{"g-1"},
		Held:        []string{"n-1"},
		NextDue:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if got := sweepLine(sum); got != quoted {
		t.Errorf("docs/examples/crontab quotes\n\t%s\nbut the sweep prints\n\t%s", quoted, got)
	}
}

func TestSweepLine(t *testing.T) {
	for _, tc := range []struct {
		sum  retention.Summary
		want string
	}{
		{retention.Summary{}, "swept: 0 notes destroyed, 0 grants ended, 0 held; no note due later"},
		{retention.Summary{Destroyed: make([]vault.Receipt, 1), GrantsEnded: []string{"g-1", "g-2"}, NextDue: time.Date(2026, 4, 1, 12, 30, 5, 0, time.UTC)},
			"swept: 1 note destroyed, 2 grants ended, 0 held; next due 2026-04-01T12:30:05Z"},
		{retention.Summary{DryRun: true, Destroyed: make([]vault.Receipt, 3), GrantsEnded: []string{"g-1"}, Held: []string{"n-1", "n-2"}},
			"dry run: 3 notes would be destroyed, 1 grant would end, 2 held; no note due later"},
	} {
		if got := sweepLine(&tc.sum); got != tc.want {
			t.Errorf("sweepLine = %q, want %q", got, tc.want)
		}
	}
}
