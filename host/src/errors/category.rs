//! Categories as plugins report them, mapped onto the host's [`Category`].

use crate::bindings::ErrorCategory;
use crate::model::Category;

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
