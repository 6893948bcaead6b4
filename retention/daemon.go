package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/notevault/notevault/vault"
)

// Schedule says when the next sweep runs.
type Schedule interface {
	Next(after time.Time) time.Time
}

// Every is a fixed interval.
type Every time.Duration

// Next implements Schedule.
func (e Every) Next(after time.Time) time.Time { return after.Add(time.Duration(e)) }

// ParseCron parses a standard five-field cron expression (or @hourly, @daily
// and the other descriptors).
func ParseCron(expr string) (Schedule, error) {
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q is not a cron expression: %v", expr, err)
	}
	return s, nil
}

// Opener opens the vault for one sweep; the daemon closes it right after, so
// other commands can use the vault between sweeps.
type Opener func(ctx context.Context) (*vault.Vault, error)

// Daemon runs a sweep at once and then on schedule until ctx is cancelled
// (SIGTERM or SIGINT in the CLI). A sweep in flight finishes first; Daemon then
// returns nil. A sweep that fails (the vault busy, a disk error) is logged and
// retried at the next tick. A sweep refused because the clock may have jumped
// ahead (ClockJumpError) is logged as an error every time, and the daemon
// keeps running: an operator who has checked the clock confirms with one
// sweep run with Options.ClockJumpOK (retention sweep --clock-jump-ok).
func Daemon(ctx context.Context, open Opener, sched Schedule, opts Options, log *slog.Logger, now func() time.Time) error {
	opts.DryRun, opts.ClockJumpOK = false, false
	for {
		runOnce(ctx, open, opts, log)
		next := sched.Next(now())
		log.Info("next sweep", "at", next.UTC().Format(time.RFC3339))
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			log.Info("stopping")
			return nil
		case <-t.C:
		}
	}
}

func runOnce(ctx context.Context, open Opener, opts Options, log *slog.Logger) {
	start := time.Now()
	// The sweep itself is not cancelled by a signal: it finishes first.
	sweepCtx := context.WithoutCancel(ctx)
	v, err := open(sweepCtx)
	if err != nil {
		level := slog.LevelError
		if errors.Is(err, vault.ErrBusy) {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "sweep skipped", "error", err.Error())
		return
	}
	sum, err := Sweep(sweepCtx, v, opts)
	cerr := v.Close()
	if sum != nil {
		for _, w := range sum.Warnings {
			log.Warn("retention plan", "warning", w)
		}
	}
	var jump *ClockJumpError
	if errors.As(err, &jump) {
		log.Error("sweep refused", "error", err.Error(), "last_activity", jump.LastActivity.Format(time.RFC3339),
			"notes", jump.Notes, "hint", "if the clock is right, confirm with one run of notevault retention sweep --clock-jump-ok")
		if cerr != nil {
			log.Error("closing the vault failed", "error", cerr.Error())
		}
		return
	}
	if err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("sweep failed", "error", err.Error())
		return
	}
	attrs := []any{"destroyed", len(sum.Destroyed), "held", len(sum.Held), "grants_ended", len(sum.GrantsEnded),
		"keys_cleaned", sum.KeysCleaned, "took", time.Since(start).Round(time.Millisecond).String()}
	if !sum.NextDue.IsZero() {
		attrs = append(attrs, "next_due", sum.NextDue.Format(time.RFC3339))
	}
	log.Info("sweep done", attrs...)
}
