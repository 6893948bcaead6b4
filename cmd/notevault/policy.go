package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newPolicyCmd(g *globals, e *env) *cobra.Command {
	return group("policy", "Ask the policy engine and see why", newPolicyExplainCmd(g, e), newPolicyRulesCmd(g, e))
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

type policyRulesOptions struct {
	agreement string
	who       string
}

func newPolicyRulesCmd(g *globals, e *env) *cobra.Command {
	var opts policyRulesOptions
	cmd := &cobra.Command{
		Use:   "rules --agreement ID --who NAME",
		Short: "Show what NAME may do under an agreement, each with the policy's reason",
		Long: `Show what NAME may do under the agreement's version in force, one line per
action, each the decision the action itself would meet and why: placing a
hold, releasing a hold someone else placed, consenting to and granting each
kind of note a consent can cover, receiving a disclosure under each
exception, and the caps on grants and consents. A grant still needs a live
consent when it is made; policy explain --note decides reads.`,
		Args: exactArgs(),
		Example: `  notevault policy rules --agreement a-5znce28d4shyt7ma --who carol
  notevault policy rules --agreement a-5znce28d4shyt7ma --who bob --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement", "who"); err != nil {
				return err
			}
			return runPolicyRules(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "the agreement `ID`")
	cmd.Flags().StringVar(&opts.who, "who", "", "the participant `NAME`")
	return cmd
}

func runPolicyRules(ctx context.Context, opts policyRulesOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	abilities, err := v.Abilities(ctx, opts.agreement, opts.who)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, abilitiesJSON(abilities))
	}
	for _, a := range abilities {
		if _, err := fmt.Fprintf(e.stdout, "%s: %s\n", a.Action, a.Decision); err != nil {
			return err
		}
	}
	return nil
}

func runPolicyExplain(ctx context.Context, opts policyExplainOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
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
