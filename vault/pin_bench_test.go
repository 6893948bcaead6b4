package vault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/kv"
)

// appendRecords writes n system audit records, 1,000 to a transaction.
func appendRecords(tb testing.TB, v *Vault, n int) {
	tb.Helper()
	for done := 0; done < n; {
		k := min(1000, n-done)
		err := v.update(func(txn kv.Txn) error {
			for i := range k {
				rec := &audit.Record{Actor: ActorVault, Action: "bench.record", Subject: fmt.Sprintf("x-%d", done+i)}
				if err := v.appendLog(txn, rec, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		done += k
	}
}

// BenchmarkOpenPinned measures Open+Close of a vault whose log holds `log`
// records the user pinned, plus `new` records written since: the check at
// open reads only the new ones, and Close moves the pin (a synced write)
// when there were any. "unpinned" is the same open and close without a pin
// directory.
//
//	go test -run - -bench OpenPinned -benchtime 20x ./vault/
func BenchmarkOpenPinned(b *testing.B) {
	for _, c := range []struct {
		name     string
		log, new int
		pinned   bool
	}{
		{"unpinned/log=10000", 10000, 0, false},
		{"log=10000/new=0", 10000, 0, true},
		{"log=100000/new=0", 100000, 0, true},
		{"log=10000/new=10000", 10000, 10000, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			dir := filepath.Join(b.TempDir(), "vault")
			pinDir := filepath.Join(b.TempDir(), "pins")
			if err := InitWith(dir, Options{PinDir: pinDir}); err != nil {
				b.Fatal(err)
			}
			v, err := Open(ctx, dir, Options{PinDir: pinDir})
			if err != nil {
				b.Fatal(err)
			}
			appendRecords(b, v, c.log)
			if err := v.Close(); err != nil {
				b.Fatal(err)
			}
			file, _, err := pinPath(pinDir, dir)
			if err != nil {
				b.Fatal(err)
			}
			pinned, err := os.ReadFile(file)
			if err != nil {
				b.Fatal(err)
			}
			if v, err = Open(ctx, dir, Options{}); err != nil {
				b.Fatal(err)
			}
			appendRecords(b, v, c.new)
			if err := v.Close(); err != nil {
				b.Fatal(err)
			}
			opts := Options{}
			if c.pinned {
				opts.PinDir = pinDir
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if err := os.WriteFile(file, pinned, 0o600); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				v, err := Open(ctx, dir, opts)
				if err != nil {
					b.Fatal(err)
				}
				if err := v.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
