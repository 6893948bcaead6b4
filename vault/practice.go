package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// The practice around an agreement: success criteria attested by both
// parties, proposals rejected or withdrawn, the review schedule. Each is a
// signed fact of the agreement's chain (records.go), folded here.

// practice is what the chain says about the practice.
type practice struct {
	since        time.Time // when a version first came into force
	attestations []*Attestation
}

// Attestation is a signed statement that a success criterion stands at a
// status, proposed by one party and counting once the other confirms it.
// Note is the id of a note offered as evidence, never its content.
// Criterion, Status and Note are sealed to the agreement's parties: they
// are filled only for a reader who opened them (openAttestations).
type Attestation struct {
	ID          string              `json:"id"`
	Agreement   string              `json:"agreement"`
	Version     int                 `json:"version"`
	Criterion   string              `json:"criterion"`
	Status      policy.AttestStatus `json:"status"`
	Note        string              `json:"note,omitempty"`
	ProposedBy  string              `json:"proposed_by"`
	ProposedAt  time.Time           `json:"proposed_at"`
	ConfirmedBy string              `json:"confirmed_by,omitempty"`
	ConfirmedAt time.Time           `json:"confirmed_at,omitzero"`

	sealedHash string
}

// attestStatement is what an attestation says, sealed.
type attestStatement struct {
	Criterion string `json:"criterion"`
	Status    string `json:"status"`
	Note      string `json:"note,omitempty"`
}

// attestBlob is the blob id of an attestation's sealed statement.
func attestBlob(attestationID string) string { return attestationID + ".says" }

// Confirmed reports whether both parties signed the attestation.
func (at *Attestation) Confirmed() bool { return at.ConfirmedBy != "" }

// Criterion is one success criterion of an agreement's text. A criterion
// written as plain text has the id c<N> of its place in the list.
type Criterion struct {
	ID      string    `json:"id"`
	What    string    `json:"what"`
	Measure string    `json:"measure,omitempty"`
	Due     time.Time `json:"due,omitzero"`
}

// criteriaOf lists the success criteria of a parsed agreement text.
func criteriaOf(p *agreement.Agreement) []Criterion {
	out := make([]Criterion, 0, len(p.SuccessCriteria))
	for _, c := range p.SuccessCriteria {
		out = append(out, Criterion{ID: c.ID, What: c.What, Measure: c.Measure, Due: c.Due})
	}
	return out
}

// namedSchedules are the review cadences that may be written as a word.
var namedSchedules = map[string]time.Duration{
	"weekly":      7 * 24 * time.Hour,
	"fortnightly": 14 * 24 * time.Hour,
	"biweekly":    14 * 24 * time.Hour,
	"monthly":     30 * 24 * time.Hour,
	"quarterly":   90 * 24 * time.Hour,
	"yearly":      365 * 24 * time.Hour,
	"annually":    365 * 24 * time.Hour,
}

// reviewSchedule is the review schedule an agreement text states: "every
// 90d" or a named cadence (quarterly); other free text states none. Under
// schema 2 the parser has validated it (and refused other text); a schema 1
// text's review is free text, read here as it was when schedules were first
// recorded.
func reviewSchedule(p *agreement.Agreement) (time.Duration, error) {
	if p.Schema >= 2 {
		return p.ReviewEvery, nil
	}
	s := strings.ToLower(strings.TrimSpace(p.Review))
	if d, ok := namedSchedules[s]; ok {
		return d, nil
	}
	rest, ok := strings.CutPrefix(s, "every ")
	if !ok {
		return 0, nil
	}
	d, err := agreement.ParseDuration(strings.TrimSpace(rest))
	if err != nil || d <= 0 {
		return 0, invalid("review: %q is not a schedule (write every <period>, such as every 90d, or quarterly)", p.Review)
	}
	return d, nil
}

// parseReviewPeriod reads the schedule a propose fact stored.
func parseReviewPeriod(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := agreement.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("its review schedule %q is not a period", s)
	}
	return d, nil
}

// reviewField is what a propose fact stores of a text's schedule.
func reviewField(p *agreement.Agreement) (string, error) {
	d, err := reviewSchedule(p)
	if err != nil || d == 0 {
		return "", err
	}
	return agreement.FormatDuration(d), nil
}

// pending reports whether ver is a proposal awaiting acceptance: the newest
// version, not in force, neither rejected nor withdrawn.
func (a *Agreement) pending(ver *AgreementVersion) bool {
	return ver == a.Latest() && ver != a.inForce && ver.Ended == ""
}

// Attestations lists the attestations of the agreement's success criteria,
// oldest first.
func (a *Agreement) Attestations() []*Attestation { return slices.Clone(a.practice.attestations) }

func (a *Agreement) attestation(id string) *Attestation {
	for _, at := range a.practice.attestations {
		if at.ID == id {
			return at
		}
	}
	return nil
}

// foldPractice applies an attest, reject or withdraw-proposal fact.
func (a *Agreement) foldPractice(f *fact) error {
	refused := func(d policy.Decision) error { return fmt.Errorf("policy did not allow it (%s)", d) }
	switch f.Type {
	case factAttest:
		if a.inForce == nil {
			return fmt.Errorf("no version was in force")
		}
		t := a.Terms(a.inForce)
		var b attestBody
		if err := f.decode(&b); err != nil {
			return err
		}
		if b.Confirms != "" {
			if b.ID != "" || b.Sealed != "" || b.Version != 0 {
				return fmt.Errorf("it confirms attestation %s and states terms of its own", b.Confirms)
			}
			at := a.attestation(b.Confirms)
			if at == nil {
				return fmt.Errorf("it confirms attestation %s, which was never made", b.Confirms)
			}
			if at.Confirmed() {
				return fmt.Errorf("it confirms attestation %s a second time", at.ID)
			}
			if d := policy.ConfirmAttestation(f.Actor, at.ProposedBy, at.ID, t); !d.Allowed() {
				return refused(d)
			}
			at.ConfirmedBy, at.ConfirmedAt = f.Actor, f.At
			return nil
		}
		if d := policy.Attest(f.Actor, t); !d.Allowed() {
			return refused(d)
		}
		if b.ID == "" || b.Sealed == "" {
			return fmt.Errorf("it names no attestation or commits to no statement")
		}
		if a.attestation(b.ID) != nil {
			return fmt.Errorf("attestation %s is made twice", b.ID)
		}
		a.practice.attestations = append(a.practice.attestations, &Attestation{ID: b.ID, Agreement: a.ID, Version: b.Version,
			ProposedBy: f.Actor, ProposedAt: f.At, sealedHash: b.Sealed})
	case factReject, factWithdrawProposal:
		var b rejectBody
		if err := f.decode(&b); err != nil {
			return err
		}
		ver := a.Latest()
		if b.Version != ver.Version {
			return fmt.Errorf("it ends version %d while version %d is the newest", b.Version, ver.Version)
		}
		if !a.pending(ver) {
			return fmt.Errorf("it ends version %d, which is not pending", ver.Version)
		}
		t := a.Terms(ver)
		d := policy.WithdrawProposal(f.Actor, ver.ProposedBy, ver.Version, t)
		ended := "withdrawn"
		if f.Type == factReject {
			d = policy.RejectProposal(f.Actor, ver.ProposedBy, ver.Version, ver.AcceptedBy(f.Actor), t)
			ended = "rejected"
		}
		if !d.Allowed() {
			return refused(d)
		}
		ver.Ended, ver.EndedBy, ver.EndedAt = ended, f.Actor, f.At
	}
	return nil
}

// missingError is a record asked for that does not exist, with its own
// sentence; it matches ErrNotFound.
type missingError struct{ msg string }

func (e *missingError) Error() string        { return e.msg }
func (e *missingError) Is(target error) bool { return target == ErrNotFound }

// criteriaInForce reads the success criteria of the version in force from
// its text, which only its parties can decrypt.
func (v *Vault) criteriaInForce(txn kv.Txn, a *Agreement, id *identity.Identity) ([]Criterion, error) {
	text, err := v.openText(txn, a, a.Current(), id)
	if err != nil {
		return nil, err
	}
	defer clear(text)
	parsed, err := agreement.ParseSchema(text, a.Current().Schema)
	if err != nil {
		return nil, integrity(fmt.Sprintf("agreement %s version %d", a.ID, a.Current().Version), "its text does not parse (%v)", err)
	}
	return criteriaOf(parsed), nil
}

func criterionIDs(cs []Criterion) string {
	if len(cs) == 0 {
		return "it names none"
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return "its criteria are " + strings.Join(ids, ", ")
}

// openAttestations returns copies of the agreement's attestations with what
// each says, opened with id and checked against the hash its fact commits
// to. An attestation sealed before id could read them (a supervisor named
// by a later amendment) is left out.
func (v *Vault) openAttestations(txn kv.Txn, a *Agreement, id *identity.Identity) ([]*Attestation, error) {
	var out []*Attestation
	for _, at := range a.practice.attestations {
		what := "attestation " + at.ID
		file, err := v.getBlob(txn, attestBlob(at.ID))
		if err != nil {
			return nil, integrity(what, "its statement cannot be read (%v)", err)
		}
		sum := sha256.Sum256(file)
		if hex.EncodeToString(sum[:]) != at.sealedHash {
			return nil, integrity(what, "its statement is not the one %s signed", at.ProposedBy)
		}
		plain, err := decryptWith(file, id)
		if errors.Is(err, ErrNoKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var st attestStatement
		err = json.Unmarshal(plain, &st)
		clear(plain)
		if err != nil {
			return nil, integrity(what, "its statement does not decode")
		}
		status, err := policy.ParseAttestStatus(st.Status)
		if err != nil || string(status) != st.Status || st.Criterion == "" {
			return nil, integrity(what, "its statement is not a criterion and a status")
		}
		c := *at
		c.Criterion, c.Status, c.Note = st.Criterion, status, st.Note
		out = append(out, &c)
	}
	return out, nil
}

// AttestCriterion records id's signed attestation that a success criterion
// of the version in force stands at status, with an optional note (one its
// attester can read) as evidence. If the other party has a pending
// attestation saying exactly that, this confirms it and it counts;
// otherwise it is a new attestation, pending until the other confirms it.
func (v *Vault) AttestCriterion(ctx context.Context, agreementID, criterion string, status policy.AttestStatus, noteID string, id *identity.Identity) (*Attestation, error) {
	newID, err := v.newID("t")
	if err != nil {
		return nil, err
	}
	if _, err := policy.ParseAttestStatus(string(status)); err != nil {
		return nil, invalid("%v", err)
	}
	var out *Attestation
	err = v.update(func(txn kv.Txn) error {
		act, t, err := v.inForce(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		d := policy.Attest(me.Name, t)
		if !d.Allowed() {
			return denied(d)
		}
		cs, err := v.criteriaInForce(txn, a, id)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cs, func(c Criterion) bool { return c.ID == criterion }) {
			return &missingError{fmt.Sprintf("version %d of agreement %s has no success criterion %q; %s", t.Version, a.ID, criterion, criterionIDs(cs))}
		}
		if noteID != "" {
			n, na, err := v.verifiedNote(txn, noteID)
			if err != nil {
				return err
			}
			if n.Agreement != a.ID {
				return invalid("note %s belongs to agreement %s, not %s: evidence comes from the same agreement", n.ID, n.Agreement, a.ID)
			}
			n.Holds = na.holdsOn(n.ID)
			if rd := policy.Read(me.Name, n.policy(), na.facts(n.ID), v.Now()); !rd.Allowed() {
				return denied(rd)
			}
		}
		same := func(at *Attestation) bool {
			return !at.Confirmed() && at.Criterion == criterion && at.Status == status && at.Note == noteID
		}
		ats, err := v.openAttestations(txn, a, id)
		if err != nil {
			return err
		}
		// The log names the attestation only: what it says is sealed.
		detail := map[string]string{}
		for _, at := range ats {
			if !same(at) {
				continue
			}
			if at.ProposedBy == me.Name {
				other := t.Mentor
				if me.Name == t.Mentor {
					other = t.Mentee
				}
				return invalid("%s already attested that criterion %s is %s (attestation %s); it counts when %s attests the same", me.Name, criterion, status, at.ID, other)
			}
			cd := policy.ConfirmAttestation(me.Name, at.ProposedBy, at.ID, t)
			if !cd.Allowed() {
				return denied(cd)
			}
			detail["confirms"] = at.ID
			if _, err := v.appendFact(txn, a, factAttest, attestBody{Confirms: at.ID}, id, me.Name,
				&audit.Record{Actor: me.Name, Action: "criterion.confirm", Subject: at.ID, Rule: cd.Rule, Detail: detail}); err != nil {
				return err
			}
			c := *a.attestation(at.ID)
			c.Criterion, c.Status, c.Note = at.Criterion, at.Status, at.Note
			out = &c
			return nil
		}
		// What it says is sealed to the parties of the version in force,
		// in the agreement's own bucket, and lives as long as the agreement.
		rs, err := v.pinnedRecipients(txn, a, a.parties(a.Current()))
		if err != nil {
			return err
		}
		says, err := json.Marshal(attestStatement{Criterion: criterion, Status: string(status), Note: noteID})
		if err != nil {
			return err
		}
		file, err := encryptTo(says, rs)
		if err != nil {
			return err
		}
		if _, err := v.putBlob(txn, attestBlob(newID), a.ID, file); err != nil {
			return err
		}
		sum := sha256.Sum256(file)
		if _, err := v.appendFact(txn, a, factAttest, attestBody{ID: newID, Version: t.Version, Sealed: hex.EncodeToString(sum[:])}, id, me.Name,
			&audit.Record{Actor: me.Name, Action: "criterion.attest", Subject: newID, Rule: d.Rule, Detail: detail}); err != nil {
			return err
		}
		c := *a.attestation(newID)
		c.Criterion, c.Status, c.Note = criterion, status, noteID
		out = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CriterionState is a success criterion with where it stands: the status
// of its newest attestation both parties signed, and the attestations
// still waiting for the other party.
type CriterionState struct {
	Criterion
	Status       policy.AttestStatus `json:"status,omitempty"` // "" until an attestation counts
	Since        time.Time           `json:"since,omitzero"`   // when it was confirmed
	Evidence     string              `json:"evidence,omitempty"`
	Attestations []*Attestation      `json:"attestations"` // every one, oldest first
	Pending      []*Attestation      `json:"pending"`      // awaiting the other party
}

// Criteria lists the success criteria of the version in force with their
// attestations, for its mentor and mentee, and for a supervisor with a live
// grant: statuses, dates and evidence ids, never a note's content.
func (v *Vault) Criteria(ctx context.Context, agreementID string, id *identity.Identity) ([]CriterionState, error) {
	var out []CriterionState
	err := v.view(func(txn kv.Txn) error {
		out = out[:0] // a conflict runs the view again (view)
		act, _, err := v.inForce(txn, id, agreementID)
		if err != nil {
			return err
		}
		a := act.agreement
		if d := policy.ReadAttestations(act.me.Name, a.facts(""), v.Now()); !d.Allowed() {
			return denied(d)
		}
		cs, err := v.criteriaInForce(txn, a, id)
		if err != nil {
			return err
		}
		ats, err := v.openAttestations(txn, a, id)
		if err != nil {
			return err
		}
		for _, c := range cs {
			st := CriterionState{Criterion: c, Attestations: []*Attestation{}, Pending: []*Attestation{}}
			for _, at := range ats {
				if at.Criterion != c.ID {
					continue
				}
				st.Attestations = append(st.Attestations, at)
				switch {
				case !at.Confirmed():
					st.Pending = append(st.Pending, at)
				case !at.ConfirmedAt.Before(st.Since):
					st.Status, st.Since, st.Evidence = at.Status, at.ConfirmedAt, at.Note
				}
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// endProposal appends a reject or withdraw-proposal fact for the pending
// version of an agreement.
func (v *Vault) endProposal(agreementID string, id *identity.Identity, typ string) (*AgreementVersion, error) {
	var ver *AgreementVersion
	err := v.update(func(txn kv.Txn) error {
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		ver = a.Latest()
		if !a.pending(ver) {
			state := "in force"
			if ver.Ended != "" {
				state = fmt.Sprintf("%s by %s at %s", ver.Ended, ver.EndedBy, policy.FormatTime(ver.EndedAt))
			}
			return invalid("agreement %s has no pending proposal: its newest version, %d, is %s", a.ID, ver.Version, state)
		}
		t := a.Terms(ver)
		d := policy.WithdrawProposal(me.Name, ver.ProposedBy, ver.Version, t)
		action := "agreement.withdraw"
		if typ == factReject {
			d = policy.RejectProposal(me.Name, ver.ProposedBy, ver.Version, ver.AcceptedBy(me.Name), t)
			action = "agreement.reject"
		}
		if !d.Allowed() {
			return denied(d)
		}
		_, err = v.appendFact(txn, a, typ, rejectBody{Version: ver.Version}, id, me.Name,
			&audit.Record{Actor: me.Name, Action: action, Subject: a.ID, Rule: d.Rule,
				Detail: map[string]string{"version": strconv.Itoa(ver.Version)}})
		return err
	})
	return ver, err
}

// RejectProposal records id's signed rejection of the pending version of
// an agreement: the mentor or mentee who did not propose it and has not
// accepted it. The version in force, if any, stays in force.
func (v *Vault) RejectProposal(ctx context.Context, agreementID string, id *identity.Identity) (*AgreementVersion, error) {
	return v.endProposal(agreementID, id, factReject)
}

// WithdrawProposal records that id, who proposed the pending version of an
// agreement, withdraws it.
func (v *Vault) WithdrawProposal(ctx context.Context, agreementID string, id *identity.Identity) (*AgreementVersion, error) {
	return v.endProposal(agreementID, id, factWithdrawProposal)
}

// ReviewDue is where an agreement's review schedule stands.
type ReviewDue struct {
	Agreement  string        `json:"agreement"`
	Name       string        `json:"name"`
	Mentor     string        `json:"mentor"`
	Mentee     string        `json:"mentee"`
	Every      time.Duration `json:"-"`
	Since      time.Time     `json:"since"`                // when the agreement first came into force
	LastReview time.Time     `json:"last_review,omitzero"` // the newest review note, if any
	Due        time.Time     `json:"due"`
	Overdue    bool          `json:"overdue"`
}

// DueReviews lists every agreement in force with a review schedule, and
// when its next review is due: every period after its newest review note
// (of kind review), or after it first came into force when it has none.
// It reads metadata only and needs no key.
func (v *Vault) DueReviews(ctx context.Context) ([]ReviewDue, error) {
	var out []ReviewDue
	err := v.view(func(txn kv.Txn) error {
		out = out[:0] // a conflict runs the view again (view)
		as, err := v.agreementsIn(txn)
		if err != nil {
			return err
		}
		last := map[string]time.Time{}
		if err := scan(txn, pNote, func(_ string, rec *noteRec) error {
			m := rec.Meta
			if m.Kind == policy.Review && m.Created.After(last[m.Agreement]) {
				last[m.Agreement] = m.Created
			}
			return nil
		}); err != nil {
			return err
		}
		now := v.Now()
		for _, a := range as {
			cur := a.Current()
			if cur == nil || cur.ReviewEvery <= 0 || !a.termsInForce().Closed.IsZero() {
				continue
			}
			due, overdue := policy.ReviewDue(cur.ReviewEvery, a.practice.since, last[a.ID], now)
			out = append(out, ReviewDue{Agreement: a.ID, Name: cur.Parsed.Name, Mentor: cur.Parsed.Mentor, Mentee: cur.Parsed.Mentee,
				Every: cur.ReviewEvery, Since: a.practice.since, LastReview: last[a.ID], Due: due, Overdue: overdue})
		}
		return nil
	})
	slices.SortStableFunc(out, func(x, y ReviewDue) int { return x.Due.Compare(y.Due) })
	return out, err
}

// versionOr returns version n of a (0: the version in force, else the
// newest).
func versionOr(a *Agreement, n int) (*AgreementVersion, error) {
	if n == 0 {
		if cur := a.Current(); cur != nil {
			return cur, nil
		}
		return a.Latest(), nil
	}
	ver := a.Version(n)
	if ver == nil {
		return nil, &missingError{fmt.Sprintf("agreement %s has no version %d (it has 1 to %d)", a.ID, n, len(a.Versions))}
	}
	return ver, nil
}

// Summary states a version of an agreement (0: the one in force, else the
// newest) in plain language, from what policy enforces of its terms, and
// its review schedule. Its terms are in the clear: no key is needed.
func (v *Vault) Summary(ctx context.Context, agreementID string, version int) (*AgreementVersion, []string, error) {
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return nil, nil, err
	}
	ver, err := versionOr(a, version)
	if err != nil {
		return nil, nil, err
	}
	t := a.Terms(ver)
	if ver == a.Current() {
		t = a.termsInForce()
	}
	lines := policy.Summarize(t)
	if ver.ReviewEvery > 0 {
		lines = append(lines, fmt.Sprintf("the relationship is reviewed every %s: a review note is due %s after the last one (notevault agreement due lists overdue reviews)",
			policy.HumanDuration(ver.ReviewEvery), policy.HumanDuration(ver.ReviewEvery)))
	}
	return ver, lines, nil
}

// AgreementDiff is what changed between two versions of an agreement: as
// access (policy.DiffTerms), and, for a party who can read both texts, which
// fields of the text changed.
type AgreementDiff struct {
	Agreement string          `json:"agreement"`
	From      int             `json:"from"`
	To        int             `json:"to"`
	Access    []policy.Change `json:"access"`
	Text      []FieldChange   `json:"text,omitempty"` // nil without a key
}

// FieldChange is a field of the agreement text added, removed or changed
// ("purpose", "clauses.feedback"); the content is not repeated.
type FieldChange struct {
	Field  string `json:"field"`
	Change string `json:"change"` // added, removed, changed
}

// DiffAgreement compares versions from and to of an agreement. With id (a
// party), the texts are compared too.
func (v *Vault) DiffAgreement(ctx context.Context, agreementID string, from, to int, id *identity.Identity) (*AgreementDiff, error) {
	var d *AgreementDiff
	err := v.view(func(txn kv.Txn) error {
		a, err := v.agreement(txn, agreementID)
		if err != nil {
			return err
		}
		x, err := versionOr(a, from)
		if err != nil {
			return err
		}
		y, err := versionOr(a, to)
		if err != nil {
			return err
		}
		d = &AgreementDiff{Agreement: a.ID, From: x.Version, To: y.Version, Access: policy.DiffTerms(a.Terms(x), a.Terms(y))}
		if d.Access == nil {
			d.Access = []policy.Change{}
		}
		switch ex, ey := x.ReviewEvery, y.ReviewEvery; {
		case ex == ey:
		case ey == 0:
			d.Access = append(d.Access, policy.Change{Area: "review", Effect: policy.Narrower, Text: "reviews are no longer scheduled"})
		default:
			d.Access = append(d.Access, policy.Change{Area: "review", Effect: policy.Wider,
				Text: fmt.Sprintf("the relationship is reviewed every %s (was %s)", policy.HumanDuration(ey), scheduleOr(ex))})
		}
		if id == nil {
			return nil
		}
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		for _, ver := range []*AgreementVersion{x, y} {
			if pd := policy.ReadAgreementText(act.me.Name, a.Terms(ver)); !pd.Allowed() {
				return denied(pd)
			}
		}
		tx, err := v.openText(txn, a, x, id)
		if err != nil {
			return err
		}
		defer clear(tx)
		ty, err := v.openText(txn, a, y, id)
		if err != nil {
			return err
		}
		defer clear(ty)
		d.Text, err = diffFields(tx, ty)
		return err
	})
	return d, err
}

func scheduleOr(d time.Duration) string {
	if d == 0 {
		return "not scheduled"
	}
	return "every " + policy.HumanDuration(d)
}
