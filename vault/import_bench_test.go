package vault

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/notevault/notevault/policy"
)

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
	for start := 0; start < len(items); start += 1000 {
		if _, err := im.Add(f.ctx, items[start:min(start+1000, len(items))]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notes/s")
}
