// Package bench measures notevault through the vault API. Run with
//
//	go test -run xxx -bench 'NoteAdd|NoteShow' -benchtime 200x ./bench/
//	go test -run xxx -bench NoteList100k -benchtime 20x -timeout 30m ./bench/
//	(NoteList100k/check is notevault check over the same 100,000 notes)
//
// Readers: an agreement's readers are the tokens mentor, mentee and author,
// so one note is sealed to at most two people (mentor and mentee). Three
// recipients only arise with a live supervisor grant, which has no API yet;
// the benchmarks therefore cover two readers (a session note) and one reader
// (a reflection, sealed to its author).
package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
)

const agreementYAML = `name: Alice mentors Bob
mentor: alice
mentee: bob
supervisors: [carol]
purpose: Land a data-science role within 6 months
cadence: biweekly 30-minute video calls
boundaries: [no personal financial advice, no hiring decisions]
success_criteria:
  - ship a portfolio project by 2027-03-01
review: quarterly
confidentiality:
  readers: {session: [mentor, mentee], reflection: [author], summary: [author, mentee]}
  exceptions: [risk-of-harm, legal-obligation]
retention: {session: 365d, reflection: 90d, summary: 180d}
`

type env struct {
	v          *vault.Vault
	alice, bob *identity.Identity
	agreement  string
}

// newEnv makes a vault in dir with alice, bob and carol (all post-quantum or
// all classic: age refuses to mix them in one file) and an agreement in force.
func newEnv(tb testing.TB, dir string, pq bool) *env {
	tb.Helper()
	if err := vault.Init(dir); err != nil {
		tb.Fatal(err)
	}
	v, err := vault.Open(context.Background(), dir, vault.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ids := newIDs(tb, pq)
	for name, id := range ids {
		if err := identity.WriteFile(filepath.Join(dir, name+".key"), id, nil); err != nil {
			tb.Fatal(err)
		}
	}
	return populate(tb, v, ids)
}

// newIDs makes alice's, bob's and carol's identities.
func newIDs(tb testing.TB, pq bool) map[string]*identity.Identity {
	tb.Helper()
	ids := map[string]*identity.Identity{}
	for _, name := range []string{"alice", "bob", "carol"} {
		id, err := identity.Generate(pq)
		if err != nil {
			tb.Fatal(err)
		}
		ids[name] = id
	}
	return ids
}

// populate registers ids as mentor, mentee and supervisor in v and puts an
// agreement between alice and bob in force.
func populate(tb testing.TB, v *vault.Vault, ids map[string]*identity.Identity) *env {
	tb.Helper()
	ctx := context.Background()
	for _, p := range []struct {
		name string
		role policy.Role
	}{{"alice", policy.Mentor}, {"bob", policy.Mentee}, {"carol", policy.Supervisor}} {
		if _, err := v.AddParticipant(ctx, p.name, p.role, ids[p.name].Public().String()); err != nil {
			tb.Fatal(err)
		}
	}
	e := &env{v: v, alice: ids["alice"], bob: ids["bob"]}
	a, err := v.CreateAgreement(ctx, []byte(agreementYAML))
	if err != nil {
		tb.Fatal(err)
	}
	e.agreement = a.ID
	for _, id := range []*identity.Identity{e.alice, e.bob} {
		if _, err := v.AcceptAgreement(ctx, a.ID, id); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

var body1K = []byte(strings.Repeat("0123456789abcdef", 64)) // 1 KiB

type variant struct {
	name   string
	pq     bool
	kind   policy.Kind
	author func(*env) *identity.Identity
}

var variants = []variant{
	{"pq/2readers-session", true, policy.Session, func(e *env) *identity.Identity { return e.alice }},
	{"pq/1reader-reflection", true, policy.Reflection, func(e *env) *identity.Identity { return e.bob }},
	{"classic/2readers-session", false, policy.Session, func(e *env) *identity.Identity { return e.alice }},
	{"classic/1reader-reflection", false, policy.Reflection, func(e *env) *identity.Identity { return e.bob }},
}

func BenchmarkNoteAdd(b *testing.B) {
	ctx := context.Background()
	for _, vr := range variants {
		b.Run(vr.name, func(b *testing.B) {
			e := newEnv(b, filepath.Join(b.TempDir(), "vault"), vr.pq)
			defer e.v.Close()
			author := vr.author(e)
			nn := vault.NewNote{Agreement: e.agreement, Kind: vr.kind,
				Content: vault.Content{Title: "weekly session", Tags: []string{"goals"}, Body: body1K}}
			b.SetBytes(int64(len(body1K)))
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.v.AddNote(ctx, nn, author); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNoteShow(b *testing.B) {
	ctx := context.Background()
	for _, vr := range variants {
		b.Run(vr.name, func(b *testing.B) {
			e := newEnv(b, filepath.Join(b.TempDir(), "vault"), vr.pq)
			defer e.v.Close()
			author := vr.author(e)
			n, err := e.v.AddNote(ctx, vault.NewNote{Agreement: e.agreement, Kind: vr.kind,
				Content: vault.Content{Title: "weekly session", Tags: []string{"goals"}, Body: body1K}}, author)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body1K)))
			b.ResetTimer()
			// Every read appends a synced audit record: this is the cost of
			// a logged read, not of decryption alone.
			for b.Loop() {
				p, err := e.v.ReadNote(ctx, n.ID, author)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Content.Body) != len(body1K) {
					b.Fatal("short body")
				}
			}
		})
	}
}

const listNotes = 100_000

// BenchmarkNoteList100k lists the metadata of 100,000 notes. Building them
// takes minutes (one synced transaction per note), so it runs only when
// -bench names it explicitly, and the filled vault is cached under
// os.TempDir() for later runs (delete the directory to rebuild it).
func BenchmarkNoteList100k(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(strings.ToLower(f.Value.String()), "100k") {
		b.Skip("run with -bench NoteList100k: it builds a 100,000-note vault")
	}
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("notevault-bench-list%d-v2", listNotes))
	done := filepath.Join(dir, "bench-complete")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("building %d notes in %s (minutes)...", listNotes, dir)
		e := newEnv(b, dir, false)
		if err := os.WriteFile(filepath.Join(dir, "bench-agreement"), []byte(e.agreement), 0o600); err != nil {
			b.Fatal(err)
		}
		nn := vault.NewNote{Agreement: e.agreement, Kind: policy.Session,
			Content: vault.Content{Title: "session", Body: body1K}}
		for i := range listNotes {
			if _, err := e.v.AddNote(ctx, nn, e.alice); err != nil {
				b.Fatalf("note %d: %v", i, err)
			}
		}
		if err := e.v.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	agreementID, err := os.ReadFile(filepath.Join(dir, "bench-agreement"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := vault.Open(ctx, dir, vault.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for _, c := range []struct {
		name string
		f    vault.NoteFilter
	}{
		{"all", vault.NoteFilter{}},
		{"agreement", vault.NoteFilter{Agreement: string(agreementID)}},
		{"reader", vault.NoteFilter{Agreement: string(agreementID), Reader: "bob"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				notes, err := v.ListNotes(ctx, c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(notes) != listNotes {
					b.Fatalf("listed %d notes, want %d", len(notes), listNotes)
				}
			}
		})
	}
	// notevault check over the same vault: every note's signature, index
	// entry and sealed copy, every fact, the whole audit log.
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			r, err := v.Check(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if r.Notes != listNotes {
				b.Fatalf("checked %d notes, want %d", r.Notes, listNotes)
			}
		}
	})
}
