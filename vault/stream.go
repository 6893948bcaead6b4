package vault

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/notevault/notevault/vault/kv"

	"filippo.io/age"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Streaming notes in and out: a body of any size is encrypted as it is
// read and decrypted as it is written out, in bounded memory. Small bodies
// (up to inlineMax) are stored inline as before; larger ones as a sealed age
// header and a payload file (payload.go).

// ErrChanged reports that the agreement changed while a large note was
// being encrypted, so that it went to readers who are no longer the ones
// the agreement gives its kind. Nothing was written.
var ErrChanged = errors.New("the agreement or its grants changed while the note was being written; nothing was written")

// AddNoteFrom is AddNote with the body read from r (after nn.Body, if any).
// A body larger than inlineMax is never held whole in memory: it is
// encrypted to the note's readers (and to every live grant's supervisor)
// as it is read, the author's commitment is computed over the same bytes,
// and the metadata is signed once the last byte is in. Who the note goes to
// is decided before reading and decided again before storing; if that
// changed meanwhile, the note is not written (ErrChanged).
func (v *Vault) AddNoteFrom(ctx context.Context, nn NewNote, r io.Reader, id *identity.Identity) (*Note, error) {
	if err := nn.Content.validate(); err != nil {
		return nil, err
	}
	body := io.MultiReader(bytes.NewReader(nn.Body), &ctxReader{ctx: ctx, r: r})
	prefix, err := io.ReadAll(io.LimitReader(body, int64(inlineMax)+1))
	if err != nil {
		clear(prefix)
		return nil, bodyReadError(err)
	}
	if len(prefix) <= inlineMax {
		defer clear(prefix)
		nn.Body = prefix
		return v.AddNote(ctx, nn, id)
	}
	defer clear(prefix)
	return v.addLarge(ctx, nn, io.MultiReader(bytes.NewReader(prefix), body), id)
}

func bodyReadError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("reading the note body: %w", err)
}

// ctxReader stops a long read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (v *Vault) addLarge(ctx context.Context, nn NewNote, body io.Reader, id *identity.Identity) (n *Note, err error) {
	noteID, err := v.newID("n")
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(v.rand, nonce); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	var (
		plan    *notePlan
		targets []grantTarget
	)
	if err := v.view(func(txn kv.Txn) (err error) {
		if plan, err = v.planNote(txn, id, nn.Agreement, nn.Kind); err != nil {
			return err
		}
		targets, err = v.grantTargets(txn, plan.agreement, nn.Kind, plan.readers, v.Now())
		return err
	}); err != nil {
		return nil, err
	}
	var pend []*pendingBlob
	defer func() {
		if err != nil {
			for _, p := range pend {
				p.discard()
			}
		}
	}()
	own, err := v.newPendingBlob(noteID, plan.recipients)
	if err != nil {
		return nil, err
	}
	pend = append(pend, own)
	for _, t := range targets {
		p, err := v.newPendingBlob(grantCopyID(t.grant, noteID), t.rs)
		if err != nil {
			return nil, err
		}
		pend = append(pend, p)
	}
	h := sha256.New()
	h.Write([]byte(commitDomain))
	segs := newSegmentHasher(nonce)
	ws := []io.Writer{h, segs}
	for _, p := range pend {
		ws = append(ws, p)
	}
	// Small writes (the header) go through one at a time; the body's 1 MiB
	// chunks go to every writer side by side.
	out := fanOut(ws)
	env := envelope{Content: Content{Title: nn.Title, Tags: nn.Tags}, Note: noteID, Agreement: plan.agreement.ID, Kind: nn.Kind, Nonce: nonce}
	head := env.marshal()
	if len(head) >= segmentSize {
		return nil, invalid("the title and tags of a note this large must stay under 1 MiB")
	}
	if _, err := out.Write(head); err != nil {
		return nil, err
	}
	buf := make([]byte, 1<<20)
	defer clear(buf)
	if _, err := io.CopyBuffer(out, onlyReader{body}, buf); err != nil {
		if errors.As(err, new(*pendingWriteError)) {
			return nil, err
		}
		return nil, bodyReadError(err)
	}
	for _, p := range pend {
		if err := p.finish(); err != nil {
			return nil, err
		}
	}
	commit := hex.EncodeToString(h.Sum(nil))
	sums := segs.finish()
	for _, p := range pend {
		p.segments = sums
	}
	err = v.update(func(txn kv.Txn) error {
		again, err := v.planNote(txn, id, nn.Agreement, nn.Kind)
		if err != nil {
			return err
		}
		a, me := again.agreement, again.me
		now := v.Now()
		still, err := v.grantTargets(txn, a, nn.Kind, again.readers, now)
		if err != nil {
			return err
		}
		if again.version.Version != plan.version.Version || !slices.Equal(again.readers, plan.readers) ||
			!sameRecipients(again.recipients, plan.recipients) ||
			!slices.EqualFunc(still, targets, func(x, y grantTarget) bool { return x.grant == y.grant && sameRecipients(x.rs, y.rs) }) {
			return ErrChanged
		}
		rec := &noteRec{Meta: noteMeta{ID: noteID, Agreement: a.ID, Version: again.version.Version, Kind: nn.Kind, Author: me.Name,
			Readers: again.readers, Created: now, Expires: now.Add(again.terms.Retention[nn.Kind]), Commit: commit,
			Segments: segmentsDigest(sums)}}
		rec.Sig = id.Sign(rec.Meta.signedBytes())
		if rec.Bucket, err = v.putPending(txn, own, expiryBase(rec.Meta.Expires)); err != nil {
			return err
		}
		n = rec.note()
		for i, t := range targets {
			if _, err := v.putPending(txn, pend[i+1], t.grant); err != nil {
				return err
			}
			n.Copies = append(n.Copies, grantCopyID(t.grant, noteID))
		}
		if err := v.syncPayloads(); err != nil {
			return err
		}
		n.Holds = a.holdsOn(n.ID)
		if err := v.putNote(txn, n); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "note.add", Agreement: a.ID, Subject: n.ID,
			Kind: string(n.Kind), Rule: "write", Detail: map[string]string{"readers": strings.Join(n.Readers, ","),
				"expires": n.Expires.Format(time.RFC3339)}}, id)
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// sameRecipients reports whether two lists of recipients are the same keys
// in the same order, as far as they say (age's native and post-quantum
// recipients print their key; others are compared by type, the agreement
// version that pinned them having been compared already).
func sameRecipients(a, b []age.Recipient) bool {
	return slices.EqualFunc(a, b, func(x, y age.Recipient) bool {
		xs, ok1 := x.(fmt.Stringer)
		ys, ok2 := y.(fmt.Stringer)
		if ok1 && ok2 {
			return xs.String() == ys.String()
		}
		return fmt.Sprintf("%T", x) == fmt.Sprintf("%T", y)
	})
}

// onlyReader hides a reader's WriterTo, so that io.CopyBuffer uses its
// buffer rather than the reader's own.
type onlyReader struct{ io.Reader }

// pendingWriteError is a failure to write a payload file, as opposed to a
// failure to read the body.
type pendingWriteError struct{ err error }

func (e *pendingWriteError) Error() string { return e.err.Error() }
func (e *pendingWriteError) Unwrap() error { return e.err }

// NoteReader is a note being decrypted: its verified metadata, its title
// and tags, and its body through Read, decrypted as it is read. age
// authenticates every chunk as it comes, so a damaged, reordered or
// truncated copy fails at the first bad chunk; the author's commitment
// covers the whole plaintext and is checked when the body ends: Read
// returns an *IntegrityError instead of io.EOF if it does not match. A
// caller that streams the body on must treat everything it passed on as
// void when Read fails.
type NoteReader struct {
	Note     *Note
	Title    string
	Tags     []string
	Decision policy.Decision

	src  io.Closer
	stop func() // ends a large note's decryption ahead of the reader
	head []byte // the envelope's header lines, as decrypted
	body io.Reader
	h    hash.Hash
	want string
	err  error
}

func (r *NoteReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.body.Read(p)
	if r.h != nil {
		r.h.Write(p[:n])
	}
	switch {
	case err == io.EOF:
		// A large note's segments were each checked already, and their
		// list against the signed digest: the whole is the author's.
		if r.h != nil && hex.EncodeToString(r.h.Sum(nil)) != r.want {
			clear(p[:n])
			r.err = integrity("note "+r.Note.ID, "its content is not what its author signed")
			return 0, r.err
		}
		r.err = io.EOF
	case err != nil:
		r.err = integrity("note "+r.Note.ID, "its stored copy cannot be read whole: damaged, truncated or reordered (%v)", err)
		return n, r.err
	}
	return n, err
}

// Close releases the stored copy.
func (r *NoteReader) Close() error {
	if r.stop != nil {
		r.stop()
	}
	return r.src.Close()
}

// openEnvelope starts decrypting a copy of n with id: it reads and checks
// the envelope's header lines (the note, agreement and kind it names) and
// leaves the body to be read. Nothing is released before it is checked
// against what the author signed: a note stored inline is decrypted and
// checked whole first (it is at most a few MiB, and its sealed copy is in
// memory already); a large note segment by segment, against its list of
// segment hashes segs, whose digest the author signed (segments.go).
func openEnvelope(src io.ReadCloser, segs []byte, n *Note, id *identity.Identity) (*NoteReader, error) {
	m := n.rec.Meta
	if m.Segments != "" && (len(segs)%sha256.Size != 0 || segmentsDigest(segs) != m.Segments) {
		src.Close()
		return nil, integrity("note "+n.ID, "its list of segments is not the one its author signed")
	}
	dr, err := age.Decrypt(src, id.AgeIdentity())
	if err != nil {
		src.Close()
		return nil, ErrNoKey
	}
	var (
		plain io.Reader
		stop  func()
	)
	if m.Segments != "" {
		sr := newSegmentReader(dr, segs)
		plain, stop = sr, sr.stop
	} else {
		all, err := io.ReadAll(dr)
		if err != nil || commitOf(all) != m.Commit {
			clear(all)
			src.Close()
			return nil, integrity("note "+n.ID, "its content is not what its author signed")
		}
		plain = bytes.NewReader(all)
	}
	fail := func(err error) (*NoteReader, error) {
		if stop != nil {
			stop()
		}
		src.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(plain, 64<<10)
	head, err := readEnvelopeHead(br)
	if err != nil {
		return fail(integrity("note "+n.ID, "its content is not what its author signed (%v)", err))
	}
	env, err := unmarshalEnvelope(head)
	if err != nil || env.Note != n.ID || env.Agreement != n.Agreement || env.Kind != n.Kind {
		return fail(integrity("note "+n.ID, "its content is not what its author signed"))
	}
	nr := &NoteReader{Note: n, Title: env.Title, Tags: env.Tags, src: src, stop: stop, head: head, body: br, want: m.Commit}
	if m.Segments == "" {
		nr.h = sha256.New()
		nr.h.Write([]byte(commitDomain))
		nr.h.Write(head)
	}
	return nr, nil
}

// readEnvelopeHead reads the envelope's header lines and the blank line
// that ends them.
func readEnvelopeHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for len(head) < maxEnvelopeHead {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, errors.New("no end of the header lines")
		}
		if err != nil {
			return nil, err
		}
		head = append(head, c)
		if c == '\n' && bytes.HasSuffix(head, []byte("\n\n")) {
			return head, nil
		}
	}
	return nil, errors.New("header lines too long")
}

// openCopy decides a read as openFor does and opens the copy the decision
// rests on as a stream.
func (v *Vault) openCopy(noteID string, id *identity.Identity, action string) (*blobReader, *Note, policy.Decision, *Participant, error) {
	return readCopy(v, noteID, id, action, v.openBlob)
}

// openNoteFor decides, opens and logs a read of noteID by id.
func (v *Vault) openNoteFor(noteID string, id *identity.Identity, action string) (*NoteReader, error) {
	src, n, d, me, err := v.openCopy(noteID, id, action)
	if err != nil {
		return nil, err
	}
	nr, err := openEnvelope(src, src.segments, n, id)
	if err != nil {
		return nil, noKeyHint(err, n, d, me, id)
	}
	if err := v.logAccess(id, me, n, d, action); err != nil {
		nr.Close()
		return nil, err
	}
	nr.Decision = d
	return nr, nil
}

// OpenNote decides a read of a note by id as ReadNote does and returns the
// note being decrypted, whatever its size. The read is written to the
// audit log before any of the body is returned; if the log cannot be
// written, nothing is returned. The caller closes the reader.
func (v *Vault) OpenNote(ctx context.Context, noteID string, id *identity.Identity) (*NoteReader, error) {
	return v.openNoteFor(noteID, id, "note.read")
}

// ExportNoteTo writes the note to w as the standard age file the vault
// keeps (ExportNote), streaming: the copy is decrypted as it is written, to
// check it is the one its author signed. The export is logged before any
// byte reaches w. An error after bytes were written (a damaged copy, a
// failed write) means what w received is void.
func (v *Vault) ExportNoteTo(ctx context.Context, noteID string, id *identity.Identity, w io.Writer) error {
	src, n, d, me, err := v.openCopy(noteID, id, "note.export")
	if err != nil {
		return err
	}
	gate := &gateWriter{w: w}
	tee := &teeCloser{Reader: io.TeeReader(src, gate), c: src}
	nr, err := openEnvelope(tee, src.segments, n, id)
	if err != nil {
		return err
	}
	defer nr.Close()
	if err := v.logAccess(id, me, n, d, "note.export"); err != nil {
		return err
	}
	if err := gate.release(); err != nil {
		return fmt.Errorf("writing the age file: %w", err)
	}
	_, err = io.Copy(io.Discard, &ctxReader{ctx: ctx, r: nr})
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // whatever age left unread
	}
	if werr := gate.failed(); werr != nil {
		return fmt.Errorf("writing the age file: %w", werr)
	}
	return err
}

// ExportNoteBodyTo writes the note's body alone to w as an age file
// encrypted to id's own key (ExportNoteBody), streaming. The export is
// logged before any byte reaches w.
func (v *Vault) ExportNoteBodyTo(ctx context.Context, noteID string, id *identity.Identity, w io.Writer) error {
	r, err := id.Public().AgeRecipient()
	if err != nil {
		return err
	}
	nr, err := v.openNoteFor(noteID, id, "note.export")
	if err != nil {
		return err
	}
	defer nr.Close()
	ew := &errWriter{w: w}
	enc, err := age.Encrypt(ew, r)
	if err != nil {
		return fmt.Errorf("encrypting: %w", err)
	}
	_, err = io.Copy(enc, &ctxReader{ctx: ctx, r: nr})
	if err == nil {
		err = enc.Close()
	}
	if ew.err != nil {
		return fmt.Errorf("writing the age file: %w", ew.err)
	}
	return err
}

// gateWriter holds what is written to it until released, then passes it
// on; it remembers the first write error. A large note is read ahead by
// another goroutine, so it is safe for concurrent use.
type gateWriter struct {
	mu   sync.Mutex
	w    io.Writer
	held bytes.Buffer
	open bool
	err  error
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	if !g.open {
		return g.held.Write(p)
	}
	if _, err := g.w.Write(p); err != nil {
		g.err = err
		return 0, err
	}
	return len(p), nil
}

func (g *gateWriter) release() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
	if _, err := g.w.Write(g.held.Bytes()); err != nil {
		g.err = err
	}
	g.held = bytes.Buffer{}
	return g.err
}

func (g *gateWriter) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// errWriter remembers the first write error, to tell it from a read error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

type teeCloser struct {
	io.Reader
	c io.Closer
}

func (t *teeCloser) Close() error { return t.c.Close() }

// copyNote seals a copy of note n, read from its blob src with id, to rs as
// blob dst in base's bucket: the same plaintext, so the author's commitment
// covers the copy too. A large note is copied as it is decrypted, to a
// payload file of its own, and only once the whole plaintext checked out.
func (v *Vault) copyNote(txn kv.Txn, n *Note, src string, id *identity.Identity, rs []age.Recipient, dst, base string) (err error) {
	var rec blobRec
	if err := getRecord(txn, pBlob, "copy", src, &rec); err != nil {
		return err
	}
	if !rec.Payload {
		ageFile, err := v.getBlob(txn, src)
		if err != nil {
			return err
		}
		plain, _, err := openNote(ageFile, n, id)
		if err != nil {
			return err
		}
		cp, err := encryptTo(plain, rs)
		clear(plain)
		if err != nil {
			return err
		}
		_, err = v.putBlob(txn, dst, base, cp)
		return err
	}
	r, err := v.openBlob(txn, src)
	if err != nil {
		return err
	}
	nr, err := openEnvelope(r, r.segments, n, id)
	if err != nil {
		return err
	}
	defer nr.Close()
	p, err := v.newPendingBlob(dst, rs)
	if err != nil {
		return err
	}
	p.segments = r.segments
	defer func() {
		if err != nil {
			p.discard()
		}
	}()
	if _, err := p.Write(nr.head); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	defer clear(buf)
	if _, err := io.CopyBuffer(p, onlyReader{nr}, buf); err != nil {
		return err
	}
	if err := p.finish(); err != nil {
		return err
	}
	if _, err := v.putPending(txn, p, base); err != nil {
		return err
	}
	return v.syncPayloads()
}
