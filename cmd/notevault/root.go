package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"encoding/json"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/remote"
)

// env is what a command may touch outside itself. Commands never reach for
// os.Stdin, os.Getenv or time.Now directly, which keeps them testable.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// openTTY opens the terminal for passphrase prompts (/dev/tty).
	openTTY func() (*os.File, error)
	// buildInfo reads what the toolchain recorded in the binary
	// (debug.ReadBuildInfo); notevault version prints it.
	buildInfo func() (*debug.BuildInfo, bool)
}

func openDevTTY() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_RDWR, 0) }

// globals are the flags every command shares.
type globals struct {
	vaultDir       string
	identityFile   string
	passphraseFile string
	json           bool
	cmd            *cobra.Command // root, to ask which flags were set
	// id is the identity loadIdentity loaded, kept so that a command
	// against a server (which signs its requests with it) asks for a
	// passphrase once.
	id *identity.Identity
	// completing: a shell is completing a command line; nothing may ask
	// for a passphrase.
	completing bool
}

// testNow replaces the clock when set. Only the test binary sets it (see
// TestMain, which reads NOTEVAULT_TEST_NOW for the scripts); the release
// binary has no way to run on any clock but the system's, so one command run
// with a wrong clock cannot be arranged from the environment.
var testNow func() time.Time

// run executes the command line args and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	// Never a stack trace: a bug still ends in one error line.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "notevault: error: internal error: %v\n", r)
			fmt.Fprintf(stderr, "notevault: hint: this is a bug in notevault; please report it\n")
			code = exitFailure
		}
	}()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now, openTTY: openDevTTY, buildInfo: debug.ReadBuildInfo}
	if testNow != nil {
		e.now = testNow
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return reportError(stderr, execute(ctx, args, e))
}

// everyday are the commands a person runs many times a day, whose heap
// stays small: lightGC runs them without collecting garbage until the heap
// reaches 64 MiB. Long or heavy commands (import, serve, the sweep,
// maintenance, check, audit verify) keep the default collector.
var everyday = map[string]bool{
	"note add": true, "note show": true, "note list": true, "note export": true,
	"participant list": true, "agreement show": true, "agreement list": true,
	"policy explain": true, "policy rules": true, "audit log": true, "version": true,
}

// lightGC turns the collector off until the heap reaches 64 MiB (a soft
// limit: past it the runtime collects as often as it must), and returns
// what puts the settings back. A note show spent about 3 ms of its 24 in
// garbage collection at the default settings (hyperfine, GOGC=off: 24.3 to
// 21.6 ms): badger's caches and arenas pass the default's first 4 MiB
// target at once. A large note streams through a bounded buffer, so its
// heap stays under the limit's reach of RSS.
func lightGC() (restore func()) {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(64 << 20)
	return func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	}
}

// execute builds the command tree and runs args through it. A usage error
// learns which command it belongs to, so that its hint can name that
// command's help.
func execute(ctx context.Context, args []string, e *env) error {
	root, g := newRoot(e)
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		// Only a shell asking for completions needs them; walking every
		// command's flags to register them cost each command 0.3 ms.
		addCompletions(root, g, e)
	}
	if c, _, err := root.Find(args); err == nil && everyday[strings.TrimPrefix(c.CommandPath(), "notevault ")] {
		defer lightGC()()
	}
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var ue *usageError
	if errors.As(err, &ue) && ue.help == "" && cmd != nil {
		ue.help = cmd.CommandPath()
	}
	return err
}

func newRootCmd(e *env) *cobra.Command {
	root, _ := newRoot(e)
	return root
}

// newRoot is the command tree, and the global flags its commands share.
func newRoot(e *env) (*cobra.Command, *globals) {
	g := &globals{}
	var version bool
	root := &cobra.Command{
		Use:   "notevault",
		Short: "An encrypted vault for the notes of mentoring relationships",
		Long: `notevault keeps the notes of a mentoring relationship encrypted to exactly
the people its agreement names, and enforces that agreement.

Environment: NOTEVAULT_DIR (the vault: a directory, or a server's
https://host:port), NOTEVAULT_IDENTITY (your identity file),
NOTEVAULT_PASSPHRASE_FILE (the passphrase of an encrypted identity),
NOTEVAULT_STATE_DIR (where your checkpoint pins live, default
$XDG_STATE_HOME/notevault), NOTEVAULT_SERVER_IDENTITY (the enrolled
identity that signs a server request when no -i is given),
NOTEVAULT_MAINTENANCE=off (commands do not start notevault maintenance in
the background). Flags beat the
environment, which beats the defaults.

Every command checks that the vault's audit log still extends the newest
signed checkpoint you saw, which it keeps outside the vault, and refuses a
vault that was cut or rolled back. The first use of a vault trusts what it
finds.`,
		Example: `  notevault demo   # the whole lifecycle in a throwaway vault
  notevault init
  notevault identity new --out alice.key
  notevault note add --agreement a-5znce28d4shyt7ma --kind session --title "First session" --file notes.md -i alice.key
  notevault help exit-codes`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version {
				return runVersion(g, e)
			}
			return cmd.Help()
		},
	}
	g.cmd = root
	pf := root.PersistentFlags()
	pf.StringVar(&g.vaultDir, "vault", "", "the vault in `DIR`, or on a server at https://host:port (env NOTEVAULT_DIR, default $XDG_DATA_HOME/notevault)")
	pf.StringVarP(&g.identityFile, "identity", "i", "", "your identity `FILE` (env NOTEVAULT_IDENTITY)")
	pf.StringVar(&g.passphraseFile, "passphrase-file", "", "read the identity passphrase from `FILE` (env NOTEVAULT_PASSPHRASE_FILE)")
	pf.BoolVar(&g.json, "json", false, "print records as JSON")
	versionFlag(root, &version)
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(newHelpCmd())
	root.AddCommand(
		newInitCmd(g, e),
		newIdentityCmd(g, e),
		newParticipantCmd(g, e),
		newAgreementCmd(g, e),
		newCriterionCmd(g, e),
		newNoteCmd(g, e),
		newPolicyCmd(g, e),
		newAuditCmd(g, e),
		newConsentCmd(g, e),
		newGrantCmd(g, e),
		newDiscloseCmd(g, e),
		newDisclosureCmd(g, e),
		newHoldCmd(g, e),
		newRetentionCmd(g, e),
		newCheckCmd(g, e),
		newCertificateCmd(g, e),
		newMaintenanceCmd(g, e),
		newServeCmd(g, e),
		newEnrolCmd(g, e),
		newDemoCmd(g, e),
		newVersionCmd(g, e),
		newCompletionCmd(),
		newManCmd(e),
		&cobra.Command{Use: "exit-codes", Short: "The exit codes of notevault", Long: exitCodesHelp},
	)
	return root, g
}

// group makes a noun command that only holds subcommands. Its examples are
// the first example of each subcommand.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: firstExamples(subs),
		Args:    noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return usagef("%s needs a subcommand", cmd.CommandPath())
		},
	}
	c.AddCommand(subs...)
	return c
}

// firstExamples is the first example line of each command that has one.
func firstExamples(cmds []*cobra.Command) string {
	var lines []string
	for _, c := range cmds {
		for _, line := range strings.Split(c.Example, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				lines = append(lines, line)
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

// noSubcommand refuses arguments to a command that only holds
// subcommands, suggesting the subcommands a typo may have meant.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{
			msg:     fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath()),
			help:    cmd.CommandPath(),
			suggest: suggestCommands(cmd, args[0]),
		}
	}
	return nil
}

// exactArgs is cobra.ExactArgs with a usage-typed error naming the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef("%s: missing %s", cmd.CommandPath(), strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usagef("%s: unexpected argument %q", cmd.CommandPath(), args[len(names)])
		}
		for i, a := range args {
			if a == "" {
				return usagef("%s: %s is empty%s", cmd.CommandPath(), names[i], emptyValueHint)
			}
		}
		return nil
	}
}

// emptyValueHint ends the error for an empty id: in a script, it most often
// comes from a variable that a failed command should have set.
const emptyValueHint = " (was it set from the output of a command that failed?)"

// requireFlags marks flags as required; cobra's error is a flag error, but
// it reaches us as a plain error, so check ourselves. A required string flag
// given an empty value is refused too.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			return usagef("%s: missing --%s", cmd.CommandPath(), n)
		}
		if f := cmd.Flags().Lookup(n); f.Value.Type() == "string" && f.Value.String() == "" {
			return usagef("%s: --%s is empty%s", cmd.CommandPath(), n, emptyValueHint)
		}
	}
	return nil
}

// vaultDir resolves the vault directory: flag, NOTEVAULT_DIR, XDG default.
func (g *globals) dir(e *env) (string, error) {
	if g.vaultDir != "" {
		return g.vaultDir, nil
	}
	if d := e.getenv("NOTEVAULT_DIR"); d != "" {
		return d, nil
	}
	if d := e.getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "notevault"), nil
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "notevault"), nil
	}
	return "", usagef("cannot tell where the vault is: give --vault DIR or set NOTEVAULT_DIR")
}

// pinDir resolves where the user's checkpoint pins live: the pins folder of
// NOTEVAULT_STATE_DIR, else of $XDG_STATE_HOME/notevault, else of
// ~/.local/state/notevault. It must lie outside the vault in dir: whoever
// can write the vault must not reach the pins.
func (g *globals) pinDir(e *env, dir string) (string, error) {
	state, err := stateDir(e)
	if err != nil {
		return "", err
	}
	pins, err := filepath.Abs(filepath.Join(state, "pins"))
	if err != nil {
		return "", err
	}
	vdir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(vdir, pins); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", usagef("the state directory %s is inside the vault: keep it elsewhere (NOTEVAULT_STATE_DIR)", state)
	}
	return pins, nil
}

// vaultOptions are the options every command opens the vault with. For a
// vault on a server (--vault https://host:port) they are the server's store
// and keyring, and dir is this user's local state for that server (its
// lock and checkpoint), created on first use.
func vaultOptions(g *globals, e *env) (dir string, opts vault.Options, err error) {
	dir, err = g.dir(e)
	if err != nil {
		return "", opts, err
	}
	if remote.IsURL(dir) {
		return remoteOptions(g, e, dir)
	}
	pins, err := g.pinDir(e, dir)
	if err != nil {
		return "", opts, err
	}
	return dir, vault.Options{Now: e.now, PinDir: pins}, nil
}

// stateDir is where this user keeps notevault's own state: pins, and the
// local side of vaults on servers.
func stateDir(e *env) (string, error) {
	switch {
	case e.getenv("NOTEVAULT_STATE_DIR") != "":
		return e.getenv("NOTEVAULT_STATE_DIR"), nil
	case e.getenv("XDG_STATE_HOME") != "":
		return filepath.Join(e.getenv("XDG_STATE_HOME"), "notevault"), nil
	case e.getenv("HOME") != "":
		return filepath.Join(e.getenv("HOME"), ".local", "state", "notevault"), nil
	}
	return "", usagef("cannot tell where to keep your checkpoint pins: set NOTEVAULT_STATE_DIR or HOME")
}

// remoteOptions opens the vault on the server at url as this user: every
// request signed with the identity, the shred keys wrapped by the server,
// and a local directory for the lock and the checkpoint this user signs of
// the server's audit log.
func remoteOptions(g *globals, e *env, url string) (string, vault.Options, error) {
	id, err := requestSigner(g, e)
	if err != nil {
		return "", vault.Options{}, err
	}
	c, err := remote.Dial(url, id, nil)
	if err != nil {
		return "", vault.Options{}, usagef("%v", err)
	}
	state, err := stateDir(e)
	if err != nil {
		return "", vault.Options{}, err
	}
	dir := filepath.Join(state, "servers", serverDirName(url))
	keys, err := c.Keyring(context.Background())
	if err != nil {
		return "", vault.Options{}, err
	}
	opts := vault.Options{Now: e.now, PinDir: filepath.Join(state, "pins"), Store: c.Store(), Keyring: keys, Payloads: c.Payloads()}
	if err := vault.InitWith(dir, opts); err != nil && !errors.Is(err, vault.ErrExists) {
		return "", vault.Options{}, err
	}
	return dir, opts, nil
}

// requestSigner is the identity that signs a command's requests to a
// server: the user's own (-i), or, for a command that acts as no one (a
// monitoring job's audit verify), NOTEVAULT_SERVER_IDENTITY. Completion
// prefers NOTEVAULT_SERVER_IDENTITY, and uses the user's only if it needs
// no passphrase.
func requestSigner(g *globals, e *env) (*identity.Identity, error) {
	path := e.getenv("NOTEVAULT_SERVER_IDENTITY")
	if g.completing && path == "" && g.identityPath(e) != "" {
		return identity.Load(g.identityPath(e), func() ([]byte, error) { return nil, errors.New("no passphrase while completing") })
	}
	if !g.completing && g.identityPath(e) != "" || path == "" {
		id, err := loadIdentity(g, e)
		if err != nil {
			return nil, withHint(err, "a vault on a server signs every request: give -i FILE, or set NOTEVAULT_SERVER_IDENTITY to an enrolled identity for commands that act as no one")
		}
		return id, nil
	}
	return identity.Load(path, func() ([]byte, error) { return passphrase(g, e, "passphrase for "+path, false) })
}

// serverDirName names a server's local directory after its URL.
func serverDirName(url string) string {
	var b strings.Builder
	for _, r := range strings.TrimSuffix(url, "/") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// openVault opens the vault; the caller defers closeVault. adjust, if
// any, tune the options for the command (note import's Bulk).
func openVault(ctx context.Context, g *globals, e *env, adjust ...func(*vault.Options)) (*vault.Vault, error) {
	dir, opts, err := vaultOptions(g, e)
	if err != nil {
		return nil, err
	}
	for _, a := range adjust {
		a(&opts)
	}
	v, err := vault.Open(ctx, dir, opts)
	if err == nil {
		openedBy.Store(v, e)
	}
	return v, err
}

// readOnly opens the vault for a command that writes nothing: a
// directory's store then opens and closes in about 1.5 ms rather than 12
// (vault.Options.ReadOnly).
func readOnly(o *vault.Options) { o.ReadOnly = true }

// openVaultAs loads the user's identity and opens the vault, in that order:
// a passphrase prompt never holds the vault. The caller defers closeVault.
func openVaultAs(ctx context.Context, g *globals, e *env) (*vault.Vault, *identity.Identity, error) {
	id, err := loadIdentity(g, e)
	if err != nil {
		return nil, nil, err
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return nil, nil, err
	}
	return v, id, nil
}

// closeVault closes v and keeps the first error. When the command left the
// store with compaction to do, it starts the background maintenance rather
// than doing it (see maintenance.go).
func closeVault(v *vault.Vault, err *error) {
	housekeeping := v.NeedsMaintenance()
	if cerr := v.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("closing the vault: %w", cerr)
	}
	e, ok := openedBy.LoadAndDelete(v)
	if housekeeping && *err == nil && ok && !maintenanceOff(e.(*env)) {
		startMaintenance(e.(*env), v.Dir())
	}
}

// openedBy maps a vault openVault opened to the env of its command.
var openedBy sync.Map

// identityPath resolves the identity file: -i, then NOTEVAULT_IDENTITY.
func (g *globals) identityPath(e *env) string {
	if g.identityFile != "" {
		return g.identityFile
	}
	return e.getenv("NOTEVAULT_IDENTITY")
}

// loadIdentity reads the identity file, asking for its passphrase if needed.
func loadIdentity(g *globals, e *env) (*identity.Identity, error) {
	if g.id != nil {
		return g.id, nil
	}
	path := g.identityPath(e)
	if path == "" {
		return nil, usagef("this command needs your identity: give -i FILE or set NOTEVAULT_IDENTITY")
	}
	id, err := identity.Load(path, func() ([]byte, error) { return passphrase(g, e, "passphrase for "+path, false) })
	if err != nil {
		// No warning about the file's mode before an error about the same
		// file: the error is what to act on.
		return nil, err
	}
	if bad, err := identity.Insecure(path); err == nil && bad {
		fmt.Fprintf(e.stderr, "notevault: warning: identity file %s is readable by others (chmod 600 %s)\n", path, path)
	}
	g.id = id
	return id, nil
}

// optionalIdentity is loadIdentity for commands that show more to a
// participant but work without one: nil when no identity is given.
func optionalIdentity(g *globals, e *env) (*identity.Identity, error) {
	if g.identityPath(e) == "" {
		return nil, nil
	}
	return loadIdentity(g, e)
}

// passphrase reads a passphrase from --passphrase-file or NOTEVAULT_PASSPHRASE_FILE,
// else asks on /dev/tty without echo. It never comes from a flag value.
func passphrase(g *globals, e *env, prompt string, confirm bool) ([]byte, error) {
	file := g.passphraseFile
	if file == "" {
		file = e.getenv("NOTEVAULT_PASSPHRASE_FILE")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase file: %w", err)
		}
		b = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", file)
		}
		return b, nil
	}
	tty, err := e.openTTY()
	if err != nil {
		return nil, errors.New("identity file is passphrase-protected; give --passphrase-file or run in a terminal")
	}
	defer tty.Close()
	read := func(p string) ([]byte, error) {
		fmt.Fprintf(tty, "%s: ", p)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		return b, nil
	}
	p, err := read(prompt)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		q, err := read("confirm " + prompt)
		if err != nil {
			return nil, err
		}
		if string(p) != string(q) {
			return nil, errors.New("the passphrases do not match")
		}
	}
	return p, nil
}

// table returns a tabwriter for aligned output; call Flush.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fmtTime prints a time for a table; the zero time is "-".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
