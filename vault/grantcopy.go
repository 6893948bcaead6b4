package vault

import (
	"slices"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"filippo.io/age"

	"github.com/notevault/notevault/policy"
)

// grantCopyID is the blob id of a supervisor's copy of a note under a grant.
func grantCopyID(grantID, noteID string) string { return grantID + "." + noteID }

// grantTarget is a live grant a new note of its kind is copied under.
type grantTarget struct {
	grant string
	rs    []age.Recipient
}

// grantTargets lists the live grants that cover a new note of kind with
// the given readers, each with its supervisor's pinned key.
func (v *Vault) grantTargets(txn kv.Txn, a *Agreement, kind policy.Kind, readers []string, now time.Time) ([]grantTarget, error) {
	var out []grantTarget
	f := a.facts("")
	for _, g := range f.Grants {
		// A grant shares only what its granter reads (policy.Read agrees).
		if !slices.Contains(g.Kinds, kind) || !kind.Consentable() || !slices.Contains(readers, g.GrantedBy) ||
			!policy.GrantLive(g, f, now).Allowed() {
			continue
		}
		rs, err := v.pinnedRecipients(txn, a, []string{g.Grantee})
		if err != nil {
			return nil, err
		}
		out = append(out, grantTarget{grant: g.ID, rs: rs})
	}
	return out, nil
}

// copyForGrants seals a copy of a new note to every supervisor whose live
// grant covers its kind, through the supervisor's pinned key, so grants
// cover notes written after they were made. Each copy lives in its grant's
// bucket and dies with it. Only what the author may read is copied: plain
// is the note the author just wrote, and it is copied only under grants
// made by one of its readers.
func (v *Vault) copyForGrants(txn kv.Txn, a *Agreement, n *Note, plain []byte, now time.Time) error {
	targets, err := v.grantTargets(txn, a, n.Kind, n.Readers, now)
	if err != nil {
		return err
	}
	for _, t := range targets {
		ageFile, err := encryptTo(plain, t.rs)
		if err != nil {
			return err
		}
		blob := grantCopyID(t.grant, n.ID)
		if _, err := v.putBlob(txn, blob, t.grant, ageFile); err != nil {
			return err
		}
		n.Copies = append(n.Copies, blob)
	}
	return nil
}
