//! Registry authentication: `WWW-Authenticate` challenges, Basic credentials and Bearer
//! tokens (the Docker token protocol and its OAuth2 refresh-token variant).
//!
//! The client starts anonymous. The first 401 tells which scheme the registry wants;
//! from then on every request of the client carries Basic credentials, or a Bearer
//! token fetched for the request's scope and cached until it expires. [`Auth`] keeps
//! that state; token requests go out through the [`Http`] it is handed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use patchline_http::Deadline;
use serde::Deserialize;
use url::Url;

use super::dockerconfig::{self, Found, Secret};
use super::http::{retry_after, Http, Step};
use crate::error::{ImageError, Result};
use crate::source::RegistryOptions;

/// One challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased scheme: `basic`, `bearer`, ...
    pub scheme: String,
    /// Parameters with lowercased names, in header order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Parses a `WWW-Authenticate` value (RFC 9110 §11.6.1): one or more challenges
/// separated by commas, each a scheme followed by a token68 or by comma-separated
/// `name=value` parameters whose values may be quoted strings holding commas and
/// backslash escapes. Malformed tails are dropped rather than failing the whole header:
/// a registry that sends junk after a usable challenge should still be usable.
pub fn parse_www_authenticate(header: &str) -> Vec<Challenge> {
    let s = header.as_bytes();
    let mut pos = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let skip_ws = |pos: &mut usize| {
        while *pos < s.len() && matches!(s[*pos], b' ' | b'\t') {
            *pos += 1;
        }
    };
    let token = |pos: &mut usize| -> &str {
        let start = *pos;
        while *pos < s.len() && is_tchar(s[*pos]) {
            *pos += 1;
        }
        // tchars are ASCII, so the slice is on char boundaries.
        &header[start..*pos]
    };
    loop {
        // Between challenges: empty list elements are allowed.
        while pos < s.len() && matches!(s[pos], b' ' | b'\t' | b',') {
            pos += 1;
        }
        if pos >= s.len() {
            break;
        }
        let scheme = token(&mut pos);
        if scheme.is_empty() {
            // Not a token: give up on the rest of the header.
            break;
        }
        let mut ch = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        // Parameters, until the next challenge begins or the header ends.
        let mut after_comma = false;
        let mut seen_token68 = false;
        loop {
            skip_ws(&mut pos);
            if pos >= s.len() {
                break;
            }
            if s[pos] == b',' {
                pos += 1;
                after_comma = true;
                continue;
            }
            let save = pos;
            let name = token(&mut pos);
            if name.is_empty() {
                // Neither a parameter nor a separator: keep what was understood.
                out.push(ch);
                return out;
            }
            skip_ws(&mut pos);
            if pos < s.len() && s[pos] == b'=' {
                // `name=value`, or a token68 ending in `=` padding.
                let mut p = pos + 1;
                while p < s.len() && s[p] == b'=' {
                    p += 1;
                }
                let mut q = p;
                while q < s.len() && matches!(s[q], b' ' | b'\t') {
                    q += 1;
                }
                if p > pos + 1 || q >= s.len() || s[q] == b',' {
                    // token68 (`abc==`) or an empty value: nothing we use.
                    pos = q;
                    after_comma = false;
                    continue;
                }
                pos = q;
                let value = if s[pos] == b'"' {
                    pos += 1;
                    let mut v = Vec::new();
                    let mut closed = false;
                    while pos < s.len() {
                        match s[pos] {
                            b'\\' if pos + 1 < s.len() => {
                                v.push(s[pos + 1]);
                                pos += 2;
                            }
                            b'"' => {
                                pos += 1;
                                closed = true;
                                break;
                            }
                            c => {
                                v.push(c);
                                pos += 1;
                            }
                        }
                    }
                    if !closed {
                        // Unterminated quote: keep what came before it.
                        out.push(ch);
                        return out;
                    }
                    String::from_utf8_lossy(&v).into_owned()
                } else {
                    token(&mut pos).to_string()
                };
                ch.params.push((name.to_ascii_lowercase(), value));
                after_comma = false;
            } else if !after_comma && ch.params.is_empty() && !seen_token68 {
                // `Negotiate abc`: a token68 right after the scheme.
                seen_token68 = true;
            } else {
                // The scheme of the next challenge.
                pos = save;
                break;
            }
        }
        out.push(ch);
    }
    out
}

/// What a 401 asked for.
#[derive(Clone, Debug)]
pub(crate) enum Mode {
    Anonymous,
    Basic,
    Bearer { realm: Url, service: Option<String> },
}

struct CachedToken {
    token: String,
    expires: Instant,
}

struct AuthState {
    mode: Mode,
    tokens: HashMap<String, CachedToken>,
    /// Credentials once looked up: `Some(None)` means "looked, found none".
    creds: Option<Option<Found>>,
}

/// The authentication state of one registry client.
pub(crate) struct Auth {
    docker_config: Option<PathBuf>,
    state: Mutex<AuthState>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

const MAX_TOKEN_RESPONSE: u64 = 1 << 20;
/// The token specification's default lifetime when the server names none.
const DEFAULT_TOKEN_LIFETIME: u64 = 60;

fn basic_header(username: &str, password: &str) -> String {
    let raw = format!("{username}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The error for a refused request.
pub(crate) fn unauthorized(registry: &str, repository: &str, reason: String) -> ImageError {
    ImageError::Unauthorized {
        registry: registry.to_string(),
        repository: repository.to_string(),
        reason,
    }
}

impl Auth {
    /// Starts anonymous, with the options' username and password when they name both.
    pub(crate) fn new(registry: &str, opts: &RegistryOptions) -> Result<Auth> {
        let explicit = match (&opts.username, &opts.password) {
            (Some(u), Some(p)) => Some(Found {
                secret: Secret::Basic {
                    username: u.clone(),
                    password: p.clone(),
                },
                source: "the given username/password".into(),
            }),
            (None, None) => None,
            _ => {
                return Err(ImageError::Registry {
                    registry: registry.to_string(),
                    reason: "a username needs a password and a password a username".into(),
                })
            }
        };
        Ok(Auth {
            docker_config: opts.docker_config.clone(),
            state: Mutex::new(AuthState {
                mode: Mode::Anonymous,
                tokens: HashMap::new(),
                creds: explicit.map(Some),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AuthState> {
        // A panic elsewhere cannot leave the state inconsistent: every write is one
        // assignment, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Credentials for this registry, looked up once (options, then the Docker config
    /// and its credential helpers).
    fn credentials(&self, http: &Http) -> Result<Option<Found>> {
        if let Some(c) = &self.lock().creds {
            return Ok(c.clone());
        }
        let found = dockerconfig::lookup(
            &http.registry,
            self.docker_config.as_deref(),
            http.limits.timeout,
        )?;
        self.lock().creds = Some(found.clone());
        Ok(found)
    }

    /// The `Authorization` value for a request needing `scope`, fetching a token
    /// when the registry is known to want Bearer and none is cached.
    pub(crate) fn header(
        &self,
        http: &Http,
        deadline: Deadline,
        scope: &str,
        repository: &str,
    ) -> Result<Option<String>> {
        let mode = {
            let st = self.lock();
            if let Mode::Bearer { .. } = st.mode {
                if let Some(t) = st.tokens.get(scope) {
                    if t.expires > Instant::now() {
                        return Ok(Some(format!("Bearer {}", t.token)));
                    }
                }
            }
            st.mode.clone()
        };
        match mode {
            Mode::Anonymous => Ok(None),
            Mode::Basic => match self.credentials(http)? {
                Some(Found {
                    secret: Secret::Basic { username, password },
                    ..
                }) => Ok(Some(basic_header(&username, &password))),
                _ => Ok(None),
            },
            Mode::Bearer { realm, service } => {
                let token = self.fetch_token(
                    http,
                    deadline,
                    &realm,
                    service.as_deref(),
                    scope,
                    scope,
                    repository,
                )?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Reacts to a 401: picks the challenge to answer and prepares the state so that
    /// the next [`Auth::header`] answers it.
    pub(crate) fn authenticate(
        &self,
        http: &Http,
        deadline: Deadline,
        headers: &[String],
        scope: &str,
        repository: &str,
    ) -> Result<()> {
        let challenges: Vec<Challenge> = headers
            .iter()
            .flat_map(|h| parse_www_authenticate(h))
            .collect();
        let bearer = challenges.iter().find(|c| c.scheme == "bearer");
        let basic = challenges.iter().find(|c| c.scheme == "basic");
        if let Some(b) = bearer {
            let realm_raw = b.param("realm").ok_or_else(|| {
                unauthorized(
                    &http.registry,
                    repository,
                    "Bearer challenge without a realm".into(),
                )
            })?;
            let realm = Url::parse(realm_raw)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    unauthorized(
                        &http.registry,
                        repository,
                        format!(
                            "Bearer challenge names an unusable realm {}",
                            patchline_model::quote_capped(realm_raw, 200)
                        ),
                    )
                })?;
            let service = b.param("service").map(str::to_string);
            // The registry's own scope, when it names one, is what this request needs.
            let wanted = b.param("scope").unwrap_or(scope).to_string();
            self.lock().tokens.remove(scope);
            // fetch_token caches the token under `scope` for the retried request.
            self.fetch_token(
                http,
                deadline,
                &realm,
                service.as_deref(),
                &wanted,
                scope,
                repository,
            )?;
            self.lock().mode = Mode::Bearer { realm, service };
            return Ok(());
        }
        if basic.is_some() {
            return match self.credentials(http)? {
                Some(Found {
                    secret: Secret::Basic { .. },
                    ..
                }) => {
                    self.lock().mode = Mode::Basic;
                    Ok(())
                }
                Some(Found {
                    secret: Secret::IdentityToken(_),
                    source,
                }) => Err(unauthorized(
                    &http.registry,
                    repository,
                    format!("the registry wants Basic credentials but {source} holds only an identity token"),
                )),
                None => Err(unauthorized(
                    &http.registry,
                    repository,
                    self.no_credentials_reason(http),
                )),
            };
        }
        let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        Err(unauthorized(
            &http.registry,
            repository,
            if schemes.is_empty() {
                "401 without a usable WWW-Authenticate challenge".to_string()
            } else {
                format!(
                    "unsupported authentication scheme(s): {}",
                    schemes.join(", ")
                )
            },
        ))
    }

    fn no_credentials_reason(&self, http: &Http) -> String {
        format!(
            "no credentials for {} in the options or {}",
            http.registry,
            dockerconfig::config_path(self.docker_config.as_deref())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "a Docker config (no $HOME, $DOCKER_CONFIG)".into())
        )
    }

    /// Explains a 401 that came back although we answered the challenge.
    pub(crate) fn refused(&self, http: &Http, repository: &str) -> ImageError {
        let reason = match self.credentials(http) {
            Ok(Some(f)) => format!("the credentials from {} were refused", f.source),
            Ok(None) => format!(
                "anonymous access refused; {}",
                self.no_credentials_reason(http)
            ),
            Err(e) => return e,
        };
        unauthorized(&http.registry, repository, reason)
    }

    /// Gets a Bearer token for `wanted` from `realm` and caches it under `cache_key`.
    #[allow(clippy::too_many_arguments)]
    fn fetch_token(
        &self,
        http: &Http,
        deadline: Deadline,
        realm: &Url,
        service: Option<&str>,
        wanted: &str,
        cache_key: &str,
        repository: &str,
    ) -> Result<String> {
        let creds = self.credentials(http)?;
        if creds.is_some() && realm.scheme() == "http" && !http.insecure {
            return Err(unauthorized(
                &http.registry,
                repository,
                format!("token realm {realm} is plain HTTP; refusing to send credentials to it (the registry must be marked insecure)"),
            ));
        }
        let mut url = realm.clone();
        let mut form: Vec<(&str, String)> = Vec::new();
        let mut authorization = None;
        let method = match &creds {
            Some(Found {
                secret: Secret::IdentityToken(refresh),
                ..
            }) => {
                // OAuth2 refresh-token grant, as `docker login` identity tokens need.
                form.push(("grant_type", "refresh_token".into()));
                form.push(("refresh_token", refresh.clone()));
                if let Some(s) = service {
                    form.push(("service", s.to_string()));
                }
                form.push(("scope", wanted.to_string()));
                form.push(("client_id", "patchline".into()));
                "POST"
            }
            other => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", wanted);
                }
                if let Some(Found {
                    secret: Secret::Basic { username, password },
                    ..
                }) = other
                {
                    authorization = Some(basic_header(username, password));
                }
                "GET"
            }
        };
        let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let source = creds.as_ref().map(|f| f.source.clone());
        let parsed: TokenResponse = http.attempts(deadline, method, &url, || {
            let resp = match http.exchange(
                deadline,
                method,
                &url,
                None,
                authorization.as_deref(),
                (method == "POST").then_some(form_ref.as_slice()),
            ) {
                Ok(r) => r,
                Err(e) => return e.into_step(&http.registry),
            };
            let status = resp.status();
            match status {
                200..=299 => {
                    let what = format!("registry {}: token response from {realm}", http.registry);
                    super::read_bounded(resp, MAX_TOKEN_RESPONSE, &what, deadline)?.try_map(|buf| {
                        serde_json::from_slice(&buf)
                            .map_err(|source| ImageError::Json { what, source })
                    })
                }
                401 | 403 => Err(unauthorized(
                    &http.registry,
                    repository,
                    match &source {
                        Some(s) => format!(
                            "token server {realm} refused the credentials from {s} (HTTP {status})"
                        ),
                        None => format!(
                            "token server {realm} refused anonymous access (HTTP {status}); {}",
                            self.no_credentials_reason(http)
                        ),
                    },
                )),
                429 | 500..=599 => Ok(Step::Retry {
                    wait: retry_after(&resp),
                    reason: format!("token server {realm} answered HTTP {status}"),
                }),
                _ => Err(ImageError::Registry {
                    registry: http.registry.clone(),
                    reason: format!("token server {realm} answered HTTP {status}"),
                }),
            }
        })?;
        let token = parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| ImageError::Registry {
                registry: http.registry.clone(),
                reason: format!("token response from {realm} holds neither token nor access_token"),
            })?;
        if token.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(ImageError::Registry {
                registry: http.registry.clone(),
                reason: format!("token from {realm} contains characters not allowed in a header"),
            });
        }
        // Renew a little early so a token does not expire between check and use.
        let lifetime = parsed
            .expires_in
            .unwrap_or(DEFAULT_TOKEN_LIFETIME)
            .clamp(1, 86_400);
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(5).max(1));
        self.lock().tokens.insert(
            cache_key.to_string(),
            CachedToken {
                token: token.clone(),
                expires,
            },
        );
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn bearer_with_commas_in_quotes() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull,push""#;
        assert_eq!(
            parse_www_authenticate(h),
            vec![ch(
                "bearer",
                &[
                    ("realm", "https://auth.docker.io/token"),
                    ("service", "registry.docker.io"),
                    ("scope", "repository:library/debian:pull,push")
                ]
            )]
        );
    }

    #[test]
    fn basic_and_mixed() {
        assert_eq!(
            parse_www_authenticate(r#"Basic realm="Registry Realm""#),
            vec![ch("basic", &[("realm", "Registry Realm")])]
        );
        assert_eq!(
            parse_www_authenticate(
                r#"basic REALM=simple , Bearer realm="x,y", error="insufficient_scope""#
            ),
            vec![
                ch("basic", &[("realm", "simple")]),
                ch(
                    "bearer",
                    &[("realm", "x,y"), ("error", "insufficient_scope")]
                )
            ]
        );
        // Escapes, spaces around `=`, empty list elements.
        assert_eq!(
            parse_www_authenticate(r#", Bearer realm = "a\"b\\c" ,, service="s""#),
            vec![ch("bearer", &[("realm", r#"a"b\c"#), ("service", "s")])]
        );
        // A scheme with a token68 then another challenge.
        assert_eq!(
            parse_www_authenticate(r#"Negotiate abc==, Basic realm="r""#),
            vec![ch("negotiate", &[]), ch("basic", &[("realm", "r")])]
        );
        assert_eq!(
            parse_www_authenticate("Negotiate"),
            vec![ch("negotiate", &[])]
        );
    }

    #[test]
    fn malformed_never_panics() {
        for h in [
            "",
            ",,,",
            "=",
            "Bearer realm=\"unterminated",
            "Bearer realm=",
            "Bearer realm=\"x\\",
            "Bearer \"quoted\"",
            "Bearer ,=,=",
            "Bäsic realm=ü",
            "Bearer realm=\"ü\",scope=a\u{0}b",
        ] {
            let _ = parse_www_authenticate(h);
        }
        assert_eq!(
            parse_www_authenticate("Bearer realm=\"unterminated"),
            vec![ch("bearer", &[])]
        );
    }
}
