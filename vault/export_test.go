package vault

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"filippo.io/age"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
)

// ageOpen decrypts an age file with id's key, or returns the error.
func ageOpen(ageFile []byte, id *identity.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ageFile), id.AgeIdentity())
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// A body-only export holds the body and nothing else, opens with the
// exporter's key and no other reader's, and is decided and audited as a
// read: a reader of the note exports it; whoever may not read it cannot.
func TestExportNoteBody(t *testing.T) {
	f := newFixture(t, true)
	body := "Body only.\n\ntitle: not a header\n"
	n := f.add(policy.Session, f.alice, content("Secret title", body, "secret-tag"))

	got, err := f.v.ExportNoteBody(f.ctx, n.ID, f.bob)
	if err != nil {
		t.Fatalf("ExportNoteBody: %v", err)
	}
	plain, err := ageOpen(got, f.bob)
	if err != nil || string(plain) != body {
		t.Fatalf("bob opens %q, %v; want %q", plain, err, body)
	}
	// Encrypted to the exporter alone: alice reads the note, not bob's export.
	if _, err := ageOpen(got, f.alice); err == nil {
		t.Fatal("alice's key opened bob's body-only export")
	}
	// The full export still carries the header, for comparison.
	full, err := f.v.ExportNote(f.ctx, n.ID, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := ageOpen(full, f.bob); err != nil || !bytes.HasPrefix(plain, []byte("title: Secret title\ntags: secret-tag\n")) {
		t.Fatalf("full export opens to %q, %v", plain, err)
	}

	recs, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[len(recs)-2]; r.Action != "note.export" || r.Actor != "bob" || r.Subject != n.ID || r.Rule != "reader" {
		t.Fatalf("body-only export audited as %+v, want note.export by bob", r)
	}

	// carol may not read it: denied, and the denial audited.
	if _, err := f.v.ExportNoteBody(f.ctx, n.ID, f.carol); !errors.As(err, new(*DeniedError)) {
		t.Fatalf("carol: %v, want a denial", err)
	}
	recs, _ = f.v.AuditLog(f.ctx, f.agreement)
	if r := recs[len(recs)-1]; r.Action != "note.export.denied" || r.Actor != "carol" {
		t.Fatalf("carol's attempt audited as %+v", r)
	}
	if _, err := f.v.ExportNoteBody(f.ctx, "n-nosuchnote", f.bob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown note: %v, want ErrNotFound", err)
	}
}
