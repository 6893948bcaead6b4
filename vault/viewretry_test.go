package vault

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/kv"
)

// conflicting is a store whose read-only transactions fail once, part way
// through a walk, with a conflict: what a server answers when a snapshot
// is overtaken (vault/remote). The vault's view then runs again.
type conflicting struct {
	kv.Store
	armed  atomic.Bool
	prefix string // the walk that fails
	after  int    // rows it yields before it fails
}

func (s *conflicting) Begin(ctx context.Context, writable bool) (kv.Tx, error) {
	tx, err := s.Store.Begin(ctx, writable)
	if err != nil || writable {
		return tx, err
	}
	return &conflictingTx{Tx: tx, s: s}, nil
}

type conflictingTx struct {
	kv.Tx
	s *conflicting
}

func (t *conflictingTx) NewIterator(o kv.IterOptions) kv.Iterator {
	it := t.Tx.NewIterator(o)
	if string(o.Prefix) != t.s.prefix {
		return it
	}
	return &conflictingIter{Iterator: it, s: t.s}
}

type conflictingIter struct {
	kv.Iterator
	s      *conflicting
	n      int
	failed bool
}

func (i *conflictingIter) Valid() bool { return !i.failed && i.Iterator.Valid() }

func (i *conflictingIter) Next() {
	i.Iterator.Next()
	if i.n++; i.n >= i.s.after && i.s.armed.CompareAndSwap(true, false) {
		i.failed = true
	}
}

func (i *conflictingIter) Err() error {
	if i.failed {
		return kv.ErrConflict
	}
	return i.Iterator.Err()
}

// A listing whose view conflicts part way and runs again lists each
// record once: the views that fill a slice start it afresh.
func TestViewRunAgainListsOnce(t *testing.T) {
	db, err := badger.Open(badgerOptions(filepath.Join(t.TempDir(), "db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &conflicting{Store: badgerstore.New(db), after: 3}
	f := newFixtureOn(t, true, store)
	for range 8 {
		f.add(policy.Session, f.alice, content("weekly", "we met"))
	}
	once := func(name, prefix string, list func() ([]string, error)) {
		t.Helper()
		store.prefix = prefix
		want, err := list()
		if err != nil {
			t.Fatal(err)
		}
		store.armed.Store(true)
		got, err := list()
		if err != nil {
			t.Fatalf("%s after a conflict: %v", name, err)
		}
		if store.armed.Load() {
			t.Fatalf("%s: no conflict was injected (the walk was shorter than %d rows)", name, store.after)
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("%s lists %s twice after running again", name, id)
			}
			seen[id] = true
		}
		if len(got) != len(want) {
			t.Fatalf("%s lists %d after running again, %d before", name, len(got), len(want))
		}
	}
	once("ListNotes", pNote, func() ([]string, error) {
		notes, err := f.v.ListNotes(f.ctx, NoteFilter{})
		var ids []string
		for _, n := range notes {
			ids = append(ids, n.ID)
		}
		return ids, err
	})
	once("AuditLog", pLog, func() ([]string, error) {
		recs, err := f.v.AuditLog(f.ctx, "")
		var ids []string
		for _, r := range recs {
			ids = append(ids, fmt.Sprint(r.Seq))
		}
		return ids, err
	})
}
