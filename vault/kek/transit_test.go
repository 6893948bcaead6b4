package kek

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTransit follows the transit secrets engine's API contract for one
// aes256-gcm96 key (no OpenBao server installs here): encrypt and decrypt
// with associated data and "vault:vN:" ciphertexts, read, rotate, config
// (min_decryption_version) and trim (min_available_version, which deletes
// the versions below it), all behind the X-Vault-Token header.
type fakeTransit struct {
	mu       sync.Mutex
	token    string
	versions map[int][]byte
	created  map[int]int64
	latest   int
	minDec   int
	minAvail int
}

func newFakeTransit(t testing.TB, token string) (*httptest.Server, *fakeTransit) {
	f := &fakeTransit{token: token, versions: map[int][]byte{}, created: map[int]int64{}, minDec: 1, minAvail: 1}
	f.rotate()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv, f
}

func (f *fakeTransit) rotate() {
	f.latest++
	k := make([]byte, 32)
	rand.Read(k)
	f.versions[f.latest] = k
	f.created[f.latest] = time.Now().Unix()
}

func (f *fakeTransit) fail(w http.ResponseWriter, code int, msg string) {
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
}

func (f *fakeTransit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("X-Vault-Token") != f.token {
		f.fail(w, http.StatusForbidden, "permission denied")
		return
	}
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	str := func(k string) string { s, _ := in[k].(string); return s }
	num := func(k string) int { n, _ := in[k].(float64); return int(n) }
	reply := func(data any) { json.NewEncoder(w).Encode(map[string]any{"data": data}) }
	gcm := func(v int) cipher.AEAD {
		b, _ := aes.NewCipher(f.versions[v])
		a, _ := cipher.NewGCM(b)
		return a
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && p == "/v1/transit/encrypt/kek":
		pt, err := base64.StdEncoding.DecodeString(str("plaintext"))
		ad, err2 := base64.StdEncoding.DecodeString(str("associated_data"))
		if err != nil || err2 != nil {
			f.fail(w, http.StatusBadRequest, "failed to base64-decode")
			return
		}
		a := gcm(f.latest)
		nonce := make([]byte, a.NonceSize())
		rand.Read(nonce)
		ct := a.Seal(nonce, nonce, pt, ad)
		reply(map[string]any{"ciphertext": fmt.Sprintf("vault:v%d:%s", f.latest, base64.StdEncoding.EncodeToString(ct)), "key_version": f.latest})
	case r.Method == http.MethodPost && p == "/v1/transit/decrypt/kek":
		parts := strings.SplitN(str("ciphertext"), ":", 3)
		v, _ := strconv.Atoi(strings.TrimPrefix(parts[min(1, len(parts)-1)], "v"))
		if len(parts) != 3 || v < 1 || v > f.latest {
			f.fail(w, http.StatusBadRequest, "invalid ciphertext")
			return
		}
		if v < f.minDec || f.versions[v] == nil {
			f.fail(w, http.StatusBadRequest, "ciphertext or signature version is disallowed by policy (too old)")
			return
		}
		ct, _ := base64.StdEncoding.DecodeString(parts[2])
		ad, _ := base64.StdEncoding.DecodeString(str("associated_data"))
		a := gcm(v)
		if len(ct) < a.NonceSize() {
			f.fail(w, http.StatusBadRequest, "invalid ciphertext")
			return
		}
		pt, err := a.Open(nil, ct[:a.NonceSize()], ct[a.NonceSize():], ad)
		if err != nil {
			f.fail(w, http.StatusBadRequest, "cipher: message authentication failed")
			return
		}
		reply(map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)})
	case r.Method == http.MethodGet && p == "/v1/transit/keys/kek":
		keys := map[string]int64{}
		for v, c := range f.created {
			if f.versions[v] != nil {
				keys[strconv.Itoa(v)] = c
			}
		}
		reply(map[string]any{"latest_version": f.latest, "min_decryption_version": f.minDec, "min_available_version": f.minAvail, "keys": keys, "type": "aes256-gcm96"})
	case r.Method == http.MethodPost && p == "/v1/transit/keys/kek/rotate":
		f.rotate()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && p == "/v1/transit/keys/kek/config":
		if v := num("min_decryption_version"); v > 0 {
			f.minDec = v
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && p == "/v1/transit/keys/kek/trim":
		v := num("min_available_version")
		if v > f.minDec {
			f.fail(w, http.StatusBadRequest, "cannot be set above min_decryption_version")
			return
		}
		for old := range f.versions {
			if old < v {
				delete(f.versions, old)
			}
		}
		f.minAvail = v
		w.WriteHeader(http.StatusNoContent)
	default:
		f.fail(w, http.StatusNotFound, "no handler for route")
	}
}

func openTransit(t testing.TB) Provider {
	srv, _ := newFakeTransit(t, "s.token")
	p, err := NewTransit(TransitConfig{Address: srv.URL, Token: "s.token", Key: "kek"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTransitConformance(t *testing.T) { providerTests(t, openTransit) }

// A wrong token is one sentence with the engine's words, never the token.
func TestTransitErrors(t *testing.T) {
	srv, _ := newFakeTransit(t, "s.token")
	p, _ := NewTransit(TransitConfig{Address: srv.URL, Token: "s.WRONG-SECRET", Key: "kek"})
	_, err := p.Wrap(t.Context(), []byte("k"), []byte("b"))
	if err == nil || !strings.Contains(err.Error(), "403 permission denied") || strings.Contains(err.Error(), "WRONG-SECRET") {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := NewTransit(TransitConfig{Address: "ftp://x", Key: "kek"}); err == nil {
		t.Fatal("a non-http address was accepted")
	}
}
