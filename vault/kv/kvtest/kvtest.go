// Package kvtest is the conformance suite of the kv interface: what every
// engine the vault runs over must do the same way.
package kvtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/notevault/notevault/vault/kv"
)

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) kv.Store) {
	ctx := context.Background()
	update := func(t *testing.T, s kv.Store, fn func(kv.Txn) error) {
		t.Helper()
		tx, err := s.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Discard()
		if err := fn(tx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	view := func(t *testing.T, s kv.Store, fn func(kv.Txn)) {
		t.Helper()
		tx, err := s.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Discard()
		fn(tx)
	}
	keys := func(t *testing.T, txn kv.Txn, o kv.IterOptions, seek []byte) []string {
		t.Helper()
		it := txn.NewIterator(o)
		defer it.Close()
		var out []string
		if seek == nil {
			it.Rewind()
		} else {
			it.Seek(seek)
		}
		for ; it.Valid(); it.Next() {
			k := string(it.Key())
			if !o.KeysOnly {
				v, err := it.Value()
				if err != nil {
					t.Fatal(err)
				}
				k += "=" + string(v)
			}
			out = append(out, k)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	eq := func(t *testing.T, what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: %q, want %q", what, got, want)
		}
	}

	t.Run("get set delete", func(t *testing.T) {
		s := open(t)
		update(t, s, func(txn kv.Txn) error {
			if _, err := txn.Get([]byte("a")); !errors.Is(err, kv.ErrNotFound) {
				return fmt.Errorf("Get of a missing key: %v", err)
			}
			if err := txn.Set([]byte("a"), []byte("1")); err != nil {
				return err
			}
			if err := txn.Set([]byte("e"), nil); err != nil {
				return err
			}
			return txn.Delete([]byte("missing")) // not an error
		})
		view(t, s, func(txn kv.Txn) {
			if v, err := txn.Get([]byte("a")); err != nil || string(v) != "1" {
				t.Fatalf("Get a: %q, %v", v, err)
			}
			if v, err := txn.Get([]byte("e")); err != nil || len(v) != 0 {
				t.Fatalf("Get of an empty value: %q, %v", v, err)
			}
		})
		update(t, s, func(txn kv.Txn) error { return txn.Delete([]byte("a")) })
		view(t, s, func(txn kv.Txn) {
			if _, err := txn.Get([]byte("a")); !errors.Is(err, kv.ErrNotFound) {
				t.Fatalf("Get after Delete: %v", err)
			}
		})
	})

	t.Run("values are copies", func(t *testing.T) {
		s := open(t)
		k, v := []byte("k"), []byte("value")
		update(t, s, func(txn kv.Txn) error {
			if err := txn.Set(k, v); err != nil {
				return err
			}
			k[0], v[0] = 'x', 'X' // the caller reuses its slices
			return nil
		})
		view(t, s, func(txn kv.Txn) {
			got, err := txn.Get([]byte("k"))
			if err != nil || string(got) != "value" {
				t.Fatalf("Get: %q, %v", got, err)
			}
			got[0] = 'Z'
			again, _ := txn.Get([]byte("k"))
			if string(again) != "value" {
				t.Fatalf("a value handed out is not the caller's: %q", again)
			}
		})
	})

	t.Run("own writes and iterators", func(t *testing.T) {
		s := open(t)
		update(t, s, func(txn kv.Txn) error {
			for _, k := range []string{"a/1", "a/2", "b/"} {
				if err := txn.Set([]byte(k), []byte(k)); err != nil {
					return err
				}
			}
			if v, err := txn.Get([]byte("a/2")); err != nil || string(v) != "a/2" {
				return fmt.Errorf("a transaction does not see its own write: %q, %v", v, err)
			}
			eq(t, "own writes in an iterator", keys(t, txn, kv.IterOptions{Prefix: []byte("a/"), KeysOnly: true}, nil), "a/1", "a/2")
			return nil
		})
	})

	t.Run("prefix scans", func(t *testing.T) {
		s := open(t)
		all := []string{"", "a", "a/", "a/1", "a/2", "a/3", "a0", "b/", "\xff", "\xff\xff", "\xff\xff\x00"}
		update(t, s, func(txn kv.Txn) error {
			for _, k := range all[1:] {
				if err := txn.Set([]byte(k), []byte("v"+k)); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(txn kv.Txn) {
			p := kv.IterOptions{Prefix: []byte("a/"), KeysOnly: true}
			eq(t, "forward", keys(t, txn, p, nil), "a/", "a/1", "a/2", "a/3")
			eq(t, "forward seek", keys(t, txn, p, []byte("a/2")), "a/2", "a/3")
			eq(t, "forward seek between", keys(t, txn, p, []byte("a/15")), "a/2", "a/3")
			eq(t, "forward seek before the prefix", keys(t, txn, p, []byte("0")), "a/", "a/1", "a/2", "a/3")
			eq(t, "forward seek past the end", keys(t, txn, p, []byte("a/9")))
			r := p
			r.Reverse = true
			eq(t, "reverse (keys exist just past the prefix)", keys(t, txn, r, nil), "a/3", "a/2", "a/1", "a/")
			eq(t, "reverse seek", keys(t, txn, r, []byte("a/2")), "a/2", "a/1", "a/")
			eq(t, "reverse seek between", keys(t, txn, r, []byte("a/25")), "a/2", "a/1", "a/")
			eq(t, "reverse seek past the end", keys(t, txn, r, []byte("a/\xff\xff")), "a/3", "a/2", "a/1", "a/")
			eq(t, "reverse seek beyond the prefix", keys(t, txn, r, []byte("b")), "a/3", "a/2", "a/1", "a/")
			eq(t, "reverse seek before the prefix", keys(t, txn, r, []byte("0")))
			eq(t, "prefix of 0xff", keys(t, txn, kv.IterOptions{Prefix: []byte("\xff"), KeysOnly: true}, nil), "\xff", "\xff\xff", "\xff\xff\x00")
			eq(t, "reverse prefix of 0xff", keys(t, txn, kv.IterOptions{Prefix: []byte("\xff"), KeysOnly: true, Reverse: true}, nil), "\xff\xff\x00", "\xff\xff", "\xff")
			eq(t, "empty prefix", keys(t, txn, kv.IterOptions{KeysOnly: true}, nil), all[1:]...)
			eq(t, "values", keys(t, txn, kv.IterOptions{Prefix: []byte("a/")}, []byte("a/3")), "a/3=va/3")
		})
	})

	t.Run("many keys page through", func(t *testing.T) {
		s := open(t)
		const n = 1000
		update(t, s, func(txn kv.Txn) error {
			for i := 0; i < n; i++ {
				if err := txn.Set([]byte(fmt.Sprintf("p/%05d", i)), []byte{byte(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(txn kv.Txn) {
			got := keys(t, txn, kv.IterOptions{Prefix: []byte("p/"), KeysOnly: true}, nil)
			if len(got) != n || got[0] != "p/00000" || got[n-1] != fmt.Sprintf("p/%05d", n-1) {
				t.Fatalf("forward: %d keys, first %q", len(got), got[0])
			}
			got = keys(t, txn, kv.IterOptions{Prefix: []byte("p/"), KeysOnly: true, Reverse: true}, nil)
			if len(got) != n || got[0] != fmt.Sprintf("p/%05d", n-1) || got[n-1] != "p/00000" {
				t.Fatalf("reverse: %d keys", len(got))
			}
		})
	})

	t.Run("binary keys sort bytewise", func(t *testing.T) {
		s := open(t)
		update(t, s, func(txn kv.Txn) error {
			for _, k := range [][]byte{{'k', 0xff}, {'k', 0x00}, {'k', 0x7f}, {'k', 0x80}, {'k'}} {
				if err := txn.Set(k, []byte{1}); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, s, func(txn kv.Txn) {
			it := txn.NewIterator(kv.IterOptions{Prefix: []byte("k"), KeysOnly: true})
			defer it.Close()
			var prev []byte
			n := 0
			for it.Rewind(); it.Valid(); it.Next() {
				if prev != nil && bytes.Compare(prev, it.Key()) >= 0 {
					t.Fatalf("%x before %x", prev, it.Key())
				}
				prev = bytes.Clone(it.Key())
				n++
			}
			if n != 5 {
				t.Fatalf("%d keys, want 5", n)
			}
		})
	})

	t.Run("read-only and discard", func(t *testing.T) {
		s := open(t)
		view(t, s, func(txn kv.Txn) {
			if err := txn.Set([]byte("a"), []byte("1")); !errors.Is(err, kv.ErrReadOnly) {
				t.Fatalf("Set in a read-only transaction: %v", err)
			}
			if err := txn.Delete([]byte("a")); !errors.Is(err, kv.ErrReadOnly) {
				t.Fatalf("Delete in a read-only transaction: %v", err)
			}
		})
		tx, err := s.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Set([]byte("a"), []byte("1")); err != nil {
			t.Fatal(err)
		}
		tx.Discard()
		view(t, s, func(txn kv.Txn) {
			if _, err := txn.Get([]byte("a")); !errors.Is(err, kv.ErrNotFound) {
				t.Fatalf("a discarded write is there: %v", err)
			}
		})
		tx, _ = s.Begin(ctx, true)
		tx.Set([]byte("b"), []byte("2"))
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		tx.Discard() // after Commit: nothing
		view(t, s, func(txn kv.Txn) {
			if _, err := txn.Get([]byte("b")); err != nil {
				t.Fatalf("Discard after Commit undid it: %v", err)
			}
		})
	})

	t.Run("serialisable", func(t *testing.T) {
		s := open(t)
		update(t, s, func(txn kv.Txn) error { return txn.Set([]byte("n"), []byte{0}) })
		// Two read-modify-writes of the same key at once: one commits,
		// the other gets ErrConflict (from a write, as PostgreSQL reports
		// it once the first commits, or from Commit, as badger does) and
		// writes nothing.
		a, _ := s.Begin(ctx, true)
		b, _ := s.Begin(ctx, true)
		defer a.Discard()
		defer b.Discard()
		var read sync.WaitGroup
		read.Add(2)
		var errs []error
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, tx := range []kv.Tx{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := func() error {
					v, err := tx.Get([]byte("n"))
					read.Done()
					if err != nil {
						return err
					}
					read.Wait() // both read before either writes
					if err := tx.Set([]byte("n"), []byte{v[0] + 1}); err != nil {
						return err
					}
					if err := tx.Set([]byte(fmt.Sprintf("by%d", i)), []byte{1}); err != nil {
						return err
					}
					return tx.Commit()
				}()
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, kv.ErrConflict):
				conflicts++
			default:
				t.Fatalf("commit: %v", err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("%d commits and %d conflicts, want one of each", ok, conflicts)
		}
		view(t, s, func(txn kv.Txn) {
			v, _ := txn.Get([]byte("n"))
			_, e0 := txn.Get([]byte("by0"))
			_, e1 := txn.Get([]byte("by1"))
			if v[0] != 1 || (e0 == nil) == (e1 == nil) {
				t.Fatalf("n=%d, by0 %v, by1 %v: want one increment and only its marker", v[0], e0, e1)
			}
		})
	})
}
