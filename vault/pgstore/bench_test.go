package pgstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/vault/badgerstore"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
)

// The two engines side by side, one small action each: put and commit a
// 2 KiB record (a note's metadata and sealed copy are of that order), and
// read one back.
//
//	go test -run - -bench . ./vault/pgstore/
func BenchmarkEngines(b *testing.B) {
	engines := map[string]func(b *testing.B) kv.Store{
		"badger": func(b *testing.B) kv.Store {
			db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithLogger(nil).WithSyncWrites(true))
			if err != nil {
				b.Fatal(err)
			}
			s := badgerstore.New(db)
			b.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(b *testing.B) kv.Store {
			s, err := Open(context.Background(), pgtest.Start(b).NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	ctx := context.Background()
	val := make([]byte, 2048)
	for _, name := range []string{"badger", "postgres"} {
		b.Run(name+"/put-commit", func(b *testing.B) {
			s := engines[name](b)
			for i := 0; b.Loop(); i++ {
				tx, err := s.Begin(ctx, true)
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Set([]byte(fmt.Sprintf("n/%09d", i)), val); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/get", func(b *testing.B) {
			s := engines[name](b)
			tx, _ := s.Begin(ctx, true)
			tx.Set([]byte("n/1"), val)
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				tx, err := s.Begin(ctx, false)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Get([]byte("n/1")); err != nil {
					b.Fatal(err)
				}
				tx.Discard()
			}
		})
	}
}
