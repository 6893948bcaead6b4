package vault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// readSmallFile reads a file of the vault that is known to be small (the
// marker, the checkpoint key) and refuses anything but a regular file of at
// most limit bytes. os.ReadFile would read a name planted to point at
// /dev/zero until memory ran out, and block on a FIFO; here the open does
// not block and the read stops at limit+1 bytes. A missing file wraps
// fs.ErrNotExist.
func readSmallFile(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return b, nil
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

// storeDamaged reports a store whose files are there but do not read back.
func storeDamaged(cause error, format string, args ...any) error {
	return &damagedError{
		msg:   fmt.Sprintf("the vault's store is damaged: %s; restore it from a backup", fmt.Sprintf(format, args...)),
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
//   - A table the MANIFEST names that is missing, truncated or corrupt at
//     its end. badger opens tables in its own goroutines, where a truncated
//     file panics (slice bounds out of range in table.initIndex); no recover
//     in this goroutine can catch that, and the process dies with a stack
//     trace. So every table is opened here first, in this goroutine, under
//     recover, by the code badger runs (checkTable).
//
// Blocks inside a table are not read here: badger verifies each block's
// checksum as it reads it (ChecksumVerificationMode OnBlockRead, no cost to
// measure at open). Verifying every block of every table at open took more
// than twice the CPU of opening a vault of 3,000 notes (BenchmarkOpen); that
// belongs to notevault check.
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
	ids := make([]uint64, 0, len(m.Tables))
	for id := range m.Tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		name := table.IDToFilename(id)
		if _, ok := present[id]; !ok {
			return storeDamaged(nil, "table %s is missing", name)
		}
		if err := checkTable(filepath.Join(db, name), id, m.Tables[id], opt); err != nil {
			return storeDamaged(err, "table %s is truncated or corrupt", name)
		}
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

// checkTable opens one table the way badger does (the footer, the index
// against its checksum, the smallest and the biggest key, which reads the
// last block), turning a panic into an error. The file is mapped read-only
// and unmapped here: the table badger's code builds over the bytes owns no
// file, so nothing it does on an error path can close, truncate or delete
// the file.
func checkTable(p string, id uint64, tm badger.TableManifest, opt badger.Options) (err error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if st.Size() == 0 || st.Size() > math.MaxInt32 {
		return fmt.Errorf("implausible size %d", st.Size())
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	defer syscall.Munmap(data)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the table panicked: %v", r)
		}
	}()
	_, err = table.OpenInMemoryTable(data, id, &table.Options{
		ReadOnly:    true,
		BlockSize:   opt.BlockSize,
		Compression: tm.Compression,
	})
	return err
}

// openBadger opens the store. checkStore has opened every table already;
// what is left to go wrong panics, if at all, in this goroutine (the
// MANIFEST, the memtable logs), and is turned into an error here rather
// than a stack trace.
func openBadger(opt badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, storeDamaged(fmt.Errorf("%v", r), "opening it failed")
		}
	}()
	db, err = badger.Open(opt)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	return db, nil
}

// dropEmptyLogs removes zero-length memtable logs (NNNNN.mem) and value
// logs (NNNNNN.vlog) from the store directory. badger creates either log with
// O_CREATE and at once extends it, to twice the memtable or value-log size
// (ristretto's z.OpenMmapFile truncates an empty file up to the size it is
// given, then badger writes a 20-byte header through the mapping); it writes
// entries only through the mapping of the extended file, and shrinks a log
// only to the end of its last entry, never below the header. A zero-length
// log is therefore one whose process was killed between the create and the
// extend: it holds nothing. badger refuses it at the next open with "Create
// a new file" (z.NewFile, the sentinel it uses for a file it made just
// now), so every later command would fail. The caller holds the vault's
// lock, so no other process is between those two steps.
func dropEmptyLogs(db string) error {
	ents, err := os.ReadDir(db)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the store: %w", err)
	}
	removed := false
	for _, e := range ents {
		if !isLogName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(db, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing an empty log of the store: %w", err)
		}
		removed = true
	}
	if !removed {
		return nil
	}
	d, err := os.Open(db)
	if err != nil {
		return fmt.Errorf("checking the store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the store directory: %w", err)
	}
	return nil
}

// isLogName reports whether name is one of badger's log files: digits, then
// .mem or .vlog.
func isLogName(name string) bool {
	num, ok := strings.CutSuffix(name, ".mem")
	if !ok {
		num, ok = strings.CutSuffix(name, ".vlog")
	}
	return ok && num != "" && strings.Trim(num, "0123456789") == ""
}
