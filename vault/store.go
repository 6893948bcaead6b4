package vault

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"
)

// Key prefixes. Every record is one schema byte followed by JSON. Records
// that listing and the sweep scan (note metadata, the expiry index, bucket
// members) are small and live apart from ciphertexts, so scans never read
// ciphertext value blocks.
const (
	pParticipant = "p/" // p/<name>
	pAgreement   = "a/" // a/<id>: the agreement's id and creation time
	pNote        = "n/" // n/<id>: metadata the policy and retention need
	pBlob        = "c/" // c/<blob id>: sealed age files (note copies)
	pExpiry      = "x/" // x/<unix seconds BE>/<note id>: retention index
	pMember      = "m/" // m/<bucket>/<blob id>: which blobs a shred key seals
	// Agreements are chains of signed facts: see agreement.go (a/, f/, t/,
	// i/) and hold.go (r/).
	pLog     = "l/" // l/<seq BE>: audit records
	kLogHead = "z/loghead"
)

const schemaV1 = 1

func encodeRecord(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{schemaV1}, b...), nil
}

func decodeRecord(b []byte, v any) error {
	if len(b) == 0 || b[0] != schemaV1 {
		return errors.New("stored record has an unknown schema version")
	}
	return json.Unmarshal(b[1:], v)
}

func get(txn kv.Txn, key string, v any) error {
	b, err := txn.Get([]byte(key))
	if err != nil {
		return err
	}
	return decodeRecord(b, v)
}

// getRecord reads the record prefix+id into v; a missing record is a
// not-found error naming what was asked for ("grant g-1: not found").
func getRecord(txn kv.Txn, prefix, what, id string, v any) error {
	err := get(txn, prefix+id, v)
	if isNotFound(err) {
		return notFound(what, id)
	}
	return err
}

func put(txn kv.Txn, key string, v any) error {
	b, err := encodeRecord(v)
	if err != nil {
		return err
	}
	return txn.Set([]byte(key), b)
}

// scan calls fn for every record under prefix, decoded into a fresh T.
func scan[T any](txn kv.Txn, prefix string, fn func(key string, v *T) error) error {
	o := kv.IterOptions{Prefix: []byte(prefix)}
	it := txn.NewIterator(o)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var v T
		b, err := it.Value()
		if err == nil {
			err = decodeRecord(b, &v)
		}
		if err != nil {
			return fmt.Errorf("record %s: %w", it.Key(), err)
		}
		if err := fn(string(it.Key()), &v); err != nil {
			return err
		}
	}
	return it.Err()
}

// scanKeys calls fn with every key under prefix without reading values.
func scanKeys(txn kv.Txn, prefix string, fn func(key string) error) error {
	o := kv.IterOptions{Prefix: []byte(prefix)}
	o.KeysOnly = true
	it := txn.NewIterator(o)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(string(it.Key())); err != nil {
			return err
		}
	}
	return it.Err()
}

var idEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newID returns prefix-xxxxxxxxxxxxxxxx: 80 random bits, readable and
// unambiguous.
func (v *Vault) newID(prefix string) (string, error) {
	b := make([]byte, 10)
	if _, err := io.ReadFull(v.rand, b); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return prefix + "-" + idEncoding.EncodeToString(b), nil
}

func expiryKey(unix int64, noteID string) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(unix))
	return pExpiry + string(b[:]) + "/" + noteID
}

func parseExpiryKey(k string) (unix int64, noteID string, ok bool) {
	rest, found := strings.CutPrefix(k, pExpiry)
	if !found || len(rest) < 10 {
		return 0, "", false
	}
	return int64(binary.BigEndian.Uint64([]byte(rest[:8]))), rest[9:], true
}

// AppendOnly are the key prefixes whose records are only ever appended:
// the audit log and agreements' chains. No action changes or removes one
// once written (every check of them assumes as much), so notevault serve
// refuses any commit that would (remote.Server.AppendOnly).
func AppendOnly() [][]byte { return [][]byte{[]byte(pLog), []byte(pFact)} }

func logKey(seq uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return pLog + string(b[:])
}

// update runs fn in one read-write transaction and commits it (synced).
// Writers are serialised within the process; other processes are kept out by
// the vault lock.
func (v *Vault) update(fn func(txn kv.Txn) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failed != nil {
		return v.failed
	}
	if v.opts.ReadOnly {
		return errReadOnly
	}
	defer func() { v.queued = nil }()
	// On a shared store (a server's PostgreSQL) another process's action
	// may conflict with this one: nothing was written, and fn runs again
	// on a fresh snapshot. fn must be safe to run more than once: it keeps
	// what it found in the transaction, not in variables it appends to.
	for attempt := 1; ; attempt++ {
		txn, err := v.tryUpdate(fn)
		if errors.Is(err, kv.ErrConflict) && attempt < maxAttempts {
			backoff(attempt)
			continue
		}
		if err != nil {
			return err
		}
		v.wrote = true
		v.settleHeads(txn, true)
		// The checkpoint follows the log's head; a crash before this line
		// leaves a checkpoint that covers fewer records, which the next
		// process accepts (the log still extends it) and brings up to date.
		return v.fail(v.writeCheckpoint())
	}
}

// errReadOnly is a write through a vault opened with Options.ReadOnly: a
// command that said it writes nothing did.
var errReadOnly = errors.New("this command opened the vault for reading only, and cannot write to it")

// maxAttempts bounds how often update runs an action that keeps
// conflicting with others. On a server every action appends to the one
// audit log, so concurrent writers all conflict but one each time: with
// sixteen clients writing at once an action may need a few dozen tries
// (bench/load_test.go).
const maxAttempts = 64

// backoff waits before attempt+1 of an action that conflicted: a random
// time up to 1 ms·2^attempt, capped at 128 ms ("full jitter"), so that
// writers that collided do not collide again in step.
func backoff(attempt int) {
	limit := time.Millisecond << min(attempt, 7)
	time.Sleep(rand.N(limit))
}

// tryUpdate is one attempt of update: it returns the committed transaction.
// The shred keys a failed attempt made go with it.
func (v *Vault) tryUpdate(fn func(txn kv.Txn) error) (kv.Txn, error) {
	v.queued = nil
	txn, err := v.store.Begin(context.Background(), true)
	if err != nil {
		return nil, err
	}
	defer txn.Discard()
	committed := false
	if fk, ok := v.keys.(*fileKeys); ok {
		defer func() { fk.settle(txn, committed) }()
	}
	if err := fn(txn); err != nil {
		v.settleHeads(txn, false)
		return nil, err
	}
	// The end of the action: on a server, the writers' turn (the reads so
	// far still hold, or the action runs again), then the audit log, which
	// every writer changes: checked to extend what this process verified,
	// and appended to. Nothing was committed or shown before.
	if t, ok := txn.(kv.Turner); ok {
		if err := t.TakeTurn(v.logAhead()); err != nil {
			v.settleHeads(txn, false)
			return nil, err
		}
	}
	if err := v.checkLog(txn); err != nil {
		v.settleHeads(txn, false)
		return nil, v.fail(err)
	}
	if err := v.flushLog(txn); err != nil {
		v.settleHeads(txn, false)
		return nil, err
	}
	if err := txn.Commit(); err != nil {
		v.settleHeads(txn, false)
		if errors.Is(err, kv.ErrTooBig) || errors.Is(err, kv.ErrConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("committing to the store: %w", err)
	}
	committed = true
	return txn, nil
}

func (v *Vault) view(fn func(txn kv.Txn) error) error {
	// A server's snapshot may be overtaken mid-read (remote: a row it
	// needs was written after it): nothing was decided on it, and fn
	// reads again on a fresh one. So fn, like update's, must be safe to
	// run more than once: a slice it fills is reset at its start.
	for attempt := 1; ; attempt++ {
		err := v.tryView(fn)
		if errors.Is(err, kv.ErrConflict) && attempt < maxAttempts {
			backoff(attempt)
			continue
		}
		return err
	}
}

func (v *Vault) tryView(fn func(txn kv.Txn) error) error {
	txn, err := v.store.Begin(context.Background(), false)
	if err != nil {
		return err
	}
	defer txn.Discard()
	err = fn(txn)
	v.settleHeads(txn, err == nil)
	return err
}

func isNotFound(err error) bool { return errors.Is(err, kv.ErrNotFound) }
