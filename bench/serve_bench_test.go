package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/remote"
	"github.com/notevault/notevault/vault/remote/remotetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// serverEnv is newEnv on a notevault server: alice's vault over the
// protocol, as the CLI opens it with --vault https://….
func serverEnv(tb testing.TB, pq bool) *env {
	tb.Helper()
	srv := remotetest.Start(tb, nil)
	ids := newIDs(tb, pq)
	for _, id := range ids {
		srv.Enrol(tb, id)
	}
	return populate(tb, openRemote(tb, srv, ids["alice"], filepath.Join(tb.TempDir(), "local")), ids)
}

// envAt is a post-quantum env on a directory ("local") or a server.
func envAt(tb testing.TB, where string) *env {
	tb.Helper()
	if where == "server" {
		return serverEnv(tb, true)
	}
	e := newEnv(tb, filepath.Join(tb.TempDir(), "vault"), true)
	tb.Cleanup(func() { e.v.Close() })
	return e
}

// openRemote opens the server's vault as id, with its local state in dir.
func openRemote(tb testing.TB, srv *remotetest.Server, id *identity.Identity, dir string) *vault.Vault {
	tb.Helper()
	v := openClient(tb, srv.Client(tb, id), dir)
	tb.Cleanup(func() { v.Close() })
	return v
}

// openClient opens the vault c serves, with its local state in dir, as the
// CLI's --vault URL does; the caller closes it.
func openClient(tb testing.TB, c *remote.Client, dir string) *vault.Vault {
	tb.Helper()
	ctx := context.Background()
	keys, err := c.Keyring(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	opts := vault.Options{Store: c.Store(), Keyring: keys, Payloads: c.Payloads()}
	if err := vault.InitWith(dir, opts); err != nil {
		tb.Fatal(err)
	}
	v, err := vault.Open(ctx, dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// BenchmarkServerNoteAdd is BenchmarkNoteAdd against a server on loopback,
// beside the same on a directory: the issue's "a remote note add within 3x
// of a local one". Run with
//
//	go test -run xxx -bench 'ServerNote' -benchtime 200x ./bench/
func BenchmarkServerNoteAdd(b *testing.B) {
	ctx := context.Background()
	for _, where := range []string{"local", "server"} {
		b.Run(where, func(b *testing.B) {
			e := envAt(b, where)
			nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
				Content: vault.Content{Title: "weekly session", Tags: []string{"goals"}, Body: body1K}}
			for b.Loop() {
				if _, err := e.v.AddNote(ctx, nn, e.alice); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServerNoteShow reads a note back, local and over a server.
func BenchmarkServerNoteShow(b *testing.B) {
	ctx := context.Background()
	for _, where := range []string{"local", "server"} {
		b.Run(where, func(b *testing.B) {
			e := envAt(b, where)
			n, err := e.v.AddNote(ctx, vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
				Content: vault.Content{Title: "weekly session", Body: body1K}}, e.alice)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := e.v.ReadNote(ctx, n.ID, e.bob); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
