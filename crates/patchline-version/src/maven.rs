//! Maven versions, ordered like Maven's
//! `org.apache.maven.artifact.versioning.ComparableVersion` (the "version order
//! specification" of the POM reference), in its current form with combination
//! items (`alpha2` is one item) and the MNG-5568/6964/7644/7714 fixes.
//!
//! In short: the version is lowercased and split at `.`, `-` and digit/letter
//! transitions into numbers, qualifiers and nested lists (a `-` or a transition
//! opens a sub-list); trailing zeros and empty items are dropped (`ga`, `final`
//! and `release` stay but compare equal to nothing, so `1-ga` = `1`); numbers
//! compare by value and beat qualifiers; known qualifiers
//! order `alpha (a) < beta (b) < milestone (m) < rc (cr) < snapshot < "" (ga, final,
//! release) < sp`, and unknown ones sort after all of them, alphabetically.
//!
//! Every string parses, as in Maven, except strings longer than Maven's own
//! `MAX_VERSION_LENGTH` (256 UTF-16 code units), which Maven rejects too; the bound
//! also caps the nesting depth the comparison recurses through.
//!
//! Deviation, on purpose: Maven's lookahead "is the character after `-` a digit"
//! and its search for the digit part of a combination use Java's
//! `Character.isDigit`, which accepts non-ASCII digits and then sometimes throws
//! `NumberFormatException` (`x-٨y`). Here both use ASCII digits only, so such
//! strings parse (their non-ASCII digits act as letters).

use std::cmp::Ordering;

use crate::num::{cmp_dec, stripped_span, Span};

/// Maven's `ComparableVersion.MAX_VERSION_LENGTH`.
const MAX_VERSION_LENGTH: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QualKey {
    /// Index in `alpha, beta, milestone, rc, snapshot, "", sp`.
    Known(u8),
    /// Any other qualifier: after every known one, compared by its text.
    Unknown(Span),
}

/// `QUALIFIERS.indexOf("")`: the rank of a release.
const RELEASE: QualKey = QualKey::Known(5);

#[derive(Clone, Copy, Debug)]
struct Qual {
    key: QualKey,
    /// The qualifier as written (lowercased).
    text: Span,
    /// Maven's replacement text for `a1`/`b1`/`m1` and `cr`.
    alias: Option<&'static str>,
}

impl Qual {
    /// Maven's `isNull()` for a string item: the text itself is empty (`ga` is not).
    fn is_empty(&self) -> bool {
        self.alias.is_none() && self.text.is_empty()
    }
}

#[derive(Clone, Debug)]
enum Item {
    /// Digits without leading zeros (empty = 0).
    Num(Span),
    Str(Qual),
    /// A qualifier immediately followed by a number (`alpha2`, `rc-1`).
    Comb(Qual, Span),
    List(Vec<Item>),
}

#[derive(Clone, Debug)]
pub(crate) struct Maven {
    original: Box<str>,
    /// Lowercased input; spans point here.
    s: Box<str>,
    items: Vec<Item>,
}

impl Maven {
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Maven's `getCanonical()`.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        write_list(&self.items, &self.s, &mut out);
        out
    }
}

fn write_list(items: &[Item], s: &str, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(if matches!(item, Item::List(_)) {
                '-'
            } else {
                '.'
            });
        }
        match item {
            Item::Num(n) => out.push_str(if n.is_empty() { "0" } else { n.of(s) }),
            Item::Str(q) => write_qual(q, s, out),
            Item::Comb(q, n) => {
                write_qual(q, s, out);
                out.push_str(if n.is_empty() { "0" } else { n.of(s) });
            }
            Item::List(l) => write_list(l, s, out),
        }
    }
}

fn write_qual(q: &Qual, s: &str, out: &mut String) {
    out.push_str(q.alias.unwrap_or_else(|| q.text.of(s)));
}

fn qual(s: &str, span: Span, followed_by_digit: bool) -> Qual {
    let alias = match (followed_by_digit, span.of(s)) {
        (true, "a") => Some("alpha"),
        (true, "b") => Some("beta"),
        (true, "m") => Some("milestone"),
        (_, "cr") => Some("rc"),
        _ => None,
    };
    let text = alias.unwrap_or_else(|| span.of(s));
    let key = match text {
        "alpha" => QualKey::Known(0),
        "beta" => QualKey::Known(1),
        "milestone" => QualKey::Known(2),
        "rc" => QualKey::Known(3),
        "snapshot" => QualKey::Known(4),
        "" | "ga" | "final" | "release" => RELEASE,
        "sp" => QualKey::Known(6),
        _ => QualKey::Unknown(span),
    };
    Qual {
        key,
        text: span,
        alias,
    }
}

/// Maven's `parseItem(isCombination, isDigit, buf)` for `s[start..end]`.
fn parse_item(s: &str, is_comb: bool, is_digit: bool, start: usize, end: usize) -> Item {
    if is_comb {
        let b = s.as_bytes();
        let d = (start..end).find(|&k| b[k].is_ascii_digit()).unwrap_or(end);
        // The letters may be followed by the `-` of "X-1 is X1", which Maven drops.
        let mut letters_end = d;
        while letters_end > start && b[letters_end - 1] == b'-' {
            letters_end -= 1;
        }
        let digits_end = d + crate::num::digit_run(&b[d..end]);
        Item::Comb(
            qual(s, Span::new(start, letters_end), true),
            stripped_span(s, d, digits_end),
        )
    } else if is_digit {
        Item::Num(stripped_span(s, start, end))
    } else {
        Item::Str(qual(s, Span::new(start, end), false))
    }
}

pub(crate) fn parse(input: &str) -> Result<Maven, String> {
    let units = input.encode_utf16().count();
    if units > MAX_VERSION_LENGTH {
        return Err(format!(
            "longer than Maven's limit of {MAX_VERSION_LENGTH} characters ({units})"
        ));
    }
    let s: Box<str> = input.to_lowercase().into();
    let items = parse_items(&s);
    Ok(Maven {
        original: input.into(),
        s,
        items,
    })
}

fn parse_items(s: &str) -> Vec<Item> {
    let b = s.as_bytes();
    let len = b.len();
    // The current list is the last one; each list's child is the list after it,
    // attached when parsing ends (a sub-list is always its parent's last item).
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut is_comb = false;
    let mut start = 0usize;

    for (i, c) in s.char_indices() {
        let cur_empty = stack.last().is_none_or(Vec::is_empty);
        if c == '.' {
            let item = if i == start {
                Item::Num(Span::default())
            } else {
                parse_item(s, is_comb, is_digit, start, i)
            };
            push(&mut stack, item);
            is_comb = false;
            start = i + 1;
        } else if c == '-' {
            if i == start {
                push(&mut stack, Item::Num(Span::default()));
            } else {
                if !is_digit && i != len - 1 && b[i + 1].is_ascii_digit() {
                    // "X-1" is read as "X1".
                    is_comb = true;
                    continue;
                }
                push(&mut stack, parse_item(s, is_comb, is_digit, start, i));
            }
            start = i + 1;
            if !stack.last().is_none_or(Vec::is_empty) {
                stack.push(Vec::new());
            }
            is_comb = false;
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                is_comb = true;
                if !cur_empty {
                    stack.push(Vec::new());
                }
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                push(&mut stack, parse_item(s, is_comb, true, start, i));
                start = i;
                stack.push(Vec::new());
                is_comb = false;
            }
            is_digit = false;
        }
    }
    if len > start {
        // "1.0.0.X1" < "1.0.0-X2": a trailing qualifier after "." opens a sub-list too.
        if !is_digit && !stack.last().is_none_or(Vec::is_empty) {
            stack.push(Vec::new());
        }
        push(&mut stack, parse_item(s, is_comb, is_digit, start, len));
    }

    let mut child: Option<Vec<Item>> = None;
    while let Some(mut list) = stack.pop() {
        if let Some(c) = child.take() {
            list.push(Item::List(c));
        }
        normalize(&mut list);
        child = Some(list);
    }
    child.unwrap_or_default()
}

fn push(stack: &mut [Vec<Item>], item: Item) {
    if let Some(cur) = stack.last_mut() {
        cur.push(item);
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Num(n) => n.is_empty(),
        Item::Str(q) => q.is_empty(),
        Item::Comb(..) => false,
        Item::List(l) => l.is_empty(),
    }
}

/// Drops null items that end the list or precede a qualifier (or a sub-list
/// starting with one), and unwraps a list left holding only a sub-list.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if !is_null(&list[i]) {
            continue;
        }
        let remove = match list.get(i + 1) {
            None => true,
            Some(Item::Str(_)) => true,
            Some(Item::List(l)) => matches!(l.first(), Some(Item::Comb(..) | Item::Str(_))),
            Some(_) => false,
        };
        if remove {
            list.remove(i);
        }
    }
    if let [Item::List(inner)] = list.as_mut_slice() {
        *list = std::mem::take(inner);
    }
}

fn qual_cmp(a: QualKey, sa: &str, b: QualKey, sb: &str) -> Ordering {
    match (a, b) {
        (QualKey::Known(x), QualKey::Known(y)) => x.cmp(&y),
        (QualKey::Known(_), QualKey::Unknown(_)) => Ordering::Less,
        (QualKey::Unknown(_), QualKey::Known(_)) => Ordering::Greater,
        // Java compares strings by UTF-16 code unit.
        (QualKey::Unknown(x), QualKey::Unknown(y)) => {
            x.of(sa).encode_utf16().cmp(y.of(sb).encode_utf16())
        }
    }
}

fn num_cmp_null(n: Span) -> Ordering {
    if n.is_empty() {
        Ordering::Equal
    } else {
        Ordering::Greater
    }
}

/// `item.compareTo(null)`: how the item compares with "nothing" (a shorter version).
fn cmp_null(item: &Item, s: &str) -> Ordering {
    match item {
        Item::Num(n) => num_cmp_null(*n),
        Item::Str(q) => qual_cmp(q.key, s, RELEASE, ""),
        Item::Comb(q, n) => match qual_cmp(q.key, s, RELEASE, "") {
            Ordering::Equal => num_cmp_null(*n),
            o => o,
        },
        Item::List(l) => l
            .iter()
            .map(|i| cmp_null(i, s))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
    }
}

/// `a.compareTo(b)` for a non-null `b`.
fn cmp_item(a: &Item, sa: &str, b: &Item, sb: &str) -> Ordering {
    use Item::*;
    match (a, b) {
        (Num(x), Num(y)) => cmp_dec(x.bytes(sa), y.bytes(sb)),
        (Num(_), _) => Ordering::Greater,

        (Str(_) | Comb(..), Num(_)) => Ordering::Less,
        (Str(p), Str(q)) => qual_cmp(p.key, sa, q.key, sb),
        (Str(p), Comb(q, n)) => match qual_cmp(p.key, sa, q.key, sb) {
            Ordering::Equal if qual_cmp(p.key, sa, RELEASE, "").is_eq() => {
                num_cmp_null(*n).reverse()
            }
            Ordering::Equal => Ordering::Less,
            o => o,
        },
        (Comb(p, n), Str(q)) => match qual_cmp(p.key, sa, q.key, sb) {
            Ordering::Equal if qual_cmp(p.key, sa, RELEASE, "").is_eq() => num_cmp_null(*n),
            Ordering::Equal => Ordering::Greater,
            o => o,
        },
        (Comb(p, m), Comb(q, n)) => match qual_cmp(p.key, sa, q.key, sb) {
            Ordering::Equal => cmp_dec(m.bytes(sa), n.bytes(sb)),
            o => o,
        },
        (Str(_) | Comb(..), List(_)) => cmp_item(b, sb, a, sa).reverse(),

        (List(_), Num(_)) => Ordering::Less,
        (List(l), Str(_) | Comb(..)) => {
            let mut r = match l.first() {
                None => cmp_null(b, sb).reverse(),
                Some(first) => cmp_item(first, sa, b, sb),
            };
            for item in l.iter().skip(1) {
                if r.is_ne() {
                    break;
                }
                r = cmp_null(item, sa);
            }
            r
        }
        (List(l), List(m)) => cmp_lists(l, sa, m, sb),
    }
}

fn cmp_lists(l: &[Item], sa: &str, m: &[Item], sb: &str) -> Ordering {
    for k in 0..l.len().max(m.len()) {
        let r = match (l.get(k), m.get(k)) {
            (None, None) => Ordering::Equal,
            (None, Some(y)) => cmp_null(y, sb).reverse(),
            (Some(x), None) => cmp_null(x, sa),
            (Some(x), Some(y)) => cmp_item(x, sa, y, sb),
        };
        if r.is_ne() {
            return r;
        }
    }
    Ordering::Equal
}

pub(crate) fn cmp(a: &Maven, b: &Maven) -> Ordering {
    cmp_lists(&a.items, &a.s, &b.items, &b.s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    fn canon(v: &str) -> String {
        parse(v).unwrap().canonical()
    }

    #[test]
    fn qualifier_order() {
        let ordered = [
            "1-alpha-1",
            "1-alpha2",
            "1-beta-1",
            "1-milestone-1",
            "1-rc1",
            "1-SNAPSHOT",
            "1",
            "1-sp1",
            "1-abc",
            "1-1",
            "1.0.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(c(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(c("1a1", "1-alpha-1"), Equal);
        assert_eq!(c("1cr", "1rc"), Equal);
        assert_eq!(c("1-ga", "1"), Equal);
        assert_eq!(c("1.FINAL", "1"), Equal);
        assert_eq!(c("1.0.0", "1"), Equal);
        assert_eq!(c("1-0", "1"), Equal);
        assert_eq!(c("2-alpha", "2.0.0.alpha"), Equal);
        assert_eq!(c("1.0.0.RC1", "1.0.0-RC2"), Less);
        assert_eq!(c("6.1.0rc3", "6.1H.5-beta"), Less);
        assert_eq!(c("1-0.alpha", "1"), Less);
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("0.x"), "x");
        assert_eq!(canon("0.2"), "0.2");
        assert_eq!(canon("1.0-alpha-1"), "1-alpha1");
        assert_eq!(canon("1.0.0.RELEASE"), "1-release");
        assert_eq!(canon("1a1"), "1-alpha1");
    }

    #[test]
    fn everything_parses_within_the_limit() {
        for v in [
            "",
            "-",
            ".",
            "--..--",
            "é",
            "x-٨y",
            "\u{1d7e4}",
            "1--1",
            "a.b-c.d",
        ] {
            assert!(parse(v).is_ok(), "{v:?}");
        }
        assert!(parse(&"1.".repeat(128)).is_ok());
        assert!(parse(&"1.".repeat(129)).is_err());
        assert_eq!(c("1", "é"), Greater);
        assert_eq!(c("1.É", "1.é"), Equal);
    }
}
