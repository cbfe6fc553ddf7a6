use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Category, PluginId, Stage};

/// Stable error codes the host itself assigns.
pub mod codes {
    /// A required field is missing or empty after its transforms.
    pub const REQUIRED_FIELD_MISSING: &str = "required-field-missing";
    /// A plugin returned a record that is not a JSON object.
    pub const NOT_AN_OBJECT: &str = "not-an-object";
    /// A source returned no progress for too long.
    pub const SOURCE_STALLED: &str = "source-stalled";
    /// The run was stopped from outside (the daemon's second stop signal)
    /// before this record was processed; it is held back, replayable.
    pub const RUN_STOPPED: &str = "run-stopped";
}

/// The categories a normalizer or field transformer may report: what is
/// wrong is the value, the mapping or the plugin's options.
pub const LOCAL_CATEGORIES: [Category; 3] =
    [Category::Validation, Category::Mapping, Category::Config];

/// One failure, recorded against one record (or, with no key, a whole stream).
#[derive(Debug, Clone, Serialize)]
pub struct RecordError {
    /// The stage where the record failed.
    pub stage: Stage,
    /// The entity stream the record belongs to.
    pub entity: String,
    /// The record's key (its key field, or its source position); `None` for
    /// an error that concerns a whole stream.
    pub record_key: Option<String>,
    /// Where the record came from in the source (`contacts.csv:12`).
    pub source_position: Option<String>,
    /// The target field concerned, when there is one.
    pub field: Option<String>,
    /// The plugin that reported or caused the error.
    pub plugin: Option<PluginId>,
    /// What kind of problem this is.
    pub category: Category,
    /// A stable code, such as `invalid-email` or `fuel-exhausted`.
    pub code: String,
    /// A message for a person.
    pub message: String,
    /// Whether trying again later may succeed.
    pub retryable: bool,
    /// The record as it entered the failing stage (JSON), for inspection and replay.
    pub payload: Option<String>,
    /// The record as the source produced it (JSON or raw text).
    pub source_payload: Option<String>,
    /// Attempts made before giving up (1 when the error was not retried).
    pub attempts: u32,
    /// What became of the record.
    pub disposition: Disposition,
}

/// What became of a record that did not load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// It failed and is kept for replay (the dead-letter queue).
    #[default]
    Failed,
    /// It was not processed because the run stopped (circuit breaker or
    /// fail-fast) after another record's error; it is kept for replay.
    HeldBack,
    /// It failed and is parked for a person to inspect (strategy `review`).
    Review,
}

impl Disposition {
    /// The name used in the run log.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Failed => "failed",
            Disposition::HeldBack => "held-back",
            Disposition::Review => "review",
        }
    }

    /// Every disposition.
    pub const ALL: [Disposition; 3] = [
        Disposition::Failed,
        Disposition::HeldBack,
        Disposition::Review,
    ];
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Disposition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                format!("unknown disposition `{s}`; expected failed, held-back or review")
            })
    }
}

impl RecordError {
    /// An error at `stage` for `entity`, with everything else empty.
    pub fn new(
        stage: Stage,
        entity: &str,
        category: Category,
        code: &str,
        message: String,
    ) -> Self {
        RecordError {
            stage,
            entity: entity.to_owned(),
            record_key: None,
            source_position: None,
            field: None,
            plugin: None,
            category,
            code: code.to_owned(),
            message,
            retryable: false,
            payload: None,
            source_payload: None,
            attempts: 1,
            disposition: Disposition::Failed,
        }
    }

    /// Attach the field, unless the plugin already named one.
    pub fn on_field(mut self, field: &str) -> Self {
        if self.field.is_none() {
            self.field = Some(field.to_owned());
        }
        self
    }
}
