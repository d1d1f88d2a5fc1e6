//! A campaign over real images (the fixture OCI layout: `base`, its `child`, and
//! `base-patched`, the base with one package upgraded): the base tag moves to
//! base-patched, the child's item opens; a child rebuilt with umoci on base-patched is
//! verified by its real layer chain and closes the campaign.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use patchline_image::source::OpenOptions;
use patchline_image::ImageRef;
use patchline_model::{ImageInfo, Inventory};
use patchline_server::campaigns;
use patchline_server::config::Config;
use patchline_server::db::{Db, Tx};
use patchline_server::store::{self, ImageKey};
use patchline_server::{notify, Server};
use patchline_test_support::{fixtures, require_tools};

fn info(layout: &Path, tag: &str) -> ImageInfo {
    let spec = format!("oci:{}:{tag}", layout.display());
    let r = ImageRef::parse(&spec).unwrap();
    patchline_image::open(&r, &spec, &OpenOptions::default())
        .unwrap()
        .resolve()
        .unwrap()
        .info
}

/// Stores a real image under a catalogued reference as a scan does: its row, layers
/// (through its inventory) and resolved catalog entry.
fn record(tx: &mut dyn Tx, reference: &str, info: &ImageInfo) -> (i64, String) {
    let digest = info.manifest_digest.as_ref().unwrap().to_string();
    let id = store::upsert_image(
        tx,
        &ImageKey {
            digest: digest.clone(),
            registry: "r.example".into(),
            repository: reference.into(),
            reference: reference.into(),
            source: "registry".into(),
        },
    )
    .unwrap();
    store::save_inventory(tx, id, &Inventory::new(info.clone())).unwrap();
    patchline_server::lineage::record_image(tx, reference, id, info).unwrap();
    (id, digest)
}

#[test]
fn real_base_move_and_real_rebuild_close_the_campaign() {
    let Some(fx) = fixtures() else { return };
    if !require_tools(&["umoci"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("layout");
    let st = Command::new("cp")
        .arg("-r")
        .arg(fx.join("layout"))
        .arg(&layout)
        .status()
        .unwrap();
    assert!(st.success());
    // The rebuilt child: base-patched plus the child's own change, as one new layer.
    let files = t.path().join("files");
    std::fs::create_dir_all(files.join("srv/app")).unwrap();
    std::fs::write(files.join("srv/app/app.py"), "print('child')\n").unwrap();
    let tar = t.path().join("child.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(&files)
        .arg("-cf")
        .arg(&tar)
        .arg("srv")
        .status()
        .unwrap()
        .success());
    assert!(Command::new("umoci")
        .args(["raw", "add-layer", "--image"])
        .arg(format!("{}:base-patched", layout.display()))
        .args(["--tag", "child-rebuilt"])
        .arg(&tar)
        .status()
        .unwrap()
        .success());

    let db = Db::open(t.path().join("s.sqlite").to_str().unwrap(), 2).unwrap();
    db.migrate().unwrap();
    let server = Arc::new(Server::new(
        db,
        Config {
            data_dir: Some(t.path().to_path_buf()),
            ..Config::default()
        },
        false,
        t.path().join("adv.sqlite"),
    ));
    let catalog = r#"
images:
  - reference: r.example/platform/base:12
    tier: base
    owner: { team: platform }
  - reference: r.example/apps/child:1
    tier: application
    owner: { team: apps }
    parent: r.example/platform/base:12
teams:
  - name: platform
  - name: apps
"#;
    let (base, child, patched, rebuilt) = (
        info(&layout, "base"),
        info(&layout, "child"),
        info(&layout, "base-patched"),
        info(&layout, "child-rebuilt"),
    );
    assert!(child.layers.len() > base.layers.len());
    let s = server.clone();
    let id = server
        .db
        .tx(|tx| -> patchline_server::db::Result<i64> {
            patchline_server::lineage::import_yaml(tx, catalog)?;
            notify::teams::import(tx, catalog)?;
            let (_, old) = record(tx, "r.example/platform/base:12", &base);
            record(tx, "r.example/apps/child:1", &child);
            let (_, new) = record(tx, "r.example/platform/base:12", &patched);
            campaigns::on_tag_moved(tx, &s, "r.example", "platform/base", "12", Some(&old), &new)?;
            tx.query_i64("SELECT id FROM campaigns", &[])
        })
        .unwrap();
    let d = server
        .db
        .read(|tx| campaigns::detail(tx, id))
        .unwrap()
        .unwrap();
    assert_eq!(d.items.len(), 1, "{:?}", d.items);
    assert_eq!(
        (
            d.items[0].reference.as_str(),
            d.items[0].state.as_str(),
            d.items[0].team.as_deref()
        ),
        ("r.example/apps/child:1", "to-rebuild", Some("apps"))
    );

    // Pushing the old child again changes nothing; the real rebuild verifies.
    server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            let (img, _) = record(tx, "r.example/apps/child:1", &child);
            campaigns::on_image_scanned(tx, &s, img)?;
            let (img, _) = record(tx, "r.example/apps/child:1", &rebuilt);
            campaigns::on_image_scanned(tx, &s, img)
        })
        .unwrap();
    let d = server
        .db
        .read(|tx| campaigns::detail(tx, id))
        .unwrap()
        .unwrap();
    assert_eq!(d.items[0].state, "verified", "{:?}", d.items);
    assert_eq!(
        d.items[0].new_digest.as_deref(),
        Some(
            rebuilt
                .manifest_digest
                .as_ref()
                .unwrap()
                .to_string()
                .as_str()
        )
    );
    assert_eq!(d.summary.state, "done");
}
