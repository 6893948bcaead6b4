package vault

import (
	"errors"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// bigBucket imports n notes: an import files every note of the hour in one
// shred-key bucket.
func bigBucket(t *testing.T, f *fixture, n int) []ImportedNote {
	t.Helper()
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := im.Add(f.ctx, importItems(n, "BIGBUCKET"))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Deleting one note early from a bucket of thousands re-wraps all the others
// in transactions the store can take (one transaction could not: the first
// version failed "too large for one transaction" at 3,000), and destroys the
// old key.
func TestDeleteFromABigBucket(t *testing.T) {
	f := newFixture(t, true)
	got := bigBucket(t, f, 3000)
	n, err := f.v.GetNote(f.ctx, got[0].Note)
	if err != nil {
		t.Fatal(err)
	}
	old := n.Bucket
	start := time.Now()
	if _, err := f.v.DeleteNote(f.ctx, got[0].Note, f.alice); err != nil {
		t.Fatalf("DeleteNote in a bucket of 3,000: %v", err)
	}
	t.Logf("deleting one note of a bucket of 3,000 took %v", time.Since(start).Round(time.Millisecond))
	if f.v.keys.Has(old) {
		t.Fatalf("the old bucket's key %s survived the deletion", old)
	}
	for _, i := range []int{1, 1500, 2999} {
		if _, err := f.v.ReadNote(f.ctx, got[i].Note, f.bob); err != nil {
			t.Fatalf("note %d after the re-wrap: %v", i, err)
		}
	}
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("check after the re-wrap: %v", err)
	}
}

// A re-wrap interrupted part way (a crash) leaves every surviving note
// readable and the deleted one gone from the store; the old key lives until
// Housekeep (run by the sweep and the maintenance) finishes the move and
// destroys it.
func TestInterruptedRewrapFinishes(t *testing.T) {
	f := newFixture(t, true)
	got := bigBucket(t, f, 600)
	n, err := f.v.GetNote(f.ctx, got[0].Note)
	if err != nil {
		t.Fatal(err)
	}
	old := n.Bucket
	crash := errors.New("killed")
	afterMoveBatch = func() error { return crash }
	_, err = f.v.DeleteNote(f.ctx, got[0].Note, f.alice)
	afterMoveBatch = nil
	if !errors.Is(err, crash) {
		t.Fatalf("DeleteNote: %v, want the interruption", err)
	}
	f.close()
	f.open()
	// Its copy went in the first transaction (its metadata waits for the
	// deletion's end, as after any interrupted deletion).
	if _, err := f.v.ReadNote(f.ctx, got[0].Note, f.bob); err == nil {
		t.Fatal("the deleted note still reads")
	}
	for _, i := range []int{1, 599} {
		if _, err := f.v.ReadNote(f.ctx, got[i].Note, f.bob); err != nil {
			t.Fatalf("note %d after the interrupted re-wrap: %v", i, err)
		}
	}
	// Control: the interruption left the old key (and members under it).
	if !f.v.keys.Has(old) {
		t.Fatal("control: the old key is gone already; the interruption did not happen where the test thinks")
	}
	if done, err := f.v.Housekeep(f.ctx); err != nil || done < 1 {
		t.Fatalf("Housekeep: %d, %v", done, err)
	}
	if f.v.keys.Has(old) {
		t.Fatal("Housekeep left the old key")
	}
	for _, i := range []int{1, 300, 599} {
		if _, err := f.v.ReadNote(f.ctx, got[i].Note, f.bob); err != nil {
			t.Fatalf("note %d after Housekeep: %v", i, err)
		}
	}
	// Deleting it again finishes the deletion, and the vault checks clean.
	if _, err := f.v.DeleteNote(f.ctx, got[0].Note, f.alice); err != nil {
		t.Fatalf("finishing the deletion: %v", err)
	}
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("check: %v", err)
	}
}
