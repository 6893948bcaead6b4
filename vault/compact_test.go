package vault

import (
	"testing"

	"github.com/notevault/notevault/policy"
)

// Each short writing process leaves one more level-0 table; without the
// compaction in Close they pile up and every read slows down. After many
// open-write-close cycles, level 0 must stay near the threshold.
func TestLevelZeroStaysBounded(t *testing.T) {
	f := newFixture(t, true)
	f.close()
	max := 0
	for i := 0; i < 30; i++ {
		f.open()
		f.add(policy.Session, f.alice, content("t", "b"))
		if n := f.v.level0Tables(); n > max {
			max = n
		}
		f.close()
	}
	if limit := 8 + 2; max > limit {
		t.Fatalf("level 0 grew to %d tables over 30 writing processes, want at most %d", max, limit)
	}
}
