//! An in-memory [`AdvisoryLookup`], for tests and for callers that hold a handful of
//! advisories (a feed file given on the command line, a server test).

use std::collections::HashMap;

use patchline_model::distro::Registry;
use patchline_model::ecosystem::normalize_package;
use patchline_model::vuln::{Advisory, AdvisoryLookup, Enrichment};

/// The (ecosystem, package) key as the SQLite DB stores it: one spelling per ecosystem
/// (Ubuntu without `:LTS`) and PyPI names normalised.
fn key(ecosystem: &str, package: &str) -> (String, String) {
    let eco = Registry::builtin().normalize_ecosystem(ecosystem);
    let pkg = normalize_package(&eco, package).into_owned();
    (eco.into_owned(), pkg)
}

/// Advisories indexed by (ecosystem, package) of each `affected` entry, and enrichment by
/// id.
#[derive(Clone, Debug, Default)]
pub struct MemoryDb {
    advisories: Vec<Advisory>,
    index: HashMap<(String, String), Vec<usize>>,
    enrichment: HashMap<String, Enrichment>,
}

impl MemoryDb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an advisory under every (ecosystem, package) it names.
    pub fn insert(&mut self, advisory: Advisory) {
        let i = self.advisories.len();
        for a in &advisory.affected {
            let slot = self.index.entry(key(&a.ecosystem, &a.package)).or_default();
            if slot.last() != Some(&i) {
                slot.push(i);
            }
        }
        self.advisories.push(advisory);
    }

    /// Sets the enrichment of an id (a CVE).
    pub fn set_enrichment(&mut self, id: impl Into<String>, e: Enrichment) {
        self.enrichment.insert(id.into(), e);
    }

    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }
}

impl AdvisoryLookup for MemoryDb {
    fn advisories(&self, ecosystem: &str, package: &str) -> Result<Vec<Advisory>, String> {
        Ok(self
            .index
            .get(&key(ecosystem, package))
            .map(|ix| ix.iter().map(|&i| self.advisories[i].clone()).collect())
            .unwrap_or_default())
    }

    fn enrichment(&self, id: &str) -> Result<Option<Enrichment>, String> {
        Ok(self.enrichment.get(id).cloned())
    }

    fn has_ecosystem(&self, ecosystem: &str) -> Result<Option<bool>, String> {
        let eco = Registry::builtin().normalize_ecosystem(ecosystem);
        Ok(Some(self.index.keys().any(|(e, _)| *e == eco)))
    }
}
