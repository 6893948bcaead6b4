package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/notevault/notevault/vault/httpauth"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore"
)

// Client talks to one server as one participant.
type Client struct {
	base   string
	hc     *http.Client
	holder string // this client's name in the writers' turn
}

// IsURL reports whether a --vault value names a server rather than a
// directory.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// Dial prepares a client of the server at rawURL (https://host:port, or
// http:// for a server on this machine), signing every request as id.
// It makes no request.
func Dial(rawURL string, id *identity.Identity, base http.RoundTripper) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a server URL (https://host:port)", rawURL)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("a server URL is https://host:port, without a path, query or user: %q", rawURL)
	}
	if id == nil {
		return nil, errors.New("a server needs your identity to sign requests: give -i FILE or set NOTEVAULT_IDENTITY")
	}
	holder := make([]byte, 8)
	if _, err := rand.Read(holder); err != nil {
		return nil, err
	}
	return &Client{
		base:   u.Scheme + "://" + u.Host,
		hc:     &http.Client{Transport: &httpauth.Transport{Base: base, ID: id}, Timeout: 2 * time.Minute},
		holder: hex.EncodeToString(holder),
	}, nil
}

// ServerError is a refusal or failure the server reported.
type ServerError struct {
	Status int
	Code   string
	Msg    string
}

func (e *ServerError) Error() string {
	if e.Status >= http.StatusInternalServerError {
		return "the server failed: " + e.Msg
	}
	return "the server refused: " + e.Msg
}

// Is maps the server's codes onto the errors the vault knows.
func (e *ServerError) Is(target error) bool {
	switch e.Code {
	case "conflict":
		return target == kv.ErrConflict
	case "too-big":
		return target == kv.ErrTooBig
	case "destroyed":
		return target == kek.ErrDestroyed
	case "unwrap":
		return target == kek.ErrUnwrap
	}
	return false
}

// retries bounds how often call sends a request again, freshly signed, when
// no answer came (the connection failed, or a proxy said the replica
// behind it is gone). Reads are safe to repeat, and a commit carries an id
// that the server applies once.
var retries = []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if len(body) > httpauth.MaxBody {
		return fmt.Errorf("%w (the server takes requests of up to %d MiB)", kv.ErrTooBig, httpauth.MaxBody>>20)
	}
	for attempt := 0; ; attempt++ {
		err := c.send(ctx, path, body, out)
		var lost *noAnswer
		if !errors.As(err, &lost) || attempt == len(retries) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retries[attempt]):
		}
	}
}

// noAnswer is a request that got no answer from a replica.
type noAnswer struct{ err error }

func (e *noAnswer) Error() string { return e.err.Error() }
func (e *noAnswer) Unwrap() error { return e.err }

func (c *Client) send(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = fmt.Errorf("reaching the server %s: %w", c.base, err)
		if ctx.Err() != nil || errors.As(err, new(*tls.CertificateVerificationError)) {
			return err // asking again gets the same answer
		}
		return &noAnswer{err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return &noAnswer{fmt.Errorf("reaching the server %s: %s", c.base, resp.Status)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorResp
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return &ServerError{Status: resp.StatusCode, Code: e.Code, Msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the server's answer does not parse: %w", err)
	}
	return nil
}

// Enrol lets the holder of pub use the server. Only the server's admin
// may.
func (c *Client) Enrol(ctx context.Context, pub identity.PublicKey) error {
	return c.call(ctx, pathEnrol, enrolReq{Public: pub.String()}, nil)
}

// Store is the server's store as a kv.Store.
func (c *Client) Store() kv.Store { return &store{c: c} }

type store struct{ c *Client }

func (s *store) Begin(ctx context.Context, writable bool) (kv.Tx, error) {
	return &tx{c: s.c, ctx: ctx, writable: writable, at: pgstore.Now, writes: map[string]pgstore.Write{}}, nil
}

func (s *store) Close() error {
	s.c.hc.CloseIdleConnections()
	return nil
}

// tx reads at one snapshot, taken by its first read, and buffers its
// writes until Commit sends them with what it read. A writable one waits
// for the writers' turn (pgstore/turn.go) before its last reads and its
// commit (TakeTurn), so that writers on a server take turns for the part
// every writer touches rather than run over each other and start again.
type tx struct {
	c         *Client
	ctx       context.Context
	writable  bool
	at        int64 // the snapshot (pgstore.Now: not taken yet)
	writes    map[string]pgstore.Write
	reads     [][]byte
	scans     []pgstore.Range
	done      bool
	turn      bool // it holds the writers' turn
	committed bool
	got       map[string]getResp  // keys read, as read at the snapshot
	ahead     map[string]scanResp // first pages of walks, sent with the turn
}

// TakeTurn waits for the writers' turn (kv.Turner): the vault asks for it
// at the end of an action, before it reads the audit log's head and
// commits, so that writers run their reads and their crypto side by side
// and take turns only for the end. The server moves the snapshot to the
// newest commit if nothing read so far changed, or answers a conflict
// (the action runs again). A commit takes the turn itself if it was not
// taken.
func (t *tx) TakeTurn(ahead kv.Ahead) error {
	if !t.writable || t.turn {
		return nil
	}
	req := turnReq{Holder: t.c.holder, At: t.at, Reads: t.reads, Scans: t.scans}
	req.Keys, req.Walks = t.wants(ahead)
	var r turnResp
	if err := t.c.call(t.ctx, pathTurn, req, &r); err != nil {
		return err
	}
	t.turn = true
	t.at = r.At // Now still, when it had read nothing and asked for nothing
	return t.keep(req.Walks, r)
}

// Prefetch reads ahead's keys and walks' first pages in one request, at
// the transaction's snapshot (taking one if it has none), and keeps them
// to be read as a get and a scan would read them (kv.Prefetcher).
func (t *tx) Prefetch(ahead kv.Ahead) error {
	req := readReq{At: t.at}
	req.Keys, req.Walks = t.wants(ahead)
	var r turnResp
	if err := t.c.call(t.ctx, pathRead, req, &r); err != nil {
		return err
	}
	if t.at != pgstore.Now && r.At != t.at {
		return errors.New("the server answered a read at another snapshot")
	}
	t.at = r.At
	return t.keep(req.Walks, r)
}

// wants is what of ahead to ask the server for: the keys the transaction
// has not written itself, and the walks.
func (t *tx) wants(ahead kv.Ahead) ([][]byte, []walkReq) {
	var keys [][]byte
	for _, k := range ahead.Keys {
		if _, ok := t.writes[string(k)]; !ok {
			keys = append(keys, k)
		}
	}
	walks := make([]walkReq, len(ahead.Walks))
	for i, w := range ahead.Walks {
		walks[i] = walkReq{Prefix: w.Prefix, From: w.From}
	}
	return keys, walks
}

// remember keeps a key as read at the snapshot. A snapshot does not
// change: the same key read again in this transaction is the same answer,
// with no request. A writing transaction's reads are checked again at its
// commit.
func (t *tx) remember(key []byte, r getResp) {
	if t.got == nil {
		t.got = map[string]getResp{}
	}
	t.got[string(key)] = r
	if t.writable {
		t.reads = append(t.reads, bytes.Clone(key))
	}
}

// keep keeps what came with the turn or a prefetch: each key as a get
// would (and, in a writable transaction, to be checked again at its
// commit), each walk's first page for the iterator that asks for it.
func (t *tx) keep(walks []walkReq, r turnResp) error {
	for _, g := range r.Got {
		if g.At != r.At {
			return errors.New("the server answered a read at another snapshot")
		}
		t.remember(g.Key, g.getResp)
	}
	if len(r.Pages) > len(walks) {
		return errors.New("the server answered with more pages than asked")
	}
	for i, p := range r.Pages {
		if p.At != r.At {
			return errors.New("the server answered a scan at another snapshot")
		}
		if t.ahead == nil {
			t.ahead = map[string]scanResp{}
		}
		t.ahead[walkKey(walks[i].Prefix, walks[i].From)] = p
	}
	return nil
}

// walkKey names a walk's first page in tx.ahead.
func walkKey(prefix, from []byte) string {
	return fmt.Sprintf("%x/%x", prefix, from)
}

func (t *tx) Get(key []byte) ([]byte, error) {
	if w, ok := t.writes[string(key)]; ok {
		if w.Delete {
			return nil, kv.ErrNotFound
		}
		return bytes.Clone(w.V), nil
	}
	r, ok := t.got[string(key)]
	if !ok {
		if err := t.c.call(t.ctx, pathGet, getReq{At: t.at, Key: key}, &r); err != nil {
			return nil, err
		}
		t.at = r.At
		t.remember(key, r)
	}
	if !r.Found {
		return nil, kv.ErrNotFound
	}
	return bytes.Clone(r.Value), nil
}

func (t *tx) Set(key, value []byte) error {
	if !t.writable {
		return kv.ErrReadOnly
	}
	t.writes[string(key)] = pgstore.Write{K: bytes.Clone(key), V: bytes.Clone(value)}
	return nil
}

func (t *tx) Delete(key []byte) error {
	if !t.writable {
		return kv.ErrReadOnly
	}
	t.writes[string(key)] = pgstore.Write{K: bytes.Clone(key), Delete: true}
	return nil
}

func (t *tx) Commit() error {
	if t.done {
		return errors.New("the transaction has ended")
	}
	t.done = true
	if len(t.writes) == 0 {
		return nil
	}
	if err := t.TakeTurn(kv.Ahead{}); err != nil {
		return err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	req := commitReq{ID: hex.EncodeToString(id), Turn: t.c.holder, At: t.at, Reads: t.reads, Scans: t.scans}
	for _, w := range t.writes {
		req.Writes = append(req.Writes, w)
	}
	sort.Slice(req.Writes, func(i, j int) bool { return bytes.Compare(req.Writes[i].K, req.Writes[j].K) < 0 })
	if err := t.c.call(t.ctx, pathCommit, req, nil); err != nil {
		return err
	}
	t.committed = true
	return nil
}

// Discard ends the transaction; one that held the writers' turn and did
// not commit gives it up (a commit ends it on the server).
func (t *tx) Discard() {
	t.done = true
	if t.turn && !t.committed {
		t.turn = false
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
		defer cancel()
		t.c.call(ctx, pathTurnEnd, turnReq{Holder: t.c.holder}, nil) // else it runs out (pgstore/turn.go)
	}
}

func (t *tx) NewIterator(o kv.IterOptions) kv.Iterator {
	it := &iter{t: t, prefix: bytes.Clone(o.Prefix), reverse: o.Reverse, keysOnly: o.KeysOnly}
	// The transaction's own writes under the prefix, as they stand now.
	for k, w := range t.writes {
		if strings.HasPrefix(k, string(o.Prefix)) {
			it.ov = append(it.ov, w)
		}
	}
	sort.Slice(it.ov, func(i, j int) bool {
		c := bytes.Compare(it.ov[i].K, it.ov[j].K)
		if it.reverse {
			return c > 0
		}
		return c < 0
	})
	return it
}

// iter merges the server's rows, a page at a time, with the transaction's
// own writes.
type iter struct {
	t        *tx
	prefix   []byte
	reverse  bool
	keysOnly bool

	rows  []pgstore.Row // the server's page
	rpos  int
	rmore bool
	rlast []byte // the last key the page covered, tombstones included
	ov    []pgstore.Write
	opos  int

	cur   pgstore.Row
	valid bool
	err   error
}

// before reports whether a comes before b in the walk's order.
func (i *iter) before(a, b []byte) bool {
	c := bytes.Compare(a, b)
	if i.reverse {
		return c > 0
	}
	return c < 0
}

func (i *iter) Rewind() { i.start(nil) }

func (i *iter) Seek(key []byte) {
	key = bytes.Clone(key)
	if !i.reverse && bytes.Compare(key, i.prefix) < 0 {
		key = nil
	}
	i.start(key)
}

func (i *iter) start(from []byte) {
	i.rows, i.rpos, i.rmore, i.err, i.valid = nil, 0, false, nil, false
	i.fetch(from, true)
	i.opos = 0
	if from != nil {
		for i.opos < len(i.ov) && i.before(i.ov[i.opos].K, from) {
			i.opos++
		}
	}
	i.advance()
}

func (i *iter) fetch(from []byte, incl bool) {
	if i.err != nil {
		return
	}
	var r scanResp
	k := walkKey(i.prefix, from)
	if p, ok := i.t.ahead[k]; ok && incl && !i.reverse && !i.keysOnly {
		r = p // sent with the turn (TakeTurn), checked as any page is
		delete(i.t.ahead, k)
	} else if err := i.t.c.call(i.t.ctx, pathScan, scanReq{At: i.t.at, Prefix: i.prefix, From: from, Incl: incl, Reverse: i.reverse, KeysOnly: i.keysOnly}, &r); err != nil {
		i.err = err
		return
	}
	if err := i.checkPage(r, from, incl); err != nil {
		i.err = err
		return
	}
	i.t.at = r.At
	if i.t.writable {
		i.t.scans = append(i.t.scans, r.Covered)
	}
	i.rows, i.rpos, i.rmore = r.Rows, 0, r.More
	i.rlast = r.Covered.Hi
	if i.reverse {
		i.rlast = r.Covered.Lo
	}
}

// errBadPage is a scan page that breaks the protocol: the server is not
// trusted to keep to the prefix and the order asked, and the vault's walks
// rely on both.
var errBadPage = errors.New("the server answered a scan with rows outside it or out of order")

// checkPage checks that every row of a page is under the prefix, after
// from (or at it, when incl) in the walk's order, and in that order, and
// that a page with more to come ends past where it started, so that the
// walk moves on.
func (i *iter) checkPage(r scanResp, from []byte, incl bool) error {
	if i.t.at != pgstore.Now && r.At != i.t.at {
		return fmt.Errorf("%w (it changed the transaction's snapshot)", errBadPage)
	}
	prev, prevIncl := from, incl
	for _, row := range r.Rows {
		if !bytes.HasPrefix(row.K, i.prefix) {
			return errBadPage
		}
		if prev != nil && (i.before(row.K, prev) || bytes.Equal(row.K, prev) && !prevIncl) {
			return errBadPage
		}
		prev, prevIncl = row.K, false
	}
	if r.More {
		end := r.Covered.Hi
		if i.reverse {
			end = r.Covered.Lo
		}
		stuck := len(r.Rows) == 0 && from != nil && bytes.Equal(end, from) && !incl
		if end == nil || stuck || prev != nil && !i.before(prev, end) && !bytes.Equal(prev, end) {
			return fmt.Errorf("%w (a page with more to come does not end past where it started)", errBadPage)
		}
	}
	return nil
}

// advance moves to the next key of the merged walk.
func (i *iter) advance() {
	for {
		for i.rpos == len(i.rows) && i.rmore && i.err == nil {
			i.fetch(i.rlast, false)
		}
		if i.err != nil {
			i.valid = false
			return
		}
		haveR, haveO := i.rpos < len(i.rows), i.opos < len(i.ov)
		switch {
		case !haveR && !haveO:
			i.valid = false
			return
		case haveR && (!haveO || i.before(i.rows[i.rpos].K, i.ov[i.opos].K)):
			i.cur, i.valid = i.rows[i.rpos], true
			i.rpos++
			return
		}
		// The transaction's own write comes first, or replaces the
		// server's row of the same key.
		w := i.ov[i.opos]
		i.opos++
		if haveR && bytes.Equal(i.rows[i.rpos].K, w.K) {
			i.rpos++
		}
		if w.Delete {
			continue
		}
		i.cur, i.valid = pgstore.Row{K: w.K, V: w.V}, true
		return
	}
}

func (i *iter) Valid() bool { return i.valid && i.err == nil }
func (i *iter) Next()       { i.advance() }
func (i *iter) Key() []byte { return i.cur.K }

func (i *iter) Value() ([]byte, error) {
	if i.keysOnly {
		return nil, errors.New("remote: Value on a keys-only iterator")
	}
	if i.cur.V == nil {
		return []byte{}, nil
	}
	return i.cur.V, nil
}

func (i *iter) Err() error { return i.err }
func (i *iter) Close()     {}

// KEK is the server's KEK as a kek.Provider for the client's keyring: the
// client wraps and unwraps shred keys through the server and never holds
// the KEK. Turning the KEK is the server's own job.
func (c *Client) KEK() kek.Provider { return &provider{c: c} }

type provider struct{ c *Client }

var errServerTurns = errors.New("the server turns its own KEK")

func (p *provider) Current(context.Context) (kek.Version, error) { return 0, errServerTurns }

func (p *provider) Wrap(ctx context.Context, plaintext, aad []byte) (kek.Wrapped, error) {
	var r wrapResp
	if err := p.c.call(ctx, pathWrap, wrapReq{Plaintext: plaintext, AAD: aad}, &r); err != nil {
		return kek.Wrapped{}, err
	}
	return kek.Parse(r.Wrapped)
}

func (p *provider) Unwrap(ctx context.Context, w kek.Wrapped, aad []byte) ([]byte, error) {
	var r unwrapResp
	if err := p.c.call(ctx, pathUnwrap, unwrapReq{Wrapped: w.String(), AAD: aad}, &r); err != nil {
		return nil, err
	}
	return r.Plaintext, nil
}

func (p *provider) Rotate(context.Context) (kek.Version, error)         { return 0, errServerTurns }
func (p *provider) Destroy(context.Context, kek.Version) error          { return errServerTurns }
func (p *provider) Versions(context.Context) ([]kek.VersionInfo, error) { return nil, errServerTurns }

// DestroyKey asks the server to destroy bucket's shred key: it records the
// bucket in its destruction ledger and deletes the wrapped key.
func (c *Client) DestroyKey(ctx context.Context, bucket string) error {
	return c.call(ctx, pathDestroy, destroyReq{Bucket: bucket}, nil)
}

// Keyring is the client's shred-key keyring: wrapped keys in the server's
// store, wrapped and unwrapped by the server's KEK, destroyed by the
// server (which keeps the destruction ledger).
func (c *Client) Keyring(ctx context.Context) (*kek.Keyring, error) {
	k, _, err := kek.OpenKeyring(ctx, c.Store(), c.KEK(), kek.KeyringOptions{Destroy: c.DestroyKey})
	return k, err
}

// Payloads is the server's store of large notes' payloads, a chunk of
// pgstore.ChunkSize bytes a request.
func (c *Client) Payloads() kv.Payloads { return pgstore.Chunked(chunks{c}) }

// chunks is pgstore.ChunkStore over the protocol.
type chunks struct{ c *Client }

func (p chunks) do(ctx context.Context, path string, req payloadReq) (payloadResp, error) {
	var r payloadResp
	err := p.c.call(ctx, path, req, &r)
	return r, err
}

func (p chunks) CreatePayload(ctx context.Context) (int64, error) {
	r, err := p.do(ctx, pathPayloadCreate, payloadReq{})
	return r.ID, err
}

func (p chunks) WriteChunk(ctx context.Context, id int64, n int, data []byte) error {
	_, err := p.do(ctx, pathPayloadWrite, payloadReq{ID: id, N: n, Data: data})
	return err
}

func (p chunks) PlacePayload(ctx context.Context, id int64, name string) error {
	_, err := p.do(ctx, pathPayloadPlace, payloadReq{ID: id, Name: name})
	return err
}

func (p chunks) DiscardPayload(ctx context.Context, id int64) error {
	_, err := p.do(ctx, pathPayloadDiscard, payloadReq{ID: id})
	return err
}

func (p chunks) OpenPayload(ctx context.Context, name string) (int64, int64, error) {
	r, err := p.do(ctx, pathPayloadOpen, payloadReq{Name: name})
	if err == nil && !r.Found {
		err = fmt.Errorf("payload %s: %w", name, kv.ErrNotFound)
	}
	return r.ID, r.Size, err
}

func (p chunks) ReadChunk(ctx context.Context, id int64, n int) ([]byte, error) {
	r, err := p.do(ctx, pathPayloadRead, payloadReq{ID: id, N: n})
	if err != nil || !r.Found {
		return nil, err
	}
	if r.Data == nil {
		r.Data = []byte{}
	}
	return r.Data, nil
}

func (p chunks) RemovePayloads(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := p.do(ctx, pathPayloadRemove, payloadReq{Names: names})
	return err
}

func (p chunks) PayloadNames(ctx context.Context) ([]string, []string, error) {
	r, err := p.do(ctx, pathPayloadNames, payloadReq{})
	return r.Placed, r.Unfinished, err
}
