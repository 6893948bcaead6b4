// Package policy is notevault's decision engine: one place that decides every
// read, write and share of a mentoring note, and explains each decision.
//
// The package is pure. It performs no I/O, no cryptography and never reads a
// clock: the current time is always an argument, and every fact a decision
// needs (the accepted terms of the agreement, consents, grants, disclosures)
// is passed in by the caller, who is responsible for having checked the
// signatures on those records and for setting their Verified flags.
//
// Every decision has one of three outcomes:
//
//   - Allow: a rule positively permits the action.
//   - Deny: no rule permits it, and the engine can say why.
//   - Indeterminate: the answer depends on a record that is missing or fails
//     its signature check. Indeterminate is never treated as Allow, and
//     callers must refuse the action just as they refuse a Deny.
//
// Each Decision carries a short, stable rule id (for scripts and the audit
// log), a human reason in lowercase without a trailing period (for the
// command line), and the id of the record it rests on, if any.
//
// The rules, in brief:
//
//   - A note is readable by the readers it was sealed to (the agreement's
//     default readers for its kind at write time), by the recipient of a
//     recorded disclosure, and by a supervisor holding a live grant.
//   - A grant is a lease over [Issued, Expires): at Expires it is already
//     denied. It rests on a consent given by the mentee; withdrawing the
//     consent ends every grant made under it at once, and an amendment that
//     removes the grantee from the supervisors ends the grant too.
//   - A consent never widens access beyond what the agreement allows:
//     reflections are never readable through a grant, whatever a consent says.
//   - An expired note that is not under a legal hold is readable by nobody,
//     not even its author; it only awaits destruction.
//   - Only someone who may read a kind (Terms.MayRead) consents to it or
//     grants it, and a grant opens only notes sealed to whoever made it.
//   - Grants and consents are capped (Terms.GrantCap, Terms.ConsentCap); a
//     consent given without an end ends at the cap (ConsentUntil).
//   - Holds are placed by the mentor, the mentee or a custodian, and released
//     by whoever placed them or a custodian.
//   - A disclosure goes only to the recipients its exception names (the
//     supervisors, for an exception in list form).
package policy
