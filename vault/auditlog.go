package vault

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

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

// appendLog links rec to the chain, signs it when signer is not nil, and adds
// it to txn. The record commits with the action it records, or neither does:
// the log fails closed.
func (v *Vault) appendLog(txn *badger.Txn, rec *audit.Record, signer audit.Signer) error {
	// The head is read once per transaction and written once, at commit
	// (see update): a sweep appends thousands of receipts in one.
	if v.head == nil {
		v.head = &logHead{}
		if err := get(txn, kLogHead, v.head); err != nil && !isNotFound(err) {
			v.head = nil
			return err
		}
	}
	head := v.head
	if rec.Time.IsZero() {
		rec.Time = v.Now()
	}
	rec.Time = rec.Time.UTC()
	if rec.Time.Before(head.Time) {
		return ErrClock
	}
	rec.Seq = head.Seq + 1
	rec.Prev = head.Hash
	if signer != nil {
		rec.SignWith(signer)
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
	v.headDirty = true
	return nil
}

// writeCheckpoint signs the current size and head of the log and stores it
// outside the chain, so that cutting records off the end is detected. The
// file is written with fsync of the temporary file, rename and fsync of the
// directory, so that a power cut leaves the old checkpoint or the new one.
func (v *Vault) writeCheckpoint() error {
	var head logHead
	err := v.view(func(txn *badger.Txn) error { return get(txn, kLogHead, &head) })
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var h [32]byte
	if _, err := hex.Decode(h[:], []byte(head.Hash)); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	msg, err := audit.SignCheckpoint(v.ckKey, head.Seq, h)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(v.dir, checkpointFile), msg, 0o600); err != nil {
		return fmt.Errorf("writing the audit checkpoint: %w", err)
	}
	return nil
}

// AuditLog returns the audit records, oldest first; with agreement set, only
// that agreement's records.
func (v *Vault) AuditLog(ctx context.Context, agreement string) ([]*audit.Record, error) {
	var out []*audit.Record
	err := v.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(pLog)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			rec, err := audit.Decode(b)
			if err != nil {
				return fmt.Errorf("audit record %x: %w", it.Item().Key()[len(pLog):], err)
			}
			if agreement == "" || rec.Agreement == agreement {
				out = append(out, rec)
			}
		}
		return nil
	})
	return out, err
}

// VerifyAudit recomputes the chain and every signature, and checks the signed
// checkpoint. It returns the number of records verified, or an
// *audit.VerifyError naming the first record that fails.
func (v *Vault) VerifyAudit(ctx context.Context) (uint64, error) {
	parts, err := v.Participants(ctx)
	if err != nil {
		return 0, err
	}
	keys := map[string]ed25519.PublicKey{}
	for _, p := range parts {
		keys[p.Name] = p.Public.Signing
	}
	ver := audit.NewVerifier(func(actor string) (ed25519.PublicKey, bool) {
		k, ok := keys[actor]
		return k, ok
	}, ActorVault, ActorRetention)

	if msg, err := os.ReadFile(filepath.Join(v.dir, checkpointFile)); err == nil {
		size, head, err := audit.OpenCheckpoint(msg, v.checkpointVerifierKey())
		if err != nil {
			return 0, fmt.Errorf("the signed audit checkpoint does not verify: %w", err)
		}
		if err := ver.Expect(audit.Checkpoint{Size: size, Head: head}); err != nil {
			return 0, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}

	err = v.view(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(pLog)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := it.Item().ValueCopy(nil)
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
		}
		return nil
	})
	if err != nil {
		return ver.Size(), err
	}
	return ver.Size(), ver.Finish()
}
