package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) {
	SetScryptWorkFactor(10)
	os.Exit(m.Run())
}

// Known answer: the signing key derived from a fixed X25519 age key and from
// a fixed OpenSSH ed25519 seed (bytes 0..31). Changing either breaks every
// signature ever made.
const (
	katAgeSecret     = "AGE-SECRET-KEY-1D2XLHGLQPTQL0GCKHP5WZWY7FKPDCK9LWVTEV4NRMR3T5QS49JGQZYSNWM"
	katAgeRecipient  = "age1st9hpcmsf3kqn9hp4z0rnhthusfev7axp7gctnqmsell5u867q5q7nz3k7"
	katAgeSigningHex = "ed56c060ef34e419ec0158d3ffff567a2240bb3cee8237f483394a54ea4f4b95"
	katAgePublic     = "nvk1:7VbAYO805BnsAVjT__9WeiJAuzzugjf0gzlKVOpPS5U:age1st9hpcmsf3kqn9hp4z0rnhthusfev7axp7gctnqmsell5u867q5q7nz3k7:ihpJ-si0siBCAJa9NxSpU3-XvctxG3Y16zCCqLoPSk6MbXL1tQ7YPqWUzpEEtisubpocbYM6jblIEjXXpKkIDg"
	katSSHSigningHex = "01a5aaee19015a519012fa0d50f039c60c14368967a92937d6464c02dc071fdd"
	katSSHPublic     = "nvk1:AaWq7hkBWlGQEvoNUPA5xgwUNolnqSk31kZMAtwHH90:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4:X28p6xw9vuATrQetxneE8v3a5s4QIcXafjTA1QOhtGQz3KvxxJkXj21NpUGMPBu8cLjt3A37z9BZ4Hm7S8bUAw"
)

func TestKnownAnswerAge(t *testing.T) {
	id, err := Parse([]byte(katAgeSecret + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	pub := id.Public()
	if got := hex.EncodeToString(pub.Signing); got != katAgeSigningHex {
		t.Errorf("signing key = %s, want %s", got, katAgeSigningHex)
	}
	if pub.Recipient != katAgeRecipient {
		t.Errorf("recipient = %s, want %s", pub.Recipient, katAgeRecipient)
	}
	if pub.String() != katAgePublic {
		t.Errorf("public key = %s, want %s", pub, katAgePublic)
	}
	// Cross-check the derivation with the standard library's HKDF, so the
	// constant above is not merely whatever the code produced.
	seed, err := hkdf.Key(sha256.New, []byte(katAgeSecret), nil, "notevault.v1 ed25519 signing key", 32)
	if err != nil {
		t.Fatal(err)
	}
	want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if !want.Equal(pub.Signing) {
		t.Errorf("signing key does not match HKDF-SHA256 of the secret key string")
	}
}

func sshPEM(t *testing.T, priv ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := ssh.MarshalPrivateKey(priv, "alice@example")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(b)
}

func TestKnownAnswerSSH(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	id, err := Parse(sshPEM(t, ed25519.NewKeyFromSeed(seed)))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(id.Public().Signing); got != katSSHSigningHex {
		t.Errorf("signing key = %s, want %s", got, katSSHSigningHex)
	}
	if got := id.Public().String(); got != katSSHPublic {
		t.Errorf("public key = %s, want %s", got, katSSHPublic)
	}
	d, err := hkdf.Key(sha256.New, seed, nil, "notevault.v1 ed25519 signing key", 32)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.NewKeyFromSeed(d).Public().(ed25519.PublicKey).Equal(id.Public().Signing) {
		t.Errorf("signing key does not match HKDF-SHA256 of the SSH seed")
	}
}

// roundTripAge encrypts to pub's age recipient and decrypts with id.
func roundTripAge(t *testing.T, pub PublicKey, id *Identity) {
	t.Helper()
	r, err := pub.AgeRecipient()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "a note")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pr, err := age.Decrypt(&buf, id.AgeIdentity())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(pr)
	if err != nil || string(got) != "a note" {
		t.Fatalf("decrypted %q, %v", got, err)
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pq     bool
		secret string
		rec    string
	}{
		{"post-quantum", true, "AGE-SECRET-KEY-PQ-1", "age1pq1"},
		{"classic", false, "AGE-SECRET-KEY-1", "age1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := Generate(tc.pq)
			if err != nil {
				t.Fatal(err)
			}
			if id.PostQuantum() != tc.pq || id.Public().PostQuantum() != tc.pq {
				t.Errorf("PostQuantum = %v/%v, want %v", id.PostQuantum(), id.Public().PostQuantum(), tc.pq)
			}
			text := string(id.Encode())
			lines := strings.Split(text, "\n")
			if len(lines) != 5 || lines[4] != "" ||
				!strings.HasPrefix(lines[0], "# created: ") ||
				lines[1] != "# public key: "+id.Public().Recipient ||
				lines[2] != "# notevault key: "+id.Public().String() ||
				!strings.HasPrefix(lines[3], tc.secret) ||
				!strings.HasPrefix(id.Public().Recipient, tc.rec) {
				t.Fatalf("unexpected encoding shape:\n%s", redactKeys(text))
			}
			back, err := Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if !back.Public().Equal(id.Public()) || back.PostQuantum() != tc.pq {
				t.Fatalf("parsed identity has another public key")
			}
			if again := string(back.Encode()); again != text {
				t.Errorf("re-encoding changed the file (created time lost?)")
			}
			// The public key written in the file parses to the same key.
			pk, err := ParsePublicKey(strings.TrimPrefix(lines[2], "# notevault key: "))
			if err != nil || !pk.Equal(id.Public()) {
				t.Fatalf("public key comment: %v", err)
			}
			roundTripAge(t, pk, back)
			roundTripAge(t, back.Public(), id)
		})
	}
}

func redactKeys(s string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.HasPrefix(l, "AGE-SECRET-KEY") {
			l = "AGE-SECRET-KEY-…\n"
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func TestSignVerify(t *testing.T) {
	alice, err := Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("consent v3 for note 42")
	sig := alice.Sign(msg)
	if !alice.Public().Verify(msg, sig) {
		t.Fatal("valid signature does not verify")
	}
	for i := range len(sig) * 8 {
		bad := bytes.Clone(sig)
		bad[i/8] ^= 1 << (i % 8)
		if alice.Public().Verify(msg, bad) {
			t.Fatalf("signature with bit %d flipped verifies", i)
		}
	}
	badMsg := bytes.Clone(msg)
	badMsg[0] ^= 1
	if alice.Public().Verify(badMsg, sig) {
		t.Error("signature verifies for another message")
	}
	if bob.Public().Verify(msg, sig) {
		t.Error("signature verifies under another person's key")
	}
	if (PublicKey{}).Verify(msg, sig) {
		t.Error("zero PublicKey verifies")
	}
	if (PublicKey{Signing: []byte{1, 2, 3}}).Verify(msg, sig) {
		t.Error("short signing key verifies")
	}
	// A classic and a post-quantum identity never share a signing key.
	if bytes.Equal(alice.Public().Signing, bob.Public().Signing) {
		t.Error("two identities derived the same signing key")
	}
}

func TestSSHIdentity(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data := sshPEM(t, priv)
	id, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if id.PostQuantum() {
		t.Error("SSH identity claims to be post-quantum")
	}
	pub := id.Public()
	sshPub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))); pub.Recipient != want {
		t.Errorf("recipient = %q, want %q", pub.Recipient, want)
	}
	// The signing key is derived, not the SSH key itself.
	if bytes.Equal(pub.Signing, priv.Public().(ed25519.PublicKey)) {
		t.Error("signing key is the raw SSH key; want an HKDF-derived key")
	}
	roundTripAge(t, pub, id)
	msg := []byte("hold")
	if !pub.Verify(msg, id.Sign(msg)) {
		t.Error("SSH identity signature does not verify")
	}
	pk, err := ParsePublicKey(pub.String())
	if err != nil || !pk.Equal(pub) {
		t.Fatalf("ParsePublicKey(%q) = %v, %v", pub, pk, err)
	}
	back, err := Parse(id.Encode())
	if err != nil || !back.Public().Equal(pub) {
		t.Fatalf("Encode/Parse round trip: %v", err)
	}
}

func TestSSHRejected(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	enc, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, err := ssh.MarshalPrivateKey(rsaKey, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"encrypted ssh": pem.EncodeToMemory(enc),
		"rsa":           pem.EncodeToMemory(rsaPEM),
		"garbage pem":   []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"),
	} {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		} else if errors.Is(err, ErrPassphraseRequired) {
			t.Errorf("%s: got ErrPassphraseRequired, want a clear unsupported error", name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	other, _ := Generate(false)
	otherKey := other.AgeIdentity().(fmt.Stringer).String()
	// A well-formed-looking key with a broken checksum.
	broken := katAgeSecret[:len(katAgeSecret)-3] + "QQQ"
	for _, tc := range []struct {
		name, data string
	}{
		{"empty", ""},
		{"comments only", "# created: 2024-01-01T00:00:00Z\n\n# nothing\n"},
		{"two keys", katAgeSecret + "\n" + otherKey + "\n"},
		{"recipient", katAgeRecipient + "\n"},
		{"bad checksum", broken + "\n"},
		{"plugin", "AGE-PLUGIN-YUBIKEY-1QQQQQQ\n"},
		{"unknown", "hello " + katAgeSecret + "\n"},
		{"indented key", " " + katAgeSecret + "\n"},
		{"not utf8", "\xff\xfe\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "AGE-SECRET-KEY") || strings.Contains(msg, katAgeSecret[16:30]) ||
				strings.Contains(msg, strings.ToLower(katAgeSecret[16:30])) {
				t.Errorf("error leaks key material: %s", msg)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	// CRLF line endings and comments, as age itself accepts.
	id, err := Parse([]byte("# a comment\r\n\r\n" + katAgeSecret + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if id.Public().String() != katAgePublic {
		t.Error("CRLF file parsed to another key")
	}
}

func encryptTo(t *testing.T, plain []byte, armored bool, r age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	var dst io.Writer = &buf
	var aw io.WriteCloser
	if armored {
		aw = armor.NewWriter(&buf)
		dst = aw
	}
	w, err := age.Encrypt(dst, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		aw.Close()
	}
	return buf.Bytes()
}

func TestPassphraseRequired(t *testing.T) {
	r, err := age.NewScryptRecipient("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	for _, armored := range []bool{false, true} {
		data := encryptTo(t, []byte(katAgeSecret+"\n"), armored, r)
		if armored {
			data = append([]byte("\n  \n"), data...) // age tolerates leading space
		}
		if _, err := Parse(data); !errors.Is(err, ErrPassphraseRequired) {
			t.Errorf("armored=%v: Parse error = %v, want ErrPassphraseRequired", armored, err)
		}
		id, err := ParseWithPassphrase(data, []byte("correct horse"))
		if err != nil {
			t.Fatalf("armored=%v: %v", armored, err)
		}
		if id.Public().String() != katAgePublic {
			t.Errorf("armored=%v: decrypted to another key", armored)
		}
		if _, err := ParseWithPassphrase(data, []byte("wrong horse")); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("armored=%v: wrong passphrase error = %v", armored, err)
		}
		if _, err := ParseWithPassphrase(data, nil); err == nil {
			t.Errorf("armored=%v: empty passphrase accepted", armored)
		}
	}

	// A file encrypted to a key rather than a passphrase is not a "wrong
	// passphrase".
	other, _ := Generate(false)
	r2, _ := other.Public().AgeRecipient()
	data := encryptTo(t, []byte(katAgeSecret+"\n"), true, r2)
	_, err = ParseWithPassphrase(data, []byte("x"))
	if err == nil || errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("file encrypted to a key: error = %v", err)
	}
	// A plain file with a passphrase is just parsed.
	if id, err := ParseWithPassphrase([]byte(katAgeSecret), []byte("x")); err != nil || id.Public().String() != katAgePublic {
		t.Errorf("plain file through ParseWithPassphrase: %v", err)
	}
}

func TestRedaction(t *testing.T) {
	id, err := Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	secret := id.AgeIdentity().(fmt.Stringer).String()
	if !strings.HasPrefix(secret, "AGE-SECRET-KEY") {
		t.Fatal("test setup: no secret key string")
	}
	wrapper := struct{ ID *Identity }{id}
	outs := []string{
		id.String(), id.GoString(),
		fmt.Sprint(id), fmt.Sprint(*id),
		fmt.Sprintf("%v %+v %#v %s %q %x %d", id, id, id, id, id, id, id),
		fmt.Sprintf("%v %+v %#v %s", *id, *id, *id, *id),
		fmt.Sprintf("%v %+v %#v", wrapper, wrapper, wrapper),
		fmt.Sprintf("%v", []*Identity{id}),
	}
	for _, s := range outs {
		if strings.Contains(s, "AGE-SECRET-KEY") || strings.Contains(s, secret[20:40]) {
			t.Errorf("formatted identity leaks the secret: %.80s", s)
		}
		if !strings.Contains(s, "(redacted)") {
			t.Errorf("formatted identity = %.80q, want (redacted)", s)
		}
	}
}

// katAgeFingerprint is the fingerprint of katAgePublic.
const katAgeFingerprint = "SHA256:IIGt1t0CdyJTkhLT108misJ6lAVQB02Yi1gdlC9qxEk" // cross-checked with Python hashlib
