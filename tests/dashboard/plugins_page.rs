//! The plugins page: the store's versions with digests and who installed
//! them, a version promoted and rolled back from the dashboard, both in the
//! audit log under the dashboard's name.

use super::Dashboard;
use crate::plugin_store::{builtin_file, install};
use crate::support::TestEnv;

#[test]
fn a_version_is_promoted_and_rolled_back_from_the_dashboard() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let mut ui = Dashboard::start(&env);

    let list = ui.json("/plugins");
    let casing = &list["installed"][0];
    assert_eq!(
        (&casing["name"], &casing["versions"]),
        (&"casing".into(), &2.into()),
        "{list}"
    );
    assert_eq!(casing["current"], upper.as_str());
    assert!(
        list["builtins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "phone-e164")
    );

    let (code, html) = ui.page("/plugins/casing");
    assert_eq!(code, 200);
    for d in [&upper, &lower] {
        let short = &d.trim_start_matches("sha256:")[..12];
        assert!(html.contains(short), "{short} in {html}");
    }
    let page = ui.json("/plugins/casing");
    assert!(
        page["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{page}"
    );
    assert_eq!(page["options_schema"]["type"], "object", "{page}");

    let base = ui.base.clone();
    let refused = ui.post(
        "/plugins/casing/promote",
        &[("digest", &lower)],
        Some(&base),
    );
    assert_eq!(refused.status().as_u16(), 401);
    ui.sign_in();
    let csrf = ui.csrf();
    let promoted = ui.post(
        "/plugins/casing/promote",
        &[("digest", &lower), ("csrf", &csrf)],
        Some(&base),
    );
    assert_eq!(promoted.status().as_u16(), 303);
    assert_eq!(
        ui.json("/plugins/casing")["versions"]["current"],
        lower.as_str()
    );
    let again = ui.post(
        "/plugins/casing/promote",
        &[("digest", &lower), ("csrf", &csrf)],
        Some(&base),
    );
    assert_eq!(again.status().as_u16(), 409, "already current");

    let rolled = ui.post(
        "/plugins/casing/rollback",
        &[("reason", "lowercase broke names"), ("csrf", &csrf)],
        Some(&base),
    );
    assert_eq!(rolled.status().as_u16(), 303);
    let page = ui.json("/plugins/casing");
    assert_eq!(page["versions"]["current"], upper.as_str());
    let history = page["versions"]["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["action"], "rollback", "{page}");
    assert_eq!(last["reason"], "lowercase broke names");
    assert!(
        last["actor"].as_str().unwrap().ends_with("(dashboard)"),
        "{last}"
    );
}
