package audit

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"time"
)

// KeyLookup gives a participant's signing key; ok=false for system actors
// and unknown names.
type KeyLookup func(actor string) (ed25519.PublicKey, bool)

// VerifyError names the first audit record that fails verification.
type VerifyError struct {
	Seq    uint64 // the record (log position) that failed
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason)
}

// Checkpoint is the size of the log and the Hash of its last record at that
// size (zero for an empty log). See SignCheckpoint and OpenCheckpoint.
type Checkpoint struct {
	Size uint64
	Head [32]byte
}

// Verifier checks a log one record at a time, in order. It keeps only the
// previous record's hash and time, so logs of any length stream through it.
//
// Use: NewVerifier, Expect for each trusted checkpoint, Add for every
// record in order, then Finish. The first failure is sticky: every later
// Add and Finish return the same *VerifyError, and Size and Head stay at
// the last record that verified.
type Verifier struct {
	keys   KeyLookup
	system map[string]bool
	// Retired, when set, gives the keys a participant used before the one
	// keys gives: a record signed by one of them is also accepted (it was
	// made with the key the person held then, or read with it since).
	Retired func(actor string) []ed25519.PublicKey

	size    uint64
	head    [32]byte
	last    time.Time // previous record's time
	expects []Checkpoint
	err     *VerifyError
}

// NewVerifier returns a Verifier for a log whose participant keys come from
// keys and whose unsigned system actors are systemActors. A record whose
// actor is neither a known participant nor a listed system actor fails; a
// name known to keys is treated as a participant (its records must be
// signed) even if it is also listed as a system actor.
func NewVerifier(keys KeyLookup, systemActors ...string) *Verifier {
	v := &Verifier{keys: keys, system: make(map[string]bool, len(systemActors))}
	for _, a := range systemActors {
		v.system[a] = true
	}
	return v
}

func (v *Verifier) retiredVerify(r *Record) bool {
	if v.Retired == nil {
		return false
	}
	for _, k := range v.Retired(r.Actor) {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, r.SignedBytes(), r.Sig) {
			return true
		}
	}
	return false
}

// Size is the number of records verified so far.
func (v *Verifier) Size() uint64 { return v.size }

// Head is the Hash of the last record verified (zero before the first).
func (v *Verifier) Head() [32]byte { return v.head }

// Checkpoint returns the verifier's current size and head, e.g. to sign a
// new checkpoint after a successful verification.
func (v *Verifier) Checkpoint() Checkpoint { return Checkpoint{Size: v.size, Head: v.head} }

// Expect registers a trusted checkpoint (typically from OpenCheckpoint).
// When the verifier reaches cp.Size records, Add compares Head with
// cp.Head; Finish reports a log shorter than cp.Size. Call Expect before
// streaming the records: a checkpoint for a size already passed cannot be
// checked and is refused with a plain error; one for the current size is
// checked at once.
func (v *Verifier) Expect(cp Checkpoint) error {
	switch {
	case cp.Size < v.size:
		return fmt.Errorf("audit: checkpoint for %d records registered after %d records were verified", cp.Size, v.size)
	case cp.Size == v.size:
		if v.err != nil {
			return v.err
		}
		if err := v.checkHead(cp); err != nil {
			return v.fail(err)
		}
		return nil
	}
	v.expects = append(v.expects, cp)
	return nil
}

func (v *Verifier) checkHead(cp Checkpoint) *VerifyError {
	if v.head != cp.Head {
		if cp.Size == 0 {
			return &VerifyError{Seq: 0, Reason: "checkpoint for an empty log has a non-zero head"}
		}
		return &VerifyError{Seq: cp.Size, Reason: fmt.Sprintf("head hash does not match the signed checkpoint for %d records (log rewritten)", cp.Size)}
	}
	return nil
}

func (v *Verifier) fail(e *VerifyError) error {
	v.err = e
	return e
}

// Add verifies the next record: its Seq is one more than the previous
// record's (the first is 1), its Prev is the hex Hash of the previous
// record ("" for the first), its Time is not before the previous record's,
// its Actor is a known participant or system actor, and a participant's
// record carries a valid signature (a system actor's record carries none).
// If a checkpoint was registered for this size, the new head must match
// it. Failures are *VerifyError.
func (v *Verifier) Add(r *Record) error {
	if v.err != nil {
		return v.err
	}
	want := v.size + 1
	if r == nil {
		return v.fail(&VerifyError{Seq: want, Reason: "record is missing (nil)"})
	}
	if r.Seq != want {
		return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("expected record %d but found record %d (record removed, duplicated or out of order)", want, r.Seq)})
	}
	if v.size == 0 {
		if r.Prev != "" {
			return v.fail(&VerifyError{Seq: want, Reason: "first record has a prev hash (records before it were removed)"})
		}
	} else {
		if r.Prev != hex.EncodeToString(v.head[:]) {
			return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("prev hash does not match record %d (edited, inserted or removed record)", v.size)})
		}
		if r.Time.Before(v.last) {
			return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("time %s is before record %d's time %s", r.Time.UTC().Format(time.RFC3339Nano), v.size, v.last.UTC().Format(time.RFC3339Nano))})
		}
	}
	if r.Actor == "" {
		return v.fail(&VerifyError{Seq: want, Reason: "record has no actor"})
	}
	var pub ed25519.PublicKey
	var known bool
	if v.keys != nil {
		pub, known = v.keys(r.Actor)
	}
	switch {
	case known:
		if len(r.Sig) == 0 {
			return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("record by %q is not signed", r.Actor)})
		}
		if len(pub) != ed25519.PublicKeySize {
			return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("signing key of %q is malformed", r.Actor)})
		}
		if !ed25519.Verify(pub, r.SignedBytes(), r.Sig) && !v.retiredVerify(r) {
			return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("signature of %q does not verify (edited or forged record)", r.Actor)})
		}
	case v.system[r.Actor]:
		if len(r.Sig) != 0 {
			return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("record by system actor %q carries a signature", r.Actor)})
		}
	default:
		return v.fail(&VerifyError{Seq: want, Reason: fmt.Sprintf("unknown actor %q", r.Actor)})
	}

	v.size, v.head = want, r.Hash()
	v.last = r.Time
	for _, cp := range v.expects {
		if cp.Size == v.size {
			if err := v.checkHead(cp); err != nil {
				return v.fail(err)
			}
		}
	}
	return nil
}

// Finish ends verification. It returns the first failure seen by Add, or a
// *VerifyError if the log ends before the largest expected checkpoint
// (records were cut off); its Seq is the first missing record.
func (v *Verifier) Finish() error {
	if v.err != nil {
		return v.err
	}
	var max uint64
	for _, cp := range v.expects {
		if cp.Size > max {
			max = cp.Size
		}
	}
	if max > v.size {
		return v.fail(&VerifyError{Seq: v.size + 1, Reason: fmt.Sprintf("audit log ends at record %d but the checkpoint covers %d records (records were cut off)", v.size, max)})
	}
	return nil
}
