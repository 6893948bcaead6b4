package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
)

type noteImportOptions struct {
	agreement string
	kind      string
	source    string
}

func newNoteImportCmd(g *globals, e *env) *cobra.Command {
	var opts noteImportOptions
	cmd := &cobra.Command{
		Use:   "import --agreement ID --kind KIND (DIR | FILE.jsonl | -) -i FILE",
		Short: "Write many notes at once from a folder or JSON lines",
		Long: `Write many notes at once, each exactly as note add writes one: signed by you,
encrypted to the readers the agreement gives the kind, copied under live
grants, and logged. Notes are written in batches, one transaction each, with
the encryption spread over every CPU.

DIR is a folder of text or markdown files: every file ending in .md,
.markdown or .txt under it, in lexical order of path, is one note (hidden
files and folders, such as .git, are skipped; other files are counted and
named as ignored). The note's body is the file as it is, front matter
included, so nothing of it is lost. Its title is the front matter's title,
else the file's first heading (# Title), else the file name without its
extension; its tags are the front matter's tags (a list, or a string of
comma-separated tags). Front matter is YAML between a first line --- and a
line --- or ... .

FILE.jsonl (or - for stdin) holds one JSON object per line, blank lines
skipped:

  {"title": "First session", "tags": ["goals"], "body": "We agreed to ..."}

body is required and not empty; title and tags are optional; any other
field is refused. Notes are dated when they are imported: their retention
starts then, as for note add, so there is no created field.

The whole source is read and checked before anything is written: a line
that is not such an object, a file that cannot be read, an empty body, a
title of several lines or a tag with a comma names the item and writes
nothing. stdin is read into memory first (never into a file).

An import can be interrupted (Ctrl-C stops it after the batch under way)
and run again: items it already wrote are skipped, by a mark the store keeps
per item that names no title, tag, body or file name (a keyed hash under a
key only your identity derives). Identical items in one source are distinct
notes. An item whose note was deleted or expired since is written again.

Note ids are printed on stdout in the order of the source, one per line,
those written by an earlier run included. On a terminal a progress bar shows
on stderr; otherwise nothing but the final summary is printed there.`,
		Args: exactArgs("SOURCE"),
		Example: `  notevault note import --agreement a-5znce28d4shyt7ma --kind session ./old-notes -i alice.key
  notevault note import --agreement a-5znce28d4shyt7ma --kind reflection notes.jsonl -i bob.key
  jq -c '{title: .name, body: .text}' export.json | notevault note import --agreement a-5znce28d4shyt7ma --kind session - -i alice.key
  notevault --json note import --agreement a-5znce28d4shyt7ma --kind summary ./summaries -i alice.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "agreement", "kind"); err != nil {
				return err
			}
			opts.source = args[0]
			return runNoteImport(cmd.Context(), opts, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.agreement, "agreement", "", "the agreement `ID` the notes are written under")
	f.StringVar(&opts.kind, "kind", "", "`KIND` of every note: "+policy.KindNames(policy.Kinds))
	return cmd
}

// importEntry is one item of a source, read and checked.
type importEntry struct {
	name string // "notes/a.md", "notes.jsonl line 3"
	vault.Content
}

// importSource reads a source twice: once to check every item, once to
// import it. Each pass calls fn for every item in order.
type importSource struct {
	path    string
	dir     bool
	stdin   []byte // stdin, read once
	ignored []string
}

func openImportSource(path string, e *env) (*importSource, error) {
	s := &importSource{path: path}
	if path == stdioName {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the notes from stdin: %w", err)
		}
		s.stdin = b
		return s, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, unwrapPath(err))
	}
	s.dir = fi.IsDir()
	return s, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s *importSource) each(fn func(importEntry) error) error {
	switch {
	case s.dir:
		return s.eachFile(fn)
	case s.stdin != nil || s.path == stdioName:
		return eachLine(bytes.NewReader(s.stdin), "stdin", fn)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.path, unwrapPath(err))
	}
	defer f.Close()
	return eachLine(f, s.path, fn)
}

var importExts = []string{".md", ".markdown", ".txt"}

func (s *importSource) eachFile(fn func(importEntry) error) error {
	s.ignored = s.ignored[:0]
	return filepath.WalkDir(s.path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, unwrapPath(err))
		}
		if path != s.path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(path))
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 || !containsString(importExts, ext) {
			s.ignored = append(s.ignored, path)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, unwrapPath(err))
		}
		c, err := parseMarkdown(b, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return fn(importEntry{name: path, Content: c})
	})
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// parseMarkdown makes a note of a text file: the body is the file as it is;
// the title and tags come from its front matter, the title else from its
// first heading, else from name.
func parseMarkdown(b []byte, name string) (vault.Content, error) {
	c := vault.Content{Body: b}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	rest := text
	if fm, after, ok := frontMatter(text); ok {
		rest = after
		var meta struct {
			Title any `yaml:"title"`
			Tags  any `yaml:"tags"`
		}
		if err := yaml.Unmarshal([]byte(fm), &meta); err != nil {
			return c, fmt.Errorf("the front matter is not YAML: %s", firstLine(err.Error()))
		}
		switch t := meta.Title.(type) {
		case nil:
		case string:
			c.Title = strings.TrimSpace(t)
		default:
			c.Title = strings.TrimSpace(fmt.Sprint(t))
		}
		tags, err := frontMatterTags(meta.Tags)
		if err != nil {
			return c, err
		}
		c.Tags = tags
	}
	if c.Title == "" {
		c.Title = firstHeading(rest)
	}
	if c.Title == "" {
		c.Title = name
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// frontMatter splits YAML front matter from text: a first line "---", then
// everything up to a line "---" or "...".
func frontMatter(text string) (fm, rest string, ok bool) {
	body, found := strings.CutPrefix(text, "---\n")
	if !found {
		return "", text, false
	}
	for off := 0; off < len(body); {
		end := strings.IndexByte(body[off:], '\n')
		line := body[off:]
		next := len(body)
		if end >= 0 {
			line, next = body[off:off+end], off+end+1
		}
		if l := strings.TrimRight(line, " \t"); l == "---" || l == "..." {
			return body[:off], body[next:], true
		}
		off = next
	}
	return "", text, false
}

func frontMatterTags(v any) ([]string, error) {
	var raw []string
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		raw = strings.Split(t, ",")
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				s = fmt.Sprint(x)
			}
			raw = append(raw, s)
		}
	default:
		return nil, errors.New("the front matter's tags are neither a list nor a string")
	}
	var tags []string
	for _, t := range raw {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags, nil
}

// firstHeading is the text of the first ATX heading (# Title) outside
// fenced code blocks, or "".
func firstHeading(text string) string {
	fence := ""
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if len(line)-len(trimmed) > 3 {
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			switch {
			case fence == "":
				fence = trimmed[:3]
			case strings.HasPrefix(trimmed, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		level := len(trimmed) - len(strings.TrimLeft(trimmed, "#"))
		if level < 1 || level > 6 {
			continue
		}
		after := trimmed[level:]
		if after != "" && after[0] != ' ' && after[0] != '\t' {
			continue
		}
		title := strings.TrimSpace(after)
		title = strings.TrimSpace(strings.TrimRight(title, "#"))
		if title != "" {
			return title
		}
	}
	return ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// importLine is one JSON line of a source.
type importLine struct {
	Title *string  `json:"title"`
	Tags  []string `json:"tags"`
	Body  *string  `json:"body"`
}

// eachLine reads JSON lines from r, named name in errors.
func eachLine(r io.Reader, name string, fn func(importEntry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", name, unwrapPath(err))
		}
		if len(bytes.TrimSpace(line)) > 0 {
			item := fmt.Sprintf("%s line %d", name, n)
			c, perr := parseLine(line)
			if perr != nil {
				return fmt.Errorf("%s: %w", item, perr)
			}
			if ferr := fn(importEntry{name: item, Content: c}); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}

func parseLine(line []byte) (vault.Content, error) {
	var l importLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case strings.Contains(err.Error(), `unknown field "created"`):
			return vault.Content{}, errors.New(`there is no created field: notes are dated when they are imported`)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return vault.Content{}, fmt.Errorf("%s (the fields are title, tags and body)", strings.TrimPrefix(err.Error(), "json: "))
		case errors.As(err, &ute) && ute.Field != "":
			return vault.Content{}, fmt.Errorf("%s must be %s", ute.Field, map[string]string{"title": "a string", "body": "a string", "tags": "a list of strings"}[ute.Field])
		}
		return vault.Content{}, errors.New("not a JSON object")
	}
	if dec.More() {
		return vault.Content{}, errors.New("more than one JSON value on the line")
	}
	if l.Body == nil {
		return vault.Content{}, errors.New("no body")
	}
	c := vault.Content{Tags: l.Tags, Body: []byte(*l.Body)}
	if l.Title != nil {
		c.Title = *l.Title
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func runNoteImport(ctx context.Context, opts noteImportOptions, g *globals, e *env) (err error) {
	kind, kerr := policy.ParseKind(opts.kind)
	if kerr != nil {
		return usagef("--kind %q: must be %s", opts.kind, policy.KindNames(policy.Kinds))
	}
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	src, err := openImportSource(opts.source, e)
	if err != nil {
		return err
	}
	defer clear(src.stdin)
	// First pass: every item is read and checked before anything is written.
	total := 0
	if err := src.each(func(importEntry) error { total++; return nil }); err != nil {
		return withHint(fmt.Errorf("%w; nothing was imported", err), "fix the item and run the same command again")
	}
	if total == 0 {
		return fmt.Errorf("%s holds no notes; nothing was imported", displaySource(opts.source))
	}

	if e.getenv("GOMEMLIMIT") == "" {
		// The store's compactions, not the notes, are what grows the heap
		// of a long import (badger builds tables in memory): a soft limit
		// makes the collector return that memory sooner, for some CPU.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(importMemoryLimit))
	}
	// SIGINT and SIGTERM cancel ctx (see run): the batch under way
	// commits, and the import stops before the next one.
	v, err := openVault(ctx, g, e, func(o *vault.Options) { o.Bulk = true })
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	im, err := v.NewImport(ctx, opts.agreement, kind, id)
	if err != nil {
		return err
	}
	bar := newImportBar(total, e)
	var (
		results []jsonImportedNote
		batch   []importEntry
		written int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cs := make([]vault.Content, len(batch))
		for i := range batch {
			cs[i] = batch[i].Content
		}
		done, err := im.Add(ctx, cs)
		for i, d := range done {
			results = append(results, jsonImportedNote{ID: d.Note, Item: batch[i].name, Already: d.Already})
			if !d.Already {
				written++
			}
		}
		if bar != nil {
			bar.Add(len(done))
		}
		batch = batch[:0]
		return err
	}
	err = src.each(func(it importEntry) error {
		batch = append(batch, it)
		if len(batch) >= 4*vault.ImportBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	if err == nil && len(results) != total {
		err = fmt.Errorf("%s changed while it was imported (%d items, then %d)", displaySource(opts.source), total, len(results))
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		if len(results) == 0 || !importResumable(err) {
			return err
		}
		return withHint(fmt.Errorf("import stopped after %d of %d notes (%d written now): %w", len(results), total, written, err),
			"run the same command again to import the rest; the notes already written are skipped")
	}
	summary := jsonImport{Agreement: opts.agreement, Kind: string(kind), Imported: written,
		Already: len(results) - written, Ignored: list(src.ignored), Notes: results}
	if g.json {
		return printJSON(e.stdout, summary)
	}
	for _, r := range results {
		fmt.Fprintln(e.stdout, r.ID)
	}
	if n := len(src.ignored); n > 0 {
		fmt.Fprintf(e.stderr, "notevault: ignored %d files that are not .md, .markdown or .txt (--json lists them)\n", n)
	}
	fmt.Fprintf(e.stderr, "notevault: imported %d %s notes under agreement %s", written, kind, opts.agreement)
	if summary.Already > 0 {
		fmt.Fprintf(e.stderr, "; %d were already imported by an earlier run", summary.Already)
	}
	fmt.Fprintln(e.stderr)
	return nil
}

// importMemoryLimit is the soft limit of the Go heap during an import,
// unless GOMEMLIMIT sets one: measured, it keeps the peak RSS of 10,000
// one-KiB notes under 200 MiB (bench/import.sh).
const importMemoryLimit = 120 << 20

// importResumable reports whether an error in the middle of an import
// leaves a state that running it again completes: everything but a refusal
// of the store itself.
func importResumable(err error) bool {
	return !errors.As(err, new(*vault.IntegrityError)) && !errors.Is(err, vault.ErrRollback)
}

func displaySource(src string) string {
	if src == stdioName {
		return "stdin"
	}
	return src
}

// newImportBar is a progress bar on stderr when it is a terminal, else nil.
func newImportBar(total int, e *env) *progressbar.ProgressBar {
	if !isTerminal(e.stderr) {
		return nil
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("notes"),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	_ = bar.RenderBlank()
	return bar
}
