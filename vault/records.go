package vault

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/notevault/notevault/policy"
)

// canon builds the canonical bytes a person signs for a record: a domain
// line naming the kind of record and its format, then each field in a fixed
// order, every variable-length field prefixed with its uint32 big-endian
// length. No reflection, no field names: a record's bytes are written out by
// hand next to its type, and a known-answer test pins each.
type canon struct{ b []byte }

func newCanon(domain string) *canon { return &canon{b: []byte(domain + "\n")} }

func (c *canon) str(s string) *canon {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
	return c
}

func (c *canon) bytes(p []byte) *canon {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(p)))
	c.b = append(c.b, p...)
	return c
}

func (c *canon) u64(n uint64) *canon {
	c.b = binary.BigEndian.AppendUint64(c.b, n)
	return c
}

// time writes Unix seconds (int64) and nanoseconds (uint32); the zero time
// is written as a flag byte 0 alone, any other as 1 and the two numbers.
func (c *canon) time(t time.Time) *canon {
	if t.IsZero() {
		c.b = append(c.b, 0)
		return c
	}
	c.b = append(c.b, 1)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(t.Unix()))
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(t.Nanosecond()))
	return c
}

func (c *canon) strs(ss []string) *canon {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(ss)))
	for _, s := range ss {
		c.str(s)
	}
	return c
}

// Fact types: every change to who may read what in an agreement is one
// signed fact in the agreement's chain.
const (
	factPropose  = "propose"  // a version of the agreement (v1 by the vault, amendments by a party)
	factAccept   = "accept"   // a party accepts the newest version, pinning every party's key
	factConsent  = "consent"  // the mentee consents to a supervisor seeing kinds of note
	factWithdraw = "withdraw" // a consent ends
	factGrant    = "grant"    // a party grants a supervisor time-limited access
	factRevoke   = "revoke"   // a grant ends
	factDisclose = "disclose" // a confidentiality exception is used
	factHold     = "hold"     // a legal hold is placed
	factRelease  = "release"  // a legal hold ends

	factAttest           = "attest"            // a party attests a success criterion, or confirms the other's attestation
	factReject           = "reject"            // the other party rejects a pending version
	factWithdrawProposal = "withdraw-proposal" // the proposer withdraws a pending version

	factClose = "close" // the mentor or the mentee ends the agreement
)

// fact is one link of an agreement's chain, stored at f/<agreement>/<seq>.
// Body is the JSON of the type's body; it is signed as the bytes stored, so
// what was signed is exactly what is read back.
type fact struct {
	Agreement string    `json:"agreement"`
	Seq       uint64    `json:"seq"`
	Prev      string    `json:"prev"` // hex hash of fact Seq-1; "" for the first
	Type      string    `json:"type"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
	Body      []byte    `json:"body"`
	Sig       []byte    `json:"sig,omitempty"`
}

// signedBytes:
//
//	"notevault fact v1\n" agreement seq prev type actor at body
func (f *fact) signedBytes() []byte {
	return newCanon("notevault fact v1").str(f.Agreement).u64(f.Seq).str(f.Prev).str(f.Type).
		str(f.Actor).time(f.At).bytes(f.Body).b
}

// hash is SHA-256 over the signed bytes and the signature, in hex: the next
// fact's Prev, and what users pin.
func (f *fact) hash() string {
	h := sha256.New()
	h.Write(f.signedBytes())
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f.Sig))))
	h.Write(f.Sig)
	return hex.EncodeToString(h.Sum(nil))
}

func (f *fact) decode(v any) error {
	if err := json.Unmarshal(f.Body, v); err != nil {
		return fmt.Errorf("body does not decode: %w", err)
	}
	return nil
}

// Fact bodies. Who acted and when are the fact's Actor and At.
type (
	proposeBody struct {
		Version int      `json:"version"`
		Terms   termsDoc `json:"terms"`
		Text    string   `json:"text"` // hex SHA-256 of the sealed agreement text
		// Schema is the agreement schema the text was written under
		// (agreement.Schema then); absent in versions proposed before
		// schemas were recorded, which are schema 1.
		Schema int `json:"schema,omitempty"`
		// Review is the review schedule the text states, as a period
		// ("90d"), kept in the clear so that agreement due needs no key;
		// empty for none and in versions proposed before schedules.
		Review string `json:"review,omitempty"`
	}
	acceptBody struct {
		Version int               `json:"version"`
		Pins    map[string]string `json:"pins"` // party -> key fingerprint
	}
	consentBody struct {
		ID      string        `json:"id"`
		Version int           `json:"version"`
		Grantee string        `json:"grantee"`
		Kinds   []policy.Kind `json:"kinds"`
		Until   time.Time     `json:"until,omitzero"`
	}
	withdrawBody struct {
		Consent string `json:"consent"`
	}
	grantBody struct {
		ID      string        `json:"id"`
		Consent string        `json:"consent"`
		Grantee string        `json:"grantee"`
		Kinds   []policy.Kind `json:"kinds"`
		Expires time.Time     `json:"expires"`
	}
	revokeBody struct {
		Grant string `json:"grant"`
	}
	discloseBody struct {
		ID     string `json:"id"`
		Note   string `json:"note"`
		To     string `json:"to"`
		Reason string `json:"reason"`
		// Statement is the hex SHA-256 of the sealed statement of why
		// (empty in disclosures made before statements were committed to).
		Statement string `json:"statement,omitempty"`
	}
	holdBody struct {
		ID     string    `json:"id"`
		Note   string    `json:"note,omitempty"`
		Reason string    `json:"reason"`          // hex SHA-256 of the sealed reason
		Review time.Time `json:"review,omitzero"` // when the hold is to be reviewed (zero: no date)
	}
	releaseBody struct {
		Hold string `json:"hold"`
	}
	// attestBody proposes an attestation (ID set, Confirms empty) or
	// confirms the other party's (Confirms set to its id, nothing else):
	// an attestation counts once both mentor and mentee signed it. What it
	// says (criterion, status, evidence note) is sealed to the agreement's
	// parties; the fact commits to the sealed file by hash, so the second
	// signature is on exactly what the first party said.
	attestBody struct {
		ID       string `json:"id,omitempty"`
		Version  int    `json:"version,omitempty"` // the version in force it was made under
		Sealed   string `json:"sealed,omitempty"`  // hex SHA-256 of the sealed statement
		Confirms string `json:"confirms,omitempty"`
	}
	// rejectBody and withdrawProposalBody end a pending version: the other
	// party rejects it, or its proposer withdraws it.
	rejectBody struct {
		Version int `json:"version"`
	}
	withdrawProposalBody struct {
		Version int `json:"version"`
	}
	// closeBody ends the agreement. Its reason, if any, is sealed to mentor
	// and mentee like a hold's; the fact commits to the sealed file by hash.
	closeBody struct {
		Reason string `json:"reason,omitempty"` // hex SHA-256 of the sealed reason
	}
)

// noteMeta is what a note's author signs: where it belongs, who reads it,
// when it goes, and a commitment to its plaintext (see Content).
type noteMeta struct {
	ID        string      `json:"id"`
	Agreement string      `json:"agreement"`
	Version   int         `json:"version"`
	Kind      policy.Kind `json:"kind"`
	Author    string      `json:"author"`
	Readers   []string    `json:"readers"`
	Created   time.Time   `json:"created"`
	Expires   time.Time   `json:"expires"`
	Commit    string      `json:"commit"` // hex SHA-256 of the plaintext envelope
	// Segments, for a large note, is the digest of its list of segment
	// hashes (segments.go); empty for a note stored inline.
	Segments string `json:"segments,omitempty"`
}

// signedBytes:
//
//	"notevault note v1\n" id agreement version kind author readers created expires commit
//
// and for a large note (Segments set):
//
//	"notevault note v2\n" id agreement version kind author readers created expires commit segments
func (m *noteMeta) signedBytes() []byte {
	domain := "notevault note v1"
	if m.Segments != "" {
		domain = "notevault note v2"
	}
	c := newCanon(domain).str(m.ID).str(m.Agreement).u64(uint64(m.Version)).
		str(string(m.Kind)).str(m.Author).strs(m.Readers).time(m.Created).time(m.Expires).str(m.Commit)
	if m.Segments != "" {
		c.str(m.Segments)
	}
	return c.b
}

// IntegrityError reports a stored record that fails verification: a
// signature that does not check out, a broken chain, a key that no longer
// matches its pin. It means the store was changed outside notevault.
type IntegrityError struct {
	What   string // "agreement a-x fact 7", "note n-y", "participant bob"
	Reason string
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("%s: %s: the store was changed outside notevault", e.What, e.Reason)
}

func integrity(what, format string, args ...any) error {
	return &IntegrityError{What: what, Reason: fmt.Sprintf(format, args...)}
}
