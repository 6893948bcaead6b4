package vault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// writeFileAtomic replaces path with data so that a crash leaves the old
// content or the new, never a mix or nothing: it writes a temporary file in
// the same directory, syncs it, gives it mode perm, renames it over path and
// syncs the directory, so the rename itself survives a power cut.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	merr := f.Chmod(perm)
	cerr := f.Close()
	if err := errors.Join(werr, serr, merr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// maxSmallFile bounds the small files read from the vault directory (the
// checkpoint and its verifier key are a few hundred bytes).
const maxSmallFile = 64 << 10

// readSmallFile reads a small file of the vault directory, which is not
// trusted: it does not block on a FIFO and refuses anything that is not a
// regular file of at most maxSmallFile bytes. A missing file wraps
// fs.ErrNotExist.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmallFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxSmallFile)
	}
	return b, nil
}
