package main

import (
	"testing"

	"github.com/notevault/notevault/vault/agreement"
)

// The template is a valid agreement between the README walk's parties and
// shows every field an agreement file may have, so that it documents them.
func TestAgreementTemplate(t *testing.T) {
	a, err := agreement.Parse([]byte(agreementTemplate))
	if err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	if a.Mentor != "alice" || a.Mentee != "bob" || len(a.Supervisors) != 1 || a.Supervisors[0] != "carol" {
		t.Errorf("parties: mentor %q, mentee %q, supervisors %q; want alice, bob, [carol]", a.Mentor, a.Mentee, a.Supervisors)
	}
	for field, empty := range map[string]bool{
		"purpose":                    a.Purpose == "",
		"scope":                      a.Scope == "",
		"cadence":                    a.Cadence == "",
		"channels":                   len(a.Channels) == 0,
		"topics":                     len(a.Topics) == 0,
		"boundaries":                 len(a.Boundaries) == 0,
		"success_criteria":           len(a.SuccessCriteria) == 0,
		"review":                     a.Review == "",
		"confidentiality.private":    a.Confidentiality.Private == "",
		"confidentiality.exceptions": len(a.Confidentiality.Exceptions) == 0,
		"destruction":                a.Destruction == "",
		"start":                      a.Start.IsZero(),
		"end":                        a.End.IsZero(),
		"clauses":                    len(a.Clauses) == 0,
		"review (a schedule)":        a.ReviewEvery == 0,
		"holds.custodians":           len(a.Custodians) == 0,
		"exception recipients":       len(a.Confidentiality.Recipients) == 0,
		"sharing.max_grant":          a.Sharing.MaxGrant == 0,
		"sharing.max_consent":        a.Sharing.MaxConsent == 0,
		"retention.after_close":      a.AfterClose == 0,
		"a structured criterion":     len(a.SuccessCriteria) == 0 || a.SuccessCriteria[0].Due.IsZero(),
	} {
		if empty {
			t.Errorf("the template leaves out %s", field)
		}
	}
}
