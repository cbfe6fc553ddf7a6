use std::process::ExitCode;

use sluice::config::ConfigError;
use sluice::run::RunError;
use sluice::run::lock::LockError;
use sluice::stages::finalize::RunStatus;

/// Exit codes of `sluice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command worked; a run succeeded.
    Success,
    /// 1: a run failed or was aborted, or the command could not be carried out.
    Failure,
    /// 2: bad command line or invalid pipeline file.
    Usage,
    /// 3: a run finished `partial`: some records failed.
    Partial,
    /// 4: another run holds the pipeline or one of its targets; nothing ran.
    Busy,
}

impl Exit {
    /// The exit code for a finished run.
    pub fn for_status(status: RunStatus) -> Exit {
        match status {
            RunStatus::Succeeded => Exit::Success,
            RunStatus::Partial => Exit::Partial,
            RunStatus::Failed
            | RunStatus::Aborted
            | RunStatus::Running
            | RunStatus::Interrupted => Exit::Failure,
        }
    }

    /// The exit code for an error.
    pub fn for_error(e: &anyhow::Error) -> Exit {
        if e.chain()
            .any(|c| matches!(c.downcast_ref::<LockError>(), Some(LockError::Busy(_))))
        {
            Exit::Busy
        } else if e.downcast_ref::<ConfigError>().is_some()
            || matches!(e.downcast_ref::<RunError>(), Some(RunError::Setup { .. }))
        {
            Exit::Usage
        } else {
            Exit::Failure
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Partial => 3,
            Exit::Busy => 4,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}
