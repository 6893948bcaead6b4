package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// versionInfo is what notevault version prints: what the Go toolchain
// recorded in the binary, nothing made up. Fields the build did not record
// are left out of the JSON.
type versionInfo struct {
	// Version is the main module's version: a release tag (v1.2.0) when
	// built with go install …@version, a pseudo-version when built from a
	// checkout with VCS stamping, and "(devel)" otherwise.
	Version string `json:"version"`
	// Commit, CommitTime and Modified come from the version control system
	// of the checkout the binary was built from, when the build recorded it.
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"committed_at,omitempty"`
	Modified   *bool  `json:"modified,omitempty"`
	GoVersion  string `json:"go_version"`
	Platform   string `json:"platform"`
}

// readVersion reads the build information with read, by default the
// running binary's.
func readVersion(read func() (*debug.BuildInfo, bool)) versionInfo {
	if read == nil {
		read = debug.ReadBuildInfo
	}
	v := versionInfo{Version: "unknown", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := read()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				v.CommitTime = t.UTC().Format(time.RFC3339)
			}
		case "vcs.modified":
			m := s.Value == "true"
			v.Modified = &m
		}
	}
	return v
}

// versionFlag declares the root's --version, which does what notevault
// version does.
func versionFlag(root *cobra.Command, p *bool) {
	root.Flags().BoolVar(p, "version", false, "print the version of notevault, as notevault version does")
}

func newVersionCmd(g *globals, e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the version of notevault and the commit it was built from",
		Long: `Print the version of notevault: the module version, the commit and commit
time of the checkout it was built from (and whether that checkout had
uncommitted changes), and the Go release that built it, as the Go toolchain
recorded them in the binary.

A binary built with "go install github.com/notevault/notevault/cmd/notevault@v1.2.0"
says v1.2.0. One built from a checkout says a pseudo-version or "(devel)",
and names the commit only if the build recorded it (go build -buildvcs=true).
notevault --version prints the same.`,
		Example: `  notevault version
  notevault --version
  notevault version --json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(g, e)
		},
	}
}

func runVersion(g *globals, e *env) error {
	v := readVersion(e.buildInfo)
	if g.json {
		return printJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "notevault %s\n", v.Version)
	switch {
	case v.Commit == "":
		fmt.Fprintln(e.stdout, "commit: not recorded in this build")
	case v.Modified != nil && *v.Modified:
		fmt.Fprintf(e.stdout, "commit: %s (%s), with uncommitted changes\n", v.Commit, orDash(v.CommitTime))
	default:
		fmt.Fprintf(e.stdout, "commit: %s (%s)\n", v.Commit, orDash(v.CommitTime))
	}
	_, err := fmt.Fprintf(e.stdout, "built with: %s %s\n", v.GoVersion, v.Platform)
	return err
}
