package vault

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/audit"
	"github.com/notevault/notevault/vault/identity"
)

func kindsString(ks []policy.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// termsInForce returns the agreement and its current terms, refusing when no
// version is in force.
func (v *Vault) termsInForce(txn *badger.Txn, agreementID string) (*Agreement, policy.Terms, error) {
	a, err := v.agreement(txn, agreementID)
	if err != nil {
		return nil, policy.Terms{}, err
	}
	cur := a.Current()
	if cur == nil {
		return nil, policy.Terms{}, denied(policy.Decision{Outcome: policy.Deny, Rule: "not-accepted",
			Reason: fmt.Sprintf("agreement %s is not in force: both %s and %s must accept it first", a.ID, a.Latest().Parsed.Mentor, a.Latest().Parsed.Mentee)})
	}
	return a, a.Terms(cur), nil
}

// GiveConsent records the mentee's signed consent that grantee may be granted
// access to the given kinds, until the given time (zero: until withdrawn).
func (v *Vault) GiveConsent(ctx context.Context, agreementID, grantee string, kinds []policy.Kind, until time.Time, id *identity.Identity) (*policy.Consent, error) {
	cid, err := v.newID("c")
	if err != nil {
		return nil, err
	}
	var c policy.Consent
	err = v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		_, t, err := v.termsInForce(txn, agreementID)
		if err != nil {
			return err
		}
		if _, err := v.participant(txn, grantee); err != nil {
			return err
		}
		if d := policy.GiveConsent(me.Name, grantee, kinds, t); !d.Allowed() {
			return denied(d)
		}
		now := v.Now()
		if !until.IsZero() && !until.After(now) {
			return invalid("the consent would end at %s, which is not in the future", policy.FormatTime(until))
		}
		c = policy.Consent{ID: cid, Agreement: agreementID, Version: t.Version, Grantor: me.Name, Grantee: grantee,
			Kinds: kinds, GivenAt: now, Until: until.UTC()}
		if err := put(txn, pConsent+cid, consentRec{Consent: c, Sig: id.Sign(sigBytes("consent", c))}); err != nil {
			return err
		}
		detail := map[string]string{"to": grantee, "kinds": kindsString(kinds)}
		if !until.IsZero() {
			detail["until"] = until.UTC().Format(time.RFC3339)
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "consent.give", Agreement: agreementID, Subject: cid,
			Rule: "consent", Detail: detail}, id)
	})
	c.Verified = err == nil
	return &c, err
}

// WithdrawConsent ends a consent now. Every grant that rested on it ends with
// it, and the supervisor's copies are destroyed before this returns.
func (v *Vault) WithdrawConsent(ctx context.Context, consentID string, id *identity.Identity) error {
	var grants []string
	err := v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		var c consentRec
		if err := getRecord(txn, pConsent, "consent", consentID, &c); err != nil {
			return err
		}
		a, err := v.agreement(txn, c.Agreement)
		if err != nil {
			return err
		}
		t := a.Terms(a.Latest())
		if cur := a.Current(); cur != nil {
			t = a.Terms(cur)
		}
		now := v.Now()
		if d := policy.WithdrawConsent(me.Name, c.Consent, t); !d.Allowed() {
			return denied(d)
		}
		c.WithdrawnAt = now
		if err := put(txn, pConsent+consentID, c); err != nil {
			return err
		}
		if err := scan(txn, pGrant, func(_ string, g *grantRec) error {
			if g.Consent == consentID {
				grants = append(grants, g.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "consent.withdraw", Agreement: c.Agreement, Subject: consentID,
			Rule: "withdraw", Detail: map[string]string{"grants_ended": strings.Join(grants, ",")}}, id)
	})
	if err != nil {
		return err
	}
	return v.destroyGrantCopies(grants, "consent-withdrawn")
}

// Consents lists an agreement's consents with their signatures checked.
func (v *Vault) Consents(ctx context.Context, agreementID string) ([]policy.Consent, error) {
	var out []policy.Consent
	err := v.view(func(txn *badger.Txn) error {
		if _, err := v.agreement(txn, agreementID); err != nil {
			return err
		}
		f, err := v.facts(txn, agreementID, "")
		out = f.Consents
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].GivenAt.Before(out[j].GivenAt) })
	return out, err
}

// Grants lists an agreement's grants with their signatures checked, each with
// the policy's verdict on whether it is live now.
func (v *Vault) Grants(ctx context.Context, agreementID string) ([]policy.Grant, []policy.Decision, error) {
	var out []policy.Grant
	var live []policy.Decision
	err := v.view(func(txn *badger.Txn) error {
		if _, err := v.agreement(txn, agreementID); err != nil {
			return err
		}
		f, err := v.facts(txn, agreementID, "")
		if err != nil {
			return err
		}
		out = f.Grants
		sort.Slice(out, func(i, j int) bool { return out[i].Issued.Before(out[j].Issued) })
		for _, g := range out {
			live = append(live, policy.GrantLive(g, f, v.Now()))
		}
		return nil
	})
	return out, live, err
}

// AddGrant gives a supervisor time-limited access to the consented kinds of
// an agreement's notes. The granter's key opens each covered note and a copy
// is sealed to the supervisor alone, in the grant's own bucket; notes written
// later get their copy when they are written. It returns the grant and how
// many notes it copied.
func (v *Vault) AddGrant(ctx context.Context, agreementID, grantee string, kinds []policy.Kind, dur time.Duration, id *identity.Identity) (*policy.Grant, int, error) {
	if dur <= 0 {
		return nil, 0, invalid("a grant must last longer than zero")
	}
	gid, err := v.newID("g")
	if err != nil {
		return nil, 0, err
	}
	var g policy.Grant
	copied := 0
	err = v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		if _, _, err := v.termsInForce(txn, agreementID); err != nil {
			return err
		}
		if _, err := v.participant(txn, grantee); err != nil {
			return err
		}
		f, err := v.facts(txn, agreementID, "")
		if err != nil {
			return err
		}
		now := v.Now()
		d, c := policy.GrantAccess(me.Name, grantee, kinds, f, now)
		if !d.Allowed() {
			return denied(d)
		}
		g = policy.Grant{ID: gid, Agreement: agreementID, Consent: c.ID, GrantedBy: me.Name, Grantee: grantee,
			Kinds: kinds, Issued: now, Expires: now.Add(dur)}
		if !c.Until.IsZero() && c.Until.Before(g.Expires) {
			g.Expires = c.Until // a grant never outlives its consent
		}
		if err := put(txn, pGrant+gid, grantRec{Grant: g, Sig: id.Sign(sigBytes("grant", g))}); err != nil {
			return err
		}
		rs, err := v.recipients(txn, []string{grantee})
		if err != nil {
			return err
		}
		var notes []*Note
		if err := scan(txn, pNote, func(_ string, n *Note) error {
			if n.Agreement == agreementID && covers(kinds, n.Kind) {
				notes = append(notes, n)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, n := range notes {
			if !n.Expires.After(now) || !policy.Read(me.Name, n.policy(), f, now).Allowed() {
				continue // expired, or not the granter's to share
			}
			ageFile, err := v.getBlob(txn, n.ID)
			if err != nil {
				return err
			}
			plain, err := decryptWith(ageFile, id)
			if err != nil {
				return err
			}
			cp, err := encryptTo(plain, rs)
			clear(plain)
			if err != nil {
				return err
			}
			blob := grantCopyID(gid, n.ID)
			if _, err := v.putBlob(txn, blob, gid, cp); err != nil {
				return err
			}
			n.Copies = append(n.Copies, blob)
			if err := put(txn, pNote+n.ID, n); err != nil {
				return err
			}
			copied++
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "grant.add", Agreement: agreementID, Subject: gid,
			Rule: "grant", Detail: map[string]string{"to": grantee, "kinds": kindsString(kinds), "consent": c.ID,
				"expires": g.Expires.Format(time.RFC3339), "copies": fmt.Sprint(copied)}}, id)
	})
	if err != nil {
		return nil, 0, err
	}
	g.Verified = true
	return &g, copied, nil
}

// RevokeGrant ends a grant now and destroys the supervisor's copies.
func (v *Vault) RevokeGrant(ctx context.Context, grantID string, id *identity.Identity) error {
	err := v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		var g grantRec
		if err := getRecord(txn, pGrant, "grant", grantID, &g); err != nil {
			return err
		}
		a, err := v.agreement(txn, g.Agreement)
		if err != nil {
			return err
		}
		if d := policy.RevokeGrant(me.Name, g.Grant, a.Terms(a.Latest())); !d.Allowed() {
			return denied(d)
		}
		g.RevokedAt = v.Now()
		if err := put(txn, pGrant+grantID, g); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "grant.revoke", Agreement: g.Agreement, Subject: grantID,
			Rule: "revoke"}, id)
	})
	if err != nil {
		return err
	}
	return v.destroyGrantCopies([]string{grantID}, "grant-revoked")
}

// destroyGrantCopies destroys every supervisor copy made under the grants,
// leaving a receipt per grant.
func (v *Vault) destroyGrantCopies(grantIDs []string, rule string) error {
	for _, gid := range grantIDs {
		var blobs []string
		var agreementID string
		if err := v.view(func(txn *badger.Txn) error {
			var g grantRec
			if err := get(txn, pGrant+gid, &g); err == nil {
				agreementID = g.Agreement
			}
			return scanKeys(txn, pMember+gid+".", func(k string) error {
				_, blob, _ := strings.Cut(strings.TrimPrefix(k, pMember), "/")
				blobs = append(blobs, blob)
				return nil
			})
		}); err != nil {
			return err
		}
		if len(blobs) == 0 {
			continue
		}
		err := v.destroyBlobs(blobs, func(txn *badger.Txn) error {
			return v.appendLog(txn, &audit.Record{Actor: ActorRetention, Action: "grant.copies.destroy", Agreement: agreementID,
				Subject: gid, Rule: rule, Detail: map[string]string{"copies": fmt.Sprint(len(blobs))}}, nil)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// EndedGrants returns the grants whose copies must be destroyed: no longer
// live (expired, revoked, consent withdrawn or lapsed, supervisor removed) but
// with copies left.
func (v *Vault) EndedGrants(ctx context.Context) (map[string]policy.Decision, error) {
	out := map[string]policy.Decision{}
	err := v.view(func(txn *badger.Txn) error {
		var grants []grantRec
		if err := scan(txn, pGrant, func(_ string, g *grantRec) error {
			grants = append(grants, *g)
			return nil
		}); err != nil {
			return err
		}
		facts := map[string]policy.Facts{}
		for _, g := range grants {
			has := false
			if err := scanKeys(txn, pMember+g.ID+".", func(string) error { has = true; return nil }); err != nil {
				return err
			}
			if !has {
				continue
			}
			f, ok := facts[g.Agreement]
			if !ok {
				var err error
				if f, err = v.facts(txn, g.Agreement, ""); err != nil {
					return err
				}
				facts[g.Agreement] = f
			}
			for _, fg := range f.Grants {
				if fg.ID == g.ID {
					if d := policy.GrantLive(fg, f, v.Now()); !d.Allowed() {
						out[g.ID] = d
					}
				}
			}
		}
		return nil
	})
	return out, err
}

// SweepGrants destroys the copies of every grant that has ended. It needs no
// participant's key. It returns the grants it ended.
func (v *Vault) SweepGrants(ctx context.Context) ([]string, error) {
	ended, err := v.EndedGrants(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ended))
	for id := range ended {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := v.destroyGrantCopies([]string{id}, ended[id].Rule); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Disclose records the use of a confidentiality exception: a reader of the
// note shares it with another participant, for a reason the agreement lists.
// The recipient gets a copy sealed to them alone, which expires with the note.
func (v *Vault) Disclose(ctx context.Context, noteID, to, reason, statement string, id *identity.Identity) (*policy.Disclosure, error) {
	if strings.TrimSpace(statement) == "" {
		return nil, invalid("a disclosure needs a statement of why")
	}
	did, err := v.newID("d")
	if err != nil {
		return nil, err
	}
	var d policy.Disclosure
	err = v.update(func(txn *badger.Txn) error {
		me, err := v.whoami(txn, id)
		if err != nil {
			return err
		}
		n, err := v.note(txn, noteID)
		if err != nil {
			return err
		}
		if _, err := v.participant(txn, to); err != nil {
			return err
		}
		f, err := v.facts(txn, n.Agreement, n.ID)
		if err != nil {
			return err
		}
		now := v.Now()
		if dec := policy.Disclose(me.Name, n.policy(), to, reason, f, now); !dec.Allowed() {
			return denied(dec)
		}
		ageFile, err := v.getBlob(txn, n.ID)
		if err != nil {
			return err
		}
		plain, err := decryptWith(ageFile, id)
		if err != nil {
			return err
		}
		rs, err := v.recipients(txn, []string{to})
		if err != nil {
			return err
		}
		cp, err := encryptTo(plain, rs)
		clear(plain)
		if err != nil {
			return err
		}
		if _, err := v.putBlob(txn, did, expiryBase(n.Expires), cp); err != nil {
			return err
		}
		// The statement is as secret as the note: it is sealed to the
		// discloser, the recipient and the mentee, and shredded with the note.
		whyTo := []string{me.Name}
		for _, p := range []string{to, f.Terms.Mentee} {
			if !slices.Contains(whyTo, p) {
				whyTo = append(whyTo, p)
			}
		}
		wrs, err := v.recipients(txn, whyTo)
		if err != nil {
			return err
		}
		why, err := encryptTo([]byte(statement), wrs)
		if err != nil {
			return err
		}
		if _, err := v.putBlob(txn, statementBlob(did), expiryBase(n.Expires), why); err != nil {
			return err
		}
		n.Copies = append(n.Copies, statementBlob(did))
		d = policy.Disclosure{ID: did, Note: n.ID, By: me.Name, To: to, Reason: reason, At: now}
		if err := put(txn, pDisclosure+did, disclosureRec{Disclosure: d, Sig: id.Sign(sigBytes("disclosure", d))}); err != nil {
			return err
		}
		n.Copies = append(n.Copies, did)
		if err := put(txn, pNote+n.ID, n); err != nil {
			return err
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "disclose", Agreement: n.Agreement, Subject: n.ID,
			Kind: string(n.Kind), Rule: "exception:" + reason, Detail: map[string]string{"to": to, "reason": reason,
				"disclosure": did}}, id)
	})
	d.Verified = err == nil
	return &d, err
}

func statementBlob(disclosureID string) string { return disclosureID + ".why" }

// DisclosureStatement returns a disclosure and the statement of why it was
// made, for the discloser, the recipient or the mentee. Reading it is logged.
func (v *Vault) DisclosureStatement(ctx context.Context, disclosureID string, id *identity.Identity) (*policy.Disclosure, string, error) {
	var (
		d    disclosureRec
		me   *Participant
		file []byte
	)
	err := v.view(func(txn *badger.Txn) error {
		var err error
		if me, err = v.whoami(txn, id); err != nil {
			return err
		}
		if err := getRecord(txn, pDisclosure, "disclosure", disclosureID, &d); err != nil {
			return err
		}
		a, err := v.agreementOfNote(txn, d.Note)
		if err != nil {
			return err
		}
		mentee := a.Latest().Parsed.Mentee
		if me.Name != d.By && me.Name != d.To && me.Name != mentee {
			return denied(policy.Decision{Outcome: policy.Deny, Rule: "not-party",
				Reason: fmt.Sprintf("the statement of disclosure %s is for %s, %s and the mentee %s", d.ID, d.By, d.To, mentee)})
		}
		file, err = v.getBlob(txn, statementBlob(disclosureID))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	plain, err := decryptWith(file, id)
	if err != nil {
		return nil, "", err
	}
	err = v.update(func(txn *badger.Txn) error {
		n, _ := v.note(txn, d.Note)
		agr := ""
		if n != nil {
			agr = n.Agreement
		}
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "disclosure.read", Agreement: agr, Subject: d.ID,
			Rule: "party"}, id)
	})
	if err != nil {
		return nil, "", err
	}
	return &d.Disclosure, string(plain), nil
}

// agreementOfNote loads the agreement a note was written under.
func (v *Vault) agreementOfNote(txn *badger.Txn, noteID string) (*Agreement, error) {
	n, err := v.note(txn, noteID)
	if err != nil {
		return nil, err
	}
	return v.agreement(txn, n.Agreement)
}
