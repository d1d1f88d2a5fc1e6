//! `patchline outdated`: catalogued images whose parent tag now points at a newer digest
//! in the registry, and how far behind they are.

use anyhow::{anyhow, Result};
use patchline_image::registry::RegistryStore;
use patchline_image::ImageRef;
use patchline_lineage::render::{age_seconds, human_age};
use patchline_model::Digest;
use serde::Serialize;

use crate::args::{ImageArgs, TextFormat};
use crate::cmd::catalog::{resolve_info, StateArgs};

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline outdated")]
pub struct Args {
    #[arg(long, short = 'f', value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// One image whose parent tag moved.
#[derive(Debug, Serialize)]
pub struct Outdated {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub parent_tag: String,
    pub built_on: Digest,
    /// The platform manifest the tag names now.
    pub current: Digest,
    /// Layers of the current parent this image lacks.
    pub layers_behind: usize,
    /// Seconds between this image's build and the current parent's creation, when both
    /// dates are known and the parent is the newer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub outdated: Vec<Outdated>,
    /// Images whose parent tag still names the digest they were built on.
    pub up_to_date: Vec<String>,
    /// Images whose built-on digest is unknown (no annotation, no layer match).
    pub unknown: Vec<String>,
    pub errors: Vec<String>,
}

pub fn run(a: Args) -> Result<u8> {
    let cat = a.state.open()?;
    let g = cat.graph()?;
    let opts = a.image_args.open_options()?;
    let now = time::OffsetDateTime::now_utc();
    let mut report = Report::default();
    for pin in g.parent_pins() {
        let Some(built_on) = pin.built_on.clone() else {
            report.unknown.push(pin.image.clone());
            continue;
        };
        let r = match ImageRef::parse(&pin.parent_tag) {
            Ok(ImageRef::Registry(r)) => r,
            Ok(_) => continue,
            Err(e) => {
                report
                    .errors
                    .push(format!("{}: parent {}: {e}", pin.image, pin.parent_tag));
                continue;
            }
        };
        let tag = r.manifest_reference();
        // HEAD first: one cheap request when nothing moved.
        let head = RegistryStore::new(r, &opts.registry).and_then(|s| s.head_manifest(&tag));
        match head {
            Ok(Some(d)) if d == built_on => {
                report.up_to_date.push(pin.image.clone());
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                report
                    .errors
                    .push(format!("{}: parent {}: {e}", pin.image, pin.parent_tag));
                continue;
            }
        }
        // The tag may name an index: compare the platform manifest it resolves to.
        let info = match resolve_info(&pin.parent_tag, &a.image_args) {
            Ok(i) => i,
            Err(e) => {
                report
                    .errors
                    .push(format!("{}: parent {}: {e:#}", pin.image, pin.parent_tag));
                continue;
            }
        };
        let current = info
            .manifest_digest
            .clone()
            .ok_or_else(|| anyhow!("{}: the registry named no digest", pin.parent_tag))?;
        if current == built_on {
            report.up_to_date.push(pin.image.clone());
            continue;
        }
        let own = cat
            .get(&pin.image)?
            .ok_or_else(|| anyhow!("{}: not in the catalog", pin.image))?;
        let common = own
            .diff_ids
            .iter()
            .zip(info.layers.iter())
            .take_while(|(a, b)| **a == b.diff_id)
            .count();
        let age = match (
            age_seconds(own.created.as_deref(), now),
            age_seconds(info.created.as_deref(), now),
        ) {
            (Some(img), Some(par)) if img > par => Some(img - par),
            _ => None,
        };
        report.outdated.push(Outdated {
            image: pin.image,
            parent: pin.parent,
            parent_tag: pin.parent_tag,
            built_on,
            current,
            layers_behind: info.layers.len().saturating_sub(common),
            age_seconds: age,
        });
    }
    let out = if a.format == TextFormat::Json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        for o in &report.outdated {
            s.push_str(&format!(
                "{}: parent {} moved {} -> {} ({} layer(s) behind{})\n",
                o.image,
                o.parent_tag,
                o.built_on,
                o.current,
                o.layers_behind,
                o.age_seconds
                    .map(|a| format!(", parent {} newer", human_age(a)))
                    .unwrap_or_default()
            ));
        }
        s.push_str(&format!(
            "{} outdated, {} up to date, {} unknown\n",
            report.outdated.len(),
            report.up_to_date.len(),
            report.unknown.len()
        ));
        s
    };
    crate::output::write_all_or_nothing(None, out.as_bytes())?;
    for u in &report.unknown {
        errln!("patchline: warning: {u}: the parent digest it was built on is unknown");
    }
    for e in &report.errors {
        errln!("patchline: error: {e}");
    }
    Ok(if report.errors.is_empty() {
        crate::EXIT_OK
    } else {
        crate::EXIT_BAD_INPUT
    })
}
