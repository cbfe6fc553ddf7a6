//! What the plugin store tells the rest of the process: a hook a daemon
//! (webhooks, logs) registers once with [`on_event`], called for every
//! [`StoreEvent`] this process causes.

use std::sync::{Arc, RwLock};

use serde::Serialize;

/// Something that happened in the plugin store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum StoreEvent {
    /// A version was installed.
    Installed {
        /// The name.
        name: String,
        /// Its digest.
        digest: String,
        /// Who installed it.
        actor: String,
    },
    /// A version was made current by an operator.
    Promoted {
        /// The name.
        name: String,
        /// The version now current.
        digest: String,
        /// The version current before.
        previous: Option<String>,
        /// Who.
        actor: String,
    },
    /// The current version was rolled back to the one before it: by an
    /// operator (`automatic: false`), or by a run that saw the newly
    /// promoted version fail too often (`automatic: true`; `from` is then
    /// quarantined).
    RolledBack {
        /// The name.
        name: String,
        /// The version that was current.
        from: String,
        /// The version current again.
        to: String,
        /// Who (`sluice` for an automatic rollback).
        actor: String,
        /// Why.
        reason: Option<String>,
        /// Whether a run did it on its own.
        automatic: bool,
        /// The run that saw the failures, for an automatic rollback.
        run_id: Option<i64>,
    },
    /// A live step of a run switched versions at a batch boundary.
    Swapped {
        /// The run.
        run_id: i64,
        /// The step.
        role: String,
        /// The version it ran before.
        from: String,
        /// The version it runs from now on.
        to: String,
        /// The step's first batch on `to`.
        first_batch: u64,
    },
}

type Hook = Arc<dyn Fn(&StoreEvent) + Send + Sync>;

static HOOKS: RwLock<Vec<Hook>> = RwLock::new(Vec::new());

/// Call `hook` for every store event this process causes from now on.
/// Hooks run on the thread that caused the event (a run's swap watcher,
/// a command): they must return quickly.
pub fn on_event(hook: impl Fn(&StoreEvent) + Send + Sync + 'static) {
    HOOKS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .push(Arc::new(hook));
}

/// Tell every hook (and the log) about `event`.
pub fn emit(event: &StoreEvent) {
    tracing::info!(?event, "Plugin store event.");
    let hooks: Vec<Hook> = HOOKS.read().unwrap_or_else(|p| p.into_inner()).clone();
    for hook in hooks {
        hook(event);
    }
}
