package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra/doc"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli from the command tree")

// The markdown reference in docs/cli is generated from the cobra tree, never
// written by hand. This test fails when it is stale; regenerate with
//
//	go test ./cmd/notevault -run TestCLIReference -update-docs
func TestCLIReference(t *testing.T) {
	root := newRootCmd(&env{getenv: func(string) string { return "" }})
	root.DisableAutoGenTag = true
	tmp := t.TempDir()
	if err := doc.GenMarkdownTree(root, tmp); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("..", "..", "docs", "cli")
	if *updateDocs {
		os.RemoveAll(want)
		if err := os.MkdirAll(want, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := doc.GenMarkdownTree(root, want); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, _ := filepath.Glob(filepath.Join(tmp, "*.md"))
	have, _ := filepath.Glob(filepath.Join(want, "*.md"))
	if len(got) != len(have) {
		t.Fatalf("docs/cli has %d pages, the command tree %d: regenerate with -update-docs", len(have), len(got))
	}
	for _, p := range got {
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(want, filepath.Base(p)))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("docs/cli/%s is stale: regenerate with go test ./cmd/notevault -run TestCLIReference -update-docs", filepath.Base(p))
		}
	}
}
