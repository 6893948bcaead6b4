//go:build fixture

package vault

// The fixture writer is behind the "fixture" build tag: it is run by hand,
// once, at the release a fixture captures (see testdata/vault-v2/README.md):
//
//	NOTEVAULT_WRITE_FIXTURE=$(git rev-parse --short HEAD) go test -tags fixture -run TestWriteFixtureV2 ./vault

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
)

// TestWriteFixtureV2 writes testdata/vault-v2 afresh. It runs only when
// asked to (NOTEVAULT_WRITE_FIXTURE=<commit it is written with>), and only
// at the release the fixture is meant to capture: once written, the fixture
// is what later code must keep opening.
func TestWriteFixtureV2(t *testing.T) {
	commit := os.Getenv("NOTEVAULT_WRITE_FIXTURE")
	if commit == "" {
		t.Fatal("set NOTEVAULT_WRITE_FIXTURE=<commit> to the commit this runs at")
	}
	out := oldVaultDir
	// The agreement files and the README stay; what the run writes goes.
	for _, name := range []string{"vault", "alice.key", "bob.key", "carol.key", "manifest.json"} {
		if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	dir := filepath.Join(out, "vault")
	if err := Init(dir); err != nil {
		t.Fatal(err)
	}
	v, err := Open(ctx, dir, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	step := func() { clock.Advance(time.Minute) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]*identity.Identity{}
	m := fixtureManifest{Commit: commit, Versions: []string{"agreement-v1.yaml", "agreement-v2.yaml"}}
	for _, p := range []struct {
		name string
		role policy.Role
	}{{"alice", policy.Mentor}, {"bob", policy.Mentee}, {"carol", policy.Supervisor}} {
		id := newIdentity(t)
		ids[p.name] = id
		must(identity.WriteFile(filepath.Join(out, p.name+".key"), id, nil))
		step()
		_, err := v.AddParticipant(ctx, p.name, p.role, id.Public().String())
		must(err)
		m.Participant = append(m.Participant, p.name)
	}
	alice, bob, carol := ids["alice"], ids["bob"], ids["carol"]
	v1, err := os.ReadFile(filepath.Join(out, "agreement-v1.yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("write %s/agreement-v1.yaml and agreement-v2.yaml first (see README.md)", out)
	}
	must(err)
	v2, err := os.ReadFile(filepath.Join(out, "agreement-v2.yaml"))
	must(err)
	step()
	a, err := v.CreateAgreement(ctx, v1)
	must(err)
	m.Agreement = a.ID
	for _, id := range []*identity.Identity{alice, bob} {
		step()
		_, err := v.AcceptAgreement(ctx, a.ID, id)
		must(err)
	}
	add := func(kind policy.Kind, author string, version int, title, body string, readers ...string) *fixtureNote {
		step()
		n, err := v.AddNote(ctx, NewNote{Agreement: a.ID, Kind: kind, Content: content(title, body, "fixture")}, ids[author])
		must(err)
		m.Notes = append(m.Notes, fixtureNote{ID: n.ID, Kind: kind, Author: author, Version: version, Title: title, Body: body, Readers: readers})
		return &m.Notes[len(m.Notes)-1]
	}
	add(policy.Session, "alice", 1, "First session", "We set goals for the portfolio.", "alice", "bob")
	add(policy.Reflection, "bob", 1, "After session one", "I felt unsure about statistics.", "bob")
	add(policy.Summary, "alice", 1, "Summary one", "Bob is on track.", "alice", "bob")
	gone := add(policy.Reflection, "bob", 1, "To be deleted", "A reflection bob deletes.", "bob")
	add(policy.Reflection, "alice", 1, "Mentor reflection", "Alice's own reflection.", "alice")

	// Consent and grant: carol reads summaries for 30 days.
	step()
	c, err := v.GiveConsent(ctx, a.ID, "carol", []policy.Kind{policy.Summary}, clock.Now().Add(180*24*time.Hour), bob)
	must(err)
	m.Consent = c.ID
	step()
	g, _, err := v.AddGrant(ctx, a.ID, "carol", []policy.Kind{policy.Summary}, 30*24*time.Hour, alice)
	must(err)
	m.Grant = g.ID
	for i := range m.Notes {
		if m.Notes[i].Kind == policy.Summary {
			m.Notes[i].Readers = append(m.Notes[i].Readers, "carol")
		}
	}

	// The amendment: alice proposes, bob accepts.
	step()
	_, err = v.AmendAgreement(ctx, a.ID, v2, alice)
	must(err)
	step()
	_, err = v.AcceptAgreement(ctx, a.ID, bob)
	must(err)
	add(policy.Session, "bob", 2, "Second session", "We reviewed the first model.", "alice", "bob")
	add(policy.Summary, "alice", 2, "Summary two", "Bob shipped a draft.", "alice", "bob", "carol")
	add(policy.Reflection, "bob", 2, "After session two", "Modelling is getting easier.", "bob")

	// A disclosure of the first session note to carol, and a hold on it.
	first := &m.Notes[0]
	step()
	d, err := v.Disclose(ctx, first.ID, "carol", "risk-of-harm", "Bob said he might hurt himself.", alice)
	must(err)
	m.Disclosure = d.ID
	first.Readers = append(first.Readers, "carol")
	step()
	h, err := v.AddHold(ctx, "", first.ID, "Kept for the programme's complaint review.", alice)
	must(err)
	m.Hold, m.HeldNote = h.ID, first.ID

	// bob deletes a reflection.
	step()
	_, err = v.DeleteNote(ctx, gone.ID, bob)
	must(err)
	m.Destroyed = append(m.Destroyed, gone.ID)
	m.Notes = slices.DeleteFunc(m.Notes, func(n fixtureNote) bool { return n.ID == gone.ID })

	_ = carol
	m.Now = clock.Now()
	must(v.Close())
	b, err := json.MarshalIndent(m, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(out, "manifest.json"), append(b, '\n'), 0o644))
	// Nothing that is recreated at open needs to be kept: the lock, and
	// badger's discard statistics (a 1 MiB file of zeros).
	must(os.Remove(filepath.Join(dir, lockFile)))
	must(os.Remove(filepath.Join(dir, dbDir, "DISCARD")))
}
