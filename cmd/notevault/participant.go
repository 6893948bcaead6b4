package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
)

func newParticipantCmd(g *globals, e *env) *cobra.Command {
	return group("participant", "Register and list the people of the vault",
		newParticipantAddCmd(g, e),
		newParticipantListCmd(g, e),
		newParticipantRemoveCmd(g, e),
		newParticipantRotateCmd(g, e),
		newParticipantReplaceCmd(g, e),
	)
}

type participantAddOptions struct {
	name    string
	role    string
	key     string
	keyFile string
}

func newParticipantAddCmd(g *globals, e *env) *cobra.Command {
	var opts participantAddOptions
	cmd := &cobra.Command{
		Use:   "add NAME --role mentor|mentee|supervisor (--key PUBLIC | --key-file FILE)",
		Short: "Register a participant and print the name",
		Long: `Register a participant and print the name.

The public key is the line notevault identity public prints, given on the
command line with --key or in a file with --key-file (- reads stdin), so
that it need not be pasted: notevault identity public -i bob.key > bob.pub
makes such a file. A file holding a secret key (an identity file) is refused:
only the person it belongs to should ever hold it. The key's fingerprint is
printed on stderr, to compare with what notevault identity public
--fingerprint prints on its owner's machine.`,
		Args: exactArgs("NAME"),
		Example: `  notevault participant add alice --role mentor --key "$(notevault identity public -i alice.key)"
  notevault participant add bob --role mentee --key-file bob.pub
  notevault identity public -i carol.key | notevault participant add carol --role supervisor --key-file -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "role"); err != nil {
				return err
			}
			if err := oneKeyFlag(cmd); err != nil {
				return err
			}
			opts.name = args[0]
			return runParticipantAdd(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.role, "role", "", "the participant's `ROLE`: mentor, mentee or supervisor")
	cmd.Flags().StringVar(&opts.key, "key", "", "the `PUBLIC` key line that notevault identity public prints")
	cmd.Flags().StringVar(&opts.keyFile, "key-file", "", "read the public key line from `FILE` (- reads stdin)")
	return cmd
}

// oneKeyFlag checks that exactly one of --key and --key-file was given.
func oneKeyFlag(cmd *cobra.Command) error {
	switch key, file := cmd.Flags().Changed("key"), cmd.Flags().Changed("key-file"); {
	case key && file:
		return usagef("%s: give --key or --key-file, not both", cmd.CommandPath())
	case !key && !file:
		return usagef("%s: missing --key or --key-file", cmd.CommandPath())
	}
	return nil
}

// maxKeyFile bounds what --key-file reads: a key line is about 2 KiB.
const maxKeyFile = 64 << 10

// readKeyFile reads the public key line from a --key-file.
func readKeyFile(path string, e *env) (string, error) {
	data, err := readInput(path, "the key file", e)
	if err != nil {
		return "", err
	}
	defer clear(data) // it may hold a secret key after all
	if len(data) > maxKeyFile {
		return "", fmt.Errorf("key file %s is larger than %d KiB: it cannot be a public key line", displayName(path), maxKeyFile>>10)
	}
	pub, err := identity.ParsePublicKeyFile(data)
	switch {
	case errors.Is(err, identity.ErrSecretKeyFile):
		return "", withHint(fmt.Errorf("key file %s holds a secret key (an identity file), not a public key; refusing to register it", displayName(path)),
			"never hand an identity file to anyone; its owner runs notevault identity public -i FILE > NAME.pub and gives you that")
	case err != nil:
		return "", fmt.Errorf("key file %s: %w", displayName(path), err)
	}
	return pub.String(), nil
}

func runParticipantAdd(ctx context.Context, opts participantAddOptions, g *globals, e *env) (err error) {
	role, rerr := policy.ParseRole(opts.role)
	if rerr != nil {
		return usagef("--role %q: must be mentor, mentee or supervisor", opts.role)
	}
	if opts.keyFile != "" {
		if opts.key, err = readKeyFile(opts.keyFile, e); err != nil {
			return err
		}
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
	fmt.Fprintf(e.stderr, "notevault: registered %s as %s with key %s\n", p.Name, p.Role, p.Fingerprint())
	fmt.Fprintln(e.stdout, p.Name)
	return nil
}

type participantListOptions struct {
	long bool
}

func newParticipantListCmd(g *globals, e *env) *cobra.Command {
	var opts participantListOptions
	cmd := &cobra.Command{
		Use:   "list [--long]",
		Short: "List the participants with their key fingerprints",
		Long: `List the participants with the fingerprints of their keys: SHA256 and the
base64 of a hash of the key, as ssh-keygen -l prints for SSH keys. The
owner of a key sees the same with notevault identity public --fingerprint.
--long adds the full public key lines (about 2 KB each for post-quantum
keys); --json has them too.`,
		Args: exactArgs(),
		Example: `  notevault participant list
  notevault participant list --long
  notevault participant list --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runParticipantList(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.long, "long", false, "add the full public key lines")
	return cmd
}

func runParticipantList(ctx context.Context, opts participantListOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
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
	if opts.long {
		fmt.Fprintln(tw, "NAME\tROLE\tADDED\tFINGERPRINT\tKEY")
	} else {
		fmt.Fprintln(tw, "NAME\tROLE\tADDED\tFINGERPRINT")
	}
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s", p.Name, p.Role, fmtTime(p.Added), p.Fingerprint())
		if opts.long {
			fmt.Fprintf(tw, "\t%s", p.Key)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func newParticipantRemoveCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a participant who is a party of no open agreement",
		Long: `Remove a participant who is a party of no open agreement, and log it.

A participant named by an open agreement (any version of it) is refused,
naming the agreement: either party ends it first with notevault agreement
close. One who was never a party is deleted and the name is free again
(for instance to register the same person with another kind of key). One
who was a party of closed agreements stays on record as removed, with the
key, so that the signatures of those agreements can still be checked: they
can no longer act, participant list no longer shows them, and the name is
not given out again.`,
		Args: exactArgs("NAME"),
		Example: `  notevault participant remove dave
  notevault participant list`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runParticipantRemove(cmd.Context(), args[0], g, e)
		},
	}
}

func runParticipantRemove(ctx context.Context, name string, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	p, kept, err := v.RemoveParticipant(ctx, name)
	if err != nil {
		return err
	}
	if kept {
		fmt.Fprintf(e.stderr, "notevault: removed %s; the record stays, with key %s, to check the signatures of closed agreements\n", p.Name, p.Fingerprint())
	} else {
		fmt.Fprintf(e.stderr, "notevault: removed %s (key %s)\n", p.Name, p.Fingerprint())
	}
	fmt.Fprintln(e.stdout, p.Name)
	return nil
}
