package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// titles is a listing reduced to "title[tags]" per note, with "!" for a note
// listed with a problem.
func titles(ls []*Listed) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		if l.Problem != nil {
			out[i] = "!" + l.Note.ID
			continue
		}
		out[i] = l.Title + "[" + strings.Join(l.Tags, ",") + "]"
	}
	return out
}

func (f *fixture) list(q Query, id *identity.Identity) []*Listed {
	f.t.Helper()
	ls, err := f.v.ListReadable(f.ctx, q, id)
	if err != nil {
		f.t.Fatalf("ListReadable: %v", err)
	}
	return ls
}

func (f *fixture) search(text string, q Query, id *identity.Identity) []*Listed {
	f.t.Helper()
	ls, err := f.v.SearchNotes(f.ctx, text, q, id)
	if err != nil {
		f.t.Fatalf("SearchNotes %q: %v", text, err)
	}
	return ls
}

// lastRecord returns the newest audit record.
func (f *fixture) lastRecord() *audit.Record {
	f.t.Helper()
	recs, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return recs[len(recs)-1]
}

func (f *fixture) logSize() int {
	f.t.Helper()
	recs, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return len(recs)
}

func wantTitles(t *testing.T, who string, ls []*Listed, want ...string) {
	t.Helper()
	if got := titles(ls); !slices.Equal(got, want) {
		t.Fatalf("%s sees %q, want %q", who, got, want)
	}
}

func TestListReadableShowsWhatEachMayRead(t *testing.T) {
	f := newFixture(t, true)
	session := f.add(policy.Session, f.alice, content("Zanzibar plan", "Kestrel data set cleaned", "career", "python"))
	f.add(policy.Reflection, f.bob, content("Quokka worries", "about statistics"))
	summary := f.add(policy.Summary, f.alice, content("Scorecard", "Bob is on track", "scorecard"))

	wantTitles(t, "bob", f.list(Query{}, f.bob), "Zanzibar plan[career,python]", "Quokka worries[]", "Scorecard[scorecard]")
	wantTitles(t, "alice", f.list(Query{}, f.alice), "Zanzibar plan[career,python]", "Scorecard[scorecard]")
	wantTitles(t, "carol", f.list(Query{}, f.carol))

	// A grant on summaries shows carol the summaries' titles, through her
	// copy, and nothing else; the reflection stays its author's.
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	g, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	ls := f.list(Query{}, f.carol)
	wantTitles(t, "carol with a grant", ls, "Scorecard[scorecard]")
	if ls[0].Note.ID != summary.ID || ls[0].Rule != "grant" || ls[0].Basis != g.ID {
		t.Fatalf("carol's listing: %+v, want summary %s by grant %s", ls[0], summary.ID, g.ID)
	}

	// A disclosure shows carol the disclosed session too.
	d, err := f.v.Disclose(f.ctx, session.ID, "carol", "risk-of-harm", "he said he is unsafe", f.alice)
	if err != nil {
		t.Fatal(err)
	}
	ls = f.list(Query{}, f.carol)
	wantTitles(t, "carol after a disclosure", ls, "Zanzibar plan[career,python]", "Scorecard[scorecard]")
	if ls[0].Rule != "disclosure" || ls[0].Basis != d.ID {
		t.Fatalf("disclosed session listed as %s %s, want disclosure %s", ls[0].Rule, ls[0].Basis, d.ID)
	}

	// Once the grant is revoked, carol sees only what was disclosed.
	if err := f.v.RevokeGrant(f.ctx, g.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	wantTitles(t, "carol after the revocation", f.list(Query{}, f.carol), "Zanzibar plan[career,python]")

	// A stranger's key is refused, as for a read.
	if _, err := f.v.ListReadable(f.ctx, Query{}, newIdentity(t)); !errors.Is(err, ErrNotParticipant) {
		t.Fatalf("ListReadable by a stranger: %v, want ErrNotParticipant", err)
	}
}

func TestListReadableFilters(t *testing.T) {
	f := newFixture(t, true)
	f.add(policy.Session, f.alice, content("first", "one", "Goals"))
	f.clock.Advance(48 * time.Hour)
	mid := f.v.Now()
	f.add(policy.Session, f.alice, content("second", "two", "portfolio"))
	f.add(policy.Summary, f.alice, content("third", "three", "goals", "portfolio"))
	other, err := f.v.CreateAgreement(f.ctx, f.text)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []*identity.Identity{f.alice, f.bob} {
		f.clock.Advance(time.Second)
		if _, err := f.v.AcceptAgreement(f.ctx, other.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Second)
	if _, err := f.v.AddNote(f.ctx, NewNote{Agreement: other.ID, Kind: policy.Session, Content: content("elsewhere", "four", "goals")}, f.alice); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, []string{"first[Goals]", "second[portfolio]", "third[goals,portfolio]", "elsewhere[goals]"}},
		{"agreement", Query{Agreement: f.agreement}, []string{"first[Goals]", "second[portfolio]", "third[goals,portfolio]"}},
		{"kind", Query{Kind: policy.Summary}, []string{"third[goals,portfolio]"}},
		{"since", Query{Since: mid}, []string{"second[portfolio]", "third[goals,portfolio]", "elsewhere[goals]"}},
		{"tag in any case", Query{Tag: "GOALS"}, []string{"first[Goals]", "third[goals,portfolio]", "elsewhere[goals]"}},
		{"tag is whole", Query{Tag: "goal"}, nil},
		{"all at once", Query{Agreement: f.agreement, Kind: policy.Session, Since: mid, Tag: "portfolio"}, []string{"second[portfolio]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantTitles(t, "bob", f.list(c.q, f.bob), c.want...)
		})
	}
}

func TestSearchNotes(t *testing.T) {
	f := newFixture(t, true)
	f.add(policy.Session, f.alice, content("Zanzibar plan", "Kestrel data set cleaned; next: feature engineering", "career"))
	f.add(policy.Reflection, f.bob, content("Kestrel doubts", "I worry about the Kestrel statistics"))
	f.add(policy.Summary, f.alice, content("Scorecard", "on track", "Kestrel-review"))
	for _, c := range []struct {
		text string
		who  *identity.Identity
		want []string
	}{
		{"kestrel", f.bob, []string{"Zanzibar plan[career]", "Kestrel doubts[]", "Scorecard[Kestrel-review]"}},
		{"FEATURE ENGINEERING", f.bob, []string{"Zanzibar plan[career]"}},                    // body
		{"zanzibar", f.bob, []string{"Zanzibar plan[career]"}},                               // title
		{"-review", f.bob, []string{"Scorecard[Kestrel-review]"}},                            // tag
		{"kestrel", f.alice, []string{"Zanzibar plan[career]", "Scorecard[Kestrel-review]"}}, // never bob's reflection
		{"worry", f.alice, nil},
		{"kestrel", f.carol, nil},
	} {
		if got := f.search(c.text, Query{}, c.who); !slices.Equal(titles(got), c.want) {
			t.Errorf("search %q: %q, want %q", c.text, titles(got), c.want)
		}
	}
	wantTitles(t, "bob, by tag", f.search("kestrel", Query{Tag: "career"}, f.bob), "Zanzibar plan[career]")
	if _, err := f.v.SearchNotes(f.ctx, " ", Query{}, f.bob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty search: %v, want ErrInvalid", err)
	}
}

// A listing or a search is one audit record, however many notes it opens,
// and the record never holds a title, a tag or the search text.
func TestListingIsOneAuditRecord(t *testing.T) {
	f := newFixture(t, true)
	var ids []string
	for i := range 5 {
		ids = append(ids, f.add(policy.Session, f.alice, content(fmt.Sprintf("Title-%d", i), "Secret-body", "Tag-secret")).ID)
	}
	f.add(policy.Reflection, f.alice, content("Private", "mine"))
	f.clock.Advance(time.Minute)

	before := f.logSize()
	if got := len(f.list(Query{Kind: policy.Session, Tag: "tag-secret"}, f.bob)); got != 5 {
		t.Fatalf("listed %d notes, want 5", got)
	}
	if n := f.logSize(); n != before+1 {
		t.Fatalf("a listing of 5 notes left %d audit records, want 1", n-before)
	}
	r := f.lastRecord()
	if r.Action != "note.list" || r.Actor != "bob" || r.Agreement != f.agreement || r.Kind != "session" || r.Rule != "reader" ||
		r.Detail["count"] != "5" || r.Detail["opened"] != "5" || r.Detail["notes"] != strings.Join(ids, ",") ||
		r.Detail["tag_filter"] != "yes" || r.Sig == nil {
		t.Fatalf("listing record %+v", r)
	}

	before = f.logSize()
	if got := len(f.search("secret-BODY", Query{}, f.bob)); got != 5 {
		t.Fatalf("search matched %d notes, want 5", got)
	}
	if got := len(f.search("no such words", Query{}, f.alice)); got != 0 {
		t.Fatalf("search matched %d notes, want 0", got)
	}
	if n := f.logSize(); n != before+2 {
		t.Fatalf("two searches left %d audit records, want 2", n-before)
	}
	r = f.lastRecord()
	if r.Action != "note.search" || r.Actor != "alice" || r.Detail["count"] != "0" || r.Detail["opened"] != "6" || r.Rule != "reader" {
		t.Fatalf("search record %+v", r)
	}
	recs, err := f.v.AuditLog(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"Title-", "Tag-secret", "tag-secret", "Secret-body", "secret-BODY", "no such words", "Private"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}

	// Fail closed: with the clock behind the newest record, nothing is
	// returned and nothing logged.
	f.clock.Advance(-time.Hour)
	before = f.logSize()
	if ls, err := f.v.ListReadable(f.ctx, Query{}, f.bob); !errors.Is(err, ErrClock) || ls != nil {
		t.Fatalf("ListReadable with the clock set back: %d notes, %v; want none and ErrClock", len(ls), err)
	}
	if ls, err := f.v.SearchNotes(f.ctx, "secret", Query{}, f.bob); !errors.Is(err, ErrClock) || ls != nil {
		t.Fatalf("SearchNotes with the clock set back: %d notes, %v; want none and ErrClock", len(ls), err)
	}
	if f.logSize() != before {
		t.Fatal("a refused listing changed the log")
	}
}

// Many notes go through the worker pool at once; each keeps its own title.
func TestListReadableMany(t *testing.T) {
	f := newFixture(t, true)
	const n = 40
	want := make([]string, n)
	for i := range n {
		title := fmt.Sprintf("note %02d", i)
		f.add(policy.Session, f.alice, content(title, "body of "+title, fmt.Sprintf("t%d", i)))
		want[i] = fmt.Sprintf("%s[t%d]", title, i)
	}
	wantTitles(t, "bob", f.list(Query{}, f.bob), want...)
	wantTitles(t, "bob searching", f.search("body of note 3", Query{}, f.bob), want[30:40]...)
}

// A note whose metadata or content is not what its author signed is listed
// as such, with nothing of its content; the others are listed as usual.
func TestListReadableNamesTamperedNotes(t *testing.T) {
	f := newFixture(t, true)
	forged := f.add(policy.Session, f.alice, content("real", "MARK-real", "a"))
	relabelled := f.add(policy.Session, f.alice, content("readers", "MARK-readers"))
	f.add(policy.Session, f.alice, content("control", "untouched", "c"))
	f.close()
	// The content of one note replaced by text the attacker encrypted to
	// alice and bob; another note's readers widened to carol.
	resealForged(t, f.dir, forged.ID, (&envelope{Content: content("MARK-forged title", "MARK-forged", "a"), Note: forged.ID,
		Agreement: forged.Agreement, Kind: forged.Kind, Nonce: make([]byte, 16)}).marshal(), f.alice, f.bob)
	editRecord(t, f.dir, pNote+relabelled.ID, func(r *noteRec) { r.Meta.Readers = append(r.Meta.Readers, "carol") })
	f.open()

	ls := f.list(Query{Tag: "c"}, f.bob)
	wantTitles(t, "bob", ls, "!"+forged.ID, "!"+relabelled.ID, "control[c]")
	wantIntegrity(t, ls[0].Problem, "note "+forged.ID)
	wantIntegrity(t, ls[1].Problem, "note "+relabelled.ID)
	if r := f.lastRecord(); r.Detail["failed"] != forged.ID+","+relabelled.ID || r.Detail["count"] != "1" {
		t.Fatalf("listing record %+v", r)
	}
	// The widened readers give carol nothing but the name of the problem.
	ls = f.search("MARK", Query{}, f.carol)
	wantTitles(t, "carol", ls, "!"+relabelled.ID)
	for _, l := range ls {
		if l.Title != "" || l.Tags != nil {
			t.Fatalf("a note that failed shows %q %q", l.Title, l.Tags)
		}
	}
}

func TestDisclosures(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "b"))
	if ds, err := f.v.Disclosures(f.ctx, ""); err != nil || len(ds) != 0 {
		t.Fatalf("Disclosures before any: %v, %v", ds, err)
	}
	d1, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "first", f.alice)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	d2, err := f.v.Disclose(f.ctx, n.ID, "carol", "legal-obligation", "second", f.bob)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.v.CreateAgreement(f.ctx, f.text)
	if err != nil {
		t.Fatal(err)
	}
	for _, agreement := range []string{"", f.agreement} {
		ds, err := f.v.Disclosures(f.ctx, agreement)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].ID != d1.ID || ds[1].ID != d2.ID {
			t.Fatalf("Disclosures(%q) = %+v, want %s then %s", agreement, ds, d1.ID, d2.ID)
		}
		if d := ds[1]; d.Agreement != f.agreement || d.Note != n.ID || d.By != "bob" || d.To != "carol" ||
			d.Reason != "legal-obligation" || !d.At.Equal(d2.At) {
			t.Fatalf("disclosure listed as %+v", d)
		}
	}
	if ds, err := f.v.Disclosures(f.ctx, other.ID); err != nil || len(ds) != 0 {
		t.Fatalf("Disclosures of an agreement without any: %v, %v", ds, err)
	}
	if _, err := f.v.Disclosures(f.ctx, "a-nosuch"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Disclosures of an unknown agreement: %v, want ErrNotFound", err)
	}
}
