package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"
	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/pgstore/pgtest"
	"github.com/notevault/notevault/vault/remote"
)

func TestMain(m *testing.M) {
	// Passphrase-protected identities in the scripts use a cheap scrypt.
	identity.SetScryptWorkFactor(10)
	testscript.Main(stopsPostgres{m}, map[string]func(){
		"notevault": func() {
			identity.SetScryptWorkFactor(10)
			if err := setTestNow(os.Getenv("NOTEVAULT_TEST_NOW")); err != nil {
				os.Exit(reportError(os.Stderr, err))
			}
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			if code == 0 && os.Getenv("NOTEVAULT_TEST_ENROL") != "" {
				if err := enrolNewIdentity(os.Args[1:]); err != nil {
					fmt.Fprintf(os.Stderr, "test harness: enrolling the new identity: %v\n", err)
					code = 1
				}
			}
			os.Exit(code)
		},
	})
}

// enrolNewIdentity enrols, with the test server's admin identity, the key
// an `identity new --out FILE` just made, when the scripts run against a
// server (TestScripts/server): there, as on a real server, a key
// is served only once enrolled. Only the test binary does this.
func enrolNewIdentity(args []string) error {
	i := slices.Index(args, "new")
	if i < 1 || args[i-1] != "identity" {
		return nil
	}
	var out string
	for j, a := range args {
		if v, ok := strings.CutPrefix(a, "--out="); ok {
			out = v
		} else if a == "--out" && j+1 < len(args) {
			out = args[j+1]
		}
	}
	if out == "" || out == "-" {
		return nil // written to stdout: the script keeps it where it likes, and cannot use it as a server key
	}
	pass := func() ([]byte, error) {
		for j, a := range args {
			if a == "--passphrase-file" && j+1 < len(args) {
				return os.ReadFile(args[j+1])
			}
		}
		return os.ReadFile(os.Getenv("NOTEVAULT_PASSPHRASE_FILE"))
	}
	id, err := identity.Load(out, func() ([]byte, error) {
		b, err := pass()
		return []byte(strings.TrimRight(string(b), "\r\n")), err
	})
	if err != nil {
		return err
	}
	admin, err := identity.Load(os.Getenv("NOTEVAULT_SERVER_IDENTITY"), nil)
	if err != nil {
		return err
	}
	c, err := remote.Dial(os.Getenv("NOTEVAULT_TEST_ENROL"), admin, nil)
	if err != nil {
		return err
	}
	return c.Enrol(context.Background(), id.Public())
}

// stopsPostgres runs the tests and then stops the PostgreSQL cluster they
// shared, if they started one.
type stopsPostgres struct{ m *testing.M }

func (s stopsPostgres) Run() int { return pgtest.Main(s.m) }

// setTestNow fixes the clock of the scripts' notevault to s (RFC 3339), so
// that they can assert times; an empty s leaves the system clock. This hook
// lives in the test binary only: the release binary ignores the variable
// (TestReleaseBinaryIgnoresTestClock).
func setTestNow(s string) error {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("NOTEVAULT_TEST_NOW %q is not an RFC 3339 time", s)
	}
	testNow = func() time.Time { return t }
	return nil
}

// TestScripts runs every script twice: against a vault directory, and
// against notevault serve on a PostgreSQL database of the script's own
// (skipped, saying how to install it, where PostgreSQL is absent). The same
// commands give the same output, JSON and exit codes on both; a script, or
// a line, about a vault directory's own files is marked [!server].
func TestScripts(t *testing.T) {
	for _, backend := range []string{"directory", "server"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "server" {
				pgtest.Start(t)
			}
			runScripts(t, backend == "server")
		})
	}
}

func runScripts(t *testing.T, server bool) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Condition: func(cond string) (bool, error) {
			if cond == "server" {
				return server, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			scriptEnv(e, filepath.Join(e.WorkDir, "vault"))
			if server {
				return serveScript(t, e)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":    cmdExitcode,
			"capture":     cmdCapture,
			"agedecrypt":  cmdAgeDecrypt,
			"noplaintext": cmdNoPlaintext,
			"fixture":     cmdFixture,
			"filemode":    cmdFilemode,
			"expiryindex": cmdExpiryIndex,
			"rawkeys":     cmdRawKeys,
			"oldvault":    cmdOldVault,
			"sql":         cmdSQL,
			"bigfile":     cmdBigfile,
			"chop":        cmdChop,
		},
	})
}

// exitcode N PROG ARGS... runs PROG and asserts that it exits with code N;
// its stdout and stderr are then what the stdout and stderr commands see.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// capture VAR sets VAR to the last command's stdout, trimmed.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: capture VAR")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

// agedecrypt IDENTITY FILE decrypts an age file with the age library and
// prints the plaintext on stdout.
func cmdAgeDecrypt(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: agedecrypt IDENTITY FILE")
	}
	ids, err := age.ParseIdentities(strings.NewReader(ts.ReadFile(args[0])))
	ts.Check(err)
	f, err := os.Open(ts.MkAbs(args[1]))
	ts.Check(err)
	defer f.Close()
	r, err := age.Decrypt(f, ids...)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(r)
		ts.Stdout().Write(b)
	}
	if neg {
		if err == nil {
			ts.Fatalf("agedecrypt succeeded unexpectedly")
		}
		return
	}
	ts.Check(err)
}

// noplaintext DIR STRING fails if any file under DIR contains STRING.
func cmdNoPlaintext(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: noplaintext DIR STRING")
	}
	dirs := []string{ts.MkAbs(args[0])}
	if files := ts.Getenv("NOTEVAULT_TEST_PGFILES"); args[0] == "vault" && files != "" {
		// The vault is on the script's server: scan its database's files
		// and the WAL once PostgreSQL has written its buffers out, and
		// every participant's local state.
		conn, err := pgx.Connect(context.Background(), ts.Getenv("NOTEVAULT_TEST_DB"))
		ts.Check(err)
		_, err = conn.Exec(context.Background(), "CHECKPOINT")
		conn.Close(context.Background())
		ts.Check(err)
		dirs = append(filepath.SplitList(files), ts.MkAbs("state"))
	}
	for _, dir := range dirs {
		noPlaintextIn(ts, dir, args[1])
	}
}

func noPlaintextIn(ts *testscript.TestScript, dir, s string) {
	needle := []byte(s)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(b, needle) {
			ts.Fatalf("%s contains %q", path, s)
		}
		return nil
	})
	ts.Check(err)
	if n == 0 {
		ts.Fatalf("no files under %s", dir)
	}
}

// filemode PERM FILE asserts FILE's permission bits.
func cmdFilemode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filemode PERM FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != fs.FileMode(want) {
		ts.Fatalf("%s has mode %o, want %o", args[1], got, want)
	}
}

// fixture [accepted] makes a vault with alice (mentor), bob (mentee),
// carol (supervisor) and dave (a stranger with a key, not registered),
// identity files alice.key..dave.key, the agreement in agreement.yaml
// (which the script provides), and sets $AGR; with "accepted", alice and bob
// accept it.
func cmdFixture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: fixture [accepted]")
	}
	nv := func(args ...string) string {
		if err := ts.Exec("notevault", args...); err != nil {
			ts.Fatalf("notevault %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(ts.ReadFile("stdout"))
	}
	nv("init")
	for _, p := range [][2]string{{"alice", "mentor"}, {"bob", "mentee"}, {"carol", "supervisor"}, {"dave", ""}} {
		key := nv("identity", "new", "--out", p[0]+".key")
		if p[1] != "" {
			nv("participant", "add", p[0], "--role", p[1], "--key", key)
		}
	}
	agr := nv("agreement", "create", "--file", "agreement.yaml")
	ts.Setenv("AGR", agr)
	if len(args) == 1 && args[0] == "accepted" {
		nv("agreement", "accept", agr, "-i", "alice.key")
		nv("agreement", "accept", agr, "-i", "bob.key")
	}
}

// expiryindex drop NOTE | expiryindex add NOTE TIME edits the expiry index of
// the (closed) vault behind the vault's back, as a bug or an editor of its
// files could: drop removes every entry of NOTE, add files NOTE at TIME
// (RFC 3339). The key layout is written out here on purpose:
// x/<unix seconds, 8 bytes big endian>/<note id>.
func cmdExpiryIndex(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || (args[0] == "drop") != (len(args) == 2) || (args[0] != "drop" && args[0] != "add") {
		ts.Fatalf("usage: expiryindex drop NOTE | expiryindex add NOTE TIME")
	}
	// Scripts run in parallel in this process, and a child forked by another
	// script holds copies of our descriptors until it execs: badger's
	// directory lock from an earlier open here can outlive its close for
	// that moment. Retry briefly rather than fail on it.
	var db *badger.DB
	var err error
	for try := 0; try < 50; try++ {
		db, err = badger.Open(badger.DefaultOptions(filepath.Join(ts.Getenv("NOTEVAULT_DIR"), "db")).WithLogger(nil))
		if err == nil || !strings.Contains(err.Error(), "Cannot acquire directory lock") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Check(err)
	defer func() { ts.Check(db.Close()) }()
	note := args[1]
	err = db.Update(func(txn *badger.Txn) error {
		if args[0] == "add" {
			at, err := time.Parse(time.RFC3339, args[2])
			if err != nil {
				return err
			}
			key := binary.BigEndian.AppendUint64([]byte("x/"), uint64(at.Unix()))
			return txn.Set(append(key, "/"+note...), nil)
		}
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte("x/")
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		var doomed [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			if k := it.Item().KeyCopy(nil); strings.HasSuffix(string(k), "/"+note) {
				doomed = append(doomed, k)
			}
		}
		it.Close()
		if len(doomed) == 0 {
			return fmt.Errorf("note %s is not in the expiry index", note)
		}
		for _, k := range doomed {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	ts.Check(err)
}

// sql STATEMENT runs STATEMENT on the database of the script's server, as
// its operator (or anyone with the database) could.
func cmdSQL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || ts.Getenv("NOTEVAULT_TEST_DB") == "" {
		ts.Fatalf("usage: sql STATEMENT (in a script run against a server)")
	}
	conn, err := pgx.Connect(context.Background(), ts.Getenv("NOTEVAULT_TEST_DB"))
	ts.Check(err)
	defer conn.Close(context.Background())
	tag, err := conn.Exec(context.Background(), args[0])
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), tag.String())
}

// rawkeys PREFIX prints, one a line, every key of the (closed) vault's
// store that starts with PREFIX, read straight from badger as someone with
// the disk could (c/<blob> are sealed copies, m/<bucket>/<blob> which shred
// key seals them).
func cmdRawKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: rawkeys PREFIX")
	}
	if dsn := ts.Getenv("NOTEVAULT_TEST_DB"); dsn != "" { // the vault is on the script's server
		conn, err := pgx.Connect(context.Background(), dsn)
		ts.Check(err)
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), `SELECT k FROM kv WHERE v IS NOT NULL AND substr(k, 1, length($1::bytea)) = $1::bytea ORDER BY k`, []byte(args[0]))
		ts.Check(err)
		defer rows.Close()
		for rows.Next() {
			var k []byte
			ts.Check(rows.Scan(&k))
			fmt.Fprintf(ts.Stdout(), "%s\n", k)
		}
		ts.Check(rows.Err())
		return
	}
	var db *badger.DB
	var err error
	for try := 0; try < 50; try++ {
		db, err = badger.Open(badger.DefaultOptions(filepath.Join(ts.Getenv("NOTEVAULT_DIR"), "db")).WithLogger(nil))
		if err == nil || !strings.Contains(err.Error(), "Cannot acquire directory lock") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Check(err)
	defer func() { ts.Check(db.Close()) }()
	ts.Check(db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(args[0])
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			fmt.Fprintf(ts.Stdout(), "%s\n", it.Item().Key())
		}
		return nil
	}))
}

// oldvault copies testdata/vault-v2 of the repository (a vault written by
// an earlier release, see its README) into the script's directory: the
// vault, the identity files alice.key, bob.key and carol.key, and the
// agreement files. It sets $AGR, $N1.. to the note ids in the order of its
// manifest, $DESTROYED to the deleted note and $FIXTURE_NOW to an hour after
// the fixture's last write.
func cmdOldVault(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: oldvault")
	}
	src := filepath.Join("..", "..", "testdata", "vault-v2")
	dst := ts.MkAbs(".")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	ts.Check(err)
	ts.Check(os.Chmod(filepath.Join(dst, "vault"), 0o700))
	var m struct {
		Now       time.Time `json:"now"`
		Agreement string    `json:"agreement"`
		Notes     []struct {
			ID string `json:"id"`
		} `json:"notes"`
		Destroyed []string `json:"destroyed"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(filepath.Join(dst, "manifest.json"))), &m))
	ts.Setenv("AGR", m.Agreement)
	for i, n := range m.Notes {
		ts.Setenv(fmt.Sprintf("N%d", i+1), n.ID)
	}
	ts.Setenv("DESTROYED", m.Destroyed[0])
	ts.Setenv("FIXTURE_NOW", m.Now.Add(time.Hour).Format(time.RFC3339))
}

// bigfile FILE SIZE MARKER writes SIZE bytes of text (a fixed pseudo-random
// stream of letters and newlines) with MARKER-start, MARKER-middle and
// MARKER-end at its start, middle and end: a body larger than notevault
// keeps inline, spread over many age chunks.
func cmdBigfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: bigfile FILE SIZE MARKER")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
		if x%71 == 0 {
			b[i] = '\n'
		}
	}
	m := args[2]
	copy(b, m+"-start")
	copy(b[n/2:], m+"-middle")
	copy(b[n-len(m)-4:], m+"-end")
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
}

// chop FILE N cuts the last N bytes off FILE.
func cmdChop(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: chop FILE N")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), st.Size()-n))
}

// TestServerScripts runs the scripts of testdata/server against notevault
// serve on a PostgreSQL database of their own (skipped, saying how to
// install it, where PostgreSQL is absent).
func TestServerScripts(t *testing.T) {
	cluster := pgtest.Start(t)
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "server"),
		Setup: func(e *testscript.Env) error {
			port, err := freePort()
			if err != nil {
				return err
			}
			e.Setenv("NOTEVAULT_DB", cluster.NewDatabase(t))
			e.Setenv("PORT", port)
			scriptEnv(e, "http://127.0.0.1:"+port)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":   cmdExitcode,
			"capture":    cmdCapture,
			"bigfile":    cmdBigfile,
			"waitserver": cmdWaitServer,
			"selfsigned": cmdSelfSigned,
		},
	})
}

// scriptEnv is every script's environment: its vault (a directory, or a
// server's URL), and nothing of the user's running the tests.
func scriptEnv(e *testscript.Env, vault string) {
	e.Setenv("NOTEVAULT_DIR", vault)
	// VAULT names the script's vault, VAULT_KEYS the directory with the
	// checkpoint key that signs what this user saw of it (on a server: the
	// user's local state for it).
	e.Setenv("VAULT", vault)
	e.Setenv("VAULT_KEYS", vault)
	e.Setenv("HOME", e.WorkDir)
	e.Setenv("XDG_DATA_HOME", "")
	// Each script keeps its checkpoint pins apart, outside its vault.
	e.Setenv("NOTEVAULT_STATE_DIR", filepath.Join(e.WorkDir, "state"))
	e.Setenv("XDG_STATE_HOME", "")
	e.Setenv("NOTEVAULT_IDENTITY", "")
	e.Setenv("NOTEVAULT_PASSPHRASE_FILE", "")
	e.Setenv("NOTEVAULT_SERVER_IDENTITY", "")
	e.Setenv("NOTEVAULT_TEST_ENROL", "")
	// Under -race every process sleeps a second at exit waiting
	// for reports; the scripts run hundreds of processes. Reports
	// still fail the run: they are printed before the exit.
	e.Setenv("GORACE", "atexit_sleep_ms=0")
	// No detached maintenance behind the scripts' back: it would
	// outlive them. maintenance.txtar runs it in the foreground.
	e.Setenv("NOTEVAULT_MAINTENANCE", "off")
}

// serveScript runs a script against a server of its own: a fresh database, the server in this
// process, NOTEVAULT_DIR its URL, requests that act as no one signed by its
// admin (NOTEVAULT_SERVER_IDENTITY), and every identity the script makes
// enrolled (enrolNewIdentity).
func serveScript(t *testing.T, e *testscript.Env) error {
	cluster := pgtest.Start(t)
	db := cluster.NewDatabase(t)
	store, err := pgstore.Open(context.Background(), db)
	if err != nil {
		return err
	}
	var oid uint32
	if err := store.Pool().QueryRow(context.Background(), `SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&oid); err != nil {
		return err
	}
	// What noplaintext scans for "vault": the database's own table files
	// and the cluster's WAL.
	e.Setenv("NOTEVAULT_TEST_DB", db)
	e.Setenv("NOTEVAULT_TEST_PGFILES", filepath.Join(cluster.DataDir(), "base", fmt.Sprint(oid))+string(filepath.ListSeparator)+filepath.Join(cluster.DataDir(), "pg_wal"))
	dir := t.TempDir()
	p, err := kek.OpenDir(filepath.Join(dir, "kek"))
	if err != nil {
		return err
	}
	keys, _, err := kek.OpenKeyring(context.Background(), store, p, kek.KeyringOptions{Ledger: filepath.Join(dir, "ledger")})
	if err != nil {
		return err
	}
	admin, err := identity.Generate(true)
	if err != nil {
		return err
	}
	adminFile := filepath.Join(dir, "admin.key")
	if err := identity.WriteFile(adminFile, admin, nil); err != nil {
		return err
	}
	// The gate's writer check as serve has it; not its read decisions,
	// which follow the server's clock while the scripts move their
	// laptops' clocks (NOTEVAULT_TEST_NOW) at will. The real serve of
	// TestServerScripts has them too (server/gate.txtar).
	api := &remote.Server{Store: store, KEK: p, Keys: keys, Admin: admin.Public(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AppendOnly: vault.AppendOnly(), Gate: writersOnly{vault.NewServerGate(store, nil)}}
	hs := httptest.NewServer(api.Handler())
	e.Defer(func() {
		hs.Close()
		store.Close()
	})
	e.Setenv("NOTEVAULT_DIR", hs.URL)
	e.Setenv("VAULT", hs.URL)
	e.Setenv("VAULT_KEYS", filepath.Join(e.WorkDir, "state", "servers", serverDirName(hs.URL)))
	e.Setenv("NOTEVAULT_SERVER_IDENTITY", adminFile)
	e.Setenv("NOTEVAULT_TEST_ENROL", hs.URL)
	return nil
}

// writersOnly is the server gate's writer check alone: every read is
// handed out.
type writersOnly struct{ *vault.ServerGate }

func (writersOnly) Key(context.Context, identity.PublicKey, []byte) (string, error)  { return "", nil }
func (writersOnly) Copy(context.Context, identity.PublicKey, string) (string, error) { return "", nil }

// freePort finds a TCP port on loopback that nothing listens on.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// selfsigned CERT KEY IP writes a self-signed TLS certificate for IP and
// its key, as PEM files.
func cmdSelfSigned(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: selfsigned CERT KEY IP")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notevault test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP(args[2])},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	ts.Check(err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
}

// waitserver HOST:PORT waits up to 20 seconds for a server to listen there.
func cmdWaitServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitserver HOST:PORT")
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", args[0]); err == nil {
			c.Close()
			return
		}
	}
	ts.Fatalf("no server listens on %s", args[0])
}
