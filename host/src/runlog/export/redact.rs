//! A second pass over what an export carries: values under keys that name a
//! secret (`api_key`, `token`, `password`…) are replaced, in JSON documents,
//! in TOML configurations and, line by line, in any other text. The run log
//! already holds connection secrets redacted; this catches secrets written
//! straight into a pipeline's options or a record.

use serde_json::Value as Json;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Whether a key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "passwd",
        "apikey",
        "authorization",
        "credential",
        "privatekey",
        "cookie",
        "signature",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// `text` with secret values replaced, whatever it is: JSON, TOML, or
/// lines of `key = value` / `"key": value`.
pub fn redact_text(text: &str) -> Option<String> {
    if let Ok(mut json) = serde_json::from_str::<Json>(text) {
        return redact_json(&mut json).then(|| json.to_string());
    }
    if let Ok(mut table) = text.parse::<toml::Table>() {
        if redact_toml(&mut table) {
            return toml::to_string_pretty(&table).ok();
        }
        return None;
    }
    let mut changed = false;
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| match redact_line(line) {
            Some(l) => {
                changed = true;
                l
            }
            None => line.to_owned(),
        })
        .collect();
    changed.then(|| lines.join("\n"))
}

/// Replace string and number values under secret keys; true if any was.
fn redact_json(value: &mut Json) -> bool {
    match value {
        Json::Object(map) => {
            let mut changed = false;
            for (k, v) in map.iter_mut() {
                if is_secret_key(k) && !v.is_null() && !v.is_object() && !v.is_array() {
                    if v.as_str() != Some(REDACTED) {
                        *v = Json::from(REDACTED);
                        changed = true;
                    }
                } else {
                    changed |= redact_json(v);
                }
            }
            changed
        }
        Json::Array(items) => items.iter_mut().fold(false, |c, v| redact_json(v) | c),
        Json::String(s) => {
            // A JSON document stored as a string (a captured body).
            match redact_text(s) {
                Some(r) if s.trim_start().starts_with(['{', '[']) => {
                    *s = r;
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn redact_toml(table: &mut toml::Table) -> bool {
    let mut changed = false;
    for (k, v) in table.iter_mut() {
        changed |= redact_toml_value(k, v);
    }
    changed
}

fn redact_toml_value(key: &str, value: &mut toml::Value) -> bool {
    match value {
        toml::Value::Table(t) => redact_toml(t),
        toml::Value::Array(items) => items
            .iter_mut()
            .fold(false, |c, v| redact_toml_value(key, v) | c),
        v if is_secret_key(key) => {
            if v.as_str() == Some(REDACTED) {
                return false;
            }
            *v = toml::Value::String(REDACTED.to_owned());
            true
        }
        _ => false,
    }
}

/// One line `key = value`, `"key": value` or `Key: value` (a header) with
/// the value replaced when the key names a secret; diff markers kept.
fn redact_line(line: &str) -> Option<String> {
    let sep = line.find(['=', ':'])?;
    let (head, rest) = line.split_at(sep);
    let key = head
        .trim_start_matches(['+', '-', ' '])
        .trim()
        .trim_matches('"');
    if key.is_empty() || key.contains(' ') || !is_secret_key(key) {
        return None;
    }
    let value = rest[1..].trim();
    if value.is_empty() || value.contains(REDACTED) {
        return None;
    }
    let quoted = value.starts_with('"');
    let comma = if value.ends_with(',') { "," } else { "" };
    Some(if quoted {
        format!("{head}{} \"{REDACTED}\"{comma}", &rest[..1])
    } else {
        format!("{head}{} {REDACTED}{comma}", &rest[..1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_in_every_shape() {
        let json = redact_text(
            r#"{"id":"c1","auth":{"api_key":"sk-live-1","apiToken":"t"},"email":"a@b"}"#,
        )
        .unwrap();
        assert!(
            !json.contains("sk-live-1") && !json.contains("\"t\""),
            "{json}"
        );
        assert!(json.contains("a@b"));

        let toml = redact_text(
            "name = \"p\"\n[target.options]\nclient_secret = \"s3cr3t\"\nurl = \"https://x\"\n",
        )
        .unwrap();
        assert!(
            !toml.contains("s3cr3t") && toml.contains("https://x"),
            "{toml}"
        );

        let diff = redact_text(
            "--- before\n+++ after\n-password = \"old-pw\"\n+password = \"new-pw\"\n name = \"p\"",
        )
        .unwrap();
        assert!(
            !diff.contains("old-pw") && !diff.contains("new-pw"),
            "{diff}"
        );
        assert!(diff.contains("-password = \"[redacted]\""), "{diff}");
        assert!(diff.contains(" name = \"p\""));

        let headers =
            redact_text("GET /v3/contacts\nAuthorization: Bearer abc.def\nAccept: */*").unwrap();
        assert!(
            !headers.contains("abc.def") && headers.contains("Accept: */*"),
            "{headers}"
        );

        assert_eq!(
            redact_text(r#"{"id":"c1","note":"fine"}"#),
            None,
            "nothing to redact"
        );
        assert!(
            !is_secret_key("email") && is_secret_key("X-Api-Key") && is_secret_key("SIGNATURE")
        );
    }
}
