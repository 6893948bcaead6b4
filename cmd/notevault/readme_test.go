package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeWalk returns the commands of the README's "Five minutes" section:
// the first ```sh block after its heading.
func readmeWalk(readme string) (string, error) {
	_, section, ok := strings.Cut(readme, "\n## Five minutes")
	if !ok {
		return "", errors.New(`README.md has no "## Five minutes" section`)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	_, block, ok := strings.Cut(section, "\n```sh\n")
	if !ok {
		return "", errors.New("the Five minutes section has no ```sh block")
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if !ok {
		return "", errors.New("the Five minutes section's ```sh block is not closed")
	}
	return block + "\n", nil
}

// TestREADMEWalk runs the README's walk, exactly as written there, with
// bash in an empty directory, as a new user on a fresh machine would paste
// it: the release binary and age (the version go.mod pins) on PATH, and no
// notevault state but what the walk makes. Any command that fails fails
// the test.
func TestREADMEWalk(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("this test runs the README's walk with bash: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds notevault and age and needs the go command: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	walk, err := readmeWalk(string(readme))
	if err != nil {
		t.Fatal(err)
	}

	bin := t.TempDir()
	for _, pkg := range []string{".", "filippo.io/age/cmd/age"} {
		build := exec.Command(goTool, "build", "-o", bin, pkg)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}

	home, work := t.TempDir(), t.TempDir()
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8"}
	for _, kv := range os.Environ() {
		// Nothing of the caller's notevault setup, XDG directories or
		// editor reaches the walk.
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PATH", name == "HOME", name == "EDITOR", name == "VISUAL",
			strings.HasPrefix(name, "NOTEVAULT_"), strings.HasPrefix(name, "XDG_"):
			continue
		}
		env = append(env, kv)
	}

	cmd := exec.Command(bash, "--noprofile", "--norc", "-c", "set -euo pipefail\n"+walk)
	cmd.Dir = work
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's walk failed (%v); its output:\n%s", err, out.String())
	}

	// The walk did what its comments say, not only exit 0.
	got := out.String()
	for _, want := range []string{
		"We set goals for the quarter.", // note show, and age -d of the export
		"denied:",                       // policy explain for carol
		"exit 3",                        // ... and carol after the revocation
		"Progress is good.",             // carol's read through the grant
		"audit log verified",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the walk's output lacks %q; it was:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "exit 3"); n != 2 {
		t.Errorf("the walk printed %q %d times, want 2 (policy explain, and carol after the revocation):\n%s", "exit 3", n, got)
	}
	if _, err := os.Stat(filepath.Join(work, "vault")); err != nil {
		t.Errorf("the walk left no vault in its directory: %v", err)
	}
}

func TestREADMEWalkExtraction(t *testing.T) {
	readme := "# x\n\n## Five minutes with notevault\n\ntext\n\n```sh\nnotevault init\n```\n\n```sh\nnot this\n```\n\n## Next\n"
	got, err := readmeWalk(readme)
	if err != nil || got != "notevault init\n" {
		t.Errorf("readmeWalk = %q, %v; want %q", got, err, "notevault init\n")
	}
	for _, bad := range []string{"# x\n", "## Five minutes\n\nno block\n\n## Next\n```sh\nx\n```\n", "## Five minutes\n```sh\nunclosed\n"} {
		if _, err := readmeWalk(bad); err == nil {
			t.Errorf("readmeWalk(%q) found a walk", bad)
		}
	}
}
