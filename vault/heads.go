package vault

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Each user pins, per agreement, the head of its fact chain as they last saw
// it (kept with their pinned audit checkpoint, outside the vault). A chain
// that no longer reaches the pinned head was cut back or forked: an older
// agreement record written back, a revocation or withdrawal deleted. The
// vault refuses it, naming the agreement.

// checkPinnedHead refuses an agreement whose chain does not extend the head
// this user pinned, and notes the head seen for pinning once the
// transaction that saw it is known to be committed.
func (v *Vault) checkPinnedHead(txn *badger.Txn, a *Agreement) error {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	if pin, ok := v.heads[a.ID]; ok {
		switch {
		case a.head.Seq < pin.Seq:
			return &RollbackError{What: "agreement " + a.ID, Msg: fmt.Sprintf("its chain ends at fact %d, but you saw fact %d", a.head.Seq, pin.Seq)}
		case a.hashes[pin.Seq-1] != pin.Hash:
			return &RollbackError{What: "agreement " + a.ID, Msg: fmt.Sprintf("its fact %d is not the one you saw: the chain was forked", pin.Seq)}
		}
	}
	v.seen(txn)[a.ID] = a.head
	return nil
}

// notePinnedHead records a head the transaction txn is about to commit.
func (v *Vault) notePinnedHead(txn *badger.Txn, a *Agreement) {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	v.seen(txn)[a.ID] = a.head
}

func (v *Vault) seen(txn *badger.Txn) map[string]factHead {
	if v.pending == nil {
		v.pending = map[*badger.Txn]map[string]factHead{}
	}
	m, ok := v.pending[txn]
	if !ok {
		m = map[string]factHead{}
		v.pending[txn] = m
	}
	return m
}

// settleHeads pins what txn saw once it committed (or, for a read, ended),
// and forgets it if it did not.
func (v *Vault) settleHeads(txn *badger.Txn, committed bool) {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	if committed {
		if v.heads == nil {
			v.heads = map[string]factHead{}
		}
		for id, h := range v.pending[txn] {
			if old, ok := v.heads[id]; !ok || h.Seq >= old.Seq {
				v.heads[id] = h
			}
		}
	}
	delete(v.pending, txn)
}

// formatHead and parseHead are a head's form in the pin file: "seq:hash".
func formatHead(h factHead) string { return strconv.FormatUint(h.Seq, 10) + ":" + h.Hash }

func parseHead(s string) (factHead, bool) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == 0 || len(hash) != 64 {
		return factHead{}, false
	}
	return factHead{Seq: n, Hash: hash}, true
}

// loadPinnedHeads takes the agreement heads of the user's pin.
func (v *Vault) loadPinnedHeads(pinned map[string]string) error {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	v.heads = map[string]factHead{}
	for id, s := range pinned {
		h, ok := parseHead(s)
		if !ok {
			return fmt.Errorf("your pin of this vault holds a malformed head for agreement %s", id)
		}
		v.heads[id] = h
	}
	return nil
}

// headsForPin is what the pin saves of the agreement heads.
func (v *Vault) headsForPin() map[string]string {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	if len(v.heads) == 0 {
		return nil
	}
	out := make(map[string]string, len(v.heads))
	for id, h := range v.heads {
		out[id] = formatHead(h)
	}
	return out
}
