//! Command lines printed for the operator to run next, with their values
//! quoted for a POSIX shell.

/// `value`, single-quoted for a POSIX shell when it needs to be.
pub(crate) fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@,+=".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// A command line: `base` and its flags.
pub(crate) fn command_line(base: &str, flags: &[String]) -> String {
    let mut line = base.to_owned();
    for f in flags {
        line.push(' ');
        line.push_str(f);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("crm"), "crm");
        assert_eq!(shell_word("2026-11-01T10:00:00Z"), "2026-11-01T10:00:00Z");
        assert_eq!(shell_word("two words"), "'two words'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
