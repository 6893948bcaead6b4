//go:build scale

package vault

// Scale runs, behind the "scale" build tag because they take minutes:
//
//	go test -tags scale -run TestSweepScale -v -timeout 60m ./vault
//
// NOTEVAULT_SCALE_NOTES sets the vault size (default 1,000,000), 10% due;
// NOTEVAULT_SCALE_PROFILE=FILE writes a CPU profile of the sweep alone.

import (
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/seal"
)

func dirSize(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// bulkNotes writes n notes straight into the store, each with a sealed
// 1.5 KiB blob in its expiry bucket, the first 10% due at now. Only the age
// layer is skipped (the sweep never touches it); everything the sweep reads
// and destroys is real.
func bulkNotes(t *testing.T, f *fixture, n int) {
	now := f.clock.Now()
	body := make([]byte, 1536)
	rand.Read(body)
	commit := commitOf(body)
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	terms := a.Terms(a.Current())
	wb := f.v.db.NewWriteBatch()
	keys := map[string][]byte{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n-bulk%08d", i)
		var created time.Time
		kind := policy.Session
		if i < n/10 {
			created = now.Add(-400 * 24 * time.Hour).Add(time.Duration(i) * time.Second)
		} else {
			created = now.Add(-time.Duration(i%300) * 24 * time.Hour)
		}
		// A note as AddNote stores it: signed metadata (the sweep verifies
		// every note it destroys) and the vault's bookkeeping.
		nt := &noteRec{Meta: noteMeta{ID: id, Agreement: f.agreement, Version: 1, Kind: kind, Author: "alice", Created: created,
			Expires: created.Add(terms.RetentionFor(kind)), Readers: terms.ReadersFor(kind, "alice"), Commit: commit}}
		nt.Sig = f.alice.Sign(nt.Meta.signedBytes())
		base := expiryBase(nt.Meta.Expires)
		bucket := base + ".bulk"
		key, ok := keys[bucket]
		if !ok {
			var err error
			if key, err = f.v.keys.Key(nil, bucket, true); err != nil {
				t.Fatal(err)
			}
			keys[bucket] = key
			b, _ := encodeRecord(bucketHead{Name: bucket})
			wb.Set([]byte(pBucketHead+base), b)
		}
		nt.Bucket = bucket
		sealed, err := seal.Seal(key, seal.AD(id, bucket), body)
		if err != nil {
			t.Fatal(err)
		}
		br, _ := encodeRecord(blobRec{Bucket: bucket, Sealed: sealed})
		nr, _ := encodeRecord(nt)
		for _, kv := range [][2][]byte{
			{[]byte(pBlob + id), br}, {[]byte(pMember + bucket + "/" + id), nil},
			{[]byte(pNote + id), nr}, {[]byte(expiryKey(nt.Meta.Expires.Unix(), id)), nil},
		} {
			if err := wb.Set(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestSweepScale(t *testing.T) {
	n := 1_000_000
	if s := os.Getenv("NOTEVAULT_SCALE_NOTES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	f := newFixture(t, true)
	start := time.Now()
	bulkNotes(t, f, n)
	t.Logf("filled %d notes in %v", n, time.Since(start).Round(time.Millisecond))
	f.close()
	f.open()
	// A vault at rest: the fill's compactions done, so that they do not
	// compete with the sweep for the two cores (a vault filled over months
	// has none pending).
	start = time.Now()
	if err := f.v.db.Flatten(2); err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted the fill in %v", time.Since(start).Round(time.Millisecond))
	before := dirSize(t, f.dir)

	// Nothing due: the sweep must not pay for the vault's size.
	f.clock.Set(f.clock.Now().Add(-400 * 24 * time.Hour))
	start = time.Now()
	d, _, err := f.sweep()
	if err != nil || len(d) != 0 {
		t.Fatalf("empty sweep: %d, %v", len(d), err)
	}
	t.Logf("sweep with nothing due: %v", time.Since(start).Round(time.Microsecond))
	f.clock.Set(f.clock.Now().Add(400 * 24 * time.Hour))

	// The sweep as retention.Sweep runs it: a page of the index (2,048
	// entries, cut where the hour changes) read with each due note verified,
	// then destroyed as one whole destruction with its receipts, the vault
	// free between pages. The longest single hold of the vault is the
	// slowest page: its read plus its destruction.
	// NOTEVAULT_SCALE_PROFILE=FILE writes a CPU profile of the sweep alone.
	if p := os.Getenv("NOTEVAULT_SCALE_PROFILE"); p != "" {
		pf, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(pf)
		defer pf.Close()
	}
	const batch = 2048 // retention.BatchSize
	start = time.Now()
	now := f.v.Now()
	var slowest, reading time.Duration
	d = nil
	for cursor := ""; ; {
		ps := time.Now()
		entries, next, err := f.v.ExpiryIndexPage(f.ctx, now, cursor, batch)
		if err != nil {
			t.Fatal(err)
		}
		reading += time.Since(ps)
		var due []Due
		for _, e := range entries {
			if e.Meta != nil && !e.Meta.Expires.After(now) && !e.Meta.Held() {
				due = append(due, Due{Note: e.Note, Rule: "retention." + string(e.Meta.Kind), Index: []time.Time{e.At}})
			}
		}
		if len(due) > 0 {
			rs, err := f.v.SweepNotes(f.ctx, due)
			if err != nil {
				t.Fatal(err)
			}
			d = append(d, rs...)
		}
		slowest = max(slowest, time.Since(ps))
		if next == "" {
			break
		}
		cursor = next
	}
	took := time.Since(start)
	pprof.StopCPUProfile()
	t.Logf("sweep destroyed %d of %d notes (receipts included) in %v: reading pages %v, slowest page (read and destroy) %v",
		len(d), n, took.Round(time.Millisecond), reading.Round(time.Millisecond), slowest.Round(time.Millisecond))
	if len(d) != n/10 {
		t.Fatalf("destroyed %d, want %d", len(d), n/10)
	}
	afterSweep := dirSize(t, f.dir)

	// Reclaiming space as the sweep and the background maintenance do it,
	// in steps a waiting command interrupts; then, for comparison, the
	// whole compaction (Flatten and value-log GC) that held the vault
	// before.
	start = time.Now()
	if _, done, err := f.v.Reclaim(f.ctx); err != nil || !done {
		t.Fatalf("Reclaim: done %v, %v", done, err)
	}
	t.Logf("reclaim in steps: %v, vault size %d MiB", time.Since(start).Round(time.Millisecond), dirSize(t, f.dir)>>20)
	start = time.Now()
	reclaimed, err := f.v.Compact(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compaction + value-log GC: %v (%d value-log files rewritten)", time.Since(start).Round(time.Millisecond), reclaimed)
	f.close()
	afterGC := dirSize(t, f.dir)
	t.Logf("vault size: before %d MiB, after sweep %d MiB, after compaction %d MiB", before>>20, afterSweep>>20, afterGC>>20)

	// For comparison: deleting the same number of notes one by one, each in
	// its own badger transaction, found by scanning every note record.
	// NOTEVAULT_SCALE_BASELINE=0 skips it (it takes a minute at 1M).
	if os.Getenv("NOTEVAULT_SCALE_BASELINE") == "0" {
		return
	}
	g := newFixture(t, true)
	bulkNotes(t, g, n)
	cutoff := g.clock.Now()
	start = time.Now()
	var ids [][]byte
	g.v.db.View(func(txn *badger.Txn) error {
		return scan(badgerstore.Wrap(txn, false), pNote, func(k string, nt *Note) error {
			if !nt.Expires.After(cutoff) {
				ids = append(ids, []byte(k))
			}
			return nil
		})
	})
	for _, k := range ids {
		g.v.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) })
	}
	t.Logf("baseline: scan all notes + delete %d one by one through badger: %v", len(ids), time.Since(start).Round(time.Millisecond))
}
