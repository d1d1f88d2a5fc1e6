//! API tokens and roles.
//!
//! A token is `plt_` and 40 random base62 characters, shown once when created; the store
//! keeps its SHA-256 only. Requests carry it as `Authorization: Bearer plt_...`.
//!
//! Roles: `admin` (everything), `security` (read all, approve exceptions and trusted
//! images), `team` (read everything summarised, write its own images' settings and
//! exceptions), `scanner` (uploads and scan requests only), `viewer` (read only).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;
use crate::db::{now, Result, Tx};
use crate::params;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Security,
    Team,
    Scanner,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Security => "security",
            Role::Team => "team",
            Role::Scanner => "scanner",
            Role::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "security" => Ok(Role::Security),
            "team" => Ok(Role::Team),
            "scanner" => Ok(Role::Scanner),
            "viewer" => Ok(Role::Viewer),
            _ => Err(format!(
                "unknown role `{s}` (admin, security, team, scanner or viewer)"
            )),
        }
    }
}

/// Who is calling.
#[derive(Clone, Debug, Serialize)]
pub struct Principal {
    pub token_id: Option<i64>,
    /// The token's name (`ci-payments`), or `anonymous` under `--no-auth`.
    pub name: String,
    pub role: Role,
    /// The team of a `team` token.
    pub team: Option<String>,
}

impl Principal {
    /// Under `--no-auth`: an administrator named for what it is.
    pub fn no_auth() -> Principal {
        Principal {
            token_id: None,
            name: "anonymous (--no-auth)".into(),
            role: Role::Admin,
            team: None,
        }
    }

    /// Refuses unless the caller has one of `roles` (admin always has).
    pub fn require(&self, roles: &[Role]) -> std::result::Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "role {} may not do this (needs {})",
                self.role.as_str(),
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }

    /// What the audit log names the caller by.
    pub fn actor(&self) -> String {
        match self.token_id {
            Some(id) => format!("token:{id}:{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A new secret and its hash.
pub fn new_token() -> (String, String) {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..40)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let secret = format!("plt_{body}");
    let hash = hash_token(&secret);
    (secret, hash)
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Stores a new token; returns its id and the secret (shown once, never stored).
pub fn create_token(
    tx: &mut dyn Tx,
    name: &str,
    role: Role,
    team: Option<&str>,
    expires_at: Option<i64>,
    created_by: &str,
) -> Result<(i64, String)> {
    let (secret, hash) = new_token();
    let prefix: String = secret.chars().take(10).collect();
    let id = tx.query_i64(
        "INSERT INTO api_tokens (name, role, team, hash, prefix, created_at, created_by, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        params![name, role.as_str(), team, hash, prefix, now(), created_by, expires_at],
    )?;
    Ok((id, secret))
}

/// The principal a secret stands for, if it is a live token.
pub fn authenticate(tx: &mut dyn Tx, secret: &str) -> Result<Option<Principal>> {
    let hash = hash_token(secret);
    let t = now();
    let Some(row) = tx.query_opt(
        "SELECT id, name, role, team FROM api_tokens
         WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
        params![hash, t],
    )?
    else {
        return Ok(None);
    };
    let role = row.str(2)?.parse().unwrap_or(Role::Viewer);
    Ok(Some(Principal {
        token_id: Some(row.i64(0)?),
        name: row.string(1)?,
        role,
        team: row.opt_string(3)?,
    }))
}

/// The bearer token of a request, from `Authorization: Bearer ...`.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Principal, ApiError> {
        if state.no_auth {
            return Ok(Principal::no_auth());
        }
        let Some(secret) = bearer(parts).map(str::to_string) else {
            return Err(ApiError::unauthorized(
                "missing API token (Authorization: Bearer plt_...)",
            ));
        };
        let found = state
            .db
            .run_read(move |tx| authenticate(tx, &secret))
            .await?;
        found.ok_or_else(|| ApiError::unauthorized("unknown, expired or revoked API token"))
    }
}
