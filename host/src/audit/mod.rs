//! What changed between runs: at the start of every run, the pipeline's
//! effective configuration and its plugins' digests are compared with the
//! runs before it, and every difference lands in the run log's audit log
//! (`sluice audit` reads it).
//!
//! The effective configuration is the parsed pipeline written back as
//! pretty TOML, so comments and formatting never show up as changes, and
//! it is kept once per config hash in `pipeline_configs` so later changes
//! can be diffed against it.

use std::collections::HashSet;

use similar::TextDiff;

use crate::config::{LoadedPipeline, Pipeline};
use crate::plugin::short_digest;
use crate::runlog::{AuditEntry, RunLog, RunLogError};

/// Action of the first run of a pipeline name; `after` is its configuration.
pub const PIPELINE_ADDED: &str = "pipeline-added";
/// Action of a run whose configuration differs from the run before; `before`
/// and `after` are the configurations, `diff` a unified diff of them.
pub const CONFIG_CHANGED: &str = "config-changed";
/// Action of a run in which a plugin role has another digest than the last
/// run that had that role (a plugin was rebuilt, upgraded or hot-swapped);
/// `subject` is the role, `before` and `after` the digests.
pub const PLUGIN_CHANGED: &str = "plugin-changed";
/// Action of a run in which an existing pipeline has a plugin role no
/// earlier run had; `subject` is the role, `after` the digest.
pub const PLUGIN_ADDED: &str = "plugin-added";

/// Lines of context around each change in a configuration diff.
const CONTEXT_LINES: usize = 2;

/// Record what changed since the previous runs of `loaded`'s pipeline, at
/// the start of run `run_id` (already started in `log`), on behalf of
/// `actor`; `plugin_digests` are the run's plugins as `(role, digest)`.
///
/// In one transaction this keeps the effective configuration of
/// `loaded.config_hash` in `pipeline_configs` (if it is not kept yet), then
/// records:
/// - [`PIPELINE_ADDED`] when no earlier run of the pipeline exists;
/// - [`CONFIG_CHANGED`] when the most recent earlier run ran another
///   configuration (with a diff when that configuration is kept);
/// - [`PLUGIN_CHANGED`] for each role whose digest differs from the last
///   run that had the role, and [`PLUGIN_ADDED`] for each role no earlier run
///   had — unless no earlier run has plugins on record (a new pipeline, or
///   one whose runs so far all failed before any plugin was used).
///
/// Returns the entries recorded, in that order; none when nothing changed.
pub fn record_run_start(
    log: &RunLog,
    loaded: &LoadedPipeline,
    plugin_digests: &[(String, String)],
    run_id: i64,
    actor: &str,
) -> Result<Vec<AuditEntry>, RunLogError> {
    let name = &loaded.pipeline.name;
    let hash = &loaded.config_hash;
    let config = effective_config(&loaded.pipeline);
    let entry = |action: &str, subject: String| AuditEntry {
        actor: actor.to_owned(),
        pipeline: Some(name.clone()),
        action: action.to_owned(),
        subject: Some(subject),
        run_id: Some(run_id),
        ..AuditEntry::default()
    };
    log.audit_transaction(|tx| {
        tx.store_config(hash, name, &config)?;
        let file = loaded.path.display().to_string();
        let mut entries = Vec::new();
        match tx.prior_run(name, run_id)? {
            None => entries.push(AuditEntry {
                after: Some(config.clone()),
                ..entry(PIPELINE_ADDED, file)
            }),
            Some(prior) => {
                if prior.config_hash != *hash {
                    let before = tx.config_text(&prior.config_hash)?;
                    let diff = before.as_deref().map(|before| {
                        config_diff(
                            before,
                            &config,
                            &format!("{} (run {})", short_digest(&prior.config_hash), prior.id),
                            &format!("{} (run {run_id})", short_digest(hash)),
                        )
                    });
                    entries.push(AuditEntry {
                        before,
                        after: Some(config.clone()),
                        diff,
                        ..entry(CONFIG_CHANGED, file)
                    });
                }
                let known = tx.known_plugin_digests(name, run_id)?;
                // No earlier run got as far as its plugins: nothing to compare.
                let plugins = if known.is_empty() {
                    &[][..]
                } else {
                    plugin_digests
                };
                let mut seen = HashSet::new();
                for (role, digest) in plugins {
                    if !seen.insert(role) {
                        continue;
                    }
                    match known.get(role) {
                        Some(k) if k.digest == *digest => {}
                        Some(k) => entries.push(AuditEntry {
                            before: Some(k.digest.clone()),
                            after: Some(digest.clone()),
                            ..entry(PLUGIN_CHANGED, role.clone())
                        }),
                        None => entries.push(AuditEntry {
                            after: Some(digest.clone()),
                            ..entry(PLUGIN_ADDED, role.clone())
                        }),
                    }
                }
            }
        }
        for e in &entries {
            tx.record(e)?;
        }
        Ok(entries)
    })
}

/// The effective configuration of `pipeline` as people read it: the parsed
/// pipeline written back as pretty TOML, keys sorted, without the empty
/// tables and lists that stand for defaults, and with plugin steps that only
/// name a plugin written as that name (`transform = ["trim", "email"]`).
/// Read back, it means the same configuration. Written as JSON in the
/// unlikely case that TOML cannot express it.
pub fn effective_config(pipeline: &Pipeline) -> String {
    toml::Value::try_from(pipeline)
        .ok()
        .and_then(|mut value| {
            tidy(&mut value, "");
            toml::to_string_pretty(&value).ok()
        })
        .unwrap_or_else(|| {
            let mut json =
                serde_json::to_string_pretty(pipeline).expect("a pipeline serializes to JSON");
            json.push('\n');
            json
        })
}

/// Drop empty tables and lists under `value` (each stands for a default;
/// the required lists `entity` and `field` stay), and write plugin steps of
/// the chain `key` (`normalize`, `transform`) that only name their plugin
/// as the name.
fn tidy(value: &mut toml::Value, key: &str) {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                tidy(v, k);
            }
            table.retain(|k, v| match v {
                toml::Value::Table(t) => !t.is_empty(),
                toml::Value::Array(a) => !a.is_empty() || k == "entity" || k == "field",
                _ => true,
            });
        }
        toml::Value::Array(items) => {
            let chain = matches!(key, "normalize" | "transform");
            for item in items.iter_mut() {
                tidy(item, "");
                if chain
                    && let toml::Value::Table(step) = item
                    && step.len() == 1
                    && let Some(toml::Value::String(name)) = step.get("plugin")
                {
                    *item = toml::Value::String(name.clone());
                }
            }
        }
        _ => {}
    }
}

/// A unified diff of two configurations, with two lines of context and the
/// labels `old` and `new` in its header.
pub fn config_diff(before: &str, after: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(old, new)
        .to_string()
}

/// Lines a unified diff adds and removes: `(added, removed)`.
pub fn diff_line_counts(diff: &str) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    let mut in_hunk = false;
    for line in diff.lines() {
        if line.starts_with("@@") {
            in_hunk = true;
        } else if in_hunk && line.starts_with('+') {
            added += 1;
        } else if in_hunk && line.starts_with('-') {
            removed += 1;
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::parse_pipeline;
    use crate::model::{RunStatus, Totals};
    use crate::plugin::{CallStats, PluginId, PluginKind};
    use crate::runlog::{AuditFilter, PluginUse};

    const DIGEST_A: &str =
        "sha256:aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000";
    const DIGEST_B: &str =
        "sha256:bbbbbbbbbbbb0000000000000000000000000000000000000000000000000000";
    const DIGEST_C: &str =
        "sha256:cccccccccccc0000000000000000000000000000000000000000000000000000";

    /// A pipeline file `contacts` in `dir` (with its source directory), whose
    /// `email` field has `transform`.
    fn pipeline(dir: &Path, transform: &str) -> LoadedPipeline {
        named(dir, "contacts", transform)
    }

    fn named(dir: &Path, name: &str, transform: &str) -> LoadedPipeline {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let text = format!(
            r#"# Contacts to JSON Lines.
name = "{name}"
batch_size = 64

[source]
plugin = "csv-file"
dir = "data"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "contacts"
key = "id"
source_options = {{ path = "contacts.csv" }}

[[entity.field]]
target = "id"
required = true

[[entity.field]]
target = "email"
transform = {transform}

[[entity.field]]
target = "name"
transform = ["trim"]
"#
        );
        let path = dir.join("pipeline.toml");
        std::fs::write(&path, &text).unwrap();
        parse_pipeline(text, &path).unwrap()
    }

    fn plugins(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(r, d)| ((*r).to_owned(), (*d).to_owned()))
            .collect()
    }

    struct Fixture {
        dir: tempfile::TempDir,
        log: RunLog,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
            Fixture { dir, log }
        }

        /// Start a run and record its audit entries.
        fn start(
            &self,
            loaded: &LoadedPipeline,
            digests: &[(String, String)],
        ) -> (i64, Vec<AuditEntry>) {
            let run_id = self
                .log
                .start_run(
                    &loaded.pipeline.name,
                    &loaded.path.display().to_string(),
                    &loaded.config_hash,
                )
                .unwrap();
            let entries = record_run_start(&self.log, loaded, digests, run_id, "alice").unwrap();
            (run_id, entries)
        }

        /// End a run that used `digests`.
        fn finish(&mut self, run_id: i64, digests: &[(String, String)]) {
            let uses: Vec<PluginUse> = digests
                .iter()
                .map(|(role, digest)| PluginUse {
                    role: role.clone(),
                    id: PluginId {
                        name: Arc::from("p"),
                        digest: Arc::from(digest.as_str()),
                    },
                    kind: PluginKind::FieldTransformer,
                    origin: "built-in".into(),
                    stats: CallStats::default(),
                })
                .collect();
            self.log
                .finish_run(
                    run_id,
                    RunStatus::Succeeded,
                    None,
                    &Totals::default(),
                    Duration::ZERO,
                    &[],
                    &uses,
                )
                .unwrap();
        }

        /// A full run: start, audit, finish.
        fn run(
            &mut self,
            loaded: &LoadedPipeline,
            digests: &[(String, String)],
        ) -> (i64, Vec<AuditEntry>) {
            let (run_id, entries) = self.start(loaded, digests);
            self.finish(run_id, digests);
            (run_id, entries)
        }

        fn actions(&self) -> Vec<String> {
            self.log
                .audit_entries(&AuditFilter::default())
                .unwrap()
                .into_iter()
                .map(|r| r.action)
                .collect()
        }
    }

    fn actions(entries: &[AuditEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.action.as_str()).collect()
    }

    #[test]
    fn the_first_run_adds_the_pipeline_and_an_unchanged_one_records_nothing() {
        let mut f = Fixture::new();
        let loaded = pipeline(f.dir.path(), r#"["trim"]"#);
        let digests = plugins(&[
            ("source:contacts", DIGEST_A),
            ("transform:contacts.email#1", DIGEST_B),
        ]);

        let (run1, entries) = f.run(&loaded, &digests);
        assert_eq!(actions(&entries), [PIPELINE_ADDED]);
        let added = &entries[0];
        assert_eq!(added.actor, "alice");
        assert_eq!(added.pipeline.as_deref(), Some("contacts"));
        assert_eq!(added.run_id, Some(run1));
        assert_eq!(added.subject, Some(loaded.path.display().to_string()));
        let config = added.after.as_deref().unwrap();
        assert!(config.contains("name = \"contacts\""), "{config}");
        assert!(
            !config.contains("# Contacts"),
            "comments are not configuration: {config}"
        );
        assert_eq!(added.before, None);
        let kept = f
            .log
            .audit_transaction(|tx| tx.config_text(&loaded.config_hash))
            .unwrap();
        assert_eq!(kept.as_deref(), Some(config));

        // Comments and formatting are not changes.
        let reformatted = parse_pipeline(
            format!(
                "# another comment\n{}",
                loaded
                    .text
                    .replace("batch_size = 64", "batch_size   =   64")
            ),
            &loaded.path,
        )
        .unwrap();
        assert_eq!(reformatted.config_hash, loaded.config_hash);
        let (_, entries) = f.run(&reformatted, &digests);
        assert!(entries.is_empty(), "{entries:?}");
        assert_eq!(f.actions(), [PIPELINE_ADDED]);
    }

    #[test]
    fn an_edited_mapping_records_the_config_change_with_a_diff() {
        let mut f = Fixture::new();
        let digests = plugins(&[("source:contacts", DIGEST_A)]);
        let (run1, _) = f.run(&pipeline(f.dir.path(), r#"["trim"]"#), &digests);
        let edited = pipeline(f.dir.path(), r#"["trim", "email"]"#);
        let (run2, entries) = f.run(&edited, &digests);
        assert_eq!(actions(&entries), [CONFIG_CHANGED]);
        let changed = &entries[0];
        assert_eq!(changed.subject, Some(edited.path.display().to_string()));
        assert_eq!(changed.run_id, Some(run2));
        let before = changed.before.as_deref().unwrap();
        let after = changed.after.as_deref().unwrap();
        assert!(before.contains("\"trim\""), "{before}");
        assert!(!before.contains("\"email\"]"), "{before}");
        assert_eq!(after, effective_config(&edited.pipeline));

        let diff = changed.diff.as_deref().unwrap();
        let first_line = diff.lines().next().unwrap();
        assert!(
            first_line.starts_with("--- ") && first_line.ends_with(&format!("(run {run1})")),
            "{diff}"
        );
        assert!(
            diff.lines()
                .nth(1)
                .unwrap()
                .ends_with(&format!("(run {run2})")),
            "{diff}"
        );
        // `["trim"]` becomes a list over four lines.
        let removed: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .collect();
        let added: Vec<&str> = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .collect();
        assert_eq!(removed, [r#"-transform = ["trim"]"#], "{diff}");
        assert_eq!(
            added,
            [
                "+transform = [",
                r#"+    "trim","#,
                r#"+    "email","#,
                "+]"
            ],
            "{diff}"
        );
        assert!(diff.contains("\n target = \"email\"\n"), "{diff}");
        assert_eq!(diff_line_counts(diff), (4, 1));
        // Two lines of context either side, not the whole file.
        assert_eq!(diff.lines().count(), 3 + 2 + 5 + 2, "{diff}");

        // Back to the first configuration: a change again, diffed against the second.
        let (_, entries) = f.run(&pipeline(f.dir.path(), r#"["trim"]"#), &digests);
        assert_eq!(actions(&entries), [CONFIG_CHANGED]);
        assert_eq!(entries[0].before.as_deref(), Some(after));
        assert_eq!(
            f.actions(),
            [CONFIG_CHANGED, CONFIG_CHANGED, PIPELINE_ADDED]
        );
    }

    #[test]
    fn a_plugin_with_a_new_digest_is_a_plugin_change() {
        let mut f = Fixture::new();
        let loaded = pipeline(f.dir.path(), r#"["trim"]"#);
        f.run(
            &loaded,
            &plugins(&[
                ("source:contacts", DIGEST_A),
                ("transform:contacts.name#0", DIGEST_B),
            ]),
        );

        // Hot-swapped: same configuration, another build of a plugin, and a new role.
        let swapped = plugins(&[
            ("source:contacts", DIGEST_A),
            ("transform:contacts.name#0", DIGEST_C),
            ("target:contacts", DIGEST_A),
        ]);
        let (run2, entries) = f.start(&loaded, &swapped);
        assert_eq!(actions(&entries), [PLUGIN_CHANGED, PLUGIN_ADDED]);
        assert_eq!(
            entries[0].subject.as_deref(),
            Some("transform:contacts.name#0")
        );
        assert_eq!(entries[0].before.as_deref(), Some(DIGEST_B));
        assert_eq!(entries[0].after.as_deref(), Some(DIGEST_C));
        assert_eq!(entries[0].run_id, Some(run2));
        assert_eq!(entries[1].subject.as_deref(), Some("target:contacts"));
        assert_eq!(entries[1].before, None);
        assert_eq!(entries[1].after.as_deref(), Some(DIGEST_A));

        // Run 2 died before it ended (no run_plugins rows): the next run
        // still compares with what run 2 started with.
        let (_, entries) = f.run(&loaded, &swapped);
        assert!(entries.is_empty(), "{entries:?}");

        // A role that skipped runs compares with the last run that had it.
        f.run(&loaded, &plugins(&[("source:contacts", DIGEST_A)]));
        let (_, entries) = f.run(
            &loaded,
            &plugins(&[("source:contacts", DIGEST_A), ("target:contacts", DIGEST_B)]),
        );
        assert_eq!(actions(&entries), [PLUGIN_CHANGED]);
        assert_eq!(entries[0].before.as_deref(), Some(DIGEST_A));
    }

    #[test]
    fn plugins_are_compared_once_a_run_has_used_them() {
        let mut f = Fixture::new();
        let loaded = pipeline(f.dir.path(), r#"["trim"]"#);
        let digests = plugins(&[("source:contacts", DIGEST_A)]);
        // The first run failed in setup, before any plugin was used.
        let (run1, entries) = f.start(&loaded, &[]);
        assert_eq!(actions(&entries), [PIPELINE_ADDED]);
        f.finish(run1, &[]);
        let (_, entries) = f.run(&loaded, &digests);
        assert!(entries.is_empty(), "{entries:?}");
        let (_, entries) = f.run(&loaded, &plugins(&[("source:contacts", DIGEST_B)]));
        assert_eq!(actions(&entries), [PLUGIN_CHANGED]);
    }

    #[test]
    fn pipelines_are_audited_apart() {
        let mut f = Fixture::new();
        let one = pipeline(&f.dir.path().join("one"), r#"["trim"]"#);
        let digests = plugins(&[("source:contacts", DIGEST_A)]);
        f.run(&one, &digests);
        let other = named(&f.dir.path().join("two"), "other", r#"["trim"]"#);
        let (_, entries) = f.run(&other, &plugins(&[("source:contacts", DIGEST_B)]));
        assert_eq!(actions(&entries), [PIPELINE_ADDED]);
        let (_, entries) = f.run(&one, &digests);
        assert!(entries.is_empty(), "{entries:?}");
    }

    #[test]
    fn a_config_whose_text_was_not_kept_is_a_change_without_a_diff() {
        let mut f = Fixture::new();
        let old = f
            .log
            .start_run("contacts", "pipeline.toml", "sha256:0123456789abcdef")
            .unwrap();
        f.finish(old, &[]);
        let loaded = pipeline(f.dir.path(), r#"["trim"]"#);
        let (_, entries) = f.run(&loaded, &[]);
        assert_eq!(actions(&entries), [CONFIG_CHANGED]);
        assert_eq!(entries[0].before, None);
        assert_eq!(entries[0].diff, None);
        assert!(entries[0].after.is_some());
    }

    #[test]
    fn diff_counts_ignore_headers() {
        let diff = config_diff("a\n-- b\nc\n", "a\n++ b\nc\nd\n", "old", "new");
        assert!(diff.starts_with("--- old\n+++ new\n@@"), "{diff}");
        assert_eq!(diff_line_counts(&diff), (2, 1));
        assert_eq!(diff_line_counts(""), (0, 0));
    }

    #[test]
    fn the_effective_config_reads_back_as_the_same_configuration() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/contacts/pipeline.toml"
        ));
        let loaded = crate::config::load_pipeline(path).unwrap();
        let config = effective_config(&loaded.pipeline);
        assert!(!config.contains('#'), "no comments: {config}");
        assert!(
            !config.contains("allow = []"),
            "no empty defaults: {config}"
        );
        assert!(!config.contains("limits]"), "no empty tables: {config}");
        assert!(
            config.contains(r#"{ options = { default_region = "US" }, plugin = "phone-e164" }"#),
            "{config}"
        );
        assert!(config.contains("    \"uppercase\",\n"), "{config}");
        let again = parse_pipeline(config, path).unwrap();
        assert_eq!(again.config_hash, loaded.config_hash);
    }
}
