//! `sluice plugin test PLUGIN --cases FILE`.

use serde_json::Value;

use crate::support::{TestEnv, stderr, stdout};

const PASSING: &str = r#"
options = { max_length = 3 }

[[case]]
name = "cuts long text"
input = "abcdef"
output = "abc"

[[case]]
name = "short text stays"
input = "ab"
output = "ab"

[[case]]
name = "null stays null"
input_json = "null"
output_json = "null"

[[case]]
name = "its own options"
options = { max_length = 1 }
input = "xyz"
output = "x"

[[case]]
name = "bad options are refused by the schema"
options = { max_length = "many" }
input = "x"
error = { category = "config", code = "config-rejected" }
"#;

#[test]
fn a_passing_case_file_exits_zero() {
    let env = TestEnv::new();
    env.write("cases.toml", PASSING);
    let out = env.cli(&["plugin", "test", "truncate", "--cases", "cases.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("5 of 5 cases passed"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
}

#[test]
fn a_mismatch_is_shown_as_a_diff_and_exits_one() {
    let env = TestEnv::new();
    env.write(
        "cases.toml",
        r#"
[[case]]
name = "right"
input = " a "
output = "a"

[[case]]
name = "wrong output"
input = " b "
output = " b "

[[case]]
name = "wrong error"
input = "nope"
error = { category = "validation", code = "too-short" }

[[case]]
name = "error expected, output given"
input = "plain"
error = { code = "invalid" }
"#,
    );
    // `trim` is total; `email` rejects "nope" with `invalid-email`.
    let out = env.cli(&["plugin", "test", "trim", "--cases", "cases.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("1 of 4 cases passed (3 failed)"), "{text}");
    assert!(text.contains("FAIL case 2 (wrong output)"), "{text}");
    assert!(text.contains("-output \" b \""), "{text}");
    assert!(text.contains("+output \"b\""), "{text}");
    assert!(!text.contains("FAIL case 1"), "{text}");

    let out = env.cli(&["plugin", "test", "email", "--cases", "cases.toml", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let wrong_error = &v["verdicts"][2];
    assert_eq!(wrong_error["passed"], false, "{v}");
    assert_eq!(wrong_error["got"]["outcome"], "error", "{v}");
    assert_eq!(wrong_error["got"]["category"], "validation", "{v}");
    assert_eq!(wrong_error["got"]["code"], "invalid-email", "{v}");
    assert!(
        wrong_error["diff"]
            .as_str()
            .unwrap()
            .contains("+error [validation] invalid-email"),
        "{v}"
    );
}

#[test]
fn a_malformed_case_file_is_refused_with_its_place() {
    let env = TestEnv::new();
    env.write(
        "cases.toml",
        "[[case]]\ninput = \"a\"\noutput = \"a\"\nerror = { code = \"x\" }\n",
    );
    let out = env.cli(&["plugin", "test", "trim", "--cases", "cases.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("case 1") && err.contains("exactly one expectation"),
        "{err}"
    );
    env.write("typo.toml", "[[case]]\ninptu = \"a\"\n");
    let err = stderr(&env.cli(&["plugin", "test", "trim", "--cases", "typo.toml"]));
    assert!(err.contains("inptu"), "{err}");
}
