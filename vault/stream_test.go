package vault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/seal"
)

// smallInline lowers the inline limit for a test, so that a few hundred
// KiB make a large, multi-chunk note.
func smallInline(t *testing.T) {
	old := inlineMax
	inlineMax = 16 << 10
	t.Cleanup(func() { inlineMax = old })
}

// bigBody is a body of n bytes (random, so incompressible, with newlines)
// with a marker at its start, its middle and its end, each in a different
// age chunk.
func bigBody(n int, marker string) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
		if r.IntN(80) == 0 {
			b[i] = '\n'
		}
	}
	copy(b, marker+"-start")
	copy(b[n/2:], marker+"-middle")
	copy(b[n-len(marker)-4:], marker+"-end")
	return b
}

func bigMarkers(marker string) []string {
	return []string{marker + "-start", marker + "-middle", marker + "-end"}
}

func (f *fixture) addFrom(kind policy.Kind, author *identity.Identity, title string, body []byte) *Note {
	f.t.Helper()
	f.clock.Advance(time.Second)
	n, err := f.v.AddNoteFrom(f.ctx, NewNote{Agreement: f.agreement, Kind: kind, Content: Content{Title: title, Tags: []string{"rec"}}},
		bytes.NewReader(body), author)
	if err != nil {
		f.t.Fatalf("AddNoteFrom: %v", err)
	}
	return n
}

func (f *fixture) readAll(noteID string, id *identity.Identity) ([]byte, *NoteReader, error) {
	f.t.Helper()
	nr, err := f.v.OpenNote(f.ctx, noteID, id)
	if err != nil {
		return nil, nil, err
	}
	defer nr.Close()
	b, err := io.ReadAll(nr)
	return b, nr, err
}

func payloadFile(f *fixture, blob string) string {
	if f.payloads != nil {
		f.t.Skip("this test edits a directory's payload files; on a server the payloads are rows")
	}
	return filepath.Join(f.dir, payloadsDir, blob)
}

// storedPayloads names the payloads in the vault's payload store, placed
// or not.
func storedPayloads(f *fixture) []string {
	f.t.Helper()
	placed, unfinished, err := f.v.payloads.Names()
	if err != nil {
		f.t.Fatal(err)
	}
	for n := range placed {
		unfinished = append(unfinished, n)
	}
	slices.Sort(unfinished)
	return unfinished
}

func TestLargeNoteStreamsInAndOut(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	body := bigBody(300<<10, "MARK-big") // five age chunks
	n := f.addFrom(policy.Session, f.alice, "Recorded session", body)
	if !slices.Contains(storedPayloads(f), n.ID) {
		t.Fatalf("a large note has no payload: %v", storedPayloads(f))
	}
	for _, id := range []*identity.Identity{f.alice, f.bob} {
		got, nr, err := f.readAll(n.ID, id)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("OpenNote: %d bytes, %v; want the %d bytes written", len(got), err, len(body))
		}
		if nr.Title != "Recorded session" || len(nr.Tags) != 1 || nr.Tags[0] != "rec" {
			t.Fatalf("title %q tags %v", nr.Title, nr.Tags)
		}
	}
	// Whole in memory, it is refused: it is read as a stream only.
	if _, err := f.v.ReadNote(f.ctx, n.ID, f.bob); !errors.Is(err, ErrLargeNote) {
		t.Fatalf("ReadNote of a large note: %v, want ErrLargeNote", err)
	}
	if _, err := f.v.OpenNote(f.ctx, n.ID, f.carol); err == nil {
		t.Fatal("carol opened a session note she is no reader of")
	}

	// The export is a standard age file: age alone opens it.
	var exp bytes.Buffer
	if err := f.v.ExportNoteTo(f.ctx, n.ID, f.bob, &exp); err != nil {
		t.Fatalf("ExportNoteTo: %v", err)
	}
	r, err := age.Decrypt(&exp, f.bob.AgeIdentity())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	env, err := unmarshalEnvelope(plain)
	if err != nil || env.Note != n.ID || !bytes.Equal(env.Body, body) || commitOf(plain) != n.rec.Meta.Commit {
		t.Fatalf("the exported age file is not the note: %v", err)
	}
	var bodyOnly bytes.Buffer
	if err := f.v.ExportNoteBodyTo(f.ctx, n.ID, f.bob, &bodyOnly); err != nil {
		t.Fatalf("ExportNoteBodyTo: %v", err)
	}
	if r, err = age.Decrypt(&bodyOnly, f.bob.AgeIdentity()); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the body-only export is not the body: %v", err)
	}

	// A small body through the same call stays inline.
	small := f.addFrom(policy.Session, f.alice, "short", []byte("a few words"))
	if slices.Contains(storedPayloads(f), small.ID) {
		t.Fatal("a small note has a payload")
	}
	if got, _, err := f.readAll(small.ID, f.bob); err != nil || string(got) != "a few words" {
		t.Fatalf("small note: %q, %v", got, err)
	}

	// Reads and exports are audited like any.
	log, err := f.v.AuditLog(f.ctx, f.agreement)
	if err != nil {
		t.Fatal(err)
	}
	var reads, exports int
	for _, rec := range log {
		if rec.Subject == n.ID && rec.Action == "note.read" {
			reads++
		}
		if rec.Subject == n.ID && rec.Action == "note.export" {
			exports++
		}
	}
	if reads != 2 || exports != 2 { // two streamed reads; the refused whole read read nothing
		t.Fatalf("audit: %d reads, %d exports of the large note; want 2 and 2", reads, exports)
	}
	f.close()
	f.open()
	if _, err := f.v.Check(f.ctx); err != nil {
		t.Fatalf("check: %v", err)
	}
}

// The author's metadata and commitment cover a large note as they do a
// small one, and a supervisor's copy made at writing time, and one made
// when the grant is given, stream too.
func TestLargeNoteCopies(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	early := bigBody(100<<10, "MARK-early")
	before := f.addFrom(policy.Summary, f.alice, "before", early)
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	if _, copied, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, 72*time.Hour, f.alice); err != nil || copied != 1 {
		t.Fatalf("AddGrant: copied %d, %v", copied, err)
	}
	late := bigBody(200<<10, "MARK-late")
	during := f.addFrom(policy.Summary, f.alice, "during", late)
	if len(during.Copies) != 1 {
		t.Fatalf("the note written under the grant lists copies %v", during.Copies)
	}
	for _, c := range []struct {
		n    *Note
		body []byte
	}{{before, early}, {during, late}} {
		got, _, err := f.readAll(c.n.ID, f.carol)
		if err != nil || !bytes.Equal(got, c.body) {
			t.Fatalf("carol reads %s: %d bytes, %v", c.n.ID, len(got), err)
		}
	}
	if copies := storedPayloads(f); len(copies) != 4 {
		t.Fatalf("%d payloads, want 4 (two notes, two copies): %v", len(copies), copies)
	}
}

// chunkSize is an age payload chunk on disk: 64 KiB and a tag.
const chunkSize = 64<<10 + 16

func TestLargeNoteTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, f *fixture, n, other *Note)
	}{
		{"truncated by a chunk", func(t *testing.T, f *fixture, n, _ *Note) {
			p := payloadFile(f, n.ID)
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-chunkSize); err != nil {
				t.Fatal(err)
			}
		}},
		{"two chunks swapped", func(t *testing.T, f *fixture, n, _ *Note) {
			p := payloadFile(f, n.ID)
			b, _ := os.ReadFile(p)
			a1, a2 := 16+chunkSize, 16+2*chunkSize
			one := bytes.Clone(b[a1 : a1+chunkSize])
			copy(b[a1:], b[a2:a2+chunkSize])
			copy(b[a2:], one)
			os.WriteFile(p, b, 0o600)
		}},
		{"a chunk of another note", func(t *testing.T, f *fixture, n, other *Note) {
			p := payloadFile(f, n.ID)
			b, _ := os.ReadFile(p)
			o, _ := os.ReadFile(payloadFile(f, other.ID))
			copy(b[16+chunkSize:16+2*chunkSize], o[16+chunkSize:])
			os.WriteFile(p, b, 0o600)
		}},
		{"another note's payload", func(t *testing.T, f *fixture, n, other *Note) {
			o, _ := os.ReadFile(payloadFile(f, other.ID))
			os.WriteFile(payloadFile(f, n.ID), o, 0o600)
		}},
		{"payload missing", func(t *testing.T, f *fixture, n, _ *Note) {
			os.Remove(payloadFile(f, n.ID))
		}},
		{"payload a symlink to the other", func(t *testing.T, f *fixture, n, other *Note) {
			os.Remove(payloadFile(f, n.ID))
			os.Symlink(payloadFile(f, other.ID), payloadFile(f, n.ID))
		}},
		{"list of segments changed", func(t *testing.T, f *fixture, n, _ *Note) {
			withBadger(t, f.dir, func(db *badger.DB) {
				var rec blobRec
				if err := decodeRecord(rawGet(t, db, pBlob+n.ID), &rec); err != nil {
					t.Fatal(err)
				}
				rec.Segments[0] ^= 1
				b, _ := encodeRecord(rec)
				rawSet(t, db, pBlob+n.ID, b)
			})
		}},
		{"re-encrypted by the store's writer", func(t *testing.T, f *fixture, n, _ *Note) {
			// Whoever writes the vault holds its shred keys and everyone's
			// public keys: it can make a well-formed copy of any content,
			// even with the right envelope lines. Only the author's signed
			// commitment tells.
			forgeLarge(t, f, n, []*identity.Identity{f.alice, f.bob})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			smallInline(t)
			f := newFixture(t, true)
			body := bigBody(300<<10, "MARK-t")
			n := f.addFrom(policy.Session, f.alice, "target", body)
			other := f.addFrom(policy.Session, f.alice, "other", bigBody(300<<10, "MARK-o"))
			f.close()
			c.tamper(t, f, n, other)
			f.open()
			got, _, err := f.readAll(n.ID, f.bob)
			t.Logf("read: %d bytes, %v", len(got), err)
			var ie *IntegrityError
			if !errors.As(err, &ie) && !errors.Is(err, ErrNoKey) {
				t.Fatalf("reading the tampered note: %d bytes, err %v; want an integrity error", len(got), err)
			}
			// Whatever was released before the error is the author's.
			if !bytes.HasPrefix(body, got) {
				t.Fatalf("%d bytes the author did not write were released before the error", len(got))
			}
			if err := f.v.ExportNoteTo(f.ctx, n.ID, f.bob, io.Discard); err == nil {
				t.Fatal("the tampered note exported without an error")
			}
			// The negative control: the untouched note reads.
			if c.name != "a chunk of another note" && c.name != "another note's payload" && c.name != "payload a symlink to the other" {
				if _, _, err := f.readAll(other.ID, f.bob); err != nil {
					t.Fatalf("the untouched note: %v", err)
				}
			}
			if c.name == "payload missing" || c.name == "payload a symlink to the other" {
				if _, err := f.v.Check(f.ctx); err == nil {
					t.Fatal("check passes a large note without its payload file")
				}
			}
		})
	}
}

// forgeLarge replaces n's stored copy with another age file of the right
// shape: the right envelope lines, another body, to ids, sealed under the
// live key of n's bucket.
func forgeLarge(t *testing.T, f *fixture, n *Note, ids []*identity.Identity) {
	t.Helper()
	var rs []age.Recipient
	for _, id := range ids {
		r, err := id.Public().AgeRecipient()
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	env := envelope{Content: Content{Title: "target", Tags: []string{"rec"}, Body: bigBody(300<<10, "MARK-forged")},
		Note: n.ID, Agreement: n.Agreement, Kind: n.Kind, Nonce: make([]byte, 16)}
	forgeWith(t, f, n, rs, env.marshal())
}

// forgeWith replaces n's stored copy with plain encrypted to rs, sealed
// under the live key of n's bucket, keeping the author's list of segments.
func forgeWith(t *testing.T, f *fixture, n *Note, rs []age.Recipient, plain []byte) {
	t.Helper()
	ageFile, err := encryptTo(plain, rs)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := age.ExtractHeader(bytes.NewReader(ageFile))
	if err != nil {
		t.Fatal(err)
	}
	if f.payloads != nil {
		t.Skip("this forgery writes a directory's files with its shred key; on a server the key is wrapped under a KEK the writer does not hold")
	}
	key, err := os.ReadFile(filepath.Join(f.dir, keysDir, n.Bucket+".key"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := seal.Seal(key, seal.AD(n.ID, n.Bucket), hdr)
	if err != nil {
		t.Fatal(err)
	}
	withBadger(t, f.dir, func(db *badger.DB) {
		// The author's list of segment hashes is kept, so that the list
		// still matches the signed digest: only the content differs.
		var orig blobRec
		if err := decodeRecord(rawGet(t, db, pBlob+n.ID), &orig); err != nil {
			t.Fatal(err)
		}
		rec, _ := encodeRecord(blobRec{Bucket: n.Bucket, Sealed: sealed, Payload: true, Segments: orig.Segments})
		rawSet(t, db, pBlob+n.ID, rec)
	})
	if err := os.WriteFile(payloadFile(f, n.ID), ageFile[len(hdr):], 0o600); err != nil {
		t.Fatal(err)
	}
}

// Deleting a large note early destroys every chunk for everyone: the
// payload file goes, and a copy of it kept elsewhere (a backup, blocks the
// filesystem did not overwrite) opens for nobody, since the only header
// that held its file key was sealed under the destroyed key. The negative
// control keeps the key and the scan finds the body.
func TestLargeNoteShredded(t *testing.T) {
	for _, noDestroy := range []bool{false, true} {
		name := "destroyed"
		if noDestroy {
			name = "negative control"
		}
		t.Run(name, func(t *testing.T) {
			smallInline(t)
			f := newFixture(t, true)
			setNoDestroy(f.v, noDestroy)
			doomed := f.addFrom(policy.Reflection, f.bob, "MARK-doomed-title", bigBody(400<<10, "MARK-doomed"))
			kept := f.addFrom(policy.Reflection, f.bob, "MARK-kept-title", bigBody(200<<10, "MARK-kept"))
			small := f.add(policy.Reflection, f.bob, content("MARK-small-title", "MARK-small-body"))
			if doomed.Bucket != kept.Bucket || kept.Bucket != small.Bucket {
				t.Fatalf("buckets %s %s %s: the test wants one", doomed.Bucket, kept.Bucket, small.Bucket)
			}
			saved, err := os.ReadFile(payloadFile(f, doomed.ID))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.v.DeleteNote(f.ctx, doomed.ID, f.bob); err != nil {
				t.Fatalf("DeleteNote: %v", err)
			}
			if _, err := os.Stat(payloadFile(f, doomed.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the deleted note's payload file is still there: %v", err)
			}
			if got, _, err := f.readAll(kept.ID, f.bob); err != nil || !bytes.Contains(got, []byte("MARK-kept-end")) {
				t.Fatalf("the bucket's other large note: %v", err)
			}
			f.close()
			// Put the old payload back, as a backup or the disk would.
			if err := os.WriteFile(payloadFile(f, doomed.ID), saved, 0o600); err != nil {
				t.Fatal(err)
			}
			all := []*identity.Identity{f.alice, f.bob, f.carol}
			got := recoverable(t, f.dir, all, append(bigMarkers("MARK-doomed"), "MARK-doomed-title"))
			if !noDestroy && len(got) != 0 {
				t.Fatalf("a participant's key still opens %v", got)
			}
			if noDestroy && len(got) != 4 {
				t.Fatalf("with destruction off the scan recovered only %v: the scan is blind", got)
			}
			if got := recoverable(t, f.dir, all, append(bigMarkers("MARK-kept"), "MARK-small-body")); len(got) != 4 {
				t.Fatalf("surviving notes not found by the scan: %v", got)
			}
		})
	}
}

// An early deletion re-wraps the headers of a bucket's large notes, never
// their payloads.
func TestRewrapLeavesPayloads(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	var large []*Note
	for i := range 4 {
		large = append(large, f.addFrom(policy.Reflection, f.bob, "big", bigBody(100<<10+i, "MARK-big")))
	}
	small := f.add(policy.Reflection, f.bob, content("small", "small body"))
	before := map[string][32]byte{}
	stats := map[string]os.FileInfo{}
	for _, n := range large {
		b, _ := os.ReadFile(payloadFile(f, n.ID))
		before[n.ID] = sha256.Sum256(b)
		stats[n.ID], _ = os.Stat(payloadFile(f, n.ID))
	}
	if _, err := f.v.DeleteNote(f.ctx, small.ID, f.bob); err != nil {
		t.Fatal(err)
	}
	for _, n := range large {
		got, err := f.v.GetNote(f.ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Bucket == n.Bucket {
			t.Fatalf("%s was not re-wrapped", n.ID)
		}
		b, _ := os.ReadFile(payloadFile(f, n.ID))
		st, _ := os.Stat(payloadFile(f, n.ID))
		if sha256.Sum256(b) != before[n.ID] || !os.SameFile(st, stats[n.ID]) {
			t.Fatalf("the re-wrap rewrote %s's payload", n.ID)
		}
		if _, _, err := f.readAll(n.ID, f.bob); err != nil {
			t.Fatalf("%s after the re-wrap: %v", n.ID, err)
		}
	}
}

func TestSweepRemovesPayloads(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	n := f.addFrom(policy.Reflection, f.bob, "big", bigBody(100<<10, "MARK-sw"))
	f.clock.Advance(91 * 24 * time.Hour)
	if got, _, err := f.sweep(); err != nil || len(got) != 1 || got[0].Note != n.ID {
		t.Fatalf("sweep: %v %v", got, err)
	}
	if _, err := os.Stat(payloadFile(f, n.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the swept note's payload file is still there: %v", err)
	}
}

func TestHousekeepRemovesOrphanPayloads(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	n := f.addFrom(policy.Reflection, f.bob, "big", bigBody(100<<10, "MARK-hk"))
	// A payload no record names, as an add interrupted before its commit
	// leaves it.
	orphan, err := f.v.payloads.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orphan.Write([]byte("x")); err != nil || orphan.Finish() != nil || orphan.Place("n-orphan") != nil {
		t.Fatalf("storing an orphan payload: %v", err)
	}
	if f.payloads == nil { // and a directory's temporary file of an interrupted write
		if err := os.WriteFile(filepath.Join(f.dir, payloadsDir, payloadTmp+"123"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.v.Housekeep(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedPayloads(f); len(got) != 1 || got[0] != n.ID {
		t.Fatalf("after Housekeep: %v, want only %s", got, n.ID)
	}
}

// A body that fails part way writes nothing and leaves no file.
func TestLargeNoteFailedReadWritesNothing(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	r := io.MultiReader(bytes.NewReader(bigBody(100<<10, "MARK-f")), iotestErr{})
	_, err := f.v.AddNoteFrom(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Session}, r, f.alice)
	if err == nil || !strings.Contains(err.Error(), "reading the note body") {
		t.Fatalf("AddNoteFrom with a failing body: %v", err)
	}
	if left := storedPayloads(f); len(left) != 0 {
		t.Fatalf("a failed add left payloads %v", left)
	}
	if notes, _ := f.v.ListNotes(f.ctx, NoteFilter{}); len(notes) != 0 {
		t.Fatalf("a failed add wrote %d notes", len(notes))
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// A grant that ends while a large note is being read in is not written
// around: the note is refused rather than stored without a copy or with
// one the policy no longer allows.
func TestLargeNoteAgreementChangedMeanwhile(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	if _, err := f.v.GiveConsent(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Time{}, f.bob); err != nil {
		t.Fatal(err)
	}
	g, _, err := f.v.AddGrant(f.ctx, f.agreement, "carol", []policy.Kind{policy.Summary}, time.Hour, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	r := io.MultiReader(bytes.NewReader(bigBody(100<<10, "MARK-c")), clockJump{f.clock, g.Expires.Add(time.Minute)})
	_, err = f.v.AddNoteFrom(f.ctx, NewNote{Agreement: f.agreement, Kind: policy.Summary}, r, f.alice)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("AddNoteFrom across a grant's end: %v, want ErrChanged", err)
	}
	if left := storedPayloads(f); len(left) != 0 {
		t.Fatalf("a refused add left payloads %v", left)
	}
}

// clockJump sets the clock when the body ends.
type clockJump struct {
	c  *fakeClock
	to time.Time
}

func (j clockJump) Read([]byte) (int, error) { j.c.Set(j.to); return 0, io.EOF }

// Listing and searching read a large note as a stream: titles and tags
// come back, and a text split across age chunks and read buffers is found.
func TestLargeNoteListedAndSearched(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	body := bigBody(600<<10, "MARK-s")
	// A word with a multi-byte letter straddling a 256 KiB read.
	word := []byte("ZÜRICH-MEETING")
	copy(body[256<<10-7:], word)
	n := f.addFrom(policy.Session, f.alice, "Recorded", body)
	ls, err := f.v.ListReadable(f.ctx, Query{}, f.bob)
	if err != nil || len(ls) != 1 || ls[0].Problem != nil || ls[0].Title != "Recorded" {
		t.Fatalf("ListReadable: %v %v", ls, err)
	}
	for _, q := range []string{"zürich-meeting", "MARK-s-end", "recorded"} {
		ls, err := f.v.SearchNotes(f.ctx, q, Query{}, f.bob)
		if err != nil || len(ls) != 1 || ls[0].Note.ID != n.ID {
			t.Fatalf("SearchNotes %q: %v %v", q, ls, err)
		}
	}
	if ls, err := f.v.SearchNotes(f.ctx, "not-in-it", Query{}, f.bob); err != nil || len(ls) != 0 {
		t.Fatalf("SearchNotes for a missing word: %v %v", ls, err)
	}
	// A forged copy is named as a problem, not listed with its title.
	f.close()
	forgeLarge(t, f, n, []*identity.Identity{f.alice, f.bob})
	f.open()
	ls, err = f.v.ListReadable(f.ctx, Query{}, f.bob)
	if err != nil || len(ls) != 1 || ls[0].Problem == nil || ls[0].Title != "" {
		t.Fatalf("ListReadable of a forged large note: %+v %v", ls[0], err)
	}
}

// A disclosure of a large note copies it as a stream to a payload file of
// its own, which goes when the note goes.
func TestLargeNoteDisclosed(t *testing.T) {
	smallInline(t)
	f := newFixture(t, true)
	body := bigBody(200<<10, "MARK-d")
	n := f.addFrom(policy.Session, f.alice, "disclosed", body)
	f.clock.Advance(time.Second)
	d, err := f.v.Disclose(f.ctx, n.ID, "carol", "risk-of-harm", "why", f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(payloadFile(f, d.ID)); err != nil {
		t.Fatalf("the disclosure's copy has no payload file: %v", err)
	}
	if got, _, err := f.readAll(n.ID, f.carol); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("carol reads the disclosed note: %d bytes, %v", len(got), err)
	}
	if _, err := f.v.DeleteNote(f.ctx, n.ID, f.alice); err != nil {
		t.Fatal(err)
	}
	for _, blob := range []string{n.ID, d.ID} {
		if _, err := os.Stat(payloadFile(f, blob)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s's payload file outlived the note: %v", blob, err)
		}
	}
}

// A note of several segments, altered near its end by one of its readers
// (who knows its nonce and content): the segments before the change are
// released, checked, and not one byte after.
func TestLargeNoteAlteredSegmentStopsThere(t *testing.T) {
	f := newFixture(t, true)
	body := bigBody(segmentSize*5/2, "MARK-seg")
	n := f.addFrom(policy.Session, f.alice, "three segments", body)
	nr, err := f.v.OpenNote(f.ctx, n.ID, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	plain := append(bytes.Clone(nr.head), body...)
	nr.Close()
	plain[len(plain)-10] ^= 1 // in the third segment
	rb, _ := f.bob.Public().AgeRecipient()
	ra, _ := f.alice.Public().AgeRecipient()
	f.close()
	forgeWith(t, f, n, []age.Recipient{ra, rb}, plain)
	f.open()
	got, _, err := f.readAll(n.ID, f.bob)
	var ie *IntegrityError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "segment 2") {
		t.Fatalf("reading the altered note: %v", err)
	}
	if want := 2*segmentSize - len(nr.head); len(got) != want || !bytes.HasPrefix(body, got) {
		t.Fatalf("released %d bytes before the error, want the %d of the two checked segments", len(got), want)
	}
	// The negative control: the same forgery without the change reads.
	plain[len(plain)-10] ^= 1
	f.close()
	forgeWith(t, f, n, []age.Recipient{ra, rb}, plain)
	f.open()
	if got, _, err := f.readAll(n.ID, f.bob); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("a faithful re-encryption: %d bytes, %v", len(got), err)
	}
}

// The canonical bytes of a large note's metadata, pinned like the others
// (TestCanonicalBytes): v2 adds the digest of its segments.
func TestCanonicalBytesLargeNote(t *testing.T) {
	at := time.Date(2026, 11, 23, 18, 0, 0, 5, time.UTC)
	m := &noteMeta{ID: "n-1", Agreement: "a-1", Version: 1, Kind: policy.Session, Author: "alice", Readers: []string{"alice", "bob"},
		Created: at, Expires: time.Time{}, Commit: "cc", Segments: "dd"}
	want := "notevault note v2\n" +
		"\x00\x00\x00\x03n-1" + "\x00\x00\x00\x03a-1" + "\x00\x00\x00\x00\x00\x00\x00\x01" + "\x00\x00\x00\x07session" +
		"\x00\x00\x00\x05alice" + "\x00\x00\x00\x02" + "\x00\x00\x00\x05alice" + "\x00\x00\x00\x03bob" +
		"\x01\x00\x00\x00\x00\x6b\x04\x7f\x20\x00\x00\x00\x05" + "\x00" + "\x00\x00\x00\x02cc" + "\x00\x00\x00\x02dd"
	if got := string(m.signedBytes()); got != want {
		t.Errorf("large note bytes\n got %q\nwant %q", got, want)
	}
	// The segment hashes themselves.
	sum := segmentSum([]byte("nonce"), 1, []byte("abc"))
	h := sha256.Sum256([]byte("notevault segment v1\nnonce\x00\x00\x00\x00\x00\x00\x00\x01abc"))
	if !bytes.Equal(sum, h[:]) {
		t.Errorf("segment hash %x, want %x", sum, h)
	}
	d := sha256.Sum256(append([]byte("notevault segments v1\n\x00\x00\x00\x00\x00\x10\x00\x00"), h[:]...))
	if got := segmentsDigest(h[:]); got != hexString(d[:]) {
		t.Errorf("segments digest %s, want %x", got, d)
	}
}
