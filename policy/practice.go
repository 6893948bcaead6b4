package policy

import (
	"fmt"
	"strings"
	"time"
)

// The rules of the mentoring practice beyond reading and sharing notes:
// success criteria attested by both parties, proposals the other party
// rejects or the proposer withdraws, and the review schedule.

// AttestStatus is where a success criterion stands, as its parties attest.
type AttestStatus string

// The statuses a criterion can be attested with.
const (
	StatusMet      AttestStatus = "met"
	StatusProgress AttestStatus = "progress"
	StatusMissed   AttestStatus = "missed"
)

// ParseAttestStatus parses met, progress or missed, in any case.
func ParseAttestStatus(s string) (AttestStatus, error) {
	switch st := AttestStatus(strings.ToLower(strings.TrimSpace(s))); st {
	case StatusMet, StatusProgress, StatusMissed:
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (use met, progress or missed)", s)
}

// Attest decides whether who may propose an attestation that a success
// criterion of the agreement stands at some status: its mentor or its mentee.
// The attestation counts once the other of the two confirms it.
func Attest(who string, t Terms) Decision {
	if who == "" || (who != t.Mentor && who != t.Mentee) {
		return deny("not-party", "", "only the mentor (%s) and the mentee (%s) attest the success criteria of agreement %s; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	return allow("attest", "", "%s and attests its success criteria with the other party", t.describe(who))
}

// ConfirmAttestation decides whether who may confirm an attestation that
// proposer made: the other of mentor and mentee, so that an attestation
// always carries both signatures.
func ConfirmAttestation(who, proposer, attestation string, t Terms) Decision {
	if d := Attest(who, t); !d.Allowed() {
		return d
	}
	if who == proposer {
		return deny("own-attestation", attestation, "%s proposed attestation %s; the other party (%s) confirms it", who, attestation, t.other(who))
	}
	return allow("confirm", attestation, "%s and confirms attestation %s by %s", t.describe(who), attestation, proposer)
}

// other is the other of mentor and mentee.
func (t Terms) other(name string) string {
	if name == t.Mentor {
		return t.Mentee
	}
	return t.Mentor
}

// ReadAttestations decides whether who may see the attestations of an
// agreement's success criteria (statuses, dates, who signed, the id of a
// note offered as evidence, never its content): its mentor and mentee, and
// a supervisor while a live grant under the mentee's consent lets them see
// notes of the agreement.
func ReadAttestations(who string, f Facts, now time.Time) Decision {
	t := f.Terms
	if who != "" && (who == t.Mentor || who == t.Mentee) {
		return allow("party", "", "%s and attests its success criteria", t.describe(who))
	}
	if !t.IsSupervisor(who) {
		return deny("not-party", "", "the success criteria of agreement %s are for its mentor, its mentee and a supervisor with the mentee's consent; %s", t.Agreement, t.its(who))
	}
	var last *Decision
	for _, g := range f.Grants {
		if g.Grantee != who {
			continue
		}
		d := GrantLive(g, f, now)
		if d.Allowed() {
			return allow("grant", g.ID, "%s is a supervisor of agreement %s with live grant %s: attestations and dates, never a note's content", who, t.Agreement, g.ID)
		}
		last = &d
	}
	if last != nil {
		return deny(last.Rule, last.Basis, "%s sees the success criteria of agreement %s only under a live grant: %s", who, t.Agreement, last.Reason)
	}
	return deny("no-grant", "", "%s sees the success criteria of agreement %s only under a live grant, which the mentee (%s) must consent to; no grant covers %s", who, t.Agreement, t.Mentee, who)
}

// RejectProposal decides whether who may reject a pending version that
// proposer proposed ("" for the version the vault created): the mentor or
// the mentee who did not propose it and has not accepted it.
func RejectProposal(who, proposer string, version int, accepted bool, t Terms) Decision {
	if who == "" || (who != t.Mentor && who != t.Mentee) {
		return deny("not-party", "", "only the mentor (%s) and the mentee (%s) reject proposals for agreement %s; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	if who == proposer {
		return deny("own-proposal", "", "%s proposed version %d of agreement %s; withdraw it instead (notevault agreement withdraw %s)", who, version, t.Agreement, t.Agreement)
	}
	if accepted {
		return deny("accepted", "", "%s already accepted version %d of agreement %s; propose an amendment instead", who, version, t.Agreement)
	}
	return allow("reject", "", "%s and may reject version %d, which it has not accepted", t.describe(who), version)
}

// WithdrawProposal decides whether who may withdraw a pending version that
// proposer proposed: only its proposer. The first version is the vault's,
// which nobody withdraws; a party who does not want it rejects it.
func WithdrawProposal(who, proposer string, version int, t Terms) Decision {
	if who == "" || (who != t.Mentor && who != t.Mentee) {
		return deny("not-party", "", "only the mentor (%s) and the mentee (%s) withdraw proposals for agreement %s; %s", t.Mentor, t.Mentee, t.Agreement, t.its(who))
	}
	if proposer == "" {
		return deny("not-proposer", "", "version %d of agreement %s was created, not proposed by a party; reject it instead (notevault agreement reject %s)", version, t.Agreement, t.Agreement)
	}
	if who != proposer {
		return deny("not-proposer", "", "version %d of agreement %s was proposed by %s; only they can withdraw it, and %s can reject it (notevault agreement reject %s)", version, t.Agreement, proposer, who, t.Agreement)
	}
	return allow("withdraw-proposal", "", "%s proposed version %d of agreement %s and may withdraw it", who, version, t.Agreement)
}

// ReviewDue computes when the next review of a relationship is due: every
// after the last review, or after since (when the agreement came into
// force) when there has been none. It is overdue at and after that time. A
// zero every means no schedule: never due.
func ReviewDue(every time.Duration, since, lastReview, now time.Time) (due time.Time, overdue bool) {
	if every <= 0 {
		return time.Time{}, false
	}
	from := since
	if lastReview.After(from) {
		from = lastReview
	}
	due = from.Add(every)
	return due, !now.Before(due)
}

// HumanDuration renders a period for sentences: "30 days", "1 day",
// "12 hours", else FormatDuration.
func HumanDuration(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "1 day"
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d == time.Hour:
		return "1 hour"
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return FormatDuration(d)
}
