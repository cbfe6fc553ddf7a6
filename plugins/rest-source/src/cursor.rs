//! The cursor (see the crate docs for its format) and `Link` headers.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sluice_sdk::PluginError;

/// The cursor format version.
const VERSION: u32 = 1;

/// Where a stream is: the pass under way, if any, and the high-water mark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    /// The format version.
    pub(crate) v: u32,
    /// The pass under way; `None` once a pass is done (the next read
    /// starts a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pass: Option<Pass>,
    /// The greatest value of the incremental field seen, as the API wrote
    /// it (a string or a number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) high_water: Option<Json>,
}

/// The position of a pass: the page to read next and how many of its
/// records were already returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pass {
    /// `cursor` pagination: the token of the page (`None`: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
    /// `offset` pagination: the offset of the page (`None`: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) offset: Option<u64>,
    /// `page` pagination: the page number (`None`: `start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page: Option<u64>,
    /// `link` pagination: the URL of the page (`None`: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// Records of that page already returned (a `read` returns at most
    /// `max`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) skip: u64,
    /// The high-water mark this pass filters by (sent as the incremental
    /// parameter), fixed for the whole pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) since: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Cursor {
    /// A stream that has not started.
    pub(crate) fn start() -> Self {
        Cursor {
            v: VERSION,
            pass: None,
            high_water: None,
        }
    }

    /// Parses a cursor. A JSON object must be a cursor of this source; when
    /// `bare_marks` (incremental reads), any other text is taken as a
    /// high-water mark (`sluice cursor reset --to 2024-05-01T00:00:00Z`).
    /// Anything else is a `validation` error with code `invalid-cursor`.
    pub(crate) fn decode(text: &str, bare_marks: bool) -> Result<Self, PluginError> {
        let invalid = |why: String| {
            PluginError::validation(
                "invalid-cursor",
                format!("the cursor {text:?} was not made by this source: {why}"),
            )
        };
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(map)) => {
                let cursor: Cursor = serde_json::from_value(Json::Object(map))
                    .map_err(|e| invalid(e.to_string()))?;
                if cursor.v != VERSION {
                    return Err(invalid(format!("unknown version {}", cursor.v)));
                }
                Ok(cursor)
            }
            _ if bare_marks && !text.trim().is_empty() => {
                let mark = match serde_json::from_str::<Json>(text) {
                    Ok(Json::Number(n)) => Json::Number(n),
                    _ => Json::String(text.trim().to_owned()),
                };
                Ok(Cursor {
                    high_water: Some(mark),
                    ..Cursor::start()
                })
            }
            _ => Err(invalid("it is not a JSON object".to_owned())),
        }
    }

    /// The cursor as JSON text.
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"v\":1}".to_owned())
    }

    /// Raises the high-water mark to `value` if it is greater.
    pub(crate) fn observe(&mut self, value: &Json) {
        if mark_text(value).is_none() {
            return;
        }
        let greater = match &self.high_water {
            None => true,
            Some(current) => compare_marks(value, current) == Ordering::Greater,
        };
        if greater {
            self.high_water = Some(value.clone());
        }
    }
}

/// A mark as query text: a non-empty string, or a number.
pub(crate) fn mark_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) if !text.is_empty() => Some(text.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Orders two marks: as numbers when both are numbers (or numeric text),
/// otherwise as text (ISO 8601 timestamps written alike order correctly).
pub(crate) fn compare_marks(a: &Json, b: &Json) -> Ordering {
    let number = |v: &Json| match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => mark_text(a).cmp(&mark_text(b)),
    }
}

/// The `rel="next"` target of RFC 8288 `Link` header values:
/// `<https://api.example/items?page=2>; rel="next", <...>; rel="last"`.
/// `rel` may be quoted or not and hold several space-separated relations.
pub(crate) fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    values.into_iter().find_map(next_link_in)
}

fn next_link_in(value: &str) -> Option<String> {
    let mut rest = value;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = rest[open + 1..close].trim();
        let after = &rest[close + 1..];
        // The parameters run to the next link (a `,` outside quotes).
        let mut end = after.len();
        let mut quoted = false;
        for (i, c) in after.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &after[..end];
        let is_next = params.split(';').any(|param| {
            let Some((name, value)) = param.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next && !target.is_empty() {
            return Some(target.to_owned());
        }
        rest = after.get(end + 1..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_stay_small() {
        let cursor = Cursor::start();
        assert_eq!(cursor.encode(), r#"{"v":1}"#);
        let cursor = Cursor {
            pass: Some(Pass {
                offset: Some(200),
                skip: 3,
                since: Some("2024-05-01T10:00:00.000Z".into()),
                ..Pass::default()
            }),
            high_water: Some(json!("2024-05-02T08:00:00.000Z")),
            ..Cursor::start()
        };
        let text = cursor.encode();
        assert_eq!(
            text,
            r#"{"v":1,"pass":{"offset":200,"skip":3,"since":"2024-05-01T10:00:00.000Z"},"high_water":"2024-05-02T08:00:00.000Z"}"#
        );
        assert_eq!(Cursor::decode(&text, false).unwrap(), cursor);
    }

    #[test]
    fn bad_cursors_are_refused_and_bare_marks_accepted_when_incremental() {
        for text in ["", "nope", "[1]", r#"{"v":2}"#, r#"{"v":1,"x":1}"#] {
            let error = Cursor::decode(text, false).unwrap_err();
            assert_eq!(error.code, "invalid-cursor", "{text}");
        }
        let error = Cursor::decode(r#"{"v":1,"pass":{"skip":"x"}}"#, true).unwrap_err();
        assert_eq!(error.code, "invalid-cursor");
        let bare = Cursor::decode(" 2024-05-01T00:00:00Z ", true).unwrap();
        assert_eq!(bare.high_water, Some(json!("2024-05-01T00:00:00Z")));
        assert_eq!(bare.pass, None);
        let number = Cursor::decode("1714557600000", true).unwrap();
        assert_eq!(number.high_water, Some(json!(1_714_557_600_000_u64)));
    }

    #[test]
    fn marks_compare_as_numbers_or_text() {
        let mut cursor = Cursor::start();
        cursor.observe(&json!("2024-05-01T10:00:00.000Z"));
        cursor.observe(&json!("2024-04-01T10:00:00.000Z"));
        cursor.observe(&json!(null));
        cursor.observe(&json!(""));
        assert_eq!(cursor.high_water, Some(json!("2024-05-01T10:00:00.000Z")));
        cursor.observe(&json!("2024-05-01T10:00:00.001Z"));
        assert_eq!(cursor.high_water, Some(json!("2024-05-01T10:00:00.001Z")));

        let mut numbers = Cursor::start();
        for n in [9, 10, 2] {
            numbers.observe(&json!(n));
        }
        assert_eq!(numbers.high_water, Some(json!(10)));
        assert_eq!(compare_marks(&json!("9"), &json!(10)), Ordering::Less);
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link([
                r#"<https://api.example/items?page=1>; rel="first", <https://api.example/items?page=3&a=1,2>; rel="next""#
            ]),
            Some("https://api.example/items?page=3&a=1,2".into())
        );
        assert_eq!(
            next_link([r#"</items?page=2>; title="a, b"; rel=next"#]),
            Some("/items?page=2".into())
        );
        assert_eq!(
            next_link([r#"<https://x/2>; rel="prev next""#]),
            Some("https://x/2".into())
        );
        assert_eq!(next_link([r#"<https://x/1>; rel="prev""#]), None);
        assert_eq!(
            next_link([
                r#"<https://x/9>; rel="last""#,
                r#"<https://x/2>; REL="Next""#
            ]),
            Some("https://x/2".into())
        );
        assert_eq!(next_link(["garbage", "<unclosed; rel=next"]), None);
        assert_eq!(next_link(Vec::<&str>::new()), None);
    }
}
