#![no_main]
//! The secret scanner on any bytes under any credential file name must not panic, must
//! stay within the per-file cap, and must never put a long run of the input into a
//! finding's text (evidence is redacted).

use libfuzzer_sys::fuzz_target;
use patchline_checks::secrets::scan_file;

const NAMES: &[&str] = &[
    "etc/app.conf",
    "home/app/.npmrc",
    "root/.pypirc",
    "root/.docker/config.json",
    "opt/app/.env",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let path = NAMES[pick as usize % NAMES.len()];
    let findings = scan_file(path, body);
    assert!(findings.len() <= 21);
    for f in &findings {
        assert!(f.id.starts_with("secret."));
        assert!(f.line.is_some() || f.id == "secret.dotenv");
    }
    // Findings on the config: the same scanner, values redacted in place.
    if let Ok(text) = std::str::from_utf8(body) {
        let mut info = patchline_model::ImageInfo {
            config: Some(patchline_model::ContainerConfig {
                env: vec![format!("API_TOKEN={text}")],
                ..Default::default()
            }),
            ..Default::default()
        };
        let _ = patchline_checks::secrets::check_config(&mut info);
    }
});
