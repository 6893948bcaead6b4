package vault

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/notevault/notevault/vault/kv"

	"filippo.io/age"

	"github.com/notevault/notevault/vault/seal"
)

// Large notes: the age header in badger, the payload in a file.
//
// An age file is a header (one stanza per reader wrapping the file key, and
// a MAC under that key) followed by a payload: a nonce and the STREAM
// chunks, each 64 KiB of plaintext sealed under a key derived from the file
// key and that nonce, numbered, the last one flagged. A note whose body is
// larger than inlineMax is stored split along that line:
//
//	c/<blob>                    blobRec{Payload: true}: the header, sealed
//	                            under the bucket's shred key like any blob
//	<vault>/payload/<blob>      the payload, written as it is encrypted
//
// Destroying the shred key destroys the only copy of the header, and with
// it every wrapped file key: the payload, whose chunks are unreadable
// without the file key, needs no second encryption. Re-wrapping a bucket
// re-seals the header alone (a few hundred bytes to a few KiB), whatever
// the size of the note, so an early deletion never rewrites a recording.
//
// Joined back together, header and payload are a standard age file: age
// authenticates every chunk, their order and the end of the stream, and a
// payload moved under another note's header does not open under its file
// key. The plaintext is an envelope (envelope.go) like any note's; the
// author's signed commitment covers it whole and is checked as it is read.
//
// Payload files are not in badger because a 4 GiB note would not fit one
// transaction (badger caps a transaction at a fraction of its memtable),
// would pass through badger's value log (written twice, reclaimed only by a
// value-log GC that rewrites live values) and would grow the store that
// every command opens. A file is written once, sequentially, and unlinked
// at once when the note goes. See docs/design.md, "Large notes".

// payloadsDir holds payload files, one per large blob.
const payloadsDir = "payload"

// inlineMax is the largest body stored inline, in badger, as one sealed age
// file. Larger bodies are streamed to a payload file. A variable for tests.
var inlineMax = 1 << 20

// maxEnvelopeHead bounds the envelope's header lines read before a body.
const maxEnvelopeHead = 4 << 20

// payloadNonceSize is the nonce that starts an age payload.
const payloadNonceSize = 16

// payloadTmp prefixes payload files still being written.
const payloadTmp = ".tmp-"

var blobFileName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,190}$`) })

// checkBlobName refuses a blob id that cannot name a payload: the name
// comes from the blob id, never from a stored record (the store is not
// trusted to name files).
func checkBlobName(blobID string) error {
	if !blobFileName().MatchString(blobID) || strings.Contains(blobID, "..") {
		return integrity("copy "+blobID, "its id cannot name a payload file")
	}
	return nil
}

// dirPayloads keeps payloads as files in the vault directory's payload/.
type dirPayloads struct{ dir string }

func (d dirPayloads) Create() (kv.PendingPayload, error) {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the payload directory: %w", err)
	}
	f, err := os.CreateTemp(d.dir, payloadTmp+"*")
	if err != nil {
		return nil, fmt.Errorf("creating a payload file: %w", err)
	}
	return &dirPending{dir: d.dir, file: f, tmp: f.Name(), w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// Open opens a payload file for reading. The vault directory is not
// trusted: a symlink, a FIFO or a device in its place is refused.
func (d dirPayloads) Open(name string) (kv.Payload, error) {
	if err := checkBlobName(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(d.dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("payload %s: %w", name, kv.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("not a regular file")
	}
	return fileSize{f, st.Size()}, nil
}

type fileSize struct {
	*os.File
	size int64
}

func (f fileSize) Size() int64 { return f.size }

func (d dirPayloads) Remove(names []string) error {
	var errs []error
	for _, n := range names {
		if strings.ContainsAny(n, `/\`) || !strings.HasPrefix(n, payloadTmp) && checkBlobName(n) != nil {
			continue
		}
		if err := os.Remove(filepath.Join(d.dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d dirPayloads) Names() (map[string]bool, []string, error) {
	ents, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	placed, unfinished := map[string]bool{}, []string(nil)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), payloadTmp) {
			unfinished = append(unfinished, e.Name())
		} else {
			placed[e.Name()] = true
		}
	}
	return placed, unfinished, nil
}

func (d dirPayloads) Sync() error {
	if _, err := os.Stat(d.dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return syncDir(d.dir)
}

// dirPending is a payload file being written: a temporary file until
// placed.
type dirPending struct {
	dir   string
	file  *os.File
	w     *bufio.Writer
	tmp   string // the temporary file, until placed
	final string // the payload file, once placed
}

func (p *dirPending) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *dirPending) Finish() error {
	if err := p.w.Flush(); err != nil {
		return err
	}
	return p.file.Sync()
}

func (p *dirPending) Place(name string) error {
	final := filepath.Join(p.dir, name)
	if p.tmp == "" && p.final == final {
		return nil
	}
	if err := checkBlobName(name); err != nil {
		return err
	}
	if err := p.file.Close(); err != nil {
		return err
	}
	p.file = nil
	if err := os.Rename(p.tmp, final); err != nil {
		return err
	}
	p.tmp, p.final = "", final
	return nil
}

// Discard removes whatever of the payload reached the disk. It holds no
// plaintext and, its header never stored, opens for nobody.
func (p *dirPending) Discard() {
	if p.file != nil {
		p.file.Close()
		p.file = nil
	}
	if p.tmp != "" {
		os.Remove(p.tmp)
	}
	if p.final != "" {
		os.Remove(p.final)
	}
}

// ageSplitter receives an age file as age.Encrypt writes it: the header
// into memory, then (once switched) the payload to its store.
type ageSplitter struct {
	header   bytes.Buffer
	inHeader bool
	out      io.Writer
}

func (s *ageSplitter) Write(p []byte) (int, error) {
	if s.inHeader {
		return s.header.Write(p)
	}
	return s.out.Write(p)
}

// pendingBlob is a large blob being encrypted: its payload goes to the
// payload store as plaintext is written to it; putPending stores it.
type pendingBlob struct {
	id      string
	header  []byte
	enc     io.WriteCloser
	split   *ageSplitter
	payload kv.PendingPayload
	// segments is the plaintext's list of segment hashes, stored with
	// the blob; set before putPending.
	segments []byte
}

// newPendingBlob starts encrypting blob blobID to rs.
func (v *Vault) newPendingBlob(blobID string, rs []age.Recipient) (*pendingBlob, error) {
	if err := checkBlobName(blobID); err != nil {
		return nil, err
	}
	pp, err := v.payloads.Create()
	if err != nil {
		return nil, err
	}
	p := &pendingBlob{id: blobID, payload: pp}
	p.split = &ageSplitter{inHeader: true, out: pp}
	enc, err := age.Encrypt(p.split, rs...)
	if err != nil {
		p.discard()
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	// age.Encrypt has written the header and the payload's nonce: the
	// header goes to the store, the nonce starts the payload.
	written := p.split.header.Bytes()
	hdr, err := age.ExtractHeader(bytes.NewReader(written))
	if err != nil {
		p.discard()
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	p.header = bytes.Clone(hdr)
	p.split.inHeader = false
	if _, err := p.split.Write(written[len(hdr):]); err != nil {
		p.discard()
		return nil, err
	}
	p.enc = enc
	return p, nil
}

func (p *pendingBlob) Write(b []byte) (int, error) {
	n, err := p.enc.Write(b)
	if err != nil {
		return n, &pendingWriteError{fmt.Errorf("writing a payload: %w", err)}
	}
	return n, nil
}

// finish ends the age stream and makes the payload durable.
func (p *pendingBlob) finish() error {
	if err := p.enc.Close(); err != nil {
		return fmt.Errorf("writing a payload: %w", err)
	}
	if err := p.payload.Finish(); err != nil {
		return fmt.Errorf("writing a payload: %w", err)
	}
	return nil
}

// discard removes whatever of the blob was stored.
func (p *pendingBlob) discard() { p.payload.Discard() }

// putPending seals a finished blob's header under base's live key, stores
// its record and places its payload. The caller syncs the payloads before
// its transaction commits (syncPayloads) and discards the blob if the
// transaction fails. Run again (the transaction conflicted), it places the
// payload again, which does nothing.
func (v *Vault) putPending(txn kv.Txn, p *pendingBlob, base string) (string, error) {
	bucket, key, err := v.liveBucket(txn, base)
	if err != nil {
		return "", err
	}
	sealed, err := seal.Seal(key, seal.AD(p.id, bucket), p.header)
	if err != nil {
		return "", err
	}
	if err := put(txn, pBlob+p.id, blobRec{Bucket: bucket, Sealed: sealed, Payload: true, Segments: p.segments}); err != nil {
		return "", err
	}
	if err := txn.Set([]byte(pMember+bucket+"/"+p.id), nil); err != nil {
		return "", err
	}
	if err := p.payload.Place(p.id); err != nil {
		return "", fmt.Errorf("storing a payload: %w", err)
	}
	return bucket, nil
}

func (v *Vault) syncPayloads() error { return v.payloads.Sync() }

// openPayload opens blob's payload for reading.
func (v *Vault) openPayload(blobID string) (kv.Payload, error) {
	p, err := v.payloads.Open(blobID)
	if errors.Is(err, kv.ErrNotFound) {
		return nil, integrity("copy "+blobID, "its payload file is missing")
	}
	if err != nil {
		return nil, integrity("copy "+blobID, "its payload file cannot be opened (%v)", err)
	}
	return p, nil
}

// blobReader is a stored age file as one stream: the header opened from
// its seal, then the payload file for a large blob.
type blobReader struct {
	io.Reader
	f        kv.Payload
	segments []byte // a large blob's list of segment hashes
}

func (r *blobReader) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}

// openBlob returns the age file stored as blob id, as a stream. A blob
// whose key was destroyed is not found: it is gone.
func (v *Vault) openBlob(txn kv.Txn, blobID string) (*blobReader, error) {
	var rec blobRec
	if err := getRecord(txn, pBlob, "copy", blobID, &rec); err != nil {
		return nil, err
	}
	key, err := v.keys.Key(txn, rec.Bucket, false)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", blobID, ErrNotFound)
	}
	opened, err := seal.Open(key, seal.AD(blobID, rec.Bucket), rec.Sealed)
	if err != nil {
		return nil, err
	}
	if !rec.Payload {
		return &blobReader{Reader: bytes.NewReader(opened)}, nil
	}
	f, err := v.openPayload(blobID)
	if err != nil {
		return nil, err
	}
	return &blobReader{Reader: io.MultiReader(bytes.NewReader(opened), f), f: f, segments: rec.Segments}, nil
}

// payloadNames lists the payloads placed.
func (v *Vault) payloadNames() (map[string]bool, error) {
	placed, _, err := v.payloads.Names()
	return placed, err
}

// removePayloads removes the payloads of blobs whose records are gone and
// whose keys were destroyed: what they hold opens for nobody any more, and
// removing them returns the space at once.
func (v *Vault) removePayloads(blobs []string) error { return v.payloads.Remove(blobs) }

// housekeepPayloads removes payloads no record refers to (an add
// interrupted before its commit, a deletion interrupted after it) and the
// unfinished ones of interrupted writes. It returns how many it removed.
func (v *Vault) housekeepPayloads() (int, error) {
	placed, orphans, err := v.payloads.Names()
	if err != nil || len(placed)+len(orphans) == 0 {
		return 0, err
	}
	unfinished := len(orphans)
	err = v.view(func(txn kv.Txn) error {
		orphans = orphans[:unfinished] // a conflict runs the view again (view)
		for name := range placed {
			var rec blobRec
			err := get(txn, pBlob+name, &rec)
			if isNotFound(err) || (err == nil && !rec.Payload) {
				orphans = append(orphans, name)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := v.payloads.Remove(orphans); err != nil {
		return 0, err
	}
	return len(orphans), nil
}
