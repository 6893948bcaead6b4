package certificate

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary certificate texts to the parser behind Verify.
// It must never panic, must refuse with ErrInvalid, and whatever it accepts
// must be exactly the documented form: writing the parsed certificate out
// again gives back the same text, byte for byte, so no two texts verify as
// the same certificate.
func FuzzParse(f *testing.F) {
	c, _ := sample(&testing.T{})
	text, err := c.Text()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(text)
	f.Add("")
	f.Add(header + "\n")
	f.Fuzz(func(t *testing.T, text string) {
		// As Verify does: the key is the one the second line names (the
		// signature over it is what Verify checks before parsing).
		lines := strings.SplitN(text, "\n", 3)
		key := ""
		if len(lines) > 1 {
			key, _ = strings.CutPrefix(lines[1], "vault ")
		}
		got, err := parse(text, key)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refused with %v, not ErrInvalid", err)
			}
			return
		}
		again, err := got.Text()
		if err != nil {
			t.Fatalf("an accepted certificate does not write out: %v", err)
		}
		if again != text {
			t.Fatalf("accepted %q but it writes out as %q", text, again)
		}
	})
}

// FuzzVerify: any bytes given as a certificate file are refused with
// ErrInvalid or verified, never a panic.
func FuzzVerify(f *testing.F) {
	c, skey := sample(&testing.T{})
	msg, err := c.Sign(skey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Add([]byte("hello\n\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if _, err := Verify(msg, ""); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("refused with %v, not ErrInvalid", err)
		}
	})
}
