package vault

import (
	"bytes"
	"errors"
	"strings"
)

// The plaintext inside a note's age file: a short header with the title and
// tags, a blank line, then the body. It is what `age -d` prints for an
// exported note, so it stays readable without notevault.
//
//	title: First session
//	tags: goals, portfolio
//
//	We agreed to ...

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

func (c *Content) marshal() []byte {
	var b bytes.Buffer
	b.WriteString("title: ")
	b.WriteString(c.Title)
	b.WriteString("\ntags: ")
	b.WriteString(strings.Join(c.Tags, ", "))
	b.WriteString("\n\n")
	b.Write(c.Body)
	return b.Bytes()
}

var errEnvelope = errors.New("decrypted note is not in notevault's format")

func unmarshalContent(p []byte) (*Content, error) {
	title, rest, ok := bytes.Cut(p, []byte("\n"))
	if !ok || !bytes.HasPrefix(title, []byte("title: ")) {
		return nil, errEnvelope
	}
	tags, body, ok := bytes.Cut(rest, []byte("\n\n"))
	if !ok || !bytes.HasPrefix(tags, []byte("tags: ")) {
		return nil, errEnvelope
	}
	c := &Content{Title: string(title[len("title: "):]), Body: body}
	if t := strings.TrimSpace(string(tags[len("tags: "):])); t != "" {
		for _, tag := range strings.Split(t, ",") {
			c.Tags = append(c.Tags, strings.TrimSpace(tag))
		}
	}
	return c, nil
}
