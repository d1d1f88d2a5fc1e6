//! The token formats, each as a keyword (what the one-pass prefilter looks for) and a
//! rule that checks the exact format around it. Every format is the one its provider
//! documents (URL beside each rule); a token is only taken whole, bounded by characters
//! outside its alphabet, so a longer or shorter run of the same characters is not one.
//! Checksums embedded in some tokens (GitHub, npm) are not verified: a token that
//! fails its checksum is still a leaked credential-shaped string worth a look.

use super::{automaton, contains};

/// The kind of secret a rule finds; one check each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    PrivateKey,
    AwsAccessKey,
    AwsSecretKey,
    GcpServiceAccount,
    Github,
    Gitlab,
    Slack,
    Stripe,
    Npm,
    Pypi,
    RegistryCredentials,
}

/// A secret at `start..end` (byte offsets) of the scanned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// How the text at a keyword is checked.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// The keyword starts the token; then `min..=max` characters of `alphabet`.
    Prefixed {
        kind: Kind,
        alphabet: fn(u8) -> bool,
        min: usize,
        max: usize,
    },
    /// Slack: the keyword, then dash-separated segments.
    Slack,
    /// AWS access key id: the four-letter keyword and 16 upper-case letters or digits.
    AwsKeyId,
    /// The name of the AWS secret key setting, then `=`/`:` and 40 base64 characters.
    AwsSecret,
    /// `-----BEGIN ... PRIVATE KEY-----` followed by a base64 body.
    PemBegin,
    /// `"type": "service_account"` in a JSON file that also has `"private_key"`.
    GcpType,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn gitlab_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

const fn github(min: usize) -> Rule {
    Rule::Prefixed {
        kind: Kind::Github,
        alphabet: alnum,
        min,
        // GitHub reserves growth up to 255 characters in all.
        max: 251,
    }
}

const GITLAB: Rule = Rule::Prefixed {
    kind: Kind::Gitlab,
    alphabet: gitlab_alphabet,
    min: 20,
    max: 300,
};

/// Every keyword and its rule. The keyword is matched case-sensitively.
pub const KEYWORDS: &[(&str, Rule)] = &[
    // RFC 7468 (textual encodings: "-----BEGIN PRIVATE KEY-----", section 10; legacy
    // "RSA PRIVATE KEY" / "EC PRIVATE KEY" from OpenSSL), OpenSSH's PROTOCOL.key
    // ("-----BEGIN OPENSSH PRIVATE KEY-----",
    // https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.key) and RFC 4880
    // section 6.2 ("-----BEGIN PGP PRIVATE KEY BLOCK-----").
    ("-----BEGIN ", Rule::PemBegin),
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
    // (AKIA: access key, ASIA: temporary access key); the documented example pair is
    // AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html).
    ("AKIA", Rule::AwsKeyId),
    ("ASIA", Rule::AwsKeyId),
    // https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html
    // (credentials file), the environment variable and the CLI's JSON.
    ("aws_secret_access_key", Rule::AwsSecret),
    ("AWS_SECRET_ACCESS_KEY", Rule::AwsSecret),
    ("SecretAccessKey", Rule::AwsSecret),
    // https://cloud.google.com/iam/docs/keys-create-delete (the JSON key file:
    // "type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n...").
    ("\"service_account\"", Rule::GcpType),
    // https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/
    // and https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats:
    // ghp_ (classic personal), gho_ (OAuth), ghu_ (user-to-server), ghs_
    // (server-to-server), ghr_ (refresh), 36 base62 characters after the prefix;
    // github_pat_ (fine-grained) 82 characters of [A-Za-z0-9_].
    ("ghp_", github(36)),
    ("gho_", github(36)),
    ("ghu_", github(36)),
    ("ghs_", github(36)),
    ("ghr_", github(36)),
    (
        "github_pat_",
        Rule::Prefixed {
            kind: Kind::Github,
            alphabet: alnum_underscore,
            min: 82,
            max: 240,
        },
    ),
    // https://docs.gitlab.com/security/tokens/#token-prefixes: glpat- (personal,
    // project, group access), gldt- (deploy), glrt- (runner), glptt- (pipeline
    // trigger), gloas- (OAuth application secret), glcbt- (CI/CD job); 20 characters
    // in the classic form, longer routable tokens with dots.
    ("glpat-", GITLAB),
    ("gldt-", GITLAB),
    ("glrt-", GITLAB),
    ("glptt-", GITLAB),
    ("gloas-", GITLAB),
    ("glcbt-", GITLAB),
    // https://api.slack.com/concepts/token-types: xoxb- (bot), xoxp- (user), xoxe-/xoxe.
    // (rotating), xapp- (app-level), xoxa-/xoxr-/xoxs- (older workspace tokens).
    ("xoxb-", Rule::Slack),
    ("xoxp-", Rule::Slack),
    ("xoxa-", Rule::Slack),
    ("xoxr-", Rule::Slack),
    ("xoxs-", Rule::Slack),
    ("xoxe-", Rule::Slack),
    ("xoxe.xoxp-", Rule::Slack),
    ("xapp-", Rule::Slack),
    // https://docs.stripe.com/keys#obtain-api-keys: sk_live_ (secret), rk_live_
    // (restricted); test-mode keys (sk_test_) grant nothing real and are not flagged.
    (
        "sk_live_",
        Rule::Prefixed {
            kind: Kind::Stripe,
            alphabet: alnum,
            min: 24,
            max: 247,
        },
    ),
    (
        "rk_live_",
        Rule::Prefixed {
            kind: Kind::Stripe,
            alphabet: alnum,
            min: 24,
            max: 247,
        },
    ),
    // https://github.blog/changelog/2021-09-23-npm-has-a-new-access-token-format/:
    // npm_ and 36 base62 characters.
    (
        "npm_",
        Rule::Prefixed {
            kind: Kind::Npm,
            alphabet: alnum,
            min: 36,
            max: 36,
        },
    ),
    // https://pypi.org/help/#apitoken: pypi- and a macaroon, base64url; its first
    // bytes name the index ("AgEIcHlwaS5vcmc" is pypi.org, "AgENdGVzdC5weXBpLm9yZw"
    // test.pypi.org).
    (
        "pypi-AgEIcHlwaS5vcmc",
        Rule::Prefixed {
            kind: Kind::Pypi,
            alphabet: base64url,
            min: 50,
            max: 1000,
        },
    ),
    (
        "pypi-AgENdGVzdC5weXBpLm9yZw",
        Rule::Prefixed {
            kind: Kind::Pypi,
            alphabet: base64url,
            min: 50,
            max: 1000,
        },
    ),
];

/// Every secret in `text`, in order of position.
pub fn find(text: &[u8]) -> Vec<Match> {
    let mut out = Vec::new();
    for m in automaton().find_iter(text) {
        let (_, rule) = KEYWORDS[m.pattern().as_usize()];
        if let Some(found) = check(text, m.start(), m.end(), rule) {
            out.push(found);
        }
    }
    out.sort_by_key(|m| (m.start, m.kind));
    out
}

/// Whether the byte before `at` could continue a token (then `at` starts none).
fn glued_before(text: &[u8], at: usize, alphabet: fn(u8) -> bool) -> bool {
    at > 0 && alphabet(text[at - 1])
}

/// The end of the run of `alphabet` characters from `from`, looking at no more than
/// `max + 1` of them.
fn run_end(text: &[u8], from: usize, alphabet: fn(u8) -> bool, max: usize) -> usize {
    let limit = text.len().min(from.saturating_add(max + 1));
    let mut i = from;
    while i < limit && alphabet(text[i]) {
        i += 1;
    }
    i
}

fn check(text: &[u8], start: usize, kw_end: usize, rule: Rule) -> Option<Match> {
    match rule {
        Rule::Prefixed {
            kind,
            alphabet,
            min,
            max,
        } => {
            if glued_before(text, start, alphabet) {
                return None;
            }
            let end = run_end(text, kw_end, alphabet, max);
            let n = end - kw_end;
            (min..=max)
                .contains(&n)
                .then_some(Match { kind, start, end })
        }
        Rule::Slack => {
            if glued_before(text, start, alnum) {
                return None;
            }
            let seg = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
            let end = run_end(text, kw_end, seg, 300);
            let body = &text[kw_end..end];
            // Real tokens have at least three dash-separated parts after the prefix
            // (team, user or app id, secret) and dozens of characters.
            let parts = body.split(|&b| b == b'-').filter(|p| !p.is_empty()).count();
            (parts >= 3 && body.len() >= 30 && body.len() <= 300).then_some(Match {
                kind: Kind::Slack,
                start,
                end,
            })
        }
        Rule::AwsKeyId => {
            if glued_before(text, start, alnum) {
                return None;
            }
            let upper = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
            let end = run_end(text, kw_end, upper, 16);
            // Followed by a lower-case letter, it is a word, not a key.
            let glued_after = end < text.len() && alnum(text[end]);
            (end - kw_end == 16 && !glued_after).then_some(Match {
                kind: Kind::AwsAccessKey,
                start,
                end,
            })
        }
        Rule::AwsSecret => {
            if glued_before(text, start, alnum_underscore) {
                return None;
            }
            let mut i = kw_end;
            let skip = |i: &mut usize, set: &[u8]| {
                while *i < text.len() && set.contains(&text[*i]) {
                    *i += 1;
                }
            };
            skip(&mut i, b"\"' \t");
            if i >= text.len() || !(text[i] == b'=' || text[i] == b':') {
                return None;
            }
            i += 1;
            skip(&mut i, b"\"' \t");
            let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
            let end = run_end(text, i, b64, 40);
            (end - i == 40 && !(end < text.len() && b64(text[end]))).then_some(Match {
                kind: Kind::AwsSecretKey,
                start: i,
                end,
            })
        }
        Rule::PemBegin => {
            // The label: upper-case words, then PRIVATE KEY-----, on the same line.
            let line_end = text[kw_end..]
                .iter()
                .take(64)
                .position(|&b| b == b'\n' || b == b'\r' || b == b'\\')
                .map_or(text.len().min(kw_end + 64), |p| kw_end + p);
            let label = &text[kw_end..line_end];
            let tail_at = label
                .windows(5)
                .position(|w| w == b"-----")
                .map(|p| kw_end + p)?;
            let name = &text[kw_end..tail_at];
            if !(name.ends_with(b"PRIVATE KEY") || name.ends_with(b"PRIVATE KEY BLOCK"))
                || !name.iter().all(|b| b.is_ascii_uppercase() || *b == b' ')
            {
                return None;
            }
            let header_end = tail_at + 5;
            has_key_body(&text[header_end..]).then_some(Match {
                kind: Kind::PrivateKey,
                start,
                end: header_end,
            })
        }
        Rule::GcpType => {
            // Back from the value: `:` and `"type"` with only blanks between.
            let before = &text[..start];
            let before = trim_end_blank(before);
            let before = before.strip_suffix(b":")?;
            let before = trim_end_blank(before);
            if !before.ends_with(b"\"type\"") || !contains(text, b"\"private_key\"") {
                return None;
            }
            Some(Match {
                kind: Kind::GcpServiceAccount,
                start,
                end: kw_end,
            })
        }
    }
}

fn trim_end_blank(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |p| p + 1);
    &s[..n]
}

/// Whether a key header is followed by a body: within the next lines (after optional
/// `Name: value` headers and a blank line, as encrypted PEM and PGP armor have) a line
/// of at least 40 base64 characters. Lines may be real newlines or JSON's `\n`.
/// Documentation that shows only the header line is not a key.
fn has_key_body(after: &[u8]) -> bool {
    let window = &after[..after.len().min(1024)];
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
    let mut lines = 0;
    let mut i = 0;
    while i < window.len() && lines < 8 {
        // A line ends at a newline or at a literal backslash-n.
        let mut j = i;
        while j < window.len() && window[j] != b'\n' && window[j] != b'\\' {
            j += 1;
        }
        let line = trim_end_blank(&window[i..j]);
        if line.len() >= 40 && line.iter().all(|&b| is_b64(b)) {
            return true;
        }
        lines += 1;
        // Skip the newline or the two bytes of `\n`.
        i = if j < window.len() && window[j] == b'\\' {
            j + 2
        } else {
            j + 1
        };
    }
    false
}

/// Overlapping matches reduced to one per secret: a key inside a service-account file
/// is that file's finding, a registry login whose value is a known token format is
/// that token's finding, and of matches on the same bytes the first rule wins.
pub fn dedupe(mut matches: Vec<Match>) -> Vec<Match> {
    if matches.iter().any(|m| m.kind == Kind::GcpServiceAccount) {
        matches.retain(|m| m.kind != Kind::PrivateKey);
    }
    let tokens: Vec<Match> = matches
        .iter()
        .filter(|m| m.kind != Kind::RegistryCredentials)
        .copied()
        .collect();
    matches.retain(|m| {
        m.kind != Kind::RegistryCredentials
            || !tokens.iter().any(|t| t.start < m.end && t.end > m.start)
    });
    matches.sort_by_key(|m| (m.start, m.kind));
    let mut out: Vec<Match> = Vec::with_capacity(matches.len());
    for m in matches {
        if out.last().is_some_and(|last| m.start < last.end) {
            continue;
        }
        out.push(m);
    }
    out
}

/// Lines of `text`, each with its byte offset.
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    text.split(|&b| b == b'\n').map(move |l| {
        let start = at;
        at += l.len() + 1;
        (start, l)
    })
}

/// The value of a `key = value` line (the value's offset and bytes), blanks and quotes
/// around the value removed; `None` for comments, empty values and `${VAR}` references.
fn value_of(line: &[u8], offset: usize, key_end: usize) -> Option<(usize, usize)> {
    let mut i = key_end;
    while i < line.len() && matches!(line[i], b' ' | b'\t' | b'"' | b'\'') {
        i += 1;
    }
    let rest = trim_end_blank(&line[i..]);
    let mut end = i + rest.len();
    while end > i && matches!(line[end - 1], b'"' | b'\'') {
        end -= 1;
    }
    let value = &line[i..end];
    (!value.is_empty() && !value.starts_with(b"${")).then_some((offset + i, offset + end))
}

/// `.npmrc` logins (https://docs.npmjs.com/cli/v10/configuring-npm/npmrc#auth-related-configuration):
/// `_authToken`, `_auth` and `_password`, bare or scoped to a registry
/// (`//registry.npmjs.org/:_authToken=...`).
pub fn npmrc_logins(text: &[u8]) -> Vec<Match> {
    let mut out = Vec::new();
    for (offset, line) in lines(text) {
        let t = trim_start(line);
        if t.starts_with(b"#") || t.starts_with(b";") {
            continue;
        }
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let key = trim_end_blank(&line[..eq]);
        if [&b"_authToken"[..], b"_auth", b"_password"]
            .iter()
            .any(|k| key.ends_with(k))
        {
            if let Some((start, end)) = value_of(line, offset, eq + 1) {
                out.push(Match {
                    kind: Kind::RegistryCredentials,
                    start,
                    end,
                });
            }
        }
    }
    out
}

/// `.pypirc` passwords (https://packaging.python.org/en/latest/specifications/pypirc/).
pub fn pypirc_logins(text: &[u8]) -> Vec<Match> {
    let mut out = Vec::new();
    for (offset, line) in lines(text) {
        let t = trim_start(line);
        if !t.starts_with(b"password") {
            continue;
        }
        let key_end = line.len() - t.len() + b"password".len();
        let mut i = key_end;
        while i < line.len() && matches!(line[i], b' ' | b'\t') {
            i += 1;
        }
        if i < line.len() && (line[i] == b'=' || line[i] == b':') {
            if let Some((start, end)) = value_of(line, offset, i + 1) {
                out.push(Match {
                    kind: Kind::RegistryCredentials,
                    start,
                    end,
                });
            }
        }
    }
    out
}

/// Docker's `config.json` logins (https://docs.docker.com/reference/cli/docker/login/#credential-stores):
/// `"auth"` (base64 `user:password`) and `"identitytoken"` values inline; a
/// `credsStore` keeps them outside the file and is not a finding.
pub fn docker_logins(text: &[u8]) -> Vec<Match> {
    let mut out = Vec::new();
    for key in [&b"\"auth\""[..], b"\"identitytoken\""] {
        let mut from = 0;
        while let Some(p) = memchr::memmem::find(&text[from..], key) {
            let mut i = from + p + key.len();
            from = i;
            while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            if text.get(i) != Some(&b':') {
                continue;
            }
            i += 1;
            while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            if text.get(i) != Some(&b'"') {
                continue;
            }
            let start = i + 1;
            let Some(len) = text[start..].iter().take(8192).position(|&b| b == b'"') else {
                continue;
            };
            if len > 0 {
                out.push(Match {
                    kind: Kind::RegistryCredentials,
                    start,
                    end: start + len,
                });
            }
        }
    }
    out
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    &s[n..]
}
