package policy

// Ability is one thing a person may or may not do under an agreement, with
// the decision that says so.
type Ability struct {
	Action   string // "place a hold", "consent to summaries", ...
	Decision Decision
}

// Abilities decides, for who under terms t, each governance action the
// agreement rules on: placing and releasing holds, consenting to and
// granting each kind a consent can cover, and receiving a disclosure under
// each exception; then the caps on grants and consents. It is what
// `policy explain --agreement` prints; each line is the same decision the
// action itself would meet (consent and grant as far as the terms decide:
// a grant still needs a live consent when it is made).
func Abilities(who string, t Terms) []Ability {
	var out []Ability
	add := func(action string, d Decision) { out = append(out, Ability{action, d}) }
	add("place a hold", PlaceHold(who, t))
	add("release a hold someone else placed", ReleaseHold(who, "", t))
	grantee := ""
	if len(t.Supervisors) > 0 {
		grantee = t.Supervisors[0]
	}
	for _, k := range Kinds {
		if !k.Consentable() {
			continue
		}
		if grantee == "" {
			add("consent to "+k.Plural(), deny("not-supervisor", "", "agreement %s names no supervisor to consent to", t.Agreement))
		} else {
			add("consent to "+k.Plural(), GiveConsent(who, grantee, []Kind{k}, t))
		}
		add("grant "+k.Plural(), MayGrant(who, k, t))
	}
	for _, e := range t.ExceptionNames() {
		add("receive a disclosure under "+e, DisclosureRecipient("", who, e, t))
	}
	add("grant for longer than "+FormatDuration(t.GrantCap()),
		deny("grant-cap", "", "a grant under agreement %s lasts at most %s", t.Agreement, FormatDuration(t.GrantCap())))
	add("consent for longer than "+FormatDuration(t.ConsentCap()),
		deny("consent-cap", "", "a consent under agreement %s lasts at most %s; one given without an end ends then", t.Agreement, FormatDuration(t.ConsentCap())))
	return out
}

// MayGrant decides whether who may grant a supervisor access to notes of
// kind under t, as far as the terms decide: the mentor or the mentee, for a
// kind a consent can cover and who may read. GrantAccess adds the live
// consent the grant must rest on.
func MayGrant(who string, kind Kind, t Terms) Decision {
	role, ok := t.RoleOf(who)
	if !ok || role == Supervisor {
		return deny("not-participant", "", "only the mentor (%s) or the mentee (%s) of agreement %s can grant access; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	if d, ok := checkConsentKinds([]Kind{kind}); !ok {
		return d
	}
	if d, ok := checkMayRead(who, "grant", []Kind{kind}, t); !ok {
		return d
	}
	return allow("grant", "", "%s may grant a supervisor %s the mentee consented to, for at most %s; the grant shares only what %s reads", who, kind.Plural(), FormatDuration(t.GrantCap()), who)
}
