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
)

// Kinds lists every kind of note, in display order.
var Kinds = []Kind{Session, Reflection, Summary}

// ParseKind parses one kind name. It accepts the singular and plural forms,
// in any case, surrounded by spaces.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "session", "sessions":
		return Session, nil
	case "reflection", "reflections":
		return Reflection, nil
	case "summary", "summaries":
		return Summary, nil
	}
	return "", fmt.Errorf("unknown note kind %q (use session, reflection or summary)", s)
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
		return nil, fmt.Errorf("no note kind given (use session, reflection or summary)")
	}
	return out, nil
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Plural is the kind's name for people: "session notes", "reflections",
// "summaries".
func (k Kind) Plural() string {
	switch k {
	case Session:
		return "session notes"
	case Reflection:
		return "reflections"
	case Summary:
		return "summaries"
	}
	return string(k) + " notes"
}

// Consentable reports whether a mentee's consent can open notes of kind k to
// a supervisor. Only summaries and session notes can be shared this way;
// reflections stay private to their author.
func (k Kind) Consentable() bool { return k == Summary || k == Session }

// Role is a participant's role in an agreement.
type Role string

// The roles of an agreement's participants.
const (
	Mentor     Role = "mentor"
	Mentee     Role = "mentee"
	Supervisor Role = "supervisor"
)

// ParseRole parses a role name, in any case.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case Mentor, Mentee, Supervisor:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (use mentor, mentee or supervisor)", s)
}

// Reader tokens used in an agreement's confidentiality.readers.
const (
	ReaderMentor = "mentor"
	ReaderMentee = "mentee"
	ReaderAuthor = "author"
)

// Terms is one accepted version of a mentoring agreement, reduced to what
// decisions need.
type Terms struct {
	Agreement   string
	Version     int
	Mentor      string
	Mentee      string
	Supervisors []string
	Readers     map[Kind][]string // reader tokens per kind
	Exceptions  []string          // named disclosure exceptions
	Retention   map[Kind]time.Duration

	// Custodians are the people, beyond mentor and mentee, who may place
	// holds and release any hold (holds.custodians).
	Custodians []string
	// ExceptionRecipients names, per exception, who may receive a
	// disclosure under it. An exception given in list form maps to nil (or
	// is absent): its recipients are the agreement's supervisors.
	ExceptionRecipients map[string][]string
	// MaxGrant and MaxConsent cap how long a grant and a consent may last;
	// 0 means DefaultMaxGrant and DefaultMaxConsent.
	MaxGrant, MaxConsent time.Duration
	// AfterClose is how long notes outlive the agreement's close (0: keep
	// the per-kind periods).
	AfterClose time.Duration
	// Closed is when the agreement was closed by a signed close fact (zero:
	// it is open).
	Closed time.Time
	// Start and End are the agreement's dates, for people only.
	Start, End time.Time
}

// The caps on sharing when an agreement sets none.
const (
	DefaultMaxGrant   = 90 * 24 * time.Hour
	DefaultMaxConsent = 365 * 24 * time.Hour
)

// GrantCap is the longest a grant under t may last.
func (t Terms) GrantCap() time.Duration {
	if t.MaxGrant > 0 {
		return t.MaxGrant
	}
	return DefaultMaxGrant
}

// ConsentCap is the longest a consent under t may last.
func (t Terms) ConsentCap() time.Duration {
	if t.MaxConsent > 0 {
		return t.MaxConsent
	}
	return DefaultMaxConsent
}

// IsCustodian reports whether name is one of the agreement's custodians.
func (t Terms) IsCustodian(name string) bool {
	return name != "" && slices.Contains(t.Custodians, name)
}

// HasException reports whether the agreement names the exception.
func (t Terms) HasException(reason string) bool {
	if reason == "" {
		return false
	}
	if slices.Contains(t.Exceptions, reason) {
		return true
	}
	_, ok := t.ExceptionRecipients[reason]
	return ok
}

// ExceptionNames lists the agreement's exceptions, in list order, then the
// map-form ones sorted.
func (t Terms) ExceptionNames() []string {
	out := slices.Clone(t.Exceptions)
	var extra []string
	for e := range t.ExceptionRecipients {
		if !slices.Contains(out, e) {
			extra = append(extra, e)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

// RecipientsOf is who may receive a disclosure under exception reason: the
// names the agreement gives it, or its supervisors when it gives none.
func (t Terms) RecipientsOf(reason string) []string {
	if names := t.ExceptionRecipients[reason]; names != nil {
		return slices.Clone(names)
	}
	return slices.Clone(t.Supervisors)
}

// MayRead reports whether name may read some note of kind under t as one of
// the readers notes are sealed to: through the mentor or mentee token for
// their role, or through the author token when name may write that kind. A
// supervisor never may: what they see comes through a grant or disclosure.
func (t Terms) MayRead(name string, kind Kind) bool {
	if name == "" {
		return false
	}
	for _, tok := range t.ReaderTokens(kind) {
		switch tok {
		case ReaderMentor:
			if name == t.Mentor {
				return true
			}
		case ReaderMentee:
			if name == t.Mentee {
				return true
			}
		case ReaderAuthor:
			if WriteNote(name, kind, t).Allowed() {
				return true
			}
		}
	}
	return false
}

// DefaultReaders returns a fresh copy of the default reader tokens:
// session notes are read by mentor and mentee, reflections by their author,
// summaries by their author and the mentee.
func DefaultReaders() map[Kind][]string {
	return map[Kind][]string{
		Session:    {ReaderMentor, ReaderMentee},
		Reflection: {ReaderAuthor},
		Summary:    {ReaderAuthor, ReaderMentee},
	}
}

// RoleOf returns name's role in the agreement. A name that is both mentor and
// mentee (a misconfiguration) reports Mentor.
func (t Terms) RoleOf(name string) (Role, bool) {
	switch {
	case name == "":
		return "", false
	case name == t.Mentor:
		return Mentor, true
	case name == t.Mentee:
		return Mentee, true
	case t.IsSupervisor(name):
		return Supervisor, true
	}
	return "", false
}

// IsSupervisor reports whether name is one of the agreement's supervisors.
func (t Terms) IsSupervisor(name string) bool {
	return name != "" && slices.Contains(t.Supervisors, name)
}

// ReaderTokens returns the reader tokens for kind: the agreement's own, or
// the defaults when the agreement names none for that kind.
func (t Terms) ReaderTokens(kind Kind) []string {
	if toks, ok := t.Readers[kind]; ok && len(toks) > 0 {
		return slices.Clone(toks)
	}
	return DefaultReaders()[kind]
}

// ReadersFor resolves the reader tokens for kind to participant names, for a
// note written by author. The result is deduplicated and keeps the order of
// the tokens. Unknown tokens and empty names are skipped.
func (t Terms) ReadersFor(kind Kind, author string) []string {
	var out []string
	for _, tok := range t.ReaderTokens(kind) {
		var name string
		switch tok {
		case ReaderMentor:
			name = t.Mentor
		case ReaderMentee:
			name = t.Mentee
		case ReaderAuthor:
			name = author
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// Note is the unencrypted metadata of a note, as policy needs it.
type Note struct {
	ID, Agreement string
	Version       int
	Kind          Kind
	Author        string
	Created       time.Time
	Expires       time.Time // zero: never
	Readers       []string  // names the note is sealed to (default readers at write time)
	Held          bool      // under a legal hold: expiry suspended
}

// Expired reports whether the note is due for destruction at now: it has an
// expiry, now is at or past it, and no legal hold suspends it.
func (n Note) Expired(now time.Time) bool {
	return !n.Expires.IsZero() && !now.Before(n.Expires) && !n.Held
}

// Consent is a mentee's consent for a supervisor to see kinds of note.
type Consent struct {
	ID, Agreement string
	Version       int // agreement version it rests on
	Grantor       string
	Grantee       string
	Kinds         []Kind
	GivenAt       time.Time
	Until         time.Time // zero: until withdrawn
	WithdrawnAt   time.Time // zero: not withdrawn
	Verified      bool      // the vault checked the mentee's signature; false => grants nothing
}

// Withdrawn reports whether the consent has been withdrawn at or before now.
func (c Consent) Withdrawn(now time.Time) bool {
	return !c.WithdrawnAt.IsZero() && !c.WithdrawnAt.After(now)
}

// Lapsed reports whether the consent's own period has ended at now.
func (c Consent) Lapsed(now time.Time) bool {
	return !c.Until.IsZero() && !now.Before(c.Until)
}

// Grant is a time-limited lease for a supervisor to read kinds of note.
type Grant struct {
	ID, Agreement, Consent string
	GrantedBy, Grantee     string
	Kinds                  []Kind
	Issued, Expires        time.Time // lease window [Issued, Expires): at Expires it is already denied
	RevokedAt              time.Time
	// EndedAt is when a version that came into force no longer allowed the
	// grant (its grantee no longer a supervisor, its granter no longer a
	// reader of a kind): it stays ended, as its copies are destroyed then,
	// whatever a later version says. Zero: not ended so.
	EndedAt  time.Time
	Verified bool
}

// Ended reports whether a version in force ended the grant at or before now.
func (g Grant) Ended(now time.Time) bool {
	return !g.EndedAt.IsZero() && !g.EndedAt.After(now)
}

// Revoked reports whether the grant has been revoked at or before now.
func (g Grant) Revoked(now time.Time) bool {
	return !g.RevokedAt.IsZero() && !g.RevokedAt.After(now)
}

// Disclosure records the use of a named confidentiality exception.
type Disclosure struct {
	ID, Note, By, To, Reason string
	At                       time.Time
	Verified                 bool
}

// Facts are the records a decision rests on.
type Facts struct {
	Terms       Terms        // the agreement's current accepted version
	Consents    []Consent    // of this agreement
	Grants      []Grant      // of this agreement
	Disclosures []Disclosure // of the note in question
}

// ConsentByID returns the consent with the given id, if present.
func (f Facts) ConsentByID(id string) (Consent, bool) {
	if id == "" {
		return Consent{}, false
	}
	for _, c := range f.Consents {
		if c.ID == id {
			return c, true
		}
	}
	return Consent{}, false
}

// Outcome is the result of a decision.
type Outcome int

// The three outcomes. The zero value is Deny, so an unset Decision never
// allows anything.
const (
	Deny Outcome = iota
	Allow
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case Deny:
		return "denied"
	case Allow:
		return "allowed"
	case Indeterminate:
		return "indeterminate"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Decision is the engine's answer with its explanation.
type Decision struct {
	Outcome Outcome
	Rule    string // short stable id of the rule that fired
	Reason  string // human sentence, lowercase, no trailing period
	Basis   string // id of the consent/grant/disclosure that allowed (or was examined), if any
}

// Allowed reports whether the decision allows the action. Only Allow does;
// Deny and Indeterminate both refuse.
func (d Decision) Allowed() bool { return d.Outcome == Allow }

// String renders the decision as "allowed: <reason>", "denied: <reason>" or
// "indeterminate: <reason>".
func (d Decision) String() string {
	if d.Reason == "" {
		return d.Outcome.String()
	}
	return d.Outcome.String() + ": " + d.Reason
}

func allow(rule, basis, format string, args ...any) Decision {
	return Decision{Outcome: Allow, Rule: rule, Basis: basis, Reason: fmt.Sprintf(format, args...)}
}

func deny(rule, basis, format string, args ...any) Decision {
	return Decision{Outcome: Deny, Rule: rule, Basis: basis, Reason: fmt.Sprintf(format, args...)}
}

func indeterminate(rule, basis, format string, args ...any) Decision {
	return Decision{Outcome: Indeterminate, Rule: rule, Basis: basis, Reason: fmt.Sprintf(format, args...)}
}

// FormatTime renders t in UTC as "2006-01-02T15:04Z", adding seconds (and a
// fraction) only when they are non-zero.
func FormatTime(t time.Time) string {
	// Whole seconds: a reason is read by people, and fractions are noise.
	t = t.UTC().Truncate(time.Second)
	switch {
	case t.Second() != 0:
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04Z")
}

// FormatDuration renders d rounded to whole seconds for people: "3s",
// "2m5s", "1h", "2d3h". Negative durations are rendered by magnitude.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// pluralList renders kinds for people: "summaries", "summaries and session
// notes", "session notes, reflections and summaries".
func pluralList(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Plural()
	}
	return andList(names)
}

func andList(items []string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// roleName is "the mentor", "the mentee" or "a supervisor".
func roleName(r Role) string {
	if r == Supervisor {
		return "a supervisor"
	}
	return "the " + string(r)
}

// describe says who name is in the agreement: "alice is the mentor of
// agreement a-1", "dave is not a participant of agreement a-1".
func (t Terms) describe(name string) string {
	if r, ok := t.RoleOf(name); ok {
		return fmt.Sprintf("%s is %s of agreement %s", name, roleName(r), t.Agreement)
	}
	return fmt.Sprintf("%s is not a participant of agreement %s", name, t.Agreement)
}

// its says who name is, relative to an agreement already named: "alice is
// its mentor", "dave is not one of its participants".
func (t Terms) its(name string) string {
	if name == "" {
		return "no one is named"
	}
	r, ok := t.RoleOf(name)
	switch {
	case !ok && t.IsCustodian(name):
		return name + " is one of its custodians"
	case !ok:
		return name + " is not one of its participants"
	case r == Supervisor:
		return name + " is one of its supervisors"
	}
	return fmt.Sprintf("%s is its %s", name, r)
}

// kindRule states who reads a kind: "session notes are read by mentor,
// mentee", "reflections are private to their author".
func (t Terms) kindRule(kind Kind) string {
	toks := t.ReaderTokens(kind)
	if len(toks) == 1 && toks[0] == ReaderAuthor {
		return kind.Plural() + " are private to their author"
	}
	return kind.Plural() + " are read by " + strings.Join(toks, ", ")
}

func containsKind(kinds []Kind, k Kind) bool { return slices.Contains(kinds, k) }

func coversAll(have, want []Kind) bool {
	for _, k := range want {
		if !slices.Contains(have, k) {
			return false
		}
	}
	return true
}
