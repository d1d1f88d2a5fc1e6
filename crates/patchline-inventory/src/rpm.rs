//! rpm databases: SQLite (`rpmdb.sqlite`), BerkeleyDB hash (`Packages`) and NDB
//! (`Packages.db`), read by `patchline-rpmdb` from the bytes the layer walk captured.
//!
//! The database is found in its three historical homes: `var/lib/rpm` (RHEL ≤ 9, SUSE),
//! `usr/lib/sysimage/rpm` (Fedora ≥ 36, newer SUSE) and `usr/share/rpm` (old SUSE).
//! `gpg-pubkey` entries are imported signing keys, not software, and are left out.
//! Each package's file list gives the files it owns; only those a language extractor
//! reads are kept ([`crate::owned::interesting`]), asked of `patchline-rpmdb` while it
//! decodes, so that a system's whole file list is never held.

use patchline_model::{Ecosystem, Package};

use std::io::Read;

use crate::extract::{owned_bytes, Budget, ExtractError, Extracted, Extractor};
use crate::owned::{interesting, normalize};

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

    /// The default's whole-file read, then the owned files kept are charged for good;
    /// past the budget they are dropped with a warning, as they only tell which
    /// language packages are the OS packages'.
    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let mut out =
            crate::extract::read_whole(path, size, content, budget, |b| self.extract(path, b))?;
        let bytes = out.owned.iter().map(owned_bytes).sum();
        match budget.reserve(bytes) {
            Ok(held) => held.keep(),
            Err(e) => {
                out.warnings.push(format!(
                    "the {} files its packages own that language packages may be read from are not kept: {e}",
                    out.owned.len()
                ));
                out.owned = Vec::new();
            }
        }
        Ok(out)
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        let keep = |f: &str| normalize(f).is_some_and(|p| interesting(&p));
        let read = patchline_rpmdb::read_packages_with(content, &keep)
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
            out.owned.extend(
                r.files
                    .iter()
                    .filter_map(|f| normalize(f))
                    .map(|f| (f, r.name.clone())),
            );
            out.packages.push(p);
        }
        Ok(out)
    }
}
