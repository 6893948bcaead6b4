//go:build load

package bench

// The load test of notevault serve: concurrent clients adding and reading
// notes against two replicas on one PostgreSQL database, one replica
// killed half way. Run with
//
//	go test -tags load -run TestServeLoad -v -timeout 30m ./bench/
//
// NOTEVAULT_LOAD_CLIENTS (default 16) and NOTEVAULT_LOAD_SECONDS (default
// 20) bound it; NOTEVAULT_LOAD_DB names a database to use (bench/serve.sh
// --load passes a durable one), else a throwaway cluster is started
// (pgtest: fsync off). It reports adds/s, latencies on both sides, what the
// clients saw when the replica died, and checks that every acknowledged
// note reads back and that the audit log verifies.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/remote"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// timings collects durations, safe for concurrent use.
type timings struct {
	mu sync.Mutex
	d  []time.Duration
}

func (t *timings) add(d time.Duration) { t.mu.Lock(); t.d = append(t.d, d); t.mu.Unlock() }

func (t *timings) pct(p float64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.d) == 0 {
		return 0
	}
	s := slices.Clone(t.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// replica is one notevault serve on the shared database.
type replica struct {
	url  string
	hs   *http.Server
	dead atomic.Bool
}

// balancer sends each request to the next live replica, as a load
// balancer would: a replica taken out (dead) gets no new requests, and the
// ones it had in flight fail, which the client sends again, freshly signed.
// The Host header stays the one the request was signed for.
type balancer struct {
	replicas []*replica
	next     atomic.Uint64
	failed   *atomic.Int64 // requests that got no answer
}

func (b *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	rep := b.replicas[b.next.Add(1)%uint64(len(b.replicas))]
	if rep.dead.Load() {
		rep = b.replicas[0]
	}
	rr := r.Clone(r.Context())
	rr.URL.Host = rep.url[len("http://"):]
	resp, err := http.DefaultTransport.RoundTrip(rr)
	if err != nil {
		b.failed.Add(1)
	}
	return resp, err
}

func TestServeLoad(t *testing.T) {
	clients := envInt("NOTEVAULT_LOAD_CLIENTS", 16)
	seconds := envInt("NOTEVAULT_LOAD_SECONDS", 20)
	ctx := context.Background()
	db := os.Getenv("NOTEVAULT_LOAD_DB")
	if db == "" {
		db = pgtest.Start(t).NewDatabase(t)
	}
	state := t.TempDir()
	admin, _ := identity.Generate(true)
	serverTimes, commitTimes, turnTimes := &timings{}, &timings{}, &timings{}
	var conflicts atomic.Int64
	var replicas []*replica
	for range 2 {
		store, err := pgstore.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		p, err := kek.OpenDir(filepath.Join(state, "kek"))
		if err != nil {
			t.Fatal(err)
		}
		keys, _, err := kek.OpenKeyring(ctx, store, p, kek.KeyringOptions{Ledger: filepath.Join(state, "ledger")})
		if err != nil {
			t.Fatal(err)
		}
		api := (&remote.Server{Store: store, KEK: p, Keys: keys, Admin: admin.Public(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Gate: vault.NewServerGate(store, nil), AppendOnly: vault.AppendOnly()}).Handler()
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: 200}
			api.ServeHTTP(sw, r)
			switch r.URL.Path {
			case "/v1/turn": // waiting for the writers' turn: queueing, not work
				turnTimes.add(time.Since(start))
			case "/v1/commit":
				commitTimes.add(time.Since(start))
				fallthrough
			default:
				serverTimes.add(time.Since(start))
			}
			if sw.status == http.StatusConflict {
				conflicts.Add(1)
			}
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		rep := &replica{url: "http://" + ln.Addr().String(), hs: &http.Server{Handler: h}}
		go rep.hs.Serve(ln)
		defer rep.hs.Close()
		replicas = append(replicas, rep)
	}
	var unanswered atomic.Int64
	open := func(id *identity.Identity, dir string) *vault.Vault {
		c, err := remote.Dial(replicas[0].url, id, &balancer{replicas: replicas, failed: &unanswered})
		if err != nil {
			t.Fatal(err)
		}
		return openClient(t, c, dir)
	}
	ids := newIDs(t, true)
	adminC, _ := remote.Dial(replicas[0].url, admin, nil)
	for _, id := range ids {
		if err := adminC.Enrol(ctx, id.Public()); err != nil {
			t.Fatal(err)
		}
	}
	setup := open(ids["alice"], filepath.Join(t.TempDir(), "setup"))
	e := populate(t, setup, ids)
	setup.Close()

	type acked struct {
		id     string
		reader *identity.Identity
	}
	var (
		mu                 sync.Mutex
		ack                []acked
		addTimes, showTime = &timings{}, &timings{}
		failures           = map[string]int{}
		failuresAfterKill  atomic.Int64
		killed             atomic.Bool
		wg                 sync.WaitGroup
	)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			author := e.alice
			if i%2 == 1 {
				author = e.bob
			}
			v := open(author, filepath.Join(t.TempDir(), fmt.Sprint("client", i)))
			defer v.Close()
			var mine []string
			for n := 0; time.Now().Before(deadline); n++ {
				start := time.Now()
				note, err := v.AddNote(ctx, vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
					Content: vault.Content{Title: fmt.Sprintf("client %d note %d", i, n), Body: body1K}}, author)
				if err != nil {
					mu.Lock()
					failures[err.Error()]++
					mu.Unlock()
					if killed.Load() {
						failuresAfterKill.Add(1)
					}
					continue
				}
				addTimes.add(time.Since(start))
				mine = append(mine, note.ID)
				mu.Lock()
				ack = append(ack, acked{note.ID, author})
				mu.Unlock()
				start = time.Now()
				if _, err := v.ReadNote(ctx, mine[rand.IntN(len(mine))], author); err != nil {
					mu.Lock()
					failures["read: "+err.Error()]++
					mu.Unlock()
					continue
				}
				showTime.add(time.Since(start))
			}
		}()
	}
	time.Sleep(time.Until(deadline.Add(-time.Duration(seconds) * time.Second / 2)))
	killedAt := len(ack)
	replicas[1].dead.Store(true)
	killed.Store(true)
	replicas[1].hs.Close() // in-flight connections cut
	wg.Wait()
	elapsed := time.Duration(seconds) * time.Second

	// Nothing lost: every acknowledged note reads back, and the log verifies.
	check := open(e.alice, filepath.Join(t.TempDir(), "check"))
	defer check.Close()
	lost := 0
	for _, a := range ack {
		if _, err := check.ReadNote(ctx, a.id, a.reader); err != nil {
			if !errors.Is(err, vault.ErrNoKey) || a.reader == e.alice {
				lost++
			}
		}
	}
	records, err := check.VerifyAudit(ctx)
	if err != nil {
		t.Errorf("audit verify: %v", err)
	}
	listed, err := check.ListNotes(ctx, vault.NoteFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// Actions that still conflicted after vault's retries are reported, not
	// failed: every write appends to the one signed audit log, so writers
	// on a server serialise (docs/server.md, "Limits").
	t.Logf("%d clients, %d s, replica 2 of 2 killed after %d acknowledged adds", clients, seconds, killedAt)
	t.Logf("note adds: %d acknowledged, %.0f/s; client add p50 %v p99 %v; read p50 %v p99 %v",
		len(ack), float64(len(ack))/elapsed.Seconds(), addTimes.pct(.5), addTimes.pct(.99), showTime.pct(.5), showTime.pct(.99))
	t.Logf("server side: requests p50 %v p99 %v; commits p50 %v p99 %v; %d conflicts (409) answered",
		serverTimes.pct(.5), serverTimes.pct(.99), commitTimes.pct(.5), commitTimes.pct(.99), conflicts.Load())
	t.Logf("waiting for the writers' turn: p50 %v p99 %v", turnTimes.pct(.5), turnTimes.pct(.99))
	t.Logf("the kill: %d requests got no answer and were sent again; %d actions failed after it", unanswered.Load(), failuresAfterKill.Load())
	for msg, n := range failures {
		t.Logf("  failed %d times: %s", n, msg)
	}
	t.Logf("check: %d notes listed for %d acknowledged (more: an add whose commit landed but whose answer was lost, run again), %d lost; audit log %d records verified",
		len(listed), len(ack), lost, records)
	if lost > 0 {
		t.Errorf("%d acknowledged notes do not read back", lost)
	}
	if len(listed) < len(ack) {
		t.Errorf("%d notes listed, fewer than the %d acknowledged", len(listed), len(ack))
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }
