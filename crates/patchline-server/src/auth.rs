//! API tokens and roles.
//!
//! A token is `plt_` and 40 random base62 characters, shown once when created; the store
//! keeps its SHA-256 only. Requests carry it as `Authorization: Bearer plt_...`.
//!
//! Tokens may expire (`expires_at`) and be revoked; either makes every later request
//! with them a 401. `last_used_at` is written at most once a minute per token, so a busy
//! client costs a write a minute, not one per request.
//!
//! On first start with authentication on and no live admin token, [`bootstrap`] creates
//! one and writes its secret to `<data_dir>/admin-token` (mode 0600); the log names the
//! file only.
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

    /// Refuses the `scanner` role: every read of findings, images and the hierarchy.
    pub fn require_read(&self) -> std::result::Result<(), ApiError> {
        self.require(&[Role::Security, Role::Team, Role::Viewer])
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

/// How often `last_used_at` is written, at most.
const LAST_USED_EVERY: i64 = 60;

/// The principal a secret stands for, if it is a live token, and whether its
/// `last_used_at` is older than [`LAST_USED_EVERY`] (the caller then calls [`touch`]).
pub fn authenticate(tx: &mut dyn Tx, secret: &str) -> Result<Option<(Principal, bool)>> {
    let hash = hash_token(secret);
    let t = now();
    let Some(row) = tx.query_opt(
        "SELECT id, name, role, team, last_used_at FROM api_tokens
         WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
        params![hash, t],
    )?
    else {
        return Ok(None);
    };
    let role = row.str(2)?.parse().unwrap_or(Role::Viewer);
    let stale = row.opt_i64(4)?.is_none_or(|u| u + LAST_USED_EVERY <= t);
    Ok(Some((
        Principal {
            token_id: Some(row.i64(0)?),
            name: row.string(1)?,
            role,
            team: row.opt_string(3)?,
        },
        stale,
    )))
}

/// Notes a token's use (see [`authenticate`]).
pub fn touch(tx: &mut dyn Tx, token_id: i64) -> Result<()> {
    tx.exec(
        "UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
        params![now(), token_id],
    )?;
    Ok(())
}

/// The file the bootstrap admin token is written to.
pub const BOOTSTRAP_FILE: &str = "admin-token";

/// On a store with authentication on and no live admin token: creates one named
/// `bootstrap-admin` and writes its secret to `<data_dir>/admin-token` (mode 0600, made
/// before the secret is written). Returns the file's path when it made one. Call once at
/// start, before serving.
pub fn bootstrap(server: &crate::state::Server) -> anyhow::Result<Option<std::path::PathBuf>> {
    use anyhow::Context;
    if server.no_auth {
        return Ok(None);
    }
    let path = server.data_dir.join(BOOTSTRAP_FILE);
    let made = server.db.tx(|tx| -> Result<Option<String>> {
        let live = tx.query_i64(
            "SELECT COUNT(*) FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > ?)",
            params![now()],
        )?;
        if live > 0 {
            return Ok(None);
        }
        let (id, secret) =
            create_token(tx, "bootstrap-admin", Role::Admin, None, None, "bootstrap")?;
        let who = Principal {
            token_id: None,
            name: "bootstrap".into(),
            role: Role::Admin,
            team: None,
        };
        crate::audit::record(
            tx,
            &who,
            "token.create",
            &format!("token:{id}"),
            None::<&()>,
            Some(&serde_json::json!({"id": id, "name": "bootstrap-admin", "role": "admin"})),
            None,
        )?;
        Ok(Some(secret))
    })?;
    let Some(secret) = made else { return Ok(None) };
    std::fs::create_dir_all(&server.data_dir)
        .with_context(|| format!("creating {}", server.data_dir.display()))?;
    write_private(&path, &format!("{secret}\n"))
        .with_context(|| format!("writing the bootstrap admin token to {}", path.display()))?;
    tracing::warn!(file = %path.display(), "no admin token: created one, its secret is in the file (read it, then delete the file)");
    Ok(Some(path))
}

/// Writes a secret to a file only its owner can read; the mode is set when the file is
/// created, so the secret is never readable by others, even for an instant.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
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
        if secret.len() > 200 {
            return Err(ApiError::unauthorized(
                "unknown, expired or revoked API token",
            ));
        }
        let found = state
            .db
            .run_read(move |tx| authenticate(tx, &secret))
            .await?;
        let (who, stale) =
            found.ok_or_else(|| ApiError::unauthorized("unknown, expired or revoked API token"))?;
        if let (true, Some(id)) = (stale, who.token_id) {
            // Best effort: a failed note of use must not fail the request.
            if let Err(e) = state.db.run(move |tx| touch(tx, id)).await {
                tracing::warn!(error = %e, token = id, "recording a token's use");
            }
        }
        Ok(who)
    }
}
