package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/notevault/notevault/vault/kv"
)

// Payloads in PostgreSQL: a large note's payload (age STREAM chunks, whose
// file key lives only in a header sealed under a shred key) as rows of
// ChunkSize bytes. Deleted rows linger in free space, the WAL and backups,
// as every deleted row does; they open for nobody once the header's shred
// key is gone (its KEK version destroyed), as a directory's payload files
// do once unlinked.

// ChunkSize is how much of a payload one row (and one request of a
// server's client) carries.
const ChunkSize = 4 << 20

// unfinishedAge is how long a payload may go unwritten before Names calls
// it unfinished (an interrupted write): one being written is touched with
// every chunk.
const unfinishedAge = time.Hour

// tmpPrefix names payloads not placed yet.
const tmpPrefix = ".tmp-"

// ChunkStore is what Chunked needs: payloads as numbered chunks. The Store
// is one; a client of notevault serve is another, over HTTP.
type ChunkStore interface {
	CreatePayload(ctx context.Context) (id int64, err error)
	WriteChunk(ctx context.Context, id int64, n int, data []byte) error
	PlacePayload(ctx context.Context, id int64, name string) error
	DiscardPayload(ctx context.Context, id int64) error
	// OpenPayload finds the payload name: its id and size, or
	// kv.ErrNotFound.
	OpenPayload(ctx context.Context, name string) (id, size int64, err error)
	// ReadChunk reads chunk n; past the last, it returns nil.
	ReadChunk(ctx context.Context, id int64, n int) ([]byte, error)
	RemovePayloads(ctx context.Context, names []string) error
	PayloadNames(ctx context.Context) (placed, unfinished []string, err error)
}

func (s *Store) CreatePayload(ctx context.Context) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO payloads (name) VALUES ($1 || gen_random_uuid()::text) RETURNING id`, tmpPrefix).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("PostgreSQL: creating a payload: %w", err)
	}
	return id, nil
}

func (s *Store) WriteChunk(ctx context.Context, id int64, n int, data []byte) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO payload_chunks (payload, n, data) VALUES ($1, $2, $3)
		ON CONFLICT (payload, n) DO UPDATE SET data = EXCLUDED.data`, id, n, data)
	b.Queue(`UPDATE payloads SET touched = now() WHERE id = $1`, id)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("PostgreSQL: writing a payload: %w", err)
	}
	return nil
}

func (s *Store) PlacePayload(ctx context.Context, id int64, name string) error {
	if name == "" || strings.HasPrefix(name, tmpPrefix) {
		return fmt.Errorf("cannot name a payload %q", name)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE payloads SET name = $2 WHERE id = $1`, id, name)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("payload %s exists already", name)
	}
	if err != nil {
		return fmt.Errorf("PostgreSQL: placing a payload: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("payload %s: %w", name, kv.ErrNotFound)
	}
	return nil
}

func (s *Store) DiscardPayload(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM payloads WHERE id = $1`, id); err != nil {
		return fmt.Errorf("PostgreSQL: discarding a payload: %w", err)
	}
	return nil
}

func (s *Store) OpenPayload(ctx context.Context, name string) (int64, int64, error) {
	var id, size int64
	err := s.pool.QueryRow(ctx, `SELECT p.id, COALESCE((SELECT sum(length(data)) FROM payload_chunks WHERE payload = p.id), 0)
		FROM payloads p WHERE p.name = $1`, name).Scan(&id, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("payload %s: %w", name, kv.ErrNotFound)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("PostgreSQL: opening a payload: %w", err)
	}
	return id, size, nil
}

func (s *Store) ReadChunk(ctx context.Context, id int64, n int) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM payload_chunks WHERE payload = $1 AND n = $2`, id, n).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: reading a payload: %w", err)
	}
	return data, nil
}

// ReadNamedChunk is ReadChunk that also says the payload's name (a
// temporary one while it is written): what a server needs to decide
// whether the asker may have it.
func (s *Store) ReadNamedChunk(ctx context.Context, id int64, n int) ([]byte, string, error) {
	var (
		data []byte
		name string
	)
	err := s.pool.QueryRow(ctx, `SELECT p.name, c.data FROM payloads p LEFT JOIN payload_chunks c ON c.payload = p.id AND c.n = $2
		WHERE p.id = $1`, id, n).Scan(&name, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("PostgreSQL: reading a payload: %w", err)
	}
	if strings.HasPrefix(name, tmpPrefix) {
		name = ""
	}
	return data, name, nil
}

func (s *Store) RemovePayloads(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM payloads WHERE name = ANY($1)`, names); err != nil {
		return fmt.Errorf("PostgreSQL: removing payloads: %w", err)
	}
	return nil
}

func (s *Store) PayloadNames(ctx context.Context) ([]string, []string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, touched < now() - make_interval(secs => $1) FROM payloads`, unfinishedAge.Seconds())
	if err != nil {
		return nil, nil, fmt.Errorf("PostgreSQL: listing payloads: %w", err)
	}
	defer rows.Close()
	var placed, unfinished []string
	for rows.Next() {
		var (
			name  string
			stale bool
		)
		if err := rows.Scan(&name, &stale); err != nil {
			return nil, nil, err
		}
		switch {
		case !strings.HasPrefix(name, tmpPrefix):
			placed = append(placed, name)
		case stale:
			unfinished = append(unfinished, name)
		}
	}
	return placed, unfinished, rows.Err()
}

// Payloads is the store's payloads as kv.Payloads.
func (s *Store) Payloads() kv.Payloads { return Chunked(s) }

// Chunked keeps kv.Payloads in a ChunkStore, ChunkSize bytes a chunk.
func Chunked(c ChunkStore) kv.Payloads { return chunked{c} }

type chunked struct{ c ChunkStore }

func (p chunked) Create() (kv.PendingPayload, error) {
	id, err := p.c.CreatePayload(context.Background())
	if err != nil {
		return nil, err
	}
	return &pendingChunks{c: p.c, id: id}, nil
}

func (p chunked) Open(name string) (kv.Payload, error) {
	id, size, err := p.c.OpenPayload(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return &chunkReader{c: p.c, id: id, size: size}, nil
}

func (p chunked) Remove(names []string) error {
	return p.c.RemovePayloads(context.Background(), names)
}

func (p chunked) Names() (map[string]bool, []string, error) {
	placed, unfinished, err := p.c.PayloadNames(context.Background())
	if err != nil {
		return nil, nil, err
	}
	m := make(map[string]bool, len(placed))
	for _, n := range placed {
		m[n] = true
	}
	return m, unfinished, nil
}

// Sync does nothing: every chunk and every Place is committed.
func (p chunked) Sync() error { return nil }

// pendingChunks writes a payload a chunk at a time.
type pendingChunks struct {
	c      ChunkStore
	id     int64
	buf    []byte
	n      int    // chunks written
	placed string // its name, once placed
}

func (w *pendingChunks) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		k := min(len(b), ChunkSize-len(w.buf))
		w.buf = append(w.buf, b[:k]...)
		b, written = b[k:], written+k
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *pendingChunks) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.c.WriteChunk(context.Background(), w.id, w.n, w.buf); err != nil {
		return err
	}
	w.n++
	w.buf = w.buf[:0]
	return nil
}

func (w *pendingChunks) Finish() error { return w.flush() }

func (w *pendingChunks) Place(name string) error {
	if w.placed == name {
		return nil
	}
	if err := w.c.PlacePayload(context.Background(), w.id, name); err != nil {
		return err
	}
	w.placed = name
	return nil
}

func (w *pendingChunks) Discard() {
	w.buf = nil
	w.c.DiscardPayload(context.Background(), w.id) // else it is unfinished: housekeeping removes it
}

// chunkReader reads a payload a chunk at a time.
type chunkReader struct {
	c    ChunkStore
	id   int64
	size int64
	n    int
	cur  *bytes.Reader
	done bool
}

func (r *chunkReader) Read(b []byte) (int, error) {
	for r.cur == nil || r.cur.Len() == 0 {
		if r.done {
			return 0, io.EOF
		}
		data, err := r.c.ReadChunk(context.Background(), r.id, r.n)
		if err != nil {
			return 0, err
		}
		if data == nil {
			r.done = true
			return 0, io.EOF
		}
		r.n++
		r.cur = bytes.NewReader(data)
	}
	return r.cur.Read(b)
}

func (r *chunkReader) Size() int64  { return r.size }
func (r *chunkReader) Close() error { return nil }
