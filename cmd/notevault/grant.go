package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/agreement"
)

func newGrantCmd(g *globals, e *env) *cobra.Command {
	return group("grant", "Give, revoke and list a supervisor's time-limited access",
		newGrantAddCmd(g, e),
		newGrantRevokeCmd(g, e),
		newGrantListCmd(g, e),
	)
}

type grantAddOptions struct {
	agreement string
	to        string
	kinds     string
	dur       string
}

func newGrantAddCmd(g *globals, e *env) *cobra.Command {
	var opts grantAddOptions
	cmd := &cobra.Command{
		Use:   "add --agreement ID --to NAME [--kinds summary] --for DURATION -i FILE",
		Short: "Give a supervisor access for a while, as the mentor; print the grant id",
		Long: `Give a supervisor access to kinds of note for a while, and print the grant id.

The mentee must have consented first, and the granter (mentor or mentee)
must be able to read the kinds granted. The supervisor gets a copy of every
covered note the granter reads, sealed to them alone; when the grant ends
(--for runs out, it is revoked, or the consent is withdrawn) the copies are
destroyed. --for is at most the agreement's cap on grants
(sharing.max_grant; 90 days when the agreement sets none): a longer grant is
refused, naming the cap. A grant never outlives its consent.

The grant is made first and the notes it covers are copied after it, a few
hundred to a transaction, so a grant covers any number of notes. If that is
cut short (interrupted, or the disk fills), the grant stands with the copies
made so far and the error names it: revoke it and grant again.`,
		Args: exactArgs(),
		Example: `  notevault grant add --agreement a-5znce28d4shyt7ma --to carol --kinds summary --for 72h -i alice.key
  notevault grant add --agreement a-5znce28d4shyt7ma --to carol --for 2w -i alice.key`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement", "to", "for"); err != nil {
				return err
			}
			return runGrantAdd(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "the agreement `ID`")
	f.StringVar(&opts.to, "to", "", "the supervisor's participant `NAME`")
	f.StringVar(&opts.kinds, "kinds", "summary", "the kinds of note, comma separated")
	f.StringVar(&opts.dur, "for", "", "how long the grant lasts: a `DURATION` such as 72h, 2w, 30d")
	return cmd
}

func runGrantAdd(ctx context.Context, opts grantAddOptions, g *globals, e *env) (err error) {
	kinds, err := parseKindsFlag(opts.kinds)
	if err != nil {
		return err
	}
	dur, derr := agreement.ParseDuration(opts.dur)
	if derr != nil {
		return usagef("--for: %s", message(derr))
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	gr, copied, err := v.AddGrant(ctx, opts.agreement, opts.to, kinds, dur, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: granted %s %s notes of %s; copied %d note(s); ends %s\n",
		gr.Grantee, joinKinds(gr.Kinds), gr.Agreement, copied, policy.FormatTime(gr.Expires))
	fmt.Fprintln(e.stdout, gr.ID)
	return nil
}

func newGrantRevokeCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke GRANT -i FILE",
		Short: "End a grant now and destroy the supervisor's copies",
		Args:  exactArgs("GRANT"),
		Example: `  notevault grant revoke g-3hd9s2kf6q8mz4tw -i alice.key
  notevault grant list --agreement a-5znce28d4shyt7ma   # see which are live`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGrantRevoke(cmd.Context(), args[0], g, e)
		},
	}
}

func runGrantRevoke(ctx context.Context, grantID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if err := v.RevokeGrant(ctx, grantID, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: grant %s revoked; the supervisor's copies are destroyed\n", grantID)
	return nil
}

type grantListOptions struct {
	agreement string
}

func newGrantListCmd(g *globals, e *env) *cobra.Command {
	var opts grantListOptions
	cmd := &cobra.Command{
		Use:   "list --agreement ID",
		Short: "List an agreement's grants and whether each is live",
		Args:  exactArgs(),
		Example: `  notevault grant list --agreement a-5znce28d4shyt7ma
  notevault grant list --agreement a-5znce28d4shyt7ma --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement"); err != nil {
				return err
			}
			return runGrantList(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "the agreement `ID`")
	return cmd
}

// grantStatus is "live" or the reason the policy gives for the grant being over.
func grantStatus(d policy.Decision) string {
	if d.Allowed() {
		return "live"
	}
	return d.Reason
}

func runGrantList(ctx context.Context, opts grantListOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if _, err := v.GetAgreement(ctx, opts.agreement); err != nil {
		return err
	}
	gs, ds, err := v.Grants(ctx, opts.agreement)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, grantsJSON(gs, ds))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "ID\tGRANTEE\tKINDS\tCONSENT\tBY\tISSUED\tEXPIRES\tSTATUS")
	for i, gr := range gs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", gr.ID, gr.Grantee, joinKinds(gr.Kinds), gr.Consent,
			gr.GrantedBy, fmtTime(gr.Issued), fmtTime(gr.Expires), grantStatus(ds[i]))
	}
	return tw.Flush()
}
