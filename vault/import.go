package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Bulk import writes many notes of one kind under one agreement, each
// exactly as AddNote writes one (signed by its author, encrypted to the
// readers the terms give, copied under live grants, logged), but in batches:
// one transaction, one preamble (planNote) and one commit per batch, and the
// age encryption of a batch spread over every CPU.
//
// An import can be interrupted and run again without writing a note twice.
// Each item leaves a mark in the store, in the same transaction as its note:
//
//	u/<agreement>/<item mac hex>   importMark: the note written for the item
//
// The item's mac is HMAC-SHA256 over the item's content (title, tags, body)
// and how many identical items came before it in the same source, under a
// key only the importer's identity derives (see importKey). Nothing in a
// mark reveals a title, a tag, a body or a source file name, and nobody
// without the identity can test a guess of the content against it. The
// mark is authenticated under the same key, so a forged or moved mark is
// ignored (the item is imported) rather than trusted.
const pImport = "u/"

// importMark is the record stored for an imported item.
type importMark struct {
	Note string `json:"note"`
	Tag  []byte `json:"tag"` // HMAC-SHA256 under the import key of mac and note id
}

// importBatchBytes bounds what one import transaction writes: badger refuses
// a transaction larger than 15% of its memtable (8 MiB here). A note costs
// its body, a third more for the sealed copy's encoding, and a few KiB of
// age header (post-quantum stanzas), metadata and audit record.
const (
	importBatchBytes = 640 << 10
	importNoteCost   = 8 << 10
	// ImportBatch is how many notes one import transaction writes at most.
	ImportBatch = 128
)

// Import is a bulk import in progress: see NewImport.
type Import struct {
	v         *Vault
	id        *identity.Identity
	agreement string
	kind      policy.Kind
	key       []byte
	seen      map[[32]byte]uint32 // identical items so far, by content digest
}

// ImportedNote is what became of one item of an import.
type ImportedNote struct {
	// Note is the id of the note written for the item, now or by an earlier
	// run of the same import.
	Note string
	// Already is true when an earlier run wrote it.
	Already bool
}

// NewImport starts a bulk import of notes of kind under agreementID by id.
// It checks that id may write such notes now (as CanWrite does), and
// writes nothing.
func (v *Vault) NewImport(ctx context.Context, agreementID string, kind policy.Kind, id *identity.Identity) (*Import, error) {
	err := v.view(func(txn kv.Txn) error {
		_, err := v.planNote(txn, id, agreementID, kind)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Import{v: v, id: id, agreement: agreementID, kind: kind, key: importKey(id, agreementID),
		seen: map[[32]byte]uint32{}}, nil
}

// importKey is the importer's secret key for marks under one agreement:
// SHA-256 over a domain line and the importer's Ed25519 signature of a
// fixed message naming the agreement. Ed25519 signatures are deterministic,
// so every run of the same person derives the same key, and nobody without
// the identity can.
func importKey(id *identity.Identity, agreementID string) []byte {
	msg := "notevault import key v1\n" + agreementID
	h := sha256.New()
	h.Write([]byte("notevault import key v1\n"))
	h.Write(id.Sign([]byte(msg)))
	return h.Sum(nil)
}

// Validate reports whether c could be imported (the checks AddNote makes
// on a note's content, and a body that is not empty): nil or an error
// matching ErrInvalid.
func (c *Content) Validate() error {
	if strings.TrimSpace(string(c.Body)) == "" {
		return invalid("the note body is empty")
	}
	return c.validate()
}

// mac is the item's mark: its content, and how many identical items came
// before it in this source, under the import key.
func (im *Import) mac(c *Content) []byte {
	digest := sha256.Sum256(newCanon("notevault import item v1").str(c.Title).strs(c.Tags).bytes(c.Body).b)
	n := im.seen[digest]
	im.seen[digest] = n + 1
	m := hmac.New(sha256.New, im.key)
	m.Write(newCanon("notevault import mark v1").bytes(digest[:]).u64(uint64(n)).b)
	return m.Sum(nil)
}

func (im *Import) tag(mac []byte, noteID string) []byte {
	m := hmac.New(sha256.New, im.key)
	m.Write(newCanon("notevault import note v1").bytes(mac).str(noteID).b)
	return m.Sum(nil)
}

func (im *Import) markKey(mac []byte) string {
	return pImport + im.agreement + "/" + hex.EncodeToString(mac)
}

// importItem is one note of a batch on its way to the store.
type importItem struct {
	content *Content
	mac     []byte
	noteID  string
	nonce   []byte
	rec     *noteRec
	plain   []byte
	ageFile []byte
	err     error
}

// Add imports items, in order, in as many transactions as their size
// needs, and returns what became of each. Items an earlier run of the same
// import already wrote are not written again. Every item is validated
// before anything is written; on an error no note of the failing
// transaction is written, and those of earlier transactions stay (running
// the import again skips them).
func (im *Import) Add(ctx context.Context, items []Content) ([]ImportedNote, error) {
	for i := range items {
		if err := items[i].Validate(); err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
	}
	all := make([]*importItem, len(items))
	for i := range items {
		all[i] = &importItem{content: &items[i], mac: im.mac(&items[i])}
	}
	out := make([]ImportedNote, 0, len(items))
	most := ImportBatch // fewer once the store refused a batch as too large
	for start := 0; start < len(all); {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		end, size := start, 0
		for end < len(all) && end-start < most {
			cost := len(all[end].content.Body)*4/3 + importNoteCost
			if end > start && size+cost > importBatchBytes {
				break
			}
			size += cost
			end++
		}
		done, err := im.addBatch(all[start:end])
		if errors.Is(err, kv.ErrTooBig) && end-start > 1 {
			most = (end - start) / 2 // nothing was written: try half
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, done...)
		start = end
	}
	return out, nil
}

// addBatch writes one transaction's worth of items.
func (im *Import) addBatch(batch []*importItem) ([]ImportedNote, error) {
	v := im.v
	for _, it := range batch {
		var err error
		if it.noteID, err = v.newID("n"); err != nil {
			return nil, err
		}
		it.nonce = make([]byte, 16)
		if _, err := io.ReadFull(v.rand, it.nonce); err != nil {
			return nil, fmt.Errorf("reading randomness: %w", err)
		}
	}
	defer func() {
		for _, it := range batch {
			clear(it.plain)
			it.plain, it.ageFile, it.rec = nil, nil, nil
		}
	}()
	out := make([]ImportedNote, len(batch))
	err := v.update(func(txn kv.Txn) error {
		plan, err := v.planNote(txn, im.id, im.agreement, im.kind)
		if err != nil {
			return err
		}
		a, me := plan.agreement, plan.me
		var todo []*importItem
		for i, it := range batch {
			noteID, err := im.imported(txn, it.mac)
			if err != nil {
				return err
			}
			if noteID != "" {
				out[i] = ImportedNote{Note: noteID, Already: true}
				continue
			}
			out[i] = ImportedNote{Note: it.noteID}
			todo = append(todo, it)
		}
		now := v.Now()
		im.seal(todo, plan, now)
		for _, it := range todo {
			if it.err != nil {
				return it.err
			}
			rec := it.rec
			if rec.Bucket, err = v.putBlob(txn, it.noteID, expiryBase(rec.Meta.Expires), it.ageFile); err != nil {
				return err
			}
			n := rec.note()
			if err := v.copyForGrants(txn, a, n, it.plain, now); err != nil {
				return err
			}
			n.Holds = a.holdsOn(n.ID)
			n.mark = im.markKey(it.mac)
			if err := v.putNote(txn, n); err != nil {
				return err
			}
			if err := put(txn, n.mark, importMark{Note: n.ID, Tag: im.tag(it.mac, n.ID)}); err != nil {
				return err
			}
			if err := v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "note.add", Agreement: a.ID, Subject: n.ID,
				Kind: string(n.Kind), Rule: "write", Detail: map[string]string{"readers": strings.Join(n.Readers, ","),
					"expires": n.Expires.Format(time.RFC3339), "via": "import"}}, im.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// imported returns the note an earlier run wrote for the item with mac, or
// "" when there is none: no mark, a mark this importer did not make, or a
// mark whose note is gone (deleted or expired since; importing the item
// again is then what the user asks for).
func (im *Import) imported(txn kv.Txn, mac []byte) (string, error) {
	var m importMark
	if err := get(txn, im.markKey(mac), &m); err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", err
	}
	if !hmac.Equal(m.Tag, im.tag(mac, m.Note)) {
		return "", nil
	}
	if _, err := txn.Get([]byte(pNote + m.Note)); err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return m.Note, nil
}

// seal builds, signs and encrypts each item's note, on every CPU: the
// envelope, its commitment, the author's signature over the metadata, and
// the age file to the plan's recipients.
func (im *Import) seal(items []*importItem, plan *notePlan, now time.Time) {
	work := make(chan *importItem)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(items), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				it.seal(im, plan, now)
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
}

func (it *importItem) seal(im *Import, plan *notePlan, now time.Time) {
	a := plan.agreement
	env := envelope{Content: *it.content, Note: it.noteID, Agreement: a.ID, Kind: im.kind, Nonce: it.nonce}
	it.plain = env.marshal()
	it.rec = &noteRec{Meta: noteMeta{ID: it.noteID, Agreement: a.ID, Version: plan.version.Version, Kind: im.kind,
		Author: plan.me.Name, Readers: plan.readers, Created: now, Expires: now.Add(plan.terms.Retention[im.kind]),
		Commit: commitOf(it.plain)}}
	it.rec.Sig = im.id.Sign(it.rec.Meta.signedBytes())
	it.ageFile, it.err = encryptTo(it.plain, plan.recipients)
}
