package vault

import (
	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/vault/identity"
)

// action is what every user action starts from, loaded and verified once per
// transaction by begin: who is acting, and the agreement they act on, folded
// from its verified chain (terms in force, consents, grants, disclosures,
// holds). Every decision is then policy's, on these facts.
type action struct {
	me        *Participant
	agreement *Agreement
}

// begin loads the actor behind id and the agreement.
func (v *Vault) begin(txn kv.Txn, id *identity.Identity, agreementID string) (*action, error) {
	me, err := v.whoami(txn, id)
	if err != nil {
		return nil, err
	}
	a, err := v.agreement(txn, agreementID)
	if err != nil {
		return nil, err
	}
	return &action{me: me, agreement: a}, nil
}

// beginNote is begin for an action on a note: the note is loaded and
// verified against its agreement's chain (author's signature under the
// pinned key, readers and expiry as the terms it was written under give).
func (v *Vault) beginNote(txn kv.Txn, id *identity.Identity, noteID string) (*action, *Note, error) {
	me, err := v.whoami(txn, id)
	if err != nil {
		return nil, nil, err
	}
	n, a, err := v.verifiedNote(txn, noteID)
	if err != nil {
		return nil, nil, err
	}
	return &action{me: me, agreement: a}, n, nil
}
