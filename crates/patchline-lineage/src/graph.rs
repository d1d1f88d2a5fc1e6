//! The image hierarchy: which catalogued image each image is built on, reconciled from
//! three signals.
//!
//! 1. **Layers.** A is an ancestor of B when A's diff_id chain is a proper prefix of B's;
//!    the layer parent is the longest such prefix. Chain IDs turn "is a prefix" into one
//!    digest comparison, so a hash map from each image's top chain ID to the image finds,
//!    for every image, its longest catalogued prefix by probing its own chain IDs from the
//!    top down: linear in the total number of layers of the catalog. diff_ids (not blob
//!    digests) are used, so recompressed copies of an image keep their lineage.
//! 2. **Annotations** `org.opencontainers.image.base.name` / `.base.digest`.
//! 3. **Declarations**: the Containerfile's final `FROM` (`declared_base`) and the
//!    catalog's `parent` (`declared_parent`).
//!
//! Images with the same manifest digest catalogued under several references (tags) are one
//! node with aliases. The parent is the declared image when there is one (it is what the
//! next rebuild will use), else the annotated one, else the layer parent; where the
//! signals disagree an [`Issue`] says how. An image whose declared parent is not a prefix
//! of its layers was built on another (older) build of that parent: it is **stale**.
//!
//! The result is a forest: a declared cycle is cut (and reported), so every walk up or
//! down terminates.

use std::collections::HashMap;
use std::fmt;

use patchline_model::Digest;
use serde::Serialize;

use crate::entry::CatalogEntry;
use crate::name::ImageName;

pub type NodeId = usize;

/// Which signals support a parent link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Signals {
    /// The parent's layer chain is a prefix of the child's.
    pub layers: bool,
    /// The child's base annotations name the parent (by digest, or by name alone).
    pub annotation: bool,
    /// The child's Containerfile or catalog entry declares the parent.
    pub declared: bool,
}

/// The signal that decided a parent link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChosenBy {
    Declared,
    Annotation,
    Layers,
}

/// One image of the graph (several references when aliases).
#[derive(Clone, Debug)]
pub struct Node {
    pub id: NodeId,
    /// The first entry catalogued with this digest; its reference names the node.
    pub entry: CatalogEntry,
    /// Other references with the same manifest digest.
    pub aliases: Vec<String>,
    pub parent: Option<NodeId>,
    pub chosen_by: Option<ChosenBy>,
    pub signals: Signals,
    /// Built on another build of its declared parent than the catalogued one.
    pub stale: bool,
    /// What the layers alone say.
    pub layer_parent: Option<NodeId>,
    /// A declared or annotated parent that is not catalogued (`docker.io/library/debian:12`).
    pub external_parent: Option<String>,
    pub children: Vec<NodeId>,
    /// Distance from its root.
    pub depth: usize,
}

impl Node {
    /// The reference the node is named by.
    pub fn reference(&self) -> &str {
        &self.entry.reference
    }
    /// The primary reference, then the aliases.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.entry.reference.as_str())
            .chain(self.aliases.iter().map(String::as_str))
    }
    pub fn chain(&self) -> &[Digest] {
        &self.entry.chain_ids
    }
}

/// A parent link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub parent: NodeId,
    pub child: NodeId,
    pub signals: Signals,
    pub stale: bool,
}

/// A disagreement between signals, or another fact about the hierarchy a person should
/// look at. Images are named by their catalogued reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Issue {
    /// The declared parent's layers are not a prefix of the image's: it was built on an
    /// older build of the parent (the parent tag moved on) and must be rebuilt.
    Stale {
        image: String,
        parent: String,
        /// How the image names its parent (`FROM` text, catalog parent or annotation).
        declared: String,
        /// The parent's catalogued digest now.
        #[serde(skip_serializing_if = "Option::is_none")]
        parent_digest: Option<Digest>,
        /// The parent digest the image was built on, when known (pin, annotation).
        #[serde(skip_serializing_if = "Option::is_none")]
        built_on: Option<Digest>,
        /// Bottom layers the image shares with the current parent.
        shared_layers: usize,
        parent_layers: usize,
    },
    /// The base annotations name another image than the one chosen as parent.
    AnnotationConflict {
        image: String,
        annotation: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        annotated_image: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
    },
    /// The Containerfile's `FROM` and the catalog's declared parent name different images
    /// (the Containerfile wins).
    DeclarationConflict {
        image: String,
        containerfile: String,
        catalog: String,
    },
    /// The parent was chosen from a declaration or annotation, but the layers say
    /// something else (a deeper catalogued prefix, an uncatalogued declared base).
    LayersDisagree {
        image: String,
        declared: String,
        layer_parent: String,
    },
    /// Several catalogued images (different digests) have exactly the layer chain this
    /// image extends, and nothing else tells them apart.
    AmbiguousLayers {
        image: String,
        chosen: String,
        candidates: Vec<String>,
    },
    /// References with the same digest but different declared tier or owner.
    AliasMismatch {
        image: String,
        alias: String,
        what: String,
    },
    /// Declared parents that loop; the link of the first image listed was cut.
    Cycle { images: Vec<String> },
    /// No layers known: the image's place comes from declarations alone.
    Unresolved { image: String },
}

impl Issue {
    /// The image the issue is about (the first of a cycle).
    pub fn image(&self) -> &str {
        match self {
            Issue::Stale { image, .. }
            | Issue::AnnotationConflict { image, .. }
            | Issue::DeclarationConflict { image, .. }
            | Issue::LayersDisagree { image, .. }
            | Issue::AmbiguousLayers { image, .. }
            | Issue::AliasMismatch { image, .. }
            | Issue::Unresolved { image } => image,
            Issue::Cycle { images } => images.first().map(String::as_str).unwrap_or(""),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Issue::Stale { .. } => "stale",
            Issue::AnnotationConflict { .. } => "annotation-conflict",
            Issue::DeclarationConflict { .. } => "declaration-conflict",
            Issue::LayersDisagree { .. } => "layers-disagree",
            Issue::AmbiguousLayers { .. } => "ambiguous-layers",
            Issue::AliasMismatch { .. } => "alias-mismatch",
            Issue::Cycle { .. } => "cycle",
            Issue::Unresolved { .. } => "unresolved",
        }
    }
}

fn short(d: &Digest) -> String {
    format!("{}:{}", d.algorithm().as_str(), d.short())
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Issue::Stale {
                image,
                parent,
                declared,
                parent_digest,
                built_on,
                shared_layers,
                parent_layers,
            } => {
                write!(f, "{image} is stale: it declares {declared} but was not built on the catalogued {parent}")?;
                if let Some(d) = parent_digest {
                    write!(f, " ({})", short(d))?;
                }
                if let Some(b) = built_on {
                    write!(f, "; built on {}", short(b))?;
                }
                write!(f, "; shares {shared_layers} of the parent's {parent_layers} layers: rebuild it")
            }
            Issue::AnnotationConflict {
                image,
                annotation,
                annotated_image,
                parent,
            } => {
                write!(f, "{image}: base annotation says {annotation}")?;
                if let Some(a) = annotated_image {
                    write!(f, " (catalogued as {a})")?;
                }
                match parent {
                    Some(p) => write!(f, " but its parent is {p}"),
                    None => write!(f, " but its layers do not descend from it"),
                }
            }
            Issue::DeclarationConflict {
                image,
                containerfile,
                catalog,
            } => write!(
                f,
                "{image}: Containerfile builds FROM {containerfile} but the catalog declares parent {catalog}"
            ),
            Issue::LayersDisagree {
                image,
                declared,
                layer_parent,
            } => write!(
                f,
                "{image}: declared base {declared}, but its layers extend {layer_parent}"
            ),
            Issue::AmbiguousLayers {
                image,
                chosen,
                candidates,
            } => write!(
                f,
                "{image}: layers extend several images with identical layers ({}); chose {chosen}",
                candidates.join(", ")
            ),
            Issue::AliasMismatch { image, alias, what } => {
                write!(f, "{image} and {alias} are the same image but declare different {what}")
            }
            Issue::Cycle { images } => write!(
                f,
                "cycle in declared parents: {}; the link of {} was cut",
                images.join(" -> "),
                images.first().map(String::as_str).unwrap_or("")
            ),
            Issue::Unresolved { image } => write!(
                f,
                "{image}: not resolved (no layers known); placed from declarations only"
            ),
        }
    }
}

/// What the outdated check needs for one image: the tag its parent is pulled by, and
/// the digest it was built on (compare with `RegistryStore::head_manifest(tag)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParentPin {
    pub image: String,
    /// The catalogued parent, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The parent as a tag reference (`registry.example/base:1`), normalised.
    pub parent_tag: String,
    /// The parent digest the image was built on, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_on: Option<Digest>,
}

/// The hierarchy of a catalog.
#[derive(Clone, Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    roots: Vec<NodeId>,
    topo: Vec<NodeId>,
    issues: Vec<Issue>,
    by_reference: HashMap<String, NodeId>,
    by_name: HashMap<String, NodeId>,
    by_digest: HashMap<Digest, NodeId>,
    /// What each image declares and annotates, resolved once (during `build` only).
    targets: Vec<Targets>,
}

#[derive(Clone, Debug, Default)]
struct Targets {
    /// Containerfile `FROM`.
    containerfile: Option<Target>,
    /// Catalog `parent`.
    catalog: Option<Target>,
    annotation: Option<Target>,
}

/// How an image names another one, resolved against the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// `FROM scratch`.
    Scratch,
    /// A catalogued image; `pinned` is the digest written with it, if any.
    Node { id: NodeId, pinned: Option<Digest> },
    /// Not catalogued (normalised name when it parses).
    External(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Yes,
    No,
    Unknown,
}

struct Decision {
    parent: Option<NodeId>,
    chosen_by: Option<ChosenBy>,
    stale: bool,
    external: Option<String>,
    issues: Vec<Issue>,
}

impl Graph {
    /// Builds the hierarchy of `entries` (typically `Catalog::list()`). Never fails:
    /// what cannot be reconciled is reported in [`Graph::issues`].
    pub fn build(entries: Vec<CatalogEntry>) -> Graph {
        let mut g = Graph {
            nodes: Vec::with_capacity(entries.len()),
            roots: Vec::new(),
            topo: Vec::new(),
            issues: Vec::new(),
            by_reference: HashMap::with_capacity(entries.len()),
            by_name: HashMap::with_capacity(entries.len()),
            by_digest: HashMap::with_capacity(entries.len()),
            targets: Vec::new(),
        };
        g.add_nodes(entries);
        g.index_names();
        g.targets = (0..g.nodes.len()).map(|b| g.resolve_targets(b)).collect();
        let layer = g.layer_parents();
        let decisions: Vec<Decision> = (0..g.nodes.len()).map(|b| g.decide(b, &layer[b])).collect();
        for (b, d) in decisions.into_iter().enumerate() {
            let n = &mut g.nodes[b];
            n.parent = d.parent;
            n.chosen_by = d.chosen_by;
            n.stale = d.stale;
            n.external_parent = d.external;
            n.layer_parent = layer[b].0;
            g.issues.extend(d.issues);
        }
        g.cut_cycles();
        for b in 0..g.nodes.len() {
            if let Some(p) = g.nodes[b].parent {
                let s = g.signals_for(p, b);
                g.nodes[b].signals = s;
            }
        }
        g.link();
        g.targets = Vec::new();
        g
    }

    /// Groups entries by manifest digest (aliases) and computes missing chain IDs.
    fn add_nodes(&mut self, entries: Vec<CatalogEntry>) {
        for mut e in entries {
            if self.by_reference.contains_key(&e.reference) {
                continue;
            }
            e.ensure_chain_ids();
            if let Some(&n) = e.digest.as_ref().and_then(|d| self.by_digest.get(d)) {
                let node = &mut self.nodes[n];
                let primary = &mut node.entry;
                if primary.tier != e.tier {
                    self.issues.push(Issue::AliasMismatch {
                        image: primary.reference.clone(),
                        alias: e.reference.clone(),
                        what: format!("tiers ({} / {})", primary.tier, e.tier),
                    });
                }
                match (&primary.owner, &e.owner) {
                    (Some(a), Some(b)) if a != b => self.issues.push(Issue::AliasMismatch {
                        image: primary.reference.clone(),
                        alias: e.reference.clone(),
                        what: format!("owners ({a} / {b})"),
                    }),
                    (None, Some(_)) => primary.owner = e.owner.clone(),
                    _ => {}
                }
                // What one alias declares, the image declares.
                if primary.declared_base.is_none() {
                    primary.declared_base = e.declared_base.take();
                }
                if primary.declared_parent.is_none() {
                    primary.declared_parent = e.declared_parent.take();
                }
                if primary.containerfile.is_none() {
                    primary.containerfile = e.containerfile.take();
                }
                self.by_reference.insert(e.reference.clone(), n);
                node.aliases.push(e.reference);
                continue;
            }
            let id = self.nodes.len();
            self.by_reference.insert(e.reference.clone(), id);
            if let Some(d) = &e.digest {
                self.by_digest.insert(d.clone(), id);
            }
            self.nodes.push(Node {
                id,
                entry: e,
                aliases: Vec::new(),
                parent: None,
                chosen_by: None,
                signals: Signals::default(),
                stale: false,
                layer_parent: None,
                external_parent: None,
                children: Vec::new(),
                depth: 0,
            });
        }
    }

    /// Normalised `repository:tag` of every reference → node (first wins).
    fn index_names(&mut self) {
        for n in &self.nodes {
            for r in n.references() {
                if let Some(t) = ImageName::parse(r).and_then(|x| x.tagged()) {
                    self.by_name.entry(t).or_insert(n.id);
                }
            }
        }
    }

    /// For every node: its layer parent (longest catalogued proper prefix) and, when
    /// several nodes share that exact chain, all of them.
    fn layer_parents(&self) -> Vec<(Option<NodeId>, Vec<NodeId>)> {
        // Top chain ID → the first node with it; further nodes with the same chain (layer
        // twins: same layers, other manifests) are rare and kept aside.
        let mut by_top: HashMap<&Digest, NodeId> = HashMap::with_capacity(self.nodes.len());
        let mut twins: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
        for n in &self.nodes {
            if let Some(top) = n.entry.top_chain_id() {
                match by_top.entry(top) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(n.id);
                    }
                    std::collections::hash_map::Entry::Occupied(o) => {
                        twins
                            .entry(*o.get())
                            .or_insert_with(|| vec![*o.get()])
                            .push(n.id);
                    }
                }
            }
        }
        self.nodes
            .iter()
            .map(|n| {
                let chain = n.chain();
                for k in (0..chain.len().saturating_sub(1)).rev() {
                    if let Some(&first) = by_top.get(&chain[k]) {
                        return match twins.get(&first) {
                            None => (Some(first), Vec::new()),
                            Some(all) => (Some(self.prefer(n.id, all)), all.clone()),
                        };
                    }
                }
                (None, Vec::new())
            })
            .collect()
    }

    /// Among layer-identical candidates, the one the image declares or annotates.
    fn prefer(&self, b: NodeId, candidates: &[NodeId]) -> NodeId {
        if candidates.len() > 1 {
            for t in [self.declared_target(b), self.annotation_target(b)]
                .into_iter()
                .flatten()
            {
                if let Target::Node { id, .. } = t {
                    if candidates.contains(id) {
                        return *id;
                    }
                }
            }
        }
        candidates[0]
    }

    fn resolve(&self, b: NodeId, text: &str) -> Target {
        if let Some(&id) = self.by_reference.get(text) {
            if id != b {
                return Target::Node { id, pinned: None };
            }
        }
        let Some(name) = ImageName::parse(text) else {
            return Target::External(text.to_string());
        };
        if name.is_scratch() {
            return Target::Scratch;
        }
        if let Some(&id) = name.digest.as_ref().and_then(|d| self.by_digest.get(d)) {
            if id != b {
                return Target::Node { id, pinned: None };
            }
        }
        if let Some(&id) = name.tagged().and_then(|t| self.by_name.get(&t)) {
            // An image rebuilt FROM an older build of its own tag names itself: that is an
            // external base, never a self-loop.
            if id != b {
                return Target::Node {
                    id,
                    pinned: name.digest.clone(),
                };
            }
        }
        Target::External(name.to_string())
    }

    fn resolve_targets(&self, b: NodeId) -> Targets {
        let e = &self.nodes[b].entry;
        Targets {
            containerfile: e.declared_base.as_deref().map(|t| self.resolve(b, t)),
            catalog: e.declared_parent.as_deref().map(|t| self.resolve(b, t)),
            annotation: self.resolve_annotation(b),
        }
    }

    /// The Containerfile's base, else the catalog's declared parent.
    fn declared_target(&self, b: NodeId) -> Option<&Target> {
        let t = &self.targets[b];
        t.containerfile.as_ref().or(t.catalog.as_ref())
    }

    fn annotation_target(&self, b: NodeId) -> Option<&Target> {
        self.targets[b].annotation.as_ref()
    }

    /// The base annotations: by digest, else by name.
    fn resolve_annotation(&self, b: NodeId) -> Option<Target> {
        let e = &self.nodes[b].entry;
        if let Some(&id) = e.base_digest.as_ref().and_then(|d| self.by_digest.get(d)) {
            if id != b {
                return Some(Target::Node { id, pinned: None });
            }
        }
        let name = e.base_name.as_deref()?;
        Some(match self.resolve(b, name) {
            Target::Node { id, pinned } => Target::Node {
                id,
                pinned: pinned.or_else(|| e.base_digest.clone()),
            },
            other => other,
        })
    }

    /// Is `p`'s layer chain a prefix (proper or equal) of `b`'s?
    fn prefix(&self, p: NodeId, b: NodeId) -> Prefix {
        let (pc, bc) = (self.nodes[p].chain(), self.nodes[b].chain());
        if pc.is_empty() || bc.is_empty() {
            Prefix::Unknown
        } else if pc.len() <= bc.len() && pc[pc.len() - 1] == bc[pc.len() - 1] {
            Prefix::Yes
        } else {
            Prefix::No
        }
    }

    /// Number of bottom layers two images share (chain IDs make this a binary search).
    pub fn shared_layers(&self, a: NodeId, b: NodeId) -> usize {
        let (ac, bc) = (self.nodes[a].chain(), self.nodes[b].chain());
        let (mut lo, mut hi) = (0, ac.len().min(bc.len()));
        while lo < hi {
            let mid = (lo + hi) / 2;
            if ac[mid] == bc[mid] {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn decide(&self, b: NodeId, layer: &(Option<NodeId>, Vec<NodeId>)) -> Decision {
        let node = &self.nodes[b];
        let e = &node.entry;
        let mut d = Decision {
            parent: None,
            chosen_by: None,
            stale: false,
            external: None,
            issues: Vec::new(),
        };
        if !e.is_resolved() {
            d.issues.push(Issue::Unresolved {
                image: e.reference.clone(),
            });
        }
        let (l, twins) = (layer.0, &layer.1);
        let name_of = |id: NodeId| self.nodes[id].entry.reference.clone();

        // Containerfile and catalog declarations must agree.
        let targets = &self.targets[b];
        let cf = e
            .declared_base
            .as_deref()
            .zip(targets.containerfile.clone());
        let yp = e.declared_parent.as_deref().zip(targets.catalog.clone());
        if let (Some((ct, c)), Some((yt, y))) = (&cf, &yp) {
            let same = match (c, y) {
                (Target::Node { id: a, .. }, Target::Node { id: x, .. }) => a == x,
                (a, x) => a == x,
            };
            if !same {
                d.issues.push(Issue::DeclarationConflict {
                    image: e.reference.clone(),
                    containerfile: ct.to_string(),
                    catalog: yt.to_string(),
                });
            }
        }
        let declared = cf.or(yp);
        let annotation = self.annotation_target(b).cloned();

        match declared {
            Some((text, Target::Node { id: p, pinned })) => {
                d.parent = Some(p);
                d.chosen_by = Some(ChosenBy::Declared);
                let state = self.prefix(p, b);
                let parent_digest = self.nodes[p].entry.digest.clone();
                let pinned_old = matches!((&pinned, &parent_digest), (Some(x), Some(y)) if x != y);
                if state == Prefix::No || (state == Prefix::Unknown && pinned_old) {
                    d.stale = true;
                    let built_on = pinned
                        .clone()
                        .or_else(|| e.base_digest.clone())
                        .or_else(|| {
                            // An older build of the parent, catalogued under its own reference.
                            l.filter(|&x| self.same_repository(x, p))
                                .and_then(|x| self.nodes[x].entry.digest.clone())
                        });
                    d.issues.push(Issue::Stale {
                        image: e.reference.clone(),
                        parent: name_of(p),
                        declared: text.to_string(),
                        parent_digest,
                        built_on,
                        shared_layers: self.shared_layers(p, b),
                        parent_layers: self.nodes[p].chain().len(),
                    });
                } else if let Some(x) = l {
                    if x != p && self.nodes[x].chain().len() > self.nodes[p].chain().len() {
                        d.issues.push(Issue::LayersDisagree {
                            image: e.reference.clone(),
                            declared: text.to_string(),
                            layer_parent: name_of(x),
                        });
                    }
                }
                // The annotation should name the same image (or, for a stale image, an
                // older build of it).
                if let Some(Target::Node { id: a, .. }) = &annotation {
                    let agrees = *a == p || (d.stale && self.same_repository(*a, p));
                    if !agrees {
                        d.issues
                            .push(self.annotation_conflict(b, Some(*a), Some(p)));
                    }
                }
            }
            Some((text, Target::Scratch)) => {
                if let Some(x) = l {
                    d.parent = Some(x);
                    d.chosen_by = Some(ChosenBy::Layers);
                    d.issues.push(Issue::LayersDisagree {
                        image: e.reference.clone(),
                        declared: text.to_string(),
                        layer_parent: name_of(x),
                    });
                }
            }
            Some((text, Target::External(name))) => {
                d.external = Some(name);
                self.undeclared(b, l, twins, &annotation, &mut d);
                if let (Some(p), Some(ChosenBy::Layers)) = (d.parent, d.chosen_by) {
                    d.issues.push(Issue::LayersDisagree {
                        image: e.reference.clone(),
                        declared: text.to_string(),
                        layer_parent: name_of(p),
                    });
                }
            }
            None => self.undeclared(b, l, twins, &annotation, &mut d),
        }
        d
    }

    /// Parent from annotations and layers, for an image without a catalogued declared parent.
    fn undeclared(
        &self,
        b: NodeId,
        l: Option<NodeId>,
        twins: &[NodeId],
        annotation: &Option<Target>,
        d: &mut Decision,
    ) {
        let e = &self.nodes[b].entry;
        match annotation {
            Some(Target::Node { id: a, pinned }) => {
                let a = *a;
                let by_digest = e
                    .base_digest
                    .as_ref()
                    .is_some_and(|x| self.nodes[a].entry.digest.as_ref() == Some(x));
                match self.prefix(a, b) {
                    Prefix::Yes | Prefix::Unknown => {
                        d.parent = Some(a);
                        d.chosen_by = Some(ChosenBy::Annotation);
                        if let Some(x) = l {
                            if x != a && self.nodes[x].chain().len() > self.nodes[a].chain().len() {
                                d.issues.push(Issue::LayersDisagree {
                                    image: e.reference.clone(),
                                    declared: self.annotation_text(b),
                                    layer_parent: self.nodes[x].entry.reference.clone(),
                                });
                            }
                        }
                    }
                    Prefix::No if !by_digest => {
                        // Named by tag only, and the tag now points at another build.
                        d.parent = Some(a);
                        d.chosen_by = Some(ChosenBy::Annotation);
                        d.stale = true;
                        d.issues.push(Issue::Stale {
                            image: e.reference.clone(),
                            parent: self.nodes[a].entry.reference.clone(),
                            declared: self.annotation_text(b),
                            parent_digest: self.nodes[a].entry.digest.clone(),
                            built_on: pinned.clone(),
                            shared_layers: self.shared_layers(a, b),
                            parent_layers: self.nodes[a].chain().len(),
                        });
                    }
                    Prefix::No => {
                        // The annotated digest is catalogued but the layers do not descend
                        // from it: the layers win.
                        d.issues.push(self.annotation_conflict(b, Some(a), l));
                        d.parent = l;
                        d.chosen_by = l.map(|_| ChosenBy::Layers);
                    }
                }
            }
            Some(Target::External(name)) => {
                if d.external.is_none() {
                    d.external = Some(name.clone());
                }
                d.parent = l;
                d.chosen_by = l.map(|_| ChosenBy::Layers);
            }
            Some(Target::Scratch) | None => {
                if d.external.is_none() && e.base_name.is_none() {
                    if let Some(x) = &e.base_digest {
                        d.external = Some(x.to_string());
                    }
                }
                d.parent = l;
                d.chosen_by = l.map(|_| ChosenBy::Layers);
            }
        }
        if let (Some(p), Some(ChosenBy::Layers)) = (d.parent, d.chosen_by) {
            if twins.len() > 1 {
                d.issues.push(Issue::AmbiguousLayers {
                    image: e.reference.clone(),
                    chosen: self.nodes[p].entry.reference.clone(),
                    candidates: twins
                        .iter()
                        .map(|&t| self.nodes[t].entry.reference.clone())
                        .collect(),
                });
            }
        }
    }

    fn annotation_text(&self, b: NodeId) -> String {
        let e = &self.nodes[b].entry;
        match (&e.base_name, &e.base_digest) {
            (Some(n), Some(d)) => format!("{n}@{d}"),
            (Some(n), None) => n.clone(),
            (None, Some(d)) => d.to_string(),
            (None, None) => String::new(),
        }
    }

    fn annotation_conflict(
        &self,
        b: NodeId,
        annotated: Option<NodeId>,
        parent: Option<NodeId>,
    ) -> Issue {
        Issue::AnnotationConflict {
            image: self.nodes[b].entry.reference.clone(),
            annotation: self.annotation_text(b),
            annotated_image: annotated.map(|a| self.nodes[a].entry.reference.clone()),
            parent: parent.map(|p| self.nodes[p].entry.reference.clone()),
        }
    }

    /// Do two nodes have a reference in the same repository (two builds of one image)?
    fn same_repository(&self, a: NodeId, b: NodeId) -> bool {
        let repos = |n: NodeId| -> Vec<String> {
            self.nodes[n]
                .references()
                .filter_map(ImageName::parse)
                .map(|x| x.repository)
                .collect()
        };
        let ra = repos(a);
        repos(b).iter().any(|r| ra.contains(r))
    }

    fn signals_for(&self, p: NodeId, b: NodeId) -> Signals {
        let e = &self.nodes[b].entry;
        let pe = &self.nodes[p].entry;
        let annotation = match (&e.base_digest, &e.base_name) {
            (Some(d), _) if pe.digest.as_ref() == Some(d) => true,
            (None, Some(_)) => {
                matches!(self.annotation_target(b), Some(Target::Node { id, .. }) if *id == p)
            }
            _ => false,
        };
        Signals {
            layers: self.prefix(p, b) == Prefix::Yes,
            annotation,
            declared: matches!(self.declared_target(b), Some(Target::Node { id, .. }) if *id == p),
        }
    }

    /// Cuts declared cycles: every image has at most one parent, so a walk that meets its
    /// own path has found a cycle; its first image loses its parent link.
    fn cut_cycles(&mut self) {
        let n = self.nodes.len();
        let mut state = vec![0u8; n];
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            let mut path = Vec::new();
            let mut cur = Some(start);
            while let Some(c) = cur {
                match state[c] {
                    0 => {
                        state[c] = 1;
                        path.push(c);
                        cur = self.nodes[c].parent;
                    }
                    1 => {
                        let pos = path.iter().position(|&x| x == c).unwrap_or(0);
                        let cycle: Vec<NodeId> = path[pos..].to_vec();
                        let mut images: Vec<String> = cycle
                            .iter()
                            .map(|&x| self.nodes[x].entry.reference.clone())
                            .collect();
                        images.push(self.nodes[c].entry.reference.clone());
                        let cut = cycle[0];
                        self.nodes[cut].parent = None;
                        self.nodes[cut].chosen_by = None;
                        self.nodes[cut].stale = false;
                        self.issues.push(Issue::Cycle { images });
                        break;
                    }
                    _ => break,
                }
            }
            for x in path {
                state[x] = 2;
            }
        }
    }

    /// Children lists, roots, depths and a topological order (parents first).
    fn link(&mut self) {
        for b in 0..self.nodes.len() {
            if let Some(p) = self.nodes[b].parent {
                self.nodes[p].children.push(b);
            } else {
                self.roots.push(b);
            }
        }
        let nodes = &self.nodes;
        let by_ref =
            |a: &NodeId, b: &NodeId| nodes[*a].entry.reference.cmp(&nodes[*b].entry.reference);
        self.roots.sort_by(by_ref);
        let mut sorted_children: Vec<Vec<NodeId>> = self
            .nodes
            .iter()
            .map(|n| {
                let mut c = n.children.clone();
                c.sort_by(by_ref);
                c
            })
            .collect();
        for (n, c) in self.nodes.iter_mut().zip(sorted_children.iter_mut()) {
            n.children = std::mem::take(c);
        }
        self.topo = Vec::with_capacity(self.nodes.len());
        self.topo.extend_from_slice(&self.roots);
        let mut i = 0;
        while i < self.topo.len() {
            let p = self.topo[i];
            let depth = self.nodes[p].depth + 1;
            for k in 0..self.nodes[p].children.len() {
                let c = self.nodes[p].children[k];
                self.nodes[c].depth = depth;
                self.topo.push(c);
            }
            i += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }
    /// Images without a catalogued parent, sorted by reference.
    pub fn roots(&self) -> &[NodeId] {
        &self.roots
    }
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.nodes[id].parent
    }
    /// Sorted by reference.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        &self.nodes[id].children
    }
    /// Every image after all of its ancestors (breadth-first from the roots).
    pub fn topological_order(&self) -> &[NodeId] {
        &self.topo
    }
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }
    /// Every parent link, in topological order of the children.
    pub fn edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.topo.iter().filter_map(|&c| {
            let n = &self.nodes[c];
            n.parent.map(|p| Edge {
                parent: p,
                child: c,
                signals: n.signals,
                stale: n.stale,
            })
        })
    }

    /// Finds an image by a catalogued reference or alias, else by normalised name
    /// (`python:3.11` finds `docker.io/library/python:3.11`), else by manifest digest
    /// (`…@sha256:…` or a bare digest).
    pub fn find(&self, reference: &str) -> Option<NodeId> {
        if let Some(&id) = self.by_reference.get(reference) {
            return Some(id);
        }
        if let Ok(d) = reference.parse::<Digest>() {
            return self.by_digest.get(&d).copied();
        }
        let name = ImageName::parse(reference)?;
        if let Some(&id) = name.digest.as_ref().and_then(|d| self.by_digest.get(d)) {
            return Some(id);
        }
        name.tagged().and_then(|t| self.by_name.get(&t)).copied()
    }

    /// Finds an image by manifest digest.
    pub fn find_digest(&self, digest: &Digest) -> Option<NodeId> {
        self.by_digest.get(digest).copied()
    }

    /// Parent, grandparent, ... (nearest first).
    pub fn ancestors(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut cur = self.nodes[id].parent;
        while let Some(p) = cur {
            out.push(p);
            cur = self.nodes[p].parent;
        }
        out
    }

    /// Every image below `id` (not `id` itself), each after its parent.
    pub fn descendants(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.nodes[id].children.iter().rev().copied().collect();
        while let Some(c) = stack.pop() {
            out.push(c);
            stack.extend(self.nodes[c].children.iter().rev());
        }
        out
    }

    /// Does `node` carry layer `k` exactly as `other` has it (same first k+1 layers)?
    pub fn same_layer(&self, other: NodeId, node: NodeId, k: usize) -> bool {
        let (a, b) = (self.nodes[other].chain(), self.nodes[node].chain());
        a.len() > k && b.len() > k && a[k] == b[k]
    }

    /// Is `ancestor`'s whole layer chain a prefix of `node`'s?
    pub fn is_layer_prefix(&self, ancestor: NodeId, node: NodeId) -> bool {
        self.prefix(ancestor, node) == Prefix::Yes
    }

    /// For `patchline outdated`: every image with a parent that can be looked up by tag,
    /// the tag, and the digest the image was built on. The image is outdated when the
    /// registry's digest for the tag differs from `built_on`.
    pub fn parent_pins(&self) -> Vec<ParentPin> {
        let mut out = Vec::new();
        for &b in &self.topo {
            let n = &self.nodes[b];
            let e = &n.entry;
            let named = e
                .declared_base
                .as_deref()
                .or(e.declared_parent.as_deref())
                .or(e.base_name.as_deref())
                .and_then(ImageName::parse)
                .filter(|x| !x.is_scratch());
            let parent_ref = n.parent.map(|p| self.nodes[p].entry.reference.clone());
            let tag = named.as_ref().and_then(|x| x.tagged()).or_else(|| {
                n.parent
                    .and_then(|p| ImageName::parse(&self.nodes[p].entry.reference))
                    .and_then(|x| x.tagged())
            });
            let Some(tag) = tag else { continue };
            // Local transports have no registry to ask.
            if ["oci:", "oci-archive:", "docker-archive:", "dir:"]
                .iter()
                .any(|t| tag.starts_with(t))
            {
                continue;
            }
            let built_on = named
                .as_ref()
                .and_then(|x| x.digest.clone())
                .or_else(|| e.base_digest.clone())
                .or_else(|| {
                    n.parent
                        .filter(|&p| n.signals.layers && !n.stale && self.is_layer_prefix(p, b))
                        .and_then(|p| self.nodes[p].entry.digest.clone())
                });
            out.push(ParentPin {
                image: e.reference.clone(),
                parent: parent_ref,
                parent_tag: tag,
                built_on,
            });
        }
        out
    }

    /// The stored document (inventory, scan) of a node, looked up under any of its
    /// references.
    pub fn lookup<'a, T>(&self, id: NodeId, docs: &'a HashMap<String, T>) -> Option<&'a T> {
        self.nodes[id].references().find_map(|r| docs.get(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Tier;
    use crate::testutil::{dg, img};
    use patchline_model::{ImageInfo, LayerInfo};

    fn refs(g: &Graph, ids: &[NodeId]) -> Vec<String> {
        ids.iter()
            .map(|&i| g.node(i).reference().to_string())
            .collect()
    }
    fn parent_of(g: &Graph, r: &str) -> Option<String> {
        let n = g.find(r).unwrap_or_else(|| panic!("{r} not found"));
        g.parent(n).map(|p| g.node(p).reference().to_string())
    }

    #[test]
    fn layer_trie_finds_longest_prefix_with_fan_out() {
        let g = Graph::build(vec![
            img("r.example/app1:1", Tier::Application, &["d0", "e1", "a1"]),
            img("r.example/debian:12", Tier::Base, &["d0"]),
            img("r.example/ent:1", Tier::Enterprise, &["d0", "e1"]),
            img(
                "r.example/app2:1",
                Tier::Application,
                &["d0", "e1", "a2", "a3"],
            ),
            // Its direct prefix (d0 e1 m) is not catalogued: the parent is the longest that is.
            img(
                "r.example/app3:1",
                Tier::Application,
                &["d0", "e1", "m", "a4"],
            ),
            img("r.example/builder:1", Tier::Builder, &["d0", "b1"]),
            img("r.example/ent2:1", Tier::Enterprise, &["d0", "e2"]),
            img("r.example/app4:1", Tier::Application, &["d0", "e2", "a5"]),
            img("vendor.example/db:9", Tier::Cots, &["x0", "x1"]),
            // Same layers in another order: unrelated.
            img("r.example/odd:1", Tier::Application, &["e1", "d0"]),
        ]);
        assert_eq!(parent_of(&g, "r.example/debian:12"), None);
        assert_eq!(
            parent_of(&g, "r.example/ent:1").as_deref(),
            Some("r.example/debian:12")
        );
        for app in ["r.example/app1:1", "r.example/app2:1", "r.example/app3:1"] {
            assert_eq!(
                parent_of(&g, app).as_deref(),
                Some("r.example/ent:1"),
                "{app}"
            );
        }
        assert_eq!(
            parent_of(&g, "r.example/app4:1").as_deref(),
            Some("r.example/ent2:1")
        );
        assert_eq!(
            parent_of(&g, "r.example/builder:1").as_deref(),
            Some("r.example/debian:12")
        );
        assert_eq!(parent_of(&g, "vendor.example/db:9"), None);
        assert_eq!(parent_of(&g, "r.example/odd:1"), None);
        assert_eq!(
            refs(&g, g.roots()),
            [
                "r.example/debian:12",
                "r.example/odd:1",
                "vendor.example/db:9"
            ]
        );
        let ent = g.find("r.example/ent:1").unwrap();
        assert_eq!(
            refs(&g, g.children(ent)),
            ["r.example/app1:1", "r.example/app2:1", "r.example/app3:1"]
        );
        let deb = g.find("r.example/debian:12").unwrap();
        assert_eq!(g.descendants(deb).len(), 7);
        // Parents come before children in the topological order.
        let pos: HashMap<NodeId, usize> = g
            .topological_order()
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i))
            .collect();
        assert_eq!(pos.len(), g.len());
        for e in g.edges() {
            assert!(pos[&e.parent] < pos[&e.child]);
            assert!(e.signals.layers && !e.signals.declared);
        }
        assert_eq!(g.node(g.find("r.example/app2:1").unwrap()).depth, 2);
        assert!(g.issues().is_empty(), "{:?}", g.issues());
    }

    #[test]
    fn aliases_are_one_node() {
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let mut latest = base.clone();
        latest.reference = "r.example/base:latest".into();
        let app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        let g = Graph::build(vec![base, latest, app]);
        assert_eq!(g.len(), 2);
        let b = g.find("r.example/base:latest").unwrap();
        assert_eq!(g.node(b).reference(), "r.example/base:1");
        assert_eq!(g.node(b).aliases, ["r.example/base:latest"]);
        assert_eq!(
            parent_of(&g, "r.example/app:1").as_deref(),
            Some("r.example/base:1")
        );
        assert_eq!(g.edges().count(), 1);
    }

    #[test]
    fn alias_with_other_tier_is_reported() {
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let mut other = base.clone();
        other.reference = "r.example/base:stable".into();
        other.tier = Tier::Enterprise;
        let g = Graph::build(vec![base, other]);
        assert_eq!(g.issues()[0].kind(), "alias-mismatch");
    }

    fn info_with_blobs(reference: &str, diff_ids: &[&str], blob_prefix: &str) -> ImageInfo {
        ImageInfo {
            reference: reference.into(),
            manifest_digest: Some(dg(&format!("manifest {reference}"))),
            layers: diff_ids
                .iter()
                .enumerate()
                .map(|(i, d)| LayerInfo {
                    index: i,
                    digest: Some(dg(&format!("{blob_prefix} blob {d}"))),
                    diff_id: dg(d),
                    media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                    size: None,
                    created_by: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn recompressed_layers_keep_their_lineage() {
        // The base as mirrored by a tool that recompressed its layers (zstd instead of
        // gzip): other blob digests and manifest digest, same diff_ids.
        let mirror = CatalogEntry::from_image_info(
            "mirror.example/base:1",
            Tier::Base,
            &info_with_blobs("mirror.example/base:1", &["d0", "d1"], "zstd"),
        );
        // The app was built on the original (gzip) base, which is not catalogued.
        let app = CatalogEntry::from_image_info(
            "r.example/app:1",
            Tier::Application,
            &info_with_blobs("r.example/app:1", &["d0", "d1", "a"], "gzip"),
        );
        let g = Graph::build(vec![mirror, app]);
        assert_eq!(
            parent_of(&g, "r.example/app:1").as_deref(),
            Some("mirror.example/base:1")
        );
        assert!(g.edges().all(|e| e.signals.layers));
    }

    #[test]
    fn identical_chains_are_told_apart_by_declarations() {
        // The enterprise image only sets USER: no layer of its own.
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let mut ent = img("r.example/ent:1", Tier::Enterprise, &["d0"]);
        ent.declared_base = Some("r.example/base:1".into());
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        app.declared_base = Some("r.example/ent:1".into());
        let other = img("r.example/other:1", Tier::Application, &["d0", "o"]);
        let g = Graph::build(vec![base, ent, app, other]);
        assert_eq!(
            parent_of(&g, "r.example/ent:1").as_deref(),
            Some("r.example/base:1")
        );
        assert_eq!(
            parent_of(&g, "r.example/app:1").as_deref(),
            Some("r.example/ent:1")
        );
        let app = g.node(g.find("r.example/app:1").unwrap());
        assert_eq!(
            app.signals,
            Signals {
                layers: true,
                annotation: false,
                declared: true
            }
        );
        // Nothing tells the twins apart for `other`: reported.
        assert_eq!(
            parent_of(&g, "r.example/other:1").as_deref(),
            Some("r.example/base:1")
        );
        assert!(
            g.issues()
                .iter()
                .any(|i| i.kind() == "ambiguous-layers" && i.image() == "r.example/other:1"),
            "{:?}",
            g.issues()
        );
    }

    #[test]
    fn stale_when_the_parent_tag_moved_on() {
        // python:3.11 was rebuilt (patched layer on top); the app still has the old build.
        let mut py = img(
            "docker.io/library/python:3.11",
            Tier::Base,
            &["d0", "py", "patch"],
        );
        py.digest = Some(dg("python new"));
        let old_py_digest = dg("python old");
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "py", "app"]);
        app.declared_base = Some("python:3.11".into());
        app.base_name = Some("docker.io/library/python:3.11".into());
        app.base_digest = Some(old_py_digest.clone());
        let fresh = {
            let mut f = img(
                "r.example/fresh:1",
                Tier::Application,
                &["d0", "py", "patch", "f"],
            );
            f.declared_base = Some("python:3.11".into());
            f.base_digest = Some(dg("python new"));
            f
        };
        let g = Graph::build(vec![py, app, fresh]);
        assert_eq!(
            parent_of(&g, "r.example/app:1").as_deref(),
            Some("docker.io/library/python:3.11")
        );
        let a = g.node(g.find("r.example/app:1").unwrap());
        assert!(a.stale);
        assert_eq!(a.chosen_by, Some(ChosenBy::Declared));
        assert!(!a.signals.layers && a.signals.declared && !a.signals.annotation);
        let stale: Vec<&Issue> = g.issues().iter().filter(|i| i.kind() == "stale").collect();
        assert_eq!(stale.len(), 1, "{:?}", g.issues());
        match stale[0] {
            Issue::Stale {
                image,
                built_on,
                shared_layers,
                parent_layers,
                ..
            } => {
                assert_eq!(image, "r.example/app:1");
                assert_eq!(built_on.as_ref(), Some(&old_py_digest));
                assert_eq!((*shared_layers, *parent_layers), (2, 3));
            }
            _ => unreachable!(),
        }
        let msg = stale[0].to_string();
        assert!(
            msg.contains("r.example/app:1 is stale") && msg.contains("python:3.11"),
            "{msg}"
        );
        let f = g.node(g.find("r.example/fresh:1").unwrap());
        assert!(!f.stale);
        assert_eq!(
            f.signals,
            Signals {
                layers: true,
                annotation: true,
                declared: true
            }
        );
    }

    #[test]
    fn stale_when_pinned_to_an_older_build() {
        let base = img("r.example/base:1", Tier::Base, &["d0", "p1"]);
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        app.declared_base = Some(format!("r.example/base:1@{}", dg("old")));
        // Not resolved yet: only the pin tells.
        let mut unresolved = CatalogEntry::new("r.example/u:1", Tier::Application);
        unresolved.declared_base = Some(format!("r.example/base:1@{}", dg("old")));
        let g = Graph::build(vec![base, app, unresolved]);
        for r in ["r.example/app:1", "r.example/u:1"] {
            let n = g.node(g.find(r).unwrap());
            assert!(n.stale, "{r}");
            assert_eq!(parent_of(&g, r).as_deref(), Some("r.example/base:1"));
        }
        let built_on: Vec<Option<Digest>> = g
            .issues()
            .iter()
            .filter_map(|i| match i {
                Issue::Stale { built_on, .. } => Some(built_on.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(built_on, [Some(dg("old")), Some(dg("old"))]);
    }

    #[test]
    fn stale_from_annotations_alone() {
        let base = img("r.example/base:1", Tier::Base, &["d0", "p1"]);
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        app.base_name = Some("r.example/base:1".into());
        app.base_digest = Some(dg("an older build"));
        let g = Graph::build(vec![base, app]);
        let a = g.node(g.find("r.example/app:1").unwrap());
        assert_eq!(a.chosen_by, Some(ChosenBy::Annotation));
        assert!(a.stale);
    }

    #[test]
    fn annotation_digest_against_layers_is_a_conflict() {
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let other = img("r.example/other:1", Tier::Base, &["o0"]);
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        app.base_digest = other.digest.clone();
        app.base_name = Some("r.example/other:1".into());
        let g = Graph::build(vec![base, other, app]);
        // The layers win.
        assert_eq!(
            parent_of(&g, "r.example/app:1").as_deref(),
            Some("r.example/base:1")
        );
        let i = g
            .issues()
            .iter()
            .find(|i| i.kind() == "annotation-conflict")
            .expect("conflict");
        assert!(i.to_string().contains("r.example/other:1"), "{i}");
    }

    #[test]
    fn declarations_disagreeing_with_layers_or_each_other() {
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let ent = img("r.example/ent:1", Tier::Enterprise, &["d0", "e"]);
        // Declares the base, but its layers extend the enterprise image.
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "e", "a"]);
        app.declared_base = Some("r.example/base:1".into());
        app.declared_parent = Some("r.example/ent:1".into());
        // Declares an uncatalogued external base; layers say base.
        let mut ext = img("r.example/ext:1", Tier::Application, &["d0", "x"]);
        ext.declared_base = Some("docker.io/library/debian:12".into());
        // FROM scratch, yet its layers extend the base.
        let mut scr = img("r.example/scr:1", Tier::Application, &["d0", "s"]);
        scr.declared_base = Some("scratch".into());
        let g = Graph::build(vec![base, ent, app, ext, scr]);
        assert_eq!(
            parent_of(&g, "r.example/app:1").as_deref(),
            Some("r.example/base:1")
        );
        let kinds: Vec<(&str, &str)> = g.issues().iter().map(|i| (i.kind(), i.image())).collect();
        assert!(
            kinds.contains(&("declaration-conflict", "r.example/app:1")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("layers-disagree", "r.example/app:1")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("layers-disagree", "r.example/ext:1")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("layers-disagree", "r.example/scr:1")),
            "{kinds:?}"
        );
        let ext = g.node(g.find("r.example/ext:1").unwrap());
        assert_eq!(
            ext.external_parent.as_deref(),
            Some("docker.io/library/debian:12")
        );
        assert_eq!(
            parent_of(&g, "r.example/ext:1").as_deref(),
            Some("r.example/base:1")
        );
    }

    #[test]
    fn declared_cycles_are_cut() {
        let mut a = CatalogEntry::new("r.example/a:1", Tier::Application);
        a.declared_base = Some("r.example/b:1".into());
        let mut b = CatalogEntry::new("r.example/b:1", Tier::Application);
        b.declared_base = Some("r.example/c:1".into());
        let mut c = CatalogEntry::new("r.example/c:1", Tier::Application);
        c.declared_parent = Some("r.example/a:1".into());
        let mut d = CatalogEntry::new("r.example/d:1", Tier::Application);
        d.declared_base = Some("r.example/a:1".into());
        // FROM its own tag (rebuilt on its previous build): external, not a loop.
        let mut own = CatalogEntry::new("r.example/own:1", Tier::Application);
        own.declared_base = Some("r.example/own:1".into());
        let g = Graph::build(vec![a, b, c, d, own]);
        let cycles: Vec<&Issue> = g.issues().iter().filter(|i| i.kind() == "cycle").collect();
        assert_eq!(cycles.len(), 1, "{:?}", g.issues());
        assert_eq!(
            cycles[0],
            &Issue::Cycle {
                images: vec![
                    "r.example/a:1".into(),
                    "r.example/b:1".into(),
                    "r.example/c:1".into(),
                    "r.example/a:1".into()
                ]
            }
        );
        assert_eq!(g.topological_order().len(), 5);
        assert_eq!(parent_of(&g, "r.example/own:1"), None);
        assert_eq!(
            g.node(g.find("r.example/own:1").unwrap())
                .external_parent
                .as_deref(),
            Some("r.example/own:1")
        );
        assert!(g.issues().iter().any(|i| i.kind() == "unresolved"));
    }

    #[test]
    fn find_by_name_digest_and_alias() {
        let py = img("docker.io/library/python:3.11", Tier::Base, &["d0"]);
        let digest = py.digest.clone().unwrap();
        let g = Graph::build(vec![py]);
        assert_eq!(g.find("python:3.11"), Some(0));
        assert_eq!(g.find(&digest.to_string()), Some(0));
        assert_eq!(g.find(&format!("python@{digest}")), Some(0));
        assert_eq!(g.find("python:3.12"), None);
    }

    #[test]
    fn parent_pins_for_outdated() {
        let base = img("r.example/base:1", Tier::Base, &["d0"]);
        let base_digest = base.digest.clone().unwrap();
        let mut app = img("r.example/app:1", Tier::Application, &["d0", "a"]);
        app.declared_base = Some("r.example/base:1".into());
        let mut pinned = img("r.example/pinned:1", Tier::Application, &["d0", "p"]);
        pinned.declared_base = Some(format!("r.example/base:1@{}", dg("old")));
        let local = img("oci:/tmp/layout:child", Tier::Application, &["q0", "q1"]);
        let local_base = img("oci:/tmp/layout:base", Tier::Base, &["q0"]);
        let g = Graph::build(vec![base, app, pinned, local, local_base]);
        let pins = g.parent_pins();
        assert_eq!(pins.len(), 2, "{pins:?}");
        let app = pins.iter().find(|p| p.image == "r.example/app:1").unwrap();
        assert_eq!(app.parent_tag, "r.example/base:1");
        assert_eq!(app.built_on.as_ref(), Some(&base_digest));
        let pinned = pins
            .iter()
            .find(|p| p.image == "r.example/pinned:1")
            .unwrap();
        assert_eq!(pinned.built_on, Some(dg("old")));
        // A pin is often an index digest while the catalog holds the platform manifest:
        // with consistent layers it is not staleness.
        assert!(!g.node(g.find("r.example/pinned:1").unwrap()).stale);
    }
}
