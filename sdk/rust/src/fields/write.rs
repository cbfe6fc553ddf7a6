//! Writing fields back out as one JSON object.
//!
//! [`write_fields`] writes every key and value it is given.
//! [`rewrite_fields`] writes the same bytes but copies from the record the
//! fields came from whatever it already has in place: a normalizer that
//! renames one key of twenty writes the record in three copies instead of
//! eighty small ones. Inside a component every copy of a few bytes costs a
//! call out of the compiled code (`memory.copy`), so the number of copies,
//! not the number of bytes, is what writing costs there.

use std::ops::Range;

use sluice_json_scan::is_plain;

use super::RawJson;

/// Writes fields as one JSON object, in the order given. Keys are escaped;
/// values are copied as they are.
pub fn write_fields<K: AsRef<str>>(fields: &[(K, RawJson<'_>)]) -> String {
    let mut out = String::with_capacity(written_size(fields));
    let mut separator = "{";
    for (key, value) in fields {
        out.push_str(separator);
        separator = ",";
        write_key(&mut out, key.as_ref());
        out.push_str(value.get());
    }
    if fields.is_empty() {
        out.push('{');
    }
    out.push('}');
    out
}

/// Writes `fields` exactly as [`write_fields`] does, copying from `text`
/// (the record they were parsed from, or any text) what it already holds:
/// a key `text` has as `"key":`, a value that is part of `text`, and a
/// comma `text` has between two of them. Pieces that follow each other in
/// `text` are copied in one piece, so fields kept as the record had them
/// cost one copy per run instead of four per field.
pub fn rewrite_fields<K: AsRef<str>>(text: &str, fields: &[(K, RawJson<'_>)]) -> String {
    let mut out = Copier {
        text,
        run: 0..0,
        out: String::with_capacity(written_size(fields)),
    };
    out.out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 && !out.extend_by_comma() {
            out.push_str(",");
        }
        let key = key.as_ref();
        match head_in(text, key) {
            Some(head) => out.copy(head),
            None => {
                out.flush();
                write_key(&mut out.out, key);
            }
        }
        match within(text, value.get()) {
            Some(range) => out.copy(range),
            None => out.push_str(value.get()),
        }
    }
    out.flush();
    out.out.push('}');
    out.out
}

/// The length of the object [`write_fields`] writes for plain keys: quotes,
/// colon and comma are four bytes per field, plus the braces.
fn written_size<K: AsRef<str>>(fields: &[(K, RawJson<'_>)]) -> usize {
    fields
        .iter()
        .map(|(key, value)| key.as_ref().len() + value.get().len() + 4)
        .sum::<usize>()
        + 2
}

/// Writes `"key":`, escaping the key if it needs it.
#[inline(always)]
fn write_key(out: &mut String, key: &str) {
    if is_plain(key.as_bytes()) {
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
    } else {
        out.push_str(&serde_json::to_string(key).expect("a string serializes"));
        out.push(':');
    }
}

/// Where `part` is in `text`, if it is a part of it.
#[inline(always)]
fn within(text: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    (start <= text.len() && part.len() <= text.len() - start).then(|| start..start + part.len())
}

/// Where `text` has `"key":` around `key` (a part of it), the bytes
/// [`write_key`] writes for it: the key plain, a quote before it, a quote
/// and a colon after it.
#[inline(always)]
fn head_in(text: &str, key: &str) -> Option<Range<usize>> {
    let Range { start, end } = within(text, key)?;
    let b = text.as_bytes();
    (start > 0
        && b[start - 1] == b'"'
        // Byte by byte: a slice comparison is a call to `memcmp`.
        && b.get(end) == Some(&b'"')
        && b.get(end + 1) == Some(&b':')
        && is_plain(key.as_bytes()))
    .then(|| start - 1..end + 2)
}

/// The output, and the run of `text` waiting to be copied into it.
struct Copier<'t> {
    text: &'t str,
    run: Range<usize>,
    out: String,
}

impl Copier<'_> {
    /// Writes `range` of the text: joined to the run if it follows it.
    #[inline(always)]
    fn copy(&mut self, range: Range<usize>) {
        if range.start == self.run.end && !self.run.is_empty() {
            self.run.end = range.end;
        } else {
            self.flush();
            self.run = range;
        }
    }

    /// Joins the comma the text has right after the run to it, if it has
    /// one there.
    #[inline(always)]
    fn extend_by_comma(&mut self) -> bool {
        let comma = !self.run.is_empty() && self.text.as_bytes().get(self.run.end) == Some(&b',');
        if comma {
            self.run.end += 1;
        }
        comma
    }

    /// Writes text that is not from the record.
    #[inline(always)]
    fn push_str(&mut self, s: &str) {
        self.flush();
        self.out.push_str(s);
    }

    /// Copies the run out.
    #[inline(always)]
    fn flush(&mut self) {
        if !self.run.is_empty() {
            self.out.push_str(&self.text[self.run.clone()]);
            self.run = 0..0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::parse_fields;

    /// Records changed the ways normalizers change them (keys renamed,
    /// dropped, reordered, escaped, values replaced, whitespace in the
    /// text): `rewrite_fields` writes exactly what `write_fields` writes.
    #[test]
    fn rewriting_writes_what_writing_writes() {
        let texts = [
            r#"{"a":1,"b":"x","c":[1, 2],"d":null}"#,
            r#"{ "a" : 1 , "b":"x",  "c": {"n": 1}}"#,
            r#"{"a\"q":1,"b":"\u00e9","c":true}"#,
            r#"{}"#,
            r#"{"":"","a":""}"#,
        ];
        let other = String::from(r#""replaced""#);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for text in texts {
            let fields = parse_fields(text).unwrap();
            for _ in 0..500 {
                let mut changed: Vec<(Cow<'_, str>, RawJson<'_>)> = fields.clone();
                for field in changed.iter_mut() {
                    match next() % 6 {
                        0 => field.0 = Cow::Owned(format!("{}_", field.0)),
                        1 => field.0 = Cow::Borrowed("new\"key"),
                        2 => field.1 = RawJson(&other),
                        _ => {}
                    }
                }
                if next() % 3 == 0 && !changed.is_empty() {
                    let at = (next() % changed.len() as u64) as usize;
                    changed.remove(at);
                }
                if next() % 3 == 0 {
                    changed.reverse();
                }
                // A key that is text around a quote: the text's bytes there
                // are not what writing the key gives.
                if next() % 5 == 0 && text.len() > 8 {
                    changed.push((Cow::Borrowed(&text[2..6]), RawJson("0")));
                }
                assert_eq!(
                    rewrite_fields(text, &changed),
                    write_fields(&changed),
                    "{text} {changed:?}"
                );
            }
        }
    }

    #[test]
    fn fields_kept_in_order_are_one_run() {
        let text = r#"{"a":1,"b":2,"c":3,"d":4}"#;
        let mut fields = parse_fields(text).unwrap();
        fields.remove(2);
        let mut copier = Copier {
            text,
            run: 0..0,
            out: String::new(),
        };
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                assert!(copier.extend_by_comma());
            }
            copier.copy(head_in(text, key).unwrap());
            copier.copy(within(text, value.get()).unwrap());
            if i == 1 {
                // "a" and "b" with the comma between them: one run.
                assert_eq!(&text[copier.run.clone()], r#""a":1,"b":2"#);
            }
        }
        assert_eq!(rewrite_fields(text, &fields), r#"{"a":1,"b":2,"d":4}"#);
    }
}
