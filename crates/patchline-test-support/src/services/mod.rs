//! Real services the server's tests start for themselves (each in a temp dir, on a free
//! loopback port, stopped by PID on drop): PostgreSQL, Debian's `docker-registry` with
//! notifications, an SMTP server, a webhook receiver.
//!
//! Each starter returns `None` after [`crate::missing`] when its program is absent (a
//! visible skip; under CI a failure).

#[cfg(feature = "browser")]
pub mod chromium;
pub mod postgres;
pub mod registry;
pub mod smtp;
pub mod webhook;

/// A free TCP port on 127.0.0.1 (bound and released; a race with another process is
/// possible but harmless in tests, which fail loudly then).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}
