package vault

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/remote"
	"github.com/notevault/notevault/vault/remote/remotetest"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// agreementFiles are tried in order: the shared testdata file the CLI tests
// use, then the parser's own fixture (same parties: alice mentors bob, carol
// supervises).
var agreementFiles = []string{
	filepath.Join("..", "testdata", "agreement.yaml"),
	filepath.Join("agreement", "testdata", "alice-bob.yaml"),
}

func agreementText(t testing.TB) []byte {
	t.Helper()
	for _, p := range agreementFiles {
		b, err := os.ReadFile(p)
		if err == nil {
			return b
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	t.Fatalf("no agreement file found (tried %v)", agreementFiles)
	return nil
}

// fixture is an initialised, open vault with alice (mentor), bob (mentee)
// and carol (supervisor) registered and, unless built with accept=false, an
// agreement in force between alice and bob.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	dir   string
	clock *fakeClock
	v     *Vault
	// store, when set, holds the vault's records instead of the
	// directory's badger database (Options.Store).
	store kv.Store
	// keys, when set, keeps the shred keys instead of the directory's key
	// files (Options.Keyring): with a store, the server's wrapped keys.
	keys Keyring
	kek  *kek.Dir // the KEK versions that wrap keys (with a store)
	// payloads, with a server's store, keeps large notes' payloads there
	// (NOTEVAULT_TEST_STORE=server).
	payloads kv.Payloads

	alice, bob, carol *identity.Identity
	text              []byte // the agreement file
	agreement         string // its id
	terms             func(*policy.Terms)
}

// setTerms makes every agreement's policy terms pass through fn, now and
// after every reopen: how tests give terms fields the agreement parser
// does not fill yet (custodians, exception recipients, caps). fn sees the
// version in t.Version.
func (f *fixture) setTerms(fn func(*policy.Terms)) {
	f.terms = fn
	f.v.termsHook = fn
}

func newFixture(t testing.TB, accept bool) *fixture {
	t.Helper()
	return newFixtureOn(t, accept, testStore(t))
}

// testStore is the store fixtures use: nil (the directory's badger) unless
// NOTEVAULT_TEST_STORE=postgres runs the suite on PostgreSQL, as notevault
// serve will (tests that edit badger's files then fail: they attack the
// directory's engine).
func testStore(t testing.TB) kv.Store {
	switch os.Getenv("NOTEVAULT_TEST_STORE") {
	case "server":
		return testServerStore(t)
	case "postgres":
	default:
		return nil
	}
	s, err := pgstore.Open(context.Background(), pgtest.Start(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// serverKeys maps a client store of a test server to its keyring.
var serverKeys sync.Map

type serverKeyring struct {
	keys     Keyring
	kek      *kek.Dir
	payloads kv.Payloads
}

// testServerStore starts a notevault server and returns its store as a
// client sees it, signing as the server's admin.
func testServerStore(t testing.TB) kv.Store {
	return serverStoreOf(t, remotetest.StartWith(t, nil, func(api *remote.Server) { api.AppendOnly = AppendOnly() }))
}

// serverStoreOf is testServerStore for a server already started.
func serverStoreOf(t testing.TB, srv *remotetest.Server) kv.Store {
	c := srv.Client(t, srv.Admin)
	keys, err := c.Keyring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := c.Store()
	serverKeys.Store(s, serverKeyring{keys: keys, kek: srv.KEK, payloads: c.Payloads()})
	t.Cleanup(func() { serverKeys.Delete(s) })
	return s
}

// wrappedKeyring is a server's keyring: shred keys wrapped under a KEK
// directory of its own, kept in store.
func wrappedKeyring(t testing.TB, store kv.Store, now func() time.Time) (*kek.Keyring, *kek.Dir) {
	t.Helper()
	dir := t.TempDir()
	p, err := kek.OpenDirClock(filepath.Join(dir, "kek"), now)
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := kek.OpenKeyring(context.Background(), store, p, kek.KeyringOptions{Ledger: filepath.Join(dir, "ledger"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return k, p
}

// newFixtureOn is newFixture with the vault's records in store (nil: the
// directory's own badger database).
func newFixtureOn(t testing.TB, accept bool, store kv.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), dir: filepath.Join(t.TempDir(), "vault"), clock: newFakeClock(), store: store}
	if sk, ok := serverKeys.Load(store); ok {
		f.keys, f.kek, f.payloads = sk.(serverKeyring).keys, sk.(serverKeyring).kek, sk.(serverKeyring).payloads
	} else if store != nil {
		f.keys, f.kek = wrappedKeyring(t, store, f.clock.Now)
	}
	if err := InitWith(f.dir, Options{Store: store, Keyring: f.keys, Payloads: f.payloads}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	f.open()
	t.Cleanup(func() {
		if f.v != nil {
			f.v.Close()
		}
	})
	f.alice, f.bob, f.carol = newIdentity(t), newIdentity(t), newIdentity(t)
	for _, p := range []struct {
		name string
		role policy.Role
		id   *identity.Identity
	}{{"alice", policy.Mentor, f.alice}, {"bob", policy.Mentee, f.bob}, {"carol", policy.Supervisor, f.carol}} {
		if _, err := f.v.AddParticipant(f.ctx, p.name, p.role, p.id.Public().String()); err != nil {
			t.Fatalf("AddParticipant %s: %v", p.name, err)
		}
	}
	f.text = agreementText(t)
	a, err := f.v.CreateAgreement(f.ctx, f.text)
	if err != nil {
		t.Fatalf("CreateAgreement: %v", err)
	}
	f.agreement = a.ID
	if accept {
		f.accept(f.alice)
		f.accept(f.bob)
	}
	return f
}

func newIdentity(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) open() {
	f.t.Helper()
	v, err := Open(f.ctx, f.dir, Options{Now: f.clock.Now, Store: f.store, Keyring: f.keys, Payloads: f.payloads})
	if err != nil {
		f.t.Fatalf("Open: %v", err)
	}
	f.v = v
	f.v.termsHook = f.terms
}

func (f *fixture) close() {
	f.t.Helper()
	if f.v == nil {
		return
	}
	if err := f.v.Close(); err != nil {
		f.t.Fatalf("Close: %v", err)
	}
	f.v = nil
}

func (f *fixture) accept(id *identity.Identity) {
	f.t.Helper()
	f.clock.Advance(time.Second)
	if _, err := f.v.AcceptAgreement(f.ctx, f.agreement, id); err != nil {
		f.t.Fatalf("AcceptAgreement: %v", err)
	}
}

// add writes a note and fails the test if it cannot.
func (f *fixture) add(kind policy.Kind, author *identity.Identity, c Content) *Note {
	f.t.Helper()
	f.clock.Advance(time.Second)
	n, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: kind, Content: c}, author)
	if err != nil {
		f.t.Fatalf("AddNote %s: %v", kind, err)
	}
	return n
}

func content(title, body string, tags ...string) Content {
	return Content{Title: title, Tags: tags, Body: []byte(body)}
}

// amendedText is the fixture's agreement with one harmless change.
func (f *fixture) amendedText() []byte {
	f.t.Helper()
	s := string(f.text)
	if !strings.Contains(s, "review: quarterly") {
		f.t.Fatalf("agreement file has no %q line to amend", "review: quarterly")
	}
	return []byte(strings.Replace(s, "review: quarterly", "review: monthly", 1))
}

// withBadger opens the (closed) vault's store directly.
func withBadger(t *testing.T, dir string, fn func(db *badger.DB)) {
	t.Helper()
	if s := os.Getenv("NOTEVAULT_TEST_STORE"); s != "" {
		t.Skipf("this attack edits the directory's badger files; with NOTEVAULT_TEST_STORE=%s the records are elsewhere", s)
	}
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, dbDir)).WithLogger(nil))
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatalf("badger close: %v", err)
		}
	}()
	fn(db)
}

// rawGet returns a stored value (nil if absent).
func rawGet(t *testing.T, db *badger.DB, key string) []byte {
	t.Helper()
	var out []byte
	err := db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(key))
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return out
}

func rawSet(t *testing.T, db *badger.DB, key string, val []byte) {
	t.Helper()
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), val) }); err != nil {
		t.Fatalf("set %q: %v", key, err)
	}
}

func rawDelete(t *testing.T, db *badger.DB, key string) {
	t.Helper()
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(key)) }); err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
}

// rawLogKey is the audit key for seq, built independently of logKey.
func rawLogKey(seq uint64) string {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, seq)
	return "l/" + string(b)
}

// scanAllVersions calls fn with every key and every version's value.
func scanAllVersions(t *testing.T, db *badger.DB, fn func(key, val []byte)) int {
	t.Helper()
	n := 0
	err := db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.AllVersions = true
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if item.IsDeletedOrExpired() {
				continue
			}
			val, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			n++
			fn(item.KeyCopy(nil), val)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scanning the store: %v", err)
	}
	return n
}

func containsAny(b []byte, markers [][]byte) []byte {
	for _, m := range markers {
		if bytes.Contains(b, m) {
			return m
		}
	}
	return nil
}

type badgerDB = badger.DB

func hexString(b []byte) string { return hex.EncodeToString(b) }

// sweep destroys what is due now, as the retention plan would: the notes the
// expiry index files by now that are due by their metadata and not held. It
// returns the receipts and the held notes. A note that fails verification
// is not destroyed; once the others are, the error names it.
func (f *fixture) sweep() ([]Receipt, []*Note, error) {
	f.t.Helper()
	now := f.v.Now()
	entries, err := f.v.ExpiryIndex(f.ctx, now)
	if err != nil {
		return nil, nil, err
	}
	var due []Due
	var held []*Note
	var refused error
	for _, e := range entries {
		switch {
		case e.Problem != "":
			if refused == nil {
				refused = &IntegrityError{What: "note " + e.Note, Reason: e.Problem}
			}
		case e.Meta == nil || e.Meta.Expires.After(now):
		case e.Meta.Held():
			held = append(held, e.Meta)
		default:
			due = append(due, Due{Note: e.Note, Rule: "retention." + string(e.Meta.Kind), Index: []time.Time{e.At}})
		}
	}
	destroyed, err := f.v.SweepNotes(f.ctx, due)
	if err != nil {
		return destroyed, held, err
	}
	return destroyed, held, refused
}

// setNoDestroy turns shred-key destruction off (on) in v's keyring, for the
// negative controls of the deletion tests.
func setNoDestroy(v *Vault, on bool) {
	switch k := v.keys.(type) {
	case *fileKeys:
		k.NoDestroy = on
	case *kek.Keyring:
		k.NoDestroy = on
	default:
		panic(fmt.Sprintf("setNoDestroy: keyring %T", v.keys))
	}
}
