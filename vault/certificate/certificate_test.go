package certificate

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func sample(t *testing.T) (*Certificate, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "vault-test")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	return &Certificate{Vault: vkey, Agreement: "a-1", Closed: at, ClosedBy: "bob", Close: Receipt{Seq: 10},
		Size: 20, Notes: []Note{
			{ID: "n-1", Kind: "session", Destroyed: at.Add(time.Hour), By: "retention", Rule: "retention.after_close:30d", Receipt: Receipt{Seq: 15}},
			{ID: "n-2", Kind: "reflection", Destroyed: at, By: "bob", Rule: "delete", Receipt: Receipt{Seq: 9}},
		}}, skey
}

func TestSignVerify(t *testing.T) {
	c, skey := sample(t)
	msg, err := c.Sign(skey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(msg, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Agreement != "a-1" || got.ClosedBy != "bob" || len(got.Notes) != 2 || got.Notes[0].Receipt.Seq != 15 || !got.Closed.Equal(c.Closed) {
		t.Fatalf("verified = %+v", got)
	}
	if _, err := Verify(msg, c.Vault); err != nil {
		t.Fatalf("with the right key: %v", err)
	}
	_, other, _ := note.GenerateKey(rand.Reader, "vault-other")
	if _, err := Verify(msg, other); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not the key you gave") {
		t.Fatalf("with another key: %v", err)
	}
	for name, edit := range map[string]func([]byte) []byte{
		"closer":       func(b []byte) []byte { return bytes.Replace(b, []byte(" bob "), []byte(" eve "), 1) },
		"note dropped": func(b []byte) []byte { return bytes.Replace(b, []byte("note n-2 "), []byte("note n-3 "), 1) },
		"key swapped":  func(b []byte) []byte { return bytes.Replace(b, []byte(c.Vault), []byte(other), 1) },
		"not a note":   func(b []byte) []byte { return []byte("hello\n") },
		"truncated":    func(b []byte) []byte { return b[:len(b)/2] },
	} {
		if _, err := Verify(edit(bytes.Clone(msg)), ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

// A certificate signed by the vault that is inconsistent in itself is
// refused: receipts outside the checkpoint, a wrong count.
func TestVerifyRefusesInconsistent(t *testing.T) {
	for name, edit := range map[string]func(*Certificate){
		"receipt beyond checkpoint": func(c *Certificate) { c.Notes[0].Receipt.Seq = 21 },
		"close beyond checkpoint":   func(c *Certificate) { c.Close.Seq = 21 },
		"note twice":                func(c *Certificate) { c.Notes[1].ID = "n-1" },
	} {
		c, skey := sample(t)
		edit(c)
		text, _ := c.Text()
		s, _ := note.NewSigner(skey)
		msg, err := note.Sign(&note.Note{Text: text}, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(msg, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

func TestCheckCheckpoint(t *testing.T) {
	c, skey := sample(t)
	s, _ := note.NewSigner(skey)
	cp := func(size int, head string) []byte {
		msg, err := note.Sign(&note.Note{Text: "notevault audit checkpoint v1\n" + itoa(size) + "\n" + head + "\n"}, s)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	zero := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if _, err := c.CheckCheckpoint(cp(5, zero)); err != nil {
		t.Fatalf("older checkpoint of the same vault: %v", err)
	}
	if _, err := c.CheckCheckpoint(cp(20, zero)); err != nil {
		t.Fatalf("same size, same head: %v", err)
	}
	if _, err := c.CheckCheckpoint(cp(20, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("same size, other head: %v", err)
	}
	oskey, _, _ := note.GenerateKey(rand.Reader, "vault-other")
	os, _ := note.NewSigner(oskey)
	other, _ := note.Sign(&note.Note{Text: "notevault audit checkpoint v1\n5\n" + zero + "\n"}, os)
	if _, err := c.CheckCheckpoint(other); !errors.Is(err, ErrInvalid) {
		t.Fatalf("another vault's checkpoint: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
