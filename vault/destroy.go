package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/kv"

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

// IndexEntry is one entry of the expiry index and the metadata of the note
// it files, nil when there is no such note or it fails verification (then
// Problem says why: such a note is neither destroyed nor kept on its word).
type IndexEntry struct {
	At      time.Time // whole seconds
	Note    string
	Meta    *Note
	Problem string
}

// ExpiryIndex returns the entries of the expiry index filed at or before
// until (every entry when until is zero), earliest first, each with its
// note's metadata. It reads the index only up to until, so the sweep's cost
// grows with what is due, not with the vault.
func (v *Vault) ExpiryIndex(ctx context.Context, until time.Time) ([]IndexEntry, error) {
	out, _, err := v.expiryIndex(ctx, until, "", 0)
	return out, err
}

// ExpiryIndexPage is ExpiryIndex a page at a time: the entries after the
// cursor after ("" for the first page), at least limit of them unless the
// index ends first, and then every further entry of the same expiry hour,
// so that a shred-key bucket (one per hour) is never split between pages.
// It returns the cursor of the next page, "" after the last.
func (v *Vault) ExpiryIndexPage(ctx context.Context, until time.Time, after string, limit int) ([]IndexEntry, string, error) {
	return v.expiryIndex(ctx, until, after, max(limit, 1))
}

func (v *Vault) expiryIndex(ctx context.Context, until time.Time, after string, limit int) ([]IndexEntry, string, error) {
	var out []IndexEntry
	next := ""
	err := v.view(func(txn kv.Txn) error {
		out, next = out[:0], ""
		cursor := after
		o := kv.IterOptions{Prefix: []byte(pExpiry)}
		o.KeysOnly = true
		it := txn.NewIterator(o)
		defer it.Close()
		it.Rewind()
		if after != "" {
			it.Seek([]byte(after))
			if it.Valid() && string(it.Key()) == after {
				it.Next()
			}
		}
		for ; it.Valid(); it.Next() {
			key := string(it.Key())
			unix, id, ok := parseExpiryKey(key)
			if !ok {
				continue
			}
			if !until.IsZero() && unix > until.Unix() {
				break
			}
			at := time.Unix(unix, 0).UTC()
			if limit > 0 && len(out) >= limit && expiryBase(at) != expiryBase(out[len(out)-1].At) {
				next = cursor // more to come: the page ends at the entry before
				break
			}
			out = append(out, IndexEntry{At: at, Note: id})
			cursor = key
		}
		if err := it.Err(); err != nil {
			return err
		}
		nv := v.newNoteVerifier(txn)
		notes := v.preverifyNotes(ctx, txn, nv, out)
		for i := range out {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := &out[i]
			n, err := v.sweepNoteFrom(txn, e.Note, notes[e.Note], nv)
			switch {
			case err == nil:
				e.Meta = n
			case errors.Is(err, ErrNotFound):
				// no note: the plan warns of the entry
			case refusal(err):
				e.Problem = err.Error()
			default:
				return err
			}
		}
		return nil
	})
	return out, next, err
}

// preverifyNotes reads the notes of entries and checks their authors'
// signatures on every core, ahead of the serial verification that needs
// them (see sigCache.preverify). It returns the notes it read; one it
// could not read or place is left for the serial pass to report.
func (v *Vault) preverifyNotes(ctx context.Context, txn kv.Txn, nv *noteVerifier, entries []IndexEntry) map[string]*Note {
	notes := make(map[string]*Note, len(entries))
	var jobs []sigJob
	for _, e := range entries {
		if _, ok := notes[e.Note]; ok || ctx.Err() != nil {
			continue
		}
		n, err := v.note(txn, e.Note)
		if err != nil {
			continue
		}
		notes[e.Note] = n
		m := n.rec.Meta
		a, err := nv.agreement(m.Agreement)
		if err != nil {
			continue
		}
		ver := a.Version(m.Version)
		if ver == nil || ver.Pins == nil {
			continue
		}
		pin, ok := ver.Pins[m.Author]
		if !ok {
			continue
		}
		p, err := nv.participant(m.Author)
		if err != nil {
			continue
		}
		if key, ok := p.keyWith(pin); ok {
			jobs = append(jobs, sigJob{key: key, msg: m.signedBytes(), sig: n.rec.Sig})
		}
	}
	verifiedSigs.preverify(jobs)
	return notes
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
func (v *Vault) sealedCopies(txn kv.Txn, n *Note) (map[string]string, error) {
	out := map[string]string{}
	blobs := append([]string{n.ID}, n.Copies...)
	if n.agr != nil {
		blobs = append(blobs, n.agr.copiesOf(n.ID)...)
	}
	for _, blob := range blobs {
		if _, dup := out[blob]; dup {
			continue
		}
		want := expiryBase(n.signedExpiry())
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

// sweepNote reads a note as retention acts on it: its Expires and its Held
// verdict decide whether it is destroyed. ExpiryIndex and SweepNotes read
// notes only through it, so what retention trusts about a note is settled
// in this one place: the author's signed metadata, verified against its
// agreement's chain, with the holds of that chain. agreements caches the
// chains folded so far.
func (v *Vault) sweepNote(txn kv.Txn, id string, nv *noteVerifier) (*Note, error) {
	return v.sweepNoteFrom(txn, id, nil, nv)
}

// sweepNoteFrom is sweepNote with the note's record already read (nil:
// read it).
func (v *Vault) sweepNoteFrom(txn kv.Txn, id string, n *Note, nv *noteVerifier) (*Note, error) {
	if n == nil {
		var err error
		if n, err = v.note(txn, id); err != nil {
			return nil, err
		}
	}
	a, err := nv.agreement(n.Agreement)
	if err != nil {
		return nil, err
	}
	if err := nv.verify(a, n); err != nil {
		return nil, err
	}
	// The copies destroyed with it are the chain's, each in a bucket of the
	// base its signed record implies.
	if _, err := v.sealedCopies(txn, n); err != nil {
		return nil, err
	}
	return n, nil
}

// Due is one note that a retention plan destroys: the rule its receipt
// names, and the entries of the expiry index the plan read for it (they go
// with the note).
type Due struct {
	Note  string
	Rule  string
	Index []time.Time
}

// target is one note to destroy and what its receipt says.
type target struct {
	n     *Note
	rule  string
	index []time.Time // expiry-index entries besides the one at n.Expires
}

// intent names the audit records that open and close a destruction.
type intent struct {
	begin string // written, with the notes' count and digest, before any key is destroyed
	end   string // written with the last receipts; empty: the receipts end it
}

var (
	sweepIntent  = intent{begin: "retention.sweep.begin", end: "retention.sweep.end"}
	deleteIntent = intent{begin: "note.delete.begin"}
)

// afterKeysDestroyed, when set (by tests only), runs in destroyNotes after
// the keys are destroyed and before the receipts are written; an error it
// returns stands for a crash there.
var afterKeysDestroyed func() error

// notesDigest is the digest an intent record carries: SHA-256 over the
// sorted note ids, each followed by a newline.
func notesDigest(notes []target) string {
	ids := make([]string, len(notes))
	for i, t := range notes {
		ids[i] = t.n.ID
	}
	sort.Strings(ids)
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id + "\n"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// destroyNotes destroys every copy of the given notes (theirs, supervisors'
// and disclosure copies), deletes their records and leaves a receipt each.
//
// First an intent record (the notes' count and digest) is committed to the
// audit log, so that no key is ever destroyed without the log saying so.
// Buckets all of whose members go are destroyed next, whole, with no
// re-wrapping: that is the common case of a sweep, and its cost grows with
// what is due. Buckets that keep other members are re-wrapped once each.
// Records and receipts follow in batches, each receipt naming the intent.
// A crash part way leaves notes whose copies are already unreadable, an
// intent without its end, and the notes' records; the next sweep finds them
// and finishes, receipts included.
func (v *Vault) destroyNotes(notes []target, actor string, signer audit.Signer, in intent) ([]Receipt, error) {
	if len(notes) == 0 {
		return nil, nil
	}
	payloads, err := v.payloadNames() // large blobs' payload files (payload.go)
	if err != nil {
		return nil, err
	}
	byBucket := map[string][]string{}
	bucketOf := map[string]string{}  // blob -> bucket
	blobsOf := map[string][]string{} // note -> its blobs still sealed
	err = v.view(func(txn kv.Txn) error {
		for _, t := range notes {
			n := t.n
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
	err = v.view(func(txn kv.Txn) error {
		whole = whole[:0] // a conflict runs the view again (view)
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
	begin := &audit.Record{Actor: actor, Action: in.begin, Rule: notes[0].rule,
		Detail: map[string]string{"notes": strconv.Itoa(len(notes)), "digest": notesDigest(notes)}}
	if len(notes) == 1 {
		begin.Subject, begin.Kind = notes[0].n.ID, string(notes[0].n.Kind)
	}
	if a := notes[0].n.Agreement; !slices.ContainsFunc(notes, func(t target) bool { return t.n.Agreement != a }) {
		begin.Agreement = a
	}
	if len(notes) > 1 {
		begin.Rule = ""
	}
	if err := v.update(func(txn kv.Txn) error { return v.appendLog(txn, begin, signer) }); err != nil {
		return nil, err
	}
	intentSeq := strconv.FormatUint(begin.Seq, 10)
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
	if afterKeysDestroyed != nil {
		if err := afterKeysDestroyed(); err != nil {
			return nil, err
		}
	}
	// Records of the whole buckets' blobs, the notes, and the receipts.
	// At most 1,024 notes a transaction, fewer when their records do not
	// fit (a note with many copies deletes many records).
	batch := 1024
	var out []Receipt
	for start := 0; start < len(notes); {
		chunk := notes[start:min(start+batch, len(notes))]
		var rs []Receipt
		err := v.update(func(txn kv.Txn) error {
			rs = rs[:0]
			now := v.Now()
			for _, t := range chunk {
				n := t.n
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
				// Its import mark (a keyed digest of its content) goes with
				// it: nothing of a destroyed note stays behind.
				if strings.HasPrefix(n.mark, pImport) {
					if err := txn.Delete([]byte(n.mark)); err != nil {
						return err
					}
				}
				if err := txn.Delete([]byte(expiryKey(n.Expires.Unix(), n.ID))); err != nil {
					return err
				}
				for _, at := range t.index {
					if err := txn.Delete([]byte(expiryKey(at.Unix(), n.ID))); err != nil {
						return err
					}
				}
				r := Receipt{Note: n.ID, Kind: n.Kind, Agreement: n.Agreement, Rule: t.rule, At: now}
				if err := v.appendLog(txn, &audit.Record{Actor: actor, Action: "note.destroy", Agreement: n.Agreement,
					Subject: n.ID, Kind: string(n.Kind), Rule: r.Rule, Time: now,
					Detail: map[string]string{"intent": intentSeq}}, signer); err != nil {
					return err
				}
				rs = append(rs, r)
			}
			if last := start+len(chunk) >= len(notes); last && in.end != "" {
				return v.appendLog(txn, &audit.Record{Actor: actor, Action: in.end, Agreement: begin.Agreement, Time: now,
					Detail: map[string]string{"intent": intentSeq, "notes": strconv.Itoa(len(notes))}}, signer)
			}
			return nil
		})
		if errors.Is(err, kv.ErrTooBig) && batch > 1 {
			batch /= 2 // nothing was written: this chunk's first half
			continue
		}
		if err != nil {
			return out, err
		}
		if len(payloads) > 0 {
			var gone []string
			for _, t := range chunk {
				for _, blob := range append([]string{t.n.ID}, blobsOf[t.n.ID]...) {
					if payloads[blob] {
						gone = append(gone, blob)
					}
				}
			}
			if err := v.removePayloads(gone); err != nil {
				return out, err
			}
		}
		out = append(out, rs...)
		start += len(chunk)
	}
	return out, nil
}

// SweepNotes destroys exactly the notes a retention plan found due and
// leaves a receipt for each, naming the plan's rule. It needs no
// participant's key. Before destroying anything it checks the plan against
// the store and refuses the whole sweep if a note is held or is not due by
// its metadata; a note that is already gone is skipped.
func (v *Vault) SweepNotes(ctx context.Context, due []Due) ([]Receipt, error) {
	var ts []target
	err := v.view(func(txn kv.Txn) error {
		ts = ts[:0] // a conflict runs the view again (view)
		now := v.Now()
		nv := v.newNoteVerifier(txn)
		for _, d := range due {
			n, err := v.sweepNote(txn, d.Note, nv)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if n.Held() {
				return fmt.Errorf("the retention plan destroys note %s, which is held; refusing to sweep", n.ID)
			}
			if n.Expires.After(now) {
				return fmt.Errorf("the retention plan destroys note %s, which is not due until %s; refusing to sweep", n.ID, policy.FormatTime(n.Expires))
			}
			ts = append(ts, target{n: n, rule: d.Rule, index: d.Index})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v.destroyNotes(ts, ActorRetention, nil, sweepIntent)
}

// DeleteNote destroys a note now, with the same guarantee as the sweep. Its
// author or the agreement's mentee may delete it; a held note cannot be.
func (v *Vault) DeleteNote(ctx context.Context, noteID string, id *identity.Identity) (*Receipt, error) {
	var n *Note
	var me *Participant
	err := v.view(func(txn kv.Txn) error {
		act, note, err := v.beginNote(txn, id, noteID)
		if err != nil {
			return err
		}
		n, me = note, act.me
		if d := policy.DeleteNote(me.Name, n.policy(), act.agreement.termsInForce()); !d.Allowed() {
			return denied(d)
		}
		// Destroying is a write: a retired key (perhaps the stolen one a
		// rotation retired) reads what was sealed to it, never deletes.
		return v.checkCurrent(me, id)
	})
	if err != nil {
		return nil, err
	}
	rs, err := v.destroyNotes([]target{{n: n, rule: "delete"}}, me.Name, id, deleteIntent)
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// NextDue returns the earliest expiry in the vault after now, or zero.
func (v *Vault) NextDue(ctx context.Context, now time.Time) (time.Time, error) {
	var next time.Time
	err := v.view(func(txn kv.Txn) error {
		o := kv.IterOptions{Prefix: []byte(pExpiry)}
		o.KeysOnly = true
		it := txn.NewIterator(o)
		defer it.Close()
		it.Seek([]byte(expiryKey(now.Unix()+1, "")))
		if it.Valid() {
			if unix, _, ok := parseExpiryKey(string(it.Key())); ok {
				next = time.Unix(unix, 0).UTC()
			}
		}
		return it.Err()
	})
	return next, err
}

// KeyEpoch turns the key-encryption key of a keyring that has one (a
// server's, kek.Keyring): rotate it when due, re-wrap every shred key under
// the new version, destroy the versions retired longer than the backup
// window. The sweep runs it. A vault whose shred keys are files has no KEK:
// it does nothing and reports false.
func (v *Vault) KeyEpoch(ctx context.Context) (kek.EpochReport, bool, error) {
	k, ok := v.keys.(interface {
		Turn(context.Context) (kek.EpochReport, error)
	})
	if !ok {
		return kek.EpochReport{}, false, nil
	}
	r, err := k.Turn(ctx)
	return r, true, err
}

// Housekeep destroys shred keys and removes payload files that no record
// refers to any more, and finishes re-wraps: what an interrupted add, sweep
// or deletion leaves behind. It returns how many it removed or finished.
func (v *Vault) Housekeep(ctx context.Context) (int, error) {
	// A re-wrap that a crash interrupted (destroyBlobs): its members move
	// on and its key goes, as they would have.
	var rewraps []string
	if err := v.view(func(txn kv.Txn) error {
		rewraps = rewraps[:0] // a conflict runs the view again (view)
		return scanKeys(txn, pRewrap, func(k string) error {
			rewraps = append(rewraps, strings.TrimPrefix(k, pRewrap))
			return nil
		})
	}); err != nil {
		return 0, err
	}
	for _, b := range rewraps {
		if err := v.moveMembers(b); err != nil {
			return 0, err
		}
		if err := v.keys.Destroy(b); err != nil {
			return 0, err
		}
	}
	buckets, err := v.keys.Buckets()
	if err != nil {
		return 0, err
	}
	sort.Strings(buckets)
	var orphans []string
	err = v.view(func(txn kv.Txn) error {
		orphans = orphans[:0] // a conflict runs the view again (view)
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
	marks, err := v.housekeepMarks()
	if err != nil {
		return len(orphans), err
	}
	files, err := v.housekeepPayloads()
	return len(rewraps) + len(orphans) + marks + files, err
}

// housekeepMarks deletes import marks whose note is gone: notes imported
// before a note's record named its mark were destroyed without it.
func (v *Vault) housekeepMarks() (int, error) {
	var orphans []string
	err := v.view(func(txn kv.Txn) error {
		orphans = orphans[:0] // a conflict runs the view again (view)
		return scan(txn, pImport, func(k string, m *importMark) error {
			if _, err := txn.Get([]byte(pNote + m.Note)); isNotFound(err) {
				orphans = append(orphans, k)
			} else if err != nil {
				return err
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	err = v.inBatches(orphans, 4096, func(txn kv.Txn, batch []string) error {
		for _, k := range batch {
			if err := txn.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	return len(orphans), err
}

// kSweepMark holds what the last sweep vouched for (sweepMark).
const kSweepMark = "z/sweepmark"

type sweepMark struct {
	// Trusted is the newest time the vault vouches for at the end of the
	// last sweep: the activity before it, or the sweep's own clock when the
	// sweep trusted it.
	Trusted time.Time `json:"trusted"`
	// Seq is the size of the audit log when the mark was written.
	Seq uint64 `json:"seq"`
}

// LastActivity returns the newest time the vault can vouch for without
// taking the sweep's clock on trust: the time of the newest audit record
// written by anyone but the sweep, or the time the last sweep vouched for
// (MarkSwept), whichever is later; zero for a vault with neither. Before the
// first mark, every record counts, the sweep's too. The log is read back
// from its newest record only as far as the first record that counts or the
// last mark, so the cost is what happened since the last sweep.
func (v *Vault) LastActivity(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := v.view(func(txn kv.Txn) (err error) {
		t, _, err = v.lastActivity(ctx, txn)
		return err
	})
	return t, err
}

func (v *Vault) lastActivity(ctx context.Context, txn kv.Txn) (time.Time, uint64, error) {
	var mark sweepMark
	marked := true
	if err := get(txn, kSweepMark, &mark); isNotFound(err) {
		marked = false
	} else if err != nil {
		return time.Time{}, 0, err
	}
	var head logHead
	if err := get(txn, kLogHead, &head); isNotFound(err) {
		return mark.Trusted, 0, nil
	} else if err != nil {
		return time.Time{}, 0, err
	}
	latest := mark.Trusted
	o := kv.IterOptions{Prefix: []byte(pLog)}
	o.Reverse = true
	it := txn.NewIterator(o)
	defer it.Close()
	for it.Seek([]byte(logKey(head.Seq))); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return time.Time{}, 0, err
		}
		b, err := it.Value()
		if err != nil {
			return time.Time{}, 0, err
		}
		rec, err := audit.Decode(b)
		if err != nil {
			return time.Time{}, 0, fmt.Errorf("audit record %x: %w", it.Key()[len(pLog):], err)
		}
		if marked && rec.Seq <= mark.Seq {
			break
		}
		if !marked || rec.Actor != ActorRetention {
			// Records are in time order: the first that counts is the newest.
			if rec.Time.After(latest) {
				latest = rec.Time
			}
			break
		}
	}
	if err := it.Err(); err != nil {
		return time.Time{}, 0, err
	}
	return latest, head.Seq, nil
}

// MarkSwept records that a sweep has ended. It vouches for t as a time the
// clock has really reached (the zero time vouches for nothing new); from
// then on LastActivity returns at least t and the activity before the mark.
// It writes no audit record.
func (v *Vault) MarkSwept(ctx context.Context, t time.Time) error {
	return v.update(func(txn kv.Txn) error {
		latest, seq, err := v.lastActivity(ctx, txn)
		if err != nil {
			return err
		}
		if t.After(latest) {
			latest = t
		}
		return put(txn, kSweepMark, sweepMark{Trusted: latest.UTC(), Seq: seq})
	})
}
