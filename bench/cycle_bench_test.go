package bench

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

// BenchmarkCycle measures what one CLI process does to the store: open the
// vault, add (or show) one note, close it, as N successive processes would,
// the vault growing by one note (or one read-log record) per iteration. It
// reports the mean, p99 and max of the whole cycle and the share of each
// phase, which is where housekeeping would show up (badger's level-0
// compaction and memtable flush happen in open and close, not in the
// action). Run as
//
//	go test -run xxx -bench Cycle -benchtime 3000x ./bench/
func BenchmarkCycle(b *testing.B) {
	ctx := context.Background()
	for _, op := range []string{"add", "show"} {
		b.Run(op, func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "vault")
			e := newEnv(b, dir, true)
			nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
				Content: vault.Content{Title: "weekly session", Body: body1K}}
			n, err := e.v.AddNote(ctx, nn, e.alice)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.v.Close(); err != nil {
				b.Fatal(err)
			}
			// What the CLI does after a command that left compaction to do:
			// a detached maintenance process, here a goroutine with a vault
			// of its own (the flock is per open file, so it excludes the next
			// iteration exactly as another process would).
			var wg sync.WaitGroup
			maintain := func() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, err := vault.Open(ctx, dir, vault.Options{BusyTimeout: time.Millisecond, Background: true})
					if err != nil {
						return
					}
					m.Reclaim(ctx)
					m.Close()
				}()
			}
			defer wg.Wait()
			var total, open, act, closing []time.Duration
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				v, err := vault.Open(ctx, dir, vault.Options{})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if op == "add" {
					_, err = v.AddNote(ctx, nn, e.alice)
				} else {
					_, err = v.ReadNote(ctx, n.ID, e.bob)
				}
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				housekeeping := v.NeedsMaintenance()
				if err := v.Close(); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if housekeeping {
					maintain()
				}
				total = append(total, t3.Sub(t0))
				open = append(open, t1.Sub(t0))
				act = append(act, t2.Sub(t1))
				closing = append(closing, t3.Sub(t2))
			}
			b.StopTimer()
			report(b, "", total)
			report(b, "open-", open)
			report(b, "close-", closing)
			report(b, "action-", act)
		})
	}
}

// report adds the mean, p99 and max of ds, in milliseconds.
func report(b *testing.B, prefix string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum/time.Duration(len(s))), prefix+"mean-ms")
	b.ReportMetric(ms(s[min(len(s)-1, len(s)*99/100)]), prefix+"p99-ms")
	b.ReportMetric(ms(s[len(s)-1]), prefix+"max-ms")
}
