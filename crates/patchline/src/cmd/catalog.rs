//! `patchline catalog`: the local store of an organisation's images (add, import, list,
//! export, remove, sync from a registry). Also the helpers the other lineage commands
//! share: opening the store, resolving an image, reading a Containerfile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use patchline_image::{ImageRef, RegistryRef};
use patchline_lineage::catalog_file;
use patchline_lineage::containerfile;
use patchline_lineage::{AddOutcome, Catalog, CatalogEntry, ImageDocs, ImportOptions, Owner, Tier};
use patchline_model::vuln::ScanReport;
use patchline_model::{ImageInfo, Inventory};
use patchline_scan::Input;

use crate::args::{ImageArgs, TableFormat};

/// Where the catalog lives.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArgs {
    /// The catalog file (SQLite) [default: $XDG_CACHE_HOME/patchline/state.sqlite].
    #[arg(long, env = "PATCHLINE_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,
}

impl StateArgs {
    pub fn open(&self) -> Result<Catalog> {
        let path = match &self.state {
            Some(p) => p.clone(),
            None => Catalog::default_path(),
        };
        Catalog::open(&path).with_context(|| format!("opening the catalog {}", path.display()))
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Catalog one image (resolved from its source, inventoried, Containerfile parsed).
    Add(AddArgs),
    /// Import a declarative catalog (YAML): many images with owners and tiers.
    Import(ImportArgs),
    /// List the catalogued images.
    List(ListArgs),
    /// Print the declared fields of every image as a catalog file (YAML).
    Export(ExportArgs),
    /// Remove an image from the catalog.
    Remove(RemoveArgs),
    /// Catalog every repository and tag of a registry.
    Sync(SyncArgs),
}

/// What to store besides the resolved image.
#[derive(clap::Args, Debug, Clone)]
pub struct DocArgs {
    /// Only resolve the image (manifest and config): do not download layers, so no
    /// inventory is stored and `impact --package` lists this image as not examined.
    #[arg(long)]
    pub no_inventory: bool,
    /// Also scan each image against this advisory database and store the findings (for
    /// `impact CVE-ID`, `graph` vulnerability counts and `plan --cve`).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline catalog add registry.example.com/base/debian:12 --tier base --owner platform-team"
)]
pub struct AddArgs {
    /// The image: HOST/REPO:TAG, docker://HOST/REPO[:TAG|@DIGEST], oci:DIR[:TAG], ...
    pub image: String,
    /// Where the image sits in the hierarchy.
    #[arg(long, value_enum, ignore_case = true)]
    pub tier: TierArg,
    /// The owning team.
    #[arg(long)]
    pub owner: String,
    /// How to reach the owner (mail, chat channel).
    #[arg(long)]
    pub contact: Option<String>,
    /// The image's Containerfile (its final `FROM` is the declared base).
    #[arg(long, value_name = "PATH")]
    pub containerfile: Option<PathBuf>,
    /// Build argument used when reading the Containerfile (`ARG` before `FROM`).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// The declared parent image, when there is no Containerfile.
    #[arg(long, value_name = "IMAGE")]
    pub parent: Option<String>,
    #[command(flatten)]
    pub docs: DocArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline catalog import images.yaml --prune")]
pub struct ImportArgs {
    /// The catalog file. Relative Containerfile paths are read from its directory.
    pub file: PathBuf,
    /// Remove catalogued images the file does not list.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub docs: DocArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline catalog list")]
pub struct ListArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline catalog export > images.yaml")]
pub struct ExportArgs {
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline catalog remove registry.example.com/team/old-app:1.0"
)]
pub struct RemoveArgs {
    pub image: String,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline catalog sync registry.example.com --default-tier application --default-owner unassigned"
)]
pub struct SyncArgs {
    /// The registry: HOST[:PORT].
    pub registry: String,
    /// Tier of images not catalogued yet.
    #[arg(long, value_name = "TIER", value_enum, ignore_case = true, default_value_t = TierArg::Application)]
    pub default_tier: TierArg,
    /// Owner team of images not catalogued yet (else left unknown).
    #[arg(long, value_name = "TEAM")]
    pub default_owner: Option<String>,
    /// Only repositories whose name starts with this.
    #[arg(long, value_name = "PREFIX")]
    pub repository_prefix: Option<String>,
    #[command(flatten)]
    pub docs: DocArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Add(a) => add(a),
        Command::Import(a) => import(a),
        Command::List(a) => list(a),
        Command::Export(a) => {
            let cat = a.state.open()?;
            crate::output::write_all_or_nothing(None, cat.export_yaml()?.as_bytes())?;
            Ok(crate::EXIT_OK)
        }
        Command::Remove(a) => {
            let mut cat = a.state.open()?;
            if !cat.remove(&a.image)? {
                bail!("image {} is not in the catalog", a.image);
            }
            Ok(crate::EXIT_OK)
        }
        Command::Sync(a) => sync(a),
    }
}

/// The catalog name of an image given on the command line: registry references are
/// catalogued as `HOST/REPO:TAG` (what `FROM` lines say), other transports as given.
pub fn catalog_reference(image: &str) -> String {
    image.strip_prefix("docker://").unwrap_or(image).to_string()
}

/// What the catalog learns from reading an image.
pub struct Resolved {
    pub info: ImageInfo,
    pub inventory: Option<Inventory>,
    pub scan: Option<ScanReport>,
}

/// Resolves an image (manifest and config), and unless `no_inventory` inventories it
/// (and scans it when a database is given), through `patchline-scan`.
pub fn resolve(image: &str, docs: &DocArgs, a: &ImageArgs) -> Result<Resolved> {
    if docs.no_inventory {
        return Ok(Resolved {
            info: resolve_info(image, a)?,
            inventory: None,
            scan: None,
        });
    }
    let (inv, scan) = match &docs.db {
        Some(db) => {
            let mut opts = a.scan_options()?;
            opts.db = Some(db.clone());
            let s = crate::progress::with_layer_bars(|p| {
                patchline_scan::scan(Input::Image(image.to_string()), &opts, p)
            })?;
            (s.inventory, Some(s.report))
        }
        None => (crate::cmd::sbom::inventory(image, a)?, None),
    };
    Ok(Resolved {
        info: inv.image.clone(),
        inventory: Some(inv),
        scan,
    })
}

/// Manifest and config of an image, no layer read.
pub fn resolve_info(image: &str, a: &ImageArgs) -> Result<ImageInfo> {
    let reference = ImageRef::parse(image)?;
    let source = patchline_image::open(&reference, image, &a.open_options()?)?;
    Ok(source
        .resolve()
        .with_context(|| format!("resolving the image {image}"))?
        .info)
}

/// Reads a Containerfile: `(declared base or "scratch", build-time inputs)`. A file that
/// does not parse is an error naming the path, line and column.
pub fn read_containerfile(
    path: &Path,
    build_args: &BTreeMap<String, String>,
) -> Result<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the Containerfile {}", path.display()))?;
    let cf = containerfile::parse(&text)
        .map_err(|e| anyhow!("Containerfile {}: {e}", path.display()))?;
    let base = cf
        .final_base(build_args)
        .map_err(|e| anyhow!("Containerfile {}: {e}", path.display()))?
        .map(|b| b.0)
        .unwrap_or_else(|| "scratch".into());
    let inputs = cf
        .build_time_inputs(build_args)
        .map_err(|e| anyhow!("Containerfile {}: {e}", path.display()))?
        .into_iter()
        .map(|i| i.reference.0)
        .collect();
    Ok((base, inputs))
}

fn parse_build_args(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            bail!("--build-arg {a:?}: expected KEY=VALUE");
        };
        if k.is_empty() {
            bail!("--build-arg {a:?}: empty key");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// `--tier`: [`Tier`] as a typed choice.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TierArg {
    /// An OS base image (debian, ubi, alpine), usually maintained by a platform team.
    Base,
    /// A hardened organisation image built on a base (CA bundle, users, agents).
    Enterprise,
    /// An application image.
    Application,
    /// A build-time image (compilers, CI runners): rebuilt like the others, never deployed.
    Builder,
    /// A vendor image (commercial off-the-shelf): only its vendor can fix it.
    Cots,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Tier {
        match t {
            TierArg::Base => Tier::Base,
            TierArg::Enterprise => Tier::Enterprise,
            TierArg::Application => Tier::Application,
            TierArg::Builder => Tier::Builder,
            TierArg::Cots => Tier::Cots,
        }
    }
}

fn add(a: AddArgs) -> Result<u8> {
    let tier = Tier::from(a.tier);
    let build_args = parse_build_args(&a.build_args)?;
    let reference = catalog_reference(&a.image);
    // The cheap local checks first: a bad Containerfile is reported before any pull.
    let declared = match &a.containerfile {
        Some(p) => {
            let abs =
                std::path::absolute(p).with_context(|| format!("Containerfile {}", p.display()))?;
            let (base, inputs) = read_containerfile(&abs, &build_args)?;
            Some((abs, base, inputs))
        }
        None => None,
    };
    let mut cat = a.state.open()?;
    let r = resolve(&a.image, &a.docs, &a.image_args)?;
    let mut entry = CatalogEntry::from_image_info(reference.clone(), tier, &r.info);
    entry.owner = Some(Owner::new(a.owner.clone(), a.contact.clone()));
    entry.build_args = build_args;
    entry.declared_parent = a.parent.clone();
    if let Some((path, base, inputs)) = declared {
        entry.containerfile = Some(path.display().to_string());
        entry.declared_base = Some(base);
        entry.build_inputs = inputs;
    }
    let outcome = cat.put_image(entry, r.inventory.as_ref(), r.scan.as_ref())?;
    errln!(
        "patchline: {reference}: {} ({})",
        match outcome {
            AddOutcome::Inserted => "added",
            AddOutcome::Updated => "updated",
            AddOutcome::Unchanged => "unchanged",
        },
        r.info
            .manifest_digest
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "no digest".into())
    );
    Ok(crate::EXIT_OK)
}

fn import(a: ImportArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading the catalog file {}", a.file.display()))?;
    let file = a.file.display().to_string();
    // Everything is checked before anything is written or pulled: the file, its
    // declared parents, the Containerfiles, then every image.
    let declared = catalog_file::parse(&text).map_err(|e| anyhow!("{file}: {e}"))?;
    let (cycles, _) = catalog_file::check_parents(
        declared
            .iter()
            .map(|e| (e.reference.as_str(), e.declared_parent.as_deref())),
    );
    if let Some(c) = cycles.first() {
        bail!("{file}: cycle in declared parents: {}", c.join(" -> "));
    }
    let dir = a
        .file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut recipes: BTreeMap<String, (String, String, Vec<String>)> = BTreeMap::new();
    for e in &declared {
        if let Some(cf) = &e.containerfile {
            let p = std::path::absolute(dir.join(cf))
                .with_context(|| format!("{file}: image {}: Containerfile {cf}", e.reference))?;
            let (base, inputs) = read_containerfile(&p, &e.build_args)
                .with_context(|| format!("{file}: image {}", e.reference))?;
            recipes.insert(e.reference.clone(), (p.display().to_string(), base, inputs));
        }
    }
    let mut resolved = Vec::with_capacity(declared.len());
    for e in &declared {
        let r = resolve(&e.reference, &a.docs, &a.image_args)
            .with_context(|| format!("{file}: image {}", e.reference))?;
        resolved.push((e.reference.clone(), r));
    }

    let resolved: BTreeMap<String, Resolved> = resolved.into_iter().collect();
    let mut cat = a.state.open()?;
    // One transaction: the file's images with their resolved fields and documents.
    let report = cat
        .import_yaml_resolving(&text, ImportOptions { prune: a.prune }, |entry| {
            let r = resolved.get(&entry.reference)?;
            entry.apply_image_info(&r.info);
            if let Some((path, base, inputs)) = recipes.get(&entry.reference) {
                entry.containerfile = Some(path.clone());
                entry.declared_base = Some(base.clone());
                entry.build_inputs = inputs.clone();
            }
            Some(ImageDocs {
                inventory: r.inventory.as_ref(),
                scan: r.scan.as_ref(),
            })
        })
        .map_err(|e| anyhow!("{file}: {e}"))?;
    for w in &report.warnings {
        errln!("patchline: warning: {file}: {w}");
    }
    errln!(
        "patchline: {file}: {} added, {} updated, {} unchanged, {} removed",
        report.added.len(),
        report.updated.len(),
        report.unchanged.len(),
        report.removed.len()
    );
    Ok(crate::EXIT_OK)
}

fn list(a: ListArgs) -> Result<u8> {
    let cat = a.state.open()?;
    let entries = cat.list()?;
    let out = if a.format == TableFormat::Json {
        let mut s = serde_json::to_string_pretty(&entries)?;
        s.push('\n');
        s
    } else {
        let mut s = String::from("REFERENCE\tTIER\tOWNER\tDIGEST\tLAYERS\tBASE\n");
        for e in &entries {
            s.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                e.reference,
                e.tier,
                e.owner
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into()),
                e.digest
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                e.diff_ids.len(),
                e.declared_base
                    .as_deref()
                    .or(e.declared_parent.as_deref())
                    .or(e.base_name.as_deref())
                    .unwrap_or("-"),
            ));
        }
        s
    };
    crate::output::write_all_or_nothing(None, out.as_bytes())?;
    Ok(crate::EXIT_OK)
}

fn sync(a: SyncArgs) -> Result<u8> {
    let registry = a
        .registry
        .strip_prefix("docker://")
        .unwrap_or(&a.registry)
        .trim_end_matches('/')
        .to_string();
    let default_tier = Tier::from(a.default_tier);
    let opts = a.image_args.open_options()?;
    let repos = patchline_image::registry::catalog(&registry, &opts.registry)
        .with_context(|| format!("listing the repositories of {registry}"))?;
    let mut cat = a.state.open()?;
    let mut seen = 0usize;
    let mut added = 0usize;
    let mut updated = 0usize;
    for repo in repos {
        if let Some(p) = &a.repository_prefix {
            if !repo.starts_with(p.as_str()) {
                continue;
            }
        }
        let store = patchline_image::registry::RegistryStore::new(
            RegistryRef {
                registry: registry.clone(),
                repository: repo.clone(),
                tag: None,
                digest: None,
            },
            &opts.registry,
        )?;
        let tags = store
            .list_tags()
            .with_context(|| format!("listing the tags of {registry}/{repo}"))?;
        for tag in tags {
            seen += 1;
            let reference = format!("{registry}/{repo}:{tag}");
            let r = resolve(&reference, &a.docs, &a.image_args)?;
            // The declared fields of a catalogued image are kept, its resolved ones
            // refreshed; the entry and its documents are written in one transaction.
            let entry = match cat.get(&reference)? {
                Some(mut e) => {
                    e.apply_image_info(&r.info);
                    e
                }
                None => {
                    let mut e =
                        CatalogEntry::from_image_info(reference.clone(), default_tier, &r.info);
                    e.owner = a
                        .default_owner
                        .as_ref()
                        .map(|t| Owner::new(t.clone(), None));
                    e
                }
            };
            match cat.put_image(entry, r.inventory.as_ref(), r.scan.as_ref())? {
                AddOutcome::Inserted => added += 1,
                AddOutcome::Updated => updated += 1,
                AddOutcome::Unchanged => {}
            }
        }
    }
    errln!("patchline: {registry}: {seen} tag(s), {added} added, {updated} updated");
    Ok(crate::EXIT_OK)
}
