package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/agreement"
)

func newAgreementCmd(g *globals, e *env) *cobra.Command {
	return group("agreement", "Create, accept, amend and inspect mentoring agreements",
		newAgreementCreateCmd(g, e),
		newAgreementAcceptCmd(g, e),
		newAgreementAmendCmd(g, e),
		newAgreementShowCmd(g, e),
		newAgreementHistoryCmd(g, e),
		newAgreementListCmd(g, e),
		newAgreementTemplateCmd(g, e),
		newAgreementRejectCmd(g, e),
		newAgreementWithdrawCmd(g, e),
		newAgreementDiffCmd(g, e),
		newAgreementSummaryCmd(g, e),
		newAgreementDueCmd(g, e),
		newAgreementCloseCmd(g, e),
		newAgreementCertificateCmd(g, e),
	)
}

type agreementFileOptions struct {
	id   string
	file string
}

func newAgreementCreateCmd(g *globals, e *env) *cobra.Command {
	var opts agreementFileOptions
	cmd := &cobra.Command{
		Use:   "create --file AGREEMENT.yaml",
		Short: "Create an agreement and print its id",
		Args:  exactArgs(),
		Example: `  notevault agreement create --file agreement.yaml
  a=$(notevault agreement create --file agreement.yaml)   # keep the id`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "file"); err != nil {
				return err
			}
			return runAgreementCreate(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.file, "file", "", "the agreement `FILE` (YAML; - reads stdin)")
	return cmd
}

func runAgreementCreate(ctx context.Context, opts agreementFileOptions, g *globals, e *env) (err error) {
	text, err := readInput(opts.file, "the agreement file", e)
	if err != nil {
		return err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	a, err := v.CreateAgreement(ctx, text)
	if err != nil {
		return fmt.Errorf("%s: %w", displayName(opts.file), err)
	}
	fmt.Fprintf(e.stderr, "notevault: created agreement %s; the mentor and the mentee accept it with notevault agreement accept %s\n", a.ID, a.ID)
	fmt.Fprintln(e.stdout, a.ID)
	return nil
}

func newAgreementAcceptCmd(g *globals, e *env) *cobra.Command {
	var opts agreementFileOptions
	cmd := &cobra.Command{
		Use:   "accept ID -i FILE [--file REVIEWED.yaml]",
		Short: "Accept the newest version of an agreement",
		Long: `Accept the newest version of an agreement, signing it and pinning the key of
every party it names (the fingerprints are printed). Read it first with
notevault agreement show ID -i FILE. With --file (the agreement file the
parties drew up together), the acceptance is refused unless the stored text
is byte for byte that file: nobody who can write the store can slip in
other terms for you to sign.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement accept a-5znce28d4shyt7ma -i alice.key
  notevault agreement accept a-5znce28d4shyt7ma --file agreement.yaml -i bob.key   # only this exact text`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.id = args[0]
			return runAgreementAccept(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.file, "file", "", "accept only if the text is exactly this reviewed `FILE` (- reads stdin)")
	return cmd
}

func runAgreementAccept(ctx context.Context, opts agreementFileOptions, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	var reviewed []byte
	if opts.file != "" {
		if reviewed, err = readInput(opts.file, "the reviewed agreement file", e); err != nil {
			return err
		}
	}
	ver, err := v.AcceptReviewed(ctx, opts.id, reviewed, id)
	if err != nil {
		return err
	}
	if ac := ver.Acceptances[len(ver.Acceptances)-1]; ac != nil {
		names := make([]string, 0, len(ac.Pins))
		for name := range ac.Pins {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Fprintf(e.stderr, "notevault: pinned %s's key %s\n", safeLine(name), ac.Pins[name])
		}
	}
	if ver.AcceptedByBoth() {
		fmt.Fprintf(e.stderr, "notevault: version %d of agreement %s is accepted by both and in force\n", ver.Version, opts.id)
	} else {
		fmt.Fprintf(e.stderr, "notevault: accepted version %d of agreement %s; it comes into force when the other party accepts\n", ver.Version, opts.id)
	}
	return nil
}

func newAgreementAmendCmd(g *globals, e *env) *cobra.Command {
	var opts agreementFileOptions
	cmd := &cobra.Command{
		Use:   "amend ID --file AGREEMENT.yaml -i FILE",
		Short: "Propose a new version of an agreement and print its version number",
		Args:  exactArgs("ID"),
		Example: `  notevault agreement amend a-5znce28d4shyt7ma --file agreement-v2.yaml -i alice.key
  notevault agreement accept a-5znce28d4shyt7ma -i bob.key   # the other party accepts the new version`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "file"); err != nil {
				return err
			}
			opts.id = args[0]
			return runAgreementAmend(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.file, "file", "", "the amended agreement `FILE` (YAML; - reads stdin)")
	return cmd
}

func runAgreementAmend(ctx context.Context, opts agreementFileOptions, g *globals, e *env) (err error) {
	text, err := readInput(opts.file, "the agreement file", e)
	if err != nil {
		return err
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ver, err := v.AmendAgreement(ctx, opts.id, text, id)
	if err != nil {
		return fmt.Errorf("%s: %w", displayName(opts.file), err)
	}
	fmt.Fprintf(e.stderr, "notevault: proposed version %d of agreement %s; the previous version stays in force until the other party accepts\n", ver.Version, opts.id)
	fmt.Fprintln(e.stdout, ver.Version)
	return nil
}

func newAgreementShowCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an agreement: its state, and with -i the text of its newest version",
		Long: `Show an agreement: its state and the terms of its newest version that the
vault enforces and schedules by, stored in the clear (the schema the version
was written under, its dates and review schedule, who reads each kind of note
and for how long, retention after close, who may receive a disclosure under
each exception, the custodians of holds and the sharing caps).

With -i FILE of one of its parties, also what only the encrypted text says:
its clauses, its success criteria with their ids, and the text itself.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement show a-5znce28d4shyt7ma
  notevault agreement show a-5znce28d4shyt7ma -i bob.key   # with the text of the newest version`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAgreementShow(cmd.Context(), args[0], g, e)
		},
	}
}

func acceptedBy(ver *vault.AgreementVersion) string {
	var names []string
	for _, a := range ver.Acceptances {
		if a.Verified {
			names = append(names, a.Who)
		}
	}
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ",")
}

func versionStatus(a *vault.Agreement, ver *vault.AgreementVersion) string {
	cur := a.Current()
	switch {
	case cur != nil && cur.Version == ver.Version:
		return "in force"
	case ver.Ended != "":
		return ver.Ended // rejected, withdrawn
	case ver.AcceptedByBoth():
		return "superseded"
	case cur != nil && ver.Version < cur.Version:
		return "never in force"
	default:
		return "awaiting acceptance"
	}
}

func runAgreementShow(ctx context.Context, agreementID string, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return err
	}
	latest := a.Latest()
	// The text beyond the machine-read terms is encrypted to the parties.
	id, err := optionalIdentity(g, e)
	if err != nil {
		return err
	}
	if id != nil {
		if latest.Text, err = v.AgreementText(ctx, a.ID, latest.Version, id); err != nil {
			return err
		}
	}
	if g.json {
		return printJSON(e.stdout, agreementDetailJSON(a))
	}
	inForce := "none (not accepted by both yet)"
	if cur := a.Current(); cur != nil {
		inForce = fmt.Sprintf("version %d", cur.Version)
	}
	tw := table(e.stdout)
	fmt.Fprintf(tw, "agreement:\t%s\n", a.ID)
	if latest.Parsed != nil {
		fmt.Fprintf(tw, "name:\t%s\n", safeLine(latest.Parsed.Name))
	}
	fmt.Fprintf(tw, "created:\t%s\n", fmtTime(a.Created))
	fmt.Fprintf(tw, "in force:\t%s\n", inForce)
	if c := a.Closure(); c != nil {
		fmt.Fprintf(tw, "closed:\t%s by %s\n", fmtTime(c.At), c.By)
		// The reason is sealed to mentor and mentee; only they see it.
		if id != nil {
			cr, err := v.CloseReason(ctx, a.ID, id)
			if err != nil {
				return err
			}
			if cr.Reason != "" {
				fmt.Fprintf(tw, "close reason:\t%s\n", safeLine(cr.Reason))
			}
		}
	}
	if cur := a.Current(); cur != nil {
		// The keys the parties pinned when accepting the version in force:
		// notes are encrypted to these and no others.
		label := "pinned keys:"
		for _, name := range slices.Sorted(maps.Keys(cur.Pins)) {
			fmt.Fprintf(tw, "%s\t%s %s\n", label, name, cur.Pins[name])
			label = ""
		}
	}
	fmt.Fprintf(tw, "latest:\tversion %d (%s; accepted by %s)\n", latest.Version, versionStatus(a, latest), acceptedBy(latest))
	if latest.Parsed != nil {
		printTerms(tw, latest)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if id == nil {
		fmt.Fprintln(e.stderr, "notevault: hint: the agreement's text is encrypted to its parties; give -i FILE to read it")
		return nil
	}
	if doc, err := agreement.ParseSchema([]byte(latest.Text), latest.Schema); err == nil {
		if err := printDocument(e.stdout, doc); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "\n%s", safeText(latest.Text))
	if !strings.HasSuffix(latest.Text, "\n") {
		fmt.Fprintln(e.stdout)
	}
	return nil
}

func newAgreementHistoryCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "List every version of an agreement with who accepted it and when",
		Args:  exactArgs("ID"),
		Example: `  notevault agreement history a-5znce28d4shyt7ma
  notevault agreement history a-5znce28d4shyt7ma --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAgreementHistory(cmd.Context(), args[0], g, e)
		},
	}
}

func runAgreementHistory(ctx context.Context, agreementID string, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, versionsJSON(a))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "VERSION\tSTATUS\tPROPOSED\tPROPOSED BY\tACCEPTED BY")
	for _, ver := range a.Versions {
		var acc []string
		for _, x := range ver.Acceptances {
			if x.Verified {
				acc = append(acc, x.Who+"@"+fmtTime(x.At))
			}
		}
		if len(acc) == 0 {
			acc = []string{"-"}
		}
		by := ver.ProposedBy
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", ver.Version, versionStatus(a, ver), fmtTime(ver.ProposedAt), by, strings.Join(acc, ","))
	}
	return tw.Flush()
}

func newAgreementListCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the agreements",
		Args:  exactArgs(),
		Example: `  notevault agreement list
  notevault agreement list --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgreementList(cmd.Context(), g, e)
		},
	}
}

func runAgreementList(ctx context.Context, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	as, err := v.Agreements(ctx)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, agreementsJSON(as))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "ID\tMENTOR\tMENTEE\tIN FORCE\tLATEST\tNAME")
	for _, a := range as {
		latest := a.Latest()
		inForce := "-"
		if cur := a.Current(); cur != nil {
			inForce = fmt.Sprint(cur.Version)
		}
		var mentor, mentee, name string
		if p := latest.Parsed; p != nil {
			mentor, mentee, name = p.Mentor, p.Mentee, p.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, safeLine(mentor), safeLine(mentee), inForce, latest.Version, safeLine(name))
	}
	return tw.Flush()
}

// printTerms prints the terms of ver that are stored in the clear and that
// the vault enforces or schedules by: who reads what, for how long, who
// receives disclosures, who keeps holds, the sharing caps, the dates and
// the review schedule.
func printTerms(tw io.Writer, ver *vault.AgreementVersion) {
	p := ver.Parsed
	fmt.Fprintf(tw, "schema:\t%d\n", ver.Schema)
	if !p.Start.IsZero() || !p.End.IsZero() {
		fmt.Fprintf(tw, "dates:\t%s to %s\n", orDash(dateString(p.Start)), orDash(dateString(p.End)))
	}
	if p.ReviewEvery > 0 {
		fmt.Fprintf(tw, "review:\tevery %s\n", agreement.FormatDuration(p.ReviewEvery))
	}
	label := "readers:"
	for _, k := range policy.Kinds {
		if r, ok := p.Confidentiality.Readers[k]; ok {
			fmt.Fprintf(tw, "%s\t%s: %s\n", label, k, strings.Join(r, ", "))
			label = ""
		}
	}
	label = "retention:"
	for _, k := range policy.Kinds {
		if d, ok := p.Retention[k]; ok {
			fmt.Fprintf(tw, "%s\t%s: %s\n", label, k, agreement.FormatDuration(d))
			label = ""
		}
	}
	if p.AfterClose > 0 {
		fmt.Fprintf(tw, "after close:\tnotes kept at most %s once the agreement is closed\n", agreement.FormatDuration(p.AfterClose))
	}
	label = "exceptions:"
	for _, ex := range p.Confidentiality.Exceptions {
		sups := strings.Join(p.Supervisors, ", ")
		if sups == "" {
			sups = "none"
		}
		to := fmt.Sprintf("the supervisors (%s)", sups)
		if rs, ok := p.Confidentiality.Recipients[ex]; ok {
			to = strings.Join(rs, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s: disclosures go only to %s\n", label, ex, to)
		label = ""
	}
	if len(p.Custodians) > 0 {
		fmt.Fprintf(tw, "custodians:\t%s (may place and release holds)\n", strings.Join(p.Custodians, ", "))
	}
	grant, consent := "default (90d)", "default (365d)"
	if p.Sharing.MaxGrant > 0 {
		grant = agreement.FormatDuration(p.Sharing.MaxGrant)
	}
	if p.Sharing.MaxConsent > 0 {
		consent = agreement.FormatDuration(p.Sharing.MaxConsent)
	}
	fmt.Fprintf(tw, "sharing:\tgrants at most %s, consents at most %s\n", grant, consent)
}

// printDocument prints what only the text of a version says and the vault
// reads for people: its clauses and its success criteria, with their ids.
func printDocument(w io.Writer, doc *agreement.Agreement) error {
	if len(doc.Clauses) == 0 && len(doc.SuccessCriteria) == 0 {
		return nil
	}
	tw := table(w)
	fmt.Fprintln(tw)
	label := "clauses:"
	for _, c := range doc.Clauses {
		lines := strings.Split(c.Text, "\n")
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, c.Name, safeLine(lines[0]))
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "\t  %s\n", safeLine(l))
		}
		label = ""
	}
	label = "criteria:"
	for _, c := range doc.SuccessCriteria {
		var more []string
		if c.Measure != "" {
			more = append(more, "measure: "+c.Measure)
		}
		if !c.Due.IsZero() {
			more = append(more, "due "+dateString(c.Due))
		}
		extra := ""
		if len(more) > 0 {
			extra = " (" + strings.Join(more, "; ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, c.ID, safeLine(c.What+extra))
		label = ""
	}
	return tw.Flush()
}
