package vault

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// The index lists what is filed by a time, with each note's metadata; an
// entry whose note is gone comes back without metadata.
func TestExpiryIndex(t *testing.T) {
	f := newFixture(t, true)
	r := f.add(policy.Reflection, f.bob, content("r", "r"))
	s := f.add(policy.Session, f.alice, content("s", "s"))
	all, err := f.v.ExpiryIndex(f.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Note != r.ID || all[1].Note != s.ID || all[0].Meta == nil || all[0].At.Unix() != r.Expires.Unix() {
		t.Fatalf("whole index: %+v", all)
	}
	upTo, err := f.v.ExpiryIndex(f.ctx, r.Expires)
	if err != nil || len(upTo) != 1 || upTo[0].Note != r.ID {
		t.Fatalf("index up to the reflection's expiry: %+v, %v", upTo, err)
	}
	f.close()
	withBadger(t, f.dir, func(db *badgerDB) { rawDelete(t, db, pNote+r.ID) })
	f.open()
	all, err = f.v.ExpiryIndex(f.ctx, time.Time{})
	if err != nil || len(all) != 2 || all[0].Note != r.ID || all[0].Meta != nil {
		t.Fatalf("index with a note gone: %+v, %v", all, err)
	}
}

// SweepNotes carries out a plan but checks it against the store first: a
// plan that would destroy a held note or one not yet due is refused whole,
// before anything is destroyed.
func TestSweepNotesRefusesAWrongPlan(t *testing.T) {
	f := newFixture(t, true)
	due := f.add(policy.Reflection, f.bob, content("due", "MARK-due"))
	held := f.add(policy.Reflection, f.bob, content("held", "MARK-held"))
	notYet := f.add(policy.Session, f.alice, content("later", "MARK-later"))
	if _, err := f.v.AddHold(f.ctx, "", held.ID, "court order", f.alice); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(91 * 24 * time.Hour)
	before, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, wrong := range map[string]*Note{"held": held, "not due": notYet} {
		_, err := f.v.SweepNotes(f.ctx, []Due{{Note: due.ID, Rule: "retention.reflection:90d"}, {Note: wrong.ID, Rule: "r"}})
		if err == nil || !strings.Contains(err.Error(), wrong.ID) {
			t.Fatalf("%s: SweepNotes = %v, want a refusal naming %s", name, err, wrong.ID)
		}
	}
	after, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("a refused sweep wrote %d audit records", len(after)-len(before))
	}
	if p, err := f.v.ReadNote(f.ctx, held.ID, f.bob); err != nil || string(p.Content.Body) != "MARK-held" {
		t.Fatalf("held note after a refused sweep: %v", err)
	}
	// The due note was not touched either: the right plan still destroys it.
	rs, err := f.v.SweepNotes(f.ctx, []Due{{Note: due.ID, Rule: "retention.reflection:90d"}})
	if err != nil || len(rs) != 1 || rs[0].Rule != "retention.reflection:90d" {
		t.Fatalf("SweepNotes = %v, %v", rs, err)
	}
	// A note already gone is skipped.
	if rs, err := f.v.SweepNotes(f.ctx, []Due{{Note: due.ID, Rule: "retention.reflection:90d"}}); err != nil || len(rs) != 0 {
		t.Fatalf("sweeping a destroyed note again: %v, %v", rs, err)
	}
	if _, err := f.v.GetNote(f.ctx, due.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("due note: %v", err)
	}
}
