//! File modes and leftovers, judged from each layer entry's metadata alone (no file is
//! read): setuid and setgid executables, world-writable files, world-writable
//! directories without the sticky bit, and package manager caches.
//!
//! # Severities
//!
//! A Debian or Alpine base ships a handful of setuid/setgid programs (`passwd`, `su`,
//! `mount`, `chage`, ...) in the distribution's own directories; they are the
//! distribution's choice, worth knowing (a container rarely needs them: strip them
//! with `chmod a-s`) but not alarming, so a setuid or setgid file in `bin`, `sbin`,
//! `usr/bin`, `usr/sbin`, `usr/lib` or `usr/libexec` is **low**. One anywhere else
//! (`usr/local`, `opt`, `home`, ...) was put there by whoever built the image, which
//! is unusual and a classic privilege escalation: **high**. Whether a dpkg package
//! owns the file is not asked: the layer walk sees modes before the package databases
//! are squashed, and a package's file copied elsewhere is still not the package's.
//! World-writable paths are **medium** (any process of any user can plant content
//! there); `tmp`-like directories with the sticky bit are fine and not reported.
//! Package caches are **low**: size and stale packages, not an exposure.
//!
//! # Package caches
//!
//! Each cached file is reported by the inspector (path: the file; evidence: its size
//! in bytes), because an inspector sees one entry at a time; [`merge_package_caches`]
//! then folds the findings of one cache directory in one layer into one, with the file
//! count and the total size. Empty files (`lock`) are not caches.
//!
//! # Known limit
//!
//! A later layer that only fixes a mode (a `chmod o-w`, `chmod u-s`) writes the entry
//! again with the good mode, which no check flags, so the squash keeps the earlier
//! layer's finding: the fix shows only when the later entry is flagged too.

use patchline_image::layer::EntryKind;
use patchline_model::check::CheckFinding;
use patchline_model::vuln::Severity;

use crate::CheckDef;

pub const SETUID: CheckDef = CheckDef {
    id: "fs.setuid",
    severity: Severity::Medium,
    title: "Setuid executable (high outside the distribution's directories, low inside)",
    fix: "Remove the setuid bit (chmod u-s) or the file, unless the container really needs it",
};
pub const SETGID: CheckDef = CheckDef {
    id: "fs.setgid",
    severity: Severity::Medium,
    title: "Setgid executable (high outside the distribution's directories, low inside)",
    fix: "Remove the setgid bit (chmod g-s) or the file, unless the container really needs it",
};
pub const WORLD_WRITABLE: CheckDef = CheckDef {
    id: "fs.world-writable",
    severity: Severity::Medium,
    title: "World-writable file",
    fix: "Remove write permission for others (chmod o-w) in the layer that creates the file",
};
pub const WORLD_WRITABLE_DIR: CheckDef = CheckDef {
    id: "fs.world-writable-dir",
    severity: Severity::Medium,
    title: "World-writable directory without the sticky bit",
    fix: "Remove write permission for others (chmod o-w), or set the sticky bit (chmod +t) for a shared scratch directory",
};
pub const PACKAGE_CACHE: CheckDef = CheckDef {
    id: "fs.package-cache",
    severity: Severity::Low,
    title: "Package manager cache left in a layer (apt, apk, dnf/yum, pip, npm, yarn, Go)",
    fix: "Clean the cache in the same RUN step that fills it (apt-get clean && rm -rf /var/lib/apt/lists/*, pip --no-cache-dir, npm cache clean --force)",
};

/// Every filesystem check.
pub const CHECKS: &[CheckDef] = &[
    SETUID,
    SETGID,
    WORLD_WRITABLE,
    WORLD_WRITABLE_DIR,
    PACKAGE_CACHE,
];

/// Flags modes and caches from each entry's metadata.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsInspector;

impl patchline_inventory::Inspector for FsInspector {
    fn name(&self) -> &'static str {
        "fs-1"
    }

    fn entry(
        &self,
        path: &str,
        kind: &EntryKind,
        mode: u32,
        size: u64,
        out: &mut Vec<CheckFinding>,
    ) {
        let perm = mode & 0o7777;
        match kind {
            EntryKind::File => {
                let exec = perm & 0o111 != 0;
                if exec && perm & 0o4000 != 0 {
                    out.push(special_bit(&SETUID, "setuid", path, perm));
                }
                if exec && perm & 0o2000 != 0 {
                    out.push(special_bit(&SETGID, "setgid", path, perm));
                }
                if perm & 0o002 != 0 {
                    let mut f = WORLD_WRITABLE.finding(format!(
                        "{path} is writable by every user (mode {perm:04o})"
                    ));
                    f.path = Some(path.to_string());
                    f.evidence = Some(format!("{perm:04o}"));
                    out.push(f);
                }
                if size > 0 {
                    if let Some((root, what)) = cache_root(path) {
                        let mut f = PACKAGE_CACHE
                            .finding(format!("{what} ({root}): {path} left in the layer"));
                        f.path = Some(path.to_string());
                        f.evidence = Some(format!("{size} bytes"));
                        out.push(f);
                    }
                }
            }
            EntryKind::Dir if perm & 0o002 != 0 && perm & 0o1000 == 0 => {
                let mut f = WORLD_WRITABLE_DIR.finding(format!(
                    "{path} is writable by every user without the sticky bit (mode {perm:04o}): anyone can replace anyone's files in it"
                ));
                f.path = Some(path.to_string());
                f.evidence = Some(format!("{perm:04o}"));
                out.push(f);
            }
            _ => {}
        }
    }
}

/// The distribution's own program directories (see the module doc).
fn in_distribution_dirs(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "bin/",
        "sbin/",
        "usr/bin/",
        "usr/sbin/",
        "usr/lib/",
        "usr/libexec/",
        "lib/",
    ];
    DIRS.iter().any(|d| path.starts_with(d))
}

fn special_bit(def: &CheckDef, bit: &str, path: &str, perm: u32) -> CheckFinding {
    let (severity, whose) = if in_distribution_dirs(path) {
        (Severity::Low, "in a distribution directory")
    } else {
        (Severity::High, "outside the distribution's directories")
    };
    let mut f = def.finding(format!("{path} is {bit} (mode {perm:04o}), {whose}"));
    f.severity = severity;
    f.path = Some(path.to_string());
    f.evidence = Some(format!("{perm:04o}"));
    f
}

/// The cache directory a file belongs to, and what that cache is.
pub fn cache_root(path: &str) -> Option<(String, &'static str)> {
    const FIXED: &[(&str, &str)] = &[
        ("var/cache/apt/archives/", "apt's downloaded packages"),
        ("var/cache/apt/", "apt's package cache"),
        ("var/lib/apt/lists/", "apt's package lists"),
        ("var/cache/apk/", "apk's package cache"),
        ("var/cache/dnf/", "dnf's cache"),
        ("var/cache/yum/", "yum's cache"),
        ("var/cache/zypp/", "zypper's cache"),
    ];
    for (dir, what) in FIXED {
        if path.starts_with(dir) {
            return Some((dir.trim_end_matches('/').to_string(), what));
        }
    }
    // Per-user caches, wherever the home directory is.
    const USER: &[(&str, &str)] = &[
        (".cache/pip/", "pip's cache"),
        (".npm/_cacache/", "npm's cache"),
        (".cache/yarn/", "yarn's cache"),
        (".cache/go-build/", "Go's build cache"),
        ("go/pkg/mod/cache/download/", "Go's module download cache"),
    ];
    for (seg, what) in USER {
        let found = if path.starts_with(seg) {
            Some(0)
        } else {
            path.find(&format!("/{seg}")).map(|p| p + 1)
        };
        if let Some(p) = found {
            return Some((path[..p + seg.len() - 1].to_string(), what));
        }
    }
    None
}

/// Folds the per-file `fs.package-cache` findings of one cache directory in one layer
/// (and deleted in the same later layer, if any) into one finding for the directory,
/// with the file count and total size. Call it on the inventory's findings once the
/// squash has set their layers; other findings are left as they are, in order.
pub fn merge_package_caches(findings: &mut Vec<CheckFinding>) {
    struct Group {
        at: usize,
        files: u64,
        bytes: u64,
    }
    let mut groups: Vec<(String, Option<usize>, Option<usize>, Group)> = Vec::new();
    let mut out: Vec<CheckFinding> = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        let root = (f.id == PACKAGE_CACHE.id)
            .then(|| f.path.as_deref().and_then(cache_root))
            .flatten();
        let Some((root, what)) = root else {
            out.push(f);
            continue;
        };
        let size: u64 = f
            .evidence
            .as_deref()
            .and_then(|e| e.strip_suffix(" bytes"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let layer = f.layer.as_ref().map(|l| l.index);
        let removed = f.removed_in.as_ref().map(|l| l.index);
        if let Some((_, _, _, g)) = groups
            .iter_mut()
            .find(|(r, l, d, _)| *r == root && *l == layer && *d == removed)
        {
            g.files += 1;
            g.bytes += size;
            continue;
        }
        let mut merged = f;
        merged.path = Some(root.clone());
        merged.message = what.to_string();
        groups.push((
            root,
            layer,
            removed,
            Group {
                at: out.len(),
                files: 1,
                bytes: size,
            },
        ));
        out.push(merged);
    }
    for (root, _, _, g) in groups {
        let f = &mut out[g.at];
        let size = human_size(g.bytes);
        f.message = format!("{} left in {root}: {} file(s), {size}", f.message, g.files);
        f.evidence = Some(size);
    }
    *findings = out;
}

/// `312 MiB`, `4.2 KiB`, `12 bytes`.
pub fn human_size(n: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_inventory::Inspector as _;

    fn run(path: &str, kind: EntryKind, mode: u32, size: u64) -> Vec<CheckFinding> {
        let mut out = Vec::new();
        FsInspector.entry(path, &kind, mode, size, &mut out);
        out
    }

    fn ids(f: &[CheckFinding]) -> Vec<(&str, Severity)> {
        f.iter().map(|f| (f.id.as_str(), f.severity)).collect()
    }

    #[test]
    fn setuid_and_setgid_by_place() {
        assert_eq!(
            ids(&run("usr/bin/passwd", EntryKind::File, 0o4755, 10)),
            [("fs.setuid", Severity::Low)]
        );
        assert_eq!(
            ids(&run("usr/local/bin/ls-suid", EntryKind::File, 0o104755, 10)),
            [("fs.setuid", Severity::High)]
        );
        assert_eq!(
            ids(&run("usr/bin/chage", EntryKind::File, 0o2755, 10)),
            [("fs.setgid", Severity::Low)]
        );
        assert_eq!(
            ids(&run("opt/x", EntryKind::File, 0o6755, 10)),
            [("fs.setuid", Severity::High), ("fs.setgid", Severity::High)]
        );
        // Not executable: the bit grants nothing.
        assert!(run("srv/data", EntryKind::File, 0o2644, 10).is_empty());
        // A directory's setgid bit only sets the group of new files.
        assert!(run("srv/shared", EntryKind::Dir, 0o2775, 0).is_empty());
    }

    #[test]
    fn world_writable_files_and_directories() {
        assert_eq!(
            ids(&run("srv/notes.txt", EntryKind::File, 0o666, 10)),
            [("fs.world-writable", Severity::Medium)]
        );
        assert_eq!(
            ids(&run("srv/drop", EntryKind::Dir, 0o777, 0)),
            [("fs.world-writable-dir", Severity::Medium)]
        );
        assert!(run("tmp", EntryKind::Dir, 0o1777, 0).is_empty());
        assert!(run("etc", EntryKind::Dir, 0o755, 0).is_empty());
        // Symlinks are 0777 by nature.
        assert!(run("bin", EntryKind::Symlink("usr/bin".into()), 0o777, 0).is_empty());
    }

    #[test]
    fn package_caches_are_merged_per_directory_and_layer() {
        let mut f = Vec::new();
        f.extend(run(
            "var/cache/apt/archives/less_590-2_amd64.deb",
            EntryKind::File,
            0o644,
            3000,
        ));
        f.extend(run(
            "var/cache/apt/archives/lock",
            EntryKind::File,
            0o640,
            0,
        ));
        f.extend(run(
            "var/cache/apt/archives/libx_1_amd64.deb",
            EntryKind::File,
            0o644,
            2000,
        ));
        f.extend(run(
            "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease",
            EntryKind::File,
            0o644,
            100,
        ));
        f.extend(run(
            "root/.cache/pip/http-v2/a/b",
            EntryKind::File,
            0o644,
            10,
        ));
        f.extend(run(
            "home/app/.npm/_cacache/index-v5/x",
            EntryKind::File,
            0o644,
            10,
        ));
        f.extend(run("etc/apt/sources.list", EntryKind::File, 0o644, 10));
        f.extend(run("srv/x", EntryKind::File, 0o666, 10));
        merge_package_caches(&mut f);
        let got: Vec<(&str, &str, &str)> = f
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.path.as_deref().unwrap(),
                    f.evidence.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("fs.package-cache", "var/cache/apt/archives", "4.9 KiB"),
                ("fs.package-cache", "var/lib/apt/lists", "100 bytes"),
                ("fs.package-cache", "root/.cache/pip", "10 bytes"),
                ("fs.package-cache", "home/app/.npm/_cacache", "10 bytes"),
                ("fs.world-writable", "srv/x", "0666"),
            ]
        );
        assert!(f[0].message.contains("2 file(s)"), "{}", f[0].message);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(5), "5 bytes");
        assert_eq!(human_size(5000), "4.9 KiB");
        assert_eq!(human_size(312 << 20), "312 MiB");
    }
}
