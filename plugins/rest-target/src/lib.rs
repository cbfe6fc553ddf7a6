//! `rest`: a target that writes records to a JSON REST API described by
//! its options, through the host's `http` import.
//!
//! Requests go to paths relative to the connection's base URL (`connection
//! = "name"` on `[target]`); the host adds the credentials, checks the
//! allow-list, enforces timeouts and size caps and honours `Retry-After`.
//! The `entity` arguments are not used; `begin` and `commit` do nothing
//! (every request is final once the API answers it).
//!
//! # Options
//!
//! | Option            | Default    | Meaning |
//! |-------------------|------------|---------|
//! | `mode`            | (required) | `insert`, `update`, `upsert` or `create-if-missing` (below). |
//! | `correlation_key` | none       | The record field identifying the remote record: a name (`"email"`), a dotted path (`"properties.email"`) or a JSON pointer (`"/properties/email"`), looked up in the record, then in the body it becomes. Required by every mode but `insert`. |
//! | `create`          | none       | `{ method = "POST", path = "/items" }`: creates one record. `method` is `POST`, `PUT` or `PATCH`. |
//! | `update`          | none       | `{ method = "PATCH", path = "/items/{id}" }`: updates one record. |
//! | `lookup`          | none       | `{ path = "/items", param = "email", records = "", id = <id_pointer> }`: `GET path?param=<key>` finds the remote record; `records` points at the matches (an array, or one object; `""`: the body), `id` at the id in a match. `param` may be left out when `path` holds `{key}`. |
//! | `batch`           | none       | `{ path = "/items/batch", method = "POST", inputs = "/inputs", results = "/results", errors = "/errors", index = "/index", error_index = <index>, trace = <none>, size = 100 }`: a batch create endpoint (mode `insert` only), instead of `create`. |
//! | `body`            | the record | `{ record_at = "/properties", template = { associations = [] }, nest_dotted = false, text_values = false }`: how a record becomes a body (below). |
//! | `id_pointer`      | `"/id"`    | JSON pointer to the remote id in a write's answer (and, by default, in a lookup's match). |
//!
//! Paths are relative to the connection's base URL and may use the
//! placeholders `{id}` (the remote id the lookup found) and `{key}` (the
//! record's correlation key), percent-encoded. Each mode needs:
//!
//! | `mode`              | Needs | Does | Outcome |
//! |---------------------|-------|------|---------|
//! | `insert`            | `create` or `batch` | creates every record | `created(id)` |
//! | `update`            | `correlation_key`, `update`, and `lookup` when `update.path` uses `{id}` | looks the key up (if `lookup`), then updates | `updated(id)`; not found: `correlation`/`not-found` |
//! | `upsert`            | `correlation_key`, `create`, `update`, `lookup` | looks the key up: updates when found, creates otherwise | `updated(id)` or `created(id)` |
//! | `create-if-missing` | `correlation_key`, `create`, `lookup` | looks the key up: creates only when not found | `created(id)`, or `unchanged` when found (never overwritten) |
//!
//! The body of a create or update (and each batch input) is the record as
//! it is (a JSON object), unless `body` shapes it:
//!
//! - `record_at`: a JSON pointer where the record's fields go
//!   (`"/properties"` → `{"properties": {...}}`);
//! - `template`: members every body carries besides (`{ associations = []
//!   }`);
//! - `nest_dotted`: record fields named with dots (a mapping's target
//!   field `properties.email`) become nested objects
//!   (`{"properties": {"email": ...}}`);
//! - `text_values`: scalar values are sent as text (`null` as `""`,
//!   numbers and booleans as their JSON text), for APIs whose fields are
//!   strings; a list is then a `validation` error (`not-a-text-value`).
//!
//! Unknown options and bad values (a mode without what it needs, an
//! unknown placeholder) are `config` errors (code `invalid-options`)
//! naming the option.
//!
//! # Outcomes and errors
//!
//! Per record:
//!
//! | Answer | Outcome |
//! |--------|---------|
//! | 2xx | `created`/`updated`, with the id at `id_pointer` when the body has one |
//! | 409, or a 4xx whose body says `duplicate` or `already exists` | `correlation`/`duplicate` (`unchanged` in `create-if-missing`: someone created it since the lookup) |
//! | 404 from `update` | `correlation`/`not-found` |
//! | lookup: nothing found, in `update` mode | `correlation`/`not-found` |
//! | lookup: several matches | `correlation`/`ambiguous` |
//! | lookup: a match without an id at the `lookup.id` pointer, or an answer that is not JSON | `mapping`/`malformed-response` |
//! | other failures (400, 422, 402...) | see [`sluice_sdk::classify_response`]: `validation`/`bad-request`, `validation`/`unprocessable`, `plan-quota`/`payment-required`... |
//! | a record that is not a JSON object | `validation`/`not-an-object` |
//! | no usable `correlation_key` value (missing, null, blank, not a string/number/boolean) | `validation`/`missing-key` (field: the key) |
//!
//! Failures of the request as a whole — `auth` (401), `permissions`
//! (403), `transient` (408, 429, 5xx, timeouts), `connectivity` and
//! `config` (the host refused the request) — fail the whole `write` (the
//! host pauses on `auth` and retries transient ones), as long as no record
//! of this `write` was written yet. Once one was, the failing record and
//! the ones after it each get the failure as their own error instead (so
//! the written records are not written again when the host retries).
//!
//! # Batch endpoint
//!
//! In `batch` mode records are sent `size` at a time, as the array at the
//! `inputs` pointer of the body (`{"inputs": [record, ...]}`; `""` sends
//! the bare array). A 2xx answer must be JSON, of the shape:
//!
//! ```json
//! {"results": [{"index": 0, "id": "17"}, {"index": 2, "id": "18"}],
//!  "errors":  [{"index": 1, "status": 409, "message": "duplicate email"}]}
//! ```
//!
//! Both lists are optional. A result or error names its input by the
//! value at `index` (errors: at `error_index` when given): the input's
//! position in the request (0-based; a number or numeric text), or, with
//! `trace = "<member>"`, the trace id the target put in that member of
//! every input (the record's position in the `write`, as text) and the API
//! echoes; results without one are matched in order to the inputs not
//! otherwise accounted for. A
//! result's id is at `id_pointer`. An error's `status` (a number) is
//! classified as a single-record answer with that status would be
//! (409/`duplicate` → `correlation`/`duplicate`...), its `code` (text; else
//! its `category`, kebab-cased) replaces the code when there is no status,
//! and its `message` is kept; without either it is `validation`/`rejected`.
//! An input the answer says nothing about gets `mapping`/`unconfirmed`.
//!
//! A non-2xx answer for the whole request does not say which record it is
//! about. When it is a record-level refusal (400, 409, 422 classified
//! `validation` or `correlation`: one duplicate can make an API refuse the
//! whole batch), the request is split in halves and resent, down to the
//! record at fault, within at most 16 further requests per request
//! (`MAX_SPLIT_REQUESTS`); records not told apart by then get the error,
//! saying they may be fine. Other failures are the error of every record
//! of the request, or of the whole `write` under the rule above.
//!
//! A 401 whose body or `WWW-Authenticate` header says the credential
//! expired gets code `expired-token`, one that says it is invalid or
//! revoked `invalid-token` (category `auth` either way).
//!
//! # HubSpot recipe
//!
//! The dedicated `crm` target is the better fit for HubSpot (it upserts,
//! ties answers by trace id, maps HubSpot's error bodies). With `rest`,
//! batch-create contacts as HubSpot's OpenAPI document requires (property
//! values are strings, every create input has `associations`), tying
//! answers by `objectWriteTraceId`:
//!
//! ```toml
//! [target]
//! plugin = "rest"
//! connection = "hubspot"   # base_url = "https://api.hubapi.com"
//! options = { mode = "insert",
//!   body = { record_at = "/properties", template = { associations = [] }, text_values = true },
//!   batch = { path = "/crm/v3/objects/contacts/batch/create", size = 100,
//!             trace = "objectWriteTraceId", index = "/objectWriteTraceId",
//!             error_index = "/context/objectWriteTraceId/0" } }
//! ```
//!
//! One at a time, with a lookup by email (`upsert`), the single-object
//! endpoints take the same body: `create = { method = "POST", path =
//! "/crm/v3/objects/contacts" }`, `update = { method = "PATCH", path =
//! "/crm/v3/objects/contacts/{id}" }`, `lookup = { path =
//! "/crm/v3/objects/contacts/{key}?idProperty=email", records = "" }` (a
//! 404 there means "not found"), `correlation_key = "email"` (or
//! `"properties.email"` / `"/properties/email"` when the records are
//! already nested).

mod batch;
mod options;
mod shape;

use serde_json::Value as Json;
use sluice_rest_fields::{field, key_text, malformed, with_param};
use sluice_sdk::http::{Host, Request, Response, Transport};
use sluice_sdk::{ErrorCategory, Options, Outgoing, PluginError, Target, WriteOutcome};

use crate::options::{Endpoint, Mode, TargetOptions, fill};

/// One record's outcome, as `write` returns it.
type Outcome = Result<WriteOutcome, PluginError>;

/// The `rest` target. `T` sends the HTTP requests: the host's `http`
/// import in the component, a fake in unit tests.
#[derive(Debug)]
pub struct RestTarget<T = Host> {
    options: TargetOptions,
    transport: T,
}

impl<T: Transport + Default + 'static> Target for RestTarget<T> {
    type Options = TargetOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        Ok(RestTarget::new(
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
        if self.options.batch.is_some() {
            batch::write(&self.options, &mut self.transport, &records)
        } else {
            self.write_each(&records)
        }
    }

    /// Nothing to flush: every request is final once the API answers it.
    fn commit(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }
}

/// Whether an error is about the request as a whole rather than the
/// record: credentials, permissions, the network, the host, load.
pub(crate) fn is_whole(error: &PluginError) -> bool {
    matches!(
        error.category,
        ErrorCategory::Auth
            | ErrorCategory::Permissions
            | ErrorCategory::Transient
            | ErrorCategory::Connectivity
            | ErrorCategory::Config
    )
}

/// Collects per-record outcomes under the whole-request rule: a whole
/// failure before anything was written fails the `write`; after, it is the
/// error of this record and every later one.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    outcomes: Vec<Outcome>,
    wrote: bool,
    stopped: Option<PluginError>,
}

impl Outcomes {
    /// The error every remaining record gets, once a whole failure came
    /// after a write.
    pub(crate) fn stopped(&self) -> Option<&PluginError> {
        self.stopped.as_ref()
    }

    /// Records one outcome; `Err` to fail the whole `write`.
    pub(crate) fn push(&mut self, outcome: Outcome) -> Result<(), PluginError> {
        match outcome {
            Ok(outcome) => {
                self.wrote |= !matches!(outcome, WriteOutcome::Unchanged | WriteOutcome::Skip(_));
                self.outcomes.push(Ok(outcome));
            }
            Err(error) if is_whole(&error) => {
                if !self.wrote {
                    return Err(error);
                }
                self.stopped = Some(error.clone());
                self.outcomes.push(Err(error));
            }
            Err(error) => self.outcomes.push(Err(error)),
        }
        Ok(())
    }

    /// The outcomes, one per record pushed.
    pub(crate) fn into_vec(self) -> Vec<Outcome> {
        self.outcomes
    }
}

impl<T: Transport> RestTarget<T> {
    fn new(options: TargetOptions, transport: T) -> Self {
        RestTarget { options, transport }
    }

    /// Writes record after record through the single-record endpoints.
    fn write_each(&mut self, records: &[Outgoing]) -> Result<Vec<Outcome>, PluginError> {
        let mut outcomes = Outcomes::default();
        for record in records {
            let outcome = match outcomes.stopped() {
                Some(error) => Err(error.clone()),
                None => self.write_one(record),
            };
            outcomes.push(outcome)?;
        }
        Ok(outcomes.into_vec())
    }

    /// Writes one record as its mode says.
    fn write_one(&mut self, record: &Outgoing) -> Outcome {
        let record = Json::Object(record.record()?);
        let body = match &record {
            Json::Object(fields) => shape::body(&self.options.body, fields.clone())?,
            other => other.clone(),
        };
        let key = match &self.options.correlation_key {
            // The key is read from the record, else from the body it
            // becomes (a dotted path or a pointer reaches nested fields).
            Some(name) => Some(
                field(&record, name)
                    .or_else(|| field(&body, name))
                    .and_then(key_text)
                    .ok_or_else(|| {
                        PluginError::validation(
                    "missing-key",
                    format!("the record has no `{name}` (the `correlation_key`) to identify it by"),
                )
                .with_field(name.clone())
                    })?,
            ),
            None => None,
        };
        let key = key.as_deref();
        match self.options.mode {
            Mode::Insert => self.send(Action::Create, &body, None, key),
            Mode::Update => {
                let id = if self.options.lookup.is_some() {
                    match self.lookup(key.unwrap_or(""))? {
                        Some(id) => Some(id),
                        None => return Err(not_found(key.unwrap_or(""))),
                    }
                } else {
                    None
                };
                self.send(Action::Update, &body, id.as_deref(), key)
            }
            Mode::Upsert => match self.lookup(key.unwrap_or(""))? {
                Some(id) => self.send(Action::Update, &body, Some(&id), key),
                None => self.send(Action::Create, &body, None, key),
            },
            Mode::CreateIfMissing => match self.lookup(key.unwrap_or(""))? {
                Some(_) => Ok(WriteOutcome::Unchanged),
                None => match self.send(Action::Create, &body, None, key) {
                    Err(error) if is_duplicate(&error) => Ok(WriteOutcome::Unchanged),
                    outcome => outcome,
                },
            },
        }
    }

    /// Finds the remote id of the record with this correlation key.
    fn lookup(&mut self, key: &str) -> Result<Option<String>, PluginError> {
        let Some(lookup) = &self.options.lookup else {
            return Ok(None);
        };
        let mut url = fill(&lookup.path, None, Some(key));
        if let Some(param) = &lookup.param {
            url = with_param(&url, param, key);
        }
        let response = self.transport.fetch(&Request::get(url))?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(refine_auth(&response, response.error()));
        }
        let body: Json = response.json()?;
        let matches = match body.pointer(&lookup.records) {
            None | Some(Json::Null) => return Ok(None),
            Some(Json::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(one @ Json::Object(_)) => vec![one],
            Some(_) => {
                return Err(malformed(
                    &response,
                    &format!(
                        "the lookup's matches at `{}` are not a list or an object",
                        lookup.records
                    ),
                ));
            }
        };
        match matches.as_slice() {
            [] => Ok(None),
            [one] => {
                let pointer = self.options.lookup_id();
                one.pointer(pointer)
                    .and_then(key_text)
                    .map(Some)
                    .ok_or_else(|| {
                        malformed(
                            &response,
                            &format!("the lookup's match has no id at `{pointer}`"),
                        )
                    })
            }
            many => Err(PluginError::new(
                ErrorCategory::Correlation,
                "ambiguous",
                format!(
                    "{} remote records match `{}` = {key:?}; the correlation key must be unique",
                    many.len(),
                    self.options.correlation_key.as_deref().unwrap_or("")
                ),
            )),
        }
    }

    /// Sends a create or an update of one record and maps the answer.
    fn send(
        &mut self,
        action: Action,
        body: &Json,
        id: Option<&str>,
        key: Option<&str>,
    ) -> Outcome {
        let Endpoint { method, path } = match action {
            Action::Create => self.options.create.clone(),
            Action::Update => self.options.update.clone(),
        }
        .ok_or_else(|| PluginError::config("no endpoint for this write"))?;
        let request = Request::new(method.method(), fill(&path, id, key)).with_json(body);
        let response = self.transport.fetch(&request)?;
        answer_outcome(action, &response, self.options.id_pointer.as_str(), id)
    }
}

/// What a single-record request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Creates a record.
    Create,
    /// Updates a record.
    Update,
}

/// The outcome of a create or update answer.
pub(crate) fn answer_outcome(
    action: Action,
    response: &Response,
    id_pointer: &str,
    known_id: Option<&str>,
) -> Outcome {
    if response.is_success() {
        let id = serde_json::from_slice::<Json>(&response.body)
            .ok()
            .and_then(|body| body.pointer(id_pointer).and_then(key_text))
            .or_else(|| known_id.map(str::to_owned));
        return Ok(match action {
            Action::Create => WriteOutcome::Created(id),
            Action::Update => WriteOutcome::Updated(id),
        });
    }
    Err(failure(
        action,
        response.status,
        &refine_auth(response, response.error()),
    ))
}

/// Tells an expired credential from a refused one on a 401, when the
/// answer says which (its body, or its `WWW-Authenticate` header, e.g.
/// HubSpot's `EXPIRED_AUTHENTICATION` / `INVALID_AUTHENTICATION`, OAuth's
/// `error="invalid_token", error_description="The access token expired"`):
/// code `expired-token` or `invalid-token`; otherwise the error as it is.
pub(crate) fn refine_auth(response: &Response, error: PluginError) -> PluginError {
    if response.status != 401 {
        return error;
    }
    let mut said = String::from_utf8_lossy(&response.body[..response.body.len().min(16 * 1024)])
        .to_ascii_lowercase();
    if let Some(challenge) = response.header("www-authenticate") {
        said.push(' ');
        said.push_str(&challenge.to_ascii_lowercase());
    }
    let code = if said.contains("expired") {
        "expired-token"
    } else if said.contains("invalid") || said.contains("revoked") {
        "invalid-token"
    } else {
        return error;
    };
    PluginError {
        code: code.to_owned(),
        ..error
    }
}

/// Refines the default classification of a failed write: duplicates and
/// updates of missing records are correlation errors.
pub(crate) fn failure(action: Action, status: u16, error: &PluginError) -> PluginError {
    let text = error.message.to_ascii_lowercase();
    if status == 409
        || ((400..500).contains(&status)
            && (text.contains("duplicate") || text.contains("already exists")))
    {
        return PluginError::new(
            ErrorCategory::Correlation,
            "duplicate",
            error.message.clone(),
        );
    }
    if status == 404 && action == Action::Update {
        return PluginError::new(
            ErrorCategory::Correlation,
            "not-found",
            error.message.clone(),
        );
    }
    error.clone()
}

/// Whether an error says the record already exists.
fn is_duplicate(error: &PluginError) -> bool {
    error.category == ErrorCategory::Correlation && error.code == "duplicate"
}

/// The error for an update whose record the lookup did not find.
fn not_found(key: &str) -> PluginError {
    PluginError::new(
        ErrorCategory::Correlation,
        "not-found",
        format!("no remote record has the correlation key {key:?}; nothing to update"),
    )
}

sluice_sdk::export_target!(RestTarget);

#[cfg(test)]
mod tests;
