package vault

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// Segments: a large note is verified piece by piece before any of it is
// released.
//
// The author's commitment (commitOf) covers a note's whole plaintext, so on
// its own it can be checked only once the last byte is decrypted: a note
// streamed to stdout would be printed before a forgery was found. Someone
// who can write the vault directory holds its shred keys and everyone's
// public keys, so they can make a well-formed copy of any content. A large
// note therefore also carries, signed by its author, a digest of the list
// of its segments' hashes: the envelope (header lines and body) is cut into
// segments of segmentSize bytes, and segment i hashes as
//
//	SHA-256("notevault segment v1\n" || nonce || uint64(i) || segment)
//
// where nonce is the envelope's random nonce (so the hashes confirm no
// guess at the content). The list itself, 32 bytes per MiB, is stored with
// every copy (blobRec.Segments) and checked against the signed digest
//
//	SHA-256("notevault segments v1\n" || uint64(segmentSize) || list)
//
// before decryption starts. A reader holds one segment, checks it, and only
// then passes it on: no byte the author did not write is ever released, a
// cut or reordered copy fails at the segment where it differs, and memory
// stays at one segment.
const (
	segmentSize    = 1 << 20
	segmentDomain  = "notevault segment v1\n"
	segmentsDomain = "notevault segments v1\n"
)

// segmentHasher hashes an envelope in segments as it is written.
type segmentHasher struct {
	nonce []byte
	h     hash.Hash
	n     int // bytes in the current segment
	index uint64
	sums  []byte
}

func newSegmentHasher(nonce []byte) *segmentHasher {
	s := &segmentHasher{nonce: nonce}
	s.start()
	return s
}

func (s *segmentHasher) start() {
	s.h = sha256.New()
	s.h.Write([]byte(segmentDomain))
	s.h.Write(s.nonce)
	s.h.Write(binary.BigEndian.AppendUint64(nil, s.index))
	s.n = 0
}

func (s *segmentHasher) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := min(len(p), segmentSize-s.n)
		s.h.Write(p[:k])
		s.n += k
		p = p[k:]
		if s.n == segmentSize {
			s.sums = s.h.Sum(s.sums)
			s.index++
			s.start()
		}
	}
	return total, nil
}

// finish returns the list of segment hashes.
func (s *segmentHasher) finish() []byte {
	if s.n > 0 {
		s.sums = s.h.Sum(s.sums)
		s.index++
		s.start()
	}
	return s.sums
}

// segmentsDigest is what the author signs of a list of segment hashes.
func segmentsDigest(sums []byte) string {
	h := sha256.New()
	h.Write([]byte(segmentsDomain))
	h.Write(binary.BigEndian.AppendUint64(nil, segmentSize))
	h.Write(sums)
	return hex.EncodeToString(h.Sum(nil))
}

func segmentSum(nonce []byte, index uint64, seg []byte) []byte {
	h := sha256.New()
	h.Write([]byte(segmentDomain))
	h.Write(nonce)
	h.Write(binary.BigEndian.AppendUint64(nil, index))
	h.Write(seg)
	return h.Sum(nil)
}

// segmentReader passes on a decrypted envelope one verified segment at a
// time. A goroutine decrypts the next segment while the reader checks and
// passes on the current one (two segments in memory at most, three
// buffers in all).
type segmentReader struct {
	sums  []byte
	nonce []byte
	index int
	buf   []byte // the verified segment being passed on
	off   int
	done  bool

	full chan filled   // decrypted segments, in order
	free chan []byte   // buffers back to the decrypting goroutine
	quit chan struct{} // closed by stop
	gone chan struct{} // closed when the decrypting goroutine returns
	once sync.Once
	held []byte // the buffer of buf, returned on the next segment
}

type filled struct {
	seg  []byte
	last bool // a short segment, or nothing more
	err  error
}

func newSegmentReader(r io.Reader, sums []byte) *segmentReader {
	s := &segmentReader{sums: sums, full: make(chan filled, 1), free: make(chan []byte, 3), quit: make(chan struct{}),
		gone: make(chan struct{})}
	for range 3 {
		s.free <- make([]byte, segmentSize)
	}
	go s.decrypt(r)
	return s
}

// decrypt reads segments from r until it ends, fails, or stop is called.
func (s *segmentReader) decrypt(r io.Reader) {
	defer close(s.gone)
	for {
		var b []byte
		select {
		case b = <-s.free:
		case <-s.quit:
			return
		}
		n, err := io.ReadFull(r, b)
		f := filled{seg: b[:n]}
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF:
			f.last = true
		case err != nil:
			f.err, f.last = err, true
		}
		select {
		case s.full <- f:
		case <-s.quit:
			return
		}
		if f.last {
			return
		}
	}
}

// stop ends the decrypting goroutine, waits for it (it reads the stored
// copy, and may write what it reads to an export: nothing of it runs once
// the reader is closed) and wipes the buffers.
func (s *segmentReader) stop() {
	s.once.Do(func() {
		close(s.quit)
		<-s.gone
		clear(s.held)
		for {
			select {
			case b := <-s.free:
				clear(b)
			default:
				return
			}
		}
	})
}

func (s *segmentReader) Read(p []byte) (int, error) {
	for s.off == len(s.buf) {
		if s.done {
			return 0, io.EOF
		}
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

func (s *segmentReader) count() int { return len(s.sums) / sha256.Size }

func (s *segmentReader) next() error {
	if s.held != nil {
		clear(s.held)
		s.free <- s.held[:cap(s.held)]
		s.held, s.buf = nil, nil
	}
	var f filled
	select {
	case f = <-s.full:
	case <-s.quit:
		return errors.New("closed")
	}
	if f.err != nil {
		return f.err
	}
	seg := f.seg
	s.held = seg
	if len(seg) == 0 {
		if s.index != s.count() {
			return fmt.Errorf("it ends after %d of its %d segments", s.index, s.count())
		}
		s.done, s.off = true, 0
		return nil
	}
	s.done = f.last
	if s.index == 0 {
		// The nonce is in the header lines, at the start of the first
		// segment: read unverified, then verified with the segment.
		head, _, ok := bytes.Cut(seg, []byte("\n\n"))
		if !ok {
			return errors.New("its first segment holds no header lines")
		}
		env, err := unmarshalEnvelope(append(bytes.Clone(head), '\n', '\n'))
		if err != nil {
			return err
		}
		s.nonce = env.Nonce
	}
	if s.index >= s.count() {
		return fmt.Errorf("it has more than the %d segments its author wrote", s.count())
	}
	want := s.sums[s.index*sha256.Size : (s.index+1)*sha256.Size]
	if subtle.ConstantTimeCompare(segmentSum(s.nonce, uint64(s.index), seg), want) != 1 {
		return fmt.Errorf("its segment %d is not what its author wrote", s.index)
	}
	s.index++
	if s.done && s.index != s.count() {
		return fmt.Errorf("it ends after %d of its %d segments", s.index, s.count())
	}
	s.buf, s.off = seg, 0
	return nil
}
