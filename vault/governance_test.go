package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
)

const day = 24 * time.Hour

// custodianFixture is an agreement in force whose terms name frank, who is
// registered but no other party of it, as custodian.
func custodianFixture(t *testing.T) (*fixture, *identity.Identity) {
	f := newFixture(t, false)
	frank := newIdentity(t)
	if _, err := f.v.AddParticipant(f.ctx, "frank", policy.Supervisor, frank.Public().String()); err != nil {
		t.Fatal(err)
	}
	f.setTerms(func(t *policy.Terms) { t.Custodians = []string{"frank"} })
	f.accept(f.alice)
	f.accept(f.bob)
	return f, frank
}

// Holds are placed by mentor, mentee or a custodian, and released only by
// whoever placed them or a custodian; a held note survives a refused release
// and the sweep after it.
func TestHoldGovernance(t *testing.T) {
	f, frank := custodianFixture(t)
	n := f.add(policy.Session, f.alice, content("held", "MARK-held"))
	review := f.clock.Now().Add(30 * day)
	h, err := f.v.PlaceHold(f.ctx, HoldRequest{Note: n.ID, Reason: "complaint under review", Review: review}, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Review.Equal(review) {
		t.Fatalf("hold review %v, want %v", h.Review, review)
	}
	hs, err := f.v.Holds(f.ctx, f.agreement, nil)
	if err != nil || len(hs) != 1 || !hs[0].Review.Equal(review) || hs[0].ReviewDue(f.clock.Now()) || !hs[0].ReviewDue(review) {
		t.Fatalf("holds %+v, %v: want one with review %v, due only from then", hs, err, review)
	}

	// The mentee cannot lift the mentor's hold; the sweep after the note's
	// expiry keeps it.
	wantDenied(t, f.v.ReleaseHold(f.ctx, h.ID, f.bob), "not-placer")
	f.clock.Advance(400 * day)
	if _, _, err := f.sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.alice); err != nil {
		t.Fatalf("the held note after a refused release and a sweep: %v", err)
	}

	// A supervisor who is no custodian cannot hold; a custodian can, and
	// releases holds others placed.
	_, err = f.v.AddHold(f.ctx, f.agreement, "", "supervisor's hold", f.carol)
	wantDenied(t, err, "not-custodian")
	fh, err := f.v.AddHold(f.ctx, f.agreement, "", "programme review", frank)
	if err != nil {
		t.Fatalf("custodian's hold: %v", err)
	}
	wantDenied(t, f.v.ReleaseHold(f.ctx, fh.ID, f.bob), "not-placer")
	wantDenied(t, f.v.ReleaseHold(f.ctx, fh.ID, f.alice), "not-placer")
	if err := f.v.ReleaseHold(f.ctx, h.ID, frank); err != nil {
		t.Fatalf("custodian releases the mentor's hold: %v", err)
	}
	if err := f.v.ReleaseHold(f.ctx, fh.ID, frank); err != nil {
		t.Fatalf("custodian releases own hold: %v", err)
	}
	// The custodian's key is pinned like a party's: the chain verifies
	// after a reopen, and check is clean.
	f.close()
	f.open()
	f.checkClean()

	// A review date must lie ahead.
	_, err = f.v.PlaceHold(f.ctx, HoldRequest{Agreement: f.agreement, Reason: "r", Review: f.clock.Now()}, f.bob)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("hold with a review date now: %v, want invalid", err)
	}
	// The mentee's own hold: released by the mentee (control).
	bh, err := f.v.AddHold(f.ctx, f.agreement, "", "mine", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.ReleaseHold(f.ctx, bh.ID, f.bob); err != nil {
		t.Fatalf("the mentee releases their own hold: %v", err)
	}
}

// Disclosures go only to the recipients an exception names; the list form
// means the agreement's supervisors.
func TestDisclosureRecipients(t *testing.T) {
	f := newFixture(t, false)
	dave := newIdentity(t)
	if _, err := f.v.AddParticipant(f.ctx, "dave", policy.Supervisor, dave.Public().String()); err != nil {
		t.Fatal(err)
	}
	// Version 2 names dave, who is no other party, for safeguarding.
	f.setTerms(func(t *policy.Terms) {
		if t.Version >= 2 {
			t.ExceptionRecipients = map[string][]string{"safeguarding": {"dave"}, "risk-of-harm": nil}
		}
	})
	f.accept(f.alice)
	f.accept(f.bob)
	n := f.add(policy.Reflection, f.bob, content("r", "MARK-r"))
	_, err := f.v.Disclose(f.ctx, n.ID, "dave", "risk-of-harm", "why", f.bob)
	wantDenied(t, err, "not-recipient") // not a party at all
	_, err = f.v.Disclose(f.ctx, n.ID, "alice", "risk-of-harm", "why", f.bob)
	wantDenied(t, err, "not-recipient") // a party, but not a supervisor
	if _, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "why", f.bob); err != nil {
		t.Fatalf("disclosure to the supervisor: %v", err)
	}
	_, err = f.v.Disclose(f.ctx, n.ID, "dave", "safeguarding", "why", f.bob)
	wantDenied(t, err, "not-exception") // not under version 1
	// The map form names dave for safeguarding, and nobody else; his key
	// is pinned when version 2 comes into force.
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	_, err = f.v.Disclose(f.ctx, n.ID, "carol", "safeguarding", "why", f.bob)
	wantDenied(t, err, "not-recipient")
	if _, err := f.v.Disclose(f.ctx, n.ID, "dave", "safeguarding", "why", f.bob); err != nil {
		t.Fatalf("disclosure to the named recipient: %v", err)
	}
	if _, err := f.v.ReadNote(f.ctx, n.ID, dave); err != nil {
		t.Fatalf("dave reads what was disclosed to him: %v", err)
	}
}

// Consents and grants are capped: a consent with no end ends at the cap, a
// longer one or a longer grant is refused naming the cap.
func TestSharingCaps(t *testing.T) {
	f := newFixture(t, true)
	now := f.clock.Now()
	c, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(policy.DefaultMaxConsent); !c.Until.Equal(want) {
		t.Fatalf("consent with no end runs until %v, want the default cap %v", c.Until, want)
	}
	_, err = f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, now.Add(10*365*day), f.bob)
	wantDenied(t, err, "consent-cap")
	_, _, err = f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 10*365*day, f.alice)
	wantDenied(t, err, "grant-cap")
	if !strings.Contains(err.Error(), "at most 90d") {
		t.Fatalf("refusal %q does not name the cap", err)
	}
	if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 90*day, f.alice); err != nil {
		t.Fatalf("grant at the cap: %v", err)
	}
	// The agreement's own caps (version 2) replace the defaults.
	f.setTerms(func(t *policy.Terms) {
		if t.Version >= 2 {
			t.MaxGrant, t.MaxConsent = 30*day, 180*day
		}
	})
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	_, _, err = f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 31*day, f.alice)
	wantDenied(t, err, "grant-cap")
	c, err = f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Session}, time.Time{}, f.bob)
	if err != nil || !c.Until.Equal(f.clock.Now().Add(180*day)) {
		t.Fatalf("consent under a 180d cap: %+v, %v", c, err)
	}
}

// Only someone who reads a kind shares it, and a grant shares only what its
// granter reads: with session notes private to their author, bob's grant
// copies bob's session notes, before and after it is made, and never
// alice's; explain and show agree on each.
func TestGrantSharesOnlyWhatGranterReads(t *testing.T) {
	f := newFixture(t, false)
	text := strings.Replace(string(f.text), "session: [mentor, mentee]", "session: [author]", 1)
	if text == string(f.text) {
		t.Fatal("agreement file has no session: [mentor, mentee] readers")
	}
	a, err := f.v.CreateAgreement(f.ctx, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f.agreement = a.ID
	f.accept(f.alice)
	f.accept(f.bob)
	aliceBefore := f.add(policy.Session, f.alice, content("a1", "MARK-a1"))
	bobBefore := f.add(policy.Session, f.bob, content("b1", "MARK-b1"))
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Session}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	_, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Session}, 30*day, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if copied != 1 {
		t.Fatalf("bob's grant copied %d notes, want 1 (his own)", copied)
	}
	aliceAfter := f.add(policy.Session, f.alice, content("a2", "MARK-a2"))
	bobAfter := f.add(policy.Session, f.bob, content("b2", "MARK-b2"))
	for _, tc := range []struct {
		n    *Note
		read bool
	}{{aliceBefore, false}, {bobBefore, true}, {aliceAfter, false}, {bobAfter, true}} {
		d, err := f.v.Explain(f.ctx, tc.n.ID, "carol")
		if err != nil {
			t.Fatal(err)
		}
		_, rerr := f.v.ReadNote(f.ctx, tc.n.ID, f.carol)
		if d.Allowed() != tc.read || (rerr == nil) != tc.read {
			t.Errorf("note by %s: explain %v, show %v; want readable=%v", tc.n.Author, d, rerr, tc.read)
		}
		if !tc.read {
			wantDenied(t, rerr, "grant-not-granters")
		}
	}
	// Control: alice's grant shares alice's notes.
	if _, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Session}, 30*day, f.alice); err != nil || copied != 2 {
		t.Fatalf("alice's grant: copied %d, %v; want her 2 notes", copied, err)
	}
	if _, err := f.v.ReadNote(f.ctx, aliceBefore.ID, f.carol); err != nil {
		t.Fatalf("carol reads alice's note under alice's grant: %v", err)
	}
	// Summaries are written by the mentor only: with them private to their
	// author, the mentee may neither consent to nor grant them.
	text = strings.Replace(string(f.text), "summary: [author, mentee]", "summary: [author]", 1)
	a, err = f.v.CreateAgreement(f.ctx, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f.agreement = a.ID
	f.accept(f.alice)
	f.accept(f.bob)
	_, err = f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob)
	wantDenied(t, err, "not-kind-reader")
}

// forge appends a fact signed by signer straight to the chain of the closed
// vault, as an insider with a party's key could.
func (f *fixture) forge(typ, actor string, signer *identity.Identity, body any) {
	f.t.Helper()
	f.close()
	withBadger(f.t.(*testing.T), f.dir, func(db *badger.DB) {
		_, last := lastFact(f.t.(*testing.T), db, f.agreement)
		b, _ := json.Marshal(body)
		fa := &fact{Agreement: f.agreement, Seq: last.Seq + 1, Prev: last.hash(), Type: typ, Actor: actor,
			At: last.At.Add(time.Second), Body: b}
		fa.Sig = signer.Sign(fa.signedBytes())
		v, _ := encodeRecord(fa)
		rawSet(f.t.(*testing.T), db, factKey(f.agreement, fa.Seq), v)
	})
	f.open()
}

// A fact that breaks a governance rule, signed by a party and written
// straight into the store, is refused when the chain is folded; the same
// fact made lawfully is folded (the control).
func TestForgedGovernanceFactsRefused(t *testing.T) {
	type setup struct {
		f    *fixture
		hold string // alice's hold on the agreement
		c    string // bob's consent to carol for summaries
	}
	prepare := func(t *testing.T) setup {
		f := newFixture(t, true)
		h, err := f.v.AddHold(f.ctx, f.agreement, "", "alice's hold", f.alice)
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, f.clock.Now().Add(300*day), f.bob)
		if err != nil {
			t.Fatal(err)
		}
		return setup{f, h.ID, c.ID}
	}
	type forgery struct {
		typ    string
		actor  string
		signer func(*fixture) *identity.Identity
		body   func(s setup) any
	}
	alice := func(f *fixture) *identity.Identity { return f.alice }
	bob := func(f *fixture) *identity.Identity { return f.bob }
	carol := func(f *fixture) *identity.Identity { return f.carol }
	tests := []struct {
		name          string
		forged, legal forgery
	}{
		{"the mentee releases the mentor's hold",
			forgery{factRelease, "bob", bob, func(s setup) any { return releaseBody{Hold: s.hold} }},
			forgery{factRelease, "alice", alice, func(s setup) any { return releaseBody{Hold: s.hold} }}},
		{"a supervisor holds the agreement",
			forgery{factHold, "carol", carol, func(s setup) any { return holdBody{ID: "h-forged", Reason: "x"} }},
			forgery{factHold, "bob", bob, func(s setup) any { return holdBody{ID: "h-forged", Reason: "x"} }}},
		{"a disclosure to someone the exception does not name",
			forgery{factDisclose, "bob", bob, func(s setup) any {
				return discloseBody{ID: "d-forged", Note: "n-x", To: "alice", Reason: "risk-of-harm"}
			}},
			forgery{factDisclose, "bob", bob, func(s setup) any {
				return discloseBody{ID: "d-forged", Note: "n-x", To: "carol", Reason: "risk-of-harm"}
			}}},
		{"a disclosure under an exception the agreement does not name",
			forgery{factDisclose, "bob", bob, func(s setup) any {
				return discloseBody{ID: "d-forged", Note: "n-x", To: "carol", Reason: "gossip"}
			}},
			forgery{factDisclose, "bob", bob, func(s setup) any {
				return discloseBody{ID: "d-forged", Note: "n-x", To: "carol", Reason: "legal-obligation"}
			}}},
	}
	for _, tc := range tests {
		for _, legal := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/forged", true: "/control"}[legal]
			t.Run(name, func(t *testing.T) {
				s := prepare(t)
				fg := tc.forged
				if legal {
					fg = tc.legal
				}
				s.f.forge(fg.typ, fg.actor, fg.signer(s.f), fg.body(s))
				_, err := s.f.v.GetAgreement(s.f.ctx, s.f.agreement)
				if legal {
					if err != nil {
						t.Fatalf("the lawful fact is refused: %v", err)
					}
					return
				}
				wantIntegrity(t, err, fmt.Sprintf("agreement %s fact", s.f.agreement))
				if !strings.Contains(err.Error(), "policy did not allow it") {
					t.Fatalf("refusal %q does not say policy refused it", err)
				}
			})
		}
	}
}

// Consents and grants in a chain end at the caps when it is folded: one
// recorded with no end (as earlier releases wrote them) or longer than the
// cap, and a grant resting on a consent the cap cut short, whether an earlier
// release wrote it or it was signed straight into the store. They grant
// nothing past the cap, and the vault keeps opening.
func TestChainFactsEndAtCaps(t *testing.T) {
	f := newFixture(t, true)
	s := f.add(policy.Summary, f.alice, content("s", "MARK-s"))
	f.forge(factConsent, "bob", f.bob, consentBody{ID: "c-old", Version: 1, Grantee: "carol", Kinds: []policy.Kind{policy.Summary}})
	f.forge(factConsent, "bob", f.bob, consentBody{ID: "c-long", Version: 1, Grantee: "carol", Kinds: []policy.Kind{policy.Session},
		Until: f.clock.Now().Add(10 * 365 * day)})
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatalf("a chain with uncapped consents: %v", err)
	}
	for _, c := range a.consents {
		if want := c.GivenAt.Add(policy.DefaultMaxConsent); !c.Until.Equal(want) {
			t.Errorf("consent %s runs until %v, want the cap %v", c.ID, c.Until, want)
		}
	}
	// A ten-year grant on the open-ended consent, signed into the store.
	f.forge(factGrant, "alice", f.alice, grantBody{ID: "g-long", Consent: "c-old", Grantee: "carol",
		Kinds: []policy.Kind{policy.Summary}, Expires: f.clock.Now().Add(10 * 365 * day)})
	gs, _, err := f.v.Grants(f.ctx, f.agreement)
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants %v, %v", gs, err)
	}
	if want := gs[0].Issued.Add(policy.DefaultMaxGrant); !gs[0].Expires.Equal(want) {
		t.Fatalf("the ten-year grant ends %v, want the cap %v", gs[0].Expires, want)
	}
	f.clock.Set(gs[0].Expires)
	if d, err := f.v.Explain(f.ctx, s.ID, "carol"); err != nil || d.Allowed() || d.Rule != "grant-expired" {
		t.Fatalf("carol at the grant's capped end: %v, %v; want the grant expired", d, err)
	}
}

// TestExplainAgreesWithShow walks the matrix: for every set of reader
// tokens, every state of consent and grant, every kind of note and every
// person (mentor, mentee, supervisor, someone outside the agreement),
// policy explain's verdict is what note show does, and what a listing
// filtered by that reader shows. A denied read is a denial (exit 3), never a
// missing copy.
func TestExplainAgreesWithShow(t *testing.T) {
	f := newFixture(t, true)
	dave := newIdentity(t)
	if _, err := f.v.AddParticipant(f.ctx, "dave", policy.Supervisor, dave.Public().String()); err != nil {
		t.Fatal(err)
	}
	people := map[string]*identity.Identity{"alice": f.alice, "bob": f.bob, "carol": f.carol, "dave": dave}
	readerSets := map[string]string{
		"default":     "{session: [mentor, mentee], reflection: [author], summary: [author, mentee]}",
		"author-only": "{session: [author], reflection: [author], summary: [author]}",
		"mentor-only": "{session: [mentor], reflection: [mentor], summary: [mentor]}",
		"mentee-only": "{session: [mentee], reflection: [author, mentee], summary: [mentee]}",
	}
	const defaults = "{session: [mentor, mentee], reflection: [author], summary: [author, mentee]}"
	if !strings.Contains(string(f.text), defaults) {
		t.Fatalf("agreement file has no readers line %s", defaults)
	}
	shareable := []policy.Kind{policy.Session, policy.Summary}
	states := []string{"none", "consent", "grant-by-mentor", "grant-by-mentee", "grant-revoked", "consent-withdrawn", "grant-then-notes", "disclosed"}
	checked := 0
	for setName, readers := range readerSets {
		for _, state := range states {
			text := strings.Replace(string(f.text), defaults, readers, 1)
			a, err := f.v.CreateAgreement(f.ctx, []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			f.agreement = a.ID
			f.accept(f.alice)
			f.accept(f.bob)
			var notes []*Note
			write := func() {
				for _, k := range policy.Kinds {
					for _, author := range []*identity.Identity{f.alice, f.bob} {
						f.clock.Advance(time.Second)
						n, err := f.v.AddNote(f.ctx, NewNote{Agreement: a.ID, Kind: k, Content: content(string(k), "MARK-"+string(k))}, author)
						if err == nil {
							notes = append(notes, n)
						}
					}
				}
			}
			if state != "grant-then-notes" {
				write()
			}
			if state != "none" && state != "disclosed" {
				// bob consents to whatever he may: kind by kind.
				for _, k := range shareable {
					f.v.GiveConsent(f.ctx, a.ID, "carol", []policy.Kind{k}, time.Time{}, f.bob)
				}
			}
			grantBy := map[string]*identity.Identity{"grant-by-mentor": f.alice, "grant-by-mentee": f.bob,
				"grant-revoked": f.alice, "consent-withdrawn": f.bob, "grant-then-notes": f.bob}[state]
			var grants []*policy.Grant
			if grantBy != nil {
				for _, k := range shareable {
					if g, _, err := f.v.AddGrant(f.ctx, a.ID, "carol", []policy.Kind{k}, 30*day, grantBy); err == nil {
						grants = append(grants, g)
					}
				}
			}
			switch state {
			case "grant-revoked":
				for _, g := range grants {
					if err := f.v.RevokeGrant(f.ctx, g.ID, f.bob); err != nil {
						t.Fatal(err)
					}
				}
			case "consent-withdrawn":
				cs, _ := f.v.Consents(f.ctx, a.ID)
				for _, c := range cs {
					if err := f.v.WithdrawConsent(f.ctx, c.ID, f.bob); err != nil {
						t.Fatal(err)
					}
				}
			case "grant-then-notes":
				write()
			case "disclosed":
				for _, n := range notes {
					if n.Author == "bob" {
						f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "why", f.bob)
					}
				}
			}
			for name, id := range people {
				listed := map[string]bool{}
				ls, err := f.v.ListNotes(f.ctx, NoteFilter{Agreement: a.ID, Reader: name})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range ls {
					listed[n.ID] = true
				}
				for _, n := range notes {
					where := fmt.Sprintf("readers %s, %s, %s by %s, read by %s", setName, state, n.Kind, n.Author, name)
					d, err := f.v.Explain(f.ctx, n.ID, name)
					if err != nil {
						t.Fatalf("%s: explain: %v", where, err)
					}
					p, rerr := f.v.ReadNote(f.ctx, n.ID, id)
					switch {
					case d.Allowed() && rerr != nil:
						t.Errorf("%s: explain %v, but show fails: %v", where, d, rerr)
					case d.Allowed() && string(p.Content.Body) != "MARK-"+string(n.Kind):
						t.Errorf("%s: show read %q", where, p.Content.Body)
					case !d.Allowed():
						var de *DeniedError
						if !errors.As(rerr, &de) || de.Decision.Rule != d.Rule {
							t.Errorf("%s: explain %v, show %v; want the same denial", where, d, rerr)
						}
					}
					if listed[n.ID] != d.Allowed() {
						t.Errorf("%s: explain %v, listed for the reader: %v", where, d, listed[n.ID])
					}
					checked++
				}
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d cases walked", checked)
	}
	t.Logf("%d cases: explain, show and the reader's listing agree", checked)
}

// An amendment that drops the grantee from the supervisors ends the grant
// and destroys its copies; a later amendment that names them again revives
// nothing, and explain says so rather than "allowed" over a missing copy.
func TestEndedGrantStaysEnded(t *testing.T) {
	f, g, _, _ := grantFixture(t, false)
	notes, err := f.v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement, Kind: policy.Summary})
	if err != nil || len(notes) == 0 {
		t.Fatalf("summaries: %v, %v", notes, err)
	}
	n := notes[0]
	without := strings.Replace(string(f.text), "supervisors: [carol]", "supervisors: []", 1)
	if without == string(f.text) {
		t.Fatal("agreement file has no supervisors: [carol] line")
	}
	for i, text := range []string{without, string(f.amendedText())} {
		f.clock.Advance(time.Minute)
		if _, err := f.v.AmendAgreement(f.ctx, f.agreement, []byte(text), f.alice); err != nil {
			t.Fatalf("amendment %d: %v", i+2, err)
		}
		f.accept(f.bob)
		if i == 0 {
			if _, err := f.v.ReadNote(f.ctx, n.ID, f.carol); err == nil {
				t.Fatal("carol reads after leaving the agreement")
			}
		}
	}
	d, err := f.v.Explain(f.ctx, n.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	_, rerr := f.v.ReadNote(f.ctx, n.ID, f.carol)
	if d.Allowed() || d.Rule != "grant-ended" || d.Basis != g.ID {
		t.Fatalf("explain after carol is named again: %v (rule %s), want grant %s ended", d, d.Rule, g.ID)
	}
	wantDenied(t, rerr, "grant-ended")
	// Control: a new grant under the same consent opens it again.
	if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, day, f.alice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.carol); err != nil {
		t.Fatalf("carol reads under a new grant: %v", err)
	}
}
