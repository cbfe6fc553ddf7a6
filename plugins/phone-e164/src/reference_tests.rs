//! Agreement with libphonenumber on the committed reference set
//! (`tests/fixtures/validators/contacts.jsonl`, made by `generate.py` beside
//! it with Python's `phonenumbers`), and the cases reported against the
//! plugin.

use std::collections::HashMap;

use serde::Deserialize;
use sluice_sdk::{FieldTransformer, Options, Value};

use crate::PhoneE164;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/validators/contacts.jsonl"
);

/// The share of rows that must agree with libphonenumber.
const REQUIRED_AGREEMENT: f64 = 0.999;

/// One reference row (the email columns are the `email` plugin's).
#[derive(Debug, Deserialize)]
struct Row {
    region: Option<String>,
    phone: String,
    e164: Option<String>,
}

fn plugin(region: Option<&str>) -> PhoneE164 {
    let json = match region {
        Some(region) => format!(r#"{{"default_region": "{region}"}}"#),
        None => "{}".to_owned(),
    };
    PhoneE164::configure(Options::from_json(&json).unwrap()).unwrap()
}

/// The plugin's answer: the E.164 text, or `None` when it rejects the value.
fn e164(plugin: &PhoneE164, text: &str) -> Option<String> {
    match plugin.transform(Value::from(text)) {
        Ok(Value::Text(text)) => Some(text),
        Ok(other) => panic!("{text:?} became {other:?}"),
        Err(_) => None,
    }
}

#[test]
fn agrees_with_libphonenumber_on_the_reference_set() {
    let fixture = std::fs::read_to_string(FIXTURE).expect("read the reference set");
    let mut plugins: HashMap<Option<String>, PhoneE164> = HashMap::new();
    let mut total = 0_usize;
    let mut disagreements = Vec::new();
    for line in fixture.lines() {
        let row: Row = serde_json::from_str(line).expect("a reference row");
        let plugin = plugins
            .entry(row.region.clone())
            .or_insert_with(|| plugin(row.region.as_deref()));
        let got = e164(plugin, &row.phone);
        total += 1;
        if got != row.e164 {
            disagreements.push(format!(
                "{:?} {:?}: libphonenumber {:?}, plugin {:?}",
                row.region, row.phone, row.e164, got
            ));
        }
    }
    let agreement = 1.0 - disagreements.len() as f64 / total as f64;
    println!(
        "phone-e164: {} of {total} rows agree with libphonenumber ({:.2}%)",
        total - disagreements.len(),
        agreement * 100.0
    );
    assert!(total > 19_000, "the reference set has only {total} rows");
    assert!(
        agreement >= REQUIRED_AGREEMENT,
        "{} of {total} rows disagree ({:.2}% agreement, {:.1}% required):\n{}",
        disagreements.len(),
        agreement * 100.0,
        REQUIRED_AGREEMENT * 100.0,
        disagreements.join("\n")
    );
}

fn assert_cases(cases: &[(&str, &str, Option<&str>)]) {
    let mut wrong = Vec::new();
    for &(region, text, want) in cases {
        let got = e164(&plugin(Some(region)), text);
        if got.as_deref() != want {
            wrong.push(format!("{region} {text:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// National numbers whose first digits are the region's own country code
/// are national numbers, not international ones without the "+".
#[test]
fn national_numbers_starting_with_the_country_code() {
    assert_cases(&[
        ("BR", "(555) 222-1234", Some("+555552221234")),
        ("BR", "55 2974-4982", Some("+555529744982")),
        ("IN", "9167745456", Some("+919167745456")),
        // Written with the country code, they still are what they were.
        ("BR", "+55 55 2974-4982", Some("+555529744982")),
        ("IN", "+91 91677 45456", Some("+919167745456")),
    ]);
}

/// Only one national prefix is stripped: `+49(0)0206 …` keeps its second
/// zero, and no German number starts with it.
#[test]
fn one_national_prefix_is_stripped() {
    assert_cases(&[
        ("DE", "+49(0)0206 79701", None),
        ("US", "+49(0)0206 79701", None),
        ("DE", "+49(0)206 79701", Some("+4920679701")),
    ]);
}

/// A number must match one of its country's patterns in full, not just
/// start like one.
#[test]
fn numbers_must_match_a_pattern_in_full() {
    assert_cases(&[
        ("DE", "0138573832", None),
        ("DE", "(03222) 075803", None),
        ("AU", "1383 3951", None),
        ("JP", "12-0551-4212", None),
    ]);
}

/// Numbering plans as of libphonenumber 9.0.43: US area codes 273 and 274
/// and Australian mobiles 0496 0… to 0496 4… are in service (the last two
/// are new in 9.0.43; see vendor/phonenumber/PATCHES.md).
#[test]
fn current_numbering_plans() {
    assert_cases(&[
        ("US", "(274) 200-1234", Some("+12742001234")),
        ("US", "+1 274 200 1234", Some("+12742001234")),
        ("US", "273.900.1208x244", Some("+12739001208")),
        ("AU", "0496-231-723", Some("+61496231723")),
        ("AU", "0496 479 769", Some("+61496479769")),
        ("AU", "+61 4 9623 1723", Some("+61496231723")),
        // Still outside the plan.
        ("AU", "0496 531 723", None),
    ]);
}

/// Text before the "+" (`Phone: +49 …`) does not hide the country code:
/// the number is read with its own country's rules and keeps every digit;
/// full-width digits are digits.
#[test]
fn country_code_after_text_and_full_width_digits() {
    assert_cases(&[
        ("US", "Phone: +4915123457840", Some("+4915123457840")),
        ("US", "ph +441212345651", Some("+441212345651")),
        ("US", "(２０１) ５２０７８８４", Some("+12015207884")),
    ]);
}
