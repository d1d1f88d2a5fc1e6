//! Server-side lists: filter, sort and pagination from the query string, so every view is a
//! URL that can be shared.
//!
//! CONTRACT: a list page deserializes [`ListParams`] from its query (plus its own filters),
//! orders and pages in SQL (`ORDER BY <whitelisted column> <dir> LIMIT per OFFSET offset()`),
//! renders column headers with [`sort_link`] and the footer with [`pager`]. Unknown sort keys
//! fall back to the page's default; `per` is clamped to 1..=200.

use maud::{html, Markup};
use serde::Deserialize;

use crate::web::session::urlencode;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    /// Free-text filter.
    pub q: Option<String>,
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// 1-based.
    pub page: Option<u32>,
    pub per: Option<u32>,
}

impl ListParams {
    pub fn per(&self) -> u32 {
        self.per.unwrap_or(50).clamp(1, 200)
    }
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn offset(&self) -> i64 {
        (self.page() as i64 - 1) * self.per() as i64
    }
    pub fn desc(&self) -> bool {
        self.dir.as_deref() == Some("desc")
    }
    /// The sort key if it is one of `allowed`, else `default`.
    pub fn sort_key<'a>(&self, allowed: &[&'a str], default: &'a str) -> &'a str {
        self.sort
            .as_deref()
            .and_then(|s| allowed.iter().find(|a| **a == s).copied())
            .unwrap_or(default)
    }
}

/// `base` with `pairs` as its query string (empty values left out).
pub fn href(base: &str, pairs: &[(&str, String)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

/// A column header that sorts by `key` (toggling the direction when already sorted by it).
/// `keep` are the page's other query pairs (filters) to carry along.
pub fn sort_link(
    p: &ListParams,
    base: &str,
    keep: &[(&str, String)],
    key: &str,
    label: &str,
    current: &str,
) -> Markup {
    let active = current == key;
    let dir = if active && !p.desc() { "desc" } else { "asc" };
    let mut pairs = keep.to_vec();
    pairs.push(("sort", key.to_string()));
    pairs.push(("dir", dir.to_string()));
    let aria = active.then(|| if p.desc() { "descending" } else { "ascending" });
    html! {
        a href=(href(base, &pairs)) aria-sort=[aria] { (label) @if active { @if p.desc() { " ↓" } @else { " ↑" } } }
    }
}

/// "Page n of m" with previous and next links.
pub fn pager(p: &ListParams, base: &str, keep: &[(&str, String)], total: i64) -> Markup {
    let pages = ((total.max(0) + p.per() as i64 - 1) / p.per() as i64).max(1);
    let at = p.page() as i64;
    let link = |n: i64| {
        let mut pairs = keep.to_vec();
        if let Some(s) = &p.sort {
            pairs.push(("sort", s.clone()));
        }
        if let Some(d) = &p.dir {
            pairs.push(("dir", d.clone()));
        }
        pairs.push(("page", n.to_string()));
        if p.per.is_some() {
            pairs.push(("per", p.per().to_string()));
        }
        href(base, &pairs)
    };
    html! {
        nav class="pager" aria-label="Pages" {
            @if at > 1 { a rel="prev" href=(link(at - 1)) { "← Previous" } }
            span { "Page " (at) " of " (pages) " · " (total) " in all" }
            @if at < pages { a rel="next" href=(link(at + 1)) { "Next →" } }
        }
    }
}
