package vault

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kv"
)

func wantDenied(t *testing.T, err error, rule string) {
	t.Helper()
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("got error %v (%T), want *DeniedError with rule %q", err, err, rule)
	}
	if de.Decision.Rule != rule {
		t.Fatalf("denied with rule %q (%s), want rule %q", de.Decision.Rule, de.Decision.Reason, rule)
	}
}

func TestReadNotePolicy(t *testing.T) {
	f := newFixture(t, true)
	stranger := newIdentity(t)

	session := f.add(policy.Session, f.alice, content("first session", "we set goals", "goals"))
	reflection := f.add(policy.Reflection, f.bob, content("my reflection", "i was nervous"))
	summary := f.add(policy.Summary, f.alice, content("summary", "good progress", "q1"))

	tests := []struct {
		name     string
		note     string
		who      *identity.Identity
		wantBody string // empty: denied
		wantErr  error  // sentinel, or nil with wantRule
		wantRule string
	}{
		{"session/alice", session.ID, f.alice, "we set goals", nil, ""},
		{"session/bob", session.ID, f.bob, "we set goals", nil, ""},
		{"session/carol", session.ID, f.carol, "", nil, "not-reader"},
		{"reflection/bob(author)", reflection.ID, f.bob, "i was nervous", nil, ""},
		{"reflection/alice", reflection.ID, f.alice, "", nil, "not-reader"},
		{"reflection/carol", reflection.ID, f.carol, "", nil, "not-reader"},
		{"summary/alice", summary.ID, f.alice, "good progress", nil, ""},
		{"summary/bob", summary.ID, f.bob, "good progress", nil, ""},
		{"summary/carol", summary.ID, f.carol, "", nil, "not-reader"},
		{"session/stranger", session.ID, stranger, "", ErrNotParticipant, ""},
		{"unknown note", "n-doesnotexist2222", f.alice, "", ErrNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.v.ReadNote(f.ctx, tc.note, tc.who)
			switch {
			case tc.wantBody != "":
				if err != nil {
					t.Fatalf("ReadNote: %v", err)
				}
				if string(p.Content.Body) != tc.wantBody {
					t.Fatalf("body %q, want %q", p.Content.Body, tc.wantBody)
				}
				if !p.Decision.Allowed() {
					t.Fatalf("plaintext returned with decision %v", p.Decision)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if p != nil {
					t.Fatal("plaintext returned with an error")
				}
			default:
				wantDenied(t, err, tc.wantRule)
				if p != nil {
					t.Fatal("plaintext returned with a denial")
				}
			}
		})
	}

	t.Run("content round trip", func(t *testing.T) {
		p, err := f.v.ReadNote(f.ctx, session.ID, f.bob)
		if err != nil {
			t.Fatal(err)
		}
		if p.Content.Title != "first session" || len(p.Content.Tags) != 1 || p.Content.Tags[0] != "goals" {
			t.Fatalf("content %+v", p.Content)
		}
		if got := strings.Join(p.Note.Readers, ","); got != "alice,bob" {
			t.Fatalf("readers %q", got)
		}
	})
}

func TestAddNotePolicy(t *testing.T) {
	t.Run("not accepted", func(t *testing.T) {
		f := newFixture(t, false)
		_, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("x", "y")}, f.alice)
		wantDenied(t, err, "not-accepted")
		f.accept(f.alice) // one acceptance is not enough
		_, err = f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("x", "y")}, f.alice)
		wantDenied(t, err, "not-accepted")
		f.accept(f.bob)
		f.add(policy.Session, f.alice, content("x", "y"))
	})

	f := newFixture(t, true)
	tests := []struct {
		name     string
		kind     policy.Kind
		who      *identity.Identity
		wantErr  error
		wantRule string
	}{
		{"bob summary", policy.Summary, f.bob, nil, "not-mentor"},
		{"carol session", policy.Session, f.carol, nil, "not-participant"},
		{"stranger session", policy.Session, newIdentity(t), ErrNotParticipant, ""},
		{"unknown kind", policy.Kind("diary"), f.alice, nil, "unknown-kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: tc.kind, Content: content("t", "b")}, tc.who)
			if n != nil {
				t.Fatalf("note %s written", n.ID)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			wantDenied(t, err, tc.wantRule)
		})
	}
	t.Run("unknown agreement", func(t *testing.T) {
		_, err := f.v.AddNote(f.ctx, NewNote{Agreement: "a-nope", Kind: policy.Session, Content: content("t", "b")}, f.alice)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("bad title", func(t *testing.T) {
		_, err := f.v.AddNote(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session, Content: content("two\nlines", "b")}, f.alice)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
	})
	t.Run("readers per kind", func(t *testing.T) {
		for kind, want := range map[policy.Kind]string{policy.Session: "alice,bob", policy.Reflection: "bob", policy.Summary: "alice,bob"} {
			author := f.bob
			if kind == policy.Summary {
				author = f.alice
			}
			n := f.add(kind, author, content("t", "b"))
			if got := strings.Join(n.Readers, ","); got != want {
				t.Errorf("%s readers %q, want %q", kind, got, want)
			}
		}
	})
}

func TestAmendVersion(t *testing.T) {
	f := newFixture(t, true)
	if n := f.add(policy.Session, f.alice, content("t", "b")); n.Version != 1 {
		t.Fatalf("version %d before amending, want 1", n.Version)
	}
	f.clock.Advance(time.Second)
	ver, err := f.v.AmendAgreement(f.ctx, f.agreement, f.amendedText(), f.alice)
	if err != nil {
		t.Fatalf("AmendAgreement: %v", err)
	}
	if ver.Version != 2 {
		t.Fatalf("amendment is version %d", ver.Version)
	}
	// Proposed by alice, not yet accepted by bob: version 1 stays in force.
	for _, kind := range []policy.Kind{policy.Session, policy.Summary} {
		if n := f.add(kind, f.alice, content("t", "b")); n.Version != 1 {
			t.Fatalf("%s note under a pending amendment has version %d, want 1", kind, n.Version)
		}
	}
	if n := f.add(policy.Reflection, f.bob, content("t", "b")); n.Version != 1 {
		t.Fatalf("bob's note under a pending amendment has version %d, want 1", n.Version)
	}
	f.accept(f.bob)
	if n := f.add(policy.Session, f.bob, content("t", "b")); n.Version != 2 {
		t.Fatalf("note after the amendment was accepted has version %d, want 2", n.Version)
	}
	a, err := f.v.GetAgreement(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	if cur := a.Current(); cur == nil || cur.Version != 2 {
		t.Fatalf("current version %v, want 2", cur)
	}
}

func TestNoPlaintextInVaultFiles(t *testing.T) {
	f := newFixture(t, true)
	var markers [][]byte
	for i, kind := range []policy.Kind{policy.Session, policy.Reflection, policy.Summary, policy.Session} {
		title := "TITLEMARKER" + string(rune('a'+i)) + "zq7"
		body := "BODYMARKER" + string(rune('a'+i)) + "zq7 " + strings.Repeat("filler ", 300*i) // small and large (value log) bodies
		tag := "TAGMARKER" + string(rune('a'+i)) + "zq7"
		markers = append(markers, []byte(title), []byte("BODYMARKER"+string(rune('a'+i))+"zq7"), []byte(tag))
		author := f.alice
		if kind == policy.Reflection {
			author = f.bob
		}
		n := f.add(kind, author, content(title, body, tag))
		if _, err := f.v.ReadNote(f.ctx, n.ID, author); err != nil { // reads write audit records too
			t.Fatal(err)
		}
	}
	f.close()

	// Every byte of every file under the vault directory.
	files := 0
	err := filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if m := containsAny(b, markers); m != nil {
			t.Errorf("%s contains plaintext %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("walked only %d files", files)
	}

	// Every key and every version through badger itself (values may be
	// compressed in tables, so the raw walk alone could miss plaintext).
	var foundControl bool
	control := []byte(`"name":"alice"`)
	withBadger(t, f.dir, func(db *badgerDB) {
		n := scanAllVersions(t, db, func(key, val []byte) {
			if m := containsAny(append(key, val...), markers); m != nil {
				t.Errorf("record %q contains plaintext %q", key, m)
			}
			if bytes.Contains(val, control) {
				foundControl = true
			}
		})
		if n < 10 {
			t.Fatalf("scanned only %d records", n)
		}
	})
	// Positive control: the scan does see stored plaintext where there is
	// some (participant records are not secret).
	if !foundControl {
		t.Fatalf("positive control failed: %q not found by the badger scan", control)
	}

	// The vault still opens and reads after the direct access.
	f.open()
	notes, err := f.v.ListNotes(f.ctx, NoteFilter{})
	if err != nil || len(notes) != 4 {
		t.Fatalf("ListNotes: %d notes, %v", len(notes), err)
	}
	p, err := f.v.ReadNote(f.ctx, notes[0].ID, f.alice)
	if err != nil || !bytes.Contains(p.Content.Body, markers[1]) {
		t.Fatalf("reading back: %v", err)
	}
}

func TestExportOpensWithRealAgeCLI(t *testing.T) {
	dir := t.TempDir()
	ageBin := filepath.Join(dir, "age")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goTool, "build", "-o", ageBin, "filippo.io/age/cmd/age")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build filippo.io/age/cmd/age: %v\n%s", err, out)
	}

	f := newFixture(t, true)
	body := "We agreed on three goals.\nSecond line, ünïcode.\n"
	n := f.add(policy.Session, f.alice, content("First session", body, "goals", "portfolio"))
	ageFile, err := f.v.ExportNote(f.ctx, n.ID, f.bob)
	if err != nil {
		t.Fatalf("ExportNote: %v", err)
	}
	noteFile := filepath.Join(dir, "note.age")
	if err := os.WriteFile(noteFile, ageFile, 0o600); err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(dir, "id.txt")
	if err := identity.WriteFile(idFile, f.bob, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ageBin, "-d", "-i", idFile, noteFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -d -i: %v\n%s", err, stderr.Bytes())
	}
	want := regexp.MustCompile(`^title: First session\ntags: goals, portfolio\nnote: ` + n.ID + `\nagreement: ` + f.agreement +
		`\nkind: session\nnonce: [A-Za-z0-9_-]{22}\n\n` + regexp.QuoteMeta(body) + `$`)
	if !want.Match(out) {
		t.Fatalf("age -d printed %q, want %v", out, want)
	}
	// The body-only export opens to the body alone.
	bodyFile := filepath.Join(dir, "body.age")
	bodyAge, err := f.v.ExportNoteBody(f.ctx, n.ID, f.bob)
	if err != nil {
		t.Fatalf("ExportNoteBody: %v", err)
	}
	if err := os.WriteFile(bodyFile, bodyAge, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ageBin, "-d", "-i", idFile, bodyFile).Output(); err != nil || string(out) != body {
		t.Fatalf("age -d of the body-only export: %q, %v; want %q", out, err, body)
	}

	// carol's key does not open bob's export, and carol cannot export.
	if _, err := f.v.ExportNote(f.ctx, n.ID, f.carol); err == nil {
		t.Fatal("carol exported a session note")
	}
	carolFile := filepath.Join(dir, "carol.txt")
	if err := identity.WriteFile(carolFile, f.carol, nil); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ageBin, "-d", "-i", carolFile, noteFile).Output(); err == nil {
		t.Fatalf("carol's key opened the export: %q", out)
	}

	// The export is logged as a read, and carol's attempt as a denial.
	recs, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	exp, den := recs[len(recs)-2], recs[len(recs)-1]
	if exp.Action != "note.export" || exp.Actor != "bob" || exp.Subject != n.ID {
		t.Fatalf("audit record %+v, want note.export by bob", exp)
	}
	if den.Action != "note.export.denied" || den.Actor != "carol" || den.Rule != "not-reader" {
		t.Fatalf("audit record %+v, want note.export.denied by carol", den)
	}
}

// auditFixture returns a closed vault with a log of n records.
func auditFixture(t *testing.T) (*fixture, uint64) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "b"))
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatal(err)
	}
	f.add(policy.Reflection, f.bob, content("t", "b"))
	count, err := f.v.VerifyAudit(f.ctx)
	if err != nil {
		t.Fatalf("VerifyAudit on an untouched log: %v", err)
	}
	f.close()
	return f, count
}

func wantVerifyError(t *testing.T, f *fixture, seq uint64) {
	t.Helper()
	f.open()
	defer f.close()
	_, err := f.v.VerifyAudit(f.ctx)
	var ve *audit.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("VerifyAudit: %v (%T), want *audit.VerifyError", err, err)
	}
	if ve.Seq != seq {
		t.Fatalf("VerifyAudit names record %d (%s), want %d", ve.Seq, ve.Reason, seq)
	}
}

func editAction(t *testing.T, f *fixture, seq uint64, action string) string {
	t.Helper()
	var was string
	withBadger(t, f.dir, func(db *badgerDB) {
		b := rawGet(t, db, rawLogKey(seq))
		if b == nil {
			t.Fatalf("no record %d", seq)
		}
		rec, err := audit.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq != seq {
			t.Fatalf("record at l/%d has seq %d", seq, rec.Seq)
		}
		was = rec.Actor
		rec.Action = action
		nb, err := audit.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		rawSet(t, db, rawLogKey(seq), nb)
	})
	return was
}

func TestAuditVerifyNamesEditedRecord(t *testing.T) {
	t.Run("untouched", func(t *testing.T) {
		f, count := auditFixture(t)
		// 3 participants, create, 2 accepts, add, read, add.
		if count != 9 {
			t.Fatalf("verified %d records, want 9", count)
		}
		f.open()
		defer f.close()
		recs, err := f.v.AuditLog(f.ctx, "")
		if err != nil || uint64(len(recs)) != count {
			t.Fatalf("AuditLog: %d records, %v", len(recs), err)
		}
		if n, err := f.v.VerifyAudit(f.ctx); err != nil || n != count {
			t.Fatalf("VerifyAudit after reopening: %d, %v", n, err)
		}
	})
	t.Run("edited signed record", func(t *testing.T) {
		// Record 5 is alice's signed acceptance: it fails itself.
		f, _ := auditFixture(t)
		if actor := editAction(t, f, 5, "agreement.reject"); actor != "alice" {
			t.Fatalf("record 5 is by %s, want alice", actor)
		}
		wantVerifyError(t, f, 5)
	})
	t.Run("edited system record", func(t *testing.T) {
		// Record 3 (participant.add carol) is written by the vault and not
		// signed: per package audit, it cannot fail itself and is named at
		// the next record, whose prev hash no longer matches.
		f, _ := auditFixture(t)
		if actor := editAction(t, f, 3, "participant.remove"); actor != ActorVault {
			t.Fatalf("record 3 is by %s, want %s", actor, ActorVault)
		}
		wantVerifyError(t, f, 4)
	})
	t.Run("edited last record", func(t *testing.T) {
		f, count := auditFixture(t)
		editAction(t, f, count, "note.delete")
		wantVerifyError(t, f, count)
	})
	t.Run("truncated", func(t *testing.T) {
		f, count := auditFixture(t)
		withBadger(t, f.dir, func(db *badgerDB) { rawDelete(t, db, rawLogKey(count)) })
		wantVerifyError(t, f, count)
	})
	t.Run("truncated with head rewound", func(t *testing.T) {
		// The attacker also moves z/loghead back to the previous record:
		// only the signed checkpoint can tell.
		f, count := auditFixture(t)
		withBadger(t, f.dir, func(db *badgerDB) {
			prev, err := audit.Decode(rawGet(t, db, rawLogKey(count-1)))
			if err != nil {
				t.Fatal(err)
			}
			h := prev.Hash()
			head, err := encodeRecord(logHead{Seq: prev.Seq, Hash: hexString(h[:]), Time: prev.Time})
			if err != nil {
				t.Fatal(err)
			}
			rawDelete(t, db, rawLogKey(count))
			rawSet(t, db, kLogHead, head)
		})
		wantVerifyError(t, f, count)
	})
	t.Run("deleted middle record", func(t *testing.T) {
		f, _ := auditFixture(t)
		withBadger(t, f.dir, func(db *badgerDB) { rawDelete(t, db, rawLogKey(6)) })
		wantVerifyError(t, f, 6)
	})
}

func TestReadIsAudited(t *testing.T) {
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("t", "secret body"))
	f.clock.Advance(time.Minute)
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatal(err)
	}
	recs, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Agreement != f.agreement {
			t.Fatalf("AuditLog(%s) returned a record of %q", f.agreement, r.Agreement)
		}
		if r.Action == "note.read" && r.Actor == "bob" && r.Subject == n.ID {
			found = true
			if r.Rule != "reader" || !r.Time.Equal(f.clock.Now()) {
				t.Errorf("read record %+v", r)
			}
		}
	}
	if !found {
		t.Fatalf("no note.read record by bob for %s in %d records", n.ID, len(recs))
	}

	// A denied read is logged as a denial: who tried, which note, the rule
	// that refused.
	before := len(recs)
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.carol); err == nil {
		t.Fatal("carol read a session note")
	}
	recs, _ = f.v.AuditLog(f.ctx, f.agreement)
	if len(recs) != before+1 {
		t.Fatalf("a denied read left %d records, want one more than %d", len(recs), before)
	}
	if r := recs[len(recs)-1]; r.Action != "note.read.denied" || r.Actor != "carol" || r.Subject != n.ID || r.Rule != "not-reader" {
		t.Fatalf("denied read logged as %+v", r)
	}

	// Fail closed: a clock behind the newest record refuses, with no
	// plaintext.
	f.clock.Advance(-30 * time.Second)
	p, err := f.v.ReadNote(f.ctx, n.ID, f.bob)
	if !errors.Is(err, ErrClock) {
		t.Fatalf("ReadNote with the clock set back: %v, want ErrClock", err)
	}
	if p != nil {
		t.Fatal("plaintext returned with ErrClock")
	}
	if _, err := f.v.ExportNote(f.ctx, n.ID, f.bob); !errors.Is(err, ErrClock) {
		t.Fatalf("ExportNote with the clock set back: %v, want ErrClock", err)
	}
	if recs, _ = f.v.AuditLog(f.ctx, f.agreement); len(recs) != before+1 {
		t.Fatalf("a read refused for the clock changed the log")
	}
	f.clock.Advance(time.Minute)
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); err != nil {
		t.Fatalf("ReadNote once the clock is right again: %v", err)
	}
}

func TestBusy(t *testing.T) {
	f := newFixture(t, true)
	start := time.Now()
	v2, err := Open(f.ctx, f.dir, Options{BusyTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrBusy) {
		if v2 != nil {
			v2.Close()
		}
		t.Fatalf("second Open in the same process: %v, want ErrBusy", err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || el > 5*time.Second {
		t.Fatalf("ErrBusy after %v, want about 200ms", el)
	}
	// Once closed, the vault opens again.
	f.close()
	f.open()
	if _, err := f.v.Participants(f.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBusyAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("NOTEVAULT_TEST_BUSY_DIR"); dir != "" {
		// Child: try to open the vault the parent holds.
		_, err := Open(t.Context(), dir, Options{BusyTimeout: 200 * time.Millisecond})
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("child Open: %v, want ErrBusy", err)
		}
		return
	}
	f := newFixture(t, false)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBusyAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NOTEVAULT_TEST_BUSY_DIR="+f.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
}

func TestSealedBlobCannotMove(t *testing.T) {
	f := newFixture(t, true)
	a := f.add(policy.Session, f.alice, content("note A", "BODY OF A"))
	b := f.add(policy.Session, f.alice, content("note B", "BODY OF B"))
	f.close()
	withBadger(t, f.dir, func(db *badgerDB) {
		va := rawGet(t, db, pBlob+a.ID)
		if va == nil || rawGet(t, db, pBlob+b.ID) == nil {
			t.Fatal("blob records not found")
		}
		rawSet(t, db, pBlob+b.ID, va)
	})
	f.open()
	p, err := f.v.ReadNote(f.ctx, b.ID, f.bob)
	if err == nil {
		t.Fatalf("moved blob opened as note B: %q", p.Content.Body)
	}
	if p != nil {
		t.Fatal("plaintext returned with an error")
	}
	if strings.Contains(err.Error(), "BODY OF A") {
		t.Fatalf("error leaks plaintext: %v", err)
	}
	if _, err := f.v.ExportNote(f.ctx, b.ID, f.bob); err == nil {
		t.Fatal("moved blob exported as note B")
	}
	// A is untouched.
	if p, err := f.v.ReadNote(f.ctx, a.ID, f.bob); err != nil || string(p.Content.Body) != "BODY OF A" {
		t.Fatalf("note A after the swap: %v", err)
	}
}

// A record stamped before another writer's newer one reached the log (on a
// server, writers take turns only for the end of an action) takes the time
// it is appended at; a clock behind the log is still refused. The record
// here is stamped an hour back by hand, as a writer whose action began
// before the newest record would have.
func TestFlushLogRestampsAnOvertakenRecord(t *testing.T) {
	f := newFixture(t, true)
	f.add(policy.Session, f.alice, content("t", "x"))
	late := &audit.Record{Actor: "alice", Action: "note.read", Agreement: f.agreement, Time: f.clock.Now().Add(-time.Hour)}
	if err := f.v.update(func(txn kv.Txn) error { return f.v.appendLog(txn, late, f.alice) }); err != nil {
		t.Fatalf("an overtaken record was refused: %v", err)
	}
	if !late.Time.Equal(f.clock.Now()) {
		t.Fatalf("the overtaken record kept the time %s, want %s", late.Time, f.clock.Now())
	}
	if _, err := f.v.VerifyAudit(f.ctx); err != nil {
		t.Fatalf("the log no longer verifies: %v", err)
	}
	// The control: with the clock itself behind the log, the same append
	// is refused.
	f.clock.Advance(-time.Minute)
	err := f.v.update(func(txn kv.Txn) error {
		return f.v.appendLog(txn, &audit.Record{Actor: "alice", Action: "note.read", Agreement: f.agreement}, f.alice)
	})
	if !errors.Is(err, ErrClock) {
		t.Fatalf("a clock behind the log: %v, want ErrClock", err)
	}
}
