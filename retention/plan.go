// Package retention decides when records expire and carries the decision
// out: Plan is a pure function of the records, the agreements' retention
// rules, the legal holds and the time; the sweep destroys exactly what the
// plan says is due; the daemon runs sweeps on a schedule. Nothing here holds
// or needs a participant's key.
package retention

import (
	"fmt"
	"sort"
	"time"

	"github.com/notevault/notevault/policy"
)

// Record is what the plan knows of one note: its metadata, whether the vault
// holds it, and where the expiry index files it.
type Record struct {
	ID        string
	Agreement string
	Version   int
	Kind      policy.Kind
	Created   time.Time
	Expires   time.Time // from the note's metadata
	// Held is the vault's verdict that a legal hold suspends the note's
	// expiry (vault.Note.Held). The plan never destroys a held note.
	Held bool
	// Indexed are the note's entries in the expiry index that were read
	// (whole seconds): normally one, at Expires. The sweep reads only the
	// entries up to now; retention plan reads them all.
	Indexed []time.Time
	// Orphan marks an index entry with no note behind it: only ID and
	// Indexed are set.
	Orphan bool
	// Problem says why the note failed verification (its signature, its
	// agreement's chain): it is neither destroyed nor planned on its word.
	Problem string
	// Closed and AfterClose are set when the agreement's close anchored the
	// note's expiry: Expires is then Closed + AfterClose, earlier than the
	// expiry its author signed.
	Closed     time.Time
	AfterClose time.Duration
}

// RuleKey names one retention rule: a kind of note under one version of an
// agreement.
type RuleKey struct {
	Agreement string
	Version   int
	Kind      policy.Kind
}

// Rules are the retention periods that the agreement versions set.
type Rules map[RuleKey]time.Duration

// Hold is an active legal hold. Note is empty for a hold on a whole
// agreement. Holds only name what keeps a held record; whether a record is
// held is its Held field.
type Hold struct {
	ID        string
	Agreement string
	Note      string
}

// Action is what the plan does with a record.
type Action string

const (
	Destroy Action = "destroy" // due now
	Held    Action = "held"    // due, but a legal hold keeps it
	Keep    Action = "keep"    // not due yet, or no sweep can find it
)

// Item is one line of a plan.
type Item struct {
	Note      string      `json:"note"`
	Agreement string      `json:"agreement"`
	Kind      policy.Kind `json:"kind"`
	Expires   time.Time   `json:"expires"` // when it is due
	Action    Action      `json:"action"`
	Rule      string      `json:"rule"`           // as the receipt names it: retention.session:365d
	Hold      string      `json:"hold,omitempty"` // the hold that keeps it
	Reason    string      `json:"reason"`
}

// Plan says, for every record, whether it is destroyed now, held, or kept,
// why, and under which rule; items come in order of when they are due. The
// warnings name every disagreement it saw between the expiry index, the
// note metadata and the agreements' rules.
//
// A record is destroyed when it is due by its metadata and by its
// agreement's rule (the later of the two counts when they disagree), an
// entry of the expiry index files it by now (that is how the sweep finds
// it), and it is not held.
func Plan(records []Record, rules Rules, holds []Hold, now time.Time) (items []Item, warnings []string) {
	recs := append([]Record(nil), records...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	warn := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	items = make([]Item, 0, len(recs))
	for _, r := range recs {
		if r.Orphan {
			for _, t := range r.Indexed {
				warn("the expiry index files note %s at %s, but there is no such note; run notevault check", r.ID, policy.FormatTime(t))
			}
			continue
		}
		if r.Problem != "" {
			warn("note %s is not swept: %s; run notevault check", r.ID, r.Problem)
			continue
		}
		period := r.Expires.Sub(r.Created)
		due := r.Expires
		terms := fmt.Sprintf("%s are kept %s under agreement %s version %d", r.Kind.Plural(), policy.FormatDuration(period), r.Agreement, r.Version)
		rule := ""
		if !r.Closed.IsZero() {
			// The close anchored it: the signed close and after_close set
			// the due time, earlier than the kind's period.
			terms = fmt.Sprintf("agreement %s was closed at %s and keeps notes %s after its close", r.Agreement, policy.FormatTime(r.Closed), policy.FormatDuration(r.AfterClose))
			rule = "retention.after_close:" + policy.FormatDuration(r.AfterClose)
		} else if p, ok := rules[RuleKey{r.Agreement, r.Version, r.Kind}]; !ok {
			warn("note %s: agreement %s version %d has no retention for %s that both parties accepted; the note's own expiry is used", r.ID, r.Agreement, r.Version, r.Kind.Plural())
		} else if p != period {
			byRule := r.Created.Add(p)
			warn("note %s expires at %s by its metadata, but agreement %s version %d keeps %s %s (until %s); it is kept until both have passed; run notevault check",
				r.ID, policy.FormatTime(r.Expires), r.Agreement, r.Version, r.Kind.Plural(), policy.FormatDuration(p), policy.FormatTime(byRule))
			terms = fmt.Sprintf("%s are kept %s under agreement %s version %d and %s by the note's metadata, whichever ends later",
				r.Kind.Plural(), policy.FormatDuration(p), r.Agreement, r.Version, policy.FormatDuration(period))
			if byRule.After(due) {
				due = byRule
			}
		}
		// The rule named is the period that set the due time.
		period = due.Sub(r.Created)
		filed := false
		for _, t := range r.Indexed {
			if t.Unix() != r.Expires.Unix() {
				warn("note %s is filed in the expiry index at %s, but its metadata says it expires at %s; run notevault check",
					r.ID, policy.FormatTime(t), policy.FormatTime(r.Expires))
			}
			if !t.After(now) {
				filed = true
			}
		}
		if len(r.Indexed) == 0 {
			warn("note %s is missing from the expiry index: it would never be swept; run notevault check", r.ID)
		}

		if rule == "" {
			rule = fmt.Sprintf("retention.%s:%s", r.Kind, policy.FormatDuration(period))
		}
		it := Item{Note: r.ID, Agreement: r.Agreement, Kind: r.Kind, Expires: due.UTC(), Rule: rule}
		if r.Held {
			it.Hold = holdOn(r, holds)
		}
		heldBy := "a legal hold"
		if it.Hold != "" {
			heldBy = it.Hold
		}
		switch {
		case now.Before(due) && r.Held:
			it.Action = Keep
			it.Reason = fmt.Sprintf("%s; due at %s, but held by %s", terms, policy.FormatTime(due), heldBy)
		case now.Before(due):
			it.Action = Keep
			it.Reason = fmt.Sprintf("%s; destroyed at %s", terms, policy.FormatTime(due))
		case r.Held:
			it.Action = Held
			it.Reason = fmt.Sprintf("%s; due since %s but held by %s", terms, policy.FormatTime(due), heldBy)
		case len(r.Indexed) == 0:
			it.Action = Keep
			it.Reason = fmt.Sprintf("%s; due since %s, but missing from the expiry index, so no sweep finds it", terms, policy.FormatTime(due))
		case !filed:
			it.Action = Keep
			it.Reason = fmt.Sprintf("%s; due since %s, but the expiry index files it later, so no sweep finds it before then", terms, policy.FormatTime(due))
		default:
			it.Action = Destroy
			it.Reason = fmt.Sprintf("%s; due since %s", terms, policy.FormatTime(due))
		}
		items = append(items, it)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Expires.Before(items[j].Expires) })
	return items, warnings
}

// holdOn names the first hold that covers r: one on the note itself, else
// one on its agreement.
func holdOn(r Record, holds []Hold) string {
	for _, h := range holds {
		if h.Note == r.ID {
			return h.ID
		}
	}
	for _, h := range holds {
		if h.Note == "" && h.Agreement == r.Agreement {
			return h.ID
		}
	}
	return ""
}
