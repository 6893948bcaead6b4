package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/cobra/doc"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli and docs/man from the command tree")

// The markdown reference in docs/cli and the man pages in docs/man are
// generated from the cobra tree, never written by hand. This test fails when
// either is stale; regenerate both with
//
//	go test ./cmd/notevault -run TestCLIReference -update-docs
func TestCLIReference(t *testing.T) {
	t.Run("markdown", func(t *testing.T) {
		checkGenerated(t, filepath.Join("..", "..", "docs", "cli"), "*.md", func(dir string) error {
			root := newRootCmd(&env{getenv: func(string) string { return "" }})
			root.DisableAutoGenTag = true
			return doc.GenMarkdownTree(root, dir)
		})
	})
	// The man pages are checked as notevault man writes them.
	t.Run("man", func(t *testing.T) {
		checkGenerated(t, filepath.Join("..", "..", "docs", "man"), "*.1", func(dir string) error {
			var stdout, stderr bytes.Buffer
			e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			return execute(t.Context(), []string{"man", "--dir", dir}, e)
		})
	})
}

// checkGenerated compares the files matching pattern that gen writes with
// those in want, or with -update-docs replaces want with them.
func checkGenerated(t *testing.T, want, pattern string, gen func(dir string) error) {
	t.Helper()
	if *updateDocs {
		if err := os.RemoveAll(want); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(want, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := gen(want); err != nil {
			t.Fatal(err)
		}
		return
	}
	tmp := t.TempDir()
	if err := gen(tmp); err != nil {
		t.Fatal(err)
	}
	names := func(dir string) []string {
		paths, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	got, have := names(tmp), names(want)
	if !slices.Equal(got, have) {
		t.Fatalf("%s has pages %v,\nthe command tree %v:\nregenerate with go test ./cmd/notevault -run TestCLIReference -update-docs", want, have, got)
	}
	for _, name := range got {
		a, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(want, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s/%s is stale: regenerate with go test ./cmd/notevault -run TestCLIReference -update-docs", want, name)
		}
	}
}
