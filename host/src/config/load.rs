use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::pipeline::Pipeline;
use super::step::ALLOWABLE_INTERFACES;
use crate::model::PluginId;

/// Largest batch a pipeline may ask for.
const MAX_BATCH_SIZE: u32 = 100_000;

/// A pipeline file that could not be used, with the place to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read pipeline file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the pipeline schema, or
    /// a value in it is not acceptable.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line:column`.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A plugin the file names was refused: it needs a capability that is
    /// not granted, breaks the contract, does not match its pinned digest,
    /// or rejected its options.
    #[error("{location}: {message}")]
    PluginRefused {
        /// `file:line:column` of the plugin reference.
        location: Location,
        /// Why, as a stable code (`capability-denied`, `contract-violation`,
        /// `digest-mismatch`, `config-rejected`, or the code of the error
        /// the plugin's `configure` returned...).
        code: String,
        /// The plugin refused (boxed: errors stay small).
        plugin: Option<Box<PluginId>>,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// The stable code recorded in the run log for this error.
    pub fn code(&self) -> &str {
        match self {
            ConfigError::PluginRefused { code, .. } => code,
            _ => "invalid-pipeline",
        }
    }

    /// The plugin this error is about, if it is about one.
    pub fn plugin(&self) -> Option<&PluginId> {
        match self {
            ConfigError::PluginRefused { plugin, .. } => plugin.as_deref(),
            _ => None,
        }
    }
}

/// A place in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// A parsed and validated pipeline with what is needed to report errors
/// against its file.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The file it came from.
    pub path: PathBuf,
    /// The directory relative paths in it are resolved against.
    pub base_dir: PathBuf,
    /// The file's text.
    pub text: String,
    /// `sha256:` digest of the effective configuration (comments and
    /// formatting do not change it).
    pub config_hash: String,
    /// Capture every raw HTTP exchange of this run, whatever the connection
    /// profiles say (`sluice run --capture-http`).
    pub capture_http: bool,
    /// The connections file to use instead of `$SLUICE_CONNECTIONS` or
    /// `connections.toml` beside the pipeline (a project's `connections`).
    pub connections: Option<PathBuf>,
}

impl LoadedPipeline {
    /// The `file:line:column` of a byte span.
    pub fn locate(&self, span: &Range<usize>) -> Location {
        locate(&self.path, &self.text, span.start)
    }

    /// `plugin`, referenced at `span`, refused with `code`.
    pub fn refused_at(
        &self,
        span: &Range<usize>,
        plugin: &PluginId,
        code: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::PluginRefused {
            location: self.locate(span),
            code: code.to_owned(),
            plugin: Some(Box::new(plugin.clone())),
            message: message.into(),
        }
    }

    /// An error at `span`.
    pub fn error_at(&self, span: &Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            location: self.locate(span),
            message: message.into(),
        }
    }

    /// The connections file this pipeline uses: the one set on it (by a
    /// project), `$SLUICE_CONNECTIONS`, or `connections.toml` beside it.
    pub fn connections_path(&self) -> PathBuf {
        self.connections
            .clone()
            .unwrap_or_else(|| crate::connection::Connections::path_for(&self.base_dir))
    }

    /// A path from the pipeline, resolved against the pipeline's directory.
    pub fn resolve_path(&self, relative: &str) -> PathBuf {
        self.base_dir.join(relative)
    }
}

/// Read, parse and validate a pipeline file.
pub fn load_pipeline(path: &Path) -> Result<LoadedPipeline, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_pipeline(text, path)
}

/// Parse and validate pipeline text that came from `path`.
pub fn parse_pipeline(text: String, path: &Path) -> Result<LoadedPipeline, ConfigError> {
    let pipeline: Pipeline = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        location: locate(path, &text, e.span().map_or(0, |s| s.start)),
        message: e.message().trim().to_owned(),
    })?;
    let canonical = serde_json::to_vec(&pipeline).expect("a pipeline serializes to JSON");
    let config_hash = format!("sha256:{}", hex::encode(Sha256::digest(&canonical)));
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_owned();
    let loaded = LoadedPipeline {
        pipeline,
        path: path.to_owned(),
        base_dir,
        text,
        config_hash,
        capture_http: false,
        connections: None,
    };
    validate(&loaded)?;
    Ok(loaded)
}

fn validate(l: &LoadedPipeline) -> Result<(), ConfigError> {
    let p = &l.pipeline;
    if let Some(b) = &p.batch_size
        && !(1..=MAX_BATCH_SIZE).contains(b.get_ref())
    {
        return Err(l.error_at(
            &b.span(),
            format!("batch_size must be between 1 and {MAX_BATCH_SIZE}"),
        ));
    }
    if let Some(errors) = &p.errors {
        errors
            .get_ref()
            .retry
            .validate()
            .map_err(|m| l.error_at(&errors.span(), format!("[errors]: {m}")))?;
    }
    p.run_log
        .check()
        .map_err(|m| l.error_at(&(0..0), format!("[run_log]: {m}")))?;
    if p.entities.is_empty() {
        return Err(l.error_at(
            &(0..0),
            "the pipeline defines no entity; add an [[entity]] table",
        ));
    }
    for (connector, what) in [(&p.source, "source"), (&p.target, "target")] {
        check_plugin_spec(
            l,
            &connector.plugin.span(),
            connector.digest.as_deref(),
            &connector.allow,
        )?;
        if let Some(dir) = &connector.dir {
            let resolved = l.resolve_path(dir.get_ref());
            if what == "source" && !resolved.is_dir() {
                return Err(l.error_at(
                    &dir.span(),
                    format!(
                        "{what} directory `{}` does not exist ({})",
                        dir.get_ref(),
                        resolved.display()
                    ),
                ));
            }
        }
    }
    let mut entity_names = HashSet::new();
    for entity in &p.entities {
        let name = entity.name.get_ref();
        if name.trim().is_empty() {
            return Err(l.error_at(&entity.name.span(), "entity name must not be empty"));
        }
        if let Some(errors) = &entity.errors {
            errors
                .get_ref()
                .retry
                .validate()
                .map_err(|m| l.error_at(&errors.span(), format!("entity `{name}` errors: {m}")))?;
        }
        if !entity_names.insert(name.clone()) {
            return Err(l.error_at(
                &entity.name.span(),
                format!("entity `{name}` is defined twice"),
            ));
        }
        if entity.fields.is_empty() {
            return Err(l.error_at(
                &entity.name.span(),
                format!("entity `{name}` maps no fields; add [[entity.field]] tables"),
            ));
        }
        for step in &entity.normalize {
            let s = step.get_ref();
            check_plugin_spec(l, &step.span(), s.reference().1, &s.allow)?;
        }
        let mut targets = HashSet::new();
        for field in &entity.fields {
            for step in &field.transform {
                let s = step.get_ref();
                check_plugin_spec(l, &step.span(), s.reference().1, &s.allow)?;
            }
            let target = field.target.get_ref();
            if target.is_empty() || target.split('.').any(str::is_empty) {
                return Err(l.error_at(
                    &field.target.span(),
                    format!("`{target}` is not a valid target field name"),
                ));
            }
            if !targets.insert(target.clone()) {
                return Err(l.error_at(
                    &field.target.span(),
                    format!("target field `{target}` of entity `{name}` is mapped twice"),
                ));
            }
            if let Some(default) = &field.default
                && matches!(
                    default,
                    toml::Value::Table(_) | toml::Value::Array(_) | toml::Value::Datetime(_)
                )
            {
                return Err(l.error_at(
                    &field.target.span(),
                    format!("the default of field `{target}` must be a string, number or boolean"),
                ));
            }
        }
    }
    Ok(())
}

/// A pinned digest must be well-formed and `allow` must name known interfaces.
fn check_plugin_spec(
    l: &LoadedPipeline,
    span: &Range<usize>,
    digest: Option<&str>,
    allow: &[String],
) -> Result<(), ConfigError> {
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(l.error_at(
                span,
                format!("`{d}` is not a digest; expected `sha256:` followed by 64 hex digits"),
            ));
        }
    }
    for a in allow {
        if !ALLOWABLE_INTERFACES.contains(&a.as_str()) {
            return Err(l.error_at(
                span,
                format!(
                    "cannot allow `{a}`; `allow` takes {}",
                    ALLOWABLE_INTERFACES.join(" and ")
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn locate(path: &Path, text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    Location {
        path: path.to_owned(),
        line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
[source]
plugin = "jsonl-file"
[target]
plugin = "jsonl-file"
[[entity]]
name = "contacts"
[[entity.field]]
target = "email"
transform = ["trim", { plugin = "truncate", options = { max_length = 3 } }]
"#;

    #[test]
    fn parses_both_step_forms() {
        let l = parse_pipeline(GOOD.into(), Path::new("p.toml")).unwrap();
        let steps = &l.pipeline.entities[0].fields[0].transform;
        assert_eq!(steps[0].get_ref().plugin, "trim");
        assert_eq!(steps[1].get_ref().plugin, "truncate");
        assert_eq!(
            steps[1].get_ref().options["max_length"].as_integer(),
            Some(3)
        );
        assert_eq!(l.locate(&steps[0].span()).line, 11);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let bad = GOOD.replace("target = \"email\"", "target = \"email\"\ntransfrom = []");
        let e = parse_pipeline(bad, Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml:11:1: unknown field `transfrom`"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_target_is_located() {
        let bad = format!("{GOOD}[[entity.field]]\ntarget = \"email\"\n");
        let e = parse_pipeline(bad, Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "p.toml:13:10: target field `email` of entity `contacts` is mapped twice"
        );
    }

    #[test]
    fn config_hash_ignores_comments() {
        let a = parse_pipeline(GOOD.into(), Path::new("p.toml")).unwrap();
        let b = parse_pipeline(format!("# a comment\n{GOOD}"), Path::new("p.toml")).unwrap();
        assert_eq!(a.config_hash, b.config_hash);
    }
}
