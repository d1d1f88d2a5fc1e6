//! Findings of the security checks (image configuration, filesystem, secrets,
//! Containerfile lint): the second kind of finding a scan reports beside
//! vulnerabilities, rendered by the same formats and judged by the same policy stage.
//!
//! A check finding is identified by a stable check id (`secret.aws-access-key`,
//! `fs.setuid`, `config.root-user`, `containerfile.unpinned-base`); `docs/checks.md`
//! lists every id with its fix. Its text never carries a secret: whatever matched is
//! kept only as [`CheckFinding::evidence`], redacted before it is stored.

use serde::{Deserialize, Serialize};

use crate::vuln::Severity;
use crate::LayerRef;

/// The family of a check, the first segment of its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// The image configuration (user, ports, environment, labels, healthcheck, age).
    Config,
    /// File modes and leftovers in the layers (setuid, world-writable, caches).
    Fs,
    /// Credentials in files, the environment or labels.
    Secret,
    /// The Containerfile the image is built from.
    Containerfile,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Config => "config",
            CheckKind::Fs => "fs",
            CheckKind::Secret => "secret",
            CheckKind::Containerfile => "containerfile",
        }
    }

    /// The kind a check id belongs to (`secret.private-key` → [`CheckKind::Secret`]).
    pub fn of_id(id: &str) -> Option<CheckKind> {
        match id.split('.').next()? {
            "config" => Some(CheckKind::Config),
            "fs" => Some(CheckKind::Fs),
            "secret" => Some(CheckKind::Secret),
            "containerfile" => Some(CheckKind::Containerfile),
            _ => None,
        }
    }
}

/// One problem a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFinding {
    /// Stable check id, `<kind>.<name>`: `secret.aws-access-key`.
    pub id: String,
    pub severity: Severity,
    /// The check's one-line title, the same for every finding of the check (`AWS
    /// access key`): what SARIF rules and summaries show.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// One line saying what is wrong here: `AWS access key in etc/app/credentials`.
    pub message: String,
    /// One line saying how to fix it (the same for every finding of the check).
    pub fix: String,
    /// The layer that holds the file (filesystem and secret checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
    /// The file (image-root-relative, no leading slash), the config field
    /// (`config.Env`, `config.Labels`) or the Containerfile path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The 1-based line in `path` (secrets in text files, Containerfile lint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// A later layer deleted the file: a container does not see it, but the image still
    /// ships it in [`layer`](Self::layer), where anyone who pulls the image can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_in: Option<LayerRef>,
    /// What matched, redacted (`AKIA************MPLE`, `-----BEGIN RSA PRIVATE KEY-----`)
    /// or a size (`312 MiB`): never the secret itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl CheckFinding {
    pub fn new(
        id: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> CheckFinding {
        CheckFinding {
            id: id.into(),
            severity,
            title: String::new(),
            message: message.into(),
            fix: fix.into(),
            layer: None,
            path: None,
            line: None,
            removed_in: None,
            evidence: None,
        }
    }

    /// This finding with the check's title.
    pub fn titled(mut self, title: impl Into<String>) -> CheckFinding {
        self.title = title.into();
        self
    }

    pub fn kind(&self) -> Option<CheckKind> {
        CheckKind::of_id(&self.id)
    }

    /// Where the finding is, as one line: `layer 3 etc/app/key.pem:12 (deleted in layer 4)`.
    pub fn location(&self) -> String {
        let mut s = String::new();
        if let Some(l) = &self.layer {
            s.push_str(&format!("layer {}", l.index));
        }
        if let Some(p) = &self.path {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(p);
            if let Some(n) = self.line {
                s.push_str(&format!(":{n}"));
            }
        }
        if let Some(r) = &self.removed_in {
            s.push_str(&format!(" (deleted in layer {})", r.index));
        }
        s
    }
}

/// Redacts a matched secret for display: keeps at most the first and last four
/// characters of a long value (enough to find which key it is), none of a short one.
/// The stars stand for at most 12 characters, so a 100-character token does not fill a
/// terminal line.
pub fn redact(secret: &str) -> String {
    const STARS: usize = 12;
    let chars: Vec<char> = secret.chars().collect();
    let n = chars.len();
    if n >= 16 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat((n - 8).min(STARS)))
    } else {
        "*".repeat(n.clamp(8, STARS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_middle_of_long_values_and_all_of_short_ones() {
        assert_eq!(redact("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
        assert_eq!(redact("hunter2"), "********");
        let long = format!("ghp_{}", "x".repeat(96));
        assert_eq!(redact(&long), "ghp_************xxxx");
        assert!(!redact("0123456789abcdef").contains("4567"));
    }

    #[test]
    fn kinds_come_from_the_id() {
        assert_eq!(CheckKind::of_id("fs.setuid"), Some(CheckKind::Fs));
        assert_eq!(
            CheckKind::of_id("containerfile.unpinned-base"),
            Some(CheckKind::Containerfile)
        );
        assert_eq!(CheckKind::of_id("bogus"), None);
    }

    #[test]
    fn location_names_layer_path_line_and_removal() {
        let mut f = CheckFinding::new("secret.private-key", Severity::High, "m", "f");
        f.layer = Some(LayerRef {
            index: 2,
            diff_id: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                .parse()
                .unwrap(),
        });
        f.path = Some("root/.ssh/id_rsa".into());
        f.line = Some(1);
        f.removed_in = Some(LayerRef {
            index: 3,
            ..f.layer.clone().unwrap()
        });
        assert_eq!(
            f.location(),
            "layer 2 root/.ssh/id_rsa:1 (deleted in layer 3)"
        );
    }
}
