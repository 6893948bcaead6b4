package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The check passes the example as it is, and fails it for each mistake it
// is there to catch.
func TestCheck(t *testing.T) {
	manifest, err := os.ReadFile("../cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := run("../cronjob.yaml", "../Containerfile"); err != nil {
		t.Fatalf("the example fails its check: %v", err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown field", "\n  concurrencyPolicy: Forbid\n", "\n  concurrencyPolicy: Forbid\n  concurency: 1\n", "unknown field"},
		{"misplaced field", "            fsGroup: 65532", "            fsGroup: 65532\n            readOnlyRootFilesystem: true", "unknown field"},
		{"latest", "registry.example.com/notevault:0.1.0", "registry.example.com/notevault:latest", "not \"registry.example.com/notevault:0.1.0\""},
		{"no init", `args: ["init", "--if-missing"]`, `args: ["init"]`, "init --if-missing"},
		{"group-writable vault", "fsGroupChangePolicy: OnRootMismatch", "fsGroupChangePolicy: Always", "OnRootMismatch"},
		{"root", "runAsNonRoot: true", "runAsNonRoot: false", "non-root"},
		{"state off the volume", "value: /state", "value: /tmp/state", "on no volume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(manifest), tc.old) {
				t.Fatalf("the example has no %q to change", tc.old)
			}
			bad := filepath.Join(t.TempDir(), "cronjob.yaml")
			if err := os.WriteFile(bad, []byte(strings.Replace(string(manifest), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			err := run(bad, "../Containerfile")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
