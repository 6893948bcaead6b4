package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// demoAgreement is the agreement of PRODUCT.md.
const demoAgreement = `name: Alice mentors Bob
mentor: alice
mentee: bob
supervisors: [carol]
purpose: Land a data-science role within 6 months
cadence: biweekly 30-minute video calls
boundaries: [no personal financial advice, no hiring decisions]
success_criteria:
  - ship a portfolio project by 2027-03-01
review: quarterly
confidentiality:
  readers: {session: [mentor, mentee], reflection: [author], summary: [author, mentee]}
  exceptions: [risk-of-harm, legal-obligation]
retention: {session: 365d, reflection: 90d, summary: 180d}
`

type demoOptions struct {
	keep bool
}

func newDemoCmd(g *globals, e *env) *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo [--keep]",
		Short: "A guided run of the whole lifecycle in a throwaway vault",
		Args:  exactArgs(),
		Example: `  notevault demo
  notevault demo --keep   # look around the demo's vault afterwards`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.keep, "keep", false, "keep the demo's directory at the end")
	return cmd
}

// demo runs notevault commands as a person would, narrating each on stderr.
type demo struct {
	ctx   context.Context
	e     *env
	vault string
	dir   string
	state string // NOTEVAULT_STATE_DIR for a throwaway vault ("": the user's)
}

// step runs one notevault command line and returns its stdout, which it also
// prints.
func (d *demo) step(what, stdin string, args ...string) (string, error) {
	shown := append([]string{"notevault"}, args...)
	redirect := ""
	if stdin != "" {
		redirect = " <<< " + strconvQuote(strings.TrimSpace(stdin))
	}
	fmt.Fprintf(d.e.stderr, "\n# %s\n$ %s%s\n", what, strings.Join(shown, " "), redirect)
	var out bytes.Buffer
	sub := &env{
		stdin:   strings.NewReader(stdin),
		stdout:  io.MultiWriter(&out, d.e.stdout),
		stderr:  d.e.stderr,
		getenv:  d.getenv,
		now:     d.e.now,
		openTTY: d.e.openTTY,
	}
	full := append([]string{"--vault", d.vault}, args...)
	if err := execute(d.ctx, full, sub); err != nil {
		return out.String(), fmt.Errorf("demo step %q: %w", strings.Join(shown, " "), err)
	}
	return strings.TrimSpace(out.String()), nil
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
	d := &demo{ctx: ctx, e: e, dir: dir, vault: filepath.Join(dir, "vault"), state: filepath.Join(dir, "state")}
	if g.cmd.PersistentFlags().Changed("vault") {
		d.vault, d.state = g.vaultDir, ""
	}
	key := func(name string) string { return filepath.Join(dir, name+".key") }
	agreementFile := filepath.Join(dir, "agreement.yaml")
	if err := os.WriteFile(agreementFile, []byte(demoAgreement), 0o600); err != nil {
		return err
	}

	if _, err := d.step("create the vault", "", "init"); err != nil {
		return err
	}
	roles := []struct{ name, role string }{{"alice", "mentor"}, {"bob", "mentee"}, {"carol", "supervisor"}}
	for _, p := range roles {
		pub, err := d.step("make an identity for "+p.name+" ("+p.role+")", "", "identity", "new", "--out", key(p.name))
		if err != nil {
			return err
		}
		if _, err := d.step("register "+p.name, "", "participant", "add", p.name, "--role", p.role, "--key", pub); err != nil {
			return err
		}
	}
	agr, err := d.step("write down the agreement", "", "agreement", "create", "--file", agreementFile)
	if err != nil {
		return err
	}
	for _, who := range []string{"alice", "bob"} {
		if _, err := d.step(who+" accepts it", "", "agreement", "accept", agr, "-i", key(who)); err != nil {
			return err
		}
	}
	session, err := d.step("alice writes a session note (shared with bob)",
		"We reviewed the portfolio plan; next: clean the data set.\n",
		"note", "add", "--agreement", agr, "--kind", "session", "--title", "Session 1", "-i", key("alice"))
	if err != nil {
		return err
	}
	reflection, err := d.step("bob writes a reflection (private to bob)",
		"I am unsure about the statistics part.\n",
		"note", "add", "--agreement", agr, "--kind", "reflection", "-i", key("bob"))
	if err != nil {
		return err
	}
	if _, err := d.step("alice writes a supervisor summary",
		"Bob is on track; portfolio project started.\n",
		"note", "add", "--agreement", agr, "--kind", "summary", "-i", key("alice")); err != nil {
		return err
	}
	if _, err := d.step("bob reads the session note", "", "note", "show", session, "-i", key("bob")); err != nil {
		return err
	}
	_, err = d.step("may carol read bob's reflection? (no: exit code 3)", "", "policy", "explain", "--note", reflection, "--who", "carol")
	if exitCode(err) != exitDenied {
		return fmt.Errorf("demo: expected carol to be denied the reflection, got: %v", err)
	}
	if _, err := d.step("everything that mattered is in the audit log", "", "audit", "log"); err != nil {
		return err
	}
	if _, err := d.step("and the log is intact", "", "audit", "verify"); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "\nnotevault: demo complete\n")
	return nil
}

// strconvQuote quotes s for the narration, shell style.
func strconvQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
