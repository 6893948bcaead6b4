package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func testEnv(vars map[string]string) *env {
	return &env{
		stdin:   strings.NewReader(""),
		stdout:  new(bytes.Buffer),
		stderr:  new(bytes.Buffer),
		getenv:  func(k string) string { return vars[k] },
		now:     time.Now,
		openTTY: func() (*os.File, error) { return nil, errors.New("no tty") },
	}
}

func TestPassphraseWithoutTTY(t *testing.T) {
	_, err := passphrase(&globals{}, testEnv(nil), "passphrase", false)
	want := "identity file is passphrase-protected; give --passphrase-file or run in a terminal"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("x"), 1},
		{usagef("x"), 2},
		{&exitError{code: 3}, 3},
	} {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}
