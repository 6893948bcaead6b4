package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

// readableNotes is how many notes the caller of note list -i may read in
// BenchmarkListReadable; the target is a listing under one second.
const readableNotes = 1000

// BenchmarkListReadable is note list -i and note search over 1,000 session
// notes, all readable by the mentee: each note's policy decision, its
// author's signature, its copy unsealed and decrypted (by one worker per
// core), its plaintext checked against the author's commitment, and one
// synced audit record per listing. Run with
//
//	go test -run xxx -bench ListReadable -benchtime 10x ./bench/
//
// cpu-ms/op is the CPU time of the process per listing: on an idle machine
// the wall time is about that divided by the cores, plus the audit record's
// sync, and a loaded machine inflates ns/op but not cpu-ms/op.
//
// A session note is sealed to mentor and mentee, in that order, so the
// mentee's key first tries the mentor's stanza: two decapsulations a note
// for post-quantum keys, the worst case for a reader.
func BenchmarkListReadable(b *testing.B) {
	ctx := context.Background()
	for _, pq := range []bool{true, false} {
		name := map[bool]string{true: "pq", false: "classic"}[pq]
		dir := filepath.Join(b.TempDir(), "vault")
		e := newEnv(b, dir, pq)
		for i := range readableNotes {
			nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
				Content: vault.Content{Title: fmt.Sprintf("session %d", i), Tags: []string{"goals"}, Body: body1K}}
			if _, err := e.v.AddNote(ctx, nn, e.alice); err != nil {
				b.Fatalf("note %d: %v", i, err)
			}
		}
		// Listed by a later process, as note list -i is: the writes settled
		// in the store, no compaction of them still running.
		if err := e.v.Close(); err != nil {
			b.Fatal(err)
		}
		var err error
		if e.v, err = vault.Open(ctx, dir, vault.Options{}); err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/list", func(b *testing.B) {
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				ls, err := e.v.ListReadable(ctx, vault.Query{}, e.bob)
				if err != nil {
					b.Fatal(err)
				}
				if len(ls) != readableNotes {
					b.Fatalf("listed %d notes, want %d", len(ls), readableNotes)
				}
			}
		})
		b.Run(name+"/search", func(b *testing.B) {
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				ls, err := e.v.SearchNotes(ctx, "session 99", vault.Query{}, e.bob)
				if err != nil {
					b.Fatal(err)
				}
				if len(ls) != 11 { // session 99, 990..999
					b.Fatalf("search matched %d notes, want 11", len(ls))
				}
			}
		})
		if err := e.v.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU reports the CPU time used since start per iteration.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
