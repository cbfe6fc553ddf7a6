//! Unit tests through a fake transport: each pagination kind's state
//! machine, `max` smaller than a page, incremental passes, failures.

use std::collections::VecDeque;

use serde_json::json;
use sluice_sdk::ErrorCategory;
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

fn ok(body: &Json) -> Result<Response, HttpError> {
    Ok(response(200, body, &[]))
}

fn response(status: u16, body: &Json, headers: &[(&str, &str)]) -> Response {
    let mut all = vec![("content-type".to_owned(), "application/json".to_owned())];
    all.extend(
        headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    Response {
        status,
        headers: all,
        body: body.to_string().into_bytes(),
    }
}

fn source(options: Json, answers: Vec<Result<Response, HttpError>>) -> RestSource<Fake> {
    let options = SourceOptions::parse(&Options::from_json(&options.to_string()).unwrap()).unwrap();
    RestSource::new(
        options,
        Fake {
            answers: answers.into(),
            requests: Vec::new(),
        },
    )
}

fn items(ids: std::ops::Range<u32>) -> Vec<Json> {
    ids.map(|i| json!({"id": i, "email": format!("p{i}@x.io"), "updatedAt": format!("2024-05-01T10:00:{i:02}.000Z")}))
        .collect()
}

fn keys(batch: &ExtractBatch) -> Vec<String> {
    batch
        .items
        .iter()
        .map(|item| match item {
            Ok(e) => e.key.clone(),
            Err(f) => format!("!{}", f.key),
        })
        .collect()
}

fn urls(source: &RestSource<Fake>) -> Vec<String> {
    source
        .transport
        .requests
        .iter()
        .map(|r| {
            assert_eq!(r.method, Method::Get);
            r.url.clone()
        })
        .collect()
}

/// Reads until done, at most 20 reads; returns the keys and final cursor.
fn read_all(
    source: &mut RestSource<Fake>,
    start: Option<String>,
    max: u32,
) -> (Vec<String>, String) {
    let mut cursor = start;
    let mut all = Vec::new();
    for _ in 0..20 {
        let batch = source.read("items", cursor.clone(), max).unwrap();
        assert!(batch.items.len() <= max as usize);
        all.extend(keys(&batch));
        cursor = batch.cursor;
        if batch.done {
            return (all, cursor.unwrap());
        }
    }
    panic!("not done after 20 reads");
}

#[test]
fn offset_pagination_stops_at_a_short_page() {
    let mut src = source(
        json!({"path": "/items", "query": {"sort": "id"},
               "pagination": {"kind": "offset", "page_size": 2}}),
        vec![
            ok(&json!(items(1..3))),
            ok(&json!(items(3..5))),
            ok(&json!(items(5..6))),
        ],
    );
    let (keys, cursor) = read_all(&mut src, None, 10);
    assert_eq!(keys, ["1", "2", "3", "4", "5"]);
    assert_eq!(cursor, r#"{"v":1}"#);
    assert_eq!(
        urls(&src),
        [
            "/items?sort=id&offset=0&limit=2",
            "/items?sort=id&offset=2&limit=2",
            "/items?sort=id&offset=4&limit=2",
        ]
    );
}

#[test]
fn an_empty_full_page_count_ends_offset_and_page_pagination() {
    let mut src = source(
        json!({"path": "/items", "pagination": {"kind": "page", "page_size": 2, "start": 0}}),
        vec![
            ok(&json!({"results": items(1..3)})),
            ok(&json!({"results": []})),
        ],
    );
    src.options.records = "/results".into();
    let (keys, _) = read_all(&mut src, None, 10);
    assert_eq!(keys, ["1", "2"]);
    assert_eq!(
        urls(&src),
        ["/items?page=0&per_page=2", "/items?page=1&per_page=2"]
    );
}

#[test]
fn max_smaller_than_a_page_rereads_the_page_and_skips() {
    let mut src = source(
        json!({"path": "/items", "records": "/data",
               "pagination": {"kind": "page", "page_size": 3}}),
        vec![
            ok(&json!({"data": items(1..4)})),
            ok(&json!({"data": items(1..4)})),
            ok(&json!({"data": items(4..5)})),
        ],
    );
    let first = src.read("items", None, 2).unwrap();
    assert_eq!(keys(&first), ["1", "2"]);
    assert!(!first.done);
    assert_eq!(
        first.cursor.as_deref(),
        Some(r#"{"v":1,"pass":{"skip":2}}"#)
    );
    let second = src.read("items", first.cursor, 2).unwrap();
    assert_eq!(keys(&second), ["3"]);
    assert_eq!(
        second.cursor.as_deref(),
        Some(r#"{"v":1,"pass":{"page":2}}"#)
    );
    let third = src.read("items", second.cursor, 2).unwrap();
    assert_eq!(keys(&third), ["4"]);
    assert!(third.done);
    assert_eq!(
        urls(&src),
        [
            "/items?page=1&per_page=3",
            "/items?page=1&per_page=3",
            "/items?page=2&per_page=3"
        ]
    );
}

#[test]
fn cursor_pagination_follows_the_token_in_the_body() {
    let mut src = source(
        json!({"path": "/items", "records": "/results",
               "pagination": {"kind": "cursor", "next": "/paging/next/after"}}),
        vec![
            ok(&json!({"results": items(1..3), "paging": {"next": {"after": "a b"}}})),
            ok(&json!({"results": items(3..5), "paging": {"next": {"after": 7}}})),
            ok(&json!({"results": items(5..6), "paging": null})),
        ],
    );
    let (keys, _) = read_all(&mut src, None, 10);
    assert_eq!(keys, ["1", "2", "3", "4", "5"]);
    assert_eq!(
        urls(&src),
        ["/items", "/items?after=a%20b", "/items?after=7"]
    );
}

#[test]
fn a_repeated_or_odd_token_is_a_malformed_response() {
    let options = json!({"path": "/items", "records": "/data",
                         "pagination": {"kind": "cursor", "next": "/next", "param": "cursor"}});
    let mut src = source(
        options.clone(),
        vec![
            ok(&json!({"data": items(1..2), "next": "t1"})),
            ok(&json!({"data": items(2..3), "next": "t1"})),
        ],
    );
    let first = src.read("items", None, 10).unwrap();
    let error = src.read("items", first.cursor, 10).unwrap_err();
    assert_eq!(
        (error.category, error.code.as_str()),
        (ErrorCategory::Mapping, "malformed-response")
    );
    let mut src = source(options, vec![ok(&json!({"data": [], "next": {"x": 1}}))]);
    let error = src.read("items", None, 10).unwrap_err();
    assert!(
        error.message.contains("not a string or number"),
        "{}",
        error.message
    );
}

#[test]
fn link_pagination_follows_the_next_link() {
    let link2 =
        r#"<http://api.test/items?page=2>; rel="next", <http://api.test/items?page=3>; rel="last""#;
    let mut src = source(
        json!({"path": "/items", "pagination": {"kind": "link"}}),
        vec![
            Ok(response(200, &json!(items(1..3)), &[("Link", link2)])),
            Ok(response(
                200,
                &json!(items(3..5)),
                &[("link", "</items?page=3>; rel=next")],
            )),
            Ok(response(
                200,
                &json!(items(5..6)),
                &[("Link", r#"<http://api.test/items?page=1>; rel="first""#)],
            )),
        ],
    );
    let (keys, _) = read_all(&mut src, None, 10);
    assert_eq!(keys, ["1", "2", "3", "4", "5"]);
    assert_eq!(
        urls(&src),
        ["/items", "http://api.test/items?page=2", "/items?page=3"]
    );
}

#[test]
fn no_pagination_is_one_request() {
    let mut src = source(json!({"path": "/items"}), vec![ok(&json!(items(1..4)))]);
    let (keys, cursor) = read_all(&mut src, None, 10);
    assert_eq!(keys, ["1", "2", "3"]);
    assert_eq!(cursor, r#"{"v":1}"#);
}

#[test]
fn incremental_passes_filter_by_the_last_mark() {
    let options = json!({"path": "/items", "records": "/data",
                         "pagination": {"kind": "offset", "page_size": 2},
                         "incremental": {"field": "updatedAt", "param": "updated_since"}});
    let mut src = source(
        options.clone(),
        vec![
            ok(&json!({"data": items(1..3)})),
            ok(&json!({"data": items(3..4)})),
        ],
    );
    let (keys, cursor) = read_all(&mut src, None, 10);
    assert_eq!(keys, ["1", "2", "3"]);
    assert_eq!(cursor, r#"{"v":1,"high_water":"2024-05-01T10:00:03.000Z"}"#);
    assert_eq!(
        urls(&src),
        ["/items?offset=0&limit=2", "/items?offset=2&limit=2"]
    );

    // A new run from the committed cursor: filtered, paging from the start;
    // the filter stays fixed while the mark moves.
    let mut src = source(
        options.clone(),
        vec![
            ok(&json!({"data": [items(9..10)[0].clone(), items(8..9)[0].clone()]})),
            ok(&json!({"data": []})),
        ],
    );
    let (keys, next) = read_all(&mut src, Some(cursor.clone()), 10);
    assert_eq!(keys, ["9", "8"]);
    assert_eq!(next, r#"{"v":1,"high_water":"2024-05-01T10:00:09.000Z"}"#);
    let since = "updated_since=2024-05-01T10%3A00%3A03.000Z";
    assert_eq!(
        urls(&src),
        [
            format!("/items?{since}&offset=0&limit=2"),
            format!("/items?{since}&offset=2&limit=2")
        ]
    );

    // Nothing new: the mark is kept.
    let mut src = source(options.clone(), vec![ok(&json!({"data": []}))]);
    let (keys, same) = read_all(&mut src, Some(cursor.clone()), 10);
    assert!(keys.is_empty());
    assert_eq!(same, cursor);

    // A bare timestamp (cursor reset --to) is a mark.
    let mut src = source(options, vec![ok(&json!({"data": []}))]);
    read_all(&mut src, Some("2024-01-01T00:00:00Z".into()), 10);
    assert_eq!(
        urls(&src),
        ["/items?updated_since=2024-01-01T00%3A00%3A00Z&offset=0&limit=2"]
    );
}

#[test]
fn a_mark_without_incremental_options_is_ignored() {
    let mut src = source(
        json!({"path": "/items", "pagination": {"kind": "none"}}),
        vec![ok(&json!(items(1..2)))],
    );
    read_all(&mut src, Some(r#"{"v":1,"high_water":"x"}"#.into()), 10);
    assert_eq!(urls(&src), ["/items"]);
    let error = src
        .read("items", Some("2024-01-01".into()), 10)
        .unwrap_err();
    assert_eq!(error.code, "invalid-cursor");
}

#[test]
fn bad_records_are_extract_failures() {
    let mut src = source(
        json!({"path": "/items", "key": "/meta/id"}),
        vec![ok(&json!([
            {"meta": {"id": "a"}},
            {"meta": {}},
            "text",
            {"meta": {"id": 5}},
        ]))],
    );
    let batch = src.read("items", None, 10).unwrap();
    assert_eq!(
        keys(&batch),
        ["a", "!/items:start:1", "!/items:start:2", "5"]
    );
    let Err(missing) = &batch.items[1] else {
        panic!()
    };
    assert_eq!(missing.error.code, "missing-key");
    assert_eq!(missing.raw, r#"{"meta":{}}"#);
    let Err(text) = &batch.items[2] else { panic!() };
    assert_eq!(text.error.code, "not-an-object");
    let Ok(first) = &batch.items[0] else { panic!() };
    assert_eq!(first.body, r#"{"meta":{"id":"a"}}"#);
}

#[test]
fn failures_are_classified() {
    let mut src = source(
        json!({"path": "/items", "records": "/data"}),
        vec![
            Ok(response(401, &json!({"message": "bad token"}), &[])),
            Ok(response(429, &json!({}), &[("Retry-After", "1")])),
            Ok(response(503, &json!({}), &[])),
            Err(HttpError::Timeout),
            ok(&json!({"nodata": []})),
            Ok(Response {
                status: 200,
                headers: vec![],
                body: b"<html>".to_vec(),
            }),
        ],
    );
    for (category, code, retryable) in [
        (ErrorCategory::Auth, "unauthorized", false),
        (ErrorCategory::Transient, "rate-limited", true),
        (ErrorCategory::Transient, "service-unavailable", true),
        (ErrorCategory::Transient, "timeout", true),
        (ErrorCategory::Mapping, "malformed-response", false),
        (ErrorCategory::Mapping, "malformed-response", false),
    ] {
        let error = src.read("items", None, 10).unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (category, code, retryable),
            "{}",
            error.message
        );
    }
}

#[test]
fn configure_rejects_bad_options() {
    let error =
        RestSource::<Fake>::configure(Options::from_json(r#"{"path": 3}"#).unwrap()).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
}
