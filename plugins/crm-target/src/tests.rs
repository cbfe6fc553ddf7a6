//! Unit tests of whole `write` calls against a scripted CRM.

use std::collections::VecDeque;

use serde_json::json;
use sluice_sdk::http::{HttpError, Method};

use super::*;

/// Answers requests like the CRM would.
type Responder = Box<dyn FnMut(&Request) -> Result<Response, HttpError>>;

/// A scripted CRM: answers from a queue, or from a function of the
/// request; keeps every request.
#[derive(Default)]
struct Fake {
    answers: VecDeque<Result<Response, HttpError>>,
    respond: Option<Responder>,
    requests: Vec<Request>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake")
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

impl Transport for Fake {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        self.requests.push(request.clone());
        if let Some(answer) = self.answers.pop_front() {
            return answer;
        }
        let respond = self
            .respond
            .as_mut()
            .expect("the test scripted an answer for every request");
        respond(request)
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

fn target(options: &str) -> CrmTarget<Fake> {
    let options = TargetOptions::parse(&Options::from_json(options).unwrap()).unwrap();
    CrmTarget::new(options, Fake::default())
}

fn queue(target: &mut CrmTarget<Fake>, answers: Vec<Result<Response, HttpError>>) {
    target.transport.answers = answers.into();
}

fn records(bodies: &[Json]) -> Vec<Outgoing> {
    bodies
        .iter()
        .enumerate()
        .map(|(n, body)| Outgoing {
            key: format!("r{n}"),
            body: body.to_string(),
        })
        .collect()
}

fn body_of(request: &Request) -> Json {
    serde_json::from_slice(request.body.as_deref().unwrap()).unwrap()
}

fn inputs_of(request: &Request) -> Vec<Json> {
    body_of(request)["inputs"].as_array().unwrap().clone()
}

/// A contact as the CRM renders a written one.
fn contact(id: usize, email: &str) -> Json {
    json!({"id": id.to_string(),
           "properties": {"email": email, "hs_object_id": id.to_string(),
                          "createdate": "2024-05-01T10:00:00.000Z",
                          "lastmodifieddate": "2024-05-01T10:00:00.000Z"},
           "createdAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2024-05-01T10:00:00.000Z",
           "archived": false})
}

/// Answers a batch upsert like the simulator: every input written, ids
/// from 1000, `new` for even ids.
fn upsert_all(request: &Request) -> Result<Response, HttpError> {
    let results: Vec<Json> = inputs_of(request)
        .iter()
        .map(|input| {
            let email = input["id"].as_str().unwrap().to_lowercase();
            let n: usize = email
                .trim_start_matches('c')
                .split('@')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let mut result = contact(1000 + n, &email);
            result["new"] = json!(n.is_multiple_of(2));
            result
        })
        .collect();
    Ok(json_response(
        200,
        &json!({"status": "COMPLETE", "results": results}),
    ))
}

#[test]
fn upserts_in_requests_of_at_most_100_inputs() {
    let mut target = target("{}");
    target.transport.respond = Some(Box::new(upsert_all));
    let bodies: Vec<Json> = (0..250)
        .map(|n| json!({"id": "ignored", "email": format!("C{n}@x.io"), "firstname": format!("N{n}")}))
        .collect();
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert_eq!(outcomes.len(), 250);
    assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1000".into()))));
    assert_eq!(outcomes[1], Ok(WriteOutcome::Updated(Some("1001".into()))));
    assert_eq!(
        outcomes[249],
        Ok(WriteOutcome::Updated(Some("1249".into())))
    );

    let requests = &target.transport.requests;
    let sizes: Vec<usize> = requests.iter().map(|r| inputs_of(r).len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    for request in requests {
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, "/crm/v3/objects/contacts/batch/upsert");
    }
    assert_eq!(
        inputs_of(&requests[1])[0],
        json!({"idProperty": "email", "id": "C100@x.io", "objectWriteTraceId": "100",
               "properties": {"email": "C100@x.io", "firstname": "N100"}})
    );
}

#[test]
fn batch_size_and_repeated_keys_shape_the_requests() {
    let mut target = target(r#"{"batch_size": 2}"#);
    target.transport.respond = Some(Box::new(upsert_all));
    let bodies = [
        json!({"email": "c1@x.io"}),
        json!({"email": "c2@x.io"}),
        json!({"email": "c3@x.io"}),
        json!({"email": "C3@X.io", "firstname": "later"}),
    ];
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let sizes: Vec<usize> = target
        .transport
        .requests
        .iter()
        .map(|r| inputs_of(r).len())
        .collect();
    assert_eq!(sizes, [2, 1, 1]);
}

#[test]
fn inserts_and_maps_per_record_errors_from_a_207() {
    let mut target =
        target(r#"{"mode": "insert", "properties": ["email", "firstname", "plan_tier"]}"#);
    queue(
        &mut target,
        vec![Ok(json_response(
            207,
            &json!({
                "status": "COMPLETE",
                "results": [contact(1, "ada@x.io"), contact(4, "dee@x.io")],
                "numErrors": 3,
                "errors": [
                    {"status": "error", "category": "VALIDATION_ERROR",
                     "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address bob@ is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]",
                     "context": {"propertyName": ["email"], "objectWriteTraceId": ["1"]},
                     "errors": [{"message": "Email address bob@ is invalid", "code": "INVALID_EMAIL",
                                 "context": {"propertyName": ["email"]}}]},
                    {"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                     "message": "Contact already exists. Existing ID: 9",
                     "context": {"existingId": ["9"], "objectWriteTraceId": ["3"]},
                     "errors": [{"message": "Contact already exists. Existing ID: 9", "code": "CONTACT_EXISTS",
                                 "context": {"propertyName": ["email"]}}]},
                    {"status": "error", "category": "LIMIT_EXCEEDED", "subCategory": "CUSTOM_PROPERTY_LIMIT",
                     "message": "Custom property limit reached: this plan allows 0 custom contact properties and 0 exist; cannot create plan_tier.",
                     "context": {"propertyName": ["plan_tier"], "limit": ["0"], "objectWriteTraceId": ["4"]},
                     "errors": [{"message": "Property \"plan_tier\" cannot be created", "code": "PROPERTY_LIMIT_REACHED",
                                 "context": {"propertyName": ["plan_tier"]}}]}
                ],
            }),
        ))],
    );
    let bodies = [
        json!({"id": "x", "email": "Ada@x.io", "firstname": "Ada", "notes": "dropped"}),
        json!({"email": "bob@"}),
        json!({"firstname": "No email"}),
        json!({"email": "cy@x.io"}),
        json!({"email": "eve@x.io", "plan_tier": "gold"}),
        json!({"email": "dee@x.io"}),
    ];
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1".into()))));
    let summary = |n: usize| {
        let e = outcomes[n].as_ref().unwrap_err();
        (e.category, e.code.clone(), e.field.clone())
    };
    assert_eq!(
        summary(1),
        (
            ErrorCategory::Validation,
            "invalid-email".into(),
            Some("email".into())
        )
    );
    assert_eq!(
        summary(2),
        (
            ErrorCategory::Validation,
            "missing-key".into(),
            Some("email".into())
        )
    );
    assert_eq!(
        summary(3),
        (
            ErrorCategory::Correlation,
            "duplicate".into(),
            Some("email".into())
        )
    );
    assert_eq!(
        summary(4),
        (
            ErrorCategory::PlanQuota,
            "property-limit".into(),
            Some("plan_tier".into())
        )
    );
    assert_eq!(outcomes[5], Ok(WriteOutcome::Created(Some("4".into()))));

    let request = &target.transport.requests[0];
    assert_eq!(request.url, "/crm/v3/objects/contacts/batch/create");
    assert_eq!(
        body_of(request),
        json!({"inputs": [
            {"associations": [], "objectWriteTraceId": "0", "properties": {"email": "Ada@x.io", "firstname": "Ada"}},
            {"associations": [], "objectWriteTraceId": "1", "properties": {"email": "bob@"}},
            {"associations": [], "objectWriteTraceId": "3", "properties": {"email": "cy@x.io"}},
            {"associations": [], "objectWriteTraceId": "4", "properties": {"email": "eve@x.io", "plan_tier": "gold"}},
            {"associations": [], "objectWriteTraceId": "5", "properties": {"email": "dee@x.io"}},
        ]})
    );
}

#[test]
fn updates_by_id() {
    let mut target = target(r#"{"mode": "update", "object": "companies"}"#);
    queue(
        &mut target,
        vec![Ok(json_response(
            207,
            &json!({
                "status": "COMPLETE",
                "results": [contact(5, "e@x.io")],
                "numErrors": 1,
                "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                            "message": "Object not found. Contact 77 does not exist or was deleted (archived).",
                            "context": {"ids": ["77"]},
                            "errors": [{"message": "x", "code": "OBJECT_NOT_FOUND"}]}],
            }),
        ))],
    );
    let bodies = [
        json!({"id": 5, "firstname": "E"}),
        json!({"id": "77", "firstname": "Gone"}),
        json!({"email": "no-id@x.io"}),
    ];
    let outcomes = target.write("companies", records(&bodies)).unwrap();
    assert_eq!(outcomes[0], Ok(WriteOutcome::Updated(Some("5".into()))));
    let gone = outcomes[1].as_ref().unwrap_err();
    assert_eq!(
        (gone.category, gone.code.as_str()),
        (ErrorCategory::Correlation, "not-found")
    );
    let no_id = outcomes[2].as_ref().unwrap_err();
    assert_eq!(
        (no_id.code.as_str(), no_id.field.as_deref()),
        ("missing-id", Some("id"))
    );
    let request = &target.transport.requests[0];
    assert_eq!(request.url, "/crm/v3/objects/companies/batch/update");
    assert_eq!(
        body_of(request),
        json!({"inputs": [
            {"id": "5", "objectWriteTraceId": "0", "properties": {"firstname": "E"}},
            {"id": "77", "objectWriteTraceId": "1", "properties": {"firstname": "Gone"}},
        ]})
    );
}

#[test]
fn create_if_missing_searches_first_and_never_overwrites() {
    let mut target = target(r#"{"mode": "create-if-missing"}"#);
    queue(
        &mut target,
        vec![
            // The search finds b (stored lowercased).
            Ok(json_response(
                200,
                &json!({"total": 1, "results": [contact(2, "b@x.io")]}),
            )),
            // The create: a was created meanwhile by someone else.
            Ok(json_response(
                207,
                &json!({
                    "status": "COMPLETE",
                    "results": [contact(3, "c@x.io")],
                    "numErrors": 1,
                    "errors": [{"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                                "message": "Contact already exists. Existing ID: 8",
                                "context": {"existingId": ["8"], "objectWriteTraceId": ["0"]},
                                "errors": []}],
                }),
            )),
        ],
    );
    let bodies = [
        json!({"email": "a@x.io", "firstname": "A"}),
        json!({"email": "B@x.io", "firstname": "B"}),
        json!({"email": "c@x.io", "firstname": "C"}),
        json!({"email": "c@x.io", "firstname": "C again"}),
    ];
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert_eq!(
        outcomes,
        vec![
            Ok(WriteOutcome::Unchanged),
            Ok(WriteOutcome::Unchanged),
            Ok(WriteOutcome::Created(Some("3".into()))),
            Ok(WriteOutcome::Unchanged),
        ]
    );
    let requests = &target.transport.requests;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].url, "/crm/v3/objects/contacts/search");
    assert_eq!(
        body_of(&requests[0]),
        json!({
            "filterGroups": [{"filters": [
                {"propertyName": "email", "operator": "IN", "values": ["a@x.io", "b@x.io", "c@x.io"]}
            ]}],
            "sorts": ["hs_object_id"],
            "properties": ["email"],
            "limit": 100,
            "after": "0",
        })
    );
    assert_eq!(requests[1].url, "/crm/v3/objects/contacts/batch/create");
    assert_eq!(
        body_of(&requests[1]),
        json!({"inputs": [
            {"associations": [], "objectWriteTraceId": "0", "properties": {"email": "a@x.io", "firstname": "A"}},
            {"associations": [], "objectWriteTraceId": "2", "properties": {"email": "c@x.io", "firstname": "C"}},
        ]})
    );
}

#[test]
fn create_if_missing_follows_search_pages_and_skips_the_create_when_all_exist() {
    let mut target = target(r#"{"mode": "create-if-missing"}"#);
    queue(
        &mut target,
        vec![
            Ok(json_response(
                200,
                &json!({"total": 2, "results": [contact(1, "a@x.io")],
                        "paging": {"next": {"after": "1"}}}),
            )),
            Ok(json_response(
                200,
                &json!({"total": 2, "results": [contact(2, "b@x.io")]}),
            )),
        ],
    );
    let outcomes = target
        .write(
            "contacts",
            records(&[json!({"email": "a@x.io"}), json!({"email": "b@x.io"})]),
        )
        .unwrap();
    assert_eq!(outcomes, vec![Ok(WriteOutcome::Unchanged); 2]);
    let requests = &target.transport.requests;
    assert_eq!(requests.len(), 2);
    assert_eq!(body_of(&requests[1])["after"], "1");
}

#[test]
fn create_if_missing_by_a_property_the_crm_cannot_search_is_a_config_error() {
    let mut target = target(r#"{"mode": "create-if-missing", "id_property": "customer_no"}"#);
    queue(
        &mut target,
        vec![Ok(json_response(
            400,
            &json!({"status": "error", "category": "VALIDATION_ERROR",
                    "message": "Unsupported filter on \"customer_no\" (EQ)."}),
        ))],
    );
    let error = target
        .write("contacts", records(&[json!({"customer_no": 7})]))
        .unwrap_err();
    assert_eq!(
        (error.category, error.code.as_str(), error.field.as_deref()),
        (
            ErrorCategory::Config,
            "invalid-id-property",
            Some("id_property")
        )
    );
}

fn rate_limited() -> Response {
    Response {
        status: 429,
        headers: vec![
            ("retry-after".into(), "1".into()),
            ("content-type".into(), "application/json".into()),
        ],
        body: json!({"status": "error", "message": "You have reached your secondly limit.",
                     "errorType": "RATE_LIMIT", "policyName": "SECONDLY", "category": "RATE_LIMITS"})
        .to_string()
        .into_bytes(),
    }
}

#[test]
fn whole_request_failures_fail_the_batch() {
    let cases: Vec<(Result<Response, HttpError>, ErrorCategory, &str, bool)> = vec![
        (
            Ok(json_response(
                401,
                &json!({"status": "error", "category": "EXPIRED_AUTHENTICATION",
                "message": "The OAuth token used to make this call expired 5 second(s) ago."}),
            )),
            ErrorCategory::Auth,
            "expired-authentication",
            false,
        ),
        (
            Ok(json_response(
                401,
                &json!({"status": "error", "category": "INVALID_AUTHENTICATION",
                "message": "The access token or API key used to make this call has been revoked."}),
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
                            "context": {"requiredGranularScopes": ["crm.objects.contacts.write", "crm.schemas.contacts.write"]}}]}),
            )),
            ErrorCategory::Permissions,
            "missing-scopes",
            false,
        ),
        (
            Ok(rate_limited()),
            ErrorCategory::Transient,
            "rate-limited",
            true,
        ),
        (
            Ok(Response {
                status: 502,
                headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                body: b"<html>\r\n<head><title>502 Bad Gateway</title></head><body></body></html>"
                    .to_vec(),
            }),
            ErrorCategory::Transient,
            "bad-gateway",
            true,
        ),
        (
            Ok(json_response(
                404,
                &json!({"status": "error", "category": "OBJECT_NOT_FOUND",
                "message": "No such endpoint: POST /crm/v3/objects/deals/batch/upsert."}),
            )),
            ErrorCategory::Config,
            "unknown-endpoint",
            false,
        ),
        (
            Ok(json_response(
                402,
                &json!({"status": "error", "message": "Upgrade"}),
            )),
            ErrorCategory::PlanQuota,
            "payment-required",
            false,
        ),
        (
            Ok(Response {
                status: 200,
                headers: vec![],
                body: b"not json".to_vec(),
            }),
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
            Err(HttpError::Connect(
                "tcp connect error: Connection refused".into(),
            )),
            ErrorCategory::Connectivity,
            "connect-failed",
            true,
        ),
    ];
    for (answer, category, code, retryable) in cases {
        let mut target = target("{}");
        queue(&mut target, vec![answer]);
        let error = target
            .write(
                "contacts",
                records(&[json!({"email": "a@x.io"}), json!({"email": "b@x.io"})]),
            )
            .unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (category, code, retryable),
            "{}",
            error.message
        );
        assert!(!error.message.contains('\n'), "{}", error.message);
        assert_eq!(
            target.transport.requests.len(),
            1,
            "{code}: no retry inside the plugin"
        );
    }
}

#[test]
fn missing_scopes_name_the_scopes() {
    let mut target = target("{}");
    queue(
        &mut target,
        vec![Ok(json_response(
            403,
            &json!({"status": "error", "category": "MISSING_SCOPES",
            "message": "This app hasn't been granted all required scopes to make this call.",
            "errors": [{"context": {"requiredGranularScopes": ["crm.objects.contacts.write"]}}]}),
        ))],
    );
    let error = target
        .write("contacts", records(&[json!({"email": "a@x.io"})]))
        .unwrap_err();
    assert!(
        error
            .message
            .starts_with("the connection lacks the scope crm.objects.contacts.write: "),
        "{}",
        error.message
    );
}

#[test]
fn a_failure_after_records_were_written_fails_only_the_rest() {
    let mut target = target(r#"{"batch_size": 2}"#);
    let mut calls = 0;
    target.transport.respond = Some(Box::new(move |request: &Request| {
        calls += 1;
        if calls == 2 {
            Ok(rate_limited())
        } else {
            upsert_all(request)
        }
    }));
    let bodies: Vec<Json> = (0..5)
        .map(|n| json!({"email": format!("c{n}@x.io")}))
        .collect();
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1000".into()))));
    assert_eq!(outcomes[1], Ok(WriteOutcome::Updated(Some("1001".into()))));
    for outcome in &outcomes[2..] {
        let error = outcome.as_ref().unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.retryable),
            ("rate-limited", true)
        );
    }
    // The third request was not sent.
    assert_eq!(target.transport.requests.len(), 2);
}

#[test]
fn a_batch_refused_as_a_whole_is_split_down_to_the_bad_record() {
    let mut target = target("{}");
    target.transport.respond = Some(Box::new(|request: &Request| {
        let bad = inputs_of(request)
            .iter()
            .any(|input| input["properties"]["lifecyclestage"] == "bogus");
        if bad {
            Ok(json_response(
                400,
                &json!({"status": "error", "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "errors": [{"message": "bogus was not one of the allowed options", "code": "INVALID_OPTION",
                                    "context": {"propertyName": ["lifecyclestage"]}}]}),
            ))
        } else {
            upsert_all(request)
        }
    }));
    let bodies: Vec<Json> = (0..5)
        .map(|n| {
            let stage = if n == 3 { "bogus" } else { "lead" };
            json!({"email": format!("c{n}@x.io"), "lifecyclestage": stage})
        })
        .collect();
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    for (n, outcome) in outcomes.iter().enumerate() {
        if n == 3 {
            let error = outcome.as_ref().unwrap_err();
            assert_eq!(
                (error.code.as_str(), error.field.as_deref()),
                ("invalid-option", Some("lifecyclestage"))
            );
        } else {
            assert!(outcome.is_ok(), "{n}: {outcome:?}");
        }
    }
    // [0..5] refused, [0,1] ok, [2,3,4] refused, [2] ok, [3,4] refused, [3] refused, [4] ok.
    let sizes: Vec<usize> = target
        .transport
        .requests
        .iter()
        .map(|r| inputs_of(r).len())
        .collect();
    assert_eq!(sizes, [5, 2, 3, 1, 2, 1, 1]);
}

#[test]
fn an_oversized_request_is_split_like_a_refused_one() {
    let mut target = target("{}");
    target.transport.respond = Some(Box::new(|request: &Request| {
        if inputs_of(request).len() > 1 {
            Ok(json_response(
                413,
                &json!({"status": "error", "category": "PAYLOAD_TOO_LARGE",
                        "message": "The request body is too large."}),
            ))
        } else {
            upsert_all(request)
        }
    }));
    let bodies: Vec<Json> = (0..2)
        .map(|n| json!({"email": format!("c{n}@x.io")}))
        .collect();
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(target.transport.requests.len(), 3);
}

#[test]
fn records_that_cannot_be_sent_need_no_request() {
    let mut target = target("{}");
    let outcomes = target
        .write(
            "contacts",
            vec![Outgoing {
                key: "1".into(),
                body: "[]".into(),
            }],
        )
        .unwrap();
    assert_eq!(outcomes[0].as_ref().unwrap_err().code, "not-an-object");
    assert!(target.transport.requests.is_empty());
    assert_eq!(target.write("contacts", Vec::new()), Ok(Vec::new()));
}

#[test]
fn begin_and_commit_do_nothing() {
    let mut target = CrmTarget::<Fake>::configure(Options::from_json("{}").unwrap()).unwrap();
    assert_eq!(target.begin("contacts"), Ok(()));
    assert_eq!(target.commit("contacts"), Ok(()));
    assert!(target.transport.requests.is_empty());
    let error = CrmTarget::<Fake>::configure(Options::from_json(r#"{"mode": "merge"}"#).unwrap())
        .unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
}

/// HubSpot's answer to a batch naming a property that does not exist.
fn property_doesnt_exist() -> Response {
    json_response(
        400,
        &json!({"status": "error",
                "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"region\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"region\",\"localizedErrorMessage\":\"Property \\\"region\\\" does not exist\"}]",
                "correlationId": "c0ffee00-0000-4000-8000-000000000005",
                "category": "VALIDATION_ERROR"}),
    )
}

#[test]
fn a_missing_property_is_one_config_error_after_one_request() {
    let mut target = target(r#"{"batch_size": 25}"#);
    target.transport.respond = Some(Box::new(|_: &Request| Ok(property_doesnt_exist())));
    let bodies: Vec<Json> = (0..60)
        .map(|n| json!({"email": format!("c{n}@x.io"), "region": null}))
        .collect();
    let error = target.write("contacts", records(&bodies)).unwrap_err();
    assert_eq!(
        (error.category, error.code.as_str(), error.field.as_deref()),
        (
            ErrorCategory::Config,
            "property-doesnt-exist",
            Some("region")
        )
    );
    assert!(error.message.contains("`region`"), "{}", error.message);
    assert_eq!(target.transport.requests.len(), 1);
    // The null was sent as "" (HubSpot clears a property with it).
    assert_eq!(
        inputs_of(&target.transport.requests[0])[0]["properties"]["region"],
        ""
    );
}

#[test]
fn splitting_a_refused_batch_has_a_ceiling() {
    let mut target = target("{}");
    // Every input is refused, without naming any.
    target.transport.respond = Some(Box::new(|_: &Request| {
        Ok(json_response(
            400,
            &json!({"status": "error", "category": "VALIDATION_ERROR",
                    "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"bogus was not one of the allowed options\",\"error\":\"INVALID_OPTION\",\"name\":\"lifecyclestage\"}]"}),
        ))
    }));
    let bodies: Vec<Json> = (0..100)
        .map(|n| json!({"email": format!("c{n}@x.io"), "lifecyclestage": "bogus"}))
        .collect();
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    let requests = target.transport.requests.len();
    assert!(requests <= 1 + MAX_SPLIT_REQUESTS, "{requests} requests");
    for outcome in &outcomes {
        let error = outcome.as_ref().unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.field.as_deref()),
            ("invalid-option", Some("lifecyclestage"))
        );
    }
}

#[test]
fn a_refusal_naming_its_inputs_is_theirs_and_the_rest_is_sent_again_once() {
    let mut target = target("{}");
    let mut calls = 0;
    target.transport.respond = Some(Box::new(move |request: &Request| {
        calls += 1;
        if calls == 1 {
            Ok(json_response(
                400,
                &json!({"status": "error", "category": "VALIDATION_ERROR",
                        "message": "Email address c1@x is invalid",
                        "context": {"ids": ["c1@x"]}, "errors": [], "links": {}}),
            ))
        } else {
            upsert_all(request)
        }
    }));
    let bodies = [
        json!({"email": "c0@x.io"}),
        json!({"email": "c1@x"}),
        json!({"email": "c2@x.io"}),
    ];
    let outcomes = target.write("contacts", records(&bodies)).unwrap();
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
    assert_eq!(
        outcomes[1].as_ref().unwrap_err().category,
        ErrorCategory::Validation
    );
    let sizes: Vec<usize> = target
        .transport
        .requests
        .iter()
        .map(|r| inputs_of(r).len())
        .collect();
    assert_eq!(sizes, [3, 2]);
}

#[test]
fn the_daily_limit_fails_the_batch_without_a_retry() {
    let mut target = target("{}");
    queue(
        &mut target,
        vec![Ok(json_response(
            429,
            &json!({"status": "error", "message": "You have reached your daily limit.",
                    "errorType": "RATE_LIMIT", "policyName": "DAILY", "correlationId": "x"}),
        ))],
    );
    let error = target
        .write("contacts", records(&[json!({"email": "a@x.io"})]))
        .unwrap_err();
    assert_eq!(
        (error.category, error.code.as_str(), error.retryable),
        (ErrorCategory::PlanQuota, "daily-limit", false)
    );
    assert!(
        error
            .message
            .contains("resets at midnight (account time zone)")
    );
}
