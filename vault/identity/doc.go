// Package identity reads, writes and uses a person's key file.
//
// One file is one person. The file is a standard age identity file, so that
// `age -d -i FILE` opens everything notevault encrypts to it:
//
//   - a post-quantum hybrid key (AGE-SECRET-KEY-PQ-1…, the default for new
//     identities: notes are kept for years and harvest-now-decrypt-later is the
//     realistic threat),
//   - a classic X25519 key (AGE-SECRET-KEY-1…),
//   - an unencrypted OpenSSH ed25519 private key,
//   - or any of the age keys above, age-encrypted with a passphrase (scrypt),
//     armored, which is what the age CLI itself accepts as an encrypted
//     identity file.
//
// age keys only decrypt. Records that a person must sign (consent, acceptance
// of an agreement version, grants, disclosures, holds) are signed with an
// Ed25519 key derived from the same secret:
//
//	seed = HKDF-SHA256(ikm = secret, salt = nil, info = "notevault.v1 ed25519 signing key")[:32]
//	signing key = ed25519.NewKeyFromSeed(seed)
//
// where secret is the canonical age secret key string (AGE-SECRET-KEY-…, as
// age prints it) or, for an SSH key, its 32-byte ed25519 seed. Nothing is
// stored next to the key file: the file alone is the person.
//
// A participant registers a [PublicKey], which carries both halves and prints
// on one line as
//
//	nvk1:<base64url Ed25519 public key>:<age recipient>
//
// Secrets never appear in errors or formatted output: an [Identity] prints as
// "(redacted)" with every fmt verb, and parse errors never echo their input.
package identity
