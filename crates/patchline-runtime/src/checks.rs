//! The runtime checks: what a running (or created) container's settings expose, judged on
//! plain data ([`ContainerFacts`]) that the engine module fills from `GET
//! /containers/{id}/json`, `GET /containers/{id}/top` and `GET /networks/{id}`, so the rules
//! are testable without an engine.
//!
//! Every check is a [`CheckDef`] like `scan`'s checks (`runtime.<name>`), and every finding
//! a [`CheckFinding`] whose `path` names the container setting (`HostConfig.Privileged`,
//! `Mounts[/var/run/docker.sock]`), so the table, JSON and SARIF renderings and the policy's
//! `checks` gate treat them as they treat image checks. docs/runtime.md lists them.
//!
//! Quirks the rules follow:
//! - `Config.User` of an inspected container already holds the image's `USER` unless
//!   `--user` overrode it, so the effective user is that one field; `root`, `0` and
//!   `0:<group>` are root, as is the empty string (the engine's default).
//! - A process is "unexpected" when it is neither the container's main process
//!   (`State.Pid`) nor one of its descendants: `docker exec` starts its processes as
//!   children of the runtime's shim, never of the main process, while an entrypoint's own
//!   workers and shells descend from it. Comparing command lines instead would flag every
//!   container started with a command other than the image's `CMD`, which is ordinary.
//! - Network reach: `none`, and networks created `--internal`, have no route out; any
//!   other attachment (the default bridge, user bridges, overlay, macvlan) can reach
//!   outside. `host` is reported by its own, stronger check.

use patchline_checks::CheckDef;
use patchline_model::check::CheckFinding;
use patchline_model::vuln::Severity;
use serde::{Deserialize, Serialize};

/// A container as the checks see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerFacts {
    pub id: String,
    /// Without the engine's leading `/`.
    pub name: String,
    /// The image as the container was created from (`child:1`, `sha256:…`).
    pub image: String,
    /// The image id the container runs (`sha256:` of its config).
    pub image_id: String,
    /// `repo@sha256:…` digests of the image, when it came from a registry.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// `running`, `created`, `exited`, `paused`…
    pub state: String,
    /// The effective user (`Config.User`): empty means root.
    pub user: String,
    pub privileged: bool,
    /// `HostConfig.NetworkMode`: `default`, `bridge`, `host`, `none`, `container:ID` or a
    /// network name.
    pub network_mode: String,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub mounts: Vec<MountFact>,
    pub readonly_rootfs: bool,
    pub ports: Vec<PortFact>,
    /// `HostConfig.Memory` in bytes; 0 is no limit.
    pub memory: i64,
    /// `HostConfig.PidsLimit`; `None`, 0 or -1 is no limit.
    pub pids_limit: Option<i64>,
    /// Entrypoint and command the container was started with.
    pub command: Vec<String>,
    /// The main process's host PID (`State.Pid`); 0 when not running.
    pub pid: i64,
    /// `GET /containers/{id}/top`, when the container runs.
    #[serde(default)]
    pub processes: Vec<ProcessFact>,
    pub networks: Vec<NetworkFact>,
}

/// A mount: a bind mount's host path, or a volume's name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountFact {
    /// `bind`, `volume`, `tmpfs`…
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub rw: bool,
}

/// A published port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortFact {
    /// `80/tcp`.
    pub container_port: String,
    /// Empty, `0.0.0.0` or `::` is every interface.
    pub host_ip: String,
    pub host_port: String,
}

/// A process of `top`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessFact {
    pub pid: i64,
    pub ppid: i64,
    pub user: String,
    pub command: String,
}

/// An attached network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFact {
    pub name: String,
    pub driver: String,
    /// Created `--internal`: no route outside.
    pub internal: bool,
}

pub const ROOT_USER: CheckDef = CheckDef {
    id: "runtime.root-user",
    severity: Severity::High,
    title: "Container runs as root",
    fix: "Run as an unprivileged user: USER in the image or `--user UID` (e.g. 10001).",
};
pub const PRIVILEGED: CheckDef = CheckDef {
    id: "runtime.privileged",
    severity: Severity::Critical,
    title: "Privileged container",
    fix: "Drop --privileged; add only the capabilities and devices the workload needs.",
};
pub const HOST_NETWORK: CheckDef = CheckDef {
    id: "runtime.host-network",
    severity: Severity::High,
    title: "Host network namespace",
    fix: "Drop --network host; publish the ports the service needs on a bridge network.",
};
pub const HOST_PID: CheckDef = CheckDef {
    id: "runtime.host-pid",
    severity: Severity::High,
    title: "Host PID namespace",
    fix: "Drop --pid host.",
};
pub const HOST_IPC: CheckDef = CheckDef {
    id: "runtime.host-ipc",
    severity: Severity::Medium,
    title: "Host IPC namespace",
    fix: "Drop --ipc host.",
};
pub const ADDED_CAPABILITIES: CheckDef = CheckDef {
    id: "runtime.added-capabilities",
    severity: Severity::Medium,
    title: "Capabilities added",
    fix: "Drop --cap-add unless the workload needs it; start from --cap-drop ALL.",
};
pub const ENGINE_SOCKET: CheckDef = CheckDef {
    id: "runtime.engine-socket",
    severity: Severity::Critical,
    title: "Container engine socket mounted",
    fix: "Do not mount the engine socket: whoever reaches it controls the host.",
};
pub const SENSITIVE_MOUNT: CheckDef = CheckDef {
    id: "runtime.sensitive-mount",
    severity: Severity::High,
    title: "Sensitive host path mounted",
    fix: "Mount only the application's own data directories, read-only where possible.",
};
pub const WRITABLE_ROOTFS: CheckDef = CheckDef {
    id: "runtime.writable-rootfs",
    severity: Severity::Low,
    title: "Writable root filesystem",
    fix: "Run with --read-only and tmpfs or volumes for the paths that must be written.",
};
pub const PORT_ALL_INTERFACES: CheckDef = CheckDef {
    id: "runtime.port-all-interfaces",
    severity: Severity::Medium,
    title: "Port published on all interfaces",
    fix: "Publish on one address (`-p 127.0.0.1:PORT:PORT`) or put a proxy in front.",
};
pub const NO_MEMORY_LIMIT: CheckDef = CheckDef {
    id: "runtime.no-memory-limit",
    severity: Severity::Low,
    title: "No memory limit",
    fix: "Set --memory so one container cannot exhaust the host.",
};
pub const NO_PIDS_LIMIT: CheckDef = CheckDef {
    id: "runtime.no-pids-limit",
    severity: Severity::Low,
    title: "No process limit",
    fix: "Set --pids-limit so a fork bomb stays inside the container.",
};
pub const UNEXPECTED_PROCESS: CheckDef = CheckDef {
    id: "runtime.unexpected-process",
    severity: Severity::High,
    title: "Process outside the container's entrypoint",
    fix: "Find who started it (`docker exec`); stop it, and rebuild the container from its image if it was not yours.",
};
pub const NETWORK_EGRESS: CheckDef = CheckDef {
    id: "runtime.network-egress",
    severity: Severity::Low,
    title: "Can reach outside networks",
    fix: "Attach only internal networks (`docker network create --internal`) or `--network none` when the workload needs no egress.",
};

pub const UNTRUSTED_IMAGE: CheckDef = CheckDef {
    id: "runtime.untrusted-image",
    severity: Severity::High,
    title: "Image not in the trusted list",
    fix: "Run an image the policy's trusted_images (or the stage's trusted_bases) approves, or have it approved.",
};

/// Every runtime check, in docs/runtime.md's order.
pub const CHECKS: &[CheckDef] = &[
    ROOT_USER,
    PRIVILEGED,
    HOST_NETWORK,
    HOST_PID,
    HOST_IPC,
    ADDED_CAPABILITIES,
    ENGINE_SOCKET,
    SENSITIVE_MOUNT,
    WRITABLE_ROOTFS,
    PORT_ALL_INTERFACES,
    NO_MEMORY_LIMIT,
    NO_PIDS_LIMIT,
    UNEXPECTED_PROCESS,
    NETWORK_EGRESS,
    UNTRUSTED_IMAGE,
];

/// The runtime check of an id.
pub fn check_def(id: &str) -> Option<&'static CheckDef> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Capabilities that amount to root on the host (or close): their findings are high.
pub(crate) const DANGEROUS_CAPS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
];

/// Host paths whose mount, anywhere below them, exposes the host.
pub(crate) const SENSITIVE_TREES: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/root",
    "/boot",
    "/dev",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/run/containerd",
    "/var/run/containerd",
];

/// Host paths sensitive as a whole (their subdirectories are ordinary data).
pub(crate) const SENSITIVE_EXACT: &[&str] = &[
    "/", "/var/run", "/run", "/var", "/usr", "/home", "/lib", "/bin", "/sbin",
];

/// Socket file names of container engines.
pub(crate) const ENGINE_SOCKETS: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "podman.sock",
    "crio.sock",
    "dockershim.sock",
];

/// What the checks need besides the container: the engine's own socket, which a
/// container mounting it controls whatever the file is called.
#[derive(Clone, Debug, Default)]
pub struct CheckContext {
    /// The engine's unix socket path, when connected through one.
    pub engine_socket: Option<String>,
}

fn is_root(user: &str) -> bool {
    let u = user.split(':').next().unwrap_or("").trim();
    u.is_empty() || u == "0" || u == "root"
}

/// `a/b/../c` and `a//b/` as the host sees them, for comparing mount sources.
pub(crate) fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

pub(crate) fn under(path: &str, tree: &str) -> bool {
    path == tree || path.starts_with(&format!("{tree}/"))
}

fn all_interfaces(ip: &str) -> bool {
    matches!(ip, "" | "0.0.0.0" | "::" | "[::]")
}

/// The runtime findings of one container, in [`CHECKS`]' order.
pub fn check(c: &ContainerFacts, ctx: &CheckContext) -> Vec<CheckFinding> {
    let mut out = Vec::new();
    let with_path = |f: CheckFinding, path: &str| CheckFinding {
        path: Some(path.to_string()),
        ..f
    };
    if is_root(&c.user) {
        let who = if c.user.is_empty() {
            "root (no user set)".to_string()
        } else {
            format!("root ({:?})", c.user)
        };
        out.push(with_path(
            ROOT_USER.finding(format!("{} runs as {who}", c.name)),
            "Config.User",
        ));
    }
    if c.privileged {
        out.push(with_path(
            PRIVILEGED.finding(format!(
                "{} is privileged: every capability and device of the host",
                c.name
            )),
            "HostConfig.Privileged",
        ));
    }
    if c.network_mode == "host" {
        out.push(with_path(
            HOST_NETWORK.finding(format!("{} shares the host's network namespace", c.name)),
            "HostConfig.NetworkMode",
        ));
    }
    if c.pid_mode == "host" {
        out.push(with_path(
            HOST_PID.finding(format!(
                "{} sees and can signal every process of the host",
                c.name
            )),
            "HostConfig.PidMode",
        ));
    }
    if c.ipc_mode == "host" {
        out.push(with_path(
            HOST_IPC.finding(format!("{} shares the host's IPC namespace", c.name)),
            "HostConfig.IpcMode",
        ));
    }
    if !c.cap_add.is_empty() {
        let caps: Vec<String> = c
            .cap_add
            .iter()
            .map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase())
            .collect();
        let mut f = ADDED_CAPABILITIES.finding(format!("{} adds {}", c.name, caps.join(", ")));
        if caps.iter().any(|c| DANGEROUS_CAPS.contains(&c.as_str())) {
            f.severity = Severity::High;
        }
        f.evidence = Some(caps.join(","));
        out.push(with_path(f, "HostConfig.CapAdd"));
    }
    for m in &c.mounts {
        if m.kind != "bind" {
            continue;
        }
        let src = normalize(&m.source);
        let engine = ctx
            .engine_socket
            .as_deref()
            .is_some_and(|s| normalize(s) == src)
            || ENGINE_SOCKETS
                .iter()
                .any(|name| src.rsplit('/').next() == Some(*name));
        let rw = if m.rw { "read-write" } else { "read-only" };
        let path = format!("Mounts[{}]", m.destination);
        if engine {
            out.push(with_path(
                ENGINE_SOCKET.finding(format!(
                    "{} mounts the engine socket {src} at {}",
                    c.name, m.destination
                )),
                &path,
            ));
        } else if SENSITIVE_EXACT.contains(&src.as_str())
            || SENSITIVE_TREES.iter().any(|t| under(&src, t))
        {
            out.push(with_path(
                SENSITIVE_MOUNT.finding(format!(
                    "{} mounts the host's {src} at {} ({rw})",
                    c.name, m.destination
                )),
                &path,
            ));
        }
    }
    if !c.readonly_rootfs {
        out.push(with_path(
            WRITABLE_ROOTFS.finding(format!("{}'s root filesystem is writable", c.name)),
            "HostConfig.ReadonlyRootfs",
        ));
    }
    for p in &c.ports {
        if all_interfaces(&p.host_ip) {
            let ip = if p.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                &p.host_ip
            };
            out.push(with_path(
                PORT_ALL_INTERFACES.finding(format!(
                    "{} publishes {} on {ip}:{} (every interface)",
                    c.name, p.container_port, p.host_port
                )),
                &format!("HostConfig.PortBindings[{}]", p.container_port),
            ));
        }
    }
    if c.memory <= 0 {
        out.push(with_path(
            NO_MEMORY_LIMIT.finding(format!("{} has no memory limit", c.name)),
            "HostConfig.Memory",
        ));
    }
    if c.pids_limit.unwrap_or(0) <= 0 {
        out.push(with_path(
            NO_PIDS_LIMIT.finding(format!("{} has no process limit", c.name)),
            "HostConfig.PidsLimit",
        ));
    }
    for p in unexpected_processes(c) {
        let mut f = UNEXPECTED_PROCESS.finding(format!(
            "{} runs {:?} (pid {}, user {}) outside its entrypoint {:?}",
            c.name,
            p.command,
            p.pid,
            p.user,
            c.command.join(" ")
        ));
        f.evidence = Some(p.command.clone());
        out.push(with_path(f, "top"));
    }
    if let Some(reach) = egress(c) {
        out.push(with_path(
            NETWORK_EGRESS.finding(format!("{} can reach outside through {reach}", c.name)),
            "NetworkSettings.Networks",
        ));
    }
    out
}

/// The approved images of a policy file: its `trusted_images` and the stage's
/// `trusted_bases` patterns (an organisation's own registry: `registry.example.com/*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    pub images: Vec<patchline_policy::TrustedImage>,
    pub repositories: Vec<String>,
}

/// `child:1` → `docker.io/library/child:1`, as Docker Hub names are matched: a first
/// component without a dot or port (other than `localhost`) is a Hub repository, and a
/// reference without tag or digest means `:latest`.
pub fn normalize_reference(r: &str) -> String {
    let mut out = r.to_string();
    let first = r.split('/').next().unwrap_or("");
    let has_host =
        r.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_host {
        out = if r.contains('/') {
            format!("docker.io/{r}")
        } else {
            format!("docker.io/library/{r}")
        };
    }
    let last = out.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !last.contains('@') {
        out.push_str(":latest");
    }
    out
}

/// `runtime.untrusted-image` when no entry of `trust` approves the container's image.
/// A pinned entry approves only its digest, which must be one of the image's registry
/// digests (`repo@sha256:…`) or its id; an image never pulled or pushed has no registry
/// digest, so a pinned entry does not approve it.
pub fn untrusted(c: &ContainerFacts, trust: &Trust, today: time::Date) -> Option<CheckFinding> {
    let reference = normalize_reference(&c.image);
    if c.image.starts_with("sha256:") {
        // Run by id: nothing names where it came from.
    } else if trust
        .repositories
        .iter()
        .any(|p| patchline_policy::pattern::reference_matches(p, &reference))
    {
        return None;
    }
    let digests: Vec<&str> = c
        .repo_digests
        .iter()
        .filter_map(|d| d.split_once('@').map(|(_, d)| d))
        .chain([c.image_id.as_str()])
        .collect();
    let mut why = "no trusted_images entry matches it".to_string();
    for t in &trust.images {
        for d in &digests {
            match t.judge(&reference, Some(d), today) {
                patchline_policy::trusted::TrustMatch::Trusted => return None,
                patchline_policy::trusted::TrustMatch::Expired(e) => {
                    why = format!("the approval of {} expired on {e}", t.pattern)
                }
                patchline_policy::trusted::TrustMatch::DigestMismatch { approved } => {
                    why = format!("{} approves only {approved}", t.pattern)
                }
                patchline_policy::trusted::TrustMatch::NoMatch => {}
            }
        }
    }
    let mut f = UNTRUSTED_IMAGE.finding(format!("{} runs {reference}: {why}", c.name));
    f.path = Some("Config.Image".into());
    f.evidence = c.repo_digests.first().cloned().or(Some(c.image_id.clone()));
    Some(f)
}

/// The processes neither the main process nor descended from it.
pub fn unexpected_processes(c: &ContainerFacts) -> Vec<&ProcessFact> {
    if c.pid <= 0 || c.processes.is_empty() {
        return Vec::new();
    }
    let mut expected = std::collections::HashSet::from([c.pid]);
    // Parents may be listed after their children; repeat until nothing changes (bounded
    // by the list's length, as each round adds at least one process).
    for _ in 0..c.processes.len() {
        let before = expected.len();
        for p in &c.processes {
            if expected.contains(&p.ppid) {
                expected.insert(p.pid);
            }
        }
        if expected.len() == before {
            break;
        }
    }
    c.processes
        .iter()
        .filter(|p| !expected.contains(&p.pid))
        .collect()
}

/// The networks through which the container reaches outside, named; `None` when it
/// cannot (`none`, internal networks only) or shares another container's or the host's
/// namespace (judged there, or by the host-network check).
fn egress(c: &ContainerFacts) -> Option<String> {
    if c.network_mode == "none"
        || c.network_mode == "host"
        || c.network_mode.starts_with("container:")
    {
        return None;
    }
    let open: Vec<&str> = c
        .networks
        .iter()
        .filter(|n| !n.internal && n.name != "none" && n.driver != "null")
        .map(|n| n.name.as_str())
        .collect();
    if open.is_empty() {
        None
    } else {
        Some(open.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> ContainerFacts {
        ContainerFacts {
            id: "c1".into(),
            name: "clean".into(),
            user: "10001".into(),
            network_mode: "none".into(),
            readonly_rootfs: true,
            memory: 64 << 20,
            pids_limit: Some(64),
            command: vec!["sleep".into(), "infinity".into()],
            pid: 100,
            processes: vec![ProcessFact {
                pid: 100,
                ppid: 1,
                user: "10001".into(),
                command: "sleep infinity".into(),
            }],
            networks: vec![NetworkFact {
                name: "none".into(),
                driver: "null".into(),
                internal: false,
            }],
            ..Default::default()
        }
    }

    fn ids(c: &ContainerFacts, ctx: &CheckContext) -> Vec<&'static str> {
        check(c, ctx)
            .iter()
            .map(|f| check_def(&f.id).unwrap().id)
            .collect()
    }

    #[test]
    fn a_locked_down_container_has_no_finding() {
        assert_eq!(check(&clean(), &CheckContext::default()), vec![]);
    }

    #[test]
    fn each_planted_problem_is_its_own_finding() {
        let mut c = clean();
        c.user = "0:0".into();
        c.privileged = true;
        c.pid_mode = "host".into();
        c.cap_add = vec!["CAP_NET_ADMIN".into()];
        c.mounts = vec![
            MountFact {
                kind: "bind".into(),
                source: "/tmp/d/sock".into(),
                destination: "/var/run/docker.sock".into(),
                rw: true,
            },
            MountFact {
                kind: "bind".into(),
                source: "/etc/".into(),
                destination: "/host-etc".into(),
                rw: false,
            },
            MountFact {
                kind: "bind".into(),
                source: "/srv/data".into(),
                destination: "/data".into(),
                rw: true,
            },
        ];
        c.ports = vec![
            PortFact {
                container_port: "80/tcp".into(),
                host_ip: "0.0.0.0".into(),
                host_port: "8080".into(),
            },
            PortFact {
                container_port: "81/tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: "8081".into(),
            },
        ];
        c.processes.push(ProcessFact {
            pid: 200,
            ppid: 50,
            user: "root".into(),
            command: "sleep 1234".into(),
        });
        c.network_mode = "bridge".into();
        c.networks = vec![NetworkFact {
            name: "bridge".into(),
            driver: "bridge".into(),
            internal: false,
        }];
        let ctx = CheckContext {
            engine_socket: Some("/tmp/d/sock".into()),
        };
        assert_eq!(
            ids(&c, &ctx),
            vec![
                "runtime.root-user",
                "runtime.privileged",
                "runtime.host-pid",
                "runtime.added-capabilities",
                "runtime.engine-socket",
                "runtime.sensitive-mount",
                "runtime.port-all-interfaces",
                "runtime.unexpected-process",
                "runtime.network-egress",
            ]
        );
        let caps = &check(&c, &ctx)[3];
        assert_eq!(caps.severity, Severity::Medium);
        assert_eq!(caps.evidence.as_deref(), Some("NET_ADMIN"));
    }

    #[test]
    fn children_of_the_main_process_are_expected() {
        let mut c = clean();
        c.processes.push(ProcessFact {
            pid: 102,
            ppid: 101,
            user: "10001".into(),
            command: "worker".into(),
        });
        c.processes.push(ProcessFact {
            pid: 101,
            ppid: 100,
            user: "10001".into(),
            command: "sh -c worker".into(),
        });
        assert!(unexpected_processes(&c).is_empty());
    }

    #[test]
    fn users_networks_and_limits() {
        assert!(is_root("") && is_root("root") && is_root("0:1000"));
        assert!(!is_root("10001") && !is_root("app:app"));
        let mut c = clean();
        c.network_mode = "backend".into();
        c.networks = vec![NetworkFact {
            name: "backend".into(),
            driver: "bridge".into(),
            internal: true,
        }];
        c.pids_limit = Some(-1);
        c.memory = 0;
        c.cap_add = vec!["SYS_ADMIN".into()];
        let f = check(&c, &CheckContext::default());
        let got: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            got,
            vec![
                "runtime.added-capabilities",
                "runtime.no-memory-limit",
                "runtime.no-pids-limit"
            ]
        );
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            normalize("/var/run/../run//docker.sock"),
            "/var/run/docker.sock"
        );
    }

    #[test]
    fn trusted_images_and_repositories_approve_images() {
        let mut c = clean();
        c.image = "child:1".into();
        c.image_id = format!("sha256:{}", "a".repeat(64));
        let today = time::macros::date!(2026 - 12 - 08);
        let entry = |pattern: &str, digest: Option<String>| patchline_policy::TrustedImage {
            pattern: pattern.into(),
            digest,
            ..Default::default()
        };
        let trust = |images, repositories| Trust {
            images,
            repositories,
        };
        assert_eq!(normalize_reference("child:1"), "docker.io/library/child:1");
        assert_eq!(normalize_reference("team/app"), "docker.io/team/app:latest");
        assert_eq!(
            normalize_reference("r.example:5000/a/b@sha256:1"),
            "r.example:5000/a/b@sha256:1"
        );
        assert!(untrusted(
            &c,
            &trust(vec![entry("docker.io/library/child:*", None)], vec![]),
            today
        )
        .is_none());
        assert!(untrusted(
            &c,
            &trust(vec![], vec!["docker.io/library/*".into()]),
            today
        )
        .is_none());
        let f = untrusted(
            &c,
            &trust(vec![entry("docker.io/library/other", None)], vec![]),
            today,
        )
        .unwrap();
        assert_eq!(f.id, "runtime.untrusted-image");
        assert!(
            f.message.contains("no trusted_images entry"),
            "{}",
            f.message
        );
        let pinned = entry(
            "docker.io/library/child",
            Some(format!("sha256:{}", "b".repeat(64))),
        );
        let f = untrusted(&c, &trust(vec![pinned.clone()], vec![]), today).unwrap();
        assert!(
            f.message.contains("approves only sha256:bbbb"),
            "{}",
            f.message
        );
        c.repo_digests = vec![format!("docker.io/library/child@sha256:{}", "b".repeat(64))];
        assert!(untrusted(&c, &trust(vec![pinned], vec![]), today).is_none());
    }

    #[test]
    fn check_ids_are_unique_and_runtime() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
        assert!(CHECKS.iter().all(|c| c.id.starts_with("runtime.")));
    }
}

#[cfg(test)]
mod docs {
    use super::CHECKS;

    /// docs/runtime.md lists every check as `scan`'s docs/checks.md does; the expected
    /// block is printed when it is out of date.
    #[test]
    fn docs_runtime_md_lists_every_check() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/runtime.md");
        let doc = std::fs::read_to_string(&root).unwrap_or_default();
        let lines: Vec<String> = CHECKS
            .iter()
            .map(|c| {
                format!(
                    "- `{}` ({}): {}. Fix: {}",
                    c.id,
                    c.severity.as_str(),
                    c.title,
                    c.fix
                )
            })
            .collect();
        let absent: Vec<&String> = lines.iter().filter(|l| !doc.contains(l.as_str())).collect();
        assert!(
            absent.is_empty(),
            "docs/runtime.md lacks these lines (the whole block):\n{}",
            lines.join("\n")
        );
    }
}
