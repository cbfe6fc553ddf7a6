//! The cursor: where the next `read` starts, as JSON text, and the
//! high-water mark of the incremental property.

use serde::{Deserialize, Serialize};
use sluice_sdk::PluginError;

/// The version of the cursor format, so a cursor from another plugin or a
/// future version is rejected instead of misread.
const VERSION: u32 = 1;

/// A position in the CRM's object stream.
///
/// - `after` set: a full pass (list) is under way; the next page starts at
///   this paging token. `ceiling` is the greatest incremental value the
///   CRM held when the pass began.
/// - `after` unset, `high_water` set: the next `read` searches for the
///   objects after the mark `(high_water, last_id)`: modified after
///   `high_water`, or at `high_water` with a greater id than `last_id`.
/// - neither: the next `read` starts a full pass.
///
/// `high_water` is the greatest incremental value seen, as the CRM wrote
/// it, and `last_id` the id of the object that carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    /// The format version, [`VERSION`].
    v: u32,
    /// The paging token of the full pass under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
    /// The greatest incremental value when the full pass under way began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ceiling: Option<String>,
    /// The greatest incremental value seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) high_water: Option<String>,
    /// The id of the object at `high_water`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_id: Option<String>,
}

/// What the next `read` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Start a full pass: find the ceiling, then list the first page.
    ListStart,
    /// Continue a full pass at a paging token.
    List(String),
    /// Search for the objects after a mark.
    Search {
        /// Epoch milliseconds of the high-water mark.
        since_ms: i64,
        /// The id of the object at the mark, if known.
        last_id: Option<String>,
    },
}

impl Cursor {
    /// The cursor of a run that starts from the beginning.
    pub(crate) fn start() -> Self {
        Self {
            v: VERSION,
            ..Self::default()
        }
    }

    /// What the next `read` from this cursor does.
    pub(crate) fn pass(&self) -> Pass {
        match (
            &self.after,
            self.high_water.as_deref().and_then(timestamp_ms),
        ) {
            (Some(after), _) => Pass::List(after.clone()),
            (None, Some(since_ms)) => Pass::Search {
                since_ms,
                last_id: self.last_id.clone(),
            },
            (None, None) => Pass::ListStart,
        }
    }

    /// Records the incremental value of an object, keeping the greatest
    /// `(value, id)`. Values that are not timestamps are ignored.
    pub(crate) fn observe(&mut self, value: &str, id: &str) {
        let Some(seen) = timestamp_ms(value) else {
            return;
        };
        let higher = match self.high_water.as_deref().and_then(timestamp_ms) {
            None => true,
            Some(current) if seen != current => seen > current,
            Some(_) => match self.last_id.as_deref() {
                None => true,
                Some(last) => compare_ids(id, last).is_gt(),
            },
        };
        if higher {
            self.high_water = Some(value.to_owned());
            self.last_id = Some(id.to_owned());
        }
    }

    /// Ends a full pass: the mark becomes the greatest value seen, capped at
    /// the ceiling. An object modified during the pass, after the pass read
    /// it, has a value above the ceiling, so the next incremental pass reads
    /// it again; objects above the ceiling that the pass did read are read
    /// once more, which costs little and loses nothing.
    pub(crate) fn finish_full_pass(&mut self) {
        self.after = None;
        let ceiling = self.ceiling.take();
        let above = match (
            ceiling.as_deref().and_then(timestamp_ms),
            self.high_water.as_deref().and_then(timestamp_ms),
        ) {
            (Some(ceiling), Some(seen)) => seen > ceiling,
            _ => false,
        };
        if above {
            self.high_water = ceiling;
            self.last_id = None;
        }
    }

    /// The cursor as text, e.g. `{"v":1,"high_water":"2024-05-01T10:00:00.123Z","last_id":"42"}`.
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a cursor made by [`encode`](Self::encode). A bare timestamp
    /// (`2024-05-01T00:00:00Z`, or epoch milliseconds), such as an operator
    /// gives to `sluice cursor reset --to`, is accepted as a high-water
    /// mark. Anything else is a `validation` error with code
    /// `invalid-cursor`.
    pub(crate) fn decode(text: &str) -> Result<Self, PluginError> {
        let invalid = |why: String| {
            PluginError::validation(
                "invalid-cursor",
                format!("{text:?} is not a cursor of the crm source: {why}"),
            )
        };
        let trimmed = text.trim();
        if !trimmed.starts_with('{') {
            let bare = trimmed.trim_matches('"');
            if timestamp_ms(bare).is_some() {
                return Ok(Self {
                    v: VERSION,
                    high_water: Some(bare.to_owned()),
                    ..Self::default()
                });
            }
            return Err(invalid("expected a JSON object or a timestamp".to_owned()));
        }
        let cursor: Cursor = serde_json::from_str(trimmed).map_err(|e| invalid(e.to_string()))?;
        if cursor.v != VERSION {
            return Err(invalid(format!(
                "version {} is not supported (expected {VERSION})",
                cursor.v
            )));
        }
        for (name, value) in [
            ("high_water", &cursor.high_water),
            ("ceiling", &cursor.ceiling),
        ] {
            if let Some(value) = value
                && timestamp_ms(value).is_none()
            {
                return Err(invalid(format!("`{name}` {value:?} is not a timestamp")));
            }
        }
        Ok(cursor)
    }
}

/// Orders CRM ids: numerically when both are numbers, as text otherwise.
pub(crate) fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// Milliseconds since the Unix epoch of a timestamp the CRM writes: epoch
/// milliseconds (`"1714557600000"`) or ISO 8601 (`2024-05-01`,
/// `2024-05-01T10:00:00Z`, `2024-05-01T10:00:00.123+02:00`; no offset
/// means UTC). `None` for anything else.
pub(crate) fn timestamp_ms(text: &str) -> Option<i64> {
    let s = text.trim();
    if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let bytes = s.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let mut rest = &s[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    if !rest.starts_with(['T', 't', ' ']) || rest.get(3..4) != Some(":") {
        return None;
    }
    let (hour, minute) = (digits(11, 2)?, digits(14, 2)?);
    let mut second = 0;
    let mut millis = 0;
    rest = &s[16..];
    if let Some(after) = rest.strip_prefix(':') {
        second = after
            .get(..2)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?
            .parse()
            .ok()?;
        rest = &after[2..];
        if let Some(fraction) = rest.strip_prefix(['.', ',']) {
            let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if count == 0 {
                return None;
            }
            let first3: String = fraction[..count]
                .chars()
                .chain("00".chars())
                .take(3)
                .collect();
            millis = first3.parse().ok()?;
            rest = &fraction[count..];
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += hour * 3_600_000 + minute * 60_000 + second * 1000 + millis;
    match rest {
        "" | "Z" | "z" => Some(ms),
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let offset = rest[1..].replace(':', "");
            if offset.len() != 4 || !offset.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = offset[..2].parse().ok()?;
            let minutes: i64 = offset[2..].parse().ok()?;
            Some(ms - sign * (hours * 3_600_000 + minutes * 60_000))
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_the_forms_the_crm_writes() {
        let base = 1_714_557_600_000;
        for (text, ms) in [
            ("1714557600000", base),
            ("2024-05-01T10:00:00Z", base),
            ("2024-05-01T10:00:00.123Z", base + 123),
            ("2024-05-01T10:00:00.5Z", base + 500),
            ("2024-05-01T10:00:00.123456Z", base + 123),
            ("2024-05-01T10:00Z", base),
            ("2024-05-01T12:00:00+02:00", base),
            ("2024-05-01T09:30:00-0030", base),
            ("2024-05-01", base - 36_000_000),
            ("1970-01-01T00:00:00Z", 0),
        ] {
            assert_eq!(timestamp_ms(text), Some(ms), "{text}");
        }
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-05-01T25:00:00Z",
            "2024-05-01Tx",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00+2",
        ] {
            assert_eq!(timestamp_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn observe_keeps_the_greatest_instant_not_the_greatest_text() {
        let mut cursor = Cursor::start();
        cursor.observe("2024-05-01T10:00:00.900Z", "5");
        // Lexically greater ("Z" > "."), but earlier.
        cursor.observe("2024-05-01T10:00:00Z", "6");
        cursor.observe("not a date", "7");
        assert_eq!(
            cursor.high_water.as_deref(),
            Some("2024-05-01T10:00:00.900Z")
        );
        assert_eq!(cursor.last_id.as_deref(), Some("5"));
        // Same instant: the greater id wins, numerically.
        cursor.observe("2024-05-01T10:00:00.900Z", "10");
        cursor.observe("2024-05-01T10:00:00.900Z", "9");
        assert_eq!(cursor.last_id.as_deref(), Some("10"));
        cursor.observe("1714557601000", "1");
        assert_eq!(cursor.high_water.as_deref(), Some("1714557601000"));
        assert_eq!(cursor.last_id.as_deref(), Some("1"));
    }

    #[test]
    fn round_trips_and_rejects_foreign_cursors() {
        let cursor = Cursor {
            v: VERSION,
            after: Some("200".into()),
            ceiling: Some("2024-05-01T10:00:00.000Z".into()),
            high_water: Some("2024-05-02T10:00:00.000Z".into()),
            last_id: Some("7".into()),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        assert_eq!(Cursor::start().encode(), r#"{"v":1}"#);

        for bad in [
            "jsonl1:0:0",
            "{",
            r#"{"v":2}"#,
            r#"{"v":1,"x":1}"#,
            r#"{"v":1,"high_water":"soon"}"#,
            r#"{"v":1,"after":"1","ceiling":"later"}"#,
        ] {
            let error = Cursor::decode(bad).unwrap_err();
            assert_eq!(error.code, "invalid-cursor", "{bad}");
        }
    }

    #[test]
    fn a_bare_timestamp_is_a_high_water_mark() {
        for text in [
            "2024-05-01T00:00:00Z",
            "\"2024-05-01T00:00:00Z\"",
            "1714557600000",
        ] {
            let cursor = Cursor::decode(text).unwrap();
            assert_eq!(cursor.after, None);
            assert_eq!(cursor.high_water.as_deref(), Some(text.trim_matches('"')));
            assert!(matches!(cursor.pass(), Pass::Search { last_id: None, .. }));
        }
    }

    #[test]
    fn passes() {
        assert_eq!(Cursor::start().pass(), Pass::ListStart);
        let listing = Cursor::decode(r#"{"v":1,"after":"9","high_water":"1000"}"#).unwrap();
        assert_eq!(listing.pass(), Pass::List("9".into()));
        let searching = Cursor::decode(r#"{"v":1,"high_water":"1000","last_id":"4"}"#).unwrap();
        assert_eq!(
            searching.pass(),
            Pass::Search {
                since_ms: 1000,
                last_id: Some("4".into())
            }
        );
    }

    #[test]
    fn a_full_pass_ends_at_most_at_its_ceiling() {
        // Nothing changed during the pass: the mark is the greatest value seen.
        let mut quiet = Cursor::start();
        quiet.ceiling = Some("3000".into());
        quiet.after = Some("2".into());
        quiet.observe("3000", "3");
        quiet.observe("1000", "1");
        quiet.finish_full_pass();
        assert_eq!(
            quiet.encode(),
            r#"{"v":1,"high_water":"3000","last_id":"3"}"#
        );

        // An object was modified during the pass: the mark falls back to
        // the ceiling, so what changed meanwhile is read again.
        let mut busy = Cursor::start();
        busy.ceiling = Some("3000".into());
        busy.observe("5000", "1");
        busy.finish_full_pass();
        assert_eq!(busy.encode(), r#"{"v":1,"high_water":"3000"}"#);

        // An empty CRM: no mark, the next run lists again.
        let mut empty = Cursor::start();
        empty.finish_full_pass();
        assert_eq!(empty.encode(), r#"{"v":1}"#);
    }
}
