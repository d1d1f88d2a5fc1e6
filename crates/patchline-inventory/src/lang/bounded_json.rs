//! JSON package lists read as a stream (composer's `installed.json` and `composer.lock`,
//! .NET's `*.deps.json`): serde visitors pick the few fields wanted and skip the rest
//! without building a tree, and the memory serde_json holds meanwhile is charged to the
//! inventory's budget.
//!
//! That memory is serde_json's scratch buffer. Reading from a stream, it copies every
//! string it hands over (keys included) into the buffer, grown by doubling and kept for
//! the whole parse; when it skips a value it uses the same buffer as the stack of open
//! brackets, one byte a level, with no depth limit (its recursion limit guards only the
//! values deserialized into types). So it holds up to about twice the longest string or
//! the deepest nesting of the file. [`Guarded`] watches the bytes go by, tracks both, and
//! charges that high-water mark to the budget in 1 MiB steps: a file that needs more stops
//! with an error (the inventory is then incomplete), never with the process's memory.
//!
//! A leading UTF-8 byte-order mark is skipped (JSON forbids it, Windows editors write
//! it); CRLF line ends are JSON whitespace already. Strings must be UTF-8 where they are
//! read (names, versions); skipped strings are not checked, as serde_json skips them
//! unchecked.

use std::io::{self, BufReader, Read};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::extract::{Budget, ExtractError, Held};

/// Bytes charged to the budget at a time.
const STEP: u64 = 1 << 20;

/// Longest string value kept ([`Scalar::Long`] past it): names, versions and license ids
/// are short, and a value kept is copied once more.
pub(crate) const MAX_VALUE: usize = 4096;

/// A reader that tracks the longest string and the deepest nesting seen so far and keeps
/// twice the larger charged to `budget`.
struct Guarded<'a, R> {
    inner: R,
    path: &'a str,
    budget: &'a Budget,
    in_string: bool,
    escaped: bool,
    /// Bytes of the string being read (escapes counted raw, an upper bound of its value).
    run: u64,
    depth: u64,
    charged: u64,
    held: Vec<Held<'a>>,
    offset: u64,
    /// Why reading stopped for good: over the budget, or the stream failed.
    failure: Option<ExtractError>,
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("stopped"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                self.failure = Some(ExtractError::new(self.path, format!("reading failed: {e}")));
                return Err(io::Error::other("stopped"));
            }
        };
        let mut high = 0;
        for &b in &buf[..n] {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'"' {
                    self.in_string = false;
                    continue;
                } else if b == b'\\' {
                    self.escaped = true;
                }
                self.run += 1;
                high = high.max(self.run);
            } else {
                match b {
                    b'"' => {
                        self.in_string = true;
                        self.run = 0;
                    }
                    b'[' | b'{' => {
                        self.depth += 1;
                        high = high.max(self.depth);
                    }
                    b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        // The scratch buffer's capacity: doubling leaves up to twice what it held.
        let need = high.saturating_mul(2);
        while self.charged < need {
            match self.budget.reserve(STEP) {
                Ok(h) => {
                    self.held.push(h);
                    self.charged += STEP;
                }
                Err(e) => {
                    let what = if self.in_string || self.run >= self.depth {
                        "a string"
                    } else {
                        "nesting"
                    };
                    self.failure = Some(ExtractError::new(
                        self.path,
                        format!(
                            "{what} near byte {} needs {need} bytes or more to read, {e}",
                            self.offset + n as u64
                        ),
                    ));
                    return Err(io::Error::other("stopped"));
                }
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Streams the JSON value of `content` into `seed`. `Ok(None)`: read to the end;
/// `Ok(Some(reason))`: the text is not valid JSON or not of the shape `seed` wants
/// (serde_json's message, with line and column), so reading stopped there and what the
/// seed collected before stands; `Err`: over the budget, or the stream failed.
pub(crate) fn read_json<'de, S>(
    path: &str,
    content: &mut dyn Read,
    budget: &Budget,
    seed: S,
) -> Result<Option<String>, ExtractError>
where
    S: DeserializeSeed<'de, Value = ()>,
{
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < head.len() {
        match content.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ExtractError::new(path, format!("reading failed: {e}"))),
        }
    }
    let head: &[u8] = if head[..got] == *b"\xef\xbb\xbf" {
        &[]
    } else {
        &head[..got]
    };
    let mut guarded = Guarded {
        inner: head.chain(content),
        path,
        budget,
        in_string: false,
        escaped: false,
        run: 0,
        depth: 0,
        charged: 0,
        held: Vec::new(),
        offset: 0,
        failure: None,
    };
    let result = {
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(64 << 10, &mut guarded));
        seed.deserialize(&mut de).and_then(|()| de.end())
    };
    if let Some(failure) = guarded.failure.take() {
        return Err(failure);
    }
    Ok(result.err().map(|e| e.to_string()))
}

/// A JSON value read where a string is wanted: the string, or what was there instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str(String),
    /// A string longer than [`MAX_VALUE`] bytes (not copied).
    Long(usize),
    /// Not a string: `a number`, `null`, `an object`...
    Other(&'static str),
}

impl Scalar {
    /// The string, if it is one of a sensible length.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What was found, for a warning: the quoted string, or its kind.
    pub(crate) fn describe(&self) -> String {
        match self {
            Scalar::Str(s) => crate::extract::quoted(s.as_bytes()),
            Scalar::Long(n) => format!("a string of {n} bytes"),
            Scalar::Other(kind) => (*kind).to_string(),
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(if v.len() > MAX_VALUE {
            Scalar::Long(v.len())
        } else {
            Scalar::Str(v.to_string())
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scalar, E> {
        Ok(Scalar::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Scalar, E> {
        Ok(Scalar::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        drain_seq(seq)?;
        Ok(Scalar::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        drain_map(map)?;
        Ok(Scalar::Other("an object"))
    }
}

/// Skips the rest of an array.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Skips the rest of an object.
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The [`Visitor`] methods for the kinds of JSON value a visitor does not want (`scalars`:
/// booleans, numbers, strings, null; `seq`: arrays; `map`: objects): each skips the value
/// and returns `self.unexpected(kind)`, which records a warning. The visitor's lifetime
/// comes first: `unexpected_kinds!('de; scalars, map)`.
macro_rules! unexpected_kinds {
    ($de:lifetime; $($kind:ident),*) => {
        $(unexpected_kinds!(@ $de $kind);)*
    };
    (@ $de:lifetime scalars) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(self.unexpected("a boolean"))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(self.unexpected("a number"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(self.unexpected("a number"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(self.unexpected("a number"))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(self.unexpected("a string"))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.unexpected("null"))
        }
    };
    (@ $de:lifetime seq) => {
        fn visit_seq<A: serde::de::SeqAccess<$de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            $crate::lang::bounded_json::drain_seq(seq)?;
            Ok(self.unexpected("an array"))
        }
    };
    (@ $de:lifetime map) => {
        fn visit_map<A: serde::de::MapAccess<$de>>(self, map: A) -> Result<Self::Value, A::Error> {
            $crate::lang::bounded_json::drain_map(map)?;
            Ok(self.unexpected("an object"))
        }
    };
}
pub(crate) use unexpected_kinds;

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects every top-level string of an array.
    struct Strings<'a>(&'a mut Vec<Scalar>);

    impl<'de> DeserializeSeed<'de> for Strings<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Strings<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(s) = seq.next_element::<Scalar>()? {
                self.0.push(s);
            }
            Ok(())
        }
    }

    fn read(input: &[u8], budget: &Budget) -> (Result<Option<String>, ExtractError>, Vec<Scalar>) {
        let mut got = Vec::new();
        let r = read_json("f.json", &mut &input[..], budget, Strings(&mut got));
        (r, got)
    }

    #[test]
    fn reads_after_a_byte_order_mark_and_keeps_what_preceded_an_error() {
        let (r, got) = read(
            b"\xef\xbb\xbf[\"a\",\r\n1, {\"x\": [\"y\"]}]",
            &Budget::unlimited(),
        );
        assert_eq!(r.unwrap(), None);
        assert_eq!(
            got,
            [
                Scalar::Str("a".into()),
                Scalar::Other("a number"),
                Scalar::Other("an object")
            ]
        );
        let (r, got) = read(b"[\"a\", \"b\" oops", &Budget::unlimited());
        let reason = r.unwrap().unwrap();
        assert_eq!(reason, "expected `,` or `]` at line 1 column 11");
        assert_eq!(got.len(), 2);
        let (r, _) = read(b"[] []", &Budget::unlimited());
        assert!(r.unwrap().unwrap().contains("trailing characters"));
    }

    #[test]
    fn a_long_value_is_not_copied() {
        let mut input = b"[\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_VALUE + 1));
        input.extend(b"\"]");
        let (r, got) = read(&input, &Budget::unlimited());
        assert_eq!(r.unwrap(), None);
        assert_eq!(got, [Scalar::Long(MAX_VALUE + 1)]);
    }

    #[test]
    fn a_huge_string_or_nesting_stops_at_the_budget() {
        let budget = Budget::new(4 << 20);
        let mut input = b"[\"ok\", \"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 << 20));
        input.extend(b"\"]");
        let e = read(&input, &budget).0.unwrap_err().to_string();
        assert!(e.starts_with("f.json: a string near byte"), "{e}");
        assert!(e.contains("memory budget of 4194304"), "{e}");
        assert_eq!(budget.used(), 0);

        // Skipped values nest without a recursion limit in serde_json.
        let mut input = b"[{\"skip\": ".to_vec();
        input.extend(std::iter::repeat_n(b'[', 3 << 20));
        let e = read(&input, &budget).0.unwrap_err().to_string();
        assert!(e.contains("nesting near byte"), "{e}");
        assert_eq!(budget.used(), 0);

        // The same string fits a larger budget.
        let mut input = b"[\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 << 20));
        input.extend(b"\"]");
        let (r, got) = read(&input, &Budget::new(8 << 20));
        assert_eq!(r.unwrap(), None);
        assert_eq!(got, [Scalar::Long(3 << 20)]);
    }

    #[test]
    fn escapes_do_not_end_a_string() {
        let (r, got) = read(br#"["a\"[{b\\", "c"]"#, &Budget::unlimited());
        assert_eq!(r.unwrap(), None);
        assert_eq!(
            got,
            [Scalar::Str("a\"[{b\\".into()), Scalar::Str("c".into())]
        );
    }

    #[test]
    fn a_failing_stream_is_an_error() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut got = Vec::new();
        let e = read_json(
            "f.json",
            &mut Failing,
            &Budget::unlimited(),
            Strings(&mut got),
        )
        .unwrap_err();
        assert!(e.to_string().contains("disk on fire"), "{e}");
        let mut input = b"[\"a\", ".chain(Failing);
        let e = read_json(
            "f.json",
            &mut input,
            &Budget::unlimited(),
            Strings(&mut got),
        )
        .unwrap_err();
        assert!(e.to_string().contains("disk on fire"), "{e}");
    }
}
