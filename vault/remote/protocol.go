// Package remote is notevault serve's protocol: the vault's transactional
// store (vault/kv) and its KEK (vault/kek) offered over HTTP to clients
// that do all age work and every signature themselves.
//
// The server (Server) is a thin layer over PostgreSQL (vault/pgstore): it
// authenticates every request by the participant's own signing key
// (vault/httpauth), answers reads at a snapshot, commits a client's
// buffered writes only if nothing it read changed since (optimistic
// concurrency; pgstore's snapshot.go), and wraps and unwraps shred keys
// under its KEK, which never leaves it. It holds no identity and sees only
// what the store holds: sealed ciphertexts, signatures and ids. Any number
// of replicas may serve one database; none keeps state between requests.
//
// The client (Dial) is a kv.Store: the vault runs over it exactly as over
// a local badger store, so every command works against a server, and every
// check the vault makes of an untrusted store (signed records, pinned
// checkpoints) applies to the server as to a directory. See docs/server.md.
//
// The wire format is JSON over HTTP POST (bytes as base64, as
// encoding/json writes []byte): one request per read, per page of a scan
// and per commit.
package remote

import "github.com/notevault/notevault/vault/pgstore"

// The API's paths.
const (
	pathGet     = "/v1/get"
	pathScan    = "/v1/scan"
	pathRead    = "/v1/read"
	pathCommit  = "/v1/commit"
	pathWrap    = "/v1/kek/wrap"
	pathUnwrap  = "/v1/kek/unwrap"
	pathDestroy = "/v1/keys/destroy"
	pathTurn    = "/v1/turn"

	pathPayloadCreate  = "/v1/payload/create"
	pathPayloadWrite   = "/v1/payload/write"
	pathPayloadPlace   = "/v1/payload/place"
	pathPayloadDiscard = "/v1/payload/discard"
	pathPayloadOpen    = "/v1/payload/open"
	pathPayloadRead    = "/v1/payload/read"
	pathPayloadRemove  = "/v1/payload/remove"
	pathPayloadNames   = "/v1/payload/names"
	pathTurnEnd        = "/v1/turn/end"
	pathEnrol          = "/v1/enrol"
)

// A read's At is the transaction's snapshot, or pgstore.Now (-1) for its
// first read, which takes one; the answer says which snapshot it read at.
type getReq struct {
	At  int64  `json:"at"`
	Key []byte `json:"key"`
}

type getResp struct {
	At    int64  `json:"at"`
	Found bool   `json:"found"`
	Value []byte `json:"value,omitempty"`
}

type scanReq struct {
	At       int64  `json:"at"`
	Prefix   []byte `json:"prefix"`
	From     []byte `json:"from,omitempty"`
	Incl     bool   `json:"incl"`
	Reverse  bool   `json:"reverse"`
	KeysOnly bool   `json:"keys_only"`
}

type scanResp struct {
	At      int64         `json:"at"`
	Rows    []pgstore.Row `json:"rows"`
	Covered pgstore.Range `json:"covered"`
	More    bool          `json:"more"`
}

type commitReq struct {
	ID     string          `json:"id"`             // random: a commit sent again is applied once
	Turn   string          `json:"turn,omitempty"` // the writers' turn it held, ended by the commit
	At     int64           `json:"at"`
	Reads  [][]byte        `json:"reads"`
	Scans  []pgstore.Range `json:"scans"`
	Writes []pgstore.Write `json:"writes"`
}

type wrapReq struct {
	Plaintext []byte `json:"plaintext"`
	AAD       []byte `json:"aad"`
}

type wrapResp struct {
	Wrapped string `json:"wrapped"`
}

type unwrapReq struct {
	Wrapped string `json:"wrapped"`
	AAD     []byte `json:"aad"`
}

type unwrapResp struct {
	Plaintext []byte `json:"plaintext"`
}

// turnReq asks for the writers' turn (pgstore/turn.go), or ends it. Holder
// is the client's own name for itself; the server prefixes its key's
// fingerprint.
type turnReq struct {
	Holder string `json:"holder"`
	// What the transaction read so far, at its snapshot At (pgstore.Now:
	// nothing yet): taking the turn moves the snapshot to the newest
	// commit if none of it changed.
	At    int64           `json:"at,omitempty"`
	Reads [][]byte        `json:"reads,omitempty"`
	Scans []pgstore.Range `json:"scans,omitempty"`
	// What the transaction reads next (kv.Ahead), answered with the turn
	// at the new snapshot.
	Keys  [][]byte  `json:"keys,omitempty"`
	Walks []walkReq `json:"walks,omitempty"`
}

// readReq asks for keys and the first page of walks at one snapshot, At
// (pgstore.Now: a new one); the answer is a turnResp.
type readReq struct {
	At    int64     `json:"at"`
	Keys  [][]byte  `json:"keys,omitempty"`
	Walks []walkReq `json:"walks,omitempty"`
}

// walkReq is the first page of a forward scan with values (kv.Walk).
type walkReq struct {
	Prefix []byte `json:"prefix"`
	From   []byte `json:"from"`
}

// turnResp is the snapshot the transaction reads at from then on, and
// what it asked to read next: each key as a get answers it, each walk's
// first page as a scan does.
type turnResp struct {
	At    int64      `json:"at"`
	Got   []keyResp  `json:"got,omitempty"`
	Pages []scanResp `json:"pages,omitempty"`
}

type keyResp struct {
	Key []byte `json:"key"`
	getResp
}

type destroyReq struct {
	Bucket string `json:"bucket"`
}

type enrolReq struct {
	Public string `json:"public"`
}

// errorResp is every refusal's body.
type errorResp struct {
	Error string `json:"error"`
	// Code names the refusal for the client: "conflict", "too-big",
	// "destroyed", "unwrap", "forbidden", "bad-request", "server". A
	// refusal by the authentication layer (401) has none.
	Code string `json:"code"`
}

// payloadReq is every payload call's body (pgstore.ChunkStore): the fields
// the call needs.
type payloadReq struct {
	ID    int64    `json:"id,omitempty"`
	N     int      `json:"n,omitempty"`
	Data  []byte   `json:"data,omitempty"`
	Name  string   `json:"name,omitempty"`
	Names []string `json:"names,omitempty"`
}

type payloadResp struct {
	ID         int64    `json:"id,omitempty"`
	Size       int64    `json:"size,omitempty"`
	Data       []byte   `json:"data,omitempty"`
	Found      bool     `json:"found,omitempty"`
	Placed     []string `json:"placed,omitempty"`
	Unfinished []string `json:"unfinished,omitempty"`
}
