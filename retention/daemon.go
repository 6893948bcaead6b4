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
// retried at the next tick.
func Daemon(ctx context.Context, open Opener, sched Schedule, log *slog.Logger, now func() time.Time) error {
	for {
		runOnce(ctx, open, log)
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

func runOnce(ctx context.Context, open Opener, log *slog.Logger) {
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
	sum, err := Sweep(sweepCtx, v, Options{})
	cerr := v.Close()
	if err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("sweep failed", "error", err.Error())
		return
	}
	for _, w := range sum.Warnings {
		log.Warn("retention plan", "warning", w)
	}
	attrs := []any{"destroyed", len(sum.Destroyed), "held", len(sum.Held), "grants_ended", len(sum.GrantsEnded),
		"keys_cleaned", sum.KeysCleaned, "took", time.Since(start).Round(time.Millisecond).String()}
	if !sum.NextDue.IsZero() {
		attrs = append(attrs, "next_due", sum.NextDue.Format(time.RFC3339))
	}
	log.Info("sweep done", attrs...)
}
