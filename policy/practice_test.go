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

func TestSummarizePrint(t *testing.T) {
	tm := practiceTerms()
	tm.AfterClose = 30 * day
	tm.MaxGrant = 30 * day
	for _, s := range Summarize(tm) {
		t.Log(s)
	}
	b := practiceTerms()
	b.Supervisors = []string{"carol", "dave"}
	b.Readers = map[Kind][]string{Session: {"mentor", "mentee"}, Reflection: {"author", "mentor"}, Summary: {"author", "mentee"}}
	b.Retention[Session] = 730 * day
	b.Exceptions = nil
	for _, c := range DiffTerms(practiceTerms(), b) {
		t.Log(c)
	}
	_ = slices.Contains[[]string]
	_ = strings.Contains
}
