//! `patchline runtime k8s`: the pods of a Kubernetes cluster, the image digest each
//! container runs, and the pod-level runtime checks.
//!
//! Input is a v1 `PodList` as the API server returns it (`GET /api/v1/pods`) and as
//! `kubectl get pods -A -o json` prints it (kubectl prints `"kind": "List"` with `Pod`
//! items; both are accepted). [`read_pod_list`] reads one from a file with a size bound;
//! [`inspect`] judges it. Only the fields the checks need are deserialized, every one
//! optional, so pods of any API server version since v1 read the same.
//!
//! Digests come from `status.containerStatuses[].imageID` (and the init containers'),
//! whose form depends on the container runtime:
//! - `docker-pullable://repo@sha256:…` (dockershim, cri-dockerd): a registry digest;
//! - `repo@sha256:…` (containerd, CRI-O): a registry digest;
//! - `docker://sha256:…` or a bare `sha256:…`: the image's local id (its config digest),
//!   for an image built or loaded on the node, which no registry knows;
//! - empty while the container waits for its image.
//!
//! Checks reuse the Docker checks' ids where the meaning is the same (`runtime.privileged`,
//! `runtime.host-network`, `runtime.sensitive-mount`, …), so one policy's `runtime` stage
//! gates both; the Kubernetes-only ones are [`CHECKS`]. Quirks the rules follow:
//! - A container's `securityContext` overrides the pod's for `runAsUser` and
//!   `runAsNonRoot`; with neither set anywhere, the image's `USER` decides, which the pod
//!   spec cannot show: that is `runtime.run-as-non-root-missing`, not `runtime.root-user`
//!   (which is kept for an explicit UID 0).
//! - `allowPrivilegeEscalation` defaults to true (the kubelet sets `no_new_privs` only when
//!   it is false), so only an explicit `false` passes.
//! - hostPath volumes are judged where a container mounts them (the mount says read-only
//!   or not); a hostPath volume no container mounts exposes nothing.
//!
//! Image vulnerabilities are not matched here: the images are on the nodes, not on this
//! machine, so each image is listed with its digest and the report's `not_checked` says so.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use patchline_checks::CheckDef;
use patchline_model::check::CheckFinding;
use patchline_model::vuln::Severity;
use serde::{Deserialize, Serialize};

use crate::checks::{
    self, normalize, under, ADDED_CAPABILITIES, DANGEROUS_CAPS, ENGINE_SOCKET, ENGINE_SOCKETS,
    HOST_IPC, HOST_NETWORK, HOST_PID, NO_MEMORY_LIMIT, PRIVILEGED, ROOT_USER, SENSITIVE_EXACT,
    SENSITIVE_MOUNT, SENSITIVE_TREES, WRITABLE_ROOTFS,
};
use crate::{Block, Gate};

/// The JSON document's schema id.
pub const K8S_SCHEMA: &str = "patchline.runtime.k8s/v1";

/// The largest pod list read (a 5,000-pod cluster's `kubectl get pods -A -o json` is
/// about 100 MiB with managed fields; without them, far less).
pub const MAX_POD_LIST_BYTES: u64 = 256 << 20;

/// The most pods judged in one list.
pub const MAX_PODS: usize = 200_000;

pub const RUN_AS_NON_ROOT_MISSING: CheckDef = CheckDef {
    id: "runtime.run-as-non-root-missing",
    severity: Severity::Medium,
    title: "May run as root (runAsNonRoot not set)",
    fix: "Set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the pod or the container.",
};
pub const PRIVILEGE_ESCALATION: CheckDef = CheckDef {
    id: "runtime.privilege-escalation",
    severity: Severity::Medium,
    title: "Privilege escalation allowed",
    fix: "Set securityContext.allowPrivilegeEscalation: false.",
};
pub const NO_CPU_LIMIT: CheckDef = CheckDef {
    id: "runtime.no-cpu-limit",
    severity: Severity::Low,
    title: "No CPU limit",
    fix: "Set resources.limits.cpu so one container cannot starve the node.",
};
pub const IMAGE_NOT_PINNED: CheckDef = CheckDef {
    id: "runtime.image-not-pinned",
    severity: Severity::Low,
    title: "Image not pinned by digest",
    fix: "Refer to the image as repo@sha256:… in the pod spec (or its controller's template).",
};

/// The checks only Kubernetes has (the others are [`checks::CHECKS`]').
pub const CHECKS: &[CheckDef] = &[
    RUN_AS_NON_ROOT_MISSING,
    PRIVILEGE_ESCALATION,
    NO_CPU_LIMIT,
    IMAGE_NOT_PINNED,
];

/// Why a pod list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {size} bytes is over the {limit}-byte limit for a pod list")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: not a pod list: {why}")]
    Invalid { path: String, why: String },
}

// ---- the API objects, as far as the checks read them ----

/// `PodList` (`GET /api/v1/pods`) or kubectl's `List` of pods.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodList {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub items: Vec<Pod>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default)]
    pub status: PodStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub host_network: bool,
    #[serde(rename = "hostPID", default)]
    pub host_pid: bool,
    #[serde(rename = "hostIPC", default)]
    pub host_ipc: bool,
    #[serde(default)]
    pub node_name: String,
    #[serde(default)]
    pub security_context: SecurityContext,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub init_containers: Vec<Container>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

/// The fields shared by the pod's and a container's `securityContext`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub run_as_user: Option<i64>,
    pub run_as_non_root: Option<bool>,
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub read_only_root_filesystem: Option<bool>,
    #[serde(default)]
    pub capabilities: Capabilities,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Capabilities {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub drop: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub security_context: SecurityContext,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Resources {
    /// Quantities stay as JSON: only their presence matters here.
    #[serde(default)]
    pub limits: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mount_path: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    pub host_path: Option<HostPath>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct HostPath {
    #[serde(default)]
    pub path: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(default)]
    pub init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContainerStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(rename = "imageID", default)]
    pub image_id: String,
}

// ---- reading ----

/// Reads a pod list from a file (`kubectl get pods -A -o json`), at most `limit` bytes.
pub fn read_pod_list(path: &Path, limit: u64) -> Result<PodList, K8sError> {
    let name = path.display().to_string();
    let io = |error| K8sError::Io {
        path: name.clone(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(K8sError::TooLarge {
            path: name,
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The file may grow while read: read one byte past the limit to notice.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(K8sError::TooLarge {
            path: name,
            size: bytes.len() as u64,
            limit,
        });
    }
    parse_pod_list(&bytes, &name)
}

/// Parses a pod list's JSON; `what` names its origin in errors.
pub fn parse_pod_list(bytes: &[u8], what: &str) -> Result<PodList, K8sError> {
    let invalid = |why: String| K8sError::Invalid {
        path: what.to_string(),
        why,
    };
    // The kind first, from a shape that accepts any document, so that a Pod or a
    // Deployment is named as such rather than reported as a type error deep inside.
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        items: Option<serde::de::IgnoredAny>,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "not a JSON object",
            _ => "malformed JSON",
        };
        invalid(format!(
            "{what} at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    match head.kind.as_deref() {
        Some("PodList") | Some("List") => {}
        Some(k) => {
            return Err(invalid(format!(
                "its kind is {k:?}; expected a PodList or a List of Pods (`kubectl get pods -A -o json`)"
            )))
        }
        None => {
            return Err(invalid(
                "no \"kind\": expected a PodList or a List of Pods (`kubectl get pods -A -o json`)"
                    .into(),
            ))
        }
    }
    if head.items.is_none() {
        return Err(invalid("no \"items\" array".into()));
    }
    let list: PodList = serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!(
            "unexpected content at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if list.items.len() > MAX_PODS {
        return Err(invalid(format!(
            "{} pods, over the limit of {MAX_PODS}",
            list.items.len()
        )));
    }
    if let Some((i, p)) = list
        .items
        .iter()
        .enumerate()
        .find(|(_, p)| !p.kind.is_empty() && p.kind != "Pod")
    {
        return Err(invalid(format!(
            "item {i} ({}) is a {}, not a Pod",
            p.metadata.name, p.kind
        )));
    }
    Ok(list)
}

// ---- digests ----

/// What a container status's `imageID` says about the image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDigest {
    /// `repo@sha256:…`, when the image came from a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_digest: Option<String>,
    /// The registry (manifest) digest `sha256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The node-local image id (config digest) when that is all the runtime gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
}

fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parses an `imageID` in any of the runtimes' forms; `None` when it holds no digest.
pub fn parse_image_id(image_id: &str) -> Option<ImageDigest> {
    let s = image_id.trim();
    let s = match s.split_once("://") {
        Some((_, rest)) => rest,
        None => s,
    };
    if is_sha256(s) {
        return Some(ImageDigest {
            local_id: Some(s.to_ascii_lowercase()),
            ..Default::default()
        });
    }
    let (repo, digest) = s.rsplit_once('@')?;
    if repo.is_empty() || !is_sha256(digest) {
        return None;
    }
    let digest = digest.to_ascii_lowercase();
    Some(ImageDigest {
        repo_digest: Some(format!("{repo}@{digest}")),
        digest: Some(digest),
        local_id: None,
    })
}

// ---- the report ----

/// The whole inspection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct K8sReport {
    /// Always [`K8S_SCHEMA`].
    pub schema: String,
    /// Where the pods came from: `file PATH`, or `cluster SERVER (context C)`.
    pub source: String,
    /// The namespace read, or absent for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Where the blocking rules came from.
    pub gate: String,
    pub pods: Vec<PodReport>,
    /// Each image the containers run, by digest (or by reference when it has none).
    pub images: BTreeMap<String, ImageEntry>,
    /// Checks this run could not do, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PodReport {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Findings of the pod as a whole (host namespaces).
    pub checks: Vec<CheckFinding>,
    pub containers: Vec<K8sContainer>,
    /// What blocks, by the gate, over the pod's and its containers' findings.
    #[serde(default)]
    pub blocking: Vec<Block>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct K8sContainer {
    pub name: String,
    /// `container` or `init`.
    pub kind: String,
    /// The image as the spec names it.
    pub image: String,
    /// `status.containerStatuses[].imageID` as reported, empty when absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    /// What the `imageID` says; absent when it holds no digest (not started yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<ImageDigest>,
    pub checks: Vec<CheckFinding>,
}

/// An image the cluster runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageEntry {
    /// A reference a container gave it.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<ImageDigest>,
    /// How many containers run it.
    pub containers: usize,
    /// `not scanned here: …` until a server supplies its findings.
    pub scan: String,
}

impl K8sReport {
    pub fn failed(&self) -> bool {
        self.pods.iter().any(|p| !p.blocking.is_empty())
    }
}

/// Which pods to judge.
#[derive(Clone, Debug, Default)]
pub struct K8sOptions {
    /// Only this namespace's pods; `None`: all.
    pub namespace: Option<String>,
    pub gate: Gate,
}

const NOT_SCANNED: &str = "not scanned here: the image is on the cluster's nodes, not on this machine (image findings need the server's catalogue)";

/// Judges every pod of the list (of `opts.namespace` only, when given).
pub fn inspect(list: &PodList, source: &str, opts: &K8sOptions) -> K8sReport {
    let mut pods = Vec::new();
    let mut images: BTreeMap<String, ImageEntry> = BTreeMap::new();
    let mut warnings = Vec::new();
    for pod in &list.items {
        if opts
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != pod.metadata.namespace)
        {
            continue;
        }
        let mut report = check_pod(pod);
        for c in &report.containers {
            let key = match &c.digest {
                Some(ImageDigest {
                    repo_digest: Some(d),
                    ..
                }) => d.clone(),
                Some(ImageDigest {
                    local_id: Some(id), ..
                }) => id.clone(),
                _ => c.image.clone(),
            };
            if c.digest.is_none() && !c.image_id.is_empty() {
                warnings.push(format!(
                    "{}/{} container {}: unrecognised imageID {:?}",
                    report.namespace,
                    report.name,
                    c.name,
                    clip(&c.image_id)
                ));
            }
            images
                .entry(key)
                .or_insert_with(|| ImageEntry {
                    reference: c.image.clone(),
                    digest: c.digest.clone(),
                    containers: 0,
                    scan: NOT_SCANNED.into(),
                })
                .containers += 1;
        }
        if let Some(trust) = &opts.gate.trust {
            let today = time::OffsetDateTime::now_utc().date();
            for c in &mut report.containers {
                let facts = crate::ContainerFacts {
                    name: c.name.clone(),
                    image: c.image.clone(),
                    image_id: c
                        .digest
                        .as_ref()
                        .and_then(|d| d.local_id.clone())
                        .unwrap_or_default(),
                    repo_digests: c
                        .digest
                        .as_ref()
                        .and_then(|d| d.repo_digest.clone())
                        .into_iter()
                        .collect(),
                    ..Default::default()
                };
                c.checks.extend(
                    checks::untrusted(&facts, trust, today).map(|f| CheckFinding {
                        path: Some(format!("{}.image", spec_path(c))),
                        ..f
                    }),
                );
            }
        }
        let all: Vec<CheckFinding> = report
            .checks
            .iter()
            .chain(report.containers.iter().flat_map(|c| c.checks.iter()))
            .cloned()
            .collect();
        report.blocking = opts.gate.blocks(&all, &[]);
        pods.push(report);
    }
    let mut not_checked = Vec::new();
    if !images.is_empty() {
        not_checked.push(format!(
            "image vulnerabilities of {} image(s): {NOT_SCANNED}",
            images.len()
        ));
    }
    K8sReport {
        schema: K8S_SCHEMA.into(),
        source: source.to_string(),
        namespace: opts.namespace.clone(),
        gate: opts.gate.source.clone(),
        pods,
        images,
        not_checked,
        warnings,
    }
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

fn spec_path(c: &K8sContainer) -> String {
    let list = if c.kind == "init" {
        "initContainers"
    } else {
        "containers"
    };
    format!("spec.{list}[{}]", c.name)
}

/// The checks of one pod and its containers.
pub fn check_pod(pod: &Pod) -> PodReport {
    let name = format!("{}/{}", pod.metadata.namespace, pod.metadata.name);
    let with_path = |f: CheckFinding, path: String| CheckFinding {
        path: Some(path),
        ..f
    };
    let mut checks = Vec::new();
    let spec = &pod.spec;
    if spec.host_network {
        checks.push(with_path(
            HOST_NETWORK.finding(format!("{name} shares the node's network namespace")),
            "spec.hostNetwork".into(),
        ));
    }
    if spec.host_pid {
        checks.push(with_path(
            HOST_PID.finding(format!(
                "{name} sees and can signal every process of the node"
            )),
            "spec.hostPID".into(),
        ));
    }
    if spec.host_ipc {
        checks.push(with_path(
            HOST_IPC.finding(format!("{name} shares the node's IPC namespace")),
            "spec.hostIPC".into(),
        ));
    }
    let statuses = |init: bool| {
        if init {
            &pod.status.init_container_statuses
        } else {
            &pod.status.container_statuses
        }
    };
    let mut containers = Vec::new();
    for (init, c) in spec
        .init_containers
        .iter()
        .map(|c| (true, c))
        .chain(spec.containers.iter().map(|c| (false, c)))
    {
        let image_id = statuses(init)
            .iter()
            .find(|s| s.name == c.name)
            .map(|s| s.image_id.clone())
            .unwrap_or_default();
        let mut out = K8sContainer {
            name: c.name.clone(),
            kind: if init { "init" } else { "container" }.into(),
            image: c.image.clone(),
            digest: parse_image_id(&image_id),
            image_id,
            checks: Vec::new(),
        };
        out.checks = check_container(pod, c, &name, &spec_path(&out));
        containers.push(out);
    }
    PodReport {
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        node: spec.node_name.clone(),
        phase: pod.status.phase.clone(),
        checks,
        containers,
        blocking: Vec::new(),
    }
}

fn check_container(pod: &Pod, c: &Container, pod_name: &str, at: &str) -> Vec<CheckFinding> {
    let who = format!("{pod_name} container {}", c.name);
    let sc = &c.security_context;
    let psc = &pod.spec.security_context;
    let with_path = |f: CheckFinding, field: &str| CheckFinding {
        path: Some(format!("{at}.{field}")),
        ..f
    };
    let mut out = Vec::new();
    let privileged = sc.privileged == Some(true);
    if privileged {
        out.push(with_path(
            PRIVILEGED.finding(format!(
                "{who} is privileged: every capability and device of the node"
            )),
            "securityContext.privileged",
        ));
    }
    let user = sc.run_as_user.or(psc.run_as_user);
    let non_root = sc.run_as_non_root.or(psc.run_as_non_root);
    if user == Some(0) {
        out.push(with_path(
            ROOT_USER.finding(format!("{who} runs as root (runAsUser: 0)")),
            "securityContext.runAsUser",
        ));
    } else if non_root != Some(true) && user.is_none() {
        out.push(with_path(
            RUN_AS_NON_ROOT_MISSING.finding(format!(
                "{who} sets neither runAsNonRoot nor runAsUser: the image's USER decides, root by default"
            )),
            "securityContext.runAsNonRoot",
        ));
    }
    if !sc.capabilities.add.is_empty() {
        let caps: Vec<String> = sc
            .capabilities
            .add
            .iter()
            .map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase())
            .collect();
        let mut f = ADDED_CAPABILITIES.finding(format!("{who} adds {}", caps.join(", ")));
        if caps.iter().any(|c| DANGEROUS_CAPS.contains(&c.as_str())) {
            f.severity = Severity::High;
        }
        f.evidence = Some(caps.join(","));
        out.push(with_path(f, "securityContext.capabilities.add"));
    }
    if sc.allow_privilege_escalation != Some(false) {
        let why = if privileged {
            "is privileged, which always allows it"
        } else if sc.allow_privilege_escalation == Some(true) {
            "sets allowPrivilegeEscalation: true"
        } else {
            "does not set allowPrivilegeEscalation: false (the default allows setuid binaries to gain privileges)"
        };
        out.push(with_path(
            PRIVILEGE_ESCALATION.finding(format!("{who} {why}")),
            "securityContext.allowPrivilegeEscalation",
        ));
    }
    for m in &c.volume_mounts {
        let Some(hp) = pod
            .spec
            .volumes
            .iter()
            .find(|v| v.name == m.name)
            .and_then(|v| v.host_path.as_ref())
        else {
            continue;
        };
        let src = normalize(&hp.path);
        let rw = if m.read_only {
            "read-only"
        } else {
            "read-write"
        };
        let path = format!("volumeMounts[{}]", m.mount_path);
        if ENGINE_SOCKETS
            .iter()
            .any(|name| src.rsplit('/').next() == Some(*name))
        {
            out.push(with_path(
                ENGINE_SOCKET.finding(format!(
                    "{who} mounts the node's engine socket {src} at {}",
                    m.mount_path
                )),
                &path,
            ));
        } else if SENSITIVE_EXACT.contains(&src.as_str())
            || SENSITIVE_TREES.iter().any(|t| under(&src, t))
        {
            out.push(with_path(
                SENSITIVE_MOUNT.finding(format!(
                    "{who} mounts the node's {src} at {} ({rw})",
                    m.mount_path
                )),
                &path,
            ));
        }
    }
    if sc.read_only_root_filesystem != Some(true) {
        out.push(with_path(
            WRITABLE_ROOTFS.finding(format!("{who}'s root filesystem is writable")),
            "securityContext.readOnlyRootFilesystem",
        ));
    }
    if !c.resources.limits.contains_key("memory") {
        out.push(with_path(
            NO_MEMORY_LIMIT.finding(format!("{who} has no memory limit")),
            "resources.limits.memory",
        ));
    }
    if !c.resources.limits.contains_key("cpu") {
        out.push(with_path(
            NO_CPU_LIMIT.finding(format!("{who} has no CPU limit")),
            "resources.limits.cpu",
        ));
    }
    let pinned = c.image.rsplit_once('@').is_some_and(|(_, d)| is_sha256(d));
    if !pinned {
        out.push(with_path(
            IMAGE_NOT_PINNED.finding(format!(
                "{who} runs {} by tag, not by digest",
                clip(&c.image)
            )),
            "image",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1";

    #[test]
    fn image_id_forms() {
        let d = parse_image_id(&format!("docker-pullable://nginx@sha256:{HEX}")).unwrap();
        assert_eq!(
            d.repo_digest.as_deref(),
            Some(&*format!("nginx@sha256:{HEX}"))
        );
        assert_eq!(d.digest.as_deref(), Some(&*format!("sha256:{HEX}")));
        let d = parse_image_id(&format!("registry.k8s.io/pause@sha256:{HEX}")).unwrap();
        assert_eq!(
            d.repo_digest.as_deref(),
            Some(&*format!("registry.k8s.io/pause@sha256:{HEX}"))
        );
        let d = parse_image_id(&format!("docker://sha256:{HEX}")).unwrap();
        assert_eq!(d.local_id.as_deref(), Some(&*format!("sha256:{HEX}")));
        assert_eq!(d.digest, None);
        assert_eq!(
            parse_image_id(&format!("sha256:{HEX}")).unwrap().local_id,
            Some(format!("sha256:{HEX}"))
        );
        assert_eq!(parse_image_id(""), None);
        assert_eq!(parse_image_id("nginx:1.25"), None);
        assert_eq!(parse_image_id("nginx@sha256:abc"), None);
        assert_eq!(parse_image_id(&format!("@sha256:{HEX}")), None);
    }

    #[test]
    fn wrong_kinds_are_named() {
        let e = parse_pod_list(br#"{"kind":"Pod","metadata":{}}"#, "f.json").unwrap_err();
        assert!(e.to_string().contains("its kind is \"Pod\""), "{e}");
        let e = parse_pod_list(br#"{"kind":"List","items":[{"kind":"Service"}]}"#, "f.json")
            .unwrap_err();
        assert!(e.to_string().contains("is a Service, not a Pod"), "{e}");
        let e = parse_pod_list(br#"[1,2]"#, "f.json").unwrap_err();
        assert!(e.to_string().starts_with("f.json: not a pod list"), "{e}");
    }
}

pub mod render;
