package vault

import (
	"crypto/ed25519"
	"crypto/sha256"
	"runtime"
	"sync"

	"github.com/notevault/notevault/vault/identity"
)

// verifiedSigs remembers the note signatures that verified in this process.
// A sweep verifies each note it plans to destroy, then again in the batch
// that destroys it, on a fresh read: the second check is a hash and a map
// lookup. Only successes are kept, under a hash of the key, the signature
// and the message, so a cached answer is exactly ed25519.Verify's.
var verifiedSigs = &sigCache{m: map[[32]byte]struct{}{}}

// sigCacheMax bounds the cache (about 80 bytes an entry): when full it is
// emptied, and verification starts paying again.
const sigCacheMax = 1 << 18

type sigCache struct {
	mu sync.Mutex
	m  map[[32]byte]struct{}
}

func sigHash(key ed25519.PublicKey, msg, sig []byte) [32]byte {
	h := sha256.New()
	// Key and signature have fixed sizes (checked by the caller), so the
	// concatenation is unambiguous.
	h.Write(key)
	h.Write(sig)
	h.Write(msg)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// verify is key.Verify(msg, sig), answered from the cache when it verified
// before.
func (c *sigCache) verify(key identity.PublicKey, msg, sig []byte) bool {
	if len(key.Signing) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	h := sigHash(key.Signing, msg, sig)
	c.mu.Lock()
	_, ok := c.m[h]
	c.mu.Unlock()
	if ok {
		return true
	}
	if !key.Verify(msg, sig) {
		return false
	}
	c.add(h)
	return true
}

func (c *sigCache) add(h [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= sigCacheMax {
		clear(c.m)
	}
	c.m[h] = struct{}{}
}

// sigJob is one signature to check ahead of the code that needs it.
type sigJob struct {
	key      identity.PublicKey
	msg, sig []byte
}

// preverify checks jobs on every core and caches those that verify: the
// serial pass that follows (verifyNoteBy) then finds them checked. A job
// that fails is simply not cached; the serial pass reports it.
func (c *sigCache) preverify(jobs []sigJob) {
	workers := min(runtime.GOMAXPROCS(0), len(jobs)/64+1)
	var wg sync.WaitGroup
	next := make(chan []sigJob)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range next {
				for _, j := range chunk {
					c.verify(j.key, j.msg, j.sig)
				}
			}
		}()
	}
	for len(jobs) > 0 {
		n := min(256, len(jobs))
		next <- jobs[:n]
		jobs = jobs[n:]
	}
	close(next)
	wg.Wait()
}
