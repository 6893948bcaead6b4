package vault

import (
	"context"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/kv"
)

// smallStore is a store that takes at most limit writes a transaction, as
// any engine has a limit: it answers kv.ErrTooBig past it.
type smallStore struct {
	kv.Store
	limit int
}

func (s smallStore) Begin(ctx context.Context, writable bool) (kv.Tx, error) {
	tx, err := s.Store.Begin(ctx, writable)
	if err != nil {
		return nil, err
	}
	return &smallTx{Tx: tx, left: s.limit}, nil
}

type smallTx struct {
	kv.Tx
	left int
}

func (t *smallTx) Set(k, v []byte) error {
	if t.left--; t.left < 0 {
		return kv.ErrTooBig
	}
	return t.Tx.Set(k, v)
}

func (t *smallTx) Delete(k []byte) error {
	if t.left--; t.left < 0 {
		return kv.ErrTooBig
	}
	return t.Tx.Delete(k)
}

// The actions that touch many records split their work when the store
// cannot take it in one transaction: an import, the sweep's deletions and
// receipts, and the re-wrap of a bucket after an early deletion. Each ends
// with a vault that checks clean.
func TestBigActionsSplitToFit(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	inner := badgerstore.New(db)
	t.Cleanup(func() { inner.Close() })
	f := newFixtureOn(t, true, smallStore{inner, 400})
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := im.Add(f.ctx, importItems(300, "SPLIT"))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if _, err := f.v.DeleteNote(f.ctx, got[0].Note, f.alice); err != nil {
		t.Fatalf("delete from a bucket of 300: %v", err)
	}
	f.checkClean2()
	f.clock.Advance(10 * 365 * 24 * time.Hour)
	receipts, _, err := f.sweep()
	if err != nil || len(receipts) != 299 {
		t.Fatalf("sweep: %d receipts, %v; want 299", len(receipts), err)
	}
	f.checkClean2()
}

// The same for sharing and closing: a grant over hundreds of summaries, its
// revocation, and the close of the agreement, on a store that takes only
// 400 writes a transaction.
func TestBigSharingSplitsToFit(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	inner := badgerstore.New(db)
	t.Cleanup(func() { inner.Close() })
	f := newFixtureOn(t, true, smallStore{inner, 400})
	ids := f.manySummaries(300)
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	g, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 24*time.Hour, f.alice)
	if err != nil || copied != len(ids) {
		t.Fatalf("grant over %d summaries: %d copied, %v", len(ids), copied, err)
	}
	f.checkClean2()
	f.clock.Advance(time.Second)
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := f.v.SweepGrants(f.ctx); err != nil {
		t.Fatalf("sweeping the revoked grant's copies: %v", err)
	}
	f.checkClean2()
	f.clock.Advance(time.Second)
	if _, err := f.v.CloseAgreement(f.ctx, f.agreement, "programme ended", f.alice); err != nil {
		t.Fatalf("close: %v", err)
	}
	f.checkClean2()
}
