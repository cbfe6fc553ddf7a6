//! Rollbacks reach the daemon's webhooks whichever process made them: the
//! daemon's own runs and API, `sluice plugin rollback` from a shell, or the
//! automatic rollback of a `sluice run` started by hand. The store's
//! history in the run log is the one place they all write, so the daemon
//! reads the rollbacks recorded there since it last looked.

use std::time::Duration;

use sluice::notify::{Event as Notification, Notifier};
use sluice::runlog::RunLog;

/// How often the history is read: one indexed query.
const POLL: Duration = Duration::from_secs(1);

/// Rollbacks announced per look at most (the rest wait for the next one).
const BATCH: u32 = 100;

/// Start watching on a thread of its own, from the latest change recorded
/// now: rollbacks made before the daemon started were announced by the
/// daemon running then, or by nobody.
pub fn spawn(log: RunLog, notifier: Notifier) -> std::io::Result<()> {
    let mut last = log.store_history_last_id().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "Cannot read the plugin store's history.");
        0
    });
    std::thread::Builder::new()
        .name("sluice-rollbacks".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(POLL);
                last = announce(&log, &notifier, last);
            }
        })?;
    Ok(())
}

/// Send every rollback recorded after change `after`; the last change seen.
fn announce(log: &RunLog, notifier: &Notifier, after: i64) -> i64 {
    let rows = match log.store_rollbacks_after(after, BATCH) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "Cannot read the plugin store's history.");
            return after;
        }
    };
    let mut last = after;
    for (name, row) in rows {
        last = row.id;
        let Some(from) = row.previous else { continue };
        let reason = match (row.reason, row.action.as_str()) {
            (Some(r), _) => r,
            (None, "auto-rollback") => "rolled back automatically".to_owned(),
            (None, _) => format!("rolled back by {}", row.actor),
        };
        notifier.send(Notification::PluginRolledBack {
            name,
            from,
            to: row.digest,
            reason,
        });
    }
    last
}
