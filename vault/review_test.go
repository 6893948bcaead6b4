package vault

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/seal"
)

// The attacks of this file were found reviewing the vault as someone who
// can write the vault directory but holds no participant key. Each test
// performs one and asserts the safe outcome.

// reviewSwapKey replaces name's registered key, in the closed vault at dir, with
// another validly bound key: the attacker's own.
func reviewSwapKey(t *testing.T, dir, name string, to *identity.Identity) {
	t.Helper()
	editRecord(t, dir, pParticipant+name, func(p *Participant) { p.Key = to.Public().String() })
}

// A key pinned by a version in force is swapped for the attacker's, and
// the parties later amend the agreement. The amendment's acceptances pinned
// whatever key was stored, so the swapped key became the pinned one: the
// amendment's text, and every grant copy for the supervisor after it, were
// encrypted to the attacker.
func TestReviewAmendmentRepinsSwappedKey(t *testing.T) {
	f := newFixture(t, true)
	mallory := newIdentity(t)
	f.close()
	reviewSwapKey(t, f.dir, "carol", mallory)
	f.open()

	f.clock.Advance(time.Second)
	_, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice)
	if err == nil {
		// The attack goes on as the parties' ordinary work: bob accepts,
		// consents that carol sees summaries, alice grants it.
		t.Error("the amendment pinned a key that is not the one version 1 pinned for carol")
		f.accept(f.bob)
		if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
			t.Fatal(err)
		}
		f.add(policy.Summary, f.alice, content("t", "MARK-summary"))
		if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice); err != nil {
			t.Fatal(err)
		}
	} else {
		wantIntegrity(t, err, "participant carol")
	}
	f.close()
	if got := recoverable(t, f.dir, []*identity.Identity{mallory}, []string{"Land a data-science role", "MARK-summary"}); len(got) != 0 {
		t.Fatalf("the attacker's key opens %v", got)
	}
}

// A party colluding with the store (or the store alone, given the party's
// signature) cannot re-pin a continuing party's key in a later acceptance
// either: the chain refuses an acceptance that changes a key pinned by an
// earlier version in force.
func TestReviewChainRefusesRepin(t *testing.T) {
	f := newFixture(t, true)
	mallory := newIdentity(t)
	f.clock.Advance(time.Second)
	if _, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		key, last := lastFact(t, db, f.agreement)
		if last.Type != factAccept || last.Actor != "alice" {
			t.Fatalf("newest fact is %s by %s, want alice's acceptance", last.Type, last.Actor)
		}
		var b acceptBody
		if err := last.decode(&b); err != nil {
			t.Fatal(err)
		}
		b.Pins["carol"] = mallory.Public().Fingerprint()
		last.Body = reviewJSON(t, b)
		last.Sig = f.alice.Sign(last.signedBytes()) // alice colludes
		v, _ := encodeRecord(last)
		rawSet(t, db, key, v)
	})
	f.open()
	_, err := f.v.GetAgreement(f.ctx, f.agreement)
	wantIntegrity(t, err, "agreement "+f.agreement+" fact")
}

func reviewJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reviewReseal replaces the blob stored as blobID, in the closed vault at
// dir, with plaintext age-encrypted to the given public keys and sealed
// under the blob's own shred key, which the attacker reads from shred/.
func reviewReseal(t *testing.T, dir, blobID string, plaintext []byte, to ...*identity.Identity) {
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
	ageFile, err := encryptTo(plaintext, rs)
	if err != nil {
		t.Fatal(err)
	}
	withBadger(t, dir, func(db *badger.DB) {
		var rec blobRec
		if err := decodeRecord(rawGet(t, db, pBlob+blobID), &rec); err != nil {
			t.Fatal(err)
		}
		key, err := keys.Key(rec.Bucket, false)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Sealed, err = seal.Seal(key, seal.AD(blobID, rec.Bucket), ageFile); err != nil {
			t.Fatal(err)
		}
		b, _ := encodeRecord(&rec)
		rawSet(t, db, pBlob+blobID, b)
	})
}

// The statement of why a disclosure was made is age-encrypted to the
// discloser, the recipient and the mentee, but the signed disclosure did not
// commit to it: the attacker encrypted words of their own to the same public
// keys, sealed them under the shred key on disk, and the mentee was shown
// them as alice's statement.
func TestReviewForgedDisclosureStatement(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "body"))
	f.clock.Advance(time.Second)
	d, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "bob said he was at risk", f.alice)
	if err != nil {
		t.Fatal(err)
	}
	// Control: the statement as alice made it.
	if _, s, err := f.v.DisclosureStatement(f.ctx, d.ID, f.bob); err != nil || s != "bob said he was at risk" {
		t.Fatalf("statement before the attack: %q, %v", s, err)
	}
	f.close()
	reviewReseal(t, f.dir, statementBlob(d.ID), []byte("MARK-forged: I disclosed it to hurt bob"), f.alice, f.bob, f.carol)
	f.open()
	_, s, err := f.v.DisclosureStatement(f.ctx, d.ID, f.bob)
	if err == nil {
		t.Fatalf("bob is shown a forged statement as alice's: %q", s)
	}
	wantIntegrity(t, err, "disclosure "+d.ID)
}

// reviewSnapshot is what the attacker copies of one note before it is
// destroyed: every record that names it and the shred key of its bucket.
type reviewSnapshot struct {
	records map[string][]byte
	key     []byte
	keyFile string
}

func reviewTakeSnapshot(t *testing.T, dir string, n *Note) *reviewSnapshot {
	t.Helper()
	s := &reviewSnapshot{records: map[string][]byte{}, keyFile: filepath.Join(dir, keysDir, n.Bucket+".key")}
	withBadger(t, dir, func(db *badger.DB) {
		for _, k := range []string{pNote + n.ID, pBlob + n.ID, expiryKey(n.Expires.Unix(), n.ID),
			pMember + n.Bucket + "/" + n.ID, pBucketHead + baseOf(n.Bucket)} {
			v := rawGet(t, db, k)
			if v == nil && k[:2] != pMember && k[:2] != pExpiry {
				t.Fatalf("no record %q to copy", k)
			}
			s.records[k] = v
		}
	})
	var err error
	if s.key, err = os.ReadFile(s.keyFile); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *reviewSnapshot) restore(t *testing.T, dir string) {
	t.Helper()
	withBadger(t, dir, func(db *badger.DB) {
		for k, v := range s.records {
			if v == nil {
				v = []byte{}
			}
			rawSet(t, db, k, v)
		}
	})
	if err := os.WriteFile(s.keyFile, s.key, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A note its mentee deleted is written back: its records and a copy of its
// shred key taken before the deletion. The deletion was no signed fact and
// nothing compared the notes with the audit log's receipts, so alice read the
// note again and notevault check found nothing, though the log holds bob's
// signed receipt. The log is intact (nothing was cut from its tail), so a
// pinned checkpoint does not notice either.
func TestReviewDeletedNoteRevived(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "MARK-regretted"))
	f.add(policy.Session, f.alice, content("control", "stays"))
	f.close()
	snap := reviewTakeSnapshot(t, f.dir, n)
	f.open()
	f.clock.Advance(time.Second)
	if _, err := f.v.DeleteNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatal(err)
	}
	f.checkClean()
	f.close()
	snap.restore(t, f.dir)
	f.open()
	f.checkNames("note " + n.ID)
}

// A note deleted from the store by hand, with its shred key, leaves no
// receipt; check did not notice that the log records a note that is neither
// in the store nor destroyed. Nor, when the attacker appends the sweep's
// unsigned receipt (the checkpoint key is in the vault directory, so they
// can sign the checkpoint that covers it), a receipt dated before the note's
// signed expiry, or one while a hold kept it.
func TestReviewNoteVanishesWithoutReceipt(t *testing.T) {
	for _, receipt := range []string{"none", "before expiry", "while held"} {
		t.Run(receipt, func(t *testing.T) {
			f := newFixture(t, true)
			n := f.add(policy.Reflection, f.bob, content("t", "kept for the hold"))
			if receipt == "while held" {
				if _, err := f.v.AddHold(f.ctx, "", n.ID, "litigation", f.alice); err != nil {
					t.Fatal(err)
				}
			}
			f.checkClean()
			f.close()
			withBadger(t, f.dir, func(db *badger.DB) {
				for _, k := range []string{pNote + n.ID, pBlob + n.ID, expiryKey(n.Expires.Unix(), n.ID),
					pMember + n.Bucket + "/" + n.ID, pBucketHead + baseOf(n.Bucket)} {
					rawDelete(t, db, k)
				}
			})
			if err := os.Remove(filepath.Join(f.dir, keysDir, n.Bucket+".key")); err != nil {
				t.Fatal(err)
			}
			f.open()
			if receipt != "none" {
				if receipt == "while held" {
					f.clock.Set(n.Expires.Add(time.Hour))
				}
				err := f.v.update(func(txn kv.Txn) error {
					return f.v.appendLog(txn, &audit.Record{Actor: ActorRetention, Action: "note.destroy", Agreement: n.Agreement,
						Subject: n.ID, Kind: string(n.Kind), Rule: "retention." + string(n.Kind)}, nil)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			f.checkNames("note " + n.ID)
		})
	}
}

// The control of the two above: notes destroyed by the sweep, after a
// hold's release, and by their author leave check clean.
func TestReviewNoteHistoryControl(t *testing.T) {
	f, _, held, kept := retentionFixture(t, false)
	f.checkClean()
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil || len(a.holds) != 1 {
		t.Fatalf("holds: %v", err)
	}
	f.clock.Advance(time.Hour)
	if err := f.v.ReleaseHold(f.ctx, a.holds[0].ID, f.alice); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if destroyed, _, err := f.sweep(); err != nil || len(destroyed) != 1 || destroyed[0].Note != held.ID {
		t.Fatalf("sweep after the release: %v, %v", destroyed, err)
	}
	if _, err := f.v.DeleteNote(f.ctx, kept.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	f.checkClean()
}

// Before anyone pinned carol's key (the agreement is not yet accepted), the
// attacker registers their own validly bound key as hers and appends a
// registration record to match: a system actor's record is unsigned, and
// the checkpoint key is in the vault directory. The parties' acceptances pin
// the attacker's key, and a grant to carol is sealed to it: trust on first
// use, which only comparing fingerprints out of band prevents. But check,
// which holds every key against the fingerprint the log recorded at
// registration, took the newest record for a name, so it found nothing.
func TestReviewAppendedRegistrationLaundersSwappedKey(t *testing.T) {
	f := newFixture(t, false)
	mallory := newIdentity(t)
	f.close()
	reviewSwapKey(t, f.dir, "carol", mallory)
	f.open()
	f.checkNames("participant carol") // control: the swap alone is named
	err := f.v.update(func(txn kv.Txn) error {
		return f.v.appendLog(txn, &audit.Record{Actor: ActorVault, Action: "participant.add", Subject: "carol",
			Detail: map[string]string{"role": "supervisor", "key": mallory.Public().Fingerprint()}}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.accept(f.alice)
	f.accept(f.bob)
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	f.add(policy.Summary, f.alice, content("t", "MARK-tofu"))
	if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice); err != nil {
		t.Fatal(err)
	}
	f.checkNames("participant carol")
}

// The sweep decides which shred keys to destroy from a note's bucket and
// copies, which its author does not sign: the vault's bookkeeping, stored
// beside the signed metadata. Edited, they turned the sweep of one expired
// note into the destruction of another note's key: one under a legal hold,
// or one years from its expiry. The receipt named only the expired note.
func TestReviewSweepSteeredByUnsignedBookkeeping(t *testing.T) {
	for _, trick := range []string{"copies list the note twice", "copies name the victim", "bucket names the victim's"} {
		t.Run(trick, func(t *testing.T) {
			f := newFixture(t, true)
			// Both reflections expire in the same hour: one bucket.
			doomed := f.add(policy.Reflection, f.bob, content("t", "due"))
			victim, reader := f.add(policy.Reflection, f.bob, content("t", "MARK-victim")), f.bob
			if trick != "copies list the note twice" {
				victim, reader = f.add(policy.Session, f.alice, content("t", "MARK-victim")), f.alice // due in a year
			} else if _, err := f.v.AddHold(f.ctx, "", victim.ID, "litigation", f.alice); err != nil {
				t.Fatal(err)
			}
			f.close()
			editRecord(t, f.dir, pNote+doomed.ID, func(r *noteRec) {
				switch trick {
				case "copies list the note twice":
					r.Copies = []string{doomed.ID}
				case "copies name the victim":
					r.Copies = []string{victim.ID}
				default:
					r.Bucket = victim.Bucket
				}
			})
			f.open()
			f.clock.Set(doomed.Expires.Add(time.Hour))
			if _, _, err := f.sweep(); err != nil {
				t.Logf("sweep: %v", err)
			}
			p, err := f.v.ReadNote(f.ctx, victim.ID, reader)
			if err != nil || string(p.Content.Body) != "MARK-victim" {
				t.Errorf("the sweep of %s destroyed %s: %v", doomed.ID, victim.ID, err)
			}
		})
	}
}

// A note whose record fails verification is not destroyed on its word; but
// the sweep skipped it without a word, so an expired note was kept for as
// long as nobody ran check. The sweep still destroys what is due, and then
// names the note it refused.
func TestReviewSweepSilentlySkipsUnverifiable(t *testing.T) {
	f := newFixture(t, true)
	bad := f.add(policy.Reflection, f.bob, content("t", "expired"))
	good := f.add(policy.Reflection, f.bob, content("t", "expired too"))
	f.close()
	editRecord(t, f.dir, pNote+bad.ID, func(r *noteRec) { r.Sig[0] ^= 1 })
	f.open()
	f.clock.Set(bad.Expires.Add(time.Hour))
	destroyed, _, err := f.sweep()
	if len(destroyed) != 1 || destroyed[0].Note != good.ID {
		t.Fatalf("sweep destroyed %v, want %s alone", destroyed, good.ID)
	}
	wantIntegrity(t, err, "note "+bad.ID)
}

// The i/ index (record id -> agreement) is a lookup aid, but the actions
// that end things trusted it: pointed at another agreement, or deleted, it
// made bob's withdrawal of his consent (and alice's revocation of the grant)
// fail as "not found", and carol went on reading what bob meant to close.
func TestReviewIndexBlocksEndings(t *testing.T) {
	for _, edit := range []string{"pointed elsewhere", "deleted"} {
		t.Run(edit, func(t *testing.T) {
			f, g, c, _ := grantFixture(t, false)
			other, err := f.v.CreateAgreement(f.ctx, f.text)
			if err != nil {
				t.Fatal(err)
			}
			f.close()
			withBadger(t, f.dir, func(db *badger.DB) {
				for _, id := range []string{c.ID, g.ID} {
					if edit == "deleted" {
						rawDelete(t, db, pIndex+id)
					} else {
						rawSet(t, db, pIndex+id, []byte(other.ID))
					}
				}
			})
			f.open()
			if err := f.v.WithdrawConsent(f.ctx, c.ID, f.bob); err != nil {
				t.Errorf("bob cannot withdraw his consent: %v", err)
			}
			if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil && !strings.Contains(err.Error(), "already") {
				t.Errorf("alice cannot revoke the grant: %v", err)
			}
			notes, err := f.v.ListNotes(f.ctx, NoteFilter{Agreement: f.agreement, Kind: policy.Summary})
			if err != nil || len(notes) == 0 {
				t.Fatalf("notes: %v", err)
			}
			if _, err := f.v.ReadNote(f.ctx, notes[0].ID, f.carol); err == nil {
				t.Error("carol still reads after bob withdrew his consent")
			}
		})
	}
}

// whoami matched an identity to the first record holding its key, whatever
// name the record stood under: a record p/zz naming itself "bob" with
// carol's key made carol's identity act as bob, the mentee, who may delete
// any note of the agreement, and carol deleted alice's note.
func TestReviewWhoamiTrustsRecordName(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "alice's"))
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		var p Participant
		if err := decodeRecord(rawGet(t, db, pParticipant+"carol"), &p); err != nil {
			t.Fatal(err)
		}
		p.Name = "bob"
		b, _ := encodeRecord(&p)
		rawSet(t, db, pParticipant+"zz", b)
	})
	f.open()
	if me, err := f.v.Whoami(f.ctx, f.carol); err == nil && me.Name != "carol" {
		t.Errorf("carol's identity is taken for %s", me.Name)
	}
	if _, err := f.v.DeleteNote(f.ctx, n.ID, f.carol); err == nil {
		t.Errorf("carol deleted alice's note as the mentee")
	}
}

// A note's list of copies is not signed. With its disclosure copy struck
// from the list, the sweep destroyed the note but re-wrapped the recipient's
// copy (and the statement) under a fresh key, as another member of the
// note's bucket: the recipient's key still opened it in the vault's files.
// The copies destroyed with a note are the chain's, whatever its list says.
func TestReviewCopyStruckFromListOutlivesNote(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Reflection, f.bob, content("t", "MARK-disclosed"))
	f.clock.Advance(time.Second)
	d, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "MARK-statement", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	f.close()
	editRecord(t, f.dir, pNote+n.ID, func(r *noteRec) {
		if len(r.Copies) != 2 {
			t.Fatalf("copies %v, want the disclosure's two", r.Copies)
		}
		r.Copies = nil
	})
	f.open()
	f.checkNames("note " + n.ID)
	f.clock.Set(n.Expires.Add(time.Hour))
	destroyed, _, err := f.sweep()
	if err != nil || len(destroyed) != 1 {
		t.Fatalf("sweep: %v, %v", destroyed, err)
	}
	f.close()
	if got := recoverable(t, f.dir, []*identity.Identity{f.carol, f.bob}, []string{"MARK-disclosed", "MARK-statement"}); len(got) != 0 {
		t.Fatalf("after the sweep of %s (disclosure %s), the files still open to %v", n.ID, d.ID, got)
	}
}

// The grant's copies were found through the membership index, which is not
// signed: with the entries of its bucket deleted, revoking the grant (or its
// expiry) destroyed nothing, the grant's key lived on, and carol's key still
// opened every copy in the vault's files.
func TestReviewGrantCopiesHiddenFromIndex(t *testing.T) {
	f, g, _, markers := grantFixture(t, false)
	f.close()
	withBadger(t, f.dir, func(db *badger.DB) {
		var keys []string
		err := db.View(func(txn *badger.Txn) error {
			return scanKeys(badgerstore.Wrap(txn, false), pMember+g.ID+".", func(k string) error { keys = append(keys, k); return nil })
		})
		if err != nil || len(keys) != 2 {
			t.Fatalf("membership of the grant's bucket: %v, %v", keys, err)
		}
		for _, k := range keys {
			rawDelete(t, db, k)
		}
	})
	f.open()
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.v.SweepGrants(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.close()
	if got := recoverable(t, f.dir, []*identity.Identity{f.carol}, markers); len(got) != 0 {
		t.Fatalf("after revoking %s, carol's key still opens %v", g.ID, got)
	}
}

// The sealed texts the chain commits to by hash (an agreement version's
// text, a hold's reason, a disclosure's statement) are refused on read when
// they do not match, but a hold's reason was then silently left out, and
// check compared none of them: replaced, each went unnoticed until someone
// tried to read it.
func TestReviewCheckVerifiesCommittedTexts(t *testing.T) {
	for _, which := range []string{"agreement text", "hold reason", "disclosure statement"} {
		t.Run(which, func(t *testing.T) {
			f := newFixture(t, true)
			n := f.add(policy.Session, f.alice, content("t", "b"))
			h, err := f.v.AddHold(f.ctx, f.agreement, "", "litigation", f.alice)
			if err != nil {
				t.Fatal(err)
			}
			d, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "why", f.alice)
			if err != nil {
				t.Fatal(err)
			}
			f.checkClean()
			f.close()
			blob, what, plain := textBlob(f.agreement, 1), "agreement "+f.agreement, f.amendedText()
			switch which {
			case "hold reason":
				blob, what, plain = reasonBlob(h.ID), "hold "+h.ID, []byte("a reason of the attacker's")
			case "disclosure statement":
				blob, what, plain = statementBlob(d.ID), "disclosure "+d.ID, []byte("a statement of the attacker's")
			}
			reviewReseal(t, f.dir, blob, plain, f.alice, f.bob, f.carol)
			f.open()
			f.checkNames(what)
		})
	}
}
