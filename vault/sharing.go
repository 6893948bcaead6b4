package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/kv"

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

// inForce begins an action that needs a version in force.
func (v *Vault) inForce(txn kv.Txn, id *identity.Identity, agreementID string) (*action, policy.Terms, error) {
	act, err := v.begin(txn, id, agreementID)
	if err != nil {
		return nil, policy.Terms{}, err
	}
	a := act.agreement
	if d := policy.InForce(a.Terms(a.Latest()), a.Current() != nil); !d.Allowed() {
		return nil, policy.Terms{}, denied(d)
	}
	return act, a.Terms(a.Current()), nil
}

// GiveConsent records the mentee's signed consent that grantee may be granted
// access to the given kinds, until the given time (zero: until the
// agreement's cap on consents, policy.ConsentUntil).
func (v *Vault) GiveConsent(ctx context.Context, agreementID, grantee string, kinds []policy.Kind, until time.Time, id *identity.Identity) (*policy.Consent, error) {
	cid, err := v.newID("c")
	if err != nil {
		return nil, err
	}
	var c policy.Consent
	err = v.update(func(txn kv.Txn) error {
		act, t, err := v.inForce(txn, id, agreementID)
		if err != nil {
			return err
		}
		if _, err := v.participant(txn, grantee); err != nil {
			return err
		}
		if d := policy.GiveConsent(act.me.Name, grantee, kinds, t); !d.Allowed() {
			return denied(d)
		}
		if !until.IsZero() && !until.After(v.Now()) {
			return invalid("the consent would end at %s, which is not in the future", policy.FormatTime(until))
		}
		// No end given: the consent ends at the agreement's cap, and says so
		// in what the mentee signs.
		end, d := policy.ConsentUntil(until, v.Now(), t)
		if !d.Allowed() {
			return denied(d)
		}
		until = end
		detail := map[string]string{"to": grantee, "kinds": kindsString(kinds)}
		if !until.IsZero() {
			detail["until"] = until.UTC().Format(time.RFC3339)
		}
		a := act.agreement
		if _, err := v.appendFact(txn, a, factConsent, consentBody{ID: cid, Version: t.Version, Grantee: grantee, Kinds: kinds, Until: until.UTC()},
			id, act.me.Name, &audit.Record{Actor: act.me.Name, Action: "consent.give", Subject: cid, Rule: "consent", Detail: detail}); err != nil {
			return err
		}
		i, _ := a.consent(cid)
		c = a.consents[i]
		return nil
	})
	return &c, err
}

// WithdrawConsent ends a consent now, as a fact signed by whoever withdrew
// it. Every grant that rested on it ends with it, and the supervisor's
// copies are destroyed before this returns.
func (v *Vault) WithdrawConsent(ctx context.Context, consentID string, id *identity.Identity) error {
	var grants []string
	err := v.update(func(txn kv.Txn) error {
		grants = grants[:0] // run again after a conflict
		agreementID, err := v.findFact(txn, consentID)
		if err != nil {
			return err
		}
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a := act.agreement
		i, ok := a.consent(consentID)
		if !ok {
			return notFound("consent", consentID)
		}
		if d := policy.WithdrawConsent(act.me.Name, a.consents[i], a.termsInForce()); !d.Allowed() {
			return denied(d)
		}
		for _, g := range a.grants {
			if g.Consent == consentID {
				grants = append(grants, g.ID)
			}
		}
		_, err = v.appendFact(txn, a, factWithdraw, withdrawBody{Consent: consentID}, id, act.me.Name,
			&audit.Record{Actor: act.me.Name, Action: "consent.withdraw", Subject: consentID, Rule: "withdraw",
				Detail: map[string]string{"grants_ended": strings.Join(grants, ",")}})
		return err
	})
	if err != nil {
		return err
	}
	return v.destroyGrantCopies(grants, "consent-withdrawn")
}

// Consents lists an agreement's consents, from its verified chain.
func (v *Vault) Consents(ctx context.Context, agreementID string) ([]policy.Consent, error) {
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(a.consents)
	sort.SliceStable(out, func(i, j int) bool { return out[i].GivenAt.Before(out[j].GivenAt) })
	return out, nil
}

// Grants lists an agreement's grants, from its verified chain, each with the
// policy's verdict on whether it is live now.
func (v *Vault) Grants(ctx context.Context, agreementID string) ([]policy.Grant, []policy.Decision, error) {
	a, err := v.GetAgreement(ctx, agreementID)
	if err != nil {
		return nil, nil, err
	}
	f := a.facts("")
	out := slices.Clone(a.grants)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Issued.Before(out[j].Issued) })
	live := make([]policy.Decision, len(out))
	for i, g := range out {
		live[i] = policy.GrantLive(g, f, v.Now())
	}
	return out, live, nil
}

// AddGrant gives a supervisor time-limited access to the consented kinds of
// an agreement's notes. The granter's key opens each covered note the
// granter may read (each verified as its author signed it) and a copy is
// sealed to the supervisor's pinned key alone, in the grant's own bucket;
// notes written later get their copy when they are written. It returns the
// grant and how many notes it copied.
func (v *Vault) AddGrant(ctx context.Context, agreementID, grantee string, kinds []policy.Kind, dur time.Duration, id *identity.Identity) (*policy.Grant, int, error) {
	if dur <= 0 {
		return nil, 0, invalid("a grant must last longer than zero")
	}
	gid, err := v.newID("g")
	if err != nil {
		return nil, 0, err
	}
	var g policy.Grant
	var todo []string
	err = v.update(func(txn kv.Txn) error {
		act, t, err := v.inForce(txn, id, agreementID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		if _, err := v.participant(txn, grantee); err != nil {
			return err
		}
		now := v.Now()
		d, c := policy.GrantAccess(me.Name, grantee, kinds, a.facts(""), now)
		if !d.Allowed() {
			return denied(d)
		}
		if d := policy.GrantPeriod(dur, t); !d.Allowed() {
			return denied(d)
		}
		expires := now.Add(dur)
		if !c.Until.IsZero() && c.Until.Before(expires) {
			expires = c.Until // a grant never outlives its consent
		}
		if _, err := v.pinnedRecipients(txn, a, []string{grantee}); err != nil {
			return err
		}
		if err := scan(txn, pNote, func(_ string, rec *noteRec) error {
			if rec.Meta.Agreement == agreementID && slices.Contains(kinds, rec.Meta.Kind) {
				todo = append(todo, rec.Meta.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		if _, err := v.appendFact(txn, a, factGrant, grantBody{ID: gid, Consent: c.ID, Grantee: grantee, Kinds: kinds, Expires: expires},
			id, me.Name, &audit.Record{Actor: me.Name, Action: "grant.add", Subject: gid, Rule: "grant",
				Detail: map[string]string{"to": grantee, "kinds": kindsString(kinds), "consent": c.ID,
					"expires": expires.Format(time.RFC3339)}}); err != nil {
			return err
		}
		i, _ := a.grant(gid)
		g = a.grants[i]
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	// The notes it covers are copied in batches after the grant is made: a
	// transaction holds only so many copies. Each batch verifies again
	// under the chain as it stands, and stops if the grant ended meanwhile.
	copied, last := 0, 0
	err = v.inBatches(todo, grantBatch, func(txn kv.Txn, batch []string) (err error) {
		last, err = v.copyUnderGrant(txn, agreementID, gid, batch, id)
		return err
	}, func(int) error {
		copied += last // only what committed
		return ctx.Err()
	})
	if err != nil {
		return &g, copied, fmt.Errorf("grant %s was made, but copying stopped after %d note(s): %w; it stands with those copies: revoke it (notevault grant revoke %s) and grant again", gid, copied, err, gid)
	}
	return &g, copied, nil
}

// grantBatch is how many notes one transaction copies under a grant at most
// (inBatches splits a batch the store finds too large).
const grantBatch = 256

// copyUnderGrant copies the notes noteIDs, those the grant covers and its
// granter reads, to the grantee's pinned key, in the grant's bucket. It
// counts the copies it made; a note copied already, destroyed or no longer
// covered is skipped.
func (v *Vault) copyUnderGrant(txn kv.Txn, agreementID, gid string, noteIDs []string, id *identity.Identity) (copied int, err error) {
	act, err := v.begin(txn, id, agreementID)
	if err != nil {
		return 0, err
	}
	a, me := act.agreement, act.me
	gi, ok := a.grant(gid)
	if !ok {
		return 0, notFound("grant", gid)
	}
	g := a.grants[gi]
	now := v.Now()
	f := a.facts("")
	if d := policy.GrantLive(g, f, now); !d.Allowed() {
		return 0, denied(d)
	}
	rs, err := v.pinnedRecipients(txn, a, []string{g.Grantee})
	if err != nil {
		return 0, err
	}
	nv := v.newNoteVerifier(txn)
	for _, nid := range noteIDs {
		n, err := v.note(txn, nid)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if err := nv.verify(a, n); err != nil {
			return 0, err
		}
		blob := grantCopyID(gid, n.ID)
		if slices.Contains(n.Copies, blob) {
			continue
		}
		// What the granter reads as a reader it was sealed to, and what
		// lives (or a hold keeps): exactly what policy.Read lets the
		// grant open.
		n.Holds = a.holdsOn(n.ID)
		if !policy.Read(me.Name, n.policy(), f, now).Allowed() || !slices.Contains(n.Readers, me.Name) {
			continue // expired, or not the granter's own to share
		}
		if err := v.copyNote(txn, n, n.ID, id, rs, blob, gid); err != nil {
			return 0, err
		}
		n.Copies = append(n.Copies, blob)
		if err := put(txn, pNote+n.ID, n.stored()); err != nil {
			return 0, err
		}
		copied++
	}
	return copied, nil
}

// RevokeGrant ends a grant now, as a fact signed by whoever revoked it, and
// destroys the supervisor's copies.
func (v *Vault) RevokeGrant(ctx context.Context, grantID string, id *identity.Identity) error {
	err := v.update(func(txn kv.Txn) error {
		agreementID, err := v.findFact(txn, grantID)
		if err != nil {
			return err
		}
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		a := act.agreement
		i, ok := a.grant(grantID)
		if !ok {
			return notFound("grant", grantID)
		}
		if d := policy.RevokeGrant(act.me.Name, a.grants[i], a.termsInForce()); !d.Allowed() {
			return denied(d)
		}
		_, err = v.appendFact(txn, a, factRevoke, revokeBody{Grant: grantID}, id, act.me.Name,
			&audit.Record{Actor: act.me.Name, Action: "grant.revoke", Subject: grantID, Rule: "revoke"})
		return err
	})
	if err != nil {
		return err
	}
	return v.destroyGrantCopies([]string{grantID}, "grant-revoked")
}

// grantBlobs returns the ids of the copies stored under grant gid. They are
// found by their own ids (<grant>.<note>), not through the membership
// index, which is not signed: copies hidden from the index still go.
func grantBlobs(txn kv.Txn, gid string) ([]string, error) {
	var blobs []string
	err := scanKeys(txn, pBlob+gid+".", func(k string) error {
		blobs = append(blobs, strings.TrimPrefix(k, pBlob))
		return nil
	})
	return blobs, err
}

// grantKeys returns the shred keys, among buckets, of grant gid's buckets.
func grantKeys(buckets []string, gid string) []string {
	var out []string
	for _, b := range buckets {
		if baseOf(b) == gid {
			out = append(out, b)
		}
	}
	return out
}

// destroyGrantCopies destroys every supervisor copy made under the grants:
// each grant's copies, its membership entries and its bucket head go in one
// transaction with a receipt, then every shred key of the grant's buckets.
// Nothing in a grant's buckets is anything but its copies, so nothing is
// re-wrapped; a crash between the two steps leaves orphan keys that
// Housekeep (or the next sweep of the grant) destroys.
func (v *Vault) destroyGrantCopies(grantIDs []string, rule string) error {
	for _, gid := range grantIDs {
		var agreementID string
		var blobs, members []string
		err := v.view(func(txn kv.Txn) error {
			members = members[:0] // a conflict runs the view again (view)
			agreementID, _ = v.findFact(txn, gid)
			var err error
			if blobs, err = grantBlobs(txn, gid); err != nil {
				return err
			}
			return scanKeys(txn, pMember+gid+".", func(k string) error { members = append(members, k); return nil })
		})
		if err != nil {
			return err
		}
		if len(blobs) == 0 && len(members) == 0 {
			continue
		}
		// The records go in batches (a grant may hold more copies than one
		// transaction); the keys only once no record refers to them. A run
		// cut short leaves the grant with copies, which the next sweep of
		// grants finds and finishes: the keys are never destroyed before.
		if err := v.inBatches(blobs, grantBatch, func(txn kv.Txn, batch []string) error {
			for _, blob := range batch {
				if err := txn.Delete([]byte(pBlob + blob)); err != nil {
					return err
				}
				// The note no longer lists the copy.
				noteID := strings.TrimPrefix(blob, gid+".")
				var rec noteRec
				if err := get(txn, pNote+noteID, &rec); isNotFound(err) {
					continue
				} else if err != nil {
					return err
				}
				rec.Copies = slices.DeleteFunc(rec.Copies, func(c string) bool { return c == blob })
				if err := put(txn, pNote+noteID, &rec); err != nil {
					return err
				}
			}
			return nil
		}, nil); err != nil {
			return err
		}
		if err := v.inBatches(members, 4096, func(txn kv.Txn, batch []string) error {
			for _, k := range batch {
				if err := txn.Delete([]byte(k)); err != nil {
					return err
				}
			}
			return nil
		}, nil); err != nil {
			return err
		}
		err = v.update(func(txn kv.Txn) error {
			if err := txn.Delete([]byte(pBucketHead + gid)); err != nil {
				return err
			}
			return v.appendLog(txn, &audit.Record{Actor: ActorRetention, Action: "grant.copies.destroy", Agreement: agreementID,
				Subject: gid, Rule: rule, Detail: map[string]string{"copies": fmt.Sprint(len(blobs))}}, nil)
		})
		if err != nil {
			return err
		}
		buckets, err := v.keys.Buckets()
		if err != nil {
			return err
		}
		for _, b := range grantKeys(buckets, gid) {
			if err := v.keys.Destroy(b); err != nil {
				return err
			}
		}
		// Copies of large notes leave payload files, unreadable now.
		if err := v.removePayloads(blobs); err != nil {
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
	agreements, err := v.Agreements(ctx)
	if err != nil {
		return nil, err
	}
	buckets, err := v.keys.Buckets()
	if err != nil {
		return nil, err
	}
	err = v.view(func(txn kv.Txn) error {
		for _, a := range agreements {
			f := a.facts("")
			for _, g := range a.grants {
				d := policy.GrantLive(g, f, v.Now())
				if d.Allowed() {
					continue
				}
				blobs, err := grantBlobs(txn, g.ID)
				if err != nil {
					return err
				}
				if len(blobs) > 0 || len(grantKeys(buckets, g.ID)) > 0 {
					out[g.ID] = d
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
// note shares it with another party, for a reason the agreement lists. The
// recipient gets a copy sealed to their pinned key alone, which expires with
// the note.
func (v *Vault) Disclose(ctx context.Context, noteID, to, reason, statement string, id *identity.Identity) (*policy.Disclosure, error) {
	if strings.TrimSpace(statement) == "" {
		return nil, invalid("a disclosure needs a statement of why")
	}
	did, err := v.newID("d")
	if err != nil {
		return nil, err
	}
	var d policy.Disclosure
	err = v.update(func(txn kv.Txn) error {
		act, n, err := v.beginNote(txn, id, noteID)
		if err != nil {
			return err
		}
		a, me := act.agreement, act.me
		if _, err := v.participant(txn, to); err != nil {
			return err
		}
		if dec := policy.Disclose(me.Name, n.policy(), to, reason, a.facts(n.ID), v.Now()); !dec.Allowed() {
			return denied(dec)
		}
		rs, err := v.pinnedRecipients(txn, a, []string{to})
		if err != nil {
			return err
		}
		if err := v.copyNote(txn, n, n.ID, id, rs, did, expiryBase(n.signedExpiry())); err != nil {
			return err
		}
		// The statement is as secret as the note: it is sealed to the
		// discloser, the recipient and the mentee, and shredded with the note.
		whyTo := []string{me.Name}
		for _, p := range []string{to, a.Current().Parsed.Mentee} {
			if !slices.Contains(whyTo, p) {
				whyTo = append(whyTo, p)
			}
		}
		wrs, err := v.pinnedRecipients(txn, a, whyTo)
		if err != nil {
			return err
		}
		why, err := encryptTo([]byte(statement), wrs)
		if err != nil {
			return err
		}
		if _, err := v.putBlob(txn, statementBlob(did), expiryBase(n.signedExpiry()), why); err != nil {
			return err
		}
		whySum := sha256.Sum256(why)
		n.Copies = append(n.Copies, statementBlob(did), did)
		if err := put(txn, pNote+n.ID, n.stored()); err != nil {
			return err
		}
		if _, err := v.appendFact(txn, a, factDisclose, discloseBody{ID: did, Note: n.ID, To: to, Reason: reason, Statement: hex.EncodeToString(whySum[:])}, id, me.Name,
			&audit.Record{Actor: me.Name, Action: "disclose", Subject: n.ID, Kind: string(n.Kind), Rule: "exception:" + reason,
				Detail: map[string]string{"to": to, "reason": reason, "disclosure": did}}); err != nil {
			return err
		}
		d = a.disclosures[len(a.disclosures)-1]
		return nil
	})
	return &d, err
}

func statementBlob(disclosureID string) string { return disclosureID + ".why" }

// DisclosureStatement returns a disclosure and the statement of why it was
// made, for the discloser, the recipient or the mentee. Reading it is logged.
func (v *Vault) DisclosureStatement(ctx context.Context, disclosureID string, id *identity.Identity) (*policy.Disclosure, string, error) {
	var (
		d           policy.Disclosure
		me          *Participant
		file        []byte
		agreementID string
	)
	err := v.view(func(txn kv.Txn) error {
		var err error
		agreementID, err = v.findFact(txn, disclosureID)
		if err != nil {
			return err
		}
		act, err := v.begin(txn, id, agreementID)
		if err != nil {
			return err
		}
		me = act.me
		a := act.agreement
		i := slices.IndexFunc(a.disclosures, func(x policy.Disclosure) bool { return x.ID == disclosureID })
		if i < 0 {
			return notFound("disclosure", disclosureID)
		}
		d = a.disclosures[i]
		if dec := policy.ReadStatement(me.Name, d, a.termsInForce()); !dec.Allowed() {
			return denied(dec)
		}
		file, err = v.getBlob(txn, statementBlob(disclosureID))
		if err != nil {
			return err
		}
		// The signed disclosure commits to the sealed statement: words
		// encrypted to the same keys by someone else are refused.
		sum := sha256.Sum256(file)
		switch want := a.statements[disclosureID]; {
		case want == "":
			return fmt.Errorf("disclosure %s was made before statements were signed: its statement cannot be verified and is not shown", disclosureID)
		case hex.EncodeToString(sum[:]) != want:
			return integrity("disclosure "+disclosureID, "its statement is not the one %s made", d.By)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	plain, err := decryptWith(file, id)
	if err != nil {
		return nil, "", err
	}
	err = v.update(func(txn kv.Txn) error {
		return v.appendLog(txn, &audit.Record{Actor: me.Name, Action: "disclosure.read", Agreement: agreementID, Subject: d.ID,
			Rule: "statement"}, id)
	})
	if err != nil {
		return nil, "", err
	}
	return &d, string(plain), nil
}
