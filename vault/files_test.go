package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/notevault/notevault/policy"
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

// withData makes a closed vault holding participants, an accepted agreement
// and a note, and returns it with the note's id.
func withData(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("kept", "KEPT BODY"))
	f.close()
	return f, n.ID
}

// wantIntact opens the vault and checks that what withData wrote reads back.
func wantIntact(t *testing.T, f *fixture, noteID string) {
	t.Helper()
	f.open()
	defer f.close()
	ps, err := f.v.Participants(f.ctx)
	if err != nil || len(ps) != 3 {
		t.Fatalf("Participants = %d, %v; want 3", len(ps), err)
	}
	got, err := f.v.ReadNote(f.ctx, noteID, f.bob)
	if err != nil || string(got.Content.Body) != "KEPT BODY" {
		t.Fatalf("ReadNote = %v", err)
	}
}

func wantDamaged(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open err = %v, want ErrDamaged", err)
	}
	if err.Error() != msg {
		t.Fatalf("Open err = %q, want %q", err, msg)
	}
}

// A vault marker with a missing or emptied store is refused. Before this was
// fixed, badger took each case for a new store: it opened empty, deleted
// every table its MANIFEST did not name, and the vault listed nothing with
// no error. The control after each refusal puts the MANIFEST back and finds
// every record: the refusal touched nothing.
func TestOpenRefusesMissingOrEmptiedStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, db string)
		why    string
	}{
		{"MANIFEST deleted", func(t *testing.T, db string) { remove(t, filepath.Join(db, manifestFile)) }, "no MANIFEST"},
		{"MANIFEST emptied", func(t *testing.T, db string) { truncate(t, filepath.Join(db, manifestFile), 0) }, "no MANIFEST"},
		{"MANIFEST cut in its magic", func(t *testing.T, db string) { truncate(t, filepath.Join(db, manifestFile), 5) }, "the MANIFEST does not parse"},
		// 8 bytes are the magic alone, 16 the magic and the empty change
		// set a new store starts with: both parse, and list no table.
		{"MANIFEST cut to its magic", func(t *testing.T, db string) { truncate(t, filepath.Join(db, manifestFile), 8) }, "the MANIFEST lists no table but 1 table file is there"},
		{"MANIFEST cut to its first change set", func(t *testing.T, db string) { truncate(t, filepath.Join(db, manifestFile), 16) }, "the MANIFEST lists no table but 1 table file is there"},
		{"MANIFEST a symlink", func(t *testing.T, db string) {
			remove(t, filepath.Join(db, manifestFile))
			if err := os.Symlink("/dev/zero", filepath.Join(db, manifestFile)); err != nil {
				t.Fatal(err)
			}
		}, "the MANIFEST cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, id := withData(t)
			db := filepath.Join(f.dir, dbDir)
			tables, _ := filepath.Glob(filepath.Join(db, "*.sst"))
			if len(tables) != 1 {
				t.Fatalf("the fixture left %d tables, want 1 (the cases assume it)", len(tables))
			}
			saved := readFile(t, filepath.Join(db, manifestFile))
			tc.damage(t, db)
			wantDamaged(t, openClose(t, f.dir), "the vault's store "+db+" is missing or damaged ("+tc.why+"); restore it from a backup")
			os.Remove(filepath.Join(db, manifestFile))
			if err := os.WriteFile(filepath.Join(db, manifestFile), saved, 0o600); err != nil {
				t.Fatal(err)
			}
			wantIntact(t, f, id)
		})
	}
	t.Run("store directory deleted", func(t *testing.T) {
		f, _ := withData(t)
		db := filepath.Join(f.dir, dbDir)
		if err := os.RemoveAll(db); err != nil {
			t.Fatal(err)
		}
		wantDamaged(t, openClose(t, f.dir), "the vault's store "+db+" is missing or damaged (no such directory); restore it from a backup")
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Fatalf("the refused open created %s: %v", db, err)
		}
	})
	t.Run("a fresh vault opens", func(t *testing.T) {
		if err := openClose(t, initVault(t)); err != nil {
			t.Fatalf("Open of a fresh vault: %v", err)
		}
	})
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, p string, size int64) {
	t.Helper()
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
