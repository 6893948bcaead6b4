// Package kv is the small transactional store the vault runs over: ordered
// byte keys, byte values, and one serialisable transaction per action.
//
// Two engines implement it: vault/badgerstore (a directory, the embedded
// default) and vault/pgstore (PostgreSQL, for notevault serve). The vault
// never sees which one it has; everything it keeps is a key and a value, and
// everything it asks is get, set, delete or an ordered scan of a prefix.
// The interface lives in its own package so that the engines need not import
// the vault that imports them.
package kv

import (
	"context"
	"errors"
	"io"
)

var (
	// ErrNotFound is returned by Get for a key that is not there.
	ErrNotFound = errors.New("key not found")
	// ErrTooBig is returned by Set, Delete or Commit when one transaction
	// holds more than the engine can commit at once.
	ErrTooBig = errors.New("the action is too large for one transaction")
	// ErrConflict is returned by Commit when a concurrent transaction
	// changed what this one read: nothing was written, and the whole action
	// may be run again.
	ErrConflict = errors.New("a concurrent change conflicted with this action")
	// ErrReadOnly is returned by Set and Delete in a read-only transaction.
	ErrReadOnly = errors.New("the transaction is read-only")
)

// Store is an open store.
type Store interface {
	// Begin starts a transaction. A writable one sees a consistent snapshot
	// and commits all of its changes or none, durably, and only if nothing
	// it read changed meanwhile (serialisable). A read-only one sees a
	// consistent snapshot.
	Begin(ctx context.Context, writable bool) (Tx, error)
	// Close releases the store. Transactions must be finished first.
	Close() error
}

// Txn reads and writes within one transaction. Keys and values passed in
// may be reused by the caller once the call returns; values handed out are
// the caller's to keep, except an Iterator's, which are valid until its next
// move.
type Txn interface {
	// Get returns the value of key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Set stores value under key, replacing any value there.
	Set(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// NewIterator walks keys in order. It sees the transaction's own
	// writes made before it was created. Close it before the transaction
	// ends.
	NewIterator(o IterOptions) Iterator
}

// Tx is a transaction in progress: a Txn that ends.
type Tx interface {
	Txn
	// Commit makes the writes durable, or returns ErrConflict or ErrTooBig
	// and writes nothing.
	Commit() error
	// Discard ends the transaction without writing; after Commit it does
	// nothing, so it can always be deferred.
	Discard()
}

// Turner is a transaction on a store shared by many writers (a server's:
// vault/remote) that can wait for the writers' turn before its last reads
// and its commit. TakeTurn returns kv.ErrConflict when something the
// transaction read so far changed since it read it: the action runs again.
// The vault takes the turn at the end of an action, before it reads the
// audit log's head, which every writer changes. ahead names what the
// transaction reads right after, which the store may send along with the
// turn rather than ask for one read at a time.
type Turner interface {
	TakeTurn(ahead Ahead) error
}

// Prefetcher is a transaction that can read several keys and walks at
// once, at one snapshot (a server's: one request rather than one each, and
// no commit landing between them). The vault asks it for what one step
// reads together, such as the audit log's head and its newest records.
type Prefetcher interface {
	Prefetch(ahead Ahead) error
}

// Ahead is what a transaction will read once it holds the writers' turn:
// keys it will Get, and walks it will start (a forward iterator with
// values over Prefix, sought to From).
type Ahead struct {
	Keys  [][]byte
	Walks []Walk
}

// Walk is an iterator's start: its prefix and the key it seeks.
type Walk struct {
	Prefix, From []byte
}

// IterOptions choose what an Iterator walks.
type IterOptions struct {
	// Prefix limits the walk to keys that start with it.
	Prefix []byte
	// Reverse walks from the greatest key down.
	Reverse bool
	// KeysOnly says Value will not be called; engines may skip reading
	// values.
	KeysOnly bool
}

// Iterator walks the keys of one prefix in order:
//
//	for it.Rewind(); it.Valid(); it.Next() { … it.Key() … }
type Iterator interface {
	// Rewind moves to the first key (the last, in reverse).
	Rewind()
	// Seek moves to the first key at or after key (reverse: at or before).
	Seek(key []byte)
	// Valid reports whether the iterator is at a key of the prefix.
	Valid() bool
	// Next moves to the following key.
	Next()
	// Key is the current key, valid until the next move.
	Key() []byte
	// Value is the current value, valid until the next move.
	Value() ([]byte, error)
	// Err reports a failure that ended the walk early (Valid turned false
	// because the engine failed, not because the keys ran out).
	Err() error
	// Close releases the iterator.
	Close()
}

// View runs fn in a read-only transaction of s.
func View(ctx context.Context, s Store, fn func(Txn) error) error {
	tx, err := s.Begin(ctx, false)
	if err != nil {
		return err
	}
	defer tx.Discard()
	return fn(tx)
}

// Update runs fn in a writable transaction of s and commits it when fn
// succeeds. A conflict is returned as ErrConflict, not retried: the caller
// knows whether fn may run again.
func Update(ctx context.Context, s Store, fn func(Txn) error) error {
	tx, err := s.Begin(ctx, true)
	if err != nil {
		return err
	}
	defer tx.Discard()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Payloads keeps what is too large for one value: the payloads of large
// notes (an age file's STREAM chunks, whose key lives in a header stored
// apart), written once as a stream, read back as a stream, and removed.
// A vault directory keeps them as files; notevault serve in PostgreSQL.
type Payloads interface {
	// Create starts a payload, unnamed until Place.
	Create() (PendingPayload, error)
	// Open reads the payload named name; a missing one wraps ErrNotFound.
	Open(name string) (Payload, error)
	// Remove removes payloads, placed or unfinished; a missing one is not
	// an error.
	Remove(names []string) error
	// Names lists the placed payloads, and the unfinished ones (whose
	// writer never placed them).
	Names() (placed map[string]bool, unfinished []string, err error)
	// Sync makes every Place before it durable.
	Sync() error
}

// PendingPayload is a payload being written.
type PendingPayload interface {
	io.Writer
	// Finish makes what was written durable.
	Finish() error
	// Place names the finished payload; placing it again under the same
	// name does nothing.
	Place(name string) error
	// Discard removes whatever was written, placed or not.
	Discard()
}

// Payload is a payload being read.
type Payload interface {
	io.ReadCloser
	// Size is its length in bytes.
	Size() int64
}
