package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/certificate"
)

// closingFixture is a fixture whose agreement, in force, keeps notes 30d
// after its close.
func closingFixture(t *testing.T) *fixture {
	f := newFixture(t, true)
	s := string(f.text)
	const line = "retention: {session: 365d, reflection: 90d, summary: 180d}"
	if !strings.Contains(s, line) {
		t.Fatalf("agreement file has no %q line", line)
	}
	text := []byte(strings.Replace(s, line, "retention: {session: 365d, reflection: 90d, summary: 180d, after_close: 30d}", 1))
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, text, f.alice); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	return f
}

func TestCloseEndsTheRelationship(t *testing.T) {
	f := closingFixture(t)
	summary := f.add(policy.Summary, f.alice, content("s", "summary for carol"))
	session := f.add(policy.Session, f.alice, content("t", "a session"))
	reflection := f.add(policy.Reflection, f.bob, content("r", "a reflection"))
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	g, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 30*day, f.alice)
	if err != nil || copied != 1 {
		t.Fatalf("AddGrant: %v, %d copied", err, copied)
	}
	if _, err := f.v.ReadNote(f.ctx, summary.ID, f.carol); err != nil {
		t.Fatalf("carol reads under the grant before the close: %v", err)
	}

	// Neither a supervisor nor anyone else closes it.
	f.clock.Advance(day)
	var de *DeniedError
	if _, err := f.v.CloseAgreement(f.ctx, f.agreement, "", f.carol); !errors.As(err, &de) {
		t.Fatalf("carol closes: err = %v, want denied", err)
	}
	c, err := f.v.CloseAgreement(f.ctx, f.agreement, "moving on", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	closedAt := f.clock.Now()
	if c.By != "bob" || !c.At.Equal(closedAt) || c.AfterClose != 30*day {
		t.Fatalf("closure = %+v", c)
	}
	if _, err := f.v.CloseAgreement(f.ctx, f.agreement, "", f.alice); !errors.As(err, &de) || de.Decision.Rule != "already-closed" {
		t.Fatalf("second close: err = %v", err)
	}

	// The grant ended and its copies are gone; the consent lapsed.
	if _, err := f.v.ReadNote(f.ctx, summary.ID, f.carol); !errors.As(err, &de) || de.Decision.Rule != "agreement-closed" {
		t.Fatalf("carol reads after the close: err = %v", err)
	}
	n, err := f.v.GetNote(f.ctx, summary.ID)
	if err != nil || len(n.Copies) != 0 {
		t.Fatalf("summary copies after close: %v (%v)", n.Copies, err)
	}
	ended, err := f.v.EndedGrants(f.ctx)
	if err != nil || len(ended) != 0 {
		t.Fatalf("grants with copies left: %v (%v)", ended, err)
	}
	consents, _ := f.v.Consents(f.ctx, f.agreement)
	if len(consents) != 1 || !consents[0].Lapsed(closedAt) {
		t.Fatalf("consent did not lapse at the close: %+v", consents)
	}
	_ = g

	// Nothing new under it.
	for name, err := range map[string]error{
		"note": func() error {
			_, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("x", "y")}, f.alice)
			return err
		}(),
		"consent": func() error {
			_, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob)
			return err
		}(),
		"amend": func() error { _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.text, f.alice); return err }(),
	} {
		if !errors.As(err, &de) || de.Decision.Rule != "agreement-closed" {
			t.Errorf("%s after close: err = %v", name, err)
		}
	}

	// Expiry anchored: every note goes at close + 30d, in the index too.
	want := closedAt.Add(30 * day)
	for _, id := range []string{summary.ID, session.ID, reflection.ID} {
		n, err := f.v.GetNote(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !n.Expires.Equal(want) || n.Anchor == nil || n.Anchor.Signed.Equal(want) {
			t.Errorf("note %s expires %v (anchor %+v), want %v", id, n.Expires, n.Anchor, want)
		}
	}
	entries, err := f.v.ExpiryIndex(f.ctx, want)
	if err != nil || len(entries) != 3 {
		t.Fatalf("expiry index by close+30d: %d entries (%v)", len(entries), err)
	}
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("check after close: %v", err)
	}

	// No certificate while notes remain.
	if _, _, err := f.v.Certificate(f.ctx, f.agreement); err == nil || !strings.Contains(err.Error(), "still has 3 note(s)") {
		t.Fatalf("certificate with notes left: %v", err)
	}
	f.clock.Set(want.Add(time.Hour))
	rs, held, err := f.sweep()
	if err != nil || len(rs) != 3 || len(held) != 0 {
		t.Fatalf("sweep: %d destroyed, %d held, %v", len(rs), len(held), err)
	}
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("check after sweep: %v", err)
	}

	msg, cert, err := f.v.Certificate(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Notes) != 3 || cert.ClosedBy != "bob" {
		t.Fatalf("certificate = %+v", cert)
	}
	key, err := f.v.verifierKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := certificate.Verify(msg, key)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Agreement != f.agreement || len(got.Notes) != 3 || got.Size < got.Notes[2].Receipt.Seq {
		t.Fatalf("verified = %+v", got)
	}
	// An edited certificate fails.
	edited := bytes.Replace(msg, []byte(" bob "), []byte(" alice "), 1)
	if _, err := certificate.Verify(edited, ""); !errors.Is(err, certificate.ErrInvalid) {
		t.Fatalf("edited certificate: err = %v", err)
	}
}

// Without after_close, notes keep their per-kind periods after the close.
func TestCloseWithoutAfterCloseKeepsPeriods(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "a session"))
	if _, err := f.v.CloseAgreement(f.ctx, f.agreement, "", f.alice); err != nil {
		t.Fatal(err)
	}
	got, err := f.v.GetNote(f.ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(n.Expires) || got.Anchor != nil {
		t.Fatalf("expires %v (anchor %v), want %v (%v)", got.Expires, got.Anchor, n.Expires, err)
	}
}

// A signed close by a supervisor, or a consent after the close, fails the
// chain however it reached the store; the mentee's close through the same
// path is taken (the negative control).
func TestCloseFoldRefuses(t *testing.T) {
	f := newFixture(t, true)
	if err := f.appendRaw(factClose, closeBody{}, f.carol, "carol"); err == nil || !strings.Contains(err.Error(), "only the mentor") {
		t.Fatalf("carol's close: err = %v", err)
	}
	if err := f.appendRaw(factClose, closeBody{}, f.bob, "bob"); err != nil {
		t.Fatalf("bob's close through the same path: %v", err)
	}
	if err := f.appendRaw(factConsent, consentBody{ID: "c-late", Version: 1, Grantee: "carol", Kinds: []policy.Kind{policy.Summary}}, f.bob, "bob"); err == nil || !strings.Contains(err.Error(), "after the agreement was closed") {
		t.Fatalf("consent after close: err = %v", err)
	}
}
