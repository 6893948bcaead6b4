package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// practiceTerms are the sketch agreement's terms: alice mentors bob, carol
// supervises.
func practiceTerms() Terms {
	return Terms{Agreement: "a-1", Version: 1, Mentor: "alice", Mentee: "bob", Supervisors: []string{"carol"},
		Readers:    DefaultReaders(),
		Exceptions: []string{"risk-of-harm"},
		Retention:  map[Kind]time.Duration{Session: 365 * day, Reflection: 90 * day, Summary: 180 * day}}
}

func TestParseAttestStatus(t *testing.T) {
	for in, want := range map[string]AttestStatus{"met": StatusMet, " Progress ": StatusProgress, "MISSED": StatusMissed} {
		if got, err := ParseAttestStatus(in); err != nil || got != want {
			t.Errorf("ParseAttestStatus(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "done", "met,missed"} {
		if _, err := ParseAttestStatus(in); err == nil {
			t.Errorf("ParseAttestStatus(%q) accepted", in)
		}
	}
}

func TestPracticeDecisions(t *testing.T) {
	tm := practiceTerms()
	for _, c := range []struct {
		name string
		d    Decision
		want Outcome
		rule string
	}{
		{"mentor attests", Attest("alice", tm), Allow, "attest"},
		{"mentee attests", Attest("bob", tm), Allow, "attest"},
		{"supervisor attests", Attest("carol", tm), Deny, "not-party"},
		{"stranger attests", Attest("dave", tm), Deny, "not-party"},
		{"nobody attests", Attest("", tm), Deny, "not-party"},
		{"other party confirms", ConfirmAttestation("alice", "bob", "t-1", tm), Allow, "confirm"},
		{"proposer confirms", ConfirmAttestation("bob", "bob", "t-1", tm), Deny, "own-attestation"},
		{"supervisor confirms", ConfirmAttestation("carol", "bob", "t-1", tm), Deny, "not-party"},
		{"other party rejects", RejectProposal("bob", "alice", 2, false, tm), Allow, "reject"},
		{"either party rejects v1", RejectProposal("bob", "", 1, false, tm), Allow, "reject"},
		{"proposer rejects", RejectProposal("alice", "alice", 2, true, tm), Deny, "own-proposal"},
		{"acceptor rejects", RejectProposal("bob", "", 1, true, tm), Deny, "accepted"},
		{"supervisor rejects", RejectProposal("carol", "alice", 2, false, tm), Deny, "not-party"},
		{"proposer withdraws", WithdrawProposal("alice", "alice", 2, tm), Allow, "withdraw-proposal"},
		{"other withdraws", WithdrawProposal("bob", "alice", 2, tm), Deny, "not-proposer"},
		{"v1 withdrawn", WithdrawProposal("alice", "", 1, tm), Deny, "not-proposer"},
		{"stranger withdraws", WithdrawProposal("dave", "dave", 2, tm), Deny, "not-party"},
	} {
		if c.d.Outcome != c.want || c.d.Rule != c.rule {
			t.Errorf("%s: %s (rule %s), want %s (rule %s)", c.name, c.d, c.d.Rule, c.want, c.rule)
		}
	}
}

// A supervisor sees attestations only while a grant is live; the grant is
// the one the read rules use, so every way a grant ends ends this too.
func TestReadAttestations(t *testing.T) {
	tm := practiceTerms()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	consent := Consent{ID: "c-1", Agreement: "a-1", Grantor: "bob", Grantee: "carol", Kinds: []Kind{Summary}, GivenAt: now.Add(-day), Verified: true}
	grant := Grant{ID: "g-1", Agreement: "a-1", Consent: "c-1", GrantedBy: "alice", Grantee: "carol", Kinds: []Kind{Summary},
		Issued: now.Add(-day), Expires: now.Add(day), Verified: true}
	withdrawn := consent
	withdrawn.WithdrawnAt = now.Add(-time.Hour)
	revoked := grant
	revoked.RevokedAt = now.Add(-time.Hour)
	unverified := grant
	unverified.Verified = false
	for _, c := range []struct {
		name string
		who  string
		f    Facts
		want Outcome
	}{
		{"mentor", "alice", Facts{Terms: tm}, Allow},
		{"mentee", "bob", Facts{Terms: tm}, Allow},
		{"supervisor, no grant", "carol", Facts{Terms: tm}, Deny},
		{"supervisor, live grant", "carol", Facts{Terms: tm, Consents: []Consent{consent}, Grants: []Grant{grant}}, Allow},
		{"supervisor, revoked grant", "carol", Facts{Terms: tm, Consents: []Consent{consent}, Grants: []Grant{revoked}}, Deny},
		{"supervisor, withdrawn consent", "carol", Facts{Terms: tm, Consents: []Consent{withdrawn}, Grants: []Grant{grant}}, Deny},
		{"supervisor, unverified grant", "carol", Facts{Terms: tm, Consents: []Consent{consent}, Grants: []Grant{unverified}}, Deny},
		{"stranger with carol's grant", "dave", Facts{Terms: tm, Consents: []Consent{consent}, Grants: []Grant{grant}}, Deny},
	} {
		if d := ReadAttestations(c.who, c.f, now); d.Outcome != c.want {
			t.Errorf("%s: %s, want %s", c.name, d, c.want)
		}
	}
	// At the grant's end it is already over.
	if d := ReadAttestations("carol", Facts{Terms: tm, Consents: []Consent{consent}, Grants: []Grant{grant}}, grant.Expires); d.Allowed() {
		t.Errorf("at the grant's end: %s", d)
	}
}

func TestReviewDue(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name        string
		every       time.Duration
		last, now   time.Time
		due         time.Time
		wantOverdue bool
	}{
		{"no review yet, not due", 90 * day, time.Time{}, since.Add(89 * day), since.Add(90 * day), false},
		{"no review yet, due now", 90 * day, time.Time{}, since.Add(90 * day), since.Add(90 * day), true},
		{"reviewed, counts from the review", 90 * day, since.Add(80 * day), since.Add(100 * day), since.Add(170 * day), false},
		{"review before since is ignored", 90 * day, since.Add(-day), since.Add(91 * day), since.Add(90 * day), true},
		{"no schedule", 0, time.Time{}, since.Add(1000 * day), time.Time{}, false},
	} {
		due, overdue := ReviewDue(c.every, since, c.last, c.now)
		if !due.Equal(c.due) || overdue != c.wantOverdue {
			t.Errorf("%s: due %s overdue %v, want %s %v", c.name, due, overdue, c.due, c.wantOverdue)
		}
	}
}

func TestSummarize(t *testing.T) {
	tm := practiceTerms()
	tm.AfterClose = 30 * day
	tm.MaxGrant = 30 * day
	got := Summarize(tm)
	for _, want := range []string{
		"alice mentors bob; carol supervises",
		"session notes are written by alice or bob and read by alice and bob",
		"carol may read summaries only with bob's consent, for at most 30 days at a time (a consent lasts at most 365 days)",
		"reflections are written by alice or bob and read only by their author",
		"reflections are never shared with a supervisor, not even with consent",
		"session notes are destroyed 365 days after they are written, or 30 days after the relationship ends if that comes first",
		// Governance (issue 9): a list-form exception discloses to the
		// supervisors only, and a supervisor who is no custodian cannot hold.
		"under the risk-of-harm exception a reader of a note may disclose it to carol; every disclosure is recorded and bob can see it",
		"alice or bob may place a legal hold, which stops destruction until it is released",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("summary lacks %q; it says:\n%s", want, strings.Join(got, "\n"))
		}
	}
	// Summaries readable only by their author: no consent can open them
	// to carol, and the summary says so (it asks Read, not the YAML).
	tm = practiceTerms()
	tm.Readers = map[Kind][]string{Session: {"mentor", "mentee"}, Reflection: {"author"}, Summary: {"author"}}
	got = Summarize(tm)
	if !slices.Contains(got, "summaries are written by alice and read only by alice") {
		t.Errorf("author-only summaries: %q", got)
	}
	tm.Supervisors, tm.Exceptions = nil, nil
	got = Summarize(tm)
	for _, want := range []string{"alice mentors bob; no supervisor is named", "no exception allows a note to be disclosed"} {
		if !slices.Contains(got, want) {
			t.Errorf("summary lacks %q: %q", want, got)
		}
	}
	if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "consent") }) {
		t.Errorf("no supervisor, yet consent is mentioned: %q", got)
	}
}

func TestDiffTerms(t *testing.T) {
	base := practiceTerms()
	for _, c := range []struct {
		name string
		edit func(*Terms)
		want []Change
	}{
		{"nothing", func(*Terms) {}, nil},
		{"supervisor added", func(t *Terms) { t.Supervisors = []string{"carol", "dave"} }, []Change{
			{"supervisors", Wider, "dave becomes a supervisor"},
			{"consent", Wider, "dave may now read session notes with bob's consent"},
			{"consent", Wider, "dave may now read summaries with bob's consent"},
			{"exceptions", Wider, "dave may now receive a disclosure under risk-of-harm"},
		}},
		{"custodian added", func(t *Terms) { t.Custodians = []string{"carol"} }, []Change{
			{"holds", Wider, "carol may now place a legal hold"},
		}},
		{"mentor reads the mentee's reflections", func(t *Terms) {
			t.Readers = map[Kind][]string{Session: {"mentor", "mentee"}, Reflection: {"author", "mentor"}, Summary: {"author", "mentee"}}
		}, []Change{{"readers", Wider, "alice can now read reflections written by bob"}}},
		{"mentee loses summaries", func(t *Terms) {
			t.Readers = map[Kind][]string{Session: {"mentor", "mentee"}, Reflection: {"author"}, Summary: {"author"}}
		}, []Change{
			{"readers", Narrower, "bob can no longer read summaries"},
			// Only a reader of a kind consents to it: bob no longer can.
			{"consent", Narrower, "carol may no longer read summaries, even with consent"},
		}},
		{"retention", func(t *Terms) {
			t.Retention = map[Kind]time.Duration{Session: 730 * day, Reflection: 30 * day, Summary: 0}
		}, []Change{
			{"retention", Longer, "session notes are kept longer: 730 days after they are written (were 365 days)"},
			{"retention", Shorter, "reflections are kept less long: 30 days after they are written (were 90 days)"},
			{"retention", Longer, "summaries are kept until someone deletes them (were destroyed after 180 days)"},
		}},
		{"exceptions", func(t *Terms) { t.Exceptions = []string{"legal-obligation"} }, []Change{
			{"exceptions", Wider, "exception legal-obligation is added: a reader of a note may disclose it to carol"},
			{"exceptions", Narrower, "exception risk-of-harm is removed"},
		}},
		{"caps and after_close", func(t *Terms) { t.MaxGrant, t.MaxConsent, t.AfterClose = 30*day, 400*day, 30*day }, []Change{
			{"sharing", Narrower, "a grant may last less long: at most 30 days (was 90 days)"},
			{"sharing", Wider, "a consent may last longer: at most 400 days (was 365 days)"},
			{"retention", Shorter, "notes are destroyed at most 30 days after the relationship ends (was their own periods)"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := practiceTerms()
			c.edit(&b)
			got := DiffTerms(base, b)
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", changes(got), changes(c.want))
			}
			// The reverse diff names as many changes, each the other way.
			back := DiffTerms(b, base)
			if len(back) != len(got) {
				t.Errorf("reverse diff has %d changes, forward %d:\n%s", len(back), len(got), changes(back))
			}
		})
	}
}

func changes(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + c.Area + " " + string(c.Effect) + " " + c.Text + "\n")
	}
	return b.String()
}
