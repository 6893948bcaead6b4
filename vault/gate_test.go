package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/remote"
	"github.com/notevault/notevault/vault/remote/remotetest"
)

// gatedFixture is a fixture on a server whose gate (ServerGate) runs on
// gateClock, with alice, bob and carol enrolled: each can also talk to the
// server directly, as a client that does not decide reads first would.
// carol holds a grant of an hour to summaries, on bob's consent.
func gatedFixture(t *testing.T) (*fixture, *remotetest.Server, *fakeClock, *policy.Grant) {
	t.Helper()
	gateClock := newFakeClock()
	srv := remotetest.StartWith(t, nil, func(api *remote.Server) {
		api.Gate, api.AppendOnly = NewServerGate(api.Store, gateClock.Now), AppendOnly()
	})
	f := newFixtureOn(t, true, serverStoreOf(t, srv))
	for _, id := range []*identity.Identity{f.alice, f.bob, f.carol} {
		srv.Enrol(t, id)
	}
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	g, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	return f, srv, gateClock, g
}

// rawCopy fetches the record of copy blob from the server as id, without
// the vault's own decision first.
func rawCopy(t *testing.T, srv *remotetest.Server, id *identity.Identity, blob string) ([]byte, error) {
	t.Helper()
	tx, err := srv.Client(t, id).Store().Begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Discard()
	return tx.Get([]byte(pBlob + blob))
}

// rawScan reads every copy record with its value, as notevault check does.
func rawScan(t *testing.T, srv *remotetest.Server, id *identity.Identity) (int, error) {
	t.Helper()
	tx, err := srv.Client(t, id).Store().Begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Discard()
	it := tx.NewIterator(kv.IterOptions{Prefix: []byte(pBlob)})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Err()
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var se *remote.ServerError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden || !strings.Contains(se.Msg, reason) {
		t.Fatalf("got %v, want a 403 saying %q", err, reason)
	}
}

// A supervisor whose grant ended is refused the copy made under it by the
// server itself, not handed a ciphertext their key still opens: the client
// that skips its own decision (or whose clock is behind) gets a 403. The
// controls: the same copy while the grant lasts, and the same copy after
// it to the mentee, for whom it is sealed to no key of theirs (re-wraps and
// checks read every copy).
func TestServerGateRefusesAnEndedGrantsCopy(t *testing.T) {
	f, srv, gateClock, g := gatedFixture(t)
	var err error
	s := f.add(policy.Summary, f.alice, content("t", "what we agreed"))
	session := f.add(policy.Session, f.alice, content("t", "session"))
	blob := grantCopyID(g.ID, s.ID)

	gateClock.Set(f.clock.Now())
	if _, err := rawCopy(t, srv, f.carol, blob); err != nil {
		t.Fatalf("while the grant lasts, carol is refused her copy: %v", err)
	}
	if n, err := rawScan(t, srv, f.carol); err != nil || n == 0 {
		t.Fatalf("while the grant lasts, carol's scan of the copies: %d, %v", n, err)
	}

	gateClock.Set(f.clock.Now().Add(2 * time.Hour)) // the grant ended; the sweep has not run
	_, err = rawCopy(t, srv, f.carol, blob)
	wantRefused(t, err, "grant "+g.ID)
	_, err = rawScan(t, srv, f.carol)
	wantRefused(t, err, "grant "+g.ID)
	if _, err := rawCopy(t, srv, f.bob, blob); err != nil {
		t.Fatalf("bob, for whom the copy is not sealed, is refused it: %v", err)
	}
	if n, err := rawScan(t, srv, f.bob); err != nil || n == 0 {
		t.Fatalf("bob's scan of the copies: %d, %v", n, err)
	}
	// Notes' own copies are never refused: carol may not read the session
	// note, but it is sealed to alice and bob alone.
	if _, err := rawCopy(t, srv, f.carol, session.ID); err != nil {
		t.Fatalf("a copy not made for carol is refused to her: %v", err)
	}
	// A key that is no participant's (the fixture's own, the admin's) is
	// handed everything: no copy opens with it.
	if _, err := rawCopy(t, srv, srv.Admin, blob); err != nil {
		t.Fatalf("the admin is refused: %v", err)
	}
}

// A recording's copy kept as a payload is decided the same way, opened by
// name or read chunk by chunk through a handle opened while the grant
// lasted (payload ids are sequential: a client could guess one).
func TestServerGateRefusesAnEndedGrantsPayload(t *testing.T) {
	old := inlineMax
	inlineMax = 16 << 10
	t.Cleanup(func() { inlineMax = old })
	f, srv, gateClock, g := gatedFixture(t)
	body := bytes.Repeat([]byte("a long recording. "), 10000)
	s, err := f.v.AddNoteFrom(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Summary, Content: content("rec", "")}, bytes.NewReader(body), f.alice)
	if err != nil {
		t.Fatal(err)
	}
	blob := grantCopyID(g.ID, s.ID)
	readAll := func(id *identity.Identity) error {
		p, err := srv.Client(t, id).Payloads().Open(blob)
		if err != nil {
			return err
		}
		defer p.Close()
		_, err = io.Copy(io.Discard, p)
		return err
	}
	gateClock.Set(f.clock.Now())
	if err := readAll(f.carol); err != nil {
		t.Fatalf("while the grant lasts, carol cannot read her copy's payload: %v", err)
	}
	early, err := srv.Client(t, f.carol).Payloads().Open(blob)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()

	gateClock.Set(f.clock.Now().Add(2 * time.Hour))
	wantRefused(t, readAll(f.carol), "grant "+g.ID)
	_, err = io.Copy(io.Discard, early)
	wantRefused(t, err, "grant "+g.ID)
	if err := readAll(f.bob); err != nil {
		t.Fatalf("bob, for whom the payload is not sealed, cannot read it: %v", err)
	}
}

// An enrolled participant who edits their notevault (here: writes the
// store directly) cannot rewrite history on a server: a commit that
// changes or removes an audit record or a fact of an agreement's chain is
// refused with 403, and nothing of it is written; the vault still works.
// The control: the same participant's commit that only appends a key
// there goes through (what every action does; a forged record appended is
// then caught by the clients' verification, as in a directory).
func TestServerRefusesRewritingHistory(t *testing.T) {
	f, srv, _, _ := gatedFixture(t)
	n := f.add(policy.Session, f.alice, content("t", "x"))
	bob := srv.Client(t, f.bob).Store()
	commit := func(fn func(kv.Txn) error) error { return kv.Update(f.ctx, bob, fn) }
	forged := []byte("a forged record")
	for _, c := range []struct {
		what string
		fn   func(kv.Txn) error
	}{
		{"overwrite the first audit record", func(txn kv.Txn) error { return txn.Set([]byte(logKey(1)), forged) }},
		{"remove the first audit record", func(txn kv.Txn) error { return txn.Delete([]byte(logKey(1))) }},
		{"overwrite the agreement's first fact", func(txn kv.Txn) error { return txn.Set([]byte(factKey(f.agreement, 1)), forged) }},
		{"remove the agreement's first fact", func(txn kv.Txn) error { return txn.Delete([]byte(factKey(f.agreement, 1))) }},
		{"overwrite a record beside an innocent write", func(txn kv.Txn) error {
			if err := txn.Set([]byte("u/innocent"), []byte("1")); err != nil {
				return err
			}
			return txn.Set([]byte(logKey(2)), forged)
		}},
	} {
		var se *remote.ServerError
		if err := commit(c.fn); !errors.As(err, &se) || se.Status != http.StatusForbidden {
			t.Fatalf("%s: %v, want a 403", c.what, err)
		}
	}
	if err := kv.View(f.ctx, bob, func(txn kv.Txn) error {
		if v, err := txn.Get([]byte(logKey(1))); err != nil || bytes.Equal(v, forged) {
			return fmt.Errorf("audit record 1: %q, %v", v, err)
		}
		if _, err := txn.Get([]byte("u/innocent")); !errors.Is(err, kv.ErrNotFound) {
			return fmt.Errorf("a refused commit wrote part of itself: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatalf("the log after the refused commits: %v", err)
	}
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatalf("the vault after the refused commits: %v", err)
	}
	// Appending is what every action does, and stays open to any enrolled
	// key; a forged record appended is the clients' to catch, and no one
	// can remove it to hide it again.
	if err := commit(func(txn kv.Txn) error { return txn.Set([]byte(logKey(1<<40)), forged) }); err != nil {
		t.Fatalf("a commit that only appends was refused: %v", err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err == nil {
		t.Fatal("a forged record appended to the log verified")
	}
	if err := commit(func(txn kv.Txn) error { return txn.Delete([]byte(logKey(1 << 40))) }); err == nil {
		t.Fatal("the appended record could be removed again")
	}
}

// A disclosure's copy goes to its recipient only while the policy lets
// them read the note through it: once the note has expired (the sweep has
// not run yet), the server refuses it to them. The controls: the copy
// before, and after to the mentee, for whom it is not sealed.
func TestServerGateRefusesADisclosureOfAnExpiredNote(t *testing.T) {
	f, srv, gateClock, _ := gatedFixture(t)
	n := f.add(policy.Reflection, f.bob, content("r", "MARK-r"))
	d, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "why", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	gateClock.Set(f.clock.Now())
	if _, err := rawCopy(t, srv, f.carol, d.ID); err != nil {
		t.Fatalf("carol is refused the copy disclosed to her: %v", err)
	}
	gateClock.Set(n.Expires.Add(time.Minute))
	_, err = rawCopy(t, srv, f.carol, d.ID)
	wantRefused(t, err, "expired")
	if _, err := rawCopy(t, srv, f.bob, d.ID); err != nil {
		t.Fatalf("bob, for whom the copy is not sealed, is refused it: %v", err)
	}
}

// A key the admin enrolled but no participant registered can talk to the
// server, and read what it could open (nothing), but not change the store:
// its commits, its payload uploads and its requests to destroy a shred key
// are refused with 403. The controls: the same requests from bob, a
// participant, go through (the destroy on a bucket that does not exist).
func TestServerRefusesWritesFromANonParticipant(t *testing.T) {
	f, srv, _, _ := gatedFixture(t)
	n := f.add(policy.Session, f.alice, content("t", "x"))
	mallory := newIdentity(t)
	srv.Enrol(t, mallory)
	for _, c := range []struct {
		who  *identity.Identity
		want bool // allowed
	}{{mallory, false}, {f.bob, true}} {
		client := srv.Client(t, c.who)
		errs := map[string]error{
			"commit":  kv.Update(f.ctx, client.Store(), func(txn kv.Txn) error { return txn.Set([]byte("u/scribble"), []byte("x")) }),
			"destroy": client.DestroyKey(f.ctx, "no-such-bucket"),
		}
		_, errs["payload"] = client.Payloads().Create()
		for what, err := range errs {
			var se *remote.ServerError
			refused := errors.As(err, &se) && se.Status == http.StatusForbidden
			if refused == c.want {
				t.Errorf("%s by a participant=%v: %v", what, c.want, err)
			}
			if refused && !strings.Contains(se.Msg, "not a participant") {
				t.Errorf("%s refused with %q", what, se.Msg)
			}
		}
	}
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatalf("the vault after the attempts: %v", err)
	}
}
