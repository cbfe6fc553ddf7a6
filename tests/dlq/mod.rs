//! The dead-letter queue end to end: failed records are kept with what is
//! needed to replay them, and fixing the cause then replaying gets exactly
//! those records through, once.

mod fix_and_replay;
mod workflow;
