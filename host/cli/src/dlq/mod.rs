//! `sluice dlq`: the dead-letter queue — list entries, show one in full,
//! replay them once their cause is fixed, or discard them with a reason.

mod command_line;
mod discard;
mod filter;
mod list;
mod replay;
mod show;

pub(crate) use discard::discarded_text;
pub(crate) use filter::{FilterArgs, check_named};
pub(crate) use list::{entries_table, totals_line};
pub(crate) use replay::print_outcomes;
pub(crate) use show::{ShowArgs, show};

use clap::{Args, Subcommand};

use crate::Exit;
use discard::{DiscardArgs, discard};
use list::{ListArgs, list};
use replay::{ReplayArgs, replay};
use sluice::Sluice;

/// `sluice dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// List dead-letter entries (open ones, not in review, by default).
    List(ListArgs),
    /// One entry in full: error, payloads, plugins, runs, payload versions.
    Show(ShowArgs),
    /// Replay open entries with the current configuration and plugins.
    Replay(ReplayArgs),
    /// Mark entries discarded, with a reason (kept in the run log, audited).
    Discard(DiscardArgs),
}

/// Run a `sluice dlq` command.
pub fn dlq(sluice: &Sluice, args: &DlqArgs) -> anyhow::Result<Exit> {
    match &args.command {
        DlqCommand::List(a) => list(sluice, a),
        DlqCommand::Show(a) => show(sluice, a, false),
        DlqCommand::Replay(a) => replay(sluice, a),
        DlqCommand::Discard(a) => discard(sluice, a),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{Cli, Command};
    use sluice::runlog::review_fixture::dlq_log;

    #[test]
    fn the_command_line_takes_the_filters() {
        let cli = Cli::try_parse_from([
            "sluice",
            "dlq",
            "replay",
            "--pipeline",
            "crm",
            "--stage",
            "execute",
            "--id",
            "2",
            "--id",
            "3",
            "--since",
            "7d",
            "--dry-run",
        ])
        .unwrap();
        let Command::Dlq(DlqArgs {
            command: DlqCommand::Replay(args),
        }) = cli.command
        else {
            panic!("not dlq replay: {cli:?}");
        };
        assert_eq!(args.ids, vec![2, 3]);
        assert!(args.dry_run);
        let (_dir, log) = dlq_log();
        let sel = args.filter.select(&log).unwrap();
        assert_eq!(sel.filter.pipeline.as_deref(), Some("crm"));
        assert_eq!(sel.filter.stage.as_deref(), Some("execute"));
        assert!(
            sel.filter
                .since
                .as_deref()
                .is_some_and(|s| s.ends_with('Z'))
        );
        assert_eq!(
            sel.flags,
            vec!["--pipeline crm", "--stage execute", "--since 7d"]
        );

        for bad in [
            &["sluice", "dlq", "list", "--stage", "load"][..],
            &["sluice", "dlq", "list", "--since", "yesterday"],
            &["sluice", "dlq", "list", "--status", "closed"],
            &["sluice", "dlq", "discard", "--id", "1"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
