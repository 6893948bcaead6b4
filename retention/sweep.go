package retention

import (
	"context"
	"sort"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
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
}

// Store is what a sweep needs of the vault.
type Store interface {
	Now() time.Time
	DueNotes(ctx context.Context, now time.Time) (due, held []*vault.Note, err error)
	SweepNotes(ctx context.Context) ([]vault.Receipt, []*vault.Note, error)
	EndedGrants(ctx context.Context) (map[string]policy.Decision, error)
	SweepGrants(ctx context.Context) ([]string, error)
	Housekeep(ctx context.Context) (int, error)
	NextDue(ctx context.Context, now time.Time) (time.Time, error)
	Compact(ctx context.Context) (int, error)
}

// Sweep destroys every note whose retention has ended and no hold keeps, the
// supervisors' copies of every grant that has ended, and shred keys an
// interrupted run left behind. With dryRun it changes nothing and reports
// what it would do.
func Sweep(ctx context.Context, s Store, dryRun bool) (*Summary, error) {
	now := s.Now()
	sum := &Summary{DryRun: dryRun}
	if dryRun {
		due, held, err := s.DueNotes(ctx, now)
		if err != nil {
			return nil, err
		}
		for _, n := range due {
			sum.Destroyed = append(sum.Destroyed, vault.Receipt{Note: n.ID, Kind: n.Kind, Agreement: n.Agreement, At: now,
				Rule: "retention." + string(n.Kind)})
		}
		sum.Held = ids(held)
		ended, err := s.EndedGrants(ctx)
		if err != nil {
			return nil, err
		}
		for id := range ended {
			sum.GrantsEnded = append(sum.GrantsEnded, id)
		}
		sort.Strings(sum.GrantsEnded)
	} else {
		grants, err := s.SweepGrants(ctx)
		if err != nil {
			return nil, err
		}
		sum.GrantsEnded = grants
		destroyed, held, err := s.SweepNotes(ctx)
		if err != nil {
			return nil, err
		}
		sum.Destroyed, sum.Held = destroyed, ids(held)
		if sum.KeysCleaned, err = s.Housekeep(ctx); err != nil {
			return nil, err
		}
		// Destroyed records are unreadable already; compaction gives their
		// space back. It is paid only when something was destroyed.
		if len(sum.Destroyed) > 0 || len(sum.GrantsEnded) > 0 {
			if sum.VlogRewritten, err = s.Compact(ctx); err != nil {
				return nil, err
			}
		}
	}
	next, err := s.NextDue(ctx, now)
	if err != nil {
		return nil, err
	}
	sum.NextDue = next
	return sum, nil
}

func ids(ns []*vault.Note) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}
