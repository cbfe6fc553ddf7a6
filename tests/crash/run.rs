//! `sluice run` of an incremental pipeline killed at random points, then run
//! to the end: nothing lost, nothing loaded twice, the cursor at the end.

use super::{
    Kill, RECORDS, check_final, contacts, kill_repeatedly, kills, pipeline, run_or_kill, seed,
    watch,
};
use crate::support::TestEnv;

/// Whether the cursor has reached the end of the source.
fn read_to_the_end(env: &TestEnv) -> bool {
    watch(env).is_some_and(|c| {
        c.query_row("SELECT records FROM cursors", [], |r| r.get::<_, i64>(0))
            .is_ok_and(|n| n == RECORDS as i64)
    })
}

#[test]
fn killed_runs_lose_nothing_and_load_nothing_twice() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    env.write("pipeline.toml", &pipeline(true, true, "", 8));
    let mut rng = fastrand::Rng::with_seed(seed("run"));
    let budget = kills(10);
    let killed = kill_repeatedly(
        &env,
        &mut rng,
        budget,
        false,
        || vec!["run".into(), "pipeline.toml".into()],
        || read_to_the_end(&env),
    );
    assert!(killed * 3 >= budget * 2, "only {killed} runs were killed");
    assert!(
        run_or_kill(&env, &["run", "pipeline.toml"], Kill::Never),
        "a run without a kill finishes"
    );
    check_final(&env, true);

    // The cursor is at the end: another run reads nothing.
    let log = env.run_log();
    let cursors = log.cursors("crashy", None).unwrap();
    assert_eq!(cursors[0].records, RECORDS as i64, "{cursors:?}");
    let summary = env.run(&env.path().join("pipeline.toml"));
    assert_eq!(summary.totals.extracted, 0);
}
