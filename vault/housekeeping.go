package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Housekeeping (merging badger's tables, rewriting value-log files) never
// makes a user command wait. A user command's own Close leaves it alone; a
// process with time to spare (the detached `notevault maintenance` the CLI
// starts after a writing command, the retention daemon) runs it with
// Maintain, and the sweep works in batches with Yield between them. Both
// give the vault up as soon as another process asks for it.
//
// How a process asks: one that finds the vault locked holds a shared flock
// on waitFile while it waits; the holder tests for it with a non-blocking
// exclusive flock (Contended), a pair of system calls.
const waitFile = "lock.wait"

// maintenancePoll is how often Maintain looks for a waiting process and
// for the end of the work.
const maintenancePoll = 2 * time.Millisecond

// announceWait takes a shared flock on the vault's wait file, which tells the
// holder of the vault that someone waits. The caller closes the file when it
// stops waiting. A failure only loses the hint: the caller still waits.
func announceWait(dir string) *os.File {
	f, err := os.OpenFile(filepath.Join(dir, waitFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	for range 3 {
		// The holder's test takes the exclusive lock for an instant; retry.
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
			return f
		}
		time.Sleep(100 * time.Microsecond)
	}
	f.Close()
	return nil
}

// Contended reports whether another process is waiting for the vault.
func (v *Vault) Contended() bool { return v.contended(v.waitF) }

func (v *Vault) contended(w *os.File) bool {
	if w == nil {
		return false
	}
	err := syscall.Flock(int(w.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(w.Fd()), syscall.LOCK_UN)
	return false
}

// handOver bounds how long Yield waits for a waiting process to take the
// vault before it asks for the vault again.
const handOver = time.Second

// NeedsMaintenance reports whether the store has compaction to do that
// Close leaves undone: a level past its target size, or more than
// Options.CompactAt tables at level 0 that Close will not merge. A command
// checks it before Close and, if so, leaves the work to a detached
// `notevault maintenance`.
func (v *Vault) NeedsMaintenance() bool {
	if v.db == nil {
		return false
	}
	v.mu.Lock()
	flush := 0
	if v.wrote {
		flush = 1 // the table Close will flush
	}
	v.mu.Unlock()
	for _, l := range v.db.Levels() {
		if l.Level == 0 {
			if !v.compactOnClose && l.NumTables+flush > v.opts.CompactAt {
				return true
			}
			continue
		}
		if l.Adjusted >= 1.0 {
			return true
		}
	}
	return false
}

// Maintain lets badger's compactors merge tables until they have nothing
// left to do (settled), ctx ends or another process waits for the vault. It returns whether the work
// is done. Waiting for a process that asked costs that process at most the
// compaction step under way, which the store's table sizes keep small (see
// badgerOptions).
func (v *Vault) Maintain(ctx context.Context) (bool, error) {
	for {
		if v.settled() {
			return true, nil
		}
		if ctx.Err() != nil || v.Contended() {
			return false, nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(maintenancePoll):
		}
	}
}

// settled reports whether badger's compactors have nothing left they would
// do: no level's adjusted score (what they act on) at 1 or above.
func (v *Vault) settled() bool {
	if v.db == nil {
		return true
	}
	for _, l := range v.db.Levels() {
		if l.Adjusted >= 1.0 {
			return false
		}
	}
	return true
}

// Yield gives the vault to a process waiting for it, if there is one: it
// closes the vault as Close does (checkpoint, store, pin), waits for the
// lock again and reopens and re-verifies the vault as a new process would,
// trusting nothing it read before. A long job (the sweep's batches) calls
// it between steps that each leave the vault consistent. With no one
// waiting it costs two system calls. It reports whether it gave way: then
// anything read before may have changed.
func (v *Vault) Yield(ctx context.Context) (bool, error) {
	if !v.Contended() {
		return false, nil
	}
	// Keep the wait file open across Close, to see the waiting process
	// take the vault (it lets its wait file go once it holds the lock).
	w := v.waitF
	v.waitF = nil
	defer w.Close()
	if err := v.Close(); err != nil {
		return true, err
	}
	for deadline := time.Now().Add(handOver); time.Now().Before(deadline) && v.contended(w); {
		time.Sleep(200 * time.Microsecond)
	}
	opts := v.opts
	opts.BusyTimeout = yieldTimeout
	nv, err := open(ctx, v.dir, opts, false)
	if err != nil {
		return true, fmt.Errorf("reopening the vault after giving way: %w", err)
	}
	v.adopt(nv)
	return true, nil
}

// level0AtOpen counts the level-0 tables the store's MANIFEST lists (zero
// if it cannot be read: badger's open then says what is wrong).
func level0AtOpen(opt badger.Options) int {
	m, err := readManifest(filepath.Join(opt.Dir, manifestFile), opt)
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range m.Tables {
		if t.Level == 0 {
			n++
		}
	}
	return n
}

// yieldTimeout bounds how long Yield waits to get the vault back.
const yieldTimeout = 10 * time.Minute

// adopt makes v the freshly opened nv (Yield): every field but the
// mutexes, which are free as v is closed and nv not shared.
func (v *Vault) adopt(nv *Vault) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.headsMu.Lock()
	defer v.headsMu.Unlock()
	v.store, v.db, v.keys, v.lock, v.waitF, v.ckKey = nv.store, nv.db, nv.keys, nv.lock, nv.waitF, nv.ckKey
	v.queued, v.wrote, v.trust, v.failed = nv.queued, nv.wrote, nv.trust, nv.failed
	v.heads, v.verified, v.pending = nv.heads, nv.verified, nv.pending
	v.pinPath, v.pinAbs, v.pinned = nv.pinPath, nv.pinAbs, nv.pinned
	v.compactOnClose, v.closed = nv.compactOnClose, false
}

// Reclaim gives back the space of destroyed records and merges badger's
// tables, without holding the vault for long: value-log files are rewritten
// one per step and the compactors merge tables (Maintain), and it stops as
// soon as another process waits for the vault. Destroyed records are
// unreadable already; this is housekeeping, not security. It returns how
// many value-log files were rewritten and whether the work is done (false:
// it stopped for another process or ctx).
func (v *Vault) Reclaim(ctx context.Context) (int, bool, error) {
	n := 0
	for v.db != nil {
		if ctx.Err() != nil || v.Contended() {
			return n, false, nil
		}
		err := v.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			break
		}
		if err != nil {
			return n, false, fmt.Errorf("value-log GC: %w", err)
		}
		n++
	}
	done, err := v.Maintain(ctx)
	return n, done, err
}
