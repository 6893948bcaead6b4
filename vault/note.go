package vault

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"filippo.io/age"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Note is a note's metadata: what policy and retention need, nothing more.
// Title, tags and body live only inside the age file. The author signs
// everything but Bucket and Copies (the vault's bookkeeping of where the
// sealed copies are); Holds is derived from the agreement's verified holds.
type Note struct {
	ID        string      `json:"id"`
	Agreement string      `json:"agreement"`
	Version   int         `json:"version"`
	Kind      policy.Kind `json:"kind"`
	Author    string      `json:"author"`
	Created   time.Time   `json:"created"`
	Expires   time.Time   `json:"expires"`
	Readers   []string    `json:"readers"`
	Bucket    string      `json:"bucket"` // shred bucket of the note's own copy
	// Keyed is the version whose pinned keys the note's own copy is sealed
	// to, when note rekey re-sealed it (0: the version it was written
	// under). Bookkeeping, unsigned: it only spares rekey work.
	Keyed  int      `json:"keyed,omitempty"`
	Holds  []string `json:"holds,omitempty"`  // ids of active legal holds on this note
	Copies []string `json:"copies,omitempty"` // blob ids of supervisor and disclosure copies
	// Anchor is set when the agreement's close cut the note's expiry short:
	// Expires is then close + after_close rather than the expiry its author
	// signed (which decides its bucket).
	Anchor *Anchor `json:"anchor,omitempty"`

	rec *noteRec
	agr *Agreement // the chain verifyNote checked it against
	// mark is the key of the import mark that records this note was
	// imported (import.go), destroyed with it; "" for notes not imported.
	mark string
}

// noteRec is a note as stored at n/<id>.
type noteRec struct {
	Meta   noteMeta `json:"meta"`
	Sig    []byte   `json:"sig"`
	Bucket string   `json:"bucket"`
	Copies []string `json:"copies,omitempty"`
	Keyed  int      `json:"keyed,omitempty"`
	Mark   string   `json:"mark,omitempty"` // the note's import mark (import.go)
}

func (r *noteRec) note() *Note {
	m := r.Meta
	return &Note{ID: m.ID, Agreement: m.Agreement, Version: m.Version, Kind: m.Kind, Author: m.Author, Created: m.Created,
		Expires: m.Expires, Readers: slices.Clone(m.Readers), Bucket: r.Bucket, Copies: slices.Clone(r.Copies), Keyed: r.Keyed, mark: r.Mark, rec: r}
}

// keyedUnder is the version whose pins the note's own copy is sealed to.
func (n *Note) keyedUnder() int {
	if n.Keyed != 0 {
		return n.Keyed
	}
	return n.Version
}

// Held reports whether a legal hold suspends the note's expiry.
func (n *Note) Held() bool { return len(n.Holds) > 0 }

func (n *Note) policy() policy.Note {
	return policy.Note{ID: n.ID, Agreement: n.Agreement, Version: n.Version, Kind: n.Kind, Author: n.Author,
		Created: n.Created, Expires: n.Expires, Readers: n.Readers, Held: n.Held()}
}

// NewNote is what a writer hands AddNote.
type NewNote struct {
	Agreement string
	Kind      policy.Kind
	Content
}

func encryptTo(plaintext []byte, rs []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	return buf.Bytes(), nil
}

func decryptWith(ageFile []byte, id *identity.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ageFile), id.AgeIdentity())
	if err != nil {
		return nil, ErrNoKey
	}
	return io.ReadAll(r)
}

// notePlan is what writing a note of a kind under an agreement rests on:
// who writes, under which version, to which readers through which keys.
type notePlan struct {
	*action
	version    *AgreementVersion
	terms      policy.Terms
	readers    []string
	recipients []age.Recipient
}

// planNote decides whether id may write a note of kind under agreementID
// now, and if so returns what the write rests on. AddNote writes through it
// and CanWrite asks it, so the two cannot disagree.
func (v *Vault) planNote(txn kv.Txn, id *identity.Identity, agreementID string, kind policy.Kind) (*notePlan, error) {
	act, err := v.begin(txn, id, agreementID)
	if err != nil {
		return nil, err
	}
	a, me := act.agreement, act.me
	if d := policy.InForce(a.Terms(a.Latest()), a.Current() != nil); !d.Allowed() {
		return nil, denied(d)
	}
	if err := a.checkSigner(me, id, false); err != nil {
		return nil, err
	}
	p := &notePlan{action: act, version: a.Current()}
	p.terms = a.Terms(p.version)
	if d := policy.WriteNote(me.Name, kind, p.terms); !d.Allowed() {
		return nil, denied(d)
	}
	p.readers = p.terms.ReadersFor(kind, me.Name)
	if p.recipients, err = v.pinnedRecipients(txn, a, p.readers); err != nil {
		return nil, err
	}
	return p, nil
}

// CanWrite reports whether AddNote would accept nn from id now, on
// everything but the body: nil, or the error AddNote would return (an
// invalid title or tag, ErrNotParticipant, ErrNotFound, a *DeniedError from
// the policy, a key that no longer matches its pin). It writes and logs
// nothing. The CLI asks before it opens an editor, so that nobody types a
// note that cannot be stored; the agreement may still change before the
// note is written, and AddNote decides again.
func (v *Vault) CanWrite(ctx context.Context, nn NewNote, id *identity.Identity) error {
	if err := nn.Content.validate(); err != nil {
		return err
	}
	return v.view(func(txn kv.Txn) error {
		_, err := v.planNote(txn, id, nn.Agreement, nn.Kind)
		return err
	})
}

// AddNote encrypts a note to exactly the readers its agreement gives its kind,
// through the keys the version in force pinned, signs its metadata as its
// author, and stores it with a copy for every live supervisor grant that
// covers the kind, and an audit record, in one transaction.
func (v *Vault) AddNote(ctx context.Context, nn NewNote, id *identity.Identity) (*Note, error) {
	if err := nn.Content.validate(); err != nil {
		return nil, err
	}
	noteID, err := v.newID("n")
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(v.rand, nonce); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	var n *Note
	err = v.update(func(txn kv.Txn) error {
		plan, err := v.planNote(txn, id, nn.Agreement, nn.Kind)
		if err != nil {
			return err
		}
		a, me := plan.agreement, plan.me
		now := v.Now()
		env := envelope{Content: nn.Content, Note: noteID, Agreement: a.ID, Kind: nn.Kind, Nonce: nonce}
		plain := env.marshal()
		defer clear(plain)
		rec := &noteRec{Meta: noteMeta{ID: noteID, Agreement: a.ID, Version: plan.version.Version, Kind: nn.Kind, Author: me.Name,
			Readers: plan.readers, Created: now, Expires: now.Add(plan.terms.RetentionFor(nn.Kind)),
			Commit: commitOf(plain)}}
		rec.Sig = id.Sign(rec.Meta.signedBytes())
		ageFile, err := encryptTo(plain, plan.recipients)
		if err != nil {
			return err
		}
		if rec.Bucket, err = v.putBlob(txn, noteID, expiryBase(rec.Meta.Expires), ageFile); err != nil {
			return err
		}
		n = rec.note()
		if err := v.copyForGrants(txn, a, n, plain, now); err != nil {
			return err
		}
		n.Holds = a.holdsOn(n.ID)
		if err := v.putNote(txn, n); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "note.add", Agreement: a.ID, Subject: n.ID,
			Kind: string(n.Kind), Rule: "write", Detail: map[string]string{"readers": strings.Join(n.Readers, ","),
				"expires": n.Expires.Format(time.RFC3339)}}, id)
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// putNote stores a note's record (its signed metadata as signed, with the
// vault's bookkeeping from n) and its expiry index entry.
func (v *Vault) putNote(txn kv.Txn, n *Note) error {
	if err := put(txn, pNote+n.ID, n.stored()); err != nil {
		return err
	}
	return txn.Set([]byte(expiryKey(n.Expires.Unix(), n.ID)), nil)
}

// stored is the record to store for n: its signed metadata exactly as
// signed, with the vault's bookkeeping from n.
func (n *Note) stored() *noteRec {
	rec := *n.rec
	rec.Bucket, rec.Copies, rec.Keyed, rec.Mark = n.Bucket, slices.Clone(n.Copies), n.Keyed, n.mark
	return &rec
}

// note reads a note's record as stored, unverified: for listing and the
// sweep's bookkeeping. Whatever acts on a note uses verifiedNote.
func (v *Vault) note(txn kv.Txn, id string) (*Note, error) {
	var rec noteRec
	if err := getRecord(txn, pNote, "note", id, &rec); err != nil {
		return nil, err
	}
	if rec.Meta.ID != id {
		return nil, integrity("note "+id, "its record is stored under another note's id")
	}
	return rec.note(), nil
}

// verifiedNote reads a note and verifies it against its agreement's chain:
// signed by its author under the key the version it names pinned, with the
// readers and the expiry those terms give. Its holds come from the chain.
func (v *Vault) verifiedNote(txn kv.Txn, id string) (*Note, *Agreement, error) {
	n, err := v.note(txn, id)
	if err != nil {
		return nil, nil, err
	}
	a, err := v.agreement(txn, n.Agreement)
	if err != nil {
		return nil, nil, err
	}
	if err := v.verifyNote(txn, a, n); err != nil {
		return nil, nil, err
	}
	return n, a, nil
}

func (v *Vault) verifyNote(txn kv.Txn, a *Agreement, n *Note) error {
	return verifyNoteBy(a, n, func(name string) (*Participant, error) { return v.participant(txn, name) })
}

// noteVerifier verifies many notes in one transaction, loading each
// agreement and each author's participant record once: parsing a key and
// checking its proof of possession costs more than a note's signature, and
// a sweep or a grant verifies thousands of notes by a handful of authors.
type noteVerifier struct {
	v          *Vault
	txn        kv.Txn
	agreements map[string]*Agreement
	parts      map[string]*Participant
}

func (v *Vault) newNoteVerifier(txn kv.Txn) *noteVerifier {
	return &noteVerifier{v: v, txn: txn, agreements: map[string]*Agreement{}, parts: map[string]*Participant{}}
}

// agreement loads (once) and returns an agreement.
func (nv *noteVerifier) agreement(id string) (*Agreement, error) {
	if a, ok := nv.agreements[id]; ok {
		return a, nil
	}
	a, err := nv.v.agreement(nv.txn, id)
	if err != nil {
		return nil, err
	}
	nv.agreements[id] = a
	return a, nil
}

// verify is verifyNote with the participant records cached.
func (nv *noteVerifier) verify(a *Agreement, n *Note) error {
	return verifyNoteBy(a, n, nv.participant)
}

// participant loads (once) and returns a participant.
func (nv *noteVerifier) participant(name string) (*Participant, error) {
	if p, ok := nv.parts[name]; ok {
		return p, nil
	}
	p, err := nv.v.participant(nv.txn, name)
	if err == nil {
		nv.parts[name] = p
	}
	return p, err
}

// verifyNoteBy is verifyNote with the author's participant record from
// participant, which a listing of many notes caches: parsing a key and
// checking its proof of possession costs more than the note's signature.
func verifyNoteBy(a *Agreement, n *Note, participant func(name string) (*Participant, error)) error {
	what := "note " + n.ID
	m := n.rec.Meta
	ver := a.Version(m.Version)
	if m.Agreement != a.ID || ver == nil || ver.Pins == nil {
		return integrity(what, "it names agreement %s version %d, which was never in force", m.Agreement, m.Version)
	}
	pin, ok := ver.Pins[m.Author]
	if !ok {
		return integrity(what, "its author %s is not a party of agreement %s version %d", m.Author, a.ID, m.Version)
	}
	p, err := participant(m.Author)
	if err != nil {
		return integrity(what, "its author: %v", err)
	}
	if key, ok := p.keyWith(pin); !ok || !verifiedSigs.verify(key, m.signedBytes(), n.rec.Sig) {
		return integrity(what, "it is not signed by its author %s", m.Author)
	}
	// It was written while the agreement was open, under the terms of the
	// version it names as they stood then.
	t := a.Terms(ver)
	if !t.Closed.IsZero() && m.Created.After(t.Closed) {
		return integrity(what, "it is dated %s, after agreement %s was %s", policy.FormatTime(m.Created), a.ID, "closed at "+policy.FormatTime(t.Closed))
	}
	t.Closed, t.ClosedBy = time.Time{}, ""
	if d := policy.WriteNote(m.Author, m.Kind, t); !d.Allowed() {
		return integrity(what, "its author could not write it (%s)", d)
	}
	if !slices.Equal(m.Readers, t.ReadersFor(m.Kind, m.Author)) || !m.Expires.Equal(m.Created.Add(t.RetentionFor(m.Kind))) {
		return integrity(what, "its readers or expiry are not those of agreement %s version %d", a.ID, m.Version)
	}
	// The copies it lists are not signed, and destroying the note destroys
	// them: each must be a copy of this note under a grant or a disclosure
	// of the chain.
	for _, c := range n.Copies {
		if !a.copyOf(c, n.ID) {
			return integrity(what, "it lists %s, which is no copy of it", c)
		}
	}
	n.Holds = a.holdsOn(n.ID)
	n.agr = a
	a.anchor(n)
	return nil
}

// copiesOf returns the blob ids of every copy the chain accounts for of
// note noteID, whether or not it still exists: a copy under each grant, and
// each disclosure's copy and statement.
func (a *Agreement) copiesOf(noteID string) []string {
	var out []string
	for _, g := range a.grants {
		out = append(out, grantCopyID(g.ID, noteID))
	}
	for _, d := range a.disclosures {
		if d.Note == noteID {
			out = append(out, d.ID, statementBlob(d.ID))
		}
	}
	return out
}

// copyOf reports whether blob is a copy of note noteID the chain accounts
// for: a grant's copy, or a disclosure's copy or statement.
func (a *Agreement) copyOf(blob, noteID string) bool {
	if g, ok := strings.CutSuffix(blob, "."+noteID); ok {
		_, ok := a.grant(g)
		return ok
	}
	for _, d := range a.disclosures {
		if d.Note == noteID && (blob == d.ID || blob == statementBlob(d.ID)) {
			return true
		}
	}
	return false
}

// openNote decrypts a copy of n with id and checks the plaintext is the one
// its author signed, for this note.
func openNote(ageFile []byte, n *Note, id *identity.Identity) ([]byte, *envelope, error) {
	plain, err := decryptWith(ageFile, id)
	if err != nil {
		return nil, nil, err
	}
	env, err := unmarshalEnvelope(plain)
	if err != nil || env.Note != n.ID || env.Agreement != n.Agreement || env.Kind != n.Kind || commitOf(plain) != n.rec.Meta.Commit {
		clear(plain)
		return nil, nil, integrity("note "+n.ID, "its content is not what its author signed")
	}
	return plain, env, nil
}

// GetNote returns a note's metadata, verified.
func (v *Vault) GetNote(ctx context.Context, id string) (*Note, error) {
	var n *Note
	err := v.view(func(txn kv.Txn) (err error) {
		n, _, err = v.verifiedNote(txn, id)
		return err
	})
	return n, err
}

// Explain returns the policy decision on whether participant name may read
// the note now. It changes nothing and logs nothing.
func (v *Vault) Explain(ctx context.Context, noteID, name string) (policy.Decision, error) {
	var d policy.Decision
	err := v.view(func(txn kv.Txn) error {
		if _, err := v.participant(txn, name); err != nil {
			return err
		}
		n, a, err := v.verifiedNote(txn, noteID)
		if err != nil {
			return err
		}
		d = policy.Read(name, n.policy(), a.facts(n.ID), v.Now())
		return nil
	})
	return d, err
}

// Abilities is what name may do under the agreement's version in force,
// action by action, as policy decides it (policy.Abilities): holds,
// consents and grants per kind, disclosures they may receive, and the caps.
// With no version in force, the latest version's terms without supervisors
// are what policy is given, as for every other decision.
func (v *Vault) Abilities(ctx context.Context, agreementID, name string) ([]policy.Ability, error) {
	var out []policy.Ability
	err := v.view(func(txn kv.Txn) error {
		if _, err := v.participant(txn, name); err != nil {
			return err
		}
		a, err := v.agreement(txn, agreementID)
		if err != nil {
			return err
		}
		out = policy.Abilities(name, a.termsInForce())
		return nil
	})
	return out, err
}

// Plain is a decrypted note.
type Plain struct {
	Note     *Note           `json:"note"`
	Content  *Content        `json:"content"`
	Decision policy.Decision `json:"-"`
}

// ReadNote decrypts a note for id if policy allows it and the note is what
// its author signed. The read is written to the audit log before the
// plaintext is returned; if the log cannot be written, nothing is returned.
// A denied read is logged too.
func (v *Vault) ReadNote(ctx context.Context, noteID string, id *identity.Identity) (*Plain, error) {
	ageFile, n, d, me, err := v.openFor(noteID, id, "note.read")
	if err != nil {
		return nil, err
	}
	_, env, err := openNote(ageFile, n, id)
	if err != nil {
		return nil, noKeyHint(err, n, d, me, id)
	}
	if err := v.logAccess(id, me, n, d, "note.read"); err != nil {
		return nil, err
	}
	return &Plain{Note: n, Content: &env.Content, Decision: d}, nil
}

// ExportNote returns the note as a standard age file that id's own key opens
// (`age -d -i FILE`). Exporting is a read: it is decided, verified and logged
// as one.
func (v *Vault) ExportNote(ctx context.Context, noteID string, id *identity.Identity) ([]byte, error) {
	ageFile, n, d, me, err := v.openFor(noteID, id, "note.export")
	if err != nil {
		return nil, err
	}
	plain, _, err := openNote(ageFile, n, id)
	if err != nil {
		return nil, noKeyHint(err, n, d, me, id)
	}
	clear(plain)
	if err := v.logAccess(id, me, n, d, "note.export"); err != nil {
		return nil, err
	}
	return ageFile, nil
}

// ExportNoteBody returns the note's body alone, without the envelope's
// header lines, as a standard age file encrypted to id's own key only: for
// handing the text to tools that know nothing of notevault. It is decided,
// verified and logged as a read, like ExportNote.
func (v *Vault) ExportNoteBody(ctx context.Context, noteID string, id *identity.Identity) ([]byte, error) {
	r, err := id.Public().AgeRecipient()
	if err != nil {
		return nil, err
	}
	ageFile, n, d, me, err := v.openFor(noteID, id, "note.export")
	if err != nil {
		return nil, err
	}
	plain, env, err := openNote(ageFile, n, id)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	out, err := encryptTo(env.Body, []age.Recipient{r})
	if err != nil {
		return nil, err
	}
	if err := v.logAccess(id, me, n, d, "note.export"); err != nil {
		return nil, err
	}
	return out, nil
}

// openFor decides a read and returns the age file of the copy the decision
// rests on: the note itself for its readers, the grant's or disclosure's copy
// otherwise. A denial is logged (who tried, which note, the rule) before it
// is returned.
func (v *Vault) openFor(noteID string, id *identity.Identity, action string) ([]byte, *Note, policy.Decision, *Participant, error) {
	return readCopy(v, noteID, id, action, v.getInline)
}

// getInline is getBlob for a copy read whole into memory: a large note's
// copy (a payload file, any size up to several GiB) is refused with
// ErrLargeNote before any of it is read.
func (v *Vault) getInline(txn kv.Txn, blobID string) ([]byte, error) {
	var rec blobRec
	if err := getRecord(txn, pBlob, "copy", blobID, &rec); err != nil {
		return nil, err
	}
	if rec.Payload {
		return nil, ErrLargeNote
	}
	return v.getBlob(txn, blobID)
}

// readCopy decides a read of noteID by id as openFor describes and, when
// the policy allows it, fetches the copy the decision rests on with fetch
// (the whole blob, or a stream of it). A denial is logged before it is
// returned.
func readCopy[T any](v *Vault, noteID string, id *identity.Identity, action string, fetch func(kv.Txn, string) (T, error)) (T, *Note, policy.Decision, *Participant, error) {
	var (
		src  T
		zero T
		n    *Note
		d    policy.Decision
		me   *Participant
	)
	err := v.view(func(txn kv.Txn) error {
		act, note, err := v.beginNote(txn, id, noteID)
		if err != nil {
			return err
		}
		me, n = act.me, note
		d = policy.Read(me.Name, n.policy(), act.agreement.facts(n.ID), v.Now())
		if !d.Allowed() {
			return nil
		}
		src, err = fetch(txn, copyFor(n, d))
		return err
	})
	if err == nil && !d.Allowed() {
		if lerr := v.logAccess(id, me, n, d, action+".denied"); lerr != nil {
			return zero, nil, d, nil, lerr
		}
		err = denied(d)
	}
	return src, n, d, me, err
}

// copyFor is the blob id of the copy of n that an allowing read decision d
// rests on: the note itself for its readers, the grant's or the
// disclosure's copy otherwise.
func copyFor(n *Note, d policy.Decision) string {
	switch d.Rule {
	case "grant":
		return grantCopyID(d.Basis, n.ID)
	case "disclosure":
		return d.Basis
	}
	return n.ID
}

func (v *Vault) logAccess(id *identity.Identity, me *Participant, n *Note, d policy.Decision, action string) error {
	return v.update(func(txn kv.Txn) error {
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: action, Agreement: n.Agreement, Subject: n.ID,
			Kind: string(n.Kind), Rule: d.Rule, Detail: map[string]string{"basis": d.Basis, "author": n.Author}}, id)
	})
}

// NoteFilter narrows ListNotes.
type NoteFilter struct {
	Agreement string
	Kind      policy.Kind
	// Since, when set, keeps only the notes written at or after it.
	Since time.Time
	// Reader, when set, keeps only the notes this participant may read now.
	Reader string
}

// known refuses a filter on an agreement the vault does not have: a
// mistyped id is not found, rather than listed as no notes.
func (f NoteFilter) known(txn kv.Txn) error {
	if f.Agreement == "" {
		return nil
	}
	var h agreementHead
	return getRecord(txn, pAgreement, "agreement", f.Agreement, &h)
}

// keeps reports whether n passes the filter's metadata conditions (all but
// Reader, which needs the agreement).
func (f NoteFilter) keeps(n *Note) bool {
	return (f.Agreement == "" || n.Agreement == f.Agreement) && (f.Kind == "" || n.Kind == f.Kind) &&
		(f.Since.IsZero() || !n.Created.Before(f.Since))
}

// ListNotes lists note metadata, oldest first. It reads only the small
// metadata records, never ciphertexts, and each agreement's chain once.
// Listing grants nothing, so the notes' signatures are left to the reads
// (and to notevault check).
func (v *Vault) ListNotes(ctx context.Context, f NoteFilter) ([]*Note, error) {
	var out []*Note
	err := v.view(func(txn kv.Txn) error {
		out = out[:0] // a conflict runs the view again (view)
		agreements := map[string]*Agreement{}
		base := map[string]policy.Facts{} // an agreement's facts, without disclosures
		now := v.Now()
		if err := f.known(txn); err != nil {
			return err
		}
		return scan(txn, pNote, func(_ string, rec *noteRec) error {
			n := rec.note()
			if !f.keeps(n) {
				return nil
			}
			a, ok := agreements[n.Agreement]
			if !ok {
				var err error
				if a, err = v.agreement(txn, n.Agreement); err != nil {
					return err
				}
				agreements[n.Agreement] = a
				base[a.ID] = a.facts("")
			}
			n.Holds = a.holdsOn(n.ID)
			if f.Reader != "" && !policy.Read(f.Reader, n.policy(), a.withDisclosures(base[a.ID], n.ID), now).Allowed() {
				return nil
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}
