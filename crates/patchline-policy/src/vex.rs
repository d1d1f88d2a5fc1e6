//! VEX documents in: OpenVEX, CycloneDX VEX and CSAF's VEX profile, read as
//! [`VexStatement`]s, each a vulnerability's status in some products.
//!
//! The format is told from the content, not the file name: a JSON object with an
//! OpenVEX `@context` (or `statements`) is OpenVEX, one with `bomFormat: CycloneDX` is
//! CycloneDX, one with `document.csaf_version` is CSAF. Each reader is a submodule:
//! [`openvex`], [`cyclonedx`], [`csaf`]; their module docs say how the format's words map
//! onto OpenVEX's, which are the statements' words here.
//!
//! Bounds: a document is read only up to [`MAX_VEX_BYTES`]; serde_json stops at 128
//! levels of nesting; CSAF's product tree is walked to [`csaf::MAX_BRANCH_DEPTH`] levels.
//! Anything unreadable is an error naming the file and what is wrong, never a panic;
//! statements the reader cannot use (no vulnerability id, an unknown status) are left
//! out rather than guessed, since a guessed `not_affected` would hide a finding.
//!
//! Matching ([`VexStatement::matches`]): the statement's vulnerability or one of its
//! aliases must equal the finding's id or one of its aliases (case-insensitively), and a
//! product must be the image or the finding's package:
//!
//! - the image: a `pkg:oci/NAME@DIGEST` purl whose digest is the image's manifest or
//!   config digest (a digest-less `pkg:oci/NAME` needs `repository_url` equal to the
//!   image's repository, and `tag`, when given, its tag); a bare digest (`sha256:…`);
//!   the reference as scanned (`docker://ghcr.io/o/app:1`, or without the transport),
//!   or its repository (`ghcr.io/o/app`) when the statement names no tag;
//! - the package: a purl compared by type, namespace and name, and the version when the
//!   statement gives one (with the `epoch` qualifier folded in, as Debian purls carry
//!   it); an `arch` qualifier must agree when both sides give one. Other qualifiers
//!   (`distro`, `upstream`, `repository_url`) are ignored: two tools spell them
//!   differently for the same package.
//!
//! Subcomponents narrow an image product to the listed packages; a statement without
//! products applies to every product (as OpenVEX allows for the document's own
//! product). When several statements match one finding, the effective one is the last
//! in document order after sorting by timestamp ([`effective`]), which is how OpenVEX
//! says later statements about the same product and vulnerability override earlier
//! ones.

use std::io::Read;
use std::path::Path;

use patchline_model::policy::Suppression;
use patchline_model::purl::{parse_purl, Purl};
use patchline_model::vuln::Finding;
use patchline_model::ImageInfo;

pub mod csaf;
pub mod cyclonedx;
pub mod openvex;

/// The largest VEX document read: Red Hat's per-CVE CSAF VEX files reach a few MB;
/// anything far past that is not a VEX document worth holding in memory.
pub const MAX_VEX_BYTES: u64 = 64 << 20;

/// A VEX status (OpenVEX's words; CycloneDX's and CSAF's are mapped onto them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    /// `not_affected` and `fixed` take a finding out of a report.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }

    /// OpenVEX's spelling back to a status.
    pub fn from_openvex(s: &str) -> Option<VexStatus> {
        Some(match s {
            "not_affected" => VexStatus::NotAffected,
            "affected" => VexStatus::Affected,
            "fixed" => VexStatus::Fixed,
            "under_investigation" => VexStatus::UnderInvestigation,
            _ => return None,
        })
    }
}

/// One statement: a vulnerability's status in some products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VexStatement {
    /// The vulnerability id as the document names it (`CVE-2024-2004`, `GHSA-…`).
    pub vulnerability: String,
    /// Other ids the document gives it.
    pub aliases: Vec<String>,
    /// Products (purls, image references or digests); empty: every product.
    pub products: Vec<String>,
    /// Subcomponents (package purls) within the products; empty: any.
    pub subcomponents: Vec<String>,
    pub status: VexStatus,
    /// OpenVEX justification words (`vulnerable_code_not_in_execute_path`).
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    /// The document it came from, as given (`vex.json`).
    pub source: String,
    /// What to do about an `affected` product (OpenVEX `action_statement`, CycloneDX
    /// `recommendation`, CSAF `vendor_fix` remediation).
    pub action_statement: Option<String>,
    /// When the statement was made (RFC 3339 as the document wrote it), the document's
    /// time when the statement has none.
    pub timestamp: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct VexError {
    pub path: String,
    pub reason: String,
}

/// Reads a VEX document of any supported format.
pub fn read_vex(path: &Path) -> Result<Vec<VexStatement>, VexError> {
    let name = path.display().to_string();
    let err = |reason: String| VexError {
        path: name.clone(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_VEX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_VEX_BYTES {
        return Err(err(format!(
            "larger than {} MiB: not read as a VEX document",
            MAX_VEX_BYTES >> 20
        )));
    }
    parse_vex(&bytes, &name).map_err(err)
}

/// Parses a VEX document held in memory; `source` is what the statements record as
/// their origin. The error says what is wrong, without the file name.
pub fn parse_vex(bytes: &[u8], source: &str) -> Result<Vec<VexStatement>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return Err(
            "XML is not supported: give the VEX document as JSON (OpenVEX, CycloneDX JSON or CSAF)"
                .into(),
        );
    }
    let doc: serde_json::Value =
        serde_json::from_str(trimmed).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(obj) = doc.as_object() else {
        return Err("not a VEX document: the top level is not a JSON object".into());
    };
    let mut statements = if openvex::is_openvex(obj) {
        openvex::read(obj, source)?
    } else if cyclonedx::is_cyclonedx(obj) {
        cyclonedx::read(obj, source)?
    } else if csaf::is_csaf(obj) {
        csaf::read(obj, source)?
    } else {
        return Err("not a VEX document: no OpenVEX @context, CycloneDX bomFormat or CSAF document.csaf_version".into());
    };
    // Stable: statements without a time keep their document order.
    statements.sort_by_key(timestamp_key);
    Ok(statements)
}

/// Sort key for a statement time: RFC 3339 times in UTC compare as instants; others
/// (unparseable, absent) sort first, in document order.
fn timestamp_key(s: &VexStatement) -> Option<time::OffsetDateTime> {
    let t = s.timestamp.as_deref()?;
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// The statement that decides a finding: the last matching one (statements are in
/// timestamp order, as [`read_vex`] returns them and as documents are given).
pub fn effective<'a>(
    statements: &'a [VexStatement],
    finding: &Finding,
    image: &ImageInfo,
) -> Option<&'a VexStatement> {
    statements.iter().rev().find(|s| s.matches(finding, image))
}

/// Takes out of `report.findings` those whose effective statement is `not_affected` or
/// `fixed`, and records each in `report.policy.vex` (creating the policy block when
/// there is none). Returns how many were taken out. For `patchline vex`, which states
/// what a report says without judging it; the scan's policy stage records VEX
/// suppressions in its own run.
pub fn suppress(
    report: &mut patchline_model::vuln::ScanReport,
    statements: &[VexStatement],
) -> usize {
    let suppressed = take_suppressed(report, statements);
    let n = suppressed.len();
    if n > 0 {
        report
            .policy
            .get_or_insert_with(Default::default)
            .vex
            .extend(suppressed);
    }
    n
}

/// Takes out of `report.findings` (their order kept) those whose effective statement is
/// `not_affected` or `fixed`, returning one suppression each, `by: vex:<document>`. The
/// one place VEX decides a finding: `suppress` and the scan's policy stage both call it.
pub fn take_suppressed(
    report: &mut patchline_model::vuln::ScanReport,
    statements: &[VexStatement],
) -> Vec<Suppression> {
    let mut suppressed = Vec::new();
    if statements.is_empty() {
        return suppressed;
    }
    let image = &report.image;
    report.findings.retain(|f| {
        // The last statement about the finding decides (OpenVEX: a later statement
        // overrides an earlier one), so an `affected` after a `not_affected` keeps it.
        match effective(statements, f, image) {
            Some(s) if s.status.suppresses() => {
                suppressed.push(Suppression {
                    id: f.id.clone(),
                    subject: format!("{}@{}", f.package.name, f.package.version),
                    purl: Some(f.package.purl.clone()),
                    by: format!("vex:{}", s.source),
                    status: Some(s.status.as_str().to_string()),
                    justification: s.justification.clone(),
                    statement: s.impact_statement.clone(),
                });
                false
            }
            _ => true,
        }
    });
    suppressed
}

impl VexStatement {
    /// Whether the statement is about this finding in this image.
    pub fn matches(&self, finding: &Finding, image: &ImageInfo) -> bool {
        if !self.names_vulnerability(finding) {
            return false;
        }
        let package = parse_purl(&finding.package.purl).ok();
        let in_subcomponents = || {
            self.subcomponents.is_empty()
                || package
                    .as_ref()
                    .is_some_and(|p| self.subcomponents.iter().any(|s| purl_matches(s, p)))
        };
        if self.products.is_empty() {
            return in_subcomponents();
        }
        self.products.iter().any(|product| {
            package.as_ref().is_some_and(|p| purl_matches(product, p))
                || (product_is_image(product, image) && in_subcomponents())
        })
    }

    fn names_vulnerability(&self, finding: &Finding) -> bool {
        let theirs: Vec<&String> = std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .collect();
        std::iter::once(&finding.id)
            .chain(&finding.aliases)
            .any(|id| theirs.iter().any(|t| t.trim().eq_ignore_ascii_case(id)))
    }
}

/// Whether a statement's product or subcomponent names this package: a purl of the same
/// type, namespace and name, at the same version when it gives one.
fn purl_matches(product: &str, package: &Purl) -> bool {
    let Ok(p) = parse_purl(product.trim()) else {
        return false;
    };
    if !p.ty.eq_ignore_ascii_case(&package.ty)
        || p.namespace.as_deref().map(str::to_ascii_lowercase)
            != package.namespace.as_deref().map(str::to_ascii_lowercase)
        || !name_eq(&p.ty, &p.name, &package.name)
    {
        return false;
    }
    if let (Some(a), Some(b)) = (p.qualifier("arch"), package.qualifier("arch")) {
        if a != b {
            return false;
        }
    }
    match &p.version {
        None => true,
        Some(_) => full_version(&p) == full_version(package),
    }
}

/// Package names compare exactly, except in ecosystems whose names are case-insensitive.
fn name_eq(ty: &str, a: &str, b: &str) -> bool {
    match ty.to_ascii_lowercase().as_str() {
        "pypi" => normalize_pypi(a) == normalize_pypi(b),
        "nuget" | "composer" | "github" => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}

fn normalize_pypi(s: &str) -> String {
    s.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The version with the `epoch` qualifier folded in (`1:2.3-4`), as a purl writer that
/// keeps the epoch in the version would write it.
fn full_version(p: &Purl) -> Option<String> {
    let v = p.version.as_deref()?;
    Some(match p.qualifier("epoch") {
        Some(e) if !v.contains(':') && e != "0" => format!("{e}:{v}"),
        _ => v.strip_prefix("0:").unwrap_or(v).to_string(),
    })
}

/// Whether a product names the scanned image.
fn product_is_image(product: &str, image: &ImageInfo) -> bool {
    let product = product.trim();
    let digests: Vec<String> = image
        .manifest_digest
        .iter()
        .chain(image.config_digest.iter())
        .map(|d| d.to_string())
        .collect();
    if product.len() > 4 && product[..4].eq_ignore_ascii_case("pkg:") {
        let Ok(p) = parse_purl(product) else {
            return false;
        };
        if !p.ty.eq_ignore_ascii_case("oci") && !p.ty.eq_ignore_ascii_case("docker") {
            return false;
        }
        let reference = ParsedRef::new(&image.reference);
        if let Some(v) = &p.version {
            // `pkg:oci/NAME@sha256:…` (a docker purl's version may be a tag instead).
            if v.contains(':') {
                return digests.iter().any(|d| d.eq_ignore_ascii_case(v));
            }
            if reference.tag.as_deref() != Some(v.as_str()) {
                return false;
            }
        }
        if let Some(tag) = p.qualifier("tag") {
            if reference.tag.as_deref() != Some(tag) {
                return false;
            }
        }
        let Some(repo) = &reference.repository else {
            return false;
        };
        return match p.qualifier("repository_url") {
            // The purl spec's examples include the name in `repository_url`; vexctl's
            // leave it out (`repository_url=registry.k8s.io`).
            Some(url) => {
                same_repository(url, repo)
                    || same_repository(&format!("{}/{}", url.trim_end_matches('/'), p.name), repo)
            }
            // Without a registry only the last path segment is named: too weak to
            // claim an image by; a digest or repository_url must say which.
            None => false,
        };
    }
    if digests.iter().any(|d| d.eq_ignore_ascii_case(product)) {
        return true;
    }
    let reference = ParsedRef::new(&image.reference);
    let bare = image
        .reference
        .strip_prefix("docker://")
        .unwrap_or(&image.reference);
    if product == image.reference || product == bare {
        return true;
    }
    // `REPO@sha256:…`: the digest decides.
    if let Some((repo, digest)) = product.rsplit_once('@') {
        return digests.iter().any(|d| d.eq_ignore_ascii_case(digest))
            && reference
                .repository
                .as_deref()
                .is_some_and(|r| same_repository(repo, r));
    }
    let p = ParsedRef::new(product);
    match (&p.repository, &reference.repository) {
        (Some(a), Some(b)) => {
            same_repository(a, b)
                && match &p.tag {
                    Some(t) => reference.tag.as_deref() == Some(t.as_str()),
                    None => true,
                }
        }
        _ => false,
    }
}

/// A registry reference's repository and tag; local transports (`oci:DIR`) have no
/// repository a VEX document could name.
struct ParsedRef {
    repository: Option<String>,
    tag: Option<String>,
}

impl ParsedRef {
    fn new(reference: &str) -> ParsedRef {
        let r = reference.strip_prefix("docker://").unwrap_or(reference);
        let local = ["oci:", "oci-archive:", "docker-archive:", "dir:", "sbom:"]
            .iter()
            .any(|t| r.starts_with(t));
        if local || r.contains(char::is_whitespace) {
            return ParsedRef {
                repository: None,
                tag: None,
            };
        }
        let r = r.split('@').next().unwrap_or(r);
        let (repo, tag) = match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (r, None),
        };
        ParsedRef {
            repository: (!repo.is_empty()).then(|| repo.to_string()),
            tag,
        }
    }
}

/// Repositories compare after Docker Hub's spellings are made one
/// (`docker.io/library/nginx`, `index.docker.io/library/nginx`, `nginx`).
fn same_repository(a: &str, b: &str) -> bool {
    fn canonical(s: &str) -> String {
        let s = s
            .trim()
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let first = s.split('/').next().unwrap_or("");
        let hostlike =
            s.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
        let s = if hostlike {
            s
        } else {
            format!("docker.io/{s}")
        };
        let s = s.replacen("index.docker.io/", "docker.io/", 1).replacen(
            "registry-1.docker.io/",
            "docker.io/",
            1,
        );
        match s.strip_prefix("docker.io/") {
            Some(rest) if !rest.contains('/') => format!("docker.io/library/{rest}"),
            _ => s,
        }
    }
    canonical(a) == canonical(b)
}

/// A string field of a JSON object, trimmed, when present and not empty.
pub(crate) fn str_field<'a>(
    v: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a str> {
    v.get(key)
        .and_then(|x| x.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Pushes `s` unless it is already there (keeps document order).
pub(crate) fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_model::vuln::{FindingPackage, FixState, Severity};
    use patchline_model::Ecosystem;

    pub(crate) fn finding(id: &str, aliases: &[&str], purl: &str) -> Finding {
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            advisories: vec![],
            package: FindingPackage {
                ecosystem: Ecosystem::Deb,
                name: "curl".into(),
                version: "7.88.1-10+deb12u5".into(),
                arch: None,
                source_name: None,
                source_version: None,
                purl: purl.into(),
                introduced: None,
                last_changed: None,
                sbom_ref: None,
                path: None,
            },
            ecosystem: "Debian:12".into(),
            state: FixState::Fixed,
            fixed_versions: vec![],
            severity: Severity::High,
            severity_source: "debian".into(),
            cvss: vec![],
            kev: None,
            epss: None,
            summary: None,
            references: vec![],
        }
    }

    const DIGEST: &str = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126";

    fn image(reference: &str) -> ImageInfo {
        ImageInfo {
            reference: reference.into(),
            manifest_digest: Some(DIGEST.parse().unwrap()),
            config_digest: Some(
                "sha256:0000000000000000000000000000000000000000000000000000000000000001"
                    .parse()
                    .unwrap(),
            ),
            ..Default::default()
        }
    }

    fn statement(vuln: &str, products: &[&str], subcomponents: &[&str]) -> VexStatement {
        VexStatement {
            vulnerability: vuln.into(),
            aliases: vec![],
            products: products.iter().map(|s| s.to_string()).collect(),
            subcomponents: subcomponents.iter().map(|s| s.to_string()).collect(),
            status: VexStatus::NotAffected,
            justification: None,
            impact_statement: None,
            source: "t.json".into(),
            action_statement: None,
            timestamp: None,
        }
    }

    const CURL: &str = "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12";

    #[test]
    fn the_vulnerability_matches_by_id_or_alias_either_way() {
        let img = image("docker://ghcr.io/acme/app:1.0");
        let f = finding("CVE-2024-2004", &["GHSA-aaaa-bbbb-cccc"], CURL);
        assert!(statement("CVE-2024-2004", &[], &[]).matches(&f, &img));
        assert!(statement("cve-2024-2004", &[], &[]).matches(&f, &img));
        assert!(statement("GHSA-aaaa-bbbb-cccc", &[], &[]).matches(&f, &img));
        let mut s = statement("DSA-1", &[], &[]);
        assert!(!s.matches(&f, &img));
        s.aliases.push("CVE-2024-2004".into());
        assert!(s.matches(&f, &img));
        assert!(!statement("CVE-2024-2005", &[], &[]).matches(&f, &img));
    }

    #[test]
    fn the_image_is_named_by_digest_purl_reference_or_repository() {
        let img = image("docker://ghcr.io/acme/app:1.0");
        let f = finding("CVE-1", &[], CURL);
        let yes = [
            "pkg:oci/app@sha256%3A124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126",
            "pkg:oci/app@sha256:0000000000000000000000000000000000000000000000000000000000000001",
            "pkg:oci/app?repository_url=ghcr.io/acme/app",
            "pkg:oci/app?repository_url=ghcr.io/acme/app&tag=1.0",
            DIGEST,
            "docker://ghcr.io/acme/app:1.0",
            "ghcr.io/acme/app:1.0",
            "ghcr.io/acme/app",
            "ghcr.io/acme/app@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126",
        ];
        for p in yes {
            assert!(statement("CVE-1", &[p], &[]).matches(&f, &img), "{p}");
        }
        let no = [
            "pkg:oci/app@sha256%3A9999999999999999999999999999999999999999999999999999999999999999",
            "pkg:oci/app",
            "pkg:oci/app?repository_url=ghcr.io/acme/app&tag=2.0",
            "pkg:oci/app?repository_url=docker.io/acme/app",
            "ghcr.io/acme/app:2.0",
            "ghcr.io/acme/other",
            "nginx",
            "pkg:deb/debian/openssl",
        ];
        for p in no {
            assert!(!statement("CVE-1", &[p], &[]).matches(&f, &img), "{p}");
        }
        let hub = image("docker://docker.io/library/nginx:1.25");
        assert!(statement("CVE-1", &["nginx:1.25"], &[]).matches(&f, &hub));
        assert!(statement(
            "CVE-1",
            &["pkg:oci/nginx?repository_url=index.docker.io/library/nginx"],
            &[]
        )
        .matches(&f, &hub));
        // A local layout has no repository: only its digests name it.
        let local = image("oci:build/layout:base");
        assert!(statement("CVE-1", &["oci:build/layout:base"], &[]).matches(&f, &local));
        assert!(statement("CVE-1", &[DIGEST], &[]).matches(&f, &local));
        assert!(!statement("CVE-1", &["build/layout:base"], &[]).matches(&f, &local));
    }

    #[test]
    fn the_package_matches_by_purl_with_version_when_given() {
        let img = image("oci:layout");
        let f = finding("CVE-1", &[], CURL);
        for p in [
            "pkg:deb/debian/curl",
            "pkg:deb/debian/curl@7.88.1-10+deb12u5",
            "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64",
            "pkg:deb/debian/curl@7.88.1-10+deb12u5?distro=debian-13",
        ] {
            assert!(statement("CVE-1", &[p], &[]).matches(&f, &img), "{p}");
        }
        for p in [
            "pkg:deb/debian/curl@7.88.1-10+deb12u6",
            "pkg:deb/debian/curl@7.88.1-10+deb12u5?arch=arm64",
            "pkg:deb/ubuntu/curl",
            "pkg:rpm/debian/curl",
            "pkg:deb/debian/libcurl4",
        ] {
            assert!(!statement("CVE-1", &[p], &[]).matches(&f, &img), "{p}");
        }
        // The epoch: as a qualifier on one side, in the version on the other.
        let f = finding(
            "CVE-1",
            &[],
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?epoch=1",
        );
        assert!(
            statement("CVE-1", &["pkg:deb/debian/openssl@1:3.0.11-1~deb12u2"], &[])
                .matches(&f, &img)
        );
        assert!(
            !statement("CVE-1", &["pkg:deb/debian/openssl@3.0.11-1~deb12u2"], &[])
                .matches(&f, &img)
        );
        let f = finding("CVE-1", &[], "pkg:pypi/Foo_Bar@1.0");
        assert!(statement("CVE-1", &["pkg:pypi/foo-bar@1.0"], &[]).matches(&f, &img));
    }

    #[test]
    fn subcomponents_narrow_the_image_to_their_packages() {
        let img = image("docker://ghcr.io/acme/app:1.0");
        let f = finding("CVE-1", &[], CURL);
        let product = format!("pkg:oci/app@{}", DIGEST.replace(':', "%3A"));
        assert!(statement("CVE-1", &[&product], &["pkg:deb/debian/curl"]).matches(&f, &img));
        assert!(!statement("CVE-1", &[&product], &["pkg:deb/debian/openssl"]).matches(&f, &img));
        // No products: the subcomponents alone decide.
        assert!(statement("CVE-1", &[], &["pkg:deb/debian/curl"]).matches(&f, &img));
        assert!(!statement("CVE-1", &[], &["pkg:deb/debian/openssl"]).matches(&f, &img));
        // Subcomponents of another image do not reach this one.
        let other =
            "pkg:oci/app@sha256%3A9999999999999999999999999999999999999999999999999999999999999999";
        assert!(!statement("CVE-1", &[other], &["pkg:deb/debian/curl"]).matches(&f, &img));
    }

    #[test]
    fn the_last_matching_statement_decides() {
        let img = image("oci:layout");
        let f = finding("CVE-1", &[], CURL);
        let mut a = statement("CVE-1", &["pkg:deb/debian/curl"], &[]);
        a.timestamp = Some("2024-01-01T00:00:00Z".into());
        let mut b = a.clone();
        b.status = VexStatus::Affected;
        b.timestamp = Some("2024-02-01T00:00:00Z".into());
        let v = vec![a, b];
        assert_eq!(effective(&v, &f, &img).unwrap().status, VexStatus::Affected);
    }

    #[test]
    fn bad_input_is_an_error_saying_what_is_wrong() {
        for (input, want) in [
            (&b"\xff\xfe"[..], "UTF-8"),
            (b"<bom/>", "XML"),
            (b"{", "JSON"),
            (b"[]", "object"),
            (b"{\"a\": 1}", "not a VEX document"),
            (b"{\"bomFormat\": \"CycloneDX\"}", "vulnerabilities"),
        ] {
            let e = parse_vex(input, "x").unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let e = read_vex(&dir.path().join("missing.json")).unwrap_err();
        assert!(e.to_string().contains("missing.json: cannot open"), "{e}");
    }
}
