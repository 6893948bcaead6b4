// Package retention decides when records expire and carries the decision
// out: Plan is a pure function of the records, their holds and the time; the
// sweep destroys what the plan says is due; the daemon runs sweeps on a
// schedule. Nothing here holds or needs a participant's key.
package retention

import (
	"fmt"
	"sort"
	"time"

	"github.com/notevault/notevault/policy"
)

// Record is what the plan needs of a note.
type Record struct {
	ID        string
	Agreement string
	Version   int
	Kind      policy.Kind
	Created   time.Time
	Expires   time.Time
	Holds     []string
}

// Action is what the plan does with a record.
type Action string

const (
	Destroy Action = "destroy" // due now
	Held    Action = "held"    // due, but a legal hold keeps it
	Keep    Action = "keep"    // not due yet
)

// Item is one line of a plan.
type Item struct {
	Note      string      `json:"note"`
	Agreement string      `json:"agreement"`
	Kind      policy.Kind `json:"kind"`
	Expires   time.Time   `json:"expires"`
	Action    Action      `json:"action"`
	Rule      string      `json:"rule"`
	Reason    string      `json:"reason"`
}

// Plan says, for every record, whether it is destroyed now, held, or kept
// until its expiry, and under which rule. Items come in order of expiry.
func Plan(records []Record, now time.Time) []Item {
	out := make([]Item, 0, len(records))
	for _, r := range records {
		period := r.Expires.Sub(r.Created)
		it := Item{Note: r.ID, Agreement: r.Agreement, Kind: r.Kind, Expires: r.Expires.UTC(),
			Rule: fmt.Sprintf("retention.%s:%s", r.Kind, period)}
		rule := fmt.Sprintf("%s are kept %s under agreement %s version %d", r.Kind.Plural(), policy.FormatDuration(period), r.Agreement, r.Version)
		switch {
		case now.Before(r.Expires):
			it.Action = Keep
			it.Reason = fmt.Sprintf("%s; destroyed at %s", rule, policy.FormatTime(r.Expires))
		case len(r.Holds) > 0:
			it.Action = Held
			it.Reason = fmt.Sprintf("%s; due since %s but held by %s", rule, policy.FormatTime(r.Expires), r.Holds[0])
		default:
			it.Action = Destroy
			it.Reason = fmt.Sprintf("%s; due since %s", rule, policy.FormatTime(r.Expires))
		}
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out
}
