package retention

import (
	"context"
	"sort"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/kek"
)

// Summary is what a sweep did (or, dry, would do).
type Summary struct {
	Destroyed   []vault.Receipt `json:"destroyed"`
	Held        []string        `json:"held"`
	GrantsEnded []string        `json:"grants_ended"`
	KeysCleaned int             `json:"keys_cleaned"`
	// VlogRewritten counts value-log files the maintenance after a sweep
	// rewrote to give back the space of destroyed records.
	VlogRewritten int       `json:"vlog_rewritten"`
	NextDue       time.Time `json:"next_due,omitzero"`
	DryRun        bool      `json:"dry_run"`
	// Plan is the plan the sweep carried out: every note the expiry index
	// files by now, with what was done to it and why.
	Plan []Item `json:"plan"`
	// Warnings are the disagreements the plan found in the store.
	Warnings []string `json:"warnings"`
	// LastActivity is the newest time the vault vouched for before the
	// sweep, which the clock was checked against.
	LastActivity time.Time `json:"last_activity,omitzero"`
}

// Store is what a sweep needs of the vault.
type Store interface {
	Source
	// ExpiryIndexPage is ExpiryIndex a page at a time, cut only where the
	// hour of expiry changes (vault.Vault.ExpiryIndexPage).
	ExpiryIndexPage(ctx context.Context, until time.Time, after string, limit int) ([]vault.IndexEntry, string, error)
	Now() time.Time
	LastActivity(ctx context.Context) (time.Time, error)
	MarkSwept(ctx context.Context, vouched time.Time) error
	SweepNotes(ctx context.Context, due []vault.Due) ([]vault.Receipt, error)
	EndedGrants(ctx context.Context) (map[string]policy.Decision, error)
	SweepGrants(ctx context.Context) ([]string, error)
	Housekeep(ctx context.Context) (int, error)
	// KeyEpoch turns a server's key-encryption key (vault.Vault.KeyEpoch).
	KeyEpoch(ctx context.Context) (kek.EpochReport, bool, error)
	NextDue(ctx context.Context, now time.Time) (time.Time, error)
	// Yield gives the vault to a process waiting for it and takes it back
	// (vault.Vault.Yield); it reports whether it did.
	Yield(ctx context.Context) (bool, error)
	// Reclaim merges tables and rewrites value-log files until done or
	// another process waits (vault.Vault.Reclaim).
	Reclaim(ctx context.Context) (int, bool, error)
}

// BatchSize is how many notes the sweep reads, plans and destroys at a time
// (a page of the expiry index, extended to the end of its hour) between two
// chances for another process to use the vault (Yield). Each note is
// verified (its author's signature, its place in the chain) before it is
// destroyed. Measured with 1,000,000 notes, 100,000 due, a page of 2,048
// held the vault at most 0.55 s, under the 1 s a command may wait for the
// sweep (go test -tags scale -run TestSweepScale ./vault).
var BatchSize = 2048

// Options tune a sweep.
type Options struct {
	// DryRun changes nothing and reports what the sweep would do.
	DryRun bool
	// MaxClockJump is how far past the vault's last activity the sweep
	// trusts the clock (see CheckClock); zero means DefaultMaxClockJump.
	MaxClockJump time.Duration
	// ClockJumpOK says an operator checked the clock: the sweep destroys
	// what it says is due, however far it is past the last activity.
	ClockJumpOK bool
}

// Sweep makes the retention plan for what the expiry index files by now
// (Gather, then Plan) and carries out exactly that plan: it destroys the
// notes the plan destroys, each with a receipt under the plan's rule. It
// also destroys the supervisors' copies of every grant that has ended, and
// shred keys an interrupted run left behind. With DryRun it changes nothing
// and reports what it would do.
//
// Before it acts, the plan is checked against the vault's last activity
// (CheckClock). When the check fails and ClockJumpOK is not set, Sweep
// returns the *ClockJumpError and, beside it, the summary of what it would
// have done; it has changed nothing and written nothing, so a wrong clock
// leaves no trace in the log. A sweep that acts marks the vault at its end
// (MarkSwept), vouching for its clock only when the clock was within
// MaxClockJump of the last activity or confirmed.
func Sweep(ctx context.Context, s Store, opts Options) (*Summary, error) {
	bound := opts.MaxClockJump
	if bound <= 0 {
		bound = DefaultMaxClockJump
	}
	now := s.Now()
	last, err := s.LastActivity(ctx)
	if err != nil {
		return nil, err
	}
	// A clock within bound of the last activity cannot fail CheckClock: a
	// note is destroyed only once due, so by now, and now is within the
	// bound. Then the sweep plans and destroys a page at a time, never
	// holding the vault for the whole plan. A dry run, or a clock that may
	// have jumped, needs the whole plan before anything is done.
	if !opts.DryRun && (opts.ClockJumpOK || last.IsZero() || !now.After(last.Add(bound))) {
		return sweepPaged(ctx, s, opts, now, last, bound)
	}
	records, rules, holds, err := Gather(ctx, s, now, false)
	if err != nil {
		return nil, err
	}
	items, warnings := Plan(records, rules, holds, now)
	sum := &Summary{DryRun: opts.DryRun, Plan: items, Warnings: warnings, LastActivity: last}
	var refused error
	if !opts.ClockJumpOK {
		refused = CheckClock(items, now, last, bound)
	}
	due := dueOf(sum, records, items)

	if opts.DryRun {
		for _, it := range items {
			if it.Action == Destroy {
				sum.Destroyed = append(sum.Destroyed, vault.Receipt{Note: it.Note, Kind: it.Kind, Agreement: it.Agreement,
					Rule: it.Rule, At: now})
			}
		}
		ended, err := s.EndedGrants(ctx)
		if err != nil {
			return nil, err
		}
		for id := range ended {
			sum.GrantsEnded = append(sum.GrantsEnded, id)
		}
		sort.Strings(sum.GrantsEnded)
	} else {
		if refused != nil {
			return sum, refused
		}
		if sum.GrantsEnded, err = s.SweepGrants(ctx); err != nil {
			return nil, err
		}
		regather := func() ([]Record, Rules, []Hold, error) { return Gather(ctx, s, now, false) }
		if err := sweepBatches(ctx, s, sum, due, items, now, regather); err != nil {
			return sum, err
		}
		if err := finish(ctx, s, sum, now, last, bound, opts); err != nil {
			return nil, err
		}
	}
	if sum.NextDue, err = s.NextDue(ctx, now); err != nil {
		return nil, err
	}
	return sum, refused
}

// dueOf returns the notes items destroys, with the index entries records
// read for each; the notes items holds join sum.Held.
func dueOf(sum *Summary, records []Record, items []Item) []vault.Due {
	index := map[string][]time.Time{}
	for _, r := range records {
		index[r.ID] = r.Indexed
	}
	var due []vault.Due
	for _, it := range items {
		switch it.Action {
		case Destroy:
			due = append(due, vault.Due{Note: it.Note, Rule: it.Rule, Index: index[it.Note]})
		case Held:
			sum.Held = append(sum.Held, it.Note)
		}
	}
	return due
}

// sweepPaged is Sweep a page of the expiry index at a time: each page is
// read (every note on it verified), planned and destroyed in batches, and
// the vault is given to any process that waits between pages, so that no
// stretch holds it for long whatever the number of notes due. Measured in
// docs/performance.md.
func sweepPaged(ctx context.Context, s Store, opts Options, now, last time.Time, bound time.Duration) (*Summary, error) {
	sum := &Summary{LastActivity: last}
	var err error
	if sum.GrantsEnded, err = s.SweepGrants(ctx); err != nil {
		return nil, err
	}
	cursor := ""
	for {
		entries, next, err := s.ExpiryIndexPage(ctx, now, cursor, BatchSize)
		if err != nil {
			return sum, err
		}
		records, rules, holds, err := Gather(ctx, page{s, entries}, now, false)
		if err != nil {
			return sum, err
		}
		items, warnings := Plan(records, rules, holds, now)
		sum.Plan = append(sum.Plan, items...)
		sum.Warnings = append(sum.Warnings, warnings...)
		if !opts.ClockJumpOK {
			if err := CheckClock(items, now, last, bound); err != nil {
				return sum, err
			}
		}
		from := cursor
		regather := func() ([]Record, Rules, []Hold, error) {
			entries, _, err := s.ExpiryIndexPage(ctx, now, from, BatchSize)
			if err != nil {
				return nil, nil, nil, err
			}
			return Gather(ctx, page{s, entries}, now, false)
		}
		if err := sweepBatches(ctx, s, sum, dueOf(sum, records, items), items, now, regather); err != nil {
			return sum, err
		}
		if next == "" {
			break
		}
		cursor = next
		if _, err := s.Yield(ctx); err != nil {
			return sum, err
		}
	}
	if err := finish(ctx, s, sum, now, last, bound, opts); err != nil {
		return nil, err
	}
	if sum.NextDue, err = s.NextDue(ctx, now); err != nil {
		return nil, err
	}
	return sum, nil
}

// finish is what a sweep that acted does last: destroy the shred keys an
// interrupted run left, give back the space of what it destroyed, and
// vouch for its clock.
func finish(ctx context.Context, s Store, sum *Summary, now, last time.Time, bound time.Duration, opts Options) error {
	var err error
	if sum.KeysCleaned, err = s.Housekeep(ctx); err != nil {
		return err
	}
	// A server's KEK turns with the sweep, so that what it destroyed is
	// unreadable from every backup once the window has passed.
	if _, _, err := s.KeyEpoch(ctx); err != nil {
		return err
	}
	// Destroyed records are unreadable already; compaction gives their
	// space back. It is paid only when something was destroyed, and it
	// stops as soon as another command wants the vault (the background
	// maintenance finishes it).
	if len(sum.Destroyed) > 0 || len(sum.GrantsEnded) > 0 {
		if sum.VlogRewritten, _, err = s.Reclaim(ctx); err != nil {
			return err
		}
	}
	return s.MarkSwept(ctx, vouch(now, last, bound, opts.ClockJumpOK))
}

// page is a Source whose expiry index is one page of the store's.
type page struct {
	Store
	entries []vault.IndexEntry
}

func (p page) ExpiryIndex(context.Context, time.Time) ([]vault.IndexEntry, error) {
	return p.entries, nil
}

// sweepBatches destroys due in batches of BatchSize notes, each a complete
// destruction with its intent and receipts, and gives the vault to any
// process waiting for it between batches. A batch ends only where the
// expiry hour changes, so that a shred-key bucket (one per hour of expiry)
// goes whole, with no re-wrap. After giving way, the notes left are planned
// again from the vault as it is then: a hold placed meanwhile keeps its
// note (it goes to sum.Held), and a note already gone is skipped.
//
// regather reads again what the notes left were planned from: the whole
// index up to now, or the page they came from.
func sweepBatches(ctx context.Context, s Store, sum *Summary, due []vault.Due, items []Item, now time.Time, regather func() ([]Record, Rules, []Hold, error)) error {
	expires := map[string]time.Time{}
	for _, it := range items {
		expires[it.Note] = it.Expires
	}
	for len(due) > 0 {
		n := min(BatchSize, len(due))
		for n < len(due) && sameHour(expires[due[n-1].Note], expires[due[n].Note]) {
			n++
		}
		rs, err := s.SweepNotes(ctx, due[:n])
		sum.Destroyed = append(sum.Destroyed, rs...)
		if err != nil {
			return err
		}
		due = due[n:]
		if len(due) == 0 {
			return nil
		}
		yielded, err := s.Yield(ctx)
		if err != nil {
			return err
		}
		if yielded {
			if due, err = replan(sum, due, now, regather); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameHour(a, b time.Time) bool { return a.Truncate(time.Hour).Equal(b.Truncate(time.Hour)) }

// replan keeps of left the notes that a fresh plan still destroys, with
// that plan's rules; those it now holds join sum.Held.
func replan(sum *Summary, left []vault.Due, now time.Time, regather func() ([]Record, Rules, []Hold, error)) ([]vault.Due, error) {
	records, rules, holds, err := regather()
	if err != nil {
		return nil, err
	}
	items, _ := Plan(records, rules, holds, now)
	want := map[string]bool{}
	for _, d := range left {
		want[d.Note] = true
	}
	index := map[string][]time.Time{}
	for _, r := range records {
		index[r.ID] = r.Indexed
	}
	var due []vault.Due
	for _, it := range items {
		if !want[it.Note] {
			continue
		}
		switch it.Action {
		case Destroy:
			due = append(due, vault.Due{Note: it.Note, Rule: it.Rule, Index: index[it.Note]})
		case Held:
			sum.Held = append(sum.Held, it.Note)
		}
	}
	return due, nil
}
