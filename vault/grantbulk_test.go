package vault

import (
	"fmt"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// manySummaries imports n summaries by alice.
func (f *fixture) manySummaries(n int) []string {
	f.t.Helper()
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Summary, f.alice)
	if err != nil {
		f.t.Fatal(err)
	}
	items := make([]Content, n)
	for i := range items {
		items[i] = content(fmt.Sprintf("summary %d", i), fmt.Sprintf("MARK-summary-%d %0900d", i, i))
	}
	got, err := im.Add(f.ctx, items)
	if err != nil {
		f.t.Fatal(err)
	}
	ids := make([]string, len(got))
	for i, g := range got {
		ids[i] = g.Note
	}
	return ids
}

// A grant over more summaries than one transaction holds copies them all,
// in batches; revoking it and closing the agreement destroy them all.
func TestGrantOverManyNotes(t *testing.T) {
	f := newFixture(t, true)
	ids := f.manySummaries(700)
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	g, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 24*time.Hour, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if copied != len(ids) {
		t.Fatalf("copied %d of %d", copied, len(ids))
	}
	for _, id := range []string{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
		if body, err := f.readBody(id, f.carol); err != nil || body[:13] != "MARK-summary-" {
			t.Fatalf("carol reads %s: %.20q, %v", id, body, err)
		}
	}
	f.checkClean2()
	f.clock.Advance(time.Second)
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.readBody(ids[0], f.carol); err == nil {
		t.Fatal("carol reads after the revocation")
	}
	f.checkClean2()
}

// Closing an agreement ends a grant over many notes and destroys every copy;
// so does the end of a grant's time, at the next sweep of grants.
func TestGrantOverManyNotesEnds(t *testing.T) {
	for _, how := range []string{"close", "expiry"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t, true)
			ids := f.manySummaries(700)
			if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
			if _, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 24*time.Hour, f.alice); err != nil || copied != len(ids) {
				t.Fatalf("grant: %d copies, %v", copied, err)
			}
			switch how {
			case "close":
				f.clock.Advance(time.Second)
				if _, err := f.v.CloseAgreement(f.ctx, f.agreement, "", f.bob); err != nil {
					t.Fatal(err)
				}
			case "expiry":
				f.clock.Advance(25 * time.Hour)
				if _, err := f.v.SweepGrants(f.ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.readBody(ids[len(ids)-1], f.carol); err == nil {
				t.Fatal("carol still reads")
			}
			f.checkClean2()
		})
	}
}

// A grant batch too large for one transaction is split and tried again; the
// shred key the failed attempt made for the grant's bucket must not be left
// behind (check would report it as an orphan, as if the store had been
// edited outside notevault).
func TestGrantSplitLeavesNoOrphanKey(t *testing.T) {
	f := newFixture(t, true)
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Summary, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]Content, 300)
	for i := range items {
		items[i] = content(fmt.Sprintf("summary %d", i), fmt.Sprintf("MARK-summary-%d %08000d", i, i))
	}
	if _, err := im.Add(f.ctx, items); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 24*time.Hour, f.alice); err != nil || copied != 300 {
		t.Fatalf("AddGrant: %d copied, %v", copied, err)
	}
	f.checkClean2()
}
