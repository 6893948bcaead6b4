package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SweepLock is the advisory lock key of the retention sweep: of the serve
// replicas on one database, the one that holds it sweeps.
const SweepLock = 0x6e76_7377_6565 // "nvswee"

// Lease is a session-level PostgreSQL advisory lock held on a connection
// of its own: held until Release, or until that connection ends (the
// replica died or lost the database), when the server frees it for
// another replica. Release a lease before closing its Store: Close waits
// for every connection taken from the pool.
type Lease struct {
	key  int64
	conn *pgxpool.Conn // nil once released
}

// TryLease takes the advisory lock key if no other session holds it. It
// returns nil, with no error, when another does.
func (s *Store) TryLease(ctx context.Context, key int64) (*Lease, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		conn.Release()
		return nil, fmt.Errorf("PostgreSQL: taking the advisory lock: %w", err)
	}
	if !got {
		conn.Release()
		return nil, nil
	}
	return &Lease{key: key, conn: conn}, nil
}

// Release gives the lock up. Releasing twice does nothing.
func (l *Lease) Release(ctx context.Context) error {
	if l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		// The lock dies with its session: close the connection rather
		// than hand a session that may still hold it back to the pool.
		conn.Conn().Close(context.WithoutCancel(ctx))
		return fmt.Errorf("PostgreSQL: releasing the advisory lock: %w", err)
	}
	return nil
}
