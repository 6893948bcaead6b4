package badgerstore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/vault/kv"
)

// A record larger than badger takes is refused with kv.ErrTooBig and a
// sentence that names sizes only: badger's own error carries a hex dump of
// the record, which must never reach a terminal or a log.
func TestOversizedRecordIsRefusedWithoutItsBytes(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil).WithValueLogFileSize(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	s := New(db)
	defer s.Close()
	tx, err := s.Begin(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Discard()
	value := []byte(strings.Repeat("SECRET-MARK ", (2<<20)/12))

	// Control: badger itself puts the record's bytes in its error.
	raw := db.NewTransaction(true)
	defer raw.Discard()
	if err := raw.Set([]byte("k"), value); err == nil || !strings.Contains(err.Error(), "SECRET-MARK") {
		t.Fatalf("control: badger's own error no longer dumps the value (%v): this test checks nothing", err)
	}

	err = tx.Set([]byte("k"), value)
	if !errors.Is(err, kv.ErrTooBig) {
		t.Fatalf("Set of %d bytes: %v, want kv.ErrTooBig", len(value), err)
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "53 45 43") {
		t.Fatalf("the error shows the record: %.200s", err)
	}
	if err := tx.Set([]byte("small"), []byte("ok")); err != nil {
		t.Fatalf("a small record after the refusal: %v", err)
	}
}
