//! The error model shared by every stage: categories and per-record errors.

mod category;
mod record_error;
mod taxonomy;

pub use crate::model::Category;
pub use crate::model::{Disposition, LOCAL_CATEGORIES, RecordError, codes};
pub use taxonomy::{CategoryRule, ErrorFacts, Guidance};
