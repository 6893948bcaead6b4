package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault"
)

type discloseOptions struct {
	note      string
	to        string
	reason    string
	statement string
}

func newDiscloseCmd(g *globals, e *env) *cobra.Command {
	var opts discloseOptions
	cmd := &cobra.Command{
		Use:   "disclose NOTE --to NAME --reason EXCEPTION --statement TEXT -i FILE",
		Short: "Share a note under a confidentiality exception the agreement lists; print the disclosure id",
		Long: `Share a note with another participant under a confidentiality exception the
agreement lists (risk-of-harm, legal-obligation, ...), and print the
disclosure id.

Who disclosed what, to whom, under which exception and when is recorded in
the audit log, where the mentee can see it; the statement of why is encrypted
to the discloser, the recipient and the mentee (notevault disclosure show). The recipient gets a copy sealed to them alone, which
expires with the note.`,
		Args: exactArgs("NOTE"),
		Example: `  notevault disclose n-jvr6sxxs6k3tc9uh --to carol --reason legal-obligation --statement "Court order 2026-114 asks for the session notes" -i alice.key
  notevault disclosure show d-4m8qz2w7k3xt9hp6 -i bob.key   # what the mentee sees`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "to", "reason", "statement"); err != nil {
				return err
			}
			opts.note = args[0]
			return runDisclose(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.to, "to", "", "the participant `NAME` to share the note with")
	f.StringVar(&opts.reason, "reason", "", "the `EXCEPTION` of the agreement that allows it")
	f.StringVar(&opts.statement, "statement", "", "why, in a sentence (encrypted to you, the recipient and the mentee)")
	return cmd
}

func runDisclose(ctx context.Context, opts discloseOptions, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	d, err := v.Disclose(ctx, opts.note, opts.to, opts.reason, opts.statement, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: %s disclosed note %s to %s under %s; this is recorded and visible to the mentee\n",
		d.By, d.Note, d.To, d.Reason)
	fmt.Fprintln(e.stdout, d.ID)
	return nil
}

func newDisclosureCmd(g *globals, e *env) *cobra.Command {
	show := &cobra.Command{
		Use:   "show DISCLOSURE -i FILE",
		Short: "Print who disclosed which note to whom, under which exception, and the statement of why",
		Long: `Print a disclosure and its statement. The statement is encrypted to the
discloser, the recipient and the mentee; only they can read it, and reading it
is recorded in the audit log.`,
		Args: exactArgs("DISCLOSURE"),
		Example: `  notevault disclosure show d-4m8qz2w7k3xt9hp6 -i bob.key
  notevault disclosure show d-4m8qz2w7k3xt9hp6 -i bob.key --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDisclosureShow(cmd.Context(), args[0], g, e)
		},
	}
	return group("disclosure", "List disclosures and read their statements", newDisclosureListCmd(g, e), show)
}

type disclosureListOptions struct {
	agreement string
	note      string
}

func newDisclosureListCmd(g *globals, e *env) *cobra.Command {
	var opts disclosureListOptions
	cmd := &cobra.Command{
		Use:   "list [--agreement ID] [--note NOTE]",
		Short: "List who disclosed which note to whom, under which exception, and when",
		Long: `List the disclosures of every agreement, or of one, oldest first, from the
agreements' verified chains: the disclosure's id, its agreement, the note, who
disclosed it, to whom, under which exception, and when.

No identity is needed and nothing is logged: that a note was disclosed, by
whom, to whom, why in one word and when is kept in the clear on purpose, so
that the mentee and every party can always see what happened to the notes
(the audit log records it too). The statement of why is encrypted to the
discloser, the recipient and the mentee: notevault disclosure show ID -i FILE.

With --json, an array of disclosures as disclosure show prints them,
without the statement, each with its "agreement" (docs/json.md).`,
		Example: `  notevault disclosure list
  notevault disclosure list --agreement a-5znce28d4shyt7ma --json
  notevault disclosure list --note n-jvr6sxxs6k3tc9uh   # what happened to one note`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDisclosureList(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "only the disclosures of agreement `ID`")
	f.StringVar(&opts.note, "note", "", "only the disclosures of note `NOTE`")
	return cmd
}

func runDisclosureList(ctx context.Context, opts disclosureListOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ds, err := v.Disclosures(ctx, opts.agreement)
	if err != nil {
		return err
	}
	ds = slices.DeleteFunc(ds, func(d vault.Disclosed) bool { return opts.note != "" && d.Note != opts.note })
	if g.json {
		return printJSON(e.stdout, disclosuresJSON(ds))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "ID\tAGREEMENT\tNOTE\tBY\tTO\tEXCEPTION\tDISCLOSED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Agreement, d.Note, d.By, d.To, d.Reason, fmtTime(d.At))
	}
	return tw.Flush()
}

func runDisclosureShow(ctx context.Context, disclosureID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	d, statement, err := v.DisclosureStatement(ctx, disclosureID, id)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, disclosureShowJSON{disclosureOf(*d), statement})
	}
	w := table(e.stdout)
	fmt.Fprintf(w, "id:\t%s\nnote:\t%s\nby:\t%s\nto:\t%s\nexception:\t%s\nat:\t%s\nstatement:\t%s\n",
		d.ID, d.Note, d.By, d.To, d.Reason, fmtTime(d.At), safeLine(statement))
	return w.Flush()
}
