package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// An agreement is a chain of signed facts (records.go): its versions, the
// parties' acceptances, consents, grants, disclosures and holds, and their
// endings. Everything that decides access is folded from that chain on every
// load, verifying each link: its place, its hash link to the one before, its
// signature under the key the parties pinned, and that policy allowed it at
// the time it was made. Nothing unsigned in the store grants or revives
// anything, and an older chain cannot be passed off as the current one by
// anyone whose pinned head it cuts (see pins.go).
//
// Records:
//
//	a/<id>              agreementHead: id and creation time (a listing aid)
//	f/<id>/<seq>        fact, seq as 8 bytes big endian
//	c/<id>.v<version>   the version's full text, age-encrypted to its parties
//	                    and sealed in the agreement's own bucket (bucket.go)
const pFact = "f/"

// Agreement is a mentoring agreement with every version on record, folded
// from its verified chain.
type Agreement struct {
	ID       string              `json:"id"`
	Created  time.Time           `json:"created"`
	Versions []*AgreementVersion `json:"versions"`

	inForce     *AgreementVersion
	consents    []policy.Consent
	grants      []policy.Grant
	disclosures []policy.Disclosure
	statements  map[string]string // disclosure id -> hash of its sealed statement
	holds       []*Hold
	practice    practice // attestations and when it first came into force (practice.go)
	closure     *Closure // the signed close, nil while open (close.go)
	head        factHead
	hashes      []string            // hash of each fact, by seq-1
	adjust      func(*policy.Terms) // Vault.termsHook
	capped      map[string]bool     // consents whose end the cap set on fold
	// keyPins is the key fingerprint of every party pinned by a version that
	// came into force. A later acceptance pins the same key for them: a key
	// is never re-pinned by re-accepting (rotation will be a signed fact of
	// its own), so a key swapped in the store stays refused.
	keyPins map[string]string
	// moved are key changes signed rotate or replace facts authorised and
	// no version in force pins yet (keychange.go).
	moved map[string]keyMove
}

type agreementHead struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

type factHead struct {
	Seq  uint64
	Hash string
}

// AgreementVersion is one version: its terms, who proposed it, and the
// acceptances it has. Text is the full agreement file, filled only by
// AgreementText for a party who can decrypt it.
type AgreementVersion struct {
	Version     int                  `json:"version"`
	Text        string               `json:"text,omitempty"`
	ProposedBy  string               `json:"proposed_by,omitempty"`
	ProposedAt  time.Time            `json:"proposed_at"`
	Acceptances []*Acceptance        `json:"acceptances,omitempty"`
	Parsed      *agreement.Agreement `json:"-"` // the machine-read terms only
	// Schema is the agreement schema version the text was written under,
	// and is read again under (1 for versions stored before schemas were
	// recorded).
	Schema int `json:"schema"`
	// Pins are the key fingerprints both parties pinned when the version came
	// into force; nil until it does.
	Pins map[string]string `json:"pins,omitempty"`
	// Ended says how a version that never came into force was set aside
	// ("rejected" by the other party, "withdrawn" by its proposer), by whom
	// and when; empty while it is pending or once it is in force.
	Ended   string    `json:"ended,omitempty"`
	EndedBy string    `json:"ended_by,omitempty"`
	EndedAt time.Time `json:"ended_at,omitzero"`
	// ReviewEvery is the review schedule the version states (0: none).
	ReviewEvery time.Duration `json:"-"`

	textHash string
}

// Acceptance is a participant's signed acceptance of a version.
type Acceptance struct {
	Who      string            `json:"who"`
	At       time.Time         `json:"at"`
	Pins     map[string]string `json:"pins"`
	Verified bool              `json:"-"`
}

// Current returns the version in force: the newest that mentor and mentee
// both accepted pinning the same keys, or nil.
func (a *Agreement) Current() *AgreementVersion { return a.inForce }

// Latest returns the newest version, accepted or not.
func (a *Agreement) Latest() *AgreementVersion { return a.Versions[len(a.Versions)-1] }

// Version returns version n, or nil.
func (a *Agreement) Version(n int) *AgreementVersion {
	if n < 1 || n > len(a.Versions) {
		return nil
	}
	return a.Versions[n-1]
}

// AcceptedBy reports whether name accepted this version.
func (ver *AgreementVersion) AcceptedBy(name string) bool {
	return ver.acceptance(name) != nil
}

func (ver *AgreementVersion) acceptance(name string) *Acceptance {
	for _, ac := range ver.Acceptances {
		if ac.Who == name {
			return ac
		}
	}
	return nil
}

// AcceptedByBoth reports whether mentor and mentee both accepted.
func (ver *AgreementVersion) AcceptedByBoth() bool {
	return ver.AcceptedBy(ver.Parsed.Mentor) && ver.AcceptedBy(ver.Parsed.Mentee)
}

// Terms is the version reduced to what policy decides on.
func (a *Agreement) Terms(ver *AgreementVersion) policy.Terms {
	t := ver.Parsed.Terms(a.ID, ver.Version)
	if a.adjust != nil {
		a.adjust(&t)
	}
	if a.closure != nil {
		t.Closed, t.ClosedBy = a.closure.At, a.closure.By
	}
	return t
}

// termsInForce is the policy terms of the version in force; with none in
// force, the latest version's terms with no supervisors (nobody reads under
// a version that is not in force).
// firstSchemaParty reports whether a hold, a release or a disclosure that
// today's rules refuse was lawful when it was made: under a version in force
// written with the first agreement schema, any party could place or release
// a hold and a disclosure could go to any party. Chains signed then must keep
// loading (old vaults keep working), so the fold accepts such a fact when
// name is a party of that version. Writes always apply today's rules, and a
// version written under a later schema gets no such leniency.
func (a *Agreement) firstSchemaParty(name string, t policy.Terms) bool {
	if a.inForce == nil || a.inForce.Schema > 1 {
		return false
	}
	_, ok := t.RoleOf(name)
	return ok
}

func (a *Agreement) termsInForce() policy.Terms {
	var t policy.Terms
	if a.inForce != nil {
		t = a.Terms(a.inForce)
	} else {
		t = a.Terms(a.Latest())
		t.Supervisors = nil
	}
	if a.closure != nil {
		t.Closed, t.ClosedBy = a.closure.At, a.closure.By
	}
	return t
}

// facts is what policy needs about the agreement (disclosures of noteID
// only, when given).
func (a *Agreement) facts(noteID string) policy.Facts {
	f := policy.Facts{Terms: a.termsInForce(), Consents: slices.Clone(a.consents), Grants: slices.Clone(a.grants)}
	if noteID != "" {
		for _, d := range a.disclosures {
			if d.Note == noteID {
				f.Disclosures = append(f.Disclosures, d)
			}
		}
	}
	return f
}

// withDisclosures is base (a.facts("") computed once, shared read-only by
// the policy calls of a listing) with the disclosures of noteID added.
func (a *Agreement) withDisclosures(base policy.Facts, noteID string) policy.Facts {
	for _, d := range a.disclosures {
		if d.Note == noteID {
			base.Disclosures = append(base.Disclosures[:len(base.Disclosures):len(base.Disclosures)], d)
		}
	}
	return base
}

// parties are the people whose keys an acceptance of ver pins: mentor,
// mentee, supervisors, custodians (who sign the holds they place and
// release) and the recipients its exceptions name (to whom a disclosure is
// sealed).
func (a *Agreement) parties(ver *AgreementVersion) []string {
	p := ver.Parsed
	out := append([]string{p.Mentor, p.Mentee}, p.Supervisors...)
	t := a.Terms(ver)
	more := slices.Clone(t.Custodians)
	for _, e := range t.ExceptionNames() {
		more = append(more, t.ExceptionRecipients[e]...)
	}
	for _, c := range more {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// termsDoc is the machine-read part of an agreement file, as it is stored
// in the clear inside a propose fact: who the parties are, who reads which
// kind, the exceptions and who receives disclosures under them, the
// custodians of holds, the sharing caps, the retention periods and the
// dates: what the vault decides with, without anyone's key (the review
// schedule is the propose fact's own field, for agreement due). Everything else of the file (purpose, boundaries,
// clauses, success criteria, ...) is age-encrypted. The fields schema 2
// added are left out when empty, so a schema 1 version's terms read back
// exactly as they were stored.
type termsDoc struct {
	Name        string              `json:"name"`
	Mentor      string              `json:"mentor"`
	Mentee      string              `json:"mentee"`
	Supervisors []string            `json:"supervisors,omitempty"`
	Readers     map[string][]string `json:"readers"`
	Exceptions  []string            `json:"exceptions,omitempty"`
	Retention   map[string]string   `json:"retention"`

	Recipients map[string][]string `json:"recipients,omitempty"` // exception -> who may receive it (map form only)
	Custodians []string            `json:"custodians,omitempty"`
	MaxGrant   string              `json:"max_grant,omitempty"`
	MaxConsent string              `json:"max_consent,omitempty"`
	AfterClose string              `json:"after_close,omitempty"`
	Start      string              `json:"start,omitempty"` // YYYY-MM-DD
	End        string              `json:"end,omitempty"`
}

func termsOf(a *agreement.Agreement) termsDoc {
	d := termsDoc{Name: a.Name, Mentor: a.Mentor, Mentee: a.Mentee, Supervisors: slices.Clone(a.Supervisors),
		Readers: map[string][]string{}, Exceptions: slices.Clone(a.Confidentiality.Exceptions), Retention: map[string]string{},
		Custodians: slices.Clone(a.Custodians), MaxGrant: formatPeriod(a.Sharing.MaxGrant), MaxConsent: formatPeriod(a.Sharing.MaxConsent),
		AfterClose: formatPeriod(a.AfterClose), Start: formatDate(a.Start), End: formatDate(a.End)}
	for k, r := range a.Confidentiality.Readers {
		d.Readers[string(k)] = slices.Clone(r)
	}
	for k, p := range a.Retention {
		d.Retention[string(k)] = agreement.FormatDuration(p)
	}
	for e, rs := range a.Confidentiality.Recipients {
		if d.Recipients == nil {
			d.Recipients = map[string][]string{}
		}
		d.Recipients[e] = slices.Clone(rs)
	}
	return d
}

func formatPeriod(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return agreement.FormatDuration(d)
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func (d termsDoc) agreement() (*agreement.Agreement, error) {
	a := &agreement.Agreement{Name: d.Name, Mentor: d.Mentor, Mentee: d.Mentee, Supervisors: slices.Clone(d.Supervisors),
		Retention: map[policy.Kind]time.Duration{}, Custodians: slices.Clone(d.Custodians)}
	a.Confidentiality.Readers = map[policy.Kind][]string{}
	a.Confidentiality.Exceptions = slices.Clone(d.Exceptions)
	for k, r := range d.Readers {
		a.Confidentiality.Readers[policy.Kind(k)] = slices.Clone(r)
	}
	for k, s := range d.Retention {
		p, err := agreement.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("retention of %s: %w", k, err)
		}
		a.Retention[policy.Kind(k)] = p
	}
	for e, rs := range d.Recipients {
		if !slices.Contains(d.Exceptions, e) {
			return nil, fmt.Errorf("it names recipients of %q, which is no exception of it", e)
		}
		if a.Confidentiality.Recipients == nil {
			a.Confidentiality.Recipients = map[string][]string{}
		}
		a.Confidentiality.Recipients[e] = slices.Clone(rs)
	}
	for _, p := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"max_grant", d.MaxGrant, &a.Sharing.MaxGrant}, {"max_consent", d.MaxConsent, &a.Sharing.MaxConsent},
		{"after_close", d.AfterClose, &a.AfterClose}} {
		if p.s == "" {
			continue
		}
		v, err := agreement.ParseDuration(p.s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		*p.dst = v
	}
	for _, p := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"start", d.Start, &a.Start}, {"end", d.End, &a.End}} {
		if p.s == "" {
			continue
		}
		v, err := time.Parse(time.DateOnly, p.s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		*p.dst = v
	}
	return a, nil
}

func (d termsDoc) equal(e termsDoc) bool {
	x, _ := json.Marshal(d)
	y, _ := json.Marshal(e)
	return string(x) == string(y)
}

func factKey(agreementID string, seq uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return pFact + agreementID + "/" + string(b[:])
}

// agreement loads and folds an agreement's chain, verifying every fact. A
// chain that fails is an *IntegrityError naming the fact.
func (v *Vault) agreement(txn kv.Txn, id string) (*Agreement, error) {
	var h agreementHead
	if err := getRecord(txn, pAgreement, "agreement", id, &h); err != nil {
		return nil, err
	}
	a := &Agreement{ID: id, Created: h.Created, adjust: v.termsHook}
	var facts []*fact
	if err := scan(txn, pFact+id+"/", func(_ string, f *fact) error {
		facts = append(facts, f)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(facts) == 0 {
		return nil, integrity("agreement "+id, "it has no facts")
	}
	parts := map[string]*Participant{}
	keyOf := func(name string) (*Participant, error) {
		if p, ok := parts[name]; ok {
			return p, nil
		}
		p, err := v.participant(txn, name)
		if err != nil {
			return nil, err
		}
		parts[name] = p
		return p, nil
	}
	trusted := v.verifiedHead(id).Seq
	for i, f := range facts {
		if err := a.apply(f, uint64(i+1), uint64(i+1) <= trusted, keyOf); err != nil {
			return nil, err
		}
	}
	if err := v.checkPinnedHead(txn, a); err != nil {
		return nil, err
	}
	return a, nil
}

// apply verifies fact f as link seq of the chain and folds it in. With
// trusted, f lies within the chain this user already verified (the caller
// checks, after the fold, that the chain still hashes to that head), so its
// signature is not checked again; its place, its link and policy still are.
func (a *Agreement) apply(f *fact, seq uint64, trusted bool, keyOf func(string) (*Participant, error)) error {
	what := fmt.Sprintf("agreement %s fact %d", a.ID, seq)
	bad := func(format string, args ...any) error { return integrity(what, format, args...) }
	if f.Agreement != a.ID || f.Seq != seq {
		return bad("it is stored out of place")
	}
	if f.Prev != a.head.Hash {
		return bad("it does not link to the fact before it")
	}
	if seq > 1 && f.At.Before(a.Versions[0].ProposedAt) {
		return bad("it is dated before the agreement")
	}
	// The signature: only the first proposal is the vault's (an
	// administrator creates an agreement; it binds nobody until both parties
	// accept it). Every other fact is signed by a person, under the key the
	// parties pinned when the version in force came into force, or, before
	// any version is in force, the registered key with its proof.
	if f.Actor == ActorVault {
		if seq != 1 || f.Type != factPropose || len(f.Sig) != 0 {
			return bad("only the first proposal may be unsigned")
		}
	} else if !trusted {
		p, err := keyOf(f.Actor)
		var ie *IntegrityError
		if errors.As(err, &ie) {
			return err // names the participant whose record was changed
		}
		if err != nil {
			return bad("its signer %s: %v", f.Actor, err)
		}
		var key identity.PublicKey
		if a.inForce != nil {
			// The key is the one the chain pins, looked up by its
			// fingerprint among the participant's current and retired
			// keys: a key changes only by signed facts (keychange.go).
			pin, ok := a.pinFor(f)
			if !ok {
				return bad("%s is not a party of version %d, in force", f.Actor, a.inForce.Version)
			}
			if key, ok = p.keyWith(pin); !ok {
				return bad("%s's stored key (%s) is not the key pinned by version %d (%s)", f.Actor, p.Fingerprint(), a.inForce.Version, pin)
			}
		} else {
			// Before any version is in force: an acceptance is signed by
			// the key it pins for its signer; anything else by the key
			// the signer had then.
			key = p.keyAt(f.At)
			if f.Type == factAccept {
				var b acceptBody
				if err := f.decode(&b); err != nil {
					return bad("%v", err)
				}
				var ok bool
				if key, ok = p.keyWith(b.Pins[f.Actor]); !ok {
					return bad("it is signed by %s under the key it pins for them (%s), and their stored key is another (%s)", f.Actor, b.Pins[f.Actor], p.Fingerprint())
				}
			}
			if !key.Bound() {
				return bad("%s's stored key carries no valid proof of possession", f.Actor)
			}
		}
		if !key.Verify(f.signedBytes(), f.Sig) {
			return bad("its signature by %s does not verify", f.Actor)
		}
	}
	if err := a.fold(f); err != nil {
		return bad("%v", err)
	}
	a.head = factHead{Seq: seq, Hash: f.hash()}
	a.hashes = append(a.hashes, a.head.Hash)
	return nil
}

// fold applies a verified fact, checking that policy allowed it when it was
// made: a signature proves who acted, policy whether they could.
func (a *Agreement) fold(f *fact) error {
	refused := func(d policy.Decision) error { return fmt.Errorf("policy did not allow it (%s)", d) }
	needInForce := func() (policy.Terms, error) {
		if a.inForce == nil {
			return policy.Terms{}, fmt.Errorf("no version was in force")
		}
		return a.Terms(a.inForce), nil
	}
	if err := a.closedTo(f); err != nil {
		return err
	}
	switch f.Type {
	case factPropose:
		var b proposeBody
		if err := f.decode(&b); err != nil {
			return err
		}
		if b.Version != len(a.Versions)+1 {
			return fmt.Errorf("it proposes version %d after version %d", b.Version, len(a.Versions))
		}
		schema := b.Schema
		if schema == 0 {
			schema = 1 // proposed before schemas were recorded
		}
		if schema > agreement.Schema {
			return fmt.Errorf("it was written under agreement schema %d, newer than this release reads (%d)", schema, agreement.Schema)
		}
		parsed, err := b.Terms.agreement()
		if err != nil {
			return err
		}
		parsed.Schema = schema
		if len(a.Versions) > 0 {
			prev := a.Latest().Parsed
			if f.Actor != prev.Mentor && f.Actor != prev.Mentee {
				return fmt.Errorf("%s, who proposed it, is neither mentor nor mentee", f.Actor)
			}
			if parsed.Mentor != prev.Mentor || parsed.Mentee != prev.Mentee {
				return fmt.Errorf("it changes the mentor or the mentee")
			}
		}
		by := f.Actor
		if by == ActorVault {
			by = ""
		}
		every, err := parseReviewPeriod(b.Review)
		if err != nil {
			return err
		}
		parsed.ReviewEvery = every
		a.Versions = append(a.Versions, &AgreementVersion{Version: b.Version, ProposedBy: by, ProposedAt: f.At,
			Parsed: parsed, Schema: schema, textHash: b.Text, ReviewEvery: every})
	case factAccept:
		var b acceptBody
		if err := f.decode(&b); err != nil {
			return err
		}
		ver := a.Latest()
		if b.Version != ver.Version {
			return fmt.Errorf("it accepts version %d while version %d is the newest", b.Version, ver.Version)
		}
		if ver.Ended != "" {
			return fmt.Errorf("it accepts version %d, which was %s", ver.Version, ver.Ended)
		}
		if f.Actor != ver.Parsed.Mentor && f.Actor != ver.Parsed.Mentee {
			return fmt.Errorf("%s, who accepted, is neither mentor nor mentee", f.Actor)
		}
		if ver.AcceptedBy(f.Actor) {
			return fmt.Errorf("%s accepted version %d twice", f.Actor, ver.Version)
		}
		for _, p := range a.parties(ver) {
			if b.Pins[p] == "" {
				return fmt.Errorf("it pins no key for %s", p)
			}
			if old, ok := a.keyPins[p]; ok && b.Pins[p] != old && a.moved[p].FP != b.Pins[p] {
				return fmt.Errorf("it pins a key for %s (%s) other than the one pinned before (%s)", p, b.Pins[p], old)
			}
		}
		if len(b.Pins) != len(a.parties(ver)) {
			return fmt.Errorf("it pins keys of people who are not parties")
		}
		ver.Acceptances = append(ver.Acceptances, &Acceptance{Who: f.Actor, At: f.At, Pins: b.Pins, Verified: true})
		m, e := ver.acceptance(ver.Parsed.Mentor), ver.acceptance(ver.Parsed.Mentee)
		if m != nil && e != nil && maps.Equal(m.Pins, e.Pins) {
			ver.Pins = maps.Clone(m.Pins)
			a.inForce = ver
			if a.practice.since.IsZero() {
				a.practice.since = f.At
			}
			if a.keyPins == nil {
				a.keyPins = map[string]string{}
			}
			maps.Copy(a.keyPins, ver.Pins)
			a.settleMoves()
			// A version in force that narrows access ends the grants it no
			// longer allows (policy.GrantLive judges them under these terms),
			// and for good: their copies are destroyed now, so a later
			// version that would allow them again revives nothing.
			facts := a.facts("")
			for i, g := range a.grants {
				if !g.EndedAt.IsZero() || !f.At.Before(g.Expires) {
					continue
				}
				switch policy.GrantLive(g, facts, f.At).Rule {
				case "not-supervisor", "granter-not-reader":
					a.grants[i].EndedAt = f.At
				}
			}
		}
	case factConsent:
		t, err := needInForce()
		if err != nil {
			return err
		}
		var b consentBody
		if err := f.decode(&b); err != nil {
			return err
		}
		if d := policy.GiveConsent(f.Actor, b.Grantee, b.Kinds, t); !d.Allowed() {
			return refused(d)
		}
		// The cap applies to every consent in the chain: one recorded with
		// no end or a later one (earlier releases allowed both) ends at the
		// cap. Giving a longer one now is refused (GiveConsent); one signed
		// into the store anyway grants nothing past the cap.
		if limit := f.At.Add(t.ConsentCap()); b.Until.IsZero() || b.Until.After(limit) {
			b.Until = limit
			if a.capped == nil {
				a.capped = map[string]bool{}
			}
			a.capped[b.ID] = true
		}
		if _, dup := a.consent(b.ID); dup {
			return fmt.Errorf("consent %s is given twice", b.ID)
		}
		a.consents = append(a.consents, policy.Consent{ID: b.ID, Agreement: a.ID, Version: b.Version, Grantor: f.Actor,
			Grantee: b.Grantee, Kinds: b.Kinds, GivenAt: f.At, Until: b.Until, Verified: true})
	case factWithdraw:
		var b withdrawBody
		if err := f.decode(&b); err != nil {
			return err
		}
		i, ok := a.consent(b.Consent)
		if !ok {
			return fmt.Errorf("it withdraws consent %s, which was never given", b.Consent)
		}
		if d := policy.WithdrawConsent(f.Actor, a.consents[i], a.termsInForce()); !d.Allowed() {
			return refused(d)
		}
		a.consents[i].WithdrawnAt = f.At
	case factGrant:
		t, err := needInForce()
		if err != nil {
			return err
		}
		var b grantBody
		if err := f.decode(&b); err != nil {
			return err
		}
		if d, _ := policy.GrantAccess(f.Actor, b.Grantee, b.Kinds, a.facts(""), f.At); !d.Allowed() {
			return refused(d)
		}
		// Likewise every grant ends at the cap on grants, and one resting on
		// a consent the cap cut short ends with it.
		if limit := f.At.Add(t.GrantCap()); b.Expires.After(limit) {
			b.Expires = limit
		}
		if ci, ok := a.consent(b.Consent); !ok || a.consents[ci].Grantee != b.Grantee {
			return fmt.Errorf("it rests on consent %s, which does not cover it", b.Consent)
		} else if until := a.consents[ci].Until; !until.IsZero() && b.Expires.After(until) {
			if !a.capped[b.Consent] {
				return fmt.Errorf("it outlives its consent")
			}
			b.Expires = until
		}
		if !b.Expires.After(f.At) {
			return fmt.Errorf("it ends before it begins")
		}
		a.grants = append(a.grants, policy.Grant{ID: b.ID, Agreement: a.ID, Consent: b.Consent, GrantedBy: f.Actor,
			Grantee: b.Grantee, Kinds: b.Kinds, Issued: f.At, Expires: b.Expires, Verified: true})
	case factRevoke:
		var b revokeBody
		if err := f.decode(&b); err != nil {
			return err
		}
		i, ok := a.grant(b.Grant)
		if !ok {
			return fmt.Errorf("it revokes grant %s, which was never made", b.Grant)
		}
		if d := policy.RevokeGrant(f.Actor, a.grants[i], a.termsInForce()); !d.Allowed() {
			return refused(d)
		}
		a.grants[i].RevokedAt = f.At
	case factDisclose:
		t, err := needInForce()
		if err != nil {
			return err
		}
		var b discloseBody
		if err := f.decode(&b); err != nil {
			return err
		}
		if _, ok := t.RoleOf(f.Actor); !ok {
			return fmt.Errorf("%s, who disclosed, is not a party", f.Actor)
		}
		if d := policy.DisclosureRecipient(f.Actor, b.To, b.Reason, t); !d.Allowed() && !a.firstSchemaParty(b.To, t) {
			return refused(d)
		}
		a.disclosures = append(a.disclosures, policy.Disclosure{ID: b.ID, Note: b.Note, By: f.Actor, To: b.To,
			Reason: b.Reason, At: f.At, Verified: true})
		if a.statements == nil {
			a.statements = map[string]string{}
		}
		a.statements[b.ID] = b.Statement
	case factHold:
		t, err := needInForce()
		if err != nil {
			return err
		}
		var b holdBody
		if err := f.decode(&b); err != nil {
			return err
		}
		if d := policy.PlaceHold(f.Actor, t); !d.Allowed() && !a.firstSchemaParty(f.Actor, t) {
			return refused(d)
		}
		a.holds = append(a.holds, &Hold{ID: b.ID, Agreement: a.ID, Note: b.Note, PlacedBy: f.Actor, At: f.At, Review: b.Review, reasonHash: b.Reason})
	case factRelease:
		var b releaseBody
		if err := f.decode(&b); err != nil {
			return err
		}
		h := a.hold(b.Hold)
		if h == nil || !h.Active() {
			return fmt.Errorf("it releases hold %s, which is not active", b.Hold)
		}
		if d := policy.ReleaseHold(f.Actor, h.PlacedBy, a.termsInForce()); !d.Allowed() && !a.firstSchemaParty(f.Actor, a.termsInForce()) {
			return refused(d)
		}
		h.ReleasedBy, h.ReleasedAt = f.Actor, f.At
	case factAttest, factReject, factWithdrawProposal:
		return a.foldPractice(f)
	case factClose:
		return a.foldClose(f)
	case factRotate, factReplace:
		return a.foldKeyChange(f)
	default:
		return fmt.Errorf("unknown type %q", f.Type)
	}
	return nil
}

func (a *Agreement) consent(id string) (int, bool) {
	i := slices.IndexFunc(a.consents, func(c policy.Consent) bool { return c.ID == id })
	return i, i >= 0
}

func (a *Agreement) grant(id string) (int, bool) {
	i := slices.IndexFunc(a.grants, func(g policy.Grant) bool { return g.ID == id })
	return i, i >= 0
}

func (a *Agreement) hold(id string) *Hold {
	for _, h := range a.holds {
		if h.ID == id {
			return h
		}
	}
	return nil
}

// appendFact signs (unless actor is the vault) and stores the next fact of
// the agreement, folds it in, and logs it. The audit record carries the
// fact's place and hash, so the log and the chain vouch for each other.
func (v *Vault) appendFact(txn kv.Txn, a *Agreement, typ string, body any, signer *identity.Identity, actor string, rec *audit.Record) (*fact, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	f := &fact{Agreement: a.ID, Seq: a.head.Seq + 1, Prev: a.head.Hash, Type: typ, Actor: actor, At: v.Now(), Body: b}
	if signer != nil {
		// What is signed now is checked under the pinned key later: a
		// fact signed by any other key is refused before it is stored.
		me, err := v.participant(txn, actor)
		if err != nil {
			return nil, err
		}
		if err := a.checkSigner(me, signer, typ == factAccept); err != nil {
			return nil, err
		}
		f.Sig = signer.Sign(f.signedBytes())
	}
	if err := a.fold(f); err != nil {
		return nil, fmt.Errorf("agreement %s: %w", a.ID, err)
	}
	a.head = factHead{Seq: f.Seq, Hash: f.hash()}
	a.hashes = append(a.hashes, a.head.Hash)
	if err := put(txn, factKey(a.ID, f.Seq), f); err != nil {
		return nil, err
	}
	if rid := recordID(body); rid != "" {
		if err := txn.Set([]byte(pIndex+rid), []byte(a.ID)); err != nil {
			return nil, err
		}
	}
	if rec.Detail == nil {
		rec.Detail = map[string]string{}
	}
	rec.Detail["fact"] = strconv.FormatUint(f.Seq, 10) + ":" + a.head.Hash
	rec.Agreement, rec.Time = a.ID, f.At
	var s audit.Signer
	if signer != nil {
		s = signer
	}
	if err := v.appendLog(txn, rec, s); err != nil {
		return nil, err
	}
	v.notePinnedHead(txn, a)
	return f, nil
}

// pIndex maps the id of a consent, grant, disclosure or hold to its
// agreement: i/<id> -> agreement id. It is a lookup aid only, which whoever
// can write the store can change: an entry that is missing, or names an
// agreement whose chain does not hold the record, sends findFact to search
// every chain, so an edited index cannot keep a consent from being
// withdrawn or a grant from being revoked.
const pIndex = "i/"

func recordID(body any) string {
	switch b := body.(type) {
	case consentBody:
		return b.ID
	case grantBody:
		return b.ID
	case discloseBody:
		return b.ID
	case holdBody:
		return b.ID
	}
	return ""
}

// findFact returns the agreement whose chain holds the consent, grant,
// disclosure or hold with this id. It only locates the chain: the caller
// verifies it and finds the record in what it verified.
func (v *Vault) findFact(txn kv.Txn, id string) (string, error) {
	b, err := txn.Get([]byte(pIndex + id))
	switch {
	case err == nil:
		if ok, err := v.chainHolds(txn, string(b), id); err != nil || ok {
			return string(b), err
		}
	case !isNotFound(err):
		return "", err
	}
	var ids []string
	if err := scan(txn, pAgreement, func(_ string, h *agreementHead) error {
		ids = append(ids, h.ID)
		return nil
	}); err != nil {
		return "", err
	}
	for _, aid := range ids {
		if ok, err := v.chainHolds(txn, aid, id); err != nil {
			return "", err
		} else if ok {
			return aid, nil
		}
	}
	return "", notFound(recordKind(id), id)
}

// chainHolds reports whether agreement agreementID's chain has a fact
// that makes the consent, grant, disclosure or hold recordID. It verifies
// nothing.
func (v *Vault) chainHolds(txn kv.Txn, agreementID, recordID string) (bool, error) {
	found := false
	err := scan(txn, pFact+agreementID+"/", func(_ string, f *fact) error {
		switch f.Type {
		case factConsent, factGrant, factDisclose, factHold:
			var b struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(f.Body, &b) == nil && b.ID == recordID {
				found = true
			}
		}
		return nil
	})
	return found, err
}

// recordKind names a record by its id's prefix, for messages.
func recordKind(id string) string {
	switch {
	case strings.HasPrefix(id, "c-"):
		return "consent"
	case strings.HasPrefix(id, "g-"):
		return "grant"
	case strings.HasPrefix(id, "d-"):
		return "disclosure"
	case strings.HasPrefix(id, "h-"):
		return "hold"
	}
	return "record"
}

// GetAgreement returns an agreement with every version.
func (v *Vault) GetAgreement(ctx context.Context, id string) (*Agreement, error) {
	var a *Agreement
	err := v.view(func(txn kv.Txn) (err error) {
		a, err = v.agreement(txn, id)
		return err
	})
	return a, err
}

// Agreements lists every agreement.
func (v *Vault) Agreements(ctx context.Context) ([]*Agreement, error) {
	var out []*Agreement
	err := v.view(func(txn kv.Txn) (err error) {
		out, err = v.agreementsIn(txn)
		return err
	})
	return out, err
}

// agreementsIn folds every agreement's chain.
func (v *Vault) agreementsIn(txn kv.Txn) ([]*Agreement, error) {
	var ids []string
	if err := scan(txn, pAgreement, func(_ string, h *agreementHead) error {
		ids = append(ids, h.ID)
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]*Agreement, 0, len(ids))
	for _, id := range ids {
		a, err := v.agreement(txn, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// agreementsFor is the agreement with agreementID, or every agreement when
// it is empty.
func (v *Vault) agreementsFor(ctx context.Context, agreementID string) ([]*Agreement, error) {
	if agreementID == "" {
		return v.Agreements(ctx)
	}
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return nil, err
	}
	return []*Agreement{a}, nil
}

// parseAgreement parses an agreement file and checks its participants.
func (v *Vault) parseAgreement(txn kv.Txn, text []byte) (*agreement.Agreement, error) {
	parsed, err := agreement.Parse(text)
	if err != nil {
		return nil, invalid("%v", err)
	}
	err = parsed.CheckParticipants(func(name string) (string, bool) {
		p, err := v.participant(txn, name)
		if err != nil {
			return "", false
		}
		return string(p.Role), true
	})
	if err != nil {
		return nil, invalid("%v", err)
	}
	return parsed, nil
}

// textBlob is the blob id of a version's text. Texts are sealed like notes,
// in a bucket of their agreement's own, so that they can be destroyed with
// it.
func textBlob(agreementID string, version int) string {
	return agreementID + ".v" + strconv.Itoa(version)
}

// sealText encrypts an agreement file to its parties' registered keys and
// stores it; it returns the hash the propose fact commits to.
func (v *Vault) sealText(txn kv.Txn, id string, version int, parsed *agreement.Agreement, text []byte, next map[string]identity.PublicKey) (string, error) {
	names := append([]string{parsed.Mentor, parsed.Mentee}, parsed.Supervisors...)
	rs, err := v.registeredRecipients(txn, names, next)
	if err != nil {
		return "", err
	}
	ageFile, err := encryptTo(text, rs)
	if err != nil {
		return "", err
	}
	if _, err := v.putBlob(txn, textBlob(id, version), id, ageFile); err != nil {
		return "", err
	}
	sum := sha256.Sum256(ageFile)
	return hex.EncodeToString(sum[:]), nil
}

// openText decrypts a version's text with id and checks it is the text the
// chain committed to and that it states the recorded terms.
func (v *Vault) openText(txn kv.Txn, a *Agreement, ver *AgreementVersion, id *identity.Identity) ([]byte, error) {
	what := fmt.Sprintf("agreement %s version %d", a.ID, ver.Version)
	ageFile, err := v.getBlob(txn, textBlob(a.ID, ver.Version))
	if err != nil {
		return nil, integrity(what, "its text cannot be read (%v)", err)
	}
	sum := sha256.Sum256(ageFile)
	if hex.EncodeToString(sum[:]) != ver.textHash {
		return nil, integrity(what, "its text is not the one its parties saw")
	}
	text, err := decryptWith(ageFile, id)
	if err != nil {
		return nil, err
	}
	// The text is read under the schema it was written with: a kind or a
	// field added since never makes an old text fail.
	parsed, err := agreement.ParseSchema(text, ver.Schema)
	if err != nil || !termsOf(parsed).equal(termsOf(ver.Parsed)) {
		return nil, integrity(what, "its text does not state its recorded terms")
	}
	// A schedule was recorded with versions proposed since schedules were:
	// the text must state the same one.
	if every, err := reviewSchedule(parsed); ver.ReviewEvery != 0 && (err != nil || every != ver.ReviewEvery) {
		return nil, integrity(what, "its text does not state its recorded review schedule")
	}
	return text, nil
}

// AgreementText returns the full text of a version (0: the newest) for one
// of its parties.
func (v *Vault) AgreementText(ctx context.Context, agreementID string, version int, id *identity.Identity) (string, error) {
	var text []byte
	err := v.view(func(txn kv.Txn) error {
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a := act.agreement
		ver := a.Latest()
		if version != 0 {
			if ver = a.Version(version); ver == nil {
				return notFound(fmt.Sprintf("agreement %s version", a.ID), strconv.Itoa(version))
			}
		}
		if d := policy.ReadAgreementText(act.me.Name, a.Terms(ver)); !d.Allowed() {
			return denied(d)
		}
		text, err = v.openText(txn, a, ver, id)
		return err
	})
	return string(text), err
}

// CreateAgreement stores version 1 of a new agreement, its text encrypted
// to its parties. Nobody has accepted it yet: notes can be written under it
// once mentor and mentee both have.
func (v *Vault) CreateAgreement(ctx context.Context, text []byte) (*Agreement, error) {
	id, err := v.newID("a")
	if err != nil {
		return nil, err
	}
	var a *Agreement
	err = v.update(func(txn kv.Txn) error {
		parsed, err := v.parseAgreement(txn, text)
		if err != nil {
			return err
		}
		now := v.Now()
		a = &Agreement{ID: id, Created: now, adjust: v.termsHook}
		if err := put(txn, pAgreement+id, agreementHead{ID: id, Created: now}); err != nil {
			return err
		}
		review, err := reviewField(parsed)
		if err != nil {
			return err
		}
		sum, err := v.sealText(txn, id, 1, parsed, text, nil)
		if err != nil {
			return err
		}
		_, err = v.appendFact(txn, a, factPropose, proposeBody{Version: 1, Terms: termsOf(parsed), Text: sum, Schema: parsed.Schema, Review: review}, nil, ActorVault,
			&audit.Record{Actor: ActorVault, Action: "agreement.create", Subject: id,
				Detail: map[string]string{"version": "1", "mentor": parsed.Mentor, "mentee": parsed.Mentee}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// pinsFor returns the fingerprints of the registered keys of a version's
// parties, refusing a key without a valid proof of possession; next gives
// the keys of parties whose key changes in this transaction.
func (v *Vault) pinsFor(txn kv.Txn, a *Agreement, ver *AgreementVersion, next map[string]identity.PublicKey) (map[string]string, error) {
	pins := map[string]string{}
	for _, name := range a.parties(ver) {
		if k, ok := next[name]; ok {
			pins[name] = k.Fingerprint()
			continue
		}
		p, err := v.participant(txn, name)
		if err != nil {
			return nil, err
		}
		pins[name] = p.Public.Fingerprint()
	}
	return pins, nil
}

// accept appends me's acceptance of the newest version, pinning every
// party's key. The acceptor reads the text first: what they sign is what
// they could read; with reviewed, it must be exactly that text. When the
// other party accepted already, the keys must be the ones they pinned.
func (v *Vault) accept(txn kv.Txn, a *Agreement, me *Participant, id *identity.Identity, action string, reviewed []byte, next map[string]identity.PublicKey) error {
	ver := a.Latest()
	var text []byte
	var err error
	if _, moving := next[me.Name]; moving {
		// The acceptor's own key changes in this transaction and the text
		// was just sealed to the new one: what they sign is what they
		// proposed (reviewed).
		text = bytes.Clone(reviewed)
	} else if text, err = v.openText(txn, a, ver, id); err != nil {
		return err
	}
	same := reviewed == nil || bytes.Equal(text, reviewed)
	clear(text)
	if !same {
		return invalid("version %d of agreement %s is not the text you reviewed: nothing was accepted; read it with notevault agreement show %s -i FILE", ver.Version, a.ID, a.ID)
	}
	pins, err := v.pinsFor(txn, a, ver, next)
	if err != nil {
		return err
	}
	for _, other := range ver.Acceptances {
		for name, fp := range other.Pins {
			if pins[name] != fp {
				return integrity("participant "+name, "the stored key (%s) is not the one %s pinned accepting version %d (%s)", pins[name], other.Who, ver.Version, fp)
			}
		}
	}
	// A party an earlier version in force pinned keeps that key: accepting
	// an amendment never re-pins one that changed in the store, only one a
	// signed rotate or replace fact moved (keychange.go).
	for _, name := range a.parties(ver) {
		if fp, ok := a.keyPins[name]; ok && pins[name] != fp && a.moved[name].FP != pins[name] {
			return integrity("participant "+name, "the stored key (%s) is not the one pinned when agreement %s was last in force (%s)", pins[name], a.ID, fp)
		}
	}
	_, err = v.appendFact(txn, a, factAccept, acceptBody{Version: ver.Version, Pins: pins}, id, me.Name,
		&audit.Record{Actor: me.Name, Action: action, Subject: a.ID,
			Detail: map[string]string{"version": strconv.Itoa(ver.Version)}})
	return err
}

// AcceptAgreement records id's signed acceptance of the newest version.
// Only the mentor and the mentee accept.
func (v *Vault) AcceptAgreement(ctx context.Context, agreementID string, id *identity.Identity) (*AgreementVersion, error) {
	return v.AcceptReviewed(ctx, agreementID, nil, id)
}

// AcceptReviewed is AcceptAgreement bound to the text the acceptor
// reviewed: it accepts only if the newest version's text is byte for byte
// reviewed (nil: whatever the newest version says).
func (v *Vault) AcceptReviewed(ctx context.Context, agreementID string, reviewed []byte, id *identity.Identity) (*AgreementVersion, error) {
	var ver *AgreementVersion
	err := v.update(func(txn kv.Txn) error {
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		ver = a.Latest()
		if d := policy.Accept(me.Name, a.Terms(ver)); !d.Allowed() {
			return denied(d)
		}
		if ver.Ended != "" {
			return invalid("version %d of agreement %s was %s by %s at %s: there is nothing to accept; propose an amendment instead", ver.Version, a.ID, ver.Ended, ver.EndedBy, policy.FormatTime(ver.EndedAt))
		}
		if ver.AcceptedBy(me.Name) && ver == a.inForce && len(a.moved) > 0 {
			// A party's key changed (a supervisor's rotation, say) and
			// nobody has proposed the version that pins it: propose the
			// text in force again and accept it.
			if err := v.repin(txn, a, me, id, nil); err != nil {
				return err
			}
			ver = a.Latest()
			return nil
		}
		if ver.AcceptedBy(me.Name) {
			return invalid("%s already accepted version %d of agreement %s", me.Name, ver.Version, a.ID)
		}
		return v.accept(txn, a, me, id, "agreement.accept", reviewed, nil)
	})
	if err != nil {
		return nil, err
	}
	if ver.AcceptedByBoth() {
		// An amendment in force may have narrowed access: grants that no
		// longer fit end now, and their copies go with them.
		if _, err := v.SweepGrants(ctx); err != nil {
			return ver, err
		}
	}
	return ver, nil
}

// propose seals text as the agreement's next version, appends me's signed
// proposal of it and me's acceptance. next gives the keys of parties whose
// key changes in this transaction; detail adds to the audit record.
func (v *Vault) propose(txn kv.Txn, a *Agreement, me *Participant, id *identity.Identity, parsed *agreement.Agreement, text []byte, next map[string]identity.PublicKey, detail map[string]string) error {
	review, err := reviewField(parsed)
	if err != nil {
		return err
	}
	n := len(a.Versions) + 1
	sum, err := v.sealText(txn, a.ID, n, parsed, text, next)
	if err != nil {
		return err
	}
	d := map[string]string{"version": strconv.Itoa(n)}
	maps.Copy(d, detail)
	if _, err := v.appendFact(txn, a, factPropose, proposeBody{Version: n, Terms: termsOf(parsed), Text: sum, Schema: parsed.Schema, Review: review}, id, me.Name,
		&audit.Record{Actor: me.Name, Action: "agreement.amend", Subject: a.ID, Detail: d}); err != nil {
		return err
	}
	return v.accept(txn, a, me, id, "agreement.accept", text, next)
}

// AmendAgreement proposes a new version. The proposer (mentor or mentee)
// accepts it by proposing; it comes into force when the other party accepts
// too. Until then the previous version stays in force. Mentor and mentee
// cannot change: that is a new agreement.
func (v *Vault) AmendAgreement(ctx context.Context, agreementID string, text []byte, id *identity.Identity) (*AgreementVersion, error) {
	var ver *AgreementVersion
	err := v.update(func(txn kv.Txn) error {
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		prev := a.Latest()
		if d := policy.Amend(me.Name, a.Terms(prev)); !d.Allowed() {
			return denied(d)
		}
		parsed, err := v.parseAgreement(txn, text)
		if err != nil {
			return err
		}
		if parsed.Mentor != prev.Parsed.Mentor || parsed.Mentee != prev.Parsed.Mentee {
			return invalid("an amendment cannot change the mentor or the mentee; create a new agreement instead")
		}
		if err := v.propose(txn, a, me, id, parsed, text, nil, nil); err != nil {
			return err
		}
		ver = a.Latest()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ver, nil
}
