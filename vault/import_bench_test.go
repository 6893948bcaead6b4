package vault

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport imports b.N one-KiB notes to two readers with
// post-quantum keys, in batches as `note import` does, and reports notes
// per second.
func BenchmarkImport(b *testing.B) {
	f := newFixture(b, true)
	body := bytes.Repeat([]byte("x"), 1023)
	items := make([]Content, b.N)
	for i := range items {
		items[i] = Content{Title: fmt.Sprintf("note %d", i), Tags: []string{"bench"}, Body: append(body[:1023:1023], '\n')}
	}
	im, err := f.v.NewImport(f.ctx, f.agreement, policy.Session, f.alice)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for start := 0; start < len(items); start += 1000 {
		if _, err := im.Add(f.ctx, items[start:min(start+1000, len(items))]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notes/s")
	// CPU time per note: on a shared machine it measures the work, where
	// wall time measures the neighbours too.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/note")
}
