package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

func newCompletionCmd() *cobra.Command {
	c := group("completion", "Print the shell completion script for bash, zsh, fish or PowerShell",
		newCompletionShellCmd("bash", `Print the bash completion script of notevault. It needs the bash-completion
package (version 2), which most distributions install with bash.

To load it in the current shell:

  source <(notevault completion bash)

To load it in every new shell, write it where bash-completion looks:

  notevault completion bash > ~/.local/share/bash-completion/completions/notevault`,
			func(root *cobra.Command, w io.Writer, desc bool) error { return root.GenBashCompletionV2(w, desc) }),
		newCompletionShellCmd("zsh", `Print the zsh completion script of notevault.

If completion is not yet enabled in your zsh, enable it once:

  echo "autoload -U compinit; compinit" >> ~/.zshrc

To load it in the current shell:

  source <(notevault completion zsh)

To load it in every new shell, write it to a directory of your $fpath:

  notevault completion zsh > "${fpath[1]}/_notevault"`,
			func(root *cobra.Command, w io.Writer, desc bool) error {
				if desc {
					return root.GenZshCompletion(w)
				}
				return root.GenZshCompletionNoDesc(w)
			}),
		newCompletionShellCmd("fish", `Print the fish completion script of notevault.

To load it in the current shell:

  notevault completion fish | source

To load it in every new shell:

  notevault completion fish > ~/.config/fish/completions/notevault.fish`,
			func(root *cobra.Command, w io.Writer, desc bool) error { return root.GenFishCompletion(w, desc) }),
		newCompletionShellCmd("powershell", `Print the PowerShell completion script of notevault.

To load it in the current shell:

  notevault completion powershell | Out-String | Invoke-Expression

To load it in every new shell, add that line to your PowerShell profile.`,
			func(root *cobra.Command, w io.Writer, desc bool) error {
				if desc {
					return root.GenPowerShellCompletionWithDesc(w)
				}
				return root.GenPowerShellCompletion(w)
			}),
	)
	c.Long = `Print the script that teaches a shell to complete notevault's commands and
flags, and the ids of agreements, notes and disclosures, the names of
participants and the kinds of note from the vault (--vault, else
NOTEVAULT_DIR, else the default). Completing reads only what notevault note
list and notevault disclosure list show without an identity: it never asks
for a passphrase or shows anything encrypted.`
	c.Example = `  source <(notevault completion bash)
  notevault completion zsh > "${fpath[1]}/_notevault"
  notevault completion fish > ~/.config/fish/completions/notevault.fish`
	return c
}

func newCompletionShellCmd(shell, long string, gen func(root *cobra.Command, w io.Writer, desc bool) error) *cobra.Command {
	var noDesc bool
	cmd := &cobra.Command{
		Use:               shell + " [--no-descriptions]",
		Short:             "Print the " + completionShellName[shell] + " completion script",
		Long:              long,
		Example:           completionExamples[shell],
		Args:              exactArgs(),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return gen(cmd.Root(), cmd.OutOrStdout(), !noDesc)
		},
	}
	cmd.Flags().BoolVar(&noDesc, "no-descriptions", false, "complete without a description of each choice")
	return cmd
}

var completionShellName = map[string]string{"bash": "bash", "zsh": "zsh", "fish": "fish", "powershell": "PowerShell"}

var completionExamples = map[string]string{
	"bash":       "  source <(notevault completion bash)\n  notevault completion bash > ~/.local/share/bash-completion/completions/notevault",
	"zsh":        "  source <(notevault completion zsh)\n  notevault completion zsh > \"${fpath[1]}/_notevault\"",
	"fish":       "  notevault completion fish | source\n  notevault completion fish > ~/.config/fish/completions/notevault.fish",
	"powershell": "  notevault completion powershell | Out-String | Invoke-Expression",
}

// completeTimeout is how long a completion waits for a vault that another
// process holds open before it completes nothing: a tab press must not
// hang.
const completeTimeout = 300 * time.Millisecond

// argCompletions are what the first positional argument of a command is.
var argCompletions = map[string]string{
	"notevault agreement accept":   "agreement",
	"notevault agreement amend":    "agreement",
	"notevault agreement show":     "agreement",
	"notevault agreement history":  "agreement",
	"notevault agreement reject":   "agreement",
	"notevault agreement withdraw": "agreement",
	"notevault agreement diff":     "agreement",
	"notevault agreement summary":  "agreement",
	"notevault criterion attest":   "agreement",
	"notevault criterion list":     "agreement",
	"notevault note show":          "note",
	"notevault note export":        "note",
	"notevault note delete":        "note",
	"notevault disclose":           "note",
	"notevault disclosure show":    "disclosure",
}

// flagCompletions are what the values of flags are, by flag name, on every
// command that has the flag.
var flagCompletions = map[string]string{
	"agreement":  "agreement",
	"note":       "note",
	"to":         "participant",
	"who":        "participant",
	"kind":       "kind",
	"kinds":      "kind",
	"role":       "role",
	"log-format": "log-format",
	"status":     "status",
}

// addCompletions teaches the command tree what its arguments and flag
// values are. The ids and names come from the vault, opened as notevault
// note list opens it without an identity: nothing encrypted is read and no
// passphrase is asked for. A completion that fails completes nothing.
func addCompletions(root *cobra.Command, g *globals, e *env) {
	complete := func(what string) cobra.CompletionFunc {
		switch what {
		case "kind":
			kinds := make([]string, len(policy.Kinds))
			for i, k := range policy.Kinds {
				kinds[i] = string(k)
			}
			return fixed(kinds...)
		case "status":
			return fixed(string(policy.StatusMet), string(policy.StatusProgress), string(policy.StatusMissed))
		case "role":
			return fixed(string(policy.Mentor), string(policy.Mentee), string(policy.Supervisor))
		case "log-format":
			return fixed("text", "json")
		default:
			return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return fromVault(cmd.Context(), g, e, what, toComplete), cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
	_ = root.RegisterFlagCompletionFunc("vault", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if what, ok := argCompletions[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			f := complete(what)
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return f(cmd, args, toComplete)
			}
		}
		// LocalNonPersistentFlags builds a flag set on every call: once
		// per command, not once per flag (this walk runs in every process).
		local := c.LocalNonPersistentFlags()
		for name, what := range flagCompletions {
			if local.Lookup(name) != nil {
				// An error means a completion is registered already: the
				// command's own knows better.
				_ = c.RegisterFlagCompletionFunc(name, complete(what))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func fixed(choices ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, c := range choices {
			if strings.HasPrefix(c, toComplete) {
				out = append(out, c)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// fromVault lists the agreement, note or disclosure ids or participant names
// that start with prefix, with a description from the vault's clear metadata.
func fromVault(ctx context.Context, g *globals, e *env, what, prefix string) []cobra.Completion {
	g.completing = true // never a passphrase prompt in the middle of a shell line
	dir, opts, err := vaultOptions(g, e)
	if err != nil {
		return nil
	}
	opts.BusyTimeout = completeTimeout
	v, err := vault.Open(ctx, dir, opts)
	if err != nil {
		return nil
	}
	defer v.Close()
	var out []cobra.Completion
	add := func(choice, desc string) {
		if strings.HasPrefix(choice, prefix) {
			out = append(out, cobra.CompletionWithDesc(choice, desc))
		}
	}
	switch what {
	case "agreement":
		as, err := v.Agreements(ctx)
		if err != nil {
			return nil
		}
		for _, a := range as {
			desc := ""
			if p := a.Latest().Parsed; p != nil {
				desc = fmt.Sprintf("mentor %s, mentee %s", p.Mentor, p.Mentee)
			}
			add(a.ID, desc)
		}
	case "note":
		ns, err := v.ListNotes(ctx, vault.NoteFilter{})
		if err != nil {
			return nil
		}
		for _, n := range ns {
			add(n.ID, fmt.Sprintf("%s by %s, %s", n.Kind, n.Author, n.Created.UTC().Format(time.DateOnly)))
		}
	case "disclosure":
		ds, err := v.Disclosures(ctx, "")
		if err != nil {
			return nil
		}
		for _, d := range ds {
			add(d.ID, fmt.Sprintf("note %s to %s, %s", d.Note, d.To, d.At.UTC().Format(time.DateOnly)))
		}
	case "participant":
		ps, err := v.Participants(ctx)
		if err != nil {
			return nil
		}
		for _, p := range ps {
			add(p.Name, string(p.Role))
		}
	}
	return out
}
