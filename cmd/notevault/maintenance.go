package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault"
)

type maintenanceOptions struct {
	background bool
}

func newMaintenanceCmd(g *globals, e *env) *cobra.Command {
	var opts maintenanceOptions
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "Merge the store's tables and give back the space of destroyed records",
		Long: `Merge the store's tables and give back the space of destroyed records.

No command waits for this housekeeping. A writing command that leaves the
store with work to do starts this command in the background, detached, and
returns; it then gives the vault up to any other command that asks for it
(that command waits at most the step under way) and is started again by a
later writing command. Set NOTEVAULT_MAINTENANCE=off to keep writing
commands from starting it, and run it yourself (from cron, say) instead.

It prints whether the work is done or was paused for another command.`,
		Args:    exactArgs(),
		Example: `  notevault maintenance`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMaintenance(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().BoolVar(&opts.background, "background", false, "run as the detached helper: exit at once if the vault is busy, print nothing")
	cmd.Flags().MarkHidden("background")
	return cmd
}

func runMaintenance(ctx context.Context, opts maintenanceOptions, g *globals, e *env) (err error) {
	dir, vopts, err := vaultOptions(g, e)
	if err != nil {
		return err
	}
	if opts.background {
		vopts.BusyTimeout, vopts.Background = time.Millisecond, true
	}
	v, err := vault.Open(ctx, dir, vopts)
	if opts.background && errors.Is(err, vault.ErrBusy) {
		return nil // whoever holds the vault starts us again if need be
	}
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	n, done, err := v.Reclaim(ctx)
	if err != nil || opts.background {
		return err
	}
	if !done {
		fmt.Fprintln(e.stderr, "notevault: maintenance paused for another command; the next writing command resumes it")
		return nil
	}
	fmt.Fprintf(e.stderr, "notevault: maintenance done (%d value-log files rewritten)\n", n)
	return nil
}

// startMaintenance starts `notevault maintenance --background` for the vault
// in dir, detached (own session, no terminal, no output), and does not wait
// for it. Tests replace it.
var startMaintenance = func(e *env, dir string) {
	self, err := selfPath()
	if err != nil {
		return
	}
	c := exec.Command(self, "maintenance", "--background", "--vault", dir)
	c.Env = os.Environ()
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c.Start() == nil {
		c.Process.Release()
	}
}

// selfPath is the notevault binary as it was started: os.Args[0] looked up
// on PATH (os.Executable would resolve the links a test harness runs the
// command through).
func selfPath() (string, error) {
	if filepath.Base(os.Args[0]) != os.Args[0] {
		return filepath.Abs(os.Args[0])
	}
	return exec.LookPath(os.Args[0])
}

// maintenanceOff reports whether NOTEVAULT_MAINTENANCE turns the background
// helper off.
func maintenanceOff(e *env) bool {
	switch e.getenv("NOTEVAULT_MAINTENANCE") {
	case "off", "0", "false", "no":
		return true
	}
	return false
}
