//! `patchline runtime docker`: what runs on a Docker Engine, and what it exposes.
//!
//! For each container (running ones, or all), [`inspect`] gathers:
//! - the image it runs (id, and registry digests when it has them) and that image's
//!   findings from the local advisory DB: the image is read through the engine's own
//!   `GET /images/{id}/get` (a `docker save` tar, streamed to a temporary file with a byte
//!   limit, then scanned as `docker-archive:` by the scan library), once per image id per
//!   run; the inventory is cached by image id in [`RuntimeOptions::cache_dir`], so a later
//!   run only matches it again against the current DB;
//! - the runtime checks of [`checks`] on its settings, processes and networks, findings in
//!   the same [`CheckFinding`] model as `scan`'s checks (ids `runtime.*`);
//! - the [`Gate`]'s verdict: which findings block (the policy file's `runtime` stage, or
//!   a default that blocks only critical runtime findings).
//!
//! [`report`] renders the [`RuntimeReport`] as a table, JSON or SARIF; [`Engine::stop`]
//! is `--enforce`'s action. What is not here yet: the outdated-digest check (it needs
//! the server's catalogue) and the `--watch` agent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use patchline_model::check::CheckFinding;
use patchline_model::vuln::{Finding, FixState, ScanReport, Severity};
use patchline_policy::pattern::glob_match;
use patchline_policy::{Action, PolicyFile, StageProfile};
use serde::{Deserialize, Serialize};

pub mod checks;
pub mod engine;
pub mod k8s;
pub mod report;

pub use checks::{CheckContext, ContainerFacts};
pub use engine::{Engine, EngineError, EngineInfo};

/// The JSON document's schema id.
pub const RUNTIME_SCHEMA: &str = "patchline.runtime/v1";

/// How to inspect an engine.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Every container, not only running ones.
    pub all: bool,
    /// Scan the images against the advisory DB (off: runtime checks only).
    pub scan_images: bool,
    /// The advisory DB; `None`: the default location.
    pub db: Option<PathBuf>,
    /// Where image inventories are cached by image id and the exported archives are
    /// written while scanned; `None`: a temporary directory, nothing kept.
    pub cache_dir: Option<PathBuf>,
    /// The largest image export accepted.
    pub max_image_bytes: u64,
    pub gate: Gate,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            all: false,
            scan_images: true,
            db: None,
            cache_dir: None,
            max_image_bytes: 8 << 30,
            gate: Gate::default(),
        }
    }
}

/// What failed an inspection as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The advisory DB is missing or unreadable: no image could be judged.
    #[error("{0} (--no-image-scan runs the runtime checks without it)")]
    Db(String),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
}

/// The blocking rules of the runtime stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Where the rules come from: `default`, or `FILE (stage runtime)`.
    pub source: String,
    /// Runtime check findings at least this severe block.
    pub checks_fail_on: Option<Severity>,
    /// Check id patterns that block whatever their severity.
    pub checks_deny: Vec<String>,
    /// Check id patterns that never block.
    pub checks_allow: Vec<String>,
    /// Image vulnerability findings at least this severe block.
    pub fail_on: Option<Severity>,
    /// A known-exploited vulnerability in the image blocks.
    pub kev: bool,
    /// The vulnerability rules judge only findings with a fix.
    pub fixable_only: bool,
    /// The approved images, when the policy file has any: `runtime.untrusted-image`.
    pub trust: Option<checks::Trust>,
}

impl Default for Gate {
    /// Without a policy file: only critical runtime findings (privileged, the engine
    /// socket mounted) block; the image's vulnerabilities are reported, not blocking,
    /// since an old image is a patching matter, not a reason to stop a service.
    fn default() -> Self {
        Gate {
            source: "default".into(),
            checks_fail_on: Some(Severity::Critical),
            checks_deny: Vec::new(),
            checks_allow: Vec::new(),
            fail_on: None,
            kev: false,
            fixable_only: false,
            trust: None,
        }
    }
}

/// One blocking finding and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// `checks fail_on critical`, `checks deny runtime.*`, `fail_on high`, `kev`.
    pub rule: String,
    /// The check id and message, or the vulnerability id and package.
    pub subject: String,
}

impl Gate {
    /// The rules of a policy file's stage profile, with the file's trusted images.
    pub fn from_policy(policy: &PolicyFile, profile: &StageProfile) -> Gate {
        let trust =
            (!policy.trusted_images.is_empty() || profile.trusted_bases.is_some()).then(|| {
                checks::Trust {
                    images: policy.trusted_images.clone(),
                    repositories: profile.trusted_bases.clone().unwrap_or_default(),
                }
            });
        Gate {
            trust,
            ..Gate::from_stage(profile, &policy.source)
        }
    }

    /// The rules of a stage profile alone (no trusted images).
    pub fn from_stage(profile: &StageProfile, file: &str) -> Gate {
        Gate {
            trust: None,
            source: format!("{file} (stage {})", profile.name),
            checks_fail_on: profile.checks.fail_on,
            checks_deny: profile.checks.deny.clone(),
            checks_allow: profile.checks.allow.clone(),
            fail_on: profile.fail_on,
            kev: profile.kev == Action::Fail,
            fixable_only: profile.fixable_only,
        }
    }

    /// What blocks among a container's runtime findings and its image's findings.
    pub fn blocks(&self, checks: &[CheckFinding], vulns: &[Finding]) -> Vec<Block> {
        let mut out = Vec::new();
        for c in checks {
            if self.checks_allow.iter().any(|p| glob_match(p, &c.id)) {
                continue;
            }
            let rule = if let Some(p) = self.checks_deny.iter().find(|p| glob_match(p, &c.id)) {
                Some(format!("checks deny {p}"))
            } else {
                self.checks_fail_on
                    .filter(|s| c.severity >= *s)
                    .map(|s| format!("checks fail_on {}", s.as_str()))
            };
            if let Some(rule) = rule {
                out.push(Block {
                    rule,
                    subject: format!("{}: {}", c.id, c.message),
                });
            }
        }
        for f in vulns {
            if self.fixable_only && f.state != FixState::Fixed {
                continue;
            }
            let rule = if self.kev && f.kev.is_some() {
                Some("kev".to_string())
            } else {
                self.fail_on
                    .filter(|s| f.severity >= *s)
                    .map(|s| format!("fail_on {}", s.as_str()))
            };
            if let Some(rule) = rule {
                out.push(Block {
                    rule,
                    subject: format!("{} {} {}", f.id, f.package.name, f.package.version),
                });
            }
        }
        out
    }
}

/// The whole inspection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RuntimeReport {
    /// Always [`RUNTIME_SCHEMA`].
    pub schema: String,
    pub engine: EngineInfo,
    /// Where the blocking rules came from.
    pub gate: String,
    pub containers: Vec<ContainerReport>,
    /// Each image the containers run, scanned once, by image id.
    pub images: BTreeMap<String, ImageReport>,
    /// What `--enforce` did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<EnforceAction>,
    /// Checks this run could not do, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An `--enforce` action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforceAction {
    pub container: String,
    pub name: String,
    /// `stopped`, `not-running`, or `failed: …`.
    pub outcome: String,
    /// The blocking rules, one line each.
    pub reasons: Vec<String>,
}

/// One container.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContainerReport {
    #[serde(flatten)]
    pub facts: ContainerFacts,
    /// The runtime checks' findings.
    pub checks: Vec<CheckFinding>,
    /// What blocks, by the gate (runtime findings and the image's vulnerabilities).
    #[serde(default)]
    pub blocking: Vec<Block>,
}

/// One image's scan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageReport {
    pub image_id: String,
    /// A name a container gave it.
    pub reference: String,
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// `export` (read from the engine this run), `cache` (inventory from an earlier run),
    /// or absent when it was not scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ScanReport>,
    /// Why the image could not be scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RuntimeReport {
    /// Whether any container has blocking findings.
    pub fn failed(&self) -> bool {
        self.containers.iter().any(|c| !c.blocking.is_empty())
    }

    /// The vulnerability findings of a container's image.
    pub fn image_findings(&self, c: &ContainerReport) -> &[Finding] {
        self.images
            .get(&c.facts.image_id)
            .and_then(|i| i.report.as_ref())
            .map(|r| r.findings.as_slice())
            .unwrap_or(&[])
    }
}

/// Inspects every (running, or with `all` every) container of the engine.
pub fn inspect(engine: &mut Engine, opts: &RuntimeOptions) -> Result<RuntimeReport, RuntimeError> {
    let info = engine.info()?;
    let ctx = CheckContext {
        engine_socket: engine.socket().map(str::to_string),
    };
    let mut containers = Vec::new();
    for id in engine.container_ids(opts.all)? {
        if let Some(facts) = engine.container(&id)? {
            let checks = checks::check(&facts, &ctx);
            containers.push(ContainerReport {
                facts,
                checks,
                blocking: Vec::new(),
            });
        }
    }
    let mut images: BTreeMap<String, ImageReport> = BTreeMap::new();
    let mut warnings = Vec::new();
    let scratch = tempfile::Builder::new()
        .prefix("patchline-runtime-")
        .tempdir_in(match &opts.cache_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|error| RuntimeError::Io {
                    what: format!("creating {}", d.display()),
                    error,
                })?;
                d.clone()
            }
            None => std::env::temp_dir(),
        })
        .map_err(|error| RuntimeError::Io {
            what: "creating a temporary directory".into(),
            error,
        })?;
    for c in &mut containers {
        let id = c.facts.image_id.clone();
        if !images.contains_key(&id) {
            let mut img = ImageReport {
                image_id: id.clone(),
                reference: c.facts.image.clone(),
                repo_digests: engine.repo_digests(&id)?,
                source: None,
                report: None,
                error: None,
            };
            if opts.scan_images {
                match scan_image(engine, &img, opts, scratch.path()) {
                    Ok((report, source)) => {
                        img.report = Some(report);
                        img.source = Some(source.into());
                    }
                    Err(ScanFailure::Fatal(e)) => return Err(e),
                    Err(ScanFailure::Image(e)) => {
                        warnings.push(format!("image {} ({id}): not scanned: {e}", img.reference));
                        img.error = Some(e);
                    }
                }
            }
            images.insert(id.clone(), img);
        }
        c.facts.repo_digests = images[&id].repo_digests.clone();
        if let Some(trust) = &opts.gate.trust {
            let today = time::OffsetDateTime::now_utc().date();
            c.checks.extend(checks::untrusted(&c.facts, trust, today));
        }
    }
    for c in &mut containers {
        let vulns = images
            .get(&c.facts.image_id)
            .and_then(|i| i.report.as_ref())
            .map(|r| r.findings.as_slice())
            .unwrap_or(&[]);
        c.blocking = opts.gate.blocks(&c.checks, vulns);
    }
    Ok(RuntimeReport {
        schema: RUNTIME_SCHEMA.into(),
        engine: info,
        gate: opts.gate.source.clone(),
        containers,
        images,
        actions: Vec::new(),
        not_checked: vec![
            "outdated digests (patched upstream in the hierarchy since): need the server's catalogue (not implemented yet)".into(),
        ],
        warnings,
    })
}

/// `--enforce`: stops each running container with blocking findings, recording why.
pub fn enforce(engine: &Engine, report: &mut RuntimeReport, grace_secs: i32) {
    for c in &report.containers {
        if c.blocking.is_empty() {
            continue;
        }
        let reasons: Vec<String> = c
            .blocking
            .iter()
            .map(|b| format!("{} ({})", b.subject, b.rule))
            .collect();
        let outcome = if c.facts.state != "running" {
            "not-running".to_string()
        } else {
            match engine.stop(&c.facts.id, grace_secs) {
                Ok(()) => "stopped".to_string(),
                Err(e) => format!("failed: {e}"),
            }
        };
        report.actions.push(EnforceAction {
            container: c.facts.id.clone(),
            name: c.facts.name.clone(),
            outcome,
            reasons,
        });
    }
}

enum ScanFailure {
    Fatal(RuntimeError),
    Image(String),
}

/// The image's scan, from the cached inventory or a fresh export.
fn scan_image(
    engine: &Engine,
    img: &ImageReport,
    opts: &RuntimeOptions,
    scratch: &Path,
) -> Result<(ScanReport, &'static str), ScanFailure> {
    let scan_opts = patchline_scan::ScanOptions {
        db: opts.db.clone(),
        ..Default::default()
    };
    let hex = img
        .image_id
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let cached = match (&opts.cache_dir, hex) {
        (Some(dir), Some(hex)) => Some(dir.join("inventories").join(format!("{hex}.json"))),
        _ => None,
    };
    if let Some(path) = &cached {
        if let Some(inv) = read_cached(path) {
            let scan = patchline_scan::scan(
                patchline_scan::Input::Inventory(Box::new(inv)),
                &scan_opts,
                &patchline_inventory::NoProgress,
            )
            .map_err(classify)?;
            return Ok((named(scan.report, img), "cache"));
        }
    }
    let archive = scratch.join("image.docker.tar");
    let mut file = std::fs::File::create(&archive)
        .map_err(|e| ScanFailure::Image(format!("{}: {e}", archive.display())))?;
    let result = engine.export_image(&img.image_id, &mut file, opts.max_image_bytes);
    drop(file);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&archive);
        return Err(ScanFailure::Image(e.to_string()));
    }
    let scan = patchline_scan::scan(
        patchline_scan::Input::Image(format!("docker-archive:{}", archive.display())),
        &scan_opts,
        &patchline_inventory::NoProgress,
    );
    let _ = std::fs::remove_file(&archive);
    let mut scan = scan.map_err(classify)?;
    if let Some(path) = &cached {
        scan.inventory.image.reference = img.reference.clone();
        write_cached(path, &scan.inventory);
    }
    Ok((named(scan.report, img), "export"))
}

/// The report under the container's name for the image, not the temporary archive's.
fn named(mut r: ScanReport, img: &ImageReport) -> ScanReport {
    r.image.reference = img.reference.clone();
    r
}

fn classify(e: patchline_scan::ScanError) -> ScanFailure {
    match e {
        patchline_scan::ScanError::DbLocation { .. } | patchline_scan::ScanError::Db { .. } => {
            ScanFailure::Fatal(RuntimeError::Db(e.to_string()))
        }
        e => ScanFailure::Image(e.to_string()),
    }
}

/// Inventories larger than this are not read back (a cache file is patchline's own, but
/// the cache directory is writable by whoever runs it).
const MAX_CACHED_INVENTORY: u64 = 256 << 20;

fn read_cached(path: &Path) -> Option<patchline_model::Inventory> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_CACHED_INVENTORY {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Best effort: a cache that cannot be written costs the next run an export, nothing else.
fn write_cached(path: &Path, inv: &patchline_model::Inventory) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(bytes) = serde_json::to_vec(inv) else {
        return;
    };
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if std::io::Write::write_all(&mut tmp, &bytes).is_ok() {
        let _ = tmp.persist(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, sev: Severity) -> CheckFinding {
        CheckFinding::new(id, sev, "m", "f")
    }

    #[test]
    fn the_default_gate_blocks_only_critical_runtime_findings() {
        let g = Gate::default();
        let b = g.blocks(
            &[
                finding("runtime.engine-socket", Severity::Critical),
                finding("runtime.root-user", Severity::High),
            ],
            &[],
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].rule, "checks fail_on critical");
        assert!(b[0].subject.starts_with("runtime.engine-socket"));
    }

    #[test]
    fn a_stage_profile_denies_allows_and_gates() {
        let profile = patchline_policy::parse_policy(
            "stages:\n  runtime:\n    fail_on: critical\n    checks:\n      fail_on: high\n      deny: [runtime.port-*]\n      allow: [runtime.root-user]\n",
            "p.yaml",
        )
        .unwrap();
        let g = Gate::from_stage(profile.stage("runtime").unwrap(), "p.yaml");
        assert_eq!(g.source, "p.yaml (stage runtime)");
        assert!(g.kev);
        let b = g.blocks(
            &[
                finding("runtime.root-user", Severity::High),
                finding("runtime.port-all-interfaces", Severity::Medium),
                finding("runtime.no-memory-limit", Severity::Low),
                finding("runtime.host-pid", Severity::High),
            ],
            &[],
        );
        let rules: Vec<&str> = b.iter().map(|b| b.rule.as_str()).collect();
        assert_eq!(
            rules,
            vec!["checks deny runtime.port-*", "checks fail_on high"]
        );
    }
}
