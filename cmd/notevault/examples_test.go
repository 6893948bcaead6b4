package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command's help has an Examples section, and every notevault command
// line in it names a real command with real flags and the right number of
// arguments, with its quotes balanced: what a user pastes runs.
func TestExamples(t *testing.T) {
	root := newRootCmd(&env{getenv: func(string) string { return "" }})
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Runnable() || sub.HasAvailableSubCommands() {
				walk(sub)
			}
		}
		if !c.Runnable() {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", c.CommandPath())
			return
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") {
				t.Errorf("%s: example %q is not indented by two spaces, as help prints examples", c.CommandPath(), line)
				continue
			}
			cmds, err := shellCommands(line)
			if err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), line, err)
				continue
			}
			for _, words := range cmds {
				if words[0] != "notevault" {
					continue
				}
				if err := checkCommandLine(root, words[1:]); err != nil {
					t.Errorf("%s: example %q: %v", c.CommandPath(), line, err)
				}
			}
		}
	}
	walk(root)
}

// checkCommandLine parses args as notevault would, short of running it.
func checkCommandLine(root *cobra.Command, args []string) error {
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if !cmd.Runnable() {
		return fmt.Errorf("%s is not a command that runs", cmd.CommandPath())
	}
	// Find leaves the flags of every level in rest; parse them on a fresh
	// tree so that one example's flags do not leak into the next.
	freshRoot := newRootCmd(&env{getenv: func(string) string { return "" }})
	freshRoot.InitDefaultHelpCmd()
	fresh, _, _ := freshRoot.Find(args)
	fresh.InitDefaultHelpFlag()
	if err := fresh.ParseFlags(rest); err != nil {
		return err
	}
	if fresh.Name() == "help" {
		if _, left, err := freshRoot.Find(fresh.Flags().Args()); err != nil || len(left) > 0 {
			return fmt.Errorf("no help topic %q", strings.Join(fresh.Flags().Args(), " "))
		}
		return nil
	}
	return fresh.ValidateArgs(fresh.Flags().Args())
}

// shellCommands splits a line of POSIX shell into the words of each simple
// command in it: quotes, backslashes, pipes, lists, redirections, comments
// and $( ) or <( ) substitutions (also inside double quotes), which are
// commands of their own and stand for one word of the outer one. Variables
// stay as written. It fails on unbalanced quotes or parentheses.
func shellCommands(line string) ([][]string, error) {
	type outer struct {
		cur      []string
		word     string
		inDouble bool
	}
	var (
		out      [][]string
		stack    []outer // what a substitution interrupted
		cur      []string
		word     strings.Builder
		inWord   bool
		inDouble bool
		redirto  bool // the next word is a redirection's target
	)
	endWord := func() {
		if !inWord {
			return
		}
		if redirto {
			redirto = false
		} else if w := word.String(); len(cur) > 0 || !isAssignment(w) {
			cur = append(cur, w)
		}
		word.Reset()
		inWord = false
	}
	endCmd := func() {
		endWord()
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case (ch == '$' || ch == '<' && !inDouble) && i+1 < len(line) && line[i+1] == '(':
			word.WriteString("SUBSTITUTION")
			stack = append(stack, outer{cur: cur, word: word.String(), inDouble: inDouble})
			cur, inDouble, inWord = nil, false, false
			word.Reset()
			i++
		case inDouble && ch == '"':
			inDouble = false
		case inDouble && ch == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
		case inDouble:
			word.WriteByte(ch)
		case ch == '"':
			inDouble, inWord = true, true
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unbalanced single quote")
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case ch == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case ch == ')':
			if len(stack) == 0 {
				return nil, fmt.Errorf("unbalanced )")
			}
			endCmd()
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			cur, inDouble, inWord = o.cur, o.inDouble, true
			word.Reset()
			word.WriteString(o.word)
		case ch == '|' || ch == ';' || ch == '&':
			endCmd()
		case ch == '>' || ch == '<':
			if inWord && (word.String() == "2" || word.String() == "1") {
				word.Reset()
				inWord = false
			}
			endWord()
			if i+1 < len(line) && line[i+1] == '>' {
				i++
			}
			redirto = true
		case ch == '#' && !inWord:
			i = len(line)
		case ch == ' ' || ch == '\t':
			endWord()
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	if inDouble {
		return nil, fmt.Errorf("unbalanced double quote")
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unbalanced (")
	}
	endCmd()
	return out, nil
}

// isAssignment reports whether w is a VAR=value prefix of a command.
func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func TestShellCommands(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string
	}{
		{`notevault init`, `[[notevault init]]`},
		{`  notevault note add --title "First session" -i alice.key   # a comment`, `[[notevault note add --title First session -i alice.key]]`},
		{`a=$(notevault agreement create --file agreement.yaml)`, `[[notevault agreement create --file agreement.yaml]]`},
		{`notevault participant add alice --key "$(notevault identity public -i alice.key)"`,
			`[[notevault identity public -i alice.key] [notevault participant add alice --key SUBSTITUTION]]`},
		{`echo "a b" | notevault note add -i 'x y'`, `[[echo a b] [notevault note add -i x y]]`},
		{`notevault audit checkpoint > ~/offsite/vault.checkpoint 2>/dev/null`, `[[notevault audit checkpoint]]`},
		{`source <(notevault completion bash)`, `[[notevault completion bash] [source SUBSTITUTION]]`},
		{`NOTEVAULT_DIR=$PWD/vault notevault init && notevault check`, `[[notevault init] [notevault check]]`},
		{`notevault retention daemon --schedule "17 3 * * *"`, `[[notevault retention daemon --schedule 17 3 * * *]]`},
		{`notevault note add --title "Bob's \"plan\""`, `[[notevault note add --title Bob's "plan"]]`},
	} {
		got, err := shellCommands(tc.line)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.line, s, tc.want)
		}
	}
	for _, bad := range []string{`notevault note add --title "First session`, `notevault note add --title 'x`, `a=$(notevault init`, `notevault init)`} {
		if _, err := shellCommands(bad); err == nil {
			t.Errorf("%s: no error for unbalanced quoting", bad)
		}
	}
}
