//! What npm's two JSON readers share: a stream that repairs the bytes serde_json would
//! refuse, the memory meter, and warnings made from serde_json's errors.
//!
//! Both files are read with `serde_json::Deserializer::from_reader` through
//! [`Utf8Lossy`], never held whole: serde_json skips the values nobody asked for
//! (`scripts`, `readme`, `integrity`, ...) without buffering them, iteratively whatever
//! their nesting, and stops nested values that are deserialized at 128 levels. What it
//! does buffer is the one string being read into a field (a name, a version, a map key),
//! at most the file's size, which is what [`Meter`] charges for it.

use std::io::{self, Read};

use crate::extract::{Budget, Held, OverBudget};

/// The UTF-8 byte-order mark, which npm and Node skip and serde_json does not.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// U+FFFD, the replacement character.
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

/// Bytes read from the inner stream at a time.
const CHUNK: usize = 8 << 10;

/// A stream of the inner stream's bytes as valid UTF-8: every invalid sequence becomes
/// U+FFFD, as Go's `encoding/json` (osv-scalibr) reads strings, and a leading byte-order
/// mark is dropped. serde_json refuses any invalid byte in a string it returns; without
/// this a Latin-1 `author` in an old package.json would lose the whole package. Invalid
/// bytes outside strings stay invalid JSON after the repair.
pub(super) struct Utf8Lossy<R> {
    inner: R,
    buf: Box<[u8]>,
    /// `buf[start..end]` is read from `inner` and not yet passed on.
    start: usize,
    end: usize,
    /// `buf[start..valid]` is known to be valid UTF-8.
    valid: usize,
    /// Bytes of a replacement character still to pass on (a reader may ask for fewer
    /// than three at a time).
    replacement_left: usize,
    bom_checked: bool,
}

impl<R: Read> Utf8Lossy<R> {
    pub(super) fn new(inner: R) -> Self {
        Utf8Lossy {
            inner,
            buf: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            valid: 0,
            replacement_left: 0,
            bom_checked: false,
        }
    }

    /// Moves the bytes not passed on (at most an incomplete sequence of three) to the
    /// front and reads more after them. False at the end of the inner stream.
    fn fill(&mut self) -> io::Result<bool> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.valid = 0;
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for Utf8Lossy<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.replacement_left > 0 {
                let from = REPLACEMENT.len() - self.replacement_left;
                let n = self.replacement_left.min(out.len());
                out[..n].copy_from_slice(&REPLACEMENT[from..from + n]);
                self.replacement_left -= n;
                return Ok(n);
            }
            if self.start < self.valid {
                // The first character is whole here (validation ends on boundaries), so
                // a byte-order mark is either entirely in view or absent.
                if !self.bom_checked {
                    self.bom_checked = true;
                    if self.buf[self.start..self.valid].starts_with(BOM) {
                        self.start += BOM.len();
                        continue;
                    }
                }
                let n = (self.valid - self.start).min(out.len());
                out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
                self.start += n;
                return Ok(n);
            }
            match std::str::from_utf8(&self.buf[self.start..self.end]) {
                Ok(_) if self.start < self.end => self.valid = self.end,
                Ok(_) => {
                    if !self.fill()? {
                        return Ok(0);
                    }
                }
                Err(e) if e.valid_up_to() > 0 => self.valid = self.start + e.valid_up_to(),
                Err(e) => match e.error_len() {
                    Some(bad) => {
                        self.start += bad;
                        self.valid = self.start;
                        self.replacement_left = REPLACEMENT.len();
                        // A byte-order mark after an invalid byte is not a leading one.
                        self.bom_checked = true;
                    }
                    // A sequence cut by the end of what is buffered: more bytes decide.
                    None => {
                        if !self.fill()? {
                            self.start = self.end;
                            self.valid = self.end;
                            self.replacement_left = REPLACEMENT.len();
                            self.bom_checked = true;
                        }
                    }
                },
            }
        }
    }
}

/// Bytes of the budget reserved at a time while a file is read, so the budget is not
/// asked for every package.
const STEP: u64 = 1 << 20;

/// Memory held while one file is read (the string being parsed, packages found, the
/// lockfile's table of those already seen), charged to the budget in steps and given
/// back when dropped. The packages returned are charged for good separately.
pub(super) struct Meter<'b> {
    budget: &'b Budget,
    held: Vec<Held<'b>>,
    reserved: u64,
    used: u64,
}

impl<'b> Meter<'b> {
    pub(super) fn new(budget: &'b Budget) -> Self {
        Meter {
            budget,
            held: Vec::new(),
            reserved: 0,
            used: 0,
        }
    }

    pub(super) fn add(&mut self, bytes: u64) -> Result<(), OverBudget> {
        self.used = self.used.saturating_add(bytes);
        if self.reserved < self.used {
            let step = (self.used - self.reserved).max(STEP);
            self.held.push(self.budget.reserve(step)?);
            self.reserved += step;
        }
        Ok(())
    }
}

/// Characters of a serde_json error kept in a warning: its message can quote a value
/// from the file.
const ERROR_CHARS: usize = 200;

/// serde_json's error as a warning: its message (capped; it quotes values escaped) with
/// the line and column it gives.
pub(super) fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.char_indices().nth(ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `input` through [`Utf8Lossy`], `step` bytes asked at a time, from an inner
    /// stream that gives `inner_step` bytes per read.
    fn lossy(input: &[u8], step: usize, inner_step: usize) -> Vec<u8> {
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(out.len()).min(self.1);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = Utf8Lossy::new(Dribble(input, inner_step));
        let mut out = Vec::new();
        let mut piece = vec![0; step];
        loop {
            let n = r.read(&mut piece).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&piece[..n]);
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters_whatever_the_read_sizes() {
        let input = b"\xef\xbb\xbf{\"a\": \"Jos\xe9 \xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\"}\xff\xe2\x82";
        let want = "{\"a\": \"Jos\u{fffd} é€ 😀 \u{fffd}\"}\u{fffd}\u{fffd}";
        for step in [1, 2, 3, 5, 64] {
            for inner in [1, 2, 3, 7, 4096] {
                let got = lossy(input, step, inner);
                assert_eq!(String::from_utf8(got).unwrap(), want, "{step} {inner}");
            }
        }
    }

    #[test]
    fn only_a_leading_byte_order_mark_is_dropped() {
        assert_eq!(
            lossy(b"\xef\xbb\xbf\xef\xbb\xbf1", 1, 1),
            "\u{feff}1".as_bytes()
        );
        assert_eq!(
            lossy(b"\xff\xef\xbb\xbf", 4, 4),
            "\u{fffd}\u{feff}".as_bytes()
        );
        assert_eq!(lossy(b"\xef\xbb", 4, 4), "\u{fffd}".as_bytes());
        assert_eq!(lossy(b"", 4, 4), b"");
    }

    #[test]
    fn long_valid_input_passes_unchanged() {
        let input: Vec<u8> = "aé€😀".repeat(10_000).into_bytes();
        assert_eq!(lossy(&input, 1000, 777), input);
    }

    #[test]
    fn the_meter_reserves_in_steps_and_gives_back() {
        let budget = Budget::new(3 * STEP);
        {
            let mut m = Meter::new(&budget);
            m.add(10).unwrap();
            assert_eq!(budget.used(), STEP);
            m.add(STEP).unwrap();
            assert_eq!(budget.used(), 2 * STEP);
            assert!(m.add(2 * STEP).is_err());
        }
        assert_eq!(budget.used(), 0);
    }
}
