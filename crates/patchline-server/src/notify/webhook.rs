//! The signature of generic webhook deliveries.
//!
//! Every POST carries `X-Patchline-Signature: t=<unix seconds>,v1=<hex>` where the hex is
//! HMAC-SHA256, keyed with the team's secret, over the bytes `"<t>.<body>"`. Signing the
//! time with the body lets a receiver refuse a replay: it recomputes the MAC, compares
//! it in constant time, and refuses a `t` further than its tolerance from its own clock
//! (five minutes is usual). [`verify`] is the reference receiver.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "X-Patchline-Signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: new_from_slice cannot fail for it.
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value for `body` sent at `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

/// Why a delivery is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed signature header")]
    Malformed,
    #[error("signature time is {0} s away from now, beyond the tolerance")]
    Stale(i64),
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks a delivery as a receiver should: header well formed, `t` within `tolerance`
/// seconds of `now`, and one of its `v1` MACs equal (constant time) to the one computed
/// over `"<t>.<body>"`. Several `v1=` entries are allowed (a secret being rotated).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), VerifyError> {
    if header.len() > 1024 {
        return Err(VerifyError::Malformed);
    }
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| VerifyError::Malformed)?),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            Some(_) => {}
            None => return Err(VerifyError::Malformed),
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if sigs.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let skew = now.saturating_sub(t).saturating_abs();
    if skew > tolerance {
        return Err(VerifyError::Stale(skew));
    }
    let ok = sigs
        .iter()
        .any(|s| mac(secret, t, body).verify_slice(s).is_ok());
    if ok {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_tampering_and_replays() {
        let body = br#"{"kind":"fix"}"#;
        let h = sign(b"s3cret", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(verify(b"s3cret", &h, body, 1_700_000_100, 300), Ok(()));
        assert_eq!(
            verify(b"s3cret", &h, br#"{"kind":"fiz"}"#, 1_700_000_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &h, body, 1_700_000_100, 300),
            Err(VerifyError::Mismatch)
        );
        // The time is signed: moving it breaks the MAC; an old one is refused.
        let moved = h.replace("t=1700000000", "t=1700000100");
        assert_eq!(
            verify(b"s3cret", &moved, body, 1_700_000_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &h, body, 1_700_001_000, 300),
            Err(VerifyError::Stale(1000))
        );
        for bad in ["", "t=x,v1=00", "v1=00", "t=1", "t=1,v1=zz", "garbage"] {
            assert_eq!(
                verify(b"s3cret", bad, body, 1, 300),
                Err(VerifyError::Malformed),
                "{bad}"
            );
        }
        // A rotated secret: either MAC is accepted.
        let two = format!(
            "{},v1={}",
            sign(b"new", 5, body),
            &sign(b"s3cret", 5, body)[7..]
        );
        assert_eq!(verify(b"s3cret", &two, body, 5, 300), Ok(()));
    }
}
