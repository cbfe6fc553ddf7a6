//! `sluice review approve` killed at random points: approved entries are
//! resolved only once the target holds their records.

use super::{
    Kill, RECORDS, check_final, contacts, inspect, invalid, kill_repeatedly, kills, pipeline,
    run_or_kill, seed,
};
use crate::support::TestEnv;

const REVIEW: &str = "[errors]\nstrategy = \"review\"";

/// The ids of the entries still waiting in review.
fn in_review(env: &TestEnv) -> Vec<String> {
    let conn = inspect(env).unwrap();
    let mut stmt = conn
        .prepare("SELECT id FROM dlq WHERE status = 'open' AND disposition = 'review' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|id| id.unwrap().to_string())
        .collect()
}

#[test]
fn killed_approvals_never_resolve_what_the_target_does_not_hold() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    env.write("pipeline.toml", &pipeline(true, false, REVIEW, 0));
    assert!(run_or_kill(&env, &["run", "pipeline.toml"], Kill::Never));
    let broken = (0..RECORDS).filter(|i| invalid(*i)).count();
    assert_eq!(in_review(&env).len(), broken);

    // A person approves them once the mapping is fixed.
    env.write("pipeline.toml", &pipeline(false, false, REVIEW, 20));
    let mut rng = fastrand::Rng::with_seed(seed("review approve"));
    let budget = kills(6);
    let killed = kill_repeatedly(
        &env,
        &mut rng,
        budget,
        true,
        || {
            let mut args = vec!["review".to_owned(), "approve".to_owned()];
            args.extend(in_review(&env));
            args
        },
        || in_review(&env).is_empty(),
    );
    assert!(
        killed * 3 >= budget * 2,
        "only {killed} approvals were killed"
    );
    let ids = in_review(&env);
    if !ids.is_empty() {
        let mut args = vec!["review", "approve"];
        args.extend(ids.iter().map(String::as_str));
        assert!(run_or_kill(&env, &args, Kill::Never));
    }
    assert!(in_review(&env).is_empty());
    check_final(&env, false);
}
