package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of note.
type Kind string

// The kinds of note an agreement governs.
const (
	Session    Kind = "session"
	Reflection Kind = "reflection"
	Summary    Kind = "summary"
	Review     Kind = "review"
	Scorecard  Kind = "scorecard"
	Recording  Kind = "recording"
)

// KindInfo is one row of the kinds table: everything the code knows about
// a kind of note. Adding a kind is adding a row; nothing else switches on
// kinds.
type KindInfo struct {
	Kind   Kind
	Plural string // its name for people: "session notes", "reflections"
	// Consentable reports whether a mentee's consent can open notes of the
	// kind to a supervisor.
	Consentable bool
	// MentorOnly: only the mentor writes notes of the kind (else mentor and
	// mentee both do).
	MentorOnly bool
	// Readers are the default reader tokens (mentor, mentee, author), used
	// when an agreement does not name the kind's readers.
	Readers []string
	// RetentionRequired: an agreement file must give the kind a retention
	// period. Only the kinds of the first schema are required, so that a
	// new kind never makes an existing agreement invalid.
	RetentionRequired bool
	// RetentionLike and DefaultRetention give the period of a kind the
	// agreement gives none: that of kind RetentionLike when set, else
	// DefaultRetention.
	RetentionLike    Kind
	DefaultRetention time.Duration
	// Schema is the agreement schema version that introduced the kind: an
	// agreement text written under an earlier schema cannot name it.
	Schema int
}

// kindTable is every kind of note, in display order.
var kindTable = []KindInfo{
	{Kind: Session, Plural: "session notes", Consentable: true,
		Readers: []string{ReaderMentor, ReaderMentee}, RetentionRequired: true, Schema: 1},
	{Kind: Reflection, Plural: "reflections",
		Readers: []string{ReaderAuthor}, RetentionRequired: true, Schema: 1},
	{Kind: Summary, Plural: "summaries", Consentable: true, MentorOnly: true,
		Readers: []string{ReaderAuthor, ReaderMentee}, RetentionRequired: true, Schema: 1},
	{Kind: Review, Plural: "reviews", Consentable: true,
		Readers: []string{ReaderMentor, ReaderMentee}, RetentionLike: Session, Schema: 2},
	{Kind: Scorecard, Plural: "scorecards", Consentable: true,
		Readers: []string{ReaderMentor, ReaderMentee}, RetentionLike: Session, Schema: 2},
	{Kind: Recording, Plural: "recordings",
		Readers: []string{ReaderMentor, ReaderMentee}, DefaultRetention: 30 * 24 * time.Hour, Schema: 2},
}

// Kinds lists every kind of note, in display order.
var Kinds = KindsOf(0)

// KindsOf lists the kinds of note an agreement written under schema version
// schema can name, in display order; schema 0 means every kind.
func KindsOf(schema int) []Kind {
	var out []Kind
	for _, r := range kindTable {
		if schema == 0 || r.Schema <= schema {
			out = append(out, r.Kind)
		}
	}
	return out
}

// Info returns k's row of the kinds table; ok is false for an unknown kind.
func (k Kind) Info() (info KindInfo, ok bool) {
	for _, r := range kindTable {
		if r.Kind == k {
			r.Readers = slices.Clone(r.Readers)
			return r, true
		}
	}
	return KindInfo{}, false
}

// KindNames renders kinds for a message: "session, reflection or summary".
func KindNames(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// consentableNames is KindNames of the kinds consent can cover.
func consentableNames() string {
	var ks []Kind
	for _, r := range kindTable {
		if r.Consentable {
			ks = append(ks, r.Kind)
		}
	}
	return KindNames(ks)
}

// consentablePlurals is "summaries, session notes, ..." for a message.
func consentablePlurals() string {
	var ks []Kind
	for _, r := range kindTable {
		if r.Consentable {
			ks = append(ks, r.Kind)
		}
	}
	return pluralList(ks)
}

// ParseKind parses one kind name. It accepts the singular and plural forms,
// in any case, surrounded by spaces.
func ParseKind(s string) (Kind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, r := range kindTable {
		if name == string(r.Kind) || name == string(r.Kind)+"s" || name == strings.ReplaceAll(r.Plural, " ", "-") ||
			(strings.HasSuffix(string(r.Kind), "y") && name == strings.TrimSuffix(string(r.Kind), "y")+"ies") {
			return r.Kind, nil
		}
	}
	return "", fmt.Errorf("unknown note kind %q (use %s)", s, KindNames(Kinds))
}

// ParseKinds parses a comma-separated list of kinds, dropping duplicates and
// keeping the order of first appearance. An empty list is an error.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKind(part)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no note kind given (use %s)", KindNames(Kinds))
	}
	return out, nil
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	_, ok := k.Info()
	return ok
}

// Plural is the kind's name for people: "session notes", "reflections",
// "summaries".
func (k Kind) Plural() string {
	if r, ok := k.Info(); ok {
		return r.Plural
	}
	return string(k) + " notes"
}

// Consentable reports whether a mentee's consent can open notes of kind k to
// a supervisor: session notes, summaries, reviews and scorecards.
// Reflections stay private to their author, and recordings, the rawest
// record of a session, are never shared beyond its readers.
func (k Kind) Consentable() bool {
	r, _ := k.Info()
	return r.Consentable
}

// DefaultReaders returns a fresh copy of the default reader tokens of every
// kind: session notes, reviews, scorecards and recordings are read by mentor
// and mentee, reflections by their author, summaries by their author and the
// mentee.
func DefaultReaders() map[Kind][]string {
	out := make(map[Kind][]string, len(kindTable))
	for _, r := range kindTable {
		out[r.Kind] = slices.Clone(r.Readers)
	}
	return out
}

// DefaultRetention is the period of a kind that periods (an agreement's
// retention map) does not give: that of the kind it is kept like, or its own
// default. ok is false for a kind with neither (a required kind).
func DefaultRetention(k Kind, periods map[Kind]time.Duration) (d time.Duration, ok bool) {
	r, known := k.Info()
	if !known {
		return 0, false
	}
	if r.RetentionLike != "" {
		if p, ok := periods[r.RetentionLike]; ok {
			return p, true
		}
		return DefaultRetention(r.RetentionLike, periods)
	}
	return r.DefaultRetention, r.DefaultRetention > 0
}

// RetentionFor is how long notes of kind are kept under t: the agreement's
// period for the kind, or, for a kind the agreement does not name (one
// added after it was written), the kinds table's default.
func (t Terms) RetentionFor(kind Kind) time.Duration {
	if p, ok := t.Retention[kind]; ok {
		return p
	}
	d, _ := DefaultRetention(kind, t.Retention)
	return d
}
