//! npm: Node.js packages, installed (`node_modules`) and locked (`package-lock.json`).
//!
//! Two extractors, each reading one JSON file at a time as it streams by:
//!
//! - [`NpmPackage`] (`npm`) reads the manifest at the root of every installed package:
//!   `…/node_modules/<name>/package.json` and `…/node_modules/@<scope>/<name>/package.json`,
//!   at any depth and anywhere in the image (an application's `node_modules`, npm's global
//!   `usr/lib/node_modules` and `usr/local/lib/node_modules`, nested copies in
//!   `node_modules/a/node_modules/b`, pnpm's `node_modules/.pnpm/<id>/node_modules/<name>`),
//!   and the same directly in Debian's module directories (`usr/share/nodejs/<name>/`,
//!   `usr/lib/nodejs/<name>/`, `usr/lib/<triplet>/nodejs/<name>/`, where Debian's `node-*`
//!   packages install npm modules). A `package.json` deeper inside a package (test
//!   fixtures, `dist/esm/package.json` type markers) or an application's own manifest is
//!   not an installed package and is not read. osv-scalibr reads every `package.json`; an
//!   image holds thousands that are not packages, and an application's own name can be an
//!   unrelated npm package's. It reads `name` and `version` (both required: a manifest
//!   without them is a project's or a private one, skipped without a warning as
//!   osv-scalibr does), `license` (an SPDX expression, or the old `{"type": ...}` object)
//!   and the deprecated `licenses` list as the licenses, and `author` as the maintainer.
//!   osv-scalibr's tests of manifests that are not npm's (a VS Code extension: a `vscode`
//!   engine or `contributes`; a Unity package: `unity`) are kept for manifests outside
//!   npm's directories only, i.e. when [`read_manifest`] is called on such a path: inside
//!   `node_modules` npm installed it, whatever its fields (`vscode-languageclient` is an
//!   npm package with a VS Code engine).
//!
//! - [`NpmLock`] (`npm-lock`) reads an application's `package-lock.json` or
//!   `npm-shrinkwrap.json` outside `node_modules`. Lockfile versions 2 and 3 list every
//!   installed package in `packages`, keyed by install path (`node_modules/a/node_modules/b`),
//!   with the real name of an aliased one in `name`; version 1 has a tree of
//!   `dependencies` with `version` written `npm:<name>@<version>` for an alias. As
//!   osv-scalibr does: `packages` is read when present, else `dependencies`; each name and
//!   version is listed once, but two git commits of one package are two packages; a git,
//!   `file:` or tarball source in a version-1 `version` leaves the version empty (npm wrote
//!   the source there, not a version); development, optional and bundled packages are
//!   listed like the others (the lockfile says they may be installed, and patchline's
//!   packages have no dependency group). Unlike osv-scalibr, the links npm writes for
//!   workspaces (`"link": true`, no version) are skipped, since their targets are listed
//!   with their versions.
//!
//! A lockfile says what was meant to be installed, `node_modules` what is: an application
//! with both is listed once, from its installed manifests. The lockfile's packages count
//! only while the squashed view has no installed package in the `node_modules/` beside
//! it (they would repeat the manifests, and add the `devDependencies` that
//! `npm ci --omit=dev` left out and other platforms' optional packages; Trivy and Syft
//! read only installed manifests in images), and a `package-lock.json`'s only while no
//! `npm-shrinkwrap.json` is beside it, which npm reads instead (osv-scalibr's rule). An
//! extractor sees one file at a time, so it names those paths
//! ([`superseded_by`]) and the inventory decides, layer by layer. npm's hidden
//! lockfile, `node_modules/.package-lock.json`, is not read: it restates the manifests.
//!
//! Reading. Files are streamed through serde_json, never held whole, with a size limit
//! each ([`MAX_PACKAGE_JSON`], [`MAX_LOCKFILE`]: over it the file is skipped with a
//! warning). Invalid UTF-8 is read as U+FFFD, as osv-scalibr's Go decoder does (a
//! Latin-1 author must not lose the package), a leading byte-order mark is skipped, and
//! nesting is bounded. A manifest that is not valid JSON, or whose `name`
//! or `version` is not a string, gives a warning and no package (osv-scalibr fails the
//! file); a lockfile broken in the middle keeps the packages read before the break, with
//! a warning. Only an I/O error or the memory budget fails a file.

mod installed;
mod json;
mod lock;

pub use installed::{is_installed_manifest, read_manifest, NpmPackage, MAX_PACKAGE_JSON};
pub use lock::{is_lockfile, read_lockfile, superseded_by, NpmLock, MAX_LOCKFILE};

/// The longest package name or version kept. npm refuses names over 214 characters; a
/// longer value is no package npm installed.
const MAX_NAME: usize = 1024;
