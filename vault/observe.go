package vault

import (
	"fmt"

	"github.com/notevault/notevault/vault/audit"
)

// observeRecord sees every audit record that is new to this user, in log
// order, once the extension check has found that it links to the record
// before it: at open, the records written since the user's pinned
// checkpoint; after each commit, the records the commit wrote. A record is
// seen once per process. A record that carries an agreement fact
// ("fact": "seq:hash") pins that agreement's chain at least that far: a chain
// cut back below what the log recorded is then refused when it is loaded
// (heads.go), even if this user never loaded it before. The heads are saved
// in the pin with the checkpoint at Close, and then reflect exactly the records up
// to the pinned size; if the process ends before that, the next one sees
// the same records again from the same saved heads.
//
// On a vault's first use (no pin yet) the records up to the vault's own
// checkpoint are trusted as found and not seen here.
//
// An error refuses the vault: at open, Open fails with it; after a commit,
// the action has happened but its checkpoint is not signed, and the error
// is returned. Return a *RollbackError to refuse for the rest of the process
// and keep the pin where it is.
func (v *Vault) observeRecord(rec *audit.Record) error {
	f := rec.Detail["fact"]
	if f == "" {
		return nil
	}
	h, ok := parseHead(f)
	if !ok || rec.Agreement == "" {
		return &RollbackError{What: "the audit log", Msg: fmt.Sprintf("record %d names a malformed agreement fact", rec.Seq)}
	}
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	if v.heads == nil {
		v.heads = map[string]factHead{}
	}
	if old, ok := v.heads[rec.Agreement]; !ok || h.Seq > old.Seq {
		v.heads[rec.Agreement] = h
	}
	return nil
}
