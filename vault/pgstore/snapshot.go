package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/notevault/notevault/vault/kv"
)

// Snapshots for notevault serve's clients.
//
// A client of notevault serve runs each action as one transaction over
// many HTTP requests, and any replica may answer each of them, so no
// PostgreSQL transaction can stay open for it. Instead every write stamps
// the rows it touches with the commit clock (kv_clock.n, advanced once per
// writing transaction and locked until it ends, so stamps follow commit
// order), and a delete leaves a tombstone. A client's transaction reads the
// clock once (Clock) and then reads at that snapshot S: a read that meets
// a row stamped after S (or a tombstone purged past S) fails with
// kv.ErrConflict, and the action runs again on a fresh snapshot, so every
// read it made saw the store as it was at S. A writing transaction commits
// its buffered writes with Apply, which checks, in one SERIALIZABLE
// transaction, that nothing it read changed after S (optimistic
// concurrency control, as FoundationDB and Percolator commit) before it
// writes.

// errSnapshotTooOld is a kv.ErrConflict: the snapshot is older than the
// tombstones kept.
var errSnapshotTooOld = &conflict{errors.New("the snapshot is older than the tombstones the store keeps")}

// errChanged is the conflict of a read that met a row written after the
// snapshot.
var errChanged = &conflict{errors.New("a row read was written after the snapshot")}

// Clock is the newest committed stamp: a snapshot to read at.
func (s *Store) Clock(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT n FROM kv_clock`).Scan(&n); err != nil {
		return 0, fmt.Errorf("PostgreSQL: reading the commit clock: %w", err)
	}
	return n, nil
}

// Now, passed as a snapshot, takes one: the read sees the store as it is,
// and returns the clock's value it saw, to read at from then on.
const Now = -1

// GetAt reads key at snapshot at (or Now) and returns the snapshot it read
// at: kv.ErrNotFound, or kv.ErrConflict when the key changed after it.
func (s *Store) GetAt(ctx context.Context, at int64, key []byte) ([]byte, int64, error) {
	var (
		v              []byte
		ver, purged, n int64
	)
	err := s.pool.QueryRow(ctx, `SELECT kv.v, COALESCE(kv.ver, 0), c.purged, c.n FROM kv_clock c LEFT JOIN kv ON kv.k = $1`, append([]byte{}, key...)).Scan(&v, &ver, &purged, &n)
	if err != nil {
		return nil, at, fmt.Errorf("PostgreSQL: %w", mapErr(err))
	}
	if at == Now {
		at = n
	}
	if at < purged {
		return nil, at, errSnapshotTooOld
	}
	if ver > at {
		return nil, at, errChanged
	}
	if v == nil {
		return nil, at, kv.ErrNotFound
	}
	return v, at, nil
}

// Row is one key and value of a scan.
type Row struct {
	K, V []byte
}

// Range is a span of keys a scan covered, both ends inclusive; Hi nil runs
// to the end of the prefix.
type Range struct {
	Prefix, Lo, Hi []byte
}

// Scan is what ScanAt read: the rows, the range of keys it covered
// (tombstones included), whether there may be more, and the snapshot it
// read at.
type Scan struct {
	Rows    []Row
	Covered Range
	More    bool
	At      int64
}

// ScanAt reads up to limit live rows of prefix at snapshot at (or Now),
// from from (inclusive when incl; nil: the prefix's start, or its end in
// reverse), in order or in reverse.
func (s *Store) ScanAt(ctx context.Context, at int64, prefix, from []byte, incl, reverse, keysOnly bool, limit int) (Scan, error) {
	var sc Scan
	err := s.readOnly(ctx, func(t pgx.Tx) error {
		var err error
		at, err = snapshotIn(ctx, t, at)
		if err != nil {
			return err
		}
		sc, err = scanIn(ctx, t, at, prefix, from, incl, reverse, keysOnly, limit)
		return err
	})
	return sc, err
}

// Walk is the first page of a forward scan with values, sought to From.
type Walk struct {
	Prefix, From []byte
}

// Got is a key as a Read found it: its value, or Found false.
type Got struct {
	Value []byte
	Found bool
}

// Ahead is what a client transaction reads in one go: keys, and the first
// page of walks.
type Ahead struct {
	Keys  [][]byte
	Walks []Walk
}

// Read is what ReadAt or Advance read: the snapshot, each key of the
// Ahead in order, and each walk's first page.
type Read struct {
	At    int64
	Got   []Got
	Pages []Scan
}

// ReadAt reads ahead at snapshot at (or Now), all in one PostgreSQL
// snapshot, so that no commit lands between its reads: a reader that needs
// the audit log's head and its newest records sees the two agree. A key or
// row written after at is kv.ErrConflict, as for GetAt and ScanAt.
func (s *Store) ReadAt(ctx context.Context, at int64, ahead Ahead, limit int) (Read, error) {
	var r Read
	err := s.readOnly(ctx, func(t pgx.Tx) error {
		at, err := snapshotIn(ctx, t, at)
		if err == nil {
			r, err = readIn(ctx, t, at, ahead, limit)
		}
		return err
	})
	return r, err
}

// Advance moves a client transaction's snapshot from at to the newest
// commit, if nothing it read at at (reads, and every key in the ranges of
// scans) changed since: its reads are then as they would have been at the
// newer snapshot. Otherwise it returns kv.ErrConflict. It then reads ahead
// at the new snapshot, in the same PostgreSQL snapshot as the check, so no
// commit slips between them. A transaction that has read nothing (at is
// Now) and reads nothing ahead keeps Now.
func (s *Store) Advance(ctx context.Context, at int64, reads [][]byte, scans []Range, ahead Ahead, limit int) (Read, error) {
	if at == Now && len(ahead.Keys) == 0 && len(ahead.Walks) == 0 {
		return Read{At: Now}, nil
	}
	var r Read
	err := s.readOnly(ctx, func(t pgx.Tx) error {
		n, err := snapshotIn(ctx, t, Now)
		if err != nil {
			return err
		}
		if at != Now {
			if err := unchangedSince(ctx, t, at, reads, scans); err != nil {
				return err
			}
		}
		r, err = readIn(ctx, t, n, ahead, limit)
		return err
	})
	return r, err
}

// readIn reads ahead in t at snapshot at.
func readIn(ctx context.Context, t pgx.Tx, at int64, ahead Ahead, limit int) (Read, error) {
	r := Read{At: at}
	if len(ahead.Keys) > 0 {
		rows, err := t.Query(ctx, `SELECT k, v, ver FROM kv WHERE k = ANY($1)`, ahead.Keys)
		if err != nil {
			return r, err
		}
		found := map[string]Got{}
		for rows.Next() {
			var (
				k, v []byte
				ver  int64
			)
			if err := rows.Scan(&k, &v, &ver); err != nil {
				rows.Close()
				return r, err
			}
			if ver > at {
				rows.Close()
				return r, errChanged
			}
			found[string(k)] = Got{Value: v, Found: v != nil}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return r, err
		}
		for _, k := range ahead.Keys {
			r.Got = append(r.Got, found[string(k)])
		}
	}
	for _, w := range ahead.Walks {
		sc, err := scanIn(ctx, t, at, w.Prefix, w.From, true, false, false, limit)
		if err != nil {
			return r, err
		}
		r.Pages = append(r.Pages, sc)
	}
	return r, nil
}

// readOnly runs fn in one read-only REPEATABLE READ transaction: one
// snapshot of the database.
func (s *Store) readOnly(ctx context.Context, fn func(pgx.Tx) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	if err != nil && !errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("PostgreSQL: %w", mapErr(err))
	}
	return err
}

// snapshotIn checks snapshot at against the tombstones kept, or takes the
// clock for Now.
func snapshotIn(ctx context.Context, t pgx.Tx, at int64) (int64, error) {
	var purged, clock int64
	if err := t.QueryRow(ctx, `SELECT purged, n FROM kv_clock`).Scan(&purged, &clock); err != nil {
		return at, err
	}
	if at == Now {
		return clock, nil
	}
	if at < purged {
		return at, errSnapshotTooOld
	}
	return at, nil
}

// scanIn is one page of ScanAt in t, at snapshot at.
func scanIn(ctx context.Context, t pgx.Tx, at int64, prefix, from []byte, incl, reverse, keysOnly bool, limit int) (Scan, error) {
	if limit <= 0 || limit > 1024 {
		limit = 1024
	}
	prefix = append([]byte{}, prefix...)
	upper := successor(prefix)
	var (
		q    string
		args = []any{prefix}
	)
	cols := "k, v, ver"
	if keysOnly {
		cols = "k, CASE WHEN v IS NULL THEN NULL ELSE ''::bytea END, ver"
	}
	q = fmt.Sprintf(`SELECT %s FROM kv WHERE k >= $1`, cols)
	if upper != nil {
		args = append(args, upper)
		q += fmt.Sprintf(` AND k < $%d`, len(args))
	}
	if from != nil {
		op := map[[2]bool]string{{false, true}: ">=", {false, false}: ">", {true, true}: "<=", {true, false}: "<"}[[2]bool{reverse, incl}]
		args = append(args, from)
		q += fmt.Sprintf(` AND k %s $%d`, op, len(args))
	}
	if reverse {
		q += ` ORDER BY k DESC`
	} else {
		q += ` ORDER BY k`
	}
	q += fmt.Sprintf(` LIMIT %d`, limit)
	var (
		out     []Row
		covered = Range{Prefix: prefix}
		n       int
	)
	rows, err := t.Query(ctx, q, args...)
	if err != nil {
		return Scan{}, err
	}
	defer rows.Close()
	var last []byte
	for rows.Next() {
		var (
			k, v []byte
			ver  int64
		)
		if err := rows.Scan(&k, &v, &ver); err != nil {
			return Scan{}, err
		}
		n++
		if ver > at {
			return Scan{}, errChanged
		}
		last = k
		if v != nil {
			out = append(out, Row{K: k, V: v})
		}
	}
	if err := rows.Err(); err != nil {
		return Scan{}, err
	}
	// What the scan covered: from its start to its last row when the page
	// was full, else to the prefix's end. (A walk runs from its start
	// towards its end: in reverse, the start is the high end.)
	start, end := from, []byte(nil)
	if n == limit {
		end = last
	}
	covered.Lo, covered.Hi = start, end
	if reverse {
		covered.Lo, covered.Hi = end, start
	}
	if covered.Lo == nil {
		covered.Lo = prefix
	}
	return Scan{Rows: out, Covered: covered, More: n == limit, At: at}, nil
}

// Write is one buffered write: a Set, or a Delete when Delete is true.
type Write struct {
	K, V   []byte
	Delete bool
}

// Commit is a client transaction's end: what it read at its snapshot, and
// what it writes.
type Commit struct {
	// ID names the commit: one applied already (the client sent it again
	// because the answer was lost) is not applied twice. Ids are kept for
	// commitIDsKept.
	ID string
	// Turn is the writers' turn the transaction held (turn.go), ended by
	// the commit; "" for none.
	Turn   string
	At     int64
	Reads  [][]byte
	Scans  []Range
	Writes []Write
	// AppendOnly are key prefixes under which a row, once written, is never
	// changed or removed by a commit (the audit log, agreements' chains):
	// a commit that would is refused with ErrAppendOnly.
	AppendOnly [][]byte
}

// ErrAppendOnly refuses a commit that changes or removes a row under one
// of its AppendOnly prefixes.
var ErrAppendOnly = errors.New("the commit changes or removes a record that is only ever appended to (the audit log, an agreement's chain)")

// Apply commits c: in one SERIALIZABLE transaction it checks that none of
// the keys read and no key in the ranges scanned was written after c.At,
// then writes. A change after c.At is kv.ErrConflict and writes nothing.
// Writes that read nothing need no snapshot. A commit applied before is
// reported done.
func (s *Store) Apply(ctx context.Context, c Commit) error {
	if c.ID == "" {
		return errors.New("a commit without an id")
	}
	t, err := s.Begin(ctx, true)
	if err != nil {
		return err
	}
	defer t.Discard()
	pt := t.(*tx)
	at, reads, scans, writes := c.At, c.Reads, c.Scans, c.Writes
	tag, err := pt.tx.Exec(ctx, `INSERT INTO commits (id) VALUES ($1) ON CONFLICT DO NOTHING`, c.ID)
	if err != nil {
		return pt.fail(err)
	}
	if tag.RowsAffected() == 0 {
		return nil // applied before
	}
	if err := unchangedSince(ctx, pt.tx, at, reads, scans); err != nil {
		return pt.fail(err)
	}
	if err := appendsOnly(ctx, pt.tx, c.AppendOnly, writes); err != nil {
		return pt.fail(err)
	}
	if err := pt.writeAll(writes); err != nil {
		return err
	}
	if c.Turn != "" {
		if _, err := pt.tx.Exec(ctx, endTurn, c.Turn); err != nil {
			return pt.fail(err)
		}
	}
	return t.Commit()
}

// querier is what unchangedSince asks: a pgx transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// unchangedSince returns errChanged (a kv.ErrConflict) when a key of
// reads, or any key in a range of scans, was written or deleted after
// snapshot at, and errSnapshotTooOld when at is older than the tombstones
// kept; q's own snapshot is what it checks against.
func unchangedSince(ctx context.Context, q querier, at int64, reads [][]byte, scans []Range) error {
	if len(reads) == 0 && len(scans) == 0 {
		return nil
	}
	// One statement, one round trip, whatever was read: each range is its
	// own EXISTS, so each walks the key index over its own span.
	sql := `SELECT c.purged, EXISTS (SELECT 1 FROM kv WHERE k = ANY($2) AND ver > $1)`
	args := []any{at, reads}
	if reads == nil {
		args[1] = [][]byte{}
	}
	for _, r := range scans {
		args = append(args, append([]byte{}, r.Lo...))
		sql += fmt.Sprintf(` OR EXISTS (SELECT 1 FROM kv WHERE ver > $1 AND k >= $%d`, len(args))
		if r.Hi != nil {
			args = append(args, r.Hi)
			sql += fmt.Sprintf(` AND k <= $%d`, len(args))
		} else if up := successor(r.Prefix); up != nil {
			args = append(args, up)
			sql += fmt.Sprintf(` AND k < $%d`, len(args))
		}
		sql += `)`
	}
	var (
		purged  int64
		changed bool
	)
	if err := q.QueryRow(ctx, sql+` FROM kv_clock c`, args...).Scan(&purged, &changed); err != nil {
		return err
	}
	switch {
	case at < purged:
		return errSnapshotTooOld
	case changed:
		return errChanged
	}
	return nil
}

// writeAll writes a commit's writes in two statements, whatever their
// number (a row each cost a round trip to PostgreSQL, inside the writers'
// turn): the sets, then the deletes, which leave tombstones. A key
// written twice keeps its last write.
func (t *tx) writeAll(writes []Write) error {
	last := make(map[string]Write, len(writes))
	for _, w := range writes {
		last[string(w.K)] = w
	}
	var setK, setV, delK [][]byte
	for _, w := range last {
		switch {
		case w.Delete:
			delK = append(delK, w.K)
		case w.V == nil:
			setK, setV = append(setK, w.K), append(setV, []byte{}) // nil is NULL, a tombstone
		default:
			setK, setV = append(setK, w.K), append(setV, w.V)
		}
	}
	if len(last) == 0 {
		return nil
	}
	ver, err := t.stamp()
	if err != nil {
		return err
	}
	if len(setK) > 0 {
		if _, err := t.tx.Exec(t.ctx, `INSERT INTO kv (k, v, ver) SELECT k, v, $3 FROM unnest($1::bytea[], $2::bytea[]) AS w(k, v)
			ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, ver = EXCLUDED.ver`, setK, setV, ver); err != nil {
			return t.fail(err)
		}
	}
	if len(delK) > 0 {
		if _, err := t.tx.Exec(t.ctx, `UPDATE kv SET v = NULL, ver = $2 WHERE k = ANY($1) AND v IS NOT NULL`, delK, ver); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// appendsOnly refuses writes that would change or remove a row under one
// of the append-only prefixes: a write there must create its key, which no
// row (not even a tombstone) holds.
func appendsOnly(ctx context.Context, q querier, prefixes [][]byte, writes []Write) error {
	var guarded [][]byte
	for _, w := range writes {
		if !slices.ContainsFunc(prefixes, func(p []byte) bool { return bytes.HasPrefix(w.K, p) }) {
			continue
		}
		if w.Delete {
			return ErrAppendOnly
		}
		guarded = append(guarded, w.K)
	}
	if len(guarded) == 0 {
		return nil
	}
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kv WHERE k = ANY($1))`, guarded).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return ErrAppendOnly
	}
	return nil
}

// commitIDsKept is how long Apply remembers a commit's id: a client sends
// a commit again within seconds, when its answer was lost.
const commitIDsKept = time.Hour

// Purge drops the tombstones stamped at or before below, which no snapshot
// at below or later needs, and refuses older snapshots from then on; and
// the commit ids older than commitIDsKept. It returns how many tombstones
// it dropped.
func (s *Store) Purge(ctx context.Context, below int64) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `UPDATE kv_clock SET purged = GREATEST(purged, $1)`, below); err != nil {
			return err
		}
		tag, err := t.Exec(ctx, `DELETE FROM kv WHERE v IS NULL AND ver <= $1`, below)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = t.Exec(ctx, `DELETE FROM commits WHERE at < $1`, time.Now().Add(-commitIDsKept))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("PostgreSQL: purging tombstones: %w", mapErr(err))
	}
	return n, nil
}
