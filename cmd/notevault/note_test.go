package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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

func TestEditBodyUsesShmAndRemovesIt(t *testing.T) {
	if fi, err := os.Stat(shmDir); err != nil || !fi.IsDir() {
		t.Skip("no /dev/shm")
	}
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	editor := filepath.Join(dir, "editor.sh")
	script := "#!/bin/sh\necho \"$1\" > " + seen + "\nstat -c %a \"$1\" >> " + seen + "\nprintf 'written in the editor\\n' > \"$1\"\n"
	if err := os.WriteFile(editor, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	e := testEnv(map[string]string{"EDITOR": editor})
	body, err := editBody(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "written in the editor\n" {
		t.Errorf("body = %q", body)
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], shmDir+"/") || lines[1] != "600" {
		t.Fatalf("editor saw %q, want a 0600 file under %s", b, shmDir)
	}
	if _, err := os.Stat(lines[0]); !os.IsNotExist(err) {
		t.Errorf("temporary file %s was not removed: %v", lines[0], err)
	}
}

func TestEditBodyRemovesFileWhenEditorFails(t *testing.T) {
	if fi, err := os.Stat(shmDir); err != nil || !fi.IsDir() {
		t.Skip("no /dev/shm")
	}
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	editor := filepath.Join(dir, "editor.sh")
	script := "#!/bin/sh\necho \"$1\" > " + seen + "\nexit 1\n"
	if err := os.WriteFile(editor, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := editBody(testEnv(map[string]string{"EDITOR": editor})); err == nil {
		t.Fatal("editBody succeeded with a failing editor")
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(strings.TrimSpace(string(b))); !os.IsNotExist(err) {
		t.Errorf("temporary file was not removed: %v", err)
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
