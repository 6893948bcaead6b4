package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault/identity"
)

type demoOptions struct {
	keep bool
}

func newDemoCmd(g *globals, e *env) *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo [--keep]",
		Short: "A guided run of the whole lifecycle in a throwaway vault",
		Long: `Run the whole lifecycle of a mentoring agreement in a throwaway vault:
identities, the agreement, notes, a refusal explained, consent and a grant to
a supervisor, its revocation, a disclosure under an exception, a legal hold,
the retention sweep, and the audit log's verification.

Each step shows the command, quoted as a shell needs it, and what it printed.
The demo runs on a clock of its own that starts a year ago and moves forward
to today, so that retention periods run out within seconds. With --vault DIR
the vault is kept in DIR; with --keep the whole directory is kept.`,
		Example: `  notevault demo
  notevault demo --keep   # look around the demo's directory afterwards
  notevault --vault demo-vault demo`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.keep, "keep", false, "keep the demo's directory at the end")
	return cmd
}

// demoWidth is the width the demo's output is wrapped to.
const demoWidth = 80

// demoYear is how far back the demo's clock starts: long enough for every
// retention period of the template agreement to run out.
const demoYear = 366 * 24 * time.Hour

// demo runs notevault commands as a person would, narrating each on stderr.
type demo struct {
	ctx   context.Context
	e     *env
	vault string
	dir   string
	state string // NOTEVAULT_STATE_DIR for a throwaway vault ("": the user's)
	// offset is how far the demo's clock is behind the system's; it only
	// ever shrinks, so the clock never runs backwards.
	offset time.Duration
	// shown maps an argument to what the echoed command shows instead: a
	// public key is shown as the shell variable that holds it.
	shown map[string]string
}

func (d *demo) now() time.Time { return d.e.now().Add(-d.offset) }

// advance moves the demo's clock forward by by.
func (d *demo) advance(by time.Duration) { d.offset -= by }

// section starts a part of the demo with a blank line and a narration line.
func (d *demo) section(format string, args ...any) {
	fmt.Fprintln(d.e.stderr)
	d.say(format, args...)
}

// say prints a narration line.
func (d *demo) say(format string, args ...any) {
	fmt.Fprint(d.e.stderr, wrapText("# "+fmt.Sprintf(format, args...), "# "))
}

// step is one command line of the demo: args after "notevault", the stdin
// that an echo pipes in, the file stdout is redirected to, and the exit code
// it must end with.
type step struct {
	args   []string
	stdin  string
	out    string
	code   int
	assign string // echo as VAR=$(notevault ...), printing nothing of stdout
}

// run runs one step and returns its stdout, trimmed. It echoes the command
// as a shell would take it, then what the command printed.
func (d *demo) run(s step) (string, error) {
	words := []string{"notevault"}
	for _, a := range s.args {
		words = append(words, d.show(a))
	}
	switch {
	case s.assign != "":
		words[0] = s.assign + "=$(notevault"
		words[len(words)-1] += ")"
	case s.out != "":
		words = append(words, ">", d.show(s.out))
	case s.code != 0:
		words = append(words, `|| echo "exit $?"`)
	}
	if s.stdin != "" {
		words = append([]string{"echo", shellQuote(strings.TrimSuffix(s.stdin, "\n")), "|"}, words...)
	}
	fmt.Fprint(d.e.stderr, wrapCommand(words))

	var stdout bytes.Buffer
	var shown transcript
	sub := &env{
		stdin:   strings.NewReader(s.stdin),
		stdout:  io.MultiWriter(&stdout, shown.writer(false)),
		stderr:  shown.writer(true),
		getenv:  d.getenv,
		now:     d.now,
		openTTY: d.e.openTTY,
	}
	full := append([]string{"--vault", d.vault}, s.args...)
	err := execute(d.ctx, full, sub)
	if s.out != "" && err == nil {
		err = os.WriteFile(s.out, stdout.Bytes(), 0o600)
	}
	if s.code != 0 && exitCode(err) == s.code {
		// The refusal is part of the story: show it as the shell would.
		reportError(sub.stderr, err)
	}
	if s.out != "" || s.assign != "" {
		shown.dropStdout()
	}
	shown.print(d.e.stdout, d.e.stderr, d.dir)
	if code := exitCode(err); code != s.code {
		if err == nil {
			err = fmt.Errorf("exit code 0, expected %d", s.code)
		}
		return "", fmt.Errorf("demo step %q: %w", strings.Join(words, " "), err)
	}
	if s.code != 0 {
		fmt.Fprintf(d.e.stdout, "exit %d\n", s.code)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// show is an argument as the echoed command shows it.
func (d *demo) show(arg string) string {
	if s, ok := d.shown[arg]; ok {
		return s
	}
	return shellQuote(strings.TrimPrefix(arg, d.dir+string(filepath.Separator)))
}

// getenv keeps the pin of a throwaway vault in the demo's directory, so that
// it goes with the vault.
func (d *demo) getenv(key string) string {
	if key == "NOTEVAULT_STATE_DIR" && d.state != "" {
		return d.state
	}
	return d.e.getenv(key)
}

func runDemo(ctx context.Context, opts demoOptions, g *globals, e *env) (err error) {
	dir, err := os.MkdirTemp("", "notevault-demo-")
	if err != nil {
		return err
	}
	if opts.keep {
		defer fmt.Fprintf(e.stderr, "\nnotevault: kept the demo in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	d := &demo{
		ctx: ctx, e: e, dir: dir,
		vault:  filepath.Join(dir, "vault"),
		state:  filepath.Join(dir, "state"),
		offset: demoYear,
		shown:  map[string]string{},
	}
	if g.cmd.PersistentFlags().Changed("vault") {
		abs, err := filepath.Abs(g.vaultDir)
		if err != nil {
			return err
		}
		d.vault, d.state = abs, ""
	}
	start := time.Now()
	if err := d.script(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "\nnotevault: demo complete in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// script is the demo itself.
func (d *demo) script() error {
	key := func(name string) string { return filepath.Join(d.dir, name+".key") }
	fmt.Fprint(d.e.stderr, wrapText(`notevault demo: the whole lifecycle of a mentoring agreement in a throwaway vault. Each step shows a command, quoted for a shell, then what it printed. The demo's clock starts a year ago and moves forward to today, so that retention periods run out. As if you had typed:`, ""))
	fmt.Fprintf(d.e.stderr, "$ cd %s\n", shellQuote(d.dir))
	if d.state != "" {
		fmt.Fprintf(d.e.stderr, "$ export NOTEVAULT_DIR=$PWD/vault NOTEVAULT_STATE_DIR=$PWD/state\n")
	} else {
		fmt.Fprintf(d.e.stderr, "$ export NOTEVAULT_DIR=%s\n", shellQuote(d.vault))
	}

	d.section("the vault, and an identity for each person (a standard age identity file)")
	if _, err := d.run(step{args: []string{"init"}}); err != nil {
		return err
	}
	roles := []struct{ name, role string }{{"alice", "mentor"}, {"bob", "mentee"}, {"carol", "supervisor"}}
	pubs := map[string]string{}
	for _, p := range roles {
		pub, err := d.run(step{args: []string{"identity", "new", "--out", key(p.name)}, assign: p.name})
		if err != nil {
			return err
		}
		pubs[p.name] = pub
		d.shown[pub] = `"$` + p.name + `"`
	}
	d.say("a public key line is %d characters; a fingerprint names it in short:", len(pubs["alice"]))
	for _, p := range roles {
		pk, err := identity.ParsePublicKey(pubs[p.name])
		if err != nil {
			return err
		}
		d.say("  %-6s %s", p.name, pk.Fingerprint())
	}
	for _, p := range roles {
		if _, err := d.run(step{args: []string{"participant", "add", p.name, "--role", p.role, "--key", pubs[p.name]}}); err != nil {
			return err
		}
	}

	d.section("the agreement: the template's, between alice, bob and carol; mentor and mentee accept it")
	agreementFile := filepath.Join(d.dir, "agreement.yaml")
	if _, err := d.run(step{args: []string{"agreement", "template"}, out: agreementFile}); err != nil {
		return err
	}
	agr, err := d.run(step{args: []string{"agreement", "create", "--file", agreementFile}})
	if err != nil {
		return err
	}
	for _, who := range []string{"alice", "bob"} {
		if _, err := d.run(step{args: []string{"agreement", "accept", agr, "-i", key(who)}}); err != nil {
			return err
		}
	}

	d.section("notes: a session note (alice and bob read it), bob's private reflection, and a summary for the supervisor")
	session, err := d.run(step{stdin: "We reviewed the portfolio plan; next: clean the data set.\n",
		args: []string{"note", "add", "--agreement", agr, "--kind", "session", "--title", "Session 1", "-i", key("alice")}})
	if err != nil {
		return err
	}
	reflection, err := d.run(step{stdin: "I am unsure about the statistics part.\n",
		args: []string{"note", "add", "--agreement", agr, "--kind", "reflection", "-i", key("bob")}})
	if err != nil {
		return err
	}
	summary, err := d.run(step{stdin: "Bob is on track; portfolio project started.\n",
		args: []string{"note", "add", "--agreement", agr, "--kind", "summary", "-i", key("alice")}})
	if err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"note", "show", session, "-i", key("bob")}}); err != nil {
		return err
	}
	d.say("may carol read bob's reflection? No, and the policy says why (exit code 3)")
	if _, err := d.run(step{args: []string{"policy", "explain", "--note", reflection, "--who", "carol"}, code: exitDenied}); err != nil {
		return err
	}

	d.section("the supervisor: bob consents, alice grants carol the summaries for 72 hours, then revokes the grant")
	if _, err := d.run(step{args: []string{"consent", "give", "--agreement", agr, "--to", "carol", "--kinds", "summary", "-i", key("bob")}}); err != nil {
		return err
	}
	grant, err := d.run(step{args: []string{"grant", "add", "--agreement", agr, "--to", "carol", "--kinds", "summary", "--for", "72h", "-i", key("alice")}})
	if err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"note", "show", summary, "-i", key("carol")}}); err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"grant", "revoke", grant, "-i", key("alice")}}); err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"note", "show", summary, "-i", key("carol")}, code: exitDenied}); err != nil {
		return err
	}

	d.section("an exception: alice discloses the session note to carol, on record; bob sees it")
	disclosure, err := d.run(step{args: []string{"disclose", session, "--to", "carol", "--reason", "risk-of-harm",
		"--statement", "Bob said he felt unsafe at work; carol is his supervisor.", "-i", key("alice")}})
	if err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"disclosure", "show", disclosure, "-i", key("bob")}}); err != nil {
		return err
	}

	d.section("a legal hold on the agreement keeps its notes whatever their retention says")
	hold, err := d.run(step{args: []string{"hold", "add", "--agreement", agr, "--reason", "records request from HR", "-i", key("alice")}})
	if err != nil {
		return err
	}

	d.advance(demoYear)
	d.section("a year later (the demo's clock moves %d days ahead; yours stays put): every note of the first session is past its retention, but held", int(demoYear/(24*time.Hour)))
	if _, err := d.run(step{stdin: "A year on: bob starts the new role next month.\n",
		args: []string{"note", "add", "--agreement", agr, "--kind", "session", "--title", "Session 27", "-i", key("alice")}}); err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"retention", "sweep"}}); err != nil {
		return err
	}
	d.say("the hold is released; the sweep (which needs no identity) destroys what is due")
	if _, err := d.run(step{args: []string{"hold", "release", hold, "-i", key("alice")}}); err != nil {
		return err
	}
	if _, err := d.run(step{args: []string{"retention", "sweep"}}); err != nil {
		return err
	}
	d.say("the first session's note is gone for good: its key was destroyed (exit code 4)")
	if _, err := d.run(step{args: []string{"note", "show", session, "-i", key("bob")}, code: exitNotFound}); err != nil {
		return err
	}

	d.section("everything above is in the signed audit log (notevault audit log lists it); verify it and check the whole store")
	if _, err := d.run(step{args: []string{"audit", "verify"}}); err != nil {
		return err
	}
	_, err = d.run(step{args: []string{"check"}})
	return err
}

// transcript keeps what a step printed, stdout and stderr in the order they
// were written, to show it cleaned up.
type transcript struct {
	parts []transcriptPart
}

type transcriptPart struct {
	stderr bool
	text   []byte
}

type transcriptWriter struct {
	t      *transcript
	stderr bool
}

func (w transcriptWriter) Write(p []byte) (int, error) {
	w.t.parts = append(w.t.parts, transcriptPart{stderr: w.stderr, text: bytes.Clone(p)})
	return len(p), nil
}

func (t *transcript) writer(stderr bool) io.Writer { return transcriptWriter{t: t, stderr: stderr} }

// dropStdout forgets what went to stdout: a shell shows nothing of a
// command whose output is captured or redirected.
func (t *transcript) dropStdout() {
	kept := t.parts[:0]
	for _, p := range t.parts {
		if p.stderr {
			kept = append(kept, p)
		}
	}
	t.parts = kept
}

// print writes the transcript to stdout and stderr, with the demo's
// directory left out of paths and long lines wrapped.
func (t *transcript) print(stdout, stderr io.Writer, dir string) {
	for i := 0; i < len(t.parts); {
		j := i
		var text []byte
		for ; j < len(t.parts) && t.parts[j].stderr == t.parts[i].stderr; j++ {
			text = append(text, t.parts[j].text...)
		}
		s := strings.ReplaceAll(string(text), dir+string(filepath.Separator), "")
		w := stdout
		if t.parts[i].stderr {
			w = stderr
		}
		var out strings.Builder
		for _, line := range strings.SplitAfter(s, "\n") {
			if line != "" {
				out.WriteString(wrapText(line, "  "))
			}
		}
		fmt.Fprint(w, out.String())
		i = j
	}
}

// wrapText wraps one line of text at demoWidth columns, on spaces,
// indenting every line after the first with indent. The result ends in a
// newline.
func wrapText(line, indent string) string {
	line = strings.TrimSuffix(line, "\n")
	var b strings.Builder
	for first := true; ; first = false {
		if !first {
			line = indent + line
		}
		if len(line) <= demoWidth {
			b.WriteString(line + "\n")
			return b.String()
		}
		cut := strings.LastIndexByte(line[:demoWidth+1], ' ')
		if cut <= len(indent) {
			// One word longer than the line: leave it whole.
			if cut = strings.IndexByte(line[len(indent):], ' '); cut < 0 {
				b.WriteString(line + "\n")
				return b.String()
			}
			cut += len(indent)
		}
		b.WriteString(strings.TrimRight(line[:cut], " ") + "\n")
		line = strings.TrimLeft(line[cut:], " ")
		if line == "" {
			return b.String()
		}
	}
}

// wrapCommand echoes a command line of shell words as "$ ..." lines of at
// most demoWidth columns, continued with a backslash, so that it pastes.
func wrapCommand(words []string) string {
	var b strings.Builder
	line := "$"
	for _, w := range words {
		if len(line)+1+len(w) > demoWidth-2 && line != "$" && line != "   " {
			b.WriteString(line + " \\\n")
			line = "   "
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
	return b.String()
}

// shellQuote quotes s as one shell word: as it is when that is safe, else
// in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
