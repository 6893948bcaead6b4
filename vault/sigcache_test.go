package vault

import (
	"bytes"
	"testing"
)

// A cached answer is exactly ed25519.Verify's: after a signature verified,
// the same signature over another message, by another key, or a changed
// signature still fails, and preverify caches only what verifies.
func TestSigCacheAnswersAsVerify(t *testing.T) {
	c := &sigCache{m: map[[32]byte]struct{}{}}
	alice, bob := newIdentity(t), newIdentity(t)
	msg := []byte("note n-1: readers alice,bob; expires 2027-03-02")
	sig := alice.Sign(msg)
	if !c.verify(alice.Public(), msg, sig) || len(c.m) != 1 {
		t.Fatalf("a valid signature: not verified or not cached (%d)", len(c.m))
	}
	if !c.verify(alice.Public(), msg, sig) {
		t.Fatal("the cached signature no longer verifies")
	}
	other := bytes.Replace(msg, []byte("2027"), []byte("2026"), 1)
	bad := bytes.Clone(sig)
	bad[10] ^= 1
	for name, tc := range map[string]sigJob{
		"another message": {alice.Public(), other, sig},
		"another key":     {bob.Public(), msg, sig},
		"changed sig":     {alice.Public(), msg, bad},
		"short sig":       {alice.Public(), msg, sig[:63]},
	} {
		if c.verify(tc.key, tc.msg, tc.sig) {
			t.Errorf("%s: verified", name)
		}
	}
	if len(c.m) != 1 {
		t.Fatalf("failures were cached: %d entries", len(c.m))
	}
	jobs := []sigJob{{alice.Public(), other, alice.Sign(other)}, {bob.Public(), other, alice.Sign(other)}}
	for i := range 300 {
		m := []byte{byte(i), byte(i >> 8)}
		jobs = append(jobs, sigJob{bob.Public(), m, bob.Sign(m)})
	}
	c.preverify(jobs)
	if len(c.m) != 1+1+300 {
		t.Fatalf("preverify cached %d, want the 301 valid jobs on top of 1", len(c.m)-1)
	}
}
