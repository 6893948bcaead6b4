package identity

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"filippo.io/age/armor"
)

func TestWriteFileLoadPlain(t *testing.T) {
	id, err := Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.txt")
	if err := WriteFile(path, id, nil); err != nil {
		t.Fatal(err)
	}
	checkMode0600(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, id.Encode()) {
		t.Error("plain file is not id.Encode()")
	}
	called := false
	back, err := Load(path, func() ([]byte, error) { called = true; return []byte("x"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("passphrase asked for an unencrypted file")
	}
	if !back.Public().Equal(id.Public()) {
		t.Error("loaded another key")
	}
}

func checkMode0600(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if insecure, err := Insecure(path); err != nil || insecure {
		t.Errorf("Insecure(0600 file) = %v, %v", insecure, err)
	}
}

func TestWriteFileLoadPassphrase(t *testing.T) {
	for _, pq := range []bool{true, false} {
		id, err := Generate(pq)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "key.age")
		pass := []byte("correct horse battery staple")
		if err := WriteFile(path, id, pass); err != nil {
			t.Fatal(err)
		}
		checkMode0600(t, path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(armor.Header+"\n")) || bytes.Contains(data, []byte("AGE-SECRET-KEY")) ||
			bytes.Contains(data, []byte(id.Public().Recipient)) {
			t.Fatalf("encrypted file is not an armored age file hiding the key:\n%.200s", data)
		}

		calls := 0
		back, err := Load(path, func() ([]byte, error) { calls++; return bytes.Clone(pass), nil })
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 || !back.Public().Equal(id.Public()) || back.PostQuantum() != pq {
			t.Fatalf("calls = %d, same key = %v", calls, back.Public().Equal(id.Public()))
		}

		_, err = Load(path, func() ([]byte, error) { return []byte("wrong"), nil })
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("wrong passphrase: error = %v", err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "identity file "+`"`+path+`": `) {
			t.Errorf("error %q does not name the file", err)
		}

		_, err = Load(path, nil)
		if !errors.Is(err, ErrPassphraseRequired) {
			t.Errorf("no passphrase func: error = %v", err)
		}

		promptErr := errors.New("no tty")
		if _, err = Load(path, func() ([]byte, error) { return nil, promptErr }); !errors.Is(err, promptErr) {
			t.Errorf("prompt failure: error = %v", err)
		}
	}
}

func TestWriteFileRefusesOverwrite(t *testing.T) {
	id, _ := Generate(false)
	path := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, pass := range [][]byte{nil, []byte("pw")} {
		err := WriteFile(path, id, pass)
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("WriteFile over an existing file: error = %v, want fs.ErrExist", err)
		}
	}
	if data, _ := os.ReadFile(path); string(data) != "precious" {
		t.Errorf("existing file was changed to %q", data)
	}
}

func TestWriteFileErrorsLeaveNoFile(t *testing.T) {
	id, _ := Generate(false)
	dir := t.TempDir()
	// An empty (non-nil) passphrase is refused before anything is created.
	path := filepath.Join(dir, "key.age")
	if err := WriteFile(path, id, []byte{}); err == nil {
		t.Fatal("empty passphrase accepted")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file left behind: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "key.txt"), id, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestInsecure(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits are meaningless on Windows")
	}
	path := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(path, []byte(katAgeSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	for mode, want := range map[os.FileMode]bool{0o600: false, 0o400: false, 0o640: true, 0o604: true, 0o620: true, 0o644: true} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if got, err := Insecure(path); err != nil || got != want {
			t.Errorf("Insecure(%v) = %v, %v; want %v", mode, got, err, want)
		}
	}
	if _, err := Insecure(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Insecure of a missing file: no error")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), 10<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, nil); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized file: error = %v", err)
	}
	missing := filepath.Join(dir, "missing")
	_, err := Load(missing, nil)
	if !errors.Is(err, fs.ErrNotExist) || strings.Count(err.Error(), missing) != 1 {
		t.Errorf("missing file: error = %v", err)
	}
	leaky := filepath.Join(dir, "leaky")
	os.WriteFile(leaky, []byte("oops "+katAgeSecret+"\n"), 0o600)
	if _, err := Load(leaky, nil); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("malformed file: error = %v", err)
	}
}
