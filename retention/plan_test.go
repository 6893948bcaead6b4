package retention

import (
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

func TestPlan(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(100 * 24 * time.Hour)
	rec := func(id string, kind policy.Kind, period time.Duration, holds ...string) Record {
		return Record{ID: id, Agreement: "a-1", Version: 1, Kind: kind, Created: t0, Expires: t0.Add(period), Holds: holds}
	}
	records := []Record{
		rec("n-keep", policy.Session, 365*24*time.Hour),
		rec("n-due", policy.Reflection, 90*24*time.Hour),
		rec("n-held", policy.Reflection, 90*24*time.Hour, "h-1"),
		rec("n-edge", policy.Summary, 100*24*time.Hour), // expires exactly now: due
	}
	got := Plan(records, now)
	want := map[string]struct {
		action Action
		reason string
	}{
		"n-keep": {Keep, "session notes are kept 365d under agreement a-1 version 1; destroyed at 2027-11-01T09:00Z"},
		"n-due":  {Destroy, "reflections are kept 90d under agreement a-1 version 1; due since 2027-01-30T09:00Z"},
		"n-held": {Held, "reflections are kept 90d under agreement a-1 version 1; due since 2027-01-30T09:00Z but held by h-1"},
		"n-edge": {Destroy, "summaries are kept 100d under agreement a-1 version 1; due since 2027-02-09T09:00Z"},
	}
	if len(got) != len(records) {
		t.Fatalf("Plan returned %d items, want %d", len(got), len(records))
	}
	for _, it := range got {
		w, ok := want[it.Note]
		if !ok {
			t.Fatalf("unexpected item %+v", it)
		}
		if it.Action != w.action || it.Reason != w.reason {
			t.Errorf("%s: got %s %q, want %s %q", it.Note, it.Action, it.Reason, w.action, w.reason)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Expires.Before(got[i-1].Expires) {
			t.Fatalf("plan not ordered by expiry: %v before %v", got[i-1].Expires, got[i].Expires)
		}
	}
}

func TestParseCron(t *testing.T) {
	s, err := ParseCron("0 3 * * *")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	if got, want := s.Next(from), time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got, want)
	}
	if _, err := ParseCron("every tuesday"); err == nil {
		t.Fatal("garbage schedule accepted")
	}
	if got := Every(5 * time.Second).Next(from); !got.Equal(from.Add(5 * time.Second)) {
		t.Fatalf("Every.Next = %v", got)
	}
}
