//! Checks of the image configuration: how a container of the image runs (user, ports,
//! healthcheck), what it was built on (the OCI base annotations), how old it is, and
//! which ownership labels it carries. Secrets in `Env` and labels are the secret checks'
//! business ([`crate::secrets`]), not these.
//!
//! Input is [`ImageInfo`] as patchline-image fills it from the image config and the
//! manifest. An input without a config (an SBOM, `dir:`) gets no findings at all: the
//! caller reports that the config checks did not run, which is not the same as passing.
//!
//! # Choices
//! - **Root** ([`ROOT_USER`]): `User` absent or empty, or a user part of `root` or `0`
//!   (`0:0`, `root:staff`, `0:1000`). A name that maps to UID 0 in the image's
//!   `/etc/passwd` is not looked up; `1000:0` (a root *group*) is not root.
//! - **Ports**: exposing 22 ([`EXPOSED_SSH_PORT`], medium) means an SSH server in a
//!   container, which should be `docker exec` instead. Another privileged port (below
//!   1024) other than 80 and 443 is [`EXPOSED_PORT`] (low): it needs a capability to
//!   bind, and is often a service (telnet, SMB, databases on their classic ports) that
//!   should not face the network from a container. Unprivileged ports are not flagged.
//!   A range (`8000-8010/tcp`) counts for every port it covers.
//! - **Healthcheck** ([`NO_HEALTHCHECK`], low): none set, an empty test, or
//!   `HEALTHCHECK NONE` (an explicit opt-out is still no healthcheck; an exception
//!   records the decision).
//! - **`latest` base** ([`LATEST_BASE`]): from `org.opencontainers.image.base.name`
//!   (manifest annotations first, then labels): a name without a tag or tagged `latest`,
//!   when neither the name nor `org.opencontainers.image.base.digest` gives a digest.
//!   A missing annotation says nothing (most builders do not write it).
//! - **Age** ([`IMAGE_AGE`], only with [`ConfigOptions::max_age_days`]): `created` older
//!   than that many days before [`ConfigOptions::today`]. A `created` that is missing,
//!   unparsable (not RFC 3339) or a placeholder (the Unix epoch or earlier: reproducible
//!   builds write 1970-01-01) is reported too, as an unknown age: a policy that asks for
//!   a maximum age cannot be shown to hold.
//! - **Labels** ([`MISSING_LABEL`]): each name of [`ConfigOptions::required_labels`]
//!   that neither the config labels nor the manifest annotations carry with a non-empty
//!   value; one finding per label.

use patchline_model::vuln::Severity;
use patchline_model::{ContainerConfig, ImageInfo};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::{CheckDef, CheckFinding};

pub const ROOT_USER: CheckDef = CheckDef {
    id: "config.root-user",
    severity: Severity::Medium,
    title: "The image runs as root (no USER, or USER root / 0)",
    fix: "Set a non-root USER (name or UID) in the final stage of the Containerfile",
};
pub const EXPOSED_SSH_PORT: CheckDef = CheckDef {
    id: "config.exposed-ssh-port",
    severity: Severity::Medium,
    title: "The image exposes port 22 (SSH)",
    fix: "Remove the SSH server and EXPOSE 22; use docker exec / kubectl exec to get a shell",
};
pub const EXPOSED_PORT: CheckDef = CheckDef {
    id: "config.exposed-port",
    severity: Severity::Low,
    title: "The image exposes a privileged port (below 1024) other than 80 and 443",
    fix: "Listen on an unprivileged port (1024 and up) and map it at run time, or drop the EXPOSE",
};
pub const NO_HEALTHCHECK: CheckDef = CheckDef {
    id: "config.no-healthcheck",
    severity: Severity::Low,
    title: "The image sets no HEALTHCHECK",
    fix: "Add a HEALTHCHECK that probes the service (or rely on the orchestrator's probes and record an exception)",
};
pub const LATEST_BASE: CheckDef = CheckDef {
    id: "config.latest-base",
    severity: Severity::Medium,
    title: "The base image annotation names `latest` (or no tag) without a digest",
    fix: "Build FROM a version tag with its digest so the base annotation records exactly what was used",
};
pub const IMAGE_AGE: CheckDef = CheckDef {
    id: "config.image-age",
    severity: Severity::Medium,
    title: "The image is older than the maximum age, or its age is unknown",
    fix: "Rebuild the image on a current base (and set `created` to the build time)",
};
pub const MISSING_LABEL: CheckDef = CheckDef {
    id: "config.missing-label",
    severity: Severity::Low,
    title: "A required label is missing",
    fix: "Add the label at build time (LABEL name=value, or --label)",
};

/// Every image config check.
pub const CHECKS: &[CheckDef] = &[
    ROOT_USER,
    EXPOSED_SSH_PORT,
    EXPOSED_PORT,
    NO_HEALTHCHECK,
    LATEST_BASE,
    IMAGE_AGE,
    MISSING_LABEL,
];

const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// What the config checks compare against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigOptions {
    /// Labels every image must carry (`org.opencontainers.image.authors`, `team`).
    pub required_labels: Vec<String>,
    /// Report images whose `created` is more than this many days before `today`.
    pub max_age_days: Option<u32>,
    /// The day ages are counted to.
    pub today: Date,
}

impl Default for ConfigOptions {
    /// No required labels, no maximum age, today in UTC.
    fn default() -> Self {
        ConfigOptions {
            required_labels: Vec::new(),
            max_age_days: None,
            today: OffsetDateTime::now_utc().date(),
        }
    }
}

/// The config findings of an image, in [`CHECKS`] order; none when the input has no
/// image config.
pub fn check_config(info: &ImageInfo, opts: &ConfigOptions) -> Vec<CheckFinding> {
    let Some(config) = &info.config else {
        return Vec::new();
    };
    let mut out = Vec::new();
    root_user(config, &mut out);
    ports(config, &mut out);
    healthcheck(config, &mut out);
    latest_base(info, &mut out);
    if let Some(max) = opts.max_age_days {
        age(info, max, opts.today, &mut out);
    }
    labels(info, &opts.required_labels, &mut out);
    out
}

fn finding(def: &CheckDef, message: String, path: &str, evidence: Option<String>) -> CheckFinding {
    let mut f = def.finding(message);
    f.path = Some(path.to_string());
    f.evidence = evidence;
    f
}

fn root_user(config: &ContainerConfig, out: &mut Vec<CheckFinding>) {
    let user = config.user.as_deref().unwrap_or("").trim();
    let message = if user.is_empty() {
        "the image sets no user: containers run as root".to_string()
    } else {
        let name = user.split(':').next().unwrap_or("");
        if name != "root" && name != "0" {
            return;
        }
        format!("the image runs as user {user}")
    };
    out.push(finding(
        &ROOT_USER,
        message,
        "config.User",
        (!user.is_empty()).then(|| user.to_string()),
    ));
}

/// `80/tcp`, `53`, `8000-8010/udp` → the first and last port.
fn port_range(key: &str) -> Option<(u32, u32)> {
    let ports = key.split('/').next()?.trim();
    let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
    let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
    (a <= b && b <= 65535).then_some((a, b))
}

fn ports(config: &ContainerConfig, out: &mut Vec<CheckFinding>) {
    let mut keys: Vec<&String> = config.exposed_ports.iter().collect();
    keys.sort_by_key(|k| port_range(k));
    for key in keys {
        let Some((first, last)) = port_range(key) else {
            continue;
        };
        if (first..=last).contains(&22) {
            out.push(finding(
                &EXPOSED_SSH_PORT,
                format!("the image exposes {key}: SSH"),
                "config.ExposedPorts",
                Some(key.clone()),
            ));
        }
        let privileged = (first..=last.min(1023)).any(|p| !matches!(p, 22 | 80 | 443));
        if privileged {
            out.push(finding(
                &EXPOSED_PORT,
                format!("the image exposes privileged port {key}"),
                "config.ExposedPorts",
                Some(key.clone()),
            ));
        }
    }
}

fn healthcheck(config: &ContainerConfig, out: &mut Vec<CheckFinding>) {
    let message = match config.healthcheck.as_deref() {
        None | Some([]) => "the image sets no HEALTHCHECK".to_string(),
        Some([none]) if none.eq_ignore_ascii_case("NONE") => {
            "the image disables the healthcheck (HEALTHCHECK NONE)".to_string()
        }
        Some(_) => return,
    };
    out.push(finding(
        &NO_HEALTHCHECK,
        message,
        "config.Healthcheck",
        None,
    ));
}

fn latest_base(info: &ImageInfo, out: &mut Vec<CheckFinding>) {
    let lookup = |key: &str| {
        [
            (&info.annotations, "annotations"),
            (&info.labels, "config.Labels"),
        ]
        .into_iter()
        .find_map(|(m, at)| {
            m.get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (v.to_string(), at))
        })
    };
    let Some((name, at)) = lookup(BASE_NAME) else {
        return;
    };
    if name.contains('@') || lookup(BASE_DIGEST).is_some() {
        return;
    }
    let last = name.rsplit('/').next().unwrap_or(&name);
    let message = match last.split_once(':') {
        None => format!("the image was built on {name}: no tag (`latest`) and no base digest"),
        Some((_, "latest")) => format!("the image was built on {name} without a base digest"),
        Some(_) => return,
    };
    out.push(finding(
        &LATEST_BASE,
        message,
        &format!("{at}.{BASE_NAME}"),
        Some(name),
    ));
}

fn age(info: &ImageInfo, max_days: u32, today: Date, out: &mut Vec<CheckFinding>) {
    let created = info.created.as_deref().map(str::trim).unwrap_or("");
    let parsed = OffsetDateTime::parse(created, &Rfc3339).ok();
    let message = match parsed {
        None if created.is_empty() => {
            format!("the image has no creation time: its age is unknown (maximum {max_days} days)")
        }
        None => format!(
            "the image's creation time {created:?} is not RFC 3339: its age is unknown (maximum {max_days} days)"
        ),
        Some(t) if t.unix_timestamp() <= 0 => format!(
            "the image's creation time {created} is a placeholder (reproducible build): its age is unknown (maximum {max_days} days)"
        ),
        Some(t) => {
            let days = (today - t.to_offset(time::UtcOffset::UTC).date()).whole_days();
            if days <= i64::from(max_days) {
                return;
            }
            format!(
                "the image was created on {}, {days} days ago (maximum {max_days})",
                t.date()
            )
        }
    };
    out.push(finding(
        &IMAGE_AGE,
        message,
        "created",
        (!created.is_empty()).then(|| created.to_string()),
    ));
}

fn labels(info: &ImageInfo, required: &[String], out: &mut Vec<CheckFinding>) {
    for name in required {
        let present = [&info.labels, &info.annotations]
            .iter()
            .any(|m| m.get(name).is_some_and(|v| !v.trim().is_empty()));
        if !present {
            out.push(finding(
                &MISSING_LABEL,
                format!("the image has no label {name}"),
                "config.Labels",
                None,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn image(config: ContainerConfig) -> ImageInfo {
        ImageInfo {
            reference: "oci:x:y".into(),
            created: Some("2026-11-01T10:00:00Z".into()),
            config: Some(config),
            ..Default::default()
        }
    }

    /// A config that passes every check with the default options.
    fn good() -> ContainerConfig {
        ContainerConfig {
            user: Some("10001".into()),
            exposed_ports: vec!["8080/tcp".into(), "443/tcp".into(), "80/tcp".into()],
            healthcheck: Some(vec!["CMD".into(), "/healthz".into()]),
            ..Default::default()
        }
    }

    fn opts() -> ConfigOptions {
        ConfigOptions {
            today: date!(2026 - 12 - 07),
            ..Default::default()
        }
    }

    fn ids(info: &ImageInfo, o: &ConfigOptions) -> Vec<String> {
        check_config(info, o).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_good_image_passes() {
        assert_eq!(ids(&image(good()), &opts()), Vec::<String>::new());
    }

    #[test]
    fn no_config_no_findings() {
        let mut i = image(ContainerConfig::default());
        i.config = None;
        let o = ConfigOptions {
            required_labels: vec!["team".into()],
            max_age_days: Some(1),
            ..opts()
        };
        assert!(check_config(&i, &o).is_empty());
    }

    #[test]
    fn root_users() {
        for user in [
            None,
            Some(""),
            Some("0"),
            Some("root"),
            Some("0:0"),
            Some("root:staff"),
            Some(" 0:1000 "),
        ] {
            let i = image(ContainerConfig {
                user: user.map(str::to_string),
                ..good()
            });
            let f = check_config(&i, &opts());
            assert_eq!(f.len(), 1, "{user:?}");
            assert_eq!(f[0].id, "config.root-user");
            assert_eq!(f[0].path.as_deref(), Some("config.User"));
        }
        for user in ["app", "1000", "1000:0", "nobody:nogroup", "rooty"] {
            let i = image(ContainerConfig {
                user: Some(user.into()),
                ..good()
            });
            assert!(check_config(&i, &opts()).is_empty(), "{user}");
        }
    }

    #[test]
    fn exposed_ports() {
        let i = image(ContainerConfig {
            exposed_ports: vec![
                "8080/tcp".into(),
                "22/tcp".into(),
                "80/tcp".into(),
                "443/tcp".into(),
                "53/udp".into(),
                "23".into(),
                "1024/tcp".into(),
                "20-22/tcp".into(),
                "bogus/tcp".into(),
            ],
            ..good()
        });
        let f: Vec<(String, String)> = check_config(&i, &opts())
            .into_iter()
            .map(|f| (f.id, f.evidence.unwrap()))
            .collect();
        assert_eq!(
            f,
            [
                (
                    "config.exposed-ssh-port".to_string(),
                    "20-22/tcp".to_string()
                ),
                ("config.exposed-port".to_string(), "20-22/tcp".to_string()),
                ("config.exposed-ssh-port".to_string(), "22/tcp".to_string()),
                ("config.exposed-port".to_string(), "23".to_string()),
                ("config.exposed-port".to_string(), "53/udp".to_string()),
            ]
        );
        assert_eq!(EXPOSED_SSH_PORT.severity, Severity::Medium);
        assert_eq!(EXPOSED_PORT.severity, Severity::Low);
    }

    #[test]
    fn healthchecks() {
        for hc in [None, Some(vec![]), Some(vec!["NONE".to_string()])] {
            let i = image(ContainerConfig {
                healthcheck: hc.clone(),
                ..good()
            });
            assert_eq!(ids(&i, &opts()), ["config.no-healthcheck"], "{hc:?}");
        }
        let i = image(ContainerConfig {
            healthcheck: Some(vec!["CMD-SHELL".into(), "curl -f http://localhost/".into()]),
            ..good()
        });
        assert!(ids(&i, &opts()).is_empty());
    }

    #[test]
    fn latest_bases() {
        let with = |anns: &[(&str, &str)], labels: &[(&str, &str)]| {
            let mut i = image(good());
            i.annotations = anns
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            i.labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            check_config(&i, &opts())
        };
        let f = with(&[(BASE_NAME, "docker.io/library/debian:latest")], &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "config.latest-base");
        assert_eq!(
            f[0].path.as_deref(),
            Some("annotations.org.opencontainers.image.base.name")
        );
        assert_eq!(
            with(&[(BASE_NAME, "registry.local:5000/debian")], &[]).len(),
            1
        );
        let f = with(&[], &[(BASE_NAME, "debian")]);
        assert_eq!(
            f[0].path.as_deref(),
            Some("config.Labels.org.opencontainers.image.base.name")
        );
        // Pinned by digest, or by a version tag: fine.
        assert!(with(
            &[(BASE_NAME, "debian:latest"), (BASE_DIGEST, "sha256:aa")],
            &[]
        )
        .is_empty());
        assert!(with(&[(BASE_NAME, "debian@sha256:aa")], &[]).is_empty());
        assert!(with(&[(BASE_NAME, "registry.local:5000/debian:12")], &[]).is_empty());
        assert!(with(&[], &[]).is_empty());
    }

    #[test]
    fn image_age() {
        let o = ConfigOptions {
            max_age_days: Some(30),
            ..opts()
        };
        let at = |created: Option<&str>| {
            let mut i = image(good());
            i.created = created.map(str::to_string);
            check_config(&i, &o)
        };
        assert!(at(Some("2026-11-07T23:59:59Z")).is_empty()); // 30 days
        let f = at(Some("2026-11-06T00:00:00.123456789Z"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "config.image-age");
        assert!(f[0].message.contains("31 days ago"), "{}", f[0].message);
        // An offset moves the day to UTC first.
        assert!(at(Some("2026-11-07T23:00:00-02:00")).is_empty());
        for unknown in [
            None,
            Some("yesterday"),
            Some("1970-01-01T00:00:00Z"),
            Some("0001-01-01T00:00:00Z"),
        ] {
            let f = at(unknown);
            assert_eq!(f.len(), 1, "{unknown:?}");
            assert!(f[0].message.contains("unknown"), "{}", f[0].message);
        }
        // A creation time in the future is no age problem.
        assert!(at(Some("2027-01-01T00:00:00Z")).is_empty());
        // Without a maximum, age is not judged at all.
        let mut i = image(good());
        i.created = Some("2000-01-01T00:00:00Z".into());
        assert!(check_config(&i, &opts()).is_empty());
    }

    #[test]
    fn required_labels() {
        let o = ConfigOptions {
            required_labels: vec![
                "team".into(),
                "org.opencontainers.image.source".into(),
                "owner".into(),
            ],
            ..opts()
        };
        let mut i = image(good());
        i.labels.insert("team".into(), "web".into());
        i.labels.insert("owner".into(), " ".into());
        i.annotations.insert(
            "org.opencontainers.image.source".into(),
            "https://example.com/x".into(),
        );
        let f = check_config(&i, &o);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "config.missing-label");
        assert_eq!(f[0].message, "the image has no label owner");
    }

    #[test]
    fn default_options_are_permissive_and_today() {
        let o = ConfigOptions::default();
        assert!(o.required_labels.is_empty());
        assert_eq!(o.max_age_days, None);
        // Today in UTC (a run across midnight may see yesterday).
        let now = OffsetDateTime::now_utc().date();
        assert!((now - o.today).whole_days() <= 1);
    }

    /// Every rule at once: the findings as the JSON report carries them.
    #[test]
    fn every_rule_golden() {
        let mut i = image(ContainerConfig {
            user: Some("root:root".into()),
            exposed_ports: vec!["22/tcp".into(), "8080/tcp".into(), "25/tcp".into()],
            healthcheck: Some(vec!["NONE".into()]),
            ..good()
        });
        i.created = Some("2025-06-01T12:00:00Z".into());
        i.annotations
            .insert(BASE_NAME.into(), "docker.io/library/ubuntu".into());
        i.labels
            .insert("org.opencontainers.image.vendor".into(), "ACME".into());
        let o = ConfigOptions {
            required_labels: vec!["org.opencontainers.image.vendor".into(), "team".into()],
            max_age_days: Some(90),
            ..opts()
        };
        insta::assert_json_snapshot!(check_config(&i, &o));
    }

    #[test]
    fn checks_are_well_formed() {
        for c in CHECKS {
            assert!(c.id.starts_with("config."));
            assert!(!c.title.contains('\n') && !c.fix.contains('\n'));
        }
    }
}
