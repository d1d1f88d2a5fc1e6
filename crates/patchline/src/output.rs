//! Writing results: all or nothing.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory renamed into
/// place, so an interrupted run never leaves a truncated report; or to stdout.
pub fn write_all_or_nothing(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).context("writing to stdout")?;
            out.flush().context("writing to stdout")
        }
        Some(p) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
            tmp.write_all(bytes)
                .with_context(|| format!("writing {}", p.display()))?;
            tmp.persist(p)
                .with_context(|| format!("writing {}", p.display()))?;
            Ok(())
        }
    }
}
