//! Tables and small formatting helpers shared by the commands.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use serde::Serialize;

/// A table with `headers`; columns named in `numeric` are right-aligned.
pub fn table(headers: &[&str], numeric: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    for (i, h) in headers.iter().enumerate() {
        if numeric.contains(h)
            && let Some(col) = t.column_mut(i)
        {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Print `value` as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    super::output::write_exact(&serde_json::to_string_pretty(value)?, true);
    Ok(())
}

/// `1.2 s`, `340 ms`.
pub fn duration_ms(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

/// Text from a plugin or a remote system, for people: every control
/// character written out, line feeds included (see [`sluice::text`]).
pub fn esc(text: &str) -> String {
    sluice::text::escape(text).into_owned()
}

/// [`esc`] for an optional text, `-` when there is none.
pub fn esc_or_dash(text: Option<&str>) -> String {
    text.map_or_else(|| "-".to_owned(), esc)
}

/// Cut `text` to `max` characters with an ellipsis, on one line, escaped
/// like [`esc`] (the line feeds become spaces).
pub fn clip(text: &str, max: usize) -> String {
    let one_line = sluice::text::escape(&text.replace(['\n', '\r'], " ")).into_owned();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// `-` for a missing value.
pub fn or_dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

/// The widest screen the human views are laid out for.
pub const MAX_WIDTH: usize = 100;

/// Width to lay human views out in: the terminal's, at most [`MAX_WIDTH`]
/// (and [`MAX_WIDTH`] when the output is not a terminal).
pub fn screen_width() -> usize {
    Table::new()
        .width()
        .map_or(MAX_WIDTH, |w| usize::from(w).clamp(60, MAX_WIDTH))
}

/// Like [`table`], but wrapping cells to fit `width` columns whatever the
/// terminal, so the output is the same on screen, in a pipe and in tests.
pub fn table_in(headers: &[&str], numeric: &[&str], width: usize) -> Table {
    let mut t = table(headers, numeric);
    t.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    t
}

/// `1,204`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 record`, `1,204 records`.
pub fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `98.8%` for a fraction of 1; `-` for none.
pub fn percent(fraction: Option<f64>) -> String {
    match fraction {
        None => "-".to_owned(),
        Some(f) => {
            let p = f * 100.0;
            // Never round a partial result to 100% or 0%.
            if p > 99.9 && p < 100.0 {
                "99.9%".to_owned()
            } else if p > 0.0 && p < 0.1 {
                "0.1%".to_owned()
            } else {
                format!("{p:.1}%")
            }
        }
    }
}

/// `text` broken into lines of at most `width` characters at spaces (a
/// single longer word keeps its own line).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Append `text` to `out` after `first` (e.g. `"    fix: "`), wrapped to
/// `width` with continuation lines indented to line up after `first`.
pub fn push_wrapped(out: &mut String, first: &str, text: &str, width: usize) {
    let indent = first.chars().count();
    let room = width.saturating_sub(indent).max(20);
    for (i, line) in wrap(text, room).iter().enumerate() {
        if i == 0 {
            out.push_str(first);
        } else {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(count_of(1, "record", "records"), "1 record");
        assert_eq!(count_of(1204, "record", "records"), "1,204 records");
        assert_eq!(percent(Some(0.9877)), "98.8%");
        assert_eq!(percent(Some(0.99999)), "99.9%");
        assert_eq!(percent(Some(1.0)), "100.0%");
        assert_eq!(percent(Some(0.0001)), "0.1%");
        assert_eq!(percent(None), "-");
    }

    #[test]
    fn wrapping_keeps_words_whole_and_indents() {
        assert_eq!(
            wrap("one two three four", 9),
            vec!["one two", "three", "four"]
        );
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("unbreakableword x", 5), vec!["unbreakableword", "x"]);
        let mut out = String::new();
        push_wrapped(&mut out, "  fix: ", &"word ".repeat(10), 30);
        assert_eq!(
            out,
            "  fix: word word word word\n       word word word word\n       word word\n"
        );
    }
}
