package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newPolicyCmd(g *globals, e *env) *cobra.Command {
	return group("policy", "Ask the policy engine and see why", newPolicyExplainCmd(g, e))
}

type policyExplainOptions struct {
	note string
	who  string
}

func newPolicyExplainCmd(g *globals, e *env) *cobra.Command {
	var opts policyExplainOptions
	cmd := &cobra.Command{
		Use:   "explain --note NOTE --who NAME",
		Short: "Explain whether NAME may read NOTE now (exit 0 allowed, 3 denied)",
		Args:  exactArgs(),
		Example: `  notevault policy explain --note n-jvr6sxxs6k3tc9uh --who carol
  notevault policy explain --note n-jvr6sxxs6k3tc9uh --who carol --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "note", "who"); err != nil {
				return err
			}
			return runPolicyExplain(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.note, "note", "", "the note `ID`")
	cmd.Flags().StringVar(&opts.who, "who", "", "the participant `NAME`")
	return cmd
}

func runPolicyExplain(ctx context.Context, opts policyExplainOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	d, err := v.Explain(ctx, opts.note, opts.who)
	if err != nil {
		return err
	}
	if g.json {
		err = printJSON(e.stdout, decisionOf(d))
	} else {
		_, err = fmt.Fprintln(e.stdout, d.String())
	}
	if err != nil {
		return err
	}
	if !d.Allowed() {
		return &exitError{code: exitDenied}
	}
	return nil
}
