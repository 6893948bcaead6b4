package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

// dueNotes is how many notes the vault of BenchmarkDueReviews holds.
const dueNotes = 1000

// BenchmarkDueReviews is agreement due on a vault of 1,000 notes: every
// agreement's chain folded and verified, and every note's metadata read to
// find the newest review (the cost grows with the notes, not with what is
// due). Run with
//
//	go test -run xxx -bench DueReviews -benchtime 20x ./bench/
func BenchmarkDueReviews(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "vault")
	e := newEnv(b, dir, false)
	nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Session, Content: vault.Content{Title: "session", Body: body1K}}
	for range dueNotes {
		if _, err := e.v.AddNote(ctx, nn, e.alice); err != nil {
			b.Fatal(err)
		}
	}
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		ds, err := e.v.DueReviews(ctx)
		if err != nil || len(ds) != 1 {
			b.Fatalf("DueReviews = %v, %v", ds, err)
		}
	}
}

// attestations is how many attestations BenchmarkCriteria's agreement has.
const attestations = 50

// BenchmarkCriteria is criterion list with 50 attestations, each sealed to
// the three parties: one age decryption per attestation (the reader's
// stanza is tried in the order mentor, mentee, supervisor). Run with
//
//	go test -run xxx -bench Criteria -benchtime 20x ./bench/
func BenchmarkCriteria(b *testing.B) {
	ctx := context.Background()
	for _, pq := range []bool{true, false} {
		name := map[bool]string{true: "pq", false: "classic"}[pq]
		e := newEnv(b, filepath.Join(b.TempDir(), "vault"), pq)
		statuses := []policy.AttestStatus{policy.StatusProgress, policy.StatusMet, policy.StatusMissed}
		for i := range attestations {
			if _, err := e.v.AttestCriterion(ctx, e.agreement, "c1", statuses[i%3], "", e.alice); err != nil && i < 3 {
				b.Fatal(err)
			}
			if _, err := e.v.AttestCriterion(ctx, e.agreement, "c1", statuses[i%3], "", e.bob); err != nil && i < 3 {
				b.Fatal(err)
			}
		}
		b.Run(name, func(b *testing.B) {
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				cs, err := e.v.Criteria(ctx, e.agreement, e.bob)
				if err != nil || len(cs) != 1 || cs[0].Status == "" {
					b.Fatalf("Criteria = %+v, %v", cs, err)
				}
			}
		})
	}
}
