package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

var (
	aliceKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	bobKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	baseTime = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
)

var signers = map[string]ed25519.PrivateKey{"alice": aliceKey, "bob": bobKey}

func keys(actor string) (ed25519.PublicKey, bool) {
	k, ok := signers[actor]
	if !ok {
		return nil, false
	}
	return k.Public().(ed25519.PublicKey), true
}

var systemActors = []string{"retention", "vault"}

// actorFor gives record seq's actor: every third record is a system actor,
// the others alternate between the two participants.
func actorFor(seq uint64) string {
	switch {
	case seq%6 == 0:
		return "vault"
	case seq%3 == 0:
		return "retention"
	case seq%2 == 0:
		return "bob"
	default:
		return "alice"
	}
}

// seal links r after prev and signs it if its actor is a participant.
func seal(r, prev *Record) {
	r.Link(prev)
	r.Sig = nil
	if k, ok := signers[r.Actor]; ok {
		r.SignWith(Ed25519Signer(k))
	}
}

func newRecord(seq uint64) *Record {
	r := &Record{
		Time:      baseTime.Add(time.Duration(seq) * time.Minute),
		Actor:     actorFor(seq),
		Action:    []string{"note.add", "note.read", "consent.give", "retention.destroy"}[seq%4],
		Agreement: "agr-1",
		Subject:   fmt.Sprintf("note-%03d", seq),
		Kind:      "session",
		Rule:      "default-readers",
	}
	if seq%2 == 1 {
		r.Detail = map[string]string{"bucket": fmt.Sprintf("b%d", seq/10), "reader": "bob"}
	}
	return r
}

// chain builds a valid log of n records.
func chain(n int) []*Record {
	var out []*Record
	var prev *Record
	for i := 1; i <= n; i++ {
		r := newRecord(uint64(i))
		seal(r, prev)
		out = append(out, r)
		prev = r
	}
	return out
}

func clone(rs []*Record) []*Record {
	out := make([]*Record, len(rs))
	for i, r := range rs {
		c := *r
		c.Sig = append([]byte(nil), r.Sig...)
		if r.Detail != nil {
			c.Detail = make(map[string]string, len(r.Detail))
			for k, v := range r.Detail {
				c.Detail[k] = v
			}
		}
		out[i] = &c
	}
	return out
}

// verify streams rs through a fresh Verifier with the given checkpoints.
func verify(t *testing.T, rs []*Record, cps ...Checkpoint) error {
	t.Helper()
	v := NewVerifier(keys, systemActors...)
	for _, cp := range cps {
		if err := v.Expect(cp); err != nil {
			return err
		}
	}
	for _, r := range rs {
		if err := v.Add(r); err != nil {
			return err
		}
	}
	return v.Finish()
}

func wantFail(t *testing.T, err error, seq uint64, reason string) {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v, want *VerifyError for record %d", err, seq)
	}
	if ve.Seq != seq {
		t.Fatalf("failure names record %d, want %d: %v", ve.Seq, seq, err)
	}
	if !strings.Contains(ve.Reason, reason) {
		t.Fatalf("reason %q does not contain %q", ve.Reason, reason)
	}
}

func TestChainVerifies(t *testing.T) {
	rs := chain(50)
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Actor] = true
	}
	for _, a := range []string{"alice", "bob", "retention", "vault"} {
		if !seen[a] {
			t.Fatalf("test chain has no record by %s", a)
		}
	}
	v := NewVerifier(keys, systemActors...)
	if err := v.Expect(Checkpoint{Size: 50, Head: rs[49].Hash()}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := v.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Finish(); err != nil {
		t.Fatal(err)
	}
	if v.Size() != 50 || v.Head() != rs[49].Hash() {
		t.Fatalf("size %d head %x, want 50 %x", v.Size(), v.Head(), rs[49].Hash())
	}
	if cp := v.Checkpoint(); cp.Size != 50 || cp.Head != rs[49].Hash() {
		t.Fatalf("checkpoint %+v", cp)
	}
}

func TestTamperDetected(t *testing.T) {
	const k = 20 // a participant's record
	if _, ok := signers[actorFor(k)]; !ok {
		t.Fatalf("record %d should be by a participant", k)
	}
	const sys = 21 // a system record
	if _, ok := signers[actorFor(sys)]; ok {
		t.Fatalf("record %d should be by a system actor", sys)
	}

	edits := []struct {
		name   string
		edit   func(r *Record)
		reason string
	}{
		{"actor", func(r *Record) { r.Actor = "alice" }, "signature of \"alice\" does not verify"},
		{"actor unknown", func(r *Record) { r.Actor = "mallory" }, "unknown actor"},
		{"actor system", func(r *Record) { r.Actor = "vault" }, "carries a signature"},
		{"action", func(r *Record) { r.Action = "note.delete" }, "does not verify"},
		{"time later", func(r *Record) { r.Time = r.Time.Add(time.Second) }, "does not verify"},
		{"time earlier than previous", func(r *Record) { r.Time = baseTime }, "is before record 19"},
		{"time nanosecond", func(r *Record) { r.Time = r.Time.Add(time.Nanosecond) }, "does not verify"},
		{"detail value", func(r *Record) { r.Detail = map[string]string{"x": "y"} }, "does not verify"},
		{"subject", func(r *Record) { r.Subject = "note-999" }, "does not verify"},
		{"agreement", func(r *Record) { r.Agreement = "agr-2" }, "does not verify"},
		{"kind", func(r *Record) { r.Kind = "reflection" }, "does not verify"},
		{"rule", func(r *Record) { r.Rule = "grant" }, "does not verify"},
		{"prev", func(r *Record) { r.Prev = strings.Repeat("0", 64) }, "prev hash does not match record 19"},
		{"seq", func(r *Record) { r.Seq = 21 }, "expected record 20 but found record 21"},
		{"sig bit", func(r *Record) { r.Sig[5] ^= 1 }, "does not verify"},
		{"sig removed", func(r *Record) { r.Sig = nil }, "is not signed"},
		{"sig truncated", func(r *Record) { r.Sig = r.Sig[:32] }, "does not verify"},
	}
	for _, e := range edits {
		t.Run("edit "+e.name, func(t *testing.T) {
			rs := clone(chain(50))
			e.edit(rs[k-1])
			wantFail(t, verify(t, rs), k, e.reason)
		})
	}

	t.Run("edit detail of odd record", func(t *testing.T) {
		rs := clone(chain(50))
		r := rs[18] // record 19, by alice, has Detail
		if r.Detail == nil || r.Actor != "alice" {
			t.Fatal("record 19 should be alice's with detail")
		}
		r.Detail["reader"] = "mallory"
		wantFail(t, verify(t, rs), 19, "does not verify")
	})

	t.Run("edit system record", func(t *testing.T) {
		rs := clone(chain(50))
		rs[sys-1].Subject = "note-999"
		// Nothing in a system record is signed: the next record's link fails.
		wantFail(t, verify(t, rs), sys+1, fmt.Sprintf("prev hash does not match record %d", sys))
	})

	t.Run("signature added to system record", func(t *testing.T) {
		rs := clone(chain(50))
		rs[sys-1].SignWith(Ed25519Signer(aliceKey))
		wantFail(t, verify(t, rs), sys, "carries a signature")
	})

	t.Run("edit re-signed with wrong key", func(t *testing.T) {
		rs := clone(chain(50))
		r := rs[k-1] // bob's
		r.Action = "note.delete"
		r.SignWith(Ed25519Signer(aliceKey))
		wantFail(t, verify(t, rs), k, "signature of \"bob\" does not verify")
	})

	t.Run("edit re-signed with actor's own key", func(t *testing.T) {
		// An insider with bob's key re-signs the edited record: it verifies
		// on its own, but the next record's link does not.
		rs := clone(chain(50))
		r := rs[k-1]
		r.Action = "note.delete"
		r.SignWith(Ed25519Signer(bobKey))
		wantFail(t, verify(t, rs), k+1, "prev hash does not match record 20")
	})

	t.Run("delete record", func(t *testing.T) {
		rs := chain(50)
		rs = append(rs[:k-1:k-1], rs[k:]...)
		wantFail(t, verify(t, rs), k, "expected record 20 but found record 21")
	})

	t.Run("delete first record", func(t *testing.T) {
		wantFail(t, verify(t, chain(50)[1:]), 1, "expected record 1 but found record 2")
	})

	t.Run("delete and renumber", func(t *testing.T) {
		rs := clone(chain(50))
		rs = append(rs[:k-1:k-1], rs[k:]...)
		for _, r := range rs[k-1:] {
			r.Seq--
		}
		// Record 21 (a system record) now claims to be 20 but links to the
		// deleted record.
		wantFail(t, verify(t, rs), k, "prev hash does not match record 19")
	})

	t.Run("swap two records", func(t *testing.T) {
		rs := chain(50)
		rs[k-1], rs[k] = rs[k], rs[k-1]
		wantFail(t, verify(t, rs), k, "expected record 20 but found record 21")
	})

	t.Run("swap two records and their numbers", func(t *testing.T) {
		rs := clone(chain(50))
		rs[k-1], rs[k] = rs[k], rs[k-1]
		rs[k-1].Seq, rs[k].Seq = k, k+1
		wantFail(t, verify(t, rs), k, "prev hash does not match record 19")
	})

	t.Run("insert duplicate", func(t *testing.T) {
		rs := chain(50)
		rs = append(rs[:k:k], rs[k-1:]...) // record 20 twice
		wantFail(t, verify(t, rs), k+1, "expected record 21 but found record 20")
	})

	t.Run("insert forged record", func(t *testing.T) {
		// A well-formed system record linked after record 19, the rest
		// renumbered: the forged record itself cannot be told apart, the
		// first genuine record after it is.
		rs := clone(chain(50))
		forged := &Record{Time: rs[k-2].Time, Actor: "vault", Action: "note.read", Subject: "note-001"}
		forged.Link(rs[k-2])
		rs = append(rs[:k-1:k-1], append([]*Record{forged}, rs[k-1:]...)...)
		for _, r := range rs[k:] {
			r.Seq++
		}
		wantFail(t, verify(t, rs), k+1, "prev hash does not match record 20")
	})

	t.Run("insert forged system record before system record", func(t *testing.T) {
		rs := clone(chain(50))
		forged := &Record{Time: rs[sys-2].Time, Actor: "vault", Action: "note.read"}
		forged.Link(rs[sys-2])
		rs = append(rs[:sys-1:sys-1], append([]*Record{forged}, rs[sys-1:]...)...)
		for _, r := range rs[sys:] {
			r.Seq++
		}
		wantFail(t, verify(t, rs), sys+1, fmt.Sprintf("prev hash does not match record %d", sys))
	})

	t.Run("first record with prev", func(t *testing.T) {
		rs := clone(chain(3))
		rs[0].Prev = "00"
		rs[0].SignWith(Ed25519Signer(aliceKey))
		wantFail(t, verify(t, rs), 1, "first record has a prev hash")
	})

	t.Run("nil record", func(t *testing.T) {
		rs := chain(50)
		rs[k-1] = nil
		wantFail(t, verify(t, rs), k, "missing")
	})

	t.Run("failure is sticky", func(t *testing.T) {
		rs := clone(chain(50))
		rs[k-1].Action = "x"
		v := NewVerifier(keys, systemActors...)
		var first error
		for _, r := range rs {
			if err := v.Add(r); err != nil && first == nil {
				first = err
			}
		}
		wantFail(t, first, k, "does not verify")
		if err := v.Finish(); err != first {
			t.Fatalf("Finish = %v, want %v", err, first)
		}
		if v.Size() != k-1 || v.Head() != rs[k-2].Hash() {
			t.Fatalf("verifier moved past the failure: size %d", v.Size())
		}
	})
}

func TestCheckpoint(t *testing.T) {
	rs := chain(50)
	cp := Checkpoint{Size: 50, Head: rs[49].Hash()}

	t.Run("truncated", func(t *testing.T) {
		err := verify(t, rs[:45], cp)
		wantFail(t, err, 46, "audit log ends at record 45 but the checkpoint covers 50 records (records were cut off)")
		want := "audit record 46: audit log ends at record 45 but the checkpoint covers 50 records (records were cut off)"
		if err.Error() != want {
			t.Fatalf("got %q\nwant %q", err, want)
		}
	})

	t.Run("truncated undetected without checkpoint", func(t *testing.T) {
		// The negative control: a plain chain cannot see truncation.
		if err := verify(t, rs[:45]); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("emptied", func(t *testing.T) {
		wantFail(t, verify(t, nil, cp), 1, "ends at record 0")
	})

	t.Run("longer than checkpoint", func(t *testing.T) {
		if err := verify(t, rs, Checkpoint{Size: 30, Head: rs[29].Hash()}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("several checkpoints", func(t *testing.T) {
		if err := verify(t, rs, Checkpoint{Size: 10, Head: rs[9].Hash()}, cp); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("rewritten tail", func(t *testing.T) {
		// An insider holding every participant key, but not the checkpoint
		// key, edits record 45 and rebuilds the chain after it.
		forged := clone(rs)
		forged[44].Subject = "note-999"
		for i := 44; i < 50; i++ {
			seal(forged[i], forged[i-1])
		}
		if err := verify(t, forged); err != nil {
			t.Fatalf("rebuilt chain should verify on its own: %v", err)
		}
		wantFail(t, verify(t, forged, cp), 50, "head hash does not match the signed checkpoint for 50 records")
	})

	t.Run("expect after passing size", func(t *testing.T) {
		v := NewVerifier(keys, systemActors...)
		for _, r := range rs[:5] {
			if err := v.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := v.Expect(Checkpoint{Size: 3, Head: rs[2].Hash()}); err == nil {
			t.Fatal("late checkpoint accepted")
		}
		if err := v.Expect(Checkpoint{Size: 5, Head: rs[2].Hash()}); err == nil {
			t.Fatal("wrong checkpoint for the current size accepted")
		}
	})

	t.Run("empty log", func(t *testing.T) {
		if err := verify(t, nil, Checkpoint{}); err != nil {
			t.Fatal(err)
		}
		wantFail(t, verify(t, nil, Checkpoint{Head: [32]byte{1}}), 0, "non-zero head")
	})
}

func TestCheckpointNote(t *testing.T) {
	skey, vkey, err := NewCheckpointKey("notevault-audit")
	if err != nil {
		t.Fatal(err)
	}
	head := chain(9)[8].Hash()
	msg, err := SignCheckpoint(skey, 9, head)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte("notevault audit checkpoint v1\n9\n")) {
		t.Fatalf("unexpected note text:\n%s", msg)
	}

	t.Run("round trip", func(t *testing.T) {
		size, h, err := OpenCheckpoint(msg, vkey)
		if err != nil {
			t.Fatal(err)
		}
		if size != 9 || h != head {
			t.Fatalf("got %d %x, want 9 %x", size, h, head)
		}
		m2, err := Checkpoint{Size: 9, Head: head}.Sign(skey)
		if err != nil || !bytes.Equal(m2, msg) {
			t.Fatalf("Checkpoint.Sign differs: %v", err)
		}
	})

	t.Run("wrong verifier key same name", func(t *testing.T) {
		_, other, err := NewCheckpointKey("notevault-audit")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := OpenCheckpoint(msg, other); err == nil {
			t.Fatal("opened with another key")
		}
	})

	t.Run("wrong verifier key other name", func(t *testing.T) {
		_, other, err := NewCheckpointKey("someone-else")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := OpenCheckpoint(msg, other); err == nil {
			t.Fatal("opened with another key")
		}
	})

	t.Run("bad verifier key", func(t *testing.T) {
		if _, _, err := OpenCheckpoint(msg, "not a key"); err == nil {
			t.Fatal("accepted a malformed verifier key")
		}
	})

	t.Run("edited size", func(t *testing.T) {
		bad := bytes.Replace(msg, []byte("\n9\n"), []byte("\n5\n"), 1)
		if bytes.Equal(bad, msg) {
			t.Fatal("edit did nothing")
		}
		if _, _, err := OpenCheckpoint(bad, vkey); err == nil {
			t.Fatal("edited checkpoint opened")
		}
	})

	t.Run("edited head", func(t *testing.T) {
		bad := append([]byte(nil), msg...)
		i := len("notevault audit checkpoint v1\n9\n")
		if bad[i] == 'A' {
			bad[i] = 'B'
		} else {
			bad[i] = 'A'
		}
		if _, _, err := OpenCheckpoint(bad, vkey); err == nil {
			t.Fatal("edited checkpoint opened")
		}
	})

	t.Run("signed but malformed text", func(t *testing.T) {
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{
			"notevault audit checkpoint v2\n9\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
			"notevault audit checkpoint v1\n09\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
			"notevault audit checkpoint v1\n9\n" + "AAAA\n",
			"notevault audit checkpoint v1\n9\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextra\n",
		} {
			m, err := note.Sign(&note.Note{Text: text}, s)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := OpenCheckpoint(m, vkey); err == nil {
				t.Fatalf("accepted %q", text)
			}
		}
	})
}

func TestEncodeDecode(t *testing.T) {
	for _, r := range chain(50) {
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != 1 {
			t.Fatalf("schema byte %d", b[0])
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
		if got.Hash() != r.Hash() {
			t.Fatal("hash changed in round trip")
		}
	}

	t.Run("zone normalised to UTC", func(t *testing.T) {
		r := chain(1)[0]
		local := *r
		local.Time = r.Time.In(time.FixedZone("CEST", 2*3600))
		if local.Hash() != r.Hash() {
			t.Fatal("hash depends on the time zone")
		}
		b, err := Encode(&local)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"time":"2025-03-01T09:01:00Z"`)) {
			t.Fatalf("time not stored in UTC: %s", b)
		}
	})

	good, err := Encode(chain(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":            nil,
		"schema 0":         append([]byte{0}, good[1:]...),
		"schema 2":         append([]byte{2}, good[1:]...),
		"no schema byte":   good[1:],
		"trailing garbage": append(append([]byte(nil), good...), "x"...),
		"trailing space":   append(append([]byte(nil), good...), ' '),
		"second object":    append(append([]byte(nil), good...), "{}"...),
		"unknown field":    append([]byte{1}, `{"seq":1,"time":"2025-03-01T09:01:00Z","actor":"vault","action":"a","prev":"","extra":1}`...),
		"no seq":           append([]byte{1}, `{"time":"2025-03-01T09:01:00Z","actor":"vault","action":"a","prev":""}`...),
		"null":             append([]byte{1}, `null`...),
		"truncated json":   good[:len(good)-1],
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if r, err := Decode(b); err == nil {
				t.Fatalf("decoded %+v", r)
			}
		})
	}

	t.Run("encode unlinked", func(t *testing.T) {
		if _, err := Encode(&Record{Actor: "vault"}); err == nil {
			t.Fatal("encoded a record without a sequence number")
		}
		if _, err := Encode(nil); err == nil {
			t.Fatal("encoded nil")
		}
	})
}

// fixedRecord is the known-answer record: changing the canonical encoding
// or the hash construction changes its hash and fails the test.
func fixedRecord() *Record {
	return &Record{
		Seq:       7,
		Time:      time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Actor:     "alice",
		Action:    "consent.give",
		Agreement: "agr-1",
		Subject:   "cons-42",
		Kind:      "session",
		Rule:      "consent",
		Detail:    map[string]string{"grantee": "bob", "kinds": "session,goal", "period": "P30D", "a": "", "z": "last"},
		Prev:      strings.Repeat("ab", 32),
		Sig:       []byte{1, 2, 3},
	}
}

const fixedRecordHash = "71fa61292bd4e74997936791769259e5ee1c5b006ff99a5bc4cefc67915e817b"

func TestKnownAnswer(t *testing.T) {
	r := fixedRecord()
	h := r.Hash()
	if got := hex.EncodeToString(h[:]); got != fixedRecordHash {
		t.Fatalf("hash of the fixed record = %s, want %s", got, fixedRecordHash)
	}
	if !bytes.HasPrefix(r.SignedBytes(), []byte("notevault audit v1\n")) {
		t.Fatal("SignedBytes lacks the domain prefix")
	}
}

func TestSignedBytesDeterministic(t *testing.T) {
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
	}
	want := fixedRecord()
	want.Detail = map[string]string{}
	for _, k := range keys {
		want.Detail[k] = "v" + k
	}
	wantBytes := want.SignedBytes()
	for i := 0; i < 100; i++ {
		r := fixedRecord()
		r.Detail = map[string]string{}
		for j := range keys { // a different insertion order each time
			k := keys[(j*7+i)%len(keys)]
			r.Detail[k] = "v" + k
		}
		if !bytes.Equal(r.SignedBytes(), wantBytes) {
			t.Fatal("SignedBytes depends on map order")
		}
		if !bytes.Equal(r.SignedBytes(), r.SignedBytes()) {
			t.Fatal("SignedBytes not deterministic")
		}
	}

	t.Run("nil and empty detail agree", func(t *testing.T) {
		a, b := fixedRecord(), fixedRecord()
		a.Detail, b.Detail = nil, map[string]string{}
		if !bytes.Equal(a.SignedBytes(), b.SignedBytes()) {
			t.Fatal("nil and empty Detail differ")
		}
	})

	t.Run("sig excluded from SignedBytes, included in Hash", func(t *testing.T) {
		a, b := fixedRecord(), fixedRecord()
		b.Sig = []byte{9}
		if !bytes.Equal(a.SignedBytes(), b.SignedBytes()) {
			t.Fatal("Sig is in SignedBytes")
		}
		if a.Hash() == b.Hash() {
			t.Fatal("Sig is not in Hash")
		}
	})

	t.Run("length prefixed", func(t *testing.T) {
		a, b := fixedRecord(), fixedRecord()
		a.Actor, a.Action = "ab", "c"
		b.Actor, b.Action = "a", "bc"
		if bytes.Equal(a.SignedBytes(), b.SignedBytes()) {
			t.Fatal("field boundaries are ambiguous")
		}
		c, d := fixedRecord(), fixedRecord()
		c.Detail = map[string]string{"ab": "c"}
		d.Detail = map[string]string{"a": "bc"}
		if bytes.Equal(c.SignedBytes(), d.SignedBytes()) {
			t.Fatal("detail boundaries are ambiguous")
		}
	})

	t.Run("every field but Sig is signed", func(t *testing.T) {
		// Guards against a new Record field that SignedBytes forgets.
		base := fixedRecord()
		typ := reflect.TypeOf(*base)
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			r := fixedRecord()
			fv := reflect.ValueOf(r).Elem().Field(i)
			switch fv.Kind() {
			case reflect.String:
				fv.SetString(fv.String() + "x")
			case reflect.Uint64:
				fv.SetUint(fv.Uint() + 1)
			case reflect.Map:
				fv.SetMapIndex(reflect.ValueOf("new"), reflect.ValueOf("x"))
			case reflect.Slice:
				fv.SetBytes(append(fv.Bytes(), 0))
			case reflect.Struct:
				if f.Type != reflect.TypeOf(time.Time{}) {
					t.Fatalf("field %s: unhandled type %s", f.Name, f.Type)
				}
				fv.Set(reflect.ValueOf(r.Time.Add(time.Nanosecond)))
			default:
				t.Fatalf("field %s: unhandled kind %s", f.Name, fv.Kind())
			}
			changed := !bytes.Equal(r.SignedBytes(), base.SignedBytes())
			if f.Name == "Sig" {
				if changed {
					t.Fatal("Sig changes SignedBytes")
				}
				if r.Hash() == base.Hash() {
					t.Fatal("Sig does not change Hash")
				}
				continue
			}
			if !changed {
				t.Fatalf("field %s is not in SignedBytes", f.Name)
			}
		}
	})
}

func TestLink(t *testing.T) {
	var a, b Record
	a.Link(nil)
	if a.Seq != 1 || a.Prev != "" {
		t.Fatalf("first record: %d %q", a.Seq, a.Prev)
	}
	b.Link(&a)
	h := a.Hash()
	if b.Seq != 2 || b.Prev != hex.EncodeToString(h[:]) {
		t.Fatalf("second record: %d %q", b.Seq, b.Prev)
	}
}

func TestVerifierWithoutKeys(t *testing.T) {
	// A nil KeyLookup knows no participants: their records fail as unknown.
	rs := chain(3)
	v := NewVerifier(nil, systemActors...)
	wantFail(t, v.Add(rs[0]), 1, `unknown actor "alice"`)
}
