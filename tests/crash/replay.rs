//! `sluice dlq replay` killed at random points while it writes: an entry is
//! resolved only once the target has committed its record, so a killed
//! replay leaves the rest open and the next one loads them, once.

use super::{
    Kill, RECORDS, check_after_kill, check_final, contacts, invalid, kill_repeatedly, kills,
    pipeline, resolved_loaded, run_or_kill, seed, watch,
};
use crate::support::TestEnv;

/// The first two kills come as soon as the run log shows an entry resolved
/// by the replay: before the fix the writer resolved entries while their
/// lines were still in the target's write buffer, so the target was short
/// of what the log said. Then kills at random points.
#[test]
fn killed_replays_never_resolve_what_the_target_does_not_hold() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    env.write("pipeline.toml", &pipeline(true, false, "", 0));
    assert!(run_or_kill(&env, &["run", "pipeline.toml"], Kill::Never));
    let broken = (0..RECORDS).filter(|i| invalid(*i)).count();
    assert_eq!(
        env.run_log()
            .dlq_entries(&Default::default())
            .unwrap()
            .len(),
        broken
    );

    // The mapping is fixed: replays load the broken records.
    env.write("pipeline.toml", &pipeline(false, false, "", 20));
    let replay = ["dlq", "replay", "--pipeline", "crashy"];
    let resolved = || watch(&env).map_or(0, |c| resolved_loaded(&c));
    let mut rng = fastrand::Rng::with_seed(seed("dlq replay"));
    let mut killed = 0;
    for n in 0..2 {
        let kill = Kill::AtResolved(resolved());
        killed += usize::from(!run_or_kill(&env, &replay, kill));
        check_after_kill(&env, &format!("replay kill {n} ({kill:?})"));
    }
    let budget = kills(10);
    killed += kill_repeatedly(
        &env,
        &mut rng,
        budget.saturating_sub(2),
        true,
        || replay.iter().map(|a| (*a).to_owned()).collect(),
        || resolved() == broken,
    );
    assert!(
        killed * 3 >= budget * 2,
        "only {killed} replays were killed"
    );
    assert!(run_or_kill(&env, &replay, Kill::Never));
    check_final(&env, false);
}
