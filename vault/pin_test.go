package vault

import (
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// openPinned opens the fixture's vault with the user's pins in pinDir.
func (f *fixture) openPinned(pinDir string) error {
	f.t.Helper()
	v, err := Open(f.ctx, f.dir, Options{Now: f.clock.Now, PinDir: pinDir})
	if err != nil {
		return err
	}
	f.v = v
	f.v.termsHook = f.terms
	return nil
}

// readPin reads the one pin file in pinDir.
func readPin(t *testing.T, pinDir string) (*pin, string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(pinDir, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("pin files in %s: %v %v", pinDir, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var p pin
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p, files[0]
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

// pinnedFixture is a vault with a few notes that the user has opened with
// pins in pinDir and closed: the pin holds its newest checkpoint.
func pinnedFixture(t *testing.T) (f *fixture, pinDir string, size uint64) {
	t.Helper()
	f, _ = checkpointFixture(t)
	pinDir = filepath.Join(t.TempDir(), "pins")
	if err := f.openPinned(pinDir); err != nil {
		t.Fatalf("first open: %v", err)
	}
	if err := f.write(); err != nil {
		t.Fatal(err)
	}
	f.close()
	p, _ := readPin(t, pinDir)
	if cp := storedCheckpoint(t, f.dir); p.Size != cp.Size || p.Head != hex.EncodeToString(cp.Head[:]) {
		t.Fatalf("pin at %d %s, vault's checkpoint at %d", p.Size, p.Head, cp.Size)
	}
	return f, pinDir, p.Size
}

// TestPinRefusesRollback plays an attacker who can write the vault directory
// and also read its checkpoint signing key. Each attack passes the vault's
// own checks (a new user, with no pin, opens and writes the vault: that is
// the negative control, and the honest limit the pin exists for); the user
// who pinned a newer checkpoint is refused at open, and the pin stays.
func TestPinRefusesRollback(t *testing.T) {
	attacks := []struct {
		name   string
		attack func(t *testing.T, f *fixture, older string)
		reason string // %d is the pinned size
	}{
		{"older copy of the whole vault restored", func(t *testing.T, f *fixture, older string) {
			if err := os.RemoveAll(f.dir); err != nil {
				t.Fatal(err)
			}
			copyDir(t, older, f.dir)
		}, "but the checkpoint you last saw covers %d records"},
		{"tail cut and re-signed with the vault's key", func(t *testing.T, f *fixture, _ string) {
			cutTail(t, f.dir, 3)
			resign(t, f.dir)
		}, "but the checkpoint you last saw covers %d records"},
		{"tail cut, checkpoint deleted, new key pair signs the cut log", func(t *testing.T, f *fixture, _ string) {
			cutTail(t, f.dir, 3)
			removeCheckpoint(t, f.dir)
			swapKeys(t, f.dir)
			resign(t, f.dir)
		}, "checkpoint key is not the one you last saw"},
		{"tail cut and grown back with other records", func(t *testing.T, f *fixture, _ string) {
			cutTail(t, f.dir, 2)
			resign(t, f.dir)
			g := &fixture{t: t, ctx: f.ctx, dir: f.dir, clock: f.clock, alice: f.alice, agreement: f.agreement}
			g.open()
			for range 4 {
				if err := g.write(); err != nil {
					t.Fatal(err)
				}
			}
			g.close()
		}, "its record %d is not the one the checkpoint you last saw covers"},
		{"older checkpoint file put back", func(t *testing.T, f *fixture, older string) {
			b, err := os.ReadFile(filepath.Join(older, checkpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(f.dir, checkpointFile), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "but the checkpoint you last saw covers %d;"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			f, _ := checkpointFixture(t)
			pinDir := filepath.Join(t.TempDir(), "pins")
			if err := f.openPinned(pinDir); err != nil {
				t.Fatal(err)
			}
			f.close()
			older := filepath.Join(t.TempDir(), "older")
			copyDir(t, f.dir, older)
			if err := f.openPinned(pinDir); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := f.write(); err != nil {
					t.Fatal(err)
				}
			}
			f.close()
			pinBefore, pinFile := readPin(t, pinDir)

			a.attack(t, f, older)

			// Negative control: a user without a pin trusts a copy of the
			// attacked vault and writes to it.
			c := &fixture{t: t, ctx: f.ctx, dir: filepath.Join(t.TempDir(), "control"), clock: f.clock, alice: f.alice, agreement: f.agreement}
			copyDir(t, f.dir, c.dir)
			if err := c.openPinned(filepath.Join(t.TempDir(), "fresh")); err != nil {
				t.Fatalf("control: a first-time user is refused too: %v", err)
			}
			if err := c.write(); err != nil {
				t.Fatalf("control: %v", err)
			}
			c.close()

			err := f.openPinned(pinDir)
			re := wantRollback(t, err, strings.ReplaceAll(a.reason, "%d", strconv.FormatUint(pinBefore.Size, 10)))
			if re.PinFile != pinFile {
				t.Fatalf("refusal names pin %q, want %q", re.PinFile, pinFile)
			}
			if re.Dir != f.dir {
				t.Fatalf("refusal names vault %q", re.Dir)
			}
			if pinAfter, _ := readPin(t, pinDir); !pinAfter.equal(pinBefore) {
				t.Fatalf("the pin moved after a refusal: %+v", pinAfter)
			}
		})
	}
}

func TestPinAdvancesAndIsPrivate(t *testing.T) {
	f, pinDir, size := pinnedFixture(t)
	p, file := readPin(t, pinDir)
	if p.Version != 1 || p.Vault != f.dir || p.Checkpoint == "" {
		t.Fatalf("pin %+v", p)
	}
	pub, _ := os.ReadFile(filepath.Join(f.dir, checkpointPub))
	if p.Key != strings.TrimSpace(string(pub)) {
		t.Fatalf("pinned key %q, vault's %q", p.Key, pub)
	}
	for path, want := range map[string]fs.FileMode{file: 0o600, pinDir: 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Fatalf("%s has mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
	if err := f.openPinned(pinDir); err != nil {
		t.Fatal(err)
	}
	if err := f.write(); err != nil {
		t.Fatal(err)
	}
	f.close()
	if p, _ := readPin(t, pinDir); p.Size <= size {
		t.Fatalf("pin at %d after a write, was %d", p.Size, size)
	}
	ents, _ := os.ReadDir(pinDir)
	if len(ents) != 1 {
		t.Fatalf("pin directory holds %d entries, want the pin alone", len(ents))
	}
}

// TestPinNamedByPath: the pin is found from the path the user gives, relative
// or absolute, never from the vault's contents; a vault copied to another
// path is another vault, pinned anew.
func TestPinNamedByPath(t *testing.T) {
	f, pinDir, _ := pinnedFixture(t)
	_, file := readPin(t, pinDir)
	want, abs, err := pinPath(pinDir, f.dir)
	if err != nil || want != file || abs != f.dir {
		t.Fatalf("pinPath = %s %s %v, pin is %s", want, abs, err, file)
	}
	t.Chdir(filepath.Dir(f.dir))
	if rel, _, _ := pinPath(pinDir, filepath.Base(f.dir)); rel != file {
		t.Fatalf("relative path gives pin %s, want %s", rel, file)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	copyDir(t, f.dir, moved)
	v, err := Open(f.ctx, moved, Options{PinDir: pinDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(pinDir, "*.json")); len(files) != 2 {
		t.Fatalf("pins %v, want one per path", files)
	}
}

// TestPinOpenReadsOnlyNewRecords: the open-time check reads the record at
// the pinned size and those after it, never the ones before, so its cost
// grows with what is new. A record before the pin that no longer decodes
// goes unnoticed by open (audit verify finds it); the same damage at the
// pinned size is refused (the control).
func TestPinOpenReadsOnlyNewRecords(t *testing.T) {
	garble := func(t *testing.T, dir string, seq uint64) {
		withBadger(t, dir, func(db *badgerDB) { rawSet(t, db, rawLogKey(seq), []byte{1, '{'}) })
	}
	t.Run("before the pin", func(t *testing.T) {
		f, pinDir, size := pinnedFixture(t)
		garble(t, f.dir, size-1)
		if err := f.openPinned(pinDir); err != nil {
			t.Fatalf("open read a record before the pin: %v", err)
		}
		defer f.close()
		if _, err := f.v.VerifyAudit(f.ctx); err == nil {
			t.Fatal("VerifyAudit passed a garbled record")
		}
	})
	t.Run("at the pin", func(t *testing.T) {
		f, pinDir, size := pinnedFixture(t)
		garble(t, f.dir, size)
		wantRollback(t, f.openPinned(pinDir), "the log was forked")
	})
}

// The agreement heads a user saw are kept in their pin, across sessions.
func TestPinHeadsRoundTrip(t *testing.T) {
	f := newFixture(t, true)
	pinDir := filepath.Join(t.TempDir(), "pins")
	f.close()
	if err := f.openPinned(pinDir); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.GetAgreement(f.ctx, f.agreement); err != nil {
		t.Fatal(err)
	}
	f.close()
	p, _ := readPin(t, pinDir)
	h, ok := parseHead(p.Heads[f.agreement])
	if !ok || h.Seq != 3 {
		t.Fatalf("pin heads %v, want agreement %s at fact 3", p.Heads, f.agreement)
	}
	if err := f.openPinned(pinDir); err != nil {
		t.Fatal(err)
	}
	f.add(policy.Reflection, f.bob, content("t", "b"))
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	f.close()
	p, _ = readPin(t, pinDir)
	if h, _ := parseHead(p.Heads[f.agreement]); h.Seq != 4 {
		t.Fatalf("pin heads %v, want agreement %s at fact 4", p.Heads, f.agreement)
	}
}

// TestPinTrustOnFirstUse: InitWith pins the new vault; a stale pin left at
// the same path by an earlier vault is replaced by init, while opening the
// new vault under that stale pin is refused.
func TestPinTrustOnFirstUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	pinDir := filepath.Join(t.TempDir(), "pins")
	if err := InitWith(dir, Options{PinDir: pinDir}); err != nil {
		t.Fatal(err)
	}
	first, file := readPin(t, pinDir)
	if first.Size != 0 || first.Checkpoint == "" {
		t.Fatalf("init pinned %+v", first)
	}
	stale, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := InitWith(dir, Options{PinDir: pinDir}); err != nil {
		t.Fatalf("init at the path of a deleted vault: %v", err)
	}
	second, _ := readPin(t, pinDir)
	if second.Key == first.Key {
		t.Fatal("the new vault has the old key")
	}
	if err := os.WriteFile(file, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), dir, Options{PinDir: pinDir})
	wantRollback(t, err, "checkpoint key is not the one you last saw")
}

func TestPinDamaged(t *testing.T) {
	f, pinDir, _ := pinnedFixture(t)
	_, file := readPin(t, pinDir)
	for name, edit := range map[string]func(p *pin){
		"version":    func(p *pin) { p.Version = 2 },
		"other path": func(p *pin) { p.Vault = "/elsewhere" },
		"size":       func(p *pin) { p.Size-- },
		"head":       func(p *pin) { p.Head = strings.Repeat("0", 64) },
		"key":        func(p *pin) { p.Key = "garbage" },
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := readPin(t, pinDir)
			good, _ := os.ReadFile(file)
			defer os.WriteFile(file, good, 0o600)
			edit(p)
			b, _ := json.Marshal(p)
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			err := f.openPinned(pinDir)
			if err == nil || !strings.Contains(err.Error(), "is damaged") {
				t.Fatalf("open with a damaged pin: %v", err)
			}
		})
	}
}

// TestCloseCatchesUpCheckpoint: a process that ended between a commit and
// its checkpoint leaves the log ahead of the checkpoint; the next process
// accepts that (the log extends it) and signs the newer checkpoint at Close,
// so the pin covers every record it saw.
func TestCloseCatchesUpCheckpoint(t *testing.T) {
	f, pinDir, _ := pinnedFixture(t)
	behind, err := os.ReadFile(filepath.Join(f.dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	f.open()
	if err := f.write(); err != nil {
		t.Fatal(err)
	}
	f.close()
	ahead := storedCheckpoint(t, f.dir)
	if err := os.WriteFile(filepath.Join(f.dir, checkpointFile), behind, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.openPinned(pinDir); err != nil {
		t.Fatal(err)
	}
	f.close()
	if got := storedCheckpoint(t, f.dir); got != ahead {
		t.Fatalf("checkpoint %d after close, want %d", got.Size, ahead.Size)
	}
	if p, _ := readPin(t, pinDir); p.Size != ahead.Size {
		t.Fatalf("pin at %d, want %d", p.Size, ahead.Size)
	}
}

// TestVerifyAuditCheckpoint: a checkpoint kept outside the vault catches a
// rollback even for a user without a pin, and one signed by another key is
// refused.
func TestVerifyAuditCheckpoint(t *testing.T) {
	f, size := checkpointFixture(t)
	f.open()
	kept, err := f.v.Checkpoint(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.v.VerifyAuditCheckpoint(f.ctx, kept); err != nil || n != size {
		t.Fatalf("VerifyAuditCheckpoint on the intact log: %d, %v", n, err)
	}
	f.close()

	cutTail(t, f.dir, 2)
	resign(t, f.dir)
	f.open()
	defer f.close()
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatalf("control: the re-signed cut log passes its own checks: %v", err)
	}
	_, err = f.v.VerifyAuditCheckpoint(f.ctx, kept)
	if err == nil || !strings.Contains(err.Error(), "records were cut off") {
		t.Fatalf("VerifyAuditCheckpoint on the cut log: %v", err)
	}

	other := filepath.Join(t.TempDir(), "other")
	if err := Init(other); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(filepath.Join(other, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.VerifyAuditCheckpoint(f.ctx, foreign); err == nil || !strings.Contains(err.Error(), "not one this vault's checkpoint key signed") {
		t.Fatalf("a foreign checkpoint: %v", err)
	}
}
