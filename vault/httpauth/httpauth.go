// Package httpauth authenticates requests to notevault serve by the
// participant's own signing key: no passwords, no accounts to leak. Every
// request carries a proof signed with the Ed25519 key inside the person's
// notevault identity, bound to the method, the URL, a digest of the body and
// the time, with a one-time id so a replay is refused.
//
// The proof is composed from standards rather than invented: a JWS (RFC 7515)
// in the shape of an OAuth DPoP proof (RFC 9449: the claims htm, htu, iat and
// jti), with the body bound by an RFC 9530 Content-Digest, carried in a
// "NotevaultProof" header. HTTP Message Signatures (RFC 9421) would serve as
// well; no implementation of it is reachable through this project's module
// proxy, and a signature base is exactly the wire format not to hand-roll, so
// the JWS is made and checked by go-jose. See docs/protocol.md.
package httpauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/notevault/notevault/vault/identity"
)

// Header is the request header that carries the proof.
const Header = "NotevaultProof"

// proofType is the JWS "typ" of a proof.
const proofType = "notevault-proof+jwt"

// MaxBody is the largest body the client signs and the server checks
// whole. Larger bodies (a recording's chunks) go in requests of their own.
const MaxBody = 8 << 20

// DefaultSkew is how far a proof's time may be from the server's.
const DefaultSkew = 5 * time.Minute

// claims are what a proof signs.
type claims struct {
	Method string `json:"htm"`
	URL    string `json:"htu"` // scheme://host/path?query, as the client sent it
	Issued int64  `json:"iat"`
	ID     string `json:"jti"`
	Digest string `json:"cd"` // the Content-Digest header's value
}

// ContentDigest is the RFC 9530 Content-Digest of body (sha-256).
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// canonicalURL is what htu binds: scheme, host, path and query.
func canonicalURL(r *http.Request) string {
	u := *r.URL
	if u.Scheme == "" {
		u.Scheme = "http"
		if r.TLS != nil {
			u.Scheme = "https"
		}
	}
	if u.Host == "" {
		u.Host = r.Host
	}
	u.Fragment, u.User = "", nil
	return u.String()
}

// signer adapts an identity to go-jose without handing it the private key.
type signer struct{ id *identity.Identity }

func (s signer) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: ed25519.PublicKey(s.id.Public().Signing), KeyID: s.id.Public().Fingerprint(), Algorithm: string(jose.EdDSA)}
}
func (s signer) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.EdDSA} }
func (s signer) SignPayload(p []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.EdDSA {
		return nil, fmt.Errorf("httpauth: algorithm %s", alg)
	}
	return s.id.Sign(p), nil
}

// Sign adds a proof to r by id: Content-Digest and NotevaultProof. It reads
// and restores the body (at most MaxBody bytes).
func Sign(r *http.Request, id *identity.Identity, now time.Time) error {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		r.Body.Close()
		if err != nil {
			return fmt.Errorf("reading the request body: %w", err)
		}
		if len(b) > MaxBody {
			return fmt.Errorf("the request body is larger than %d MiB", MaxBody>>20)
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	digest := ContentDigest(body)
	payload, err := json.Marshal(claims{Method: r.Method, URL: canonicalURL(r), Issued: now.Unix(), ID: hex.EncodeToString(nonce), Digest: digest})
	if err != nil {
		return err
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: signer{id}},
		(&jose.SignerOptions{}).WithType(proofType).WithHeader("kid", id.Public().Fingerprint()))
	if err != nil {
		return err
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return err
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		return err
	}
	r.Header.Set("Content-Digest", digest)
	r.Header.Set(Header, compact)
	return nil
}

// Transport signs every request it sends as ID.
type Transport struct {
	Base http.RoundTripper // nil: http.DefaultTransport
	ID   *identity.Identity
	Now  func() time.Time // nil: time.Now
}

// RoundTrip signs a copy of r and sends it.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if err := Sign(r, t.ID, now()); err != nil {
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// KeyLookup returns the public key registered under a fingerprint (a
// participant's, or the server's admin key), or an error.
type KeyLookup func(ctx context.Context, fingerprint string) (identity.PublicKey, error)

// Verifier checks proofs.
type Verifier struct {
	Keys   KeyLookup
	Nonces NonceStore
	Skew   time.Duration    // 0: DefaultSkew
	Now    func() time.Time // nil: time.Now
}

// Error is a refused proof: Status is the HTTP status to answer with.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &Error{Status: http.StatusUnauthorized, Reason: fmt.Sprintf(format, args...)}
}

// Verify checks r's proof and returns the key that signed it. It reads the
// body (at most MaxBody bytes) and puts it back.
func (v *Verifier) Verify(r *http.Request) (identity.PublicKey, error) {
	var none identity.PublicKey
	compact := r.Header.Get(Header)
	if compact == "" {
		return none, refuse("the request is not signed: it has no %s header", Header)
	}
	jws, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return none, refuse("the request's proof does not parse")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != proofType {
		return none, refuse("the request's proof is not a notevault proof")
	}
	key, err := v.Keys(r.Context(), h.KeyID)
	if err != nil {
		return none, refuse("the request is signed by a key this server does not know")
	}
	payload, err := jws.Verify(ed25519.PublicKey(key.Signing))
	if err != nil {
		return none, refuse("the request's signature does not verify")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return none, refuse("the request's proof does not parse")
	}
	if c.Method != r.Method || c.URL != canonicalURL(r) {
		return none, refuse("the request's proof is for another request")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	issued := time.Unix(c.Issued, 0)
	if d := now().Sub(issued); d > skew || d < -skew {
		return none, refuse("the request's proof was made at %s, too far from the server's time", issued.UTC().Format(time.RFC3339))
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		r.Body.Close()
		if err != nil {
			return none, &Error{Status: http.StatusBadRequest, Reason: "the request body could not be read"}
		}
		if len(b) > MaxBody {
			return none, &Error{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("the request body is larger than %d MiB", MaxBody>>20)}
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	if d := ContentDigest(body); c.Digest != d || r.Header.Get("Content-Digest") != d {
		return none, refuse("the request's body is not the one its proof signed")
	}
	if len(c.ID) != 32 {
		return none, refuse("the request's proof has no one-time id")
	}
	if v.Nonces == nil {
		return none, errors.New("httpauth: no nonce store")
	}
	if err := v.Nonces.Use(r.Context(), h.KeyID, c.ID, issued.Add(skew)); err != nil {
		return none, err
	}
	return key, nil
}

type ctxKey struct{}

// From returns the key that signed the request being served (Handler).
func From(ctx context.Context) (identity.PublicKey, bool) {
	k, ok := ctx.Value(ctxKey{}).(identity.PublicKey)
	return k, ok
}

// Handler verifies every request before next serves it; a refused one is
// answered with its status and {"error": "..."}.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := v.Verify(r)
		if err != nil {
			status := http.StatusInternalServerError
			var e *Error
			if errors.As(err, &e) {
				status = e.Status
			}
			msg := err.Error()
			if status == http.StatusInternalServerError {
				msg = "the server could not check the request"
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, key)))
	})
}

// errReplay is the refusal of a proof seen before.
var errReplay = &Error{Status: http.StatusUnauthorized, Reason: "replayed request: its proof was used before"}

// ErrReplay is the refusal of a proof seen before, for NonceStores kept
// elsewhere (notevault serve keeps them in PostgreSQL).
var ErrReplay error = errReplay

// IsReplay reports whether err refuses a replayed request.
func IsReplay(err error) bool { return err == errReplay }
