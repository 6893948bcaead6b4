package kek

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func openDir(t testing.TB) *Dir {
	t.Helper()
	d, err := OpenDir(filepath.Join(t.TempDir(), "kek"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDirConformance(t *testing.T) {
	providerTests(t, func(t testing.TB) Provider { return openDir(t) })
}

// providerTests is what every Provider does the same way.
func providerTests(t *testing.T, open func(t testing.TB) Provider) {
	t.Run("wrap unwrap", func(t *testing.T) { testWrapUnwrap(t, open(t)) })
	t.Run("rotate destroy", func(t *testing.T) { testRotateDestroy(t, open(t)) })
}

func testWrapUnwrap(t *testing.T, d Provider) {
	ctx := context.Background()
	key := []byte("0123456789abcdef0123456789abcdef")
	w, err := d.Wrap(ctx, key, []byte("bucket-a"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Version != 1 || bytes.Contains(w.Ciphertext, key) {
		t.Fatalf("wrapped under version %d; ciphertext holds the key: %v", w.Version, bytes.Contains(w.Ciphertext, key))
	}
	got, err := d.Unwrap(ctx, w, []byte("bucket-a"))
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %x, %v", got, err)
	}
	// Stored form round trip.
	p, err := Parse(w.String())
	if err != nil || p.Version != w.Version || !bytes.Equal(p.Ciphertext, w.Ciphertext) {
		t.Fatalf("parse(%s): %+v, %v", w, p, err)
	}
	for _, bad := range []string{"", "kek1:", "kek1:0:AAAA", "kek2:1:AAAA", "kek1:x:AAAA", "kek1:1:!!"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	// Moved to another bucket, or tampered: ErrUnwrap, never the key.
	if _, err := d.Unwrap(ctx, w, []byte("bucket-b")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("another binding: %v", err)
	}
	tampered := Wrapped{Version: w.Version, Ciphertext: bytes.Clone(w.Ciphertext)}
	tampered.Ciphertext[30] ^= 1
	if _, err := d.Unwrap(ctx, tampered, []byte("bucket-a")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("tampered: %v", err)
	}
}

// Rotation: older wrapped keys still open, new ones use the new version,
// Rewrap moves a key forward; destroying versions makes what they wrapped
// ErrDestroyed while newer ones open; the current version is never
// destroyed.
func testRotateDestroy(t *testing.T, d Provider) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	w1, _ := d.Wrap(ctx, key, []byte("b"))
	if v, err := d.Rotate(ctx); err != nil || v != 2 {
		t.Fatalf("rotate: %d, %v", v, err)
	}
	w2, _ := d.Wrap(ctx, key, []byte("b"))
	if w2.Version != 2 {
		t.Fatalf("wrapped under %d after rotation", w2.Version)
	}
	moved, err := Rewrap(ctx, d, w1, []byte("b"))
	if err != nil || moved.Version != 2 {
		t.Fatalf("rewrap: %+v, %v", moved, err)
	}
	if _, err := d.Unwrap(ctx, w1, []byte("b")); err != nil {
		t.Fatalf("version 1 before it is destroyed: %v", err)
	}
	if err := d.Destroy(ctx, 2); err == nil {
		t.Fatal("the current version was destroyed")
	}
	if err := d.Destroy(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Unwrap(ctx, w1, []byte("b")); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("a key wrapped under a destroyed version: %v", err)
	}
	for _, w := range []Wrapped{w2, moved} {
		if got, err := d.Unwrap(ctx, w, []byte("b")); err != nil || !bytes.Equal(got, key) {
			t.Fatalf("version 2 after destroying 1: %v", err)
		}
	}
	vs, _ := d.Versions(ctx)
	if len(vs) != 1 || vs[0].Version != 2 || vs[0].Created.IsZero() {
		t.Fatalf("versions: %+v", vs)
	}
	// A second process over the same directory sees the same versions.
	if dir, ok := d.(*Dir); ok {
		d2, _ := OpenDir(dir.dir)
		if v, _ := d2.Current(ctx); v != 2 {
			t.Fatalf("another process sees version %d current", v)
		}
	}
}

// After Destroy, no byte of the destroyed KEK is left in the directory:
// the raw files are scanned for it. The control turns destruction off and
// finds it, so the scan can fail.
func TestDestroyLeavesNoKeyBytes(t *testing.T) {
	for _, control := range []bool{false, true} {
		ctx := context.Background()
		d := openDir(t)
		if control {
			d.noDestroy()
		}
		if _, err := d.Current(ctx); err != nil {
			t.Fatal(err)
		}
		v1, err := d.ring.Key(name(1), false)
		if err != nil {
			t.Fatal(err)
		}
		v1 = bytes.Clone(v1)
		d.Rotate(ctx)
		if err := d.Destroy(ctx, 1); err != nil {
			t.Fatal(err)
		}
		found := false
		filepath.WalkDir(d.dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, v1) {
					found = true
				}
			}
			return nil
		})
		if found != control {
			t.Fatalf("control=%v: the destroyed key's bytes found in the directory: %v", control, found)
		}
	}
}

// BenchmarkRewrap re-wraps 100,000 shred keys under a new version, as an
// epoch does: go test -run - -bench Rewrap ./vault/kek/
func BenchmarkRewrap(b *testing.B) {
	ctx := context.Background()
	d := openDir(b)
	const n = 100_000
	ws := make([]Wrapped, n)
	key := make([]byte, 32)
	for i := range ws {
		rand.Read(key)
		ws[i], _ = d.Wrap(ctx, key, []byte{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	for b.Loop() {
		d.Rotate(ctx)
		for i, w := range ws {
			nw, err := Rewrap(ctx, d, w, []byte{byte(i), byte(i >> 8), byte(i >> 16)})
			if err != nil {
				b.Fatal(err)
			}
			ws[i] = nw
		}
	}
	b.ReportMetric(float64(n), "keys/op")
}
