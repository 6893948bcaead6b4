package agreement

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withoutLines returns a copy of a without its line table, for comparison.
func withoutLines(a *Agreement) Agreement {
	c := *a
	c.lines = nil
	return c
}

func TestParseSketch(t *testing.T) {
	a, err := Parse(readFile(t, "testdata/alice-bob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Agreement{
		Name:            "Alice mentors Bob",
		Mentor:          "alice",
		Mentee:          "bob",
		Supervisors:     []string{"carol"},
		Purpose:         "Land a data-science role within 6 months",
		Cadence:         "biweekly 30-minute video calls",
		Boundaries:      []string{"no personal financial advice", "no hiring decisions"},
		SuccessCriteria: []Criterion{{ID: "c1", What: "ship a portfolio project by 2027-03-01"}},
		Review:          "quarterly",
		ReviewEvery:     90 * day,
		Confidentiality: Confidentiality{
			Readers: map[policy.Kind][]string{
				policy.Session:    {"mentor", "mentee"},
				policy.Reflection: {"author"},
				policy.Summary:    {"author", "mentee"},
				policy.Review:     {"mentor", "mentee"},
				policy.Scorecard:  {"mentor", "mentee"},
				policy.Recording:  {"mentor", "mentee"},
			},
			Exceptions: []string{"risk-of-harm", "legal-obligation"},
		},
		Retention: map[policy.Kind]time.Duration{
			policy.Session:    365 * day,
			policy.Reflection: 90 * day,
			policy.Summary:    180 * day,
			policy.Review:     365 * day, // like session notes
			policy.Scorecard:  365 * day, // like session notes
			policy.Recording:  30 * day,  // its own default
		},
		Schema: 2,
	}
	if got := withoutLines(a); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(alice-bob.yaml) =\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseEveryField(t *testing.T) {
	in := `# A complete agreement.
name: "Dana mentors Eli"
mentor: dana
mentee: eli_2
supervisors:
  - frank
  - grace-h
purpose: |
  Grow into a staff engineer.
scope: technical leadership; not line management
cadence: weekly, 45 minutes
channels: [video, chat]
topics: [design reviews, writing, 2026]
boundaries: []
success_criteria:
  - lead one cross-team design
review: every 13w
confidentiality:
  private: everything said in sessions, unless both agree
  readers:
    session: [mentee, mentor]
    summary: [author]
  exceptions:
    - risk-of-harm
    - legal-obligation
    - 2nd-line
retention:
  session: 1w2d
  reflection: 1d12h
  summary: 5s
destruction: within 30 days of the agreement ending
`
	a, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Agreement{
		Name:            "Dana mentors Eli",
		Mentor:          "dana",
		Mentee:          "eli_2",
		Supervisors:     []string{"frank", "grace-h"},
		Purpose:         "Grow into a staff engineer.",
		Scope:           "technical leadership; not line management",
		Cadence:         "weekly, 45 minutes",
		Channels:        []string{"video", "chat"},
		Topics:          []string{"design reviews", "writing", "2026"},
		SuccessCriteria: []Criterion{{ID: "c1", What: "lead one cross-team design"}},
		Review:          "every 13w",
		ReviewEvery:     91 * day,
		Confidentiality: Confidentiality{
			Private: "everything said in sessions, unless both agree",
			Readers: map[policy.Kind][]string{
				policy.Session:    {"mentee", "mentor"},
				policy.Reflection: {"author"}, // the default
				policy.Summary:    {"author"},
				policy.Review:     {"mentor", "mentee"},
				policy.Scorecard:  {"mentor", "mentee"},
				policy.Recording:  {"mentor", "mentee"},
			},
			Exceptions: []string{"risk-of-harm", "legal-obligation", "2nd-line"},
		},
		Retention: map[policy.Kind]time.Duration{
			policy.Session:    9 * day,
			policy.Reflection: 36 * time.Hour,
			policy.Summary:    5 * time.Second,
			policy.Review:     9 * day,
			policy.Scorecard:  9 * day,
			policy.Recording:  30 * day,
		},
		Destruction: "within 30 days of the agreement ending",
		Schema:      2,
	}
	if got := withoutLines(a); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseDefaultReaders(t *testing.T) {
	for _, in := range []string{minimal, minimal + "confidentiality:\n", minimal + "confidentiality: {private: notes}\n"} {
		a, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(a.Confidentiality.Readers, policy.DefaultReaders()) {
			t.Errorf("Parse(%q) readers = %v, want the defaults %v", in, a.Confidentiality.Readers, policy.DefaultReaders())
		}
		if a.Supervisors != nil || a.Confidentiality.Exceptions != nil {
			t.Errorf("Parse(%q) = %+v, want no supervisors and no exceptions", in, a)
		}
	}
}

// minimal is the smallest valid agreement; it takes lines 1 to 4, so what a
// test appends starts on line 5.
const minimal = `name: n
mentor: alice
mentee: bob
retention: {session: 1d, reflection: 1d, summary: 1d}
`

// minimalWithout returns minimal without the line that starts with field.
func minimalWithout(field string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(minimal, "\n") {
		if !strings.HasPrefix(l, field+":") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		line  int
		field string
		msg   string // the whole message when it starts with "agreement", else a part of it
	}{
		// The file as a whole.
		{"empty", "", 0, "", "agreement: the file is empty"},
		{"blank", " \n\n\t\n", 0, "", "agreement: the file is empty"},
		{"only comments", "# nothing yet\n", 0, "", "no YAML document"},
		{"bare document marker", "---\n", 0, "", "holds no fields"},
		{"too large", minimal + "purpose: " + strings.Repeat("x", MaxSize) + "\n", 0, "", "larger than the 1048576 bytes (1 MiB)"},
		{"two documents", minimal + "---\nname: other\n", 5, "", "more than one YAML document"},
		{"garbage", "name: [unclosed\nmentor: alice\n", 1, "", "not valid YAML: did not find expected ',' or ']'"},
		{"mapping in a scalar", minimal + "purpose: a: b\n", 5, "", "not valid YAML: mapping values are not allowed in this context"},
		{"tab indentation", "name: n\n\tmentor: alice\n", 2, "", "not valid YAML: found a tab character"},
		{"invalid utf-8", "name: \xff\n", 0, "", "not valid YAML: invalid"},
		{"a list", "- name: n\n", 1, "", "must be a mapping of fields (name: ..., mentor: ...), not a list"},
		{"a string", "hello\n", 1, "", "must be a mapping of fields"},
		{"undefined alias", minimal + "purpose: *p\n", 0, "", "unknown anchor"},
		{"alias", "name: &n n\nmentor: *n\nmentee: bob\n", 2, "mentor", "not an alias (*n); aliases are not supported"},
		{"merge key", minimal + "<<: {x: 1}\n", 5, "<<", `unknown field "<<"`},

		// Fields that do not belong.
		{"very long field name", minimal + strings.Repeat("x", 100) + ": 1\n", 5, "", `field name "` + strings.Repeat("x", 64) + `..." is too long to be a field`},
		{"very long reader", minimal + "confidentiality:\n  readers: {session: [" + strings.Repeat("y", 5000) + "]}\n", 6, "confidentiality.readers.session", `unknown reader "` + strings.Repeat("y", 64) + `..."`},
		{"unknown field", minimal + "colour: blue\n", 5, "colour", `agreement line 5: unknown field "colour"`},
		{"typo", "name: n\nmentors: alice\n", 2, "mentors", `agreement line 2: unknown field "mentors" (did you mean "mentor"?)`},
		{"unknown nested field", minimal + "confidentiality:\n  private: x\n  colour: blue\n", 7, "confidentiality.colour", `unknown field "confidentiality.colour"`},
		{"non-scalar key", minimal + "? [a, b]\n: c\n", 5, "", "field names must be plain words, not a list"},
		{"duplicate key", minimal + "mentor: carol\n", 5, "mentor", `agreement line 5: field "mentor" is given twice (first on line 2)`},
		{"duplicate nested key", minimal + "confidentiality:\n  readers:\n    session: [mentor]\n    session: [mentee]\n", 8, "confidentiality.readers.session", "is given twice (first on line 7)"},
		{"duplicate retention kind", "name: n\nmentor: a\nmentee: b\nretention:\n  session: 1d\n  session: 2d\n", 6, "retention.session", "given twice"},

		// Wrong shapes.
		{"name is a list", "name: [a, b]\n", 1, "name", `agreement line 1: field "name": expected text, not a list`},
		{"purpose is a mapping", minimal + "purpose:\n  why: growth\n", 6, "purpose", "expected text, not a mapping"},
		{"supervisors is text", minimal + "supervisors: carol\n", 5, "supervisors", "expected a list, not text"},
		{"boundaries is a mapping", minimal + "boundaries: {a: b}\n", 5, "boundaries", "expected a list, not a mapping"},
		{"topics holds a list", minimal + "topics: [a, [b]]\n", 5, "topics", "expected text, not a list"},
		{"empty list entry", minimal + "channels: [video, '']\n", 5, "channels", "empty entry in the list"},
		{"null list entry", minimal + "success_criteria:\n  - one\n  -\n", 7, "success_criteria", "empty entry in the list"},
		{"confidentiality is a list", minimal + "confidentiality: [a]\n", 5, "confidentiality", "expected a mapping of private, readers and exceptions, not a list"},
		{"readers is a list", minimal + "confidentiality:\n  readers: [mentor]\n", 6, "confidentiality.readers", "expected a mapping of kinds of note (session, reflection, summary, review, scorecard or recording), not a list"},
		{"retention is text", "name: n\nmentor: a\nmentee: b\nretention: 90d\n", 4, "retention", "expected a mapping of kinds of note"},
		{"retention is null", "name: n\nmentor: a\nmentee: b\nretention:\n", 4, "retention", "not nothing (null)"},
		{"custom tag", "name: !secret n\n", 1, "name", "expected text, not a value tagged !secret"},

		// Required fields.
		{"missing name", minimalWithout("name"), 0, "name", `agreement: missing required field "name"`},
		{"missing mentor", minimalWithout("mentor"), 0, "mentor", `agreement: missing required field "mentor"`},
		{"missing mentee", minimalWithout("mentee"), 0, "mentee", `agreement: missing required field "mentee"`},
		{"missing retention", minimalWithout("retention"), 0, "retention", `agreement: missing required field "retention"`},
		{"missing retention kind", "name: n\nmentor: a\nmentee: b\nretention:\n  session: 1d\n  summary: 1d\n", 4, "retention.reflection", `agreement line 4: missing required field "retention.reflection" (session notes, reflections and summaries each need a retention period)`},
		{"empty name", "name: ''\n", 1, "name", "must not be empty"},
		{"blank name", "name: '  '\n", 1, "name", "must not be empty"},
		{"null mentor", "name: n\nmentor:\n", 2, "mentor", "needs a participant name"},

		// Participants.
		{"capitalised name", "name: n\nmentor: Alice\n", 2, "mentor", `agreement line 2: field "mentor": "Alice" is not a valid participant name (it must match ^[a-z][a-z0-9_-]{0,31}$)`},
		{"name with a space", "name: n\nmentor: alice\nmentee: bob smith\n", 3, "mentee", "^[a-z][a-z0-9_-]{0,31}$"},
		{"name too long", "name: n\nmentor: a" + strings.Repeat("b", 32) + "\n", 2, "mentor", "is not a valid participant name"},
		{"name starts with a digit", "name: n\nmentor: 1alice\n", 2, "mentor", "is not a valid participant name"},
		{"number as name", "name: n\nmentor: 42\n", 2, "mentor", `"42" is not a valid participant name`},
		{"mentor is mentee", "name: n\nmentor: alice\nmentee: alice\nretention: {session: 1d, reflection: 1d, summary: 1d}\n", 3, "mentee", `agreement line 3: field "mentee": "alice" is also the mentor; mentor and mentee must be different people`},
		{"invalid supervisor", minimal + "supervisors: [carol, Dave]\n", 5, "supervisors", `"Dave" is not a valid participant name`},
		{"duplicate supervisor", minimal + "supervisors:\n  - carol\n  - dave\n  - carol\n", 8, "supervisors", `supervisor "carol" is named twice (first on line 6)`},
		{"supervisor is mentor", minimal + "supervisors: [carol, alice]\n", 5, "supervisors", `"alice" is the mentor and cannot also be a supervisor`},
		{"supervisor is mentee", minimal + "supervisors:\n  - bob\n", 6, "supervisors", `"bob" is the mentee and cannot also be a supervisor`},

		// Readers.
		{"unknown reader", "name: n\nmentor: alice\nmentee: bob\nretention: {session: 1d, reflection: 1d, summary: 1d}\nconfidentiality:\n  readers:\n    session: [mentor, bob]\n", 7, "confidentiality.readers.session",
			`agreement line 7: field "confidentiality.readers.session": unknown reader "bob" (use mentor, mentee or author)`},
		{"supervisor as reader", minimal + "confidentiality:\n  readers: {summary: [author, supervisor]}\n", 6, "confidentiality.readers.summary", `"supervisor" cannot be a reader: supervisors read only through consent and grants`},
		{"supervisors as reader", minimal + "confidentiality:\n  readers: {summary: [supervisors]}\n", 6, "confidentiality.readers.summary", "supervisors read only through consent and grants"},
		{"named supervisor as reader", minimal + "confidentiality:\n  readers:\n    summary:\n      - carol\nsupervisors: [carol]\n", 8, "confidentiality.readers.summary", `"carol" cannot be a reader: supervisors read only through consent and grants`},
		{"duplicate reader", minimal + "confidentiality:\n  readers: {session: [mentor, mentee, mentor]}\n", 6, "confidentiality.readers.session", `reader "mentor" is named twice`},
		{"no readers", minimal + "confidentiality:\n  readers:\n    session: []\n", 7, "confidentiality.readers.session", "needs at least one reader"},
		{"null readers", minimal + "confidentiality:\n  readers:\n    session:\n", 7, "confidentiality.readers.session", "needs at least one reader"},
		{"null reader", minimal + "confidentiality:\n  readers:\n    session: [mentor, ~]\n", 7, "confidentiality.readers.session", "empty reader"},
		{"readers not a list", minimal + "confidentiality:\n  readers:\n    session: mentor\n", 7, "confidentiality.readers.session", "expected a list, not text"},
		{"unknown kind in readers", minimal + "confidentiality:\n  readers:\n    notes: [mentor]\n", 7, "confidentiality.readers", `unknown kind of note "notes" (use session, reflection, summary, review, scorecard or recording)`},
		{"plural kind in readers", minimal + "confidentiality:\n  readers:\n    sessions: [mentor]\n", 7, "confidentiality.readers", `unknown kind of note "sessions"`},

		// Exceptions.
		{"exception not a slug", minimal + "confidentiality:\n  exceptions: [risk-of-harm, Legal obligation]\n", 6, "confidentiality.exceptions", `exception "Legal obligation" is not a slug`},
		{"exception with underscore", minimal + "confidentiality:\n  exceptions:\n    - risk_of_harm\n", 7, "confidentiality.exceptions", "is not a slug"},
		{"duplicate exception", minimal + "confidentiality:\n  exceptions:\n    - risk-of-harm\n    - risk-of-harm\n", 8, "confidentiality.exceptions", `exception "risk-of-harm" is named twice (first on line 7)`},
		{"exceptions is text", minimal + "confidentiality:\n  exceptions: risk-of-harm\n", 6, "confidentiality.exceptions", "expected a list, not text"},

		// Retention.
		{"unparsable retention", "name: n\nmentor: a\nmentee: b\nretention:\n  session: soon\n", 5, "retention.session", `agreement line 5: field "retention.session": "soon" is not a duration (use e.g. 90d, 2w, 36h, 5s)`},
		{"retention without unit", "name: n\nmentor: a\nmentee: b\nretention: {session: 365}\n", 4, "retention.session", `"365" is not a duration`},
		{"zero retention", "name: n\nmentor: a\nmentee: b\nretention:\n  session: 1d\n  reflection: 0d\n", 6, "retention.reflection", `duration "0d" must be longer than zero`},
		{"negative retention", "name: n\nmentor: a\nmentee: b\nretention:\n  session: -5d\n", 5, "retention.session", "must be longer than zero"},
		{"huge retention", "name: n\nmentor: a\nmentee: b\nretention:\n  session: 999999999w\n", 5, "retention.session", "too long for a duration"},
		{"empty retention", "name: n\nmentor: a\nmentee: b\nretention:\n  session:\n", 5, "retention.session", `"" is not a duration`},
		{"retention list", "name: n\nmentor: a\nmentee: b\nretention:\n  session: [1d]\n", 5, "retention.session", "expected text, not a list"},
		{"unknown kind in retention", "name: n\nmentor: a\nmentee: b\nretention:\n  session: 1d\n  memo: 1d\n", 6, "retention", `unknown kind of note "memo" (use session, reflection, summary, review, scorecard or recording; or after_close)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", a)
			}
			if a != nil {
				t.Errorf("Parse returned an agreement with the error %v", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if e.Line != tt.line || e.Field != tt.field {
				t.Errorf("error %q: line %d, field %q; want line %d, field %q", err, e.Line, e.Field, tt.line, tt.field)
			}
			got := err.Error()
			if strings.HasPrefix(tt.msg, "agreement") {
				if got != tt.msg {
					t.Errorf("error\n%s\nwant\n%s", got, tt.msg)
				}
			} else if !strings.Contains(got, tt.msg) {
				t.Errorf("error %q does not contain %q", got, tt.msg)
			}
			if tt.line > 0 && !strings.HasPrefix(got, "agreement line ") {
				t.Errorf("error %q does not start with its line", got)
			}
			if tt.field != "" && !strings.Contains(got, `"`+tt.field+`"`) {
				t.Errorf("error %q does not name the field %q", got, tt.field)
			}
			if strings.Contains(got, "\n") {
				t.Errorf("error %q is more than one line", got)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Line: 7, Field: "confidentiality.readers.session", Msg: `unknown reader "bob" (use mentor, mentee or author)`},
			`agreement line 7: field "confidentiality.readers.session": unknown reader "bob" (use mentor, mentee or author)`},
		{Error{Field: "mentor", Msg: `missing required field "mentor"`}, `agreement: missing required field "mentor"`},
		{Error{Line: 9, Field: "colour", Msg: `unknown field "colour"`}, `agreement line 9: unknown field "colour"`},
		{Error{Field: "mentor", Msg: "not registered"}, `agreement: field "mentor": not registered`},
		{Error{Msg: "the file is empty"}, "agreement: the file is empty"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestCheckParticipants(t *testing.T) {
	registry := map[string]string{
		"alice": "mentor",
		"bob":   "mentee",
		"carol": "supervisor",
		"dave":  "supervisor",
		"erin":  "mentor",
	}
	roleOf := func(name string) (string, bool) {
		role, ok := registry[name]
		return role, ok
	}
	tests := []struct {
		name  string
		in    string
		line  int
		field string
		msg   string
	}{
		{"all registered", minimal + "supervisors: [carol, dave]\n", 0, "", ""},
		{"no supervisors", minimal, 0, "", ""},
		{"unknown mentor", "name: n\nmentor: zoe\nmentee: bob\nretention: {session: 1d, reflection: 1d, summary: 1d}\n", 2, "mentor",
			`agreement line 2: field "mentor": "zoe" is not a registered participant (add them with: notevault participant add zoe --role mentor --key ...)`},
		{"mentor with mentee role", "name: n\nmentor: bob\nmentee: alice\nretention: {session: 1d, reflection: 1d, summary: 1d}\n", 2, "mentor",
			`agreement line 2: field "mentor": "bob" is registered as "mentee", not as mentor`},
		{"unknown mentee", "name: n\nmentor: alice\nmentee: zoe\nretention: {session: 1d, reflection: 1d, summary: 1d}\n", 3, "mentee", `"zoe" is not a registered participant`},
		{"mentee with supervisor role", "name: n\nmentor: alice\nmentee: carol\nretention: {session: 1d, reflection: 1d, summary: 1d}\n", 3, "mentee", `"carol" is registered as "supervisor", not as mentee`},
		{"unknown supervisor", minimal + "supervisors:\n  - carol\n  - zoe\n", 7, "supervisors", `"zoe" is not a registered participant`},
		{"supervisor with mentor role", minimal + "supervisors: [erin]\n", 5, "supervisors", `"erin" is registered as "mentor", not as supervisor`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			err = a.CheckParticipants(roleOf)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("CheckParticipants: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("CheckParticipants = %v (%T), want an *Error", err, err)
			}
			if e.Line != tt.line || e.Field != tt.field {
				t.Errorf("error %q: line %d, field %q; want line %d, field %q", err, e.Line, e.Field, tt.line, tt.field)
			}
			if got := err.Error(); strings.HasPrefix(tt.msg, "agreement") && got != tt.msg || !strings.Contains(got, tt.msg) {
				t.Errorf("error\n%s\nwant\n%s", got, tt.msg)
			}
		})
	}

	t.Run("built by hand", func(t *testing.T) {
		a := &Agreement{Mentor: "alice", Mentee: "zoe"}
		err := a.CheckParticipants(roleOf)
		want := `agreement: field "mentee": "zoe" is not a registered participant`
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckParticipants = %v, want %s...", err, want)
		}
	})
	t.Run("no registry", func(t *testing.T) {
		a := &Agreement{Mentor: "alice", Mentee: "bob"}
		if err := a.CheckParticipants(nil); err == nil {
			t.Error("CheckParticipants(nil) = nil, want an error")
		}
	})
}

func TestTerms(t *testing.T) {
	a, err := Parse(readFile(t, "testdata/alice-bob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := a.Terms("agr-1", 3)
	want := policy.Terms{
		Agreement:   "agr-1",
		Version:     3,
		Mentor:      "alice",
		Mentee:      "bob",
		Supervisors: []string{"carol"},
		Readers: map[policy.Kind][]string{
			policy.Session:    {policy.ReaderMentor, policy.ReaderMentee},
			policy.Reflection: {policy.ReaderAuthor},
			policy.Summary:    {policy.ReaderAuthor, policy.ReaderMentee},
			policy.Review:     {policy.ReaderMentor, policy.ReaderMentee},
			policy.Scorecard:  {policy.ReaderMentor, policy.ReaderMentee},
			policy.Recording:  {policy.ReaderMentor, policy.ReaderMentee},
		},
		Exceptions:          []string{"risk-of-harm", "legal-obligation"},
		ExceptionRecipients: map[string][]string{"risk-of-harm": nil, "legal-obligation": nil},
		Retention: map[policy.Kind]time.Duration{
			policy.Session:    365 * 24 * time.Hour,
			policy.Reflection: 90 * 24 * time.Hour,
			policy.Summary:    180 * 24 * time.Hour,
			policy.Review:     365 * 24 * time.Hour,
			policy.Scorecard:  365 * 24 * time.Hour,
			policy.Recording:  30 * 24 * time.Hour,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Terms =\n%#v\nwant\n%#v", got, want)
	}

	// The terms share no memory with the agreement.
	got.Supervisors[0] = "mallory"
	got.Readers[policy.Session][0] = "mallory"
	got.Exceptions[0] = "mallory"
	got.Retention[policy.Session] = time.Second
	if a.Supervisors[0] != "carol" || a.Confidentiality.Readers[policy.Session][0] != "mentor" ||
		a.Confidentiality.Exceptions[0] != "risk-of-harm" || a.Retention[policy.Session] != 365*day {
		t.Errorf("changing the terms changed the agreement: %+v", a)
	}

	// An agreement built by hand, with nothing optional.
	empty := (&Agreement{Mentor: "a", Mentee: "b"}).Terms("x", 1)
	if empty.Agreement != "x" || empty.Version != 1 || empty.Mentor != "a" || empty.Mentee != "b" || empty.Supervisors != nil {
		t.Errorf("Terms of a bare agreement = %+v", empty)
	}
}
