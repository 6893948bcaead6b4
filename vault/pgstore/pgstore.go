// Package pgstore is the vault's store on PostgreSQL, for notevault serve:
// the kv interface over one ordered key-value table, as HashiCorp Vault's
// own PostgreSQL backend keeps its data,
//
//	kv(k bytea PRIMARY KEY, v bytea NOT NULL)
//
// bytea compares bytewise (memcmp), so keys sort exactly as badger sorts
// them and a prefix scan is a range scan of the primary key.
//
// Isolation. A writable transaction is SERIALIZABLE: several notevault serve
// replicas share one database, and an action reads what it decides on (an
// agreement's chain, the audit log's head) before it writes; PostgreSQL's
// serialisable snapshot isolation then refuses one of two actions that would
// not have run the same one after the other, with SQLSTATE 40001, which
// Commit (or the statement that met it) returns as kv.ErrConflict for the
// caller to run the action again. A read-only transaction is REPEATABLE READ
// READ ONLY: one consistent snapshot for the whole read, and no
// serialisation failure to retry.
package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/notevault/notevault/vault/kv"
)

// Store is a kv.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	turn turnListener
}

// migrations create and evolve the schema, in order; schema_version holds
// how many ran.
var migrations = []string{
	`CREATE TABLE kv (k bytea PRIMARY KEY, v bytea NOT NULL)`,
	// Version 2: snapshots for notevault serve's clients (snapshot.go).
	// Every write stamps its rows with the commit clock, and a delete
	// leaves a tombstone (v NULL) until no snapshot can need it; nonces
	// and principals are the server's authentication.
	`ALTER TABLE kv ALTER COLUMN v DROP NOT NULL;
	 ALTER TABLE kv ADD COLUMN ver bigint NOT NULL DEFAULT 0;
	 CREATE TABLE kv_clock (n bigint NOT NULL, purged bigint NOT NULL);
	 INSERT INTO kv_clock VALUES (0, 0);
	 CREATE TABLE nonces (key_id text NOT NULL, id text NOT NULL, until timestamptz NOT NULL, PRIMARY KEY (key_id, id));
	 CREATE TABLE principals (fingerprint text PRIMARY KEY, public text NOT NULL, added timestamptz NOT NULL DEFAULT now())`,
	// Version 3: the ids of client commits, so that a commit sent again
	// (its answer was lost) is not applied twice.
	`CREATE TABLE commits (id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`,
	// Version 4: the writers' turn (turn.go).
	`CREATE TABLE write_turn (holder text NOT NULL, until timestamptz NOT NULL);
	 INSERT INTO write_turn VALUES ('', '-infinity')`,
	// Version 5: large notes' payloads (payloads.go).
	`CREATE TABLE payloads (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, touched timestamptz NOT NULL DEFAULT now());
	 CREATE TABLE payload_chunks (payload bigint NOT NULL REFERENCES payloads (id) ON DELETE CASCADE,
	   n integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (payload, n))`,
	// Version 6: when the writers' turn's holder took it (turn.go).
	`ALTER TABLE write_turn ADD COLUMN since timestamptz NOT NULL DEFAULT '-infinity'`,
	// Version 7: the writers waiting for the turn, in order (turn.go).
	`CREATE TABLE turn_queue (holder text PRIMARY KEY, since timestamptz NOT NULL, seen timestamptz NOT NULL)`,
}

// migrationLock is the advisory lock key under which replicas that start
// together migrate one at a time.
const migrationLock = 0x6e76_6d69_6772 // "nvmigr"

// Open connects to the database connString names (a postgres:// URL or
// key=value pairs, as libpq takes) and creates or migrates its schema.
func Open(ctx context.Context, connString string) (*Store, error) {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", oneLine{err})
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// oneLine is err on one line: pgx reports a failed connection attempt by
// attempt, a line each and often the same line twice (with and without
// TLS).
type oneLine struct{ err error }

func (e oneLine) Error() string {
	var parts []string
	for _, l := range strings.Split(e.err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(parts, l) {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

func (e oneLine) Unwrap() error { return e.err }

func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", oneLine{err})
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("locking the schema for migration: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("creating the schema: %w", err)
	}
	var have int
	err = conn.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&have)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := conn.Exec(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
			return fmt.Errorf("creating the schema: %w", err)
		}
	case err != nil:
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("the database's schema is version %d, newer than this release knows (%d): upgrade notevault", have, len(migrations))
	}
	for i := have; i < len(migrations); i++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, i+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrating the schema to version %d: %w", i+1, err)
		}
	}
	return nil
}

// Pool is the connection pool, for what the server does beside the store
// (the sweep's advisory lock).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() error {
	s.turn.close()
	s.pool.Close()
	return nil
}

// Begin starts a transaction: SERIALIZABLE when writable, REPEATABLE READ
// READ ONLY otherwise.
func (s *Store) Begin(ctx context.Context, writable bool) (kv.Tx, error) {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	if writable {
		opts = pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadWrite}
	}
	t, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("beginning a transaction: %w", mapErr(err))
	}
	return &tx{ctx: ctx, tx: t, writable: writable}, nil
}

type tx struct {
	ctx      context.Context
	tx       pgx.Tx
	writable bool
	err      error // the first failure: PostgreSQL aborts the transaction there
	done     bool
	ver      int64 // the commit clock's value this transaction writes (0: none yet)
}

// stamp advances the commit clock, once per transaction, at its first
// write: every row the transaction writes carries the value. The clock's
// row stays locked until the transaction ends, so stamps are taken in
// commit order and a snapshot that read the clock at n sees exactly the
// rows stamped n or less (snapshot.go).
func (t *tx) stamp() (int64, error) {
	if t.ver == 0 {
		if err := t.tx.QueryRow(t.ctx, `UPDATE kv_clock SET n = n + 1 RETURNING n`).Scan(&t.ver); err != nil {
			return 0, t.fail(err)
		}
	}
	return t.ver, nil
}

// fail keeps the first failure of the transaction and returns it mapped.
func (t *tx) fail(err error) error {
	err = mapErr(err)
	if t.err == nil {
		t.err = err
	}
	return err
}

func (t *tx) Get(key []byte) ([]byte, error) {
	var v []byte
	err := t.tx.QueryRow(t.ctx, `SELECT v FROM kv WHERE k = $1 AND v IS NOT NULL`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kv.ErrNotFound
	}
	if err != nil {
		return nil, t.fail(err)
	}
	return v, nil
}

func (t *tx) Set(key, value []byte) error {
	if !t.writable {
		return kv.ErrReadOnly
	}
	if value == nil {
		value = []byte{}
	}
	ver, err := t.stamp()
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO kv (k, v, ver) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, ver = EXCLUDED.ver`, key, value, ver)
	if err != nil {
		return t.fail(err)
	}
	return nil
}

func (t *tx) Delete(key []byte) error {
	if !t.writable {
		return kv.ErrReadOnly
	}
	ver, err := t.stamp()
	if err != nil {
		return err
	}
	// A tombstone: a snapshot taken before this delete must learn that the
	// key changed (snapshot.go); Purge removes it later.
	if _, err := t.tx.Exec(t.ctx, `UPDATE kv SET v = NULL, ver = $2 WHERE k = $1 AND v IS NOT NULL`, key, ver); err != nil {
		return t.fail(err)
	}
	return nil
}

// Commit commits, or reports the failure that aborted the transaction:
// PostgreSQL rolls back a transaction whose statement failed, and a commit
// that silently rolled back must not pass for one that wrote.
func (t *tx) Commit() error {
	if t.done {
		return errors.New("the transaction has ended")
	}
	t.done = true
	if t.err != nil {
		t.tx.Rollback(context.WithoutCancel(t.ctx))
		return t.err
	}
	if err := t.tx.Commit(t.ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("PostgreSQL rolled the transaction back: %w", kv.ErrConflict)
		}
		return mapErr(err)
	}
	return nil
}

func (t *tx) Discard() {
	if t.done {
		return
	}
	t.done = true
	t.tx.Rollback(context.WithoutCancel(t.ctx))
}

// mapErr turns PostgreSQL's serialisation failures and deadlocks into
// kv.ErrConflict, keeping the original for errors.As.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
		return &conflict{err}
	}
	return err
}

type conflict struct{ err error }

func (c *conflict) Error() string        { return kv.ErrConflict.Error() + ": " + c.err.Error() }
func (c *conflict) Is(target error) bool { return target == kv.ErrConflict }
func (c *conflict) Unwrap() error        { return c.err }

// pageSize is how many rows an iterator fetches at a time.
const pageSize = 256

func (t *tx) NewIterator(o kv.IterOptions) kv.Iterator {
	prefix := append([]byte{}, o.Prefix...) // never nil: nil is SQL NULL
	return &iter{t: t, prefix: prefix, upper: successor(o.Prefix), reverse: o.Reverse, keysOnly: o.KeysOnly}
}

// iter walks a prefix a page at a time, by keyset pagination: each page
// starts after the last key of the one before, so it never loads a whole
// prefix and sees the transaction's own writes.
type iter struct {
	t        *tx
	prefix   []byte
	upper    []byte // the least key after every key of the prefix; nil: none
	reverse  bool
	keysOnly bool

	keys, vals [][]byte
	pos        int
	more       bool // the last page was full: there may be more
	err        error
}

// successor is the least key greater than every key starting with p, or nil
// when there is none (p empty or all 0xff).
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

func (i *iter) Rewind() {
	if i.reverse {
		i.load(nil, false)
		return
	}
	i.load(i.prefix, true)
}

// Seek moves to the first key at or after key (reverse: at or before).
func (i *iter) Seek(key []byte) {
	key = append([]byte{}, key...)
	if !i.reverse && bytes.Compare(key, i.prefix) < 0 {
		key = i.prefix
	}
	i.load(key, true)
}

// load fetches the page that starts at from (inclusive, or exclusive when
// !incl); from nil in reverse starts at the prefix's end.
func (i *iter) load(from []byte, incl bool) {
	i.keys, i.vals, i.pos, i.more = nil, nil, 0, false
	if i.err != nil {
		return
	}
	cols := "k, v"
	if i.keysOnly {
		cols = "k, NULL::bytea"
	}
	var q string
	args := []any{i.prefix}
	op := map[bool]string{true: ">=", false: ">"}[incl]
	if i.reverse {
		op = map[bool]string{true: "<=", false: "<"}[incl]
	}
	switch {
	case !i.reverse:
		q = fmt.Sprintf(`SELECT %s FROM kv WHERE v IS NOT NULL AND k >= $1 AND k %s $2`, cols, op)
		args = append(args, from)
		if i.upper != nil {
			q += ` AND k < $3`
			args = append(args, i.upper)
		}
		q += ` ORDER BY k LIMIT ` + fmt.Sprint(pageSize)
	case from == nil:
		q = fmt.Sprintf(`SELECT %s FROM kv WHERE v IS NOT NULL AND k >= $1`, cols)
		if i.upper != nil {
			q += ` AND k < $2`
			args = append(args, i.upper)
		}
		q += ` ORDER BY k DESC LIMIT ` + fmt.Sprint(pageSize)
	default:
		q = fmt.Sprintf(`SELECT %s FROM kv WHERE v IS NOT NULL AND k >= $1 AND k %s $2`, cols, op)
		args = append(args, from)
		if i.upper != nil {
			q += ` AND k < $3`
			args = append(args, i.upper)
		}
		q += ` ORDER BY k DESC LIMIT ` + fmt.Sprint(pageSize)
	}
	rows, err := i.t.tx.Query(i.t.ctx, q, args...)
	if err != nil {
		i.err = i.t.fail(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			i.err = i.t.fail(err)
			return
		}
		i.keys, i.vals = append(i.keys, k), append(i.vals, v)
	}
	if err := rows.Err(); err != nil {
		i.err = i.t.fail(err)
		return
	}
	i.more = len(i.keys) == pageSize
}

func (i *iter) Valid() bool { return i.err == nil && i.pos < len(i.keys) }

func (i *iter) Next() {
	i.pos++
	if i.pos == len(i.keys) && i.more {
		i.load(i.keys[len(i.keys)-1], false)
	}
}

func (i *iter) Key() []byte { return i.keys[i.pos] }

func (i *iter) Value() ([]byte, error) {
	if i.keysOnly {
		return nil, errors.New("pgstore: Value on a keys-only iterator")
	}
	return i.vals[i.pos], nil
}

func (i *iter) Err() error { return i.err }
func (i *iter) Close()     {}
