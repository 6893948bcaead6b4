package retention

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// fixture is an open vault with alice mentoring bob under the shared test
// agreement (session 365d, reflection 90d, summary 180d), in force.
type fixture struct {
	t          *testing.T
	ctx        context.Context
	dir        string
	clock      *clock
	v          *vault.Vault
	alice, bob *identity.Identity
	agreement  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), dir: filepath.Join(t.TempDir(), "vault"),
		clock: &clock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}}
	if err := vault.Init(f.dir); err != nil {
		t.Fatal(err)
	}
	f.open()
	t.Cleanup(func() {
		if f.v != nil {
			f.v.Close()
		}
	})
	var carol *identity.Identity
	var err error
	for _, p := range []struct {
		name string
		role policy.Role
		id   **identity.Identity
	}{{"alice", policy.Mentor, &f.alice}, {"bob", policy.Mentee, &f.bob}, {"carol", policy.Supervisor, &carol}} {
		if *p.id, err = identity.Generate(false); err != nil {
			t.Fatal(err)
		}
		if _, err := f.v.AddParticipant(f.ctx, p.name, p.role, (*p.id).Public().String()); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(filepath.Join("..", "testdata", "agreement.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.v.CreateAgreement(f.ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	f.agreement = a.ID
	for _, id := range []*identity.Identity{f.alice, f.bob} {
		if _, err := f.v.AcceptAgreement(f.ctx, a.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	v, err := vault.Open(f.ctx, f.dir, vault.Options{Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	f.v = v
}

func (f *fixture) add(kind policy.Kind) *vault.Note {
	f.t.Helper()
	author := f.bob
	if kind != policy.Reflection {
		author = f.alice
	}
	n, err := f.v.AddNote(f.ctx, vault.NewNote{Agreement: f.agreement, Kind: kind,
		Content: vault.Content{Title: "t", Body: []byte("b")}}, author)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// retention plan, retention sweep --dry-run and retention sweep are one plan:
// the items the full plan destroys or holds are the ones the dry run
// reports, and the sweep destroys exactly those, under the same rules.
func TestSweepCarriesOutThePlan(t *testing.T) {
	f := newFixture(t)
	r1, r2 := f.add(policy.Reflection), f.add(policy.Reflection)
	s1 := f.add(policy.Session)
	f.clock.Advance(time.Hour)
	sm := f.add(policy.Summary)
	if _, err := f.v.AddHold(f.ctx, "", r2.ID, "court order", f.alice); err != nil {
		t.Fatal(err)
	}
	// Reflections and the summary are due, the session is not. The clock
	// moves 200 days at once, so the sweeps below are told it is right.
	f.clock.Advance(200 * day)

	now := f.v.Now()
	records, rules, holds, err := Gather(f.ctx, f.v, now, true)
	if err != nil {
		t.Fatal(err)
	}
	full, warnings := Plan(records, rules, holds, now)
	if len(warnings) != 0 {
		t.Fatalf("warnings on a sound vault: %v", warnings)
	}
	want := map[string]Item{}
	for _, it := range full {
		if it.Action != Keep {
			want[it.Note] = it
		}
	}
	if len(want) != 3 || want[r1.ID].Action != Destroy || want[sm.ID].Action != Destroy || want[r2.ID].Action != Held {
		t.Fatalf("full plan: %+v", full)
	}
	if want[r2.ID].Hold == "" || want[r1.ID].Rule != "retention.reflection:90d" || want[sm.ID].Rule != "retention.summary:180d" {
		t.Fatalf("full plan: %+v", full)
	}

	dry, err := Sweep(f.ctx, f.v, Options{DryRun: true, ClockJumpOK: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Plan) != len(want) {
		t.Fatalf("dry run planned %+v, want the due part of the full plan %+v", dry.Plan, want)
	}
	for _, it := range dry.Plan {
		if w := want[it.Note]; w != it {
			t.Errorf("dry run item %+v, full plan item %+v", it, w)
		}
	}

	sum, err := Sweep(f.ctx, f.v, Options{ClockJumpOK: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range sum.Destroyed {
		got[r.Note] = r.Rule
	}
	if len(got) != 2 || got[r1.ID] != want[r1.ID].Rule || got[sm.ID] != want[sm.ID].Rule {
		t.Fatalf("sweep destroyed %v, want %s and %s under the plan's rules", got, r1.ID, sm.ID)
	}
	if len(sum.Held) != 1 || sum.Held[0] != r2.ID {
		t.Fatalf("held %v, want [%s]", sum.Held, r2.ID)
	}
	log, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	receipts := map[string]string{}
	for _, r := range log {
		if r.Action == "note.destroy" {
			receipts[r.Subject] = r.Rule
		}
	}
	if len(receipts) != 2 || receipts[r1.ID] != want[r1.ID].Rule || receipts[sm.ID] != want[sm.ID].Rule {
		t.Fatalf("receipts %v", receipts)
	}
	for _, id := range []string{r2.ID, s1.ID} {
		if _, err := f.v.GetNote(f.ctx, id); err != nil {
			t.Fatalf("%s did not survive: %v", id, err)
		}
	}
}
