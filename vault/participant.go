package vault

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

// Participant is a registered person: a name, a role and a public key.
type Participant struct {
	Name   string             `json:"name"`
	Role   policy.Role        `json:"role"`
	Public identity.PublicKey `json:"-"`
	Key    string             `json:"key"`
	Added  time.Time          `json:"added"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidName reports whether name can name a participant.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return invalid("participant name %q must be 1-32 lowercase letters, digits, '-' or '_', starting with a letter", name)
	}
	if name == ActorVault || name == ActorRetention {
		return invalid("participant name %q is reserved for the vault's own audit records", name)
	}
	return nil
}

// AddParticipant registers a participant. Names are unique; so are keys (one
// file is one person).
func (v *Vault) AddParticipant(ctx context.Context, name string, role policy.Role, key string) (*Participant, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if _, err := policy.ParseRole(string(role)); err != nil {
		return nil, invalid("%v", err)
	}
	pub, err := identity.ParsePublicKey(key)
	if err != nil {
		return nil, invalid("%v", err)
	}
	p := &Participant{Name: name, Role: role, Public: pub, Key: pub.String(), Added: v.Now()}
	err = v.update(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(pParticipant + name)); err == nil {
			return fmt.Errorf("participant %s: %w", name, ErrExists)
		} else if !isNotFound(err) {
			return err
		}
		var clash error
		if err := scan(txn, pParticipant, func(_ string, q *Participant) error {
			if q.Key == p.Key {
				clash = invalid("that key is already registered to %s: one identity is one person", q.Name)
			}
			return nil
		}); err != nil {
			return err
		}
		if clash != nil {
			return clash
		}
		if err := put(txn, pParticipant+name, p); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: ActorVault, Action: "participant.add", Subject: name,
			Detail: map[string]string{"role": string(role), "key": p.Key}}, nil)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Participants lists every participant, by name.
func (v *Vault) Participants(ctx context.Context) ([]*Participant, error) {
	var out []*Participant
	err := v.view(func(txn *badger.Txn) error {
		return scan(txn, pParticipant, func(_ string, p *Participant) error {
			if err := p.load(); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func (p *Participant) load() error {
	pub, err := identity.ParsePublicKey(p.Key)
	if err != nil {
		return fmt.Errorf("participant %s: stored key: %w", p.Name, err)
	}
	p.Public = pub
	return nil
}

func (v *Vault) participant(txn *badger.Txn, name string) (*Participant, error) {
	var p Participant
	if err := getRecord(txn, pParticipant, "participant", name, &p); err != nil {
		return nil, err
	}
	return &p, p.load()
}

// Whoami returns the participant that id belongs to.
func (v *Vault) Whoami(ctx context.Context, id *identity.Identity) (*Participant, error) {
	var me *Participant
	err := v.view(func(txn *badger.Txn) error {
		var err error
		me, err = v.whoami(txn, id)
		return err
	})
	return me, err
}

func (v *Vault) whoami(txn *badger.Txn, id *identity.Identity) (*Participant, error) {
	if id == nil {
		return nil, ErrNotParticipant
	}
	want := id.Public()
	var me *Participant
	err := scan(txn, pParticipant, func(_ string, p *Participant) error {
		if err := p.load(); err != nil {
			return err
		}
		if p.Public.Equal(want) {
			me = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if me == nil {
		return nil, ErrNotParticipant
	}
	return me, nil
}
