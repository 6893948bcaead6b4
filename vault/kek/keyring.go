package kek

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/seal"
)

// KeyPrefix is where a Keyring keeps its wrapped shred keys in the store:
// k/<bucket> holds Wrapped.String() of the bucket's key.
const KeyPrefix = "k/"

// Keyring keeps a vault's shred keys in its store (a server's PostgreSQL),
// each wrapped under the current version of a Provider's KEK, so that the
// store, its WAL and its backups only ever hold wrapped keys. It has the
// same contract as the directory keyring (seal.Keyring): a created key is
// durable before Key returns, and a destroyed one is gone before Destroy
// returns. Destroy also appends the bucket to a destruction ledger, a file
// outside the store, and OpenKeyring re-applies the ledger: a store
// restored from a backup taken before a destruction does not bring the key
// back (see docs/kek.md).
//
// Any number of processes may share a Keyring's store and provider (the
// replicas of notevault serve); one at a time runs Epoch.
type Keyring struct {
	store         kv.Store
	kek           Provider
	ledger        string
	now           func() time.Time
	every, window time.Duration

	destroy func(ctx context.Context, bucket string) error

	mu    sync.Mutex
	cache map[string]cached
	// NoDestroy turns destruction off. It exists only for the negative
	// control of the deletion tests, which must fail when keys survive.
	NoDestroy bool
}

// KeyringOptions tune OpenKeyring.
type KeyringOptions struct {
	// Ledger is the destruction ledger's file. It must be outside the
	// store (and outside its backups): next to the KEK directory, or on a
	// volume of its own.
	Ledger string
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Every is how often Turn rotates the KEK (default DefaultEvery), and
	// Window the backup window W after which a retired version is
	// destroyed (default DefaultWindow): keep no backup, WAL archive or
	// standby older than W.
	Every, Window time.Duration
	// Destroy, when set, destroys a bucket's key in place of the keyring:
	// a client of notevault serve asks the server, which keeps the ledger
	// and deletes the wrapped key. No Ledger is needed then.
	Destroy func(ctx context.Context, bucket string) error
}

// The defaults of KeyringOptions: rotate daily, destroy a version a week
// after it was retired.
const (
	DefaultEvery  = 24 * time.Hour
	DefaultWindow = 7 * 24 * time.Hour
)

// OpenKeyring opens the keyring kept in store, wrapped under p, and
// re-applies the destruction ledger: every bucket the ledger names whose
// key is in the store again (a restore) is deleted before OpenKeyring
// returns. It reports how many it deleted.
func OpenKeyring(ctx context.Context, store kv.Store, p Provider, opts KeyringOptions) (*Keyring, int, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Destroy != nil {
		return &Keyring{store: store, kek: p, now: opts.Now, destroy: opts.Destroy, cache: map[string]cached{}}, 0, nil
	}
	if opts.Ledger == "" {
		return nil, 0, errors.New("shred keys: no destruction ledger given")
	}
	if err := os.MkdirAll(filepath.Dir(opts.Ledger), 0o700); err != nil {
		return nil, 0, fmt.Errorf("destruction ledger: %w", err)
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	k := &Keyring{store: store, kek: p, ledger: opts.Ledger, now: opts.Now, every: opts.Every, window: opts.Window, cache: map[string]cached{}}
	n, err := k.reapply(ctx)
	if err != nil {
		return nil, 0, err
	}
	return k, n, nil
}

// aad binds a wrapped key to its bucket: a wrapped key copied to another
// bucket's row does not open.
func aad(bucket string) []byte { return []byte("notevault shred key\n" + bucket) }

func checkBucket(bucket string) error {
	if bucket == "" || len(bucket) > 96 || strings.ContainsAny(bucket, "/\n ") {
		return fmt.Errorf("shred keys: invalid bucket name %q", bucket)
	}
	return nil
}

// Key returns the key of bucket as txn sees it, creating it when create is
// true and there is none: in txn, so that the key commits with what it
// seals or not at all. With a nil txn, Key reads and creates in
// transactions of its own (the created key is committed before Key
// returns). Without create, a missing key, or one whose KEK version was
// destroyed, is seal.ErrShredded.
func (k *Keyring) Key(txn kv.Txn, bucket string, create bool) ([]byte, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	if txn == nil && !create {
		var key []byte
		err := kv.View(context.Background(), k.store, func(txn kv.Txn) error {
			var err error
			key, err = k.Key(txn, bucket, false)
			return err
		})
		return key, err
	}
	if txn == nil {
		var key []byte
		for attempt := 0; ; attempt++ {
			err := kv.Update(context.Background(), k.store, func(txn kv.Txn) error {
				var err error
				key, err = k.Key(txn, bucket, create)
				return err
			})
			if !errors.Is(err, kv.ErrConflict) || attempt > 5 {
				return key, err
			}
		}
	}
	ctx := context.Background()
	stored, err := txn.Get([]byte(KeyPrefix + bucket))
	switch {
	case err == nil:
		k.mu.Lock()
		c, ok := k.cache[bucket]
		k.mu.Unlock()
		if ok && c.stored == string(stored) {
			return c.key, nil
		}
		key, err := k.unwrap(ctx, bucket, string(stored))
		if err != nil {
			return nil, err
		}
		k.remember(bucket, string(stored), key)
		return key, nil
	case !errors.Is(err, kv.ErrNotFound):
		return nil, fmt.Errorf("shred keys: %w", err)
	case !create:
		return nil, fmt.Errorf("bucket %s: %w", bucket, seal.ErrShredded)
	}
	key := make([]byte, seal.KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("shred keys: reading randomness: %w", err)
	}
	w, err := k.kek.Wrap(ctx, key, aad(bucket))
	if err != nil {
		return nil, fmt.Errorf("shred keys: wrapping: %w", err)
	}
	if err := txn.Set([]byte(KeyPrefix+bucket), []byte(w.String())); err != nil {
		return nil, err
	}
	// Cached under its wrapped form: a transaction that never commits
	// leaves an entry no row matches, which is never used.
	k.remember(bucket, w.String(), key)
	return key, nil
}

// remember caches an unwrapped key against the wrapped form it came from:
// the cache answers only while the store holds that same form.
func (k *Keyring) remember(bucket, stored string, key []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cache[bucket] = cached{stored: stored, key: key}
}

type cached struct {
	stored string
	key    []byte
}

// OpenShredKey unwraps w as the shred key of bucket under p: what a
// Keyring does with the row k/<bucket>, and what anyone holding a copy of
// that row (a backup, the WAL) and the KEK would do.
func OpenShredKey(ctx context.Context, p Provider, bucket string, w Wrapped) ([]byte, error) {
	key, err := p.Unwrap(ctx, w, aad(bucket))
	if err == nil && len(key) != seal.KeySize {
		return nil, ErrUnwrap
	}
	return key, err
}

func (k *Keyring) unwrap(ctx context.Context, bucket, stored string) ([]byte, error) {
	w, err := Parse(stored)
	if err != nil {
		return nil, fmt.Errorf("shred key of bucket %s: %w", bucket, err)
	}
	key, err := OpenShredKey(ctx, k.kek, bucket, w)
	switch {
	case errors.Is(err, ErrDestroyed):
		// Its KEK version is gone: so is the key, as surely as if its
		// row had been deleted.
		return nil, fmt.Errorf("bucket %s: %w", bucket, seal.ErrShredded)
	case err != nil:
		return nil, fmt.Errorf("shred key of bucket %s: %w", bucket, err)
	}
	return key, nil
}

// Has reports whether bucket still has a key.
func (k *Keyring) Has(bucket string) bool {
	_, err := k.Key(nil, bucket, false)
	return err == nil
}

// Destroy records bucket in the destruction ledger (synced), then deletes
// its wrapped key from the store. Destroying a missing bucket is not an
// error. The deleted row may live on in the store's free space, WAL and
// backups: wrapped under a KEK version that Epoch destroys once the backup
// window has passed.
func (k *Keyring) Destroy(bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.cache[bucket]; ok {
		clear(c.key)
		delete(k.cache, bucket)
	}
	if k.NoDestroy {
		return nil
	}
	if k.destroy != nil {
		if err := k.destroy(context.Background(), bucket); err != nil {
			return fmt.Errorf("shred keys: destroying %s: %w", bucket, err)
		}
		return nil
	}
	if err := k.record(bucket); err != nil {
		return err
	}
	err := kv.Update(context.Background(), k.store, func(txn kv.Txn) error { return txn.Delete([]byte(KeyPrefix + bucket)) })
	if err != nil {
		return fmt.Errorf("shred keys: destroying %s: %w", bucket, err)
	}
	return nil
}

// Buckets lists the buckets that have a key in the store.
func (k *Keyring) Buckets() ([]string, error) {
	var out []string
	err := kv.View(context.Background(), k.store, func(txn kv.Txn) error {
		return k.scan(txn, func(bucket, _ string) error {
			out = append(out, bucket)
			return nil
		})
	})
	return out, err
}

func (k *Keyring) scan(txn kv.Txn, fn func(bucket, stored string) error) error {
	it := txn.NewIterator(kv.IterOptions{Prefix: []byte(KeyPrefix)})
	defer it.Close()
	for it.Seek(nil); it.Valid(); it.Next() {
		v, err := it.Value()
		if err != nil {
			return err
		}
		if err := fn(strings.TrimPrefix(string(it.Key()), KeyPrefix), string(v)); err != nil {
			return err
		}
	}
	return it.Err()
}

// The destruction ledger: one line per destroyed bucket, "<unix> <bucket>",
// appended and synced before the key's row is deleted.

// lockLedger takes an exclusive lock on the ledger's lock file: replicas
// sharing the ledger append and prune one at a time.
func (k *Keyring) lockLedger() (func(), error) {
	f, err := os.OpenFile(k.ledger+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("destruction ledger: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("destruction ledger: %w", err)
	}
	return func() { f.Close() }, nil
}

func (k *Keyring) record(bucket string) error {
	unlock, err := k.lockLedger()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(k.ledger, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("destruction ledger: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d %s\n", k.now().Unix(), bucket)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("destruction ledger: %w", err)
	}
	return nil
}

type ledgerEntry struct {
	at     time.Time
	bucket string
}

func (k *Keyring) readLedger() ([]ledgerEntry, error) {
	f, err := os.Open(k.ledger)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("destruction ledger: %w", err)
	}
	defer f.Close()
	var out []ledgerEntry
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		ts, bucket, ok := strings.Cut(sc.Text(), " ")
		unix, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || checkBucket(bucket) != nil {
			// A torn last line (a crash mid-append) names nothing: the
			// row it was about was not deleted yet either.
			continue
		}
		out = append(out, ledgerEntry{at: time.Unix(unix, 0).UTC(), bucket: bucket})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("destruction ledger: %w", err)
	}
	return out, nil
}

// reapply deletes every key the ledger names that is in the store.
func (k *Keyring) reapply(ctx context.Context) (int, error) {
	entries, err := k.readLedger()
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	doomed := make(map[string]bool, len(entries))
	for _, e := range entries {
		doomed[e.bucket] = true
	}
	var back []string
	if err := kv.View(ctx, k.store, func(txn kv.Txn) error {
		return k.scan(txn, func(bucket, _ string) error {
			if doomed[bucket] {
				back = append(back, bucket)
			}
			return nil
		})
	}); err != nil {
		return 0, fmt.Errorf("shred keys: %w", err)
	}
	deleted := len(back)
	for len(back) > 0 {
		n := min(len(back), 512)
		if err := kv.Update(ctx, k.store, func(txn kv.Txn) error {
			for _, b := range back[:n] {
				if err := txn.Delete([]byte(KeyPrefix + b)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return 0, fmt.Errorf("shred keys: re-applying the destruction ledger: %w", err)
		}
		back = back[n:]
	}
	return deleted, nil
}

// EpochReport says what one Epoch did.
type EpochReport struct {
	Rotated   bool    // a new KEK version was made current
	Current   Version // the current version afterwards
	Rewrapped int     // wrapped keys moved to the current version
	Destroyed Version // the newest version destroyed (0: none)
	Pruned    int     // ledger lines dropped as older than any backup that matters
}

// Epoch is the KEK's turn of the sweep. When the current version is at
// least every old it rotates; then it re-wraps every wrapped key that is
// not under the current version, and destroys every version that was
// retired (its successor made) more than window ago and wraps nothing.
// A key deleted at t is so unreadable from every copy of the store once
// t + every + window has passed (docs/kek.md). Ledger lines older than the
// oldest surviving version are dropped: every copy of their keys is
// wrapped under a destroyed version.
func (k *Keyring) Epoch(ctx context.Context, every, window time.Duration) (EpochReport, error) {
	var r EpochReport
	now := k.now()
	vs, err := k.kek.Versions(ctx)
	if err != nil {
		return r, err
	}
	if len(vs) == 0 || !now.Before(vs[len(vs)-1].Created.Add(every)) {
		if _, err := k.kek.Rotate(ctx); err != nil {
			return r, fmt.Errorf("rotating the KEK: %w", err)
		}
		r.Rotated = true
		if vs, err = k.kek.Versions(ctx); err != nil {
			return r, err
		}
	}
	if r.Current, err = k.kek.Current(ctx); err != nil {
		return r, err
	}
	if r.Rewrapped, err = k.rewrap(ctx, r.Current); err != nil {
		return r, err
	}
	// The lowest version still wrapping a key, after the re-wrap (a
	// replica that had not yet seen the rotation may have wrapped one
	// under the old version meanwhile).
	lowest := r.Current
	if err := kv.View(ctx, k.store, func(txn kv.Txn) error {
		return k.scan(txn, func(bucket, stored string) error {
			if w, err := Parse(stored); err == nil && w.Version < lowest {
				lowest = w.Version
			}
			return nil
		})
	}); err != nil {
		return r, err
	}
	var doomed Version
	for i := 0; i+1 < len(vs); i++ {
		retired := vs[i+1].Created
		if vs[i].Version < lowest && !now.Before(retired.Add(window)) {
			doomed = vs[i].Version
		}
	}
	if doomed > 0 {
		if err := k.kek.Destroy(ctx, doomed); err != nil {
			return r, fmt.Errorf("destroying KEK version %d: %w", doomed, err)
		}
		r.Destroyed = doomed
	}
	// A ledger line matters while a backup could hold its key wrapped under
	// a surviving version: one made before the key was destroyed.
	if vs, err = k.kek.Versions(ctx); err != nil {
		return r, err
	}
	if len(vs) > 0 {
		r.Pruned, err = k.prune(vs[0].Created)
	}
	return r, err
}

// Turn is Epoch with the keyring's own period and window (KeyringOptions):
// what the sweep runs.
func (k *Keyring) Turn(ctx context.Context) (EpochReport, error) {
	if k.destroy != nil {
		return EpochReport{}, nil // a client's keyring: the server turns its KEK
	}
	return k.Epoch(ctx, k.every, k.window)
}

// rewrap moves every wrapped key under an older version than cur to cur,
// in transactions of a bounded size.
func (k *Keyring) rewrap(ctx context.Context, cur Version) (int, error) {
	const batch = 1024
	total := 0
	var after string
	for {
		type row struct{ bucket, stored string }
		var rows []row
		more := false
		if err := kv.View(ctx, k.store, func(txn kv.Txn) error {
			it := txn.NewIterator(kv.IterOptions{Prefix: []byte(KeyPrefix)})
			defer it.Close()
			for it.Seek([]byte(KeyPrefix + after + "\x00")); it.Valid(); it.Next() {
				v, err := it.Value()
				if err != nil {
					return err
				}
				bucket := strings.TrimPrefix(string(it.Key()), KeyPrefix)
				after = bucket
				if w, err := Parse(string(v)); err == nil && w.Version < cur {
					rows = append(rows, row{bucket, string(v)})
					if len(rows) == batch {
						more = true
						return nil
					}
				}
			}
			return it.Err()
		}); err != nil {
			return total, err
		}
		if len(rows) == 0 {
			return total, nil
		}
		moved := make(map[string]string, len(rows))
		for _, r := range rows {
			w, err := Parse(r.stored)
			if err != nil {
				continue
			}
			nw, err := Rewrap(ctx, k.kek, w, aad(r.bucket))
			if errors.Is(err, ErrDestroyed) {
				continue // gone already: nothing to move
			}
			if err != nil {
				return total, fmt.Errorf("re-wrapping the shred key of %s: %w", r.bucket, err)
			}
			moved[r.bucket] = nw.String()
		}
		if err := kv.Update(ctx, k.store, func(txn kv.Txn) error {
			for _, r := range rows {
				nw, ok := moved[r.bucket]
				if !ok {
					continue
				}
				// Only if the row is still the one re-wrapped: a bucket
				// destroyed meanwhile stays destroyed.
				v, err := txn.Get([]byte(KeyPrefix + r.bucket))
				if errors.Is(err, kv.ErrNotFound) || (err == nil && string(v) != r.stored) {
					delete(moved, r.bucket)
					continue
				}
				if err != nil {
					return err
				}
				if err := txn.Set([]byte(KeyPrefix+r.bucket), []byte(nw)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return total, fmt.Errorf("re-wrapping shred keys: %w", err)
		}
		total += len(moved)
		if !more {
			return total, nil
		}
	}
}

// prune drops ledger lines from before cutoff, rewriting the ledger
// atomically.
func (k *Keyring) prune(cutoff time.Time) (int, error) {
	unlock, err := k.lockLedger()
	if err != nil {
		return 0, err
	}
	defer unlock()
	entries, err := k.readLedger()
	if err != nil {
		return 0, err
	}
	keep := entries[:0:0]
	for _, e := range entries {
		if !e.at.Before(cutoff) {
			keep = append(keep, e)
		}
	}
	dropped := len(entries) - len(keep)
	if dropped == 0 {
		return 0, nil
	}
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].at.Before(keep[j].at) })
	var b strings.Builder
	for _, e := range keep {
		fmt.Fprintf(&b, "%d %s\n", e.at.Unix(), e.bucket)
	}
	tmp := k.ledger + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("destruction ledger: %w", err)
	}
	_, err = f.WriteString(b.String())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, k.ledger)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("destruction ledger: %w", err)
	}
	return dropped, nil
}
