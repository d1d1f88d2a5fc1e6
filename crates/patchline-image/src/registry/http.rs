//! One HTTP exchange with a registry: one client per registry, manual redirects (so
//! credentials never follow a request to another host), retries with backoff within one
//! deadline per operation, registry error bodies and `Link` pagination headers. Knows
//! nothing of authentication: the caller passes the `Authorization` value
//! ([`super::auth`] computes it).

use std::time::Duration;

use patchline_http::{Deadline, Method, Response};
use serde::Deserialize;
use url::Url;

use crate::error::{ImageError, Result};
use crate::source::RegistryOptions;

pub(crate) const USER_AGENT: &str = concat!("patchline/", env!("CARGO_PKG_VERSION"));
const MAX_REDIRECTS: usize = 5;
const MAX_ERROR_BODY: u64 = 64 << 10;
/// Backoff before retry n is BASE·2ⁿ, capped; a server's Retry-After is honoured up to
/// the cap so a rate-limited scan waits a little but never stalls for minutes.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// What one attempt of a request came to.
pub(crate) enum Step<T> {
    Done(T),
    /// A transient failure; retried while attempts remain.
    Retry {
        reason: String,
        wait: Option<Duration>,
    },
    /// Try again at once without spending an attempt (after authenticating).
    Again,
}

impl<T> Step<T> {
    /// The step with its result, if any, transformed.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Done(v) => Step::Done(f(v)),
            Step::Retry { reason, wait } => Step::Retry { reason, wait },
            Step::Again => Step::Again,
        }
    }

    /// [`Step::map`] with a transformation that may fail.
    pub(crate) fn try_map<U>(self, f: impl FnOnce(T) -> Result<U>) -> Result<Step<U>> {
        Ok(match self {
            Step::Done(v) => Step::Done(f(v)?),
            Step::Retry { reason, wait } => Step::Retry { reason, wait },
            Step::Again => Step::Again,
        })
    }
}

/// Failure of one HTTP exchange.
pub(crate) enum ExchangeError {
    /// What failed, and whether another attempt may succeed.
    Transport(String, bool),
    Fatal(ImageError),
}

impl ExchangeError {
    fn from_http(method: &str, e: patchline_http::Error) -> ExchangeError {
        let hint = match e.kind {
            patchline_http::ErrorKind::NotTls => {
                " (the server did not answer TLS: if this registry speaks plain HTTP, use --insecure)"
            }
            _ => "",
        };
        let retry = e.retryable();
        ExchangeError::Transport(format!("{method} {}{hint}", e.message), retry)
    }
}

impl ExchangeError {
    /// Retryable transport failures become a retry, others end the request.
    pub(crate) fn into_step<T>(self, registry: &str) -> Result<Step<T>> {
        match self {
            ExchangeError::Transport(reason, true) => Ok(Step::Retry { reason, wait: None }),
            ExchangeError::Transport(reason, false) => Err(ImageError::Registry {
                registry: registry.to_string(),
                reason,
            }),
            ExchangeError::Fatal(e) => Err(e),
        }
    }
}

/// The HTTP side of a registry: where it is and how to reach it.
pub(crate) struct Http {
    client: patchline_http::Client,
    /// `host[:port]` as the reference names it (for messages and credential lookup).
    pub(crate) registry: String,
    /// `scheme://host[:port]/`.
    pub(crate) base: Url,
    pub(crate) insecure: bool,
    retries: u32,
    pub(crate) limits: patchline_http::Limits,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Validates `host[:port]` so that it cannot smuggle a path, user info or query into
/// the URLs built from it.
fn check_host(registry: &str) -> std::result::Result<(), String> {
    let ok = !registry.is_empty()
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid registry host {registry:?}"))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for registries and ignored).
pub(crate) fn retry_after(resp: &Response) -> Option<Duration> {
    resp.header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(BACKOFF_CAP.as_secs())))
}

fn backoff(attempt: u32, hint: Option<Duration>) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.min(16));
    exp.max(hint.unwrap_or_default()).min(BACKOFF_CAP)
}

fn origin(u: &Url) -> (String, Option<String>, Option<u16>) {
    (
        u.scheme().to_string(),
        u.host_str().map(str::to_ascii_lowercase),
        u.port_or_known_default(),
    )
}

impl Http {
    pub(crate) fn new(registry: &str, opts: &RegistryOptions) -> Result<Http> {
        check_host(registry).map_err(|reason| ImageError::Registry {
            registry: registry.to_string(),
            reason,
        })?;
        let scheme = if opts.insecure { "http" } else { "https" };
        let base =
            Url::parse(&format!("{scheme}://{registry}/")).map_err(|e| ImageError::Registry {
                registry: registry.to_string(),
                reason: format!("invalid registry address: {e}"),
            })?;
        let limits = opts.limits();
        let client = patchline_http::Client::new(&patchline_http::Config {
            user_agent: USER_AGENT.to_string(),
            https_only: !opts.insecure,
            // As docker and skopeo: registries are reached directly.
            proxy_from_env: false,
            follow_redirects: false,
            limits,
        })
        .map_err(|e| ImageError::Registry {
            registry: registry.to_string(),
            reason: e.message,
        })?;
        Ok(Http {
            client,
            registry: registry.to_string(),
            base,
            insecure: opts.insecure,
            retries: opts.retries,
            limits,
        })
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|e| ImageError::Registry {
            registry: self.registry.clone(),
            reason: format!("cannot build URL for {path:?}: {e}"),
        })
    }

    /// A deadline for one operation, retries included (`--timeout`).
    pub(crate) fn deadline(&self) -> Deadline {
        self.limits.deadline()
    }

    /// One request with redirects followed by hand: `Authorization` is kept only while
    /// the request stays on the origin it was meant for (blob downloads are commonly
    /// redirected to a storage host that must not see registry credentials). The answer's
    /// head must arrive by `deadline`, on a fresh or a pooled connection.
    pub(crate) fn exchange(
        &self,
        deadline: Deadline,
        method: &str,
        url: &Url,
        accept: Option<&str>,
        authorization: Option<&str>,
        form: Option<&[(&str, &str)]>,
    ) -> std::result::Result<Response, ExchangeError> {
        let mut url = url.clone();
        let mut authorization = authorization;
        let mut method = method;
        for _ in 0..=MAX_REDIRECTS {
            let m = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
            // The digest covers the bytes as stored: never let a transfer encoding
            // rewrite them.
            let mut req = self
                .client
                .request(m, &url)
                .header("Accept-Encoding", "identity");
            if let Some(a) = accept {
                req = req.header("Accept", a);
            }
            if let Some(a) = authorization {
                req = req.header("Authorization", a);
            }
            if let ("POST", Some(f)) = (method, form) {
                req = req.form(f);
            }
            let resp = self
                .client
                .send(req, deadline)
                .map_err(|e| ExchangeError::from_http(method, e))?;
            if !matches!(resp.status(), 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let location = resp.header("location").unwrap_or("").to_string();
            let next = url.join(&location).map_err(|e| {
                ExchangeError::Fatal(ImageError::Registry {
                    registry: self.registry.clone(),
                    reason: format!(
                        "{method} {url}: bad redirect Location {}: {e}",
                        patchline_model::quote_capped(&location, 200)
                    ),
                })
            })?;
            if !matches!(next.scheme(), "http" | "https")
                || (next.scheme() == "http" && !self.insecure)
            {
                return Err(ExchangeError::Fatal(ImageError::Registry {
                    registry: self.registry.clone(),
                    reason: format!("{method} {url}: refusing redirect to {next}"),
                }));
            }
            if origin(&next) != origin(&url) {
                authorization = None;
            }
            if resp.status() == 303 && method == "POST" {
                method = "GET";
            }
            url = next;
        }
        Err(ExchangeError::Fatal(ImageError::Registry {
            registry: self.registry.clone(),
            reason: format!("{method} {url}: more than {MAX_REDIRECTS} redirects"),
        }))
    }

    /// Runs `step` until it is done, retrying transient failures with backoff while
    /// `deadline` allows.
    pub(crate) fn attempts<T>(
        &self,
        deadline: Deadline,
        method: &str,
        url: &Url,
        mut step: impl FnMut() -> Result<Step<T>>,
    ) -> Result<T> {
        let mut attempt = 0u32;
        let mut agains = 0u32;
        loop {
            let (reason, wait) = match step()? {
                Step::Done(v) => return Ok(v),
                Step::Again => {
                    agains += 1;
                    if agains > 3 {
                        return Err(ImageError::Registry {
                            registry: self.registry.clone(),
                            reason: format!("{method} {url}: authentication does not settle"),
                        });
                    }
                    continue;
                }
                Step::Retry { reason, wait } => (reason, wait),
            };
            let pause = backoff(attempt, wait);
            let out_of_time = !deadline.allows(pause);
            if attempt >= self.retries || out_of_time {
                let tries = if attempt >= self.retries {
                    match attempt {
                        0 => String::new(),
                        n => format!(" (gave up after {} attempts)", n + 1),
                    }
                } else {
                    format!(
                        " (gave up after {} attempt{}: the {} timeout leaves no time for another)",
                        attempt + 1,
                        if attempt == 0 { "" } else { "s" },
                        patchline_http::seconds(deadline.budget())
                    )
                };
                return Err(ImageError::Registry {
                    registry: self.registry.clone(),
                    reason: format!("{reason}{tries}"),
                });
            }
            std::thread::sleep(pause);
            attempt += 1;
        }
    }
}

/// Reads a short error body so the connection can be reused.
pub(crate) fn drain(resp: Response, deadline: Deadline) {
    resp.drain(MAX_ERROR_BODY, deadline);
}

/// `HTTP 500 Internal Server Error (UNKNOWN: detail)` from a registry error answer.
pub(crate) fn describe_error(resp: Response, deadline: Deadline) -> String {
    let head = format!("HTTP {} {}", resp.status(), resp.status_text())
        .trim_end()
        .to_string();
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(
        &mut std::io::Read::take(
            resp.into_body(patchline_http::Pace::Until(deadline)),
            MAX_ERROR_BODY,
        ),
        &mut body,
    );
    let codes: Vec<String> = serde_json::from_slice::<ErrorBody>(&body)
        .map(|b| {
            b.errors
                .into_iter()
                .take(4)
                .map(|e| {
                    // Server-sent text: capped and escaped, unquoted when plain.
                    let code = plain_capped(&e.code, 64);
                    if e.message.is_empty() {
                        code
                    } else {
                        format!("{code}: {}", plain_capped(&e.message, 200))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if codes.is_empty() {
        head
    } else {
        format!("{head} ({})", codes.join("; "))
    }
}

/// `s` as is when short and printable, else [`patchline_model::quote_capped`].
fn plain_capped(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars && !s.chars().any(char::is_control) {
        s.to_string()
    } else {
        patchline_model::quote_capped(s, max_chars)
    }
}

/// Parses a `Link` header for the `rel="next"` target.
pub(crate) fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let params_end = after[end..]
            .find('<')
            .map(|i| end + i)
            .unwrap_or(after.len());
        let params = &after[end + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.trim());
        }
        rest = &after[params_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::plain_capped;

    #[test]
    fn server_text_is_capped() {
        assert_eq!(plain_capped("MANIFEST_UNKNOWN", 64), "MANIFEST_UNKNOWN");
        let huge = "z".repeat(1 << 20);
        let c = plain_capped(&huge, 200);
        assert!(c.len() < 230 && c.ends_with("(1048576 bytes)"), "{c}");
        assert_eq!(plain_capped("a\x1b[2Jb", 64), "\"a\\u{1b}[2Jb\"");
    }

    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=test%2Fimg&n=1>; rel="next""#),
            Some("/v2/_catalog?last=test%2Fimg&n=1")
        );
        assert_eq!(
            next_link(r#"<https://a/prev>; rel="prev", <https://a/n?x=1;y>; title="t"; rel=next"#),
            Some("https://a/n?x=1;y")
        );
        assert_eq!(next_link(r#"<https://a/p>; rel="prev""#), None);
        assert_eq!(next_link("garbage <unterminated"), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link(r#"<x>; rel="previous next""#), Some("x"));
    }

    #[test]
    fn hosts() {
        assert!(check_host("127.0.0.1:5000").is_ok());
        assert!(check_host("registry-1.docker.io").is_ok());
        assert!(check_host("[::1]:5000").is_ok());
        for bad in ["", "a/b", "user@host", "h?x", "h#x", "h b"] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0, None), BACKOFF_BASE);
        assert_eq!(backoff(2, None), BACKOFF_BASE * 4);
        assert_eq!(backoff(40, None), BACKOFF_CAP);
        assert_eq!(
            backoff(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(backoff(0, Some(Duration::from_secs(999))), BACKOFF_CAP);
    }
}
