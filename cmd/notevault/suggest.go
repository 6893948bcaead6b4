package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/notevault/notevault/vault/agreement"
)

// suggestCommands returns the whole paths of cmd's subcommands that typed
// may have meant ("notevault note" for "nte"), as cobra's own "did you mean"
// finds them: a Levenshtein distance of at most two, a prefix, or a
// command's SuggestFor.
func suggestCommands(cmd *cobra.Command, typed string) []string {
	if cmd.DisableSuggestions {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	var out []string
	for _, name := range cmd.SuggestionsFor(typed) {
		out = append(out, cmd.CommandPath()+" "+name)
	}
	return out
}

// notExistError is pflag's error for an unknown flag.
type notExistError interface {
	error
	GetSpecifiedName() string
}

// flagError turns a flag parsing error into a usage error; an unknown long
// flag comes with the flags of cmd it may have been meant as.
func flagError(cmd *cobra.Command, err error) error {
	ue := &usageError{msg: err.Error(), help: cmd.CommandPath()}
	var ne notExistError
	if !errors.As(err, &ne) || ne.GetSpecifiedName() == "" {
		return ue
	}
	typed := strings.ToLower(ne.GetSpecifiedName())
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if agreement.Distance(typed, f.Name) <= 2 || (len(typed) > 1 && strings.HasPrefix(f.Name, typed)) {
			ue.suggest = append(ue.suggest, "--"+f.Name)
		}
	})
	return ue
}
