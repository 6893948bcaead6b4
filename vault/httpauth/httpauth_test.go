package httpauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/identity"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newID(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// server answers 200 with the fingerprint of the key that signed.
func server(t *testing.T, known ...*identity.Identity) (*httptest.Server, *Verifier) {
	keys := map[string]identity.PublicKey{}
	for _, id := range known {
		keys[id.Public().Fingerprint()] = id.Public()
	}
	v := &Verifier{
		Keys: func(_ context.Context, fp string) (identity.PublicKey, error) {
			k, ok := keys[fp]
			if !ok {
				return identity.PublicKey{}, errors.New("unknown")
			}
			return k, nil
		},
		Nonces: &Memory{Now: func() time.Time { return t0 }},
		Now:    func() time.Time { return t0 },
	}
	srv := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := From(r.Context())
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, k.Fingerprint()+" "+string(b))
	})))
	t.Cleanup(srv.Close)
	return srv, v
}

func send(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signed(t *testing.T, id *identity.Identity, method, url, body string, at time.Time) *http.Request {
	t.Helper()
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	if err := Sign(r, id, at); err != nil {
		t.Fatal(err)
	}
	return r
}

// resend builds a new request with the headers of r (its proof) and the
// given method, URL and body: what an attacker who saw r can send.
func resend(r *http.Request, method, url, body string) *http.Request {
	n, _ := http.NewRequest(method, url, strings.NewReader(body))
	n.Header = r.Header.Clone()
	return n
}

func TestSignedRequests(t *testing.T) {
	alice, mallory := newID(t), newID(t)
	srv, _ := server(t, alice)
	u := srv.URL + "/v1/notes?agreement=a-1"

	// Control: a signed request is served, with the signer known.
	code, body := send(t, signed(t, alice, "POST", u, "hello", t0))
	if code != 200 || body != alice.Public().Fingerprint()+" hello" {
		t.Fatalf("signed request: %d %s", code, body)
	}
	// The transport signs for a client.
	c := &http.Client{Transport: &Transport{ID: alice, Now: func() time.Time { return t0 }}}
	resp, err := c.Post(u, "text/plain", strings.NewReader("via transport"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("transport: %v %v", resp, err)
	}
	resp.Body.Close()

	base := signed(t, alice, "POST", u, "hello", t0)
	cases := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"not signed", func() *http.Request { r, _ := http.NewRequest("POST", u, strings.NewReader("x")); return r }(), "not signed"},
		{"unknown key", signed(t, mallory, "POST", u, "hello", t0), "does not know"},
		{"body changed", resend(base, "POST", u, "hellO"), "body is not the one"},
		{"method changed", resend(base, "PUT", u, "hello"), "another request"},
		{"path changed", resend(base, "POST", srv.URL+"/v1/grants?agreement=a-1", "hello"), "another request"},
		{"query changed", resend(base, "POST", srv.URL+"/v1/notes?agreement=a-2", "hello"), "another request"},
		{"too old", signed(t, alice, "POST", u, "hello", t0.Add(-6*time.Minute)), "too far"},
		{"in the future", signed(t, alice, "POST", u, "hello", t0.Add(6*time.Minute)), "too far"},
		{"digest stripped", func() *http.Request {
			r := signed(t, alice, "POST", u, "hello", t0)
			r.Header.Del("Content-Digest")
			return r
		}(), "body is not the one"},
		{"signature edited", func() *http.Request {
			r := signed(t, alice, "POST", u, "hello", t0)
			p := r.Header.Get(Header)
			r.Header.Set(Header, p[:len(p)-4]+"AAAA")
			return r
		}(), "does not verify"},
		{"garbage", func() *http.Request {
			r, _ := http.NewRequest("GET", u, nil)
			r.Header.Set(Header, "not.a.jws")
			return r
		}(), "does not parse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := send(t, c.req)
			if code != http.StatusUnauthorized || !strings.Contains(body, c.want) || !strings.HasPrefix(body, `{"error":`) {
				t.Fatalf("%d %s; want 401 saying %q", code, body, c.want)
			}
		})
	}
}

// A proof is good once: the same request again is a replay.
func TestReplay(t *testing.T) {
	alice := newID(t)
	srv, _ := server(t, alice)
	r := signed(t, alice, "POST", srv.URL+"/v1/notes", "x", t0)
	if code, _ := send(t, resend(r, "POST", srv.URL+"/v1/notes", "x")); code != 200 {
		t.Fatalf("first: %d", code)
	}
	if code, body := send(t, resend(r, "POST", srv.URL+"/v1/notes", "x")); code != 401 || !strings.Contains(body, "replayed") {
		t.Fatalf("replay: %d %s", code, body)
	}
}

// Many copies of one signed request at once, against the store two
// replicas would share: exactly one is accepted.
func TestReplayRaceInTheStore(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	store := badgerstore.New(db)
	defer store.Close()
	alice := newID(t)
	nonces := &KV{Store: store, Now: func() time.Time { return t0 }}
	v := &Verifier{
		Keys:   func(context.Context, string) (identity.PublicKey, error) { return alice.Public(), nil },
		Nonces: nonces,
		Now:    func() time.Time { return t0 },
	}
	r := signed(t, alice, "POST", "https://vault.example/v1/notes", "x", t0)
	var ok, replays int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := resend(r, "POST", "https://vault.example/v1/notes", "x")
			_, err := v.Verify(c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case IsReplay(err):
				replays++
			default:
				t.Errorf("verify: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || replays != 15 {
		t.Fatalf("%d accepted and %d replays of one proof, want 1 and 15", ok, replays)
	}
	// Expired ids are pruned; live ones stay.
	if n, err := nonces.Prune(context.Background(), t0); err != nil || n != 0 {
		t.Fatalf("prune before expiry: %d, %v", n, err)
	}
	if n, err := nonces.Prune(context.Background(), t0.Add(DefaultSkew+time.Second)); err != nil || n != 1 {
		t.Fatalf("prune after expiry: %d, %v", n, err)
	}
}
