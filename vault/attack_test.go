package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/seal"
)

// The attacker of these tests can write the store but holds no participant
// key: an administrator, a backup operator, whoever has the disk. Each test
// edits badger's records directly, as such a person would, then asserts that
// the attack's effect does not happen and that Check names the record. Each
// keeps a control: the same steps without the edit succeed, so the test can
// fail.

// editRecord rewrites the JSON record at key in the closed vault at dir.
func editRecord[T any](t *testing.T, dir, key string, edit func(*T)) {
	t.Helper()
	withBadger(t, dir, func(db *badger.DB) {
		var v T
		if err := decodeRecord(rawGet(t, db, key), &v); err != nil {
			t.Fatalf("decoding %q: %v", key, err)
		}
		edit(&v)
		b, err := encodeRecord(&v)
		if err != nil {
			t.Fatal(err)
		}
		rawSet(t, db, key, b)
	})
}

// wantIntegrity asserts err is an *IntegrityError whose subject names what.
func wantIntegrity(t *testing.T, err error, what string) {
	t.Helper()
	var ie *IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an integrity error about %s", err, what)
	}
	if !strings.Contains(ie.What, what) {
		t.Fatalf("integrity error names %q, want %q: %v", ie.What, what, err)
	}
}

// checkNames asserts that Check finds a problem naming what.
func (f *fixture) checkNames(what string) {
	f.t.Helper()
	_, err := f.v.Check(f.ctx)
	if err == nil {
		f.t.Fatalf("check found nothing; want a problem with %s", what)
	}
	if !strings.Contains(err.Error(), what) {
		f.t.Fatalf("check: %v; want it to name %s", err, what)
	}
}

func (f *fixture) checkClean() {
	f.t.Helper()
	if _, err := f.v.Check(f.ctx); err != nil {
		f.t.Fatalf("check on an untouched vault: %v", err)
	}
}

// Row 1: the age-recipient half of bob's key replaced by the attacker's.
// Every later note "to bob" would have been readable by the attacker.
func TestAttackSwapRecipient(t *testing.T) {
	for _, whole := range []bool{false, true} {
		name := map[bool]string{false: "recipient half", true: "whole key, validly bound"}[whole]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, true)
			f.add(policy.Session, f.alice, content("control", "written before the attack")) // control
			f.checkClean()
			mallory := newIdentity(t)
			f.close()
			editRecord(t, f.dir, pParticipant+"bob", func(p *Participant) {
				k, _ := identity.ParsePublicKey(p.Key)
				if whole {
					k = mallory.Public()
				} else {
					k.Recipient = mallory.Public().Recipient
				}
				p.Key = k.String()
			})
			f.open()
			_, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "MARK-secret")}, f.alice)
			if whole {
				// A validly bound key of someone else: bob's own signatures
				// in the chain no longer verify under it.
				wantIntegrity(t, err, "agreement "+f.agreement)
				if !strings.Contains(err.Error(), "by bob") {
					t.Fatalf("error does not name bob: %v", err)
				}
				f.checkNames("bob")
			} else {
				wantIntegrity(t, err, "participant bob")
				f.checkNames("participant bob")
			}
			f.close()
			// Nothing was encrypted to the attacker's key.
			if got := recoverable(t, f.dir, []*identity.Identity{mallory}, []string{"MARK-secret"}); len(got) != 0 {
				t.Fatalf("the attacker's key opens %v", got)
			}
		})
	}
}

// Row 2: a private reflection relabelled as a summary (or moved to another
// agreement), then an ordinary grant: before, the reflection was copied to
// carol.
func TestAttackRelabelNote(t *testing.T) {
	for _, field := range []string{"kind", "agreement"} {
		t.Run(field, func(t *testing.T) {
			f := newFixture(t, true)
			r := f.add(policy.Reflection, f.alice, content("private", "MARK-reflection"))
			if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
				t.Fatal(err)
			}
			var other string
			if field == "agreement" {
				a, err := f.v.CreateAgreement(f.ctx, f.text)
				if err != nil {
					t.Fatal(err)
				}
				other = a.ID
			}
			f.close()
			editRecord(t, f.dir, pNote+r.ID, func(n *noteRec) {
				if field == "kind" {
					n.Meta.Kind = policy.Summary
				} else {
					n.Meta.Agreement = other
					n.Meta.Kind = policy.Summary
				}
			})
			f.open()
			if field == "agreement" {
				// The note now claims another agreement, so grants of this one
				// no longer see it; reading it names the tampering.
				_, err := f.v.ReadNote(f.ctx, r.ID, f.alice)
				wantIntegrity(t, err, "note "+r.ID)
			} else {
				_, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice)
				wantIntegrity(t, err, "note "+r.ID)
			}
			if _, err := f.v.ReadNote(f.ctx, r.ID, f.carol); err == nil {
				t.Fatal("carol reads the relabelled reflection")
			}
			f.checkNames("note " + r.ID)
			f.close()
			if got := recoverable(t, f.dir, []*identity.Identity{f.carol}, []string{"MARK-reflection"}); len(got) != 0 {
				t.Fatalf("carol's key opens %v", got)
			}
		})
	}
}

// lastFact returns the key and value of an agreement's newest fact.
func lastFact(t *testing.T, db *badger.DB, agreementID string) (string, *fact) {
	t.Helper()
	var key string
	var last fact
	err := db.View(func(txn *badger.Txn) error {
		return scan(badgerstore.Wrap(txn, false), pFact+agreementID+"/", func(k string, f *fact) error {
			key, last = k, *f
			return nil
		})
	})
	if err != nil || key == "" {
		t.Fatalf("no facts for %s: %v", agreementID, err)
	}
	return key, &last
}

// Row 3: the end of a grant or a consent deleted, or an older agreement
// record written back. The chain no longer reaches the fact the audit log
// recorded: Check names it even for someone who never pinned the chain, and
// a user who saw the newer chain is refused by every command (pins_test).
func TestAttackReviveEndedGrant(t *testing.T) {
	f, g, _, _ := grantFixture(t, false)
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	f.checkClean()
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		key, last := lastFact(t, db, f.agreement)
		if last.Type != factRevoke {
			t.Fatalf("newest fact is %s, want the revocation", last.Type)
		}
		rawDelete(t, db, key)
	})
	f.open()
	var re *RollbackError
	if _, err := f.v.Check(f.ctx); !errors.As(err, &re) || !strings.Contains(err.Error(), "agreement "+f.agreement) {
		t.Fatalf("check: %v, want a rollback of agreement %s", err, f.agreement)
	}
}

// Clearing an ending field is no longer possible (there is none), but
// editing a signed fact is: the edited fact fails its signature.
func TestAttackEditFact(t *testing.T) {
	f, g, _, _ := grantFixture(t, false)
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		var key string
		err := db.View(func(txn *badger.Txn) error {
			return scan(badgerstore.Wrap(txn, false), pFact+f.agreement+"/", func(k string, fa *fact) error {
				if fa.Type == factGrant {
					key = k
				}
				return nil
			})
		})
		if err != nil || key == "" {
			t.Fatalf("no grant fact: %v", err)
		}
		var fa fact
		if err := decodeRecord(rawGet(t, db, key), &fa); err != nil {
			t.Fatal(err)
		}
		var b grantBody
		if err := json.Unmarshal(fa.Body, &b); err != nil {
			t.Fatal(err)
		}
		b.Expires = b.Expires.Add(10 * 365 * 24 * time.Hour) // a ten-year grant
		fa.Body, _ = json.Marshal(b)
		v, _ := encodeRecord(&fa)
		rawSet(t, db, key, v)
	})
	f.open()
	_, _, err := f.v.Grants(f.ctx, f.agreement)
	wantIntegrity(t, err, "agreement "+f.agreement+" fact")
	f.clock.Set(g.Expires.Add(time.Hour))
	notes, _ := f.v.ListNotes(f.ctx, NoteFilter{})
	if len(notes) > 0 {
		if _, err := f.v.ReadNote(f.ctx, notes[0].ID, f.carol); err == nil {
			t.Fatal("carol reads under the extended grant")
		}
	}
	f.checkNames("agreement " + f.agreement + " fact")
}

// A consent written into the chain by someone who is not the mentee, even
// signed by a party (alice signs for bob): policy would not have allowed it,
// so the chain fails and nothing is granted on it.
func TestAttackForgedConsent(t *testing.T) {
	f := newFixture(t, true)
	s := f.add(policy.Summary, f.alice, content("t", "MARK-forged"))
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		_, last := lastFact(t, db, f.agreement)
		body, _ := json.Marshal(consentBody{ID: "c-forged", Version: 1, Grantee: "carol", Kinds: []policy.Kind{policy.Summary}})
		fa := &fact{Agreement: f.agreement, Seq: last.Seq + 1, Prev: last.hash(), Type: factConsent, Actor: "alice",
			At: last.At.Add(time.Second), Body: body}
		fa.Sig = f.alice.Sign(fa.signedBytes())
		v, _ := encodeRecord(fa)
		rawSet(t, db, factKey(f.agreement, fa.Seq), v)
	})
	f.open()
	_, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice)
	wantIntegrity(t, err, "agreement "+f.agreement+" fact")
	if _, err := f.v.ReadNote(f.ctx, s.ID, f.carol); err == nil {
		t.Fatal("carol reads on a forged consent")
	}
}

// Row 4: new content sealed under the shred key on disk, age-encrypted to
// the readers' public keys, in place of alice's note. Before, bob read the
// forged text as alice's.
func TestAttackForgeContent(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("real", "MARK-real"))
	control := f.add(policy.Session, f.alice, content("control", "untouched"))
	f.close()
	// The attacker even copies the envelope's header lines.
	resealForged(t, f.dir, n.ID, (&envelope{Content: content("real", "MARK-forged: pay mallory"), Note: n.ID,
		Agreement: n.Agreement, Kind: n.Kind, Nonce: make([]byte, 16)}).marshal(), f.alice, f.bob)
	f.open()
	p, err := f.v.ReadNote(f.ctx, n.ID, f.bob)
	wantIntegrity(t, err, "note "+n.ID)
	if p != nil {
		t.Fatalf("forged content shown: %q", p.Content.Body)
	}
	if _, err := f.v.ExportNote(f.ctx, n.ID, f.bob); err == nil {
		t.Fatal("forged content exported")
	}
	if p, err := f.v.ReadNote(f.ctx, control.ID, f.bob); err != nil || string(p.Content.Body) != "untouched" {
		t.Fatalf("control note: %v", err)
	}
}

// A note written into the store from scratch, with no author's signature.
func TestAttackForgeNote(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("real", "real"))
	f.close()
	editRecord(t, f.dir, pNote+n.ID, func(r *noteRec) { r.Meta.Readers = append(r.Meta.Readers, "carol") })
	f.open()
	_, err := f.v.ReadNote(f.ctx, n.ID, f.carol)
	wantIntegrity(t, err, "note "+n.ID)
	d, err := f.v.Explain(f.ctx, n.ID, "carol")
	if err == nil || d.Allowed() {
		t.Fatalf("explain allows carol on forged readers: %v %v", d, err)
	}
}

// Row 7: holds come only from signed hold facts, and the expiry index is
// checked against the notes: a deleted index entry (the note would never be
// swept) is named by Check; an unsigned hold fact fails the chain.
func TestAttackHoldsAndIndex(t *testing.T) {
	t.Run("index entry deleted", func(t *testing.T) {
		f := newFixture(t, true)
		n := f.add(policy.Reflection, f.bob, content("t", "b"))
		f.checkClean()
		f.close()
		withBadger(t, f.dir, func(db *badger.DB) { rawDelete(t, db, expiryKey(n.Expires.Unix(), n.ID)) })
		f.open()
		f.checkNames("note " + n.ID)
	})
	t.Run("unsigned hold", func(t *testing.T) {
		f := newFixture(t, true)
		n := f.add(policy.Reflection, f.bob, content("t", "b"))
		f.close()
		withBadger(t, f.dir, func(db *badger.DB) {
			_, last := lastFact(t, db, f.agreement)
			body, _ := json.Marshal(holdBody{ID: "h-forged", Note: n.ID})
			fa := &fact{Agreement: f.agreement, Seq: last.Seq + 1, Prev: last.hash(), Type: factHold, Actor: "carol",
				At: last.At.Add(time.Second), Body: body}
			v, _ := encodeRecord(fa)
			rawSet(t, db, factKey(f.agreement, fa.Seq), v)
		})
		f.open()
		_, err := f.v.GetNote(f.ctx, n.ID)
		wantIntegrity(t, err, "agreement "+f.agreement+" fact")
		f.checkNames("agreement " + f.agreement)
	})
	t.Run("hold list in metadata is ignored", func(t *testing.T) {
		f := newFixture(t, true)
		n := f.add(policy.Reflection, f.bob, content("t", "b"))
		f.close()
		withBadger(t, f.dir, func(db *badger.DB) {
			var raw map[string]any
			b := rawGet(t, db, pNote+n.ID)
			if err := json.Unmarshal(b[1:], &raw); err != nil {
				t.Fatal(err)
			}
			raw["holds"] = []string{"h-made-up"}
			j, _ := json.Marshal(raw)
			rawSet(t, db, pNote+n.ID, append([]byte{schemaV1}, j...))
		})
		f.open()
		f.clock.Set(n.Expires.Add(time.Hour))
		es, err := f.v.ExpiryIndex(f.ctx, f.clock.Now())
		if err != nil || len(es) != 1 || es[0].Meta == nil || es[0].Meta.Held() {
			t.Fatalf("index %+v, %v: a made-up hold kept the note", es, err)
		}
	})
}

// The known-answer tests of the canonical signing bytes: changing a
// record's layout silently would invalidate every signature ever made, so
// the bytes are pinned here.
func TestCanonicalBytes(t *testing.T) {
	at := time.Date(2026, 11, 23, 18, 0, 0, 5, time.UTC)
	f := &fact{Agreement: "a-1", Seq: 2, Prev: "ab", Type: factAccept, Actor: "bob", At: at, Body: []byte(`{}`)}
	want := "notevault fact v1\n" +
		"\x00\x00\x00\x03a-1" + "\x00\x00\x00\x00\x00\x00\x00\x02" + "\x00\x00\x00\x02ab" + "\x00\x00\x00\x06accept" +
		"\x00\x00\x00\x03bob" + "\x01\x00\x00\x00\x00\x6b\x04\x7f\x20\x00\x00\x00\x05" + "\x00\x00\x00\x02{}"
	if got := string(f.signedBytes()); got != want {
		t.Errorf("fact bytes\n got %q\nwant %q", got, want)
	}
	m := &noteMeta{ID: "n-1", Agreement: "a-1", Version: 1, Kind: policy.Session, Author: "alice", Readers: []string{"alice", "bob"},
		Created: at, Expires: time.Time{}, Commit: "cc"}
	want = "notevault note v1\n" +
		"\x00\x00\x00\x03n-1" + "\x00\x00\x00\x03a-1" + "\x00\x00\x00\x00\x00\x00\x00\x01" + "\x00\x00\x00\x07session" +
		"\x00\x00\x00\x05alice" + "\x00\x00\x00\x02" + "\x00\x00\x00\x05alice" + "\x00\x00\x00\x03bob" +
		"\x01\x00\x00\x00\x00\x6b\x04\x7f\x20\x00\x00\x00\x05" + "\x00" + "\x00\x00\x00\x02cc"
	if got := string(m.signedBytes()); got != want {
		t.Errorf("note bytes\n got %q\nwant %q", got, want)
	}
}

// The vault of the first release is refused, not opened on trust.
func TestOldFormatRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	if err := Init(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, markerFile), []byte(formatMarker1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), dir, Options{}); !errors.Is(err, ErrOldFormat) {
		t.Fatalf("Open of a format-1 vault: %v, want ErrOldFormat", err)
	}
}

// A note whose expiry was moved earlier in its metadata is not destroyed on
// its word: the sweep's reading of the index reports the problem instead.
func TestAttackEarlierExpiry(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Reflection, f.bob, content("t", "b"))
	f.close()
	editRecord(t, f.dir, pNote+n.ID, func(r *noteRec) { r.Meta.Expires = r.Meta.Created.Add(time.Hour) })
	withBadger(t, f.dir, func(db *badger.DB) {
		rawDelete(t, db, expiryKey(n.Expires.Unix(), n.ID))
		rawSet(t, db, expiryKey(n.Created.Add(time.Hour).Unix(), n.ID), nil)
	})
	f.open()
	f.clock.Set(n.Created.Add(2 * time.Hour))
	es, err := f.v.ExpiryIndex(f.ctx, f.clock.Now())
	if err != nil || len(es) != 1 {
		t.Fatalf("index %+v, %v", es, err)
	}
	if es[0].Meta != nil || !strings.Contains(es[0].Problem, "note "+n.ID) {
		t.Fatalf("the tampered note reads as %+v, want a problem and no metadata", es[0])
	}
	if _, err := f.v.SweepNotes(f.ctx, []Due{{Note: n.ID, Rule: "retention.reflection:1h"}}); err == nil {
		t.Fatal("the sweep destroyed a note on tampered metadata")
	}
}

// Rows 3 and 6 for a user who saw the newer state: a revocation deleted
// from the chain (or an older chain written back) is refused by every
// action on the agreement, not only by check. Two users: alice loaded the
// chain after the revocation; dave-the-operator never loaded the agreement
// but his pin covers the audit record of the revocation. A third user who
// never saw the vault before (a fresh pin) is the control: a fork shown to a
// newcomer is the limit the threat model states.
func TestAttackRollbackRefusedByPins(t *testing.T) {
	f, g, _, _ := grantFixture(t, false)
	alicePins := filepath.Join(t.TempDir(), "alice")
	operatorPins := filepath.Join(t.TempDir(), "operator")
	f.close()
	// The operator pins the vault before the revocation ...
	if err := f.openPinned(operatorPins); err != nil {
		t.Fatal(err)
	}
	f.close()
	if err := f.openPinned(alicePins); err != nil {
		t.Fatal(err)
	}
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	f.close()
	// ... and sees its audit record, without loading the agreement.
	if err := f.openPinned(operatorPins); err != nil {
		t.Fatal(err)
	}
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		key, last := lastFact(t, db, f.agreement)
		if last.Type != factRevoke {
			t.Fatalf("newest fact is %s", last.Type)
		}
		rawDelete(t, db, key)
	})
	for name, dir := range map[string]string{"alice": alicePins, "operator": operatorPins} {
		if err := f.openPinned(dir); err != nil {
			t.Fatalf("%s opens: %v", name, err)
		}
		_, _, err := f.v.Grants(f.ctx, f.agreement)
		var re *RollbackError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "agreement "+f.agreement) {
			t.Fatalf("%s lists grants on the cut chain: %v, want a rollback of agreement %s", name, err, f.agreement)
		}
		f.close()
	}
	// The control: a newcomer trusts what they find.
	if err := f.openPinned(filepath.Join(t.TempDir(), "newcomer")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.v.Grants(f.ctx, f.agreement); err != nil {
		t.Fatalf("a newcomer is refused too (the test cannot tell pins apart): %v", err)
	}
	f.checkNames("agreement " + f.agreement)
}

// A user who verified a chain does not check its old signatures again, but
// an edit inside the part they verified still changes the chain's hash at
// their pinned head: refused as a fork. The control is the same user on the
// untouched chain.
func TestAttackEditInsideVerifiedChain(t *testing.T) {
	f, _, _, _ := grantFixture(t, false)
	pins := filepath.Join(t.TempDir(), "pins")
	f.close()
	if err := f.openPinned(pins); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.v.Grants(f.ctx, f.agreement); err != nil { // control: verifies and pins
		t.Fatal(err)
	}
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		var key string
		var fa fact
		err := db.View(func(txn *badger.Txn) error {
			return scan(badgerstore.Wrap(txn, false), pFact+f.agreement+"/", func(k string, x *fact) error {
				if x.Type == factGrant {
					key, fa = k, *x
				}
				return nil
			})
		})
		if err != nil || key == "" {
			t.Fatalf("no grant fact: %v", err)
		}
		var b grantBody
		json.Unmarshal(fa.Body, &b)
		b.Expires = b.Expires.Add(10 * 365 * 24 * time.Hour)
		fa.Body, _ = json.Marshal(b)
		v, _ := encodeRecord(&fa)
		rawSet(t, db, key, v)
	})
	if err := f.openPinned(pins); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.v.Grants(f.ctx, f.agreement)
	var re *RollbackError
	var ie *IntegrityError
	if !errors.As(err, &re) && !errors.As(err, &ie) {
		t.Fatalf("grants on a chain edited inside the verified part: %v, want a refusal", err)
	}
}

// An amendment only proposed changes nothing: a supervisor and custodian it
// would add cannot place a hold (before, the hold code read the latest
// version, not the one in force). Control: once both accept, the same hold
// is placed.
func TestProposedAmendmentGrantsNothing(t *testing.T) {
	f := newFixture(t, true)
	f.setTerms(func(t *policy.Terms) {
		if t.Version >= 2 {
			t.Custodians = []string{"dave"}
		}
	})
	dave := newIdentity(t)
	if _, err := f.v.AddParticipant(f.ctx, "dave", policy.Supervisor, dave.Public().String()); err != nil {
		t.Fatal(err)
	}
	amended := strings.Replace(string(f.text), "supervisors: [carol]", "supervisors: [carol, dave]", 1)
	if amended == string(f.text) {
		t.Fatal("agreement file has no supervisors: [carol] line")
	}
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, []byte(amended), f.alice); err != nil {
		t.Fatal(err)
	}
	var de *DeniedError
	if _, err := f.v.AddHold(f.ctx, f.agreement, "", "dave's hold", dave); !errors.As(err, &de) {
		t.Fatalf("dave holds under a proposed amendment: %v", err)
	}
	f.accept(f.bob)
	if _, err := f.v.AddHold(f.ctx, f.agreement, "", "dave's hold", dave); err != nil {
		t.Fatalf("dave's hold once the amendment is in force: %v", err)
	}
}

// Before anyone accepted, an insider swaps the sealed text of version 1 for
// other terms (it is the administrator's unsigned proposal). An acceptance
// bound to the reviewed file refuses it; the control accepts the real text.
func TestAcceptReviewedRefusesOtherText(t *testing.T) {
	f := newFixture(t, false)
	other := strings.Replace(string(f.text), "review: quarterly", "review: never", 1)
	if _, err := f.v.AcceptReviewed(f.ctx, f.agreement, []byte(other), f.alice); !errors.Is(err, ErrInvalid) {
		t.Fatalf("accepting against another text: %v, want a refusal", err)
	}
	if a, _ := f.v.GetAgreement(f.ctx, f.agreement); len(a.Latest().Acceptances) != 0 {
		t.Fatal("a refused acceptance was recorded")
	}
	if _, err := f.v.AcceptReviewed(f.ctx, f.agreement, f.text, f.alice); err != nil {
		t.Fatalf("accepting the reviewed text: %v", err)
	}
}

// resealForged plays the attacker who reads the shred key on disk: it
// replaces blob's sealed age file with plain age-encrypted to the given
// people's public keys, sealed under the blob's own shred key.
func resealForged(t *testing.T, dir, blob string, plain []byte, to ...*identity.Identity) {
	t.Helper()
	keys, err := seal.OpenKeyring(filepath.Join(dir, keysDir))
	if err != nil {
		t.Fatal(err)
	}
	var rs []age.Recipient
	for _, id := range to {
		r, err := id.Public().AgeRecipient()
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	withBadger(t, dir, func(db *badger.DB) {
		var rec blobRec
		if err := decodeRecord(rawGet(t, db, pBlob+blob), &rec); err != nil {
			t.Fatal(err)
		}
		key, err := keys.Key(rec.Bucket, false)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Sealed, err = seal.Seal(key, seal.AD(blob, rec.Bucket), buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		b, _ := encodeRecord(&rec)
		rawSet(t, db, pBlob+blob, b)
	})
}
