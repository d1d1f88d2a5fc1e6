//! Teams of the catalog file (`teams:`): who owns images, how to reach them, what is
//! urgent for them and how often they get a digest of the rest.
//!
//! ```yaml
//! teams:
//!   - name: platform
//!     notify:
//!       - webhook: { url: https://hooks.example/patchline, secret_env: PLATFORM_HOOK_SECRET }
//!       - slack: { url_file: /run/secrets/platform-slack }
//!       - email: { to: [platform@example.com] }
//!     immediate: [kev, critical]     # the default
//!     digest: daily                  # daily | weekly | off
//!   - name: security
//!     security: true                 # receives escalations (campaign SLAs)
//!     notify: [ { email: { to: [sec@example.com] } } ]
//!   - name: dba
//!     vendor_relationships: [vendor.example/db/server:9.1]
//! ```
//!
//! Secrets never sit in the file: a webhook's signing secret and a Slack incoming-webhook
//! URL (whose path is the credential) are named by file or environment variable, read
//! when a message is sent. Each channel entry names exactly one kind.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// At most this many teams, channels per team and addresses per e-mail channel.
pub const MAX_TEAMS: usize = 10_000;
pub const MAX_CHANNELS: usize = 16;
pub const MAX_RECIPIENTS: usize = 100;

/// One team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// What catalog owners (`owner: { team: ... }`) name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Channel>,
    /// What is sent at once; the rest waits for the digest.
    #[serde(default = "default_immediate")]
    pub immediate: Vec<Urgency>,
    #[serde(default)]
    pub digest: DigestFrequency,
    /// The security team: receives escalations of overdue campaign items.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub security: bool,
    /// COTS images (catalogued references) whose vendor this team deals with: their
    /// findings come here, marked "vendor must fix".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor_relationships: Vec<String>,
}

fn default_immediate() -> Vec<Urgency> {
    vec![Urgency::Kev, Urgency::Critical]
}

/// What makes a finding urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    /// In CISA's Known Exploited Vulnerabilities catalog.
    Kev,
    Critical,
    High,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestFrequency {
    #[default]
    Daily,
    Weekly,
    Off,
}

/// One way to reach a team: exactly one of the three kinds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<Slack>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

impl Channel {
    /// `webhook`, `slack` or `email`.
    pub fn kind(&self) -> &'static str {
        if self.webhook.is_some() {
            "webhook"
        } else if self.slack.is_some() {
            "slack"
        } else {
            "email"
        }
    }
}

/// A generic webhook: JSON bodies signed with HMAC-SHA256 (the secret from a file or
/// an environment variable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// A Slack-compatible incoming webhook; its URL is a secret, so only where to read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub to: Vec<String>,
}

impl Team {
    /// Is a finding of this severity (and KEV status) sent at once?
    pub fn is_immediate(&self, severity: &str, kev: bool) -> bool {
        self.immediate.iter().any(|u| match u {
            Urgency::Kev => kev,
            Urgency::Critical => severity.eq_ignore_ascii_case("critical"),
            Urgency::High => {
                severity.eq_ignore_ascii_case("critical") || severity.eq_ignore_ascii_case("high")
            }
        })
    }
}

/// Checks teams as a whole: every problem listed with the team it belongs to.
pub fn validate(teams: &[Team]) -> Result<()> {
    let mut problems = Vec::new();
    if teams.len() > MAX_TEAMS {
        problems.push(format!("{} teams, more than {MAX_TEAMS}", teams.len()));
    }
    let mut seen = BTreeSet::new();
    for (i, t) in teams.iter().enumerate() {
        let label = format!(
            "team #{} ({})",
            i + 1,
            t.name.chars().take(100).collect::<String>()
        );
        if t.name.trim().is_empty() {
            problems.push(format!("team #{}: empty name", i + 1));
            continue;
        }
        if !seen.insert(t.name.as_str()) {
            problems.push(format!("{label}: duplicate team name"));
        }
        if t.notify.len() > MAX_CHANNELS {
            problems.push(format!("{label}: more than {MAX_CHANNELS} notify entries"));
        }
        for (j, c) in t.notify.iter().enumerate() {
            let at = format!("{label}: notify #{}", j + 1);
            let kinds =
                c.webhook.is_some() as u8 + c.slack.is_some() as u8 + c.email.is_some() as u8;
            if kinds != 1 {
                problems.push(format!("{at}: name exactly one of webhook, slack, email"));
                continue;
            }
            if let Some(w) = &c.webhook {
                if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                    problems.push(format!("{at}: webhook url must be http(s)"));
                }
                if w.secret_file.is_some() == w.secret_env.is_some() {
                    problems.push(format!(
                        "{at}: webhook needs exactly one of secret_file, secret_env"
                    ));
                }
            }
            if let Some(s) = &c.slack {
                if s.url_file.is_some() == s.url_env.is_some() {
                    problems.push(format!(
                        "{at}: slack needs exactly one of url_file, url_env (the URL is a secret)"
                    ));
                }
            }
            if let Some(e) = &c.email {
                if e.to.is_empty() || e.to.len() > MAX_RECIPIENTS {
                    problems.push(format!("{at}: email needs 1 to {MAX_RECIPIENTS} addresses"));
                }
                for a in &e.to {
                    if !a.contains('@') || a.contains(['\r', '\n', ' ', ',']) {
                        problems.push(format!("{at}: {a:?} is not an address"));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(crate::catalog_file::problems_error(problems))
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog_file::{parse, parse_teams};

    use super::*;

    const FILE: &str = r#"
version: 1
images:
  - reference: registry.example/platform/debian:12
    tier: base
    owner: { team: platform }
teams:
  - name: platform
    notify:
      - webhook: { url: "https://hooks.example/p", secret_env: HOOK_SECRET }
      - slack: { url_file: /run/secrets/slack }
      - email: { to: [platform@example.com] }
    digest: weekly
  - name: security
    security: true
    immediate: [kev, critical, high]
    notify: [ { email: { to: [sec@example.com] } } ]
  - name: dba
    digest: "off"
    vendor_relationships: [vendor.example/db/server:9.1]
"#;

    #[test]
    fn parses_teams_beside_images() {
        assert_eq!(parse(FILE).unwrap().len(), 1);
        let t = parse_teams(FILE).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].notify.len(), 3);
        assert_eq!(t[0].notify[1].kind(), "slack");
        assert_eq!(t[0].immediate, [Urgency::Kev, Urgency::Critical]);
        assert_eq!(t[0].digest, DigestFrequency::Weekly);
        assert!(t[1].security && t[1].is_immediate("high", false));
        assert!(!t[0].is_immediate("high", false) && t[0].is_immediate("low", true));
        assert_eq!(t[2].digest, DigestFrequency::Off);
        assert_eq!(t[2].vendor_relationships, ["vendor.example/db/server:9.1"]);
    }

    #[test]
    fn files_without_teams_still_load() {
        let text = "images:\n  - reference: a.example/x:1\n    tier: base\n";
        assert_eq!(parse(text).unwrap().len(), 1);
        assert!(parse_teams(text).unwrap().is_empty());
    }

    #[test]
    fn unknown_keys_and_bad_channels_are_named() {
        let err = parse_teams("teams:\n  - name: a\n    notfy: []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("notfy") && err.contains("line 3"), "{err}");
        // The images part refuses the same document: one file, one verdict.
        assert!(parse("teams:\n  - name: a\n    notfy: []\n").is_err());
        let err = parse_teams(
            "teams:\n  - name: a\n    notify:\n      - webhook: { url: \"https://h.example\" }\n      - slack: { url: \"https://hooks.slack.com/x\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("url"), "{err}");
        let err = parse_teams(
            "teams:\n  - name: a\n    notify:\n      - webhook: { url: \"https://h.example\" }\n      - email: { to: [] }\n  - name: a\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("3 problems"), "{err}");
        assert!(err.contains("secret_file, secret_env"), "{err}");
        assert!(err.contains("duplicate team name"), "{err}");
        assert!(parse_teams("teams:\n  - name: a\n    digest: hourly\n").is_err());
    }
}
