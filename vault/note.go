package vault

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Note is a note's metadata: what policy and retention need, nothing more.
// Title, tags and body live only inside the age file.
type Note struct {
	ID        string      `json:"id"`
	Agreement string      `json:"agreement"`
	Version   int         `json:"version"`
	Kind      policy.Kind `json:"kind"`
	Author    string      `json:"author"`
	Created   time.Time   `json:"created"`
	Expires   time.Time   `json:"expires"`
	Readers   []string    `json:"readers"`
	Bucket    string      `json:"bucket"`           // shred bucket of the note's own copy
	Holds     []string    `json:"holds,omitempty"`  // ids of legal holds on this note
	Copies    []string    `json:"copies,omitempty"` // blob ids of supervisor and disclosure copies
}

// Held reports whether a legal hold suspends the note's expiry.
func (n *Note) Held() bool { return len(n.Holds) > 0 }

func (n *Note) policy() policy.Note {
	return policy.Note{ID: n.ID, Agreement: n.Agreement, Version: n.Version, Kind: n.Kind, Author: n.Author,
		Created: n.Created, Expires: n.Expires, Readers: n.Readers, Held: n.Held()}
}

// NewNote is what a writer hands AddNote.
type NewNote struct {
	Agreement string
	Kind      policy.Kind
	Content
}

// recipients resolves participant names to age recipients, refusing to mix
// post-quantum and classic keys in one file (age would refuse too, less
// helpfully).
func (v *Vault) recipients(txn *badger.Txn, names []string) ([]age.Recipient, error) {
	keys := make([]identity.PublicKey, len(names))
	for i, name := range names {
		p, err := v.participant(txn, name)
		if err != nil {
			return nil, err
		}
		keys[i] = p.Public
	}
	if err := identity.CheckMix(names, keys); err != nil {
		return nil, invalid("%v", err)
	}
	out := make([]age.Recipient, len(keys))
	for i, k := range keys {
		r, err := k.AgeRecipient()
		if err != nil {
			return nil, fmt.Errorf("participant %s: %w", names[i], err)
		}
		out[i] = r
	}
	return out, nil
}

func encryptTo(plaintext []byte, rs []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	return buf.Bytes(), nil
}

func decryptWith(ageFile []byte, id *identity.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ageFile), id.AgeIdentity())
	if err != nil {
		return nil, ErrNoKey
	}
	return io.ReadAll(r)
}

// AddNote encrypts a note to exactly the readers its agreement gives its kind
// and stores it, with a copy for every live supervisor grant that covers the
// kind, and an audit record, in one transaction.
func (v *Vault) AddNote(ctx context.Context, nn NewNote, id *identity.Identity) (*Note, error) {
	if err := nn.Content.validate(); err != nil {
		return nil, err
	}
	noteID, err := v.newID("n")
	if err != nil {
		return nil, err
	}
	plain := nn.Content.marshal()
	defer clear(plain)
	var n *Note
	err = v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		a, err := v.agreement(txn, nn.Agreement)
		if err != nil {
			return err
		}
		cur := a.Current()
		if cur == nil {
			return denied(policy.Decision{Outcome: policy.Deny, Rule: "not-accepted",
				Reason: fmt.Sprintf("agreement %s is not in force: both %s and %s must accept it first", a.ID, a.Latest().Parsed.Mentor, a.Latest().Parsed.Mentee)})
		}
		terms := a.Terms(cur)
		if d := policy.WriteNote(me.Name, nn.Kind, terms); !d.Allowed() {
			return denied(d)
		}
		now := v.Now()
		n = &Note{ID: noteID, Agreement: a.ID, Version: cur.Version, Kind: nn.Kind, Author: me.Name,
			Created: now, Expires: now.Add(terms.Retention[nn.Kind]), Readers: terms.ReadersFor(nn.Kind, me.Name)}
		rs, err := v.recipients(txn, n.Readers)
		if err != nil {
			return err
		}
		ageFile, err := encryptTo(plain, rs)
		if err != nil {
			return err
		}
		if n.Bucket, err = v.putBlob(txn, n.ID, expiryBase(n.Expires), ageFile); err != nil {
			return err
		}
		if n.Holds, err = v.activeAgreementHolds(txn, a.ID); err != nil {
			return err
		}
		if err := v.copyForGrants(txn, n, plain, now); err != nil {
			return err
		}
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

func (v *Vault) putNote(txn *badger.Txn, n *Note) error {
	if err := put(txn, pNote+n.ID, n); err != nil {
		return err
	}
	return txn.Set([]byte(expiryKey(n.Expires.Unix(), n.ID)), nil)
}

func (v *Vault) note(txn *badger.Txn, id string) (*Note, error) {
	var n Note
	if err := getRecord(txn, pNote, "note", id, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// GetNote returns a note's metadata.
func (v *Vault) GetNote(ctx context.Context, id string) (*Note, error) {
	var n *Note
	err := v.view(func(txn *badger.Txn) (err error) {
		n, err = v.note(txn, id)
		return err
	})
	return n, err
}

// decide asks policy whether name may read n now.
func (v *Vault) decide(txn *badger.Txn, name string, n *Note) (policy.Decision, error) {
	f, err := v.facts(txn, n.Agreement, n.ID)
	if err != nil {
		return policy.Decision{}, err
	}
	return policy.Read(name, n.policy(), f, v.Now()), nil
}

// Explain returns the policy decision on whether participant name may read
// the note now. It changes nothing and logs nothing.
func (v *Vault) Explain(ctx context.Context, noteID, name string) (policy.Decision, error) {
	var d policy.Decision
	err := v.view(func(txn *badger.Txn) error {
		if _, err := v.participant(txn, name); err != nil {
			return err
		}
		n, err := v.note(txn, noteID)
		if err != nil {
			return err
		}
		d, err = v.decide(txn, name, n)
		return err
	})
	return d, err
}

// Plain is a decrypted note.
type Plain struct {
	Note     *Note           `json:"note"`
	Content  *Content        `json:"content"`
	Decision policy.Decision `json:"-"`
}

// ReadNote decrypts a note for id if policy allows it. The read is written to
// the audit log before the plaintext is returned; if the log cannot be
// written, nothing is returned.
func (v *Vault) ReadNote(ctx context.Context, noteID string, id *identity.Identity) (*Plain, error) {
	ageFile, n, d, me, err := v.openFor(noteID, id)
	if err != nil {
		return nil, err
	}
	plain, err := decryptWith(ageFile, id)
	if err != nil {
		return nil, err
	}
	c, err := unmarshalContent(plain)
	if err != nil {
		return nil, err
	}
	if err := v.logAccess(id, me, n, d, "note.read"); err != nil {
		return nil, err
	}
	return &Plain{Note: n, Content: c, Decision: d}, nil
}

// ExportNote returns the note as a standard age file that id's own key opens
// (`age -d -i FILE`). Exporting is a read: it is decided and logged as one.
func (v *Vault) ExportNote(ctx context.Context, noteID string, id *identity.Identity) ([]byte, error) {
	ageFile, n, d, me, err := v.openFor(noteID, id)
	if err != nil {
		return nil, err
	}
	// Check the key really opens it before handing out the file.
	if _, err := decryptWith(ageFile, id); err != nil {
		return nil, err
	}
	if err := v.logAccess(id, me, n, d, "note.export"); err != nil {
		return nil, err
	}
	return ageFile, nil
}

// openFor decides a read and returns the age file of the copy the decision
// rests on: the note itself for its readers, the grant's or disclosure's copy
// otherwise.
func (v *Vault) openFor(noteID string, id *identity.Identity) ([]byte, *Note, policy.Decision, *Participant, error) {
	var (
		ageFile []byte
		n       *Note
		d       policy.Decision
		me      *Participant
	)
	err := v.view(func(txn *badger.Txn) error {
		var err error
		if me, err = v.whoami(txn, id); err != nil {
			return err
		}
		if n, err = v.note(txn, noteID); err != nil {
			return err
		}
		if d, err = v.decide(txn, me.Name, n); err != nil {
			return err
		}
		if !d.Allowed() {
			return denied(d)
		}
		blob := n.ID
		switch d.Rule {
		case "grant":
			blob = grantCopyID(d.Basis, n.ID)
		case "disclosure":
			blob = d.Basis
		}
		ageFile, err = v.getBlob(txn, blob)
		return err
	})
	return ageFile, n, d, me, err
}

func (v *Vault) logAccess(id *identity.Identity, me *Participant, n *Note, d policy.Decision, action string) error {
	return v.update(func(txn *badger.Txn) error {
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: action, Agreement: n.Agreement, Subject: n.ID,
			Kind: string(n.Kind), Rule: d.Rule, Detail: map[string]string{"basis": d.Basis, "author": n.Author}}, id)
	})
}

// NoteFilter narrows ListNotes.
type NoteFilter struct {
	Agreement string
	Kind      policy.Kind
	// Reader, when set, keeps only the notes this participant may read now.
	Reader string
}

// ListNotes lists note metadata, oldest first. It reads only the small
// metadata records, never ciphertexts.
func (v *Vault) ListNotes(ctx context.Context, f NoteFilter) ([]*Note, error) {
	var out []*Note
	err := v.view(func(txn *badger.Txn) error {
		facts := map[string]policy.Facts{}
		return scan(txn, pNote, func(_ string, n *Note) error {
			if (f.Agreement != "" && n.Agreement != f.Agreement) || (f.Kind != "" && n.Kind != f.Kind) {
				return nil
			}
			if f.Reader != "" {
				fa, ok := facts[n.Agreement]
				if !ok {
					var err error
					if fa, err = v.facts(txn, n.Agreement, ""); err != nil {
						return err
					}
					facts[n.Agreement] = fa
				}
				fn := fa
				if len(n.Copies) > 0 {
					var err error
					if fn.Disclosures, err = v.disclosures(txn, n.ID); err != nil {
						return err
					}
				}
				if !policy.Read(f.Reader, n.policy(), fn, v.Now()).Allowed() {
					return nil
				}
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}
