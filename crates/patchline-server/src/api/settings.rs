//! `PATCH /api/v1/images/{digest}/settings`: an image's catalog settings, written by its owners.
//!
//! A `team` token may change only its own images (those whose catalog entries its team
//! owns) and only what a team runs itself: the contact, the Containerfile and build
//! context, build arguments and catalog labels. Moving an image to another team or tier
//! is governance: `admin` and `security` only. Each change applies to every catalog entry
//! of the image and is audited with the entries before and after, in one transaction.
//!
//! The catalog file of the server's configuration is loaded at start and declares what it
//! names: a setting changed here for a reference the file declares is replaced by the
//! file's at the next start (change the file instead for those).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use patchline_lineage::{CatalogEntry, Owner, Tier};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::ApiJson;
use crate::api::{ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::db::Tx;
use crate::params;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(update))
}

/// The settings to change; absent fields stay as they are, `null` clears an optional one.
#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The owning team's contact (an address or a channel name).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact: Option<Option<String>>,
    /// The image's Containerfile path (in its repository).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub containerfile: Option<Option<String>>,
    /// The build context directory.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub context: Option<Option<String>>,
    /// `ARG` values the image is built with (replaces the map).
    pub build_args: Option<BTreeMap<String, String>>,
    /// Catalog labels, e.g. `criticality` (replaces the map).
    pub labels: Option<BTreeMap<String, String>>,
    /// The owning team: admin and security only.
    pub team: Option<String>,
    /// `base`, `enterprise`, `application`, `builder` or `cots`: admin and security only.
    pub tier: Option<String>,
}

/// `Option<Option<T>>` that tells an absent field from `null`.
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

const MAX_TEXT: usize = 512;
const MAX_ENTRIES: usize = 64;

fn check_text(field: &str, v: &str) -> ApiResult<()> {
    if v.len() > MAX_TEXT || v.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(format!(
            "{field}: at most {MAX_TEXT} bytes, no control characters"
        )));
    }
    Ok(())
}

fn check_map(field: &str, m: &BTreeMap<String, String>) -> ApiResult<()> {
    if m.len() > MAX_ENTRIES {
        return Err(ApiError::unprocessable(format!(
            "{field}: at most {MAX_ENTRIES} entries"
        )));
    }
    for (k, v) in m {
        if k.is_empty() {
            return Err(ApiError::unprocessable(format!("{field}: empty key")));
        }
        check_text(field, k)?;
        check_text(field, v)?;
    }
    Ok(())
}

impl Settings {
    fn validate(&self, who: &Principal) -> ApiResult<Option<Tier>> {
        if (self.team.is_some() || self.tier.is_some()) && who.role == Role::Team {
            return Err(ApiError::forbidden(
                "team and tier are governance: admin or security may change them",
            ));
        }
        for (f, v) in [
            ("contact", &self.contact),
            ("containerfile", &self.containerfile),
            ("context", &self.context),
        ] {
            if let Some(Some(v)) = v {
                check_text(f, v)?;
            }
        }
        if let Some(t) = &self.team {
            if t.is_empty() {
                return Err(ApiError::unprocessable("team: empty"));
            }
            check_text("team", t)?;
        }
        if let Some(m) = &self.build_args {
            check_map("build_args", m)?;
        }
        if let Some(m) = &self.labels {
            check_map("labels", m)?;
        }
        self.tier
            .as_deref()
            .map(|t| {
                t.parse::<Tier>().map_err(|_| {
                    ApiError::unprocessable(format!(
                        "tier: base, enterprise, application, builder or cots, got `{}`",
                        t.chars().take(20).collect::<String>()
                    ))
                })
            })
            .transpose()
    }

    fn apply(&self, e: &mut CatalogEntry, tier: Option<Tier>) {
        if let Some(t) = &self.team {
            let contact = e.owner.as_ref().and_then(|o| o.contact.clone());
            e.owner = Some(Owner::new(t.clone(), contact));
        }
        // A contact belongs to an owner (`update` refuses one for an unowned image).
        if let (Some(c), Some(o)) = (&self.contact, &mut e.owner) {
            o.contact = c.clone();
        }
        if let Some(v) = &self.containerfile {
            e.containerfile = v.clone();
        }
        if let Some(v) = &self.context {
            e.context = v.clone();
        }
        if let Some(m) = &self.build_args {
            e.build_args = m.clone();
        }
        if let Some(m) = &self.labels {
            e.labels = m.clone();
        }
        if let Some(t) = tier {
            e.tier = t;
        }
    }
}

fn entries_of(tx: &mut dyn Tx, image_id: i64) -> crate::db::Result<Vec<CatalogEntry>> {
    let refs: Vec<String> = tx
        .query(
            "SELECT reference FROM catalog_entries WHERE image_id = ? ORDER BY reference",
            params![image_id],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<crate::db::Result<_>>()?;
    let mut out = Vec::new();
    for r in refs {
        if let Some(e) = crate::lineage::get_entry(tx, &r)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Changes an image's catalog settings.
#[utoipa::path(patch, path = "/api/v1/images/{digest}/settings", tag = "images",
    params(("digest" = String, Path, description = "The manifest digest (sha256:...)")),
    request_body = Settings,
    responses((status = 200, description = "The image's catalog entries after the change", body = Object),
        (status = 403, body = crate::api::error::ErrorBody), (status = 404, body = crate::api::error::ErrorBody),
        (status = 409, body = crate::api::error::ErrorBody), (status = 422, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn update(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(digest): Path<String>,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<Vec<CatalogEntry>>> {
    who.require(&[Role::Security, Role::Team])?;
    crate::api::images::check_digest(&digest)?;
    let tier = body.validate(&who)?;
    let request_id = crate::api::request_id(&headers);
    let after = s
        .db
        .run(move |tx| -> ApiResult<Vec<CatalogEntry>> {
            let id = crate::api::images::image_by_digest(tx, &digest)?;
            let before = entries_of(tx, id)?;
            if before.is_empty() {
                return Err(ApiError::not_found(format!("image {digest} has no catalog entry")));
            }
            if who.role == Role::Team {
                let mine = |e: &CatalogEntry| {
                    e.owner.as_ref().map(|o| Some(&o.team)) == Some(who.team.as_ref())
                };
                // Another team's image is not found, as on the dashboard.
                if !before.iter().any(mine) {
                    return Err(ApiError::not_found(format!("no image {digest}")));
                }
                if !before.iter().all(mine) {
                    return Err(ApiError::conflict(format!(
                        "image {digest} is catalogued under several owners: ask security to change it"
                    )));
                }
            }
            if let (Some(Some(_)), true) = (
                &body.contact,
                body.team.is_none() && before.iter().any(|e| e.owner.is_none()),
            ) {
                return Err(ApiError::unprocessable(
                    "contact: the image has no owning team to attach it to (set team)",
                ));
            }
            let mut after = before.clone();
            for e in &mut after {
                body.apply(e, tier);
                crate::lineage::put_entry(tx, e, Some(id))?;
            }
            crate::audit::record(
                tx,
                &who,
                "image.settings",
                &format!("image:{digest}"),
                Some(&before),
                Some(&after),
                request_id.as_deref(),
            )?;
            Ok(after)
        })
        .await?;
    Ok(Json(after))
}
