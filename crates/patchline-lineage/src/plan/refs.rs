//! References as plans compare and name them: Docker normalisation (`debian:12` is
//! `docker.io/library/debian:12`), the key parent links are matched on, digest checks and
//! file-system-safe slugs.

/// Docker-normalised `(repository, tag, digest)`: `debian:12` →
/// `("docker.io/library/debian", Some("12"), None)`.
pub(super) fn normalize(reference: &str) -> (String, Option<String>, Option<String>) {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    let (repo, tag) = split_tag(name);
    let mut parts: Vec<&str> = repo.split('/').collect();
    let hostlike = parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
    if hostlike && matches!(parts[0], "index.docker.io" | "registry-1.docker.io") {
        parts[0] = "docker.io";
    }
    let mut repo = if hostlike {
        parts.join("/")
    } else {
        format!("docker.io/{}", parts.join("/"))
    };
    if repo.starts_with("docker.io/") && repo.matches('/').count() == 1 {
        repo = repo.replacen("docker.io/", "docker.io/library/", 1);
    }
    let tag = tag
        .map(str::to_string)
        .or_else(|| digest.is_none().then(|| "latest".to_string()));
    (repo, tag, digest)
}

/// `repo[:tag]` → (repo, tag); a colon before the last slash is a port.
pub(super) fn split_tag(name: &str) -> (&str, Option<&str>) {
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

/// The key parent links are matched on: normalised `repo:tag` (or `repo@digest`).
pub(super) fn match_key(reference: &str) -> String {
    let (repo, tag, digest) = normalize(reference);
    match (tag, digest) {
        (Some(t), _) => format!("{repo}:{t}"),
        (None, Some(d)) => format!("{repo}@{d}"),
        (None, None) => repo,
    }
}

pub(super) fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// File-system-safe slug of a reference.
pub(super) fn slugify(reference: &str) -> String {
    let mut s: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}
