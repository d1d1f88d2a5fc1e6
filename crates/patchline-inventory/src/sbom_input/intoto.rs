//! SBOMs inside in-toto attestations, as `cosign attest --type cyclonedx|spdxjson`,
//! `cosign download attestation` and `docker buildx build --sbom` write them.
//!
//! Read: an in-toto Statement (`_type` `https://in-toto.io/Statement/v0.1` or `/v1`)
//! whose `predicateType` is CycloneDX (`https://cyclonedx.org/bom`, `.../bom/v1.x`) or
//! SPDX (`https://spdx.dev/Document`, `.../Document/v2.x`), either as plain JSON or
//! inside a DSSE envelope (`payloadType: application/vnd.in-toto+json`, `payload` in
//! base64); and a file of such envelopes or statements, one a line (`cosign download
//! attestation`), of which the SBOM ones are kept: the first is read, the others and the
//! attestations of other predicate types (provenance, vulnerability scans) are named in
//! a warning. The predicate is read as any SBOM file is (JSON, or CycloneDX XML in a
//! string), except that it cannot be another attestation; cosign 1's `{"Data": SBOM}` wrapping of the predicate is
//! unwrapped.
//!
//! **Signatures are not verified**: the envelope's signatures are neither checked nor
//! required, and the inventory carries a warning saying so. Verify the attestation
//! (`cosign verify-attestation`) before trusting what it says.

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::*;

pub(super) const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

/// DSSE allows standard or URL-safe base64, padded or not.
const PADDING_INDIFFERENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, PADDING_INDIFFERENT);
const URL_SAFE: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::URL_SAFE, PADDING_INDIFFERENT);

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(rename = "predicateType", default)]
    predicate_type: String,
    #[serde(default)]
    subject: Vec<Subject>,
    #[serde(default)]
    predicate: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Subject {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

/// cosign before 2.0 wrapped every predicate as `{"Data": ..., "Timestamp": ...}`, the
/// SBOM as an object, or as a string when the predicate file was not JSON.
#[derive(Deserialize)]
struct CosignData {
    #[serde(rename = "Data")]
    data: Option<Box<RawValue>>,
    #[serde(rename = "bomFormat")]
    bom_format: Option<IgnoredAny>,
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<IgnoredAny>,
}

/// One statement, and how it came.
struct Attestation {
    statement: Statement,
    /// `None` for a plain statement, else the envelope's signature count.
    signatures: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Predicate {
    CycloneDx,
    Spdx,
}

fn predicate_kind(t: &str) -> Option<Predicate> {
    let t = t.trim();
    let is = |base: &str| {
        t == base
            || t.strip_prefix(base)
                .and_then(|r| r.strip_prefix("/v"))
                .is_some_and(|v| !v.is_empty())
    };
    if is("https://cyclonedx.org/bom") {
        Some(Predicate::CycloneDx)
    } else if is("https://spdx.dev/Document") {
        Some(Predicate::Spdx)
    } else {
        None
    }
}

fn invalid(origin: &str, message: String) -> SbomInputError {
    SbomInputError::Invalid {
        origin: origin.into(),
        format: "in-toto attestation".into(),
        message,
    }
}

/// One DSSE envelope or in-toto statement (the probe said which).
pub(super) fn read(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    let att = attestation(bytes, origin, "")?;
    read_attestation(att, origin, Vec::new())
}

/// A file of envelopes or statements, one a line.
pub(super) fn read_lines(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    let mut sboms = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = format!("line {}: ", i + 1);
        let att = attestation(line, origin, &at)?;
        if predicate_kind(&att.statement.predicate_type).is_some() {
            sboms.push(att);
        } else {
            others.push(short(&att.statement.predicate_type));
        }
    }
    let mut sboms = sboms.into_iter();
    let Some(first) = sboms.next() else {
        return Err(SbomInputError::Unsupported {
            origin: origin.into(),
            what: if others.is_empty() {
                "file of JSON lines without any attestation".into()
            } else {
                format!(
                    "attestations: none of the {} is an SBOM (predicate types {}; CycloneDX \
                     and SPDX SBOM attestations are read)",
                    others.len(),
                    others.join(", ")
                )
            },
        });
    };
    let mut notes = Vec::new();
    let rest = sboms.len();
    if rest > 0 {
        notes.push(format!(
            "{rest} more SBOM attestation{} in the file not read: only the first is",
            if rest == 1 { "" } else { "s" }
        ));
    }
    if !others.is_empty() {
        notes.push(format!(
            "{} attestation{} that {} not SBOMs skipped ({})",
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            if others.len() == 1 { "is" } else { "are" },
            others.join(", ")
        ));
    }
    read_attestation(first, origin, notes)
}

/// Unwraps an envelope if it is one, and parses the statement.
fn attestation(bytes: &[u8], origin: &str, at: &str) -> Result<Attestation, SbomInputError> {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "payloadType")]
        payload_type: Option<IgnoredAny>,
    }
    let shape: Shape = serde_json::from_slice(bytes).map_err(|e| SbomInputError::NotJson {
        origin: origin.into(),
        message: format!("{at}{e}"),
    })?;
    if shape.payload_type.is_none() {
        let statement = statement(bytes, origin, at)?;
        return Ok(Attestation {
            statement,
            signatures: None,
        });
    }
    let env: Envelope = typed(bytes, origin, "DSSE envelope").map_err(|e| prefix(e, at))?;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(SbomInputError::Unsupported {
            origin: origin.into(),
            what: format!(
                "{at}DSSE payloadType {} (expected {PAYLOAD_TYPE})",
                short(&env.payload_type)
            ),
        });
    }
    let payload = env.payload.trim();
    let decoded = STANDARD
        .decode(payload)
        .or_else(|e| URL_SAFE.decode(payload).map_err(|_| e))
        .map_err(|e| invalid(origin, format!("{at}the DSSE payload is not base64: {e}")))?;
    let statement = statement(&decoded, origin, &format!("{at}DSSE payload: "))?;
    Ok(Attestation {
        statement,
        signatures: Some(env.signatures.len()),
    })
}

fn prefix(e: SbomInputError, at: &str) -> SbomInputError {
    match e {
        SbomInputError::Invalid {
            origin,
            format,
            message,
        } if !at.is_empty() => SbomInputError::Invalid {
            origin,
            format,
            message: format!("{at}{message}"),
        },
        e => e,
    }
}

fn statement(bytes: &[u8], origin: &str, at: &str) -> Result<Statement, SbomInputError> {
    let s: Statement = serde_json::from_slice::<Statement>(bytes)
        .map_err(|e| invalid(origin, format!("{at}not an in-toto statement: {e}")))?;
    if !STATEMENT_TYPES.contains(&s.kind.as_str()) {
        return Err(SbomInputError::Unsupported {
            origin: origin.into(),
            what: format!(
                "{at}in-toto statement _type {} (expected {})",
                short(&s.kind),
                STATEMENT_TYPES.join(" or ")
            ),
        });
    }
    Ok(s)
}

fn read_attestation(
    att: Attestation,
    origin: &str,
    notes: Vec<String>,
) -> Result<Inventory, SbomInputError> {
    let st = att.statement;
    let Some(kind) = predicate_kind(&st.predicate_type) else {
        return Err(SbomInputError::Unsupported {
            origin: origin.into(),
            what: format!(
                "in-toto predicate type {}: only SBOM attestations are read (CycloneDX \
                 https://cyclonedx.org/bom, SPDX https://spdx.dev/Document)",
                short(&st.predicate_type)
            ),
        });
    };
    let Some(predicate) = st.predicate else {
        return Err(invalid(
            origin,
            format!(
                "the {} statement has no predicate",
                short(&st.predicate_type)
            ),
        ));
    };
    let raw = predicate.get().as_bytes();
    let wrapped: Option<CosignData> = serde_json::from_slice(raw).ok();
    if let Some(w) = &wrapped {
        let other = match kind {
            Predicate::CycloneDx => w.spdx_version.as_ref().map(|_| "an SPDX document"),
            Predicate::Spdx => w.bom_format.as_ref().map(|_| "a CycloneDX document"),
        };
        if let Some(other) = other {
            return Err(invalid(
                origin,
                format!(
                    "the predicate of a {} statement is {other}",
                    short(&st.predicate_type)
                ),
            ));
        }
    }
    let mut inv = match wrapped {
        Some(CosignData {
            data: Some(data),
            bom_format: None,
            spdx_version: None,
        }) => match serde_json::from_str::<String>(data.get()) {
            Ok(text) => parse_inner(text.as_bytes(), origin, Nesting::Predicate)?,
            Err(_) => parse_inner(data.get().as_bytes(), origin, Nesting::Predicate)?,
        },
        _ => parse_inner(raw, origin, Nesting::Predicate)?,
    };

    let subject = st.subject.first();
    if let Some(s) = subject {
        if inv.image.reference == origin && !s.name.is_empty() {
            inv.image.reference = s.name.clone();
        }
        if inv.image.manifest_digest.is_none() {
            inv.image.manifest_digest = s
                .digest
                .iter()
                .find_map(|(alg, hex)| format!("{alg}:{hex}").parse().ok());
        }
    }
    let how = match att.signatures {
        None => "an unsigned in-toto statement".to_string(),
        Some(n) => format!(
            "a DSSE envelope with {n} signature{}",
            if n == 1 { "" } else { "s" }
        ),
    };
    let of = subject
        .map(|s| format!(" for {}", short(&s.name)))
        .unwrap_or_default();
    warn(
        &mut inv,
        origin,
        format!(
            "SBOM read from {how}{of} (predicate type {}): signatures are not verified; verify \
             the attestation (cosign verify-attestation) before trusting it",
            short(&st.predicate_type)
        ),
    );
    for n in notes {
        warn(&mut inv, origin, n);
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicate_types() {
        for t in [
            "https://cyclonedx.org/bom",
            "https://cyclonedx.org/bom/v1.4",
            "https://cyclonedx.org/bom/v1.6",
        ] {
            assert!(predicate_kind(t) == Some(Predicate::CycloneDx), "{t}");
        }
        for t in [
            "https://spdx.dev/Document",
            "https://spdx.dev/Document/v2.3",
        ] {
            assert!(predicate_kind(t) == Some(Predicate::Spdx), "{t}");
        }
        for t in [
            "https://slsa.dev/provenance/v0.2",
            "https://cyclonedx.org/vex",
            "https://cyclonedx.org/bomb",
            "https://cyclonedx.org/bom/",
            "https://cosign.sigstore.dev/attestation/vuln/v1",
        ] {
            assert!(predicate_kind(t).is_none(), "{t}");
        }
    }
}
