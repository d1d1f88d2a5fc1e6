//! Option groups shared by the subcommands that read images, and the typed choices
//! (`clap::ValueEnum`) of their options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use patchline_image::cache::LayerCache;
use patchline_image::layer::Limits;
use patchline_image::{OpenOptions, Platform, RegistryOptions};
use patchline_inventory::InventoryOptions;
use patchline_model::vuln::Severity;
use patchline_scan::ScanOptions;

#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// Platform to pick from a multi-arch index: OS/ARCH[/VARIANT]. Default: this machine's.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Talk plain HTTP to the registry (for loopback test registries).
    #[arg(long)]
    pub insecure: bool,
    /// Registry user name (else ~/.docker/config.json).
    #[arg(long, env = "PATCHLINE_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token.
    #[arg(long, env = "PATCHLINE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Time for one whole registry operation, retries included: a manifest, a token, a
    /// tag page, or a blob until its body starts (a blob body is then held to
    /// --min-rate instead).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    /// Time to establish one connection to a registry (at most --timeout).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub connect_timeout: u64,
    /// Slowest accepted blob transfer, in bytes/s, averaged over windows of --timeout
    /// (at most 30 s); a transfer that stops for a window fails regardless.
    #[arg(long, default_value_t = 1024, value_name = "BYTES_PER_SEC")]
    pub min_rate: u64,
    /// Do not read or write the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Cache directory [default: $XDG_CACHE_HOME/patchline or ~/.cache/patchline].
    #[arg(long, env = "PATCHLINE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Largest uncompressed size of one layer, in bytes (decompression-bomb guard).
    #[arg(long, default_value_t = Limits::default().max_layer_bytes, value_name = "BYTES")]
    pub max_layer_size: u64,
    /// Memory the package databases of one image may take, in bytes: the records being
    /// parsed and the packages kept, across the layers read at once. A database past it
    /// is not read and the inventory is incomplete (gates then exit 2).
    #[arg(long, default_value_t = patchline_inventory::image::DEFAULT_MAX_MEMORY, value_name = "BYTES")]
    pub max_memory: u64,
    /// Most tar entries in one layer.
    #[arg(long, default_value_t = Limits::default().max_entries, value_name = "N")]
    pub max_entries: u64,
    /// Layers read at once (0: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub jobs: usize,
}

impl ImageArgs {
    pub fn open_options(&self) -> Result<OpenOptions> {
        let platform = match &self.platform {
            Some(p) => Platform::parse(p)?,
            None => Platform::host(),
        };
        Ok(OpenOptions {
            platform,
            registry: RegistryOptions {
                insecure: self.insecure,
                username: self.username.clone(),
                password: self.password.clone(),
                docker_config: None,
                timeout: Duration::from_secs(self.timeout.max(1)),
                connect_timeout: Duration::from_secs(self.connect_timeout.max(1)),
                min_rate: self.min_rate,
                retries: 3,
            },
        })
    }

    pub fn inventory_options(&self) -> Result<InventoryOptions> {
        let cache = if self.no_cache {
            None
        } else {
            let dir = match &self.cache_dir {
                Some(d) => Some(d.clone()),
                None => LayerCache::default_dir(),
            };
            dir.map(LayerCache::new)
        };
        if let Some(c) = &cache {
            std::fs::create_dir_all(c.dir())
                .with_context(|| format!("creating cache directory {}", c.dir().display()))?;
        }
        Ok(InventoryOptions {
            limits: Limits {
                max_layer_bytes: self.max_layer_size,
                max_entries: self.max_entries,
            },
            cache,
            max_memory: self.max_memory,
            parallelism: self.jobs,
            ..Default::default()
        })
    }

    /// The scan options these arguments give (image access, inventory); the caller adds
    /// the database, its age limit and the policy.
    pub fn scan_options(&self) -> Result<ScanOptions> {
        Ok(ScanOptions {
            open: self.open_options()?,
            inventory: self.inventory_options()?,
            ..ScanOptions::default()
        })
    }
}

/// `--format` of the commands that print a report or JSON: `text` or `json`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    Text,
    Json,
}

/// `--format` of the commands that print a table or JSON: `table` or `json`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Table,
    Json,
}

/// A severity threshold (`--fail-on`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeverityArg {
    Negligible,
    Low,
    #[value(alias = "moderate")]
    Medium,
    #[value(alias = "important")]
    High,
    Critical,
    Unknown,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Severity {
        match s {
            SeverityArg::Negligible => Severity::Negligible,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::Unknown => Severity::Unknown,
        }
    }
}
