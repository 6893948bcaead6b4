package vault

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/identity"
)

// Old vaults keep working: testdata/vault-v2 is a small vault written by an
// earlier release (see its README for the commit and how to regenerate it).
// TestOldVaultV2 opens a copy of it with today's code and checks that the
// whole store verifies, that every note reads for exactly its readers with
// the text it was written with, that every agreement version shows, and
// that the audit log verifies. Adding a kind of note or a field to the
// agreement must never make it fail.

// oldVaultDir is the fixture, relative to this package.
var oldVaultDir = filepath.Join("..", "testdata", "vault-v2")

// fixtureNote is one note of the fixture as its manifest records it.
type fixtureNote struct {
	ID      string      `json:"id"`
	Kind    policy.Kind `json:"kind"`
	Author  string      `json:"author"`
	Version int         `json:"version"`
	Title   string      `json:"title"`
	Body    string      `json:"body"`
	Readers []string    `json:"readers"` // who can read it, grants and disclosures included
}

// fixtureManifest is testdata/vault-v2/manifest.json: what the fixture
// holds and when it was written.
type fixtureManifest struct {
	Commit      string        `json:"commit"`
	Now         time.Time     `json:"now"` // the clock after the last write
	Agreement   string        `json:"agreement"`
	Versions    []string      `json:"versions"` // file of each version's text, in order
	Notes       []fixtureNote `json:"notes"`
	Destroyed   []string      `json:"destroyed"`
	Consent     string        `json:"consent"`
	Grant       string        `json:"grant"`
	Hold        string        `json:"hold"`
	HeldNote    string        `json:"held_note"`
	Disclosure  string        `json:"disclosure"`
	Participant []string      `json:"participants"`
}

// copyOldVault copies the fixture to a fresh directory with the modes a
// vault wants (git keeps neither 0700 nor 0600) and returns the copy and
// its manifest.
func copyOldVault(t testing.TB) (string, *fixtureManifest) {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(oldVaultDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(oldVaultDir, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatalf("copying the fixture: %v", err)
	}
	if err := os.Chmod(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fixtureManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return dst, &m
}

func TestOldVaultV2(t *testing.T) {
	dir, m := copyOldVault(t)
	ctx := context.Background()
	// An hour after the fixture's last write: the grant and the consent
	// are live, nothing has expired.
	clock := &fakeClock{t: m.Now.Add(time.Hour)}
	v, err := Open(ctx, filepath.Join(dir, "vault"), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer v.Close()
	ids := map[string]*identity.Identity{}
	for _, name := range m.Participant {
		id, err := identity.Load(filepath.Join(dir, name+".key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}

	rep, err := v.Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.Notes != len(m.Notes) || rep.Agreements != 1 || rep.Participants != len(m.Participant) {
		t.Errorf("Check counted %+v, want %d notes, 1 agreement, %d participants", rep, len(m.Notes), len(m.Participant))
	}
	if _, err := v.VerifyAudit(ctx); err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}

	a, err := v.GetAgreement(ctx, m.Agreement)
	if err != nil {
		t.Fatalf("GetAgreement: %v", err)
	}
	if len(a.Versions) != len(m.Versions) || a.Current() != a.Latest() {
		t.Fatalf("agreement has %d versions (in force: %v), want %d with the newest in force", len(a.Versions), a.Current(), len(m.Versions))
	}
	for i, file := range m.Versions {
		want, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range m.Participant {
			got, err := v.AgreementText(ctx, m.Agreement, i+1, ids[name])
			if err != nil {
				t.Fatalf("%s reading version %d: %v", name, i+1, err)
			}
			if got != string(want) {
				t.Errorf("%s reads version %d as %q, want %q", name, i+1, got, want)
			}
		}
	}

	for _, fn := range m.Notes {
		n, err := v.GetNote(ctx, fn.ID)
		if err != nil {
			t.Fatalf("GetNote %s: %v", fn.ID, err)
		}
		if n.Kind != fn.Kind || n.Author != fn.Author || n.Version != fn.Version {
			t.Errorf("note %s is %s by %s under v%d, want %s by %s under v%d", fn.ID, n.Kind, n.Author, n.Version, fn.Kind, fn.Author, fn.Version)
		}
		if held := fn.ID == m.HeldNote; n.Held() != held {
			t.Errorf("note %s held = %v, want %v", fn.ID, n.Held(), held)
		}
		for _, name := range m.Participant {
			p, err := v.ReadNote(ctx, fn.ID, ids[name])
			if !slices.Contains(fn.Readers, name) {
				if err == nil {
					t.Errorf("%s read %s note %s, which is not theirs to read", name, fn.Kind, fn.ID)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s cannot read %s note %s: %v", name, fn.Kind, fn.ID, err)
				continue
			}
			if p.Content.Title != fn.Title || string(p.Content.Body) != fn.Body {
				t.Errorf("%s reads note %s as %q/%q, want %q/%q", name, fn.ID, p.Content.Title, p.Content.Body, fn.Title, fn.Body)
			}
		}
	}
	for _, id := range m.Destroyed {
		if _, err := v.GetNote(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("destroyed note %s: GetNote = %v, want not found", id, err)
		}
	}

	cs, err := v.Consents(ctx, m.Agreement)
	if err != nil || len(cs) != 1 || cs[0].ID != m.Consent {
		t.Errorf("Consents = %v, %v; want %s", cs, err, m.Consent)
	}
	gs, ds, err := v.Grants(ctx, m.Agreement)
	if err != nil || len(gs) != 1 || gs[0].ID != m.Grant || !ds[0].Allowed() {
		t.Errorf("Grants = %v %v, %v; want %s live", gs, ds, err, m.Grant)
	}
	disc, err := v.Disclosures(ctx, m.Agreement)
	if err != nil || len(disc) != 1 || disc[0].ID != m.Disclosure {
		t.Errorf("Disclosures = %v, %v; want %s", disc, err, m.Disclosure)
	}
	hs, err := v.Holds(ctx, m.Agreement, ids["alice"])
	if err != nil || len(hs) != 1 || hs[0].ID != m.Hold || !hs[0].Active() {
		t.Errorf("Holds = %v, %v; want %s active", hs, err, m.Hold)
	}

	// The old vault takes new writes: a note under the version in force.
	clock.Advance(time.Minute)
	n, err := v.AddNote(ctx, NewNote{Agreement: m.Agreement, Kind: policy.Session, Content: content("Today", "Written by today's code.")}, ids["bob"])
	if err != nil {
		t.Fatalf("AddNote on the old vault: %v", err)
	}
	if p, err := v.ReadNote(ctx, n.ID, ids["alice"]); err != nil || string(p.Content.Body) != "Written by today's code." {
		t.Errorf("alice reading the new note: %v", err)
	}
	if _, err := v.Check(ctx); err != nil {
		t.Fatalf("Check after a write: %v", err)
	}
}

// TestOldVaultV2TakesNewSchema: the old vault's agreement (schema 1, with a
// free-text review) takes notes of a kind added since, and an amendment in
// the current schema; its old versions still read.
func TestOldVaultV2TakesNewSchema(t *testing.T) {
	dir, m := copyOldVault(t)
	ctx := context.Background()
	clock := &fakeClock{t: m.Now.Add(time.Hour)}
	v, err := Open(ctx, filepath.Join(dir, "vault"), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer v.Close()
	load := func(name string) *identity.Identity {
		id, err := identity.Load(filepath.Join(dir, name+".key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	alice, bob := load("alice"), load("bob")
	a, err := v.GetAgreement(ctx, m.Agreement)
	if err != nil {
		t.Fatal(err)
	}
	for _, ver := range a.Versions {
		if ver.Schema != 1 {
			t.Errorf("version %d read as schema %d, want 1", ver.Version, ver.Schema)
		}
	}

	// A review under the schema 1 version in force: the kinds table's
	// defaults (read by mentor and mentee, kept like session notes).
	n, err := v.AddNote(ctx, NewNote{Agreement: m.Agreement, Kind: policy.Review, Content: content("Q1 review", "On track.")}, bob)
	if err != nil {
		t.Fatalf("a review under a schema 1 agreement: %v", err)
	}
	if !slices.Equal(n.Readers, []string{"alice", "bob"}) || n.Expires.Sub(n.Created) != 730*24*time.Hour {
		t.Errorf("review: readers %v, kept %v; want alice, bob and 730d (the session period)", n.Readers, n.Expires.Sub(n.Created))
	}
	if _, err := v.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}

	// An amendment in schema 2, with its new fields.
	v3 := []byte(`name: Alice mentors Bob
mentor: alice
mentee: bob
supervisors: [carol]
start: 2026-12-01
clauses:
  renegotiation: either of us may ask, with two weeks' notice
success_criteria:
  - {id: portfolio, what: a public portfolio, due: 2027-03-01}
review: every 90d
holds: {custodians: [carol]}
confidentiality:
  exceptions: {risk-of-harm: [carol], legal-obligation: }
sharing: {max_grant: 30d, max_consent: 180d}
retention: {session: 730d, reflection: 365d, summary: 600d, recording: 14d, after_close: 30d}
`)
	clock.Advance(time.Minute)
	if _, err := v.AmendAgreement(ctx, m.Agreement, v3, alice); err != nil {
		t.Fatalf("AmendAgreement: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := v.AcceptAgreement(ctx, m.Agreement, bob); err != nil {
		t.Fatalf("AcceptAgreement: %v", err)
	}
	if _, err := v.Check(ctx); err != nil {
		t.Fatalf("Check after a schema 2 amendment: %v", err)
	}
	a, err = v.GetAgreement(ctx, m.Agreement)
	if err != nil {
		t.Fatal(err)
	}
	cur := a.Current()
	if cur.Version != 3 || cur.Schema != 2 {
		t.Fatalf("in force: version %d schema %d", cur.Version, cur.Schema)
	}
	tm := a.Terms(cur)
	day := 24 * time.Hour
	if !slices.Equal(tm.Custodians, []string{"carol"}) || tm.MaxGrant != 30*day || tm.MaxConsent != 180*day || tm.AfterClose != 30*day ||
		!slices.Equal(tm.ExceptionRecipients["risk-of-harm"], []string{"carol"}) || tm.ExceptionRecipients["legal-obligation"] != nil ||
		len(tm.ExceptionRecipients) != 2 || tm.Start != time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) || !tm.End.IsZero() ||
		tm.RetentionFor(policy.Recording) != 14*day || cur.Parsed.ReviewEvery != 90*day {
		t.Errorf("terms read back from the store: %+v (review every %v)", tm, cur.Parsed.ReviewEvery)
	}
	// Every version's text still reads, each under its own schema.
	for i := 1; i <= 3; i++ {
		if _, err := v.AgreementText(ctx, m.Agreement, i, bob); err != nil {
			t.Errorf("version %d: %v", i, err)
		}
	}
	n, err = v.AddNote(ctx, NewNote{Agreement: m.Agreement, Kind: policy.Recording, Content: content("Call", "audio")}, alice)
	if err != nil || n.Expires.Sub(n.Created) != 14*day {
		t.Fatalf("recording under version 3: %v, %v", n, err)
	}
	if _, err := v.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	// The old version 2 text is refused as a new amendment: its free-text
	// review is no schedule.
	v2, err := os.ReadFile(filepath.Join(dir, "agreement-v2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.AmendAgreement(ctx, m.Agreement, v2, alice)
	if err == nil || !strings.Contains(err.Error(), `agreement line 13: field "review": "every three months, in person"`) {
		t.Errorf("amending with a free-text review: %v", err)
	}
}

// TestStoredSchemaIsSigned: the schema a version was written with is part
// of what was signed; a store that changes it is caught.
func TestStoredSchemaIsSigned(t *testing.T) {
	f := newFixture(t, true)
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Current().Schema; got != agreement.Schema {
		t.Fatalf("a new agreement's schema = %d, want %d", got, agreement.Schema)
	}
	f.close()
	withBadger(t, f.dir, func(db *badgerDB) {
		key := factKey(f.agreement, 1)
		var fa fact
		if err := decodeRecord(rawGet(t, db, key), &fa); err != nil {
			t.Fatal(err)
		}
		body := strings.Replace(string(fa.Body), `"schema":2`, `"schema":1`, 1)
		if body == string(fa.Body) {
			t.Fatalf("no schema in %s", fa.Body)
		}
		fa.Body = []byte(body)
		b, err := encodeRecord(fa)
		if err != nil {
			t.Fatal(err)
		}
		rawSet(t, db, key, b)
	})
	f.open()
	var ie *IntegrityError
	if _, err := f.v.GetAgreement(f.ctx, f.agreement); !errors.As(err, &ie) {
		t.Fatalf("a version whose schema was changed in the store: %v, want an integrity error", err)
	}
}

// A hold or a disclosure signed under a version written with the first
// agreement schema keeps loading by the rules it was made under (any party
// could hold; a disclosure could go to any party), so old vaults keep
// opening after the governance rules tightened. A disclosure to someone who
// is no party was never lawful and is still refused (the control). The same
// facts under a later schema are refused: TestForgedGovernanceFactsRefused.
func TestFirstSchemaGovernanceFactsLoad(t *testing.T) {
	tests := []struct {
		name, typ, actor, signer string
		body                     any
		loads                    bool
	}{
		{"a supervisor's hold", factHold, "carol", "carol", holdBody{ID: "h-old", Reason: "x"}, true},
		{"a disclosure to the mentor", factDisclose, "bob", "bob",
			discloseBody{ID: "d-old", Note: "n-x", To: "alice", Reason: "risk-of-harm"}, true},
		{"a disclosure to no party", factDisclose, "bob", "bob",
			discloseBody{ID: "d-old", Note: "n-x", To: "dave", Reason: "risk-of-harm"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := copyOldVault(t)
			signer, err := identity.Load(filepath.Join(dir, tc.signer+".key"), nil)
			if err != nil {
				t.Fatal(err)
			}
			withBadger(t, filepath.Join(dir, "vault"), func(db *badger.DB) {
				_, last := lastFact(t, db, m.Agreement)
				b, _ := json.Marshal(tc.body)
				fa := &fact{Agreement: m.Agreement, Seq: last.Seq + 1, Prev: last.hash(), Type: tc.typ,
					Actor: tc.actor, At: last.At.Add(time.Second), Body: b}
				fa.Sig = signer.Sign(fa.signedBytes())
				v, _ := encodeRecord(fa)
				rawSet(t, db, factKey(m.Agreement, fa.Seq), v)
			})
			clock := &fakeClock{t: m.Now.Add(time.Hour)}
			v, err := Open(context.Background(), filepath.Join(dir, "vault"), Options{Now: clock.Now})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer v.Close()
			_, err = v.GetAgreement(context.Background(), m.Agreement)
			switch {
			case tc.loads && err != nil:
				t.Fatalf("a fact lawful under the first schema is refused: %v", err)
			case !tc.loads && err == nil:
				t.Fatal("a disclosure to no party loads")
			}
		})
	}
}
