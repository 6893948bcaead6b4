package kek

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/seal"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type ringFixture struct {
	t      *testing.T
	ctx    context.Context
	store  kv.Store
	kek    *Dir
	ledger string
	clock  *clock
	ring   *Keyring
}

func newRing(t *testing.T) *ringFixture {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	store := badgerstore.New(db)
	t.Cleanup(func() { store.Close() })
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	p, err := OpenDirClock(filepath.Join(dir, "kek"), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	f := &ringFixture{t: t, ctx: context.Background(), store: store, kek: p, ledger: filepath.Join(dir, "ledger"), clock: c}
	f.reopen()
	return f
}

// reopen opens the keyring again, as a restarted server does; it returns
// how many ledger entries it re-applied.
func (f *ringFixture) reopen() int {
	f.t.Helper()
	r, n, err := OpenKeyring(f.ctx, f.store, f.kek, KeyringOptions{Ledger: f.ledger, Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	f.ring = r
	return n
}

// rows is every wrapped key in the store: a logical backup.
func (f *ringFixture) rows() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	err := kv.View(f.ctx, f.store, func(txn kv.Txn) error {
		return f.ring.scan(txn, func(b, s string) error { out[b] = s; return nil })
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// restore writes rows back: the store restored from a backup.
func (f *ringFixture) restore(rows map[string]string) {
	f.t.Helper()
	err := kv.Update(f.ctx, f.store, func(txn kv.Txn) error {
		for b, s := range rows {
			if err := txn.Set([]byte(KeyPrefix+b), []byte(s)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestKeyringRoundTrip(t *testing.T) {
	f := newRing(t)
	k1, err := f.ring.Key(nil, "t-2026030211.a", true)
	if err != nil {
		t.Fatal(err)
	}
	f.reopen() // a new process: nothing cached
	k2, err := f.ring.Key(nil, "t-2026030211.a", false)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("Key after reopen = %x, %v; want %x", k2, err, k1)
	}
	if _, err := f.ring.Key(nil, "t-2026030212.b", false); !errors.Is(err, seal.ErrShredded) {
		t.Fatalf("a key never made: %v, want ErrShredded", err)
	}
	if bs, err := f.ring.Buckets(); err != nil || strings.Join(bs, ",") != "t-2026030211.a" {
		t.Fatalf("Buckets = %v, %v", bs, err)
	}
	// The store holds the key only wrapped.
	for b, s := range f.rows() {
		if strings.Contains(s, string(k1)) || !strings.HasPrefix(s, "kek1:1:") {
			t.Fatalf("row %s = %q: not a wrapped key under version 1", b, s)
		}
	}
	if err := f.ring.Destroy("t-2026030211.a"); err != nil {
		t.Fatal(err)
	}
	if f.ring.Has("t-2026030211.a") {
		t.Fatal("the key is still there after Destroy")
	}
	for _, bad := range []string{"", "a/b", "a b", strings.Repeat("x", 97)} {
		if _, err := f.ring.Key(nil, bad, true); err == nil {
			t.Errorf("Key(%q) accepted a bad bucket name", bad)
		}
	}
}

// A key made in a transaction that does not commit is not there after it:
// it never outlives the records it was made for.
func TestKeyringKeyCommitsWithTheTransaction(t *testing.T) {
	f := newRing(t)
	var made []byte
	boom := errors.New("the action failed")
	err := kv.Update(f.ctx, f.store, func(txn kv.Txn) error {
		var err error
		if made, err = f.ring.Key(txn, "g-1.a", true); err != nil {
			return err
		}
		again, err := f.ring.Key(txn, "g-1.a", false)
		if err != nil || !bytes.Equal(again, made) {
			t.Errorf("the transaction does not see its own key: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := f.ring.Key(nil, "g-1.a", false); !errors.Is(err, seal.ErrShredded) {
		t.Fatalf("the key of a transaction that failed: %v, want ErrShredded", err)
	}
	k, err := f.ring.Key(nil, "g-1.a", true)
	if err != nil || bytes.Equal(k, made) {
		t.Fatalf("making the key again: %v (the cache answered with the failed one: %v)", err, bytes.Equal(k, made))
	}
}

// A wrapped key copied to another bucket's row does not open there, and is
// reported as tampering, not as a destroyed key.
func TestKeyringMovedKeyDoesNotOpen(t *testing.T) {
	f := newRing(t)
	if _, err := f.ring.Key(nil, "a-1", true); err != nil {
		t.Fatal(err)
	}
	rows := f.rows()
	f.restore(map[string]string{"b-1": rows["a-1"]})
	f.reopen()
	if _, err := f.ring.Key(nil, "b-1", false); !errors.Is(err, ErrUnwrap) || errors.Is(err, seal.ErrShredded) {
		t.Fatalf("a key moved to b-1: %v, want ErrUnwrap", err)
	}
	// Control: the row where it belongs opens.
	if _, err := f.ring.Key(nil, "a-1", false); err != nil {
		t.Fatal(err)
	}
}

// A store restored from a backup taken before a destruction does not bring
// the key back: the ledger outside the store is re-applied at open.
func TestKeyringLedgerSurvivesRestore(t *testing.T) {
	f := newRing(t)
	for _, b := range []string{"t-1.a", "t-2.a"} {
		if _, err := f.ring.Key(nil, b, true); err != nil {
			t.Fatal(err)
		}
	}
	backup := f.rows()
	if err := f.ring.Destroy("t-1.a"); err != nil {
		t.Fatal(err)
	}
	f.restore(backup)
	// Control: without the ledger's re-application, the restore
	// resurrected the key.
	if !f.ring.Has("t-1.a") {
		t.Fatal("control: the restore did not bring the row back; the test proves nothing")
	}
	if n := f.reopen(); n != 1 {
		t.Fatalf("reopen re-applied %d ledger entries, want 1", n)
	}
	if f.ring.Has("t-1.a") {
		t.Fatal("the destroyed key is back after a restore and a reopen")
	}
	if !f.ring.Has("t-2.a") {
		t.Fatal("the ledger destroyed a key that was never destroyed")
	}
	// A torn last line (a crash mid-append) is ignored, not fatal.
	if err := os.WriteFile(f.ledger, append(mustRead(t, f.ledger), "17"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := f.reopen(); n != 0 {
		t.Fatalf("reopen with nothing restored re-applied %d", n)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The promise of docs/kek.md, on a backup: a key destroyed at t opens from
// a backup taken before t until the KEK version that wrapped it is
// destroyed, which the epoch does once the version has been retired for
// the backup window; after that no surviving version opens it.
func TestKeyringEpochDestroysOldVersions(t *testing.T) {
	const every, window = 24 * time.Hour, 7 * 24 * time.Hour
	f := newRing(t)
	key, err := f.ring.Key(nil, "t-doomed.a", true)
	if err != nil {
		t.Fatal(err)
	}
	key = bytes.Clone(key) // Destroy clears the keyring's copy
	if _, err := f.ring.Key(nil, "t-live.a", true); err != nil {
		t.Fatal(err)
	}
	backup := f.rows()
	if err := f.ring.Destroy("t-doomed.a"); err != nil {
		t.Fatal(err)
	}
	fromBackup := func() ([]byte, error) {
		w, err := Parse(backup["t-doomed.a"])
		if err != nil {
			t.Fatal(err)
		}
		return OpenShredKey(f.ctx, f.kek, "t-doomed.a", w)
	}
	step := func(d time.Duration) EpochReport {
		t.Helper()
		f.clock.Advance(d)
		r, err := f.ring.Epoch(f.ctx, every, window)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := step(time.Hour); r.Rotated || r.Destroyed != 0 || r.Rewrapped != 0 {
		t.Fatalf("an epoch before its time did something: %+v", r)
	}
	r := step(every)
	if !r.Rotated || r.Current != 2 || r.Rewrapped != 1 || r.Destroyed != 0 {
		t.Fatalf("first epoch: %+v; want a rotation to 2 re-wrapping the live key", r)
	}
	if rows := f.rows(); !strings.HasPrefix(rows["t-live.a"], "kek1:2:") {
		t.Fatalf("the live key was not re-wrapped: %q", rows["t-live.a"])
	}
	// Within the window the backup still opens: the promise is t + W +
	// one epoch, not t. This is also the control that the backup holds
	// the key at all.
	if k, err := fromBackup(); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("control: the backup did not open within the window: %v", err)
	}
	r = step(window)
	if r.Destroyed != 1 {
		t.Fatalf("the epoch past the window destroyed %d, want version 1: %+v", r.Destroyed, r)
	}
	// The ledger line is dropped with the version: no backup can bring
	// back a key that opens any more.
	if r.Pruned != 1 {
		t.Fatalf("pruned %d ledger lines, want 1", r.Pruned)
	}
	if _, err := fromBackup(); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("the backup's copy of the destroyed key: %v, want ErrDestroyed", err)
	}
	// And no surviving version opens it, whatever it claims.
	w, _ := Parse(backup["t-doomed.a"])
	vs, _ := f.kek.Versions(f.ctx)
	for _, v := range vs {
		w.Version = v.Version
		if _, err := OpenShredKey(f.ctx, f.kek, "t-doomed.a", w); err == nil {
			t.Fatalf("version %d opens the destroyed key", v.Version)
		}
	}
	// The live key lived through it all.
	f.reopen()
	if !f.ring.Has("t-live.a") {
		t.Fatal("the epoch lost a live key")
	}
}

// A replica that had not seen a rotation may wrap a new key under the old
// version after the epoch's re-wrap: the next epoch moves it on before it
// destroys that version, so the key is not lost.
func TestKeyringEpochMovesLateKeys(t *testing.T) {
	const every, window = time.Hour, 2 * time.Hour
	f := newRing(t)
	k, err := f.ring.Key(nil, "x-1", true)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(every)
	if r, err := f.ring.Epoch(f.ctx, every, window); err != nil || r.Current != 2 {
		t.Fatalf("epoch: %+v, %v", r, err)
	}
	// The lagging replica wraps x-2 under version 1.
	key1, err := f.kek.ring.Key(name(1), false)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := seal.Seal(key1, bind(1, aad("x-2")), k)
	if err != nil {
		t.Fatal(err)
	}
	f.restore(map[string]string{"x-2": Wrapped{Version: 1, Ciphertext: sealed}.String()})
	f.clock.Advance(window + every)
	r, err := f.ring.Epoch(f.ctx, every, window)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rewrapped != 2 || r.Destroyed < 1 {
		t.Fatalf("epoch: %+v; want x-1 and x-2 re-wrapped and version 1 destroyed", r)
	}
	f.reopen()
	for _, b := range []string{"x-1", "x-2"} {
		if got, err := f.ring.Key(nil, b, false); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("%s after the epoch: %v", b, err)
		}
	}
}
