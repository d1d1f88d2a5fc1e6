//! Writing messages to stderr and stdout without ever panicking.
//!
//! `println!` and `eprintln!` panic when their stream cannot be written (stderr closed,
//! `2>/dev/full`, a full pipe), which turns finished work into a crash (exit 101). The
//! rule here: the exit code says whether the work was done, never whether a message could
//! be shown.
//!
//! - [`errln!`]: a line on stderr (warnings, notes, errors); a failure to write it is
//!   ignored.
//! - [`noteln!`]: a line of summary on stdout about work already done (`db import`'s
//!   counts). A failure is reported once on stderr (if stderr works) and does not change
//!   the exit code: the work was done.
//! - [`outln!`]: a line of a command's product on stdout (`db status`, `vercmp`). A failure
//!   is an error (exit 2), except a closed pipe (`| head`), which ends the output quietly.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// A line on stderr; write errors are ignored.
macro_rules! errln {
    ($($t:tt)*) => { $crate::term::err_line(format_args!($($t)*)) };
}

/// A line of summary on stdout about work already done; never fails.
macro_rules! noteln {
    ($($t:tt)*) => { $crate::term::note_line(format_args!($($t)*)) };
}

/// A line of a command's product on stdout: `?` it.
macro_rules! outln {
    () => { $crate::term::out_line(format_args!("")) };
    ($($t:tt)*) => { $crate::term::out_line(format_args!($($t)*)) };
}

/// Set once a summary line could not be written to stdout: the rest are not tried.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

pub fn err_line(args: fmt::Arguments) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{args}").and_then(|()| e.flush());
}

pub fn note_line(args: fmt::Arguments) {
    if STDOUT_FAILED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{args}").and_then(|()| o.flush()) {
        let first = !STDOUT_FAILED.swap(true, Ordering::Relaxed);
        if first && e.kind() != ErrorKind::BrokenPipe {
            err_line(format_args!(
                "patchline: note: could not write the summary to stdout ({e}); the work was done"
            ));
        }
    }
}

pub fn out_line(args: fmt::Arguments) -> Result<()> {
    let mut o = std::io::stdout().lock();
    match writeln!(o, "{args}").and_then(|()| o.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}

/// Prints warnings on stderr, unless the report itself lists them where the user reads
/// it (a table on stdout): each warning is said once.
pub fn warnings(ws: &[patchline_model::Warning], listed_on_stdout: bool) {
    if listed_on_stdout {
        return;
    }
    for w in ws {
        err_line(format_args!(
            "patchline: warning: {}: {}: {}",
            w.source, w.location, w.message
        ));
    }
}
