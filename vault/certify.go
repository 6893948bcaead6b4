package vault

import (
	"context"
	"slices"
	"sort"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/certificate"
)

// Certificate writes the destruction certificate of a closed agreement
// whose notes are all destroyed: every note its audit log saw written, with
// the receipt of its destruction, the close, and the checkpoint that covers
// them, signed with the vault's checkpoint key (package certificate). It
// verifies the whole audit log first, and refuses while the agreement is
// open or any note of it remains.
func (v *Vault) Certificate(ctx context.Context, agreementID string) ([]byte, *certificate.Certificate, error) {
	var a *Agreement
	var remaining []*Note
	err := v.view(func(txn kv.Txn) (err error) {
		if a, err = v.agreement(txn, agreementID); err != nil {
			return err
		}
		remaining, err = v.agreementNotes(txn, a)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if a.closure == nil {
		return nil, nil, invalid("agreement %s is open: a certificate is written once it is closed and its last note destroyed (notevault agreement close %s)", a.ID, a.ID)
	}
	if len(remaining) > 0 {
		sort.Slice(remaining, func(i, j int) bool { return remaining[i].Expires.Before(remaining[j].Expires) })
		return nil, nil, invalid("agreement %s still has %d note(s); the next is destroyed at %s: a certificate is written once the last is gone",
			a.ID, len(remaining), policy.FormatTime(remaining[0].Expires))
	}
	if _, err := v.VerifyAudit(ctx); err != nil {
		return nil, nil, err
	}
	key, err := v.verifierKey()
	if err != nil {
		return nil, nil, err
	}
	recs, err := v.AuditLog(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	c := &certificate.Certificate{Vault: key, Agreement: a.ID, Closed: a.closure.At, ClosedBy: a.closure.By}
	var added []string
	destroyed := map[string]certificate.Note{}
	for _, r := range recs {
		switch r.Action {
		case "agreement.close":
			c.Close = certificate.Receipt{Seq: r.Seq, Hash: r.Hash()}
		case "note.add":
			added = append(added, r.Subject)
		case "note.destroy":
			destroyed[r.Subject] = certificate.Note{ID: r.Subject, Kind: r.Kind, Destroyed: r.Time, By: r.Actor, Rule: r.Rule,
				Receipt: certificate.Receipt{Seq: r.Seq, Hash: r.Hash()}}
		}
	}
	if c.Close.Seq == 0 {
		return nil, nil, integrity("agreement "+a.ID, "the audit log does not record its close")
	}
	for _, id := range added {
		n, ok := destroyed[id]
		if !ok {
			return nil, nil, integrity("note "+id, "it is gone from the store, and the audit log holds no receipt of its destruction")
		}
		if !slices.ContainsFunc(c.Notes, func(x certificate.Note) bool { return x.ID == id }) {
			c.Notes = append(c.Notes, n)
		}
	}
	cp, err := v.Checkpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	cert, err := certificate.OpenCheckpointInto(c, cp)
	if err != nil {
		return nil, nil, err
	}
	msg, err := cert.Sign(v.ckKey)
	if err != nil {
		return nil, nil, err
	}
	return msg, cert, nil
}
