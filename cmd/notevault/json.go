package main

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/retention"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/audit"
)

// What --json prints. Every command prints its own output types, declared
// here with explicit names, so that the vault's types can change without
// changing what scripts read. docs/json.md documents each of them field by
// field, and TestJSONMatchesDocs holds the two together. The rules:
//
//   - names are snake_case; a field that holds a time ends in _at;
//   - times are RFC 3339 in UTC (jsonTime), durations as the agreement
//     writes them, "180d" (jsonDuration);
//   - a field that does not apply (a time that has not happened, a string
//     nobody gave) is omitted, never zero; lists and maps are always
//     present, empty as [] or {}.

// jsonTime is a time as --json writes it: RFC 3339 in UTC, with a fraction
// of a second only when there is one ("2026-04-01T00:00:00Z"). Fields of
// this type are tagged omitzero: an absent time is omitted.
type jsonTime time.Time

func (t jsonTime) IsZero() bool { return time.Time(t).IsZero() }

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339Nano))
}

// jsonDuration is a duration as the agreement writes it: "180d", "2w", "36h".
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(agreement.FormatDuration(time.Duration(d)))
}

// list returns s, or an empty list for nil: lists are never null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// stringMap returns a copy of m that is never nil.
func stringMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}

// participant list

type participantJSON struct {
	Name        string           `json:"name"`
	Role        string           `json:"role"`
	Key         string           `json:"key"`
	Fingerprint string           `json:"fingerprint"`
	AddedAt     jsonTime         `json:"added_at,omitzero"`
	Previous    []retiredKeyJSON `json:"previous,omitempty"`
}

type retiredKeyJSON struct {
	Fingerprint string   `json:"fingerprint"`
	Until       jsonTime `json:"until"`
	How         string   `json:"how"`
}

func participantsJSON(ps []*vault.Participant) []participantJSON {
	out := make([]participantJSON, 0, len(ps))
	for _, p := range ps {
		j := participantJSON{Name: p.Name, Role: string(p.Role), Key: p.Key, Fingerprint: p.Fingerprint(), AddedAt: jsonTime(p.Added)}
		for _, r := range p.Previous {
			j.Previous = append(j.Previous, retiredKeyJSON{r.Public.Fingerprint(), jsonTime(r.Until), r.How})
		}
		out = append(out, j)
	}
	return out
}

// agreement list, show and history

type agreementJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Mentor    string   `json:"mentor"`
	Mentee    string   `json:"mentee"`
	CreatedAt jsonTime `json:"created_at,omitzero"`
	InForce   int      `json:"in_force,omitempty"`
	Latest    int      `json:"latest"`
	ClosedAt  jsonTime `json:"closed_at,omitzero"`
	ClosedBy  string   `json:"closed_by,omitempty"`
}

type agreementShowJSON struct {
	agreementJSON
	Versions []versionJSON `json:"versions"`
}

type versionJSON struct {
	Version     int               `json:"version"`
	Status      string            `json:"status"`
	ProposedBy  string            `json:"proposed_by,omitempty"`
	ProposedAt  jsonTime          `json:"proposed_at,omitzero"`
	Acceptances []acceptanceJSON  `json:"acceptances"`
	Pins        map[string]string `json:"pins"`
	Terms       termsJSON         `json:"terms"`
	Text        string            `json:"text,omitempty"`
	// Read from the text, so only where the text is: the newest version,
	// with -i of a party.
	Clauses         []clauseJSON        `json:"clauses,omitempty"`
	SuccessCriteria []textCriterionJSON `json:"success_criteria,omitempty"`
}

type clauseJSON struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// textCriterionJSON is a success criterion as the agreement's text states
// it (criterion list adds its attestations).
type textCriterionJSON struct {
	ID      string `json:"id"`
	What    string `json:"what"`
	Measure string `json:"measure,omitempty"`
	Due     string `json:"due,omitempty"` // YYYY-MM-DD
}

type acceptanceJSON struct {
	AcceptedBy string            `json:"accepted_by"`
	AcceptedAt jsonTime          `json:"accepted_at,omitzero"`
	Pins       map[string]string `json:"pins"`
}

// termsJSON is what of a version is stored in the clear: the parties, who
// reads which kind, the exceptions and the retention periods.
type termsJSON struct {
	Name        string                  `json:"name"`
	Mentor      string                  `json:"mentor"`
	Mentee      string                  `json:"mentee"`
	Supervisors []string                `json:"supervisors"`
	Readers     map[string][]string     `json:"readers"`
	Exceptions  []string                `json:"exceptions"`
	Retention   map[string]jsonDuration `json:"retention"`
	Schema      int                     `json:"schema"`
	// ExceptionRecipients: each exception to who may receive a disclosure
	// under it (an exception in the list form: the supervisors).
	ExceptionRecipients map[string][]string `json:"exception_recipients"`
	Custodians          []string            `json:"custodians"`
	MaxGrant            *jsonDuration       `json:"max_grant,omitempty"`
	MaxConsent          *jsonDuration       `json:"max_consent,omitempty"`
	AfterClose          *jsonDuration       `json:"after_close,omitempty"`
	ReviewEvery         *jsonDuration       `json:"review_every,omitempty"`
	Start               string              `json:"start,omitempty"` // YYYY-MM-DD
	End                 string              `json:"end,omitempty"`
}

func agreementSummaryJSON(a *vault.Agreement) agreementJSON {
	out := agreementJSON{ID: a.ID, CreatedAt: jsonTime(a.Created), Latest: a.Latest().Version}
	if p := a.Latest().Parsed; p != nil {
		out.Name, out.Mentor, out.Mentee = p.Name, p.Mentor, p.Mentee
	}
	if cur := a.Current(); cur != nil {
		out.InForce = cur.Version
	}
	if c := a.Closure(); c != nil {
		out.ClosedAt, out.ClosedBy = jsonTime(c.At), c.By
	}
	return out
}

func agreementsJSON(as []*vault.Agreement) []agreementJSON {
	out := make([]agreementJSON, 0, len(as))
	for _, a := range as {
		out = append(out, agreementSummaryJSON(a))
	}
	return out
}

func agreementDetailJSON(a *vault.Agreement) agreementShowJSON {
	return agreementShowJSON{agreementSummaryJSON(a), versionsJSON(a)}
}

func versionsJSON(a *vault.Agreement) []versionJSON {
	out := make([]versionJSON, 0, len(a.Versions))
	for _, ver := range a.Versions {
		v := versionJSON{
			Version:     ver.Version,
			Status:      versionStatus(a, ver),
			ProposedBy:  ver.ProposedBy,
			ProposedAt:  jsonTime(ver.ProposedAt),
			Acceptances: []acceptanceJSON{},
			Pins:        stringMap(ver.Pins),
			Terms:       termsOfVersion(ver),
			Text:        ver.Text,
		}
		if ver.Text != "" {
			// The vault checked the text states the version's terms under
			// its schema; what only the text says comes from it.
			if doc, err := agreement.ParseSchema([]byte(ver.Text), ver.Schema); err == nil {
				documentJSON(&v, doc)
			}
		}
		for _, ac := range ver.Acceptances {
			if ac.Verified {
				v.Acceptances = append(v.Acceptances, acceptanceJSON{ac.Who, jsonTime(ac.At), stringMap(ac.Pins)})
			}
		}
		out = append(out, v)
	}
	return out
}

func termsOfVersion(ver *vault.AgreementVersion) termsJSON {
	t := termsJSON{Supervisors: []string{}, Readers: map[string][]string{}, Exceptions: []string{}, Retention: map[string]jsonDuration{},
		Schema: ver.Schema, ExceptionRecipients: map[string][]string{}, Custodians: []string{}}
	p := ver.Parsed
	if p == nil {
		return t
	}
	t.Custodians = list(slices.Clone(p.Custodians))
	for _, e := range p.Confidentiality.Exceptions {
		rs, ok := p.Confidentiality.Recipients[e]
		if !ok {
			rs = p.Supervisors
		}
		t.ExceptionRecipients[e] = list(slices.Clone(rs))
	}
	optional := func(d time.Duration) *jsonDuration {
		if d == 0 {
			return nil
		}
		j := jsonDuration(d)
		return &j
	}
	t.MaxGrant, t.MaxConsent = optional(p.Sharing.MaxGrant), optional(p.Sharing.MaxConsent)
	t.AfterClose, t.ReviewEvery = optional(p.AfterClose), optional(p.ReviewEvery)
	t.Start, t.End = dateString(p.Start), dateString(p.End)
	t.Name, t.Mentor, t.Mentee = p.Name, p.Mentor, p.Mentee
	t.Supervisors = list(slices.Clone(p.Supervisors))
	t.Exceptions = list(slices.Clone(p.Confidentiality.Exceptions))
	for k, r := range p.Confidentiality.Readers {
		t.Readers[string(k)] = list(slices.Clone(r))
	}
	for k, d := range p.Retention {
		t.Retention[string(k)] = jsonDuration(d)
	}
	return t
}

// dateString is a calendar date as YYYY-MM-DD, "" for none.
func dateString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// documentJSON fills what of a version only its text says: the clauses and
// the success criteria.
func documentJSON(v *versionJSON, doc *agreement.Agreement) {
	for _, c := range doc.Clauses {
		v.Clauses = append(v.Clauses, clauseJSON{c.Name, c.Text})
	}
	for _, c := range doc.SuccessCriteria {
		v.SuccessCriteria = append(v.SuccessCriteria, textCriterionJSON{c.ID, c.What, c.Measure, dateString(c.Due)})
	}
}

// note list and show

type noteJSON struct {
	ID               string   `json:"id"`
	Agreement        string   `json:"agreement"`
	AgreementVersion int      `json:"agreement_version"`
	Kind             string   `json:"kind"`
	Author           string   `json:"author"`
	CreatedAt        jsonTime `json:"created_at,omitzero"`
	ExpiresAt        jsonTime `json:"expires_at,omitzero"`
	Readers          []string `json:"readers"`
	Holds            []string `json:"holds"`
}

func noteOf(n *vault.Note) noteJSON {
	return noteJSON{n.ID, n.Agreement, n.Version, string(n.Kind), n.Author, jsonTime(n.Created), jsonTime(n.Expires),
		list(slices.Clone(n.Readers)), list(slices.Clone(n.Holds))}
}

func notesJSON(ns []*vault.Note) []noteJSON {
	out := make([]noteJSON, 0, len(ns))
	for _, n := range ns {
		out = append(out, noteOf(n))
	}
	return out
}

type noteShowJSON struct {
	noteJSON
	Title string   `json:"title,omitempty"`
	Tags  []string `json:"tags"`
	Body  string   `json:"body"`
}

func plainJSON(p *vault.Plain) noteShowJSON {
	return noteShowJSON{noteOf(p.Note), p.Content.Title, list(slices.Clone(p.Content.Tags)), string(p.Content.Body)}
}

// note list -i and note search

// listedJSON is a note the caller may read, in a listing: its metadata as
// note list prints it, with what the caller's key showed.
type listedJSON struct {
	noteJSON
	Title   string   `json:"title,omitempty"`
	Tags    []string `json:"tags"`
	ReadAs  string   `json:"read_as"`
	Basis   string   `json:"basis,omitempty"`
	Problem string   `json:"problem,omitempty"`
}

func listedNotesJSON(ls []*vault.Listed) []listedJSON {
	out := make([]listedJSON, 0, len(ls))
	for _, l := range ls {
		j := listedJSON{noteJSON: noteOf(l.Note), Tags: []string{}, ReadAs: l.Rule, Basis: l.Basis}
		if l.Problem != nil {
			j.Problem = message(l.Problem)
		} else {
			j.Title, j.Tags = l.Title, list(slices.Clone(l.Tags))
		}
		out = append(out, j)
	}
	return out
}

// consent list

type consentJSON struct {
	ID               string   `json:"id"`
	Agreement        string   `json:"agreement"`
	AgreementVersion int      `json:"agreement_version"`
	Grantor          string   `json:"grantor"`
	Grantee          string   `json:"grantee"`
	Kinds            []string `json:"kinds"`
	GivenAt          jsonTime `json:"given_at,omitzero"`
	ExpiresAt        jsonTime `json:"expires_at,omitzero"`
	WithdrawnAt      jsonTime `json:"withdrawn_at,omitzero"`
	Live             bool     `json:"live"`
	Status           string   `json:"status"`
}

func consentsJSON(cs []policy.Consent, now time.Time) []consentJSON {
	out := make([]consentJSON, 0, len(cs))
	for _, c := range cs {
		status := consentStatus(c, now)
		out = append(out, consentJSON{c.ID, c.Agreement, c.Version, c.Grantor, c.Grantee, kindNames(c.Kinds),
			jsonTime(c.GivenAt), jsonTime(c.Until), jsonTime(c.WithdrawnAt), status == "live", status})
	}
	return out
}

func kindNames(ks []policy.Kind) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

// grant list

type grantJSON struct {
	ID        string   `json:"id"`
	Agreement string   `json:"agreement"`
	Consent   string   `json:"consent"`
	GrantedBy string   `json:"granted_by"`
	Grantee   string   `json:"grantee"`
	Kinds     []string `json:"kinds"`
	IssuedAt  jsonTime `json:"issued_at,omitzero"`
	ExpiresAt jsonTime `json:"expires_at,omitzero"`
	RevokedAt jsonTime `json:"revoked_at,omitzero"`
	Live      bool     `json:"live"`
	Rule      string   `json:"rule"`
	Reason    string   `json:"reason"`
}

func grantsJSON(gs []policy.Grant, ds []policy.Decision) []grantJSON {
	out := make([]grantJSON, 0, len(gs))
	for i, g := range gs {
		out = append(out, grantJSON{g.ID, g.Agreement, g.Consent, g.GrantedBy, g.Grantee, kindNames(g.Kinds),
			jsonTime(g.Issued), jsonTime(g.Expires), jsonTime(g.RevokedAt), ds[i].Allowed(), ds[i].Rule, ds[i].Reason})
	}
	return out
}

// disclosure show and list

type disclosureJSON struct {
	ID          string   `json:"id"`
	Note        string   `json:"note"`
	By          string   `json:"by"`
	To          string   `json:"to"`
	Exception   string   `json:"exception"`
	DisclosedAt jsonTime `json:"disclosed_at,omitzero"`
}

func disclosureOf(d policy.Disclosure) disclosureJSON {
	return disclosureJSON{d.ID, d.Note, d.By, d.To, d.Reason, jsonTime(d.At)}
}

type disclosureListJSON struct {
	disclosureJSON
	Agreement string `json:"agreement"`
}

func disclosuresJSON(ds []vault.Disclosed) []disclosureListJSON {
	out := make([]disclosureListJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, disclosureListJSON{disclosureOf(d.Disclosure), d.Agreement})
	}
	return out
}

type disclosureShowJSON struct {
	disclosureJSON
	Statement string `json:"statement"`
}

// hold list

type holdJSON struct {
	ID         string   `json:"id"`
	Agreement  string   `json:"agreement"`
	Note       string   `json:"note,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	PlacedBy   string   `json:"placed_by"`
	PlacedAt   jsonTime `json:"placed_at,omitzero"`
	ReleasedBy string   `json:"released_by,omitempty"`
	ReleasedAt jsonTime `json:"released_at,omitzero"`
	ReviewAt   jsonTime `json:"review_at,omitzero"`
	ReviewDue  bool     `json:"review_due,omitempty"`
	Status     string   `json:"status"`
}

func holdsJSON(hs []*vault.Hold, now time.Time) []holdJSON {
	out := make([]holdJSON, 0, len(hs))
	for _, h := range hs {
		out = append(out, holdJSON{h.ID, h.Agreement, h.Note, h.Reason, h.PlacedBy, jsonTime(h.At), h.ReleasedBy,
			jsonTime(h.ReleasedAt), jsonTime(h.Review), h.ReviewDue(now), holdStatus(h)})
	}
	return out
}

// policy explain

type decisionJSON struct {
	Outcome string `json:"outcome"`
	Rule    string `json:"rule"`
	Reason  string `json:"reason"`
	Basis   string `json:"basis,omitempty"`
}

func decisionOf(d policy.Decision) decisionJSON {
	return decisionJSON{d.Outcome.String(), d.Rule, d.Reason, d.Basis}
}

// policy rules

type abilityJSON struct {
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	Rule    string `json:"rule"`
	Reason  string `json:"reason"`
}

func abilitiesJSON(as []policy.Ability) []abilityJSON {
	out := make([]abilityJSON, 0, len(as))
	for _, a := range as {
		out = append(out, abilityJSON{a.Action, a.Decision.Outcome.String(), a.Decision.Rule, a.Decision.Reason})
	}
	return out
}

// retention plan and sweep

type planItemJSON struct {
	Note      string   `json:"note"`
	Agreement string   `json:"agreement"`
	Kind      string   `json:"kind"`
	DueAt     jsonTime `json:"due_at,omitzero"`
	Action    string   `json:"action"`
	Rule      string   `json:"rule"`
	Hold      string   `json:"hold,omitempty"`
	Reason    string   `json:"reason"`
}

func planJSON(items []retention.Item) []planItemJSON {
	out := make([]planItemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, planItemJSON{it.Note, it.Agreement, string(it.Kind), jsonTime(it.Expires), string(it.Action),
			it.Rule, it.Hold, it.Reason})
	}
	return out
}

type receiptJSON struct {
	Note        string   `json:"note"`
	Agreement   string   `json:"agreement"`
	Kind        string   `json:"kind"`
	Rule        string   `json:"rule"`
	DestroyedAt jsonTime `json:"destroyed_at,omitzero"`
}

type sweepJSON struct {
	DryRun         bool           `json:"dry_run"`
	Destroyed      []receiptJSON  `json:"destroyed"`
	GrantsEnded    []string       `json:"grants_ended"`
	Held           []string       `json:"held"`
	KeysCleaned    int            `json:"keys_cleaned"`
	FilesCompacted int            `json:"files_compacted"`
	NextDueAt      jsonTime       `json:"next_due_at,omitzero"`
	LastActivityAt jsonTime       `json:"last_activity_at,omitzero"`
	Plan           []planItemJSON `json:"plan"`
	Warnings       []string       `json:"warnings"`
	Refusal        string         `json:"refusal,omitempty"`
}

// sweepSummaryJSON is what sweep --json prints; refused is the clock check's
// refusal of a dry run, or nil.
func sweepSummaryJSON(sum *retention.Summary, refused error) sweepJSON {
	out := sweepJSON{
		DryRun:         sum.DryRun,
		Destroyed:      make([]receiptJSON, 0, len(sum.Destroyed)),
		GrantsEnded:    list(slices.Clone(sum.GrantsEnded)),
		Held:           list(slices.Clone(sum.Held)),
		KeysCleaned:    sum.KeysCleaned,
		FilesCompacted: sum.VlogRewritten,
		NextDueAt:      jsonTime(sum.NextDue),
		LastActivityAt: jsonTime(sum.LastActivity),
		Plan:           planJSON(sum.Plan),
		Warnings:       list(slices.Clone(sum.Warnings)),
	}
	for _, r := range sum.Destroyed {
		out.Destroyed = append(out.Destroyed, receiptJSON{r.Note, r.Agreement, string(r.Kind), r.Rule, jsonTime(r.At)})
	}
	if refused != nil {
		out.Refusal = message(refused)
	}
	return out
}

// audit log, audit verify and check

type auditRecordJSON struct {
	Seq        uint64            `json:"seq"`
	RecordedAt jsonTime          `json:"recorded_at,omitzero"`
	Actor      string            `json:"actor"`
	Action     string            `json:"action"`
	Agreement  string            `json:"agreement,omitempty"`
	Subject    string            `json:"subject,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	Rule       string            `json:"rule,omitempty"`
	Detail     map[string]string `json:"detail"`
	Prev       string            `json:"prev,omitempty"`
	Sig        []byte            `json:"sig,omitempty"`
}

func auditRecordsJSON(rs []*audit.Record) []auditRecordJSON {
	out := make([]auditRecordJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, auditRecordJSON{r.Seq, jsonTime(r.Time), r.Actor, r.Action, r.Agreement, r.Subject, r.Kind,
			r.Rule, stringMap(r.Detail), r.Prev, r.Sig})
	}
	return out
}

type auditVerifyJSON struct {
	OK         bool   `json:"ok"`
	Records    uint64 `json:"records"`
	Checkpoint string `json:"checkpoint,omitempty"`
}

type checkJSON struct {
	OK           bool   `json:"ok"`
	Participants int    `json:"participants"`
	Agreements   int    `json:"agreements"`
	Facts        int    `json:"facts"`
	Notes        int    `json:"notes"`
	Copies       int    `json:"copies"`
	ShredKeys    int    `json:"shred_keys"`
	AuditRecords uint64 `json:"audit_records"`
}

func checkReportJSON(r *vault.CheckReport) checkJSON {
	return checkJSON{true, r.Participants, r.Agreements, r.Facts, r.Notes, r.Copies, r.Keys, r.AuditRecords}
}

// jsonImport is what note import prints: what it wrote, item by item.
type jsonImport struct {
	Agreement string             `json:"agreement"`
	Kind      string             `json:"kind"`
	Imported  int                `json:"imported"`
	Already   int                `json:"already"`
	Ignored   []string           `json:"ignored"`
	Notes     []jsonImportedNote `json:"notes"`
}

// jsonImportedNote is one item of an import.
type jsonImportedNote struct {
	ID      string `json:"id"`
	Item    string `json:"item"`
	Already bool   `json:"already"`
}

// criterion list

type criterionJSON struct {
	ID           string            `json:"id"`
	What         string            `json:"what"`
	Measure      string            `json:"measure,omitempty"`
	Due          string            `json:"due,omitempty"`
	Status       string            `json:"status,omitempty"`
	StatusAt     jsonTime          `json:"status_at,omitzero"`
	Evidence     string            `json:"evidence,omitempty"`
	Attestations []attestationJSON `json:"attestations"`
	Pending      []string          `json:"pending"`
}

type attestationJSON struct {
	ID          string   `json:"id"`
	Version     int      `json:"version"`
	Status      string   `json:"status"`
	Note        string   `json:"note,omitempty"`
	ProposedBy  string   `json:"proposed_by"`
	ProposedAt  jsonTime `json:"proposed_at,omitzero"`
	ConfirmedBy string   `json:"confirmed_by,omitempty"`
	ConfirmedAt jsonTime `json:"confirmed_at,omitzero"`
}

func criteriaJSON(cs []vault.CriterionState) []criterionJSON {
	out := make([]criterionJSON, 0, len(cs))
	for _, c := range cs {
		j := criterionJSON{ID: c.ID, What: c.What, Measure: c.Measure, Status: string(c.Status),
			StatusAt: jsonTime(c.Since), Evidence: c.Evidence, Attestations: []attestationJSON{}, Pending: []string{}}
		if !c.Due.IsZero() {
			j.Due = c.Due.Format("2006-01-02")
		}
		for _, at := range c.Attestations {
			j.Attestations = append(j.Attestations, attestationJSON{at.ID, at.Version, string(at.Status), at.Note,
				at.ProposedBy, jsonTime(at.ProposedAt), at.ConfirmedBy, jsonTime(at.ConfirmedAt)})
		}
		for _, at := range c.Pending {
			j.Pending = append(j.Pending, at.ID)
		}
		out = append(out, j)
	}
	return out
}

// agreement diff

type diffJSONOut struct {
	Agreement string            `json:"agreement"`
	From      int               `json:"from"`
	To        int               `json:"to"`
	Access    []changeJSON      `json:"access"`
	Text      []fieldChangeJSON `json:"text,omitzero"`
}

type changeJSON struct {
	Area   string `json:"area"`
	Effect string `json:"effect"`
	Change string `json:"change"`
}

type fieldChangeJSON struct {
	Field  string `json:"field"`
	Change string `json:"change"`
}

func diffJSON(d *vault.AgreementDiff) diffJSONOut {
	out := diffJSONOut{Agreement: d.Agreement, From: d.From, To: d.To, Access: []changeJSON{}}
	for _, c := range d.Access {
		out.Access = append(out.Access, changeJSON{c.Area, string(c.Effect), c.Text})
	}
	if d.Text != nil {
		out.Text = []fieldChangeJSON{}
		for _, c := range d.Text {
			out.Text = append(out.Text, fieldChangeJSON{c.Field, c.Change})
		}
	}
	return out
}

// agreement summary

type summaryJSON struct {
	Agreement string   `json:"agreement"`
	Version   int      `json:"version"`
	Status    string   `json:"status"`
	Sentences []string `json:"sentences"`
}

// agreement due

type dueItemJSON struct {
	Agreement    string       `json:"agreement"`
	Name         string       `json:"name"`
	Mentor       string       `json:"mentor"`
	Mentee       string       `json:"mentee"`
	Every        jsonDuration `json:"every"`
	CountsFrom   string       `json:"counts_from"`
	CountsFromAt jsonTime     `json:"counts_from_at,omitzero"`
	DueAt        jsonTime     `json:"due_at,omitzero"`
	Overdue      bool         `json:"overdue"`
	OverdueBy    jsonDuration `json:"overdue_by,omitzero"`
}

func dueJSON(ds []vault.ReviewDue, now time.Time) []dueItemJSON {
	out := make([]dueItemJSON, 0, len(ds))
	for _, d := range ds {
		j := dueItemJSON{Agreement: d.Agreement, Name: d.Name, Mentor: d.Mentor, Mentee: d.Mentee, Every: jsonDuration(d.Every),
			CountsFrom: "in force", CountsFromAt: jsonTime(d.Since), DueAt: jsonTime(d.Due), Overdue: d.Overdue}
		if d.LastReview.After(d.Since) {
			j.CountsFrom, j.CountsFromAt = "review", jsonTime(d.LastReview)
		}
		if d.Overdue {
			j.OverdueBy = jsonDuration(now.Sub(d.Due))
		}
		out = append(out, j)
	}
	return out
}
