package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runDemoForTest runs notevault demo in-process and returns what it printed
// on stdout and stderr, and how long it took.
func runDemoForTest(t *testing.T) (stdout, stderr string, took time.Duration) {
	t.Helper()
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "NOTEVAULT_DIR": filepath.Join(home, "unused")}
	var out, errOut bytes.Buffer
	e := &env{
		stdin:   strings.NewReader(""),
		stdout:  &out,
		stderr:  &errOut,
		getenv:  func(k string) string { return vars[k] },
		now:     time.Now,
		openTTY: func() (*os.File, error) { return nil, os.ErrNotExist },
	}
	start := time.Now()
	if err := execute(context.Background(), []string{"demo"}, e); err != nil {
		t.Fatalf("notevault demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), time.Since(start)
}

// The demo walks the whole lifecycle, fits an 80-column terminal, shows no
// public key in full and finishes in seconds.
func TestDemoLifecycle(t *testing.T) {
	stdout, stderr, took := runDemoForTest(t)
	t.Logf("the demo took %s and printed %d lines", took.Round(time.Millisecond), strings.Count(stdout+stderr, "\n"))
	if took > 30*time.Second {
		t.Errorf("the demo took %s; it should finish in seconds", took)
	}
	for _, stream := range []string{stdout, stderr} {
		for _, line := range strings.Split(stream, "\n") {
			if len(line) > demoWidth {
				t.Errorf("line of %d columns, more than %d: %q", len(line), demoWidth, line)
			}
		}
	}
	if strings.Contains(stdout+stderr, "nvk1:") {
		t.Errorf("the demo shows a public key in full")
	}
	for _, cmd := range []string{
		"init", "identity new", "participant add", "agreement template", "agreement create",
		"agreement accept", "note add", "note show", "policy explain", "consent give", "grant add",
		"grant revoke", "disclose", "disclosure show", "hold add", "retention sweep", "hold release",
		"audit verify", "check",
	} {
		if !strings.Contains(stderr, "notevault "+cmd+" ") && !strings.Contains(stderr, "notevault "+cmd+"\n") {
			t.Errorf("the demo never runs notevault %s", cmd)
		}
	}
}

// The commands the demo echoes paste into a shell: run them in bash, with
// notevault a function that logs its arguments, and check that the words
// with spaces and quotes arrive whole.
func TestDemoCommandsPaste(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("this test runs the demo's commands with bash: %v", err)
	}
	_, stderr, _ := runDemoForTest(t)
	var script strings.Builder
	// It reads its stdin as notevault does: an echo piped into it must not
	// die of SIGPIPE.
	script.WriteString("notevault() { cat >/dev/null; printf '%s\\n' \"$*\" >>args.log; printf '%s\\0' \"$@\" >>argv.log; }\n")
	n := 0
	continued := false
	for _, line := range strings.Split(stderr, "\n") {
		switch {
		case continued:
		case strings.HasPrefix(line, "$ cd "), strings.HasPrefix(line, "$ export "):
			continue
		case strings.HasPrefix(line, "$ "):
			line = strings.TrimPrefix(line, "$ ")
			n++
		default:
			continue
		}
		script.WriteString(line + "\n")
		continued = strings.HasSuffix(line, `\`)
	}
	if n < 30 {
		t.Fatalf("found %d echoed commands in the demo's output, want 30 or more:\n%s", n, stderr)
	}
	dir := t.TempDir()
	cmd := exec.Command(bash, "--noprofile", "--norc", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the demo's commands do not run in bash: %v\n%s\nscript:\n%s", err, out, script.String())
	}
	argv, err := os.ReadFile(filepath.Join(dir, "argv.log"))
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]bool{}
	for _, w := range strings.Split(string(argv), "\x00") {
		words[w] = true
	}
	for _, want := range []string{
		"Session 1",
		"Bob said he felt unsafe at work; carol is his supervisor.",
		"records request from HR",
	} {
		if !words[want] {
			t.Errorf("no command received %q as one argument; the echoed commands were:\n%s", want, script.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "agreement.yaml")); err != nil {
		t.Errorf("notevault agreement template > agreement.yaml made no file: %v", err)
	}
	if calls := strings.Count(string(mustRead(t, filepath.Join(dir, "args.log"))), "\n"); calls != n {
		t.Errorf("bash ran notevault %d times for %d echoed commands", calls, n)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShellQuote(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("this test checks quoting with bash: %v", err)
	}
	for _, s := range []string{"plain", "Session 1", "it's", `a "b" $c`, "`x`", "", "a\\b", "x;y|z&", "*", "~"} {
		q := shellQuote(s)
		out, err := exec.Command(bash, "--noprofile", "--norc", "-c", `printf '%s' `+q).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) = %s, which bash reads as %q (%v)", s, q, out, err)
		}
	}
	if got := shellQuote("alice.key"); got != "alice.key" {
		t.Errorf("shellQuote(alice.key) = %s; a safe word stays bare", got)
	}
}

func TestWrapText(t *testing.T) {
	long := strings.Repeat("word ", 40)
	for _, line := range strings.Split(strings.TrimSuffix(wrapText(long, "  "), "\n"), "\n") {
		if len(line) > demoWidth {
			t.Errorf("wrapped line of %d columns: %q", len(line), line)
		}
	}
	one := strings.Repeat("x", 100)
	if got := wrapText(one, "  "); got != one+"\n" {
		t.Errorf("a word longer than the line is left whole; got %q", got)
	}
	if got := wrapText("short", "  "); got != "short\n" {
		t.Errorf("wrapText(short) = %q", got)
	}
}
