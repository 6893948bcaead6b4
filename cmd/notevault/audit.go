package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals, e *env) *cobra.Command {
	return group("audit", "Read and verify the tamper-evident audit log",
		newAuditLogCmd(g, e),
		newAuditVerifyCmd(g, e),
		newAuditCheckpointCmd(g, e),
	)
}

type auditLogOptions struct {
	agreement string
}

func newAuditLogCmd(g *globals, e *env) *cobra.Command {
	var opts auditLogOptions
	cmd := &cobra.Command{
		Use:   "log [--agreement ID]",
		Short: "List the audit records, oldest first",
		Args:  exactArgs(),
		Example: `  notevault audit log --agreement a-5znce28d4shyt7ma
  notevault audit log --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditLog(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "only the records of agreement `ID`")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runAuditLog(ctx context.Context, opts auditLogOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	rs, err := v.AuditLog(ctx, opts.agreement)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, auditRecordsJSON(rs))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tAGREEMENT\tSUBJECT\tKIND\tRULE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, fmtTime(r.Time), r.Actor, r.Action,
			orDash(r.Agreement), orDash(r.Subject), orDash(r.Kind), orDash(r.Rule))
	}
	return tw.Flush()
}

type auditVerifyOptions struct {
	checkpoint string
}

func newAuditVerifyCmd(g *globals, e *env) *cobra.Command {
	var opts auditVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify [--checkpoint FILE]",
		Short: "Recompute the audit chain and every signature",
		Long: `Recompute the audit chain and every signature, check the log against the
vault's signed checkpoint, and name the first record that fails.

With --checkpoint FILE, also check that the log still extends a checkpoint
kept outside the vault (as printed by notevault audit checkpoint): a log cut
or rolled back below it fails. The checkpoint must be signed by the vault's
checkpoint key, the one you pinned if you have used this vault before.`,
		Args: exactArgs(),
		Example: `  notevault audit verify
  notevault audit verify --checkpoint ~/offsite/vault.checkpoint`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditVerify(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.checkpoint, "checkpoint", "", "also check the log against the signed checkpoint in `FILE`")
	return cmd
}

func runAuditVerify(ctx context.Context, opts auditVerifyOptions, g *globals, e *env) (err error) {
	var kept []byte
	if opts.checkpoint != "" {
		if kept, err = os.ReadFile(opts.checkpoint); err != nil {
			return fmt.Errorf("reading the checkpoint: %w", err)
		}
	}
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	var n uint64
	if kept != nil {
		n, err = v.VerifyAuditCheckpoint(ctx, kept)
	} else {
		n, err = v.VerifyAudit(ctx)
	}
	if err != nil {
		return fmt.Errorf("audit log verification failed: %w", err)
	}
	if g.json {
		return printJSON(e.stdout, auditVerifyJSON{OK: true, Records: n, Checkpoint: opts.checkpoint})
	}
	_, err = fmt.Fprintf(e.stdout, "audit log verified: %d records\n", n)
	return err
}

func newAuditCheckpointCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoint",
		Short: "Print the audit log's signed checkpoint, to keep outside the vault",
		Long: `Print the vault's newest signed checkpoint: the size and head hash of the
audit log, signed with the vault's checkpoint key (a golang.org/x/mod/sumdb/note
signed note). Keep a copy somewhere the vault's writers cannot reach; later,
notevault audit verify --checkpoint FILE shows whether the log still extends it.`,
		Args: exactArgs(),
		Example: `  notevault audit checkpoint > ~/offsite/vault.checkpoint
  notevault audit verify --checkpoint ~/offsite/vault.checkpoint`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditCheckpoint(cmd.Context(), g, e)
		},
	}
}

func runAuditCheckpoint(ctx context.Context, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	msg, err := v.Checkpoint(ctx)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(msg)
	return err
}
