package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newCheckCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the whole store and name the first problem",
		Long: `Verify the whole vault, as restic check does a repository: badger's own
checksums, every participant's key and its proof of possession, every
agreement's chain of signed facts (and that it reaches every fact the audit
log recorded), every note's author signature, expiry index entry and sealed
copies, a shred key for every live copy and no orphan keys, and the audit
log with its signed checkpoint.

It needs no identity and changes nothing. It exits 0 when all is well and 1
naming the first problem it finds.`,
		Args: exactArgs(),
		Example: `  notevault check
  notevault --vault /var/lib/notevault check --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.Context(), g, e)
		},
	}
}

func runCheck(ctx context.Context, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	r, err := v.Check(ctx)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, checkReportJSON(r))
	}
	fmt.Fprintf(e.stdout, "ok: %d participants, %d agreements (%d facts), %d notes, %d sealed copies, %d shred keys, %d audit records\n",
		r.Participants, r.Agreements, r.Facts, r.Notes, r.Copies, r.Keys, r.AuditRecords)
	return nil
}
