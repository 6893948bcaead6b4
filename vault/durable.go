package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// checkpointFileLimit bounds the checkpoint files read from the vault
// directory: a signed checkpoint and a verifier key are a few hundred bytes.
const checkpointFileLimit = 4096
