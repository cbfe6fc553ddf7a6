use super::fixture::sample_log;
use super::*;

fn summary_of(g: &ErrorGroup) -> (&str, &str, Option<&str>, u64, u64, bool) {
    (
        g.category.as_str(),
        g.code.as_str(),
        g.field.as_deref(),
        g.count,
        g.held_back,
        g.actionable,
    )
}

#[test]
fn groups_come_actionable_first_by_rank_then_size() {
    let (_dir, log, id) = sample_log();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    let got: Vec<_> = grouped.groups.iter().map(summary_of).collect();
    assert_eq!(
        got,
        vec![
            ("auth", "EXPIRED_AUTHENTICATION", None, 1, 816, true),
            ("mapping", "trap", Some("name"), 5, 0, true),
            ("validation", "invalid-email", Some("email"), 40, 0, true),
            ("validation", "invalid-phone", Some("phone"), 12, 0, true),
            ("transient", "bad-gateway", None, 10, 0, false),
        ]
    );
    assert_eq!(grouped.failed_records, 68);
    assert_eq!(grouped.held_back(), 816);
    assert_eq!(grouped.actionable(), 4);
}

#[test]
fn held_back_records_join_the_group_that_stopped_the_run() {
    let (_dir, log, id) = sample_log();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    let auth = &grouped.groups[0];
    // Held back at execute and at transform, filed under the execute error.
    assert_eq!(auth.stage, "execute");
    assert_eq!(auth.entities, vec!["contacts".to_owned()]);
    let example = auth.example.as_ref().unwrap();
    assert_eq!(example.record_key.as_deref(), Some("c-0500"));
    assert_eq!(
        example.message,
        "401 Unauthorized: the access token expired"
    );
    assert!(auth.hint.contains("target connection profile"), "{auth:?}");
}

#[test]
fn summaries_and_hints_come_from_current_guidance() {
    let (_dir, log, id) = sample_log();
    // Make the stored hints stale: the view must not show them.
    log.conn
        .execute("UPDATE record_errors SET hint = 'stale hint'", [])
        .unwrap();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    let email = &grouped.groups[2];
    assert_eq!(
        email.summary,
        "Invalid value for field `email` (invalid-email)"
    );
    assert!(email.hint.contains("mapping of field `email`"));
    let trap = &grouped.groups[1];
    assert_eq!(
        trap.summary,
        "Plugin `hostile` crashed (trap) on field `name`"
    );
    assert_eq!(trap.plugin.as_deref(), Some("hostile"));
    assert!(grouped.groups.iter().all(|g| g.hint != "stale hint"));
    let first_email = email.example.as_ref().unwrap();
    assert_eq!(first_email.record_key.as_deref(), Some("c-0100"));
    assert_eq!(
        first_email.source_position.as_deref(),
        Some("contacts.csv:101")
    );
}

#[test]
fn retries_fold_into_one_line_per_code() {
    let (_dir, log, id) = sample_log();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    let retries: Vec<_> = grouped
        .retried
        .iter()
        .map(|r| {
            (
                r.code.as_str(),
                r.occurrences,
                r.records,
                r.succeeded,
                r.failed,
            )
        })
        .collect();
    assert_eq!(
        retries,
        vec![
            ("rate-limited", 1204, 800, 800, 0),
            ("bad-gateway", 43, 12, 2, 10)
        ]
    );
    assert_eq!(
        grouped.retried[0].summary,
        "Rate limited by the remote system"
    );
    assert_eq!(grouped.retried[0].stages, vec!["execute".to_owned()]);
}

#[test]
fn filters_narrow_groups_and_retries() {
    let (_dir, log, id) = sample_log();
    let by_field = log
        .error_groups(
            id,
            &ErrorFilter {
                field: Some("phone".into()),
                ..ErrorFilter::default()
            },
        )
        .unwrap();
    assert_eq!(by_field.groups.len(), 1);
    assert_eq!(by_field.groups[0].count, 12);
    assert!(by_field.retried.is_empty(), "retries have no field");

    let by_category = log
        .error_groups(
            id,
            &ErrorFilter {
                category: Some("transient".into()),
                ..ErrorFilter::default()
            },
        )
        .unwrap();
    assert_eq!(by_category.groups.len(), 1);
    assert_eq!(by_category.retried.len(), 2);

    let by_stage = log
        .error_groups(
            id,
            &ErrorFilter {
                stage: Some("transform".into()),
                ..ErrorFilter::default()
            },
        )
        .unwrap();
    let codes: Vec<_> = by_stage.groups.iter().map(|g| g.code.as_str()).collect();
    assert_eq!(codes, vec!["trap", "invalid-email", "invalid-phone"]);
    assert!(by_stage.retried.is_empty());

    let other_entity = log
        .error_groups(
            id,
            &ErrorFilter {
                entity: Some("companies".into()),
                ..ErrorFilter::default()
            },
        )
        .unwrap();
    assert!(other_entity.groups.is_empty());
    assert!(other_entity.retried.is_empty());
}

#[test]
fn review_records_are_counted_apart_and_unknown_categories_survive() {
    let (_dir, log, id) = sample_log();
    log.conn
            .execute(
                "UPDATE record_errors SET disposition = 'review' WHERE code = 'invalid-phone' AND record_key < 'c-0204'",
                [],
            )
            .unwrap();
    log.conn
        .execute(
            "UPDATE record_errors SET category = 'from-the-future' WHERE code = 'trap'",
            [],
        )
        .unwrap();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    let phone = grouped
        .groups
        .iter()
        .find(|g| g.code == "invalid-phone")
        .unwrap();
    assert_eq!((phone.count, phone.in_review), (12, 4));
    let future = grouped.groups.iter().find(|g| g.code == "trap").unwrap();
    assert!(future.actionable);
    assert_eq!(future.summary, "from-the-future error (trap)");
    // Unknown categories rank after the known actionable ones.
    assert_eq!(grouped.groups[3].code, "trap");
}

#[test]
fn a_record_in_two_groups_counts_once() {
    let (_dir, log, id) = sample_log();
    // c-0100 also has a bad phone.
    log.conn
        .execute(
            "UPDATE record_errors SET record_key = 'c-0100' WHERE record_key = 'c-0200'",
            [],
        )
        .unwrap();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    let per_group: u64 = grouped.groups.iter().map(|g| g.count).sum();
    assert_eq!((per_group, grouped.failed_records), (68, 67));
}

#[test]
fn a_run_without_errors_has_no_groups() {
    let (_dir, log, _) = sample_log();
    let id = log.start_run("empty", "empty.toml", "sha256:00").unwrap();
    let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
    assert!(grouped.groups.is_empty() && grouped.retried.is_empty());
}
