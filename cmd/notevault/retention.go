package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

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

func newRetentionPlanCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "plan [--json]",
		Short: "Show, for every note, whether it is destroyed now, held or kept, and until when",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRetentionPlan(cmd.Context(), g, e)
		},
	}
}

func runRetentionPlan(ctx context.Context, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	now := v.Now()
	records, rules, holds, err := retention.Gather(ctx, v, now, true)
	if err != nil {
		return err
	}
	items, warnings := retention.Plan(records, rules, holds, now)
	printWarnings(e, warnings)
	if g.json {
		if items == nil {
			items = []retention.Item{}
		}
		return printJSON(e.stdout, items)
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
	dryRun bool
}

func newRetentionSweepCmd(g *globals, e *env) *cobra.Command {
	var opts retentionSweepOptions
	cmd := &cobra.Command{
		Use:   "sweep [--dry-run] [--json]",
		Short: "Destroy what is due now (needs no identity)",
		Long: `Destroy every note whose retention has ended and that no legal hold keeps,
the supervisors' copies of every grant that has ended, and keys an interrupted
run left behind. The sweep needs no participant's key and can read nothing;
run it from cron, a systemd timer or a Kubernetes CronJob (see
docs/examples). With --dry-run it changes nothing and says what it would do.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRetentionSweep(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "change nothing; say what would be destroyed")
	return cmd
}

func runRetentionSweep(ctx context.Context, opts retentionSweepOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	sum, err := retention.Sweep(ctx, v, retention.Options{DryRun: opts.dryRun})
	if err != nil {
		return err
	}
	printWarnings(e, sum.Warnings)
	if g.json {
		if sum.Destroyed == nil {
			sum.Destroyed = []vault.Receipt{}
		}
		if sum.Held == nil {
			sum.Held = []string{}
		}
		if sum.GrantsEnded == nil {
			sum.GrantsEnded = []string{}
		}
		if sum.Plan == nil {
			sum.Plan = []retention.Item{}
		}
		if sum.Warnings == nil {
			sum.Warnings = []string{}
		}
		return printJSON(e.stdout, sum)
	}
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
	next := "-"
	if !sum.NextDue.IsZero() {
		next = policy.FormatTime(sum.NextDue)
	}
	_, err = fmt.Fprintf(e.stdout, "%s %d notes, %s %d grants, %d held, next due %s\n",
		verb, len(sum.Destroyed), ended, len(sum.GrantsEnded), len(sum.Held), next)
	return err
}

type retentionDaemonOptions struct {
	every     string
	schedule  string
	logFormat string
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
to stderr.`,
		Args: exactArgs(),
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
	return cmd
}

func runRetentionDaemon(ctx context.Context, opts retentionDaemonOptions, g *globals, e *env) error {
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
	return retention.Daemon(ctx, open, sched, log, e.now)
}
