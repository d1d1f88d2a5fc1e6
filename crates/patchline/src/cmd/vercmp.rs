//! `patchline vercmp`: compare two versions the way an ecosystem's own tool does, or a
//! stream of `A<TAB>B` lines (`--batch`).

use std::cmp::Ordering;
use std::io::{BufRead, BufWriter, Write};

use anyhow::{Context, Result};
use patchline_version::Scheme;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline vercmp --scheme dpkg 1:2.36-9+deb12u3 2.36-9+deb12u4"
)]
pub struct Args {
    /// The ecosystem whose rules compare.
    #[arg(long, value_name = "SCHEME", value_enum, ignore_case = true)]
    pub scheme: Scheme,
    /// Read `A<TAB>B` lines on stdin; print one of `<`, `=`, `>`, `invalid` per line.
    #[arg(long, conflicts_with_all = ["a", "b"])]
    pub batch: bool,
    /// The first version.
    #[arg(required_unless_present = "batch")]
    pub a: Option<String>,
    /// The second version.
    #[arg(required_unless_present = "batch")]
    pub b: Option<String>,
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// A version is invalid when the ecosystem's own tool rejects it (`validate`), even
/// where the scheme can still order it leniently (PEP 440 legacy versions). apk is the
/// exception: `apk version -t` itself orders malformed versions, and its suite relies on it.
fn compare(
    scheme: Scheme,
    a: &str,
    b: &str,
) -> Result<Ordering, patchline_version::InvalidVersion> {
    if scheme != Scheme::Apk {
        scheme.validate(a)?;
        scheme.validate(b)?;
    }
    scheme.compare(a, b)
}

pub fn run(a: Args) -> Result<u8> {
    let scheme = a.scheme;
    if !a.batch {
        let (x, y) = (a.a.unwrap_or_default(), a.b.unwrap_or_default());
        let o = compare(scheme, &x, &y)?;
        outln!("{}", symbol(o))?;
        return Ok(crate::EXIT_OK);
    }
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(1 << 20, stdin.lock());
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?;
        if n == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let answer = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.split_once('\t'))
            .and_then(|(x, y)| compare(scheme, x, y).ok())
            .map(symbol)
            .unwrap_or("invalid");
        out.write_all(answer.as_bytes()).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    Ok(crate::EXIT_OK)
}
