//! `rest`: a source that reads records from a JSON REST API described by
//! its options, through the host's `http` import.
//!
//! Requests go to paths relative to the connection's base URL (`connection
//! = "name"` on `[source]`); the host adds the credentials, checks the
//! allow-list, enforces timeouts and size caps and honours `Retry-After`.
//! The `entity` argument of `read` is not used: give each entity its own
//! `path` in `source_options`.
//!
//! # Options
//!
//! | Option        | Default     | Meaning |
//! |---------------|-------------|---------|
//! | `path`        | (required)  | The endpoint, relative to the connection's base URL (`"/api/items"`); may carry a query string. |
//! | `query`       | `{}`        | Extra query parameters (strings, numbers, booleans), sent with every request built from `path`. |
//! | `records`     | `""`        | JSON pointer to the array of records in a response (`"/data"`, `"/results"`); `""`: the body is the array. |
//! | `key`         | `"id"`      | The record field used as its key (a name, or a JSON pointer such as `"/meta/id"`). |
//! | `pagination`  | `{ kind = "none" }` | How pages follow each other (below). |
//! | `incremental` | none        | `{ field = "updatedAt", param = "updated_since" }`: the field whose greatest value is the high-water mark, and the query parameter it is sent as. |
//!
//! `pagination`:
//!
//! | `kind`   | Other keys (defaults) | Requests | Done when |
//! |----------|-----------------------|----------|-----------|
//! | `cursor` | `next` (required: JSON pointer to the next token), `param = "after"` | first without the token, then `?after=TOKEN` | the token is missing, `null` or `""` |
//! | `offset` | `param = "offset"`, `limit_param = "limit"`, `page_size = 100` | `?offset=0&limit=100`, `?offset=100&limit=100`... | a page has fewer than `page_size` records |
//! | `page`   | `param = "page"`, `start = 1`, `page_size_param = "per_page"`, `page_size = 100` | `?page=1&per_page=100`, `?page=2&per_page=100`... | a page has fewer than `page_size` records |
//! | `link`   | none | first `path`, then the `rel="next"` URL of the RFC 8288 `Link` header, as given (absolute, or relative to the base URL) | no `rel="next"` link |
//! | `none`   | none | one request | after it |
//!
//! `page_size` is 1 to 10000. Two options naming the same query parameter
//! are refused. Unknown options and bad values are `config` errors (code
//! `invalid-options`) naming the option.
//!
//! # Reading, incremental reads and the cursor
//!
//! A `read` fetches one page and returns at most `max` of its records; the
//! rest of the page is returned by the next `read`, which fetches the same
//! page again and skips what was returned (the cursor's `skip`). Each
//! record must be a JSON object; its key is its `key` field (a string or a
//! number).
//!
//! With `incremental`, every record's `field` value raises the high-water
//! mark (values are compared as numbers when both are numbers or numeric
//! text, otherwise as text: ISO 8601 timestamps written in one format and
//! zone order correctly). A `read` from a cursor *without* a pass under way
//! but *with* a mark (the cursor a finished pass leaves, which the host
//! commits for an entity with `incremental = true`) starts a new pass from
//! the first page and sends `param=<mark>` with every request of that pass,
//! so the API returns only what changed after it (the API decides whether
//! "after" is strict). The mark a pass filters by stays fixed while it
//! pages; the new mark is kept beside it. A record modified while a pass
//! runs may be missed by the next pass if the API has already returned a
//! later one: run incremental reads when writes are quiet, or prefer an
//! inclusive filter at the API.
//!
//! The cursor is JSON text, for example during a pass and after it:
//!
//! ```json
//! {"v":1,"pass":{"offset":200,"skip":3,"since":"2024-05-01T10:00:00.000Z"},"high_water":"2024-05-02T08:00:00.000Z"}
//! {"v":1,"high_water":"2024-05-02T08:00:00.000Z"}
//! ```
//!
//! - `v`: the format version, `1`.
//! - `pass`: present while a pass is under way: the page to read next
//!   (`after` for `cursor`, `offset`, `page`, or `url` for `link`; absent:
//!   the first page), `skip` (records of that page already returned) and
//!   `since` (the mark this pass filters by, if any).
//! - `high_water`: the greatest `incremental.field` value seen, as the API
//!   wrote it (string or number).
//!
//! With `incremental`, any text that is not a JSON object is accepted as a
//! bare mark (`sluice cursor reset --to 2024-05-01T00:00:00Z`). Any other
//! cursor is a `validation` error with code `invalid-cursor`.
//!
//! # Errors
//!
//! A failed request fails the whole `read` (the host retries the transient
//! ones from the same cursor and pauses on `auth`):
//!
//! | Failure | Category | Code |
//! |---------|----------|------|
//! | a non-2xx response | by status, see [`sluice_sdk::classify_response`] | `unauthorized` (401), `forbidden` (403), `rate-limited` (429, retryable), `not-found` (404), `server-error`... |
//! | timeout, connection failure, host refusal, too large | see [`sluice_sdk::classify_http_error`] | `timeout`, `connect-failed`, `capability-denied`, `response-too-large` |
//! | a 2xx body that is not JSON, has no array at `records`, or whose next token/link is not usable (not a string or number, or the page just read) | `mapping` | `malformed-response` |
//! | a cursor this source did not make | `validation` | `invalid-cursor` |
//!
//! Per record (extract failures, with the record's JSON as raw text):
//! `not-an-object` (a record that is not a JSON object) and `missing-key`
//! (no string or number at `key`), both `validation`.

mod cursor;
mod options;

use serde_json::Value as Json;
use sluice_rest_fields::{field, key_text, malformed, with_param};
use sluice_sdk::http::{Host, Request, Response, Transport};
use sluice_sdk::{ExtractBatch, ExtractFailure, Extracted, Options, PluginError, Source};

use crate::cursor::{Cursor, Pass, mark_text, next_link};
use crate::options::{Pagination, SourceOptions};

/// The `rest` source. `T` sends the HTTP requests: the host's `http`
/// import in the component, a fake in unit tests.
#[derive(Debug)]
pub struct RestSource<T = Host> {
    options: SourceOptions,
    transport: T,
}

impl<T: Transport + Default + 'static> Source for RestSource<T> {
    type Options = SourceOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        Ok(RestSource::new(
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

impl<T: Transport> RestSource<T> {
    fn new(options: SourceOptions, transport: T) -> Self {
        RestSource { options, transport }
    }

    /// Reads at most `max` records of the page the cursor points at.
    #[allow(
        clippy::result_large_err,
        reason = "items of the WIT `extract-batch`, built once per record"
    )]
    fn read_page(&mut self, cursor: Option<&str>, max: u32) -> Result<ExtractBatch, PluginError> {
        let incremental = self.options.incremental.is_some();
        let mut cursor = match cursor {
            Some(text) => Cursor::decode(text, incremental)?,
            None => Cursor::start(),
        };
        let pass = match cursor.pass.take() {
            Some(pass) => pass,
            None => Pass {
                since: if incremental {
                    cursor.high_water.as_ref().and_then(mark_text)
                } else {
                    None
                },
                ..Pass::default()
            },
        };
        let request = Request::get(self.page_url(&pass));
        let response = self.transport.fetch(&request)?;
        if !response.is_success() {
            return Err(response.error());
        }
        let body: Json = response.json()?;
        let records = match body.pointer(&self.options.records) {
            Some(Json::Array(records)) => records,
            _ if self.options.records.is_empty() => {
                return Err(malformed(&response, "the body is not an array of records"));
            }
            _ => {
                return Err(malformed(
                    &response,
                    &format!("no array of records at `{}`", self.options.records),
                ));
            }
        };
        let skip = usize::try_from(pass.skip)
            .unwrap_or(usize::MAX)
            .min(records.len());
        let max = usize::try_from(max.max(1)).unwrap_or(usize::MAX);
        let label = page_label(&pass);
        let items: Vec<_> = records
            .iter()
            .enumerate()
            .skip(skip)
            .take(max)
            .map(|(n, record)| self.item(record, &label, n, &mut cursor))
            .collect();
        let consumed = skip + items.len();
        let done = if consumed < records.len() {
            cursor.pass = Some(Pass {
                skip: consumed as u64,
                ..pass
            });
            false
        } else {
            match self.next_pass(&pass, &body, &response, records.len())? {
                Some(next) => {
                    cursor.pass = Some(next);
                    false
                }
                None => true,
            }
        };
        Ok(ExtractBatch {
            items,
            cursor: Some(cursor.encode()),
            done,
        })
    }

    /// The URL of the page a pass points at.
    fn page_url(&self, pass: &Pass) -> String {
        if let (Pagination::Link, Some(url)) = (&self.options.pagination, &pass.url) {
            return url.clone();
        }
        let mut url = self.options.base_url();
        if let (Some(incremental), Some(since)) = (&self.options.incremental, &pass.since) {
            url = with_param(&url, &incremental.param, since);
        }
        match &self.options.pagination {
            Pagination::Cursor { param, .. } => {
                if let Some(after) = &pass.after {
                    url = with_param(&url, param, after);
                }
            }
            Pagination::Offset {
                param,
                limit_param,
                page_size,
            } => {
                url = with_param(&url, param, &pass.offset.unwrap_or(0).to_string());
                url = with_param(&url, limit_param, &page_size.to_string());
            }
            Pagination::Page {
                param,
                start,
                page_size_param,
                page_size,
            } => {
                url = with_param(&url, param, &pass.page.unwrap_or(*start).to_string());
                url = with_param(&url, page_size_param, &page_size.to_string());
            }
            Pagination::Link | Pagination::None => {}
        }
        url
    }

    /// The pass's next page after a page of `count` records was read
    /// whole; `None` when that was the last page.
    fn next_pass(
        &self,
        pass: &Pass,
        body: &Json,
        response: &Response,
        count: usize,
    ) -> Result<Option<Pass>, PluginError> {
        let count = count as u64;
        let next = |pass: Pass| {
            Some(Pass {
                skip: 0,
                since: pass.since,
                ..pass
            })
        };
        Ok(match &self.options.pagination {
            Pagination::None => None,
            Pagination::Offset { page_size, .. } => {
                if count == 0 || count < *page_size {
                    None
                } else {
                    next(Pass {
                        offset: Some(pass.offset.unwrap_or(0) + count),
                        ..pass.clone()
                    })
                }
            }
            Pagination::Page {
                start, page_size, ..
            } => {
                if count == 0 || count < *page_size {
                    None
                } else {
                    next(Pass {
                        page: Some(pass.page.unwrap_or(*start) + 1),
                        ..pass.clone()
                    })
                }
            }
            Pagination::Cursor { next: pointer, .. } => {
                let token = match body.pointer(pointer) {
                    None | Some(Json::Null) => None,
                    Some(Json::String(token)) if token.is_empty() => None,
                    Some(Json::String(token)) => Some(token.clone()),
                    Some(Json::Number(token)) => Some(token.to_string()),
                    Some(_) => {
                        return Err(malformed(
                            response,
                            &format!("the next token at `{pointer}` is not a string or number"),
                        ));
                    }
                };
                match token {
                    None => None,
                    Some(token) if pass.after.as_ref() == Some(&token) => {
                        return Err(malformed(
                            response,
                            "the next page's token is the one just read",
                        ));
                    }
                    Some(token) => next(Pass {
                        after: Some(token),
                        ..pass.clone()
                    }),
                }
            }
            Pagination::Link => {
                let links = response
                    .headers
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
                    .map(|(_, value)| value.as_str());
                match next_link(links) {
                    None => None,
                    Some(url) if pass.url.as_ref() == Some(&url) => {
                        return Err(malformed(
                            response,
                            "the next page's link is the page just read",
                        ));
                    }
                    Some(url) => next(Pass {
                        url: Some(url),
                        ..pass.clone()
                    }),
                }
            }
        })
    }

    /// One record of a page as an item, noting its incremental value.
    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`, built once per record"
    )]
    fn item(
        &self,
        record: &Json,
        page: &str,
        n: usize,
        cursor: &mut Cursor,
    ) -> Result<Extracted, ExtractFailure> {
        let position = format!("{}:{page}:{n}", self.options.path);
        let Json::Object(object) = record else {
            return Err(ExtractFailure::new(
                position,
                record.to_string(),
                PluginError::validation(
                    "not-an-object",
                    "the API returned a record that is not a JSON object",
                ),
            ));
        };
        let Some(key) = field(record, &self.options.key).and_then(key_text) else {
            return Err(ExtractFailure::new(
                position,
                record.to_string(),
                PluginError::validation(
                    "missing-key",
                    format!(
                        "the API returned a record without a `{}` (the `key` option)",
                        self.options.key
                    ),
                )
                .with_field(self.options.key.clone()),
            ));
        };
        if let Some(incremental) = &self.options.incremental
            && let Some(mark) = field(record, &incremental.field)
        {
            cursor.observe(mark);
        }
        Ok(Extracted::new(key, object))
    }
}

/// The page a pass points at, for item positions: `offset=200`, `start`...
fn page_label(pass: &Pass) -> String {
    if let Some(after) = &pass.after {
        format!("after={after}")
    } else if let Some(offset) = pass.offset {
        format!("offset={offset}")
    } else if let Some(page) = pass.page {
        format!("page={page}")
    } else if let Some(url) = &pass.url {
        url.clone()
    } else {
        "start".to_owned()
    }
}

sluice_sdk::export_source!(RestSource);

#[cfg(test)]
mod tests;
