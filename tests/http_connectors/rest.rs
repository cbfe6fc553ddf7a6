//! The generic `rest` connectors against the simulator's `/api/...`
//! endpoints: reading with each pagination kind, incremental runs, and
//! writing in each mode.

use serde_json::{Value, json};
use sluice_crm_sim::CrmSim;

use super::{cli, connections, error_groups, sim};
use crate::support::{TestEnv, jsonl, stdout};

fn summary(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// `n` items `person{i}@example.com` in the simulator.
fn seed(sim: &CrmSim, n: usize) {
    for i in 0..n {
        sim.add_item(
            json!({"email": format!("person{i}@example.com"), "name": format!("Person {i}")}),
        );
    }
}

/// A pipeline reading `/api/...` with these source options into
/// `out/items.jsonl`.
fn read_pipeline(source_options: &str, incremental: bool) -> String {
    format!(
        r#"name = "items-from-api"
batch_size = 7

[source]
plugin = "rest"
connection = "crm"
options = {source_options}

[target]
plugin = "jsonl-file"
dir = "out"
options = {{ mode = "append" }}

[[entity]]
name = "items"
key = "id"
incremental = {incremental}
target_options = {{ path = "items.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "email"

[[entity.field]]
target = "updatedAt"
"#
    )
}

fn env_with(sim: &CrmSim, pipeline: &str, records: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write("connections.toml", &connections(sim, ""));
    env.write("pipeline.toml", pipeline);
    env.write("in/items.jsonl", records);
    env.write("out/.keep", "");
    env
}

fn out_ids(env: &TestEnv) -> Vec<String> {
    jsonl(&env.read("out/items.jsonl"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn reads_every_item_with_each_pagination_kind() {
    let sim = sim();
    seed(&sim, 23);
    let want: Vec<String> = sim.items().iter().map(|i| i.id.clone()).collect();
    assert_eq!(want.len(), 23);
    for options in [
        r#"{ path = "/api/offset/items", pagination = { kind = "offset", page_size = 5 } }"#,
        r#"{ path = "/api/page/items", records = "/results", pagination = { kind = "page", page_size = 10 } }"#,
        r#"{ path = "/api/cursor/items", records = "/data", query = { limit = 4 }, pagination = { kind = "cursor", next = "/next" } }"#,
        r#"{ path = "/api/link/items", query = { per_page = 6 }, pagination = { kind = "link" } }"#,
        r#"{ path = "/api/items", records = "/data" }"#,
    ] {
        let env = env_with(&sim, &read_pipeline(options, false), "");
        let out = cli(&env, &["run", "pipeline.toml", "--json"]);
        let s = summary(&out);
        assert_eq!(s["status"], "succeeded", "{options}: {s:#}");
        assert_eq!(s["totals"]["extracted"], 23, "{options}: {s:#}");
        assert_eq!(s["totals"]["loaded"], 23, "{options}: {s:#}");
        assert_eq!(out_ids(&env), want, "{options}");
    }
}

#[test]
fn an_incremental_run_reads_only_what_changed() {
    let sim = sim();
    seed(&sim, 12);
    let options = r#"{ path = "/api/offset/items", pagination = { kind = "offset", page_size = 5 }, incremental = { field = "updatedAt", param = "updated_since" } }"#;
    let env = env_with(&sim, &read_pipeline(options, true), "");
    let first = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(first["totals"]["loaded"], 12, "{first:#}");

    // Two items change and one is added after the first run.
    let items = sim.items();
    sim.update_item(&items[3].id, json!({"name": "changed"}));
    sim.update_item(&items[9].id, json!({"name": "changed"}));
    let added = sim.add_item(json!({"email": "new@example.com"}));
    sim.clear_requests();

    let second = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(second["status"], "succeeded", "{second:#}");
    assert_eq!(second["totals"]["extracted"], 3, "{second:#}");
    let ids = out_ids(&env);
    assert_eq!(ids.len(), 15);
    assert_eq!(
        &ids[12..],
        [items[3].id.clone(), items[9].id.clone(), added.id.clone()]
    );
    // The filter was sent, paging from the start.
    let requests: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    assert!(
        requests
            .iter()
            .all(|r| r.path.contains("updated_since=") && r.status == 200),
        "{requests:#?}"
    );
    assert!(requests[0].path.contains("offset=0"), "{requests:#?}");

    // Nothing changed: nothing read.
    let third = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(third["totals"]["extracted"], 0, "{third:#}");
}

/// A pipeline writing `in/items.jsonl` through the `rest` target.
fn write_pipeline(target_options: &str) -> String {
    format!(
        r#"name = "items-to-api"
batch_size = 4

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "rest"
connection = "crm"
options = {target_options}

[[entity]]
name = "items"
key = "email"
source_options = {{ path = "items.jsonl" }}

[[entity.field]]
target = "email"

[[entity.field]]
target = "name"
"#
    )
}

fn lines(records: &[(&str, &str)]) -> String {
    records
        .iter()
        .map(|(email, name)| format!("{}\n", json!({"email": email, "name": name})))
        .collect()
}

const ENDPOINTS: &str = r#"correlation_key = "email", create = { method = "POST", path = "/api/items" }, update = { method = "PATCH", path = "/api/items/{id}" }, lookup = { path = "/api/items", param = "email", records = "/data" }"#;

fn names(sim: &CrmSim) -> Vec<(String, String)> {
    sim.items()
        .iter()
        .map(|i| {
            (
                i.email().unwrap_or("").to_owned(),
                i.fields["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn insert_twice_makes_duplicates_correlation_errors() {
    let sim = sim();
    let data = lines(&[
        ("a@x.io", "A"),
        ("b@x.io", "B"),
        ("c@x.io", "C"),
        ("d@x.io", "D"),
        ("e@x.io", "E"),
    ]);
    for options in [
        r#"{ mode = "insert", create = { method = "POST", path = "/api/items" } }"#,
        r#"{ mode = "insert", batch = { path = "/api/items/batch", size = 2 } }"#,
    ] {
        for item in sim.items() {
            sim.delete_item(&item.id);
        }
        let env = env_with(&sim, &write_pipeline(options), &data);
        let first = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
        assert_eq!(first["status"], "succeeded", "{options}: {first:#}");
        assert_eq!(first["totals"]["loaded"], 5);
        assert_eq!(sim.items().len(), 5);
        let second = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
        assert_eq!(second["totals"]["failed"], 5, "{options}: {second:#}");
        assert_eq!(
            error_groups(&env, &second),
            [("correlation".to_owned(), "duplicate".to_owned(), 5)],
            "{options}"
        );
        assert_eq!(sim.items().len(), 5);
    }
}

#[test]
fn update_of_an_unknown_item_is_not_found() {
    let sim = sim();
    seed(&sim, 3);
    let gone = sim.add_item(json!({"email": "gone@x.io", "name": "Gone"}));
    let env = env_with(
        &sim,
        &write_pipeline(&format!(r#"{{ mode = "update", {ENDPOINTS} }}"#)),
        &lines(&[
            ("person1@example.com", "One"),
            ("gone@x.io", "Back"),
            ("never@x.io", "Never"),
        ]),
    );
    // Deleted before the run: it and `never@x.io` are unknown.
    assert!(sim.delete_item(&gone.id));
    let run = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(run["status"], "partial", "{run:#}");
    assert_eq!(run["totals"]["loaded"], 1);
    assert_eq!(
        error_groups(&env, &run),
        [("correlation".to_owned(), "not-found".to_owned(), 2)]
    );
    assert_eq!(names(&sim)[1], ("person1@example.com".into(), "One".into()));
    assert_eq!(sim.items().len(), 3);
}

#[test]
fn upsert_creates_then_updates_without_duplicates() {
    let sim = sim();
    seed(&sim, 2);
    let options = format!(r#"{{ mode = "upsert", {ENDPOINTS} }}"#);
    let env = env_with(
        &sim,
        &write_pipeline(&options),
        &lines(&[("person0@example.com", "Zero"), ("new@x.io", "New")]),
    );
    let first = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_eq!(
        names(&sim),
        [
            ("person0@example.com".into(), "Zero".into()),
            ("person1@example.com".into(), "Person 1".into()),
            ("new@x.io".into(), "New".into()),
        ]
    );
    env.write(
        "in/items.jsonl",
        &lines(&[("person0@example.com", "Zero!"), ("new@x.io", "New!")]),
    );
    let second = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(second["totals"]["loaded"], 2, "{second:#}");
    assert_eq!(
        names(&sim),
        [
            ("person0@example.com".into(), "Zero!".into()),
            ("person1@example.com".into(), "Person 1".into()),
            ("new@x.io".into(), "New!".into()),
        ]
    );
}

#[test]
fn create_if_missing_leaves_existing_items_unchanged() {
    let sim = sim();
    seed(&sim, 2);
    let options = format!(r#"{{ mode = "create-if-missing", {ENDPOINTS} }}"#);
    let env = env_with(
        &sim,
        &write_pipeline(&options),
        &lines(&[("person0@example.com", "Overwritten?"), ("new@x.io", "New")]),
    );
    let before = sim.items();
    let run = summary(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let after = sim.items();
    assert_eq!(after.len(), 3);
    assert_eq!(after[0], before[0], "the existing item is untouched");
    assert_eq!(after[2].email(), Some("new@x.io"));
    assert!(
        !sim.requests().iter().any(|r| r.method == "PATCH"),
        "nothing is updated"
    );
}
