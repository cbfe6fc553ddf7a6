//! Redaction of captured documents: secret values anywhere in the text, and
//! the values of sensitive fields in JSON.

use std::borrow::Cow;

use serde_json::Value;

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Headers whose values are always redacted.
pub const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Redacts secrets and sensitive fields.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    fields: Vec<String>,
    headers: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values, JSON field names and extra headers.
    pub fn new(secrets: Vec<String>, fields: Vec<String>, headers: Vec<String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor {
            secrets,
            fields: fields.into_iter().map(|f| f.to_ascii_lowercase()).collect(),
            headers: headers
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Add a secret learned at run time (an access token).
    pub fn add_secret(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every secret value replaced.
    pub fn text(&self, text: &str) -> String {
        self.secrets_in(text).into_owned()
    }

    /// `text` with every secret value replaced, borrowed when there is none.
    pub fn secrets_in<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), REDACTED));
            }
        }
        out
    }

    /// A body: JSON gets its sensitive fields redacted, then secrets
    /// everywhere.
    pub fn body(&self, body: &str) -> String {
        if !self.fields.is_empty()
            && let Ok(mut value) = serde_json::from_str::<Value>(body)
        {
            self.redact_fields(&mut value);
            return self.text(&value.to_string());
        }
        self.text(body)
    }

    /// A header's value.
    pub fn header(&self, name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        if SECRET_HEADERS.contains(&lower.as_str()) || self.headers.contains(&lower) {
            REDACTED.to_owned()
        } else {
            self.text(value)
        }
    }

    fn redact_fields(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.fields.contains(&k.to_ascii_lowercase()) {
                        *v = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact_fields(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_fields(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_fields_and_headers_are_redacted() {
        let r = Redactor::new(
            vec!["s3cr3t-token".into(), "abc".into()],
            vec!["phone".into()],
            vec!["X-Custom-Key".into()],
        );
        assert_eq!(r.text("Bearer s3cr3t-token!"), "Bearer [redacted]!");
        assert_eq!(
            r.text("abc stays: too short to be a secret"),
            "abc stays: too short to be a secret"
        );
        let body = r.body(
            r#"{"inputs":[{"properties":{"phone":"+1555","email":"a@b.c"}}],"t":"s3cr3t-token"}"#,
        );
        assert!(
            body.contains(r#""phone":"[redacted]""#) && body.contains("a@b.c"),
            "{body}"
        );
        assert!(!body.contains("s3cr3t-token"));
        assert_eq!(r.header("Authorization", "Bearer x"), REDACTED);
        assert_eq!(r.header("x-custom-key", "v"), REDACTED);
        assert_eq!(r.header("Accept", "application/json"), "application/json");
    }
}
