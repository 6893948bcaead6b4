package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault"
)

func newHoldCmd(g *globals, e *env) *cobra.Command {
	return group("hold", "Place, release and list legal holds",
		newHoldAddCmd(g, e),
		newHoldReleaseCmd(g, e),
		newHoldListCmd(g, e),
	)
}

type holdAddOptions struct {
	agreement string
	note      string
	reason    string
	review    string
}

func newHoldAddCmd(g *globals, e *env) *cobra.Command {
	var opts holdAddOptions
	cmd := &cobra.Command{
		Use:     "add (--agreement ID | --note NOTE) --reason TEXT [--review DATE] -i FILE",
		Aliases: []string{"place"},
		Short:   "Place a legal hold on a note or a whole agreement; print the hold id",
		Long: `Place a legal hold on one note (--note) or on every note of an agreement
(--agreement, including notes written while the hold lasts), and print the
hold id. While the hold is active the notes it covers are not destroyed,
whatever their retention says.

Holds are placed by the agreement's mentor, its mentee, or a custodian it
names (holds.custodians); a supervisor who is not a custodian cannot hold.
A hold is released only by whoever placed it or by a custodian. --review
records when the hold is to be reviewed (a date, an RFC 3339 time or a
duration from now); hold list shows it and marks the hold once the date has
come. The date ends nothing by itself: only a release does.`,
		Args: exactArgs(),
		Example: `  notevault hold add --agreement a-5znce28d4shyt7ma --reason "Legal request 2026-114" -i alice.key
  notevault hold add --note n-jvr6sxxs6k3tc9uh --reason "Complaint under review" --review 2027-01-15 -i bob.key
  notevault hold place --note n-jvr6sxxs6k3tc9uh --reason "Complaint under review" --review 90d -i alice.key`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("agreement") == cmd.Flags().Changed("note") {
				return usagef("%s: give exactly one of --agreement and --note", cmd.CommandPath())
			}
			if err := requireFlags(cmd, "reason"); err != nil {
				return err
			}
			return runHoldAdd(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "hold every note of agreement `ID`")
	f.StringVar(&opts.note, "note", "", "hold the note `NOTE`")
	f.StringVar(&opts.reason, "reason", "", "why the hold is placed (recorded)")
	f.StringVar(&opts.review, "review", "", "review the hold by `DATE`: a date (its start, UTC), an RFC 3339 time, or a duration from now (90d)")
	return cmd
}

func runHoldAdd(ctx context.Context, opts holdAddOptions, g *globals, e *env) (err error) {
	review, err := parseFuture("--review", opts.review, e.now())
	if err != nil {
		return err
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	h, err := v.PlaceHold(ctx, vault.HoldRequest{Agreement: opts.agreement, Note: opts.note, Reason: opts.reason, Review: review}, id)
	if err != nil {
		return err
	}
	what := "every note of agreement " + h.Agreement
	if h.Note != "" {
		what = "note " + h.Note
	}
	due := ""
	if !h.Review.IsZero() {
		due = "; review it by " + fmtTime(h.Review)
	}
	fmt.Fprintf(e.stderr, "notevault: %s placed a hold on %s; it is kept until the hold is released%s\n", h.PlacedBy, what, due)
	fmt.Fprintln(e.stdout, h.ID)
	return nil
}

func newHoldReleaseCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "release HOLD -i FILE",
		Short: "Release a legal hold; the next sweep destroys what is overdue",
		Long: `Release a legal hold. Only whoever placed it, or a custodian the agreement
names (holds.custodians), may: the mentor and the mentee cannot lift each
other's holds. The next sweep destroys what the hold kept past its expiry.`,
		Args: exactArgs("HOLD"),
		Example: `  notevault hold release h-7xw2p9r4m6kq3zt8 -i alice.key
  notevault retention sweep --dry-run   # what the next sweep destroys`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHoldRelease(cmd.Context(), args[0], g, e)
		},
	}
}

func runHoldRelease(ctx context.Context, holdID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if err := v.ReleaseHold(ctx, holdID, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: hold %s released; the next sweep destroys what is overdue\n", holdID)
	return nil
}

type holdListOptions struct {
	agreement string
}

func newHoldListCmd(g *globals, e *env) *cobra.Command {
	var opts holdListOptions
	cmd := &cobra.Command{
		Use:   "list [--agreement ID]",
		Short: "List legal holds, active and released",
		Args:  exactArgs(),
		Example: `  notevault hold list
  notevault hold list --agreement a-5znce28d4shyt7ma --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runHoldList(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "only the holds of agreement `ID`")
	return cmd
}

func holdStatus(h *vault.Hold) string {
	if h.Active() {
		return "active"
	}
	return "released"
}

// holdReview is the REVIEW column: the date, marked once it has come.
func holdReview(h *vault.Hold, now time.Time) string {
	switch {
	case h.Review.IsZero():
		return "-"
	case h.ReviewDue(now):
		return fmtTime(h.Review) + " (due)"
	}
	return fmtTime(h.Review)
}

func runHoldList(ctx context.Context, opts holdListOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if opts.agreement != "" {
		if _, err := v.GetAgreement(ctx, opts.agreement); err != nil {
			return err
		}
	}
	id, err := optionalIdentity(g, e)
	if err != nil {
		return err
	}
	hs, err := v.Holds(ctx, opts.agreement, id)
	if err != nil {
		return err
	}
	now := e.now()
	if g.json {
		return printJSON(e.stdout, holdsJSON(hs, now))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "ID\tAGREEMENT\tNOTE\tPLACED BY\tAT\tREVIEW\tRELEASED\tSTATUS\tREASON")
	for _, h := range hs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Agreement, orDash(h.Note), h.PlacedBy,
			fmtTime(h.At), holdReview(h, now), fmtTime(h.ReleasedAt), holdStatus(h), orDash(safeLine(h.Reason)))
	}
	return tw.Flush()
}
