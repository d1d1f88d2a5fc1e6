//! The HTTPS listener of `[admission] listen`: the API server only calls webhooks over
//! TLS, with the certificate checked against the configuration's `caBundle`.
//!
//! It serves the same application as the plain listener (every route keeps its own
//! authentication); a deployment usually exposes only this one to the cluster.
//! Handshakes run in their own tasks, bounded by [`HANDSHAKE`], so a client that
//! connects and sends nothing holds up no one else.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::state::AppState;

/// Longest a TLS handshake may take.
pub const HANDSHAKE: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const BACKLOG: usize = 64;

/// A rustls server configuration from PEM files (a chain, and a PKCS#8, PKCS#1 or SEC1
/// key), naming the file on error.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificate {}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: no PEM certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not go together")?;
    // axum serves HTTP/1.1 here; the API server speaks it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// TLS connections, handshaken off the accept loop.
pub struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept loop ended (its listener failed): serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Binds `addr` and handshakes with `config` in the background.
pub async fn bind(addr: SocketAddr, config: rustls::ServerConfig) -> anyhow::Result<TlsListener> {
    let tcp = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = tcp.local_addr()?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = tokio::sync::mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match tcp.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %e, "admission listener: accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let out = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = out.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
            if tx.is_closed() {
                break;
            }
        }
    });
    Ok(TlsListener { rx, local })
}

/// Starts the HTTPS listener when `[admission] listen` is set; stops with the server.
pub fn spawn(
    runtime: &tokio::runtime::Runtime,
    server: &AppState,
) -> anyhow::Result<Option<SocketAddr>> {
    let cfg = &server.config.admission;
    cfg.check()?;
    let Some(listen) = &cfg.listen else {
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (&cfg.cert, &cfg.key) else {
        anyhow::bail!("[admission] listen needs cert and key (PEM files)");
    };
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("[admission] listen: {listen:?} is not host:port"))?;
    let config = server_config(cert, key)?;
    let listener = runtime.block_on(bind(addr, config))?;
    let local = listener.local;
    tracing::info!(listen = %local, "admission webhook listening (HTTPS)");
    let app = crate::api::router(server.clone());
    let s = server.clone();
    runtime.spawn(async move {
        let shutdown = async move {
            while !s.stopping() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "admission HTTPS server");
        }
    });
    Ok(Some(local))
}
