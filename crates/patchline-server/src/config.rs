//! `patchline.toml`: every setting of the server, each also settable from the environment.
//!
//! The environment overrides the file: `PATCHLINE_LISTEN=0.0.0.0:8080`,
//! `PATCHLINE_SMTP__HOST=mail`, `PATCHLINE_REGISTRIES__0__URL=https://r.example` (`__`
//! separates keys; a number indexes an array). Values are read as TOML when they parse as
//! one (`30`, `true`, `["a","b"]`) and as strings otherwise. Secrets are never values in the
//! file: they are named by `*_file` (a path) or `*_env` (a variable), and resolved when used.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The environment variables' prefix.
pub const ENV_PREFIX: &str = "PATCHLINE_";

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the API listens; loopback by default.
    pub listen: String,
    /// `sqlite:PATH`, a path, or `postgres://...`; default: `$XDG_DATA_HOME/patchline/server.sqlite`.
    pub store: Option<String>,
    /// Connections per process.
    pub store_pool: u32,
    /// Directory for the embedded store, the layer cache and other local state; default
    /// `$XDG_DATA_HOME/patchline`.
    pub data_dir: Option<PathBuf>,
    /// The advisory database; default: the CLI's (`$XDG_CACHE_HOME/patchline/db/advisories.sqlite`).
    pub db: Option<PathBuf>,
    /// What this process does: `api`, `worker` or `all`.
    pub role: Role,
    /// Worker threads per process (scans and rematches run on them).
    pub workers: usize,
    /// The public URL people reach the server at (links in notifications).
    pub public_url: Option<String>,
    /// How long a worker's claim on a job lasts without a heartbeat.
    pub job_lease: String,
    pub limits: Limits,
    pub hooks: Hooks,
    pub registries: Vec<RegistryConfig>,
    pub schedules: Schedules,
    pub smtp: Option<Smtp>,
    pub retention: Retention,
    /// Days to fix per severity, from when a finding is first seen.
    pub sla: Sla,
    /// A lineage catalog YAML (images, owners, tiers, teams with their channels) loaded at start.
    pub catalog: Option<PathBuf>,
    /// A policy file (patchline-policy) whose stages the server applies.
    pub policy: Option<PathBuf>,
    /// The Kubernetes admission webhook (`POST /k8s/admission`) and its HTTPS listener.
    pub admission: crate::admission::AdmissionConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            store: None,
            store_pool: 8,
            data_dir: None,
            db: None,
            role: Role::All,
            workers: 2,
            public_url: None,
            job_lease: "60s".into(),
            limits: Limits::default(),
            hooks: Hooks::default(),
            registries: Vec::new(),
            schedules: Schedules::default(),
            smtp: None,
            retention: Retention::default(),
            sla: Sla::default(),
            catalog: None,
            policy: None,
            admission: Default::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Api,
    Worker,
    #[default]
    All,
}

impl Role {
    pub fn serves_api(self) -> bool {
        matches!(self, Role::Api | Role::All)
    }
    pub fn runs_workers(self) -> bool {
        matches!(self, Role::Worker | Role::All)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "api" => Ok(Role::Api),
            "worker" => Ok(Role::Worker),
            "all" | "both" => Ok(Role::All),
            _ => Err(format!("unknown role `{s}` (api, worker or all)")),
        }
    }
}

/// Bounds on untrusted input.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, in bytes (uploads of inventories and reports included).
    pub max_body: usize,
    /// Requests are cut off after this long.
    pub request_timeout: String,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: 32 << 20,
            request_timeout: "60s".into(),
        }
    }
}

/// The registry notification endpoint's shared secret: the registry sends it in a header
/// it is configured with (`notifications.endpoints[].headers`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hooks {
    /// The header carrying the secret; `Authorization` (as `Bearer SECRET` or the bare
    /// secret) by default.
    pub header: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub secret_env: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `https://host[:port]`; `http://` only for loopback hosts.
    pub url: String,
    /// A short name; default: the host.
    #[serde(default)]
    pub name: Option<String>,
    /// Repositories to sync; empty: all of `_catalog`.
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Requests per second to this registry during a sync.
    #[serde(default = "default_rate")]
    pub rate: f64,
}

fn default_rate() -> f64 {
    10.0
}

impl RegistryConfig {
    pub fn from_url(url: &str) -> RegistryConfig {
        RegistryConfig {
            url: url.trim_end_matches('/').to_string(),
            name: None,
            repositories: Vec::new(),
            username: None,
            password_file: None,
            password_env: None,
            rate: default_rate(),
        }
    }
    /// `host[:port]` of the URL.
    pub fn host(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.url);
        rest.split('/').next().unwrap_or(rest)
    }
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.host())
    }
    /// The password from its file or variable, if one is configured.
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        secret(
            self.password_file.as_deref(),
            self.password_env.as_deref(),
            &format!("registry {}", self.name()),
        )
    }
}

/// Reads a secret named by a file or an environment variable (never logged).
pub fn secret(
    file: Option<&Path>,
    env: Option<&str>,
    what: &str,
) -> Result<Option<String>, ConfigError> {
    if let Some(f) = file {
        let s = std::fs::read_to_string(f).map_err(|e| ConfigError::Invalid {
            key: what.into(),
            message: format!("reading secret file {}: {e}", f.display()),
        })?;
        return Ok(Some(s.trim_end_matches(['\n', '\r']).to_string()));
    }
    if let Some(v) = env {
        return match std::env::var(v) {
            Ok(s) => Ok(Some(s)),
            Err(_) => Err(ConfigError::Invalid {
                key: what.into(),
                message: format!("environment variable {v} is not set"),
            }),
        };
    }
    Ok(None)
}

/// How often the periodic jobs run (`15m`, `24h`, `7d`; `off` turns one off).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedules {
    /// Walk each registry's catalog and tags.
    pub sync: String,
    /// `db update` from the network feeds (`off` for air-gapped sites, which upload feeds).
    pub db_update: String,
    /// How often the advisory DB file is checked for a new snapshot.
    pub db_watch: String,
    /// Send each team the digest of non-urgent findings.
    pub digest: String,
    /// Look for campaign items past their SLA, expiring approvals and exceptions.
    pub sla_check: String,
    /// Drop what retention no longer keeps.
    pub retention: String,
}

impl Default for Schedules {
    fn default() -> Schedules {
        Schedules {
            sync: "1h".into(),
            db_update: "off".into(),
            db_watch: "30s".into(),
            digest: "24h".into(),
            sla_check: "1h".into(),
            retention: "24h".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// `starttls` (default), `tls` or `none` (loopback relays only).
    #[serde(default = "default_smtp_security")]
    pub security: String,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_smtp_security() -> String {
    "starttls".into()
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Scan history kept (trend charts), in days.
    pub scans_days: u32,
    /// Finished jobs kept, in days.
    pub jobs_days: u32,
    /// Resolved findings kept, in days.
    pub resolved_findings_days: u32,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            scans_days: 400,
            jobs_days: 14,
            resolved_findings_days: 400,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sla {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl Default for Sla {
    fn default() -> Sla {
        Sla {
            critical: 7,
            high: 30,
            medium: 90,
            low: 180,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

/// Where the server's own state lives by default: `$XDG_DATA_HOME/patchline` (else
/// `~/.local/share/patchline`).
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("patchline");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".local/share/patchline");
    }
    PathBuf::from(".patchline")
}

impl Config {
    /// Reads `path` (when given) and the environment, then validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Config::load_with_env(path, &vars)
    }

    pub fn load_with_env(
        path: Option<&Path>,
        vars: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let (text, name) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?,
                p.display().to_string(),
            ),
            None => (String::new(), "(defaults)".to_string()),
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: name.clone(),
            message: e.to_string(),
        })?;
        overlay_env(&mut table, vars)?;
        let config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
                path: name.clone(),
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// The checks `serve --check-config` reports: addresses, URLs, durations, secrets.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if let Some(s) = &self.store {
            if s.contains("://")
                && !(s.starts_with("postgres://")
                    || s.starts_with("postgresql://")
                    || s.starts_with("sqlite://"))
            {
                return Err(invalid(
                    "store",
                    format!(
                        "`{}`: expected sqlite:PATH, a path, or postgres://...",
                        crate::db::redact_url(s)
                    ),
                ));
            }
        }
        for (i, r) in self.registries.iter().enumerate() {
            check_registry_url(&r.url).map_err(|m| invalid(&format!("registries[{i}].url"), m))?;
            if r.rate.is_nan() || r.rate <= 0.0 {
                return Err(invalid(
                    &format!("registries[{i}].rate"),
                    "must be above 0".into(),
                ));
            }
            if r.password_file.is_some() && r.password_env.is_some() {
                return Err(invalid(
                    &format!("registries[{i}]"),
                    "set password_file or password_env, not both".into(),
                ));
            }
        }
        for (key, v) in [
            ("schedules.sync", &self.schedules.sync),
            ("schedules.db_update", &self.schedules.db_update),
            ("schedules.db_watch", &self.schedules.db_watch),
            ("schedules.digest", &self.schedules.digest),
            ("schedules.sla_check", &self.schedules.sla_check),
            ("schedules.retention", &self.schedules.retention),
        ] {
            parse_schedule(v).map_err(|m| invalid(key, m))?;
        }
        if let Some(p) = &self.policy {
            // Read whole here so a bad policy stops the server at start, not every scan.
            patchline_policy::read_policy(p).map_err(|e| invalid("policy", e.to_string()))?;
        }
        if let Some(p) = &self.catalog {
            std::fs::metadata(p)
                .map_err(|e| invalid("catalog", format!("{}: {e}", p.display())))?;
        }
        parse_duration(&self.job_lease).map_err(|m| invalid("job_lease", m))?;
        parse_duration(&self.limits.request_timeout)
            .map_err(|m| invalid("limits.request_timeout", m))?;
        if self.workers == 0 && self.role.runs_workers() {
            return Err(invalid(
                "workers",
                "must be at least 1 for role worker or all".into(),
            ));
        }
        if let Some(smtp) = &self.smtp {
            if !["starttls", "tls", "none"].contains(&smtp.security.as_str()) {
                return Err(invalid(
                    "smtp.security",
                    format!("`{}`: starttls, tls or none", smtp.security),
                ));
            }
            if !smtp.from.contains('@') {
                return Err(invalid(
                    "smtp.from",
                    format!("`{}` is not an address", smtp.from),
                ));
            }
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| {
            invalid(
                "listen",
                format!(
                    "`{}`: {e} (expected HOST:PORT, e.g. 127.0.0.1:8080)",
                    self.listen
                ),
            )
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// The store's URL, the embedded SQLite file by default.
    pub fn store_url(&self) -> String {
        match &self.store {
            Some(s) => s.clone(),
            None => self.data_dir().join("server.sqlite").display().to_string(),
        }
    }

    pub fn job_lease(&self) -> Duration {
        parse_duration(&self.job_lease).unwrap_or(Duration::from_secs(60))
    }

    pub fn request_timeout(&self) -> Duration {
        parse_duration(&self.limits.request_timeout).unwrap_or(Duration::from_secs(60))
    }

    /// The registry hook's shared secret, when one is configured.
    pub fn hook_secret(&self) -> Result<Option<String>, ConfigError> {
        secret(
            self.hooks.secret_file.as_deref(),
            self.hooks.secret_env.as_deref(),
            "hooks",
        )
    }
}

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message,
    }
}

/// `https://` anywhere; `http://` only to a loopback host (a registry reached in clear
/// text over a network would hand its credentials and content to anyone on the path).
pub fn check_registry_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("`{url}`: expected https://HOST[:PORT]"));
    };
    let host_port = rest.split('/').next().unwrap_or("");
    if host_port.is_empty() {
        return Err(format!("`{url}`: no host"));
    }
    match scheme {
        "https" => Ok(()),
        "http" => {
            let host = host_of(host_port);
            if is_loopback_host(host) {
                Ok(())
            } else {
                Err(format!("`{url}`: http:// only for loopback hosts (localhost, 127.0.0.0/8, [::1]); use https://"))
            }
        }
        _ => Err(format!(
            "`{url}`: scheme `{scheme}` (expected https://, or http:// on loopback)"
        )),
    }
}

fn host_of(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host_port
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host_port)
}

pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// `30s`, `15m`, `24h`, `7d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    patchline_advisory::parse_duration(s).map_err(|e| format!("`{s}`: {e}"))
}

/// A schedule: a duration, or `off`.
pub fn parse_schedule(s: &str) -> Result<Option<Duration>, String> {
    if s == "off" {
        return Ok(None);
    }
    parse_duration(s).map(Some)
}

fn overlay_env(table: &mut toml::Table, vars: &[(String, String)]) -> Result<(), ConfigError> {
    // Sorted so array indexes grow in order (`__0__` before `__1__`).
    let sorted: BTreeMap<&str, &str> = vars
        .iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (var, raw) in sorted {
        let key = &var[ENV_PREFIX.len()..];
        let path: Vec<String> = key.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if !ENV_KEYS.contains(&path[0].as_str()) {
            // PATCHLINE_FIXTURES, PATCHLINE_TOKEN... belong to other parts.
            continue;
        }
        let value = parse_env_value(raw);
        set_path(table, &path, value).map_err(|m| ConfigError::Env {
            var: var.to_string(),
            message: m,
        })?;
    }
    Ok(())
}

/// The top-level keys the environment may set (every other `PATCHLINE_*` is someone else's).
const ENV_KEYS: &[&str] = &[
    "listen",
    "store",
    "store_pool",
    "data_dir",
    "db",
    "role",
    "workers",
    "public_url",
    "job_lease",
    "limits",
    "hooks",
    "registries",
    "schedules",
    "smtp",
    "retention",
    "sla",
    "catalog",
    "policy",
];

fn parse_env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (first, rest) = path.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let next_is_index = rest[0].parse::<usize>().is_ok();
    let entry = table.entry(first.clone()).or_insert_with(|| {
        if next_is_index {
            toml::Value::Array(Vec::new())
        } else {
            toml::Value::Table(toml::Table::new())
        }
    });
    set_in(entry, rest, value)
}

fn set_in(node: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    match node {
        toml::Value::Table(t) => set_path(t, path, value),
        toml::Value::Array(a) => {
            let idx: usize = path[0]
                .parse()
                .map_err(|_| format!("`{}` is not an index", path[0]))?;
            if idx > a.len() {
                return Err(format!(
                    "index {idx} skips {} (set them in order from 0)",
                    a.len()
                ));
            }
            if idx == a.len() {
                a.push(if path.len() > 1 {
                    toml::Value::Table(toml::Table::new())
                } else {
                    toml::Value::String(String::new())
                });
            }
            if path.len() == 1 {
                a[idx] = value;
                Ok(())
            } else {
                set_in(&mut a[idx], &path[1..], value)
            }
        }
        _ => Err(format!("`{}` is not a table", path[0])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_listen_on_loopback() {
        let c = Config::load_with_env(None, &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.role, Role::All);
    }

    #[test]
    fn environment_overrides_the_file_and_indexes_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("patchline.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:9000\"\n[sla]\ncritical = 3\n").unwrap();
        let c = Config::load_with_env(
            Some(&p),
            &env(&[
                ("PATCHLINE_LISTEN", "127.0.0.1:9100"),
                ("PATCHLINE_SLA__HIGH", "10"),
                ("PATCHLINE_REGISTRIES__0__URL", "http://127.0.0.1:5000"),
                ("PATCHLINE_REGISTRIES__0__REPOSITORIES", "[\"base\"]"),
                ("PATCHLINE_FIXTURES", "/ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9100");
        assert_eq!((c.sla.critical, c.sla.high), (3, 10));
        assert_eq!(c.registries[0].url, "http://127.0.0.1:5000");
        assert_eq!(c.registries[0].repositories, vec!["base"]);
    }

    #[test]
    fn errors_name_the_key_or_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("patchline.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:8080\"\nbogus = 1\n").unwrap();
        let e = Config::load_with_env(Some(&p), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus") && e.contains("patchline.toml"), "{e}");

        std::fs::write(
            &p,
            "[[registries]]\nurl = \"http://registry.example.com\"\n",
        )
        .unwrap();
        let e = Config::load_with_env(Some(&p), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("registries[0].url") && e.contains("loopback"),
            "{e}"
        );

        std::fs::write(&p, "[schedules]\nsync = \"often\"\n").unwrap();
        let e = Config::load_with_env(Some(&p), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("schedules.sync"), "{e}");
    }

    #[test]
    fn http_registries_only_on_loopback() {
        assert!(check_registry_url("http://127.0.0.1:5000").is_ok());
        assert!(check_registry_url("http://localhost:5000").is_ok());
        assert!(check_registry_url("http://[::1]:5000").is_ok());
        assert!(check_registry_url("http://10.0.0.1:5000").is_err());
        assert!(check_registry_url("https://ghcr.io").is_ok());
        assert!(check_registry_url("ftp://x").is_err());
    }
}
