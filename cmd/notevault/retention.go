package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/retention"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/agreement"
)

func newRetentionCmd(g *globals, e *env) *cobra.Command {
	return group("retention", "Plan and run the destruction of records whose retention has ended",
		newRetentionPlanCmd(g, e),
		newRetentionSweepCmd(g, e),
		newRetentionDaemonCmd(g, e),
	)
}

// clockJumpHelp is the safeguard's rule, as every retention command's help
// gives it.
const clockJumpHelp = `A clock that jumped ahead would destroy notes early, so the sweep checks its
clock against the vault's last activity: the newest audit record written by
anyone but the sweep, or the last sweep whose own clock was within the bound
(or confirmed). It refuses, exit 1, destroying and writing nothing, when the
plan would destroy a note due more than --max-clock-jump (default 7d) after
that last activity; once you have checked the clock, run
"notevault retention sweep --clock-jump-ok" to destroy what it says is due.
A daemon or a cron job that sweeps more often than the bound never trips it,
however quiet the vault; a sweep that has not run for longer than the bound
may ask once.`

type retentionPlanOptions struct {
	maxClockJump string
}

func newRetentionPlanCmd(g *globals, e *env) *cobra.Command {
	var opts retentionPlanOptions
	cmd := &cobra.Command{
		Use:   "plan [--json]",
		Short: "Show, for every note, whether it is destroyed now, held or kept, and until when",
		Long: `Show the retention plan for every note: destroy (due now), held (due, but a
legal hold keeps it) or keep (not due yet), the rule as the agreement writes
it (retention.session:365d) and the reason. It is the plan the sweep carries
out. Warnings on stderr name every disagreement between the expiry index and
the notes: this command reads every note, so it also finds notes missing from
the index, which no sweep would ever find. When the sweep would refuse to act
on the clock, it says so.

` + clockJumpHelp,
		Args: exactArgs(),
		Example: `  notevault retention plan
  notevault retention plan --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRetentionPlan(cmd.Context(), opts, g, e)
		},
	}
	maxClockJumpFlag(cmd, &opts.maxClockJump)
	return cmd
}

// maxClockJumpFlag declares --max-clock-jump.
func maxClockJumpFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "max-clock-jump", "7d", "trust the clock up to `DURATION` past the vault's last activity")
}

func parseMaxClockJump(s string) (time.Duration, error) {
	d, err := agreement.ParseDuration(s)
	if err != nil {
		return 0, usagef("--max-clock-jump: %s", message(err))
	}
	if d <= 0 {
		return 0, usagef("--max-clock-jump %q: must be longer than zero", s)
	}
	return d, nil
}

func runRetentionPlan(ctx context.Context, opts retentionPlanOptions, g *globals, e *env) (err error) {
	bound, err := parseMaxClockJump(opts.maxClockJump)
	if err != nil {
		return err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	now := v.Now()
	last, err := v.LastActivity(ctx)
	if err != nil {
		return err
	}
	records, rules, holds, err := retention.Gather(ctx, v, now, true)
	if err != nil {
		return err
	}
	items, warnings := retention.Plan(records, rules, holds, now)
	if err := retention.CheckClock(items, now, last, bound); err != nil {
		warnings = append(warnings, message(err))
	}
	printWarnings(e, warnings)
	if g.json {
		return printJSON(e.stdout, planJSON(items))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "NOTE\tKIND\tAGREEMENT\tEXPIRES\tACTION\tRULE\tREASON")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Note, it.Kind, it.Agreement, fmtTime(it.Expires), it.Action, it.Rule, it.Reason)
	}
	return tw.Flush()
}

// printWarnings says on stderr what the retention plan found wrong in the
// store.
func printWarnings(e *env, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "notevault: warning: %s\n", w)
	}
}

type retentionSweepOptions struct {
	dryRun       bool
	verbose      bool
	clockJumpOK  bool
	maxClockJump string
}

func newRetentionSweepCmd(g *globals, e *env) *cobra.Command {
	var opts retentionSweepOptions
	cmd := &cobra.Command{
		Use:   "sweep [--dry-run] [--verbose | --json] [--clock-jump-ok] [--max-clock-jump DURATION]",
		Short: "Destroy what is due now (needs no identity)",
		Long: `Destroy every note whose retention has ended and that no legal hold keeps,
the supervisors' copies of every grant that has ended, and keys an interrupted
run left behind. The sweep needs no participant's key and can read nothing;
run it from cron, a systemd timer or a Kubernetes CronJob (see
docs/examples). It carries out the plan that retention plan shows, reading
only what is due. With --dry-run it changes nothing and says what it would do
(and exits 1 if the sweep would refuse to act on the clock).

It prints one summary line, for a cron log:

  swept: 2 notes destroyed, 1 grant ended, 1 held; next due 2027-01-01T00:00Z

--verbose first lists every note destroyed or kept under a hold and every
grant ended; --json prints all of it and the plan (docs/json.md).

` + clockJumpHelp,
		Args: exactArgs(),
		Example: `  notevault retention sweep --dry-run
  notevault retention sweep
  notevault retention sweep --verbose
  notevault --vault /var/lib/notevault retention sweep --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRetentionSweep(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.dryRun, "dry-run", false, "change nothing; say what would be destroyed")
	f.BoolVar(&opts.verbose, "verbose", false, "list every note destroyed or held and every grant ended")
	f.BoolVar(&opts.clockJumpOK, "clock-jump-ok", false, "the clock is checked and right: destroy what it says is due, however far past the last activity")
	maxClockJumpFlag(cmd, &opts.maxClockJump)
	return cmd
}

func runRetentionSweep(ctx context.Context, opts retentionSweepOptions, g *globals, e *env) (err error) {
	bound, err := parseMaxClockJump(opts.maxClockJump)
	if err != nil {
		return err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	sum, err := retention.Sweep(ctx, v, retention.Options{DryRun: opts.dryRun, MaxClockJump: bound, ClockJumpOK: opts.clockJumpOK})
	var jump *retention.ClockJumpError
	if errors.As(err, &jump) {
		err = withHint(err, "if the clock is right, run notevault retention sweep --clock-jump-ok")
		if !opts.dryRun {
			printWarnings(e, sum.Warnings)
			return err
		}
	} else if err != nil {
		return err
	}
	refused := err
	printWarnings(e, sum.Warnings)
	if g.json {
		if err := printJSON(e.stdout, sweepSummaryJSON(sum, refused)); err != nil {
			return err
		}
		return refused
	}
	if opts.verbose {
		printSweepItems(e, sum)
	}
	if _, err := fmt.Fprintln(e.stdout, sweepLine(sum)); err != nil {
		return err
	}
	return refused
}

// sweepLine is what a sweep prints by default, one line for a cron log:
// "swept: 2 notes destroyed, 1 grant ended, 1 held; next due 2027-01-01T00:00Z".
// docs/examples/crontab quotes it.
func sweepLine(sum *retention.Summary) string {
	lead, destroyed, ended := "swept", "destroyed", "ended"
	if sum.DryRun {
		lead, destroyed, ended = "dry run", "would be destroyed", "would end"
	}
	next := "no note due later"
	if !sum.NextDue.IsZero() {
		next = "next due " + policy.FormatTime(sum.NextDue)
	}
	return fmt.Sprintf("%s: %s %s, %s %s, %d held; %s", lead,
		plural(len(sum.Destroyed), "note"), destroyed, plural(len(sum.GrantsEnded), "grant"), ended, len(sum.Held), next)
}

// plural is "1 note" or "2 notes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// printSweepItems lists, for --verbose, every note the sweep destroyed or
// kept under a hold and every grant it ended, one line each.
func printSweepItems(e *env, sum *retention.Summary) {
	verb, ended, copiesGone := "destroyed", "ended", "; its copies are destroyed"
	if sum.DryRun {
		verb, ended, copiesGone = "would destroy", "would end", " and destroy its copies"
	}
	for _, r := range sum.Destroyed {
		fmt.Fprintf(e.stdout, "%s note %s (%s, agreement %s) under %s\n", verb, r.Note, r.Kind, r.Agreement, r.Rule)
	}
	for _, id := range sum.GrantsEnded {
		fmt.Fprintf(e.stdout, "%s grant %s%s\n", ended, id, copiesGone)
	}
	for _, it := range sum.Plan {
		if it.Action == retention.Held {
			hold := it.Hold
			if hold == "" {
				hold = "a legal hold"
			}
			fmt.Fprintf(e.stdout, "kept note %s (%s, agreement %s) under %s: held by %s\n", it.Note, it.Kind, it.Agreement, it.Rule, hold)
		}
	}
}

type retentionDaemonOptions struct {
	every        string
	schedule     string
	logFormat    string
	maxClockJump string
}

func newRetentionDaemonCmd(g *globals, e *env) *cobra.Command {
	var opts retentionDaemonOptions
	cmd := &cobra.Command{
		Use:   "daemon [--every DURATION | --schedule CRON] [--log-format text|json]",
		Short: "Run sweeps on a schedule until SIGTERM or SIGINT, then exit 0",
		Long: `Run a sweep at once and then on a schedule until SIGTERM or SIGINT; a sweep
in flight finishes first, then the daemon exits 0. The vault is opened for
each sweep only, so other commands can use it in between. A sweep that fails
(the vault busy, a disk error) is logged and retried at the next tick. Logs go
to stderr.

` + clockJumpHelp + `
The daemon logs each refusal as an error ("sweep refused") and keeps running.`,
		Args: exactArgs(),
		Example: `  notevault retention daemon --every 1h
  notevault retention daemon --schedule "17 3 * * *" --log-format json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("every") && cmd.Flags().Changed("schedule") {
				return usagef("%s: give --every or --schedule, not both", cmd.CommandPath())
			}
			return runRetentionDaemon(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.every, "every", "1h", "sweep every `DURATION` (1h, 30m, 1d)")
	f.StringVar(&opts.schedule, "schedule", "", "sweep on a five-field `CRON` expression (or @hourly, @daily)")
	f.StringVar(&opts.logFormat, "log-format", "text", "text or json")
	maxClockJumpFlag(cmd, &opts.maxClockJump)
	return cmd
}

func runRetentionDaemon(ctx context.Context, opts retentionDaemonOptions, g *globals, e *env) error {
	bound, err := parseMaxClockJump(opts.maxClockJump)
	if err != nil {
		return err
	}
	var sched retention.Schedule
	if opts.schedule != "" {
		s, err := retention.ParseCron(opts.schedule)
		if err != nil {
			return usagef("--schedule: %s", message(err))
		}
		sched = s
	} else {
		d, err := agreement.ParseDuration(opts.every)
		if err != nil {
			return usagef("--every: %s", message(err))
		}
		sched = retention.Every(d)
	}
	if gap := longestGap(sched, e.now()); gap > bound {
		return usagef("the schedule leaves up to %s between sweeps, more than --max-clock-jump %s: sweeps after such a gap would refuse to act; raise --max-clock-jump",
			policy.FormatDuration(gap), policy.FormatDuration(bound))
	}
	var h slog.Handler
	switch opts.logFormat {
	case "text":
		h = slog.NewTextHandler(e.stderr, nil)
	case "json":
		h = slog.NewJSONHandler(e.stderr, nil)
	default:
		return usagef("--log-format %q: must be text or json", opts.logFormat)
	}
	dir, err := g.dir(e)
	if err != nil {
		return err
	}
	// Fail at once, with the usual message and exit code, when there is no
	// vault at all; a busy vault is the daemon's to retry.
	if v, err := openVault(ctx, g, e); err == nil {
		if err := v.Close(); err != nil {
			return fmt.Errorf("closing the vault: %w", err)
		}
	} else if !errors.Is(err, vault.ErrBusy) {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(h).With("vault", dir)
	open := func(ctx context.Context) (*vault.Vault, error) { return openVault(ctx, g, e) }
	return retention.Daemon(ctx, open, sched, retention.Options{MaxClockJump: bound}, log, e.now)
}

// longestGap is the longest time between the next few sweeps of sched.
func longestGap(sched retention.Schedule, now time.Time) time.Duration {
	var longest time.Duration
	t := sched.Next(now)
	for range 8 {
		next := sched.Next(t)
		longest = max(longest, next.Sub(t))
		t = next
	}
	return longest
}
