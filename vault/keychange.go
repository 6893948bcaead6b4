package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
)

// People and keys change: a participant rotates to a new key while they
// still hold the old one, or another party vouches for a new key when the
// old one is lost. Either way, three things move, each by a signed record
// that someone who can only write the store cannot make:
//
//   - the agreements' pins: a "rotate" fact signed by the key the version
//     in force pins for the person, or a "replace" fact signed by the other
//     party, names the new key; a later version may then pin it, and comes
//     into force when mentor and mentee both accepted it (the one whose key
//     was replaced accepts with the new key);
//   - the audit log's key for the person: a participant.rotate record
//     signed by the old key, or a participant.replace record signed by the
//     party who vouched (verifyAudit follows them);
//   - the participant record, which keeps every retired key to check what
//     it signed and to open what was sealed to it.
//
// Until a version pinning the new key is in force, notes are still sealed
// to the old one, and the person whose key changed cannot write in that
// agreement (every write is signed by the pinned key: see checkSigner).

// keyMove is a key change for one party that the chain has authorised and
// that no version in force has pinned yet.
type keyMove struct {
	FP  string    // fingerprint of the new key
	How string    // "rotated" or "replaced"
	By  string    // who signed the fact that authorised it
	At  time.Time // when
}

// Fact bodies of key changes.
type (
	// rotateBody: the actor moves to Key, signed by the key the version in
	// force pins for them.
	rotateBody struct {
		Key string `json:"key"` // the new public key, with its proof of possession
	}
	// replaceBody: the actor, the other party, vouches that Participant's
	// key is now Key.
	replaceBody struct {
		Participant string `json:"participant"`
		Key         string `json:"key"`
	}
)

const (
	factRotate  = "rotate"  // a party's key moves, signed by their pinned key
	factReplace = "replace" // the other party vouches for a party's new key
)

// newKey parses and checks a key line a rotate or replace fact names.
func newKey(line string) (identity.PublicKey, error) {
	k, err := identity.ParsePublicKey(line)
	if err != nil {
		return k, fmt.Errorf("the new key does not parse")
	}
	if !k.Bound() {
		return k, fmt.Errorf("the new key carries no valid proof of possession")
	}
	return k, nil
}

// foldKeyChange folds a rotate or replace fact.
func (a *Agreement) foldKeyChange(f *fact) error {
	if a.inForce == nil {
		return fmt.Errorf("no version was in force")
	}
	ver := a.inForce
	var who, line string
	switch f.Type {
	case factRotate:
		var b rotateBody
		if err := f.decode(&b); err != nil {
			return err
		}
		who, line = f.Actor, b.Key
	case factReplace:
		var b replaceBody
		if err := f.decode(&b); err != nil {
			return err
		}
		who, line = b.Participant, b.Key
		// Only the mentor or the mentee vouches, never for themself: a
		// lost key is replaced on the word of the other party.
		if f.Actor != ver.Parsed.Mentor && f.Actor != ver.Parsed.Mentee {
			return fmt.Errorf("%s, who vouched for a new key, is neither mentor nor mentee", f.Actor)
		}
		if f.Actor == who {
			return fmt.Errorf("%s vouched for their own new key: a replacement needs the other party", who)
		}
	}
	if _, ok := ver.Pins[who]; !ok {
		return fmt.Errorf("%s is not a party of version %d, in force", who, ver.Version)
	}
	k, err := newKey(line)
	if err != nil {
		return err
	}
	fp := k.Fingerprint()
	if fp == a.keyPins[who] {
		return fmt.Errorf("it moves %s to the key already pinned", who)
	}
	for p, pinned := range a.keyPins {
		if pinned == fp && p != who {
			return fmt.Errorf("it moves %s to the key pinned for %s", who, p)
		}
	}
	if a.moved == nil {
		a.moved = map[string]keyMove{}
	}
	how := "rotated"
	if f.Type == factReplace {
		how = "replaced"
	}
	a.moved[who] = keyMove{FP: fp, How: how, By: f.Actor, At: f.At}
	return nil
}

// pinFor is the fingerprint a fact by actor must be signed under: the key
// the version in force pins for them; for the acceptance of someone whose
// lost key the other party replaced, the new key.
func (a *Agreement) pinFor(f *fact) (string, bool) {
	if m, ok := a.moved[f.Actor]; ok && m.How == "replaced" && f.Type == factAccept {
		return m.FP, true
	}
	pin, ok := a.inForce.Pins[f.Actor]
	return pin, ok
}

// settleMoves forgets the moves a version now in force pinned.
func (a *Agreement) settleMoves() {
	for who, m := range a.moved {
		if a.keyPins[who] == m.FP {
			delete(a.moved, who)
		}
	}
}

// Moves lists the key changes the chain authorised that no version in
// force pins yet: who, and the fingerprint they move to.
func (a *Agreement) Moves() map[string]string {
	out := map[string]string{}
	for who, m := range a.moved {
		out[who] = m.FP
	}
	return out
}

// checkSigner refuses a write that id would sign as me in agreement a with a
// key that is not the one the chain will check it under: a retired key, or
// (while a version is in force) a key other than the pinned one. A
// participant whose key changed writes again once a version pinning the new
// key is in force; the one whose lost key was replaced may meanwhile accept
// that version (accepting is true).
func (a *Agreement) checkSigner(me *Participant, id *identity.Identity, accepting bool) error {
	fp := id.Public().Fingerprint()
	if me.Public.Fingerprint() != fp {
		return invalid("that identity is a retired key of %s: act with the current one", me.Name)
	}
	if a.inForce == nil {
		return nil
	}
	pin, ok := a.inForce.Pins[me.Name]
	if !ok || pin == fp {
		return nil
	}
	if m, moving := a.moved[me.Name]; moving && m.FP == fp {
		if accepting && m.How == "replaced" {
			return nil
		}
		if m.How == "rotated" {
			return invalid("agreement %s still pins %s's previous key (%s) until mentor and mentee accept the version that pins the new one", a.ID, me.Name, pin)
		}
		return invalid("agreement %s pins %s's lost key (%s): accept the version that pins the new one first (notevault agreement accept %s -i FILE)", a.ID, me.Name, pin, a.ID)
	}
	return integrity("participant "+me.Name, "the key (%s) is not the one agreement %s version %d pins (%s)", fp, a.ID, a.inForce.Version, pin)
}

// repin proposes the text in force again as a new version, sealed to the
// parties' current keys, and accepts it as me: what a key change needs to
// come into force. The proposer reads the text with id first.
func (v *Vault) repin(txn kv.Txn, a *Agreement, me *Participant, id *identity.Identity, next map[string]identity.PublicKey) error {
	cur := a.inForce
	if d := policy.Amend(me.Name, a.Terms(cur)); !d.Allowed() {
		return denied(d)
	}
	text, err := v.openText(txn, a, cur, id)
	if err != nil {
		return err
	}
	defer clear(text)
	parsed, err := v.parseAgreement(txn, text)
	if err != nil {
		return err
	}
	return v.propose(txn, a, me, id, parsed, text, next, map[string]string{"why": "key change"})
}

// KeyChange is what a rotation or a replacement did.
type KeyChange struct {
	Participant *Participant
	From, To    string // fingerprints
	// Agreements lists, per open agreement the participant is a party of,
	// what is left to do before the new key is pinned there.
	Agreements []KeyChangeStep
}

// KeyChangeStep says who still has to accept agreement Agreement's new
// version for the new key to be pinned ("" when it is pinned already).
type KeyChangeStep struct {
	Agreement string
	Version   int
	Waiting   []string
}

// RotateParticipant moves name to newKey, signed by old, name's current
// key: the old key vouches for the new one. In every open agreement in
// force that name is a party of, it records a rotate fact and, when name is
// the mentor or the mentee, proposes the text in force again pinning the
// new key and accepts it; the other party's acceptance brings it into force
// (a supervisor's new key needs both mentor and mentee to accept).
func (v *Vault) RotateParticipant(ctx context.Context, name, newKeyLine string, old *identity.Identity) (*KeyChange, error) {
	var kc *KeyChange
	err := v.update(func(txn kv.Txn) error {
		if _, err := v.participant(txn, name); err != nil {
			return err
		}
		me, err := v.whoami(txn, old)
		if err != nil {
			return err
		}
		if me.Name != name {
			return denied(policy.Decision{Rule: "not-self", Reason: fmt.Sprintf("only %s rotates their own key; this identity is %s's", name, me.Name)})
		}
		if me.Key != old.Public().String() {
			return invalid("that identity is a retired key of %s: rotate from the current one", name)
		}
		k, err := v.checkNewKey(txn, me, newKeyLine)
		if err != nil {
			return err
		}
		kc = &KeyChange{From: me.Fingerprint(), To: k.Fingerprint()}
		as, err := v.openAgreementsOf(txn, name)
		if err != nil {
			return err
		}
		// The facts come first, signed by the key the log and the chains
		// still know; the participant record and the log move after.
		for _, a := range as {
			if _, err := v.appendFact(txn, a, factRotate, rotateBody{Key: k.String()}, old, name,
				&audit.Record{Actor: name, Action: "agreement.rotate", Subject: name,
					Detail: map[string]string{"to": kc.To}}); err != nil {
				return err
			}
			if name == a.inForce.Parsed.Mentor || name == a.inForce.Parsed.Mentee {
				if err := v.repin(txn, a, me, old, map[string]identity.PublicKey{name: k}); err != nil {
					return err
				}
			}
			kc.Agreements = append(kc.Agreements, stepOf(a))
		}
		p, err := v.retire(txn, me, k, "rotated")
		if err != nil {
			return err
		}
		kc.Participant = p
		return v.appendLog(txn, &audit.Record{Actor: name, Action: "participant.rotate", Subject: name,
			Detail: map[string]string{"from": kc.From, "to": kc.To}}, old)
	})
	if err != nil {
		return nil, err
	}
	return kc, nil
}

// ReplaceParticipant registers newKey as name's key on the word of other,
// the other party of name's agreements: for a key that is lost. In every
// open agreement in force where other is the mentor or the mentee and name
// another party, it records a replace fact signed by other, proposes the
// text in force again pinning the new key, and accepts it as other. name
// then accepts with the new key (a supervisor's new key needs the remaining
// party instead). Agreements other is not in keep the lost key pinned until
// their own other party vouches the same way. What was sealed to the lost
// key alone stays lost.
func (v *Vault) ReplaceParticipant(ctx context.Context, name, newKeyLine string, other *identity.Identity) (*KeyChange, error) {
	var kc *KeyChange
	err := v.update(func(txn kv.Txn) error {
		me, err := v.whoami(txn, other)
		if err != nil {
			return err
		}
		if err := v.checkCurrent(me, other); err != nil {
			return err
		}
		if me.Name == name {
			return denied(policy.Decision{Rule: "not-self", Reason: fmt.Sprintf("%s cannot vouch for their own new key: the other party of an agreement with %s replaces it", name, name)})
		}
		p, err := v.participant(txn, name)
		if err != nil {
			return err
		}
		if !p.Removed.IsZero() {
			return invalid("participant %s was removed", name)
		}
		var k identity.PublicKey
		already := p.Key == newKeyLine
		if already {
			// Another party replaced it already: this one vouches in
			// their own agreements for the key now registered.
			k = p.Public
		} else if k, err = v.checkNewKey(txn, p, newKeyLine); err != nil {
			return err
		}
		kc = &KeyChange{To: k.Fingerprint()}
		as, err := v.openAgreementsOf(txn, name)
		if err != nil {
			return err
		}
		vouched := 0
		for _, a := range as {
			ver := a.inForce
			if me.Name != ver.Parsed.Mentor && me.Name != ver.Parsed.Mentee {
				continue
			}
			if err := a.checkSigner(me, other, false); err != nil {
				return err
			}
			if kc.From == "" {
				kc.From = ver.Pins[name]
			}
			if ver.Pins[name] == k.Fingerprint() {
				continue // pinned here already
			}
			if _, err := v.appendFact(txn, a, factReplace, replaceBody{Participant: name, Key: k.String()}, other, me.Name,
				&audit.Record{Actor: me.Name, Action: "agreement.replace", Subject: name,
					Detail: map[string]string{"to": kc.To}}); err != nil {
				return err
			}
			if err := v.repin(txn, a, me, other, map[string]identity.PublicKey{name: k}); err != nil {
				return err
			}
			kc.Agreements = append(kc.Agreements, stepOf(a))
			vouched++
		}
		if vouched == 0 {
			return denied(policy.Decision{Rule: "not-other-party", Reason: fmt.Sprintf("%s is the mentor or the mentee of no open agreement with %s whose pin of %s's key is not already the new one: only the other party of an agreement vouches for a new key", me.Name, name, name)})
		}
		if already {
			kc.Participant = p
			return nil
		}
		if kc.From == "" {
			kc.From = p.Fingerprint()
		}
		np, err := v.retire(txn, p, k, "replaced")
		if err != nil {
			return err
		}
		kc.Participant = np
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "participant.replace", Subject: name,
			Detail: map[string]string{"participant": name, "from": p.Fingerprint(), "to": kc.To}}, other)
	})
	if err != nil {
		return nil, err
	}
	return kc, nil
}

// checkCurrent refuses an identity that is a retired key of me.
func (v *Vault) checkCurrent(me *Participant, id *identity.Identity) error {
	if me.Key != id.Public().String() {
		return invalid("that identity is a retired key of %s: act with the current one", me.Name)
	}
	return nil
}

// checkNewKey checks a key p would move to: it parses with a proof of
// possession, is of the same kind as p's (age cannot encrypt one note to
// post-quantum and classic keys at once), and is nobody's, p's retired keys
// included.
func (v *Vault) checkNewKey(txn kv.Txn, p *Participant, line string) (identity.PublicKey, error) {
	k, err := identity.ParsePublicKey(line)
	if err != nil {
		return k, invalid("--key: %v", err)
	}
	if !k.Bound() {
		return k, invalid("--key: that public key carries no proof of possession: print it with notevault identity public -i FILE")
	}
	if k.PostQuantum() != p.Public.PostQuantum() {
		kind := func(pq bool) string {
			if pq {
				return "post-quantum"
			}
			return "classic"
		}
		return k, invalid("--key: %s's key is %s and the new one %s: age cannot seal one note to both kinds, so a new key must be of the same kind (notevault identity new makes post-quantum ones, --classic makes X25519)",
			p.Name, kind(p.Public.PostQuantum()), kind(k.PostQuantum()))
	}
	var clash error
	err = scan(txn, pParticipant, func(_ string, q *Participant) error {
		if q.Key == k.String() || slices.ContainsFunc(q.Previous, func(r RetiredKey) bool { return r.Key == k.String() }) {
			clash = invalid("--key: that key is already registered to %s: one identity is one person, and a retired key is never used again", q.Name)
		}
		return nil
	})
	if err != nil {
		return k, err
	}
	return k, clash
}

// retire makes k p's key, keeping the current one as retired, and stores p.
func (v *Vault) retire(txn kv.Txn, p *Participant, k identity.PublicKey, how string) (*Participant, error) {
	np := *p
	np.Previous = append(slices.Clone(p.Previous), RetiredKey{Key: p.Key, Until: v.Now(), How: how, Public: p.Public})
	np.Public, np.Key = k, k.String()
	if err := put(txn, pParticipant+p.Name, &np); err != nil {
		return nil, err
	}
	return &np, nil
}

// openAgreementsOf lists the open agreements with a version in force that
// name is a party of.
func (v *Vault) openAgreementsOf(txn kv.Txn, name string) ([]*Agreement, error) {
	all, err := v.agreementsIn(txn)
	if err != nil {
		return nil, err
	}
	var out []*Agreement
	for _, a := range all {
		if a.inForce == nil || !a.termsInForce().Closed.IsZero() {
			continue
		}
		if _, ok := a.inForce.Pins[name]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// stepOf says who still has to accept a's newest version.
func stepOf(a *Agreement) KeyChangeStep {
	ver := a.Latest()
	s := KeyChangeStep{Agreement: a.ID, Version: ver.Version}
	if a.inForce == ver {
		return s
	}
	for _, p := range []string{ver.Parsed.Mentor, ver.Parsed.Mentee} {
		if !ver.AcceptedBy(p) {
			s.Waiting = append(s.Waiting, p)
		}
	}
	return s
}

// RekeyReport is what RekeyNotes did.
type RekeyReport struct {
	Agreement string
	Version   int      // the version in force whose pins the notes are sealed to now
	Rekeyed   []string // notes re-sealed to the readers' current pinned keys
	Current   int      // notes already sealed to them
	Large     []string // large notes left sealed to the keys pinned when written
	NotYours  int      // notes the caller does not read
}

// rekeyBatch bounds the notes re-sealed in one transaction.
const rekeyBatch = 128

// RekeyNotes re-seals every note of the agreement that ids' owner reads and
// that is sealed to keys a later version no longer pins, to the keys of its
// readers the version in force pins: after a rotation (the rotating person,
// with the old and the new key) or a replacement (the other reader). The
// readers stay the ones the author signed, so nobody gains access; only who
// can open the copy with which key changes. ids are one person's keys: the
// current one first, retired ones after (to open what was sealed to them).
// A note whose body streamed to a payload file (larger than 1 MiB) keeps its
// copy: re-sealing it would mean rewriting the recording; it is listed in
// Large. Each batch of notes is one transaction and one audit record.
func (v *Vault) RekeyNotes(ctx context.Context, agreementID string, ids []*identity.Identity) (*RekeyReport, error) {
	if len(ids) == 0 {
		return nil, ErrNotParticipant
	}
	r := &RekeyReport{Agreement: agreementID}
	var ids2 []string
	err := v.view(func(txn kv.Txn) error {
		ids2 = ids2[:0] // a conflict runs the view again (view)
		act, err := v.begin(txn, ids[0], agreementID)
		if err != nil {
			return err
		}
		if err := v.checkCurrent(act.me, ids[0]); err != nil {
			return err
		}
		for _, id := range ids[1:] {
			who, err := v.whoami(txn, id)
			if err != nil || who.Name != act.me.Name {
				return invalid("a key given to open older notes is not one of %s's: give your own retired keys only", act.me.Name)
			}
		}
		if cur := act.agreement.Current(); cur != nil {
			r.Version = cur.Version
		}
		return scan(txn, pNote, func(_ string, rec *noteRec) error {
			if rec.Meta.Agreement == agreementID {
				ids2 = append(ids2, rec.Meta.ID)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for len(ids2) > 0 {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		batch := ids2[:min(rekeyBatch, len(ids2))]
		ids2 = ids2[len(batch):]
		if err := v.update(func(txn kv.Txn) error { return v.rekeyBatch(txn, agreementID, batch, ids, r) }); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (v *Vault) rekeyBatch(txn kv.Txn, agreementID string, noteIDs []string, ids []*identity.Identity, r *RekeyReport) error {
	act, err := v.begin(txn, ids[0], agreementID)
	if err != nil {
		return err
	}
	a, me := act.agreement, act.me
	cur := a.Current()
	if d := policy.InForce(a.Terms(a.Latest()), cur != nil); !d.Allowed() {
		return denied(d)
	}
	if err := a.checkSigner(me, ids[0], false); err != nil {
		return err
	}
	r.Version = cur.Version
	var done []string
	nv := v.newNoteVerifier(txn)
	for _, id := range noteIDs {
		n, err := v.note(txn, id)
		if isNotFound(err) {
			continue // destroyed meanwhile
		}
		if err != nil {
			return err
		}
		if err := nv.verify(a, n); err != nil {
			return err
		}
		if d := policy.Read(me.Name, n.policy(), a.facts(n.ID), v.Now()); !d.Allowed() || copyFor(n, d) != n.ID {
			r.NotYours++
			continue
		}
		sealedTo := a.Version(n.keyedUnder())
		if sealedTo != nil && samePins(sealedTo.Pins, cur.Pins, n.Readers) {
			r.Current++
			continue
		}
		var rec blobRec
		if err := getRecord(txn, pBlob, "copy", n.ID, &rec); err != nil {
			return err
		}
		if rec.Payload {
			r.Large = append(r.Large, n.ID)
			continue
		}
		rs, err := v.pinnedRecipients(txn, a, n.Readers)
		if err != nil {
			return err
		}
		ageFile, err := v.getBlob(txn, n.ID)
		if err != nil {
			return err
		}
		var plain []byte
		for _, k := range ids {
			if plain, _, err = openNote(ageFile, n, k); err == nil {
				break
			}
		}
		if plain == nil {
			return invalid("note %s is sealed to none of the keys given: give the key it was written to (-i may be repeated)", n.ID)
		}
		sealed, err := encryptTo(plain, rs)
		clear(plain)
		if err != nil {
			return err
		}
		bucket, err := v.putBlob(txn, n.ID, baseOf(n.Bucket), sealed)
		if err != nil {
			return err
		}
		if bucket != n.Bucket {
			if err := txn.Delete([]byte(pMember + n.Bucket + "/" + n.ID)); err != nil {
				return err
			}
			n.Bucket = bucket
		}
		n.Keyed = cur.Version
		if err := v.putNote(txn, n); err != nil {
			return err
		}
		done = append(done, n.ID)
	}
	if len(done) == 0 {
		return nil
	}
	r.Rekeyed = append(r.Rekeyed, done...)
	return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "note.rekey", Agreement: a.ID, Subject: a.ID,
		Detail: map[string]string{"notes": strconv.Itoa(len(done)), "version": strconv.Itoa(cur.Version)}}, ids[0])
}

// samePins reports whether two versions pin the same keys for names.
func samePins(a, b map[string]string, names []string) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}

// noKeyHint explains ErrNoKey to a reader whose key is not the one the
// note's copy is sealed to because their key changed since.
func noKeyHint(err error, n *Note, d policy.Decision, me *Participant, id *identity.Identity) error {
	if !errors.Is(err, ErrNoKey) || copyFor(n, d) != n.ID || n.agr == nil {
		return err
	}
	ver := n.agr.Version(n.keyedUnder())
	if ver == nil {
		return err
	}
	if pin := ver.Pins[me.Name]; pin != "" && pin != id.Public().Fingerprint() {
		return fmt.Errorf("%w: note %s is sealed to the key version %d of agreement %s pinned for %s (%s), not to this one: open it with that key, or re-seal it with notevault note rekey --agreement %s",
			ErrNoKey, n.ID, ver.Version, n.Agreement, me.Name, pin, n.Agreement)
	}
	return err
}
