//! Credentials the way the docker CLI stores them: `config.json` (`auths`, `credHelpers`,
//! `credsStore`) and the `docker-credential-<name>` helper protocol.
//!
//! Supported entries: `auths.<host>.auth` (base64 `user:password`), `username` +
//! `password`, and `identitytoken` (used as an OAuth2 refresh token against the Bearer
//! realm). `registrytoken` (a ready-made Bearer token) is not supported and ignored.
//! A helper named in the file whose binary is not on `PATH` is ignored, like a config
//! copied from another machine would need.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{ImageError, Result};

/// What the credentials are.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    Basic {
        username: String,
        password: String,
    },
    /// A `docker login` identity token: an OAuth2 refresh token for the Bearer realm.
    IdentityToken(String),
}

// Never print secrets, even in debug output.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Basic { username, .. } => write!(f, "Basic({username}:***)"),
            Secret::IdentityToken(_) => write!(f, "IdentityToken(***)"),
        }
    }
}

/// Credentials and where they came from (for error messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub secret: Secret,
    pub source: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperOutput {
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

const MAX_CONFIG: u64 = 16 << 20;
const MAX_HELPER_OUTPUT: u64 = 1 << 20;
/// Names Docker Hub goes by; `docker login` stores it under `https://index.docker.io/v1/`.
const HUB_HOSTS: &[&str] = &[
    "registry-1.docker.io",
    "index.docker.io",
    "docker.io",
    "registry.hub.docker.com",
];
const HUB_SERVER_URL: &str = "https://index.docker.io/v1/";

/// The config file to read: `explicit` (a file, or a directory holding `config.json`),
/// else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub(crate) fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(if p.is_dir() {
            p.join("config.json")
        } else {
            p.to_path_buf()
        });
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// Credentials for `registry` (`host[:port]`) from the Docker config. A missing default
/// config is no error; a missing explicitly named one is.
pub(crate) fn lookup(
    registry: &str,
    explicit: Option<&Path>,
    timeout: Duration,
) -> Result<Option<Found>> {
    let Some(path) = config_path(explicit) else {
        return Ok(None);
    };
    if explicit.is_none() && !path.exists() {
        return Ok(None);
    }
    lookup_in(
        registry,
        &path,
        std::env::var_os("PATH").as_deref(),
        timeout,
    )
}

fn normalize_host(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    k.split('/').next().unwrap_or("").to_ascii_lowercase()
}

fn same_registry(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_host(a), normalize_host(b));
    a == b || (HUB_HOSTS.contains(&a.as_str()) && HUB_HOSTS.contains(&b.as_str()))
}

pub(crate) fn lookup_in(
    registry: &str,
    path: &Path,
    path_env: Option<&OsStr>,
    timeout: Duration,
) -> Result<Option<Found>> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| ImageError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::io(path, e))?;
    if bytes.len() as u64 > MAX_CONFIG {
        return Err(ImageError::invalid(what, "larger than 16 MiB"));
    }
    let config: ConfigFile = serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
        what: what.clone(),
        source,
    })?;
    let server_url = if HUB_HOSTS.contains(&normalize_host(registry).as_str()) {
        HUB_SERVER_URL.to_string()
    } else {
        registry.to_string()
    };

    // Docker's precedence: a per-registry helper, then the default store, then the file.
    let helper = config
        .cred_helpers
        .iter()
        .find(|(k, _)| same_registry(k, registry))
        .map(|(_, v)| v.clone())
        .or(config.creds_store.clone())
        .filter(|h| !h.is_empty());
    if let Some(name) = helper {
        if let Some(found) = run_helper(&name, &server_url, path_env, timeout)? {
            return Ok(Some(found));
        }
    }

    // An exact key wins over one that only normalises to the same host.
    let entry = config
        .auths
        .iter()
        .find(|(k, _)| k.as_str() == registry || k.as_str() == server_url)
        .or_else(|| {
            config
                .auths
                .iter()
                .find(|(k, _)| same_registry(k, registry))
        });
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    let source = format!("{what} (auths.{key:?})");
    if let Some(tok) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Found {
            secret: Secret::IdentityToken(tok.to_string()),
            source,
        }));
    }
    if let Some(auth) = entry
        .auth
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let engine = &base64::engine::general_purpose::STANDARD;
        let decoded = engine
            .decode(auth)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth))
            .map_err(|e| {
                ImageError::invalid(&what, format!("auths.{key:?}.auth is not base64: {e}"))
            })?;
        let text = String::from_utf8(decoded)
            .map_err(|_| ImageError::invalid(&what, format!("auths.{key:?}.auth is not UTF-8")))?;
        let (username, password) = text.split_once(':').ok_or_else(|| {
            ImageError::invalid(&what, format!("auths.{key:?}.auth is not user:password"))
        })?;
        return Ok(Some(Found {
            secret: Secret::Basic {
                username: username.to_string(),
                password: password.to_string(),
            },
            source,
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Found {
            secret: Secret::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            source,
        })),
        _ => Ok(None),
    }
}

fn find_in_path(binary: &str, path_env: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path_env: OsString = path_env?.to_os_string();
    std::env::split_paths(&path_env)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(binary))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Runs `docker-credential-<name> get` with the server URL on stdin. `Ok(None)` when
/// the helper is not installed or has no credentials for the server.
fn run_helper(
    name: &str,
    server_url: &str,
    path_env: Option<&OsStr>,
    timeout: Duration,
) -> Result<Option<Found>> {
    let helper_err = |reason: String| ImageError::Registry {
        registry: server_url.to_string(),
        reason: format!("credential helper docker-credential-{name}: {reason}"),
    };
    // The name comes from a file: keep it a plain name, never a path.
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        return Err(helper_err("invalid helper name".into()));
    }
    let binary = format!("docker-credential-{name}");
    let Some(exe) = find_in_path(&binary, path_env) else {
        return Ok(None);
    };
    let mut child = Command::new(&exe)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| helper_err(format!("cannot run {}: {e}", exe.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin is fine: ignore a broken pipe.
        let _ = stdin.write_all(server_url.as_bytes());
    }
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stream {
                let _ = s.take(MAX_HELPER_OUTPUT).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout.max(Duration::from_secs(1));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(helper_err(format!("no answer within {timeout:?}")));
            }
            Err(e) => return Err(helper_err(format!("wait failed: {e}"))),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let msg = String::from_utf8_lossy(if stderr.is_empty() { &stdout } else { &stderr })
            .trim()
            .to_string();
        // The protocol's way of saying "nothing stored for this server".
        if msg.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(helper_err(format!("failed ({status}): {msg}")));
    }
    let parsed: HelperOutput = serde_json::from_slice(&stdout)
        .map_err(|e| helper_err(format!("output is not the expected JSON: {e}")))?;
    if parsed.secret.is_empty() {
        return Ok(None);
    }
    let source = format!("credential helper {binary}");
    let secret = if parsed.username == "<token>" {
        Secret::IdentityToken(parsed.secret)
    } else {
        Secret::Basic {
            username: parsed.username,
            password: parsed.secret,
        }
    };
    Ok(Some(Found { secret, source }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn basic(u: &str, p: &str) -> Secret {
        Secret::Basic {
            username: u.into(),
            password: p.into(),
        }
    }

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn auths_forms() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:pa:ss");
        let cfg = write(
            dir.path(),
            "config.json",
            &format!(
                r#"{{"auths": {{
                    "https://reg.example:5000/v1/": {{"auth": "{b64}"}},
                    "other.example": {{"username": "bob", "password": "pw"}},
                    "https://index.docker.io/v1/": {{"identitytoken": "refresh-me"}},
                    "empty.example": {{}}
                }}}}"#
            ),
        );
        let get = |r: &str| lookup_in(r, &cfg, None, T).unwrap().map(|f| f.secret);
        assert_eq!(get("reg.example:5000"), Some(basic("alice", "pa:ss")));
        assert_eq!(get("REG.example:5000"), Some(basic("alice", "pa:ss")));
        assert_eq!(get("other.example"), Some(basic("bob", "pw")));
        assert_eq!(
            get("registry-1.docker.io"),
            Some(Secret::IdentityToken("refresh-me".into()))
        );
        assert_eq!(get("empty.example"), None);
        assert_eq!(get("reg.example"), None);
        // Explicit directory form.
        let found = lookup("other.example", Some(dir.path()), T)
            .unwrap()
            .unwrap();
        assert!(found.source.contains("config.json"), "{}", found.source);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(dir.path(), "c.json", r#"{"auths": {"h": {"auth": "!!!"}}}"#);
        let e = lookup_in("h", &cfg, None, T).unwrap_err().to_string();
        assert!(e.contains("c.json") && e.contains("base64"), "{e}");
        let cfg = write(dir.path(), "d.json", "{not json");
        let e = lookup_in("h", &cfg, None, T).unwrap_err().to_string();
        assert!(e.contains("d.json"), "{e}");
        let e = lookup("h", Some(&dir.path().join("missing.json")), T)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.json"), "{e}");
    }

    #[test]
    fn helpers() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        // A helper answering for one server only, echoing what it read on stdin.
        let script = write(
            &bin,
            "docker-credential-fake",
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r url\ncase \"$url\" in\n  reg.example) printf '{\"ServerURL\":\"%s\",\"Username\":\"hal\",\"Secret\":\"s3cret\"}' \"$url\";;\n  https://index.docker.io/v1/) printf '{\"Username\":\"<token>\",\"Secret\":\"idtok\"}';;\n  slow.example) exec sleep 5;;\n  *) echo 'credentials not found in native keychain'; exit 1;;\nesac\n",
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg = write(
            dir.path(),
            "config.json",
            r#"{"credsStore": "fake", "credHelpers": {"missing.example": "not-installed"},
                "auths": {"missing.example": {"auth": "dTpw"}, "nohelp.example": {"auth": "dTpw"}}}"#,
        );
        let path_env = OsString::from(format!("/nonexistent:{}", bin.display()));
        let get = |r: &str| lookup_in(r, &cfg, Some(&path_env), Duration::from_secs(1));
        let f = get("reg.example").unwrap().unwrap();
        assert_eq!(f.secret, basic("hal", "s3cret"));
        assert_eq!(f.source, "credential helper docker-credential-fake");
        assert_eq!(
            get("docker.io").unwrap().unwrap().secret,
            Secret::IdentityToken("idtok".into())
        );
        // Helper not installed: fall back to the file.
        assert_eq!(
            get("missing.example").unwrap().unwrap().secret,
            basic("u", "p")
        );
        // Store says "not found": fall back to the file, then to nothing.
        assert_eq!(
            get("nohelp.example").unwrap().unwrap().secret,
            basic("u", "p")
        );
        assert_eq!(get("unknown.example").unwrap(), None);
        let t = Instant::now();
        let e = get("slow.example").unwrap_err().to_string();
        assert!(e.contains("no answer"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(4));
        // No PATH at all: helpers are ignored.
        assert_eq!(lookup_in("reg.example", &cfg, None, T).unwrap(), None);
        // A name that is a path is refused.
        let cfg2 = write(dir.path(), "c2.json", r#"{"credsStore": "../../bin/sh"}"#);
        assert!(lookup_in("x", &cfg2, Some(&path_env), T).is_err());
    }
}
