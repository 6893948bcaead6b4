package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Hold is a legal hold: while it is active, the notes it covers are not
// destroyed, whatever their retention says. Holds are facts of their
// agreement's chain: a hold counts only if a party placed it and signed it,
// and it ends only by a signed release. Its reason is age-encrypted to the
// mentor, the mentee and whoever placed it (reasonBlob); Reason is filled
// only for one of them (see Holds).
type Hold struct {
	ID         string    `json:"id"`
	Agreement  string    `json:"agreement"`
	Note       string    `json:"note,omitempty"` // empty: the whole agreement
	Reason     string    `json:"reason,omitempty"`
	PlacedBy   string    `json:"placed_by"`
	At         time.Time `json:"at"`
	ReleasedBy string    `json:"released_by,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitzero"`
	// Review is when whoever placed the hold means it to be reviewed
	// (zero: no date). It ends nothing by itself: a hold ends only by a
	// signed release.
	Review time.Time `json:"review,omitzero"`

	reasonHash string
}

// ReviewDue reports whether an active hold's review date has come at now.
func (h *Hold) ReviewDue(now time.Time) bool {
	return h.Active() && !h.Review.IsZero() && !now.Before(h.Review)
}

// reasonBlob is the blob id of a hold's reason, sealed in its agreement's
// bucket.
func reasonBlob(holdID string) string { return holdID + ".reason" }

// Active reports whether the hold still applies.
func (h *Hold) Active() bool { return h.ReleasedAt.IsZero() }

// holdsOn returns the ids of the active holds that keep note noteID: those
// on the note and those on its whole agreement.
func (a *Agreement) holdsOn(noteID string) []string {
	var out []string
	for _, h := range a.holds {
		if h.Active() && (h.Note == "" || h.Note == noteID) {
			out = append(out, h.ID)
		}
	}
	return out
}

// HoldRequest is what PlaceHold is asked: a hold on one note or on every
// note of an agreement (exactly one of Agreement and Note), why, and
// optionally when it is to be reviewed.
type HoldRequest struct {
	Agreement, Note string
	Reason          string
	Review          time.Time // zero: no review date; otherwise in the future
}

// AddHold places a legal hold on one note or on every note of an agreement
// (including notes written while the hold lasts). Exactly one of agreementID
// and noteID is given.
func (v *Vault) AddHold(ctx context.Context, agreementID, noteID, reason string, id *identity.Identity) (*Hold, error) {
	return v.PlaceHold(ctx, HoldRequest{Agreement: agreementID, Note: noteID, Reason: reason}, id)
}

// PlaceHold places the hold req describes, as a fact signed by whoever
// places it: the mentor, the mentee or a custodian of the agreement
// (policy.PlaceHold).
func (v *Vault) PlaceHold(ctx context.Context, req HoldRequest, id *identity.Identity) (*Hold, error) {
	agreementID, noteID, reason := req.Agreement, req.Note, req.Reason
	if (agreementID == "") == (noteID == "") {
		return nil, invalid("a hold covers either an agreement or a note: give exactly one")
	}
	if reason == "" {
		return nil, invalid("a hold needs a reason")
	}
	if !req.Review.IsZero() && !req.Review.After(v.Now()) {
		return nil, invalid("the review date %s is not in the future", policy.FormatTime(req.Review))
	}
	hid, err := v.newID("h")
	if err != nil {
		return nil, err
	}
	var h *Hold
	err = v.update(func(txn kv.Txn) error {
		if noteID != "" {
			n, err := v.note(txn, noteID)
			if err != nil {
				return err
			}
			agreementID = n.Agreement
		}
		act, t, err := v.inForce(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		if noteID != "" {
			if _, _, err := v.verifiedNote(txn, noteID); err != nil {
				return err
			}
		}
		if d := policy.PlaceHold(me.Name, t); !d.Allowed() {
			return denied(d)
		}
		to := []string{t.Mentor, t.Mentee}
		if !slices.Contains(to, me.Name) {
			to = append(to, me.Name)
		}
		rs, err := v.pinnedRecipients(txn, a, to)
		if err != nil {
			return err
		}
		sealed, err := encryptTo([]byte(reason), rs)
		if err != nil {
			return err
		}
		if _, err := v.putBlob(txn, reasonBlob(hid), a.ID, sealed); err != nil {
			return err
		}
		sum := sha256.Sum256(sealed)
		if _, err := v.appendFact(txn, a, factHold, holdBody{ID: hid, Note: noteID, Reason: hex.EncodeToString(sum[:]), Review: req.Review.UTC()}, id, me.Name,
			&audit.Record{Actor: me.Name, Action: "hold.add", Subject: hid, Rule: "hold",
				Detail: holdDetail(noteID, req.Review)}); err != nil {
			return err
		}
		h = a.hold(hid)
		h.Reason = reason
		return nil
	})
	return h, err
}

func holdDetail(noteID string, review time.Time) map[string]string {
	d := map[string]string{"note": noteID}
	if !review.IsZero() {
		d["review"] = review.UTC().Format(time.RFC3339)
	}
	return d
}

// ReleaseHold ends a hold, as a fact signed by whoever released it; the next
// sweep destroys what is overdue.
func (v *Vault) ReleaseHold(ctx context.Context, holdID string, id *identity.Identity) error {
	return v.update(func(txn kv.Txn) error {
		agreementID, err := v.findFact(txn, holdID)
		if err != nil {
			return err
		}
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a := act.agreement
		h := a.hold(holdID)
		if h == nil {
			return notFound("hold", holdID)
		}
		if !h.Active() {
			return invalid("hold %s was already released at %s", h.ID, policy.FormatTime(h.ReleasedAt))
		}
		if d := policy.ReleaseHold(act.me.Name, h.PlacedBy, a.termsInForce()); !d.Allowed() {
			return denied(d)
		}
		_, err = v.appendFact(txn, a, factRelease, releaseBody{Hold: holdID}, id, act.me.Name,
			&audit.Record{Actor: act.me.Name, Action: "hold.release", Subject: holdID, Rule: "release"})
		return err
	})
}

// Holds lists holds, oldest first; with agreementID, that agreement's only.
// With an identity, the reasons that identity can read are filled in (a
// reason that does not match what the chain recorded is left out).
func (v *Vault) Holds(ctx context.Context, agreementID string, id *identity.Identity) ([]*Hold, error) {
	var out []*Hold
	as, err := v.agreementsFor(ctx, agreementID)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		out = append(out, a.holds...)
	}
	if id != nil {
		err := v.view(func(txn kv.Txn) error {
			for _, h := range out {
				sealed, err := v.getBlob(txn, reasonBlob(h.ID))
				if err != nil {
					continue
				}
				if sum := sha256.Sum256(sealed); hex.EncodeToString(sum[:]) != h.reasonHash {
					continue
				}
				if plain, err := decryptWith(sealed, id); err == nil {
					h.Reason = string(plain)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
