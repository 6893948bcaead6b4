package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// initVault makes a closed, initialised vault and returns its directory.
func initVault(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	if err := Init(dir); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return dir
}

func openClose(t *testing.T, dir string) error {
	t.Helper()
	v, err := Open(context.Background(), dir, Options{})
	if err != nil {
		return err
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return nil
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// Before this was fixed, Init in an existing 0777 directory left it 0777
// (MkdirAll does not touch a directory that exists): the negative control.
func TestInitMakesExistingDirectoryPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, 0o777) // explicitly: the umask would mask a Mkdir mode
	if err := Init(dir); err != nil {
		t.Fatalf("Init: %v", err)
	}
	for _, sub := range privateDirs {
		st, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o700 {
			t.Errorf("%s has mode %04o after Init, want 0700", sub, got)
		}
	}
	if err := openClose(t, dir); err != nil {
		t.Fatalf("Open after Init: %v", err)
	}
}

// An attacker who can write a vault directory can plant links, replace the
// store or remove shred keys, so Open refuses a vault whose directories are
// writable by group or others. The control: modes that only let others read
// still open (the refusal is about writing, not about any bit at all), and
// the same vault opens again once it is made private.
func TestOpenRefusesDirectoriesWritableByOthers(t *testing.T) {
	dir := initVault(t)
	for _, sub := range privateDirs {
		p := filepath.Join(dir, sub)
		for _, mode := range []os.FileMode{0o777, 0o770, 0o720, 0o702, 0o777 | os.ModeSticky} {
			chmod(t, p, mode)
			err := openClose(t, dir)
			var ie *InsecureError
			if !errors.Is(err, ErrInsecure) || !errors.As(err, &ie) {
				t.Fatalf("%s mode %04o: Open err = %v, want ErrInsecure", sub, mode, err)
			}
			if ie.Path != p {
				t.Errorf("%s mode %04o: error names %s, want %s", sub, mode, ie.Path, p)
			}
			if want := fmt.Sprintf("vault directory %s is writable by others (mode %04o)", p, mode.Perm()); err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
		}
		for _, mode := range []os.FileMode{0o755, 0o750, 0o700} {
			chmod(t, p, mode)
			if err := openClose(t, dir); err != nil {
				t.Fatalf("%s mode %04o: Open: %v", sub, mode, err)
			}
		}
	}
}
