package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The writers' turn.
//
// Every action that writes appends to the vault's one audit log, so on a
// server two client actions that overlap always conflict and one of them
// runs again (snapshot.go). Under load that wastes whole actions and can
// starve a writer. So a client's writing transaction first takes the turn,
// waiters in the order they asked: one holder at a time, named by the client, until its commit (which ends
// the turn in the same transaction), an explicit end, or a time to live
// (a client that died mid-action blocks no one for longer). The turn is
// only an ordering: Apply checks every read as before, so a holder whose
// turn ran out, or a writer that never took it (the server's own sweep),
// is still serialised correctly. Those waiting for the turn are woken by a
// PostgreSQL NOTIFY when it ends, on whichever replica they wait.

// turnChannel is the NOTIFY channel of an ended turn.
const turnChannel = "notevault_turn"

// maxTurn bounds how long one holder keeps the turn by taking it again: a
// client that keeps it (a bug, or an enrolled key bent on starving the
// others) loses it to the next in line after that.
const maxTurn = 30 * time.Second

// queueAlive is how recently a waiter must have asked for the turn to
// keep its place in the queue: one that gave up (its client went away)
// loses it after that.
const queueAlive = time.Second

// TakeTurn gives the turn to holder, for ttl, if holder holds it already
// (a client's nested transactions share it, for at most maxTurn in all),
// or if it is free or run out and no writer still waiting asked for it
// before holder did: waiters get it in the order they first asked. When
// holder must wait, TakeTurn reports false and when the current turn runs
// out. A waiter asks again at least every queueAlive.
func (s *Store) TakeTurn(ctx context.Context, holder string, ttl time.Duration) (bool, time.Time, error) {
	var until time.Time
	err := s.pool.QueryRow(ctx, `WITH me AS (
			INSERT INTO turn_queue (holder, since, seen) VALUES ($1, now(), now())
			ON CONFLICT (holder) DO UPDATE SET seen = now()
			RETURNING since),
		ahead AS (
			SELECT 1 FROM turn_queue q, me WHERE q.holder <> $1 AND q.since < me.since
			  AND q.seen > now() - make_interval(secs => $4))
		UPDATE write_turn
		SET since = CASE WHEN holder = $1 AND until >= now() THEN since ELSE now() END,
		    holder = $1,
		    until = LEAST(now() + make_interval(secs => $2),
		                  CASE WHEN holder = $1 AND until >= now() THEN since ELSE now() END + make_interval(secs => $3))
		WHERE (holder = $1 AND until >= now() AND since > now() - make_interval(secs => $3))
		   OR ((holder = '' OR until < now()) AND NOT EXISTS (SELECT 1 FROM ahead))
		RETURNING until`, holder, ttl.Seconds(), maxTurn.Seconds(), queueAlive.Seconds()).Scan(&until)
	if err == nil {
		if _, err := s.pool.Exec(ctx, `DELETE FROM turn_queue WHERE holder = $1 OR seen < now() - make_interval(secs => $2)`, holder, 60); err != nil {
			return false, until, fmt.Errorf("PostgreSQL: leaving the writers' queue: %w", mapErr(err))
		}
		return true, until, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, until, fmt.Errorf("PostgreSQL: taking the writers' turn: %w", mapErr(err))
	}
	if err := s.pool.QueryRow(ctx, `SELECT until FROM write_turn`).Scan(&until); err != nil {
		return false, until, fmt.Errorf("PostgreSQL: reading the writers' turn: %w", mapErr(err))
	}
	return false, until, nil
}

// endTurn is the statement that ends holder's turn and, once its
// transaction commits, tells the waiters whose turn is next: the one that
// asked first among those still asking (the notification's payload), so
// that only it asks for the turn rather than every waiter at once.
const endTurn = `WITH ended AS (UPDATE write_turn SET holder = '' WHERE holder = $1 RETURNING 1),
	next AS (SELECT holder FROM turn_queue WHERE holder <> $1 AND seen > now() - interval '1 second' ORDER BY since LIMIT 1)
	SELECT count(pg_notify('` + turnChannel + `', COALESCE((SELECT holder FROM next), ''))) FROM ended`

// EndTurn ends holder's turn, if it holds it.
func (s *Store) EndTurn(ctx context.Context, holder string) error {
	if _, err := s.pool.Exec(ctx, endTurn, holder); err != nil {
		return fmt.Errorf("PostgreSQL: ending the writers' turn: %w", mapErr(err))
	}
	return nil
}

// TurnEnded returns a channel closed when a turn next ends, on any replica.
// Take it before TakeTurn, so that an end between the two is not missed;
// once it is closed, NextTurn says who is next. Notifications can be lost
// (the listening connection fails and is made again), so wait on it with
// a timeout as well.
func (s *Store) TurnEnded() <-chan struct{} {
	s.turn.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.turn.mu.Lock()
		s.turn.stop = cancel
		s.turn.ch = make(chan struct{})
		s.turn.done = make(chan struct{})
		s.turn.mu.Unlock()
		go s.listen(ctx)
	})
	s.turn.mu.Lock()
	defer s.turn.mu.Unlock()
	return s.turn.ch
}

// turnListener wakes the waiters of one replica.
type turnListener struct {
	once sync.Once
	mu   sync.Mutex
	stop context.CancelFunc // nil until the listener starts
	done chan struct{}      // closed when it has stopped
	ch   chan struct{}      // closed at the next ended turn
	next string             // whose turn the last ended turn named ("": anyone's)
}

// NextTurn is the holder the last ended turn named as next, or "" when it
// named no one (or a notification was lost): then anyone waiting asks.
func (s *Store) NextTurn() string {
	s.turn.mu.Lock()
	defer s.turn.mu.Unlock()
	return s.turn.next
}

// close stops the listener, if it started, and waits for it.
func (l *turnListener) close() {
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (s *Store) wake(next string) {
	s.turn.mu.Lock()
	s.turn.next = next
	close(s.turn.ch)
	s.turn.ch = make(chan struct{})
	s.turn.mu.Unlock()
}

// listen holds a connection that LISTENs for ended turns until ctx ends,
// making it again when it fails.
func (s *Store) listen(ctx context.Context) {
	defer close(s.turn.done)
	for ctx.Err() == nil {
		conn, err := s.pool.Acquire(ctx)
		if err == nil {
			if _, err = conn.Exec(ctx, `LISTEN `+turnChannel); err == nil {
				for {
					n, err2 := conn.Conn().WaitForNotification(ctx)
					if err = err2; err != nil {
						break
					}
					s.wake(n.Payload)
				}
			}
			// A connection that was listening goes, rather than back to
			// the pool with its LISTEN.
			conn.Conn().Close(context.Background())
			conn.Release()
		}
		s.wake("") // whatever ended meanwhile went unheard
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
