package bench

import (
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// BenchmarkChunkStore is the measurement behind storing a large note's
// payload in a file beside the store rather than in badger: 256 MiB of
// sealed chunks written (synced) and deleted, as badger values under and
// over the vault's value threshold (with the vault's badger options), and as
// one file. It reports the bytes left on disk after the deletion. Run with
//
//	go test -run xxx -bench ChunkStore -benchtime 1x ./bench/
func BenchmarkChunkStore(b *testing.B) {
	const total = 256 << 20
	for _, chunk := range []int{256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("badger-%dKiB-values", chunk>>10), func(b *testing.B) {
			buf := make([]byte, chunk)
			rand.Read(buf)
			var left int64
			for b.Loop() {
				dir := b.TempDir()
				db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithSyncWrites(true).
					WithNumVersionsToKeep(1).WithMemTableSize(8 << 20).WithValueLogFileSize(64 << 20).
					WithBlockCacheSize(8 << 20).WithIndexCacheSize(0).WithNumCompactors(2).
					WithMetricsEnabled(false).WithValueThreshold(1 << 20).
					WithChecksumVerificationMode(options.OnBlockRead))
				if err != nil {
					b.Fatal(err)
				}
				txn := db.NewTransaction(true)
				for i := range total / chunk {
					k := fmt.Appendf(nil, "p/n-x/%08d", i)
					if err := txn.Set(k, buf); err == badger.ErrTxnTooBig {
						if err := txn.Commit(); err != nil {
							b.Fatal(err)
						}
						txn = db.NewTransaction(true)
						err = txn.Set(k, buf)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := txn.Commit(); err != nil {
					b.Fatal(err)
				}
				if err := db.DropPrefix([]byte("p/")); err != nil {
					b.Fatal(err)
				}
				left = diskUsage(b, dir)
				db.Close()
			}
			b.ReportMetric(float64(left)/(1<<20), "MiB-left-after-delete")
		})
	}
	b.Run("file", func(b *testing.B) {
		buf := make([]byte, 1<<20)
		rand.Read(buf)
		var left int64
		for b.Loop() {
			dir := b.TempDir()
			p := filepath.Join(dir, "payload")
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			for range total / len(buf) {
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			if err := os.Remove(p); err != nil {
				b.Fatal(err)
			}
			left = diskUsage(b, dir)
		}
		b.ReportMetric(float64(left)/(1<<20), "MiB-left-after-delete")
	})
}

func diskUsage(b *testing.B, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
