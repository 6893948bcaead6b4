package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is the date every man page carries. It is fixed, not the time of
// the run, so that the pages are the same bytes on every machine and
// docs/man can be checked against the command tree; move it forward when
// the command line changes in earnest.
var manDate = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

type manOptions struct {
	dir string
}

func newManCmd(e *env) *cobra.Command {
	var opts manOptions
	cmd := &cobra.Command{
		Use:   "man --dir DIR",
		Short: "Write the man pages of every command to a directory",
		Long: `Write a man page (section 1) for notevault and each of its commands, such
as notevault-note-add.1, to DIR, creating it if needed and replacing pages
of the same names. The pages are generated from the same command tree as
--help; docs/man in the repository holds the same pages.`,
		Example: `  notevault man --dir ~/.local/share/man/man1
  man notevault-note-add`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "dir"); err != nil {
				return err
			}
			return runMan(cmd.Root(), opts, e)
		},
	}
	cmd.Flags().StringVar(&opts.dir, "dir", "", "write the pages to `DIR`")
	return cmd
}

func runMan(root *cobra.Command, opts manOptions, e *env) error {
	if err := os.MkdirAll(opts.dir, 0o755); err != nil {
		return fmt.Errorf("creating the man page directory: %w", err)
	}
	if err := genMan(root, opts.dir); err != nil {
		return fmt.Errorf("writing the man pages: %w", err)
	}
	fmt.Fprintf(e.stderr, "notevault: wrote %d man pages to %s\n", countPages(root), opts.dir)
	return nil
}

// countPages is how many pages GenManTree writes for c: one per command
// that help lists.
func countPages(c *cobra.Command) int {
	n := 1
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			n += countPages(sub)
		}
	}
	return n
}

// genMan writes the man pages of root's tree to dir, the same bytes on
// every run: a fixed date, a fixed source, and no "auto generated on"
// line.
func genMan(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	date := manDate
	return doc.GenManTree(root, &doc.GenManHeader{
		Section: "1",
		Date:    &date,
		Source:  "notevault",
		Manual:  "notevault manual",
	}, dir)
}
