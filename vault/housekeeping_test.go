package vault

import (
	"errors"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
)

// A process waiting for the vault makes its holder Contended, and Yield
// lets it in and takes the vault back, re-verified: the holder then sees
// what the other process wrote. A background job (maintenance) that waits
// asks for nothing; nor does an empty vault lock.
func TestYieldGivesWayToAWaitingProcess(t *testing.T) {
	f := newFixture(t, true)
	if f.v.Contended() {
		t.Fatal("contended with nobody waiting")
	}
	if yielded, err := f.v.Yield(f.ctx); err != nil || yielded {
		t.Fatalf("Yield with nobody waiting: %v, %v", yielded, err)
	}

	// Negative control first: a background job waits without asking.
	bg := make(chan error)
	go func() {
		_, err := Open(f.ctx, f.dir, Options{Now: f.clock.Now, BusyTimeout: 300 * time.Millisecond, Background: true})
		bg <- err
	}()
	for done := false; !done; {
		select {
		case err := <-bg:
			if !errors.Is(err, ErrBusy) {
				t.Fatalf("background open of a held vault: %v, want ErrBusy", err)
			}
			done = true
		default:
			if f.v.Contended() {
				t.Fatal("a background job waiting made the holder contended")
			}
			time.Sleep(time.Millisecond)
		}
	}

	// A user command waits, and asks.
	other := make(chan string)
	go func() {
		v, err := Open(f.ctx, f.dir, Options{Now: f.clock.Now, BusyTimeout: time.Minute})
		if err != nil {
			other <- "open: " + err.Error()
			return
		}
		n, err := v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session,
			Content: content("while the sweep waited", "b")}, f.alice)
		if err != nil {
			v.Close()
			other <- "add: " + err.Error()
			return
		}
		if err := v.Close(); err != nil {
			other <- "close: " + err.Error()
			return
		}
		other <- n.ID
	}()
	for !f.v.Contended() {
		time.Sleep(time.Millisecond)
	}
	yielded, err := f.v.Yield(f.ctx)
	if err != nil || !yielded {
		t.Fatalf("Yield with a process waiting: %v, %v", yielded, err)
	}
	id := <-other
	if _, err := f.v.GetNote(f.ctx, id); err != nil {
		t.Fatalf("after giving way, the note the other process wrote (%s): %v", id, err)
	}
	// The vault is ours again, and writable.
	f.add(policy.Session, f.alice, content("after", "b"))
	if f.v.Contended() {
		t.Fatal("still contended after the waiter got through")
	}
}

// Reclaim stops at once for a waiting process and finishes otherwise.
func TestReclaimStopsForAWaitingProcess(t *testing.T) {
	f := newFixture(t, true)
	if _, done, err := f.v.Reclaim(f.ctx); err != nil || !done {
		t.Fatalf("Reclaim on a quiet vault: done %v, %v", done, err)
	}
	waiting := make(chan error)
	go func() {
		v, err := Open(f.ctx, f.dir, Options{BusyTimeout: time.Minute})
		if err == nil {
			err = v.Close()
		}
		waiting <- err
	}()
	for !f.v.Contended() {
		time.Sleep(time.Millisecond)
	}
	if _, done, err := f.v.Reclaim(f.ctx); err != nil || done {
		t.Fatalf("Reclaim with a process waiting: done %v, %v; want it to stop", done, err)
	}
	f.close()
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
}
