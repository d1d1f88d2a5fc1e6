//! `runtime k8s` on recorded pod lists (tests/data/k8s, see its README): each check fires
//! on the pods that have the problem and not on the hardened pod, digests are mapped
//! from every `imageID` form, bad files are refused with their name, and the JSON and
//! SARIF renderings have their documented shape.

use std::path::{Path, PathBuf};

use patchline_runtime::k8s::{self, render::render, K8sOptions, K8sReport};
use patchline_runtime::report::Format;
use patchline_runtime::Gate;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/k8s")
        .join(name)
}

fn report(file: &str, opts: &K8sOptions) -> K8sReport {
    let list = k8s::read_pod_list(&data(file), k8s::MAX_POD_LIST_BYTES).unwrap();
    k8s::inspect(&list, "test", opts)
}

fn default_report() -> K8sReport {
    report("pods-kubectl.json", &K8sOptions::default())
}

/// The check ids of a pod (its own and its containers'), sorted.
fn ids(r: &K8sReport, pod: &str) -> Vec<String> {
    let p = r
        .pods
        .iter()
        .find(|p| p.name == pod)
        .unwrap_or_else(|| panic!("no pod {pod}"));
    let mut v: Vec<String> = p
        .checks
        .iter()
        .chain(p.containers.iter().flat_map(|c| c.checks.iter()))
        .map(|f| f.id.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn pods_with(r: &K8sReport, id: &str) -> Vec<String> {
    let mut v: Vec<String> = r
        .pods
        .iter()
        .filter(|p| ids(r, &p.name).iter().any(|i| i == id))
        .map(|p| p.name.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn each_check_fires_where_the_problem_is() {
    let r = default_report();
    assert_eq!(r.pods.len(), 7);
    let cases: &[(&str, &[&str])] = &[
        ("runtime.privileged", &["node-agent"]),
        ("runtime.host-network", &["node-agent"]),
        ("runtime.host-pid", &["node-agent"]),
        ("runtime.host-ipc", &["node-agent"]),
        ("runtime.engine-socket", &["node-agent"]),
        (
            "runtime.sensitive-mount",
            &["fluentd-elasticsearch-7xk2p", "node-agent"],
        ),
        ("runtime.root-user", &["node-agent"]),
        (
            "runtime.run-as-non-root-missing",
            &[
                "fluentd-elasticsearch-7xk2p",
                "memory-demo",
                "pod-with-precision",
                "security-context-demo-4",
            ],
        ),
        ("runtime.added-capabilities", &["security-context-demo-4"]),
        (
            "runtime.privilege-escalation",
            &[
                "fluentd-elasticsearch-7xk2p",
                "memory-demo",
                "node-agent",
                "pod-with-precision",
                "security-context-demo-4",
            ],
        ),
        (
            "runtime.no-memory-limit",
            &[
                "node-agent",
                "pod-with-precision",
                "security-context-demo",
                "security-context-demo-4",
            ],
        ),
        (
            "runtime.no-cpu-limit",
            &[
                "fluentd-elasticsearch-7xk2p",
                "memory-demo",
                "node-agent",
                "pod-with-precision",
                "security-context-demo",
                "security-context-demo-4",
            ],
        ),
    ];
    for (id, want) in cases {
        assert_eq!(pods_with(&r, id), *want, "{id}");
    }
    // Every pod but the hardened one runs its image by tag and with a writable root.
    for id in ["runtime.image-not-pinned", "runtime.writable-rootfs"] {
        let got = pods_with(&r, id);
        assert_eq!(got.len(), 6, "{id}: {got:?}");
        assert!(!got.contains(&"pod-hardened".to_string()), "{id}");
    }
    assert!(
        ids(&r, "pod-hardened").is_empty(),
        "{:?}",
        ids(&r, "pod-hardened")
    );
}

#[test]
fn findings_carry_where_and_why() {
    let r = default_report();
    let agent = r.pods.iter().find(|p| p.name == "node-agent").unwrap();
    let c = &agent.containers[0];
    let sock = c
        .checks
        .iter()
        .find(|f| f.id == "runtime.engine-socket")
        .unwrap();
    assert_eq!(
        sock.path.as_deref(),
        Some("spec.containers[kubernetes-pause].volumeMounts[/var/run/docker.sock]")
    );
    assert!(
        sock.message.contains("/var/run/docker.sock"),
        "{}",
        sock.message
    );
    let root = c
        .checks
        .iter()
        .find(|f| f.id == "runtime.sensitive-mount")
        .unwrap();
    assert!(
        root.message.contains("the node's / at /host (read-only)"),
        "{}",
        root.message
    );
    assert_eq!(
        agent
            .checks
            .iter()
            .map(|f| f.path.clone().unwrap())
            .collect::<Vec<_>>(),
        ["spec.hostNetwork", "spec.hostPID", "spec.hostIPC"]
    );
    // /var/log is ordinary data; /var/lib/docker/containers is the engine's.
    let fluentd = r
        .pods
        .iter()
        .find(|p| p.name.starts_with("fluentd"))
        .unwrap();
    let mounts: Vec<&str> = fluentd.containers[0]
        .checks
        .iter()
        .filter(|f| f.id == "runtime.sensitive-mount")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(mounts.len(), 1);
    assert!(
        mounts[0].contains("/var/lib/docker/containers"),
        "{mounts:?}"
    );
    let caps = r
        .pods
        .iter()
        .find(|p| p.name == "security-context-demo-4")
        .unwrap();
    let f = caps.containers[0]
        .checks
        .iter()
        .find(|f| f.id == "runtime.added-capabilities")
        .unwrap();
    assert_eq!(f.evidence.as_deref(), Some("NET_ADMIN,SYS_TIME"));
    // The default gate blocks only the critical ones: privileged and the socket.
    let blocked: Vec<&str> = r
        .pods
        .iter()
        .filter(|p| !p.blocking.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(blocked, ["node-agent"]);
    assert!(r.failed());
}

#[test]
fn digests_from_every_image_id_form() {
    let r = default_report();
    let digest = |pod: &str| {
        let p = r.pods.iter().find(|p| p.name == pod).unwrap();
        let c = p.containers.iter().find(|c| c.kind == "container").unwrap();
        c.digest.clone()
    };
    // containerd's repo@sha256
    let d = digest("security-context-demo").unwrap();
    assert!(d
        .repo_digest
        .unwrap()
        .starts_with("gcr.io/google-samples/node-hello@sha256:"));
    // dockershim's docker-pullable://
    let d = digest("security-context-demo-4").unwrap();
    assert!(d
        .repo_digest
        .unwrap()
        .starts_with("gcr.io/google-samples/hello-app@sha256:"));
    assert!(d.digest.unwrap().starts_with("sha256:"));
    // docker://sha256: a node-local image id, no registry digest
    let d = digest("fluentd-elasticsearch-7xk2p").unwrap();
    assert!(d.local_id.unwrap().starts_with("sha256:"));
    assert_eq!(d.repo_digest, None);
    // still waiting for its image
    assert_eq!(digest("pod-with-precision"), None);
    // init containers are mapped from initContainerStatuses
    let hardened = r.pods.iter().find(|p| p.name == "pod-hardened").unwrap();
    let init = hardened
        .containers
        .iter()
        .find(|c| c.kind == "init")
        .unwrap();
    assert!(init.digest.is_some());
    // One image entry per digest, each "not scanned here".
    // node-agent runs pause:3.5 by tag, pod-hardened (and its init container) by the
    // same digest: one image, three containers.
    let pause = r
        .images
        .iter()
        .filter(|(k, _)| k.starts_with("registry.k8s.io/pause@sha256:"))
        .collect::<Vec<_>>();
    assert_eq!(pause.len(), 1);
    assert_eq!(pause[0].1.containers, 3);
    assert_eq!(r.images.len(), 6);
    assert!(r
        .images
        .values()
        .all(|i| i.scan.starts_with("not scanned here")));
    assert!(
        r.not_checked[0].contains("not scanned here"),
        "{:?}",
        r.not_checked
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn the_api_pod_list_reads_the_same_and_namespaces_filter() {
    let a = default_report();
    let b = report("podlist-api.json", &K8sOptions::default());
    assert_eq!(a.pods.len(), b.pods.len());
    for p in &a.pods {
        assert_eq!(ids(&a, &p.name), ids(&b, &p.name), "{}", p.name);
    }
    let ns = report(
        "pods-kubectl.json",
        &K8sOptions {
            namespace: Some("kube-system".into()),
            ..Default::default()
        },
    );
    let names: Vec<&str> = ns.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["fluentd-elasticsearch-7xk2p", "node-agent"]);
    assert_eq!(ns.namespace.as_deref(), Some("kube-system"));
}

#[test]
fn a_policy_stage_gates_the_kubernetes_checks() {
    let policy = patchline_policy::parse_policy(
        "stages:\n  runtime:\n    checks:\n      fail_on: high\n      deny: [runtime.added-capabilities]\n      allow: [runtime.sensitive-mount]\n",
        "p.yaml",
    )
    .unwrap();
    let gate = Gate::from_stage(policy.stage("runtime").unwrap(), "p.yaml");
    let r = report(
        "pods-kubectl.json",
        &K8sOptions {
            namespace: None,
            gate,
        },
    );
    let blocked: Vec<&str> = r
        .pods
        .iter()
        .filter(|p| !p.blocking.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(blocked, ["security-context-demo-4", "node-agent"]);
    let fluentd = r
        .pods
        .iter()
        .find(|p| p.name.starts_with("fluentd"))
        .unwrap();
    assert!(fluentd.blocking.is_empty(), "{:?}", fluentd.blocking);
    assert_eq!(r.gate, "p.yaml (stage runtime)");
}

#[test]
fn bad_files_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let err = |p: &Path, limit: u64| k8s::read_pod_list(p, limit).unwrap_err().to_string();

    let p = write("trunc.json", br#"{"kind":"List","items":[{"metadata":"#);
    let e = err(&p, 1 << 20);
    assert!(
        e.starts_with(&format!(
            "{}: not a pod list: malformed JSON at line 1",
            p.display()
        )),
        "{e}"
    );

    let p = write(
        "pod.json",
        br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#,
    );
    let e = err(&p, 1 << 20);
    assert!(
        e.contains("its kind is \"Pod\"; expected a PodList or a List of Pods"),
        "{e}"
    );

    let p = write(
        "deploys.json",
        br#"{"kind":"List","items":[{"kind":"Deployment","metadata":{"name":"web"}}]}"#,
    );
    let e = err(&p, 1 << 20);
    assert!(e.contains("item 0 (web) is a Deployment, not a Pod"), "{e}");

    let p = write(
        "types.json",
        br#"{"kind":"PodList","items":[{"spec":{"hostNetwork":"yes"}}]}"#,
    );
    let e = err(&p, 1 << 20);
    assert!(e.contains("unexpected content at line 1"), "{e}");

    let p = write("noitems.json", br#"{"kind":"PodList"}"#);
    assert!(err(&p, 1 << 20).contains("no \"items\" array"));

    let big = std::fs::read(data("pods-kubectl.json")).unwrap();
    let p = write("big.json", &big);
    let e = err(&p, 1000);
    assert!(e.contains("over the 1000-byte limit for a pod list"), "{e}");

    let e = err(&dir.path().join("missing.json"), 1 << 20);
    assert!(
        e.starts_with(&dir.path().join("missing.json").display().to_string()),
        "{e}"
    );
}

#[test]
fn json_and_sarif_shapes() {
    let r = default_report();
    let mut buf = Vec::new();
    render(&r, Format::Json, &mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["schema"], "patchline.runtime.k8s/v1");
    assert_eq!(v["pods"].as_array().unwrap().len(), 7);
    let agent = v["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "node-agent")
        .unwrap();
    assert_eq!(agent["namespace"], "kube-system");
    assert_eq!(agent["checks"][0]["id"], "runtime.host-network");
    assert!(agent["containers"][0]["digest"]["repo_digest"]
        .as_str()
        .unwrap()
        .starts_with("registry.k8s.io/pause@sha256:"));
    assert!(agent["blocking"].as_array().unwrap().len() >= 2);
    // A round trip through the document.
    let back: K8sReport = serde_json::from_value(v).unwrap();
    assert_eq!(back.pods.len(), 7);

    let mut buf = Vec::new();
    render(&r, Format::Sarif, &mut buf).unwrap();
    let s: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let runs = s["runs"].as_array().unwrap();
    // One run per container: 8 (the hardened pod has an init container).
    assert_eq!(runs.len(), 8);
    let rules: Vec<String> = runs
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap().iter())
        .filter_map(|x| x["ruleId"].as_str().map(str::to_string))
        .collect();
    for id in [
        "runtime.privileged",
        "runtime.engine-socket",
        "runtime.host-pid",
    ] {
        assert!(rules.iter().any(|r| r == id), "{id} not in {rules:?}");
    }

    let mut buf = Vec::new();
    render(&r, Format::Table, &mut buf).unwrap();
    let t = String::from_utf8(buf).unwrap();
    assert!(
        t.contains("pod kube-system/node-agent (Running)  BLOCKED"),
        "{t}"
    );
    assert!(t.contains("not checked: image vulnerabilities of"), "{t}");

    // No pod at all: still a valid SARIF log and JSON document.
    let empty = k8s::inspect(
        &k8s::parse_pod_list(br#"{"kind":"PodList","items":[]}"#, "e").unwrap(),
        "e",
        &K8sOptions::default(),
    );
    let mut buf = Vec::new();
    render(&empty, Format::Sarif, &mut buf).unwrap();
    let s: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(s["version"], "2.1.0");
    assert!(!empty.failed());
}
