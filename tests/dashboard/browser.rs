//! The dashboard in a real browser: headless Chromium (Debian's
//! `chromium`) driven by `playwright-core` (npm) through
//! `tests/dashboard/browser.mjs`. `tests/run.sh` installs playwright-core;
//! CI installs chromium and sets `SLUICE_REQUIRE_BROWSER=1`, so there a
//! missing browser fails the test instead of skipping it.
//! `SLUICE_SCREENSHOTS=DIR` keeps the screenshots (docs/screenshots/).

use std::path::PathBuf;
use std::process::Command;

use super::{Dashboard, PIPELINE, TOKEN, partial_run};
use crate::plugin_store::{builtin_file, install};
use crate::support::{TestEnv, stderr, stdout, workspace};

/// Chromium and playwright-core, or why they are missing.
fn tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("SLUICE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let playwright = std::env::var_os("SLUICE_PLAYWRIGHT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/browser-tools/node_modules/playwright-core"));
    if !chromium.is_file() {
        return Err(format!(
            "no Chromium at {} (apt-get install chromium)",
            chromium.display()
        ));
    }
    if !playwright.join("package.json").is_file() {
        return Err(format!(
            "no playwright-core at {} (tests/run.sh installs it)",
            playwright.display()
        ));
    }
    Ok((chromium, playwright))
}

#[test]
fn an_operator_replays_two_entries_in_chromium() {
    let (chromium, playwright) = match tools() {
        Ok(t) => t,
        Err(why) if std::env::var_os("SLUICE_REQUIRE_BROWSER").is_none() => {
            eprintln!("SKIPPED the browser test: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    let env = TestEnv::new();
    partial_run(&env);
    // The fix the operator made before replaying.
    env.write("pipeline.toml", PIPELINE);
    // Two versions of a plugin in the store, the first current.
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let ui = Dashboard::start(&env);
    let run_id = ui.json("/runs")["runs"][0]["id"].as_i64().unwrap();
    let shots = std::env::var_os("SLUICE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.path().join("screenshots"));
    std::fs::create_dir_all(&shots).unwrap();

    let out = Command::new("node")
        .arg(workspace().join("tests/dashboard/browser.mjs"))
        .args([&ui.base, TOKEN, &run_id.to_string()])
        .arg(&shots)
        .env("SLUICE_CHROMIUM", &chromium)
        .env("SLUICE_PLAYWRIGHT", &playwright)
        .output()
        .expect("run node");
    assert!(
        out.status.success() && stdout(&out).trim() == "ok",
        "the browser walk failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    // What the browser did is in the run log.
    let resolved = ui.json("/dlq?status=resolved");
    assert_eq!(
        resolved["entries"].as_array().unwrap().len(),
        2,
        "{resolved}"
    );
    // And the plugin was promoted, then rolled back, from the page.
    let history = ui.json("/plugins/casing")["versions"]["history"].clone();
    let actions: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["action"].as_str().unwrap(), h["digest"].as_str().unwrap()))
        .collect();
    assert_eq!(
        &actions[actions.len() - 2..],
        &[("promote", lower.as_str()), ("rollback", upper.as_str())],
        "{history}"
    );
    for page in ["runs", "run", "dlq", "dry-run", "plugin"] {
        let png = std::fs::read(shots.join(format!("{page}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{page}.png is a PNG");
    }
}
