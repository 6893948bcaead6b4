package vault

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/seal"
)

// TestDeletionSurvivesPostgresCopies is the raw-file proof of deletion on a
// server's PostgreSQL, played as an attacker who holds every participant's
// key, every KEK version that survives, the database's data directory with
// its WAL, and a base backup taken before the deletion: once the backup
// window has passed and an epoch has run, the deleted note opens from none
// of them. The controls show the attack works before: from the backup while
// the KEK version that wrapped the key lives.
func TestDeletionSurvivesPostgresCopies(t *testing.T) {
	const every, window = 24 * time.Hour, 7 * 24 * time.Hour
	c := pgtest.Start(t)
	conn := c.NewDatabase(t)
	ctx := context.Background()
	store, err := pgstore.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := newFixtureOn(t, true, store)
	ring := f.keys.(*kek.Keyring)

	const marker = "MARKER-pg-9c41e7"
	n := f.add(policy.Reflection, f.bob, content("r", marker+" what I have not told anyone"))
	keep := f.add(policy.Session, f.alice, content("s", "a session that stays"))

	// Two backups taken before the deletion: every row (pg_dump's view)
	// and the data directory's files (pg_basebackup's).
	rows := allRows(t, store)
	pgCheckpoint(t, conn)
	base := t.TempDir()
	copyTree(t, c.DataDir(), base)

	ids := []*identity.Identity{f.alice, f.bob, f.carol}
	if got := recoverFromRaw(t, f.kek, rows, ids, marker, base); !got {
		t.Fatal("control: the note does not open from the base backup before its deletion; the test proves nothing")
	}

	if _, err := f.v.DeleteNote(ctx, n.ID, f.bob); err != nil {
		t.Fatal(err)
	}
	pgCheckpoint(t, conn)
	// Through the server it is gone at once; from a backup it is not yet:
	// its key is wrapped there under a KEK version that still lives.
	if !recoverFromRaw(t, f.kek, rows, ids, marker, base) {
		t.Fatal("control: the backup no longer opens the note right after the deletion; the window the docs promise is not what happens")
	}

	f.clock.Advance(every)
	if r, err := ring.Epoch(ctx, every, window); err != nil || !r.Rotated {
		t.Fatalf("first epoch: %+v, %v", r, err)
	}
	f.clock.Advance(window)
	r, err := ring.Epoch(ctx, every, window)
	if err != nil || r.Destroyed == 0 {
		t.Fatalf("epoch past the window: %+v, %v; want an old version destroyed", r, err)
	}
	pgCheckpoint(t, conn)

	if recoverFromRaw(t, f.kek, rows, ids, marker, base, c.DataDir()) {
		t.Fatal("the deleted note opens from the database's files or the base backup after the window")
	}
	for _, dir := range []string{base, c.DataDir()} {
		if p := rawContains(t, dir, []byte(marker)); p != "" {
			t.Fatalf("%s holds the note's plaintext", p)
		}
	}
	// The note that stays still reads, through the server.
	f.close()
	f.open()
	if _, err := f.v.ReadNote(ctx, keep.ID, f.bob); err != nil {
		t.Fatalf("the note that stays: %v", err)
	}
}

// allRows reads every row of store.
func allRows(t *testing.T, store kv.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := kv.View(context.Background(), store, func(txn kv.Txn) error {
		it := txn.NewIterator(kv.IterOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Value()
			if err != nil {
				return err
			}
			out[string(it.Key())] = bytes.Clone(v)
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pgCheckpoint makes the server write its dirty pages to the table files.
func pgCheckpoint(t *testing.T, conn string) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawContains returns the first file under dir that holds b.
func rawContains(t *testing.T, dir string, b []byte) string {
	t.Helper()
	found := ""
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, b) {
			found = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

var rawWrapped = regexp.MustCompile(`kek1:[0-9]{1,9}:[A-Za-z0-9+/]{96}`)

// recoverFromRaw plays the attacker: every wrapped key in the raw files
// under dirs, tried as the key of every sealed copy in rows with every KEK
// version that survives, and what opens decrypted with every identity. It
// reports whether marker came out.
func recoverFromRaw(t *testing.T, p kek.Provider, rows map[string][]byte, ids []*identity.Identity, marker string, dirs ...string) bool {
	t.Helper()
	wrapped := map[string]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, m := range rawWrapped.FindAll(data, -1) {
				wrapped[string(m)] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(wrapped) == 0 {
		t.Fatalf("no wrapped key anywhere under %v: the scan cannot see the keys", dirs)
	}
	ageIDs := make([]age.Identity, len(ids))
	for i, id := range ids {
		ageIDs[i] = id.AgeIdentity()
	}
	ctx := context.Background()
	for k, v := range rows {
		if !strings.HasPrefix(k, pBlob) {
			continue
		}
		var rec blobRec
		if decodeRecord(v, &rec) != nil {
			continue
		}
		blob := strings.TrimPrefix(k, pBlob)
		for s := range wrapped {
			w, err := kek.Parse(s)
			if err != nil {
				continue
			}
			key, err := kek.OpenShredKey(ctx, p, rec.Bucket, w)
			if err != nil {
				continue
			}
			ageFile, err := seal.Open(key, seal.AD(blob, rec.Bucket), rec.Sealed)
			if err != nil {
				continue
			}
			r, err := age.Decrypt(bytes.NewReader(ageFile), ageIDs...)
			if err != nil {
				continue
			}
			plain, _ := io.ReadAll(r)
			if bytes.Contains(plain, []byte(marker)) {
				return true
			}
		}
	}
	return false
}

// KeyEpoch turns a server's KEK with the clock (the sweep runs it): a
// rotation once a day, every live key re-wrapped, and the retired version
// destroyed once the backup window has passed, every note still reading. A
// directory vault has no KEK: it does nothing.
func TestKeyEpochTurnsWithTheClock(t *testing.T) {
	if _, turned, err := newFixtureOn(t, true, nil).v.KeyEpoch(context.Background()); turned || err != nil {
		t.Fatalf("a directory vault's KeyEpoch: %v, %v; want nothing done", turned, err)
	}
	store, err := pgstore.Open(context.Background(), pgtest.Start(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := newFixtureOn(t, true, store)
	n := f.add(policy.Session, f.alice, content("kept", "a note that lives through the epochs"))
	if r, turned, err := f.v.KeyEpoch(f.ctx); !turned || err != nil || r.Rotated {
		t.Fatalf("KeyEpoch on the day the KEK was made: %+v, %v, %v; want nothing due", r, turned, err)
	}
	f.clock.Advance(kek.DefaultEvery)
	r, _, err := f.v.KeyEpoch(f.ctx)
	if err != nil || !r.Rotated || r.Rewrapped == 0 || r.Destroyed != 0 {
		t.Fatalf("a day later: %+v, %v; want a rotation that re-wraps the live keys", r, err)
	}
	f.clock.Advance(kek.DefaultWindow)
	if r, _, err = f.v.KeyEpoch(f.ctx); err != nil || r.Destroyed == 0 {
		t.Fatalf("a window later: %+v, %v; want the retired version destroyed", r, err)
	}
	f.close()
	f.open()
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatalf("the note after the epochs: %v", err)
	}
}
