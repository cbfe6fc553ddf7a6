use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::run_log::RunLogConfig;
use super::step::PluginStep;
use crate::plugin::LimitsConfig;
use crate::strategy::{EntityErrorsConfig, ErrorsConfig};

/// Records per batch when a pipeline does not say.
pub const DEFAULT_BATCH_SIZE: u32 = 256;

/// A pipeline file: where records come from, where they go, and what
/// happens to them on the way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The pipeline's name, shown in run history.
    pub name: String,
    /// Optional description for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Records per batch (one plugin call per batch). Default 256.
    #[serde(default)]
    pub batch_size: Option<Spanned<u32>>,
    /// Default resource limits for every plugin of this pipeline.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// How failures are handled: strategy, retries, circuit breaker.
    #[serde(default)]
    pub errors: Option<Spanned<ErrorsConfig>>,
    /// What the run log keeps of each batch's documents.
    #[serde(default)]
    pub capture: CaptureConfig,
    /// What the run log keeps: retention and payload bounds.
    #[serde(default, skip_serializing_if = "RunLogConfig::is_default")]
    pub run_log: RunLogConfig,
    /// The source connector.
    pub source: ConnectorConfig,
    /// The target connector.
    pub target: ConnectorConfig,
    /// The entity streams to sync, in order.
    #[serde(rename = "entity")]
    pub entities: Vec<EntityConfig>,
}

impl Pipeline {
    /// The pipeline's `[errors]` settings (defaults when absent).
    pub fn errors(&self) -> ErrorsConfig {
        self.errors
            .as_ref()
            .map(|e| e.get_ref().clone())
            .unwrap_or_default()
    }

    /// Records per batch.
    pub fn batch_size(&self) -> u32 {
        self.batch_size
            .as_ref()
            .map_or(DEFAULT_BATCH_SIZE, |b| *b.get_ref())
    }
}

/// A source or target connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// The connector plugin: a built-in name (`csv-file`), an installed
    /// plugin name, or a path to a `.wasm` file relative to the pipeline file.
    pub plugin: Spanned<String>,
    /// A directory granted to the connector (mounted at `/data` inside its
    /// sandbox), relative to the pipeline file. Sources get it read-only.
    #[serde(default)]
    pub dir: Option<Spanned<String>>,
    /// The connection profile (in `connections.toml` beside the pipeline
    /// file, or `$SLUICE_CONNECTIONS`) the connector's HTTP requests go
    /// through. Without one, every request is denied.
    #[serde(default)]
    pub connection: Option<Spanned<String>>,
    /// Refuse to run unless the connector's sha256 digest is exactly this.
    #[serde(default)]
    pub digest: Option<String>,
    /// Options passed to the connector's `configure`, merged under each
    /// entity's `source_options` / `target_options`.
    #[serde(default)]
    pub options: toml::Table,
    /// Resource limits for this connector.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Interfaces the connector may link although nothing is granted through
    /// them (`wasi:sockets`; `wasi:filesystem` without a `dir`).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Targets with a `dir`: most MiB the target may add to it in one run
    /// (default 1,024). The host checks after every write and commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_quota_mb: Option<u64>,
    /// Targets named by store name alone: where a version promoted during
    /// a run takes over (`entity`, the default, or `batch`). Sources always
    /// switch at the next batch; pinned connectors never switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_swap: Option<Spanned<LiveSwap>>,
}

/// Where a target named by store name switches to a version promoted while
/// a run writes to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiveSwap {
    /// Before the first `begin` of its next entity: the entity being
    /// written ends on the version that began it, since a target's
    /// `begin` … `commit` may be one transaction (a file truncated on
    /// `begin`, a staging table swapped in on `commit`).
    #[default]
    Entity,
    /// At the next batch boundary: the old version commits what it wrote,
    /// then the new one begins the entity. For targets whose `begin` keeps
    /// what earlier instances wrote (HTTP APIs, files appended to).
    Batch,
}

/// One entity stream (contacts, companies...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityConfig {
    /// The entity's name, used in the run log and passed to the connectors.
    pub name: Spanned<String>,
    /// Source field whose value identifies a record in errors (default: the
    /// record's position in the source, such as `contacts.csv:12`).
    #[serde(default)]
    pub key: Option<String>,
    /// Read incrementally: resume from the cursor committed by the last run
    /// instead of from the start. A cursor is committed only once every
    /// record read before it is loaded, dead-lettered or skipped, so a crash
    /// never skips records (targets should then be idempotent by key: a
    /// crash can make a batch be read again). Default false.
    #[serde(default)]
    pub incremental: bool,
    /// Options for the source connector for this entity (`path`...).
    #[serde(default)]
    pub source_options: toml::Table,
    /// Options for the target connector for this entity.
    #[serde(default)]
    pub target_options: toml::Table,
    /// How this entity's failures are handled, over the pipeline's `[errors]`.
    #[serde(default)]
    pub errors: Option<Spanned<EntityErrorsConfig>>,
    /// Normalizers applied to whole records, in order, before field mapping.
    #[serde(default)]
    pub normalize: Vec<Spanned<PluginStep>>,
    /// Field mappings: the target record is built from these alone.
    #[serde(rename = "field")]
    pub fields: Vec<FieldMapping>,
}

/// How one target field is produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The target field. Dots make nested objects (`address.city`).
    pub target: Spanned<String>,
    /// The source field (dots reach into nested objects). Defaults to `target`.
    #[serde(default)]
    pub source: Option<String>,
    /// Field transformers applied in order.
    #[serde(default)]
    pub transform: Vec<Spanned<PluginStep>>,
    /// Value used when the source field is missing, null or empty, before
    /// the transformers run.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// When true, a record whose value is missing or empty after the
    /// transformers fails validation for this field.
    #[serde(default)]
    pub required: bool,
}

impl FieldMapping {
    /// The source path of this mapping.
    pub fn source_path(&self) -> &str {
        self.source.as_deref().unwrap_or(self.target.get_ref())
    }
}

/// `[capture]`: phase captures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// Keep, per batch, the extracted records, the records sent to the
    /// target and the target's answers (secrets and sensitive fields
    /// redacted). Default: on when the source or the target uses a
    /// connection, off otherwise.
    #[serde(default)]
    pub phases: Option<bool>,
}
