package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/remote"
)

type enrolOptions struct {
	key, keyFile string
}

func newEnrolCmd(g *globals, e *env) *cobra.Command {
	var o enrolOptions
	cmd := &cobra.Command{
		Use:   "enrol (--key PUBLIC | --key-file FILE) --vault https://host:port -i ADMIN",
		Short: "Let a participant's key use a vault on a server",
		Long: `Enrol a participant's public key with a notevault server, signed by the
server's admin identity (the key given to notevault serve --admin). The
server then accepts requests signed by that key; every request after that
proves that its sender holds the key. Enrolling is not registering: the
participant still needs notevault participant add, and reads only what
the agreement allows.`,
		Example: `  notevault enrol --key-file bob.pub --vault https://vault.example.org:8443 -i admin.key`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneKeyFlag(cmd); err != nil {
				return err
			}
			return runEnrol(cmd.Context(), o, g, e)
		},
	}
	cmd.Flags().StringVar(&o.key, "key", "", "the `PUBLIC` key line that notevault identity public prints")
	cmd.Flags().StringVar(&o.keyFile, "key-file", "", "read the public key line from `FILE` (- reads stdin)")
	return cmd
}

func runEnrol(ctx context.Context, o enrolOptions, g *globals, e *env) error {
	url, err := g.dir(e)
	if err != nil {
		return err
	}
	if !remote.IsURL(url) {
		return usagef("enrol is for a vault on a server: give --vault https://host:port (a directory's participants need no enrolment)")
	}
	line := o.key
	if o.keyFile != "" {
		if line, err = readKeyFile(o.keyFile, e); err != nil {
			return err
		}
	}
	pub, err := identity.ParsePublicKey(line)
	if err != nil {
		return usagef("--key: %v", err)
	}
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	c, err := remote.Dial(url, id, nil)
	if err != nil {
		return usagef("%v", err)
	}
	if err := c.Enrol(ctx, pub); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: enrolled key %s with %s\n", pub.Fingerprint(), url)
	return nil
}
