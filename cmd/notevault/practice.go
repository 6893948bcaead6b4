package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

// The practice around an agreement: success criteria attested by both
// parties, proposals rejected or withdrawn, what an amendment changes, the
// agreement in plain language, and reviews that are due.

func newCriterionCmd(g *globals, e *env) *cobra.Command {
	return group("criterion", "Attest and list an agreement's success criteria",
		newCriterionAttestCmd(g, e),
		newCriterionListCmd(g, e),
	)
}

type criterionAttestOptions struct {
	agreement, criterion string
	status               string
	note                 string
}

func newCriterionAttestCmd(g *globals, e *env) *cobra.Command {
	var opts criterionAttestOptions
	cmd := &cobra.Command{
		Use:   "attest ID CRITERION --status met|progress|missed [--note NOTE] -i FILE",
		Short: "Attest where a success criterion stands; it counts once mentor and mentee both attest it",
		Long: `Attest where a success criterion of the agreement in force stands: met,
progress or missed, optionally with a note you can read as evidence. The
attestation is signed. The first party to attest proposes it; it counts once
the other party attests the same criterion with the same status and note,
which confirms it. Until then notevault criterion list shows it as pending.
A plain-text criterion is named c1, c2, ... by its place in the list.

A supervisor with a live grant sees attestations, their dates and the id of
the evidence note, never its content.`,
		Args: exactArgs("ID", "CRITERION"),
		Example: `  notevault criterion attest a-5znce28d4shyt7ma c1 --status progress -i bob.key
  notevault criterion attest a-5znce28d4shyt7ma c1 --status progress -i alice.key   # confirms it
  notevault criterion attest a-5znce28d4shyt7ma portfolio --status met --note n-jvr6sxxs6k3tc9uh -i alice.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "status"); err != nil {
				return err
			}
			opts.agreement, opts.criterion = args[0], args[1]
			return runCriterionAttest(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.status, "status", "", "where the criterion stands: `met|progress|missed`")
	cmd.Flags().StringVar(&opts.note, "note", "", "the `ID` of a note of the agreement, offered as evidence (its id only is shown)")
	return cmd
}

func runCriterionAttest(ctx context.Context, opts criterionAttestOptions, g *globals, e *env) (err error) {
	status, err := policy.ParseAttestStatus(opts.status)
	if err != nil {
		return usagef("--status: %v", err)
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	at, err := v.AttestCriterion(ctx, opts.agreement, opts.criterion, status, opts.note, id)
	if err != nil {
		return err
	}
	if at.Confirmed() {
		fmt.Fprintf(e.stderr, "notevault: %s confirmed attestation %s: criterion %s is %s, signed by %s and %s\n",
			at.ConfirmedBy, at.ID, safeLine(at.Criterion), statusWords(at.Status), at.ProposedBy, at.ConfirmedBy)
	} else {
		fmt.Fprintf(e.stderr, "notevault: %s attested that criterion %s is %s (attestation %s); it counts once the other party attests the same\n",
			at.ProposedBy, safeLine(at.Criterion), statusWords(at.Status), at.ID)
	}
	fmt.Fprintln(e.stdout, at.ID)
	return nil
}

// statusWords is a status in a sentence: "met", "in progress", "missed".
func statusWords(st policy.AttestStatus) string {
	if st == policy.StatusProgress {
		return "in progress"
	}
	return string(st)
}

func newCriterionListCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list ID -i FILE",
		Short: "List the success criteria of an agreement with their statuses and pending attestations",
		Long: `List the success criteria of the agreement in force: the status both
parties attested last and since when, the evidence note's id, and the
attestations still waiting for the other party. For its mentor and mentee,
and for a supervisor while a grant under the mentee's consent is live.`,
		Args: exactArgs("ID"),
		Example: `  notevault criterion list a-5znce28d4shyt7ma -i bob.key
  notevault criterion list a-5znce28d4shyt7ma -i carol.key --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCriterionList(cmd.Context(), args[0], g, e)
		},
	}
}

func runCriterionList(ctx context.Context, agreementID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	cs, err := v.Criteria(ctx, agreementID, id)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, criteriaJSON(cs))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "CRITERION\tSTATUS\tSINCE\tEVIDENCE\tPENDING\tDUE\tWHAT")
	for _, c := range cs {
		status, since, evidence, due := "-", "-", "-", "-"
		if c.Status != "" {
			status, since = string(c.Status), fmtTime(c.Since)
		}
		if c.Evidence != "" {
			evidence = c.Evidence
		}
		if !c.Due.IsZero() {
			due = c.Due.Format("2006-01-02")
		}
		var pending []string
		for _, at := range c.Pending {
			pending = append(pending, fmt.Sprintf("%s by %s (%s)", at.Status, at.ProposedBy, at.ID))
		}
		if len(pending) == 0 {
			pending = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safeLine(c.ID), status, since, evidence, strings.Join(pending, ", "), due, safeLine(c.What))
	}
	return tw.Flush()
}

func newAgreementRejectCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "reject ID -i FILE",
		Short: "Reject the pending version of an agreement that the other party proposed",
		Long: `Reject the pending version of an agreement: the mentor or the mentee who
did not propose it and has not accepted it. The rejection is signed and
logged; the version in force, if any, stays in force, and either party may
propose another amendment.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement reject a-5znce28d4shyt7ma -i bob.key
  notevault agreement history a-5znce28d4shyt7ma   # the version shows as rejected`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAgreementEndProposal(cmd.Context(), args[0], true, g, e)
		},
	}
}

func newAgreementWithdrawCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "withdraw ID -i FILE",
		Short: "Withdraw your own pending proposal for an agreement",
		Long: `Withdraw the pending version of an agreement that you proposed, before the
other party accepts it. The withdrawal is signed and logged; the version in
force, if any, stays in force.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement withdraw a-5znce28d4shyt7ma -i alice.key
  notevault agreement history a-5znce28d4shyt7ma   # the version shows as withdrawn`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAgreementEndProposal(cmd.Context(), args[0], false, g, e)
		},
	}
}

func runAgreementEndProposal(ctx context.Context, agreementID string, reject bool, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	end := v.WithdrawProposal
	if reject {
		end = v.RejectProposal
	}
	ver, err := end(ctx, agreementID, id)
	if err != nil {
		return err
	}
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return err
	}
	inForce := "no version is in force"
	if cur := a.Current(); cur != nil {
		inForce = fmt.Sprintf("version %d stays in force", cur.Version)
	}
	fmt.Fprintf(e.stderr, "notevault: version %d of agreement %s is %s; %s\n", ver.Version, agreementID, ver.Ended, inForce)
	return nil
}

type agreementDiffOptions struct {
	id       string
	from, to int
}

func newAgreementDiffCmd(g *globals, e *env) *cobra.Command {
	var opts agreementDiffOptions
	cmd := &cobra.Command{
		Use:   "diff ID V1 V2 [-i FILE]",
		Short: "Show what changes as access from version V1 of an agreement to V2",
		Long: `Show what changes from version V1 of an agreement to version V2 as access:
who can now read which kind of note, with or without consent, supervisors
and custodians added or removed, exceptions and who may receive a
disclosure under them, retention longer or shorter, the caps on grants and
consents, the review schedule. Each line is marked + (wider, or kept
longer) or - (narrower, or kept less long). It is computed by the policy
engine from the terms of both versions, not from their text.

With -i (a party's identity) the texts are compared too, field by field
(purpose, clauses.feedback, ...), naming what was added, removed or changed.`,
		Args: exactArgs("ID", "V1", "V2"),
		Example: `  notevault agreement diff a-5znce28d4shyt7ma 1 2
  notevault agreement diff a-5znce28d4shyt7ma 1 2 -i bob.key --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.id = args[0]
			var err error
			if opts.from, err = versionArg("V1", args[1]); err != nil {
				return err
			}
			if opts.to, err = versionArg("V2", args[2]); err != nil {
				return err
			}
			return runAgreementDiff(cmd.Context(), opts, g, e)
		},
	}
	return cmd
}

func versionArg(name, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(s), "v"))
	if err != nil || n < 1 {
		return 0, usagef("%s: %q is not a version number (1, 2, ...)", name, s)
	}
	return n, nil
}

func effectMark(e policy.Effect) string {
	switch e {
	case policy.Wider, policy.Longer:
		return "+"
	case policy.Narrower, policy.Shorter:
		return "-"
	}
	return "~"
}

func runAgreementDiff(ctx context.Context, opts agreementDiffOptions, g *globals, e *env) (err error) {
	id, err := optionalIdentity(g, e)
	if err != nil {
		return err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	d, err := v.DiffAgreement(ctx, opts.id, opts.from, opts.to, id)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, diffJSON(d))
	}
	fmt.Fprintf(e.stdout, "agreement %s, version %d -> version %d\n", d.Agreement, d.From, d.To)
	if len(d.Access) == 0 {
		fmt.Fprintln(e.stdout, "access: no change")
	} else {
		fmt.Fprintln(e.stdout, "access:")
		for _, c := range d.Access {
			fmt.Fprintf(e.stdout, "  %s %s\n", effectMark(c.Effect), safeLine(c.Text))
		}
	}
	if id == nil {
		fmt.Fprintln(e.stderr, "notevault: hint: the texts are encrypted to the agreement's parties; give -i FILE to compare them too")
		return nil
	}
	if len(d.Text) == 0 {
		fmt.Fprintln(e.stdout, "text: no change")
		return nil
	}
	fmt.Fprintln(e.stdout, "text:")
	for _, c := range d.Text {
		fmt.Fprintf(e.stdout, "  %-8s %s\n", c.Change, safeLine(c.Field))
	}
	return nil
}

func newAgreementSummaryCmd(g *globals, e *env) *cobra.Command {
	var version int
	cmd := &cobra.Command{
		Use:   "summary ID [--version N]",
		Short: "State an agreement in plain language, from what notevault enforces",
		Long: `State a version of an agreement in plain language: who writes and reads
each kind of note, who may read what with the mentee's consent and for how
long, what is never shared, when each kind is destroyed, who may receive a
disclosure under which exception, who may place a hold, how often the
relationship is reviewed. The sentences are generated by asking the policy
engine what it allows under the version's terms, not from the agreement's
text, so they say what notevault enforces. No key is needed.

Without --version: the version in force, else the newest.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement summary a-5znce28d4shyt7ma
  notevault agreement summary a-5znce28d4shyt7ma --version 2 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if version < 0 {
				return usagef("--version: %d is not a version number (1, 2, ...)", version)
			}
			return runAgreementSummary(cmd.Context(), args[0], version, g, e)
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "the version `N` to state (default: the one in force, else the newest)")
	return cmd
}

func runAgreementSummary(ctx context.Context, agreementID string, version int, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ver, lines, err := v.Summary(ctx, agreementID, version)
	if err != nil {
		return err
	}
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return err
	}
	status := versionStatus(a, ver)
	if g.json {
		return printJSON(e.stdout, summaryJSON{Agreement: a.ID, Version: ver.Version, Status: status, Sentences: list(lines)})
	}
	fmt.Fprintf(e.stdout, "agreement %s, version %d (%s):\n", a.ID, ver.Version, status)
	for _, l := range lines {
		fmt.Fprintf(e.stdout, "- %s.\n", safeLine(l))
	}
	return nil
}

// exitOverdue is agreement due's exit code when a review is overdue.
const exitOverdue = 5

func newAgreementDueCmd(g *globals, e *env) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "due [--all]",
		Short: "List overdue reviews across the vault (exit 5 when one is overdue), for cron or chat",
		Long: `List the agreements whose review is overdue: an agreement in force with a
review schedule (review: every 90d, or quarterly, monthly, ...) is due for
a review that long after its newest note of kind review, or after it first
came into force when it has none. With --all, every scheduled agreement is
listed with its next due date. It reads metadata only: no key is needed,
so the operator's scheduled job can run it.

Exit codes: 0 when no review is overdue (and, without --all, nothing is
printed: cron mails nothing), 5 when at least one is overdue (they are
listed), 1 on failure.`,
		Args: exactArgs(),
		Example: `  notevault agreement due || notify-team   # exit 5: a review is overdue
  notevault agreement due --all --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgreementDue(cmd.Context(), all, g, e)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every scheduled agreement, not only overdue ones")
	return cmd
}

func runAgreementDue(ctx context.Context, all bool, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ds, err := v.DueReviews(ctx)
	if err != nil {
		return err
	}
	now := v.Now()
	var shown []vault.ReviewDue
	overdue := false
	for _, d := range ds {
		overdue = overdue || d.Overdue
		if all || d.Overdue {
			shown = append(shown, d)
		}
	}
	if g.json {
		err = printJSON(e.stdout, dueJSON(shown, now))
	} else if len(shown) > 0 {
		tw := table(e.stdout)
		fmt.Fprintln(tw, "AGREEMENT\tMENTOR\tMENTEE\tEVERY\tLAST REVIEW\tDUE\tSTATE\tNAME")
		for _, d := range shown {
			last := "-"
			if !d.LastReview.IsZero() {
				last = fmtTime(d.LastReview)
			}
			state := "due in " + policy.FormatDuration(d.Due.Sub(now))
			if d.Overdue {
				state = "overdue by " + policy.FormatDuration(now.Sub(d.Due))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Agreement, safeLine(d.Mentor), safeLine(d.Mentee),
				policy.FormatDuration(d.Every), last, fmtTime(d.Due), state, safeLine(d.Name))
		}
		err = tw.Flush()
	}
	if err != nil {
		return err
	}
	if overdue {
		return &exitError{code: exitOverdue}
	}
	return nil
}
