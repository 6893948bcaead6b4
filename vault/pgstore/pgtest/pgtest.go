// Package pgtest starts a throwaway PostgreSQL for tests: initdb and pg_ctl
// from the system's PostgreSQL (the Debian package puts them in
// /usr/lib/postgresql/<version>/bin), in a temporary directory, listening on
// a Unix socket there only. One cluster serves a test binary; each test gets
// a database of its own. As root the server runs as the postgres user (it
// refuses root). Without the binaries, tests skip, saying how to install
// them.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	dir    string // the cluster's temporary directory (data/ and the socket)
	bin    string // the directory of initdb and pg_ctl
	owner  *user.User
	socket string
	n      atomic.Int64
}

var (
	once    sync.Once
	shared  *Cluster
	startEr error
	skipMsg string
)

// InstallHint says how to get the server binaries.
const InstallHint = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: on Debian or Ubuntu, apt-get install postgresql"

// binDir finds initdb and pg_ctl: in PATH, else the newest
// /usr/lib/postgresql/*/bin.
func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			if r, err := filepath.EvalSymlinks(p); err == nil {
				return filepath.Dir(r)
			}
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// Main runs a test binary's tests around one shared cluster, stopping and
// removing it at the end: call it from TestMain.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Start returns the shared cluster, starting it on first use; the test
// skips when the binaries are missing and fails when the server does not
// start.
func Start(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() {
		bin := binDir()
		if bin == "" {
			skipMsg = InstallHint
			return
		}
		shared, startEr = start(bin)
	})
	if skipMsg != "" {
		t.Skip(skipMsg)
	}
	if startEr != nil {
		t.Fatalf("starting PostgreSQL: %v", startEr)
	}
	return shared
}

func start(bin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "notevault-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, socket: dir}
	if os.Geteuid() == 0 {
		// The server refuses to run as root: the cluster belongs to the
		// postgres user, who must reach the directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and there is no postgres user to run the server as: %w", err)
		}
		c.owner = u
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		c.remove()
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100", dir)
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		c.remove()
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return c, nil
}

// run runs one of the server's binaries, as the postgres user when root.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if c.owner != nil {
		uid, _ := strconv.Atoi(c.owner.Uid)
		gid, _ := strconv.Atoi(c.owner.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = c.dir
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Stop stops the server at once and removes its directory.
func (c *Cluster) Stop() {
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	c.remove()
}

func (c *Cluster) remove() { os.RemoveAll(c.dir) }

// DataDir is the cluster's data directory: its table files, and its WAL
// under pg_wal. Tests that prove what the raw files hold read it.
func (c *Cluster) DataDir() string { return filepath.Join(c.dir, "data") }

// ConnString names database db of the cluster.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("host=%s user=postgres dbname=%s sslmode=disable", c.socket, db)
}

// NewDatabase creates an empty database for t, dropped when t ends, and
// returns its connection string.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.n.Add(1))
	admin, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatalf("connecting to the test cluster: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating a test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, c.ConnString("postgres"))
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return c.ConnString(strings.ToLower(name))
}
