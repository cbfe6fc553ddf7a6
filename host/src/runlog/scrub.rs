//! What the run log keeps of text that plugins and remote systems hand the
//! host: every secret value the host knows is redacted, and every text is
//! bounded, before it is stored.
//!
//! Secrets are the credentials read from the connection profiles of the run
//! (with their encoded forms) and the access and refresh tokens the host
//! obtained; they are replaced by `[redacted]` wherever they appear, first,
//! so a secret is never kept in part by a cut.
//!
//! Bounds: an error message, skip reason or run status reason keeps at most
//! [`MAX_MESSAGE_BYTES`]; a code, field, record key or source position at
//! most [`MAX_NAME_BYTES`]. A longer text keeps its start and ends with
//! `… [cut N of M bytes]`. A payload longer than the pipeline's
//! `[run_log] max_payload_kib` (default [`DEFAULT_MAX_PAYLOAD_BYTES`]) is
//! not stored: a marker takes its place, a JSON object
//! `{"$sluice": "payload-cut", "bytes": M, "head": "<its first 1 KiB>"}`,
//! which a replay refuses ([`is_cut_payload`]). A captured document longer
//! than [`MAX_CAPTURE_BYTES`] is replaced by the same marker.

use std::borrow::Cow;
use std::sync::Arc;

use crate::connection::Connection;
use crate::errors::RecordError;
use crate::model::SkipRecord;
use crate::strategy::RetryRecord;

/// Most bytes kept of an error message, skip reason or status reason.
pub const MAX_MESSAGE_BYTES: usize = 8 << 10;
/// Most bytes kept of a code, field name, record key or source position.
pub const MAX_NAME_BYTES: usize = 1 << 10;
/// Most bytes of a payload stored when the pipeline does not say.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 256 << 10;
/// Most bytes of one captured document.
pub const MAX_CAPTURE_BYTES: usize = 4 << 20;
/// Bytes of a cut payload kept in its marker, for a person to recognise it.
const CUT_HEAD_BYTES: usize = 1 << 10;
/// How a payload marker starts.
const CUT_PAYLOAD_PREFIX: &str = r#"{"$sluice":"payload-cut""#;

/// Redacts and bounds what the run log stores for one run.
#[derive(Debug, Clone)]
pub struct Scrubber {
    connections: Vec<Arc<Connection>>,
    max_payload: usize,
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::new(Vec::new(), DEFAULT_MAX_PAYLOAD_BYTES)
    }
}

impl Scrubber {
    /// A scrubber redacting the secrets of `connections` and keeping
    /// payloads of at most `max_payload` bytes.
    pub fn new(connections: Vec<Arc<Connection>>, max_payload: usize) -> Self {
        Scrubber {
            connections,
            max_payload,
        }
    }

    /// `text` with every known secret redacted.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for c in &self.connections {
            if let Cow::Owned(redacted) = c.redact_secrets(&out) {
                out = Cow::Owned(redacted);
            }
        }
        out
    }

    /// `text` redacted, then cut to `max` bytes.
    pub fn text(&self, text: &mut String, max: usize) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
        if let Cow::Owned(cut) = cut(text, max) {
            *text = cut;
        }
    }

    fn opt_text(&self, text: &mut Option<String>, max: usize) {
        if let Some(t) = text {
            self.text(t, max);
        }
    }

    /// A payload redacted, or its marker if it is too large.
    pub fn payload(&self, payload: &mut Option<String>) {
        if let Some(p) = payload {
            if let Cow::Owned(redacted) = self.redact(p) {
                *p = redacted;
            }
            if let Cow::Owned(marker) = cut_payload(p, self.max_payload) {
                *p = marker;
            }
        }
    }

    /// A captured document redacted of secrets (the connections also
    /// redact its sensitive fields), or its marker if it is too large.
    pub fn document(&self, document: String) -> String {
        let mut text = document;
        for c in &self.connections {
            text = c.redact(&text);
        }
        match cut_payload(&text, MAX_CAPTURE_BYTES) {
            Cow::Owned(marker) => marker,
            Cow::Borrowed(_) => text,
        }
    }

    /// An error as the run log keeps it.
    pub fn error(&self, e: &mut RecordError) {
        self.text(&mut e.message, MAX_MESSAGE_BYTES);
        self.text(&mut e.code, MAX_NAME_BYTES);
        self.opt_text(&mut e.field, MAX_NAME_BYTES);
        self.opt_text(&mut e.record_key, MAX_NAME_BYTES);
        self.opt_text(&mut e.source_position, MAX_NAME_BYTES);
        self.payload(&mut e.payload);
        self.payload(&mut e.source_payload);
    }

    /// A skip as the run log keeps it.
    pub fn skip(&self, s: &mut SkipRecord) {
        self.text(&mut s.reason, MAX_MESSAGE_BYTES);
        self.text(&mut s.record_key, MAX_NAME_BYTES);
        self.text(&mut s.source_position, MAX_NAME_BYTES);
    }

    /// A retry as the run log keeps it.
    pub fn retry(&self, r: &mut RetryRecord) {
        self.text(&mut r.code, MAX_NAME_BYTES);
        self.opt_text(&mut r.record_key, MAX_NAME_BYTES);
    }
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `text` cut to at most about `max` bytes (plus the marker), ending with
/// `… [cut N of M bytes]`.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let keep = floor_boundary(text, max);
    Cow::Owned(format!(
        "{}… [cut {} of {} bytes]",
        &text[..keep],
        text.len() - keep,
        text.len()
    ))
}

/// `payload`, or if it is longer than `max` bytes, the marker that takes
/// its place.
pub fn cut_payload(payload: &str, max: usize) -> Cow<'_, str> {
    if payload.len() <= max {
        return Cow::Borrowed(payload);
    }
    let head = &payload[..floor_boundary(payload, CUT_HEAD_BYTES.min(max))];
    Cow::Owned(format!(
        "{CUT_PAYLOAD_PREFIX},\"bytes\":{},\"head\":{}}}",
        payload.len(),
        serde_json::Value::from(head)
    ))
}

/// Whether `payload` is the marker of a payload too large to keep.
pub fn is_cut_payload(payload: &str) -> bool {
    payload.starts_with(CUT_PAYLOAD_PREFIX)
}

/// The original size a payload marker records.
pub fn cut_payload_bytes(payload: &str) -> Option<u64> {
    if !is_cut_payload(payload) {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(payload).ok()?["bytes"].as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_char_boundary_and_marked() {
        assert_eq!(cut("short", 10), "short");
        let text = "é".repeat(10); // 20 bytes
        let out = cut(&text, 5);
        assert_eq!(out, "éé… [cut 16 of 20 bytes]");
    }

    #[test]
    fn large_payloads_become_a_marker_with_their_size() {
        let payload = format!("{{\"x\":\"{}\"}}", "y".repeat(5000));
        assert_eq!(cut_payload(&payload, 10_000), payload.as_str());
        let marker = cut_payload(&payload, 100).into_owned();
        assert!(is_cut_payload(&marker));
        assert_eq!(cut_payload_bytes(&marker), Some(payload.len() as u64));
        let parsed: serde_json::Value = serde_json::from_str(&marker).unwrap();
        assert_eq!(parsed["$sluice"], "payload-cut");
        assert_eq!(parsed["head"].as_str().unwrap().len(), 100);
        assert!(!is_cut_payload(&payload));
    }

    #[test]
    fn errors_are_bounded_field_by_field() {
        let mut e = RecordError::new(
            crate::model::Stage::Transform,
            "things",
            crate::errors::Category::Validation,
            &"c".repeat(5000),
            "m".repeat(300_000),
        );
        e.payload = Some(format!(
            "{{\"a\":\"{}\"}}",
            "p".repeat(DEFAULT_MAX_PAYLOAD_BYTES)
        ));
        Scrubber::default().error(&mut e);
        assert!(e.message.len() < MAX_MESSAGE_BYTES + 64);
        assert!(
            e.message.ends_with("[cut 291808 of 300000 bytes]"),
            "{}",
            &e.message[8000..]
        );
        assert!(e.code.len() < MAX_NAME_BYTES + 64);
        assert!(is_cut_payload(e.payload.as_deref().unwrap()));
    }
}
