package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Closure is the end of an agreement: a signed close fact by its mentor or
// its mentee. From then on policy refuses notes, consents, grants,
// amendments and acceptances under it; its grants end (their copies are
// destroyed), its consents lapse, and every note expires no later than At
// plus the after_close of the version in force. Reason is filled only for
// the mentor or the mentee (it is sealed to them).
type Closure struct {
	By         string        `json:"by"`
	At         time.Time     `json:"at"`
	Reason     string        `json:"reason,omitempty"`
	AfterClose time.Duration `json:"-"`

	reasonHash string
}

// Anchor says that a note's expiry was cut short by its agreement's close.
type Anchor struct {
	Closed     time.Time     `json:"closed"`
	AfterClose time.Duration `json:"after_close"`
	Signed     time.Time     `json:"signed_expiry"` // the expiry the author signed
}

// closeReasonBlob is the blob id of a close's sealed reason.
func closeReasonBlob(agreementID string) string { return agreementID + ".close" }

// Closure returns the agreement's close, or nil while it is open.
func (a *Agreement) Closure() *Closure { return a.closure }

// closedTo refuses, in the fold, what a closed agreement no longer takes.
func (a *Agreement) closedTo(f *fact) error {
	if a.closure == nil {
		return nil
	}
	switch f.Type {
	case factPropose, factAccept, factConsent, factGrant, factClose:
		return fmt.Errorf("it is a %s after the agreement was closed at %s", f.Type, policy.FormatTime(a.closure.At))
	}
	return nil
}

// foldClose applies a verified close fact. Consents lapse at the close;
// grants end by policy (checkGrant denies under closed terms).
func (a *Agreement) foldClose(f *fact) error {
	var b closeBody
	if err := f.decode(&b); err != nil {
		return err
	}
	if d := policy.CloseAgreement(f.Actor, a.termsInForce()); !d.Allowed() {
		return fmt.Errorf("policy did not allow it (%s)", d)
	}
	var after time.Duration
	if a.inForce != nil {
		after = a.Terms(a.inForce).AfterClose
	}
	a.closure = &Closure{By: f.Actor, At: f.At, AfterClose: after, reasonHash: b.Reason}
	for i := range a.consents {
		c := &a.consents[i]
		if c.Until.IsZero() || c.Until.After(f.At) {
			c.Until = f.At
		}
	}
	return nil
}

// anchor sets n's Expires to its anchored expiry when the close cut it
// short. It needs only the signed chain and the note's signed metadata, so
// the sweep (which holds no key) computes it too.
func (a *Agreement) anchor(n *Note) {
	n.Anchor = nil
	signed := n.signedExpiry()
	n.Expires = signed
	if a.closure == nil {
		return
	}
	t := policy.Terms{Closed: a.closure.At, AfterClose: a.closure.AfterClose}
	if due, ok := policy.AnchoredExpiry(signed, t); ok {
		n.Expires = due
		n.Anchor = &Anchor{Closed: a.closure.At, AfterClose: a.closure.AfterClose, Signed: signed}
	}
}

// signedExpiry is the expiry the note's author signed.
func (n *Note) signedExpiry() time.Time {
	if n.rec != nil {
		return n.rec.Meta.Expires
	}
	return n.Expires
}

// CloseAgreement ends an agreement, as a close fact signed by its mentor or
// its mentee, with an optional reason sealed to both. In the same
// transaction every note's expiry-index entry moves to its anchored expiry;
// then the copies of every grant are destroyed before it returns.
func (v *Vault) CloseAgreement(ctx context.Context, agreementID, reason string, id *identity.Identity) (*Closure, error) {
	var c *Closure
	var grants []string
	err := v.update(func(txn kv.Txn) error {
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		if d := policy.CloseAgreement(me.Name, a.termsInForce()); !d.Allowed() {
			return denied(d)
		}
		body := closeBody{}
		if reason != "" {
			t := a.termsInForce()
			rs, err := v.pinnedRecipients(txn, a, []string{t.Mentor, t.Mentee})
			if err != nil {
				return err
			}
			sealed, err := encryptTo([]byte(reason), rs)
			if err != nil {
				return err
			}
			if _, err := v.putBlob(txn, closeReasonBlob(a.ID), a.ID, sealed); err != nil {
				return err
			}
			sum := sha256.Sum256(sealed)
			body.Reason = hex.EncodeToString(sum[:])
		}
		for _, g := range a.grants {
			if g.RevokedAt.IsZero() && v.Now().Before(g.Expires) {
				grants = append(grants, g.ID)
			}
		}
		// The notes as they stand before the close, to re-file.
		notes, err := v.agreementNotes(txn, a)
		if err != nil {
			return err
		}
		if _, err := v.appendFact(txn, a, factClose, body, id, me.Name,
			&audit.Record{Actor: me.Name, Action: "agreement.close", Subject: a.ID, Rule: "close",
				Detail: map[string]string{"after_close": policy.FormatDuration(a.termsInForce().AfterClose),
					"grants_ended": strings.Join(grants, ","), "notes": fmt.Sprint(len(notes))}}); err != nil {
			return err
		}
		for _, n := range notes {
			old := n.Expires
			a.anchor(n)
			if n.Expires.Unix() == old.Unix() {
				continue
			}
			if err := txn.Delete([]byte(expiryKey(old.Unix(), n.ID))); err != nil {
				return err
			}
			if err := txn.Set([]byte(expiryKey(n.Expires.Unix(), n.ID)), nil); err != nil {
				return err
			}
		}
		c = a.closure
		c.Reason = reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Every grant ended with the close: its copies go now, whatever they
	// were (the sweep would find them too).
	if err := v.destroyGrantCopies(grants, "agreement-closed"); err != nil {
		return c, err
	}
	_, err = v.SweepGrants(ctx)
	return c, err
}

// agreementNotes returns the verified notes of agreement a.
func (v *Vault) agreementNotes(txn kv.Txn, a *Agreement) ([]*Note, error) {
	var out []*Note
	// The authors' records are parsed once, not once per note.
	people := map[string]*Participant{}
	participant := func(name string) (*Participant, error) {
		if p, ok := people[name]; ok {
			return p, nil
		}
		p, err := v.participant(txn, name)
		if err == nil {
			people[name] = p
		}
		return p, err
	}
	err := scan(txn, pNote, func(_ string, rec *noteRec) error {
		if rec.Meta.Agreement != a.ID {
			return nil
		}
		n := rec.note()
		if err := verifyNoteBy(a, n, participant); err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	return out, err
}

// CloseReason returns the reason an agreement was closed with, for its
// mentor or its mentee.
func (v *Vault) CloseReason(ctx context.Context, agreementID string, id *identity.Identity) (*Closure, error) {
	var c *Closure
	err := v.view(func(txn kv.Txn) error {
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a := act.agreement
		if a.closure == nil {
			return invalid("agreement %s is open", a.ID)
		}
		cc := *a.closure
		c = &cc
		if cc.reasonHash == "" {
			return nil
		}
		t := a.termsInForce()
		if act.me.Name != t.Mentor && act.me.Name != t.Mentee {
			return nil
		}
		sealed, err := v.getBlob(txn, closeReasonBlob(a.ID))
		if err != nil {
			return integrity("agreement "+a.ID, "the reason it was closed with cannot be read (%v)", err)
		}
		sum := sha256.Sum256(sealed)
		if hex.EncodeToString(sum[:]) != cc.reasonHash {
			return integrity("agreement "+a.ID, "the reason it was closed with is not the one its close committed to")
		}
		plain, err := decryptWith(sealed, id)
		if err != nil {
			return err
		}
		c.Reason = string(plain)
		return nil
	})
	return c, err
}
