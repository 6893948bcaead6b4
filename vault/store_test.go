package vault

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
)

// TestVaultOverAnotherStore runs a vault's whole life over a store it was
// given (Options.Store) rather than the badger database of its directory:
// what notevault serve does with PostgreSQL. An in-memory badger stands in
// for the other engine; the vault sees only the kv interface either way.
func TestVaultOverAnotherStore(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	store := badgerstore.New(db)
	t.Cleanup(func() { store.Close() })
	vaultLifeOver(t, store)
}

// TestVaultOverPostgres is the same life on PostgreSQL (vault/pgstore), the
// store of notevault serve: the vault's code is the same, only the engine
// under kv differs.
func TestVaultOverPostgres(t *testing.T) {
	c := pgtest.Start(t)
	store, err := pgstore.Open(context.Background(), c.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	vaultLifeOver(t, store)
}

func vaultLifeOver(t *testing.T, store kv.Store) {
	f := newFixtureOn(t, true, store)
	n := f.add(policy.Session, f.alice, content("first session", "goals for the term"))
	f.close()
	f.open() // a second process: everything is read back from the store
	p, err := f.v.ReadNote(f.ctx, n.ID, f.bob)
	if err != nil || string(p.Content.Body) != "goals for the term" {
		t.Fatalf("ReadNote after reopen: %+v, %v", p, err)
	}
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	f.clock.Advance(10 * 365 * 24 * time.Hour)
	if receipts, _, err := f.sweep(); err != nil || len(receipts) != 1 {
		t.Fatalf("sweep: %d receipts, %v", len(receipts), err)
	}
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadNote after the sweep: %v, want not found", err)
	}
	f.close()

	// The records went to the given store, and the directory has no
	// database of its own: a vault that ignored Options.Store would fail
	// here.
	if _, err := os.Stat(filepath.Join(f.dir, dbDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the vault directory has a %s/ of its own (%v)", dbDir, err)
	}
	if n := countKeys(t, store, pAgreement); n != 1 {
		t.Errorf("the given store holds %d agreements, want 1", n)
	}
	if n := countKeys(t, store, pLog); n < 5 {
		t.Errorf("the given store holds %d audit records, want the whole log", n)
	}
	// Closing the vault left the store, which is the caller's, open.
	if tx, err := store.Begin(context.Background(), false); err != nil {
		t.Errorf("the store was closed with the vault: %v", err)
	} else {
		tx.Discard()
	}
}

func countKeys(t *testing.T, s kv.Store, prefix string) int {
	t.Helper()
	tx, err := s.Begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Discard()
	it := tx.NewIterator(kv.IterOptions{Prefix: []byte(prefix), KeysOnly: true})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if !bytes.HasPrefix(it.Key(), []byte(prefix)) {
			t.Fatalf("iterator left its prefix: %q", it.Key())
		}
		n++
	}
	return n
}
