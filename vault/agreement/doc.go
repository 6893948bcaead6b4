// Package agreement parses and validates mentoring agreement files.
//
// An agreement file is a small YAML document that a mentor and a mentee write
// together: who they are, why and how they meet, what stays confidential,
// who reads which kind of note, the named exceptions that allow disclosure,
// and how long each kind of record is kept. A sketch:
//
//	name: Alice mentors Bob
//	mentor: alice
//	mentee: bob
//	supervisors: [carol]
//	purpose: Land a data-science role within 6 months
//	cadence: biweekly 30-minute video calls
//	boundaries: [no personal financial advice, no hiring decisions]
//	success_criteria:
//	  - ship a portfolio project by 2027-03-01
//	review: quarterly
//	confidentiality:
//	  readers: {session: [mentor, mentee], reflection: [author], summary: [author, mentee]}
//	  exceptions: [risk-of-harm, legal-obligation]
//	retention: {session: 365d, reflection: 90d, summary: 180d}
//
// Schema 2 (the current [Schema]) adds the kinds review, scorecard and
// recording (whose retention is optional), and the fields clauses (named
// free-text clauses), start and end (dates), structured success criteria
// ({id, what, measure, due}; plain text still valid, given the id c<N>),
// review as a schedule ("every 90d", "quarterly"), holds.custodians,
// exceptions naming their recipients ({risk-of-harm: [carol]}; the list
// form still valid), sharing.max_grant and sharing.max_consent, and
// retention.after_close. [ParseSchema] reads a text under the schema it was
// written with, so a stored schema 1 text (free-text review, three kinds)
// reads exactly as it did.
//
// [Parse] is strict. It walks the YAML node tree itself rather than decoding
// into a struct, so that every refusal names the field and the line it is on:
// unknown fields at any level, values of the wrong shape, duplicate keys,
// missing required fields (name, mentor, mentee and a retention period for
// session notes, reflections and summaries), invalid participant names,
// custodians and exception recipients who are not parties of the agreement,
// dates and schedules that do not parse, criterion ids given twice, readers other than the
// roles mentor, mentee and author, retention periods that do not parse or are
// not positive, exception names that are not slugs, more than one YAML
// document, empty input and files over [MaxSize]. Every refusal is an
// [*Error]. Parse never panics.
//
// Parse cannot know who is registered in a vault; [Agreement.CheckParticipants]
// checks the named people against the vault's participants and their roles.
// [Agreement.Terms] turns a parsed agreement into the [policy.Terms] that the
// policy engine decides with.
//
// Durations in agreement files and on the command line are Go durations plus
// days and weeks ("90d", "2w", "1w2d", "36h", "5s"); see [ParseDuration] and
// [FormatDuration].
package agreement
