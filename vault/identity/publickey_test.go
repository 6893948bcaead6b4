package identity

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

const (
	sshRec = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
	sigB64 = "7VbAYO805BnsAVjT__9WeiJAuzzugjf0gzlKVOpPS5U"
)

func TestParsePublicKey(t *testing.T) {
	pq, err := Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{katAgePublic, katSSHPublic, pq.Public().String(), "  \t" + katAgePublic + "\n"} {
		p, err := ParsePublicKey(s)
		if err != nil {
			t.Fatalf("ParsePublicKey(%.60q): %v", s, err)
		}
		if p.String() != strings.TrimSpace(s) {
			t.Errorf("String() = %.60q, want the input", p.String())
		}
		if _, err := p.AgeRecipient(); err != nil {
			t.Errorf("AgeRecipient: %v", err)
		}
	}
	p, _ := ParsePublicKey(pq.Public().String())
	if !p.PostQuantum() || !p.Equal(pq.Public()) {
		t.Error("post-quantum key lost its kind or value")
	}
	if q, _ := ParsePublicKey(katAgePublic); q.PostQuantum() || q.Equal(p) {
		t.Error("classic key reported as post-quantum or equal to another key")
	}
}

func TestParsePublicKeyBad(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"spaces", "   "},
		{"bare recipient", katAgeRecipient},
		{"bare ssh", sshRec},
		{"wrong prefix", "nvk2:" + sigB64 + ":" + katAgeRecipient},
		{"upper prefix", "NVK1:" + sigB64 + ":" + katAgeRecipient},
		{"no recipient", "nvk1:" + sigB64},
		{"empty recipient", "nvk1:" + sigB64 + ":"},
		{"empty signing key", "nvk1::" + katAgeRecipient},
		{"short signing key", "nvk1:" + sigB64[:40] + ":" + katAgeRecipient},
		{"long signing key", "nvk1:" + sigB64 + "AAAA:" + katAgeRecipient},
		{"padded signing key", "nvk1:" + sigB64 + "=:" + katAgeRecipient},
		{"std base64 signing key", "nvk1:7VbAYO805BnsAVjT//9WeiJAuzzugjf0gzlKVOpPS5U:" + katAgeRecipient},
		{"non-canonical base64", "nvk1:7VbAYO805BnsAVjT__9WeiJAuzzugjf0gzlKVOpPS5V:" + katAgeRecipient},
		{"bad checksum", "nvk1:" + sigB64 + ":" + katAgeRecipient[:len(katAgeRecipient)-1] + "q"},
		{"upper recipient", "nvk1:" + sigB64 + ":" + strings.ToUpper(katAgeRecipient)},
		{"secret key as recipient", "nvk1:" + sigB64 + ":" + katAgeSecret},
		{"truncated pq", "nvk1:" + sigB64 + ":age1pq1zdqgeg5hheh7zvkjhw9wpy4yqfvputnunfrus4ddeqhdy"},
		{"tag recipient", "nvk1:" + sigB64 + ":age1tag1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"},
		{"plugin recipient", "nvk1:" + sigB64 + ":age1yubikey1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"},
		{"ssh comment", "nvk1:" + sigB64 + ":" + sshRec + " alice@example"},
		{"ssh double space", "nvk1:" + sigB64 + ":ssh-ed25519  " + sshRec[len("ssh-ed25519 "):]},
		{"ssh rsa", "nvk1:" + sigB64 + ":ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"},
		{"ssh type mismatch", "nvk1:" + sigB64 + ":ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ"},
		{"ssh bad base64", "nvk1:" + sigB64 + ":ssh-ed25519 !!!!"},
		{"inner newline", "nvk1:" + sigB64 + ":" + katAgeRecipient + "\n" + katAgeRecipient},
		{"two keys", katAgePublic + " " + katAgePublic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePublicKey(tc.in)
			if err == nil {
				t.Fatalf("accepted, got %v", p)
			}
			if !errors.Is(err, ErrMalformedPublicKey) {
				t.Errorf("error = %v, want ErrMalformedPublicKey", err)
			}
			if want := `public key must look like "nvk1:<signing key>:<age recipient>:<proof>" (notevault identity public prints it)`; err.Error() != want {
				t.Errorf("error = %q", err)
			}
		})
	}
}

func TestAgeRecipientBad(t *testing.T) {
	if _, err := (PublicKey{Recipient: "nonsense"}).AgeRecipient(); err == nil {
		t.Error("AgeRecipient of a bad recipient succeeded")
	}
}

func TestCheckMix(t *testing.T) {
	pq1, _ := Generate(true)
	pq2, _ := Generate(true)
	cl, _ := Generate(false)
	ssh, err := ParsePublicKey(katSSHPublic)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMix(nil, nil); err != nil {
		t.Errorf("empty: %v", err)
	}
	if err := CheckMix([]string{"alice", "dan"}, []PublicKey{pq1.Public(), pq2.Public()}); err != nil {
		t.Errorf("all post-quantum: %v", err)
	}
	if err := CheckMix([]string{"bob", "carol"}, []PublicKey{cl.Public(), ssh}); err != nil {
		t.Errorf("all classic: %v", err)
	}
	err = CheckMix([]string{"alice", "bob", "carol"}, []PublicKey{pq1.Public(), cl.Public(), ssh})
	me, ok := errors.AsType[*MixError](err)
	if !ok {
		t.Fatalf("mixed: error = %v, want *MixError", err)
	}
	if strings.Join(me.PostQuantum, ",") != "alice" || strings.Join(me.Classic, ",") != "bob,carol" {
		t.Errorf("MixError = %+v", me)
	}
	want := "cannot encrypt to both post-quantum keys (alice) and classic keys (bob, carol): age refuses to mix them; " +
		"give every reader of this agreement the same kind of identity " +
		"(notevault identity new makes post-quantum ones, --classic makes X25519)"
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	if err := CheckMix([]string{"alice"}, nil); err == nil {
		t.Error("length mismatch accepted")
	}
}

func FuzzParsePublicKey(f *testing.F) {
	for _, s := range []string{
		katAgePublic, katSSHPublic, " " + katAgePublic + "\n", "nvk1:", "nvk1::", "nvk1:" + sigB64 + ":",
		"nvk1:" + sigB64 + ":" + sshRec + " comment", "nvk1:" + sigB64 + ":age1pq1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePublicKey(s)
		if err != nil {
			if p.Recipient != "" || p.Signing != nil {
				t.Fatalf("error with a non-zero key")
			}
			if !errors.Is(err, ErrMalformedPublicKey) {
				t.Fatalf("error %v is not ErrMalformedPublicKey", err)
			}
			return
		}
		// Accepted keys are canonical: they print back exactly as given.
		out := p.String()
		if out != strings.TrimSpace(s) {
			t.Fatalf("String() = %q, input %q", out, s)
		}
		q, err := ParsePublicKey(out)
		if err != nil || !q.Equal(p) {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if _, err := p.AgeRecipient(); err != nil {
			t.Fatalf("accepted key has no age recipient: %v", err)
		}
		if strings.ContainsAny(out, "\n\r\t") {
			t.Fatalf("accepted key spans lines: %q", out)
		}
		p.Verify([]byte("m"), make([]byte, 64)) // must not panic
	})
}

// TestBinding plays the store's attacker: the recipient half of a registered
// key replaced by the attacker's, or a proof lifted from another key, must not
// pass as bound. The first case is the control: the genuine key is bound.
func TestBinding(t *testing.T) {
	alice, err := Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	genuine := alice.Public()
	if !genuine.Bound() {
		t.Fatal("a freshly generated key is not bound")
	}
	parsed, err := ParsePublicKey(genuine.String())
	if err != nil || !parsed.Bound() {
		t.Fatalf("the printed key does not parse back bound: %v", err)
	}
	swapped := genuine
	swapped.Recipient = mallory.Public().Recipient
	if swapped.Bound() {
		t.Error("a key whose recipient was swapped is still bound")
	}
	lifted := mallory.Public()
	lifted.Proof = genuine.Proof
	if lifted.Bound() {
		t.Error("a proof lifted from another key binds")
	}
	bare, err := ParsePublicKey("nvk1:" + sigB64 + ":" + katAgeRecipient)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Bound() {
		t.Error("a key without a proof is bound")
	}
	if strings.Count(bare.String(), ":") != 2 {
		t.Errorf("a key without a proof prints a proof: %s", bare)
	}
}

// TestFingerprint pins the fingerprint of the known-answer key: changing the
// derivation would silently unpin every participant.
func TestFingerprint(t *testing.T) {
	p, err := ParsePublicKey(katAgePublic)
	if err != nil {
		t.Fatal(err)
	}
	const want = "SHA256:"
	fp := p.Fingerprint()
	if !strings.HasPrefix(fp, want) || len(fp) != len(want)+43 {
		t.Fatalf("fingerprint %q is not SHA256:<43 base64 chars>", fp)
	}
	other, _ := ParsePublicKey(katSSHPublic)
	if other.Fingerprint() == fp {
		t.Error("two keys share a fingerprint")
	}
	noProof := p
	noProof.Proof = nil
	if noProof.Fingerprint() != fp {
		t.Error("the proof changes the fingerprint")
	}
	if fp != katAgeFingerprint {
		t.Errorf("fingerprint = %s, want %s", fp, katAgeFingerprint)
	}
}

// A public key file holds one key line, perhaps with comments and blank
// lines; a file holding a secret key is refused as such, whatever else it
// holds (an identity file carries its public key in a comment: it is still
// refused), and the errors never repeat the file.
func TestParsePublicKeyFile(t *testing.T) {
	pq, err := Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	plain := pq.Encode()
	defer clear(plain)
	encrypted, err := Marshal(pq, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	ssh := sshPEM(t, ed25519.NewKeyFromSeed(make([]byte, 32)))
	for _, tc := range []struct {
		name string
		data string
		want string // the key's String(), or ""
		err  error
	}{
		{name: "one line", data: katAgePublic, want: katAgePublic},
		{name: "with newline", data: katAgePublic + "\n", want: katAgePublic},
		{name: "crlf", data: katAgePublic + "\r\n", want: katAgePublic},
		{name: "comments and blanks", data: "# bob, registered 2027-01-02\n\n  " + katSSHPublic + "  \n\n", want: katSSHPublic},
		{name: "post-quantum", data: pq.Public().String() + "\n", want: pq.Public().String()},
		{name: "empty", data: "", err: ErrPublicKeyFileLines},
		{name: "comments only", data: "# nothing\n\n", err: ErrPublicKeyFileLines},
		{name: "two keys", data: katAgePublic + "\n" + katSSHPublic + "\n", err: ErrPublicKeyFileLines},
		{name: "not a key", data: "age1st9hpcmsf3kqn9hp4z0rnhthusfev7axp7gctnqmsell5u867q5q7nz3k7\n", err: ErrMalformedPublicKey},
		{name: "identity file", data: string(plain), err: ErrSecretKeyFile},
		{name: "bare age secret", data: katAgeSecret + "\n", err: ErrSecretKeyFile},
		{name: "lowercase age secret", data: strings.ToLower(katAgeSecret), err: ErrSecretKeyFile},
		{name: "key line and a secret", data: katAgePublic + "\n" + katAgeSecret + "\n", err: ErrSecretKeyFile},
		{name: "passphrase-encrypted identity", data: string(encrypted), err: ErrSecretKeyFile},
		{name: "ssh private key", data: string(ssh), err: ErrSecretKeyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePublicKeyFile([]byte(tc.data))
			if tc.err != nil {
				if !errors.Is(err, tc.err) || p.Recipient != "" {
					t.Fatalf("got %v, %v; want %v", p, err, tc.err)
				}
				for _, l := range strings.Split(tc.data, "\n") {
					if l = strings.TrimSpace(l); len(l) > 8 && strings.Contains(err.Error(), l) {
						t.Fatalf("error repeats the file: %v", err)
					}
				}
				return
			}
			if err != nil || p.String() != tc.want {
				t.Fatalf("got %q, %v; want %q", p.String(), err, tc.want)
			}
		})
	}
}

func FuzzParsePublicKeyFile(f *testing.F) {
	for _, s := range []string{katAgePublic, "# c\n" + katSSHPublic + "\n", katAgeSecret, "", "\n\n#\n", katAgePublic + "\n" + katAgePublic} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePublicKeyFile([]byte(s))
		if err != nil {
			if p.Recipient != "" || p.Signing != nil {
				t.Fatalf("error with a non-zero key")
			}
			if !errors.Is(err, ErrMalformedPublicKey) && !errors.Is(err, ErrSecretKeyFile) && !errors.Is(err, ErrPublicKeyFileLines) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Whatever was accepted is a key line of the file, as given.
		if !strings.Contains(s, p.String()) || strings.Contains(strings.ToUpper(s), "AGE-SECRET-KEY-") {
			t.Fatalf("accepted %q from %q", p.String(), s)
		}
	})
}
