//! `crm`: a source that reads objects (contacts by default) from a
//! HubSpot-style CRM v3 API, through the host's `http` import.
//!
//! Requests go to paths relative to the connection's base URL; the host
//! adds the credentials, checks the allow-list, enforces timeouts and size
//! caps and honours `Retry-After`. The `entity` argument of `read` is not
//! used: the `object` option names what is read.
//!
//! # Options
//!
//! | Option                 | Default              | Meaning |
//! |------------------------|----------------------|---------|
//! | `object`               | `"contacts"`         | The CRM object type: `/crm/v3/objects/{object}`. Letters, digits, `_`, `-`, `.`. |
//! | `properties`           | `[]`                 | The properties to read. Empty: the CRM's default set. When given, `incremental_property` is requested too. |
//! | `page_size`            | `100`                | Objects per request, 1 to 100. A `read` asking for fewer (`max`) requests only that many. |
//! | `incremental_property` | `"lastmodifieddate"` | The property whose value is the high-water mark and the filter of incremental reads. |
//!
//! Unknown options and bad values are `config` errors (code
//! `invalid-options`) naming the option.
//!
//! # Reading and the cursor
//!
//! **Full pass** (no cursor, or a cursor without a high-water mark): the
//! source first asks for the most recently modified object (`POST
//! /crm/v3/objects/{object}/search` with `{"filterGroups": [], "sorts":
//! ["-{incremental_property}"], "properties": [incremental_property],
//! "limit": 1, "after": "0"}`): its value is the pass's *ceiling*. It then lists
//! every object, `GET /crm/v3/objects/{object}?limit=N[&after=TOKEN]
//! [&properties=a,b]`, page by page until the CRM gives no
//! `paging.next.after`. The token is sent back as the CRM gave it: HubSpot
//! hands it out already percent-encoded (`NTI1Cg%3D%3D`), so only
//! characters a query cannot hold are escaped, never a `%XX` again.
//!
//! **Incremental pass** (a cursor with a high-water mark, such as the one
//! a finished pass leaves): `POST /crm/v3/objects/{object}/search` for the
//! objects after the mark, sorted by `incremental_property` ascending
//! (`"sorts": ["{incremental_property}"]`, `"after": "0"`, the
//! `properties` option, `limit`: every member HubSpot's search request
//! requires, sorts as strings as its OpenAPI document has them):
//! filter groups `{incremental_property} GT <mark>` or
//! (`{incremental_property} EQ <mark>` and `hs_object_id GT <last id>`),
//! the mark sent as epoch milliseconds. Each page moves the mark to the
//! last object read (keyset paging), so an object modified while the pass
//! runs is read again later in the same pass rather than skipped, and no
//! search pages deeper than one page.
//!
//! Each item's key is the CRM id; its body is the object's `properties`
//! with `id` (the CRM id) and `updatedAt` added. An object without an id,
//! or whose `properties` is not an object, is an extract failure with code
//! `malformed-record` (category `validation`) and the object's JSON as its
//! raw text.
//!
//! The cursor is JSON text, e.g. during a full pass and after it:
//!
//! ```json
//! {"v":1,"after":"200","ceiling":"2024-05-02T08:00:00.000Z","high_water":"2024-05-01T10:00:00.000Z","last_id":"17"}
//! {"v":1,"high_water":"2024-05-02T08:00:00.000Z","last_id":"212"}
//! ```
//!
//! - `v`: the format version, `1`.
//! - `after`: present while a full pass is under way: the CRM's paging
//!   token of the next page.
//! - `ceiling`: present while a full pass is under way: the greatest value
//!   of `incremental_property` when it began (`"0"` for an empty CRM).
//! - `high_water`, `last_id`: the greatest value of `incremental_property`
//!   (or of `updatedAt` when an object does not carry the property) seen so
//!   far, as the CRM wrote it, and the id of the object that carried it.
//!   Values are compared as instants (ISO 8601 or epoch milliseconds), not
//!   as text; ties by id.
//!
//! When a full pass ends, the mark is the greatest value it saw, or its
//! ceiling if it saw a greater one: an object was then modified during the
//! pass, possibly one the pass had already read, so everything modified
//! since the pass began is read again by the next incremental pass rather
//! than lost. An entity with `incremental = true` thus reads only what
//! changed since the last run. A bare timestamp (`2024-05-01T00:00:00Z`,
//! or epoch milliseconds) is accepted as a cursor too, meaning "modified
//! after this": handy for `sluice cursor reset --to`. Any other text is a
//! `validation` error with code `invalid-cursor`.
//!
//! # Errors
//!
//! A failed request fails the whole `read` (the host retries the
//! transient ones from the same cursor and pauses on `auth`). The status
//! decides the category and the body refines it (see `crm_errors`):
//!
//! | Failure                                              | Category       | Code |
//! |------------------------------------------------------|----------------|------|
//! | 401 `EXPIRED_AUTHENTICATION`                         | `auth`         | `expired-authentication` |
//! | 401 `INVALID_AUTHENTICATION`                         | `auth`         | `invalid-authentication` |
//! | 403 `MISSING_SCOPES` (the message names the scopes)  | `permissions`  | `missing-scopes` |
//! | 429 `RATE_LIMITS` (retryable)                        | `transient`    | `rate-limited` |
//! | 429 with `policyName` `DAILY` (not retried: the daily quota resets at midnight, account time zone) | `plan-quota` | `daily-limit` |
//! | a plan or property limit                             | `plan-quota`   | `plan-limit`, `property-limit` |
//! | 404: the endpoint does not exist (the message names it) | `config`    | `unknown-endpoint` |
//! | 400/422 (a property or filter the CRM refuses)       | `config`       | the CRM's code, kebab-cased, else `invalid-value` |
//! | 502, 503, 504, other 5xx (retryable)                 | `transient`    | `bad-gateway`, `service-unavailable`, `gateway-timeout`, `server-error` |
//! | other statuses                                       | by status      | see [`sluice_sdk::classify_response`] |
//! | timeout, connection failure, host refusal, too large | see [`sluice_sdk::classify_http_error`] | `timeout`, `connect-failed`, `capability-denied`, `response-too-large` |
//! | a 2xx body that is not a page of results             | `mapping`      | `malformed-response` |
//! | a cursor this source did not make                    | `validation`   | `invalid-cursor` |
//!
//! Per item: `malformed-record` (`validation`), as above.

mod cursor;
mod options;

use sluice_crm_api::{errors as crm_errors, names};

use serde_json::{Map, Value as Json, json};
use sluice_sdk::http::{Host, Request, Response, Transport};
use sluice_sdk::{
    ErrorCategory, ExtractBatch, ExtractFailure, Extracted, Options, PluginError, Source,
};

use crate::cursor::{Cursor, Pass, timestamp_ms};
use crate::options::SourceOptions;

/// One page of objects, as the CRM answered it.
#[derive(Debug)]
struct Page {
    /// The objects.
    results: Vec<Json>,
    /// The paging token of the next page, if there is one.
    next: Option<String>,
    /// The response, for messages.
    response: Response,
}

/// The `crm` source. `T` sends the HTTP requests: the host's `http` import
/// in the component, a fake in unit tests.
#[derive(Debug)]
pub struct CrmSource<T = Host> {
    options: SourceOptions,
    transport: T,
}

impl<T: Transport + Default + 'static> Source for CrmSource<T> {
    type Options = SourceOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        Ok(CrmSource::new(
            SourceOptions::parse(&options)?,
            T::default(),
        ))
    }

    fn read(
        &mut self,
        _entity: &str,
        cursor: Option<String>,
        max: u32,
    ) -> Result<ExtractBatch, PluginError> {
        self.read_page(cursor.as_deref(), max)
    }
}

impl<T: Transport> CrmSource<T> {
    fn new(options: SourceOptions, transport: T) -> Self {
        CrmSource { options, transport }
    }

    /// Reads one page of at most `max` objects (and at most `page_size`).
    #[allow(
        clippy::result_large_err,
        reason = "items of the WIT `extract-batch`, built once per object"
    )]
    fn read_page(&mut self, cursor: Option<&str>, max: u32) -> Result<ExtractBatch, PluginError> {
        let mut cursor = match cursor {
            Some(text) => Cursor::decode(text)?,
            None => Cursor::start(),
        };
        let limit = max.clamp(1, self.options.page_size);
        let pass = cursor.pass();
        let request = match &pass {
            Pass::ListStart => {
                cursor.ceiling = Some(self.ceiling()?);
                self.list_request(limit, None)
            }
            Pass::List(after) => self.list_request(limit, Some(after)),
            Pass::Search { since_ms, last_id } => {
                self.search_request(limit, *since_ms, last_id.as_deref())
            }
        };
        let page = self.fetch(&request)?;
        let label = match &pass {
            Pass::ListStart => "start".to_owned(),
            Pass::List(after) => format!("after {after}"),
            Pass::Search { since_ms, .. } => format!("since {since_ms}"),
        };
        let before = cursor.clone();
        let items = page
            .results
            .iter()
            .enumerate()
            .map(|(n, result)| self.item(result, &label, n, &mut cursor))
            .collect();
        let done = page.next.is_none();
        match pass {
            Pass::ListStart | Pass::List(_) => {
                if page.next.is_some() && page.next == cursor.after {
                    return Err(malformed_page(
                        &page.response,
                        "the next page's token is the one just read",
                    ));
                }
                cursor.after = page.next;
                if done {
                    cursor.finish_full_pass();
                }
            }
            Pass::Search { .. } => {
                if !done && cursor == before {
                    return Err(malformed_page(
                        &page.response,
                        &format!(
                            "its objects carry no `{}` to page by",
                            self.options.incremental_property
                        ),
                    ));
                }
            }
        }
        Ok(ExtractBatch {
            items,
            cursor: Some(cursor.encode()),
            done,
        })
    }

    /// The greatest incremental value the CRM holds now, the ceiling of a
    /// full pass's high-water mark: a search for the most recently
    /// modified object. `"0"` when the CRM holds nothing.
    fn ceiling(&mut self) -> Result<String, PluginError> {
        let property = self.options.incremental_property.clone();
        let body = json!({
            "filterGroups": [],
            "sorts": [format!("-{property}")],
            "properties": [property],
            "limit": 1,
            "after": "0",
        });
        let request = Request::post_json(self.search_url(), &body);
        let page = self.fetch(&request)?;
        let Some(latest) = page.results.first() else {
            return Ok("0".to_owned());
        };
        self.incremental_value(latest)
            .filter(|value| timestamp_ms(value).is_some())
            .map(str::to_owned)
            .ok_or_else(|| {
                malformed_page(
                    &page.response,
                    &format!("the most recent object carries no `{property}` timestamp"),
                )
            })
    }

    /// Sends a request and parses the page it answers.
    fn fetch(&mut self, request: &Request) -> Result<Page, PluginError> {
        let response = self.transport.fetch(request)?;
        if !response.is_success() {
            return Err(self.failure(&response, request));
        }
        let body: Json = response.json()?;
        let Some(results) = body.get("results").and_then(Json::as_array) else {
            return Err(malformed_page(&response, "it has no `results` list"));
        };
        let next = match body.pointer("/paging/next/after") {
            None | Some(Json::Null) => None,
            Some(Json::String(token)) if !token.is_empty() => Some(token.clone()),
            Some(Json::Number(token)) => Some(token.to_string()),
            Some(_) => {
                return Err(malformed_page(
                    &response,
                    "`paging.next.after` is not a token",
                ));
            }
        };
        Ok(Page {
            results: results.clone(),
            next,
            response,
        })
    }

    /// `GET /crm/v3/objects/{object}?limit=N[&after=X][&properties=a,b]`.
    fn list_request(&self, limit: u32, after: Option<&str>) -> Request {
        let mut url = format!("/crm/v3/objects/{}?limit={limit}", self.options.object);
        if let Some(after) = after {
            url.push_str("&after=");
            url.push_str(&percent_encode(after));
        }
        let properties = self.options.requested_properties();
        if !properties.is_empty() {
            // Names are checked to need no escaping.
            url.push_str("&properties=");
            url.push_str(&properties.join(","));
        }
        Request::get(url)
    }

    /// `POST /crm/v3/objects/{object}/search`: the objects after the mark
    /// `(since, last_id)`, in the order of the incremental property, then
    /// id.
    fn search_request(&self, limit: u32, since_ms: i64, last_id: Option<&str>) -> Request {
        let property = &self.options.incremental_property;
        let since = since_ms.to_string();
        let mut groups = vec![json!({"filters": [
            {"propertyName": property, "operator": "GT", "value": since}
        ]})];
        if let Some(last_id) = last_id {
            groups.push(json!({"filters": [
                {"propertyName": property, "operator": "EQ", "value": since},
                {"propertyName": "hs_object_id", "operator": "GT", "value": last_id}
            ]}));
        }
        let body = json!({
            "filterGroups": groups,
            "sorts": [property],
            "properties": self.options.requested_properties(),
            "limit": limit,
            "after": "0",
        });
        Request::post_json(self.search_url(), &body)
    }

    /// `/crm/v3/objects/{object}/search`.
    fn search_url(&self) -> String {
        format!("/crm/v3/objects/{}/search", self.options.object)
    }

    /// The incremental value of an object: its incremental property, else
    /// its `updatedAt`.
    fn incremental_value<'a>(&self, object: &'a Json) -> Option<&'a str> {
        object
            .get("properties")
            .and_then(|p| p.get(&self.options.incremental_property))
            .and_then(Json::as_str)
            .or_else(|| object.get("updatedAt").and_then(Json::as_str))
    }

    /// One object of a page as an item, noting its incremental value.
    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`, built once per object"
    )]
    fn item(
        &self,
        result: &Json,
        page: &str,
        n: usize,
        cursor: &mut Cursor,
    ) -> Result<Extracted, ExtractFailure> {
        let id = match result.get("id") {
            Some(Json::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(Json::Number(id)) => Some(id.to_string()),
            _ => None,
        };
        let malformed = |why: &str| {
            let key = id
                .clone()
                .unwrap_or_else(|| format!("{}:{page}:{n}", self.options.object));
            ExtractFailure::new(
                key,
                result.to_string(),
                PluginError::validation(
                    "malformed-record",
                    format!("the CRM returned a {} {why}", self.options.object),
                ),
            )
        };
        let Some(id) = id.clone() else {
            return Err(malformed("without an `id`"));
        };
        if let Some(mark) = self.incremental_value(result) {
            cursor.observe(mark, &id);
        }
        let mut record = match result.get("properties") {
            Some(Json::Object(properties)) => properties.clone(),
            None | Some(Json::Null) => Map::new(),
            Some(_) => return Err(malformed("whose `properties` is not an object")),
        };
        let updated_at = result.get("updatedAt").cloned();
        record.insert("id".to_owned(), Json::String(id.clone()));
        if let Some(updated_at) = updated_at {
            record.insert("updatedAt".to_owned(), updated_at);
        }
        Ok(Extracted::new(id, &record))
    }

    /// The error for a failed request, refined for reads: a missing
    /// endpoint (a wrong `object`, or a base URL that is not the CRM's) and
    /// a refused property or filter are configuration problems.
    fn failure(&self, response: &Response, request: &Request) -> PluginError {
        let error = crm_errors::classify_failure(response);
        if response.status == 404 {
            let method = match request.method {
                sluice_sdk::http::Method::Get => "GET",
                _ => "POST",
            };
            let path = request.url.split('?').next().unwrap_or_default();
            return PluginError::new(
                ErrorCategory::Config,
                "unknown-endpoint",
                format!(
                    "the CRM has no endpoint `{method} {path}`: check the `object` option (`{}`) and the connection's base URL: {}",
                    self.options.object, error.message
                ),
            )
            .with_field("object");
        }
        match error.category {
            ErrorCategory::Validation => {
                let code = match error.code.as_str() {
                    "bad-request" | "unprocessable" | "client-error" => "invalid-value",
                    code => code,
                };
                PluginError::new(
                    ErrorCategory::Config,
                    code,
                    format!(
                        "the CRM refused the read; check the `properties` and `incremental_property` options: {}",
                        error.message
                    ),
                )
            }
            _ => error,
        }
    }
}

/// The error for a 2xx response that is not a page of results.
fn malformed_page(response: &Response, why: &str) -> PluginError {
    PluginError::new(
        ErrorCategory::Mapping,
        "malformed-response",
        format!(
            "the CRM's page is not as expected ({why}): {}",
            sluice_sdk::describe_response(response.status, &response.headers, &response.body)
        ),
    )
}

/// Makes a paging token safe in a query without encoding it twice: the
/// CRM hands tokens out already percent-encoded (`NTI1Cg%3D%3D`), so a
/// `%` followed by two hex digits is kept as it is; other characters
/// outside RFC 3986's unreserved set are percent-encoded.
fn percent_encode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = byte == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if escape || byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

sluice_sdk::export_source!(CrmSource);

#[cfg(test)]
mod tests;
