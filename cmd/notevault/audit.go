package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault/audit"
)

func newAuditCmd(g *globals, e *env) *cobra.Command {
	return group("audit", "Read and verify the tamper-evident audit log",
		newAuditLogCmd(g, e),
		newAuditVerifyCmd(g, e),
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
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	rs, err := v.AuditLog(ctx, opts.agreement)
	if err != nil {
		return err
	}
	if g.json {
		if rs == nil {
			rs = []*audit.Record{}
		}
		return printJSON(e.stdout, rs)
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tAGREEMENT\tSUBJECT\tKIND\tRULE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, fmtTime(r.Time), r.Actor, r.Action,
			orDash(r.Agreement), orDash(r.Subject), orDash(r.Kind), orDash(r.Rule))
	}
	return tw.Flush()
}

func newAuditVerifyCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit chain and every signature",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditVerify(cmd.Context(), g, e)
		},
	}
}

func runAuditVerify(ctx context.Context, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	n, err := v.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit log verification failed: %w", err)
	}
	fmt.Fprintf(e.stdout, "audit log verified: %d records\n", n)
	return nil
}
