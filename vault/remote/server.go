package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/notevault/notevault/vault/httpauth"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/kv"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/seal"
)

// Server answers the protocol for one database.
type Server struct {
	Store *pgstore.Store
	// KEK wraps and unwraps shred keys; Keys is the keyring over Store
	// and KEK whose Destroy keeps the destruction ledger.
	KEK  kek.Provider
	Keys *kek.Keyring
	// Admin enrols participants; it may also use the vault as one.
	Admin identity.PublicKey
	// Log records each request's outcome, never a key or a value. Nil:
	// slog.Default().
	Log *slog.Logger
	// Now is the clock of request proofs. Nil: time.Now.
	Now func() time.Time

	// Gate, when set, decides which stored copies each asker may be
	// handed (vault.ServerGate); nil hands out every row.
	Gate Gate
	// AppendOnly are the key prefixes under which no client commit may
	// change or remove a row once written (vault.AppendOnly: the audit log
	// and agreements' chains): a participant's key cannot rewrite history,
	// however they edit their notevault. 403 otherwise.
	AppendOnly [][]byte

	known sync.Map // fingerprint → identity.PublicKey, enrolled keys seen
}

// Gate is the server's own check of what it hands out: a record (Key) or
// a payload (Copy, by name). Each returns "" when who may have it, or the
// sentence that says why not, which the asker gets with a 403.
type Gate interface {
	Key(ctx context.Context, who identity.PublicKey, key []byte) (string, error)
	Copy(ctx context.Context, who identity.PublicKey, name string) (string, error)
	// Writer decides whether who may commit writes at all; the admin
	// always may.
	Writer(ctx context.Context, who identity.PublicKey) (string, error)
}

// gateKey asks the gate, if any, about the record at key.
func (s *Server) gateKey(ctx context.Context, who identity.PublicKey, key []byte) error {
	if s.Gate == nil {
		return nil
	}
	return refused(s.Gate.Key(ctx, who, key))
}

// gateCopy asks the gate, if any, about the payload name ("" for one
// still being written, which nothing refers to yet).
func (s *Server) gateCopy(ctx context.Context, who identity.PublicKey, name string) error {
	if s.Gate == nil || name == "" {
		return nil
	}
	return refused(s.Gate.Copy(ctx, who, name))
}

// gateWriter asks the gate, if any, whether who may change the store:
// commit writes, write payloads, destroy shred keys. The admin may.
func (s *Server) gateWriter(ctx context.Context, who identity.PublicKey) error {
	if s.Gate == nil || who.Fingerprint() == s.Admin.Fingerprint() {
		return nil
	}
	return refused(s.Gate.Writer(ctx, who))
}

func refused(why string, err error) error {
	if err == nil && why != "" {
		return &refusal{http.StatusForbidden, "denied", why}
	}
	return err
}

// maxPage bounds the bytes of values one scan response carries.
const maxPage = 4 << 20

// Handler is the API, every request authenticated.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, fn func(ctx context.Context, who identity.PublicKey, body []byte) (any, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			who, _ := httpauth.From(r.Context())
			body, err := io.ReadAll(r.Body)
			var out any
			if err == nil {
				out, err = fn(r.Context(), who, body)
			}
			s.reply(w, r, who, out, err)
		})
	}
	handle(pathGet, s.get)
	handle(pathScan, s.scan)
	handle(pathRead, s.read)
	handle(pathCommit, s.commit)
	handle(pathWrap, s.wrap)
	handle(pathUnwrap, s.unwrap)
	handle(pathDestroy, s.destroy)
	handle(pathTurn, s.takeTurn)
	handle(pathTurnEnd, s.endTurn)
	for path, fn := range map[string]func(context.Context, identity.PublicKey, payloadReq) (payloadResp, error){
		pathPayloadCreate: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			if err := s.gateWriter(ctx, who); err != nil {
				return payloadResp{}, err
			}
			id, err := s.Store.CreatePayload(ctx)
			return payloadResp{ID: id}, err
		},
		pathPayloadWrite: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			if err := s.gateWriter(ctx, who); err != nil {
				return payloadResp{}, err
			}
			if len(r.Data) == 0 || len(r.Data) > pgstore.ChunkSize {
				return payloadResp{}, badRequest("a chunk is 1 to %d bytes", pgstore.ChunkSize)
			}
			return payloadResp{}, s.Store.WriteChunk(ctx, r.ID, r.N, r.Data)
		},
		pathPayloadPlace: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			if err := s.gateWriter(ctx, who); err != nil {
				return payloadResp{}, err
			}
			return payloadResp{}, s.Store.PlacePayload(ctx, r.ID, r.Name)
		},
		pathPayloadDiscard: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			if err := s.gateWriter(ctx, who); err != nil {
				return payloadResp{}, err
			}
			return payloadResp{}, s.Store.DiscardPayload(ctx, r.ID)
		},
		pathPayloadOpen: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			if err := s.gateCopy(ctx, who, r.Name); err != nil {
				return payloadResp{}, err
			}
			id, size, err := s.Store.OpenPayload(ctx, r.Name)
			if errors.Is(err, kv.ErrNotFound) {
				return payloadResp{}, nil
			}
			return payloadResp{ID: id, Size: size, Found: err == nil}, err
		},
		pathPayloadRead: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			// Payload ids are sequential: the gate decides on the name the
			// id has now, not on the one the client opened.
			data, name, err := s.Store.ReadNamedChunk(ctx, r.ID, r.N)
			if err == nil {
				err = s.gateCopy(ctx, who, name)
			}
			if err != nil {
				return payloadResp{}, err
			}
			return payloadResp{Data: data, Found: data != nil}, nil
		},
		pathPayloadRemove: func(ctx context.Context, who identity.PublicKey, r payloadReq) (payloadResp, error) {
			if err := s.gateWriter(ctx, who); err != nil {
				return payloadResp{}, err
			}
			return payloadResp{}, s.Store.RemovePayloads(ctx, r.Names)
		},
		pathPayloadNames: func(ctx context.Context, _ identity.PublicKey, r payloadReq) (payloadResp, error) {
			placed, unfinished, err := s.Store.PayloadNames(ctx)
			return payloadResp{Placed: placed, Unfinished: unfinished}, err
		},
	} {
		handle(path, func(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
			var req payloadReq
			if err := decode(body, &req); err != nil {
				return nil, err
			}
			return fn(ctx, who, req)
		})
	}
	handle(pathEnrol, s.enrol)
	v := &httpauth.Verifier{Keys: s.lookup, Nonces: &pgNonces{s.Store}, Now: s.Now}
	root := http.NewServeMux()
	root.Handle("/", v.Handler(mux))
	root.HandleFunc("GET /healthz", s.healthz)
	return root
}

// healthz answers, without authentication and without a word about the
// vault, whether this replica reaches its database: what a load balancer
// or a Kubernetes readiness probe asks.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Pool().Ping(ctx); err != nil {
		s.logger().Warn("health check: the database does not answer", "err", err)
		http.Error(w, "the database does not answer", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// refusal is an error with its HTTP status and code.
type refusal struct {
	status int
	code   string
	msg    string
}

func (r *refusal) Error() string { return r.msg }

func badRequest(format string, args ...any) error {
	return &refusal{http.StatusBadRequest, "bad-request", fmt.Sprintf(format, args...)}
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, who identity.PublicKey, out any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err == nil {
		s.logger().Debug("request", "path", r.URL.Path, "key", who.Fingerprint())
		json.NewEncoder(w).Encode(out)
		return
	}
	var ref *refusal
	switch {
	case errors.As(err, &ref):
	case errors.Is(err, pgstore.ErrAppendOnly):
		ref = &refusal{http.StatusForbidden, "forbidden", err.Error()}
	case errors.Is(err, kv.ErrConflict):
		ref = &refusal{http.StatusConflict, "conflict", "a concurrent change conflicted with this action"}
	case errors.Is(err, kv.ErrTooBig):
		ref = &refusal{http.StatusRequestEntityTooLarge, "too-big", kv.ErrTooBig.Error()}
	case errors.Is(err, kek.ErrDestroyed):
		ref = &refusal{http.StatusGone, "destroyed", kek.ErrDestroyed.Error()}
	case errors.Is(err, kek.ErrUnwrap):
		ref = &refusal{http.StatusUnprocessableEntity, "unwrap", kek.ErrUnwrap.Error()}
	default:
		// The cause stays in the server's log; the client learns only
		// that the server failed.
		s.logger().Error("request failed", "path", r.URL.Path, "key", who.Fingerprint(), "err", err)
		ref = &refusal{http.StatusInternalServerError, "server", "its log says why"}
	}
	if ref.status != http.StatusInternalServerError {
		s.logger().Info("request refused", "path", r.URL.Path, "key", who.Fingerprint(), "code", ref.code)
	}
	w.WriteHeader(ref.status)
	json.NewEncoder(w).Encode(errorResp{Error: ref.msg, Code: ref.code})
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("the request body is not valid JSON for this call")
	}
	return nil
}

// lookup finds the key that signed a request: the admin's, or an enrolled
// participant's. Enrolment is never undone, so a key found once is kept.
func (s *Server) lookup(ctx context.Context, fp string) (identity.PublicKey, error) {
	if fp == s.Admin.Fingerprint() {
		return s.Admin, nil
	}
	if k, ok := s.known.Load(fp); ok {
		return k.(identity.PublicKey), nil
	}
	var pub string
	err := s.Store.Pool().QueryRow(ctx, `SELECT public FROM principals WHERE fingerprint = $1`, fp).Scan(&pub)
	if err != nil {
		return identity.PublicKey{}, errors.New("unknown key")
	}
	k, err := identity.ParsePublicKey(pub)
	if err == nil {
		s.known.Store(fp, k)
	}
	return k, err
}

func (s *Server) get(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req getReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	return s.getAt(ctx, who, req.At, req.Key)
}

// getAt reads key at snapshot at for who, through the gate.
func (s *Server) getAt(ctx context.Context, who identity.PublicKey, at int64, key []byte) (getResp, error) {
	v, at, err := s.Store.GetAt(ctx, at, key)
	if errors.Is(err, kv.ErrNotFound) {
		return getResp{At: at}, nil
	}
	if err == nil {
		err = s.gateKey(ctx, who, key)
	}
	if err != nil {
		return getResp{}, err
	}
	return getResp{At: at, Found: true, Value: v}, nil
}

func (s *Server) scan(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req scanReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	return s.scanAt(ctx, who, req)
}

// scanAt answers one page of a scan for who, through the gate.
func (s *Server) scanAt(ctx context.Context, who identity.PublicKey, req scanReq) (scanResp, error) {
	sc, err := s.Store.ScanAt(ctx, req.At, req.Prefix, req.From, req.Incl, req.Reverse, req.KeysOnly, 256)
	if err != nil {
		return scanResp{}, err
	}
	return s.page(ctx, who, sc, req.Reverse, req.KeysOnly)
}

// page is a scan's answer: cut at maxPage bytes of values (the client asks
// for the rest from the last row it got), each row through the gate.
func (s *Server) page(ctx context.Context, who identity.PublicKey, sc pgstore.Scan, reverse, keysOnly bool) (scanResp, error) {
	rows, covered, more := sc.Rows, sc.Covered, sc.More
	size := 0
	for i, r := range rows {
		size += len(r.K) + len(r.V)
		if size > maxPage && i > 0 {
			rows, more = rows[:i], true
			if reverse {
				covered.Lo = rows[i-1].K
			} else {
				covered.Hi = rows[i-1].K
			}
			break
		}
	}
	if !keysOnly {
		for _, r := range rows {
			if err := s.gateKey(ctx, who, r.K); err != nil {
				return scanResp{}, err
			}
		}
	}
	return scanResp{At: sc.At, Rows: rows, Covered: covered, More: more}, nil
}

func (s *Server) commit(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req commitReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	for _, w := range req.Writes {
		if len(w.K) == 0 {
			return nil, badRequest("a write has an empty key")
		}
	}
	if len(req.ID) < 16 || len(req.ID) > 64 {
		return nil, badRequest("a commit needs an id of 16 to 64 characters")
	}
	if len(req.Writes) > 0 {
		if err := s.gateWriter(ctx, who); err != nil {
			return nil, err
		}
	}
	c := pgstore.Commit{ID: who.Fingerprint() + "/" + req.ID, At: req.At, Reads: req.Reads, Scans: req.Scans, Writes: req.Writes, AppendOnly: s.AppendOnly}
	if req.Turn != "" {
		c.Turn = who.Fingerprint() + "/" + req.Turn
	}
	return struct{}{}, s.Store.Apply(ctx, c)
}

// The writers' turn: how long a holder keeps it without committing, and
// how long a request waits for it before the client is told to try again.
const (
	turnTTL  = 5 * time.Second
	turnWait = 10 * time.Second
	// turnPoll is how often a waiter asks again when no ended turn names
	// it: well within pgstore's queueAlive, which keeps its place.
	turnPoll = 300 * time.Millisecond
)

// takeTurn waits until the client holds the writers' turn, or answers a
// conflict (the client's action backs off and runs again) after turnWait.
// Holding it, it moves the client's snapshot to the newest commit if
// nothing the client read so far changed since (pgstore.Advance), or gives
// the turn back and answers a conflict.
func (s *Server) takeTurn(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req turnReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.Keys)+len(req.Walks) > 64 {
		return nil, badRequest("a turn brings at most 64 keys and walks")
	}
	if err := s.waitTurn(ctx, who, req); err != nil {
		return nil, err
	}
	holder := who.Fingerprint() + "/" + req.Holder
	resp, err := s.advance(ctx, who, req)
	if err != nil {
		s.Store.EndTurn(context.WithoutCancel(ctx), holder)
		return nil, err
	}
	return resp, nil
}

// advance moves the snapshot for a client that now holds the turn and
// reads what it asked to read next there.
func (s *Server) advance(ctx context.Context, who identity.PublicKey, req turnReq) (turnResp, error) {
	r, err := s.Store.Advance(ctx, req.At, req.Reads, req.Scans, ahead(req.Keys, req.Walks), 256)
	if err != nil {
		return turnResp{}, err
	}
	return s.answer(ctx, who, req.Keys, r)
}

// read answers keys and walks at one snapshot (a client's, or a new one):
// what a reader needs to see agree, such as the audit log's head and its
// newest records, in one request.
func (s *Server) read(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req readReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.Keys)+len(req.Walks) > 64 {
		return nil, badRequest("a read asks for at most 64 keys and walks")
	}
	r, err := s.Store.ReadAt(ctx, req.At, ahead(req.Keys, req.Walks), 256)
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, who, req.Keys, r)
}

func ahead(keys [][]byte, walks []walkReq) pgstore.Ahead {
	a := pgstore.Ahead{Keys: keys}
	for _, w := range walks {
		a.Walks = append(a.Walks, pgstore.Walk{Prefix: w.Prefix, From: w.From})
	}
	return a
}

// answer is what was read ahead for who, each row through the gate as a
// get or a scan would be.
func (s *Server) answer(ctx context.Context, who identity.PublicKey, keys [][]byte, r pgstore.Read) (turnResp, error) {
	resp := turnResp{At: r.At}
	for i, g := range r.Got {
		if g.Found {
			if err := s.gateKey(ctx, who, keys[i]); err != nil {
				return turnResp{}, err
			}
		}
		resp.Got = append(resp.Got, keyResp{Key: keys[i], getResp: getResp{At: r.At, Found: g.Found, Value: g.Value}})
	}
	for _, sc := range r.Pages {
		p, err := s.page(ctx, who, sc, false, false)
		if err != nil {
			return turnResp{}, err
		}
		resp.Pages = append(resp.Pages, p)
	}
	return resp, nil
}

// waitTurn waits until the client holds the writers' turn.
func (s *Server) waitTurn(ctx context.Context, who identity.PublicKey, req turnReq) error {
	if req.Holder == "" || len(req.Holder) > 64 {
		return badRequest("a turn needs a holder of 1 to 64 characters")
	}
	holder := who.Fingerprint() + "/" + req.Holder
	deadline := time.Now().Add(turnWait)
	ended := s.Store.TurnEnded()
	for {
		got, until, err := s.Store.TakeTurn(ctx, holder, turnTTL)
		if err != nil || got {
			return err
		}
		if time.Until(deadline) <= 0 {
			return kv.ErrConflict
		}
		// Ask again when a turn ends and names this holder next (or no
		// one), when the current one runs out, or at the latest after
		// turnPoll: a NOTIFY may be lost, and asking keeps the place in
		// the queue (pgstore.TakeTurn).
		timeout := time.After(max(min(time.Until(until), time.Until(deadline), turnPoll), time.Millisecond))
	wait:
		for {
			select {
			case <-ended:
				ended = s.Store.TurnEnded() // the next end, taken before asking again
				if next := s.Store.NextTurn(); next == "" || next == holder {
					break wait
				}
			case <-timeout:
				break wait
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

func (s *Server) endTurn(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req turnReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	return struct{}{}, s.Store.EndTurn(ctx, who.Fingerprint()+"/"+req.Holder)
}

func (s *Server) wrap(ctx context.Context, _ identity.PublicKey, body []byte) (any, error) {
	var req wrapReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.Plaintext) != seal.KeySize {
		return nil, badRequest("a shred key is %d bytes", seal.KeySize)
	}
	w, err := s.KEK.Wrap(ctx, req.Plaintext, req.AAD)
	if err != nil {
		return nil, err
	}
	return wrapResp{Wrapped: w.String()}, nil
}

func (s *Server) unwrap(ctx context.Context, _ identity.PublicKey, body []byte) (any, error) {
	var req unwrapReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	w, err := kek.Parse(req.Wrapped)
	if err != nil {
		return nil, badRequest("not a wrapped key")
	}
	key, err := s.KEK.Unwrap(ctx, w, req.AAD)
	if err != nil {
		return nil, err
	}
	return unwrapResp{Plaintext: key}, nil
}

func (s *Server) destroy(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	var req destroyReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := s.gateWriter(ctx, who); err != nil {
		return nil, err
	}
	return struct{}{}, s.Keys.Destroy(req.Bucket)
}

func (s *Server) enrol(ctx context.Context, who identity.PublicKey, body []byte) (any, error) {
	if who.Fingerprint() != s.Admin.Fingerprint() {
		return nil, &refusal{http.StatusForbidden, "forbidden", "only the server's admin identity enrols participants"}
	}
	var req enrolReq
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	pub, err := identity.ParsePublicKey(req.Public)
	if err != nil {
		return nil, badRequest("not a notevault public key: %v", err)
	}
	_, err = s.Store.Pool().Exec(ctx, `INSERT INTO principals (fingerprint, public) VALUES ($1, $2) ON CONFLICT (fingerprint) DO NOTHING`, pub.Fingerprint(), pub.String())
	if err != nil {
		return nil, fmt.Errorf("enrolling: %w", err)
	}
	s.logger().Info("enrolled", "key", pub.Fingerprint())
	return struct{}{}, nil
}

// pgNonces keeps the one-time ids of request proofs in PostgreSQL, shared
// by every replica: the insert that finds the id there already refuses the
// replay. Written without waiting for the WAL flush (synchronous_commit
// off): a crash may forget the last few milliseconds of ids, whose proofs
// then could be replayed until they expire; every write a proof carries is
// a commit at a snapshot, which a replay after the original finds
// conflicting.
type pgNonces struct{ s *pgstore.Store }

func (n *pgNonces) Use(ctx context.Context, keyID, id string, until time.Time) error {
	// One statement, its own transaction: set_config(…, true) turns the
	// flush off for that transaction alone.
	tag, err := n.s.Pool().Exec(ctx, `WITH off AS (SELECT set_config('synchronous_commit', 'off', true))
		INSERT INTO nonces (key_id, id, until) SELECT $1, $2, $3 FROM off ON CONFLICT DO NOTHING`, keyID, id, until)
	if err != nil {
		return fmt.Errorf("recording the request's proof: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return httpauth.ErrReplay
	}
	return nil
}

// PruneNonces forgets the proofs that expired before now.
func PruneNonces(ctx context.Context, s *pgstore.Store, now time.Time) (int64, error) {
	tag, err := s.Pool().Exec(ctx, `DELETE FROM nonces WHERE until < $1`, now)
	return tag.RowsAffected(), err
}
