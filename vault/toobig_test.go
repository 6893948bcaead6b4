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
