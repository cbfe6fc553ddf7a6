use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::{BreakerPolicy, ErrorPolicy, Strategy};
use crate::errors::{Category, Disposition, RecordError};
use crate::model::Stage;
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
        self.halted.load(Ordering::Relaxed)
    }

    /// The decision that stopped the run, if one did.
    pub fn halt(&self) -> Option<Halt> {
        self.lock().halt.clone()
    }

    /// Wait `duration`, or less if the run is stopped meanwhile; true if the
    /// whole wait passed.
    pub fn sleep(&self, duration: Duration) -> bool {
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
