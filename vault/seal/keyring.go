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
	"syscall"
)

// ErrShredded reports that a bucket's key no longer exists: everything sealed
// under it is gone for good.
var ErrShredded = errors.New("shred key destroyed")

var bucketName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,95}$`) })

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
	if !bucketName().MatchString(bucket) {
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
	key, err := readKey(p)
	switch {
	case err == nil:
		k.cache[bucket] = key
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
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

// readKey reads the key file p. The vault directory is not trusted: p may be
// a symlink (to a victim file, or to /dev/zero), a FIFO or a device placed by
// whoever can write the directory. So p is opened without following a final
// symlink and without blocking on a FIFO, must be a regular file of exactly
// KeySize bytes, and is read with a bounded read. A missing file wraps
// fs.ErrNotExist.
func readKey(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		// ELOOP (a symlink), ENXIO (a socket) and the like: say what the
		// entry is rather than how opening it failed.
		if st, lerr := os.Lstat(p); lerr == nil && !st.Mode().IsRegular() {
			return nil, notKeyFile(p)
		}
		return nil, fmt.Errorf("shred keys: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shred keys: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() != KeySize {
		return nil, notKeyFile(p)
	}
	// One byte more than a key: a file that grew since the fstat is caught.
	buf := make([]byte, KeySize+1)
	n, err := io.ReadFull(f, buf)
	switch {
	case n == KeySize && errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:KeySize], nil
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, notKeyFile(p)
	default:
		return nil, fmt.Errorf("shred keys: reading %s: %w", filepath.Base(p), err)
	}
}

func notKeyFile(p string) error {
	return fmt.Errorf("shred key %s is not a regular %d-byte file", filepath.Base(p), KeySize)
}

// overwriteCap bounds how much of a file overwriteRemove writes. A key file
// is KeySize bytes; anything longer was not written by the keyring, and
// zeroing gigabytes of it would only stall the command.
const overwriteCap = 4096

// overwriteRemove overwrites a key file with zeros, syncs it, unlinks it and
// syncs its directory. Measured on ext4: unlink alone left the key bytes in
// the freed block; overwrite+fsync+unlink left none. A missing file is fine.
//
// It never writes through a symlink or into anything but a regular file that
// has no other name: the directory is not trusted, and a link planted there
// (to a victim file, a device, a FIFO) must not turn destruction of a key
// into destruction of something else. Such an entry carries no key material
// of its own, so it is unlinked without being written.
func overwriteRemove(p string) error {
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shred keys: %w", err)
	}
	if st.Mode().IsRegular() {
		if err := overwrite(p); err != nil {
			return err
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("shred keys: removing %s: %w", filepath.Base(p), err)
	}
	return syncDir(filepath.Dir(p))
}

// overwrite zeroes the start of the regular file p (at least KeySize bytes,
// at most overwriteCap) and syncs it. The Lstat that sent the caller here may
// be stale, so the open refuses a symlink and the fstat decides: an entry
// that is not a regular file with one link is left unwritten.
func overwrite(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENXIO) {
			return nil // gone, or swapped for a link or a FIFO since the Lstat
		}
		return fmt.Errorf("shred keys: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("shred keys: %w", err)
	}
	if !st.Mode().IsRegular() || !singleLink(st) {
		return f.Close()
	}
	size := min(max(st.Size(), KeySize), overwriteCap)
	_, werr := f.WriteAt(make([]byte, size), 0)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("shred keys: overwriting %s: %w", filepath.Base(p), err)
	}
	return nil
}

// singleLink reports whether the file has exactly one name. A hard link
// planted in the key directory shares its data with a file elsewhere, which
// is not the keyring's to overwrite.
func singleLink(st fs.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return !ok || sys.Nlink == 1
}

// Buckets lists the buckets that still have a key.
func (k *Keyring) Buckets() ([]string, error) {
	ents, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, fmt.Errorf("shred keys: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue // a symlink or anything else planted here holds no key
		}
		if name, ok := strings.CutSuffix(e.Name(), keySuffix); ok && bucketName().MatchString(name) {
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
	// Chmod through the descriptor, not the name: the name is in a directory
	// others may write, and could point elsewhere by now.
	merr := f.Chmod(0o600)
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(merr, werr, serr, cerr); err != nil {
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
