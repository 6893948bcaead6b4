package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
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

// A sweep writes its intent to the audit log before it destroys any key. A
// sweep that dies after destroying the keys and before writing the receipts
// leaves the intent on record, and the next sweep writes the receipts.
func TestSweepIntentPrecedesDestruction(t *testing.T) {
	f := newFixture(t, true)
	a := f.add(policy.Reflection, f.bob, content("a", "MARK-a"))
	b := f.add(policy.Reflection, f.bob, content("b", "MARK-b"))
	kept := f.add(policy.Session, f.alice, content("kept", "MARK-kept"))
	f.clock.Advance(91 * 24 * time.Hour)
	afterKeysDestroyed = func() error { return errors.New("killed after destroying the keys") }
	t.Cleanup(func() { afterKeysDestroyed = nil })

	if _, _, err := f.sweep(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("sweep = %v, want the injected failure", err)
	}
	if f.v.keys.Has(a.Bucket) || f.v.keys.Has(b.Bucket) {
		t.Fatal("the failure was injected before the keys were destroyed")
	}
	log, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	sum := sha256.Sum256([]byte(strings.Join(sortedIDs(a.ID, b.ID), "\n") + "\n"))
	if last.Action != "retention.sweep.begin" || last.Actor != ActorRetention || last.Detail["notes"] != "2" ||
		last.Detail["digest"] != "sha256:"+hex.EncodeToString(sum[:]) || last.Agreement != f.agreement {
		t.Fatalf("newest audit record %+v, want the sweep's intent for %s and %s", last, a.ID, b.ID)
	}
	for _, r := range log {
		if r.Action == "note.destroy" {
			t.Fatalf("receipt %+v written although the sweep died before the receipts", r)
		}
	}
	// The notes' records are still there for the next sweep to find.
	if _, err := f.v.GetNote(f.ctx, a.ID); err != nil {
		t.Fatalf("note record after the failure: %v", err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}

	afterKeysDestroyed = nil
	f.close()
	f.open()
	rs, _, err := f.sweep()
	if err != nil || len(rs) != 2 {
		t.Fatalf("next sweep: %v, %v", rs, err)
	}
	log, err = f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var begins []uint64
	receipts := map[string]string{}
	end := false
	for _, r := range log {
		switch r.Action {
		case "retention.sweep.begin":
			begins = append(begins, r.Seq)
		case "note.destroy":
			receipts[r.Subject] = r.Detail["intent"]
		case "retention.sweep.end":
			end = r.Detail["notes"] == "2" && len(begins) == 2 && r.Detail["intent"] == strconv.FormatUint(begins[1], 10)
		}
	}
	if len(begins) != 2 {
		t.Fatalf("intent records at %v, want two (the failed sweep's and the next one's)", begins)
	}
	second := strconv.FormatUint(begins[1], 10)
	if receipts[a.ID] != second || receipts[b.ID] != second || len(receipts) != 2 || !end {
		t.Fatalf("receipts %v (want both under intent %s) and end %v", receipts, second, end)
	}
	for _, id := range []string{a.ID, b.ID} {
		if _, err := f.v.GetNote(f.ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s survived the second sweep: %v", id, err)
		}
	}
	if _, err := f.v.GetNote(f.ctx, kept.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}
}

// A deletion by a person writes its intent too, signed like the receipt.
func TestDeleteWritesIntent(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Reflection, f.bob, content("n", "MARK-n"))
	if _, err := f.v.DeleteNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatal(err)
	}
	log, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) < 2 {
		t.Fatalf("log: %+v", log)
	}
	begin, receipt := log[len(log)-2], log[len(log)-1]
	if begin.Action != "note.delete.begin" || begin.Actor != "bob" || begin.Subject != n.ID || len(begin.Sig) == 0 ||
		receipt.Action != "note.destroy" || receipt.Detail["intent"] != strconv.FormatUint(begin.Seq, 10) {
		t.Fatalf("delete wrote %+v then %+v", begin, receipt)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}
}

func sortedIDs(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

// LastActivity follows what people do and what a sweep vouches for, never
// the times of the sweep's own records once a sweep has marked the log.
func TestLastActivity(t *testing.T) {
	f := newFixture(t, true)
	last := func() time.Time {
		t.Helper()
		got, err := f.v.LastActivity(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	n := f.add(policy.Reflection, f.bob, content("n", "n"))
	if got := last(); !got.Equal(n.Created) {
		t.Fatalf("after a note was written: %v, want %v", got, n.Created)
	}

	// A sweep that vouches for its clock moves the mark on.
	f.clock.Advance(24 * time.Hour)
	swept := f.v.Now()
	if err := f.v.MarkSwept(f.ctx, swept); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(swept) {
		t.Fatalf("after a trusted sweep: %v, want %v", got, swept)
	}

	// The sweep's own records do not count, and a sweep that vouches for
	// nothing leaves the mark where it was.
	f.clock.Set(n.Expires.Add(time.Hour))
	if rs, _, err := f.sweep(); err != nil || len(rs) != 1 {
		t.Fatalf("sweep: %v, %v", rs, err)
	}
	if err := f.v.MarkSwept(f.ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(swept) {
		t.Fatalf("after an untrusted sweep that destroyed a note: %v, want %v", got, swept)
	}

	// A person acting counts again.
	f.clock.Advance(time.Hour)
	m := f.add(policy.Reflection, f.bob, content("m", "m"))
	if got := last(); !got.Equal(m.Created) {
		t.Fatalf("after another note: %v, want %v", got, m.Created)
	}
	// A mark never moves back.
	if err := f.v.MarkSwept(f.ctx, swept); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(m.Created) {
		t.Fatalf("after marking an older time: %v, want %v", got, m.Created)
	}
}
