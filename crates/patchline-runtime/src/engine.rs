//! The Docker Engine side, through bollard: which containers exist, their settings, their
//! processes and networks ([`ContainerFacts`]), an image's `docker save` stream, and
//! stopping a container.
//!
//! bollard is async; patchline's scan library and CLI are synchronous, so [`Engine`] owns a
//! current-thread tokio runtime and blocks on each call. Every request has bollard's
//! per-request timeout ([`Engine::connect`]'s `timeout`); the image export is bounded in
//! bytes as it is written, so a huge or endless stream fails instead of filling the disk.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use bollard::query_parameters::{
    InspectContainerOptions, InspectNetworkOptions, ListContainersOptionsBuilder,
    StopContainerOptionsBuilder, TopOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::checks::{ContainerFacts, MountFact, NetworkFact, PortFact, ProcessFact};

/// An engine request that failed; the text names the host and what was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot be reached at all (no socket, refused, not an engine).
    #[error("cannot reach the Docker Engine at {host}: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("{host}: {what}: {detail}")]
    Request {
        host: String,
        what: String,
        detail: String,
    },
    #[error("--host {0:?}: expected unix:///PATH/docker.sock or tcp://HOST:PORT")]
    BadHost(String),
}

/// A connection to one engine.
pub struct Engine {
    docker: Docker,
    rt: tokio::runtime::Runtime,
    host: String,
    socket: Option<String>,
    /// Network inspections, by name, for this run.
    networks: HashMap<String, NetworkFact>,
}

/// The engine's version, for the report.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct EngineInfo {
    pub host: String,
    pub version: String,
    pub api_version: String,
}

fn detail(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => format!(
            "HTTP {status_code}: {}",
            message.chars().take(300).collect::<String>()
        ),
        other => other.to_string(),
    }
}

impl Engine {
    /// Connects to `host` (`unix:///var/run/docker.sock`, a bare socket path, or
    /// `tcp://HOST:PORT` / `http://HOST:PORT`) and checks that an engine answers.
    pub fn connect(host: &str, timeout_secs: u64) -> Result<Engine, EngineError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| EngineError::Unreachable {
                host: host.into(),
                detail: format!("cannot start the async runtime: {e}"),
            })?;
        let unreachable = |detail: String| EngineError::Unreachable {
            host: host.into(),
            detail,
        };
        let (docker, socket) = if let Some(path) = host.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(EngineError::BadHost(host.into()));
            }
            if !Path::new(path).exists() {
                return Err(unreachable(format!("no socket at {path}")));
            }
            let d = Docker::connect_with_unix(path, timeout_secs, bollard::API_DEFAULT_VERSION)
                .map_err(|e| unreachable(detail(&e)))?;
            (d, Some(path.to_string()))
        } else if host.starts_with('/') {
            return Engine::connect(&format!("unix://{host}"), timeout_secs);
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            // The client speaks plain HTTP; a TLS endpoint (https, :2376) would need
            // client certificates, which this command does not take.
            let d = rt.block_on(async {
                Docker::connect_with_http(host, timeout_secs, bollard::API_DEFAULT_VERSION)
            });
            (d.map_err(|e| unreachable(detail(&e)))?, None)
        } else {
            return Err(EngineError::BadHost(host.into()));
        };
        let engine = Engine {
            docker,
            rt,
            host: host.into(),
            socket,
            networks: HashMap::new(),
        };
        engine
            .rt
            .block_on(engine.docker.ping())
            .map_err(|e| unreachable(detail(&e)))?;
        Ok(engine)
    }

    /// The engine's unix socket, when connected through one.
    pub fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn request_error(&self, what: impl Into<String>, e: bollard::errors::Error) -> EngineError {
        EngineError::Request {
            host: self.host.clone(),
            what: what.into(),
            detail: detail(&e),
        }
    }

    pub fn info(&self) -> Result<EngineInfo, EngineError> {
        let v = self
            .rt
            .block_on(self.docker.version())
            .map_err(|e| self.request_error("GET /version", e))?;
        Ok(EngineInfo {
            host: self.host.clone(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
        })
    }

    /// The ids of running containers, or of all with `all`, oldest first.
    pub fn container_ids(&self, all: bool) -> Result<Vec<String>, EngineError> {
        let opts = ListContainersOptionsBuilder::default().all(all).build();
        let mut list = self
            .rt
            .block_on(self.docker.list_containers(Some(opts)))
            .map_err(|e| self.request_error("GET /containers/json", e))?;
        list.sort_by_key(|c| c.created.unwrap_or(0));
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

    /// One container's facts: inspect, plus `top` while it runs and its networks.
    /// `Ok(None)` when it disappeared meanwhile.
    pub fn container(&mut self, id: &str) -> Result<Option<ContainerFacts>, EngineError> {
        let inspected = self.rt.block_on(
            self.docker
                .inspect_container(id, None::<InspectContainerOptions>),
        );
        let c = match inspected {
            Ok(c) => c,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(e) => return Err(self.request_error(format!("GET /containers/{id}/json"), e)),
        };
        let config = c.config.unwrap_or_default();
        let hc = c.host_config.unwrap_or_default();
        let state = c.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        let mut facts = ContainerFacts {
            id: c.id.unwrap_or_else(|| id.to_string()),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: config.image.clone().unwrap_or_default(),
            image_id: c.image.unwrap_or_default(),
            state: state
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".into()),
            user: config.user.clone().unwrap_or_default(),
            privileged: hc.privileged.unwrap_or(false),
            network_mode: hc.network_mode.clone().unwrap_or_default(),
            pid_mode: hc.pid_mode.clone().unwrap_or_default(),
            ipc_mode: hc.ipc_mode.clone().unwrap_or_default(),
            cap_add: hc.cap_add.clone().unwrap_or_default(),
            cap_drop: hc.cap_drop.clone().unwrap_or_default(),
            readonly_rootfs: hc.readonly_rootfs.unwrap_or(false),
            memory: hc.memory.unwrap_or(0),
            pids_limit: hc.pids_limit,
            command: config
                .entrypoint
                .clone()
                .unwrap_or_default()
                .into_iter()
                .chain(config.cmd.clone().unwrap_or_default())
                .collect(),
            pid: if running { state.pid.unwrap_or(0) } else { 0 },
            ..Default::default()
        };
        facts.mounts = c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| MountFact {
                kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
                source: m.source.unwrap_or_default(),
                destination: m.destination.unwrap_or_default(),
                rw: m.rw.unwrap_or(true),
            })
            .collect();
        // A created container has no NetworkSettings.Ports yet: its intent is in
        // HostConfig.PortBindings, which is what a start would publish.
        let mut ports: Vec<PortFact> = Vec::new();
        for (port, bindings) in hc.port_bindings.clone().unwrap_or_default() {
            for b in bindings.unwrap_or_default() {
                ports.push(PortFact {
                    container_port: port.clone(),
                    host_ip: b.host_ip.unwrap_or_default(),
                    host_port: b.host_port.unwrap_or_default(),
                });
            }
        }
        ports.sort_by(|a, b| (&a.container_port, &a.host_ip).cmp(&(&b.container_port, &b.host_ip)));
        facts.ports = ports;
        if running {
            facts.processes = self.top(&facts.id)?;
        }
        let mut names: Vec<String> = c
            .network_settings
            .and_then(|n| n.networks)
            .map(|n| n.into_keys().collect())
            .unwrap_or_default();
        if names.is_empty()
            && !facts.network_mode.is_empty()
            && !facts.network_mode.starts_with("container:")
        {
            // Not started yet: the network it would join.
            let mode = match facts.network_mode.as_str() {
                "default" => "bridge".to_string(),
                m => m.to_string(),
            };
            names.push(mode);
        }
        names.sort();
        for n in names {
            let net = self.network(&n)?;
            facts.networks.push(net);
        }
        Ok(Some(facts))
    }

    fn top(&self, id: &str) -> Result<Vec<ProcessFact>, EngineError> {
        let opts = TopOptionsBuilder::default()
            .ps_args("-o pid,ppid,user,args")
            .build();
        let top = match self.rt.block_on(self.docker.top_processes(id, Some(opts))) {
            Ok(t) => t,
            // Stopped between the inspection and now.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409 | 404,
                ..
            }) => return Ok(Vec::new()),
            Err(e) => return Err(self.request_error(format!("GET /containers/{id}/top"), e)),
        };
        let titles = top.titles.unwrap_or_default();
        let col = |name: &str| titles.iter().position(|t| t.eq_ignore_ascii_case(name));
        let (pid, ppid, user, cmd) = (
            col("PID"),
            col("PPID"),
            col("USER"),
            col("COMMAND").or(col("CMD")),
        );
        let mut out = Vec::new();
        for row in top.processes.unwrap_or_default().into_iter().take(10_000) {
            let get = |i: Option<usize>| i.and_then(|i| row.get(i)).cloned().unwrap_or_default();
            out.push(ProcessFact {
                pid: get(pid).trim().parse().unwrap_or(0),
                ppid: get(ppid).trim().parse().unwrap_or(0),
                user: get(user),
                command: get(cmd).chars().take(1000).collect(),
            });
        }
        Ok(out)
    }

    fn network(&mut self, name: &str) -> Result<NetworkFact, EngineError> {
        if let Some(n) = self.networks.get(name) {
            return Ok(n.clone());
        }
        let fact = match self.rt.block_on(
            self.docker
                .inspect_network(name, None::<InspectNetworkOptions>),
        ) {
            Ok(n) => NetworkFact {
                name: name.to_string(),
                driver: n.driver.unwrap_or_default(),
                internal: n.internal.unwrap_or(false),
            },
            // Removed meanwhile: judged as reaching outside, the engine's default.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => NetworkFact {
                name: name.to_string(),
                ..Default::default()
            },
            Err(e) => return Err(self.request_error(format!("GET /networks/{name}"), e)),
        };
        self.networks.insert(name.to_string(), fact.clone());
        Ok(fact)
    }

    /// `repo@sha256:…` digests of an image (empty for images that were loaded or built
    /// here and never pushed or pulled).
    pub fn repo_digests(&self, image_id: &str) -> Result<Vec<String>, EngineError> {
        match self.rt.block_on(self.docker.inspect_image(image_id)) {
            Ok(i) => Ok(i.repo_digests.unwrap_or_default()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(Vec::new()),
            Err(e) => Err(self.request_error(format!("GET /images/{image_id}/json"), e)),
        }
    }

    /// Streams `GET /images/{image}/get` (a docker-archive tar) into `out`, refusing more
    /// than `limit` bytes. Returns the bytes written.
    pub fn export_image(
        &self,
        image: &str,
        out: &mut dyn Write,
        limit: u64,
    ) -> Result<u64, EngineError> {
        let what = format!("GET /images/{image}/get");
        self.rt.block_on(async {
            let mut stream = self.docker.export_image(image);
            let mut n: u64 = 0;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.request_error(what.clone(), e))?;
                n += chunk.len() as u64;
                if n > limit {
                    return Err(EngineError::Request {
                        host: self.host.clone(),
                        what: what.clone(),
                        detail: format!("the image is larger than the {} MiB limit", limit >> 20),
                    });
                }
                out.write_all(&chunk).map_err(|e| EngineError::Request {
                    host: self.host.clone(),
                    what: what.clone(),
                    detail: format!("writing the temporary archive: {e}"),
                })?;
            }
            Ok(n)
        })
    }

    /// `POST /containers/{id}/stop` with a grace period.
    pub fn stop(&self, id: &str, grace_secs: i32) -> Result<(), EngineError> {
        let opts = StopContainerOptionsBuilder::default().t(grace_secs).build();
        self.rt
            .block_on(self.docker.stop_container(id, Some(opts)))
            .map_err(|e| self.request_error(format!("POST /containers/{id}/stop"), e))
    }
}
