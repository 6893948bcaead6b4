package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/certificate"
)

type agreementCloseOptions struct {
	reason string
}

func newAgreementCloseCmd(g *globals, e *env) *cobra.Command {
	var opts agreementCloseOptions
	cmd := &cobra.Command{
		Use:   "close ID [--reason TEXT] -i FILE",
		Short: "End a mentoring relationship: close its agreement",
		Long: `Close an agreement: its mentor or its mentee may, either one alone. The close
is a signed fact of the agreement's chain and is logged; the reason, if given,
is sealed to mentor and mentee (never stored in the clear).

From then on no note is written, no consent given, no access granted and no
version proposed or accepted under it. Every grant ends and the supervisors'
copies are destroyed before the command returns; consents lapse. Every
note's expiry becomes the earlier of its own and the close plus the
agreement's retention.after_close (without after_close, notes keep their
per-kind periods). Once the sweep has destroyed the last note, notevault
agreement certificate writes the proof.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement close a-5znce28d4shyt7ma --reason "Programme ended" -i bob.key
  notevault retention plan   # every note now goes at most after_close after the close`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAgreementClose(cmd.Context(), args[0], opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.reason, "reason", "", "why the relationship ends (sealed to mentor and mentee)")
	return cmd
}

func runAgreementClose(ctx context.Context, agreementID string, opts agreementCloseOptions, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	c, err := v.CloseAgreement(ctx, agreementID, opts.reason, id)
	if err != nil {
		return err
	}
	after := "its notes keep their per-kind retention"
	if c.AfterClose > 0 {
		after = fmt.Sprintf("its notes are destroyed by %s (%s after the close) at the latest",
			policy.FormatTime(c.At.Add(c.AfterClose)), policy.FormatDuration(c.AfterClose))
	}
	fmt.Fprintf(e.stderr, "notevault: agreement %s is closed by %s; every grant has ended; %s\n", agreementID, c.By, after)
	return nil
}

type agreementCertificateOptions struct {
	out string
}

func newAgreementCertificateCmd(g *globals, e *env) *cobra.Command {
	var opts agreementCertificateOptions
	cmd := &cobra.Command{
		Use:   "certificate ID --out FILE",
		Short: "Write the destruction certificate of a closed agreement whose notes are all gone",
		Long: `Write the destruction certificate of a closed agreement once its last note
is destroyed: every note its audit log saw written, with the audit receipt of
its destruction, the close, and the audit checkpoint that covers them, signed
with the vault's checkpoint key. The whole audit log is verified first. It is
refused while the agreement is open or any of its notes remains.

Anyone can check the file offline with notevault certificate verify; the
format is documented in docs/certificate.md.`,
		Args: exactArgs("ID"),
		Example: `  notevault agreement certificate a-5znce28d4shyt7ma --out a-5znce28d4shyt7ma.cert
  notevault certificate verify a-5znce28d4shyt7ma.cert`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "out"); err != nil {
				return err
			}
			return runAgreementCertificate(cmd.Context(), args[0], opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write the certificate to `FILE` (it must not exist)")
	return cmd
}

func runAgreementCertificate(ctx context.Context, agreementID string, opts agreementCertificateOptions, g *globals, e *env) (err error) {
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	msg, c, err := v.Certificate(ctx, agreementID)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(opts.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: nothing was written; give another --out", opts.out)
	}
	if err != nil {
		return fmt.Errorf("writing the certificate: %w", err)
	}
	if _, err := f.Write(msg); err != nil {
		f.Close()
		return fmt.Errorf("writing the certificate: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the certificate: %w", err)
	}
	fmt.Fprintf(e.stderr, "notevault: wrote the destruction certificate of agreement %s (%d notes) to %s\n", agreementID, len(c.Notes), opts.out)
	return nil
}

func newCertificateCmd(g *globals, e *env) *cobra.Command {
	return group("certificate", "Check destruction certificates", newCertificateVerifyCmd(g, e))
}

type certificateVerifyOptions struct {
	key        string
	checkpoint string
}

func newCertificateVerifyCmd(g *globals, e *env) *cobra.Command {
	var opts certificateVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify FILE [--key KEY|FILE] [--checkpoint FILE]",
		Short: "Check a destruction certificate offline",
		Long: `Check a destruction certificate with nothing but the file: its signature
under the vault key it names, and that it is exactly in the documented form
(every receipt inside its audit checkpoint). It needs no vault and no key.

The signature alone proves the certificate is unchanged since a vault
signed it, not which vault. To tie it to the vault you know, give that
vault's verifier key with --key (the key itself, or a file holding it, such
as the vault's checkpoint.pub), or a checkpoint you kept from that vault with
--checkpoint FILE (as printed by notevault audit checkpoint): it must verify
under the same key, and if it covers as many records it must name the same
head. A certificate that fails prints one sentence and exits 1.`,
		Args: exactArgs("FILE"),
		Example: `  notevault certificate verify a-5znce28d4shyt7ma.cert
  notevault certificate verify a-5znce28d4shyt7ma.cert --key ~/.local/share/notevault/vault/checkpoint.pub
  notevault certificate verify a-5znce28d4shyt7ma.cert --checkpoint ~/offsite/vault.checkpoint`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCertificateVerify(args[0], opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.key, "key", "", "require the vault verifier key `KEY` (or the file holding it)")
	cmd.Flags().StringVar(&opts.checkpoint, "checkpoint", "", "tie the certificate to the signed checkpoint in `FILE`")
	return cmd
}

// certificateJSON is what certificate verify --json prints.
type certificateJSON struct {
	OK             bool                  `json:"ok"`
	Agreement      string                `json:"agreement"`
	Vault          string                `json:"vault"`
	ClosedAt       jsonTime              `json:"closed_at"`
	ClosedBy       string                `json:"closed_by"`
	CheckpointSize uint64                `json:"checkpoint_size"`
	Notes          []certificateNoteJSON `json:"notes"`
	KeptCheckpoint string                `json:"kept_checkpoint,omitempty"`
}

type certificateNoteJSON struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	DestroyedAt jsonTime `json:"destroyed_at"`
	By          string   `json:"by"`
	Rule        string   `json:"rule"`
	Receipt     uint64   `json:"receipt"`
}

func runCertificateVerify(file string, opts certificateVerifyOptions, g *globals, e *env) error {
	msg, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading the certificate: %w", err)
	}
	key := strings.TrimSpace(opts.key)
	if key != "" && !strings.Contains(key, "+") {
		b, err := os.ReadFile(key)
		if err != nil {
			return fmt.Errorf("reading the vault key: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	c, err := certificate.Verify(msg, key)
	if err != nil {
		return err
	}
	if opts.checkpoint != "" {
		kept, err := os.ReadFile(opts.checkpoint)
		if err != nil {
			return fmt.Errorf("reading the checkpoint: %w", err)
		}
		if _, err := c.CheckCheckpoint(kept); err != nil {
			return err
		}
	}
	if g.json {
		out := certificateJSON{OK: true, Agreement: c.Agreement, Vault: c.Vault, ClosedAt: jsonTime(c.Closed), ClosedBy: c.ClosedBy,
			CheckpointSize: c.Size, Notes: []certificateNoteJSON{}, KeptCheckpoint: opts.checkpoint}
		for _, n := range c.Notes {
			out.Notes = append(out.Notes, certificateNoteJSON{ID: n.ID, Kind: n.Kind, DestroyedAt: jsonTime(n.Destroyed), By: n.By,
				Rule: n.Rule, Receipt: n.Receipt.Seq})
		}
		return printJSON(e.stdout, out)
	}
	tw := table(e.stdout)
	fmt.Fprintf(tw, "agreement:\t%s\n", c.Agreement)
	fmt.Fprintf(tw, "closed:\t%s by %s\n", fmtTime(c.Closed), c.ClosedBy)
	fmt.Fprintf(tw, "signed by:\t%s\n", c.Vault)
	fmt.Fprintf(tw, "checkpoint:\t%d audit records\n", c.Size)
	fmt.Fprintf(tw, "notes destroyed:\t%d\n", len(c.Notes))
	for _, n := range c.Notes {
		fmt.Fprintf(tw, "  %s\t%s destroyed %s by %s (%s, receipt %d)\n", n.ID, n.Kind, fmtTime(n.Destroyed), n.By, n.Rule, n.Receipt.Seq)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "notevault: the certificate verifies")
	return nil
}
