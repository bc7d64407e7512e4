//! API tokens: who may call the review service and in which role.
//!
//! A token is `mh_<id>_<secret>`: a public 8-byte id to find its record and a
//! 256-bit random secret. Only a salted SHA-256 of the secret is stored. A slow
//! password hash (argon2) protects low-entropy passwords from guessing; a 256-bit
//! random secret cannot be guessed, so a fast hash is enough and keeps every API call
//! cheap. Comparison is constant-time.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::model::now;
use super::ReviewError;
use crate::db::trees::TOKENS;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May post listings, nothing else.
    Ingest,
    /// May read the queue and move findings.
    Reviewer,
    /// May do everything.
    Admin,
    /// A trusted flagger (DSA Article 22): may file notices, which are handled
    /// with priority; nothing else.
    Flagger,
}

/// What a caller wants to do, for [`Role::may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Post listings.
    Ingest,
    /// Read findings, sellers, notices and the audit log.
    Read,
    /// Move findings through the workflow.
    Transition,
    /// Create, list and revoke tokens.
    Manage,
    /// File a notice as a trusted flagger.
    Flag,
}

impl Role {
    /// Whether this role grants `p`.
    pub fn may(self, p: Permission) -> bool {
        match self {
            Role::Admin => true,
            Role::Ingest => p == Permission::Ingest,
            Role::Reviewer => matches!(p, Permission::Read | Permission::Transition),
            Role::Flagger => p == Permission::Flag,
            // Managing tokens is the admin's alone.
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
            Role::Flagger => "flagger",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "ingest" => Ok(Role::Ingest),
            "reviewer" => Ok(Role::Reviewer),
            "admin" => Ok(Role::Admin),
            "flagger" => Ok(Role::Flagger),
            _ => Err(format!(
                "unknown role {s:?}; expected ingest, reviewer, admin or flagger"
            )),
        }
    }
}

/// A stored token: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Who holds it; recorded as the actor of every change made with it.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Random salt, hex.
    pub salt: String,
    /// SHA-256 of salt and secret, hex.
    pub hash: String,
    /// When it was created (UTC, RFC 3339).
    pub created_at: String,
}

/// A token as listed: its public id and record, never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The public id (the part after `mh_`), used to revoke it.
    pub id: String,
    /// Who holds it.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was created (UTC, RFC 3339).
    pub created_at: String,
}

/// The public id of a token string (`mh_<id>_<secret>`), if it has that shape.
pub fn token_id(token: &str) -> Option<&str> {
    token
        .trim()
        .strip_prefix("mh_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
}

/// The token store.
#[derive(Debug, Clone)]
pub struct Tokens {
    tree: sled::Tree,
}

fn digest(salt: &[u8], secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret);
    h.finalize().into()
}

/// The longest token name accepted.
pub const MAX_NAME: usize = 100;

impl Tokens {
    /// Opens the token tree of `db`.
    pub fn open(db: &sled::Db) -> Result<Tokens, ReviewError> {
        Ok(Tokens {
            tree: db.open_tree(TOKENS)?,
        })
    }

    /// Creates a token for `name` in `role` and returns it; this is the only time
    /// the secret exists outside the caller's hands.
    pub fn create(&self, name: &str, role: Role) -> Result<String, ReviewError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(ReviewError::BadInput(format!(
                "token name: must be 1 to {MAX_NAME} characters without control characters"
            )));
        }
        let mut rng = rand::rng();
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut id);
        rng.fill_bytes(&mut secret);
        rng.fill_bytes(&mut salt);
        let id = hex::encode(id);
        let secret = hex::encode(secret);
        let record = TokenRecord {
            name: name.to_owned(),
            role,
            salt: hex::encode(salt),
            hash: hex::encode(digest(&salt, secret.as_bytes())),
            created_at: now(),
        };
        let json = serde_json::to_vec(&record).expect("a token record serializes");
        self.tree.insert(id.as_bytes(), json)?;
        self.tree.flush()?;
        Ok(format!("mh_{id}_{secret}"))
    }

    /// Every token, sorted by id.
    pub fn list(&self) -> Result<Vec<TokenInfo>, ReviewError> {
        self.tree
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                let id = String::from_utf8_lossy(&key).into_owned();
                let record: TokenRecord =
                    serde_json::from_slice(&value).map_err(|source| ReviewError::Damaged {
                        tree: TOKENS,
                        key: id.clone(),
                        source,
                    })?;
                Ok(TokenInfo {
                    id,
                    name: record.name,
                    role: record.role,
                    created_at: record.created_at,
                })
            })
            .collect()
    }

    /// Revokes the token with public id `id` (or the token string itself); `false`
    /// when there was none. Takes effect at once: every API call and every web
    /// session checks the token's record.
    pub fn revoke(&self, id: &str) -> Result<bool, ReviewError> {
        let id = token_id(id).unwrap_or(id.trim());
        let removed = self.tree.remove(id.as_bytes())?.is_some();
        self.tree.flush()?;
        Ok(removed)
    }

    /// Whether the token with public id `id` still exists (not revoked).
    pub fn exists(&self, id: &str) -> Result<bool, ReviewError> {
        Ok(self.tree.contains_key(id.as_bytes())?)
    }

    /// The record of `token` when it is valid.
    pub fn verify(&self, token: &str) -> Result<Option<TokenRecord>, ReviewError> {
        let Some((id, secret)) = token
            .strip_prefix("mh_")
            .and_then(|rest| rest.split_once('_'))
        else {
            return Ok(None);
        };
        let Some(bytes) = self.tree.get(id.as_bytes())? else {
            return Ok(None);
        };
        let record: TokenRecord =
            serde_json::from_slice(&bytes).map_err(|source| ReviewError::Damaged {
                tree: TOKENS,
                key: id.to_owned(),
                source,
            })?;
        let (Ok(salt), Ok(hash)) = (hex::decode(&record.salt), hex::decode(&record.hash)) else {
            return Ok(None);
        };
        let ok: bool = digest(&salt, secret.as_bytes())
            .ct_eq(hash.as_slice())
            .into();
        Ok(ok.then_some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_issue_says() {
        use Permission::*;
        assert!(Role::Ingest.may(Ingest));
        assert!(!Role::Ingest.may(Read) && !Role::Ingest.may(Transition));
        assert!(Role::Reviewer.may(Read) && Role::Reviewer.may(Transition));
        assert!(!Role::Reviewer.may(Ingest));
        assert!([Ingest, Read, Transition]
            .iter()
            .all(|p| Role::Admin.may(*p)));
    }

    #[test]
    fn a_created_token_verifies_and_a_tampered_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let tokens = Tokens::open(&db).unwrap();
        let token = tokens.create("ana", Role::Reviewer).unwrap();
        let record = tokens.verify(&token).unwrap().expect("valid");
        assert_eq!((record.name.as_str(), record.role), ("ana", Role::Reviewer));
        // The secret is not stored.
        let secret = token.rsplit('_').next().unwrap();
        for entry in db.open_tree(TOKENS).unwrap().iter() {
            let (_, v) = entry.unwrap();
            assert!(!String::from_utf8_lossy(&v).contains(secret));
        }
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('0') { '1' } else { '0' });
        assert!(tokens.verify(&tampered).unwrap().is_none());
        assert!(tokens.verify("nonsense").unwrap().is_none());
        assert!(tokens.create("  ", Role::Admin).is_err());
    }

    #[test]
    fn tokens_are_listed_without_secrets_and_revoked_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let tokens = Tokens::open(&db).unwrap();
        let ana = tokens.create("ana", Role::Reviewer).unwrap();
        let bot = tokens.create("bot", Role::Ingest).unwrap();
        let listed = tokens.list().unwrap();
        assert_eq!(listed.len(), 2);
        let ana_id = token_id(&ana).unwrap();
        let info = listed.iter().find(|t| t.id == ana_id).unwrap();
        assert_eq!((info.name.as_str(), info.role), ("ana", Role::Reviewer));
        let json = serde_json::to_string(&listed).unwrap();
        assert!(!json.contains(ana.rsplit('_').next().unwrap()));
        assert!(tokens.revoke(ana_id).unwrap());
        assert!(tokens.verify(&ana).unwrap().is_none());
        assert!(!tokens.exists(ana_id).unwrap());
        assert!(!tokens.revoke(ana_id).unwrap());
        // The whole token string is accepted too.
        assert!(tokens.revoke(&bot).unwrap());
        assert!(tokens.list().unwrap().is_empty());
        assert!(!Role::Reviewer.may(Permission::Manage));
        assert!(Role::Admin.may(Permission::Manage));
    }
}
