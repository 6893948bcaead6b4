package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/notevault/notevault/policy"
)

// The plaintext inside a note's age file: a short header, a blank line, then
// the body. It is what `age -d` prints for an exported note, so it stays
// readable without notevault:
//
//	title: First session
//	tags: goals, portfolio
//	note: n-abc…
//	agreement: a-def…
//	kind: session
//	nonce: <22 characters>
//
//	We agreed to ...
//
// note, agreement and kind bind the plaintext to its place: a copy moved
// under another note's metadata is refused after decryption. The random
// nonce makes the commitment to the plaintext (commitOf, signed by the
// author in the note's metadata) useless for guessing a note's content.

// Content is a note's secret part: everything here is encrypted.
type Content struct {
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
	Body  []byte   `json:"body"`
}

func (c *Content) validate() error {
	if strings.ContainsAny(c.Title, "\r\n") {
		return invalid("the title must be one line")
	}
	for _, t := range c.Tags {
		if t == "" || strings.ContainsAny(t, ",\r\n") {
			return invalid("tag %q must be non-empty, one line and contain no comma", t)
		}
	}
	return nil
}

// envelope is Content with the place it belongs to.
type envelope struct {
	Content
	Note, Agreement string
	Kind            policy.Kind
	Nonce           []byte
}

func (e *envelope) marshal() []byte {
	var b bytes.Buffer
	b.WriteString("title: " + e.Title)
	b.WriteString("\ntags: " + strings.Join(e.Tags, ", "))
	b.WriteString("\nnote: " + e.Note)
	b.WriteString("\nagreement: " + e.Agreement)
	b.WriteString("\nkind: " + string(e.Kind))
	b.WriteString("\nnonce: " + base64.RawURLEncoding.EncodeToString(e.Nonce))
	b.WriteString("\n\n")
	b.Write(e.Body)
	return b.Bytes()
}

var errEnvelope = integrity("note", "the decrypted plaintext is not in notevault's format")

func unmarshalEnvelope(p []byte) (*envelope, error) {
	head, body, ok := bytes.Cut(p, []byte("\n\n"))
	if !ok {
		return nil, errEnvelope
	}
	want := []string{"title", "tags", "note", "agreement", "kind", "nonce"}
	lines := strings.Split(string(head), "\n")
	if len(lines) != len(want) {
		return nil, errEnvelope
	}
	vals := make([]string, len(want))
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			k, ok = strings.CutSuffix(l, ":")
		}
		if !ok || k != want[i] {
			return nil, errEnvelope
		}
		vals[i] = v
	}
	e := &envelope{Content: Content{Title: vals[0], Body: body}, Note: vals[2], Agreement: vals[3], Kind: policy.Kind(vals[4])}
	if t := strings.TrimSpace(vals[1]); t != "" {
		for _, tag := range strings.Split(t, ",") {
			e.Tags = append(e.Tags, strings.TrimSpace(tag))
		}
	}
	nonce, err := base64.RawURLEncoding.DecodeString(vals[5])
	if err != nil {
		return nil, errEnvelope
	}
	e.Nonce = nonce
	return e, nil
}

// commitDomain starts what commitOf hashes.
const commitDomain = "notevault note content v1\n"

// commitOf is the author's commitment to a note's plaintext: hex SHA-256
// over a domain line and the plaintext envelope.
func commitOf(plain []byte) string {
	h := sha256.New()
	h.Write([]byte(commitDomain))
	h.Write(plain)
	return hex.EncodeToString(h.Sum(nil))
}
