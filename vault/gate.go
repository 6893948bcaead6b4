package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
)

// ServerGate is the policy a server (notevault serve) applies to the
// sealed copies it hands out. Every client decides a read itself before it
// fetches a copy, and a copy opens only with its reader's key; the gate is
// the server's own check on top, for a client that does not ask first (a
// modified client, or one whose clock is wrong): a copy made for someone
// outside a note's readers, a supervisor's under a grant or a recipient's
// under a disclosure, is handed to that person only while the policy lets
// them read the note through it. A supervisor whose grant ended is refused
// its copy, not handed a ciphertext their key still opens.
//
// Anyone else asking for such a copy gets it: it is sealed to its reader
// alone, and the participants who delete and re-wrap notes and run
// notevault check read every copy in a bucket. A note's own copy is never
// refused to its readers, whom the policy allows until the note expires
// and the sweep destroys it.
//
// The gate decides on the vault as the server holds it now, verifying the
// agreement's signed chain and the note's signature as a client does, but
// pinning nothing: it has no earlier view of the vault to hold the store
// to.
type ServerGate struct {
	store kv.Store
	now   func() time.Time
}

// NewServerGate is the gate over a server's store; now is its clock (nil:
// time.Now).
func NewServerGate(store kv.Store, now func() time.Time) *ServerGate {
	if now == nil {
		now = time.Now
	}
	return &ServerGate{store: store, now: now}
}

// Key decides whether the holder of who may be handed the record stored at
// key: "" when they may, otherwise the sentence that says why not. Only
// copies (c/<blob id>) are ever refused.
func (g *ServerGate) Key(ctx context.Context, who identity.PublicKey, key []byte) (string, error) {
	blob, ok := strings.CutPrefix(string(key), pBlob)
	if !ok {
		return "", nil
	}
	return g.Copy(ctx, who, blob)
}

// Copy decides whether the holder of who may be handed the copy blobID,
// as a record or as a payload: "" when they may, otherwise why not.
func (g *ServerGate) Copy(ctx context.Context, who identity.PublicKey, blobID string) (string, error) {
	var grantID, disclosureID, noteID string
	switch {
	case strings.HasPrefix(blobID, "g-"):
		grantID, noteID, _ = strings.Cut(blobID, ".")
	case strings.HasPrefix(blobID, "d-") && !strings.Contains(blobID, "."):
		// A disclosure's copy; its statement (d-….why) is sealed to the
		// discloser, the recipient and the mentee, whom nothing revokes.
		disclosureID = blobID
	default:
		return "", nil
	}
	v := &Vault{store: g.store, now: g.now}
	var refusal string
	err := v.view(func(txn kv.Txn) error {
		refusal = ""
		owner, err := keyOwner(txn, who)
		if err != nil || owner == nil {
			return err // not a participant: no copy opens with their key
		}
		name := owner.Name
		id := grantID
		if id == "" {
			id = disclosureID
		}
		agreementID, err := v.findFact(txn, id)
		if isNotFound(err) {
			return nil // a copy of nothing on record: no one it is for
		}
		if err != nil {
			return err
		}
		a, err := v.agreement(txn, agreementID)
		if err != nil {
			return err
		}
		if grantID != "" {
			i := slices.IndexFunc(a.grants, func(x policy.Grant) bool { return x.ID == grantID })
			if i < 0 || a.grants[i].Grantee != name {
				return nil
			}
		} else {
			i := slices.IndexFunc(a.disclosures, func(x policy.Disclosure) bool { return x.ID == disclosureID })
			if i < 0 || a.disclosures[i].To != name {
				return nil
			}
			noteID = a.disclosures[i].Note
		}
		n, err := v.note(txn, noteID)
		if isNotFound(err) {
			refusal = fmt.Sprintf("copy %s is of note %s, which is no longer in the vault", blobID, noteID)
			return nil
		}
		if err != nil {
			return err
		}
		if n.Agreement != a.ID {
			return integrity("copy "+blobID, "its note %s belongs to another agreement", noteID)
		}
		if err := v.verifyNote(txn, a, n); err != nil {
			return err
		}
		d := policy.Read(name, n.policy(), a.facts(n.ID), v.Now())
		switch {
		case !d.Allowed():
			refusal = d.String()
		case d.Rule != "reader" && copyFor(n, d) != blobID:
			refusal = fmt.Sprintf("%s reads note %s through %s now, not through copy %s", name, n.ID, copyFor(n, d), blobID)
		}
		return nil
	})
	return refusal, err
}

// Writer decides whether the holder of who may commit writes to the
// store: "" when they may, otherwise why not. A participant may, under
// their current key; so may anyone while the vault has no participant yet
// (the first registers themselves). An enrolled key that is no one's in
// the vault, a retired key and a removed participant's may not: enrolment
// lets a key talk to the server, registration by a participant lets it
// write.
func (g *ServerGate) Writer(ctx context.Context, who identity.PublicKey) (string, error) {
	txn, err := g.store.Begin(ctx, false)
	if err != nil {
		return "", err
	}
	defer txn.Discard()
	owner, err := keyOwner(txn, who)
	switch {
	case err != nil:
		return "", err
	case owner == nil:
		// Anyone while the vault has no participant: the first registers
		// themselves.
		var someone bool
		err := scanKeys(txn, pParticipant, func(string) error { someone = true; return errStopScan })
		if err != nil && !errors.Is(err, errStopScan) {
			return "", err
		}
		if !someone {
			return "", nil
		}
		return "the request's key is not a participant's in this vault: a participant registers it first (notevault participant add)", nil
	case !owner.Removed.IsZero():
		return fmt.Sprintf("participant %s was removed from this vault", owner.Name), nil
	case owner.Key != who.String():
		return fmt.Sprintf("the request's key is one participant %s retired", owner.Name), nil
	}
	return "", nil
}
