//! One positive and near-miss negatives per format. Tokens are assembled at run time
//! from a made-up character sequence: fake, but of the documented shape.

use super::*;
use patchline_model::ContainerConfig;

/// `n` characters of base62, deterministic and obviously made up.
fn fake(n: usize) -> String {
    const A: &[u8] = b"Zq8Xw3Ve5Rt7Yu1Io9Pa2Sd4Fg6Hj0KlMnBvCx";
    (0..n).map(|i| A[(i * 7 + 3) % A.len()] as char).collect()
}

fn kinds(text: &str) -> Vec<Kind> {
    patterns::dedupe(patterns::find(text.as_bytes()))
        .into_iter()
        .map(|m| m.kind)
        .collect()
}

fn ids(path: &str, text: &str) -> Vec<String> {
    scan_file(path, text.as_bytes())
        .into_iter()
        .map(|f| f.id)
        .collect()
}

#[test]
fn github_tokens_of_every_prefix() {
    for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        assert_eq!(kinds(&format!("token: {p}{}\n", fake(36))), [Kind::Github]);
        // Too short, glued to a word, or a prefix only.
        assert!(kinds(&format!("{p}{}", fake(30))).is_empty(), "{p}");
        assert!(kinds(&format!("x{p}{}", fake(36))).is_empty(), "{p}");
        assert!(kinds(p).is_empty());
    }
    let pat = format!("github_pat_{}_{}", fake(22), fake(59));
    assert_eq!(kinds(&format!("GH={pat}")), [Kind::Github]);
    assert!(kinds(&format!("github_pat_{}", fake(30))).is_empty());
}

#[test]
fn gitlab_slack_stripe_npm_pypi() {
    assert_eq!(kinds(&format!("glpat-{}", fake(20))), [Kind::Gitlab]);
    assert!(kinds(&format!("glpat-{}", fake(12))).is_empty());
    let slack = format!("xoxb-{}-{}-{}", "123456789012", "1234567890123", fake(24));
    assert_eq!(kinds(&slack), [Kind::Slack]);
    assert_eq!(
        kinds(&format!(
            "xapp-1-A{}-{}-{}",
            fake(10),
            "1234567890123",
            fake(64)
        )),
        [Kind::Slack]
    );
    // The prefix in prose, and a short made-up value.
    assert!(kinds("tokens start with xoxb- or xoxp-").is_empty());
    assert!(kinds("xoxb-123-abc").is_empty());
    assert_eq!(kinds(&format!("sk_live_{}", fake(24))), [Kind::Stripe]);
    assert_eq!(kinds(&format!("rk_live_{}", fake(99))), [Kind::Stripe]);
    assert!(kinds(&format!("sk_test_{}", fake(24))).is_empty());
    assert!(kinds("sk_live_short").is_empty());
    assert_eq!(kinds(&format!("npm_{}", fake(36))), [Kind::Npm]);
    assert!(kinds(&format!("npm_{}", fake(37))).is_empty());
    assert!(kinds("npm_config_cache=/tmp").is_empty());
    assert_eq!(
        kinds(&format!("password = pypi-AgEIcHlwaS5vcmc{}", fake(120))),
        [Kind::Pypi]
    );
    assert_eq!(
        kinds(&format!("pypi-AgENdGVzdC5weXBpLm9yZw{}", fake(80))),
        [Kind::Pypi]
    );
    assert!(kinds("pypi-AgEIcHlwaS5vcmc").is_empty());
    assert!(kinds("pip install pypi-foo").is_empty());
}

#[test]
fn aws_keys_and_near_misses() {
    let creds = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    assert_eq!(kinds(creds), [Kind::AwsAccessKey, Kind::AwsSecretKey]);
    let f = scan_file("root/.aws/credentials", creds.as_bytes());
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].line, f[1].line), (Some(2), Some(3)));
    assert_eq!(f[0].evidence.as_deref(), Some("AKIA************MPLE"));
    assert_eq!(kinds("ASIAY34FZKBOKMUTVV7A"), [Kind::AwsAccessKey]);
    assert_eq!(
        kinds("export AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\""),
        [Kind::AwsSecretKey]
    );
    assert_eq!(
        kinds("{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}"),
        [Kind::AwsSecretKey]
    );
    // 15 or 17 characters, lower case, a word that starts with AKIA.
    assert!(kinds("AKIAIOSFODNN7EXAMPL").is_empty());
    assert!(kinds("AKIAIOSFODNN7EXAMPLEX").is_empty());
    assert!(kinds("akiaiosfodnn7example").is_empty());
    assert!(kinds("AKIAIOSFODNN7EXAMPLEs").is_empty());
    assert!(kinds("aws_secret_access_key = ${AWS_SECRET}").is_empty());
    assert!(kinds("aws_secret_access_key = tooshort").is_empty());
}

fn pem(label: &str) -> String {
    let body: String = (0..4).map(|_| format!("{}\n", fake(64))).collect();
    format!("-----BEGIN {label}-----\n{body}-----END {label}-----\n")
}

#[test]
fn private_key_blocks() {
    for label in [
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ] {
        let f = scan_file("etc/app/key.pem", pem(label).as_bytes());
        assert_eq!(f.len(), 1, "{label}");
        assert_eq!(f[0].id, "secret.private-key");
        assert_eq!(
            f[0].evidence.as_deref(),
            Some(format!("-----BEGIN {label}-----").as_str())
        );
    }
    // Legacy encrypted PEM: headers and a blank line before the body.
    let enc = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n{}\n-----END RSA PRIVATE KEY-----\n",
        fake(64)
    );
    assert_eq!(kinds(&enc), [Kind::PrivateKey]);
    // PGP armor: a Version header and a blank line.
    let pgp = format!(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n",
        fake(64)
    );
    assert_eq!(kinds(&pgp), [Kind::PrivateKey]);
    // Public keys, certificates, a header without a body (documentation, code).
    assert!(kinds(&pem("PUBLIC KEY")).is_empty());
    assert!(kinds(&pem("CERTIFICATE")).is_empty());
    assert!(kinds(&pem("PGP PUBLIC KEY BLOCK")).is_empty());
    assert!(kinds("if line == \"-----BEGIN RSA PRIVATE KEY-----\":\n    return True\n").is_empty());
    assert!(kinds("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----").is_empty());
}

#[test]
fn gcp_service_account_json_is_one_finding() {
    let json = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n{}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"a@p.iam.gserviceaccount.com\"\n}}\n",
        fake(40),
        fake(64),
        fake(64)
    );
    let f = scan_file("opt/app/sa.json", json.as_bytes());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].id, "secret.gcp-service-account");
    assert_eq!(f[0].line, Some(2));
    assert_eq!(
        f[0].evidence.as_deref(),
        Some("\"type\": \"service_account\"")
    );
    // Without the key it is a service account's name, not a credential.
    assert!(kinds("{\"type\": \"service_account\", \"client_email\": \"a@b\"}").is_empty());
    // The key alone in JSON is still a private key.
    let only_key = format!(
        "{{\"key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}}",
        fake(64)
    );
    assert_eq!(kinds(&only_key), [Kind::PrivateKey]);
}

#[test]
fn registry_credential_files() {
    let npm = format!(
        "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=npm_{}\n",
        fake(36)
    );
    assert_eq!(ids("home/app/.npmrc", &npm), ["secret.npm-token"]);
    let legacy = "//npm.example.com/:_authToken=0123-made-up-value\n_auth = dXNlcjpwYXNz\n";
    assert_eq!(
        ids("home/app/.npmrc", legacy),
        ["secret.registry-credentials", "secret.registry-credentials"]
    );
    assert!(ids(
        "home/app/.npmrc",
        "//r/:_authToken=${NPM_TOKEN}\n# _auth=x\n"
    )
    .is_empty());
    // Outside .npmrc the same line is not judged as a login.
    assert!(ids("home/app/notes.txt", legacy).is_empty());
    let pypirc = "[pypi]\nusername = me\npassword = hunter2-made-up\n";
    assert_eq!(ids("root/.pypirc", pypirc), ["secret.registry-credentials"]);
    let docker = "{\"auths\": {\"r.example.com\": {\"auth\": \"ZGVwbG95Om1hZGUtdXA=\"}}}";
    let f = scan_file("root/.docker/config.json", docker.as_bytes());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "secret.registry-credentials");
    assert!(!serde_json::to_string(&f)
        .unwrap()
        .contains("ZGVwbG95Om1hZGUtdXA="));
    let store = "{\"auths\": {\"r.example.com\": {}}, \"credsStore\": \"pass\"}";
    assert!(ids("root/.docker/config.json", store).is_empty());
}

#[test]
fn dotenv_files() {
    let env = format!(
        "# settings\nAPP_ENV=production\nexport SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-{}\nEMPTY=\n",
        fake(24)
    );
    assert_eq!(
        ids("opt/app/.env", &env),
        ["secret.dotenv", "secret.slack-token"]
    );
    let f = scan_file("opt/app/.env", env.as_bytes());
    assert!(
        f[0].message.contains("APP_ENV, SLACK_BOT_TOKEN"),
        "{}",
        f[0].message
    );
    assert_eq!(f[1].line, Some(3));
    assert_eq!(ids("srv/.env.production", "A=1\n"), ["secret.dotenv"]);
    assert!(ids("srv/.env.example", "A=1\n").is_empty());
    assert!(ids("srv/.env", "# nothing set\nA=\n").is_empty());
}

#[test]
fn binaries_and_skipped_paths() {
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend(format!("ghp_{}", fake(36)).bytes());
    assert!(scan_file("usr/bin/tool", &elf).is_empty());
    let i = SecretInspector::default();
    use patchline_inventory::Inspector as _;
    assert!(i.wants_content("etc/app.conf", 0o644, 10));
    assert!(i.wants_content("home/app/.npmrc", 0o600, 10));
    assert!(!i.wants_content("etc/app.conf", 0o644, 0));
    assert!(!i.wants_content("usr/share/doc/x/README", 0o644, 10));
    assert!(!i.wants_content("usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, 10));
    assert!(!i.wants_content("usr/share/locale/de/LC_MESSAGES/x.mo", 0o644, 10));
    assert!(!i.wants_content("usr/lib/python3/dist-packages/six.py", 0o644, 10));
    assert!(i.wants_content("usr/local/lib/python3.11/site-packages/app.py", 0o644, 10));
    // A large executable is compiled; a script is read.
    assert!(!i.wants_content("usr/local/bin/tool", 0o755, 1 << 20));
    assert!(i.wants_content("usr/local/bin/deploy.sh", 0o755, 2000));
}

#[test]
fn findings_never_show_the_secret() {
    let token = format!("ghp_{}", fake(36));
    let f = scan_file("a.txt", format!("x {token}\n").as_bytes());
    let json = serde_json::to_string(&f).unwrap();
    assert!(!json.contains(&token));
    assert!(!json.contains(&token[8..32]));
}

#[test]
fn config_env_and_labels_are_checked_and_redacted() {
    let gh = format!("ghp_{}", fake(36));
    let mut info = ImageInfo {
        config: Some(ContainerConfig {
            env: vec![
                "PATH=/usr/local/bin:/usr/bin".into(),
                format!("GITHUB_TOKEN={gh}"),
                "DB_PASSWORD=made-up-pass".into(),
                "PASSWORD_FILE=/run/secrets/db".into(),
                "API_TOKEN=".into(),
            ],
            ..ContainerConfig::default()
        }),
        ..ImageInfo::default()
    };
    info.labels
        .insert("org.opencontainers.image.title".into(), "app".into());
    info.labels.insert(
        "com.example.deploy".into(),
        format!("url=https://x token={gh}"),
    );
    info.labels
        .insert("com.example.api-key".into(), "made-up-api-key".into());
    let f = check_config(&mut info);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("secret.github-token", "config.Env"),
            ("secret.config-credential", "config.Env"),
            ("secret.config-credential", "config.Labels"),
            ("secret.github-token", "config.Labels"),
        ]
    );
    assert!(f[0].message.contains("GITHUB_TOKEN"));
    assert!(f[2].message.contains("com.example.api-key"));
    let all = serde_json::to_string(&(&f, &info)).unwrap();
    for secret in [gh.as_str(), "made-up-pass", "made-up-api-key"] {
        assert!(!all.contains(secret), "{secret} shown: {all}");
    }
    let env = &info.config.as_ref().unwrap().env;
    assert_eq!(env[0], "PATH=/usr/local/bin:/usr/bin");
    assert!(env[1].starts_with("GITHUB_TOKEN=ghp_") && env[1].contains("****"));
    assert_eq!(env[3], "PASSWORD_FILE=/run/secrets/db");
    assert!(info.labels["com.example.deploy"].starts_with("url=https://x token=ghp_"));
    assert_eq!(info.labels["org.opencontainers.image.title"], "app");
}

#[test]
fn line_numbers_and_the_per_file_cap() {
    let many: String = (0..50).map(|_| format!("npm_{}\n", fake(36))).collect();
    let f = scan_file("x.txt", many.as_bytes());
    assert_eq!(f.len(), MAX_FINDINGS_PER_FILE);
    assert_eq!(f[3].line, Some(4));
}

/// A cheap stand-in for the fuzz target in every `cargo test`: keywords spliced into
/// random bytes, under every credential file name, must not panic, stay within the cap
/// and keep every reported span inside the input.
#[test]
fn random_splices_of_keywords_do_not_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let names = [
        "etc/a.conf",
        "home/app/.npmrc",
        "root/.pypirc",
        "root/.docker/config.json",
        "opt/.env",
    ];
    for _ in 0..20_000 {
        let mut buf = Vec::new();
        for _ in 0..(next() % 6) {
            match next() % 4 {
                0 => {
                    let (k, _) = patterns::KEYWORDS[(next() as usize) % patterns::KEYWORDS.len()];
                    buf.extend_from_slice(k.as_bytes());
                }
                1 => buf
                    .extend((0..next() % 80).map(|_| b"Aa0_-/+=:\"\\n \n"[(next() % 14) as usize])),
                2 => buf.extend((0..next() % 40).map(|_| next() as u8)),
                _ => buf.extend_from_slice(fake((next() % 70) as usize).as_bytes()),
            }
        }
        let name = names[(next() as usize) % names.len()];
        let f = scan_file(name, &buf);
        assert!(f.len() <= MAX_FINDINGS_PER_FILE + 1);
        for m in patterns::find(&buf) {
            assert!(m.start < m.end && m.end <= buf.len());
        }
        if let Ok(s) = std::str::from_utf8(&buf) {
            let mut info = ImageInfo {
                config: Some(ContainerConfig {
                    env: vec![format!("X_TOKEN={s}")],
                    ..ContainerConfig::default()
                }),
                ..ImageInfo::default()
            };
            check_config(&mut info);
        }
    }
}
