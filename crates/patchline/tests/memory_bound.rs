//! Memory is bounded across layers (issue 8): three layers each carrying a 200 MB dpkg
//! status (built here, streamed to disk) are inventoried by the real CLI in a child
//! process whose peak RSS (`wait4`'s `ru_maxrss`) is asserted. Before the budget and the
//! streaming parsers, such an image took the process to 3.9 GB.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{AdvisoryEnv, DEBIAN_FEED};
use patchline_test_support::oci::{gzip_layer, write_layout, Layer};

const STATUS_BYTES: u64 = 200 << 20;

/// Bytes made on the fly: `make(i, buf)` appends the i-th piece; padded with newlines
/// to exactly `total` bytes.
struct Generated<F> {
    make: F,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    produced: u64,
    total: u64,
}

impl<F: FnMut(u64, &mut Vec<u8>)> Read for Generated<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.produced >= self.total {
            return Ok(0);
        }
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < 64 << 10 {
                (self.make)(self.next, &mut self.buf);
                self.next += 1;
            }
        }
        let left = (self.total - self.produced) as usize;
        let n = out.len().min(self.buf.len() - self.pos).min(left);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

fn file(tar: &mut tar::Builder<&mut dyn Write>, path: &str, size: u64, data: impl Read) {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, path, data).unwrap();
}

/// An image of three layers, each a `var/lib/dpkg/status` of [`STATUS_BYTES`] whose
/// stanzas `stanza` writes (the first layer also has a Debian 12 os-release).
fn image(dir: &Path, stanza: fn(u64, u64, &mut Vec<u8>)) -> String {
    let layers: Vec<Layer> = (0..3u64)
        .map(|layer| {
            gzip_layer(dir, |w| {
                let mut tar = tar::Builder::new(w);
                if layer == 0 {
                    let os = b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
                    file(&mut tar, "etc/os-release", os.len() as u64, &os[..]);
                }
                let content = Generated {
                    make: move |i, buf: &mut Vec<u8>| stanza(layer, i, buf),
                    next: 0,
                    buf: Vec::new(),
                    pos: 0,
                    produced: 0,
                    total: STATUS_BYTES,
                };
                file(&mut tar, "var/lib/dpkg/status", STATUS_BYTES, content);
                tar.finish().unwrap();
            })
        })
        .collect();
    write_layout(dir, "t", &layers);
    format!("oci:{}:t", dir.display())
}

/// Runs the CLI; returns (exit code, stderr, peak RSS in bytes).
fn run_measured(args: &[&str], dir: &Path) -> (i32, String, u64) {
    let out = std::fs::File::create(dir.join("stdout")).unwrap();
    let err = std::fs::File::create(dir.join("stderr")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("run patchline");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for the child we spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unwaited child; the pointers are to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap();
    // Linux reports ru_maxrss in KiB.
    (code, stderr, usage.ru_maxrss as u64 * 1024)
}

const MIB: u64 = 1 << 20;

#[test]
fn millions_of_packages_stop_at_the_budget_and_fail_closed() {
    // ~3 M tiny stanzas per layer: the kept packages alone would be gigabytes.
    let tmp = tempfile::tempdir().unwrap();
    let img = image(tmp.path(), |layer, i, buf| {
        let _ = write!(
            buf,
            "Package: p{layer}x{i}\nStatus: install ok installed\nVersion: 1.{i}\nArchitecture: amd64\n\n"
        );
    });
    let env = AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]);
    let (code, stderr, rss) = run_measured(
        &[
            "scan",
            &img,
            "--db",
            &env.db,
            "--no-cache",
            "--fail-on",
            "low",
            "--format",
            "json",
        ],
        tmp.path(),
    );
    eprintln!(
        "many packages: exit {code}, peak RSS {} MiB\n{stderr}",
        rss / MIB
    );
    assert_eq!(code, 2, "an incomplete inventory fails the gate: {stderr}");
    assert!(stderr.contains("memory budget"), "{stderr}");
    // The budget (256 MiB) plus the pipeline, decoders and the scan itself.
    assert!(rss < 400 * MIB, "peak RSS {} MiB", rss / MIB);
}

#[test]
fn huge_stanzas_stream_in_little_memory() {
    // 1 MiB descriptions: 200 packages a layer, each stanza parsed and dropped in turn.
    let tmp = tempfile::tempdir().unwrap();
    let img = image(tmp.path(), |layer, i, buf| {
        let _ = write!(
            buf,
            "Package: big{layer}x{i}\nStatus: install ok installed\nVersion: 1.{i}\nArchitecture: amd64\nDescription: big\n"
        );
        for _ in 0..(1 << 20) / 64 {
            buf.extend_from_slice(
                b" 0123456789012345678901234567890123456789012345678901234567890\n",
            );
        }
        buf.push(b'\n');
    });
    let (code, stderr, rss) = run_measured(
        &["sbom", &img, "--no-cache", "--format", "cyclonedx"],
        tmp.path(),
    );
    eprintln!("huge stanzas: exit {code}, peak RSS {} MiB", rss / MIB);
    assert_eq!(code, 0, "{stderr}");
    let sbom = std::fs::read_to_string(tmp.path().join("stdout")).unwrap();
    assert!(
        sbom.contains("pkg:deb/debian/big2x"),
        "packages of every layer are listed"
    );
    assert!(rss < 150 * MIB, "peak RSS {} MiB", rss / MIB);
}
