package kek

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/notevault/notevault/vault/seal"
)

// Dir is a Provider that keeps each KEK version as a file in a directory
// outside the database: written whole and synced before it is used, and
// destroyed as shred keys are (overwritten, synced, unlinked, the directory
// synced), by the same code (vault/seal). Wrapping is XChaCha20-Poly1305
// (seal.Seal) with the version and the caller's binding as associated data.
//
// One process at a time rotates and destroys (the sweep's leader, under an
// advisory lock, on a server); any number may wrap and unwrap, and a
// process that meets a version it has not seen reads the directory again.
type Dir struct {
	dir  string
	ring *seal.Keyring
	mu   sync.Mutex
	cur  Version // the current version as last read (guarded by mu); 0: not yet
	now  func() time.Time
}

const versionName = "kek-v"

// OpenDir opens (creating) the KEK directory dir.
func OpenDir(dir string) (*Dir, error) { return OpenDirClock(dir, nil) }

// OpenDirClock is OpenDir with a clock: a version's creation time, which
// Versions reports and the epoch ages versions by, is now() when it was
// made (stamped on its file) instead of the file's own time. nil: the
// file's time.
func OpenDirClock(dir string, now func() time.Time) (*Dir, error) {
	ring, err := seal.OpenKeyring(dir)
	if err != nil {
		return nil, err
	}
	return &Dir{dir: dir, ring: ring, now: now}, nil
}

// made creates version v's key and stamps its creation time.
func (d *Dir) made(v Version) error {
	if _, err := d.ring.Key(name(v), true); err != nil {
		return err
	}
	if d.now != nil {
		t := d.now()
		if err := os.Chtimes(filepath.Join(d.dir, name(v)+".key"), t, t); err != nil {
			return fmt.Errorf("KEK version %d: %w", v, err)
		}
	}
	return nil
}

func name(v Version) string { return versionName + strconv.FormatUint(uint64(v), 10) }

// versions lists the versions on disk, oldest first.
func (d *Dir) versions() ([]Version, error) {
	names, err := d.ring.Buckets()
	if err != nil {
		return nil, err
	}
	var out []Version
	for _, n := range names {
		if s, ok := strings.CutPrefix(n, versionName); ok {
			if v, err := strconv.ParseUint(s, 10, 32); err == nil && v > 0 {
				out = append(out, Version(v))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Current returns the newest version, creating version 1 in an empty
// directory.
func (d *Dir) Current(ctx context.Context) (Version, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.versions()
	if err != nil {
		return 0, err
	}
	if len(vs) > 0 {
		d.cur = vs[len(vs)-1]
		return d.cur, nil
	}
	if err := d.made(1); err != nil {
		return 0, err
	}
	d.cur = 1
	return 1, nil
}

// current is the version Wrap uses: the one last read, without reading the
// directory for every key an epoch re-wraps.
func (d *Dir) current(ctx context.Context) (Version, error) {
	d.mu.Lock()
	v := d.cur
	d.mu.Unlock()
	if v != 0 {
		return v, nil
	}
	return d.Current(ctx)
}

// Wrap wraps plaintext under the current version.
// If another process destroyed the version this one last saw as current,
// it reads the directory again.
func (d *Dir) Wrap(ctx context.Context, plaintext, aad []byte) (Wrapped, error) {
	v, err := d.current(ctx)
	if err != nil {
		return Wrapped{}, err
	}
	key, err := d.ring.Key(name(v), false)
	if errors.Is(err, seal.ErrShredded) {
		if v, err = d.Current(ctx); err == nil {
			key, err = d.ring.Key(name(v), false)
		}
	}
	if err != nil {
		return Wrapped{}, err
	}
	ct, err := seal.Seal(key, bind(v, aad), plaintext)
	if err != nil {
		return Wrapped{}, err
	}
	return Wrapped{Version: v, Ciphertext: ct}, nil
}

// Unwrap opens w under its version.
func (d *Dir) Unwrap(ctx context.Context, w Wrapped, aad []byte) ([]byte, error) {
	key, err := d.ring.Key(name(w.Version), false)
	if errors.Is(err, seal.ErrShredded) {
		return nil, fmt.Errorf("KEK version %d: %w", w.Version, ErrDestroyed)
	}
	if err != nil {
		return nil, err
	}
	pt, err := seal.Open(key, bind(w.Version, aad), w.Ciphertext)
	if err != nil {
		return nil, ErrUnwrap
	}
	return pt, nil
}

// Rotate creates the next version.
func (d *Dir) Rotate(ctx context.Context) (Version, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.versions()
	if err != nil {
		return 0, err
	}
	next := Version(1)
	if len(vs) > 0 {
		next = vs[len(vs)-1] + 1
	}
	if err := d.made(next); err != nil {
		return 0, err
	}
	d.cur = next
	return next, nil
}

// Destroy destroys version v and every older one. The current version is
// refused: it would leave nothing to wrap under.
func (d *Dir) Destroy(ctx context.Context, v Version) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.versions()
	if err != nil {
		return err
	}
	if len(vs) == 0 || v >= vs[len(vs)-1] {
		return fmt.Errorf("KEK version %d is the current one (or newer): rotate first", v)
	}
	for _, old := range vs {
		if old > v {
			break
		}
		if err := d.ring.Destroy(name(old)); err != nil {
			return err
		}
	}
	return nil
}

// Versions lists the versions with their creation times (the files'
// modification times).
func (d *Dir) Versions(ctx context.Context) ([]VersionInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.versions()
	if err != nil {
		return nil, err
	}
	out := make([]VersionInfo, 0, len(vs))
	for _, v := range vs {
		info := VersionInfo{Version: v}
		if st, err := os.Stat(filepath.Join(d.dir, name(v)+".key")); err == nil {
			info.Created = st.ModTime().UTC().Truncate(time.Second)
		}
		out = append(out, info)
	}
	return out, nil
}

// noDestroy turns destruction off, for the negative control of the tests.
func (d *Dir) noDestroy() { d.ring.NoDestroy = true }
