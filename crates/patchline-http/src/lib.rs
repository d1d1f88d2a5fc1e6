//! The one HTTP client of patchline, with time and bytes bounded for hostile servers.
//!
//! Registries and feed servers are untrusted: one that answers once and then stalls on a
//! reused keep-alive connection, trickles a byte a second, or never stops sending must
//! not hold a scan (or a server worker) forever. This crate gives callers three bounds:
//!
//! - a [`Deadline`] for a whole operation (retries included), which every request and
//!   every small-body read of that operation is held to, on fresh and pooled
//!   connections alike (the timer runs beside the request, not on the socket);
//! - a connect timeout of its own, shorter than the deadline;
//! - for long bodies (layer blobs, feeds), a minimum transfer rate measured over
//!   windows ([`Pace::MinRate`]), which also catches a body that stops mid-way.
//!
//! It wraps reqwest's async client, driven by one small tokio runtime for the process,
//! behind a blocking interface ([`Client::send`], [`Body`] implements `Read`): the image
//! and feed code is synchronous and streams. Futures are spawned on the runtime and
//! awaited through a channel, never with `block_on`, so callers may be on any thread,
//! including a tokio blocking-pool thread of the server.
//!
//! Redirects are followed only when [`Config::follow_redirects`] says so (feeds);
//! registries follow theirs by hand, since credentials must not follow a redirect to a
//! storage host.

use std::future::Future;
use std::io::{self, Read};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use reqwest::Method;
pub use url::Url;

/// Default length of a rate-measuring window: long enough to ride out a slow start,
/// short enough that a stalled transfer is noticed within a minute.
const MAX_RATE_WINDOW: Duration = Duration::from_secs(30);

/// Time bounds of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// One whole operation, retries and backoff included; zero means none.
    pub timeout: Duration,
    /// Establishing one connection (TCP and TLS); zero means none.
    pub connect_timeout: Duration,
    /// Bytes per second a long body must keep up ([`Pace::MinRate`]); zero only
    /// catches a body that stops.
    pub min_rate: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            min_rate: 1024,
        }
    }
}

impl Limits {
    /// The window over which [`Limits::min_rate`] is measured: the timeout, at most 30 s.
    pub fn rate_window(&self) -> Duration {
        if self.timeout.is_zero() {
            MAX_RATE_WINDOW
        } else {
            self.timeout.min(MAX_RATE_WINDOW)
        }
    }

    /// A deadline `timeout` from now.
    pub fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    /// The pace for a long body: [`Limits::min_rate`] over [`Limits::rate_window`].
    pub fn min_rate_pace(&self) -> Pace {
        Pace::MinRate {
            bytes_per_sec: self.min_rate,
            window: self.rate_window(),
        }
    }
}

/// The instant by which an operation must be done (`None`: no bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
    /// What it was set to, for messages.
    budget: Duration,
}

impl Deadline {
    /// `d` from now; zero means no deadline.
    pub fn after(d: Duration) -> Deadline {
        Deadline {
            at: (!d.is_zero()).then(|| Instant::now() + d),
            budget: d,
        }
    }

    pub fn none() -> Deadline {
        Deadline {
            at: None,
            budget: Duration::ZERO,
        }
    }

    /// Time left, `None` when unbounded; zero once passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn expired(&self) -> bool {
        self.remaining().is_some_and(|r| r.is_zero())
    }

    /// Whether waiting `d` would still end before the deadline.
    pub fn allows(&self, d: Duration) -> bool {
        self.remaining().is_none_or(|r| r > d)
    }

    /// What the deadline was set to.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    fn timed_out(&self, url: &Url) -> Error {
        Error {
            kind: ErrorKind::Timeout,
            message: format!("{url}: no answer within {}", seconds(self.budget)),
        }
    }
}

/// `1.5 s`, `60 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// How reading a body is bounded in time.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// The whole body must have arrived by then (manifests, tokens, error bodies).
    Until(Deadline),
    /// At least `bytes_per_sec` on average over every `window` (layer blobs, feeds).
    MinRate {
        bytes_per_sec: u64,
        window: Duration,
    },
}

/// What went wrong with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The deadline passed or a body was slower than the minimum rate.
    Timeout,
    /// No connection could be established (refused, unreachable, DNS).
    Connect,
    /// The server answered a TLS handshake with something that is not TLS: most often
    /// a plain-HTTP server.
    NotTls,
    /// Any other TLS failure (certificate, protocol).
    Tls,
    /// The exchange broke after connecting (reset, malformed answer, truncated body).
    Transport,
    /// The request could not be built (bad header value, no runtime).
    Request,
}

/// A failed request: its kind and one line saying what failed, without repetition.
#[derive(Clone, Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    /// Whether another attempt may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Connect | ErrorKind::Transport)
    }

    fn from_reqwest(e: &reqwest::Error, url: &Url) -> Error {
        let chain = chain_text(e);
        let lower = chain.to_ascii_lowercase();
        let kind = if lower.contains("invalidcontenttype") || lower.contains("corrupt message") {
            ErrorKind::NotTls
        } else if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            ErrorKind::Tls
        } else if e.is_timeout() {
            ErrorKind::Timeout
        } else if e.is_connect() {
            ErrorKind::Connect
        } else if e.is_builder() {
            ErrorKind::Request
        } else {
            ErrorKind::Transport
        };
        Error {
            kind,
            message: format!("{url}: {chain}"),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The error and its causes joined with `: `, each said once. reqwest's own top line
/// ("error sending request for url (...)") only repeats the URL the caller names.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        // reqwest's and hyper's wrappers only repeat what the caller or the cause says.
        let generic =
            text.contains(" for url (") || text.starts_with("client error (") || text.is_empty();
        if !generic && !parts.iter().any(|p| p.contains(&text)) {
            // A cause that repeats its own cause's text is said by the cause.
            if let Some(last) = parts.last() {
                if text.contains(last.as_str()) {
                    parts.pop();
                }
            }
            parts.push(text);
        }
        cur = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// The process's HTTP runtime: one worker thread drives every client's connections.
fn runtime() -> Result<&'static tokio::runtime::Runtime, Error> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("patchline-http")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))
    })
    .as_ref()
    .map_err(|m| Error {
        kind: ErrorKind::Request,
        message: m.clone(),
    })
}

/// Runs `fut` on the runtime and waits for it on this thread.
fn wait<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Result<T, Error> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().map_err(|_| Error {
        kind: ErrorKind::Request,
        message: "the HTTP runtime stopped".into(),
    })
}

/// How a client is built.
#[derive(Clone, Debug)]
pub struct Config {
    pub user_agent: String,
    /// Refuse `http://` URLs (and so redirects to them).
    pub https_only: bool,
    /// Use `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` from the environment.
    pub proxy_from_env: bool,
    /// Follow up to 5 redirects, never from `https` to `http`. Only for requests that
    /// carry no credentials: registries follow theirs by hand.
    pub follow_redirects: bool,
    pub limits: Limits,
}

/// An HTTP client: a connection pool and its limits. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    limits: Limits,
}

impl Client {
    pub fn new(config: &Config) -> Result<Client, Error> {
        let rt = runtime()?;
        let _guard = rt.enter();
        let redirects = if config.follow_redirects {
            reqwest::redirect::Policy::custom(|attempt| {
                let downgrade = attempt.url().scheme() == "http"
                    && attempt.previous().iter().any(|u| u.scheme() == "https");
                if downgrade {
                    attempt.error("refusing a redirect from https to http")
                } else if attempt.previous().len() > 5 {
                    attempt.error("more than 5 redirects")
                } else {
                    attempt.follow()
                }
            })
        } else {
            reqwest::redirect::Policy::none()
        };
        let mut b = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .redirect(redirects)
            .https_only(config.https_only)
            // The digest covers the bytes as stored: no transfer encoding may rewrite them.
            .no_gzip();
        if !config.proxy_from_env {
            b = b.no_proxy();
        }
        if !config.limits.connect_timeout.is_zero() {
            b = b.connect_timeout(config.limits.connect_timeout);
        }
        let inner = b.build().map_err(|e| Error {
            kind: ErrorKind::Request,
            message: format!("cannot build the HTTP client: {}", chain_text(&e)),
        })?;
        Ok(Client {
            inner,
            limits: config.limits,
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Starts a request; headers are added with [`Request::header`].
    pub fn request(&self, method: Method, url: &Url) -> Request {
        Request {
            inner: self.inner.request(method, url.clone()),
            url: url.clone(),
        }
    }

    /// Sends `req` and waits for the answer's head, at most until `deadline`.
    pub fn send(&self, req: Request, deadline: Deadline) -> Result<Response, Error> {
        let url = req.url;
        if deadline.expired() {
            return Err(deadline.timed_out(&url));
        }
        let remaining = deadline.remaining();
        let fut = req.inner.send();
        let result = wait(async move {
            match remaining {
                Some(d) => tokio::time::timeout(d, fut).await.ok(),
                None => Some(fut.await),
            }
        })?;
        match result {
            None => Err(deadline.timed_out(&url)),
            Some(Err(e)) => Err(Error::from_reqwest(&e, &url)),
            Some(Ok(inner)) => Ok(Response { inner, url }),
        }
    }
}

/// A request being built.
pub struct Request {
    inner: reqwest::RequestBuilder,
    url: Url,
}

impl Request {
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.inner = self.inner.header(name, value);
        self
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(mut self, fields: &[(&str, &str)]) -> Request {
        self.inner = self.inner.form(fields);
        self
    }

    /// A body sent as it is (an upload's JSON); its content type is the caller's header.
    pub fn body(mut self, bytes: Vec<u8>) -> Request {
        self.inner = self.inner.body(bytes);
        self
    }
}

/// An answer whose head has arrived; its body is read through [`Response::into_body`].
pub struct Response {
    inner: reqwest::Response,
    url: Url,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.inner.status().as_u16()
    }

    /// `Not Found` for 404; empty for codes without a standard reason.
    pub fn status_text(&self) -> &'static str {
        self.inner.status().canonical_reason().unwrap_or("")
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The first value of a header, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header that is text.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.inner
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The announced body length.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// The body as a reader, bounded in time by `pace`.
    pub fn into_body(self, pace: Pace) -> Body {
        Body {
            inner: Some(self.inner),
            url: self.url,
            chunk: bytes::Bytes::new(),
            pace,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }

    /// Reads at most `max` bytes of the body by `deadline`; a longer body is an error.
    pub fn read_bounded(self, max: u64, deadline: Deadline) -> io::Result<Vec<u8>> {
        if let Some(len) = self.content_length() {
            if len > max {
                return Err(too_large(Some(len), max));
            }
        }
        let mut buf = Vec::new();
        self.into_body(Pace::Until(deadline))
            .take(max + 1)
            .read_to_end(&mut buf)?;
        if buf.len() as u64 > max {
            return Err(too_large(None, max));
        }
        Ok(buf)
    }

    /// Reads and drops up to `max` bytes of the body (so the connection can be reused),
    /// giving up at `deadline`.
    pub fn drain(self, max: u64, deadline: Deadline) {
        let _ = io::copy(
            &mut self.into_body(Pace::Until(deadline)).take(max),
            &mut io::sink(),
        );
    }
}

/// The error [`Response::read_bounded`] returns for a body over its limit.
#[derive(Debug)]
pub struct TooLarge {
    pub announced: Option<u64>,
    pub max: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.announced {
            Some(n) => write!(f, "{n} bytes, larger than the {}-byte limit", self.max),
            None => write!(f, "larger than the {}-byte limit", self.max),
        }
    }
}

impl std::error::Error for TooLarge {}

fn too_large(announced: Option<u64>, max: u64) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TooLarge { announced, max })
}

/// A response body as `Read`, each read bounded by its [`Pace`].
pub struct Body {
    /// `None` once the body ended or failed.
    inner: Option<reqwest::Response>,
    url: Url,
    chunk: bytes::Bytes,
    pace: Pace,
    window_start: Instant,
    window_bytes: u64,
}

impl Body {
    /// How long the next chunk may take, or the error when the pace is already broken.
    fn allowance(&mut self) -> io::Result<Duration> {
        match self.pace {
            Pace::Until(deadline) => match deadline.remaining() {
                Some(r) if r.is_zero() => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{}: the body did not arrive within {}",
                        self.url,
                        seconds(deadline.budget())
                    ),
                )),
                Some(r) => Ok(r),
                None => Ok(Duration::MAX),
            },
            Pace::MinRate {
                bytes_per_sec,
                window,
            } => {
                let elapsed = self.window_start.elapsed();
                if elapsed >= window {
                    let needed = (bytes_per_sec as f64 * window.as_secs_f64()) as u64;
                    if self.window_bytes < needed.max(1) {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            if self.window_bytes == 0 {
                                format!("{}: no data for {}", self.url, seconds(elapsed))
                            } else {
                                format!(
                                    "{}: transfer slower than the minimum of {bytes_per_sec} bytes/s ({} bytes in {})",
                                    self.url,
                                    self.window_bytes,
                                    seconds(elapsed)
                                )
                            },
                        ));
                    }
                    self.window_start = Instant::now();
                    self.window_bytes = 0;
                    return Ok(window);
                }
                Ok(window - elapsed)
            }
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.chunk.is_empty() {
                let n = buf.len().min(self.chunk.len());
                buf[..n].copy_from_slice(&self.chunk.split_to(n));
                return Ok(n);
            }
            let Some(mut inner) = self.inner.take() else {
                return Ok(0);
            };
            let allowance = self.allowance()?;
            let (inner, got) = wait(async move {
                let got = if allowance == Duration::MAX {
                    Some(inner.chunk().await)
                } else {
                    tokio::time::timeout(allowance, inner.chunk()).await.ok()
                };
                (inner, got)
            })
            .map_err(io::Error::other)?;
            match got {
                // The allowance ran out: the pace decides on the next turn.
                None => self.inner = Some(inner),
                Some(Ok(Some(c))) => {
                    self.window_bytes += c.len() as u64;
                    self.chunk = c;
                    self.inner = Some(inner);
                }
                Some(Ok(None)) => return Ok(0),
                Some(Err(e)) => {
                    let e = Error::from_reqwest(&e, &self.url);
                    return Err(io::Error::other(e.message));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        assert_eq!(Deadline::after(Duration::ZERO).remaining(), None);
        assert!(!Deadline::none().expired());
        let d = Deadline::after(Duration::from_secs(60));
        assert!(d.allows(Duration::from_secs(1)));
        assert!(!d.allows(Duration::from_secs(61)));
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
    }

    #[test]
    fn rate_window_follows_the_timeout() {
        let mut l = Limits::default();
        assert_eq!(l.rate_window(), Duration::from_secs(30));
        l.timeout = Duration::from_secs(2);
        assert_eq!(l.rate_window(), Duration::from_secs(2));
        l.timeout = Duration::ZERO;
        assert_eq!(l.rate_window(), Duration::from_secs(30));
    }

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_are_said_once() {
        let e = E(
            "error sending request for url (http://x/)",
            Some(Box::new(E(
                "client error (Connect)",
                Some(Box::new(E(
                    "Connection refused (os error 111)",
                    Some(Box::new(E("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(chain_text(&e), "Connection refused (os error 111)");
    }
}
