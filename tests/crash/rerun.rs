//! `sluice rerun` of an interrupted run, itself killed at random points and
//! re-run again, until one finishes.

use std::time::Duration;

use super::{
    Kill, check_after_kill, check_final, contacts, kills, lines_written, pipeline, run_or_kill,
    seed,
};
use crate::support::TestEnv;

/// Start runs and kill them until one is killed part-way (after its run
/// was recorded): it becomes `interrupted`, which `sluice rerun` accepts.
fn interrupted_run(env: &TestEnv, rng: &mut fastrand::Rng) {
    for _ in 0..20 {
        let kill = Kill::After(Duration::from_millis(rng.u64(30..250)));
        if !run_or_kill(env, &["run", "pipeline.toml"], kill) && last_is_unfinished(env) {
            return;
        }
    }
    panic!("20 runs in a row finished before they could be killed");
}

/// Whether the newest run is still marked running (or was found dead).
fn last_is_unfinished(env: &TestEnv) -> bool {
    let runs = env.run_log().runs(None, 1).unwrap();
    runs.first()
        .is_some_and(|r| matches!(r.status.as_str(), "running" | "interrupted"))
}

#[test]
fn killed_reruns_lose_nothing_and_load_nothing_twice() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    env.write("pipeline.toml", &pipeline(true, false, "", 0));
    let mut rng = fastrand::Rng::with_seed(seed("rerun"));
    interrupted_run(&env, &mut rng);
    check_after_kill(&env, "run kill");
    let mut killed = 0;
    for n in 0..kills(6) {
        let kill = Kill::random(&mut rng, lines_written(&env), None);
        let finished = run_or_kill(&env, &["rerun", "last"], kill);
        killed += usize::from(!finished);
        if finished || !last_is_unfinished(&env) {
            // It finished, or was killed before it was recorded: have a
            // fresh interrupted run to re-run.
            interrupted_run(&env, &mut rng);
        }
        check_after_kill(&env, &format!("rerun kill {n} ({kill:?})"));
    }
    assert!(killed >= kills(6) / 2, "only {killed} reruns were killed");
    assert!(run_or_kill(&env, &["rerun", "last"], Kill::Never));
    check_final(&env, true);
    let runs = env.run_log().runs(None, 100).unwrap();
    assert_eq!(runs[0].status, "partial");
    assert!(runs.iter().any(|r| r.status == "interrupted"));
}
