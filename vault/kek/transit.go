package kek

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TransitConfig names a key of an OpenBao (or HashiCorp Vault) transit
// secrets engine.
type TransitConfig struct {
	Address string       // https://bao.example.org:8200
	Token   string       // a token whose policy allows encrypt, decrypt, read, rotate, config and trim on the key
	Mount   string       // where the engine is mounted; "transit" when empty
	Key     string       // the key's name
	Client  *http.Client // nil: http.DefaultClient
}

// Transit is a Provider over the transit secrets engine's HTTP API: the KEK
// versions never leave the KMS, which wraps and unwraps for the server.
// Destroy raises the key's min_decryption_version and trims the versions
// below it, which the engine then deletes for good.
type Transit struct {
	cfg  TransitConfig
	base string
}

// NewTransit returns the provider for cfg.
func NewTransit(cfg TransitConfig) (*Transit, error) {
	if cfg.Mount == "" {
		cfg.Mount = "transit"
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("transit address %q is not an http(s) URL", cfg.Address)
	}
	if cfg.Key == "" {
		return nil, errors.New("transit: no key name given")
	}
	return &Transit{cfg: cfg, base: strings.TrimRight(cfg.Address, "/") + "/v1/" + url.PathEscape(cfg.Mount)}, nil
}

// call posts (or gets, with in nil and get set) one request and decodes the
// "data" of the answer into out. An error answer becomes one sentence with
// the engine's own words, never the token or the request body.
func (t *Transit) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", t.cfg.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("transit: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("transit: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		json.Unmarshal(b, &e)
		return &transitError{status: resp.StatusCode, path: path, msgs: e.Errors}
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("transit: %s %s: the answer does not decode", method, path)
	}
	return json.Unmarshal(env.Data, out)
}

type transitError struct {
	status int
	path   string
	msgs   []string
}

func (e *transitError) Error() string {
	return fmt.Sprintf("transit: %s: %d %s", e.path, e.status, strings.Join(e.msgs, "; "))
}

type transitKey struct {
	Latest        int            `json:"latest_version"`
	MinDecryption int            `json:"min_decryption_version"`
	MinAvailable  int            `json:"min_available_version"`
	Keys          map[string]any `json:"keys"`
}

func (t *Transit) key(ctx context.Context) (*transitKey, error) {
	var k transitKey
	if err := t.call(ctx, http.MethodGet, "/keys/"+url.PathEscape(t.cfg.Key), nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// Current is the key's latest version.
func (t *Transit) Current(ctx context.Context) (Version, error) {
	k, err := t.key(ctx)
	if err != nil {
		return 0, err
	}
	return Version(k.Latest), nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Wrap encrypts plaintext under the latest version, aad as the engine's
// associated data.
func (t *Transit) Wrap(ctx context.Context, plaintext, aad []byte) (Wrapped, error) {
	var out struct {
		Ciphertext string `json:"ciphertext"`
	}
	err := t.call(ctx, http.MethodPost, "/encrypt/"+url.PathEscape(t.cfg.Key),
		map[string]string{"plaintext": b64(plaintext), "associated_data": b64(bind(0, aad))}, &out)
	if err != nil {
		return Wrapped{}, err
	}
	v, err := ciphertextVersion(out.Ciphertext)
	if err != nil {
		return Wrapped{}, err
	}
	return Wrapped{Version: v, Ciphertext: []byte(out.Ciphertext)}, nil
}

// ciphertextVersion reads N from the engine's "vault:vN:..." ciphertext.
func ciphertextVersion(c string) (Version, error) {
	rest, ok := strings.CutPrefix(c, "vault:v")
	v, _, ok2 := strings.Cut(rest, ":")
	n, err := strconv.ParseUint(v, 10, 32)
	if !ok || !ok2 || err != nil || n == 0 {
		return 0, errors.New("transit: the engine's ciphertext has no version")
	}
	return Version(n), nil
}

// Unwrap decrypts w. A version below the key's minimum decryption version
// or trimmed away is ErrDestroyed.
func (t *Transit) Unwrap(ctx context.Context, w Wrapped, aad []byte) ([]byte, error) {
	if v, err := ciphertextVersion(string(w.Ciphertext)); err != nil || v != w.Version {
		return nil, ErrUnwrap
	}
	var out struct {
		Plaintext string `json:"plaintext"`
	}
	err := t.call(ctx, http.MethodPost, "/decrypt/"+url.PathEscape(t.cfg.Key),
		map[string]string{"ciphertext": string(w.Ciphertext), "associated_data": b64(bind(0, aad))}, &out)
	if err != nil {
		var te *transitError
		if !errors.As(err, &te) || te.status != http.StatusBadRequest {
			return nil, err
		}
		k, kerr := t.key(ctx)
		if kerr != nil {
			return nil, kerr
		}
		if int(w.Version) < k.MinDecryption || int(w.Version) < k.MinAvailable {
			return nil, fmt.Errorf("KEK version %d: %w", w.Version, ErrDestroyed)
		}
		return nil, ErrUnwrap
	}
	pt, err := base64.StdEncoding.DecodeString(out.Plaintext)
	if err != nil {
		return nil, ErrUnwrap
	}
	return pt, nil
}

// Rotate asks the engine for a new version.
func (t *Transit) Rotate(ctx context.Context) (Version, error) {
	if err := t.call(ctx, http.MethodPost, "/keys/"+url.PathEscape(t.cfg.Key)+"/rotate", map[string]string{}, nil); err != nil {
		return 0, err
	}
	return t.Current(ctx)
}

// Destroy raises min_decryption_version past v and trims the versions below
// it: the engine deletes them for good.
func (t *Transit) Destroy(ctx context.Context, v Version) error {
	k, err := t.key(ctx)
	if err != nil {
		return err
	}
	if int(v) >= k.Latest {
		return fmt.Errorf("KEK version %d is the current one (or newer): rotate first", v)
	}
	path := "/keys/" + url.PathEscape(t.cfg.Key)
	if err := t.call(ctx, http.MethodPost, path+"/config", map[string]int{"min_decryption_version": int(v) + 1}, nil); err != nil {
		return err
	}
	return t.call(ctx, http.MethodPost, path+"/trim", map[string]int{"min_available_version": int(v) + 1}, nil)
}

// Versions lists the versions the engine still has, with their creation
// times.
func (t *Transit) Versions(ctx context.Context) ([]VersionInfo, error) {
	k, err := t.key(ctx)
	if err != nil {
		return nil, err
	}
	var out []VersionInfo
	for s, created := range k.Keys {
		n, err := strconv.Atoi(s)
		if err != nil || n < k.MinDecryption || n < k.MinAvailable {
			continue
		}
		info := VersionInfo{Version: Version(n)}
		switch c := created.(type) {
		case float64: // unix seconds, as the engine gives for AES keys
			info.Created = time.Unix(int64(c), 0).UTC()
		case string:
			info.Created, _ = time.Parse(time.RFC3339, c)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
