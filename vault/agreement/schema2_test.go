package agreement

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// full is an agreement with every field schema 2 adds.
const full = `name: Alice mentors Bob
mentor: alice
mentee: bob
supervisors: [carol, dora]
start: 2026-12-01
end: 2027-11-30
clauses:
  roles: alice guides, bob leads
  responsibilities: |
    bob brings an agenda;
    alice reads it beforehand
  power_dynamics: alice has no say in bob's reviews
success_criteria:
  - ship a portfolio project
  - {id: portfolio, what: a public portfolio, measure: three projects online, due: 2027-03-01}
  - {what: one mock interview}
review: every 90d
holds:
  custodians: [dora]
confidentiality:
  exceptions:
    risk-of-harm: [carol]
    legal-obligation:
sharing: {max_grant: 30d, max_consent: 180d}
retention: {session: 365d, reflection: 90d, summary: 180d, recording: 7d, after_close: 30d}
`

func TestParseSchema2Fields(t *testing.T) {
	a, err := Parse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if a.Schema != 2 {
		t.Errorf("Schema = %d", a.Schema)
	}
	wantClauses := []Clause{
		{"roles", "alice guides, bob leads"},
		{"responsibilities", "bob brings an agenda;\nalice reads it beforehand"},
		{"power_dynamics", "alice has no say in bob's reviews"},
	}
	if !reflect.DeepEqual(a.Clauses, wantClauses) {
		t.Errorf("Clauses = %#v", a.Clauses)
	}
	if a.Start != time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) || a.End != time.Date(2027, 11, 30, 0, 0, 0, 0, time.UTC) {
		t.Errorf("Start, End = %v, %v", a.Start, a.End)
	}
	wantCriteria := []Criterion{
		{ID: "c1", What: "ship a portfolio project"},
		{ID: "portfolio", What: "a public portfolio", Measure: "three projects online", Due: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "c3", What: "one mock interview"},
	}
	if !reflect.DeepEqual(a.SuccessCriteria, wantCriteria) {
		t.Errorf("SuccessCriteria = %#v", a.SuccessCriteria)
	}
	if a.Review != "every 90d" || a.ReviewEvery != 90*day {
		t.Errorf("Review = %q, %v", a.Review, a.ReviewEvery)
	}
	if a.Sharing != (Sharing{MaxGrant: 30 * day, MaxConsent: 180 * day}) || a.AfterClose != 30*day {
		t.Errorf("Sharing = %+v, AfterClose = %v", a.Sharing, a.AfterClose)
	}
	if a.Retention[policy.Recording] != 7*day || a.Retention[policy.Review] != 365*day {
		t.Errorf("Retention = %v", a.Retention)
	}
	terms := a.Terms("a-1", 2)
	want := policy.Terms{
		Custodians:          []string{"dora"},
		ExceptionRecipients: map[string][]string{"risk-of-harm": {"carol"}, "legal-obligation": nil},
		MaxGrant:            30 * day,
		MaxConsent:          180 * day,
		AfterClose:          30 * day,
		Start:               a.Start,
		End:                 a.End,
	}
	got := policy.Terms{Custodians: terms.Custodians, ExceptionRecipients: terms.ExceptionRecipients, MaxGrant: terms.MaxGrant,
		MaxConsent: terms.MaxConsent, AfterClose: terms.AfterClose, Start: terms.Start, End: terms.End}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Terms =\n%#v\nwant\n%#v", got, want)
	}
	if !reflect.DeepEqual(terms.Exceptions, []string{"risk-of-harm", "legal-obligation"}) {
		t.Errorf("Terms.Exceptions = %v", terms.Exceptions)
	}
	// The terms share no memory with the agreement.
	terms.Custodians[0] = "mallory"
	terms.ExceptionRecipients["risk-of-harm"][0] = "mallory"
	if a.Custodians[0] != "dora" || a.Confidentiality.Recipients["risk-of-harm"][0] != "carol" {
		t.Error("changing the terms changed the agreement")
	}
}

func TestParseReviewSchedules(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"every 90d": 90 * day, "Every 2w": 14 * day, "every 36h": 36 * time.Hour, "quarterly": 90 * day,
		"monthly": 30 * day, "Weekly": 7 * day, "fortnightly": 14 * day, "yearly": 365 * day,
	} {
		a, err := Parse([]byte(minimal + "review: " + in + "\n"))
		if err != nil || a.ReviewEvery != want || a.Review != in {
			t.Errorf("review %q: %v, %v; want %v", in, a, err, want)
		}
	}
	a, err := Parse([]byte(minimal + "review:\n"))
	if err != nil || a.ReviewEvery != 0 {
		t.Errorf("review null: %v, %v", a, err)
	}
}

func TestParseSchema2Refusals(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		line  int
		field string
		msg   string
	}{
		{"review free text", minimal + "review: every three months, in person\n", 5, "review", `"every three months, in person" is not a schedule`},
		{"review not a schedule", minimal + "review: when we feel like it\n", 5, "review", `"when we feel like it" is not a schedule (write every <duration>, such as every 90d, or one of weekly, fortnightly, monthly, quarterly, yearly)`},
		{"review zero", minimal + "review: every 0d\n", 5, "review", "must be longer than zero"},
		{"clauses a list", minimal + "clauses: [roles]\n", 5, "clauses", "expected a mapping of named clauses"},
		{"clause empty", minimal + "clauses:\n  roles:\n", 6, "clauses.roles", "the clause is empty"},
		{"clause bad name", minimal + "clauses:\n  Power Dynamics: x\n", 6, "clauses", `clause name "Power Dynamics" is not a plain name`},
		{"clause a list", minimal + "clauses:\n  roles: [a, b]\n", 6, "clauses.roles", "expected text, not a list"},
		{"clause twice", minimal + "clauses:\n  roles: a\n  roles: b\n", 7, "clauses.roles", "given twice (first on line 6)"},
		{"start not a date", minimal + "start: next monday\n", 5, "start", `"next monday" is not a date (write it as 2027-03-01)`},
		{"end before start", minimal + "start: 2027-01-01\nend: 2026-12-01\n", 6, "end", "the end (2026-12-01) must be after the start (2027-01-01)"},
		{"criterion no what", minimal + "success_criteria:\n  - {id: x, measure: y}\n", 6, "success_criteria.what", `criterion "x" needs what`},
		{"criterion unknown field", minimal + "success_criteria:\n  - {what: x, owner: y}\n", 6, "success_criteria.owner", `unknown field "success_criteria.owner"`},
		{"criterion bad id", minimal + "success_criteria:\n  - {id: Port Folio, what: x}\n", 6, "success_criteria.id", `"Port Folio" is not a criterion id`},
		{"criterion id twice", minimal + "success_criteria:\n  - {id: a, what: x}\n  - {id: a, what: y}\n", 7, "success_criteria", `criterion id "a" is used twice (first on line 6`},
		{"criterion id clashes with a place", minimal + "success_criteria:\n  - plain\n  - {id: c1, what: y}\n", 7, "success_criteria", `criterion id "c1" is used twice`},
		{"criterion bad due", minimal + "success_criteria:\n  - {what: x, due: soon}\n", 6, "success_criteria.due", `"soon" is not a date`},
		{"criterion a list", minimal + "success_criteria:\n  - [a]\n", 6, "success_criteria", "expected text or {id, what, measure, due}, not a list"},
		{"holds unknown", minimal + "holds: {keepers: [a]}\n", 5, "holds.keepers", `unknown field "holds.keepers"`},
		{"custodian not a party", minimal + "holds: {custodians: [mallory]}\n", 5, "holds.custodians", `custodian "mallory" is not a party of the agreement`},
		{"custodian twice", minimal + "holds:\n  custodians: [alice, alice]\n", 6, "holds.custodians", `custodian "alice" is named twice`},
		{"custodian bad name", minimal + "holds:\n  custodians: [Alice]\n", 6, "holds.custodians", `"Alice" is not a valid participant name`},
		{"recipient not a party", minimal + "confidentiality:\n  exceptions:\n    risk-of-harm: [mallory]\n", 7, "confidentiality.exceptions.risk-of-harm", `recipient "mallory" is not a party of the agreement`},
		{"recipients empty", minimal + "confidentiality:\n  exceptions:\n    risk-of-harm: []\n", 7, "confidentiality.exceptions.risk-of-harm", "names no recipient"},
		{"exception key not a slug", minimal + "confidentiality:\n  exceptions:\n    Risk Of Harm: [alice]\n", 7, "confidentiality.exceptions", `exception "Risk Of Harm" is not a slug`},
		{"sharing unknown", minimal + "sharing: {max_grants: 30d}\n", 5, "sharing.max_grants", `(did you mean "max_grant"?)`},
		{"sharing bad duration", minimal + "sharing: {max_consent: forever}\n", 5, "sharing.max_consent", "forever"},
		{"after_close bad", "name: n\nmentor: alice\nmentee: bob\nretention: {session: 1d, reflection: 1d, summary: 1d, after_close: -1d}\n", 4, "retention.after_close", ""},
		{"unknown top field", minimal + "clause: x\n", 5, "clause", `unknown field "clause" (did you mean "clauses"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.in))
			e, ok := err.(*Error)
			if !ok || a != nil {
				t.Fatalf("Parse = %v, %v; want an *Error", a, err)
			}
			if e.Line != tt.line || e.Field != tt.field {
				t.Errorf("error %q: line %d, field %q; want line %d, field %q", err, e.Line, e.Field, tt.line, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// TestParseSchema1 is how a vault reads a text stored before schema 2: as
// the first release did. Free-text review, plain criteria and the list form
// of exceptions read as they did; what schema 2 added is unknown there, so
// nothing written then changes meaning now.
func TestParseSchema1(t *testing.T) {
	old := minimal + "review: every three months, in person\nsuccess_criteria: [ship it]\nconfidentiality:\n  exceptions: [risk-of-harm]\n"
	a, err := ParseSchema([]byte(old), 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Schema != 1 || a.Review != "every three months, in person" || a.ReviewEvery != 0 {
		t.Errorf("schema 1 review = %d %q %v", a.Schema, a.Review, a.ReviewEvery)
	}
	if len(a.Retention) != 3 || len(a.Confidentiality.Readers) != 3 {
		t.Errorf("schema 1 kinds: %v %v", a.Retention, a.Confidentiality.Readers)
	}
	if !reflect.DeepEqual(a.SuccessCriteria, []Criterion{{ID: "c1", What: "ship it"}}) {
		t.Errorf("schema 1 criteria: %v", a.SuccessCriteria)
	}
	if tm := a.Terms("a", 1); !reflect.DeepEqual(tm.ExceptionRecipients, map[string][]string{"risk-of-harm": nil}) {
		t.Errorf("schema 1 recipients: %v", tm.ExceptionRecipients)
	}
	// The same text fails under schema 2, naming the line.
	if _, err := Parse([]byte(old)); err == nil || !strings.Contains(err.Error(), "agreement line 5: field \"review\"") {
		t.Errorf("Parse(old) = %v, want the review line refused", err)
	}
	for _, tt := range []struct{ in, msg string }{
		{minimal + "clauses: {roles: x}\n", `unknown field "clauses"`},
		{minimal + "start: 2027-01-01\n", `unknown field "start"`},
		{minimal + "holds: {custodians: [alice]}\n", `unknown field "holds"`},
		{minimal + "sharing: {max_grant: 1d}\n", `unknown field "sharing"`},
		{minimal + "success_criteria:\n  - {what: x}\n", "expected text, not a mapping"},
		{minimal + "confidentiality:\n  exceptions: {risk-of-harm: [alice]}\n", "expected a list, not a mapping"},
		{"name: n\nmentor: a\nmentee: b\nretention: {session: 1d, reflection: 1d, summary: 1d, review: 1d}\n", `unknown kind of note "review" (use session, reflection or summary)`},
		{"name: n\nmentor: a\nmentee: b\nretention: {session: 1d, reflection: 1d, summary: 1d, after_close: 1d}\n", `unknown kind of note "after_close"`},
	} {
		if _, err := ParseSchema([]byte(tt.in), 1); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseSchema(%q, 1) = %v, want %q", tt.in, err, tt.msg)
		}
	}
	for _, s := range []int{0, -1, Schema + 1} {
		if _, err := ParseSchema([]byte(minimal), s); err == nil || !strings.Contains(err.Error(), "schema version") {
			t.Errorf("ParseSchema(schema %d) = %v", s, err)
		}
	}
}

// TestParseNewKinds: the kinds schema 2 adds take readers and retention,
// and need neither.
func TestParseNewKinds(t *testing.T) {
	in := "name: n\nmentor: alice\nmentee: bob\n" +
		"confidentiality:\n  readers: {review: [mentor], scorecard: [author, mentee]}\n" +
		"retention: {session: 10d, reflection: 1d, summary: 1d, scorecard: 2d}\n"
	a, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Confidentiality.Readers[policy.Review], []string{"mentor"}) ||
		!reflect.DeepEqual(a.Confidentiality.Readers[policy.Recording], []string{"mentor", "mentee"}) {
		t.Errorf("readers = %v", a.Confidentiality.Readers)
	}
	if a.Retention[policy.Scorecard] != 2*day || a.Retention[policy.Review] != 10*day || a.Retention[policy.Recording] != 30*day {
		t.Errorf("retention = %v", a.Retention)
	}
}
