//! Records as they travel between stages, and conversions between JSON and
//! the contract's `value` type.

mod body;
mod path;
mod value;

pub(crate) use body::Written;
pub use body::{Body, FieldRef};
pub use path::{get_path, set_path};
pub use value::{from_value, invalid_json, is_blank, to_value, try_from_value};

use std::sync::Arc;

/// A JSON object.
pub type Object = serde_json::Map<String, serde_json::Value>;

/// One record moving through the stages.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's key for people: its key field, or its source position.
    pub key: String,
    /// Where it came from in the source (`contacts.csv:12`).
    pub position: String,
    /// The record now.
    pub body: Body,
    /// The record as the source produced it (JSON text), kept for the error
    /// log and replay.
    pub source_payload: Arc<str>,
}

impl Record {
    /// The current body as JSON text (compact, keys sorted, each once).
    pub fn body_json(&self) -> String {
        self.body.to_json()
    }
}
