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
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
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
		if a.Name == "" || !namePattern.MatchString(a.Mentor) || !namePattern.MatchString(a.Mentee) || a.Mentor == a.Mentee {
			t.Fatalf("accepted invalid people: %+v", a)
		}
		for i, s := range a.Supervisors {
			if !namePattern.MatchString(s) || s == a.Mentor || s == a.Mentee || slices.Contains(a.Supervisors[:i], s) {
				t.Fatalf("accepted invalid supervisor %q", s)
			}
		}
		for _, k := range policy.Kinds {
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
		if len(a.Retention) != len(policy.Kinds) || len(a.Confidentiality.Readers) != len(policy.Kinds) {
			t.Fatalf("accepted unknown kinds: %v %v", a.Retention, a.Confidentiality.Readers)
		}
		for _, e := range a.Confidentiality.Exceptions {
			if !slugPattern.MatchString(e) {
				t.Fatalf("accepted exception %q", e)
			}
		}
		terms := a.Terms("id", 1)
		if terms.Mentor != a.Mentor || terms.Mentee != a.Mentee {
			t.Fatalf("Terms = %+v", terms)
		}
		_ = a.CheckParticipants(func(name string) (string, bool) { return "mentor", name == a.Mentor })
	})
}
