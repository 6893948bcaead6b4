package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0  = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	end = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) // grant and consent end
)

func terms() Terms {
	return Terms{
		Agreement:   "a-1",
		Version:     1,
		Mentor:      "alice",
		Mentee:      "bob",
		Supervisors: []string{"carol"},
		Readers:     DefaultReaders(),
		Exceptions:  []string{"risk-of-harm", "legal-obligation"},
		Retention:   map[Kind]time.Duration{Session: 365 * 24 * time.Hour},
	}
}

func consent() Consent {
	return Consent{ID: "c-1", Agreement: "a-1", Version: 1, Grantor: "bob", Grantee: "carol",
		Kinds: []Kind{Summary}, GivenAt: t0.Add(-2 * time.Hour), Until: end, Verified: true}
}

func grant() Grant {
	return Grant{ID: "g-1", Agreement: "a-1", Consent: "c-1", GrantedBy: "alice", Grantee: "carol",
		Kinds: []Kind{Summary}, Issued: t0.Add(-time.Hour), Expires: end, Verified: true}
}

func facts() Facts {
	return Facts{Terms: terms(), Consents: []Consent{consent()}, Grants: []Grant{grant()}}
}

var (
	sessionNote = Note{ID: "n-1", Agreement: "a-1", Version: 1, Kind: Session, Author: "alice",
		Created: t0.Add(-24 * time.Hour), Expires: t0.Add(365 * 24 * time.Hour), Readers: []string{"alice", "bob"}}
	reflectionNote = Note{ID: "n-2", Agreement: "a-1", Version: 1, Kind: Reflection, Author: "bob",
		Created: t0.Add(-24 * time.Hour), Expires: t0.Add(90 * 24 * time.Hour), Readers: []string{"bob"}}
	summaryNote = Note{ID: "n-3", Agreement: "a-1", Version: 1, Kind: Summary, Author: "alice",
		Created: t0.Add(-24 * time.Hour), Readers: []string{"alice", "bob"}}
)

func check(t *testing.T, d Decision, out Outcome, rule, reason, basis string) {
	t.Helper()
	if d.Outcome != out || d.Rule != rule || (reason != "" && d.Reason != reason) || (basis != "-" && d.Basis != basis) {
		t.Errorf("got  %v rule=%q basis=%q reason=%q\nwant %v rule=%q basis=%q reason=%q",
			d.Outcome, d.Rule, d.Basis, d.Reason, out, rule, basis, reason)
	}
	if d.Allowed() != (out == Allow) {
		t.Errorf("Allowed() = %v for outcome %v", d.Allowed(), d.Outcome)
	}
	if d.Reason == "" || strings.HasSuffix(d.Reason, ".") || d.Reason != strings.ToLower(d.Reason[:1])+d.Reason[1:] {
		t.Errorf("reason %q: want non-empty, lowercase start, no trailing period", d.Reason)
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name   string
		who    string
		note   Note
		facts  func(*Facts)
		now    time.Time
		out    Outcome
		rule   string
		reason string
		basis  string
	}{
		// a grant shares only what its granter reads
		{name: "grant by the mentee opens a summary sealed to the mentee", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Grants[0].GrantedBy = "bob" },
			out:   Allow, rule: "grant", basis: "g-1"},
		{name: "grant by the mentee does not open a summary sealed to its author alone", who: "carol",
			note:  Note{ID: "n-4", Agreement: "a-1", Version: 1, Kind: Summary, Author: "alice", Created: t0.Add(-time.Hour), Readers: []string{"alice"}},
			facts: func(f *Facts) { f.Grants[0].GrantedBy = "bob" },
			out:   Deny, rule: "grant-not-granters", basis: "g-1",
			reason: "grant g-1 shares only what bob, who made it, reads; note n-4 is sealed to alice"},
		{name: "grant by the author opens a summary sealed to its author alone", who: "carol",
			note: Note{ID: "n-4", Agreement: "a-1", Version: 1, Kind: Summary, Author: "alice", Created: t0.Add(-time.Hour), Readers: []string{"alice"}},
			out:  Allow, rule: "grant", basis: "g-1"},
		// default readers
		{name: "mentee reads session note (PRODUCT allowed example)", who: "bob", note: sessionNote,
			out: Allow, rule: "reader", reason: "bob is the mentee of agreement a-1; session notes are read by mentor, mentee"},
		{name: "mentor reads own session note", who: "alice", note: sessionNote,
			out: Allow, rule: "reader", reason: "alice is the mentor of agreement a-1; session notes are read by mentor, mentee"},
		{name: "author reads own reflection", who: "bob", note: reflectionNote,
			out: Allow, rule: "reader", reason: "bob is the author; reflections are private to their author"},
		{name: "author reads own summary", who: "alice", note: summaryNote,
			out: Allow, rule: "reader", reason: "alice is the author; summaries are read by author, mentee"},
		{name: "mentee reads summary", who: "bob", note: summaryNote,
			out: Allow, rule: "reader", reason: "bob is the mentee of agreement a-1; summaries are read by author, mentee"},
		{name: "sealed reader no longer named by terms", who: "bob", note: sessionNote,
			facts: func(f *Facts) { f.Terms.Mentee = "bea" },
			out:   Allow, rule: "reader", reason: "bob is a reader note n-1 was sealed to; session notes are read by mentor, mentee"},

		// not a reader, nothing else
		{name: "supervisor reads reflection (PRODUCT denied example)", who: "carol", note: reflectionNote,
			facts: func(f *Facts) { *f = Facts{Terms: terms()} },
			out:   Deny, rule: "not-reader", reason: "reflections are private to their author; no consent covers carol"},
		{name: "mentor reads mentee's reflection", who: "alice", note: reflectionNote,
			out: Deny, rule: "not-reader", reason: "reflections are private to their author; no consent covers alice"},
		{name: "supervisor reads session note without grant", who: "carol", note: sessionNote,
			facts: func(f *Facts) { f.Grants = nil },
			out:   Deny, rule: "not-reader", reason: "session notes are read by mentor, mentee; no grant covers carol"},
		{name: "stranger reads summary", who: "eve", note: summaryNote,
			out: Deny, rule: "not-reader", reason: "summaries are read by author, mentee; no grant covers eve"},
		{name: "empty reader", who: "", note: summaryNote, out: Deny, rule: "no-reader", reason: "no reader is named"},

		// reflections never via grant
		{name: "reflection with consent and grant to all kinds still denied", who: "carol", note: reflectionNote,
			facts: func(f *Facts) {
				f.Consents[0].Kinds = []Kind{Session, Reflection, Summary}
				f.Grants[0].Kinds = []Kind{Session, Reflection, Summary}
			},
			out: Deny, rule: "not-reader", reason: "reflections are private to their author; no consent covers carol"},
		{name: "reflection with forged all-kinds grant still plain denied", who: "carol", note: reflectionNote,
			facts: func(f *Facts) { f.Grants[0].Kinds = []Kind{Reflection}; f.Grants[0].Verified = false },
			out:   Deny, rule: "not-reader", reason: "reflections are private to their author; no consent covers carol"},

		// grants
		{name: "live grant", who: "carol", note: summaryNote,
			out: Allow, rule: "grant", reason: "grant g-1 (consent c-1 by bob, summaries, until 2026-12-01T10:00Z)", basis: "g-1"},
		{name: "one second before end", who: "carol", note: summaryNote, now: end.Add(-time.Second),
			out: Allow, rule: "grant", basis: "g-1"},
		{name: "exactly at expires", who: "carol", note: summaryNote, now: end,
			out: Deny, rule: "grant-expired", reason: "grant g-1 expired just now", basis: "g-1"},
		{name: "one second past end", who: "carol", note: summaryNote, now: end.Add(time.Second),
			out: Deny, rule: "grant-expired", reason: "grant g-1 expired 1s ago", basis: "g-1"},
		{name: "three seconds past end", who: "carol", note: summaryNote, now: end.Add(3*time.Second + 200*time.Millisecond),
			out: Deny, rule: "grant-expired", reason: "grant g-1 expired 3s ago"},
		{name: "ninety minutes past end", who: "carol", note: summaryNote, now: end.Add(90 * time.Minute),
			out: Deny, rule: "grant-expired", reason: "grant g-1 expired 1h30m ago"},
		{name: "before the grant is issued", who: "carol", note: summaryNote, now: t0.Add(-2 * time.Hour),
			out: Deny, rule: "grant-not-started", reason: "grant g-1 starts at 2026-06-01T09:00Z"},
		{name: "consent withdrawn after the grant", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].WithdrawnAt = t0.Add(-10*time.Minute + 5*time.Second) },
			out:   Deny, rule: "consent-withdrawn", reason: "consent c-1 was withdrawn at 2026-06-01T09:50:05Z", basis: "c-1"},
		{name: "consent withdrawn at exactly now", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].WithdrawnAt = t0 },
			out:   Deny, rule: "consent-withdrawn", reason: "consent c-1 was withdrawn at 2026-06-01T10:00Z"},
		{name: "consent withdrawn later than now still holds now", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].WithdrawnAt = t0.Add(time.Hour) },
			out:   Allow, rule: "grant"},
		{name: "consent lapsed before grant end", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].Until = t0.Add(-time.Minute) },
			out:   Deny, rule: "consent-expired", reason: "consent c-1 ran until 2026-06-01T09:59Z"},
		{name: "allow names the earlier end of consent and grant", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].Until = t0.Add(time.Hour) },
			out:   Allow, rule: "grant", reason: "grant g-1 (consent c-1 by bob, summaries, until 2026-06-01T11:00Z)"},
		{name: "revoked grant", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Grants[0].RevokedAt = t0.Add(-time.Minute) },
			out:   Deny, rule: "grant-revoked", reason: "grant g-1 was revoked at 2026-06-01T09:59Z", basis: "g-1"},
		{name: "revocation later than now", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Grants[0].RevokedAt = t0.Add(time.Minute) },
			out:   Allow, rule: "grant"},
		{name: "grant does not cover the note's kind", who: "carol", note: sessionNote,
			out: Deny, rule: "grant-kind", reason: "grant g-1 does not cover session notes", basis: "g-1"},
		{name: "grant wider than its consent", who: "carol", note: sessionNote,
			facts: func(f *Facts) { f.Grants[0].Kinds = []Kind{Summary, Session} },
			out:   Deny, rule: "consent-kind", reason: "grant g-1 covers session notes but consent c-1 does not", basis: "c-1"},
		{name: "grant wider than its consent denies even covered kind", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Grants[0].Kinds = []Kind{Summary, Session} },
			out:   Deny, rule: "consent-kind"},
		{name: "session notes via session consent", who: "carol", note: sessionNote,
			facts: func(f *Facts) {
				f.Consents[0].Kinds = []Kind{Summary, Session}
				f.Grants[0].Kinds = []Kind{Summary, Session}
			},
			out: Allow, rule: "grant", reason: "grant g-1 (consent c-1 by bob, summaries and session notes, until 2026-12-01T10:00Z)"},
		{name: "supervisor removed by amendment", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Terms.Version = 2; f.Terms.Supervisors = []string{"dave"} },
			out:   Deny, rule: "not-supervisor", reason: "carol is no longer a supervisor of agreement a-1; grant g-1 has ended"},
		{name: "supervisor of another agreement with its grant", who: "dave", note: summaryNote,
			facts: func(f *Facts) {
				g := grant()
				g.ID, g.Agreement, g.Grantee, g.Consent = "g-9", "a-2", "dave", "c-9"
				c := consent()
				c.ID, c.Agreement, c.Grantee = "c-9", "a-2", "dave"
				f.Grants = append(f.Grants, g)
				f.Consents = append(f.Consents, c)
			},
			out: Deny, rule: "not-reader", reason: "summaries are read by author, mentee; no grant covers dave"},
		{name: "supervisor of another agreement with grant filed here", who: "dave", note: summaryNote,
			facts: func(f *Facts) {
				g := grant()
				g.ID, g.Grantee, g.Consent = "g-9", "dave", "c-9"
				c := consent()
				c.ID, c.Grantee = "c-9", "dave"
				f.Grants = append(f.Grants, g)
				f.Consents = append(f.Consents, c)
			},
			out: Deny, rule: "not-supervisor", reason: "dave is no longer a supervisor of agreement a-1; grant g-9 has ended"},
		{name: "consent signed by the mentor, not the mentee", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].Grantor = "alice" },
			out:   Deny, rule: "consent-mismatch", reason: "consent c-1 was given by alice, who is not the mentee of agreement a-1"},
		{name: "consent given to someone else", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].Grantee = "dave" },
			out:   Deny, rule: "consent-mismatch", reason: "consent c-1 was given to dave, not carol"},
		{name: "grant without expiry", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Grants[0].Expires = time.Time{} },
			out:   Deny, rule: "grant-malformed", reason: "grant g-1 has no end; a grant must expire"},
		{name: "most specific denial wins", who: "carol", note: summaryNote, now: end.Add(time.Second),
			facts: func(f *Facts) {
				g := grant()
				g.ID, g.Kinds = "g-2", []Kind{Session}
				f.Grants = append(f.Grants, g)
			},
			out: Deny, rule: "grant-expired", reason: "grant g-1 expired 1s ago"},

		// indeterminate
		{name: "forged consent", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents[0].Verified = false },
			out:   Indeterminate, rule: "consent-unverified", reason: "consent c-1 fails its signature check; it grants nothing", basis: "c-1"},
		{name: "forged grant", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Grants[0].Verified = false },
			out:   Indeterminate, rule: "grant-unverified", reason: "grant g-1 fails its signature check; it grants nothing", basis: "g-1"},
		{name: "consent missing", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Consents = nil },
			out:   Indeterminate, rule: "consent-missing", reason: "consent c-1 behind grant g-1 is missing; the grant cannot be checked"},
		{name: "forged consent beats a plain denial", who: "carol", note: summaryNote,
			facts: func(f *Facts) {
				f.Consents[0].Verified = false
				g := grant()
				g.ID, g.RevokedAt = "g-2", t0.Add(-time.Minute)
				f.Grants = append(f.Grants, g)
			},
			out: Indeterminate, rule: "consent-unverified"},
		{name: "terms of another agreement", who: "carol", note: summaryNote,
			facts: func(f *Facts) { f.Terms.Agreement = "a-2" },
			out:   Indeterminate, rule: "terms-mismatch"},
		{name: "allow wins over a forged record", who: "carol", note: summaryNote,
			facts: func(f *Facts) {
				bad := grant()
				bad.ID, bad.Verified = "g-0", false
				f.Grants = append([]Grant{bad}, f.Grants...)
			},
			out: Allow, rule: "grant", basis: "g-1"},
		{name: "expired grant that rests on forged consent is plainly denied", who: "carol", note: summaryNote, now: end.Add(time.Second),
			facts: func(f *Facts) { f.Consents[0].Verified = false },
			out:   Deny, rule: "grant-expired"},

		// disclosures
		{name: "verified disclosure", who: "dave", note: reflectionNote,
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-2", By: "bob", To: "dave", Reason: "risk-of-harm", At: t0.Add(-time.Hour), Verified: true}}
			},
			out: Allow, rule: "disclosure", reason: "disclosed by bob under exception risk-of-harm at 2026-06-01T09:00Z", basis: "d-1"},
		{name: "forged disclosure", who: "dave", note: reflectionNote,
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-2", By: "bob", To: "dave", Reason: "risk-of-harm", At: t0.Add(-time.Hour)}}
			},
			out: Indeterminate, rule: "disclosure-unverified", reason: "disclosure d-1 fails its signature check; it discloses nothing", basis: "d-1"},
		{name: "disclosure by someone the note is not sealed to", who: "dave", note: reflectionNote,
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-2", By: "carol", To: "dave", Reason: "risk-of-harm", At: t0.Add(-time.Hour), Verified: true}}
			},
			out: Indeterminate, rule: "disclosure-not-reader", reason: "disclosure d-1 was made by carol, who is not a reader of note n-2; it discloses nothing", basis: "d-1"},
		{name: "disclosure of another note", who: "dave", note: reflectionNote,
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-1", By: "bob", To: "dave", Reason: "risk-of-harm", At: t0.Add(-time.Hour), Verified: true}}
			},
			out: Deny, rule: "not-reader", reason: "reflections are private to their author; no consent covers dave"},
		{name: "disclosure to someone else", who: "dave", note: reflectionNote,
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-2", By: "bob", To: "erin", Reason: "risk-of-harm", At: t0.Add(-time.Hour), Verified: true}}
			},
			out: Deny, rule: "not-reader"},
		{name: "disclosure dated in the future", who: "dave", note: reflectionNote,
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-2", By: "bob", To: "dave", Reason: "risk-of-harm", At: t0.Add(time.Hour), Verified: true}}
			},
			out: Deny, rule: "disclosure-pending", reason: "disclosure d-1 takes effect at 2026-06-01T11:00Z"},

		// expiry and holds
		{name: "expired note denied even to its author", who: "bob", note: func() Note {
			n := reflectionNote
			n.Expires = t0.Add(-time.Second)
			return n
		}(), out: Deny, rule: "note-expired", reason: "note n-2 expired at 2026-06-01T09:59:59Z and awaits destruction"},
		{name: "note expiring exactly now is expired", who: "alice", note: func() Note {
			n := sessionNote
			n.Expires = t0
			return n
		}(), out: Deny, rule: "note-expired", reason: "note n-1 expired at 2026-06-01T10:00Z and awaits destruction"},
		{name: "expired note denied even with a live grant", who: "carol", note: func() Note {
			n := summaryNote
			n.Expires = t0.Add(-time.Second)
			return n
		}(), out: Deny, rule: "note-expired"},
		{name: "held note is not expired", who: "bob", note: func() Note {
			n := reflectionNote
			n.Expires = t0.Add(-time.Hour)
			n.Held = true
			return n
		}(), out: Allow, rule: "reader"},
		{name: "note one second before expiry", who: "bob", note: func() Note {
			n := reflectionNote
			n.Expires = t0.Add(time.Second)
			return n
		}(), out: Allow, rule: "reader"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := facts()
			if tc.facts != nil {
				tc.facts(&f)
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			basis := tc.basis
			if basis == "" {
				basis = "-"
			}
			check(t, Read(tc.who, tc.note, f, now), tc.out, tc.rule, tc.reason, basis)
		})
	}
}

func TestProductExamples(t *testing.T) {
	f := facts()
	if got, want := Read("bob", sessionNote, f, t0).String(),
		"allowed: bob is the mentee of agreement a-1; session notes are read by mentor, mentee"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := Read("carol", reflectionNote, f, t0).String(),
		"denied: reflections are private to their author; no consent covers carol"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A reflection is never readable by anyone but its sealed readers or a
// disclosure recipient, whatever grants and consents say.
func TestReflectionNeverViaGrant(t *testing.T) {
	all := []Kind{Session, Reflection, Summary}
	for _, verified := range []bool{true, false} {
		for _, who := range []string{"carol", "alice", "dave"} {
			f := facts()
			f.Terms.Supervisors = []string{"carol", "alice", "dave"}
			f.Consents[0].Kinds, f.Consents[0].Verified, f.Consents[0].Grantee = all, verified, who
			f.Grants[0].Kinds, f.Grants[0].Verified, f.Grants[0].Grantee = all, verified, who
			for _, now := range []time.Time{t0, end.Add(-time.Second)} {
				if d := Read(who, reflectionNote, f, now); d.Outcome != Deny {
					t.Errorf("%s verified=%v: %v", who, verified, d)
				}
				if d := GrantLive(f.Grants[0], f, now); d.Allowed() {
					t.Errorf("grant naming reflections is live: %v", d)
				}
			}
		}
	}
}

func TestGrantLive(t *testing.T) {
	tests := []struct {
		name   string
		g      func(*Grant)
		facts  func(*Facts)
		now    time.Time
		out    Outcome
		rule   string
		reason string
	}{
		{name: "live", out: Allow, rule: "grant", reason: "grant g-1 (consent c-1 by bob, summaries, until 2026-12-01T10:00Z)"},
		{name: "one second before expires", now: end.Add(-time.Second), out: Allow, rule: "grant"},
		{name: "at expires", now: end, out: Deny, rule: "grant-expired", reason: "grant g-1 expired just now"},
		{name: "one second after", now: end.Add(time.Second), out: Deny, rule: "grant-expired", reason: "grant g-1 expired 1s ago"},
		{name: "two days after", now: end.Add(50*time.Hour + 5*time.Second), out: Deny, rule: "grant-expired", reason: "grant g-1 expired 2d2h5s ago"},
		{name: "at issued", now: t0.Add(-time.Hour), out: Allow, rule: "grant"},
		{name: "before issued", now: t0.Add(-time.Hour - time.Second), out: Deny, rule: "grant-not-started"},
		{name: "revoked", g: func(g *Grant) { g.RevokedAt = t0 }, out: Deny, rule: "grant-revoked", reason: "grant g-1 was revoked at 2026-06-01T10:00Z"},
		{name: "consent withdrawn after grant", facts: func(f *Facts) { f.Consents[0].WithdrawnAt = t0.Add(-time.Minute) },
			out: Deny, rule: "consent-withdrawn", reason: "consent c-1 was withdrawn at 2026-06-01T09:59Z"},
		{name: "consent lapsed", facts: func(f *Facts) { f.Consents[0].Until = t0 }, out: Deny, rule: "consent-expired"},
		{name: "supervisor removed by amendment", facts: func(f *Facts) { f.Terms.Supervisors = nil },
			out: Deny, rule: "not-supervisor", reason: "carol is no longer a supervisor of agreement a-1; grant g-1 has ended"},
		{name: "forged grant", g: func(g *Grant) { g.Verified = false }, out: Indeterminate, rule: "grant-unverified"},
		{name: "forged consent", facts: func(f *Facts) { f.Consents[0].Verified = false },
			out: Indeterminate, rule: "consent-unverified", reason: "consent c-1 fails its signature check; it grants nothing"},
		{name: "consent missing", g: func(g *Grant) { g.Consent = "c-404" }, out: Indeterminate, rule: "consent-missing",
			reason: "consent c-404 behind grant g-1 is missing; the grant cannot be checked"},
		{name: "no consent named", g: func(g *Grant) { g.Consent = "" }, out: Deny, rule: "grant-malformed"},
		{name: "no kinds", g: func(g *Grant) { g.Kinds = nil }, out: Deny, rule: "grant-malformed"},
		{name: "kinds wider than consent", g: func(g *Grant) { g.Kinds = []Kind{Summary, Session} },
			out: Deny, rule: "consent-kind", reason: "grant g-1 covers session notes but consent c-1 does not"},
		{name: "names reflections", g: func(g *Grant) { g.Kinds = []Kind{Summary, Reflection} },
			facts: func(f *Facts) { f.Consents[0].Kinds = []Kind{Summary, Reflection} },
			out:   Deny, rule: "grant-kind", reason: "grant g-1 names reflections, which no consent can open"},
		{name: "terms of another agreement", facts: func(f *Facts) { f.Terms.Agreement = "a-2" }, out: Indeterminate, rule: "terms-mismatch"},
		{name: "granter may no longer read the kind", g: func(g *Grant) { g.GrantedBy = "bob" },
			facts: func(f *Facts) { f.Terms.Readers = map[Kind][]string{Summary: {ReaderAuthor}} },
			out:   Deny, rule: "granter-not-reader", reason: "bob, who made grant g-1, may not read summaries under agreement a-1; the grant has ended"},
		{name: "ended by a version in force", g: func(g *Grant) { g.EndedAt = t0.Add(-time.Minute) },
			out: Deny, rule: "grant-ended", reason: "grant g-1 ended at 2026-06-01T09:59Z, when a version of agreement a-1 in force no longer allowed it"},
		{name: "to be ended later", g: func(g *Grant) { g.EndedAt = t0.Add(time.Minute) }, out: Allow, rule: "grant"},
		{name: "mentee's grant while the mentee reads the kind", g: func(g *Grant) { g.GrantedBy = "bob" }, out: Allow, rule: "grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := facts()
			if tc.facts != nil {
				tc.facts(&f)
			}
			g := f.Grants[0]
			if tc.g != nil {
				tc.g(&g)
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			check(t, GrantLive(g, f, now), tc.out, tc.rule, tc.reason, "-")
		})
	}
}

func TestWriteNote(t *testing.T) {
	tests := []struct {
		who    string
		kind   Kind
		out    Outcome
		rule   string
		reason string
	}{
		{"alice", Session, Allow, "writer", "alice is the mentor of agreement a-1, who writes session notes"},
		{"bob", Session, Allow, "writer", "bob is the mentee of agreement a-1, who writes session notes"},
		{"alice", Reflection, Allow, "writer", ""},
		{"bob", Reflection, Allow, "writer", "bob is the mentee of agreement a-1, who writes reflections"},
		{"alice", Summary, Allow, "writer", "alice is the mentor of agreement a-1, who writes summaries"},
		{"bob", Summary, Deny, "not-mentor", "only the mentor of agreement a-1 (alice) writes summaries; bob is its mentee"},
		{"carol", Summary, Deny, "not-participant", "only the mentor (alice) and the mentee (bob) of agreement a-1 write notes; carol is one of its supervisors"},
		{"carol", Session, Deny, "not-participant", ""},
		{"eve", Reflection, Deny, "not-participant", "only the mentor (alice) and the mentee (bob) of agreement a-1 write notes; eve is not one of its participants"},
		{"", Session, Deny, "not-participant", ""},
		{"alice", Kind("memo"), Deny, "unknown-kind", `unknown note kind "memo" (use session, reflection or summary)`},
	}
	for _, tc := range tests {
		t.Run(tc.who+"/"+string(tc.kind), func(t *testing.T) {
			check(t, WriteNote(tc.who, tc.kind, terms()), tc.out, tc.rule, tc.reason, "-")
		})
	}
}

func TestGiveConsent(t *testing.T) {
	tests := []struct {
		name    string
		who     string
		grantee string
		kinds   []Kind
		out     Outcome
		rule    string
		reason  string
	}{
		{"mentee consents to summaries", "bob", "carol", []Kind{Summary}, Allow, "consent",
			"bob is the mentee of agreement a-1 and may let its supervisor carol see summaries"},
		{"mentee consents to summaries and sessions", "bob", "carol", []Kind{Summary, Session}, Allow, "consent", ""},
		{"mentor consents for the mentee", "alice", "carol", []Kind{Summary}, Deny, "not-mentee",
			"only the mentee of agreement a-1 (bob) can give consent; alice is its mentor"},
		{"supervisor consents for herself", "carol", "carol", []Kind{Summary}, Deny, "not-mentee",
			"only the mentee of agreement a-1 (bob) can give consent; carol is one of its supervisors"},
		{"stranger", "eve", "carol", []Kind{Summary}, Deny, "not-mentee", ""},
		{"supervisor of another agreement", "bob", "dave", []Kind{Summary}, Deny, "not-supervisor",
			"dave is not a supervisor of agreement a-1 (carol)"},
		{"to the mentor", "bob", "alice", []Kind{Summary}, Deny, "not-supervisor", ""},
		{"reflections", "bob", "carol", []Kind{Summary, Reflection}, Deny, "private-kind",
			"reflections stay private to their author; consent covers summaries and session notes only"},
		{"no kinds", "bob", "carol", nil, Deny, "no-kinds", ""},
		{"unknown kind", "bob", "carol", []Kind{"diary"}, Deny, "unknown-kind", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, GiveConsent(tc.who, tc.grantee, tc.kinds, terms()), tc.out, tc.rule, tc.reason, "-")
		})
	}
}

func TestWithdrawConsent(t *testing.T) {
	withdrawn := consent()
	withdrawn.WithdrawnAt = t0
	other := consent()
	other.Agreement = "a-2"
	tests := []struct {
		name   string
		who    string
		c      Consent
		out    Outcome
		rule   string
		reason string
	}{
		{"mentee withdraws", "bob", consent(), Allow, "withdraw", "bob gave consent c-1 and may withdraw it"},
		{"mentee withdraws a forged consent", "bob", func() Consent { c := consent(); c.Verified = false; return c }(), Allow, "withdraw", ""},
		{"mentor withdraws", "alice", consent(), Deny, "not-mentee", "only the mentee of agreement a-1 (bob) can withdraw consent; alice is its mentor"},
		{"supervisor withdraws", "carol", consent(), Deny, "not-mentee", ""},
		{"already withdrawn", "bob", withdrawn, Deny, "already-withdrawn", "consent c-1 was already withdrawn at 2026-06-01T10:00Z"},
		{"other agreement", "bob", other, Indeterminate, "terms-mismatch", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, WithdrawConsent(tc.who, tc.c, terms()), tc.out, tc.rule, tc.reason, "-")
		})
	}
}

func TestGrantAccess(t *testing.T) {
	longer := consent()
	longer.ID, longer.Until = "c-2", end.Add(24*time.Hour)
	forever := consent()
	forever.ID, forever.Until = "c-3", time.Time{}
	tests := []struct {
		name    string
		who     string
		grantee string
		kinds   []Kind
		facts   func(*Facts)
		out     Outcome
		rule    string
		reason  string
		consent string
	}{
		{name: "mentor grants under consent", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			out: Allow, rule: "consent", reason: "consent c-1 by bob covers carol for summaries, until 2026-12-01T10:00Z", consent: "c-1"},
		{name: "mentee grants under own consent", who: "bob", grantee: "carol", kinds: []Kind{Summary},
			out: Allow, rule: "consent", consent: "c-1"},
		{name: "prefers the longest consent", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents = append(f.Consents, longer) },
			out:   Allow, rule: "consent", consent: "c-2"},
		{name: "open-ended consent lasts longest", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents = append([]Consent{forever}, append(f.Consents, longer)...) },
			out:   Allow, rule: "consent", reason: "consent c-3 by bob covers carol for summaries, until withdrawn", consent: "c-3"},
		{name: "supervisor grants herself", who: "carol", grantee: "carol", kinds: []Kind{Summary},
			out: Deny, rule: "not-participant"},
		{name: "stranger grants", who: "eve", grantee: "carol", kinds: []Kind{Summary},
			out: Deny, rule: "not-participant"},
		{name: "supervisor of another agreement", who: "alice", grantee: "dave", kinds: []Kind{Summary},
			out: Deny, rule: "not-supervisor", reason: "dave is not a supervisor of agreement a-1 (carol)"},
		{name: "kinds the consent does not cover", who: "alice", grantee: "carol", kinds: []Kind{Summary, Session},
			out: Deny, rule: "no-consent", reason: "no live consent by bob covers carol for summaries and session notes"},
		{name: "reflections", who: "alice", grantee: "carol", kinds: []Kind{Reflection},
			facts: func(f *Facts) { f.Consents[0].Kinds = []Kind{Summary, Session, Reflection} },
			out:   Deny, rule: "private-kind"},
		{name: "withdrawn consent", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents[0].WithdrawnAt = t0.Add(-time.Second) },
			out:   Deny, rule: "no-consent", reason: "no live consent by bob covers carol for summaries"},
		{name: "lapsed consent", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents[0].Until = t0 },
			out:   Deny, rule: "no-consent"},
		{name: "no consent at all", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents = nil },
			out:   Deny, rule: "no-consent", reason: "no live consent by bob covers carol for summaries"},
		{name: "consent signed by the mentor", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents[0].Grantor = "alice" },
			out:   Deny, rule: "no-consent"},
		{name: "consent of another agreement", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents[0].Agreement = "a-2" },
			out:   Deny, rule: "no-consent"},
		{name: "only a forged consent", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { f.Consents[0].Verified = false },
			out:   Indeterminate, rule: "consent-unverified", reason: "consent c-1 fails its signature check; it grants nothing"},
		{name: "a forged consent that lasts longer is not chosen", who: "alice", grantee: "carol", kinds: []Kind{Summary},
			facts: func(f *Facts) { l := longer; l.Verified = false; f.Consents = append(f.Consents, l) },
			out:   Allow, rule: "consent", consent: "c-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := facts()
			if tc.facts != nil {
				tc.facts(&f)
			}
			d, c := GrantAccess(tc.who, tc.grantee, tc.kinds, f, t0)
			check(t, d, tc.out, tc.rule, tc.reason, "-")
			switch {
			case tc.consent == "" && c != nil:
				t.Errorf("returned consent %s with %v", c.ID, d)
			case tc.consent != "" && (c == nil || c.ID != tc.consent || d.Basis != tc.consent):
				t.Errorf("want consent %s, got %+v (basis %q)", tc.consent, c, d.Basis)
			}
		})
	}
}

func TestRevokeGrant(t *testing.T) {
	revoked := grant()
	revoked.RevokedAt = t0
	byOther := grant()
	byOther.GrantedBy = "frank"
	tests := []struct {
		name   string
		who    string
		g      Grant
		out    Outcome
		rule   string
		reason string
	}{
		{"mentor", "alice", grant(), Allow, "revoke", "alice may revoke grant g-1; alice granted it"},
		{"mentee", "bob", grant(), Allow, "revoke", "bob may revoke grant g-1; bob is the mentee of agreement a-1"},
		{"granter", "frank", byOther, Allow, "revoke", ""},
		{"grantee", "carol", grant(), Deny, "not-participant",
			"only the mentor (alice), the mentee (bob) or the granter (alice) can revoke grant g-1; carol is one of its supervisors"},
		{"stranger", "eve", grant(), Deny, "not-participant", ""},
		{"already revoked", "bob", revoked, Deny, "already-revoked", "grant g-1 was already revoked at 2026-06-01T10:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, RevokeGrant(tc.who, tc.g, terms()), tc.out, tc.rule, tc.reason, "-")
		})
	}
}

func TestDisclose(t *testing.T) {
	expired := reflectionNote
	expired.Expires = t0
	held := expired
	held.Held = true
	tests := []struct {
		name   string
		who    string
		note   Note
		to     string
		reason string
		facts  func(*Facts)
		out    Outcome
		rule   string
		why    string
	}{
		{name: "mentee discloses own reflection", who: "bob", note: reflectionNote, to: "carol", reason: "risk-of-harm",
			out: Allow, rule: "disclose", why: "bob reads note n-2 and may disclose it to carol under exception risk-of-harm of agreement a-1"},
		{name: "mentor discloses session note", who: "alice", note: sessionNote, to: "carol", reason: "legal-obligation",
			out: Allow, rule: "disclose"},
		{name: "unlisted reason", who: "alice", note: sessionNote, to: "dave", reason: "gossip",
			out: Deny, rule: "not-exception", why: `reason "gossip" is not an exception of agreement a-1 (risk-of-harm, legal-obligation)`},
		{name: "agreement lists no exceptions", who: "alice", note: sessionNote, to: "dave", reason: "risk-of-harm",
			facts: func(f *Facts) { f.Terms.Exceptions = nil },
			out:   Deny, rule: "not-exception", why: `reason "risk-of-harm" is not an exception of agreement a-1 (it names none)`},
		{name: "grant holder cannot re-disclose", who: "carol", note: summaryNote, to: "dave", reason: "risk-of-harm",
			out: Deny, rule: "not-reader", why: "only a reader of note n-3 (alice, bob) can disclose it; carol is not one"},
		{name: "disclosure recipient cannot re-disclose", who: "dave", note: reflectionNote, to: "erin", reason: "risk-of-harm",
			facts: func(f *Facts) {
				f.Disclosures = []Disclosure{{ID: "d-1", Note: "n-2", By: "bob", To: "dave", Reason: "risk-of-harm", At: t0, Verified: true}}
			},
			out: Deny, rule: "not-reader"},
		{name: "mentor cannot disclose mentee's reflection", who: "alice", note: reflectionNote, to: "dave", reason: "risk-of-harm",
			out: Deny, rule: "not-reader"},
		{name: "to oneself", who: "bob", note: reflectionNote, to: "bob", reason: "risk-of-harm",
			out: Deny, rule: "self-disclosure", why: "bob cannot disclose note n-2 to themself"},
		{name: "no recipient", who: "bob", note: reflectionNote, to: "", reason: "risk-of-harm",
			out: Deny, rule: "no-recipient"},
		{name: "expired note", who: "bob", note: expired, to: "dave", reason: "risk-of-harm",
			out: Deny, rule: "note-expired", why: "note n-2 expired at 2026-06-01T10:00Z and awaits destruction"},
		{name: "held note", who: "bob", note: held, to: "carol", reason: "legal-obligation",
			out: Allow, rule: "disclose"},
		{name: "to someone outside the agreement", who: "bob", note: reflectionNote, to: "dave", reason: "risk-of-harm",
			out: Deny, rule: "not-recipient", why: "under exception risk-of-harm of agreement a-1 only carol may receive a disclosure; dave is not one of its participants"},
		{name: "list form: to the mentor, who is no supervisor", who: "bob", note: sessionNote, to: "alice", reason: "risk-of-harm",
			out: Deny, rule: "not-recipient", why: "under exception risk-of-harm of agreement a-1 only carol may receive a disclosure; alice is its mentor"},
		{name: "map form: to a named recipient", who: "bob", note: reflectionNote, to: "dave", reason: "safeguarding",
			facts: func(f *Facts) { f.Terms.ExceptionRecipients = map[string][]string{"safeguarding": {"dave", "erin"}} },
			out:   Allow, rule: "disclose", why: "bob reads note n-2 and may disclose it to dave under exception safeguarding of agreement a-1"},
		{name: "map form: to a supervisor it does not name", who: "bob", note: reflectionNote, to: "carol", reason: "safeguarding",
			facts: func(f *Facts) { f.Terms.ExceptionRecipients = map[string][]string{"safeguarding": {"dave", "erin"}} },
			out:   Deny, rule: "not-recipient", why: "under exception safeguarding of agreement a-1 only dave or erin may receive a disclosure; carol is one of its supervisors"},
		{name: "map form: nil means the supervisors", who: "bob", note: reflectionNote, to: "carol", reason: "safeguarding",
			facts: func(f *Facts) { f.Terms.ExceptionRecipients = map[string][]string{"safeguarding": nil} },
			out:   Allow, rule: "disclose"},
		{name: "map form: an empty list names no one", who: "bob", note: reflectionNote, to: "carol", reason: "safeguarding",
			facts: func(f *Facts) { f.Terms.ExceptionRecipients = map[string][]string{"safeguarding": {}} },
			out:   Deny, rule: "not-recipient", why: "exception safeguarding of agreement a-1 names no one who may receive a disclosure"},
		{name: "list form with no supervisors", who: "bob", note: reflectionNote, to: "carol", reason: "risk-of-harm",
			facts: func(f *Facts) { f.Terms.Supervisors = nil },
			out:   Deny, rule: "not-recipient", why: "exception risk-of-harm of agreement a-1 names no one who may receive a disclosure"},
		{name: "map-form exceptions are listed when the reason is unknown", who: "bob", note: reflectionNote, to: "carol", reason: "gossip",
			facts: func(f *Facts) { f.Terms.ExceptionRecipients = map[string][]string{"safeguarding": {"dave"}} },
			out:   Deny, rule: "not-exception", why: `reason "gossip" is not an exception of agreement a-1 (risk-of-harm, legal-obligation, safeguarding)`},
		{name: "terms of another agreement", who: "bob", note: reflectionNote, to: "dave", reason: "risk-of-harm",
			facts: func(f *Facts) { f.Terms.Agreement = "a-2" },
			out:   Indeterminate, rule: "terms-mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := facts()
			if tc.facts != nil {
				tc.facts(&f)
			}
			check(t, Disclose(tc.who, tc.note, tc.to, tc.reason, f, t0), tc.out, tc.rule, tc.why, "-")
		})
	}
}

func TestHolds(t *testing.T) {
	withCustodian := func() Terms { t := terms(); t.Custodians = []string{"frank"}; return t }
	supervisorCustodian := func() Terms { t := terms(); t.Custodians = []string{"carol"}; return t }
	place := []struct {
		name   string
		who    string
		terms  Terms
		out    Outcome
		rule   string
		reason string
	}{
		{"mentor", "alice", terms(), Allow, "hold", "alice is the mentor of agreement a-1 and may place a hold"},
		{"mentee", "bob", terms(), Allow, "hold", "bob is the mentee of agreement a-1 and may place a hold"},
		{"supervisor", "carol", terms(), Deny, "not-custodian",
			"only the mentor (alice), the mentee (bob) or a custodian (it names none) of agreement a-1 can place a hold; carol is one of its supervisors"},
		{"supervisor who is a custodian", "carol", supervisorCustodian(), Allow, "hold",
			"carol is a custodian of agreement a-1 and may place a hold"},
		{"custodian who is no other party", "frank", withCustodian(), Allow, "hold", "frank is a custodian of agreement a-1 and may place a hold"},
		{"supervisor beside a custodian", "carol", withCustodian(), Deny, "not-custodian",
			"only the mentor (alice), the mentee (bob) or a custodian (frank) of agreement a-1 can place a hold; carol is one of its supervisors"},
		{"stranger", "dave", withCustodian(), Deny, "not-custodian",
			"only the mentor (alice), the mentee (bob) or a custodian (frank) of agreement a-1 can place a hold; dave is not one of its participants"},
		{"nobody", "", terms(), Deny, "not-custodian", ""},
	}
	for _, tc := range place {
		t.Run("place/"+tc.name, func(t *testing.T) {
			check(t, PlaceHold(tc.who, tc.terms), tc.out, tc.rule, tc.reason, "-")
		})
	}
	release := []struct {
		name     string
		who      string
		placedBy string
		terms    Terms
		out      Outcome
		rule     string
		reason   string
	}{
		{"placer", "alice", "alice", terms(), Allow, "release", "alice placed the hold and may release it"},
		{"mentee releases the mentor's hold", "bob", "alice", terms(), Deny, "not-placer",
			"only alice, who placed the hold, or a custodian (it names none) of agreement a-1 can release it; bob is its mentee"},
		{"mentor releases the mentee's hold", "alice", "bob", terms(), Deny, "not-placer",
			"only bob, who placed the hold, or a custodian (it names none) of agreement a-1 can release it; alice is its mentor"},
		{"mentee releases a custodian's hold", "bob", "frank", withCustodian(), Deny, "not-placer",
			"only frank, who placed the hold, or a custodian (frank) of agreement a-1 can release it; bob is its mentee"},
		{"custodian releases the mentor's hold", "frank", "alice", withCustodian(), Allow, "release",
			"frank is a custodian of agreement a-1 and may release the hold placed by alice"},
		{"supervisor", "carol", "alice", terms(), Deny, "not-placer", ""},
		{"supervisor releases the hold they placed", "carol", "carol", terms(), Allow, "release", ""},
		{"stranger", "dave", "alice", withCustodian(), Deny, "not-placer",
			"only alice, who placed the hold, or a custodian (frank) of agreement a-1 can release it; dave is not one of its participants"},
		{"nobody releases a hold placed by nobody", "", "", terms(), Deny, "not-placer", ""},
	}
	for _, tc := range release {
		t.Run("release/"+tc.name, func(t *testing.T) {
			check(t, ReleaseHold(tc.who, tc.placedBy, tc.terms), tc.out, tc.rule, tc.reason, "-")
		})
	}
}

func TestMayRead(t *testing.T) {
	authorOnly := terms()
	authorOnly.Readers = map[Kind][]string{Summary: {ReaderAuthor}, Session: {ReaderAuthor}}
	menteeOnly := terms()
	menteeOnly.Readers = map[Kind][]string{Session: {ReaderMentee}}
	tests := []struct {
		terms Terms
		who   string
		kind  Kind
		want  bool
	}{
		{terms(), "alice", Session, true},
		{terms(), "bob", Session, true},
		{terms(), "carol", Session, false},
		{terms(), "bob", Summary, true},   // [author, mentee]
		{terms(), "alice", Summary, true}, // the mentor writes summaries
		{terms(), "bob", Reflection, true},
		{terms(), "carol", Reflection, false},
		{authorOnly, "bob", Summary, false}, // only the mentor writes summaries
		{authorOnly, "alice", Summary, true},
		{authorOnly, "bob", Session, true}, // the mentee writes session notes
		{menteeOnly, "alice", Session, false},
		{menteeOnly, "bob", Session, true},
		{terms(), "", Session, false},
		{terms(), "dave", Session, false},
	}
	for _, tc := range tests {
		if got := tc.terms.MayRead(tc.who, tc.kind); got != tc.want {
			t.Errorf("MayRead(%q, %s) under %v = %v, want %v", tc.who, tc.kind, tc.terms.Readers, got, tc.want)
		}
	}
}

func TestSharingCaps(t *testing.T) {
	day := 24 * time.Hour
	capped := terms()
	capped.MaxGrant, capped.MaxConsent = 30*day, 180*day

	t.Run("defaults", func(t *testing.T) {
		if got := terms().GrantCap(); got != DefaultMaxGrant || got != 90*day {
			t.Errorf("GrantCap = %v, want 90 days", got)
		}
		if got := terms().ConsentCap(); got != DefaultMaxConsent || got != 365*day {
			t.Errorf("ConsentCap = %v, want 365 days", got)
		}
	})
	grants := []struct {
		name   string
		terms  Terms
		d      time.Duration
		out    Outcome
		rule   string
		reason string
	}{
		{"within the default", terms(), 90 * day, Allow, "grant-cap", "90d is within the cap of 90d on grants of agreement a-1"},
		{"over the default", terms(), 10 * 365 * day, Deny, "grant-cap", "a grant under agreement a-1 lasts at most 90d; 3650d is longer"},
		{"within the agreement's cap", capped, 30 * day, Allow, "grant-cap", ""},
		{"over the agreement's cap", capped, 30*day + time.Second, Deny, "grant-cap", "a grant under agreement a-1 lasts at most 30d; 30d1s is longer"},
		{"zero", terms(), 0, Deny, "grant-period", "a grant must last longer than zero"},
	}
	for _, tc := range grants {
		t.Run("grant/"+tc.name, func(t *testing.T) {
			check(t, GrantPeriod(tc.d, tc.terms), tc.out, tc.rule, tc.reason, "-")
		})
	}
	consents := []struct {
		name   string
		terms  Terms
		until  time.Time
		out    Outcome
		want   time.Time
		reason string
	}{
		{"no end: ends at the default cap", terms(), time.Time{}, Allow, t0.Add(365 * day),
			"no end was given: the consent ends at 2027-06-01T10:00Z, when the cap of 365d on consents of agreement a-1 is reached"},
		{"no end: ends at the agreement's cap", capped, time.Time{}, Allow, t0.Add(180 * day), ""},
		{"within the cap", capped, t0.Add(180 * day), Allow, t0.Add(180 * day),
			"the consent ends at 2026-11-28T10:00Z, within the cap of 180d on consents of agreement a-1"},
		{"ten years", terms(), t0.Add(10 * 365 * day), Deny, time.Time{},
			"a consent under agreement a-1 lasts at most 365d (until 2027-06-01T10:00Z); 2036-05-29T10:00Z is later"},
		{"a second over the agreement's cap", capped, t0.Add(180*day + time.Second), Deny, time.Time{}, ""},
	}
	for _, tc := range consents {
		t.Run("consent/"+tc.name, func(t *testing.T) {
			got, d := ConsentUntil(tc.until, t0, tc.terms)
			check(t, d, tc.out, "consent-cap", tc.reason, "-")
			if !got.Equal(tc.want) {
				t.Errorf("until = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOnlyReadersShare(t *testing.T) {
	authorOnly := terms()
	authorOnly.Readers = map[Kind][]string{Summary: {ReaderAuthor}}
	f := facts()
	f.Terms = authorOnly
	check(t, GiveConsent("bob", "carol", []Kind{Summary}, authorOnly), Deny, "not-kind-reader",
		"bob cannot consent to summaries: bob may not read them (summaries are private to their author)", "-")
	check(t, GiveConsent("bob", "carol", []Kind{Session}, authorOnly), Allow, "consent", "", "-") // negative control
	d, c := GrantAccess("bob", "carol", []Kind{Summary}, f, t0)
	check(t, d, Deny, "not-kind-reader", "bob cannot grant summaries: bob may not read them (summaries are private to their author)", "-")
	if c != nil {
		t.Errorf("a denied grant returned consent %s", c.ID)
	}
	d, _ = GrantAccess("alice", "carol", []Kind{Summary}, f, t0) // the author may
	check(t, d, Allow, "consent", "", "c-1")
	menteeOnly := terms()
	menteeOnly.Readers = map[Kind][]string{Session: {ReaderMentee}}
	f.Terms = menteeOnly
	f.Consents[0].Kinds = []Kind{Session}
	d, _ = GrantAccess("alice", "carol", []Kind{Session}, f, t0)
	check(t, d, Deny, "not-kind-reader", "alice cannot grant session notes: alice may not read them (session notes are read by mentee)", "-")
}

func TestParseKind(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
		err  string
	}{
		{"session", Session, ""},
		{"reflection", Reflection, ""},
		{"summary", Summary, ""},
		{" Summaries ", Summary, ""},
		{"x", "", `unknown note kind "x" (use session, reflection or summary)`},
		{"", "", `unknown note kind "" (use session, reflection or summary)`},
	}
	for _, tc := range tests {
		got, err := ParseKind(tc.in)
		if got != tc.want || errString(err) != tc.err {
			t.Errorf("ParseKind(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseKinds(t *testing.T) {
	tests := []struct {
		in   string
		want []Kind
		err  string
	}{
		{"summary", []Kind{Summary}, ""},
		{"summary,session", []Kind{Summary, Session}, ""},
		{"session, summary,session ,summary", []Kind{Session, Summary}, ""},
		{"reflection,,summary", []Kind{Reflection, Summary}, ""},
		{"summary,memo", nil, `unknown note kind "memo" (use session, reflection or summary)`},
		{"", nil, "no note kind given (use session, reflection or summary)"},
		{" , ", nil, "no note kind given (use session, reflection or summary)"},
	}
	for _, tc := range tests {
		got, err := ParseKinds(tc.in)
		if !slices.Equal(got, tc.want) || errString(err) != tc.err {
			t.Errorf("ParseKinds(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want Role
		err  string
	}{
		{"mentor", Mentor, ""},
		{"Mentee", Mentee, ""},
		{"supervisor", Supervisor, ""},
		{"operator", "", `unknown role "operator" (use mentor, mentee or supervisor)`},
	}
	for _, tc := range tests {
		got, err := ParseRole(tc.in)
		if got != tc.want || errString(err) != tc.err {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestPlural(t *testing.T) {
	for k, want := range map[Kind]string{Session: "session notes", Reflection: "reflections", Summary: "summaries"} {
		if got := k.Plural(); got != want {
			t.Errorf("%q.Plural() = %q, want %q", k, got, want)
		}
	}
	if !slices.Equal(Kinds, []Kind{Session, Reflection, Summary}) {
		t.Errorf("Kinds = %v", Kinds)
	}
}

func TestTerms(t *testing.T) {
	tm := terms()
	tm.Readers = map[Kind][]string{Session: {"mentee", "mentor", "mentee"}}
	tests := []struct {
		kind   Kind
		author string
		want   []string
	}{
		{Session, "alice", []string{"bob", "alice"}}, // order of tokens, deduplicated
		{Reflection, "bob", []string{"bob"}},         // default when the agreement names none
		{Summary, "alice", []string{"alice", "bob"}}, // author is the mentor
		{Summary, "bob", []string{"bob"}},            // author and mentee are one person
	}
	for _, tc := range tests {
		if got := tm.ReadersFor(tc.kind, tc.author); !slices.Equal(got, tc.want) {
			t.Errorf("ReadersFor(%s, %s) = %v, want %v", tc.kind, tc.author, got, tc.want)
		}
	}
	// DefaultReaders returns a fresh map.
	d := DefaultReaders()
	d[Reflection] = append(d[Reflection], ReaderMentor)
	if got := DefaultReaders()[Reflection]; !slices.Equal(got, []string{ReaderAuthor}) {
		t.Errorf("DefaultReaders shared state: %v", got)
	}
	if got := (Terms{Mentor: "alice", Mentee: "bob"}).ReadersFor(Session, "alice"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("nil Readers: %v", got)
	}

	roles := []struct {
		name string
		role Role
		ok   bool
	}{
		{"alice", Mentor, true}, {"bob", Mentee, true}, {"carol", Supervisor, true}, {"dave", "", false}, {"", "", false},
	}
	for _, r := range roles {
		if got, ok := tm.RoleOf(r.name); got != r.role || ok != r.ok {
			t.Errorf("RoleOf(%q) = %q, %v", r.name, got, ok)
		}
	}
	if !tm.IsSupervisor("carol") || tm.IsSupervisor("alice") || tm.IsSupervisor("") {
		t.Error("IsSupervisor")
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		d    Decision
		want string
	}{
		{Decision{Outcome: Allow, Reason: "x"}, "allowed: x"},
		{Decision{Outcome: Deny, Reason: "y"}, "denied: y"},
		{Decision{Outcome: Indeterminate, Reason: "z"}, "indeterminate: z"},
		{Decision{}, "denied"},
	}
	for _, tc := range tests {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.d, got, tc.want)
		}
	}
	if (Decision{}).Allowed() || (Decision{Outcome: Indeterminate}).Allowed() || !(Decision{Outcome: Allow}).Allowed() {
		t.Error("Allowed")
	}
	if Outcome(7).String() != "outcome(7)" {
		t.Error(Outcome(7).String())
	}
}

func TestFormat(t *testing.T) {
	times := []struct {
		t    time.Time
		want string
	}{
		{end, "2026-12-01T10:00Z"},
		{end.Add(5 * time.Second), "2026-12-01T10:00:05Z"},
		{end.Add(1500 * time.Millisecond), "2026-12-01T10:00:01Z"},
		{time.Date(2026, 12, 1, 11, 0, 0, 0, time.FixedZone("CET", 3600)), "2026-12-01T10:00Z"},
	}
	for _, tc := range times {
		if got := FormatTime(tc.t); got != tc.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
	durs := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {400 * time.Millisecond, "0s"}, {1500 * time.Millisecond, "2s"}, {3 * time.Second, "3s"},
		{2 * time.Minute, "2m"}, {time.Hour + 5*time.Second, "1h5s"}, {49 * time.Hour, "2d1h"}, {-3 * time.Second, "3s"},
	}
	for _, tc := range durs {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestLifecycleDecisions(t *testing.T) {
	tm := terms()
	check(t, InForce(tm, false), Deny, "not-accepted", "agreement a-1 is not in force: both alice and bob must accept it first", "")
	check(t, InForce(tm, true), Allow, "in-force", "", "")
	check(t, Accept("carol", tm), Deny, "not-party", "only the mentor (alice) and the mentee (bob) accept agreement a-1; carol is neither", "")
	check(t, Accept("bob", tm), Allow, "accept", "", "")
	check(t, Amend("carol", tm), Deny, "not-party", "only the mentor (alice) and the mentee (bob) amend agreement a-1; carol is neither", "")
	check(t, Amend("alice", tm), Allow, "amend", "", "")
	check(t, DeleteNote("carol", sessionNote, tm), Deny, "not-owner", "only the author (alice) or the mentee (bob) can delete note n-1", "")
	check(t, DeleteNote("bob", sessionNote, tm), Allow, "delete", "", "")
	held := sessionNote
	held.Held = true
	check(t, DeleteNote("alice", held, tm), Deny, "held", "note n-1 is under legal hold and cannot be destroyed until it is released", "")
	d := Disclosure{ID: "d-1", Note: "n-1", By: "alice", To: "carol"}
	check(t, ReadStatement("dave", d, tm), Deny, "not-party", "the statement of disclosure d-1 is for alice, carol and the mentee bob", "d-1")
	for _, who := range []string{"alice", "carol", "bob"} {
		check(t, ReadStatement(who, d, tm), Allow, "statement", "", "d-1")
		check(t, ReadAgreementText(who, tm), Allow, "party", "", "")
	}
	check(t, ReadAgreementText("dave", tm), Deny, "not-party", "the text of agreement a-1 version 1 is for its parties; dave is not one", "")
}
