use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::bindings::ErrorCategory;

/// What kind of problem an error is.
///
/// The category decides what an operator does next (fix credentials, fix a
/// mapping, wait and replay), so every error the host records carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Credentials are missing, wrong or expired.
    Auth,
    /// Valid credentials lacking a scope or role.
    Permissions,
    /// A plan limit or quota of the target was reached.
    PlanQuota,
    /// A value was rejected.
    Validation,
    /// A temporary failure; retrying may succeed.
    Transient,
    /// The remote system could not be reached.
    Connectivity,
    /// A record this one depends on is not synced yet.
    DependencyNotReady,
    /// A duplicate, or the record to update does not exist.
    Correlation,
    /// A transform or plugin failed.
    Mapping,
    /// Configuration is wrong.
    Config,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 10] = [
        Category::Auth,
        Category::Permissions,
        Category::PlanQuota,
        Category::Validation,
        Category::Transient,
        Category::Connectivity,
        Category::DependencyNotReady,
        Category::Correlation,
        Category::Mapping,
        Category::Config,
    ];

    /// The kebab-case name used in the run log and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Auth => "auth",
            Category::Permissions => "permissions",
            Category::PlanQuota => "plan-quota",
            Category::Validation => "validation",
            Category::Transient => "transient",
            Category::Connectivity => "connectivity",
            Category::DependencyNotReady => "dependency-not-ready",
            Category::Correlation => "correlation",
            Category::Mapping => "mapping",
            Category::Config => "config",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Category::ALL.iter().map(|c| c.as_str()).collect();
                format!(
                    "unknown category `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl From<ErrorCategory> for Category {
    fn from(c: ErrorCategory) -> Self {
        match c {
            ErrorCategory::Auth => Category::Auth,
            ErrorCategory::Permissions => Category::Permissions,
            ErrorCategory::PlanQuota => Category::PlanQuota,
            ErrorCategory::Validation => Category::Validation,
            ErrorCategory::Transient => Category::Transient,
            ErrorCategory::Connectivity => Category::Connectivity,
            ErrorCategory::DependencyNotReady => Category::DependencyNotReady,
            ErrorCategory::Correlation => Category::Correlation,
            ErrorCategory::Mapping => Category::Mapping,
            ErrorCategory::Config => Category::Config,
        }
    }
}
