package vault

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
)

// The attacker of these tests can write the vault directory but holds no
// participant's key. Each helper works on a closed vault.

// logHeadOf reads z/loghead.
func logHeadOf(t *testing.T, db *badgerDB) logHead {
	t.Helper()
	var h logHead
	if b := rawGet(t, db, kLogHead); b != nil {
		if err := decodeRecord(b, &h); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// cutTail deletes the newest n audit records and rewrites z/loghead to the
// record before them, as a careful attacker would. It returns the records
// left.
func cutTail(t *testing.T, dir string, n uint64) uint64 {
	t.Helper()
	var left uint64
	withBadger(t, dir, func(db *badgerDB) {
		last := logHeadOf(t, db).Seq
		if last <= n {
			t.Fatalf("cannot cut %d of %d records", n, last)
		}
		for s := last; s > last-n; s-- {
			rawDelete(t, db, rawLogKey(s))
		}
		left = last - n
		prev, err := audit.Decode(rawGet(t, db, rawLogKey(left)))
		if err != nil {
			t.Fatal(err)
		}
		h := prev.Hash()
		head, err := encodeRecord(logHead{Seq: prev.Seq, Hash: hexString(h[:]), Time: prev.Time})
		if err != nil {
			t.Fatal(err)
		}
		rawSet(t, db, kLogHead, head)
	})
	return left
}

// resign signs a checkpoint over the log as it now is with the signing key
// in the vault directory, which an attacker who can read the directory has.
func resign(t *testing.T, dir string) {
	t.Helper()
	var head logHead
	withBadger(t, dir, func(db *badgerDB) { head = logHeadOf(t, db) })
	var h [32]byte
	if head.Seq > 0 {
		b, err := hex.DecodeString(head.Hash)
		if err != nil || len(b) != 32 {
			t.Fatalf("log head hash %q", head.Hash)
		}
		copy(h[:], b)
	}
	skey, err := os.ReadFile(filepath.Join(dir, checkpointKey))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := audit.SignCheckpoint(strings.TrimSpace(string(skey)), head.Seq, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointFile), msg, 0o600); err != nil {
		t.Fatal(err)
	}
}

// swapKeys replaces the vault's checkpoint key pair with a fresh one.
func swapKeys(t *testing.T, dir string) {
	t.Helper()
	skey, vkey, err := audit.NewCheckpointKey("notevault-vault")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointKey), []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointPub), []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeCheckpoint(t *testing.T, dir string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, checkpointFile)); err != nil {
		t.Fatal(err)
	}
}

// storedCheckpoint opens audit.checkpoint under the vault's own key.
func storedCheckpoint(t *testing.T, dir string) audit.Checkpoint {
	t.Helper()
	msg, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, checkpointPub))
	if err != nil {
		t.Fatal(err)
	}
	size, head, err := audit.OpenCheckpoint(msg, strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	return audit.Checkpoint{Size: size, Head: head}
}

func wantRollback(t *testing.T, err error, reason string) *RollbackError {
	t.Helper()
	var re *RollbackError
	if !errors.As(err, &re) || !errors.Is(err, ErrRollback) {
		t.Fatalf("got %v (%T), want a *RollbackError", err, err)
	}
	if !strings.Contains(re.Error(), reason) {
		t.Fatalf("%q does not contain %q", re.Error(), reason)
	}
	return re
}

// checkpointFixture is a vault with a few notes, closed, and the size of its
// log.
func checkpointFixture(t *testing.T) (*fixture, uint64) {
	t.Helper()
	f := newFixture(t, true)
	f.add(policy.Session, f.alice, content("t", "one"))
	f.add(policy.Session, f.alice, content("t", "two"))
	f.add(policy.Reflection, f.bob, content("t", "three"))
	f.close()
	return f, storedCheckpoint(t, f.dir).Size
}

// write tries one more audited action on the open fixture.
func (f *fixture) write() error {
	f.clock.Advance(time.Second)
	_, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("t", "more")}, f.alice)
	return err
}

// TestCheckpointRefusesCutLog plays the attack of cutting the log's tail,
// rewriting z/loghead and waiting for the next write to re-sign a checkpoint
// over the shorter log. Without a pin, the vault's own checkpoint is what
// the log must extend: the write is refused before it happens and nothing is
// re-signed. The untouched case is the control that shows the test can fail.
func TestCheckpointRefusesCutLog(t *testing.T) {
	attacks := []struct {
		name   string
		attack func(t *testing.T, dir string)
		reason string // "" for the control: the write succeeds
	}{
		{"control: untouched", func(*testing.T, string) {}, ""},
		{"tail cut, checkpoint kept", func(t *testing.T, dir string) { cutTail(t, dir, 2) },
			"but the vault's signed checkpoint covers"},
		{"tail cut, checkpoint deleted", func(t *testing.T, dir string) {
			cutTail(t, dir, 2)
			removeCheckpoint(t, dir)
		}, "it is missing, but the log has"},
		{"checkpoint deleted", func(t *testing.T, dir string) { removeCheckpoint(t, dir) },
			"it is missing, but the log has"},
		{"key pair swapped, checkpoint deleted", func(t *testing.T, dir string) {
			cutTail(t, dir, 2)
			removeCheckpoint(t, dir)
			swapKeys(t, dir)
		}, "it is missing, but the log has"},
		{"key pair swapped, old checkpoint kept", func(t *testing.T, dir string) {
			cutTail(t, dir, 2)
			swapKeys(t, dir)
		}, "does not verify under the vault's checkpoint key"},
		{"signing key swapped, verifier key kept", func(t *testing.T, dir string) {
			pub, err := os.ReadFile(filepath.Join(dir, checkpointPub))
			if err != nil {
				t.Fatal(err)
			}
			swapKeys(t, dir)
			if err := os.WriteFile(filepath.Join(dir, checkpointPub), pub, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "does not match the vault's verifier key"},
		{"last record replaced", func(t *testing.T, dir string) {
			withBadger(t, dir, func(db *badgerDB) {
				last := logHeadOf(t, db).Seq
				rec, err := audit.Decode(rawGet(t, db, rawLogKey(last)))
				if err != nil {
					t.Fatal(err)
				}
				rec.Detail = map[string]string{"forged": "yes"}
				b, err := audit.Encode(rec)
				if err != nil {
					t.Fatal(err)
				}
				rawSet(t, db, rawLogKey(last), b)
			})
		}, "is not the one the vault's signed checkpoint covers: the log was forked"},
		{"head rewound, records kept", func(t *testing.T, dir string) {
			withBadger(t, dir, func(db *badgerDB) {
				h := logHeadOf(t, db)
				prev, err := audit.Decode(rawGet(t, db, rawLogKey(h.Seq-1)))
				if err != nil {
					t.Fatal(err)
				}
				ph := prev.Hash()
				b, err := encodeRecord(logHead{Seq: prev.Seq, Hash: hexString(ph[:]), Time: prev.Time})
				if err != nil {
					t.Fatal(err)
				}
				rawSet(t, db, kLogHead, b)
			})
		}, "head names record"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			f, size := checkpointFixture(t)
			a.attack(t, f.dir)
			before, _ := os.ReadFile(filepath.Join(f.dir, checkpointFile))
			f.open()
			var logBefore int
			if recs, err := f.v.AuditLog(f.ctx, ""); err == nil {
				logBefore = len(recs)
			}
			err := f.write()
			if a.reason == "" {
				if err != nil {
					t.Fatalf("write on an untouched vault: %v", err)
				}
				f.close()
				if got := storedCheckpoint(t, f.dir).Size; got <= size {
					t.Fatalf("checkpoint size %d after a write, want more than %d", got, size)
				}
				return
			}
			wantRollback(t, err, a.reason)
			// Refused before it happened, and refused again after.
			if recs, _ := f.v.AuditLog(f.ctx, ""); len(recs) != logBefore {
				t.Fatalf("the refused write left %d records, had %d", len(recs), logBefore)
			}
			wantRollback(t, f.write(), a.reason)
			f.close()
			after, _ := os.ReadFile(filepath.Join(f.dir, checkpointFile))
			if string(after) != string(before) {
				t.Fatalf("the checkpoint was re-signed over the tampered log:\n%s", after)
			}
		})
	}
}

// TestCheckpointWriteVerifiesPrevious: a checkpoint replaced while the
// vault is open is refused at the next write.
func TestCheckpointWriteVerifiesPrevious(t *testing.T) {
	f, _ := checkpointFixture(t)
	f.open()
	if err := f.write(); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old")
	b, err := os.ReadFile(filepath.Join(f.dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.write(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// An older, genuine checkpoint put back under the open vault.
	if err := os.Rename(old, filepath.Join(f.dir, checkpointFile)); err != nil {
		t.Fatal(err)
	}
	wantRollback(t, f.write(), "while the vault was open")
	f.close()
}

func TestCheckpointFileIsWholeAndPrivate(t *testing.T) {
	f, _ := checkpointFixture(t)
	fi, err := os.Stat(filepath.Join(f.dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit.checkpoint has mode %o", fi.Mode().Perm())
	}
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file %s left in the vault", e.Name())
		}
	}
}

func TestInitWritesEmptyCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	if err := Init(dir); err != nil {
		t.Fatal(err)
	}
	if cp := storedCheckpoint(t, dir); cp != (audit.Checkpoint{}) {
		t.Fatalf("a new vault's checkpoint is %+v, want the empty log's", cp)
	}
}

// TestOldEmptyVaultWithoutCheckpoint: vaults made before Init wrote a
// checkpoint have none until their first write; an empty log may lack one.
func TestOldEmptyVaultWithoutCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	if err := Init(dir); err != nil {
		t.Fatal(err)
	}
	removeCheckpoint(t, dir)
	f := &fixture{t: t, ctx: t.Context(), dir: dir, clock: newFakeClock()}
	f.open()
	defer f.close()
	if _, err := f.v.AddParticipant(f.ctx, "alice", policy.Mentor, newIdentity(t).Public().String()); err != nil {
		t.Fatal(err)
	}
	if n, err := f.v.VerifyAudit(f.ctx); err != nil || n != 1 {
		t.Fatalf("VerifyAudit: %d, %v", n, err)
	}
}

// TestCheckpointFileNotRegular: what an attacker plants under the
// checkpoint's name is refused with an error, never waited on or read whole.
func TestCheckpointFileNotRegular(t *testing.T) {
	for name, plant := range map[string]func(path string) error{
		"fifo":  func(path string) error { return syscall.Mkfifo(path, 0o600) },
		"huge":  func(path string) error { return os.WriteFile(path, make([]byte, 1<<20), 0o600) },
		"a dir": func(path string) error { return os.Mkdir(path, 0o700) },
	} {
		t.Run(name, func(t *testing.T) {
			f, _ := checkpointFixture(t)
			path := filepath.Join(f.dir, checkpointFile)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := plant(path); err != nil {
				t.Fatal(err)
			}
			f.open()
			done := make(chan error, 1)
			go func() { done <- f.write() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "reading the audit checkpoint") {
					t.Fatalf("write over a planted %s: %v", name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("write blocked on a planted %s", name)
			}
		})
	}
}
