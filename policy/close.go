package policy

import (
	"fmt"
	"time"
)

// The end of a relationship: either party closes the agreement, and from
// then on nothing is written, consented to, granted, amended or accepted
// under it; grants end, and notes expire no later than the close plus
// AfterClose.

// CloseAgreement decides whether who may close the agreement: its mentor or
// its mentee, either one alone (nobody can be held in a mentoring
// relationship), once.
func CloseAgreement(who string, t Terms) Decision {
	if who == "" || (who != t.Mentor && who != t.Mentee) {
		return deny("not-party", "", "only the mentor (%s) or the mentee (%s) can close agreement %s; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	if !t.Closed.IsZero() {
		return deny("already-closed", "", "agreement %s was already %s", t.Agreement, t.closedPhrase())
	}
	return allow("close", "", "%s and may end it", t.describe(who))
}

// closedPhrase is "closed on 2026-11-23T21:40Z by alice".
func (t Terms) closedPhrase() string {
	s := "closed on " + FormatTime(t.Closed)
	if t.ClosedBy != "" {
		s += " by " + t.ClosedBy
	}
	return s
}

// closedClause is "agreement a-1 was closed on ... by ...".
func (t Terms) closedClause() string {
	return fmt.Sprintf("agreement %s was %s", t.Agreement, t.closedPhrase())
}

// closedDenial is the denial of an action refused because the agreement is
// closed; ok is false while it is open.
func (t Terms) closedDenial(what string) (d Decision, ok bool) {
	if t.Closed.IsZero() {
		return Decision{}, false
	}
	return deny("agreement-closed", "", "%s: %s", t.closedClause(), what), true
}

// AnchoredExpiry is when a note that expires at expires by its own
// retention is destroyed under terms t: the earlier of its own expiry and
// the close plus AfterClose. anchored reports that the close cut it short.
// An open agreement, or one without after_close, keeps the note's own.
func AnchoredExpiry(expires time.Time, t Terms) (due time.Time, anchored bool) {
	if t.Closed.IsZero() || t.AfterClose <= 0 {
		return expires, false
	}
	anchor := t.Closed.Add(t.AfterClose)
	if expires.IsZero() || anchor.Before(expires) {
		return anchor, true
	}
	return expires, false
}
