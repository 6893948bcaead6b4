package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
)

// keyFlags is --key / --key-file, as participant add takes them.
type keyFlags struct {
	key, keyFile string
}

func (k *keyFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.key, "key", "", "the new `PUBLIC` key line that notevault identity public prints")
	cmd.Flags().StringVar(&k.keyFile, "key-file", "", "read the new public key line from `FILE` (- reads stdin)")
}

// line returns the key line given, reading --key-file.
func (k *keyFlags) line(cmd *cobra.Command, e *env) (string, error) {
	switch key, file := cmd.Flags().Changed("key"), cmd.Flags().Changed("key-file"); {
	case key && file:
		return "", usagef("%s: give --key or --key-file, not both", cmd.CommandPath())
	case !key && !file:
		return "", usagef("%s: missing --key or --key-file", cmd.CommandPath())
	case file:
		return readKeyFile(k.keyFile, e)
	}
	return k.key, nil
}

func newParticipantRotateCmd(g *globals, e *env) *cobra.Command {
	var k keyFlags
	cmd := &cobra.Command{
		Use:   "rotate NAME (--key PUBLIC | --key-file FILE) -i OLDKEY",
		Short: "Move a participant to a new key, signed by the old one",
		Long: `Move a participant to a new key while they still hold the old one: the
old key (-i) signs the new one, and the participant's agreements move to it
by a signed re-acceptance.

In every open agreement in force that NAME is a party of, the old key signs
a rotate fact; when NAME is the mentor or the mentee it also proposes the
text in force again, pinning the new key, and accepts it. The other party's
notevault agreement accept brings that version into force (for a
supervisor's new key, mentor and mentee both accept; the first to do so
proposes it). Until then notes are still sealed to the old key, and NAME
cannot write in that agreement with either key. Afterwards new notes go to
the new key only; notevault note rekey re-seals the older ones.

The new key must be of the same kind as the old one (post-quantum or
classic) and nobody's, and a retired key is never registered again.`,
		Args: exactArgs("NAME"),
		Example: `  notevault identity new --out alice-2027.key
  notevault participant rotate alice --key "$(notevault identity public -i alice-2027.key)" -i alice.key
  notevault agreement accept a-5znce28d4shyt7ma -i bob.key      # bob pins alice's new key
  notevault note rekey --agreement a-5znce28d4shyt7ma -i alice-2027.key --old alice.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := k.line(cmd, e)
			if err != nil {
				return err
			}
			return runKeyChange(cmd.Context(), args[0], line, false, g, e)
		},
	}
	k.add(cmd)
	return cmd
}

func newParticipantReplaceCmd(g *globals, e *env) *cobra.Command {
	var k keyFlags
	cmd := &cobra.Command{
		Use:   "replace NAME (--key PUBLIC | --key-file FILE) -i YOURKEY",
		Short: "Register a new key for a participant who lost theirs, as the other party",
		Long: `Register a new key for a participant who lost theirs, on the word of the
other party of their agreements: you (-i), the mentor or the mentee of an
open agreement with NAME, vouch that the new key is theirs. Check it with
them out of band first (compare notevault identity public --fingerprint on
their machine with the fingerprint printed here): a replacement is exactly
as strong as that check.

In every open agreement in force where you are the mentor or the mentee and
NAME another party, you sign a replace fact, propose the text in force again
pinning the new key, and accept it. NAME then accepts with the new key
(a supervisor's new key needs the remaining party instead). Agreements
you are not in keep the lost key pinned until their own other party vouches
the same way. Then notevault note rekey, run by the other reader, re-seals
the shared notes to the new key.

Nobody gains access they did not have: what was sealed to the lost key
alone (NAME's private reflections, say) stays unreadable for good.`,
		Args: exactArgs("NAME"),
		Example: `  notevault participant replace bob --key-file bob-new.pub -i alice.key
  notevault agreement accept a-5znce28d4shyt7ma -i bob-new.key   # bob, with the new key
  notevault note rekey --agreement a-5znce28d4shyt7ma -i alice.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := k.line(cmd, e)
			if err != nil {
				return err
			}
			return runKeyChange(cmd.Context(), args[0], line, true, g, e)
		},
	}
	k.add(cmd)
	return cmd
}

func runKeyChange(ctx context.Context, name, line string, replace bool, g *globals, e *env) (err error) {
	v, id, err := openVaultAs(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	var kc *vault.KeyChange
	verb := "rotated"
	if replace {
		verb = "replaced"
		kc, err = v.ReplaceParticipant(ctx, name, line, id)
	} else {
		kc, err = v.RotateParticipant(ctx, name, line, id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: %s %s's key %s -> %s\n", verb, name, kc.From, kc.To)
	for _, s := range kc.Agreements {
		if len(s.Waiting) == 0 {
			fmt.Fprintf(e.stderr, "notevault: agreement %s version %d pins the new key\n", s.Agreement, s.Version)
			continue
		}
		fmt.Fprintf(e.stderr, "notevault: agreement %s version %d pins the new key once %s accept%s it (notevault agreement accept %s -i FILE)\n",
			s.Agreement, s.Version, strings.Join(s.Waiting, " and "), map[bool]string{true: "", false: "s"}[len(s.Waiting) > 1], s.Agreement)
	}
	fmt.Fprintln(e.stdout, kc.To)
	return nil
}

type rekeyOptions struct {
	agreement string
	old       []string
}

func newNoteRekeyCmd(g *globals, e *env) *cobra.Command {
	var opts rekeyOptions
	cmd := &cobra.Command{
		Use:   "rekey --agreement ID -i KEY [--old OLDKEY]...",
		Short: "Re-seal the notes you read to the keys the agreement pins now",
		Long: `Re-seal every note of an agreement that you read, and that is sealed to
keys the version in force no longer pins, to its readers' keys pinned now:
after a key rotation (you, with the new key as -i and the old one as --old
to open what was sealed to it) or a replacement (the other reader, with
their own key). The readers stay the ones the author signed: nobody gains
access, only the key that opens each copy changes. A note sealed to none
of the keys given is refused, naming it: give the key it was written to.

Notes larger than 1 MiB (stored as payload files) keep their copy and are
listed: re-sealing one means rewriting the recording; export it with the
key it is sealed to (notevault note export) if it must move.`,
		Args: exactArgs(),
		Example: `  notevault note rekey --agreement a-5znce28d4shyt7ma -i alice-2027.key --old alice.key
  notevault note rekey --agreement a-5znce28d4shyt7ma -i alice.key      # after bob's key was replaced`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "agreement"); err != nil {
				return err
			}
			return runNoteRekey(cmd.Context(), opts, g, e)
		},
	}
	cmd.Flags().StringVar(&opts.agreement, "agreement", "", "the agreement `ID`")
	cmd.Flags().StringArrayVar(&opts.old, "old", nil, "a retired identity `FILE` of yours that opens older notes (repeatable)")
	return cmd
}

func runNoteRekey(ctx context.Context, opts rekeyOptions, g *globals, e *env) (err error) {
	id, err := loadIdentity(g, e)
	if err != nil {
		return err
	}
	ids := []*identity.Identity{id}
	for _, path := range opts.old {
		old, err := identity.Load(path, func() ([]byte, error) { return passphrase(g, e, "passphrase for "+path, false) })
		if err != nil {
			return err
		}
		ids = append(ids, old)
	}
	v, err := openVault(ctx, g, e)
	if err != nil {
		return err
	}
	defer closeVault(v, &err)
	r, err := v.RekeyNotes(ctx, opts.agreement, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "notevault: re-sealed %d note(s) of %s to the keys version %d pins; %d already were\n", len(r.Rekeyed), r.Agreement, r.Version, r.Current)
	if len(r.Large) > 0 {
		fmt.Fprintf(e.stderr, "notevault: %d large note(s) keep the keys they were sealed to: %s\n", len(r.Large), strings.Join(r.Large, ", "))
	}
	for _, n := range r.Rekeyed {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}
