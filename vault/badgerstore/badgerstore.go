// Package badgerstore is the embedded store of a vault directory: the
// kv interface over a badger database. Opening, tuning and housekeeping the
// database stay with the vault, which knows its files; this package only
// turns badger's transactions into kv's.
package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/vault/kv"
)

// Store is a kv.Store over an open badger database.
type Store struct{ db *badger.DB }

// New wraps db. Closing the Store closes db.
func New(db *badger.DB) *Store { return &Store{db: db} }

// DB is the badger database, for the housekeeping only badger has.
func (s *Store) DB() *badger.DB { return s.db }

// Begin starts a badger transaction: snapshot isolation with conflict
// detection on the keys read, which for single-process use is serialisable.
func (s *Store) Begin(ctx context.Context, writable bool) (kv.Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &tx{txn: s.db.NewTransaction(writable), writable: writable}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

type tx struct {
	txn      *badger.Txn
	writable bool
}

func (t *tx) Get(key []byte) ([]byte, error) {
	item, err := t.txn.Get(key)
	if err != nil {
		return nil, mapErr(err)
	}
	return item.ValueCopy(nil)
}

func (t *tx) Set(key, value []byte) error {
	if !t.writable {
		return kv.ErrReadOnly
	}
	// badger keeps the slices until commit; the caller may reuse its own.
	return sizeErr(t.txn.Set(bytes.Clone(key), bytes.Clone(value)), key, value)
}

// sizeErr keeps badger's words out of an error about a record too large
// for it: they include a hex dump of the record's first KiB, which must
// never reach a terminal or a log (it is sealed, but it is still the
// vault's content). badger's other refusals are its sentinel errors.
func sizeErr(err error, key, value []byte) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrTxnTooBig), errors.Is(err, badger.ErrReadOnlyTxn),
		errors.Is(err, badger.ErrDiscardedTxn), errors.Is(err, badger.ErrEmptyKey),
		errors.Is(err, badger.ErrInvalidKey):
		return mapErr(err)
	}
	return fmt.Errorf("%w: a record of %d bytes (key of %d bytes) is larger than the store takes", kv.ErrTooBig, len(value), len(key))
}

func (t *tx) Delete(key []byte) error {
	if !t.writable {
		return kv.ErrReadOnly
	}
	return sizeErr(t.txn.Delete(bytes.Clone(key)), key, nil)
}

func (t *tx) Commit() error { return mapErr(t.txn.Commit()) }

func (t *tx) Discard() { t.txn.Discard() }

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return kv.ErrNotFound
	case errors.Is(err, badger.ErrTxnTooBig):
		return kv.ErrTooBig
	case errors.Is(err, badger.ErrConflict):
		return kv.ErrConflict
	}
	return err
}

func (t *tx) NewIterator(o kv.IterOptions) kv.Iterator {
	bo := badger.DefaultIteratorOptions
	bo.Reverse = o.Reverse
	bo.PrefetchValues = !o.KeysOnly
	if !o.Reverse {
		// badger's Prefix also skips tables that hold none of it. In
		// reverse its Rewind starts past the prefix, so there the
		// prefix is checked here instead.
		bo.Prefix = o.Prefix
	}
	return &iter{it: t.txn.NewIterator(bo), prefix: bytes.Clone(o.Prefix), reverse: o.Reverse}
}

type iter struct {
	it      *badger.Iterator
	prefix  []byte
	reverse bool
	val     []byte
	err     error
}

func (i *iter) Rewind() {
	if !i.reverse || len(i.prefix) == 0 {
		i.it.Rewind()
		return
	}
	upper := successor(i.prefix)
	if upper == nil {
		i.it.Rewind()
		return
	}
	// The greatest key at or before upper is either in the prefix or upper
	// itself, the one key after every key of the prefix.
	i.it.Seek(upper)
	if i.it.Valid() && bytes.Equal(i.it.Item().Key(), upper) {
		i.it.Next()
	}
}

// successor is the least key greater than every key starting with p, or nil
// when p is all 0xff.
func successor(p []byte) []byte {
	s := bytes.Clone(p)
	for n := len(s) - 1; n >= 0; n-- {
		if s[n] < 0xff {
			s[n]++
			return s[:n+1]
		}
	}
	return nil
}

// Seek moves to the first key of the prefix at or after key (reverse: at or
// before), so a key outside the prefix lands on the prefix's first (last)
// key rather than outside it.
func (i *iter) Seek(key []byte) {
	switch {
	case !i.reverse && bytes.Compare(key, i.prefix) < 0:
		key = i.prefix
	case i.reverse && len(i.prefix) > 0:
		if upper := successor(i.prefix); upper != nil && bytes.Compare(key, upper) >= 0 {
			i.Rewind()
			return
		}
	}
	i.it.Seek(key)
}
func (i *iter) Valid() bool { return i.err == nil && i.it.ValidForPrefix(i.prefix) }
func (i *iter) Next()       { i.it.Next() }
func (i *iter) Key() []byte { return i.it.Item().Key() }
func (i *iter) Err() error  { return i.err }
func (i *iter) Close()      { i.it.Close() }

func (i *iter) Value() ([]byte, error) {
	v, err := i.it.Item().ValueCopy(i.val[:0])
	if err != nil {
		i.err = err
		return nil, err
	}
	i.val = v
	return v, nil
}

// Wrap gives the kv view of a badger transaction begun elsewhere, for tools
// and tests that open the database directly (as an attacker with the files
// would) and still want to read it the vault's way.
func Wrap(txn *badger.Txn, writable bool) kv.Txn { return &tx{txn: txn, writable: writable} }
