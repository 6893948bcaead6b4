package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

func newNoteCmd(g *globals, e *env) *cobra.Command {
	return group("note", "Write, read, list and export notes",
		newNoteAddCmd(g, e),
		newNoteShowCmd(g, e),
		newNoteListCmd(g, e),
		newNoteExportCmd(g, e),
		newNoteDeleteCmd(g, e),
	)
}

type noteAddOptions struct {
	agreement string
	kind      string
	title     string
	tags      []string
	file      string
}

func newNoteAddCmd(g *globals, e *env) *cobra.Command {
	var opts noteAddOptions
	cmd := &cobra.Command{
		Use:   "add --agreement ID --kind session|reflection|summary [--title T] [--tag TAG] [--file F] -i FILE",
		Short: "Write a note and print its id",
		Long: `Write a note and print its id.

The body comes from --file, else from stdin when it is not a terminal, else
from $VISUAL or $EDITOR (default vi) editing a file that only you can open,
under $XDG_RUNTIME_DIR/notevault-edit, else /dev/shm/notevault-edit-UID:
memory, never a disk-backed temporary directory. Without either, use --file
or stdin. The file is wiped when the editor exits, and files left by a killed
run are wiped before the next editor opens. SIGINT, SIGTERM or SIGHUP (a
closed terminal) while the editor runs stops it and writes no note; to give
up from inside the editor, quit with an error (:cq in vi) or leave the file
empty.`,
		Args: exactArgs(),
		Example: `  notevault note add --agreement a-5znce28d4shyt7ma --kind session --title "First session" --file notes.md -i alice.key
  echo "Progress is good." | notevault note add --agreement a-5znce28d4shyt7ma --kind summary -i alice.key
  notevault note add --agreement a-5znce28d4shyt7ma --kind reflection --tag career -i bob.key   # opens $EDITOR`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement", "kind"); err != nil {
				return err
			}
			return runNoteAdd(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "the agreement `ID` the note is written under")
	f.StringVar(&opts.kind, "kind", "", "`KIND` of note: session, reflection or summary")
	f.StringVar(&opts.title, "title", "", "the note's `TITLE` (encrypted like the body)")
	f.StringArrayVar(&opts.tags, "tag", nil, "a `TAG` (repeatable; encrypted like the body)")
	f.StringVar(&opts.file, "file", "", "read the body from `FILE`")
	return cmd
}

func runNoteAdd(ctx context.Context, opts noteAddOptions, g *globals, e *env) (err error) {
	kind, kerr := policy.ParseKind(opts.kind)
	if kerr != nil {
		return usagef("--kind %q: must be session, reflection or summary", opts.kind)
	}
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	body, err := noteBody(ctx, opts.file, e)
	if err != nil {
		return err
	}
	defer clear(body)
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("the note body is empty; nothing was written")
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	n, err := v.AddNote(ctx, vault.NewNote{
		Agreement: opts.agreement,
		Kind:      kind,
		Content:   vault.Content{Title: opts.title, Tags: opts.tags, Body: body},
	}, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: wrote %s note %s under version %d, readable by %s\n", n.Kind, n.ID, n.Version, strings.Join(n.Readers, ", "))
	fmt.Fprintln(e.stdout, n.ID)
	return nil
}

// noteBody reads the body from file, else stdin if it is not a terminal,
// else from $EDITOR.
func noteBody(ctx context.Context, file string, e *env) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the note body: %w", err)
		}
		return b, nil
	}
	if f, ok := e.stdin.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the note body from stdin: %w", err)
		}
		return b, nil
	}
	return editBody(ctx, e)
}

func newNoteShowCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show NOTE -i FILE",
		Short: "Decrypt a note and print its body",
		Args:  exactArgs("NOTE"),
		Example: `  notevault note show n-jvr6sxxs6k3tc9uh -i bob.key
  notevault note show n-jvr6sxxs6k3tc9uh -i bob.key --json   # with title and tags`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNoteShow(cmd.Context(), args[0], g, e)
		},
	}
}

func runNoteShow(ctx context.Context, noteID string, g *globals, e *env) (err error) {
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	p, err := v.ReadNote(ctx, noteID, id)
	if err != nil {
		return err
	}
	defer clear(p.Content.Body)
	if g.json {
		return printJSON(e.stdout, plainJSON(p))
	}
	_, err = e.stdout.Write(p.Content.Body)
	return err
}

type noteListOptions struct {
	agreement string
}

func newNoteListCmd(g *globals, e *env) *cobra.Command {
	var opts noteListOptions
	cmd := &cobra.Command{
		Use:   "list [--agreement ID] [-i FILE]",
		Short: "List notes (with -i, only those you may read now)",
		Args:  exactArgs(),
		Example: `  notevault note list
  notevault note list --agreement a-5znce28d4shyt7ma -i bob.key   # only what bob may read now`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNoteList(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "only the notes of agreement `ID`")
	return cmd
}

func runNoteList(ctx context.Context, opts noteListOptions, g *globals, e *env) (err error) {
	f := vault.NoteFilter{Agreement: opts.agreement}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if g.identityPath(e) != "" {
		id, err := loadIdentity(g, e)
		if err != nil {
			return err
		}
		me, err := v.Whoami(ctx, id)
		if err != nil {
			return err
		}
		f.Reader = me.Name
	}
	ns, err := v.ListNotes(ctx, f)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e.stdout, notesJSON(ns))
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "ID\tAGREEMENT\tVERSION\tKIND\tAUTHOR\tCREATED\tEXPIRES\tREADERS")
	for _, n := range ns {
		exp := fmtTime(n.Expires)
		if n.Held() {
			exp += " (held)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Agreement, n.Version, n.Kind, n.Author,
			fmtTime(n.Created), exp, strings.Join(n.Readers, ","))
	}
	return tw.Flush()
}

type noteExportOptions struct {
	note string
	out  string
}

func newNoteExportCmd(g *globals, e *env) *cobra.Command {
	var opts noteExportOptions
	cmd := &cobra.Command{
		Use:   "export NOTE --out F.age -i FILE",
		Short: "Write a note as a standard age file that your identity opens",
		Args:  exactArgs("NOTE"),
		Example: `  notevault note export n-jvr6sxxs6k3tc9uh --out first.age -i bob.key
  age -d -i bob.key first.age`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "out"); err != nil {
				return err
			}
			opts.note = args[0]
			return runNoteExport(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write the age file to `F.age` (never overwritten)")
	return cmd
}

func runNoteExport(ctx context.Context, opts noteExportOptions, g *globals, e *env) (err error) {
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	data, err := v.ExportNote(ctx, opts.note, id)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(opts.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(opts.out)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(opts.out)
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: wrote %s; age -d -i YOUR-IDENTITY %s opens it\n", opts.out, opts.out)
	return nil
}
