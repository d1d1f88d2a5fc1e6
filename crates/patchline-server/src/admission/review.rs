//! The AdmissionReview document: what a request names (uid, operation, the object's pod
//! spec and its containers' images) and the response's shape.
//!
//! Parsed as a `serde_json::Value` first so that a document of the wrong shape gets an
//! error naming the field, and kinds this webhook does not know pass through untouched.

use serde_json::{json, Value};

use super::decide::Verdict;
use super::MAX_CONTAINERS;

pub const API_VERSION: &str = "admission.k8s.io/v1";

/// One container image to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerImage {
    /// `containers[app]`, `initContainers[setup]`, ...
    pub container: String,
    pub image: String,
}

/// What the webhook needs from a review.
#[derive(Debug, Default)]
pub struct Request {
    pub uid: String,
    pub images: Vec<ContainerImage>,
    /// Pod-level findings (privileged, host namespaces, ...), reported as warnings.
    pub pod_warnings: Vec<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Reads a review; `Err` names what is wrong (a 400).
pub fn parse(bytes: &[u8]) -> Result<Request, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    if !doc.is_object() {
        return Err("expected a JSON object".into());
    }
    match str_at(&doc, "apiVersion") {
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "apiVersion {other:?} is not supported: set admissionReviewVersions: [\"v1\"] ({API_VERSION})"
            ))
        }
        None => return Err("apiVersion missing".into()),
    }
    if str_at(&doc, "kind") != Some("AdmissionReview") {
        return Err("kind must be AdmissionReview".into());
    }
    let request = doc.get("request").ok_or("request missing")?;
    let uid = str_at(request, "uid").ok_or("request.uid missing")?;
    if uid.is_empty() || uid.len() > 256 {
        return Err("request.uid must be 1 to 256 characters".into());
    }
    let mut out = Request {
        uid: uid.to_string(),
        ..Request::default()
    };
    let operation = str_at(request, "operation").ok_or("request.operation missing")?;
    if !matches!(operation, "CREATE" | "UPDATE") {
        return Ok(out);
    }
    let kind = request
        .get("kind")
        .and_then(|k| str_at(k, "kind"))
        .ok_or("request.kind.kind missing")?;
    let Some(object) = request.get("object").filter(|o| !o.is_null()) else {
        return Err(format!("request.object missing for {operation}"));
    };
    let spec = match kind {
        "Pod" => object.get("spec"),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => object.pointer("/spec/template/spec"),
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => return Ok(out),
    };
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        return Err(format!("request.object: a {kind} without a pod spec"));
    };
    pod(spec, &mut out)?;
    Ok(out)
}

fn flag(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool) == Some(true)
}

fn pod(spec: &Value, out: &mut Request) -> Result<(), String> {
    for (key, check) in [
        ("hostNetwork", "k8s.host-network"),
        ("hostPID", "k8s.host-pid"),
        ("hostIPC", "k8s.host-ipc"),
    ] {
        if flag(spec, &format!("/{key}")) {
            out.pod_warnings
                .push(format!("{check}: the pod sets {key}"));
        }
    }
    if let Some(vols) = spec.get("volumes").and_then(Value::as_array) {
        for v in vols {
            if let Some(p) = v.pointer("/hostPath/path").and_then(Value::as_str) {
                let name = str_at(v, "name").unwrap_or("?");
                out.pod_warnings.push(format!(
                    "k8s.host-path: volume {name} mounts the host's {p}"
                ));
            }
        }
    }
    let pod_non_root = flag(spec, "/securityContext/runAsNonRoot");
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(cs) = spec.get(list) else { continue };
        let cs = cs
            .as_array()
            .ok_or_else(|| format!("spec.{list} must be a list"))?;
        for (i, c) in cs.iter().enumerate() {
            let name = str_at(c, "name").map_or_else(|| i.to_string(), str::to_string);
            let image =
                str_at(c, "image").ok_or_else(|| format!("spec.{list}[{name}].image missing"))?;
            if out.images.len() >= MAX_CONTAINERS {
                return Err(format!("more than {MAX_CONTAINERS} containers"));
            }
            let at = format!("{list}[{name}]");
            if flag(c, "/securityContext/privileged") {
                out.pod_warnings
                    .push(format!("k8s.privileged: {at} runs privileged"));
            }
            if let Some(add) = c
                .pointer("/securityContext/capabilities/add")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
            {
                let caps: Vec<&str> = add.iter().filter_map(Value::as_str).collect();
                out.pod_warnings
                    .push(format!("k8s.capabilities: {at} adds {}", caps.join(", ")));
            }
            if !pod_non_root && !flag(c, "/securityContext/runAsNonRoot") {
                out.pod_warnings.push(format!(
                    "k8s.run-as-non-root: {at} does not set runAsNonRoot"
                ));
            }
            // Ephemeral containers may not set resources.
            if list != "ephemeralContainers" && c.pointer("/resources/limits").is_none() {
                out.pod_warnings
                    .push(format!("k8s.no-limits: {at} sets no resource limits"));
            }
            out.images.push(ContainerImage {
                container: at,
                image: image.to_string(),
            });
        }
    }
    Ok(())
}

/// Longest warning kept: the API server may truncate longer ones and too many.
const MAX_WARNING: usize = 256;
const MAX_WARNINGS: usize = 50;

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// The response document.
pub fn respond(uid: &str, v: &Verdict) -> Value {
    let warnings: Vec<String> = v
        .warnings
        .iter()
        .take(MAX_WARNINGS)
        .map(|w| clip(w, MAX_WARNING))
        .collect();
    let mut response = json!({"uid": uid, "allowed": v.denials.is_empty()});
    if !v.denials.is_empty() {
        response["status"] = json!({
            "code": 403,
            "reason": "Forbidden",
            "message": format!("patchline: {}", v.denials.join("; ")),
        });
    }
    if !warnings.is_empty() {
        response["warnings"] = json!(warnings);
    }
    json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(kind: &str, op: &str, object: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": API_VERSION, "kind": "AdmissionReview",
            "request": {"uid": "u1", "kind": {"group": "", "version": "v1", "kind": kind},
                        "operation": op, "object": object}
        }))
        .unwrap()
    }

    #[test]
    fn cronjob_template_containers_of_every_list() {
        let obj = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "app", "image": "nginx:1.25",
                            "resources": {"limits": {"cpu": "1"}},
                            "securityContext": {"privileged": true}}]}}}}}});
        let r = parse(&review("CronJob", "CREATE", obj)).unwrap();
        let imgs: Vec<_> = r.images.iter().map(|c| c.container.as_str()).collect();
        assert_eq!(imgs, ["containers[app]", "initContainers[init]"]);
        assert!(r
            .pod_warnings
            .iter()
            .any(|w| w.starts_with("k8s.privileged: containers[app]")));
    }

    #[test]
    fn delete_is_not_judged_and_bad_shapes_are_named() {
        let r = parse(&review("Pod", "DELETE", Value::Null)).unwrap();
        assert!(r.images.is_empty());
        let e = parse(&review(
            "Pod",
            "CREATE",
            json!({"spec": {"containers": [{"name": "a"}]}}),
        ))
        .unwrap_err();
        assert!(e.contains("containers[a].image"), "{e}");
        let e = parse(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#)
            .unwrap_err();
        assert!(e.contains("v1beta1"), "{e}");
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes()).unwrap_err().contains("JSON"));
    }

    #[test]
    fn response_shape() {
        let v = Verdict {
            denials: vec!["a".into(), "b".into()],
            warnings: vec!["w".repeat(400)],
        };
        let r = respond("x", &v);
        assert_eq!(r["response"]["status"]["message"], "patchline: a; b");
        assert_eq!(r["response"]["allowed"], false);
        assert_eq!(
            r["response"]["warnings"][0].as_str().unwrap().len(),
            MAX_WARNING
        );
    }
}
