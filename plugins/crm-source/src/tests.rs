//! Unit tests against recorded CRM responses, through a fake transport.

use std::collections::VecDeque;

use serde_json::json;
use sluice_sdk::http::{HttpError, Method};

use super::*;

/// Answers requests from a queue and keeps what was asked.
#[derive(Debug, Default)]
struct Fake {
    answers: VecDeque<Result<Response, HttpError>>,
    requests: Vec<Request>,
}

impl Transport for Fake {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        self.requests.push(request.clone());
        self.answers
            .pop_front()
            .expect("the test queued an answer for every request")
    }
}

fn json_response(status: u16, body: &Json) -> Response {
    Response {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json;charset=utf-8".into(),
        )],
        body: body.to_string().into_bytes(),
    }
}

fn source(options: &str, answers: Vec<Result<Response, HttpError>>) -> CrmSource<Fake> {
    let options = SourceOptions::parse(&Options::from_json(options).unwrap()).unwrap();
    CrmSource::new(
        options,
        Fake {
            answers: answers.into(),
            requests: Vec::new(),
        },
    )
}

/// A contact as the CRM renders it.
fn contact(id: u32, email: &str, modified: &str) -> Json {
    json!({
        "id": id.to_string(),
        "properties": {
            "email": email,
            "firstname": null,
            "createdate": "2024-05-01T10:00:00.000Z",
            "lastmodifieddate": modified,
            "hs_object_id": id.to_string(),
        },
        "createdAt": "2024-05-01T10:00:00.000Z",
        "updatedAt": modified,
        "archived": false,
    })
}

fn page(results: Vec<Json>, next: Option<&str>) -> Result<Response, HttpError> {
    let mut body = json!({ "results": results });
    if let Some(next) = next {
        body["paging"] = json!({"next": {"after": next, "link": "http://x/next"}});
    }
    Ok(json_response(200, &body))
}

fn body_of(request: &Request) -> Json {
    serde_json::from_slice(request.body.as_deref().unwrap()).unwrap()
}

fn ok_items(batch: &ExtractBatch) -> Vec<(String, Json)> {
    batch
        .items
        .iter()
        .map(|item| {
            let item = item.as_ref().unwrap();
            (item.key.clone(), serde_json::from_str(&item.body).unwrap())
        })
        .collect()
}

#[test]
fn a_full_pass_finds_its_ceiling_then_lists_page_by_page() {
    let mut source = source(
        "{}",
        vec![
            page(
                vec![contact(2, "b@x.io", "2024-05-01T10:00:03.000Z")],
                Some("1"),
            ),
            page(
                vec![
                    contact(1, "a@x.io", "2024-05-01T10:00:01.000Z"),
                    contact(2, "b@x.io", "2024-05-01T10:00:03.000Z"),
                ],
                Some("2"),
            ),
            page(vec![contact(3, "c@x.io", "2024-05-01T10:00:02.000Z")], None),
        ],
    );
    let first = source.read("contacts", None, 2).unwrap();
    assert!(!first.done);
    assert_eq!(
        ok_items(&first),
        vec![
            (
                "1".to_owned(),
                json!({"email": "a@x.io", "firstname": null, "createdate": "2024-05-01T10:00:00.000Z",
                       "lastmodifieddate": "2024-05-01T10:00:01.000Z", "hs_object_id": "1",
                       "id": "1", "updatedAt": "2024-05-01T10:00:01.000Z"})
            ),
            ("2".to_owned(), ok_items(&first)[1].1.clone()),
        ]
    );
    assert_eq!(
        first.cursor.as_deref(),
        Some(
            r#"{"v":1,"after":"2","ceiling":"2024-05-01T10:00:03.000Z","high_water":"2024-05-01T10:00:03.000Z","last_id":"2"}"#
        )
    );

    let second = source.read("contacts", first.cursor, 2).unwrap();
    assert!(second.done);
    assert_eq!(second.items.len(), 1);
    // Nothing was above the ceiling: the mark is the greatest value seen.
    assert_eq!(
        second.cursor.as_deref(),
        Some(r#"{"v":1,"high_water":"2024-05-01T10:00:03.000Z","last_id":"2"}"#)
    );

    let requests = &source.transport.requests;
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].method, Method::Post);
    assert_eq!(requests[0].url, "/crm/v3/objects/contacts/search");
    assert_eq!(
        body_of(&requests[0]),
        json!({"filterGroups": [], "sorts": ["-lastmodifieddate"],
               "properties": ["lastmodifieddate"], "limit": 1, "after": "0"})
    );
    assert_eq!(requests[1].method, Method::Get);
    assert_eq!(requests[1].url, "/crm/v3/objects/contacts?limit=2");
    assert_eq!(requests[1].body, None);
    assert_eq!(requests[2].url, "/crm/v3/objects/contacts?limit=2&after=2");
}

#[test]
fn a_change_during_a_full_pass_caps_the_mark_at_the_ceiling() {
    let mut source = source(
        "{}",
        vec![
            page(vec![contact(2, "b@x.io", "2024-05-01T10:00:02.000Z")], None),
            // Contact 1 was modified after the pass began.
            page(
                vec![
                    contact(1, "a@x.io", "2024-05-01T10:00:09.000Z"),
                    contact(2, "b@x.io", "2024-05-01T10:00:02.000Z"),
                ],
                None,
            ),
        ],
    );
    let batch = source.read("contacts", None, 100).unwrap();
    assert!(batch.done);
    assert_eq!(
        batch.cursor.as_deref(),
        Some(r#"{"v":1,"high_water":"2024-05-01T10:00:02.000Z"}"#)
    );
}

#[test]
fn an_empty_crm_leaves_no_mark() {
    let mut source = source("{}", vec![page(vec![], None), page(vec![], None)]);
    let batch = source.read("contacts", None, 100).unwrap();
    assert!(batch.done);
    assert!(batch.items.is_empty());
    assert_eq!(batch.cursor.as_deref(), Some(r#"{"v":1}"#));
}

#[test]
fn an_incremental_pass_searches_after_the_mark_with_keyset_paging() {
    let mut source = source(
        r#"{"page_size": 2, "properties": ["email"]}"#,
        vec![
            page(
                vec![
                    contact(7, "g@x.io", "2024-05-01T10:00:05.000Z"),
                    contact(4, "d@x.io", "2024-05-01T10:00:06.000Z"),
                ],
                Some("2"),
            ),
            page(vec![contact(9, "i@x.io", "2024-05-01T10:00:06.000Z")], None),
        ],
    );
    let cursor = r#"{"v":1,"high_water":"2024-05-01T10:00:05.000Z","last_id":"3"}"#;
    let first = source.read("contacts", Some(cursor.into()), 50).unwrap();
    assert!(!first.done);
    let keys: Vec<String> = ok_items(&first).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["7", "4"]);
    assert_eq!(
        first.cursor.as_deref(),
        Some(r#"{"v":1,"high_water":"2024-05-01T10:00:06.000Z","last_id":"4"}"#)
    );
    let second = source.read("contacts", first.cursor, 50).unwrap();
    assert!(second.done);
    assert_eq!(
        second.cursor.as_deref(),
        Some(r#"{"v":1,"high_water":"2024-05-01T10:00:06.000Z","last_id":"9"}"#)
    );

    let requests = &source.transport.requests;
    assert_eq!(requests[0].url, "/crm/v3/objects/contacts/search");
    assert_eq!(
        requests[0].headers,
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ]
    );
    assert_eq!(
        body_of(&requests[0]),
        json!({
            "filterGroups": [
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": "1714557605000"}]},
                {"filters": [
                    {"propertyName": "lastmodifieddate", "operator": "EQ", "value": "1714557605000"},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": "3"}
                ]}
            ],
            "sorts": ["lastmodifieddate"],
            "limit": 2,
            "properties": ["email", "lastmodifieddate"],
            "after": "0",
        })
    );
    assert_eq!(
        body_of(&requests[1])["filterGroups"][1]["filters"][1]["value"],
        "4"
    );
}

#[test]
fn a_bare_timestamp_cursor_searches_after_it() {
    let mut source = source("{}", vec![page(vec![], None)]);
    let batch = source
        .read("contacts", Some("2024-05-01T10:00:05Z".into()), 10)
        .unwrap();
    assert!(batch.done);
    assert_eq!(
        batch.cursor.as_deref(),
        Some(r#"{"v":1,"high_water":"2024-05-01T10:00:05Z"}"#)
    );
    let body = body_of(&source.transport.requests[0]);
    assert_eq!(
        body["filterGroups"],
        json!([{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": "1714557605000"}]}])
    );
}

#[test]
fn a_search_page_that_cannot_advance_is_an_error() {
    let mut object = contact(5, "e@x.io", "x");
    object["properties"]["lastmodifieddate"] = json!("soon");
    object["updatedAt"] = json!(null);
    let mut source = source("{}", vec![page(vec![object], Some("1"))]);
    let error = source
        .read("contacts", Some("1714557605000".into()), 10)
        .unwrap_err();
    assert_eq!(error.code, "malformed-response");
    assert!(
        error.message.contains("`lastmodifieddate`"),
        "{}",
        error.message
    );
}

#[test]
fn list_urls_carry_the_options() {
    let mut source = source(
        r#"{"object": "companies", "properties": ["name", "domain"], "page_size": 50}"#,
        vec![page(vec![], None)],
    );
    source
        .read(
            "companies",
            Some(r#"{"v":1,"after":"a b&c","ceiling":"0"}"#.into()),
            1000,
        )
        .unwrap();
    assert_eq!(
        source.transport.requests[0].url,
        "/crm/v3/objects/companies?limit=50&after=a%20b%26c&properties=name,domain,lastmodifieddate"
    );
}

#[test]
fn malformed_objects_are_item_failures() {
    let mut source = source(
        "{}",
        vec![page(
            vec![
                json!({"properties": {"email": "x@y.io"}}),
                json!({"id": 8, "properties": ["not", "an", "object"]}),
                json!({"id": "9", "updatedAt": "2024-05-01T10:00:00.000Z"}),
            ],
            None,
        )],
    );
    let batch = source
        .read(
            "contacts",
            Some(r#"{"v":1,"after":"5","ceiling":"0"}"#.into()),
            10,
        )
        .unwrap();
    let failure = batch.items[0].as_ref().unwrap_err();
    assert_eq!(failure.key, "contacts:after 5:0");
    assert_eq!(failure.error.code, "malformed-record");
    assert_eq!(failure.error.category, ErrorCategory::Validation);
    assert_eq!(failure.raw, r#"{"properties":{"email":"x@y.io"}}"#);
    let failure = batch.items[1].as_ref().unwrap_err();
    assert_eq!(failure.key, "8");
    assert!(
        failure
            .error
            .message
            .contains("`properties` is not an object")
    );
    let ok = batch.items[2].as_ref().unwrap();
    assert_eq!(ok.key, "9");
    assert_eq!(
        serde_json::from_str::<Json>(&ok.body).unwrap(),
        json!({"id": "9", "updatedAt": "2024-05-01T10:00:00.000Z"})
    );
}

#[test]
fn failed_requests_are_classified_from_the_body() {
    let rate_limited = Response {
        status: 429,
        headers: vec![
            ("retry-after".into(), "1".into()),
            ("content-type".into(), "application/json".into()),
        ],
        body: json!({"status": "error", "message": "You have reached your secondly limit.",
                     "errorType": "RATE_LIMIT", "policyName": "SECONDLY", "category": "RATE_LIMITS"})
        .to_string()
        .into_bytes(),
    };
    let bad_gateway = Response {
        status: 502,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body></body></html>"
            .to_vec(),
    };
    let cases: Vec<(Result<Response, HttpError>, ErrorCategory, &str, bool)> = vec![
        (
            Ok(json_response(
                401,
                &json!({"status": "error", "category": "EXPIRED_AUTHENTICATION",
                "message": "The OAuth token used to make this call expired 3 second(s) ago."}),
            )),
            ErrorCategory::Auth,
            "expired-authentication",
            false,
        ),
        (
            Ok(json_response(
                401,
                &json!({"status": "error", "category": "INVALID_AUTHENTICATION",
                "message": "Authentication credentials not found."}),
            )),
            ErrorCategory::Auth,
            "invalid-authentication",
            false,
        ),
        (
            Ok(json_response(
                403,
                &json!({"status": "error", "category": "MISSING_SCOPES",
                "message": "This app hasn't been granted all required scopes to make this call.",
                "errors": [{"message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": ["crm.objects.contacts.read"]}}]}),
            )),
            ErrorCategory::Permissions,
            "missing-scopes",
            false,
        ),
        (
            Ok(rate_limited),
            ErrorCategory::Transient,
            "rate-limited",
            true,
        ),
        (
            Ok(bad_gateway),
            ErrorCategory::Transient,
            "bad-gateway",
            true,
        ),
        (
            Ok(json_response(
                404,
                &json!({"status": "error", "category": "OBJECT_NOT_FOUND",
                "message": "No such endpoint: GET /crm/v3/objects/contacts."}),
            )),
            ErrorCategory::Config,
            "unknown-endpoint",
            false,
        ),
        (
            Ok(json_response(
                400,
                &json!({"status": "error", "category": "VALIDATION_ERROR",
                "message": "Unsupported sort on \"x\"."}),
            )),
            ErrorCategory::Config,
            "invalid-value",
            false,
        ),
        (
            Ok(Response {
                status: 200,
                headers: vec![],
                body: b"<html>".to_vec(),
            }),
            ErrorCategory::Mapping,
            "malformed-response",
            false,
        ),
        (
            Ok(json_response(200, &json!({"results": {}}))),
            ErrorCategory::Mapping,
            "malformed-response",
            false,
        ),
        (
            Err(HttpError::Timeout),
            ErrorCategory::Transient,
            "timeout",
            true,
        ),
        (
            Err(HttpError::Connect("connection refused".into())),
            ErrorCategory::Connectivity,
            "connect-failed",
            true,
        ),
        (
            Err(HttpError::Denied("not on the allow-list".into())),
            ErrorCategory::Config,
            "capability-denied",
            false,
        ),
    ];
    for (answer, category, code, retryable) in cases {
        let mut source = source("{}", vec![answer]);
        let cursor = Some(r#"{"v":1,"after":"1","ceiling":"0"}"#.to_owned());
        let error = source.read("contacts", cursor, 10).unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (category, code, retryable),
            "{}",
            error.message
        );
        assert!(!error.message.contains('\n'), "{}", error.message);
    }
}

#[test]
fn missing_scopes_name_the_scope() {
    let mut source = source(
        "{}",
        vec![Ok(json_response(
            403,
            &json!({"status": "error", "category": "MISSING_SCOPES",
            "message": "This app hasn't been granted all required scopes to make this call.",
            "errors": [{"context": {"requiredGranularScopes": ["crm.objects.contacts.read"]}}]}),
        ))],
    );
    let error = source.read("contacts", None, 10).unwrap_err();
    assert!(
        error
            .message
            .starts_with("the connection lacks the scope crm.objects.contacts.read"),
        "{}",
        error.message
    );
}

#[test]
fn invalid_cursors_are_rejected_before_any_request() {
    let mut source = source("{}", vec![]);
    let error = source
        .read("contacts", Some("jsonl1:0:0".into()), 10)
        .unwrap_err();
    assert_eq!(error.code, "invalid-cursor");
    assert!(source.transport.requests.is_empty());
}

#[test]
fn configure_validates_the_options() {
    assert!(CrmSource::<Fake>::configure(Options::from_json("{}").unwrap()).is_ok());
    let error = CrmSource::<Fake>::configure(Options::from_json(r#"{"page_size": 500}"#).unwrap())
        .unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert_eq!(error.field.as_deref(), Some("page_size"));
}

#[test]
fn a_paging_token_is_sent_back_as_the_crm_gave_it() {
    // HubSpot's tokens come percent-encoded already (its spec's example).
    let mut source = source(
        "{}",
        vec![
            page(vec![contact(1, "a@x.io", "2024-05-01T10:00:01.000Z")], None),
            page(
                vec![contact(1, "a@x.io", "2024-05-01T10:00:01.000Z")],
                Some("NTI1Cg%3D%3D"),
            ),
            page(vec![], None),
        ],
    );
    let first = source.read("contacts", None, 1).unwrap();
    source.read("contacts", first.cursor, 1).unwrap();
    let requests = &source.transport.requests;
    assert_eq!(
        requests[2].url,
        "/crm/v3/objects/contacts?limit=1&after=NTI1Cg%3D%3D"
    );
    // Characters a query cannot hold are still escaped.
    assert_eq!(percent_encode("a b&c%zz%4"), "a%20b%26c%25zz%254");
}
