package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/httpauth"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/remote"
	"github.com/notevault/notevault/vault/remote/remotetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newID(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func set(t *testing.T, s kv.Store, kvs ...string) {
	t.Helper()
	err := kv.Update(context.Background(), s, func(txn kv.Txn) error {
		for i := 0; i < len(kvs); i += 2 {
			var err error
			if kvs[i+1] == "-" {
				err = txn.Delete([]byte(kvs[i]))
			} else {
				err = txn.Set([]byte(kvs[i]), []byte(kvs[i+1]))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A transaction reads one snapshot: a key written after it is refused as a
// conflict (the action runs again), never read as a mix of two states.
func TestReadsStayOnTheirSnapshot(t *testing.T) {
	srv := remotetest.Start(t, nil)
	s := srv.Client(t, srv.Admin).Store()
	set(t, s, "a", "1", "b", "1")
	for _, write := range []bool{false, true} { // false: the negative control
		tx, _ := s.Begin(context.Background(), false)
		if v, err := tx.Get([]byte("a")); err != nil || string(v) != "1" {
			t.Fatalf("Get a: %q, %v", v, err)
		}
		if write {
			set(t, s, "b", "2")
		}
		_, err := tx.Get([]byte("b"))
		tx.Discard()
		if write != errors.Is(err, kv.ErrConflict) {
			t.Fatalf("written meanwhile %v: Get b: %v", write, err)
		}
		it := func() error {
			tx, _ := s.Begin(context.Background(), false)
			defer tx.Discard()
			tx.Get([]byte("a"))
			if write {
				set(t, s, "b", "-")
			}
			i := tx.NewIterator(kv.IterOptions{})
			defer i.Close()
			for i.Rewind(); i.Valid(); i.Next() {
			}
			return i.Err()
		}()
		if write != errors.Is(it, kv.ErrConflict) {
			t.Fatalf("deleted meanwhile %v: scan: %v", write, it)
		}
		set(t, s, "b", "1")
	}
}

// A commit whose reads changed meanwhile writes nothing.
func TestCommitRefusesWhatChangedUnderIt(t *testing.T) {
	srv := remotetest.Start(t, nil)
	s := srv.Client(t, srv.Admin).Store()
	set(t, s, "head", "1", "p/x", "1")
	for _, tc := range []struct {
		name   string
		change []string // written by another client between read and commit
		want   error
	}{
		{"nothing changed", nil, nil},
		{"a key read", []string{"head", "2"}, kv.ErrConflict},
		{"a key scanned", []string{"p/x", "-"}, kv.ErrConflict},
		{"a key added to a range scanned", []string{"p/y", "1"}, kv.ErrConflict},
		{"a key outside", []string{"q/z", "1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, _ := s.Begin(context.Background(), true)
			defer tx.Discard()
			if _, err := tx.Get([]byte("head")); err != nil {
				t.Fatal(err)
			}
			it := tx.NewIterator(kv.IterOptions{Prefix: []byte("p/")})
			for it.Rewind(); it.Valid(); it.Next() {
			}
			it.Close()
			if tc.change != nil { // by the server's own sweep, which takes no turn
				set(t, srv.Store, tc.change...)
			}
			tx.Set([]byte("out/"+tc.name), []byte("written"))
			err := tx.Commit()
			if !errors.Is(err, kv.ErrConflict) && tc.want != nil || tc.want == nil && err != nil {
				t.Fatalf("Commit: %v, want %v", err, tc.want)
			}
			var got error
			kv.View(context.Background(), s, func(txn kv.Txn) error { _, got = txn.Get([]byte("out/" + tc.name)); return nil })
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("after a commit that returned %v, the write is there: %v", err, got == nil)
			}
			set(t, s, "head", "1", "p/x", "1", "p/y", "-")
		})
	}
}

// A transaction's iterators see its own writes, merged in order with the
// server's rows, both ways, with Seek.
func TestIteratorsSeeTheirOwnWrites(t *testing.T) {
	srv := remotetest.Start(t, nil)
	s := srv.Client(t, srv.Admin).Store()
	set(t, s, "k/a", "1", "k/c", "1", "k/e", "1", "l/z", "1")
	tx, _ := s.Begin(context.Background(), true)
	defer tx.Discard()
	tx.Set([]byte("k/b"), []byte("2"))
	tx.Delete([]byte("k/c"))
	tx.Set([]byte("k/e"), []byte("2"))
	tx.Set([]byte("l/y"), []byte("2"))
	walk := func(o kv.IterOptions, seek string) string {
		it := tx.NewIterator(o)
		defer it.Close()
		var out []string
		if seek == "" {
			it.Rewind()
		} else {
			it.Seek([]byte(seek))
		}
		for ; it.Valid(); it.Next() {
			v, _ := it.Value()
			out = append(out, string(it.Key())+"="+string(v))
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		o          kv.IterOptions
		seek, want string
	}{
		{kv.IterOptions{Prefix: []byte("k/")}, "", "k/a=1 k/b=2 k/e=2"},
		{kv.IterOptions{Prefix: []byte("k/"), Reverse: true}, "", "k/e=2 k/b=2 k/a=1"},
		{kv.IterOptions{Prefix: []byte("k/")}, "k/b", "k/b=2 k/e=2"},
		{kv.IterOptions{Prefix: []byte("k/"), Reverse: true}, "k/d", "k/b=2 k/a=1"},
		{kv.IterOptions{}, "", "k/a=1 k/b=2 k/e=2 l/y=2 l/z=1"},
	} {
		if got := walk(c.o, c.seek); got != c.want {
			t.Errorf("%+v seek %q: %s, want %s", c.o, c.seek, got, c.want)
		}
	}
}

// Only enrolled keys and the admin are served; a replayed request is
// refused.
func TestServerServesOnlyEnrolledKeysOnce(t *testing.T) {
	srv := remotetest.Start(t, nil)
	stranger := newID(t)
	get := func(id *identity.Identity) error {
		return kv.View(context.Background(), srv.Client(t, id).Store(), func(txn kv.Txn) error {
			_, err := txn.Get([]byte("x"))
			if errors.Is(err, kv.ErrNotFound) {
				return nil
			}
			return err
		})
	}
	var se *remote.ServerError
	if err := get(stranger); !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("a stranger's read: %v, want 401", err)
	}
	if err := srv.Client(t, stranger).Enrol(context.Background(), stranger.Public()); !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("a stranger enrolling itself: %v, want 401", err)
	}
	srv.Enrol(t, stranger)
	if err := get(stranger); err != nil {
		t.Fatalf("after enrolment: %v", err)
	}
	if err := srv.Client(t, stranger).Enrol(context.Background(), newID(t).Public()); !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("a participant enrolling another: %v, want 403", err)
	}
	// The same signed request twice: the second is a replay.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/get", strings.NewReader(`{"at": -1, "key": "eA=="}`))
	if err := httpauth.Sign(req, stranger, time.Now()); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		r := req.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("sending %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

// A server that rewinds its database to an older copy is caught by a
// participant's pin, as a rolled-back directory is.
func TestServerRollbackIsCaught(t *testing.T) {
	for _, rewind := range []bool{false, true} { // false: the negative control
		srv := remotetest.Start(t, nil)
		ctx := context.Background()
		alice, bob := newID(t), newID(t)
		srv.Enrol(t, alice)
		c := srv.Client(t, alice)
		keys, err := c.Keyring(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "local")
		opts := vault.Options{Store: c.Store(), Keyring: keys, Payloads: c.Payloads(), PinDir: filepath.Join(t.TempDir(), "pins")}
		if err := vault.InitWith(dir, opts); err != nil {
			t.Fatal(err)
		}
		v, err := vault.Open(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.AddParticipant(ctx, "alice", policy.Mentor, alice.Public().String()); err != nil {
			t.Fatal(err)
		}
		pool := srv.Store.Pool()
		if _, err := pool.Exec(ctx, `CREATE TABLE kv_copy AS SELECT * FROM kv`); err != nil {
			t.Fatal(err)
		}
		if _, err := v.AddParticipant(ctx, "bob", policy.Mentee, bob.Public().String()); err != nil {
			t.Fatal(err)
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
		if rewind {
			if _, err := pool.Exec(ctx, `DELETE FROM kv; INSERT INTO kv SELECT * FROM kv_copy`); err != nil {
				t.Fatal(err)
			}
		}
		v, err = vault.Open(ctx, dir, opts)
		if err == nil {
			_, err = v.Participants(ctx)
			v.Close()
		}
		if rewind != errors.Is(err, vault.ErrRollback) {
			t.Fatalf("rewound %v: open and read: %v", rewind, err)
		}
	}
}

// Tombstones purged past a snapshot make it too old: it is refused, not
// read without the deletes it should see.
func TestPurgedSnapshotIsRefused(t *testing.T) {
	srv := remotetest.Start(t, nil)
	s := srv.Client(t, srv.Admin).Store()
	set(t, s, "a", "1", "b", "1")
	tx, _ := s.Begin(context.Background(), false)
	defer tx.Discard()
	tx.Get([]byte("a"))
	set(t, s, "x", "1")
	n, _ := srv.Store.Clock(context.Background())
	if _, err := srv.Store.Purge(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if v, err := tx.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("a key read before the purge, again: %q, %v (the same answer, from the transaction)", v, err)
	}
	if _, err := tx.Get([]byte("b")); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("a read at a purged snapshot: %v, want a conflict", err)
	}
	tx2, _ := s.Begin(context.Background(), false)
	defer tx2.Discard()
	if v, err := tx2.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("a fresh snapshot: %q, %v", v, err)
	}
}

// Writers take turns for the end of their transactions (kv.Turner): a
// second writer reads while the first holds the turn, then waits for it at
// its commit; once the first commits, the second learns that what it read
// changed (a conflict: its action runs again, never on a stale read), and
// run again it commits after the first.
func TestWritersTakeTurns(t *testing.T) {
	srv := remotetest.Start(t, nil)
	a, b := srv.Client(t, srv.Admin).Store(), srv.Client(t, srv.Admin).Store()
	set(t, a, "head", "0")
	ta, _ := a.Begin(context.Background(), true)
	defer ta.Discard()
	if _, err := ta.Get([]byte("head")); err != nil {
		t.Fatal(err)
	}
	if err := ta.(kv.Turner).TakeTurn(kv.Ahead{}); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 2)
	var bErr error
	go func() {
		bErr = kv.Update(context.Background(), b, func(txn kv.Txn) error {
			v, err := txn.Get([]byte("head")) // no wait: a read takes no turn
			if err != nil {
				return err
			}
			return txn.Set([]byte("head"), append(v, 'b'))
		})
		order <- "b"
	}()
	time.Sleep(200 * time.Millisecond) // b is waiting for the turn by now
	ta.Set([]byte("head"), []byte("0a"))
	if err := ta.Commit(); err != nil {
		t.Fatal(err)
	}
	order <- "a"
	if first, second := <-order, <-order; first != "a" || second != "b" {
		t.Fatalf("commits ended in the order %s, %s; want a's, then b's", first, second)
	}
	if !errors.Is(bErr, kv.ErrConflict) {
		t.Fatalf("b committed on a stale read of head: %v", bErr)
	}
	if err := kv.Update(context.Background(), b, func(txn kv.Txn) error {
		v, err := txn.Get([]byte("head"))
		if err != nil {
			return err
		}
		return txn.Set([]byte("head"), append(v, 'b'))
	}); err != nil {
		t.Fatal(err)
	}
	var head []byte
	kv.View(context.Background(), a, func(txn kv.Txn) error { head, _ = txn.Get([]byte("head")); return nil })
	if string(head) != "0ab" {
		t.Fatalf("head %q, want 0ab: b read after a committed", head)
	}
}

// Taking the turn moves a transaction's snapshot to the newest commit when
// nothing it read changed: a row another writer committed meanwhile is then
// read, not refused as newer than the snapshot. The control: without the
// turn, the same read is a conflict.
func TestTurnMovesTheSnapshot(t *testing.T) {
	srv := remotetest.Start(t, nil)
	a, b := srv.Client(t, srv.Admin).Store(), srv.Client(t, srv.Admin).Store()
	set(t, a, "cold", "1")
	set(t, a, "hot", "1")
	for _, turn := range []bool{false, true} {
		ta, _ := a.Begin(context.Background(), true)
		if _, err := ta.Get([]byte("cold")); err != nil {
			t.Fatal(err)
		}
		set(t, b, "hot", fmt.Sprint("after ", turn)) // b commits while a works
		if turn {
			if err := ta.(kv.Turner).TakeTurn(kv.Ahead{}); err != nil {
				t.Fatalf("the turn refused although nothing a read changed: %v", err)
			}
		}
		v, err := ta.Get([]byte("hot"))
		switch {
		case turn && (err != nil || string(v) != "after true"):
			t.Fatalf("after the turn, hot reads %q, %v; want b's commit", v, err)
		case !turn && !errors.Is(err, kv.ErrConflict):
			t.Fatalf("without the turn, a row newer than the snapshot read %q, %v; want a conflict", v, err)
		}
		ta.Discard()
	}
	// And a read that did change is refused at the turn.
	ta, _ := a.Begin(context.Background(), true)
	defer ta.Discard()
	if _, err := ta.Get([]byte("cold")); err != nil {
		t.Fatal(err)
	}
	set(t, b, "cold", "2")
	if err := ta.(kv.Turner).TakeTurn(kv.Ahead{}); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("the turn kept a snapshot whose read changed: %v", err)
	}
}

// A load balancer's health check needs no key and learns nothing else; the
// API still refuses unsigned requests.
func TestHealthzIsOpenAndAlone(t *testing.T) {
	srv := remotetest.Start(t, nil)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodPost, "/v1/get", http.StatusUnauthorized},
		{http.MethodGet, "/", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s unsigned: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
	srv.Store.Close() // the database gone
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz without a database: %d, want 503", resp.StatusCode)
	}
}

// A server is not trusted to keep a scan to its prefix and order, or to let
// it end: a page that strays, goes backwards or does not move on is an
// error, never a row of the walk. The well-formed page is the control.
func TestClientRefusesABadScan(t *testing.T) {
	for _, c := range []struct {
		name, page string
		bad        bool
	}{
		{"well formed", `{"at": 5, "rows": [{"K": "cC9h", "V": "eA=="}, {"K": "cC9i", "V": "eA=="}], "covered": {"Prefix": "cC8=", "Lo": "cC8="}}`, false},
		{"outside the prefix", `{"at": 5, "rows": [{"K": "cC9h", "V": "eA=="}, {"K": "bi94", "V": "eA=="}], "covered": {"Prefix": "cC8=", "Lo": "cC8="}}`, true},
		{"out of order", `{"at": 5, "rows": [{"K": "cC9i", "V": "eA=="}, {"K": "cC9h", "V": "eA=="}], "covered": {"Prefix": "cC8=", "Lo": "cC8="}}`, true},
		{"never ends", `{"at": 5, "rows": [], "more": true, "covered": {"Prefix": "cC8=", "Lo": "cC8=", "Hi": "cC8="}}`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pages := 0
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if pages++; pages > 3 {
					w.Write([]byte(`{"at": 5, "rows": [], "covered": {"Prefix": "cC8=", "Lo": "cC8="}}`))
					return
				}
				w.Write([]byte(c.page))
			}))
			defer hs.Close()
			cl, err := remote.Dial(hs.URL, newID(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			tx, _ := cl.Store().Begin(context.Background(), false)
			defer tx.Discard()
			it := tx.NewIterator(kv.IterOptions{Prefix: []byte("p/")})
			defer it.Close()
			var keys []string
			for it.Rewind(); it.Valid(); it.Next() {
				keys = append(keys, string(it.Key()))
			}
			if c.bad && it.Err() == nil {
				t.Fatalf("walked %v without an error", keys)
			}
			if !c.bad && (it.Err() != nil || strings.Join(keys, " ") != "p/a p/b") {
				t.Fatalf("walked %v, %v; want p/a p/b", keys, it.Err())
			}
			for _, k := range keys {
				if !strings.HasPrefix(k, "p/") {
					t.Fatalf("the walk yielded %q, outside its prefix", k)
				}
			}
		})
	}
}

// What a transaction reads right after the turn comes with it (kv.Ahead):
// the keys and the first page of each walk, at the new snapshot, read with
// no request of their own (the control: a key that did not come with the
// turn costs one), and checked again at the commit: a writer that takes no
// turn (as the server's own sweep) changes a key that came with the turn,
// and the commit is refused.
func TestTurnBringsWhatComesNext(t *testing.T) {
	srv, requests, a, b := countedStores(t)
	set(t, a, "head", "1")
	set(t, a, "log/1", "one")
	set(t, a, "log/2", "two")
	ahead := kv.Ahead{Keys: [][]byte{[]byte("head")}, Walks: []kv.Walk{{Prefix: []byte("log/"), From: []byte("log/2")}}}

	t1, _ := a.Begin(context.Background(), true)
	defer t1.Discard()
	if _, err := t1.Get([]byte("cold")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatal(err)
	}
	set(t, b, "head", "2") // committed while t1 works: it learns it with the turn
	if err := t1.(kv.Turner).TakeTurn(ahead); err != nil {
		t.Fatal(err)
	}
	before := requests.n.Load()
	if v, err := t1.Get([]byte("head")); err != nil || string(v) != "2" {
		t.Fatalf("head with the turn: %q, %v; want 2", v, err)
	}
	var walked []string
	it := t1.NewIterator(kv.IterOptions{Prefix: []byte("log/")})
	for it.Seek([]byte("log/2")); it.Valid(); it.Next() {
		walked = append(walked, string(it.Key()))
	}
	if err := it.Err(); err != nil || strings.Join(walked, " ") != "log/2" {
		t.Fatalf("the walk that came with the turn: %q, %v", walked, err)
	}
	it.Close()
	if n := requests.n.Load() - before; n != 0 {
		t.Fatalf("reading what came with the turn made %d requests", n)
	}
	if _, err := t1.Get([]byte("log/1")); err != nil || requests.n.Load()-before != 1 {
		t.Fatalf("a key that did not come with the turn: %v, %d requests", err, requests.n.Load()-before)
	}
	// The sweep writes through PostgreSQL without the turn.
	if err := srv.Store.Apply(context.Background(), pgstore.Commit{ID: "sweep-changes-head-0000", Writes: []pgstore.Write{{K: []byte("head"), V: []byte("9")}}}); err != nil {
		t.Fatal(err)
	}
	t1.Set([]byte("head"), []byte("a"))
	if err := t1.Commit(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("a commit over a changed key that came with the turn: %v, want a conflict", err)
	}
}

// A reader asks for the log's head and its newest records in one request
// (kv.Prefetcher), at one snapshot: then reads them with none, and they
// agree however fast others write. The control: a key not asked for costs
// a request.
func TestPrefetchReadsTogether(t *testing.T) {
	_, requests, a, b := countedStores(t)
	set(t, b, "head", "2")
	set(t, b, "log/1", "one")
	set(t, b, "log/2", "two")
	tx, _ := a.Begin(context.Background(), false)
	defer tx.Discard()
	before := requests.n.Load()
	if err := tx.(kv.Prefetcher).Prefetch(kv.Ahead{Keys: [][]byte{[]byte("head")}, Walks: []kv.Walk{{Prefix: []byte("log/"), From: []byte("log/1")}}}); err != nil {
		t.Fatal(err)
	}
	set(t, b, "log/3", "three") // lands after the snapshot: unseen, and no conflict
	set(t, b, "head", "3")
	var walked []string
	it := tx.NewIterator(kv.IterOptions{Prefix: []byte("log/")})
	for it.Seek([]byte("log/1")); it.Valid(); it.Next() {
		walked = append(walked, string(it.Key()))
	}
	it.Close()
	head, err := tx.Get([]byte("head"))
	if err != nil || string(head) != "2" || strings.Join(walked, " ") != "log/1 log/2" {
		t.Fatalf("head %q, %v, and the walk %q: want 2 and log/1 log/2, as at the snapshot", head, err, walked)
	}
	if n := requests.n.Load() - before; n != 1 {
		t.Fatalf("the prefetch and its reads made %d requests, want 1", n)
	}
	if _, err := tx.Get([]byte("other")); !errors.Is(err, kv.ErrNotFound) || requests.n.Load()-before != 2 {
		t.Fatalf("a key not asked for: %v, %d requests", err, requests.n.Load()-before)
	}
}

// countedStores starts a server and two clients of it, both the admin: a,
// whose requests are counted, and b.
func countedStores(t *testing.T) (*remotetest.Server, *countingTransport, kv.Store, kv.Store) {
	srv := remotetest.Start(t, nil)
	requests := &countingTransport{base: http.DefaultTransport}
	c, err := remote.Dial(srv.URL, srv.Admin, requests)
	if err != nil {
		t.Fatal(err)
	}
	return srv, requests, c.Store(), srv.Client(t, srv.Admin).Store()
}

// countingTransport counts the requests a client sends.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}
