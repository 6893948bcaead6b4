package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/agreement"
)

func newConsentCmd(g *globals, e *env) *cobra.Command {
	return group("consent", "Give, withdraw and list a mentee's consents",
		newConsentGiveCmd(g, e),
		newConsentWithdrawCmd(g, e),
		newConsentListCmd(g, e),
	)
}

type consentGiveOptions struct {
	agreement string
	to        string
	kinds     string
	until     string
}

func newConsentGiveCmd(g *globals, e *env) *cobra.Command {
	var opts consentGiveOptions
	cmd := &cobra.Command{
		Use:   "give --agreement ID --to NAME [--kinds summary] [--until TIME] -i FILE",
		Short: "Consent, as the mentee, that a supervisor may be granted access; print the consent id",
		Long: `Consent, as the mentee, that a supervisor may be granted access to kinds of
note, and print the consent id.

--until is a date (2027-03-01), an RFC 3339 time (2027-03-01T17:00:00+01:00)
or a duration from now (90d, 2w, 36h). A date means the start of that day,
00:00 UTC: the consent has lapsed when the day begins, so --until 2027-03-01
covers February, not the first of March.

Every consent ends: at most at the agreement's cap on consents
(sharing.max_consent; 365 days when the agreement sets none). Without
--until the consent ends at the cap, and the end is printed; a later
--until is refused, naming the cap. The mentee may withdraw it sooner.
Only kinds the mentee may read can be consented to, and a consent never
widens access beyond what the agreement allows: reflections are never
shared through a grant.`,
		Args: exactArgs(),
		Example: `  notevault consent give --agreement a-5znce28d4shyt7ma --to carol --kinds summary -i bob.key
  notevault consent give --agreement a-5znce28d4shyt7ma --to carol --until 90d -i bob.key
  notevault consent give --agreement a-5znce28d4shyt7ma --to carol --until 2027-03-01T00:00:00Z -i bob.key`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement", "to"); err != nil {
				return err
			}
			return runConsentGive(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "the agreement `ID`")
	f.StringVar(&opts.to, "to", "", "the supervisor's participant `NAME`")
	f.StringVar(&opts.kinds, "kinds", "summary", "the kinds of note, comma separated")
	f.StringVar(&opts.until, "until", "", "until `TIME`: a date (the start of that day, UTC), an RFC 3339 time, or a duration from now (90d, 2w, 36h)")
	return cmd
}

// parseUntil reads --until: a date, an RFC 3339 time or a duration from
// now. A date is the start of that day in UTC. Of the two readings of "until
// the first of March" that is the one that shares less: a consent is a
// permission, and it must not outlast what its giver may have meant.
func parseUntil(s string, now time.Time) (time.Time, error) {
	return parseFuture("--until", s, now)
}

// parseFuture reads a flag that names a time ahead: a date (its start, UTC),
// an RFC 3339 time or a duration from now. Empty is the zero time.
func parseFuture(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, usagef("%s %s is not in the future", flag, s)
		}
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if !t.After(now) {
			return time.Time{}, usagef("%s %s is not in the future: a date means its start, 00:00 UTC", flag, s)
		}
		return t, nil
	}
	d, err := agreement.ParseDuration(s)
	if err != nil {
		return time.Time{}, usagef("%s %q: give a date (2027-03-01), an RFC 3339 time or a duration such as 30d", flag, s)
	}
	return now.Add(d), nil
}

// parseKindsFlag reads a --kinds comma list.
func parseKindsFlag(s string) ([]policy.Kind, error) {
	kinds, err := policy.ParseKinds(s)
	if err != nil {
		return nil, usagef("--kinds %q: %s", s, message(err))
	}
	return kinds, nil
}

func runConsentGive(ctx context.Context, opts consentGiveOptions, g *globals, e *env) (err error) {
	kinds, err := parseKindsFlag(opts.kinds)
	if err != nil {
		return err
	}
	until, err := parseUntil(opts.until, e.now())
	if err != nil {
		return err
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	c, err := v.GiveConsent(ctx, opts.agreement, opts.to, kinds, until, id)
	if err != nil {
		return err
	}
	lasts := "until withdrawn"
	if !c.Until.IsZero() {
		lasts = "until " + policy.FormatTime(c.Until)
	}
	if opts.until == "" && !c.Until.IsZero() {
		lasts += " (no --until: the agreement's cap on consents)"
	}
	fmt.Fprintf(e.stderr, "notevault: %s consented that %s may be granted %s notes of %s, %s\n",
		c.Grantor, c.Grantee, joinKinds(c.Kinds), c.Agreement, lasts)
	fmt.Fprintln(e.stdout, c.ID)
	return nil
}

// joinKinds renders kinds as a comma list.
func joinKinds(ks []policy.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

func newConsentWithdrawCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "withdraw CONSENT -i FILE",
		Short: "Withdraw a consent now; every grant resting on it ends at once",
		Args:  exactArgs("CONSENT"),
		Example: `  notevault consent withdraw c-8kq2m4xz7w3rt5np -i bob.key
  notevault consent list --agreement a-5znce28d4shyt7ma   # see which are live`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsentWithdraw(cmd.Context(), args[0], g, e)
		},
	}
}

func runConsentWithdraw(ctx context.Context, consentID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	// The grants the withdrawal ends are the live ones resting on it.
	ended, err := liveGrantsOn(ctx, v, consentID)
	if err != nil {
		return err
	}
	if err := v.WithdrawConsent(ctx, consentID, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: consent %s withdrawn; %d grant(s) ended\n", consentID, ended)
	return nil
}

// liveGrantsOn counts the live grants that rest on a consent; an unknown
// consent has none (WithdrawConsent then says it is not found).
func liveGrantsOn(ctx context.Context, v *vault.Vault, consentID string) (int, error) {
	as, err := v.Agreements(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range as {
		gs, ds, err := v.Grants(ctx, a.ID)
		if err != nil {
			return 0, err
		}
		for i, gr := range gs {
			if gr.Consent == consentID && ds[i].Allowed() {
				n++
			}
		}
	}
	return n, nil
}

type consentListOptions struct {
	agreement string
}

func newConsentListCmd(g *globals, e *env) *cobra.Command {
	var opts consentListOptions
	cmd := &cobra.Command{
		Use:   "list --agreement ID",
		Short: "List an agreement's consents and whether each is live",
		Args:  exactArgs(),
		Example: `  notevault consent list --agreement a-5znce28d4shyt7ma
  notevault consent list --agreement a-5znce28d4shyt7ma --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement"); err != nil {
				return err
			}
			return runConsentList(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "the agreement `ID`")
	return cmd
}

// consentStatus is live, withdrawn, lapsed or unverified.
func consentStatus(c policy.Consent, now time.Time) string {
	switch {
	case !c.Verified:
		return "unverified"
	case c.Withdrawn(now):
		return "withdrawn"
	case c.Lapsed(now):
		return "lapsed"
	default:
		return "live"
	}
}

func runConsentList(ctx context.Context, opts consentListOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if _, err := v.GetAgreement(ctx, opts.agreement); err != nil {
		return err
	}
	cs, err := v.Consents(ctx, opts.agreement)
	if err != nil {
		return err
	}
	now := v.Now()
	if g.json {
		return printJSON(e.stdout, consentsJSON(cs, now))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "ID\tGRANTOR\tGRANTEE\tKINDS\tGIVEN\tUNTIL\tSTATUS")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Grantor, c.Grantee, joinKinds(c.Kinds),
			fmtTime(c.GivenAt), fmtTime(c.Until), consentStatus(c, now))
	}
	return tw.Flush()
}
