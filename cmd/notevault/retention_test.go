package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
