use super::*;

#[derive(Deserialize)]
pub(super) struct Bom {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    tools: Option<Value>,
    #[serde(default)]
    component: Option<Component>,
    #[serde(default)]
    properties: Vec<Property>,
}

#[derive(Deserialize, Default)]
pub(super) struct Component {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    publisher: Option<String>,
    #[serde(default)]
    supplier: Option<Supplier>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    hashes: Vec<Hash>,
    #[serde(default)]
    licenses: Vec<LicenseChoice>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct Supplier {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Hash {
    alg: String,
    content: String,
}

#[derive(Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Property {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

struct Props<'a>(&'a [Property]);

impl<'a> Props<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_deref())
    }
    fn get_nonempty(&self, name: &str) -> Option<&'a str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
    fn all(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |p| p.name == name)
            .filter_map(|p| p.value.as_deref())
    }
    fn with_prefix(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0.iter().filter_map(move |p| {
            Some((
                p.name.strip_prefix(prefix)?,
                p.value.as_deref().unwrap_or(""),
            ))
        })
    }
}

fn flatten<'a>(cs: &'a [Component], out: &mut Vec<&'a Component>) {
    for c in cs {
        out.push(c);
        flatten(&c.components, out);
    }
}

pub(super) fn to_inventory(bom: Bom, origin: &str) -> Inventory {
    let meta = bom.metadata.unwrap_or_default();
    let doc_props = Props(&meta.properties);
    let mut inv = Inventory::new(image(meta.component.as_ref(), origin));
    inv.tool = tool(meta.tools.as_ref());
    if let Some(c) = doc_props.get("patchline:inventory:complete") {
        inv.complete = c.trim() != "false";
    }
    read_warnings(&doc_props, &mut inv);

    let mut all = Vec::new();
    flatten(&bom.components, &mut all);

    let mut distro = None;
    let mut skipped = Skipped::default();
    let mut distro_hints = Vec::new();
    for c in &all {
        match c.kind.as_str() {
            "operating-system" => {
                if distro.is_none() {
                    distro = Some(os(c));
                }
                continue;
            }
            "container" => continue,
            _ => {}
        }
        match package(c, &inv.image.layers) {
            Ok(Some((mut p, q))) => {
                if let Some(q) = q {
                    distro_hints.push(q);
                }
                // Reports on this SBOM refer to its own components.
                p.sbom_ref = c.bom_ref.clone().filter(|r| !r.is_empty());
                inv.packages.push(p);
            }
            Ok(None) => {
                // Packages only: files, services and Trivy's per-target
                // `application` entries are not something a scan would miss.
                match c.purl.as_deref().filter(|p| !p.trim().is_empty()) {
                    Some(p) => skipped.add(p),
                    None if matches!(c.kind.as_str(), "library" | "framework") => {
                        skipped.add_unnamed(&c.name, c.version.as_deref())
                    }
                    None => {}
                }
            }
            Err(msg) => {
                inv.complete = false;
                warn(&mut inv, origin, msg);
            }
        }
    }
    inv.distro = distro.or_else(|| distro::from_purls(distro_hints.iter(), "sbom:purl"));
    skipped.finish(&mut inv, origin);
    if doc_props.get("patchline:scan:schema").is_some() {
        inv.complete = false;
        warn(
            &mut inv,
            origin,
            "this CycloneDX document is a patchline scan result: it lists only the packages \
             that had findings, not the whole image"
                .into(),
        );
    }
    inv
}

fn tool(tools: Option<&Value>) -> Tool {
    let first = match tools {
        Some(Value::Array(a)) => a.first(),
        Some(Value::Object(o)) => o
            .get("components")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .or_else(|| {
                o.get("services")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
            }),
        _ => None,
    };
    let field = |k: &str| {
        first
            .and_then(|t| t.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name = field("name");
    Tool {
        name: if name.is_empty() {
            "unknown".into()
        } else {
            name
        },
        version: field("version"),
    }
}

fn image(c: Option<&Component>, origin: &str) -> ImageInfo {
    let Some(c) = c else {
        return ImageInfo {
            reference: origin.into(),
            ..Default::default()
        };
    };
    let props = Props(&c.properties);
    let mut img = ImageInfo {
        reference: if c.name.is_empty() {
            origin.into()
        } else {
            c.name.clone()
        },
        ..Default::default()
    };
    // Ours and Syft's: the version is the manifest digest.
    img.manifest_digest = c.version.as_deref().and_then(|v| v.parse().ok());
    if img.manifest_digest.is_none() {
        // Trivy: `aquasecurity:trivy:RepoDigest` is `repo@sha256:…`.
        img.manifest_digest = props
            .all("aquasecurity:trivy:RepoDigest")
            .find_map(|d| d.rsplit_once('@').and_then(|(_, d)| d.parse().ok()));
    }
    if img.manifest_digest.is_none() {
        img.manifest_digest = c.hashes.iter().find_map(|h| match h.alg.as_str() {
            "SHA-256" => format!("sha256:{}", h.content).parse().ok(),
            "SHA-512" => format!("sha512:{}", h.content).parse().ok(),
            _ => None,
        });
    }
    let get = |k: &str| {
        props
            .get_nonempty(&format!("patchline:image:{k}"))
            .map(str::to_string)
    };
    img.os = get("os");
    img.architecture = get("architecture");
    img.variant = get("variant");
    img.created = get("created");
    img.config_digest = get("config_digest")
        .and_then(|d| d.parse().ok())
        .or_else(|| {
            props
                .get_nonempty("aquasecurity:trivy:ImageID")
                .and_then(|d| d.parse().ok())
        });

    let mut layers: BTreeMap<usize, PartialLayer> = BTreeMap::new();
    for (rest, value) in props.with_prefix("patchline:image:layer:") {
        let Some((i, field)) = rest.split_once(':') else {
            continue;
        };
        let Some(i) = parse_index(i) else { continue };
        let l = layers.entry(i).or_default();
        match field {
            "diff_id" => l.diff_id = value.parse().ok(),
            "digest" => l.digest = value.parse().ok(),
            "media_type" => l.media_type = Some(value.to_string()),
            "size" => l.size = value.parse().ok(),
            "created_by" => l.created_by = Some(value.to_string()),
            _ => {}
        }
    }
    img.layers = layers
        .into_iter()
        .filter_map(|(index, l)| {
            Some(LayerInfo {
                index,
                digest: l.digest,
                diff_id: l.diff_id?,
                media_type: l.media_type.unwrap_or_default(),
                size: l.size,
                created_by: l.created_by,
            })
        })
        .collect();
    if img.layers.is_empty() {
        // Trivy lists the image's diff_ids in order, one property each.
        img.layers = props
            .all("aquasecurity:trivy:DiffID")
            .filter_map(|d| d.trim().parse().ok())
            .enumerate()
            .map(|(index, diff_id)| LayerInfo {
                index,
                digest: None,
                diff_id,
                media_type: String::new(),
                size: None,
                created_by: None,
            })
            .collect();
    }
    for (k, v) in props.with_prefix("patchline:image:label:") {
        img.labels.insert(k.to_string(), v.to_string());
    }
    for (k, v) in props.with_prefix("patchline:image:annotation:") {
        img.annotations.insert(k.to_string(), v.to_string());
    }
    img
}

#[derive(Default)]
struct PartialLayer {
    diff_id: Option<Digest>,
    digest: Option<Digest>,
    media_type: Option<String>,
    size: Option<u64>,
    created_by: Option<String>,
}

fn read_warnings(props: &Props, inv: &mut Inventory) {
    let mut ws: BTreeMap<usize, (String, String, String)> = BTreeMap::new();
    for (rest, value) in props.with_prefix("patchline:warning:") {
        let Some((i, field)) = rest.split_once(':') else {
            continue;
        };
        let Some(i) = parse_index(i) else { continue };
        let w = ws.entry(i).or_default();
        match field {
            "source" => w.0 = value.to_string(),
            "location" => w.1 = value.to_string(),
            "message" => w.2 = value.to_string(),
            _ => {}
        }
    }
    inv.warnings
        .extend(ws.into_values().map(|(source, location, message)| Warning {
            source,
            location,
            message,
        }));
}

fn os(c: &Component) -> Distro {
    let props = Props(&c.properties);
    let ours = props.get("patchline:distro:source").is_some();
    let s = |v: Option<&str>| v.map(str::to_string);
    let mut d = Distro {
        id: props
            .get_nonempty("syft:distro:id")
            .unwrap_or(&c.name)
            .to_string(),
        version_id: c
            .version
            .clone()
            .filter(|v| !v.is_empty())
            .or_else(|| s(props.get_nonempty("syft:distro:versionID"))),
        version_codename: s(props.get_nonempty("patchline:distro:version_codename"))
            .or_else(|| s(props.get_nonempty("syft:distro:versionCodename"))),
        name: None,
        pretty_name: c
            .description
            .clone()
            .or_else(|| s(props.get_nonempty("syft:distro:prettyName"))),
        id_like: match props.get_nonempty("patchline:distro:id_like") {
            Some(l) => l.split_whitespace().map(str::to_string).collect(),
            None => props
                .with_prefix("syft:distro:idLike:")
                .map(|(_, v)| v.to_string())
                .collect(),
        },
        cpe_name: c.cpe.clone(),
        source: props
            .get("patchline:distro:source")
            .unwrap_or("sbom:operating-system component")
            .to_string(),
    };
    if !ours {
        distro::normalize_foreign(&mut d);
    }
    d
}

/// The package a component describes, with its purl's `distro=` qualifier; `None` for
/// a component that is not an OS package; `Err` for an OS package that cannot be read.
#[allow(clippy::type_complexity)]
fn package(
    c: &Component,
    layers: &[LayerInfo],
) -> Result<Option<(Package, Option<DistroHint>)>, String> {
    let props = Props(&c.properties);
    let ours = props.get("patchline:package:ecosystem");
    let purl = match c.purl.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => match parse_purl(p.trim()) {
            Ok(p) => Some(p),
            Err(e) if ours.is_some() || looks_like_os_purl(p) => {
                return Err(format!(
                    "component {}: {e}; package skipped",
                    short(&c.name)
                ))
            }
            Err(_) => return Ok(None),
        },
        None => None,
    };
    let eco = ours
        .and_then(ecosystem_of)
        .or_else(|| purl.as_ref().and_then(|p| ecosystem_of(&p.ty)))
        .or_else(|| props.get("syft:package:type").and_then(ecosystem_of));
    let Some(eco) = eco else {
        return Ok(None);
    };
    let what = || c.purl.clone().unwrap_or_else(|| short(&c.name));
    if !eco.is_os() {
        return language_package(eco, c, purl.as_ref(), &props, layers).map(|p| Some((p, None)));
    }

    let name = if c.name.is_empty() {
        match &purl {
            Some(p) => p.name.clone(),
            None => return Err(format!("{} component without a name skipped", eco)),
        }
    } else {
        c.name.clone()
    };
    let raw_version = c
        .version
        .clone()
        .filter(|v| !v.is_empty())
        .or_else(|| purl.as_ref().and_then(|p| p.version.clone()))
        .ok_or_else(|| format!("{}: no version; package skipped", what()))?;
    let epoch_hint = props
        .get_nonempty("patchline:package:epoch")
        .and_then(|e| e.parse().ok())
        .or_else(|| {
            purl.as_ref()
                .and_then(|p| p.qualifier("epoch"))
                .and_then(|e| e.parse().ok())
        });
    let (version, epoch) = with_epoch(eco, &raw_version, epoch_hint);
    let mut p = Package::new(eco, name, version);
    p.epoch = epoch;
    // An explicit epoch 0 (rpm headers can say so) is kept when we wrote it.
    if ours.is_some() && p.epoch.is_none() {
        p.epoch = epoch_hint.filter(|_| eco != Ecosystem::Apk);
    }
    p.arch = props
        .get_nonempty("patchline:package:arch")
        .or_else(|| purl.as_ref().and_then(|q| q.qualifier("arch")))
        .map(str::to_string);
    p.purl = c.purl.clone().unwrap_or_default();
    p.maintainer = c
        .publisher
        .clone()
        .filter(|m| !m.trim().is_empty())
        .or_else(|| c.supplier.as_ref().and_then(|s| s.name.clone()));
    p.licenses = licenses(&c.licenses);

    if ours.is_some() {
        p.source_name = props
            .get("patchline:package:source_name")
            .map(str::to_string);
        p.source_version = props
            .get("patchline:package:source_version")
            .map(str::to_string);
        p.db_path = props
            .get("patchline:package:db_path")
            .unwrap_or("")
            .to_string();
        let l = |which: &str| {
            layer_ref(
                props.get(&format!("patchline:layer:{which}:index")),
                props.get(&format!("patchline:layer:{which}:diff_id")),
            )
        };
        p.introduced = l("introduced");
        p.last_changed = l("last_changed");
    } else {
        let (sn, sv) = foreign_source(eco, &props, purl.as_ref(), &p);
        p.source_name = Some(sn);
        p.source_version = Some(sv);
        p.db_path = props
            .get_nonempty("syft:location:0:path")
            .map(image_path)
            .unwrap_or_default();
        // Trivy's layer, else Syft's (the layer of the database file it read; its
        // CycloneDX lists no layers, its own JSON does).
        let layer = props
            .get_nonempty("aquasecurity:trivy:LayerDiffID")
            .or_else(|| props.get_nonempty("syft:location:0:layerID"))
            .and_then(|d| layer_by_diff_id(layers, d));
        p.introduced = layer.clone();
        p.last_changed = layer;
    }
    if p.purl.is_empty() {
        p.purl = purl::for_package(&p, None);
    }
    let hint = purl.as_ref().and_then(DistroHint::of);
    Ok(Some((p, hint)))
}

/// A language package: its OSV name from the purl (a component's `name` is often the
/// bare artifact or package name), the version as written, the file it was found in.
fn language_package(
    eco: Ecosystem,
    c: &Component,
    purl: Option<&Purl>,
    props: &Props,
    layers: &[LayerInfo],
) -> Result<Package, String> {
    let name = match purl {
        Some(q) if !q.name.is_empty() => language_name(eco, q),
        _ if !c.name.trim().is_empty() => c.name.trim().to_string(),
        _ => return Err(format!("{eco} component without a name skipped")),
    };
    let version = c
        .version
        .clone()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| purl.and_then(|q| q.version.clone()))
        .ok_or_else(|| format!("{}: no version; package skipped", short(&name)))?;
    let mut p = Package::new(eco, name, version);
    p.licenses = licenses(&c.licenses);
    p.db_path = props
        .get_nonempty("patchline:package:db_path")
        .map(str::to_string)
        .or_else(|| props.get_nonempty("syft:location:0:path").map(image_path))
        .or_else(|| {
            props
                .get_nonempty("aquasecurity:trivy:FilePath")
                .map(image_path)
        })
        .unwrap_or_default();
    // Only patchline writes it; another tool's property of that name means nothing here.
    if props.get("patchline:package:ecosystem").is_some() {
        p.managed_by = props
            .get_nonempty("patchline:package:managed_by")
            .map(str::to_string);
    }
    let layer = layer_ref(
        props.get("patchline:layer:introduced:index"),
        props.get("patchline:layer:introduced:diff_id"),
    )
    .or_else(|| {
        props
            .get_nonempty("aquasecurity:trivy:LayerDiffID")
            .or_else(|| props.get_nonempty("syft:location:0:layerID"))
            .and_then(|d| layer_by_diff_id(layers, d))
    });
    p.introduced = layer.clone();
    p.last_changed = layer_ref(
        props.get("patchline:layer:last_changed:index"),
        props.get("patchline:layer:last_changed:diff_id"),
    )
    .or(layer);
    p.purl = match c.purl.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => purl::for_package(&p, None),
    };
    Ok(p)
}

fn foreign_source(
    eco: Ecosystem,
    props: &Props,
    purl: Option<&Purl>,
    p: &Package,
) -> (String, String) {
    if let Some(name) = props.get_nonempty("aquasecurity:trivy:SrcName") {
        let version = match props.get_nonempty("aquasecurity:trivy:SrcVersion") {
            Some(v) => {
                let mut v = v.to_string();
                if let Some(r) = props.get_nonempty("aquasecurity:trivy:SrcRelease") {
                    v = format!("{v}-{r}");
                }
                let e = props
                    .get_nonempty("aquasecurity:trivy:SrcEpoch")
                    .and_then(|e| e.parse().ok());
                with_epoch(eco, &v, e).0
            }
            None => p.version.clone(),
        };
        return (name.to_string(), version);
    }
    match eco {
        Ecosystem::Deb => {
            if let Some(name) = props.get_nonempty("syft:metadata:source") {
                let v = props
                    .get_nonempty("syft:metadata:sourceVersion")
                    .map(str::to_string)
                    .unwrap_or_else(|| p.version.clone());
                return (name.to_string(), v);
            }
        }
        Ecosystem::Apk => {
            if let Some(name) = props.get_nonempty("syft:metadata:originPackage") {
                return (name.to_string(), p.version.clone());
            }
        }
        Ecosystem::Rpm => {
            if let Some((n, v, r)) = props
                .get_nonempty("syft:metadata:sourceRpm")
                .and_then(patchline_rpmdb::split_source_rpm)
            {
                return (n, with_epoch(eco, &format!("{v}-{r}"), p.epoch).0);
            }
        }
        // Language packages have no source package.
        _ => {}
    }
    if let Some(up) = purl.and_then(|q| q.qualifier("upstream")) {
        return source_from_upstream(eco, up, p);
    }
    (p.name.clone(), p.version.clone())
}

fn licenses(ls: &[LicenseChoice]) -> Vec<String> {
    ls.iter()
        .filter_map(|l| {
            l.expression.clone().or_else(|| {
                l.license
                    .as_ref()
                    .and_then(|l| l.id.clone().or_else(|| l.name.clone()))
            })
        })
        .filter(|l| !l.is_empty())
        .collect()
}
