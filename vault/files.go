package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The checks in this file run before the store is opened. The vault's
// directory is not trusted: whoever can write it (an administrator, a backup
// tool, a process of the same user) must not be able to make a command
// destroy other files, open an empty store as if it were the vault, or crash.

// ErrInsecure: a directory of the vault may be written by other users.
var ErrInsecure = errors.New("vault directory is writable by others")

// InsecureError names the directory of the vault that others may write.
type InsecureError struct {
	Path string
	Mode fs.FileMode
}

func (e *InsecureError) Error() string {
	return fmt.Sprintf("vault directory %s is writable by others (mode %04o)", e.Path, e.Mode.Perm())
}

func (e *InsecureError) Is(target error) bool { return target == ErrInsecure }

// privateDirs are the directories of a vault that must not be writable by
// group or others: anyone who can write them can plant links, replace the
// store or remove shred keys.
var privateDirs = []string{".", dbDir, keysDir}

// checkPrivate refuses a vault whose directory, or an existing db/ or shred/
// below it, is writable by group or others.
func checkPrivate(dir string) error {
	for _, sub := range privateDirs {
		p := filepath.Join(dir, sub)
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) && sub != "." {
			continue // created by open, with mode 0700
		}
		if err != nil {
			return fmt.Errorf("checking the vault directory: %w", err)
		}
		if st.Mode().Perm()&0o022 != 0 {
			return &InsecureError{Path: p, Mode: st.Mode()}
		}
	}
	return nil
}

// makePrivate sets the vault's directories that exist to mode 0700. Init
// uses it: `notevault init` in an existing directory keeps that directory's
// mode otherwise, 0777 included.
func makePrivate(dir string) error {
	for _, sub := range privateDirs {
		p := filepath.Join(dir, sub)
		err := os.Chmod(p, 0o700)
		if errors.Is(err, fs.ErrNotExist) && sub != "." {
			continue
		}
		if err != nil {
			return fmt.Errorf("making the vault directory private: %w", err)
		}
	}
	return nil
}
