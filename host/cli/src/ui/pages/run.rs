//! One run: counts per entity and stage, plugins and digests, grouped
//! errors with their first records, skips, phase captures, and one record
//! followed through the phases.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Serialize;
use sluice::runlog::{
    CaptureRow, CursorMove, DryRunOutcomes, ErrorFilter, ErrorGroup, ErrorGroups, ErrorRow,
    PluginUseRow, RunLogError, RunRow, StageRow, pretty_payload, unified_diff,
};

use super::blocking;
use crate::ui::layout::{count, digest, duration, page, page_with, status, time};
use crate::ui::respond::{error_page, param, query, respond, url_encode};
use crate::ui::state::UiState;

/// Phases whose documents a run may capture.
const PHASES: &[&str] = &["extract", "load", "response", "http"];
/// Records shown under each error group.
const FIRST_RECORDS: usize = 5;
/// Records of a dry run listed one by one.
const DRY_RUN_RECORDS: usize = 100;
/// Longest capture document shown in a page, in bytes.
const MAX_DOCUMENT: usize = 64 * 1024;

#[derive(Serialize)]
struct RunPage {
    run: RunRow,
    stages: Vec<StageRow>,
    plugins: Vec<PluginUseRow>,
    errors: ErrorGroups,
    /// The first records of each group, in the order of `errors.groups`.
    first_records: Vec<Vec<ErrorRow>>,
    skips: Vec<Skip>,
    /// Captured batches per phase.
    captures: Vec<(String, usize)>,
    /// The cursors the run committed, with the ones before it.
    cursors: Vec<CursorMove>,
    /// A dry run: what would have become of its records in the target
    /// (from the target key ledger), the first records one by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run_outcomes: Option<DryRunOutcomes>,
}

#[derive(Serialize)]
struct Skip {
    stage: String,
    reason: String,
    records: i64,
}

/// The first records of `group` (the filter narrows, the comparison is
/// exact: a group without a field is not the group of every field).
fn first_records(
    log: &sluice::runlog::RunLog,
    run_id: i64,
    group: &ErrorGroup,
) -> Result<Vec<ErrorRow>, RunLogError> {
    let rows = log.errors(
        run_id,
        &ErrorFilter {
            category: Some(group.category.clone()),
            code: Some(group.code.clone()),
            field: group.field.clone(),
            plugin: group.plugin.clone(),
            limit: Some(200),
            ..ErrorFilter::default()
        },
    )?;
    Ok(rows
        .into_iter()
        .filter(|e| e.field == group.field && e.plugin == group.plugin)
        .filter(|e| e.stage == group.stage || e.disposition == "held-back")
        .take(FIRST_RECORDS)
        .collect())
}

/// `GET /runs/{id}`.
pub async fn show(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(
            &headers,
            StatusCode::NOT_FOUND,
            "A run is named by its number.",
        );
    };
    let st = state.clone();
    let data = blocking(&headers, move || -> Result<Option<RunPage>, RunLogError> {
        let log = st.log()?;
        let run = match log.run(id) {
            Ok(r) => r,
            Err(RunLogError::NoSuchRun(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let errors = log.error_groups(id, &ErrorFilter::default())?;
        let first = errors
            .groups
            .iter()
            .map(|g| first_records(&log, id, g))
            .collect::<Result<_, _>>()?;
        let mut captures = Vec::new();
        for phase in PHASES {
            let n = log.captures(id, phase)?.len();
            if n > 0 {
                captures.push(((*phase).to_owned(), n));
            }
        }
        Ok(Some(RunPage {
            dry_run_outcomes: if run.dry_run {
                Some(log.dry_run_outcomes(id, DRY_RUN_RECORDS)?)
            } else {
                None
            },
            stages: log.stage_counts(id)?,
            plugins: log.plugin_uses(id)?,
            skips: log
                .skip_reasons(id)?
                .into_iter()
                .map(|(stage, reason, records)| Skip {
                    stage,
                    reason,
                    records,
                })
                .collect(),
            cursors: log.cursor_moves(id)?,
            run,
            errors,
            first_records: first,
            captures,
        }))
    })
    .await;
    let data = match data {
        Ok(Some(d)) => d,
        Ok(None) => {
            return error_page(
                &headers,
                StatusCode::NOT_FOUND,
                &format!("No run #{id} in this run log."),
            );
        }
        Err(r) => return *r,
    };
    let title = format!("Run #{} of {}", data.run.id, data.run.pipeline);
    respond(&headers, &data, || {
        let r = &data.run;
        let body = html! {
            h1 { "Run #" (r.id) " — " (r.pipeline) " " (status(&r.status)) }
            @if let Some(why) = &r.status_reason { p.problem { (why) } }
            dl.facts {
                dt { "Started (UTC)" } dd { (time(&r.started_at)) }
                dt { "Duration" } dd { (duration(r.duration_ms)) }
                dt { "Extracted / loaded / failed / skipped" }
                dd { (count(r.extracted)) " / " (count(r.loaded)) " / " (count(r.failed)) " / " (count(r.skipped)) }
                dt { "Kind" } dd { (r.kind) @if r.kind == "test" { span.muted { " (a test sync: no cursor moved, the dead-letter queue untouched)" } } }
                @if r.kind == "test" {
                    dt { "Test" } dd { (test_description(r)) }
                }
                dt { "Error strategy" } dd { (r.strategy) }
                dt { "Pipeline file" } dd { code { (r.pipeline_path) } " · " a href={ "/pipelines/" (url_encode(&r.pipeline)) "/timeline" } { "timeline" } }
                dt { "Configuration" } dd { (digest(&r.config_hash)) }
            }
            @if let Some(o) = &data.dry_run_outcomes { (dry_run(o, r.id)) }
            h2 { "Stages" }
            (stages_table(&data.stages))
            h2 { "Plugins" }
            (plugins_table(&data.plugins))
            @if !data.cursors.is_empty() {
                h2 { "Cursors" }
                table {
                    thead { tr { th { "Entity" } th { "Before the run" } th { "After" } th.num { "Checkpoints" } } }
                    tbody { @for c in &data.cursors { tr {
                        td { (c.entity) }
                        td { @if let Some(b) = &c.before { code { (b) } } @else { span.muted { "none (read from the start)" } } }
                        td { @if let Some(a) = &c.after { code { (a) } } }
                        td.num { (c.commits) }
                    } } }
                }
            }
            h2 id="errors" { "Errors" }
            (groups(&data.errors, &data.first_records, r.id))
            @if !data.skips.is_empty() {
                h2 { "Skipped records" }
                table {
                    thead { tr { th { "Stage" } th { "Reason" } th.num { "Records" } } }
                    tbody { @for s in &data.skips { tr { td { (s.stage) } td { (s.reason) } td.num { (count(s.records)) } } } }
                }
            }
            h2 { "Captures" }
            @if data.captures.is_empty() {
                p.muted { "This run captured no documents (the pipeline's " code { "[capture]" } " settings)." }
            } @else {
                ul { @for (phase, n) in &data.captures {
                    li { a href={ "/runs/" (r.id) "/captures/" (phase) } { (phase) } " — " (n) " batches" }
                } }
                form.filters method="get" action={ "/runs/" (r.id) "/record" } {
                    label { "Follow one record through the phases: key" input type="text" name="key"; }
                    button type="submit" { "Show" }
                }
            }
        };
        page_with(
            &state,
            &headers,
            &title,
            body,
            (r.status == "running").then_some(5),
        )
    })
}

/// How a test run read its source, in words (with its seed, to draw the
/// same sample again).
fn test_description(r: &RunRow) -> String {
    let seed = r.sample_seed.as_deref().and_then(|s| s.parse().ok());
    let records = r.sample_records.and_then(|n| u64::try_from(n).ok());
    crate::test_sync::describe(records, seed, r.dry_run)
}

/// What a dry run would have done in the target, and its first records.
fn dry_run(o: &DryRunOutcomes, run_id: i64) -> Markup {
    html! {
        h2 id="dry-run" { "Dry run: what would happen in the target" }
        table {
            thead { tr { th.num { "Would create" } th.num { "Would update" } th.num { "Would be unchanged" }
                @if o.not_compared > 0 { th.num { "Not compared" } } th.num { "Rejected" } } }
            tbody { tr {
                td.num { (count(o.would_create as i64)) } td.num { (count(o.would_update as i64)) }
                td.num { (count(o.would_be_unchanged as i64)) }
                @if o.not_compared > 0 { td.num { (count(o.not_compared as i64)) } }
                td.num { (count(o.rejected as i64)) }
            } }
        }
        p.muted { (crate::test_sync::LEDGER_NOTE) }
        @if !o.records.is_empty() {
            table {
                thead { tr { th { "Entity" } th { "Record" } th { "Outcome" } th { "Target id / error" } } }
                tbody { @for rec in &o.records { tr {
                    td { (rec.entity) }
                    td { @if let Some(k) = &rec.record_key { code { (k) } } }
                    td { (rec.outcome.replace('-', " ")) }
                    td {
                        @if let Some(id) = &rec.target_id { code { (id) } }
                        @if let Some(code) = &rec.code {
                            (code) @if let Some(stage) = &rec.stage { " at " (stage) }
                            @if let Some(m) = &rec.message { ": " (m) }
                        }
                    }
                } } }
            }
            @if o.more > 0 {
                p.muted { "… and " (count(o.more as i64)) " more (" code { "sluice runs show " (run_id) " --json" } " lists up to 1,000)." }
            }
        }
    }
}

fn stages_table(stages: &[StageRow]) -> Markup {
    html! {
        @if stages.is_empty() { p.muted { "No stage counts recorded." } } @else {
            table {
                thead { tr { th { "Entity" } th { "Stage" } th.num { "In" } th.num { "Out" } th.num { "Failed" } th.num { "Skipped" } } }
                tbody { @for s in stages { tr {
                    td { (s.entity) } td { (s.stage) } td.num { (count(s.records_in)) } td.num { (count(s.records_out)) }
                    td.num { (count(s.failed)) } td.num { (count(s.skipped)) }
                } } }
            }
        }
    }
}

fn plugins_table(plugins: &[PluginUseRow]) -> Markup {
    html! {
        @if plugins.is_empty() { p.muted { "No plugin use recorded." } } @else {
            table {
                thead { tr { th { "Role" } th { "Plugin" } th { "Digest" } th { "Kind" } th.num { "Calls" } th.num { "Records" }
                    th.num { "Failures" } th.num { "Time in plugin" } th { "Quarantined" } } }
                tbody { @for p in plugins { tr {
                    td { code { (p.role) } } td { (p.plugin) } td { (digest(&p.digest)) } td { (p.kind) }
                    td.num { (count(p.calls)) } td.num { (count(p.records)) } td.num { (count(p.failures)) }
                    td.num { (duration(Some(p.wall_us / 1000))) }
                    td { @if let Some(q) = &p.quarantined { span.problem { (q) } } }
                } } }
            }
        }
    }
}

fn groups(errors: &ErrorGroups, first: &[Vec<ErrorRow>], run_id: i64) -> Markup {
    html! {
        @if errors.groups.is_empty() && errors.retried.is_empty() {
            p.muted { "No errors." }
        }
        @for (g, rows) in errors.groups.iter().zip(first) {
            div.group {
                strong { (g.category) " · " (g.code) }
                " at " (g.stage)
                @if let Some(f) = &g.field { " · field " code { (f) } }
                @if let Some(p) = &g.plugin { " · plugin " (p) }
                " — " (count(g.count as i64)) " records"
                @if g.held_back > 0 { ", " (count(g.held_back as i64)) " held back" }
                @if g.in_review > 0 { ", " (count(g.in_review as i64)) " in review" }
                @if g.actionable { " " span.status.bad { "needs a person" } }
                p { (g.summary) }
                p.hint { strong { "Fix: " } (g.hint) }
                @if !rows.is_empty() {
                    table {
                        thead { tr { th { "Entity" } th { "Record" } th { "Source position" } th { "Message" } th { "" } } }
                        tbody { @for e in rows { tr {
                            td { (e.entity) }
                            td { @if let Some(k) = &e.record_key { code { (k) } } }
                            td { @if let Some(p) = &e.source_position { code { (p) } } }
                            td { (e.message) }
                            td { @if let Some(k) = &e.record_key {
                                a href={ "/dlq?key=" (url_encode(k)) } { "DLQ" } " · "
                                a href={ "/runs/" (run_id) "/record?key=" (url_encode(k)) } { "phases" }
                            } }
                        } } }
                    }
                }
                a href={ "/dlq?run=" (run_id) "&category=" (url_encode(&g.category)) "&code=" (url_encode(&g.code)) "&stage=" (url_encode(&g.stage)) } { "This group's open DLQ entries" }
            }
        }
        @if !errors.retried.is_empty() {
            h2 { "Retries" }
            table {
                thead { tr { th { "Category" } th { "Code" } th { "Stages" } th.num { "Occurrences" } th.num { "Records" } th { "What it means" } } }
                tbody { @for rg in &errors.retried { tr {
                    td { (rg.category) } td { (rg.code) } td { (rg.stages.join(", ")) }
                    td.num { (count(rg.occurrences as i64)) } td.num { (count(rg.records as i64)) } td { (rg.summary) }
                } } }
            }
        }
    }
}

/// A document as pretty JSON, cut at [`MAX_DOCUMENT`] bytes.
fn document(value: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    if text.len() <= MAX_DOCUMENT {
        return text;
    }
    let mut end = MAX_DOCUMENT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… cut: {} bytes in all", &text[..end], text.len())
}

/// `GET /runs/{id}/captures/{phase}`.
pub async fn captures(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path((id, phase)): Path<(i64, String)>,
) -> Response {
    if !PHASES.contains(&phase.as_str()) {
        return error_page(
            &headers,
            StatusCode::NOT_FOUND,
            &format!("No phase `{phase}`: captures are of {}.", PHASES.join(", ")),
        );
    }
    let st = state.clone();
    let ph = phase.clone();
    let rows: Vec<CaptureRow> = match blocking(&headers, move || st.log()?.captures(id, &ph)).await
    {
        Ok(r) => r,
        Err(r) => return *r,
    };
    respond(&headers, &rows, || {
        let body = html! {
            h1 { a href={ "/runs/" (id) } { "Run #" (id) } " — " (phase) " captures" }
            p.muted { "As stored: secrets were redacted before the documents were written." }
            @if rows.is_empty() { p.muted { "None." } }
            @for c in &rows {
                h2 { (c.entity) ", batch " (c.batch) " " span.muted { (time(&c.created_at)) } }
                pre { (document(&c.document)) }
            }
        };
        page(&state, &headers, &format!("Run #{id} {phase}"), body)
    })
}

#[derive(Serialize)]
struct RecordPage {
    key: String,
    /// The record in each phase that captured it, in phase order.
    phases: Vec<(String, serde_json::Value)>,
    errors: Vec<ErrorRow>,
}

/// `GET /runs/{id}/record?key=K`: one record in each captured phase, the
/// differences between consecutive phases, and its errors in the run.
pub async fn record(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query(raw);
    let Some(key) = param(&q, "key").map(str::to_owned) else {
        return error_page(
            &headers,
            StatusCode::BAD_REQUEST,
            "`key`: name the record (its key).",
        );
    };
    let st = state.clone();
    let k = key.clone();
    let data = blocking(&headers, move || -> Result<RecordPage, RunLogError> {
        let log = st.log()?;
        let mut phases = Vec::new();
        for phase in PHASES {
            if let Some(item) = log.captured_record(id, phase, &k)? {
                phases.push(((*phase).to_owned(), item));
            }
        }
        let errors = log.errors(
            id,
            &ErrorFilter {
                record_key: Some(k.clone()),
                limit: Some(100),
                ..ErrorFilter::default()
            },
        )?;
        Ok(RecordPage {
            key: k,
            phases,
            errors,
        })
    })
    .await;
    let data = match data {
        Ok(d) => d,
        Err(r) => return *r,
    };
    respond(&headers, &data, || {
        let texts: Vec<String> = data
            .phases
            .iter()
            .map(|(_, v)| pretty_payload(&v.to_string()))
            .collect();
        let body = html! {
            h1 { a href={ "/runs/" (id) } { "Run #" (id) } " — record " code { (data.key) } }
            @if data.phases.is_empty() {
                p.muted { "No captured phase holds this record." }
            }
            @for (i, (phase, _)) in data.phases.iter().enumerate() {
                h2 { (phase) }
                @if i == 0 {
                    pre { (texts[0]) }
                } @else {
                    (diff(&unified_diff(&texts[i - 1], &texts[i], &data.phases[i - 1].0, phase)))
                }
            }
            h2 { "Errors of this record in the run" }
            @if data.errors.is_empty() { p.muted { "None." } } @else {
                table {
                    thead { tr { th { "Stage" } th { "Category" } th { "Code" } th { "Field" } th { "Message" } th { "Disposition" } } }
                    tbody { @for e in &data.errors { tr {
                        td { (e.stage) } td { (e.category) } td { (e.code) }
                        td { @if let Some(f) = &e.field { code { (f) } } }
                        td { (e.message) } td { (status(&e.disposition)) }
                    } } }
                }
            }
        };
        page(&state, &headers, &format!("Record {}", data.key), body)
    })
}

/// A unified diff with added and removed lines marked.
pub fn diff(text: &str) -> Markup {
    html! {
        pre.diff { @for line in text.lines() {
            @if line.starts_with('+') && !line.starts_with("+++") { span.add { (line) } "\n" }
            @else if line.starts_with('-') && !line.starts_with("---") { span.del { (line) } "\n" }
            @else { (line) "\n" }
        } }
    }
}
