package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newHelpCmd replaces cobra's help command, which prints the root's help and
// exits 0 for a topic it does not know: this one says so and exits 2.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long: `Print the help of a command or a help topic: its use, flags and examples.
"notevault help COMMAND" is the same as "notevault COMMAND --help".`,
		Example: `  notevault help note add
  notevault help exit-codes`,
		ValidArgsFunction: completeHelpTopics,
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil {
				cmd, rest = root, args
			}
			if len(rest) > 0 {
				where := "notevault has"
				if cmd != root {
					where = cmd.CommandPath() + " has"
				}
				return &usageError{
					msg:     fmt.Sprintf("no help for %q: %s no such command or topic", strings.Join(args, " "), where),
					help:    cmd.CommandPath(),
					suggest: suggestCommands(cmd, rest[0]),
				}
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// completeHelpTopics completes the words after "notevault help" with the
// commands and topics below what is typed so far.
func completeHelpTopics(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cmd, rest, err := c.Root().Find(args)
	if err != nil || len(rest) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, sub := range cmd.Commands() {
		if (sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand()) && strings.HasPrefix(sub.Name(), toComplete) {
			out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
