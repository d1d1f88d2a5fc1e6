//! Writing a plan directory, all or nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::render::{render_json, render_markdown};
use super::{PatchPlan, PlanError};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PlanError + '_ {
    move |source| PlanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PlanError> {
    let mut f = std::fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Name of the patched file in the plan directory: the catalogued file's own name.
fn containerfile_name(path: Option<&str>) -> String {
    let base = path
        .and_then(|p| p.rsplit(['/', '\\']).next())
        .filter(|b| !b.is_empty() && *b != "." && *b != "..")
        .unwrap_or("Containerfile");
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    }
}

fn fill_dir(plan: &PatchPlan, root: &Path) -> Result<(), PlanError> {
    write_file(&root.join("plan.json"), render_json(plan)?.as_bytes())?;
    write_file(&root.join("plan.md"), render_markdown(plan).as_bytes())?;
    for w in &plan.waves {
        for p in &w.images {
            let dir = root.join(format!("wave-{}", w.index)).join(&p.slug);
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let name = containerfile_name(p.containerfile_path.as_deref());
            if let Some(text) = &p.patched_containerfile {
                write_file(&dir.join(&name), text.as_bytes())?;
            }
            if let Some(d) = &p.diff {
                write_file(&dir.join(format!("{name}.diff")), d.as_bytes())?;
            }
            write_file(
                &dir.join("image.json"),
                serde_json::to_string_pretty(p)?.as_bytes(),
            )?;
        }
    }
    Ok(())
}

/// Writes the plan to `dir`: `plan.json`, `plan.md`, and for each planned image
/// `wave-N/<slug>/` with the patched Containerfile, its `.diff` and `image.json`. The
/// directory is built under a temporary name beside `dir` and renamed into place; an
/// existing non-empty `dir` is refused.
pub fn write_dir(plan: &PatchPlan, dir: &Path) -> Result<(), PlanError> {
    let name = dir
        .file_name()
        .ok_or_else(|| PlanError::DirNotEmpty(dir.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existed_empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(PlanError::DirNotEmpty(dir.to_path_buf()));
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) if dir.exists() => {
            return Err(if dir.is_dir() {
                PlanError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                }
            } else {
                PlanError::DirNotEmpty(dir.to_path_buf())
            })
        }
        Err(e) => {
            return Err(PlanError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = parent.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let result = fill_dir(plan, &tmp).and_then(|()| {
        if existed_empty {
            std::fs::remove_dir(dir).map_err(io_err(dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(io_err(dir))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
