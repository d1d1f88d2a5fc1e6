//! What every `/api/v1` handler shares: strict JSON bodies and query strings (an unknown
//! or malformed field is a 400/422 naming it, in the API's error shape), cursor
//! pagination, and strong ETags on reads.
//!
//! # Pagination
//!
//! Lists are ordered by a unique key (a row id). The `cursor` a page returns is the key of
//! its last item, base64url-encoded: opaque to clients, and stable under inserts (a new
//! row never shifts an already-read page, unlike offsets). `limit` is at most
//! [`MAX_LIMIT`].
//!
//! # ETags
//!
//! A read's ETag is the SHA-256 of its JSON body: strong, and equal for equal bodies
//! whichever process served them. A matching `If-None-Match` gets 304 without the body.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;

/// The most items one page holds.
pub const MAX_LIMIT: i64 = 500;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 100;

/// A JSON body, refused with the API's error shape: 400 for malformed JSON, 422 for a
/// well-formed body of the wrong shape (serde's message names the field), 415 for a
/// missing `Content-Type: application/json`.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::unprocessable(format!(
                "request body: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| e.body_text())
            ))),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::bad_request(format!(
                "request body is not valid JSON: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| e.body_text())
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(e)) => Err(ApiError::new(
                e.status(),
                "bad_body",
                format!("request body: {}", e.body_text()),
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// A query string, refused with the API's error shape (400 naming the parameter).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "query string: {}",
                    std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| e.body_text())
                ))
            })
    }
}

/// A page of a list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The page size asked for, bounded.
pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!(
            "limit: {n} is out of range (1 to {MAX_LIMIT})"
        ))),
    }
}

pub fn encode_cursor(key: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

/// The key a cursor stands for; a cursor this server did not make is a 400.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || ApiError::bad_request("cursor: not a cursor this API returned");
    if c.len() > 64 {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let s = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    s.parse::<i64>().map(Some).map_err(|_| bad())
}

/// A text key's cursor (lists keyed by name).
pub fn encode_text_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("t:{key}"))
}

pub fn decode_text_cursor(cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || ApiError::bad_request("cursor: not a cursor this API returned");
    if c.len() > 1024 {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix("t:")
        .map(|k| Some(k.to_string()))
        .ok_or_else(bad)
}

/// Cuts a list fetched with `limit + 1` rows into a page: the extra row only says
/// another page exists.
pub fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(key(r)))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// A JSON response with a strong ETag; 304 when the client's `If-None-Match` has it.
pub fn etag_json<T: Serialize>(headers: &HeaderMap, body: &T) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(e) => {
            return ApiError::internal(format!("serialising the response: {e}")).into_response()
        }
    };
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t == tag || t.strip_prefix("W/") == Some(tag.as_str())
        });
    let etag = HeaderValue::from_str(&tag).expect("hex in quotes is a header value");
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::ETAG, etag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A time in a query string: RFC 3339 or unix seconds.
pub fn parse_time(s: &str, field: &str) -> Result<i64, ApiError> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{field}: expected an RFC 3339 time or unix seconds, got `{}`",
                s.chars().take(40).collect::<String>()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(Some(&encode_cursor(42))).unwrap(), Some(42));
        assert_eq!(decode_cursor(None).unwrap(), None);
        assert!(decode_cursor(Some("!!")).is_err());
        assert!(decode_cursor(Some("aGVsbG8")).is_err());
    }

    #[test]
    fn page_says_when_more_follow() {
        let p = page(vec![1, 2, 3], 2, |x| *x);
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(decode_cursor(p.next_cursor.as_deref()).unwrap(), Some(2));
        let p = page(vec![1, 2], 2, |x| *x);
        assert!(p.next_cursor.is_none());
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(501)).is_err());
        assert_eq!(limit(Some(500)).unwrap(), 500);
    }
}
