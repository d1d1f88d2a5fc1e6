//! Layer chain IDs, as the OCI image specification defines them (config.md, "Layer
//! ChainID"):
//!
//! ```text
//! ChainID(L0)          = DiffID(L0)
//! ChainID(L0|...|Ln)   = Digest(ChainID(L0|...|Ln-1) + " " + DiffID(Ln))
//! ```
//!
//! The digest is SHA-256 over the two digest strings in their `algorithm:hex` form
//! joined by one space. A chain ID names a whole stack of layers, so two images share
//! their first k+1 layers exactly when their k-th chain IDs are equal: comparing one
//! digest replaces comparing k+1.

use patchline_model::Digest;
use sha2::{Digest as _, Sha256};

/// The chain ID of every prefix of `diff_ids`: element k names layers 0..=k.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => next_chain_id(prev, d),
        };
        out.push(next);
    }
    out
}

/// `Digest(previous + " " + diff_id)`.
pub fn next_chain_id(previous: &Digest, diff_id: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update(previous.algorithm().as_str().as_bytes());
    h.update(b":");
    h.update(previous.hex().as_bytes());
    h.update(b" ");
    h.update(diff_id.algorithm().as_str().as_bytes());
    h.update(b":");
    h.update(diff_id.hex().as_bytes());
    sha256_digest(&h.finalize())
}

/// A `sha256:` digest from hash bytes, hex-encoded in one pass (a catalog computes
/// hundreds of thousands of these).
fn sha256_digest(bytes: &[u8]) -> Digest {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(7 + 2 * bytes.len());
    s.push_str("sha256:");
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s.parse()
        .unwrap_or_else(|_| Digest::sha256_from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        s.parse().unwrap()
    }

    /// Values computed outside Rust from the definition, with coreutils:
    /// `printf 'sha256:A sha256:B' | sha256sum`.
    #[test]
    fn matches_the_spec_definition() {
        // The diff_ids of the real fixture `child` (scripts/build-fixtures.sh).
        let l0 = d("sha256:10a77f60f2818ddb05e04841c0e081603a1f7b7a77d45c1509d58351fefb4f20");
        let l1 = d("sha256:0e1d001a3ef9922903f6d49adf91c52f6f9f34dafd63c4fd3d27e4be0d646367");
        // sha256 of the empty string, as a third layer.
        let l2 = d("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let ids = chain_ids(&[l0.clone(), l1.clone(), l2.clone()]);
        assert_eq!(ids[0], l0, "ChainID(L0) = DiffID(L0)");
        assert_eq!(
            ids[1],
            d("sha256:c369c675b404d9405e84e94f59485490c26d713eed399d2b582fb280e07a2fe4"),
            "sha256(\"sha256:10a7… sha256:0e1d…\")"
        );
        assert_eq!(
            ids[2],
            d("sha256:38e28978572ef14832113b1fde4949e1bf52f21da67bc0e07e7ce747828cb11d")
        );
        assert!(chain_ids(&[]).is_empty());
    }

    #[test]
    fn equal_prefixes_equal_chain_ids() {
        let a = d("sha256:1111111111111111111111111111111111111111111111111111111111111111");
        let b = d("sha256:2222222222222222222222222222222222222222222222222222222222222222");
        let c = d("sha256:3333333333333333333333333333333333333333333333333333333333333333");
        let x = chain_ids(&[a.clone(), b.clone(), c.clone()]);
        let y = chain_ids(&[a.clone(), b.clone()]);
        let z = chain_ids(&[b.clone(), a.clone()]);
        assert_eq!(x[..2], y[..]);
        // Order matters: the same layers stacked differently are another filesystem.
        assert_ne!(x[1], z[1]);
    }
}
