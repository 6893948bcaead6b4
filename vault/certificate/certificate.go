// Package certificate writes and checks destruction certificates: proof,
// signed by a vault's audit checkpoint key, that every note of a closed
// agreement was destroyed, with the audit receipt of each destruction and
// the audit checkpoint that covers them. A certificate is a
// golang.org/x/mod/sumdb/note signed note, so it is checked with nothing but
// the file (and, to tie it to a vault one knows, that vault's verifier key).
//
// Its text, one field per line, space-separated, times in RFC 3339 UTC:
//
//	notevault destruction certificate v1
//	vault <verifier key>
//	agreement <id>
//	closed <time> <by> <audit seq> <audit record hash, hex>
//	checkpoint <size> <head, standard base64>
//	notes <count>
//	note <id> <kind> <destroyed at> <by> <rule> <audit seq> <audit record hash, hex>
//	...
package certificate

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

const header = "notevault destruction certificate v1"

// Receipt is the audit record of one event the certificate names.
type Receipt struct {
	Seq  uint64   `json:"seq"`
	Hash [32]byte `json:"-"`
}

// HashHex is the record hash in hex.
func (r Receipt) HashHex() string { return hex.EncodeToString(r.Hash[:]) }

// Note is one destroyed note and its receipt.
type Note struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Destroyed time.Time `json:"destroyed"`
	By        string    `json:"by"`
	Rule      string    `json:"rule"`
	Receipt   Receipt   `json:"receipt"`
}

// Certificate is what a certificate states.
type Certificate struct {
	Vault     string    `json:"vault"` // the verifier key it is signed under
	Agreement string    `json:"agreement"`
	Closed    time.Time `json:"closed"`
	ClosedBy  string    `json:"closed_by"`
	Close     Receipt   `json:"close"`
	Size      uint64    `json:"checkpoint_size"`
	Head      [32]byte  `json:"-"`
	Notes     []Note    `json:"notes"`
}

// Text is the certificate's note text (see the package documentation).
func (c *Certificate) Text() (string, error) {
	var b strings.Builder
	word := func(s string) error {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("certificate: %q cannot be a field", s)
		}
		return nil
	}
	for _, s := range []string{c.Vault, c.Agreement, c.ClosedBy} {
		if err := word(s); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(&b, "%s\nvault %s\nagreement %s\n", header, c.Vault, c.Agreement)
	fmt.Fprintf(&b, "closed %s %s %d %s\n", c.Closed.UTC().Format(time.RFC3339Nano), c.ClosedBy, c.Close.Seq, c.Close.HashHex())
	fmt.Fprintf(&b, "checkpoint %d %s\n", c.Size, base64.StdEncoding.EncodeToString(c.Head[:]))
	fmt.Fprintf(&b, "notes %d\n", len(c.Notes))
	for _, n := range c.Notes {
		for _, s := range []string{n.ID, n.Kind, n.By, n.Rule} {
			if err := word(s); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&b, "note %s %s %s %s %s %d %s\n", n.ID, n.Kind, n.Destroyed.UTC().Format(time.RFC3339Nano), n.By, n.Rule, n.Receipt.Seq, n.Receipt.HashHex())
	}
	return b.String(), nil
}

// Sign returns the certificate as a note signed with signerKey, whose
// verifier key must be c.Vault.
func (c *Certificate) Sign(signerKey string) ([]byte, error) {
	text, err := c.Text()
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return nil, fmt.Errorf("certificate: signer: %w", err)
	}
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return nil, fmt.Errorf("certificate: sign: %w", err)
	}
	// The signed certificate must verify under the key it names.
	if _, err := Verify(msg, c.Vault); err != nil {
		return nil, fmt.Errorf("certificate: the signing key is not the vault's: %w", err)
	}
	return msg, nil
}

// ErrInvalid is wrapped by every reason a certificate does not verify.
var ErrInvalid = errors.New("the certificate does not verify")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Verify checks a certificate: its signature under the verifier key it
// names (which must be key, when key is not empty), and that its text is
// exactly in the documented form and consistent (every receipt inside the
// checkpoint, one line per note, no note twice).
func Verify(msg []byte, key string) (*Certificate, error) {
	text, _, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, invalid("it is not a signed note (no signature block)")
	}
	lines := strings.Split(string(text), "\n")
	if len(lines) < 2 || lines[0] != header {
		return nil, invalid("it is not a notevault destruction certificate (the first line is not %q)", header)
	}
	named, ok := strings.CutPrefix(lines[1], "vault ")
	if !ok {
		return nil, invalid("its second line does not name the vault's verifier key")
	}
	if key != "" && key != named {
		return nil, invalid("it is signed for vault key %s, not the key you gave (%s)", keyName(named), keyName(key))
	}
	ver, err := note.NewVerifier(named)
	if err != nil {
		return nil, invalid("the vault key it names does not parse (%v)", err)
	}
	n, err := note.Open(msg, note.VerifierList(ver))
	if err != nil {
		return nil, invalid("its signature by %s does not check out: it was changed after the vault signed it", keyName(named))
	}
	return parse(n.Text, named)
}

// keyName is the name part of a verifier key, for messages.
func keyName(k string) string {
	name, _, _ := strings.Cut(k, "+")
	return name
}

func parse(text, key string) (*Certificate, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 6 {
		return nil, invalid("it is cut short")
	}
	c := &Certificate{Vault: key}
	field := func(i int, name string, n int) ([]string, error) {
		f := strings.Split(lines[i], " ")
		if f[0] != name || len(f) != n+1 {
			return nil, invalid("line %d is not %q with %d fields", i+1, name, n)
		}
		return f[1:], nil
	}
	receipt := func(i int, seq, hash string) (Receipt, error) {
		var r Receipt
		s, err := strconv.ParseUint(seq, 10, 64)
		if err != nil || strconv.FormatUint(s, 10) != seq || s == 0 {
			return r, invalid("line %d: %q is not an audit record number", i+1, seq)
		}
		h, err := hex.DecodeString(hash)
		if err != nil || len(h) != 32 {
			return r, invalid("line %d: %q is not an audit record hash", i+1, hash)
		}
		r.Seq = s
		copy(r.Hash[:], h)
		return r, nil
	}
	when := func(i int, s string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return t, invalid("line %d: %q is not a time", i+1, s)
		}
		return t.UTC(), nil
	}
	f, err := field(2, "agreement", 1)
	if err != nil {
		return nil, err
	}
	c.Agreement = f[0]
	if f, err = field(3, "closed", 4); err != nil {
		return nil, err
	}
	if c.Closed, err = when(3, f[0]); err != nil {
		return nil, err
	}
	c.ClosedBy = f[1]
	if c.Close, err = receipt(3, f[2], f[3]); err != nil {
		return nil, err
	}
	if f, err = field(4, "checkpoint", 2); err != nil {
		return nil, err
	}
	if c.Size, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return nil, invalid("line 5: %q is not a checkpoint size", f[0])
	}
	h, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(h) != 32 {
		return nil, invalid("line 5: %q is not a checkpoint head", f[1])
	}
	copy(c.Head[:], h)
	if f, err = field(5, "notes", 1); err != nil {
		return nil, err
	}
	count, err := strconv.Atoi(f[0])
	if err != nil || count != len(lines)-6 {
		return nil, invalid("it says it lists %s notes but lists %d", f[0], len(lines)-6)
	}
	if c.Close.Seq > c.Size {
		return nil, invalid("the close (audit record %d) lies beyond its checkpoint (%d records)", c.Close.Seq, c.Size)
	}
	seen := map[string]bool{}
	for i := 6; i < len(lines); i++ {
		f, err := field(i, "note", 7)
		if err != nil {
			return nil, err
		}
		n := Note{ID: f[0], Kind: f[1], By: f[3], Rule: f[4]}
		if n.Destroyed, err = when(i, f[2]); err != nil {
			return nil, err
		}
		if n.Receipt, err = receipt(i, f[5], f[6]); err != nil {
			return nil, err
		}
		if seen[n.ID] {
			return nil, invalid("it lists note %s twice", n.ID)
		}
		seen[n.ID] = true
		if n.Receipt.Seq > c.Size {
			return nil, invalid("the receipt of note %s (audit record %d) lies beyond its checkpoint (%d records)", n.ID, n.Receipt.Seq, c.Size)
		}
		c.Notes = append(c.Notes, n)
	}
	// Exactly the documented form, nothing the fields above let through
	// (an empty field, a time or number written another way): one
	// certificate, one text.
	if canon, err := c.Text(); err != nil || canon != text {
		return nil, invalid("it is not written in the documented form")
	}
	return c, nil
}

// CheckCheckpoint ties a certificate to an audit checkpoint the user kept:
// it must verify under the certificate's vault key, and when it covers as
// many records as the certificate's it must name the same head (one log,
// not a fork).
func (c *Certificate) CheckCheckpoint(msg []byte) (uint64, error) {
	ver, err := note.NewVerifier(c.Vault)
	if err != nil {
		return 0, invalid("the vault key does not parse (%v)", err)
	}
	n, err := note.Open(msg, note.VerifierList(ver))
	if err != nil {
		return 0, invalid("the checkpoint you gave is not signed by the certificate's vault (%s)", keyName(c.Vault))
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[0] != "notevault audit checkpoint v1" {
		return 0, invalid("the checkpoint you gave is not a notevault audit checkpoint")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return 0, invalid("the checkpoint you gave has no size")
	}
	if size == c.Size && lines[2] != base64.StdEncoding.EncodeToString(c.Head[:]) {
		return 0, invalid("the checkpoint you gave and the certificate cover %d records with different heads: the vault's log was forked", size)
	}
	return size, nil
}

// OpenCheckpointInto sets c's checkpoint from a checkpoint signed by c's
// vault key and returns c.
func OpenCheckpointInto(c *Certificate, checkpoint []byte) (*Certificate, error) {
	ver, err := note.NewVerifier(c.Vault)
	if err != nil {
		return nil, err
	}
	n, err := note.Open(checkpoint, note.VerifierList(ver))
	if err != nil {
		return nil, fmt.Errorf("the vault's checkpoint does not verify: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 {
		return nil, errors.New("the vault's checkpoint is malformed")
	}
	if c.Size, err = strconv.ParseUint(lines[1], 10, 64); err != nil {
		return nil, errors.New("the vault's checkpoint is malformed")
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != 32 {
		return nil, errors.New("the vault's checkpoint is malformed")
	}
	copy(c.Head[:], h)
	return c, nil
}
