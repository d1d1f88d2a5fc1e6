//! The inventory of an image: layers analysed once each (in parallel, cached by
//! diff_id), then squashed in order into what a container would see.
//!
//! Per layer, only the files extractors want are kept, already parsed
//! ([`LayerAnalysis`]); plus the layer's whiteouts, opaque directories and symlinks, which
//! the squash needs to know what each layer hides below it. That is what the cache
//! stores: a few kilobytes for a layer of hundreds of megabytes.
//!
//! Attribution: after each layer that touched a package database, the package set of the
//! squashed view is taken. A package was *introduced* by the first layer of the final run
//! of layers in which it is present, and *last changed* by the first layer from which on
//! it has its final version.
//!
//! Ownership: the files OS packages own, as their databases and dpkg's lists in the final
//! view say (only while the owning package is still installed), mark each language
//! package read from one `managed_by` that OS package ([`crate::owned`]). A list's
//! directories are taken through the final view's symlinks, as the layers hold the files.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use patchline_image::cache::LayerCache;
use patchline_image::layer::{self, EntryKind, Limits};
use patchline_image::{ImageError, ImageSource, LayerDesc};
use patchline_model::check::{CheckFinding, CheckKind};
use patchline_model::{purl, Distro, ImageInfo, Inventory, LayerRef, Package, Warning};
use serde::{Deserialize, Serialize};

use crate::extract::{owned_bytes, package_bytes, Budget, Deferred, Held, OverBudget};
use crate::{extractors, osrelease, Extracted, Extractor, Inspector};

/// Cache namespace: bump the number whenever what a layer analysis holds changes.
pub const CACHE_NAMESPACE: &str = "inventory-v6";

/// The cache namespace for a set of inspectors: their findings are part of what a layer
/// analysis holds.
fn cache_namespace(inspectors: &[Arc<dyn Inspector>]) -> String {
    let mut ns = CACHE_NAMESPACE.to_string();
    for i in inspectors {
        ns.push('+');
        ns.push_str(i.name());
    }
    ns
}

/// What one layer contributes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LayerAnalysis {
    /// Wanted paths this layer writes, with their parsed content.
    pub files: BTreeMap<String, FileResult>,
    /// Paths this layer deletes (with everything below them).
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer content this layer hides.
    pub opaque_dirs: Vec<String>,
    /// Every symlink of the layer (path → target as written). A symlink hides whatever a
    /// lower layer had below its path, and wanted files are reached through them.
    pub symlinks: BTreeMap<String, String>,
    pub entries: u64,
    pub uncompressed_bytes: u64,
    /// More files named like package databases than [`MAX_UNREAD`]: the rest were not
    /// recorded, so a database behind a directory link may have gone unnoticed.
    #[serde(default)]
    pub unread_overflow: bool,
    /// What the inspectors found in this layer (layer not yet set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckFinding>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FileResult {
    /// A package database, parsed.
    Packages {
        extractor: String,
        packages: Vec<Package>,
        warnings: Vec<String>,
        /// Files its packages own that language extractors read: (path, OS package).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        owned: Vec<(String, String)>,
        /// Packages completed from another file of the squashed view.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        deferred: Vec<Deferred>,
        /// Paths whose packages in the squashed view make these redundant
        /// ([`Extracted::superseded_by`](crate::Extracted)).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        superseded_by: Vec<String>,
    },
    /// The string constants a file assigns ([`Extracted::defines`](crate::Extracted)),
    /// which [`Deferred`] packages of other files look up. No database.
    Defines {
        extractor: String,
        constants: Vec<(String, String)>,
    },
    /// A list of the files an OS package owns (dpkg's `info/*.list`), filtered as
    /// [`Extracted::owned`](crate::Extracted::owned). No database: it neither counts as
    /// one nor makes the inventory incomplete when unreadable (its warnings say so).
    Owned {
        extractor: String,
        owned: Vec<(String, String)>,
        warnings: Vec<String>,
    },
    /// A package database that could not be read.
    Failed { extractor: String, error: String },
    /// A release file (os-release and fallbacks), kept verbatim.
    Text(String),
    /// The wanted path is something else (directory, device): it hides the lower file.
    Other,
    /// A file named like a package database outside the databases' homes: not read, but
    /// recorded so that a home reached through a directory symlink is noticed.
    Unread,
}

/// Files named like package databases recorded per layer, at most.
pub const MAX_UNREAD: usize = 10_000;

/// How a file outside the databases' homes can still be one, by name.
enum DbName {
    /// Its file name (`status`, `installed`, `rpmdb.sqlite`).
    File(String),
    /// The name of its directory (`status.d`).
    InDir(String),
}

fn db_names(extractors: &[Box<dyn Extractor>]) -> Vec<DbName> {
    extractors
        .iter()
        .flat_map(|e| e.locations())
        .filter_map(|l| match l.strip_suffix('/') {
            Some(dir) => dir.rsplit('/').next().map(|d| DbName::InDir(d.to_string())),
            None => l.rsplit('/').next().map(|f| DbName::File(f.to_string())),
        })
        .collect()
}

fn named_like_db(names: &[DbName], path: &str) -> bool {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let dir_name = dir.rsplit('/').next().unwrap_or("");
    names.iter().any(|n| match n {
        DbName::File(f) => f == file,
        DbName::InDir(d) => d == dir_name,
    })
}

/// Settings of an inventory run.
#[derive(Clone, Debug)]
pub struct InventoryOptions {
    pub limits: Limits,
    /// Largest package database read.
    pub max_file_bytes: u64,
    /// Memory the package databases of one inventory may take, across all layers read
    /// at once (see [`Budget`]).
    pub max_memory: u64,
    /// `None` disables the cache (`--no-cache`).
    pub cache: Option<LayerCache>,
    /// Layers read at once; 0 means one per core.
    pub parallelism: usize,
    /// Checks that ride the layer walk (`patchline-checks`); none by default.
    pub inspectors: Vec<Arc<dyn Inspector>>,
}

impl Default for InventoryOptions {
    fn default() -> Self {
        InventoryOptions {
            limits: Limits::default(),
            max_file_bytes: 1 << 30,
            max_memory: DEFAULT_MAX_MEMORY,
            cache: None,
            parallelism: 0,
            inspectors: Vec::new(),
        }
    }
}

/// Progress of layer reads, for progress bars. Calls come from several threads.
pub trait Progress: Sync {
    fn layer_start(&self, _index: usize, _compressed_size: Option<u64>) {}
    fn layer_advance(&self, _index: usize, _bytes: u64) {}
    fn layer_done(&self, _index: usize, _from_cache: bool) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

struct ProgressReader<'a, R> {
    inner: R,
    index: usize,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.layer_advance(self.index, n as u64);
        Ok(n)
    }
}

/// Default of [`InventoryOptions::max_memory`]: room for the largest real package
/// databases (a full RHEL rpmdb is read whole, some 100 MB), while an image crafted to
/// expand in memory is stopped long before it matters. Ordinary images use a few MB.
pub const DEFAULT_MAX_MEMORY: u64 = 256 << 20;

const RELEASE_FILE_MAX: u64 = 1 << 20;

/// Hands a wanted file's size and content to the closure it is given (the content is
/// opened only then).
type Open<'x> = dyn FnMut(
        &mut dyn FnMut(u64, &mut dyn Read) -> Result<FileResult, String>,
    ) -> Result<FileResult, String>
    + 'x;

/// Remembers the first read error of a file's content, so a broken layer stream fails
/// the layer with its own message rather than passing for an unreadable database.
struct Tap<'r> {
    inner: &'r mut dyn Read,
    error: Option<String>,
}

impl Read for Tap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.error.is_none() {
                self.error = Some(e.to_string());
            }
        })
    }
}

/// Collects wanted files from a stream of entries (a layer's tar, or a root filesystem).
struct Collector<'a> {
    extractors: &'a [Box<dyn Extractor>],
    inspectors: &'a [Arc<dyn Inspector>],
    names: Vec<DbName>,
    unread: usize,
    max_file_bytes: u64,
    budget: &'a Budget,
    out: LayerAnalysis,
}

impl<'a> Collector<'a> {
    fn extractor_for(&self, path: &str) -> Option<&'a dyn Extractor> {
        self.extractors
            .iter()
            .find(|e| e.wants(path))
            .map(|e| e.as_ref())
    }

    /// The extractor of a regular file: by path, else by mode and size (executables).
    fn extractor_for_file(&self, path: &str, mode: u32, size: u64) -> Option<&'a dyn Extractor> {
        self.extractor_for(path).or_else(|| {
            self.extractors
                .iter()
                .find(|e| e.wants_file(path, mode, size))
                .map(|e| e.as_ref())
        })
    }

    fn wanted(&self, path: &str) -> bool {
        osrelease::wants(path) || self.extractor_for(path).is_some()
    }

    /// Whether `target`, earlier in this layer, is an executable an extractor found
    /// packages in by its content (a Go or Rust binary): a hard link to it is the same
    /// binary at another path. The link gets a copy of its result, packages unchanged
    /// (their `db_path` is the target's, so the two paths list the binary once, as
    /// Syft lists a hard-linked file once and Trivy does not read hard links), and the
    /// binary is still listed when a later layer deletes the target's path and leaves
    /// the link.
    fn kept_by_content(&self, target: &str) -> bool {
        matches!(
            self.out.files.get(target),
            Some(FileResult::Packages { .. })
        ) && !self.wanted(target)
    }

    /// Records a file named like a database outside the databases' homes.
    fn note_unread(&mut self, path: &str) {
        if !named_like_db(&self.names, path) {
            return;
        }
        if self.unread < MAX_UNREAD {
            self.unread += 1;
            self.out.files.insert(path.to_string(), FileResult::Unread);
        } else {
            self.out.unread_overflow = true;
        }
    }

    /// `open` is only called for regular files the collector wants.
    fn visit(
        &mut self,
        path: &str,
        kind: &EntryKind,
        mode: u32,
        size: u64,
        open: &mut Open<'_>,
    ) -> Result<(), String> {
        for i in self.inspectors {
            let from = self.out.checks.len();
            i.entry(path, kind, mode, size, &mut self.out.checks);
            for f in &mut self.out.checks[from..] {
                f.path.get_or_insert_with(|| path.to_string());
            }
        }
        let inspecting: Vec<&dyn Inspector> = match kind {
            EntryKind::File => self
                .inspectors
                .iter()
                .filter(|i| size <= i.max_content_bytes() && i.wants_content(path, mode, size))
                .map(|i| i.as_ref())
                .collect(),
            _ => Vec::new(),
        };
        let unwanted = match kind {
            EntryKind::File => {
                inspecting.is_empty()
                    && !osrelease::wants(path)
                    && self.extractor_for_file(path, mode, size).is_none()
            }
            EntryKind::Hardlink(target) => !self.wanted(path) && !self.kept_by_content(target),
            _ => false,
        };
        if unwanted {
            self.note_unread(path);
            return Ok(());
        }
        match kind {
            EntryKind::Whiteout => self.out.whiteouts.push(path.to_string()),
            EntryKind::OpaqueDir => self.out.opaque_dirs.push(path.to_string()),
            EntryKind::Symlink(t) => {
                self.out.symlinks.insert(path.to_string(), t.clone());
                // A symlink replaces whatever this layer itself wrote there earlier.
                self.out.files.remove(path);
            }
            EntryKind::Hardlink(target) => {
                if self.wanted(path) || self.kept_by_content(target) {
                    let r = match self.out.files.get(target) {
                        // A second copy of a database's packages is memory too.
                        Some(FileResult::Packages {
                            extractor,
                            packages,
                            owned,
                            ..
                        }) if self
                            .budget
                            .reserve(
                                packages.iter().map(package_bytes).sum::<u64>()
                                    + owned.iter().map(owned_bytes).sum::<u64>(),
                            )
                            .map(Held::keep)
                            .is_err() =>
                        {
                            FileResult::Failed {
                                extractor: extractor.clone(),
                                error: format!(
                                    "hard link to {}: {}",
                                    shown_path(target),
                                    OverBudget {
                                        limit: self.budget.limit()
                                    }
                                ),
                            }
                        }
                        // Ownership only: over the budget, the copy knows nothing.
                        Some(FileResult::Owned {
                            extractor, owned, ..
                        }) if self
                            .budget
                            .reserve(owned.iter().map(owned_bytes).sum())
                            .map(Held::keep)
                            .is_err() =>
                        {
                            FileResult::Owned {
                                extractor: extractor.clone(),
                                owned: Vec::new(),
                                warnings: vec![format!(
                                    "hard link to {}: {}; the files it lists are not known to be owned",
                                    shown_path(target),
                                    OverBudget {
                                        limit: self.budget.limit()
                                    }
                                )],
                            }
                        }
                        Some(r) => r.clone(),
                        None => FileResult::Failed {
                            extractor: "layer".into(),
                            error: format!(
                                "hard link to {}, which was not kept while streaming",
                                shown_path(target)
                            ),
                        },
                    };
                    self.out.files.insert(path.to_string(), r);
                }
            }
            EntryKind::File => {
                let release = osrelease::wants(path);
                let ex = if release {
                    None
                } else {
                    self.extractor_for_file(path, mode, size)
                };
                let mut found = Vec::new();
                let this = &*self;
                let r = open(&mut |size, r| {
                    if inspecting.is_empty() {
                        return this.parse_file(path, release, ex, size, r);
                    }
                    // Read once, for the inspectors and the extractor alike.
                    let _held = this.budget.reserve(size).map_err(|e| {
                        format!("{}: {size} bytes to inspect: {e}", shown_path(path))
                    })?;
                    let mut bytes = Vec::with_capacity(size as usize);
                    r.take(size)
                        .read_to_end(&mut bytes)
                        .map_err(|e| format!("{}: {e}", shown_path(path)))?;
                    for i in &inspecting {
                        i.content(path, &bytes, &mut found);
                    }
                    this.parse_file(path, release, ex, size, &mut bytes.as_slice())
                })?;
                for mut f in found {
                    f.path.get_or_insert_with(|| path.to_string());
                    self.out.checks.push(f);
                }
                if release || ex.is_some() {
                    self.out.files.insert(path.to_string(), r);
                }
            }
            EntryKind::Dir | EntryKind::Other => {
                if self.wanted(path) {
                    self.out.files.insert(path.to_string(), FileResult::Other);
                }
            }
        }
        Ok(())
    }
}

impl Collector<'_> {
    /// The parsed content of a wanted file: a release file, or a database of `ex`;
    /// [`FileResult::Other`] for a file only inspectors wanted.
    fn parse_file(
        &self,
        path: &str,
        release: bool,
        ex: Option<&dyn Extractor>,
        size: u64,
        r: &mut dyn Read,
    ) -> Result<FileResult, String> {
        if release {
            if size > RELEASE_FILE_MAX {
                return Err(format!(
                    "{} is {size} bytes, over the limit of {RELEASE_FILE_MAX}",
                    shown_path(path)
                ));
            }
            let mut bytes = Vec::new();
            r.take(RELEASE_FILE_MAX)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{}: {e}", shown_path(path)))?;
            return Ok(FileResult::Text(
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        let Some(ex) = ex else {
            return Ok(FileResult::Other);
        };
        let name = ex.name().to_string();
        let by_content = !ex.wants(path);
        let owned_only = ex.lists_owned_files();
        let max = ex.max_file_bytes().unwrap_or(self.max_file_bytes);
        if size > max {
            let error = format!(
                "{} is {size} bytes, over the limit of {max}",
                shown_path(path)
            );
            return Ok(if owned_only {
                FileResult::Owned {
                    extractor: name,
                    owned: Vec::new(),
                    warnings: vec![error],
                }
            } else {
                FileResult::Failed {
                    extractor: name,
                    error,
                }
            });
        }
        let mut tap = Tap {
            inner: r,
            error: None,
        };
        let got = ex.extract_from(path, size, &mut tap, self.budget);
        if let Some(e) = tap.error {
            return Err(format!("{}: {e}", shown_path(path)));
        }
        Ok(match got {
            // Ownership is all such a file tells; unreadable, it tells nothing, which
            // costs no packages.
            Ok(x) if owned_only => FileResult::Owned {
                extractor: name,
                owned: x.owned,
                warnings: x.warnings,
            },
            Err(e) if owned_only => FileResult::Owned {
                extractor: name,
                owned: Vec::new(),
                warnings: vec![e.reason],
            },
            // An executable that is not one of the extractor's: present, nothing more
            // (it still hides what a lower layer had there).
            Ok(x) if by_content && x.packages.is_empty() && x.warnings.is_empty() => {
                FileResult::Other
            }
            Ok(Extracted {
                defines: Some(constants),
                ..
            }) => FileResult::Defines {
                extractor: name,
                constants,
            },
            Ok(x) => FileResult::Packages {
                extractor: name,
                packages: x.packages,
                warnings: x.warnings,
                owned: x.owned,
                deferred: x.deferred,
                superseded_by: x.superseded_by,
            },
            Err(e) => FileResult::Failed {
                extractor: name,
                error: e.reason,
            },
        })
    }
}

/// Analyses one layer blob in a single streaming pass.
pub fn analyze_layer(
    blob: impl Read + Send,
    desc: &LayerDesc,
    opts: &InventoryOptions,
    extractors: &[Box<dyn Extractor>],
    budget: &Budget,
) -> Result<LayerAnalysis, ImageError> {
    let mut c = Collector {
        extractors,
        inspectors: &opts.inspectors,
        names: db_names(extractors),
        unread: 0,
        max_file_bytes: opts.max_file_bytes,
        budget,
        out: LayerAnalysis::default(),
    };
    let layer_err = |reason: String| ImageError::Layer {
        index: desc.index,
        digest: desc.digest.as_ref().unwrap_or(&desc.diff_id).to_string(),
        reason,
    };
    let stats = layer::walk(blob, desc, &opts.limits, &mut |e| {
        let path = e.path.clone();
        let kind = e.kind.clone();
        let (size, mode) = (e.size, e.mode);
        c.visit(&path, &kind, mode, size, &mut |f| f(size, e.reader()))
            .map_err(layer_err)
    })?;
    c.out.entries = stats.entries;
    c.out.uncompressed_bytes = stats.uncompressed_bytes;
    Ok(c.out)
}

fn layer_ref(layers: &[LayerDesc], i: usize) -> Option<LayerRef> {
    layers.get(i).map(|l| LayerRef {
        index: i,
        diff_id: l.diff_id.clone(),
    })
}

/// Inventories an image from any layered source.
pub fn inventory_image(
    source: &dyn ImageSource,
    opts: &InventoryOptions,
    progress: &dyn Progress,
) -> Result<Inventory, ImageError> {
    let resolved = source.resolve()?;
    let extractors = extractors();
    let budget = Budget::new(opts.max_memory);
    let n = resolved.layers.len();
    let results: Vec<Mutex<Option<Result<LayerAnalysis, ImageError>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = match opts.parallelism {
        0 => std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1),
        p => p,
    }
    .min(n.max(1));
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        let desc = &resolved.layers[i];
        let r = analyze_cached(source, desc, opts, &extractors, &budget, progress);
        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let mut analyses = Vec::with_capacity(n);
    for r in results {
        let r = r.into_inner().unwrap_or_else(|p| p.into_inner());
        analyses.push(r.expect("every layer index is taken by one worker")?);
    }
    Ok(squash(resolved.info, &resolved.layers, &analyses))
}

fn analyze_cached(
    source: &dyn ImageSource,
    desc: &LayerDesc,
    opts: &InventoryOptions,
    extractors: &[Box<dyn Extractor>],
    budget: &Budget,
    progress: &dyn Progress,
) -> Result<LayerAnalysis, ImageError> {
    if let Some(cache) = &opts.cache {
        if let Some(bytes) = cache.get(&cache_namespace(&opts.inspectors), &desc.diff_id) {
            if let Ok(a) = serde_json::from_slice::<LayerAnalysis>(&bytes) {
                progress.layer_done(desc.index, true);
                return Ok(a);
            }
        }
    }
    progress.layer_start(desc.index, desc.size);
    let blob = source.open_layer(desc)?;
    let reader = ProgressReader {
        inner: blob,
        index: desc.index,
        progress,
    };
    let a = analyze_layer(reader, desc, opts, extractors, budget)?;
    if let Some(cache) = &opts.cache {
        // A cache that cannot be written only costs time; the scan goes on.
        let _ = serde_json::to_vec(&a)
            .map(|b| cache.put(&cache_namespace(&opts.inspectors), &desc.diff_id, &b));
    }
    progress.layer_done(desc.index, false);
    Ok(a)
}

/// Inventories an unpacked root filesystem (`dir:ROOTFS`). Symlinks are recorded, never
/// followed, so nothing outside the directory is read.
pub fn inventory_rootfs(
    dir: &Path,
    reference: &str,
    opts: &InventoryOptions,
) -> Result<Inventory, ImageError> {
    let meta = std::fs::metadata(dir).map_err(|e| ImageError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(ImageError::invalid(
            reference,
            format!("{} is not a directory", dir.display()),
        ));
    }
    let extractors = extractors();
    let budget = Budget::new(opts.max_memory);
    let mut c = Collector {
        inspectors: &opts.inspectors,
        names: db_names(&extractors),
        unread: 0,
        extractors: &extractors,
        max_file_bytes: opts.max_file_bytes,
        budget: &budget,
        out: LayerAnalysis::default(),
    };
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    let mut count: u64 = 0;
    while let Some((abs, rel)) = stack.pop() {
        let rd = std::fs::read_dir(&abs).map_err(|e| ImageError::io(&abs, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| ImageError::io(&abs, e))?;
            count += 1;
            if count > opts.limits.max_entries {
                return Err(ImageError::invalid(
                    reference,
                    format!("more than {} entries", opts.limits.max_entries),
                ));
            }
            let name = ent.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let abs_child = ent.path();
            let ft = ent.file_type().map_err(|e| ImageError::io(&abs_child, e))?;
            let kind = if ft.is_symlink() {
                let t =
                    std::fs::read_link(&abs_child).map_err(|e| ImageError::io(&abs_child, e))?;
                EntryKind::Symlink(t.to_string_lossy().into_owned())
            } else if ft.is_dir() {
                stack.push((abs_child.clone(), path.clone()));
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            // Only wanted files are opened; a rootfs has no whiteouts.
            let p2 = abs_child.clone();
            // Mode and size decide for executables; directory modes for the checks.
            let (mode, size) = if ft.is_file() || ft.is_dir() {
                use std::os::unix::fs::MetadataExt;
                let m = ent.metadata().map_err(|e| ImageError::io(&abs_child, e))?;
                (m.mode(), if ft.is_file() { m.len() } else { 0 })
            } else {
                (0, 0)
            };
            c.visit(&path, &kind, mode, size, &mut |f| {
                let file =
                    std::fs::File::open(&p2).map_err(|e| format!("{}: {e}", p2.display()))?;
                let size = file
                    .metadata()
                    .map_err(|e| format!("{}: {e}", p2.display()))?
                    .len();
                f(size, &mut file.take(size))
            })
            .map_err(|r| ImageError::invalid(reference, r))?;
        }
    }
    let info = ImageInfo {
        reference: reference.to_string(),
        ..Default::default()
    };
    Ok(squash(info, &[], &[c.out]))
}

/// A path from the image for a message: as is when short and printable (the usual
/// case), else quoted and capped (`var/lib/dpkg/status.d/` names come from the image).
fn shown_path(path: &str) -> String {
    if path.len() <= 200 && !path.chars().any(char::is_control) {
        path.to_string()
    } else {
        patchline_model::quote_capped(path, 200)
    }
}

/// An entry of the squashed view: which layer wrote it, and what.
struct ViewEntry<'a> {
    layer: usize,
    file: &'a FileResult,
}

fn remove_below<V>(view: &mut BTreeMap<String, V>, dir: &str, including_self: bool) {
    if including_self {
        view.remove(dir);
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let doomed: Vec<String> = view
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        view.remove(&k);
    }
}

fn is_db(f: &FileResult) -> bool {
    matches!(f, FileResult::Packages { .. } | FileResult::Failed { .. })
}

/// A file whose arrival or removal can change the package set: a database, or a file
/// of constants that deferred packages look up.
fn shapes_packages(f: &FileResult) -> bool {
    is_db(f) || matches!(f, FileResult::Defines { .. })
}

/// Whether the view holds packages at `path`, or below it when it ends in `/`.
fn has_packages(view: &BTreeMap<String, ViewEntry<'_>>, path: &str) -> bool {
    let some = |v: &ViewEntry<'_>| matches!(v.file, FileResult::Packages { packages, .. } if !packages.is_empty());
    if path.ends_with('/') {
        view.range(path.to_string()..)
            .take_while(|(k, _)| k.starts_with(path))
            .any(|(_, v)| some(v))
    } else {
        view.get(path).is_some_and(some)
    }
}

/// Longest constant value taken as a version.
const DEFERRED_VERSION_MAX: usize = 256;

/// A deferred package with its version, from the first of its files in `view` that
/// assigns the constant; else why not (`lib/foo/version.rb is not in the image`).
fn complete(d: &Deferred, view: &BTreeMap<String, ViewEntry<'_>>) -> Result<Package, String> {
    let constant = patchline_model::quote_capped(&d.constant, 80);
    let mut why = None;
    for f in &d.files {
        let shown = shown_path(f);
        let Some(FileResult::Defines { constants, .. }) = view.get(f).map(|v| v.file) else {
            why.get_or_insert_with(|| format!("{shown} is not in the image"));
            continue;
        };
        let Some((_, v)) = constants.iter().find(|(n, _)| *n == d.constant) else {
            why = Some(format!("{shown} does not assign a string to {constant}"));
            continue;
        };
        if v.is_empty()
            || v.len() > DEFERRED_VERSION_MAX
            || v.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            why = Some(format!(
                "{shown} assigns {constant} {}, empty or with spaces",
                patchline_model::quote_capped(v, 80)
            ));
            continue;
        }
        let mut p = d.package.clone();
        p.version = v.clone();
        return Ok(p);
    }
    Err(why.unwrap_or_else(|| "names no file to look in".into()))
}

type Key = (patchline_model::Ecosystem, String, String);

fn key(p: &Package) -> Key {
    let (e, n, a) = p.key();
    if e.is_os() {
        return (e, n.to_string(), a.to_string());
    }
    // One language file can list a name twice, each version its own package (a
    // Cargo.lock's `syn` 1 and 2, both compiled in): the version is part of the key.
    (e, n.to_string(), format!("{a}\0{}", p.version))
}

/// Squashes per-layer analyses (bottom first) into the inventory.
pub fn squash(info: ImageInfo, layers: &[LayerDesc], analyses: &[LayerAnalysis]) -> Inventory {
    let mut view: BTreeMap<String, ViewEntry<'_>> = BTreeMap::new();
    let mut symlinks: BTreeMap<String, (usize, &str)> = BTreeMap::new();
    // (layer index, package set of the view after that layer), one per change.
    let mut states: Vec<(usize, HashMap<Key, Cow<'_, Package>>)> = Vec::new();
    for (i, a) in analyses.iter().enumerate() {
        let before_dbs: Vec<String> = view
            .iter()
            .filter(|(_, v)| shapes_packages(v.file))
            .map(|(k, _)| k.clone())
            .collect();
        for w in &a.whiteouts {
            remove_below(&mut view, w, true);
            remove_below(&mut symlinks, w, true);
        }
        for o in &a.opaque_dirs {
            remove_below(&mut view, o, false);
            remove_below(&mut symlinks, o, false);
        }
        for (s, t) in &a.symlinks {
            remove_below(&mut view, s, true);
            remove_below(&mut symlinks, s, false);
            symlinks.insert(s.clone(), (i, t.as_str()));
        }
        for (p, f) in &a.files {
            symlinks.remove(p);
            view.insert(p.clone(), ViewEntry { layer: i, file: f });
        }
        let after_dbs: Vec<String> = view
            .iter()
            .filter(|(_, v)| shapes_packages(v.file))
            .map(|(k, _)| k.clone())
            .collect();
        let touched = before_dbs != after_dbs || a.files.values().any(shapes_packages);
        if touched || states.is_empty() {
            let mut set: HashMap<Key, Cow<'_, Package>> = HashMap::new();
            for v in view.values() {
                if let FileResult::Packages {
                    packages,
                    deferred,
                    superseded_by,
                    ..
                } = v.file
                {
                    if superseded_by.iter().any(|s| has_packages(&view, s)) {
                        continue;
                    }
                    for p in packages {
                        set.entry(key(p)).or_insert(Cow::Borrowed(p));
                    }
                    for d in deferred {
                        if let Ok(p) = complete(d, &view) {
                            set.entry(key(&p)).or_insert(Cow::Owned(p));
                        }
                    }
                }
            }
            states.push((i, set));
        }
    }

    let mut inv = Inventory::new(info);
    // Distro from the final view, following symlinks inside the image.
    // Resolution as the kernel's in a chroot (`layer::resolve_link`): never out of the
    // image; a loop is a warning and the file is taken as absent.
    let loops: std::cell::RefCell<Vec<String>> = Default::default();
    let read = |path: &str| -> Option<Vec<u8>> {
        let p = match layer::follow_links(path, |p| symlinks.get(p).map(|(_, t)| *t)) {
            Ok(p) => p,
            Err(at) => {
                let mut l = loops.borrow_mut();
                if !l.iter().any(|x| x == path) {
                    l.push(path.to_string());
                    l.push(at);
                }
                return None;
            }
        };
        match view.get(&p)?.file {
            FileResult::Text(t) => Some(t.clone().into_bytes()),
            _ => None,
        }
    };
    let distro: Option<Distro> = osrelease::detect(&read);
    for pair in loops.into_inner().chunks(2) {
        inv.warnings.push(Warning {
            source: "layer".into(),
            location: shown_path(&pair[0]),
            message: format!(
                "symlink loop or chain of more than {} links (gave up at {}); the file is taken as absent",
                layer::MAX_SYMLINK_HOPS,
                patchline_model::quote_capped(&pair[1], 200),
            ),
        });
    }

    // A package database that is a symlink in the final view: the extractors read files
    // while the layer streams, before links are known, so its target was never read.
    // Its packages are missing, and the inventory says so rather than reporting none.
    let extractors = crate::extractors();
    for (path, (layer, target)) in &symlinks {
        // A file list behind a link costs ownership, not packages: no warning. Nor does a
        // language file (Debian's `x-1.2.jar -> x.jar`, a `node_modules/.bin` entry): the
        // file it names is read where it is. Only databases with a home (`locations`)
        // are missed when reached through a link.
        if !extractors
            .iter()
            .any(|e| !e.lists_owned_files() && !e.locations().is_empty() && e.wants(path))
        {
            continue;
        }
        // A link to another database path that was read (`var/lib/rpm/Packages` to
        // `usr/lib/sysimage/rpm/Packages`): its packages are there.
        let resolved = layer::follow_links(path, |p| symlinks.get(p).map(|(_, t)| *t));
        if resolved.is_ok_and(|r| view.get(&r).is_some_and(|v| is_db(v.file))) {
            continue;
        }
        let location = match layers.get(*layer) {
            Some(l) => format!("layer {layer} ({}) {}", l.diff_id.short(), shown_path(path)),
            None => shown_path(path),
        };
        inv.complete = false;
        inv.warnings.push(Warning {
            source: "layer".into(),
            location,
            message: format!(
                "the package database is a symlink (to {}), which is not followed while layers stream; packages from this database are missing",
                patchline_model::quote_capped(target, 200)
            ),
        });
    }

    // A database home reached through a directory symlink (`var/lib/dpkg ->
    // ../../opt/dpkg`): the file behind it has a database's name but was not read.
    let links = |p: &str| symlinks.get(p).map(|(_, t)| *t);
    let homes: Vec<String> = extractors.iter().flat_map(|e| e.locations()).collect();
    for (path, v) in &view {
        if !matches!(v.file, FileResult::Unread) {
            continue;
        }
        let parent = path.rsplit_once('/').map_or("", |(d, _)| d);
        let home = homes.iter().find(|h| match h.strip_suffix('/') {
            Some(dir) => layer::follow_links(dir, links).is_ok_and(|r| r == parent),
            None => layer::follow_links(h, links).is_ok_and(|r| &r == path),
        });
        if let Some(home) = home {
            inv.complete = false;
            inv.warnings.push(Warning {
                source: "layer".into(),
                location: shown_path(path),
                message: format!(
                    "{} leads here through a directory symlink, which is not followed while layers stream; packages from this database are missing",
                    home.trim_end_matches('/')
                ),
            });
        }
    }
    if analyses.iter().any(|a| a.unread_overflow) {
        inv.complete = false;
        inv.warnings.push(Warning {
            source: "layer".into(),
            location: String::new(),
            message: format!(
                "a layer holds more than {MAX_UNREAD} files named like package databases; a database behind a directory symlink may have gone unnoticed"
            ),
        });
    }

    for (path, v) in &view {
        let location = match layers.get(v.layer) {
            Some(l) => format!(
                "layer {} ({}) {}",
                v.layer,
                l.diff_id.short(),
                shown_path(path)
            ),
            None => shown_path(path),
        };
        match v.file {
            FileResult::Failed { extractor, error } => {
                inv.complete = false;
                inv.warnings.push(Warning {
                    source: format!("extractor:{extractor}"),
                    location,
                    message: format!("{error}; packages from this database are missing"),
                });
            }
            FileResult::Packages {
                extractor,
                warnings,
                deferred,
                ..
            } => {
                let unknown = deferred.iter().filter_map(|d| {
                    complete(d, &view).err().map(|why| {
                        format!(
                            "{}, which {why}; no package for {}",
                            d.context,
                            patchline_model::quote_capped(&d.package.name, 80)
                        )
                    })
                });
                for w in warnings.iter().cloned().chain(unknown) {
                    inv.warnings.push(Warning {
                        source: format!("extractor:{extractor}"),
                        location: location.clone(),
                        message: w,
                    });
                }
            }
            FileResult::Owned {
                extractor,
                warnings,
                ..
            } => {
                for w in warnings {
                    inv.warnings.push(Warning {
                        source: format!("extractor:{extractor}"),
                        location: location.clone(),
                        message: w.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    if let Some((_, last)) = states.last() {
        let owners = owners(&view, last, links);
        let mut packages: Vec<Package> = Vec::with_capacity(last.len());
        for (k, p) in last {
            let mut pkg = p.clone().into_owned();
            let mut introduced = None;
            let mut changed = None;
            for (layer_index, set) in states.iter().rev() {
                if !set.contains_key(k) {
                    break;
                }
                introduced = Some(*layer_index);
            }
            for (layer_index, set) in states.iter().rev() {
                match set.get(k) {
                    Some(q) if q.version == p.version => changed = Some(*layer_index),
                    _ => break,
                }
            }
            pkg.introduced = introduced.and_then(|i| layer_ref(layers, i));
            pkg.last_changed = changed.and_then(|i| layer_ref(layers, i));
            if !pkg.ecosystem.is_os() {
                pkg.managed_by = owners
                    .get(&through_links(&pkg.db_path, links))
                    .map(|o| o.to_string());
            }
            pkg.purl = purl::for_package(&pkg, distro.as_ref());
            packages.push(pkg);
        }
        packages.sort_by(|a, b| {
            (a.ecosystem, &a.name, &a.arch, &a.version, &a.db_path).cmp(&(
                b.ecosystem,
                &b.name,
                &b.arch,
                &b.version,
                &b.db_path,
            ))
        });
        inv.packages = packages;
    }
    inv.distro = distro;
    inv.checks = squash_checks(layers, analyses);
    inv
}

/// Whether `path` is `dir` or below it.
fn is_below(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The inspectors' per-layer findings, each with its layer, those a later layer deleted
/// marked [`CheckFinding::removed_in`] (still shipped), those a later layer found again
/// (same check, same path) dropped in favour of the later one.
fn squash_checks(layers: &[LayerDesc], analyses: &[LayerAnalysis]) -> Vec<CheckFinding> {
    let mut out = Vec::new();
    for (i, a) in analyses.iter().enumerate() {
        for f in &a.checks {
            let path = f.path.as_deref().unwrap_or("");
            let later = &analyses[i + 1..];
            // A secret still ships in every layer that holds it; a file mode is what
            // the last layer that wrote the file says.
            if f.kind() != Some(CheckKind::Secret)
                && later
                    .iter()
                    .any(|b| b.checks.iter().any(|g| g.id == f.id && g.path == f.path))
            {
                continue;
            }
            let removed = later.iter().enumerate().find_map(|(k, b)| {
                let gone = b.whiteouts.iter().any(|w| is_below(path, w))
                    || b.opaque_dirs.iter().any(|o| path != o && is_below(path, o))
                    || b.symlinks.keys().any(|l| path != l && is_below(path, l));
                gone.then_some(i + 1 + k)
            });
            let mut f = f.clone();
            f.layer = layer_ref(layers, i);
            f.removed_in = removed.and_then(|j| layer_ref(layers, j));
            out.push(f);
        }
    }
    out
}

/// `path` with its directories' symlinks in the final view followed (`lib/x` is
/// `usr/lib/x` after usrmerge), the file itself not: lists name a path as the package
/// shipped it, extractors as the layers hold it. Unchanged when the links loop.
fn through_links<'a>(path: &str, links: impl Fn(&str) -> Option<&'a str>) -> String {
    match path.rsplit_once('/') {
        Some((dir, file)) => match layer::follow_links(dir, links) {
            Ok(d) if d.is_empty() => file.to_string(),
            Ok(d) => format!("{d}/{file}"),
            Err(_) => path.to_string(),
        },
        None => path.to_string(),
    }
}

/// Which OS package owns each file language extractors read, from the file lists and
/// databases of the final view. A list counts only while its package is still in the
/// inventory (`last`): the package's files went with it.
fn owners<'v, 'a>(
    view: &'v BTreeMap<String, ViewEntry<'_>>,
    last: &HashMap<Key, Cow<'_, Package>>,
    links: impl Fn(&str) -> Option<&'a str> + Copy,
) -> HashMap<String, &'v str> {
    let installed: std::collections::HashSet<&str> = last
        .values()
        .filter(|p| p.ecosystem.is_os())
        .map(|p| p.name.as_str())
        .collect();
    let mut owners = HashMap::new();
    for v in view.values() {
        let (FileResult::Packages { owned, .. } | FileResult::Owned { owned, .. }) = v.file else {
            continue;
        };
        for (path, package) in owned {
            if installed.contains(package.as_str()) {
                owners
                    .entry(through_links(path, links))
                    .or_insert(package.as_str());
            }
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_model::Ecosystem;

    const EGG: &str = "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO";
    const VENV: &str = "opt/venv/lib/python3.11/site-packages/requests-2.28.1.dist-info/METADATA";
    const LIST: &str = "var/lib/dpkg/info/python3-requests.list";

    fn dpkg_status(names: &[&str]) -> FileResult {
        FileResult::Packages {
            extractor: "dpkg".into(),
            packages: names
                .iter()
                .map(|n| {
                    let mut p = Package::new(Ecosystem::Deb, *n, "1.0-1");
                    p.db_path = "var/lib/dpkg/status".into();
                    p
                })
                .collect(),
            warnings: vec![],
            owned: vec![],
            deferred: vec![],
            superseded_by: vec![],
        }
    }

    /// What a Python extractor reports for the file at `path`.
    fn pypi(path: &str) -> FileResult {
        let mut p = Package::new(Ecosystem::Pypi, "requests", "2.28.1");
        p.db_path = path.into();
        FileResult::Packages {
            extractor: "python".into(),
            packages: vec![p],
            warnings: vec![],
            owned: vec![],
            deferred: vec![],
            superseded_by: vec![],
        }
    }

    fn owned(path: &str, package: &str) -> Vec<(String, String)> {
        vec![(path.to_string(), package.to_string())]
    }

    fn managed(inv: &Inventory) -> Vec<(&str, Option<&str>)> {
        inv.packages
            .iter()
            .filter(|p| !p.ecosystem.is_os())
            .map(|p| (p.db_path.as_str(), p.managed_by.as_deref()))
            .collect()
    }

    fn base() -> LayerAnalysis {
        let mut a = LayerAnalysis::default();
        a.files.insert(
            "var/lib/dpkg/status".into(),
            dpkg_status(&["bash", "python3-requests"]),
        );
        a.files.insert(
            LIST.into(),
            FileResult::Owned {
                extractor: "dpkg-files".into(),
                owned: owned(EGG, "python3-requests"),
                warnings: vec![],
            },
        );
        a.files.insert(EGG.into(), pypi(EGG));
        a.files.insert(VENV.into(), pypi(VENV));
        a
    }

    #[test]
    fn files_of_os_packages_mark_their_language_packages() {
        let inv = squash(ImageInfo::default(), &[], &[base()]);
        assert!(
            inv.complete && inv.warnings.is_empty(),
            "{:?}",
            inv.warnings
        );
        assert_eq!(
            managed(&inv),
            [(VENV, None), (EGG, Some("python3-requests"))]
        );
    }

    /// `apt-get purge`: dpkg removes the list with the package. What remains of its
    /// files (here the egg-info, left or rewritten by someone else) is nobody's.
    #[test]
    fn a_removed_os_package_owns_nothing() {
        let mut purge = LayerAnalysis::default();
        purge
            .files
            .insert("var/lib/dpkg/status".into(), dpkg_status(&["bash"]));
        purge.whiteouts.push(LIST.into());
        let inv = squash(ImageInfo::default(), &[], &[base(), purge]);
        assert_eq!(managed(&inv), [(VENV, None), (EGG, None)]);
        // The list left behind while the status no longer has the package: the same.
        let mut gone = LayerAnalysis::default();
        gone.files
            .insert("var/lib/dpkg/status".into(), dpkg_status(&["bash"]));
        let inv = squash(ImageInfo::default(), &[], &[base(), gone]);
        assert_eq!(managed(&inv), [(VENV, None), (EGG, None)]);
    }

    /// apk and rpm databases carry their packages' files themselves; lists name paths as
    /// shipped (`lib/...`), extractors as the layers hold them (`usr/lib/...` after
    /// usrmerge).
    #[test]
    fn database_file_lists_and_directory_links() {
        let mut a = LayerAnalysis::default();
        let mut apk = Package::new(Ecosystem::Apk, "py3-requests", "2.28.1-r0");
        apk.db_path = "lib/apk/db/installed".into();
        a.files.insert(
            "lib/apk/db/installed".into(),
            FileResult::Packages {
                extractor: "apk".into(),
                packages: vec![apk],
                warnings: vec![],
                owned: owned(
                    "lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO",
                    "py3-requests",
                ),
                deferred: vec![],
                superseded_by: vec![],
            },
        );
        a.symlinks.insert("lib".into(), "usr/lib".into());
        a.files.insert(EGG.into(), pypi(EGG));
        let inv = squash(ImageInfo::default(), &[], &[a]);
        assert_eq!(managed(&inv), [(EGG, Some("py3-requests"))]);
    }

    /// A list is no database: a link in its place, or one that could not be read, costs
    /// the ownership it would tell and nothing else.
    #[test]
    fn file_lists_never_make_the_inventory_incomplete() {
        let mut a = base();
        a.files.remove(LIST);
        a.symlinks
            .insert(LIST.into(), "/opt/lists/python3-requests.list".into());
        a.files.insert(
            "var/lib/dpkg/info/broken.list".into(),
            FileResult::Owned {
                extractor: "dpkg-files".into(),
                owned: vec![],
                warnings: vec!["reading stopped at line 3: boom".into()],
            },
        );
        let before = squash(ImageInfo::default(), &[], &[base()]);
        let inv = squash(ImageInfo::default(), &[], &[a]);
        assert!(inv.complete, "{:?}", inv.warnings);
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        assert_eq!(inv.warnings[0].source, "extractor:dpkg-files");
        assert_eq!(inv.warnings[0].location, "var/lib/dpkg/info/broken.list");
        assert_eq!(managed(&inv), [(VENV, None), (EGG, None)]);
        // Nor do lists change the layer attribution of packages.
        let attribution = |i: &Inventory| {
            i.packages
                .iter()
                .map(|p| (p.name.clone(), p.introduced.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(attribution(&inv), attribution(&before));
    }

    #[test]
    fn owned_files_survive_the_layer_cache() {
        let a = base();
        let back: LayerAnalysis = serde_json::from_slice(&serde_json::to_vec(&a).unwrap()).unwrap();
        let inv = squash(ImageInfo::default(), &[], &[back]);
        assert_eq!(
            managed(&inv),
            [(VENV, None), (EGG, Some("python3-requests"))]
        );
        // An analysis cached before `owned` existed still reads.
        let old = r#"{"files":{"var/lib/dpkg/status":{"Packages":{"extractor":"dpkg","packages":[],"warnings":[]}}},"whiteouts":[],"opaque_dirs":[],"symlinks":{},"entries":1,"uncompressed_bytes":1}"#;
        let a: LayerAnalysis = serde_json::from_str(old).unwrap();
        assert!(matches!(
            &a.files["var/lib/dpkg/status"],
            FileResult::Packages { owned, .. } if owned.is_empty()
        ));
    }

    /// A source gemspec whose version is a constant of `lib/a/version.rb`: completed from
    /// the version file the squashed view holds after each layer.
    #[test]
    fn deferred_versions_follow_the_file_that_defines_them() {
        const SPEC: &str = "app/a.gemspec";
        const VERSION_RB: &str = "app/lib/a/version.rb";
        let defines = |v: &str| FileResult::Defines {
            extractor: "gemspec".into(),
            constants: vec![("VERSION".into(), v.into())],
        };
        let mut spec = LayerAnalysis::default();
        let mut p = Package::new(Ecosystem::Gem, "a", "");
        p.db_path = SPEC.into();
        spec.files.insert(
            SPEC.into(),
            FileResult::Packages {
                extractor: "gemspec".into(),
                packages: vec![],
                warnings: vec![],
                owned: vec![],
                superseded_by: vec![],
                deferred: vec![Deferred {
                    package: p,
                    files: vec!["app/lib/a/other.rb".into(), VERSION_RB.into()],
                    constant: "VERSION".into(),
                    context: "line 7: the version is the constant \"A::VERSION\"".into(),
                }],
            },
        );
        spec.files.insert(VERSION_RB.into(), defines("1.0"));
        let mut bump = LayerAnalysis::default();
        bump.files.insert(VERSION_RB.into(), defines("1.1"));
        let mut unrelated = LayerAnalysis::default();
        unrelated
            .files
            .insert("var/lib/dpkg/status".into(), dpkg_status(&["bash"]));
        let layers: Vec<LayerDesc> = (0..4)
            .map(|i| LayerDesc {
                index: i,
                diff_id: patchline_model::Digest::sha256_from_bytes(&[i as u8; 32]),
                digest: None,
                media_type: String::new(),
                size: None,
                created_by: None,
                locator: String::new(),
            })
            .collect();
        let inv = squash(
            ImageInfo::default(),
            &layers,
            &[spec.clone(), bump.clone(), unrelated.clone()],
        );
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        let gem = inv.packages.iter().find(|p| p.name == "a").unwrap();
        assert_eq!(gem.version, "1.1");
        assert_eq!(gem.db_path, SPEC);
        assert_eq!(gem.introduced.as_ref().map(|l| l.index), Some(1));
        assert_eq!(gem.last_changed.as_ref().map(|l| l.index), Some(1));
        assert_eq!(gem.purl, "pkg:gem/a@1.1");
        // The version file deleted: no package, and a warning saying why.
        let mut gone = LayerAnalysis::default();
        gone.whiteouts.push("app/lib".into());
        let inv = squash(
            ImageInfo::default(),
            &layers,
            &[spec, bump, unrelated, gone],
        );
        assert!(inv.packages.iter().all(|p| p.name != "a"));
        assert!(inv.complete);
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        assert!(inv.warnings[0].location.starts_with("layer 0 ("));
        assert!(inv.warnings[0].location.ends_with(SPEC));
        assert_eq!(
            inv.warnings[0].message,
            "line 7: the version is the constant \"A::VERSION\", which app/lib/a/other.rb \
             is not in the image; no package for \"a\""
        );
    }

    #[test]
    fn huge_database_path_is_capped_in_warning_locations() {
        let path = format!("var/lib/dpkg/status.d/{}", "p".repeat(1 << 20));
        let mut a = LayerAnalysis::default();
        a.files.insert(
            path,
            FileResult::Failed {
                extractor: "dpkg".into(),
                error: "bad".into(),
            },
        );
        let inv = squash(ImageInfo::default(), &[], &[a]);
        assert_eq!(inv.warnings.len(), 1);
        let loc = &inv.warnings[0].location;
        assert!(loc.len() < 300, "{loc:.400}");
        assert!(loc.starts_with("\"var/lib/dpkg/status.d/p"), "{loc:.400}");
        assert_eq!(shown_path("var/lib/dpkg/status"), "var/lib/dpkg/status");
    }
}
