package agreement

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The fields schema 2 adds. Each refuses what it cannot read with the field
// and the line; under schema 1 they are unknown fields, as they were.

var (
	// clausePattern is what a clause's name must match.
	clausePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`) })
	// criterionPattern is what a success criterion's id must match.
	criterionPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`) })
)

var (
	criterionFields = []string{"id", "what", "measure", "due"}
	holdsFields     = []string{"custodians"}
	sharingFields   = []string{"max_grant", "max_consent"}
)

// namedSchedules are the review cadences that may be written as a word.
var namedSchedules = map[string]time.Duration{
	"weekly":      7 * 24 * time.Hour,
	"fortnightly": 14 * 24 * time.Hour,
	"biweekly":    14 * 24 * time.Hour,
	"monthly":     30 * 24 * time.Hour,
	"quarterly":   90 * 24 * time.Hour,
	"yearly":      365 * 24 * time.Hour,
	"annually":    365 * 24 * time.Hour,
}

// gate reads f with read under schema 2 and later; under schema 1 f is an
// unknown field, as it was then.
func (p *parser) gate(f field, read func(field) error) error {
	if p.schema < 2 {
		return unknownField(f, p.topFields())
	}
	return read(f)
}

// mapping returns the pairs of f's value, which must be a mapping (null: none).
func mapping(f field, what string) ([]field, error) {
	if isNull(f.value) {
		return nil, nil
	}
	if f.value.Kind != yaml.MappingNode {
		return nil, &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("expected a mapping of %s, not %s", what, describe(f.value))}
	}
	return fields(f.value, f.path)
}

// clauses reads `clauses: {roles: ..., feedback: ...}`.
func (p *parser) clauses(f field) error {
	fs, err := mapping(f, "named clauses (roles: ..., feedback: ...)")
	if err != nil {
		return err
	}
	for _, g := range fs {
		if !clausePattern().MatchString(g.name) {
			return &Error{Line: g.key.Line, Field: f.path, Msg: fmt.Sprintf("clause name %q is not a plain name (use lowercase letters, digits, _ and -, e.g. power_dynamics)", clip(g.name))}
		}
		s, err := text(g)
		if err != nil {
			return err
		}
		if s == "" {
			return &Error{Line: g.value.Line, Field: g.path, Msg: "the clause is empty"}
		}
		p.a.lines[g.path] = g.key.Line
		p.a.Clauses = append(p.a.Clauses, Clause{Name: g.name, Text: s})
	}
	return nil
}

// date reads a calendar date such as 2027-03-01; null is the zero time.
func date(f field) (time.Time, error) {
	s, null, err := scalar(f.value, f.path)
	if err != nil || null {
		return time.Time{}, err
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("%q is not a date (write it as 2027-03-01)", clip(s))}
	}
	return d, nil
}

// review reads the review schedule: under schema 1 free text, under schema
// 2 "every <duration>" or a named cadence.
func (p *parser) review(f field) error {
	s, err := text(f)
	if err != nil {
		return err
	}
	p.a.Review = s
	if p.schema < 2 || s == "" {
		return nil
	}
	if d, ok := namedSchedules[strings.ToLower(s)]; ok {
		p.a.ReviewEvery = d
		return nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "every "); ok {
		d, err := ParseDuration(strings.TrimSpace(rest))
		if err == nil {
			p.a.ReviewEvery = d
			return nil
		}
		if strings.ContainsAny(rest, "0123456789") {
			// A period that is wrong, not words: say what is wrong with it.
			return &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("%q: %v", clip(s), err)}
		}
	}
	return &Error{Line: f.value.Line, Field: f.path, Msg: fmt.Sprintf("%q is not a schedule (write every <duration>, such as every 90d, or one of weekly, fortnightly, monthly, quarterly, yearly)", clip(s))}
}

// criteria reads success_criteria: under schema 1 a list of text; under
// schema 2 each entry is text or {id, what, measure, due}.
func (p *parser) criteria(f field) error {
	if p.schema < 2 {
		items, err := textList(f)
		for i, s := range items {
			p.a.SuccessCriteria = append(p.a.SuccessCriteria, Criterion{ID: "c" + strconv.Itoa(i+1), What: s})
		}
		return err
	}
	items, err := list(f)
	if err != nil {
		return err
	}
	first := map[string]int{}
	for i, n := range items {
		c := Criterion{ID: "c" + strconv.Itoa(i+1)}
		if n.Kind == yaml.MappingNode {
			if c, err = criterion(n, f.path, c.ID); err != nil {
				return err
			}
		} else {
			s, null, err := scalar(n, f.path)
			if err != nil {
				return &Error{Line: n.Line, Field: f.path, Msg: fmt.Sprintf("expected text or {id, what, measure, due}, not %s", describe(n))}
			}
			if c.What = strings.TrimSpace(s); null || c.What == "" {
				return &Error{Line: n.Line, Field: f.path, Msg: "empty entry in the list"}
			}
		}
		if line, dup := first[c.ID]; dup {
			return &Error{Line: n.Line, Field: f.path, Msg: fmt.Sprintf("criterion id %q is used twice (first on line %d; an entry without an id is c<its place>)", c.ID, line)}
		}
		first[c.ID] = n.Line
		p.a.SuccessCriteria = append(p.a.SuccessCriteria, c)
	}
	return nil
}

// criterion reads one {id, what, measure, due}; id defaults to def.
func criterion(n *yaml.Node, path, def string) (Criterion, error) {
	c := Criterion{ID: def}
	fs, err := fields(n, path)
	if err != nil {
		return c, err
	}
	for _, g := range fs {
		var err error
		switch g.name {
		case "id":
			var s string
			if s, err = text(g); err == nil && !criterionPattern().MatchString(s) {
				err = &Error{Line: g.value.Line, Field: g.path, Msg: fmt.Sprintf("%q is not a criterion id (use lowercase letters, digits, _ and -, e.g. portfolio)", clip(s))}
			}
			c.ID = s
		case "what":
			c.What, err = text(g)
		case "measure":
			c.Measure, err = text(g)
		case "due":
			c.Due, err = date(g)
		default:
			err = unknownField(g, criterionFields)
		}
		if err != nil {
			return c, err
		}
	}
	if c.What == "" {
		return c, &Error{Line: n.Line, Field: join(path, "what"), Msg: fmt.Sprintf("criterion %q needs what: the criterion itself", c.ID)}
	}
	return c, nil
}

// holds reads `holds: {custodians: [...]}`.
func (p *parser) holds(f field) error {
	fs, err := mapping(f, "custodians: [...]")
	if err != nil {
		return err
	}
	for _, g := range fs {
		if g.name != "custodians" {
			return unknownField(g, holdsFields)
		}
		names, err := p.names(g, "custodian")
		if err != nil {
			return err
		}
		p.a.Custodians = names
	}
	return nil
}

// names reads a list of participant names, refusing duplicates, and
// records each one's line under path[i].
func (p *parser) names(f field, what string) ([]string, error) {
	items, err := list(f)
	if err != nil {
		return nil, err
	}
	var out []string
	first := map[string]int{}
	for i, n := range items {
		name, err := participantNode(n, f.path)
		if err != nil {
			return nil, err
		}
		if line, dup := first[name]; dup {
			return nil, &Error{Line: n.Line, Field: f.path, Msg: fmt.Sprintf("%s %q is named twice (first on line %d)", what, name, line)}
		}
		first[name] = n.Line
		p.a.lines[fmt.Sprintf("%s[%d]", f.path, i)] = n.Line
		out = append(out, name)
	}
	return out, nil
}

// sharing reads `sharing: {max_grant: 30d, max_consent: 180d}`.
func (p *parser) sharing(f field) error {
	fs, err := mapping(f, "max_grant and max_consent")
	if err != nil {
		return err
	}
	for _, g := range fs {
		var d time.Duration
		if g.name == "max_grant" || g.name == "max_consent" {
			if d, err = duration(g); err != nil {
				return err
			}
		}
		switch g.name {
		case "max_grant":
			p.a.Sharing.MaxGrant = d
		case "max_consent":
			p.a.Sharing.MaxConsent = d
		default:
			return unknownField(g, sharingFields)
		}
	}
	return nil
}

// exceptionMap reads the map form `exceptions: {risk-of-harm: [carol]}`:
// each exception with who may receive a disclosure under it; a null value
// means the agreement's supervisors, as the list form does.
func (p *parser) exceptionMap(f field) error {
	fs, err := fields(f.value, f.path)
	if err != nil {
		return err
	}
	c := &p.a.Confidentiality
	for _, g := range fs {
		if !slugPattern().MatchString(g.name) {
			return &Error{Line: g.key.Line, Field: f.path, Msg: fmt.Sprintf("exception %q is not a slug (use lowercase letters, digits and dashes, e.g. risk-of-harm)", clip(g.name))}
		}
		c.Exceptions = append(c.Exceptions, g.name)
		if isNull(g.value) {
			continue
		}
		names, err := p.names(g, "recipient")
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return &Error{Line: g.value.Line, Field: g.path, Msg: "names no recipient (name who may receive a disclosure, or leave the value empty for the agreement's supervisors)"}
		}
		if c.Recipients == nil {
			c.Recipients = map[string][]string{}
		}
		c.Recipients[g.name] = names
	}
	return nil
}

// checkNamedParties checks that custodians and exception recipients are
// parties of the agreement: its mentor, its mentee or one of its
// supervisors.
func (p *parser) checkNamedParties() error {
	a := p.a
	check := func(path, what string, names []string) error {
		for i, name := range names {
			if name == a.Mentor || name == a.Mentee || slices.Contains(a.Supervisors, name) {
				continue
			}
			return &Error{Line: a.lines[fmt.Sprintf("%s[%d]", path, i)], Field: path,
				Msg: fmt.Sprintf("%s %q is not a party of the agreement (name its mentor, its mentee or one of its supervisors)", what, name)}
		}
		return nil
	}
	if err := check("holds.custodians", "custodian", a.Custodians); err != nil {
		return err
	}
	for _, e := range a.Confidentiality.Exceptions {
		if err := check("confidentiality.exceptions."+e, "recipient", a.Confidentiality.Recipients[e]); err != nil {
			return err
		}
	}
	return nil
}
