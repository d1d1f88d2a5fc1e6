//! Lint of the Containerfile (Dockerfile) an image is built from: practices that make
//! the image larger, less reproducible or less safe than it needs to be.
//!
//! The file is read by lineage's parser ([`patchline_lineage::containerfile::parse`]),
//! the same one that moves bases in patch plans, so directives, continuations, comment
//! lines inside continuations, heredocs, stage names and `ARG` substitution in `FROM`
//! are understood the way BuildKit understands them; a file it rejects is a
//! [`LintError`] naming the file and line. Shell commands of `RUN` (shell form, the
//! `sh -c` script of the exec form, and heredoc bodies that are shell scripts) are read
//! with a small shell word splitter (`shell.rs`). Every finding carries the Containerfile
//! path and the 1-based line where its instruction starts.
//!
//! # Rules and choices
//! - **Bases** (`FROM`, every stage): a base with a digest is pinned. Without one, no tag
//!   or `latest` is [`LATEST_BASE`] (the base changes under every build) and any other
//!   tag is [`UNPINNED_BASE`] (the tag can be moved: the build is not reproducible). One
//!   finding per `FROM`. Stage references and `scratch` are no bases; a base given by an
//!   `ARG` is judged on the ARG's default, and not at all when it has none (the build
//!   argument decides).
//! - **`ADD` of a URL** ([`ADD_REMOTE_URL`]): an `http(s)://` source without
//!   `--checksum=` (which makes BuildKit verify it), or a git source (`git@…`, `*.git`)
//!   whose `#ref` is not a full commit id.
//! - **Remote code piped into a shell** ([`CURL_PIPE_SHELL`]): a pipeline in which
//!   `curl`/`wget` feeds a shell or script interpreter (`sh`, `bash`, `python3`,
//!   `perl`…), and `sh -c "$(curl …)"` / `bash <(curl …)`. `sh -c` scripts are read too.
//! - **apt** (only in the final image's stages: the final stage and the stages it is
//!   built `FROM`; a builder stage's leftovers do not ship):
//!   [`APT_NO_RECOMMENDS`] for `apt-get|apt install` without `--no-install-recommends`
//!   (or `-o APT::Install-Recommends=false`), unless an earlier line of the file sets
//!   `APT::Install-Recommends` off (an `apt.conf.d` snippet written by a `RUN`);
//!   [`APT_LISTS_NOT_CLEANED`] for a `RUN` that runs `apt-get update`, `install` or
//!   `upgrade` without `rm` of `/var/lib/apt/lists` or `apt-get dist-clean` (apt 2.7+,
//!   which Debian 13's official images use) in the same `RUN` (a later `RUN` cannot
//!   shrink the layer that holds them), unless the `RUN` mounts a cache or tmpfs on
//!   `/var/lib/apt`. Work is linear in the file (the apt.conf.d look-up is made once).
//! - **User** ([`NO_USER`]): the last `USER` of the final stage (or of the stages it is
//!   built `FROM`) is root (`root`, `0`, with any group), or there is none. A base whose
//!   tag says `nonroot` (the distroless convention) counts as setting a user; any other
//!   base's `USER` is invisible here, so the image config check (`config.root-user`) is
//!   the authority on what the built image does. A `USER $VAR` counts as not root.
//! - **`sudo`** ([`SUDO`]) as a command of a `RUN`.
//! - **Secrets** ([`SECRET_IN_ARG_ENV`]): an `ARG` default or `ENV` value that is a
//!   literal (not only `$VAR` references, not a boolean or number) under a name that
//!   says secret (`PASSWORD`, `PASSWD`, `SECRET`, `TOKEN`, `API_KEY`, `APIKEY`,
//!   `PRIVATE_KEY`, `ACCESS_KEY`, `CREDENTIAL`; names ending `_FILE`, `_PATH`, `_DIR` point
//!   to a secret and are fine), or any value shaped like a known token (AWS access key id,
//!   GitHub, GitLab, Slack, Stripe live, npm, Google API key, a PEM private key). The
//!   value is never echoed: the evidence is [`redact`]ed. Both end up in the image
//!   history (and `ENV` in every container).
//! - **`COPY . .`** ([`COPY_ALL_WITHOUT_DOCKERIGNORE`]): `COPY`/`ADD` (without
//!   `--from`) of `.`, `./` or `*` when the caller says the build context has no
//!   `.dockerignore`; when it does not know (`None`), nothing is said.
//!
//! `ONBUILD` triggers run in another build and are not linted. A `SHELL` that is not a
//! POSIX shell (PowerShell, `cmd`) turns off the shell rules for the `RUN`s after it.

mod shell;

use patchline_lineage::containerfile::{self as cf, Containerfile, Instruction};
use patchline_model::check::redact;

use patchline_model::vuln::Severity;

use crate::{CheckDef, CheckFinding};

pub const LATEST_BASE: CheckDef = CheckDef {
    id: "containerfile.latest-base",
    severity: Severity::Medium,
    title: "FROM uses an image without a tag or with `latest`, and no digest",
    fix: "Pin the base to a version tag and its digest: FROM image:1.2.3@sha256:…",
};
pub const UNPINNED_BASE: CheckDef = CheckDef {
    id: "containerfile.unpinned-base",
    severity: Severity::Low,
    title: "FROM uses a tag without a digest: the tag can move between builds",
    fix: "Add the digest to the base reference: FROM image:tag@sha256:…",
};
pub const ADD_REMOTE_URL: CheckDef = CheckDef {
    id: "containerfile.add-remote-url",
    severity: Severity::Medium,
    title: "ADD downloads a URL without verifying it",
    fix: "Use ADD --checksum=sha256:… for URLs (or a full commit id for git sources), or download and verify in a RUN",
};
pub const CURL_PIPE_SHELL: CheckDef = CheckDef {
    id: "containerfile.curl-pipe-shell",
    severity: Severity::Medium,
    title: "RUN pipes a downloaded script into a shell or interpreter",
    fix: "Download the script to a file, verify its checksum or signature, then run it",
};
pub const APT_NO_RECOMMENDS: CheckDef = CheckDef {
    id: "containerfile.apt-no-recommends",
    severity: Severity::Low,
    title: "apt-get install without --no-install-recommends installs packages nobody asked for",
    fix: "Add --no-install-recommends to apt-get install",
};
pub const APT_LISTS_NOT_CLEANED: CheckDef = CheckDef {
    id: "containerfile.apt-lists-not-cleaned",
    severity: Severity::Low,
    title: "RUN runs apt-get update/install but leaves /var/lib/apt/lists in the layer",
    fix: "End the same RUN with rm -rf /var/lib/apt/lists/* (or use a cache mount on /var/lib/apt)",
};
pub const NO_USER: CheckDef = CheckDef {
    id: "containerfile.no-user",
    severity: Severity::Medium,
    title: "The final stage sets no USER, or its last USER is root",
    fix: "Create an unprivileged user and end the final stage with USER <name or uid>",
};
pub const SUDO: CheckDef = CheckDef {
    id: "containerfile.sudo",
    severity: Severity::Medium,
    title: "RUN uses sudo",
    fix: "Drop sudo: switch with USER root for the steps that need it, then back",
};
pub const SECRET_IN_ARG_ENV: CheckDef = CheckDef {
    id: "containerfile.secret-in-arg-env",
    severity: Severity::High,
    title: "ARG or ENV sets a secret: it stays in the image history",
    fix: "Pass secrets with RUN --mount=type=secret (or at run time), never as ARG or ENV values",
};
pub const COPY_ALL_WITHOUT_DOCKERIGNORE: CheckDef = CheckDef {
    id: "containerfile.copy-all-without-dockerignore",
    severity: Severity::Medium,
    title: "COPY/ADD of the whole build context without a .dockerignore",
    fix: "Add a .dockerignore (excluding .git, .env, credentials, build output) or copy only what the image needs",
};

/// Every Containerfile rule.
pub const CHECKS: &[CheckDef] = &[
    LATEST_BASE,
    UNPINNED_BASE,
    ADD_REMOTE_URL,
    CURL_PIPE_SHELL,
    APT_NO_RECOMMENDS,
    APT_LISTS_NOT_CLEANED,
    NO_USER,
    SUDO,
    SECRET_IN_ARG_ENV,
    COPY_ALL_WITHOUT_DOCKERIGNORE,
];

/// A Containerfile larger than this is refused: real ones are a few KiB, and the lint
/// reads the whole text.
pub const MAX_BYTES: usize = 1 << 20;

/// How deep `sh -c` scripts and `$(…)` groups are read inside each other.
const MAX_DEPTH: usize = 4;

/// Why a Containerfile could not be linted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct LintError {
    pub path: String,
    /// 1-based; 0 when the whole file is at fault (too large).
    pub line: usize,
    pub message: String,
}

/// Lints a Containerfile. `path` is put on every finding; `dockerignore` says whether
/// the build context has a `.dockerignore` (`None`: unknown, the `COPY . .` rule stays
/// silent). Findings are ordered by line, then id.
pub fn lint(
    text: &str,
    path: &str,
    dockerignore: Option<bool>,
) -> Result<Vec<CheckFinding>, LintError> {
    if text.len() > MAX_BYTES {
        return Err(LintError {
            path: path.to_string(),
            line: 0,
            message: format!(
                "{} bytes: larger than the {} bytes a Containerfile may have",
                text.len(),
                MAX_BYTES
            ),
        });
    }
    let file = cf::parse(text).map_err(|e| LintError {
        path: path.to_string(),
        line: e.line,
        message: format!("does not parse: column {}: {}", e.column, e.kind),
    })?;
    let mut l = Linter {
        file: &file,
        path,
        out: Vec::new(),
    };
    l.bases();
    l.instructions(dockerignore);
    l.user();
    let mut out = l.out;
    out.sort_by(|a, b| (a.line, &a.id, &a.message).cmp(&(b.line, &b.id, &b.message)));
    out.dedup_by(|a, b| a.line == b.line && a.id == b.id && a.message == b.message);
    Ok(out)
}

struct Linter<'a> {
    file: &'a Containerfile,
    path: &'a str,
    out: Vec<CheckFinding>,
}

impl Linter<'_> {
    fn push(&mut self, def: &CheckDef, line: usize, message: String, evidence: Option<String>) {
        let mut f = def.finding(message);
        f.path = Some(self.path.to_string());
        f.line = u32::try_from(line).ok();
        f.evidence = evidence;
        self.out.push(f);
    }

    /// Stage indexes of the final image: the last stage and the stages it is built on.
    fn final_chain(&self) -> Vec<usize> {
        let stages = self.file.stages();
        let mut chain = vec![stages.len() - 1];
        while let Some(b) = stages[*chain.last().unwrap_or(&0)].base_stage {
            // Stage references point backwards; the check keeps a malformed chain finite.
            if chain.contains(&b) {
                break;
            }
            chain.push(b);
        }
        chain
    }

    fn bases(&mut self) {
        let stages = self.file.stages().to_vec();
        for s in &stages {
            let line = self.file.instructions()[s.instruction].line;
            if s.base_stage.is_some() || s.scratch {
                continue;
            }
            let Some(resolved) = &s.base_resolved else {
                continue;
            };
            let r = cf::ImageRefText(resolved.clone());
            if r.digest().is_some() {
                continue;
            }
            let shown = if s.base == *resolved {
                resolved.clone()
            } else {
                format!("{} (= {resolved})", s.base)
            };
            match r.tag() {
                None => self.push(
                    &LATEST_BASE,
                    line,
                    format!("FROM {shown} has no tag and no digest: it means `latest`"),
                    None,
                ),
                Some("latest") => self.push(
                    &LATEST_BASE,
                    line,
                    format!("FROM {shown} uses the `latest` tag without a digest"),
                    None,
                ),
                Some(_) => self.push(
                    &UNPINNED_BASE,
                    line,
                    format!("FROM {shown} is not pinned to a digest"),
                    None,
                ),
            }
        }
    }

    fn instructions(&mut self, dockerignore: Option<bool>) {
        let file = self.file;
        let chain = self.final_chain();
        let recommends_off_at = apt_recommends_off(file.text());
        // Per stage: whether the shell is POSIX (`SHELL ["pwsh", …]` turns it off).
        let mut posix_shell = true;
        let mut current_stage = None;
        let stage_starts: Vec<usize> = file.stages().iter().map(|s| s.instruction).collect();
        for (idx, ins) in file.instructions().iter().enumerate() {
            let stage = stage_starts
                .partition_point(|&start| start <= idx)
                .checked_sub(1);
            if stage != current_stage {
                current_stage = stage;
                posix_shell = true;
            }
            match ins.keyword.as_str() {
                "SHELL" => posix_shell = shell_is_posix(ins),
                "RUN" => {
                    let in_final = stage.is_some_and(|s| chain.contains(&s));
                    let apt_conf_off = recommends_off_at.is_some_and(|at| at < ins.span.start);
                    self.run(ins, posix_shell, in_final, apt_conf_off);
                }
                "ADD" => {
                    self.add_url(ins);
                    self.copy_all(ins, dockerignore);
                }
                "COPY" => self.copy_all(ins, dockerignore),
                "ENV" => self.env(ins),
                _ => {}
            }
        }
        let args: Vec<cf::ArgDecl> = file
            .global_args()
            .iter()
            .chain(file.stages().iter().flat_map(|s| s.args.iter()))
            .cloned()
            .collect();
        for a in args {
            if let Some(default) = &a.default {
                let value = shell::words(default).join(" ");
                let line = file.instructions()[a.instruction].line;
                self.secret("ARG", &a.name, &value, line);
            }
        }
    }

    fn run(&mut self, ins: &Instruction, posix: bool, in_final: bool, apt_conf_off: bool) {
        let (flags, rest) = split_flags(ins.args());
        let mut scripts: Vec<String> = Vec::new();
        if ins.is_json_form() {
            match serde_json::from_str::<Vec<String>>(rest.trim()) {
                Ok(argv) => match shell_script_of_argv(&argv) {
                    Some(s) => scripts.push(s),
                    // No shell: the argv is one command.
                    None => scripts.push(
                        argv.iter()
                            .map(|a| shell_quote(a))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                },
                // BuildKit runs a JSON form that is not an array of strings as shell form.
                Err(_) if posix => scripts.push(rest.to_string()),
                Err(_) => {}
            }
        } else if posix {
            scripts.push(rest.to_string());
            let body_is_script = heredoc_is_script(&shell::words(rest));
            if body_is_script {
                for h in &ins.heredocs {
                    let body = &self.file.text()[h.body.clone()];
                    let shebang_ok = match body.lines().next().and_then(|l| l.strip_prefix("#!")) {
                        Some(interp) => interp
                            .split_whitespace()
                            .filter(|w| *w != "/usr/bin/env" && !w.starts_with('-'))
                            .map(basename)
                            .next()
                            .is_some_and(is_posix_shell_name),
                        None => true,
                    };
                    if shebang_ok {
                        scripts.push(body.to_string());
                    }
                }
            }
        } else {
            return;
        }

        let mut facts = RunFacts::default();
        for s in &scripts {
            scan_script(s, 0, &mut facts);
        }
        let line = ins.line;
        if let Some(p) = &facts.pipe {
            self.push(
                &CURL_PIPE_SHELL,
                line,
                format!("RUN runs a downloaded script: {p}"),
                None,
            );
        }
        if facts.sudo {
            self.push(&SUDO, line, "RUN runs sudo".into(), None);
        }
        if in_final {
            if let Some(tool) = &facts.install_with_recommends {
                if !apt_conf_off {
                    self.push(
                        &APT_NO_RECOMMENDS,
                        line,
                        format!("RUN {tool} install without --no-install-recommends"),
                        None,
                    );
                }
            }
            if let Some(tool) = &facts.apt_lists_written {
                let mounted = flags.iter().any(|f| apt_cache_mount(f));
                if !facts.lists_removed && !mounted {
                    self.push(
                        &APT_LISTS_NOT_CLEANED,
                        line,
                        format!(
                            "RUN runs {tool} without removing /var/lib/apt/lists in the same RUN"
                        ),
                        None,
                    );
                }
            }
        }
    }

    fn add_url(&mut self, ins: &Instruction) {
        let (flags, sources, _) = copy_operands(ins);
        if flags.iter().any(|f| f.starts_with("--checksum=")) {
            return;
        }
        for src in sources {
            let lower = src.to_ascii_lowercase();
            let http = lower.starts_with("http://") || lower.starts_with("https://");
            let git = lower.starts_with("git@")
                || lower.starts_with("git://")
                || lower.split('#').next().is_some_and(|u| u.ends_with(".git"));
            if git {
                let pinned = src.rsplit_once('#').is_some_and(|(_, r)| {
                    let r = r.split(':').next().unwrap_or("");
                    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
                });
                if !pinned {
                    self.push(
                        &ADD_REMOTE_URL,
                        ins.line,
                        format!("ADD {src}: a git source not pinned to a commit id"),
                        None,
                    );
                }
            } else if http {
                self.push(
                    &ADD_REMOTE_URL,
                    ins.line,
                    format!("ADD {src} without --checksum"),
                    None,
                );
            }
        }
    }

    fn copy_all(&mut self, ins: &Instruction, dockerignore: Option<bool>) {
        if dockerignore != Some(false) {
            return;
        }
        let (flags, sources, _) = copy_operands(ins);
        if flags.iter().any(|f| f.starts_with("--from=")) {
            return;
        }
        if let Some(src) = sources
            .iter()
            .find(|s| matches!(s.as_str(), "." | "./" | "*" | "./*"))
        {
            self.push(
                &COPY_ALL_WITHOUT_DOCKERIGNORE,
                ins.line,
                format!(
                    "{} {src} copies the whole build context, which has no .dockerignore",
                    ins.keyword
                ),
                None,
            );
        }
    }

    fn env(&mut self, ins: &Instruction) {
        let words = shell::words(ins.args());
        let Some(first) = words.first() else {
            return;
        };
        if first.contains('=') {
            for w in &words {
                if let Some((name, value)) = w.split_once('=') {
                    self.secret("ENV", name, value, ins.line);
                }
            }
        } else {
            // The legacy form: `ENV NAME the rest is the value`.
            let value = words[1..].join(" ");
            self.secret("ENV", first, &value, ins.line);
        }
    }

    fn secret(&mut self, keyword: &str, name: &str, value: &str, line: usize) {
        let token = token_kind(value);
        let by_name = secret_name(name) && literal(value);
        if token.is_none() && !by_name {
            return;
        }
        let what = match token {
            Some(kind) => format!("{keyword} {name} holds {kind}"),
            None => format!("{keyword} {name} sets a literal value for a secret"),
        };
        self.push(&SECRET_IN_ARG_ENV, line, what, Some(redact(value)));
    }

    fn user(&mut self) {
        let file = self.file;
        let stages = file.stages();
        let instructions = file.instructions();
        for s in self.final_chain() {
            let end = stages
                .get(s + 1)
                .map_or(instructions.len(), |n| n.instruction);
            let last_user = instructions[stages[s].instruction..end]
                .iter()
                .rev()
                .find(|i| i.keyword == "USER");
            if let Some(u) = last_user {
                let user = u.args().trim();
                if is_root_user(user) {
                    self.push(
                        &NO_USER,
                        u.line,
                        format!("the final stage runs as USER {user}"),
                        None,
                    );
                }
                return;
            }
            if stages[s].base_stage.is_none() {
                let nonroot = stages[s]
                    .base_resolved
                    .as_deref()
                    .and_then(|b| cf::ImageRefText(b.to_string()).tag().map(str::to_string))
                    .is_some_and(|t| t.contains("nonroot"));
                if !nonroot {
                    let from = stages[stages.len() - 1].instruction;
                    self.push(
                        &NO_USER,
                        instructions[from].line,
                        "the final stage sets no USER: it runs as the base image's user (root unless the base sets another)".into(),
                        None,
                    );
                }
                return;
            }
        }
    }
}

/// What the commands of one `RUN` do.
#[derive(Default)]
struct RunFacts {
    /// `curl … | sh`, as shown in the finding.
    pipe: Option<String>,
    sudo: bool,
    /// `apt-get` / `apt` when one of them installs without `--no-install-recommends`.
    install_with_recommends: Option<String>,
    /// `apt-get update` / `apt-get install` (the commands that fill the lists).
    apt_lists_written: Option<String>,
    lists_removed: bool,
}

fn scan_script(script: &str, depth: usize, facts: &mut RunFacts) {
    if depth > MAX_DEPTH {
        return;
    }
    for pipeline in shell::parse(script) {
        let mut downloader: Option<String> = None;
        for cmd in &pipeline {
            let (words, sudo) = unwrap_command(&cmd.words);
            facts.sudo |= sudo;
            let Some(name) = words.first().map(|w| basename(w)) else {
                continue;
            };
            if is_downloader(name) {
                downloader.get_or_insert_with(|| name.to_string());
            } else if is_interpreter(name) {
                if let Some(d) = &downloader {
                    facts.pipe.get_or_insert_with(|| format!("{d} … | {name}"));
                }
                // `sh -c "$(curl …)"`, `bash <(curl …)`: the download is the script.
                for w in &words[1..] {
                    for sub in shell::substitutions(w) {
                        let runs_download = shell::parse(&sub).iter().flatten().any(|c| {
                            unwrap_command(&c.words)
                                .0
                                .first()
                                .is_some_and(|n| is_downloader(basename(n)))
                        });
                        if runs_download {
                            facts.pipe.get_or_insert_with(|| {
                                let d = if sub.contains("wget") { "wget" } else { "curl" };
                                format!("{name} runs the output of {d}")
                            });
                        }
                    }
                }
                if is_posix_shell_name(name) {
                    if let Some(script) = dash_c_script(words) {
                        scan_script(script, depth + 1, facts);
                    }
                }
            }
            match name {
                "apt-get" | "apt" => apt(name, words, facts),
                "rm" if words[1..]
                    .iter()
                    .any(|w| w.starts_with("/var/lib/apt/lists")) =>
                {
                    facts.lists_removed = true;
                }
                _ => {}
            }
            // Substitutions run commands too (`$(apt-get …)` is rare, `$(curl …)` is
            // handled above); other substitutions are not linted.
        }
    }
}

fn apt(name: &str, words: &[String], facts: &mut RunFacts) {
    // The first word that is not an option (or an option's argument) is the action.
    let mut action = None;
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        if matches!(
            w,
            "-o" | "-c" | "-t" | "--option" | "--config-file" | "--target-release"
        ) {
            i += 2;
            continue;
        }
        if !w.starts_with('-') {
            action = Some(w);
            break;
        }
        i += 1;
    }
    let Some(action) = action else { return };
    // apt 2.7+ (Debian 13): `apt-get dist-clean` removes the lists too.
    if action == "dist-clean" {
        facts.lists_removed = true;
        return;
    }
    if !matches!(
        action,
        "install" | "update" | "upgrade" | "dist-upgrade" | "full-upgrade"
    ) {
        return;
    }
    facts
        .apt_lists_written
        .get_or_insert_with(|| format!("{name} {action}"));
    if action == "install" {
        let no_recommends = words.iter().any(|w| {
            w == "--no-install-recommends" || {
                let lw = w.to_ascii_lowercase();
                lw.contains("apt::install-recommends=")
                    && ["false", "0", "no", "off"]
                        .iter()
                        .any(|v| lw.ends_with(&format!("={v}")))
            }
        });
        if !no_recommends {
            facts
                .install_with_recommends
                .get_or_insert(name.to_string());
        }
    }
}

/// Strips leading `VAR=value` words and wrappers (`sudo`, `env`, `exec`, `command`,
/// `nohup`, `time`, `nice`) with their options; says whether `sudo` was among them.
fn unwrap_command(words: &[String]) -> (&[String], bool) {
    let mut i = 0;
    let mut sudo = false;
    // Each pass drops at least one word or stops, so this ends.
    while i < words.len() {
        let w = words[i].as_str();
        if is_assignment(w) {
            i += 1;
            continue;
        }
        let name = basename(w);
        match name {
            "sudo" | "env" | "exec" | "command" | "nohup" | "time" | "nice" => {
                sudo |= name == "sudo";
                i += 1;
                while i < words.len() {
                    let o = words[i].as_str();
                    let takes_value = match name {
                        "sudo" => matches!(o, "-u" | "-g" | "-h" | "-p" | "-C" | "-D"),
                        "nice" => o == "-n",
                        _ => false,
                    };
                    if takes_value {
                        i += 2;
                    } else if o.starts_with('-') || (name == "env" && is_assignment(o)) {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    (&words[i.min(words.len())..], sudo)
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((n, _)) => {
            !n.is_empty()
                && n.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

fn is_downloader(name: &str) -> bool {
    matches!(name, "curl" | "wget")
}

fn is_posix_shell_name(name: &str) -> bool {
    matches!(
        name,
        "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "busybox"
    )
}

fn is_interpreter(name: &str) -> bool {
    is_posix_shell_name(name)
        || matches!(
            name,
            "fish" | "python" | "python2" | "python3" | "perl" | "ruby" | "node" | "php"
        )
}

fn is_shell(w: &str) -> bool {
    is_posix_shell_name(basename(w))
}

/// `<<EOF`, `<<-EOF`, `3<<"EOF"`.
fn is_heredoc_word(w: &str) -> bool {
    w.trim_start_matches(|c: char| c.is_ascii_digit())
        .starts_with("<<")
}

/// Whether a `RUN`'s heredoc bodies are its shell script: `RUN <<EOF` alone (BuildKit
/// runs the body), or a shell reading them on stdin (`RUN <<EOF bash`, `sh -e <<EOF`).
/// `RUN <<EOF cat > /etc/x` feeds data to another command.
fn heredoc_is_script(words: &[String]) -> bool {
    let others: Vec<&String> = words.iter().filter(|w| !is_heredoc_word(w)).collect();
    match others.split_first() {
        None => true,
        Some((cmd, args)) => is_shell(cmd) && args.iter().all(|w| w.starts_with('-')),
    }
}

/// The script of `sh -c SCRIPT` (`-c` may be combined: `-ec`, `-xc`).
fn dash_c_script(words: &[String]) -> Option<&str> {
    let pos = words[1..]
        .iter()
        .position(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('c'))?;
    words.get(pos + 2).map(String::as_str)
}

/// The shell script an exec-form argv runs, when argv[0] is a POSIX shell with `-c`.
fn shell_script_of_argv(argv: &[String]) -> Option<String> {
    let (words, _) = unwrap_command(argv);
    let name = basename(words.first()?);
    if !is_posix_shell_name(name) {
        return None;
    }
    dash_c_script(words).map(str::to_string)
}

/// Quotes an exec-form argument so the shell reader sees it as one word.
fn shell_quote(a: &str) -> String {
    format!("'{}'", a.replace('\'', "'\\''"))
}

/// Leading `--flag` words of a `RUN`/`COPY`/`ADD`, and the text after them.
fn split_flags(args: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    while rest.starts_with("--") {
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        flags.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

/// Flags, sources and destination of `COPY`/`ADD` (shell or JSON form).
fn copy_operands(ins: &Instruction) -> (Vec<String>, Vec<String>, Option<String>) {
    let (flags, rest) = split_flags(ins.args());
    let mut words = if rest.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<String>>(rest.trim()).unwrap_or_else(|_| shell::words(rest))
    } else {
        // Heredoc words (`COPY <<EOF /etc/x`) are sources too, but never a URL or `.`.
        rest.split_whitespace().map(str::to_string).collect()
    };
    let dest = words.pop();
    (flags, words, dest)
}

/// `RUN --mount=type=cache,target=/var/lib/apt…` (or tmpfs): the lists do not stay.
fn apt_cache_mount(flag: &str) -> bool {
    let Some(m) = flag.strip_prefix("--mount=") else {
        return false;
    };
    let mut kind = "bind";
    let mut target = "";
    for kv in m.split(',') {
        match kv.split_once('=') {
            Some(("type", v)) => kind = v,
            Some(("target" | "dst" | "destination", v)) => target = v,
            _ => {}
        }
    }
    matches!(kind, "cache" | "tmpfs")
        && (target.trim_end_matches('/') == "/var/lib/apt"
            || target.starts_with("/var/lib/apt/lists"))
}

/// An earlier part of the file turns recommends off for apt (`APT::Install-Recommends
/// "false";` written into `apt.conf.d`).
/// Returns the byte offset of the first line that does so: a `RUN` after it is covered.
fn apt_recommends_off(text: &str) -> Option<usize> {
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        let lower = l.to_ascii_lowercase();
        let off = lower
            .split_once("apt::install-recommends")
            .is_some_and(|(_, rest)| {
                let rest = rest.trim_start_matches([' ', '"', '\'', '=', '\\']);
                ["false", "0", "no", "off"]
                    .iter()
                    .any(|v| rest.starts_with(v))
            });
        if off {
            return Some(offset);
        }
        offset += l.len();
    }
    None
}

/// `SHELL ["/bin/bash", "-o", "pipefail", "-c"]`: a POSIX shell?
fn shell_is_posix(ins: &Instruction) -> bool {
    serde_json::from_str::<Vec<String>>(ins.args().trim())
        .ok()
        .and_then(|argv| argv.first().map(|a| is_shell(a)))
        .unwrap_or(true)
}

/// `root`, `0`, with or without a group.
fn is_root_user(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name == "root" || name == "0"
}

/// A name that says its value is a secret.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    if ["_FILE", "_PATH", "_DIR", "_FILENAME"]
        .iter()
        .any(|s| n.ends_with(s))
    {
        return false;
    }
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// A literal value: not empty, not only variable references, not a boolean or number.
fn literal(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "none" | "null"
    ) || v.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    // Strip `$NAME` / `${…}` references: nothing left means no literal.
    let mut rest = String::new();
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if chars.peek() == Some(&'{') {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
            } else {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_')
                {
                    chars.next();
                }
            }
        } else {
            rest.push(c);
        }
    }
    !rest.trim().is_empty()
}

/// The kind of known token a value holds, by its documented shape.
fn token_kind(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let alnum = |s: &str, min: usize| {
        s.len() >= min && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    for (prefix, len, kind) in [
        ("ghp_", 36, "a GitHub token"),
        ("gho_", 36, "a GitHub token"),
        ("ghu_", 36, "a GitHub token"),
        ("ghs_", 36, "a GitHub token"),
        ("ghr_", 36, "a GitHub token"),
        ("github_pat_", 22, "a GitHub token"),
        ("npm_", 36, "an npm token"),
        ("sk_live_", 24, "a Stripe live key"),
        ("rk_live_", 24, "a Stripe live key"),
    ] {
        if let Some(rest) = v.strip_prefix(prefix) {
            if alnum(rest, len) {
                return Some(kind);
            }
        }
    }
    if let Some(rest) = v.strip_prefix("glpat-") {
        if rest.len() >= 20
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Some("a GitLab token");
        }
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxr-"]
        .iter()
        .any(|p| v.starts_with(p))
        && v.len() >= 15
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Some("a Slack token");
    }
    if let Some(rest) = v.strip_prefix("AIza") {
        if rest.len() == 35
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Some("a Google API key");
        }
    }
    if v.len() == 20
        && (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some("an AWS access key id");
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(String, u32)> {
        ids_with(text, None)
    }

    fn ids_with(text: &str, dockerignore: Option<bool>) -> Vec<(String, u32)> {
        lint(text, "Containerfile", dockerignore)
            .unwrap()
            .into_iter()
            .map(|f| (f.id, f.line.unwrap()))
            .collect()
    }

    fn has(text: &str, id: &str) -> bool {
        ids(text).iter().any(|(i, _)| i == id)
    }

    const OK_TAIL: &str = "USER app\n";

    #[test]
    fn bases_by_pinning() {
        let f = ids("FROM debian\nFROM debian:latest AS b\nFROM debian:12 AS c\nFROM debian:12@sha256:aa AS d\nFROM debian@sha256:aa AS e\nFROM scratch AS f\nFROM c\nUSER app\n");
        assert_eq!(
            f,
            [
                ("containerfile.latest-base".to_string(), 1),
                ("containerfile.latest-base".to_string(), 2),
                ("containerfile.unpinned-base".to_string(), 3),
            ]
        );
        // Registry ports are not tags.
        let f = ids("FROM registry.local:5000/base/debian\nUSER app\n");
        assert_eq!(f, [("containerfile.latest-base".to_string(), 1)]);
        // ARG defaults are followed; an ARG without default is not judged.
        assert!(has(
            "ARG B=debian:12\nFROM $B\nUSER app\n",
            "containerfile.unpinned-base"
        ));
        assert_eq!(ids("ARG B\nFROM $B\nUSER app\n"), []);
    }

    #[test]
    fn add_of_urls() {
        let base = "FROM d@sha256:aa\n";
        let t = |s: &str| {
            has(
                &format!("{base}{s}\n{OK_TAIL}"),
                "containerfile.add-remote-url",
            )
        };
        assert!(t("ADD https://example.com/x.tar.gz /opt/"));
        assert!(t("ADD --chown=1:1 http://example.com/x /opt/"));
        assert!(t("ADD [\"https://example.com/x\", \"/opt/\"]"));
        assert!(t("ADD https://github.com/moby/buildkit.git#v0.10.1 /src"));
        assert!(t("ADD git@github.com:user/repo.git /src"));
        assert!(!t("ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x /opt/"));
        assert!(!t("ADD https://github.com/moby/buildkit.git#a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2 /src"));
        assert!(!t("ADD rootfs.tar.xz /"));
        assert!(!t("COPY https-notes.txt /"));
    }

    #[test]
    fn curl_into_shell() {
        let base = "FROM d@sha256:aa\n";
        let t = |s: &str| {
            has(
                &format!("{base}{s}\n{OK_TAIL}"),
                "containerfile.curl-pipe-shell",
            )
        };
        assert!(t("RUN curl -fsSL https://get.example.com | sh"));
        assert!(t(
            "RUN curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y"
        ));
        assert!(t("RUN wget -qO- https://x/install.sh | sudo bash -"));
        assert!(t("RUN set -e; \\\n  curl -sL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*"));
        assert!(t(
            "RUN curl -sSL https://bootstrap.pypa.io/get-pip.py | python3"
        ));
        assert!(t(
            "RUN sh -c \"$(curl -fsSL https://raw.githubusercontent.com/x/install.sh)\""
        ));
        assert!(t("RUN bash <(curl -s https://x/install.sh)"));
        assert!(t("RUN [\"/bin/sh\", \"-c\", \"curl -s https://x | sh\"]"));
        assert!(t("RUN /bin/bash -ec 'wget -O - https://x | bash'"));
        assert!(t(
            "RUN <<EOF\nset -e\ncurl -fsSL https://x/install.sh | sh\nEOF"
        ));
        assert!(!t("RUN curl -fsSLo /tmp/i.sh https://x/install.sh && echo 'abc  /tmp/i.sh' | sha256sum -c - && sh /tmp/i.sh"));
        assert!(!t(
            "RUN curl -fsSL https://x/key.gpg | gpg --dearmor -o /usr/share/keyrings/x.gpg"
        ));
        assert!(!t("RUN echo 'curl x | sh' > /notes.txt"));
        assert!(!t(
            "RUN cat <<EOF > /usr/local/bin/i.sh\ncurl -fsSL https://x | sh\nEOF"
        ));
        assert!(!t(
            "RUN <<EOF cat > /usr/local/bin/i.sh\ncurl -fsSL https://x | sh\nEOF"
        ));
        assert!(t("RUN <<EOF bash -e\ncurl -fsSL https://x | sh\nEOF"));
        assert!(!t(
            "RUN <<EOF\n#!/usr/bin/env python3\nimport os; os.system('curl x | sh')\nEOF"
        ));
    }

    #[test]
    fn apt_recommends() {
        let t = |s: &str| {
            has(
                &format!("FROM d@sha256:aa\n{s}\n{OK_TAIL}"),
                "containerfile.apt-no-recommends",
            )
        };
        assert!(t(
            "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*"
        ));
        assert!(t("RUN DEBIAN_FRONTEND=noninteractive apt install -y curl"));
        assert!(!t("RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*"));
        assert!(!t(
            "RUN apt-get update && apt-get install -y curl wget --no-install-recommends"
        ));
        assert!(!t(
            "RUN apt-get -o APT::Install-Recommends=false install -y curl"
        ));
        assert!(!t("RUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/90norec\nRUN apt-get install -y curl"));
        assert!(!t("RUN apt-get remove -y curl"));
        // Builder stages do not ship.
        assert!(!has("FROM d@sha256:aa AS build\nRUN apt-get update && apt-get install -y gcc\nFROM d@sha256:aa\nUSER app\n", "containerfile.apt-no-recommends"));
        // …but the stages the final one is built FROM do.
        assert!(has(
            "FROM d@sha256:aa AS base\nRUN apt-get install -y gcc\nFROM base\nUSER app\n",
            "containerfile.apt-no-recommends"
        ));
    }

    #[test]
    fn apt_lists() {
        let t = |s: &str| {
            has(
                &format!("FROM d@sha256:aa\n{s}\n{OK_TAIL}"),
                "containerfile.apt-lists-not-cleaned",
            )
        };
        assert!(t(
            "RUN apt-get update && apt-get install -y --no-install-recommends curl"
        ));
        assert!(t("RUN apt-get update"));
        assert!(t("RUN apt-get update && apt-get install -y --no-install-recommends curl\nRUN rm -rf /var/lib/apt/lists/*"));
        assert!(!t("RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*"));
        assert!(!t("RUN set -eux; \\\n\tapt-get update; \\\n\tapt-get install -y --no-install-recommends \\\n\t\tca-certificates \\\n# a comment line inside the continuation\n\t\tnetbase \\\n\t; \\\n\trm -rf /var/lib/apt/lists/*"));
        assert!(!t("RUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y --no-install-recommends gcc"));
        assert!(!t("RUN apk add --no-cache curl"));
        assert!(!t("RUN set -eux; apt-get update; apt-get install -y --no-install-recommends tzdata; apt-get dist-clean"));
        // Heredoc scripts count.
        assert!(t(
            "RUN <<EOF\napt-get update\napt-get install -y --no-install-recommends curl\nEOF"
        ));
        assert!(!t("RUN <<EOF\napt-get update\napt-get install -y --no-install-recommends curl\nrm -rf /var/lib/apt/lists/*\nEOF"));
    }

    #[test]
    fn users() {
        assert_eq!(
            ids("FROM d@sha256:aa\nRUN true\n"),
            [("containerfile.no-user".to_string(), 1)]
        );
        assert_eq!(
            ids("FROM d@sha256:aa\nUSER app\nUSER root\n"),
            [("containerfile.no-user".to_string(), 3)]
        );
        assert_eq!(
            ids("FROM d@sha256:aa\nUSER 0:0\n"),
            [("containerfile.no-user".to_string(), 2)]
        );
        assert_eq!(
            ids("FROM d@sha256:aa\nUSER root\nRUN x\nUSER 10001:10001\n"),
            []
        );
        assert_eq!(ids("FROM d@sha256:aa\nUSER $APP_UID\n"), []);
        // A user set in the stage the final one is built FROM is inherited.
        assert_eq!(
            ids("FROM d@sha256:aa AS base\nUSER app\nFROM base\nRUN x\n"),
            []
        );
        // A builder's USER is not the final image's.
        assert_eq!(
            ids("FROM d@sha256:aa AS build\nUSER app\nFROM e@sha256:bb\nCOPY --from=build /a /a\n"),
            [("containerfile.no-user".to_string(), 3)]
        );
        assert_eq!(
            ids("FROM gcr.io/distroless/static-debian12:nonroot@sha256:aa\n"),
            []
        );
    }

    #[test]
    fn sudo_in_run() {
        let t = |s: &str| {
            has(
                &format!("FROM d@sha256:aa\n{s}\n{OK_TAIL}"),
                "containerfile.sudo",
            )
        };
        assert!(t("RUN sudo apt-get install -y --no-install-recommends x"));
        assert!(t("RUN make && sudo -u app make install"));
        assert!(t("RUN [\"sudo\", \"ls\"]"));
        assert!(!t(
            "RUN apt-get install -y --no-install-recommends sudo && rm -rf /var/lib/apt/lists/*"
        ));
        assert!(!t(
            "RUN echo 'app ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/app"
        ));
    }

    #[test]
    fn secrets_in_arg_and_env() {
        let run = |s: &str| {
            lint(
                &format!("FROM d@sha256:aa\n{s}\n{OK_TAIL}"),
                "Containerfile",
                None,
            )
            .unwrap()
        };
        let t = |s: &str| {
            run(s)
                .iter()
                .any(|f| f.id == "containerfile.secret-in-arg-env")
        };
        assert!(t("ENV DB_PASSWORD=hunter22"));
        assert!(t("ENV DB_PASSWORD hunter22 with spaces"));
        assert!(t("ARG NPM_TOKEN=abc123def"));
        assert!(t(
            "ENV A=1 AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\""
        ));
        assert!(t("ENV SOMETHING=AKIAIOSFODNN7EXAMPLE"));
        assert!(t("ARG GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
        assert!(has(
            "ARG TOKEN=x\nFROM d@sha256:aa\nUSER app\n",
            "containerfile.secret-in-arg-env"
        ));
        assert!(!t("ARG NPM_TOKEN"));
        assert!(!t("ENV NPM_TOKEN=${NPM_TOKEN}"));
        assert!(!t("ENV POSTGRES_PASSWORD_FILE=/run/secrets/pg"));
        assert!(!t("ENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305"));
        assert!(!t("ENV DISABLE_TOKEN_AUTH=true"));
        assert!(!t("ENV PATH=/usr/local/bin:$PATH"));
        // The value never appears in the finding.
        let f = run("ENV DB_PASSWORD=correcthorsebatterystaple");
        let f = f
            .iter()
            .find(|f| f.id == "containerfile.secret-in-arg-env")
            .unwrap();
        let json = serde_json::to_string(f).unwrap();
        assert!(!json.contains("correcthorsebatterystaple"), "{json}");
        assert_eq!(f.line, Some(2));
        assert_eq!(f.evidence.as_deref(), Some("corr************aple"));
    }

    #[test]
    fn copy_all() {
        let text = "FROM d@sha256:aa\nCOPY . .\nADD ./ /app\nCOPY [\".\", \"/app\"]\nCOPY --from=build . /x\nCOPY src/ /app/src\nUSER app\n";
        let f = ids_with(text, Some(false));
        assert_eq!(
            f,
            [
                ("containerfile.copy-all-without-dockerignore".to_string(), 2),
                ("containerfile.copy-all-without-dockerignore".to_string(), 3),
                ("containerfile.copy-all-without-dockerignore".to_string(), 4),
            ]
        );
        assert_eq!(ids_with(text, Some(true)), []);
        assert_eq!(ids_with(text, None), []);
    }

    #[test]
    fn shell_rules_follow_the_shell_instruction() {
        let text = "FROM d@sha256:aa\nSHELL [\"powershell\", \"-Command\"]\nRUN sudo curl x | sh\nFROM e@sha256:bb\nRUN sudo ls\nUSER app\n";
        assert_eq!(ids(text), [("containerfile.sudo".to_string(), 5)]);
    }

    #[test]
    fn findings_carry_path_line_and_fix() {
        let f = lint(
            "# syntax=docker/dockerfile:1\n\nFROM debian:12\n",
            "app/Containerfile",
            None,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        let f = f.iter().find(|f| f.id == UNPINNED_BASE.id).unwrap();
        assert_eq!(f.path.as_deref(), Some("app/Containerfile"));
        assert_eq!(f.line, Some(3));
        assert_eq!(f.fix, UNPINNED_BASE.fix);
        assert_eq!(f.severity, Severity::Low);
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        let e = lint(
            "FROM debian:12\nFROBNICATE x\n",
            "build/Containerfile",
            None,
        )
        .unwrap_err();
        assert_eq!(e.path, "build/Containerfile");
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("build/Containerfile:2: "), "{e}");
        let e = lint("FROM a\nRUN <<EOF\necho\n", "C", None).unwrap_err();
        assert_eq!(e.line, 2);
        let e = lint(&"#".repeat(MAX_BYTES + 1), "C", None).unwrap_err();
        assert_eq!(e.line, 0);
    }

    #[test]
    fn a_large_file_is_linted_in_one_pass() {
        // Near the size limit, many stages and RUNs: every per-RUN step must be linear.
        let mut text = String::from("FROM d:1 AS s0\n");
        let mut n = 0;
        while text.len() < MAX_BYTES - 200 {
            n += 1;
            if n % 100 == 0 {
                text.push_str(&format!("FROM s{} AS s{n}\n", n - 100));
            } else {
                text.push_str("RUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n");
            }
        }
        text.push_str("USER app\n");
        let start = std::time::Instant::now();
        let f = lint(&text, "C", None).unwrap();
        assert_eq!(f.len(), 1, "only the base tag: {:?}", f.first());
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }

    #[test]
    fn checks_are_well_formed() {
        for c in CHECKS {
            assert!(c.id.starts_with("containerfile."));
            assert!(!c.title.contains('\n') && !c.fix.contains('\n'));
        }
    }
}
