//! `sluice rerun` of an interrupted run, itself killed at random points and
//! re-run again, until one finishes.

use std::time::{Duration, Instant};

use super::{
    Kill, RECORDS, check_after_kill, check_final, contacts, invalid, kills, lines_written,
    pipeline, run_or_kill, seed,
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

/// Valid source records: once the target holds them all, a re-run writes
/// no new lines and can only be killed by time.
fn valid() -> usize {
    (0..RECORDS).filter(|i| !invalid(*i)).count()
}

/// A kill point for a re-run: by lines while the target still grows, else
/// at a random time within about how long a whole re-run took (`typical`).
fn rerun_kill(env: &TestEnv, rng: &mut fastrand::Rng, typical: Duration) -> Kill {
    let written = lines_written(env);
    if written < valid() {
        Kill::random(rng, written, None)
    } else {
        let ms = typical.as_millis().clamp(20, 2_000) as u64;
        Kill::After(Duration::from_millis(rng.u64(5..ms)))
    }
}

#[test]
fn killed_reruns_lose_nothing_and_load_nothing_twice() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    env.write("pipeline.toml", &pipeline(true, false, "", 0));
    let mut rng = fastrand::Rng::with_seed(seed("rerun"));
    interrupted_run(&env, &mut rng);
    check_after_kill(&env, "run kill");
    let budget = kills(6);
    let mut killed = 0;
    // Until a whole re-run has been timed, assume one takes this long.
    let mut typical = Duration::from_millis(400);
    for n in 0..budget * 4 {
        if killed == budget {
            break;
        }
        let kill = rerun_kill(&env, &mut rng, typical);
        let started = Instant::now();
        let finished = run_or_kill(&env, &["rerun", "last"], kill);
        if finished {
            // Aim the next kills inside the time a whole re-run takes here.
            typical = started.elapsed();
        }
        killed += usize::from(!finished);
        if finished || !last_is_unfinished(&env) {
            // It finished, or was killed before it was recorded: have a
            // fresh interrupted run to re-run.
            interrupted_run(&env, &mut rng);
        }
        check_after_kill(&env, &format!("rerun kill {n} ({kill:?})"));
    }
    assert!(killed >= budget / 2, "only {killed} reruns were killed");
    assert!(run_or_kill(&env, &["rerun", "last"], Kill::Never));
    check_final(&env, true);
    let runs = env.run_log().runs(None, 100).unwrap();
    assert_eq!(runs[0].status, "partial");
    assert!(runs.iter().any(|r| r.status == "interrupted"));
}
