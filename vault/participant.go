package vault

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"filippo.io/age"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Participant is a registered person: a name, a role and a public key.
type Participant struct {
	Name   string             `json:"name"`
	Role   policy.Role        `json:"role"`
	Public identity.PublicKey `json:"-"`
	Key    string             `json:"key"`
	Added  time.Time          `json:"added"`
	// Removed is when the participant was removed while a party of closed
	// agreements (RemoveParticipant); zero while they are a participant.
	Removed time.Time `json:"removed,omitempty"`
	// Previous are the keys the participant used before Key, oldest first
	// (keychange.go). They stay on record to check what they signed and to
	// find the key an agreement still pins; the agreements' signed facts,
	// never this list, decide which key is pinned.
	Previous []RetiredKey `json:"previous,omitempty"`
}

// RetiredKey is a key a participant no longer uses for new work.
type RetiredKey struct {
	Key    string             `json:"key"`
	Until  time.Time          `json:"until"` // when the next key took over
	How    string             `json:"how"`   // "rotated" (the key itself signed the next) or "replaced" (another party vouched)
	Public identity.PublicKey `json:"-"`
}

// keyWith returns the participant's key, current or previous, whose
// fingerprint is fp.
func (p *Participant) keyWith(fp string) (identity.PublicKey, bool) {
	if p.Public.Fingerprint() == fp {
		return p.Public, true
	}
	for _, r := range p.Previous {
		if r.Public.Fingerprint() == fp {
			return r.Public, true
		}
	}
	return identity.PublicKey{}, false
}

// keyAt returns the key that was the participant's at t: the first retired
// key still in use then, or the current one.
func (p *Participant) keyAt(t time.Time) identity.PublicKey {
	for _, r := range p.Previous {
		if t.Before(r.Until) {
			return r.Public
		}
	}
	return p.Public
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`) })

// ValidName reports whether name can name a participant.
func ValidName(name string) error {
	if !nameRE().MatchString(name) {
		return invalid("participant name %q must be 1-32 lowercase letters, digits, '-' or '_', starting with a letter", name)
	}
	if name == ActorVault || name == ActorRetention {
		return invalid("participant name %q is reserved for the vault's own audit records", name)
	}
	return nil
}

// AddParticipant registers a participant. Names are unique; so are keys (one
// file is one person).
func (v *Vault) AddParticipant(ctx context.Context, name string, role policy.Role, key string) (*Participant, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if _, err := policy.ParseRole(string(role)); err != nil {
		return nil, invalid("%v", err)
	}
	pub, err := identity.ParsePublicKey(key)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if !pub.Bound() {
		return nil, invalid("that public key carries no proof of possession: print it again with notevault identity public -i FILE (this release adds the proof to the line)")
	}
	p := &Participant{Name: name, Role: role, Public: pub, Key: pub.String(), Added: v.Now()}
	err = v.update(func(txn kv.Txn) error {
		if q, err := v.participant(txn, name); err == nil {
			if !q.Removed.IsZero() {
				return invalid("participant %s was removed and stays on record to check the signatures of closed agreements: choose another name", name)
			}
			return fmt.Errorf("participant %s: %w", name, ErrExists)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var clash error
		if err := scan(txn, pParticipant, func(_ string, q *Participant) error {
			if q.Key == p.Key {
				clash = invalid("that key is already registered to %s: one identity is one person", q.Name)
			}
			return nil
		}); err != nil {
			return err
		}
		if clash != nil {
			return clash
		}
		if err := put(txn, pParticipant+name, p); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: ActorVault, Action: "participant.add", Subject: name,
			Detail: map[string]string{"role": string(role), "key": p.Fingerprint()}}, nil)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Participants lists every participant, by name.
func (v *Vault) Participants(ctx context.Context) ([]*Participant, error) {
	var out []*Participant
	err := v.view(func(txn kv.Txn) (err error) {
		out, err = v.participantsIn(txn, false)
		return err
	})
	return out, err
}

// participantsIn lists the participants, by name; withRemoved adds those
// removed but kept on record, whose keys still check old signatures.
func (v *Vault) participantsIn(txn kv.Txn, withRemoved bool) ([]*Participant, error) {
	var out []*Participant
	err := scan(txn, pParticipant, func(k string, p *Participant) error {
		if p.Name != strings.TrimPrefix(k, pParticipant) {
			return integrity("participant "+strings.TrimPrefix(k, pParticipant), "its record is stored under another name")
		}
		if err := p.load(); err != nil {
			return err
		}
		if !withRemoved && !p.Removed.IsZero() {
			return nil
		}
		out = append(out, p)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func (p *Participant) load() error {
	pub, err := identity.ParsePublicKey(p.Key)
	if err != nil {
		return integrity("participant "+p.Name, "the stored key does not parse")
	}
	if !pub.Bound() {
		return integrity("participant "+p.Name, "the stored key fails its proof of possession")
	}
	p.Public = pub
	for i := range p.Previous {
		r := &p.Previous[i]
		if r.Public, err = identity.ParsePublicKey(r.Key); err != nil || !r.Public.Bound() {
			return integrity("participant "+p.Name, "a previous key does not parse or fails its proof of possession")
		}
	}
	return nil
}

// Fingerprint is the participant's key fingerprint.
func (p *Participant) Fingerprint() string { return p.Public.Fingerprint() }

// registeredRecipients resolves names to the age recipients of their
// registered (bound) keys. Only an agreement's text is encrypted this way,
// before anyone has pinned anything; notes go to pinned keys only.
func (v *Vault) registeredRecipients(txn kv.Txn, names []string, next map[string]identity.PublicKey) ([]age.Recipient, error) {
	keys := make([]identity.PublicKey, len(names))
	for i, name := range names {
		if k, ok := next[name]; ok {
			keys[i] = k
			continue
		}
		p, err := v.participant(txn, name)
		if err != nil {
			return nil, err
		}
		keys[i] = p.Public
	}
	return ageRecipients(names, keys)
}

// pinnedRecipients resolves names to age recipients through the keys the
// version in force pinned: the stored key must still be the pinned one, or
// nothing is encrypted to it.
func (v *Vault) pinnedRecipients(txn kv.Txn, a *Agreement, names []string) ([]age.Recipient, error) {
	ver := a.Current()
	if d := policy.InForce(a.Terms(a.Latest()), ver != nil); !d.Allowed() {
		return nil, denied(d)
	}
	keys := make([]identity.PublicKey, len(names))
	for i, name := range names {
		pin, ok := ver.Pins[name]
		if !ok {
			// Callers encrypt only to readers policy named, all parties.
			return nil, fmt.Errorf("%s is not a party of agreement %s version %d, in force, and has no pinned key", name, a.ID, ver.Version)
		}
		p, err := v.participant(txn, name)
		if err != nil {
			return nil, err
		}
		// The pinned key, current or retired: until a version pinning a
		// changed key is in force, notes go to the one pinned.
		k, ok := p.keyWith(pin)
		if !ok {
			return nil, integrity("participant "+name, "the stored key (%s) no longer matches the key pinned by agreement %s version %d (%s); nothing was encrypted to it", p.Fingerprint(), a.ID, ver.Version, pin)
		}
		keys[i] = k
	}
	return ageRecipients(names, keys)
}

func ageRecipients(names []string, keys []identity.PublicKey) ([]age.Recipient, error) {
	if err := identity.CheckMix(names, keys); err != nil {
		return nil, invalid("%v", err)
	}
	out := make([]age.Recipient, len(keys))
	for i, k := range keys {
		r, err := k.AgeRecipient()
		if err != nil {
			return nil, fmt.Errorf("participant %s: %w", names[i], err)
		}
		out[i] = r
	}
	return out, nil
}

func (v *Vault) participant(txn kv.Txn, name string) (*Participant, error) {
	var p Participant
	if err := getRecord(txn, pParticipant, "participant", name, &p); err != nil {
		return nil, err
	}
	if p.Name != name {
		return nil, integrity("participant "+name, "its record is stored under another name")
	}
	return &p, p.load()
}

// Whoami returns the participant that id belongs to.
func (v *Vault) Whoami(ctx context.Context, id *identity.Identity) (*Participant, error) {
	var me *Participant
	err := v.view(func(txn kv.Txn) error {
		var err error
		me, err = v.whoami(txn, id)
		return err
	})
	return me, err
}

func (v *Vault) whoami(txn kv.Txn, id *identity.Identity) (*Participant, error) {
	if id == nil {
		return nil, ErrNotParticipant
	}
	me, err := keyOwner(txn, id.Public())
	if err != nil {
		return nil, err
	}
	if me == nil || !me.Removed.IsZero() {
		return nil, ErrNotParticipant
	}
	return me, nil
}

// keyOwner is the participant whose key, current or previous, pub is,
// whether or not they were removed since; nil for a key that is no one's
// in the vault.
func keyOwner(txn kv.Txn, pub identity.PublicKey) (*Participant, error) {
	// Keys print canonically (the proof is deterministic): compare the
	// lines, and load (checking the proof) only the one that matches.
	want := pub.String()
	var owner *Participant
	err := scan(txn, pParticipant, func(k string, p *Participant) error {
		if p.Key != want && !slices.ContainsFunc(p.Previous, func(r RetiredKey) bool { return r.Key == want }) {
			return nil
		}
		if err := p.load(); err != nil {
			return err
		}
		// The record's name must be the one it is stored under, and one key
		// is one person: otherwise an identity could act under a name that
		// is not its own.
		if name := strings.TrimPrefix(k, pParticipant); p.Name != name {
			return integrity("participant "+name, "its record is stored under another name")
		}
		if owner != nil {
			return integrity("participant "+p.Name, "its key is also registered to %s", owner.Name)
		}
		owner = p
		return nil
	})
	return owner, err
}

// RemoveParticipant removes a participant who is a party of no open
// agreement, and logs it. One who was never a party is deleted outright (the
// name is free again). One who is a party of closed agreements only stays
// on record as removed, key and all, so that the signatures of those
// agreements' chains can still be checked; a removed participant can no
// longer act, and the name is not given out again. A party of an open
// agreement is refused, naming the agreement: close it first.
func (v *Vault) RemoveParticipant(ctx context.Context, name string) (removed *Participant, kept bool, err error) {
	err = v.update(func(txn kv.Txn) error {
		p, err := v.participant(txn, name)
		if err != nil {
			return err
		}
		if !p.Removed.IsZero() {
			return invalid("participant %s was already removed at %s", name, p.Removed.UTC().Format(time.RFC3339))
		}
		as, err := v.agreementsIn(txn)
		if err != nil {
			return err
		}
		for _, a := range as {
			if !slices.ContainsFunc(a.Versions, func(ver *AgreementVersion) bool { return a.names(ver, name) }) {
				continue
			}
			if a.termsInForce().Closed.IsZero() {
				return invalid("participant %s is named by agreement %s, which is open: nothing was removed; either party ends it with notevault agreement close %s -i FILE", name, a.ID, a.ID)
			}
			kept = true
		}
		detail := map[string]string{"role": string(p.Role), "key": p.Fingerprint()}
		if kept {
			p.Removed = v.Now()
			detail["kept"] = "party of closed agreements"
			if err := put(txn, pParticipant+name, p); err != nil {
				return err
			}
		} else if err := txn.Delete([]byte(pParticipant + name)); err != nil {
			return err
		}
		removed = p
		return v.appendLog(txn, &audit.Record{Actor: ActorVault, Action: "participant.remove", Subject: name, Detail: detail}, nil)
	})
	if err != nil {
		return nil, false, err
	}
	return removed, kept, nil
}

// names reports whether version ver names name: as a party, a custodian or
// a recipient of an exception.
func (a *Agreement) names(ver *AgreementVersion, name string) bool {
	if slices.Contains(a.parties(ver), name) {
		return true
	}
	t := a.Terms(ver)
	if slices.Contains(t.Custodians, name) {
		return true
	}
	for _, rs := range t.ExceptionRecipients {
		if slices.Contains(rs, name) {
			return true
		}
	}
	return false
}
