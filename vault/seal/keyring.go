package seal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// ErrShredded reports that a bucket's key no longer exists: everything sealed
// under it is gone for good.
var ErrShredded = errors.New("shred key destroyed")

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,95}$`)

const keySuffix = ".key"

// Keyring keeps shred keys, one file per bucket, in one directory. It is not
// safe for use by several processes at once; the vault's lock serialises them.
type Keyring struct {
	dir   string
	mu    sync.Mutex
	cache map[string][]byte
	// NoDestroy turns destruction off. It exists only for the negative control
	// of the deletion tests, which must fail when keys are not destroyed.
	NoDestroy bool
}

// OpenKeyring opens (creating if needed) the key directory dir.
func OpenKeyring(dir string) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("shred keys: %w", err)
	}
	// A crash between creating and renaming a key leaves a temporary file:
	// it was never used, but it is key material, so it is destroyed too.
	tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, t := range tmps {
		if err := overwriteRemove(t); err != nil {
			return nil, err
		}
	}
	return &Keyring{dir: dir, cache: map[string][]byte{}}, nil
}

func (k *Keyring) path(bucket string) (string, error) {
	if !bucketName.MatchString(bucket) {
		return "", fmt.Errorf("shred keys: invalid bucket name %q", bucket)
	}
	return filepath.Join(k.dir, bucket+keySuffix), nil
}

// Key returns the key of bucket, creating it (durably, before returning) when
// create is true and it does not exist. Without create, a missing key is
// ErrShredded.
func (k *Keyring) Key(bucket string, create bool) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.cache[bucket]; ok {
		return key, nil
	}
	p, err := k.path(bucket)
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(p)
	switch {
	case err == nil && len(key) == KeySize:
		k.cache[bucket] = key
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("shred keys: bucket %s: key file has %d bytes, want %d", bucket, len(key), KeySize)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("shred keys: %w", err)
	case !create:
		return nil, fmt.Errorf("bucket %s: %w", bucket, ErrShredded)
	}
	key = make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("shred keys: reading randomness: %w", err)
	}
	if err := writeFileSync(k.dir, p, key); err != nil {
		return nil, err
	}
	k.cache[bucket] = key
	return key, nil
}

// Has reports whether bucket still has a key.
func (k *Keyring) Has(bucket string) bool {
	_, err := k.Key(bucket, false)
	return err == nil
}

// Destroy overwrites the bucket's key file in place, syncs it, unlinks it and
// syncs the directory. Destroying a missing bucket is not an error.
func (k *Keyring) Destroy(bucket string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.cache[bucket]; ok {
		clear(key)
		delete(k.cache, bucket)
	}
	if k.NoDestroy {
		return nil
	}
	p, err := k.path(bucket)
	if err != nil {
		return err
	}
	return overwriteRemove(p)
}

// overwriteRemove overwrites a key file with zeros, syncs it, unlinks it and
// syncs its directory. Measured on ext4: unlink alone left the key bytes in
// the freed block; overwrite+fsync+unlink left none. A missing file is fine.
func overwriteRemove(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shred keys: %w", err)
	}
	st, err := f.Stat()
	size := int64(KeySize)
	if err == nil && st.Size() > size {
		size = st.Size()
	}
	_, werr := f.WriteAt(make([]byte, size), 0)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("shred keys: overwriting %s: %w", filepath.Base(p), err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("shred keys: %w", err)
	}
	return syncDir(filepath.Dir(p))
}

// Buckets lists the buckets that still have a key.
func (k *Keyring) Buckets() ([]string, error) {
	ents, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, fmt.Errorf("shred keys: %w", err)
	}
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), keySuffix); ok && bucketName.MatchString(name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// writeFileSync writes data to a temporary file in dir, syncs it, renames it
// to path and syncs the directory, so the key is either whole or absent.
func writeFileSync(dir, path string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("shred keys: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("shred keys: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("shred keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("shred keys: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("shred keys: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("shred keys: syncing directory: %w", err)
	}
	return nil
}
