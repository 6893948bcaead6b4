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

var blobFileName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,190}$`)

func (v *Vault) payloadDir() string { return filepath.Join(v.dir, payloadsDir) }

// payloadPath is where blob's payload lives. The name comes from the blob
// id, never from a stored record: the store is not trusted to name files.
func (v *Vault) payloadPath(blobID string) (string, error) {
	if !blobFileName.MatchString(blobID) || strings.Contains(blobID, "..") {
		return "", integrity("copy "+blobID, "its id cannot name a payload file")
	}
	return filepath.Join(v.payloadDir(), blobID), nil
}

// ageSplitter receives an age file as age.Encrypt writes it: the header
// into memory, then (once switched) the payload into a file.
type ageSplitter struct {
	header   bytes.Buffer
	inHeader bool
	out      *bufio.Writer
}

func (s *ageSplitter) Write(p []byte) (int, error) {
	if s.inHeader {
		return s.header.Write(p)
	}
	return s.out.Write(p)
}

// pendingBlob is a large blob being encrypted: its payload goes to a
// temporary file as plaintext is written to it; putPending stores it.
type pendingBlob struct {
	id     string
	header []byte
	enc    io.WriteCloser
	split  *ageSplitter
	file   *os.File
	tmp    string // the temporary file, until renamed
	final  string // the payload file, once renamed
	// segments is the plaintext's list of segment hashes, stored with
	// the blob; set before putPending.
	segments []byte
}

// newPendingBlob starts encrypting blob blobID to rs.
func (v *Vault) newPendingBlob(blobID string, rs []age.Recipient) (*pendingBlob, error) {
	if _, err := v.payloadPath(blobID); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(v.payloadDir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating the payload directory: %w", err)
	}
	f, err := os.CreateTemp(v.payloadDir(), payloadTmp+"*")
	if err != nil {
		return nil, fmt.Errorf("creating a payload file: %w", err)
	}
	p := &pendingBlob{id: blobID, file: f, tmp: f.Name()}
	p.split = &ageSplitter{inHeader: true, out: bufio.NewWriterSize(f, 256<<10)}
	enc, err := age.Encrypt(p.split, rs...)
	if err != nil {
		p.discard()
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	// age.Encrypt has written the header and the payload's nonce: the
	// header goes to badger, the nonce starts the payload file.
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
		return n, &pendingWriteError{fmt.Errorf("writing a payload file: %w", err)}
	}
	return n, nil
}

// finish ends the age stream and makes the payload file durable.
func (p *pendingBlob) finish() error {
	if err := p.enc.Close(); err != nil {
		return fmt.Errorf("writing a payload file: %w", err)
	}
	if err := p.split.out.Flush(); err != nil {
		return fmt.Errorf("writing a payload file: %w", err)
	}
	if err := p.file.Sync(); err != nil {
		return fmt.Errorf("writing a payload file: %w", err)
	}
	return nil
}

// discard removes whatever of the blob reached the disk. The payload holds
// no plaintext and, its header never stored, opens for nobody.
func (p *pendingBlob) discard() {
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

// putPending seals a finished blob's header under base's live key, stores
// its record and moves its payload file into place. The caller syncs the
// payload directory before its transaction commits (syncPayloads) and
// discards the blob if the transaction fails.
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
	final, err := v.payloadPath(p.id)
	if err != nil {
		return "", err
	}
	if err := p.file.Close(); err != nil {
		return "", fmt.Errorf("writing a payload file: %w", err)
	}
	p.file = nil
	if err := os.Rename(p.tmp, final); err != nil {
		return "", fmt.Errorf("storing a payload file: %w", err)
	}
	p.tmp, p.final = "", final
	return bucket, nil
}

func (v *Vault) syncPayloads() error { return syncDir(v.payloadDir()) }

// openPayload opens blob's payload file for reading. The vault directory
// is not trusted: a symlink, a FIFO or a device in its place is refused.
func (v *Vault) openPayload(blobID string) (*os.File, error) {
	p, err := v.payloadPath(blobID)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, integrity("copy "+blobID, "its payload file is missing")
	}
	if err != nil {
		return nil, integrity("copy "+blobID, "its payload file cannot be opened (%v)", err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, integrity("copy "+blobID, "its payload file is not a regular file")
	}
	return f, nil
}

// blobReader is a stored age file as one stream: the header opened from
// its seal, then the payload file for a large blob.
type blobReader struct {
	io.Reader
	f        *os.File
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

// payloadNames lists the payload files present, finished ones only.
func (v *Vault) payloadNames() (map[string]bool, error) {
	ents, err := os.ReadDir(v.payloadDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), payloadTmp) {
			out[e.Name()] = true
		}
	}
	return out, nil
}

// removePayloads unlinks the payload files of blobs whose records are gone
// and whose keys were destroyed: what they hold opens for nobody any more,
// and unlinking returns the space at once.
func (v *Vault) removePayloads(blobs []string) error {
	var errs []error
	for _, b := range blobs {
		p, err := v.payloadPath(b)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// housekeepPayloads removes payload files no record refers to (an add
// interrupted before its commit, a deletion interrupted after it) and
// temporary files of interrupted writes. It returns how many it removed.
func (v *Vault) housekeepPayloads() (int, error) {
	ents, err := os.ReadDir(v.payloadDir())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var orphans []string
	err = v.view(func(txn kv.Txn) error {
		orphans = orphans[:0] // a conflict runs the view again (view)
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, payloadTmp) {
				orphans = append(orphans, name)
				continue
			}
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
	for _, name := range orphans {
		if err := os.Remove(filepath.Join(v.payloadDir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	return len(orphans), nil
}
