package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault/agreement"
)

// printsNoRecords are the commands that print no records, so --json does
// not change what they print: they print an id, a key, a signed checkpoint,
// a shell script, an example file, a guided tour or nothing. Every other command is documented in
// docs/json.md. A new command goes in one or the other.
var printsNoRecords = []string{
	"agreement accept", "agreement amend", "agreement create", "agreement template",
	"audit checkpoint",
	"completion bash", "completion fish", "completion powershell", "completion zsh",
	"agreement reject", "agreement withdraw", "criterion attest",
	"agreement close", "agreement certificate",
	"consent give", "consent withdraw",
	"demo",
	"enrol", "serve",
	"disclose",
	"grant add", "grant revoke",
	"hold add", "hold release",
	"identity new", "identity public",
	"init",
	"maintenance",
	"man",
	"note add", "note delete", "note export", "note rekey",
	"participant add", "participant remove", "participant replace", "participant rotate",
	"retention daemon",
}

// TestJSONMatchesDocs holds docs/json.md and the commands' --json output
// together. It reads every command's section of the doc (an example and a
// table of fields, each with its type and whether it is always present),
// checks that the example shows exactly the documented fields, then runs
// every documented command with --json on a vault that exercises every
// field and checks each output against the table: no field the doc does not
// list, every field it says is always there, the documented types (times
// RFC 3339 in UTC, durations as the agreement writes them), and, over all
// runs of the command, every documented field seen at least once. Every
// command of the tree is either documented or in printsNoRecords.
func TestJSONMatchesDocs(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseJSONDoc(string(text))
	if err != nil {
		t.Fatalf("docs/json.md: %v", err)
	}

	commands := leafCommands()
	for _, name := range commands {
		_, documented := docs[name]
		quiet := slices.Contains(printsNoRecords, name)
		switch {
		case documented && quiet:
			t.Errorf("notevault %s is documented in docs/json.md but listed in printsNoRecords", name)
		case !documented && !quiet:
			t.Errorf("notevault %s is neither documented in docs/json.md nor listed in printsNoRecords", name)
		}
	}
	for name := range docs {
		if !slices.Contains(commands, name) {
			t.Errorf("docs/json.md documents notevault %s, which is no command", name)
		}
	}

	for _, name := range sortedKeys(docs) {
		d := docs[name]
		w := d.check(d.example)
		for _, e := range w.errs {
			t.Errorf("docs/json.md, notevault %s, example: %s", name, e)
		}
		for _, p := range d.unseen(w.seen) {
			t.Errorf("docs/json.md, notevault %s: the example lacks field %s", name, p)
		}
	}

	outputs := jsonScenario(t)
	for _, name := range sortedKeys(docs) {
		d := docs[name]
		runs := outputs[name]
		if len(runs) == 0 {
			t.Errorf("notevault %s is documented in docs/json.md but the test never runs it", name)
			continue
		}
		seen := map[string]bool{}
		for _, out := range runs {
			v, err := decodeOne(out.stdout)
			if err != nil {
				t.Errorf("notevault %s: %v\n%s", out.args, err, out.stdout)
				continue
			}
			w := d.check(v)
			for _, e := range w.errs {
				t.Errorf("notevault %s: %s", out.args, e)
			}
			for p := range w.seen {
				seen[p] = true
			}
			for _, e := range badValues(v) {
				t.Errorf("notevault %s: %s", out.args, e)
			}
		}
		for _, p := range d.unseen(seen) {
			t.Errorf("notevault %s never printed the documented field %s: is it still printed? (or make the test exercise it)", name, p)
		}
	}
}

// leafCommands are the runnable commands of the tree without subcommands,
// as "hold list".
func leafCommands() []string {
	var out []string
	var visit func(cmds []*cobra.Command)
	visit = func(cmds []*cobra.Command) {
		for _, c := range cmds {
			if c.HasSubCommands() {
				visit(c.Commands())
				continue
			}
			if c.Runnable() && !c.Hidden {
				out = append(out, strings.TrimPrefix(c.CommandPath(), "notevault "))
			}
		}
	}
	visit(newRootCmd(&env{getenv: func(string) string { return "" }}).Commands())
	sort.Strings(out)
	return out
}

// fieldDoc is one row of a command's table in docs/json.md.
type fieldDoc struct {
	typ    string
	always bool
}

// jsonSection is one command's section of docs/json.md.
type jsonSection struct {
	example any
	fields  map[string]fieldDoc // by path: "versions[].terms.retention"
}

var fieldTypes = []string{
	"string", "integer", "boolean", "time", "duration", "base64", "object",
	"list of strings", "list of objects",
	"map of strings", "map of durations", "map of lists of strings",
}

// parseJSONDoc reads the sections "## notevault CMD" of docs/json.md: the
// first ```json block of each is its example, and each table row
// | `path` | type | present | meaning | documents a field.
func parseJSONDoc(text string) (map[string]*jsonSection, error) {
	docs := map[string]*jsonSection{}
	var cur *jsonSection
	var name string
	var block []string
	inBlock := false
	for i, line := range strings.Split(text, "\n") {
		switch {
		case inBlock && line == "```":
			inBlock = false
			if cur != nil && cur.example == nil {
				v, err := decodeOne(strings.Join(block, "\n"))
				if err != nil {
					return nil, fmt.Errorf("line %d: the example of notevault %s: %v", i+1, name, err)
				}
				cur.example = v
			}
		case inBlock:
			block = append(block, line)
		case strings.HasPrefix(line, "## "):
			cur = nil
			if n, ok := strings.CutPrefix(line, "## notevault "); ok {
				name = strings.TrimSpace(n)
				if docs[name] != nil {
					return nil, fmt.Errorf("line %d: notevault %s is documented twice", i+1, name)
				}
				cur = &jsonSection{fields: map[string]fieldDoc{}}
				docs[name] = cur
			}
		case line == "```json":
			inBlock, block = true, nil
		case cur != nil && strings.HasPrefix(line, "| `"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if len(cells) != 4 {
				return nil, fmt.Errorf("line %d: a field row has 4 cells: | `path` | type | present | meaning |", i+1)
			}
			path := strings.Trim(strings.TrimSpace(cells[0]), "`")
			typ := strings.TrimSpace(cells[1])
			if !slices.Contains(fieldTypes, typ) {
				return nil, fmt.Errorf("line %d: field %s has type %q, not one of %s", i+1, path, typ, strings.Join(fieldTypes, ", "))
			}
			if _, dup := cur.fields[path]; dup {
				return nil, fmt.Errorf("line %d: field %s is documented twice", i+1, path)
			}
			cur.fields[path] = fieldDoc{typ: typ, always: strings.TrimSpace(cells[2]) == "always"}
		}
	}
	for n, d := range docs {
		if d.example == nil {
			return nil, fmt.Errorf("notevault %s has no ```json example", n)
		}
		if len(d.fields) == 0 {
			return nil, fmt.Errorf("notevault %s has no table of fields", n)
		}
	}
	return docs, nil
}

// decodeOne decodes exactly one JSON value, numbers as json.Number.
func decodeOne(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// walk is one check of a JSON value against a section.
type walk struct {
	d    *jsonSection
	seen map[string]bool
	errs []string
}

func (d *jsonSection) check(v any) *walk {
	w := &walk{d: d, seen: map[string]bool{}}
	if _, isList := d.example.([]any); isList {
		l, ok := v.([]any)
		if !ok {
			w.errorf("want a list of records, got %s", kindOf(v))
			return w
		}
		for _, el := range l {
			w.object("", el)
		}
		return w
	}
	w.object("", v)
	return w
}

// unseen lists the documented fields that seen lacks.
func (d *jsonSection) unseen(seen map[string]bool) []string {
	var out []string
	for p := range d.fields {
		if !seen[p] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// errorf notes a problem once, however many records have it.
func (w *walk) errorf(format string, args ...any) {
	if e := fmt.Sprintf(format, args...); !slices.Contains(w.errs, e) {
		w.errs = append(w.errs, e)
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func parent(path string) (string, string) {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// object checks the object v found at prefix ("" for a record).
func (w *walk) object(prefix string, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		w.errorf("%s: want an object, got %s", orRecord(prefix), kindOf(v))
		return
	}
	for _, k := range sortedKeys(obj) {
		p := join(prefix, k)
		f, ok := w.d.fields[p]
		if !ok {
			w.errorf("field %s is not documented", p)
			continue
		}
		w.seen[p] = true
		w.value(p, f.typ, obj[k])
	}
	for p, f := range w.d.fields {
		if dir, key := parent(p); dir == prefix && f.always {
			if _, ok := obj[key]; !ok {
				w.errorf("field %s is documented as always present but is missing", p)
			}
		}
	}
}

func orRecord(prefix string) string {
	if prefix == "" {
		return "the record"
	}
	return prefix
}

// value checks v, found at path p, against the documented type.
func (w *walk) value(p, typ string, v any) {
	bad := func(want string) { w.errorf("field %s: want %s, got %s %v", p, want, kindOf(v), v) }
	switch typ {
	case "string":
		if s, ok := v.(string); !ok {
			bad("a string")
		} else if s == "" {
			w.errorf("field %s is the empty string: a field that does not apply is omitted", p)
		}
	case "integer":
		if n, ok := v.(json.Number); !ok {
			bad("an integer")
		} else if _, err := n.Int64(); err != nil {
			bad("an integer")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("a boolean")
		}
	case "time":
		if s, ok := v.(string); !ok || checkTime(s) != nil {
			w.errorf("field %s: want an RFC 3339 time in UTC: %v", p, errOr(checkTime, v))
		}
	case "duration":
		if s, ok := v.(string); !ok || checkDuration(s) != nil {
			w.errorf("field %s: want a duration as the agreement writes it: %v", p, errOr(checkDuration, v))
		}
	case "base64":
		if s, ok := v.(string); !ok {
			bad("a base64 string")
		} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			bad("a base64 string")
		}
	case "object":
		w.object(p, v)
	case "list of strings", "list of objects":
		l, ok := v.([]any)
		if !ok {
			bad("a list")
			return
		}
		for _, el := range l {
			if typ == "list of objects" {
				w.object(p+"[]", el)
			} else if _, ok := el.(string); !ok {
				w.errorf("field %s: want a list of strings, got %s in it", p, kindOf(el))
			}
		}
	case "map of strings", "map of durations", "map of lists of strings":
		m, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		for _, k := range sortedKeys(m) {
			switch typ {
			case "map of strings":
				// Values are data (an audit record's detail), where an
				// empty string says something.
				if _, ok := m[k].(string); !ok {
					w.errorf("field %s: want a map of strings, got %s in it", p, kindOf(m[k]))
				}
			case "map of durations":
				w.value(p+"."+k, "duration", m[k])
			default:
				w.value(p+"."+k, "list of strings", m[k])
			}
		}
	}
}

func errOr(check func(string) error, v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("got %s", kindOf(v))
	}
	return check(s)
}

// checkTime accepts RFC 3339 in UTC as jsonTime writes it, and not the zero
// time.
func checkTime(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		return err
	case t.IsZero() || t.Year() < 1970:
		return fmt.Errorf("%q is the zero time: an absent time is omitted", s)
	case t.UTC().Format(time.RFC3339Nano) != s:
		return fmt.Errorf("%q is not in UTC (%s)", s, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// checkDuration accepts a duration as the agreement writes it: "180d", the
// way FormatDuration writes it, which ParseDuration reads back.
func checkDuration(s string) error {
	d, err := agreement.ParseDuration(s)
	if err != nil {
		return err
	}
	if f := agreement.FormatDuration(d); f != s {
		return fmt.Errorf("%q is written %q by the agreement", s, f)
	}
	return nil
}

var goDuration = regexp.MustCompile(`\b\d+h\d+m[\d.]+s\b`)

// badValues finds, anywhere in v, what the rules forbid whatever the field:
// a Go duration (4320h0m0s), the zero time, a null.
func badValues(v any) []string {
	var out []string
	var visit func(p string, v any)
	visit = func(p string, v any) {
		switch x := v.(type) {
		case nil:
			out = append(out, fmt.Sprintf("%s is null: an absent field is omitted, an empty list is []", orRecord(p)))
		case string:
			if goDuration.MatchString(x) {
				out = append(out, fmt.Sprintf("%s holds a Go duration: %q", p, x))
			}
			if strings.HasPrefix(x, "0001-01-01") {
				out = append(out, fmt.Sprintf("%s holds the zero time", p))
			}
		case []any:
			for _, el := range x {
				visit(p+"[]", el)
			}
		case map[string]any:
			for k, el := range x {
				visit(join(p, k), el)
			}
		}
	}
	visit("", v)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonRun is one run of a command with --json.
type jsonRun struct {
	args   string
	stdout string
}

// jsonCLI runs notevault in this process on a vault of its own, on a clock
// that moves one second a command.
type jsonCLI struct {
	t          *testing.T
	dir, state string
	now        time.Time
	runs       map[string][]jsonRun
}

func (c *jsonCLI) getenv(key string) string {
	switch key {
	case "NOTEVAULT_DIR":
		return filepath.Join(c.dir, "vault")
	case "NOTEVAULT_STATE_DIR":
		return c.state
	}
	return ""
}

// run runs args with stdin and wants exit code want; it returns stdout,
// trimmed.
func (c *jsonCLI) run(want int, stdin string, args ...string) string {
	c.t.Helper()
	c.now = c.now.Add(time.Second)
	now := c.now
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: c.getenv,
		now:       func() time.Time { return now },
		openTTY:   func() (*os.File, error) { return nil, errors.New("no terminal in this test") },
		buildInfo: jsonBuildInfo}
	code := reportError(&stderr, execute(context.Background(), args, e))
	if code != want {
		c.t.Fatalf("notevault %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// json runs args with --json, wants exit code want and keeps the output
// under the command's name.
func (c *jsonCLI) json(want int, args ...string) {
	c.t.Helper()
	root := newRootCmd(&env{getenv: c.getenv})
	cmd, _, err := root.Find(args)
	if err != nil {
		c.t.Fatal(err)
	}
	name := strings.TrimPrefix(cmd.CommandPath(), "notevault ")
	out := c.run(want, "", append(args, "--json")...)
	c.runs[name] = append(c.runs[name], jsonRun{strings.Join(args, " "), out})
}

func (c *jsonCLI) file(name, text string) string {
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// jsonBuildInfo is a build from a checkout that recorded its commit.
func jsonBuildInfo() (*debug.BuildInfo, bool) {
	return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/notevault/notevault", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "3ffe99812c4d5e6f708192a3b4c5d6e7f8091a2b"},
			{Key: "vcs.time", Value: "2026-11-23T19:14:47Z"},
			{Key: "vcs.modified", Value: "false"},
		}}, true
}

const jsonAgreement = `name: Alice mentors Bob
mentor: alice
mentee: bob
supervisors: [carol]
purpose: Land a data-science role within 6 months
confidentiality:
  readers: {session: [mentor, mentee], reflection: [author], summary: [author, mentee]}
  exceptions: [risk-of-harm]
retention: {session: 365d, reflection: 90d, summary: 180d}
`

// jsonAmendment is what the amendment adds: every field of schema 2.
const jsonAmendment = `start: 2026-02-01
end: 2027-01-31
clauses:
  feedback: a few sentences at the end of every call
success_criteria:
  - {id: portfolio, what: ship a portfolio project, measure: a public write-up, due: 2026-06-01}
  - practise three mock interviews
review: every 90d
holds: {custodians: [carol]}
sharing: {max_grant: 30d, max_consent: 180d}
`

// practiceAgreement has success criteria and a review schedule.
const practiceAgreement = `name: Dana mentors Bob
mentor: alice
mentee: bob
supervisors: [carol]
purpose: Lead a team within a year
success_criteria:
  - ship a portfolio project by 2027-03-01
  - {id: talk, what: give a talk at the guild, measure: a recorded talk, due: 2026-09-01}
review: every 30d
retention: {session: 365d, reflection: 90d, summary: 180d}
`

// jsonScenario runs every documented command with --json, on a vault where
// every field has something to say: an amendment awaiting acceptance,
// consents lapsing and withdrawn, grants live, revoked and ended, a
// disclosure, holds active and released, notes destroyed and held by a
// sweep, a dry run the clock check refuses.
func jsonScenario(t *testing.T) map[string][]jsonRun {
	c := &jsonCLI{t: t, dir: t.TempDir(), state: t.TempDir(), now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		runs: map[string][]jsonRun{}}
	c.json(0, "version")
	c.run(0, "", "init")
	keys := map[string]string{}
	for _, p := range [][2]string{{"alice", "mentor"}, {"bob", "mentee"}, {"carol", "supervisor"}} {
		keys[p[0]] = filepath.Join(c.dir, p[0]+".key")
		pub := c.run(0, "", "identity", "new", "--classic", "--out", keys[p[0]])
		c.run(0, "", "participant", "add", p[0], "--role", p[1], "--key", pub)
	}
	alice, bob, carol := keys["alice"], keys["bob"], keys["carol"]
	agr := c.run(0, "", "agreement", "create", "--file", c.file("agreement.yaml", jsonAgreement))
	c.run(0, "", "agreement", "accept", agr, "-i", alice)
	c.run(0, "", "agreement", "accept", agr, "-i", bob)

	session := c.run(0, "We planned the portfolio project.\n", "note", "add", "--agreement", agr, "--kind", "session",
		"--title", "Portfolio plan", "--tag", "career", "--tag", "python", "-i", alice)
	summary := c.run(0, "On track.\n", "note", "add", "--agreement", agr, "--kind", "summary", "-i", alice)
	kept := c.run(0, "First reflection.\n", "note", "add", "--agreement", agr, "--kind", "reflection", "-i", bob)
	c.run(0, "Second reflection.\n", "note", "add", "--agreement", agr, "--kind", "reflection", "-i", bob)

	withdrawn := c.run(0, "", "consent", "give", "--agreement", agr, "--to", "carol", "-i", bob)
	c.run(0, "", "consent", "withdraw", withdrawn, "-i", bob)
	c.run(0, "", "consent", "give", "--agreement", agr, "--to", "carol", "--until", "30d", "-i", bob)
	c.run(0, "", "consent", "give", "--agreement", agr, "--to", "carol", "-i", bob)
	revoked := c.run(0, "", "grant", "add", "--agreement", agr, "--to", "carol", "--for", "14d", "-i", alice)
	c.run(0, "", "grant", "revoke", revoked, "-i", alice)
	c.run(0, "", "grant", "add", "--agreement", agr, "--to", "carol", "--for", "14d", "-i", alice)
	disclosure := c.run(0, "", "disclose", session, "--to", "carol", "--reason", "risk-of-harm",
		"--statement", "Bob said he was at risk; carol must know.", "-i", alice)
	released := c.run(0, "", "hold", "add", "--agreement", agr, "--reason", "records request 17", "-i", alice)
	c.run(0, "", "hold", "release", released, "-i", alice)
	c.run(0, "", "hold", "add", "--note", kept, "--reason", "court order 123", "-i", alice)
	c.run(0, "", "hold", "add", "--note", kept, "--reason", "complaint review", "--review", "2026-01-05T09:00:31Z", "-i", bob)
	c.run(0, "", "agreement", "amend", agr, "--file",
		c.file("amended.yaml", strings.NewReplacer("summary: 180d", "summary: 26w, after_close: 30d",
			"exceptions: [risk-of-harm]", "exceptions: {risk-of-harm: [carol]}").Replace(jsonAgreement)+jsonAmendment), "-i", alice)

	// The practice: a second agreement with success criteria and a review
	// schedule, a criterion met with evidence, another pending.
	prac := c.run(0, "", "agreement", "create", "--file", c.file("practice.yaml", practiceAgreement))
	c.run(0, "", "agreement", "accept", prac, "-i", alice)
	c.run(0, "", "agreement", "accept", prac, "-i", bob)
	evidence := c.run(0, "We shipped the portfolio.\n", "note", "add", "--agreement", prac, "--kind", "session", "-i", alice)
	c.run(0, "", "criterion", "attest", prac, "c1", "--status", "met", "--note", evidence, "-i", alice)
	c.run(0, "", "criterion", "attest", prac, "c1", "--status", "met", "--note", evidence, "-i", bob)
	c.run(0, "", "criterion", "attest", prac, "talk", "--status", "progress", "-i", bob)

	// A participant whose key changed lists the retired one.
	dave := c.run(0, "", "identity", "new", "--classic", "--out", filepath.Join(c.dir, "dave.key"))
	c.run(0, "", "participant", "add", "dave", "--role", "supervisor", "--key", dave)
	dave2 := c.run(0, "", "identity", "new", "--classic", "--out", filepath.Join(c.dir, "dave2.key"))
	c.run(0, "", "participant", "rotate", "dave", "--key", dave2, "-i", filepath.Join(c.dir, "dave.key"))
	c.json(0, "participant", "list")
	c.json(0, "agreement", "list")
	c.json(0, "agreement", "show", agr)
	c.json(0, "agreement", "show", agr, "-i", bob)
	c.json(0, "agreement", "history", agr)
	c.json(0, "note", "list")
	c.json(0, "note", "list", "-i", bob)
	c.json(0, "note", "show", session, "-i", bob)
	c.json(0, "note", "show", summary, "-i", bob)
	c.json(0, "consent", "list", "--agreement", agr)
	c.json(0, "grant", "list", "--agreement", agr)
	c.json(0, "note", "list", "-i", carol)
	c.json(0, "note", "search", "portfolio", "-i", bob)
	c.json(0, "note", "search", "track", "-i", carol)
	c.json(0, "disclosure", "list")
	c.json(0, "disclosure", "list", "--agreement", agr)
	c.json(0, "disclosure", "show", disclosure, "-i", bob)
	c.json(0, "hold", "list")
	c.json(0, "hold", "list", "--agreement", agr, "-i", alice)
	c.json(0, "policy", "explain", "--note", summary, "--who", "carol")
	c.json(0, "policy", "rules", "--agreement", agr, "--who", "carol")
	c.json(exitDenied, "policy", "explain", "--note", kept, "--who", "carol")
	c.json(0, "retention", "plan")
	c.json(0, "retention", "sweep", "--dry-run")
	c.json(0, "criterion", "list", prac, "-i", bob)
	c.json(0, "agreement", "summary", agr)
	c.json(0, "agreement", "diff", agr, "1", "2")
	c.json(0, "agreement", "diff", agr, "1", "2", "-i", bob)
	c.json(0, "agreement", "due", "--all")

	// 91 days on the reflections are due, one of them held; the live grant
	// and the lapsing consent have ended. The clock leapt with nobody acting:
	// the dry run says the sweep would refuse, the operator confirms.
	c.now = c.now.Add(91 * 24 * time.Hour)
	c.json(0, "retention", "plan")
	c.json(exitFailure, "retention", "sweep", "--dry-run")
	c.json(0, "retention", "sweep", "--clock-jump-ok")
	c.json(exitOverdue, "agreement", "due")
	c.json(0, "consent", "list", "--agreement", agr)
	c.json(0, "grant", "list", "--agreement", agr)

	c.json(0, "audit", "log")
	c.json(0, "audit", "log", "--agreement", agr)
	c.json(0, "audit", "verify")
	checkpoint := c.file("vault.checkpoint", c.run(0, "", "audit", "checkpoint")+"\n")
	c.json(0, "audit", "verify", "--checkpoint", checkpoint)
	c.json(0, "check")

	// An import from a folder, then the same import again with one more
	// file: the first note is skipped, the second written.
	if err := os.MkdirAll(filepath.Join(c.dir, "old-notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	c.file("old-notes/2024-01-first.md", "# First\n\nWe met.\n")
	c.file("old-notes/photo.jpg", "not a note")
	c.json(0, "note", "import", "--agreement", agr, "--kind", "session", filepath.Join(c.dir, "old-notes"), "-i", alice)
	c.file("old-notes/2024-02-second.md", "---\ntags: [goals]\n---\nWe met again.\n")
	c.json(0, "note", "import", "--agreement", agr, "--kind", "session", filepath.Join(c.dir, "old-notes"), "-i", alice)

	// A relationship that ended: closed by the mentee, who then deleted its
	// only note; its certificate written and verified offline.
	ended := c.run(0, "", "agreement", "create", "--file", c.file("ended.yaml", jsonAgreement))
	c.run(0, "", "agreement", "accept", ended, "-i", alice)
	c.run(0, "", "agreement", "accept", ended, "-i", bob)
	last := c.run(0, "Our only session.\n", "note", "add", "--agreement", ended, "--kind", "session", "-i", alice)
	c.run(0, "", "agreement", "close", ended, "-i", bob)
	c.run(0, "", "note", "delete", last, "-i", bob)
	cert := filepath.Join(c.dir, "ended.cert")
	c.run(0, "", "agreement", "certificate", ended, "--out", cert)
	c.json(0, "agreement", "show", ended)
	c.json(0, "agreement", "list")
	c.json(0, "certificate", "verify", cert)
	c.json(0, "certificate", "verify", cert, "--checkpoint", checkpoint)

	// A note's readers widened behind notevault's back: listings show the
	// others, that one with its problem, and exit 1.
	c.tamperNote(session, func(meta map[string]any) { meta["readers"] = append(meta["readers"].([]any), "carol") })
	c.json(exitFailure, "note", "list", "-i", bob)
	c.json(exitFailure, "note", "search", "portfolio", "-i", bob)
	return c.runs
}

// tamperNote edits the signed metadata of a note in the (closed) vault's
// store, as someone with the disk could. The layout is written out here on
// purpose: n/<id> holds a schema byte (1), then JSON with the metadata
// under "meta".
func (c *jsonCLI) tamperNote(id string, edit func(meta map[string]any)) {
	c.t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(c.dir, "vault", "db")).WithLogger(nil))
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			c.t.Fatal(err)
		}
	}()
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("n/" + id))
		if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		var rec map[string]any
		if len(b) == 0 || b[0] != 1 {
			return fmt.Errorf("note %s: unknown schema", id)
		}
		if err := json.Unmarshal(b[1:], &rec); err != nil {
			return err
		}
		edit(rec["meta"].(map[string]any))
		out, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return txn.Set([]byte("n/"+id), append([]byte{1}, out...))
	})
	if err != nil {
		c.t.Fatal(err)
	}
}
