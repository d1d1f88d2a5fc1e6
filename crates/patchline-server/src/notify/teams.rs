//! Teams in the store (`teams`: the catalog's `teams:` entries as JSON, by name).

use patchline_lineage::teams::Team;

use crate::db::{now, DbError, Result, Tx};
use crate::params;

/// Parses a catalog YAML's `teams:` section and upserts every team it declares (teams
/// not named are kept: removing one is an explicit act). A file without teams changes
/// nothing. Returns the names declared.
///
/// Call it in the same transaction as `lineage::import_yaml`, with the same text.
pub fn import(tx: &mut dyn Tx, yaml_text: &str) -> Result<Vec<String>> {
    let teams = patchline_lineage::catalog_file::parse_teams(yaml_text)
        .map_err(|e| DbError::Other(format!("catalog YAML: {e}")))?;
    let mut names = Vec::with_capacity(teams.len());
    for t in &teams {
        put(tx, t)?;
        names.push(t.name.clone());
    }
    Ok(names)
}

/// Stores one team (replacing the one of that name).
pub fn put(tx: &mut dyn Tx, team: &Team) -> Result<()> {
    let doc = serde_json::to_string(team)
        .map_err(|e| DbError::Other(format!("team {}: {e}", team.name)))?;
    tx.exec(
        "INSERT INTO teams (name, doc, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
        params![&team.name, doc, now()],
    )?;
    Ok(())
}

fn from_json(name: &str, doc: &str) -> Result<Team> {
    serde_json::from_str(doc).map_err(|e| DbError::Other(format!("team {name}: {e}")))
}

pub fn get(tx: &mut dyn Tx, name: &str) -> Result<Option<Team>> {
    match tx.query_opt("SELECT doc FROM teams WHERE name = ?", params![name])? {
        Some(r) => Ok(Some(from_json(name, r.str(0)?)?)),
        None => Ok(None),
    }
}

pub fn all(tx: &mut dyn Tx) -> Result<Vec<Team>> {
    tx.query("SELECT name, doc FROM teams ORDER BY name", &[])?
        .iter()
        .map(|r| from_json(r.str(0)?, r.str(1)?))
        .collect()
}

/// The team that deals with the vendor of a COTS image (its `vendor_relationships`
/// name the image by any spelling).
pub fn vendor_team(teams: &[Team], reference: &str) -> Option<String> {
    let key = identity(reference);
    teams
        .iter()
        .find(|t| {
            t.vendor_relationships
                .iter()
                .any(|r| r == reference || identity(r) == key)
        })
        .map(|t| t.name.clone())
}

fn identity(reference: &str) -> String {
    patchline_lineage::name::ImageName::parse(reference)
        .map(|n| n.to_string())
        .unwrap_or_else(|| reference.to_string())
}

/// The teams marked `security: true`.
pub fn security_teams(teams: &[Team]) -> Vec<String> {
    teams
        .iter()
        .filter(|t| t.security)
        .map(|t| t.name.clone())
        .collect()
}
