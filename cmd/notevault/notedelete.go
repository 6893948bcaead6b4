package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newNoteDeleteCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NOTE -i FILE",
		Short: "Destroy a note now, as the retention sweep would",
		Long: `Destroy a note now, with the same guarantee as the retention sweep: nobody,
not even a participant with their own key, can recover it from the vault's
files. Its author or the agreement's mentee may delete it; a held note cannot
be deleted. A receipt (what, when, under which rule) stays in the audit log.`,
		Args: exactArgs("NOTE"),
		Example: `  notevault note delete n-jvr6sxxs6k3tc9uh -i alice.key
  notevault audit log --agreement a-5znce28d4shyt7ma   # the receipt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNoteDelete(cmd.Context(), args[0], g, e)
		},
	}
}

func runNoteDelete(ctx context.Context, noteID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	r, err := v.DeleteNote(ctx, noteID, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: note %s destroyed\n", r.Note)
	return nil
}
