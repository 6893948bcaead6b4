package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

const publicKeyPrefix = "nvk1:"

// bindingDomain prefixes what a signing key signs to bind itself to its age
// recipient (see [PublicKey.Bound]).
const bindingDomain = "notevault key binding v1\n"

// ErrMalformedPublicKey is returned by [ParsePublicKey] for any input that is
// not a valid public key. It deliberately says what a key looks like rather
// than which part was wrong.
var ErrMalformedPublicKey = errors.New(`public key must look like "nvk1:<signing key>:<age recipient>:<proof>" (notevault identity public prints it)`)

// PublicKey is what a participant registers: the age recipient that notes
// are encrypted to and the Ed25519 key that verifies their signatures.
type PublicKey struct {
	// Recipient is the age recipient: "age1pq1…", "age1…" or
	// "ssh-ed25519 AAAA…" (no comment).
	Recipient string
	// Signing verifies the records the person signs.
	Signing ed25519.PublicKey
	// Proof is the signing key's signature over the recipient: proof that
	// whoever registered the key holds the identity, and that the two halves
	// belong together. A key without a valid proof is not [PublicKey.Bound].
	Proof []byte
}

// String returns the one-line form
// "nvk1:<base64url signing key>:<recipient>:<base64url proof>" (without the
// last part for a key that carries no proof), which [ParsePublicKey] reads
// back.
func (p PublicKey) String() string {
	s := publicKeyPrefix + base64.RawURLEncoding.EncodeToString(p.Signing) + ":" + p.Recipient
	if len(p.Proof) > 0 {
		s += ":" + base64.RawURLEncoding.EncodeToString(p.Proof)
	}
	return s
}

// BindingBytes is what the signing key signs to bind itself to recipient:
//
//	"notevault key binding v1\n" | u32 len | signing key | u32 len | recipient
func BindingBytes(signing ed25519.PublicKey, recipient string) []byte {
	b := []byte(bindingDomain)
	b = binary.BigEndian.AppendUint32(b, uint32(len(signing)))
	b = append(b, signing...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(recipient)))
	return append(b, recipient...)
}

// Bound reports whether the key carries a valid proof: its signing key
// signed its recipient. Nobody without the identity can make one, and
// neither half can be swapped without breaking it.
func (p PublicKey) Bound() bool {
	return len(p.Proof) == ed25519.SignatureSize && p.Verify(BindingBytes(p.Signing, p.Recipient), p.Proof)
}

// Fingerprint is a short, stable name for the key, as ssh-keygen -l prints
// one: "SHA256:" and the unpadded base64 of SHA-256 over the signing key and
// the recipient. The proof is not part of it (it is derived from the two).
func (p PublicKey) Fingerprint() string {
	sum := sha256.Sum256(BindingBytes(p.Signing, p.Recipient))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ParsePublicKey parses the form String returns, ignoring surrounding
// white space. The recipient must be a valid post-quantum hybrid, X25519 or
// ssh-ed25519 age recipient in canonical form; the signing key must be 32
// bytes. Every error is [ErrMalformedPublicKey].
func ParsePublicKey(s string) (PublicKey, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), publicKeyPrefix)
	if !ok {
		return PublicKey{}, ErrMalformedPublicKey
	}
	sig, rec, ok := strings.Cut(rest, ":")
	var proof []byte
	if i := strings.LastIndexByte(rec, ':'); i >= 0 {
		// No recipient contains a colon: what follows the last one is the
		// proof of possession.
		pr, err := base64.RawURLEncoding.Strict().DecodeString(rec[i+1:])
		if err != nil || len(pr) != ed25519.SignatureSize {
			return PublicKey{}, ErrMalformedPublicKey
		}
		rec, proof = rec[:i], pr
	}
	if !ok || len(sig) != base64.RawURLEncoding.EncodedLen(ed25519.PublicKeySize) {
		return PublicKey{}, ErrMalformedPublicKey
	}
	key, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return PublicKey{}, ErrMalformedPublicKey
	}
	if _, err := parseRecipient(rec); err != nil {
		return PublicKey{}, ErrMalformedPublicKey
	}
	return PublicKey{Recipient: rec, Signing: ed25519.PublicKey(key), Proof: proof}, nil
}

// ErrSecretKeyFile is returned by [ParsePublicKeyFile] for a file that holds
// a secret key (an identity file, encrypted or not) instead of a public key.
var ErrSecretKeyFile = errors.New("the file holds a secret key, not a public key")

// ErrPublicKeyFileLines is returned by [ParsePublicKeyFile] for a file that
// does not hold exactly one public key line.
var ErrPublicKeyFileLines = errors.New("a public key file holds one public key line (and optionally blank lines and # comments)")

// ParsePublicKeyFile parses a public key file: one line in the form
// [ParsePublicKey] reads, with blank lines and "#" comment lines around it
// ignored, as `notevault identity public -i FILE > FILE.pub` writes it. A
// file that holds a secret key (an age or SSH identity file, encrypted or
// not) is refused with [ErrSecretKeyFile] before anything else is looked at,
// so that nobody registers, and so passes around, their secret. Errors never
// contain the file's contents.
func ParsePublicKeyFile(data []byte) (PublicKey, error) {
	if isSecret(data) {
		return PublicKey{}, ErrSecretKeyFile
	}
	var line string
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		line = l
		n++
	}
	if n != 1 {
		return PublicKey{}, ErrPublicKeyFileLines
	}
	return ParsePublicKey(line)
}

// isSecret reports whether data looks like it holds a secret key: an
// encrypted identity file, an age secret key, or a PEM private key.
func isSecret(data []byte) bool {
	if isEncrypted(data) {
		return true
	}
	up := bytes.ToUpper(data)
	return bytes.Contains(up, []byte("AGE-SECRET-KEY-")) || bytes.Contains(up, []byte("PRIVATE KEY-----"))
}

// parseRecipient parses an age recipient, accepting only the canonical
// encodings of the three kinds an Identity can have.
func parseRecipient(s string) (age.Recipient, error) {
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil || r.String() != s {
			return nil, errors.New("malformed post-quantum recipient")
		}
		return r, nil
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil || r.String() != s {
			return nil, errors.New("malformed X25519 recipient")
		}
		return r, nil
	case strings.HasPrefix(s, "ssh-ed25519 "):
		// Exactly "ssh-ed25519 <base64>": no options, no comment.
		pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil || len(rest) != 0 || pk.Type() != ssh.KeyAlgoED25519 || sshRecipientString(pk) != s {
			return nil, errors.New("malformed ssh-ed25519 recipient")
		}
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, errors.New("malformed ssh-ed25519 recipient")
		}
		return r, nil
	default:
		return nil, errors.New("unsupported recipient type")
	}
}

// AgeRecipient returns the age recipient that [Identity.AgeIdentity] opens.
func (p PublicKey) AgeRecipient() (age.Recipient, error) {
	r, err := parseRecipient(p.Recipient)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return r, nil
}

// PostQuantum reports whether the recipient is a post-quantum hybrid key.
func (p PublicKey) PostQuantum() bool { return strings.HasPrefix(p.Recipient, "age1pq1") }

// Verify reports whether sig is a valid signature of msg by p. It returns
// false, never panics, for a malformed key.
func (p PublicKey) Verify(msg, sig []byte) bool {
	if len(p.Signing) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(p.Signing, msg, sig)
}

// Equal reports whether p and q are the same key (the proof aside).
func (p PublicKey) Equal(q PublicKey) bool {
	return p.Recipient == q.Recipient && bytes.Equal(p.Signing, q.Signing)
}

// MixError is returned by [CheckMix]: age refuses to encrypt one file to both
// post-quantum and classic recipients. The fields hold participant names.
type MixError struct {
	PostQuantum, Classic []string
}

func (e *MixError) Error() string {
	return fmt.Sprintf("cannot encrypt to both post-quantum keys (%s) and classic keys (%s): age refuses to mix them; "+
		"give every reader of this agreement the same kind of identity "+
		"(notevault identity new makes post-quantum ones, --classic makes X25519)",
		strings.Join(e.PostQuantum, ", "), strings.Join(e.Classic, ", "))
}

// CheckMix returns a *[MixError] when keys mixes post-quantum and classic
// recipients, nil when they are all of one kind. names[i] names keys[i].
func CheckMix(names []string, keys []PublicKey) error {
	if len(names) != len(keys) {
		return fmt.Errorf("identity.CheckMix: %d names for %d keys", len(names), len(keys))
	}
	var e MixError
	for i, k := range keys {
		if k.PostQuantum() {
			e.PostQuantum = append(e.PostQuantum, names[i])
		} else {
			e.Classic = append(e.Classic, names[i])
		}
	}
	if len(e.PostQuantum) > 0 && len(e.Classic) > 0 {
		return &e
	}
	return nil
}
