//! `patchline serve`: the organisation-wide server (registry watch, delta rescans,
//! notifications, rebuild campaigns, the REST API). See `patchline-server`'s crate doc.
//!
//! With no flags: one process, the embedded SQLite store under `$XDG_DATA_HOME/patchline/`,
//! in-process workers, listening on 127.0.0.1:8080.

use std::path::PathBuf;

use anyhow::Result;
use patchline_server::config::{check_registry_url, Config, RegistryConfig, Role};
use patchline_server::serve::{self, ServeOptions};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  patchline serve\n  patchline serve --registry http://127.0.0.1:5000 --no-auth\n  patchline serve --config /etc/patchline/patchline.toml --store postgres://patchline@db/patchline --role worker\n  patchline serve --config patchline.toml --check-config"
)]
pub struct Args {
    /// The configuration file (patchline.toml); every key can also be set as PATCHLINE_KEY
    /// (PATCHLINE_SMTP__HOST for nested keys).
    #[arg(long, short = 'c', env = "PATCHLINE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate the configuration and exit (0 when valid, 2 with the error otherwise).
    #[arg(long)]
    pub check_config: bool,
    /// Listen address [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// The store: a SQLite path, or postgres://USER[:PASSWORD]@HOST/DB
    /// [default: $XDG_DATA_HOME/patchline/server.sqlite].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// What this process does: api, worker or all.
    #[arg(long, value_name = "ROLE")]
    pub role: Option<Role>,
    /// Worker threads in this process.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// The advisory database [default: the CLI's, $XDG_CACHE_HOME/patchline/db/advisories.sqlite].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// A registry to watch, added to the config's (repeatable; http:// only for loopback hosts).
    #[arg(long = "registry", value_name = "URL", value_parser = parse_registry)]
    pub registries: Vec<String>,
    /// Turn every authentication off (the registry hook's included), for a local trial.
    /// Refused unless the listen address is loopback.
    #[arg(long)]
    pub no_auth: bool,
}

fn parse_registry(s: &str) -> Result<String, String> {
    check_registry_url(s)?;
    Ok(s.trim_end_matches('/').to_string())
}

/// The config file, then `PATCHLINE_*` from the environment, then the flags (each later one
/// wins), validated.
pub fn load_config(args: &Args) -> Result<Config> {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    load_config_with_env(args, &vars)
}

/// [`load_config`] with the environment given.
pub fn load_config_with_env(args: &Args, vars: &[(String, String)]) -> Result<Config> {
    let mut config = Config::load_with_env(args.config.as_deref(), vars)?;
    if let Some(l) = &args.listen {
        config.listen = l.clone();
    }
    if let Some(s) = &args.store {
        config.store = Some(s.clone());
    }
    if let Some(r) = args.role {
        config.role = r;
    }
    if let Some(w) = args.workers {
        config.workers = w;
    }
    if let Some(d) = &args.db {
        config.db = Some(d.clone());
    }
    for url in &args.registries {
        if !config.registries.iter().any(|r| &r.url == url) {
            config.registries.push(RegistryConfig::from_url(url));
        }
    }
    config.validate()?;
    Ok(config)
}

pub fn run(args: Args) -> Result<u8> {
    let config = load_config(&args)?;
    let opts = ServeOptions {
        no_auth: args.no_auth,
    };
    serve::check_no_auth(&config, &opts)?;
    if args.check_config {
        println!(
            "configuration valid: listen {}, store {}, {} registr{}, role {:?}",
            config.listen,
            patchline_server::db::redact_url(&config.store_url()),
            config.registries.len(),
            if config.registries.len() == 1 {
                "y"
            } else {
                "ies"
            },
            config.role
        );
        return Ok(0);
    }
    init_logging();
    serve::run(config, opts)?;
    Ok(0)
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn args(argv: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("serve").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_then_environment_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("patchline.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nworkers = 3\nrole = \"api\"\n[schedules]\ndigest = \"12h\"\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let c = load_config_with_env(&args(&["--config", f]), &[]).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.workers, c.role),
            ("127.0.0.1:9000", 3, Role::Api)
        );
        let vars = env(&[
            ("PATCHLINE_WORKERS", "5"),
            ("PATCHLINE_ROLE", "worker"),
            ("PATCHLINE_SCHEDULES__DIGEST", "off"),
            ("PATCHLINE_STORE", "postgres://p:secret@db/patchline"),
        ]);
        let c = load_config_with_env(&args(&["--config", f]), &vars).unwrap();
        assert_eq!((c.workers, c.role), (5, Role::Worker));
        assert_eq!(c.schedules.digest, "off");
        assert_eq!(c.store.as_deref(), Some("postgres://p:secret@db/patchline"));
        let c = load_config_with_env(
            &args(&[
                "--config",
                f,
                "--workers",
                "7",
                "--role",
                "all",
                "--listen",
                "127.0.0.1:0",
            ]),
            &vars,
        )
        .unwrap();
        assert_eq!(
            (c.workers, c.role, c.listen.as_str()),
            (7, Role::All, "127.0.0.1:0")
        );
    }

    #[test]
    fn an_invalid_config_names_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("patchline.toml");
        for (text, key) in [
            ("job_lease = \"soon\"\n", "job_lease"),
            ("listen = \"everywhere\"\n", "listen"),
            ("[schedules]\nsync = \"often\"\n", "schedules.sync"),
            ("wrokers = 2\n", "wrokers"),
            ("store = \"mysql://db/x\"\n", "store"),
        ] {
            std::fs::write(&file, text).unwrap();
            let e = load_config_with_env(&args(&["--config", file.to_str().unwrap()]), &[])
                .unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(key), "{text:?}: {msg}");
        }
        // From the environment, the variable is named.
        let e = load_config_with_env(&args(&[]), &env(&[("PATCHLINE_WORKERS", "0")])).unwrap_err();
        assert!(format!("{e:#}").contains("workers"), "{e:#}");
        // A secret in the store URL is not repeated in the error.
        std::fs::write(&file, "store = \"mysql://u:hunter2@db/x\"\n").unwrap();
        let e =
            load_config_with_env(&args(&["--config", file.to_str().unwrap()]), &[]).unwrap_err();
        assert!(!format!("{e:#}").contains("hunter2"), "{e:#}");
    }

    #[test]
    fn no_auth_is_refused_off_loopback_even_for_check_config() {
        let a = args(&["--listen", "0.0.0.0:8080", "--no-auth", "--check-config"]);
        let e = run(a).unwrap_err();
        assert!(format!("{e:#}").contains("--no-auth"), "{e:#}");
        let a = args(&["--listen", "127.0.0.1:8080", "--no-auth", "--check-config"]);
        assert_eq!(run(a).unwrap(), 0);
    }
}
