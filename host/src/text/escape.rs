//! Escaping for terminals. Text a plugin or a remote server wrote (error
//! codes, fields, messages, record keys, log lines, captured stderr) is
//! shown with every character a terminal would act on written out instead:
//! C0 controls (including CR, LF, tab and ESC) and DEL as `\n`, `\r`, `\t`
//! or `\xNN`; C1 controls, the Unicode bidirectional overrides and
//! isolates, and the line and paragraph separators as `\u{NNNN}`. So no
//! such text can move the cursor, clear the screen, set the window title,
//! reorder what is shown, or start a line that looks like Sluice's own.
//! JSON output is not escaped this way: it stays exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is a character a terminal acts on rather than shows.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{061c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}'
    )
}

/// `text` with every unsafe character (see the module documentation),
/// line feeds included, written out.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_where(text, is_unsafe)
}

/// Like [`escape`], but line feeds are kept: for output already made of
/// escaped fields and the command's own line breaks.
pub fn escape_keeping_newlines(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && is_unsafe(c))
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        let _ = match c {
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            '\t' => out.write_str("\\t"),
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
            c => write!(out, "\\u{{{:04x}}}", c as u32),
        };
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_written_out() {
        assert_eq!(escape("plain text · ünïcode"), "plain text · ünïcode");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\x1b[2Jb\x1b]0;title\x07c"),
            "a\\x1b[2Jb\\x1b]0;title\\x07c"
        );
        assert_eq!(escape("x\r\nRun succeeded"), "x\\r\\nRun succeeded");
        assert_eq!(escape("\u{9b}31m\u{7f}\t"), "\\u{009b}31m\\x7f\\t");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape_keeping_newlines("a\nb\rc"), "a\nb\\rc");
    }
}
