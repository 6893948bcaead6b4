package agreement

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/notevault/notevault/policy"
)

// FuzzParse checks that Parse never panics, that every refusal is a
// one-line *Error, and that what it accepts is valid. Its seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/alice-bob.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(full))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Every schema: a vault reads old texts under the one they were
		// written with.
		for schema := 1; schema <= Schema; schema++ {
			checkParse(t, data, schema)
		}
	})
}

func checkParse(t *testing.T, data []byte, schema int) {
	{
		a, err := ParseSchema(data, schema)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, not an *Error", err, err)
			}
			if a != nil {
				t.Fatalf("Parse returned an agreement with the error %v", err)
			}
			if e.Line < 0 || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		if a.Name == "" || !namePattern().MatchString(a.Mentor) || !namePattern().MatchString(a.Mentee) || a.Mentor == a.Mentee {
			t.Fatalf("accepted invalid people: %+v", a)
		}
		for i, s := range a.Supervisors {
			if !namePattern().MatchString(s) || s == a.Mentor || s == a.Mentee || slices.Contains(a.Supervisors[:i], s) {
				t.Fatalf("accepted invalid supervisor %q", s)
			}
		}
		kinds := policy.KindsOf(schema)
		for _, k := range kinds {
			if a.Retention[k] <= 0 {
				t.Fatalf("retention of %s is %v", k, a.Retention[k])
			}
			readers := a.Confidentiality.Readers[k]
			if len(readers) == 0 {
				t.Fatalf("no readers for %s", k)
			}
			for _, r := range readers {
				if r != policy.ReaderMentor && r != policy.ReaderMentee && r != policy.ReaderAuthor {
					t.Fatalf("accepted reader %q for %s", r, k)
				}
			}
		}
		if len(a.Retention) != len(kinds) || len(a.Confidentiality.Readers) != len(kinds) {
			t.Fatalf("accepted unknown kinds: %v %v", a.Retention, a.Confidentiality.Readers)
		}
		for _, e := range a.Confidentiality.Exceptions {
			if !slugPattern().MatchString(e) {
				t.Fatalf("accepted exception %q", e)
			}
		}
		party := func(name string) bool {
			return name == a.Mentor || name == a.Mentee || slices.Contains(a.Supervisors, name)
		}
		for _, c := range a.Custodians {
			if !party(c) {
				t.Fatalf("accepted custodian %q, not a party", c)
			}
		}
		for e, rs := range a.Confidentiality.Recipients {
			if !slices.Contains(a.Confidentiality.Exceptions, e) || len(rs) == 0 {
				t.Fatalf("recipients of %q: %v", e, rs)
			}
			for _, r := range rs {
				if !party(r) {
					t.Fatalf("accepted recipient %q, not a party", r)
				}
			}
		}
		ids := map[string]bool{}
		for _, c := range a.SuccessCriteria {
			if c.What == "" || ids[c.ID] {
				t.Fatalf("accepted criterion %+v", c)
			}
			ids[c.ID] = true
		}
		if schema < 2 && (a.Clauses != nil || a.Custodians != nil || a.ReviewEvery != 0 || a.AfterClose != 0 || a.Sharing != (Sharing{}) || !a.Start.IsZero()) {
			t.Fatalf("schema 1 read a field of schema 2: %+v", a)
		}
		if !a.Start.IsZero() && !a.End.IsZero() && !a.End.After(a.Start) {
			t.Fatalf("accepted an end before the start")
		}
		terms := a.Terms("id", 1)
		if terms.Mentor != a.Mentor || terms.Mentee != a.Mentee {
			t.Fatalf("Terms = %+v", terms)
		}
		_ = a.CheckParticipants(func(name string) (string, bool) { return "mentor", name == a.Mentor })
	}
}
