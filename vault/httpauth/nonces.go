package httpauth

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/notevault/notevault/vault/kv"
)

// NonceStore remembers the one-time ids of proofs until they expire: Use
// returns nil the first time it sees (key, id) and a replay refusal after.
type NonceStore interface {
	Use(ctx context.Context, keyID, id string, until time.Time) error
}

// Memory is a NonceStore for one process, bounded: ids past their expiry are
// forgotten, and at Max ids it refuses new ones rather than grow (a proof
// is good only for the skew window, so a full store means a flood).
type Memory struct {
	Max int // 0: 1,000,000
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *Memory) Use(ctx context.Context, keyID, id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	k := keyID + "/" + id
	if exp, ok := m.seen[k]; ok && now.Before(exp) {
		return errReplay
	}
	max := m.Max
	if max <= 0 {
		max = 1_000_000
	}
	if len(m.seen) >= max {
		for k, exp := range m.seen {
			if !now.Before(exp) {
				delete(m.seen, k)
			}
		}
		if len(m.seen) >= max {
			return &Error{Status: 503, Reason: "too many requests in the replay window"}
		}
	}
	m.seen[k] = until
	return nil
}

// KV is a NonceStore in the vault's store (vault/kv), for replicas that
// share one database: the check and the insert are one serialisable
// transaction, so two replicas cannot both accept one proof.
type KV struct {
	Store kv.Store
	Now   func() time.Time
}

const pNonce = "h/"

func (s *KV) Use(ctx context.Context, keyID, id string, until time.Time) error {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	key := []byte(pNonce + keyID + "/" + id)
	tx, err := s.Store.Begin(ctx, true)
	if err != nil {
		return err
	}
	defer tx.Discard()
	v, err := tx.Get(key)
	switch {
	case err == nil && len(v) == 8 && now.Before(time.Unix(int64(binary.BigEndian.Uint64(v)), 0)):
		return errReplay
	case err != nil && !errors.Is(err, kv.ErrNotFound):
		return err
	}
	if err := tx.Set(key, binary.BigEndian.AppendUint64(nil, uint64(until.Unix()))); err != nil {
		if errors.Is(err, kv.ErrConflict) {
			return errReplay
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		if errors.Is(err, kv.ErrConflict) {
			return errReplay // another request with the same proof won
		}
		return err
	}
	return nil
}

// Prune deletes the ids that expired before now; it returns how many.
func (s *KV) Prune(ctx context.Context, now time.Time) (int, error) {
	tx, err := s.Store.Begin(ctx, true)
	if err != nil {
		return 0, err
	}
	defer tx.Discard()
	var old [][]byte
	it := tx.NewIterator(kv.IterOptions{Prefix: []byte(pNonce)})
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Value()
		if err != nil {
			it.Close()
			return 0, err
		}
		if len(v) != 8 || !now.Before(time.Unix(int64(binary.BigEndian.Uint64(v)), 0)) {
			old = append(old, append([]byte{}, it.Key()...))
		}
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return 0, err
	}
	for _, k := range old {
		if err := tx.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), tx.Commit()
}
