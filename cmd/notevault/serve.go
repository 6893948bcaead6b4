package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/retention"
	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/agreement"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/kek"
	"github.com/notevault/notevault/vault/pgstore"
	"github.com/notevault/notevault/vault/remote"
)

type serveOptions struct {
	db, listen, admin   string
	tlsCert, tlsKey     string
	state               string
	transit, transitKey string
	sweepEvery          string
	epoch, window       string
}

// tombstoneGrace is how long a deleted key's tombstone is kept for client
// transactions under way: one older than that is refused and runs again.
const tombstoneGrace = 10 * time.Minute

func newServeCmd(g *globals, e *env) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --db postgres://… --listen ADDR --admin PUBLIC [--tls-cert F --tls-key F]",
		Short: "Serve a vault on PostgreSQL to participants on other machines",
		Long: `Serve a vault kept in PostgreSQL to its participants, who use every
notevault command against it with --vault https://host:port. The server
holds no one's identity and sees no title, tag or body: the participants'
own notevault does all encryption and every signature, and checks the
server's audit log against the checkpoints it pinned, as it checks a
directory's. Every request is signed by the participant's key; the admin
identity (--admin) enrols participants' keys with notevault enrol.

The schema is created or migrated at start. Several serve processes on one
database are replicas: any may answer, and one at a time (a PostgreSQL
advisory lock) runs the retention sweep every --sweep-every, with the
epoch of the key-encryption key (KEK) that wraps every shred key: a note
destroyed at t is unreadable from every copy of the database (WAL,
archives, standbys, backups) once --window (the oldest backup you keep)
and one --epoch have passed. The KEK versions and the destruction ledger
live in --state, outside the database (or the KEK in an OpenBao/Vault
transit engine with --transit); back the database up, never the KEK.
See docs/server.md.

Without --tls-cert and --tls-key the server listens only on a loopback
address (plain HTTP, for a proxy that terminates TLS on this machine, or
for tests). It stops on SIGTERM or SIGINT, finishing the requests and the
sweep under way.`,
		Example: `  notevault serve --db postgres:///notevault --listen :8443 --admin "$(cat admin.pub)" --tls-cert cert.pem --tls-key key.pem
  notevault serve --db postgres:///notevault --listen 127.0.0.1:8080 --admin "$(cat admin.pub)"`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), o, g, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "the PostgreSQL database, as a postgres:// `URL` or libpq key=value pairs (env NOTEVAULT_DB)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "the `ADDR`ess to listen on, host:port")
	f.StringVar(&o.admin, "admin", "", "the admin identity's `PUBLIC` key (notevault identity public): it enrols participants")
	f.StringVar(&o.tlsCert, "tls-cert", "", "the TLS certificate chain `FILE` (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "the TLS private key `FILE` (PEM)")
	f.StringVar(&o.state, "state", "", "the server's own `DIR`: KEK versions, destruction ledger, the sweep's checkpoint (default $XDG_DATA_HOME/notevault-serve)")
	f.StringVar(&o.transit, "transit", "", "keep the KEK in the OpenBao/Vault transit engine at `URL` (token from NOTEVAULT_TRANSIT_TOKEN)")
	f.StringVar(&o.transitKey, "transit-key", "notevault", "the transit key's `NAME`")
	f.StringVar(&o.sweepEvery, "sweep-every", "1h", "how often the retention sweep runs (`DURATION`)")
	f.StringVar(&o.epoch, "epoch", "24h", "how often the KEK is rotated (`DURATION`)")
	f.StringVar(&o.window, "window", "7d", "the backup window W: the age of the oldest backup, WAL archive or standby kept (`DURATION`)")
	return cmd
}

func runServe(ctx context.Context, o serveOptions, g *globals, e *env) error {
	if o.db == "" {
		o.db = e.getenv("NOTEVAULT_DB")
	}
	if o.db == "" {
		return usagef("serve needs the database: give --db postgres://… or set NOTEVAULT_DB")
	}
	if o.admin == "" {
		return usagef("serve needs --admin PUBLIC, the public key of the identity that enrols participants")
	}
	admin, err := identity.ParsePublicKey(o.admin)
	if err != nil {
		return usagef("--admin: %v", err)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usagef("give both --tls-cert and --tls-key, or neither")
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return usagef("--listen %q: %v", o.listen, err)
	}
	if o.tlsCert == "" && !isLoopback(host) {
		return usagef("--listen %s is not a loopback address: plain HTTP is served only on this machine; give --tls-cert and --tls-key", o.listen)
	}
	// The certificate is read before anything starts, so a missing or
	// mismatched file is one sentence, not a server that fails once up.
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	every, err := positiveDuration("sweep-every", o.sweepEvery)
	if err != nil {
		return err
	}
	epoch, err := positiveDuration("epoch", o.epoch)
	if err != nil {
		return err
	}
	window, err := positiveDuration("window", o.window)
	if err != nil {
		return err
	}
	state := o.state
	if state == "" {
		switch {
		case e.getenv("XDG_DATA_HOME") != "":
			state = filepath.Join(e.getenv("XDG_DATA_HOME"), "notevault-serve")
		case e.getenv("HOME") != "":
			state = filepath.Join(e.getenv("HOME"), ".local", "share", "notevault-serve")
		default:
			return usagef("cannot tell where to keep the server's state: give --state DIR")
		}
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return fmt.Errorf("creating the state directory: %w", err)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))

	store, err := pgstore.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer store.Close()
	var provider kek.Provider
	if o.transit != "" {
		provider, err = kek.NewTransit(kek.TransitConfig{Address: o.transit, Token: e.getenv("NOTEVAULT_TRANSIT_TOKEN"), Key: o.transitKey})
	} else {
		provider, err = kek.OpenDir(filepath.Join(state, "kek"))
	}
	if err != nil {
		return err
	}
	keys, reapplied, err := kek.OpenKeyring(ctx, store, provider, kek.KeyringOptions{Ledger: filepath.Join(state, "ledger"), Every: epoch, Window: window})
	if err != nil {
		return err
	}
	if reapplied > 0 {
		log.Warn("destruction ledger re-applied: the database held keys destroyed before (a restore from backup?)", "keys_deleted", reapplied)
	}
	vopts := vault.Options{Store: store, Keyring: keys, Payloads: store.Payloads(), Now: e.now}
	vdir := filepath.Join(state, "vault")
	if err := vault.InitWith(vdir, vopts); err != nil && !errors.Is(err, vault.ErrExists) {
		return err
	}

	api := &remote.Server{Store: store, KEK: provider, Keys: keys, Admin: admin, Log: log, Gate: vault.NewServerGate(store, e.now), AppendOnly: vault.AppendOnly()}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), TLSConfig: tlsConfig}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "admin", admin.Fingerprint(), "state", state)
	served := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			served <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
		} else {
			served <- srv.Serve(ln)
		}
	}()
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		sweeper{store: store, dir: vdir, opts: vopts, log: log, every: every, grace: tombstoneGrace}.run(ctx)
	}()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("stopping")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	<-swept
	return err
}

// positiveDuration parses the value of --name.
func positiveDuration(name, value string) (time.Duration, error) {
	d, err := agreement.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, usagef("--%s %q is not a positive duration (such as 1h, 36h, 7d)", name, value)
	}
	return d, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sweeper runs the retention sweep, the KEK's epoch and the store's own
// cleaning (tombstones, spent request proofs) in whichever replica holds
// the sweep's advisory lock.
type sweeper struct {
	store *pgstore.Store
	dir   string
	opts  vault.Options
	log   *slog.Logger
	every time.Duration
	grace time.Duration
}

func (s sweeper) run(ctx context.Context) {
	type mark struct {
		at    time.Time
		clock int64
	}
	var (
		marks []mark
		swept time.Time
	)
	for {
		if time.Since(swept) >= s.every && s.once(ctx) {
			swept = time.Now()
		}
		// Tombstones older than the grace period are no longer needed by
		// any transaction under way: one that old is refused and runs
		// again on a fresh snapshot.
		if n, err := s.store.Clock(ctx); err == nil {
			marks = append(marks, mark{time.Now(), n})
		}
		for len(marks) > 1 && time.Since(marks[1].at) >= s.grace {
			marks = marks[1:]
		}
		if len(marks) > 0 && time.Since(marks[0].at) >= s.grace {
			if n, err := s.store.Purge(ctx, marks[0].clock); err != nil {
				s.log.Error("purging tombstones failed", "error", err.Error())
			} else if n > 0 {
				s.log.Info("tombstones purged", "count", n)
			}
		}
		if _, err := remote.PruneNonces(ctx, s.store, time.Now()); err != nil {
			s.log.Error("pruning spent request proofs failed", "error", err.Error())
		}
		wait := min(s.every, s.grace)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// once sweeps if this replica can take the lease; it reports whether it
// did.
func (s sweeper) once(ctx context.Context) bool {
	lease, err := s.store.TryLease(ctx, pgstore.SweepLock)
	if err != nil {
		s.log.Error("sweep skipped", "error", err.Error())
		return false
	}
	if lease == nil {
		return false // another replica sweeps
	}
	defer lease.Release(context.WithoutCancel(ctx))
	sweepCtx := context.WithoutCancel(ctx)
	v, err := vault.Open(sweepCtx, s.dir, s.opts)
	if err != nil {
		s.log.Error("sweep skipped", "error", err.Error())
		return false
	}
	defer v.Close()
	start := time.Now()
	sum, err := retention.Sweep(sweepCtx, v, retention.Options{})
	if err != nil {
		s.log.Error("sweep failed", "error", err.Error())
		return false
	}
	for _, w := range sum.Warnings {
		s.log.Warn("retention plan", "warning", w)
	}
	s.log.Info("swept", "destroyed", len(sum.Destroyed), "held", len(sum.Held), "grants_ended", len(sum.GrantsEnded), "took", time.Since(start).Round(time.Millisecond).String())
	return true
}
