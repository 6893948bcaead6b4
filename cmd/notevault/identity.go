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
--passphrase-file or asked for on the terminal.

--out - writes the identity file to stdout instead, as age-keygen does, for
a secret store or a pipe (--out - | pass insert -m notevault/alice). The
public key line then goes to stderr, since stdout holds the identity. On a
terminal the secret key would stay in the scrollback, so notevault warns
first (not with --passphrase: that file is encrypted).`,
		Args: exactArgs(),
		Example: `  notevault identity new --out alice.key
  notevault identity new --out bob.key --passphrase
  alice=$(notevault identity new --out alice.key)   # keep the public key line
  notevault identity new --out - > alice.key        # the identity on stdout, as age-keygen writes it`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "out"); err != nil {
				return err
			}
			return runIdentityNew(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write the identity to `FILE` (never overwritten; - writes stdout)")
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
		if pass, err = passphrase(g, e, "passphrase for "+displayName(opts.out), true); err != nil {
			return err
		}
		defer clear(pass)
	}
	if opts.out == stdioName {
		return writeIdentityStdout(id, pass, e)
	}
	if err := identity.WriteFile(opts.out, id, pass); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: wrote identity %s; register its public key with notevault participant add\n", opts.out)
	fmt.Fprintln(e.stdout, id.Public().String())
	return nil
}

// writeIdentityStdout writes the identity file to stdout (identity new
// --out -) and the public key line to stderr.
func writeIdentityStdout(id *identity.Identity, pass []byte, e *env) error {
	content, err := identity.Marshal(id, pass)
	if err != nil {
		return err
	}
	defer clear(content)
	if pass == nil && isTerminal(e.stdout) {
		fmt.Fprintln(e.stderr, "notevault: warning: writing the secret key to the terminal, whose scrollback keeps it; redirect --out - to a file or a secret store instead")
	}
	if _, err := e.stdout.Write(content); err != nil {
		return fmt.Errorf("writing the identity to stdout: %w", err)
	}
	fmt.Fprintf(e.stderr, "notevault: wrote the identity to stdout; its public key is %s\n", id.Public())
	return nil
}

type identityPublicOptions struct {
	fingerprint bool
}

func newIdentityPublicCmd(g *globals, e *env) *cobra.Command {
	var opts identityPublicOptions
	cmd := &cobra.Command{
		Use:   "public -i FILE [--fingerprint]",
		Short: "Print the public key of an identity file",
		Long: `Print the public key line of an identity file: what notevault participant
add registers (--key, or --key-file with the line saved to a file).

--fingerprint prints the key's fingerprint instead, SHA256 and base64 as
ssh-keygen -l prints one: what participant list and agreement show print
for the key, to compare by eye or over the phone.`,
		Args: exactArgs(),
		Example: `  notevault identity public -i alice.key
  notevault identity public -i alice.key > alice.pub   # for participant add --key-file
  notevault identity public -i alice.key --fingerprint
  notevault identity public -i bob.key --passphrase-file pass.txt`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIdentityPublic(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.fingerprint, "fingerprint", false, "print the key's fingerprint instead of the key")
	return cmd
}

func runIdentityPublic(_ context.Context, opts identityPublicOptions, g *globals, e *env) error {
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	if opts.fingerprint {
		fmt.Fprintln(e.stdout, id.Public().Fingerprint())
		return nil
	}
	fmt.Fprintln(e.stdout, id.Public().String())
	return nil
}
