package vault

import (
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
// only after the transaction that stops referring to them has committed, so a
// crash leaves either the old state or orphan keys that Housekeep destroys.
func (v *Vault) destroyBlobs(blobIDs []string, extra func(txn kv.Txn) error) error {
	var doomed []string   // buckets whose keys go once the transaction is in
	var payloads []string // payload files that go with them
	err := v.update(func(txn kv.Txn) error {
		doomed, payloads = doomed[:0], payloads[:0]
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
			gone := map[string]bool{}
			for _, id := range ids {
				gone[id] = true
				if err := txn.Delete([]byte(pBlob + id)); err != nil {
					return err
				}
				if err := txn.Delete([]byte(pMember + bucket + "/" + id)); err != nil {
					return err
				}
			}
			if err := v.rewrapRest(txn, bucket, gone); err != nil {
				return err
			}
			doomed = append(doomed, bucket)
		}
		if extra != nil {
			return extra(txn)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range doomed {
		if err := v.keys.Destroy(b); err != nil {
			return err
		}
	}
	return v.removePayloads(payloads)
}

// rewrapRest moves every member of bucket not in gone to a fresh generation.
func (v *Vault) rewrapRest(txn kv.Txn, bucket string, gone map[string]bool) error {
	var rest []string
	if err := scanKeys(txn, pMember+bucket+"/", func(k string) error {
		id := strings.TrimPrefix(k, pMember+bucket+"/")
		if !gone[id] {
			rest = append(rest, id)
		}
		return nil
	}); err != nil {
		return err
	}
	base := baseOf(bucket)
	if len(rest) == 0 {
		return txn.Delete([]byte(pBucketHead + base))
	}
	oldKey, err := v.keys.Key(txn, bucket, false)
	if err != nil {
		return err
	}
	// A new generation, even if the live one is another: the head moves on.
	gen, err := v.newID("")
	if err != nil {
		return err
	}
	name := base + "." + strings.TrimPrefix(gen, "-")
	newKey, err := v.keys.Key(txn, name, true)
	if err != nil {
		return err
	}
	if err := put(txn, pBucketHead+base, bucketHead{Name: name}); err != nil {
		return err
	}
	for _, id := range rest {
		var rec blobRec
		if err := get(txn, pBlob+id, &rec); err != nil {
			return err
		}
		ageFile, err := seal.Open(oldKey, seal.AD(id, bucket), rec.Sealed)
		if err != nil {
			return fmt.Errorf("re-wrapping copy %s: %w", id, err)
		}
		// A large blob's record holds its age header alone: the payload
		// file, unreadable without it, stays where it is.
		sealed, err := seal.Seal(newKey, seal.AD(id, name), ageFile)
		if err != nil {
			return err
		}
		rec.Bucket, rec.Sealed = name, sealed
		if err := put(txn, pBlob+id, rec); err != nil {
			return err
		}
		if err := txn.Delete([]byte(pMember + bucket + "/" + id)); err != nil {
			return err
		}
		if err := txn.Set([]byte(pMember+name+"/"+id), nil); err != nil {
			return err
		}
		// A note's own copy: its metadata names its bucket.
		var n noteRec
		if err := get(txn, pNote+id, &n); err == nil {
			n.Bucket = name
			if err := put(txn, pNote+id, &n); err != nil {
				return err
			}
		} else if !isNotFound(err) {
			return err
		}
	}
	return nil
}
