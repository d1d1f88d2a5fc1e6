//! The example organisation: what the README's first command serves and what the
//! dashboard's browser tests look at, built from real parts only.
//!
//! # What it is
//!
//! The fixture images (`scripts/build-fixtures.sh`: a debootstrap of Debian 12 as `base`,
//! `child` = base plus a genuinely vulnerable curl from bookworm-security) stacked into an
//! organisation's hierarchy with `umoci raw add-layer`, as `crates/patchline/tests/lineage_e2e.rs`
//! builds it, plus a branch for the curl image:
//!
//! ```text
//! platform/base:12 (platform)
//! ├── platform/enterprise:1.0.0 (security)
//! │   ├── apps/shop:2.3.4 (shop)
//! │   ├── apps/billing:1.2.0 (billing)
//! │   └── platform/builder:1.0.0 (builder)
//! └── platform/base-curl:12 (platform; the fixture `child`)
//!     ├── apps/storefront:3.1.0 (shop)
//!     └── apps/invoices:1.0.0 (billing)
//! vendor/db:9.1 (vendor; COTS, unrelated layers)
//! ```
//!
//! The curl image sits in the middle of the graph rather than at a leaf so that its
//! findings have a root (`platform/base-curl`) with descendants of two teams: that is what
//! a fix at the root and a campaign look like. [`build_hierarchy`] needs only umoci and the
//! fixtures (lineage tests can build the same layout); [`load`] (feature `example`) runs
//! the rest for real:
//!
//! - Debian's `docker-registry` on loopback, notifying the server's registry hook with a
//!   shared secret; every image pushed to it with skopeo;
//! - an advisory DB imported by patchline-advisory from real feeds, read in place: the
//!   Debian security tracker extract of the CLI's tests (facts from Debian's changelogs)
//!   and CISA's KEV catalogue from `../shared/data`;
//! - `patchline_server::serve::start` on its embedded SQLite store, with a catalog (tiers,
//!   owners, `teams:` with e-mail channels; no SMTP is configured, so nothing is sent)
//!   and the registry watched; the loader waits until every pushed image is scanned and
//!   placed in the hierarchy;
//! - a CVE campaign opened through the API for a fixable curl CVE whose root is
//!   `platform/base-curl` (chosen from the stored findings, so it follows the feeds).
//!
//! Quirk of the real data: none of the fixtures' vulnerabilities is KEV-listed (glibc's
//! CVE-2023-4911 is fixed in the fixture's glibc), so KEV filters show what the data says:
//! nothing. Nothing is invented to make a page look busier.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One image of the example organisation.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Its tag in the OCI layout [`build_hierarchy`] writes.
    pub tag: &'static str,
    /// `repository:tag` in the registry.
    pub path: &'static str,
    /// The catalog's tier.
    pub tier: &'static str,
    /// The owning team.
    pub team: &'static str,
}

/// The images, parents before children.
pub const IMAGES: &[Spec] = &[
    Spec {
        tag: "base",
        path: "platform/base:12",
        tier: "base",
        team: "platform",
    },
    Spec {
        tag: "enterprise",
        path: "platform/enterprise:1.0.0",
        tier: "enterprise",
        team: "security",
    },
    Spec {
        tag: "shop",
        path: "apps/shop:2.3.4",
        tier: "application",
        team: "shop",
    },
    Spec {
        tag: "billing",
        path: "apps/billing:1.2.0",
        tier: "application",
        team: "billing",
    },
    Spec {
        tag: "builder",
        path: "platform/builder:1.0.0",
        tier: "builder",
        team: "builder",
    },
    Spec {
        tag: "cots",
        path: "vendor/db:9.1",
        tier: "cots",
        team: "vendor",
    },
    Spec {
        tag: "child",
        path: "platform/base-curl:12",
        tier: "enterprise",
        team: "platform",
    },
    Spec {
        tag: "storefront",
        path: "apps/storefront:3.1.0",
        tier: "application",
        team: "shop",
    },
    Spec {
        tag: "invoices",
        path: "apps/invoices:1.0.0",
        tier: "application",
        team: "billing",
    },
];

fn sh(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An uncompressed layer tar with fixed metadata: the same content always has the same
/// diff_id, as a reproducible build would give.
pub fn write_layer(path: &Path, files: &[(&str, &[u8], u32)]) {
    let file =
        std::fs::File::create(path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    let mut b = tar::Builder::new(file);
    for (name, data, mode) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    b.finish()
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `umoci raw add-layer`: the image `from` plus one layer, tagged `to` (the same result as
/// unpacking, copying the files in and repacking, without extracting the base).
pub fn add_layer(layout: &Path, from: &str, to: &str, tar: &Path) {
    sh(Command::new("umoci").args([
        "raw",
        "add-layer",
        "--image",
        &format!("{}:{from}", layout.display()),
        "--tag",
        to,
        "--history.created_by",
        &format!("patchline-example: {to}"),
        &tar.display().to_string(),
    ]));
}

/// A writable copy of the fixtures' OCI layout at `dest`: blobs hard-linked where the file
/// system allows (umoci only adds blobs, each under a new name, and never rewrites one),
/// `index.json` copied (umoci rewrites it).
pub fn copy_layout(fixtures: &Path, dest: &Path) {
    let src = fixtures.join("layout");
    std::fs::create_dir_all(dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    for f in ["oci-layout", "index.json"] {
        std::fs::copy(src.join(f), dest.join(f))
            .unwrap_or_else(|e| panic!("copying {}: {e}", src.join(f).display()));
    }
    let linked = Command::new("cp")
        .arg("-rl")
        .arg(src.join("blobs"))
        .arg(dest.join("blobs"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !linked {
        let _ = std::fs::remove_dir_all(dest.join("blobs"));
        sh(Command::new("cp")
            .arg("-r")
            .arg(src.join("blobs"))
            .arg(dest.join("blobs")));
    }
}

/// A layer's files: path, content, mode.
type LayerFiles = Vec<(String, Vec<u8>, u32)>;

/// The manifest digest of `tag` in the OCI layout `layout`.
pub fn manifest_digest(layout: &Path, tag: &str) -> String {
    let path = layout.join("index.json");
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .unwrap_or_else(|| panic!("no tag {tag} in {}", path.display()))
        .to_string()
}

/// Writes the OCI base-image annotations a real build writes (BuildKit does) on `tag`:
/// `parent` by name and manifest digest. `umoci raw add-layer` keeps the parent's own
/// annotations, which would name the grandparent: a wrong declared base.
fn declare_base(layout: &Path, tag: &str, parent_tag: &str, parent_name: &str) {
    let digest = manifest_digest(layout, parent_tag);
    sh(Command::new("umoci").args([
        "config",
        "--no-history",
        "--image",
        &format!("{}:{tag}", layout.display()),
        "--manifest.annotation",
        &format!("org.opencontainers.image.base.name={parent_name}"),
        "--manifest.annotation",
        &format!("org.opencontainers.image.base.digest={digest}"),
    ]));
}

/// Builds the example hierarchy in `work/layout` (a copy of the fixtures' layout) and
/// returns that layout: the tags of [`IMAGES`] (`base` and `child` are the fixtures'
/// own). Each new image is its parent plus one small layer, its base declared as
/// `registry/<parent's path>` with the parent's digest; the COTS image starts from an
/// empty image. Needs `umoci`.
pub fn build_hierarchy(fixtures: &Path, work: &Path, registry: &str) -> PathBuf {
    let layout = work.join("layout");
    copy_layout(fixtures, &layout);
    let passwd = std::fs::read_to_string(fixtures.join("rootfs-base/etc/passwd"))
        .unwrap_or_else(|e| panic!("{}: {e}", fixtures.join("rootfs-base/etc/passwd").display()));
    let passwd =
        format!("{passwd}appuser:x:10001:10001:enterprise user:/home/appuser:/usr/sbin/nologin\n");
    let tars = work.join("tars");
    std::fs::create_dir_all(&tars).unwrap_or_else(|e| panic!("{}: {e}", tars.display()));
    let ca = b"-----BEGIN CERTIFICATE-----\nMIIBenterpriseCA\n-----END CERTIFICATE-----\n";
    let app = |name: &str| format!("print('{name}')\n");
    let layers: Vec<(&str, LayerFiles)> = vec![
        (
            "enterprise",
            vec![
                ("etc/ssl/certs/enterprise-ca.pem".into(), ca.to_vec(), 0o644),
                ("etc/passwd".into(), passwd.into_bytes(), 0o644),
            ],
        ),
        (
            "shop",
            vec![("srv/shop/app.py".into(), app("shop").into_bytes(), 0o644)],
        ),
        (
            "billing",
            vec![(
                "srv/billing/app.py".into(),
                app("billing").into_bytes(),
                0o644,
            )],
        ),
        (
            "builder",
            vec![(
                "usr/local/bin/build.sh".into(),
                b"#!/bin/sh\nmake \"$@\"\n".to_vec(),
                0o755,
            )],
        ),
        (
            "cots",
            vec![("opt/vendor/db.conf".into(), b"port=5432\n".to_vec(), 0o644)],
        ),
        (
            "storefront",
            vec![(
                "srv/storefront/app.py".into(),
                app("storefront").into_bytes(),
                0o644,
            )],
        ),
        (
            "invoices",
            vec![(
                "srv/invoices/app.py".into(),
                app("invoices").into_bytes(),
                0o644,
            )],
        ),
    ];
    for (name, files) in &layers {
        let files: Vec<(&str, &[u8], u32)> = files
            .iter()
            .map(|(p, d, m)| (p.as_str(), d.as_slice(), *m))
            .collect();
        write_layer(&tars.join(format!("{name}.tar")), &files);
    }
    let tar = |name: &str| tars.join(format!("{name}.tar"));
    let path_of = |tag: &str| {
        IMAGES
            .iter()
            .find(|s| s.tag == tag)
            .map(|s| s.path)
            .expect("an example image")
    };
    for (parent, child) in [
        ("base", "enterprise"),
        ("enterprise", "shop"),
        ("enterprise", "billing"),
        ("enterprise", "builder"),
        ("child", "storefront"),
        ("child", "invoices"),
    ] {
        add_layer(&layout, parent, child, &tar(child));
        declare_base(
            &layout,
            child,
            parent,
            &format!("{registry}/{}", path_of(parent)),
        );
    }
    sh(Command::new("umoci")
        .args(["new", "--image"])
        .arg(format!("{}:cots", layout.display())));
    add_layer(&layout, "cots", "cots", &tar("cots"));
    layout
}

#[cfg(feature = "example")]
pub use loaded::*;

#[cfg(feature = "example")]
mod loaded {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use patchline_server::config::{Config, Hooks, RegistryConfig, Schedules};
    use patchline_server::serve::{start, Running, ServeOptions};
    use patchline_server::state::Server;
    use serde_json::{json, Value};

    use super::{build_hierarchy, Spec, IMAGES};
    use crate::services::free_port;
    use crate::services::registry::{Notify, RegistryService};
    use crate::{fixtures, require_tools, shared_data_path, workspace_root};

    /// How [`load`] runs.
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// The server's port on 127.0.0.1; 0 picks a free one.
        pub port: u16,
        /// Prints each step to stderr (the demo does; tests stay quiet).
        pub verbose: bool,
    }

    /// One loaded image.
    #[derive(Clone, Debug)]
    pub struct Image {
        pub spec: Spec,
        /// `127.0.0.1:PORT/repo:tag`, as the catalog names it.
        pub reference: String,
        pub digest: String,
        /// The server's image id (`/images/{id}` on the dashboard).
        pub id: i64,
    }

    /// The running example organisation; everything stops when it is dropped.
    pub struct Example {
        /// `http://127.0.0.1:PORT`.
        pub url: String,
        pub admin_token: String,
        /// A `team` token of `shop` and one of `billing`.
        pub shop_token: String,
        pub billing_token: String,
        /// `127.0.0.1:PORT` of the registry.
        pub registry: String,
        pub images: Vec<Image>,
        /// The open campaign: its id and the CVE it fixes (root `platform/base-curl`).
        pub campaign_id: i64,
        pub campaign_cve: String,
        /// How long [`load`] took.
        pub load_time: Duration,
        running: Option<Running>,
        registry_service: RegistryService,
        dir: tempfile::TempDir,
    }

    impl Example {
        /// The image whose layout tag is `tag` (`base`, `shop`, `child`, ...).
        pub fn image(&self, tag: &str) -> &Image {
            self.images
                .iter()
                .find(|i| i.spec.tag == tag)
                .unwrap_or_else(|| panic!("no example image {tag}"))
        }

        /// The server's shared state (its store).
        pub fn server(&self) -> &Arc<Server> {
            &self.running.as_ref().expect("running").server
        }

        /// The work directory (layout, advisory DB, store).
        pub fn dir(&self) -> &Path {
            self.dir.path()
        }

        /// The registry's process id.
        pub fn registry_pid(&self) -> u32 {
            self.registry_service.pid()
        }
    }

    impl Drop for Example {
        fn drop(&mut self) {
            if let Some(r) = self.running.take() {
                r.stop_within(Duration::from_secs(10));
            }
        }
    }

    const HOOK_SECRET_BYTES: usize = 24;

    /// A secret from the OS's randomness (the std hasher's keys come from it).
    fn random_hex(bytes: usize) -> String {
        use std::hash::{BuildHasher, Hasher};
        let mut out = String::new();
        while out.len() < bytes * 2 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(out.len());
            out.push_str(&format!("{:016x}", h.finish()));
        }
        out.truncate(bytes * 2);
        out
    }

    fn catalog_yaml(host: &str) -> String {
        let mut y = String::from("version: 1\nimages:\n");
        for s in IMAGES {
            y.push_str(&format!(
                "  - reference: {host}/{}\n    tier: {}\n    owner: {{ team: {}, contact: {}@example.com }}\n",
                s.path, s.tier, s.team, s.team
            ));
        }
        y.push_str(&format!(
            "teams:
  - name: platform
    notify: [ {{ email: {{ to: [platform@example.com] }} }} ]
  - name: security
    security: true
    notify: [ {{ email: {{ to: [security@example.com] }} }} ]
  - name: shop
    notify: [ {{ email: {{ to: [shop@example.com] }} }} ]
    digest: weekly
  - name: billing
    notify: [ {{ email: {{ to: [billing@example.com] }} }} ]
  - name: builder
  - name: vendor
    vendor_relationships: [{host}/vendor/db:9.1]
"
        ));
        y
    }

    struct Api {
        url: String,
        token: String,
        http: reqwest::blocking::Client,
    }

    impl Api {
        fn get(&self, path: &str) -> Value {
            let r = self
                .http
                .get(format!("{}{path}", self.url))
                .bearer_auth(&self.token)
                .send()
                .unwrap_or_else(|e| panic!("GET {path}: {e}"));
            assert_eq!(r.status(), 200, "GET {path}");
            r.json().unwrap_or_else(|e| panic!("GET {path}: {e}"))
        }

        fn post(&self, path: &str, body: &Value) -> (u16, Value) {
            let r = self
                .http
                .post(format!("{}{path}", self.url))
                .bearer_auth(&self.token)
                .json(body)
                .send()
                .unwrap_or_else(|e| panic!("POST {path}: {e}"));
            let status = r.status().as_u16();
            (status, r.json().unwrap_or(Value::Null))
        }

        fn team_token(&self, team: &str) -> String {
            let (status, v) = self.post(
                "/api/v1/tokens",
                &json!({"name": format!("{team} (example)"), "role": "team", "team": team}),
            );
            assert_eq!(status, 201, "creating the {team} token: {v}");
            v["secret"].as_str().expect("secret").to_string()
        }
    }

    /// Builds and starts the example organisation (a few minutes: the fixture images are
    /// scanned for real). `None` after a visible skip (a failure under CI) when the
    /// fixtures, `../shared/data`, `docker-registry`, `skopeo` or `umoci` are missing.
    /// Panics when a step fails, naming it.
    #[track_caller]
    pub fn load(opts: &Options) -> Option<Example> {
        let started = Instant::now();
        let say = |m: &str| {
            if opts.verbose {
                eprintln!("[{:>5.1}s] {m}", started.elapsed().as_secs_f64());
            }
        };
        let fx = fixtures()?;
        if !require_tools(&["docker-registry", "skopeo", "umoci"]) {
            return None;
        }
        let kev = shared_data_path("feeds/kev/known_exploited_vulnerabilities.json")?;
        let dir = tempfile::Builder::new()
            .prefix("patchline-example.")
            .tempdir()
            .expect("a temp dir for the example");
        let work = dir.path();

        say("importing the real feeds (Debian security tracker extract, CISA KEV)");
        let tracker =
            workspace_root().join("crates/patchline/tests/data/debian-tracker-bookworm.json");
        let adb = work.join("advisories.sqlite");
        patchline_advisory::import_files(
            &adb,
            &[tracker, kev],
            &patchline_advisory::ImportOptions::default(),
        )
        .expect("importing the advisory feeds");

        let port = if opts.port == 0 {
            free_port()
        } else {
            opts.port
        };
        let secret = random_hex(HOOK_SECRET_BYTES);
        let notify = Notify {
            url: format!("http://127.0.0.1:{port}/api/v1/hooks/registry"),
            secret: secret.clone(),
        };
        say("starting docker-registry (notifying the server's registry hook)");
        let registry_service = RegistryService::start(Some(&notify))?;
        let host = registry_service.host.clone();

        say(
            "building the image hierarchy with umoci (base, enterprise, apps, builder, COTS, curl)",
        );
        let layout = build_hierarchy(&fx, work, &host);

        let catalog = work.join("catalog.yaml");
        std::fs::write(&catalog, catalog_yaml(&host)).expect("writing the catalog");
        let secret_file = work.join("hook-secret");
        std::fs::write(&secret_file, &secret).expect("writing the hook secret");
        let off = || "off".to_string();
        let config = Config {
            listen: format!("127.0.0.1:{port}"),
            data_dir: Some(work.join("data")),
            db: Some(adb),
            workers: 2,
            catalog: Some(catalog),
            public_url: Some(format!("http://127.0.0.1:{port}")),
            hooks: Hooks {
                secret_file: Some(secret_file),
                ..Hooks::default()
            },
            registries: vec![RegistryConfig::from_url(&registry_service.url())],
            // Registry events are best effort; the sync covers a lost one.
            schedules: Schedules {
                sync: "20s".into(),
                db_update: off(),
                db_watch: "30s".into(),
                digest: off(),
                sla_check: "1h".into(),
                retention: off(),
            },
            ..Config::default()
        };
        say(&format!(
            "starting patchline serve on 127.0.0.1:{port} (embedded SQLite)"
        ));
        let running = start(config, ServeOptions::default())
            .unwrap_or_else(|e| panic!("starting the server on 127.0.0.1:{port}: {e:#}"));
        let admin_token = std::fs::read_to_string(work.join("data/admin-token"))
            .expect("the server's admin-token file")
            .trim()
            .to_string();
        let api = Api {
            url: running.url(),
            token: admin_token.clone(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
        };
        let shop_token = api.team_token("shop");
        let billing_token = api.team_token("billing");

        say("pushing the images to the registry with skopeo");
        for s in IMAGES {
            registry_service.push(&layout, s.tag, s.path);
        }

        say("waiting for the server to scan every pushed image");
        let server = running.server.clone();
        let deadline = Instant::now() + Duration::from_secs(1200);
        let mut last = usize::MAX;
        let images = loop {
            let state = server
                .db
                .read(|tx| {
                    let mut out = Vec::new();
                    for s in IMAGES {
                        let (repo, tag) = s.path.split_once(':').expect("repo:tag");
                        let row = tx.query_opt(
                            "SELECT i.id, i.digest, i.scan_status, i.scan_error,
                                    (SELECT COUNT(*) FROM catalog_entries c WHERE c.image_id = i.id)
                             FROM tags t JOIN images i ON i.digest = t.digest
                             WHERE t.registry = ? AND t.repository = ? AND t.tag = ?",
                            patchline_server::params![host.as_str(), repo, tag],
                        )?;
                        out.push(match row {
                            None => None,
                            Some(r) => Some((
                                r.i64(0)?,
                                r.string(1)?,
                                r.string(2)?,
                                r.opt_string(3)?,
                                r.i64(4)?,
                            )),
                        });
                    }
                    Ok::<_, patchline_server::db::DbError>(out)
                })
                .expect("reading the scan state");
            for (s, st) in IMAGES.iter().zip(&state) {
                if let Some((_, _, status, err, _)) = st {
                    assert_ne!(
                        status,
                        "failed",
                        "the scan of {} failed: {}",
                        s.path,
                        err.as_deref().unwrap_or("")
                    );
                }
            }
            let done = state
                .iter()
                .filter(|st| st.as_ref().is_some_and(|s| s.2 == "scanned" && s.4 > 0))
                .count();
            if done != last {
                say(&format!("  {done}/{} images scanned", IMAGES.len()));
                last = done;
            }
            if done == IMAGES.len() {
                break IMAGES
                    .iter()
                    .zip(state)
                    .map(|(s, st)| {
                        let (id, digest, ..) = st.expect("scanned");
                        Image {
                            spec: *s,
                            reference: format!("{host}/{}", s.path),
                            digest,
                            id,
                        }
                    })
                    .collect::<Vec<_>>();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the scans: {state:?}\nregistry log:\n{}",
                registry_service.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        };

        say("opening a campaign for a curl CVE at its root, platform/base-curl");
        let curl = images
            .iter()
            .find(|i| i.spec.tag == "child")
            .expect("the curl image");
        let findings = api.get(&format!(
            "/api/v1/findings?image={}&fixable=true&package=curl&limit=500",
            curl.digest
        ));
        let mut cves: Vec<String> = findings["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["vuln_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        cves.sort();
        cves.dedup();
        // The newest first: the one a security team would chase this week.
        cves.reverse();
        let mut campaign = None;
        let mut refused = Vec::new();
        for cve in &cves {
            let (status, v) = api.post("/api/v1/campaigns", &json!({"vuln_id": cve}));
            if status == 201 {
                campaign = Some((v["id"].as_i64().expect("campaign id"), cve.clone()));
                break;
            }
            refused.push(format!("{cve}: {status} {v}"));
        }
        let (campaign_id, campaign_cve) = campaign.unwrap_or_else(|| {
            panic!(
                "no campaign could be opened for a curl CVE of {}:\n{}\nthe graph: {}\nthe first CVE: {}",
                curl.reference,
                refused.join("\n"),
                api.get("/api/v1/graph"),
                cves.first().map(|c| api.get(&format!("/api/v1/cves/{c}"))).unwrap_or_default()
            )
        });
        let load_time = started.elapsed();
        say(&format!(
            "campaign {campaign_id} open for {campaign_cve}; loaded in {:.0} s",
            load_time.as_secs_f64()
        ));
        Some(Example {
            url: running.url(),
            admin_token,
            shop_token,
            billing_token,
            registry: host,
            images,
            campaign_id,
            campaign_cve,
            load_time,
            running: Some(running),
            registry_service,
            dir,
        })
    }
}
