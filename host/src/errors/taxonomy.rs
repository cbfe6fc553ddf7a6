//! What each error category means for an operator: whether a person must act
//! or the engine recovers by itself, the default retry rule, and where to go
//! to fix it.

use serde::Serialize;

use super::Category;

/// Who resolves errors of a category, and how the engine treats them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CategoryRule {
    /// A person has to change something (credentials, a mapping, the source
    /// data, a plan) before these records can get through.
    pub actionable: bool,
    /// The engine retries these within a run when the strategy allows it.
    pub recoverable: bool,
    /// The run pauses at the first error of this category: every further
    /// record would fail the same way.
    pub pauses_run: bool,
    /// Who fixes it, for people.
    pub who_fixes: &'static str,
    /// What the engine does by default.
    pub default_handling: &'static str,
}

impl Category {
    /// The rule for this category.
    pub fn rule(self) -> CategoryRule {
        let rule =
            |actionable, recoverable, pauses_run, who_fixes, default_handling| CategoryRule {
                actionable,
                recoverable,
                pauses_run,
                who_fixes,
                default_handling,
            };
        match self {
            Category::Auth => rule(
                true,
                false,
                true,
                "the operator, in the connection profile",
                "not retried; the run pauses at once",
            ),
            Category::Permissions => rule(
                true,
                false,
                false,
                "an administrator of the remote system",
                "not retried; records not affected keep syncing",
            ),
            Category::PlanQuota => rule(
                true,
                false,
                false,
                "the owner of the remote account",
                "not retried; the run aborts if it blocks every record",
            ),
            Category::Validation => rule(
                true,
                false,
                false,
                "the operator, in the mapping or the source data",
                "not retried; grouped by field",
            ),
            Category::Transient => rule(
                false,
                true,
                false,
                "nobody: the engine retries",
                "retried with exponential backoff, honouring Retry-After",
            ),
            Category::Connectivity => rule(
                false,
                true,
                false,
                "nobody, unless it persists: then the connection profile",
                "retried with exponential backoff",
            ),
            Category::DependencyNotReady => rule(
                true,
                false,
                false,
                "the operator: sync the dependency first",
                "not retried in the run; replay once the dependency is synced",
            ),
            Category::Correlation => rule(
                true,
                false,
                false,
                "the operator, in the correlation key or write mode",
                "not retried",
            ),
            Category::Mapping => rule(
                true,
                false,
                false,
                "the operator or the plugin's author",
                "not retried; the plugin's instance is replaced",
            ),
            Category::Config => rule(
                true,
                false,
                false,
                "the operator, in the pipeline file",
                "not retried; the run stops before reading records",
            ),
        }
    }

    /// Whether a person must act on errors of this category.
    pub fn is_actionable(self) -> bool {
        self.rule().actionable
    }

    /// Whether the engine retries errors of this category.
    pub fn is_recoverable(self) -> bool {
        self.rule().recoverable
    }

    /// Where an operator ranks this category: lower first. Errors that stop
    /// everything come before errors that concern some records.
    pub fn rank(self) -> u8 {
        match self {
            Category::Auth => 0,
            Category::Config => 1,
            Category::Permissions => 2,
            Category::PlanQuota => 3,
            Category::Mapping => 4,
            Category::Validation => 5,
            Category::Correlation => 6,
            Category::DependencyNotReady => 7,
            Category::Connectivity => 8,
            Category::Transient => 9,
        }
    }
}

/// What an error means and where to fix it, in words for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guidance {
    /// One line saying what went wrong, without counts.
    pub summary: String,
    /// What to change, and where.
    pub hint: String,
}

/// The facts guidance is written from.
#[derive(Debug, Clone, Copy)]
pub struct ErrorFacts<'a> {
    /// The category.
    pub category: Category,
    /// The stable code.
    pub code: &'a str,
    /// The field concerned.
    pub field: Option<&'a str>,
    /// The plugin that reported or caused it.
    pub plugin: Option<&'a str>,
    /// The stage.
    pub stage: &'a str,
}

impl Guidance {
    /// Guidance for an error with these facts.
    pub fn for_error(f: ErrorFacts<'_>) -> Guidance {
        if let Some(g) = plugin_failure(f) {
            return g;
        }
        let field = f.field.map(|x| format!("`{x}`"));
        let plugin = f.plugin.map_or_else(
            || format!("the {} connector", connector_side(f.stage)),
            |p| format!("plugin `{p}`"),
        );
        let (summary, hint) = match f.category {
            Category::Auth => (
                format!("Authentication failed ({})", f.code),
                format!(
                    "Update the credentials in the {} connection profile, test the connection, then re-run.",
                    connector_side(f.stage)
                ),
            ),
            Category::Permissions => (
                format!("Permission denied ({})", f.code),
                "Grant the missing scope or role to the connected account in the remote system; records not affected kept syncing."
                    .to_owned(),
            ),
            Category::PlanQuota => (
                format!("Plan limit or quota reached ({})", f.code),
                "Raise the plan or quota of the remote account (or free capacity there), then replay the failed records."
                    .to_owned(),
            ),
            Category::Validation => match (f.code, &field) {
                ("record-too-large", _) => (
                    format!("Record larger than the source's size limit ({})", f.code),
                    "Fix the record at its file and line (an unclosed quote or a missing line break joins records into one), or raise the source option `max_record_bytes` if records this large are expected; the rest of the file was read."
                        .to_owned(),
                ),
                ("required-field-missing", Some(field)) => (
                    format!("Required field {field} is missing or empty"),
                    format!(
                        "Fix the source data, give field {field} a `default` in the mapping, or make it not `required`."
                    ),
                ),
                (_, Some(field)) => (
                    format!("Invalid value for field {field} ({})", f.code),
                    format!(
                        "Fix the values at the source, or change the mapping of field {field} (its transforms or options)."
                    ),
                ),
                (_, None) => (
                    format!("Record rejected ({})", f.code),
                    "Check the rejected records with --rows; fix the source data or the mapping.".to_owned(),
                ),
            },
            Category::Transient => (
                match f.code {
                    "rate-limited" => "Rate limited by the remote system".to_owned(),
                    code => format!("Temporary failure ({code})"),
                },
                "Nothing to fix if retries succeeded; otherwise replay later, or lower the request rate of the connection."
                    .to_owned(),
            ),
            Category::Connectivity => (
                format!("Remote system unreachable ({})", f.code),
                format!(
                    "Check the remote system's status and the base URL of the {} connection profile; replay once it is reachable.",
                    connector_side(f.stage)
                ),
            ),
            Category::DependencyNotReady => (
                format!("A record this one depends on is not synced yet ({})", f.code),
                "Run the pipeline of the dependency first, then replay these records.".to_owned(),
            ),
            Category::Correlation => (
                match f.code {
                    "duplicate" => "Record already exists in the target".to_owned(),
                    "not-found" => "Record to update does not exist in the target".to_owned(),
                    code => format!("Record could not be matched in the target ({code})"),
                },
                "Check the correlation key and the write mode (upsert or create-if-missing) of the target.".to_owned(),
            ),
            Category::Mapping => (
                format!("{plugin} failed ({})", f.code),
                match &field {
                    Some(field) => format!("Check the transforms and options of field {field}, or fix {plugin}."),
                    None => format!("Check the options of {plugin}, or fix the plugin."),
                },
            ),
            Category::Config => match f.plugin {
                Some(p) if f.code != "digest-mismatch" => (
                    format!("Plugin `{p}` could not be set up ({})", f.code),
                    format!(
                        "Fix the options of `{p}` in the pipeline file (`sluice plugin docs {p}` lists them); `sluice validate` checks them without reading records."
                    ),
                ),
                _ => (
                    format!("Configuration error ({})", f.code),
                    "Fix the pipeline file; `sluice validate` checks it without reading records.".to_owned(),
                ),
            },
        };
        Guidance { summary, hint }
    }
}

/// Guidance for the host's own plugin failure codes (limits, traps...).
/// Errors about a plugin carry its name; the few recorded without one
/// (older run logs) say "the plugin" rather than quote a made-up name.
fn plugin_failure(f: ErrorFacts<'_>) -> Option<Guidance> {
    let named = f.plugin.map(|p| format!("`{p}`"));
    let plugin = named.as_deref().unwrap_or("the plugin");
    let (what, hint) = match f.code {
        "fuel-exhausted" => (
            "ran out of fuel",
            format!(
                "Raise `limits.fuel_per_record` for {plugin} if the work is legitimate, or fix the plugin's loop."
            ),
        ),
        "timeout" => (
            "ran past its time limit",
            format!("Raise `limits.timeout_ms` for {plugin}, or fix the plugin."),
        ),
        "memory-limit" => (
            "hit its memory limit",
            format!("Raise `limits.memory_mb` for {plugin}, or fix the plugin's memory use."),
        ),
        "output-too-large" => (
            "returned too much output",
            format!("Raise `limits.output_bytes_per_record` for {plugin}, or fix the plugin."),
        ),
        "trap" => (
            "crashed (trap)",
            format!(
                "A bug in {plugin}: report it to its author with the records listed by --rows; `sluice plugin test` reproduces it."
            ),
        ),
        "capability-denied" => (
            "needs a capability that is not granted",
            format!(
                "Grant what {plugin} needs (`allow` on its step; `dir` on a connector) only if you trust it, rebuild it without the import, or use another plugin."
            ),
        ),
        "contract-violation" => (
            "broke the plugin contract",
            format!(
                "A bug in {plugin}: rebuild it against the current contract or report it to its author."
            ),
        ),
        "instance-pool-full" => (
            "could not be started: the host's instance pool is full",
            "More plugin instances are live in this process than the pool holds (one per pipeline step): set SLUICE_INSTANCE_POOL higher (default 256; 0 maps memory per instance), or split the pipeline.".to_owned(),
        ),
        "write-quota-exceeded" => (
            "wrote more to its directory than its write quota",
            format!(
                "Raise `write_quota_mb` on [target] if the output is legitimately this large, or find out why {plugin} writes so much."
            ),
        ),
        "plugin-quarantined" => (
            "was quarantined after failing too often",
            format!(
                "Fix the failures of {plugin} listed before this group, then replay these records."
            ),
        ),
        _ => return None,
    };
    let summary = match f.field {
        Some(field) => format!("{} {what} on field `{field}`", capitalized(plugin)),
        None => format!("{} {what}", capitalized(plugin)),
    };
    Some(Guidance { summary, hint })
}

/// "Plugin `x`" for "`x`", "The plugin" for "the plugin".
fn capitalized(plugin: &str) -> String {
    if plugin.starts_with('`') {
        format!("Plugin {plugin}")
    } else {
        "The plugin".to_owned()
    }
}

fn connector_side(stage: &str) -> &'static str {
    match stage {
        "ingest" => "source",
        _ => "target",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(category: Category, code: &'static str) -> ErrorFacts<'static> {
        ErrorFacts {
            category,
            code,
            field: None,
            plugin: None,
            stage: "execute",
        }
    }

    #[test]
    fn only_transient_and_connectivity_are_retried() {
        let recoverable: Vec<_> = Category::ALL
            .into_iter()
            .filter(|c| c.is_recoverable())
            .collect();
        assert_eq!(
            recoverable,
            vec![Category::Transient, Category::Connectivity]
        );
        assert!(recoverable.iter().all(|c| !c.is_actionable()));
        assert!(Category::Auth.rule().pauses_run);
    }

    #[test]
    fn ranks_are_distinct() {
        let mut ranks: Vec<_> = Category::ALL.iter().map(|c| c.rank()).collect();
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), Category::ALL.len());
    }

    #[test]
    fn hints_name_where_to_fix() {
        let g = Guidance::for_error(facts(Category::Auth, "EXPIRED_AUTHENTICATION"));
        assert!(g.hint.contains("target connection profile"), "{g:?}");
        let g = Guidance::for_error(ErrorFacts {
            field: Some("email"),
            ..facts(Category::Validation, "invalid-email")
        });
        assert_eq!(g.summary, "Invalid value for field `email` (invalid-email)");
        assert!(g.hint.contains("mapping of field `email`"));
        let g = Guidance::for_error(ErrorFacts {
            plugin: Some("slugify"),
            field: Some("name"),
            ..facts(Category::Mapping, "fuel-exhausted")
        });
        assert_eq!(
            g.summary,
            "Plugin `slugify` ran out of fuel on field `name`"
        );
        assert!(g.hint.contains("limits.fuel_per_record"));
    }

    #[test]
    fn setup_failures_name_their_plugin() {
        let g = Guidance::for_error(ErrorFacts {
            plugin: Some("slug"),
            ..facts(Category::Config, "capability-denied")
        });
        assert_eq!(
            g.summary,
            "Plugin `slug` needs a capability that is not granted"
        );
        assert!(!g.hint.contains("the plugin"), "{g:?}");
        let g = Guidance::for_error(ErrorFacts {
            plugin: Some("slug"),
            ..facts(Category::Config, "invalid-options")
        });
        assert_eq!(
            g.summary,
            "Plugin `slug` could not be set up (invalid-options)"
        );
        assert!(g.hint.contains("sluice plugin docs slug"), "{g:?}");
        let g = Guidance::for_error(facts(Category::Config, "capability-denied"));
        assert_eq!(
            g.summary,
            "The plugin needs a capability that is not granted"
        );
    }
}
