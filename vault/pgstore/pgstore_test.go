package pgstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/kv/kvtest"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openTest(t *testing.T) *Store {
	t.Helper()
	c := pgtest.Start(t)
	s, err := Open(context.Background(), c.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store { return openTest(t) })
}

// Opening an existing database migrates nothing twice, and a database
// from a newer release is refused rather than misread.
func TestMigrations(t *testing.T) {
	c := pgtest.Start(t)
	conn := c.NewDatabase(t)
	ctx := context.Background()
	for range 2 {
		s, err := Open(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	s, err := Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, conn); err == nil {
		t.Fatal("a schema newer than this release was opened")
	}
}

// A statement that fails aborts a PostgreSQL transaction: Commit must say
// so rather than report a rollback as success.
func TestCommitAfterFailureFails(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	t1, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := t1.Set([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	// bytea takes any bytes, so no kv call fails on its own: run a failing
	// statement in the transaction, as a broken connection or a full disk
	// would fail one.
	pt := t1.(*tx)
	if _, err := pt.tx.Exec(ctx, `SELECT 1/0`); err == nil {
		t.Fatal("control: division by zero succeeded")
	}
	// The next kv call meets the aborted transaction.
	if err := t1.Set([]byte("b"), []byte("2")); err == nil {
		t.Fatal("a write in an aborted transaction succeeded")
	}
	if err := t1.Commit(); err == nil {
		t.Fatal("Commit after a failed statement succeeded")
	}
	rtx, _ := s.Begin(ctx, false)
	defer rtx.Discard()
	if _, err := rtx.Get([]byte("a")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("the write before the failure committed: %v", err)
	}
}

// One replica at a time holds the sweep's lease: a second one is refused
// while the first holds it, gets it once it is released, and gets it when
// the holder's connection dies (a replica killed mid-sweep).
func TestLeaseOneHolderAtATime(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Start(t).NewDatabase(t)
	a, err := Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	la, err := a.TryLease(ctx, SweepLock)
	if err != nil || la == nil {
		t.Fatalf("first lease: %v, %v", la, err)
	}
	t.Cleanup(func() { la.Release(ctx) }) // cleanups run last in, first out: before Close
	if lb, err := b.TryLease(ctx, SweepLock); err != nil || lb != nil {
		t.Fatalf("second replica got the lease while the first holds it: %v, %v", lb, err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.TryLease(ctx, SweepLock)
	if err != nil || lb == nil {
		t.Fatalf("after the release: %v, %v", lb, err)
	}
	t.Cleanup(func() { lb.Release(ctx) })
	// The holder dies: its session is terminated from outside.
	var pid int
	if err := lb.conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pool().Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	var la2 *Lease
	for range 100 { // the server frees the lock as the session ends
		if la2, err = a.TryLease(ctx, SweepLock); err != nil || la2 != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || la2 == nil {
		t.Fatalf("after the holder died: %v, %v", la2, err)
	}
	t.Cleanup(func() { la2.Release(ctx) })
	if lb.Release(ctx) == nil {
		t.Fatal("releasing a lease whose session was killed reported no failure")
	}
	if err := la2.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A commit sent twice under one id (its answer was lost) is applied once;
// another id is applied (the negative control).
func TestCommitAppliedOnce(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	apply := func(id, key string) {
		t.Helper()
		if err := s.Apply(ctx, Commit{ID: id, At: Now, Writes: []Write{{K: []byte(key), V: []byte("v")}}}); err != nil {
			t.Fatalf("Apply %s: %v", id, err)
		}
	}
	has := func(key string) bool {
		_, _, err := s.GetAt(ctx, Now, []byte(key))
		return err == nil
	}
	apply("commit-0000000001", "first")
	apply("commit-0000000001", "again")
	apply("commit-0000000002", "other")
	if !has("first") || has("again") || !has("other") {
		t.Fatalf("after two commits under one id and one under another: first %v, again %v, other %v; want true, false, true",
			has("first"), has("again"), has("other"))
	}
}

// A payload goes in and comes back a chunk at a time, whatever the sizes
// of the writes; it is named once; discarding and removing leave nothing.
func TestPayloadsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	p := s.Payloads()
	body := make([]byte, 2*ChunkSize+12345)
	for i := range body {
		body[i] = byte(i * 7)
	}
	w, err := p.Create()
	if err != nil {
		t.Fatal(err)
	}
	for rest := body; len(rest) > 0; {
		k := min(len(rest), 1<<20+3)
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if placed, _, _ := p.Names(); len(placed) != 0 {
		t.Fatalf("placed before Place: %v", placed)
	}
	if err := w.Place("n-one"); err != nil {
		t.Fatal(err)
	}
	if err := w.Place("n-one"); err != nil {
		t.Fatalf("placing again: %v", err)
	}
	r, err := p.Open("n-one")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) || r.Size() != int64(len(body)) {
		t.Fatalf("read back %d bytes (size %d), equal %v, %v", len(got), r.Size(), bytes.Equal(got, body), err)
	}
	other, _ := p.Create()
	other.Write([]byte("x"))
	other.Finish()
	if err := other.Place("n-one"); err == nil {
		t.Fatal("a second payload took a name in use")
	}
	other.Discard()
	if placed, unfinished, _ := p.Names(); len(placed) != 1 || !placed["n-one"] || len(unfinished) != 0 {
		t.Fatalf("names %v, %v; want n-one only", placed, unfinished)
	}
	if err := p.Remove([]string{"n-one", "n-missing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Open("n-one"); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Open after Remove: %v", err)
	}
	var rows int
	s.pool.QueryRow(ctx, `SELECT count(*) FROM payload_chunks`).Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d chunk rows left", rows)
	}
}

// One holder takes the writers' turn again and again (nested transactions
// share it), but not for longer than maxTurn: then the next one gets it.
func TestTurnIsNotKeptForever(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	take := taker(t, s)
	if !take("a") || !take("a") || take("b") {
		t.Fatal("a takes the turn, takes it again, and b waits: want true, true, false")
	}
	// a has held it for longer than maxTurn.
	if _, err := s.pool.Exec(ctx, `UPDATE write_turn SET since = now() - make_interval(secs => $1)`, (maxTurn + time.Second).Seconds()); err != nil {
		t.Fatal(err)
	}
	if take("a") {
		t.Fatal("a kept the turn past maxTurn")
	}
	if _, err := s.pool.Exec(ctx, `UPDATE write_turn SET until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if !take("b") {
		t.Fatal("b did not get the turn once a's ran out")
	}
	if err := s.EndTurn(ctx, "b"); err != nil || !take("a") {
		t.Fatalf("after b ends its turn, a gets it: %v", err)
	}
}

// Waiters get the writers' turn in the order they asked for it; one that
// stopped asking (its client went away) loses its place.
func TestTurnGoesInOrder(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	take := taker(t, s)
	end := func(who string) {
		t.Helper()
		if err := s.EndTurn(ctx, who); err != nil {
			t.Fatal(err)
		}
	}
	if !take("a") || take("b") || take("c") {
		t.Fatal("a takes the turn; b, then c, wait")
	}
	end("a")
	if take("c") {
		t.Fatal("c got the turn before b, who asked first")
	}
	if !take("b") {
		t.Fatal("b, first in line, did not get the turn")
	}
	end("b")
	if !take("c") {
		t.Fatal("c, next in line, did not get the turn")
	}
	end("c")
	// e asks and goes away; f, behind it, gets the turn once e's place lapses.
	if !take("d") || take("e") || take("f") {
		t.Fatal("d takes the turn; e, then f, wait")
	}
	end("d")
	if take("f") {
		t.Fatal("f got the turn while e, ahead of it, still asks")
	}
	if _, err := s.pool.Exec(ctx, `UPDATE turn_queue SET seen = now() - make_interval(secs => $1) WHERE holder = 'e'`, (queueAlive + time.Second).Seconds()); err != nil {
		t.Fatal(err)
	}
	if !take("f") {
		t.Fatal("f did not get the turn after e stopped asking")
	}
}

// taker returns a function that asks for the writers' turn for who and
// says whether it got it.
func taker(t *testing.T, s *Store) func(who string) bool {
	return func(who string) bool {
		t.Helper()
		got, _, err := s.TakeTurn(context.Background(), who, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
}
