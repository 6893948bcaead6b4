package vault

import (
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/kv"
)

// BenchmarkVerification measures what trusting nothing unsigned costs one
// command: loading a note and folding its agreement's chain with every
// signature checked (the agreement has its two acceptances, a consent and a
// grant, plus facts facts more), as every read, grant and disclosure does.
//
//	go test -run - -bench Verification ./vault/
func BenchmarkVerification(b *testing.B) {
	for _, extra := range []int{0, 20, 200} {
		b.Run(map[int]string{0: "facts=5", 20: "facts=25", 200: "facts=205"}[extra], func(b *testing.B) {
			f := newFixture(b, true)
			n := f.add(policy.Summary, f.alice, content("t", "body"))
			if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
				b.Fatal(err)
			}
			if _, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < extra; i++ {
				f.clock.Advance(time.Second)
				if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if err := f.v.view(func(txn kv.Txn) error {
					_, _, err := f.v.verifiedNote(txn, n.ID)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
