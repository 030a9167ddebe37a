//! A strict reader for the plain JSON that nearly every Maelstrom line is made of.
//!
//! [`scan_line`] builds the same envelope parts and [`Json`] tree that the `serde_json` based
//! reader builds, for lines written entirely in this subset:
//! - strings without escapes and without control characters (the line is already UTF-8);
//! - unsigned integers that fit in a `u64`, written without leading zeros, sign, fraction or
//!   exponent;
//! - `true`, `false`, `null`, objects and arrays nested at most [`MAX_DEPTH`] deep;
//! - whitespace as JSON defines it (space, tab, line feed, carriage return).
//!
//! Within the subset JSON has one meaning, which `serde_json` gives it too, so the two readers
//! agree. On anything else (an escape, a negative or fractional number, a repeated envelope
//! key, a syntax error, ...) it returns `None` and the caller takes the `serde_json` path,
//! which handles (or rejects) the line exactly as parsing into a `Value` does.

use std::borrow::Cow;

use super::json::{Json, Object};

/// Deepest nesting the scanner reads; deeper lines take the `serde_json` path.
pub(super) const MAX_DEPTH: usize = 64;

/// An envelope as the scanner takes it apart.
#[derive(Debug, PartialEq)]
pub(super) struct Scanned<'a> {
    pub src: &'a str,
    pub dest: &'a str,
    pub body: Object<'a>,
}

/// Reads a whole line in the plain subset, or `None` (see the module doc).
pub(super) fn scan_line(line: &str) -> Option<Scanned<'_>> {
    let mut s = Scanner {
        text: line,
        bytes: line.as_bytes(),
        pos: 0,
    };
    s.skip_ws();
    s.eat(b'{')?;
    let mut src = None;
    let mut dest = None;
    let mut body = None;
    loop {
        s.skip_ws();
        let key = s.string()?;
        s.skip_ws();
        s.eat(b':')?;
        s.skip_ws();
        match key {
            "src" => once(&mut src, s.string()?)?,
            "dest" => once(&mut dest, s.string()?)?,
            "body" => {
                s.eat(b'{')?;
                let entries = s.object_rest(1)?;
                once(&mut body, entries)?;
            }
            _ => {
                s.value(1)?;
            }
        }
        s.skip_ws();
        match s.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    s.skip_ws();
    if s.pos != s.bytes.len() {
        return None;
    }
    Some(Scanned {
        src: src?,
        dest: dest?,
        body: body?,
    })
}

fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// The length of a string's contents up to its closing quote, or `None` when an escape, a
/// control character or the end of input comes first. Looks at eight bytes at a time.
fn string_len(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = rest.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // A high bit marks each byte equal to `"` or `\\`, or below 0x20 (the usual
        // "has zero byte" test; a byte of 0x80 or more never matches, so no false hit).
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        let hits = (quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGHS;
        if hits != 0 {
            // Only the lowest marked byte is sure to be a real hit (borrows can mark bytes
            // above it), and it is the one wanted.
            let i = at + (hits.trailing_zeros() / 8) as usize;
            return (rest[i] == b'"').then_some(i);
        }
        at += 8;
    }
    let i = at
        + rest[at..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    (rest[i] == b'"').then_some(i)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A string starting at the current `"`, borrowed; `None` on an escape or a control
    /// character.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let len = string_len(&self.bytes[start..])?;
        self.pos = start + len + 1;
        // Both ends are at an ASCII quote, hence at character boundaries.
        self.text.get(start..start + len)
    }

    fn value(&mut self, depth: usize) -> Option<Json<'a>> {
        match self.peek()? {
            b'"' => self.string().map(|s| Json::Str(Cow::Borrowed(s))),
            b'{' => {
                self.pos += 1;
                self.object_rest(depth + 1).map(Json::Object)
            }
            b'[' => {
                self.pos += 1;
                self.array_rest(depth + 1).map(Json::Array)
            }
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'n' => self.literal(b"null", Json::Null),
            b'0'..=b'9' => self.unsigned().map(|n| Json::Number(n.into())),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], value: Json<'a>) -> Option<Json<'a>> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end)? != word {
            return None;
        }
        self.pos = end;
        Some(value)
    }

    fn unsigned(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        let start = self.pos;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            self.pos += 1;
        }
        let digits = self.pos - start;
        if digits > 1 && self.bytes[start] == b'0' {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        Some(n)
    }

    /// The entries of an object whose `{` has been read.
    fn object_rest(&mut self, depth: usize) -> Option<Object<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut entries = Vec::with_capacity(4);
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(entries);
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.eat(b':')?;
            self.skip_ws();
            let value = self.value(depth)?;
            entries.push((Cow::Borrowed(key), value));
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b'}' => return Some(entries),
                _ => return None,
            }
        }
    }

    /// The items of an array whose `[` has been read.
    fn array_rest(&mut self, depth: usize) -> Option<Vec<Json<'a>>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(items);
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b']' => return Some(items),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(rest: &[u8]) -> Option<usize> {
        let i = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (rest[i] == b'"').then_some(i)
    }

    proptest! {
        #[test]
        fn string_end_search_matches_a_byte_loop(
            bytes in prop::collection::vec(prop_oneof![
                4 => 0x20u8..0x7f,
                1 => Just(b'"'),
                1 => Just(b'\\'),
                1 => 0u8..0x20,
                2 => 0x80u8..=0xff,
            ], 0..40)
        ) {
            prop_assert_eq!(string_len(&bytes), naive(&bytes));
        }
    }
}
