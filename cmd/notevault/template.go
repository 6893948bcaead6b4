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

# The agreement's dates (YYYY-MM-DD; both optional, the end after the start).
start: 2026-12-01
end: 2027-11-30

# What the mentoring is for and how it works: free text, stored encrypted to
# the parties. Every one of these fields may be left out.
purpose: Land a data-science role within 6 months
scope: career planning, portfolio reviews, interview practice
cadence: biweekly 30-minute video calls
channels: [video calls, shared notes]
topics: [statistics, portfolio, interviews]
boundaries: [no personal financial advice, no hiring decisions]
# The clauses of your programme's template, each a name (lowercase letters,
# digits, _ and -) and free text that both parties sign. Any names will do.
clauses:
  roles: alice guides and asks questions; bob sets the agenda and does the work
  responsibilities: bob sends an agenda two days before each call
  feedback: both give feedback at the end of every call, in a few sentences
  renegotiation: either party may propose an amendment, with two weeks' notice
  power_dynamics: alice has no say in bob's performance reviews or hiring
# Success criteria: plain text (given the ids c1, c2, ... by their place), or
# {id, what, measure, due} with an id of your own to attest against.
success_criteria:
  - {id: portfolio, what: ship a portfolio project, measure: public repository with a write-up, due: 2027-03-01}
  - practise three mock interviews
# When you review the relationship: every <duration> (every 90d, every 13w)
# or weekly, fortnightly, monthly, quarterly, yearly.
review: every 90d

confidentiality:
  # What stays private, in words (free text).
  private: reflections stay with their author; sessions stay between mentor and mentee
  # Who reads each kind of note: mentor, mentee or author (whoever wrote it).
  # A kind left out gets these defaults (review, scorecard and recording:
  # mentor and mentee).
  readers:
    session: [mentor, mentee]
    reflection: [author]
    summary: [author, mentee]
  # The named exceptions under which a note may be disclosed, on record
  # (notevault disclose --reason NAME): lowercase words and dashes, each with
  # the parties who may receive such a disclosure. An exception with no names
  # (or the list form, exceptions: [risk-of-harm, legal-obligation]) is for
  # the agreement's supervisors.
  exceptions:
    risk-of-harm: [carol]
    legal-obligation:

# Who besides mentor and mentee may place and release legal holds: parties
# of this agreement.
holds:
  custodians: [carol]

# The longest a supervisor's grant and a mentee's consent may run (defaults
# when left out: 90d and 365d).
sharing:
  max_grant: 30d
  max_consent: 180d

# How long each kind of note is kept before the retention sweep destroys it:
# days (d), weeks (w) or Go durations (36h, 90m). Session notes, reflections
# and summaries are required; reviews and scorecards default to the session
# period, recordings to 30d. after_close: how long any note is kept once the
# agreement is closed (left out: the periods above hold).
retention:
  session: 365d
  reflection: 90d
  summary: 180d
  review: 365d
  scorecard: 365d
  recording: 30d
  after_close: 30d
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
