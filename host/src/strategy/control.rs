use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::{BreakerPolicy, ErrorPolicy, Strategy};
use crate::errors::{Category, Disposition, RecordError};
use crate::model::{Stage, StopLevel, StopSignal, codes};
use crate::record::Record;

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HaltCause {
    /// An `auth` error: every further record would fail the same way.
    AuthPause,
    /// An error under strategy `fail-fast`.
    FailFast,
    /// Every record of the breaker's window failed with an actionable error.
    Blocked,
    /// Asked to stop from outside at the next batch boundary (the daemon's
    /// second stop signal, or a job's `overlap = "cancel"`).
    Stopped,
}

/// A decision to stop the run, and the error behind it.
#[derive(Debug, Clone)]
pub struct Halt {
    /// Why.
    pub cause: HaltCause,
    /// The error that stopped the run; records held back are filed under it.
    pub error: RecordError,
    /// One sentence for the run's status reason.
    pub reason: String,
}

/// What every stage consults and informs while a run goes on: the error
/// policy of each entity and the circuit breaker that can stop the run.
///
/// Stages report final errors and loads here; once the run is halted the
/// source stops reading and every stage files the records it still holds as
/// `held-back` (kept for replay) instead of processing them.
#[derive(Debug)]
pub struct RunControl {
    policies: HashMap<String, ErrorPolicy>,
    breaker: BreakerPolicy,
    halted: AtomicBool,
    state: Mutex<State>,
    wake: Condvar,
    /// A stop asked for from outside the run, if the run can be stopped.
    stop: std::sync::OnceLock<Arc<StopSignal>>,
    /// The source stopped reading early because a drain was asked for.
    drained: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    halt: Option<Halt>,
    /// Actionable failures since the last load, by category, code and field.
    blocked: HashMap<(Category, String, Option<String>), u64>,
    blocked_total: u64,
}

impl RunControl {
    /// Control for a run whose entities have these policies.
    pub fn new(policies: HashMap<String, ErrorPolicy>, breaker: BreakerPolicy) -> Self {
        RunControl {
            policies,
            breaker,
            halted: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            stop: std::sync::OnceLock::new(),
            drained: AtomicBool::new(false),
        }
    }

    /// Control with default policies (`skip`, breaker on) for any entity.
    pub fn permissive() -> Self {
        RunControl::new(
            HashMap::new(),
            crate::strategy::ErrorsConfig::default().breaker(),
        )
    }

    /// The policy of `entity`.
    pub fn policy(&self, entity: &str) -> ErrorPolicy {
        self.policies
            .get(entity)
            .copied()
            .unwrap_or_else(|| crate::strategy::ErrorsConfig::default().policy_for(None))
    }

    /// Whether the run has been stopped.
    pub fn is_halted(&self) -> bool {
        if self.halted.load(Ordering::Relaxed) {
            return true;
        }
        match self.stop.get() {
            Some(stop) if stop.level() == StopLevel::Halt => {
                self.halt_for_stop(stop);
                true
            }
            _ => false,
        }
    }

    /// Let `stop` stop this run from outside.
    pub fn set_stop(&self, stop: Arc<StopSignal>) {
        let _ = self.stop.set(stop);
    }

    /// Whether the source should read no more (a drain or a halt was asked
    /// for); records already read still go through.
    pub fn drain_requested(&self) -> bool {
        self.stop
            .get()
            .is_some_and(|s| s.level() >= StopLevel::Drain)
    }

    /// The source stopped reading because a drain was asked for.
    pub fn note_drained(&self) {
        self.drained.store(true, Ordering::Relaxed);
    }

    /// Why the run was stopped from outside before its source was read to
    /// the end, if it was.
    pub fn stopped_early(&self) -> Option<String> {
        if !self.drained.load(Ordering::Relaxed)
            && self.halt().is_none_or(|h| h.cause != HaltCause::Stopped)
        {
            return None;
        }
        Some(
            self.stop
                .get()
                .map_or_else(|| "asked to stop".to_owned(), |s| s.why()),
        )
    }

    /// Halt the run because `stop` asks for it: records not yet processed
    /// are held back as `transient` `run-stopped` errors, replayable.
    fn halt_for_stop(&self, stop: &StopSignal) {
        let mut state = self.lock();
        if state.halt.is_some() {
            return;
        }
        let reason = format!("stopped at a batch boundary: {}", stop.why());
        let mut error = RecordError::new(
            Stage::Ingest,
            "*",
            Category::Transient,
            codes::RUN_STOPPED,
            reason.clone(),
        );
        error.retryable = true;
        tracing::warn!(reason = %reason, "Run halted.");
        state.halt = Some(Halt {
            cause: HaltCause::Stopped,
            error,
            reason,
        });
        self.halted.store(true, Ordering::Relaxed);
        self.wake.notify_all();
    }

    /// The decision that stopped the run, if one did.
    pub fn halt(&self) -> Option<Halt> {
        self.lock().halt.clone()
    }

    /// Wait `duration`, or less if the run is stopped meanwhile; true if the
    /// whole wait passed.
    pub fn sleep(&self, duration: Duration) -> bool {
        if self.stop.get().is_some() {
            // A stop from outside cannot wake the condition variable: wait
            // in slices and look at it between them.
            let end = std::time::Instant::now() + duration;
            loop {
                let left = end.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return !self.is_halted();
                }
                if self.is_halted() || !self.sleep_inner(left.min(Duration::from_millis(100))) {
                    return false;
                }
            }
        }
        self.sleep_inner(duration)
    }

    fn sleep_inner(&self, duration: Duration) -> bool {
        let state = self.lock();
        if state.halt.is_some() {
            return false;
        }
        let (state, _) = self
            .wake
            .wait_timeout_while(state, duration, |s| s.halt.is_none())
            .unwrap_or_else(|e| e.into_inner());
        state.halt.is_none()
    }

    /// Take final errors into account: set their disposition from the
    /// entity's strategy, and stop the run if the breaker says so.
    pub fn observe_errors(&self, errors: &mut [RecordError]) {
        let mut state = self.lock();
        for e in errors.iter_mut() {
            if e.disposition == Disposition::HeldBack {
                continue;
            }
            let strategy = self.policy(&e.entity).strategy;
            if strategy == Strategy::Review && e.record_key.is_some() {
                e.disposition = Disposition::Review;
            }
            if state.halt.is_some() {
                continue;
            }
            let halt = if e.category == Category::Auth && self.breaker.pause_on_auth {
                Some((
                    HaltCause::AuthPause,
                    format!(
                        "paused at the first authentication error ({}: {}); update the {} connection profile, then re-run",
                        e.code,
                        e.message,
                        if e.stage == Stage::Ingest {
                            "source"
                        } else {
                            "target"
                        }
                    ),
                ))
            } else if strategy == Strategy::FailFast {
                Some((
                    HaltCause::FailFast,
                    format!(
                        "stopped at the first error (strategy fail-fast): {} {} {} on record {}: {}",
                        e.stage,
                        e.category,
                        e.code,
                        e.record_key.as_deref().unwrap_or("-"),
                        e.message
                    ),
                ))
            } else if e.category.is_actionable() && self.breaker.blocked_window > 0 {
                state.blocked_total += 1;
                *state
                    .blocked
                    .entry((e.category, e.code.clone(), e.field.clone()))
                    .or_default() += 1;
                (state.blocked_total >= self.breaker.blocked_window).then(|| {
                    let ((category, code, field), n) = state
                        .blocked
                        .iter()
                        .max_by_key(|(_, n)| **n)
                        .expect("at least one failure");
                    (
                        HaltCause::Blocked,
                        format!(
                            "aborted: the last {} records all failed with actionable errors and none loaded (mostly {category} {code}{}, {n} records); fix that, then re-run",
                            state.blocked_total,
                            field.as_deref().map(|f| format!(" on field `{f}`")).unwrap_or_default(),
                        ),
                    )
                })
            } else {
                None
            };
            if let Some((cause, reason)) = halt {
                tracing::warn!(cause = ?cause, reason = %reason, "Run halted.");
                state.halt = Some(Halt {
                    cause,
                    error: e.clone(),
                    reason,
                });
                self.halted.store(true, Ordering::Relaxed);
                self.wake.notify_all();
            }
        }
    }

    /// Records were loaded: the run is not blocked.
    pub fn observe_loaded(&self, n: u64) {
        if n > 0 && self.breaker.blocked_window > 0 {
            let mut state = self.lock();
            state.blocked.clear();
            state.blocked_total = 0;
        }
    }

    /// Errors filing `records` as held back at `stage` because the run
    /// stopped: one per record, under the error that stopped it.
    pub fn hold_back(&self, stage: Stage, entity: &str, records: &[Record]) -> Vec<RecordError> {
        let halt = self.halt().expect("held back only once halted");
        let message = format!("not processed: {}", halt.reason);
        records
            .iter()
            .map(|r| RecordError {
                stage,
                entity: entity.to_owned(),
                record_key: Some(r.key.clone()),
                source_position: Some(r.position.clone()),
                message: message.clone(),
                payload: Some(r.body_json()),
                source_payload: Some(r.source_payload.to_string()),
                attempts: 0,
                disposition: Disposition::HeldBack,
                ..halt.error.clone()
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_from_outside_drains_then_halts() {
        let control = RunControl::permissive();
        let stop = Arc::new(StopSignal::new());
        control.set_stop(stop.clone());
        assert!(!control.drain_requested());
        assert!(!control.is_halted());
        stop.request(StopLevel::Drain, "the daemon is stopping (SIGTERM)");
        assert!(control.drain_requested());
        assert!(!control.is_halted(), "a drain lets what was read through");
        assert_eq!(
            control.stopped_early(),
            None,
            "the source has not stopped yet"
        );
        control.note_drained();
        assert_eq!(
            control.stopped_early().as_deref(),
            Some("the daemon is stopping (SIGTERM)")
        );
        stop.request(StopLevel::Halt, "a second signal");
        assert!(control.is_halted());
        let halt = control.halt().unwrap();
        assert_eq!(halt.cause, HaltCause::Stopped);
        assert_eq!(halt.error.code, codes::RUN_STOPPED);
        assert!(halt.error.retryable);
        let started = std::time::Instant::now();
        assert!(!control.sleep(Duration::from_secs(5)));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_halt_asked_for_during_a_retry_wait_ends_it_early() {
        let control = Arc::new(RunControl::permissive());
        let stop = Arc::new(StopSignal::new());
        control.set_stop(stop.clone());
        let waiter = {
            let control = control.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let slept = control.sleep(Duration::from_secs(10));
                (slept, started.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        stop.request(StopLevel::Halt, "stop");
        let (slept, took) = waiter.join().unwrap();
        assert!(!slept);
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
