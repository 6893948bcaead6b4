package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type mistake struct{ name, old, new, want string }

// The check passes the sweep's example as it is, and fails it for each
// mistake it is there to catch.
func TestCheck(t *testing.T) {
	checkMistakes(t, "../cronjob.yaml", []mistake{
		{"unknown field", "\n  concurrencyPolicy: Forbid\n", "\n  concurrencyPolicy: Forbid\n  concurency: 1\n", "unknown field"},
		{"misplaced field", "            fsGroup: 65532", "            fsGroup: 65532\n            readOnlyRootFilesystem: true", "unknown field"},
		{"latest", "registry.example.com/notevault:0.1.0", "registry.example.com/notevault:latest", "not \"registry.example.com/notevault:0.1.0\""},
		{"no init", `args: ["init", "--if-missing"]`, `args: ["init"]`, "init --if-missing"},
		{"group-writable vault", "fsGroupChangePolicy: OnRootMismatch", "fsGroupChangePolicy: Always", "OnRootMismatch"},
		{"root", "runAsNonRoot: true", "runAsNonRoot: false", "non-root"},
		{"state off the volume", "value: /state", "value: /tmp/state", "on no volume"},
	})
}

// The same for the server's example.
func TestCheckServe(t *testing.T) {
	checkMistakes(t, "../serve.yaml", []mistake{
		{"unknown field", "  replicas: 2\n", "  replicas: 2\n  replica: 2\n", "unknown field"},
		{"one replica", "  replicas: 2\n", "  replicas: 1\n", "fewer than 2 replicas"},
		{"latest", "registry.example.com/notevault:0.1.0", "registry.example.com/notevault:latest", "not \"registry.example.com/notevault:0.1.0\""},
		{"root", "runAsNonRoot: true", "runAsNonRoot: false", "non-root"},
		{"no state", "            - --state=/state\n", "", "no --state"},
		{"state off the volume", "--state=/state", "--state=/tmp/state", "on no volume"},
		{"state not shared", `accessModes: ["ReadWriteMany"]`, `accessModes: ["ReadWriteOnce"]`, "not ReadWriteMany"},
		{"no probe", "          readinessProbe:\n            httpGet:\n              path: /healthz", "          readinessProbe:\n            httpGet:\n              path: /", "no readiness probe"},
		{"service elsewhere", "  selector:\n    app.kubernetes.io/name: notevault\n    app.kubernetes.io/component: server\n  ports:", "  selector:\n    app.kubernetes.io/name: notevault\n    app.kubernetes.io/component: sweep\n  ports:", "no Service selects"},
		{"writable root", "            readOnlyRootFilesystem: true", "            readOnlyRootFilesystem: false", "write its root"},
	})
}

// checkMistakes checks that file passes, and that each mistake made in it
// fails with the error it names.
func checkMistakes(t *testing.T, file string, mistakes []mistake) {
	t.Helper()
	manifest, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(file, "../Containerfile"); err != nil {
		t.Fatalf("the example fails its check: %v", err)
	}
	for _, tc := range mistakes {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(manifest), tc.old) {
				t.Fatalf("the example has no %q to change", tc.old)
			}
			bad := filepath.Join(t.TempDir(), filepath.Base(file))
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
