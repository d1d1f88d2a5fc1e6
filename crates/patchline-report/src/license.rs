//! Recognising SPDX licence identifiers and expressions, conservatively.
//!
//! Package databases hold free text: dpkg copyright files, rpm `License:` tags in Fedora's
//! old notation (`GPLv2+ and LGPLv2+`), apk `license` fields that are usually but not
//! always SPDX. Writing such text where a standard expects an SPDX identifier makes the
//! document invalid, so a string is only treated as SPDX when it parses as an expression
//! whose every identifier is on the list the CycloneDX schema enumerates. Identifiers are
//! matched case-insensitively (SPDX annex D) and written in their canonical case; the
//! operators must be upper case, as the annex says they should be.

use crate::spdx_ids::{EXCEPTIONS, LICENSES};

/// Longer strings are not SPDX expressions that packagers write: refusing them bounds the
/// work and the recursion on untrusted input.
const MAX_LEN: usize = 1024;
const MAX_DEPTH: usize = 16;

/// What a licence string is, as far as SPDX goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spdx {
    /// A single listed licence identifier, in canonical case.
    Id(&'static str),
    /// A valid expression with at least one operator, normalised (canonical case,
    /// single spaces). `needs_parens` is true when it has a top-level AND/OR, so that
    /// it must be parenthesised to be combined with another expression.
    Expression { text: String, needs_parens: bool },
    /// Anything else.
    Other,
}

pub(crate) fn classify(s: &str) -> Spdx {
    if s.len() > MAX_LEN {
        return Spdx::Other;
    }
    let tokens = tokenize(s);
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        out: String::new(),
    };
    match p.expr(0) {
        Some(top_level_ops) if p.pos == tokens.len() => {
            if tokens.len() == 1 {
                match lookup(LICENSES, tokens[0]) {
                    Some(id) => Spdx::Id(id),
                    None => Spdx::Other,
                }
            } else {
                Spdx::Expression {
                    text: p.out,
                    needs_parens: top_level_ops,
                }
            }
        }
        _ => Spdx::Other,
    }
}

/// Combines the licences of one package into one SPDX expression, all of them applying
/// (they come from one package's metadata, each covering part of it). `None` when any
/// of them is not SPDX or there is none.
pub(crate) fn combined_expression(licenses: &[String]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let single = licenses.len() == 1;
    for l in licenses {
        let part = match classify(l) {
            Spdx::Id(id) => id.to_string(),
            Spdx::Expression { text, needs_parens } if needs_parens && !single => {
                format!("({text})")
            }
            Spdx::Expression { text, .. } => text,
            Spdx::Other => return None,
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

fn lookup(list: &'static [&'static str], s: &str) -> Option<&'static str> {
    list.binary_search_by(|probe| {
        probe
            .bytes()
            .map(|b| b.to_ascii_lowercase())
            .cmp(s.bytes().map(|b| b.to_ascii_lowercase()))
    })
    .ok()
    .map(|i| list[i])
}

fn tokenize(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for word in s.split_whitespace() {
        let mut rest = word;
        while !rest.is_empty() {
            match rest.find(['(', ')']) {
                Some(0) => {
                    out.push(&rest[..1]);
                    rest = &rest[1..];
                }
                Some(i) => {
                    out.push(&rest[..i]);
                    rest = &rest[i..];
                }
                None => {
                    out.push(rest);
                    rest = "";
                }
            }
        }
    }
    out
}

struct Parser<'a> {
    tokens: &'a [&'a str],
    pos: usize,
    out: String,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.pos).copied()
    }

    /// `term ((AND|OR) term)*`; returns whether an AND/OR was seen at this level.
    fn expr(&mut self, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.term(depth)?;
        let mut saw_op = false;
        while let Some(op @ ("AND" | "OR")) = self.peek() {
            self.out.push(' ');
            self.out.push_str(op);
            self.out.push(' ');
            self.pos += 1;
            saw_op = true;
            self.term(depth)?;
        }
        Some(saw_op)
    }

    /// `'(' expr ')' | LICENSE [WITH EXCEPTION]`
    fn term(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            "(" => {
                self.pos += 1;
                self.out.push('(');
                self.expr(depth + 1)?;
                if self.peek()? != ")" {
                    return None;
                }
                self.pos += 1;
                self.out.push(')');
                Some(())
            }
            tok => {
                let id = lookup(LICENSES, tok)?;
                self.pos += 1;
                self.out.push_str(id);
                if self.peek() == Some("WITH") {
                    self.pos += 1;
                    let exc = lookup(EXCEPTIONS, self.peek()?)?;
                    self.pos += 1;
                    self.out.push_str(" WITH ");
                    self.out.push_str(exc);
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> Spdx {
        Spdx::Expression {
            text: s.into(),
            needs_parens: true,
        }
    }

    #[test]
    fn lists_are_sorted_for_binary_search() {
        for list in [LICENSES, EXCEPTIONS] {
            for w in list.windows(2) {
                assert!(
                    w[0].to_ascii_lowercase() < w[1].to_ascii_lowercase(),
                    "{} !< {}",
                    w[0],
                    w[1]
                );
            }
        }
    }

    #[test]
    fn classifies() {
        assert_eq!(classify("MIT"), Spdx::Id("MIT"));
        assert_eq!(classify(" apache-2.0 "), Spdx::Id("Apache-2.0"));
        assert_eq!(classify("GPL-2.0+"), Spdx::Id("GPL-2.0+"));
        assert_eq!(
            classify("MIT AND BSD-3-Clause"),
            expr("MIT AND BSD-3-Clause")
        );
        assert_eq!(
            classify("(mit OR  Apache-2.0)AND Zlib"),
            Spdx::Expression {
                text: "(MIT OR Apache-2.0) AND Zlib".into(),
                needs_parens: true
            }
        );
        assert_eq!(
            classify("GPL-2.0-only WITH Classpath-exception-2.0"),
            Spdx::Expression {
                text: "GPL-2.0-only WITH Classpath-exception-2.0".into(),
                needs_parens: false
            }
        );
        for bad in [
            "",
            "GPLv2+ and LGPLv2+",
            "MIT and BSD-3-Clause",
            "MIT AND",
            "(MIT",
            "MIT)",
            "MIT WITH MIT",
            "Classpath-exception-2.0",
            "LicenseRef-foo",
            "public-domain",
            "MIT+",
            "AND",
            "()",
        ] {
            assert_eq!(classify(bad), Spdx::Other, "{bad:?}");
        }
        let deep = format!("{}MIT{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(classify(&deep), Spdx::Other);
        assert_eq!(classify(&"MIT AND ".repeat(500)), Spdx::Other);
    }

    #[test]
    fn combines() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(combined_expression(&v(&[])), None);
        assert_eq!(combined_expression(&v(&["MIT"])).as_deref(), Some("MIT"));
        assert_eq!(
            combined_expression(&v(&["MIT OR Apache-2.0"])).as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            combined_expression(&v(&["MIT OR Apache-2.0", "Zlib", "zlib"])).as_deref(),
            Some("(MIT OR Apache-2.0) AND Zlib")
        );
        assert_eq!(combined_expression(&v(&["MIT", "GPLv2+"])), None);
    }

    /// The embedded lists must be exactly the schema's enum: one id more and a BOM we
    /// write could fail validation, one less and we would write a name for an id.
    #[test]
    fn lists_match_cyclonedx_schema() {
        let Some(path) =
            patchline_test_support::shared_data_path("schemas/cyclonedx/spdx.schema.json")
        else {
            return;
        };
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut from_schema: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut ours: Vec<&str> = LICENSES.iter().chain(EXCEPTIONS).copied().collect();
        from_schema.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, from_schema);
    }
}
