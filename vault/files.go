package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"
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

// ErrDamaged: the vault's store is missing or damaged. Only a backup brings
// back what it held; opening it anyway would show an empty or partial vault,
// or crash.
var ErrDamaged = errors.New("the vault's store is damaged")

// damagedError is a refusal to open a damaged store: its message is the
// whole sentence, and it matches ErrDamaged. cause, when there is one, is
// the detail behind it (badger's words), kept for errors.Unwrap rather than
// printed.
type damagedError struct {
	msg   string
	cause error
}

func (e *damagedError) Error() string        { return e.msg }
func (e *damagedError) Is(target error) bool { return target == ErrDamaged }
func (e *damagedError) Unwrap() error        { return e.cause }

// storeMissing reports a store that is gone or has lost its MANIFEST, the
// file that says which tables hold the data.
func storeMissing(db, why string, cause error) error {
	return &damagedError{
		msg:   fmt.Sprintf("the vault's store %s is missing or damaged (%s); restore it from a backup", db, why),
		cause: cause,
	}
}

// manifestFile is badger's name for the file that lists the store's tables.
const manifestFile = "MANIFEST"

// checkStore runs before badger opens the store of an initialised vault
// (the marker is written after the store, so the store must be there). It
// refuses, with one sentence, what badger would otherwise get wrong:
//
//   - A missing store directory or MANIFEST, and a MANIFEST cut short so that
//     it names none of the tables present. badger takes all three for a new,
//     empty store, deletes every table the MANIFEST does not name, and the
//     vault reads back empty with no error.
//
// A MANIFEST cut back by a few records, so that it still names some tables,
// is not refused: a process killed between writing a table and recording it
// leaves the same picture, and badger deletes such a table by design. The
// records lost that way are the newest, which the audit checkpoint is there
// to notice.
func checkStore(db string, opt badger.Options) error {
	st, err := os.Stat(db)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !st.IsDir() {
		return storeMissing(db, "no such directory", err)
	}
	if err != nil {
		return fmt.Errorf("checking the store: %w", err)
	}
	m, err := readManifest(filepath.Join(db, manifestFile), opt)
	if err != nil {
		return err
	}
	present, err := tableFiles(db)
	if err != nil {
		return err
	}
	if len(m.Tables) == 0 && len(present) > 0 {
		files := "1 table file is"
		if len(present) > 1 {
			files = fmt.Sprintf("%d table files are", len(present))
		}
		return storeMissing(db, "the MANIFEST lists no table but "+files+" there", nil)
	}
	return nil
}

// readManifest replays the MANIFEST read-only, with badger's own parser.
func readManifest(p string, opt badger.Options) (badger.Manifest, error) {
	db := filepath.Dir(p)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return badger.Manifest{}, storeMissing(db, "no MANIFEST", err)
	}
	if err != nil {
		return badger.Manifest{}, storeMissing(db, "the MANIFEST cannot be read", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return badger.Manifest{}, fmt.Errorf("checking the store: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return badger.Manifest{}, storeMissing(db, "no MANIFEST", nil)
	}
	m, _, err := badger.ReplayManifestFile(f, opt.ExternalMagicVersion, opt)
	if err != nil {
		return badger.Manifest{}, storeMissing(db, "the MANIFEST does not parse", err)
	}
	return m, nil
}

// tableFiles lists the table files (NNNNNN.sst) in the store directory.
func tableFiles(db string) (map[uint64]bool, error) {
	ents, err := os.ReadDir(db)
	if err != nil {
		return nil, fmt.Errorf("checking the store: %w", err)
	}
	ids := map[uint64]bool{}
	for _, e := range ents {
		if id, ok := table.ParseFileID(e.Name()); ok {
			ids[id] = true
		}
	}
	return ids, nil
}
