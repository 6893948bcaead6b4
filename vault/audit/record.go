package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// SchemaV1 is the schema byte that prefixes every encoded record.
const SchemaV1 byte = 1

// signedDomain prefixes SignedBytes so that a record signature can never be
// confused with a signature over anything else.
const signedDomain = "notevault audit v1\n"

// Record is one entry of the audit log.
type Record struct {
	Seq       uint64            `json:"seq"`
	Time      time.Time         `json:"time"`  // UTC
	Actor     string            `json:"actor"` // participant name, or a system actor: "retention", "vault"
	Action    string            `json:"action"`
	Agreement string            `json:"agreement,omitempty"`
	Subject   string            `json:"subject,omitempty"` // id acted on
	Kind      string            `json:"kind,omitempty"`
	Rule      string            `json:"rule,omitempty"`   // policy rule that allowed it / retention rule
	Detail    map[string]string `json:"detail,omitempty"` // never content, never titles
	Prev      string            `json:"prev"`             // hex SHA-256 of the previous record (Hash), "" for seq 1
	Sig       []byte            `json:"sig,omitempty"`    // Ed25519 signature by Actor over SignedBytes()
}

// SignedBytes returns the canonical encoding of every field except Sig:
//
//	"notevault audit v1\n"
//	seq            uint64, big endian
//	time           int64 Unix seconds, big endian; uint32 nanoseconds, big endian
//	actor, action, agreement, subject, kind, rule    each as a string
//	detail         uint32 count, then key, value strings in ascending key order
//	prev           string
//
// where a string is its uint32 big-endian byte length followed by its bytes.
// The time zone of Time does not matter; nil and empty Detail encode alike.
func (r *Record) SignedBytes() []byte {
	var b bytes.Buffer
	b.WriteString(signedDomain)
	b.Write(binary.BigEndian.AppendUint64(nil, r.Seq))
	b.Write(binary.BigEndian.AppendUint64(nil, uint64(r.Time.Unix())))
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(r.Time.Nanosecond())))
	for _, s := range []string{r.Actor, r.Action, r.Agreement, r.Subject, r.Kind, r.Rule} {
		writeString(&b, s)
	}
	keys := make([]string, 0, len(r.Detail))
	for k := range r.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(keys))))
	for _, k := range keys {
		writeString(&b, k)
		writeString(&b, r.Detail[k])
	}
	writeString(&b, r.Prev)
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
	b.WriteString(s)
}

// Hash returns the SHA-256 of SignedBytes followed by the signature
// (uint32 big-endian length, then its bytes). The next record's Prev is the
// hex form of this hash.
func (r *Record) Hash() [32]byte {
	h := sha256.New()
	h.Write(r.SignedBytes())
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(r.Sig))))
	h.Write(r.Sig)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Link makes r the successor of prev: Seq = prev.Seq+1 and Prev = hex of
// prev.Hash(). With prev == nil, r becomes record 1 with an empty Prev.
// Link must be called before SignWith, since both fields are signed.
func (r *Record) Link(prev *Record) {
	if prev == nil {
		r.Seq, r.Prev = 1, ""
		return
	}
	h := prev.Hash()
	r.Seq, r.Prev = prev.Seq+1, hex.EncodeToString(h[:])
}

// Signer signs an audit record on behalf of the person who acted.
type Signer interface {
	Sign(msg []byte) []byte
}

// SignWith sets r.Sig to s's signature over r.SignedBytes().
func (r *Record) SignWith(s Signer) {
	r.Sig = s.Sign(r.SignedBytes())
}

// Ed25519Signer adapts an Ed25519 private key to Signer.
func Ed25519Signer(key ed25519.PrivateKey) Signer { return edSigner(key) }

type edSigner ed25519.PrivateKey

func (k edSigner) Sign(msg []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(k), msg) }

// Encode returns the stored form of r: the schema byte SchemaV1 followed by
// the record as JSON (with Time in UTC). r must have been linked (Seq > 0).
func Encode(r *Record) ([]byte, error) {
	if r == nil {
		return nil, errors.New("audit: encode nil record")
	}
	if r.Seq == 0 {
		return nil, errors.New("audit: encode record without a sequence number (call Link first)")
	}
	c := *r
	c.Time = r.Time.UTC()
	j, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("audit: encode record %d: %w", r.Seq, err)
	}
	return append([]byte{SchemaV1}, j...), nil
}

// Decode parses a record written by Encode. It rejects unknown schema bytes,
// unknown JSON fields, trailing data and records without a sequence number.
func Decode(b []byte) (*Record, error) {
	if len(b) == 0 {
		return nil, errors.New("audit: decode empty record")
	}
	if b[0] != SchemaV1 {
		return nil, fmt.Errorf("audit: unknown record schema %d", b[0])
	}
	body := b[1:]
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("audit: decode record: %w", err)
	}
	if dec.InputOffset() != int64(len(body)) {
		return nil, errors.New("audit: decode record: trailing data after record")
	}
	if r.Seq == 0 {
		return nil, errors.New("audit: decode record: missing sequence number")
	}
	return &r, nil
}
