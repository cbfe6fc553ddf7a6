//! A vector of fields kept from one record to the next.
//!
//! Inside a component an allocation and its release cost several hundred
//! instructions (the allocator, and the shims between Rust and the C
//! library's `malloc`). A normalizer that reads every record with
//! [`parse_fields`](super::parse_fields) allocates a vector per record;
//! one that keeps a [`FieldBuffer`] allocates it once.

use super::{Field, parse_fields_into};
use crate::PluginError;

/// Fields a record needs before it is parsed.
const INITIAL_CAPACITY: usize = 16;

/// The allocation of a vector of fields, kept between records. Parse with
/// [`FieldBuffer::parse`], hand the vector back with [`FieldBuffer::keep`]
/// when done with it (a vector not handed back is simply freed).
#[derive(Debug, Default)]
pub struct FieldBuffer(Vec<Field<'static>>);

impl FieldBuffer {
    /// An empty buffer; its first [`parse`](Self::parse) allocates.
    pub fn new() -> Self {
        FieldBuffer(Vec::new())
    }

    /// [`parse_fields`](super::parse_fields), into the kept allocation.
    pub fn parse<'a>(&mut self, text: &'a str) -> Result<Vec<Field<'a>>, PluginError> {
        let mut fields = recycle(std::mem::take(&mut self.0));
        if fields.capacity() == 0 {
            fields.reserve(INITIAL_CAPACITY);
        }
        parse_fields_into(text, fields)
    }

    /// Keeps the allocation of `fields` (emptied) for the next record.
    pub fn keep(&mut self, fields: Vec<Field<'_>>) {
        self.0 = recycle(fields);
    }
}

/// `fields` emptied, with the lifetime of the next text. The allocation is
/// reused: collecting a vector's own iterator into a vector of a type of
/// the same size and alignment (here the same type) happens in place.
fn recycle<'b>(mut fields: Vec<Field<'_>>) -> Vec<Field<'b>> {
    fields.clear();
    fields
        .into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocation_is_kept_from_record_to_record() {
        let mut buffer = FieldBuffer::new();
        let first = String::from(r#"{"a": 1, "b": "x"}"#);
        let fields = buffer.parse(&first).unwrap();
        assert_eq!(fields.len(), 2);
        let at = fields.as_ptr() as usize;
        buffer.keep(fields);
        drop(first);
        let second = String::from(r#"{"c": [1], "d": null, "e": 2}"#);
        let fields = buffer.parse(&second).unwrap();
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["c", "d", "e"]);
        assert_eq!(
            fields.as_ptr() as usize,
            at,
            "the vector was allocated again"
        );
        assert_eq!(
            buffer.parse("[1]").unwrap_err().code,
            "not-an-object",
            "errors are parse_fields' own"
        );
    }
}
