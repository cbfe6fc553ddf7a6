//! `crm`: a target that writes objects (contacts by default) to a
//! HubSpot-style CRM v3 API in batches, through the host's `http` import.
//!
//! Requests go to paths relative to the connection's base URL; the host
//! adds the credentials, checks the allow-list, enforces timeouts and size
//! caps and honours `Retry-After`. The `entity` arguments are not used:
//! the `object` option names what is written. `begin` and `commit` do
//! nothing: every batch request is final once the CRM answers it, and
//! there is nothing to flush.
//!
//! # Options
//!
//! | Option        | Default      | Meaning |
//! |---------------|--------------|---------|
//! | `object`      | `"contacts"` | The CRM object type: `/crm/v3/objects/{object}`. Letters, digits, `_`, `-`, `.`. |
//! | `mode`        | `"upsert"`   | How records are written: `insert`, `update`, `upsert` or `create-if-missing` (below). |
//! | `id_property` | `"email"`    | The correlation key: the unique property records are matched by (not `id`). |
//! | `properties`  | all fields   | When given (a non-empty list), only these fields of a record are written. |
//! | `batch_size`  | `100`        | Inputs per request, 1 to 100. |
//!
//! Unknown options and bad values are `config` errors (code
//! `invalid-options`) naming the option.
//!
//! # Records and write modes
//!
//! A record's fields become the object's `properties`, except `id`, which
//! is never written as a property; with the `properties` option, only the
//! listed fields. Values are sent as text, as HubSpot's OpenAPI document
//! has them (`additionalProperties: {type: string}`): a string as it is,
//! `null` as `""` (which clears the property), a number or boolean as its
//! JSON text. A list or nested object is a `validation` error (code
//! `not-a-text-value`, field: the property) and the record is not sent.
//! Every input carries an `objectWriteTraceId` (the record's position in
//! the `write`), which the CRM echoes on its result and in the `context`
//! of its error.
//!
//! | `mode`              | Request                                   | Records need  | Outcome |
//! |---------------------|-------------------------------------------|---------------|---------|
//! | `insert`            | `POST .../batch/create` `{"inputs":[{"associations":[],"objectWriteTraceId":"0","properties":{…}}]}` | `id_property` | `created(id)` |
//! | `update`            | `POST .../batch/update` `{"inputs":[{"id":"<id>","objectWriteTraceId":"0","properties":{…}}]}` | `id` (the CRM id) | `updated(id)` |
//! | `upsert`            | `POST .../batch/upsert` `{"inputs":[{"idProperty":"email","id":"<email>","objectWriteTraceId":"0","properties":{…}}]}` | `id_property` | `created(id)` or `updated(id)`, from the CRM's `new` |
//! | `create-if-missing` | `POST .../search` by `id_property`, then `batch/create` of the missing ones | `id_property` | `created(id)`; an object that already exists is `unchanged` and never overwritten |
//!
//! A record without the key its mode needs (missing, `null`, blank, or not
//! a string, number or boolean) gets a `validation` error naming the field
//! and is not sent. Records are sent in requests of at most `batch_size`
//! inputs (and about 900 KiB), in order; a `write` with more records is
//! split. Two records with the same key never share a request (the CRM
//! refuses duplicate ids in a batch): the later one goes into a later
//! request, so it is written after the earlier one. In
//! `create-if-missing` mode the later one is `unchanged` instead. Keys are
//! compared ignoring case and surrounding spaces, as the CRM compares
//! unique values.
//!
//! `create-if-missing` looks up to 100 keys up per search: one filter
//! group with one `IN` filter, `{"propertyName": id_property, "operator":
//! "IN", "values": [...]}` (the keys in lowercase, as HubSpot compares `IN`
//! values of text properties), `"sorts": ["hs_object_id"]`, `"properties":
//! [id_property]`, `"limit": 100`, `"after": "0"` then `paging.next.after`
//! (every member HubSpot's search request requires; it allows at most five
//! filter groups, and this uses one). An object created by someone else
//! between the search and the create is reported by the CRM as
//! `OBJECT_ALREADY_EXISTS`, which this mode reports `unchanged` too.
//!
//! # Outcomes and errors
//!
//! The CRM answers a batch with 200/201 (all written) or 207 (`results`
//! and `errors`). Each result and error is tied to its inputs by the
//! `objectWriteTraceId` it echoes (an error's `context.objectWriteTraceId`
//! may name several), else by the ids in an error's `context.ids` (or
//! `context.id`), else by the key the CRM echoes (a result's `id` in
//! `update` mode, its `properties.{id_property}` otherwise; an error's
//! `context.{id_property}` or `context.email`), else by position. A batch
//! whose `status` is not `COMPLETE` (`CANCELED`, `PENDING`, `PROCESSING`)
//! wrote only what its `results` list: the other inputs get a `transient`
//! error (`batch-canceled`, `batch-incomplete`), so the host sends them
//! again. Per record:
//!
//! | CRM error                                         | Category      | Code |
//! |---------------------------------------------------|---------------|------|
//! | `VALIDATION_ERROR` (field: the property named, from the nested `errors` or the JSON embedded in the message) | `validation` | the detail's code, kebab-cased (`INVALID_EMAIL` → `invalid-email`, `INVALID_OPTION` → `invalid-option`...), else `invalid-value` |
//! | a detail `PROPERTY_DOESNT_EXIST`                  | `config`      | `property-doesnt-exist` (field: the property) |
//! | `OBJECT_ALREADY_EXISTS`, `CONFLICT`               | `correlation` | `duplicate` (`unchanged` in `create-if-missing` mode) |
//! | `OBJECT_NOT_FOUND` (update of a missing id; `context.ids` names them) | `correlation` | `not-found` |
//! | a plan or property limit (`LIMIT_EXCEEDED`, `CUSTOM_PROPERTY_LIMIT`...; field: the property) | `plan-quota` | `property-limit` (`plan-limit` when no property is involved) |
//! | `RATE_LIMITS`                                     | `transient`   | `rate-limited` |
//! | another category with an HTTP `status`            | by status     | see [`sluice_sdk::classify_response`] |
//! | anything else                                     | `validation`  | `rejected` |
//! | nothing in the answer about the record            | `mapping`     | `unconfirmed` |
//!
//! Records refused before sending: `not-an-object`, `missing-key` (field
//! `id_property`), `missing-id` (field `id`), `not-a-text-value` (field:
//! the property), all `validation`.
//!
//! A request that fails as a whole fails the batch (the outer error of
//! `write`), so the host pauses the run on `auth` and retries the
//! transient ones. The status decides the category; the body refines it
//! (a `VALIDATION_ERROR` body on a 401, 403, 429 or 5xx does not make it a
//! validation error):
//!
//! | Failure                                              | Category       | Code |
//! |------------------------------------------------------|----------------|------|
//! | 401 `EXPIRED_AUTHENTICATION` / `INVALID_AUTHENTICATION` / other | `auth` | `expired-authentication` / `invalid-authentication` / `unauthorized` |
//! | 403 `MISSING_SCOPES` (the scopes from `requiredScopes`, `requiredGranularScopes`) | `permissions` | `missing-scopes` |
//! | 429 with `policyName` `DAILY` (not retried: the daily quota resets at midnight, account time zone) | `plan-quota` | `daily-limit` |
//! | 429 otherwise (retryable)                            | `transient`    | `rate-limited` |
//! | 400 naming a property that does not exist (`PROPERTY_DOESNT_EXIST`), for every record at once, after one request | `config` | `property-doesnt-exist` (field: the property) |
//! | 402, or a plan limit for the whole request           | `plan-quota`   | `payment-required`, `plan-limit`, `property-limit` |
//! | 404: the endpoint does not exist (the message names it, e.g. `POST /crm/v3/objects/deals/batch/upsert`) | `config` | `unknown-endpoint` (field `object`) |
//! | 502, 503, 504, other 5xx (retryable)                 | `transient`    | `bad-gateway`, `service-unavailable`, `gateway-timeout`, `server-error` |
//! | timeout, connection failure, host refusal, too large | see [`sluice_sdk::classify_http_error`] | `timeout`, `connect-failed`, `capability-denied`, `response-too-large` |
//! | a 2xx body that is not JSON                          | `mapping`      | `malformed-response` |
//! | `create-if-missing`: the CRM refuses to search by `id_property` | `config` | `invalid-id-property` |
//!
//! Three refinements keep one record's problem from failing others, and
//! keep records already written from being written twice:
//!
//! - A request refused as a whole with 400, 409, 413 or 422 and a
//!   `validation` or `correlation` error whose `context` names inputs
//!   (`objectWriteTraceId`, `ids`) gives those inputs the error; the others
//!   are sent again, once.
//! - Such a refusal that names no input (one bad input can make a CRM
//!   refuse the whole batch) is split in halves and retried, down to the
//!   single record the error belongs to, within at most 16 further
//!   requests per request ([`MAX_SPLIT_REQUESTS`]); records not told
//!   apart by then get the error, saying that they may be fine. A refusal
//!   that concerns every record alike (a missing property, credentials,
//!   quotas) is never split.
//! - When a `write` needs several requests and a later one fails as a
//!   whole after an earlier one wrote records, the written records keep
//!   their outcomes, and that request's records and those not yet sent
//!   each get the failure as their own error (the host retries them when
//!   it is transient), instead of the whole batch failing.

mod options;
mod outcome;
mod prepare;

use sluice_crm_api::{errors as crm_errors, names};

use std::collections::{HashSet, VecDeque};

use serde_json::Value as Json;
use sluice_sdk::http::{Host, Request, Response, Transport};
use sluice_sdk::{ErrorCategory, Options, Outgoing, PluginError, Target, WriteOutcome};

use crate::options::{Mode, TargetOptions};
use crate::prepare::{Prepared, key_text, match_key};

/// The most search pages one existence check follows.
const MAX_LOOKUP_PAGES: usize = 50;

/// The most further requests a refused request may cost when it is split
/// to find the records its error belongs to: enough to isolate one or two
/// bad records in a request of 100, few enough that a refusal of every
/// record cannot multiply the requests (and run into the CRM's rate
/// limits).
const MAX_SPLIT_REQUESTS: usize = 16;

/// The `crm` target. `T` sends the HTTP requests: the host's `http` import
/// in the component, a fake in unit tests.
#[derive(Debug)]
pub struct CrmTarget<T = Host> {
    options: TargetOptions,
    transport: T,
}

/// One record's outcome, as `write` returns it.
type Outcome = Result<WriteOutcome, PluginError>;

/// Why a request did not give per-input outcomes.
#[derive(Debug)]
struct Failed {
    /// The classified error.
    error: PluginError,
    /// Whether the error may belong to one input of the request (see
    /// [`CrmTarget::send_chunk`]).
    per_input: bool,
    /// The inputs (positions in the request) the error names, by trace
    /// id or id in its `context`.
    named: Vec<usize>,
}

impl Failed {
    /// A failure of the request as a whole.
    fn whole(error: PluginError) -> Self {
        Failed {
            error,
            per_input: false,
            named: Vec::new(),
        }
    }
}

impl<T: Transport + Default + 'static> Target for CrmTarget<T> {
    type Options = TargetOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        Ok(CrmTarget::new(
            TargetOptions::parse(&options)?,
            T::default(),
        ))
    }

    /// Nothing to prepare: every request stands alone.
    fn begin(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn write(
        &mut self,
        _entity: &str,
        records: Vec<Outgoing>,
    ) -> Result<Vec<Outcome>, PluginError> {
        self.write_records(&records)
    }

    /// Nothing to flush: every request is final once the CRM answers it.
    fn commit(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }
}

impl<T: Transport> CrmTarget<T> {
    fn new(options: TargetOptions, transport: T) -> Self {
        CrmTarget { options, transport }
    }

    /// Writes a batch: prepares each record, checks existence first in
    /// `create-if-missing` mode, sends the inputs in chunks and ties the
    /// answers back to the records.
    fn write_records(&mut self, records: &[Outgoing]) -> Result<Vec<Outcome>, PluginError> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; records.len()];
        let mut ready = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            match prepare::prepare(&self.options, index, record) {
                Ok(prepared) => ready.push(prepared),
                Err(error) => outcomes[index] = Some(Err(error)),
            }
        }
        if self.options.mode == Mode::CreateIfMissing {
            ready = self.keep_missing(ready, &mut outcomes)?;
        }
        let chunks = prepare::chunks(ready, self.options.batch_size);
        // Split requests left per request of the plan: see MAX_SPLIT_REQUESTS.
        let mut budget = vec![MAX_SPLIT_REQUESTS; chunks.len()];
        let mut queue: VecDeque<(usize, Vec<Prepared>)> = chunks.into_iter().enumerate().collect();
        let mut wrote = false;
        while let Some((origin, chunk)) = queue.pop_front() {
            match self.send_chunk(&chunk) {
                Ok(answers) => {
                    wrote |= answers.iter().any(Result::is_ok);
                    for (input, answer) in chunk.iter().zip(answers) {
                        outcomes[input.index] = Some(answer);
                    }
                }
                Err(Failed {
                    error,
                    per_input: true,
                    named,
                }) if !named.is_empty() && named.len() < chunk.len() => {
                    // The error names its inputs: theirs; the others were
                    // refused with them and are sent again (once).
                    let mut rest = Vec::with_capacity(chunk.len() - named.len());
                    for (position, input) in chunk.into_iter().enumerate() {
                        if named.contains(&position) {
                            outcomes[input.index] = Some(self.refusal(&error));
                        } else {
                            rest.push(input);
                        }
                    }
                    if budget[origin] > 0 {
                        budget[origin] -= 1;
                        queue.push_front((origin, rest));
                    } else {
                        for input in rest {
                            outcomes[input.index] = Some(Err(refused_with_others(&error)));
                        }
                    }
                }
                Err(Failed {
                    error,
                    per_input: true,
                    named,
                }) => {
                    if chunk.len() == 1 || !named.is_empty() {
                        for input in &chunk {
                            outcomes[input.index] = Some(self.refusal(&error));
                        }
                    } else if budget[origin] >= 2 {
                        budget[origin] -= 2;
                        let mut first = chunk;
                        let second = first.split_off(first.len() / 2);
                        queue.push_front((origin, second));
                        queue.push_front((origin, first));
                    } else {
                        let error = not_isolated(error, chunk.len());
                        for input in &chunk {
                            outcomes[input.index] = Some(Err(error.clone()));
                        }
                    }
                }
                Err(Failed { error, .. }) => {
                    if !wrote {
                        return Err(error);
                    }
                    for input in chunk.iter().chain(queue.iter().flat_map(|(_, c)| c)) {
                        outcomes[input.index] = Some(Err(error.clone()));
                    }
                    break;
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Err(not_written())))
            .collect())
    }

    /// A record's outcome when the CRM refused it: its error, except in
    /// `create-if-missing` mode, where an object that exists already is
    /// what was wanted.
    fn refusal(&self, error: &PluginError) -> Outcome {
        let existed = self.options.mode == Mode::CreateIfMissing
            && error.category == ErrorCategory::Correlation
            && error.code == "duplicate";
        if existed {
            Ok(WriteOutcome::Unchanged)
        } else {
            Err(error.clone())
        }
    }

    /// Sends one batch request and ties its answer to the inputs.
    fn send_chunk(&mut self, chunk: &[Prepared]) -> Result<Vec<Outcome>, Failed> {
        let action = match self.options.mode {
            Mode::Insert | Mode::CreateIfMissing => "create",
            Mode::Update => "update",
            Mode::Upsert => "upsert",
        };
        let url = format!("/crm/v3/objects/{}/batch/{action}", self.options.object);
        let request = Request::post_json(url.clone(), &prepare::batch_body(chunk));
        let response = self.transport.fetch(&request).map_err(Failed::whole)?;
        if matches!(response.status, 200 | 201 | 207) {
            return outcome::outcomes(
                self.options.mode,
                &self.options.id_property,
                chunk,
                &response,
            )
            .map_err(Failed::whole);
        }
        let error = self.failure(&response, "POST", &url);
        // One bad input can make the CRM refuse the whole batch with a
        // validation or correlation error; a missing property, bad
        // credentials or a quota refuse every input alike.
        let per_input = matches!(response.status, 400 | 409 | 413 | 422)
            && matches!(
                error.category,
                ErrorCategory::Validation | ErrorCategory::Correlation
            );
        let named = if per_input {
            outcome::named_inputs(&response, chunk, &self.options.id_property)
        } else {
            Vec::new()
        };
        Err(Failed {
            error,
            per_input,
            named,
        })
    }

    /// `create-if-missing`: looks the keys up, reports the records whose
    /// object exists (and repeats of a key) `unchanged`, and returns the
    /// ones to create.
    fn keep_missing(
        &mut self,
        ready: Vec<Prepared>,
        outcomes: &mut [Option<Outcome>],
    ) -> Result<Vec<Prepared>, PluginError> {
        let mut keys: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for input in &ready {
            if seen.insert(input.match_key.clone()) {
                keys.push(input.match_key.clone());
            }
        }
        let mut existing = HashSet::new();
        for group in keys.chunks(prepare::MAX_IN_VALUES) {
            existing.extend(self.lookup(group)?);
        }
        let mut creating = HashSet::new();
        let mut missing = Vec::with_capacity(ready.len());
        for input in ready {
            if existing.contains(&input.match_key) || !creating.insert(input.match_key.clone()) {
                outcomes[input.index] = Some(Ok(WriteOutcome::Unchanged));
            } else {
                missing.push(input);
            }
        }
        Ok(missing)
    }

    /// Which of `keys` exist, as match keys.
    fn lookup(&mut self, keys: &[String]) -> Result<HashSet<String>, PluginError> {
        let property = self.options.id_property.clone();
        let url = format!("/crm/v3/objects/{}/search", self.options.object);
        let mut found = HashSet::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_LOOKUP_PAGES {
            let body = prepare::lookup_body(&property, keys, after.as_deref());
            let response = self
                .transport
                .fetch(&Request::post_json(url.clone(), &body))?;
            if !response.is_success() {
                return Err(self.lookup_failure(&response, &url));
            }
            let page: Json = response.json()?;
            let Some(results) = page.get("results").and_then(Json::as_array) else {
                return Err(PluginError::new(
                    ErrorCategory::Mapping,
                    "malformed-response",
                    format!(
                        "the CRM's search answer has no `results` list: {}",
                        sluice_sdk::describe_response(
                            response.status,
                            &response.headers,
                            &response.body
                        )
                    ),
                ));
            };
            for result in results {
                let key = result
                    .get("properties")
                    .and_then(|p| p.get(&property))
                    .and_then(key_text);
                if let Some(key) = key {
                    found.insert(match_key(&key));
                }
            }
            match page.pointer("/paging/next/after").and_then(key_text) {
                Some(next) if Some(&next) != after.as_ref() => after = Some(next),
                _ => return Ok(found),
            }
        }
        Ok(found)
    }

    /// The error for a failed request to `method url`: a 404 means the
    /// endpoint does not exist (a wrong `object`, or a base URL that is not
    /// the CRM's).
    fn failure(&self, response: &Response, method: &str, url: &str) -> PluginError {
        let error = crm_errors::classify_failure(response);
        if response.status == 404 {
            return PluginError::new(
                ErrorCategory::Config,
                "unknown-endpoint",
                format!(
                    "the CRM has no endpoint `{method} {url}`: check the `object` option (`{}`) and the connection's base URL: {}",
                    self.options.object, error.message
                ),
            )
            .with_field("object");
        }
        error
    }

    /// The error for a failed existence check: a refused search is a
    /// configuration problem (the CRM cannot search by `id_property`).
    fn lookup_failure(&self, response: &Response, url: &str) -> PluginError {
        let error = self.failure(response, "POST", url);
        if error.category != ErrorCategory::Validation {
            return error;
        }
        PluginError::new(
            ErrorCategory::Config,
            "invalid-id-property",
            format!(
                "the CRM refused to search by `{}` (`id_property`) to find existing records: {}",
                self.options.id_property, error.message
            ),
        )
        .with_field("id_property")
    }
}

/// The error of records of a refused request that could not be told apart
/// within [`MAX_SPLIT_REQUESTS`]: the CRM's error, saying so.
fn not_isolated(mut error: PluginError, records: usize) -> PluginError {
    error.message = format!(
        "{} (the CRM refused a request of {records} records as a whole; splitting it further to find the record at fault was given up, so this record may be fine: replay it once the others are fixed)",
        error.message
    );
    error
}

/// The error of a record sent again after the CRM refused a request
/// because of other records, when no further request may be sent.
fn refused_with_others(error: &PluginError) -> PluginError {
    PluginError::new(
        ErrorCategory::Transient,
        "refused-with-others",
        format!(
            "the CRM refused this record's request because of other records ({}); it was not written: replay it",
            error.message
        ),
    )
}

/// The error for a record no request answered for (not expected).
fn not_written() -> PluginError {
    PluginError::new(
        ErrorCategory::Mapping,
        "unconfirmed",
        "the record was not written and no error was reported for it",
    )
}

sluice_sdk::export_target!(CrmTarget);

#[cfg(test)]
mod tests;
