package vault

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/notevault/notevault/vault/kv"
)

// Each user pins, per agreement, the head of its fact chain as they last saw
// it (kept with their pinned audit checkpoint, outside the vault). A chain
// that no longer reaches the pinned head was cut back or forked: an older
// agreement record written back, a revocation or withdrawal deleted. The
// vault refuses it, naming the agreement.

// verifiedHead is the head of the agreement's chain up to which this user
// already checked every fact's signature (zero: none). Facts up to it are
// folded without checking signatures again, provided the chain still hashes
// to it, which checkPinnedHead makes sure of: the hash of a fact covers its
// signature and every fact before it, so an unchanged hash is an unchanged
// chain. Heads merely seen in the audit log (observe.go) do not count here:
// an insider can append a record with a forged fact's hash to the log.
func (v *Vault) verifiedHead(id string) factHead {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	return v.verified[id]
}

// checkPinnedHead refuses an agreement whose chain does not extend the heads
// this user pinned (seen or verified), and notes the head seen (now fully
// verified) for pinning once the transaction that saw it is known to be
// committed.
func (v *Vault) checkPinnedHead(txn kv.Txn, a *Agreement) error {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	for _, pin := range []factHead{v.heads[a.ID], v.verified[a.ID]} {
		switch {
		case pin.Seq == 0:
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
func (v *Vault) notePinnedHead(txn kv.Txn, a *Agreement) {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	v.seen(txn)[a.ID] = a.head
}

func (v *Vault) seen(txn kv.Txn) map[string]factHead {
	if v.pending == nil {
		v.pending = map[kv.Txn]map[string]factHead{}
	}
	m, ok := v.pending[txn]
	if !ok {
		m = map[string]factHead{}
		v.pending[txn] = m
	}
	return m
}

// settleHeads pins what txn saw (and verified) once it committed (or, for a
// read, ended), and forgets it if it did not.
func (v *Vault) settleHeads(txn kv.Txn, committed bool) {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	if committed {
		if v.heads == nil {
			v.heads = map[string]factHead{}
		}
		if v.verified == nil {
			v.verified = map[string]factHead{}
		}
		for id, h := range v.pending[txn] {
			for _, m := range []map[string]factHead{v.heads, v.verified} {
				if old, ok := m[id]; !ok || h.Seq >= old.Seq {
					m[id] = h
				}
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

// loadPinnedHeads takes the agreement heads of the user's pin: those seen
// and those verified.
func (v *Vault) loadPinnedHeads(seen, verified map[string]string) error {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	var err error
	if v.heads, err = parseHeads(seen); err != nil {
		return err
	}
	v.verified, err = parseHeads(verified)
	return err
}

func parseHeads(in map[string]string) (map[string]factHead, error) {
	out := make(map[string]factHead, len(in))
	for id, s := range in {
		h, ok := parseHead(s)
		if !ok {
			return nil, fmt.Errorf("your pin of this vault holds a malformed head for agreement %s", id)
		}
		out[id] = h
	}
	return out, nil
}

// headsForPin is what the pin saves of the agreement heads.
func (v *Vault) headsForPin() (seen, verified map[string]string) {
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	return formatHeads(v.heads), formatHeads(v.verified)
}

func formatHeads(in map[string]factHead) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for id, h := range in {
		out[id] = formatHead(h)
	}
	return out
}
