package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Read decides whether who may read note n at now.
//
// The order of the rules: an expired note (not under a hold) is readable by
// nobody; a reader the note is sealed to may read it; so may the recipient of
// a verified disclosure of it; so may a supervisor holding a live grant for
// its kind, which is never the case for reflections, if the note is sealed
// to whoever made the grant (a grant shares only what its granter reads).
// Allow wins over
// everything else; a missing or unverified record that could have allowed
// makes the decision Indeterminate; otherwise the most specific denial is
// returned.
func Read(who string, n Note, f Facts, now time.Time) Decision {
	if n.Expired(now) {
		return deny("note-expired", "", "note %s expired at %s and awaits destruction", n.ID, FormatTime(n.Expires))
	}
	if who == "" {
		return deny("no-reader", "", "no reader is named")
	}
	t := f.Terms
	if slices.Contains(n.Readers, who) {
		return allow("reader", "", "%s; %s", readerRole(who, n, t), t.kindRule(n.Kind))
	}

	var undecided *Decision // first Indeterminate seen
	note := func(d Decision) {
		if d.Outcome == Indeterminate && undecided == nil {
			undecided = &d
		}
	}

	// Disclosures of this note to who.
	var disclosureDenial *Decision
	for _, d := range f.Disclosures {
		if d.Note != n.ID || d.To != who {
			continue
		}
		if !d.Verified {
			note(indeterminate("disclosure-unverified", d.ID, "disclosure %s fails its signature check; it discloses nothing", d.ID))
			continue
		}
		// Only a reader the note is sealed to may disclose it: a signed
		// disclosure by anyone else (a supervisor passing on a grant copy)
		// discloses nothing, however it reached the store.
		if !slices.Contains(n.Readers, d.By) {
			note(indeterminate("disclosure-not-reader", d.ID, "disclosure %s was made by %s, who is not a reader of note %s; it discloses nothing", d.ID, d.By, n.ID))
			continue
		}
		if d.At.After(now) {
			dd := deny("disclosure-pending", d.ID, "disclosure %s takes effect at %s", d.ID, FormatTime(d.At))
			disclosureDenial = &dd
			continue
		}
		return allow("disclosure", d.ID, "disclosed by %s under exception %s at %s", d.By, d.Reason, FormatTime(d.At))
	}

	// Grants to who. Reflections (and any kind a consent cannot cover) are
	// never opened by a grant, whatever the grant or its consent says.
	var best *graded
	if n.Kind.Consentable() {
		for _, g := range f.Grants {
			if g.Grantee != who || g.Agreement != n.Agreement {
				continue
			}
			r := checkGrant(g, &n.Kind, n.Agreement, f, now)
			if r.d.Outcome == Allow && !slices.Contains(n.Readers, g.GrantedBy) {
				// A grant shares what its granter reads: it copies only
				// notes sealed to them (AddGrant, copyForGrants).
				r = graded{deny("grant-not-granters", g.ID, "grant %s shares only what %s, who made it, reads; note %s is sealed to %s", g.ID, g.GrantedBy, n.ID, strings.Join(n.Readers, ", ")), r.stage + 1}
			}
			switch r.d.Outcome {
			case Allow:
				return r.d
			case Indeterminate:
				note(r.d)
			default:
				if best == nil || r.stage >= best.stage {
					best = &r
				}
			}
		}
	}

	if undecided != nil {
		return *undecided
	}
	if best != nil {
		return best.d
	}
	if disclosureDenial != nil {
		return *disclosureDenial
	}
	if !n.Kind.Consentable() {
		return deny("not-reader", "", "%s; no consent covers %s", t.kindRule(n.Kind), who)
	}
	return deny("not-reader", "", "%s; no grant covers %s", t.kindRule(n.Kind), who)
}

// readerRole explains why who, a reader the note is sealed to, reads it.
func readerRole(who string, n Note, t Terms) string {
	toks := t.ReaderTokens(n.Kind)
	switch {
	case who == n.Author && slices.Contains(toks, ReaderAuthor):
		return who + " is the author"
	case who == t.Mentor && slices.Contains(toks, ReaderMentor):
		return fmt.Sprintf("%s is the mentor of agreement %s", who, n.Agreement)
	case who == t.Mentee && slices.Contains(toks, ReaderMentee):
		return fmt.Sprintf("%s is the mentee of agreement %s", who, n.Agreement)
	case who == n.Author:
		return who + " is the author"
	}
	return fmt.Sprintf("%s is a reader note %s was sealed to", who, n.ID)
}

// GrantLive decides whether grant g is a live lease at now: verified, not
// revoked, inside [Issued, Expires), resting on a verified consent by the
// mentee that is neither withdrawn nor lapsed and covers every kind of the
// grant, for a grantee who is still a supervisor of the agreement. Callers use
// it to destroy a supervisor's copies when it ends, and to decide whether new
// notes get a copy for the grantee.
func GrantLive(g Grant, f Facts, now time.Time) Decision {
	return checkGrant(g, nil, g.Agreement, f, now).d
}

// graded is a grant decision with how far its checks got; a denial from a
// later stage is more specific than one from an earlier stage.
type graded struct {
	d     Decision
	stage int
}

// checkGrant runs the lease checks on g. kind, if non-nil, is the kind of
// note being read. agreement is the agreement the grant must belong to.
func checkGrant(g Grant, kind *Kind, agreement string, f Facts, now time.Time) graded {
	t := f.Terms
	stage := 0
	fail := func(d Decision) graded { return graded{d, stage} }
	next := func() { stage++ }

	if g.Agreement != agreement || t.Agreement != g.Agreement {
		return fail(indeterminate("terms-mismatch", g.ID, "grant %s belongs to agreement %s but the terms are of agreement %s; it cannot be checked", g.ID, g.Agreement, t.Agreement))
	}
	next()
	if !g.Verified {
		return fail(indeterminate("grant-unverified", g.ID, "grant %s fails its signature check; it grants nothing", g.ID))
	}
	next()
	switch {
	case g.Consent == "":
		return fail(deny("grant-malformed", g.ID, "grant %s rests on no consent; it grants nothing", g.ID))
	case g.Expires.IsZero():
		return fail(deny("grant-malformed", g.ID, "grant %s has no end; a grant must expire", g.ID))
	case len(g.Kinds) == 0:
		return fail(deny("grant-malformed", g.ID, "grant %s names no kind of note", g.ID))
	}
	for _, k := range g.Kinds {
		if !k.Consentable() {
			return fail(deny("grant-kind", g.ID, "grant %s names %s, which no consent can open", g.ID, k.Plural()))
		}
	}
	next()
	if kind != nil && !containsKind(g.Kinds, *kind) {
		return fail(deny("grant-kind", g.ID, "grant %s does not cover %s", g.ID, kind.Plural()))
	}
	next()
	if g.Revoked(now) {
		return fail(deny("grant-revoked", g.ID, "grant %s was revoked at %s", g.ID, FormatTime(g.RevokedAt)))
	}
	next()
	if g.Ended(now) {
		return fail(deny("grant-ended", g.ID, "grant %s ended at %s, when a version of agreement %s in force no longer allowed it", g.ID, FormatTime(g.EndedAt), g.Agreement))
	}
	next()
	if now.Before(g.Issued) {
		return fail(deny("grant-not-started", g.ID, "grant %s starts at %s", g.ID, FormatTime(g.Issued)))
	}
	next()
	if !now.Before(g.Expires) {
		ago := now.Sub(g.Expires).Round(time.Second)
		if ago == 0 {
			return fail(deny("grant-expired", g.ID, "grant %s expired just now", g.ID))
		}
		return fail(deny("grant-expired", g.ID, "grant %s expired %s ago", g.ID, FormatDuration(ago)))
	}
	next()
	c, ok := f.ConsentByID(g.Consent)
	if !ok {
		return fail(indeterminate("consent-missing", g.ID, "consent %s behind grant %s is missing; the grant cannot be checked", g.Consent, g.ID))
	}
	next()
	if !c.Verified {
		return fail(indeterminate("consent-unverified", c.ID, "consent %s fails its signature check; it grants nothing", c.ID))
	}
	next()
	switch {
	case c.Agreement != g.Agreement:
		return fail(deny("consent-mismatch", c.ID, "consent %s belongs to agreement %s, not %s", c.ID, c.Agreement, g.Agreement))
	case c.Grantee != g.Grantee:
		return fail(deny("consent-mismatch", c.ID, "consent %s was given to %s, not %s", c.ID, c.Grantee, g.Grantee))
	case c.Grantor != t.Mentee:
		return fail(deny("consent-mismatch", c.ID, "consent %s was given by %s, who is not the mentee of agreement %s", c.ID, c.Grantor, t.Agreement))
	}
	next()
	if c.Withdrawn(now) {
		return fail(deny("consent-withdrawn", c.ID, "consent %s was withdrawn at %s", c.ID, FormatTime(c.WithdrawnAt)))
	}
	next()
	if c.Lapsed(now) {
		return fail(deny("consent-expired", c.ID, "consent %s ran until %s", c.ID, FormatTime(c.Until)))
	}
	next()
	for _, k := range g.Kinds {
		if !containsKind(c.Kinds, k) {
			return fail(deny("consent-kind", c.ID, "grant %s covers %s but consent %s does not", g.ID, k.Plural(), c.ID))
		}
	}
	next()
	for _, k := range g.Kinds {
		if !t.MayRead(g.GrantedBy, k) {
			return fail(deny("granter-not-reader", g.ID, "%s, who made grant %s, may not read %s under agreement %s; the grant has ended", g.GrantedBy, g.ID, k.Plural(), t.Agreement))
		}
	}
	next()
	if !t.IsSupervisor(g.Grantee) {
		return fail(deny("not-supervisor", g.ID, "%s is no longer a supervisor of agreement %s; grant %s has ended", g.Grantee, t.Agreement, g.ID))
	}
	until := g.Expires
	if !c.Until.IsZero() && c.Until.Before(until) {
		until = c.Until
	}
	return graded{allow("grant", g.ID, "grant %s (consent %s by %s, %s, until %s)", g.ID, c.ID, c.Grantor, pluralList(g.Kinds), FormatTime(until)), stage}
}
