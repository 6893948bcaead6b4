package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/notevault/notevault/vault/audit"
)

// A pin is what one user last saw of one vault, kept outside the vault (in
// Options.PinDir) where whoever can write the vault directory cannot reach
// it: the vault's checkpoint verifier key and the newest signed checkpoint
// this user saw. Open refuses a vault whose key differs from the pinned one
// or whose audit log no longer extends the pinned checkpoint; Close moves the
// pin to the vault's newest checkpoint. Go's checksum database clients keep
// their latest signed tree head the same way.
//
// The first open of a vault trusts and pins what it finds (trust on first
// use, like ssh's known_hosts), and InitWith pins the vault it creates.
//
// A pin is named after the vault's absolute path as the user gave it, not
// after anything inside the vault (which an attacker controls) and without
// resolving symlinks (so that a link swapped to point at another directory
// is still checked against the same pin). The same vault reached by two
// paths has two pins, each checked on its own.
type pin struct {
	Version int    `json:"version"`
	Vault   string `json:"vault"`        // the vault's absolute path
	Key     string `json:"verifier_key"` // sumdb/note verifier key of the vault's checkpoints
	Size    uint64 `json:"size"`         // records in the log at the checkpoint
	Head    string `json:"head"`         // hex Hash of record Size (zeros for an empty log)
	// Checkpoint is the signed note itself, so the pin proves what it says;
	// empty only for an empty log that had no checkpoint yet (vaults made
	// before Init wrote one).
	Checkpoint string `json:"checkpoint,omitempty"`
	// Heads are the heads of other signed chains the user has seen, by name
	// (see observe.go). They are saved with the checkpoint and reflect the
	// audit records up to Size.
	Heads map[string]string `json:"heads,omitempty"`
	// Verified are the agreement chain heads up to which this user checked
	// every fact's signature (heads.go): a chain that still hashes to one is
	// not verified again up to there.
	Verified map[string]string `json:"verified,omitempty"`

	cp audit.Checkpoint // Size and Head, parsed by loadPin
}

const pinVersion = 1

// pinPath is the pin file for the vault in dir, and dir made absolute.
func pinPath(pinDir, dir string) (path, abs string, err error) {
	abs, err = filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("locating the vault: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(pinDir, hex.EncodeToString(sum[:16])+".json"), abs, nil
}

// loadPin reads and checks the pin at path for the vault at abs; it returns
// nil when there is none yet.
func loadPin(path, abs string) (*pin, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading your checkpoint pin: %w", err)
	}
	var p pin
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, pinDamaged(path, err.Error())
	}
	if p.Version != pinVersion {
		return nil, pinDamaged(path, fmt.Sprintf("unknown version %d", p.Version))
	}
	if p.Vault != abs {
		return nil, pinDamaged(path, fmt.Sprintf("it is for %s", p.Vault))
	}
	if _, err := note.NewVerifier(p.Key); err != nil {
		return nil, pinDamaged(path, "malformed verifier key")
	}
	h, err := hex.DecodeString(p.Head)
	if err != nil || len(h) != len(p.cp.Head) {
		return nil, pinDamaged(path, "malformed head")
	}
	p.cp.Size = p.Size
	copy(p.cp.Head[:], h)
	if p.Checkpoint == "" {
		if p.cp != (audit.Checkpoint{}) {
			return nil, pinDamaged(path, "a non-empty log without its signed checkpoint")
		}
		return &p, nil
	}
	size, head, err := audit.OpenCheckpoint([]byte(p.Checkpoint), p.Key)
	if err != nil || size != p.cp.Size || head != p.cp.Head {
		return nil, pinDamaged(path, "its checkpoint does not match its key, size and head")
	}
	return &p, nil
}

func pinDamaged(path, why string) error {
	return fmt.Errorf("your checkpoint pin %s is damaged: %s", path, why)
}

// writePin writes p to path atomically, mode 0600, creating the directory.
func writePin(path string, p *pin) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

func (p *pin) equal(q *pin) bool {
	return p.Version == q.Version && p.Vault == q.Vault && p.Key == q.Key &&
		p.Size == q.Size && p.Head == q.Head && p.Checkpoint == q.Checkpoint &&
		maps.Equal(p.Heads, q.Heads) && maps.Equal(p.Verified, q.Verified)
}

// savePin moves the user's pin to the newest checkpoint this process
// verified, with the heads set since open. It writes nothing when pinning is
// off, when a check failed since open, or when nothing changed.
func (v *Vault) savePin() error {
	if v.pinPath == "" {
		return nil
	}
	v.mu.Lock()
	t, failed := v.trust, v.failed
	v.mu.Unlock()
	if t == nil || failed != nil {
		return nil
	}
	heads, verified := v.headsForPin()
	p := &pin{
		Version: pinVersion, Vault: v.pinAbs, Key: t.key,
		Size: t.signed.Size, Head: hex.EncodeToString(t.signed.Head[:]),
		Checkpoint: string(t.signedMsg), Heads: heads, Verified: verified,
	}
	if old := v.pinned; old != nil && (old.equal(p) || old.Size > p.Size) {
		return nil
	}
	if err := writePin(v.pinPath, p); err != nil {
		return fmt.Errorf("pinning the audit checkpoint: %w", err)
	}
	return nil
}
