//! rpm databases: SQLite (`rpmdb.sqlite`), BerkeleyDB hash (`Packages`) and NDB
//! (`Packages.db`), read by `patchline-rpmdb` from the bytes the layer walk captured.
//!
//! The database is found in its three historical homes: `var/lib/rpm` (RHEL ≤ 9, SUSE),
//! `usr/lib/sysimage/rpm` (Fedora ≥ 36, newer SUSE) and `usr/share/rpm` (old SUSE).
//! `gpg-pubkey` entries are imported signing keys, not software, and are left out.

use patchline_model::{Ecosystem, Package};

use crate::extract::{ExtractError, Extracted, Extractor};

pub struct Rpm;

const DIRS: &[&str] = &["var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/"];
const FILES: &[&str] = &["Packages", "Packages.db", "rpmdb.sqlite"];

impl Extractor for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn wants(&self, path: &str) -> bool {
        DIRS.iter()
            .any(|d| path.strip_prefix(d).is_some_and(|f| FILES.contains(&f)))
    }

    fn locations(&self) -> Vec<String> {
        DIRS.iter()
            .flat_map(|d| FILES.iter().map(move |f| format!("{d}{f}")))
            .collect()
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        let read = patchline_rpmdb::read_packages(content)
            .map_err(|e| ExtractError::new(path, e.to_string()))?;
        let mut out = Extracted {
            warnings: read.warnings,
            ..Default::default()
        };
        for r in read.packages {
            if r.name == "gpg-pubkey" {
                continue;
            }
            let evr = |v: &str, rel: &str| match r.epoch {
                Some(e) => format!("{e}:{v}-{rel}"),
                None => format!("{v}-{rel}"),
            };
            let mut p = Package::new(Ecosystem::Rpm, r.name.clone(), evr(&r.version, &r.release));
            p.epoch = r.epoch;
            p.arch = r.arch.clone();
            // The source rpm carries no epoch of its own: it shares the binary's.
            match r
                .source_rpm
                .as_deref()
                .and_then(patchline_rpmdb::split_source_rpm)
            {
                Some((name, v, rel)) => {
                    p.source_name = Some(name);
                    p.source_version = Some(evr(&v, &rel));
                }
                None => {
                    p.source_name = Some(r.name.clone());
                    p.source_version = Some(p.version.clone());
                }
            }
            p.licenses = r
                .license
                .iter()
                .filter(|l| !l.is_empty())
                .cloned()
                .collect();
            p.maintainer = r.vendor.clone().filter(|v| !v.is_empty());
            p.db_path = path.to_string();
            out.packages.push(p);
        }
        Ok(out)
    }
}
