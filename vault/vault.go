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

	"github.com/notevault/notevault/vault/badgerstore"

	"github.com/notevault/notevault/vault/kv"

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
	// CompactAt is the number of level-0 tables past which the store needs
	// maintenance (NeedsMaintenance). Defaults to 8.
	CompactAt int
	// Store, when set, is where the vault's records live instead of the
	// badger database in the directory (a server's PostgreSQL). The
	// directory still holds the lock, the checkpoint key and the shred keys.
	// The caller owns Store: Close leaves it open. Compaction and the other
	// badger housekeeping are then the engine's own business and do nothing.
	Store kv.Store
	// Keyring, when set, keeps the shred keys instead of the directory's
	// key files: a server's keys, wrapped under a KEK and kept in Store
	// (kek.Keyring). The caller owns it.
	Keyring Keyring
	// PinDir is where this user keeps a pin of every vault they open: the
	// vault's checkpoint verifier key and the newest signed checkpoint they
	// saw, outside the vault (see pin.go). With it, Open refuses with a
	// *RollbackError a vault whose key changed or whose audit log no longer
	// extends the pinned checkpoint, and Close moves the pin forward. The
	// first open of a vault trusts and pins what it finds. Empty: no pinning
	// (the vault still refuses to write on a log that no longer extends its
	// own checkpoint).
	PinDir string
	// Payloads, when set, keeps the payloads of notes too large to store
	// inline (over 1 MiB) instead of the directory's payload files: a
	// server's (Store is a client of notevault serve).
	Payloads kv.Payloads
	// Bulk marks a process that writes much at once (note import): it
	// leaves level-0 tables for the maintenance a command starts when it
	// ends (housekeeping.go) rather than compact them while it writes,
	// which held table builders and the tables they read in memory beside
	// the import's own work (bench/import.sh, 10,000 notes: peak RSS 212.7
	// to 186.0 MiB, 1,339 to 2,132 notes/s). Level 0 still compacts before
	// it would stall writes.
	Bulk bool
	// ReadOnly opens a directory's store for reading only, for a command
	// that writes nothing (a listing without decryption, an explanation):
	// badger then creates no memtable log and no value log, whose fresh
	// mappings cost a read-write open about 9 ms here (open and close
	// 13.7 against 1.4 ms on the same store). Any write is refused, on a
	// store given in Store too (which opens as always).
	ReadOnly bool
	// Background marks a job that gives way rather than asks for it (the
	// detached maintenance): while it waits for the vault it does not ask
	// the holder to give way (see Contended).
	Background bool
}

// Keyring keeps shred keys, one per bucket. A key Key creates is part of
// the caller's transaction txn, or durable before Key returns; a destroyed
// one is gone for good before Destroy returns. The directory's key files
// (fileKeys) are written at once; kek.Keyring keeps keys in the store,
// wrapped under a KEK, and writes a new one in txn, so that it commits
// with the records it seals, or not at all.
type Keyring interface {
	// Key returns bucket's key as txn sees it, creating it when create is
	// true and there is none. Without create a missing key wraps
	// seal.ErrShredded.
	Key(txn kv.Txn, bucket string, create bool) ([]byte, error)
	// Has reports whether bucket has a key.
	Has(bucket string) bool
	// Destroy destroys bucket's key; a missing one is not an error.
	Destroy(bucket string) error
	// Buckets lists the buckets that have a key.
	Buckets() ([]string, error)
}

// fileKeys is the directory's keyring: one file per key, created durably
// before the transaction that uses it commits. A transaction that fails or
// conflicts takes the keys it made with it (abort); a crash in between
// leaves an orphan key, which Housekeep destroys.
type fileKeys struct {
	*seal.Keyring
	mu   sync.Mutex
	made map[kv.Txn][]string // keys created by transactions under way
}

func newFileKeys(ring *seal.Keyring) *fileKeys {
	return &fileKeys{Keyring: ring, made: map[kv.Txn][]string{}}
}

func (k *fileKeys) Key(txn kv.Txn, bucket string, create bool) ([]byte, error) {
	if !create || txn == nil || k.Keyring.Has(bucket) {
		return k.Keyring.Key(bucket, create)
	}
	key, err := k.Keyring.Key(bucket, true)
	if err == nil {
		k.mu.Lock()
		k.made[txn] = append(k.made[txn], bucket)
		k.mu.Unlock()
	}
	return key, err
}

// settle ends txn's part in the keyring: the keys it made stay when it
// committed and are destroyed when it did not.
func (k *fileKeys) settle(txn kv.Txn, committed bool) error {
	k.mu.Lock()
	made := k.made[txn]
	delete(k.made, txn)
	k.mu.Unlock()
	if committed {
		return nil
	}
	for _, b := range made {
		if err := k.Keyring.Destroy(b); err != nil {
			return err
		}
	}
	return nil
}

// Vault is an open vault. Methods are safe for concurrent use within one
// process; one process at a time holds a vault open.
type Vault struct {
	dir   string
	store kv.Store   // what every action reads and writes
	db    *badger.DB // the same store, for housekeeping only badger has
	keys  Keyring
	// payloads keeps large notes' payloads (payload.go).
	payloads kv.Payloads
	lock     *os.File
	now      func() time.Time
	rand     io.Reader
	opts     Options
	ckKey    string // checkpoint signer key

	mu sync.Mutex // serialises writers
	// The audit records the transaction under way appends (guarded by mu;
	// flushLog writes them).
	queued  []queuedRecord
	wrote   bool
	trust   *trust // what this process verified of the log (guarded by mu)
	failed  error  // a refusal since open: no more writes, no pin (guarded by mu)
	closeMu sync.Mutex
	closed  bool     // guarded by closeMu
	waitF   *os.File // the wait file, to see whether anyone waits (housekeeping.go)
	// compactOnClose: level 0 had CompactAt tables at open, and Close
	// merges them into the base level (one bounded step, see Close).
	compactOnClose bool

	// Agreement heads this user pinned, and those seen by transactions not
	// yet settled (see heads.go).
	headsMu  sync.Mutex
	heads    map[string]factHead
	verified map[string]factHead
	pending  map[kv.Txn]map[string]factHead
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
	lock, err := acquireLock(ctx, filepath.Join(dir, lockFile), opts.BusyTimeout, !opts.Background)
	if err != nil {
		return nil, err
	}
	ck, err := readSmallFile(filepath.Join(dir, checkpointKey), 4096)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("reading the checkpoint key: %w", err)
	}
	var keys Keyring = opts.Keyring
	if keys == nil {
		ring, err := seal.OpenKeyring(filepath.Join(dir, keysDir))
		if err != nil {
			lock.Close()
			return nil, err
		}
		keys = newFileKeys(ring)
	}
	store, db, compactOnClose := opts.Store, (*badger.DB)(nil), false
	if store == nil {
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
			bopts.CompactL0OnClose = level0AtOpen(bopts) >= opts.CompactAt
		}
		if opts.Bulk {
			bopts.NumLevelZeroTables = bopts.NumLevelZeroTablesStall - 4
		}
		if opts.ReadOnly && !creating {
			ro := bopts
			ro.ReadOnly, ro.CompactL0OnClose, ro.NumCompactors = true, false, 0
			// badger opens read-only only a store whose last writer closed
			// it; after a crash its memtable log needs the read-write open
			// that truncates it.
			if db, err = openBadger(ro); err == nil {
				bopts = ro
			}
		}
		if db == nil {
			if db, err = openBadger(bopts); err != nil {
				lock.Close()
				return nil, err
			}
		}
		store, compactOnClose = badgerstore.New(db), bopts.CompactL0OnClose
	}
	waitF, _ := os.OpenFile(filepath.Join(dir, waitFile), os.O_RDWR|os.O_CREATE, 0o600)
	payloads := opts.Payloads
	if payloads == nil {
		payloads = dirPayloads{filepath.Join(dir, payloadsDir)}
	}
	v := &Vault{
		dir: dir, store: store, db: db, keys: keys, payloads: payloads, lock: lock, waitF: waitF, compactOnClose: compactOnClose,
		now: opts.Now, rand: opts.Rand, opts: opts,
		ckKey: string(trimNewline(ck)),
	}
	if opts.PinDir != "" {
		if err := v.checkPin(creating); err != nil {
			v.closeStore()
			if waitF != nil {
				waitF.Close()
			}
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
//
// The table sizes bound one compaction step, which is what a command waits
// for at most when it asks the background maintenance for the vault
// (housekeeping.go): level 0 goes into a base level of at most 2 MiB, and
// every table below is 1 MiB, so a step merges one table with the ten or so
// it overlaps a level down (badger's defaults, 10 MiB base level and tables
// doubling per level, made steps of up to a few hundred milliseconds). Level
// 0 stalls writes only at 64 tables, far past where maintenance starts
// (CompactAt), so a command's own flush never waits for compaction. Blocks
// are not compressed: most of what the store holds is ciphertext, which
// does not compress, and Snappy cost every flush and compaction time for
// nothing. The value-log size (2 MiB) bounds one value stored in badger,
// above what the vault stores there (inline bodies stop at inlineMax, 1 MiB,
// about 1.4 MB once sealed; larger ones go to payload files). badger
// creates and maps a fresh value log of twice this size in every process
// that opens the store, and its first write there faults the mapping in:
// on a disk whose read-ahead is 8 MiB (this machine's) the kernel then
// zero-fills up to 8 MiB of page cache, and close truncates it away again.
// At 64 MiB that cost about 5 ms of CPU per command (perf stat -r 15 on note
// show: task-clock 40.3 to 35.5 ms at 16 MiB); at 2 MiB a note add adds
// 3,077 pages to the page cache instead of 4,101 (tracepoint
// filemap:mm_filemap_add_to_page_cache) and takes 8% less wall time (33.1
// against 36.0 ms, 12 alternated rounds of 10 adds). The memtable's own log
// (twice MemTableSize) costs the rest; a smaller memtable would also
// lower the largest transaction badger takes (15% of it).
func badgerOptions(dir string) badger.Options {
	o := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(true).
		WithNumVersionsToKeep(1).
		WithMemTableSize(8 << 20).
		WithValueLogFileSize(2 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		WithBaseTableSize(1 << 20).
		WithBaseLevelSize(2 << 20).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(64).
		WithCompression(options.None).
		WithMetricsEnabled(false).
		WithValueThreshold(1 << 20).
		WithChecksumVerificationMode(options.OnBlockRead)
	o.TableSizeMultiplier = 1
	return o
}

// Close closes the vault. It waits for no housekeeping but one bounded
// step: when level 0 held CompactAt tables at open (every writing process
// leaves one), badger merges them into the base level as it closes, without
// the second of random delay its compactors start with; the table sizes
// (badgerOptions) keep that step to a few milliseconds. Compaction of the
// levels below is left to whoever has time (Maintain).
//
// The audit checkpoint is brought up to the log first if it lags behind (a
// process that ended between a commit and its checkpoint), and after the
// store is closed the user's pin moves to the newest checkpoint — only if
// everything this process checked verified.
func (v *Vault) Close() error {
	v.closeMu.Lock()
	defer v.closeMu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	err := v.catchUpCheckpoint()
	if cerr := v.closeStore(); err == nil {
		err = cerr
	}
	if err == nil {
		err = v.savePin()
	}
	if v.waitF != nil {
		v.waitF.Close()
		v.waitF = nil
	}
	v.lock.Close() // releases the flock
	return err
}

// closeStore closes the store if the vault opened it (badger); a store
// given in Options belongs to the caller.
func (v *Vault) closeStore() error {
	if v.db == nil {
		return nil
	}
	return v.store.Close()
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
	if v.db == nil {
		return 0
	}
	for _, l := range v.db.Levels() {
		if l.Level == 0 {
			return l.NumTables
		}
	}
	return 0
}

// Dir is the vault's directory.
func (v *Vault) Dir() string { return v.dir }

// Now is the vault's clock.
func (v *Vault) Now() time.Time { return v.now().UTC() }

func acquireLock(ctx context.Context, path string, timeout time.Duration, announce bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the vault lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	var waiting *os.File // announces this wait to the holder (housekeeping.go)
	defer func() {
		if waiting != nil {
			waiting.Close()
		}
	}()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking the vault: %w", err)
		}
		if waiting == nil && announce {
			waiting = announceWait(filepath.Dir(path))
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
		// Short polls: a holder that gives way (Yield, Maintain) hands
		// over within a few milliseconds.
		if wait < 4*time.Millisecond {
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
	if v.db == nil {
		return 0, nil
	}
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
