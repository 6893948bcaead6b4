package vault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
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
// vault. A due note whose record or agreement fails verification is not
// destroyed on its word: DueNotes returns the others with an error naming
// it (notevault check names every such record).
func (v *Vault) DueNotes(ctx context.Context, now time.Time) (due, held []*Note, err error) {
	due, held, refused, err := v.dueNotes(now)
	if err != nil {
		return nil, nil, err
	}
	return due, held, refused
}

// dueNotes is DueNotes with the notes it refused apart: refused is nil or
// an error naming the first (and counting the others).
func (v *Vault) dueNotes(now time.Time) (due, held []*Note, refused, err error) {
	var bad []error
	err = v.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(pExpiry)
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		agreements := map[string]*Agreement{}
		broken := map[string]error{}
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
				if errors.Is(err, ErrNotFound) {
					continue // no note: nothing to destroy (check names the entry)
				}
				if refusal(err) {
					bad = append(bad, err)
					continue
				}
				return err
			}
			if n.Expires.After(now) {
				continue // an index entry earlier than the note's own expiry
			}
			// The expiry and the holds that decide destruction are the
			// author's signed metadata and the agreement's verified holds,
			// and the copies it destroys are the chain's: a note that fails
			// verification is not destroyed on its word, nor does it stop
			// the sweep of the others.
			a, ok := agreements[n.Agreement]
			if !ok {
				if err := broken[n.Agreement]; err != nil {
					bad = append(bad, err)
					continue
				}
				if a, err = v.agreement(txn, n.Agreement); err != nil {
					if !refusal(err) {
						return err
					}
					broken[n.Agreement] = err
					bad = append(bad, err)
					continue
				}
				agreements[n.Agreement] = a
			}
			if err := v.verifyNote(txn, a, n); err != nil {
				bad = append(bad, err)
				continue
			}
			if _, err := v.sealedCopies(txn, n); err != nil {
				if !refusal(err) {
					return err
				}
				bad = append(bad, err)
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
	switch {
	case err != nil:
		return nil, nil, nil, err
	case len(bad) == 1:
		refused = fmt.Errorf("the sweep refused a due note: %w", bad[0])
	case len(bad) > 1:
		refused = fmt.Errorf("the sweep refused %d due notes, first: %w", len(bad), bad[0])
	}
	return due, held, refused, nil
}

// refusal reports whether err is about a record that fails verification
// (or is missing), rather than the store failing.
func refusal(err error) bool {
	var ie *IntegrityError
	var re *RollbackError
	return errors.As(err, &ie) || errors.As(err, &re) || errors.Is(err, ErrNotFound)
}

// sealedCopies returns the blobs of n that are still sealed, each with its
// bucket: its own copy, the supervisor and disclosure copies it lists
// (verifyNote checked those are copies of n) and those its agreement's
// chain accounts for, listed or not. Neither a note's bucket nor its list of
// copies is signed, so each blob's bucket must be of the base the signed
// record implies: the hour of the note's expiry for its own and disclosure
// copies, the grant for a grant's copy. A blob already gone (an interrupted
// run) is left out.
func (v *Vault) sealedCopies(txn *badger.Txn, n *Note) (map[string]string, error) {
	out := map[string]string{}
	blobs := append([]string{n.ID}, n.Copies...)
	if n.agr != nil {
		blobs = append(blobs, n.agr.copiesOf(n.ID)...)
	}
	for _, blob := range blobs {
		if _, dup := out[blob]; dup {
			continue
		}
		want := expiryBase(n.Expires)
		if g, ok := strings.CutSuffix(blob, "."+n.ID); ok {
			want = g
		}
		// The note's own copy, as its record names it: the membership index
		// (keys only) spares reading the ciphertext.
		if blob == n.ID && baseOf(n.Bucket) == want {
			if _, err := txn.Get([]byte(pMember + n.Bucket + "/" + n.ID)); err == nil {
				out[blob] = n.Bucket
				continue
			} else if !isNotFound(err) {
				return nil, err
			}
		}
		var rec blobRec
		err := get(txn, pBlob+blob, &rec)
		if isNotFound(err) {
			continue // already destroyed by an interrupted run
		}
		if err != nil {
			return nil, err
		}
		if baseOf(rec.Bucket) != want {
			return nil, integrity("note "+n.ID, "its copy %s is sealed in bucket %s, which is not of %s", blob, rec.Bucket, want)
		}
		out[blob] = rec.Bucket
	}
	return out, nil
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
	bucketOf := map[string]string{}  // blob -> bucket
	blobsOf := map[string][]string{} // note -> its blobs still sealed
	err := v.view(func(txn *badger.Txn) error {
		for _, n := range notes {
			sealed, err := v.sealedCopies(txn, n)
			if err != nil {
				return err
			}
			for _, blob := range slices.Sorted(maps.Keys(sealed)) {
				bucketOf[blob] = sealed[blob]
				byBucket[sealed[blob]] = append(byBucket[sealed[blob]], blob)
				blobsOf[n.ID] = append(blobsOf[n.ID], blob)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A bucket is destroyed whole only when every blob it seals goes: the
	// membership index is compared blob by blob, never by count.
	var whole []string
	partial := map[string][]string{}
	err = v.view(func(txn *badger.Txn) error {
		for b, blobs := range byBucket {
			all := true
			if err := scanKeys(txn, pMember+b+"/", func(k string) error {
				if bucketOf[strings.TrimPrefix(k, pMember+b+"/")] != b {
					all = false
				}
				return nil
			}); err != nil {
				return err
			}
			if all {
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
				for _, blob := range append([]string{n.ID}, blobsOf[n.ID]...) {
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
//
// A due note whose record fails verification is not destroyed: the others
// are, and then the error names it.
func (v *Vault) SweepNotes(ctx context.Context) (destroyed []Receipt, held []*Note, err error) {
	due, held, refused, err := v.dueNotes(v.Now())
	if err != nil {
		return nil, nil, err
	}
	destroyed, err = v.destroyNotes(due, retentionRule, ActorRetention, nil)
	if err != nil {
		return destroyed, held, err
	}
	return destroyed, held, refused
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
