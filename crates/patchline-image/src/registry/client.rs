//! Registry requests: a [`Req`] is sent with the `Authorization` the registry wants,
//! answering a 401 once by authenticating, retrying transient failures, and turning
//! error answers into [`ImageError`]s.

use patchline_http::{Deadline, Response};
use url::Url;

use super::auth::{unauthorized, Auth};
use super::http::{describe_error, drain, retry_after, Http, Step};
use crate::error::{ImageError, Result};
use crate::source::RegistryOptions;

pub(crate) struct Client {
    http: Http,
    auth: Auth,
}

/// A registry request: what to ask and how to describe it in errors.
pub(crate) struct Req<'a> {
    pub method: &'static str,
    pub url: Url,
    pub accept: Option<&'a str>,
    /// Token scope, e.g. `repository:team/app:pull`.
    pub scope: &'a str,
    pub repository: &'a str,
    /// For 404s: `manifest team/app:1`.
    pub what: &'a str,
}

impl Client {
    pub(crate) fn new(registry: &str, opts: &RegistryOptions) -> Result<Client> {
        let http = Http::new(registry, opts)?;
        let auth = Auth::new(registry, opts)?;
        Ok(Client { http, auth })
    }

    /// `host[:port]` as the reference names it.
    pub(crate) fn registry(&self) -> &str {
        &self.http.registry
    }

    /// `scheme://host[:port]/`.
    pub(crate) fn base(&self) -> &Url {
        &self.http.base
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.http.url(path)
    }

    /// The time bounds requests and bodies are held to.
    pub(crate) fn limits(&self) -> patchline_http::Limits {
        self.http.limits
    }

    /// Sends a registry request, authenticating when asked to and retrying transient
    /// failures, all within one `--timeout` deadline, and hands a 2xx response to
    /// `finish` with that deadline. `finish` may ask for a retry (e.g. when a small body
    /// could not be read whole).
    pub(crate) fn send<T>(
        &self,
        req: &Req<'_>,
        mut finish: impl FnMut(Response, Deadline) -> Result<Step<T>>,
    ) -> Result<T> {
        let mut reauthed = false;
        let http = &self.http;
        let deadline = http.deadline();
        http.attempts(deadline, req.method, &req.url, || {
            let auth = self
                .auth
                .header(http, deadline, req.scope, req.repository)?;
            let resp = match http.exchange(
                deadline,
                req.method,
                &req.url,
                req.accept,
                auth.as_deref(),
                None,
            ) {
                Ok(r) => r,
                Err(e) => return e.into_step(&http.registry),
            };
            let status = resp.status();
            match status {
                200..=299 => finish(resp, deadline),
                401 if !reauthed => {
                    let challenges: Vec<String> = resp
                        .all("www-authenticate")
                        .into_iter()
                        .map(str::to_string)
                        .collect();
                    drain(resp, deadline);
                    self.auth.authenticate(
                        http,
                        deadline,
                        &challenges,
                        req.scope,
                        req.repository,
                    )?;
                    reauthed = true;
                    Ok(Step::Again)
                }
                401 => {
                    drain(resp, deadline);
                    Err(self.auth.refused(http, req.repository))
                }
                429 | 500..=599 => Ok(Step::Retry {
                    wait: retry_after(&resp),
                    reason: format!(
                        "{} {}: {}",
                        req.method,
                        req.url,
                        describe_error(resp, deadline)
                    ),
                }),
                404 => {
                    drain(resp, deadline);
                    Err(ImageError::NotFound {
                        registry: http.registry.clone(),
                        what: req.what.to_string(),
                    })
                }
                403 => Err(unauthorized(
                    &http.registry,
                    req.repository,
                    format!("access denied: {}", describe_error(resp, deadline)),
                )),
                _ => Err(ImageError::Registry {
                    registry: http.registry.clone(),
                    reason: format!(
                        "{} {}: {}",
                        req.method,
                        req.url,
                        describe_error(resp, deadline)
                    ),
                }),
            }
        })
    }
}
