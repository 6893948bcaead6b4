package bench

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

// Large notes, streamed (post-quantum keys, a session note to mentor and
// mentee). 1 MiB is the largest body kept inline; 64 MiB goes to a payload
// file as it is encrypted. Run with
//
//	go test -run xxx -bench 'StreamAdd|StreamShow' -benchtime 5x ./bench/
//
// Peak memory of the whole process for a 1 GiB note, against age, is
// bench/stream.sh's job.

var streamSizes = []struct {
	name string
	size int
}{{"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

func randomBody(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func BenchmarkStreamAdd(b *testing.B) {
	ctx := context.Background()
	for _, s := range streamSizes {
		b.Run(s.name, func(b *testing.B) {
			e := newEnv(b, filepath.Join(b.TempDir(), "vault"), true)
			defer e.v.Close()
			body := randomBody(s.size)
			nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Session, Content: vault.Content{Title: "recording"}}
			b.SetBytes(int64(s.size))
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.v.AddNoteFrom(ctx, nn, bytes.NewReader(body), e.alice); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStreamShow(b *testing.B) {
	ctx := context.Background()
	for _, s := range streamSizes {
		b.Run(s.name, func(b *testing.B) {
			e := newEnv(b, filepath.Join(b.TempDir(), "vault"), true)
			defer e.v.Close()
			n, err := e.v.AddNoteFrom(ctx, vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
				Content: vault.Content{Title: "recording"}}, bytes.NewReader(randomBody(s.size)), e.alice)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(s.size))
			b.ResetTimer()
			for b.Loop() {
				nr, err := e.v.OpenNote(ctx, n.ID, e.bob)
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.Copy(io.Discard, nr)
				nr.Close()
				if err != nil || got != int64(s.size) {
					b.Fatalf("read %d bytes, %v", got, err)
				}
			}
		})
	}
}

// BenchmarkRewrapBesideLarge deletes a small note from a bucket that also
// holds four 40 MiB notes: the re-wrap touches their headers only.
func BenchmarkRewrapBesideLarge(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, filepath.Join(b.TempDir(), "vault"), true)
	defer e.v.Close()
	big := randomBody(40 << 20)
	nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Reflection, Content: vault.Content{Title: "recording"}}
	for range 4 {
		if _, err := e.v.AddNoteFrom(ctx, nn, bytes.NewReader(big), e.bob); err != nil {
			b.Fatal(err)
		}
	}
	small := nn
	small.Body = []byte("a short reflection")
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		n, err := e.v.AddNote(ctx, small, e.bob)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.v.DeleteNote(ctx, n.ID, e.bob); err != nil {
			b.Fatal(err)
		}
	}
}
