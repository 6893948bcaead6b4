package agreement

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/notevault/notevault/policy"
)

// MaxSize is the largest agreement file Parse accepts, in bytes.
const MaxSize = 1 << 20

// Schema is the agreement schema version Parse reads: what fields and kinds
// of note an agreement file may have and how they are read. A vault records
// with each stored version the schema it was written with and reads it again
// under that schema (ParseSchema), so that a new kind or field never makes an
// old stored text fail to load.
//
//   - Schema 1 (texts stored without a schema): the first release's fields;
//     kinds session, reflection and summary; review is free text; success
//     criteria and exceptions are lists of text.
//   - Schema 2: adds the kinds review, scorecard and recording (their
//     retention is optional, see policy.DefaultRetention), clauses, start
//     and end dates, structured success criteria, review as a schedule,
//     holds.custodians, exceptions naming their recipients, sharing caps and
//     retention.after_close.
const Schema = 2

var (
	// namePattern is what a participant name must match.
	namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`) })
	// slugPattern is what a confidentiality exception must match.
	slugPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]+$`) })
	// yamlLine picks the line out of a yaml.v3 syntax error.
	yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })
)

// Agreement is a parsed and validated mentoring agreement file.
type Agreement struct {
	// Schema is the schema version the agreement was read under.
	Schema          int         `yaml:"-"`
	Name            string      `yaml:"name"`   // required
	Mentor          string      `yaml:"mentor"` // required
	Mentee          string      `yaml:"mentee"` // required, != Mentor
	Supervisors     []string    `yaml:"supervisors"`
	Purpose         string      `yaml:"purpose"`
	Scope           string      `yaml:"scope"`
	Cadence         string      `yaml:"cadence"`
	Channels        []string    `yaml:"channels"`
	Topics          []string    `yaml:"topics"`
	Boundaries      []string    `yaml:"boundaries"`
	SuccessCriteria []Criterion `yaml:"success_criteria"`
	// Review is the review field as written; ReviewEvery is the schedule it
	// states (schema 2: "every 90d", "quarterly"), 0 for none or for the
	// free text of schema 1.
	Review          string          `yaml:"review"`
	ReviewEvery     time.Duration   `yaml:"-"`
	Confidentiality Confidentiality `yaml:"confidentiality"`
	// Retention is how long each kind of note is kept, from
	// `retention: {session: 365d, ...}`. Parse requires the kinds of the
	// first schema and fills the others from the kinds table's defaults.
	Retention map[policy.Kind]time.Duration
	// AfterClose is retention.after_close: how long notes are kept once the
	// agreement is closed (0: the per-kind periods hold).
	AfterClose time.Duration `yaml:"-"`
	// Destruction is free text: the destruction timeline as agreed.
	Destruction string `yaml:"destruction"`
	// Clauses are the named free-text clauses (roles, responsibilities,
	// feedback, renegotiation, power_dynamics, ...), in file order.
	Clauses []Clause `yaml:"clauses"`
	// Start and End are the agreement's dates (zero: not given).
	Start time.Time `yaml:"start"`
	End   time.Time `yaml:"end"`
	// Custodians, from holds.custodians, may place and release legal holds
	// besides mentor and mentee; each is a party of the agreement.
	Custodians []string `yaml:"-"`
	// Sharing caps how long a grant or a consent may run (0: the defaults).
	Sharing Sharing `yaml:"sharing"`

	// lines maps field paths ("mentor", "supervisors[1]") to the line they
	// were on, so that CheckParticipants can name it. Nil unless parsed.
	lines map[string]int
}

// Confidentiality holds the confidentiality terms of an agreement.
type Confidentiality struct {
	// Private is free text: what is private.
	Private string `yaml:"private"`
	// Readers names, per kind of note, the roles that read it: mentor,
	// mentee or author. Parse fills the kinds the file does not give from
	// policy.DefaultReaders.
	Readers map[policy.Kind][]string
	// Exceptions are the named confidentiality exceptions that allow
	// disclosure, such as risk-of-harm; each is a slug of [a-z0-9-].
	Exceptions []string `yaml:"exceptions"`
	// Recipients names, per exception given in the map form
	// (`{risk-of-harm: [carol]}`), who may receive a disclosure under it.
	// An exception absent here (the list form, or a null value) is for the
	// agreement's supervisors.
	Recipients map[string][]string `yaml:"-"`
}

// Clause is one named free-text clause.
type Clause struct {
	Name string
	Text string
}

// Criterion is one success criterion. A criterion written as plain text has
// What only, and the id "c<N>" of its place in the list (c1, c2, ...).
type Criterion struct {
	ID      string
	What    string
	Measure string
	Due     time.Time // zero: no due date
}

// Sharing holds the sharing caps of an agreement.
type Sharing struct {
	MaxGrant   time.Duration // 0: policy's default
	MaxConsent time.Duration // 0: policy's default
}

// Parse parses and validates an agreement file under the current Schema.
// Any refusal is an *Error naming the field and, when known, the line. Parse
// never panics.
func Parse(data []byte) (*Agreement, error) { return ParseSchema(data, Schema) }

// ParseSchema is Parse under schema version schema (1 to Schema): how a
// vault reads a text stored under an earlier schema.
func ParseSchema(data []byte, schema int) (a *Agreement, err error) {
	if schema < 1 || schema > Schema {
		return nil, &Error{Msg: fmt.Sprintf("schema version %d is not one this release reads (1 to %d); a newer notevault wrote it", schema, Schema)}
	}
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, &Error{Msg: fmt.Sprintf("the file could not be read as YAML (%v)", r)}
		}
	}()
	if len(data) > MaxSize {
		return nil, &Error{Msg: fmt.Sprintf("the file is %d bytes, larger than the %d bytes (1 MiB) an agreement may be", len(data), MaxSize)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Msg: "the file is empty"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Msg: "the file holds no YAML document (only comments or blank lines)"}
		}
		return nil, yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(err)
	default:
		return nil, &Error{Line: next.Line, Msg: "the file holds more than one YAML document; an agreement is one document (remove the --- separator)"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, &Error{Msg: "the file is empty"}
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, &Error{Msg: "the file holds no fields (expected name, mentor, mentee, ...)"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: root.Line, Msg: fmt.Sprintf("the file must be a mapping of fields (name: ..., mentor: ...), not %s", describe(root))}
	}
	p := &parser{schema: schema, a: &Agreement{Schema: schema, lines: map[string]int{}}}
	if err := p.top(root); err != nil {
		return nil, err
	}
	return p.a, nil
}

// yamlError rephrases a yaml.v3 error as one sentence with its line.
func yamlError(err error) *Error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		if line, convErr := strconv.Atoi(m[1]); convErr == nil {
			return &Error{Line: line, Msg: "the file is not valid YAML: " + m[2]}
		}
	}
	return &Error{Msg: "the file is not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	schema int
	a      *Agreement
	// supervisorNames are the names under the top-level supervisors field,
	// gathered before the walk to explain a supervisor written as a reader.
	supervisorNames []string
}

// field is one key/value pair of a mapping.
type field struct {
	name       string
	path       string
	key, value *yaml.Node
}

// fields returns the pairs of mapping n, refusing keys that are not plain
// scalars and keys given twice.
func fields(n *yaml.Node, path string) ([]field, error) {
	var out []field
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, &Error{Line: k.Line, Field: path, Msg: fmt.Sprintf("field names must be plain words, not %s", describe(k))}
		}
		if len(k.Value) > maxQuoted {
			return nil, &Error{Line: k.Line, Field: path, Msg: fmt.Sprintf("field name %q is too long to be a field", clip(k.Value))}
		}
		fp := join(path, k.Value)
		if line, dup := first[k.Value]; dup {
			return nil, &Error{Line: k.Line, Field: fp, Msg: fmt.Sprintf("field %q is given twice (first on line %d)", fp, line)}
		}
		first[k.Value] = k.Line
		out = append(out, field{name: k.Value, path: fp, key: k, value: v})
	}
	return out, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

var topFields = []string{
	"name", "mentor", "mentee", "supervisors", "purpose", "scope", "cadence", "channels",
	"topics", "boundaries", "success_criteria", "review", "confidentiality", "retention", "destruction",
}

// topFields2 are the fields schema 2 adds.
var topFields2 = []string{"clauses", "start", "end", "holds", "sharing"}

func (p *parser) topFields() []string {
	if p.schema >= 2 {
		return append(slices.Clone(topFields), topFields2...)
	}
	return topFields
}

var confidentialityFields = []string{"private", "readers", "exceptions"}

func unknownField(f field, known []string) *Error {
	msg := fmt.Sprintf("unknown field %q", f.path)
	if s := suggest(f.name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &Error{Line: f.key.Line, Field: f.path, Msg: msg}
}

func (p *parser) top(root *yaml.Node) error {
	fs, err := fields(root, "")
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.name == "supervisors" && f.value.Kind == yaml.SequenceNode {
			for _, s := range f.value.Content {
				if s.Kind == yaml.ScalarNode {
					p.supervisorNames = append(p.supervisorNames, s.Value)
				}
			}
		}
	}
	a := p.a
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.name] = true
		a.lines[f.path] = f.key.Line
		var err error
		switch f.name {
		case "name":
			a.Name, err = text(f)
			if err == nil && a.Name == "" {
				err = &Error{Line: f.value.Line, Field: f.path, Msg: "must not be empty"}
			}
		case "mentor":
			a.Mentor, err = participant(f)
		case "mentee":
			a.Mentee, err = participant(f)
		case "supervisors":
			err = p.supervisors(f)
		case "purpose":
			a.Purpose, err = text(f)
		case "scope":
			a.Scope, err = text(f)
		case "cadence":
			a.Cadence, err = text(f)
		case "channels":
			a.Channels, err = textList(f)
		case "topics":
			a.Topics, err = textList(f)
		case "boundaries":
			a.Boundaries, err = textList(f)
		case "success_criteria":
			err = p.criteria(f)
		case "review":
			err = p.review(f)
		case "confidentiality":
			err = p.confidentiality(f)
		case "retention":
			err = p.retention(f)
		case "destruction":
			a.Destruction, err = text(f)
		case "clauses":
			err = p.gate(f, p.clauses)
		case "start":
			err = p.gate(f, func(f field) (err error) { a.Start, err = date(f); return err })
		case "end":
			err = p.gate(f, func(f field) (err error) { a.End, err = date(f); return err })
		case "holds":
			err = p.gate(f, p.holds)
		case "sharing":
			err = p.gate(f, p.sharing)
		default:
			err = unknownField(f, p.topFields())
		}
		if err != nil {
			return err
		}
	}
	for _, name := range []string{"name", "mentor", "mentee", "retention"} {
		if !seen[name] {
			return &Error{Field: name, Msg: fmt.Sprintf("missing required field %q", name)}
		}
	}
	kinds := policy.KindsOf(p.schema)
	for _, k := range kinds {
		if _, ok := a.Retention[k]; ok {
			continue
		}
		if info, _ := k.Info(); info.RetentionRequired {
			path := "retention." + string(k)
			what := "every kind of note needs a retention period"
			if p.schema >= 2 {
				what = "session notes, reflections and summaries each need a retention period"
			}
			return &Error{Line: a.lines["retention"], Field: path, Msg: fmt.Sprintf("missing required field %q (%s)", path, what)}
		}
	}
	for _, k := range kinds {
		if _, ok := a.Retention[k]; !ok {
			a.Retention[k], _ = policy.DefaultRetention(k, a.Retention)
		}
	}
	if a.Mentee == a.Mentor {
		return &Error{Line: a.lines["mentee"], Field: "mentee", Msg: fmt.Sprintf("%q is also the mentor; mentor and mentee must be different people", a.Mentee)}
	}
	for i, s := range a.Supervisors {
		if s == a.Mentor || s == a.Mentee {
			role := "mentor"
			if s == a.Mentee {
				role = "mentee"
			}
			return &Error{Line: a.lines[supervisorKey(i)], Field: "supervisors", Msg: fmt.Sprintf("%q is the %s and cannot also be a supervisor", s, role)}
		}
	}
	if a.Confidentiality.Readers == nil {
		a.Confidentiality.Readers = map[policy.Kind][]string{}
	}
	defaults := policy.DefaultReaders()
	for _, k := range kinds {
		if _, given := a.Confidentiality.Readers[k]; !given {
			a.Confidentiality.Readers[k] = slices.Clone(defaults[k])
		}
	}
	if !a.Start.IsZero() && !a.End.IsZero() && !a.End.After(a.Start) {
		return &Error{Line: a.lines["end"], Field: "end", Msg: fmt.Sprintf("the end (%s) must be after the start (%s)", a.End.Format(time.DateOnly), a.Start.Format(time.DateOnly))}
	}
	return p.checkNamedParties()
}

func supervisorKey(i int) string { return fmt.Sprintf("supervisors[%d]", i) }

func (p *parser) supervisors(f field) error {
	items, err := list(f)
	if err != nil {
		return err
	}
	first := map[string]int{}
	for i, n := range items {
		name, err := participantNode(n, f.path)
		if err != nil {
			return err
		}
		if line, dup := first[name]; dup {
			return &Error{Line: n.Line, Field: f.path, Msg: fmt.Sprintf("supervisor %q is named twice (first on line %d)", name, line)}
		}
		first[name] = n.Line
		p.a.lines[supervisorKey(i)] = n.Line
		p.a.Supervisors = append(p.a.Supervisors, name)
	}
	return nil
}

func (p *parser) confidentiality(f field) error {
	if isNull(f.value) {
		return nil
	}
	if f.value.Kind != yaml.MappingNode {
		return &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("expected a mapping of private, readers and exceptions, not %s", describe(f.value))}
	}
	fs, err := fields(f.value, f.path)
	if err != nil {
		return err
	}
	c := &p.a.Confidentiality
	for _, g := range fs {
		p.a.lines[g.path] = g.key.Line
		var err error
		switch g.name {
		case "private":
			c.Private, err = text(g)
		case "readers":
			err = p.readers(g)
		case "exceptions":
			if p.schema >= 2 && g.value.Kind == yaml.MappingNode {
				err = p.exceptionMap(g)
			} else {
				err = p.exceptions(g)
			}
		default:
			err = unknownField(g, confidentialityFields)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) readers(f field) error {
	fs, err := p.kindFields(f, nil)
	if err != nil {
		return err
	}
	readers := map[policy.Kind][]string{}
	for _, g := range fs {
		items, err := list(g)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return &Error{Line: g.value.Line, Field: g.path, Msg: "needs at least one reader (mentor, mentee or author)"}
		}
		var rs []string
		first := map[string]int{}
		for _, n := range items {
			r, null, err := scalar(n, g.path)
			if err != nil {
				return err
			}
			switch {
			case r == policy.ReaderMentor || r == policy.ReaderMentee || r == policy.ReaderAuthor:
			case null || r == "":
				return &Error{Line: n.Line, Field: g.path, Msg: "empty reader (use mentor, mentee or author)"}
			case r == "supervisor" || r == "supervisors" || slices.Contains(p.supervisorNames, r):
				return &Error{Line: n.Line, Field: g.path, Msg: fmt.Sprintf("%q cannot be a reader: supervisors read only through consent and grants (use mentor, mentee or author)", clip(r))}
			default:
				return &Error{Line: n.Line, Field: g.path, Msg: fmt.Sprintf("unknown reader %q (use mentor, mentee or author)", clip(r))}
			}
			if line, dup := first[r]; dup {
				return &Error{Line: n.Line, Field: g.path, Msg: fmt.Sprintf("reader %q is named twice (first on line %d)", r, line)}
			}
			first[r] = n.Line
			rs = append(rs, r)
		}
		readers[policy.Kind(g.name)] = rs
	}
	p.a.Confidentiality.Readers = readers
	return nil
}

func (p *parser) exceptions(f field) error {
	items, err := textList(f)
	if err != nil {
		return err
	}
	first := map[string]int{}
	for i, e := range items {
		line := f.value.Content[i].Line
		if !slugPattern().MatchString(e) {
			return &Error{Line: line, Field: f.path, Msg: fmt.Sprintf("exception %q is not a slug (use lowercase letters, digits and dashes, e.g. risk-of-harm)", clip(e))}
		}
		if l, dup := first[e]; dup {
			return &Error{Line: line, Field: f.path, Msg: fmt.Sprintf("exception %q is named twice (first on line %d)", e, l)}
		}
		first[e] = line
	}
	p.a.Confidentiality.Exceptions = items
	return nil
}

func (p *parser) retention(f field) error {
	var extra []string
	if p.schema >= 2 {
		extra = []string{"after_close"}
	}
	fs, err := p.kindFields(f, extra)
	if err != nil {
		return err
	}
	p.a.Retention = map[policy.Kind]time.Duration{}
	for _, g := range fs {
		p.a.lines[g.path] = g.key.Line
		d, err := duration(g)
		if err != nil {
			return err
		}
		if g.name == "after_close" {
			p.a.AfterClose = d
			continue
		}
		p.a.Retention[policy.Kind(g.name)] = d
	}
	return nil
}

// duration reads a period such as 90d.
func duration(f field) (time.Duration, error) {
	s, _, err := scalar(f.value, f.path)
	if err != nil {
		return 0, err
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, &Error{Line: f.value.Line, Field: f.path, Msg: err.Error()}
	}
	return d, nil
}

// kindFields returns the pairs of a mapping keyed by kind of note, refusing
// kinds the schema does not know; extra are other keys it may hold.
func (p *parser) kindFields(f field, extra []string) ([]field, error) {
	if f.value.Kind != yaml.MappingNode {
		return nil, &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("expected a mapping of kinds of note (%s), not %s", p.kindList(extra), describe(f.value))}
	}
	fs, err := fields(f.value, f.path)
	if err != nil {
		return nil, err
	}
	for _, g := range fs {
		if !slices.Contains(policy.KindsOf(p.schema), policy.Kind(g.name)) && !slices.Contains(extra, g.name) {
			return nil, &Error{Line: g.key.Line, Field: f.path, Msg: fmt.Sprintf("unknown kind of note %q (use %s)", clip(g.name), p.kindList(extra))}
		}
	}
	return fs, nil
}

func (p *parser) kindList(extra []string) string {
	s := policy.KindNames(policy.KindsOf(p.schema))
	for _, e := range extra {
		s += "; or " + e
	}
	return s
}

// participant reads a participant name.
func participant(f field) (string, error) {
	return participantNode(f.value, f.path)
}

func participantNode(n *yaml.Node, path string) (string, error) {
	s, null, err := scalar(n, path)
	if err != nil {
		return "", err
	}
	if null || s == "" {
		return "", &Error{Line: n.Line, Field: path, Msg: "needs a participant name (matching " + namePattern().String() + ")"}
	}
	if !namePattern().MatchString(s) {
		return "", &Error{Line: n.Line, Field: path, Msg: fmt.Sprintf("%q is not a valid participant name (it must match %s)", clip(s), namePattern().String())}
	}
	return s, nil
}

// text reads free text; null is the empty string.
func text(f field) (string, error) {
	s, _, err := scalar(f.value, f.path)
	return strings.TrimSpace(s), err
}

// textList reads a list of free text entries; null is an empty list.
func textList(f field) ([]string, error) {
	items, err := list(f)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range items {
		s, null, err := scalar(n, f.path)
		if err != nil {
			return nil, err
		}
		s = strings.TrimSpace(s)
		if null || s == "" {
			return nil, &Error{Line: n.Line, Field: f.path, Msg: "empty entry in the list"}
		}
		out = append(out, s)
	}
	return out, nil
}

// list returns the items of a sequence; null is an empty list.
func list(f field) ([]*yaml.Node, error) {
	if isNull(f.value) {
		return nil, nil
	}
	if f.value.Kind != yaml.SequenceNode {
		return nil, &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("expected a list, not %s", describe(f.value))}
	}
	return f.value.Content, nil
}

// scalar reads a plain value: text, a number, a boolean or a date, as
// written. null reports an explicit or empty null.
func scalar(n *yaml.Node, path string) (s string, null bool, err error) {
	if n.Kind != yaml.ScalarNode {
		return "", false, &Error{Line: n.Line, Field: path, Msg: fmt.Sprintf("expected text, not %s", describe(n))}
	}
	switch n.ShortTag() {
	case "!!null":
		return "", true, nil
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return n.Value, false, nil
	default:
		return "", false, &Error{Line: n.Line, Field: path, Msg: fmt.Sprintf("expected text, not a value tagged %s", n.Tag)}
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names the shape of a node for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias (*" + n.Value + "); aliases are not supported"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true or false"
		}
		return "text"
	}
	return "an unknown value"
}

// suggest returns the known name closest to name if it is a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := Distance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b, capped at 64 for
// long inputs: what "did you mean" suggestions are measured by, here for
// field names and in the command line for flags.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
