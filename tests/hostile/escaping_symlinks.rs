//! A target cannot leave symbolic links out of its directory: one it
//! creates (`escape -> ../secret.txt`) is removed when it commits, which
//! fails with `capability-denied` naming it; one left before the run is
//! removed before the target starts; links inside the directory stay.

use super::test_component;
use crate::support::TestEnv;
use sluice::runlog::ErrorFilter;
use sluice::stages::finalize::RunStatus;

fn pipeline(env: &TestEnv, options: &str) -> std::path::PathBuf {
    env.write(
        "pipeline.toml",
        &format!(
            r#"name = "links"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "rogue.wasm"
dir = "out"
options = {options}

[[entity]]
name = "things"
key = "id"
source_options = {{ path = "records.jsonl" }}

[[entity.field]]
target = "id"
"#
        ),
    )
}

#[test]
fn links_out_of_a_target_directory_are_removed() {
    let env = TestEnv::new();
    env.write("in/records.jsonl", "{\"id\": \"a\"}\n{\"id\": \"b\"}\n");
    env.write("secret.txt", "not for the target\n");
    std::fs::copy(
        test_component("sluice_test_rogue_target.wasm"),
        env.path().join("rogue.wasm"),
    )
    .unwrap();
    let out = env.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let is_link = |name: &str| out.join(name).symlink_metadata().is_ok();

    // Left by an earlier run: removed before the target starts.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../secret.txt", out.join("left-over")).unwrap();
        std::os::unix::fs::symlink("records.jsonl", out.join("inside")).unwrap();
    }
    let summary = env.run(&pipeline(&env, "{}"));
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    #[cfg(unix)]
    {
        assert!(!is_link("left-over"));
        assert!(is_link("inside"), "a link inside the directory stays");
    }

    // Made by the target during the run: removed at commit, which fails.
    let summary = env.run(&pipeline(
        &env,
        r#"{ symlink = ["../secret.txt", "escape"] }"#,
    ));
    assert!(!is_link("escape"), "the link out was left in place");
    assert_eq!(summary.status, RunStatus::Failed, "{summary:?}");
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.code == "capability-denied" && e.message.contains("escape")),
        "{errors:#?}"
    );
    assert_eq!(env.read("secret.txt"), "not for the target\n");
}
