// Package remotetest starts a notevault server for tests: a PostgreSQL
// database of its own (pgtest), a KEK directory and destruction ledger in
// a temporary directory, and the API on an httptest server.
package remotetest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/remote"
)

// Server is a running test server.
type Server struct {
	URL   string
	Admin *identity.Identity
	API   *remote.Server
	Store *pgstore.Store
	KEK   *kek.Dir
	HTTP  *httptest.Server
}

// Start starts a server whose admin is a fresh identity. It skips the test
// when PostgreSQL is not installed (pgtest says how to install it).
func Start(t testing.TB, now func() time.Time) *Server {
	t.Helper()
	return StartWith(t, now, nil)
}

// StartWith is Start with configure (when not nil) given the server before
// it answers anything: to set its gate or its append-only prefixes, as
// notevault serve does.
func StartWith(t testing.TB, now func() time.Time, configure func(*remote.Server)) *Server {
	t.Helper()
	ctx := context.Background()
	store, err := pgstore.Open(ctx, pgtest.Start(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := kek.OpenDirClock(filepath.Join(dir, "kek"), now)
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := kek.OpenKeyring(ctx, store, p, kek.KeyringOptions{Ledger: filepath.Join(dir, "ledger"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := identity.Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	api := &remote.Server{Store: store, KEK: p, Keys: keys, Admin: admin.Public(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(api)
	}
	hs := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		hs.Close()
		store.Close()
	})
	return &Server{URL: hs.URL, Admin: admin, API: api, Store: store, KEK: p, HTTP: hs}
}

// Client dials the server as id.
func (s *Server) Client(t testing.TB, id *identity.Identity) *remote.Client {
	t.Helper()
	c, err := remote.Dial(s.URL, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Enrol enrols id's key with the admin's.
func (s *Server) Enrol(t testing.TB, id *identity.Identity) {
	t.Helper()
	if err := s.Client(t, s.Admin).Enrol(context.Background(), id.Public()); err != nil {
		t.Fatalf("enrolling: %v", err)
	}
}
