//! Signed notes (C2SP signed-note), checkpoints (C2SP tlog-checkpoint) and cosignatures (C2SP
//! tlog-cosignature/v1), with Ed25519 keys in the text forms of Go's `golang.org/x/mod/sumdb/note`.
//! Pure: key files are read and written by the caller.
//!
//! - verifier key: `NAME+HHHHHHHH+BASE64(type ‖ public key)`;
//! - signer key: `PRIVATE+KEY+NAME+HHHHHHHH+BASE64(type ‖ seed)`;
//! - key hash `HHHHHHHH`: the first 4 bytes of SHA-256(NAME ‖ "\n" ‖ type ‖ public key);
//! - type 0x01: a log's Ed25519 key signing notes; 0x04: a witness's key making cosignatures;
//! - a note: its text (ending in "\n"), a blank line, then lines `— NAME BASE64(key hash ‖ signature)`.

use crate::merkle::TreeHash;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Key type of an Ed25519 note signature (a log's key).
pub const ALG_ED25519: u8 = 0x01;
/// Key type of a tlog-cosignature/v1 (a witness's key).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The em dash and space that start a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// What is wrong with a key, a note or a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("{0}")]
    Key(String),
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("the note carries no valid signature by {0}")]
    Unverified(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// Whether `name` may name a key: not empty, no whitespace, no `+` (signed-note).
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::Key(format!(
            "{name:?} cannot name a key: it must be non-empty, without spaces and without '+' (e.g. jobcenter.example.dk/garanti)"
        )));
    }
    Ok(())
}

/// The key hash of a public key under a name.
pub fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn with_alg(alg: u8, key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(alg);
    bytes.extend_from_slice(key);
    B64.encode(bytes)
}

/// `NAME+HHHHHHHH+BASE64` split and checked; returns the name, key hash, type and 32 key bytes.
fn split_key(text: &str, what: &str) -> Result<(String, u32, u8, [u8; 32]), NoteError> {
    let bad = |why: &str| NoteError::Key(format!("not a {what} ({why}): {text:?}"));
    // The name holds no '+', the base64 key may: split from the left.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(hash), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected NAME+HASH+KEY"));
    };
    check_name(name)?;
    if hash.len() != 8 {
        return Err(bad("the key hash is not 8 hex digits"));
    }
    let id = u32::from_str_radix(hash, 16).map_err(|_| bad("the key hash is not hex"))?;
    let bytes = B64.decode(b64).map_err(|_| bad("the key is not base64"))?;
    let (alg, key) = bytes.split_first().ok_or_else(|| bad("the key is empty"))?;
    let key: [u8; 32] = key.try_into().map_err(|_| bad("the key is not 32 bytes"))?;
    Ok((name.to_owned(), id, *alg, key))
}

/// A key that signs: a log's (type 0x01) or a witness's (type 0x04).
pub struct NoteSigner {
    name: String,
    alg: u8,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    /// The name and key hash only: the key itself is secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.id())
    }
}

impl NoteSigner {
    /// A new key from the operating system's randomness.
    pub fn generate(name: &str, alg: u8) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Random(e.to_string()))?;
        Ok(NoteSigner {
            name: name.to_owned(),
            alg,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads `PRIVATE+KEY+NAME+HHHHHHHH+BASE64(type ‖ seed)`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::Key("a signing key file starts with PRIVATE+KEY+".into()))?;
        let (name, id, alg, seed) = split_key(rest, "signing key")?;
        let signer = NoteSigner {
            name,
            alg,
            key: SigningKey::from_bytes(&seed),
        };
        if signer.id() != id {
            return Err(NoteError::Key(format!(
                "the signing key's hash {id:08x} does not match its name and key ({:08x}): the file is damaged",
                signer.id()
            )));
        }
        Ok(signer)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn alg(&self) -> u8 {
        self.alg
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, self.alg, self.key.verifying_key().as_bytes())
    }

    /// The key file's text (keep it secret).
    pub fn private_text(&self) -> String {
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}\n",
            self.name,
            self.id(),
            with_alg(self.alg, self.key.as_bytes())
        )
    }

    /// The verifier key, to hand to whoever checks signatures.
    pub fn verifier_key(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id(),
            with_alg(self.alg, self.key.verifying_key().as_bytes())
        )
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            alg: self.alg,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line of `text` (a note's text; type 0x01 keys).
    pub fn sign_line(&self, text: &str) -> String {
        let mut sig = self.id().to_be_bytes().to_vec();
        sig.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(sig))
    }

    /// Signs `text` as a note: the text, a blank line, the signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        Ok(format!("{text}\n{}", self.sign_line(text)))
    }

    /// A tlog-cosignature/v1 line over a checkpoint's text, at `timestamp` (seconds since 1970).
    pub fn cosign_line(&self, checkpoint_text: &str, timestamp: u64) -> String {
        let message = cosigned_message(checkpoint_text, timestamp);
        let mut sig = self.id().to_be_bytes().to_vec();
        sig.extend_from_slice(&timestamp.to_be_bytes());
        sig.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(sig))
    }
}

/// What a cosignature/v1 signs.
fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// A note's text must end in a newline and hold no other control character.
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed(
            "its text does not end in a newline".into(),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed(
            "its text holds a control character".into(),
        ));
    }
    Ok(())
}

/// A public key that checks signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    alg: u8,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Reads a verifier key `NAME+HHHHHHHH+BASE64(type ‖ public key)`.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let (name, id, alg, key) = split_key(text, "verifier key")?;
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::Key(format!(
                "verifier key of unknown type {alg:#04x}: {text:?}"
            )));
        }
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| NoteError::Key(format!("not an Ed25519 public key: {text:?}")))?;
        let v = NoteVerifier { name, alg, key };
        if v.id() != id {
            return Err(NoteError::Key(format!(
                "the verifier key's hash {id:08x} does not match its name and key ({:08x}): {text:?}",
                v.id()
            )));
        }
        Ok(v)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, self.alg, self.key.as_bytes())
    }

    /// Whether `sig` (from a signature line of this key) signs `text`.
    fn verifies(&self, text: &str, sig: &[u8]) -> bool {
        match self.alg {
            ALG_ED25519 => {
                ed_sig(sig).is_some_and(|s| self.key.verify_strict(text.as_bytes(), &s).is_ok())
            }
            _ => {
                let Some((ts, rest)) = sig.split_first_chunk::<8>() else {
                    return false;
                };
                let message = cosigned_message(text, u64::from_be_bytes(*ts));
                ed_sig(rest).is_some_and(|s| self.key.verify_strict(message.as_bytes(), &s).is_ok())
            }
        }
    }
}

fn ed_sig(bytes: &[u8]) -> Option<ed25519_dalek::Signature> {
    let bytes: [u8; 64] = bytes.try_into().ok()?;
    Some(ed25519_dalek::Signature::from_bytes(&bytes))
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key hash (for a cosignature: timestamp ‖ signature).
    pub bytes: Vec<u8>,
    /// The line as it was written, with its newline.
    pub line: String,
}

impl Signature {
    /// A cosignature's timestamp (seconds), if the signature is shaped like one.
    pub fn timestamp(&self) -> Option<u64> {
        (self.bytes.len() == 72)
            .then(|| {
                self.bytes
                    .first_chunk::<8>()
                    .map(|t| u64::from_be_bytes(*t))
            })
            .flatten()
    }
}

/// A signed note, split into its text and signature lines (not yet checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<Signature>,
}

impl Note {
    pub fn parse(note: &str) -> Result<Note, NoteError> {
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
        let text = &note[..=split];
        check_text(text)?;
        let sigs = &note[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("it does not end in a newline".into()));
        }
        let signatures = sigs
            .split_inclusive('\n')
            .map(parse_signature_line)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() {
            return Err(NoteError::Malformed("it has no signature".into()));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note, checked: it must carry a valid signature by `verifier`.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Note, NoteError> {
        let parsed = Note::parse(note)?;
        if parsed.signed_by(verifier).is_none() {
            return Err(NoteError::Unverified(format!(
                "{}+{:08x}",
                verifier.name,
                verifier.id()
            )));
        }
        Ok(parsed)
    }

    /// The signature by `verifier` that checks out, if any.
    pub fn signed_by(&self, verifier: &NoteVerifier) -> Option<&Signature> {
        self.signatures.iter().find(|s| {
            s.name == verifier.name
                && s.key_id == verifier.id()
                && verifier.verifies(&self.text, &s.bytes)
        })
    }

    /// The note as text: its text, a blank line, its signature lines.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.text);
        for s in &self.signatures {
            out.push_str(&s.line);
        }
        out
    }
}

fn parse_signature_line(line: &str) -> Result<Signature, NoteError> {
    let bad = || NoteError::Malformed(format!("not a signature line: {:?}", line.trim_end()));
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .and_then(|l| l.strip_suffix('\n'))
        .ok_or_else(bad)?;
    let (name, b64) = rest.split_once(' ').ok_or_else(bad)?;
    check_name(name).map_err(|_| bad())?;
    let bytes = B64.decode(b64).map_err(|_| bad())?;
    let (id, sig) = bytes.split_first_chunk::<4>().ok_or_else(bad)?;
    Ok(Signature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(*id),
        bytes: sig.to_vec(),
        line: line.to_owned(),
    })
}

/// A checkpoint (C2SP tlog-checkpoint): the log's origin, its tree size and root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: TreeHash,
}

impl Checkpoint {
    /// The note text: `ORIGIN\nSIZE\nBASE64(ROOT)\n`.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Reads a checkpoint's text (extension lines after the root are allowed and ignored).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let bad = |why: &str| NoteError::Checkpoint(why.to_owned());
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin line"))?;
        let size = lines.next().ok_or_else(|| bad("no size line"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad(&format!("the size {size:?} is not a decimal number")));
        }
        let size = size.parse().map_err(|_| bad("the size is too large"))?;
        let root = lines.next().ok_or_else(|| bad("no root line"))?;
        let root: TreeHash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad(&format!("the root {root:?} is not 32 bytes of base64")))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Opens a signed checkpoint: the note's signature by `verifier`, and its text as a
    /// checkpoint whose origin is the key's name.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<(Checkpoint, Note), NoteError> {
        let opened = Note::open(note, verifier)?;
        let checkpoint = Checkpoint::parse(&opened.text)?;
        if checkpoint.origin != verifier.name {
            return Err(NoteError::Checkpoint(format!(
                "its origin {:?} is not the key's name {:?}",
                checkpoint.origin, verifier.name
            )));
        }
        Ok((checkpoint, opened))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner {
            name: "example.com/log".into(),
            alg: ALG_ED25519,
            key: SigningKey::from_bytes(&[7u8; 32]),
        }
    }

    #[test]
    fn keys_round_trip_and_their_hash_is_checked() {
        // Keys whose base64 holds '+' (as about half of all do) round-trip too.
        for seed in 0..32u8 {
            let s = NoteSigner {
                key: SigningKey::from_bytes(&[seed; 32]),
                ..signer()
            };
            let again = NoteSigner::parse(&s.private_text()).unwrap();
            assert_eq!(again.verifier_key(), s.verifier_key());
            assert_eq!(
                NoteVerifier::parse(&s.verifier_key()).unwrap(),
                s.verifier()
            );
        }
        let s = signer();
        let again = NoteSigner::parse(&s.private_text()).unwrap();
        assert_eq!(again.verifier_key(), s.verifier_key());
        let v = NoteVerifier::parse(&s.verifier_key()).unwrap();
        assert_eq!(v, s.verifier());
        // Another name with the same key: the hash no longer matches.
        let forged = s
            .verifier_key()
            .replacen("example.com/log", "example.com/lug", 1);
        assert!(NoteVerifier::parse(&forged).is_err());
        assert!(NoteSigner::generate("has space", ALG_ED25519).is_err());
        assert!(NoteSigner::generate("a+b", ALG_ED25519).is_err());
    }

    #[test]
    fn a_signed_checkpoint_opens_and_any_change_breaks_it() {
        let s = signer();
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 12,
            root: [9u8; 32],
        };
        let note = s.sign(&cp.text()).unwrap();
        let (opened, _) = Checkpoint::open(&note, &s.verifier()).unwrap();
        assert_eq!(opened, cp);
        let changed = note.replacen("\n12\n", "\n13\n", 1);
        assert!(matches!(
            Checkpoint::open(&changed, &s.verifier()),
            Err(NoteError::Unverified(_))
        ));
        let other = NoteSigner {
            key: SigningKey::from_bytes(&[8u8; 32]),
            ..signer()
        };
        assert!(Checkpoint::open(&note, &other.verifier()).is_err());
    }

    #[test]
    fn a_cosignature_verifies_with_the_witness_key_only() {
        let w = NoteSigner {
            name: "witness.example".into(),
            alg: ALG_COSIGNATURE_V1,
            key: SigningKey::from_bytes(&[3u8; 32]),
        };
        let text = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = format!("{text}\n{}", w.cosign_line(text, 1_700_000_000));
        let parsed = Note::open(&note, &w.verifier()).unwrap();
        assert_eq!(parsed.signatures[0].timestamp(), Some(1_700_000_000));
        let moved = note.replacen("\n5\n", "\n6\n", 1);
        assert!(Note::open(&moved, &w.verifier()).is_err());
    }

    #[test]
    fn malformed_notes_are_refused() {
        assert!(Note::parse("text\n").is_err());
        assert!(Note::parse("text\n\nno dash\n").is_err());
        assert!(Note::parse("text\n\n\u{2014} name !!!\n").is_err());
        assert!(Checkpoint::parse("origin\n012\nAAAA\n").is_err());
    }
}
