package policy

import (
	"fmt"
	"strings"
	"testing"
)

func TestAbilities(t *testing.T) {
	tt := terms()
	tt.Custodians = []string{"frank"}
	tt.ExceptionRecipients = map[string][]string{"safeguarding": {"frank"}}
	render := func(who string) string {
		var b strings.Builder
		for _, a := range Abilities(who, tt) {
			fmt.Fprintf(&b, "%s: %s [%s]\n", a.Action, a.Decision, a.Decision.Rule)
		}
		return b.String()
	}
	tests := map[string]string{
		"alice": `place a hold: allowed: alice is the mentor of agreement a-1 and may place a hold [hold]
release a hold someone else placed: denied: only whoever placed a hold, or a custodian (frank) of agreement a-1, can release it; alice is its mentor [not-placer]
consent to session notes: denied: only the mentee of agreement a-1 (bob) can give consent; alice is its mentor [not-mentee]
grant session notes: allowed: alice may grant a supervisor session notes the mentee consented to, for at most 90d; the grant shares only what alice reads [grant]
consent to summaries: denied: only the mentee of agreement a-1 (bob) can give consent; alice is its mentor [not-mentee]
grant summaries: allowed: alice may grant a supervisor summaries the mentee consented to, for at most 90d; the grant shares only what alice reads [grant]
receive a disclosure under risk-of-harm: denied: under exception risk-of-harm of agreement a-1 only carol may receive a disclosure; alice is its mentor [not-recipient]
receive a disclosure under legal-obligation: denied: under exception legal-obligation of agreement a-1 only carol may receive a disclosure; alice is its mentor [not-recipient]
receive a disclosure under safeguarding: denied: under exception safeguarding of agreement a-1 only frank may receive a disclosure; alice is its mentor [not-recipient]
grant for longer than 90d: denied: a grant under agreement a-1 lasts at most 90d [grant-cap]
consent for longer than 365d: denied: a consent under agreement a-1 lasts at most 365d; one given without an end ends then [consent-cap]
`,
		"carol": `place a hold: denied: only the mentor (alice), the mentee (bob) or a custodian (frank) of agreement a-1 can place a hold; carol is one of its supervisors [not-custodian]
release a hold someone else placed: denied: only whoever placed a hold, or a custodian (frank) of agreement a-1, can release it; carol is one of its supervisors [not-placer]
consent to session notes: denied: only the mentee of agreement a-1 (bob) can give consent; carol is one of its supervisors [not-mentee]
grant session notes: denied: only the mentor (alice) or the mentee (bob) of agreement a-1 can grant access; carol is one of its supervisors [not-participant]
consent to summaries: denied: only the mentee of agreement a-1 (bob) can give consent; carol is one of its supervisors [not-mentee]
grant summaries: denied: only the mentor (alice) or the mentee (bob) of agreement a-1 can grant access; carol is one of its supervisors [not-participant]
receive a disclosure under risk-of-harm: allowed: under exception risk-of-harm of agreement a-1, carol may receive a disclosure [recipient]
receive a disclosure under legal-obligation: allowed: under exception legal-obligation of agreement a-1, carol may receive a disclosure [recipient]
receive a disclosure under safeguarding: denied: under exception safeguarding of agreement a-1 only frank may receive a disclosure; carol is one of its supervisors [not-recipient]
grant for longer than 90d: denied: a grant under agreement a-1 lasts at most 90d [grant-cap]
consent for longer than 365d: denied: a consent under agreement a-1 lasts at most 365d; one given without an end ends then [consent-cap]
`,
	}
	for who, want := range tests {
		if got := render(who); got != want {
			t.Errorf("abilities of %s:\n%s\nwant:\n%s", who, got, want)
		}
	}
	// frank, a custodian outside the agreement, holds and releases any hold.
	got := render("frank")
	for _, want := range []string{
		"place a hold: allowed: frank is a custodian of agreement a-1 and may place a hold [hold]",
		"release a hold someone else placed: allowed: frank is a custodian of agreement a-1 and may release any of its holds [release]",
		"receive a disclosure under safeguarding: allowed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("abilities of frank lack %q:\n%s", want, got)
		}
	}
	// bob, the mentee, under author-only summaries: no consent, no grant.
	tt.Readers = map[Kind][]string{Summary: {ReaderAuthor}}
	got = render("bob")
	for _, want := range []string{
		"consent to summaries: denied: bob cannot consent to summaries: bob may not read them (summaries are private to their author) [not-kind-reader]",
		"grant summaries: denied: bob cannot grant summaries: bob may not read them (summaries are private to their author) [not-kind-reader]",
		"consent to session notes: allowed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("abilities of bob lack %q:\n%s", want, got)
		}
	}
}

// The plain-language summary names a recipient an exception names by name,
// though they are no other party.
func TestSummaryNamesExceptionRecipients(t *testing.T) {
	tt := terms()
	tt.ExceptionRecipients = map[string][]string{"safeguarding": {"dana"}}
	want := "under the safeguarding exception a reader of a note may disclose it to dana; every disclosure is recorded and bob can see it"
	got := Summarize(tt)
	for _, s := range got {
		if s == want {
			return
		}
	}
	t.Errorf("summary lacks %q:\n%s", want, strings.Join(got, "\n"))
}
