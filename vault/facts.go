package vault

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/notevault/notevault/policy"
)

// Stored sharing records. Consent, grant and disclosure commands build on
// these; reads already consult them, so a record that exists is honoured and
// one that fails its signature grants nothing.
type consentRec struct {
	policy.Consent
	Sig []byte `json:"sig"`
}

type grantRec struct {
	policy.Grant
	Sig []byte `json:"sig"`
}

type disclosureRec struct {
	policy.Disclosure
	Sig []byte `json:"sig"`
}

// grantCopyID is the blob id of a supervisor's copy of a note under a grant.
func grantCopyID(grantID, noteID string) string { return grantID + "." + noteID }

// facts gathers what policy needs about an agreement (and, with noteID, that
// note's disclosures). Records are marked verified only when their signature
// checks out against the signer's registered key.
func (v *Vault) facts(txn *badger.Txn, agreementID, noteID string) (policy.Facts, error) {
	var f policy.Facts
	a, err := v.agreement(txn, agreementID)
	if err != nil {
		return f, err
	}
	if cur := a.Current(); cur != nil {
		f.Terms = a.Terms(cur)
	} else {
		f.Terms = a.Terms(a.Latest())
		f.Terms.Supervisors = nil // not in force: no supervisor reads under it
	}
	if err := scan(txn, pConsent, func(_ string, c *consentRec) error {
		if c.Agreement == agreementID {
			c.Consent.Verified = v.verifySig(txn, c.Grantor, sigBytes("consent", c.Consent), c.Sig)
			f.Consents = append(f.Consents, c.Consent)
		}
		return nil
	}); err != nil {
		return f, err
	}
	if err := scan(txn, pGrant, func(_ string, g *grantRec) error {
		if g.Agreement == agreementID {
			g.Grant.Verified = v.verifySig(txn, g.GrantedBy, sigBytes("grant", g.Grant), g.Sig)
			f.Grants = append(f.Grants, g.Grant)
		}
		return nil
	}); err != nil {
		return f, err
	}
	if noteID != "" {
		if f.Disclosures, err = v.disclosures(txn, noteID); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (v *Vault) disclosures(txn *badger.Txn, noteID string) ([]policy.Disclosure, error) {
	var out []policy.Disclosure
	err := scan(txn, pDisclosure, func(_ string, d *disclosureRec) error {
		if d.Note == noteID {
			d.Disclosure.Verified = v.verifySig(txn, d.By, sigBytes("disclosure", d.Disclosure), d.Sig)
			out = append(out, d.Disclosure)
		}
		return nil
	})
	return out, err
}

func (v *Vault) verifySig(txn *badger.Txn, signer string, msg, sig []byte) bool {
	p, err := v.participant(txn, signer)
	return err == nil && p.Public.Verify(msg, sig)
}
