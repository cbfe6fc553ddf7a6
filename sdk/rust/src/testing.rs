//! Helpers for plugins' own unit tests (run natively with `cargo test`).

use crate::{FieldTransformer, Value};

/// Texts that exercise a [`FieldTransformer::transform_str`] override:
/// blanks, Unicode whitespace, case mappings that change length (`ß`,
/// `ǅ`, `İ`, `ﬀ`), and valid and invalid emails.
pub const SAMPLE_TEXTS: &[&str] = &[
    "",
    "  ",
    "abc",
    " Jane \t\n",
    "\u{a0}x\u{2003}",
    "ÉCOLE",
    "straße",
    "Ǆ",
    "ǅ",
    "İ",
    "ﬀ",
    "ABC",
    "a.b@Example.COM",
    "  Ann.Lee@Ex.org ",
    "not an email",
    "çava@bücher.de",
    "abcdefghijklmnopqrstuvwxyz",
];

/// Asserts that `plugin`'s [`transform_str`](FieldTransformer::transform_str)
/// answers what its [`transform`](FieldTransformer::transform) answers for
/// each of `texts`; a text it declines must satisfy `may_decline`.
pub fn assert_lent_text_agrees<T: FieldTransformer>(
    plugin: &T,
    texts: &[&str],
    may_decline: impl Fn(&str) -> bool,
) {
    for &text in texts {
        let owned = plugin.transform(Value::from(text));
        match plugin.transform_str(text) {
            Some(lent) => assert_eq!(lent.map(|t| Value::Text(t.into_owned())), owned, "{text:?}"),
            None => assert!(may_decline(text), "{text:?} declined"),
        }
    }
}
