package retention

import (
	"context"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/kek"
)

func withBatchSize(t *testing.T, n int) {
	old := BatchSize
	BatchSize = n
	t.Cleanup(func() { BatchSize = old })
}

// sweepBegins counts the destructions (intent records) the sweeps wrote.
func sweepBegins(t *testing.T, f *fixture) int {
	t.Helper()
	log, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range log {
		if r.Action == "retention.sweep.begin" {
			n++
		}
	}
	return n
}

// The sweep destroys in batches, each a whole destruction with its intent
// and receipts, and cuts a batch only where the hour of expiry changes, so
// a shred-key bucket goes whole.
func TestSweepInBatches(t *testing.T) {
	withBatchSize(t, 1)
	f := newFixture(t)
	var ids []string
	for range 3 {
		ids = append(ids, f.add(policy.Reflection).ID)
		f.clock.Advance(2 * time.Hour)
	}
	ids = append(ids, f.add(policy.Reflection).ID) // the same hour as the next
	ids = append(ids, f.add(policy.Reflection).ID)
	f.clock.Advance(100 * day)
	sum, err := Sweep(f.ctx, f.v, Options{ClockJumpOK: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Destroyed) != len(ids) {
		t.Fatalf("destroyed %d notes, want %d", len(sum.Destroyed), len(ids))
	}
	for _, id := range ids {
		if _, err := f.v.GetNote(f.ctx, id); err == nil {
			t.Fatalf("note %s survived the sweep", id)
		}
	}
	if got := sweepBegins(t, f); got != 4 {
		t.Fatalf("%d destructions, want 4 (three hours alone, two notes sharing one)", got)
	}

	// Negative control: one batch when it is big enough.
	withBatchSize(t, 100)
	g := newFixture(t)
	for range 3 {
		g.add(policy.Reflection)
		g.clock.Advance(2 * time.Hour)
	}
	g.clock.Advance(100 * day)
	if _, err := Sweep(g.ctx, g.v, Options{ClockJumpOK: true}); err != nil {
		t.Fatal(err)
	}
	if got := sweepBegins(t, g); got != 1 {
		t.Fatalf("%d destructions, want 1", got)
	}
}

// givingWay is a vault that, at the sweep's first chance to give way, has
// another process waiting which places a hold on a note still due.
type givingWay struct {
	*vault.Vault
	t    *testing.T
	f    *fixture
	note string
	done bool
}

func (g *givingWay) Yield(ctx context.Context) (bool, error) {
	if g.done {
		return g.Vault.Yield(ctx)
	}
	g.done = true
	errc := make(chan error)
	go func() {
		v, err := vault.Open(ctx, g.f.dir, vault.Options{Now: g.f.clock.Now, BusyTimeout: time.Minute})
		if err != nil {
			errc <- err
			return
		}
		_, err = v.AddHold(ctx, "", g.note, "complaint under review", g.f.bob)
		if cerr := v.Close(); err == nil {
			err = cerr
		}
		errc <- err
	}()
	for !g.Vault.Contended() {
		time.Sleep(time.Millisecond)
	}
	yielded, err := g.Vault.Yield(ctx)
	if herr := <-errc; herr != nil {
		g.t.Fatalf("the waiting process: %v", herr)
	}
	return yielded, err
}

// Between batches the sweep gives the vault to a waiting command, and
// plans what is left again: a hold placed meanwhile keeps its note.
func TestSweepGivesWayBetweenBatches(t *testing.T) {
	withBatchSize(t, 1)
	f := newFixture(t)
	var ids []string
	for range 3 {
		ids = append(ids, f.add(policy.Reflection).ID)
		f.clock.Advance(2 * time.Hour)
	}
	f.clock.Advance(100 * day)
	g := &givingWay{Vault: f.v, t: t, f: f, note: ids[2]}
	sum, err := Sweep(f.ctx, g, Options{ClockJumpOK: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Destroyed) != 2 || sum.Destroyed[0].Note != ids[0] || sum.Destroyed[1].Note != ids[1] {
		t.Fatalf("destroyed %+v, want %s and %s", sum.Destroyed, ids[0], ids[1])
	}
	if len(sum.Held) != 1 || sum.Held[0] != ids[2] {
		t.Fatalf("held %v, want [%s]: the hold placed while the sweep gave way", sum.Held, ids[2])
	}
	if _, err := f.v.GetNote(f.ctx, ids[2]); err != nil {
		t.Fatalf("the note held meanwhile: %v", err)
	}
}

// pageCounter is a vault that counts how the sweep reads the expiry index.
type pageCounter struct {
	*vault.Vault
	whole int   // calls of ExpiryIndex: a read of everything due
	pages []int // entries per ExpiryIndexPage call
}

func (p *pageCounter) ExpiryIndex(ctx context.Context, until time.Time) ([]vault.IndexEntry, error) {
	p.whole++
	return p.Vault.ExpiryIndex(ctx, until)
}

func (p *pageCounter) ExpiryIndexPage(ctx context.Context, until time.Time, after string, limit int) ([]vault.IndexEntry, string, error) {
	es, next, err := p.Vault.ExpiryIndexPage(ctx, until, after, limit)
	p.pages = append(p.pages, len(es))
	return es, next, err
}

// The sweep never reads everything due at once: it plans a page of the
// index (cut where the hour changes) at a time, destroys it, and reads the
// next. A dry run reads the whole plan (the control: the counter sees it).
func TestSweepReadsTheIndexByPages(t *testing.T) {
	withBatchSize(t, 2)
	f := newFixture(t)
	for range 3 {
		for range 3 { // three notes an hour
			f.add(policy.Reflection)
		}
		f.clock.Advance(2 * time.Hour)
	}
	f.clock.Advance(100 * day)
	dry := &pageCounter{Vault: f.v}
	if sum, err := Sweep(f.ctx, dry, Options{DryRun: true, ClockJumpOK: true}); err != nil || len(sum.Destroyed) != 9 {
		t.Fatalf("dry run: %v", err)
	}
	if dry.whole != 1 {
		t.Fatalf("control: the dry run read the whole index %d times, want 1", dry.whole)
	}
	p := &pageCounter{Vault: f.v}
	sum, err := Sweep(f.ctx, p, Options{ClockJumpOK: true})
	if err != nil || len(sum.Destroyed) != 9 || len(sum.Plan) != 9 {
		t.Fatalf("sweep: %d destroyed, %d planned, %v; want 9", len(sum.Destroyed), len(sum.Plan), err)
	}
	if p.whole != 0 || len(p.pages) != 3 || p.pages[0] != 3 || p.pages[1] != 3 || p.pages[2] != 3 {
		t.Fatalf("whole reads %d, pages %v; want 0 and three pages of one hour each", p.whole, p.pages)
	}
}

// epochCounter counts the sweep's turns of the KEK.
type epochCounter struct {
	*vault.Vault
	turns int
}

func (e *epochCounter) KeyEpoch(ctx context.Context) (kek.EpochReport, bool, error) {
	e.turns++
	return e.Vault.KeyEpoch(ctx)
}

// A sweep that acts turns the KEK once (on a server, what makes its
// destructions final in every backup); a dry run does not.
func TestSweepTurnsTheKEK(t *testing.T) {
	f := newFixture(t)
	f.add(policy.Reflection)
	f.clock.Advance(100 * day)
	e := &epochCounter{Vault: f.v}
	if _, err := Sweep(f.ctx, e, Options{DryRun: true, ClockJumpOK: true}); err != nil || e.turns != 0 {
		t.Fatalf("dry run: %d turns, %v; want none", e.turns, err)
	}
	if _, err := Sweep(f.ctx, e, Options{ClockJumpOK: true}); err != nil || e.turns != 1 {
		t.Fatalf("sweep: %d turns, %v; want 1", e.turns, err)
	}
}
