package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The clock hook of the scripts (NOTEVAULT_TEST_NOW) must not reach the
// binary we ship: one command run with it far ahead would write an audit
// record in the future, after which every command on the true clock is
// refused until that date, and a sweep would destroy every note. This test
// builds the release binary with go build, which compiles no test file, and
// runs it with the variable set.
func TestReleaseBinaryIgnoresTestClock(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds the release binary and needs the go command: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "notevault")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTEVAULT_") {
			env = append(env, kv)
		}
	}
	env = append(env, "NOTEVAULT_DIR="+filepath.Join(tmp, "vault"), "HOME="+tmp, "XDG_DATA_HOME=")
	nv := func(testNow string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = tmp
		cmd.Env = append(env, "NOTEVAULT_TEST_NOW="+testNow)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("notevault %s with NOTEVAULT_TEST_NOW=%s: %v\n%s", strings.Join(args, " "), testNow, err, stderr.String())
		}
		return strings.TrimSpace(stdout.String())
	}

	before := time.Now()
	// Not even a malformed value is looked at.
	nv("yesterday", "init")
	key := nv("2099-01-01T00:00:00Z", "identity", "new", "--out", "alice.key")
	nv("2099-01-01T00:00:00Z", "participant", "add", "alice", "--role", "mentor", "--key", key)
	var records []struct {
		Action string    `json:"action"`
		Time   time.Time `json:"recorded_at"`
	}
	if err := json.Unmarshal([]byte(nv("2099-01-01T00:00:00Z", "audit", "log", "--json")), &records); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if len(records) == 0 {
		t.Fatal("the audit log is empty; participant add should have written a record")
	}
	for _, r := range records {
		if r.Time.Before(before.Add(-time.Minute)) || r.Time.After(after.Add(time.Minute)) {
			t.Errorf("record %s at %s: the release binary ran on NOTEVAULT_TEST_NOW, not the system clock (%s)",
				r.Action, r.Time.Format(time.RFC3339), before.UTC().Format(time.RFC3339))
		}
	}
}
