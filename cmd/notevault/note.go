package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/identity"
)

func newNoteCmd(g *globals, e *env) *cobra.Command {
	return group("note", "Write, read, list, search and export notes",
		newNoteAddCmd(g, e),
		newNoteImportCmd(g, e),
		newNoteShowCmd(g, e),
		newNoteListCmd(g, e),
		newNoteSearchCmd(g, e),
		newNoteExportCmd(g, e),
		newNoteDeleteCmd(g, e),
		newNoteRekeyCmd(g, e),
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
		Use:   "add --agreement ID --kind KIND [--title T] [--tag TAG] [--file F] -i FILE",
		Short: "Write a note and print its id",
		Long: `Write a note and print its id.

The body comes from --file (--file - reads stdin, even from a terminal, until
end of file), else from stdin when it is not a terminal, else
from $VISUAL or $EDITOR (default vi) editing a file that only you can open,
under $XDG_RUNTIME_DIR/notevault-edit, else /dev/shm/notevault-edit-UID:
memory, never a disk-backed temporary directory. Without either, use --file
or stdin. The file is wiped when the editor exits, and files left by a killed
run are wiped before the next editor opens. SIGINT, SIGTERM or SIGHUP (a
closed terminal) while the editor runs stops it and writes no note; to give
up from inside the editor, quit with an error (:cq in vi) or leave the file
empty.

Before the editor opens, notevault checks that the note could be written:
the agreement exists and is in force, you may write this kind of note, the
title and tags are valid. If the write still fails once the editor closed
(the vault busy, moved, or changed meanwhile), what you typed is kept in a
file only you can read, under $XDG_RUNTIME_DIR/notevault-kept (else
/dev/shm/notevault-kept-UID), and the error names it with the note add
--file command that writes it; that command removes the file once the note
is written.

A body of any size (a session recording, for a note of the recording kind)
is encrypted as it is read from --file or stdin, in bounded memory; bodies
over 1 MiB keep their encrypted chunks in the vault's payload directory,
destroyed with the note like any other copy.`,
		Args: exactArgs(),
		Example: `  notevault note add --agreement a-5znce28d4shyt7ma --kind session --title "First session" --file notes.md -i alice.key
  echo "Progress is good." | notevault note add --agreement a-5znce28d4shyt7ma --kind summary -i alice.key
  notevault note add --agreement a-5znce28d4shyt7ma --kind reflection --tag career -i bob.key   # opens $EDITOR
  pandoc notes.docx -t markdown | notevault note add --agreement a-5znce28d4shyt7ma --kind session --file - -i alice.key
  notevault note add --agreement a-5znce28d4shyt7ma --kind session --title "Session 3 recording" --file session3.webm -i alice.key`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement", "kind"); err != nil {
				return err
			}
			return runNoteAdd(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "the agreement `ID` the note is written under")
	f.StringVar(&opts.kind, "kind", "", "`KIND` of note: "+policy.KindNames(policy.Kinds))
	f.StringVar(&opts.title, "title", "", "the note's `TITLE` (encrypted like the body)")
	f.StringArrayVar(&opts.tags, "tag", nil, "a `TAG` (repeatable; encrypted like the body)")
	f.StringVar(&opts.file, "file", "", "read the body from `FILE` (- reads stdin)")
	return cmd
}

func runNoteAdd(ctx context.Context, opts noteAddOptions, g *globals, e *env) (err error) {
	kind, kerr := policy.ParseKind(opts.kind)
	if kerr != nil {
		return usagef("--kind %q: must be %s", opts.kind, policy.KindNames(policy.Kinds))
	}
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	nn := vault.NewNote{Agreement: opts.agreement, Kind: kind, Content: vault.Content{Title: opts.title, Tags: opts.tags}}
	var (
		body []byte
		rest io.Reader // the body beyond body, read as the note is encrypted
	)
	if opts.file == "" && isTerminal(e.stdin) {
		// Nobody should type a note that cannot be stored: ask first.
		if err := checkWrite(ctx, nn, id, g, e); err != nil {
			return err
		}
		if body, err = editBody(ctx, e); err != nil {
			return err
		}
		// From here on the text exists only in this process: whatever
		// fails keeps it (registered first, so it runs after closeVault).
		defer func() {
			if err != nil {
				err = keepTyped(err, body, opts, g, e)
			}
			clear(body)
		}()
	} else {
		// The first MiB is read before the vault opens, as the whole body
		// used to be: a small note keeps the vault for as long as it did.
		// A larger body (a recording) is encrypted as it is read, with the
		// vault open, and is never whole in memory.
		src, closeBody, err := noteBody(opts.file, e)
		if err != nil {
			return err
		}
		defer closeBody()
		if body, err = io.ReadAll(io.LimitReader(src, preRead)); err != nil {
			clear(body)
			return fmt.Errorf("reading the note body from %s: %w", bodyName(opts.file), err)
		}
		defer clear(body)
		rest = &bodyReader{r: src, name: bodyName(opts.file)}
		if len(body) < preRead {
			rest = nil
		}
	}
	if rest == nil && len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("the note body is empty; nothing was written")
	}
	if isKeptFile(opts.file, e) {
		// A retry of a note whose text was kept: once the note is written
		// and the vault closed, the copy has done its job.
		defer func() {
			if err != nil {
				return
			}
			if werr := wipeTree(opts.file); werr != nil {
				fmt.Fprintf(e.stderr, "notevault: warning: could not remove the kept text %s: %v\n", opts.file, werr)
				return
			}
			fmt.Fprintf(e.stderr, "notevault: removed the kept text %s\n", opts.file)
		}()
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	nn.Body = body
	var n *vault.Note
	if rest != nil {
		n, err = v.AddNoteFrom(ctx, nn, rest, id)
	} else {
		n, err = v.AddNote(ctx, nn, id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: wrote %s note %s under version %d, readable by %s\n", n.Kind, n.ID, n.Version, strings.Join(n.Readers, ", "))
	fmt.Fprintln(e.stdout, n.ID)
	return nil
}

// checkWrite asks the vault whether nn could be written by id now, and
// closes it again: it is not held open while the editor runs.
func checkWrite(ctx context.Context, nn vault.NewNote, id *identity.Identity, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	return v.CanWrite(ctx, nn, id)
}

// keepTyped is what a failure after the editor closed returns: cause, with
// the typed text kept in a private file and the command that writes it, or
// if it cannot be kept, printed on the terminal. Only an empty body, which
// holds nothing to lose, is dropped.
func keepTyped(cause error, body []byte, opts noteAddOptions, g *globals, e *env) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return cause
	}
	path, kerr := keepText(body, e)
	if kerr == nil {
		return withHint(fmt.Errorf("note not written: %w; what you typed is kept in %s, which only you can read", cause, path),
			"when the cause is fixed, %s writes it (and then removes the file)", retryCommand(path, opts, g))
	}
	if tty, terr := e.openTTY(); terr == nil {
		defer tty.Close()
		fmt.Fprintf(tty, "----- the note you typed, not written -----\n%s", body)
		if !bytes.HasSuffix(body, []byte("\n")) {
			fmt.Fprintln(tty)
		}
		fmt.Fprintln(tty, "----- end of the note -----")
		return fmt.Errorf("note not written: %w; what you typed could not be kept (%s), so it is printed on the terminal above", cause, message(kerr))
	}
	return fmt.Errorf("note not written: %w; what you typed could not be kept (%s) and is lost", cause, message(kerr))
}

// retryCommand is the note add command line that writes the kept file at
// path with the options of the run that failed, quoted for a POSIX shell.
func retryCommand(path string, opts noteAddOptions, g *globals) string {
	args := []string{"notevault"}
	if g.vaultDir != "" {
		args = append(args, "--vault", g.vaultDir)
	}
	args = append(args, "note", "add", "--agreement", opts.agreement, "--kind", opts.kind)
	if opts.title != "" {
		args = append(args, "--title", opts.title)
	}
	for _, t := range opts.tags {
		args = append(args, "--tag", t)
	}
	args = append(args, "--file", path)
	if g.identityFile != "" {
		args = append(args, "-i", g.identityFile)
	}
	if g.passphraseFile != "" {
		args = append(args, "--passphrase-file", g.passphraseFile)
	}
	for i, a := range args {
		args[i] = shellWord(a)
	}
	return strings.Join(args, " ")
}

// shellWord quotes s for a POSIX shell, leaving plain words as they are.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// preRead is how much of a body note add reads before it opens the vault.
const preRead = 1 << 20

// noteBody opens the body: file ("-" is stdin), else stdin, which is not a
// terminal (runNoteAdd runs the editor for one).
func noteBody(file string, e *env) (io.Reader, func(), error) {
	if file == "" || file == stdioName {
		return e.stdin, func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the note body: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// bodyName names where the body comes from, for errors.
func bodyName(file string) string {
	if file == "" {
		return "stdin"
	}
	return displayName(file)
}

// bodyReader names the body's source in a read error, which the vault
// reports as a failure to read the body.
type bodyReader struct {
	r    io.Reader
	name string
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", b.name, err)
	}
	return n, err
}

func newNoteShowCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show NOTE -i FILE",
		Short: "Decrypt a note and print its body",
		Long: `Decrypt a note and print its body.

Piped or redirected, the body is passed on byte for byte as it is decrypted,
whatever its size, and nothing is written before it is checked against what
its author signed: a note up to 1 MiB whole, a larger one 1 MiB at a time.
If a large note's stored copy was altered or cut, note show writes the part
before the damage, which is the author's, then fails (exit 1). On a terminal
the body is shown whole, with control characters made harmless; --json
prints title, tags and body. Both hold the note in memory, so a note larger
than 1 MiB is refused there (exit 1), saying how to write it to a file;
note list --json has its title and tags.`,
		Args: exactArgs("NOTE"),
		Example: `  notevault note show n-jvr6sxxs6k3tc9uh -i bob.key
  notevault note show n-jvr6sxxs6k3tc9uh -i bob.key --json   # with title and tags
  notevault note show n-jvr6sxxs6k3tc9uh -i bob.key > session.webm   # a recording, streamed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNoteShow(cmd.Context(), args[0], g, e)
		},
	}
}

func runNoteShow(ctx context.Context, noteID string, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	if !g.json && !isTerminal(e.stdout) {
		return streamNote(ctx, v, noteID, id, e)
	}
	p, err := v.ReadNote(ctx, noteID, id)
	if errors.Is(err, vault.ErrLargeNote) {
		where := "on a terminal"
		if g.json {
			where = "as JSON"
		}
		return withHint(fmt.Errorf("note %s is larger than 1 MiB: it is not shown %s, which would hold it whole in memory", noteID, where),
			"write it to a file: notevault note show %s -i FILE > FILE, or notevault note export %s --out FILE.age", noteID, noteID)
	}
	if err != nil {
		return err
	}
	defer clear(p.Content.Body)
	if g.json {
		return printJSON(e.stdout, plainJSON(p))
	}
	// On a terminal the body is shown, and cannot drive the terminal.
	_, err = io.WriteString(e.stdout, safeText(string(p.Content.Body)))
	return err
}

// streamNote passes the body on byte for byte, piped or redirected, as it
// is decrypted: a recording of any size goes through in bounded memory.
// Nothing is written before it is checked against what its author signed
// (a large note one 1 MiB segment at a time); a copy that stops checking
// out part way leaves only the start of the note written, and the error
// says so.
func streamNote(ctx context.Context, v *vault.Vault, noteID string, id *identity.Identity, e *env) error {
	nr, err := v.OpenNote(ctx, noteID, id)
	if err != nil {
		return err
	}
	defer nr.Close()
	ew := &writeErr{w: e.stdout}
	_, err = io.CopyBuffer(ew, struct{ io.Reader }{nr}, make([]byte, 256<<10))
	switch {
	case ew.err != nil:
		return fmt.Errorf("writing the note to stdout: %w", ew.err)
	case err != nil:
		return withHint(err, "what was written to stdout before this error is only the start of the note")
	}
	return nil
}

// writeErr remembers a write error, to tell it from a read error.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// noteQueryFlags are the filters note list and note search share.
type noteQueryFlags struct {
	agreement string
	kind      string
	since     string
	tag       string
}

func (q *noteQueryFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&q.agreement, "agreement", "", "only the notes of agreement `ID`")
	f.StringVar(&q.kind, "kind", "", "only notes of `KIND` "+policy.KindNames(policy.Kinds))
	f.StringVar(&q.since, "since", "", "only notes written at or after `TIME`: a date (the start of that day, UTC), an RFC 3339 time, or a duration back from now (30d, 2w, 36h)")
	f.StringVar(&q.tag, "tag", "", "only notes with the tag `TAG`, in any case (needs -i: tags are encrypted)")
}

// query reads the flags into a vault.Query.
func (q *noteQueryFlags) query(now time.Time) (vault.Query, error) {
	out := vault.Query{Agreement: q.agreement, Tag: q.tag}
	if q.kind != "" {
		k, err := policy.ParseKind(q.kind)
		if err != nil {
			return out, usagef("--kind %q: must be %s", q.kind, policy.KindNames(policy.Kinds))
		}
		out.Kind = k
	}
	since, err := parseSince(q.since, now)
	if err != nil {
		return out, err
	}
	out.Since = since
	return out, nil
}

// parseSince reads --since: a date (the start of that day in UTC, as for
// consent give --until), an RFC 3339 time, or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := agreement.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("--since %q: give a date (2026-03-01), an RFC 3339 time or a duration such as 30d", s)
}

type noteListOptions struct {
	noteQueryFlags
}

func newNoteListCmd(g *globals, e *env) *cobra.Command {
	var opts noteListOptions
	cmd := &cobra.Command{
		Use:   "list [--agreement ID] [--kind KIND] [--since TIME] [-i FILE [--tag TAG]]",
		Short: "List notes; with -i, the titles and tags of the notes you may read",
		Long: `List notes, oldest first.

Without -i, every note's metadata: id, agreement, version, kind, author,
creation and expiry, readers. That is in the clear by design; nothing is
decrypted and nothing is logged.

With -i FILE, only the notes you may read now, with their titles and tags,
which only a reader's key opens. Each note is decided, verified and decrypted
as notevault note show would; a note that fails verification is listed with
"not shown" and nothing of its content, and the command exits 1. The listing
is one audit record (action note.list: the notes opened and how many were
listed, never a title or a tag), written before anything is printed.

--agreement, --kind and --since work with or without -i; --tag needs -i.
--since takes a date (the start of that day, UTC), an RFC 3339 time or a
duration back from now (30d, 2w, 36h).

With --json, an array of notes. With -i, each also has its "title" and
"tags", "read_as" (reader, grant or disclosure) and, for a grant or a
disclosure, "basis" (its id); a note that failed verification has "problem"
instead of a title and tags, and the listing is printed all the same before
the command exits 1 (docs/json.md).`,
		Example: `  notevault note list
  notevault note list --agreement a-5znce28d4shyt7ma -i bob.key   # titles and tags of what bob may read now
  notevault note list --kind summary --tag scorecard -i bob.key
  notevault note list --since 2026-03-01 --json -i bob.key`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNoteList(cmd.Context(), opts, g, e)
		},
	}
	opts.register(cmd)
	return cmd
}

func runNoteList(ctx context.Context, opts noteListOptions, g *globals, e *env) (err error) {
	q, err := opts.query(e.now())
	if err != nil {
		return err
	}
	if g.identityPath(e) == "" {
		if q.Tag != "" {
			return usagef("--tag needs -i FILE: tags are encrypted, and only a reader's key shows them")
		}
		return runNoteListMeta(ctx, vault.NoteFilter{Agreement: q.Agreement, Kind: q.Kind, Since: q.Since}, g, e)
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ls, err := v.ListReadable(ctx, q, id)
	if err != nil {
		return err
	}
	return printListed(e, g.json, ls)
}

// runNoteListMeta lists note metadata, for anyone: no identity, nothing
// decrypted.
func runNoteListMeta(ctx context.Context, f vault.NoteFilter, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e, readOnly)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
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

// printListed prints a listing of readable notes, then fails if a note in
// it failed verification.
func printListed(e *env, asJSON bool, ls []*vault.Listed) error {
	if asJSON {
		if err := printJSON(e.stdout, listedNotesJSON(ls)); err != nil {
			return err
		}
	} else {
		tw := table(e.stdout)
		fmt.Fprintln(tw, "ID\tKIND\tAUTHOR\tCREATED\tTAGS\tTITLE")
		for _, l := range ls {
			tags, title := orDash(strings.Join(l.Tags, ",")), orDash(l.Title)
			if l.Problem != nil {
				tags, title = "-", "(not shown: it failed verification)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Note.ID, l.Note.Kind, l.Note.Author, fmtTime(l.Note.Created),
				safeLine(tags), safeLine(title))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return listingProblems(ls)
}

// listingProblems is the error for the notes of a listing that failed
// verification, or nil.
func listingProblems(ls []*vault.Listed) error {
	var failed []string
	var first error
	for _, l := range ls {
		if l.Problem != nil {
			failed = append(failed, l.Note.ID)
			if first == nil {
				first = l.Problem
			}
		}
	}
	if first == nil {
		return nil
	}
	err := fmt.Errorf("%w; it is listed without its content", first)
	if len(failed) > 1 {
		err = fmt.Errorf("%d notes failed verification and are listed without their content (%s); the first: %w",
			len(failed), strings.Join(failed, ", "), first)
	}
	return withHint(err, "notevault check names every problem it finds; a backup you trust restores the vault")
}

type noteSearchOptions struct {
	noteQueryFlags
	text string
}

// maxSearchText bounds a search text read from stdin.
const maxSearchText = 64 << 10

func newNoteSearchCmd(g *globals, e *env) *cobra.Command {
	var opts noteSearchOptions
	cmd := &cobra.Command{
		Use:   "search TEXT -i FILE [--agreement ID] [--kind KIND] [--since TIME] [--tag TAG]",
		Short: "Find the notes you may read whose title, tags or body contain TEXT",
		Long: `Find the notes you may read now whose title, one of whose tags, or whose
body contains TEXT, in any case, and list them as notevault note list -i does
(the same columns, the same --json, the same filters).

Every note you may read is decrypted and verified to search it; a note that
fails verification is listed with "not shown", whatever it holds, and the
command exits 1. The search is one audit record (action note.search: the
notes searched and how many matched), written before anything is printed.
The text searched for is never logged, but a command line is visible to
other users of the machine (ps) and stays in your shell history: give TEXT
as - to read it from stdin instead (to search for a lone -, pipe it in).`,
		Example: `  notevault note search scorecard -i bob.key
  notevault note search "feature engineering" --kind session -i bob.key
  notevault note search - -i bob.key < words.txt   # the text stays out of ps and shell history`,
		Args: exactArgs("TEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.text = args[0]
			return runNoteSearch(cmd.Context(), opts, g, e)
		},
	}
	opts.register(cmd)
	return cmd
}

func runNoteSearch(ctx context.Context, opts noteSearchOptions, g *globals, e *env) (err error) {
	q, err := opts.query(e.now())
	if err != nil {
		return err
	}
	text := opts.text
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxSearchText+1))
		if err != nil {
			return fmt.Errorf("reading the search text from stdin: %w", err)
		}
		if len(b) > maxSearchText {
			return usagef("the search text on stdin is longer than %d KiB", maxSearchText>>10)
		}
		text = strings.TrimRight(string(b), "\r\n")
	}
	if strings.TrimSpace(text) == "" {
		return usagef("the search text is empty")
	}
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	ls, err := v.SearchNotes(ctx, text, q, id)
	if err != nil {
		return err
	}
	return printListed(e, g.json, ls)
}

type noteExportOptions struct {
	note     string
	out      string
	bodyOnly bool
}

func newNoteExportCmd(g *globals, e *env) *cobra.Command {
	var opts noteExportOptions
	cmd := &cobra.Command{
		Use:   "export NOTE --out F.age [--body-only] -i FILE",
		Short: "Write a note as a standard age file that your identity opens",
		Long: `Write a note as a standard age file that your identity opens:
age -d -i FILE F.age prints it. --out - writes it to stdout (not to a
terminal: it is binary).

The file is the vault's copy of the note, which the note's other readers
open too. Its plaintext is the note as notevault stores it: header lines, a
blank line, then the body, byte for byte:

  title: First session
  tags: goals, portfolio
  note: n-...
  agreement: a-...
  kind: session
  nonce: <22 characters>

  We agreed to ...

title and tags are empty when the note has none; tags are comma separated.
note, agreement and kind tie the text to its place in the vault, and the
random nonce keeps the author's signed hash of the text from confirming a
guess at it.

--body-only writes instead an age file whose plaintext is the body alone,
encrypted to your key only: for handing the text to other tools. Either way
the export is decided and audited as a read.`,
		Args: exactArgs("NOTE"),
		Example: `  notevault note export n-jvr6sxxs6k3tc9uh --out first.age -i bob.key
  age -d -i bob.key first.age
  notevault note export n-jvr6sxxs6k3tc9uh --out - -i bob.key | age -d -i bob.key
  notevault note export n-jvr6sxxs6k3tc9uh --body-only --out body.age -i bob.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "out"); err != nil {
				return err
			}
			opts.note = args[0]
			return runNoteExport(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write the age file to `F.age` (never overwritten; - writes stdout)")
	cmd.Flags().BoolVar(&opts.bodyOnly, "body-only", false, "the body alone, without the header lines, encrypted to your key only")
	return cmd
}

func runNoteExport(ctx context.Context, opts noteExportOptions, g *globals, e *env) (err error) {
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	// Where the file goes is settled before the export, which is audited as
	// a read: a refusal here leaves no record of an export that never was.
	var out io.Writer = e.stdout
	if opts.out == stdioName {
		if isTerminal(e.stdout) {
			return withHint(errors.New("refusing to write a binary age file to the terminal"),
				"redirect it (--out - > F.age) or pipe it (--out - | age -d -i YOUR-IDENTITY)")
		}
	} else {
		f, ferr := os.OpenFile(opts.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if ferr != nil {
			return ferr
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(opts.out)
			}
		}()
		out = f
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	export := v.ExportNoteTo
	if opts.bodyOnly {
		export = v.ExportNoteBodyTo
	}
	// Streamed: the copy is decrypted and checked as it is written.
	bw := bufio.NewWriterSize(out, 256<<10)
	if err := export(ctx, opts.note, id, bw); err != nil {
		if opts.out == stdioName && !errors.As(err, new(*vault.DeniedError)) && !errors.Is(err, vault.ErrNotFound) {
			return withHint(err, "what was written to stdout before this error is not a whole age file: discard it")
		}
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the age file to %s: %w", displayOut(opts.out), err)
	}
	what, open := "note "+opts.note, "age -d -i YOUR-IDENTITY"
	if opts.bodyOnly {
		what = "the body of " + what
	}
	if opts.out != stdioName {
		open += " " + opts.out
	}
	fmt.Fprintf(e.stderr, "notevault: wrote %s to %s; %s opens it\n", what, displayOut(opts.out), open)
	return nil
}

// displayOut is how an --out file is named in messages.
func displayOut(path string) string {
	if path == stdioName {
		return "stdout"
	}
	return path
}
