package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/remote"
)

type initOptions struct {
	ifMissing bool
}

func newInitCmd(g *globals, e *env) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init [--if-missing]",
		Short: "Create a new vault",
		Long: `Create a new vault, and pin it (see notevault help). A second init of the
same vault fails, unless --if-missing is given: then a vault that is there
already is left as it is, which is what a service's start-up step needs.`,
		Example: `  notevault init
  notevault --vault ./vault init
  notevault --vault /var/lib/notevault init --if-missing`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.ifMissing, "if-missing", false, "succeed without a change when the vault exists already")
	return cmd
}

func runInit(ctx context.Context, opts initOptions, g *globals, e *env) error {
	if d, err := g.dir(e); err == nil && remote.IsURL(d) {
		return initRemote(ctx, g, e, d)
	}
	dir, vopts, err := vaultOptions(g, e)
	if err != nil {
		return err
	}
	err = vault.InitWith(dir, vopts)
	if opts.ifMissing && errors.Is(err, vault.ErrExists) {
		fmt.Fprintf(e.stderr, "notevault: a vault is already in %s; left as it is\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: created a vault in %s\n", dir)
	return nil
}

// initRemote connects to the vault on a server: the server made it when it
// started, so init only checks that it answers and that this identity may
// use it, and creates this user's local state and pin for it.
func initRemote(ctx context.Context, g *globals, e *env, url string) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if _, err := v.Participants(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: connected to the vault at %s (your local state for it: %s)\n", url, v.Dir())
	return nil
}
