package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/hkdf"
	"golang.org/x/crypto/ssh"
)

// signingInfo is the HKDF context string of the Ed25519 signing key. Changing
// it changes every participant's signing key.
const signingInfo = "notevault.v1 ed25519 signing key"

const (
	prefixX25519  = "AGE-SECRET-KEY-1"
	prefixHybrid  = "AGE-SECRET-KEY-PQ-1"
	prefixPlugin  = "AGE-PLUGIN-"
	binaryAgeHead = "age-encryption.org/"
)

var (
	// ErrPassphraseRequired is returned by [Parse] for a passphrase-encrypted
	// identity file; use [ParseWithPassphrase] or [Load].
	ErrPassphraseRequired = errors.New("identity file is encrypted with a passphrase")
	// ErrWrongPassphrase is returned when the passphrase does not open an
	// encrypted identity file.
	ErrWrongPassphrase = errors.New("incorrect passphrase for identity file")
)

type kind uint8

const (
	kindX25519 kind = iota + 1
	kindHybrid
	kindSSH
)

// Identity is one person's key: it decrypts age files and signs records.
// It prints as "(redacted)" with every fmt verb.
type Identity struct {
	kind    kind
	age     age.Identity
	sshPEM  []byte // kindSSH: the OpenSSH private key file, returned by Encode
	created time.Time
	signing ed25519.PrivateKey
	public  PublicKey
}

// Generate makes a new identity: a post-quantum hybrid age key
// (AGE-SECRET-KEY-PQ-1…) when postQuantum is true, an X25519 one otherwise.
func Generate(postQuantum bool) (*Identity, error) {
	now := time.Now().Truncate(time.Second)
	if postQuantum {
		k, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, err
		}
		return fromAge(kindHybrid, k, k.String(), k.Recipient().String(), now), nil
	}
	k, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	return fromAge(kindX25519, k, k.String(), k.Recipient().String(), now), nil
}

// fromAge builds an Identity from a parsed age key; secret is its canonical
// AGE-SECRET-KEY-… encoding.
func fromAge(k kind, ai age.Identity, secret, recipient string, created time.Time) *Identity {
	ikm := []byte(secret)
	defer clear(ikm)
	signing := deriveSigningKey(ikm)
	return &Identity{
		kind:    k,
		age:     ai,
		created: created,
		signing: signing,
		public:  boundKey(signing, recipient),
	}
}

// boundKey is the public key of signing and recipient with its proof of
// possession. Ed25519 signatures are deterministic, so the same identity
// always prints the same line.
func boundKey(signing ed25519.PrivateKey, recipient string) PublicKey {
	pub := signing.Public().(ed25519.PublicKey)
	return PublicKey{Recipient: recipient, Signing: pub, Proof: ed25519.Sign(signing, BindingBytes(pub, recipient))}
}

// deriveSigningKey is HKDF-SHA256(ikm, salt = nil, info = signingInfo) -> 32
// byte Ed25519 seed.
func deriveSigningKey(ikm []byte) ed25519.PrivateKey {
	var seed [ed25519.SeedSize]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, []byte(signingInfo)), seed[:]); err != nil {
		panic("identity: hkdf: " + err.Error()) // unreachable: 32 bytes is far below the HKDF limit
	}
	return ed25519.NewKeyFromSeed(seed[:])
}

// Encode returns the identity file text. For an age key it is what
// age-keygen writes, plus a "# notevault key:" comment with the public key:
//
//	# created: <RFC 3339>
//	# public key: <age recipient>
//	# notevault key: <PublicKey.String()>
//	AGE-SECRET-KEY-…
//
// For an SSH key it is the OpenSSH private key file that was parsed. The
// result holds the secret key: clear it when done.
func (id *Identity) Encode() []byte {
	if id.kind == kindSSH {
		return bytes.Clone(id.sshPEM)
	}
	created := id.created
	if created.IsZero() {
		created = time.Now()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# created: %s\n", created.Format(time.RFC3339))
	fmt.Fprintf(&b, "# public key: %s\n", id.public.Recipient)
	fmt.Fprintf(&b, "# notevault key: %s\n", id.public)
	b.WriteString(id.age.(fmt.Stringer).String())
	b.WriteByte('\n')
	return b.Bytes()
}

// Parse reads an identity file: an age identity file holding exactly one
// X25519 or post-quantum hybrid key (comment and blank lines are ignored), or
// an unencrypted OpenSSH ed25519 private key. A passphrase-encrypted identity
// file (binary or armored age) yields [ErrPassphraseRequired]. Errors never
// contain key material.
func Parse(data []byte) (*Identity, error) {
	switch trimmed := bytes.TrimSpace(data); {
	case isEncrypted(data):
		return nil, ErrPassphraseRequired
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		return parseSSH(data)
	default:
		return parseAgeKeys(data)
	}
}

// isEncrypted reports whether data is an age file, binary or armored, the
// way the age CLI tells an encrypted identity file apart.
func isEncrypted(data []byte) bool {
	return bytes.HasPrefix(data, []byte(binaryAgeHead)) ||
		bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header))
}

func parseAgeKeys(data []byte) (*Identity, error) {
	var (
		found   *Identity
		keys    int
		created time.Time
		n       int
	)
	for raw := range bytes.Lines(data) {
		n++
		line := bytes.TrimSuffix(bytes.TrimSuffix(raw, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if c, ok := bytes.CutPrefix(line, []byte("# created: ")); ok {
			if t, err := time.Parse(time.RFC3339, string(c)); err == nil {
				created = t
			}
		}
		if line[0] == '#' {
			continue
		}
		if !utf8.Valid(line) {
			return nil, errors.New("identity file is not valid UTF-8")
		}
		keys++
		if keys > 1 {
			continue // counted for the error below; not parsed
		}
		// Match on the bytes first so that a line that is not a key is never
		// turned into a string or echoed.
		var err error
		switch {
		case bytes.HasPrefix(line, []byte(prefixHybrid)):
			var k *age.HybridIdentity
			if k, err = age.ParseHybridIdentity(string(line)); err == nil {
				found = fromAge(kindHybrid, k, k.String(), k.Recipient().String(), time.Time{})
			}
		case bytes.HasPrefix(line, []byte(prefixX25519)):
			var k *age.X25519Identity
			if k, err = age.ParseX25519Identity(string(line)); err == nil {
				found = fromAge(kindX25519, k, k.String(), k.Recipient().String(), time.Time{})
			}
		case bytes.HasPrefix(line, []byte(prefixPlugin)):
			return nil, fmt.Errorf("line %d: age plugin identities are not supported: notevault needs the secret key to derive the signing key", n)
		case bytes.HasPrefix(line, []byte("age1")):
			return nil, fmt.Errorf("line %d: apparent recipient (public key) found in identity file", n)
		default:
			return nil, fmt.Errorf("line %d: unknown identity type", n)
		}
		if err != nil {
			// age's message may quote part of the key: do not pass it on.
			return nil, fmt.Errorf("line %d: malformed age secret key", n)
		}
	}
	switch {
	case keys == 0:
		return nil, errors.New("no age secret key found")
	case keys > 1:
		return nil, fmt.Errorf("found %d secret keys, want exactly one: one identity file is one person", keys)
	}
	found.created = created
	return found, nil
}

func parseSSH(data []byte) (*Identity, error) {
	raw, err := ssh.ParseRawPrivateKey(data)
	if _, ok := errors.AsType[*ssh.PassphraseMissingError](err); ok {
		return nil, errors.New("passphrase-protected SSH keys are not supported: use an age identity (notevault identity new), or remove the passphrase with ssh-keygen -p")
	}
	if err != nil {
		return nil, errors.New("malformed OpenSSH private key")
	}
	var priv ed25519.PrivateKey
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		priv = k
	case *ed25519.PrivateKey:
		priv = *k
	default:
		return nil, errors.New("unsupported SSH key type: only ed25519 SSH keys can be notevault identities")
	}
	defer clear(priv)
	ai, err := agessh.NewEd25519Identity(priv)
	if err != nil {
		return nil, errors.New("malformed OpenSSH ed25519 private key")
	}
	pk, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return nil, errors.New("malformed OpenSSH ed25519 private key")
	}
	seed := priv.Seed()
	defer clear(seed)
	signing := deriveSigningKey(seed)
	return &Identity{
		kind:    kindSSH,
		age:     ai,
		sshPEM:  bytes.Clone(data),
		signing: signing,
		public:  boundKey(signing, sshRecipientString(pk)),
	}, nil
}

// sshRecipientString is "ssh-ed25519 AAAA…", without a comment.
func sshRecipientString(pk ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pk)), "\n")
}

// Public returns the key a participant registers.
func (id *Identity) Public() PublicKey {
	return PublicKey{Recipient: id.public.Recipient, Signing: bytes.Clone(id.public.Signing), Proof: bytes.Clone(id.public.Proof)}
}

// AgeIdentity returns the age identity that decrypts files encrypted to
// Public().AgeRecipient().
func (id *Identity) AgeIdentity() age.Identity { return id.age }

// Sign returns the Ed25519 signature of msg under the derived signing key.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.signing, msg) }

// PostQuantum reports whether this is a post-quantum hybrid age key.
func (id *Identity) PostQuantum() bool { return id.kind == kindHybrid }

const redacted = "(redacted)"

// String returns "(redacted)".
func (Identity) String() string { return redacted }

// GoString returns a redacted Go-syntax placeholder.
func (Identity) GoString() string { return "identity.Identity" + redacted }

// Format prints "(redacted)" for every verb (and the GoString for %#v), so
// that no formatting path reaches the secret fields.
func (id Identity) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, id.GoString())
		return
	}
	io.WriteString(f, redacted)
}
