//! Agreement with Python's `email-validator` on the committed reference set
//! (`tests/fixtures/validators/contacts.jsonl`, made by `generate.py` beside
//! it), and the cases reported against the plugin.

use serde::Deserialize;
use sluice_sdk::{FieldTransformer, Options, Value};

use crate::Email;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/validators/contacts.jsonl"
);

/// One reference row (the phone columns are the `phone-e164` plugin's).
#[derive(Debug, Deserialize)]
struct Row {
    email: String,
    normalized: Option<String>,
}

/// The plugin's answer: the normalized text, or `None` when it rejects it.
fn answer(plugin: &Email, text: &str) -> Option<String> {
    match plugin.transform(Value::from(text)) {
        Ok(Value::Text(text)) => Some(text),
        Ok(other) => panic!("{text:?} became {other:?}"),
        Err(_) => None,
    }
}

fn keeping_case() -> Email {
    Email::configure(Options::from_json(r#"{"lowercase_local_part": false}"#).unwrap()).unwrap()
}

/// The reference keeps the case of the part before the "@"; the plugin
/// does too with `lowercase_local_part = false`, and by default lowercases
/// it.
#[test]
fn agrees_with_email_validator_on_the_reference_set() {
    let fixture = std::fs::read_to_string(FIXTURE).expect("read the reference set");
    let keeping = keeping_case();
    let lowering = Email::configure(Options::empty()).unwrap();
    let mut total = 0_usize;
    let mut disagreements = Vec::new();
    for line in fixture.lines() {
        let row: Row = serde_json::from_str(line).expect("a reference row");
        total += 1;
        let kept = answer(&keeping, &row.email);
        let lowered = answer(&lowering, &row.email);
        let want_lowered = row.normalized.as_ref().map(|address| {
            let (local, domain) = address.rsplit_once('@').expect("an @");
            format!("{}@{domain}", local.to_lowercase())
        });
        if kept != row.normalized || lowered != want_lowered {
            disagreements.push(format!(
                "{:?}: email-validator {:?}, plugin {:?} (lowercased: {:?})",
                row.email, row.normalized, kept, lowered
            ));
        }
    }
    println!(
        "email: {} of {total} rows agree with email-validator ({:.2}%)",
        total - disagreements.len(),
        (1.0 - disagreements.len() as f64 / total as f64) * 100.0
    );
    assert!(total > 19_000, "the reference set has only {total} rows");
    assert!(
        disagreements.is_empty(),
        "{} of {total} rows disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Domains that are not host names: IP addresses written without
/// brackets, numeric top-level domains, underscores.
#[test]
fn refuses_ip_addresses_numeric_tlds_and_underscores() {
    let email = keeping_case();
    for text in [
        "user@123.123.123.123",
        "user@192.168.0.1",
        "user@example.123",
        "user@example_com.com",
        "user@sub_domain.example.com",
        "user@[127.0.0.1]",
    ] {
        let error = email.transform(Value::from(text)).unwrap_err();
        assert_eq!(error.code, "invalid-email", "{text}");
    }
    let error = email
        .transform(Value::from("user@123.123.123.123"))
        .unwrap_err();
    assert!(error.message.contains("IP addresses"), "{}", error.message);
}

#[test]
fn normalizes_international_addresses() {
    let email = keeping_case();
    for (text, want) in [
        ("jürgen@münchen.de", "jürgen@münchen.de"),
        ("user@xn--mnchen-3ya.de", "user@münchen.de"),
        ("user@Bücher.DE", "user@bücher.de"),
        ("a@例え。jp", "a@例え.jp"),
        ("a@ｅｘａｍｐｌｅ.com", "a@example.com"),
        ("e\u{301}lise@example.com", "\u{e9}lise@example.com"),
        ("POSTMASTER@Example.com", "postmaster@example.com"),
    ] {
        assert_eq!(answer(&email, text).as_deref(), Some(want), "{text}");
    }
}
