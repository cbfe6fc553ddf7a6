//! The keys `drop` and `rename` name, looked up once per record field.

use crate::key_bytes::same;

/// A few keys, each with a value, looked up many times. Most lookups miss:
/// a miss is usually settled by the key's length and first byte, each one
/// bit of a mask, before any key text is compared.
#[derive(Debug)]
pub struct KeyTable<T> {
    /// Sorted by key.
    entries: Vec<(String, T)>,
    /// Bit `min(len, 63)` set for each key's length in bytes.
    lengths: u64,
    /// Bit `b` set for each key's first byte `b` (0 for the empty key).
    firsts: [u64; 4],
}

impl<T> KeyTable<T> {
    /// A table of these entries; a key given twice keeps its last value.
    pub fn new(entries: impl IntoIterator<Item = (String, T)>) -> Self {
        let mut table = KeyTable {
            entries: Vec::new(),
            lengths: 0,
            firsts: [0; 4],
        };
        for (key, value) in entries {
            table.lengths |= length_bit(&key);
            let (word, bit) = first_bit(&key);
            table.firsts[word] |= bit;
            match table
                .entries
                .binary_search_by(|(k, _)| k.as_str().cmp(&key))
            {
                Ok(at) => table.entries[at].1 = value,
                Err(at) => table.entries.insert(at, (key, value)),
            }
        }
        table
    }

    /// The value of `key`, if the table has it.
    pub fn get(&self, key: &str) -> Option<&T> {
        if self.lengths & length_bit(key) == 0 {
            return None;
        }
        let (word, bit) = first_bit(key);
        if self.firsts[word] & bit == 0 {
            return None;
        }
        // A few keys: compared in turn, most by their length alone.
        self.entries
            .iter()
            .find(|(k, _)| same(k, key))
            .map(|(_, value)| value)
    }

    /// True when the table has `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// True when the table has no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn length_bit(key: &str) -> u64 {
    1 << key.len().min(63)
}

fn first_bit(key: &str) -> (usize, u64) {
    let first = key.as_bytes().first().copied().unwrap_or(0);
    (usize::from(first >> 6), 1 << (first & 63))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_its_keys() {
        let long = "k".repeat(80);
        let table = KeyTable::new([
            ("notes".to_owned(), 1),
            (String::new(), 2),
            (long.clone(), 3),
            ("é".to_owned(), 4),
            ("notes".to_owned(), 5),
        ]);
        assert_eq!(table.get("notes"), Some(&5));
        assert_eq!(table.get(""), Some(&2));
        assert_eq!(table.get(&long), Some(&3));
        assert_eq!(table.get("é"), Some(&4));
        // Same length and first byte, or a long key of another length.
        for miss in ["nodes", "noteS", "n", "email", &"k".repeat(81), "è", "\0"] {
            assert_eq!(table.get(miss), None, "{miss:?}");
        }
        assert!(KeyTable::<()>::new([]).is_empty());
        assert!(!KeyTable::<()>::new([]).contains(""));
    }
}
