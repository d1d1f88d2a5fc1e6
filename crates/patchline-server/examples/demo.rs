//! The README's first command (`bash scripts/demo.sh` runs it): `patchline serve` on its
//! embedded SQLite store, loaded with the example organisation of
//! `patchline_test_support::example` (the real fixture images in a hierarchy, pushed to a
//! local `docker-registry` that notifies the server, the real feed samples imported, every
//! image scanned, a campaign open), served until Ctrl-C.
//!
//! ```text
//! PATCHLINE_FIXTURES=DIR cargo run --release -p patchline-server --example demo [-- PORT]
//! ```
//!
//! Port 8080 unless given; when it is taken, a free one (and it says so). Everything lives
//! in a temp dir removed at exit: the example is rebuilt from the fixtures each time.

use std::net::TcpListener;
use std::time::Duration;

use patchline_test_support::example::{load, Options};

fn main() {
    let wanted: u16 = match std::env::args().nth(1) {
        None => 8080,
        Some(p) => p.parse().unwrap_or_else(|_| {
            eprintln!("demo: the port must be a number from 1 to 65535, not {p:?}");
            std::process::exit(2)
        }),
    };
    let port = if TcpListener::bind(("127.0.0.1", wanted)).is_ok() {
        wanted
    } else {
        let free = patchline_test_support::services::free_port();
        eprintln!("demo: port {wanted} on 127.0.0.1 is taken; using {free} instead");
        free
    };
    eprintln!(
        "demo: loading the example organisation (the images are scanned for real: a minute or two)"
    );
    let Some(example) = load(&Options {
        port,
        verbose: true,
    }) else {
        eprintln!("demo: cannot load the example: see the SKIP line above for what is missing (scripts/demo.sh installs and builds it)");
        std::process::exit(2);
    };

    println!();
    println!(
        "patchline is serving the example organisation at {}/",
        example.url
    );
    println!();
    println!("  log in with the admin token: {}", example.admin_token);
    println!("  or as team shop:             {}", example.shop_token);
    println!("  or as team billing:          {}", example.billing_token);
    println!();
    println!(
        "  {} images from {} (registry push events and syncs), campaign {} open for {}",
        example.images.len(),
        example.registry,
        example.campaign_id,
        example.campaign_cve
    );
    println!(
        "  the API: curl -H 'Authorization: Bearer {}' {}/api/v1/images",
        example.admin_token, example.url
    );
    println!(
        "  loaded in {:.0} s; Ctrl-C stops it (the example lives in a temp dir and goes with it)",
        example.load_time.as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the Ctrl-C wait");
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    eprintln!("demo: stopping");
    drop(example);
    std::thread::sleep(Duration::from_millis(100));
}
