//! Unit tests through a fake transport: each mode's requests, outcome
//! mapping, whole-request failures, the batch endpoint.

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

fn answer(status: u16, body: &Json) -> Result<Response, HttpError> {
    Ok(Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    })
}

fn target(options: Json, answers: Vec<Result<Response, HttpError>>) -> RestTarget<Fake> {
    let options = TargetOptions::parse(&Options::from_json(&options.to_string()).unwrap()).unwrap();
    RestTarget::new(
        options,
        Fake {
            answers: answers.into(),
            requests: Vec::new(),
        },
    )
}

fn records(bodies: &[Json]) -> Vec<Outgoing> {
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| Outgoing {
            key: format!("r{i}"),
            body: body.to_string(),
        })
        .collect()
}

fn sent(target: &RestTarget<Fake>) -> Vec<String> {
    target
        .transport
        .requests
        .iter()
        .map(|r| {
            let method = match r.method {
                Method::Get => "GET",
                Method::Post => "POST",
                Method::Put => "PUT",
                Method::Patch => "PATCH",
                Method::Delete => "DELETE",
                _ => "OTHER",
            };
            format!("{method} {}", r.url)
        })
        .collect()
}

fn code(outcome: &Outcome) -> (ErrorCategory, String) {
    let error = outcome.as_ref().unwrap_err();
    (error.category, error.code.clone())
}

fn options(mode: &str) -> Json {
    json!({
        "mode": mode,
        "correlation_key": "email",
        "create": {"method": "POST", "path": "/api/items"},
        "update": {"method": "PATCH", "path": "/api/items/{id}"},
        "lookup": {"path": "/api/items", "param": "email", "records": "/data"},
    })
}

#[test]
fn insert_creates_and_maps_duplicates() {
    let mut t = target(
        json!({"mode": "insert", "create": {"method": "POST", "path": "/api/items"}}),
        vec![
            answer(201, &json!({"id": 7, "email": "a@x.io"})),
            answer(
                409,
                &json!({"error": "duplicate", "message": "email taken"}),
            ),
            answer(422, &json!({"message": "Duplicate entry for email"})),
            answer(400, &json!({"message": "name is required"})),
            answer(201, &json!({})),
        ],
    );
    let recs = records(&[
        json!({"email": "a@x.io"}),
        json!({"email": "b@x.io"}),
        json!({"email": "c@x.io"}),
        json!({"email": "d@x.io"}),
        json!({"email": "e@x.io"}),
    ]);
    let out = t.write("items", recs).unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Created(Some("7".into()))));
    assert_eq!(
        code(&out[1]),
        (ErrorCategory::Correlation, "duplicate".into())
    );
    assert_eq!(
        code(&out[2]),
        (ErrorCategory::Correlation, "duplicate".into())
    );
    assert_eq!(
        code(&out[3]),
        (ErrorCategory::Validation, "bad-request".into())
    );
    assert_eq!(out[4], Ok(WriteOutcome::Created(None)));
    let request = &t.transport.requests[0];
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.body.as_deref(), Some(&br#"{"email":"a@x.io"}"#[..]));
}

#[test]
fn update_looks_up_then_patches_and_reports_not_found() {
    let mut t = target(
        options("update"),
        vec![
            answer(200, &json!({"data": [{"id": "3", "email": "a@x.io"}]})),
            answer(200, &json!({"id": "3"})),
            answer(200, &json!({"data": []})),
            answer(200, &json!({"data": [{"id": "9"}]})),
            answer(404, &json!({"message": "no item 9"})),
        ],
    );
    let out = t
        .write(
            "items",
            records(&[
                json!({"email": "a@x.io", "name": "A"}),
                json!({"email": "gone@x.io"}),
                json!({"email": "deleted@x.io"}),
                json!({"name": "no key"}),
            ]),
        )
        .unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Updated(Some("3".into()))));
    assert_eq!(
        code(&out[1]),
        (ErrorCategory::Correlation, "not-found".into())
    );
    assert_eq!(
        code(&out[2]),
        (ErrorCategory::Correlation, "not-found".into())
    );
    assert_eq!(
        code(&out[3]),
        (ErrorCategory::Validation, "missing-key".into())
    );
    assert_eq!(out[3].as_ref().unwrap_err().field.as_deref(), Some("email"));
    assert_eq!(
        sent(&t),
        [
            "GET /api/items?email=a%40x.io",
            "PATCH /api/items/3",
            "GET /api/items?email=gone%40x.io",
            "GET /api/items?email=deleted%40x.io",
            "PATCH /api/items/9",
        ]
    );
}

#[test]
fn update_by_key_needs_no_lookup() {
    let mut t = target(
        json!({"mode": "update", "correlation_key": "sku",
               "update": {"method": "PUT", "path": "/products/{key}"}}),
        vec![answer(204, &json!(null))],
    );
    let out = t.write("p", records(&[json!({"sku": "A/1"})])).unwrap();
    assert_eq!(out, vec![Ok(WriteOutcome::Updated(None))]);
    assert_eq!(sent(&t), ["PUT /products/A%2F1"]);
}

#[test]
fn upsert_updates_found_records_and_creates_the_others() {
    let mut t = target(
        options("upsert"),
        vec![
            answer(200, &json!({"data": [{"id": 3}]})),
            answer(200, &json!({"id": 3})),
            answer(200, &json!({"data": []})),
            answer(201, &json!({"id": 4})),
            answer(200, &json!({"data": [{"id": 5}, {"id": 6}]})),
        ],
    );
    let out = t
        .write(
            "items",
            records(&[
                json!({"email": "a@x.io"}),
                json!({"email": "b@x.io"}),
                json!({"email": "twice@x.io"}),
            ]),
        )
        .unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Updated(Some("3".into()))));
    assert_eq!(out[1], Ok(WriteOutcome::Created(Some("4".into()))));
    assert_eq!(
        code(&out[2]),
        (ErrorCategory::Correlation, "ambiguous".into())
    );
    assert_eq!(
        sent(&t),
        [
            "GET /api/items?email=a%40x.io",
            "PATCH /api/items/3",
            "GET /api/items?email=b%40x.io",
            "POST /api/items",
            "GET /api/items?email=twice%40x.io",
        ]
    );
}

#[test]
fn create_if_missing_leaves_existing_records_unchanged() {
    let mut t = target(
        options("create-if-missing"),
        vec![
            answer(200, &json!({"data": [{"id": 3}]})),
            answer(200, &json!({"data": []})),
            answer(201, &json!({"id": 4})),
            // Created by someone else since the lookup.
            answer(404, &json!({})),
            answer(409, &json!({"message": "duplicate email"})),
        ],
    );
    let out = t
        .write(
            "items",
            records(&[
                json!({"email": "a@x.io"}),
                json!({"email": "b@x.io"}),
                json!({"email": "c@x.io"}),
            ]),
        )
        .unwrap();
    assert_eq!(
        out,
        vec![
            Ok(WriteOutcome::Unchanged),
            Ok(WriteOutcome::Created(Some("4".into()))),
            Ok(WriteOutcome::Unchanged),
        ]
    );
}

#[test]
fn a_lookup_match_without_an_id_is_malformed() {
    let mut t = target(
        options("upsert"),
        vec![answer(200, &json!({"data": [{"email": "a@x.io"}]}))],
    );
    let out = t
        .write("items", records(&[json!({"email": "a@x.io"})]))
        .unwrap();
    assert_eq!(
        code(&out[0]),
        (ErrorCategory::Mapping, "malformed-response".into())
    );
}

#[test]
fn whole_request_failures_fail_the_write_before_anything_is_written() {
    for (status, category) in [
        (401, ErrorCategory::Auth),
        (403, ErrorCategory::Permissions),
        (429, ErrorCategory::Transient),
        (503, ErrorCategory::Transient),
    ] {
        let mut t = target(
            options("insert"),
            vec![answer(400, &json!({})), answer(status, &json!({}))],
        );
        let error = t
            .write(
                "items",
                records(&[json!({"email": "a@x.io"}), json!({"email": "b@x.io"})]),
            )
            .unwrap_err();
        assert_eq!(error.category, category, "{status}");
    }
    // A lookup that cannot connect fails the write too.
    let mut t = target(
        options("upsert"),
        vec![Err(HttpError::Connect("refused".into()))],
    );
    let error = t
        .write("items", records(&[json!({"email": "a@x.io"})]))
        .unwrap_err();
    assert_eq!(error.category, ErrorCategory::Connectivity);
}

#[test]
fn after_a_write_a_whole_failure_is_each_remaining_records_error() {
    let mut t = target(
        options("insert"),
        vec![answer(201, &json!({"id": 1})), answer(429, &json!({}))],
    );
    let out = t
        .write(
            "items",
            records(&[
                json!({"email": "a@x.io"}),
                json!({"email": "b@x.io"}),
                json!({"email": "c@x.io"}),
            ]),
        )
        .unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Created(Some("1".into()))));
    for outcome in &out[1..] {
        let error = outcome.as_ref().unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (ErrorCategory::Transient, "rate-limited", true)
        );
    }
    // The third record was not sent.
    assert_eq!(t.transport.requests.len(), 2);
}

#[test]
fn records_that_are_not_objects_are_refused() {
    let mut t = target(options("insert"), vec![]);
    let out = t
        .write(
            "items",
            vec![Outgoing {
                key: "x".into(),
                body: "[1]".into(),
            }],
        )
        .unwrap();
    assert_eq!(
        code(&out[0]),
        (ErrorCategory::Validation, "not-an-object".into())
    );
}

#[test]
fn batch_answers_are_tied_by_index() {
    let mut t = target(
        json!({"mode": "insert", "batch": {"path": "/api/items/batch", "size": 3}}),
        vec![
            answer(
                200,
                &json!({
                    "results": [{"index": 2, "id": "12"}, {"index": 0, "id": "10"}],
                    "errors": [{"index": 1, "status": 409, "message": "duplicate email"}],
                }),
            ),
            answer(
                200,
                &json!({"results": [{"id": "13"}], "errors": [{"index": 1, "code": "invalid_email", "message": "bad"}]}),
            ),
        ],
    );
    let recs = records(&[
        json!({"email": "a@x.io"}),
        json!({"email": "b@x.io"}),
        json!({"email": "c@x.io"}),
        json!({"email": "d@x.io"}),
        json!({"email": "e@"}),
        json!({"email": "f@x.io"}),
    ]);
    let out = t.write("items", recs).unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Created(Some("10".into()))));
    assert_eq!(
        code(&out[1]),
        (ErrorCategory::Correlation, "duplicate".into())
    );
    assert_eq!(out[2], Ok(WriteOutcome::Created(Some("12".into()))));
    assert_eq!(out[3], Ok(WriteOutcome::Created(Some("13".into()))));
    assert_eq!(
        code(&out[4]),
        (ErrorCategory::Validation, "invalid_email".into())
    );
    assert_eq!(
        code(&out[5]),
        (ErrorCategory::Mapping, "unconfirmed".into())
    );
    let body: Json =
        serde_json::from_slice(t.transport.requests[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(body["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(sent(&t), ["POST /api/items/batch", "POST /api/items/batch"]);
}

#[test]
fn batch_whole_failures_follow_the_same_rule() {
    let options = json!({"mode": "insert", "batch": {"path": "/b", "size": 1}});
    let mut t = target(options.clone(), vec![answer(401, &json!({}))]);
    let error = t.write("items", records(&[json!({"a": 1})])).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Auth);

    let mut t = target(
        options.clone(),
        vec![
            answer(200, &json!({"results": [{"id": 1}]})),
            answer(502, &json!({})),
        ],
    );
    let out = t
        .write(
            "items",
            records(&[json!({"a": 1}), json!({"a": 2}), json!({"a": 3})]),
        )
        .unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Created(Some("1".into()))));
    assert_eq!(
        code(&out[1]),
        (ErrorCategory::Transient, "bad-gateway".into())
    );
    assert_eq!(
        code(&out[2]),
        (ErrorCategory::Transient, "bad-gateway".into())
    );
    assert_eq!(t.transport.requests.len(), 2);

    // A 422 for the whole request is every record's error.
    let mut t = target(options, vec![answer(422, &json!({"message": "no"}))]);
    let out = t.write("items", records(&[json!({"a": 1})])).unwrap();
    assert_eq!(
        code(&out[0]),
        (ErrorCategory::Validation, "unprocessable".into())
    );
}

#[test]
fn inputs_nest_at_their_pointer() {
    assert_eq!(batch::nest("/inputs", json!([1])), json!({"inputs": [1]}));
    assert_eq!(batch::nest("/a/b", json!([])), json!({"a": {"b": []}}));
    assert_eq!(batch::nest("", json!([2])), json!([2]));
}

#[test]
fn a_whole_batch_refusal_is_not_every_records_error() {
    // One duplicate among four: the API refuses the request as a whole
    // with a 409 that names no record; splitting finds the one.
    let mut t = target(
        json!({"mode": "insert", "batch": {"path": "/b", "size": 4}}),
        vec![
            answer(
                409,
                &json!({"message": "Contact already exists. Existing ID: 9"}),
            ),
            answer(
                200,
                &json!({"results": [{"index": 0, "id": "1"}, {"index": 1, "id": "2"}]}),
            ),
            answer(
                409,
                &json!({"message": "Contact already exists. Existing ID: 9"}),
            ),
            answer(200, &json!({"results": [{"index": 0, "id": "3"}]})),
            answer(
                409,
                &json!({"message": "Contact already exists. Existing ID: 9"}),
            ),
        ],
    );
    let out = t
        .write(
            "items",
            records(&[
                json!({"a": 1}),
                json!({"a": 2}),
                json!({"a": 3}),
                json!({"a": 4}),
            ]),
        )
        .unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Created(Some("1".into()))));
    assert_eq!(out[1], Ok(WriteOutcome::Created(Some("2".into()))));
    assert_eq!(out[2], Ok(WriteOutcome::Created(Some("3".into()))));
    assert_eq!(
        code(&out[3]),
        (ErrorCategory::Correlation, "duplicate".into())
    );
    assert_eq!(t.transport.requests.len(), 5);
}

#[test]
fn splitting_a_refused_batch_has_a_ceiling() {
    let answers = (0..100)
        .map(|_| answer(409, &json!({"message": "duplicate"})))
        .collect();
    let mut t = target(
        json!({"mode": "insert", "batch": {"path": "/b", "size": 100}}),
        answers,
    );
    let bodies: Vec<Json> = (0..100).map(|n| json!({"a": n})).collect();
    let out = t.write("items", records(&bodies)).unwrap();
    assert!(t.transport.requests.len() <= 1 + batch::MAX_SPLIT_REQUESTS);
    assert!(
        out.iter()
            .all(|o| o.as_ref().unwrap_err().code == "duplicate")
    );
}

/// The HubSpot recipe of the crate docs, as options.
fn hubspot_batch() -> Json {
    json!({
        "mode": "insert",
        "batch": {"path": "/crm/v3/objects/contacts/batch/create", "size": 100,
                  "trace": "objectWriteTraceId", "index": "/objectWriteTraceId",
                  "error_index": "/context/objectWriteTraceId/0"},
        "body": {"record_at": "/properties", "template": {"associations": []}, "text_values": true},
    })
}

#[test]
fn the_hubspot_recipe_sends_nested_text_properties_and_ties_answers_by_trace_id() {
    let mut t = target(
        hubspot_batch(),
        vec![answer(
            207,
            &json!({
                "status": "COMPLETE",
                "results": [{"id": "12", "objectWriteTraceId": "2", "properties": {}},
                            {"id": "10", "objectWriteTraceId": "0", "properties": {}}],
                "numErrors": 1,
                "errors": [{"status": "error", "category": "VALIDATION_ERROR",
                            "message": "Email address b@ is invalid",
                            "context": {"objectWriteTraceId": ["1"]}, "errors": [], "links": {}}],
            }),
        )],
    );
    let out = t
        .write(
            "contacts",
            records(&[
                json!({"email": "a@x.io", "region": null}),
                json!({"email": "b@", "score": 3}),
                json!({"email": "c@x.io", "vip": true}),
            ]),
        )
        .unwrap();
    assert_eq!(out[0], Ok(WriteOutcome::Created(Some("10".into()))));
    assert_eq!(
        code(&out[1]),
        (ErrorCategory::Validation, "validation-error".into())
    );
    assert_eq!(out[2], Ok(WriteOutcome::Created(Some("12".into()))));
    let body: Json =
        serde_json::from_slice(t.transport.requests[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"inputs": [
            {"associations": [], "objectWriteTraceId": "0", "properties": {"email": "a@x.io", "region": ""}},
            {"associations": [], "objectWriteTraceId": "1", "properties": {"email": "b@", "score": "3"}},
            {"associations": [], "objectWriteTraceId": "2", "properties": {"email": "c@x.io", "vip": "true"}},
        ]})
    );
}

#[test]
fn the_correlation_key_is_a_name_a_dotted_path_or_a_pointer() {
    for key in ["properties.email", "/properties/email"] {
        for record in [
            json!({"properties": {"email": "a@x.io"}}),
            json!({"properties.email": "a@x.io"}),
        ] {
            let mut options = options("create-if-missing");
            options["correlation_key"] = json!(key);
            options["body"] = json!({"nest_dotted": true});
            let mut t = target(options, vec![answer(200, &json!({"data": [{"id": "7"}]}))]);
            let out = t
                .write("items", records(std::slice::from_ref(&record)))
                .unwrap();
            assert_eq!(out[0], Ok(WriteOutcome::Unchanged), "{key} {record}");
            assert_eq!(
                sent(&t),
                ["GET /api/items?email=a%40x.io"],
                "{key} {record}"
            );
        }
    }
}

#[test]
fn a_401_says_whether_the_token_expired_or_was_refused() {
    for (body, header, expected) in [
        (
            json!({"status": "error", "category": "EXPIRED_AUTHENTICATION",
                   "message": "The OAuth token used to make this call expired 2 hour(s) ago."}),
            None,
            "expired-token",
        ),
        (
            json!({"status": "error", "category": "INVALID_AUTHENTICATION",
                   "message": "Authentication credentials not found."}),
            None,
            "invalid-token",
        ),
        (
            json!({}),
            Some("Bearer error=\"invalid_token\", error_description=\"The access token expired\""),
            "expired-token",
        ),
        (json!({}), None, "unauthorized"),
    ] {
        let mut response = Response {
            status: 401,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        };
        if let Some(header) = header {
            response
                .headers
                .push(("www-authenticate".into(), header.into()));
        }
        let mut t = target(options("insert"), vec![Ok(response)]);
        let error = t
            .write("items", records(&[json!({"email": "a@x.io"})]))
            .unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str()),
            (ErrorCategory::Auth, expected),
            "{body}"
        );
    }
}
