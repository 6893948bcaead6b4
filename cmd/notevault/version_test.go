package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name     string
		info     *debug.BuildInfo
		text     string
		jsonKeys string
	}{
		{
			name:     "release",
			info:     &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/notevault/notevault", Version: "v1.2.0"}},
			text:     "notevault v1.2.0\ncommit: not recorded in this build\nbuilt with: go1.26.8 " + platform + "\n",
			jsonKeys: `{"version":"v1.2.0","go_version":"go1.26.8","platform":"` + platform + `"}`,
		},
		{
			name: "checkout",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261123191447-d199839a1b2c+dirty"}, Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "d199839a1b2c0000000000000000000000000000"},
				{Key: "vcs.time", Value: "2026-11-23T19:14:47Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			text: "notevault v0.0.0-20261123191447-d199839a1b2c+dirty\n" +
				"commit: d199839a1b2c0000000000000000000000000000 (2026-11-23T19:14:47Z), with uncommitted changes\n" +
				"built with: go1.26.8 " + platform + "\n",
			jsonKeys: `{"version":"v0.0.0-20261123191447-d199839a1b2c+dirty","commit":"d199839a1b2c0000000000000000000000000000",` +
				`"committed_at":"2026-11-23T19:14:47Z","modified":true,"go_version":"go1.26.8","platform":"` + platform + `"}`,
		},
		{
			name: "clean checkout",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc"},
				{Key: "vcs.time", Value: "2026-11-23T20:14:47+01:00"},
				{Key: "vcs.modified", Value: "false"},
			}},
			text:     "notevault (devel)\ncommit: abc (2026-11-23T19:14:47Z)\nbuilt with: go1.26.8 " + platform + "\n",
			jsonKeys: `{"version":"(devel)","commit":"abc","committed_at":"2026-11-23T19:14:47Z","modified":false,"go_version":"go1.26.8","platform":"` + platform + `"}`,
		},
		{
			name:     "no build information",
			text:     "notevault unknown\ncommit: not recorded in this build\nbuilt with: " + runtime.Version() + " " + platform + "\n",
			jsonKeys: `{"version":"unknown","go_version":"` + runtime.Version() + `","platform":"` + platform + `"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func() (*debug.BuildInfo, bool) { return tc.info, tc.info != nil }
			for _, args := range [][]string{{"version"}, {"--version"}, {"version", "--json"}, {"--version", "--json"}} {
				var stdout, stderr bytes.Buffer
				e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, buildInfo: read}
				if err := execute(t.Context(), args, e); err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				want := tc.text
				got := stdout.String()
				if args[len(args)-1] == "--json" {
					var compact bytes.Buffer
					if err := json.Compact(&compact, stdout.Bytes()); err != nil {
						t.Fatalf("%v: %v\n%s", args, err, got)
					}
					want, got = tc.jsonKeys, compact.String()
				}
				if got != want {
					t.Errorf("%v:\ngot  %q\nwant %q", args, got, want)
				}
				if stderr.Len() > 0 {
					t.Errorf("%v wrote to stderr: %s", args, stderr.String())
				}
			}
		})
	}
}

// The release binary reports exactly what the toolchain recorded in it, as
// go version -m reads it back. The build uses -buildvcs=auto, so in a git
// checkout the commit is stamped and checked too; elsewhere it must be
// absent, not made up.
func TestReleaseBinaryVersion(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds the release binary and needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "notevault")
	if out, err := exec.Command(goTool, "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	meta, err := exec.Command(goTool, "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(string(meta), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			want["version"] = f[2]
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			want["commit"] = strings.TrimPrefix(f[1], "vcs.revision=")
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.modified="):
			want["modified"] = strings.TrimPrefix(f[1], "vcs.modified=")
		}
	}
	cmd := exec.Command(bin, "version", "--json")
	cmd.Env = append(os.Environ(), "NOTEVAULT_DIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("notevault version --json: %v", err)
	}
	var got struct {
		Version  string `json:"version"`
		Commit   string `json:"commit"`
		Modified *bool  `json:"modified"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Version != want["version"] || got.Commit != want["commit"] {
		t.Errorf("notevault version --json says version %q commit %q; the binary records %q and %q\n%s",
			got.Version, got.Commit, want["version"], want["commit"], out)
	}
	modified := ""
	if got.Modified != nil {
		modified = fmt.Sprint(*got.Modified)
	}
	if modified != want["modified"] {
		t.Errorf("notevault version --json says modified %q; the binary records %q", modified, want["modified"])
	}
}

// Every command lightGC is for exists: a command renamed or removed would
// silently fall back to the default collector.
func TestEverydayCommandsExist(t *testing.T) {
	root := newRootCmd(&env{getenv: func(string) string { return "" }})
	for path := range everyday {
		c, _, err := root.Find(strings.Fields(path))
		if err != nil || c.CommandPath() != "notevault "+path {
			t.Errorf("everyday names %q, which is no command (found %v, %v)", path, c.CommandPath(), err)
		}
	}
}
