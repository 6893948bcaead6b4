package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Agreement is a mentoring agreement with every version on record.
type Agreement struct {
	ID       string              `json:"id"`
	Created  time.Time           `json:"created"`
	Versions []*AgreementVersion `json:"versions"`
}

// AgreementVersion is one version: the file as written, who proposed it, and
// the signed acceptances it has.
type AgreementVersion struct {
	Version     int                  `json:"version"`
	Text        string               `json:"text"`
	ProposedBy  string               `json:"proposed_by,omitempty"`
	ProposedAt  time.Time            `json:"proposed_at"`
	Acceptances []*Acceptance        `json:"acceptances,omitempty"`
	Parsed      *agreement.Agreement `json:"-"`
}

// Acceptance is a participant's signed acceptance of a version.
type Acceptance struct {
	Who      string    `json:"who"`
	At       time.Time `json:"at"`
	Sig      []byte    `json:"sig"`
	Verified bool      `json:"-"`
}

func acceptanceBytes(id string, ver *AgreementVersion, who string, at time.Time) []byte {
	sum := sha256.Sum256([]byte(ver.Text))
	return []byte("notevault agreement acceptance v1\n" + id + "\n" + strconv.Itoa(ver.Version) + "\n" +
		hex.EncodeToString(sum[:]) + "\n" + who + "\n" + at.UTC().Format(time.RFC3339Nano) + "\n")
}

// Current returns the newest version that both mentor and mentee accepted
// with valid signatures, or nil.
func (a *Agreement) Current() *AgreementVersion {
	for i := len(a.Versions) - 1; i >= 0; i-- {
		if ver := a.Versions[i]; ver.AcceptedByBoth() {
			return ver
		}
	}
	return nil
}

// Latest returns the newest version, accepted or not.
func (a *Agreement) Latest() *AgreementVersion { return a.Versions[len(a.Versions)-1] }

// Version returns version n, or nil.
func (a *Agreement) Version(n int) *AgreementVersion {
	if n < 1 || n > len(a.Versions) {
		return nil
	}
	return a.Versions[n-1]
}

// AcceptedBy reports whether name accepted this version (valid signature).
func (ver *AgreementVersion) AcceptedBy(name string) bool {
	for _, ac := range ver.Acceptances {
		if ac.Who == name && ac.Verified {
			return true
		}
	}
	return false
}

// AcceptedByBoth reports whether mentor and mentee both accepted.
func (ver *AgreementVersion) AcceptedByBoth() bool {
	return ver.AcceptedBy(ver.Parsed.Mentor) && ver.AcceptedBy(ver.Parsed.Mentee)
}

// Terms is the version reduced to what policy decides on.
func (a *Agreement) Terms(ver *AgreementVersion) policy.Terms {
	return ver.Parsed.Terms(a.ID, ver.Version)
}

// load parses every version and verifies every acceptance signature.
func (a *Agreement) load(txn *badger.Txn, v *Vault) error {
	for _, ver := range a.Versions {
		parsed, err := agreement.Parse([]byte(ver.Text))
		if err != nil {
			return fmt.Errorf("agreement %s version %d: stored text no longer parses: %w", a.ID, ver.Version, err)
		}
		ver.Parsed = parsed
		for _, ac := range ver.Acceptances {
			p, err := v.participant(txn, ac.Who)
			ac.Verified = err == nil && p.Public.Verify(acceptanceBytes(a.ID, ver, ac.Who, ac.At), ac.Sig)
		}
	}
	return nil
}

func (v *Vault) agreement(txn *badger.Txn, id string) (*Agreement, error) {
	var a Agreement
	if err := getRecord(txn, pAgreement, "agreement", id, &a); err != nil {
		return nil, err
	}
	return &a, a.load(txn, v)
}

// GetAgreement returns an agreement with every version.
func (v *Vault) GetAgreement(ctx context.Context, id string) (*Agreement, error) {
	var a *Agreement
	err := v.view(func(txn *badger.Txn) (err error) {
		a, err = v.agreement(txn, id)
		return err
	})
	return a, err
}

// Agreements lists every agreement.
func (v *Vault) Agreements(ctx context.Context) ([]*Agreement, error) {
	var out []*Agreement
	err := v.view(func(txn *badger.Txn) error {
		return scan(txn, pAgreement, func(_ string, a *Agreement) error {
			if err := a.load(txn, v); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

func (v *Vault) parseAgreement(txn *badger.Txn, text []byte) (*agreement.Agreement, error) {
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

// CreateAgreement stores version 1 of a new agreement. Nobody has accepted it
// yet: notes can be written under it once mentor and mentee both have.
func (v *Vault) CreateAgreement(ctx context.Context, text []byte) (*Agreement, error) {
	id, err := v.newID("a")
	if err != nil {
		return nil, err
	}
	a := &Agreement{ID: id, Created: v.Now()}
	err = v.update(func(txn *badger.Txn) error {
		parsed, err := v.parseAgreement(txn, text)
		if err != nil {
			return err
		}
		a.Versions = []*AgreementVersion{{Version: 1, Text: string(text), ProposedAt: a.Created, Parsed: parsed}}
		if err := put(txn, pAgreement+id, a); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: ActorVault, Action: "agreement.create", Agreement: id, Subject: id,
			Detail: map[string]string{"version": "1", "mentor": parsed.Mentor, "mentee": parsed.Mentee}}, nil)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AcceptAgreement records id's signed acceptance of the newest version.
// Only the mentor and the mentee accept.
func (v *Vault) AcceptAgreement(ctx context.Context, agreementID string, id *identity.Identity) (*AgreementVersion, error) {
	var ver *AgreementVersion
	err := v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		a, err := v.agreement(txn, agreementID)
		if err != nil {
			return err
		}
		ver = a.Latest()
		if me.Name != ver.Parsed.Mentor && me.Name != ver.Parsed.Mentee {
			return denied(policy.Decision{Outcome: policy.Deny, Rule: "not-party",
				Reason: fmt.Sprintf("only the mentor (%s) and the mentee (%s) accept agreement %s; %s is neither", ver.Parsed.Mentor, ver.Parsed.Mentee, a.ID, me.Name)})
		}
		if ver.AcceptedBy(me.Name) {
			return invalid("%s already accepted version %d of agreement %s", me.Name, ver.Version, a.ID)
		}
		at := v.Now()
		ver.Acceptances = append(ver.Acceptances, &Acceptance{Who: me.Name, At: at, Sig: id.Sign(acceptanceBytes(a.ID, ver, me.Name, at)), Verified: true})
		if err := put(txn, pAgreement+a.ID, a); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "agreement.accept", Agreement: a.ID, Subject: a.ID,
			Detail: map[string]string{"version": strconv.Itoa(ver.Version), "in_force": strconv.FormatBool(ver.AcceptedByBoth())}}, id)
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

// AmendAgreement proposes a new version. The proposer (mentor or mentee)
// accepts it by proposing; it comes into force when the other party accepts
// too. Until then the previous version stays in force. Mentor and mentee
// cannot change: that is a new agreement.
func (v *Vault) AmendAgreement(ctx context.Context, agreementID string, text []byte, id *identity.Identity) (*AgreementVersion, error) {
	var ver *AgreementVersion
	err := v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		a, err := v.agreement(txn, agreementID)
		if err != nil {
			return err
		}
		prev := a.Latest().Parsed
		if me.Name != prev.Mentor && me.Name != prev.Mentee {
			return denied(policy.Decision{Outcome: policy.Deny, Rule: "not-party",
				Reason: fmt.Sprintf("only the mentor (%s) and the mentee (%s) amend agreement %s; %s is neither", prev.Mentor, prev.Mentee, a.ID, me.Name)})
		}
		parsed, err := v.parseAgreement(txn, text)
		if err != nil {
			return err
		}
		if parsed.Mentor != prev.Mentor || parsed.Mentee != prev.Mentee {
			return invalid("an amendment cannot change the mentor or the mentee; create a new agreement instead")
		}
		at := v.Now()
		ver = &AgreementVersion{Version: len(a.Versions) + 1, Text: string(text), ProposedBy: me.Name, ProposedAt: at, Parsed: parsed}
		ver.Acceptances = []*Acceptance{{Who: me.Name, At: at, Sig: id.Sign(acceptanceBytes(a.ID, ver, me.Name, at)), Verified: true}}
		a.Versions = append(a.Versions, ver)
		if err := put(txn, pAgreement+a.ID, a); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "agreement.amend", Agreement: a.ID, Subject: a.ID,
			Detail: map[string]string{"version": strconv.Itoa(ver.Version)}}, id)
	})
	if err != nil {
		return nil, err
	}
	return ver, nil
}
