package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault/identity"
)

func newIdentityCmd(g *globals, e *env) *cobra.Command {
	return group("identity", "Create and inspect identity files",
		newIdentityNewCmd(g, e),
		newIdentityPublicCmd(g, e),
	)
}

type identityNewOptions struct {
	out        string
	classic    bool
	passphrase bool
}

func newIdentityNewCmd(g *globals, e *env) *cobra.Command {
	var opts identityNewOptions
	cmd := &cobra.Command{
		Use:   "new --out FILE [--classic] [--passphrase]",
		Short: "Generate a new identity file and print its public key",
		Long: `Generate a new identity file and print its public key.

The key is a post-quantum hybrid age key unless --classic is given. With
--passphrase the file is encrypted with a passphrase read from
--passphrase-file or asked for on the terminal.`,
		Args: exactArgs(),
		Example: `  notevault identity new --out alice.key
  notevault identity new --out bob.key --passphrase
  alice=$(notevault identity new --out alice.key)   # keep the public key line`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "out"); err != nil {
				return err
			}
			return runIdentityNew(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write the identity to `FILE` (never overwritten)")
	cmd.Flags().BoolVar(&opts.classic, "classic", false, "make a classic X25519 key instead of a post-quantum one")
	cmd.Flags().BoolVar(&opts.passphrase, "passphrase", false, "encrypt the file with a passphrase")
	return cmd
}

func runIdentityNew(_ context.Context, opts identityNewOptions, g *globals, e *env) error {
	id, err := identity.Generate(!opts.classic)
	if err != nil {
		return err
	}
	var pass []byte
	if opts.passphrase {
		if pass, err = passphrase(g, e, "passphrase for "+opts.out, true); err != nil {
			return err
		}
		defer clear(pass)
	}
	if err := identity.WriteFile(opts.out, id, pass); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: wrote identity %s; register its public key with notevault participant add\n", opts.out)
	fmt.Fprintln(e.stdout, id.Public().String())
	return nil
}

func newIdentityPublicCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "public -i FILE",
		Short: "Print the public key of an identity file",
		Args:  exactArgs(),
		Example: `  notevault identity public -i alice.key
  notevault identity public -i bob.key --passphrase-file pass.txt`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIdentityPublic(cmd.Context(), g, e)
		},
	}
}

func runIdentityPublic(_ context.Context, g *globals, e *env) error {
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, id.Public().String())
	return nil
}
