//! The shape of a JSON document, for telling feed formats apart by content.
//!
//! A JSON document is scanned once without building it ([`Shape`]): its top-level keys,
//! the string values among them, and the same for the first value, three levels deep.
//! That is enough for every feed's [`detect`](crate::feeds::Feed::detect) to tell its
//! own documents apart, whatever the file is called.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Default)]
pub(crate) struct Shape {
    pub is_object: bool,
    pub is_array: bool,
    pub is_empty: bool,
    /// Keys of an object (the first [`MAX_KEYS`]).
    pub keys: Vec<String>,
    /// String values of an object's keys.
    pub strings: Vec<(String, String)>,
    /// The shape of the first value (object) or element (array).
    pub first: Option<Box<Shape>>,
    /// The value, when it is a (short) string.
    pub scalar: Option<String>,
}

const MAX_KEYS: usize = 64;
const MAX_DEPTH: u8 = 3;

impl Shape {
    pub(crate) fn has(&self, k: &str) -> bool {
        self.keys.iter().any(|x| x == k)
    }
    pub(crate) fn string(&self, k: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

struct Probe(u8);

impl<'de> DeserializeSeed<'de> for Probe {
    type Value = Shape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

/// A value's string, when it is one; anything else is skipped.
struct StrOrSkip;

impl<'de> DeserializeSeed<'de> for StrOrSkip {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        crate::util::lenient_str(d)
    }
}

impl<'de> Visitor<'de> for Probe {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Shape, E> {
        Ok(Shape {
            scalar: (v.len() <= 256).then(|| v.to_string()),
            ..Shape::default()
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
        let mut s = Shape {
            is_array: true,
            ..Shape::default()
        };
        if self.0 < MAX_DEPTH {
            s.first = a.next_element_seed(Probe(self.0 + 1))?.map(Box::new);
        } else if a.next_element::<IgnoredAny>()?.is_some() {
            s.first = Some(Box::default());
        }
        s.is_empty = s.first.is_none();
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(s)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
        let mut s = Shape {
            is_object: true,
            is_empty: true,
            ..Shape::default()
        };
        let mut n = 0usize;
        loop {
            if n >= MAX_KEYS {
                if a.next_key::<IgnoredAny>()?.is_none() {
                    break;
                }
                a.next_value::<IgnoredAny>()?;
                continue;
            }
            let Some(k) = a.next_key::<String>()? else {
                break;
            };
            s.is_empty = false;
            if n == 0 && self.0 < MAX_DEPTH {
                let first = a.next_value_seed(Probe(self.0 + 1))?;
                if let Some(v) = &first.scalar {
                    s.strings.push((k.clone(), v.clone()));
                }
                s.first = Some(Box::new(first));
            } else if let Some(v) = a.next_value_seed(StrOrSkip)? {
                if v.len() <= 256 {
                    s.strings.push((k.clone(), v));
                }
            }
            s.keys.push(k);
            n += 1;
        }
        Ok(s)
    }
}

/// Scans a JSON document's shape; a syntax error is returned as is.
pub(crate) fn shape(bytes: &[u8]) -> Result<Shape, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let s = Probe(0).deserialize(&mut de)?;
    de.end()?;
    Ok(s)
}

/// What a JSON document that no feed claimed looks like, for the error message.
pub(crate) fn describe(s: &Shape) -> String {
    if s.is_array {
        return match s.first.as_deref() {
            None => "an empty JSON array".into(),
            Some(first) => format!("a JSON array whose first element has keys {:?}", first.keys),
        };
    }
    if !s.is_object {
        return "a JSON scalar".into();
    }
    if s.is_empty {
        return "an empty JSON object".into();
    }
    let mut keys = s.keys.clone();
    keys.truncate(8);
    format!("a JSON object with keys {keys:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(j: &str) -> String {
        describe(&shape(j.as_bytes()).unwrap())
    }

    #[test]
    fn shapes() {
        let s = shape(br#"{"curl":{"CVE-1":{"releases":{}}},"x":"y"}"#).unwrap();
        assert!(s.is_object && s.has("curl") && s.string("x") == Some("y"));
        let entry = s.first.as_deref().and_then(|p| p.first.as_deref()).unwrap();
        assert!(entry.is_object && entry.has("releases"));
        assert_eq!(d(r#"{"hello":1}"#), r#"a JSON object with keys ["hello"]"#);
        assert_eq!(d("[]"), "an empty JSON array");
        assert_eq!(d("{}"), "an empty JSON object");
        assert_eq!(d("3"), "a JSON scalar");
        assert!(shape(b"{\"a\":").is_err());
    }
}
