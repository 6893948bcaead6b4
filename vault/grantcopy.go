package vault

import (
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
)

// copyForGrants seals a copy of a new note to every supervisor whose live
// grant covers its kind, so grants cover notes written after they were made.
// Each copy lives in its grant's bucket and dies with it.
func (v *Vault) copyForGrants(txn *badger.Txn, n *Note, plain []byte, now time.Time) error {
	f, err := v.facts(txn, n.Agreement, "")
	if err != nil {
		return err
	}
	for _, g := range f.Grants {
		if !covers(g.Kinds, n.Kind) || !policy.GrantLive(g, f, now).Allowed() {
			continue
		}
		rs, err := v.recipients(txn, []string{g.Grantee})
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

func covers(kinds []policy.Kind, k policy.Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}
