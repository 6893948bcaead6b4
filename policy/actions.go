package policy

import (
	"slices"
	"strings"
	"time"
)

// WriteNote decides whether who may write a note of kind under terms t.
// Session notes and reflections are written by the mentor or the mentee;
// summaries by the mentor only.
func WriteNote(who string, kind Kind, t Terms) Decision {
	if !kind.Valid() {
		return deny("unknown-kind", "", "unknown note kind %q (use session, reflection or summary)", string(kind))
	}
	role, ok := t.RoleOf(who)
	if !ok || role == Supervisor {
		return deny("not-participant", "", "only the mentor (%s) and the mentee (%s) of agreement %s write notes; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	if kind == Summary && role != Mentor {
		return deny("not-mentor", "", "only the mentor of agreement %s (%s) writes summaries; %s", t.Agreement, t.Mentor, t.its(who))
	}
	return allow("writer", "", "%s is the %s of agreement %s, who writes %s", who, role, t.Agreement, kind.Plural())
}

// checkMayRead enforces that only someone who may read a kind shares it:
// who must be able to read notes of every kind (verb: "consent to",
// "grant").
func checkMayRead(who, verb string, kinds []Kind, t Terms) (Decision, bool) {
	for _, k := range kinds {
		if !t.MayRead(who, k) {
			return deny("not-kind-reader", "", "%s cannot %s %s: %s may not read them (%s)", who, verb, k.Plural(), who, t.kindRule(k)), false
		}
	}
	return Decision{}, true
}

// ConsentUntil decides when a consent given at now, asked to last until
// until (zero: no end was given), ends under the agreement's cap on
// consents (Terms.ConsentCap). A consent with no end ends at the cap; one
// that would outlast the cap is refused, naming it. The time returned is
// the consent's end when the decision allows.
func ConsentUntil(until, now time.Time, t Terms) (time.Time, Decision) {
	limit := now.Add(t.ConsentCap())
	if until.IsZero() {
		return limit, allow("consent-cap", "", "no end was given: the consent ends at %s, when the cap of %s on consents of agreement %s is reached", FormatTime(limit), FormatDuration(t.ConsentCap()), t.Agreement)
	}
	if until.After(limit) {
		return time.Time{}, deny("consent-cap", "", "a consent under agreement %s lasts at most %s (until %s); %s is later", t.Agreement, FormatDuration(t.ConsentCap()), FormatTime(limit), FormatTime(until))
	}
	return until, allow("consent-cap", "", "the consent ends at %s, within the cap of %s on consents of agreement %s", FormatTime(until), FormatDuration(t.ConsentCap()), t.Agreement)
}

// GrantPeriod decides whether a grant may last d under the agreement's cap
// on grants (Terms.GrantCap).
func GrantPeriod(d time.Duration, t Terms) Decision {
	switch {
	case d <= 0:
		return deny("grant-period", "", "a grant must last longer than zero")
	case d > t.GrantCap():
		return deny("grant-cap", "", "a grant under agreement %s lasts at most %s; %s is longer", t.Agreement, FormatDuration(t.GrantCap()), FormatDuration(d))
	}
	return allow("grant-cap", "", "%s is within the cap of %s on grants of agreement %s", FormatDuration(d), FormatDuration(t.GrantCap()), t.Agreement)
}

// checkConsentKinds enforces that a consent or grant names at least one kind
// and only kinds a consent can cover.
func checkConsentKinds(kinds []Kind) (Decision, bool) {
	if len(kinds) == 0 {
		return deny("no-kinds", "", "no kind of note is named; consent covers summaries and session notes"), false
	}
	for _, k := range kinds {
		if !k.Valid() {
			return deny("unknown-kind", "", "unknown note kind %q (use session or summary)", string(k)), false
		}
		if !k.Consentable() {
			return deny("private-kind", "", "%s stay private to their author; consent covers summaries and session notes only", k.Plural()), false
		}
	}
	return Decision{}, true
}

// GiveConsent decides whether who may consent to grantee seeing kinds of
// note. Only the mentee consents, only to a supervisor of the agreement, and
// only for summaries and session notes.
func GiveConsent(who, grantee string, kinds []Kind, t Terms) Decision {
	if who == "" || who != t.Mentee {
		return deny("not-mentee", "", "only the mentee of agreement %s (%s) can give consent; %s", t.Agreement, t.Mentee, t.its(who))
	}
	if !t.IsSupervisor(grantee) {
		return deny("not-supervisor", "", "%s is not a supervisor of agreement %s (%s)", grantee, t.Agreement, supervisorList(t))
	}
	if d, ok := checkConsentKinds(kinds); !ok {
		return d
	}
	if d, ok := checkMayRead(who, "consent to", kinds, t); !ok {
		return d
	}
	return allow("consent", "", "%s is the mentee of agreement %s and may let its supervisor %s see %s", who, t.Agreement, grantee, pluralList(kinds))
}

func supervisorList(t Terms) string {
	if len(t.Supervisors) == 0 {
		return "it names none"
	}
	return strings.Join(t.Supervisors, ", ")
}

// WithdrawConsent decides whether who may withdraw consent c. The mentee who
// gave it may, unless it is already withdrawn.
func WithdrawConsent(who string, c Consent, t Terms) Decision {
	if c.Agreement != t.Agreement {
		return indeterminate("terms-mismatch", c.ID, "consent %s belongs to agreement %s but the terms are of agreement %s", c.ID, c.Agreement, t.Agreement)
	}
	if who == "" || (who != c.Grantor && who != t.Mentee) {
		return deny("not-mentee", c.ID, "only the mentee of agreement %s (%s) can withdraw consent; %s", t.Agreement, t.Mentee, t.its(who))
	}
	if !c.WithdrawnAt.IsZero() {
		return deny("already-withdrawn", c.ID, "consent %s was already withdrawn at %s", c.ID, FormatTime(c.WithdrawnAt))
	}
	return allow("withdraw", c.ID, "%s gave consent %s and may withdraw it", who, c.ID)
}

// GrantAccess decides whether who may grant grantee access to kinds of note,
// and returns the live consent the grant would rest on. The mentor or the
// mentee grants, only to a supervisor of the agreement, and only under a
// verified consent by the mentee that is neither withdrawn nor lapsed and
// covers every requested kind. Among several, the consent that lasts longest
// is chosen. The returned consent is nil unless the decision allows.
func GrantAccess(who, grantee string, kinds []Kind, f Facts, now time.Time) (Decision, *Consent) {
	t := f.Terms
	role, ok := t.RoleOf(who)
	if !ok || role == Supervisor {
		return deny("not-participant", "", "only the mentor (%s) or the mentee (%s) of agreement %s can grant access; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who)), nil
	}
	if !t.IsSupervisor(grantee) {
		return deny("not-supervisor", "", "%s is not a supervisor of agreement %s (%s)", grantee, t.Agreement, supervisorList(t)), nil
	}
	for _, k := range kinds {
		if d := MayGrant(who, k, t); !d.Allowed() {
			return d, nil
		}
	}
	if d, ok := checkConsentKinds(kinds); !ok {
		return d, nil
	}
	var best, forged *Consent
	for i := range f.Consents {
		c := &f.Consents[i]
		if c.Agreement != t.Agreement || c.Grantee != grantee || c.Grantor != t.Mentee {
			continue
		}
		if c.Withdrawn(now) || c.Lapsed(now) || !coversAll(c.Kinds, kinds) {
			continue
		}
		if !c.Verified {
			if forged == nil {
				forged = c
			}
			continue
		}
		if best == nil || lastsLonger(*c, *best) {
			best = c
		}
	}
	if best == nil {
		if forged != nil {
			return indeterminate("consent-unverified", forged.ID, "consent %s fails its signature check; it grants nothing", forged.ID), nil
		}
		return deny("no-consent", "", "no live consent by %s covers %s for %s", t.Mentee, grantee, pluralList(kinds)), nil
	}
	chosen := *best
	chosen.Kinds = slices.Clone(best.Kinds)
	until := "until withdrawn"
	if !chosen.Until.IsZero() {
		until = "until " + FormatTime(chosen.Until)
	}
	return allow("consent", chosen.ID, "consent %s by %s covers %s for %s, %s", chosen.ID, chosen.Grantor, grantee, pluralList(kinds), until), &chosen
}

// lastsLonger reports whether a lasts longer than b (no end beats any end).
func lastsLonger(a, b Consent) bool {
	switch {
	case a.Until.IsZero():
		return !b.Until.IsZero()
	case b.Until.IsZero():
		return false
	}
	return a.Until.After(b.Until)
}

// RevokeGrant decides whether who may revoke grant g: the mentor, the
// mentee, or whoever granted it, unless it is already revoked.
func RevokeGrant(who string, g Grant, t Terms) Decision {
	if g.Agreement != t.Agreement {
		return indeterminate("terms-mismatch", g.ID, "grant %s belongs to agreement %s but the terms are of agreement %s", g.ID, g.Agreement, t.Agreement)
	}
	if who == "" || (who != t.Mentor && who != t.Mentee && who != g.GrantedBy) {
		return deny("not-participant", g.ID, "only the mentor (%s), the mentee (%s) or the granter (%s) can revoke grant %s; %s", t.Mentor, t.Mentee, g.GrantedBy, g.ID, t.its(who))
	}
	if !g.RevokedAt.IsZero() {
		return deny("already-revoked", g.ID, "grant %s was already revoked at %s", g.ID, FormatTime(g.RevokedAt))
	}
	var why string
	if who == g.GrantedBy {
		why = who + " granted it"
	} else {
		why = t.describe(who)
	}
	return allow("revoke", g.ID, "%s may revoke grant %s; %s", who, g.ID, why)
}

// Disclose decides whether who may disclose note n to `to` under the named
// exception reason. Only a reader the note is sealed to may disclose it (a
// grant or disclosure recipient cannot pass it on), only under an exception
// the agreement names, only to someone else, and only while the note lives.
func Disclose(who string, n Note, to, reason string, f Facts, now time.Time) Decision {
	t := f.Terms
	if n.Agreement != t.Agreement {
		return indeterminate("terms-mismatch", "", "note %s belongs to agreement %s but the terms are of agreement %s", n.ID, n.Agreement, t.Agreement)
	}
	if n.Expired(now) {
		return deny("note-expired", "", "note %s expired at %s and awaits destruction", n.ID, FormatTime(n.Expires))
	}
	if who == "" || !slices.Contains(n.Readers, who) {
		return deny("not-reader", "", "only a reader of note %s (%s) can disclose it; %s is not one", n.ID, strings.Join(n.Readers, ", "), who)
	}
	if to != "" && to == who && t.HasException(reason) {
		return deny("self-disclosure", "", "%s cannot disclose note %s to themself", who, n.ID)
	}
	if d := DisclosureRecipient(who, to, reason, t); !d.Allowed() {
		return d
	}
	return allow("disclose", "", "%s reads note %s and may disclose it to %s under exception %s of agreement %s", who, n.ID, to, reason, t.Agreement)
}

// DisclosureRecipient decides whether a disclosure by who to `to` fits
// exception reason: the agreement names the exception, and `to` is someone
// else whom the exception names as a recipient (for an exception in list
// form, one of the agreement's supervisors). It is the part of Disclose that
// does not depend on the note, and what the chain's fold re-checks.
func DisclosureRecipient(who, to, reason string, t Terms) Decision {
	if !t.HasException(reason) {
		listed := "it names none"
		if names := t.ExceptionNames(); len(names) > 0 {
			listed = strings.Join(names, ", ")
		}
		return deny("not-exception", "", "reason %q is not an exception of agreement %s (%s)", reason, t.Agreement, listed)
	}
	switch {
	case to == "":
		return deny("no-recipient", "", "a disclosure must name its recipient")
	case to == who:
		return deny("self-disclosure", "", "%s cannot disclose to themself", who)
	}
	recipients := t.RecipientsOf(reason)
	if !slices.Contains(recipients, to) {
		if len(recipients) == 0 {
			return deny("not-recipient", "", "exception %s of agreement %s names no one who may receive a disclosure", reason, t.Agreement)
		}
		return deny("not-recipient", "", "under exception %s of agreement %s only %s may receive a disclosure; %s", reason, t.Agreement, orList(recipients), t.its(to))
	}
	return allow("recipient", "", "under exception %s of agreement %s, %s may receive a disclosure", reason, t.Agreement, orList(recipients))
}

// custodianList is "its custodians (x, y)" or "no custodian (it names
// none)".
func custodianList(t Terms) string {
	if len(t.Custodians) == 0 {
		return "a custodian (it names none)"
	}
	return "a custodian (" + strings.Join(t.Custodians, ", ") + ")"
}

// PlaceHold decides whether who may place a legal hold on the agreement or
// one of its notes: its mentor, its mentee or one of the custodians it
// names. A supervisor who is not a custodian may not: a hold keeps the
// mentee's notes from destruction, and the agreement decides who may do
// that.
func PlaceHold(who string, t Terms) Decision {
	switch {
	case who != "" && who == t.Mentor, who != "" && who == t.Mentee:
		return allow("hold", "", "%s and may place a hold", t.describe(who))
	case t.IsCustodian(who):
		return allow("hold", "", "%s is a custodian of agreement %s and may place a hold", who, t.Agreement)
	}
	return deny("not-custodian", "", "only the mentor (%s), the mentee (%s) or %s of agreement %s can place a hold; %s", t.Mentor, t.Mentee, custodianList(t), t.Agreement, t.its(who))
}

// ReleaseHold decides whether who may release a hold placed by placedBy:
// whoever placed it, or a custodian of the agreement. Nobody else, mentor
// and mentee included, may lift a hold someone else placed.
func ReleaseHold(who, placedBy string, t Terms) Decision {
	switch {
	case who != "" && who == placedBy:
		return allow("release", "", "%s placed the hold and may release it", who)
	case t.IsCustodian(who) && placedBy == "":
		return allow("release", "", "%s is a custodian of agreement %s and may release any of its holds", who, t.Agreement)
	case t.IsCustodian(who):
		return allow("release", "", "%s is a custodian of agreement %s and may release the hold placed by %s", who, t.Agreement, placedBy)
	}
	if placedBy == "" {
		return deny("not-placer", "", "only whoever placed a hold, or %s of agreement %s, can release it; %s", custodianList(t), t.Agreement, t.its(who))
	}
	return deny("not-placer", "", "only %s, who placed the hold, or %s of agreement %s can release it; %s", placedBy, custodianList(t), t.Agreement, t.its(who))
}

// InForce decides whether anything may be done under an agreement: only
// under a version both mentor and mentee accepted. t is the newest version's
// terms.
func InForce(t Terms, inForce bool) Decision {
	if !inForce {
		return deny("not-accepted", "", "agreement %s is not in force: both %s and %s must accept it first", t.Agreement, t.Mentor, t.Mentee)
	}
	return allow("in-force", "", "version %d of agreement %s is in force", t.Version, t.Agreement)
}

// Accept decides whether who may accept a version of an agreement: only its
// mentor and its mentee do.
func Accept(who string, t Terms) Decision {
	if who == "" || (who != t.Mentor && who != t.Mentee) {
		return deny("not-party", "", "only the mentor (%s) and the mentee (%s) accept agreement %s; %s is neither", t.Mentor, t.Mentee, t.Agreement, who)
	}
	return allow("accept", "", "%s and accepts its versions", t.describe(who))
}

// Amend decides whether who may propose a new version of an agreement: only
// its mentor and its mentee do.
func Amend(who string, t Terms) Decision {
	if who == "" || (who != t.Mentor && who != t.Mentee) {
		return deny("not-party", "", "only the mentor (%s) and the mentee (%s) amend agreement %s; %s is neither", t.Mentor, t.Mentee, t.Agreement, who)
	}
	return allow("amend", "", "%s and may propose amendments", t.describe(who))
}

// DeleteNote decides whether who may destroy note n now: its author or the
// agreement's mentee, and not while a legal hold keeps it.
func DeleteNote(who string, n Note, t Terms) Decision {
	if who == "" || (who != n.Author && who != t.Mentee) {
		return deny("not-owner", "", "only the author (%s) or the mentee (%s) can delete note %s", n.Author, t.Mentee, n.ID)
	}
	if n.Held {
		return deny("held", "", "note %s is under legal hold and cannot be destroyed until it is released", n.ID)
	}
	return allow("delete", "", "%s may delete note %s", who, n.ID)
}

// ReadStatement decides whether who may read the statement of why
// disclosure d was made: the discloser, the recipient and the mentee.
func ReadStatement(who string, d Disclosure, t Terms) Decision {
	if who == "" || (who != d.By && who != d.To && who != t.Mentee) {
		return deny("not-party", d.ID, "the statement of disclosure %s is for %s, %s and the mentee %s", d.ID, d.By, d.To, t.Mentee)
	}
	return allow("statement", d.ID, "%s made, received or is the subject of disclosure %s", who, d.ID)
}

// ReadAgreementText decides whether who may read the full text of an
// agreement version: its parties (mentor, mentee, supervisors) may.
func ReadAgreementText(who string, t Terms) Decision {
	if _, ok := t.RoleOf(who); !ok {
		return deny("not-party", "", "the text of agreement %s version %d is for its parties; %s is not one", t.Agreement, t.Version, who)
	}
	return allow("party", "", "%s and reads the agreement", t.describe(who))
}
