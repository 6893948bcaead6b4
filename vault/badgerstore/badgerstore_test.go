package badgerstore

import (
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/kv/kvtest"
)

func TestConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		s := New(db)
		t.Cleanup(func() { s.Close() })
		return s
	})
}
