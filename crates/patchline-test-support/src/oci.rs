//! OCI image layouts written by tests: layers streamed to disk (so a test can build an
//! image of hundreds of megabytes without holding it), then config, manifest and
//! `index.json`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// A layer blob in a layout's `blobs/sha256`.
#[derive(Clone, Debug)]
pub struct Layer {
    /// `sha256:...` of the blob as stored.
    pub digest: String,
    pub size: u64,
    /// `sha256:...` of the uncompressed tar.
    pub diff_id: String,
    pub media_type: &'static str,
}

/// Hashes what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn blobs(dir: &Path) -> PathBuf {
    let b = dir.join("blobs/sha256");
    std::fs::create_dir_all(&b).expect("create blobs/sha256");
    b
}

/// Streams the uncompressed tar that `write_tar` writes through gzip (fastest level) into
/// a blob of the layout at `dir`.
pub fn gzip_layer(dir: &Path, write_tar: impl FnOnce(&mut dyn Write)) -> Layer {
    let blobs = blobs(dir);
    let tmp = blobs.join(".incoming");
    let file = std::fs::File::create(&tmp).expect("create layer blob");
    let stored = Hashing {
        inner: io::BufWriter::new(file),
        hasher: Sha256::new(),
        count: 0,
    };
    let gz = flate2::write::GzEncoder::new(stored, flate2::Compression::fast());
    let mut plain = Hashing {
        inner: gz,
        hasher: Sha256::new(),
        count: 0,
    };
    write_tar(&mut plain);
    let diff_id = format!("sha256:{}", hex(plain.hasher));
    let mut stored = plain.inner.finish().expect("finish gzip");
    stored.flush().expect("flush layer blob");
    let size = stored.count;
    let digest = hex(stored.hasher);
    std::fs::rename(&tmp, blobs.join(&digest)).expect("name layer blob");
    Layer {
        digest: format!("sha256:{digest}"),
        size,
        diff_id,
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
    }
}

/// Stores `bytes` as a blob; returns its digest.
pub fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    let d = hex(h);
    std::fs::write(blobs(dir).join(&d), bytes).expect("write blob");
    format!("sha256:{d}")
}

/// Writes config, manifest, `index.json` (tagging the manifest `tag`) and `oci-layout`
/// for an amd64 Linux image of `layers`; the image is then `oci:DIR:TAG`.
pub fn write_layout(dir: &Path, tag: &str, layers: &[Layer]) {
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("write oci-layout");
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("\"{}\"", l.diff_id))
        .collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[{}]}},"config":{{"Labels":{{"a":"b"}}}}}}"#,
        diff_ids.join(",")
    );
    let cd = put_blob(dir, config.as_bytes());
    let descs: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
                l.media_type, l.digest, l.size
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{}]}}"#,
        config.len(),
        descs.join(",")
    );
    let md = put_blob(dir, manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#,
        manifest.len()
    );
    std::fs::write(dir.join("index.json"), index).expect("write index.json");
}
