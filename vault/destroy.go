package vault

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Receipt is what is left of a destroyed note: what, when, under which rule.
// No title, no content.
type Receipt struct {
	Note      string      `json:"note"`
	Kind      policy.Kind `json:"kind"`
	Agreement string      `json:"agreement"`
	Rule      string      `json:"rule"`
	At        time.Time   `json:"at"`
}

// DueNotes returns the notes whose retention has ended by now, oldest expiry
// first, and separately those that are due but held. It walks the expiry
// index only up to now, so its cost grows with what is due, not with the
// vault.
func (v *Vault) DueNotes(ctx context.Context, now time.Time) (due, held []*Note, err error) {
	err = v.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(pExpiry)
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		agreements := map[string]*Agreement{}
		for it.Rewind(); it.Valid(); it.Next() {
			unix, id, ok := parseExpiryKey(string(it.Item().Key()))
			if !ok {
				continue
			}
			if unix > now.Unix() {
				break
			}
			n, err := v.note(txn, id)
			if err != nil {
				if isNotFound(err) {
					continue // index left by an interrupted sweep
				}
				return err
			}
			if n.Expires.After(now) {
				continue // an index entry earlier than the note's own expiry
			}
			// The expiry and the holds that decide destruction are the
			// author's signed metadata and the agreement's verified holds;
			// a note that fails verification is not destroyed on its word
			// (notevault check names it).
			a, ok := agreements[n.Agreement]
			if !ok {
				if a, err = v.agreement(txn, n.Agreement); err != nil {
					return err
				}
				agreements[n.Agreement] = a
			}
			if v.verifyNote(txn, a, n) != nil {
				continue
			}
			if n.Held() {
				held = append(held, n)
			} else {
				due = append(due, n)
			}
		}
		return nil
	})
	return due, held, err
}

// retentionRule names the agreement rule that made a note due.
func retentionRule(n *Note) string {
	return fmt.Sprintf("retention.%s:%s", n.Kind, n.Expires.Sub(n.Created).String())
}

// destroyNotes destroys every copy of the given notes (theirs, supervisors'
// and disclosure copies), deletes their records and leaves a receipt each.
//
// Buckets all of whose members go are destroyed first, whole, with no
// re-wrapping: that is the common case of a sweep, and its cost grows with
// what is due. Buckets that keep other members are re-wrapped once each.
// Records and receipts follow in batches. A crash part way leaves notes whose
// copies are already unreadable; the next sweep finds them and finishes.
func (v *Vault) destroyNotes(notes []*Note, rule func(*Note) string, actor string, signer audit.Signer) ([]Receipt, error) {
	byBucket := map[string][]string{}
	bucketOf := map[string]string{} // blob -> bucket
	err := v.view(func(txn *badger.Txn) error {
		for _, n := range notes {
			if n.Bucket != "" {
				bucketOf[n.ID] = n.Bucket
				byBucket[n.Bucket] = append(byBucket[n.Bucket], n.ID)
			}
			blobs := n.Copies
			if n.Bucket == "" {
				blobs = append([]string{n.ID}, blobs...)
			}
			for _, blob := range blobs {
				var rec blobRec
				err := get(txn, pBlob+blob, &rec)
				if isNotFound(err) {
					continue // already destroyed by an interrupted run
				}
				if err != nil {
					return err
				}
				bucketOf[blob] = rec.Bucket
				byBucket[rec.Bucket] = append(byBucket[rec.Bucket], blob)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var whole []string
	partial := map[string][]string{}
	err = v.view(func(txn *badger.Txn) error {
		for b, blobs := range byBucket {
			members := 0
			if err := scanKeys(txn, pMember+b+"/", func(string) error { members++; return nil }); err != nil {
				return err
			}
			if members <= len(blobs) {
				whole = append(whole, b)
			} else {
				partial[b] = blobs
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(whole)
	for _, b := range whole {
		if err := v.keys.Destroy(b); err != nil {
			return nil, err
		}
	}
	for _, blobs := range partial {
		if err := v.destroyBlobs(blobs, nil); err != nil {
			return nil, err
		}
	}
	// Records of the whole buckets' blobs, the notes, and the receipts.
	const batch = 1024
	var out []Receipt
	for start := 0; start < len(notes); start += batch {
		chunk := notes[start:min(start+batch, len(notes))]
		var rs []Receipt
		err := v.update(func(txn *badger.Txn) error {
			rs = rs[:0]
			now := v.Now()
			for _, n := range chunk {
				for _, blob := range append([]string{n.ID}, n.Copies...) {
					// Deleting what a partial bucket's re-wrap already deleted
					// is harmless: badger writes another tombstone.
					if err := txn.Delete([]byte(pBlob + blob)); err != nil {
						return err
					}
					if b, ok := bucketOf[blob]; ok {
						if err := txn.Delete([]byte(pMember + b + "/" + blob)); err != nil {
							return err
						}
					}
				}
				if err := txn.Delete([]byte(pNote + n.ID)); err != nil {
					return err
				}
				if err := txn.Delete([]byte(expiryKey(n.Expires.Unix(), n.ID))); err != nil {
					return err
				}
				r := Receipt{Note: n.ID, Kind: n.Kind, Agreement: n.Agreement, Rule: rule(n), At: now}
				if err := v.appendLog(txn, &audit.Record{Actor: actor, Action: "note.destroy", Agreement: n.Agreement,
					Subject: n.ID, Kind: string(n.Kind), Rule: r.Rule, Time: now}, signer); err != nil {
					return err
				}
				rs = append(rs, r)
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// SweepNotes destroys every note whose retention has ended and that no legal
// hold keeps. It needs no participant's key.
func (v *Vault) SweepNotes(ctx context.Context) (destroyed []Receipt, held []*Note, err error) {
	due, held, err := v.DueNotes(ctx, v.Now())
	if err != nil {
		return nil, nil, err
	}
	destroyed, err = v.destroyNotes(due, retentionRule, ActorRetention, nil)
	return destroyed, held, err
}

// DeleteNote destroys a note now, with the same guarantee as the sweep. Its
// author or the agreement's mentee may delete it; a held note cannot be.
func (v *Vault) DeleteNote(ctx context.Context, noteID string, id *identity.Identity) (*Receipt, error) {
	var n *Note
	var me *Participant
	err := v.view(func(txn *badger.Txn) error {
		act, note, err := v.beginNote(txn, id, noteID)
		if err != nil {
			return err
		}
		n, me = note, act.me
		if d := policy.DeleteNote(me.Name, n.policy(), act.agreement.termsInForce()); !d.Allowed() {
			return denied(d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rs, err := v.destroyNotes([]*Note{n}, func(*Note) string { return "delete" }, me.Name, id)
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// NextDue returns the earliest expiry in the vault after now, or zero.
func (v *Vault) NextDue(ctx context.Context, now time.Time) (time.Time, error) {
	var next time.Time
	err := v.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(pExpiry)
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		it.Seek([]byte(expiryKey(now.Unix()+1, "")))
		if it.Valid() {
			if unix, _, ok := parseExpiryKey(string(it.Item().Key())); ok {
				next = time.Unix(unix, 0).UTC()
			}
		}
		return nil
	})
	return next, err
}

// Housekeep destroys shred keys that no record refers to any more: what an
// interrupted sweep or deletion leaves behind.
func (v *Vault) Housekeep(ctx context.Context) (int, error) {
	buckets, err := v.keys.Buckets()
	if err != nil {
		return 0, err
	}
	sort.Strings(buckets)
	var orphans []string
	err = v.view(func(txn *badger.Txn) error {
		for _, b := range buckets {
			used := false
			if err := scanKeys(txn, pMember+b+"/", func(string) error { used = true; return nil }); err != nil {
				return err
			}
			var head bucketHead
			if err := get(txn, pBucketHead+baseOf(b), &head); err == nil && head.Name == b {
				used = true // the live generation, about to be used
			}
			if !used {
				orphans = append(orphans, b)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, b := range orphans {
		if err := v.keys.Destroy(b); err != nil {
			return 0, err
		}
	}
	return len(orphans), nil
}
