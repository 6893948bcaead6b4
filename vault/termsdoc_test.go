package vault

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/notevault/notevault/vault/agreement"
)

// TestTermsDocRoundTrip: the terms stored in the clear read back as the
// terms the parsed text gives, under each schema, so the chain's terms and
// the text's agree (openText compares them) and policy decides on what the
// parties signed.
func TestTermsDocRoundTrip(t *testing.T) {
	texts := map[string]struct {
		schema int
		text   string
	}{
		"schema 1": {1, `name: n
mentor: alice
mentee: bob
supervisors: [carol]
review: every three months
success_criteria: [ship it]
confidentiality:
  exceptions: [risk-of-harm]
retention: {session: 1d, reflection: 2d, summary: 3d}
`},
		"schema 2": {2, `name: n
mentor: alice
mentee: bob
supervisors: [carol, dora]
start: 2026-12-01
end: 2027-11-30
clauses: {roles: a}
success_criteria: [{id: x, what: y, due: 2027-01-01}]
review: quarterly
holds: {custodians: [dora, alice]}
confidentiality:
  readers: {review: [mentor]}
  exceptions: {risk-of-harm: [carol, bob], legal-obligation: }
sharing: {max_grant: 30d, max_consent: 180d}
retention: {session: 1d, reflection: 2d, summary: 3d, recording: 4h, after_close: 30d}
`},
	}
	for name, tc := range texts {
		t.Run(name, func(t *testing.T) {
			parsed, err := agreement.ParseSchema([]byte(tc.text), tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(termsOf(parsed))
			if err != nil {
				t.Fatal(err)
			}
			var doc termsDoc
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			back, err := doc.agreement()
			if err != nil {
				t.Fatal(err)
			}
			if !termsOf(back).equal(termsOf(parsed)) {
				t.Errorf("termsDoc does not round trip:\n%s\n%+v", b, termsOf(back))
			}
			if got, want := back.Terms("a", 1), parsed.Terms("a", 1); !reflect.DeepEqual(got, want) {
				t.Errorf("Terms after the round trip =\n%#v\nwant\n%#v", got, want)
			}
		})
	}
	// A schema 1 version stores none of the fields schema 2 added: its
	// stored terms are byte for byte what the first release wrote.
	parsed, err := agreement.ParseSchema([]byte(texts["schema 1"].text), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(termsOf(parsed))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		switch k {
		case "name", "mentor", "mentee", "supervisors", "readers", "exceptions", "retention":
		default:
			t.Errorf("a schema 1 version stores %q", k)
		}
	}
}
