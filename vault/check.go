package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/seal"
)

// CheckReport counts what Check verified.
type CheckReport struct {
	Participants, Agreements, Facts, Notes, Copies, Keys int
	AuditRecords                                         uint64
}

// Check verifies the whole store, as restic check does a repository, and
// returns the first problem it finds as an error naming the record:
//
//   - badger's own consistency (every table's checksums);
//   - every participant's key and its proof of possession;
//   - every agreement's chain: links, signatures under pinned keys, and that
//     policy allowed each fact; that the sealed texts it commits to (each
//     version's text, each hold's reason, each disclosure's statement) are
//     the committed ones; and that the chain reaches every fact the
//     audit log recorded for it (a chain cut back is caught even by someone
//     who never pinned it);
//   - every note: its author's signature, its readers and expiry under its
//     terms, its entry in the expiry index, and its sealed copies; and
//     against the log: no note whose destruction it records is back, every
//     note it saw written is in the store or has a receipt, and no receipt
//     destroys a note before its expiry (unless a person deleted it) or
//     while a hold kept it;
//   - every sealed copy: a live shred key that opens it, its membership,
//     and something it belongs to (a note or a copy the note lists, an
//     agreement's text, a hold's reason); no copy the chain accounts for
//     missing from its note's list;
//     every shred key: something it seals (no orphans);
//   - the audit log: the chain, every signature, and the signed checkpoint.
//
// It changes nothing.
func (v *Vault) Check(ctx context.Context) (*CheckReport, error) {
	r := &CheckReport{}
	if v.db != nil {
		if err := v.db.VerifyChecksum(); err != nil {
			return r, integrity("the store's tables", "%v", err)
		}
	}
	logFacts, logKeys, hist, n, err := v.checkAudit(ctx)
	r.AuditRecords = n
	if err != nil {
		return r, err
	}
	err = v.view(func(txn kv.Txn) error {
		parts, err := v.participantsIn(txn, true)
		if err != nil {
			return err
		}
		r.Participants = len(parts)
		for _, p := range parts {
			// A registration is the administrator's, unsigned; the log
			// recorded the fingerprint it registered.
			if want, ok := logKeys[p.Name]; !ok || want != p.Fingerprint() {
				return integrity("participant "+p.Name, "the stored key (%s) is not the one the audit log recorded at registration (%s)", p.Fingerprint(), want)
			}
		}
		agreements := map[string]*Agreement{}
		all, err := v.agreementsIn(txn)
		if err != nil {
			return err
		}
		for _, a := range all {
			id := a.ID
			agreements[id] = a
			r.Facts += int(a.head.Seq)
			if err := checkAgainstLog(a, logFacts[id]); err != nil {
				return err
			}
			delete(logFacts, id)
		}
		r.Agreements = len(all)
		for id := range logFacts {
			return integrity("agreement "+id, "the audit log records its facts, but the agreement is gone")
		}
		// Every sealed blob belongs to something: an agreement's text, a
		// hold's reason, a note or one of its copies.
		owned := map[string]bool{}
		for _, a := range agreements {
			for _, ver := range a.Versions {
				owned[textBlob(a.ID, ver.Version)] = true
			}
			for _, h := range a.holds {
				owned[reasonBlob(h.ID)] = true
			}
			if a.closure != nil && a.closure.reasonHash != "" {
				owned[closeReasonBlob(a.ID)] = true
			}
			for _, at := range a.practice.attestations {
				owned[attestBlob(at.ID)] = true
			}
		}
		if err := v.checkNotes(txn, agreements, hist, owned, r); err != nil {
			return err
		}
		if err := v.checkBlobs(txn, owned, r); err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(agreements)) {
			if err := v.checkCommitted(txn, agreements[id]); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// noteHistory is what the audit log says of notes: each note's author's
// signed record of writing it, and each receipt of a destruction.
type noteHistory struct {
	added     map[string]*audit.Record // note id -> note.add, signed by its author
	destroyed map[string]*audit.Record // note id -> note.destroy
}

// checkAudit verifies the log and returns, per agreement, the fact places
// and hashes its records carry ("seq:hash"), the key fingerprint each
// participant was registered with, and the notes' history.
func (v *Vault) checkAudit(ctx context.Context) (facts map[string][]string, keys map[string]string, hist *noteHistory, n uint64, err error) {
	n, err = v.VerifyAudit(ctx)
	if err != nil {
		return nil, nil, nil, n, err
	}
	recs, err := v.AuditLog(ctx, "")
	if err != nil {
		return nil, nil, nil, n, err
	}
	facts, keys = map[string][]string{}, map[string]string{}
	hist = &noteHistory{added: map[string]*audit.Record{}, destroyed: map[string]*audit.Record{}}
	for _, rec := range recs {
		if f := rec.Detail["fact"]; f != "" {
			facts[rec.Agreement] = append(facts[rec.Agreement], f)
		}
		switch rec.Action {
		case "participant.add":
			// A name is registered once (AddParticipant refuses a second):
			// a later record, which anyone can append unsigned, is forged.
			if _, dup := keys[rec.Subject]; dup {
				return nil, nil, nil, n, integrity("participant "+rec.Subject, "the audit log records a second registration (record %d)", rec.Seq)
			}
			keys[rec.Subject] = rec.Detail["key"]
		case "participant.rotate", "participant.replace":
			// A key change the log recorded, signed by the old key or by
			// the party who vouched (verifyAudit checked the signature).
			if who := rec.Detail["participant"]; rec.Action == "participant.replace" && who != "" && rec.Detail["from"] != "" {
				keys[who] = rec.Detail["to"]
			} else if rec.Action == "participant.rotate" && rec.Actor == rec.Subject && rec.Detail["from"] != "" {
				keys[rec.Subject] = rec.Detail["to"]
			}
		case "participant.remove":
			// A participant deleted (a party of no agreement) frees the
			// name for a new registration; one kept on record does not.
			// The agreements' pins, which no log record moves, stay the
			// defence of every party's key.
			if rec.Detail["kept"] == "" {
				delete(keys, rec.Subject)
			}
		case "note.add":
			// Only the author's signed record counts: a system actor's
			// record carries no signature, and anyone can append one.
			if rec.Actor != ActorVault && rec.Actor != ActorRetention {
				hist.added[rec.Subject] = rec
			}
		case "note.destroy":
			if _, dup := hist.destroyed[rec.Subject]; !dup {
				hist.destroyed[rec.Subject] = rec
			}
		}
	}
	return facts, keys, hist, n, nil
}

// checkNoteHistory checks the notes in the store against the log: a note
// whose destruction the log records was written back (with a copy of its
// shred key taken before), a note the log never saw written was slipped in,
// and a note the log saw written is either in the store or destroyed with a
// receipt, not before its expiry unless a person deleted it, and never while
// a hold kept it.
func checkNoteHistory(live map[string]bool, agreements map[string]*Agreement, hist *noteHistory) error {
	for id := range live {
		if r := hist.destroyed[id]; r != nil {
			return integrity("note "+id, "the audit log records its destruction (record %d, %s) but it is back in the store", r.Seq, r.Rule)
		}
		if hist.added[id] == nil {
			return integrity("note "+id, "the audit log never recorded its author writing it")
		}
	}
	ids := slices.Sorted(maps.Keys(hist.added))
	for _, id := range ids {
		add := hist.added[id]
		if live[id] {
			continue
		}
		r := hist.destroyed[id]
		if r == nil {
			return integrity("note "+id, "it is gone from the store, and the audit log holds no receipt of its destruction")
		}
		if r.Actor == ActorRetention {
			expires, err := time.Parse(time.RFC3339, add.Detail["expires"])
			// A close anchors the expiry: close + after_close, if earlier.
			if a := agreements[add.Agreement]; err == nil && a != nil && a.closure != nil {
				expires, _ = policy.AnchoredExpiry(expires, policy.Terms{Closed: a.closure.At, AfterClose: a.closure.AfterClose})
			}
			if err == nil && r.Time.Before(expires) {
				return integrity("note "+id, "the sweep's receipt (record %d) destroys it at %s, before its expiry %s", r.Seq, policy.FormatTime(r.Time), policy.FormatTime(expires))
			}
		}
		if a := agreements[add.Agreement]; a != nil {
			for _, h := range a.holds {
				if (h.Note == "" || h.Note == id) && !h.At.After(r.Time) && (h.Active() || h.ReleasedAt.After(r.Time)) {
					return integrity("note "+id, "it was destroyed (record %d) while hold %s kept it", r.Seq, h.ID)
				}
			}
		}
	}
	return nil
}

// checkCommitted checks the sealed files an agreement's chain commits to
// by hash: every version's text and every hold's reason, which live as long
// as the agreement, and the statement of every disclosure whose note is
// still there.
func (v *Vault) checkCommitted(txn kv.Txn, a *Agreement) error {
	sumOf := func(blob string) (string, bool, error) {
		b, err := v.getBlob(txn, blob)
		if errors.Is(err, ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]), true, nil
	}
	for _, ver := range a.Versions {
		what := fmt.Sprintf("agreement %s version %d", a.ID, ver.Version)
		got, ok, err := sumOf(textBlob(a.ID, ver.Version))
		switch {
		case err != nil:
			return integrity(what, "its text cannot be read (%v)", err)
		case !ok:
			return integrity(what, "its text is missing")
		case got != ver.textHash:
			return integrity(what, "its text is not the one its parties saw")
		}
	}
	for _, h := range a.holds {
		got, ok, err := sumOf(reasonBlob(h.ID))
		switch {
		case err != nil:
			return integrity("hold "+h.ID, "its reason cannot be read (%v)", err)
		case !ok:
			return integrity("hold "+h.ID, "its reason is missing")
		case got != h.reasonHash:
			return integrity("hold "+h.ID, "its reason is not the one %s gave", h.PlacedBy)
		}
	}
	if c := a.closure; c != nil && c.reasonHash != "" {
		got, ok, err := sumOf(closeReasonBlob(a.ID))
		switch {
		case err != nil:
			return integrity("agreement "+a.ID, "the reason it was closed with cannot be read (%v)", err)
		case !ok:
			return integrity("agreement "+a.ID, "the reason it was closed with is missing")
		case got != c.reasonHash:
			return integrity("agreement "+a.ID, "the reason it was closed with is not the one %s gave", c.By)
		}
	}
	for _, at := range a.practice.attestations {
		got, ok, err := sumOf(attestBlob(at.ID))
		switch {
		case err != nil:
			return integrity("attestation "+at.ID, "its statement cannot be read (%v)", err)
		case !ok:
			return integrity("attestation "+at.ID, "its statement is missing")
		case got != at.sealedHash:
			return integrity("attestation "+at.ID, "its statement is not the one %s signed", at.ProposedBy)
		}
	}
	for _, d := range a.disclosures {
		want := a.statements[d.ID]
		if want == "" {
			continue // made before statements were committed to
		}
		got, ok, err := sumOf(statementBlob(d.ID))
		switch {
		case err != nil:
			return integrity("disclosure "+d.ID, "its statement cannot be read (%v)", err)
		case ok && got != want:
			return integrity("disclosure "+d.ID, "its statement is not the one %s made", d.By)
		}
	}
	return nil
}

// checkAgainstLog checks that an agreement's chain holds every fact the log
// recorded for it, at the place and with the hash recorded.
func checkAgainstLog(a *Agreement, logged []string) error {
	for _, s := range logged {
		h, ok := parseHead(s)
		if !ok {
			return integrity("agreement "+a.ID, "the audit log records a malformed fact %q", s)
		}
		if h.Seq > a.head.Seq {
			return &RollbackError{What: "agreement " + a.ID, Msg: fmt.Sprintf("its chain ends at fact %d, but the audit log records fact %d", a.head.Seq, h.Seq)}
		}
		if a.hashes[h.Seq-1] != h.Hash {
			return integrity(fmt.Sprintf("agreement %s fact %d", a.ID, h.Seq), "it is not the fact the audit log recorded")
		}
	}
	if len(logged) != int(a.head.Seq) {
		return integrity("agreement "+a.ID, "its chain has %d facts but the audit log records %d", a.head.Seq, len(logged))
	}
	return nil
}

func (v *Vault) checkNotes(txn kv.Txn, agreements map[string]*Agreement, hist *noteHistory, owned map[string]bool, r *CheckReport) error {
	// Each author's key is parsed and its proof checked once, not per note.
	known := map[string]*Participant{}
	parts := func(name string) (*Participant, error) {
		if p, ok := known[name]; ok {
			return p, nil
		}
		p, err := v.participant(txn, name)
		if err == nil {
			known[name] = p
		}
		return p, err
	}
	indexed := map[string]int64{}
	if err := scanKeys(txn, pExpiry, func(k string) error {
		unix, id, ok := parseExpiryKey(k)
		if !ok {
			return integrity("expiry index entry "+strconv.Quote(k), "it does not parse")
		}
		if _, dup := indexed[id]; dup {
			return integrity("note "+id, "it has two entries in the expiry index")
		}
		indexed[id] = unix
		return nil
	}); err != nil {
		return err
	}
	var notes []*Note
	if err := scan(txn, pNote, func(k string, rec *noteRec) error {
		if rec.Meta.ID != strings.TrimPrefix(k, pNote) {
			return integrity("note "+strings.TrimPrefix(k, pNote), "its record is stored under another note's id")
		}
		notes = append(notes, rec.note())
		return nil
	}); err != nil {
		return err
	}
	for _, n := range notes {
		a, ok := agreements[n.Agreement]
		if !ok {
			return integrity("note "+n.ID, "its agreement %s does not exist", n.Agreement)
		}
		if err := verifyNoteBy(a, n, parts); err != nil {
			return err
		}
		unix, ok := indexed[n.ID]
		switch {
		case !ok:
			return integrity("note "+n.ID, "it is missing from the expiry index, so it would never be swept")
		case unix != n.Expires.Unix():
			return integrity("note "+n.ID, "its expiry index entry (%d) is not its expiry (%d)", unix, n.Expires.Unix())
		}
		delete(indexed, n.ID)
		for _, blob := range append([]string{n.ID}, n.Copies...) {
			var b blobRec
			if err := get(txn, pBlob+blob, &b); err != nil {
				return integrity("note "+n.ID, "its copy %s is missing", blob)
			}
			if blob == n.ID && b.Bucket != n.Bucket {
				return integrity("note "+n.ID, "it names bucket %s but its copy is in %s", n.Bucket, b.Bucket)
			}
			owned[blob] = true
		}
		// A copy the chain accounts for that its list leaves out would
		// outlive the note: the sweep destroys the chain's copies, but the
		// list is what the vault shows.
		for _, c := range a.copiesOf(n.ID) {
			if owned[c] {
				continue
			}
			if _, err := txn.Get([]byte(pBlob + c)); err == nil {
				return integrity("note "+n.ID, "its copy %s is missing from its list of copies", c)
			} else if !isNotFound(err) {
				return err
			}
		}
		r.Notes++
	}
	for id := range indexed {
		return integrity("expiry index entry for "+id, "no such note")
	}
	live := make(map[string]bool, len(notes))
	for _, n := range notes {
		live[n.ID] = true
	}
	return checkNoteHistory(live, agreements, hist)
}

func (v *Vault) checkBlobs(txn kv.Txn, owned map[string]bool, r *CheckReport) error {
	members := map[string]string{} // blob -> bucket, from m/
	if err := scanKeys(txn, pMember, func(k string) error {
		bucket, blob, ok := strings.Cut(strings.TrimPrefix(k, pMember), "/")
		if !ok {
			return integrity("membership entry "+strconv.Quote(k), "it does not parse")
		}
		members[blob] = bucket
		return nil
	}); err != nil {
		return err
	}
	used := map[string]bool{}
	payloads := map[string]bool{} // large copies with their payload file
	if err := scan(txn, pBlob, func(k string, b *blobRec) error {
		blob := strings.TrimPrefix(k, pBlob)
		what := "sealed copy " + blob
		if !owned[blob] {
			return integrity(what, "no note, copy, agreement text or hold reason is it")
		}
		if members[blob] != b.Bucket {
			return integrity(what, "its bucket %s does not list it", b.Bucket)
		}
		delete(members, blob)
		key, err := v.keys.Key(txn, b.Bucket, false)
		if err != nil {
			return integrity(what, "the shred key of its bucket %s is gone (%v)", b.Bucket, err)
		}
		if _, err := seal.Open(key, seal.AD(blob, b.Bucket), b.Sealed); err != nil {
			return integrity(what, "its shred key does not open it")
		}
		if b.Payload {
			// A large copy's chunks are authenticated under its file key,
			// which only its readers can unwrap: here, that it is there.
			f, err := v.openPayload(blob)
			if err != nil {
				return err
			}
			size := f.Size()
			f.Close()
			if size <= payloadNonceSize {
				return integrity(what, "its payload file is empty or cut short")
			}
			payloads[blob] = true
		}
		used[b.Bucket] = true
		r.Copies++
		return nil
	}); err != nil {
		return err
	}
	for blob, bucket := range members {
		return integrity("bucket "+bucket, "it lists copy %s, which does not exist", blob)
	}
	files, err := v.payloadNames()
	if err != nil {
		return err
	}
	for name := range files {
		if !payloads[name] {
			return integrity("payload file "+name, "no large copy is it (an orphan: housekeeping removes it)")
		}
	}
	buckets, err := v.keys.Buckets()
	if err != nil {
		return err
	}
	sort.Strings(buckets)
	for _, b := range buckets {
		var head bucketHead
		live := get(txn, pBucketHead+baseOf(b), &head) == nil && head.Name == b
		if !used[b] && !live {
			return integrity("shred key "+b, "it seals nothing (an orphan: the next sweep destroys it)")
		}
		r.Keys++
	}
	return nil
}
