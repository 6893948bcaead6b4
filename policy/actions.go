package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WriteNote decides whether who may write a note of kind under terms t.
// Session notes and reflections are written by the mentor or the mentee;
// summaries by the mentor only.
func WriteNote(who string, kind Kind, t Terms) Decision {
	if !kind.Valid() {
		return deny("unknown-kind", "", "unknown note kind %q (use %s)", string(kind), KindNames(Kinds))
	}
	role, ok := t.RoleOf(who)
	if !ok || role == Supervisor {
		return deny("not-participant", "", "only the mentor (%s) and the mentee (%s) of agreement %s write notes; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	if info, _ := kind.Info(); info.MentorOnly && role != Mentor {
		return deny("not-mentor", "", "only the mentor of agreement %s (%s) writes %s; %s", t.Agreement, t.Mentor, kind.Plural(), t.its(who))
	}
	return allow("writer", "", "%s is the %s of agreement %s, who writes %s", who, role, t.Agreement, kind.Plural())
}

// checkConsentKinds enforces that a consent or grant names at least one kind
// and only kinds a consent can cover.
func checkConsentKinds(kinds []Kind) (Decision, bool) {
	if len(kinds) == 0 {
		return deny("no-kinds", "", "no kind of note is named; consent covers %s", consentablePlurals()), false
	}
	for _, k := range kinds {
		if !k.Valid() {
			return deny("unknown-kind", "", "unknown note kind %q (use %s)", string(k), consentableNames()), false
		}
		if !k.Consentable() {
			why := "are never shared through consent"
			if info, _ := k.Info(); slices.Equal(info.Readers, []string{ReaderAuthor}) {
				why = "stay private to their author"
			}
			return deny("private-kind", "", "%s %s; consent covers %s only", k.Plural(), why, consentablePlurals()), false
		}
	}
	return Decision{}, true
}

// GiveConsent decides whether who may consent to grantee seeing kinds of
// note. Only the mentee consents, only to a supervisor of the agreement, and
// only for kinds consent can open (see the kinds table).
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
	if !slices.Contains(t.Exceptions, reason) {
		listed := "it names none"
		if len(t.Exceptions) > 0 {
			listed = strings.Join(t.Exceptions, ", ")
		}
		return deny("not-exception", "", "reason %q is not an exception of agreement %s (%s)", reason, t.Agreement, listed)
	}
	switch {
	case to == "":
		return deny("no-recipient", "", "a disclosure must name its recipient")
	case to == who:
		return deny("self-disclosure", "", "%s cannot disclose note %s to themself", who, n.ID)
	}
	if _, ok := t.RoleOf(to); !ok {
		return deny("not-party", "", "%s is not a party of agreement %s: a disclosure goes only to its mentor, mentee or supervisors", to, t.Agreement)
	}
	return allow("disclose", "", "%s reads note %s and may disclose it to %s under exception %s of agreement %s", who, n.ID, to, reason, t.Agreement)
}

// PlaceHold decides whether who may place a legal hold on the agreement or
// one of its notes: its mentor, its mentee or one of its supervisors.
func PlaceHold(who string, t Terms) Decision {
	if _, ok := t.RoleOf(who); !ok {
		return deny("not-participant", "", "only the mentor, the mentee or a supervisor of agreement %s can place a hold; %s", t.Agreement, t.its(who))
	}
	return allow("hold", "", "%s and may place a hold", t.describe(who))
}

// ReleaseHold decides whether who may release a hold placed by placedBy: the
// same people who may place one.
func ReleaseHold(who, placedBy string, t Terms) Decision {
	if _, ok := t.RoleOf(who); !ok {
		return deny("not-participant", "", "only the mentor, the mentee or a supervisor of agreement %s can release a hold; %s", t.Agreement, t.its(who))
	}
	by := ""
	if placedBy != "" && placedBy != who {
		by = fmt.Sprintf(" placed by %s", placedBy)
	}
	return allow("release", "", "%s and may release the hold%s", t.describe(who), by)
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
