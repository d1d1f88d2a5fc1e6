//! `docs/checks.md` lists every check, one line each with its id, severity, title and
//! fix, in `all_checks()` order: it is generated from the code and this test keeps the
//! two in step. `PATCHLINE_UPDATE_DOCS=1 cargo test -p patchline-checks --test docs`
//! rewrites it.

use std::path::PathBuf;

use patchline_checks::{all_checks, CheckKind};

const HEAD: &str = "# Checks\n\n\
Every security check patchline runs beside vulnerability matching, with its stable id,\n\
default severity, what it finds and the one-line fix. Ids never change meaning; a\n\
retired check keeps its id unused. Check findings share the report formats: table,\n\
JSON (`checks[]`: id, severity, title, message, fix, layer, path, line, removed_in,\n\
evidence), SARIF (one rule per check id) and CycloneDX (properties).\n\n\
Scanners (`patchline scan --scanners vuln,checks,secrets`, all by default): `checks`\n\
runs the `config`, `fs` and `containerfile` checks (the last with `--containerfile\n\
FILE`), `secrets` the `secret` checks. Secrets are found in files of every layer,\n\
also files a later layer deleted (the image still ships them: the finding names the\n\
layer that holds the file and the layer that deleted it), and in the config's\n\
environment and labels. Matched values are redacted in every output.\n\n\
This file is generated from the code (`crates/patchline-checks`):\n\
`PATCHLINE_UPDATE_DOCS=1 cargo test -p patchline-checks --test docs`.\n";

fn render() -> String {
    let mut s = HEAD.to_string();
    let mut kind = None;
    for c in all_checks() {
        let k = CheckKind::of_id(c.id);
        if k != kind {
            kind = k;
            let title = match k {
                Some(CheckKind::Config) => "Image configuration (`config.*`)",
                Some(CheckKind::Fs) => "Filesystem (`fs.*`)",
                Some(CheckKind::Secret) => "Secrets (`secret.*`)",
                Some(CheckKind::Containerfile) => "Containerfile lint (`containerfile.*`)",
                None => "Other",
            };
            s.push_str(&format!("\n## {title}\n\n"));
        }
        s.push_str(&format!(
            "- `{}` ({}): {}. Fix: {}\n",
            c.id,
            c.severity.as_str(),
            c.title.trim_end_matches('.'),
            c.fix
        ));
    }
    s
}

#[test]
fn docs_checks_md_lists_every_check() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let want = render();
    if std::env::var_os("PATCHLINE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/checks.md is out of date; regenerate it with PATCHLINE_UPDATE_DOCS=1 cargo test -p patchline-checks --test docs"
    );
}
