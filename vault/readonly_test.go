package vault

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/kv"
)

// A vault opened read-only reads as any other and refuses every write with
// one sentence, on whatever store (a server's too, with
// NOTEVAULT_TEST_STORE). The control: the same write read-write.
func TestReadOnlyOpenRefusesWrites(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "x"))
	f.close()
	v, err := Open(f.ctx, f.dir, Options{Now: f.clock.Now, Store: f.store, Keyring: f.keys, Payloads: f.payloads, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement})
	if err != nil || len(ns) != 1 || ns[0].ID != n.ID {
		t.Fatalf("listing read-only: %v, %v", ns, err)
	}
	nn := NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "y")}
	if _, err := v.AddNote(f.ctx, nn, f.alice); !errors.Is(err, errReadOnly) {
		t.Fatalf("a write through a read-only open: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	f.open()
	if _, err := f.v.AddNote(f.ctx, nn, f.alice); err != nil {
		t.Fatalf("the same write read-write: %v", err)
	}
}

// A directory's store opened read-only creates no file: badger maps no
// fresh memtable log or value log, which is what made a read-write open
// slow. The control: a read-write open of the same vault does create them.
// The fixture is a directory whatever NOTEVAULT_TEST_STORE says: this is
// about badger's files.
func TestReadOnlyOpenCreatesNoFiles(t *testing.T) {
	f := newFixtureOn(t, true, nil)
	n := f.add(policy.Session, f.alice, content("t", "x"))
	f.close()
	files := func() []string {
		es, err := os.ReadDir(filepath.Join(f.dir, dbDir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	before := files()

	v, err := Open(f.ctx, f.dir, Options{Now: f.clock.Now, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if during := files(); !slices.Equal(during, before) {
		t.Fatalf("a read-only open changed the store's files: %v, then %v", before, during)
	}
	if ns, err := v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement}); err != nil || len(ns) != 1 || ns[0].ID != n.ID {
		t.Fatalf("listing read-only: %v, %v", ns, err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	v, err = Open(f.ctx, f.dir, Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if during := files(); slices.Equal(during, before) {
		t.Fatalf("a read-write open created no log either (%v): the check above proves nothing", during)
	}
	if ns, err := v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement}); err != nil || len(ns) != 1 {
		t.Fatalf("the vault after a read-only open: %v, %v", ns, err)
	}

	// A writer that died with the vault open leaves a memtable log that
	// badger will not open read-only: the read-only open falls back to a
	// read-write one, which replays it, and still refuses writes.
	if _, err := v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "z")}, f.alice); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "vault")
	if out, err := exec.Command("cp", "-a", f.dir, crashed).CombinedOutput(); err != nil {
		t.Fatalf("copying the open vault: %v: %s", err, out)
	}
	os.Remove(filepath.Join(crashed, lockFile))
	c, err := Open(f.ctx, crashed, Options{Now: f.clock.Now, ReadOnly: true})
	if err != nil {
		t.Fatalf("a read-only open after a crash: %v", err)
	}
	defer c.Close()
	if ns, err := c.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement}); err != nil || len(ns) != 2 {
		t.Fatalf("listing after a crash: %d notes, %v; want 2", len(ns), err)
	}
	if err := c.update(func(kv.Txn) error { return nil }); !errors.Is(err, errReadOnly) {
		t.Fatalf("a write after the fallback: %v", err)
	}
}
