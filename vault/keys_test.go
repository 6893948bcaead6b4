package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/notevault/notevault/policy"
)

// A party of an open agreement cannot be removed; one in no agreement is
// deleted and the name is free again; a removed participant cannot act.
func TestRemoveParticipant(t *testing.T) {
	f := newFixture(t, true)
	_, _, err := f.v.RemoveParticipant(f.ctx, "bob")
	if err == nil || !strings.Contains(err.Error(), "named by agreement "+f.agreement+", which is open") {
		t.Fatalf("removing a party of an open agreement: %v", err)
	}
	if _, err := f.v.Whoami(f.ctx, f.bob); err != nil {
		t.Fatalf("bob after a refused removal: %v", err)
	}

	dave := newIdentity(t)
	if _, err := f.v.AddParticipant(f.ctx, "dave", policy.Supervisor, dave.Public().String()); err != nil {
		t.Fatal(err)
	}
	p, kept, err := f.v.RemoveParticipant(f.ctx, "dave")
	if err != nil || kept || p.Name != "dave" {
		t.Fatalf("RemoveParticipant(dave) = %v, %v, %v", p, kept, err)
	}
	if _, err := f.v.Whoami(f.ctx, dave); !errors.Is(err, ErrNotParticipant) {
		t.Fatalf("a removed participant acts: %v", err)
	}
	if _, _, err := f.v.RemoveParticipant(f.ctx, "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	// The name and the key are free again.
	if _, err := f.v.AddParticipant(f.ctx, "dave", policy.Supervisor, dave.Public().String()); err != nil {
		t.Fatalf("registering dave again: %v", err)
	}
	// The log's one-registration-per-name check follows the removal.
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("Check after remove and register again: %v", err)
	}
}
