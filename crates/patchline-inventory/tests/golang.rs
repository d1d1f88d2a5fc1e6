//! Go build info against osv-scalibr's expectations (`gobinary_test.go.txt`, read from the
//! shared data: the package lists are taken from the Go source itself) and against
//! `go version -m` on Debian's Go programs and on a program built here. Every binary is
//! read three ways that must agree: in memory, streamed and kept whole, and streamed
//! with nothing kept whole (the bounded read of large binaries).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use patchline_inventory::lang::binary::Executables;
use patchline_inventory::{Budget, Extracted, Extractor};
use patchline_model::Ecosystem;
use patchline_test_support as ts;

type Set = BTreeSet<(String, String)>;

fn oracle() -> Option<PathBuf> {
    ts::shared_data_path("language/osv-scalibr/golang/gobinary")
}

/// Reads `path` three ways and checks they agree; returns the in-memory result.
fn read(path: &Path, rel: &str) -> Extracted {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let whole = Executables::default().extract(rel, &bytes).unwrap();
    let size = bytes.len() as u64;
    let kept = Executables::default()
        .extract_from(rel, size, &mut &bytes[..], &Budget::new(1 << 30))
        .unwrap();
    let budget = Budget::new(16 << 20);
    let streamed = Executables::with_whole_file_cap(0)
        .extract_from(rel, size, &mut &bytes[..], &budget)
        .unwrap();
    assert_eq!(whole, kept, "{rel}: kept whole");
    assert_eq!(whole, streamed, "{rel}: streamed");
    assert!(whole
        .packages
        .iter()
        .all(|p| p.ecosystem == Ecosystem::Golang && p.db_path == rel));
    whole
}

fn set(x: &Extracted) -> Set {
    x.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

/// The `goPackage(name, version)` pairs of the variable `name` in the upstream test,
/// following `append(OTHER, ...)`. osv-scalibr's toolchain package `go` is `stdlib` here.
fn go_list(src: &str, name: &str) -> Vec<(String, String)> {
    let start = src
        .find(&format!("\t{name} = "))
        .unwrap_or_else(|| panic!("{name} not in the upstream test"));
    let body = &src[start + name.len() + 4..];
    let end = ["\n\t}", "\n\t)", "\n)"]
        .iter()
        .filter_map(|t| body.find(t))
        .min()
        .unwrap_or(body.len());
    let body = &body[..end];
    let mut out = Vec::new();
    if let Some(rest) = body.strip_prefix("append(\n\t\t") {
        let other = rest.split(',').next().unwrap();
        out.extend(go_list(src, other));
    }
    for call in body.split("goPackage(\"").skip(1) {
        let mut parts = call.split('"');
        let n = parts.next().unwrap();
        let v = parts.nth(1).unwrap();
        let n = if n == "go" { "stdlib" } else { n };
        out.push((n.to_string(), v.to_string()));
    }
    out
}

#[test]
fn osv_scalibr_expectations() {
    let Some(dir) = oracle() else { return };
    let src = std::fs::read_to_string(dir.join("gobinary_test.go.txt")).unwrap();
    let toolchain = go_list(&src, "Toolchain");
    assert_eq!(toolchain, [("stdlib".to_string(), "1.22.0".to_string())]);
    let platforms = [
        "darwin-amd64",
        "darwin-arm64",
        "linux-386",
        "linux-amd64",
        "linux-arm64",
        "windows-386",
        "windows-amd64",
        "windows-arm64",
    ];
    /// A test binary, the packages osv-scalibr expects, and its main module.
    type Case = (String, Vec<(String, String)>, Option<&'static str>);
    let mut cases: Vec<Case> = Vec::new();
    for p in platforms {
        cases.push((
            format!("binary_with_module_replacement-{p}"),
            go_list(&src, "BinaryWithModuleReplacementPackages"),
            Some("binary_with_module_replacement"),
        ));
    }
    for p in platforms {
        let list = if p.starts_with("windows") {
            "BinaryWithModulesPackagesWindows"
        } else {
            "BinaryWithModulesPackages"
        };
        cases.push((
            format!("binary_with_modules-{p}"),
            go_list(&src, list),
            Some("binary_with_modules"),
        ));
    }
    // The "version from content off" case; osv-scalibr's option to guess the main
    // module's version from the binary's strings is not implemented (one case less).
    cases.push((
        "nginx-ingress-controller".to_string(),
        go_list(&src, "BinaryWithModulesPackagesNginx"),
        Some("k8s.io/ingress-nginx"),
    ));
    let (mut matched, mut skipped) = (0, 0);
    for (file, list, main) in &cases {
        let path = dir.join("testdata").join(file);
        if !path.exists() {
            // The stored copy lacks these (see language/osv-scalibr/README.md).
            eprintln!("SKIP osv_scalibr_expectations case {file}: not in the stored testdata");
            skipped += 1;
            continue;
        }
        let x = read(&path, &format!("testdata/{file}"));
        let mut want: Set = list.iter().cloned().collect();
        if file.starts_with("binary_with") {
            want.extend(toolchain.iter().cloned());
        }
        if let Some(m) = main {
            want.insert((m.to_string(), "(devel)".to_string()));
        }
        assert_eq!(set(&x), want, "{file}");
        assert!(x.warnings.is_empty(), "{file}: {:?}", x.warnings);
        matched += 1;
    }
    // "dummy file that fails to parse": no packages, and not a warning either (the
    // collector records a file that is not a binary as present only).
    let x = read(&dir.join("testdata/dummy"), "testdata/dummy");
    assert_eq!(x, Extracted::default());
    matched += 1;
    eprintln!("osv-scalibr gobinary: {matched} cases matched, {skipped} skipped");
    assert_eq!(matched, 9);
}

#[test]
fn file_selection_follows_osv_scalibr_where_it_can() {
    let e = Executables::default();
    // osv-scalibr's FileRequired cases (sizes raised to the 4 KiB minimum, which it
    // does not have: smaller files cannot hold a Go or Rust program).
    let size = 1 << 20;
    assert!(e.wants_file("some/path/a", 0o766, size));
    assert!(e.wants_file("some/path/a", 0o676, size));
    assert!(e.wants_file("some/path/a", 0o667, size));
    assert!(e.wants_file("some/path/a.exe", 0o666, size));
    assert!(!e.wants_file("some/path/a", 0o666, size));
    assert!(!e.wants_file("some/path/a", 0o755, 1000));
    assert!(!e.wants_file("usr/bin/script.sh", 0o755, size));
    assert!(!e.wants_file("usr/lib/python3/x.PY", 0o755, size));
    assert!(e.wants_file("usr/lib/libfoo.so.1", 0o755, size));
    assert!(!e.wants("usr/bin/skopeo"));
    // Large binaries are not refused by the inventory's database limit.
    assert!(e.max_file_bytes().unwrap() >= 1 << 30);
}

/// The packages `go version -m` shows for `path`, by the same rules.
fn go_version_m(path: &Path) -> Set {
    let out = Command::new("go")
        .args(["version", "-m"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let toolchain = first.rsplit(": ").next().unwrap();
    let mut want = Set::new();
    want.insert((
        "stdlib".to_string(),
        toolchain
            .split(' ')
            .next()
            .unwrap()
            .trim_start_matches("go")
            .to_string(),
    ));
    let mut pending: Option<(String, String)> = None;
    let v = |s: &str| s.trim_start_matches('v').to_string();
    for l in lines {
        let f: Vec<&str> = l.trim_start_matches('\t').split('\t').collect();
        match f[0] {
            "mod" => {
                want.insert((f[1].to_string(), v(f[2])));
            }
            "dep" => {
                if let Some(d) = pending.take() {
                    want.insert(d);
                }
                pending = Some((f[1].to_string(), v(f[2])));
            }
            "=>" => {
                pending = None;
                if !(f[1].starts_with("./") || f[1].starts_with("../") || f[1].starts_with('/')) {
                    want.insert((f[1].to_string(), v(f[2])));
                }
            }
            _ => {}
        }
    }
    want.extend(pending);
    want
}

#[test]
fn debian_go_programs_agree_with_go_version_m() {
    if !ts::require_tools(&["skopeo", "umoci", "docker-registry"]) {
        return;
    }
    if ts::on_path("go").is_none() {
        ts::skip!("go not found on PATH; install with: apt-get install -y golang-go");
    }
    for tool in ["skopeo", "umoci", "docker-registry"] {
        let path = ts::on_path(tool).unwrap();
        let x = read(&path, &format!("usr/bin/{tool}"));
        assert_eq!(set(&x), go_version_m(&path), "{tool}");
        assert!(x.warnings.is_empty(), "{tool}: {:?}", x.warnings);
        assert!(x.packages.iter().any(|p| p.name == "stdlib"), "{tool}");
    }
}

/// A module-mode program built here, offline (its dependency vendored), with a
/// dependency replaced by another module and one replaced by a local directory.
#[test]
fn a_program_built_here_agrees_with_go_version_m() {
    if ts::on_path("go").is_none() {
        ts::skip!("go not found on PATH; install with: apt-get install -y golang-go");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = |p: &str, s: &str| {
        let p = d.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w(
        "go.mod",
        "module example.com/hello\n\ngo 1.19\n\nrequire (\n\texample.com/lib v1.2.3\n\
         \texample.com/old v0.1.0\n\texample.com/fork v0.0.0\n)\n\n\
         replace example.com/old => example.com/new v0.2.0\n\n\
         replace example.com/fork => ./fork\n",
    );
    w(
        "main.go",
        "package main\n\nimport (\n\t\"example.com/fork\"\n\t\"example.com/lib\"\n\t\"example.com/old\"\n)\n\n\
         func main() { println(lib.X + old.Y + fork.Z) }\n",
    );
    w("fork/go.mod", "module example.com/fork\n\ngo 1.19\n");
    w("fork/fork.go", "package fork\n\nconst Z = 3\n");
    w(
        "vendor/example.com/lib/lib.go",
        "package lib\n\nconst X = 1\n",
    );
    w(
        "vendor/example.com/old/old.go",
        "package old\n\nconst Y = 2\n",
    );
    w(
        "vendor/example.com/fork/fork.go",
        "package fork\n\nconst Z = 3\n",
    );
    w(
        "vendor/modules.txt",
        "# example.com/fork v0.0.0 => ./fork\n## explicit\nexample.com/fork\n\
         # example.com/lib v1.2.3\n## explicit\nexample.com/lib\n\
         # example.com/old v0.1.0 => example.com/new v0.2.0\n## explicit\nexample.com/old\n\
         # example.com/old => example.com/new v0.2.0\n# example.com/fork => ./fork\n",
    );
    let out = Command::new("go")
        .args(["build", "-mod=vendor", "-o", "hello", "."])
        .current_dir(d)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = d.join("hello");
    let x = read(&bin, "app/hello");
    let want = go_version_m(&bin);
    assert_eq!(set(&x), want);
    let got = set(&x);
    assert!(got.contains(&("example.com/new".to_string(), "0.2.0".to_string())));
    assert!(got.contains(&("example.com/lib".to_string(), "1.2.3".to_string())));
    assert!(got.contains(&("example.com/hello".to_string(), "(devel)".to_string())));
    assert!(!got.iter().any(|(n, _)| n.contains("fork")), "{got:?}");
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
}

/// The inventory of a root filesystem takes executables by mode, reads the Go build
/// info and Cargo.lock files, and only notes scripts and non-executables.
#[test]
fn rootfs_inventory_lists_go_binary_and_cargo_lock_packages() {
    use std::os::unix::fs::PermissionsExt;
    let Some(dir) = oracle() else { return };
    let Some(lock) =
        ts::shared_data_path("language/osv-scalibr/rust/cargolock/testdata/two-packages.lock")
    else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let src = dir.join("testdata/binary_with_module_replacement-linux-amd64");
    std::fs::copy(&src, bin.join("app")).unwrap();
    std::fs::copy(&src, bin.join("not-executable")).unwrap();
    std::fs::set_permissions(bin.join("app"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        bin.join("not-executable"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let script = bin.join("run");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n{}\n", "echo hi; ".repeat(1000)),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(root.path().join("srv/app")).unwrap();
    std::fs::copy(&lock, root.path().join("srv/app/Cargo.lock")).unwrap();
    // Two versions of one crate in one file are two packages.
    std::fs::create_dir_all(root.path().join("srv/dup")).unwrap();
    std::fs::copy(
        lock.with_file_name("duplicate.lock"),
        root.path().join("srv/dup/Cargo.lock"),
    )
    .unwrap();

    let inv = patchline_inventory::inventory_rootfs(
        root.path(),
        "dir:test",
        &patchline_inventory::InventoryOptions::default(),
    )
    .unwrap();
    let got: BTreeSet<(&str, &str, &str)> = inv
        .packages
        .iter()
        .map(|p| (p.db_path.as_str(), p.name.as_str(), p.version.as_str()))
        .collect();
    let want: BTreeSet<(&str, &str, &str)> = [
        ("srv/app/Cargo.lock", "addr2line", "0.15.2"),
        ("srv/app/Cargo.lock", "syn", "1.0.73"),
        ("srv/dup/Cargo.lock", "syn", "1.0.73"),
        ("srv/dup/Cargo.lock", "syn", "2.0.0"),
        (
            "usr/local/bin/app",
            "binary_with_module_replacement",
            "(devel)",
        ),
        (
            "usr/local/bin/app",
            "github.com/golang/xerrors",
            "0.0.0-20220907171357-04be3eba64a2",
        ),
        ("usr/local/bin/app", "stdlib", "1.22.0"),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    assert!(inv.complete, "{:?}", inv.warnings);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

/// Real ELF, Mach-O and PE binaries cut anywhere: never a panic, never a package from
/// a header cut short, every reservation given back but for the packages kept.
#[test]
fn truncated_binaries_never_panic() {
    let Some(dir) = oracle() else { return };
    for p in ["darwin-arm64", "linux-386", "windows-amd64"] {
        let path = dir.join(format!("testdata/binary_with_module_replacement-{p}"));
        let bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        let mut cuts: Vec<usize> = vec![0, 1, 4, 20, 64, 100, 200, 1000, 4096, 65536];
        cuts.extend((1..40).map(|i| n * i / 40));
        cuts.extend([n - 4096, n - 100, n - 1]);
        for cut in cuts {
            let b = &bytes[..cut];
            let whole = Executables::default().extract("x", b).unwrap();
            let budget = Budget::new(16 << 20);
            let streamed = Executables::with_whole_file_cap(0)
                .extract_from("x", cut as u64, &mut &b[..], &budget)
                .unwrap();
            assert_eq!(whole, streamed, "{p} cut at {cut}");
            for x in [&whole, &streamed] {
                assert!(
                    x.packages.is_empty() || x.packages.len() == 3,
                    "{p} cut at {cut}: {:?}",
                    x.packages
                );
            }
        }
    }
}

/// A binary built by a Go release candidate: its `stdlib` version is one the Go
/// vulnerability database's own ranges order, and GO-2023-2102 (fixed in 1.20.10 and
/// 1.21.3, introduced again at `1.21.0-0`) holds `go1.21rc2` as the Go team lists it.
#[test]
fn release_candidate_toolchains_fall_in_the_go_database_ranges() {
    use patchline_inventory::lang::golang::stdlib_version;
    use patchline_version::Scheme;
    let Some(path) = patchline_test_support::shared_data_path("osv/Go/GO-2023-2102.json") else {
        return;
    };
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let stdlib = record["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"]["name"] == "stdlib")
        .unwrap();
    let events: Vec<(String, String)> = stdlib["ranges"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e.as_object().unwrap().iter())
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let affected = |v: &str| {
        let mut hit = false;
        for (kind, at) in &events {
            let past = Scheme::Go.compare(v, at).unwrap() != std::cmp::Ordering::Less;
            match kind.as_str() {
                "introduced" if past => hit = true,
                "fixed" if past => hit = false,
                _ => {}
            }
        }
        hit
    };
    let rc = stdlib_version("1.21rc2");
    assert_eq!(rc, "1.21.0-rc.2");
    assert!(Scheme::Go.validate("1.21rc2").is_err());
    assert!(affected(&rc));
    assert!(affected(&stdlib_version("1.21.2")));
    assert!(!affected(&stdlib_version("1.21.3")));
    assert!(!affected(&stdlib_version("1.22rc1")));
    // 1.20.x before the fix, and 1.20's own candidates, are in the first range.
    assert!(affected(&stdlib_version("1.20beta1")));
    assert!(!affected(&stdlib_version("1.20.10")));
}
