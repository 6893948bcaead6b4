package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// plantVictim writes a file outside the key directory that an attacker who
// can write the key directory (but holds no key) wants destroyed or read.
func plantVictim(t *testing.T) (path string, content []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "victim")
	// KeySize bytes, so that code which trusted a link would take it for a key.
	content = bytes.Repeat([]byte("v"), KeySize)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, content
}

func wantUnchanged(t *testing.T, path string, content []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("victim %s was written through a link in the key directory: now %q", path, got)
	}
}

// The attacker plants links in the key directory pointing at a victim file.
// Before this was hardened, each case zero-filled the victim (OpenKeyring and
// Destroy overwrote whatever the name led to) or read it as a key (Key): that
// is the negative control, and the reason every case checks the victim first.
// The regular files planted beside the links are still destroyed, so the
// hardening did not turn destruction off.
func TestKeyringNeverWritesThroughLinks(t *testing.T) {
	t.Run("temporary file symlink", func(t *testing.T) {
		dir := t.TempDir()
		victim, content := plantVictim(t)
		mustSymlink(t, victim, filepath.Join(dir, ".tmp-x"))
		realTmp := filepath.Join(dir, ".tmp-y")
		if err := os.WriteFile(realTmp, bytes.Repeat([]byte{9}, KeySize), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenKeyring(dir); err != nil {
			t.Fatal(err)
		}
		wantUnchanged(t, victim, content)
		for _, p := range []string{filepath.Join(dir, ".tmp-x"), realTmp} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Fatalf("%s survived OpenKeyring: %v", filepath.Base(p), err)
			}
		}
	})
	t.Run("key symlink", func(t *testing.T) {
		dir := t.TempDir()
		victim, content := plantVictim(t)
		k, err := OpenKeyring(dir)
		if err != nil {
			t.Fatal(err)
		}
		mustSymlink(t, victim, filepath.Join(dir, "b1.key"))
		for _, create := range []bool{false, true} {
			key, err := k.Key("b1", create)
			if err == nil {
				t.Fatalf("Key(create=%v) took the link's target for a key: %q", create, key)
			}
			if want := "shred key b1.key is not a regular 32-byte file"; err.Error() != want {
				t.Fatalf("Key(create=%v) err = %q, want %q", create, err, want)
			}
		}
		if k.Has("b1") {
			t.Fatal("Has reports a key for a symlink")
		}
		if bs, err := k.Buckets(); err != nil || len(bs) != 0 {
			t.Fatalf("Buckets = %v, %v; want none (a symlink is no key)", bs, err)
		}
		if err := k.Destroy("b1"); err != nil {
			t.Fatal(err)
		}
		wantUnchanged(t, victim, content)
		if _, err := os.Lstat(filepath.Join(dir, "b1.key")); !os.IsNotExist(err) {
			t.Fatalf("the symlink survived Destroy: %v", err)
		}
		// Control: a real key beside it is still overwritten and removed.
		if _, err := k.Key("b2", true); err != nil {
			t.Fatal(err)
		}
		if err := k.Destroy("b2"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "b2.key")); !os.IsNotExist(err) {
			t.Fatalf("a real key survived Destroy: %v", err)
		}
	})
	t.Run("key hard link", func(t *testing.T) {
		dir := t.TempDir()
		victim, content := plantVictim(t)
		k, err := OpenKeyring(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Link(victim, filepath.Join(dir, "b1.key")); err != nil {
			t.Fatalf("hard link: %v", err) // the temp dirs share a filesystem
		}
		if err := k.Destroy("b1"); err != nil {
			t.Fatal(err)
		}
		wantUnchanged(t, victim, content)
		if _, err := os.Lstat(filepath.Join(dir, "b1.key")); !os.IsNotExist(err) {
			t.Fatalf("the hard link survived Destroy: %v", err)
		}
	})
}

// A key name that leads to an endless or blocking file must fail fast with an
// error naming the file. Before this was hardened, /dev/zero was read until
// memory ran out and a FIFO blocked the command forever: the deadline below
// is what catches that (negative control).
func TestKeyRefusesFilesThatAreNotKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		regular bool // Buckets lists regular files; Key still refuses them
		plant   func(t *testing.T, p string)
	}{
		{"symlink to /dev/zero", false, func(t *testing.T, p string) { mustSymlink(t, "/dev/zero", p) }},
		{"fifo", false, func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", false, func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"short file", true, func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("short"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"long file", true, func(t *testing.T, p string) {
			if err := os.WriteFile(p, make([]byte, KeySize+1), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k, err := OpenKeyring(dir)
			if err != nil {
				t.Fatal(err)
			}
			const bucket = "t-2027010112.abc"
			tc.plant(t, filepath.Join(dir, bucket+".key"))
			done := make(chan error, 1)
			go func() {
				_, err := k.Key(bucket, false)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || errors.Is(err, ErrShredded) {
					t.Fatalf("Key err = %v, want a refusal", err)
				}
				if want := "shred key " + bucket + ".key is not a regular 32-byte file"; err.Error() != want {
					t.Fatalf("Key err = %q, want %q", err, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Key did not return within 5s")
			}
			bs, err := k.Buckets()
			if err != nil || len(bs) != map[bool]int{false: 0, true: 1}[tc.regular] {
				t.Fatalf("Buckets = %v, %v", bs, err)
			}
			// Destroy clears the entry away without writing into it.
			if err := k.Destroy(bucket); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(dir, bucket+".key")); !os.IsNotExist(err) {
				t.Fatalf("entry survived Destroy: %v", err)
			}
		})
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
