package vault

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/vault/seal"
)

// A bucket is a set of sealed blobs under one shred key. Its name is a base
// (what the blobs have in common: the hour they expire, a grant, a hold) and
// a generation: re-wrapping a bucket after an early deletion moves its other
// members to a new generation and destroys the old key.
//
// Records:
//
//	c/<blob>            blobRec: bucket name + sealed age file
//	m/<bucket>/<blob>   membership index (empty value)
//	b/<base>            the live generation of a base
const pBucketHead = "b/"

type blobRec struct {
	Bucket string `json:"bucket"`
	Sealed []byte `json:"sealed"`
	// Payload marks a large blob: Sealed is its age header alone, and the
	// rest of the age file is the payload file named after the blob
	// (payload.go).
	Payload bool `json:"payload,omitempty"`
	// Segments is a large copy's list of segment hashes (segments.go),
	// which its author's signed metadata commits to.
	Segments []byte `json:"segments,omitempty"`
}

type bucketHead struct {
	Name string `json:"name"`
}

// expiryBase is the base of the time bucket for notes that expire at t: the
// hour that ends at or after t, so a whole bucket is due once its hour ends.
func expiryBase(t time.Time) string {
	h := t.UTC().Truncate(time.Hour)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return "t-" + h.Format("2006010215")
}

// baseOf strips the generation from a bucket name.
func baseOf(bucket string) string {
	base, _, _ := strings.Cut(bucket, ".")
	return base
}

// liveBucket returns the live generation of base, creating its key (synced to
// disk before the caller's transaction commits) when there is none.
func (v *Vault) liveBucket(txn kv.Txn, base string) (string, []byte, error) {
	var head bucketHead
	err := get(txn, pBucketHead+base, &head)
	if err == nil {
		if key, err := v.keys.Key(txn, head.Name, false); err == nil {
			return head.Name, key, nil
		}
		// The key was destroyed (the bucket was swept): start a new one.
	} else if !isNotFound(err) {
		return "", nil, err
	}
	gen, err := v.newID("")
	if err != nil {
		return "", nil, err
	}
	name := base + "." + strings.TrimPrefix(gen, "-")
	key, err := v.keys.Key(txn, name, true)
	if err != nil {
		return "", nil, err
	}
	if err := put(txn, pBucketHead+base, bucketHead{Name: name}); err != nil {
		return "", nil, err
	}
	return name, key, nil
}

// putBlob seals an age file under base's live key, stores it as blob id and
// returns the bucket it went to.
func (v *Vault) putBlob(txn kv.Txn, blobID, base string, ageFile []byte) (string, error) {
	bucket, key, err := v.liveBucket(txn, base)
	if err != nil {
		return "", err
	}
	sealed, err := seal.Seal(key, seal.AD(blobID, bucket), ageFile)
	if err != nil {
		return "", err
	}
	if err := put(txn, pBlob+blobID, blobRec{Bucket: bucket, Sealed: sealed}); err != nil {
		return "", err
	}
	return bucket, txn.Set([]byte(pMember+bucket+"/"+blobID), nil)
}

// getBlob returns the age file stored as blob id. A blob whose key was
// destroyed is not found: it is gone.
// A large blob is read whole into memory: what streams uses openBlob.
func (v *Vault) getBlob(txn kv.Txn, blobID string) ([]byte, error) {
	r, err := v.openBlob(txn, blobID)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", blobID, err)
	}
	return b, nil
}

// destroyBlobs makes the given blobs unreadable for everyone: each bucket
// that holds one is either destroyed whole (when nothing else lives in it) or
// its other members are re-wrapped under a new generation and the old key
// destroyed. Records are deleted in the same transactions. Keys are destroyed
// only after the transactions that stop referring to them have committed, so
// a crash leaves either the old state, orphan keys that Housekeep destroys,
// or a re-wrap under way that Housekeep finishes.
//
// The first transaction deletes the blobs, moves the bucket's live
// generation on (new blobs go to the new one) and marks the bucket as being
// re-wrapped (r/<bucket>); its other members then move in transactions of
// rewrapBatch, however many there are (an import files a whole hour of notes
// in one bucket), and the last one clears the mark.
func (v *Vault) destroyBlobs(blobIDs []string, extra func(txn kv.Txn) error) error {
	var doomed []string   // buckets whose keys go once the transaction is in
	var moving []string   // buckets whose other members move first
	var payloads []string // payload files that go with them
	err := v.update(func(txn kv.Txn) error {
		doomed, moving, payloads = doomed[:0], moving[:0], payloads[:0]
		byBucket := map[string][]string{}
		for _, id := range blobIDs {
			var rec blobRec
			if err := get(txn, pBlob+id, &rec); err != nil {
				if isNotFound(err) {
					continue
				}
				return err
			}
			byBucket[rec.Bucket] = append(byBucket[rec.Bucket], id)
			if rec.Payload {
				payloads = append(payloads, id)
			}
		}
		for bucket, ids := range byBucket {
			for _, id := range ids {
				if err := txn.Delete([]byte(pBlob + id)); err != nil {
					return err
				}
				if err := txn.Delete([]byte(pMember + bucket + "/" + id)); err != nil {
					return err
				}
			}
			rest, err := hasMembers(txn, bucket)
			if err != nil {
				return err
			}
			if err := v.retireBucket(txn, bucket, rest); err != nil {
				return err
			}
			if rest {
				moving = append(moving, bucket)
			} else {
				doomed = append(doomed, bucket)
			}
		}
		if extra != nil {
			return extra(txn)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range moving {
		if err := v.moveMembers(b); err != nil {
			return err
		}
		doomed = append(doomed, b)
	}
	for _, b := range doomed {
		if err := v.keys.Destroy(b); err != nil {
			return err
		}
	}
	return v.removePayloads(payloads)
}

// pRewrap marks a bucket whose members are moving to a newer generation
// before its key is destroyed (destroyBlobs, Housekeep).
const pRewrap = "r/"

// rewrapBatch is how many members one transaction of a re-wrap moves at
// most (fewer when they do not fit).
const rewrapBatch = 256

func hasMembers(txn kv.Txn, bucket string) (bool, error) {
	found := false
	err := scanKeys(txn, pMember+bucket+"/", func(string) error {
		found = true
		return errStopScan
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return found, err
}

var errStopScan = errors.New("stop")

// retireBucket takes bucket out of use: its base's live generation, if it is
// bucket, ends (with members left, a new generation starts and bucket is
// marked for its members to move to it).
func (v *Vault) retireBucket(txn kv.Txn, bucket string, rest bool) error {
	base := baseOf(bucket)
	var head bucketHead
	err := get(txn, pBucketHead+base, &head)
	if err != nil && !isNotFound(err) {
		return err
	}
	live := err == nil && head.Name == bucket
	if !rest {
		if live {
			return txn.Delete([]byte(pBucketHead + base))
		}
		return nil
	}
	if live {
		gen, err := v.newID("")
		if err != nil {
			return err
		}
		name := base + "." + strings.TrimPrefix(gen, "-")
		if _, err := v.keys.Key(txn, name, true); err != nil {
			return err
		}
		if err := put(txn, pBucketHead+base, bucketHead{Name: name}); err != nil {
			return err
		}
	}
	return txn.Set([]byte(pRewrap+bucket), nil)
}

// moveMembers re-wraps every member of bucket under the live generation of
// its base, rewrapBatch members a transaction, and clears the bucket's
// re-wrap mark with the last of them. Its key is then the caller's to
// destroy.
func (v *Vault) moveMembers(bucket string) error {
	n := rewrapBatch
	for {
		done := false
		err := v.update(func(txn kv.Txn) error {
			var ids []string
			if err := scanKeys(txn, pMember+bucket+"/", func(k string) error {
				ids = append(ids, strings.TrimPrefix(k, pMember+bucket+"/"))
				if len(ids) == n+1 {
					return errStopScan
				}
				return nil
			}); err != nil && !errors.Is(err, errStopScan) {
				return err
			}
			done = len(ids) <= n
			if !done {
				ids = ids[:n]
			}
			if len(ids) > 0 {
				oldKey, err := v.keys.Key(txn, bucket, false)
				if err != nil {
					return err
				}
				name, newKey, err := v.liveBucket(txn, baseOf(bucket))
				if err != nil {
					return err
				}
				if name == bucket {
					return integrity("bucket "+bucket, "it is being re-wrapped but is still its base's live generation")
				}
				for _, id := range ids {
					if err := v.moveBlob(txn, id, bucket, name, oldKey, newKey); err != nil {
						return err
					}
				}
			}
			if done {
				return txn.Delete([]byte(pRewrap + bucket))
			}
			return nil
		})
		if errors.Is(err, kv.ErrTooBig) && n > 1 {
			n /= 2 // large copies: fewer a transaction
			continue
		}
		if err != nil || done {
			return err
		}
		if afterMoveBatch != nil {
			if err := afterMoveBatch(); err != nil {
				return err
			}
		}
	}
}

// afterMoveBatch, when set, runs after each committed batch of a re-wrap
// but the last: a test seam that interrupts a re-wrap as a crash would.
var afterMoveBatch func() error

// moveBlob re-wraps blob id from bucket from (under oldKey) to bucket to
// (under newKey), with its membership and, for a note's own copy, the
// bucket its metadata names.
func (v *Vault) moveBlob(txn kv.Txn, id, from, to string, oldKey, newKey []byte) error {
	var rec blobRec
	if err := get(txn, pBlob+id, &rec); err != nil {
		return err
	}
	ageFile, err := seal.Open(oldKey, seal.AD(id, from), rec.Sealed)
	if err != nil {
		return fmt.Errorf("re-wrapping copy %s: %w", id, err)
	}
	// A large blob's record holds its age header alone: the payload file,
	// unreadable without it, stays where it is.
	sealed, err := seal.Seal(newKey, seal.AD(id, to), ageFile)
	clear(ageFile)
	if err != nil {
		return err
	}
	rec.Bucket, rec.Sealed = to, sealed
	if err := put(txn, pBlob+id, rec); err != nil {
		return err
	}
	if err := txn.Delete([]byte(pMember + from + "/" + id)); err != nil {
		return err
	}
	if err := txn.Set([]byte(pMember+to+"/"+id), nil); err != nil {
		return err
	}
	// A note's own copy: its metadata names its bucket.
	var n noteRec
	if err := get(txn, pNote+id, &n); err == nil {
		n.Bucket = to
		if err := put(txn, pNote+id, &n); err != nil {
			return err
		}
	} else if !isNotFound(err) {
		return err
	}
	return nil
}
