package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault"
)

func newInitCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create a new vault",
		Args:  exactArgs(),
		Example: `  notevault init
  notevault --vault ./vault init`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd.Context(), g, e)
		},
	}
}

func runInit(_ context.Context, g *globals, e *env) error {
	dir, opts, err := vaultOptions(g, e)
	if err != nil {
		return err
	}
	if err := vault.InitWith(dir, opts); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: created a vault in %s\n", dir)
	return nil
}
