package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
)

func newParticipantCmd(g *globals, e *env) *cobra.Command {
	return group("participant", "Register and list the people of the vault",
		newParticipantAddCmd(g, e),
		newParticipantListCmd(g, e),
	)
}

type participantAddOptions struct {
	name string
	role string
	key  string
}

func newParticipantAddCmd(g *globals, e *env) *cobra.Command {
	var opts participantAddOptions
	cmd := &cobra.Command{
		Use:   "add NAME --role mentor|mentee|supervisor --key PUBLIC",
		Short: "Register a participant and print the name",
		Args:  exactArgs("NAME"),
		Example: `  notevault participant add alice --role mentor --key "$(notevault identity public -i alice.key)"
  notevault participant add carol --role supervisor --key "$carol"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "role", "key"); err != nil {
				return err
			}
			opts.name = args[0]
			return runParticipantAdd(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.role, "role", "", "the participant's `ROLE`: mentor, mentee or supervisor")
	cmd.Flags().StringVar(&opts.key, "key", "", "the `PUBLIC` key line that notevault identity public prints")
	return cmd
}

func runParticipantAdd(ctx context.Context, opts participantAddOptions, g *globals, e *env) (err error) {
	role, rerr := policy.ParseRole(opts.role)
	if rerr != nil {
		return usagef("--role %q: must be mentor, mentee or supervisor", opts.role)
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	p, err := v.AddParticipant(ctx, opts.name, role, opts.key)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: registered %s as %s\n", p.Name, p.Role)
	fmt.Fprintln(e.stdout, p.Name)
	return nil
}

func newParticipantListCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the participants",
		Args:  exactArgs(),
		Example: `  notevault participant list
  notevault participant list --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runParticipantList(cmd.Context(), g, e)
		},
	}
}

func runParticipantList(ctx context.Context, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ps, err := v.Participants(ctx)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, participantsJSON(ps))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "NAME\tROLE\tADDED\tKEY")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Role, fmtTime(p.Added), p.Key)
	}
	return tw.Flush()
}
