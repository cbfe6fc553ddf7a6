//! The error model shared by every stage: categories and per-record errors.

mod category;
mod record_error;

pub use category::Category;
pub use record_error::{RecordError, codes};
