package retention

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

func TestCheckClock(t *testing.T) {
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	item := func(id string, action Action, due time.Time) Item {
		return Item{Note: id, Kind: policy.Reflection, Action: action, Expires: due}
	}
	cases := []struct {
		name  string
		items []Item
		now   time.Time
		last  time.Time
		notes int
		first string
	}{
		{"nothing due", nil, last.Add(400 * day), last, 0, ""},
		{"due within the bound", []Item{item("a", Destroy, last.Add(7*day))}, last.Add(400 * day), last, 0, ""},
		{"due before the last activity", []Item{item("a", Destroy, last.Add(-30*day))}, last.Add(400 * day), last, 0, ""},
		{"due past the bound", []Item{item("a", Destroy, last.Add(7*day+time.Second)), item("b", Destroy, last.Add(time.Hour))},
			last.Add(8 * day), last, 1, "a"},
		{"the earliest is named", []Item{item("late", Destroy, last.Add(300*day)), item("early", Destroy, last.Add(30*day))},
			last.Add(400 * day), last, 2, "early"},
		{"held and kept items do not count", []Item{item("h", Held, last.Add(300*day)), item("k", Keep, last.Add(500*day))},
			last.Add(400 * day), last, 0, ""},
		{"no history to compare with", []Item{item("a", Destroy, last.Add(300*day))}, last.Add(400 * day), time.Time{}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckClock(c.items, c.now, c.last, DefaultMaxClockJump)
			var jump *ClockJumpError
			if c.notes == 0 {
				if err != nil {
					t.Fatalf("CheckClock = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &jump) || jump.Notes != c.notes || jump.First.Note != c.first {
				t.Fatalf("CheckClock = %#v, want %d notes, the first %s", err, c.notes, c.first)
			}
		})
	}
}

func TestVouch(t *testing.T) {
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		now, last time.Time
		confirmed bool
		want      time.Time
	}{
		{"an hour on", last.Add(time.Hour), last, false, last.Add(time.Hour)},
		{"just within the bound", last.Add(7 * day), last, false, last.Add(7 * day)},
		{"past the bound", last.Add(7*day + time.Second), last, false, time.Time{}},
		{"past the bound, confirmed", last.Add(400 * day), last, true, last.Add(400 * day)},
		{"no history", last, time.Time{}, false, last},
	}
	for _, c := range cases {
		if got := vouch(c.now, c.last, DefaultMaxClockJump, c.confirmed); !got.Equal(c.want) {
			t.Errorf("%s: vouch = %v, want %v", c.name, got, c.want)
		}
	}
}

// A quiet vault swept by a daily cron job, even one that skips a few days,
// never trips the safeguard: each sweep vouches for its clock, and nobody
// needs to act in between.
func TestQuietVaultNeverTrips(t *testing.T) {
	f := newFixture(t)
	r := f.add(policy.Reflection) // due after 90 days
	start := f.clock.Now()
	sweep := func() *Summary {
		t.Helper()
		sum, err := Sweep(f.ctx, f.v, Options{})
		if err != nil {
			t.Fatalf("sweep at %s: %v", f.clock.Now().Format(time.RFC3339), err)
		}
		return sum
	}
	for d := 1; d <= 85; d++ {
		f.clock.Set(start.Add(time.Duration(d) * day))
		if sum := sweep(); len(sum.Destroyed) != 0 {
			t.Fatalf("day %d destroyed %v", d, sum.Destroyed)
		}
	}
	// The job does not run for six days; the note falls due meanwhile.
	f.clock.Set(start.Add(91 * day))
	if sum := sweep(); len(sum.Destroyed) != 1 || sum.Destroyed[0].Note != r.ID {
		t.Fatalf("after the gap: destroyed %v, want %s", sum.Destroyed, r.ID)
	}
}

// A clock that jumps ahead while nothing is due passes unnoticed, but it
// does not become the reference: the next sweep on it that would destroy a
// note still refuses. A refused sweep changes nothing and writes nothing.
func TestJumpedClockCannotVouchForItself(t *testing.T) {
	f := newFixture(t)
	r := f.add(policy.Reflection) // due after 90 days
	s := f.add(policy.Session)    // due after 365 days
	start := f.clock.Now()
	if _, err := Sweep(f.ctx, f.v, Options{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(start.Add(85 * day)) // a jump of 85 days, nothing due yet
	if sum, err := Sweep(f.ctx, f.v, Options{}); err != nil || len(sum.Destroyed) != 0 {
		t.Fatalf("sweep after the jump: %v, %v", sum, err)
	}
	before, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{95 * day, 95*day + time.Hour, 400 * day} {
		f.clock.Set(start.Add(at))
		_, err := Sweep(f.ctx, f.v, Options{})
		var jump *ClockJumpError
		if !errors.As(err, &jump) || !jump.LastActivity.Equal(start) {
			t.Fatalf("sweep at +%s: %v, want a refusal measured from %v", policy.FormatDuration(at), err, start)
		}
	}
	after, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("refused sweeps wrote %d audit records", len(after)-len(before))
	}
	for _, n := range []*vault.Note{r, s} {
		if _, err := f.v.GetNote(f.ctx, n.ID); err != nil {
			t.Fatalf("%s after refused sweeps: %v", n.ID, err)
		}
	}
	// The dry run says what would go, and that the sweep would refuse.
	dry, err := Sweep(f.ctx, f.v, Options{DryRun: true})
	var jump *ClockJumpError
	if !errors.As(err, &jump) || dry == nil || len(dry.Destroyed) != 2 || jump.Notes != 2 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	// Confirmed, it goes ahead and vouches for its clock.
	sum, err := Sweep(f.ctx, f.v, Options{ClockJumpOK: true})
	if err != nil || len(sum.Destroyed) != 2 {
		t.Fatalf("confirmed sweep: %+v, %v", sum, err)
	}
	if last, err := f.v.LastActivity(f.ctx); err != nil || !last.Equal(start.Add(400*day)) {
		t.Fatalf("last activity after the confirmed sweep: %v, %v", last, err)
	}
}

// The daemon logs a refusal with log/slog and keeps running.
func TestDaemonLogsRefusalAndKeepsRunning(t *testing.T) {
	f := newFixture(t)
	f.add(policy.Reflection)
	start := f.clock.Now()
	if err := f.v.Close(); err != nil {
		t.Fatal(err)
	}
	f.v = nil
	f.clock.Set(start.Add(400 * day))
	var mu sync.Mutex
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	refusals := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs.String(), `msg="sweep refused"`)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(ctx context.Context) (*vault.Vault, error) {
		return vault.Open(ctx, f.dir, vault.Options{Now: f.clock.Now})
	}
	done := make(chan error, 1)
	go func() { done <- Daemon(ctx, open, Every(10*time.Millisecond), Options{}, log, time.Now) }()
	deadline := time.Now().Add(20 * time.Second)
	for refusals() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than three refusals within 20s:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Daemon = %v", err)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "--clock-jump-ok") || strings.Contains(out, "sweep done") {
		t.Fatalf("daemon log:\n%s", out)
	}
	f.open()
	notes, err := f.v.ListNotes(f.ctx, vault.NoteFilter{})
	if err != nil || len(notes) != 1 {
		t.Fatalf("notes after the refusals: %d, %v", len(notes), err)
	}
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }
