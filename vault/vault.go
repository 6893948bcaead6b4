// Package vault is notevault's store: badger for records, age for the
// participants' copies of every note, a shred-key layer for assured deletion,
// and a hash-chained audit log. Every read and share asks package policy
// first; the vault never prints and never holds a participant's key beyond the
// call that was handed it.
package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/seal"
)

// Layout of a vault directory.
const (
	dbDir          = "db"        // badger
	keysDir        = "shred"     // shred keys, one file per bucket
	lockFile       = "lock"      // flock held while a process has the vault open
	markerFile     = "notevault" // marks an initialised vault, holds the format version
	checkpointKey  = "checkpoint.key"
	checkpointPub  = "checkpoint.pub"
	checkpointFile = "audit.checkpoint"
	formatMarker   = "notevault vault format 2\n"
	// formatMarker1 is the first release's vault: its records were not signed
	// in the way format 2 relies on (see Open).
	formatMarker1 = "notevault vault format 1\n"
)

// Options tune Open. The zero value is what the CLI uses.
type Options struct {
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Rand is the source of ids. Defaults to crypto/rand.
	Rand io.Reader
	// BusyTimeout is how long Open waits for another process to close the
	// vault before returning ErrBusy. Defaults to 3s.
	BusyTimeout time.Duration
	// CompactAt is the number of level-0 tables past which a closing writer
	// compacts (see Close). Defaults to 8.
	CompactAt int
	// PinDir is where this user keeps a pin of every vault they open: the
	// vault's checkpoint verifier key and the newest signed checkpoint they
	// saw, outside the vault (see pin.go). With it, Open refuses with a
	// *RollbackError a vault whose key changed or whose audit log no longer
	// extends the pinned checkpoint, and Close moves the pin forward. The
	// first open of a vault trusts and pins what it finds. Empty: no pinning
	// (the vault still refuses to write on a log that no longer extends its
	// own checkpoint).
	PinDir string
}

// Vault is an open vault. Methods are safe for concurrent use within one
// process; one process at a time holds a vault open.
type Vault struct {
	dir   string
	db    *badger.DB
	keys  *seal.Keyring
	lock  *os.File
	now   func() time.Time
	rand  io.Reader
	opts  Options
	ckKey string // checkpoint signer key

	mu sync.Mutex // serialises writers
	// The audit log's head within the transaction under way (guarded by mu).
	head      *logHead
	headDirty bool
	wrote     bool
	trust     *trust // what this process verified of the log (guarded by mu)
	failed    error  // a refusal since open: no more writes, no pin (guarded by mu)
	closeMu   sync.Once

	// Agreement heads this user pinned, and those seen by transactions not
	// yet settled (see heads.go).
	headsMu  sync.Mutex
	heads    map[string]factHead
	verified map[string]factHead
	pending  map[*badger.Txn]map[string]factHead
	pinPath  string // the user's pin of this vault ("" when pinning is off)

	// termsHook, when set, adjusts every agreement's policy terms as they
	// are derived from its versions. It is a test seam only: it lets tests
	// set policy.Terms fields (custodians, exception recipients, caps) that
	// the agreement parser does not fill yet.
	termsHook func(*policy.Terms)
	pinAbs    string // the vault's absolute path, which names the pin
	pinned    *pin   // the pin as loaded at open (nil: none yet)
}

// Init creates a new vault in dir. It fails with ErrExists if one is there.
func Init(dir string) error { return InitWith(dir, Options{}) }

// InitWith is Init with options. With opts.PinDir set, the creator pins the
// new vault's verifier key and first checkpoint, replacing any pin left by a
// vault that was at dir before.
func InitWith(dir string, opts Options) error {
	if dir == "" {
		return errors.New("no vault directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating vault directory: %w", err)
	}
	// Lstat: a symlink planted as the marker is there too, and writing the
	// marker through it would create a file wherever it points.
	if _, err := os.Lstat(filepath.Join(dir, markerFile)); err == nil {
		return fmt.Errorf("%s: %w", dir, ErrExists)
	}
	// MkdirAll keeps the mode of a directory that was there already.
	if err := makePrivate(dir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointKey)); errors.Is(err, fs.ErrNotExist) {
		skey, vkey, err := audit.NewCheckpointKey("notevault-vault")
		if err != nil {
			return err
		}
		if err := writeSecretFile(filepath.Join(dir, checkpointKey), []byte(skey+"\n")); err != nil {
			return err
		}
		// The public half is created afresh too, never written through an
		// entry already there: removing a name leaves what a symlink
		// planted under it points to alone.
		pub := filepath.Join(dir, checkpointPub)
		if err := os.Remove(pub); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := createFile(pub, []byte(vkey+"\n"), 0o644); err != nil {
			return err
		}
	}
	// The empty log's checkpoint: from here on, a vault without one has had
	// it deleted.
	if _, err := os.Stat(filepath.Join(dir, checkpointFile)); errors.Is(err, fs.ErrNotExist) {
		skey, err := readSmallFile(filepath.Join(dir, checkpointKey), checkpointFileLimit)
		if err != nil {
			return fmt.Errorf("reading the checkpoint key: %w", err)
		}
		msg, err := audit.SignCheckpoint(string(trimNewline(skey)), 0, [32]byte{})
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, checkpointFile), msg, 0o600); err != nil {
			return fmt.Errorf("writing the audit checkpoint: %w", err)
		}
	}
	v, err := open(context.Background(), dir, opts, true)
	if err != nil {
		return err
	}
	if err := v.Close(); err != nil {
		return err
	}
	// The marker is written last: a vault without it is not initialised.
	return writeSecretFile(filepath.Join(dir, markerFile), []byte(formatMarker))
}

// Open opens the vault in dir. It returns ErrNotInitialized when dir holds no
// vault and ErrBusy when another process keeps it open past BusyTimeout.
func Open(ctx context.Context, dir string, opts Options) (*Vault, error) {
	b, err := readSmallFile(filepath.Join(dir, markerFile), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotInitialized)
	}
	if err != nil {
		return nil, err
	}
	if string(b) == formatMarker1 {
		return nil, fmt.Errorf("%s: %w", dir, ErrOldFormat)
	}
	if string(b) != formatMarker {
		return nil, fmt.Errorf("%s: unsupported vault format %q", dir, string(b))
	}
	return open(ctx, dir, opts, false)
}

func open(ctx context.Context, dir string, opts Options, creating bool) (*Vault, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 3 * time.Second
	}
	if opts.CompactAt == 0 {
		opts.CompactAt = 8
	}
	if err := checkPrivate(dir); err != nil {
		return nil, err
	}
	lock, err := acquireLock(ctx, filepath.Join(dir, lockFile), opts.BusyTimeout)
	if err != nil {
		return nil, err
	}
	ck, err := readSmallFile(filepath.Join(dir, checkpointKey), 4096)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("reading the checkpoint key: %w", err)
	}
	keys, err := seal.OpenKeyring(filepath.Join(dir, keysDir))
	if err != nil {
		lock.Close()
		return nil, err
	}
	bopts := badgerOptions(filepath.Join(dir, dbDir))
	if !creating {
		if err := checkStore(bopts.Dir, bopts); err != nil {
			lock.Close()
			return nil, err
		}
		if err := dropEmptyLogs(bopts.Dir); err != nil {
			lock.Close()
			return nil, err
		}
	}
	db, err := openBadger(bopts)
	if err != nil {
		lock.Close()
		return nil, err
	}
	v := &Vault{
		dir: dir, db: db, keys: keys, lock: lock,
		now: opts.Now, rand: opts.Rand, opts: opts,
		ckKey: string(trimNewline(ck)),
	}
	if opts.PinDir != "" {
		if err := v.checkPin(creating); err != nil {
			db.Close()
			lock.Close()
			return nil, err
		}
	}
	return v, nil
}

// checkPin loads the user's pin of this vault (none when creating it: the
// new vault replaces whatever was pinned at its path) and verifies the
// vault against it, or against the vault's own checkpoint on first use.
func (v *Vault) checkPin(creating bool) error {
	path, abs, err := pinPath(v.opts.PinDir, v.dir)
	if err != nil {
		return err
	}
	v.pinPath, v.pinAbs = path, abs
	if !creating {
		if v.pinned, err = loadPin(path, abs); err != nil {
			return err
		}
	}
	if v.pinned != nil {
		if err := v.loadPinnedHeads(v.pinned.Heads, v.pinned.Verified); err != nil {
			return err
		}
	}
	return v.view(v.establish)
}

// badgerOptions are tuned for short CLI processes: small memtables keep open
// and close cheap, writes are synced so that a command that succeeded is on
// disk, and badger's own logging is off (it may print keys). Values are kept
// inline in the tables (threshold 1 MiB): badger starts a new value-log file
// in every process that opens it, and with values in the log those files
// piled up and slowed every later open (175 ms per add after 1,000 CLI runs,
// against 26 ms at the start). Listing stays fast because metadata lives
// under its own prefix, apart from ciphertexts. Every block badger reads is
// checked against its checksum (OnBlockRead: no cost measurable at open), so
// a corrupt block is an error rather than wrong data; checkStore reads each
// table's end before badger opens it.
func badgerOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(true).
		WithNumVersionsToKeep(1).
		WithMemTableSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithValueThreshold(1 << 20).
		WithChecksumVerificationMode(options.OnBlockRead)
}

// Close closes the vault. A process that wrote and finds level 0 past
// CompactAt tables waits for badger's compactors to merge them first: short
// CLI processes never live long enough to compact otherwise, and reads slow
// down with every table left behind.
//
// The audit checkpoint is brought up to the log first if it lags behind (a
// process that ended between a commit and its checkpoint), and after the
// store is closed the user's pin moves to the newest checkpoint — only if
// everything this process checked verified.
func (v *Vault) Close() error {
	var err error
	v.closeMu.Do(func() {
		if v.wrote {
			v.compactL0(5 * time.Second)
		}
		err = v.catchUpCheckpoint()
		if cerr := v.db.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = v.savePin()
		}
		v.lock.Close() // releases the flock
	})
	return err
}

// catchUpCheckpoint signs a checkpoint for records verified beyond the
// newest one, so that the pin can cover them.
func (v *Vault) catchUpCheckpoint() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.trust == nil || v.failed != nil || v.trust.log == v.trust.signed {
		return nil
	}
	return v.fail(v.writeCheckpoint())
}

// level0Tables counts the tables badger holds at level 0.
func (v *Vault) level0Tables() int {
	for _, l := range v.db.Levels() {
		if l.Level == 0 {
			return l.NumTables
		}
	}
	return 0
}

func (v *Vault) compactL0(limit time.Duration) {
	if v.level0Tables() <= v.opts.CompactAt {
		return
	}
	deadline := time.Now().Add(limit)
	for v.level0Tables() > 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// Dir is the vault's directory.
func (v *Vault) Dir() string { return v.dir }

// Now is the vault's clock.
func (v *Vault) Now() time.Time { return v.now().UTC() }

func acquireLock(ctx context.Context, path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the vault lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	wait := 2 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking the vault: %w", err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

func writeSecretFile(path string, data []byte) error {
	return createFile(path, data, 0o600)
}

// createFile creates path, which must not exist (O_EXCL also refuses a
// symlink, dangling or not), writes data and syncs it.
func createFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Compact is maintenance the sweep runs after destroying records: it merges
// badger's tables (so deleted keys leave the LSM tree) and rewrites value-log
// files whose live share has fallen, so the space of destroyed values is
// given back. It returns how many value-log files were rewritten. It is
// housekeeping, not security: destroyed values were unreadable already.
func (v *Vault) Compact(ctx context.Context) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.db.Flatten(2); err != nil {
		return 0, fmt.Errorf("compacting: %w", err)
	}
	n := 0
	for ctx.Err() == nil {
		err := v.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("value-log GC: %w", err)
		}
		n++
	}
	return n, nil
}
