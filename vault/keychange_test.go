package vault

import (
	"encoding/json"
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

// readBody reads a note as id and returns its body, or the error.
func (f *fixture) readBody(noteID string, id *identity.Identity) (string, error) {
	f.t.Helper()
	p, err := f.v.ReadNote(f.ctx, noteID, id)
	if err != nil {
		return "", err
	}
	return string(p.Content.Body), nil
}

func (f *fixture) checkClean2() {
	f.t.Helper()
	if _, err := f.v.Check(f.ctx); err != nil {
		f.t.Fatalf("check: %v", err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		f.t.Fatalf("audit verify: %v", err)
	}
}

// A mentor rotates: the old key signs the new one, the mentee's acceptance
// brings the new pin into force, new notes go to the new key only, and
// everything signed before still verifies.
func TestRotateMentor(t *testing.T) {
	f := newFixture(t, true)
	before := f.add(policy.Session, f.alice, content("before", "MARK-before"))
	alice2 := newIdentity(t)

	kc, err := f.v.RotateParticipant(f.ctx, "alice", alice2.Public().String(), f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if kc.From != f.alice.Public().Fingerprint() || kc.To != alice2.Public().Fingerprint() {
		t.Fatalf("key change %s -> %s", kc.From, kc.To)
	}
	if len(kc.Agreements) != 1 || strings.Join(kc.Agreements[0].Waiting, ",") != "bob" {
		t.Fatalf("steps: %+v, want agreement %s waiting for bob", kc.Agreements, f.agreement)
	}
	f.checkClean2()

	// Until bob accepts: alice writes with neither key, bob's notes still
	// go to alice's old key, which still reads them.
	f.clock.Advance(time.Second)
	if _, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "x")}, alice2); err == nil || !strings.Contains(err.Error(), "still pins alice's previous key") {
		t.Fatalf("alice's new key wrote before the new pin is in force: %v", err)
	}
	if _, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "x")}, f.alice); err == nil || !strings.Contains(err.Error(), "retired key") {
		t.Fatalf("alice's retired key wrote: %v", err)
	}
	between := f.add(policy.Session, f.bob, content("between", "MARK-between"))
	if body, err := f.readBody(between.ID, f.alice); err != nil || body != "MARK-between" {
		t.Fatalf("alice's old key reads the note written before the new pin: %q, %v", body, err)
	}

	f.accept(f.bob)
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if cur := a.Current(); cur == nil || cur.Pins["alice"] != alice2.Public().Fingerprint() || cur.Version != 2 {
		t.Fatalf("in force: %+v, want version 2 pinning alice's new key", cur)
	}
	after := f.add(policy.Session, alice2, content("after", "MARK-after"))
	if body, err := f.readBody(after.ID, alice2); err != nil || body != "MARK-after" {
		t.Fatalf("alice's new key reads her new note: %q, %v", body, err)
	}
	if _, err := f.readBody(after.ID, f.alice); err == nil {
		t.Fatal("alice's old key opens a note written after the rotation")
	}
	if body, err := f.readBody(before.ID, f.bob); err != nil || body != "MARK-before" {
		t.Fatalf("a note signed by the old key no longer verifies: %q, %v", body, err)
	}
	f.checkClean2()
	// And after a reopen, which verifies every chain again.
	f.close()
	f.open()
	f.checkClean2()
}

// A supervisor's rotation needs mentor and mentee: the first to accept
// proposes the version that pins the new key.
func TestRotateSupervisor(t *testing.T) {
	f := newFixture(t, true)
	carol2 := newIdentity(t)
	kc, err := f.v.RotateParticipant(f.ctx, "carol", carol2.Public().String(), f.carol)
	if err != nil {
		t.Fatal(err)
	}
	if len(kc.Agreements) != 1 || kc.Agreements[0].Version != 1 {
		t.Fatalf("steps: %+v", kc.Agreements)
	}
	f.accept(f.alice) // proposes version 2 pinning carol's new key
	f.accept(f.bob)
	a, _ := f.v.GetAgreement(f.ctx, f.agreement)
	if cur := a.Current(); cur.Version != 2 || cur.Pins["carol"] != carol2.Public().Fingerprint() {
		t.Fatalf("in force: version %d pinning carol %s", cur.Version, cur.Pins["carol"])
	}
	f.checkClean2()
}

// A lost key: the other party vouches for the new one, the mentee accepts
// with it, and nobody gains what they did not have: a reflection sealed to
// the lost key alone stays unreadable.
func TestReplaceLostKey(t *testing.T) {
	f := newFixture(t, true)
	private := f.add(policy.Reflection, f.bob, content("mine", "MARK-private"))
	shared := f.add(policy.Session, f.alice, content("ours", "MARK-shared"))
	bob2 := newIdentity(t)

	// Nobody vouches for themself, and a supervisor does not vouch.
	if _, err := f.v.ReplaceParticipant(f.ctx, "bob", bob2.Public().String(), f.bob); err == nil {
		t.Fatal("bob vouched for his own new key")
	}
	if _, err := f.v.ReplaceParticipant(f.ctx, "bob", bob2.Public().String(), f.carol); err == nil {
		t.Fatal("a supervisor vouched for bob's new key")
	}

	kc, err := f.v.ReplaceParticipant(f.ctx, "bob", bob2.Public().String(), f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(kc.Agreements) != 1 || strings.Join(kc.Agreements[0].Waiting, ",") != "bob" {
		t.Fatalf("steps: %+v", kc.Agreements)
	}
	f.checkClean2()
	f.clock.Advance(time.Second)
	if _, err := f.v.AcceptAgreement(f.ctx, f.agreement, bob2); err != nil {
		t.Fatalf("bob accepts with the new key: %v", err)
	}
	n := f.add(policy.Session, bob2, content("new", "MARK-new"))
	if body, err := f.readBody(n.ID, f.alice); err != nil || body != "MARK-new" {
		t.Fatalf("alice reads bob's new note: %q, %v", body, err)
	}
	if _, err := f.readBody(private.ID, bob2); err == nil {
		t.Fatal("bob's new key opens a reflection sealed to the lost key")
	}
	if _, err := f.readBody(private.ID, f.alice); err == nil {
		t.Fatal("alice opens bob's private reflection")
	}
	if body, err := f.readBody(shared.ID, f.alice); err != nil || body != "MARK-shared" {
		t.Fatalf("the shared note: %q, %v", body, err)
	}
	f.checkClean2()
	f.close()
	f.open()
	f.checkClean2()
}

// forgeFact appends a fact to the agreement's chain in the raw store, as
// someone who can write the files would, signed by signer as actor.
func (f *fixture) forgeFact(typ, actor string, body any, signer *identity.Identity) {
	f.t.Helper()
	f.close()
	withBadger(f.t.(*testing.T), f.dir, func(db *badger.DB) {
		_, last := lastFact(f.t.(*testing.T), db, f.agreement)
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		fa := &fact{Agreement: f.agreement, Seq: last.Seq + 1, Prev: last.hash(), Type: typ, Actor: actor, At: last.At.Add(time.Second), Body: b}
		fa.Sig = signer.Sign(fa.signedBytes())
		v, err := encodeRecord(fa)
		if err != nil {
			f.t.Fatal(err)
		}
		rawSet(f.t.(*testing.T), db, factKey(f.agreement, fa.Seq), v)
	})
	f.open()
}

// The store's attacker cannot move a pin: a rotate fact must be signed by
// the key the version in force pins for its actor, and a replace fact by
// the other party. Each forgery is refused when the chain is read; the
// same facts signed by the right keys fold (the controls).
func TestKeyChangeForgeries(t *testing.T) {
	mallory := newIdentity(t)
	cases := []struct {
		name   string
		typ    string
		actor  string
		body   func(k string) any
		signer func(f *fixture) *identity.Identity
		ok     bool
	}{
		{"rotate signed by the old key (control)", factRotate, "alice", func(k string) any { return rotateBody{Key: k} }, func(f *fixture) *identity.Identity { return f.alice }, true},
		{"rotate signed by the new key", factRotate, "alice", func(k string) any { return rotateBody{Key: k} }, func(*fixture) *identity.Identity { return mallory }, false},
		{"rotate signed by another party", factRotate, "alice", func(k string) any { return rotateBody{Key: k} }, func(f *fixture) *identity.Identity { return f.bob }, false},
		{"replace signed by the other party (control)", factReplace, "alice", func(k string) any { return replaceBody{Participant: "bob", Key: k} }, func(f *fixture) *identity.Identity { return f.alice }, true},
		{"replace vouched by the participant", factReplace, "bob", func(k string) any { return replaceBody{Participant: "bob", Key: k} }, func(f *fixture) *identity.Identity { return f.bob }, false},
		{"replace vouched by a supervisor", factReplace, "carol", func(k string) any { return replaceBody{Participant: "bob", Key: k} }, func(f *fixture) *identity.Identity { return f.carol }, false},
		{"replace signed by a stranger", factReplace, "alice", func(k string) any { return replaceBody{Participant: "bob", Key: k} }, func(*fixture) *identity.Identity { return mallory }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.forgeFact(c.typ, c.actor, c.body(mallory.Public().String()), c.signer(f))
			a, err := f.v.GetAgreement(f.ctx, f.agreement)
			var ie *IntegrityError
			switch {
			case c.ok && err != nil:
				t.Fatalf("a fact signed by the right key is refused: %v", err)
			case c.ok && a.Moves()[map[string]string{factRotate: "alice", factReplace: "bob"}[c.typ]] != mallory.Public().Fingerprint():
				t.Fatalf("the fact folded but moved nothing: %v", a.Moves())
			case !c.ok && !errors.As(err, &ie):
				t.Fatalf("forged fact: %v, want an integrity error", err)
			}
		})
	}
}

// A store edit that swaps a participant's key, or slips a key into their
// list of retired ones, moves no pin: nothing is sealed to it and check
// names the participant.
func TestKeyHistoryStoreEdits(t *testing.T) {
	mallory := newIdentity(t)
	edit := func(t *testing.T, f *fixture, fn func(p *Participant)) {
		f.close()
		withBadger(t, f.dir, func(db *badger.DB) {
			var p Participant
			if err := decodeRecord(rawGet(t, db, pParticipant+"bob"), &p); err != nil {
				t.Fatal(err)
			}
			fn(&p)
			v, err := encodeRecord(&p)
			if err != nil {
				t.Fatal(err)
			}
			rawSet(t, db, pParticipant+"bob", v)
		})
		f.open()
	}
	t.Run("retired key added", func(t *testing.T) {
		f := newFixture(t, true)
		edit(t, f, func(p *Participant) {
			p.Previous = append(p.Previous, RetiredKey{Key: mallory.Public().String(), Until: time.Now(), How: "rotated"})
		})
		// Notes still go to bob's pinned key only.
		n := f.add(policy.Session, f.alice, content("t", "MARK"))
		if _, err := f.readBody(n.ID, mallory); err == nil {
			t.Fatal("a key slipped into bob's retired keys opens a new note")
		}
		// A retired key listed in the store cannot act either: the
		// chain pins bob's key, and mallory's is not it.
		f.clock.Advance(time.Second)
		if _, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "x")}, mallory); err == nil {
			t.Fatal("a key slipped into bob's retired keys wrote a note")
		}
	})
	t.Run("current key swapped", func(t *testing.T) {
		f := newFixture(t, true)
		edit(t, f, func(p *Participant) {
			p.Previous = append(p.Previous, RetiredKey{Key: p.Key, Until: time.Now(), How: "rotated"})
			p.Key = mallory.Public().String()
		})
		f.checkNames("participant bob")
		f.clock.Advance(time.Second)
		if _, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "x")}, mallory); err == nil {
			t.Fatal("a key swapped in the store wrote a note")
		}
	})
	t.Run("control", func(t *testing.T) {
		f := newFixture(t, true)
		edit(t, f, func(p *Participant) {})
		f.checkClean2()
	})
}

// After a rotation, rekey re-seals what the rotating person reads to the
// keys pinned now: the new key opens the old notes, the readers stay the
// same, and everything still verifies. A reflection of the other party's
// stays theirs.
func TestRekeyAfterRotation(t *testing.T) {
	f := newFixture(t, true)
	old := f.add(policy.Session, f.alice, content("old", "MARK-old"))
	theirs := f.add(policy.Reflection, f.bob, content("bob's", "MARK-bob"))
	alice2 := newIdentity(t)
	if _, err := f.v.RotateParticipant(f.ctx, "alice", alice2.Public().String(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	if _, err := f.readBody(old.ID, alice2); err == nil {
		t.Fatal("control: the new key opens an old note before rekey")
	}
	// The retired key alone, or a stranger's key, does not rekey.
	if _, err := f.v.RekeyNotes(f.ctx, f.agreement, []*identity.Identity{f.alice}); err == nil {
		t.Fatal("rekey with the retired key first")
	}
	if _, err := f.v.RekeyNotes(f.ctx, f.agreement, []*identity.Identity{alice2, f.carol}); err == nil {
		t.Fatal("rekey with another person's key")
	}
	// The new key alone cannot open what was sealed to the old one.
	if _, err := f.v.RekeyNotes(f.ctx, f.agreement, []*identity.Identity{alice2}); err == nil || !strings.Contains(err.Error(), "sealed to none of the keys given") {
		t.Fatalf("rekey without the old key: %v", err)
	}
	r, err := f.v.RekeyNotes(f.ctx, f.agreement, []*identity.Identity{alice2, f.alice})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Rekeyed, ",") != old.ID || r.NotYours != 1 {
		t.Fatalf("rekey: %+v, want %s re-sealed and bob's reflection left", r, old.ID)
	}
	if body, err := f.readBody(old.ID, alice2); err != nil || body != "MARK-old" {
		t.Fatalf("the new key reads the rekeyed note: %q, %v", body, err)
	}
	if body, err := f.readBody(old.ID, f.bob); err != nil || body != "MARK-old" {
		t.Fatalf("bob still reads it: %q, %v", body, err)
	}
	if _, err := f.readBody(old.ID, f.alice); err == nil {
		t.Fatal("the retired key still opens the rekeyed note")
	}
	if _, err := f.readBody(theirs.ID, alice2); err == nil {
		t.Fatal("rekey opened bob's reflection to alice")
	}
	// A second run has nothing to do.
	if r, err := f.v.RekeyNotes(f.ctx, f.agreement, []*identity.Identity{alice2}); err != nil || len(r.Rekeyed) != 0 || r.Current != 1 {
		t.Fatalf("second rekey: %+v, %v", r, err)
	}
	f.checkClean2()
	f.close()
	f.open()
	f.checkClean2()
}

// After a replacement the other reader re-seals the shared notes to the new
// key; what only the lost key opened stays lost.
func TestRekeyAfterReplacement(t *testing.T) {
	f := newFixture(t, true)
	shared := f.add(policy.Session, f.alice, content("ours", "MARK-shared"))
	private := f.add(policy.Reflection, f.bob, content("mine", "MARK-private"))
	bob2 := newIdentity(t)
	if _, err := f.v.ReplaceParticipant(f.ctx, "bob", bob2.Public().String(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.v.AcceptAgreement(f.ctx, f.agreement, bob2); err != nil {
		t.Fatal(err)
	}
	r, err := f.v.RekeyNotes(f.ctx, f.agreement, []*identity.Identity{f.alice})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Rekeyed, ",") != shared.ID {
		t.Fatalf("rekey: %+v", r)
	}
	if body, err := f.readBody(shared.ID, bob2); err != nil || body != "MARK-shared" {
		t.Fatalf("bob's new key reads the shared note: %q, %v", body, err)
	}
	if _, err := f.readBody(private.ID, bob2); err == nil {
		t.Fatal("bob's new key opens the reflection sealed to the lost key")
	}
	f.checkClean2()
}

// A retired key reads what was sealed to it, and writes nothing: no note,
// no fact, no deletion.
func TestRetiredKeyWritesNothing(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Reflection, f.bob, content("mine", "MARK"))
	bob2 := newIdentity(t)
	if _, err := f.v.RotateParticipant(f.ctx, "bob", bob2.Public().String(), f.bob); err != nil {
		t.Fatal(err)
	}
	f.accept(f.alice)
	if body, err := f.readBody(n.ID, f.bob); err != nil || body != "MARK" {
		t.Fatalf("the retired key reads its own reflection: %q, %v", body, err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.v.DeleteNote(f.ctx, n.ID, f.bob); err == nil || !strings.Contains(err.Error(), "retired key") {
		t.Fatalf("the retired key deleted a note: %v", err)
	}
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err == nil || !strings.Contains(err.Error(), "retired key") {
		t.Fatalf("the retired key gave consent: %v", err)
	}
	// Control: the current key deletes.
	if _, err := f.v.DeleteNote(f.ctx, n.ID, bob2); err != nil {
		t.Fatalf("the current key: %v", err)
	}
	f.checkClean2()
}

// Someone who holds a retired key and can write the store cannot move the
// audit log's key for its owner: a participant.rotate record signed by a
// retired key fails audit verify, though a read signed by it passes.
func TestAuditRotationByRetiredKey(t *testing.T) {
	f := newFixture(t, true)
	alice2 := newIdentity(t)
	if _, err := f.v.RotateParticipant(f.ctx, "alice", alice2.Public().String(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	mallory := newIdentity(t)
	appendRec := func(signer *identity.Identity) error {
		return f.v.update(func(txn kv.Txn) error {
			return f.v.appendLog(txn, &audit.Record{Actor: "alice", Action: "participant.rotate", Subject: "alice",
				Detail: map[string]string{"from": alice2.Public().Fingerprint(), "to": mallory.Public().Fingerprint()}}, signer)
		})
	}
	if err := appendRec(f.alice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.VerifyAudit(f.ctx); err == nil || !strings.Contains(err.Error(), "not signed by their current key") {
		t.Fatalf("audit verify of a rotation signed by a retired key: %v", err)
	}
}

// A second rotation waits for the first to be pinned: until the other
// party accepts, the agreement still pins the key before both, which the
// person no longer acts with. Once accepted, the second goes through.
func TestRotateTwice(t *testing.T) {
	f := newFixture(t, true)
	k1, k2 := newIdentity(t), newIdentity(t)
	if _, err := f.v.RotateParticipant(f.ctx, "alice", k1.Public().String(), f.alice); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.v.RotateParticipant(f.ctx, "alice", k2.Public().String(), k1); err == nil || !strings.Contains(err.Error(), "still pins alice's previous key") {
		t.Fatalf("a second rotation before the first is pinned: %v", err)
	}
	f.accept(f.bob)
	f.clock.Advance(time.Second)
	if _, err := f.v.RotateParticipant(f.ctx, "alice", k2.Public().String(), k1); err != nil {
		t.Fatal(err)
	}
	f.accept(f.bob)
	a, _ := f.v.GetAgreement(f.ctx, f.agreement)
	if cur := a.Current(); cur == nil || cur.Pins["alice"] != k2.Public().Fingerprint() {
		t.Fatalf("in force: %+v, want alice's newest key pinned", cur)
	}
	f.add(policy.Session, k2, content("t", "MARK"))
	f.checkClean2()
}
