package policy

import (
	"testing"
	"time"
)

func closedTerms() Terms {
	t := terms()
	t.Closed, t.ClosedBy = t0.Add(-time.Hour+30*time.Minute), "bob"
	return t
}

func TestCloseAgreement(t *testing.T) {
	open, closed := terms(), closedTerms()
	for _, tc := range []struct {
		name  string
		d     Decision
		out   Outcome
		rule  string
		cause string
	}{
		{"mentor closes", CloseAgreement("alice", open), Allow, "close", ""},
		{"mentee closes", CloseAgreement("bob", open), Allow, "close", ""},
		{"supervisor refused", CloseAgreement("carol", open), Deny, "not-party",
			"only the mentor (alice) or the mentee (bob) can close agreement a-1; carol is one of its supervisors"},
		{"outsider refused", CloseAgreement("dave", open), Deny, "not-party", ""},
		{"nobody refused", CloseAgreement("", open), Deny, "not-party", ""},
		{"twice refused", CloseAgreement("alice", closed), Deny, "already-closed",
			"agreement a-1 was already closed on 2026-06-01T09:30Z by bob"},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.d, tc.out, tc.rule, tc.cause, "-") })
	}
}

// Every action that adds to a relationship is refused once it is closed,
// naming when and by whom; the same actions are allowed on the open terms
// (the negative control).
func TestClosedRefuses(t *testing.T) {
	const by = "agreement a-1 was closed on 2026-06-01T09:30Z by bob: "
	open, closed := terms(), closedTerms()
	of := func(t Terms) Facts { f := facts(); f.Terms = t; return f }
	grantOn := func(t Terms) Decision { d, _ := GrantAccess("alice", "carol", []Kind{Summary}, of(t), t0); return d }
	for _, tc := range []struct {
		name     string
		run      func(Terms) Decision
		openRule string
		reason   string
	}{
		{"write", func(t Terms) Decision { return WriteNote("alice", Session, t) }, "writer", by + "no note is written under it"},
		{"consent", func(t Terms) Decision { return GiveConsent("bob", "carol", []Kind{Summary}, t) }, "consent", by + "no consent is given under it"},
		{"grant", grantOn, "consent", by + "no access is granted under it"},
		{"accept", func(t Terms) Decision { return Accept("bob", t) }, "accept", by + "no version of it is accepted"},
		{"amend", func(t Terms) Decision { return Amend("alice", t) }, "amend", by + "it is not amended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.run(open), Allow, tc.openRule, "", "-")
			check(t, tc.run(closed), Deny, "agreement-closed", tc.reason, "")
		})
	}
}

// A grant ends with the close: reads through it are denied, explaining the
// close; before the close it was live.
func TestGrantEndsAtClose(t *testing.T) {
	f := facts()
	f.Grants[0].GrantedBy = "bob" // the mentee reads summaries, so may grant them
	check(t, Read("carol", summaryNote, f, t0), Allow, "grant", "", "g-1")
	f.Terms = closedTerms()
	check(t, Read("carol", summaryNote, f, t0), Deny, "agreement-closed",
		"grant g-1 ended when agreement a-1 was closed on 2026-06-01T09:30Z by bob", "g-1")
	check(t, GrantLive(f.Grants[0], f, t0), Deny, "agreement-closed", "", "g-1")
	// The parties still read their notes until they are destroyed.
	check(t, Read("bob", summaryNote, f, t0), Allow, "reader", "", "")
	// Before the close took effect the grant still held.
	check(t, Read("carol", summaryNote, f, t0.Add(-45*time.Minute)), Allow, "grant", "", "g-1")
}

func TestAnchoredExpiry(t *testing.T) {
	day := 24 * time.Hour
	closedAt := t0
	own := t0.Add(365 * day)
	for _, tc := range []struct {
		name     string
		expires  time.Time
		closed   time.Time
		after    time.Duration
		want     time.Time
		anchored bool
	}{
		{"open keeps its own", own, time.Time{}, 30 * day, own, false},
		{"no after_close keeps its own", own, closedAt, 0, own, false},
		{"close cuts it short", own, closedAt, 30 * day, closedAt.Add(30 * day), true},
		{"own earlier stays", t0.Add(10 * day), closedAt, 30 * day, t0.Add(10 * day), false},
		{"same instant is not cut", closedAt.Add(30 * day), closedAt, 30 * day, closedAt.Add(30 * day), false},
		{"no expiry gets one", time.Time{}, closedAt, 30 * day, closedAt.Add(30 * day), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, anchored := AnchoredExpiry(tc.expires, Terms{Closed: tc.closed, AfterClose: tc.after})
			if !got.Equal(tc.want) || anchored != tc.anchored {
				t.Errorf("AnchoredExpiry = %v, %v; want %v, %v", got, anchored, tc.want, tc.anchored)
			}
		})
	}
}
