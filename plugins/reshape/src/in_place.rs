//! `reshape` on a record's text, the common case: keys changed in place in
//! the vector of fields the SDK parsed, without a second vector or a
//! `String` per changed key. A collision (which is an error) is left to
//! [`Reshape::reshape`], which words it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;

use sluice_sdk::{Field, FieldBuffer, Normalized, is_empty_value};

use crate::key_bytes::{order, same};
use crate::{ALL_EMPTY, Reshape};

/// The order of keys: by first byte, then in full (the same order as
/// `str`'s, with most comparisons settled by the first byte).
#[inline(always)]
fn key_order(a: &str, b: &str) -> Ordering {
    a.as_bytes()
        .first()
        .cmp(&b.as_bytes().first())
        .then_with(|| order(a, b))
}

/// Sorts fields by key; `false` when two fields have the same key. Input
/// already sorted (the common case: the records a `reshape` before it
/// wrote) is seen as sorted and free of equal keys in one pass.
fn sort_unique(fields: &mut [Field<'_>]) -> bool {
    if fields
        .windows(2)
        .all(|pair| key_order(&pair[0].0, &pair[1].0) == Ordering::Less)
    {
        return true;
    }
    fields.sort_unstable_by(|a, b| key_order(&a.0, &b.0));
    !fields.windows(2).any(|pair| {
        let (a, b) = (&pair[0].0, &pair[1].0);
        a.as_bytes().first() == b.as_bytes().first() && same(a, b)
    })
}

/// What the text path allocates, kept from one record to the next (an
/// allocation costs several hundred instructions inside a component).
#[derive(Debug, Default)]
pub(crate) struct TextBuffers {
    /// The record's fields.
    pub fields: FieldBuffer,
    /// The changed keys' text.
    pub scratch: Vec<u8>,
    /// Which keys changed.
    pub changed: Vec<(usize, Range<usize>)>,
}

impl Reshape {
    /// The keys steps 2-3 change, appended to `changed` as `(index of the
    /// field, where its new key is in `scratch`)`; the new keys' UTF-8 is
    /// appended to `scratch`.
    pub(crate) fn changed_keys(
        &self,
        fields: &[Field<'_>],
        scratch: &mut Vec<u8>,
        changed: &mut Vec<(usize, Range<usize>)>,
    ) {
        if self.keys.keep_all() {
            return;
        }
        for (i, (key, _)) in fields.iter().enumerate() {
            let Some(new) = self.keys.new_key(key) else {
                continue;
            };
            if changed.is_empty() {
                // Room for every key: one allocation each.
                changed.reserve(fields.len());
                // (Lowercasing writes a word past a key's end at most.)
                scratch.reserve(fields.iter().map(|(key, _)| key.len()).sum::<usize>() + 8);
            }
            let start = scratch.len();
            new.write_to(scratch);
            changed.push((i, start..scratch.len()));
        }
    }

    /// Steps 2-6 in place on fields whose changed keys are already set
    /// (see [`changed_keys`](Self::changed_keys)). `None` when two keys
    /// collide: then [`reshape`](Self::reshape) words the error.
    pub(crate) fn reshape_in_place<'a>(
        &'a self,
        fields: &mut Vec<Field<'a>>,
    ) -> Option<Normalized<()>> {
        if !sort_unique(fields) {
            return None;
        }
        if !self.drop.is_empty() {
            fields.retain(|(key, _)| !self.drop.contains(key));
        }
        if !self.rename.is_empty() {
            let mut renamed = false;
            for (key, _) in fields.iter_mut() {
                if let Some(new) = self.rename.get(key) {
                    *key = Cow::Borrowed(new.as_str());
                    renamed = true;
                }
            }
            if renamed {
                // Onto a key the record has: the collision `reshape`
                // reports. Two renamed keys never meet (the options
                // refuse two keys renamed to one).
                if !sort_unique(fields) {
                    return None;
                }
            }
        }
        if self.skip_empty_records && fields.iter().all(|(_, value)| is_empty_value(value)) {
            return Some(Normalized::Skip(ALL_EMPTY.to_owned()));
        }
        Some(Normalized::Keep(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_finds_equal_keys_sorted_or_not() {
        let fields = |keys: &[&'static str]| -> Vec<Field<'static>> {
            keys.iter()
                .map(|k| {
                    (
                        Cow::Borrowed(*k),
                        sluice_sdk::parse_fields("{\"v\":1}").unwrap()[0].1,
                    )
                })
                .collect()
        };
        for (keys, unique) in [
            (&["a", "b", "c"][..], true),
            (&["c", "a", "b"][..], true),
            (&["a", "a", "b"][..], false),
            (&["b", "a", "b"][..], false),
            (&[][..], true),
        ] {
            let mut fields = fields(keys);
            assert_eq!(sort_unique(&mut fields), unique, "{keys:?}");
            if unique {
                let sorted: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
                let mut expected = keys.to_vec();
                expected.sort();
                assert_eq!(sorted, expected);
            }
        }
    }
}
