//! Sending one message on one channel. Every error returned here is safe to log and
//! store: it never contains a secret (a Slack URL's token, a webhook's secret, the SMTP
//! password) — URLs are cut to their scheme and host, and reqwest's errors are taken
//! without their URL.

use std::time::Duration;

use patchline_lineage::teams::{Channel, Team};
use serde::{Deserialize, Serialize};

use crate::config::Smtp;
use crate::db::now;

use super::webhook;

/// Bodies and answers are small; a receiver that stalls must not hold a worker.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Secret files are a line; a larger one is a mistake.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// What a team is told.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub team: String,
    /// fix | waiting | vendor | digest | escalation.
    pub kind: String,
    pub urgent: bool,
    pub subject: String,
    /// Plain text, a few lines.
    pub text: String,
    /// The structured details (finding, root, descendants...).
    pub details: serde_json::Value,
}

/// `scheme://host[:port]` of a URL: what may appear in logs.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "<invalid url>".into(),
    }
}

/// Reads a secret from a file or an environment variable; errors name where, never what.
pub fn read_secret(file: Option<&str>, env: Option<&str>) -> Result<String, String> {
    if let Some(path) = file {
        let meta = std::fs::metadata(path).map_err(|e| format!("secret file {path}: {e}"))?;
        if meta.len() > MAX_SECRET_FILE {
            return Err(format!(
                "secret file {path}: larger than {MAX_SECRET_FILE} bytes"
            ));
        }
        let s = std::fs::read_to_string(path).map_err(|e| format!("secret file {path}: {e}"))?;
        let s = s.trim().to_string();
        if s.is_empty() {
            return Err(format!("secret file {path} is empty"));
        }
        return Ok(s);
    }
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(format!("environment variable {var} is not set")),
        };
    }
    Err("no secret configured".into())
}

/// Sends `msg` on `channel`; `Ok` carries a short status for the deliveries log.
pub fn send(
    channel: &Channel,
    _team: &Team,
    msg: &Message,
    smtp: Option<&Smtp>,
) -> Result<String, String> {
    if let Some(w) = &channel.webhook {
        let secret = read_secret(w.secret_file.as_deref(), w.secret_env.as_deref())?;
        let body = serde_json::to_vec(msg).map_err(|e| format!("message JSON: {e}"))?;
        let sig = webhook::sign(secret.as_bytes(), now(), &body);
        return post(&w.url, &body, Some(&sig), "webhook");
    }
    if let Some(s) = &channel.slack {
        let url = read_secret(s.url_file.as_deref(), s.url_env.as_deref())?;
        let body =
            serde_json::to_vec(&slack_body(msg)).map_err(|e| format!("message JSON: {e}"))?;
        return post(&url, &body, None, "slack");
    }
    if let Some(e) = &channel.email {
        let smtp = smtp.ok_or("e-mail channel but no [smtp] in the server's configuration")?;
        return send_mail(smtp, &e.to, msg);
    }
    Err("empty channel".into())
}

/// A Slack-compatible incoming-webhook body: `text` (the fallback and notifications)
/// and one section block.
pub fn slack_body(msg: &Message) -> serde_json::Value {
    let mark = if msg.urgent { ":rotating_light: " } else { "" };
    serde_json::json!({
        "text": format!("{mark}{}", msg.subject),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&msg.subject, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&msg.text, 2900)}},
        ],
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn post(url: &str, body: &[u8], signature: Option<&str>, what: &str) -> Result<String, String> {
    let shown = redact_url(url);
    let client = reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("{what} {shown}: {}", e.without_url()))?;
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("patchline/", env!("CARGO_PKG_VERSION")),
        )
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header(webhook::SIGNATURE_HEADER, sig);
    }
    let resp = req
        .send()
        .map_err(|e| format!("{what} {shown}: {}", e.without_url()))?;
    let status = resp.status();
    if status.is_success() {
        Ok(format!("HTTP {}", status.as_u16()))
    } else {
        Err(format!("{what} {shown}: HTTP {}", status.as_u16()))
    }
}

fn send_mail(smtp: &Smtp, to: &[String], msg: &Message) -> Result<String, String> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{Message as Mail, SmtpTransport, Transport};

    let from = smtp
        .from
        .parse()
        .map_err(|e| format!("smtp.from {:?}: {e}", smtp.from))?;
    let mut b = Mail::builder().from(from).subject(&msg.subject);
    for a in to {
        b = b.to(a.parse().map_err(|e| format!("address {a:?}: {e}"))?);
    }
    let mail = b
        .header(ContentType::TEXT_PLAIN)
        .body(msg.text.clone())
        .map_err(|e| format!("building the message: {e}"))?;
    let host = smtp.host.as_str();
    let builder = match smtp.security.as_str() {
        "tls" => SmtpTransport::relay(host).map_err(|e| format!("smtp {host}: {e}"))?,
        "starttls" => {
            SmtpTransport::starttls_relay(host).map_err(|e| format!("smtp {host}: {e}"))?
        }
        _ => SmtpTransport::builder_dangerous(host),
    };
    let mut builder = builder.port(smtp.port).timeout(Some(TIMEOUT));
    if let Some(user) = &smtp.username {
        let password = read_secret(
            smtp.password_file.as_ref().and_then(|p| p.to_str()),
            smtp.password_env.as_deref(),
        )?;
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let resp = builder
        .build()
        .send(&mail)
        // lettre's errors carry the server's reply, never the credentials.
        .map_err(|e| format!("smtp {host}:{}: {e}", smtp.port))?;
    Ok(format!("SMTP {}", resp.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            redact_url("http://user:pw@127.0.0.1:8080/x?token=1"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(redact_url("not a url"), "<invalid url>");
    }

    #[test]
    fn unreachable_slack_url_is_not_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("slack");
        // Port 9 on loopback: refused at once.
        std::fs::write(&f, "http://127.0.0.1:9/services/T0/B0/SECRETTOKEN\n").unwrap();
        let ch: Channel = serde_json::from_value(serde_json::json!({
            "slack": {"url_file": f.to_str().unwrap()}
        }))
        .unwrap();
        let team: Team = serde_json::from_value(serde_json::json!({"name": "t"})).unwrap();
        let msg = Message {
            id: 1,
            team: "t".into(),
            kind: "fix".into(),
            urgent: true,
            subject: "s".into(),
            text: "x".into(),
            details: serde_json::Value::Null,
        };
        let err = send(&ch, &team, &msg, None).unwrap_err();
        assert!(
            !err.contains("SECRETTOKEN") && !err.contains("services"),
            "{err}"
        );
        assert!(err.contains("127.0.0.1:9"), "{err}");
    }
}
