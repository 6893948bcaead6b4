package vault

import (
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
)

// grantCopyID is the blob id of a supervisor's copy of a note under a grant.
func grantCopyID(grantID, noteID string) string { return grantID + "." + noteID }

// copyForGrants seals a copy of a new note to every supervisor whose live
// grant covers its kind, through the supervisor's pinned key, so grants
// cover notes written after they were made. Each copy lives in its grant's
// bucket and dies with it. Only what the author may read is copied: plain
// is the note the author just wrote, and it is copied only under grants
// made by one of its readers.
func (v *Vault) copyForGrants(txn *badger.Txn, a *Agreement, n *Note, plain []byte, now time.Time) error {
	f := a.facts("")
	for _, g := range f.Grants {
		// A grant shares only what its granter reads (policy.Read agrees).
		if !slices.Contains(g.Kinds, n.Kind) || !n.Kind.Consentable() || !slices.Contains(n.Readers, g.GrantedBy) ||
			!policy.GrantLive(g, f, now).Allowed() {
			continue
		}
		rs, err := v.pinnedRecipients(txn, a, []string{g.Grantee})
		if err != nil {
			return err
		}
		ageFile, err := encryptTo(plain, rs)
		if err != nil {
			return err
		}
		blob := grantCopyID(g.ID, n.ID)
		if _, err := v.putBlob(txn, blob, g.ID, ageFile); err != nil {
			return err
		}
		n.Copies = append(n.Copies, blob)
	}
	return nil
}
