package retention

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const day = 24 * time.Hour

// planCase is a vault's worth of records: every way a note can stand.
func planCase() ([]Record, Rules, []Hold, time.Time) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	now := t0.Add(100 * day)
	rec := func(id string, kind policy.Kind, period time.Duration) Record {
		return Record{ID: id, Agreement: "a-1", Version: 1, Kind: kind, Created: t0, Expires: t0.Add(period),
			Indexed: []time.Time{t0.Add(period).Truncate(time.Second)}}
	}
	rules := Rules{
		{"a-1", 1, policy.Session}:    365 * day,
		{"a-1", 1, policy.Reflection}: 90 * day,
		{"a-1", 1, policy.Summary}:    100 * day,
		{"a-2", 1, policy.Reflection}: 90 * day,
		{"a-2", 2, policy.Reflection}: 180 * day,
		{"a-2", 3, policy.Reflection}: 30 * day,
		{"a-3", 1, policy.Summary}:    36 * time.Hour,
		{"a-3", 1, policy.Reflection}: 90 * day,
	}
	held := func(r Record) Record { r.Held = true; return r }
	inAgreement := func(r Record, a string, version int) Record { r.Agreement, r.Version = a, version; return r }
	noIndex := rec("n-noindex", policy.Reflection, 90*day)
	noIndex.Indexed = nil
	lateIndex := rec("n-lateindex", policy.Reflection, 90*day)
	lateIndex.Indexed = []time.Time{now.Add(day).Truncate(time.Second)}
	earlyIndex := rec("n-earlyindex", policy.Session, 365*day)
	earlyIndex.Indexed = []time.Time{t0.Add(10 * day)}
	twoEntries := rec("n-twoentries", policy.Reflection, 90*day)
	twoEntries.Indexed = append(twoEntries.Indexed, t0.Add(20*day))
	records := []Record{
		rec("n-keep", policy.Session, 365*day),
		rec("n-due", policy.Reflection, 90*day),
		rec("n-edge", policy.Summary, 100*day), // due exactly now
		held(rec("n-held", policy.Reflection, 90*day)),
		held(inAgreement(rec("n-agrheld", policy.Reflection, 90*day), "a-2", 1)),
		held(inAgreement(rec("n-heldunnamed", policy.Reflection, 90*day), "a-3", 1)),
		held(rec("n-keepheld", policy.Session, 365*day)),
		noIndex,
		lateIndex,
		earlyIndex,
		twoEntries,
		inAgreement(rec("n-rulelonger", policy.Reflection, 90*day), "a-2", 2),
		inAgreement(rec("n-ruleshorter", policy.Reflection, 90*day), "a-2", 3),
		inAgreement(rec("n-norule", policy.Reflection, 90*day), "a-9", 1),
		inAgreement(rec("n-hours", policy.Summary, 36*time.Hour), "a-3", 1),
		{ID: "n-orphan", Orphan: true, Indexed: []time.Time{t0.Add(5 * day)}},
	}
	holds := []Hold{
		{ID: "h-agr", Agreement: "a-2"},
		{ID: "h-note", Agreement: "a-1", Note: "n-held"},
		{ID: "h-other", Agreement: "a-1", Note: "n-due"}, // n-due is not held by the vault: no effect
	}
	return records, rules, holds, now
}

func TestPlanActions(t *testing.T) {
	records, rules, holds, now := planCase()
	items, _ := Plan(records, rules, holds, now)
	want := map[string]struct {
		action Action
		rule   string
		hold   string
	}{
		"n-keep":        {Keep, "retention.session:365d", ""},
		"n-due":         {Destroy, "retention.reflection:90d", ""},
		"n-edge":        {Destroy, "retention.summary:100d", ""},
		"n-held":        {Held, "retention.reflection:90d", "h-note"},
		"n-agrheld":     {Held, "retention.reflection:90d", "h-agr"},
		"n-heldunnamed": {Held, "retention.reflection:90d", ""},
		"n-keepheld":    {Keep, "retention.session:365d", ""},
		"n-noindex":     {Keep, "retention.reflection:90d", ""},
		"n-lateindex":   {Keep, "retention.reflection:90d", ""},
		"n-earlyindex":  {Keep, "retention.session:365d", ""},
		"n-twoentries":  {Destroy, "retention.reflection:90d", ""},
		"n-rulelonger":  {Keep, "retention.reflection:180d", ""},
		"n-ruleshorter": {Destroy, "retention.reflection:90d", ""}, // the later of the two
		"n-norule":      {Destroy, "retention.reflection:90d", ""},
		"n-hours":       {Destroy, "retention.summary:1d12h", ""},
	}
	if len(items) != len(want) {
		t.Fatalf("Plan returned %d items, want %d (orphans make no item)", len(items), len(want))
	}
	for _, it := range items {
		w, ok := want[it.Note]
		if !ok {
			t.Fatalf("unexpected item %+v", it)
		}
		if it.Action != w.action || it.Rule != w.rule || it.Hold != w.hold {
			t.Errorf("%s: got %s %s hold %q, want %s %s hold %q", it.Note, it.Action, it.Rule, it.Hold, w.action, w.rule, w.hold)
		}
	}
	for i := 1; i < len(items); i++ {
		if items[i].Expires.Before(items[i-1].Expires) {
			t.Fatalf("plan not ordered by due time: %v before %v", items[i-1].Expires, items[i].Expires)
		}
	}
}

// A held note is never destroyed, whatever else is true of it.
func TestPlanNeverDestroysHeld(t *testing.T) {
	records, rules, _, now := planCase()
	for i := range records {
		records[i].Held = true
	}
	items, _ := Plan(records, rules, nil, now.Add(10*365*day))
	for _, it := range items {
		if it.Action == Destroy {
			t.Errorf("held note %s planned for destruction", it.Note)
		}
	}
}

// The plan is a function of its inputs: the order records come in does not
// change it.
func TestPlanIsDeterministic(t *testing.T) {
	records, rules, holds, now := planCase()
	a, wa := Plan(records, rules, holds, now)
	rev := make([]Record, len(records))
	for i, r := range records {
		rev[len(records)-1-i] = r
	}
	b, wb := Plan(rev, rules, holds, now)
	if render(a, wa) != render(b, wb) {
		t.Fatalf("plan depends on input order:\n%s\nvs\n%s", render(a, wa), render(b, wb))
	}
}

func render(items []Item, warnings []string) string {
	var b strings.Builder
	for _, it := range items {
		hold := it.Hold
		if hold == "" {
			hold = "-"
		}
		fmt.Fprintf(&b, "%s %s %s %s %s %s\n    %s\n", it.Note, it.Agreement, it.Action, policy.FormatTime(it.Expires), it.Rule, hold, it.Reason)
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// The whole plan, reasons and warnings, against testdata/plan.golden
// (go test ./retention -run TestPlanGolden -update rewrites it).
func TestPlanGolden(t *testing.T) {
	records, rules, holds, now := planCase()
	got := []byte(render(Plan(records, rules, holds, now)))
	path := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("plan differs from %s (rerun with -update if the change is meant):\n%s", path, got)
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
