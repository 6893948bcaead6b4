package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
)

func importItems(n int, prefix string) []Content {
	out := make([]Content, n)
	for i := range out {
		out[i] = content(fmt.Sprintf("%s title %d", prefix, i), fmt.Sprintf("%s body %d\n", prefix, i), "imported")
	}
	return out
}

// An import writes notes that read back, verify and are logged exactly as
// AddNote's are, across several transactions.
func TestImportWritesVerifiedNotes(t *testing.T) {
	f := newFixture(t, true)
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	items := importItems(ImportBatch*2+5, "IMPORTMARKERq9")
	got, err := im.Add(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d results for %d items", len(got), len(items))
	}
	for _, r := range []int{0, ImportBatch, len(items) - 1} {
		if got[r].Already {
			t.Fatalf("item %d reported as already imported", r)
		}
		for _, reader := range []*identity.Identity{f.alice, f.bob} {
			p, err := f.v.ReadNote(f.ctx, got[r].Note, reader)
			if err != nil {
				t.Fatalf("reading item %d: %v", r, err)
			}
			if p.Content.Title != items[r].Title || !bytes.Equal(p.Content.Body, items[r].Body) ||
				strings.Join(p.Content.Tags, ",") != "imported" || p.Note.Author != "alice" {
				t.Fatalf("item %d reads back as %+v", r, p.Content)
			}
		}
	}
	notes, err := f.v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement})
	if err != nil || len(notes) != len(items) {
		t.Fatalf("listed %d notes (%v), want %d", len(notes), err, len(items))
	}
	recs, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	adds := 0
	for _, r := range recs {
		if r.Action == "note.add" && r.Detail["via"] == "import" {
			adds++
		}
	}
	if adds != len(items) {
		t.Fatalf("%d note.add records for %d imported notes", adds, len(items))
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := f.v.Check(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Notes != len(items) {
		t.Fatalf("check counted %d notes, want %d", rep.Notes, len(items))
	}
	f.close()
	assertNoPlaintext(t, f.dir, [][]byte{[]byte("IMPORTMARKERq9")})
}

// Running the same import again, in a new process, writes nothing twice;
// identical items are distinct notes and stay so.
func TestImportResumes(t *testing.T) {
	f := newFixture(t, true)
	items := importItems(300, "resume")
	items[7] = items[3] // two identical items: two notes
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	first, err := im.Add(f.ctx, items[:200]) // "interrupted" after 200 items
	if err != nil {
		t.Fatal(err)
	}
	f.close()
	f.open()
	f.clock.Advance(time.Minute)
	im, err = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	second, err := im.Add(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range second {
		if want := i < 200; r.Already != want {
			t.Fatalf("item %d: already=%v, want %v", i, r.Already, want)
		}
		if i < 200 && r.Note != first[i].Note {
			t.Fatalf("item %d resumed as %s, first written as %s", i, r.Note, first[i].Note)
		}
	}
	if second[3].Note == second[7].Note {
		t.Fatal("identical items 3 and 7 share one note")
	}
	notes, err := f.v.ListNotes(f.ctx, NoteFilter{})
	if err != nil || len(notes) != len(items) {
		t.Fatalf("%d notes after resuming (%v), want %d", len(notes), err, len(items))
	}
	// A third identical item was not in the first run: it is new.
	im, _ = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	third, err := im.Add(f.ctx, append(items[:8:8], items[3]))
	if err != nil {
		t.Fatal(err)
	}
	if third[8].Already || !third[7].Already {
		t.Fatalf("third run: %+v", third)
	}
}

// Marks are bound to the importer: another author importing the same items
// writes them, and a mark copied from another item is not trusted.
func TestImportMarksAreAuthenticated(t *testing.T) {
	f := newFixture(t, true)
	items := importItems(2, "marks")
	im, _ := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	first, err := im.Add(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	// Bob imports the same content: his marks are his own.
	imBob, err := f.v.NewImport(f.ctx, f.agreement, policy.Reflection, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	bobs, err := imBob.Add(f.ctx, items)
	if err != nil || bobs[0].Already || bobs[1].Already {
		t.Fatalf("bob's import: %+v, %v", bobs, err)
	}
	// An insider swaps alice's two marks: each now names the other item's
	// note, so neither tag checks out and both items are imported again.
	im, _ = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	k0, k1 := im.markKey(im.mac(&items[0])), im.markKey(im.mac(&items[1]))
	f.close()
	withBadger(t, f.dir, func(db *badgerDB) {
		v0, v1 := rawGet(t, db, k0), rawGet(t, db, k1)
		rawSet(t, db, k0, v1)
		rawSet(t, db, k1, v0)
	})
	f.open()
	// Negative control first: unchanged marks are trusted.
	im, _ = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	got, err := im.Add(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Already || got[1].Already || got[0].Note == first[1].Note || got[1].Note == first[0].Note {
		t.Fatalf("swapped marks were trusted: %+v (first run %+v)", got, first)
	}
	im, _ = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	again, err := im.Add(f.ctx, items)
	if err != nil || !again[0].Already || again[0].Note != got[0].Note {
		t.Fatalf("rewritten marks not trusted: %+v, %v", again, err)
	}
}

// A note deleted since the first run is imported again: no duplicate, and
// nothing revived from the deleted one.
func TestImportAfterDeletion(t *testing.T) {
	f := newFixture(t, true)
	items := importItems(3, "deleted")
	im, _ := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	first, err := im.Add(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.DeleteNote(f.ctx, first[1].Note, f.alice); err != nil {
		t.Fatal(err)
	}
	im, _ = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	got, err := im.Add(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Already || got[1].Already || !got[2].Already || got[1].Note == first[1].Note {
		t.Fatalf("after deleting item 1: %+v", got)
	}
}

// Bad content or a denied writer writes nothing at all.
func TestImportRefusesWholeBatch(t *testing.T) {
	f := newFixture(t, true)
	items := importItems(5, "bad")
	items[3].Title = "two\nlines"
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Add(f.ctx, items); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "item 4") {
		t.Fatalf("bad title: %v", err)
	}
	items[3] = Content{Title: "empty"}
	if _, err := im.Add(f.ctx, items); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty body: %v", err)
	}
	// Carol supervises: she may not write session notes.
	var de *DeniedError
	if _, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.carol); !errors.As(err, &de) {
		t.Fatalf("carol importing: %v", err)
	}
	notes, err := f.v.ListNotes(f.ctx, NoteFilter{})
	if err != nil || len(notes) != 0 {
		t.Fatalf("%d notes after refused imports (%v)", len(notes), err)
	}
	// A cancelled context stops before the next transaction.
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := im.Add(ctx, importItems(2, "cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
}

// A grant made before the import covers the imported notes as it covers
// added ones: the supervisor reads them through their copy.
func TestImportCopiesForGrants(t *testing.T) {
	f := newFixture(t, true)
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Summary, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := im.Add(f.ctx, importItems(3, "granted"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.v.ReadNote(f.ctx, got[2].Note, f.carol)
	if err != nil || string(p.Content.Body) != "granted body 2\n" {
		t.Fatalf("carol reading an imported summary under her grant: %v", err)
	}
	// Negative control: sessions are not granted to her.
	im, _ = f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	sess, err := im.Add(f.ctx, importItems(1, "session"))
	if err != nil {
		t.Fatal(err)
	}
	var de *DeniedError
	if _, err := f.v.ReadNote(f.ctx, sess[0].Note, f.carol); !errors.As(err, &de) {
		t.Fatalf("carol reading an imported session: %v", err)
	}
}

// assertNoPlaintext fails if any file under dir holds one of markers.
func assertNoPlaintext(t *testing.T, dir string, markers [][]byte) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := containsAny(b, markers); m != nil {
			t.Errorf("%s contains plaintext %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	withBadger(t, dir, func(db *badgerDB) {
		scanAllVersions(t, db, func(key, val []byte) {
			if m := containsAny(append(key, val...), markers); m != nil {
				t.Errorf("record %q contains plaintext %q", key, m)
			}
		})
	})
}

// An imported note's mark (a keyed digest of its content, kept to resume an
// import) is destroyed with the note, by deletion or by the sweep; a mark
// left by an older release is removed by Housekeep.
func TestImportMarkGoesWithItsNote(t *testing.T) {
	f := newFixture(t, true)
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := im.Add(f.ctx, []Content{content("a", "MARK-a"), content("b", "MARK-b"), content("c", "MARK-c")})
	if err != nil {
		t.Fatal(err)
	}
	marks := func() int {
		n := 0
		if err := f.v.view(func(txn kv.Txn) error {
			return scanKeys(txn, pImport, func(string) error { n++; return nil })
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := marks(); n != 3 {
		t.Fatalf("control: %d marks after importing 3 notes", n)
	}
	f.clock.Advance(time.Second)
	if _, err := f.v.DeleteNote(f.ctx, got[0].Note, f.bob); err != nil {
		t.Fatal(err)
	}
	if n := marks(); n != 2 {
		t.Fatalf("%d marks after deleting one of 3 imported notes", n)
	}
	// A note whose record does not name its mark (imported by an older
	// release) leaves it behind; Housekeep removes it.
	if err := f.v.update(func(txn kv.Txn) error {
		var rec noteRec
		if err := get(txn, pNote+got[1].Note, &rec); err != nil {
			return err
		}
		rec.Mark = ""
		return put(txn, pNote+got[1].Note, &rec)
	}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.v.DeleteNote(f.ctx, got[1].Note, f.bob); err != nil {
		t.Fatal(err)
	}
	if n := marks(); n != 2 {
		t.Fatalf("control: %d marks, want the old note's left behind", n)
	}
	if _, err := f.v.Housekeep(f.ctx); err != nil {
		t.Fatal(err)
	}
	if n := marks(); n != 1 {
		t.Fatalf("%d marks after Housekeep, want only the live note's", n)
	}
	f.checkClean2()
}
