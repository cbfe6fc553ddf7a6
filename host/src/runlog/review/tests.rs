use serde_json::json;

use super::fixture::{Row, audit_rows, dlq_log, insert};
use super::*;
use crate::runlog::{DlqFilter, StatusFilter};

fn ids(log: &RunLog, filter: &DlqFilter) -> Vec<i64> {
    log.dlq_entries(filter)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

#[test]
fn filters_select_entries() {
    let (_dir, log) = dlq_log();
    // Open, not in review, by default.
    assert_eq!(ids(&log, &DlqFilter::default()), vec![1, 2, 3, 6]);
    let f = |f: DlqFilter| ids(&log, &f);
    assert_eq!(
        f(DlqFilter {
            pipeline: Some("crm".into()),
            stage: Some("execute".into()),
            ..DlqFilter::default()
        }),
        vec![2, 3]
    );
    assert_eq!(
        f(DlqFilter {
            category: Some("validation".into()),
            ..DlqFilter::default()
        }),
        vec![1, 6]
    );
    assert_eq!(
        f(DlqFilter {
            field: Some("email".into()),
            status: StatusFilter::Any,
            ..DlqFilter::default()
        }),
        vec![1, 5]
    );
    assert_eq!(
        f(DlqFilter {
            run_id: Some(2),
            include_review: true,
            ..DlqFilter::default()
        }),
        vec![2, 3, 4, 8]
    );
    assert_eq!(
        f(DlqFilter {
            disposition: Some(Disposition::Review),
            ..DlqFilter::default()
        }),
        vec![4, 8]
    );
    assert_eq!(
        f(DlqFilter {
            since: Some("2026-11-02T09:31:13.000Z".into()),
            ..DlqFilter::default()
        }),
        vec![3, 6]
    );
    assert_eq!(
        f(DlqFilter {
            created_before: Some("2026-11-02T09:31:13.000Z".into()),
            ..DlqFilter::default()
        }),
        vec![1, 2],
        "entries at least this old"
    );
    assert_eq!(
        f(DlqFilter {
            key_contains: Some("0002".into()),
            ..DlqFilter::default()
        }),
        vec![2]
    );
    assert_eq!(
        f(DlqFilter {
            key_contains: Some("%".into()),
            ..DlqFilter::default()
        }),
        Vec::<i64>::new(),
        "a key search is literal text, not a pattern"
    );
    assert_eq!(
        f(DlqFilter {
            plugin: Some("email-check".into()),
            pipeline: Some("crm".into()),
            ..DlqFilter::default()
        }),
        vec![1, 2, 3]
    );
    assert_eq!(
        f(DlqFilter {
            plugin: Some("phone".into()),
            ..DlqFilter::default()
        }),
        Vec::<i64>::new()
    );
    assert_eq!(
        f(DlqFilter {
            ids: vec![1, 4, 7],
            ..DlqFilter::default()
        }),
        vec![1],
        "ids do not override the other filters"
    );
}

#[test]
fn assignments_are_json() {
    assert_eq!(
        parse_assignment(r#"email="ana@example.com""#).unwrap(),
        ("email".to_owned(), json!("ana@example.com"))
    );
    assert_eq!(
        parse_assignment("address.zip=69001").unwrap(),
        ("address.zip".to_owned(), json!(69001))
    );
    assert_eq!(
        parse_assignment("note=a=b").unwrap_err().to_string(),
        "cannot read `note=a=b` as FIELD=JSONVALUE: `a=b` is not JSON; quote strings, e.g. --set 'note=\"a=b\"'"
    );
    assert!(matches!(
        parse_assignment("email"),
        Err(ReviewError::InvalidAssignment { .. })
    ));
    assert!(matches!(
        parse_assignment("=1"),
        Err(ReviewError::InvalidAssignment { .. })
    ));
    assert!(matches!(
        parse_assignment("a..b=1"),
        Err(ReviewError::InvalidAssignment { .. })
    ));
}

#[test]
fn an_edit_adds_a_version_and_keeps_the_original() {
    let (_dir, mut log) = dlq_log();
    let original = log.dlq_entry(4).unwrap().payload;
    let versions = log.payload_versions(4).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        (versions[0].version, versions[0].recorded),
        (1, false),
        "an unedited entry shows its payload as version 1"
    );

    let edited = log
        .edit_review_payload(
            4,
            &PayloadEdit::Set(vec![("country".into(), json!("FR"))]),
            "alice",
            Some("country from the CRM"),
        )
        .unwrap();
    assert_eq!((edited.previous_version, edited.version), (1, 2));
    assert!(
        edited.diff.contains("+  \"country\": \"FR\","),
        "{}",
        edited.diff
    );
    assert!(
        edited
            .diff
            .starts_with("--- dlq 4 payload v1\n+++ dlq 4 payload v2\n")
    );
    assert!(!edited.diff.contains("No newline"), "{}", edited.diff);

    let edited = log
        .edit_review_payload(
            4,
            &PayloadEdit::Replace(json!({"id": "k-0001", "name": "Acme SA", "country": "FR"})),
            "bob",
            None,
        )
        .unwrap();
    assert_eq!(edited.version, 3);

    let entry = log.dlq_entry(4).unwrap();
    assert_eq!(entry.payload_version, 3);
    assert_eq!(
        serde_json::from_str::<Value>(entry.payload.as_deref().unwrap()).unwrap(),
        json!({"id": "k-0001", "name": "Acme SA", "country": "FR"})
    );
    assert_eq!(entry.status, DlqStatus::Open);
    let versions = log.payload_versions(4).unwrap();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v.version, v.actor.as_str(), v.note.as_deref(), v.recorded))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                1,
                "sluice",
                Some("the payload it failed with in run 2"),
                true
            ),
            (2, "alice", Some("country from the CRM"), true),
            (3, "bob", None, true),
        ]
    );
    assert_eq!(
        versions[0].payload, original,
        "the original stays in history"
    );
    assert_eq!(
        versions[0].created_at, "2026-11-02T09:32:00.000Z",
        "version 1 is dated from the failure"
    );

    let audit = audit_rows(&log);
    assert_eq!(audit.len(), 2);
    let (actor, pipeline, action, subject, before, after, diff) = &audit[0];
    assert_eq!(
        (
            actor.as_str(),
            pipeline.as_deref(),
            action.as_str(),
            subject.as_deref()
        ),
        ("alice", Some("crm"), "review-edited", Some("4"))
    );
    assert_eq!(
        before.as_deref(),
        Some("{\n  \"id\": \"k-0001\",\n  \"name\": \"Acme\"\n}")
    );
    assert!(after.as_deref().unwrap().contains("\"country\": \"FR\""));
    assert!(diff.as_deref().unwrap().contains("+  \"country\": \"FR\","));
}

#[test]
fn a_payload_edited_then_failed_again_is_kept_before_the_next_edit() {
    let (_dir, mut log) = dlq_log();
    log.edit_review_payload(
        4,
        &PayloadEdit::Set(vec![("country".into(), json!("FR"))]),
        "alice",
        None,
    )
    .unwrap();
    // A replay failed again with a payload of its own (the writer
    // replaces the payload and keeps the version number).
    log.conn
            .execute(
                r#"UPDATE dlq SET payload = '{"id":"k-0001","country":"FR","name":"ACME"}' WHERE id = 4"#,
                [],
            )
            .unwrap();
    let edited = log
        .edit_review_payload(
            4,
            &PayloadEdit::Set(vec![("name".into(), json!("Acme"))]),
            "alice",
            None,
        )
        .unwrap();
    assert_eq!((edited.previous_version, edited.version), (2, 4));
    let versions = log.payload_versions(4).unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(versions[2].actor, "sluice");
    assert!(versions[2].payload.as_deref().unwrap().contains("ACME"));
}

#[test]
fn edits_are_validated_and_change_nothing_when_refused() {
    let (_dir, mut log) = dlq_log();
    let refused = |log: &mut RunLog, id: i64, edit: PayloadEdit| {
        log.edit_review_payload(id, &edit, "alice", None)
            .unwrap_err()
    };
    assert_eq!(
        refused(&mut log, 4, PayloadEdit::Replace(json!([1, 2]))).to_string(),
        "the new payload of DLQ entry 4 must be a JSON object, not an array"
    );
    assert!(matches!(
        refused(&mut log, 4, PayloadEdit::Replace(json!("x"))),
        ReviewError::NotAnObject {
            id: 4,
            found: "a string"
        }
    ));
    assert!(matches!(
        refused(&mut log, 8, PayloadEdit::Set(vec![("a".into(), json!(1))])),
        ReviewError::NoPayload { id: 8 }
    ));
    assert!(matches!(
        refused(&mut log, 1, PayloadEdit::Replace(json!({}))),
        ReviewError::NotInReview { id: 1, .. }
    ));
    assert!(matches!(
        refused(&mut log, 99, PayloadEdit::Replace(json!({}))),
        ReviewError::RunLog(RunLogError::NoSuchDlqEntry(99))
    ));
    assert!(matches!(
        refused(
            &mut log,
            4,
            PayloadEdit::Set(vec![("name".into(), json!("Acme"))])
        ),
        ReviewError::Unchanged { id: 4 }
    ));
    let closed = insert(
        &log,
        &Row {
            key: "k-0009",
            disposition: "review",
            status: "resolved",
            ..Row::default()
        },
    );
    assert!(matches!(
        refused(&mut log, closed, PayloadEdit::Replace(json!({}))),
        ReviewError::NotOpen { .. }
    ));

    // A whole payload replaces a missing one.
    let edited = log
        .edit_review_payload(
            8,
            &PayloadEdit::Replace(json!({"id": "c-0006"})),
            "alice",
            None,
        )
        .unwrap();
    assert_eq!(edited.before, None);
    assert_eq!(edited.version, 2);
    assert_eq!(log.payload_versions(8).unwrap()[0].payload, None);

    assert_eq!(log.dlq_entry(4).unwrap().payload_version, 1);
    assert!(log.payload_versions(4).unwrap().iter().all(|v| !v.recorded));
    assert_eq!(
        audit_rows(&log).len(),
        1,
        "only the accepted edit is audited"
    );
}

#[test]
fn discards_are_audited_and_all_or_nothing() {
    let (_dir, mut log) = dlq_log();
    assert!(matches!(
        log.discard_dlq_entries(&[1], "  ", "alice"),
        Err(ReviewError::NoReason)
    ));
    // Entry 5 is resolved: nothing is discarded.
    assert!(matches!(
        log.discard_dlq_entries(&[1, 5], "bad data", "alice"),
        Err(ReviewError::NotOpen { id: 5, .. })
    ));
    assert_eq!(log.dlq_entry(1).unwrap().status, DlqStatus::Open);
    assert!(audit_rows(&log).is_empty());

    let discarded = log
        .discard_dlq_entries(&[2, 1, 2], "test records", "alice")
        .unwrap();
    assert_eq!(
        discarded.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    for e in &discarded {
        assert_eq!(e.status, DlqStatus::Discarded);
        assert_eq!(
            e.resolution,
            Some(Resolution::Discarded("test records".into()))
        );
        assert!(e.resolved_at.is_some());
    }
    let audit = audit_rows(&log);
    let summary: Vec<_> = audit
        .iter()
        .map(|(actor, _, action, subject, before, after, _)| {
            (
                actor.as_str(),
                action.as_str(),
                subject.as_deref(),
                before.as_deref(),
                after.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "alice",
                "dlq-discarded",
                Some("1"),
                Some("open"),
                Some("discarded: test records")
            ),
            (
                "alice",
                "dlq-discarded",
                Some("2"),
                Some("open"),
                Some("discarded: test records")
            ),
        ]
    );
    assert_eq!(ids(&log, &DlqFilter::default()), vec![3, 6]);

    // Review discards only take entries in review.
    assert!(matches!(
        log.discard_review_entries(&[3], "x", "alice"),
        Err(ReviewError::NotInReview { id: 3, .. })
    ));
    assert_eq!(
        log.discard_review_entries(&[4], "duplicate company", "bob")
            .unwrap()[0]
            .status,
        DlqStatus::Discarded
    );
}

#[test]
fn approvals_are_audited_with_the_payload() {
    let (_dir, mut log) = dlq_log();
    let entry = log.review_entry(4).unwrap();
    assert!(matches!(
        log.review_entry(1),
        Err(ReviewError::NotInReview { id: 1, .. })
    ));
    log.record_review_approvals(&[entry], "alice", Some(2))
        .unwrap();
    let audit = audit_rows(&log);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].2, "review-approved");
    assert_eq!(audit[0].3.as_deref(), Some("4"));
    assert!(audit[0].5.as_deref().unwrap().contains("\"Acme\""));
}
