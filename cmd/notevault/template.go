package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// agreementTemplate is what `agreement template` prints: a valid agreement
// between the participants of the README's walk (alice, bob and carol), with
// a comment on every field. The demo creates its agreement from it too.
const agreementTemplate = `# A mentoring agreement for notevault. Edit it, then:
#   notevault agreement create --file agreement.yaml
# and both the mentor and the mentee accept it (notevault agreement accept ID -i FILE).
# Unknown fields are refused, with the field and the line.

# A short title for the relationship (required).
name: Alice mentors Bob
# The participant names, as registered with notevault participant add
# (required: mentor and mentee; they must be different people).
mentor: alice
mentee: bob
# Supervisors read summaries only with the mentee's consent, through a
# time-limited grant; never by being listed here alone. May be empty: [].
supervisors: [carol]

# What the mentoring is for and how it works: free text, stored encrypted to
# the parties. Every one of these fields may be left out.
purpose: Land a data-science role within 6 months
scope: career planning, portfolio reviews, interview practice
cadence: biweekly 30-minute video calls
channels: [video calls, shared notes]
topics: [statistics, portfolio, interviews]
boundaries: [no personal financial advice, no hiring decisions]
success_criteria:
  - ship a portfolio project by 2027-03-01
review: quarterly

confidentiality:
  # What stays private, in words (free text).
  private: reflections stay with their author; sessions stay between mentor and mentee
  # Who reads each kind of note: mentor, mentee or author (whoever wrote it).
  # A kind left out gets these defaults.
  readers:
    session: [mentor, mentee]
    reflection: [author]
    summary: [author, mentee]
  # The named exceptions under which a note may be disclosed to someone else,
  # on record (notevault disclose --reason NAME): lowercase words and dashes.
  exceptions: [risk-of-harm, legal-obligation]

# How long each kind of note is kept before the retention sweep destroys it
# (required for every kind): days (d), weeks (w) or Go durations (36h, 90m).
retention:
  session: 365d
  reflection: 90d
  summary: 180d
# The destruction timeline as agreed, in words (free text).
destruction: notes are destroyed when their retention ends, unless a legal hold keeps them
`

func newAgreementTemplateCmd(_ *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "template",
		Short: "Print a commented example agreement file to start from",
		Long: `Print a valid agreement file, with a comment on every field, to start from.
Its parties are alice (mentor), bob (mentee) and carol (supervisor), as in the
README's walk: change the names to the participants you registered.`,
		Example: `  notevault agreement template > agreement.yaml
  notevault agreement create --file agreement.yaml`,
		Args: exactArgs(),
		RunE: func(*cobra.Command, []string) error {
			return runAgreementTemplate(e)
		},
	}
}

func runAgreementTemplate(e *env) error {
	_, err := fmt.Fprint(e.stdout, agreementTemplate)
	return err
}
