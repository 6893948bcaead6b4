package vault

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/vault/audit"
)

// System actors: records they write carry no person's signature.
const (
	ActorVault     = "vault"     // administrative records (participants, agreements created)
	ActorRetention = "retention" // the sweep
)

type logHead struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
}

// ErrClock: the clock runs behind the newest audit record. Decisions made on
// such a clock cannot be trusted, so the vault refuses to act.
var ErrClock = errors.New("the clock is earlier than the newest audit record; refusing to act on it")

// appendLog queues rec for the audit log; flushLog gives it its place
// (sequence number and previous hash) and signs it at the end of the
// transaction. The record commits with the action it records, or neither
// does: the log fails closed. The log's head is the one record every
// writer changes, so
// it is read last: on a server, after the writers' turn (kv.Turner), which
// then covers only the end of an action, not its crypto and its reads.
func (v *Vault) appendLog(txn kv.Txn, rec *audit.Record, signer audit.Signer) error {
	if rec.Time.IsZero() {
		rec.Time = v.Now()
	}
	rec.Time = rec.Time.UTC()
	v.queued = append(v.queued, queuedRecord{rec, signer})
	return nil
}

// logAhead is what the end of an action reads of the log (checkLog, then
// flushLog): its head, and its records from the signed checkpoint on.
func (v *Vault) logAhead() kv.Ahead {
	a := kv.Ahead{Keys: [][]byte{[]byte(kLogHead)}}
	if v.trust != nil {
		a.Walks = []kv.Walk{{Prefix: []byte(pLog), From: []byte(logKey(v.trust.signed.Size))}}
	}
	return a
}

// queuedRecord is a record appendLog queued, with who signs it.
type queuedRecord struct {
	rec    *audit.Record
	signer audit.Signer
}

// flushLog appends the queued records to the log in txn and moves its
// head: the head is read once per transaction and written once (a sweep
// appends thousands of receipts in one).
func (v *Vault) flushLog(txn kv.Txn) error {
	if len(v.queued) == 0 {
		return nil
	}
	head := &logHead{}
	if err := get(txn, kLogHead, head); err != nil && !isNotFound(err) {
		return err
	}
	now := v.Now()
	for _, q := range v.queued {
		rec := q.rec
		if rec.Time.Before(head.Time) {
			// Another writer committed a newer record while this action
			// ran (on a server, where writers take turns only for the
			// end): the record takes the time it is appended at. A clock
			// behind the log is still refused.
			if head.Time.After(now) {
				return ErrClock
			}
			rec.Time = now
		}
		rec.Seq = head.Seq + 1
		rec.Prev = head.Hash
		if q.signer != nil {
			rec.SignWith(q.signer)
		}
		b, err := audit.Encode(rec)
		if err != nil {
			return err
		}
		if err := txn.Set([]byte(logKey(rec.Seq)), b); err != nil {
			return err
		}
		h := rec.Hash()
		*head = logHead{Seq: rec.Seq, Hash: hex.EncodeToString(h[:]), Time: rec.Time}
	}
	return put(txn, kLogHead, head)
}

// trust is what this process has verified of the audit log, under mu.
type trust struct {
	key       string           // verifier key: the pinned one, else the vault's checkpoint.pub
	signed    audit.Checkpoint // the vault's newest signed checkpoint, verified
	signedMsg []byte           // its signed note; nil only for an empty log without one
	log       audit.Checkpoint // the log as far as verified to extend signed
}

// A mark is a checkpoint the log must still extend, and how a refusal
// names it.
type mark struct {
	audit.Checkpoint
	what    string // "the checkpoint you last saw", "the vault's signed checkpoint"
	pinFile string // the user's pin, when the mark comes from it
}

const (
	pinnedWhat = "the checkpoint you last saw"
	signedWhat = "the vault's signed checkpoint"
)

func signedMark(cp audit.Checkpoint) mark { return mark{cp, signedWhat, ""} }

// What a RollbackError names.
const (
	theLog        = "the audit log"
	theCheckpoint = "the audit checkpoint"
)

// rollback builds the refusal; pinFile names the user's pin when the pin is
// what the vault no longer matches.
func (v *Vault) rollback(pinFile, what, format string, args ...any) *RollbackError {
	return &RollbackError{What: what, Msg: fmt.Sprintf(format, args...), Dir: v.dir, PinFile: pinFile}
}

func (v *Vault) checkpointMissing(records uint64) *RollbackError {
	return v.rollback("", theCheckpoint, "it is missing, but the log has %d records", records)
}

// fail keeps a refusal: after it, the vault writes nothing and Close leaves
// the pin alone.
func (v *Vault) fail(err error) error {
	if errors.Is(err, ErrRollback) && v.failed == nil {
		v.failed = err
	}
	return err
}

// vaultVerifierKey reads checkpoint.pub from the vault directory.
func (v *Vault) vaultVerifierKey() (string, error) {
	b, err := readSmallFile(filepath.Join(v.dir, checkpointPub), checkpointFileLimit)
	if err != nil {
		return "", fmt.Errorf("reading the checkpoint verifier key: %w", err)
	}
	return string(trimNewline(b)), nil
}

// readCheckpoint reads audit.checkpoint and verifies it under key. A missing
// file gives a nil message and no error.
func (v *Vault) readCheckpoint(key string) (audit.Checkpoint, []byte, error) {
	msg, err := readSmallFile(filepath.Join(v.dir, checkpointFile), checkpointFileLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return audit.Checkpoint{}, nil, nil
	}
	if err != nil {
		return audit.Checkpoint{}, nil, fmt.Errorf("reading the audit checkpoint: %w", err)
	}
	size, head, err := audit.OpenCheckpoint(msg, key)
	if err != nil {
		return audit.Checkpoint{}, nil, v.rollback("", theCheckpoint, "it does not verify under the vault's checkpoint key (%v)", err)
	}
	return audit.Checkpoint{Size: size, Head: head}, msg, nil
}

// establish verifies, once per process, that the vault's audit history is
// one this user may trust, and sets v.trust. With a pin: the vault's
// verifier key is the pinned one, and the log and the vault's checkpoint
// extend the pinned checkpoint. Without (first use, or pinning off): the
// log extends the vault's own checkpoint, and only an empty log may lack
// one. Either way only the records after the trusted size (and the record
// at it) are read.
func (v *Vault) establish(txn kv.Txn) error {
	key, err := v.vaultVerifierKey()
	if err != nil {
		return err
	}
	p := v.pinned
	if p != nil && key != p.Key {
		return v.rollback(v.pinPath, "the vault", "its checkpoint key is not the one you last saw")
	}
	if err := v.checkSigner(key); err != nil {
		return err
	}
	cp, msg, err := v.readCheckpoint(key)
	if err != nil {
		return err
	}
	from, also := signedMark(cp), (*mark)(nil)
	switch {
	case p != nil:
		from = mark{p.cp, pinnedWhat, v.pinPath}
		if msg != nil && cp.Size >= p.cp.Size {
			also = &mark{cp, signedWhat, ""}
		}
	case msg == nil:
		// Nothing to start from: only an empty log may lack a checkpoint.
		if n := lastLogSeq(txn); n > 0 {
			return v.checkpointMissing(n)
		}
	}
	end, err := v.walkLog(txn, from, also, from.Size)
	if err != nil {
		return err
	}
	switch {
	case msg == nil && end.Size > 0:
		return v.checkpointMissing(end.Size)
	case p != nil && msg != nil && cp.Size < p.cp.Size:
		return v.rollback(v.pinPath, theCheckpoint, "it covers %d records, but the checkpoint you last saw covers %d", cp.Size, p.cp.Size)
	}
	v.trust = &trust{key: key, signed: cp, signedMsg: msg, log: end}
	return nil
}

// checkSigner refuses a checkpoint signing key whose checkpoints would not
// verify under key, before any action is taken on it.
func (v *Vault) checkSigner(key string) error {
	msg, err := audit.SignCheckpoint(v.ckKey, 0, [32]byte{})
	if err == nil {
		_, _, err = audit.OpenCheckpoint(msg, key)
	}
	if err != nil {
		return v.rollback("", "the checkpoint signing key", "it does not match the vault's verifier key")
	}
	return nil
}

// walkLog checks that the audit log still extends from: the record at
// from.Size hashes to from.Head, every later record links to the one before
// it, and z/loghead names the last one. With also set (a checkpoint at least
// as large as from), the record at also.Size must hash to also.Head. Records
// after observeAfter are handed to observeRecord, in order. It returns the
// log's size and head. Nothing before from.Size is read, so the cost grows
// with the records added since from, not with the log.
func (v *Vault) walkLog(txn kv.Txn, from mark, also *mark, observeAfter uint64) (audit.Checkpoint, error) {
	var alsoHead [32]byte // the hash of the record at also.Size
	if also != nil && also.Size == from.Size {
		alsoHead = from.Head
	}
	cur, err := v.follow(txn, from.Checkpoint, func(rec *audit.Record, h [32]byte) error {
		if also != nil && rec.Seq == also.Size {
			alsoHead = h
		}
		if rec.Seq > observeAfter {
			return v.observeRecord(rec)
		}
		return nil
	})
	var le *linkError
	switch {
	case errors.Is(err, errShort):
		return cur, v.cutBack(from, lastLogSeq(txn))
	case errors.As(err, &le) && le.seq == from.Size:
		return cur, v.forked(from)
	case errors.As(err, &le):
		return cur, v.rollback(from.pinFile, theLog, "its record %d %s", le.seq, le.reason)
	case err != nil:
		return cur, err
	}
	if also != nil && also.Size > cur.Size {
		return cur, v.cutBack(*also, cur.Size)
	}
	if also != nil && alsoHead != also.Head {
		return cur, v.forked(*also)
	}
	var head logHead
	if err := get(txn, kLogHead, &head); err != nil && !isNotFound(err) {
		return cur, err
	}
	if head.Seq != cur.Size || (cur.Size > 0 && head.Hash != hex.EncodeToString(cur.Head[:])) {
		return cur, v.rollback("", theLog, "its head names record %d, but its last record is %d", head.Seq, cur.Size)
	}
	return cur, nil
}

// cutBack: the log ends (with last records) before the mark.
func (v *Vault) cutBack(m mark, last uint64) *RollbackError {
	return v.rollback(m.pinFile, theLog, "it ends at record %d, but %s covers %d records", last, m.what, m.Size)
}

// forked: the log's record at the mark's size is another one.
func (v *Vault) forked(m mark) *RollbackError {
	return v.rollback(m.pinFile, theLog, "its record %d is not the one %s covers: the log was forked", m.Size, m.what)
}

// errShort: the log ends before the record follow starts from.
var errShort = errors.New("audit log ends early")

// linkError is a record that breaks the chain follow walks.
type linkError struct {
	seq    uint64
	reason string
}

func (e *linkError) Error() string { return fmt.Sprintf("audit record %d %s", e.seq, e.reason) }

// follow reads the log from the record at from.Size, which must hash to
// from.Head, to its end, checks that each later record links to the one
// before it, and calls fn with each of them and its hash. It returns the
// log's size and head: errShort if there is no record at from.Size, a
// *linkError for the first record that breaks the chain.
func (v *Vault) follow(txn kv.Txn, from audit.Checkpoint, fn func(*audit.Record, [32]byte) error) (audit.Checkpoint, error) {
	o := kv.IterOptions{Prefix: []byte(pLog)}
	it := txn.NewIterator(o)
	defer it.Close()
	it.Seek([]byte(logKey(from.Size)))
	if from.Size > 0 {
		if !it.Valid() || string(it.Key()) != logKey(from.Size) {
			return from, errShort
		}
		rec, err := decodeLogValue(it)
		if err != nil || rec.Seq != from.Size || rec.Hash() != from.Head {
			return from, &linkError{seq: from.Size, reason: "was replaced"}
		}
		it.Next()
	}
	cur := from
	for ; it.Valid(); it.Next() {
		want := cur.Size + 1
		rec, err := decodeLogValue(it)
		switch {
		case err != nil:
			return cur, &linkError{seq: want, reason: "does not decode"}
		case rec.Seq != want || string(it.Key()) != logKey(want):
			return cur, &linkError{seq: want, reason: fmt.Sprintf("is missing (found record %d after record %d)", rec.Seq, cur.Size)}
		case cur.Size == 0 && rec.Prev != "",
			cur.Size > 0 && rec.Prev != hex.EncodeToString(cur.Head[:]):
			return cur, &linkError{seq: want, reason: fmt.Sprintf("does not link to record %d", cur.Size)}
		}
		cur = audit.Checkpoint{Size: want, Head: rec.Hash()}
		if err := fn(rec, cur.Head); err != nil {
			return cur, err
		}
	}
	return cur, it.Err()
}

func decodeLogValue(it kv.Iterator) (*audit.Record, error) {
	b, err := it.Value()
	if err != nil {
		return nil, err
	}
	return audit.Decode(b)
}

// lastLogSeq is the sequence number of the log's last stored record (0 for
// none), read from its key alone.
func lastLogSeq(txn kv.Txn) uint64 {
	o := kv.IterOptions{Prefix: []byte(pLog)}
	o.Reverse = true
	o.KeysOnly = true
	it := txn.NewIterator(o)
	defer it.Close()
	it.Seek([]byte(pLog + "\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	if !it.Valid() {
		return 0
	}
	k := it.Key()[len(pLog):]
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// checkLog runs before every write: the log must still extend what this
// process verified (establishing that first if pinning is off), so a
// rolled-back vault takes no new action.
func (v *Vault) checkLog(txn kv.Txn) error {
	if v.trust == nil {
		return v.establish(txn)
	}
	end, err := v.walkLog(txn, signedMark(v.trust.signed), nil, v.trust.log.Size)
	if err != nil {
		return err
	}
	v.trust.log = end
	return nil
}

// writeCheckpoint signs the current size and head of the log and stores it
// outside the chain, so that cutting records off the end is detected. It
// first verifies the previous checkpoint (the one this process verified
// before, under the same key) and that the log extends it: the record at its
// size still hashes to its head and the chain links from there to the new
// head. The file is written with fsync of the temporary file, rename and
// fsync of the directory. Called with mu held, after a commit.
func (v *Vault) writeCheckpoint() error {
	t := v.trust
	return v.view(func(txn kv.Txn) error {
		// The log's head and its records since the signed checkpoint, in
		// one read on a server: a commit landing between the two would
		// send this view round again.
		if p, ok := txn.(kv.Prefetcher); ok {
			if err := p.Prefetch(v.logAhead()); err != nil {
				return err
			}
		}
		cp, msg, err := v.readCheckpoint(t.key)
		if err != nil {
			return err
		}
		switch {
		case msg == nil && t.signedMsg != nil:
			return v.rollback("", theCheckpoint, "it was deleted while the vault was open (it covered %d records)", t.signed.Size)
		case cp != t.signed || (msg != nil) != (t.signedMsg != nil):
			return v.rollback("", theCheckpoint, "it changed from %d to %d records while the vault was open", t.signed.Size, cp.Size)
		}
		end, err := v.walkLog(txn, signedMark(t.signed), nil, t.log.Size)
		if err != nil {
			return err
		}
		t.log = end
		if end == t.signed && msg != nil {
			return nil
		}
		next, err := audit.SignCheckpoint(v.ckKey, end.Size, end.Head)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(v.dir, checkpointFile), next, 0o600); err != nil {
			return fmt.Errorf("writing the audit checkpoint: %w", err)
		}
		t.signed, t.signedMsg = end, next
		return nil
	})
}

// Checkpoint returns the vault's newest signed checkpoint: the size and head
// of its audit log as a golang.org/x/mod/sumdb/note signed note, verified
// under the vault's verifier key (the pinned one, if the user has a pin).
// Keep a copy outside the vault; VerifyAuditCheckpoint checks the log
// against it later.
func (v *Vault) Checkpoint(ctx context.Context) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failed != nil {
		return nil, v.failed
	}
	if v.trust == nil {
		if err := v.view(v.establish); err != nil {
			return nil, v.fail(err)
		}
	}
	if v.trust.signedMsg == nil {
		return nil, errors.New("the vault has no signed checkpoint yet: its audit log is empty")
	}
	return bytes.Clone(v.trust.signedMsg), nil
}

// verifierKey is the key checkpoints must verify under: the pinned one (or
// the one verified earlier in this process), else the vault's.
func (v *Vault) verifierKey() (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.trust != nil {
		return v.trust.key, nil
	}
	return v.vaultVerifierKey()
}

// AuditLog returns the audit records, oldest first; with agreement set, only
// that agreement's records.
func (v *Vault) AuditLog(ctx context.Context, agreement string) ([]*audit.Record, error) {
	var out []*audit.Record
	err := v.view(func(txn kv.Txn) error {
		out = out[:0] // a conflict runs the view again (view)
		o := kv.IterOptions{Prefix: []byte(pLog)}
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := it.Value()
			if err != nil {
				return err
			}
			rec, err := audit.Decode(b)
			if err != nil {
				return fmt.Errorf("audit record %x: %w", it.Key()[len(pLog):], err)
			}
			if agreement == "" || rec.Agreement == agreement {
				out = append(out, rec)
			}
		}
		return it.Err()
	})
	return out, err
}

// VerifyAudit recomputes the chain and every signature, and checks the signed
// checkpoint. It returns the number of records verified, or an
// *audit.VerifyError naming the first record that fails.
func (v *Vault) VerifyAudit(ctx context.Context) (uint64, error) {
	return v.verifyAudit(ctx, nil)
}

// VerifyAuditCheckpoint is VerifyAudit that also checks the log against a
// signed checkpoint kept elsewhere (as Checkpoint returned it): the log must
// not end before it and its record at the checkpoint's size must hash to the
// checkpoint's head. The checkpoint must verify under the vault's verifier
// key, the pinned one if the user has a pin.
func (v *Vault) VerifyAuditCheckpoint(ctx context.Context, checkpoint []byte) (uint64, error) {
	key, err := v.verifierKey()
	if err != nil {
		return 0, err
	}
	size, head, err := audit.OpenCheckpoint(checkpoint, key)
	if err != nil {
		return 0, fmt.Errorf("the checkpoint is not one this vault's checkpoint key signed: %w", err)
	}
	return v.verifyAudit(ctx, &audit.Checkpoint{Size: size, Head: head})
}

// keyHistory is the key fingerprint the audit log gives each participant,
// and the ones it retired, as the log is read in order.
type keyHistory struct {
	cur     map[string]string
	retired map[string][]string
}

// follow updates h with a verified record: a registration, a rotation
// signed by the old key, a replacement signed by the party who vouched, a
// removal. A second registration of a name in use is refused (only an
// unsigned record could say it; AddParticipant never writes one).
func (h *keyHistory) follow(rec *audit.Record) error {
	move := func(who, to string) {
		if old := h.cur[who]; old != "" {
			h.retired[who] = append(h.retired[who], old)
		}
		h.cur[who] = to
	}
	switch rec.Action {
	case "participant.add":
		if _, dup := h.cur[rec.Subject]; dup {
			return &audit.VerifyError{Seq: rec.Seq, Reason: fmt.Sprintf("a second registration of participant %s, who is registered", rec.Subject)}
		}
		h.cur[rec.Subject] = rec.Detail["key"]
	case "participant.rotate":
		if rec.Actor == rec.Subject && rec.Detail["from"] != "" {
			move(rec.Subject, rec.Detail["to"])
		}
	case "participant.replace":
		if who := rec.Detail["participant"]; who != "" && who != rec.Actor && rec.Detail["from"] != "" {
			move(who, rec.Detail["to"])
		}
	case "participant.remove":
		if rec.Detail["kept"] == "" {
			delete(h.cur, rec.Subject)
			delete(h.retired, rec.Subject)
		}
	}
	return nil
}

func (v *Vault) verifyAudit(ctx context.Context, kept *audit.Checkpoint) (uint64, error) {
	// Removed participants kept on record signed records too.
	var parts []*Participant
	if err := v.view(func(txn kv.Txn) (err error) {
		parts, err = v.participantsIn(txn, true)
		return err
	}); err != nil {
		return 0, err
	}
	byName := map[string]*Participant{}
	for _, p := range parts {
		byName[p.Name] = p
	}
	// A person's records are checked under the key the log says is theirs
	// at that point: the one registered, then each one a signed rotation
	// or replacement moved to (keyHistory). The key itself comes from the
	// participant record, by fingerprint.
	hist := &keyHistory{cur: map[string]string{}, retired: map[string][]string{}}
	ver := audit.NewVerifier(func(actor string) (ed25519.PublicKey, bool) {
		p, ok := byName[actor]
		if !ok {
			return nil, false
		}
		fp, logged := hist.cur[actor]
		if !logged {
			return p.Public.Signing, true
		}
		k, ok := p.keyWith(fp)
		if !ok {
			return nil, true // known, but no stored key is the logged one: refused
		}
		return k.Signing, true
	}, ActorVault, ActorRetention)
	ver.Retired = func(actor string) []ed25519.PublicKey {
		var out []ed25519.PublicKey
		for _, fp := range hist.retired[actor] {
			if k, ok := byName[actor].keyWith(fp); ok {
				out = append(out, k.Signing)
			}
		}
		return out
	}

	key, err := v.verifierKey()
	if err != nil {
		return 0, err
	}
	cp, msg, err := v.readCheckpoint(key)
	if err != nil {
		return 0, err
	}
	if msg != nil {
		if err := ver.Expect(cp); err != nil {
			return 0, err
		}
	}
	if kept != nil {
		if err := ver.Expect(*kept); err != nil {
			return 0, err
		}
	}

	err = v.view(func(txn kv.Txn) error {
		o := kv.IterOptions{Prefix: []byte(pLog)}
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := it.Value()
			if err != nil {
				return err
			}
			rec, err := audit.Decode(b)
			if err != nil {
				return &audit.VerifyError{Seq: ver.Size() + 1, Reason: "record does not decode: " + err.Error()}
			}
			if err := ver.Add(rec); err != nil {
				return err
			}
			// A key moves only on the word of a current key: a record
			// signed by a retired one (which verifies, for reads made
			// with it) never moves anyone's key.
			if rec.Action == "participant.rotate" || rec.Action == "participant.replace" {
				p, ok := byName[rec.Actor], false
				if p != nil {
					var key identity.PublicKey
					if key, ok = p.keyWith(hist.cur[rec.Actor]); ok {
						ok = key.Verify(rec.SignedBytes(), rec.Sig)
					}
				}
				if !ok {
					return &audit.VerifyError{Seq: rec.Seq, Reason: fmt.Sprintf("%s by %q is not signed by their current key", rec.Action, rec.Actor)}
				}
			}
			if err := hist.follow(rec); err != nil {
				return err
			}
		}
		return it.Err()
	})
	if err != nil {
		return ver.Size(), err
	}
	if err := ver.Finish(); err != nil {
		return ver.Size(), err
	}
	if msg == nil && ver.Size() > 0 {
		return ver.Size(), v.checkpointMissing(ver.Size())
	}
	return ver.Size(), nil
}
