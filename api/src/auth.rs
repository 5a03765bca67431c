//! Bearer tokens: a TOML file of token hashes (never the tokens), roles, and what each role may do.
//!
//! A token is `garanti_` and 64 hex digits of randomness; the file keeps BLAKE3 of it. Looking a
//! token up compares its hash with every stored hash in constant time (`blake3::Hash`'s `==`).

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Appends and reads, only on streams of its municipality prefix (a caseworker system).
    Caseworker,
    /// Reads sanctions, findings and timelines, and asks the sanction check.
    Legal,
    /// Reads everything, exports, reports, verifies the chain.
    Revisor,
    /// Everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Caseworker, Role::Legal, Role::Revisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Legal => "legal",
            Role::Revisor => "revisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Append events (caseworker on its prefix, admin).
    Append,
    /// Read one case's timeline, sanctions and findings (all roles; caseworker on its prefix).
    ReadCases,
    /// Ask whether an intended sanction would be lawful (caseworker on its prefix, legal, admin).
    Check,
    /// Open deadlines and the feed (caseworker on its prefix, revisor, admin).
    Follow,
    /// Reports, exports and verification (revisor, admin).
    Audit,
    /// The rules and the chain head (every role).
    Public,
}

impl Access {
    pub fn allows(self, role: Role) -> bool {
        use Role::*;
        match self {
            Access::Append => matches!(role, Caseworker | Admin),
            Access::ReadCases | Access::Public => true,
            Access::Check => matches!(role, Caseworker | Legal | Admin),
            Access::Follow => matches!(role, Caseworker | Revisor | Admin),
            Access::Audit => matches!(role, Revisor | Admin),
        }
    }
}

/// The holder of a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id: what `appended_by` says of its appends.
    pub id: String,
    pub actor: String,
    pub role: Role,
    /// For a caseworker: the only stream prefix it may touch, e.g. `dk-101:`.
    pub prefix: Option<String>,
}

impl Principal {
    /// Refuses a role that may not do `access`.
    pub fn require(&self, access: Access) -> Result<(), ApiError> {
        if access.allows(self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "token {} has role {}, which may not do this",
                self.id,
                self.role.as_str()
            )))
        }
    }

    /// Whether this principal may see or touch `stream`.
    pub fn may_touch(&self, stream: &str) -> bool {
        match (&self.prefix, self.role) {
            (Some(p), Role::Caseworker) => stream.starts_with(p.as_str()),
            _ => true,
        }
    }

    /// Refuses a stream outside a caseworker's prefix.
    pub fn require_stream(&self, stream: &str) -> Result<(), ApiError> {
        if self.may_touch(stream) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "token {} may only touch streams starting with {:?}, not {stream}",
                self.id,
                self.prefix.as_deref().unwrap_or_default()
            )))
        }
    }
}

/// One entry of the tokens file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub id: String,
    pub actor: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `blake3:` and the hex BLAKE3 hash of the token.
    pub hash: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("cannot read the tokens file {path}: {message}")]
    Read { path: String, message: String },
    #[error("the tokens file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot write the tokens file {path}: {message}")]
    Write { path: String, message: String },
    #[error("{0}")]
    Argument(String),
}

/// The tokens the server accepts.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<(blake3::Hash, Principal)>,
}

const TOKEN_PREFIX: &str = "garanti_";

fn hash_token(token: &str) -> blake3::Hash {
    blake3::hash(token.as_bytes())
}

fn check_entry(e: &TokenEntry) -> Result<(), String> {
    if e.id.is_empty()
        || e.id.len() > 64
        || !e
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "token id {:?} must be 1 to 64 of A-Z a-z 0-9 - _ .",
            e.id
        ));
    }
    if e.actor.is_empty() || e.actor.chars().count() > 128 {
        return Err(format!("token {}: actor must be 1 to 128 characters", e.id));
    }
    match (e.role, &e.prefix) {
        (Role::Caseworker, None) => {
            return Err(format!(
                "token {}: a caseworker token needs a stream prefix, e.g. prefix = \"dk-101:\"",
                e.id
            ))
        }
        (Role::Caseworker, Some(p)) if !is_municipality_prefix(p) => {
            return Err(format!(
                "token {}: the prefix {p:?} must be a whole municipality prefix ending in `:`, e.g. \"dk-101:\" (a prefix such as \"dk-101\" would also match dk-1010: and dk-101x:)",
                e.id
            ))
        }
        (Role::Caseworker, _) => {}
        (_, Some(_)) => {
            return Err(format!(
                "token {}: only caseworker tokens have a prefix",
                e.id
            ))
        }
        (_, None) => {}
    }
    Ok(())
}

/// A whole municipality prefix of stream ids: `NAME:` with one colon, at the end.
fn is_municipality_prefix(p: &str) -> bool {
    p.strip_suffix(':').is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

impl Tokens {
    /// Reads a tokens file.
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokensError::Read {
            path: path.display().to_string(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "it does not exist; make a token with `garanti token new --role ROLE --actor ID`"
                    .into()
            } else {
                e.to_string()
            },
        })?;
        Tokens::parse(&text).map_err(|message| TokensError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Reads the text of a tokens file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let file: TokensFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::with_capacity(file.tokens.len());
        for e in file.tokens {
            check_entry(&e)?;
            let hex = e
                .hash
                .strip_prefix("blake3:")
                .ok_or_else(|| format!("token {}: hash must start with `blake3:`", e.id))?;
            let hash = blake3::Hash::from_hex(hex)
                .map_err(|_| format!("token {}: hash is not 64 hex digits", e.id))?;
            if entries
                .iter()
                .any(|(_, p): &(blake3::Hash, Principal)| p.id == e.id)
            {
                return Err(format!("token id {} is used twice", e.id));
            }
            entries.push((
                hash,
                Principal {
                    id: e.id,
                    actor: e.actor,
                    role: e.role,
                    prefix: e.prefix,
                },
            ));
        }
        Ok(Tokens { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of a presented token. Every stored hash is compared, each in constant time,
    /// so the time taken says nothing about which (or whether one) matched.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let presented = hash_token(token);
        let mut found = None;
        for (hash, principal) in &self.entries {
            if *hash == presented {
                found = Some(principal.clone());
            }
        }
        found
    }

    /// A tokens set with one entry per (token, principal), for tests and tools.
    pub fn from_pairs(pairs: &[(&str, Principal)]) -> Tokens {
        Tokens {
            entries: pairs
                .iter()
                .map(|(t, p)| (hash_token(t), p.clone()))
                .collect(),
        }
    }
}

/// A new random token.
pub fn new_token() -> Result<String, TokensError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| TokensError::Argument(format!("no randomness for a token: {e}")))?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        ledger::interchange::to_hex(&bytes)
    ))
}

/// Makes a token, adds its hash to the tokens file (creating it, readable by its owner only) and
/// returns the token, which is never stored.
pub fn add_token(
    path: &Path,
    role: Role,
    actor: &str,
    prefix: Option<&str>,
    id: Option<&str>,
) -> Result<(String, TokenEntry), TokensError> {
    let mut file: TokensFile = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| TokensError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokensFile::default(),
        Err(e) => {
            return Err(TokensError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    let token = new_token()?;
    let id = match id {
        Some(id) => id.to_owned(),
        None => format!("tok-{}", &blake3::hash(token.as_bytes()).to_hex()[..12]),
    };
    if file.tokens.iter().any(|t| t.id == id) {
        return Err(TokensError::Argument(format!(
            "token id {id} is in the file already; choose another --id"
        )));
    }
    let entry = TokenEntry {
        id,
        actor: actor.to_owned(),
        role,
        prefix: prefix.map(str::to_owned),
        hash: format!("blake3:{}", hash_token(&token).to_hex()),
    };
    check_entry(&entry).map_err(TokensError::Argument)?;
    file.tokens.push(entry.clone());
    let text = format!(
        "# Garanti API tokens: BLAKE3 hashes only, never the tokens. Add with `garanti token new`;\n# remove a token by deleting its entry and restarting `garanti serve`.\n\n{}",
        toml::to_string(&file).map_err(|e| TokensError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        })?
    );
    write_private(path, &text).map_err(|e| TokensError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok((token, entry))
}

/// Writes a file readable by its owner only, replacing it atomically.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_authenticates_and_its_hash_only_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let (token, entry) = add_token(
            &path,
            Role::Caseworker,
            "system:sag-101",
            Some("dk-101:"),
            None,
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&token),
            "the token itself must not be stored"
        );
        assert!(text.contains(&entry.hash));
        let tokens = Tokens::load(&path).unwrap();
        let p = tokens.authenticate(&token).unwrap();
        assert_eq!(p.role, Role::Caseworker);
        assert_eq!(p.prefix.as_deref(), Some("dk-101:"));
        assert!(tokens.authenticate("garanti_00").is_none());
        assert!(tokens.authenticate(&token[..token.len() - 1]).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o077,
                0,
                "tokens file must not be readable by others"
            );
        }
        // A second token is added beside the first.
        let (second, _) = add_token(&path, Role::Revisor, "revisor-1", None, Some("rev")).unwrap();
        let tokens = Tokens::load(&path).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens.authenticate(&second).unwrap().id, "rev");
        assert!(add_token(&path, Role::Revisor, "x", None, Some("rev")).is_err());
    }

    #[test]
    fn bad_entries_are_refused_with_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        let err = add_token(&path, Role::Caseworker, "a", None, None).unwrap_err();
        assert!(err.to_string().contains("needs a stream prefix"), "{err}");
        let err = add_token(&path, Role::Legal, "a", Some("dk-1:"), None).unwrap_err();
        assert!(err.to_string().contains("only caseworker"), "{err}");
        // Only a whole municipality prefix: `dk-101` would also match dk-1010: and dk-101x:.
        for bad in ["dk-101", "", ":", "dk-101:c-", "dk:101:", "dk 101:"] {
            let err = add_token(&path, Role::Caseworker, "a", Some(bad), None).unwrap_err();
            assert!(
                err.to_string().contains("whole municipality prefix"),
                "{bad}: {err}"
            );
        }
        assert!(add_token(&path, Role::Caseworker, "a", Some("dk-101:"), None).is_ok());
        // A tokens file written before with such a prefix is refused as the server starts.
        let err = Tokens::parse(
            "[[tokens]]\nid = \"a\"\nactor = \"b\"\nrole = \"caseworker\"\nprefix = \"dk-101\"\nhash = \"blake3:0000000000000000000000000000000000000000000000000000000000000000\"\n",
        )
        .unwrap_err();
        assert!(err.contains("whole municipality prefix"), "{err}");
        let err = Tokens::parse(
            "[[tokens]]\nid = \"a\"\nactor = \"b\"\nrole = \"boss\"\nhash = \"blake3:00\"\n",
        )
        .unwrap_err();
        assert!(err.contains("boss"), "{err}");
        let err = Tokens::parse(
            "[[tokens]]\nid = \"a\"\nactor = \"b\"\nrole = \"legal\"\nhash = \"md5:00\"\n",
        )
        .unwrap_err();
        assert!(err.contains("blake3:"), "{err}");
        let err = Tokens::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(err.to_string().contains("garanti token new"), "{err}");
    }

    #[test]
    fn every_role_is_checked_against_every_access() {
        use Access::*;
        let expect =
            |a: Access| -> Vec<Role> { Role::ALL.into_iter().filter(|r| a.allows(*r)).collect() };
        assert_eq!(expect(Append), vec![Role::Caseworker, Role::Admin]);
        assert_eq!(expect(ReadCases), Role::ALL.to_vec());
        assert_eq!(
            expect(Check),
            vec![Role::Caseworker, Role::Legal, Role::Admin]
        );
        assert_eq!(
            expect(Follow),
            vec![Role::Caseworker, Role::Revisor, Role::Admin]
        );
        assert_eq!(expect(Audit), vec![Role::Revisor, Role::Admin]);
        assert_eq!(expect(Public), Role::ALL.to_vec());
    }
}
