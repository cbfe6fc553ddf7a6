//! Text that came from plugins or remote systems, made safe to show.

mod escape;

pub use escape::{escape, escape_keeping_newlines, is_unsafe};
