//! Writing results: all or nothing, and never replacing what is not a regular file.
//!
//! What `-o FILE` does depends on what FILE is:
//!
//! - **absent**: a new file, written through a temporary file in the same directory and
//!   renamed into place (an interrupted run leaves no truncated report). Its mode is the
//!   one the umask gives a new file (`0666 & !umask`), as for a shell redirection.
//! - **a regular file**: replaced the same way; the new file keeps the old one's mode (and,
//!   when allowed, its owner and group).
//! - **a regular file with more than one hard link**: a rename would split the links, so
//!   it is written in place: opened without truncating, checked to be the same file,
//!   written from the start, then cut to the new length and synced. Every link sees the
//!   new content and the file keeps its mode and owner; this write is not atomic (an error
//!   part way says so and names the file).
//! - **a device, FIFO or socket** (`/dev/null`, a named pipe): written through: opened for
//!   writing and the bytes written to it; it stays what it was. A FIFO blocks until a
//!   reader opens it, as with `echo >FIFO`.
//! - **a symbolic link**: followed (to any depth), and the rule applied to what it points
//!   at; the link stays. A dangling link creates its target. `/dev/stdout`, `/dev/stderr`,
//!   `/dev/fd/N` and `/proc/self/fd/N` write to that open descriptor.
//! - **a directory**: an error (exit 2).
//!
//! Every error names the path given (and the file it leads to, when that differs).

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Symbolic links followed before giving up, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` by the rules in the module docs, or to stdout.
pub fn write_all_or_nothing(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).context("writing to stdout")?;
            out.flush().context("writing to stdout")
        }
        Some(p) => write_file(p, bytes),
    }
}

/// What `-o` leads to once symbolic links are followed.
enum Target {
    /// Nothing there yet (maybe the end of a dangling link).
    Missing(PathBuf),
    /// An open descriptor of this process, named through `/proc` or `/dev/fd`.
    Descriptor(u32, PathBuf),
    /// An existing file of any other kind.
    Existing(PathBuf, Metadata),
}

fn write_file(given: &Path, bytes: &[u8]) -> Result<()> {
    let name = |real: &Path| {
        if real == given {
            given.display().to_string()
        } else {
            format!("{} (-> {})", given.display(), real.display())
        }
    };
    match resolve(given)? {
        Target::Missing(real) => {
            replace(&real, None, bytes).with_context(|| format!("writing {}", name(&real)))
        }
        Target::Descriptor(fd, real) => {
            write_descriptor(fd, &real, bytes).with_context(|| format!("writing {}", name(&real)))
        }
        Target::Existing(real, meta) => {
            let ft = meta.file_type();
            if ft.is_dir() {
                bail!(
                    "{} is a directory; -o takes a file (e.g. {}/report)",
                    name(&real),
                    given.display()
                );
            }
            let result = if !ft.is_file() {
                write_through(&real, bytes)
            } else if meta.nlink() > 1 {
                write_in_place(&real, &meta, bytes)
            } else {
                replace(&real, Some(&meta), bytes)
            };
            result.with_context(|| format!("writing {}", name(&real)))
        }
    }
}

/// Follows symbolic links from `given` to the file they lead to.
fn resolve(given: &Path) -> Result<Target> {
    let mut cur = given.to_path_buf();
    for _ in 0..MAX_LINKS {
        if let Some(fd) = descriptor_link(&cur) {
            return Ok(Target::Descriptor(fd, cur));
        }
        let meta = match fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Missing(cur)),
            Err(e) => {
                return Err(e).with_context(|| format!("writing {}", given.display()));
            }
        };
        if !meta.file_type().is_symlink() {
            return Ok(Target::Existing(cur, meta));
        }
        let link =
            fs::read_link(&cur).with_context(|| format!("reading the link {}", cur.display()))?;
        cur = if link.is_absolute() {
            link
        } else {
            parent_dir(&cur).join(link)
        };
    }
    bail!(
        "writing {}: more than {MAX_LINKS} levels of symbolic links",
        given.display()
    )
}

/// The descriptor `N` when `p` is `/proc/self/fd/N`, `/proc/thread-self/fd/N`,
/// `/proc/<this pid>/fd/N` or `/dev/fd/N`: links to open files that may have no name to
/// resolve (`pipe:[1234]`) and must be written through the descriptor itself.
fn descriptor_link(p: &Path) -> Option<u32> {
    let fd: u32 = p.file_name()?.to_str()?.parse().ok()?;
    let dir = p.parent()?.to_str()?;
    let pid = std::process::id().to_string();
    let ok = matches!(dir, "/dev/fd" | "/proc/self/fd" | "/proc/thread-self/fd")
        || dir == format!("/proc/{pid}/fd");
    ok.then_some(fd)
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A new file through a temporary one renamed into place. `old` is the regular file it
/// replaces: the new one gets its mode, and its owner where the process may give it.
fn replace(real: &Path, old: Option<&Metadata>, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(real);
    // 0666 at creation: the kernel applies the umask, as for any new file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".patchline-")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.flush()?;
    if let Some(m) = old {
        let f = tmp.as_file();
        // Owner first: a change of owner clears the set-id bits that the mode restores.
        // Only root may give a file away; anyone else keeps the new file as their own.
        if m.uid() != f.metadata()?.uid() || m.gid() != f.metadata()?.gid() {
            let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
        }
        f.set_permissions(Permissions::from_mode(m.mode() & 0o7777))?;
    }
    tmp.persist(real)?;
    Ok(())
}

/// A regular file with other hard links, written in place so that they all see it.
fn write_in_place(real: &Path, before: &Metadata, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new().write(true).open(real)?;
    let now = f.metadata()?;
    if !now.is_file() || now.dev() != before.dev() || now.ino() != before.ino() {
        bail!("the file changed while it was being opened; nothing was written");
    }
    let written = f
        .write_all(bytes)
        .and_then(|()| f.set_len(bytes.len() as u64))
        .and_then(|()| f.sync_all());
    written.context(
        "it has several hard links, so it is written in place, and the write failed part way: \
         its content is incomplete",
    )
}

/// A device, FIFO or socket: opened for writing, and the bytes written to it.
fn write_through(real: &Path, bytes: &[u8]) -> Result<()> {
    let mut f: File = OpenOptions::new().write(true).open(real)?;
    f.write_all(bytes)?;
    f.flush()?;
    Ok(())
}

/// One of this process's open descriptors: stdout and stderr through their handles (their
/// offset and flags, `>>` included), any other by reopening it for appending.
fn write_descriptor(fd: u32, real: &Path, bytes: &[u8]) -> Result<()> {
    match fd {
        1 => {
            let mut o = std::io::stdout().lock();
            o.write_all(bytes)?;
            o.flush()?;
        }
        2 => {
            let mut e = std::io::stderr().lock();
            e.write_all(bytes)?;
            e.flush()?;
        }
        _ => {
            let mut f = OpenOptions::new().append(true).open(real)?;
            f.write_all(bytes)?;
            f.flush()?;
        }
    }
    Ok(())
}
