package vault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/seal"
)

// Finding notes by what only their readers see. Titles, tags and bodies live
// inside the age files, so a listing that shows them opens every copy the
// caller may read. Each note is decided as a read is (policy.Read on the
// agreement's verified facts, the copy the decision rests on), verified as a
// read is (the author's signature over the metadata, then the plaintext
// against the author's commitment), and decrypted by a bounded pool of
// workers, one per core. The whole listing is one audit record.

// Query narrows ListReadable and SearchNotes. Agreement, Kind and Since are
// checked on the metadata, before anything is decrypted; Tag after.
type Query struct {
	Agreement string
	Kind      policy.Kind
	Since     time.Time // notes written at or after it
	// Tag keeps the notes that carry this tag, in any case. Tags are
	// encrypted: the tag asked for is never written to the audit log.
	Tag string
}

func (q Query) filter() NoteFilter {
	return NoteFilter{Agreement: q.Agreement, Kind: q.Kind, Since: q.Since}
}

// Listed is a note in a listing of what the caller may read: its verified
// metadata, with its title and tags decrypted by the caller's key.
type Listed struct {
	Note  *Note
	Title string
	Tags  []string
	// Rule and Basis are the read decision's: "reader"; "grant" with the
	// grant's id; "disclosure" with the disclosure's id.
	Rule, Basis string
	// Problem, when set, is why the note is listed without its content: it
	// failed verification (its metadata is not what its author signed, its
	// copy is missing or is not what its author committed to), and Title
	// and Tags are empty. It is an *IntegrityError.
	Problem error

	matched bool
}

// ListReadable lists the notes id may read now, oldest first, with their
// titles and tags. A note that fails verification is listed with its
// Problem and nothing of its content. The listing is written to the audit
// log as one record (action note.list: how many notes were listed and
// opened, the ids opened, the filter but never the tag) before anything is
// returned; if the log cannot be written, nothing is.
func (v *Vault) ListReadable(ctx context.Context, q Query, id *identity.Identity) ([]*Listed, error) {
	return v.find(ctx, q, "", id, "note.list")
}

// SearchNotes is ListReadable keeping only the notes whose title, a tag or
// body contains text, in any case. Notes that fail verification are listed
// whatever they hold. The audit record (action note.search) says that a
// search happened, over which notes and how many matched; the text searched
// for may itself be secret and is never logged.
func (v *Vault) SearchNotes(ctx context.Context, text string, q Query, id *identity.Identity) ([]*Listed, error) {
	if strings.TrimSpace(text) == "" {
		return nil, invalid("the search text is empty")
	}
	return v.find(ctx, q, text, id, "note.search")
}

// openJob is one note for the workers to verify and open: its agreement,
// its author's participant record (or why there is none) and the copy the
// caller may read.
type openJob struct {
	l         *Listed
	agreement *Agreement
	author    *Participant
	authorErr error
	src       *blobReader // the copy, streamed: a large note is never whole in memory
}

func (v *Vault) find(ctx context.Context, q Query, text string, id *identity.Identity, action string) ([]*Listed, error) {
	m := matcher{tag: q.Tag, text: strings.ToLower(text)}
	var (
		me  *Participant
		all []*Listed
		wg  sync.WaitGroup
	)
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan openJob, 4*workers)
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() == nil {
					j.open(id, m)
				} else {
					j.src.Close()
				}
			}
		})
	}
	err := v.view(func(txn kv.Txn) error {
		all = all[:0] // a conflict runs the view again (view)
		var err error
		if me, err = v.whoami(txn, id); err != nil {
			return err
		}
		f, now := q.filter(), v.Now()
		if err := f.known(txn); err != nil {
			return err
		}
		agreements := map[string]*Agreement{}
		type author struct {
			p   *Participant
			err error
		}
		authors := map[string]author{}
		return scan(txn, pNote, func(_ string, rec *noteRec) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := rec.note()
			if !f.keeps(n) {
				return nil
			}
			a, ok := agreements[n.Agreement]
			if !ok {
				if a, err = v.agreement(txn, n.Agreement); err != nil {
					return err
				}
				agreements[n.Agreement] = a
			}
			n.Holds = a.holdsOn(n.ID)
			d := policy.Read(me.Name, n.policy(), a.facts(n.ID), now)
			if !d.Allowed() {
				return nil
			}
			l := &Listed{Note: n, Rule: d.Rule, Basis: d.Basis}
			all = append(all, l)
			au, ok := authors[n.Author]
			if !ok {
				au.p, au.err = v.participant(txn, n.Author)
				authors[n.Author] = au
			}
			src, err := v.openBlob(txn, copyFor(n, d))
			var ie *IntegrityError
			if errors.Is(err, ErrNotFound) || errors.Is(err, seal.ErrOpen) || errors.As(err, &ie) {
				l.Problem = integrity("note "+n.ID, "the copy you may read is missing or damaged (%v)", err)
				return nil
			} else if err != nil {
				return err
			}
			jobs <- openJob{l: l, agreement: a, author: au.p, authorErr: au.err, src: src}
			return nil
		})
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Note.Created.Equal(all[j].Note.Created) {
			return all[i].Note.Created.Before(all[j].Note.Created)
		}
		return all[i].Note.ID < all[j].Note.ID
	})
	out := slices.DeleteFunc(slices.Clone(all), func(l *Listed) bool { return l.Problem == nil && !l.matched })
	rec := findRecord(me.Name, action, q, all, out)
	if err := v.update(func(txn kv.Txn) error { return v.appendLog(txn, rec, id) }); err != nil {
		return nil, err
	}
	return out, nil
}

// findRecord is the one audit record of a listing or a search: who, how many
// notes were opened (and which), how many were shown, which failed, and the
// filter. Never a title, a tag or the search text.
func findRecord(actor, action string, q Query, all, shown []*Listed) *audit.Record {
	var opened, failed, agreements, rules []string
	for _, l := range all {
		if !slices.Contains(agreements, l.Note.Agreement) {
			agreements = append(agreements, l.Note.Agreement)
		}
		if l.Problem != nil {
			failed = append(failed, l.Note.ID)
			continue
		}
		opened = append(opened, l.Note.ID)
		if !slices.Contains(rules, l.Rule) {
			rules = append(rules, l.Rule)
		}
	}
	count := 0
	for _, l := range shown {
		if l.Problem == nil {
			count++
		}
	}
	sort.Strings(agreements)
	sort.Strings(rules)
	rec := &audit.Record{Actor: actor, Action: action, Agreement: q.Agreement, Kind: string(q.Kind), Rule: strings.Join(rules, ","),
		Detail: map[string]string{"count": strconv.Itoa(count), "opened": strconv.Itoa(len(opened))}}
	if len(opened) > 0 {
		rec.Detail["notes"] = strings.Join(opened, ",")
	}
	if len(failed) > 0 {
		rec.Detail["failed"] = strings.Join(failed, ",")
	}
	switch {
	case q.Agreement != "":
	case len(agreements) == 1:
		rec.Agreement = agreements[0]
	case len(agreements) > 1:
		rec.Detail["agreements"] = strings.Join(agreements, ",")
	}
	if !q.Since.IsZero() {
		rec.Detail["since"] = q.Since.UTC().Format(time.RFC3339)
	}
	if q.Tag != "" {
		rec.Detail["tag_filter"] = "yes"
	}
	return rec
}

// open verifies the note's metadata as verifyNote does, decrypts the copy
// and verifies it as openNote does, keeps the title and tags, and records
// whether the note matches. The plaintext is wiped. Workers share the
// agreement and the participant records, which nothing changes once loaded.
func (j openJob) open(id *identity.Identity, m matcher) {
	l := j.l
	err := verifyNoteBy(j.agreement, l.Note, func(string) (*Participant, error) { return j.author, j.authorErr })
	if err != nil {
		j.src.Close()
		l.Problem = err
		return
	}
	nr, err := openEnvelope(j.src, j.src.segments, l.Note, id)
	if errors.Is(err, ErrNoKey) {
		err = integrity("note "+l.Note.ID, "your key does not open the copy the policy lets you read")
	}
	if err != nil {
		l.Problem = err
		return
	}
	defer nr.Close()
	matched, err := m.matchStream(nr)
	if err != nil {
		l.Problem = err
		return
	}
	l.Title, l.Tags = nr.Title, nr.Tags
	l.matched = matched
}

// matchStream is matches over a note being decrypted: the body is read to
// its end whatever it holds, so that the author's commitment is checked
// before anything of the note is shown, and lowercased piece by piece (at
// rune boundaries, with an overlap as long as the text) in bounded memory.
func (m matcher) matchStream(nr *NoteReader) (bool, error) {
	c := &Content{Title: nr.Title, Tags: nr.Tags}
	titleOrTag := m.matches(c)
	need := m.text != "" && !titleOrTag && (m.tag == "" || slices.ContainsFunc(c.Tags, func(t string) bool { return strings.EqualFold(t, m.tag) }))
	found := false
	buf := make([]byte, 256<<10)
	defer clear(buf)
	var carry, tail []byte // an incomplete rune; the end of the lowercased text so far
	for {
		n, err := nr.Read(buf)
		if need && !found && n > 0 {
			piece := append(carry, buf[:n]...)
			cut := len(piece)
			for i := len(piece) - 1; i >= 0 && i >= len(piece)-utf8.UTFMax; i-- {
				if utf8.RuneStart(piece[i]) {
					if !utf8.FullRune(piece[i:]) {
						cut = i
					}
					break
				}
			}
			carry = append(carry[:0:0], piece[cut:]...)
			low := append(tail, bytes.ToLower(piece[:cut])...)
			clear(piece)
			found = bytes.Contains(low, []byte(m.text))
			keep := min(len(low), len(m.text))
			tail = append([]byte(nil), low[len(low)-keep:]...)
			clear(low)
		}
		if err == io.EOF {
			if need && !found && len(carry) > 0 {
				found = bytes.Contains(append(tail, bytes.ToLower(carry)...), []byte(m.text))
			}
			clear(carry)
			clear(tail)
			return titleOrTag || found, nil
		}
		if err != nil {
			clear(carry)
			clear(tail)
			return false, err
		}
	}
}

// matcher is a listing's content filter: a tag (any case) and a text that
// the title, a tag or the body contains (lowercased; any case).
type matcher struct{ tag, text string }

func (m matcher) matches(c *Content) bool {
	if m.tag != "" && !slices.ContainsFunc(c.Tags, func(t string) bool { return strings.EqualFold(t, m.tag) }) {
		return false
	}
	if m.text == "" || strings.Contains(strings.ToLower(c.Title), m.text) ||
		slices.ContainsFunc(c.Tags, func(t string) bool { return strings.Contains(strings.ToLower(t), m.text) }) {
		return true
	}
	body := bytes.ToLower(c.Body)
	defer clear(body)
	return bytes.Contains(body, []byte(m.text))
}

// Disclosed is a disclosure with the agreement it was made under.
type Disclosed struct {
	Agreement string
	policy.Disclosure
}

// Disclosures lists the disclosures of an agreement, or of every agreement
// when agreementID is "", oldest first, from the verified chains. Who
// disclosed which note to whom, under which exception and when is in the
// clear by design (the mentee must be able to see it, and the audit log
// records it too), so listing needs no identity and is not logged; the
// statement of why stays encrypted (DisclosureStatement).
func (v *Vault) Disclosures(ctx context.Context, agreementID string) ([]Disclosed, error) {
	as, err := v.agreementsFor(ctx, agreementID)
	if err != nil {
		return nil, err
	}
	var out []Disclosed
	for _, a := range as {
		for _, d := range a.disclosures {
			out = append(out, Disclosed{Agreement: a.ID, Disclosure: d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
