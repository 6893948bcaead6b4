package vault

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
)

// An attestation counts once both parties signed the same statement; a
// supervisor sees it only under a live grant, and never a note's content.
func TestAttestCriterion(t *testing.T) {
	f := newFixture(t, true)
	at, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusProgress, "", f.bob)
	if err != nil {
		t.Fatalf("bob attests: %v", err)
	}
	if at.Confirmed() || at.ProposedBy != "bob" {
		t.Fatalf("first attestation = %+v, want pending by bob", at)
	}
	// Bob again: refused, it waits for alice.
	if _, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusProgress, "", f.bob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bob attests twice: err = %v, want ErrInvalid", err)
	}
	cs, err := f.v.Criteria(f.ctx, f.agreement, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "c1" || cs[0].Status != "" || len(cs[0].Pending) != 1 {
		t.Fatalf("criteria before confirmation = %+v", cs)
	}
	// Alice attesting something else makes a second pending attestation.
	other, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, "", f.alice)
	if err != nil || other.ID == at.ID || other.Confirmed() {
		t.Fatalf("alice attests met: %+v, %v", other, err)
	}
	f.clock.Advance(time.Hour)
	conf, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusProgress, "", f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if conf.ID != at.ID || conf.ConfirmedBy != "alice" || !conf.ConfirmedAt.Equal(f.clock.Now()) {
		t.Fatalf("confirmation = %+v, want %s confirmed by alice now", conf, at.ID)
	}
	cs, err = f.v.Criteria(f.ctx, f.agreement, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Status != policy.StatusProgress || !cs[0].Since.Equal(f.clock.Now()) || len(cs[0].Pending) != 1 || cs[0].Pending[0].ID != other.ID {
		t.Fatalf("criteria after confirmation = %+v", cs[0])
	}

	// Unknown criterion: not found, naming the ones there are.
	if _, err := f.v.AttestCriterion(f.ctx, f.agreement, "c9", policy.StatusMet, "", f.bob); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "c1") {
		t.Fatalf("unknown criterion: err = %v", err)
	}
	// A supervisor attests nothing.
	var de *DeniedError
	if _, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, "", f.carol); !errors.As(err, &de) {
		t.Fatalf("carol attests: err = %v, want denied", err)
	}

	// Carol: denied without a grant (negative control), allowed under a
	// live one, denied again once it is revoked.
	if _, err := f.v.Criteria(f.ctx, f.agreement, f.carol); !errors.As(err, &de) {
		t.Fatalf("carol without a grant: err = %v, want denied", err)
	}
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	g, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 24*time.Hour, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	cs, err = f.v.Criteria(f.ctx, f.agreement, f.carol)
	if err != nil || cs[0].Status != policy.StatusProgress {
		t.Fatalf("carol under a grant: %+v, %v", cs, err)
	}
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Criteria(f.ctx, f.agreement, f.carol); !errors.As(err, &de) {
		t.Fatalf("carol after revocation: err = %v, want denied", err)
	}

	// The chain survives a reload with the attestations folded again.
	f.close()
	f.open()
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if ats := a.Attestations(); len(ats) != 2 || !ats[0].Confirmed() || ats[1].Confirmed() {
		t.Fatalf("attestations after reload = %+v", ats)
	}
}

// Evidence is a note of the same agreement that the attester can read; its
// id is all an attestation carries.
func TestAttestEvidence(t *testing.T) {
	f := newFixture(t, true)
	session := f.add(policy.Session, f.alice, content("Portfolio", "We reviewed the portfolio in depth."))
	private := f.add(policy.Reflection, f.bob, content("Mine", "Only mine."))
	var de *DeniedError
	if _, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, private.ID, f.alice); !errors.As(err, &de) {
		t.Fatalf("alice offers bob's reflection: err = %v, want denied", err)
	}
	if _, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, "n-nosuch", f.alice); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing note: err = %v, want not found", err)
	}
	at, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, session.ID, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	// The same status without the note is another statement: it does not
	// confirm this one.
	if x, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, "", f.bob); err != nil || x.ID == at.ID {
		t.Fatalf("bob attests met without evidence: %+v, %v", x, err)
	}
	if x, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, session.ID, f.bob); err != nil || x.ID != at.ID || !x.Confirmed() {
		t.Fatalf("bob confirms: %+v, %v", x, err)
	}
	cs, err := f.v.Criteria(f.ctx, f.agreement, f.bob)
	if err != nil || cs[0].Evidence != session.ID {
		t.Fatalf("criteria = %+v, %v", cs, err)
	}
}

// appendRaw appends a fact signed by signer as actor, bypassing the vault's
// own checks but not the fold: what a forged or buggy client could write.
func (f *fixture) appendRaw(typ string, body any, signer *identity.Identity, actor string) error {
	return f.v.update(func(txn kv.Txn) error {
		a, err := f.v.agreement(txn, f.agreement)
		if err != nil {
			return err
		}
		_, err = f.v.appendFact(txn, a, typ, body, signer, actor, &audit.Record{Actor: actor, Action: "test." + typ, Subject: f.agreement})
		return err
	})
}

// The fold refuses practice facts that policy would not have allowed, even
// when they are properly signed.
func TestPracticeFoldRefuses(t *testing.T) {
	f := newFixture(t, true)
	at, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, "", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		typ    string
		body   any
		signer *identity.Identity
		actor  string
		want   string
	}{
		{"self-confirmation", factAttest, attestBody{Confirms: at.ID}, f.bob, "bob", "confirms it"},
		{"supervisor confirms", factAttest, attestBody{Confirms: at.ID}, f.carol, "carol", "only the mentor"},
		{"confirm of nothing", factAttest, attestBody{Confirms: "t-nosuch"}, f.alice, "alice", "never made"},
		{"confirm with terms", factAttest, attestBody{Confirms: at.ID, Sealed: "00"}, f.alice, "alice", "terms of its own"},
		{"no statement", factAttest, attestBody{ID: "t-x"}, f.alice, "alice", "commits to no statement"},
		{"reject with nothing pending", factReject, rejectBody{Version: 1}, f.bob, "bob", "not pending"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := f.appendRaw(c.typ, c.body, c.signer, c.actor)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	// Negative control: the same path takes alice's confirmation.
	if err := f.appendRaw(factAttest, attestBody{Confirms: at.ID}, f.alice, "alice"); err != nil {
		t.Fatalf("alice confirms through the same path: %v", err)
	}
}

// A pending version is rejected by the other party or withdrawn by its
// proposer; either way it can no longer be accepted and the version in
// force stays.
func TestRejectAndWithdrawProposal(t *testing.T) {
	f := newFixture(t, true)
	amend := func() {
		t.Helper()
		if _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice); err != nil {
			t.Fatal(err)
		}
	}
	var de *DeniedError
	// Nothing pending.
	if _, err := f.v.RejectProposal(f.ctx, f.agreement, f.bob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reject with nothing pending: err = %v", err)
	}
	amend()
	for _, c := range []struct {
		name string
		fn   func() error
	}{
		{"proposer rejects", func() error { _, err := f.v.RejectProposal(f.ctx, f.agreement, f.alice); return err }},
		{"other withdraws", func() error { _, err := f.v.WithdrawProposal(f.ctx, f.agreement, f.bob); return err }},
		{"supervisor rejects", func() error { _, err := f.v.RejectProposal(f.ctx, f.agreement, f.carol); return err }},
	} {
		if err := c.fn(); !errors.As(err, &de) {
			t.Fatalf("%s: err = %v, want denied", c.name, err)
		}
	}
	ver, err := f.v.RejectProposal(f.ctx, f.agreement, f.bob)
	if err != nil || ver.Ended != "rejected" || ver.EndedBy != "bob" {
		t.Fatalf("bob rejects: %+v, %v", ver, err)
	}
	if _, err := f.v.AcceptAgreement(f.ctx, f.agreement, f.bob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("accept a rejected version: err = %v", err)
	}
	// The fold refuses a signed acceptance of it too (negative control:
	// the same acceptance of a pending version is taken, below).
	if err := f.appendRaw(factAccept, acceptBody{Version: 2, Pins: map[string]string{}}, f.bob, "bob"); err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("raw acceptance of a rejected version: err = %v", err)
	}
	a, _ := f.v.GetAgreement(f.ctx, f.agreement)
	if a.Current().Version != 1 {
		t.Fatalf("in force = %d, want 1", a.Current().Version)
	}

	// Version 3, withdrawn by alice, who proposed it.
	amend()
	ver, err = f.v.WithdrawProposal(f.ctx, f.agreement, f.alice)
	if err != nil || ver.Version != 3 || ver.Ended != "withdrawn" {
		t.Fatalf("alice withdraws: %+v, %v", ver, err)
	}
	// Version 4 is accepted as usual.
	amend()
	if _, err := f.v.AcceptAgreement(f.ctx, f.agreement, f.bob); err != nil {
		t.Fatal(err)
	}
	f.close()
	f.open()
	a, err = f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if a.Current().Version != 4 || a.Version(2).Ended != "rejected" || a.Version(3).Ended != "withdrawn" {
		t.Fatalf("after reload: in force %d, v2 %q, v3 %q", a.Current().Version, a.Version(2).Ended, a.Version(3).Ended)
	}
}

// Version 1 is the vault's: nobody withdraws it, either party rejects it.
func TestRejectFirstVersion(t *testing.T) {
	f := newFixture(t, false)
	f.accept(f.alice)
	var de *DeniedError
	if _, err := f.v.WithdrawProposal(f.ctx, f.agreement, f.alice); !errors.As(err, &de) {
		t.Fatalf("withdraw v1: err = %v, want denied", err)
	}
	if _, err := f.v.RejectProposal(f.ctx, f.agreement, f.alice); !errors.As(err, &de) {
		t.Fatalf("alice, who accepted, rejects: err = %v, want denied", err)
	}
	if _, err := f.v.RejectProposal(f.ctx, f.agreement, f.bob); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("x", "y")}, f.alice); !errors.As(err, &de) {
		t.Fatalf("note under a rejected agreement: err = %v, want denied", err)
	}
}

// The review schedule is stored in the clear with the version; due counts
// from when the agreement came into force.
func TestDueReviews(t *testing.T) {
	f := newFixture(t, true) // review: quarterly
	start := f.clock.Now()
	ds, err := f.v.DueReviews(f.ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("DueReviews = %+v, %v", ds, err)
	}
	if d := ds[0]; d.Every != 90*24*time.Hour || !d.Due.Equal(start.Add(90*24*time.Hour)) || d.Overdue || !d.Since.Equal(start) {
		t.Fatalf("due = %+v", d)
	}
	f.clock.Advance(90*24*time.Hour - time.Second)
	if ds, _ := f.v.DueReviews(f.ctx); ds[0].Overdue {
		t.Fatal("overdue a second early")
	}
	f.clock.Advance(time.Second)
	if ds, _ := f.v.DueReviews(f.ctx); !ds[0].Overdue {
		t.Fatal("not overdue at the due time")
	}
	// An amendment without a schedule: nothing is due. (Free text such as
	// "when we feel like it" is refused since agreement schema 2.)
	text := strings.Replace(string(f.text), "review: quarterly\n", "", 1)
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, []byte(text), f.alice); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	if ds, _ := f.v.DueReviews(f.ctx); len(ds) != 0 {
		t.Fatalf("unscheduled: %+v", ds)
	}
	// A schedule that does not parse is refused, naming the field.
	text = strings.Replace(string(f.text), "review: quarterly", "review: every fortnight-ish", 1)
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, []byte(text), f.alice); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "review") {
		t.Fatalf("bad schedule: err = %v", err)
	}
}

func TestSummaryAndDiff(t *testing.T) {
	f := newFixture(t, true)
	ver, lines, err := f.v.Summary(f.ctx, f.agreement, 0)
	if err != nil || ver.Version != 1 {
		t.Fatal(err)
	}
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"reflections are never shared with a supervisor", "carol may read summaries only with bob's consent", "reviewed every 90 days"} {
		if !strings.Contains(joined, want) {
			t.Errorf("summary lacks %q:\n%s", want, joined)
		}
	}
	if _, _, err := f.v.Summary(f.ctx, f.agreement, 7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("summary of version 7: err = %v", err)
	}
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice); err != nil {
		t.Fatal(err)
	}
	d, err := f.v.DiffAgreement(f.ctx, f.agreement, 1, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Text != nil {
		t.Fatalf("text compared without a key: %+v", d.Text)
	}
	d, err = f.v.DiffAgreement(f.ctx, f.agreement, 1, 2, f.bob)
	if err != nil || len(d.Text) == 0 {
		t.Fatalf("diff with a key: %+v, %v", d, err)
	}
	if _, err := f.v.DiffAgreement(f.ctx, f.agreement, 1, 2, newIdentity(t)); !errors.Is(err, ErrNotParticipant) {
		t.Fatalf("diff by a stranger: err = %v", err)
	}
	if d, err := f.v.DiffAgreement(f.ctx, f.agreement, 1, 1, f.bob); err != nil || len(d.Access) != 0 || len(d.Text) != 0 {
		t.Fatalf("diff of a version with itself: %+v, %v", d, err)
	}
}

// What an attestation says is sealed: the chain and the log hold its id and
// a hash only, and a statement swapped in the store is refused.
func TestAttestationSealed(t *testing.T) {
	f := newFixture(t, true)
	evidence := f.add(policy.Session, f.alice, content("Evidence", "We shipped it."))
	met, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMet, evidence.ID, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.v.AttestCriterion(f.ctx, f.agreement, "c1", policy.StatusMissed, "", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	err = f.v.view(func(txn kv.Txn) error {
		return scan(txn, pFact+f.agreement+"/", func(_ string, fa *fact) error {
			if fa.Type == factAttest && (strings.Contains(string(fa.Body), "met") || strings.Contains(string(fa.Body), evidence.ID)) {
				t.Errorf("attest fact %d says what it attests: %s", fa.Seq, fa.Body)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if strings.HasPrefix(r.Action, "criterion.") && (r.Detail["status"] != "" || r.Detail["note"] != "" || r.Detail["criterion"] != "") {
			t.Errorf("audit record %s names what was attested: %v", r.Action, r.Detail)
		}
	}
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("check: %v", err)
	}
	// Swap bob's sealed statement in for alice's: both are sealed to the
	// same people, but alice did not sign that one.
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		rawSet(t, db, pBlob+attestBlob(met.ID), rawGet(t, db, pBlob+attestBlob(other.ID)))
	})
	f.open()
	var ie *IntegrityError
	if _, err := f.v.Criteria(f.ctx, f.agreement, f.bob); !errors.As(err, &ie) {
		t.Fatalf("criteria with a swapped statement: err = %v, want an integrity error", err)
	}
}

// A signed reject or withdraw-proposal by the wrong party fails the chain,
// however it reached the store.
func TestEndProposalFoldRefuses(t *testing.T) {
	f := newFixture(t, true)
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		typ    string
		signer *identity.Identity
		actor  string
		want   string
	}{
		{"proposer rejects", factReject, f.alice, "alice", "withdraw it instead"},
		{"other party withdraws", factWithdrawProposal, f.bob, "bob", "only they can withdraw it"},
		{"supervisor rejects", factReject, f.carol, "carol", "only the mentor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := f.appendRaw(c.typ, rejectBody{Version: 2}, c.signer, c.actor); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	if err := f.appendRaw(factReject, rejectBody{Version: 1}, f.bob, "bob"); err == nil || !strings.Contains(err.Error(), "newest") {
		t.Fatalf("reject of an older version: err = %v", err)
	}
	// Negative control: bob's rejection through the same path is taken.
	if err := f.appendRaw(factReject, rejectBody{Version: 2}, f.bob, "bob"); err != nil {
		t.Fatalf("bob rejects through the same path: %v", err)
	}
}

// The newest note of kind review restarts the schedule. (The review kind
// comes with the kinds table; its metadata is written here directly.)
func TestDueCountsFromReview(t *testing.T) {
	f := newFixture(t, true)
	start := f.clock.Now()
	f.clock.Advance(100 * 24 * time.Hour)
	if ds, _ := f.v.DueReviews(f.ctx); !ds[0].Overdue {
		t.Fatal("not overdue after 100 days without a review")
	}
	reviewed := start.Add(95 * 24 * time.Hour)
	err := f.v.update(func(txn kv.Txn) error {
		return put(txn, pNote+"n-review", &noteRec{Meta: noteMeta{ID: "n-review", Agreement: f.agreement, Version: 1,
			Kind: policy.Review, Author: "alice", Created: reviewed}})
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.v.DueReviews(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := ds[0]; d.Overdue || !d.LastReview.Equal(reviewed) || !d.Due.Equal(reviewed.Add(90*24*time.Hour)) {
		t.Fatalf("after a review: %+v", d)
	}
}
