package vault

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/seal"
)

// recoverable closes nothing: it expects a closed vault. It returns every
// marker that anyone holding the given identities could still recover from
// the vault directory: from the raw bytes of every file, and from every
// version of every value badger still returns, opened with every shred key
// that is left and then with every identity.
func recoverable(t *testing.T, dir string, ids []*identity.Identity, markers []string) []string {
	t.Helper()
	found := map[string]bool{}
	check := func(plain []byte) {
		for _, m := range markers {
			if bytes.Contains(plain, []byte(m)) {
				found[m] = true
			}
		}
	}
	// Raw bytes: no plaintext and no bare age file anywhere.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		check(b)
		if i := bytes.Index(b, []byte("age-encryption.org/v1")); i >= 0 {
			t.Errorf("%s holds a bare age header at offset %d: everything must be sealed", p, i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The shred keys that are left.
	keys := map[string][]byte{}
	ents, _ := os.ReadDir(filepath.Join(dir, keysDir))
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".key"); ok {
			b, err := os.ReadFile(filepath.Join(dir, keysDir, e.Name()))
			if err == nil {
				keys[name] = b
			}
		}
	}
	ageIDs := make([]age.Identity, len(ids))
	for i, id := range ids {
		ageIDs[i] = id.AgeIdentity()
	}
	var headers [][]byte
	// Every version of every value, through badger itself, including values
	// of keys that were deleted since.
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, dbDir)).WithLogger(nil).WithNumVersionsToKeep(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.AllVersions = true
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			val, err := item.ValueCopy(nil)
			if err != nil || len(val) == 0 {
				continue
			}
			check(val)
			key := string(item.Key())
			if !strings.HasPrefix(key, pBlob) {
				continue
			}
			var rec blobRec
			if decodeRecord(val, &rec) != nil {
				continue
			}
			blobID := strings.TrimPrefix(key, pBlob)
			k, ok := keys[rec.Bucket]
			if !ok {
				continue
			}
			ageFile, err := seal.Open(k, seal.AD(blobID, rec.Bucket), rec.Sealed)
			if err != nil {
				t.Errorf("blob %s does not open under its live bucket key: %v", blobID, err)
				continue
			}
			if rec.Payload {
				// A large blob's record holds its age header alone: it is
				// tried below with every payload file left.
				headers = append(headers, ageFile)
				continue
			}
			r, err := age.Decrypt(bytes.NewReader(ageFile), ageIDs...)
			if err != nil {
				continue
			}
			plain, _ := io.ReadAll(r)
			check(plain)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every header that still opens, with every payload file there is,
	// whichever blob it is named after.
	payloads, _ := os.ReadDir(filepath.Join(dir, payloadsDir))
	for _, h := range headers {
		for _, e := range payloads {
			b, err := os.ReadFile(filepath.Join(dir, payloadsDir, e.Name()))
			if err != nil {
				continue
			}
			r, err := age.Decrypt(io.MultiReader(bytes.NewReader(h), bytes.NewReader(b)), ageIDs...)
			if err != nil {
				continue
			}
			plain, _ := io.ReadAll(r)
			check(plain)
		}
	}
	var out []string
	for _, m := range markers {
		if found[m] {
			out = append(out, m)
		}
	}
	return out
}

// grantFixture: bob consents that carol sees summaries, alice grants it for
// 72h, and there is a summary from before the grant and one from during it.
func grantFixture(t *testing.T, noDestroy bool) (f *fixture, grant *policy.Grant, consent *policy.Consent, markers []string) {
	f = newFixture(t, true)
	setNoDestroy(f.v, noDestroy)
	before := f.add(policy.Summary, f.alice, content("MARK-before-title", "MARK-before-body"))
	c, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob)
	if err != nil {
		t.Fatalf("GiveConsent: %v", err)
	}
	g, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 72*time.Hour, f.alice)
	if err != nil {
		t.Fatalf("AddGrant: %v", err)
	}
	if copied != 1 {
		t.Fatalf("grant copied %d notes, want 1", copied)
	}
	during := f.add(policy.Summary, f.alice, content("MARK-during-title", "MARK-during-body"))
	for _, n := range []*Note{before, during} {
		p, err := f.v.ReadNote(f.ctx, n.ID, f.carol)
		if err != nil {
			t.Fatalf("carol reads %s during the grant: %v", n.ID, err)
		}
		if !strings.HasPrefix(string(p.Content.Body), "MARK-") {
			t.Fatalf("carol read %q", p.Content.Body)
		}
	}
	// A session note and a reflection stay out of carol's reach throughout.
	s := f.add(policy.Session, f.alice, content("sess", "session body"))
	if _, err := f.v.ReadNote(f.ctx, s.ID, f.carol); err == nil {
		t.Fatal("carol read a session note the consent does not cover")
	}
	return f, g, c, []string{"MARK-before-title", "MARK-before-body", "MARK-during-title", "MARK-during-body"}
}

func TestSupervisorCopiesAreDestroyed(t *testing.T) {
	end := map[string]func(f *fixture, g *policy.Grant, c *policy.Consent){
		"expiry and sweep": func(f *fixture, g *policy.Grant, c *policy.Consent) {
			f.clock.Set(g.Expires.Add(time.Second))
			ended, err := f.v.SweepGrants(f.ctx)
			if err != nil || len(ended) != 1 || ended[0] != g.ID {
				t.Fatalf("SweepGrants = %v, %v; want [%s]", ended, err, g.ID)
			}
		},
		"revoke": func(f *fixture, g *policy.Grant, c *policy.Consent) {
			if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
				t.Fatalf("RevokeGrant: %v", err)
			}
		},
		"consent withdrawn": func(f *fixture, g *policy.Grant, c *policy.Consent) {
			if err := f.v.WithdrawConsent(f.ctx, c.ID, f.bob); err != nil {
				t.Fatalf("WithdrawConsent: %v", err)
			}
		},
	}
	for name, endIt := range end {
		t.Run(name, func(t *testing.T) {
			f, g, c, markers := grantFixture(t, false)
			endIt(f, g, c)
			notes, err := f.v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement, Kind: policy.Summary})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range notes {
				if _, err := f.v.ReadNote(f.ctx, n.ID, f.carol); err == nil {
					t.Fatalf("carol still reads %s after the grant ended", n.ID)
				}
				// The readers the agreement names keep their notes.
				if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
					t.Fatalf("bob lost %s when carol's grant ended: %v", n.ID, err)
				}
			}
			f.close()
			if got := recoverable(t, f.dir, []*identity.Identity{f.carol}, markers); len(got) != 0 {
				t.Fatalf("carol's key still opens %v in the vault's files", got)
			}
		})
	}
}

// The negative control: with key destruction turned off, the same scan finds
// what carol's copies held. Without this, the test above could pass by
// scanning nothing.
func TestSupervisorCopiesNegativeControl(t *testing.T) {
	f, g, _, markers := grantFixture(t, true)
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	f.close()
	if got := recoverable(t, f.dir, []*identity.Identity{f.carol}, markers); len(got) != len(markers) {
		t.Fatalf("with destruction off the scan recovered only %v of %v: the scan is blind", got, markers)
	}
}

func retentionFixture(t *testing.T, noDestroy bool) (f *fixture, doomed, held, kept *Note) {
	f = newFixture(t, true)
	setNoDestroy(f.v, noDestroy)
	// The agreement keeps reflections 90d, summaries 180d, sessions 365d.
	doomed = f.add(policy.Reflection, f.bob, content("MARK-doomed-title", "MARK-doomed-body"))
	held = f.add(policy.Reflection, f.bob, content("MARK-held-title", "MARK-held-body"))
	kept = f.add(policy.Session, f.alice, content("MARK-kept-title", "MARK-kept-body"))
	if _, err := f.v.AddHold(f.ctx, "", held.ID, "litigation", f.alice); err != nil {
		t.Fatalf("AddHold: %v", err)
	}
	f.clock.Advance(91 * 24 * time.Hour)
	destroyed, heldNow, err := f.sweep()
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if len(destroyed) != 1 || destroyed[0].Note != doomed.ID || len(heldNow) != 1 || heldNow[0].ID != held.ID {
		t.Fatalf("sweep destroyed %v, held %v", destroyed, heldNow)
	}
	return f, doomed, held, kept
}

func TestSweepDestroysForEveryone(t *testing.T) {
	f, doomed, held, kept := retentionFixture(t, false)
	if _, err := f.v.ReadNote(f.ctx, doomed.ID, f.bob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reading a destroyed note: %v, want ErrNotFound", err)
	}
	for _, n := range []*Note{held, kept} {
		author := f.bob
		if n.Kind == policy.Session {
			author = f.alice
		}
		if _, err := f.v.ReadNote(f.ctx, n.ID, author); err != nil {
			t.Fatalf("%s did not survive the sweep: %v", n.ID, err)
		}
	}
	log, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	receipt := false
	for _, r := range log {
		if r.Action == "note.destroy" && r.Subject == doomed.ID && r.Actor == ActorRetention {
			receipt = true
		}
	}
	if !receipt {
		t.Fatal("no destruction receipt in the audit log")
	}
	f.close()
	all := []*identity.Identity{f.alice, f.bob, f.carol}
	if got := recoverable(t, f.dir, all, []string{"MARK-doomed-title", "MARK-doomed-body"}); len(got) != 0 {
		t.Fatalf("a participant's key still opens %v", got)
	}
	// What survives is still there, so the scan would see it.
	if got := recoverable(t, f.dir, all, []string{"MARK-held-body", "MARK-kept-body"}); len(got) != 2 {
		t.Fatalf("surviving notes not found by the scan: %v", got)
	}
	f.open()
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatalf("audit after sweep: %v", err)
	}
}

func TestSweepNegativeControl(t *testing.T) {
	f, _, _, _ := retentionFixture(t, true)
	f.close()
	all := []*identity.Identity{f.alice, f.bob, f.carol}
	if got := recoverable(t, f.dir, all, []string{"MARK-doomed-body"}); len(got) != 1 {
		t.Fatal("with destruction off the scan did not recover the deleted note: the scan is blind")
	}
}

func TestDeleteNoteRewrapsItsBucket(t *testing.T) {
	f := newFixture(t, true)
	a := f.add(policy.Reflection, f.bob, content("MARK-a", "MARK-a-body"))
	b := f.add(policy.Reflection, f.bob, content("MARK-b", "MARK-b-body")) // same expiry hour: same bucket
	if _, err := f.v.DeleteNote(f.ctx, a.ID, f.alice); err == nil {
		t.Fatal("alice deleted bob's reflection")
	}
	if _, err := f.v.DeleteNote(f.ctx, a.ID, f.bob); err != nil {
		t.Fatalf("DeleteNote: %v", err)
	}
	if p, err := f.v.ReadNote(f.ctx, b.ID, f.bob); err != nil || string(p.Content.Body) != "MARK-b-body" {
		t.Fatalf("the bucket's other note: %v", err)
	}
	f.close()
	if got := recoverable(t, f.dir, []*identity.Identity{f.bob}, []string{"MARK-a-body", "MARK-b-body"}); len(got) != 1 || got[0] != "MARK-b-body" {
		t.Fatalf("recoverable after delete: %v, want only MARK-b-body", got)
	}
}

// A sweep killed after destroying a bucket's key but before deleting the
// records leaves notes that can no longer be read; the next sweep finishes
// the job and leaves the receipts.
func TestSweepCompletesAfterInterruption(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Reflection, f.bob, content("MARK-x", "MARK-x-body"))
	f.clock.Advance(91 * 24 * time.Hour)
	if err := f.v.keys.Destroy(n.Bucket); err != nil { // what the killed sweep got done
		t.Fatal(err)
	}
	orphan := "t-2099010100.orphan"
	if _, err := f.v.keys.Key(nil, orphan, true); err != nil { // a key whose transaction never committed
		t.Fatal(err)
	}
	f.close()
	f.open()
	destroyed, _, err := f.sweep()
	if err != nil || len(destroyed) != 1 || destroyed[0].Note != n.ID {
		t.Fatalf("second sweep: %v, %v", destroyed, err)
	}
	cleaned, err := f.v.Housekeep(f.ctx)
	if err != nil || cleaned != 1 || f.v.keys.Has(orphan) {
		t.Fatalf("Housekeep cleaned %d (%v); orphan left: %v", cleaned, err, f.v.keys.Has(orphan))
	}
	if _, err := f.v.GetNote(f.ctx, n.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("note record survived: %v", err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}
}

// Deletions racing writes into the same bucket: every surviving note still
// opens, every deleted one is gone.
func TestDeleteRacesWrites(t *testing.T) {
	f := newFixture(t, true)
	var first []*Note
	for i := 0; i < 6; i++ {
		first = append(first, f.add(policy.Reflection, f.bob, content("r", "first")))
	}
	done := make(chan []*Note)
	go func() {
		var added []*Note
		for i := 0; i < 6; i++ {
			n, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Reflection, Content: content("r", "second")}, f.bob)
			if err != nil {
				t.Errorf("AddNote during deletes: %v", err)
			}
			added = append(added, n)
		}
		done <- added
	}()
	for _, n := range first[:4] {
		if _, err := f.v.DeleteNote(f.ctx, n.ID, f.bob); err != nil {
			t.Fatalf("DeleteNote: %v", err)
		}
	}
	added := <-done
	for _, n := range append(first[4:], added...) {
		if n == nil {
			continue
		}
		if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
			t.Fatalf("surviving note %s: %v", n.ID, err)
		}
	}
	for _, n := range first[:4] {
		if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted note %s: %v", n.ID, err)
		}
	}
}

// An amendment that drops carol from the supervisors ends her grant once both
// parties accept it, and destroys her copies at once; while only proposed,
// it changes nothing.
func TestNarrowingAmendmentEndsGrants(t *testing.T) {
	f, g, _, markers := grantFixture(t, false)
	narrowed := strings.Replace(string(f.text), "supervisors: [carol]", "supervisors: []", 1)
	if narrowed == string(f.text) {
		t.Fatal("agreement file has no supervisors: [carol] line")
	}
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, []byte(narrowed), f.alice); err != nil {
		t.Fatalf("AmendAgreement: %v", err)
	}
	notes, _ := f.v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement, Kind: policy.Summary})
	if _, err := f.v.ReadNote(f.ctx, notes[0].ID, f.carol); err != nil {
		t.Fatalf("a proposed amendment already ended the grant: %v", err)
	}
	f.accept(f.bob)
	if _, err := f.v.ReadNote(f.ctx, notes[0].ID, f.carol); err == nil {
		t.Fatalf("carol still reads under grant %s after the narrowing amendment", g.ID)
	}
	f.close()
	if got := recoverable(t, f.dir, []*identity.Identity{f.carol}, markers); len(got) != 0 {
		t.Fatalf("carol's key still opens %v", got)
	}
}
