package vault

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
)

// sameRefusal fails unless a and b are both nil, or refuse for the same
// reason: the same sentinel, the same policy rule, the same message.
func sameRefusal(t *testing.T, a, b error) {
	t.Helper()
	if (a == nil) != (b == nil) {
		t.Fatalf("CanWrite said %v, AddNote %v", a, b)
	}
	if a == nil {
		return
	}
	var da, db *DeniedError
	if errors.As(a, &da) != errors.As(b, &db) || (da != nil && da.Decision.Rule != db.Decision.Rule) || a.Error() != b.Error() {
		t.Fatalf("CanWrite refused with %v, AddNote with %v", a, b)
	}
	for _, s := range []error{ErrNotFound, ErrNotParticipant, ErrInvalid} {
		if errors.Is(a, s) != errors.Is(b, s) {
			t.Fatalf("CanWrite refused with %v, AddNote with %v: they disagree on %v", a, b, s)
		}
	}
}

// CanWrite answers what AddNote then does, for every way a write can be
// refused and for the writes that are allowed; it writes and logs nothing.
func TestCanWriteAgreesWithAddNote(t *testing.T) {
	stranger := newIdentity(t)
	type tc struct {
		name string
		nn   func(f *fixture) NewNote
		who  func(f *fixture) *identity.Identity
		err  error  // the sentinel CanWrite refuses with, or nil
		rule string // else the policy rule it denies with, or "" for allowed
	}
	note := func(kind policy.Kind, c Content) func(f *fixture) NewNote {
		return func(f *fixture) NewNote { return NewNote{Agreement: f.agreement, Kind: kind, Content: c} }
	}
	alice := func(f *fixture) *identity.Identity { return f.alice }
	bob := func(f *fixture) *identity.Identity { return f.bob }
	carol := func(f *fixture) *identity.Identity { return f.carol }
	cases := []tc{
		{"mentor session", note(policy.Session, content("t", "b")), alice, nil, ""},
		{"mentee reflection", note(policy.Reflection, content("t", "b", "tag")), bob, nil, ""},
		{"mentor summary", note(policy.Summary, content("", "b")), alice, nil, ""},
		{"mentee summary", note(policy.Summary, content("t", "b")), bob, nil, "not-mentor"},
		{"supervisor session", note(policy.Session, content("t", "b")), carol, nil, "not-participant"},
		{"unknown kind", note(policy.Kind("diary"), content("t", "b")), alice, nil, "unknown-kind"},
		{"stranger", note(policy.Session, content("t", "b")), func(*fixture) *identity.Identity { return stranger }, ErrNotParticipant, ""},
		{"unknown agreement", func(*fixture) NewNote {
			return NewNote{Agreement: "a-nosuchagreement", Kind: policy.Session, Content: content("t", "b")}
		}, alice, ErrNotFound, ""},
		{"two-line title", note(policy.Session, content("two\nlines", "b")), alice, ErrInvalid, ""},
		{"tag with a comma", note(policy.Session, content("t", "b", "a,b")), alice, ErrInvalid, ""},
	}
	check := func(t *testing.T, f *fixture, c tc) {
		t.Helper()
		before, err := f.v.AuditLog(f.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		nn, who := c.nn(f), c.who(f)
		canErr := f.v.CanWrite(f.ctx, nn, who)
		after, _ := f.v.AuditLog(f.ctx, "")
		if len(after) != len(before) {
			t.Fatalf("CanWrite left %d audit records", len(after)-len(before))
		}
		switch {
		case c.err != nil:
			if !errors.Is(canErr, c.err) {
				t.Fatalf("CanWrite: %v, want %v", canErr, c.err)
			}
		case c.rule != "":
			wantDenied(t, canErr, c.rule)
		case canErr != nil:
			t.Fatalf("CanWrite: %v, want nil", canErr)
		}
		f.clock.Advance(time.Second)
		_, addErr := f.v.AddNote(f.ctx, nn, who)
		sameRefusal(t, canErr, addErr)
	}
	f := newFixture(t, true)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, f, c) })
	}

	// Before both parties accepted, nobody writes; one acceptance is not
	// enough.
	t.Run("not in force", func(t *testing.T) {
		f := newFixture(t, false)
		c := tc{"", note(policy.Session, content("t", "b")), alice, nil, "not-accepted"}
		check(t, f, c)
		f.accept(f.alice)
		check(t, f, c)
		f.accept(f.bob)
		c.rule = ""
		check(t, f, c)
	})
}

// CanWrite is asked before the editor opens; the agreement may change while
// the user types. AddNote decides again on the agreement as it is then: an
// amendment accepted meanwhile that makes session notes private to their
// author gets a note written under it, readable by its author alone.
func TestCanWriteThenAgreementChanges(t *testing.T) {
	f := newFixture(t, true)
	nn := NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "typed while the agreement changed")}
	if err := f.v.CanWrite(f.ctx, nn, f.alice); err != nil {
		t.Fatalf("CanWrite before the amendment: %v", err)
	}
	f.clock.Advance(time.Second)
	amended := strings.Replace(string(f.text), "session: [mentor, mentee]", "session: [author]", 1)
	if amended == string(f.text) {
		t.Fatal("the agreement file has no session: [mentor, mentee] readers")
	}
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, []byte(amended), f.bob); err != nil {
		t.Fatalf("AmendAgreement: %v", err)
	}
	f.accept(f.alice)
	f.clock.Advance(time.Second)
	n, err := f.v.AddNote(f.ctx, nn, f.alice)
	if err != nil {
		t.Fatalf("AddNote after the amendment: %v", err)
	}
	if n.Version != 2 || strings.Join(n.Readers, ",") != "alice" {
		t.Fatalf("written under version %d for %v, want version 2 for alice alone", n.Version, n.Readers)
	}
}
