// Package audit defines notevault's append-only, tamper-evident audit log:
// the record format, the SHA-256 hash chain that links the records, the
// Ed25519 signatures of the people who acted, signed checkpoints, and
// streaming verification.
//
// The package stores nothing. The vault writes each record, encoded with
// [Encode], under l/<seq> in the same badger transaction as the action it
// describes, and reads the records back in order for `audit verify`.
// Records carry ids, kinds, actors, actions, times and rules — never note
// content and never titles.
//
// # Chain
//
// Every record holds, in Prev, the hex SHA-256 [Record.Hash] of the record
// before it ("" for record 1). The hash covers [Record.SignedBytes] — a
// canonical, length-prefixed encoding of every field except the signature,
// with a domain prefix — plus the signature itself, so editing any field
// or signature of a record breaks the link from the next record.
//
// Where a person acted, the record is signed by that person over
// SignedBytes. Because Prev is signed, a participant's signature also pins
// the whole history before it: rewriting any earlier record would need a
// new signature from every person who acted after it. Records written by
// system actors ("retention", "vault") are not signed.
//
// # Verification
//
// A [Verifier] consumes the records in order and stops at the first record
// that fails, reporting it as a [*VerifyError] whose Seq names that record:
//
//	v := audit.NewVerifier(keys, "retention", "vault")
//	if err := v.Expect(audit.Checkpoint{Size: n, Head: h}); err != nil { … } // from OpenCheckpoint
//	for each stored record r, in order {
//		if err := v.Add(r); err != nil { return err } // *VerifyError
//	}
//	if err := v.Finish(); err != nil { return err }   // *VerifyError: truncation
//
// What the failing Seq means:
//   - an edited, re-signed or unsigned participant record fails itself
//     (bad signature);
//   - an edited system record cannot fail itself (nothing is signed) and
//     is reported at the next record ("prev hash does not match record k");
//   - a removed, duplicated or reordered record is reported at the position
//     where the expected sequence number is missing;
//   - a forged record inserted with a correct link is reported at the first
//     genuine record after it, whose Prev no longer matches;
//   - a record whose time is before its predecessor's fails itself.
//
// # Checkpoints and truncation
//
// A plain hash chain cannot show that its newest records were cut off.
// A [Checkpoint] — the log size and the head hash at that size — signed
// with [SignCheckpoint] as a golang.org/x/mod/sumdb/note signed note and
// kept outside the chain, closes that gap: [Verifier.Expect] makes the
// verifier compare its head when it reaches the checkpoint's size, and
// [Verifier.Finish] reports a log that ends before the checkpoint's size.
// Records appended after the newest checkpoint are protected by the chain
// (and signatures) only.
//
// # Threat model
//
// The chain plus checkpoint detects anyone who changes the stored records
// without the checkpoint signing key: edits, insertions, deletions,
// reordering and truncation of anything the checkpoint covers, and any
// change to signed participant records anywhere. It does not stop an
// insider who holds the checkpoint signing key and write access to the
// vault: they could rewrite the unsigned system records (and, with a
// participant's key, that participant's records), recompute the chain and
// sign a fresh checkpoint. Checkpoints should therefore also be copied out
// of the vault — to the participants, a second machine or a witness — so
// that a rewritten log can be compared against a checkpoint the insider
// cannot reach. Nor does the log prove that an action which was never
// recorded did not happen; the vault fails closed so that reads and shares
// without an audit record do not happen.
package audit
