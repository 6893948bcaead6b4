package retention

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
)

// Source is what planning reads of the vault.
type Source interface {
	ExpiryIndex(ctx context.Context, until time.Time) ([]vault.IndexEntry, error)
	ListNotes(ctx context.Context, f vault.NoteFilter) ([]*vault.Note, error)
	GetAgreement(ctx context.Context, id string) (*vault.Agreement, error)
	Holds(ctx context.Context, agreementID string, id *identity.Identity) ([]*vault.Hold, error)
}

// Gather reads what Plan needs from the vault. With all false it reads what
// the sweep looks at: the expiry index up to now and the notes it files
// there, so its cost grows with what is due. With all true (retention plan)
// it reads every note and the whole index, so it also finds notes that are
// missing from the index. Rules come from the agreement versions both
// parties accepted; holds are read only for agreements with held notes.
func Gather(ctx context.Context, s Source, now time.Time, all bool) ([]Record, Rules, []Hold, error) {
	until := now
	if all {
		until = time.Time{}
	}
	entries, err := s.ExpiryIndex(ctx, until)
	if err != nil {
		return nil, nil, nil, err
	}
	byID := map[string]*Record{}
	var order []string
	add := func(id string) *Record {
		r, ok := byID[id]
		if !ok {
			r = &Record{ID: id}
			byID[id] = r
			order = append(order, id)
		}
		return r
	}
	fill := func(r *Record, n *vault.Note) {
		r.Agreement, r.Version, r.Kind = n.Agreement, n.Version, n.Kind
		r.Created, r.Expires, r.Held = n.Created, n.Expires, n.Held()
		if n.Anchor != nil {
			r.Closed, r.AfterClose = n.Anchor.Closed, n.Anchor.AfterClose
		}
	}
	for _, e := range entries {
		r := add(e.Note)
		r.Indexed = append(r.Indexed, e.At)
		switch {
		case e.Problem != "":
			r.Problem = e.Problem
		case e.Meta == nil:
			r.Orphan = true
		default:
			fill(r, e.Meta)
		}
	}
	if all {
		notes, err := s.ListNotes(ctx, vault.NoteFilter{})
		if err != nil {
			return nil, nil, nil, err
		}
		for _, n := range notes {
			if _, seen := byID[n.ID]; !seen {
				fill(add(n.ID), n)
			}
		}
	}

	records := make([]Record, 0, len(order))
	rules := Rules{}
	agreements := map[string]bool{}
	heldIn := map[string]bool{}
	for _, id := range order {
		r := byID[id]
		records = append(records, *r)
		if r.Orphan || r.Problem != "" {
			continue
		}
		if r.Held {
			heldIn[r.Agreement] = true
		}
		if agreements[r.Agreement] {
			continue
		}
		agreements[r.Agreement] = true
		a, err := s.GetAgreement(ctx, r.Agreement)
		if errors.Is(err, vault.ErrNotFound) {
			continue // Plan warns that no rule covers the note
		}
		if err != nil {
			return nil, nil, nil, err
		}
		for _, ver := range a.Versions {
			if !ver.AcceptedByBoth() {
				continue
			}
			// Every kind, including those added after the version was
			// written: the kinds table gives them their default period.
			t := a.Terms(ver)
			for _, kind := range policy.Kinds {
				if period := t.RetentionFor(kind); period > 0 {
					rules[RuleKey{a.ID, ver.Version, kind}] = period
				}
			}
		}
	}
	var holds []Hold
	for _, a := range slices.Sorted(maps.Keys(heldIn)) {
		hs, err := s.Holds(ctx, a, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, h := range hs {
			if h.Active() {
				holds = append(holds, Hold{ID: h.ID, Agreement: h.Agreement, Note: h.Note})
			}
		}
	}
	return records, rules, holds, nil
}
