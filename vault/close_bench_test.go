package vault

import (
	"testing"

	"github.com/notevault/notevault/policy"
)

// BenchmarkCloseAgreement closes an agreement of 1,000 notes, 100 of them
// summaries copied to a supervisor under a live grant: the close fact,
// re-filing every note's expiry entry, and destroying the grant's copies. Run with -benchtime=3x: each iteration
// builds its own vault, outside the timer.
//
//	go test ./vault -run '^$' -bench CloseAgreement -benchtime=3x
func BenchmarkCloseAgreement(b *testing.B) {
	const notes = 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f := newFixture(b, true)
		for j := 0; j < notes-100; j++ {
			f.add(policy.Session, f.alice, content("t", "body"))
		}
		for j := 0; j < 100; j++ {
			f.add(policy.Summary, f.alice, content("t", "body"))
		}
		if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, f.clock.Now().Add(300*day), f.bob); err != nil {
			b.Fatal(err)
		}
		if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 30*day, f.alice); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := f.v.CloseAgreement(f.ctx, f.agreement, "", f.bob); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.close()
	}
}
