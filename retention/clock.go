package retention

import (
	"fmt"
	"time"

	"github.com/notevault/notevault/policy"
)

// DefaultMaxClockJump is how far past the vault's last activity the sweep
// trusts the clock unless told otherwise.
const DefaultMaxClockJump = 7 * 24 * time.Hour

// ClockJumpError is the sweep's refusal to act on a clock that may have
// jumped ahead: the plan would destroy notes that fall due more than Bound
// after the vault's last activity, and nothing vouches for the clock having
// really got that far.
type ClockJumpError struct {
	Now          time.Time
	LastActivity time.Time
	Bound        time.Duration
	Notes        int  // planned destructions due after LastActivity+Bound
	First        Item // the earliest of them
}

func (e *ClockJumpError) Error() string {
	return fmt.Sprintf("the clock reads %s, %s after the vault's last activity at %s, and the sweep would destroy %d notes due more than %s after that (the first, %s, due %s): refusing, since a clock that jumped ahead would destroy them early",
		policy.FormatTime(e.Now), policy.FormatDuration(e.Now.Sub(e.LastActivity)), policy.FormatTime(e.LastActivity),
		e.Notes, policy.FormatDuration(e.Bound), e.First.Note, policy.FormatTime(e.First.Expires))
}

// CheckClock is the sweep's safeguard against a clock that jumped ahead. It
// returns a *ClockJumpError when the plan destroys a note due more than
// bound after lastActivity: a note that would not be due yet if the clock
// had moved on by no more than bound since the vault last saw it move. A
// vault with no activity at all (zero lastActivity) has nothing to compare
// with.
func CheckClock(items []Item, now, lastActivity time.Time, bound time.Duration) error {
	if lastActivity.IsZero() {
		return nil
	}
	limit := lastActivity.Add(bound)
	var e *ClockJumpError
	for _, it := range items {
		if it.Action != Destroy || !it.Expires.After(limit) {
			continue
		}
		if e == nil {
			e = &ClockJumpError{Now: now, LastActivity: lastActivity, Bound: bound, First: it}
		}
		if it.Expires.Before(e.First.Expires) {
			e.First = it
		}
		e.Notes++
	}
	if e == nil {
		return nil
	}
	return e
}

// vouch is the time a finished sweep vouches for: its clock, when that was
// within bound of the vault's last activity or the operator confirmed it;
// otherwise nothing new (zero), so that a clock that jumped ahead while
// nothing was due cannot make itself the reference for the next sweep.
func vouch(now, lastActivity time.Time, bound time.Duration, confirmed bool) time.Time {
	if confirmed || lastActivity.IsZero() || !now.After(lastActivity.Add(bound)) {
		return now
	}
	return time.Time{}
}
