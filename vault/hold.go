package vault

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Hold is a legal hold: while it is active, the notes it covers are not
// destroyed, whatever their retention says.
type Hold struct {
	ID         string    `json:"id"`
	Agreement  string    `json:"agreement"`
	Note       string    `json:"note,omitempty"` // empty: the whole agreement
	Reason     string    `json:"reason"`
	PlacedBy   string    `json:"placed_by"`
	At         time.Time `json:"at"`
	ReleasedBy string    `json:"released_by,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitempty"`
	Sig        []byte    `json:"sig"`
}

// Active reports whether the hold still applies.
func (h *Hold) Active() bool { return h.ReleasedAt.IsZero() }

func holdSigBytes(h Hold) []byte {
	h.Sig, h.ReleasedBy, h.ReleasedAt = nil, "", time.Time{}
	return sigBytes("hold", h)
}

// AddHold places a legal hold on one note or on every note of an agreement
// (including notes written while the hold lasts). Exactly one of agreementID
// and noteID is given.
func (v *Vault) AddHold(ctx context.Context, agreementID, noteID, reason string, id *identity.Identity) (*Hold, error) {
	if (agreementID == "") == (noteID == "") {
		return nil, invalid("a hold covers either an agreement or a note: give exactly one")
	}
	if reason == "" {
		return nil, invalid("a hold needs a reason")
	}
	hid, err := v.newID("h")
	if err != nil {
		return nil, err
	}
	var h *Hold
	err = v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		if noteID != "" {
			n, err := v.note(txn, noteID)
			if err != nil {
				return err
			}
			agreementID = n.Agreement
		}
		a, err := v.agreement(txn, agreementID)
		if err != nil {
			return err
		}
		if d := policy.PlaceHold(me.Name, a.Terms(a.Latest())); !d.Allowed() {
			return denied(d)
		}
		h = &Hold{ID: hid, Agreement: agreementID, Note: noteID, Reason: reason, PlacedBy: me.Name, At: v.Now()}
		h.Sig = id.Sign(holdSigBytes(*h))
		if err := put(txn, pHold+hid, h); err != nil {
			return err
		}
		if err := v.eachHeldNote(txn, h, func(n *Note) error {
			n.Holds = append(n.Holds, hid)
			return put(txn, pNote+n.ID, n)
		}); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "hold.add", Agreement: agreementID, Subject: hid,
			Rule: "hold", Detail: map[string]string{"note": noteID, "reason": reason}}, id)
	})
	return h, err
}

// ReleaseHold ends a hold; the next sweep destroys what is overdue.
func (v *Vault) ReleaseHold(ctx context.Context, holdID string, id *identity.Identity) error {
	return v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		var h Hold
		if err := getRecord(txn, pHold, "hold", holdID, &h); err != nil {
			return err
		}
		if !h.Active() {
			return invalid("hold %s was already released at %s", h.ID, policy.FormatTime(h.ReleasedAt))
		}
		a, err := v.agreement(txn, h.Agreement)
		if err != nil {
			return err
		}
		if d := policy.ReleaseHold(me.Name, h.PlacedBy, a.Terms(a.Latest())); !d.Allowed() {
			return denied(d)
		}
		h.ReleasedBy, h.ReleasedAt = me.Name, v.Now()
		if err := put(txn, pHold+holdID, &h); err != nil {
			return err
		}
		if err := v.eachHeldNote(txn, &h, func(n *Note) error {
			n.Holds = slices.DeleteFunc(n.Holds, func(x string) bool { return x == holdID })
			return put(txn, pNote+n.ID, n)
		}); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "hold.release", Agreement: h.Agreement, Subject: holdID,
			Rule: "release"}, id)
	})
}

func (v *Vault) eachHeldNote(txn *badger.Txn, h *Hold, fn func(*Note) error) error {
	if h.Note != "" {
		n, err := v.note(txn, h.Note)
		if err != nil {
			return err
		}
		return fn(n)
	}
	var notes []*Note
	if err := scan(txn, pNote, func(_ string, n *Note) error {
		if n.Agreement == h.Agreement {
			notes = append(notes, n)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, n := range notes {
		if err := fn(n); err != nil {
			return err
		}
	}
	return nil
}

// activeAgreementHolds returns the ids of active holds on a whole agreement.
func (v *Vault) activeAgreementHolds(txn *badger.Txn, agreementID string) ([]string, error) {
	var out []string
	err := scan(txn, pHold, func(_ string, h *Hold) error {
		if h.Agreement == agreementID && h.Note == "" && h.Active() {
			out = append(out, h.ID)
		}
		return nil
	})
	return out, err
}

// Holds lists holds, newest last; with agreementID, that agreement's only.
func (v *Vault) Holds(ctx context.Context, agreementID string) ([]*Hold, error) {
	var out []*Hold
	err := v.view(func(txn *badger.Txn) error {
		return scan(txn, pHold, func(_ string, h *Hold) error {
			if agreementID == "" || h.Agreement == agreementID {
				out = append(out, h)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, err
}
