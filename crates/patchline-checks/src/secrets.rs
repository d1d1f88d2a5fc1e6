//! Credentials in files (also in files a later layer deleted: the layer still ships
//! them), in the image config's environment and in its labels.
//!
//! # What is found
//!
//! Only formats a provider documents, so that a finding is a credential and not a word
//! that looks random: private key blocks (PEM, OpenSSH, PGP), AWS access key ids and
//! secret access keys, GCP service-account keys, GitHub, GitLab, Slack, Stripe, npm and
//! PyPI tokens (each matcher cites its format's documentation in [`patterns`]); the
//! credential files of registries (`.npmrc`, `.pypirc`, `.docker/config.json`) whatever
//! their token looks like; `.env` files; and, in the config only, environment variables
//! and labels whose name says they hold a secret (`DB_PASSWORD=...`). A generic
//! "high-entropy string" rule is left out on purpose: on a plain Debian image it finds
//! hashes and test vectors, never credentials.
//!
//! # Cost
//!
//! A file is read only when its path can hold a secret: documentation, locales, time
//! zones, dpkg's own records, the distribution's Python and Perl libraries
//! (`usr/lib/python3*`, `usr/share/perl*`), archives, images, fonts and compiled code
//! (by extension, and executables over 64 KiB) are skipped, so are empty files and
//! files over
//! [`SecretInspector::max_content_bytes`] (1 MiB; key and credential files are a few
//! KiB). A file read anyway whose first 8 KiB hold a NUL byte is binary and not
//! scanned: tokens compiled into executables are not found. A single Aho-Corasick pass
//! looks for every keyword (token prefixes, `-----BEGIN`, `aws_secret_access_key`, ...);
//! only around a keyword does a matcher check the exact format. `bench/checks.sh`
//! measures the whole cost against an inventory without checks.
//!
//! # Redaction
//!
//! A finding's message names the file, variable or label and the kind of secret, never
//! its value; [`CheckFinding::evidence`] is the value [`redact`]ed (at most its first
//! and last four characters), or a key's `-----BEGIN ... PRIVATE KEY-----` line.
//! [`check_config`] also redacts the values it flags inside the [`ImageInfo`] itself,
//! so that nothing written later shows them.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use memchr::memmem;
use patchline_model::check::{redact, CheckFinding};
use patchline_model::vuln::Severity;
use patchline_model::ImageInfo;

use crate::CheckDef;

pub mod patterns;

use patterns::Kind;

macro_rules! def {
    ($name:ident, $id:literal, $sev:ident, $title:literal, $fix:literal) => {
        pub const $name: CheckDef = CheckDef {
            id: $id,
            severity: Severity::$sev,
            title: $title,
            fix: $fix,
        };
    };
}

def!(PRIVATE_KEY, "secret.private-key", High,
    "Private key (PEM, OpenSSH or PGP block) in a file",
    "Remove the key from the image (in the layer that added it, not a later one) and rotate it; mount it at run time");
def!(AWS_ACCESS_KEY, "secret.aws-access-key", High,
    "AWS access key id (AKIA.../ASIA...)",
    "Deactivate the key in IAM, remove it from the image and give the container a role or mounted credentials");
def!(AWS_SECRET_KEY, "secret.aws-secret-key", High,
    "AWS secret access key",
    "Deactivate the key pair in IAM, remove it from the image and give the container a role or mounted credentials");
def!(GCP_SERVICE_ACCOUNT, "secret.gcp-service-account", High,
    "Google Cloud service-account key file (JSON with a private key)",
    "Delete the key in IAM, remove the file from the image and use workload identity or a mounted key");
def!(
    GITHUB_TOKEN,
    "secret.github-token",
    High,
    "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
    "Revoke the token on GitHub, remove it from the image and pass it at run time as a secret"
);
def!(
    GITLAB_TOKEN,
    "secret.gitlab-token",
    High,
    "GitLab token (glpat-, gldt-, glrt-, ...)",
    "Revoke the token in GitLab, remove it from the image and pass it at run time as a secret"
);
def!(SLACK_TOKEN, "secret.slack-token", High,
    "Slack token (xoxb-, xoxp-, xapp-, ...)",
    "Revoke the token in the Slack app's settings, remove it from the image and pass it at run time");
def!(
    STRIPE_KEY,
    "secret.stripe-key",
    High,
    "Stripe live secret or restricted key (sk_live_, rk_live_)",
    "Roll the key in the Stripe dashboard, remove it from the image and pass it at run time"
);
def!(NPM_TOKEN, "secret.npm-token", High,
    "npm access token (npm_)",
    "Revoke the token (npm token revoke), remove it from the image and use a build secret for installs");
def!(PYPI_TOKEN, "secret.pypi-token", High,
    "PyPI API token (pypi-)",
    "Revoke the token on PyPI, remove it from the image and use a build secret or trusted publishing");
def!(REGISTRY_CREDENTIALS, "secret.registry-credentials", High,
    "Package or container registry login in .npmrc, .pypirc or .docker/config.json",
    "Remove the file from the image (use a build secret: RUN --mount=type=secret) and rotate the credential");
def!(
    DOTENV,
    "secret.dotenv",
    Medium,
    "Environment file (.env) shipped in the image",
    "Keep .env files out of the image (.dockerignore) and pass settings at run time"
);
def!(CONFIG_CREDENTIAL, "secret.config-credential", Medium,
    "Environment variable or label named like a secret (PASSWORD, TOKEN, API_KEY, ...) with a value",
    "Pass the value at run time (a secret mount or an orchestrator secret) instead of ENV or LABEL");

/// Every secret check.
pub const CHECKS: &[CheckDef] = &[
    PRIVATE_KEY,
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    GCP_SERVICE_ACCOUNT,
    GITHUB_TOKEN,
    GITLAB_TOKEN,
    SLACK_TOKEN,
    STRIPE_KEY,
    NPM_TOKEN,
    PYPI_TOKEN,
    REGISTRY_CREDENTIALS,
    DOTENV,
    CONFIG_CREDENTIAL,
];

fn def_of(kind: Kind) -> &'static CheckDef {
    match kind {
        Kind::PrivateKey => &PRIVATE_KEY,
        Kind::AwsAccessKey => &AWS_ACCESS_KEY,
        Kind::AwsSecretKey => &AWS_SECRET_KEY,
        Kind::GcpServiceAccount => &GCP_SERVICE_ACCOUNT,
        Kind::Github => &GITHUB_TOKEN,
        Kind::Gitlab => &GITLAB_TOKEN,
        Kind::Slack => &SLACK_TOKEN,
        Kind::Stripe => &STRIPE_KEY,
        Kind::Npm => &NPM_TOKEN,
        Kind::Pypi => &PYPI_TOKEN,
        Kind::RegistryCredentials => &REGISTRY_CREDENTIALS,
    }
}

/// Files over this size are not read: credentials live in small files.
pub const DEFAULT_MAX_CONTENT_BYTES: u64 = 1 << 20;
/// At most this many findings per file (a dump of keys is one problem, not thousands).
const MAX_FINDINGS_PER_FILE: usize = 20;
/// Executables over this size are taken for compiled programs and not read.
const MAX_SCRIPT_BYTES: u64 = 64 << 10;
/// Bytes looked at for a NUL that says the file is binary.
const BINARY_SNIFF: usize = 8 << 10;

/// Finds secrets in the files of every layer.
#[derive(Debug, Clone)]
pub struct SecretInspector {
    pub max_content_bytes: u64,
}

impl Default for SecretInspector {
    fn default() -> Self {
        SecretInspector {
            max_content_bytes: DEFAULT_MAX_CONTENT_BYTES,
        }
    }
}

impl patchline_inventory::Inspector for SecretInspector {
    fn name(&self) -> &'static str {
        "secrets-1"
    }

    fn wants_content(&self, path: &str, mode: u32, size: u64) -> bool {
        if size == 0 {
            return false;
        }
        if credential_file(path).is_some() {
            return true;
        }
        // A large executable is compiled code, which is not scanned once read (see the
        // module doc); scripts are small.
        let compiled = mode & 0o111 != 0 && size > MAX_SCRIPT_BYTES;
        !compiled && may_hold_secrets(path)
    }

    fn max_content_bytes(&self) -> u64 {
        self.max_content_bytes
    }

    fn content(&self, path: &str, bytes: &[u8], out: &mut Vec<CheckFinding>) {
        out.extend(scan_file(path, bytes));
    }
}

/// The registry credential files, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CredentialFile {
    Npmrc,
    Pypirc,
    DockerConfig,
    Dotenv,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn credential_file(path: &str) -> Option<CredentialFile> {
    let name = file_name(path);
    match name {
        ".npmrc" | "npmrc" => Some(CredentialFile::Npmrc),
        ".pypirc" => Some(CredentialFile::Pypirc),
        "config.json" if path.ends_with(".docker/config.json") => {
            Some(CredentialFile::DockerConfig)
        }
        ".env" => Some(CredentialFile::Dotenv),
        _ => {
            let suffix = name.strip_prefix(".env.")?;
            // Templates hold placeholders by convention, not values.
            (!matches!(
                suffix,
                "example" | "sample" | "template" | "dist" | "defaults" | "tmpl"
            ))
            .then_some(CredentialFile::Dotenv)
        }
    }
}

/// Directories that hold no credentials in any image seen (documentation, locales,
/// time zones, dpkg's records: the inventory reads those itself), and files whose
/// extension says compressed, compiled or media content.
fn may_hold_secrets(path: &str) -> bool {
    const SKIP_DIRS: &[&str] = &[
        "usr/share/doc/",
        "usr/share/man/",
        "usr/share/info/",
        "usr/share/locale/",
        "usr/share/zoneinfo/",
        "usr/share/i18n/",
        "usr/share/icons/",
        "usr/share/fonts/",
        "usr/share/mime/",
        "usr/share/terminfo/",
        "usr/lib/locale/",
        // The distribution's own language libraries (dpkg owns them; an image's own
        // code goes to usr/local, opt, srv, home, app, ...).
        "usr/lib/python3",
        "usr/share/perl",
        "usr/lib/x86_64-linux-gnu/perl",
        "usr/lib/aarch64-linux-gnu/perl",
        "var/lib/dpkg/",
        "var/cache/debconf/",
        "proc/",
        "sys/",
        "dev/",
    ];
    const SKIP_EXT: &[&str] = &[
        "gz", "xz", "bz2", "zst", "lz4", "zip", "jar", "war", "whl", "deb", "rpm", "apk", "png",
        "jpg", "jpeg", "gif", "ico", "svg", "woff", "woff2", "ttf", "otf", "mo", "pyc", "pyo",
        "class", "o", "a", "so", "wasm", "node", "bin", "dat", "db", "sqlite", "md5sums",
    ];
    if SKIP_DIRS.iter().any(|d| path.starts_with(d)) {
        return false;
    }
    let name = file_name(path);
    // `libfoo.so.1.2`: a shared object whatever its version suffix.
    if name.contains(".so.") {
        return false;
    }
    match name.rsplit_once('.') {
        Some((_, ext)) => !SKIP_EXT.iter().any(|e| ext.eq_ignore_ascii_case(e)),
        None => true,
    }
}

/// The 1-based line of byte offset `at`.
fn line_of(bytes: &[u8], at: usize) -> u32 {
    let n = memchr::memchr_iter(b'\n', &bytes[..at.min(bytes.len())]).count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::PrivateKey => "private key",
        Kind::AwsAccessKey => "AWS access key id",
        Kind::AwsSecretKey => "AWS secret access key",
        Kind::GcpServiceAccount => "GCP service-account key",
        Kind::Github => "GitHub token",
        Kind::Gitlab => "GitLab token",
        Kind::Slack => "Slack token",
        Kind::Stripe => "Stripe live key",
        Kind::Npm => "npm token",
        Kind::Pypi => "PyPI token",
        Kind::RegistryCredentials => "registry login",
    }
}

/// The evidence of a match: a key's header line as it is, a service-account file's
/// type, anything else redacted.
fn evidence(kind: Kind, matched: &[u8]) -> String {
    let s = String::from_utf8_lossy(matched);
    match kind {
        Kind::PrivateKey => s.into_owned(),
        // The matched text is the file's type, not its key.
        Kind::GcpServiceAccount => "\"type\": \"service_account\"".to_string(),
        _ => redact(&s),
    }
}

/// The secrets in one file's content (`path` image-root-relative), each finding with
/// its path and line.
pub fn scan_file(path: &str, bytes: &[u8]) -> Vec<CheckFinding> {
    let cred = credential_file(path);
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF)];
    if cred.is_none() && (sniff.starts_with(b"\x7fELF") || memchr::memchr(0, sniff).is_some()) {
        return Vec::new();
    }
    let mut matches = patterns::find(bytes);
    match cred {
        Some(CredentialFile::Npmrc) => matches.extend(patterns::npmrc_logins(bytes)),
        Some(CredentialFile::Pypirc) => matches.extend(patterns::pypirc_logins(bytes)),
        Some(CredentialFile::DockerConfig) => matches.extend(patterns::docker_logins(bytes)),
        Some(CredentialFile::Dotenv) | None => {}
    }
    let matches = patterns::dedupe(matches);
    let mut out = Vec::new();
    if cred == Some(CredentialFile::Dotenv) {
        let names = dotenv_names(bytes);
        if !names.is_empty() {
            let mut shown = names
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if names.len() > 10 {
                shown.push_str(", ...");
            }
            let mut f = DOTENV.finding(format!(
                "environment file {path} sets {} variable(s): {shown}",
                names.len()
            ));
            f.path = Some(path.to_string());
            out.push(f);
        }
    }
    for m in matches.into_iter().take(MAX_FINDINGS_PER_FILE) {
        let mut f = def_of(m.kind).finding(format!("{} in {path}", describe(m.kind)));
        f.path = Some(path.to_string());
        f.line = Some(line_of(bytes, m.start));
        f.evidence = Some(evidence(m.kind, &bytes[m.start..m.end]));
        out.push(f);
    }
    out
}

/// The variable names a `.env` file sets to a non-empty value.
fn dotenv_names(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
            && !value.is_empty()
        {
            names.push(name.to_string());
        }
    }
    names
}

/// Secrets in the image config's `Env` values and label values: findings with path
/// `config.Env` / `config.Labels`, whose message names the variable or label, never
/// the value; each flagged value is redacted in `info` itself (the matched token, or
/// the whole value of a variable flagged by its name), so that no output shows it.
pub fn check_config(info: &mut ImageInfo) -> Vec<CheckFinding> {
    let mut out = Vec::new();
    if let Some(config) = info.config.as_mut() {
        for entry in &mut config.env {
            let Some((name, value)) = entry.split_once('=') else {
                continue;
            };
            let (name, value) = (name.to_string(), value.to_string());
            if let Some(redacted) = check_value(&name, &value, "variable", "config.Env", &mut out) {
                *entry = format!("{name}={redacted}");
            }
        }
    }
    for (name, value) in info.labels.iter_mut() {
        if let Some(redacted) = check_value(name, value, "label", "config.Labels", &mut out) {
            *value = redacted;
        }
    }
    out
}

/// Findings for one config value; the redacted value when anything was found.
fn check_value(
    name: &str,
    value: &str,
    what: &str,
    field: &str,
    out: &mut Vec<CheckFinding>,
) -> Option<String> {
    let bytes = value.as_bytes();
    let matches = patterns::dedupe(patterns::find(bytes));
    if !matches.is_empty() {
        let mut redacted = String::new();
        let mut at = 0;
        for m in &matches {
            let mut f = def_of(m.kind).finding(format!(
                "{} in the {what} {name} of the image config",
                describe(m.kind)
            ));
            f.path = Some(field.to_string());
            f.evidence = Some(evidence(m.kind, &bytes[m.start..m.end]));
            out.push(f);
            if m.start >= at {
                redacted.push_str(&value[at..m.start]);
                redacted.push_str(&redact(&value[m.start..m.end]));
                at = m.end;
            }
        }
        redacted.push_str(&value[at..]);
        // A key block's body is the secret, not its header: hide the whole value.
        if matches
            .iter()
            .any(|m| matches!(m.kind, Kind::PrivateKey | Kind::GcpServiceAccount))
        {
            redacted = redact(value);
        }
        return Some(redacted);
    }
    if named_like_secret(name) && looks_like_a_value(value) {
        let mut f = CONFIG_CREDENTIAL.finding(format!(
            "the {what} {name} of the image config is named like a secret and has a value"
        ));
        f.path = Some(field.to_string());
        f.evidence = Some(redact(value));
        out.push(f);
        return Some(redact(value));
    }
    None
}

/// `DB_PASSWORD`, `api-key`, `com.example.deploy-token`: the name says secret. Names
/// of a file or a place holding one (`*_FILE`, `*_PATH`, `*_DIR`) do not.
fn named_like_secret(name: &str) -> bool {
    let n: String = name
        .chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
        "AUTH_KEY",
    ];
    const NOT: &[&str] = &["_FILE", "_PATH", "_DIR", "_URL_FILE"];
    WORDS.iter().any(|w| n.contains(w)) && !NOT.iter().any(|s| n.ends_with(s))
}

/// A value that could be a secret: not empty, no placeholder or reference, no path.
fn looks_like_a_value(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 6
        && !v.starts_with('/')
        && !v.starts_with("${")
        && !v.starts_with('<')
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "changeme" | "change_me" | "none" | "null" | "secret" | "password" | "example"
        )
}

/// The Aho-Corasick automaton over every keyword, built once.
fn automaton() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        // Leftmost-first keeps the fast prefilter; no keyword starts inside another's
        // token at the same place, so no overlapping search is needed.
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(patterns::KEYWORDS.iter().map(|(k, _)| k))
            .expect("the keyword list is a valid automaton")
    })
}

/// Whether `needle` occurs in `hay` (used by the matchers).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memmem::find(hay, needle).is_some()
}

#[cfg(test)]
mod tests;
